/* conductor.h - the kernel as one object: state store, planners, worker
 * pool, processes and their jobs, the enforcement loop, recovery. The
 * transport hands it requests (fugue_conductor_handle); main.c owns the
 * process lifecycle (config, signals, systemd) around it.
 *
 * Processes and jobs: each process has at most one job at a time (run,
 * update, an enforcement pass, resume, kill, release); kill, suspend and
 * release cancel the running job first; update and resume cancel an
 * enforcement pass but are refused (conflict) while a job an operator
 * started runs; enforcement passes only start on a process without a job.
 * Jobs run on their own threads and use the shared pool for planner calls.
 * See docs/processes.md.
 *
 * Commands (docs/protocol.md): ping, run, update, status, history, suspend,
 * resume, kill, release, property, runtime. */
#ifndef FUGUE_CONDUCTOR_H
#define FUGUE_CONDUCTOR_H

#include <stddef.h>

#include "envelope.h"
#include "fugue/log.h"

typedef struct fugue_conductor fugue_conductor;

#define FUGUE_CONDUCTOR_CONFIG_VERSION 1

/* Everything borrowed for the call. Zero members take the defaults. */
typedef struct fugue_conductor_config {
	unsigned int version;           /* FUGUE_CONDUCTOR_CONFIG_VERSION */
	const char *state_dir;          /* required */
	const char *planners_dir;       /* required */
	const char *region;             /* default region of compositions without one;
	                                   NULL: AWS_REGION / the AWS config, else none */
	long enforce_interval_ms;       /* default interval of every planner; 0: 30000.
	                                   Runtime settings override it per planner. */
	int report_only;                /* new processes start with enforcement off */
	size_t concurrency;             /* pool threads; 0: 16. Runtime setting overrides. */
	long retry_base_ms;             /* first backoff of a retried action; 0: 1000 */
	int no_aws;                     /* do not create an AWS client (tests with the fake
	                                   planner); planners then get ctx->aws NULL */
	int log_level;                  /* the configured fugue_log_level, which runtime
	                                   setting log.level overrides and `unset` restores;
	                                   0: the level in force at open (and at reload) */
} fugue_conductor_config;

#define FUGUE_CONDUCTOR_CONFIG_INIT { .version = FUGUE_CONDUCTOR_CONFIG_VERSION }

/* Opens the state store, loads the planners (refusals are logged, not
 * fatal), creates the AWS client (a failure is logged and planners get
 * ctx->aws NULL), and recovers: journal entries left in flight by a crash
 * are resolved by observation (adopting what carries our tags). Starts no
 * job yet. On failure returns FUGUE_E* and a one-line reason in ERR. */
int fugue_conductor_open(fugue_conductor **out, const fugue_conductor_config *cfg, char *err,
                         size_t err_size);

/* Starts the enforcement loop and resumes every process: Running ones
 * converge, Killing ones finish their kill. 0 or FUGUE_E*. */
int fugue_conductor_start(fugue_conductor *c);

/* The fugue_request_fn for the transport; PAYLOAD is the conductor. */
void fugue_conductor_handle(const fugue_request *req, fugue_reply *reply, void *payload);

/* SIGHUP: applies the changed members of CFG that can change while
 * running (enforce interval, report_only default, concurrency). */
int fugue_conductor_reload(fugue_conductor *c, const fugue_conductor_config *cfg);

/* One line for systemd's STATUS=: "3 processes (2 running, 1 suspended),
 * 1 job running, 42 resources". */
void fugue_conductor_summary(fugue_conductor *c, char *buf, size_t size);

/* Stops: no new job starts, running jobs are cancelled, and their in-flight
 * planner calls are waited for up to GRACE_MS; calls still running then are
 * recorded as "unknown" in the journal (recovery resolves them at the next
 * start). Replies waiting on jobs get a shutting_down error. Idempotent. */
void fugue_conductor_shutdown(fugue_conductor *c, long grace_ms);

/* Shuts down if needed, closes the state store, unloads the planners. */
void fugue_conductor_free(fugue_conductor *c);

#endif
