/* test_iam_docs.c - the iam planner's offline helpers (plugins/iam/
 * iam_api.c): policy documents as IAM returns them (URL-encoded) parsed
 * and compared semantically, tag lists, default names. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "planner_kit.h"
#include "testmain.h"
#include "types.h"

static struct json_object *J(const char *text)
{
	struct json_object *o = json_tokener_parse(text);

	if (!o) {
		fprintf(stderr, "bad test JSON: %s\n", text);
		abort();
	}
	return o;
}

/* fugue_iam_doc_equal of two JSON texts. */
static int same(const char *a, const char *b)
{
	struct json_object *x = J(a), *y = J(b);
	int eq = fugue_iam_doc_equal(x, y);

	json_object_put(x);
	json_object_put(y);
	return eq;
}

static void test_doc_parse(void)
{
	struct json_object *want = J("{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":"
	                             "\"Allow\",\"Action\":\"s3:Get*\",\"Resource\":\"a+b c\"}]}");
	struct json_object *got;

	/* what IAM answers: RFC 3986 encoding, '+' left as it is */
	got = fugue_iam_doc_parse("%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B"
	                          "%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22s3%3AGet%2A%22"
	                          "%2C%22Resource%22%3A%22a+b%20c%22%7D%5D%7D");
	CU_ASSERT_PTR_NOT_NULL_FATAL(got);
	CU_ASSERT_TRUE(json_object_equal(got, want));
	json_object_put(got);
	/* plain JSON (moto) too */
	got = fugue_iam_doc_parse(json_object_to_json_string(want));
	CU_ASSERT_TRUE(json_object_equal(got, want));
	json_object_put(got);
	CU_ASSERT_PTR_NULL(fugue_iam_doc_parse("%7Bnot json"));
	CU_ASSERT_PTR_NULL(fugue_iam_doc_parse(NULL));
	/* a stray '%' is kept */
	got = fugue_iam_doc_parse("\"100%\"");
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(json_object_get_string(got)), "100%");
	json_object_put(got);
	json_object_put(want);
}

static void test_doc_equal(void)
{
	CU_ASSERT_TRUE(same("{\"a\":1,\"b\":\"x\"}", "{\"b\":\"x\",\"a\":1}"));
	CU_ASSERT_TRUE(same("{\"Action\":\"s3:Get\"}", "{\"Action\":[\"s3:Get\"]}"));
	CU_ASSERT_TRUE(same("{\"Statement\":{\"Effect\":\"Allow\"}}",
	                    "{\"Statement\":[{\"Effect\":\"Allow\"}]}"));
	CU_ASSERT_TRUE(same("{\"P\":{\"Service\":[\"ec2\"]}}", "{\"P\":{\"Service\":\"ec2\"}}"));
	/* lists are sets: order does not count, multiplicity does */
	CU_ASSERT_TRUE(same("{\"Action\":[\"a\",\"b\"]}", "{\"Action\":[\"b\",\"a\"]}"));
	CU_ASSERT_TRUE(same("{\"Statement\":[{\"Sid\":\"1\",\"Action\":[\"x\",\"y\"]},{\"Sid\":\"2\"}]}",
	                    "{\"Statement\":[{\"Sid\":\"2\"},{\"Action\":[\"y\",\"x\"],\"Sid\":\"1\"}]}"));
	CU_ASSERT_FALSE(same("{\"Action\":[\"a\",\"a\"]}", "{\"Action\":[\"a\",\"b\"]}"));
	CU_ASSERT_FALSE(same("{\"Action\":[\"a\",\"b\"]}", "{\"Action\":[\"a\",\"c\"]}"));
	CU_ASSERT_TRUE(same("{\"Action\":[]}", "{\"Action\":[]}"));
	CU_ASSERT_FALSE(same("{\"Action\":[\"a\",\"b\"]}", "{\"Action\":\"a\"}"));
	CU_ASSERT_FALSE(same("{\"a\":1}", "{\"a\":1,\"b\":2}"));
	CU_ASSERT_FALSE(same("{\"a\":\"true\"}", "{\"a\":true}"));
	CU_ASSERT_FALSE(same("{\"a\":\"x\"}", "{\"b\":\"x\"}"));
}

static void test_tags_and_names(void)
{
	struct json_object *list = J("[{\"Key\":\"fugue:fid\",\"Value\":\"f1\"},"
	                             "{\"Key\":\"fugue:resource\",\"Value\":\"r\"},"
	                             "{\"Key\":\"aws:x\",\"Value\":\"y\"},"
	                             "{\"Key\":\"Name\",\"Value\":\"n\"}]");
	struct json_object *map = fugue_kit_tags_map(list, 1);
	char buf[16];

	CU_ASSERT_EQUAL(json_object_object_length(map), 1);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(json_object_get_string(
		json_object_object_get(map, "Name"))), "n");
	CU_ASSERT_TRUE(fugue_iam_tagged(list, "f1", "r"));
	CU_ASSERT_TRUE(fugue_iam_tagged(list, "f1", NULL));
	CU_ASSERT_FALSE(fugue_iam_tagged(list, "f2", NULL));
	CU_ASSERT_FALSE(fugue_iam_tagged(list, "f1", "other"));
	json_object_put(map);
	json_object_put(list);

	fugue_iam_default_name(buf, sizeof(buf), "role", "2e5b-71b7-e24d", 64);
	CU_ASSERT_STRING_EQUAL(buf, "role-2e5b71b7");
	fugue_iam_default_name(buf, sizeof(buf), "averyveryverylongname", "abc", 10);
	CU_ASSERT_EQUAL(strlen(buf), 10);
}

int fugue_test_register(void)
{
	CU_pSuite s = CU_add_suite("iam", NULL, NULL);

	if (!s || !CU_add_test(s, "document parse", test_doc_parse) ||
	    !CU_add_test(s, "document compare", test_doc_equal) ||
	    !CU_add_test(s, "tags and names", test_tags_and_names))
		return 1;
	return 0;
}
