/* enforce.c - the enforcement loop and observation.
 *
 * The loop is one thread. It wakes when a pass is due (or a job ended, or a
 * setting changed) and starts, for each process without a job:
 *   Running   a converge pass observing the planners whose interval has
 *             elapsed (runtime setting enforce.interval[.<planner>])
 *   Failed    a converge of everything once its backoff has elapsed
 *             (retry_base_ms, doubling, capped at 8 intervals)
 *   Killing   the kill again, with the same backoff
 * Suspended processes are left alone. The pass itself is jobs.c's.
 *
 * Observation asks each planner about many resources at once: one
 * observe() per type and region with every resource of the process of that
 * type - by recorded id, or by the fugue:fid / fugue:resource tags when no
 * id was recorded (a create whose answer was lost). The calls of one
 * observation run side by side on a few threads; their answers are applied
 * to LIVE and the store afterwards, in order, on the caller's thread. */
#include "conductor_internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "clock.h"
#include "fugue/log.h"
#include "json_util.h"

/* --- observation ----------------------------------------------------------------- */

/* One resource to observe. */
struct target {
	const char *name;          /* borrowed */
	const char *type_name;     /* borrowed */
	const fugue_type_ops *ops; /* borrowed from the registry */
	void *planner_data;
	const char *region;              /* borrowed; may be NULL */
	const char *id;                  /* borrowed; NULL: find it by tags */
	int declared_here;               /* declared by the composition */
	struct json_object *declared;    /* owned: declared properties, resolved; or NULL */
	const fugue_state_resource *rec; /* borrowed, or NULL: no record yet */
	int batched;
};

static int same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Writes what observation found of T into its record (a new record when it
 * had none). */
static void record_state(fugue_conductor *c, const char *fid, const struct target *t,
                         const struct json_object *state)
{
	fugue_state_resource w;
	struct json_object *redacted = fugue_redact_state(state, t->ops, FUGUE_REDACT_DIGEST);
	struct json_object *id = fugue_json_member(state, "id");
	char *observed = fugue_json_text(redacted);
	char *attrs = fugue_json_text(fugue_json_member(state, "attributes"));
	fugue_state_diag diag = { { 0 } };

	if (t->rec) {
		w = *t->rec;
	} else {
		memset(&w, 0, sizeof(w));
		snprintf(w.fid, sizeof(w.fid), "%s", fid);
		w.name = (char *)(uintptr_t)t->name;
		w.type = (char *)(uintptr_t)t->type_name;
	}
	w.aws_id = id && json_object_is_type(id, json_type_string)
	                   ? (char *)(uintptr_t)json_object_get_string(id)
	                   : w.aws_id;
	w.observed = observed;
	w.attributes = attrs;
	w.last_observed_ms = fugue_clock_wall_ms();
	if (w.status != FUGUE_RESOURCE_FAILED)
		w.status = FUGUE_RESOURCE_READY;
	if (fugue_state_resource_put(c->state, &w, &diag) != 0)
		fugue_core_log(FUGUE_LOG_ERROR, fid, t->name, "cannot record %s: %s", t->name,
		               diag.message);
	free(observed);
	free(attrs);
	json_object_put(redacted);
}

/* record_state(), saying so when T had no id: a resource adopted by its tags. */
static void record_found(fugue_conductor *c, const char *fid, const struct target *t,
                         const struct json_object *state)
{
	record_state(c, fid, t, state);
	if (!t->rec || !t->rec->aws_id)
		fugue_core_log(FUGUE_LOG_INFO, fid, t->name, "%s found by its tags: %s adopted",
		               t->name, fugue_json_state_id(state) ? fugue_json_state_id(state) : "?");
}

/* T, known by its id, is gone: deleted outside Fugue (or by a lost delete). */
static void record_gone(fugue_conductor *c, const char *fid, const struct target *t)
{
	fugue_state_resource w = *t->rec;

	fugue_core_log(FUGUE_LOG_WARN, fid, t->name, "%s (%s) no longer exists", t->name, t->id);
	if (!t->declared_here) {
		/* Not declared any more either: nothing is left to do about it. */
		fugue_state_resource_delete(c->state, fid, t->name, NULL);
		return;
	}
	w.status = FUGUE_RESOURCE_DELETED;
	w.aws_id = NULL;
	w.observed = NULL;
	w.attributes = NULL;
	w.last_observed_ms = fugue_clock_wall_ms();
	fugue_state_resource_put(c->state, &w, NULL);
	/* Its re-creation is a new request, not a retry of the first one. */
	fugue_state_resource_token_reset(c->state, fid, t->name, NULL);
}

/* LIVE's entry for T (made when missing) takes STATE (transferred): found,
 * Ready unless it had failed. */
static void live_found(fugue_live *live, const struct target *t, struct json_object *state)
{
	fugue_live_entry *e = fugue_live_ensure(live, t->name, t->type_name);

	if (!e) {
		json_object_put(state);
		return;
	}
	json_object_put(e->state);
	e->state = state;
	e->gone = 0;
	if (e->status != FUGUE_RESOURCE_FAILED)
		e->status = FUGUE_RESOURCE_READY;
}

static void apply_found(fugue_conductor *c, const char *fid, fugue_live *live,
                        const struct target *t, struct json_object *state, int write)
{
	if (write)
		record_found(c, fid, t, state);
	live_found(live, t, state);
}

static void apply_gone(fugue_conductor *c, const char *fid, fugue_live *live,
                       const struct target *t, int write)
{
	fugue_live_entry *e = fugue_live_find(live, t->name);

	if (write)
		record_gone(c, fid, t);
	if (!e)
		return;
	if (!t->declared_here) {
		fugue_live_remove(live, t->name);
		return;
	}
	json_object_put(e->state);
	e->state = NULL;
	e->gone = 1;
	e->status = FUGUE_RESOURCE_DELETED;
}

int fugue_core_observe_batch(fugue_conductor *c, const char *fid, fugue_batch *b,
                             fugue_cancel *cancel, const char *what)
{
	struct json_object *tags = fugue_resource_tags(b->comp_tags, fid, NULL);
	fugue_call call;
	fugue_ctx ctx;
	int rc;

	fugue_call_init(&call);
	call.fid = fid;
	call.type = b->ops->name;
	call.cancel = cancel;
	call.items = b->items;
	call.nitems = b->n;
	call.details = b->details;
	fugue_call_ctx(&ctx, &call);
	ctx.planner_data = b->planner_data;
	ctx.aws = c->aws;
	ctx.region = b->region;
	/* The tags Fugue puts on everything of the process, so that a planner
	 * can tell them from a resource's own `tags` property. */
	ctx.tags = tags;
	rc = b->ops->observe(&ctx, b->items, b->n);
	if (rc != 0)
		fugue_core_log(FUGUE_LOG_WARN, fid, NULL, "%s %s: %s", what, b->ops->name,
		               call.message ? call.message : fugue_strerror(rc));
	b->duplicates = call.duplicates;
	b->nduplicates = call.nduplicates;
	call.duplicates = NULL;
	call.nduplicates = 0;
	fugue_call_clear(&call);
	json_object_put(tags);
	return rc;
}

int fugue_core_batch_init(fugue_batch *b, const fugue_type_ops *ops, void *planner_data,
                          const char *region, const struct json_object *comp_tags, size_t n)
{
	size_t i;

	memset(b, 0, sizeof(*b));
	b->items = calloc(n ? n : 1, sizeof(*b->items));
	if (!b->items)
		return FUGUE_ENOMEM;
	for (i = 0; i < n; i++)
		b->items[i].status = FUGUE_EIO;
	b->ops = ops;
	b->planner_data = planner_data;
	b->region = region;
	b->comp_tags = comp_tags;
	b->n = n;
	return 0;
}

void fugue_core_batch_clear(fugue_batch *b)
{
	size_t i;

	for (i = 0; i < b->nduplicates; i++)
		json_object_put(b->duplicates[i].state);
	free(b->duplicates);
	free(b->items);
	memset(b, 0, sizeof(*b));
}

/* STATE, another AWS resource with T's tags, is tracked as a resource of
 * its own, "NAME~ID": declared nowhere, so the plan deletes it. */
static void apply_duplicate(fugue_conductor *c, const char *fid, fugue_live *live,
                            const struct target *t, struct json_object *state, int write)
{
	const char *id = fugue_json_state_id(state);
	struct target dup = *t;
	char name[512];

	if (!id) {
		json_object_put(state);
		return;
	}
	snprintf(name, sizeof(name), "%s" FUGUE_DUPLICATE_MARK "%s", t->name, id);
	fugue_core_log(FUGUE_LOG_WARN, fid, t->name,
	               "%s: %s also carries its tags (a create whose answer was lost, or the "
	               "old one of a replacement): a duplicate, tracked as %s", t->name, id, name);
	dup.name = name;
	dup.id = id;
	dup.rec = NULL;
	dup.declared_here = 0;
	if (write) {
		record_state(c, fid, &dup, state);
		/* The duplicate may be what the origin's client token made (a
		 * replacement's create a crash interrupted): a later create of the
		 * origin with that token would get back the duplicate being
		 * deleted, so the next create is a new request. */
		fugue_state_resource_token_reset(c->state, fid, t->name, NULL);
	}
	live_found(live, &dup, state);
}

/* One observe() call of a pass: TARGETS[IDX] (N of them, one type and
 * region), details due for those DETAILS marks (NULL: all). */
struct pass_batch {
	size_t *idx;            /* owned */
	size_t n;
	unsigned char *details; /* owned, or NULL */
	fugue_batch b;
	int rc;
};

/* The batch's items named from its targets. */
static int batch_prepare(struct pass_batch *pb, const struct target *targets,
                         const fugue_composition *comp)
{
	const struct target *first = &targets[pb->idx[0]];
	size_t i;

	if (fugue_core_batch_init(&pb->b, first->ops, first->planner_data, first->region,
	                          comp ? comp->tags : NULL, pb->n) != 0)
		return FUGUE_ENOMEM;
	for (i = 0; i < pb->n; i++) {
		pb->b.items[i].resource = targets[pb->idx[i]].name;
		pb->b.items[i].id = targets[pb->idx[i]].id;
		pb->b.items[i].declared = targets[pb->idx[i]].declared;
	}
	pb->b.details = pb->details;
	return 0;
}

/* What the batch's observe() answered, into LIVE and (WRITE) the records.
 * Returns the batch's error, or the first item's that could not be told. */
static int batch_apply(fugue_conductor *c, const char *fid, fugue_live *live,
                       struct pass_batch *pb, const struct target *targets, int write)
{
	fugue_observation *items = pb->b.items;
	int rc = pb->rc;
	size_t i;

	for (i = 0; items && i < pb->n; i++) {
		const struct target *t = &targets[pb->idx[i]];

		if (pb->rc == 0 && items[i].status == 0 && items[i].state) {
			apply_found(c, fid, live, t, items[i].state, write);
			items[i].state = NULL;
		} else if (pb->rc == 0 && items[i].status == FUGUE_ENOTFOUND && t->id) {
			apply_gone(c, fid, live, t, write);
		} else if (pb->rc == 0 && items[i].status != 0 &&
		           items[i].status != FUGUE_ENOTFOUND) {
			fugue_core_log(FUGUE_LOG_WARN, fid, t->name, "observe %s: %s", t->name,
			               fugue_strerror(items[i].status));
			if (rc == 0)
				rc = items[i].status;
		}
		json_object_put(items[i].state);
		items[i].state = NULL;
	}
	for (i = 0; pb->rc == 0 && i < pb->b.nduplicates; i++) {
		apply_duplicate(c, fid, live, &targets[pb->idx[pb->b.duplicates[i].item]],
		                pb->b.duplicates[i].state, write);
		pb->b.duplicates[i].state = NULL;
	}
	return rc;
}

/* The observe() calls of one pass, made by a few threads side by side:
 * they only ask the planners; what the answers mean for LIVE and the
 * store is applied afterwards, in order, by the caller's thread. */
struct pass {
	fugue_conductor *c;
	const char *fid;
	fugue_cancel *cancel;
	struct pass_batch *batches;
	size_t n;
	atomic_size_t next;
};

static void *observe_worker(void *arg)
{
	struct pass *p = arg;
	size_t k;

	while ((k = atomic_fetch_add(&p->next, 1)) < p->n) {
		struct pass_batch *pb = &p->batches[k];

		if (pb->rc != 0)
			continue; /* not prepared */
		if (fugue_cancel_is_set(p->cancel))
			pb->rc = FUGUE_ECANCELED;
		else
			pb->rc = fugue_core_observe_batch(p->c, p->fid, &pb->b, p->cancel, "observe");
	}
	return NULL;
}

/* Runs P's batches on up to FUGUE_CORE_OBSERVE_THREADS threads (the
 * calling one among them) and waits for all of them. */
static void observe_all(struct pass *p)
{
	pthread_t threads[FUGUE_CORE_OBSERVE_THREADS];
	size_t started = 0;
	size_t i;

	atomic_init(&p->next, 0);
	while (started + 1 < FUGUE_CORE_OBSERVE_THREADS && started + 1 < p->n &&
	       pthread_create(&threads[started], NULL, observe_worker, p) == 0)
		started++;
	observe_worker(p);
	for (i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
}

/* Per item of a batch of N (TARGETS[IDX]), whether its details are read
 * this pass (fugue_host.details_due): in pass ROTATION (0: every detail) a
 * slice of at most FUGUE_CORE_DETAILS_PER_PASS, turn about, plus those
 * with no id, not Ready or drifted (their drift must not come and go).
 * NULL: all, or out of memory. */
static unsigned char *details_due(const struct target *targets, const size_t *idx, size_t n,
                                  unsigned long rotation)
{
	size_t slices = (n + FUGUE_CORE_DETAILS_PER_PASS - 1) / FUGUE_CORE_DETAILS_PER_PASS;
	unsigned char *due;
	size_t i;

	if (rotation == 0 || slices <= 1 || !(due = calloc(n, 1)))
		return NULL;
	for (i = 0; i < n; i++) {
		const fugue_state_resource *rec = targets[idx[i]].rec;

		due[i] = i % slices == rotation % slices || !targets[idx[i]].id || !rec ||
		         rec->status != FUGUE_RESOURCE_READY ||
		         (rec->drift && strcmp(rec->drift, "[]") != 0);
	}
	return due;
}

static int wanted(const fugue_conductor *c, const unsigned char *due, const char *type)
{
	int k;

	if (!due)
		return 1;
	k = fugue_core_planner_of(c, type);
	return k >= 0 && due[k];
}

/* Fills TARGETS from the records and the declaration; returns how many. */
static size_t gather(fugue_conductor *c, struct target *targets, const fugue_state_resource *recs,
                     size_t nrecs, const fugue_composition *comp, const fugue_live *live,
                     const unsigned char *due)
{
	const char *region = comp && comp->region ? comp->region : fugue_core_default_region(c);
	size_t n = 0;
	size_t i;

	for (i = 0; i < nrecs; i++) {
		const fugue_resource *d = comp ? fugue_composition_find(comp, recs[i].name) : NULL;
		struct target *t = &targets[n];

		/* Known gone: nothing to ask about until it is created again. */
		if (recs[i].status == FUGUE_RESOURCE_DELETED || !wanted(c, due, recs[i].type))
			continue;
		t->ops = fugue_registry_type(c->registry, recs[i].type, &t->planner_data);
		if (!t->ops)
			continue;
		t->name = recs[i].name;
		t->type_name = recs[i].type;
		t->region = d && d->region ? d->region : region;
		t->id = recs[i].aws_id;
		t->rec = &recs[i];
		t->declared_here = d != NULL;
		if (d)
			fugue_resolve_refs(&t->declared, NULL, d->props, live);
		n++;
	}
	for (i = 0; comp && i < comp->nresources; i++) {
		const fugue_resource *d = &comp->resources[i];
		struct target *t = &targets[n];
		size_t k;

		for (k = 0; k < nrecs && strcmp(recs[k].name, d->name) != 0; k++)
			;
		if (k < nrecs || !d->type || !wanted(c, due, d->type_name))
			continue;
		t->ops = fugue_registry_type(c->registry, d->type_name, &t->planner_data);
		if (!t->ops)
			continue;
		t->name = d->name;
		t->type_name = d->type_name;
		t->region = d->region ? d->region : region;
		t->declared_here = 1;
		fugue_resolve_refs(&t->declared, NULL, d->props, live);
		n++;
	}
	return n;
}

int fugue_core_observe(fugue_conductor *c, const char *fid, const fugue_composition *comp,
                       fugue_live *live, const unsigned char *due,
                       const unsigned long *rotation, fugue_cancel *cancel, int write)
{
	fugue_state_resource *recs = NULL;
	struct target *targets = NULL;
	struct pass p;
	size_t nrecs = 0;
	size_t n;
	size_t i;
	size_t j;
	int first_err = 0;
	int rc;

	rc = fugue_state_resource_list(&recs, &nrecs, c->state, fid, NULL);
	if (rc != 0)
		return rc;
	memset(&p, 0, sizeof(p));
	p.c = c;
	p.fid = fid;
	p.cancel = cancel;
	n = nrecs + (comp ? comp->nresources : 0);
	targets = calloc(n ? n : 1, sizeof(*targets));
	p.batches = calloc(n ? n : 1, sizeof(*p.batches));
	if (!targets || !p.batches) {
		free(targets);
		free(p.batches);
		fugue_state_resource_list_free(recs, nrecs);
		return FUGUE_ENOMEM;
	}
	n = gather(c, targets, recs, nrecs, comp, live, due);
	/* One batch per type and region, in the order of their first target. */
	for (i = 0; i < n; i++) {
		struct pass_batch *pb = &p.batches[p.n];
		int planner;

		if (targets[i].batched)
			continue;
		p.n++;
		pb->idx = calloc(n, sizeof(*pb->idx));
		if (!pb->idx) {
			pb->rc = FUGUE_ENOMEM;
			continue;
		}
		for (j = i; j < n; j++) {
			if (!targets[j].batched && targets[j].ops == targets[i].ops &&
			    same_str(targets[j].region, targets[i].region)) {
				targets[j].batched = 1;
				pb->idx[pb->n++] = j;
			}
		}
		planner = fugue_core_planner_of(c, targets[i].type_name);
		if (rotation && planner >= 0)
			pb->details = details_due(targets, pb->idx, pb->n, rotation[planner]);
		pb->rc = batch_prepare(pb, targets, comp);
	}
	observe_all(&p);
	for (i = 0; i < p.n; i++) {
		rc = batch_apply(c, fid, live, &p.batches[i], targets, write);
		if (rc != 0 && !first_err)
			first_err = rc;
		fugue_core_batch_clear(&p.batches[i].b);
		free(p.batches[i].idx);
		free(p.batches[i].details);
	}
	for (i = 0; i < n; i++)
		json_object_put(targets[i].declared);
	free(targets);
	free(p.batches);
	fugue_state_resource_list_free(recs, nrecs);
	return first_err;
}

/* --- the loop -------------------------------------------------------------------- */

static void start_job(fugue_conductor *c, fugue_proc *p, fugue_job_kind kind, const char *trigger,
                      unsigned char *due)
{
	fugue_job *job = fugue_core_job_new(c, p, kind, trigger, FUGUE_STATE_NO_UID, NULL);

	if (!job) {
		free(due);
		return;
	}
	job->due = due;
	fugue_core_job_start(c, job);
}

/* A Running process: the planners due now, or NULL (then *NEXT is pulled
 * in to the earliest one due later). c->mu held. */
static unsigned char *due_planners(fugue_conductor *c, fugue_proc *p, int64_t now, int64_t *next)
{
	unsigned char *due = NULL;
	size_t i;

	for (i = 0; p->uses && i < c->nplanners; i++) {
		if (!p->uses[i])
			continue;
		if (p->next_due_ms[i] > now) {
			if (p->next_due_ms[i] < *next)
				*next = p->next_due_ms[i];
			continue;
		}
		if (!due && !(due = calloc(c->nplanners, 1)))
			return NULL;
		due[i] = 1;
	}
	return due;
}

/* Starts what is due; returns when the loop should look again. c->mu held. */
static int64_t tick(fugue_conductor *c, int64_t now)
{
	int64_t next = now + 1000;
	unsigned char *due;
	fugue_proc *p;

	for (p = c->procs; p && !c->stopping; p = p->next) {
		if (p->jobs)
			continue;
		switch (p->state) {
		case FUGUE_PROCESS_RUNNING:
			due = due_planners(c, p, now, &next);
			if (due)
				start_job(c, p, FUGUE_JOB_CONVERGE, "enforce", due);
			break;
		case FUGUE_PROCESS_FAILED:
		case FUGUE_PROCESS_KILLING:
			if (p->retry_at_ms > now) {
				if (p->retry_at_ms < next)
					next = p->retry_at_ms;
				break;
			}
			/* Backoff elapsed (or no job has tried yet since the start). */
			start_job(c, p,
			          p->state == FUGUE_PROCESS_FAILED ? FUGUE_JOB_CONVERGE
			                                           : FUGUE_JOB_KILL,
			          "retry", NULL);
			break;
		default:
			break;
		}
	}
	return next;
}

static void *enforcer_main(void *arg)
{
	fugue_conductor *c = arg;
	struct timespec deadline;
	int64_t now;
	int64_t next;

	pthread_mutex_lock(&c->mu);
	while (!c->stopping) {
		now = fugue_clock_wall_ms();
		next = tick(c, now);
		if (c->stopping)
			break;
		deadline = fugue_clock_deadline(next > now ? (long)(next - now) : 1);
		pthread_cond_timedwait(&c->wake, &c->mu, &deadline);
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

int fugue_core_enforcer_start(fugue_conductor *c)
{
	int err;

	pthread_mutex_lock(&c->mu);
	if (c->enforcer_running) {
		pthread_mutex_unlock(&c->mu);
		return 0;
	}
	err = pthread_create(&c->enforcer, NULL, enforcer_main, c);
	if (err == 0)
		c->enforcer_running = 1;
	pthread_mutex_unlock(&c->mu);
	return err == 0 ? 0 : FUGUE_ENOMEM;
}

void fugue_core_enforcer_stop(fugue_conductor *c)
{
	int running;

	pthread_mutex_lock(&c->mu);
	running = c->enforcer_running;
	c->enforcer_running = 0;
	pthread_cond_broadcast(&c->wake);
	pthread_mutex_unlock(&c->mu);
	if (running)
		pthread_join(c->enforcer, NULL);
}
