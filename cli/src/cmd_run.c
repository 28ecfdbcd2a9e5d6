/* cmd_run.c - `fugue run FILE` and `fugue update ALIAS FILE`: send a
 * composition to the Conductor and follow the job (watch.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>

#include <json-c/json.h>

#include "cli.h"
#include "cmd_util.h"
#include "file_util.h"
#include "offline.h"
#include "watch.h"

/* The Conductor takes requests of at most 8 MiB (docs/protocol.md); a
 * larger file is refused here, with its size, rather than by the socket. */
#define SOURCE_MAX (8u * 1024u * 1024u - 4096u)

/* Reads PATH whole into *OUT (the caller's, free) and its length. Prints
 * the reason and returns FUGUE_EXIT_FAILED when it cannot. */
static int read_source(char **out, size_t *len, const fugue_cli *cli, const char *path)
{
	int err = fugue_read_file(out, len, path);

	if (err != 0) {
		fugue_cli_error(cli, "cannot read %s: %s", path, fugue_cli_strerror(err));
		return FUGUE_EXIT_FAILED;
	}
	if (*len > SOURCE_MAX) {
		fugue_cli_error(cli, "%s is too large: the Conductor takes compositions of at most "
		                     "8 MiB", path);
		free(*out);
		*out = NULL;
		return FUGUE_EXIT_FAILED;
	}
	return 0;
}

/* The "compiling" phase. With planners where `fugue validate` finds them
 * (FUGUE_PLANNERS_DIR, else the installed directory), the composition is
 * compiled here first, so its errors are shown, file:line:col, before
 * anything is sent; without them the Conductor compiles it, and says the
 * same. Returns 0 to go on, or the exit code of the errors (printed as the
 * Conductor's invalid_composition would be). */
static int compile_locally(const fugue_cli *cli, const char *path)
{
	const char *dir = fugue_cli_planners_dir(NULL);
	fugue_diags diags = FUGUE_DIAGS_INIT;
	fugue_composition *comp = NULL;
	fugue_registry *reg = NULL;
	struct json_object *final;
	struct json_object *error;
	struct json_object *details;
	struct json_object *list = NULL;
	DIR *d = opendir(dir);
	int rc;

	if (d)
		closedir(d);
	if (!d || fugue_cli_load_planners(&reg, cli, dir) != 0 || fugue_registry_count(reg) == 0) {
		if (!cli->json)
			printf("compiling %s: in the Conductor (no planners in %s)\n", path, dir);
		fugue_registry_free(reg);
		return 0;
	}
	if (fugue_cli_compile(&comp, &diags, reg, path) == 0) {
		if (!cli->json)
			printf("compiling %s: %zu resource%s\n", path, comp->nresources,
			       comp->nresources == 1 ? "" : "s");
		fugue_composition_free(comp);
		fugue_registry_free(reg);
		return 0;
	}
	final = json_object_new_object();
	error = json_object_new_object();
	details = json_object_new_object();
	fugue_diags_to_json(&list, &diags);
	json_object_object_add(details, "diagnostics", list);
	json_object_object_add(error, "code", json_object_new_string("invalid_composition"));
	json_object_object_add(error, "message",
	                       json_object_new_string(diags.n ? diags.items[0].message : "invalid"));
	json_object_object_add(error, "details", details);
	json_object_object_add(final, "ok", json_object_new_boolean(0));
	json_object_object_add(final, "error", error);
	rc = fugue_cli_report_error(cli, final);
	json_object_put(final);
	fugue_diags_clear(&diags);
	fugue_registry_free(reg);
	return rc;
}

/* Adds sourceDir, the absolute directory of PATH, so that the Conductor
 * finds the files the composition names relative to itself (a Lambda
 * zip): it runs elsewhere, in another working directory. */
static void put_source_dir(struct json_object *args, const char *path)
{
	char *abs = realpath(path, NULL);
	char *slash = abs ? strrchr(abs, '/') : NULL;

	if (slash == abs && slash)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	if (abs)
		fugue_j_put(args, "sourceDir", json_object_new_string(abs));
	free(abs);
}

/* Options of run and update. */
typedef struct job_opts {
	const char *alias;
	int dry_run;
	int no_wait;
} job_opts;

/* Parses argv into O; returns -1 on success (positional arguments from
 * optind on) or the exit code of a usage error. */
static int parse(job_opts *o, const fugue_cli *cli, int argc, char **argv, int with_alias)
{
	static const struct option longs[] = {
		{ "alias", required_argument, NULL, 'a' },
		{ "dry-run", no_argument, NULL, 'd' },
		{ "no-wait", no_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, with_alias ? ":a:" : ":", longs, NULL)) != -1) {
		switch (c) {
		case 'a':
			if (!with_alias)
				return fugue_cli_usage_error(cli, argv[0],
				                             "unknown option '--alias'");
			o->alias = optarg;
			break;
		case 'd':
			o->dry_run = 1;
			break;
		case 'n':
			o->no_wait = 1;
			break;
		default:
			return fugue_cli_bad_option(cli, argv[0], c, argc, argv);
		}
	}
	if (o->dry_run && o->no_wait)
		return fugue_cli_usage_error(cli, argv[0],
		                             "--dry-run and --no-wait do not go together");
	return -1;
}

/* Builds the request and follows it. PROCESS is NULL for run. */
static int send_source(const fugue_cli *cli, const char *command, const char *process,
                       const char *path, const job_opts *o)
{
	struct json_object *args;
	fugue_job_spec spec;
	char *source = NULL;
	size_t len = 0;
	int rc;

	rc = read_source(&source, &len, cli, path);
	if (rc == 0)
		rc = compile_locally(cli, path);
	if (rc != 0) {
		free(source);
		return rc;
	}
	args = json_object_new_object();
	if (process)
		fugue_j_put(args, "process", json_object_new_string(process));
	fugue_j_put(args, "source", json_object_new_string_len(source, (int)len));
	fugue_j_put(args, "sourceName", json_object_new_string(path));
	put_source_dir(args, path);
	if (o->alias)
		fugue_j_put(args, "alias", json_object_new_string(o->alias));
	fugue_j_put(args, "dryRun", json_object_new_boolean(o->dry_run));
	fugue_j_put(args, "wait", json_object_new_boolean(!o->no_wait));
	free(source);
	memset(&spec, 0, sizeof(spec));
	spec.command = command;
	spec.process = process;
	spec.source_name = path;
	spec.dry_run = o->dry_run;
	spec.wait = !o->no_wait;
	/* A run's plan creates everything: its summary says enough. */
	spec.full_plan = process != NULL;
	rc = fugue_cli_job(cli, &spec, args);
	json_object_put(args);
	return rc;
}

int fugue_cmd_run(const fugue_cli *cli, int argc, char **argv)
{
	job_opts o;
	int rc = parse(&o, cli, argc, argv, 1);

	if (rc < 0)
		rc = fugue_cli_positionals(cli, argc, argv, 1, "FILE");
	if (rc >= 0)
		return rc;
	if (o.alias && !o.alias[0])
		return fugue_cli_usage_error(cli, argv[0], "the alias may not be empty");
	return send_source(cli, "run", NULL, argv[optind], &o);
}

int fugue_cmd_update(const fugue_cli *cli, int argc, char **argv)
{
	job_opts o;
	int rc = parse(&o, cli, argc, argv, 0);

	if (rc < 0)
		rc = fugue_cli_positionals(cli, argc, argv, 2, "ALIAS or FILE");
	if (rc >= 0)
		return rc;
	return send_source(cli, "update", argv[optind], argv[optind + 1], &o);
}
