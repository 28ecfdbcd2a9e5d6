/* watch.h - following a job (run, update, resume, kill) from the request to
 * its end, for people and for scripts.
 *
 * For people (cli->json off), on stdout:
 *   - the phases: "sending web.yaml to the Conductor", "accepted: process web
 *     (FID)", the plan (all of it for update, its summary line otherwise);
 *   - on a terminal, one line per finished call ("create vpc ... done
 *     vpc-0abc", failures in red with the AWS code, message and request id)
 *     under a live progress line (resources done/total, the calls in flight,
 *     elapsed) redrawn in place with \r and erase-line at most ten times a
 *     second; when piped, plain event lines only (a start line too);
 *   - the outcome: "process web converged: 12 resources ready in 8.2s",
 *     "process web killed: ...", or on stderr the failure with each failing
 *     resource, or "detached: ..." after Ctrl-C.
 * For scripts (cli->json on): nothing but one JSON document at the end (see
 * docs/cli.md: the final result; on Ctrl-C {"fid", "alias", "detached"}). */
#ifndef FUGUE_CLI_WATCH_H
#define FUGUE_CLI_WATCH_H

#include "cli.h"

struct json_object;

/* What is being followed. Strings are borrowed for the call. */
typedef struct fugue_job_spec {
	const char *command;     /* "run", "update", "resume" or "kill" */
	const char *process;     /* the alias or FID as the user named it; NULL for run */
	const char *source_name; /* the file sent (run, update), or NULL */
	int dry_run;             /* print the answered plan only */
	int wait;                /* follow until the job ends (else: return once accepted) */
	int full_plan;           /* print the whole plan when the job starts, not its summary */
} fugue_job_spec;

/* Sends SPEC->command with ARGS (borrowed; the caller put dryRun and wait
 * in it) on a new connection and follows the answer as described above.
 * Returns the exit code: 0 converged / accepted / planned, 1 failed or
 * refused, 2 usage (bad_args), 3 unreachable, FUGUE_EXIT_DETACHED after
 * Ctrl-C. */
int fugue_cli_job(const fugue_cli *cli, const fugue_job_spec *spec,
                  const struct json_object *args);

/* Prints PLAN (borrowed) for people on stdout (plan_print.h), coloured on a
 * terminal, "→" in a UTF-8 locale. */
void fugue_cli_plan_print(const fugue_cli *cli, const struct json_object *plan);

#endif
