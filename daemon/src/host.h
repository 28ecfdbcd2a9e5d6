/* host.h - the kernel's side of the planner ABI: the fugue_host table and
 * the per-call object behind ctx->host_private.
 *
 * Every planner callback runs with a fugue_ctx whose host_private points to
 * a fugue_call. The call records what the planner says through the host:
 * fail() (the last one wins), report() (all of them, for validate()),
 * duplicate() (all of them, for observe()), progress() and log() lines,
 * and answers sleep(), cancelled(), declared() and details_due(). A job sets up one call per callback; many calls of one job
 * may share one fugue_cancel, so cancelling the job wakes all their
 * sleeps at once.
 *
 *     fugue_call call;
 *     fugue_ctx ctx;
 *
 *     fugue_call_init(&call);
 *     call.resource = "web"; call.type = "AWS.EC2.Instance"; call.cancel = &job->cancel;
 *     fugue_call_ctx(&ctx, &call);
 *     ctx.aws = client; ctx.region = "us-east-1"; ...
 *     rc = ops->create(&ctx, props, &state);
 *     if (rc != 0) ... call.message, call.aws ...
 *     fugue_call_clear(&call);
 *
 * Thread-safe: the host functions may be called from several threads for
 * the same call; the recorded members are guarded by the call's mutex
 * (read them after the callback returned, or under fugue_call_lock). */
#ifndef FUGUE_HOST_H
#define FUGUE_HOST_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

#include "fugue/planner.h"

/* The kernel's host table (static; never freed). */
const fugue_host *fugue_kernel_host(void);

/* --- cancellation --------------------------------------------------------- */

/* A job's cancel flag, shared by all the calls of the job. */
typedef struct fugue_cancel {
	atomic_int cancelled;
	pthread_mutex_t mutex;
	pthread_cond_t cond;
} fugue_cancel;

void fugue_cancel_init(fugue_cancel *c);
/* Sets the flag and wakes every sleep() waiting on C. Idempotent. */
void fugue_cancel_set(fugue_cancel *c);
int fugue_cancel_is_set(fugue_cancel *c);
/* No call may still be using C. */
void fugue_cancel_destroy(fugue_cancel *c);

/* --- the per-call object -------------------------------------------------- */

/* A progress line: RESOURCE (may be NULL) and MESSAGE are borrowed for the call. */
typedef void (*fugue_progress_fn)(const char *resource, const char *message, void *payload);

/* declared(): the declared properties of RESOURCE, borrowed, or NULL. */
typedef const struct json_object *(*fugue_declared_fn)(const char *resource, void *payload);

/* One report() of validate(). */
typedef struct fugue_report {
	char *path;    /* owned; NULL: the resource as a whole */
	char *message; /* owned */
} fugue_report;

/* One duplicate() of observe(). */
typedef struct fugue_duplicate {
	size_t item;              /* the batch index of the resource it duplicates */
	struct json_object *state; /* owned */
} fugue_duplicate;

typedef struct fugue_call {
	/* Set by the caller before the callback; all borrowed and may be NULL. */
	const char *fid;
	const char *resource;
	const char *type;
	fugue_cancel *cancel;           /* NULL: never cancelled */
	fugue_progress_fn progress;
	void *progress_payload;
	fugue_declared_fn declared;
	void *declared_payload;
	/* observe(): the batch, and per item whether its details are due
	 * (details_due()); DETAILS NULL: all due. */
	const fugue_observation *items;
	size_t nitems;
	const unsigned char *details;

	/* Recorded; owned by the call, freed by fugue_call_clear(). */
	pthread_mutex_t mutex;
	int failed;                     /* fail() was called */
	int code;                       /* the last fail()'s code */
	char *message;                  /* the last fail()'s message, or NULL */
	int has_aws;                    /* the last fail() carried an AWS error */
	fugue_aws_error aws;            /* a copy of it */
	fugue_report *reports;
	size_t nreports;
	size_t reports_cap;
	fugue_duplicate *duplicates;    /* observe(): what duplicate() said */
	size_t nduplicates;
	size_t duplicates_cap;
} fugue_call;

/* A call with nothing set or recorded. */
void fugue_call_init(fugue_call *call);
/* Frees what the call recorded; CALL may be initialized again afterwards. */
void fugue_call_clear(fugue_call *call);

/* Fills CTX for a callback run under CALL: struct_size, host (the kernel's),
 * host_private, fid, resource and type from CALL; everything else zero for
 * the caller to set (planner_data, aws, region, tags, client_token). CALL
 * must outlive every use of CTX. */
void fugue_call_ctx(fugue_ctx *ctx, fugue_call *call);

/* The call's recorded members may be read while the planner is still
 * running (another thread) only between lock and unlock. */
void fugue_call_lock(fugue_call *call);
void fugue_call_unlock(fugue_call *call);

#endif
