/* test_planner_kit.c - the planners' shared kit (plugins/common): CIDRs,
 * zones, AWS leaves, state objects, tags and waits offline ("kit"), and
 * the EC2 helpers against moto ("ec2"): calls, paged Describes,
 * TagSpecifications, tag sync, observe batches, waits that time out, one
 * resource's life (create, describe, read, wait, retag, delete, retried
 * deletes). JSON helpers, the tags fix, base64 and matching are offline.
 *
 * Run through tests/tools/with_moto.py (the "ec2" suite needs its
 * endpoint); callbacks get a fugue_ctx from the kernel's real host. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ec2_api.h"
#include "host.h"
#include "planner_kit.h"
#include "testmain.h"

/* Parses JSON text into a tree (the tests' way of writing values). */
static struct json_object *J(const char *text)
{
	struct json_object *o = json_tokener_parse(text);

	if (!o) {
		fprintf(stderr, "bad test JSON: %s\n", text);
		abort();
	}
	return o;
}

/* Whether A and B are equal JSON trees (B given as text). */
static int json_is(const struct json_object *a, const char *b)
{
	struct json_object *o = J(b);
	int same = json_object_equal((struct json_object *)a, o);

	if (!same)
		fprintf(stderr, "got %s, want %s\n",
		        a ? json_object_to_json_string((struct json_object *)a) : "NULL", b);
	json_object_put(o);
	return same;
}

/* One planner call: the kernel's host behind a fugue_ctx. */
struct harness {
	fugue_call call;
	fugue_ctx ctx;
	fugue_cancel cancel;
	struct json_object *tags;
};

static void harness_open(struct harness *h, fugue_aws_client *aws, const char *fid,
                         const char *resource)
{
	char text[256];

	fugue_call_init(&h->call);
	fugue_cancel_init(&h->cancel);
	h->call.fid = fid;
	h->call.resource = resource;
	h->call.type = "AWS.VPC.Vpc";
	h->call.cancel = &h->cancel;
	fugue_call_ctx(&h->ctx, &h->call);
	snprintf(text, sizeof(text),
	         "{\"fugue:fid\":\"%s\",\"fugue:resource\":\"%s\",\"team\":\"core\"}", fid,
	         resource ? resource : "");
	h->tags = J(text);
	h->ctx.aws = aws;
	h->ctx.region = "us-east-1";
	h->ctx.tags = h->tags;
}

static void harness_close(struct harness *h)
{
	fugue_call_clear(&h->call);
	fugue_cancel_destroy(&h->cancel);
	json_object_put(h->tags);
}

/* Replaces H's ctx->tags with TEXT. */
static void set_tags(struct harness *h, const char *text)
{
	json_object_put(h->tags);
	h->tags = J(text);
	h->ctx.tags = h->tags;
}

/* --- kit: networks --------------------------------------------------------------- */

static void test_cidr_parse(void)
{
	static const char *const bad[] = {
		"", "10.0.0.0", "10.0.0.0/33", "10.0.1.5/24", "256.0.0.0/8", "10.0.0/8",
		"10.0.0.0.0/8", "010.0.0.0/8", "10.0.0.0/08", " 10.0.0.0/8", "10.0.0.0/8 ",
		"10.0.0.0/", "a.b.c.d/8", "-1.0.0.0/8", "1000.0.0.0/8", "10..0.0/8", "10.0.0.0/-1",
		"10.0.0.0/8/8", "1.2.3.4/32x", NULL
	};
	uint32_t addr = 0;
	int prefix = -1;
	size_t i;

	CU_ASSERT_EQUAL(fugue_kit_cidr_parse("10.0.0.0/16", &addr, &prefix), 0);
	CU_ASSERT_EQUAL(addr, 0x0a000000u);
	CU_ASSERT_EQUAL(prefix, 16);
	CU_ASSERT_EQUAL(fugue_kit_cidr_parse("0.0.0.0/0", &addr, &prefix), 0);
	CU_ASSERT_EQUAL(addr, 0);
	CU_ASSERT_EQUAL(prefix, 0);
	CU_ASSERT_EQUAL(fugue_kit_cidr_parse("255.255.255.255/32", &addr, &prefix), 0);
	CU_ASSERT_EQUAL(addr, 0xffffffffu);
	CU_ASSERT_EQUAL(fugue_kit_cidr_parse("192.168.10.128/25", &addr, &prefix), 0);
	CU_ASSERT_EQUAL(addr, 0xc0a80a80u);
	CU_ASSERT_EQUAL(prefix, 25);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		addr = 7;
		prefix = 7;
		if (fugue_kit_cidr_parse(bad[i], &addr, &prefix) != FUGUE_EINVAL)
			fprintf(stderr, "accepted %s\n", fugue_test_nn(bad[i]));
		CU_ASSERT_EQUAL(fugue_kit_cidr_parse(bad[i], &addr, &prefix), FUGUE_EINVAL);
		CU_ASSERT_EQUAL(addr, 7); /* untouched on error */
		CU_ASSERT_EQUAL(prefix, 7);
	}
}

static void test_cidr_contains_overlap(void)
{
	CU_ASSERT_TRUE(fugue_kit_cidr_contains("10.0.0.0/16", "10.0.1.0/24"));
	CU_ASSERT_TRUE(fugue_kit_cidr_contains("10.0.0.0/16", "10.0.0.0/16"));
	CU_ASSERT_TRUE(fugue_kit_cidr_contains("10.0.0.0/16", "10.0.255.255/32"));
	CU_ASSERT_TRUE(fugue_kit_cidr_contains("0.0.0.0/0", "172.16.0.0/12"));
	CU_ASSERT_FALSE(fugue_kit_cidr_contains("10.0.0.0/16", "10.1.0.0/24"));
	CU_ASSERT_FALSE(fugue_kit_cidr_contains("10.0.0.0/16", "10.0.0.0/8"));
	CU_ASSERT_FALSE(fugue_kit_cidr_contains("10.0.0.0/16", "10.0.1.5/24"));
	CU_ASSERT_FALSE(fugue_kit_cidr_contains("nonsense", "10.0.1.0/24"));
	CU_ASSERT_FALSE(fugue_kit_cidr_contains(NULL, NULL));

	CU_ASSERT_TRUE(fugue_kit_cidr_overlap("10.0.0.0/16", "10.0.255.0/24"));
	CU_ASSERT_TRUE(fugue_kit_cidr_overlap("10.0.255.0/24", "10.0.0.0/16"));
	CU_ASSERT_TRUE(fugue_kit_cidr_overlap("10.0.0.0/8", "10.5.0.0/16"));
	CU_ASSERT_TRUE(fugue_kit_cidr_overlap("10.0.1.0/24", "10.0.1.0/24"));
	CU_ASSERT_TRUE(fugue_kit_cidr_overlap("0.0.0.0/0", "192.168.0.0/16"));
	CU_ASSERT_FALSE(fugue_kit_cidr_overlap("10.0.0.0/24", "10.0.1.0/24"));
	CU_ASSERT_FALSE(fugue_kit_cidr_overlap("10.0.0.0/9", "10.128.0.0/9"));
	CU_ASSERT_FALSE(fugue_kit_cidr_overlap("10.0.0.0/24", "10.0.0.1/24"));
	CU_ASSERT_FALSE(fugue_kit_cidr_overlap("10.0.0.0/24", NULL));
}

static void test_az_in_region(void)
{
	CU_ASSERT_TRUE(fugue_kit_az_in_region("us-east-1a", "us-east-1"));
	CU_ASSERT_TRUE(fugue_kit_az_in_region("us-east-1f", "us-east-1"));
	CU_ASSERT_TRUE(fugue_kit_az_in_region("eu-west-3c", "eu-west-3"));
	CU_ASSERT_TRUE(fugue_kit_az_in_region("us-west-2-lax-1a", "us-west-2"));
	CU_ASSERT_TRUE(fugue_kit_az_in_region("us-east-1-wl1-bos-wlz-1", "us-east-1"));
	CU_ASSERT_FALSE(fugue_kit_az_in_region("us-east-2a", "us-east-1"));
	CU_ASSERT_FALSE(fugue_kit_az_in_region("us-east-1", "us-east-1"));
	CU_ASSERT_FALSE(fugue_kit_az_in_region("us-east-1ab", "us-east-1"));
	CU_ASSERT_FALSE(fugue_kit_az_in_region("us-east-1A", "us-east-1"));
	CU_ASSERT_FALSE(fugue_kit_az_in_region("us-east-12a", "us-east-1"));
	CU_ASSERT_FALSE(fugue_kit_az_in_region("us-east-1a", "us-east"));
	CU_ASSERT_FALSE(fugue_kit_az_in_region("us-east-1-", "us-east-1"));
	CU_ASSERT_FALSE(fugue_kit_az_in_region("us-east-1-lax-", "us-east-1"));
	CU_ASSERT_FALSE(fugue_kit_az_in_region("use1-az1", "us-east-1"));
	CU_ASSERT_FALSE(fugue_kit_az_in_region("", "us-east-1"));
	CU_ASSERT_FALSE(fugue_kit_az_in_region(NULL, "us-east-1"));
	CU_ASSERT_FALSE(fugue_kit_az_in_region("us-east-1a", NULL));
	CU_ASSERT_FALSE(fugue_kit_az_in_region("a", ""));
}

/* --- kit: values and state -------------------------------------------------------- */

static void test_aws_leaves(void)
{
	struct json_object *r = J("{\"a\":{\"t\":\"true\",\"f\":\"false\",\"n\":\"42\","
	                          "\"m\":\"-7\",\"e\":\"\",\"x\":\"x\",\"bad\":\"12abc\","
	                          "\"big\":\"99999999999\"},\"list\":[{\"v\":\"1\"}]}");
	struct json_object *v;

	v = fugue_kit_aws_bool(r, "a.t");
	CU_ASSERT(json_is(v, "true"));
	json_object_put(v);
	v = fugue_kit_aws_bool(r, "a.f");
	CU_ASSERT(json_is(v, "false"));
	json_object_put(v);
	CU_ASSERT_PTR_NULL(fugue_kit_aws_bool(r, "a.x"));
	CU_ASSERT_PTR_NULL(fugue_kit_aws_bool(r, "a.e"));
	CU_ASSERT_PTR_NULL(fugue_kit_aws_bool(r, "a.missing"));

	v = fugue_kit_aws_int(r, "a.n");
	CU_ASSERT(json_is(v, "42"));
	CU_ASSERT(json_object_is_type(v, json_type_int));
	json_object_put(v);
	v = fugue_kit_aws_int(r, "a.m");
	CU_ASSERT(json_is(v, "-7"));
	json_object_put(v);
	v = fugue_kit_aws_int(r, "a.big");
	CU_ASSERT(json_is(v, "99999999999"));
	json_object_put(v);
	v = fugue_kit_aws_int(r, "list.0.v");
	CU_ASSERT(json_is(v, "1"));
	json_object_put(v);
	CU_ASSERT_PTR_NULL(fugue_kit_aws_int(r, "a.bad"));
	CU_ASSERT_PTR_NULL(fugue_kit_aws_int(r, "a.e"));
	CU_ASSERT_PTR_NULL(fugue_kit_aws_int(r, "a.x"));

	v = fugue_kit_aws_str(r, "a.x");
	CU_ASSERT(json_is(v, "\"x\""));
	json_object_put(v);
	CU_ASSERT_PTR_NULL(fugue_kit_aws_str(r, "a.e")); /* empty: not observed */
	CU_ASSERT_PTR_NULL(fugue_kit_aws_str(r, "a")); /* not a leaf */
	CU_ASSERT_PTR_NULL(fugue_kit_aws_str(NULL, "a.x"));
	json_object_put(r);
}

static void test_state_and_readers(void)
{
	struct json_object *props = J("{\"cidrBlock\":\"10.0.0.0/16\",\"dns\":true,\"n\":3,"
	                              "\"s\":\"x\"}");
	struct json_object *o, *st;

	CU_ASSERT_STRING_EQUAL(fugue_test_nn(fugue_kit_str(props, "cidrBlock")), "10.0.0.0/16");
	CU_ASSERT_PTR_NULL(fugue_kit_str(props, "dns"));
	CU_ASSERT_PTR_NULL(fugue_kit_str(props, "missing"));
	CU_ASSERT_PTR_NULL(fugue_kit_str(NULL, "x"));
	CU_ASSERT_EQUAL(fugue_kit_bool(props, "dns", 0), 1);
	CU_ASSERT_EQUAL(fugue_kit_bool(props, "s", 7), 7);
	CU_ASSERT_EQUAL(fugue_kit_bool(props, "missing", 0), 0);
	CU_ASSERT_EQUAL(fugue_kit_int(props, "n", 0), 3);
	CU_ASSERT_EQUAL(fugue_kit_int(props, "s", -1), -1);
	CU_ASSERT_EQUAL(fugue_kit_int(NULL, "n", 9), 9);

	o = json_object_new_object();
	fugue_kit_put(o, "a", json_object_new_int(1));
	fugue_kit_put(o, "b", NULL);
	CU_ASSERT(json_is(o, "{\"a\":1}"));

	st = fugue_kit_state("vpc-1", props, o);
	CU_ASSERT(json_is(st, "{\"id\":\"vpc-1\",\"properties\":{\"cidrBlock\":\"10.0.0.0/16\","
	                      "\"dns\":true,\"n\":3,\"s\":\"x\"},\"attributes\":{\"a\":1}}"));
	json_object_put(st);
	st = fugue_kit_state("vpc-2", NULL, NULL);
	CU_ASSERT(json_is(st, "{\"id\":\"vpc-2\",\"properties\":{},\"attributes\":{}}"));
	json_object_put(st);
	/* No id: NULL, and what was handed over is freed (valgrind sees a leak otherwise). */
	CU_ASSERT_PTR_NULL(fugue_kit_state(NULL, J("{\"a\":1}"), J("{}")));
}

static void test_tags(void)
{
	struct harness h;
	struct json_object *set = J("[{\"key\":\"fugue:fid\",\"value\":\"F\"},"
	                            "{\"key\":\"Name\",\"value\":\"web\"},"
	                            "{\"key\":\"aws:cloudformation:stack\",\"value\":\"s\"},"
	                            "{\"key\":\"empty\",\"value\":\"\"}]");
	struct json_object *m, *p, *user;

	m = fugue_kit_tags_map(set, 1);
	CU_ASSERT(json_is(m, "{\"Name\":\"web\",\"empty\":\"\"}"));
	json_object_put(m);
	m = fugue_kit_tags_map(set, 0);
	CU_ASSERT_EQUAL(json_object_object_length(m), 4);
	json_object_put(m);
	json_object_put(set);
	/* An empty <tagSet/> is "" in the tree: no tags. */
	set = J("\"\"");
	m = fugue_kit_tags_map(set, 1);
	CU_ASSERT(json_is(m, "{}"));
	json_object_put(m);
	json_object_put(set);

	harness_open(&h, NULL, "F", "web");
	user = J("{\"team\":\"web\",\"fugue:fid\":\"evil\",\"Name\":\"w\"}");
	m = fugue_kit_desired_tags(&h.ctx, user);
	CU_ASSERT(json_is(m, "{\"team\":\"web\",\"Name\":\"w\",\"fugue:fid\":\"F\","
	                     "\"fugue:resource\":\"web\"}"));
	json_object_put(m);

	p = J("{\"CidrBlock\":\"10.0.0.0/16\"}");
	fugue_ec2_tag_spec(p, "vpc", &h.ctx, NULL);
	CU_ASSERT(json_is(p, "{\"CidrBlock\":\"10.0.0.0/16\",\"TagSpecification\":[{"
	                     "\"ResourceType\":\"vpc\",\"Tag\":["
	                     "{\"Key\":\"fugue:fid\",\"Value\":\"F\"},"
	                     "{\"Key\":\"fugue:resource\",\"Value\":\"web\"},"
	                     "{\"Key\":\"team\",\"Value\":\"core\"}]}]}"));
	fugue_ec2_tag_spec(p, "dhcp-options", &h.ctx, user);
	CU_ASSERT_EQUAL(json_object_array_length(json_object_object_get(p, "TagSpecification")), 2);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(fugue_aws_get_string(p,
	                       "TagSpecification.1.ResourceType")), "dhcp-options");
	json_object_put(p);
	json_object_put(user);
	harness_close(&h);
}

/* The JSON readers the planners share (declarations, states, arrays). */
static void test_json_helpers(void)
{
	struct json_object *o = J("{\"a\":\"x\",\"n\":1,\"l\":[\"p\",2,\"q\"],"
	                          "\"r\":{\"$ref\":\"net\",\"attr\":\"id\"}}");
	struct json_object *st, *copy;

	CU_ASSERT_PTR_NOT_NULL(fugue_kit_get(o, "n"));
	CU_ASSERT_PTR_NULL(fugue_kit_get(o, "missing"));
	CU_ASSERT_PTR_NULL(fugue_kit_get(fugue_kit_get(o, "l"), "p")); /* not an object */
	CU_ASSERT_PTR_NULL(fugue_kit_get(NULL, "a"));
	CU_ASSERT_EQUAL(fugue_kit_len(fugue_kit_get(o, "l")), 3);
	CU_ASSERT_EQUAL(fugue_kit_len(o), 0);
	CU_ASSERT_EQUAL(fugue_kit_len(NULL), 0);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(fugue_kit_as_str(fugue_kit_at(fugue_kit_get(o, "l"),
	                                                                   2))), "q");
	CU_ASSERT_PTR_NULL(fugue_kit_at(fugue_kit_get(o, "l"), 3));
	CU_ASSERT_PTR_NULL(fugue_kit_at(o, 0));
	CU_ASSERT_PTR_NULL(fugue_kit_as_str(fugue_kit_get(o, "n")));
	CU_ASSERT_TRUE(fugue_kit_streq("a", "a"));
	CU_ASSERT_FALSE(fugue_kit_streq("a", "b"));
	CU_ASSERT_FALSE(fugue_kit_streq(NULL, NULL));
	CU_ASSERT_TRUE(fugue_kit_has_string(fugue_kit_get(o, "l"), "q"));
	CU_ASSERT_FALSE(fugue_kit_has_string(fugue_kit_get(o, "l"), "2")); /* a number */
	CU_ASSERT_FALSE(fugue_kit_has_string(fugue_kit_get(o, "a"), "x")); /* not an array */
	CU_ASSERT_FALSE(fugue_kit_has_string(NULL, "x"));
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(fugue_kit_ref_name(fugue_kit_get(o, "r"))), "net");
	CU_ASSERT_PTR_NULL(fugue_kit_ref_name(fugue_kit_get(o, "a")));

	copy = fugue_kit_copy(o);
	CU_ASSERT_PTR_NOT_NULL_FATAL(copy);
	CU_ASSERT(copy != o && json_object_equal(copy, o));
	json_object_put(copy);
	CU_ASSERT_PTR_NULL(fugue_kit_copy(NULL));

	fugue_kit_put_str(o, "b", "y");
	fugue_kit_put_str(o, "c", NULL);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(fugue_kit_str(o, "b")), "y");
	CU_ASSERT_PTR_NULL(fugue_kit_get(o, "c"));
	CU_ASSERT_PTR_EQUAL(fugue_kit_unconst(o), o);

	st = fugue_kit_state("vpc-1", J("{\"p\":1}"), J("{\"a\":2}"));
	CU_ASSERT(json_is(fugue_kit_state_props(st), "{\"p\":1}"));
	CU_ASSERT(json_is(fugue_kit_state_attrs(st), "{\"a\":2}"));
	CU_ASSERT_PTR_NULL(fugue_kit_state_props(NULL));
	CU_ASSERT_EQUAL(fugue_kit_string_item[0].kind, FUGUE_KIND_STRING);
	json_object_put(st);
	json_object_put(o);
}

/* The declared resources of a composition, as the kernel hands them to validate(). */
static const struct json_object *declared_of(const char *resource, void *payload)
{
	return fugue_kit_get(payload, resource);
}

static void test_declared_str(void)
{
	struct harness h;
	struct json_object *all = J("{\"net\":{\"cidrBlock\":\"10.0.0.0/16\"},"
	                            "\"odd\":{\"cidrBlock\":{\"$ref\":\"x\"}}}");
	struct json_object *props = J("{\"vpc\":{\"$ref\":\"net\"},\"odd\":{\"$ref\":\"odd\"},"
	                              "\"gone\":{\"$ref\":\"nothing\"},\"id\":\"vpc-1\"}");

	harness_open(&h, NULL, "F", "sub");
	/* no declared() (offline tools): nothing known */
	CU_ASSERT_PTR_NULL(fugue_kit_declared_str(&h.ctx, fugue_kit_get(props, "vpc"),
	                                          "cidrBlock"));
	h.call.declared = declared_of;
	h.call.declared_payload = all;
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(fugue_kit_declared_str(&h.ctx,
	                       fugue_kit_get(props, "vpc"), "cidrBlock")), "10.0.0.0/16");
	CU_ASSERT_PTR_NULL(fugue_kit_declared_str(&h.ctx, fugue_kit_get(props, "odd"),
	                                          "cidrBlock")); /* not a plain string */
	CU_ASSERT_PTR_NULL(fugue_kit_declared_str(&h.ctx, fugue_kit_get(props, "gone"),
	                                          "cidrBlock"));
	CU_ASSERT_PTR_NULL(fugue_kit_declared_str(&h.ctx, fugue_kit_get(props, "id"),
	                                          "cidrBlock")); /* resolved: not a reference */
	harness_close(&h);
	json_object_put(props);
	json_object_put(all);
}

/* The `tags` property made comparable with the declaration. */
static void test_tag_changes(void)
{
	struct json_object *have = json_tokener_parse(
	        "{\"Name\": \"old\", \"keep\": \"same\", \"stray\": \"x\", "
	        "\"fugue:fid\": \"f\", \"aws:cloudformation:stack\": \"s\"}");
	struct json_object *want = json_tokener_parse(
	        "{\"Name\": \"new\", \"keep\": \"same\", \"added\": \"y\"}");
	struct json_object *put = NULL;
	struct json_object *gone = NULL;

	CU_ASSERT_EQUAL(fugue_kit_tag_changes(&put, &gone, have, want), 0);
	/* set: what is new or different; remove: what is not wanted, never fugue:* or aws:* */
	CU_ASSERT_STRING_EQUAL(json_object_to_json_string_ext(put, JSON_C_TO_STRING_PLAIN),
	                       "[{\"Key\":\"Name\",\"Value\":\"new\"},"
	                       "{\"Key\":\"added\",\"Value\":\"y\"}]");
	CU_ASSERT_STRING_EQUAL(json_object_to_json_string_ext(gone, JSON_C_TO_STRING_PLAIN),
	                       "[\"stray\"]");
	json_object_put(put);
	json_object_put(gone);
	/* nothing to do: empty arrays, also for NULL maps */
	CU_ASSERT_EQUAL(fugue_kit_tag_changes(&put, &gone, NULL, NULL), 0);
	CU_ASSERT_EQUAL(json_object_array_length(put), 0);
	CU_ASSERT_EQUAL(json_object_array_length(gone), 0);
	json_object_put(put);
	json_object_put(gone);
	json_object_put(have);
	json_object_put(want);
}

/* What a sync asks the tagging calls to do (recorded by record_tag_call). */
struct tag_calls {
	struct json_object *put, *gone;
	int fail;
};

static int record_tag_call(fugue_ctx *ctx, void *arg, int add, struct json_object *tags)
{
	struct tag_calls *c = arg;

	if (c->fail) {
		ctx->host->fail(ctx, FUGUE_EAWS, NULL, "tagging failed");
		return FUGUE_EAWS;
	}
	json_object_put(add ? c->put : c->gone);
	if (add)
		c->put = json_object_get(tags);
	else
		c->gone = json_object_get(tags);
	return 0;
}

static void test_sync_tags(void)
{
	struct harness h;
	/* IAM and ELB answer {Key, Value}; the keys to remove go as items or strings */
	struct json_object *has = J("[{\"Key\":\"fugue:fid\",\"Value\":\"F\"},"
	                            "{\"Key\":\"fugue:resource\",\"Value\":\"web\"},"
	                            "{\"Key\":\"team\",\"Value\":\"core\"},"
	                            "{\"Key\":\"Name\",\"Value\":\"old\"},"
	                            "{\"Key\":\"stray\",\"Value\":\"x\"},"
	                            "{\"Key\":\"aws:cloudformation:stack\",\"Value\":\"s\"}]");
	struct json_object *user = J("{\"Name\":\"new\"}");
	struct json_object *m = fugue_kit_tags_map(has, 1);
	struct tag_calls c = { NULL, NULL, 0 };

	CU_ASSERT(json_is(m, "{\"team\":\"core\",\"Name\":\"old\",\"stray\":\"x\"}"));
	json_object_put(m);
	harness_open(&h, NULL, "F", "web");
	CU_ASSERT_EQUAL(fugue_kit_sync_tags(&h.ctx, has, user, 1, record_tag_call, &c), 0);
	CU_ASSERT(json_is(c.put, "[{\"Key\":\"Name\",\"Value\":\"new\"}]"));
	CU_ASSERT(json_is(c.gone, "[{\"Key\":\"stray\"}]"));
	json_object_put(c.put);
	json_object_put(c.gone);
	c.put = c.gone = NULL;
	CU_ASSERT_EQUAL(fugue_kit_sync_tags(&h.ctx, has, user, 0, record_tag_call, &c), 0);
	CU_ASSERT(json_is(c.gone, "[\"stray\"]"));
	json_object_put(c.put);
	json_object_put(c.gone);
	c.put = c.gone = NULL;
	/* in step: no call at all */
	json_object_put(user);
	user = J("{\"Name\":\"old\",\"stray\":\"x\"}");
	CU_ASSERT_EQUAL(fugue_kit_sync_tags(&h.ctx, has, user, 1, record_tag_call, &c), 0);
	CU_ASSERT_PTR_NULL(c.put);
	CU_ASSERT_PTR_NULL(c.gone);
	/* a failed call is the sync's error */
	c.fail = 1;
	CU_ASSERT_EQUAL(fugue_kit_sync_tags(&h.ctx, has, NULL, 1, record_tag_call, &c),
	                FUGUE_EAWS);
	CU_ASSERT_PTR_NOT_NULL(strstr(fugue_test_nn(h.call.message), "tagging failed"));
	harness_close(&h);
	json_object_put(user);
	json_object_put(has);
}

static void test_fix_tags(void)
{
	struct harness h;
	struct json_object *st;
	struct json_object *declared = J("{\"tags\":{\"Name\":\"web\",\"team\":\"mine\"}}");
	const char *observed = "{\"Name\":\"web\",\"team\":\"mine\",\"owner\":\"ops\","
	                       "\"by-hand\":\"x\"}";

	harness_open(&h, NULL, "F", "web");
	set_tags(&h, "{\"fugue:fid\":\"F\",\"team\":\"core\",\"owner\":\"ops\"}");
	/* With ctx->tags: declared keys stay (team overrides the composition's),
	 * the composition's go, one added by hand stays (drift). */
	st = fugue_kit_state("vpc-1", json_object_new_object(), NULL);
	json_object_object_add(fugue_kit_state_props(st), "tags", J(observed));
	fugue_kit_fix_tags(&h.ctx, st, declared);
	CU_ASSERT(json_is(fugue_aws_get(st, "properties.tags"),
	                  "{\"Name\":\"web\",\"team\":\"mine\",\"by-hand\":\"x\"}"));
	json_object_put(st);
	/* Without ctx->tags (observe): only declared keys stay. */
	h.ctx.tags = NULL;
	st = fugue_kit_state("vpc-1", json_object_new_object(), NULL);
	json_object_object_add(fugue_kit_state_props(st), "tags", J(observed));
	fugue_kit_fix_tags(&h.ctx, st, declared);
	CU_ASSERT(json_is(fugue_aws_get(st, "properties.tags"),
	                  "{\"Name\":\"web\",\"team\":\"mine\"}"));
	fugue_kit_fix_tags(&h.ctx, st, NULL); /* nothing declared: no tags of its own */
	CU_ASSERT(json_is(fugue_aws_get(st, "properties.tags"), "{}"));
	json_object_put(st);
	/* No tags property, no state: nothing to do. */
	st = fugue_kit_state("vpc-1", NULL, NULL);
	fugue_kit_fix_tags(&h.ctx, st, declared);
	CU_ASSERT(json_is(fugue_kit_state_props(st), "{}"));
	fugue_kit_fix_tags(&h.ctx, NULL, declared);
	json_object_put(st);
	json_object_put(declared);
	harness_close(&h);
}

static void test_base64(void)
{
	static const char *const cases[][2] = {
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
	};
	unsigned char bytes[3] = { 0xff, 0xfe, 0x00 };
	char *b;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		b = fugue_kit_base64(cases[i][0], strlen(cases[i][0]));
		CU_ASSERT_STRING_EQUAL(fugue_test_nn(b), cases[i][1]);
		free(b);
	}
	b = fugue_kit_base64(bytes, sizeof(bytes));
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(b), "//4A");
	free(b);
}

/* The small EC2 helpers that need no AWS: ids, ARNs, the tags property,
 * "made by this resource". */
static void test_ec2_offline(void)
{
	struct harness h;
	struct json_object *p = json_object_new_object();
	struct json_object *d = J("{\"tagSet\":[{\"key\":\"fugue:fid\",\"value\":\"F\"},"
	                          "{\"key\":\"fugue:resource\",\"value\":\"web\"},"
	                          "{\"key\":\"Name\",\"value\":\"w\"}]}");
	struct json_object *other = J("{\"tagSet\":[{\"key\":\"fugue:fid\",\"value\":\"F\"},"
	                              "{\"key\":\"fugue:resource\",\"value\":\"db\"}]}");
	struct json_object *m;
	char buf[128];

	fugue_ec2_put_id(p, "InstanceId", "i-1");
	CU_ASSERT(json_is(p, "{\"InstanceId\":[\"i-1\"]}"));
	json_object_put(p);
	CU_ASSERT_STRING_EQUAL(fugue_ec2_arn(buf, sizeof(buf), "us-east-1", "123", "vpc", "vpc-1"),
	                       "arn:aws:ec2:us-east-1:123:vpc/vpc-1");
	CU_ASSERT_STRING_EQUAL(fugue_ec2_arn(buf, sizeof(buf), "cn-north-1", "123", "subnet",
	                                     "subnet-1"),
	                       "arn:aws-cn:ec2:cn-north-1:123:subnet/subnet-1");
	CU_ASSERT_STRING_EQUAL(fugue_ec2_arn(buf, sizeof(buf), "us-gov-west-1", NULL, "instance",
	                                     NULL), "arn:aws-us-gov:ec2:us-gov-west-1::instance/");
	m = fugue_ec2_user_tags(d);
	CU_ASSERT(json_is(m, "{\"Name\":\"w\"}"));
	json_object_put(m);
	m = fugue_ec2_user_tags(NULL);
	CU_ASSERT(json_is(m, "{}"));
	json_object_put(m);

	harness_open(&h, NULL, "F", "web");
	CU_ASSERT_TRUE(fugue_ec2_tagged_for(&h.ctx, d));
	CU_ASSERT_FALSE(fugue_ec2_tagged_for(&h.ctx, other));
	CU_ASSERT_FALSE(fugue_ec2_tagged_for(&h.ctx, NULL));
	harness_close(&h);
	json_object_put(d);
	json_object_put(other);
}

static void test_filters_and_errors(void)
{
	struct json_object *p = json_object_new_object();
	fugue_aws_error err;

	fugue_ec2_filter(p, "tag:fugue:fid", "F");
	fugue_ec2_filter(p, "vpc-id", "vpc-1");
	fugue_ec2_filter(p, "vpc-id", "vpc-2");
	CU_ASSERT(json_is(p, "{\"Filter\":[{\"Name\":\"tag:fugue:fid\",\"Value\":[\"F\"]},"
	                     "{\"Name\":\"vpc-id\",\"Value\":[\"vpc-1\",\"vpc-2\"]}]}"));
	json_object_put(p);

	memset(&err, 0, sizeof(err));
	CU_ASSERT_FALSE(fugue_ec2_is_notfound(&err));
	CU_ASSERT_FALSE(fugue_ec2_is_notfound(NULL));
	strcpy(err.code, "InvalidVpcID.NotFound");
	CU_ASSERT_TRUE(fugue_ec2_is_notfound(&err));
	strcpy(err.code, "NatGatewayNotFound");
	CU_ASSERT_TRUE(fugue_ec2_is_notfound(&err));
	strcpy(err.code, "InvalidPermission.NotFound");
	CU_ASSERT_TRUE(fugue_ec2_is_notfound(&err));
	strcpy(err.code, "DependencyViolation");
	CU_ASSERT_FALSE(fugue_ec2_is_notfound(&err));
	strcpy(err.code, "NotFoundish");
	CU_ASSERT_FALSE(fugue_ec2_is_notfound(&err));
}

static void test_fail_aws(void)
{
	struct harness h;
	fugue_aws_error err;

	harness_open(&h, NULL, "F", "web");
	memset(&err, 0, sizeof(err));
	strcpy(err.code, "InvalidVpcID.NotFound");
	strcpy(err.message, "The vpc ID 'vpc-1' does not exist");
	strcpy(err.request_id, "req-1");
	CU_ASSERT_EQUAL(fugue_kit_fail_aws(&h.ctx, FUGUE_ENOTFOUND, &err, "DeleteVpc"),
	                FUGUE_ENOTFOUND);
	CU_ASSERT_EQUAL(h.call.code, FUGUE_ENOTFOUND);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(h.call.message), "DeleteVpc: The vpc ID 'vpc-1' "
	                       "does not exist (InvalidVpcID.NotFound)");
	CU_ASSERT_TRUE(h.call.has_aws);
	CU_ASSERT_STRING_EQUAL(h.call.aws.request_id, "req-1");
	CU_ASSERT_EQUAL(fugue_kit_fail_aws(&h.ctx, FUGUE_EIO, NULL, "CreateVpc"), FUGUE_EIO);
	CU_ASSERT_FALSE(h.call.has_aws);
	CU_ASSERT_PTR_NOT_NULL(h.call.message);
	CU_ASSERT_NSTRING_EQUAL(fugue_test_nn(h.call.message), "CreateVpc: ", 11);
	harness_close(&h);
}

/* Offline (no client): every EC2 call is a configuration error that says so. */
static void test_no_client(void)
{
	struct harness h;
	struct json_object *out = (struct json_object *)&h;
	fugue_observation items[2] = { { .resource = "a", .id = "vpc-1" }, { .resource = "b" } };
	fugue_ec2_kind kind = { .noun = "vpc", .action = "DescribeVpcs", .result_key = "vpcSet",
	                        .id_param = "vpc-id", .id_key = "vpcId" };

	harness_open(&h, NULL, "F", "web");
	CU_ASSERT_EQUAL(fugue_ec2_call(&out, &h.ctx, "DescribeVpcs", NULL), FUGUE_ECONFIG);
	CU_ASSERT_PTR_NULL(out);
	CU_ASSERT_PTR_NOT_NULL(strstr(fugue_test_nn(h.call.message), "no aws client"));
	CU_ASSERT_EQUAL(fugue_ec2_observe(&h.ctx, items, 2, &kind), FUGUE_ECONFIG);
	/* Not answered: nothing is believed gone. */
	CU_ASSERT_EQUAL(items[0].status, FUGUE_ECONFIG);
	CU_ASSERT_EQUAL(items[1].status, FUGUE_ECONFIG);
	CU_ASSERT_PTR_NULL(items[0].state);
	harness_close(&h);
}

/* --- kit: waits ------------------------------------------------------------------- */

/* A poll scripted by RESULTS: one result per poll (1: done), then "not yet". */
struct script {
	const int *results;
	size_t n;
	size_t polls;
};

static int scripted(fugue_ctx *ctx, void *arg, int *done)
{
	struct script *s = arg;
	int r = s->polls < s->n ? s->results[s->polls] : 0;

	s->polls++;
	if (r < 0) {
		if (r != FUGUE_ENOTFOUND)
			ctx->host->fail(ctx, r, NULL, "poll failed");
		return r;
	}
	*done = r == 1;
	return 0;
}

static void test_wait(void)
{
	static const int three[] = { 0, 0, 1 };
	static const int notfound_first[] = { FUGUE_ENOTFOUND, FUGUE_ENOTFOUND, 1 };
	static const int error[] = { 0, FUGUE_EAUTH };
	fugue_kit_wait w = { .what = "vpc-1 to be available", .first_ms = 5, .max_ms = 20,
	                     .deadline_ms = 10000 };
	struct script s = { three, 3, 0 };
	struct harness h;

	harness_open(&h, NULL, "F", "web");
	CU_ASSERT_EQUAL(fugue_kit_wait_for(&h.ctx, &w, scripted, &s), 0);
	CU_ASSERT_EQUAL(s.polls, 3);

	/* NotFound right after a create is a wait... */
	s = (struct script){ notfound_first, 3, 0 };
	w.notfound_is_wait = 1;
	CU_ASSERT_EQUAL(fugue_kit_wait_for(&h.ctx, &w, scripted, &s), 0);
	CU_ASSERT_EQUAL(s.polls, 3);
	/* ...otherwise the end, with a message. */
	s = (struct script){ notfound_first, 3, 0 };
	w.notfound_is_wait = 0;
	CU_ASSERT_EQUAL(fugue_kit_wait_for(&h.ctx, &w, scripted, &s), FUGUE_ENOTFOUND);
	CU_ASSERT_EQUAL(s.polls, 1);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(h.call.message),
	                       "vpc-1 to be available: gone while waiting");

	/* A poll's error ends the wait with the poll's message. */
	s = (struct script){ error, 2, 0 };
	CU_ASSERT_EQUAL(fugue_kit_wait_for(&h.ctx, &w, scripted, &s), FUGUE_EAUTH);
	CU_ASSERT_EQUAL(s.polls, 2);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(h.call.message), "poll failed");

	/* The deadline. */
	s = (struct script){ NULL, 0, 0 };
	w.deadline_ms = 200;
	CU_ASSERT_EQUAL(fugue_kit_wait_for(&h.ctx, &w, scripted, &s), FUGUE_ETIMEOUT);
	CU_ASSERT(s.polls >= 3); /* backoff capped at 20 ms within 200 ms */
	CU_ASSERT_EQUAL(h.call.code, FUGUE_ETIMEOUT);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(h.call.message),
	                       "timed out after 1 s waiting for vpc-1 to be available");

	/* Cancelled: at once, whatever the deadline. */
	s = (struct script){ NULL, 0, 0 };
	w.deadline_ms = 600000;
	fugue_cancel_set(&h.cancel);
	CU_ASSERT_EQUAL(fugue_kit_wait_for(&h.ctx, &w, scripted, &s), FUGUE_ECANCELED);
	harness_close(&h);
}

/* --- ec2 against moto ------------------------------------------------------------- */

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

/* CreateVpc CIDR, tagged for H's resource when TAGGED; returns the id (caller's). */
static char *create_vpc(struct harness *h, const char *cidr, int tagged)
{
	struct json_object *p = json_object_new_object();
	struct json_object *out = NULL;
	char *id = NULL;

	json_object_object_add(p, "CidrBlock", json_object_new_string(cidr));
	if (tagged)
		fugue_ec2_tag_spec(p, "vpc", &h->ctx, NULL);
	if (fugue_ec2_call(&out, &h->ctx, "CreateVpc", p) == 0 &&
	    fugue_aws_get_string(out, "vpc.vpcId"))
		id = strdup(fugue_aws_get_string(out, "vpc.vpcId"));
	else
		fprintf(stderr, "CreateVpc: %s\n", fugue_test_nn(h->call.message));
	json_object_put(out);
	json_object_put(p);
	return id;
}

/* The tags of VPC ID as a map (caller's). */
static struct json_object *vpc_tags(struct harness *h, const char *id)
{
	struct json_object *p = json_object_new_object();
	struct json_object *items = NULL, *m;

	fugue_ec2_filter(p, "vpc-id", id);
	if (fugue_ec2_describe(&items, &h->ctx, "DescribeVpcs", p, "vpcSet") != 0 ||
	    json_object_array_length(items) != 1)
		m = NULL;
	else
		m = fugue_kit_tags_map(
			fugue_aws_list(json_object_array_get_idx(items, 0), "tagSet"), 0);
	json_object_put(items);
	json_object_put(p);
	return m;
}

static void test_ec2_call_and_try(void)
{
	struct harness h;
	struct json_object *out = NULL;
	struct json_object *p = J("{\"VpcId\":\"vpc-00000000dead\"}");
	fugue_aws_error err;

	harness_open(&h, client, "fid-call", "net");
	/* try: the error is an answer, not a failure. */
	CU_ASSERT_EQUAL(fugue_ec2_try(&out, &h.ctx, "DeleteVpc", p, &err), FUGUE_ENOTFOUND);
	CU_ASSERT_PTR_NULL(out);
	CU_ASSERT_TRUE(fugue_ec2_is_notfound(&err));
	CU_ASSERT_FALSE(h.call.failed);
	/* call: the same failure recorded, AWS's code and message in it. */
	CU_ASSERT_EQUAL(fugue_ec2_call(&out, &h.ctx, "DeleteVpc", p), FUGUE_ENOTFOUND);
	CU_ASSERT_TRUE(h.call.failed);
	CU_ASSERT_TRUE(h.call.has_aws);
	CU_ASSERT_STRING_EQUAL(h.call.aws.code, "InvalidVpcID.NotFound");
	CU_ASSERT_NSTRING_EQUAL(fugue_test_nn(h.call.message), "DeleteVpc: ", 11);
	CU_ASSERT_PTR_NOT_NULL(strstr(fugue_test_nn(h.call.message), "(InvalidVpcID.NotFound)"));
	json_object_put(p);
	harness_close(&h);
}

static void test_ec2_create_tagged_and_describe(void)
{
	struct harness h;
	struct json_object *p, *items = NULL, *tags;
	char *a, *b;

	harness_open(&h, client, "fid-describe", "net");
	a = create_vpc(&h, "10.10.0.0/16", 1);
	b = create_vpc(&h, "10.11.0.0/16", 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	tags = vpc_tags(&h, a);
	CU_ASSERT(json_is(tags, "{\"fugue:fid\":\"fid-describe\",\"fugue:resource\":\"net\","
	                        "\"team\":\"core\"}"));
	json_object_put(tags);

	p = json_object_new_object();
	fugue_ec2_filter(p, "tag:fugue:fid", "fid-describe");
	CU_ASSERT_EQUAL(fugue_ec2_describe(&items, &h.ctx, "DescribeVpcs", p, "vpcSet"), 0);
	CU_ASSERT_EQUAL(json_object_array_length(items), 2);
	json_object_put(items);
	json_object_put(p);

	/* Nothing matches: an empty array, not NULL nor an error. */
	p = json_object_new_object();
	fugue_ec2_filter(p, "tag:fugue:fid", "fid-nobody");
	CU_ASSERT_EQUAL(fugue_ec2_describe(&items, &h.ctx, "DescribeVpcs", p, "vpcSet"), 0);
	CU_ASSERT_PTR_NOT_NULL(items);
	CU_ASSERT_EQUAL(json_object_array_length(items), 0);
	json_object_put(items);
	json_object_put(p);
	free(a);
	free(b);
	harness_close(&h);
}

/* moto pages DescribeInstances (not DescribeVpcs): 4 instances in two
 * reservations, one per page, flattened to the instances. */
static void test_ec2_describe_pages(void)
{
	struct harness h;
	struct json_object *p, *out = NULL, *items = NULL;
	const char *image;
	char text[256];
	int i;

	harness_open(&h, client, "fid-pages", "web");
	CU_ASSERT_EQUAL_FATAL(fugue_ec2_call(&out, &h.ctx, "DescribeImages", NULL), 0);
	image = fugue_aws_get_string(out, "imagesSet.0.imageId");
	CU_ASSERT_PTR_NOT_NULL_FATAL(image);
	snprintf(text, sizeof(text), "{\"ImageId\":\"%s\",\"MinCount\":2,\"MaxCount\":2,"
	         "\"InstanceType\":\"t3.micro\"}", image);
	for (i = 0; i < 2; i++) {
		struct json_object *run = NULL;

		p = J(text);
		fugue_ec2_tag_spec(p, "instance", &h.ctx, NULL);
		CU_ASSERT_EQUAL(fugue_ec2_call(&run, &h.ctx, "RunInstances", p), 0);
		json_object_put(run);
		json_object_put(p);
	}
	json_object_put(out);

	p = J("{\"MaxResults\":1}");
	fugue_ec2_filter(p, "tag:fugue:fid", "fid-pages");
	CU_ASSERT_EQUAL(fugue_ec2_describe(&items, &h.ctx, "DescribeInstances", p,
	                                   "reservationSet/instancesSet"), 0);
	CU_ASSERT_EQUAL(json_object_array_length(items), 4);
	CU_ASSERT_PTR_NOT_NULL(fugue_kit_str(json_object_array_get_idx(items, 3), "instanceId"));
	json_object_put(items);
	CU_ASSERT_EQUAL(fugue_ec2_describe(&items, &h.ctx, "DescribeInstances", p,
	                                   "reservationSet"), 0);
	CU_ASSERT_EQUAL(json_object_array_length(items), 2);
	json_object_put(items);
	json_object_put(p);
	harness_close(&h);
}

static void test_ec2_sync_tags(void)
{
	struct harness h;
	struct json_object *current, *user, *tags, *p, *out = NULL;
	char *id;
	char text[256];

	harness_open(&h, client, "fid-sync", "net");
	id = create_vpc(&h, "10.12.0.0/16", 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(id);
	/* A person adds a tag and edits ours behind the Conductor's back. */
	snprintf(text, sizeof(text), "{\"ResourceId\":[\"%s\"],\"Tag\":[{\"Key\":\"old\","
	         "\"Value\":\"x\"},{\"Key\":\"team\",\"Value\":\"ops\"}]}", id);
	p = J(text);
	CU_ASSERT_EQUAL(fugue_ec2_call(&out, &h.ctx, "CreateTags", p), 0);
	json_object_put(out);
	json_object_put(p);

	p = json_object_new_object();
	fugue_ec2_filter(p, "vpc-id", id);
	CU_ASSERT_EQUAL(fugue_ec2_describe(&out, &h.ctx, "DescribeVpcs", p, "vpcSet"), 0);
	current = fugue_aws_list(json_object_array_get_idx(out, 0), "tagSet");
	user = J("{\"Name\":\"main\",\"team\":\"web\"}");
	CU_ASSERT_EQUAL(fugue_ec2_sync_tags(&h.ctx, id, current, user), 0);
	json_object_put(out);
	json_object_put(p);
	tags = vpc_tags(&h, id);
	CU_ASSERT(json_is(tags, "{\"fugue:fid\":\"fid-sync\",\"fugue:resource\":\"net\","
	                        "\"team\":\"web\",\"Name\":\"main\"}"));
	json_object_put(tags);
	/* Without the current tagSet: every wanted tag put again, nothing deleted. */
	CU_ASSERT_EQUAL(fugue_ec2_sync_tags(&h.ctx, id, NULL, user), 0);
	tags = vpc_tags(&h, id);
	CU_ASSERT_EQUAL(json_object_object_length(tags), 4);
	json_object_put(tags);
	json_object_put(user);
	free(id);
	harness_close(&h);
}

static struct json_object *vpc_state(fugue_ctx *ctx, const struct json_object *d)
{
	struct json_object *props = json_object_new_object();

	(void)ctx;
	fugue_kit_put(props, "cidrBlock", fugue_kit_aws_str(d, "cidrBlock"));
	fugue_kit_put(props, "tags", fugue_kit_tags_map(fugue_aws_list(d, "tagSet"), 1));
	return fugue_kit_state(fugue_kit_str(d, "vpcId"), props, NULL);
}

static int skip_cidr_13(const struct json_object *d)
{
	const char *cidr = fugue_kit_str(d, "cidrBlock");

	return cidr && strcmp(cidr, "10.13.0.0/16") == 0;
}

/* One batch: found by recorded id, by tags (no id recorded), by id after
 * losing its tags (the second Describe), gone, and skipped. */
static void observe_with(const char *id_param)
{
	struct harness h;
	char fid[64], text[128]; /* FID: h.call.fid points to it for the whole call */
	char *tagged, *by_tag, *untagged, *skipped;
	fugue_observation items[5];
	fugue_ec2_kind kind = { .noun = "vpc", .action = "DescribeVpcs", .result_key = "vpcSet",
	                        .id_param = id_param, .id_key = "vpcId", .make_state = vpc_state,
	                        .skip = skip_cidr_13 };
	size_t i;

	snprintf(fid, sizeof(fid), "fid-observe-%s", id_param);
	harness_open(&h, client, fid, "a");
	tagged = create_vpc(&h, "10.20.0.0/16", 1);
	skipped = create_vpc(&h, "10.13.0.0/16", 1);
	set_tags(&h, "{\"fugue:fid\":\"someone-else\"}"); /* as if a person edited it */
	untagged = create_vpc(&h, "10.21.0.0/16", 0);
	snprintf(text, sizeof(text), "{\"fugue:fid\":\"%s\",\"fugue:resource\":\"b\"}", fid);
	set_tags(&h, text);
	by_tag = create_vpc(&h, "10.22.0.0/16", 1);
	CU_ASSERT_FATAL(tagged && by_tag && untagged && skipped);

	memset(items, 0, sizeof(items));
	items[0] = (fugue_observation){ .resource = "a", .id = tagged };
	items[1] = (fugue_observation){ .resource = "b", .id = NULL };
	items[2] = (fugue_observation){ .resource = "c", .id = untagged };
	items[3] = (fugue_observation){ .resource = "d", .id = "vpc-0000000000dead" };
	items[4] = (fugue_observation){ .resource = "e", .id = skipped };
	for (i = 0; i < 5; i++)
		items[i].status = 99;
	CU_ASSERT_EQUAL(fugue_ec2_observe(&h.ctx, items, 5, &kind), 0);
	if (h.call.message)
		fprintf(stderr, "observe: %s\n", h.call.message);
	CU_ASSERT_EQUAL(items[0].status, 0);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(fugue_aws_get_string(items[0].state, "id")), tagged);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(fugue_aws_get_string(items[0].state,
	                       "properties.cidrBlock")), "10.20.0.0/16");
	CU_ASSERT(json_is(fugue_aws_get(items[0].state, "properties.tags"), "{\"team\":\"core\"}"));
	CU_ASSERT_EQUAL(items[1].status, 0);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(fugue_aws_get_string(items[1].state, "id")), by_tag);
	CU_ASSERT_EQUAL(items[2].status, 0);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(fugue_aws_get_string(items[2].state, "id")), untagged);
	CU_ASSERT_EQUAL(items[3].status, FUGUE_ENOTFOUND);
	CU_ASSERT_PTR_NULL(items[3].state);
	CU_ASSERT_EQUAL(items[4].status, FUGUE_ENOTFOUND);
	CU_ASSERT_PTR_NULL(items[4].state);
	for (i = 0; i < 5; i++)
		json_object_put(items[i].state);
	free(tagged);
	free(by_tag);
	free(untagged);
	free(skipped);
	harness_close(&h);
}

static void test_ec2_observe_filter(void)
{
	observe_with("vpc-id");
}

/* The id list answers NotFound for the dead id: dropped, asked again. */
static void test_ec2_observe_id_list(void)
{
	observe_with("VpcId");
}

/* fugue_ec2_match() offline: by id, by tags, skipped; the tags fixed
 * against each item's declaration. */
static void test_ec2_match(void)
{
	struct harness h;
	struct json_object *described = J(
		"[{\"vpcId\":\"vpc-1\",\"cidrBlock\":\"10.1.0.0/16\",\"tagSet\":["
		"{\"key\":\"team\",\"value\":\"core\"},{\"key\":\"Name\",\"value\":\"a\"}]},"
		"{\"vpcId\":\"vpc-2\",\"cidrBlock\":\"10.2.0.0/16\",\"tagSet\":["
		"{\"key\":\"fugue:fid\",\"value\":\"F\"},"
		"{\"key\":\"fugue:resource\",\"value\":\"b\"}]},"
		"{\"vpcId\":\"vpc-3\",\"cidrBlock\":\"10.13.0.0/16\"}]");
	struct json_object *declared = J("{\"tags\":{\"Name\":\"a\"}}");
	fugue_ec2_kind kind = { .noun = "vpc", .action = "DescribeVpcs", .result_key = "vpcSet",
	                        .id_param = "vpc-id", .id_key = "vpcId", .make_state = vpc_state,
	                        .skip = skip_cidr_13 };
	fugue_observation items[4];
	size_t i;

	harness_open(&h, NULL, "F", "a");
	memset(items, 0, sizeof(items));
	items[0] = (fugue_observation){ .resource = "a", .id = "vpc-1", .declared = declared };
	items[1] = (fugue_observation){ .resource = "b" };
	items[2] = (fugue_observation){ .resource = "c", .id = "vpc-3" };
	items[3] = (fugue_observation){ .resource = "d", .id = "vpc-4" };
	CU_ASSERT_EQUAL(fugue_ec2_match(&h.ctx, items, 4, described, &kind), 0);
	CU_ASSERT_EQUAL(items[0].status, 0);
	/* team is the composition's (ctx->tags), not declared: not the resource's own */
	CU_ASSERT(json_is(fugue_aws_get(items[0].state, "properties.tags"), "{\"Name\":\"a\"}"));
	CU_ASSERT_EQUAL(items[1].status, 0);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(fugue_aws_get_string(items[1].state, "id")), "vpc-2");
	CU_ASSERT_EQUAL(items[2].status, FUGUE_ENOTFOUND); /* skipped */
	CU_ASSERT_EQUAL(items[3].status, FUGUE_ENOTFOUND);
	for (i = 0; i < 4; i++)
		json_object_put(items[i].state);
	json_object_put(described);
	json_object_put(declared);
	harness_close(&h);
}

static const fugue_ec2_kind vpc_kind = {
	.noun = "vpc", .action = "DescribeVpcs", .result_key = "vpcSet", .id_param = "VpcId",
	.id_key = "vpcId", .make_state = vpc_state,
};

/* One VPC's life through the kit: create, describe, wait, read, one
 * attribute, tags, delete; gone is an answer to describe, a failure to read. */
static void test_ec2_one_resource(void)
{
	struct harness h;
	struct json_object *p = J("{\"CidrBlock\":\"10.40.0.0/16\"}");
	struct json_object *item = NULL, *st = NULL, *out = NULL;
	struct json_object *declared = J("{\"tags\":{\"env\":\"prod\"}}");
	char id[64];

	harness_open(&h, client, "fid-one", "net");
	fugue_ec2_tag_spec(p, "vpc", &h.ctx, NULL);
	CU_ASSERT_EQUAL_FATAL(fugue_ec2_create(id, sizeof(id), &h.ctx, "CreateVpc", p,
	                                       "vpc.vpcId"), 0);
	json_object_put(p);
	CU_ASSERT_NSTRING_EQUAL(id, "vpc-", 4);
	CU_ASSERT_EQUAL(fugue_ec2_describe_one(&item, &h.ctx, &vpc_kind, id), 0);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(fugue_aws_get_string(item, "cidrBlock")),
	                       "10.40.0.0/16");
	json_object_put(item);
	item = NULL;
	CU_ASSERT_EQUAL(fugue_ec2_wait_state(&item, &h.ctx, &vpc_kind, id, "available"), 0);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(fugue_aws_get_string(item, "state")), "available");
	json_object_put(item);

	/* one attribute a call, {"Value": ...} */
	CU_ASSERT_EQUAL(fugue_ec2_set_attribute(&h.ctx, "ModifyVpcAttribute", "VpcId", id,
	                                        "EnableDnsHostnames",
	                                        json_object_new_boolean(1)), 0);
	p = J("{\"Attribute\":\"enableDnsHostnames\"}");
	fugue_kit_put_str(p, "VpcId", id);
	CU_ASSERT_EQUAL(fugue_ec2_call(&out, &h.ctx, "DescribeVpcAttribute", p), 0);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(fugue_aws_get_string(out,
	                       "enableDnsHostnames.value")), "true");
	json_object_put(out);
	json_object_put(p);

	/* tags: the declared ones added, the composition's kept on AWS, hidden in the state */
	CU_ASSERT_EQUAL(fugue_ec2_update_tags(&h.ctx, &vpc_kind, id, declared), 0);
	CU_ASSERT_EQUAL(fugue_ec2_read(&st, &h.ctx, &vpc_kind, id, declared), 0);
	CU_ASSERT(json_is(fugue_aws_get(st, "properties.tags"), "{\"env\":\"prod\"}"));
	json_object_put(st);
	out = vpc_tags(&h, id);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(fugue_kit_str(out, "team")), "core");
	json_object_put(out);

	/* delete: once, then again (already gone is success) */
	p = json_object_new_object();
	fugue_kit_put_str(p, "VpcId", id);
	CU_ASSERT_EQUAL(fugue_ec2_delete(&h.ctx, "DeleteVpc", p), 0);
	CU_ASSERT_EQUAL(fugue_ec2_delete(&h.ctx, "DeleteVpc", p), 0);
	json_object_put(p);
	CU_ASSERT_FALSE(h.call.failed);
	CU_ASSERT_EQUAL(fugue_ec2_wait_state(NULL, &h.ctx, &vpc_kind, id, NULL), 0);
	item = (struct json_object *)&h;
	CU_ASSERT_EQUAL(fugue_ec2_describe_one(&item, &h.ctx, &vpc_kind, id), FUGUE_ENOTFOUND);
	CU_ASSERT_PTR_NULL(item);
	CU_ASSERT_FALSE(h.call.failed); /* an answer, not a failure */
	CU_ASSERT_EQUAL(fugue_ec2_read(&st, &h.ctx, &vpc_kind, id, declared), FUGUE_ENOTFOUND);
	CU_ASSERT_PTR_NULL(st);
	CU_ASSERT_TRUE(h.call.failed);
	CU_ASSERT_PTR_NOT_NULL(strstr(fugue_test_nn(h.call.message), "not found"));
	CU_ASSERT_EQUAL(fugue_ec2_update_tags(&h.ctx, &vpc_kind, id, declared), FUGUE_ENOTFOUND);

	/* a create whose answer has no id */
	p = json_object_new_object();
	CU_ASSERT_EQUAL(fugue_ec2_create(id, sizeof(id), &h.ctx, "DescribeVpcs", p, "vpc.vpcId"),
	                FUGUE_EPROTO);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(h.call.message),
	                       "DescribeVpcs answered without an id");
	json_object_put(p);
	json_object_put(declared);
	harness_close(&h);
}

/* A delete held back by a dependent (a subnet): retried until the
 * deadline, then it goes through once the dependent is gone. */
static void test_ec2_delete_retry(void)
{
	struct harness h;
	fugue_kit_wait quick = { .deadline_ms = 300, .first_ms = 20, .max_ms = 50 };
	struct json_object *vpc_params = json_object_new_object();
	struct json_object *sub_params = json_object_new_object();
	struct json_object *out = NULL;
	char *vpc, what[96];

	harness_open(&h, client, "fid-retry", "net");
	vpc = create_vpc(&h, "10.41.0.0/16", 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(vpc);
	fugue_kit_put_str(sub_params, "VpcId", vpc);
	fugue_kit_put_str(sub_params, "CidrBlock", "10.41.1.0/24");
	CU_ASSERT_EQUAL_FATAL(fugue_ec2_call(&out, &h.ctx, "CreateSubnet", sub_params), 0);
	json_object_put(sub_params);
	sub_params = json_object_new_object();
	fugue_kit_put_str(sub_params, "SubnetId", fugue_aws_get_string(out, "subnet.subnetId"));
	json_object_put(out);

	fugue_kit_put_str(vpc_params, "VpcId", vpc);
	snprintf(what, sizeof(what), "vpc %s", vpc);
	CU_ASSERT_EQUAL(fugue_ec2_delete_retry(&h.ctx, "DeleteVpc", vpc_params, what, &quick),
	                FUGUE_ETIMEOUT);
	CU_ASSERT_PTR_NOT_NULL(strstr(fugue_test_nn(h.call.message), "to be free to delete"));
	CU_ASSERT_EQUAL(fugue_ec2_delete_retry(&h.ctx, "DeleteSubnet", sub_params, "subnet",
	                                       NULL), 0);
	CU_ASSERT_EQUAL(fugue_ec2_delete_retry(&h.ctx, "DeleteVpc", vpc_params, what, NULL), 0);
	/* gone already: success */
	CU_ASSERT_EQUAL(fugue_ec2_delete_retry(&h.ctx, "DeleteVpc", vpc_params, what, NULL), 0);
	json_object_put(vpc_params);
	json_object_put(sub_params);
	free(vpc);
	harness_close(&h);
}

/* A poll that waits for a tag that never comes: through the real API. */
struct tag_wait {
	const char *id;
};

static int poll_never_tagged(fugue_ctx *ctx, void *arg, int *done)
{
	struct tag_wait *t = arg;
	struct json_object *p = json_object_new_object();
	struct json_object *out = NULL;
	fugue_aws_error err;
	int rc;

	json_object_object_add(p, "VpcId", json_object_new_string(t->id));
	rc = fugue_ec2_try(&out, ctx, "DescribeVpcs", p, &err);
	json_object_put(p);
	if (rc == FUGUE_ENOTFOUND)
		return rc;
	if (rc != 0)
		return fugue_kit_fail_aws(ctx, rc, &err, "DescribeVpcs");
	*done = fugue_aws_get_string(out, "vpcSet.0.tagSet.0.never") != NULL;
	json_object_put(out);
	return 0;
}

static void test_ec2_wait_timeout(void)
{
	struct harness h;
	fugue_kit_wait w = { .what = "vpc-0000000000dead to be available", .deadline_ms = 300,
	                     .first_ms = 20, .max_ms = 50, .notfound_is_wait = 1 };
	struct tag_wait t = { "vpc-0000000000dead" };

	harness_open(&h, client, "fid-wait", "net");
	CU_ASSERT_EQUAL(fugue_kit_wait_for(&h.ctx, &w, poll_never_tagged, &t), FUGUE_ETIMEOUT);
	CU_ASSERT_EQUAL(h.call.code, FUGUE_ETIMEOUT);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(h.call.message), "timed out after 1 s waiting for "
	                       "vpc-0000000000dead to be available");
	harness_close(&h);
}

int fugue_test_register(void)
{
	CU_pSuite kit = CU_add_suite("kit", NULL, NULL);
	CU_pSuite ec2 = CU_add_suite("ec2", open_client, close_client);

	if (!kit || !ec2)
		return 1;
	if (!CU_add_test(kit, "cidr parse", test_cidr_parse) ||
	    !CU_add_test(kit, "cidr contains and overlap", test_cidr_contains_overlap) ||
	    !CU_add_test(kit, "az in region", test_az_in_region) ||
	    !CU_add_test(kit, "aws leaves", test_aws_leaves) ||
	    !CU_add_test(kit, "state and readers", test_state_and_readers) ||
	    !CU_add_test(kit, "tags", test_tags) ||
	    !CU_add_test(kit, "filters and errors", test_filters_and_errors) ||
	    !CU_add_test(kit, "fail aws", test_fail_aws) ||
	    !CU_add_test(kit, "no client", test_no_client) ||
	    !CU_add_test(kit, "wait", test_wait) ||
	    !CU_add_test(kit, "json helpers", test_json_helpers) ||
	    !CU_add_test(kit, "declared string", test_declared_str) ||
	    !CU_add_test(kit, "fix tags", test_fix_tags) ||
	    !CU_add_test(kit, "tag changes", test_tag_changes) ||
	    !CU_add_test(kit, "sync tags", test_sync_tags) ||
	    !CU_add_test(kit, "base64", test_base64) ||
	    !CU_add_test(kit, "ec2 offline helpers", test_ec2_offline) ||
	    !CU_add_test(kit, "ec2 match", test_ec2_match))
		return 1;
	if (!CU_add_test(ec2, "call and try", test_ec2_call_and_try) ||
	    !CU_add_test(ec2, "create tagged, describe", test_ec2_create_tagged_and_describe) ||
	    !CU_add_test(ec2, "describe pages", test_ec2_describe_pages) ||
	    !CU_add_test(ec2, "sync tags", test_ec2_sync_tags) ||
	    !CU_add_test(ec2, "observe by filter", test_ec2_observe_filter) ||
	    !CU_add_test(ec2, "observe by id list", test_ec2_observe_id_list) ||
	    !CU_add_test(ec2, "wait times out", test_ec2_wait_timeout) ||
	    !CU_add_test(ec2, "one resource", test_ec2_one_resource) ||
	    !CU_add_test(ec2, "delete retry", test_ec2_delete_retry))
		return 1;
	return 0;
}
