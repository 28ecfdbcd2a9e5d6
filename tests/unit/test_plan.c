/* test_plan.c - plans (daemon/src/plan.c): the diff of a compiled
 * composition against what is known of its resources, and its human and
 * JSON forms.
 *
 * Types: the fake planner's (FUGUE_TEST_FAKE_SO, loaded from a fresh
 * directory), whose Network replaces delete-then-create and whose Server
 * replaces create-before-delete and has a write-only and a sensitive
 * property; and two defined here for what the fake has not: a compare()
 * callback, a type without update(), a secret nested in an object. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <json-c/json.h>

#include "compiler.h"
#include "fugue/log.h"
#include "fugue/planner.h"
#include "host.h"
#include "live.h"
#include "plan.h"
#include "registry.h"
#include "testmain.h"

/* ==== the in-memory planner ================================================ */

static int stub_create(fugue_ctx *ctx, const struct json_object *props, struct json_object **out)
{
	(void)ctx;
	(void)props;
	*out = NULL;
	return FUGUE_EINVAL;
}

static int stub_update(fugue_ctx *ctx, const struct json_object *state,
                       const struct json_object *props, const struct json_object *changed,
                       struct json_object **out)
{
	(void)ctx;
	(void)state;
	(void)props;
	(void)changed;
	*out = NULL;
	return FUGUE_EINVAL;
}

static int stub_remove(fugue_ctx *ctx, const struct json_object *state)
{
	(void)ctx;
	(void)state;
	return 0;
}

static int stub_observe(fugue_ctx *ctx, fugue_observation *items, size_t n)
{
	(void)ctx;
	(void)items;
	(void)n;
	return 0;
}

/* Policies are the same whatever their case (as ARNs in some services);
 * counted, so a test can tell it was asked. */
static int compare_calls;

/* json-c's getters take non-const pointers without changing anything. */
static struct json_object *unconst(const struct json_object *o)
{
	return (struct json_object *)(uintptr_t)o;
}

static int box_compare(const char *name, const struct json_object *a, const struct json_object *b)
{
	compare_calls++;
	if (strcmp(name, "policy") == 0 && json_object_is_type(a, json_type_string) &&
	    json_object_is_type(b, json_type_string))
		return strcasecmp(json_object_get_string(unconst(a)),
		                  json_object_get_string(unconst(b))) == 0;
	return json_object_equal(unconst(a), unconst(b));
}

static const fugue_prop box_props[] = {
	{ .name = "name", .kind = FUGUE_KIND_STRING, .flags = FUGUE_PROP_REQUIRED },
	{ .name = "size", .kind = FUGUE_KIND_NUMBER, .flags = FUGUE_PROP_UPDATABLE },
	{ .name = "policy", .kind = FUGUE_KIND_STRING, .flags = FUGUE_PROP_UPDATABLE },
	{ .name = NULL },
};

static const fugue_type_ops box = {
	.struct_size = sizeof(fugue_type_ops),
	.name = "Test.Box.Cbd",
	.props = box_props,
	.flags = FUGUE_TYPE_CREATE_BEFORE_DELETE,
	.create = stub_create,
	.update = stub_update,
	.remove = stub_remove,
	.observe = stub_observe,
	.compare = box_compare,
};

static const fugue_prop login_fields[] = {
	{ .name = "user", .kind = FUGUE_KIND_STRING },
	{ .name = "password", .kind = FUGUE_KIND_STRING, .flags = FUGUE_PROP_SENSITIVE },
	{ .name = NULL },
};

static const fugue_prop fixed_props[] = {
	{ .name = "size", .kind = FUGUE_KIND_INT, .flags = FUGUE_PROP_UPDATABLE },
	{ .name = "login", .kind = FUGUE_KIND_OBJECT, .flags = FUGUE_PROP_UPDATABLE,
	  .fields = login_fields },
	{ .name = NULL },
};

/* No update(): every change replaces it. */
static const fugue_type_ops fixed = {
	.struct_size = sizeof(fugue_type_ops),
	.name = "Test.Box.Fixed",
	.props = fixed_props,
	.create = stub_create,
	.remove = stub_remove,
	.observe = stub_observe,
};

static const fugue_type_ops *const test_types[] = { &box, &fixed, NULL };

static const fugue_planner test_planner = {
	FUGUE_PLANNER_HEADER,
	.name = "plantest",
	.version = "1.0.0",
	.description = "types for the plan tests",
	.types = test_types,
};

/* ==== fixtures =============================================================== */

static fugue_registry *reg;
static char *planners_dir;

static int suite_init(void)
{
	const char *so = fugue_test_require_env("FUGUE_TEST_FAKE_SO",
	                                        "run me through ctest (tests/CMakeLists.txt)");
	char *link;
	size_t refused = 0;

	fugue_log_set_sink(FUGUE_LOG_SINK_STDERR);
	fugue_log_set_level(FUGUE_LOG_WARN);
	planners_dir = fugue_test_tmpdir();
	if (asprintf(&link, "%s/fake.so", planners_dir) < 0)
		return 1;
	if (symlink(so, link) != 0) {
		perror(link);
		free(link);
		return 1;
	}
	free(link);
	if (fugue_registry_new(&reg, fugue_kernel_host()) != 0 ||
	    fugue_registry_load_dir(reg, planners_dir, &refused) != 0 || refused != 0)
		return 1;
	return fugue_registry_add(reg, &test_planner, "test") != 0;
}

static int suite_cleanup(void)
{
	fugue_registry_free(reg);
	reg = NULL;
	fugue_test_rmtree(planners_dir);
	free(planners_dir);
	return 0;
}

static fugue_composition *compile(const char *text)
{
	fugue_compile_options opts = FUGUE_COMPILE_OPTIONS_INIT;
	fugue_diags diags = FUGUE_DIAGS_INIT;
	fugue_composition *c = NULL;

	opts.registry = reg;
	if (fugue_compile_buffer(&c, &diags, &opts, "test.yaml", text, strlen(text)) != 0) {
		fugue_diags_print(stderr, &diags);
		fugue_diags_clear(&diags);
		CU_FAIL_FATAL("the test composition does not compile");
	}
	fugue_diags_clear(&diags);
	return c;
}

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

static int json_is(struct json_object *o, const char *expected)
{
	struct json_object *e = parse(expected);
	int same = json_object_equal(o, e);

	if (!same)
		fprintf(stderr, "got  %s\nwant %s\n", o ? text_of(o) : "NULL", text_of(e));
	json_object_put(e);
	return same;
}

static int is_write_only(const fugue_type_ops *type, const char *name)
{
	const fugue_prop *p;

	for (p = type ? type->props : NULL; p && p->name; p++) {
		if (strcmp(p->name, name) == 0)
			return (p->flags & FUGUE_PROP_WRITE_ONLY) != 0;
	}
	return 0;
}

/* Records every resource of C as made exactly as declared, as the
 * scheduler would after a run: the state AWS returns (write-only
 * properties left out, secrets as they are) and the applied properties
 * (secrets as digests). */
static void converge(fugue_live *live, const fugue_composition *c)
{
	size_t i;

	for (i = 0; i < c->nresources; i++) {
		const fugue_resource *r = &c->resources[c->order[i]];
		fugue_live_entry *e = fugue_live_ensure(live, r->name, r->type_name);
		struct json_object *resolved = NULL;
		struct json_object *props = json_object_new_object();
		char text[256];

		CU_ASSERT_PTR_NOT_NULL_FATAL(e);
		CU_ASSERT_EQUAL_FATAL(fugue_resolve_refs(&resolved, NULL, r->props, live), 0);
		json_object_object_foreach(resolved, key, val) {
			if (!is_write_only(r->type, key))
				json_object_object_add(props, key, json_object_get(val));
		}
		snprintf(text, sizeof(text),
		         "{\"id\": \"id-%s\", \"attributes\": {\"arn\": \"arn:fake:%s\","
		         " \"privateIp\": \"10.0.1.9\"}}",
		         r->name, r->name);
		json_object_put(e->state);
		e->state = parse(text);
		json_object_object_add(e->state, "properties", props);
		json_object_put(e->applied);
		e->applied = fugue_redact(resolved, r->type, FUGUE_REDACT_DIGEST);
		e->status = FUGUE_RESOURCE_READY;
		json_object_put(resolved);
	}
}

/* Sets property NAME of E's observed state to the JSON VALUE (NULL: removes it). */
static void set_observed(fugue_live *live, const char *resource, const char *name,
                         const char *value)
{
	fugue_live_entry *e = fugue_live_find(live, resource);
	struct json_object *props;

	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	CU_ASSERT_FATAL(json_object_object_get_ex(e->state, "properties", &props));
	if (value)
		json_object_object_add(props, name, parse(value));
	else
		json_object_object_del(props, name);
}

static fugue_plan plan_of(const fugue_composition *declared, const fugue_composition *previous,
                          const fugue_live *live)
{
	fugue_plan_input in = { declared, previous, live };
	fugue_plan plan = FUGUE_PLAN_INIT;

	CU_ASSERT_EQUAL_FATAL(fugue_plan_compute(&plan, &in), 0);
	return plan;
}

static char *printed(const fugue_plan *plan)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fugue_plan_print(f, plan);
	fclose(f);
	return text;
}

static char *json_text(const fugue_plan *plan)
{
	struct json_object *j = NULL;
	char *text;

	CU_ASSERT_EQUAL_FATAL(fugue_plan_to_json(&j, plan), 0);
	text = strdup(text_of(j));
	json_object_put(j);
	return text;
}

/* The action for RESOURCE, which must exist. */
static const fugue_action *action(const fugue_plan *plan, const char *resource)
{
	const fugue_action *a = fugue_plan_find(plan, resource);

	if (!a)
		fprintf(stderr, "no action for %s\n", resource);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	return a;
}

static const fugue_change *change(const fugue_action *a, const char *property)
{
	size_t i;

	for (i = 0; i < a->nchanges; i++) {
		if (strcmp(a->changes[i].property, property) == 0)
			return &a->changes[i];
	}
	fprintf(stderr, "no change of %s.%s\n", a->resource, property);
	CU_FAIL_FATAL("missing change");
	return NULL;
}

/* RESOURCE's observed state as the state store keeps it: secrets as digests. */
static void as_stored(fugue_live *live, const fugue_composition *c, const char *resource)
{
	fugue_live_entry *e = fugue_live_find(live, resource);
	const fugue_resource *r = fugue_composition_find(c, resource);
	struct json_object *stored;

	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	stored = fugue_redact_state(e->state, r->type, FUGUE_REDACT_DIGEST);
	CU_ASSERT_PTR_NOT_NULL_FATAL(stored);
	CU_ASSERT_PTR_NULL(strstr(text_of(stored), "hunter2"));
	json_object_put(e->state);
	e->state = stored;
}

#define NETWORK "  net: {type: Fake.Net.Network, cidr: 10.0.0.0/16, name: main}\n"
#define SUBNET "  sub: {type: Fake.Net.Subnet, network: !ref net, cidr: 10.0.1.0/24}\n"

#define WEB                                                                                        \
	"  web:\n"                                                                                 \
	"    type: Fake.Compute.Server\n"                                                          \
	"    subnet: !ref sub\n"                                                                   \
	"    size: medium\n"                                                                       \
	"    password: hunter2-pw\n"                                                               \
	"    userData: echo hello\n"                                                               \
	"    tags: {team: blue}\n"

static const char WEBAPP[] = "resources:\n" NETWORK SUBNET WEB;

/* WEBAPP with the text FROM replaced by TO. */
static fugue_composition *webapp_with(const char *from, const char *to)
{
	const char *at = strstr(WEBAPP, from);
	char text[sizeof(WEBAPP) + 256];

	CU_ASSERT_PTR_NOT_NULL_FATAL(at);
	snprintf(text, sizeof(text), "%.*s%s%s", (int)(at - WEBAPP), WEBAPP, to, at + strlen(from));
	return compile(text);
}

/* ==== declared resources ====================================================== */

static void test_create_new(void)
{
	fugue_composition *c = compile(WEBAPP);
	fugue_live live = FUGUE_LIVE_INIT;
	fugue_plan plan = plan_of(c, NULL, &live);

	CU_ASSERT_EQUAL_FATAL(plan.nactions, 3);
	CU_ASSERT_STRING_EQUAL(plan.actions[0].resource, "net");
	CU_ASSERT_STRING_EQUAL(plan.actions[1].resource, "sub");
	CU_ASSERT_STRING_EQUAL(plan.actions[2].resource, "web");
	CU_ASSERT_EQUAL(plan.actions[2].kind, FUGUE_ACTION_CREATE);
	CU_ASSERT_STRING_EQUAL(plan.actions[2].type, "Fake.Compute.Server");
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(plan.actions[2].reason), "not created yet");
	CU_ASSERT_EQUAL(plan.actions[2].nchanges, 0);
	CU_ASSERT_EQUAL_FATAL(plan.actions[2].ndeps, 1);
	CU_ASSERT_STRING_EQUAL(plan.actions[2].deps[0], "sub");
	CU_ASSERT_EQUAL(plan.actions[0].ndeps, 0);
	CU_ASSERT_EQUAL(plan.counts[FUGUE_ACTION_CREATE], 3);
	CU_ASSERT_FALSE(fugue_plan_is_empty(&plan));
	CU_ASSERT_PTR_NULL(fugue_plan_find(&plan, "nope"));
	fugue_plan_clear(&plan);
	fugue_composition_free(c);
}

static void test_none_when_equal(void)
{
	fugue_composition *c = compile(WEBAPP);
	fugue_live live = FUGUE_LIVE_INIT;
	fugue_plan plan;
	char *text;
	size_t i;

	converge(&live, c);
	plan = plan_of(c, c, &live);
	CU_ASSERT_EQUAL(plan.nactions, 3);
	for (i = 0; i < plan.nactions; i++) {
		CU_ASSERT_EQUAL(plan.actions[i].kind, FUGUE_ACTION_NONE);
		CU_ASSERT_EQUAL(plan.actions[i].nchanges, 0);
		CU_ASSERT_STRING_EQUAL(fugue_test_nn(plan.actions[i].reason), "up to date");
	}
	CU_ASSERT_EQUAL(plan.counts[FUGUE_ACTION_NONE], 3);
	CU_ASSERT(fugue_plan_is_empty(&plan));
	text = printed(&plan);
	CU_ASSERT_STRING_EQUAL(text, "No changes.\n");
	free(text);
	fugue_plan_clear(&plan);

	/* the same with what the state store keeps: secrets as digests in the
	 * observed state too */
	as_stored(&live, c, "web");
	plan = plan_of(c, c, &live);
	CU_ASSERT(fugue_plan_is_empty(&plan));
	fugue_plan_clear(&plan);
	fugue_live_clear(&live);
	fugue_composition_free(c);
}

static void test_update(void)
{
	fugue_composition *c = compile(WEBAPP);
	fugue_composition *c2 = webapp_with("size: medium", "size: large");
	fugue_live live = FUGUE_LIVE_INIT;
	fugue_plan plan;
	const fugue_action *a;
	const fugue_change *ch;

	converge(&live, c);
	plan = plan_of(c2, c, &live);
	CU_ASSERT_EQUAL(action(&plan, "net")->kind, FUGUE_ACTION_NONE);
	CU_ASSERT_EQUAL(action(&plan, "sub")->kind, FUGUE_ACTION_NONE);
	a = action(&plan, "web");
	CU_ASSERT_EQUAL(a->kind, FUGUE_ACTION_UPDATE);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(a->reason), "1 property changed");
	CU_ASSERT_EQUAL_FATAL(a->nchanges, 1);
	ch = change(a, "size");
	CU_ASSERT(json_is(ch->declared, "\"large\""));
	CU_ASSERT(json_is(ch->actual, "\"medium\""));
	CU_ASSERT_FALSE(ch->forces_replacement);
	CU_ASSERT_FALSE(ch->known_after_apply);
	CU_ASSERT_EQUAL(plan.counts[FUGUE_ACTION_UPDATE], 1);
	CU_ASSERT_EQUAL(plan.counts[FUGUE_ACTION_NONE], 2);
	fugue_plan_clear(&plan);

	/* drift: the declaration is the same, AWS says otherwise */
	set_observed(&live, "web", "size", "\"small\"");
	set_observed(&live, "web", "tags", "{\"team\": \"red\"}");
	plan = plan_of(c, c, &live);
	a = action(&plan, "web");
	CU_ASSERT_EQUAL(a->kind, FUGUE_ACTION_UPDATE);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(a->reason), "2 properties changed");
	CU_ASSERT(json_is(change(a, "size")->actual, "\"small\""));
	CU_ASSERT(json_is(change(a, "size")->declared, "\"medium\""));
	CU_ASSERT(json_is(change(a, "tags")->actual, "{\"team\": \"red\"}"));
	fugue_plan_clear(&plan);

	/* a property AWS does not report is compared with what was applied */
	set_observed(&live, "web", "size", NULL);
	set_observed(&live, "web", "tags", NULL);
	plan = plan_of(c2, c, &live);
	a = action(&plan, "web");
	CU_ASSERT_EQUAL(a->kind, FUGUE_ACTION_UPDATE);
	CU_ASSERT_EQUAL(a->nchanges, 1);
	CU_ASSERT(json_is(change(a, "size")->actual, "\"medium\""));
	fugue_plan_clear(&plan);

	fugue_live_clear(&live);
	fugue_composition_free(c2);
	fugue_composition_free(c);
}

static void test_replace_delete_then_create(void)
{
	fugue_composition *c = compile(WEBAPP);
	fugue_composition *c2 = webapp_with("cidr: 10.0.0.0/16", "cidr: 10.0.0.0/17");
	fugue_live live = FUGUE_LIVE_INIT;
	fugue_plan plan;
	const fugue_action *a;
	const fugue_change *ch;
	char *text;

	converge(&live, c);
	plan = plan_of(c2, c, &live);
	a = action(&plan, "net");
	CU_ASSERT_EQUAL(a->kind, FUGUE_ACTION_REPLACE);
	CU_ASSERT_FALSE(a->create_before_delete);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(a->reason), "replace, delete then create");
	CU_ASSERT_EQUAL_FATAL(a->nchanges, 1);
	ch = change(a, "cidr");
	CU_ASSERT(ch->forces_replacement);
	CU_ASSERT(json_is(ch->declared, "\"10.0.0.0/17\""));
	CU_ASSERT(json_is(ch->actual, "\"10.0.0.0/16\""));

	/* what references a replaced resource sees a new id: known after apply */
	a = action(&plan, "sub");
	CU_ASSERT_EQUAL(a->kind, FUGUE_ACTION_REPLACE);
	CU_ASSERT_FALSE(a->create_before_delete);
	CU_ASSERT_EQUAL_FATAL(a->nchanges, 1);
	ch = change(a, "network");
	CU_ASSERT(ch->known_after_apply);
	CU_ASSERT(ch->forces_replacement);
	CU_ASSERT(json_is(ch->declared, "\"!ref net\""));
	CU_ASSERT(json_is(ch->actual, "\"id-net\""));

	/* and the server, whose type creates before it deletes */
	a = action(&plan, "web");
	CU_ASSERT_EQUAL(a->kind, FUGUE_ACTION_REPLACE);
	CU_ASSERT(a->create_before_delete);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(a->reason), "replace, create before delete");
	CU_ASSERT(change(a, "subnet")->known_after_apply);
	CU_ASSERT_EQUAL(plan.counts[FUGUE_ACTION_REPLACE], 3);
	text = printed(&plan);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "-/+ web (Fake.Compute.Server): replace, create "
	                                    "before delete\n    subnet: \"id-sub\" -> !ref sub "
	                                    "(known after apply) (forces replacement)\n"));
	free(text);
	fugue_plan_clear(&plan);
	fugue_live_clear(&live);
	fugue_composition_free(c2);
	fugue_composition_free(c);
}

static void test_replace_create_before_delete(void)
{
	fugue_composition *c = compile("resources: {b: {type: Test.Box.Cbd, name: one, size: 1}}");
	fugue_composition *c2 = compile("resources: {b: {type: Test.Box.Cbd, name: two, size: 2}}");
	fugue_composition *c3 = compile("resources: {b: {type: Test.Box.Cbd, name: one, size: 2}}");
	fugue_live live = FUGUE_LIVE_INIT;
	fugue_plan plan;
	const fugue_action *a;

	converge(&live, c);
	plan = plan_of(c2, c, &live);
	a = action(&plan, "b");
	CU_ASSERT_EQUAL(a->kind, FUGUE_ACTION_REPLACE);
	CU_ASSERT(a->create_before_delete);
	CU_ASSERT_EQUAL(a->nchanges, 2);
	CU_ASSERT(change(a, "name")->forces_replacement);
	CU_ASSERT_FALSE(change(a, "size")->forces_replacement);
	fugue_plan_clear(&plan);

	/* an updatable property alone: in place */
	plan = plan_of(c3, c, &live);
	a = action(&plan, "b");
	CU_ASSERT_EQUAL(a->kind, FUGUE_ACTION_UPDATE);
	CU_ASSERT_FALSE(a->create_before_delete);
	fugue_plan_clear(&plan);
	fugue_live_clear(&live);
	fugue_composition_free(c3);
	fugue_composition_free(c2);
	fugue_composition_free(c);
}

static void test_replace_without_update(void)
{
	fugue_composition *c = compile("resources:\n  f: {type: Test.Box.Fixed, size: 1}\n");
	fugue_composition *c2 = compile("resources:\n  f: {type: Test.Box.Fixed, size: 2}\n");
	fugue_live live = FUGUE_LIVE_INIT;
	fugue_plan plan;
	const fugue_action *a;

	converge(&live, c);
	plan = plan_of(c2, c, &live);
	a = action(&plan, "f");
	CU_ASSERT_EQUAL(a->kind, FUGUE_ACTION_REPLACE);
	CU_ASSERT_FALSE(a->create_before_delete);
	CU_ASSERT(change(a, "size")->forces_replacement); /* updatable, but no update() */
	fugue_plan_clear(&plan);
	fugue_live_clear(&live);
	fugue_composition_free(c2);
	fugue_composition_free(c);
}

static void test_type_changed(void)
{
	fugue_composition *c = compile("resources:\n  x: {type: Test.Box.Fixed, size: 1}\n");
	fugue_composition *c2 = compile("resources:\n  x: {type: Test.Box.Cbd, name: x, size: 1}");
	fugue_live live = FUGUE_LIVE_INIT;
	fugue_plan plan;
	const fugue_action *a;

	converge(&live, c);
	plan = plan_of(c2, c, &live);
	a = action(&plan, "x");
	CU_ASSERT_EQUAL(a->kind, FUGUE_ACTION_REPLACE);
	CU_ASSERT_FALSE(a->create_before_delete);
	CU_ASSERT_STRING_EQUAL(a->type, "Test.Box.Cbd");
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(a->reason),
	                       "replace, type changed from Test.Box.Fixed, delete then create");
	fugue_plan_clear(&plan);
	fugue_live_clear(&live);
	fugue_composition_free(c2);
	fugue_composition_free(c);
}

static void test_deleted_outside(void)
{
	fugue_composition *c = compile(WEBAPP);
	fugue_live live = FUGUE_LIVE_INIT;
	fugue_live_entry *e;
	fugue_plan plan;
	const fugue_action *a;

	converge(&live, c);
	e = fugue_live_find(&live, "sub");
	json_object_put(e->state);
	e->state = NULL;
	e->gone = 1;
	plan = plan_of(c, c, &live);
	CU_ASSERT_EQUAL(action(&plan, "net")->kind, FUGUE_ACTION_NONE);
	a = action(&plan, "sub");
	CU_ASSERT_EQUAL(a->kind, FUGUE_ACTION_CREATE);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(a->reason), "deleted outside Fugue");
	/* the server was in it: a new subnet means a new server */
	a = action(&plan, "web");
	CU_ASSERT_EQUAL(a->kind, FUGUE_ACTION_REPLACE);
	CU_ASSERT(change(a, "subnet")->known_after_apply);
	fugue_plan_clear(&plan);
	fugue_live_clear(&live);
	fugue_composition_free(c);
}

/* ==== deletes ================================================================== */

static void test_delete_undeclared(void)
{
	fugue_composition *prev = compile(WEBAPP);
	fugue_composition *c = compile("resources:\n" NETWORK);
	fugue_live live = FUGUE_LIVE_INIT;
	fugue_live_entry *stray;
	fugue_plan plan;

	converge(&live, prev);
	stray = fugue_live_ensure(&live, "stray", "Fake.Net.Network");
	CU_ASSERT_PTR_NOT_NULL_FATAL(stray);

	plan = plan_of(c, prev, &live);
	CU_ASSERT_EQUAL_FATAL(plan.nactions, 4);
	CU_ASSERT_STRING_EQUAL(plan.actions[0].resource, "net");
	CU_ASSERT_EQUAL(plan.actions[0].kind, FUGUE_ACTION_NONE);
	/* dependents first, then what the previous composition did not know */
	CU_ASSERT_STRING_EQUAL(plan.actions[1].resource, "web");
	CU_ASSERT_STRING_EQUAL(plan.actions[2].resource, "sub");
	CU_ASSERT_STRING_EQUAL(plan.actions[3].resource, "stray");
	CU_ASSERT_EQUAL(plan.actions[1].kind, FUGUE_ACTION_DELETE);
	CU_ASSERT_EQUAL(plan.actions[2].kind, FUGUE_ACTION_DELETE);
	CU_ASSERT_EQUAL(plan.actions[3].kind, FUGUE_ACTION_DELETE);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(plan.actions[1].reason), "no longer declared");
	CU_ASSERT_STRING_EQUAL(plan.actions[1].type, "Fake.Compute.Server");
	CU_ASSERT_EQUAL_FATAL(plan.actions[2].ndeps, 1);
	CU_ASSERT_STRING_EQUAL(plan.actions[2].deps[0], "net");
	CU_ASSERT_EQUAL(plan.actions[3].ndeps, 0);
	CU_ASSERT_EQUAL(plan.counts[FUGUE_ACTION_DELETE], 3);
	fugue_plan_clear(&plan);

	/* without the previous composition: by name */
	plan = plan_of(c, NULL, &live);
	CU_ASSERT_EQUAL_FATAL(plan.nactions, 4);
	CU_ASSERT_STRING_EQUAL(plan.actions[1].resource, "stray");
	CU_ASSERT_STRING_EQUAL(plan.actions[2].resource, "sub");
	CU_ASSERT_STRING_EQUAL(plan.actions[3].resource, "web");
	CU_ASSERT_EQUAL(plan.actions[3].ndeps, 0);
	fugue_plan_clear(&plan);
	fugue_live_clear(&live);
	fugue_composition_free(c);
	fugue_composition_free(prev);
}

/* A duplicate ("NAME~ID", compiler.h) is deleted with its origin's
 * dependencies and a reason that says whose duplicate it is, whether the
 * origin is declared (converge) or not (kill). */
static void test_delete_duplicate(void)
{
	fugue_composition *c = compile(WEBAPP);
	fugue_live live = FUGUE_LIVE_INIT;
	const fugue_action *a;
	fugue_plan plan;

	converge(&live, c);
	CU_ASSERT_PTR_NOT_NULL_FATAL(fugue_live_ensure(&live, "sub~subnet-2", "Fake.Net.Subnet"));
	CU_ASSERT_PTR_EQUAL(fugue_composition_origin(c, "sub~subnet-2"),
	                    fugue_composition_find(c, "sub"));
	CU_ASSERT_PTR_NULL(fugue_composition_origin(c, "su~subnet-2"));

	plan = plan_of(c, NULL, &live);
	a = fugue_plan_find(&plan, "sub~subnet-2");
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_EQUAL(a->kind, FUGUE_ACTION_DELETE);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(a->reason), "a duplicate of sub (same tags, another id)");
	CU_ASSERT_EQUAL_FATAL(a->ndeps, 1);
	CU_ASSERT_STRING_EQUAL(a->deps[0], "net");
	CU_ASSERT_EQUAL(plan.counts[FUGUE_ACTION_DELETE], 1);
	fugue_plan_clear(&plan);

	plan = plan_of(NULL, c, &live);
	a = fugue_plan_find(&plan, "sub~subnet-2");
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_EQUAL_FATAL(a->ndeps, 1);
	CU_ASSERT_STRING_EQUAL(a->deps[0], "net");
	CU_ASSERT_EQUAL(plan.counts[FUGUE_ACTION_DELETE], 4);
	fugue_plan_clear(&plan);
	fugue_live_clear(&live);
	fugue_composition_free(c);
}

static void test_kill(void)
{
	fugue_composition *prev = compile(WEBAPP);
	fugue_live live = FUGUE_LIVE_INIT;
	fugue_plan plan;
	char *text;

	converge(&live, prev);
	plan = plan_of(NULL, prev, &live);
	CU_ASSERT_EQUAL_FATAL(plan.nactions, 3);
	CU_ASSERT_STRING_EQUAL(plan.actions[0].resource, "web");
	CU_ASSERT_STRING_EQUAL(plan.actions[1].resource, "sub");
	CU_ASSERT_STRING_EQUAL(plan.actions[2].resource, "net");
	CU_ASSERT_EQUAL(plan.counts[FUGUE_ACTION_DELETE], 3);
	text = printed(&plan);
	CU_ASSERT_STRING_EQUAL(text,
	                       "- web (Fake.Compute.Server): no longer declared\n"
	                       "- sub (Fake.Net.Subnet): no longer declared\n"
	                       "- net (Fake.Net.Network): no longer declared\n"
	                       "\n"
	                       "Plan: 0 to create, 0 to update, 0 to replace, 3 to delete.\n");
	free(text);
	fugue_plan_clear(&plan);
	fugue_live_clear(&live);

	/* nothing known: nothing to do */
	plan = plan_of(NULL, prev, &live);
	CU_ASSERT_EQUAL(plan.nactions, 0);
	CU_ASSERT(fugue_plan_is_empty(&plan));
	fugue_plan_clear(&plan);
	fugue_composition_free(prev);
}

/* ==== how properties are compared ================================================= */

static void test_write_only(void)
{
	fugue_composition *c = compile(WEBAPP);
	fugue_composition *c2 = webapp_with("userData: echo hello", "userData: echo bye");
	fugue_live live = FUGUE_LIVE_INIT;
	fugue_plan plan;
	const fugue_action *a;

	converge(&live, c);
	/* AWS never returns it: compared with what was applied */
	plan = plan_of(c2, c, &live);
	a = action(&plan, "web");
	CU_ASSERT_EQUAL(a->kind, FUGUE_ACTION_UPDATE);
	CU_ASSERT_EQUAL(a->nchanges, 1);
	CU_ASSERT(json_is(change(a, "userData")->declared, "\"echo bye\""));
	CU_ASSERT(json_is(change(a, "userData")->actual, "\"echo hello\""));
	fugue_plan_clear(&plan);

	/* even when an observation has it, it is not diffed against it */
	set_observed(&live, "web", "userData", "\"something else\"");
	plan = plan_of(c, c, &live);
	CU_ASSERT(fugue_plan_is_empty(&plan));
	fugue_plan_clear(&plan);

	/* no record of what was applied: not compared at all */
	json_object_put(fugue_live_find(&live, "web")->applied);
	fugue_live_find(&live, "web")->applied = NULL;
	plan = plan_of(c2, c, &live);
	CU_ASSERT_EQUAL(action(&plan, "web")->kind, FUGUE_ACTION_NONE);
	fugue_plan_clear(&plan);
	fugue_live_clear(&live);
	fugue_composition_free(c2);
	fugue_composition_free(c);
}

static void assert_no_secret(const fugue_plan *plan)
{
	char *text = printed(plan);
	char *json = json_text(plan);

	CU_ASSERT_PTR_NULL(strstr(text, "hunter2"));
	CU_ASSERT_PTR_NULL(strstr(json, "hunter2"));
	free(text);
	free(json);
}

static void test_sensitive(void)
{
	fugue_composition *c = compile(WEBAPP);
	fugue_composition *c2 = webapp_with("password: hunter2-pw", "password: hunter2-new");
	fugue_live live = FUGUE_LIVE_INIT;
	fugue_plan plan;
	const fugue_action *a;
	const fugue_change *ch;

	plan = plan_of(c, NULL, &live);
	assert_no_secret(&plan);
	fugue_plan_clear(&plan);

	converge(&live, c);
	plan = plan_of(c2, c, &live);
	a = action(&plan, "web");
	CU_ASSERT_EQUAL(a->kind, FUGUE_ACTION_UPDATE);
	CU_ASSERT_EQUAL_FATAL(a->nchanges, 1);
	ch = change(a, "password");
	CU_ASSERT(json_is(ch->declared, "\"(sensitive)\""));
	CU_ASSERT(json_is(ch->actual, "\"(sensitive)\""));
	assert_no_secret(&plan);
	fugue_plan_clear(&plan);

	/* observed as stored (a digest): still compared, still masked */
	as_stored(&live, c, "web");
	plan = plan_of(c2, c, &live);
	CU_ASSERT_EQUAL(action(&plan, "web")->kind, FUGUE_ACTION_UPDATE);
	assert_no_secret(&plan);
	fugue_plan_clear(&plan);

	/* only the applied digest: the same */
	set_observed(&live, "web", "password", NULL);
	plan = plan_of(c2, c, &live);
	CU_ASSERT_EQUAL(action(&plan, "web")->kind, FUGUE_ACTION_UPDATE);
	fugue_plan_clear(&plan);
	plan = plan_of(c, c, &live);
	CU_ASSERT(fugue_plan_is_empty(&plan));
	fugue_plan_clear(&plan);
	fugue_live_clear(&live);
	fugue_composition_free(c2);
	fugue_composition_free(c);
}

static void test_sensitive_nested(void)
{
	fugue_composition *c = compile("resources:\n  f:\n    type: Test.Box.Fixed\n"
	                               "    login: {user: admin, password: hunter2-a}\n");
	fugue_composition *c2 = compile("resources:\n  f:\n    type: Test.Box.Fixed\n"
	                                "    login: {user: admin, password: hunter2-b}\n");
	fugue_live live = FUGUE_LIVE_INIT;
	fugue_plan plan;
	const fugue_action *a;

	converge(&live, c);
	plan = plan_of(c, c, &live);
	CU_ASSERT(fugue_plan_is_empty(&plan));
	fugue_plan_clear(&plan);

	plan = plan_of(c2, c, &live);
	a = action(&plan, "f");
	CU_ASSERT_EQUAL(a->kind, FUGUE_ACTION_REPLACE);
	CU_ASSERT(json_is(change(a, "login")->declared,
	                  "{\"user\": \"admin\", \"password\": \"(sensitive)\"}"));
	CU_ASSERT(json_is(change(a, "login")->actual,
	                  "{\"user\": \"admin\", \"password\": \"(sensitive)\"}"));
	assert_no_secret(&plan);
	fugue_plan_clear(&plan);

	as_stored(&live, c, "f");
	plan = plan_of(c, c, &live);
	CU_ASSERT(fugue_plan_is_empty(&plan));
	fugue_plan_clear(&plan);
	plan = plan_of(c2, c, &live);
	CU_ASSERT_EQUAL(action(&plan, "f")->kind, FUGUE_ACTION_REPLACE);
	assert_no_secret(&plan);
	fugue_plan_clear(&plan);
	fugue_live_clear(&live);
	fugue_composition_free(c2);
	fugue_composition_free(c);
}

static void test_known_after_apply(void)
{
	fugue_composition *c = compile(WEBAPP);
	fugue_composition *c2;
	fugue_live live = FUGUE_LIVE_INIT;
	fugue_plan plan;
	const fugue_action *a;
	const fugue_change *ch;
	char *json;

	/* the subnet moves to a network that does not exist yet */
	c2 = compile("resources:\n" NETWORK "  net2: {type: Fake.Net.Network, cidr: 10.0.0.0/16}\n"
	             "  sub: {type: Fake.Net.Subnet, network: !ref net2, cidr: 10.0.1.0/24}\n" WEB);
	converge(&live, c);
	plan = plan_of(c2, c, &live);
	CU_ASSERT_EQUAL(action(&plan, "net2")->kind, FUGUE_ACTION_CREATE);
	a = action(&plan, "sub");
	CU_ASSERT_EQUAL(a->kind, FUGUE_ACTION_REPLACE);
	ch = change(a, "network");
	CU_ASSERT(ch->known_after_apply);
	CU_ASSERT(json_is(ch->declared, "\"!ref net2\""));
	CU_ASSERT(json_is(ch->actual, "\"id-net\""));
	/* an existing resource's id is known: net itself is untouched */
	CU_ASSERT_EQUAL(action(&plan, "net")->kind, FUGUE_ACTION_NONE);
	json = json_text(&plan);
	CU_ASSERT_PTR_NOT_NULL(strstr(json, "{\"property\":\"network\",\"declared\":\"!ref net2\","
	                                    "\"actual\":\"id-net\",\"knownAfterApply\":true,"
	                                    "\"forcesReplacement\":true}"));
	free(json);
	fugue_plan_clear(&plan);

	/* a reference to what exists is compared by its value, and shown so */
	set_observed(&live, "sub", "network", "\"net-other\"");
	plan = plan_of(c, c, &live);
	a = action(&plan, "sub");
	CU_ASSERT_EQUAL(a->kind, FUGUE_ACTION_REPLACE);
	ch = change(a, "network");
	CU_ASSERT_FALSE(ch->known_after_apply);
	CU_ASSERT(json_is(ch->declared, "\"id-net\""));
	CU_ASSERT(json_is(ch->actual, "\"net-other\""));
	fugue_plan_clear(&plan);
	fugue_live_clear(&live);
	fugue_composition_free(c2);
	fugue_composition_free(c);
}

static void test_compare_callback(void)
{
	fugue_composition *c = compile("resources:\n  b: {type: Test.Box.Cbd, name: one, size: 3,"
	                               " policy: ALLOW}\n");
	fugue_live live = FUGUE_LIVE_INIT;
	fugue_plan plan;
	const fugue_action *a;

	converge(&live, c);
	set_observed(&live, "b", "policy", "\"allow\"");
	compare_calls = 0;
	plan = plan_of(c, c, &live);
	CU_ASSERT(fugue_plan_is_empty(&plan));
	CU_ASSERT(compare_calls > 0);
	fugue_plan_clear(&plan);

	set_observed(&live, "b", "policy", "\"deny\"");
	plan = plan_of(c, c, &live);
	a = action(&plan, "b");
	CU_ASSERT_EQUAL(a->kind, FUGUE_ACTION_UPDATE);
	CU_ASSERT(json_is(change(a, "policy")->actual, "\"deny\""));
	fugue_plan_clear(&plan);
	fugue_live_clear(&live);
	fugue_composition_free(c);
}

static void test_numbers_and_unset(void)
{
	fugue_composition *c = compile("resources:\n  f: {type: Test.Box.Fixed, size: 3}\n");
	fugue_composition *web = compile(WEBAPP);
	fugue_composition *web2 = webapp_with("    tags: {team: blue}\n", "");
	fugue_live live = FUGUE_LIVE_INIT;
	fugue_plan plan;
	const fugue_action *a;
	char *text;

	/* AWS answers 3.0 for 3 */
	converge(&live, c);
	set_observed(&live, "f", "size", "3.0");
	plan = plan_of(c, c, &live);
	CU_ASSERT(fugue_plan_is_empty(&plan));
	fugue_plan_clear(&plan);
	fugue_live_clear(&live);

	/* declared before, not any more */
	converge(&live, web);
	plan = plan_of(web2, web, &live);
	a = action(&plan, "web");
	CU_ASSERT_EQUAL(a->kind, FUGUE_ACTION_UPDATE);
	CU_ASSERT_EQUAL_FATAL(a->nchanges, 1);
	CU_ASSERT_PTR_NULL(change(a, "tags")->declared);
	CU_ASSERT(json_is(change(a, "tags")->actual, "{\"team\": \"blue\"}"));
	text = printed(&plan);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "    tags: {\"team\":\"blue\"} -> (unset)\n"));
	free(text);
	fugue_plan_clear(&plan);
	fugue_live_clear(&live);
	fugue_composition_free(web2);
	fugue_composition_free(web);
	fugue_composition_free(c);
}

/* ==== output ======================================================================== */

static const char SMALL_BEFORE[] = "resources:\n" NETWORK
	"  old: {type: Fake.Net.Subnet, network: !ref net, cidr: 10.0.9.0/24}\n"
	"  b: {type: Test.Box.Cbd, name: one}\n";

static const char SMALL_AFTER[] = "resources:\n"
	"  net: {type: Fake.Net.Network, cidr: 10.0.0.0/16, name: prod}\n" SUBNET
	"  b: {type: Test.Box.Cbd, name: two}\n";

static void small_plan(fugue_plan *plan, fugue_live *live, fugue_composition **before,
                       fugue_composition **after)
{
	*before = compile(SMALL_BEFORE);
	*after = compile(SMALL_AFTER);
	converge(live, *before);
	*plan = plan_of(*after, *before, live);
}

static void test_print(void)
{
	fugue_composition *before;
	fugue_composition *after;
	fugue_live live = FUGUE_LIVE_INIT;
	fugue_plan plan;
	char *text;

	small_plan(&plan, &live, &before, &after);
	text = printed(&plan);
	CU_ASSERT_STRING_EQUAL(text,
	                       "~ net (Fake.Net.Network): 1 property changed\n"
	                       "    name: \"main\" -> \"prod\"\n"
	                       "+ sub (Fake.Net.Subnet): not created yet\n"
	                       "-/+ b (Test.Box.Cbd): replace, create before delete\n"
	                       "    name: \"one\" -> \"two\" (forces replacement)\n"
	                       "- old (Fake.Net.Subnet): no longer declared\n"
	                       "\n"
	                       "Plan: 1 to create, 1 to update, 1 to replace, 1 to delete.\n");
	free(text);
	CU_ASSERT_STRING_EQUAL(fugue_action_kind_name(FUGUE_ACTION_REPLACE), "replace");
	CU_ASSERT_STRING_EQUAL(fugue_action_kind_symbol(FUGUE_ACTION_REPLACE), "-/+");
	CU_ASSERT_STRING_EQUAL(fugue_action_kind_symbol(FUGUE_ACTION_CREATE), "+ ");
	fugue_plan_clear(&plan);
	fugue_live_clear(&live);
	fugue_composition_free(after);
	fugue_composition_free(before);
}

static void test_json(void)
{
	fugue_composition *before;
	fugue_composition *after;
	fugue_live live = FUGUE_LIVE_INIT;
	fugue_plan plan;
	struct json_object *j = NULL;

	small_plan(&plan, &live, &before, &after);
	CU_ASSERT_EQUAL_FATAL(fugue_plan_to_json(&j, &plan), 0);
	CU_ASSERT(json_is(j,
		"{\"actions\": ["
		" {\"resource\": \"net\", \"type\": \"Fake.Net.Network\", \"action\": \"update\","
		"  \"reason\": \"1 property changed\", \"createBeforeDelete\": false,"
		"  \"changes\": [{\"property\": \"name\", \"declared\": \"prod\","
		"   \"actual\": \"main\","
		"   \"knownAfterApply\": false, \"forcesReplacement\": false}], \"deps\": []},"
		" {\"resource\": \"sub\", \"type\": \"Fake.Net.Subnet\", \"action\": \"create\","
		"  \"reason\": \"not created yet\", \"createBeforeDelete\": false, \"changes\": [],"
		"  \"deps\": [\"net\"]},"
		" {\"resource\": \"b\", \"type\": \"Test.Box.Cbd\", \"action\": \"replace\","
		"  \"reason\": \"replace, create before delete\", \"createBeforeDelete\": true,"
		"  \"changes\": [{\"property\": \"name\", \"declared\": \"two\","
		"   \"actual\": \"one\","
		"   \"knownAfterApply\": false, \"forcesReplacement\": true}], \"deps\": []},"
		" {\"resource\": \"old\", \"type\": \"Fake.Net.Subnet\", \"action\": \"delete\","
		"  \"reason\": \"no longer declared\", \"createBeforeDelete\": false,"
		"  \"changes\": [],"
		"  \"deps\": [\"net\"]}],"
		" \"summary\": {\"create\": 1, \"update\": 1, \"replace\": 1, \"delete\": 1,"
		"  \"none\": 0}}"));
	json_object_put(j);
	fugue_plan_clear(&plan);

	/* none actions are in the JSON form */
	fugue_live_clear(&live);
	converge(&live, after);
	plan = plan_of(after, after, &live);
	CU_ASSERT_EQUAL_FATAL(fugue_plan_to_json(&j, &plan), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(text_of(j), "\"action\":\"none\""));
	json_object_put(j);
	fugue_plan_clear(&plan);
	fugue_live_clear(&live);
	fugue_composition_free(after);
	fugue_composition_free(before);
}

int fugue_test_register(void)
{
	CU_pSuite declared = CU_add_suite("declared", suite_init, suite_cleanup);
	CU_pSuite deletes = CU_add_suite("deletes", suite_init, suite_cleanup);
	CU_pSuite compare = CU_add_suite("compare", suite_init, suite_cleanup);
	CU_pSuite output = CU_add_suite("output", suite_init, suite_cleanup);

	if (!declared || !deletes || !compare || !output)
		return 1;
	if (!CU_add_test(declared, "create when new", test_create_new) ||
	    !CU_add_test(declared, "none when equal", test_none_when_equal) ||
	    !CU_add_test(declared, "update", test_update) ||
	    !CU_add_test(declared, "replace, delete then create",
	                 test_replace_delete_then_create) ||
	    !CU_add_test(declared, "replace, create before delete",
	                 test_replace_create_before_delete) ||
	    !CU_add_test(declared, "replace without update()", test_replace_without_update) ||
	    !CU_add_test(declared, "type changed", test_type_changed) ||
	    !CU_add_test(declared, "deleted outside Fugue", test_deleted_outside) ||
	    !CU_add_test(deletes, "undeclared, reverse order", test_delete_undeclared) ||
	    !CU_add_test(deletes, "a duplicate, with its origin's dependencies", test_delete_duplicate) ||
	    !CU_add_test(deletes, "kill", test_kill) ||
	    !CU_add_test(compare, "write-only", test_write_only) ||
	    !CU_add_test(compare, "sensitive", test_sensitive) ||
	    !CU_add_test(compare, "sensitive, nested", test_sensitive_nested) ||
	    !CU_add_test(compare, "known after apply", test_known_after_apply) ||
	    !CU_add_test(compare, "compare()", test_compare_callback) ||
	    !CU_add_test(compare, "numbers, unset", test_numbers_and_unset) ||
	    !CU_add_test(output, "print", test_print) ||
	    !CU_add_test(output, "json", test_json))
		return 1;
	return 0;
}
