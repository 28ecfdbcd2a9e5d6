/* test_aws_auth.c - signatures checked by moto itself. Run through
 * `with_moto.py --auth 3`: moto answers the first three requests without
 * checking (they make a user, its access key and an allow-all policy), then
 * verifies every signature and permission like AWS. A correct key must be
 * accepted; a wrong secret must be rejected with AWS's own error code. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fugue/aws.h"
#include "testmain.h"

static char key_id[128];
static char secret[128];

static const char ALLOW_ALL[] =
	"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\","
	"\"Resource\":\"*\"}]}";

static fugue_aws_client *new_client(const char *id, const char *key)
{
	fugue_aws_config config = FUGUE_AWS_CONFIG_INIT;
	fugue_aws_client *c = NULL;
	fugue_aws_error err;

	setenv("AWS_ACCESS_KEY_ID", id, 1);
	setenv("AWS_SECRET_ACCESS_KEY", key, 1);
	config.retry_base_ms = 10;
	if (fugue_aws_client_new(&c, &config, &err) != 0) {
		fprintf(stderr, "client: %s: %s\n", err.code, err.message);
		abort();
	}
	return c;
}

static int iam(struct json_object **out, fugue_aws_client *c, const char *action,
               struct json_object *params, fugue_aws_error *err)
{
	fugue_aws_request req = FUGUE_AWS_REQUEST_INIT;
	int rc;

	req.service = "iam";
	req.action = action;
	req.params = params;
	rc = fugue_aws_call(out, c, &req, err);
	json_object_put(params);
	return rc;
}

/* The three unauthenticated calls: a user, its key, and a policy. */
static int make_user(void)
{
	fugue_aws_client *c;
	struct json_object *out = NULL;
	struct json_object *p;
	fugue_aws_error err;
	int rc;

	fugue_test_require_env("FUGUE_TEST_MOTO_ENDPOINT", "run through tests/tools/with_moto.py --auth 3");
	c = new_client("testing", "testing");
	rc = iam(&out, c, "CreateUser", json_tokener_parse("{\"UserName\":\"signer\"}"), &err);
	json_object_put(out);
	if (rc == 0)
		rc = iam(&out, c, "CreateAccessKey", json_tokener_parse("{\"UserName\":\"signer\"}"), &err);
	if (rc == 0) {
		snprintf(key_id, sizeof(key_id), "%s", fugue_aws_get_string(out, "AccessKey.AccessKeyId"));
		snprintf(secret, sizeof(secret), "%s", fugue_aws_get_string(out, "AccessKey.SecretAccessKey"));
		json_object_put(out);
		p = json_object_new_object();
		json_object_object_add(p, "UserName", json_object_new_string("signer"));
		json_object_object_add(p, "PolicyName", json_object_new_string("all"));
		json_object_object_add(p, "PolicyDocument", json_object_new_string(ALLOW_ALL));
		rc = iam(&out, c, "PutUserPolicy", p, &err);
		json_object_put(out);
	}
	fugue_aws_client_free(c);
	if (rc != 0)
		fprintf(stderr, "setting up the signer user failed: %s: %s\n", err.code, err.message);
	return rc != 0;
}

static void test_right_key_accepted(void)
{
	fugue_aws_client *c = new_client(key_id, secret);
	fugue_aws_request req = FUGUE_AWS_REQUEST_INIT;
	struct json_object *out = NULL;
	fugue_aws_error err;
	int rc;

	req.service = "ec2";
	req.action = "DescribeVpcs";
	rc = fugue_aws_call(&out, c, &req, &err);
	if (rc)
		fprintf(stderr, "ec2: %s: %s\n", err.code, err.message);
	CU_ASSERT_EQUAL(rc, 0);
	json_object_put(out);
	out = NULL;

	rc = iam(&out, c, "GetUser", json_tokener_parse("{\"UserName\":\"signer\"}"), &err);
	if (rc)
		fprintf(stderr, "iam: %s: %s\n", err.code, err.message);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_STRING_EQUAL(fugue_aws_get_string(out, "User.UserName"), "signer");
	json_object_put(out);
	fugue_aws_client_free(c);
}

static void test_wrong_secret_rejected(void)
{
	fugue_aws_client *c = new_client(key_id, "not-the-secret");
	fugue_aws_request req = FUGUE_AWS_REQUEST_INIT;
	struct json_object *out = NULL;
	fugue_aws_error err;

	req.service = "ec2";
	req.action = "DescribeVpcs";
	CU_ASSERT_EQUAL(fugue_aws_call(&out, c, &req, &err), FUGUE_EAUTH);
	CU_ASSERT_PTR_NULL(out);
	CU_ASSERT_STRING_EQUAL(err.code, "AuthFailure");
	CU_ASSERT_EQUAL(err.attempts, 1); /* an auth failure is not retried */

	CU_ASSERT_EQUAL(iam(&out, c, "GetUser", json_tokener_parse("{\"UserName\":\"signer\"}"), &err),
	                FUGUE_EAUTH);
	CU_ASSERT_STRING_EQUAL(err.code, "SignatureDoesNotMatch");
	CU_ASSERT_EQUAL(err.http_status, 403);
	fugue_aws_client_free(c);
}

int fugue_test_register(void)
{
	CU_pSuite s = CU_add_suite("moto-auth", make_user, NULL);

	CU_add_test(s, "right key accepted", test_right_key_accepted);
	CU_add_test(s, "wrong secret rejected", test_wrong_secret_rejected);
	return 0;
}
