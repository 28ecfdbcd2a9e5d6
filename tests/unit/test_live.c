/* test_live.c - what the Conductor knows per resource (daemon/src/live.c):
 * loading records, entries kept by name, `!ref` resolution and the
 * redaction of sensitive values (mask and digest, at any depth). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "fugue/planner.h"
#include "live.h"
#include "state.h"
#include "testmain.h"

/* --- helpers ------------------------------------------------------------------ */

static struct json_object *parse(const char *text)
{
	struct json_object *o = json_tokener_parse(text);

	if (!o) {
		fprintf(stderr, "bad test json: %s\n", text);
		abort();
	}
	return o;
}

static const char *text_of(struct json_object *o)
{
	return json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
	                                             JSON_C_TO_STRING_NOSLASHESCAPE);
}

/* Nonzero when the JSON text of O equals EXPECTED's (parsed and reprinted). */
static int json_is(struct json_object *o, const char *expected)
{
	struct json_object *e = parse(expected);
	int same = json_object_equal(o, e);

	if (!same)
		fprintf(stderr, "got %s\nwant %s\n", o ? text_of(o) : "NULL", text_of(e));
	json_object_put(e);
	return same;
}

static const char *str_at(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		return NULL;
	return json_object_get_string(v);
}

/* --- a schema with secrets at every depth ------------------------------------------ */

static const fugue_prop string_item[] = { { .name = "value", .kind = FUGUE_KIND_STRING } };
static const fugue_prop secret_item[] = {
	{ .name = "value", .kind = FUGUE_KIND_STRING, .flags = FUGUE_PROP_SENSITIVE }
};

static const fugue_prop login_fields[] = {
	{ .name = "user", .kind = FUGUE_KIND_STRING },
	{ .name = "password", .kind = FUGUE_KIND_STRING, .flags = FUGUE_PROP_SENSITIVE },
	{ .name = NULL },
};

static const fugue_prop login_item[] = {
	{ .name = "login", .kind = FUGUE_KIND_OBJECT, .fields = login_fields }
};

static const fugue_prop vault_props[] = {
	{ .name = "name", .kind = FUGUE_KIND_STRING },
	{ .name = "token", .kind = FUGUE_KIND_STRING, .flags = FUGUE_PROP_SENSITIVE },
	{ .name = "doc", .kind = FUGUE_KIND_DOCUMENT, .flags = FUGUE_PROP_SENSITIVE },
	{ .name = "admin", .kind = FUGUE_KIND_OBJECT, .fields = login_fields },
	{ .name = "logins", .kind = FUGUE_KIND_LIST, .items = login_item },
	{ .name = "env", .kind = FUGUE_KIND_MAP, .items = secret_item },
	{ .name = "labels", .kind = FUGUE_KIND_MAP, .items = string_item },
	{ .name = NULL },
};

static const fugue_type_ops vault = {
	.struct_size = sizeof(fugue_type_ops),
	.name = "Test.Secret.Vault",
	.props = vault_props,
};

static const char VAULT_PROPS[] =
	"{\"name\": \"v\", \"token\": \"hunter2-token\","
	" \"doc\": {\"b\": [1, 2], \"a\": \"hunter2-doc\"},"
	" \"admin\": {\"user\": \"root\", \"password\": \"hunter2-admin\"},"
	" \"logins\": [{\"user\": \"a\", \"password\": \"hunter2-a\"}, {\"user\": \"b\"}],"
	" \"env\": {\"KEY\": \"hunter2-env\"}, \"labels\": {\"team\": \"blue\"},"
	" \"extra\": \"not in the schema\"}";

/* --- entries ------------------------------------------------------------------------- */

static void test_entries_sorted(void)
{
	fugue_live live = FUGUE_LIVE_INIT;
	fugue_live_entry *e;
	const char *names[] = { "web", "app", "db", "zeta", "mid" };
	size_t i;

	for (i = 0; i < 5; i++) {
		e = fugue_live_ensure(&live, names[i], "Fake.Net.Network");
		CU_ASSERT_PTR_NOT_NULL_FATAL(e);
		CU_ASSERT_EQUAL(e->status, FUGUE_RESOURCE_PENDING);
		CU_ASSERT_PTR_NULL(e->state);
		CU_ASSERT_PTR_NULL(e->applied);
	}
	CU_ASSERT_EQUAL(live.n, 5);
	for (i = 1; i < live.n; i++)
		CU_ASSERT(strcmp(live.entries[i - 1].name, live.entries[i].name) < 0);
	/* ensure of a known name returns it, unchanged */
	e = fugue_live_find(&live, "db");
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	e->status = FUGUE_RESOURCE_READY;
	e->state = parse("{\"id\": \"net-1\", \"attributes\": {}}");
	e = fugue_live_ensure(&live, "db", "Other.Type");
	CU_ASSERT_EQUAL(e->status, FUGUE_RESOURCE_READY);
	CU_ASSERT_STRING_EQUAL(e->type, "Fake.Net.Network");
	CU_ASSERT_EQUAL(live.n, 5);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(fugue_live_id(&live, "db")), "net-1");
	CU_ASSERT_PTR_NULL(fugue_live_id(&live, "web"));
	CU_ASSERT_PTR_NULL(fugue_live_id(&live, "nope"));
	CU_ASSERT_PTR_NULL(fugue_live_find(&live, "nope"));

	fugue_live_remove(&live, "app");
	fugue_live_remove(&live, "zeta");
	fugue_live_remove(&live, "absent");
	CU_ASSERT_EQUAL(live.n, 3);
	CU_ASSERT_STRING_EQUAL(live.entries[0].name, "db");
	CU_ASSERT_STRING_EQUAL(live.entries[1].name, "mid");
	CU_ASSERT_STRING_EQUAL(live.entries[2].name, "web");
	CU_ASSERT_PTR_NULL(fugue_live_find(&live, "app"));
	CU_ASSERT_PTR_NOT_NULL(fugue_live_find(&live, "web"));
	fugue_live_clear(&live);
	CU_ASSERT_EQUAL(live.n, 0);
	CU_ASSERT_PTR_NULL(live.entries);
	fugue_live_clear(&live); /* twice is fine */
}

static void test_load(void)
{
	fugue_state_resource recs[4];
	fugue_live live = FUGUE_LIVE_INIT;
	fugue_live_entry *e;

	memset(recs, 0, sizeof(recs));
	/* observed, with id and attributes in it */
	recs[0].name = "net";
	recs[0].type = "Fake.Net.Network";
	recs[0].aws_id = "net-1";
	recs[0].status = FUGUE_RESOURCE_READY;
	recs[0].declared = "{\"cidr\": \"10.0.0.0/16\"}";
	recs[0].observed = "{\"id\": \"net-1\", \"attributes\": {\"arn\": \"arn:n\"},"
	                   " \"properties\": {\"cidr\": \"10.0.0.0/16\"}}";
	/* nothing observed yet: id and attributes from the record */
	recs[1].name = "sub";
	recs[1].type = "Fake.Net.Subnet";
	recs[1].aws_id = "subnet-1";
	recs[1].status = FUGUE_RESOURCE_UPDATING;
	recs[1].attributes = "{\"arn\": \"arn:s\"}";
	recs[1].error_code = "Throttling";
	recs[1].error_message = "rate exceeded";
	/* never created */
	recs[2].name = "app";
	recs[2].type = "Fake.Compute.Server";
	recs[2].status = FUGUE_RESOURCE_FAILED;
	recs[2].error_code = "InternalError";
	/* deleted: known not to exist */
	recs[3].name = "old";
	recs[3].type = "Fake.Net.Subnet";
	recs[3].aws_id = "subnet-0";
	recs[3].status = FUGUE_RESOURCE_DELETED;
	recs[3].observed = "{\"id\": \"subnet-0\", \"properties\": {}}";

	CU_ASSERT_EQUAL_FATAL(fugue_live_load(&live, recs, 4), 0);
	CU_ASSERT_EQUAL(live.n, 4);
	CU_ASSERT_STRING_EQUAL(live.entries[0].name, "app");

	e = fugue_live_find(&live, "net");
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	CU_ASSERT_EQUAL(e->status, FUGUE_RESOURCE_READY);
	CU_ASSERT_STRING_EQUAL(e->type, "Fake.Net.Network");
	CU_ASSERT(json_is(e->state, recs[0].observed));
	CU_ASSERT(json_is(e->applied, recs[0].declared));
	CU_ASSERT_PTR_NULL(e->error);
	CU_ASSERT_FALSE(e->gone);

	e = fugue_live_find(&live, "sub");
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	CU_ASSERT(json_is(e->state,
	                  "{\"id\": \"subnet-1\", \"attributes\": {\"arn\": \"arn:s\"}}"));
	CU_ASSERT_PTR_NULL(e->applied);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(e->error), "rate exceeded");
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(fugue_live_id(&live, "sub")), "subnet-1");

	e = fugue_live_find(&live, "app");
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	CU_ASSERT_PTR_NULL(e->state);
	CU_ASSERT_EQUAL(e->status, FUGUE_RESOURCE_FAILED);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(e->error), "InternalError");

	e = fugue_live_find(&live, "old");
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	CU_ASSERT_PTR_NULL(e->state);
	CU_ASSERT(e->gone);
	CU_ASSERT_PTR_NULL(fugue_live_id(&live, "old"));
	fugue_live_clear(&live);

	/* a record whose JSON does not parse: EINVAL, nothing kept */
	recs[1].declared = "{\"cidr\": ";
	CU_ASSERT_EQUAL(fugue_live_load(&live, recs, 4), FUGUE_EINVAL);
	CU_ASSERT_EQUAL(live.n, 0);
	recs[1].declared = NULL;
	recs[1].observed = "[1, 2]"; /* a state is an object */
	CU_ASSERT_EQUAL(fugue_live_load(&live, recs, 4), FUGUE_EINVAL);
	CU_ASSERT_EQUAL(live.n, 0);
	fugue_live_clear(&live);
	CU_ASSERT_EQUAL(fugue_live_load(&live, NULL, 0), 0);
	CU_ASSERT_EQUAL(live.n, 0);
}

/* --- references ------------------------------------------------------------------------ */

static void add_state(fugue_live *live, const char *name, const char *state)
{
	fugue_live_entry *e = fugue_live_ensure(live, name, "Fake.Net.Network");

	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	e->state = state ? parse(state) : NULL;
	e->status = state ? FUGUE_RESOURCE_READY : FUGUE_RESOURCE_PENDING;
}

static void test_resolve(void)
{
	fugue_live live = FUGUE_LIVE_INIT;
	struct json_object *props;
	struct json_object *out = NULL;
	char *missing = NULL;

	add_state(&live, "net", "{\"id\": \"net-1\", \"attributes\": {\"arn\": \"arn:net\","
	                        " \"port\": 443}}");
	add_state(&live, "sub", "{\"id\": \"subnet-1\", \"attributes\": {}}");
	add_state(&live, "web", NULL);

	props = parse("{\"network\": {\"$ref\": \"net\", \"attr\": \"id\"},"
	              " \"arns\": [{\"$ref\": \"net\", \"attr\": \"arn\"}, \"x\"],"
	              " \"deep\": {\"sub\": {\"$ref\": \"sub\"}, \"port\": {\"$ref\": \"net\","
	              " \"attr\": \"port\"}}, \"n\": 3, \"none\": null,"
	              " \"notref\": {\"$ref\": \"net\", \"attr\": \"id\", \"more\": 1}}");
	CU_ASSERT_EQUAL(fugue_resolve_refs(&out, &missing, props, &live), 0);
	CU_ASSERT_PTR_NULL(missing);
	CU_ASSERT(json_is(out, "{\"network\": \"net-1\", \"arns\": [\"arn:net\", \"x\"],"
	                       " \"deep\": {\"sub\": \"subnet-1\", \"port\": \"443\"}, \"n\": 3,"
	                       " \"none\": null, \"notref\": {\"$ref\": \"net\", \"attr\": \"id\","
	                       " \"more\": 1}}"));
	/* the input is untouched */
	CU_ASSERT(fugue_is_ref(json_object_object_get(props, "network")));
	CU_ASSERT_FALSE(fugue_is_ref(json_object_object_get(props, "notref")));
	CU_ASSERT_FALSE(fugue_is_ref(NULL));
	json_object_put(out);
	json_object_put(props);

	/* a resource without state yet */
	props = parse("{\"a\": {\"$ref\": \"net\"}, \"b\": [{\"$ref\": \"web\"}]}");
	out = parse("{}");
	json_object_put(out);
	CU_ASSERT_EQUAL(fugue_resolve_refs(&out, &missing, props, &live), FUGUE_ERETRY);
	CU_ASSERT_PTR_NULL(out);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(missing), "web");
	free(missing);
	missing = NULL;
	json_object_put(props);

	/* an attribute not published yet; MISSING may be NULL */
	props = parse("{\"a\": {\"$ref\": \"sub\", \"attr\": \"arn\"}}");
	CU_ASSERT_EQUAL(fugue_resolve_refs(&out, &missing, props, &live), FUGUE_ERETRY);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(missing), "sub.arn");
	free(missing);
	CU_ASSERT_EQUAL(fugue_resolve_refs(&out, NULL, props, &live), FUGUE_ERETRY);
	CU_ASSERT_PTR_NULL(out);
	json_object_put(props);

	/* an unknown resource; a gone one */
	props = parse("{\"a\": {\"$ref\": \"ghost\"}}");
	CU_ASSERT_EQUAL(fugue_resolve_refs(&out, &missing, props, &live), FUGUE_ERETRY);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(missing), "ghost");
	free(missing);
	json_object_put(props);
	fugue_live_find(&live, "sub")->gone = 1;
	props = parse("{\"a\": {\"$ref\": \"sub\"}}");
	CU_ASSERT_EQUAL(fugue_resolve_refs(&out, &missing, props, &live), FUGUE_ERETRY);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(missing), "sub");
	free(missing);
	json_object_put(props);
	fugue_live_clear(&live);
}

/* --- redaction ---------------------------------------------------------------------------- */

static void assert_no_secret(struct json_object *o)
{
	const char *t = text_of(o);

	CU_ASSERT_PTR_NULL(strstr(t, "hunter2"));
}

static void test_redact_mask(void)
{
	struct json_object *props = parse(VAULT_PROPS);
	struct json_object *out = fugue_redact(props, &vault, FUGUE_REDACT_MASK);

	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	assert_no_secret(out);
	CU_ASSERT(json_is(out, "{\"name\": \"v\", \"token\": \"(sensitive)\","
	                       " \"doc\": \"(sensitive)\","
	                       " \"admin\": {\"user\": \"root\", \"password\": \"(sensitive)\"},"
	                       " \"logins\": [{\"user\": \"a\", \"password\": \"(sensitive)\"},"
	                       " {\"user\": \"b\"}], \"env\": {\"KEY\": \"(sensitive)\"},"
	                       " \"labels\": {\"team\": \"blue\"},"
	                       " \"extra\": \"not in the schema\"}"));
	/* the input keeps its secrets */
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(str_at(props, "token")), "hunter2-token");
	json_object_put(out);

	/* no type: a plain copy */
	out = fugue_redact(props, NULL, FUGUE_REDACT_MASK);
	CU_ASSERT(json_object_equal(out, props));
	CU_ASSERT(out != props);
	json_object_put(out);
	CU_ASSERT_PTR_NULL(fugue_redact(NULL, &vault, FUGUE_REDACT_MASK));
	json_object_put(props);
}

#define TOKEN_DIGEST "sha256:bf8a70bb0ae0f63881220c093e85bb35e3fffc55471c99936b99895e38e54f5b"
#define SLASH_DIGEST "sha256:f5effa31772a3689cb116700c569f4b72d765290968f099016a899ab6c1e4ee3"
#define DOC_DIGEST "sha256:7297473011056d11897e8d122830a6adcb609873d15f3c961065db5ec6ecfe32"

static int is_digest(const char *s)
{
	size_t i;

	if (!s || strncmp(s, "sha256:", 7) != 0 || strlen(s) != 7 + 64)
		return 0;
	for (i = 7; s[i]; i++) {
		if (!strchr("0123456789abcdef", s[i]))
			return 0;
	}
	return 1;
}

static void test_redact_digest(void)
{
	struct json_object *props = parse(VAULT_PROPS);
	struct json_object *out = fugue_redact(props, &vault, FUGUE_REDACT_DIGEST);
	struct json_object *again;
	struct json_object *other;
	struct json_object *v;

	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	assert_no_secret(out);
	CU_ASSERT(is_digest(str_at(out, "token")));
	CU_ASSERT(is_digest(str_at(out, "doc")));
	CU_ASSERT(is_digest(str_at(json_object_object_get(out, "admin"), "password")));
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(str_at(json_object_object_get(out, "admin"), "user")),
	                       "root");
	v = json_object_array_get_idx(json_object_object_get(out, "logins"), 0);
	CU_ASSERT(is_digest(str_at(v, "password")));
	CU_ASSERT(is_digest(str_at(json_object_object_get(out, "env"), "KEY")));
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(str_at(out, "name")), "v");
	/* sha256 of the JSON text "hunter2-token" (with its quotes) */
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(str_at(out, "token")), TOKEN_DIGEST);

	/* sha256 of the document's canonical text {"a":"hunter2-doc","b":[1,2]} */
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(str_at(out, "doc")), DOC_DIGEST);

	/* the same values digest the same; member order does not matter */
	again = fugue_redact(props, &vault, FUGUE_REDACT_DIGEST);
	CU_ASSERT(json_object_equal(out, again));
	json_object_put(again);
	other = parse("{\"doc\": {\"a\": \"hunter2-doc\", \"b\": [1, 2]}, \"token\": \"x\"}");
	again = fugue_redact(other, &vault, FUGUE_REDACT_DIGEST);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(str_at(again, "doc")),
	                       fugue_test_nn(str_at(out, "doc")));
	CU_ASSERT_STRING_NOT_EQUAL(fugue_test_nn(str_at(again, "token")),
	                           fugue_test_nn(str_at(out, "token")));
	json_object_put(again);
	json_object_put(other);

	/* a slash is not escaped in the digested text: sha256 of "a/b" */
	other = parse("{\"token\": \"a/b\"}");
	again = fugue_redact(other, &vault, FUGUE_REDACT_DIGEST);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(str_at(again, "token")), SLASH_DIGEST);
	json_object_put(again);
	json_object_put(other);
	json_object_put(out);
	json_object_put(props);
}

static void test_redact_state(void)
{
	struct json_object *state = parse("{\"id\": \"v-1\", \"attributes\": {\"arn\": \"arn:v\"},"
	                                  " \"properties\": {\"token\": \"hunter2\","
	                                  " \"name\": \"v\"}}");
	struct json_object *out = fugue_redact_state(state, &vault, FUGUE_REDACT_MASK);

	CU_ASSERT(json_is(out, "{\"id\": \"v-1\", \"attributes\": {\"arn\": \"arn:v\"},"
	                       " \"properties\": {\"token\": \"(sensitive)\", \"name\": \"v\"}}"));
	json_object_put(out);
	out = fugue_redact_state(state, &vault, FUGUE_REDACT_DIGEST);
	assert_no_secret(out);
	CU_ASSERT(is_digest(str_at(json_object_object_get(out, "properties"), "token")));
	json_object_put(out);
	json_object_put(state);

	state = parse("{\"id\": \"v-1\"}");
	out = fugue_redact_state(state, &vault, FUGUE_REDACT_MASK);
	CU_ASSERT(json_is(out, "{\"id\": \"v-1\"}"));
	json_object_put(out);
	json_object_put(state);
	CU_ASSERT_PTR_NULL(fugue_redact_state(NULL, &vault, FUGUE_REDACT_MASK));
}

int fugue_test_register(void)
{
	CU_pSuite entries = CU_add_suite("entries", NULL, NULL);
	CU_pSuite refs = CU_add_suite("references", NULL, NULL);
	CU_pSuite redact = CU_add_suite("redaction", NULL, NULL);

	if (!entries || !refs || !redact)
		return 1;
	if (!CU_add_test(entries, "sorted by name", test_entries_sorted) ||
	    !CU_add_test(entries, "load records", test_load) ||
	    !CU_add_test(refs, "resolve", test_resolve) ||
	    !CU_add_test(redact, "mask", test_redact_mask) ||
	    !CU_add_test(redact, "digest", test_redact_digest) ||
	    !CU_add_test(redact, "state", test_redact_state))
		return 1;
	return 0;
}
