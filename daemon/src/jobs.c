/* jobs.c - what a job does once it holds its process: run and update
 * (plan the declaration, execute), converge (observe, diff, correct or
 * record drift: resume, restart, enforcement passes, retries), kill
 * (delete everything, forget the process) and release (forget it, leave
 * the resources).
 *
 * Every job ends with the process's state and last message, a history row
 * when it did or found something, a `job` event and the final answer to
 * whoever waits (if anyone still does: a client that went away does not
 * stop the job). A job cancelled by suspend, kill, release or shutdown
 * changes nothing of the process's state: whoever cancelled it did. */
#include "conductor_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "fugue/log.h"

/* Everything one job works with. */
struct work {
	fugue_job *job;
	fugue_conductor *c;
	const char *fid;
	fugue_state_process rec;
	int have_rec;
	fugue_composition *comp; /* the declaration (NULL for kill without one) */
	fugue_composition *prev; /* update: the one it replaces */
	fugue_live live;
	fugue_plan plan;
	struct json_object *plan_json;
	fugue_exec_result res;
	int executed;
	int exec_rc;
	char message[1024];         /* "FAILED: web: ..." */
	struct json_object *errors; /* [{resource, action, code, message, requestId}] */
	/* Converge: the status of each resource before this pass observed it. */
	char **snap_names;
	fugue_resource_status *snap_status;
	size_t nsnap;
	/* Converge: {resource: [{property, declared, actual, action, reason}]},
	 * the drift this pass found (masked by the plan). */
	struct json_object *drift_by;
};

static void add(struct json_object *o, const char *key, struct json_object *v)
{
	json_object_object_add(o, key, v);
}

/* snprintf that may truncate: one-line summaries are cut, never overflow. */
static void line(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void line(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, size, fmt, ap);
	va_end(ap);
}

static void work_init(struct work *w, fugue_job *job)
{
	memset(w, 0, sizeof(*w));
	w->job = job;
	w->c = job->c;
	w->fid = job->proc->fid;
}

static void work_clear(struct work *w)
{
	size_t i;

	if (w->have_rec)
		fugue_state_process_clear(&w->rec);
	fugue_composition_free(w->comp);
	fugue_composition_free(w->prev);
	fugue_live_clear(&w->live);
	fugue_plan_clear(&w->plan);
	json_object_put(w->plan_json);
	if (w->executed)
		fugue_exec_result_clear(&w->res);
	json_object_put(w->errors);
	json_object_put(w->drift_by);
	for (i = 0; i < w->nsnap; i++)
		free(w->snap_names[i]);
	free(w->snap_names);
	free(w->snap_status);
}

static fugue_cancel_reason cancel_reason(fugue_job *job)
{
	fugue_cancel_reason why;

	pthread_mutex_lock(&job->c->mu);
	why = job->why;
	pthread_mutex_unlock(&job->c->mu);
	return why;
}

static int cancelled(fugue_job *job)
{
	return fugue_cancel_is_set(&job->cancel);
}

/* --- answers --------------------------------------------------------------------- */

static void send_job_event(fugue_job *job, const char *state, const char *message)
{
	struct json_object *data;

	if (!job->reply)
		return;
	data = json_object_new_object();
	add(data, "fid", json_object_new_string(job->proc->fid));
	add(data, "kind", json_object_new_string(job->trigger));
	add(data, "state", fugue_core_str_json(state));
	add(data, "message", fugue_core_str_json(message));
	fugue_reply_event(job->reply, "job", data);
	json_object_put(data);
}

static void reply_cancelled(fugue_job *job)
{
	fugue_cancel_reason why = cancel_reason(job);
	const char *because = "it was cancelled";

	fugue_core_log(FUGUE_LOG_INFO, job->proc->fid, NULL, "%s job of %s cancelled", job->trigger,
	               job->proc->fid);
	fugue_core_job_leave(job);
	if (!job->reply)
		return;
	send_job_event(job, NULL, "CANCELLED");
	switch (why) {
	case FUGUE_CANCEL_SHUTDOWN:
		fugue_reply_error(
		        job->reply, FUGUE_ERR_SHUTTING_DOWN, NULL,
		        "the conductor is shutting down; process %s picks up where it was "
		        "when it starts again",
		        job->proc->fid);
		return;
	case FUGUE_CANCEL_SUSPEND:
		because = "the process was suspended";
		break;
	case FUGUE_CANCEL_KILL:
		because = "the process is being killed";
		break;
	case FUGUE_CANCEL_RELEASE:
		because = "the process was released";
		break;
	case FUGUE_CANCEL_PREEMPT:
		because = "another job took the process";
		break;
	case FUGUE_CANCEL_NONE:
		break;
	}
	fugue_reply_error(job->reply, FUGUE_ERR_CONFLICT, NULL, "the %s job of %s stopped: %s",
	                  job->trigger, job->proc->fid, because);
}

/* The common result: {"fid", "alias", "plan", "state", "message"}. */
static struct json_object *result_json(const struct work *w, const char *state, const char *message)
{
	struct json_object *r = json_object_new_object();

	add(r, "fid", json_object_new_string(w->fid));
	add(r, "alias", fugue_core_str_json(w->have_rec ? w->rec.alias : NULL));
	add(r, "plan", w->plan_json ? json_object_get(w->plan_json) : NULL);
	add(r, "state", fugue_core_str_json(state));
	add(r, "message", fugue_core_str_json(message));
	return r;
}

static void reply_ok(struct work *w, const char *state, const char *message)
{
	struct json_object *r;

	fugue_core_job_leave(w->job);
	send_job_event(w->job, state, message);
	if (!w->job->reply)
		return;
	r = result_json(w, state, message);
	fugue_reply_ok(w->job->reply, r);
	json_object_put(r);
}

static void reply_failed(struct work *w, const char *state)
{
	struct json_object *d;

	fugue_core_job_leave(w->job);
	send_job_event(w->job, state, w->message);
	if (!w->job->reply)
		return;
	d = result_json(w, state, w->message);
	add(d, "errors", w->errors ? json_object_get(w->errors) : json_object_new_array());
	fugue_reply_error(w->job->reply, FUGUE_ERR_FAILED, d, "%s", w->message);
	json_object_put(d);
}

static void reply_internal(fugue_job *job, const char *what)
{
	fugue_core_log(FUGUE_LOG_ERROR, job->proc->fid, NULL, "%s job of %s: %s", job->trigger,
	               job->proc->fid, what);
	fugue_core_job_leave(job);
	send_job_event(job, NULL, what);
	if (job->reply)
		fugue_reply_error(job->reply, FUGUE_ERR_INTERNAL, NULL, "%s", what);
}

static void history(struct work *w, fugue_history_kind kind, const char *summary,
                    const struct json_object *details)
{
	fugue_state_diag diag = { { 0 } };
	char *text = details ? fugue_json_text(details) : NULL;

	if (fugue_state_history_append(NULL, w->c->state, w->fid, kind, w->job->uid, summary, text,
	                               &diag) != 0)
		fugue_core_log(FUGUE_LOG_ERROR, w->fid, NULL, "cannot write history: %s",
		               diag.message);
	free(text);
}

/* --- loading --------------------------------------------------------------------- */

/* The process record, its composition and its live state. Returns 0, or -1
 * after answering (the process is gone, or the store failed). */
static int work_load(struct work *w)
{
	fugue_state_resource *recs = NULL;
	fugue_state_diag diag = { { 0 } };
	size_t n = 0;
	int rc;

	rc = fugue_state_process_get(&w->rec, w->c->state, w->fid, &diag);
	if (rc != 0) {
		fugue_core_job_leave(w->job);
		if (w->job->reply)
			fugue_reply_error(w->job->reply, FUGUE_ERR_NOT_FOUND, NULL,
			                  "process %s is gone", w->fid);
		return -1;
	}
	w->have_rec = 1;
	if (w->rec.compiled) {
		w->comp = fugue_core_load_composition(w->c, w->fid, w->rec.compiled);
		if (!w->comp) {
			reply_internal(w->job, "the stored composition does not load");
			return -1;
		}
	}
	rc = fugue_state_resource_list(&recs, &n, w->c->state, w->fid, &diag);
	if (rc == 0)
		rc = fugue_live_load(&w->live, recs, n);
	fugue_state_resource_list_free(recs, n);
	if (rc != 0) {
		reply_internal(w->job, "cannot load the resource records");
		return -1;
	}
	return 0;
}

/* Reloads LIVE from the records (after recovery changed them). */
static int reload_live(struct work *w)
{
	fugue_state_resource *recs = NULL;
	size_t n = 0;
	int rc;

	fugue_live_clear(&w->live);
	rc = fugue_state_resource_list(&recs, &n, w->c->state, w->fid, NULL);
	if (rc == 0)
		rc = fugue_live_load(&w->live, recs, n);
	fugue_state_resource_list_free(recs, n);
	return rc;
}

/* Resolves what a crash left, when that is still to do. */
static void recover_if_needed(struct work *w)
{
	int needed;

	pthread_mutex_lock(&w->c->mu);
	needed = w->job->proc->needs_recovery;
	pthread_mutex_unlock(&w->c->mu);
	if (!needed)
		return;
	if (fugue_core_recover(w->c, w->fid, &w->job->cancel) == 0) {
		pthread_mutex_lock(&w->c->mu);
		w->job->proc->needs_recovery = 0;
		pthread_mutex_unlock(&w->c->mu);
	}
	reload_live(w);
}

/* --- planning and executing ------------------------------------------------------ */

static int compute_plan(struct work *w, const fugue_composition *declared,
                        const fugue_composition *previous)
{
	fugue_plan_input in = { declared, previous, &w->live };
	int rc;

	fugue_plan_clear(&w->plan);
	json_object_put(w->plan_json);
	w->plan_json = NULL;
	rc = fugue_plan_compute(&w->plan, &in);
	if (rc == 0)
		rc = fugue_plan_to_json(&w->plan_json, &w->plan);
	if (rc != 0)
		reply_internal(w->job, "cannot compute the plan");
	return rc;
}

static void send_plan(struct work *w)
{
	if (w->job->reply && w->plan_json)
		fugue_reply_event(w->job->reply, "plan", w->plan_json);
}

static void on_event(const fugue_sched_event *ev, void *payload)
{
	fugue_job *job = payload;
	struct json_object *d;

	/* Failures and retries are logged by the scheduler, with the request id. */
	if (ev->phase == FUGUE_SCHED_DONE)
		fugue_core_log(FUGUE_LOG_INFO, job->proc->fid, ev->resource, "%s %s done%s%s",
		               ev->action ? ev->action : "?", ev->resource, ev->aws_id ? ": " : "",
		               ev->aws_id ? ev->aws_id : "");
	if (!job->reply)
		return;
	d = json_object_new_object();
	add(d, "resource", fugue_core_str_json(ev->resource));
	add(d, "type", fugue_core_str_json(ev->type));
	add(d, "action", fugue_core_str_json(ev->action));
	add(d, "phase", json_object_new_string(fugue_sched_phase_name(ev->phase)));
	if (ev->aws_id)
		add(d, "id", json_object_new_string(ev->aws_id));
	if (ev->message)
		add(d, "message", json_object_new_string(ev->message));
	if (ev->error_code)
		add(d, "errorCode", json_object_new_string(ev->error_code));
	if (ev->request_id)
		add(d, "requestId", json_object_new_string(ev->request_id));
	fugue_reply_event(job->reply, "progress", d);
	json_object_put(d);
}

/* Whether the outcome is a failure of its own, not a skip or a cancel. */
static int root_failure(const fugue_exec_outcome *o)
{
	return o->result != 0 && o->result != FUGUE_ECANCELED &&
	       (o->result != FUGUE_ERETRY || o->error_code);
}

/* Fills W->message and W->errors from the execution's outcomes. */
static void describe_failure(struct work *w)
{
	const fugue_exec_outcome *first = NULL;
	size_t i;

	json_object_put(w->errors);
	w->errors = json_object_new_array();
	for (i = 0; i < w->res.n; i++) {
		const fugue_exec_outcome *o = &w->res.outcomes[i];
		struct json_object *e;

		if (o->result == 0 || o->result == FUGUE_ECANCELED)
			continue;
		if (!first && root_failure(o))
			first = o;
		e = json_object_new_object();
		add(e, "resource", fugue_core_str_json(o->resource));
		add(e, "action", json_object_new_string(fugue_action_kind_name(o->kind)));
		add(e, "skipped", json_object_new_boolean(!root_failure(o)));
		add(e, "code", fugue_core_str_json(o->error_code));
		add(e, "message",
		    fugue_core_str_json(o->message ? o->message : fugue_strerror(o->result)));
		add(e, "requestId", fugue_core_str_json(o->request_id));
		json_object_array_add(w->errors, e);
	}
	for (i = 0; !first && i < w->res.n; i++) {
		if (w->res.outcomes[i].result != 0 && w->res.outcomes[i].result != FUGUE_ECANCELED)
			first = &w->res.outcomes[i];
	}
	if (first)
		line(w->message, sizeof(w->message), "FAILED: %s: %s", first->resource,
		     first->message ? first->message : fugue_strerror(first->result));
	else
		line(w->message, sizeof(w->message), "FAILED: %s", fugue_strerror(w->exec_rc));
}

/* Runs W->plan. Returns 0 when everything was done, FUGUE_ECANCELED when
 * cancelled, another FUGUE_E* when something failed (W->message says what). */
static int execute(struct work *w, const fugue_composition *declared,
                   const fugue_composition *previous)
{
	fugue_exec_options o = FUGUE_EXEC_OPTIONS_INIT;
	fugue_conductor *c = w->c;

	o.fid = w->fid;
	o.plan = &w->plan;
	o.declared = declared;
	o.previous = previous;
	o.registry = c->registry;
	o.live = &w->live;
	o.state = c->state;
	o.aws = c->aws;
	o.pool = c->pool;
	o.slots = c->slots;
	o.cancel = &w->job->cancel;
	o.retry_base_ms = c->retry_base_ms;
	o.on_event = on_event;
	o.event_payload = w->job;
	if (w->executed)
		fugue_exec_result_clear(&w->res);
	memset(&w->res, 0, sizeof(w->res));
	w->exec_rc = fugue_execute(&w->res, &o);
	w->executed = 1;
	if (w->exec_rc == 0 && w->res.failed == 0)
		return 0;
	if (w->res.cancelled || w->exec_rc == FUGUE_ECANCELED || cancelled(w->job))
		return FUGUE_ECANCELED;
	describe_failure(w);
	return w->exec_rc ? w->exec_rc : FUGUE_EAWS;
}

/* "2 created, 1 updated" from what was done; "no changes" when nothing. */
static void done_summary(char *buf, size_t size, const struct work *w)
{
	size_t n[FUGUE_ACTION_KINDS] = { 0 };
	static const char *const verbs[FUGUE_ACTION_KINDS] = { NULL, "created", "updated",
		                                               "replaced", "deleted" };
	size_t i;
	size_t len = 0;

	for (i = 0; w->executed && i < w->res.n; i++) {
		if (w->res.outcomes[i].result == 0)
			n[w->res.outcomes[i].kind]++;
	}
	buf[0] = '\0';
	for (i = 1; i < FUGUE_ACTION_KINDS; i++) {
		if (n[i] && len < size)
			len += (size_t)snprintf(buf + len, size - len, "%s%zu %s", len ? ", " : "",
			                        n[i], verbs[i]);
	}
	if (!buf[0])
		snprintf(buf, size, "no changes");
}

/* --- the process's state at the end of a job ------------------------------------- */

/* Moves the process to WANT with MESSAGE, unless the job was cancelled or
 * the process moved on meanwhile (suspended, being killed, forgotten).
 * Keeps the retry backoff. Returns the state the process is in now. */
static fugue_process_state conclude_state(struct work *w, fugue_process_state want,
                                          const char *message)
{
	fugue_conductor *c = w->c;
	fugue_proc *p = w->job->proc;
	fugue_process_state now;
	int64_t t = fugue_clock_wall_ms();

	pthread_mutex_lock(&c->mu);
	if (w->job->why == FUGUE_CANCEL_NONE && !p->forgotten &&
	    (p->state == FUGUE_PROCESS_RUNNING || p->state == FUGUE_PROCESS_FAILED)) {
		if (fugue_state_process_set_state(c->state, w->fid, want, message, NULL) == 0)
			p->state = want;
	}
	if (want == FUGUE_PROCESS_FAILED) {
		p->failures++;
		p->retry_at_ms = t + fugue_core_backoff_ms(c, p->failures);
	} else {
		p->failures = 0;
		p->retry_at_ms = 0;
	}
	now = p->state;
	pthread_mutex_unlock(&c->mu);
	return now;
}

/* Records with nothing to do whose status still says a past failure are
 * ready again (the resource exists and matches its declaration). */
static void settle_records(struct work *w)
{
	size_t i;

	for (i = 0; i < w->plan.nactions; i++) {
		const fugue_action *a = &w->plan.actions[i];
		const fugue_live_entry *e = fugue_live_find(&w->live, a->resource);
		fugue_state_resource r;

		if (a->kind != FUGUE_ACTION_NONE || !e || !e->state)
			continue;
		if (e->status == FUGUE_RESOURCE_READY)
			continue;
		if (fugue_state_resource_get(&r, w->c->state, w->fid, a->resource, NULL) != 0)
			continue;
		if (r.status != FUGUE_RESOURCE_READY) {
			r.status = FUGUE_RESOURCE_READY;
			free(r.error_code);
			free(r.error_message);
			free(r.error_request_id);
			r.error_code = r.error_message = r.error_request_id = NULL;
			fugue_state_resource_put(w->c->state, &r, NULL);
		}
		fugue_state_resource_clear(&r);
	}
}

/* --- run, update ----------------------------------------------------------------- */

/* A run or update that converged left no drift: every resource matches the
 * declaration now. The time of the last enforcement pass stays. */
static void clear_drift(struct work *w)
{
	fugue_state *st = w->c->state;
	fugue_state_resource *recs = NULL;
	size_t n = 0;
	size_t i;
	int rc = fugue_state_tx_begin(st, NULL);

	if (rc != 0)
		return;
	rc = fugue_state_resource_list(&recs, &n, st, w->fid, NULL);
	for (i = 0; rc == 0 && i < n; i++) {
		if (recs[i].drift)
			rc = fugue_state_resource_set_drift(st, w->fid, recs[i].name, NULL, NULL);
	}
	fugue_state_resource_list_free(recs, n);
	if (rc == 0 && w->rec.drift)
		rc = fugue_state_process_set_enforced(st, w->fid, w->rec.last_enforced_ms, 0, NULL);
	if (rc == 0)
		fugue_state_tx_commit(st, NULL);
	else
		fugue_state_tx_rollback(st, NULL);
}

static void job_apply(fugue_job *job)
{
	fugue_history_kind kind =
	        job->kind == FUGUE_JOB_RUN ? FUGUE_HISTORY_RUN : FUGUE_HISTORY_UPDATE;
	struct work w;
	fugue_process_state st;
	char summary[1200];
	char did[256];
	int rc;

	work_init(&w, job);
	if (work_load(&w) != 0)
		goto out;
	if (!w.comp) {
		reply_internal(job, "the process has no compiled composition");
		goto out;
	}
	if (job->previous) {
		struct json_object *j = fugue_core_parse_json(job->previous);

		if (j)
			fugue_composition_from_json(&w.prev, j, w.c->registry);
		json_object_put(j);
	}
	if (job->kind == FUGUE_JOB_UPDATE)
		recover_if_needed(&w);
	if (compute_plan(&w, w.comp, w.prev) != 0)
		goto out;
	send_plan(&w);
	rc = execute(&w, w.comp, w.prev);
	if (rc == FUGUE_ECANCELED) {
		reply_cancelled(job);
		goto out;
	}
	done_summary(did, sizeof(did), &w);
	if (rc == 0) {
		settle_records(&w);
		clear_drift(&w);
		st = conclude_state(&w, FUGUE_PROCESS_RUNNING, "SUCCEEDED");
		line(summary, sizeof(summary), "%s: SUCCEEDED (%s)", job->trigger, did);
		history(&w, kind, summary, NULL);
		fugue_core_proc_learn(w.c, job->proc, w.comp);
		reply_ok(&w, fugue_process_state_name(st), "SUCCEEDED");
	} else {
		st = conclude_state(&w, FUGUE_PROCESS_FAILED, w.message);
		line(summary, sizeof(summary), "%s: %s (%s)", job->trigger, w.message, did);
		history(&w, kind, summary, w.errors);
		fugue_core_proc_learn(w.c, job->proc, w.comp);
		reply_failed(&w, fugue_process_state_name(st));
	}
out:
	work_clear(&w);
}

/* --- converge: resume, restart, enforcement passes, retries ---------------------- */

/* Remembers each resource's status before observation changes it. */
static void snapshot(struct work *w)
{
	size_t i;

	w->snap_names = calloc(w->live.n ? w->live.n : 1, sizeof(*w->snap_names));
	w->snap_status = calloc(w->live.n ? w->live.n : 1, sizeof(*w->snap_status));
	if (!w->snap_names || !w->snap_status)
		return;
	for (i = 0; i < w->live.n; i++) {
		w->snap_names[i] = strdup(w->live.entries[i].name);
		if (!w->snap_names[i])
			return;
		w->snap_status[i] = w->live.entries[i].status;
		w->nsnap++;
	}
}

/* The status RESOURCE had before this pass; PENDING when it had no record. */
static fugue_resource_status status_before(const struct work *w, const char *resource)
{
	size_t i;

	for (i = 0; i < w->nsnap; i++) {
		if (strcmp(w->snap_names[i], resource) == 0)
			return w->snap_status[i];
	}
	return FUGUE_RESOURCE_PENDING;
}

static int planner_due(const struct work *w, const char *type)
{
	int k;

	if (!w->job->due)
		return 1;
	k = fugue_core_planner_of(w->c, type);
	return k >= 0 && w->job->due[k];
}

/* Drift is a declared resource that had converged (Ready, or since found
 * deleted) and no longer matches, or a duplicate of one found in AWS
 * (compiler.h, FUGUE_DUPLICATE_MARK). Anything else in the plan is work a
 * failed job left (a create that failed, an update that did not go
 * through, a resource no longer declared), which is retried whatever the
 * enforcement property says. */
static int is_drift(const struct work *w, const fugue_action *a)
{
	fugue_resource_status before;

	if (a->kind == FUGUE_ACTION_DELETE)
		return strstr(a->resource, FUGUE_DUPLICATE_MARK) != NULL;
	if (a->kind == FUGUE_ACTION_NONE)
		return 0;
	before = status_before(w, a->resource);
	return before == FUGUE_RESOURCE_READY || before == FUGUE_RESOURCE_DELETED;
}

/* {property, declared, actual, action, reason} of one drifted property
 * (property null: the resource itself, gone). */
static struct json_object *drift_json(const fugue_action *a, const fugue_change *ch)
{
	struct json_object *d = json_object_new_object();

	add(d, "property", ch ? json_object_new_string(ch->property) : NULL);
	add(d, "declared", ch && ch->declared ? json_object_get(ch->declared) : NULL);
	add(d, "actual", ch && ch->actual ? json_object_get(ch->actual) : NULL);
	add(d, "action", json_object_new_string(fugue_action_kind_name(a->kind)));
	add(d, "reason", fugue_core_str_json(a->reason));
	return d;
}

/* One drift item for history (ITEMS, with the resource and its type) and
 * for the resource's record (W->drift_by). */
static void add_drift_item(struct work *w, struct json_object *items, const fugue_action *a,
                           const fugue_change *ch)
{
	struct json_object *d = drift_json(a, ch);
	struct json_object *list = NULL;

	if (w->drift_by && !json_object_object_get_ex(w->drift_by, a->resource, &list)) {
		list = json_object_new_array();
		add(w->drift_by, a->resource, list);
	}
	if (list)
		json_object_array_add(list, drift_json(a, ch));
	add(d, "resource", json_object_new_string(a->resource));
	add(d, "type", fugue_core_str_json(a->type));
	json_object_array_add(items, d);
}

/* Collects the drift of this pass into ITEMS ({resource, property,
 * declared, actual, action}; values masked by the plan) and returns the
 * number of drifted resources. Drift of planners not observed in this
 * pass, and all drift when enforcement is off, is taken out of the plan
 * (action none): only observed drift is corrected, and only when allowed. */
static size_t collect_drift(struct work *w, struct json_object *items, int correct)
{
	size_t drifted = 0;
	size_t i;
	size_t k;

	for (i = 0; i < w->plan.nactions; i++) {
		fugue_action *a = &w->plan.actions[i];

		if (!is_drift(w, a))
			continue;
		if (planner_due(w, a->type)) {
			drifted++;
			if (a->nchanges == 0)
				add_drift_item(w, items, a, NULL);
			for (k = 0; k < a->nchanges; k++)
				add_drift_item(w, items, a, &a->changes[k]);
			if (correct)
				continue;
		}
		w->plan.counts[a->kind]--;
		w->plan.counts[FUGUE_ACTION_NONE]++;
		a->kind = FUGUE_ACTION_NONE;
	}
	return drifted;
}

/* "vpc deleted outside Fugue, web 1 property changed" into BUF. */
static void drift_summary(char *buf, size_t size, const struct work *w)
{
	size_t len = 0;
	size_t i;

	buf[0] = '\0';
	for (i = 0; i < w->plan.nactions && len < size; i++) {
		const fugue_action *a = &w->plan.actions[i];

		if (is_drift(w, a) && planner_due(w, a->type))
			len += (size_t)snprintf(buf + len, size - len, "%s%s: %s", len ? "; " : "",
			                        a->resource, a->reason ? a->reason : "changed");
	}
}

static int process_enforcement(struct work *w)
{
	return w->rec.enforcement;
}

/* Whether the plan still has anything to run. */
static int has_work(const fugue_plan *plan)
{
	size_t i;

	for (i = 0; i < plan->nactions; i++) {
		if (plan->actions[i].kind != FUGUE_ACTION_NONE)
			return 1;
	}
	return 0;
}

static void converge_dry(struct work *w)
{
	struct json_object *r;

	fugue_core_job_leave(w->job);
	if (!w->job->reply)
		return;
	r = json_object_new_object();
	add(r, "fid", json_object_new_string(w->fid));
	add(r, "dryRun", json_object_new_boolean(1));
	add(r, "plan", json_object_get(w->plan_json));
	add(r, "state", json_object_new_string(fugue_process_state_name(w->rec.state)));
	fugue_reply_ok(w->job->reply, r);
	json_object_put(r);
}

/* Whether the pass corrected RESOURCE: it ran an action on it and every
 * one succeeded. */
static int corrected(const struct work *w, const char *resource)
{
	size_t i;
	int ran = 0;

	for (i = 0; w->executed && i < w->res.n; i++) {
		if (strcmp(w->res.outcomes[i].resource, resource) != 0)
			continue;
		if (w->res.outcomes[i].result != 0)
			return 0;
		ran = 1;
	}
	return ran;
}

/* Stores, in one transaction, the drift each observed resource was left
 * with (none when corrected) and the pass on the process: the count is of
 * every resource still drifted, including those of planners this pass did
 * not observe (they keep what their last pass found). */
static int store_drift(struct work *w, int correct, int64_t now, long *left,
                       fugue_state_diag *diag)
{
	fugue_state *st = w->c->state;
	fugue_state_resource *recs = NULL;
	size_t n = 0;
	size_t i;
	int rc;

	*left = 0;
	rc = fugue_state_tx_begin(st, diag);
	if (rc != 0)
		return rc;
	rc = fugue_state_resource_list(&recs, &n, st, w->fid, diag);
	for (i = 0; rc == 0 && i < n; i++) {
		struct json_object *list = NULL;
		char *text = NULL;

		if (!planner_due(w, recs[i].type)) {
			*left += recs[i].drift && strcmp(recs[i].drift, "[]") != 0;
			continue;
		}
		if (w->drift_by && json_object_object_get_ex(w->drift_by, recs[i].name, &list) &&
		    !(correct && corrected(w, recs[i].name))) {
			text = fugue_json_text(list);
			if (!text)
				rc = FUGUE_ENOMEM;
			(*left)++;
		}
		if (rc == 0 && (text || recs[i].drift))
			rc = fugue_state_resource_set_drift(st, w->fid, recs[i].name, text, diag);
		free(text);
	}
	fugue_state_resource_list_free(recs, n);
	if (rc == 0)
		rc = fugue_state_process_set_enforced(st, w->fid, now, *left, diag);
	if (rc != 0) {
		fugue_state_tx_rollback(st, NULL);
		return rc;
	}
	return fugue_state_tx_commit(st, diag);
}

/* After a pass: when it ran and the drift it left (kept in the store, so
 * that `status` shows them after a restart), when its planners are due
 * again. */
static void account_pass(struct work *w, int correct)
{
	fugue_conductor *c = w->c;
	fugue_proc *p = w->job->proc;
	fugue_state_diag diag = { { 0 } };
	int64_t now = fugue_clock_wall_ms();
	long left = 0;
	size_t i;
	int rc = store_drift(w, correct, now, &left, &diag);

	/* The process may be forgotten meanwhile (killed, released): then there
	 * is nothing to record it on. */
	if (rc != 0 && rc != FUGUE_ENOTFOUND)
		fugue_core_log(FUGUE_LOG_WARN, w->fid, NULL, "cannot record the pass: %s",
		               diag.message);
	pthread_mutex_lock(&c->mu);
	for (i = 0; i < c->nplanners; i++) {
		if (!w->job->due || w->job->due[i])
			p->next_due_ms[i] = now + fugue_core_interval(c, (int)i);
	}
	pthread_mutex_unlock(&c->mu);
}

/* Whether a pass the Conductor started on its own still applies: the
 * process may have been suspended or killed since it was queued. */
static int still_wanted(const struct work *w)
{
	if (w->job->uid != FUGUE_STATE_NO_UID)
		return 1;
	return w->rec.state == FUGUE_PROCESS_RUNNING || w->rec.state == FUGUE_PROCESS_FAILED;
}

/* The history rows of a pass: DRIFT when it found drift, and a row of its
 * own (RESUME for resume; ENFORCE when it ran retries or failed). */
static void record_pass(struct work *w, size_t drifted, const char *what,
                        struct json_object *items, int ran, int rc, int correct)
{
	char summary[2048];
	char did[256];

	done_summary(did, sizeof(did), w);
	if (drifted) {
		if (!correct)
			line(summary, sizeof(summary),
			     "drift in %zu resource%s (%s): not corrected: "
			     "enforcement off",
			     drifted, drifted == 1 ? "" : "s", what);
		else if (rc == 0)
			line(summary, sizeof(summary), "drift in %zu resource%s (%s): corrected",
			     drifted, drifted == 1 ? "" : "s", what);
		else
			line(summary, sizeof(summary),
			     "drift in %zu resource%s (%s): correction %s", drifted,
			     drifted == 1 ? "" : "s", what, w->message);
		history(w, FUGUE_HISTORY_DRIFT, summary, items);
	}
	if (strcmp(w->job->trigger, "resume") == 0) {
		line(summary, sizeof(summary), "resume: %s (%s)",
		     rc == 0 ? "SUCCEEDED" : w->message, did);
		history(w, FUGUE_HISTORY_RESUME, summary, rc == 0 ? NULL : w->errors);
	} else if (ran && (rc != 0 || !drifted)) {
		line(summary, sizeof(summary), "%s: %s (%s)", w->job->trigger,
		     rc == 0 ? "SUCCEEDED" : w->message, did);
		history(w, FUGUE_HISTORY_ENFORCE, summary, rc == 0 ? NULL : w->errors);
	}
}

/* The rotation of JOB's observation (fugue_core_observe), per planner: a
 * routine pass (some planners due) spreads per-resource reads over each
 * planner's passes; any other converge (resume, retry, start) reads
 * everything (NULL). The caller frees it. */
static unsigned long *routine_rotation(fugue_job *job)
{
	fugue_conductor *c = job->c;
	unsigned long *rotation;
	size_t i;

	if (!job->due || job->dry_run)
		return NULL;
	rotation = calloc(c->nplanners ? c->nplanners : 1, sizeof(*rotation));
	if (!rotation)
		return NULL;
	pthread_mutex_lock(&c->mu);
	for (i = 0; i < c->nplanners; i++)
		rotation[i] = job->due[i] ? ++job->proc->passes[i] : 0;
	pthread_mutex_unlock(&c->mu);
	return rotation;
}

static void job_converge(fugue_job *job)
{
	struct json_object *items = json_object_new_array();
	unsigned long *rotation;
	struct work w;
	fugue_process_state st;
	char what[1024];
	size_t drifted;
	int correct;
	int ran = 0;
	int rc = 0;

	work_init(&w, job);
	if (work_load(&w) != 0)
		goto out;
	if (!still_wanted(&w) || !w.comp) {
		if (!w.comp)
			reply_internal(job, "the process has no compiled composition");
		goto out;
	}
	recover_if_needed(&w);
	snapshot(&w);
	rotation = routine_rotation(job);
	fugue_core_observe(w.c, w.fid, w.comp, &w.live, job->due, rotation, &job->cancel,
	                   !job->dry_run);
	free(rotation);
	if (cancelled(job)) {
		reply_cancelled(job);
		goto out;
	}
	if (compute_plan(&w, w.comp, NULL) != 0)
		goto out;
	if (job->dry_run) {
		converge_dry(&w);
		goto out;
	}
	correct = process_enforcement(&w);
	w.drift_by = json_object_new_object();
	/* Described before collect_drift() takes uncorrected drift out of the plan. */
	drift_summary(what, sizeof(what), &w);
	drifted = collect_drift(&w, items, correct);
	if (drifted)
		fugue_core_log(FUGUE_LOG_WARN, w.fid, NULL, "process %s: drift in %zu resource%s%s",
		               w.fid, drifted, drifted == 1 ? "" : "s",
		               correct ? ", correcting" : " (enforcement off: recorded only)");
	json_object_put(w.plan_json);
	w.plan_json = NULL;
	fugue_plan_to_json(&w.plan_json, &w.plan);
	send_plan(&w);
	if (has_work(&w.plan)) {
		ran = 1;
		rc = execute(&w, w.comp, NULL);
		if (rc == FUGUE_ECANCELED) {
			reply_cancelled(job);
			goto out;
		}
	}
	settle_records(&w);
	account_pass(&w, correct);
	record_pass(&w, drifted, what, items, ran, rc, correct);
	if (rc == 0) {
		st = conclude_state(&w, FUGUE_PROCESS_RUNNING,
		                    ran || w.rec.state == FUGUE_PROCESS_FAILED ? "SUCCEEDED"
		                                                               : NULL);
		fugue_core_proc_learn(w.c, job->proc, w.comp);
		reply_ok(&w, fugue_process_state_name(st), "SUCCEEDED");
	} else {
		st = conclude_state(&w, FUGUE_PROCESS_FAILED, w.message);
		fugue_core_proc_learn(w.c, job->proc, w.comp);
		reply_failed(&w, fugue_process_state_name(st));
	}
out:
	json_object_put(items);
	work_clear(&w);
}

/* --- kill ------------------------------------------------------------------------ */

/* A kill that could not finish: the process stays Killing and is retried. */
static void kill_failed(struct work *w, const char *did)
{
	fugue_conductor *c = w->c;
	fugue_proc *p = w->job->proc;
	char summary[1200];

	pthread_mutex_lock(&c->mu);
	if (!p->forgotten && w->job->why == FUGUE_CANCEL_NONE)
		fugue_state_process_set_message(c->state, w->fid, w->message, NULL);
	p->failures++;
	p->retry_at_ms = fugue_clock_wall_ms() + fugue_core_backoff_ms(c, p->failures);
	pthread_mutex_unlock(&c->mu);
	line(summary, sizeof(summary), "kill: %s (%s); retried later", w->message, did);
	history(w, FUGUE_HISTORY_KILL, summary, w->errors);
	reply_failed(w, "Killing");
}

/* Forgets the process once its resources are gone (history stays), with
 * its last history entry (KIND, SUMMARY) in the same transaction: whoever
 * sees the process gone also sees why. */
static int forget(struct work *w, const char *closing_result, fugue_history_kind kind,
                  const char *summary)
{
	fugue_state *st = w->c->state;
	fugue_state_journal *open = NULL;
	fugue_state_diag diag = { { 0 } };
	size_t n = 0;
	size_t i;
	int rc;

	/* Entries a crash left and observation could not resolve: nobody will
	 * resolve them once the process is forgotten. */
	if (fugue_state_journal_open_entries(&open, &n, st, NULL) == 0) {
		for (i = 0; i < n; i++) {
			if (strcmp(open[i].fid, w->fid) == 0)
				fugue_state_journal_end(st, open[i].id, closing_result, NULL, NULL);
		}
		fugue_state_journal_list_free(open, n);
	}
	rc = fugue_state_tx_begin(st, &diag);
	if (rc == 0) {
		rc = fugue_state_history_append(NULL, st, w->fid, kind, w->job->uid, summary, NULL,
		                                &diag);
		if (rc == 0)
			rc = fugue_state_process_delete(st, w->fid, &diag);
		if (rc == 0)
			rc = fugue_state_tx_commit(st, &diag);
		else
			fugue_state_tx_rollback(st, NULL);
	}
	if (rc != 0) {
		line(w->message, sizeof(w->message), "FAILED: cannot forget the process: %s",
		     diag.message);
		return rc;
	}
	pthread_mutex_lock(&w->c->mu);
	fugue_core_proc_forget(w->c, w->job->proc);
	pthread_mutex_unlock(&w->c->mu);
	return 0;
}

static void job_kill(fugue_job *job)
{
	char summary[512];
	char did[256];
	struct work w;
	int rc;

	work_init(&w, job);
	if (work_load(&w) != 0)
		goto out;
	recover_if_needed(&w);
	/* Observation finds what a lost answer left without a recorded id. */
	fugue_core_observe(w.c, w.fid, w.comp, &w.live, NULL, NULL, &job->cancel, 1);
	if (cancelled(job)) {
		reply_cancelled(job);
		goto out;
	}
	if (compute_plan(&w, NULL, w.comp) != 0)
		goto out;
	send_plan(&w);
	rc = execute(&w, NULL, w.comp);
	if (rc == FUGUE_ECANCELED) {
		reply_cancelled(job);
		goto out;
	}
	done_summary(did, sizeof(did), &w);
	line(summary, sizeof(summary), "killed: %s", did);
	if (rc == 0)
		rc = forget(&w, "unknown", FUGUE_HISTORY_KILL, summary);
	if (rc != 0) {
		kill_failed(&w, did);
		goto out;
	}
	fugue_core_log(FUGUE_LOG_INFO, w.fid, NULL, "process %s killed (%s)", w.fid, did);
	reply_ok(&w, "Killed", "KILLED");
out:
	work_clear(&w);
}

/* --- release --------------------------------------------------------------------- */

static void job_release(fugue_job *job)
{
	struct json_object *r;
	char summary[512];
	struct work w;

	work_init(&w, job);
	if (work_load(&w) != 0)
		goto out;
	line(summary, sizeof(summary),
	     "released: %zu resource%s left in AWS, still tagged fugue:fid=%s", w.live.n,
	     w.live.n == 1 ? "" : "s", w.fid);
	if (forget(&w, "released", FUGUE_HISTORY_RELEASE, summary) != 0) {
		reply_internal(job, w.message);
		goto out;
	}
	fugue_core_log(FUGUE_LOG_INFO, w.fid, NULL, "process %s %s", w.fid, summary);
	fugue_core_job_leave(job);
	send_job_event(job, "Released", "RELEASED");
	if (job->reply) {
		r = json_object_new_object();
		add(r, "fid", json_object_new_string(w.fid));
		add(r, "alias", fugue_core_str_json(w.rec.alias));
		add(r, "resources", json_object_new_int64((int64_t)w.live.n));
		fugue_reply_ok(job->reply, r);
		json_object_put(r);
	}
out:
	work_clear(&w);
}

/* --- dispatch -------------------------------------------------------------------- */

void fugue_core_job_run(fugue_job *job)
{
	/* A job cancelled while it waited its turn does nothing - except a
	 * release, which is what cancelled the others. */
	if (cancelled(job)) {
		reply_cancelled(job);
		return;
	}
	switch (job->kind) {
	case FUGUE_JOB_RUN:
	case FUGUE_JOB_UPDATE:
		job_apply(job);
		break;
	case FUGUE_JOB_CONVERGE:
		job_converge(job);
		break;
	case FUGUE_JOB_KILL:
		job_kill(job);
		break;
	case FUGUE_JOB_RELEASE:
		job_release(job);
		break;
	}
}
