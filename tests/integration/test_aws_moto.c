/* test_aws_moto.c - the client end to end against moto, one suite per wire
 * protocol: EC2 query, AWS query (IAM, ELB), rest-json (Lambda). Run through
 * tests/tools/with_moto.py, which provides the endpoint and dummy keys. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fugue/log.h"

#include "fugue/aws.h"
#include "testmain.h"

/* A zip holding index.py ("def handler(e,c): return 1"), made once with
 * Python's zipfile module; Lambda only needs a valid archive. */
static const char TINY_ZIP_BASE64[] =
	"UEsDBBQAAAAAAIyrdl0NPuUHHwAAAB8AAAAIAAAAaW5kZXgucHlkZWYgaGFuZGxlcihlLGMpOgogICAg"
	"cmV0dXJuIDEKUEsBAhQDFAAAAAAAjKt2XQ0+5QcfAAAAHwAAAAgAAAAAAAAAAAAAAIABAAAAAGluZGV4"
	"LnB5UEsFBgAAAAABAAEANgAAAEUAAAAAAA==";

static const char TRUST_POLICY[] =
	"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\","
	"\"Principal\":{\"Service\":\"lambda.amazonaws.com\"},\"Action\":\"sts:AssumeRole\"}]}";

static fugue_aws_client *client;


static int open_client(void)
{
	fugue_aws_config config = FUGUE_AWS_CONFIG_INIT;
	fugue_aws_error err;

	fugue_test_require_env("FUGUE_TEST_MOTO_ENDPOINT", "run through tests/tools/with_moto.py");
	config.retry_base_ms = 10;
	if (fugue_aws_client_new(&client, &config, &err) != 0) {
		fprintf(stderr, "client: %s: %s\n", err.code, err.message);
		return 1;
	}
	return 0;
}

static int close_client(void)
{
	fugue_aws_client_free(client);
	client = NULL;
	return 0;
}

/* Parses JSON text into a tree (the tests' way of writing parameters). */
static struct json_object *J(const char *text)
{
	struct json_object *o = json_tokener_parse(text);

	if (!o) {
		fprintf(stderr, "bad test JSON: %s\n", text);
		abort();
	}
	return o;
}

static int call(struct json_object **out, const char *service, const char *action,
                struct json_object *params, fugue_aws_error *err)
{
	fugue_aws_request req = FUGUE_AWS_REQUEST_INIT;
	int rc;

	req.service = service;
	req.action = action;
	req.params = params;
	rc = fugue_aws_call(out, client, &req, err);
	json_object_put(params);
	if (rc != 0 && rc != FUGUE_ENOTFOUND)
		fprintf(stderr, "%s %s: %s: %s\n", service, action, err->code, err->message);
	return rc;
}

/* --- EC2 query ------------------------------------------------------------ */

static void test_ec2_create_and_filter(void)
{
	struct json_object *out = NULL;
	struct json_object *vpcs;
	fugue_aws_error err;
	const char *vpc_id;
	char params[512];

	CU_ASSERT_EQUAL_FATAL(call(&out, "ec2", "CreateVpc",
	                           J("{\"CidrBlock\":\"10.42.0.0/16\",\"TagSpecification\":[{"
	                             "\"ResourceType\":\"vpc\",\"Tag\":[{\"Key\":\"fugue:fid\","
	                             "\"Value\":\"fid-ec2\"},{\"Key\":\"Name\",\"Value\":\"a b&c\"}]}]}"),
	                           &err), 0);
	vpc_id = fugue_aws_get_string(out, "vpc.vpcId");
	CU_ASSERT_PTR_NOT_NULL_FATAL(vpc_id);
	CU_ASSERT_NSTRING_EQUAL(vpc_id, "vpc-", 4);
	CU_ASSERT_STRING_EQUAL(fugue_aws_get_string(out, "vpc.cidrBlock"), "10.42.0.0/16");
	CU_ASSERT_EQUAL(err.http_status, 200);
	CU_ASSERT(strlen(err.request_id) > 0);
	snprintf(params, sizeof(params), "{\"VpcId\":[\"%s\"]}", vpc_id);

	/* Filtered on our tag: exactly the one VPC, with its tags intact. */
	{
		struct json_object *d = NULL;

		CU_ASSERT_EQUAL_FATAL(call(&d, "ec2", "DescribeVpcs",
		                           J("{\"Filter\":[{\"Name\":\"tag:fugue:fid\",\"Value\":[\"fid-ec2\"]}]}"),
		                           &err), 0);
		vpcs = fugue_aws_list(d, "vpcSet");
		CU_ASSERT_PTR_NOT_NULL_FATAL(vpcs);
		CU_ASSERT_EQUAL(json_object_array_length(vpcs), 1);
		CU_ASSERT_STRING_EQUAL(fugue_aws_get_string(d, "vpcSet.0.vpcId"), vpc_id);
		CU_ASSERT_PTR_NOT_NULL(fugue_aws_list(d, "vpcSet.0.tagSet"));
		json_object_put(d);
	}
	/* A filter that matches nothing gives an empty list, not an error. */
	{
		struct json_object *d = NULL;

		CU_ASSERT_EQUAL_FATAL(call(&d, "ec2", "DescribeVpcs",
		                           J("{\"Filter\":[{\"Name\":\"tag:fugue:fid\",\"Value\":[\"nobody\"]}]}"),
		                           &err), 0);
		CU_ASSERT_PTR_NULL(fugue_aws_list(d, "vpcSet"));
		json_object_put(d);
	}
	/* Deleted, it is gone. */
	{
		struct json_object *d = NULL;
		struct json_object *p = json_object_new_object();

		json_object_object_add(p, "VpcId", json_object_new_string(vpc_id));
		CU_ASSERT_EQUAL(call(&d, "ec2", "DeleteVpc", p, &err), 0);
		json_object_put(d);
		d = NULL;
		CU_ASSERT_EQUAL(call(&d, "ec2", "DescribeVpcs", J(params), &err), FUGUE_ENOTFOUND);
		CU_ASSERT_PTR_NULL(d);
	}
	json_object_put(out);
}

static void test_ec2_not_found(void)
{
	struct json_object *out = NULL;
	fugue_aws_error err;
	char line[1024];

	CU_ASSERT_EQUAL(call(&out, "ec2", "DescribeVpcs", J("{\"VpcId\":[\"vpc-00000000\"]}"), &err),
	                FUGUE_ENOTFOUND);
	CU_ASSERT_PTR_NULL(out);
	CU_ASSERT_STRING_EQUAL(err.code, "InvalidVpcID.NotFound");
	CU_ASSERT_EQUAL(err.http_status, 400);
	CU_ASSERT(strlen(err.request_id) > 0);
	CU_ASSERT(strstr(err.message, "vpc-00000000") != NULL);
	CU_ASSERT_EQUAL(err.attempts, 1);
	fugue_aws_error_format(line, sizeof(line), &err);
	CU_ASSERT(strstr(line, "DescribeVpcs") != NULL);
	CU_ASSERT(strstr(line, "InvalidVpcID.NotFound") != NULL);
	CU_ASSERT(strstr(line, err.request_id) != NULL);
}

/* moto pages DescribeInstances (not DescribeVpcs): 7 instances, 5 a page. */
static void test_ec2_pagination(void)
{
	fugue_aws_paginator pager = { "NextToken", "nextToken", "reservationSet", NULL };
	fugue_aws_request req = FUGUE_AWS_REQUEST_INIT;
	struct json_object *out = NULL;
	struct json_object *params;
	fugue_aws_error err;
	size_t i, n, instances = 0;
	int rc;

	/* moto pages by reservation: seven RunInstances, one instance each. */
	for (i = 0; i < 7; i++) {
		CU_ASSERT_EQUAL_FATAL(call(&out, "ec2", "RunInstances",
		                           J("{\"ImageId\":\"ami-12c6146b\",\"MinCount\":1,\"MaxCount\":1,"
		                             "\"InstanceType\":\"t3.micro\",\"TagSpecification\":[{"
		                             "\"ResourceType\":\"instance\",\"Tag\":[{\"Key\":\"fugue:fid\","
		                             "\"Value\":\"fid-pages\"}]}]}"),
		                           &err), 0);
		CU_ASSERT_EQUAL(json_object_array_length(fugue_aws_list(out, "instancesSet")), 1);
		json_object_put(out);
	}

	/* One page of 3 first, to show the service really pages. */
	CU_ASSERT_EQUAL_FATAL(call(&out, "ec2", "DescribeInstances",
	                           J("{\"MaxResults\":5,\"Filter\":[{\"Name\":\"tag:fugue:fid\","
	                             "\"Value\":[\"fid-pages\"]}]}"),
	                           &err), 0);
	CU_ASSERT_PTR_NOT_NULL(fugue_aws_get_string(out, "nextToken"));
	json_object_put(out);

	params = J("{\"MaxResults\":5,\"Filter\":[{\"Name\":\"tag:fugue:fid\",\"Value\":[\"fid-pages\"]}]}");
	req.service = "ec2";
	req.action = "DescribeInstances";
	req.params = params;
	rc = fugue_aws_call_all(&out, client, &req, &pager, 0, &err);
	if (rc)
		fprintf(stderr, "call_all: %d %s: %s\n", rc, err.code, err.message);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	n = json_object_array_length(fugue_aws_list(out, "reservationSet"));
	for (i = 0; i < n; i++) {
		struct json_object *r = json_object_array_get_idx(fugue_aws_list(out, "reservationSet"), i);

		instances += json_object_array_length(fugue_aws_list(r, "instancesSet"));
	}
	CU_ASSERT_EQUAL(instances, 7);
	CU_ASSERT_PTR_NULL(fugue_aws_get_string(params, "NextToken")); /* caller's params untouched */
	json_object_put(out);
	json_object_put(params);
}

/* Every call is logged at debug with its facts, and never with a secret. */
static void test_call_logged_without_secrets(void)
{
	static const char secret[] = "Sup3rSecretValue/NeverLogged";
	fugue_aws_config config = FUGUE_AWS_CONFIG_INIT;
	fugue_aws_client *c = NULL;
	fugue_aws_request req = FUGUE_AWS_REQUEST_INIT;
	struct json_object *out = NULL;
	fugue_aws_error err;
	char path[] = "/tmp/fugue-calllog-XXXXXX";
	char text[8192];
	int fd = mkstemp(path);
	int saved = dup(2);
	ssize_t n;

	setenv("AWS_SECRET_ACCESS_KEY", secret, 1);
	setenv("AWS_SESSION_TOKEN", "SessionTokenNeverLogged", 1);
	CU_ASSERT_EQUAL_FATAL(fugue_aws_client_new(&c, &config, &err), 0);
	fugue_log_set_sink(FUGUE_LOG_SINK_STDERR);
	fugue_log_set_level(FUGUE_LOG_DEBUG);
	fflush(stderr);
	dup2(fd, 2);
	req.service = "ec2";
	req.action = "DescribeVpcs";
	CU_ASSERT_EQUAL(fugue_aws_call(&out, c, &req, &err), 0);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	fugue_log_set_level(FUGUE_LOG_INFO);
	lseek(fd, 0, SEEK_SET);
	n = read(fd, text, sizeof(text) - 1);
	text[n > 0 ? n : 0] = '\0';
	close(fd);
	unlink(path);
	CU_ASSERT(strstr(text, "AWS_SERVICE=ec2") != NULL);
	CU_ASSERT(strstr(text, "AWS_ACTION=DescribeVpcs") != NULL);
	CU_ASSERT(strstr(text, "HTTP_STATUS=200") != NULL);
	CU_ASSERT(strstr(text, "ATTEMPTS=1") != NULL);
	CU_ASSERT(strstr(text, "DURATION_MS=") != NULL);
	CU_ASSERT(strstr(text, "AWS_REQUEST_ID=") != NULL && strstr(text, err.request_id) != NULL);
	CU_ASSERT(strstr(text, secret) == NULL);
	CU_ASSERT(strstr(text, "SessionTokenNeverLogged") == NULL);
	json_object_put(out);
	fugue_aws_client_free(c);
	setenv("AWS_SECRET_ACCESS_KEY", "testing", 1);
	unsetenv("AWS_SESSION_TOKEN");
}

/* --- AWS query: IAM and ELB ------------------------------------------------ */

static void create_role(const char *name)
{
	struct json_object *p = json_object_new_object();
	struct json_object *out = NULL;
	fugue_aws_error err;

	json_object_object_add(p, "RoleName", json_object_new_string(name));
	json_object_object_add(p, "AssumeRolePolicyDocument", json_object_new_string(TRUST_POLICY));
	json_object_object_add(p, "Tags", J("[{\"Key\":\"fugue:fid\",\"Value\":\"fid-iam\"}]"));
	CU_ASSERT_EQUAL_FATAL(call(&out, "iam", "CreateRole", p, &err), 0);
	CU_ASSERT_STRING_EQUAL(fugue_aws_get_string(out, "Role.RoleName"), name);
	json_object_put(out);
}

static void test_iam_role(void)
{
	struct json_object *out = NULL;
	fugue_aws_error err;
	const char *arn;

	create_role("fugue-web");
	CU_ASSERT_EQUAL_FATAL(call(&out, "iam", "GetRole", J("{\"RoleName\":\"fugue-web\"}"), &err), 0);
	arn = fugue_aws_get_string(out, "Role.Arn");
	CU_ASSERT_PTR_NOT_NULL_FATAL(arn);
	CU_ASSERT(strstr(arn, ":role/fugue-web") != NULL);
	CU_ASSERT_STRING_EQUAL(fugue_aws_get_string(out, "Role.Tags.0.Key"), "fugue:fid");
	CU_ASSERT(strlen(err.request_id) > 0);
	json_object_put(out);

	/* IAM is global: asked from another region it is still signed for
	 * us-east-1 and finds the same role. */
	{
		fugue_aws_request req = FUGUE_AWS_REQUEST_INIT;
		struct json_object *p = J("{\"RoleName\":\"fugue-web\"}");

		req.service = "iam";
		req.region = "eu-west-1";
		req.action = "GetRole";
		req.params = p;
		CU_ASSERT_EQUAL(fugue_aws_call(&out, client, &req, &err), 0);
		json_object_put(out);
		json_object_put(p);
	}
}

static void test_iam_not_found(void)
{
	struct json_object *out = NULL;
	fugue_aws_error err;

	CU_ASSERT_EQUAL(call(&out, "iam", "GetRole", J("{\"RoleName\":\"nobody\"}"), &err),
	                FUGUE_ENOTFOUND);
	CU_ASSERT_STRING_EQUAL(err.code, "NoSuchEntity");
	CU_ASSERT_EQUAL(err.http_status, 404);
	CU_ASSERT(strlen(err.request_id) > 0);
	CU_ASSERT(strstr(err.message, "nobody") != NULL);
}

static void test_iam_pagination(void)
{
	fugue_aws_paginator pager = { "Marker", "Marker", "Roles", "IsTruncated" };
	fugue_aws_request req = FUGUE_AWS_REQUEST_INIT;
	struct json_object *out = NULL;
	struct json_object *params = J("{\"MaxItems\":2,\"PathPrefix\":\"/pages/\"}");
	fugue_aws_error err;
	char name[32];
	int i;

	for (i = 0; i < 5; i++) {
		struct json_object *p = json_object_new_object();

		snprintf(name, sizeof(name), "paged-%d", i);
		json_object_object_add(p, "RoleName", json_object_new_string(name));
		json_object_object_add(p, "Path", json_object_new_string("/pages/"));
		json_object_object_add(p, "AssumeRolePolicyDocument", json_object_new_string(TRUST_POLICY));
		CU_ASSERT_EQUAL_FATAL(call(&out, "iam", "CreateRole", p, &err), 0);
		json_object_put(out);
	}
	req.service = "iam";
	req.action = "ListRoles";
	req.params = params;
	i = fugue_aws_call_all(&out, client, &req, &pager, 0, &err);
	if (i)
		fprintf(stderr, "call_all: %d %s: %s\n", i, err.code, err.message);
	CU_ASSERT_EQUAL_FATAL(i, 0);
	CU_ASSERT_EQUAL(json_object_array_length(fugue_aws_list(out, "Roles")), 5);
	json_object_put(out);
	/* MAX_PAGES stops early. */
	CU_ASSERT_EQUAL_FATAL(fugue_aws_call_all(&out, client, &req, &pager, 1, &err), 0);
	CU_ASSERT_EQUAL(json_object_array_length(fugue_aws_list(out, "Roles")), 2);
	json_object_put(out);
	json_object_put(params);
}

static void test_elb(void)
{
	struct json_object *out = NULL;
	fugue_aws_error err;

	CU_ASSERT_EQUAL_FATAL(call(&out, "elasticloadbalancing", "CreateLoadBalancer",
	                           J("{\"LoadBalancerName\":\"web\",\"Listeners\":[{\"Protocol\":\"HTTP\","
	                             "\"LoadBalancerPort\":80,\"InstanceProtocol\":\"HTTP\","
	                             "\"InstancePort\":8080}],\"AvailabilityZones\":[\"us-east-1a\"],"
	                             "\"Tags\":[{\"Key\":\"fugue:fid\",\"Value\":\"fid-elb\"}]}"),
	                           &err), 0);
	CU_ASSERT_PTR_NOT_NULL(fugue_aws_get_string(out, "DNSName"));
	json_object_put(out);

	CU_ASSERT_EQUAL_FATAL(call(&out, "elasticloadbalancing", "DescribeLoadBalancers",
	                           J("{\"LoadBalancerNames\":[\"web\"]}"), &err), 0);
	CU_ASSERT_EQUAL(json_object_array_length(fugue_aws_list(out, "LoadBalancerDescriptions")), 1);
	CU_ASSERT_STRING_EQUAL(fugue_aws_get_string(out, "LoadBalancerDescriptions.0.LoadBalancerName"),
	                       "web");
	CU_ASSERT_STRING_EQUAL(
		fugue_aws_get_string(out, "LoadBalancerDescriptions.0.ListenerDescriptions.0.Listener.InstancePort"),
		"8080");
	json_object_put(out);
}

static void test_elb_not_found(void)
{
	struct json_object *out = NULL;
	fugue_aws_error err;

	CU_ASSERT_EQUAL(call(&out, "elasticloadbalancing", "DescribeLoadBalancers",
	                     J("{\"LoadBalancerNames\":[\"missing\"]}"), &err),
	                FUGUE_ENOTFOUND);
	CU_ASSERT_STRING_EQUAL(err.code, "LoadBalancerNotFound");
	CU_ASSERT(strlen(err.request_id) > 0);
}

/* --- rest-json: Lambda ------------------------------------------------------ */

static int lambda_call(struct json_object **out, const char *method, const char *path,
                       const char *action, struct json_object *body, struct json_object *query,
                       fugue_aws_error *err)
{
	fugue_aws_request req = FUGUE_AWS_REQUEST_INIT;
	int rc;

	req.service = "lambda";
	req.action = action;
	req.method = method;
	req.path = path;
	req.params = body;
	req.query = query;
	rc = fugue_aws_call(out, client, &req, err);
	json_object_put(body);
	json_object_put(query);
	return rc;
}

static void test_lambda(void)
{
	struct json_object *out = NULL;
	struct json_object *body;
	fugue_aws_error err;
	char *arn = NULL;
	size_t i, n;
	int found = 0;

	create_role("fugue-lambda");
	CU_ASSERT_EQUAL_FATAL(call(&out, "iam", "GetRole", J("{\"RoleName\":\"fugue-lambda\"}"), &err), 0);
	arn = strdup(fugue_aws_get_string(out, "Role.Arn"));
	json_object_put(out);

	body = json_object_new_object();
	json_object_object_add(body, "FunctionName", json_object_new_string("fugue-hello"));
	json_object_object_add(body, "Runtime", json_object_new_string("python3.11"));
	json_object_object_add(body, "Handler", json_object_new_string("index.handler"));
	json_object_object_add(body, "Role", json_object_new_string(arn));
	json_object_object_add(body, "Code", json_object_new_object());
	json_object_object_add(json_object_object_get(body, "Code"), "ZipFile",
	                       json_object_new_string(TINY_ZIP_BASE64));
	json_object_object_add(body, "Tags", J("{\"fugue:fid\":\"fid-lambda\"}"));
	CU_ASSERT_EQUAL_FATAL(lambda_call(&out, "POST", "/2015-03-31/functions", "CreateFunction",
	                                  body, NULL, &err), 0);
	CU_ASSERT_STRING_EQUAL(fugue_aws_get_string(out, "FunctionName"), "fugue-hello");
	CU_ASSERT_PTR_NOT_NULL(fugue_aws_get_string(out, "CodeSha256"));
	CU_ASSERT(strlen(err.request_id) > 0);
	json_object_put(out);

	CU_ASSERT_EQUAL_FATAL(lambda_call(&out, "GET", "/2015-03-31/functions/", "ListFunctions", NULL,
	                                  J("{\"MaxItems\":\"50\"}"), &err), 0);
	n = json_object_array_length(fugue_aws_list(out, "Functions"));
	for (i = 0; i < n; i++) {
		const char *name = fugue_aws_get_string(
			json_object_array_get_idx(fugue_aws_list(out, "Functions"), i), "FunctionName");

		found += name && strcmp(name, "fugue-hello") == 0;
	}
	CU_ASSERT_EQUAL(found, 1);
	json_object_put(out);
	free(arn);
}

static void test_lambda_not_found(void)
{
	struct json_object *out = NULL;
	fugue_aws_error err;
	char path[128];
	char name[64];
	int rc;

	/* (moto's router does not take encoded characters in function names,
	 * so this name needs none; the encoder is unit-tested.) */
	CU_ASSERT(fugue_aws_uri_encode(name, sizeof(name), "no-such-function", 0) > 0);
	snprintf(path, sizeof(path), "/2015-03-31/functions/%s", name);
	rc = lambda_call(&out, "GET", path, "GetFunction", NULL, NULL, &err);
	if (rc != FUGUE_ENOTFOUND)
		fprintf(stderr, "GetFunction %s: %d %s: %s (HTTP %d)\n", path, rc, err.code, err.message,
		        err.http_status);
	CU_ASSERT_EQUAL(rc, FUGUE_ENOTFOUND);
	CU_ASSERT_STRING_EQUAL(err.code, "ResourceNotFoundException");
	CU_ASSERT_EQUAL(err.http_status, 404);
	CU_ASSERT(strlen(err.request_id) > 0);
	CU_ASSERT(strlen(err.message) > 0);
}

/* --- JSON 1.0: DynamoDB (for the later shared state store) ------------------ */

static void test_dynamodb(void)
{
	struct json_object *out = NULL;
	fugue_aws_error err;

	CU_ASSERT_EQUAL_FATAL(call(&out, "dynamodb", "CreateTable",
	                           J("{\"TableName\":\"fugue-state\",\"BillingMode\":\"PAY_PER_REQUEST\","
	                             "\"AttributeDefinitions\":[{\"AttributeName\":\"pk\",\"AttributeType\":\"S\"}],"
	                             "\"KeySchema\":[{\"AttributeName\":\"pk\",\"KeyType\":\"HASH\"}]}"),
	                           &err), 0);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(fugue_aws_get_string(out, "TableDescription.TableName")),
	                       "fugue-state");
	json_object_put(out);
	CU_ASSERT_EQUAL_FATAL(call(&out, "dynamodb", "ListTables", NULL, &err), 0);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(fugue_aws_get_string(out, "TableNames.0")), "fugue-state");
	json_object_put(out);

	CU_ASSERT_EQUAL(call(&out, "dynamodb", "DescribeTable", J("{\"TableName\":\"missing\"}"), &err),
	                FUGUE_ENOTFOUND);
	CU_ASSERT_STRING_EQUAL(err.code, "ResourceNotFoundException");
	CU_ASSERT_EQUAL(err.http_status, 400);
	CU_ASSERT(strlen(err.request_id) > 0);
}

int fugue_test_register(void)
{
	CU_pSuite ec2 = CU_add_suite("ec2", open_client, close_client);
	CU_pSuite query = CU_add_suite("query", open_client, close_client);
	CU_pSuite lambda = CU_add_suite("lambda", open_client, close_client);
	CU_pSuite json = CU_add_suite("json", open_client, close_client);

	CU_add_test(ec2, "create, tag and filter", test_ec2_create_and_filter);
	CU_add_test(ec2, "not found", test_ec2_not_found);
	CU_add_test(ec2, "pagination", test_ec2_pagination);
	CU_add_test(ec2, "call logged without secrets", test_call_logged_without_secrets);
	CU_add_test(query, "iam role", test_iam_role);
	CU_add_test(query, "iam not found", test_iam_not_found);
	CU_add_test(query, "iam pagination", test_iam_pagination);
	CU_add_test(query, "elb", test_elb);
	CU_add_test(query, "elb not found", test_elb_not_found);
	CU_add_test(lambda, "create and list", test_lambda);
	CU_add_test(lambda, "not found", test_lambda_not_found);
	CU_add_test(json, "dynamodb", test_dynamodb);
	return 0;
}
