/* test_client.c - the client's own errors: what an operator sees when the
 * region, the credentials or an endpoint is wrong, and a refused connection.
 * No AWS needed. */
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "fugue/aws.h"
#include "testmain.h"

static char *tmp;

/* A machine with nothing configured: no keys, no region, empty files. */
static int clean_env(void)
{
	char *empty;

	tmp = fugue_test_tmpdir();
	empty = fugue_test_write_file(tmp, "empty", "");
	setenv("HOME", tmp, 1);
	setenv("AWS_CONFIG_FILE", empty, 1);
	setenv("AWS_SHARED_CREDENTIALS_FILE", empty, 1);
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
	free(empty);
	return 0;
}

static int remove_tmp(void)
{
	fugue_test_rmtree(tmp);
	free(tmp);
	return 0;
}

static void unset_all(void)
{
	static const char *vars[] = {
		"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
		"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_EC2",
		"AWS_MAX_ATTEMPTS",
	};
	size_t i;

	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		unsetenv(vars[i]);
}

static void set_keys(void)
{
	setenv("AWS_ACCESS_KEY_ID", "AKIDTEST", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "secret-never-printed", 1);
}

static void test_no_region(void)
{
	fugue_aws_client *c = NULL;
	fugue_aws_error err;

	unset_all();
	set_keys();
	CU_ASSERT_EQUAL(fugue_aws_client_new(&c, NULL, &err), FUGUE_ECONFIG);
	CU_ASSERT_PTR_NULL(c);
	CU_ASSERT_STRING_EQUAL(err.code, "MissingRegion");
	CU_ASSERT(strstr(err.message, "AWS_REGION") != NULL);
}

static void test_no_credentials(void)
{
	fugue_aws_client *c = NULL;
	fugue_aws_error err;

	unset_all();
	setenv("AWS_REGION", "us-east-1", 1);
	CU_ASSERT_EQUAL(fugue_aws_client_new(&c, NULL, &err), FUGUE_EAUTH);
	CU_ASSERT_PTR_NULL(c);
	CU_ASSERT_STRING_EQUAL(err.code, "MissingCredentials");
	/* The message names the sources that were tried. */
	CU_ASSERT(strstr(err.message, "environment") != NULL);
	CU_ASSERT(strstr(err.message, "AWS_ACCESS_KEY_ID") != NULL);
}

static void test_explicit_region_and_endpoints(void)
{
	fugue_aws_config config = FUGUE_AWS_CONFIG_INIT;
	fugue_aws_client *c = NULL;
	char url[256];

	unset_all();
	set_keys();
	config.region = "eu-west-3";
	CU_ASSERT_EQUAL_FATAL(fugue_aws_client_new(&c, &config, NULL), 0);
	CU_ASSERT_STRING_EQUAL(fugue_aws_client_region(c), "eu-west-3");
	CU_ASSERT_EQUAL(fugue_aws_client_endpoint(url, sizeof(url), c, "ec2", NULL), 0);
	CU_ASSERT_STRING_EQUAL(url, "https://ec2.eu-west-3.amazonaws.com");
	CU_ASSERT_EQUAL(fugue_aws_client_endpoint(url, sizeof(url), c, "iam", NULL), 0);
	CU_ASSERT_STRING_EQUAL(url, "https://iam.amazonaws.com");
	CU_ASSERT_EQUAL(fugue_aws_client_endpoint(url, sizeof(url), c, "lambda", "ap-south-1"), 0);
	CU_ASSERT_STRING_EQUAL(url, "https://lambda.ap-south-1.amazonaws.com");
	CU_ASSERT_EQUAL(fugue_aws_client_endpoint(url, sizeof(url), c, "nosuch", NULL), FUGUE_EINVAL);
	fugue_aws_client_free(c);
}

static fugue_aws_client *client_for_calls(void)
{
	fugue_aws_config config = FUGUE_AWS_CONFIG_INIT;
	fugue_aws_client *c = NULL;

	unset_all();
	set_keys();
	setenv("AWS_REGION", "us-east-1", 1);
	config.retry_base_ms = 1;
	config.connect_timeout_ms = 500;
	config.timeout_ms = 2000;
	if (fugue_aws_client_new(&c, &config, NULL) != 0)
		abort();
	return c;
}

static void test_bad_requests(void)
{
	fugue_aws_client *c = client_for_calls();
	fugue_aws_request req = FUGUE_AWS_REQUEST_INIT;
	struct json_object *out = NULL;
	struct json_object *bad = json_tokener_parse("{\"Name\":null}");
	fugue_aws_error err;

	req.service = "nosuch";
	req.action = "Do";
	CU_ASSERT_EQUAL(fugue_aws_call(&out, c, &req, &err), FUGUE_EINVAL);
	CU_ASSERT_STRING_EQUAL(err.code, "UnknownService");
	CU_ASSERT(strstr(err.message, "nosuch") != NULL);

	req.service = "lambda";
	req.action = "GetFunction";
	CU_ASSERT_EQUAL(fugue_aws_call(&out, c, &req, &err), FUGUE_EINVAL);
	CU_ASSERT(strstr(err.message, "path") != NULL);

	req.service = "ec2";
	req.action = NULL;
	CU_ASSERT_EQUAL(fugue_aws_call(&out, c, &req, &err), FUGUE_EINVAL);

	req.action = "DescribeVpcs";
	req.params = bad;
	CU_ASSERT_EQUAL(fugue_aws_call(&out, c, &req, &err), FUGUE_EINVAL);
	CU_ASSERT_PTR_NULL(out);
	CU_ASSERT_EQUAL(err.attempts, 0); /* nothing was sent */
	json_object_put(bad);
	fugue_aws_client_free(c);
}

static void test_bad_endpoint_override(void)
{
	fugue_aws_client *c = client_for_calls();
	fugue_aws_request req = FUGUE_AWS_REQUEST_INIT;
	struct json_object *out = NULL;
	fugue_aws_error err;

	setenv("AWS_ENDPOINT_URL_EC2", "ftp://127.0.0.1:1", 1);
	req.service = "ec2";
	req.action = "DescribeVpcs";
	CU_ASSERT_EQUAL(fugue_aws_call(&out, c, &req, &err), FUGUE_ECONFIG);
	CU_ASSERT(strstr(err.message, "AWS_ENDPOINT_URL_EC2") != NULL);
	unsetenv("AWS_ENDPOINT_URL_EC2");
	fugue_aws_client_free(c);
}

/* Nothing listens on port 1: a transport error, retried, then reported. */
static void test_connection_refused(void)
{
	fugue_aws_client *c = client_for_calls();
	fugue_aws_request req = FUGUE_AWS_REQUEST_INIT;
	struct json_object *out = NULL;
	fugue_aws_error err;

	setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1", 1);
	req.service = "ec2";
	req.action = "DescribeVpcs";
	CU_ASSERT_EQUAL(fugue_aws_call(&out, c, &req, &err), FUGUE_EIO);
	CU_ASSERT_STRING_EQUAL(err.code, "ConnectionError");
	CU_ASSERT_EQUAL(err.attempts, 3);
	CU_ASSERT_EQUAL(err.http_status, 0);
	CU_ASSERT(strlen(err.message) > 0);
	CU_ASSERT(strstr(err.message, "secret-never-printed") == NULL);
	unsetenv("AWS_ENDPOINT_URL");
	fugue_aws_client_free(c);
}

int fugue_test_register(void)
{
	CU_pSuite s = CU_add_suite("client", clean_env, remove_tmp);

	CU_add_test(s, "no region", test_no_region);
	CU_add_test(s, "no credentials", test_no_credentials);
	CU_add_test(s, "explicit region and endpoints", test_explicit_region_and_endpoints);
	CU_add_test(s, "bad requests", test_bad_requests);
	CU_add_test(s, "bad endpoint override", test_bad_endpoint_override);
	CU_add_test(s, "connection refused", test_connection_refused);
	return 0;
}
