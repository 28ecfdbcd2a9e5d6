/* scheduler.h - runs a plan: the planners' create / update / remove calls
 * as a dependency DAG on the shared worker pool.
 *
 * Each action becomes one or two nodes:
 *   create, update      one node, after the create/update nodes of every
 *                       resource it references
 *   delete              one node, after the delete nodes of every resource
 *                       that referenced it (reverse dependency order)
 *   replace             a create node and a delete node (of the old one):
 *                       create-before-delete: delete-old after create-new
 *                       and after every resource referencing it is updated
 *                       or replaced; delete-then-create: create-new after
 *                       delete-old, and delete-old after the delete nodes
 *                       of resources referencing it
 * A node starts as soon as every node it waits for is done, its planner has
 * a free slot (fugue_slots) and the pool a thread; references are resolved
 * from LIVE just before the call (fugue_resolve_refs).
 *
 * Every node, in order: journal begin (state store, durable) -> resource
 * record status creating/updating/deleting -> the planner call (with
 * ctx->tags = composition tags + fugue:fid + fugue:resource for taggable
 * types, ctx->client_token from fugue_state_resource_token, reset before
 * the create of a replacement) -> journal end -> resource record (ready with
 * aws id, state, applied properties digest-redacted, attributes; or failed
 * with the error code, message and request id; or deleted: record removed,
 * token reset) -> LIVE updated.
 *
 * A planner result of FUGUE_ERETRY is retried in the job with exponential
 * backoff (retry_base_ms, doubled, at most max_attempts calls), sleeping
 * through the cancel flag. Any other failure, or running out of attempts,
 * fails the node: every node waiting on it, directly or not, is skipped
 * ("dependency web failed"); unrelated nodes go on. The next job (an
 * enforcement pass) plans them again.
 *
 * Cancelling (fugue_cancel_set on opts->cancel: kill, suspend, shutdown):
 * no new node starts; running calls see ctx->host->cancelled() and their
 * sleeps return FUGUE_ECANCELED; fugue_execute returns when every running
 * call has returned. A call that returns after the cancel is recorded as
 * normal (its result is known); the Conductor records "unknown" in the
 * journal only for calls it cannot wait for (SIGKILL leaves them open, and
 * recovery resolves them).
 *
 * Threads: fugue_execute blocks its caller (a job thread) until done; nodes
 * run on the pool's threads. Events are delivered from those threads,
 * serialized per job (never two at once for one job). */
#ifndef FUGUE_SCHEDULER_H
#define FUGUE_SCHEDULER_H

#include <stddef.h>

#include "compiler.h"
#include "fugue/aws.h"
#include "host.h"
#include "live.h"
#include "plan.h"
#include "pool.h"
#include "registry.h"
#include "state.h"

struct json_object;

typedef enum fugue_sched_phase {
	FUGUE_SCHED_START,     /* a planner call begins */
	FUGUE_SCHED_PROGRESS,  /* the planner's progress() line */
	FUGUE_SCHED_DONE,      /* succeeded */
	FUGUE_SCHED_RETRY,     /* FUGUE_ERETRY: will try again after a backoff */
	FUGUE_SCHED_FAILED,    /* failed for good (this job) */
	FUGUE_SCHED_SKIPPED,   /* not run: a dependency failed, or cancelled */
} fugue_sched_phase;

/* "start", "progress", "done", "retry", "failed", "skipped"; static. */
const char *fugue_sched_phase_name(fugue_sched_phase p);

/* Everything borrowed for the duration of the callback. */
typedef struct fugue_sched_event {
	fugue_sched_phase phase;
	const char *resource;
	const char *type;
	const char *action;        /* "create", "update", "delete" (a replace shows as
	                              its create and its delete) */
	const char *aws_id;        /* DONE of create/update: the id; else may be NULL */
	const char *message;       /* progress line, error message, skip reason; may be NULL */
	const char *error_code;    /* FAILED/RETRY: AWS error code, or fugue_strerror()'s */
	const char *request_id;    /* FAILED/RETRY: AWS request id, or NULL */
} fugue_sched_event;

typedef void (*fugue_sched_event_fn)(const fugue_sched_event *ev, void *payload);

#define FUGUE_EXEC_OPTIONS_VERSION 1

typedef struct fugue_exec_options {
	unsigned int version;                 /* FUGUE_EXEC_OPTIONS_VERSION */
	const char *fid;                      /* required */
	const fugue_plan *plan;               /* required */
	const fugue_composition *declared;    /* the declaration the plan was made from;
	                                         NULL for kill */
	const fugue_composition *previous;    /* for the types of resources no longer declared;
	                                         may be NULL */
	const fugue_registry *registry;       /* types by name, for deletes */
	fugue_live *live;                     /* required; updated as nodes finish */
	fugue_state *state;                   /* required; journal and resource records */
	fugue_aws_client *aws;                /* ctx->aws; may be NULL (test planners) */
	fugue_pool *pool;                     /* required */
	fugue_slots *slots;                   /* per-planner limits; may be NULL */
	fugue_cancel *cancel;                 /* may be NULL: never cancelled */
	int max_attempts;                     /* per node, for FUGUE_ERETRY; 0: 4 */
	long retry_base_ms;                   /* first backoff; 0: 1000 */
	fugue_sched_event_fn on_event;        /* may be NULL */
	void *event_payload;
} fugue_exec_options;

#define FUGUE_EXEC_OPTIONS_INIT { .version = FUGUE_EXEC_OPTIONS_VERSION }

/* What happened to each action of the plan. */
typedef struct fugue_exec_outcome {
	const char *resource;      /* borrowed from the plan */
	fugue_action_kind kind;
	int result;                /* 0 done (or nothing to do), FUGUE_E* failed, FUGUE_ECANCELED
	                              not run because cancelled, FUGUE_ERETRY skipped because a
	                              dependency failed */
	char *message;             /* owned; NULL when done */
	char *error_code;          /* owned; AWS code or NULL */
	char *request_id;          /* owned; or NULL */
} fugue_exec_outcome;

typedef struct fugue_exec_result {
	fugue_exec_outcome *outcomes;  /* owned; one per plan action, same order */
	size_t n;
	size_t done, failed, skipped;  /* counts over actions of kind != none */
	int cancelled;                 /* the cancel flag was set before the end */
	/* Most parallel planner calls at one moment (for tests and benchmarks). */
	size_t max_parallel;
} fugue_exec_result;

/* Runs OPTS->plan. Returns 0 when every action was done, FUGUE_EAWS-like
 * code of the first failure otherwise (FUGUE_ECANCELED when cancelled);
 * RES is filled either way (fugue_exec_result_clear it). FUGUE_EINVAL for
 * options missing something required, FUGUE_ENOMEM. */
int fugue_execute(fugue_exec_result *res, const fugue_exec_options *opts);

void fugue_exec_result_clear(fugue_exec_result *res);

/* The ctx->tags of a resource: TAGS (the composition's, may be NULL) plus
 * fugue:fid and fugue:resource. The caller owns the result; NULL on
 * allocation failure. Shared with enforcement and recovery. */
struct json_object *fugue_resource_tags(const struct json_object *tags, const char *fid,
                                        const char *resource);

#endif
