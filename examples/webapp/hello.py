# hello.py - the webapp example's Lambda function: answers who it is and
# what its environment says. The zip next to it (hello.zip) is this file
# alone; rebuild it after a change with:
#   cd examples/webapp && rm -f hello.zip && zip -X -q hello.zip hello.py
import os


def handler(event, context):
    return {
        "statusCode": 200,
        "body": "%s from %s" % (os.environ.get("GREETING", "hello"),
                                os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "lambda")),
    }
