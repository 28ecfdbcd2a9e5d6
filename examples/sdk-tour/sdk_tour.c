/* sdk_tour.c - libfugue's AWS client in a few calls: create a tagged VPC,
 * find it again by its tag, page through IAM roles, see what a real AWS
 * error looks like, and clean up. Uses whatever AWS the environment points
 * at (AWS_ENDPOINT_URL for moto). */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>

#include "fugue/aws.h"
#include "fugue/log.h"

static int fail(const char *what, const fugue_aws_error *err)
{
	char line[1024];

	fugue_aws_error_format(line, sizeof(line), err);
	fprintf(stderr, "sdk-tour: %s failed: %s\n", what, line);
	return 1;
}

static int ec2(struct json_object **out, fugue_aws_client *c, const char *action,
               const char *params, fugue_aws_error *err)
{
	fugue_aws_request req = FUGUE_AWS_REQUEST_INIT;
	struct json_object *p = params ? json_tokener_parse(params) : NULL;
	int rc;

	req.service = "ec2";
	req.action = action;
	req.params = p;
	rc = fugue_aws_call(out, c, &req, err);
	json_object_put(p);
	return rc;
}

int main(void)
{
	fugue_aws_client *c = NULL;
	struct json_object *out = NULL;
	fugue_aws_error err;
	char endpoint[256];
	char params[256];
	char vpc_id[64];
	int rc;

	if (getenv("FUGUE_LOG_LEVEL")) {
		fugue_log_level level;

		if (fugue_log_level_parse(&level, getenv("FUGUE_LOG_LEVEL")) == 0)
			fugue_log_set_level(level);
	}
	if (fugue_aws_client_new(&c, NULL, &err) != 0)
		return fail("creating the client", &err);
	fugue_aws_client_endpoint(endpoint, sizeof(endpoint), c, "ec2", NULL);
	printf("region %s, ec2 endpoint %s\n", fugue_aws_client_region(c), endpoint);

	rc = ec2(&out, c, "CreateVpc",
	         "{\"CidrBlock\":\"10.0.0.0/16\",\"TagSpecification\":[{\"ResourceType\":\"vpc\","
	         "\"Tag\":[{\"Key\":\"fugue:fid\",\"Value\":\"sdk-tour\"}]}]}",
	         &err);
	if (rc)
		return fail("CreateVpc", &err);
	snprintf(vpc_id, sizeof(vpc_id), "%s", fugue_aws_get_string(out, "vpc.vpcId"));
	printf("created %s (request id %s)\n", vpc_id, err.request_id);
	json_object_put(out);

	rc = ec2(&out, c, "DescribeVpcs",
	         "{\"Filter\":[{\"Name\":\"tag:fugue:fid\",\"Value\":[\"sdk-tour\"]}]}", &err);
	if (rc)
		return fail("DescribeVpcs", &err);
	printf("found by tag fugue:fid=sdk-tour: %s %s\n", fugue_aws_get_string(out, "vpcSet.0.vpcId"),
	       fugue_aws_get_string(out, "vpcSet.0.cidrBlock"));
	json_object_put(out);

	snprintf(params, sizeof(params), "{\"VpcId\":\"%s\"}", vpc_id);
	if (ec2(&out, c, "DeleteVpc", params, &err))
		return fail("DeleteVpc", &err);
	json_object_put(out);
	printf("deleted %s\n", vpc_id);

	/* What an error looks like: code, message, HTTP status, request id. */
	snprintf(params, sizeof(params), "{\"VpcId\":[\"%s\"]}", vpc_id);
	rc = ec2(&out, c, "DescribeVpcs", params, &err);
	{
		char line[1024];

		fugue_aws_error_format(line, sizeof(line), &err);
		printf("describing it again: %s (%s)\n", line, fugue_strerror(rc));
	}
	fugue_aws_client_free(c);
	return rc == FUGUE_ENOTFOUND ? 0 : 1;
}
