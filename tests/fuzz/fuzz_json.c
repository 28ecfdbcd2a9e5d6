/* fuzz_json.c - libFuzzer target: the SDK's JSON response reader
 * (sdk/src/protocol.c) on arbitrary bytes: a rest-json / JSON 1.0 answer, an
 * error body with and without an x-amzn-ErrorType header, and the
 * explanation of a refused body (HTML sniffing and titles included).
 *
 * The first line of the input, when it starts with "T:", is the error type
 * header; the rest is the body. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "fugue/aws.h"
#include "fugue/common.h"
#include "protocol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data;
	struct json_object *out = NULL;
	fugue_aws_error err;
	char *header = NULL;
	char buf[512];
	const char *nl;

	if (size > 2 && memcmp(data, "T:", 2) == 0 && (nl = memchr(body, '\n', size)) != NULL) {
		header = strndup(body + 2, (size_t)(nl - body - 2));
		if (!header)
			return 0;
		size -= (size_t)(nl + 1 - body);
		body = nl + 1;
	}
	if (fugue_json_response(&out, body, size) == 0) {
		(void)fugue_aws_get_string(out, "Functions.0.FunctionArn");
		(void)fugue_aws_list(out, "TableNames");
		(void)json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN);
	}
	json_object_put(out);
	memset(&err, 0, sizeof(err));
	if (fugue_json_error(&err, header, body, size) == 0) {
		(void)fugue_aws_error_classify(err.code, 400);
		fugue_aws_error_format(buf, sizeof(buf), &err);
	}
	fugue_json_explain(buf, sizeof(buf), body, size);
	fugue_response_explain(buf, sizeof(buf), body, size, 0);
	(void)fugue_body_is_html(body, size);
	free(header);
	return 0;
}
