/* conductor.c - the Conductor as one object: opening (state, planners, AWS
 * client, pool, recovery), the in-memory process table, job threads and
 * their queues, runtime settings, shutdown. The commands are in
 * commands.c, the job bodies in jobs.c, the enforcement loop in enforce.c,
 * crash recovery in recovery.c (see conductor_internal.h). */
#include "conductor_internal.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "clock.h"
#include "fugue/log.h"

/* --- small helpers --------------------------------------------------------------- */

void fugue_core_time_str(char *buf, size_t size, int64_t ms)
{
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;
	char base[32];

	if (ms <= 0 || !gmtime_r(&secs, &tm)) {
		snprintf(buf, size, "%s", "");
		return;
	}
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, size, "%s.%03dZ", base, (int)(ms % 1000));
}

struct json_object *fugue_core_time_json(int64_t ms)
{
	char buf[40];

	if (ms <= 0)
		return NULL;
	fugue_core_time_str(buf, sizeof(buf), ms);
	return json_object_new_string(buf);
}

struct json_object *fugue_core_str_json(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

struct json_object *fugue_core_parse_json(const char *text)
{
	struct json_tokener *tok;
	struct json_object *o;

	if (!text || !*text)
		return NULL;
	tok = json_tokener_new();
	if (!tok)
		return NULL;
	o = json_tokener_parse_ex(tok, text, (int)strlen(text));
	if (json_tokener_get_error(tok) != json_tokener_success) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

void fugue_core_log(fugue_log_level level, const char *fid, const char *resource, const char *fmt,
                    ...)
{
	fugue_log_field fields[2] = { { "FUGUE_FID", fid }, { "FUGUE_RESOURCE", resource } };
	char *msg = NULL;
	va_list ap;

	if (!fugue_log_enabled(level))
		return;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (!msg)
		return;
	fugue_log_fields(level, fields, resource ? 2 : 1, "%s", msg);
	free(msg);
}

int fugue_core_planner_of(const fugue_conductor *c, const char *type_name)
{
	size_t i;
	size_t t;

	for (i = 0; type_name && i < c->nplanners; i++) {
		const fugue_planner_info *p = fugue_registry_planner(c->registry, i);

		for (t = 0; t < p->ntypes; t++) {
			if (strcmp(p->types[t]->name, type_name) == 0)
				return (int)i;
		}
	}
	return -1;
}

const char *fugue_core_planner_name(const fugue_conductor *c, size_t i)
{
	return fugue_registry_planner(c->registry, i)->name;
}

const char *fugue_core_default_region(const fugue_conductor *c)
{
	if (c->region)
		return c->region;
	return c->aws ? fugue_aws_client_region(c->aws) : NULL;
}

fugue_composition *fugue_core_load_composition(fugue_conductor *c, const char *fid,
                                               const char *compiled)
{
	struct json_object *j = fugue_core_parse_json(compiled);
	fugue_composition *comp = NULL;
	int rc;

	if (!j) {
		fugue_core_log(FUGUE_LOG_ERROR, fid, NULL,
		               "process %s has no readable compiled form", fid);
		return NULL;
	}
	rc = fugue_composition_from_json(&comp, j, c->registry);
	json_object_put(j);
	if (rc != 0) {
		fugue_core_log(FUGUE_LOG_ERROR, fid, NULL,
		               "process %s: cannot load its composition: %s", fid,
		               fugue_strerror(rc));
		return NULL;
	}
	return comp;
}

/* --- the process table ----------------------------------------------------------- */

fugue_proc *fugue_core_proc_find(fugue_conductor *c, const char *fid)
{
	fugue_proc *p;

	for (p = c->procs; p; p = p->next) {
		if (strcmp(p->fid, fid) == 0)
			return p;
	}
	return NULL;
}

fugue_proc *fugue_core_proc_add(fugue_conductor *c, const char *fid, fugue_process_state state)
{
	fugue_proc *p = fugue_core_proc_find(c, fid);
	fugue_proc **tail;

	if (p)
		return p;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->next_due_ms = calloc(c->nplanners ? c->nplanners : 1, sizeof(*p->next_due_ms));
	p->passes = calloc(c->nplanners ? c->nplanners : 1, sizeof(*p->passes));
	if (!p->next_due_ms || !p->passes) {
		free(p->next_due_ms);
		free(p->passes);
		free(p);
		return NULL;
	}
	snprintf(p->fid, sizeof(p->fid), "%s", fid);
	p->state = state;
	p->refs = 1;
	for (tail = &c->procs; *tail; tail = &(*tail)->next)
		;
	*tail = p;
	return p;
}

static void proc_free(fugue_proc *p)
{
	free(p->uses);
	free(p->next_due_ms);
	free(p->passes);
	free(p);
}

void fugue_core_proc_unref(fugue_conductor *c, fugue_proc *p)
{
	(void)c;
	if (--p->refs == 0)
		proc_free(p);
}

void fugue_core_proc_forget(fugue_conductor *c, fugue_proc *p)
{
	fugue_proc **pp;

	if (p->forgotten)
		return;
	for (pp = &c->procs; *pp; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	}
	p->next = NULL;
	p->forgotten = 1;
	fugue_core_proc_unref(c, p);
}

int fugue_core_set_state(fugue_conductor *c, fugue_proc *p, fugue_process_state state,
                         const char *message)
{
	fugue_state_diag diag = { { 0 } };
	int rc;

	pthread_mutex_lock(&c->mu);
	rc = fugue_state_process_set_state(c->state, p->fid, state, message, &diag);
	if (rc == 0)
		p->state = state;
	pthread_mutex_unlock(&c->mu);
	if (rc != 0)
		fugue_core_log(FUGUE_LOG_ERROR, p->fid, NULL,
		               "cannot set the state of %s to %s: %s", p->fid,
		               fugue_process_state_name(state), diag.message);
	return rc;
}

void fugue_core_proc_learn(fugue_conductor *c, fugue_proc *p, const fugue_composition *comp)
{
	fugue_state_resource *recs = NULL;
	size_t nrecs = 0;
	unsigned char *uses = calloc(c->nplanners ? c->nplanners : 1, 1);
	int64_t now = fugue_clock_wall_ms();
	size_t i;
	int k;

	if (!uses)
		return;
	for (i = 0; comp && i < comp->nresources; i++) {
		k = fugue_core_planner_of(c, comp->resources[i].type_name);
		if (k >= 0)
			uses[k] = 1;
	}
	if (fugue_state_resource_list(&recs, &nrecs, c->state, p->fid, NULL) == 0) {
		for (i = 0; i < nrecs; i++) {
			k = fugue_core_planner_of(c, recs[i].type);
			if (k >= 0)
				uses[k] = 1;
		}
		fugue_state_resource_list_free(recs, nrecs);
	}
	pthread_mutex_lock(&c->mu);
	free(p->uses);
	p->uses = uses;
	for (i = 0; i < c->nplanners; i++) {
		if (uses[i])
			p->next_due_ms[i] = now + fugue_core_interval(c, (int)i);
	}
	pthread_mutex_unlock(&c->mu);
	fugue_core_wake(c);
}

/* --- jobs ------------------------------------------------------------------------ */

const char *fugue_core_job_kind_name(fugue_job_kind k)
{
	switch (k) {
	case FUGUE_JOB_RUN:
		return "run";
	case FUGUE_JOB_UPDATE:
		return "update";
	case FUGUE_JOB_CONVERGE:
		return "converge";
	case FUGUE_JOB_KILL:
		return "kill";
	case FUGUE_JOB_RELEASE:
		return "release";
	}
	return "?";
}

fugue_job *fugue_core_job_new(fugue_conductor *c, fugue_proc *p, fugue_job_kind kind,
                              const char *trigger, uid_t uid, fugue_reply *reply)
{
	fugue_job *job = calloc(1, sizeof(*job));

	if (!job)
		return NULL;
	job->c = c;
	job->proc = p;
	p->refs++;
	job->kind = kind;
	job->trigger = trigger;
	job->uid = uid;
	job->reply = reply;
	if (reply)
		fugue_reply_ref(reply);
	fugue_cancel_init(&job->cancel);
	return job;
}

/* Frees JOB; c->mu held (the process reference). */
static void job_free(fugue_job *job)
{
	fugue_core_proc_unref(job->c, job->proc);
	if (job->reply)
		fugue_reply_unref(job->reply);
	fugue_cancel_destroy(&job->cancel);
	free(job->due);
	free(job->previous);
	free(job);
}

void fugue_core_job_discard(fugue_job *job)
{
	job_free(job);
}

/* Joins and frees the jobs that have finished. c->mu held: a finished
 * thread no longer needs it, so the join cannot deadlock. */
static void reap(fugue_conductor *c)
{
	while (c->done) {
		fugue_job *job = c->done;

		c->done = job->next_done;
		if (job->has_thread)
			pthread_join(job->thread, NULL);
		job_free(job);
	}
}

/* Takes JOB out of its process's queue (no-op when already out) and lets
 * the next one start. c->mu held. */
static void unqueue(fugue_job *job)
{
	fugue_job **pp;

	for (pp = &job->proc->jobs; *pp; pp = &(*pp)->next) {
		if (*pp == job) {
			*pp = job->next;
			job->next = NULL;
			pthread_cond_broadcast(&job->c->cond);
			pthread_cond_signal(&job->c->wake);
			return;
		}
	}
}

void fugue_core_job_leave(fugue_job *job)
{
	pthread_mutex_lock(&job->c->mu);
	unqueue(job);
	pthread_mutex_unlock(&job->c->mu);
}

static void *job_main(void *arg)
{
	fugue_job *job = arg;
	fugue_conductor *c = job->c;

	pthread_mutex_lock(&c->mu);
	while (job->proc->jobs != job)
		pthread_cond_wait(&c->cond, &c->mu);
	pthread_mutex_unlock(&c->mu);

	fugue_core_job_run(job);

	pthread_mutex_lock(&c->mu);
	unqueue(job);
	job->next_done = c->done;
	c->done = job;
	c->jobs_alive--;
	pthread_cond_broadcast(&c->cond);
	pthread_cond_signal(&c->wake);
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

int fugue_core_job_start(fugue_conductor *c, fugue_job *job)
{
	fugue_job **tail;
	int err;

	reap(c);
	if (c->stopping) {
		job_free(job);
		return FUGUE_ECANCELED;
	}
	for (tail = &job->proc->jobs; *tail; tail = &(*tail)->next)
		;
	*tail = job;
	err = pthread_create(&job->thread, NULL, job_main, job);
	if (err != 0) {
		*tail = NULL;
		fugue_core_log(FUGUE_LOG_ERROR, job->proc->fid, NULL,
		               "cannot start a job thread: %s", strerror(err));
		job_free(job);
		return FUGUE_ENOMEM;
	}
	job->has_thread = 1;
	c->jobs_alive++;
	return 0;
}

void fugue_core_cancel_jobs(fugue_conductor *c, fugue_proc *p, fugue_cancel_reason why)
{
	fugue_job *job;

	(void)c;
	for (job = p->jobs; job; job = job->next) {
		if (job->why == FUGUE_CANCEL_NONE)
			job->why = why;
		fugue_cancel_set(&job->cancel);
	}
}

/* Passes the Conductor starts on its own give way to what an operator asks. */
static int preemptible(const fugue_job *job)
{
	return job->kind == FUGUE_JOB_CONVERGE && !job->reply && !job->dry_run &&
	       job->uid == FUGUE_STATE_NO_UID;
}

fugue_job *fugue_core_busy_job(fugue_proc *p)
{
	fugue_job *job;

	for (job = p->jobs; job; job = job->next) {
		if (job->why == FUGUE_CANCEL_NONE && !preemptible(job))
			return job;
	}
	return NULL;
}

void fugue_core_preempt(fugue_conductor *c, fugue_proc *p)
{
	fugue_job *job;

	(void)c;
	for (job = p->jobs; job; job = job->next) {
		if (preemptible(job) && job->why == FUGUE_CANCEL_NONE) {
			job->why = FUGUE_CANCEL_PREEMPT;
			fugue_cancel_set(&job->cancel);
		}
	}
}

void fugue_core_wake(fugue_conductor *c)
{
	pthread_mutex_lock(&c->mu);
	pthread_cond_signal(&c->wake);
	pthread_mutex_unlock(&c->mu);
}

/* --- runtime settings ------------------------------------------------------------ */

int fugue_core_parse_seconds(long *out_ms, const char *value)
{
	char *end = NULL;
	double s;

	if (!value || !*value)
		return FUGUE_EINVAL;
	errno = 0;
	s = strtod(value, &end);
	if (errno != 0 || *end != '\0' || !isfinite(s) || s <= 0 || s > 31536000.0)
		return FUGUE_EINVAL;
	*out_ms = (long)(s * 1000.0 + 0.5);
	if (*out_ms < 1)
		*out_ms = 1;
	return 0;
}

int fugue_core_parse_count(size_t *out, const char *value, size_t min, size_t max)
{
	char *end = NULL;
	unsigned long long n;

	if (!value || !*value || value[0] == '-' || value[0] == '+')
		return FUGUE_EINVAL;
	errno = 0;
	n = strtoull(value, &end, 10);
	if (errno != 0 || *end != '\0' || n < min || n > max)
		return FUGUE_EINVAL;
	*out = (size_t)n;
	return 0;
}

/* The index of the planner named NAME, or -1. */
static int planner_named(const fugue_conductor *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->nplanners; i++) {
		if (strcmp(fugue_core_planner_name(c, i), name) == 0)
			return (int)i;
	}
	return -1;
}

int fugue_core_setting_check(const fugue_conductor *c, const char *key, const char *value,
                             int *planner, char *why, size_t size)
{
	static const char interval[] = "enforce.interval";
	static const char concurrency[] = "concurrency";
	const char *suffix = NULL;
	fugue_log_level level;
	size_t n;
	long ms;

	*planner = -1;
	if (strncmp(key, interval, sizeof(interval) - 1) == 0)
		suffix = key + sizeof(interval) - 1;
	else if (strncmp(key, concurrency, sizeof(concurrency) - 1) == 0)
		suffix = key + sizeof(concurrency) - 1;
	if (suffix && *suffix == '.') {
		*planner = planner_named(c, suffix + 1);
		if (*planner < 0) {
			snprintf(why, size, "unknown planner '%s' in setting '%s'", suffix + 1,
			         key);
			return FUGUE_EINVAL;
		}
	} else if (suffix && *suffix != '\0') {
		suffix = NULL;
	}
	if (!suffix && strcmp(key, "log.level") != 0) {
		snprintf(why, size,
		         "unknown setting '%s' (enforce.interval[.PLANNER], concurrency[.PLANNER], "
		         "log.level)",
		         key);
		return FUGUE_EINVAL;
	}
	if (!value)
		return 0;
	if (key[0] == 'e' && fugue_core_parse_seconds(&ms, value) != 0) {
		snprintf(why, size, "setting '%s': '%s' is not a number of seconds > 0", key,
		         value);
		return FUGUE_EINVAL;
	}
	if (key[0] == 'c' && *planner < 0 &&
	    fugue_core_parse_count(&n, value, 1, FUGUE_CORE_MAX_CONCURRENCY) != 0) {
		snprintf(why, size, "setting '%s': '%s' is not a whole number from 1 to %d", key,
		         value, FUGUE_CORE_MAX_CONCURRENCY);
		return FUGUE_EINVAL;
	}
	if (key[0] == 'c' && *planner >= 0 &&
	    fugue_core_parse_count(&n, value, 0, FUGUE_CORE_MAX_CONCURRENCY) != 0) {
		snprintf(why, size,
		         "setting '%s': '%s' is not a whole number from 0 (unlimited) to %d", key,
		         value, FUGUE_CORE_MAX_CONCURRENCY);
		return FUGUE_EINVAL;
	}
	if (key[0] == 'l' && fugue_log_level_parse(&level, value) != 0) {
		snprintf(why, size, "setting '%s': '%s' is not error, warn, info or debug", key,
		         value);
		return FUGUE_EINVAL;
	}
	return 0;
}

/* Pulls next passes in so that a shorter interval takes effect now. c->mu held. */
static void reschedule(fugue_conductor *c)
{
	int64_t now = fugue_clock_wall_ms();
	fugue_proc *p;
	size_t i;

	for (p = c->procs; p; p = p->next) {
		for (i = 0; i < c->nplanners; i++) {
			int64_t due = now + fugue_core_interval(c, (int)i);

			if (p->next_due_ms[i] > due)
				p->next_due_ms[i] = due;
		}
	}
}

/* Applies one stored setting. c->mu held. */
static void apply_setting(fugue_conductor *c, const char *key, const char *value,
                          size_t *concurrency)
{
	char why[256];
	fugue_log_level level;
	int planner;
	long ms;
	size_t n;

	if (fugue_core_setting_check(c, key, value, &planner, why, sizeof(why)) != 0) {
		fugue_log_warn("runtime setting ignored: %s", why);
		return;
	}
	if (key[0] == 'e' && fugue_core_parse_seconds(&ms, value) == 0) {
		if (planner < 0)
			c->interval_ms = ms;
		else
			c->planner_interval_ms[planner] = ms;
	} else if (key[0] == 'c' && planner < 0 &&
	           fugue_core_parse_count(&n, value, 1, FUGUE_CORE_MAX_CONCURRENCY) == 0) {
		*concurrency = n;
	} else if (key[0] == 'c' && fugue_core_parse_count(&n, value, 0, 100000) == 0) {
		fugue_slots_set_limit(c->slots, fugue_core_planner_name(c, (size_t)planner), n);
	} else if (key[0] == 'l' && fugue_log_level_parse(&level, value) == 0) {
		fugue_log_set_level(level);
		c->log_override = 1;
	}
}

int fugue_core_settings_apply(fugue_conductor *c)
{
	fugue_state_setting *list = NULL;
	fugue_state_diag diag = { { 0 } };
	size_t concurrency = c->default_concurrency;
	size_t n = 0;
	size_t i;
	int rc;

	rc = fugue_state_setting_list(&list, &n, c->state, &diag);
	if (rc != 0) {
		fugue_log_error("cannot read the runtime settings: %s", diag.message);
		return rc;
	}
	pthread_mutex_lock(&c->mu);
	c->interval_ms = c->default_interval_ms;
	for (i = 0; i < c->nplanners; i++) {
		c->planner_interval_ms[i] = -1;
		fugue_slots_set_limit(c->slots, fugue_core_planner_name(c, i), 0);
	}
	fugue_log_set_level(c->base_log_level);
	c->log_override = 0;
	for (i = 0; i < n; i++)
		apply_setting(c, list[i].key, list[i].value, &concurrency);
	if (concurrency != c->concurrency && fugue_pool_resize(c->pool, concurrency) == 0)
		c->concurrency = concurrency;
	reschedule(c);
	pthread_cond_signal(&c->wake);
	pthread_mutex_unlock(&c->mu);
	fugue_state_setting_list_free(list, n);
	return 0;
}

long fugue_core_interval(const fugue_conductor *c, int planner)
{
	if (planner >= 0 && (size_t)planner < c->nplanners && c->planner_interval_ms[planner] > 0)
		return c->planner_interval_ms[planner];
	return c->interval_ms;
}

long fugue_core_backoff_ms(const fugue_conductor *c, unsigned int failures)
{
	long cap = c->interval_ms * FUGUE_CORE_BACKOFF_CAP_INTERVALS;
	long delay = c->retry_base_ms;
	unsigned int i;

	for (i = 1; i < failures && delay < cap; i++)
		delay *= 2;
	return delay < cap ? delay : cap;
}

/* --- opening --------------------------------------------------------------------- */

static int fail_open(fugue_conductor *c, char *err, size_t err_size, int rc, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static int fail_open(fugue_conductor *c, char *err, size_t err_size, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err && err_size) {
		va_start(ap, fmt);
		vsnprintf(err, err_size, fmt, ap);
		va_end(ap);
	}
	fugue_conductor_free(c);
	return rc;
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static void init_sync(fugue_conductor *c)
{
	pthread_condattr_t attr;

	pthread_mutex_init(&c->mu, NULL);
	/* CLOCK_MONOTONIC: a wall clock change must not stretch a wait. */
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&c->cond, &attr);
	pthread_cond_init(&c->wake, &attr);
	pthread_condattr_destroy(&attr);
}

static void take_config(fugue_conductor *c, const fugue_conductor_config *cfg)
{
	c->default_interval_ms = cfg->enforce_interval_ms > 0 ? cfg->enforce_interval_ms
	                                                      : FUGUE_CORE_DEFAULT_INTERVAL_MS;
	c->report_only = cfg->report_only != 0;
	c->default_concurrency =
	        cfg->concurrency > 0 ? cfg->concurrency : FUGUE_CORE_DEFAULT_CONCURRENCY;
	if (c->default_concurrency > FUGUE_CORE_MAX_CONCURRENCY)
		c->default_concurrency = FUGUE_CORE_MAX_CONCURRENCY;
	c->retry_base_ms =
	        cfg->retry_base_ms > 0 ? cfg->retry_base_ms : FUGUE_CORE_DEFAULT_RETRY_BASE_MS;
}

/* The AWS client; a failure is logged and the Conductor goes on without
 * one (planners that need it fail their calls with a clear error). */
static void open_aws(fugue_conductor *c)
{
	fugue_aws_config acfg = FUGUE_AWS_CONFIG_INIT;
	fugue_aws_error aerr;
	int rc;

	memset(&aerr, 0, sizeof(aerr));
	acfg.region = c->region;
	rc = fugue_aws_client_new(&c->aws, &acfg, &aerr);
	if (rc != 0) {
		c->aws = NULL;
		fugue_log_warn("no AWS client (%s: %s); planners get none", fugue_strerror(rc),
		               aerr.message[0] ? aerr.message : "see above");
	}
}

static int load_processes(fugue_conductor *c, char *err, size_t err_size)
{
	fugue_state_process *list = NULL;
	fugue_state_diag diag = { { 0 } };
	size_t n = 0;
	size_t i;
	int rc;

	rc = fugue_state_process_list(&list, &n, c->state, &diag);
	if (rc != 0) {
		snprintf(err, err_size, "cannot read processes: %s", diag.message);
		return rc;
	}
	for (i = 0; i < n && rc == 0; i++) {
		if (!fugue_core_proc_add(c, list[i].fid, list[i].state))
			rc = FUGUE_ENOMEM;
	}
	fugue_state_process_list_free(list, n);
	if (rc != 0)
		snprintf(err, err_size, "out of memory");
	return rc;
}

/* Resolves what a crash left in flight, process by process. A process that
 * cannot be resolved now (AWS unreachable) is retried by its next job. */
static void recover_all(fugue_conductor *c)
{
	fugue_proc *p;

	for (p = c->procs; p; p = p->next) {
		if (fugue_core_recover(c, p->fid, NULL) != 0) {
			p->needs_recovery = 1;
			fugue_core_log(
			        FUGUE_LOG_WARN, p->fid, NULL,
			        "process %s: in-flight calls not resolved yet; retried by its "
			        "next job",
			        p->fid);
		}
	}
}

int fugue_conductor_open(fugue_conductor **out, const fugue_conductor_config *cfg, char *err,
                         size_t err_size)
{
	fugue_state_diag diag = { { 0 } };
	fugue_conductor *c;
	size_t refused = 0;
	char dummy[8];
	int rc;

	*out = NULL;
	if (!err || err_size == 0) {
		err = dummy;
		err_size = sizeof(dummy);
	}
	err[0] = '\0';
	if (!cfg || cfg->version != FUGUE_CONDUCTOR_CONFIG_VERSION || !cfg->state_dir ||
	    !cfg->planners_dir) {
		snprintf(err, err_size, "bad configuration (version, state_dir, planners_dir)");
		return FUGUE_EINVAL;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return FUGUE_ENOMEM;
	init_sync(c);
	take_config(c, cfg);
	c->started_ms = fugue_clock_wall_ms();
	c->base_log_level =
	        cfg->log_level > 0 ? (fugue_log_level)cfg->log_level : fugue_log_get_level();
	c->state_dir = strdup(cfg->state_dir);
	c->planners_dir = strdup(cfg->planners_dir);
	c->region = dup_or_null(cfg->region);
	if (!c->state_dir || !c->planners_dir || (cfg->region && !c->region))
		return fail_open(c, err, err_size, FUGUE_ENOMEM, "out of memory");
	rc = fugue_state_open(&c->state, c->state_dir, &diag);
	if (rc != 0)
		return fail_open(c, err, err_size, rc, "cannot open the state in %s: %s",
		                 c->state_dir, diag.message);
	rc = fugue_registry_new(&c->registry, fugue_kernel_host());
	if (rc == 0)
		rc = fugue_registry_load_dir(c->registry, c->planners_dir, &refused);
	if (rc != 0)
		return fail_open(c, err, err_size, rc, "cannot load planners from %s: %s",
		                 c->planners_dir, fugue_strerror(rc));
	c->nplanners = fugue_registry_count(c->registry);
	fugue_log_info("%zu planner%s loaded from %s, %zu refused", c->nplanners,
	               c->nplanners == 1 ? "" : "s", c->planners_dir, refused);
	if (!cfg->no_aws)
		open_aws(c);
	c->concurrency = c->default_concurrency;
	rc = fugue_pool_new(&c->pool, c->concurrency);
	if (rc == 0)
		rc = fugue_slots_new(&c->slots, 0);
	c->planner_interval_ms = calloc(c->nplanners ? c->nplanners : 1, sizeof(long));
	if (rc != 0 || !c->planner_interval_ms)
		return fail_open(c, err, err_size, rc ? rc : FUGUE_ENOMEM,
		                 "cannot start the worker pool");
	rc = fugue_core_settings_apply(c);
	if (rc != 0)
		return fail_open(c, err, err_size, rc, "cannot read the runtime settings");
	rc = load_processes(c, err, err_size);
	if (rc != 0)
		return fail_open(c, err, err_size, rc, "%s", err);
	recover_all(c);
	*out = c;
	return 0;
}

/* --- starting, stopping ---------------------------------------------------------- */

/* The job that picks a process up where a previous Conductor left it.
 * c->mu held. */
static void resume_process(fugue_conductor *c, fugue_proc *p)
{
	fugue_job *job = NULL;

	if (p->jobs)
		return;
	if (p->state == FUGUE_PROCESS_RUNNING || p->state == FUGUE_PROCESS_FAILED)
		job = fugue_core_job_new(c, p, FUGUE_JOB_CONVERGE, "start", FUGUE_STATE_NO_UID,
		                         NULL);
	else if (p->state == FUGUE_PROCESS_KILLING)
		job = fugue_core_job_new(c, p, FUGUE_JOB_KILL, "start", FUGUE_STATE_NO_UID, NULL);
	if (job)
		fugue_core_job_start(c, job);
}

int fugue_conductor_start(fugue_conductor *c)
{
	fugue_proc *p;
	int rc;

	pthread_mutex_lock(&c->mu);
	if (c->started || c->stopping) {
		pthread_mutex_unlock(&c->mu);
		return c->started ? 0 : FUGUE_ECANCELED;
	}
	c->started = 1;
	for (p = c->procs; p; p = p->next)
		resume_process(c, p);
	pthread_mutex_unlock(&c->mu);
	rc = fugue_core_enforcer_start(c);
	if (rc != 0)
		fugue_log_error("cannot start the enforcement loop: %s", fugue_strerror(rc));
	return rc;
}

void fugue_conductor_handle(const fugue_request *req, fugue_reply *reply, void *payload)
{
	fugue_core_dispatch(payload, req, reply);
}

int fugue_conductor_reload(fugue_conductor *c, const fugue_conductor_config *cfg)
{
	if (!cfg || cfg->version != FUGUE_CONDUCTOR_CONFIG_VERSION)
		return FUGUE_EINVAL;
	pthread_mutex_lock(&c->mu);
	take_config(c, cfg);
	/* The level main just set from the new file is the new base, unless a
	 * runtime setting is on top of it. */
	if (cfg->log_level > 0)
		c->base_log_level = (fugue_log_level)cfg->log_level;
	else if (!c->log_override)
		c->base_log_level = fugue_log_get_level();
	pthread_mutex_unlock(&c->mu);
	/* Runtime settings stay on top of the new defaults. */
	return fugue_core_settings_apply(c);
}

void fugue_conductor_summary(fugue_conductor *c, char *buf, size_t size)
{
	size_t count[FUGUE_PROCESS_RELEASED + 1] = { 0 };
	size_t nprocs = 0;
	size_t running_jobs = 0;
	size_t resources = 0;
	char (*fids)[FUGUE_FID_SIZE] = NULL;
	fugue_state_resource *recs;
	fugue_proc *p;
	size_t i;
	size_t n;

	pthread_mutex_lock(&c->mu);
	for (p = c->procs; p; p = p->next)
		nprocs++;
	fids = calloc(nprocs ? nprocs : 1, sizeof(*fids));
	nprocs = 0;
	for (p = c->procs; p && fids; p = p->next) {
		snprintf(fids[nprocs++], FUGUE_FID_SIZE, "%s", p->fid);
		count[p->state]++;
		running_jobs += p->jobs != NULL;
	}
	pthread_mutex_unlock(&c->mu);
	/* The resources are counted from the store, outside the lock. */
	for (i = 0; i < nprocs; i++) {
		recs = NULL;
		n = 0;
		if (fugue_state_resource_list(&recs, &n, c->state, fids[i], NULL) == 0) {
			resources += n;
			fugue_state_resource_list_free(recs, n);
		}
	}
	free(fids);
	snprintf(buf, size,
	         "%zu process%s (%zu running, %zu suspended, %zu failed, %zu killing), %zu job%s "
	         "running, %zu resource%s",
	         nprocs, nprocs == 1 ? "" : "es", count[FUGUE_PROCESS_RUNNING],
	         count[FUGUE_PROCESS_SUSPENDED], count[FUGUE_PROCESS_FAILED],
	         count[FUGUE_PROCESS_KILLING], running_jobs, running_jobs == 1 ? "" : "s",
	         resources, resources == 1 ? "" : "s");
}

/* Jobs that did not end within the grace: their waiting clients are told,
 * and their calls still in flight are recorded as unknown for recovery. */
static void abandon_jobs(fugue_conductor *c)
{
	fugue_state_journal *open = NULL;
	fugue_state_diag diag = { { 0 } };
	size_t n = 0;
	size_t i;
	fugue_proc *p;
	fugue_job *job;

	pthread_mutex_lock(&c->mu);
	for (p = c->procs; p; p = p->next) {
		for (job = p->jobs; job; job = job->next) {
			if (job->reply)
				fugue_reply_error(
				        job->reply, FUGUE_ERR_SHUTTING_DOWN, NULL,
				        "the conductor is shutting down; process %s picks up "
				        "where it was when it starts again",
				        p->fid);
		}
	}
	pthread_mutex_unlock(&c->mu);
	if (fugue_state_journal_open_entries(&open, &n, c->state, &diag) != 0) {
		fugue_log_error("cannot read the journal: %s", diag.message);
		return;
	}
	for (i = 0; i < n; i++) {
		fugue_core_log(FUGUE_LOG_WARN, open[i].fid, open[i].resource,
		               "%s of %s still in flight at shutdown: recorded as unknown",
		               fugue_journal_action_name(open[i].action), open[i].resource);
		fugue_state_journal_end(c->state, open[i].id, "unknown", NULL, NULL);
	}
	fugue_state_journal_list_free(open, n);
}

void fugue_conductor_shutdown(fugue_conductor *c, long grace_ms)
{
	struct timespec deadline;
	fugue_proc *p;
	size_t left;

	pthread_mutex_lock(&c->mu);
	if (c->stopping) {
		pthread_mutex_unlock(&c->mu);
		return;
	}
	c->stopping = 1;
	pthread_cond_broadcast(&c->wake);
	pthread_mutex_unlock(&c->mu);
	fugue_core_enforcer_stop(c);

	pthread_mutex_lock(&c->mu);
	for (p = c->procs; p; p = p->next)
		fugue_core_cancel_jobs(c, p, FUGUE_CANCEL_SHUTDOWN);
	deadline = fugue_clock_deadline(grace_ms > 0 ? grace_ms : 0);
	while (c->jobs_alive > 0 &&
	       pthread_cond_timedwait(&c->cond, &c->mu, &deadline) != ETIMEDOUT)
		;
	left = c->jobs_alive;
	reap(c);
	pthread_mutex_unlock(&c->mu);
	if (left > 0) {
		fugue_log_warn("%zu job%s still running after the %ld ms grace", left,
		               left == 1 ? "" : "s", grace_ms);
		abandon_jobs(c);
	}
	pthread_mutex_lock(&c->mu);
	c->stopped = 1;
	pthread_mutex_unlock(&c->mu);
}

void fugue_conductor_free(fugue_conductor *c)
{
	fugue_proc *p;

	if (!c)
		return;
	fugue_conductor_shutdown(c, 5000);
	/* Cancelled jobs end once their planner calls return; nothing below
	 * may go away before them. */
	pthread_mutex_lock(&c->mu);
	while (c->jobs_alive > 0)
		pthread_cond_wait(&c->cond, &c->mu);
	reap(c);
	while (c->procs) {
		p = c->procs;
		c->procs = p->next;
		p->forgotten = 1;
		fugue_core_proc_unref(c, p);
	}
	pthread_mutex_unlock(&c->mu);
	if (c->pool)
		fugue_pool_free(c->pool);
	if (c->slots)
		fugue_slots_free(c->slots);
	if (c->registry)
		fugue_registry_free(c->registry);
	if (c->aws)
		fugue_aws_client_free(c->aws);
	fugue_state_close(c->state);
	pthread_cond_destroy(&c->wake);
	pthread_cond_destroy(&c->cond);
	pthread_mutex_destroy(&c->mu);
	free(c->planner_interval_ms);
	free(c->state_dir);
	free(c->planners_dir);
	free(c->region);
	free(c);
}
