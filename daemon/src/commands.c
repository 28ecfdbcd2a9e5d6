/* commands.c - the protocol's commands (docs/protocol.md), one function
 * each. A command checks its arguments, reads or changes the state store,
 * and either answers at once or hands the work to a job (jobs.c) that
 * answers when it ends. Commands run on the transport's thread: nothing
 * here calls a planner. */
#include "conductor_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <json-c/json.h>

#include "fugue/log.h"

#ifndef FUGUE_VERSION
#define FUGUE_VERSION "0"
#endif

typedef void (*command_fn)(fugue_conductor *c, const fugue_request *req, fugue_reply *reply);

/* --- arguments ------------------------------------------------------------------- */

static struct json_object *arg(const fugue_request *req, const char *name)
{
	struct json_object *v = NULL;

	if (!req->args || !json_object_object_get_ex(req->args, name, &v))
		return NULL;
	return json_object_is_type(v, json_type_null) ? NULL : v;
}

/* Refuses arguments the command does not take (a typo must not be ignored).
 * ALLOWED is NULL-terminated. Returns 0, or -1 after answering bad_args. */
static int check_args(const fugue_request *req, fugue_reply *reply, const char *const *allowed)
{
	size_t i;

	if (!req->args)
		return 0;
	if (!json_object_is_type(req->args, json_type_object)) {
		fugue_reply_error(reply, FUGUE_ERR_BAD_ARGS, NULL, "args must be an object");
		return -1;
	}
	json_object_object_foreach (req->args, key, val) {
		(void)val;
		for (i = 0; allowed[i]; i++) {
			if (strcmp(allowed[i], key) == 0)
				break;
		}
		if (!allowed[i]) {
			fugue_reply_error(reply, FUGUE_ERR_BAD_ARGS, NULL,
			                  "%s does not take argument '%s'", req->command, key);
			return -1;
		}
	}
	return 0;
}

/* *OUT: the string argument NAME (borrowed from REQ), NULL when absent and
 * not REQUIRED. Returns 0, or -1 after answering bad_args. */
static int arg_string(const char **out, const fugue_request *req, fugue_reply *reply,
                      const char *name, int required)
{
	struct json_object *v = arg(req, name);

	*out = NULL;
	if (!v) {
		if (!required)
			return 0;
		fugue_reply_error(reply, FUGUE_ERR_BAD_ARGS, NULL, "missing argument '%s'", name);
		return -1;
	}
	if (!json_object_is_type(v, json_type_string)) {
		fugue_reply_error(reply, FUGUE_ERR_BAD_ARGS, NULL, "argument '%s' must be a string",
		                  name);
		return -1;
	}
	*out = json_object_get_string(v);
	if (required && !**out) {
		fugue_reply_error(reply, FUGUE_ERR_BAD_ARGS, NULL, "argument '%s' is empty", name);
		return -1;
	}
	return 0;
}

static int arg_bool(int *out, const fugue_request *req, fugue_reply *reply, const char *name,
                    int dflt)
{
	struct json_object *v = arg(req, name);

	*out = dflt;
	if (!v)
		return 0;
	if (!json_object_is_type(v, json_type_boolean)) {
		fugue_reply_error(reply, FUGUE_ERR_BAD_ARGS, NULL,
		                  "argument '%s' must be true or false", name);
		return -1;
	}
	*out = json_object_get_boolean(v);
	return 0;
}

/* The value of a property or setting: a string, or a boolean or number
 * written as one (into BUF). */
static int arg_value(const char **out, char *buf, size_t size, const fugue_request *req,
                     fugue_reply *reply, const char *name)
{
	struct json_object *v = arg(req, name);

	*out = NULL;
	if (!v)
		return 0;
	if (json_object_is_type(v, json_type_string)) {
		*out = json_object_get_string(v);
	} else if (json_object_is_type(v, json_type_boolean)) {
		snprintf(buf, size, "%s", json_object_get_boolean(v) ? "on" : "off");
		*out = buf;
	} else if (json_object_is_type(v, json_type_int) ||
	           json_object_is_type(v, json_type_double)) {
		snprintf(buf, size, "%s", json_object_to_json_string(v));
		*out = buf;
	} else {
		fugue_reply_error(reply, FUGUE_ERR_BAD_ARGS, NULL,
		                  "argument '%s' must be a string, a number or a boolean", name);
		return -1;
	}
	return 0;
}

/* "on"/"off", "true"/"false", "1"/"0", "yes"/"no": 1 or 0; -1 otherwise. */
static int parse_switch(const char *s)
{
	static const char *const on[] = { "on", "true", "1", "yes", NULL };
	static const char *const off[] = { "off", "false", "0", "no", NULL };
	size_t i;

	for (i = 0; s && on[i]; i++) {
		if (strcasecmp(s, on[i]) == 0)
			return 1;
		if (strcasecmp(s, off[i]) == 0)
			return 0;
	}
	return -1;
}

/* --- processes ------------------------------------------------------------------- */

static const char *display_name(const fugue_state_process *p)
{
	return p->alias ? p->alias : p->fid;
}

static void reply_store_error(fugue_reply *reply, int rc, const fugue_state_diag *diag)
{
	fugue_reply_error(reply, FUGUE_ERR_INTERNAL, NULL, "state store: %s (%s)",
	                  fugue_strerror(rc), diag->message[0] ? diag->message : "no detail");
}

/* Reads the process named by argument `process` into OUT. Refuses with
 * `locked` when its lock is on and the command is not allowed then.
 * Returns 0, or -1 after answering. */
static int find_process(fugue_state_process *out, fugue_conductor *c, const fugue_request *req,
                        fugue_reply *reply, int allow_locked)
{
	fugue_state_diag diag = { { 0 } };
	const char *ref;
	int rc;

	if (arg_string(&ref, req, reply, "process", 1) != 0)
		return -1;
	rc = fugue_state_process_get(out, c->state, ref, &diag);
	if (rc == FUGUE_ENOTFOUND) {
		fugue_reply_error(reply, FUGUE_ERR_NOT_FOUND, NULL, "no process '%s'", ref);
		return -1;
	}
	if (rc != 0) {
		reply_store_error(reply, rc, &diag);
		return -1;
	}
	if (out->lock && !allow_locked) {
		fugue_reply_error(
		        reply, FUGUE_ERR_LOCKED, NULL,
		        "process %s is locked: unlock it with `fugue property %s lock --set "
		        "off`",
		        display_name(out), display_name(out));
		fugue_state_process_clear(out);
		return -1;
	}
	return 0;
}

/* The process's entry in the table, with a reference (or NULL when it is
 * gone). c->mu held. */
static fugue_proc *table_entry(fugue_conductor *c, const char *fid)
{
	fugue_proc *p = fugue_core_proc_find(c, fid);

	if (p)
		p->refs++;
	return p;
}

static void history(fugue_conductor *c, const char *fid, fugue_history_kind kind, uid_t uid,
                    const char *summary)
{
	fugue_state_diag diag = { { 0 } };

	if (fugue_state_history_append(NULL, c->state, fid, kind, uid, summary, NULL, &diag) != 0)
		fugue_core_log(FUGUE_LOG_ERROR, fid, NULL, "cannot write history: %s",
		               diag.message);
}

static void add(struct json_object *o, const char *key, struct json_object *v)
{
	json_object_object_add(o, key, v);
}

/* The first event of a job someone waits for, so that the client can show
 * the FID at once: {"fid", "alias", "job"}. Sent with c->mu held, right
 * after the job started: its thread needs c->mu before it sends anything,
 * so nothing of the job can come first. */
static void accepted(fugue_reply *reply, const char *fid, const char *alias, const char *job)
{
	struct json_object *d = json_object_new_object();

	add(d, "fid", json_object_new_string(fid));
	add(d, "alias", fugue_core_str_json(alias));
	add(d, "job", json_object_new_string(job));
	fugue_reply_event(reply, "accepted", d);
	json_object_put(d);
}

/* The names RESOURCE references in COMPILED (the stored composition,
 * parsed; may be NULL), as a new array; [] when none or not declared. */
static struct json_object *depends_on(struct json_object *compiled, const char *resource)
{
	struct json_object *out = json_object_new_array();
	struct json_object *list = NULL;
	size_t i;
	size_t k;

	if (!compiled || !json_object_object_get_ex(compiled, "resources", &list) ||
	    !json_object_is_type(list, json_type_array))
		return out;
	for (i = 0; i < json_object_array_length(list); i++) {
		struct json_object *r = json_object_array_get_idx(list, i);
		struct json_object *name = NULL;
		struct json_object *deps = NULL;

		if (!json_object_object_get_ex(r, "name", &name) ||
		    !json_object_is_type(name, json_type_string) ||
		    strcmp(json_object_get_string(name), resource) != 0)
			continue;
		if (!json_object_object_get_ex(r, "deps", &deps) ||
		    !json_object_is_type(deps, json_type_array))
			break;
		for (k = 0; k < json_object_array_length(deps); k++) {
			struct json_object *d = json_object_array_get_idx(deps, k);

			json_object_array_add(out, json_object_get(d));
		}
		break;
	}
	return out;
}

/* The resource's recorded drift, [] when none. */
static struct json_object *drift_json(const char *text)
{
	struct json_object *d = fugue_core_parse_json(text);

	if (d && json_object_is_type(d, json_type_array))
		return d;
	json_object_put(d);
	return json_object_new_array();
}

/* One resource of `status PROCESS`. */
static struct json_object *resource_json(const fugue_state_resource *rec,
                                         struct json_object *compiled)
{
	struct json_object *r = json_object_new_object();

	add(r, "name", fugue_core_str_json(rec->name));
	add(r, "type", fugue_core_str_json(rec->type));
	add(r, "id", fugue_core_str_json(rec->aws_id));
	add(r, "status", json_object_new_string(fugue_resource_status_name(rec->status)));
	add(r, "error",
	    fugue_core_str_json(rec->error_message ? rec->error_message : rec->error_code));
	add(r, "errorCode", fugue_core_str_json(rec->error_code));
	add(r, "requestId", fugue_core_str_json(rec->error_request_id));
	add(r, "attributes", fugue_core_parse_json(rec->attributes));
	add(r, "updated", fugue_core_time_json(rec->updated_ms));
	add(r, "lastObserved", fugue_core_time_json(rec->last_observed_ms));
	add(r, "drift", drift_json(rec->drift));
	add(r, "dependsOn", depends_on(compiled, rec->name));
	return r;
}

/* {"fid", "alias", "state", "lock", "enforcement", "created", "updated",
 * "message", "drift", "lastEnforced"} plus resources, as a list (DETAILED)
 * or counts. Everything comes from the store, so a restart loses none of
 * it. */
static struct json_object *process_json(fugue_conductor *c, const fugue_state_process *p,
                                        int detailed)
{
	struct json_object *o = json_object_new_object();
	struct json_object *list = json_object_new_array();
	struct json_object *counts = json_object_new_object();
	struct json_object *compiled = detailed ? fugue_core_parse_json(p->compiled) : NULL;
	fugue_state_resource *recs = NULL;
	size_t n = 0;
	size_t ready = 0;
	size_t i;

	fugue_state_resource_list(&recs, &n, c->state, p->fid, NULL);
	for (i = 0; i < n; i++) {

		ready += recs[i].status == FUGUE_RESOURCE_READY;
		if (detailed)
			json_object_array_add(list, resource_json(&recs[i], compiled));
	}
	add(counts, "ready", json_object_new_int64((int64_t)ready));
	add(counts, "total", json_object_new_int64((int64_t)n));
	fugue_state_resource_list_free(recs, n);
	json_object_put(compiled);
	add(o, "fid", json_object_new_string(p->fid));
	add(o, "alias", fugue_core_str_json(p->alias));
	add(o, "state", json_object_new_string(fugue_process_state_name(p->state)));
	add(o, "lock", json_object_new_boolean(p->lock));
	add(o, "enforcement", json_object_new_boolean(p->enforcement));
	add(o, "created", fugue_core_time_json(p->created_ms));
	add(o, "updated", fugue_core_time_json(p->updated_ms));
	add(o, "message", fugue_core_str_json(p->message));
	add(o, "sourceName", fugue_core_str_json(p->source_name));
	add(o, "drift", json_object_new_int64(p->drift));
	add(o, "lastEnforced", fugue_core_time_json(p->last_enforced_ms));
	if (detailed) {
		add(o, "resources", list);
		add(o, "counts", counts);
	} else {
		add(o, "resources", counts);
		json_object_put(list);
	}
	return o;
}

/* --- compiling ------------------------------------------------------------------- */

/* *OUT: the optional sourceDir argument (the composition's directory, for
 * its relative file paths), which must be absolute. Nonzero after
 * answering bad_args. */
static int source_dir(const char **out, const fugue_request *req, fugue_reply *reply)
{
	if (arg_string(out, req, reply, "sourceDir", 0))
		return -1;
	if (*out && (*out)[0] != '/') {
		fugue_reply_error(reply, FUGUE_ERR_BAD_ARGS, NULL,
		                  "argument 'sourceDir' must be an absolute path");
		return -1;
	}
	return 0;
}

/* Compiles SOURCE (relative file paths in it against DIR, may be NULL); on
 * errors answers invalid_composition (every diagnostic in the details) and
 * returns NULL. */
static fugue_composition *compile(fugue_conductor *c, fugue_reply *reply, const char *name,
                                  const char *source, const char *dir, uid_t reader)
{
	fugue_compile_options opts = FUGUE_COMPILE_OPTIONS_INIT;
	fugue_diags diags = FUGUE_DIAGS_INIT;
	fugue_composition *comp = NULL;
	struct json_object *details;
	struct json_object *list = NULL;
	int rc;

	opts.registry = c->registry;
	opts.default_region = fugue_core_default_region(c);
	opts.base_dir = dir;
	opts.reader = reader;
	rc = fugue_compile_buffer(&comp, &diags, &opts, name, source, strlen(source));
	if (rc == 0) {
		fugue_diags_clear(&diags);
		return comp;
	}
	if (rc != FUGUE_EINVAL || diags.n == 0) {
		fugue_reply_error(reply, FUGUE_ERR_INTERNAL, NULL, "cannot compile %s: %s", name,
		                  fugue_strerror(rc));
		fugue_diags_clear(&diags);
		return NULL;
	}
	details = json_object_new_object();
	if (fugue_diags_to_json(&list, &diags) == 0)
		add(details, "diagnostics", list);
	if (diags.items[0].line > 0)
		fugue_reply_error(reply, FUGUE_ERR_INVALID, details, "%s:%d:%d: %s%s",
		                  diags.items[0].file, diags.items[0].line, diags.items[0].col,
		                  diags.items[0].message,
		                  diags.n > 1 ? " (and more: see the diagnostics)" : "");
	else
		fugue_reply_error(reply, FUGUE_ERR_INVALID, details, "%s: %s%s",
		                  diags.items[0].file, diags.items[0].message,
		                  diags.n > 1 ? " (and more: see the diagnostics)" : "");
	json_object_put(details);
	fugue_diags_clear(&diags);
	return NULL;
}

static char *composition_text(fugue_reply *reply, const fugue_composition *comp)
{
	struct json_object *j = NULL;
	char *text;

	if (fugue_composition_to_json(&j, comp) != 0) {
		fugue_reply_error(reply, FUGUE_ERR_INTERNAL, NULL, "out of memory");
		return NULL;
	}
	text = fugue_json_text(j);
	json_object_put(j);
	if (!text)
		fugue_reply_error(reply, FUGUE_ERR_INTERNAL, NULL, "out of memory");
	return text;
}

/* The plan of DECLARED against LIVE (PREVIOUS for the order of deletes),
 * as JSON; NULL after answering internal. */
static struct json_object *plan_json(fugue_reply *reply, const fugue_composition *declared,
                                     const fugue_composition *previous, const fugue_live *live)
{
	fugue_plan_input in = { declared, previous, live };
	fugue_plan plan = FUGUE_PLAN_INIT;
	struct json_object *out = NULL;

	if (fugue_plan_compute(&plan, &in) != 0 || fugue_plan_to_json(&out, &plan) != 0) {
		fugue_reply_error(reply, FUGUE_ERR_INTERNAL, NULL, "cannot compute the plan");
		out = NULL;
	}
	fugue_plan_clear(&plan);
	return out;
}

/* LIVE from FID's records; -1 after answering. */
static int load_live(fugue_live *live, fugue_conductor *c, fugue_reply *reply, const char *fid)
{
	fugue_state_resource *recs = NULL;
	fugue_state_diag diag = { { 0 } };
	size_t n = 0;
	int rc;

	rc = fugue_state_resource_list(&recs, &n, c->state, fid, &diag);
	if (rc == 0)
		rc = fugue_live_load(live, recs, n);
	fugue_state_resource_list_free(recs, n);
	if (rc != 0) {
		reply_store_error(reply, rc, &diag);
		return -1;
	}
	return 0;
}

/* --- ping ------------------------------------------------------------------------ */

static void cmd_ping(fugue_conductor *c, const fugue_request *req, fugue_reply *reply)
{
	static const char *const allowed[] = { NULL };
	struct json_object *r;
	struct json_object *me;

	if (check_args(req, reply, allowed) != 0)
		return;
	me = json_object_new_object();
	add(me, "version", json_object_new_string(FUGUE_VERSION));
	add(me, "protocol", json_object_new_int(FUGUE_PROTOCOL_VERSION));
	add(me, "pid", json_object_new_int64((int64_t)getpid()));
	add(me, "started", fugue_core_time_json(c->started_ms));
	r = json_object_new_object();
	add(r, "version", json_object_new_string(FUGUE_VERSION));
	add(r, "protocol", json_object_new_int(FUGUE_PROTOCOL_VERSION));
	add(r, "conductor", me);
	fugue_reply_ok(reply, r);
	json_object_put(r);
}

/* --- run ------------------------------------------------------------------------- */

static int alias_taken(fugue_conductor *c, fugue_reply *reply, const char *alias)
{
	char fid[FUGUE_FID_SIZE];

	if (!alias || fugue_state_resolve(fid, c->state, alias, NULL) != 0)
		return 0;
	fugue_reply_error(reply, FUGUE_ERR_CONFLICT, NULL,
	                  "alias '%s' is taken by process %s; choose another with --alias", alias,
	                  fid);
	return 1;
}

static void run_dry(fugue_reply *reply, const fugue_composition *comp, const char *alias)
{
	fugue_live live = FUGUE_LIVE_INIT;
	struct json_object *plan = plan_json(reply, comp, NULL, &live);
	struct json_object *r;

	if (!plan)
		return;
	r = json_object_new_object();
	add(r, "fid", NULL);
	add(r, "alias", fugue_core_str_json(alias));
	add(r, "dryRun", json_object_new_boolean(1));
	add(r, "plan", plan);
	add(r, "state", NULL);
	add(r, "message", NULL);
	fugue_reply_ok(reply, r);
	json_object_put(r);
}

/* Creates the process record and starts its run job. */
static void run_start(fugue_conductor *c, const fugue_request *req, fugue_reply *reply,
                      const fugue_composition *comp, const char *source, const char *name,
                      const char *alias, int wait)
{
	fugue_state_process_spec spec = { 0 };
	fugue_state_diag diag = { { 0 } };
	char fid[FUGUE_FID_SIZE];
	struct json_object *r;
	fugue_proc *p;
	fugue_job *job = NULL;
	char *compiled = composition_text(reply, comp);
	int rc;

	if (!compiled)
		return;
	spec.alias = alias;
	spec.source = source;
	spec.source_name = name;
	spec.compiled = compiled;
	spec.owner_uid = req->uid;
	rc = fugue_state_process_create(fid, c->state, &spec, &diag);
	free(compiled);
	if (rc == FUGUE_ECONFLICT) {
		fugue_reply_error(reply, FUGUE_ERR_CONFLICT, NULL, "alias '%s' is taken", alias);
		return;
	}
	if (rc == FUGUE_EINVAL) {
		fugue_reply_error(reply, FUGUE_ERR_BAD_ARGS, NULL, "bad alias '%s': %s", alias,
		                  diag.message);
		return;
	}
	if (rc != 0) {
		reply_store_error(reply, rc, &diag);
		return;
	}
	if (c->report_only)
		fugue_state_process_set_enforcement(c->state, fid, 0, NULL);
	fugue_core_log(FUGUE_LOG_INFO, fid, NULL, "run %s (%s): %zu resources, uid %ld", fid,
	               alias ? alias : "no alias", comp->nresources, (long)req->uid);
	pthread_mutex_lock(&c->mu);
	p = fugue_core_proc_add(c, fid, FUGUE_PROCESS_RUNNING);
	if (p)
		job = fugue_core_job_new(c, p, FUGUE_JOB_RUN, "run", req->uid, wait ? reply : NULL);
	rc = job ? fugue_core_job_start(c, job) : FUGUE_ENOMEM;
	if (rc == 0 && wait)
		accepted(reply, fid, alias, "run");
	pthread_mutex_unlock(&c->mu);
	if (rc != 0) {
		fugue_state_process_set_state(c->state, fid, FUGUE_PROCESS_FAILED,
		                              "FAILED: the job could not start", NULL);
		fugue_reply_error(
		        reply, rc == FUGUE_ECANCELED ? FUGUE_ERR_SHUTTING_DOWN : FUGUE_ERR_INTERNAL,
		        NULL, "process %s created but its job could not start: %s", fid,
		        fugue_strerror(rc));
		return;
	}
	if (wait)
		return;
	r = json_object_new_object();
	add(r, "fid", json_object_new_string(fid));
	add(r, "alias", fugue_core_str_json(alias));
	add(r, "state", json_object_new_string("Running"));
	add(r, "message", NULL);
	fugue_reply_ok(reply, r);
	json_object_put(r);
}

static void cmd_run(fugue_conductor *c, const fugue_request *req, fugue_reply *reply)
{
	static const char *const allowed[] = {
		"source", "sourceName", "sourceDir", "alias", "dryRun", "wait", NULL,
	};
	const char *source, *name, *dir, *alias;
	fugue_composition *comp;
	int dry, wait;

	if (check_args(req, reply, allowed) != 0 || arg_string(&source, req, reply, "source", 1) ||
	    arg_string(&name, req, reply, "sourceName", 0) || source_dir(&dir, req, reply) ||
	    arg_string(&alias, req, reply, "alias", 0) || arg_bool(&dry, req, reply, "dryRun", 0) ||
	    arg_bool(&wait, req, reply, "wait", 1))
		return;
	if (alias && !*alias) {
		fugue_reply_error(reply, FUGUE_ERR_BAD_ARGS, NULL, "argument 'alias' is empty");
		return;
	}
	if (!name || !*name)
		name = "composition";
	comp = compile(c, reply, name, source, dir, req->uid);
	if (!comp)
		return;
	if (!alias)
		alias = comp->alias;
	if (dry)
		run_dry(reply, comp, alias);
	else if (!alias_taken(c, reply, alias))
		run_start(c, req, reply, comp, source, name, alias, wait);
	fugue_composition_free(comp);
}

/* --- update ---------------------------------------------------------------------- */

/* Refuses commands that need the process while it is in STATE. */
static int state_allows(fugue_reply *reply, const fugue_state_process *p, const char *command)
{
	if (p->state == FUGUE_PROCESS_KILLING) {
		fugue_reply_error(reply, FUGUE_ERR_CONFLICT, NULL, "process %s is being killed",
		                  display_name(p));
		return 0;
	}
	if (p->state == FUGUE_PROCESS_SUSPENDED && strcmp(command, "update") == 0) {
		fugue_reply_error(reply, FUGUE_ERR_CONFLICT, NULL,
		                  "process %s is suspended: resume it first (`fugue resume %s`)",
		                  display_name(p), display_name(p));
		return 0;
	}
	return 1;
}

static void update_dry(fugue_conductor *c, fugue_reply *reply, const fugue_state_process *p,
                       const fugue_composition *comp, const fugue_composition *prev)
{
	fugue_live live = FUGUE_LIVE_INIT;
	struct json_object *plan;
	struct json_object *r;

	if (load_live(&live, c, reply, p->fid) != 0)
		return;
	plan = plan_json(reply, comp, prev, &live);
	fugue_live_clear(&live);
	if (!plan)
		return;
	r = json_object_new_object();
	add(r, "fid", json_object_new_string(p->fid));
	add(r, "alias", fugue_core_str_json(p->alias));
	add(r, "dryRun", json_object_new_boolean(1));
	add(r, "plan", plan);
	add(r, "state", json_object_new_string(fugue_process_state_name(p->state)));
	add(r, "message", fugue_core_str_json(p->message));
	fugue_reply_ok(reply, r);
	json_object_put(r);
}

/* The conflict answer when an operator's job already holds the process. */
static void reply_busy(fugue_reply *reply, const fugue_state_process *p, const fugue_job *job)
{
	fugue_reply_error(reply, FUGUE_ERR_CONFLICT, NULL,
	                  "process %s is busy with a %s job; wait for it to end or suspend the "
	                  "process",
	                  display_name(p), fugue_core_job_kind_name(job->kind));
}

static void update_start(fugue_conductor *c, const fugue_request *req, fugue_reply *reply,
                         const fugue_state_process *p, const fugue_composition *comp,
                         const char *source, const char *name, int wait)
{
	fugue_state_diag diag = { { 0 } };
	fugue_proc *t;
	fugue_job *job = NULL;
	fugue_job *busy;
	struct json_object *r;
	char *compiled = composition_text(reply, comp);
	int rc;

	if (!compiled)
		return;
	pthread_mutex_lock(&c->mu);
	t = table_entry(c, p->fid);
	busy = t ? fugue_core_busy_job(t) : NULL;
	if (t && !busy) {
		fugue_core_preempt(c, t);
		job = fugue_core_job_new(c, t, FUGUE_JOB_UPDATE, "update", req->uid,
		                         wait ? reply : NULL);
	}
	if (job && p->compiled && !(job->previous = strdup(p->compiled))) {
		fugue_core_job_discard(job);
		job = NULL;
	}
	if (busy)
		reply_busy(reply, p, busy);
	else if (!job)
		fugue_reply_error(reply, FUGUE_ERR_INTERNAL, NULL, "out of memory");
	/* Stored under the lock, so that no pass starts on the old declaration
	 * after the new one is in. */
	rc = job ? fugue_state_process_set_source(c->state, p->fid, source, name, compiled, &diag)
	         : 0;
	if (job && rc != 0) {
		fugue_core_job_discard(job);
		job = NULL;
		reply_store_error(reply, rc, &diag);
	}
	if (job)
		rc = fugue_core_job_start(c, job);
	if (job && rc == 0 && wait)
		accepted(reply, p->fid, p->alias, "update");
	if (t)
		fugue_core_proc_unref(c, t);
	pthread_mutex_unlock(&c->mu);
	free(compiled);
	if (!job)
		return;
	if (rc != 0) {
		fugue_reply_error(reply, FUGUE_ERR_SHUTTING_DOWN, NULL,
		                  "the update of %s is stored but its job could not start: %s",
		                  display_name(p), fugue_strerror(rc));
		return;
	}
	fugue_core_log(FUGUE_LOG_INFO, p->fid, NULL, "update %s from %s, uid %ld", display_name(p),
	               name, (long)req->uid);
	if (wait)
		return;
	r = json_object_new_object();
	add(r, "fid", json_object_new_string(p->fid));
	add(r, "alias", fugue_core_str_json(p->alias));
	add(r, "state", json_object_new_string(fugue_process_state_name(p->state)));
	add(r, "message", NULL);
	fugue_reply_ok(reply, r);
	json_object_put(r);
}

static void cmd_update(fugue_conductor *c, const fugue_request *req, fugue_reply *reply)
{
	static const char *const allowed[] = {
		"process", "source", "sourceName", "sourceDir", "dryRun", "wait", NULL,
	};
	fugue_state_process p;
	fugue_composition *comp = NULL;
	fugue_composition *prev = NULL;
	const char *source, *name, *dir;
	int dry, wait;

	if (check_args(req, reply, allowed) != 0 || arg_string(&source, req, reply, "source", 1) ||
	    arg_string(&name, req, reply, "sourceName", 0) || source_dir(&dir, req, reply) ||
	    arg_bool(&dry, req, reply, "dryRun", 0) || arg_bool(&wait, req, reply, "wait", 1))
		return;
	if (find_process(&p, c, req, reply, 0) != 0)
		return;
	if (!name || !*name)
		name = p.source_name ? p.source_name : "composition";
	if (state_allows(reply, &p, "update"))
		comp = compile(c, reply, name, source, dir, req->uid);
	if (comp && dry) {
		prev = fugue_core_load_composition(c, p.fid, p.compiled);
		update_dry(c, reply, &p, comp, prev);
	} else if (comp) {
		update_start(c, req, reply, &p, comp, source, name, wait);
	}
	fugue_composition_free(prev);
	fugue_composition_free(comp);
	fugue_state_process_clear(&p);
}

/* --- status, history ------------------------------------------------------------- */

static void cmd_status(fugue_conductor *c, const fugue_request *req, fugue_reply *reply)
{
	static const char *const allowed[] = { "process", NULL };
	fugue_state_process *list = NULL;
	fugue_state_diag diag = { { 0 } };
	fugue_state_process p;
	struct json_object *r;
	struct json_object *arr;
	size_t n = 0;
	size_t i;
	int rc;

	if (check_args(req, reply, allowed) != 0)
		return;
	if (arg(req, "process")) {
		if (find_process(&p, c, req, reply, 1) != 0)
			return;
		r = process_json(c, &p, 1);
		fugue_state_process_clear(&p);
		fugue_reply_ok(reply, r);
		json_object_put(r);
		return;
	}
	rc = fugue_state_process_list(&list, &n, c->state, &diag);
	if (rc != 0) {
		reply_store_error(reply, rc, &diag);
		return;
	}
	arr = json_object_new_array();
	for (i = 0; i < n; i++)
		json_object_array_add(arr, process_json(c, &list[i], 0));
	fugue_state_process_list_free(list, n);
	r = json_object_new_object();
	add(r, "processes", arr);
	fugue_reply_ok(reply, r);
	json_object_put(r);
}

static int looks_like_fid(const char *s)
{
	size_t i;

	if (strlen(s) != FUGUE_FID_SIZE - 1)
		return 0;
	for (i = 0; s[i]; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (!strchr("0123456789abcdef", s[i])) {
			return 0;
		}
	}
	return 1;
}

static struct json_object *history_json(const fugue_state_history *h)
{
	struct json_object *o = json_object_new_object();

	add(o, "id", json_object_new_int64(h->id));
	add(o, "fid", json_object_new_string(h->fid));
	add(o, "time", fugue_core_time_json(h->time_ms));
	add(o, "kind", json_object_new_string(fugue_history_kind_name(h->kind)));
	add(o, "uid", h->uid == FUGUE_STATE_NO_UID ? NULL : json_object_new_int64((int64_t)h->uid));
	add(o, "summary", fugue_core_str_json(h->summary));
	add(o, "details", fugue_core_parse_json(h->details));
	return o;
}

static void cmd_history(fugue_conductor *c, const fugue_request *req, fugue_reply *reply)
{
	static const char *const allowed[] = { "process", "limit", NULL };
	fugue_state_history *list = NULL;
	fugue_state_diag diag = { { 0 } };
	char fid[FUGUE_FID_SIZE];
	struct json_object *lim = arg(req, "limit");
	struct json_object *arr;
	struct json_object *r;
	const char *ref;
	int64_t limit = FUGUE_CORE_HISTORY_DEFAULT_LIMIT;
	size_t n = 0;
	size_t i;
	int rc;

	if (check_args(req, reply, allowed) != 0 || arg_string(&ref, req, reply, "process", 1))
		return;
	if (lim && (!json_object_is_type(lim, json_type_int) || json_object_get_int64(lim) < 0)) {
		fugue_reply_error(reply, FUGUE_ERR_BAD_ARGS, NULL,
		                  "argument 'limit' must be a whole number >= 0 (0: all)");
		return;
	}
	if (lim)
		limit = json_object_get_int64(lim);
	/* History outlives its process: a FID is taken as it is. */
	rc = fugue_state_resolve(fid, c->state, ref, &diag);
	if (rc == FUGUE_ENOTFOUND && looks_like_fid(ref)) {
		snprintf(fid, sizeof(fid), "%s", ref);
		rc = 0;
	}
	if (rc == FUGUE_ENOTFOUND) {
		fugue_reply_error(reply, FUGUE_ERR_NOT_FOUND, NULL, "no process '%s'", ref);
		return;
	}
	if (rc == 0)
		rc = fugue_state_history_list(&list, &n, c->state, fid, (size_t)limit, 0, &diag);
	if (rc != 0) {
		reply_store_error(reply, rc, &diag);
		return;
	}
	arr = json_object_new_array();
	for (i = 0; i < n; i++)
		json_object_array_add(arr, history_json(&list[i]));
	fugue_state_history_list_free(list, n);
	r = json_object_new_object();
	add(r, "fid", json_object_new_string(fid));
	add(r, "entries", arr);
	fugue_reply_ok(reply, r);
	json_object_put(r);
}

/* --- suspend, resume ------------------------------------------------------------- */

static void cmd_suspend(fugue_conductor *c, const fugue_request *req, fugue_reply *reply)
{
	static const char *const allowed[] = { "process", NULL };
	fugue_state_diag diag = { { 0 } };
	fugue_state_process p;
	struct json_object *r;
	fugue_proc *t;
	char summary[128];
	int rc = 0;

	if (check_args(req, reply, allowed) != 0 || find_process(&p, c, req, reply, 0) != 0)
		return;
	if (!state_allows(reply, &p, "suspend")) {
		fugue_state_process_clear(&p);
		return;
	}
	pthread_mutex_lock(&c->mu);
	t = fugue_core_proc_find(c, p.fid);
	if (t)
		fugue_core_cancel_jobs(c, t, FUGUE_CANCEL_SUSPEND);
	if (p.state != FUGUE_PROCESS_SUSPENDED)
		rc = fugue_state_process_set_state(c->state, p.fid, FUGUE_PROCESS_SUSPENDED,
		                                   "SUSPENDED", &diag);
	if (rc == 0 && t)
		t->state = FUGUE_PROCESS_SUSPENDED;
	pthread_mutex_unlock(&c->mu);
	if (rc != 0) {
		reply_store_error(reply, rc, &diag);
		fugue_state_process_clear(&p);
		return;
	}
	if (p.state != FUGUE_PROCESS_SUSPENDED) {
		snprintf(summary, sizeof(summary), "suspended (was %s): enforcement stopped",
		         fugue_process_state_name(p.state));
		history(c, p.fid, FUGUE_HISTORY_SUSPEND, req->uid, summary);
		fugue_core_log(FUGUE_LOG_INFO, p.fid, NULL, "suspend %s, uid %ld", display_name(&p),
		               (long)req->uid);
	}
	r = json_object_new_object();
	add(r, "fid", json_object_new_string(p.fid));
	add(r, "state", json_object_new_string("Suspended"));
	fugue_reply_ok(reply, r);
	json_object_put(r);
	fugue_state_process_clear(&p);
}

static void cmd_resume(fugue_conductor *c, const fugue_request *req, fugue_reply *reply)
{
	static const char *const allowed[] = { "process", "dryRun", "wait", NULL };
	fugue_state_diag diag = { { 0 } };
	fugue_state_process p;
	fugue_job *job = NULL;
	fugue_job *busy = NULL;
	fugue_proc *t;
	int dry, wait;
	int rc = 0;

	if (check_args(req, reply, allowed) != 0 || arg_bool(&dry, req, reply, "dryRun", 0) ||
	    arg_bool(&wait, req, reply, "wait", 1) || find_process(&p, c, req, reply, 0) != 0)
		return;
	if (!state_allows(reply, &p, "resume")) {
		fugue_state_process_clear(&p);
		return;
	}
	if (p.state == FUGUE_PROCESS_RUNNING && !dry) {
		fugue_reply_error(reply, FUGUE_ERR_CONFLICT, NULL,
		                  "process %s is running, not suspended", display_name(&p));
		fugue_state_process_clear(&p);
		return;
	}
	pthread_mutex_lock(&c->mu);
	t = fugue_core_proc_find(c, p.fid);
	busy = t && !dry ? fugue_core_busy_job(t) : NULL;
	if (t && !busy) {
		if (!dry)
			fugue_core_preempt(c, t);
		job = fugue_core_job_new(c, t, FUGUE_JOB_CONVERGE, "resume", req->uid,
		                         wait || dry ? reply : NULL);
	}
	if (job) {
		job->dry_run = dry;
		if (!dry) {
			rc = fugue_state_process_set_state(c->state, p.fid, FUGUE_PROCESS_RUNNING,
			                                   "RESUMED", &diag);
			if (rc == 0)
				t->state = FUGUE_PROCESS_RUNNING;
			t->failures = 0;
		}
		if (rc == 0)
			rc = fugue_core_job_start(c, job);
		else
			fugue_core_job_discard(job);
		if (rc == 0 && wait && !dry)
			accepted(reply, p.fid, p.alias, "resume");
	}
	pthread_mutex_unlock(&c->mu);
	if (busy)
		reply_busy(reply, &p, busy);
	else if (!job)
		fugue_reply_error(reply, FUGUE_ERR_INTERNAL, NULL, "out of memory");
	else if (rc != 0)
		fugue_reply_error(reply, FUGUE_ERR_SHUTTING_DOWN, NULL, "cannot resume %s now: %s",
		                  display_name(&p), fugue_strerror(rc));
	if (job && rc == 0 && !dry && !wait) {
		struct json_object *r = json_object_new_object();

		add(r, "fid", json_object_new_string(p.fid));
		add(r, "state", json_object_new_string("Running"));
		fugue_reply_ok(reply, r);
		json_object_put(r);
	}
	fugue_state_process_clear(&p);
}

/* --- kill, release --------------------------------------------------------------- */

static void kill_dry(fugue_conductor *c, fugue_reply *reply, const fugue_state_process *p)
{
	fugue_composition *prev = fugue_core_load_composition(c, p->fid, p->compiled);
	fugue_live live = FUGUE_LIVE_INIT;
	struct json_object *plan = NULL;
	struct json_object *r;

	if (load_live(&live, c, reply, p->fid) == 0)
		plan = plan_json(reply, NULL, prev, &live);
	fugue_live_clear(&live);
	fugue_composition_free(prev);
	if (!plan)
		return;
	r = json_object_new_object();
	add(r, "fid", json_object_new_string(p->fid));
	add(r, "dryRun", json_object_new_boolean(1));
	add(r, "plan", plan);
	add(r, "state", json_object_new_string(fugue_process_state_name(p->state)));
	fugue_reply_ok(reply, r);
	json_object_put(r);
}

/* Whether P already has a kill queued. c->mu held. */
static int killing(const fugue_proc *p)
{
	const fugue_job *job;

	for (job = p->jobs; job; job = job->next) {
		if (job->kind == FUGUE_JOB_KILL && job->why == FUGUE_CANCEL_NONE)
			return 1;
	}
	return 0;
}

static void cmd_kill(fugue_conductor *c, const fugue_request *req, fugue_reply *reply)
{
	static const char *const allowed[] = { "process", "dryRun", "wait", NULL };
	fugue_state_diag diag = { { 0 } };
	fugue_state_process p;
	fugue_job *job = NULL;
	fugue_proc *t;
	int dry, wait;
	int already = 0;
	int rc = 0;

	if (check_args(req, reply, allowed) != 0 || arg_bool(&dry, req, reply, "dryRun", 0) ||
	    arg_bool(&wait, req, reply, "wait", 1) || find_process(&p, c, req, reply, 0) != 0)
		return;
	if (dry) {
		kill_dry(c, reply, &p);
		fugue_state_process_clear(&p);
		return;
	}
	pthread_mutex_lock(&c->mu);
	t = fugue_core_proc_find(c, p.fid);
	already = t && killing(t);
	if (t && !already) {
		fugue_core_cancel_jobs(c, t, FUGUE_CANCEL_KILL);
		job = fugue_core_job_new(c, t, FUGUE_JOB_KILL, "kill", req->uid,
		                         wait ? reply : NULL);
	}
	if (job) {
		rc = fugue_state_process_set_state(c->state, p.fid, FUGUE_PROCESS_KILLING,
		                                   "KILLING", &diag);
		if (rc == 0) {
			t->state = FUGUE_PROCESS_KILLING;
			t->failures = 0;
			rc = fugue_core_job_start(c, job);
			if (rc == 0 && wait)
				accepted(reply, p.fid, p.alias, "kill");
		} else {
			fugue_core_job_discard(job);
		}
	}
	pthread_mutex_unlock(&c->mu);
	if (already)
		fugue_reply_error(reply, FUGUE_ERR_CONFLICT, NULL,
		                  "process %s is already being killed", display_name(&p));
	else if (!job)
		fugue_reply_error(reply, FUGUE_ERR_INTERNAL, NULL, "out of memory");
	else if (rc != 0)
		fugue_reply_error(
		        reply, FUGUE_ERR_SHUTTING_DOWN, NULL,
		        "process %s is marked Killing; the kill finishes when the conductor "
		        "starts again (%s)",
		        display_name(&p), fugue_strerror(rc));
	if (job && rc == 0) {
		fugue_core_log(FUGUE_LOG_INFO, p.fid, NULL, "kill %s, uid %ld", display_name(&p),
		               (long)req->uid);
		if (!wait) {
			struct json_object *r = json_object_new_object();

			add(r, "fid", json_object_new_string(p.fid));
			add(r, "state", json_object_new_string("Killing"));
			fugue_reply_ok(reply, r);
			json_object_put(r);
		}
	}
	fugue_state_process_clear(&p);
}

static void cmd_release(fugue_conductor *c, const fugue_request *req, fugue_reply *reply)
{
	static const char *const allowed[] = { "process", NULL };
	fugue_state_process p;
	fugue_job *job = NULL;
	fugue_proc *t;
	int rc = FUGUE_ENOMEM;

	if (check_args(req, reply, allowed) != 0 || find_process(&p, c, req, reply, 0) != 0)
		return;
	pthread_mutex_lock(&c->mu);
	t = fugue_core_proc_find(c, p.fid);
	if (t) {
		fugue_core_cancel_jobs(c, t, FUGUE_CANCEL_RELEASE);
		job = fugue_core_job_new(c, t, FUGUE_JOB_RELEASE, "release", req->uid, reply);
	}
	if (job)
		rc = fugue_core_job_start(c, job);
	pthread_mutex_unlock(&c->mu);
	if (rc != 0)
		fugue_reply_error(
		        reply, rc == FUGUE_ECANCELED ? FUGUE_ERR_SHUTTING_DOWN : FUGUE_ERR_INTERNAL,
		        NULL, "cannot release %s now: %s", display_name(&p), fugue_strerror(rc));
	fugue_state_process_clear(&p);
}

/* --- property -------------------------------------------------------------------- */

static void reply_properties(fugue_conductor *c, fugue_reply *reply, const char *fid)
{
	fugue_state_process p;
	struct json_object *r;

	if (fugue_state_process_get(&p, c->state, fid, NULL) != 0) {
		fugue_reply_error(reply, FUGUE_ERR_NOT_FOUND, NULL, "no process '%s'", fid);
		return;
	}
	r = json_object_new_object();
	add(r, "fid", json_object_new_string(p.fid));
	add(r, "alias", fugue_core_str_json(p.alias));
	add(r, "lock", json_object_new_boolean(p.lock));
	add(r, "enforcement", json_object_new_boolean(p.enforcement));
	fugue_reply_ok(reply, r);
	json_object_put(r);
	fugue_state_process_clear(&p);
}

/* Sets KEY to VALUE; returns 0, or -1 after answering. */
static int set_property(fugue_conductor *c, const fugue_request *req, fugue_reply *reply,
                        const fugue_state_process *p, const char *key, const char *value)
{
	fugue_state_diag diag = { { 0 } };
	char summary[512];
	int on = parse_switch(value);
	int rc;

	if (strcmp(key, "alias") == 0) {
		if (!*value) {
			fugue_reply_error(reply, FUGUE_ERR_BAD_ARGS, NULL,
			                  "argument 'value': an alias "
			                  "cannot be empty");
			return -1;
		}
		rc = fugue_state_process_set_alias(c->state, p->fid, value, &diag);
		snprintf(summary, sizeof(summary), "alias %s -> %s", p->alias ? p->alias : "(none)",
		         value);
	} else if (on < 0) {
		fugue_reply_error(reply, FUGUE_ERR_BAD_ARGS, NULL,
		                  "argument 'value': '%s' is not on or off", value);
		return -1;
	} else if (strcmp(key, "lock") == 0) {
		rc = fugue_state_process_set_lock(c->state, p->fid, on, &diag);
		snprintf(summary, sizeof(summary), "lock %s", on ? "on" : "off");
	} else {
		rc = fugue_state_process_set_enforcement(c->state, p->fid, on, &diag);
		snprintf(summary, sizeof(summary), "enforcement %s%s", on ? "on" : "off",
		         on ? "" : " (report-only: drift is recorded, not corrected)");
	}
	if (rc == FUGUE_ECONFLICT) {
		fugue_reply_error(reply, FUGUE_ERR_CONFLICT, NULL, "alias '%s' is taken", value);
		return -1;
	}
	if (rc == FUGUE_EINVAL) {
		fugue_reply_error(reply, FUGUE_ERR_BAD_ARGS, NULL, "argument 'value': %s",
		                  diag.message[0] ? diag.message : "not a valid alias");
		return -1;
	}
	if (rc != 0) {
		reply_store_error(reply, rc, &diag);
		return -1;
	}
	history(c, p->fid, FUGUE_HISTORY_PROPERTY, req->uid, summary);
	fugue_core_log(FUGUE_LOG_INFO, p->fid, NULL, "process %s: %s, uid %ld", display_name(p),
	               summary, (long)req->uid);
	return 0;
}

static void cmd_property(fugue_conductor *c, const fugue_request *req, fugue_reply *reply)
{
	static const char *const allowed[] = { "process", "key", "value", NULL };
	fugue_state_process p;
	const char *key, *value;
	char buf[64];

	if (check_args(req, reply, allowed) != 0 || arg_string(&key, req, reply, "key", 0) ||
	    arg_value(&value, buf, sizeof(buf), req, reply, "value"))
		return;
	if (key && strcmp(key, "alias") != 0 && strcmp(key, "lock") != 0 &&
	    strcmp(key, "enforcement") != 0) {
		fugue_reply_error(
		        reply, FUGUE_ERR_BAD_ARGS, NULL,
		        "argument 'key': unknown property '%s' (alias, lock or enforcement)", key);
		return;
	}
	if (value && !key) {
		fugue_reply_error(reply, FUGUE_ERR_BAD_ARGS, NULL,
		                  "argument 'value' needs argument 'key'");
		return;
	}
	/* Reading is always allowed; of the changes, only the lock itself. */
	if (find_process(&p, c, req, reply, !value || strcmp(key, "lock") == 0) != 0)
		return;
	if (!value || set_property(c, req, reply, &p, key, value) == 0)
		reply_properties(c, reply, p.fid);
	fugue_state_process_clear(&p);
}

/* --- runtime --------------------------------------------------------------------- */

static void format_seconds(char *buf, size_t size, long ms)
{
	snprintf(buf, size, "%g", (double)ms / 1000.0);
}

/* Every setting with its effective value (DEFAULTS: the value it has when
 * unset). */
static void add_settings(fugue_conductor *c, struct json_object *eff, struct json_object *defs)
{
	fugue_state_setting *list = NULL;
	size_t n = 0;
	size_t i;
	char buf[64];
	char key[256];

	fugue_state_setting_list(&list, &n, c->state, NULL);
	pthread_mutex_lock(&c->mu);
	format_seconds(buf, sizeof(buf), c->interval_ms);
	add(eff, "enforce.interval", json_object_new_string(buf));
	format_seconds(buf, sizeof(buf), c->default_interval_ms);
	add(defs, "enforce.interval", json_object_new_string(buf));
	snprintf(buf, sizeof(buf), "%zu", c->concurrency);
	add(eff, "concurrency", json_object_new_string(buf));
	snprintf(buf, sizeof(buf), "%zu", c->default_concurrency);
	add(defs, "concurrency", json_object_new_string(buf));
	add(eff, "log.level", json_object_new_string(fugue_log_level_name(fugue_log_get_level())));
	add(defs, "log.level", json_object_new_string(fugue_log_level_name(c->base_log_level)));
	for (i = 0; i < c->nplanners; i++) {
		const char *name = fugue_core_planner_name(c, i);

		snprintf(key, sizeof(key), "enforce.interval.%s", name);
		format_seconds(buf, sizeof(buf), fugue_core_interval(c, (int)i));
		add(eff, key, json_object_new_string(buf));
		format_seconds(buf, sizeof(buf), c->interval_ms);
		add(defs, key, json_object_new_string(buf));
		snprintf(key, sizeof(key), "concurrency.%s", name);
		add(eff, key, json_object_new_string("0"));
		add(defs, key, json_object_new_string("0"));
	}
	pthread_mutex_unlock(&c->mu);
	/* Per-planner concurrency is only known as stored. */
	for (i = 0; i < n; i++) {
		if (strncmp(list[i].key, "concurrency.", 12) == 0)
			add(eff, list[i].key, json_object_new_string(list[i].value));
	}
	fugue_state_setting_list_free(list, n);
}

static void reply_settings(fugue_conductor *c, fugue_reply *reply, const char *only)
{
	struct json_object *eff = json_object_new_object();
	struct json_object *defs = json_object_new_object();
	struct json_object *r = json_object_new_object();
	struct json_object *v;

	add_settings(c, eff, defs);
	if (only) {
		struct json_object *e1 = json_object_new_object();
		struct json_object *d1 = json_object_new_object();

		if (json_object_object_get_ex(eff, only, &v))
			add(e1, only, json_object_get(v));
		if (json_object_object_get_ex(defs, only, &v))
			add(d1, only, json_object_get(v));
		json_object_put(eff);
		json_object_put(defs);
		eff = e1;
		defs = d1;
	}
	add(r, "settings", eff);
	add(r, "defaults", defs);
	fugue_reply_ok(reply, r);
	json_object_put(r);
}

static void cmd_runtime(fugue_conductor *c, const fugue_request *req, fugue_reply *reply)
{
	static const char *const allowed[] = { "op", "key", "value", NULL };
	fugue_state_diag diag = { { 0 } };
	const char *op, *key, *value;
	char buf[64];
	char why[256];
	int planner;
	int rc;

	if (check_args(req, reply, allowed) != 0 || arg_string(&op, req, reply, "op", 1) ||
	    arg_string(&key, req, reply, "key", 0) ||
	    arg_value(&value, buf, sizeof(buf), req, reply, "value"))
		return;
	if (strcmp(op, "list") == 0) {
		reply_settings(c, reply, NULL);
		return;
	}
	if (strcmp(op, "get") != 0 && strcmp(op, "set") != 0 && strcmp(op, "unset") != 0) {
		fugue_reply_error(reply, FUGUE_ERR_BAD_ARGS, NULL,
		                  "argument 'op': '%s' is not get, list, set or unset", op);
		return;
	}
	if (!key) {
		fugue_reply_error(reply, FUGUE_ERR_BAD_ARGS, NULL, "missing argument 'key'");
		return;
	}
	if (strcmp(op, "set") == 0 && !value) {
		fugue_reply_error(reply, FUGUE_ERR_BAD_ARGS, NULL, "missing argument 'value'");
		return;
	}
	if (fugue_core_setting_check(c, key, strcmp(op, "set") == 0 ? value : NULL, &planner, why,
	                             sizeof(why)) != 0) {
		fugue_reply_error(reply, FUGUE_ERR_BAD_ARGS, NULL, "%s", why);
		return;
	}
	rc = 0;
	if (strcmp(op, "set") == 0)
		rc = fugue_state_setting_set(c->state, key, value, &diag);
	else if (strcmp(op, "unset") == 0)
		rc = fugue_state_setting_unset(c->state, key, &diag);
	if (rc != 0 && rc != FUGUE_ENOTFOUND) {
		reply_store_error(reply, rc, &diag);
		return;
	}
	if (strcmp(op, "get") != 0) {
		fugue_log_info("runtime %s %s%s%s, uid %ld", op, key, value ? " = " : "",
		               value ? value : "", (long)req->uid);
		fugue_core_settings_apply(c);
	}
	reply_settings(c, reply, key);
}

/* --- dispatch -------------------------------------------------------------------- */

static const struct {
	const char *name;
	command_fn fn;
	int while_stopping; /* read-only: still answered during shutdown */
} commands[] = {
	{ "ping", cmd_ping, 1 },       { "run", cmd_run, 0 },
	{ "update", cmd_update, 0 },   { "status", cmd_status, 1 },
	{ "history", cmd_history, 1 }, { "suspend", cmd_suspend, 0 },
	{ "resume", cmd_resume, 0 },   { "kill", cmd_kill, 0 },
	{ "release", cmd_release, 0 }, { "property", cmd_property, 0 },
	{ "runtime", cmd_runtime, 0 },
};

void fugue_core_dispatch(fugue_conductor *c, const fugue_request *req, fugue_reply *reply)
{
	size_t i;
	int stopping;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (req->command && strcmp(req->command, commands[i].name) == 0)
			break;
	}
	if (i == sizeof(commands) / sizeof(commands[0])) {
		fugue_reply_error(
		        reply, FUGUE_ERR_UNKNOWN_COMMAND, NULL,
		        "unknown command '%s' (ping, run, update, status, history, suspend, "
		        "resume, kill, release, property, runtime)",
		        req->command ? req->command : "");
		return;
	}
	pthread_mutex_lock(&c->mu);
	stopping = c->stopping;
	pthread_mutex_unlock(&c->mu);
	if (stopping && !commands[i].while_stopping) {
		fugue_reply_error(reply, FUGUE_ERR_SHUTTING_DOWN, NULL,
		                  "the conductor is shutting down; try again when it is back");
		return;
	}
	commands[i].fn(c, req, reply);
}
