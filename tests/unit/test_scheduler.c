/* test_scheduler.c - fugue_execute against the fake planner (a cloud in a
 * directory) and a small in-memory planner: DAG order, measured
 * parallelism, per-planner limits, failure isolation, retries, cancellation,
 * the journal, resource records, client tokens and replacements.
 *
 * Every test gets a fresh fake service directory (FUGUE_FAKE_DIR, read when
 * the planner loads), a fresh registry, state store and process. Plans are
 * built by hand so that each test says exactly what it asks the scheduler
 * to do. The fake .so comes from CTest (FUGUE_TEST_FAKE_SO). */
#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "compiler.h"
#include "fugue/log.h"
#include "host.h"
#include "live.h"
#include "plan.h"
#include "pool.h"
#include "registry.h"
#include "scheduler.h"
#include "state.h"
#include "testmain.h"

/* ==== fixture ================================================================ */

static char *g_fake;      /* FUGUE_FAKE_DIR */
static char *g_planners;  /* a link to the fake .so */
static char *g_statedir;
static fugue_registry *g_reg;
static fugue_state *g_st;
static fugue_pool *g_pool;
static fugue_live g_live;
static char g_fid[FUGUE_FID_SIZE];

static const fugue_planner mem_planner;

static void setup(void)
{
	const char *so = fugue_test_require_env("FUGUE_TEST_FAKE_SO",
	                                        "run me through ctest (tests/CMakeLists.txt)");
	fugue_state_process_spec spec = { 0 };
	fugue_state_diag diag = { "" };
	char *link;
	char *target = realpath(so, NULL);

	g_fake = fugue_test_tmpdir();
	g_planners = fugue_test_tmpdir();
	g_statedir = fugue_test_tmpdir();
	setenv("FUGUE_FAKE_DIR", g_fake, 1);
	if (!target || asprintf(&link, "%s/fake.so", g_planners) < 0 || symlink(target, link) != 0)
		abort();
	free(link);
	free(target);
	if (fugue_registry_new(&g_reg, fugue_kernel_host()) != 0 ||
	    fugue_registry_load_dir(g_reg, g_planners, NULL) != 0 ||
	    fugue_registry_add(g_reg, &mem_planner, "test") != 0)
		abort();
	if (fugue_state_open(&g_st, g_statedir, &diag) != 0) {
		fprintf(stderr, "setup: %s\n", diag.message);
		abort();
	}
	spec.source = "resources: {}";
	spec.owner_uid = FUGUE_STATE_NO_UID;
	if (fugue_state_process_create(g_fid, g_st, &spec, &diag) != 0)
		abort();
	if (fugue_pool_new(&g_pool, 4) != 0)
		abort();
	memset(&g_live, 0, sizeof(g_live));
}

static void teardown(void)
{
	fugue_pool_free(g_pool);
	fugue_live_clear(&g_live);
	fugue_state_close(g_st);
	fugue_registry_free(g_reg);
	fugue_test_rmtree(g_fake);
	fugue_test_rmtree(g_planners);
	fugue_test_rmtree(g_statedir);
	free(g_fake);
	free(g_planners);
	free(g_statedir);
	unsetenv("FUGUE_FAKE_DIR");
}

static fugue_composition *compile(const char *text)
{
	fugue_compile_options opts = FUGUE_COMPILE_OPTIONS_INIT;
	fugue_diags d = FUGUE_DIAGS_INIT;
	fugue_composition *c = NULL;

	opts.registry = g_reg;
	if (fugue_compile_buffer(&c, &d, &opts, "test.yaml", text, strlen(text)) != 0) {
		fugue_diags_print(stderr, &d);
		abort();
	}
	fugue_diags_clear(&d);
	return c;
}

/* ==== hand-made plans ============================================================= */

static char *xstrdup(const char *s)
{
	char *c = strdup(s);

	if (!c)
		abort();
	return c;
}

/* Appends an action; DEPS is a comma-separated list of names, or NULL. */
static fugue_action *plan_add(fugue_plan *p, const char *name, const char *type,
                              fugue_action_kind kind, const char *deps)
{
	fugue_action *a;
	char *copy, *tok, *save = NULL;

	p->actions = realloc(p->actions, (p->nactions + 1) * sizeof(*p->actions));
	if (!p->actions)
		abort();
	a = &p->actions[p->nactions++];
	memset(a, 0, sizeof(*a));
	a->resource = xstrdup(name);
	a->type = xstrdup(type);
	a->kind = kind;
	a->reason = xstrdup("test");
	p->counts[kind]++;
	if (!deps)
		return a;
	copy = xstrdup(deps);
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		a->deps = realloc(a->deps, (a->ndeps + 1) * sizeof(*a->deps));
		if (!a->deps)
			abort();
		a->deps[a->ndeps++] = xstrdup(tok);
	}
	free(copy);
	return a;
}

static void plan_change(fugue_action *a, const char *property)
{
	a->changes = realloc(a->changes, (a->nchanges + 1) * sizeof(*a->changes));
	if (!a->changes)
		abort();
	memset(&a->changes[a->nchanges], 0, sizeof(a->changes[0]));
	a->changes[a->nchanges++].property = xstrdup(property);
}

/* KIND for every resource of C, dependencies first (deletes: last first). */
static void plan_all(fugue_plan *p, const fugue_composition *c, fugue_action_kind kind)
{
	size_t i, k;

	for (i = 0; i < c->nresources; i++) {
		size_t last = c->nresources - 1 - i;
		size_t at = kind == FUGUE_ACTION_DELETE ? c->order[last] : c->order[i];
		const fugue_resource *r = &c->resources[at];
		char deps[1024] = "";

		for (k = 0; k < r->ndeps; k++) {
			if (k > 0)
				strcat(deps, ",");
			strcat(deps, c->resources[r->deps[k]].name);
		}
		plan_add(p, r->name, r->type_name, kind, r->ndeps ? deps : NULL);
	}
}

static void plan_free(fugue_plan *p)
{
	size_t i, k;

	for (i = 0; i < p->nactions; i++) {
		fugue_action *a = &p->actions[i];

		free(a->resource);
		free(a->type);
		free(a->reason);
		for (k = 0; k < a->nchanges; k++) {
			free(a->changes[k].property);
			json_object_put(a->changes[k].declared);
			json_object_put(a->changes[k].actual);
		}
		free(a->changes);
		for (k = 0; k < a->ndeps; k++)
			free(a->deps[k]);
		free(a->deps);
	}
	free(p->actions);
	memset(p, 0, sizeof(*p));
}

/* ==== events =================================================================== */

#define MAX_EVENTS 512

struct events {
	pthread_mutex_t mutex;
	char *lines[MAX_EVENTS];      /* "phase action resource" */
	size_t n;
	atomic_int inside;            /* callbacks running now */
	atomic_int overlapped;        /* two callbacks ran at once */
	atomic_int server_starts;
};

static struct events g_ev;

static void events_reset(void)
{
	size_t i;

	for (i = 0; i < g_ev.n; i++)
		free(g_ev.lines[i]);
	g_ev.n = 0;
	atomic_store(&g_ev.overlapped, 0);
	atomic_store(&g_ev.server_starts, 0);
}

static void on_event(const fugue_sched_event *ev, void *payload)
{
	struct timespec t = { 0, 200000 };
	char *line;

	(void)payload;
	if (atomic_fetch_add(&g_ev.inside, 1) != 0)
		atomic_store(&g_ev.overlapped, 1);
	if (asprintf(&line, "%s %s %s", fugue_sched_phase_name(ev->phase), ev->action,
	             ev->resource) < 0)
		abort();
	pthread_mutex_lock(&g_ev.mutex);
	if (g_ev.n < MAX_EVENTS)
		g_ev.lines[g_ev.n++] = line;
	else
		free(line);
	pthread_mutex_unlock(&g_ev.mutex);
	if (ev->phase == FUGUE_SCHED_START && strcmp(ev->type, "Fake.Compute.Server") == 0)
		atomic_fetch_add(&g_ev.server_starts, 1);
	nanosleep(&t, NULL); /* widen the window in which an overlap would show */
	atomic_fetch_sub(&g_ev.inside, 1);
}

/* The index of the first event LINE, or -1. */
static long event_at(const char *line)
{
	size_t i;

	for (i = 0; i < g_ev.n; i++) {
		if (strcmp(g_ev.lines[i], line) == 0)
			return (long)i;
	}
	return -1;
}

static size_t event_count(const char *prefix)
{
	size_t i, n = 0;

	for (i = 0; i < g_ev.n; i++)
		n += strncmp(g_ev.lines[i], prefix, strlen(prefix)) == 0;
	return n;
}

/* Event A came before event B, both present. */
static int before(const char *a, const char *b)
{
	long ia = event_at(a);
	long ib = event_at(b);

	if (ia < 0 || ib < 0) {
		fprintf(stderr, "missing event: %s\n", ia < 0 ? a : b);
		return 0;
	}
	return ia < ib;
}

/* ==== running ==================================================================== */

static fugue_exec_options options(const fugue_plan *p, const fugue_composition *declared,
                                  const fugue_composition *previous)
{
	fugue_exec_options o = FUGUE_EXEC_OPTIONS_INIT;

	o.fid = g_fid;
	o.plan = p;
	o.declared = declared;
	o.previous = previous;
	o.registry = g_reg;
	o.live = &g_live;
	o.state = g_st;
	o.pool = g_pool;
	o.retry_base_ms = 10;
	o.on_event = on_event;
	events_reset();
	return o;
}

/* ==== looking at the fake service and the store ====================================== */

/* Member KEY of O as a string, "(null)" when it is not one. */
static const char *str_of(struct json_object *o, const char *key)
{
	return fugue_test_nn(json_object_get_string(json_object_object_get(o, key)));
}

/* The fake's resource records of TYPE (NULL: all), as an array (caller puts). */
static struct json_object *fake_resources(const char *type)
{
	struct json_object *all = json_object_new_array();
	struct dirent *de;
	DIR *d = opendir(g_fake);

	while (d && (de = readdir(d)) != NULL) {
		size_t n = strlen(de->d_name);
		struct json_object *rec;
		char *path;

		if (de->d_name[0] == '_' || de->d_name[0] == '.' || n < 6 ||
		    strcmp(de->d_name + n - 5, ".json") != 0)
			continue;
		if (asprintf(&path, "%s/%s", g_fake, de->d_name) < 0)
			abort();
		rec = json_object_from_file(path);
		free(path);
		if (!rec)
			continue;
		if (!type || strcmp(str_of(rec, "type"), type) == 0)
			json_object_array_add(all, rec);
		else
			json_object_put(rec);
	}
	if (d)
		closedir(d);
	return all;
}

static size_t fake_count(const char *type)
{
	struct json_object *all = fake_resources(type);
	size_t n = json_object_array_length(all);

	json_object_put(all);
	return n;
}

/* The fake's record with id ID (caller puts), or NULL. */
static struct json_object *fake_get(const char *id)
{
	char *path;
	struct json_object *rec;

	if (!id || asprintf(&path, "%s/%s.json", g_fake, id) < 0)
		return NULL;
	rec = json_object_from_file(path);
	free(path);
	return rec;
}

/* Calls of OP on TYPE the fake counted. */
static long fake_calls(const char *op, const char *type)
{
	char *path;
	struct json_object *calls, *per_op, *n;
	long v = 0;

	if (asprintf(&path, "%s/_calls.json", g_fake) < 0)
		abort();
	calls = json_object_from_file(path);
	free(path);
	if (calls && json_object_object_get_ex(calls, op, &per_op) &&
	    json_object_object_get_ex(per_op, type, &n))
		v = (long)json_object_get_int64(n);
	json_object_put(calls);
	return v;
}

static void faults(const char *json)
{
	free(fugue_test_write_file(g_fake, "_faults.json", json));
}

static size_t open_journal(void)
{
	fugue_state_journal *list = NULL;
	size_t n = 0;

	CU_ASSERT_EQUAL(fugue_state_journal_open_entries(&list, &n, g_st, NULL), 0);
	fugue_state_journal_list_free(list, n);
	return n;
}

/* How many finished journal entries there are (and forgets them). */
static size_t finished_journal(void)
{
	size_t n = 0;

	CU_ASSERT_EQUAL(fugue_state_journal_prune(&n, g_st, INT64_MAX, NULL), 0);
	return n;
}

static fugue_resource_status record_status(const char *name, char **aws_id)
{
	fugue_state_resource r;
	fugue_resource_status s;

	if (aws_id)
		*aws_id = NULL;
	if (fugue_state_resource_get(&r, g_st, g_fid, name, NULL) != 0)
		return (fugue_resource_status)-1;
	s = r.status;
	if (aws_id && r.aws_id)
		*aws_id = xstrdup(r.aws_id);
	fugue_state_resource_clear(&r);
	return s;
}

static int has_record(const char *name)
{
	fugue_state_resource r;

	if (fugue_state_resource_get(&r, g_st, g_fid, name, NULL) != 0)
		return 0;
	fugue_state_resource_clear(&r);
	return 1;
}

static const fugue_exec_outcome *outcome(const fugue_exec_result *res, const char *name,
                                         fugue_action_kind kind)
{
	size_t i;

	for (i = 0; i < res->n; i++) {
		if (strcmp(res->outcomes[i].resource, name) == 0 && res->outcomes[i].kind == kind)
			return &res->outcomes[i];
	}
	return NULL;
}

static long outcome_result(const fugue_exec_result *res, const char *name, fugue_action_kind kind)
{
	const fugue_exec_outcome *o = outcome(res, name, kind);

	return o ? o->result : 12345;
}

/* ==== compositions ================================================================= */

static const char *const NETWORK_ONLY =
	"resources:\n"
	"  net:\n"
	"    type: Fake.Net.Network\n"
	"    cidr: 10.0.0.0/16\n";

static const char *const SMALL =
	"tags:\n"
	"  team: web\n"
	"resources:\n"
	"  web-1:\n"
	"    type: Fake.Compute.Server\n"
	"    subnet: !ref subnet\n"
	"    password: hunter2-secret\n"
	"    userData: echo hello\n"
	"  web-2:\n"
	"    type: Fake.Compute.Server\n"
	"    subnet: !ref subnet\n"
	"  subnet:\n"
	"    type: Fake.Net.Subnet\n"
	"    network: !ref net\n"
	"    cidr: 10.0.1.0/24\n"
	"  net:\n"
	"    type: Fake.Net.Network\n"
	"    cidr: 10.0.0.0/16\n";

/* A network, a subnet and N servers named s1..sN. */
static fugue_composition *servers(int n)
{
	char text[8192];
	size_t len;
	int i;

	len = (size_t)snprintf(text, sizeof(text),
	                       "resources:\n"
	                       "  net:\n    type: Fake.Net.Network\n    cidr: 10.0.0.0/16\n"
	                       "  subnet:\n    type: Fake.Net.Subnet\n    network: !ref net\n"
	                       "    cidr: 10.0.1.0/24\n");
	for (i = 1; i <= n; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len,
		                        "  s%d:\n    type: Fake.Compute.Server\n"
		                        "    subnet: !ref subnet\n", i);
	return compile(text);
}

/* Runs creates of everything in C; asserts success. */
static void create_all(const fugue_composition *c)
{
	fugue_plan p = FUGUE_PLAN_INIT;
	fugue_exec_options o;
	fugue_exec_result res;

	plan_all(&p, c, FUGUE_ACTION_CREATE);
	o = options(&p, c, NULL);
	CU_ASSERT_EQUAL(fugue_execute(&res, &o), 0);
	CU_ASSERT_EQUAL(res.done, c->nresources);
	fugue_exec_result_clear(&res);
	plan_free(&p);
}

/* ==== tests ===================================================================== */

static void test_create_in_order(void)
{
	fugue_composition *c = compile(SMALL);
	fugue_plan p = FUGUE_PLAN_INIT;
	fugue_exec_options o;
	fugue_exec_result res;
	fugue_state_resource r;
	struct json_object *rec, *tags, *v;
	char *id = NULL;

	plan_all(&p, c, FUGUE_ACTION_CREATE);
	o = options(&p, c, NULL);
	CU_ASSERT_EQUAL(fugue_execute(&res, &o), 0);
	CU_ASSERT_EQUAL(res.n, 4);
	CU_ASSERT_EQUAL(res.done, 4);
	CU_ASSERT_EQUAL(res.failed, 0);
	CU_ASSERT_EQUAL(res.skipped, 0);
	CU_ASSERT_FALSE(res.cancelled);
	CU_ASSERT(res.max_parallel >= 1 && res.max_parallel <= 2);
	/* A subnet is never created before its network, a server before its subnet. */
	CU_ASSERT(before("done create net", "start create subnet"));
	CU_ASSERT(before("done create subnet", "start create web-1"));
	CU_ASSERT(before("done create subnet", "start create web-2"));
	CU_ASSERT_EQUAL(atomic_load(&g_ev.overlapped), 0);
	CU_ASSERT_EQUAL(fake_count(NULL), 4);
	/* Journal: one entry per call, each ended. */
	CU_ASSERT_EQUAL(open_journal(), 0);
	CU_ASSERT_EQUAL(finished_journal(), 4);

	/* The record: ready, the AWS id, LIVE agrees. */
	CU_ASSERT_EQUAL(record_status("web-1", &id), FUGUE_RESOURCE_READY);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(id), fugue_test_nn(fugue_live_id(&g_live, "web-1")));
	/* Tags: the composition's plus fugue:fid and fugue:resource. */
	rec = fake_get(id);
	CU_ASSERT_PTR_NOT_NULL_FATAL(rec);
	tags = json_object_object_get(rec, "tags");
	CU_ASSERT_STRING_EQUAL(str_of(tags, "fugue:fid"), g_fid);
	CU_ASSERT_STRING_EQUAL(str_of(tags, "fugue:resource"), "web-1");
	CU_ASSERT_STRING_EQUAL(str_of(tags, "team"), "web");
	/* The server got the subnet's id. */
	v = json_object_object_get(json_object_object_get(rec, "properties"), "subnet");
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(json_object_get_string(v)),
	                       fugue_test_nn(fugue_live_id(&g_live, "subnet")));
	json_object_put(rec);
	/* Secrets: digests in declared and observed, nowhere in clear. */
	CU_ASSERT_EQUAL_FATAL(fugue_state_resource_get(&r, g_st, g_fid, "web-1", NULL), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(fugue_test_nn(r.declared), "\"password\":\"sha256:"));
	CU_ASSERT_PTR_NOT_NULL(strstr(fugue_test_nn(r.observed), "\"password\":\"sha256:"));
	CU_ASSERT_PTR_NULL(strstr(fugue_test_nn(r.declared), "hunter2"));
	CU_ASSERT_PTR_NULL(strstr(fugue_test_nn(r.observed), "hunter2"));
	CU_ASSERT_PTR_NOT_NULL(strstr(fugue_test_nn(r.attributes), "privateIp"));
	/* The create succeeded and is recorded: its client token is spent. */
	CU_ASSERT_PTR_NULL(r.client_token);
	CU_ASSERT_PTR_NULL(r.error_code);
	fugue_state_resource_clear(&r);
	free(id);
	fugue_exec_result_clear(&res);
	plan_free(&p);

	/* Kill: deletes in reverse order; every record goes. */
	plan_all(&p, c, FUGUE_ACTION_DELETE);
	o = options(&p, NULL, c);
	CU_ASSERT_EQUAL(fugue_execute(&res, &o), 0);
	CU_ASSERT_EQUAL(res.done, 4);
	CU_ASSERT(before("done delete web-1", "start delete subnet"));
	CU_ASSERT(before("done delete web-2", "start delete subnet"));
	CU_ASSERT(before("done delete subnet", "start delete net"));
	CU_ASSERT_EQUAL(fake_count(NULL), 0);
	CU_ASSERT_FALSE(has_record("net"));
	CU_ASSERT_FALSE(has_record("web-1"));
	CU_ASSERT_EQUAL(g_live.n, 0);
	CU_ASSERT_EQUAL(open_journal(), 0);
	CU_ASSERT_EQUAL(finished_journal(), 4);
	fugue_exec_result_clear(&res);
	plan_free(&p);
	fugue_composition_free(c);
}

/* Deletes without a previous composition: ordered by the actions' own deps. */
static void test_delete_order_from_plan(void)
{
	fugue_composition *c = compile(SMALL);
	fugue_plan p = FUGUE_PLAN_INIT;
	fugue_exec_options o;
	fugue_exec_result res;

	create_all(c);
	/* Listed in the wrong order on purpose. */
	plan_add(&p, "net", "Fake.Net.Network", FUGUE_ACTION_DELETE, NULL);
	plan_add(&p, "subnet", "Fake.Net.Subnet", FUGUE_ACTION_DELETE, "net");
	plan_add(&p, "web-1", "Fake.Compute.Server", FUGUE_ACTION_DELETE, "subnet");
	plan_add(&p, "web-2", "Fake.Compute.Server", FUGUE_ACTION_DELETE, "subnet");
	o = options(&p, NULL, NULL);
	CU_ASSERT_EQUAL(fugue_execute(&res, &o), 0);
	CU_ASSERT_EQUAL(res.done, 4);
	CU_ASSERT(before("done delete subnet", "start delete net"));
	CU_ASSERT(before("done delete web-2", "start delete subnet"));
	CU_ASSERT_EQUAL(fake_count(NULL), 0);
	fugue_exec_result_clear(&res);
	plan_free(&p);
	fugue_composition_free(c);
}

static void test_parallelism(void)
{
	fugue_composition *c = servers(8);
	fugue_plan p = FUGUE_PLAN_INIT;
	fugue_exec_options o;
	fugue_exec_result res;

	faults("{\"create\": {\"Fake.Compute.Server\": {\"delay_ms\": 200}}}");
	plan_all(&p, c, FUGUE_ACTION_CREATE);
	o = options(&p, c, NULL);
	CU_ASSERT_EQUAL(fugue_execute(&res, &o), 0);
	CU_ASSERT_EQUAL(res.done, 10);
	/* 8 servers wait 200 ms each in the planner; the pool has 4 threads. */
	CU_ASSERT_EQUAL(res.max_parallel, 4);
	CU_ASSERT_EQUAL(fake_count("Fake.Compute.Server"), 8);
	fugue_exec_result_clear(&res);
	plan_free(&p);
	fugue_composition_free(c);
}

static void test_planner_slots(void)
{
	fugue_composition *c = servers(6);
	fugue_plan p = FUGUE_PLAN_INIT;
	fugue_exec_options o;
	fugue_exec_result res;
	fugue_slots *slots;

	/* Keyed by the owning planner's name: "fake". */
	CU_ASSERT_EQUAL_FATAL(fugue_slots_new(&slots, 0), 0);
	CU_ASSERT_EQUAL(fugue_slots_set_limit(slots, "fake", 2), 0);
	faults("{\"create\": {\"Fake.Compute.Server\": {\"delay_ms\": 150}}}");
	plan_all(&p, c, FUGUE_ACTION_CREATE);
	o = options(&p, c, NULL);
	o.slots = slots;
	CU_ASSERT_EQUAL(fugue_execute(&res, &o), 0);
	CU_ASSERT_EQUAL(res.done, 8);
	CU_ASSERT_EQUAL(res.max_parallel, 2);
	CU_ASSERT_EQUAL(fake_count("Fake.Compute.Server"), 6);
	/* Every slot was given back. */
	CU_ASSERT_EQUAL(fugue_slots_try_acquire(slots, "fake"), 1);
	CU_ASSERT_EQUAL(fugue_slots_try_acquire(slots, "fake"), 1);
	CU_ASSERT_EQUAL(fugue_slots_try_acquire(slots, "fake"), 0);
	fugue_exec_result_clear(&res);
	plan_free(&p);
	fugue_composition_free(c);
	fugue_slots_free(slots);
}

static void test_failure_isolation(void)
{
	fugue_composition *c = compile(
		"resources:\n"
		"  net-a:\n    type: Fake.Net.Network\n    cidr: 10.1.0.0/16\n"
		"  subnet-a:\n    type: Fake.Net.Subnet\n    network: !ref net-a\n"
		"    cidr: 10.1.1.0/24\n"
		"  srv-a:\n    type: Fake.Compute.Server\n    subnet: !ref subnet-a\n"
		"  net-b:\n    type: Fake.Net.Network\n    cidr: 10.2.0.0/16\n"
		"  subnet-b:\n    type: Fake.Net.Subnet\n    network: !ref net-b\n"
		"    cidr: 10.2.1.0/24\n"
		"  srv-b:\n    type: Fake.Compute.Server\n    subnet: !ref subnet-b\n");
	fugue_plan p = FUGUE_PLAN_INIT;
	fugue_exec_options o;
	fugue_exec_result res;
	fugue_state_resource r;
	const fugue_exec_outcome *bad, *skipped;
	const char *failed_subnet, *other_subnet, *skipped_srv, *done_srv;
	int rc;

	/* The first subnet create fails for good (not a retryable code). */
	faults("{\"create\": {\"Fake.Net.Subnet\": {\"fail\": 1,"
	       " \"code\": \"InvalidParameterValue\", \"message\": \"bad block\"}}}");
	plan_all(&p, c, FUGUE_ACTION_CREATE);
	o = options(&p, c, NULL);
	rc = fugue_execute(&res, &o);
	CU_ASSERT_EQUAL(rc, FUGUE_EAWS);
	CU_ASSERT_EQUAL(res.done, 4);
	CU_ASSERT_EQUAL(res.failed, 1);
	CU_ASSERT_EQUAL(res.skipped, 1);
	if (outcome_result(&res, "subnet-a", FUGUE_ACTION_CREATE) != 0) {
		failed_subnet = "subnet-a";
		other_subnet = "subnet-b";
		skipped_srv = "srv-a";
		done_srv = "srv-b";
	} else {
		failed_subnet = "subnet-b";
		other_subnet = "subnet-a";
		skipped_srv = "srv-b";
		done_srv = "srv-a";
	}
	bad = outcome(&res, failed_subnet, FUGUE_ACTION_CREATE);
	CU_ASSERT_PTR_NOT_NULL_FATAL(bad);
	CU_ASSERT_EQUAL(bad->result, FUGUE_EAWS);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(bad->error_code), "InvalidParameterValue");
	CU_ASSERT_EQUAL(strncmp(fugue_test_nn(bad->request_id), "fake-", 5), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(fugue_test_nn(bad->message), "bad block"));
	skipped = outcome(&res, skipped_srv, FUGUE_ACTION_CREATE);
	CU_ASSERT_PTR_NOT_NULL_FATAL(skipped);
	CU_ASSERT_EQUAL(skipped->result, FUGUE_ERETRY);
	CU_ASSERT_PTR_NOT_NULL(strstr(fugue_test_nn(skipped->message), failed_subnet));
	CU_ASSERT_EQUAL(outcome_result(&res, other_subnet, FUGUE_ACTION_CREATE), 0);
	CU_ASSERT_EQUAL(outcome_result(&res, done_srv, FUGUE_ACTION_CREATE), 0);
	CU_ASSERT_EQUAL(fake_calls("create", "Fake.Compute.Server"), 1);
	CU_ASSERT_EQUAL(fake_count(NULL), 4);
	/* The failure is recorded with its AWS diagnostics. */
	CU_ASSERT_EQUAL_FATAL(fugue_state_resource_get(&r, g_st, g_fid, failed_subnet, NULL), 0);
	CU_ASSERT_EQUAL(r.status, FUGUE_RESOURCE_FAILED);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(r.error_code), "InvalidParameterValue");
	CU_ASSERT_PTR_NOT_NULL(r.error_request_id);
	fugue_state_resource_clear(&r);
	CU_ASSERT_FALSE(has_record(skipped_srv));
	CU_ASSERT_EQUAL(open_journal(), 0);
	CU_ASSERT_EQUAL(event_count("failed create"), 1);
	CU_ASSERT_EQUAL(event_count("skipped create"), 1);
	fugue_exec_result_clear(&res);
	plan_free(&p);
	fugue_composition_free(c);
}

static void test_retry_then_success(void)
{
	fugue_composition *c = compile(NETWORK_ONLY);
	fugue_plan p = FUGUE_PLAN_INIT;
	fugue_exec_options o;
	fugue_exec_result res;

	/* Throttling is FUGUE_ERETRY: the scheduler tries again. */
	faults("{\"create\": {\"Fake.Net.Network\": {\"fail\": 2, \"code\": \"Throttling\"}}}");
	plan_all(&p, c, FUGUE_ACTION_CREATE);
	o = options(&p, c, NULL);
	CU_ASSERT_EQUAL(fugue_execute(&res, &o), 0);
	CU_ASSERT_EQUAL(res.done, 1);
	CU_ASSERT_EQUAL(fake_calls("create", "Fake.Net.Network"), 3);
	CU_ASSERT_EQUAL(event_count("retry create net"), 2);
	CU_ASSERT_EQUAL(event_count("done create net"), 1);
	CU_ASSERT_EQUAL(fake_count(NULL), 1);
	CU_ASSERT_EQUAL(record_status("net", NULL), FUGUE_RESOURCE_READY);
	/* Every attempt was journaled and ended. */
	CU_ASSERT_EQUAL(open_journal(), 0);
	CU_ASSERT_EQUAL(finished_journal(), 3);
	fugue_exec_result_clear(&res);
	plan_free(&p);
	fugue_composition_free(c);
}

static void test_retry_exhausted(void)
{
	fugue_composition *c = compile(NETWORK_ONLY);
	fugue_plan p = FUGUE_PLAN_INIT;
	fugue_exec_options o;
	fugue_exec_result res;
	const fugue_exec_outcome *out;

	faults("{\"create\": {\"Fake.Net.Network\": {\"fail\": 9, \"code\": \"Throttling\"}}}");
	plan_all(&p, c, FUGUE_ACTION_CREATE);
	o = options(&p, c, NULL);
	o.max_attempts = 3;
	CU_ASSERT_EQUAL(fugue_execute(&res, &o), FUGUE_ERETRY);
	CU_ASSERT_EQUAL(res.failed, 1);
	CU_ASSERT_EQUAL(fake_calls("create", "Fake.Net.Network"), 3);
	out = outcome(&res, "net", FUGUE_ACTION_CREATE);
	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(out->error_code), "Throttling");
	CU_ASSERT_EQUAL(event_count("retry create net"), 2);
	CU_ASSERT_EQUAL(event_count("failed create net"), 1);
	CU_ASSERT_EQUAL(record_status("net", NULL), FUGUE_RESOURCE_FAILED);
	CU_ASSERT_EQUAL(open_journal(), 0);
	CU_ASSERT_EQUAL(finished_journal(), 3);
	fugue_exec_result_clear(&res);
	plan_free(&p);
	fugue_composition_free(c);
}

struct canceller {
	fugue_cancel *cancel;
	int want_starts;
};

static void *cancel_thread(void *arg)
{
	struct canceller *k = arg;
	struct timespec t = { 0, 10000000 };
	int i;

	/* Once the servers are inside their planner's delay (10 s at most). */
	for (i = 0; i < 1000 && atomic_load(&g_ev.server_starts) < k->want_starts; i++)
		nanosleep(&t, NULL);
	t.tv_nsec = 100000000;
	nanosleep(&t, NULL);
	fugue_cancel_set(k->cancel);
	return NULL;
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void test_cancel(void)
{
	fugue_composition *c = servers(8);
	fugue_plan p = FUGUE_PLAN_INIT;
	fugue_exec_options o;
	fugue_exec_result res;
	fugue_cancel cancel;
	struct canceller k;
	pthread_t th;
	double t0, elapsed;
	size_t i;
	int rc;

	fugue_cancel_init(&cancel);
	faults("{\"create\": {\"Fake.Compute.Server\": {\"delay_ms\": 8000}}}");
	plan_all(&p, c, FUGUE_ACTION_CREATE);
	o = options(&p, c, NULL);
	o.cancel = &cancel;
	k.cancel = &cancel;
	k.want_starts = 4;
	CU_ASSERT_EQUAL_FATAL(pthread_create(&th, NULL, cancel_thread, &k), 0);
	t0 = now_s();
	rc = fugue_execute(&res, &o);
	elapsed = now_s() - t0;
	pthread_join(th, NULL);
	CU_ASSERT_EQUAL(rc, FUGUE_ECANCELED);
	CU_ASSERT_TRUE(res.cancelled);
	/* The running calls' sleeps were woken: far less than their 8 s. */
	CU_ASSERT(elapsed < 6.0);
	/* Four servers had started (the pool's size); none after the cancel. */
	CU_ASSERT_EQUAL(atomic_load(&g_ev.server_starts), 4);
	CU_ASSERT_EQUAL(fake_calls("create", "Fake.Compute.Server"), 4);
	CU_ASSERT_EQUAL(fake_count("Fake.Compute.Server"), 0);
	CU_ASSERT_EQUAL(outcome_result(&res, "net", FUGUE_ACTION_CREATE), 0);
	CU_ASSERT_EQUAL(outcome_result(&res, "subnet", FUGUE_ACTION_CREATE), 0);
	for (i = 0; i < res.n; i++) {
		if (res.outcomes[i].resource[0] == 's' && res.outcomes[i].resource[1] != 'u')
			CU_ASSERT_EQUAL(res.outcomes[i].result, FUGUE_ECANCELED);
	}
	CU_ASSERT_EQUAL(res.done, 2);
	CU_ASSERT_EQUAL(res.done + res.failed + res.skipped, 10);
	/* Calls that returned are journaled as ended; none is left open. */
	CU_ASSERT_EQUAL(open_journal(), 0);
	CU_ASSERT_EQUAL(finished_journal(), 6);
	CU_ASSERT_EQUAL(atomic_load(&g_ev.overlapped), 0);
	fugue_exec_result_clear(&res);
	plan_free(&p);
	fugue_composition_free(c);
	fugue_cancel_destroy(&cancel);
}

/* A cancel already set: nothing runs at all. */
static void test_cancel_before(void)
{
	fugue_composition *c = compile(NETWORK_ONLY);
	fugue_plan p = FUGUE_PLAN_INIT;
	fugue_exec_options o;
	fugue_exec_result res;
	fugue_cancel cancel;

	fugue_cancel_init(&cancel);
	fugue_cancel_set(&cancel);
	plan_all(&p, c, FUGUE_ACTION_CREATE);
	o = options(&p, c, NULL);
	o.cancel = &cancel;
	CU_ASSERT_EQUAL(fugue_execute(&res, &o), FUGUE_ECANCELED);
	CU_ASSERT_TRUE(res.cancelled);
	CU_ASSERT_EQUAL(res.skipped, 1);
	CU_ASSERT_EQUAL(outcome_result(&res, "net", FUGUE_ACTION_CREATE), FUGUE_ECANCELED);
	CU_ASSERT_EQUAL(fake_calls("create", "Fake.Net.Network"), 0);
	CU_ASSERT_EQUAL(finished_journal(), 0);
	fugue_exec_result_clear(&res);
	plan_free(&p);
	fugue_composition_free(c);
	fugue_cancel_destroy(&cancel);
}

/* The create took effect but its answer was lost: the retry, with the same
 * client token, gets the same network back. */
static void test_lost_answer_retried(void)
{
	fugue_composition *c = compile(NETWORK_ONLY);
	fugue_plan p = FUGUE_PLAN_INIT;
	fugue_exec_options o;
	fugue_exec_result res;

	faults("{\"create\": {\"Fake.Net.Network\": {\"fail\": 1, \"after\": true,"
	       " \"code\": \"Throttling\"}}}");
	plan_all(&p, c, FUGUE_ACTION_CREATE);
	o = options(&p, c, NULL);
	CU_ASSERT_EQUAL(fugue_execute(&res, &o), 0);
	CU_ASSERT_EQUAL(fake_calls("create", "Fake.Net.Network"), 2);
	CU_ASSERT_EQUAL(fake_count(NULL), 1);
	fugue_exec_result_clear(&res);
	plan_free(&p);
	fugue_composition_free(c);
}

/* The same across jobs: the first job fails for good after the create took
 * effect; the next one (a new plan: create again) reuses the stored token. */
static void test_lost_answer_next_job(void)
{
	fugue_composition *c = compile(NETWORK_ONLY);
	fugue_plan p = FUGUE_PLAN_INIT;
	fugue_exec_options o;
	fugue_exec_result res;
	fugue_state_resource r;
	struct json_object *all;
	char *id = NULL;
	char *token = NULL;

	faults("{\"create\": {\"Fake.Net.Network\": {\"fail\": 1, \"after\": true,"
	       " \"code\": \"InternalFailure\"}}}");
	plan_all(&p, c, FUGUE_ACTION_CREATE);
	o = options(&p, c, NULL);
	o.max_attempts = 1;
	CU_ASSERT_NOT_EQUAL(fugue_execute(&res, &o), 0);
	CU_ASSERT_EQUAL(res.failed, 1);
	CU_ASSERT_EQUAL(fake_count(NULL), 1);
	CU_ASSERT_EQUAL(record_status("net", NULL), FUGUE_RESOURCE_FAILED);
	/* The failed create keeps its token for the next try. */
	CU_ASSERT_EQUAL_FATAL(fugue_state_resource_get(&r, g_st, g_fid, "net", NULL), 0);
	CU_ASSERT_PTR_NOT_NULL(r.client_token);
	token = xstrdup(fugue_test_nn(r.client_token));
	fugue_state_resource_clear(&r);
	fugue_exec_result_clear(&res);

	o = options(&p, c, NULL);
	CU_ASSERT_EQUAL(fugue_execute(&res, &o), 0);
	CU_ASSERT_EQUAL(fake_count(NULL), 1);
	CU_ASSERT_EQUAL(record_status("net", &id), FUGUE_RESOURCE_READY);
	all = fake_resources(NULL);
	CU_ASSERT_EQUAL_FATAL(json_object_array_length(all), 1);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(id), str_of(json_object_array_get_idx(all, 0), "id"));
	/* Made by the first job, with the token the store kept for it. */
	CU_ASSERT_STRING_EQUAL(token, str_of(json_object_array_get_idx(all, 0), "clientToken"));
	json_object_put(all);
	free(token);
	free(id);
	fugue_exec_result_clear(&res);
	plan_free(&p);
	fugue_composition_free(c);
}

static void test_update(void)
{
	fugue_composition *c = compile(SMALL);
	fugue_composition *c2 = compile(
		"resources:\n"
		"  web-1:\n    type: Fake.Compute.Server\n    subnet: !ref subnet\n"
		"    size: large\n"
		"    password: hunter2-secret\n"
		"  web-2:\n    type: Fake.Compute.Server\n    subnet: !ref subnet\n"
		"  subnet:\n    type: Fake.Net.Subnet\n    network: !ref net\n"
		"    cidr: 10.0.1.0/24\n"
		"  net:\n    type: Fake.Net.Network\n    cidr: 10.0.0.0/16\n");
	fugue_plan p = FUGUE_PLAN_INIT;
	fugue_exec_options o;
	fugue_exec_result res;
	fugue_action *a;
	struct json_object *rec;
	char *before_id = NULL, *after_id = NULL;

	create_all(c);
	CU_ASSERT_EQUAL(record_status("web-1", &before_id), FUGUE_RESOURCE_READY);
	a = plan_add(&p, "web-1", "Fake.Compute.Server", FUGUE_ACTION_UPDATE, "subnet");
	plan_change(a, "size");
	o = options(&p, c2, c);
	CU_ASSERT_EQUAL(fugue_execute(&res, &o), 0);
	CU_ASSERT_EQUAL(res.done, 1);
	CU_ASSERT_EQUAL(record_status("web-1", &after_id), FUGUE_RESOURCE_READY);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(before_id), fugue_test_nn(after_id));
	rec = fake_get(after_id);
	CU_ASSERT_STRING_EQUAL(str_of(json_object_object_get(rec, "properties"), "size"), "large");
	json_object_put(rec);
	CU_ASSERT_EQUAL(fake_calls("update", "Fake.Compute.Server"), 1);
	CU_ASSERT_EQUAL(open_journal(), 0);
	free(before_id);
	free(after_id);
	fugue_exec_result_clear(&res);
	plan_free(&p);
	fugue_composition_free(c2);
	fugue_composition_free(c);
}

/* A server replaced create-before-delete: the new one exists before the old
 * one goes, with a new client token. */
static void test_replace_create_before_delete(void)
{
	fugue_composition *c = compile(SMALL);
	fugue_plan p = FUGUE_PLAN_INIT;
	fugue_exec_options o;
	fugue_exec_result res;
	fugue_action *a;
	struct json_object *old_rec, *new_rec;
	char *old_id = NULL, *new_id = NULL;

	create_all(c);
	CU_ASSERT_EQUAL(record_status("web-2", &old_id), FUGUE_RESOURCE_READY);
	old_rec = fake_get(old_id);
	a = plan_add(&p, "web-2", "Fake.Compute.Server", FUGUE_ACTION_REPLACE, "subnet");
	a->create_before_delete = 1;
	o = options(&p, c, c);
	CU_ASSERT_EQUAL(fugue_execute(&res, &o), 0);
	CU_ASSERT_EQUAL(res.done, 1);
	CU_ASSERT(before("done create web-2", "start delete web-2"));
	CU_ASSERT_EQUAL(record_status("web-2", &new_id), FUGUE_RESOURCE_READY);
	CU_ASSERT_STRING_NOT_EQUAL(fugue_test_nn(old_id), fugue_test_nn(new_id));
	CU_ASSERT_PTR_NULL(fake_get(old_id));
	new_rec = fake_get(new_id);
	CU_ASSERT_PTR_NOT_NULL_FATAL(new_rec);
	CU_ASSERT_STRING_NOT_EQUAL(str_of(old_rec, "clientToken"), str_of(new_rec, "clientToken"));
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(fugue_live_id(&g_live, "web-2")),
	                       fugue_test_nn(new_id));
	CU_ASSERT_EQUAL(fake_count("Fake.Compute.Server"), 2);
	CU_ASSERT_EQUAL(open_journal(), 0);
	json_object_put(old_rec);
	json_object_put(new_rec);
	free(old_id);
	free(new_id);
	fugue_exec_result_clear(&res);
	plan_free(&p);
	fugue_composition_free(c);
}

/* The create of a create-before-delete replacement takes effect but its
 * answer is lost and the job fails: the next job's identical replace reuses
 * the token and adopts that server instead of making a third. */
static void test_replace_lost_answer(void)
{
	fugue_composition *c = compile(SMALL);
	fugue_plan p = FUGUE_PLAN_INIT;
	fugue_exec_options o;
	fugue_exec_result res;
	fugue_action *a;
	char *old_id = NULL, *new_id = NULL;
	struct json_object *rec;

	create_all(c);
	CU_ASSERT_EQUAL(record_status("web-2", &old_id), FUGUE_RESOURCE_READY);
	a = plan_add(&p, "web-2", "Fake.Compute.Server", FUGUE_ACTION_REPLACE, "subnet");
	a->create_before_delete = 1;
	faults("{\"create\": {\"Fake.Compute.Server\": {\"fail\": 1, \"after\": true,"
	       " \"code\": \"InternalFailure\"}}}");
	o = options(&p, c, c);
	o.max_attempts = 1;
	CU_ASSERT_NOT_EQUAL(fugue_execute(&res, &o), 0);
	CU_ASSERT_EQUAL(res.failed, 1);
	CU_ASSERT_EQUAL(fake_count("Fake.Compute.Server"), 3);
	fugue_exec_result_clear(&res);

	o = options(&p, c, c);
	CU_ASSERT_EQUAL(fugue_execute(&res, &o), 0);
	CU_ASSERT_EQUAL(fake_count("Fake.Compute.Server"), 2);
	CU_ASSERT_EQUAL(record_status("web-2", &new_id), FUGUE_RESOURCE_READY);
	CU_ASSERT_STRING_NOT_EQUAL(fugue_test_nn(old_id), fugue_test_nn(new_id));
	rec = fake_get(old_id);
	CU_ASSERT_PTR_NULL(rec);
	json_object_put(rec);
	free(old_id);
	free(new_id);
	fugue_exec_result_clear(&res);
	plan_free(&p);
	fugue_composition_free(c);
}

/* A network replaced delete-then-create drags its subnet and servers along:
 * the servers are create-before-delete but cannot be here (their new subnet
 * needs the old one gone first, which needs the old servers gone), so all
 * go delete-then-create, leaves first. The fake refuses to delete anything
 * still referenced, so a wrong order fails. */
static void test_replace_chain(void)
{
	fugue_composition *c = compile(SMALL);
	fugue_plan p = FUGUE_PLAN_INIT;
	fugue_exec_options o;
	fugue_exec_result res;
	fugue_action *a;
	size_t i;
	static const char *const names[] = { "net", "subnet", "web-1", "web-2" };

	create_all(c);
	plan_add(&p, "net", "Fake.Net.Network", FUGUE_ACTION_REPLACE, NULL);
	plan_add(&p, "subnet", "Fake.Net.Subnet", FUGUE_ACTION_REPLACE, "net");
	a = plan_add(&p, "web-1", "Fake.Compute.Server", FUGUE_ACTION_REPLACE, "subnet");
	a->create_before_delete = 1;
	a = plan_add(&p, "web-2", "Fake.Compute.Server", FUGUE_ACTION_REPLACE, "subnet");
	a->create_before_delete = 1;
	o = options(&p, c, c);
	CU_ASSERT_EQUAL(fugue_execute(&res, &o), 0);
	CU_ASSERT_EQUAL(res.done, 4);
	CU_ASSERT(before("done delete web-1", "start delete subnet"));
	CU_ASSERT(before("done delete subnet", "start delete net"));
	CU_ASSERT(before("done delete net", "start create net"));
	CU_ASSERT(before("done create subnet", "start create web-1"));
	CU_ASSERT_EQUAL(fake_count(NULL), 4);
	for (i = 0; i < 4; i++)
		CU_ASSERT_EQUAL(record_status(names[i], NULL), FUGUE_RESOURCE_READY);
	CU_ASSERT_EQUAL(open_journal(), 0);
	CU_ASSERT_EQUAL(finished_journal(), 4 + 8);
	fugue_exec_result_clear(&res);
	plan_free(&p);
	fugue_composition_free(c);
}

/* A subnet replaced delete-then-create, its servers updated: the failed
 * delete (a server still uses the subnet: DependencyViolation) skips the
 * create and everything after it. */
static void test_replace_failure_skips(void)
{
	fugue_composition *c = compile(SMALL);
	fugue_plan p = FUGUE_PLAN_INIT;
	fugue_exec_options o;
	fugue_exec_result res;
	fugue_action *a;
	struct json_object *rec;
	char *id = NULL;

	create_all(c);
	plan_add(&p, "subnet", "Fake.Net.Subnet", FUGUE_ACTION_REPLACE, "net");
	a = plan_add(&p, "web-1", "Fake.Compute.Server", FUGUE_ACTION_UPDATE, "subnet");
	plan_change(a, "size");
	o = options(&p, c, c);
	CU_ASSERT_EQUAL(fugue_execute(&res, &o), FUGUE_ECONFLICT);
	CU_ASSERT_EQUAL(res.failed, 1);
	CU_ASSERT_EQUAL(res.skipped, 1);
	CU_ASSERT_EQUAL(outcome_result(&res, "subnet", FUGUE_ACTION_REPLACE), FUGUE_ECONFLICT);
	CU_ASSERT_EQUAL(outcome_result(&res, "web-1", FUGUE_ACTION_UPDATE), FUGUE_ERETRY);
	CU_ASSERT_EQUAL(event_count("skipped create subnet"), 1);
	/* The old subnet is still there, and still recorded. */
	CU_ASSERT_EQUAL(record_status("subnet", &id), FUGUE_RESOURCE_FAILED);
	rec = fake_get(id);
	CU_ASSERT_PTR_NOT_NULL(rec);
	json_object_put(rec);
	CU_ASSERT_EQUAL(fake_count(NULL), 4);
	free(id);
	fugue_exec_result_clear(&res);
	plan_free(&p);
	fugue_composition_free(c);
}

/* Deleting what is already gone (removed behind our back) succeeds. */
static void test_delete_already_gone(void)
{
	fugue_composition *c = compile(NETWORK_ONLY);
	fugue_plan p = FUGUE_PLAN_INIT;
	fugue_exec_options o;
	fugue_exec_result res;
	char *id = NULL;
	char *path;

	create_all(c);
	CU_ASSERT_EQUAL(record_status("net", &id), FUGUE_RESOURCE_READY);
	if (asprintf(&path, "%s/%s.json", g_fake, fugue_test_nn(id)) < 0)
		abort();
	CU_ASSERT_EQUAL(unlink(path), 0);
	free(path);
	plan_all(&p, c, FUGUE_ACTION_DELETE);
	o = options(&p, NULL, c);
	CU_ASSERT_EQUAL(fugue_execute(&res, &o), 0);
	CU_ASSERT_EQUAL(res.done, 1);
	CU_ASSERT_FALSE(has_record("net"));
	free(id);
	fugue_exec_result_clear(&res);
	plan_free(&p);
	fugue_composition_free(c);
}

/* Deleted behind our back (an observation said so): the re-creation is a
 * new request with a new token, and while it fails the dead id is not kept. */
static void test_recreate_after_gone(void)
{
	fugue_composition *c = compile(NETWORK_ONLY);
	fugue_plan p = FUGUE_PLAN_INIT;
	fugue_exec_options o;
	fugue_exec_result res;
	struct json_object *old_rec, *new_rec;
	char *id = NULL, *id2 = NULL;
	char *path;

	create_all(c);
	CU_ASSERT_EQUAL(record_status("net", &id), FUGUE_RESOURCE_READY);
	old_rec = fake_get(id);
	CU_ASSERT_PTR_NOT_NULL_FATAL(old_rec);
	if (asprintf(&path, "%s/%s.json", g_fake, fugue_test_nn(id)) < 0)
		abort();
	CU_ASSERT_EQUAL(unlink(path), 0);
	free(path);
	fugue_live_find(&g_live, "net")->gone = 1;
	plan_all(&p, c, FUGUE_ACTION_CREATE);

	faults("{\"create\": {\"*\": {\"fail\": 1, \"code\": \"InvalidParameterValue\"}}}");
	o = options(&p, c, NULL);
	CU_ASSERT_EQUAL(fugue_execute(&res, &o), FUGUE_EAWS);
	CU_ASSERT_EQUAL(record_status("net", &id2), FUGUE_RESOURCE_FAILED);
	CU_ASSERT_PTR_NULL(id2);
	fugue_exec_result_clear(&res);

	o = options(&p, c, NULL);
	CU_ASSERT_EQUAL(fugue_execute(&res, &o), 0);
	CU_ASSERT_EQUAL(record_status("net", &id2), FUGUE_RESOURCE_READY);
	CU_ASSERT_STRING_NOT_EQUAL(fugue_test_nn(id), fugue_test_nn(id2));
	CU_ASSERT_EQUAL(fake_count(NULL), 1);
	new_rec = fake_get(id2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(new_rec);
	CU_ASSERT_STRING_NOT_EQUAL(str_of(old_rec, "clientToken"), str_of(new_rec, "clientToken"));
	json_object_put(old_rec);
	json_object_put(new_rec);
	free(id);
	free(id2);
	fugue_exec_result_clear(&res);
	plan_free(&p);
	fugue_composition_free(c);
}

/* ==== an in-memory planner for what the fake cannot do ============================= */

/* Test.Mem.Partial: create makes something, then fails, and says what it
 * made; remove says "not found". Test.Mem.Flaky: create answers no id. */
static int partial_create(fugue_ctx *ctx, const struct json_object *props,
                          struct json_object **out)
{
	struct json_object *s = json_object_new_object();

	(void)props;
	json_object_object_add(s, "id", json_object_new_string("thing-1"));
	json_object_object_add(s, "attributes", json_object_new_object());
	*out = s;
	ctx->host->fail(ctx, FUGUE_EAWS, NULL, "made thing-1, then it broke");
	return FUGUE_EAWS;
}

/* Test.Mem.PartialRetry: create makes something, then fails with "try
 * again later" (a throttled wait after the create call), saying what it
 * made; every call makes a new one (an API without client tokens). */
static atomic_int partial_retry_creates;

static int partial_retry_create(fugue_ctx *ctx, const struct json_object *props,
                                struct json_object **out)
{
	int k = atomic_fetch_add(&partial_retry_creates, 1) + 1;
	char id[32];

	(void)props;
	snprintf(id, sizeof(id), "made-%d", k);
	*out = json_object_new_object();
	json_object_object_add(*out, "id", json_object_new_string(id));
	ctx->host->fail(ctx, FUGUE_ERETRY, NULL, "made %s, then throttled", id);
	return FUGUE_ERETRY;
}

static int noid_create(fugue_ctx *ctx, const struct json_object *props, struct json_object **out)
{
	(void)ctx;
	(void)props;
	*out = json_object_new_object();
	return 0;
}

/* Test.Mem.Same: every create answers the same resource, as a create with
 * a client token already used would. */
static atomic_int same_removes;

static int same_create(fugue_ctx *ctx, const struct json_object *props, struct json_object **out)
{
	(void)ctx;
	(void)props;
	*out = json_object_new_object();
	json_object_object_add(*out, "id", json_object_new_string("same-1"));
	return 0;
}

static int same_remove(fugue_ctx *ctx, const struct json_object *state)
{
	(void)ctx;
	(void)state;
	atomic_fetch_add(&same_removes, 1);
	return 0;
}

static int gone_remove(fugue_ctx *ctx, const struct json_object *state)
{
	(void)state;
	ctx->host->fail(ctx, FUGUE_ENOTFOUND, NULL, "no such thing");
	return FUGUE_ENOTFOUND;
}

static int mem_observe(fugue_ctx *ctx, fugue_observation *items, size_t n)
{
	(void)ctx;
	(void)items;
	(void)n;
	return 0;
}

static const fugue_prop mem_props[] = {
	{ .name = "size", .kind = FUGUE_KIND_INT, .flags = FUGUE_PROP_UPDATABLE },
	{ .name = NULL },
};

static const fugue_type_ops partial_ops = {
	.struct_size = sizeof(fugue_type_ops), .name = "Test.Mem.Partial", .props = mem_props,
	.create = partial_create, .remove = gone_remove, .observe = mem_observe,
};

static const fugue_type_ops noid_ops = {
	.struct_size = sizeof(fugue_type_ops), .name = "Test.Mem.NoId", .props = mem_props,
	.create = noid_create, .remove = gone_remove, .observe = mem_observe,
};

static const fugue_type_ops same_ops = {
	.struct_size = sizeof(fugue_type_ops), .name = "Test.Mem.Same", .props = mem_props,
	.flags = FUGUE_TYPE_CREATE_BEFORE_DELETE,
	.create = same_create, .remove = same_remove, .observe = mem_observe,
};

static const fugue_type_ops partial_retry_ops = {
	.struct_size = sizeof(fugue_type_ops), .name = "Test.Mem.PartialRetry", .props = mem_props,
	.create = partial_retry_create, .remove = gone_remove, .observe = mem_observe,
};

static const fugue_type_ops *const mem_types[] = { &partial_ops, &noid_ops, &same_ops,
	                                           &partial_retry_ops, NULL };

static const fugue_planner mem_planner = {
	FUGUE_PLANNER_HEADER, .name = "mem", .version = "1.0.0", .types = mem_types,
};

static void test_partial_create_recorded(void)
{
	fugue_composition *c = compile("resources:\n"
	                               "  thing:\n    type: Test.Mem.Partial\n    size: 1\n"
	                               "  odd:\n    type: Test.Mem.NoId\n    size: 1\n");
	fugue_plan p = FUGUE_PLAN_INIT;
	fugue_exec_options o;
	fugue_exec_result res;
	char *id = NULL;

	plan_all(&p, c, FUGUE_ACTION_CREATE);
	o = options(&p, c, NULL);
	CU_ASSERT_NOT_EQUAL(fugue_execute(&res, &o), 0);
	CU_ASSERT_EQUAL(res.failed, 2);
	/* The partial one: failed, but its id kept so that it is not orphaned. */
	CU_ASSERT_EQUAL(outcome_result(&res, "thing", FUGUE_ACTION_CREATE), FUGUE_EAWS);
	CU_ASSERT_EQUAL(record_status("thing", &id), FUGUE_RESOURCE_FAILED);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(id), "thing-1");
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(fugue_live_id(&g_live, "thing")), "thing-1");
	/* An answer without an id is a protocol error. */
	CU_ASSERT_EQUAL(outcome_result(&res, "odd", FUGUE_ACTION_CREATE), FUGUE_EPROTO);
	free(id);
	fugue_exec_result_clear(&res);
	plan_free(&p);

	/* Its delete: the planner says it is already gone, which is success. */
	plan_add(&p, "thing", "Test.Mem.Partial", FUGUE_ACTION_DELETE, NULL);
	o = options(&p, NULL, c);
	CU_ASSERT_EQUAL(fugue_execute(&res, &o), 0);
	CU_ASSERT_EQUAL(res.done, 1);
	CU_ASSERT_FALSE(has_record("thing"));
	CU_ASSERT_EQUAL(open_journal(), 0);
	fugue_exec_result_clear(&res);
	plan_free(&p);
	fugue_composition_free(c);
}

/* A create that made something and then asked to be tried again is not
 * called again (that would make a second one where the API takes no client
 * token): it fails with the id recorded, for the next pass to go on from. */
static void test_partial_create_not_retried(void)
{
	fugue_composition *c = compile("resources:\n"
	                               "  thing:\n    type: Test.Mem.PartialRetry\n    size: 1\n");
	fugue_plan p = FUGUE_PLAN_INIT;
	fugue_exec_options o;
	fugue_exec_result res;
	char *id = NULL;

	atomic_store(&partial_retry_creates, 0);
	plan_all(&p, c, FUGUE_ACTION_CREATE);
	o = options(&p, c, NULL);
	CU_ASSERT_EQUAL(fugue_execute(&res, &o), FUGUE_ERETRY);
	CU_ASSERT_EQUAL(atomic_load(&partial_retry_creates), 1);
	CU_ASSERT_EQUAL(outcome_result(&res, "thing", FUGUE_ACTION_CREATE), FUGUE_ERETRY);
	CU_ASSERT_EQUAL(record_status("thing", &id), FUGUE_RESOURCE_FAILED);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(id), "made-1");
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(fugue_live_id(&g_live, "thing")), "made-1");
	free(id);
	fugue_exec_result_clear(&res);
	plan_free(&p);
	fugue_composition_free(c);
}

/* What the scheduler records is what plans are computed from: right after a
 * run, the plan of the same declaration is empty, from LIVE as the run left
 * it and from LIVE loaded back from the state store (a restart). Secrets
 * included: the server's password is sensitive and AWS returns it. */
static void test_plan_after_run_is_empty(void)
{
	fugue_composition *c = compile(SMALL);
	fugue_plan p = FUGUE_PLAN_INIT;
	fugue_plan again = FUGUE_PLAN_INIT;
	fugue_plan_input in = { 0 };
	fugue_live loaded = FUGUE_LIVE_INIT;
	fugue_state_resource *records = NULL;
	fugue_exec_options o;
	fugue_exec_result res;
	size_t n = 0;

	in.declared = c;
	in.live = &g_live;
	CU_ASSERT_EQUAL_FATAL(fugue_plan_compute(&p, &in), 0);
	CU_ASSERT_EQUAL(p.counts[FUGUE_ACTION_CREATE], 4);
	o = options(&p, c, NULL);
	CU_ASSERT_EQUAL(fugue_execute(&res, &o), 0);
	CU_ASSERT_EQUAL(res.done, 4);
	fugue_exec_result_clear(&res);

	CU_ASSERT_EQUAL(fugue_plan_compute(&again, &in), 0);
	CU_ASSERT_TRUE(fugue_plan_is_empty(&again));
	if (!fugue_plan_is_empty(&again))
		fugue_plan_print(stderr, &again);
	fugue_plan_clear(&again);

	CU_ASSERT_EQUAL_FATAL(fugue_state_resource_list(&records, &n, g_st, g_fid, NULL), 0);
	CU_ASSERT_EQUAL(n, 4);
	CU_ASSERT_EQUAL_FATAL(fugue_live_load(&loaded, records, n), 0);
	in.live = &loaded;
	CU_ASSERT_EQUAL(fugue_plan_compute(&again, &in), 0);
	CU_ASSERT_TRUE(fugue_plan_is_empty(&again));
	if (!fugue_plan_is_empty(&again))
		fugue_plan_print(stderr, &again);
	fugue_plan_clear(&again);
	fugue_live_clear(&loaded);
	fugue_state_resource_list_free(records, n);
	fugue_plan_clear(&p);
	fugue_composition_free(c);
}

/* The same through a change that replaces the subnet (and so the servers
 * on it), then a kill: computed plans, executed, leave nothing to do. */
static void test_plans_replace_and_kill(void)
{
	fugue_composition *c = compile(SMALL);
	fugue_composition *c2 = compile(
		"resources:\n"
		"  web-1:\n    type: Fake.Compute.Server\n    subnet: !ref subnet\n"
		"    size: large\n"
		"    password: hunter2-secret\n"
		"  web-2:\n    type: Fake.Compute.Server\n    subnet: !ref subnet\n"
		"  subnet:\n    type: Fake.Net.Subnet\n    network: !ref net\n"
		"    cidr: 10.0.2.0/24\n"
		"  net:\n    type: Fake.Net.Network\n    cidr: 10.0.0.0/16\n    name: main\n");
	fugue_plan p = FUGUE_PLAN_INIT;
	fugue_plan_input in = { 0 };
	fugue_exec_options o;
	fugue_exec_result res;

	create_all(c);
	in.declared = c2;
	in.previous = c;
	in.live = &g_live;
	CU_ASSERT_EQUAL_FATAL(fugue_plan_compute(&p, &in), 0);
	CU_ASSERT_EQUAL(p.counts[FUGUE_ACTION_UPDATE], 1);
	CU_ASSERT_EQUAL(p.counts[FUGUE_ACTION_REPLACE], 3);
	o = options(&p, c2, c);
	CU_ASSERT_EQUAL(fugue_execute(&res, &o), 0);
	CU_ASSERT_EQUAL(res.done, 4);
	CU_ASSERT_EQUAL(fake_count(NULL), 4);
	fugue_exec_result_clear(&res);
	fugue_plan_clear(&p);
	in.previous = c2;
	CU_ASSERT_EQUAL(fugue_plan_compute(&p, &in), 0);
	CU_ASSERT_TRUE(fugue_plan_is_empty(&p));
	fugue_plan_clear(&p);

	in.declared = NULL;
	CU_ASSERT_EQUAL_FATAL(fugue_plan_compute(&p, &in), 0);
	CU_ASSERT_EQUAL(p.counts[FUGUE_ACTION_DELETE], 4);
	o = options(&p, NULL, c2);
	CU_ASSERT_EQUAL(fugue_execute(&res, &o), 0);
	CU_ASSERT_EQUAL(res.done, 4);
	CU_ASSERT_EQUAL(fake_count(NULL), 0);
	CU_ASSERT_EQUAL(g_live.n, 0);
	CU_ASSERT_EQUAL(open_journal(), 0);
	fugue_exec_result_clear(&res);
	fugue_plan_clear(&p);
	fugue_composition_free(c2);
	fugue_composition_free(c);
}

/* A replacement whose create answers the resource it replaces must not go
 * on to delete it. */
static void test_replace_same_answer(void)
{
	fugue_composition *c = compile("resources:\n  it:\n    type: Test.Mem.Same\n    size: 1\n");
	fugue_plan p = FUGUE_PLAN_INIT;
	fugue_exec_options o;
	fugue_exec_result res;
	fugue_action *a;
	char *id = NULL;

	create_all(c);
	a = plan_add(&p, "it", "Test.Mem.Same", FUGUE_ACTION_REPLACE, NULL);
	a->create_before_delete = 1;
	atomic_store(&same_removes, 0);
	o = options(&p, c, c);
	CU_ASSERT_EQUAL(fugue_execute(&res, &o), FUGUE_EPROTO);
	CU_ASSERT_EQUAL(atomic_load(&same_removes), 0);
	CU_ASSERT_EQUAL(event_count("skipped delete it"), 1);
	CU_ASSERT_EQUAL(record_status("it", &id), FUGUE_RESOURCE_FAILED);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(id), "same-1");
	free(id);
	fugue_exec_result_clear(&res);
	plan_free(&p);
	fugue_composition_free(c);
}

/* ==== arguments, odd plans, helpers ================================================ */

static void test_invalid(void)
{
	fugue_plan p = FUGUE_PLAN_INIT;
	fugue_exec_options o;
	fugue_exec_result res;

	o = options(&p, NULL, NULL);
	o.fid = NULL;
	CU_ASSERT_EQUAL(fugue_execute(&res, &o), FUGUE_EINVAL);
	o = options(&p, NULL, NULL);
	o.version = 99;
	CU_ASSERT_EQUAL(fugue_execute(&res, &o), FUGUE_EINVAL);
	o = options(&p, NULL, NULL);
	o.pool = NULL;
	CU_ASSERT_EQUAL(fugue_execute(&res, &o), FUGUE_EINVAL);
	CU_ASSERT_EQUAL(fugue_execute(NULL, &o), FUGUE_EINVAL);
	/* An empty plan does nothing, successfully. */
	o = options(&p, NULL, NULL);
	CU_ASSERT_EQUAL(fugue_execute(&res, &o), 0);
	CU_ASSERT_EQUAL(res.n, 0);
	fugue_exec_result_clear(&res);
	/* A hand-made cycle is refused before anything runs. */
	plan_add(&p, "a", "Fake.Net.Network", FUGUE_ACTION_CREATE, "b");
	plan_add(&p, "b", "Fake.Net.Network", FUGUE_ACTION_CREATE, "a");
	o = options(&p, NULL, NULL);
	CU_ASSERT_EQUAL(fugue_execute(&res, &o), FUGUE_EINVAL);
	CU_ASSERT_EQUAL(fake_calls("create", "Fake.Net.Network"), 0);
	fugue_exec_result_clear(&res);
	plan_free(&p);
	/* Nothing to do: kind none. */
	plan_add(&p, "a", "Fake.Net.Network", FUGUE_ACTION_NONE, NULL);
	o = options(&p, NULL, NULL);
	CU_ASSERT_EQUAL(fugue_execute(&res, &o), 0);
	CU_ASSERT_EQUAL(res.n, 1);
	CU_ASSERT_EQUAL(res.done + res.failed + res.skipped, 0);
	CU_ASSERT_EQUAL(res.outcomes[0].result, 0);
	fugue_exec_result_clear(&res);
	plan_free(&p);
	/* A type no planner has fails its node, not the run. */
	plan_add(&p, "x", "No.Such.Type", FUGUE_ACTION_DELETE, NULL);
	o = options(&p, NULL, NULL);
	CU_ASSERT_EQUAL(fugue_execute(&res, &o), FUGUE_ECONFIG);
	CU_ASSERT_EQUAL(res.failed, 1);
	fugue_exec_result_clear(&res);
	plan_free(&p);
	CU_ASSERT_STRING_EQUAL(fugue_sched_phase_name(FUGUE_SCHED_SKIPPED), "skipped");
}

static void test_resource_tags(void)
{
	struct json_object *tags = json_object_new_object();
	struct json_object *out;

	json_object_object_add(tags, "team", json_object_new_string("web"));
	out = fugue_resource_tags(tags, "fid-1", "vpc");
	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	CU_ASSERT_EQUAL(json_object_object_length(out), 3);
	CU_ASSERT_STRING_EQUAL(str_of(out, "team"), "web");
	CU_ASSERT_STRING_EQUAL(str_of(out, "fugue:fid"), "fid-1");
	CU_ASSERT_STRING_EQUAL(str_of(out, "fugue:resource"), "vpc");
	CU_ASSERT_EQUAL(json_object_object_length(tags), 1); /* not changed */
	json_object_put(out);
	out = fugue_resource_tags(NULL, "fid-1", "vpc");
	CU_ASSERT_EQUAL(json_object_object_length(out), 2);
	json_object_put(out);
	json_object_put(tags);
}

static int suite_cleanup(void)
{
	events_reset();
	return 0;
}

int fugue_test_register(void)
{
	CU_pSuite s = CU_add_suite_with_setup_and_teardown("scheduler", NULL, suite_cleanup, setup,
	                                                   teardown);

	if (!s)
		return 1;
	pthread_mutex_init(&g_ev.mutex, NULL);
	fugue_log_set_level(FUGUE_LOG_ERROR);
	if (!CU_add_test(s, "create in order, delete in reverse", test_create_in_order) ||
	    !CU_add_test(s, "delete order from the plan", test_delete_order_from_plan) ||
	    !CU_add_test(s, "measured parallelism", test_parallelism) ||
	    !CU_add_test(s, "per-planner slots", test_planner_slots) ||
	    !CU_add_test(s, "failure isolation", test_failure_isolation) ||
	    !CU_add_test(s, "retry then success", test_retry_then_success) ||
	    !CU_add_test(s, "retry exhausted", test_retry_exhausted) ||
	    !CU_add_test(s, "cancel mid-run", test_cancel) ||
	    !CU_add_test(s, "cancel before start", test_cancel_before) ||
	    !CU_add_test(s, "lost answer, retried", test_lost_answer_retried) ||
	    !CU_add_test(s, "lost answer, next job", test_lost_answer_next_job) ||
	    !CU_add_test(s, "update in place", test_update) ||
	    !CU_add_test(s, "replace create-before-delete", test_replace_create_before_delete) ||
	    !CU_add_test(s, "replace, lost answer", test_replace_lost_answer) ||
	    !CU_add_test(s, "replace chain", test_replace_chain) ||
	    !CU_add_test(s, "replace failure skips", test_replace_failure_skips) ||
	    !CU_add_test(s, "delete already gone", test_delete_already_gone) ||
	    !CU_add_test(s, "recreate after gone", test_recreate_after_gone) ||
	    !CU_add_test(s, "partial create recorded", test_partial_create_recorded) ||
	    !CU_add_test(s, "partial create not retried", test_partial_create_not_retried) ||
	    !CU_add_test(s, "replace answered by the old one", test_replace_same_answer) ||
	    !CU_add_test(s, "plan after run is empty", test_plan_after_run_is_empty) ||
	    !CU_add_test(s, "computed plans: replace, kill", test_plans_replace_and_kill) ||
	    !CU_add_test(s, "invalid and odd plans", test_invalid) ||
	    !CU_add_test(s, "resource tags", test_resource_tags))
		return 1;
	return 0;
}
