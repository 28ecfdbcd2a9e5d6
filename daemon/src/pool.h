/* pool.h - the Conductor's worker threads, shared by every job, and the
 * per-planner limits on how many calls run at once.
 *
 * The pool runs submitted tasks on N threads, first in, first out. Jobs of
 * several processes share it, so N bounds the Conductor's total parallelism
 * (runtime setting `concurrency`); fugue_slots bound it per planner
 * (`concurrency.<planner>`), so one service's rate limits do not starve the
 * others of threads. */
#ifndef FUGUE_POOL_H
#define FUGUE_POOL_H

#include <stddef.h>

typedef struct fugue_pool fugue_pool;

typedef void (*fugue_task_fn)(void *arg);

/* Starts NTHREADS (>= 1) workers. Returns 0, FUGUE_EINVAL, FUGUE_ENOMEM. */
int fugue_pool_new(fugue_pool **out, size_t nthreads);

/* Queues FN(ARG). Never blocks, never fails for lack of threads: the task
 * waits in the queue. Returns 0, FUGUE_ENOMEM, or FUGUE_ECANCELED once the
 * pool is shutting down (FN is then not run). */
int fugue_pool_submit(fugue_pool *pool, fugue_task_fn fn, void *arg);

/* Changes the number of workers while running (extra ones exit after their
 * current task). Returns 0, FUGUE_EINVAL, FUGUE_ENOMEM. */
int fugue_pool_resize(fugue_pool *pool, size_t nthreads);

size_t fugue_pool_size(const fugue_pool *pool);

/* Runs the tasks already queued, then stops the workers and frees. Tasks
 * submitted meanwhile are refused. */
void fugue_pool_free(fugue_pool *pool);

/* --- per-planner limits -------------------------------------------------------- */

typedef struct fugue_slots fugue_slots;

/* DEFAULT_LIMIT applies to every key without its own limit (0: unlimited). */
int fugue_slots_new(fugue_slots **out, size_t default_limit);
/* The limit for KEY (a planner name); 0: unlimited. */
int fugue_slots_set_limit(fugue_slots *s, const char *key, size_t limit);
void fugue_slots_set_default(fugue_slots *s, size_t limit);
/* Takes a slot for KEY if one is free: 1 taken, 0 none free (try again
 * after a release). Never blocks. */
int fugue_slots_try_acquire(fugue_slots *s, const char *key);
void fugue_slots_release(fugue_slots *s, const char *key);
/* A job that found no free slot waits for one of its own actions to finish
 * or a short timeout (slots freed by other jobs), then tries again. */
void fugue_slots_free(fugue_slots *s);

#endif
