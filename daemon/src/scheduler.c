/* scheduler.c - runs a plan as a DAG of planner calls on the shared worker
 * pool (see scheduler.h and docs/scheduler.md).
 *
 * fugue_execute builds one node per create, update and delete (two for a
 * replace), links them with "waits for" edges, then dispatches from the
 * caller's thread: a node whose waits are all done takes its planner's slot
 * and goes to the pool. Workers run the node (journal, record, call,
 * retries, record, LIVE) and settle it under the job's mutex: a done node
 * releases its waiters, a failed one skips them, transitively. */
#include "scheduler.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "clock.h"
#include "fugue/log.h"
#include "json_util.h"

#define NO_NODE SIZE_MAX
#define DEFAULT_ATTEMPTS 4
#define DEFAULT_RETRY_BASE_MS 1000L
#define MAX_BACKOFF_MS (5L * 60 * 1000)
/* How often the dispatcher looks again when a planner had no free slot
 * (slots freed by other jobs do not wake it), and at most how long it
 * sleeps otherwise (a node finishing wakes it at once). */
#define SLOT_POLL_MS 20L
#define IDLE_POLL_MS 200L

typedef enum node_op { OP_CREATE, OP_UPDATE, OP_DELETE } node_op;

typedef enum node_state {
	NODE_WAITING,
	NODE_RUNNING,
	NODE_DONE,
	NODE_FAILED,
	NODE_SKIPPED
} node_state;

/* A set of node indices. */
typedef struct edges {
	size_t *v;
	size_t n;
	size_t cap;
} edges;

struct job;

typedef struct node {
	struct job *job;
	size_t action;                  /* index into the plan */
	node_op op;
	int replace;                    /* one half of a replace */
	int cbd;                        /* replace: the new one is created first */
	const char *name;               /* borrowed from the plan */
	const char *type_name;          /* borrowed from the plan */
	const fugue_resource *decl;     /* the declaration (create, update), or NULL */
	const fugue_type_ops *type;     /* NULL: no loaded planner has it */
	void *planner_data;
	const char *region;
	char *slot_key;                 /* owned: the planner's name */
	struct json_object *old_state;  /* owned; delete: what to remove (snapshot) */
	char token[FUGUE_FID_SIZE];     /* create: the client token */
	int recreate;                   /* create: what is recorded is known to be gone */
	edges waits;                    /* nodes this one runs after */
	edges waiters;                  /* nodes that run after this one */
	size_t pending;                 /* waits not done yet */
	node_state st;
	/* The outcome; strings owned. */
	int result;
	int cancelled;                  /* stopped or skipped by the cancel flag */
	char *message;
	char *error_code;
	char *request_id;
} node;

typedef struct name_ix {
	const char *name;
	size_t action;
} name_ix;

typedef struct job {
	const fugue_exec_options *o;
	int max_attempts;
	long retry_base_ms;
	node *nodes;
	size_t n;
	size_t *create_of;              /* per action: its create/update node, or NO_NODE */
	size_t *delete_of;              /* per action: its delete node, or NO_NODE */
	const fugue_resource **prev;    /* per action: its previous declaration, or NULL */
	name_ix *ix;                    /* actions by name */
	size_t *stack;                  /* scratch for graph walks, n entries */
	unsigned char *seen;            /* scratch for graph walks, n entries */
	pthread_mutex_t mutex;          /* everything below, and LIVE */
	pthread_cond_t cond;            /* a node settled */
	pthread_mutex_t event_mutex;    /* one event at a time; taken after mutex, never before */
	size_t finished;
	size_t running;
	size_t calls;                   /* planner calls in flight */
	size_t max_calls;
	int cancel_seen;
	int first_rc;
} job;

/* ==== small helpers ========================================================== */

const char *fugue_sched_phase_name(fugue_sched_phase p)
{
	static const char *const names[] = { "start", "progress", "done",
	                                     "retry", "failed", "skipped" };

	if ((unsigned int)p >= sizeof(names) / sizeof(names[0]))
		return "?";
	return names[p];
}

static const char *op_name(node_op op)
{
	return op == OP_CREATE ? "create" : op == OP_UPDATE ? "update" : "delete";
}

static struct json_object *deep_copy(const struct json_object *o)
{
	struct json_object *c = NULL;

	if (!o || json_object_deep_copy(fugue_json_unconst(o), &c, NULL) != 0)
		return NULL;
	return c;
}

/* *FIELD becomes a copy of V (NULL allowed). 0 or FUGUE_ENOMEM. */
static int set_text(char **field, const char *v)
{
	char *c = NULL;

	if (v) {
		c = strdup(v);
		if (!c)
			return FUGUE_ENOMEM;
	}
	free(*field);
	*field = c;
	return 0;
}

/* *FIELD becomes the JSON text of O (NULL for NULL). 0 or FUGUE_ENOMEM. */
static int set_json(char **field, const struct json_object *o)
{
	if (!o)
		return set_text(field, NULL);
	return set_text(field, json_object_to_json_string_ext(fugue_json_unconst(o), JSON_C_TO_STRING_PLAIN));
}

static int cancel_set(const job *j)
{
	return fugue_cancel_is_set(j->o->cancel);
}

struct json_object *fugue_resource_tags(const struct json_object *tags, const char *fid,
                                        const char *resource)
{
	struct json_object *out = json_object_new_object();
	int bad = 0;

	if (!out)
		return NULL;
	/* New strings, never json_object_get(): TAGS is shared by the job's
	 * threads, and json-c's reference counts are not atomic. */
	if (tags && json_object_is_type(tags, json_type_object)) {
		json_object_object_foreach(fugue_json_unconst(tags), key, val) {
			struct json_object *v = json_object_new_string(json_object_get_string(val));

			if (json_object_object_add(out, key, v) != 0)
				bad = 1;
		}
	}
	if (fid && json_object_object_add(out, "fugue:fid", json_object_new_string(fid)) != 0)
		bad = 1;
	if (resource &&
	    json_object_object_add(out, "fugue:resource", json_object_new_string(resource)) != 0)
		bad = 1;
	if (bad) {
		json_object_put(out);
		return NULL;
	}
	return out;
}

/* ==== events and outcomes ===================================================== */

static void emit(job *j, node *n, fugue_sched_phase phase, const char *aws_id,
                 const char *message)
{
	fugue_sched_event ev;

	if (!j->o->on_event)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.phase = phase;
	ev.resource = n->name;
	ev.type = n->type_name;
	ev.action = op_name(n->op);
	ev.aws_id = aws_id;
	ev.message = message;
	if (phase == FUGUE_SCHED_FAILED || phase == FUGUE_SCHED_RETRY) {
		ev.error_code = n->error_code;
		ev.request_id = n->request_id;
	}
	pthread_mutex_lock(&j->event_mutex);
	j->o->on_event(&ev, j->o->event_payload);
	pthread_mutex_unlock(&j->event_mutex);
}

static void log_node(fugue_log_level level, const node *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void log_node(fugue_log_level level, const node *n, const char *fmt, ...)
{
	fugue_log_field fields[4];
	char line[1024];
	va_list ap;

	if (!fugue_log_enabled(level))
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fields[0].key = "FUGUE_FID";
	fields[0].value = n->job->o->fid;
	fields[1].key = "FUGUE_RESOURCE";
	fields[1].value = n->name;
	fields[2].key = "FUGUE_TYPE";
	fields[2].value = n->type_name;
	fields[3].key = "AWS_REQUEST_ID";
	fields[3].value = n->request_id;
	fugue_log_fields(level, fields, 4, "%s", line);
}

/* Records a failure the kernel found itself (no planner answer). */
static void node_fail(node *n, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void node_fail(node *n, int rc, const char *fmt, ...)
{
	char *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	n->result = rc;
	free(n->message);
	n->message = msg;
	set_text(&n->error_code, fugue_strerror(rc));
	set_text(&n->request_id, NULL);
}

/* Records the failure the planner reported through CALL (or just RC). */
static void node_fail_call(node *n, int rc, fugue_call *call)
{
	int aws;

	fugue_call_lock(call);
	aws = call->has_aws && call->aws.code[0];
	n->result = rc;
	set_text(&n->message, call->message ? call->message : fugue_strerror(rc));
	set_text(&n->error_code, aws ? call->aws.code : fugue_strerror(rc));
	set_text(&n->request_id, call->has_aws && call->aws.request_id[0] ? call->aws.request_id
	                                                                   : NULL);
	fugue_call_unlock(call);
}

/* ==== the graph =============================================================== */

static int edge_add(edges *e, size_t v)
{
	size_t i;

	for (i = 0; i < e->n; i++) {
		if (e->v[i] == v)
			return 0;
	}
	if (e->n == e->cap) {
		size_t cap = e->cap ? e->cap * 2 : 4;
		size_t *nv = realloc(e->v, cap * sizeof(*nv));

		if (!nv)
			return FUGUE_ENOMEM;
		e->v = nv;
		e->cap = cap;
	}
	e->v[e->n++] = v;
	return 0;
}

/* Node A runs after node B. */
static int add_wait(job *j, size_t a, size_t b)
{
	if (a == NO_NODE || b == NO_NODE || a == b)
		return 0;
	return edge_add(&j->nodes[a].waits, b);
}

/* Nonzero when node FROM waits, directly or not, for node TO. */
static int waits_for(job *j, size_t from, size_t to)
{
	size_t top = 0;
	size_t i;

	memset(j->seen, 0, j->n);
	j->stack[top++] = from;
	j->seen[from] = 1;
	while (top > 0) {
		node *n = &j->nodes[j->stack[--top]];

		for (i = 0; i < n->waits.n; i++) {
			size_t w = n->waits.v[i];

			if (w == to)
				return 1;
			if (!j->seen[w]) {
				j->seen[w] = 1;
				j->stack[top++] = w;
			}
		}
	}
	return 0;
}

/* The action named NAME, or NO_NODE. */
static int ix_cmp(const void *a, const void *b)
{
	return strcmp(((const name_ix *)a)->name, ((const name_ix *)b)->name);
}

static size_t action_named(const job *j, const char *name)
{
	name_ix key = { name, 0 };
	const name_ix *hit;

	if (!name)
		return NO_NODE;
	hit = bsearch(&key, j->ix, j->o->plan->nactions, sizeof(*j->ix), ix_cmp);
	return hit ? hit->action : NO_NODE;
}

/* The K-th resource action I referenced before this plan (what its old
 * version in AWS points at), or NULL past the end: from the previous
 * declaration when there is one, else the action's own dependencies. */
static const char *prev_dep(const job *j, size_t i, size_t k)
{
	const fugue_action *a = &j->o->plan->actions[i];
	const fugue_resource *r = j->prev[i];

	if (!j->o->previous)
		return k < a->ndeps ? a->deps[k] : NULL;
	if (!r || k >= r->ndeps)
		return NULL;
	return j->o->previous->resources[r->deps[k]].name;
}

/* create/update: after the create/update nodes of what it references. */
static int link_creates(job *j)
{
	const fugue_plan *plan = j->o->plan;
	size_t i, k;
	int rc;

	for (i = 0; i < plan->nactions; i++) {
		if (j->create_of[i] == NO_NODE)
			continue;
		for (k = 0; k < plan->actions[i].ndeps; k++) {
			size_t d = action_named(j, plan->actions[i].deps[k]);

			if (d == NO_NODE || d == i)
				continue;
			rc = add_wait(j, j->create_of[i], j->create_of[d]);
			if (rc != 0)
				return rc;
		}
	}
	return 0;
}

/* delete: after the delete nodes of everything that referenced it. */
static int link_deletes(job *j)
{
	const fugue_plan *plan = j->o->plan;
	const char *dep;
	size_t i, k;
	int rc;

	for (i = 0; i < plan->nactions; i++) {
		if (j->delete_of[i] == NO_NODE)
			continue;
		for (k = 0; (dep = prev_dep(j, i, k)) != NULL; k++) {
			size_t x = action_named(j, dep);

			if (x == NO_NODE || x == i || j->delete_of[x] == NO_NODE)
				continue;
			rc = add_wait(j, j->delete_of[x], j->delete_of[i]);
			if (rc != 0)
				return rc;
		}
	}
	return 0;
}

/* The two halves of each replace. Delete-then-create first (they only add
 * "create after delete" edges, which cannot close a cycle while no delete
 * waits for a create); then create-before-delete, which becomes
 * delete-then-create when its create already waits, through the graph, for
 * its own delete (a dependency replaced delete-then-create whose delete
 * waits for this resource's old version to go): there is no order that
 * keeps the old one until the new one exists. */
static int link_replaces(job *j)
{
	const fugue_plan *plan = j->o->plan;
	size_t i;
	int rc = 0;

	for (i = 0; i < plan->nactions && rc == 0; i++) {
		const fugue_action *a = &plan->actions[i];

		if (a->kind == FUGUE_ACTION_REPLACE && !a->create_before_delete)
			rc = add_wait(j, j->create_of[i], j->delete_of[i]);
	}
	for (i = 0; i < plan->nactions && rc == 0; i++) {
		const fugue_action *a = &plan->actions[i];
		size_t c = j->create_of[i];
		size_t d = j->delete_of[i];

		if (a->kind != FUGUE_ACTION_REPLACE || !a->create_before_delete)
			continue;
		if (waits_for(j, c, d)) {
			j->nodes[c].cbd = 0;
			j->nodes[d].cbd = 0;
			log_node(FUGUE_LOG_INFO, &j->nodes[c],
			         "replacing delete-then-create: a dependency is replaced that way");
			rc = add_wait(j, c, d);
		} else {
			rc = add_wait(j, d, c);
		}
	}
	return rc;
}

/* An old resource that is deleted for good, or after its replacement
 * exists, also waits for the updates that move its referrers off it. Only
 * where that closes no cycle. */
static int link_updates(job *j)
{
	const fugue_plan *plan = j->o->plan;
	const char *dep;
	size_t i, k, pass;
	int rc;

	for (i = 0; i < plan->nactions; i++) {
		const fugue_action *a = &plan->actions[i];

		if (a->kind != FUGUE_ACTION_UPDATE)
			continue;
		for (pass = 0; pass < 2; pass++) {
			for (k = 0;; k++) {
				size_t x, dx;

				if (pass == 0)
					dep = prev_dep(j, i, k);
				else
					dep = k < a->ndeps ? a->deps[k] : NULL;
				if (!dep)
					break;
				x = action_named(j, dep);
				if (x == NO_NODE || x == i)
					continue;
				dx = j->delete_of[x];
				if (dx == NO_NODE || (j->nodes[dx].replace && !j->nodes[dx].cbd))
					continue;
				if (waits_for(j, j->create_of[i], dx))
					continue;
				rc = add_wait(j, dx, j->create_of[i]);
				if (rc != 0)
					return rc;
			}
		}
	}
	return 0;
}

/* Fills the reverse edges and the pending counts; FUGUE_EINVAL when the
 * waits have a cycle (only a hand-made plan can have one). */
static int finish_graph(job *j)
{
	size_t i, k, done = 0, top = 0;
	size_t *left = calloc(j->n ? j->n : 1, sizeof(*left));
	int rc = 0;

	if (!left)
		return FUGUE_ENOMEM;
	for (i = 0; i < j->n && rc == 0; i++) {
		node *n = &j->nodes[i];

		n->pending = n->waits.n;
		left[i] = n->waits.n;
		for (k = 0; k < n->waits.n && rc == 0; k++)
			rc = edge_add(&j->nodes[n->waits.v[k]].waiters, i);
	}
	/* Kahn's algorithm, only to prove there is an order. */
	for (i = 0; i < j->n && rc == 0; i++) {
		if (left[i] == 0)
			j->stack[top++] = i;
	}
	while (top > 0 && rc == 0) {
		node *n = &j->nodes[j->stack[--top]];

		done++;
		for (k = 0; k < n->waiters.n; k++) {
			if (--left[n->waiters.v[k]] == 0)
				j->stack[top++] = n->waiters.v[k];
		}
	}
	if (rc == 0 && done != j->n) {
		fugue_log_error("plan for %s has a dependency cycle; nothing was run", j->o->fid);
		rc = FUGUE_EINVAL;
	}
	free(left);
	return rc;
}

/* ==== nodes =================================================================== */

/* The name of the planner owning TYPE, or, without a registry that knows it,
 * the type name up to its last dot ("Fake.Net"), as a new string. */
static char *slot_key_of(const job *j, const char *type_name, const fugue_type_ops *type)
{
	const fugue_registry *reg = j->o->registry;
	const char *dot;
	size_t i, k;

	for (i = 0; reg && i < fugue_registry_count(reg); i++) {
		const fugue_planner_info *p = fugue_registry_planner(reg, i);

		for (k = 0; p && k < p->ntypes; k++) {
			if (p->types[k] == type || strcmp(p->types[k]->name, type_name) == 0)
				return strdup(p->name);
		}
	}
	dot = strrchr(type_name, '.');
	return dot ? strndup(type_name, (size_t)(dot - type_name)) : strdup(type_name);
}

/* NAME's declaration in C (a duplicate's: its origin's, for its type,
 * region and dependencies), or NULL. */
static const fugue_resource *find_decl(const fugue_composition *c, const char *name)
{
	return fugue_composition_origin(c, name);
}

static int node_init(job *j, size_t idx, size_t action, node_op op)
{
	const fugue_action *a = &j->o->plan->actions[action];
	node *n = &j->nodes[idx];
	const fugue_resource *r;

	n->job = j;
	n->action = action;
	n->op = op;
	n->replace = a->kind == FUGUE_ACTION_REPLACE;
	n->cbd = n->replace && a->create_before_delete;
	n->name = a->resource;
	n->type_name = a->type;
	n->st = NODE_WAITING;
	n->decl = op == OP_DELETE ? NULL : find_decl(j->o->declared, a->resource);
	/* The old version of a deleted one was made from the previous
	 * declaration: its region, its type. */
	r = op == OP_DELETE ? (j->prev[action] ? j->prev[action]
	                                       : find_decl(j->o->declared, a->resource))
	                    : n->decl;
	if (r && r->type && strcmp(r->type_name, a->type) == 0) {
		n->type = r->type;
		n->planner_data = r->planner_data;
	} else if (j->o->registry) {
		n->type = fugue_registry_type(j->o->registry, a->type, &n->planner_data);
	}
	n->region = r ? r->region : NULL;
	n->slot_key = slot_key_of(j, a->type, n->type);
	if (!n->slot_key)
		return FUGUE_ENOMEM;
	if (op == OP_DELETE) {
		const fugue_live_entry *e = fugue_live_find(j->o->live, a->resource);

		if (e && e->state && !e->gone) {
			n->old_state = deep_copy(e->state);
			if (!n->old_state)
				return FUGUE_ENOMEM;
		}
	}
	return 0;
}

static int make_nodes(job *j)
{
	const fugue_plan *plan = j->o->plan;
	size_t i, count = 0;
	int rc = 0;

	for (i = 0; i < plan->nactions; i++) {
		fugue_action_kind k = plan->actions[i].kind;

		count += k == FUGUE_ACTION_REPLACE ? 2 : k == FUGUE_ACTION_NONE ? 0 : 1;
	}
	j->nodes = calloc(count ? count : 1, sizeof(*j->nodes));
	j->stack = calloc(count ? count : 1, sizeof(*j->stack));
	j->seen = calloc(count ? count : 1, 1);
	if (!j->nodes || !j->stack || !j->seen)
		return FUGUE_ENOMEM;
	for (i = 0; i < plan->nactions && rc == 0; i++) {
		fugue_action_kind k = plan->actions[i].kind;

		if (k == FUGUE_ACTION_CREATE || k == FUGUE_ACTION_REPLACE) {
			j->create_of[i] = j->n;
			rc = node_init(j, j->n++, i, OP_CREATE);
		} else if (k == FUGUE_ACTION_UPDATE) {
			j->create_of[i] = j->n;
			rc = node_init(j, j->n++, i, OP_UPDATE);
		}
		if (rc == 0 && (k == FUGUE_ACTION_DELETE || k == FUGUE_ACTION_REPLACE)) {
			j->delete_of[i] = j->n;
			rc = node_init(j, j->n++, i, OP_DELETE);
		}
	}
	return rc;
}

/* ==== the state store and LIVE ================================================== */

/* The stored record of N's resource, or a new one (status pending). */
static int record_get(node *n, fugue_state_resource *r)
{
	const job *j = n->job;
	fugue_state_diag diag;
	int rc = fugue_state_resource_get(r, j->o->state, j->o->fid, n->name, &diag);

	if (rc == FUGUE_ENOTFOUND) {
		memset(r, 0, sizeof(*r));
		snprintf(r->fid, sizeof(r->fid), "%s", j->o->fid);
		r->status = FUGUE_RESOURCE_PENDING;
		rc = set_text(&r->name, n->name);
	} else if (rc != 0) {
		log_node(FUGUE_LOG_ERROR, n, "state store: cannot read the resource: %s",
		         diag.message);
		return rc;
	}
	if (rc == 0)
		rc = set_text(&r->type, n->type_name);
	if (rc != 0)
		fugue_state_resource_clear(r);
	return rc;
}

static int record_put(node *n, fugue_state_resource *r)
{
	fugue_state_diag diag;
	int rc = fugue_state_resource_put(n->job->o->state, r, &diag);

	if (rc != 0)
		log_node(FUGUE_LOG_ERROR, n, "state store: cannot record the resource: %s",
		         diag.message);
	fugue_state_resource_clear(r);
	return rc;
}

/* Copies N's recorded error into R (status unchanged). */
static int record_error(node *n, fugue_state_resource *r)
{
	int rc = set_text(&r->error_code, n->error_code);

	if (rc == 0)
		rc = set_text(&r->error_message, n->message);
	if (rc == 0)
		rc = set_text(&r->error_request_id, n->request_id);
	return rc;
}

static int record_error_clear(fugue_state_resource *r)
{
	set_text(&r->error_code, NULL);
	set_text(&r->error_message, NULL);
	set_text(&r->error_request_id, NULL);
	return 0;
}

/* The record's status becomes S (creating, updating, deleting). */
static int record_status(node *n, fugue_resource_status s)
{
	fugue_state_resource r;
	int rc = record_get(n, &r);

	if (rc != 0)
		return rc;
	r.status = s;
	return record_put(n, &r);
}

/* The record of a resource that exists as STATE (raw, from the planner):
 * status S, its id, its state and, when APPLIED (raw, references resolved)
 * is given, the declared properties, sensitive values as digests in both
 * (masked ones would differ from the declaration in every later plan);
 * attributes. ERRORS: copy N's error too, else clear it. */
static int record_state(node *n, fugue_resource_status s, const struct json_object *state,
                        const struct json_object *applied, int errors)
{
	fugue_state_resource r;
	struct json_object *observed = fugue_redact_state(state, n->type, FUGUE_REDACT_DIGEST);
	struct json_object *digests = applied ? fugue_redact(applied, n->type, FUGUE_REDACT_DIGEST)
	                                      : NULL;
	int rc;

	if (!observed || (applied && !digests)) {
		json_object_put(observed);
		json_object_put(digests);
		return FUGUE_ENOMEM;
	}
	rc = record_get(n, &r);
	if (rc == 0) {
		r.status = s;
		rc = set_text(&r.aws_id, fugue_json_state_id(state));
		if (rc == 0)
			rc = set_json(&r.observed, observed);
		if (rc == 0)
			rc = set_json(&r.attributes, fugue_json_member(state, "attributes"));
		if (rc == 0 && digests)
			rc = set_json(&r.declared, digests);
		if (rc == 0)
			rc = errors ? record_error(n, &r) : record_error_clear(&r);
		if (rc == 0)
			rc = record_put(n, &r);
		else
			fugue_state_resource_clear(&r);
	}
	json_object_put(observed);
	json_object_put(digests);
	return rc;
}

/* LIVE's entry of N's resource becomes: status S, STATE (NULL: nothing
 * exists; or kept when KEEP_STATE), APPLIED (NULL: kept) and N's error when
 * ERRORS; sensitive values as digests, as the state store has them, so that
 * LIVE after a run is LIVE loaded back from the store. Takes the job's
 * mutex. */
static int live_set(node *n, fugue_resource_status s, const struct json_object *state,
                    int keep_state, const struct json_object *applied, int errors)
{
	job *j = n->job;
	struct json_object *redacted = NULL;
	struct json_object *digests = NULL;
	fugue_live_entry *e;
	char *error = NULL;

	if (state && !(redacted = fugue_redact_state(state, n->type, FUGUE_REDACT_DIGEST)))
		return FUGUE_ENOMEM;
	if (applied && !(digests = fugue_redact(applied, n->type, FUGUE_REDACT_DIGEST)))
		goto nomem;
	if (errors && n->message && !(error = strdup(n->message)))
		goto nomem;
	pthread_mutex_lock(&j->mutex);
	e = fugue_live_ensure(j->o->live, n->name, n->type_name);
	if (e) {
		e->status = s;
		if (!keep_state) {
			json_object_put(e->state);
			e->state = redacted;
			redacted = NULL;
			/* Gone is what an observation said; a state says otherwise. */
			if (e->state)
				e->gone = 0;
		}
		if (digests) {
			json_object_put(e->applied);
			e->applied = digests;
			digests = NULL;
		}
		free(e->error);
		e->error = error;
		error = NULL;
	}
	pthread_mutex_unlock(&j->mutex);
	json_object_put(redacted);
	json_object_put(digests);
	return e ? 0 : FUGUE_ENOMEM;
nomem:
	json_object_put(redacted);
	json_object_put(digests);
	return FUGUE_ENOMEM;
}

static void live_forget(node *n)
{
	pthread_mutex_lock(&n->job->mutex);
	fugue_live_remove(n->job->o->live, n->name);
	pthread_mutex_unlock(&n->job->mutex);
}

/* ==== planner calls ============================================================= */

static void call_progress(const char *resource, const char *message, void *payload)
{
	node *n = payload;

	(void)resource;
	emit(n->job, n, FUGUE_SCHED_PROGRESS, NULL, message);
}

/* declared(): another resource's declaration, from the composition the
 * plan was made from (or the previous one, for resources being deleted). */
static const struct json_object *call_declared(const char *resource, void *payload)
{
	const job *j = payload;
	const fugue_resource *r = find_decl(j->o->declared, resource);

	if (!r)
		r = find_decl(j->o->previous, resource);
	return r ? r->props : NULL;
}

static void calls_enter(job *j)
{
	pthread_mutex_lock(&j->mutex);
	j->calls++;
	if (j->calls > j->max_calls)
		j->max_calls = j->calls;
	pthread_mutex_unlock(&j->mutex);
}

static void calls_leave(job *j)
{
	pthread_mutex_lock(&j->mutex);
	j->calls--;
	pthread_mutex_unlock(&j->mutex);
}

/* What one planner call works on. */
typedef struct call_args {
	node_op op;
	const struct json_object *props;    /* create, update: references resolved */
	const struct json_object *state;    /* update, delete */
	const struct json_object *changed;  /* update */
	const char *token;                  /* create */
	struct json_object *out;            /* create, update: the planner's answer */
} call_args;

/* One callback of N's planner under CALL. */
static int invoke(node *n, fugue_call *call, call_args *a)
{
	job *j = n->job;
	struct json_object *tags = NULL;
	fugue_ctx ctx;
	int rc;

	call->fid = j->o->fid;
	call->resource = n->name;
	call->type = n->type_name;
	call->cancel = j->o->cancel;
	call->progress = call_progress;
	call->progress_payload = n;
	call->declared = call_declared;
	call->declared_payload = j;
	fugue_call_ctx(&ctx, call);
	ctx.planner_data = n->planner_data;
	ctx.aws = j->o->aws;
	ctx.region = n->region;
	if (a->op != OP_DELETE && (n->type->flags & FUGUE_TYPE_TAGGABLE)) {
		tags = fugue_resource_tags(j->o->declared ? j->o->declared->tags : NULL, j->o->fid,
		                           n->name);
		if (!tags)
			return FUGUE_ENOMEM;
		ctx.tags = tags;
	}
	ctx.client_token = a->op == OP_CREATE ? a->token : NULL;
	calls_enter(j);
	if (a->op == OP_CREATE)
		rc = n->type->create(&ctx, a->props, &a->out);
	else if (a->op == OP_UPDATE)
		rc = n->type->update(&ctx, a->state, a->props, a->changed, &a->out);
	else
		rc = n->type->remove(&ctx, a->state);
	calls_leave(j);
	json_object_put(tags);
	return rc;
}

static fugue_journal_action journal_action(node_op op)
{
	return op == OP_CREATE ? FUGUE_JOURNAL_CREATE
	     : op == OP_UPDATE ? FUGUE_JOURNAL_UPDATE : FUGUE_JOURNAL_DELETE;
}

/* What a node does between its journal begin and the call, once: the
 * record's status, and for a create the client token. */
static int prepare(node *n, call_args *a)
{
	job *j = n->job;
	fugue_state_diag diag;
	fugue_state_resource r;
	int rc;

	if (a->op == OP_DELETE) {
		/* The record of a replacement created first describes the new one. */
		if (n->cbd)
			return 0;
		return record_status(n, FUGUE_RESOURCE_DELETING);
	}
	if (a->op == OP_UPDATE)
		return record_status(n, FUGUE_RESOURCE_UPDATING);
	rc = record_get(n, &r);
	if (rc != 0)
		return rc;
	r.status = FUGUE_RESOURCE_CREATING;
	if (n->recreate) {
		/* The dead one's id must not survive a failed re-creation. */
		set_text(&r.aws_id, NULL);
		set_text(&r.observed, NULL);
		set_text(&r.attributes, NULL);
	}
	rc = record_put(n, &r);
	if (rc != 0)
		return rc;
	rc = fugue_state_resource_token(n->token, j->o->state, j->o->fid, n->name, &diag);
	a->token = rc == 0 ? n->token : NULL;
	return rc;
}

/* The journal's result for N's failed call. */
static const char *result_code(const node *n)
{
	return n->error_code ? n->error_code : "error";
}

/* One attempt: journal begin, (first: prepare), call, journal end. The
 * failure, if any, is recorded in N. */
static int attempt(node *n, call_args *a, int first)
{
	job *j = n->job;
	fugue_state_diag diag = { "" };
	fugue_call call;
	int64_t entry = 0;
	const char *aws_id = a->state ? fugue_json_state_id(a->state) : NULL;
	int rc;

	rc = fugue_state_journal_begin(&entry, j->o->state, j->o->fid, n->name,
	                               journal_action(a->op), aws_id, &diag);
	if (rc != 0) {
		node_fail(n, rc, "state store: cannot journal the %s: %s", op_name(a->op),
		          diag.message);
		return rc;
	}
	if (first) {
		rc = prepare(n, a);
		if (rc != 0) {
			node_fail(n, rc, "state store: cannot record the %s", op_name(a->op));
			fugue_state_journal_end(j->o->state, entry, result_code(n), NULL, NULL);
			return rc;
		}
	}
	fugue_call_init(&call);
	rc = invoke(n, &call, a);
	if (rc == FUGUE_ENOTFOUND && a->op == OP_DELETE)
		rc = 0; /* already gone */
	if (rc != 0)
		node_fail_call(n, rc, &call);
	fugue_call_clear(&call);
	if (fugue_state_journal_end(j->o->state, entry, rc == 0 ? "ok" : result_code(n),
	                            a->out ? fugue_json_state_id(a->out) : NULL, &diag) != 0)
		log_node(FUGUE_LOG_ERROR, n, "state store: cannot end journal entry %lld: %s",
		         (long long)entry, diag.message);
	return rc;
}

/* Sleeps MS through the cancel flag: 0, or FUGUE_ECANCELED. */
static int backoff(job *j, long ms)
{
	fugue_cancel *c = j->o->cancel;
	struct timespec deadline;
	int rc = 0;

	if (!c) {
		struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };

		while (nanosleep(&t, &t) != 0 && errno == EINTR)
			;
		return 0;
	}
	deadline = fugue_clock_deadline(ms);
	pthread_mutex_lock(&c->mutex);
	while (!atomic_load(&c->cancelled) && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&c->cond, &c->mutex, &deadline);
	pthread_mutex_unlock(&c->mutex);
	return fugue_cancel_is_set(c) ? FUGUE_ECANCELED : 0;
}

/* The call with its retries: FUGUE_ERETRY is tried again after a doubling
 * backoff, up to max_attempts calls. */
static int call_with_retries(node *n, call_args *a)
{
	job *j = n->job;
	long delay = j->retry_base_ms;
	int tries;
	int rc;

	for (tries = 1;; tries++) {
		if (cancel_set(j)) {
			n->cancelled = 1;
			node_fail(n, FUGUE_ECANCELED, "cancelled");
			return FUGUE_ECANCELED;
		}
		rc = attempt(n, a, tries == 1);
		if (rc != FUGUE_ERETRY || tries >= j->max_attempts)
			return rc;
		/* A create that failed after AWS made something (a throttled
		 * wait after CreateSubnet) names what it made. Calling create
		 * again would make a second one wherever the API takes no client
		 * token (CreateVpc, CreateSubnet, CreateSecurityGroup, IAM): the
		 * node fails instead with the id recorded (run_create), and the
		 * next pass goes on from the resource that exists. */
		if (a->op == OP_CREATE && fugue_json_state_id(a->out))
			return rc;
		log_node(FUGUE_LOG_INFO, n, "%s %s: %s; trying again in %ld ms", op_name(a->op),
		         n->name, n->message ? n->message : "try again later", delay);
		emit(j, n, FUGUE_SCHED_RETRY, NULL, n->message);
		json_object_put(a->out);
		a->out = NULL;
		if (backoff(j, delay) != 0) {
			n->cancelled = 1;
			node_fail(n, FUGUE_ECANCELED, "cancelled while waiting to try again");
			return FUGUE_ECANCELED;
		}
		delay = delay > MAX_BACKOFF_MS / 2 ? MAX_BACKOFF_MS : delay * 2;
	}
}

/* The node failed: the record keeps what it knew (id, state) with status
 * failed, or, KEEP_STATUS, its status, and gets the error; so does LIVE. */
static void record_failed(node *n, int keep_status)
{
	fugue_state_resource r;
	fugue_live_entry *e;

	if (record_get(n, &r) == 0) {
		if (!keep_status)
			r.status = FUGUE_RESOURCE_FAILED;
		if (record_error(n, &r) == 0)
			record_put(n, &r);
		else
			fugue_state_resource_clear(&r);
	}
	pthread_mutex_lock(&n->job->mutex);
	e = fugue_live_ensure(n->job->o->live, n->name, n->type_name);
	if (e) {
		if (!keep_status)
			e->status = FUGUE_RESOURCE_FAILED;
		free(e->error);
		e->error = n->message ? strdup(n->message) : NULL;
	}
	pthread_mutex_unlock(&n->job->mutex);
}

/* ==== what each node does ========================================================= */

/* N's declared properties with references resolved from LIVE, in *OUT. */
static int resolve_props(node *n, struct json_object **out)
{
	job *j = n->job;
	char *missing = NULL;
	int rc;

	pthread_mutex_lock(&j->mutex);
	rc = fugue_resolve_refs(out, &missing, n->decl->props, j->o->live);
	pthread_mutex_unlock(&j->mutex);
	if (rc == FUGUE_ERETRY) {
		node_fail(n, FUGUE_EINVAL, "reference to %s has no value",
		          missing ? missing : "another resource");
		rc = FUGUE_EINVAL;
	} else if (rc != 0) {
		node_fail(n, rc, "cannot resolve references");
	}
	free(missing);
	return rc;
}

/* A create of a replacement that failed after making something: the old
 * resource is still recorded, so the new one is removed now rather than
 * orphaned. Best effort; journaled like any delete. */
static void discard_partial(node *n, const struct json_object *partial)
{
	job *j = n->job;
	fugue_state_diag diag;
	fugue_call call;
	int64_t entry;
	int rc;
	char *msg = NULL;
	call_args a = { .op = OP_DELETE, .state = partial };

	rc = fugue_state_journal_begin(&entry, j->o->state, j->o->fid, n->name,
	                               FUGUE_JOURNAL_DELETE, fugue_json_state_id(partial), &diag);
	if (rc == 0) {
		fugue_call_init(&call);
		rc = invoke(n, &call, &a);
		if (rc == FUGUE_ENOTFOUND)
			rc = 0;
		fugue_call_clear(&call);
		fugue_state_journal_end(j->o->state, entry, rc == 0 ? "ok" : fugue_strerror(rc),
		                        NULL, NULL);
	}
	if (rc == 0)
		return;
	if (asprintf(&msg, "%s (and %s, made by the failed create, could not be removed: %s)",
	             n->message ? n->message : "create failed", fugue_json_state_id(partial),
	             fugue_strerror(rc)) >= 0) {
		free(n->message);
		n->message = msg;
	}
}

/* The client token of a create that succeeded, and whose id is recorded,
 * has done its job: the next create of this resource (a replacement, a
 * re-creation) must be a new request, while a create that failed keeps its
 * token for the next attempt, in this job or a later one. */
static void token_spent(node *n)
{
	job *j = n->job;
	fugue_state_diag diag;

	if (fugue_state_resource_token_reset(j->o->state, j->o->fid, n->name, &diag) != 0)
		log_node(FUGUE_LOG_ERROR, n, "state store: cannot reset the client token: %s",
		         diag.message);
}

/* A create's answer must name a resource, and for a replacement not the
 * one it replaces (a client token used for the old one would do that). */
static int check_created(node *n, const struct json_object *out)
{
	job *j = n->job;
	const char *id = fugue_json_state_id(out);
	const node *old = n->replace ? &j->nodes[j->delete_of[n->action]] : NULL;
	const char *old_id = old ? fugue_json_state_id(old->old_state) : NULL;

	if (!id) {
		node_fail(n, FUGUE_EPROTO, "planner returned no state with an id");
		return FUGUE_EPROTO;
	}
	if (old_id && strcmp(id, old_id) == 0) {
		token_spent(n);
		node_fail(n, FUGUE_EPROTO, "the create of the replacement answered with %s, the "
		          "resource it replaces (a reused client token)", id);
		return FUGUE_EPROTO;
	}
	return 0;
}

static int run_create(node *n)
{
	job *j = n->job;
	struct json_object *props = NULL;
	call_args a = { .op = OP_CREATE };
	fugue_live_entry *e;
	int rc;

	if (!n->decl) {
		node_fail(n, FUGUE_EINVAL, "%s is not declared", n->name);
		return FUGUE_EINVAL;
	}
	rc = resolve_props(n, &props);
	if (rc != 0)
		return rc;
	pthread_mutex_lock(&j->mutex);
	e = fugue_live_find(j->o->live, n->name);
	n->recreate = e && (e->gone || e->status == FUGUE_RESOURCE_DELETED);
	pthread_mutex_unlock(&j->mutex);
	a.props = props;
	rc = call_with_retries(n, &a);
	if (rc == 0) {
		rc = check_created(n, a.out);
		if (rc != 0) {
			json_object_put(a.out); /* nothing to keep from a wrong answer */
			a.out = NULL;
		}
	}
	if (rc == 0) {
		rc = record_state(n, FUGUE_RESOURCE_READY, a.out, props, 0);
		if (rc != 0)
			node_fail(n, rc, "state store: cannot record %s", fugue_json_state_id(a.out));
		else
			token_spent(n);
		if (live_set(n, FUGUE_RESOURCE_READY, a.out, 0, props, 0) != 0 && rc == 0) {
			node_fail(n, FUGUE_ENOMEM, "out of memory");
			rc = FUGUE_ENOMEM;
		}
		if (rc == 0)
			emit(j, n, FUGUE_SCHED_DONE, fugue_json_state_id(a.out), NULL);
	} else if (fugue_json_state_id(a.out) && !n->cbd) {
		/* Made, then failed: keep its id so that nothing is orphaned. */
		record_state(n, FUGUE_RESOURCE_FAILED, a.out, NULL, 1);
		live_set(n, FUGUE_RESOURCE_FAILED, a.out, 0, NULL, 1);
	} else {
		if (fugue_json_state_id(a.out))
			discard_partial(n, a.out);
		record_failed(n, 0);
	}
	json_object_put(a.out);
	json_object_put(props);
	return rc;
}

/* The names of the properties an update changes, as a JSON array. */
static struct json_object *changed_names(const fugue_action *a)
{
	struct json_object *arr = json_object_new_array();
	size_t i;

	for (i = 0; arr && i < a->nchanges; i++) {
		struct json_object *name = json_object_new_string(a->changes[i].property);

		if (json_object_array_add(arr, name) != 0) {
			json_object_put(arr);
			return NULL;
		}
	}
	return arr;
}

static int run_update(node *n)
{
	job *j = n->job;
	struct json_object *props = NULL;
	struct json_object *state = NULL;
	struct json_object *changed = NULL;
	call_args a = { .op = OP_UPDATE };
	const fugue_live_entry *e;
	int rc;

	if (!n->decl) {
		node_fail(n, FUGUE_EINVAL, "%s is not declared", n->name);
		return FUGUE_EINVAL;
	}
	if (!n->type->update) {
		node_fail(n, FUGUE_EINVAL, "type %s cannot be updated in place", n->type_name);
		return FUGUE_EINVAL;
	}
	rc = resolve_props(n, &props);
	if (rc != 0)
		return rc;
	pthread_mutex_lock(&j->mutex);
	e = fugue_live_find(j->o->live, n->name);
	if (e && e->state && !e->gone)
		state = deep_copy(e->state);
	pthread_mutex_unlock(&j->mutex);
	changed = changed_names(&j->o->plan->actions[n->action]);
	if (!state || !changed) {
		if (!changed)
			node_fail(n, FUGUE_ENOMEM, "out of memory");
		else
			node_fail(n, FUGUE_ENOTFOUND, "%s has no known state to update", n->name);
		rc = n->result;
		goto out;
	}
	a.props = props;
	a.state = state;
	a.changed = changed;
	rc = call_with_retries(n, &a);
	if (rc == 0) {
		/* A planner that answers nothing left the resource as it was. */
		const struct json_object *now = fugue_json_state_id(a.out) ? a.out : state;

		rc = record_state(n, FUGUE_RESOURCE_READY, now, props, 0);
		if (rc != 0)
			node_fail(n, rc, "state store: cannot record the update");
		if (live_set(n, FUGUE_RESOURCE_READY, now, 0, props, 0) != 0 && rc == 0) {
			node_fail(n, FUGUE_ENOMEM, "out of memory");
			rc = FUGUE_ENOMEM;
		}
		if (rc == 0)
			emit(j, n, FUGUE_SCHED_DONE, fugue_json_state_id(now), NULL);
	} else {
		record_failed(n, 0);
	}
out:
	json_object_put(a.out);
	json_object_put(changed);
	json_object_put(state);
	json_object_put(props);
	return rc;
}

/* After a successful delete: a resource deleted for good loses its record
 * (and with it its client token); the old half of a delete-then-create
 * replace is recorded as deleted, token reset, so the new one is a new
 * request; the old half of a create-before-delete leaves the record to the
 * new one. */
static int deleted(node *n)
{
	job *j = n->job;
	fugue_state_diag diag;
	fugue_state_resource r;
	int rc;

	if (n->cbd)
		return 0;
	if (!n->replace) {
		rc = fugue_state_resource_delete(j->o->state, j->o->fid, n->name, &diag);
		if (rc == FUGUE_ENOTFOUND)
			rc = 0;
		if (rc != 0)
			node_fail(n, rc, "state store: cannot forget the resource: %s",
			          diag.message);
		live_forget(n);
		return rc;
	}
	rc = record_get(n, &r);
	if (rc == 0) {
		r.status = FUGUE_RESOURCE_DELETED;
		set_text(&r.aws_id, NULL);
		set_text(&r.observed, NULL);
		set_text(&r.attributes, NULL);
		record_error_clear(&r);
		rc = record_put(n, &r);
	}
	if (rc == 0) {
		rc = fugue_state_resource_token_reset(j->o->state, j->o->fid, n->name, &diag);
		if (rc == FUGUE_ENOTFOUND)
			rc = 0;
	}
	if (rc != 0)
		node_fail(n, rc, "state store: cannot record the deletion");
	if (live_set(n, FUGUE_RESOURCE_DELETED, NULL, 0, NULL, 0) != 0 && rc == 0) {
		node_fail(n, FUGUE_ENOMEM, "out of memory");
		rc = FUGUE_ENOMEM;
	}
	return rc;
}

static int run_delete(node *n)
{
	job *j = n->job;
	call_args a = { .op = OP_DELETE, .state = n->old_state };
	const char *id = fugue_json_state_id(n->old_state);
	char *msg = NULL;
	int rc = 0;

	/* Nothing of it is known to exist: only the record goes. */
	if (n->old_state)
		rc = call_with_retries(n, &a);
	if (rc == 0) {
		rc = deleted(n);
		if (rc == 0)
			emit(j, n, FUGUE_SCHED_DONE, id, NULL);
		return rc;
	}
	if (!n->cbd) {
		record_failed(n, 0);
		return rc;
	}
	/* The new one is recorded; say which old one is left. */
	if (asprintf(&msg, "cannot delete the replaced %s: %s", id ? id : "resource",
	             n->message ? n->message : fugue_strerror(rc)) >= 0) {
		free(n->message);
		n->message = msg;
	}
	record_failed(n, 1);
	return rc;
}

/* ==== dispatching ================================================================= */

static void skip_node(job *j, node *n, int rc, const char *why);

/* Settles N (under the job's mutex): done releases its waiters, failed or
 * skipped skips them, transitively. */
static void settle(job *j, node *n, node_state st)
{
	size_t i;
	char why[512];

	n->st = st;
	j->finished++;
	if (st == NODE_DONE) {
		for (i = 0; i < n->waiters.n; i++)
			j->nodes[n->waiters.v[i]].pending--;
		return;
	}
	if (n->cancelled)
		snprintf(why, sizeof(why), "cancelled");
	else if (st == NODE_SKIPPED)
		snprintf(why, sizeof(why), "%s", n->message ? n->message : "dependency failed");
	else
		snprintf(why, sizeof(why), "dependency %s (%s) failed", n->name, op_name(n->op));
	for (i = 0; i < n->waiters.n; i++) {
		node *w = &j->nodes[n->waiters.v[i]];

		if (w->st == NODE_WAITING)
			skip_node(j, w, n->cancelled ? FUGUE_ECANCELED : FUGUE_ERETRY, why);
	}
}

static void skip_node(job *j, node *n, int rc, const char *why)
{
	n->result = rc;
	n->cancelled = rc == FUGUE_ECANCELED;
	set_text(&n->message, why);
	emit(j, n, FUGUE_SCHED_SKIPPED, NULL, why);
	settle(j, n, NODE_SKIPPED);
}

static void run_node(void *arg)
{
	node *n = arg;
	job *j = n->job;
	int started = !cancel_set(j);
	int rc = FUGUE_ECANCELED;

	if (started) {
		emit(j, n, FUGUE_SCHED_START, NULL, NULL);
		if (!n->type) {
			node_fail(n, FUGUE_ECONFIG, "no loaded planner has type %s", n->type_name);
			rc = FUGUE_ECONFIG;
		} else if (n->op == OP_CREATE) {
			rc = run_create(n);
		} else if (n->op == OP_UPDATE) {
			rc = run_update(n);
		} else {
			rc = run_delete(n);
		}
		if (rc != 0) {
			const char *why = n->message ? n->message : fugue_strerror(rc);

			log_node(FUGUE_LOG_WARN, n, "%s %s failed: %s", op_name(n->op), n->name,
			         why);
			emit(j, n, FUGUE_SCHED_FAILED, NULL, why);
		}
	}
	fugue_slots_release(j->o->slots, n->slot_key);
	pthread_mutex_lock(&j->mutex);
	if (!started) {
		/* Cancelled between dispatch and start: as if never dispatched. */
		skip_node(j, n, FUGUE_ECANCELED, "cancelled");
	} else if (rc == 0) {
		settle(j, n, NODE_DONE);
	} else {
		if (j->first_rc == 0)
			j->first_rc = rc;
		if (rc == FUGUE_ECANCELED)
			n->cancelled = 1;
		settle(j, n, NODE_FAILED);
	}
	if (n->cancelled)
		j->cancel_seen = 1;
	j->running--;
	pthread_cond_signal(&j->cond);
	pthread_mutex_unlock(&j->mutex);
}

/* Under the job's mutex: starts every node that may start. *BLOCKED is set
 * when one had to wait for its planner's slot. */
static void dispatch(job *j, int *blocked)
{
	size_t i;
	int rc;

	for (i = 0; i < j->n; i++) {
		node *n = &j->nodes[i];

		if (n->st != NODE_WAITING || n->pending > 0)
			continue;
		if (!fugue_slots_try_acquire(j->o->slots, n->slot_key)) {
			*blocked = 1;
			continue;
		}
		n->st = NODE_RUNNING;
		j->running++;
		rc = fugue_pool_submit(j->o->pool, run_node, n);
		if (rc != 0) {
			fugue_slots_release(j->o->slots, n->slot_key);
			j->running--;
			node_fail(n, rc, "worker pool: %s", fugue_strerror(rc));
			emit(j, n, FUGUE_SCHED_FAILED, NULL, n->message);
			if (j->first_rc == 0)
				j->first_rc = rc;
			settle(j, n, NODE_FAILED);
		}
	}
}

/* Cancelled: every node not started yet is skipped. */
static void skip_waiting(job *j)
{
	size_t i;

	for (i = 0; i < j->n; i++) {
		if (j->nodes[i].st == NODE_WAITING)
			skip_node(j, &j->nodes[i], FUGUE_ECANCELED, "cancelled");
	}
}

static void run_graph(job *j)
{
	struct timespec deadline;
	int blocked;

	pthread_mutex_lock(&j->mutex);
	for (;;) {
		blocked = 0;
		if (cancel_set(j)) {
			if (j->finished < j->n)
				j->cancel_seen = 1;
			skip_waiting(j);
		} else {
			dispatch(j, &blocked);
		}
		if (j->finished == j->n && j->running == 0)
			break;
		deadline = fugue_clock_deadline(blocked ? SLOT_POLL_MS : IDLE_POLL_MS);
		pthread_cond_timedwait(&j->cond, &j->mutex, &deadline);
	}
	pthread_mutex_unlock(&j->mutex);
}

/* ==== the result ================================================================== */

static int outcome_of(fugue_exec_outcome *o, const job *j, size_t action)
{
	const node *pick = NULL;
	size_t ids[2] = { j->create_of[action], j->delete_of[action] };
	size_t k;
	int rc = 0;

	for (k = 0; k < 2; k++) {
		const node *n = ids[k] == NO_NODE ? NULL : &j->nodes[ids[k]];

		if (!n || n->st == NODE_DONE)
			continue;
		if (!pick || (n->st == NODE_FAILED && pick->st != NODE_FAILED))
			pick = n;
	}
	if (!pick)
		return 0;
	o->result = pick->result;
	rc = set_text(&o->message, pick->message);
	if (rc == 0 && pick->st == NODE_FAILED)
		rc = set_text(&o->error_code, pick->error_code);
	if (rc == 0 && pick->st == NODE_FAILED)
		rc = set_text(&o->request_id, pick->request_id);
	return rc;
}

static int fill_result(fugue_exec_result *res, const job *j)
{
	const fugue_plan *plan = j->o->plan;
	size_t i, k;
	int rc;

	res->n = plan->nactions;
	res->outcomes = calloc(plan->nactions ? plan->nactions : 1, sizeof(*res->outcomes));
	if (!res->outcomes)
		return FUGUE_ENOMEM;
	for (i = 0; i < plan->nactions; i++) {
		fugue_exec_outcome *o = &res->outcomes[i];
		int failed = 0, skipped = 0;
		size_t ids[2] = { j->create_of[i], j->delete_of[i] };

		o->resource = plan->actions[i].resource;
		o->kind = plan->actions[i].kind;
		if (o->kind == FUGUE_ACTION_NONE)
			continue;
		for (k = 0; k < 2; k++) {
			if (ids[k] == NO_NODE)
				continue;
			failed |= j->nodes[ids[k]].st == NODE_FAILED;
			skipped |= j->nodes[ids[k]].st == NODE_SKIPPED;
		}
		if (failed)
			res->failed++;
		else if (skipped)
			res->skipped++;
		else
			res->done++;
		rc = outcome_of(o, j, i);
		if (rc != 0)
			return rc;
	}
	res->cancelled = j->cancel_seen;
	res->max_parallel = j->max_calls;
	return 0;
}

void fugue_exec_result_clear(fugue_exec_result *res)
{
	size_t i;

	if (!res)
		return;
	for (i = 0; res->outcomes && i < res->n; i++) {
		free(res->outcomes[i].message);
		free(res->outcomes[i].error_code);
		free(res->outcomes[i].request_id);
	}
	free(res->outcomes);
	memset(res, 0, sizeof(*res));
}

/* ==== fugue_execute ================================================================ */

static int job_init(job *j, const fugue_exec_options *o)
{
	const fugue_plan *plan = o->plan;
	size_t na = plan->nactions ? plan->nactions : 1;
	pthread_condattr_t attr;
	size_t i;
	int rc;

	memset(j, 0, sizeof(*j));
	j->o = o;
	j->max_attempts = o->max_attempts > 0 ? o->max_attempts : DEFAULT_ATTEMPTS;
	j->retry_base_ms = o->retry_base_ms > 0 ? o->retry_base_ms : DEFAULT_RETRY_BASE_MS;
	pthread_mutex_init(&j->mutex, NULL);
	pthread_mutex_init(&j->event_mutex, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&j->cond, &attr);
	pthread_condattr_destroy(&attr);
	j->create_of = malloc(na * sizeof(*j->create_of));
	j->delete_of = malloc(na * sizeof(*j->delete_of));
	j->prev = calloc(na, sizeof(*j->prev));
	j->ix = malloc(na * sizeof(*j->ix));
	if (!j->create_of || !j->delete_of || !j->prev || !j->ix)
		return FUGUE_ENOMEM;
	for (i = 0; i < plan->nactions; i++) {
		j->create_of[i] = NO_NODE;
		j->delete_of[i] = NO_NODE;
		j->prev[i] = find_decl(o->previous, plan->actions[i].resource);
		j->ix[i].name = plan->actions[i].resource;
		j->ix[i].action = i;
	}
	qsort(j->ix, plan->nactions, sizeof(*j->ix), ix_cmp);
	rc = make_nodes(j);
	if (rc == 0)
		rc = link_creates(j);
	if (rc == 0)
		rc = link_deletes(j);
	if (rc == 0)
		rc = link_replaces(j);
	if (rc == 0)
		rc = link_updates(j);
	if (rc == 0)
		rc = finish_graph(j);
	return rc;
}

static void job_clear(job *j)
{
	size_t i;

	for (i = 0; j->nodes && i < j->n; i++) {
		node *n = &j->nodes[i];

		free(n->slot_key);
		json_object_put(n->old_state);
		free(n->waits.v);
		free(n->waiters.v);
		free(n->message);
		free(n->error_code);
		free(n->request_id);
	}
	free(j->nodes);
	free(j->create_of);
	free(j->delete_of);
	free(j->prev);
	free(j->ix);
	free(j->stack);
	free(j->seen);
	pthread_cond_destroy(&j->cond);
	pthread_mutex_destroy(&j->event_mutex);
	pthread_mutex_destroy(&j->mutex);
}

static int check_options(const fugue_exec_options *o)
{
	size_t i;

	if (!o || o->version != FUGUE_EXEC_OPTIONS_VERSION || !o->fid || !*o->fid || !o->plan ||
	    !o->live || !o->state || !o->pool)
		return FUGUE_EINVAL;
	for (i = 0; i < o->plan->nactions; i++) {
		if (!o->plan->actions[i].resource || !o->plan->actions[i].type)
			return FUGUE_EINVAL;
	}
	return 0;
}

int fugue_execute(fugue_exec_result *res, const fugue_exec_options *opts)
{
	job j;
	int rc;

	if (!res)
		return FUGUE_EINVAL;
	memset(res, 0, sizeof(*res));
	rc = check_options(opts);
	if (rc != 0)
		return rc;
	rc = job_init(&j, opts);
	if (rc == 0) {
		run_graph(&j);
		rc = fill_result(res, &j);
	}
	if (rc == 0)
		rc = j.cancel_seen ? FUGUE_ECANCELED : j.first_rc;
	job_clear(&j);
	return rc;
}
