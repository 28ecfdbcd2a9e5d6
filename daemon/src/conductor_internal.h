/* conductor_internal.h - what the parts of the Conductor share: the
 * conductor object, its in-memory process table, jobs, and the internal
 * functions of conductor.c (lifecycle, processes, jobs, settings),
 * commands.c (one function per protocol command), jobs.c (job bodies),
 * enforce.c (the enforcement loop and observation) and recovery.c
 * (resolving a crash's journal).
 *
 * Locking: one mutex, c->mu, guards the process table, every job queue,
 * the cached settings and the lifecycle flags. It is never held across a
 * planner call; the state store has its own lock, taken inside c->mu only
 * for short writes that must not interleave with another thread's (a
 * process's state).
 *
 * Not a public header: only daemon/src/conductor*.c, commands.c, jobs.c,
 * enforce.c and recovery.c include it. */
#ifndef FUGUE_CONDUCTOR_INTERNAL_H
#define FUGUE_CONDUCTOR_INTERNAL_H

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

#include "clock.h"
#include "compiler.h"
#include "conductor.h"
#include "envelope.h"
#include "fugue/aws.h"
#include "host.h"
#include "json_util.h"
#include "live.h"
#include "plan.h"
#include "pool.h"
#include "registry.h"
#include "scheduler.h"
#include "state.h"

struct json_object;

/* Defaults of fugue_conductor_config's zero members. */
#define FUGUE_CORE_DEFAULT_INTERVAL_MS 30000L
#define FUGUE_CORE_DEFAULT_CONCURRENCY 16
#define FUGUE_CORE_DEFAULT_RETRY_BASE_MS 1000L
/* Routine enforcement passes read the per-resource details of at most this
 * many resources per type and region (fugue_core_observe). */
#define FUGUE_CORE_DETAILS_PER_PASS 10
/* Threads one observation runs its observe() calls on, side by side (one
 * per type and region; the AWS client's rate limits still apply). */
#define FUGUE_CORE_OBSERVE_THREADS 4
#define FUGUE_CORE_MAX_CONCURRENCY 1024
/* A Failed process is retried after retry_base_ms, doubling, at most this
 * many enforcement intervals apart. */
#define FUGUE_CORE_BACKOFF_CAP_INTERVALS 8
/* `history` without a limit returns this many entries. */
#define FUGUE_CORE_HISTORY_DEFAULT_LIMIT 100

typedef enum fugue_job_kind {
	FUGUE_JOB_RUN,
	FUGUE_JOB_UPDATE,
	FUGUE_JOB_CONVERGE, /* observe, plan, execute: resume, restart, enforcement, retry */
	FUGUE_JOB_KILL,
	FUGUE_JOB_RELEASE
} fugue_job_kind;

/* Why a job was cancelled; it says so when it ends. */
typedef enum fugue_cancel_reason {
	FUGUE_CANCEL_NONE,
	FUGUE_CANCEL_SUSPEND,
	FUGUE_CANCEL_KILL,
	FUGUE_CANCEL_RELEASE,
	FUGUE_CANCEL_PREEMPT, /* an update or resume took the process from an enforcement pass */
	FUGUE_CANCEL_SHUTDOWN
} fugue_cancel_reason;

struct fugue_proc;

/* One job of one process. Created by a command or the enforcement loop,
 * queued on its process, run by its own thread once it is the head of the
 * queue, then joined and freed by the conductor. */
typedef struct fugue_job {
	struct fugue_job *next;      /* in the process's queue (c->mu) */
	struct fugue_job *next_done; /* in c->done, waiting to be joined (c->mu) */
	fugue_conductor *c;
	struct fugue_proc *proc; /* a reference (fugue_core_proc_unref) */
	fugue_job_kind kind;
	const char *trigger; /* static: "run", "update", "resume", "start",
	                                    "enforce", "retry", "kill", "release" */
	int dry_run;         /* CONVERGE: plan and answer, change nothing */
	unsigned char *due;  /* CONVERGE: planners to observe (owned; NULL: all) */
	char *previous;      /* UPDATE: the compiled form it replaces (owned) */
	uid_t uid;           /* who asked (FUGUE_STATE_NO_UID: the Conductor) */
	fugue_reply *reply;  /* a reference, or NULL: nobody waits */
	fugue_cancel cancel;
	fugue_cancel_reason why; /* c->mu */
	pthread_t thread;
	int has_thread;
} fugue_job;

/* What the Conductor keeps in memory about a process, beside its record. */
typedef struct fugue_proc {
	struct fugue_proc *next; /* c->procs, in creation order */
	char fid[FUGUE_FID_SIZE];
	unsigned int refs;         /* the table's, plus one per job */
	int forgotten;             /* killed or released: no longer in the table */
	fugue_process_state state; /* mirror of the record's, changed under c->mu */
	fugue_job *jobs;           /* queue; the head is running */
	unsigned char *uses;       /* per planner: the process has resources of it;
	                                    NULL until a job has looked */
	int64_t *next_due_ms;      /* per planner: next enforcement pass */
	/* When the last pass ran and the drift it left are kept in the store
	 * (fugue_state_process_set_enforced), so that they survive a restart. */
	unsigned int failures;     /* consecutive failed jobs, for the backoff */
	int64_t retry_at_ms;       /* Failed, Killing: the next attempt */
	int needs_recovery;        /* journal entries a crash left are still open */
	unsigned long *passes;     /* per planner: routine passes that observed it,
	                              the rotation of its details (c->mu) */
} fugue_proc;

struct fugue_conductor {
	/* The configuration, copied. */
	char *state_dir;
	char *planners_dir;
	char *region; /* default region of compositions; NULL: none */
	long default_interval_ms;
	int report_only;
	size_t default_concurrency;
	long retry_base_ms;

	int64_t started_ms; /* when fugue_conductor_open ran (ping) */

	fugue_state *state;
	fugue_registry *registry;
	fugue_aws_client *aws; /* NULL: no AWS (tests) or no credentials */
	fugue_pool *pool;
	fugue_slots *slots;
	size_t nplanners; /* fugue_registry_count at open */

	pthread_mutex_t mu;
	pthread_cond_t cond; /* jobs queued or ended, processes changed */
	pthread_cond_t wake; /* the enforcement loop's */
	fugue_proc *procs;
	fugue_job *done;   /* finished jobs to join */
	size_t jobs_alive; /* started and not finished */
	int started;
	int stopping; /* shutdown began: no new job */
	int stopped;
	pthread_t enforcer;
	int enforcer_running;

	/* Effective runtime settings (c->mu). */
	long interval_ms;          /* enforce.interval, else the config's */
	long *planner_interval_ms; /* enforce.interval.<planner>, else interval_ms */
	size_t concurrency;
	fugue_log_level base_log_level; /* the configured level (unset log.level restores it) */
	int log_override;               /* runtime setting log.level is in force */
};

/* --- helpers (conductor.c) ------------------------------------------------------- */

/* RFC 3339 UTC with milliseconds, "2024-05-01T12:00:00.000Z"; "" for 0. */
void fugue_core_time_str(char *buf, size_t size, int64_t ms);
/* The same as a JSON string, or JSON null for 0. Caller's. */
struct json_object *fugue_core_time_json(int64_t ms);
/* S as a JSON string, or JSON null. Caller's. */
struct json_object *fugue_core_str_json(const char *s);
/* TEXT parsed, or NULL (no text, or not JSON). Caller's. */
struct json_object *fugue_core_parse_json(const char *text);
/* One observe() call: the batch going in, the duplicates coming out. */
typedef struct fugue_batch {
	const fugue_type_ops *ops;
	void *planner_data;
	const char *region;
	const struct json_object *comp_tags; /* the composition's tags, may be NULL */
	fugue_observation *items;            /* owned; filled by the planner */
	size_t n;
	const unsigned char *details;        /* per item: details due (NULL: all) */
	fugue_duplicate *duplicates;         /* out, owned: fugue_core_batch_clear() */
	size_t nduplicates;
} fugue_batch;

/* Calls B->ops->observe() for B's items (one type and region of process
 * FID), with the Conductor's AWS client, CANCEL, and ctx->tags = the
 * composition's tags + fugue:fid; a batch failure is logged as "WHAT TYPE:
 * reason". The duplicates the planner reported are moved into B. Returns
 * observe()'s result. (enforce.c; recovery uses it too.) */
int fugue_core_observe_batch(fugue_conductor *c, const char *fid, fugue_batch *b,
                             fugue_cancel *cancel, const char *what);
/* B for N items of OPS (PLANNER_DATA, REGION, COMP_TAGS): the items
 * allocated, each with status FUGUE_EIO, for the caller to name. Returns 0
 * or FUGUE_ENOMEM. */
int fugue_core_batch_init(fugue_batch *b, const fugue_type_ops *ops, void *planner_data,
                          const char *region, const struct json_object *comp_tags, size_t n);
/* Frees B's items (not their states) and duplicates. */
void fugue_core_batch_clear(fugue_batch *b);
/* Log fields FUGUE_FID and FUGUE_RESOURCE (either may be NULL). */
void fugue_core_log(fugue_log_level level, const char *fid, const char *resource, const char *fmt,
                    ...) __attribute__((format(printf, 4, 5)));

/* The index of the planner owning TYPE_NAME, or -1. */
int fugue_core_planner_of(const fugue_conductor *c, const char *type_name);
/* The name of planner I; static to the registry. */
const char *fugue_core_planner_name(const fugue_conductor *c, size_t i);
/* The default region of compositions; NULL when none. Borrowed. */
const char *fugue_core_default_region(const fugue_conductor *c);

/* The compiled form of process record P, loaded with c's registry; NULL
 * when it has none or it does not load (logged). Caller frees. */
fugue_composition *fugue_core_load_composition(fugue_conductor *c, const char *fid,
                                               const char *compiled);

/* --- processes (conductor.c) ----------------------------------------------------- */

/* The process FID in the table, or NULL. c->mu held. Borrowed. */
fugue_proc *fugue_core_proc_find(fugue_conductor *c, const char *fid);
/* Adds FID (or returns the one there). c->mu held. NULL on allocation failure. */
fugue_proc *fugue_core_proc_add(fugue_conductor *c, const char *fid, fugue_process_state state);
/* Takes the process out of the table (killed, released). c->mu held. */
void fugue_core_proc_forget(fugue_conductor *c, fugue_proc *p);
void fugue_core_proc_unref(fugue_conductor *c, fugue_proc *p); /* c->mu held */

/* Sets the process's state in the store and in the table, under c->mu so
 * that it never interleaves with another thread's change. MESSAGE may be
 * NULL (kept). Returns 0 or the store's error. */
int fugue_core_set_state(fugue_conductor *c, fugue_proc *p, fugue_process_state state,
                         const char *message);

/* Records what the process's resources span (per planner), from its
 * composition and records, and schedules its planners' next passes one
 * interval from now. c->mu NOT held. */
void fugue_core_proc_learn(fugue_conductor *c, fugue_proc *p, const fugue_composition *comp);

/* --- jobs (conductor.c) ---------------------------------------------------------- */

/* A new job (not queued yet) holding a reference to P and to REPLY (may be
 * NULL). c->mu held. NULL on allocation failure. */
fugue_job *fugue_core_job_new(fugue_conductor *c, fugue_proc *p, fugue_job_kind kind,
                              const char *trigger, uid_t uid, fugue_reply *reply);
/* Frees a job that was never started. c->mu held. */
void fugue_core_job_discard(fugue_job *job);
/* Queues JOB on its process and starts its thread; the thread runs the job
 * once it is the head of the queue. c->mu held. On failure (FUGUE_ENOMEM,
 * FUGUE_ECANCELED while stopping) the job is discarded. */
int fugue_core_job_start(fugue_conductor *c, fugue_job *job);
/* Cancels every job of P, saying WHY. c->mu held. */
void fugue_core_cancel_jobs(fugue_conductor *c, fugue_proc *p, fugue_cancel_reason why);
/* A queued job of P an operator asked for (not a preemptible pass), or
 * NULL. c->mu held. */
fugue_job *fugue_core_busy_job(fugue_proc *p);
/* Cancels P's preemptible passes (enforcement, retries, restart). c->mu held. */
void fugue_core_preempt(fugue_conductor *c, fugue_proc *p);
/* Wakes the enforcement loop (settings changed, a job ended). */
void fugue_core_wake(fugue_conductor *c);
/* The job is about to answer: it leaves its process's queue so that a
 * command that follows the answer finds the process free. Everything the
 * job does after this must not touch the process's records. */
void fugue_core_job_leave(fugue_job *job);
/* Runs the job (jobs.c): called by its thread once it heads the queue. */
void fugue_core_job_run(fugue_job *job);
/* "run", "update", "converge", "kill", "release"; static. */
const char *fugue_core_job_kind_name(fugue_job_kind k);

/* --- runtime settings (conductor.c) ---------------------------------------------- */

/* Reads the settings from the store and applies them (intervals, pool
 * size, per-planner slots, log level). */
int fugue_core_settings_apply(fugue_conductor *c);
/* Parsers of setting values: seconds > 0 (fractions allowed) into
 * milliseconds, a whole number within [MIN, MAX]. 0 or FUGUE_EINVAL. */
int fugue_core_parse_seconds(long *out_ms, const char *value);
int fugue_core_parse_count(size_t *out, const char *value, size_t min, size_t max);
/* Checks setting KEY (and VALUE when not NULL); *PLANNER gets the planner
 * index of a per-planner key, else -1. FUGUE_EINVAL with the reason in WHY. */
int fugue_core_setting_check(const fugue_conductor *c, const char *key, const char *value,
                             int *planner, char *why, size_t size);
/* The enforcement interval of planner I (-1: the default). c->mu held. */
long fugue_core_interval(const fugue_conductor *c, int planner);
/* How long a process that failed FAILURES times in a row waits. c->mu held. */
long fugue_core_backoff_ms(const fugue_conductor *c, unsigned int failures);

/* --- commands (commands.c) ------------------------------------------------------- */

/* Dispatches REQ to its command; answers through REPLY. */
void fugue_core_dispatch(fugue_conductor *c, const fugue_request *req, fugue_reply *reply);

/* --- enforcement and observation (enforce.c) ------------------------------------- */

int fugue_core_enforcer_start(fugue_conductor *c);
void fugue_core_enforcer_stop(fugue_conductor *c);

/* Observes the resources of process FID - its records and the declared
 * resources of COMP (may be NULL) - whose planner is marked in DUE (NULL:
 * all), with one observe() call per type and region. Updates LIVE and,
 * when WRITE is set, the resource records: found ones get their id,
 * observed state and attributes (and leave a transitional status for
 * Ready), ones known by id and observed gone become Deleted (no id, client
 * token reset), ones never seen are left alone. A batch that could not be
 * observed is left as it was; its error is returned (the others are still
 * applied). CANCEL may be NULL.
 *
 * ROTATION is NULL when every resource's details (the reads that cost a
 * call per resource) are wanted, else per planner the number of its
 * routine enforcement pass: each pass then reads the details of a
 * different slice of at most FUGUE_CORE_DETAILS_PER_PASS resources per
 * batch (and of any without an id, not Ready or drifted), so that a
 * pass's calls do not grow with the number of resources.
 *
 * Another AWS resource carrying a resource's tags (a planner's
 * duplicate()) becomes a record and live entry "NAME~ID" of its own,
 * declared nowhere: the plan deletes it. */
int fugue_core_observe(fugue_conductor *c, const char *fid, const fugue_composition *comp,
                       fugue_live *live, const unsigned char *due,
                       const unsigned long *rotation, fugue_cancel *cancel, int write);

/* --- recovery (recovery.c) ------------------------------------------------------- */

/* Resolves, by observation, what a crash left in flight for process FID:
 * journal entries never ended and records in a transitional status.
 * Returns 0 when everything was resolved, else the first error (what was
 * not resolved stays for the next attempt). CANCEL may be NULL. */
int fugue_core_recover(fugue_conductor *c, const char *fid, fugue_cancel *cancel);

#endif
