/* test_retry_client.c - standard-mode retries through the public client
 * (fugue_aws_call), against tests/tools/flaky_server.py started by this
 * test. Attempts and the gaps between them are measured on the server. */
#include <curl/curl.h>
#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "fugue/aws.h"
#include "flaky.h"
#include "testmain.h"

#define BASE_MS 20
/* Scheduling, valgrind and the server's own work on top of the backoff. */
#define SLACK_MS 500.0

#define VPCS_OK                                                                        \
	"<DescribeVpcsResponse xmlns=\\\"http://ec2.amazonaws.com/doc/2016-11-15/\\\">"  \
	"<requestId>r-ok</requestId><vpcSet><item><vpcId>vpc-1</vpcId></item></vpcSet>" \
	"</DescribeVpcsResponse>"


#define ASSERT_STR(actual, expected) CU_ASSERT_STRING_EQUAL(fugue_test_nn(actual), (expected))


/* --- the flaky server -------------------------------------------------- */


static double arrival_ms(struct json_object *list, size_t i)
{
	struct json_object *t = NULL;

	json_object_object_get_ex(json_object_array_get_idx(list, i), "time", &t);
	return json_object_get_double(t) * 1000.0;
}

/* The gap before attempt I+1 (I >= 1) is within the backoff bound. */
static void check_gaps(struct json_object *list, long base_ms)
{
	size_t i;

	for (i = 1; i < json_object_array_length(list); i++) {
		double gap = arrival_ms(list, i) - arrival_ms(list, i - 1);
		double bound = (double)base_ms * (double)(1L << (i - 1)) + SLACK_MS;

		if (gap < 0 || gap > bound)
			fprintf(stderr, "\ngap before attempt %zu: %.1f ms, bound %.1f ms\n", i + 1, gap,
			        bound);
		CU_ASSERT_TRUE(gap >= 0);
		CU_ASSERT_TRUE(gap <= bound);
	}
}

/* --- setup ------------------------------------------------------------- */

static int suite_init(void)
{
	return flaky_suite_init("AKIDFLAKYTEST", "flaky-secret");
}

static int suite_cleanup(void)
{
	return flaky_suite_cleanup();
}

static fugue_aws_client *new_client(int max_attempts, long base_ms, int rate_limit)
{
	fugue_aws_config cfg = FUGUE_AWS_CONFIG_INIT;
	fugue_aws_client *c = NULL;
	fugue_aws_error err;
	int rc;

	cfg.max_attempts = max_attempts;
	cfg.retry_base_ms = base_ms;
	cfg.disable_rate_limit = !rate_limit;
	cfg.timeout_ms = 5000;
	rc = fugue_aws_client_new(&c, &cfg, &err);
	if (rc != 0)
		fprintf(stderr, "\nclient: %d %s: %s\n", rc, err.code, err.message);
	return c;
}

static int describe_vpcs(struct json_object **out, fugue_aws_client *c, fugue_aws_error *err)
{
	fugue_aws_request req = FUGUE_AWS_REQUEST_INIT;

	req.service = "ec2";
	req.action = "DescribeVpcs";
	return fugue_aws_call(out, c, &req, err);
}

static int list_functions(struct json_object **out, fugue_aws_client *c, fugue_aws_error *err)
{
	fugue_aws_request req = FUGUE_AWS_REQUEST_INIT;

	req.service = "lambda";
	req.action = "ListFunctions";
	req.method = "GET";
	req.path = "/2015-03-31/functions/";
	return fugue_aws_call(out, c, &req, err);
}

/* --- tests ------------------------------------------------------------- */

static void throttled_twice(int rate_limit)
{
	fugue_aws_client *c = new_client(3, BASE_MS, rate_limit);
	struct json_object *out = NULL;
	struct json_object *list;
	fugue_aws_error err;
	size_t i;

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	flaky_script("{\"steps\": [{\"count\": 2, \"status\": 503, \"ec2_error\": \"RequestLimitExceeded\"}],"
	       " \"default\": {\"status\": 200, \"headers\": {\"Content-Type\": \"text/xml\"}, "
	       "\"body\": \"" VPCS_OK "\"}}");
	CU_ASSERT_EQUAL(describe_vpcs(&out, c, &err), 0);
	CU_ASSERT_EQUAL(err.attempts, 3);
	ASSERT_STR(fugue_aws_get_string(out, "vpcSet.0.vpcId"), "vpc-1");
	json_object_put(out);
	list = flaky_recorded();
	CU_ASSERT_EQUAL_FATAL(json_object_array_length(list), 3);
	for (i = 0; i < 3; i++) {
		struct json_object *r = json_object_array_get_idx(list, i);
		struct json_object *h = NULL;

		ASSERT_STR(json_member(r, "method"), "POST");
		CU_ASSERT_PTR_NOT_NULL(strstr(fugue_test_nn(json_member(r, "body")), "Action=DescribeVpcs"));
		json_object_object_get_ex(r, "headers", &h);
		CU_ASSERT_PTR_NOT_NULL(json_member(h, "authorization"));
	}
	check_gaps(list, BASE_MS);
	json_object_put(list);
	fugue_aws_client_free(c);
}

static void test_throttled_twice_then_ok(void)
{
	throttled_twice(0);
}

/* The same with the client-side rate limiter on (its feedback path). */
static void test_throttled_with_rate_limiter(void)
{
	throttled_twice(1);
}

static void test_unavailable_out_of_attempts(void)
{
	fugue_aws_client *c = new_client(3, BASE_MS, 0);
	struct json_object *out = NULL;
	struct json_object *list;
	fugue_aws_error err;

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	flaky_script("{\"default\": {\"status\": 503, \"ec2_error\": \"Unavailable\"}}");
	CU_ASSERT_EQUAL(describe_vpcs(&out, c, &err), FUGUE_ERETRY);
	CU_ASSERT_PTR_NULL(out);
	CU_ASSERT_EQUAL(err.attempts, 3);
	CU_ASSERT_EQUAL(err.http_status, 503);
	CU_ASSERT_STRING_EQUAL(err.code, "Unavailable");
	list = flaky_recorded();
	CU_ASSERT_EQUAL(json_object_array_length(list), 3);
	check_gaps(list, BASE_MS);
	json_object_put(list);
	fugue_aws_client_free(c);
}

static void not_retried(const char *code)
{
	fugue_aws_client *c = new_client(3, BASE_MS, 0);
	struct json_object *out = NULL;
	struct json_object *list;
	fugue_aws_error err;
	fugue_buf s = FUGUE_BUF_INIT;

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	fugue_buf_printf(&s, "{\"default\": {\"status\": 400, \"ec2_error\": \"%s\"}}", code);
	flaky_script(s.data);
	fugue_buf_free(&s);
	CU_ASSERT_EQUAL(describe_vpcs(&out, c, &err), FUGUE_EAWS);
	CU_ASSERT_EQUAL(err.attempts, 1);
	CU_ASSERT_EQUAL(err.http_status, 400);
	CU_ASSERT_STRING_EQUAL(err.code, code);
	list = flaky_recorded();
	CU_ASSERT_EQUAL(json_object_array_length(list), 1);
	json_object_put(list);
	fugue_aws_client_free(c);
}

static void test_validation_error_once(void)
{
	not_retried("ValidationError");
	not_retried("InvalidParameterValue");
}

/* 500 tokens, 5 per retry: with 4 retries a call, 25 failing calls empty the
 * quota; from then on a failure is not retried. */
static void test_quota_runs_out(void)
{
	fugue_aws_client *c = new_client(5, 1, 0);
	struct json_object *out = NULL;
	struct json_object *list;
	fugue_aws_error err;
	int full = 0;
	int i;

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	flaky_script("{\"default\": {\"status\": 503, \"ec2_error\": \"Unavailable\"}}");
	for (i = 0; i < 25; i++) {
		CU_ASSERT_EQUAL(describe_vpcs(&out, c, &err), FUGUE_ERETRY);
		if (err.attempts == 5)
			full++;
	}
	CU_ASSERT_EQUAL(full, 25);
	for (i = 0; i < 3; i++) {
		CU_ASSERT_EQUAL(describe_vpcs(&out, c, &err), FUGUE_ERETRY);
		CU_ASSERT_EQUAL(err.attempts, 1);
	}
	list = flaky_recorded();
	CU_ASSERT_EQUAL(json_object_array_length(list), 25 * 5 + 3);
	json_object_put(list);
	/* a fresh client has a fresh quota */
	fugue_aws_client_free(c);
	c = new_client(5, 1, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(describe_vpcs(&out, c, &err), FUGUE_ERETRY);
	CU_ASSERT_EQUAL(err.attempts, 5);
	fugue_aws_client_free(c);
}

static void test_lambda_too_many_requests(void)
{
	fugue_aws_client *c = new_client(3, BASE_MS, 0);
	struct json_object *out = NULL;
	struct json_object *list;
	fugue_aws_error err;

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	flaky_script("{\"steps\": [{\"count\": 2, \"status\": 429, "
	       "\"json_error\": \"TooManyRequestsException\", \"message\": \"Rate exceeded\"}],"
	       " \"default\": {\"status\": 200, \"headers\": {\"Content-Type\": \"application/json\"},"
	       " \"body\": \"{\\\"Functions\\\": [{\\\"FunctionName\\\": \\\"f1\\\"}]}\"}}");
	CU_ASSERT_EQUAL(list_functions(&out, c, &err), 0);
	CU_ASSERT_EQUAL(err.attempts, 3);
	ASSERT_STR(fugue_aws_get_string(out, "Functions.0.FunctionName"), "f1");
	json_object_put(out);
	out = NULL;
	list = flaky_recorded();
	CU_ASSERT_EQUAL_FATAL(json_object_array_length(list), 3);
	ASSERT_STR(json_member(json_object_array_get_idx(list, 0), "method"), "GET");
	ASSERT_STR(json_member(json_object_array_get_idx(list, 2), "path"),
	                       "/2015-03-31/functions/");
	check_gaps(list, BASE_MS);
	json_object_put(list);

	/* throttled on every attempt: out of attempts, the code kept */
	flaky_script("{\"default\": {\"status\": 429, \"json_error\": \"TooManyRequestsException\"}}");
	CU_ASSERT_EQUAL(list_functions(&out, c, &err), FUGUE_ERETRY);
	CU_ASSERT_PTR_NULL(out);
	CU_ASSERT_EQUAL(err.attempts, 3);
	CU_ASSERT_EQUAL(err.http_status, 429);
	CU_ASSERT_STRING_EQUAL(err.code, "TooManyRequestsException");
	fugue_aws_client_free(c);
}

int fugue_test_register(void)
{
	CU_pSuite s = CU_add_suite("retry_client", suite_init, suite_cleanup);

	CU_add_test(s, "throttled twice then ok", test_throttled_twice_then_ok);
	CU_add_test(s, "throttled with rate limiter", test_throttled_with_rate_limiter);
	CU_add_test(s, "unavailable out of attempts", test_unavailable_out_of_attempts);
	CU_add_test(s, "validation error once", test_validation_error_once);
	CU_add_test(s, "quota runs out", test_quota_runs_out);
	CU_add_test(s, "lambda too many requests", test_lambda_too_many_requests);
	return 0;
}
