/* cmd_validate.c - `fugue validate FILE`: the Conductor's compiler, run
 * offline with the installed planners' schemas, so that an operator (or a
 * CI job) finds every error of a composition before sending it. */
#include "offline.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cmd_util.h"
#include "fugue/common.h"
#include "fugue/log.h"

const char *fugue_cli_planners_dir(const char *flag)
{
	const char *env = getenv("FUGUE_PLANNERS_DIR");

	if (flag && *flag)
		return flag;
	if (env && *env)
		return env;
	return FUGUE_DEFAULT_PLANNERS_DIR;
}

/* Skips "2024-05-01T12:00:00.000Z WARN  " of a kernel log line; NULL when
 * LINE is not one. */
static const char *log_message(const char *line)
{
	const char *p = strchr(line, ' ');

	if (!p || p == line || p[-1] != 'Z')
		return NULL;
	p++;
	if (strncasecmp(p, "error", 5) != 0 && strncasecmp(p, "warn", 4) != 0 &&
	    strncasecmp(p, "info", 4) != 0)
		return NULL;
	p = strchr(p, ' ');
	if (!p)
		return NULL;
	while (*p == ' ')
		p++;
	return p;
}

/* The loader logs a refused planner as a timestamped kernel log line; a
 * person running `fugue validate` should see "fugue: warning: planner ...
 * refused: ...". The lines are caught in CAPTURE and reprinted. */
static void reprint_log(const fugue_cli *cli, FILE *capture)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	rewind(capture);
	while ((n = getline(&line, &cap, capture)) > 0) {
		const char *msg;
		char *field;

		if (line[n - 1] == '\n')
			line[n - 1] = '\0';
		msg = log_message(line);
		if (!msg) {
			fprintf(stderr, "%s\n", line);
			continue;
		}
		/* The planner's path is already in the message. */
		field = strstr(line, " FUGUE_PLANNER=");
		if (field)
			*field = '\0';
		fugue_cli_warning(cli, "%s", msg);
	}
	free(line);
}

/* Loads DIR with stderr caught in a temporary file, so that the kernel's
 * log lines can be reprinted as warnings. */
static int load_captured(fugue_registry *reg, const fugue_cli *cli, const char *dir)
{
	FILE *capture = tmpfile();
	int saved = -1;
	int rc;

	fflush(stderr);
	if (capture)
		saved = dup(STDERR_FILENO);
	if (saved >= 0 && dup2(fileno(capture), STDERR_FILENO) < 0) {
		close(saved);
		saved = -1;
	}
	rc = fugue_registry_load_dir(reg, dir, NULL);
	if (saved >= 0) {
		fflush(stderr);
		dup2(saved, STDERR_FILENO);
		close(saved);
		reprint_log(cli, capture);
	}
	if (capture)
		fclose(capture);
	return rc;
}

int fugue_cli_load_planners(fugue_registry **out, const fugue_cli *cli, const char *dir)
{
	fugue_registry *reg = NULL;
	DIR *d;
	int rc;

	*out = NULL;
	/* Checked here so that the reason is ours, with a hint, rather than the
	 * loader's log line. */
	d = opendir(dir);
	if (!d) {
		fugue_cli_error(cli, "cannot read the planners directory %s: %s", dir, fugue_cli_strerror(errno));
		fugue_cli_hint(cli, "name one with --planners-dir DIR or FUGUE_PLANNERS_DIR");
		return FUGUE_EXIT_FAILED;
	}
	closedir(d);
	fugue_log_set_sink(FUGUE_LOG_SINK_STDERR);
	fugue_log_set_level(FUGUE_LOG_WARN);
	rc = fugue_registry_new(&reg, NULL);
	if (rc == 0)
		rc = load_captured(reg, cli, dir);
	if (rc != 0) {
		fugue_cli_error(cli, "cannot load the planners of %s: %s", dir, fugue_strerror(rc));
		fugue_registry_free(reg);
		return FUGUE_EXIT_FAILED;
	}
	if (fugue_registry_count(reg) == 0)
		fugue_cli_warning(cli, "no planners in %s: every resource type is unknown", dir);
	*out = reg;
	return 0;
}

int fugue_cli_compile(fugue_composition **out, fugue_diags *diags, const fugue_registry *reg,
                      const char *path)
{
	fugue_compile_options opts = FUGUE_COMPILE_OPTIONS_INIT;
	const char *region = getenv("AWS_REGION");

	if (!region || !*region)
		region = getenv("AWS_DEFAULT_REGION");
	opts.registry = reg;
	opts.default_region = region && *region ? region : NULL;
	return fugue_compile_file(out, diags, &opts, path);
}

static int print_result(const fugue_cli *cli, const char *file, const fugue_composition *comp,
                        const fugue_diags *diags)
{
	if (cli->json) {
		struct json_object *doc = json_object_new_object();
		struct json_object *list = NULL;

		if (fugue_diags_to_json(&list, diags) != 0 || !doc) {
			json_object_put(doc);
			json_object_put(list);
			fugue_cli_error(cli, "out of memory");
			return FUGUE_EXIT_FAILED;
		}
		json_object_object_add(doc, "file", json_object_new_string(file));
		json_object_object_add(doc, "valid", json_object_new_boolean(comp != NULL));
		json_object_object_add(doc, "resources",
		                       json_object_new_int64(comp ? (int64_t)comp->nresources : 0));
		json_object_object_add(doc, "diagnostics", list);
		fugue_cli_print_json(cli, doc);
		json_object_put(doc);
		return comp ? FUGUE_EXIT_OK : FUGUE_EXIT_FAILED;
	}
	if (!comp) {
		fugue_diags_print(stderr, diags);
		fugue_cli_error(cli, "%s is not valid (%zu error%s)", file, diags->n,
		                diags->n == 1 ? "" : "s");
		return FUGUE_EXIT_FAILED;
	}
	printf("%s: %zu resource%s, valid\n", file, comp->nresources,
	       comp->nresources == 1 ? "" : "s");
	return FUGUE_EXIT_OK;
}

int fugue_cmd_validate(const fugue_cli *cli, int argc, char **argv)
{
	static const struct option options[] = {
		{ "planners-dir", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	fugue_diags diags = FUGUE_DIAGS_INIT;
	fugue_composition *comp = NULL;
	fugue_registry *reg = NULL;
	const char *dir_flag = NULL;
	const char *file;
	int opt;
	int rc;

	opterr = 0;
	optind = 0;
	while ((opt = getopt_long(argc, argv, ":p:", options, NULL)) != -1) {
		if (opt == 'p')
			dir_flag = optarg;
		else
			return fugue_cli_bad_option(cli, "validate", opt, argc, argv);
	}
	rc = fugue_cli_positionals(cli, argc, argv, 1, "FILE");
	if (rc >= 0)
		return rc;
	file = argv[optind];

	rc = fugue_cli_load_planners(&reg, cli, fugue_cli_planners_dir(dir_flag));
	if (rc != 0)
		return rc;
	fugue_cli_compile(&comp, &diags, reg, file);
	rc = print_result(cli, file, comp, &diags);
	fugue_composition_free(comp);
	fugue_diags_clear(&diags);
	fugue_registry_free(reg);
	return rc;
}
