/* test_malformed.c - answers that are not what AWS sends, through the
 * public client (fugue_aws_call) against tests/tools/flaky_server.py:
 * truncated and malformed XML and JSON, the wrong content type, a proxy's
 * HTML page with 200 or an error status, an empty 200, a body over the size
 * limit (announced, or an endless chunked stream), a body cut short, huge
 * headers, binary garbage. Each must end in a clean error (the result code,
 * an error code and a message that says what was wrong, never the body of
 * a success answer), no crash and, under `make valgrind`, no leak.
 *
 * Four services cover the four wire formats: ec2 (EC2 query, XML), iam
 * (AWS query, XML with a <Result>), lambda (rest-json), dynamodb (JSON 1.0).
 * The suite "explain" checks the wording offline. */
#include <curl/curl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "flaky.h"
#include "fugue/aws.h"
#include "http.h"
#include "protocol.h"
#include "testmain.h"

#define ATTEMPTS 3


/* --- setup ------------------------------------------------------------- */

static int suite_init(void)
{
	return flaky_suite_init("AKIDMALFORMED", "malformed-secret");
}

static int suite_cleanup(void)
{
	return flaky_suite_cleanup();
}

/* --- calls --------------------------------------------------------------- */

typedef enum { EC2, IAM, LAMBDA, DYNAMODB } service;

/* One call of SERVICE with a fresh client (3 attempts, 1 ms backoff, no
 * rate limit). Returns its result; *OUT and *ERR as fugue_aws_call. */
static int call(service svc, struct json_object **out, fugue_aws_error *err)
{
	fugue_aws_config cfg = FUGUE_AWS_CONFIG_INIT;
	fugue_aws_request req = FUGUE_AWS_REQUEST_INIT;
	fugue_aws_client *c = NULL;
	int rc;

	cfg.max_attempts = ATTEMPTS;
	cfg.retry_base_ms = 1;
	cfg.disable_rate_limit = 1;
	cfg.timeout_ms = 120000; /* 64 MiB through valgrind */
	rc = fugue_aws_client_new(&c, &cfg, err);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	switch (svc) {
	case EC2:
		req.service = "ec2";
		req.action = "DescribeVpcs";
		break;
	case IAM:
		req.service = "iam";
		req.action = "GetRole";
		req.params = json_tokener_parse("{\"RoleName\":\"web\"}");
		break;
	case LAMBDA:
		req.service = "lambda";
		req.action = "ListFunctions";
		req.method = "GET";
		req.path = "/2015-03-31/functions/";
		break;
	case DYNAMODB:
		req.service = "dynamodb";
		req.action = "ListTables";
		break;
	}
	rc = fugue_aws_call(out, c, &req, err);
	json_object_put((struct json_object *)req.params);
	fugue_aws_client_free(c);
	return rc;
}

/* The answer every request gets: STATUS, Content-Type CTYPE (NULL: none),
 * BODY, and the members of EXTRA (a JSON object text, may be NULL). */
static void serve(int status, const char *ctype, const char *body, const char *extra)
{
	struct json_object *step = extra ? json_tokener_parse(extra) : json_object_new_object();
	struct json_object *script = json_object_new_object();
	struct json_object *headers = json_object_new_object();

	CU_ASSERT_PTR_NOT_NULL_FATAL(step);
	json_object_object_add(step, "status", json_object_new_int(status));
	json_object_object_add(step, "body", json_object_new_string(body));
	if (ctype)
		json_object_object_add(headers, "Content-Type", json_object_new_string(ctype));
	if (!json_object_object_get_ex(step, "headers", NULL))
		json_object_object_add(step, "headers", headers);
	else
		json_object_put(headers);
	json_object_object_add(script, "default", step);
	flaky_script(json_object_to_json_string_ext(script, JSON_C_TO_STRING_PLAIN));
	json_object_put(script);
}

static int contains(const char *haystack, const char *needle)
{
	if (!strstr(haystack, needle)) {
		fprintf(stderr, "\n  expected \"%s\" in \"%s\"\n", needle, haystack);
		return 0;
	}
	return 1;
}

/* SVC's call fails with RC, error code CODE and a message holding WANT
 * (may be NULL), after ATTEMPTS_WANTED attempts; nothing is returned. The
 * message never holds LEAK (a piece of the body; may be NULL). */
static void expect_failure(service svc, int rc_wanted, const char *code, const char *want,
                           const char *leak, int attempts_wanted)
{
	struct json_object *out = NULL;
	fugue_aws_error err;
	int rc = call(svc, &out, &err);

	if (rc != rc_wanted)
		fprintf(stderr, "\n  rc %d (%s: %s), expected %d\n", rc, err.code, err.message,
		        rc_wanted);
	CU_ASSERT_EQUAL(rc, rc_wanted);
	CU_ASSERT_PTR_NULL(out);
	json_object_put(out);
	CU_ASSERT_STRING_EQUAL(err.code, code);
	CU_ASSERT_TRUE(err.message[0] != '\0');
	if (want)
		CU_ASSERT_TRUE(contains(err.message, want));
	if (leak)
		CU_ASSERT_PTR_NULL(strstr(err.message, leak));
	CU_ASSERT_EQUAL(err.attempts, attempts_wanted);
}

/* A 2xx answer that cannot be read: FUGUE_EPROTO, not retried. */
static void expect_malformed(service svc, const char *want, const char *leak)
{
	expect_failure(svc, FUGUE_EPROTO, "MalformedResponse", want, leak, 1);
}

/* --- truncated and malformed ------------------------------------------- */

static void test_truncated_xml(void)
{
	serve(200, "text/xml;charset=UTF-8",
	      "<DescribeVpcsResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">"
	      "<requestId>r-1</requestId><vpcSet><item><vpcId>vpc-secret1", NULL);
	expect_malformed(EC2, "malformed XML at line 1", "vpc-secret1");
	expect_malformed(EC2, "cannot parse the DescribeVpcs response (HTTP 200", NULL);
	serve(200, "text/xml",
	      "<GetRoleResponse><GetRoleResult><Role><RoleName>web</RoleName>", NULL);
	expect_malformed(IAM, "malformed XML", "RoleName");
	/* Mismatched tags, and two roots. */
	serve(200, "text/xml", "<DescribeVpcsResponse><vpcSet></item></DescribeVpcsResponse>", NULL);
	expect_malformed(EC2, "malformed XML", NULL);
	serve(200, "text/xml", "<DescribeVpcsResponse/><DescribeVpcsResponse/>", NULL);
	expect_malformed(EC2, "malformed XML", NULL);
}

static void test_truncated_json(void)
{
	serve(200, "application/json", "{\"Functions\":[{\"FunctionName\":\"fn-secret", NULL);
	expect_malformed(LAMBDA, "truncated JSON", "fn-secret");
	serve(200, "application/x-amz-json-1.0", "{\"TableNames\":[\"t\"]} and more", NULL);
	expect_malformed(DYNAMODB, "malformed JSON at byte 21: unexpected character", NULL);
	serve(200, "application/x-amz-json-1.0", "{\"TableNames\":[\"t\",]}", NULL);
	expect_malformed(DYNAMODB, "malformed JSON at byte", NULL);
}

static void test_wrong_content_type(void)
{
	/* JSON where XML belongs, XML where JSON belongs, a bare JSON string. */
	serve(200, "application/json", "{\"vpcSet\":[]}", NULL);
	expect_malformed(EC2, "content type application/json", NULL);
	serve(200, "text/xml", "<ListFunctionsResponse><Functions/></ListFunctionsResponse>", NULL);
	expect_malformed(LAMBDA, "malformed JSON", NULL);
	serve(200, "application/json", "\"ok\"", NULL);
	expect_malformed(LAMBDA, "a JSON string, expected an object", NULL);
	/* An error document with a 2xx status is not a success. */
	serve(200, "text/xml",
	      "<Response><Errors><Error><Code>Boom</Code><Message>m</Message></Error></Errors>"
	      "</Response>", NULL);
	expect_malformed(EC2, "root element <Response> is not an AWS answer", NULL);
}

/* --- HTML from a proxy -------------------------------------------------- */

#define PROXY_PAGE                                                                     \
	"<html><head><title>Corporate Proxy: sign in</title></head>"                     \
	"<body><form action=\"/login\"><input name=\"user\"/></form></body></html>"
#define GATEWAY_PAGE                                                                   \
	"<!DOCTYPE html>\n<html lang=\"en\"><head><title>502 Bad Gateway</title></head>" \
	"<body><h1>Bad Gateway</h1><p>upstream unreachable</p></body></html>"

static void test_html_with_200(void)
{
	/* Well-formed XHTML parses as XML: without the root check the EC2 and
	 * IAM readers would have made an empty result of it ("no VPC"). */
	serve(200, "text/html", PROXY_PAGE, NULL);
	expect_malformed(EC2, "an HTML page, not an AWS answer", "<form");
	expect_malformed(EC2, "Corporate Proxy: sign in", NULL);
	expect_malformed(EC2, "content type text/html", NULL);
	expect_malformed(IAM, "an HTML page", NULL);
	expect_malformed(LAMBDA, "an HTML page", NULL);
	expect_malformed(DYNAMODB, "an HTML page", NULL);
	serve(200, "text/html", GATEWAY_PAGE, NULL);
	expect_malformed(EC2, "502 Bad Gateway", "upstream");
}

static void test_html_error_pages(void)
{
	/* A proxy's 502: transient, retried, then ERETRY with the page's title. */
	serve(502, "text/html", GATEWAY_PAGE, NULL);
	expect_failure(EC2, FUGUE_ERETRY, "Http502", "an HTML page", "<h1>", ATTEMPTS);
	expect_failure(EC2, FUGUE_ERETRY, "Http502", "502 Bad Gateway", NULL, ATTEMPTS);
	expect_failure(LAMBDA, FUGUE_ERETRY, "Http502", "502 Bad Gateway", NULL, ATTEMPTS);
	/* A proxy refusing: not retried; no AWS code, so the status names it. */
	serve(403, "text/html", PROXY_PAGE, NULL);
	expect_failure(LAMBDA, FUGUE_EAWS, "Http403", "Corporate Proxy", "<form", 1);
	expect_failure(IAM, FUGUE_EAWS, "Http403", "Corporate Proxy", "<form", 1);
}

/* --- empty, huge, cut short, garbage ------------------------------------ */

static void test_empty_200(void)
{
	struct json_object *out = NULL;
	fugue_aws_error err;

	serve(200, "text/xml", "", NULL);
	expect_malformed(EC2, "empty body, expected XML", NULL);
	expect_malformed(IAM, "empty body", NULL);
	serve(200, NULL, "   \r\n", NULL);
	expect_malformed(EC2, "content type none", NULL);
	/* rest-json and JSON: an empty body is an empty answer (DeleteFunction's 204). */
	serve(200, "application/json", "", NULL);
	CU_ASSERT_EQUAL(call(LAMBDA, &out, &err), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	CU_ASSERT_STRING_EQUAL(json_object_to_json_string(out), "{ }");
	json_object_put(out);
}

static void test_body_over_limit_announced(void)
{
	/* 100 MiB with its Content-Length: refused when the headers arrive. */
	serve(200, "text/xml", "<DescribeVpcsResponse>", "{\"body_size\": 104857600}");
	expect_failure(EC2, FUGUE_EPROTO, "ResponseTooLarge", "104857600 bytes (Content-Length)",
	               NULL, 1);
	expect_failure(EC2, FUGUE_EPROTO, "ResponseTooLarge", "over the 64 MiB limit", NULL, 1);
}

static void test_endless_stream(void)
{
	/* No length: read up to the limit, then cut. */
	serve(200, "application/json", "[1,", "{\"stream\": true}");
	expect_failure(LAMBDA, FUGUE_EPROTO, "ResponseTooLarge", "larger than the 64 MiB limit",
	               NULL, 1);
}

static void test_huge_headers(void)
{
	fugue_buf extra = FUGUE_BUF_INIT;
	fugue_buf pad = FUGUE_BUF_INIT;
	int i;

	for (i = 0; i < 50 * 1024; i++)
		fugue_buf_putc(&pad, 'h');
	fugue_buf_puts(&extra, "{\"headers\": {\"Content-Type\": \"text/xml\"");
	for (i = 0; i < 30; i++) /* 1.5 MiB of headers, in lines libcurl takes */
		fugue_buf_printf(&extra, ", \"X-Pad-%d\": \"%s\"", i, pad.data);
	fugue_buf_puts(&extra, "}}");
	serve(200, NULL, "<DescribeVpcsResponse/>", extra.data);
	expect_failure(EC2, FUGUE_EPROTO, "ResponseTooLarge", "response headers larger than", NULL,
	               1);
	fugue_buf_free(&extra);
	fugue_buf_free(&pad);
}

static void test_cut_short(void)
{
	/* The Content-Length promises more than comes: a transport failure,
	 * retried like a reset connection, then reported as one. */
	serve(200, "text/xml",
	      "<DescribeVpcsResponse><requestId>r</requestId><vpcSet/></DescribeVpcsResponse>",
	      "{\"truncate\": 20}");
	expect_failure(EC2, FUGUE_EIO, "ConnectionError", NULL, "requestId", ATTEMPTS);
}

static void test_garbage(void)
{
	serve(200, "text/xml", "\xc3\xbf\x01\x02 binary \xe2\x82\xac garbage", NULL);
	expect_malformed(EC2, "malformed XML", NULL);
	serve(200, "application/json", "\xc3\xbf\x01\x02 binary", NULL);
	expect_malformed(LAMBDA, "malformed JSON", NULL);
}

static void test_hostile_documents(void)
{
	fugue_buf deep = FUGUE_BUF_INIT;
	int i;

	serve(200, "text/xml",
	      "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
	      "<DescribeVpcsResponse><requestId>&x;</requestId></DescribeVpcsResponse>", NULL);
	expect_malformed(EC2, "DOCTYPE", "passwd");
	for (i = 0; i < 5000; i++)
		fugue_buf_putc(&deep, '[');
	for (i = 0; i < 5000; i++)
		fugue_buf_putc(&deep, ']');
	serve(200, "application/json", deep.data, NULL);
	expect_malformed(LAMBDA, "JSON nested deeper than", NULL);
	fugue_buf_free(&deep);
}

/* --- the wording, offline ------------------------------------------------ */

static void explain_is(int xml, const char *body, size_t len, const char *want)
{
	char why[256];

	fugue_response_explain(why, sizeof(why), body, len, xml);
	CU_ASSERT_TRUE(contains(why, want));
}

static void test_explain(void)
{
	static const char nul[] = "<a>x\0y</a>";
	char small[8];

	explain_is(1, NULL, 0, "empty body");
	explain_is(1, "<DescribeVpcsResponse><vpcSet>", 30, "Premature end of data");
	explain_is(1, "<html><head><title>\n  Down\t for\r maintenance </title></head></html>", 66,
	           "Down  for  maintenance");
	explain_is(1, "\xEF\xBB\xBF  <!doctype HTML><p>x", 24, "an HTML page");
	explain_is(1, "<html><title>unclosed", 21, ": unclosed");
	explain_is(1, "<Other/>", 8, "root element <Other> is not an AWS answer");
	explain_is(1, nul, sizeof(nul) - 1, "malformed XML");
	explain_is(0, "{\"a\":", 5, "truncated JSON");
	explain_is(0, "{\"a\":1} x", 9, "malformed JSON at byte 8");
	explain_is(0, "{\"a\":1}x", 8, "malformed JSON at byte 7");
	explain_is(0, "42", 2, "a JSON int, expected an object or an array");
	explain_is(0, "[4", 2, "truncated JSON");
	explain_is(0, "nul", 3, "truncated JSON");
	explain_is(0, "{\"a\" 1}", 7, "malformed JSON at byte 5");
	/* Small buffers are cut, never overrun. */
	fugue_response_explain(small, sizeof(small), "<x", 2, 1);
	CU_ASSERT_EQUAL(strlen(small), sizeof(small) - 1);
	fugue_response_explain(small, 0, "<x", 2, 1);
}

static void test_response_root(void)
{
	struct json_object *out = (struct json_object *)1;

	CU_ASSERT_EQUAL(fugue_xml_response(&out, "<html><body/></html>", 20, "DescribeVpcs", 0),
	                FUGUE_EPROTO);
	CU_ASSERT_PTR_NULL(out);
	CU_ASSERT_EQUAL(fugue_xml_response(&out, "<html><body/></html>", 20, "GetRole", 1),
	                FUGUE_EPROTO);
	CU_ASSERT_EQUAL(fugue_xml_response(&out, "<ErrorResponse/>", 16, "GetRole", 1),
	                FUGUE_EPROTO);
	CU_ASSERT_EQUAL(fugue_xml_response(&out, "<Response/>", 11, "DescribeVpcs", 0),
	                FUGUE_EPROTO);
	CU_ASSERT_EQUAL(fugue_xml_response(&out, "<DeleteRoleResponse/>", 21, "DeleteRole", 1), 0);
	CU_ASSERT_STRING_EQUAL(json_object_to_json_string(out), "{ }");
	json_object_put(out);
}

int fugue_test_register(void)
{
	CU_pSuite s = CU_add_suite("malformed", suite_init, suite_cleanup);
	CU_pSuite e = CU_add_suite("explain", NULL, NULL);

	if (!s || !e)
		return -1;
	if (!CU_add_test(s, "truncated xml", test_truncated_xml) ||
	    !CU_add_test(s, "truncated json", test_truncated_json) ||
	    !CU_add_test(s, "wrong content type", test_wrong_content_type) ||
	    !CU_add_test(s, "html with 200", test_html_with_200) ||
	    !CU_add_test(s, "html error pages", test_html_error_pages) ||
	    !CU_add_test(s, "empty 200", test_empty_200) ||
	    !CU_add_test(s, "body over limit, announced", test_body_over_limit_announced) ||
	    !CU_add_test(s, "endless stream", test_endless_stream) ||
	    !CU_add_test(s, "huge headers", test_huge_headers) ||
	    !CU_add_test(s, "cut short", test_cut_short) ||
	    !CU_add_test(s, "garbage", test_garbage) ||
	    !CU_add_test(s, "hostile documents", test_hostile_documents) ||
	    !CU_add_test(e, "explain", test_explain) ||
	    !CU_add_test(e, "response root", test_response_root))
		return -1;
	return 0;
}
