/* main.c - conductord, the Conductor's daemon.
 *
 * For now it answers --version, --help and --list-planners (load the
 * planners directory and print what loaded); serving comes later. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fugue/common.h"
#include "fugue/log.h"
#include "registry.h"

#define EXIT_USAGE 2

enum command { CMD_SERVE, CMD_LIST_PLANNERS, CMD_VERSION, CMD_HELP };

struct options {
	enum command command;
	const char *planners_dir; /* borrowed from argv or the environment */
};

static void usage(FILE *out)
{
	fputs("usage: conductord [--planners-dir DIR] --list-planners\n"
	      "       conductord --version | --help\n"
	      "\n"
	      "  --planners-dir DIR  where planner .so files are (default: $FUGUE_PLANNERS_DIR,\n"
	      "                      else " FUGUE_DEFAULT_PLANNERS_DIR ")\n"
	      "  --list-planners     load the planners and print them with their types\n"
	      "  --version           print the version\n"
	      "  --help              print this help\n",
	      out);
}

static const char *default_planners_dir(void)
{
	const char *env = getenv("FUGUE_PLANNERS_DIR");

	return env && *env ? env : FUGUE_DEFAULT_PLANNERS_DIR;
}

/* Returns 0, or EXIT_USAGE after printing the usage to stderr. */
static int parse_args(struct options *opt, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "planners-dir", required_argument, NULL, 'p' },
		{ "list-planners", no_argument, NULL, 'l' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	opt->command = CMD_SERVE;
	opt->planners_dir = default_planners_dir();
	for (c = getopt_long(argc, argv, "h", longopts, NULL); c != -1;
	     c = getopt_long(argc, argv, "h", longopts, NULL)) {
		switch (c) {
		case 'p':
			opt->planners_dir = optarg;
			break;
		case 'l':
			opt->command = CMD_LIST_PLANNERS;
			break;
		case 'V':
			opt->command = CMD_VERSION;
			break;
		case 'h':
			opt->command = CMD_HELP;
			break;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "conductord: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return EXIT_USAGE;
	}
	return 0;
}

static int max_int(int a, int b)
{
	return a > b ? a : b;
}

static void print_planners(const fugue_registry *reg)
{
	size_t n = fugue_registry_count(reg);
	int wname = (int)strlen("PLANNER");
	int wversion = (int)strlen("VERSION");
	size_t i;
	size_t t;

	for (i = 0; i < n; i++) {
		const fugue_planner_info *p = fugue_registry_planner(reg, i);

		wname = max_int(wname, (int)strlen(p->name));
		wversion = max_int(wversion, (int)strlen(p->version));
	}
	printf("%-*s  %-*s  %s\n", wname, "PLANNER", wversion, "VERSION", "PATH");
	for (i = 0; i < n; i++) {
		const fugue_planner_info *p = fugue_registry_planner(reg, i);

		printf("%-*s  %-*s  %s\n", wname, p->name, wversion, p->version, p->path);
		for (t = 0; t < p->ntypes; t++)
			printf("  %s\n", p->types[t]->name);
	}
}

/* Exit status: 0 when DIR could be read (refused planners are only logged),
 * 1 when it could not. */
static int list_planners(const char *dir)
{
	fugue_registry *reg;
	size_t refused = 0;
	int rc;

	rc = fugue_registry_new(&reg, NULL);
	if (rc != 0) {
		fprintf(stderr, "conductord: %s\n", fugue_strerror(rc));
		return EXIT_FAILURE;
	}
	rc = fugue_registry_load_dir(reg, dir, &refused);
	if (rc != 0) {
		fprintf(stderr, "conductord: cannot load planners from %s: %s\n", dir,
		        fugue_strerror(rc));
		fugue_registry_free(reg);
		return EXIT_FAILURE;
	}
	print_planners(reg);
	if (refused)
		fprintf(stderr, "conductord: %zu planner%s refused (see above)\n", refused,
		        refused == 1 ? "" : "s");
	fugue_registry_free(reg);
	return EXIT_SUCCESS;
}

int main(int argc, char **argv)
{
	struct options opt;
	int rc = parse_args(&opt, argc, argv);

	if (rc != 0)
		return rc;
	switch (opt.command) {
	case CMD_VERSION:
		printf("conductord %s (planner ABI %d.%d)\n", FUGUE_VERSION, FUGUE_PLANNER_ABI_MAJOR,
		       FUGUE_PLANNER_ABI_MINOR);
		return EXIT_SUCCESS;
	case CMD_HELP:
		usage(stdout);
		return EXIT_SUCCESS;
	case CMD_LIST_PLANNERS:
		fugue_log_set_sink(FUGUE_LOG_SINK_STDERR);
		return list_planners(opt.planners_dir);
	case CMD_SERVE:
		break;
	}
	fputs("conductord: serving is not implemented yet; try --list-planners\n", stderr);
	return EXIT_FAILURE;
}
