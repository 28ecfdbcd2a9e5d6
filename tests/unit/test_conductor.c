/* test_conductor.c - the Conductor's core (daemon/src/conductor.c,
 * commands.c, jobs.c, enforce.c, recovery.c) driven through
 * fugue_conductor_handle with a reply that collects the messages, against
 * the fake planner (tests/planners/fake): its service is a directory, so a
 * test makes drift the way a person would, behind the Conductor's back, by
 * editing or deleting a resource file.
 *
 * Every test gets fresh directories (state, fake service) and its own
 * conductor. The fake planner's .so comes from CTest (FUGUE_TEST_FAKE_SO). */
#include <dirent.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "conductor.h"
#include "envelope.h"
#include "fugue/log.h"
#include "state.h"
#include "testmain.h"

#define WAIT_MS 30000

static const char COMPOSITION[] = "composition: web\n"
                                  "resources:\n"
                                  "  net:\n"
                                  "    type: Fake.Net.Network\n"
                                  "    cidr: 10.0.0.0/16\n"
                                  "    name: main\n"
                                  "  sub:\n"
                                  "    type: Fake.Net.Subnet\n"
                                  "    network: !ref net\n"
                                  "    cidr: 10.0.1.0/24\n"
                                  "  srv:\n"
                                  "    type: Fake.Compute.Server\n"
                                  "    subnet: !ref sub\n"
                                  "    size: small\n";

/* The same with an independent branch (net2), for failure isolation. */
static const char TWO_BRANCHES[] = "composition: two\n"
                                   "resources:\n"
                                   "  net:\n"
                                   "    type: Fake.Net.Network\n"
                                   "    cidr: 10.0.0.0/16\n"
                                   "  sub:\n"
                                   "    type: Fake.Net.Subnet\n"
                                   "    network: !ref net\n"
                                   "    cidr: 10.0.1.0/24\n"
                                   "  srv:\n"
                                   "    type: Fake.Compute.Server\n"
                                   "    subnet: !ref sub\n"
                                   "  net2:\n"
                                   "    type: Fake.Net.Network\n"
                                   "    cidr: 10.9.0.0/16\n";

/* --- fixtures -------------------------------------------------------------------- */

static char *planners_dir;
static char *fake_dir;
static char *state_dir;
static fugue_conductor *cond;

static char *join(const char *dir, const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s", dir, name) < 0)
		abort();
	return p;
}

/* Opens without starting: no job, no pass runs; what status shows then
 * comes from the store only. */
static int open_conductor_stopped(void)
{
	fugue_conductor_config cfg = FUGUE_CONDUCTOR_CONFIG_INIT;
	char err[256];
	int rc;

	cfg.state_dir = state_dir;
	cfg.planners_dir = planners_dir;
	cfg.region = "local-1";
	cfg.enforce_interval_ms = 600000;
	cfg.no_aws = 1;
	rc = fugue_conductor_open(&cond, &cfg, err, sizeof(err));
	if (rc != 0)
		fprintf(stderr, "conductor open: %s\n", err);
	return rc;
}

static int open_conductor(void)
{
	fugue_conductor_config cfg = FUGUE_CONDUCTOR_CONFIG_INIT;
	char err[256];
	int rc;

	cfg.state_dir = state_dir;
	cfg.planners_dir = planners_dir;
	cfg.region = "local-1";
	cfg.enforce_interval_ms = 60000;
	cfg.concurrency = 4;
	cfg.retry_base_ms = 50;
	cfg.no_aws = 1;
	rc = fugue_conductor_open(&cond, &cfg, err, sizeof(err));
	if (rc != 0) {
		fprintf(stderr, "conductor open: %s\n", err);
		return rc;
	}
	return fugue_conductor_start(cond);
}

static void close_conductor(void)
{
	fugue_conductor_free(cond);
	cond = NULL;
}

static int setup(void)
{
	const char *so = fugue_test_require_env("FUGUE_TEST_FAKE_SO", "run me through ctest");
	char *link;

	planners_dir = fugue_test_tmpdir();
	fake_dir = fugue_test_tmpdir();
	state_dir = join(fake_dir, "_state"); /* not a resource file name: the fake ignores it */
	link = join(planners_dir, "fake.so");
	if (symlink(so, link) != 0) {
		perror(link);
		abort();
	}
	free(link);
	setenv("FUGUE_FAKE_DIR", fake_dir, 1);
	return 0;
}

static int teardown(void)
{
	close_conductor();
	fugue_test_rmtree(fake_dir);
	fugue_test_rmtree(planners_dir);
	free(fake_dir);
	free(planners_dir);
	free(state_dir);
	fake_dir = planners_dir = state_dir = NULL;
	unsetenv("FUGUE_FAKE_DIR");
	return 0;
}

static void fresh(void)
{
	teardown();
	setup();
	CU_ASSERT_FATAL(open_conductor() == 0);
}

/* --- requests -------------------------------------------------------------------- */

/* Messages of one request as they arrive. */
struct collector {
	pthread_mutex_t mu;
	pthread_cond_t cond;
	struct json_object *msgs; /* array */
	int final;
};

static int collect(const char *line, size_t len, void *transport)
{
	struct collector *col = transport;
	struct json_object *m = json_tokener_parse(line);
	struct json_object *v;

	(void)len;
	pthread_mutex_lock(&col->mu);
	if (m) {
		json_object_array_add(col->msgs, m);
		if (json_object_object_get_ex(m, "ok", &v))
			col->final = 1;
	}
	pthread_cond_broadcast(&col->cond);
	pthread_mutex_unlock(&col->mu);
	return 0;
}

static struct collector *collector_new(void)
{
	struct collector *col = calloc(1, sizeof(*col));

	pthread_mutex_init(&col->mu, NULL);
	pthread_cond_init(&col->cond, NULL);
	col->msgs = json_object_new_array();
	return col;
}

static void collector_free(struct collector *col)
{
	/* The job's thread may still be leaving collect(): take the lock once
	 * so that its unlock happens before the destroy. */
	pthread_mutex_lock(&col->mu);
	pthread_mutex_unlock(&col->mu);
	json_object_put(col->msgs);
	pthread_cond_destroy(&col->cond);
	pthread_mutex_destroy(&col->mu);
	free(col);
}

/* Waits for the final message; returns it (borrowed from COL) or NULL. */
static struct json_object *collector_wait(struct collector *col)
{
	struct timespec t;
	struct json_object *last = NULL;

	clock_gettime(CLOCK_REALTIME, &t);
	t.tv_sec += WAIT_MS / 1000;
	pthread_mutex_lock(&col->mu);
	while (!col->final && pthread_cond_timedwait(&col->cond, &col->mu, &t) == 0)
		;
	if (col->final)
		last = json_object_array_get_idx(col->msgs,
		                                 json_object_array_length(col->msgs) - 1);
	pthread_mutex_unlock(&col->mu);
	return last;
}

/* Sends COMMAND with ARGS (JSON text, printf-style) and returns the
 * collector once the final message arrived (caller frees). */
static struct collector *send_request(const char *command, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static struct collector *send_request(const char *command, const char *fmt, ...)
{
	struct collector *col = collector_new();
	fugue_request req;
	fugue_reply *reply;
	char *text = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&text, fmt, ap) < 0)
		abort();
	va_end(ap);
	memset(&req, 0, sizeof(req));
	req.id = strdup("t1");
	req.command = strdup(command);
	req.args = json_tokener_parse(text);
	req.uid = 4242;
	req.pid = getpid();
	if (!req.args) {
		fprintf(stderr, "bad test args: %s\n", text);
		abort();
	}
	free(text);
	reply = fugue_reply_new("t1", collect, col);
	fugue_conductor_handle(&req, reply, cond);
	fugue_reply_unref(reply);
	fugue_request_clear(&req);
	collector_wait(col);
	return col;
}

static struct json_object *final_of(struct collector *col)
{
	size_t n = json_object_array_length(col->msgs);

	return n ? json_object_array_get_idx(col->msgs, n - 1) : NULL;
}

static struct json_object *get(struct json_object *o, const char *path)
{
	char key[128];
	const char *dot;
	struct json_object *v = o;

	while (v && path && *path) {
		dot = strchr(path, '.');
		snprintf(key, sizeof(key), "%.*s", dot ? (int)(dot - path) : (int)strlen(path),
		         path);
		if (json_object_is_type(v, json_type_array))
			v = json_object_array_get_idx(v, (size_t)atoi(key));
		else if (!json_object_object_get_ex(v, key, &v))
			v = NULL;
		path = dot ? dot + 1 : NULL;
	}
	return v;
}

static const char *get_str(struct json_object *o, const char *path)
{
	struct json_object *v = get(o, path);

	return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static int is_ok(struct collector *col)
{
	struct json_object *f = final_of(col);
	struct json_object *ok = get(f, "ok");

	if (!ok || !json_object_get_boolean(ok)) {
		fprintf(stderr, "not ok: %s\n", f ? json_object_to_json_string(f) : "(no answer)");
		return 0;
	}
	return 1;
}

static const char *error_code(struct collector *col)
{
	return get_str(final_of(col), "error.code");
}

/* A command expected to succeed: its result, copied (caller puts). */
static struct json_object *ok_result(const char *command, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static struct json_object *ok_result(const char *command, const char *fmt, ...)
{
	struct collector *col;
	struct json_object *r = NULL;
	char *text = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&text, fmt, ap) < 0)
		abort();
	va_end(ap);
	col = send_request(command, "%s", text);
	free(text);
	CU_ASSERT(is_ok(col));
	r = json_object_get(get(final_of(col), "result"));
	collector_free(col);
	return r;
}

/* Runs the composition and returns its FID (static buffer). */
static const char *run_ok(const char *source, const char *alias)
{
	static char fid[64];
	struct json_object *src = json_object_new_string(source);
	struct collector *col;

	col = send_request("run", "{\"source\": %s, \"sourceName\": \"web.yaml\"%s%s%s}",
	                   json_object_to_json_string(src), alias ? ", \"alias\": \"" : "",
	                   alias ? alias : "", alias ? "\"" : "");
	json_object_put(src);
	CU_ASSERT(is_ok(col));
	snprintf(fid, sizeof(fid), "%s", fugue_test_nn(get_str(final_of(col), "result.fid")));
	collector_free(col);
	return fid;
}

/* --- the fake service ------------------------------------------------------------ */

static int is_resource_file(const char *name)
{
	size_t n = strlen(name);

	return name[0] != '_' && name[0] != '.' && n > 5 && strcmp(name + n - 5, ".json") == 0;
}

/* Every resource of the fake service, as an array (caller puts). */
static struct json_object *fake_resources(void)
{
	struct json_object *all = json_object_new_array();
	struct dirent *de;
	DIR *d = opendir(fake_dir);

	while (d && (de = readdir(d))) {
		char *path;
		struct json_object *rec;

		if (!is_resource_file(de->d_name))
			continue;
		path = join(fake_dir, de->d_name);
		rec = json_object_from_file(path);
		free(path);
		if (rec)
			json_object_array_add(all, rec);
	}
	if (d)
		closedir(d);
	return all;
}

static size_t fake_count(const char *type)
{
	struct json_object *all = fake_resources();
	size_t n = 0;
	size_t i;

	for (i = 0; i < json_object_array_length(all); i++) {
		const char *t = get_str(json_object_array_get_idx(all, i), "type");

		if (!type || (t && strcmp(t, type) == 0))
			n++;
	}
	json_object_put(all);
	return n;
}

/* The fake's record of the resource NAME (by its fugue:resource tag),
 * copied; NULL when none. */
static struct json_object *fake_find(const char *name)
{
	struct json_object *all = fake_resources();
	struct json_object *found = NULL;
	size_t i;

	for (i = 0; i < json_object_array_length(all) && !found; i++) {
		struct json_object *rec = json_object_array_get_idx(all, i);
		const char *tag = get_str(rec, "tags.fugue:resource");

		if (tag && strcmp(tag, name) == 0)
			found = json_object_get(rec);
	}
	json_object_put(all);
	return found;
}

static void fake_write(struct json_object *rec)
{
	char *name = NULL;
	char *path;

	if (asprintf(&name, "%s.json", get_str(rec, "id")) < 0)
		abort();
	path = join(fake_dir, name);
	CU_ASSERT(json_object_to_file(path, rec) == 0);
	free(path);
	free(name);
}

/* Changes property PROP of NAME in the fake service (drift). */
static void fake_set(const char *name, const char *prop, const char *value)
{
	struct json_object *rec = fake_find(name);

	CU_ASSERT_PTR_NOT_NULL_FATAL(rec);
	json_object_object_add(get(rec, "properties"), prop, json_object_new_string(value));
	fake_write(rec);
	json_object_put(rec);
}

static void fake_delete(const char *name)
{
	struct json_object *rec = fake_find(name);
	char *file = NULL;
	char *path;

	CU_ASSERT_PTR_NOT_NULL_FATAL(rec);
	if (asprintf(&file, "%s.json", get_str(rec, "id")) < 0)
		abort();
	path = join(fake_dir, file);
	CU_ASSERT(unlink(path) == 0);
	free(path);
	free(file);
	json_object_put(rec);
}

static void fake_faults(const char *json)
{
	free(fugue_test_write_file(fake_dir, "_faults.json", json));
}

static long fake_calls(const char *op, const char *type)
{
	char *path = join(fake_dir, "_calls.json");
	struct json_object *calls = json_object_from_file(path);
	struct json_object *op_calls = get(calls, op);
	struct json_object *n = NULL;
	long v;

	free(path);
	if (op_calls)
		json_object_object_get_ex(op_calls, type, &n);
	v = n ? (long)json_object_get_int64(n) : 0;
	json_object_put(calls);
	return v;
}

/* --- waiting --------------------------------------------------------------------- */

static void sleep_ms(long ms)
{
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&t, NULL);
}

/* Polls PRED until it holds or WAIT_MS passed; returns whether it held. */
static int eventually(int (*pred)(const void *arg), const void *arg)
{
	long waited;

	for (waited = 0; waited < WAIT_MS; waited += 25) {
		if (pred(arg))
			return 1;
		sleep_ms(25);
	}
	return pred(arg);
}

static int process_state_is(const void *arg)
{
	const char *const *want = arg; /* {fid, state, message or NULL} */
	struct collector *col = send_request("status", "{\"process\": \"%s\"}", want[0]);
	const char *state = get_str(final_of(col), "result.state");
	const char *msg = get_str(final_of(col), "result.message");
	int yes = state && strcmp(state, want[1]) == 0 &&
	          (!want[2] || (msg && strcmp(msg, want[2]) == 0));

	collector_free(col);
	return yes;
}

static int wait_state(const char *fid, const char *state, const char *message)
{
	const char *want[3] = { fid, state, message };

	return eventually(process_state_is, want);
}

/* The newest history entry of FID of KIND (copied), or NULL. */
static struct json_object *history_entry(const char *fid, const char *kind)
{
	struct json_object *r = ok_result("history", "{\"process\": \"%s\", \"limit\": 0}", fid);
	struct json_object *entries = get(r, "entries");
	struct json_object *found = NULL;
	size_t i;

	for (i = 0; entries && i < json_object_array_length(entries) && !found; i++) {
		struct json_object *e = json_object_array_get_idx(entries, i);
		const char *k = get_str(e, "kind");

		if (k && strcmp(k, kind) == 0)
			found = json_object_get(e);
	}
	json_object_put(r);
	return found;
}

static int has_history(const void *arg)
{
	const char *const *want = arg; /* {fid, kind} */
	struct json_object *e = history_entry(want[0], want[1]);

	json_object_put(e);
	return e != NULL;
}

static int fake_prop_is(const void *arg)
{
	const char *const *want = arg; /* {resource, property, value} */
	struct json_object *rec = fake_find(want[0]);
	const char *v = get_str(get(rec, "properties"), want[1]);
	int yes = v && strcmp(v, want[2]) == 0;

	json_object_put(rec);
	return yes;
}

static int fake_has(const void *arg)
{
	struct json_object *rec = fake_find(arg);

	json_object_put(rec);
	return rec != NULL;
}

/* The drift item of HISTORY entry E for RESOURCE.PROPERTY, or NULL. */
static struct json_object *drift_item(struct json_object *e, const char *resource,
                                      const char *property)
{
	struct json_object *items = get(e, "details");
	size_t i;

	for (i = 0; items && i < json_object_array_length(items); i++) {
		struct json_object *it = json_object_array_get_idx(items, i);
		const char *r = get_str(it, "resource");
		const char *p = get_str(it, "property");

		if (r && strcmp(r, resource) == 0 &&
		    ((!property && !p) || (property && p && strcmp(p, property) == 0)))
			return it;
	}
	return NULL;
}

/* --- tests: run, status ---------------------------------------------------------- */

static int event_count(struct collector *col, const char *event, const char *phase)
{
	size_t i;
	int n = 0;

	for (i = 0; i < json_object_array_length(col->msgs); i++) {
		struct json_object *m = json_object_array_get_idx(col->msgs, i);
		const char *e = get_str(m, "event");
		const char *p = get_str(m, "data.phase");

		if (e && strcmp(e, event) == 0 && (!phase || (p && strcmp(p, phase) == 0)))
			n++;
	}
	return n;
}

static void test_run_converges(void)
{
	struct json_object *src = json_object_new_string(COMPOSITION);
	struct collector *col;
	struct json_object *r;
	struct json_object *res;
	const char *fid;
	size_t i;

	fresh();
	col = send_request("run", "{\"source\": %s, \"sourceName\": \"web.yaml\"}",
	                   json_object_to_json_string(src));
	json_object_put(src);
	CU_ASSERT_FATAL(is_ok(col));
	fid = get_str(final_of(col), "result.fid");
	CU_ASSERT_PTR_NOT_NULL_FATAL(fid);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(get_str(final_of(col), "result.alias")), "web");
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(get_str(final_of(col), "result.state")), "Running");
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(get_str(final_of(col), "result.message")),
	                       "SUCCEEDED");
	CU_ASSERT_EQUAL(event_count(col, "plan", NULL), 1);
	CU_ASSERT_EQUAL(event_count(col, "progress", "done"), 3);
	CU_ASSERT_EQUAL(event_count(col, "job", NULL), 1);
	/* Exactly what was declared, tagged with the process. */
	CU_ASSERT_EQUAL(fake_count(NULL), 3);
	CU_ASSERT_EQUAL(fake_count("Fake.Net.Network"), 1);
	CU_ASSERT_EQUAL(fake_count("Fake.Net.Subnet"), 1);
	CU_ASSERT_EQUAL(fake_count("Fake.Compute.Server"), 1);
	r = fake_find("srv");
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(get_str(r, "tags.fugue:fid")), fid);
	json_object_put(r);

	/* status of one: every resource ready with the fake's id. */
	r = ok_result("status", "{\"process\": \"web\"}");
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(get_str(r, "fid")), fid);
	CU_ASSERT_EQUAL(json_object_get_int(get(r, "counts.ready")), 3);
	CU_ASSERT_EQUAL(json_object_get_int(get(r, "counts.total")), 3);
	res = get(r, "resources");
	CU_ASSERT_EQUAL(json_object_array_length(res), 3);
	for (i = 0; i < json_object_array_length(res); i++) {
		struct json_object *item = json_object_array_get_idx(res, i);
		struct json_object *rec = fake_find(fugue_test_nn(get_str(item, "name")));

		CU_ASSERT_STRING_EQUAL(fugue_test_nn(get_str(item, "status")), "Ready");
		CU_ASSERT_STRING_EQUAL(fugue_test_nn(get_str(item, "id")),
		                       fugue_test_nn(get_str(rec, "id")));
		json_object_put(rec);
	}
	CU_ASSERT_PTR_NOT_NULL(get_str(r, "created"));
	CU_ASSERT(json_object_get_boolean(get(r, "enforcement")));
	json_object_put(r);

	/* status of all. */
	r = ok_result("status", "{}");
	CU_ASSERT_EQUAL(json_object_array_length(get(r, "processes")), 1);
	CU_ASSERT_EQUAL(json_object_get_int(get(r, "processes.0.resources.ready")), 3);
	CU_ASSERT_EQUAL(json_object_get_int(get(r, "processes.0.resources.total")), 3);
	json_object_put(r);

	/* One history row for the run, by who asked. */
	r = history_entry(fid, "run");
	CU_ASSERT_PTR_NOT_NULL(r);
	CU_ASSERT_EQUAL(json_object_get_int(get(r, "uid")), 4242);
	json_object_put(r);
	collector_free(col);
}

static void test_run_no_wait_and_dry_run(void)
{
	struct json_object *src = json_object_new_string(COMPOSITION);
	struct collector *col;
	char fid[64];

	fresh();
	col = send_request("run", "{\"source\": %s, \"dryRun\": true}",
	                   json_object_to_json_string(src));
	CU_ASSERT(is_ok(col));
	CU_ASSERT_EQUAL(json_object_get_int(get(final_of(col), "result.plan.summary.create")), 3);
	CU_ASSERT_EQUAL(fake_count(NULL), 0);
	collector_free(col);
	col = send_request("status", "{}");
	CU_ASSERT_EQUAL(json_object_array_length(get(final_of(col), "result.processes")), 0);
	collector_free(col);

	col = send_request("run", "{\"source\": %s, \"wait\": false}",
	                   json_object_to_json_string(src));
	CU_ASSERT(is_ok(col));
	snprintf(fid, sizeof(fid), "%s", fugue_test_nn(get_str(final_of(col), "result.fid")));
	CU_ASSERT_EQUAL(event_count(col, "progress", NULL), 0);
	collector_free(col);
	CU_ASSERT(wait_state(fid, "Running", "SUCCEEDED"));
	CU_ASSERT_EQUAL(fake_count(NULL), 3);
	json_object_put(src);
}

static void test_bad_composition(void)
{
	struct json_object *src = json_object_new_string("resources:\n"
	                                                 "  net:\n"
	                                                 "    type: Fake.Net.Network\n"
	                                                 "    cidr: 10.0.0.0/16\n"
	                                                 "    nmae: x\n");
	struct collector *col;
	struct json_object *d;

	fresh();
	col = send_request("run", "{\"source\": %s, \"sourceName\": \"bad.yaml\"}",
	                   json_object_to_json_string(src));
	json_object_put(src);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(error_code(col)), "invalid_composition");
	CU_ASSERT(strncmp(fugue_test_nn(get_str(final_of(col), "error.message")),
	                  "bad.yaml:5:5: ", 14) == 0);
	d = get(final_of(col), "error.details.diagnostics.0");
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(get_str(d, "file")), "bad.yaml");
	CU_ASSERT_EQUAL(json_object_get_int(get(d, "line")), 5);
	CU_ASSERT_EQUAL(json_object_get_int(get(d, "col")), 5);
	CU_ASSERT_PTR_NOT_NULL(strstr(fugue_test_nn(get_str(d, "message")), "nmae"));
	collector_free(col);
	col = send_request("status", "{}");
	CU_ASSERT_EQUAL(json_object_array_length(get(final_of(col), "result.processes")), 0);
	collector_free(col);
}

static void test_bad_args(void)
{
	static const struct {
		const char *command;
		const char *args;
		const char *code;
		const char *mentions;
	} cases[] = {
		{ "run", "{}", "bad_args", "'source'" },
		{ "run", "{\"source\": 3}", "bad_args", "'source'" },
		{ "run", "{\"source\": \"x\", \"wait\": \"yes\"}", "bad_args", "'wait'" },
		{ "run", "{\"source\": \"x\", \"colour\": 1}", "bad_args", "'colour'" },
		{ "status", "{\"process\": 5}", "bad_args", "'process'" },
		{ "status", "{\"process\": \"nope\"}", "not_found", "nope" },
		{ "history", "{}", "bad_args", "'process'" },
		{ "history", "{\"process\": \"web\", \"limit\": -1}", "bad_args", "'limit'" },
		{ "kill", "{\"process\": \"nope\"}", "not_found", "nope" },
		{ "property", "{\"process\": \"web\", \"key\": \"colour\"}", "bad_args", "colour" },
		{ "property", "{\"process\": \"web\", \"key\": \"lock\", \"value\": \"maybe\"}",
		  "bad_args", "maybe" },
		{ "frobnicate", "{}", "unknown_command", "frobnicate" },
	};
	size_t i;

	fresh();
	run_ok(COMPOSITION, NULL);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct collector *col = send_request(cases[i].command, "%s", cases[i].args);
		const char *msg = get_str(final_of(col), "error.message");

		if (!error_code(col) || strcmp(error_code(col), cases[i].code) != 0 || !msg ||
		    !strstr(msg, cases[i].mentions))
			fprintf(stderr, "case %zu: %s\n", i,
			        json_object_to_json_string(final_of(col)));
		CU_ASSERT_STRING_EQUAL(fugue_test_nn(error_code(col)), cases[i].code);
		CU_ASSERT_PTR_NOT_NULL(strstr(fugue_test_nn(msg), cases[i].mentions));
		collector_free(col);
	}
}

static void test_alias_conflict(void)
{
	struct json_object *src = json_object_new_string(COMPOSITION);
	struct collector *col;

	fresh();
	run_ok(COMPOSITION, NULL);
	col = send_request("run", "{\"source\": %s}", json_object_to_json_string(src));
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(error_code(col)), "conflict");
	CU_ASSERT_PTR_NOT_NULL(strstr(fugue_test_nn(get_str(final_of(col), "error.message")),
	                              "alias 'web' is taken"));
	collector_free(col);
	CU_ASSERT_EQUAL(fake_count(NULL), 3);
	/* Under another alias it is another process with its own resources. */
	run_ok(COMPOSITION, "web2");
	CU_ASSERT_EQUAL(fake_count(NULL), 6);
	json_object_put(src);
}

/* --- update ---------------------------------------------------------------------- */

static char *replace_text(const char *text, const char *from, const char *to)
{
	const char *at = strstr(text, from);
	char *out = NULL;

	CU_ASSERT_PTR_NOT_NULL_FATAL(at);
	if (asprintf(&out, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from)) < 0)
		abort();
	return out;
}

static struct collector *update(const char *process, const char *source, int dry)
{
	struct json_object *src = json_object_new_string(source);
	struct collector *col = send_request(
	        "update", "{\"process\": \"%s\", \"source\": %s, \"sourceName\": \"web.yaml\"%s}",
	        process, json_object_to_json_string(src), dry ? ", \"dryRun\": true" : "");

	json_object_put(src);
	return col;
}

static void test_update(void)
{
	struct json_object *before_srv;
	struct json_object *before_sub;
	struct json_object *after;
	struct collector *col;
	char *v2;
	char *v3;

	fresh();
	run_ok(COMPOSITION, NULL);
	before_srv = fake_find("srv");
	before_sub = fake_find("sub");

	/* In place: the server's size. Dry run first: nothing changes. */
	v2 = replace_text(COMPOSITION, "size: small", "size: medium");
	col = update("web", v2, 1);
	CU_ASSERT(is_ok(col));
	CU_ASSERT_EQUAL(json_object_get_int(get(final_of(col), "result.plan.summary.update")), 1);
	collector_free(col);
	CU_ASSERT(fake_prop_is((const char *[]){ "srv", "size", "small" }));
	col = update("web", v2, 0);
	CU_ASSERT(is_ok(col));
	CU_ASSERT_EQUAL(event_count(col, "plan", NULL), 1);
	collector_free(col);
	after = fake_find("srv");
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(get_str(after, "properties.size")), "medium");
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(get_str(after, "id")),
	                       fugue_test_nn(get_str(before_srv, "id")));
	json_object_put(after);

	/* Replace: the subnet's cidr forces a new subnet (and a new server on it). */
	v3 = replace_text(v2, "cidr: 10.0.1.0/24", "cidr: 10.0.2.0/24");
	col = update("web", v3, 0);
	CU_ASSERT(is_ok(col));
	CU_ASSERT(json_object_get_int(get(final_of(col), "result.plan.summary.replace")) >= 1);
	collector_free(col);
	after = fake_find("sub");
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(get_str(after, "properties.cidr")), "10.0.2.0/24");
	CU_ASSERT_STRING_NOT_EQUAL(fugue_test_nn(get_str(after, "id")),
	                           fugue_test_nn(get_str(before_sub, "id")));
	json_object_put(after);
	CU_ASSERT_EQUAL(fake_count(NULL), 3);
	CU_ASSERT(has_history((const char *[]){ "web", "update" }));

	/* A bad new declaration changes nothing. */
	col = update("web", "resources: [", 0);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(error_code(col)), "invalid_composition");
	collector_free(col);
	CU_ASSERT_EQUAL(fake_count(NULL), 3);
	free(v2);
	free(v3);
	json_object_put(before_srv);
	json_object_put(before_sub);
}

/* --- enforcement ----------------------------------------------------------------- */

static void set_interval(const char *seconds)
{
	struct json_object *r = ok_result(
	        "runtime", "{\"op\": \"set\", \"key\": \"enforce.interval\", \"value\": \"%s\"}",
	        seconds);

	json_object_put(r);
}

static void test_drift_corrected(void)
{
	const char *fid;
	char fidbuf[64];
	struct json_object *e;
	struct json_object *item;

	fresh();
	fid = run_ok(COMPOSITION, NULL);
	snprintf(fidbuf, sizeof(fidbuf), "%s", fid);
	/* Behind the Conductor's back: one resource deleted, one changed. */
	fake_delete("srv");
	fake_set("net", "name", "hacked");
	set_interval("0.1");
	CU_ASSERT(eventually(fake_has, "srv"));
	CU_ASSERT(eventually(fake_prop_is, (const char *[]){ "net", "name", "main" }));
	CU_ASSERT(eventually(has_history, (const char *[]){ fidbuf, "drift" }));
	CU_ASSERT_EQUAL(fake_count(NULL), 3);
	e = history_entry(fidbuf, "drift");
	CU_ASSERT_PTR_NOT_NULL(strstr(fugue_test_nn(get_str(e, "summary")), "corrected"));
	item = drift_item(e, "net", "name");
	if (item) {
		CU_ASSERT_STRING_EQUAL(fugue_test_nn(get_str(item, "declared")), "main");
		CU_ASSERT_STRING_EQUAL(fugue_test_nn(get_str(item, "actual")), "hacked");
		CU_ASSERT_STRING_EQUAL(fugue_test_nn(get_str(item, "action")), "update");
	} else {
		/* The two drifts may have been found by two passes. */
		struct json_object *r = ok_result("history", "{\"process\": \"%s\"}", fidbuf);

		CU_ASSERT_PTR_NOT_NULL(strstr(json_object_to_json_string(r), "\"hacked\""));
		json_object_put(r);
	}
	json_object_put(e);
	CU_ASSERT(wait_state(fidbuf, "Running", NULL));
}

static int drift_status_at_least_one(const void *arg)
{
	struct json_object *r = ok_result("status", "{\"process\": \"%s\"}", (const char *)arg);
	int yes = json_object_get_int(get(r, "drift")) >= 1 && get_str(r, "lastEnforced");

	json_object_put(r);
	return yes;
}

static void test_drift_report_only(void)
{
	struct json_object *r;
	struct json_object *e;
	struct json_object *item;
	char fid[64];

	fresh();
	snprintf(fid, sizeof(fid), "%s", run_ok(COMPOSITION, NULL));
	r = ok_result("property",
	              "{\"process\": \"web\", \"key\": \"enforcement\", \"value\": \"off\"}");
	CU_ASSERT(!json_object_get_boolean(get(r, "enforcement")));
	json_object_put(r);
	fake_set("net", "name", "hacked");
	set_interval("0.1");
	CU_ASSERT(eventually(has_history, (const char *[]){ fid, "drift" }));
	e = history_entry(fid, "drift");
	CU_ASSERT_PTR_NOT_NULL(
	        strstr(fugue_test_nn(get_str(e, "summary")), "not corrected: enforcement off"));
	/* The summary names what drifted, though nothing was corrected. */
	CU_ASSERT_PTR_NOT_NULL(
	        strstr(fugue_test_nn(get_str(e, "summary")), "(net: 1 property changed)"));
	item = drift_item(e, "net", "name");
	CU_ASSERT_PTR_NOT_NULL(item);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(get_str(item, "declared")), "main");
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(get_str(item, "actual")), "hacked");
	json_object_put(e);
	CU_ASSERT(eventually(drift_status_at_least_one, fid));
	/* Recorded only: still as the person left it. */
	CU_ASSERT(fake_prop_is((const char *[]){ "net", "name", "hacked" }));
	/* Enforcement back on: corrected. */
	r = ok_result("property",
	              "{\"process\": \"web\", \"key\": \"enforcement\", \"value\": true}");
	json_object_put(r);
	CU_ASSERT(eventually(fake_prop_is, (const char *[]){ "net", "name", "main" }));
}

/* The resource NAME of a `status PROCESS` result R, borrowed; NULL when none. */
static struct json_object *status_resource(struct json_object *r, const char *name)
{
	struct json_object *list = get(r, "resources");
	size_t i;

	for (i = 0; list && i < json_object_array_length(list); i++) {
		struct json_object *item = json_object_array_get_idx(list, i);

		if (strcmp(fugue_test_nn(get_str(item, "name")), name) == 0)
			return item;
	}
	return NULL;
}

static int drift_status_is_zero(const void *arg)
{
	struct json_object *r = ok_result("status", "{\"process\": \"%s\"}", (const char *)arg);
	struct json_object *net = status_resource(r, "net");
	int yes = get(r, "drift") && json_object_get_int(get(r, "drift")) == 0 &&
	          json_object_array_length(get(net, "drift")) == 0;

	json_object_put(r);
	return yes;
}

/* What status says about enforcement is in the store: a restarted
 * Conductor that has run no pass yet shows it; each resource carries its
 * drift and what it depends on. */
static void test_status_enforcement_persists(void)
{
	struct json_object *r;
	struct json_object *item;
	struct json_object *net;
	char last[64];
	char fid[64];

	fresh();
	snprintf(fid, sizeof(fid), "%s", run_ok(COMPOSITION, NULL));
	r = ok_result("status", "{\"process\": \"%s\"}", fid);
	CU_ASSERT(json_object_is_type(get(r, "lastEnforced"), json_type_null));
	CU_ASSERT_EQUAL(json_object_get_int(get(r, "drift")), 0);
	/* dependsOn: the names each resource references; drift [] when none. */
	CU_ASSERT_STRING_EQUAL(json_object_to_json_string(get(status_resource(r, "net"),
	                                                      "dependsOn")),
	                       "[ ]");
	CU_ASSERT_STRING_EQUAL(
	        fugue_test_nn(get_str(get(status_resource(r, "sub"), "dependsOn"), "0")), "net");
	CU_ASSERT_STRING_EQUAL(
	        fugue_test_nn(get_str(get(status_resource(r, "srv"), "dependsOn"), "0")), "sub");
	CU_ASSERT_EQUAL(json_object_array_length(get(status_resource(r, "srv"), "dependsOn")), 1);
	CU_ASSERT_EQUAL(json_object_array_length(get(status_resource(r, "net"), "drift")), 0);
	/* A run creates; it does not observe. */
	CU_ASSERT(json_object_is_type(get(status_resource(r, "net"), "lastObserved"),
	                              json_type_null));
	json_object_put(r);

	/* Drift left by a report-only pass. */
	json_object_put(ok_result("property", "{\"process\": \"%s\", \"key\": \"enforcement\", "
	                                      "\"value\": false}",
	                          fid));
	fake_set("net", "name", "hacked");
	set_interval("0.1");
	CU_ASSERT_FATAL(eventually(drift_status_at_least_one, fid));
	set_interval("600");
	close_conductor();

	CU_ASSERT_FATAL(open_conductor_stopped() == 0);
	r = ok_result("status", "{\"process\": \"%s\"}", fid);
	CU_ASSERT_PTR_NOT_NULL(get_str(r, "lastEnforced"));
	snprintf(last, sizeof(last), "%s", fugue_test_nn(get_str(r, "lastEnforced")));
	CU_ASSERT_EQUAL(json_object_get_int(get(r, "drift")), 1);
	net = status_resource(r, "net");
	CU_ASSERT_EQUAL(json_object_array_length(get(net, "drift")), 1);
	item = get(net, "drift.0");
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(get_str(item, "property")), "name");
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(get_str(item, "declared")), "main");
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(get_str(item, "actual")), "hacked");
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(get_str(item, "action")), "update");
	CU_ASSERT_EQUAL(json_object_array_length(get(status_resource(r, "sub"), "drift")), 0);
	CU_ASSERT_PTR_NOT_NULL(get_str(net, "lastObserved"));
	json_object_put(r);
	/* The listing too. */
	r = ok_result("status", "{}");
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(get_str(r, "processes.0.lastEnforced")), last);
	CU_ASSERT_EQUAL(json_object_get_int(get(r, "processes.0.drift")), 1);
	json_object_put(r);
	close_conductor();

	/* Enforcement on again: corrected, and the drift is gone from status. */
	CU_ASSERT_FATAL(open_conductor() == 0);
	json_object_put(ok_result("property", "{\"process\": \"%s\", \"key\": \"enforcement\", "
	                                      "\"value\": true}",
	                          fid));
	set_interval("0.1");
	CU_ASSERT(eventually(fake_prop_is, (const char *[]){ "net", "name", "main" }));
	CU_ASSERT(eventually(drift_status_is_zero, fid));
}

/* run, update, resume and kill waited for: the first event is `accepted`
 * with the FID; without wait there is none. */
static void check_accepted(struct collector *col, const char *fid, const char *job)
{
	struct json_object *first = json_object_array_get_idx(col->msgs, 0);

	CU_ASSERT(is_ok(col));
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(get_str(first, "event")), "accepted");
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(get_str(first, "data.fid")), fid);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(get_str(first, "data.alias")), "web");
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(get_str(first, "data.job")), job);
	CU_ASSERT_EQUAL(event_count(col, "accepted", NULL), 1);
}

static void test_accepted_event(void)
{
	struct json_object *src = json_object_new_string(COMPOSITION);
	struct collector *col;
	char fid[64];

	fresh();
	col = send_request("run", "{\"source\": %s}", json_object_to_json_string(src));
	snprintf(fid, sizeof(fid), "%s", fugue_test_nn(get_str(final_of(col), "result.fid")));
	check_accepted(col, fid, "run");
	collector_free(col);
	col = send_request("update", "{\"process\": \"web\", \"source\": %s}",
	                   json_object_to_json_string(src));
	check_accepted(col, fid, "update");
	collector_free(col);
	json_object_put(ok_result("suspend", "{\"process\": \"web\"}"));
	col = send_request("resume", "{\"process\": \"web\"}");
	check_accepted(col, fid, "resume");
	collector_free(col);
	/* Not for a dry run, nor without wait. */
	col = send_request("resume", "{\"process\": \"web\", \"dryRun\": true}");
	CU_ASSERT(is_ok(col));
	CU_ASSERT_EQUAL(event_count(col, "accepted", NULL), 0);
	collector_free(col);
	col = send_request("update", "{\"process\": \"web\", \"source\": %s, \"wait\": false}",
	                   json_object_to_json_string(src));
	CU_ASSERT(is_ok(col));
	CU_ASSERT_EQUAL(event_count(col, "accepted", NULL), 0);
	collector_free(col);
	CU_ASSERT(wait_state(fid, "Running", "SUCCEEDED"));
	col = send_request("kill", "{\"process\": \"web\"}");
	check_accepted(col, fid, "kill");
	collector_free(col);
	json_object_put(src);
}

static void test_ping(void)
{
	struct json_object *r;
	const char *started;

	fresh();
	r = ok_result("ping", "{}");
	CU_ASSERT_PTR_NOT_NULL(get_str(r, "version"));
	CU_ASSERT_EQUAL(json_object_get_int(get(r, "protocol")), FUGUE_PROTOCOL_VERSION);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(get_str(r, "conductor.version")),
	                       fugue_test_nn(get_str(r, "version")));
	CU_ASSERT_EQUAL(json_object_get_int(get(r, "conductor.protocol")), FUGUE_PROTOCOL_VERSION);
	CU_ASSERT_EQUAL(json_object_get_int64(get(r, "conductor.pid")), (int64_t)getpid());
	started = get_str(r, "conductor.started");
	CU_ASSERT_PTR_NOT_NULL(started);
	/* "2024-05-01T12:00:00.000Z" */
	CU_ASSERT_EQUAL(strlen(fugue_test_nn(started)), 24);
	CU_ASSERT_EQUAL(fugue_test_nn(started)[23], 'Z');
	json_object_put(r);
}

/* --- properties, lock ------------------------------------------------------------ */

static void test_lock(void)
{
	static const struct {
		const char *command;
		const char *args;
	} refused[] = {
		{ "update", "{\"process\": \"web\", \"source\": \"resources: {}\"}" },
		{ "kill", "{\"process\": \"web\"}" },
		{ "kill", "{\"process\": \"web\", \"dryRun\": true}" },
		{ "suspend", "{\"process\": \"web\"}" },
		{ "resume", "{\"process\": \"web\"}" },
		{ "release", "{\"process\": \"web\"}" },
		{ "property", "{\"process\": \"web\", \"key\": \"alias\", \"value\": \"x\"}" },
		{ "property",
		  "{\"process\": \"web\", \"key\": \"enforcement\", \"value\": \"off\"}" },
	};
	struct json_object *r;
	struct collector *col;
	size_t i;

	fresh();
	run_ok(COMPOSITION, NULL);
	r = ok_result("property", "{\"process\": \"web\", \"key\": \"lock\", \"value\": \"on\"}");
	CU_ASSERT(json_object_get_boolean(get(r, "lock")));
	json_object_put(r);
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		col = send_request(refused[i].command, "%s", refused[i].args);
		CU_ASSERT_STRING_EQUAL(fugue_test_nn(error_code(col)), "locked");
		CU_ASSERT_PTR_NOT_NULL(
		        strstr(fugue_test_nn(get_str(final_of(col), "error.message")),
		               "fugue property web lock --set off"));
		collector_free(col);
	}
	/* Reading is allowed. */
	json_object_put(ok_result("status", "{\"process\": \"web\"}"));
	json_object_put(ok_result("history", "{\"process\": \"web\"}"));
	json_object_put(ok_result("property", "{\"process\": \"web\"}"));
	CU_ASSERT_EQUAL(fake_count(NULL), 3);
	/* Unlocked, the same commands work again. */
	r = ok_result("property", "{\"process\": \"web\", \"key\": \"lock\", \"value\": \"off\"}");
	CU_ASSERT(!json_object_get_boolean(get(r, "lock")));
	json_object_put(r);
	r = ok_result("property", "{\"process\": \"web\", \"key\": \"alias\", \"value\": \"www\"}");
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(get_str(r, "alias")), "www");
	json_object_put(r);
	CU_ASSERT(has_history((const char *[]){ "www", "property" }));
}

/* --- suspend, resume ------------------------------------------------------------- */

static void test_suspend_resume(void)
{
	struct json_object *r;
	struct collector *col;
	long observes;
	char fid[64];

	fresh();
	snprintf(fid, sizeof(fid), "%s", run_ok(COMPOSITION, NULL));
	r = ok_result("suspend", "{\"process\": \"web\"}");
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(get_str(r, "state")), "Suspended");
	json_object_put(r);
	set_interval("0.05");
	fake_set("net", "name", "hacked");
	observes = fake_calls("observe", "Fake.Net.Network");
	/* Twenty intervals: a running process would have been observed. */
	sleep_ms(1000);
	CU_ASSERT_EQUAL(fake_calls("observe", "Fake.Net.Network"), observes);
	CU_ASSERT(fake_prop_is((const char *[]){ "net", "name", "hacked" }));
	CU_ASSERT(!has_history((const char *[]){ fid, "drift" }));
	/* update refuses a suspended process; a dry-run resume shows the plan. */
	col = update("web", COMPOSITION, 0);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(error_code(col)), "conflict");
	collector_free(col);
	r = ok_result("resume", "{\"process\": \"web\", \"dryRun\": true}");
	CU_ASSERT_EQUAL(json_object_get_int(get(r, "plan.summary.update")), 1);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(get_str(r, "state")), "Suspended");
	json_object_put(r);
	CU_ASSERT(fake_prop_is((const char *[]){ "net", "name", "hacked" }));
	/* resume converges and enforcement starts again. */
	col = send_request("resume", "{\"process\": \"web\"}");
	CU_ASSERT(is_ok(col));
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(get_str(final_of(col), "result.state")), "Running");
	collector_free(col);
	CU_ASSERT(fake_prop_is((const char *[]){ "net", "name", "main" }));
	CU_ASSERT(has_history((const char *[]){ fid, "resume" }));
	CU_ASSERT(has_history((const char *[]){ fid, "suspend" }));
	fake_set("net", "name", "again");
	CU_ASSERT(eventually(fake_prop_is, (const char *[]){ "net", "name", "main" }));
	col = send_request("resume", "{\"process\": \"web\"}");
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(error_code(col)), "conflict");
	collector_free(col);
}

/* --- kill, release --------------------------------------------------------------- */

static void test_kill(void)
{
	struct collector *col;
	struct json_object *r;
	const char *order[3] = { NULL, NULL, NULL };
	size_t n = 0;
	size_t i;
	char fid[64];

	fresh();
	snprintf(fid, sizeof(fid), "%s", run_ok(COMPOSITION, NULL));
	r = ok_result("kill", "{\"process\": \"web\", \"dryRun\": true}");
	CU_ASSERT_EQUAL(json_object_get_int(get(r, "plan.summary.delete")), 3);
	json_object_put(r);
	CU_ASSERT_EQUAL(fake_count(NULL), 3);
	col = send_request("kill", "{\"process\": \"web\"}");
	CU_ASSERT(is_ok(col));
	/* Reverse dependency order: what references comes down first (the fake
	 * also refuses to delete what is still referenced). */
	for (i = 0; i < json_object_array_length(col->msgs); i++) {
		struct json_object *m = json_object_array_get_idx(col->msgs, i);
		const char *phase = get_str(m, "data.phase");

		if (phase && strcmp(phase, "done") == 0 && n < 3)
			order[n++] = get_str(m, "data.resource");
	}
	CU_ASSERT_EQUAL(n, 3);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(order[0]), "srv");
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(order[1]), "sub");
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(order[2]), "net");
	collector_free(col);
	CU_ASSERT_EQUAL(fake_count(NULL), 0);
	col = send_request("status", "{\"process\": \"web\"}");
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(error_code(col)), "not_found");
	collector_free(col);
	/* History outlives the process. */
	CU_ASSERT(has_history((const char *[]){ fid, "kill" }));
	/* The alias is free again. */
	run_ok(COMPOSITION, NULL);
}

static void test_release(void)
{
	struct collector *col;
	struct json_object *r;
	char fid[64];

	fresh();
	snprintf(fid, sizeof(fid), "%s", run_ok(COMPOSITION, NULL));
	r = ok_result("release", "{\"process\": \"web\"}");
	CU_ASSERT_EQUAL(json_object_get_int(get(r, "resources")), 3);
	json_object_put(r);
	col = send_request("status", "{\"process\": \"web\"}");
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(error_code(col)), "not_found");
	collector_free(col);
	/* The resources stay, with our tags. */
	CU_ASSERT_EQUAL(fake_count(NULL), 3);
	r = fake_find("net");
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(get_str(r, "tags.fugue:fid")), fid);
	json_object_put(r);
	CU_ASSERT(has_history((const char *[]){ fid, "release" }));
	/* Not managed any more: drift is nobody's business. */
	set_interval("0.05");
	fake_set("net", "name", "mine now");
	sleep_ms(500);
	CU_ASSERT(fake_prop_is((const char *[]){ "net", "name", "mine now" }));
}

static int server_create_began(const void *arg)
{
	(void)arg;
	return fake_calls("create", "Fake.Compute.Server") >= 1;
}

static int server_update_began(const void *arg)
{
	(void)arg;
	return fake_calls("update", "Fake.Compute.Server") >= 1;
}

/* --- duplicates ------------------------------------------------------------------- */

/* Writes a copy of the fake's record of NAME under a new id: a second
 * resource with NAME's tags, what a create AWS acted on after its answer
 * was lost leaves. Its id into ID. */
static void fake_duplicate(const char *name, char *id, size_t size)
{
	static unsigned int seq;
	struct json_object *rec = fake_find(name);

	CU_ASSERT_PTR_NOT_NULL_FATAL(rec);
	snprintf(id, size, "%s-dup%u", fugue_test_nn(get_str(rec, "id")), ++seq);
	json_object_object_add(rec, "id", json_object_new_string(id));
	json_object_object_del(rec, "clientToken");
	fake_write(rec);
	json_object_put(rec);
}

static int fake_has_id(const void *arg)
{
	char *file = NULL;
	char *path;
	int yes;

	if (asprintf(&file, "%s.json", (const char *)arg) < 0)
		abort();
	path = join(fake_dir, file);
	yes = access(path, F_OK) == 0;
	free(path);
	free(file);
	return yes;
}

static int fake_lacks_id(const void *arg)
{
	return !fake_has_id(arg);
}

/* The id the fake has for NAME into ID (the first found by its tag). */
static void fake_id_of(const char *name, char *id, size_t size)
{
	struct json_object *rec = fake_find(name);

	CU_ASSERT_PTR_NOT_NULL_FATAL(rec);
	snprintf(id, size, "%s", fugue_test_nn(get_str(rec, "id")));
	json_object_put(rec);
}

/* Whether `status` of process ARG lists exactly the three declared
 * resources (no duplicate's record left). */
static int status_has_only_declared(const void *arg)
{
	struct json_object *r = ok_result("status", "{\"process\": \"%s\"}", (const char *)arg);
	int yes = json_object_array_length(get(r, "resources")) == 3 &&
	          status_resource(r, "net") && status_resource(r, "sub") &&
	          status_resource(r, "srv");

	json_object_put(r);
	return yes;
}

/* A second resource with a declared one's tags is drift: the next pass
 * tracks it as "NAME~ID", deletes it and keeps the original. */
static void test_duplicate_deleted(void)
{
	struct json_object *e;
	struct json_object *r;
	char name[256];
	char orig[128];
	char dup[128];
	char fid[64];

	fresh();
	snprintf(fid, sizeof(fid), "%s", run_ok(COMPOSITION, NULL));
	fake_id_of("sub", orig, sizeof(orig));
	fake_duplicate("sub", dup, sizeof(dup));
	CU_ASSERT_EQUAL(fake_count("Fake.Net.Subnet"), 2);
	set_interval("0.1");
	CU_ASSERT(eventually(fake_lacks_id, dup));
	CU_ASSERT(fake_has_id(orig));
	CU_ASSERT_EQUAL(fake_count(NULL), 3);
	CU_ASSERT(eventually(has_history, (const char *[]){ fid, "drift" }));
	e = history_entry(fid, "drift");
	snprintf(name, sizeof(name), "sub~%s", dup);
	CU_ASSERT_PTR_NOT_NULL(strstr(fugue_test_nn(get_str(e, "summary")), "corrected"));
	CU_ASSERT_PTR_NOT_NULL(strstr(fugue_test_nn(get_str(e, "summary")), "a duplicate of sub"));
	CU_ASSERT_PTR_NOT_NULL(drift_item(e, name, NULL));
	json_object_put(e);
	CU_ASSERT(eventually(status_has_only_declared, fid));
	r = ok_result("status", "{\"process\": \"%s\"}", fid);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(get_str(status_resource(r, "sub"), "id")), orig);
	json_object_put(r);
	CU_ASSERT(wait_state(fid, "Running", NULL));
}

static int status_lists(const void *arg)
{
	const char *const *want = arg; /* {fid, resource} */
	struct json_object *r = ok_result("status", "{\"process\": \"%s\"}", want[0]);
	int yes = status_resource(r, want[1]) != NULL;

	json_object_put(r);
	return yes;
}

/* With enforcement off a duplicate is tracked and shown, not deleted; kill
 * deletes it with the rest, in dependency order (a duplicate server in the
 * original subnet goes before it: the fake refuses otherwise). */
static void test_duplicate_report_only_then_kill(void)
{
	struct json_object *r;
	char dup_sub[128];
	char dup_srv[128];
	char name[256];
	char fid[64];

	fresh();
	snprintf(fid, sizeof(fid), "%s", run_ok(COMPOSITION, NULL));
	r = ok_result("property",
	              "{\"process\": \"web\", \"key\": \"enforcement\", \"value\": \"off\"}");
	json_object_put(r);
	fake_duplicate("sub", dup_sub, sizeof(dup_sub));
	fake_duplicate("srv", dup_srv, sizeof(dup_srv));
	set_interval("0.1");
	snprintf(name, sizeof(name), "srv~%s", dup_srv);
	CU_ASSERT(eventually(status_lists, (const char *[]){ fid, name }));
	snprintf(name, sizeof(name), "sub~%s", dup_sub);
	CU_ASSERT(eventually(status_lists, (const char *[]){ fid, name }));
	CU_ASSERT(eventually(drift_status_at_least_one, fid));
	CU_ASSERT(fake_has_id(dup_sub));
	CU_ASSERT(fake_has_id(dup_srv));
	CU_ASSERT_EQUAL(fake_count(NULL), 5);
	set_interval("3600");
	r = ok_result("kill", "{\"process\": \"web\"}");
	json_object_put(r);
	CU_ASSERT_EQUAL(fake_count(NULL), 0);
}

/* Kill finds a duplicate no pass has seen yet (its observation comes first). */
static void test_duplicate_kill(void)
{
	struct json_object *r;
	char dup[128];
	char fid[64];

	fresh();
	snprintf(fid, sizeof(fid), "%s", run_ok(COMPOSITION, NULL));
	fake_duplicate("net", dup, sizeof(dup));
	CU_ASSERT_EQUAL(fake_count(NULL), 4);
	r = ok_result("kill", "{\"process\": \"web\"}");
	json_object_put(r);
	CU_ASSERT_EQUAL(fake_count(NULL), 0);
	CU_ASSERT(has_history((const char *[]){ fid, "kill" }));
}

/* --- details spread over passes ---------------------------------------------------- */

#define MANY_NETWORKS 60

static long observe_calls(void)
{
	return fake_calls("observe", "Fake.Net.Network");
}

static int observed_six_more(const void *arg)
{
	return observe_calls() >= *(const long *)arg + 6;
}

/* A routine pass reads the per-resource details (a network's name, in the
 * fake) of a slice of at most FUGUE_CORE_DETAILS_PER_PASS (10) resources
 * per type, turn about: 60 networks are read 10 a pass, and drift in a
 * detail is still found (within six passes). */
static void test_details_spread(void)
{
	char *source = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&source, &len);
	long o0, o1, d0, d1, passes, reads;
	int i;

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs("composition: many\nresources:\n", f);
	for (i = 0; i < MANY_NETWORKS; i++)
		fprintf(f, "  n%02d:\n    type: Fake.Net.Network\n    cidr: 10.%d.0.0/16\n"
		           "    name: n%02d\n", i, i, i);
	fclose(f);
	fresh();
	run_ok(source, NULL);
	free(source);
	o0 = observe_calls();
	d0 = fake_calls("details", "Fake.Net.Network");
	set_interval("0.1");
	CU_ASSERT(eventually(observed_six_more, &o0));
	set_interval("3600");
	/* A pass may be under way: its observe is counted, not all its reads. */
	o1 = observe_calls();
	d1 = fake_calls("details", "Fake.Net.Network");
	passes = o1 - o0;
	reads = d1 - d0;
	CU_ASSERT(passes >= 6);
	CU_ASSERT(reads <= 10 * passes);
	CU_ASSERT(reads >= 10 * (passes - 1));
	/* A detail's drift: found within six passes, corrected. */
	fake_set("n37", "name", "hacked");
	set_interval("0.1");
	CU_ASSERT(eventually(fake_prop_is, (const char *[]){ "n37", "name", "n37" }));
	set_interval("3600");
}

static void test_cancel_running_job(void)
{
	struct json_object *src = json_object_new_string(COMPOSITION);
	struct collector *col;
	struct json_object *r;
	char fid[64];

	fresh();
	/* The server's create hangs (until cancelled): suspend stops the run. */
	fake_faults("{\"create\": {\"Fake.Compute.Server\": {\"delay_ms\": 600000}}}");
	col = send_request("run", "{\"source\": %s, \"wait\": false}",
	                   json_object_to_json_string(src));
	CU_ASSERT(is_ok(col));
	snprintf(fid, sizeof(fid), "%s", fugue_test_nn(get_str(final_of(col), "result.fid")));
	collector_free(col);
	CU_ASSERT_FATAL(eventually(server_create_began, NULL));
	r = ok_result("suspend", "{\"process\": \"web\"}");
	json_object_put(r);
	CU_ASSERT(wait_state(fid, "Suspended", NULL));
	CU_ASSERT(!fake_has("srv"));
	/* resume finishes the run. */
	fake_faults("{}");
	r = ok_result("resume", "{\"process\": \"web\"}");
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(get_str(r, "state")), "Running");
	json_object_put(r);
	CU_ASSERT_EQUAL(fake_count("Fake.Compute.Server"), 1);

	/* kill during an update whose create hangs: the update stops, the kill wins. */
	fake_faults("{\"update\": {\"*\": {\"delay_ms\": 600000}}}");
	{
		char *v2 =
		        replace_text(COMPOSITION, "size: small", "size: large\n    password: pw");
		struct json_object *s2 = json_object_new_string(v2);

		col = send_request("update",
		                   "{\"process\": \"web\", \"source\": %s, \"wait\": false}",
		                   json_object_to_json_string(s2));
		CU_ASSERT(is_ok(col));
		collector_free(col);
		json_object_put(s2);
		free(v2);
	}
	CU_ASSERT(eventually(server_update_began, NULL));
	col = send_request("kill", "{\"process\": \"web\"}");
	CU_ASSERT(is_ok(col));
	collector_free(col);
	CU_ASSERT_EQUAL(fake_count(NULL), 0);
	json_object_put(src);
}

/* --- failures -------------------------------------------------------------------- */

static void test_failure_isolation_and_retry(void)
{
	struct json_object *src = json_object_new_string(TWO_BRANCHES);
	struct collector *col;
	struct json_object *e;
	char fid[64];

	fresh();
	fake_faults("{\"create\": {\"Fake.Net.Subnet\": {\"fail\": 1, \"code\": "
	            "\"InvalidParameterValue\", \"message\": \"no such zone\"}}}");
	col = send_request("run", "{\"source\": %s}", json_object_to_json_string(src));
	json_object_put(src);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(error_code(col)), "failed");
	CU_ASSERT_PTR_NOT_NULL(
	        strstr(fugue_test_nn(get_str(final_of(col), "error.message")), "FAILED: sub: "));
	snprintf(fid, sizeof(fid), "%s",
	         fugue_test_nn(get_str(final_of(col), "error.details.fid")));
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(get_str(final_of(col), "error.details.state")),
	                       "Failed");
	collector_free(col);
	/* The unrelated branch went on; the dependent one did not start. */
	CU_ASSERT(fake_has("net2"));
	CU_ASSERT(fake_has("net"));
	CU_ASSERT(!fake_has("srv"));
	e = history_entry(fid, "run");
	CU_ASSERT_PTR_NOT_NULL(strstr(fugue_test_nn(get_str(e, "summary")), "FAILED: sub"));
	CU_ASSERT_PTR_NOT_NULL(
	        strstr(json_object_to_json_string(get(e, "details")), "InvalidParameterValue"));
	CU_ASSERT_PTR_NOT_NULL(strstr(json_object_to_json_string(get(e, "details")), "fake-"));
	json_object_put(e);
	/* Retried later (the fault was one call): converges on its own. */
	CU_ASSERT(wait_state(fid, "Running", "SUCCEEDED"));
	CU_ASSERT_EQUAL(fake_count(NULL), 4);
	CU_ASSERT(has_history((const char *[]){ fid, "enforce" }));
}

/* --- runtime settings ------------------------------------------------------------ */

static void test_runtime(void)
{
	static const char *const bad[] = {
		"{\"op\": \"set\", \"key\": \"enforce.interval\", \"value\": \"0\"}",
		"{\"op\": \"set\", \"key\": \"enforce.interval\", \"value\": \"abc\"}",
		"{\"op\": \"set\", \"key\": \"enforce.interval.nope\", \"value\": \"5\"}",
		"{\"op\": \"set\", \"key\": \"concurrency\", \"value\": \"0\"}",
		"{\"op\": \"set\", \"key\": \"concurrency.fake\", \"value\": \"-1\"}",
		"{\"op\": \"set\", \"key\": \"log.level\", \"value\": \"loud\"}",
		"{\"op\": \"set\", \"key\": \"colour\", \"value\": \"red\"}",
		"{\"op\": \"set\", \"key\": \"concurrency\"}",
		"{\"op\": \"frob\"}",
		"{\"op\": \"get\"}",
	};
	struct json_object *r;
	struct collector *col;
	size_t i;

	fresh();
	/* (keys have dots: looked up directly) */
	r = ok_result("runtime", "{\"op\": \"list\"}");
	{
		struct json_object *s = get(r, "settings");
		struct json_object *v = NULL;

		CU_ASSERT(json_object_object_get_ex(s, "enforce.interval", &v));
		CU_ASSERT_STRING_EQUAL(fugue_test_nn(json_object_get_string(v)), "60");
		CU_ASSERT(json_object_object_get_ex(s, "enforce.interval.fake", &v));
		CU_ASSERT(json_object_object_get_ex(s, "concurrency", &v));
		CU_ASSERT_STRING_EQUAL(fugue_test_nn(json_object_get_string(v)), "4");
		CU_ASSERT(json_object_object_get_ex(s, "log.level", &v));
	}
	json_object_put(r);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		col = send_request("runtime", "%s", bad[i]);
		if (!error_code(col) || strcmp(error_code(col), "bad_args") != 0)
			fprintf(stderr, "runtime case %zu: %s\n", i,
			        json_object_to_json_string(final_of(col)));
		CU_ASSERT_STRING_EQUAL(fugue_test_nn(error_code(col)), "bad_args");
		collector_free(col);
	}
	r = ok_result("runtime", "{\"op\": \"set\", \"key\": \"concurrency\", \"value\": 8}");
	json_object_put(r);
	r = ok_result("runtime", "{\"op\": \"get\", \"key\": \"concurrency\"}");
	{
		struct json_object *v = NULL;

		CU_ASSERT(json_object_object_get_ex(get(r, "settings"), "concurrency", &v));
		CU_ASSERT_STRING_EQUAL(fugue_test_nn(json_object_get_string(v)), "8");
	}
	json_object_put(r);
	r = ok_result("runtime",
	              "{\"op\": \"set\", \"key\": \"enforce.interval.fake\", \"value\": \"2.5\"}");
	json_object_put(r);
	/* Kept in the state store: a new conductor applies them. */
	close_conductor();
	CU_ASSERT_FATAL(open_conductor() == 0);
	r = ok_result("runtime", "{\"op\": \"list\"}");
	{
		struct json_object *v = NULL;

		CU_ASSERT(json_object_object_get_ex(get(r, "settings"), "concurrency", &v));
		CU_ASSERT_STRING_EQUAL(fugue_test_nn(json_object_get_string(v)), "8");
		CU_ASSERT(
		        json_object_object_get_ex(get(r, "settings"), "enforce.interval.fake", &v));
		CU_ASSERT_STRING_EQUAL(fugue_test_nn(json_object_get_string(v)), "2.5");
	}
	json_object_put(r);
	r = ok_result("runtime", "{\"op\": \"unset\", \"key\": \"concurrency\"}");
	{
		struct json_object *v = NULL;

		CU_ASSERT(json_object_object_get_ex(get(r, "settings"), "concurrency", &v));
		CU_ASSERT_STRING_EQUAL(fugue_test_nn(json_object_get_string(v)), "4");
	}
	json_object_put(r);
}

/* --- recovery -------------------------------------------------------------------- */

/* With the conductor closed: makes the record of RESOURCE look as a crash
 * in the middle of its create leaves it (status Creating, no id) with an
 * open journal entry. */
static void fake_crash_in_create(const char *fid, const char *resource)
{
	fugue_state *st = NULL;
	fugue_state_resource r;
	int64_t entry;

	CU_ASSERT_FATAL(fugue_state_open(&st, state_dir, NULL) == 0);
	CU_ASSERT_FATAL(fugue_state_resource_get(&r, st, fid, resource, NULL) == 0);
	free(r.aws_id);
	free(r.observed);
	free(r.attributes);
	r.aws_id = r.observed = r.attributes = NULL;
	r.status = FUGUE_RESOURCE_CREATING;
	CU_ASSERT(fugue_state_resource_put(st, &r, NULL) == 0);
	fugue_state_resource_clear(&r);
	CU_ASSERT(fugue_state_journal_begin(&entry, st, fid, resource, FUGUE_JOURNAL_CREATE, NULL,
	                                    NULL) == 0);
	fugue_state_close(st);
}

static size_t open_journal_entries(void)
{
	fugue_state_journal *open = NULL;
	fugue_state *st = NULL;
	size_t n = 0;

	CU_ASSERT_FATAL(fugue_state_open(&st, state_dir, NULL) == 0);
	fugue_state_journal_open_entries(&open, &n, st, NULL);
	fugue_state_journal_list_free(open, n);
	fugue_state_close(st);
	return n;
}

static int all_ready(const void *arg)
{
	struct json_object *r = ok_result("status", "{\"process\": \"%s\"}", (const char *)arg);
	int yes = json_object_get_int(get(r, "counts.ready")) == 3 &&
	          json_object_get_int(get(r, "counts.total")) == 3;

	json_object_put(r);
	return yes;
}

static void test_recovery_adopts(void)
{
	struct json_object *before;
	struct json_object *r;
	size_t i;
	char fid[64];

	fresh();
	snprintf(fid, sizeof(fid), "%s", run_ok(COMPOSITION, NULL));
	before = fake_find("srv");
	close_conductor();
	/* The create reached the fake service, its answer never came back. */
	fake_crash_in_create(fid, "srv");
	CU_ASSERT_EQUAL(open_journal_entries(), 1);
	CU_ASSERT_FATAL(open_conductor() == 0);
	CU_ASSERT(eventually(all_ready, fid));
	CU_ASSERT_EQUAL(fake_count("Fake.Compute.Server"), 1);
	CU_ASSERT_EQUAL(fake_count(NULL), 3);
	r = ok_result("status", "{\"process\": \"%s\"}", fid);
	for (i = 0; i < json_object_array_length(get(r, "resources")); i++) {
		struct json_object *item = json_object_array_get_idx(get(r, "resources"), i);

		if (strcmp(fugue_test_nn(get_str(item, "name")), "srv") == 0)
			CU_ASSERT_STRING_EQUAL(fugue_test_nn(get_str(item, "id")),
			                       fugue_test_nn(get_str(before, "id")));
	}
	json_object_put(r);
	json_object_put(before);
	close_conductor();
	CU_ASSERT_EQUAL(open_journal_entries(), 0);
}

static void test_recovery_not_found(void)
{
	char fid[64];

	fresh();
	snprintf(fid, sizeof(fid), "%s", run_ok(COMPOSITION, NULL));
	close_conductor();
	/* The crash came before the create reached the service. */
	fake_delete("srv");
	fake_crash_in_create(fid, "srv");
	CU_ASSERT_FATAL(open_conductor() == 0);
	CU_ASSERT(eventually(all_ready, fid));
	CU_ASSERT(eventually(fake_has, "srv"));
	CU_ASSERT_EQUAL(fake_count("Fake.Compute.Server"), 1);
	CU_ASSERT_EQUAL(fake_count(NULL), 3);
	close_conductor();
	CU_ASSERT_EQUAL(open_journal_entries(), 0);
}

static void test_recovery_delete(void)
{
	fugue_state *st = NULL;
	fugue_state_resource r;
	int64_t entry;
	char fid[64];
	struct json_object *src = json_object_new_string(TWO_BRANCHES);
	struct collector *col;

	fresh();
	col = send_request("run", "{\"source\": %s}", json_object_to_json_string(src));
	json_object_put(src);
	CU_ASSERT(is_ok(col));
	snprintf(fid, sizeof(fid), "%s", fugue_test_nn(get_str(final_of(col), "result.fid")));
	collector_free(col);
	/* A kill died after deleting net2 and before recording it. */
	close_conductor();
	CU_ASSERT_FATAL(fugue_state_open(&st, state_dir, NULL) == 0);
	CU_ASSERT(fugue_state_process_set_state(st, fid, FUGUE_PROCESS_KILLING, "KILLING", NULL) ==
	          0);
	CU_ASSERT_FATAL(fugue_state_resource_get(&r, st, fid, "net2", NULL) == 0);
	r.status = FUGUE_RESOURCE_DELETING;
	CU_ASSERT(fugue_state_resource_put(st, &r, NULL) == 0);
	CU_ASSERT(fugue_state_journal_begin(&entry, st, fid, "net2", FUGUE_JOURNAL_DELETE, r.aws_id,
	                                    NULL) == 0);
	fugue_state_resource_clear(&r);
	fugue_state_close(st);
	fake_delete("net2");
	/* The restart resolves the delete and finishes the kill. */
	CU_ASSERT_FATAL(open_conductor() == 0);
	CU_ASSERT(eventually(has_history, (const char *[]){ fid, "kill" }));
	CU_ASSERT_EQUAL(fake_count(NULL), 0);
	close_conductor();
	CU_ASSERT_EQUAL(open_journal_entries(), 0);
}

/* --- registration ---------------------------------------------------------------- */

int fugue_test_register(void)
{
	CU_pSuite s = CU_add_suite("conductor", setup, teardown);

	if (!s)
		return 1;
	fugue_log_set_sink(FUGUE_LOG_SINK_STDERR);
	fugue_log_set_level(getenv("FUGUE_TEST_DEBUG") ? FUGUE_LOG_DEBUG : FUGUE_LOG_ERROR);
	if (!CU_add_test(s, "run converges", test_run_converges) ||
	    !CU_add_test(s, "run without waiting, dry run", test_run_no_wait_and_dry_run) ||
	    !CU_add_test(s, "bad composition", test_bad_composition) ||
	    !CU_add_test(s, "bad arguments", test_bad_args) ||
	    !CU_add_test(s, "alias conflict", test_alias_conflict) ||
	    !CU_add_test(s, "update in place and replace", test_update) ||
	    !CU_add_test(s, "drift corrected", test_drift_corrected) ||
	    !CU_add_test(s, "drift recorded only", test_drift_report_only) ||
	    !CU_add_test(s, "status of enforcement persists", test_status_enforcement_persists) ||
	    !CU_add_test(s, "accepted event", test_accepted_event) ||
	    !CU_add_test(s, "ping", test_ping) ||
	    !CU_add_test(s, "lock", test_lock) ||
	    !CU_add_test(s, "suspend and resume", test_suspend_resume) ||
	    !CU_add_test(s, "kill", test_kill) || !CU_add_test(s, "release", test_release) ||
	    !CU_add_test(s, "duplicate deleted", test_duplicate_deleted) ||
	    !CU_add_test(s, "duplicate recorded only, then killed",
	                 test_duplicate_report_only_then_kill) ||
	    !CU_add_test(s, "duplicate found by kill", test_duplicate_kill) ||
	    !CU_add_test(s, "details spread over passes", test_details_spread) ||
	    !CU_add_test(s, "suspend and kill cancel a running job", test_cancel_running_job) ||
	    !CU_add_test(s, "failure isolation and retry", test_failure_isolation_and_retry) ||
	    !CU_add_test(s, "runtime settings", test_runtime) ||
	    !CU_add_test(s, "recovery adopts by tags", test_recovery_adopts) ||
	    !CU_add_test(s, "recovery of a create that never happened", test_recovery_not_found) ||
	    !CU_add_test(s, "recovery of a delete", test_recovery_delete))
		return 1;
	return 0;
}
