/* cmd_process.c - a process's life after `run`: `fugue suspend`, `resume`,
 * `kill` and `release`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cli.h"
#include "cmd_util.h"
#include "watch.h"

/* Options of resume, kill and release (those a command does not take are
 * refused by the option string). */
typedef struct proc_opts {
	int yes;
	int dry_run;
	int no_wait;
} proc_opts;

/* Parses argv (SHORTS: the short options the command takes, after ':';
 * LONG_MASK: which of --yes, --dry-run, --no-wait it takes) and checks that
 * one PROCESS follows. Returns -1 on success (argv[optind] is PROCESS) or
 * the exit code of a usage error. */
static int parse(proc_opts *o, const fugue_cli *cli, int argc, char **argv, const char *shorts,
                 unsigned long_mask)
{
	static const struct option longs[] = {
		{ "yes", no_argument, NULL, 'y' },
		{ "dry-run", no_argument, NULL, 'd' },
		{ "no-wait", no_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	int idx = -1;
	int c;

	memset(o, 0, sizeof(*o));
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, shorts, longs, &idx)) != -1) {
		/* A long option the command does not take. */
		if (idx >= 0 && !(long_mask & (1u << idx)))
			return fugue_cli_usage_error(cli, argv[0], "unknown option '--%s'",
			                             longs[idx].name);
		idx = -1;
		if (c == 'y')
			o->yes = 1;
		else if (c == 'd')
			o->dry_run = 1;
		else if (c == 'n')
			o->no_wait = 1;
		else
			return fugue_cli_bad_option(cli, argv[0], c, argc, argv);
	}
	if (o->dry_run && o->no_wait)
		return fugue_cli_usage_error(cli, argv[0],
		                             "--dry-run and --no-wait do not go together");
	return fugue_cli_positionals(cli, argc, argv, 1, "ALIAS");
}

#define OPT_YES 1u
#define OPT_DRY_RUN 2u
#define OPT_NO_WAIT 4u

static struct json_object *process_args(const char *process)
{
	struct json_object *args = json_object_new_object();

	fugue_j_put(args, "process", json_object_new_string(process));
	return args;
}

/* Asks whether to VERB (kill, release) PROCESS, naming its alias and number
 * of resources (from `status`). Returns -1 when confirmed, else the exit
 * code: 1 when refused or not asked (no terminal: fugue_cli_confirm says to
 * pass -y), or the status request's. */
static int confirm(const fugue_cli *cli, const char *verb, const char *process)
{
	struct json_object *args = process_args(process);
	struct json_object *final = NULL;
	const struct json_object *p;
	const char *name;
	char question[512];
	long n;
	int rc;

	rc = fugue_cli_call_ok(cli, "status", args, &final);
	json_object_put(args);
	if (rc >= 0)
		return rc;
	p = fugue_cli_result(final);
	name = fugue_j_str(p, "alias") ? fugue_j_str(p, "alias") : fugue_j_str(p, "fid");
	n = (long)fugue_j_int(fugue_j_get(p, "counts"), "total", 0);
	if (strcmp(verb, "kill") == 0)
		snprintf(question, sizeof(question),
		         "kill process %s (%ld resource%s, deleted in AWS)?",
		         name ? name : process, n, n == 1 ? "" : "s");
	else
		snprintf(question, sizeof(question),
		         "release process %s (%ld resource%s, left in AWS)?",
		         name ? name : process, n, n == 1 ? "" : "s");
	json_object_put(final);
	if (fugue_cli_confirm(cli, question))
		return -1;
	if (cli->tty_in)
		fprintf(stderr, "%s: nothing done\n", cli->prog);
	return FUGUE_EXIT_FAILED;
}

int fugue_cmd_suspend(const fugue_cli *cli, int argc, char **argv)
{
	struct json_object *args;
	struct json_object *final = NULL;
	const struct json_object *r;
	const char *name;
	int rc = fugue_cli_no_options(cli, argc, argv);

	if (rc < 0)
		rc = fugue_cli_positionals(cli, argc, argv, 1, "ALIAS");
	if (rc >= 0)
		return rc;
	args = process_args(argv[optind]);
	rc = fugue_cli_call_ok(cli, "suspend", args, &final);
	json_object_put(args);
	if (rc >= 0)
		return rc;
	r = fugue_cli_result(final);
	name = argv[optind];
	if (cli->json)
		fugue_cli_print_json(cli, r);
	else
		printf("process %s suspended: enforcement stopped, its resources stay; "
		       "`fugue resume %s` starts it again\n", name, name);
	json_object_put(final);
	return FUGUE_EXIT_OK;
}

/* resume and kill: a job. */
static int job(const fugue_cli *cli, const char *command, const char *process, const proc_opts *o)
{
	struct json_object *args = process_args(process);
	fugue_job_spec spec;
	int rc;

	fugue_j_put(args, "dryRun", json_object_new_boolean(o->dry_run));
	fugue_j_put(args, "wait", json_object_new_boolean(!o->no_wait));
	memset(&spec, 0, sizeof(spec));
	spec.command = command;
	spec.process = process;
	spec.dry_run = o->dry_run;
	spec.wait = !o->no_wait;
	rc = fugue_cli_job(cli, &spec, args);
	json_object_put(args);
	return rc;
}

int fugue_cmd_resume(const fugue_cli *cli, int argc, char **argv)
{
	proc_opts o;
	int rc = parse(&o, cli, argc, argv, ":", OPT_DRY_RUN | OPT_NO_WAIT);

	if (rc >= 0)
		return rc;
	return job(cli, "resume", argv[optind], &o);
}

int fugue_cmd_kill(const fugue_cli *cli, int argc, char **argv)
{
	proc_opts o;
	int rc = parse(&o, cli, argc, argv, ":y", OPT_YES | OPT_DRY_RUN | OPT_NO_WAIT);

	if (rc >= 0)
		return rc;
	if (!o.yes && !o.dry_run) {
		rc = confirm(cli, "kill", argv[optind]);
		if (rc >= 0)
			return rc;
	}
	return job(cli, "kill", argv[optind], &o);
}

int fugue_cmd_release(const fugue_cli *cli, int argc, char **argv)
{
	struct json_object *args;
	struct json_object *final = NULL;
	const struct json_object *r;
	const char *alias;
	const char *fid;
	long n;
	proc_opts o;
	int rc = parse(&o, cli, argc, argv, ":y", OPT_YES);

	if (rc >= 0)
		return rc;
	if (!o.yes) {
		rc = confirm(cli, "release", argv[optind]);
		if (rc >= 0)
			return rc;
	}
	args = process_args(argv[optind]);
	rc = fugue_cli_call_ok(cli, "release", args, &final);
	json_object_put(args);
	if (rc >= 0)
		return rc;
	r = fugue_cli_result(final);
	if (cli->json) {
		fugue_cli_print_json(cli, r);
		json_object_put(final);
		return FUGUE_EXIT_OK;
	}
	alias = fugue_j_str(r, "alias");
	fid = fugue_j_str(r, "fid") ? fugue_j_str(r, "fid") : "?";
	n = (long)fugue_j_int(r, "resources", 0);
	printf("process %s released: %ld resource%s stay%s in AWS, tagged fugue:fid=%s; "
	       "Fugue no longer manages %s\n",
	       alias ? alias : fid, n, n == 1 ? "" : "s", n == 1 ? "s" : "", fid,
	       n == 1 ? "it" : "them");
	json_object_put(final);
	return FUGUE_EXIT_OK;
}
