/* recovery.c - what a crash left in flight, resolved by observation.
 *
 * The scheduler journals every mutating call before making it and ends the
 * entry after; the resource record says Creating / Updating / Deleting in
 * between. After a kill -9 (or a shutdown that could not wait for a call),
 * entries are left open (or ended "unknown") and records in those states.
 * For each such resource of a process this asks its planner, in one
 * observe() per type and region:
 *
 *   create   by the recorded id, else by the tags fugue:fid and
 *            fugue:resource (the id was never learned):
 *              found      adopted: id and state recorded, Ready;
 *                         journal "adopted"
 *              not found  journal "unknown", resource Pending: the next
 *                         converge creates it with the SAME client token,
 *                         so a create that did reach AWS is not repeated
 *   delete   by id: gone: the record is removed, journal "gone"; still
 *            there: recorded as it is (Ready), journal "unknown"; the next
 *            kill or converge deletes it again. The old resource of a
 *            replacement (an id the record no longer holds) is deleted now.
 *   update   by id: its state is recorded, journal "unknown"; the next
 *            converge diffs and updates again if needed.
 *
 * Nothing here creates anything. */
#include "conductor_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "fugue/log.h"
#include "json_util.h"

/* One resource to resolve. */
struct pending {
	const char *name;                /* borrowed */
	const fugue_state_resource *rec; /* borrowed, or NULL */
	fugue_journal_action action;
	int64_t entry;         /* journal entry id, 0: none (a record's status only) */
	const char *id;        /* what to observe by; NULL: the tags */
	const char *type_name; /* borrowed */
	const fugue_type_ops *ops;
	void *planner_data;
	const char *region;
	struct json_object *declared; /* owned, or NULL */
	int status;                   /* observation: 0 found, FUGUE_ENOTFOUND, or an error */
	struct json_object *state;    /* owned when found */
	int batched;
};

static const fugue_state_resource *find_rec(const fugue_state_resource *recs, size_t n,
                                            const char *name)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (strcmp(recs[i].name, name) == 0)
			return &recs[i];
	}
	return NULL;
}

static int transitional(fugue_resource_status s)
{
	return s == FUGUE_RESOURCE_CREATING || s == FUGUE_RESOURCE_UPDATING ||
	       s == FUGUE_RESOURCE_DELETING || s == FUGUE_RESOURCE_UNKNOWN;
}

static fugue_journal_action action_of_status(fugue_resource_status s)
{
	if (s == FUGUE_RESOURCE_CREATING)
		return FUGUE_JOURNAL_CREATE;
	if (s == FUGUE_RESOURCE_DELETING)
		return FUGUE_JOURNAL_DELETE;
	return FUGUE_JOURNAL_UPDATE;
}

static int same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Fills the type, region and declared properties of P. Returns 0, or -1
 * when its type is not loaded (it cannot be observed now). */
static int describe(fugue_conductor *c, struct pending *p, const fugue_composition *comp,
                    const fugue_live *live)
{
	const fugue_resource *d = comp ? fugue_composition_find(comp, p->name) : NULL;
	const char *region = comp && comp->region ? comp->region : fugue_core_default_region(c);

	p->type_name = p->rec ? p->rec->type : d ? d->type_name : NULL;
	p->ops = p->type_name ? fugue_registry_type(c->registry, p->type_name, &p->planner_data)
	                      : NULL;
	if (!p->ops)
		return -1;
	p->region = d && d->region ? d->region : region;
	if (d)
		fugue_resolve_refs(&p->declared, NULL, d->props, live);
	return 0;
}

/* Observes P[IDX] (one type and region) and stores the answers in them. */
static int observe(fugue_conductor *c, const char *fid, const struct json_object *tags,
                   struct pending *p, const size_t *idx, size_t n, fugue_cancel *cancel)
{
	const struct pending *first = &p[idx[0]];
	fugue_observation *items;
	fugue_batch b;
	size_t i;
	int rc;

	if (fugue_core_batch_init(&b, first->ops, first->planner_data, first->region, tags, n) != 0)
		return FUGUE_ENOMEM;
	items = b.items;
	for (i = 0; i < n; i++) {
		items[i].resource = p[idx[i]].name;
		items[i].id = p[idx[i]].id;
		items[i].declared = p[idx[i]].declared;
	}
	/* Duplicates are left to the next pass's observation, which tracks them. */
	rc = fugue_core_observe_batch(c, fid, &b, cancel, "recovery: observe");
	for (i = 0; i < n; i++) {
		p[idx[i]].status = rc != 0 ? rc : items[i].status;
		if (rc == 0 && items[i].status == 0 && items[i].state)
			p[idx[i]].state = items[i].state;
		else
			json_object_put(items[i].state);
	}
	fugue_core_batch_clear(&b);
	return rc;
}

static void end_entry(fugue_conductor *c, const struct pending *p, const char *result,
                      const char *aws_id)
{
	if (p->entry > 0)
		fugue_state_journal_end(c->state, p->entry, result, aws_id, NULL);
}

/* The record of P as found in AWS: id, observed state, attributes, Ready.
 * A record that never had its declared properties gets them now, so that
 * write-only ones are not taken for drift. */
static void adopt(fugue_conductor *c, const char *fid, const struct pending *p)
{
	fugue_state_resource w;
	struct json_object *redacted = fugue_redact_state(p->state, p->ops, FUGUE_REDACT_DIGEST);
	struct json_object *applied = NULL;
	char *observed = redacted ? fugue_json_text(redacted) : NULL;
	char *attrs = fugue_json_member(p->state, "attributes")
	                      ? fugue_json_text(fugue_json_member(p->state, "attributes"))
	                      : NULL;
	char *declared = NULL;

	if (p->rec) {
		w = *p->rec;
	} else {
		memset(&w, 0, sizeof(w));
		snprintf(w.fid, sizeof(w.fid), "%s", fid);
		w.name = (char *)(uintptr_t)p->name;
		w.type = (char *)(uintptr_t)p->type_name;
	}
	if (!w.declared && p->declared) {
		applied = fugue_redact(p->declared, p->ops, FUGUE_REDACT_DIGEST);
		declared = applied ? fugue_json_text(applied) : NULL;
		w.declared = declared;
	}
	w.aws_id = (char *)(uintptr_t)fugue_json_state_id(p->state);
	w.observed = observed;
	w.attributes = attrs;
	w.status = FUGUE_RESOURCE_READY;
	w.error_code = w.error_message = w.error_request_id = NULL;
	fugue_state_resource_put(c->state, &w, NULL);
	free(observed);
	free(attrs);
	free(declared);
	json_object_put(redacted);
	json_object_put(applied);
}

/* P's record back to "nothing of it is known to exist": the next converge
 * creates it, with the client token kept. */
static void mark_pending(fugue_conductor *c, const struct pending *p)
{
	fugue_state_resource w;

	if (!p->rec)
		return;
	w = *p->rec;
	w.status = FUGUE_RESOURCE_PENDING;
	w.aws_id = NULL;
	w.observed = NULL;
	w.attributes = NULL;
	fugue_state_resource_put(c->state, &w, NULL);
}

/* Deletes now the old resource of a replacement that a crash left behind. */
static int remove_old(fugue_conductor *c, const char *fid, const struct pending *p,
                      fugue_cancel *cancel)
{
	fugue_call call;
	fugue_ctx ctx;
	int rc;

	fugue_call_init(&call);
	call.fid = fid;
	call.resource = p->name;
	call.type = p->type_name;
	call.cancel = cancel;
	fugue_call_ctx(&ctx, &call);
	ctx.planner_data = p->planner_data;
	ctx.aws = c->aws;
	ctx.region = p->region;
	rc = p->ops->remove(&ctx, p->state);
	if (rc != 0)
		fugue_core_log(FUGUE_LOG_WARN, fid, p->name, "recovery: delete old %s of %s: %s",
		               p->id, p->name, call.message ? call.message : fugue_strerror(rc));
	fugue_call_clear(&call);
	return rc;
}

/* Applies the observation of P. Returns 0 when resolved. */
static int resolve(fugue_conductor *c, const char *fid, struct pending *p, fugue_cancel *cancel)
{
	const char *rec_id = p->rec ? p->rec->aws_id : NULL;
	int found = p->status == 0 && p->state;

	if (p->status != 0 && p->status != FUGUE_ENOTFOUND)
		return p->status;
	if (p->action == FUGUE_JOURNAL_DELETE && p->id && !same_str(p->id, rec_id)) {
		/* The old resource of a replacement: the record holds the new one. */
		if (found && remove_old(c, fid, p, cancel) != 0)
			return FUGUE_ERETRY;
		end_entry(c, p, found ? "ok" : "gone", NULL);
		return 0;
	}
	if (p->action == FUGUE_JOURNAL_DELETE && !found) {
		fugue_core_log(FUGUE_LOG_INFO, fid, p->name, "recovery: %s is gone: record removed",
		               p->name);
		fugue_state_resource_delete(c->state, fid, p->name, NULL);
		end_entry(c, p, "gone", NULL);
		return 0;
	}
	if (found) {
		fugue_core_log(FUGUE_LOG_INFO, fid, p->name, "recovery: %s %s: %s found%s", p->name,
		               fugue_journal_action_name(p->action), fugue_json_state_id(p->state),
		               p->id ? "" : " by its tags, adopted");
		adopt(c, fid, p);
		end_entry(c, p, p->action == FUGUE_JOURNAL_CREATE && !p->id ? "adopted" : "unknown",
		          fugue_json_state_id(p->state));
		return 0;
	}
	fugue_core_log(FUGUE_LOG_INFO, fid, p->name,
	               "recovery: %s %s: not found; the next converge creates it", p->name,
	               fugue_journal_action_name(p->action));
	mark_pending(c, p);
	end_entry(c, p, "unknown", NULL);
	return 0;
}

/* The resources of FID to resolve, from open journal entries and records in
 * a transitional status, into *OUT (caller frees); returns how many. */
static size_t collect(struct pending **out, const fugue_state_journal *open, size_t nopen,
                      const char *fid, const fugue_state_resource *recs, size_t nrecs)
{
	struct pending *p = calloc(nopen + nrecs + 1, sizeof(*p));
	size_t n = 0;
	size_t i;
	size_t k;

	*out = p;
	if (!p)
		return 0;
	for (i = 0; i < nopen; i++) {
		if (strcmp(open[i].fid, fid) != 0)
			continue;
		p[n].name = open[i].resource;
		p[n].rec = find_rec(recs, nrecs, open[i].resource);
		p[n].action = open[i].action;
		p[n].entry = open[i].id;
		p[n].id = open[i].aws_id ? open[i].aws_id : p[n].rec ? p[n].rec->aws_id : NULL;
		p[n].status = FUGUE_EIO;
		n++;
	}
	for (i = 0; i < nrecs; i++) {
		if (!transitional(recs[i].status))
			continue;
		for (k = 0; k < n && strcmp(p[k].name, recs[i].name) != 0; k++)
			;
		if (k < n)
			continue;
		p[n].name = recs[i].name;
		p[n].rec = &recs[i];
		p[n].action = action_of_status(recs[i].status);
		p[n].id = recs[i].aws_id;
		p[n].status = FUGUE_EIO;
		n++;
	}
	return n;
}

/* Observes every pending item, batched per type and region. */
static void observe_all(fugue_conductor *c, const char *fid, const struct json_object *tags,
                        struct pending *p, size_t n, fugue_cancel *cancel)
{
	size_t *idx = calloc(n ? n : 1, sizeof(*idx));
	size_t i;
	size_t j;
	size_t k;

	if (!idx)
		return;
	for (i = 0; i < n; i++) {
		if (p[i].batched || !p[i].ops)
			continue;
		k = 0;
		for (j = i; j < n; j++) {
			if (!p[j].batched && p[j].ops == p[i].ops &&
			    same_str(p[j].region, p[i].region)) {
				p[j].batched = 1;
				idx[k++] = j;
			}
		}
		observe(c, fid, tags, p, idx, k, cancel);
	}
	free(idx);
}

int fugue_core_recover(fugue_conductor *c, const char *fid, fugue_cancel *cancel)
{
	fugue_state_journal *open = NULL;
	fugue_state_resource *recs = NULL;
	fugue_state_process proc;
	fugue_composition *comp = NULL;
	fugue_live live = FUGUE_LIVE_INIT;
	struct pending *p = NULL;
	size_t nopen = 0;
	size_t nrecs = 0;
	size_t n;
	size_t i;
	int first_err = 0;
	int rc;

	rc = fugue_state_journal_open_entries(&open, &nopen, c->state, NULL);
	if (rc == 0)
		rc = fugue_state_resource_list(&recs, &nrecs, c->state, fid, NULL);
	if (rc != 0)
		goto out;
	n = collect(&p, open, nopen, fid, recs, nrecs);
	if (!p) {
		rc = FUGUE_ENOMEM;
		goto out;
	}
	if (n == 0)
		goto out;
	fugue_core_log(FUGUE_LOG_INFO, fid, NULL, "recovery: process %s has %zu call%s in flight",
	               fid, n, n == 1 ? "" : "s");
	if (fugue_state_process_get(&proc, c->state, fid, NULL) == 0) {
		comp = proc.compiled ? fugue_core_load_composition(c, fid, proc.compiled) : NULL;
		fugue_state_process_clear(&proc);
	}
	fugue_live_load(&live, recs, nrecs);
	for (i = 0; i < n; i++) {
		if (describe(c, &p[i], comp, &live) != 0) {
			p[i].status = FUGUE_ECONFIG;
			fugue_core_log(FUGUE_LOG_WARN, fid, p[i].name,
			               "recovery: no planner owns the type of %s", p[i].name);
		}
	}
	observe_all(c, fid, comp ? comp->tags : NULL, p, n, cancel);
	for (i = 0; i < n; i++) {
		rc = resolve(c, fid, &p[i], cancel);
		if (rc != 0 && !first_err)
			first_err = rc;
	}
	rc = first_err;
out:
	for (i = 0; p && p[i].name; i++) {
		json_object_put(p[i].declared);
		json_object_put(p[i].state);
	}
	free(p);
	fugue_live_clear(&live);
	fugue_composition_free(comp);
	fugue_state_resource_list_free(recs, nrecs);
	fugue_state_journal_list_free(open, nopen);
	return rc;
}
