/* main.c - `fugue`: global options, help, and the command table.
 *
 * The global options (--json, --conductor ADDR, --no-color) may appear
 * anywhere before `--`, so that `fugue status --json` and `fugue --json
 * status` are the same; they are taken out of argv before the command sees
 * it. The usage texts below are the contract of each command's options:
 * the command files parse exactly what is documented here. */
#include "cli.h"

#include <langinfo.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compiler.h"
#include "envelope.h"

#define GLOBAL_HELP \
	"global options (anywhere before `--`):\n" \
	"  --json             one JSON document on stdout, for scripts (docs/cli.md)\n" \
	"  --conductor ADDR   the Conductor's socket (else $FUGUE_CONDUCTOR, else\n" \
	"                     conductor.socket in ./fugue.yaml, else " FUGUE_CLI_DEFAULT_SOCKET ")\n" \
	"  --no-color         no colour (also when NO_COLOR is set or stdout is not a terminal)\n"

#define EXIT_HELP \
	"exit codes: 0 ok, 1 failed, 2 usage, 3 Conductor unreachable,\n" \
	"            130 detached (Ctrl-C while waiting; the job goes on in the Conductor)\n"

const fugue_cli_command fugue_cli_commands[] = {
	{ "init", fugue_cmd_init, "write ./fugue.yaml: where the Conductor is, and its AWS settings",
	  "usage: fugue init [--force] [--socket PATH] [--region REGION] [--ami AMI]\n"
	  "                  [--instance-type TYPE] [--ssh-key-name NAME] [--bucket NAME]...\n"
	  "                  [--availability-zone AZ]...\n"
	  "\n"
	  "Writes fugue.yaml in the current directory with a commented `conductor:` block:\n"
	  "the socket `fugue` connects to, and the AWS settings of the Conductor (region,\n"
	  "AMI, instance type, SSH key pair, S3 buckets, availability zones). Edit it\n"
	  "afterwards; every command run in this directory reads conductor.socket.\n"
	  "\n"
	  "options:\n"
	  "  -f, --force                  overwrite an existing fugue.yaml\n"
	  "      --socket PATH            the Conductor's socket (default " FUGUE_CLI_DEFAULT_SOCKET ")\n"
	  "      --region REGION          default: $AWS_REGION, $AWS_DEFAULT_REGION, us-east-1\n"
	  "      --ami AMI                the Conductor instance's image (default: none yet)\n"
	  "      --instance-type TYPE     default t3.small\n"
	  "      --ssh-key-name NAME      the EC2 key pair for SSH (default: none)\n"
	  "      --bucket NAME            an S3 bucket of the Conductor; repeatable\n"
	  "      --availability-zone AZ   repeatable (default: REGIONa and REGIONb)\n"
	  "\n"
	  "--json prints {\"file\", \"written\"}.\n" },
	{ "run", fugue_cmd_run, "start a process from a composition file",
	  "usage: fugue run FILE [-a|--alias ALIAS] [--dry-run] [--no-wait]\n"
	  "\n"
	  "Sends the composition FILE to the Conductor, which compiles it, plans it and\n"
	  "creates its resources; from then on it enforces them. Prints the phases\n"
	  "(compiling, sending, accepted), the FID and the alias, then follows the job\n"
	  "until the process converged (exit 0) or failed (exit 1, naming each failing\n"
	  "resource with the AWS error). Ctrl-C stops following (exit 130); the job\n"
	  "goes on in the Conductor: `fugue status ALIAS` shows it.\n"
	  "\n"
	  "options:\n"
	  "  -a, --alias ALIAS   the process's alias (default: the composition's `composition:`)\n"
	  "      --dry-run       print the plan and change nothing\n"
	  "      --no-wait       return once the Conductor accepted the request\n" },
	{ "status", fugue_cmd_status, "list the processes, or one process's resources",
	  "usage: fugue status [ALIAS|FID]\n"
	  "\n"
	  "Without an argument: every process, grouped by state (Running, Suspended,\n"
	  "Killing, Failed), with updated, created, FID/alias, flags (l: lock on,\n"
	  "e: enforcement on), resources ready/total, drift and the last message.\n"
	  "With ALIAS or FID: that process and each of its resources with its type,\n"
	  "AWS id, status and drift.\n" },
	{ "update", fugue_cmd_update, "replace a process's composition and converge to it",
	  "usage: fugue update ALIAS FILE [--dry-run] [--no-wait]\n"
	  "\n"
	  "Replaces the declaration of process ALIAS (or FID) with FILE, prints the plan\n"
	  "(+ create, ~ update with each property old -> new, -/+ replace with the\n"
	  "property that forces it, - delete) and follows the job as `run` does.\n"
	  "\n"
	  "options:\n"
	  "      --dry-run   print the plan and change nothing\n"
	  "      --no-wait   return once the Conductor accepted the request\n" },
	{ "history", fugue_cmd_history, "a process's jobs and drift corrections, newest first",
	  "usage: fugue history ALIAS [-n|--limit N]\n"
	  "\n"
	  "Lists the history of process ALIAS (or FID; a FID also finds a killed or\n"
	  "released process): every run, update, enforcement pass, drift correction,\n"
	  "suspend, resume, kill, release and property change, newest first, with\n"
	  "who asked for it.\n"
	  "\n"
	  "options:\n"
	  "  -n, --limit N   at most N entries (default 100; 0: all)\n" },
	{ "suspend", fugue_cmd_suspend, "stop enforcing a process; its resources stay",
	  "usage: fugue suspend ALIAS\n"
	  "\n"
	  "Stops enforcement of process ALIAS (or FID): drift is no longer corrected.\n"
	  "The resources stay as they are. `fugue resume` starts enforcing again.\n" },
	{ "resume", fugue_cmd_resume, "enforce a suspended process again",
	  "usage: fugue resume ALIAS [--dry-run] [--no-wait]\n"
	  "\n"
	  "Restarts enforcement of the suspended process ALIAS (or FID): the Conductor\n"
	  "observes every resource, puts back what drifted, and follows the job as\n"
	  "`run` does.\n"
	  "\n"
	  "options:\n"
	  "      --dry-run   observe and print the plan; change nothing\n"
	  "      --no-wait   return once the Conductor accepted the request\n" },
	{ "kill", fugue_cmd_kill, "delete every resource of a process",
	  "usage: fugue kill ALIAS [-y|--yes] [--dry-run] [--no-wait]\n"
	  "\n"
	  "Deletes every resource of process ALIAS (or FID) in AWS, in reverse\n"
	  "dependency order, then forgets the process (its history stays). Asks for\n"
	  "confirmation; without a terminal on stdin it needs -y.\n"
	  "\n"
	  "options:\n"
	  "  -y, --yes       do not ask for confirmation\n"
	  "      --dry-run   print what would be deleted; change nothing\n"
	  "      --no-wait   return once the Conductor accepted the request\n" },
	{ "release", fugue_cmd_release, "stop managing a process; its resources stay in AWS",
	  "usage: fugue release ALIAS [-y|--yes]\n"
	  "\n"
	  "Forgets process ALIAS (or FID) without deleting anything: its resources stay\n"
	  "in AWS, unmanaged. Asks for confirmation; without a terminal on stdin it\n"
	  "needs -y.\n"
	  "\n"
	  "options:\n"
	  "  -y, --yes   do not ask for confirmation\n" },
	{ "property", fugue_cmd_property, "show or set a process's alias, lock and enforcement",
	  "usage: fugue property ALIAS [KEY [--set VALUE]]\n"
	  "\n"
	  "Without KEY: the properties of process ALIAS (or FID). With KEY: that one.\n"
	  "With --set: changes it (recorded in history).\n"
	  "\n"
	  "keys:\n"
	  "  alias         the process's name (any name not shaped like a FID)\n"
	  "  lock          on: every command for the process is refused until it is\n"
	  "                set off again (default off)\n"
	  "  enforcement   off: drift is detected and recorded in history, not\n"
	  "                corrected (report-only; default on)\n"
	  "\n"
	  "options:\n"
	  "  --set VALUE   the new value; on/off (also true/false, yes/no, 1/0) for lock\n"
	  "                and enforcement\n" },
	{ "runtime", fugue_cmd_runtime, "show or change the Conductor's settings",
	  "usage: fugue runtime list\n"
	  "       fugue runtime get KEY\n"
	  "       fugue runtime set KEY VALUE\n"
	  "       fugue runtime unset KEY\n"
	  "\n"
	  "Conductor-wide settings, kept in its state (they survive restarts) and\n"
	  "applied at once. `list` shows every key with its value and default; `unset`\n"
	  "goes back to the default.\n"
	  "\n"
	  "keys:\n"
	  "  enforce.interval           seconds between enforcement passes (fractions allowed)\n"
	  "  enforce.interval.PLANNER   the same for one planner's resources\n"
	  "  concurrency                worker threads, 1 to 1024\n"
	  "  concurrency.PLANNER        at most this many calls of one planner at once (0: no limit)\n"
	  "  log.level                  error, warn, info or debug\n" },
	{ "validate", fugue_cmd_validate, "check a composition offline, without the Conductor",
	  "usage: fugue validate FILE [--planners-dir DIR]\n"
	  "\n"
	  "Compiles FILE with the schemas of the installed planners, as the Conductor\n"
	  "would, and prints every error as FILE:LINE:COL: message (exit 1), or\n"
	  "\"FILE: N resources, valid\" (exit 0). No Conductor is needed.\n"
	  "\n"
	  "options:\n"
	  "  -p, --planners-dir DIR   the planners to load (default: $FUGUE_PLANNERS_DIR,\n"
	  "                           else " FUGUE_DEFAULT_PLANNERS_DIR ")\n"
	  "\n"
	  "--json prints {\"file\", \"valid\", \"resources\", \"diagnostics\"}.\n" },
	{ "graph", fugue_cmd_graph, "a dependency graph as Graphviz dot",
	  "usage: fugue graph ALIAS|FILE [--planners-dir DIR]\n"
	  "\n"
	  "Prints the dependency graph of a composition file (compiled offline, as\n"
	  "`validate` does) or of a running process (asked of the Conductor) in\n"
	  "Graphviz dot: one node per resource, labelled with its name and type, and\n"
	  "an edge from each resource to every resource it depends on (`!ref`).\n"
	  "An argument that names an existing file, contains '/' or ends in .yaml or\n"
	  ".yml is a FILE; anything else is a process's ALIAS or FID.\n"
	  "\n"
	  "  fugue graph web.yaml | dot -Tsvg > web.svg\n"
	  "\n"
	  "options:\n"
	  "  -p, --planners-dir DIR   for a FILE: the planners to load (as in `validate`)\n"
	  "\n"
	  "--json prints {\"name\", \"nodes\": [{\"name\", \"type\"}], \"edges\": [{\"from\", \"to\"}]}.\n" },
	{ NULL, NULL, NULL, NULL },
};

/* Commands that never talk to the Conductor (or, graph, only sometimes):
 * a broken fugue.yaml must not stop them. */
static int is_offline(const char *name)
{
	return strcmp(name, "init") == 0 || strcmp(name, "validate") == 0 ||
	       strcmp(name, "graph") == 0;
}

static const fugue_cli_command *find_command(const char *name)
{
	const fugue_cli_command *c;

	for (c = fugue_cli_commands; c->name; c++) {
		if (strcmp(c->name, name) == 0)
			return c;
	}
	return NULL;
}

static void print_help(FILE *f)
{
	const fugue_cli_command *c;

	fprintf(f, "usage: fugue [--json] [--conductor ADDR] [--no-color] COMMAND [ARGS...]\n"
	           "\n"
	           "Runs compositions of AWS resources as processes in the Conductor, which\n"
	           "creates them and keeps them as declared.\n"
	           "\n"
	           "commands:\n");
	for (c = fugue_cli_commands; c->name; c++)
		fprintf(f, "  %-10s %s\n", c->name, c->summary);
	fprintf(f, "\n" GLOBAL_HELP
	           "  -h, --help         this help; `fugue COMMAND --help` for one command\n"
	           "  --version          print the version\n"
	           "\n" EXIT_HELP);
}

static void print_command_help(const fugue_cli_command *c)
{
	fputs(c->usage, stdout);
	fputs("\n" GLOBAL_HELP "\n" EXIT_HELP, stdout);
}

static void print_version(void)
{
	printf("fugue %s (protocol %d)\n", FUGUE_VERSION, FUGUE_PROTOCOL_VERSION);
}

static int unknown_command(const fugue_cli *cli, const char *name)
{
	const char *names[64];
	const char *guess;
	size_t n = 0;
	const fugue_cli_command *c;

	for (c = fugue_cli_commands; c->name && n < sizeof(names) / sizeof(names[0]); c++)
		names[n++] = c->name;
	guess = fugue_did_you_mean(name, names, n);
	fugue_cli_error(cli, "unknown command '%s'", name);
	if (guess)
		fugue_cli_hint(cli, "did you mean `fugue %s`? `fugue --help` lists the commands", guess);
	else
		fugue_cli_hint(cli, "`fugue --help` lists the commands");
	return FUGUE_EXIT_USAGE;
}

/* NO_COLOR (no-color.org): set and not empty turns colour off. */
static int color_allowed(int fd, int no_color_flag)
{
	const char *no_color = getenv("NO_COLOR");
	const char *term = getenv("TERM");

	if (no_color_flag || (no_color && *no_color))
		return 0;
	if (term && strcmp(term, "dumb") == 0)
		return 0;
	return isatty(fd);
}

/* Takes the global options out of ARGV (before `--`); *ARGC shrinks.
 * Returns 0 or FUGUE_EXIT_USAGE (printed). */
static int take_globals(fugue_cli *cli, int *argc, char **argv, const char **conductor,
                        int *no_color)
{
	int in = 1;
	int out = 1;
	int rest = 0;

	while (in < *argc) {
		char *a = argv[in];

		if (rest || strcmp(a, "--") == 0) {
			rest = 1;
			argv[out++] = argv[in++];
		} else if (strcmp(a, "--json") == 0) {
			cli->json = 1;
			in++;
		} else if (strcmp(a, "--no-color") == 0 || strcmp(a, "--no-colour") == 0) {
			*no_color = 1;
			in++;
		} else if (strncmp(a, "--conductor=", 12) == 0) {
			*conductor = a + 12;
			in++;
		} else if (strcmp(a, "--conductor") == 0) {
			if (in + 1 >= *argc)
				return fugue_cli_usage_error(cli, NULL, "--conductor needs a socket path");
			*conductor = argv[in + 1];
			in += 2;
		} else {
			argv[out++] = argv[in++];
		}
	}
	argv[out] = NULL;
	*argc = out;
	if (*conductor && !**conductor)
		return fugue_cli_usage_error(cli, NULL, "--conductor needs a socket path, not ''");
	return 0;
}

/* Nonzero when ARGV (a command's) asks for help before `--`. */
static int wants_help(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return 0;
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return 1;
	}
	return 0;
}

static void init_cli(fugue_cli *cli)
{
	const char *codeset;

	memset(cli, 0, sizeof(*cli));
	cli->prog = "fugue";
	setlocale(LC_ALL, "");
	codeset = nl_langinfo(CODESET);
	cli->utf8 = codeset && strcmp(codeset, "UTF-8") == 0;
	cli->tty_out = isatty(STDOUT_FILENO);
	cli->tty_in = isatty(STDIN_FILENO);
	cli->color_err = color_allowed(STDERR_FILENO, 0);
}

int main(int argc, char **argv)
{
	const fugue_cli_command *cmd;
	const char *conductor = NULL;
	int no_color = 0;
	fugue_cli cli;
	int rc;

	init_cli(&cli);
	/* Event lines of a piped `fugue run` must reach a log as they happen. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	rc = take_globals(&cli, &argc, argv, &conductor, &no_color);
	if (rc != 0)
		return rc;
	cli.color = color_allowed(STDOUT_FILENO, no_color);
	cli.color_err = color_allowed(STDERR_FILENO, no_color);

	if (argc < 2) {
		print_help(stderr);
		return FUGUE_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		print_help(stdout);
		return FUGUE_EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
		print_version();
		return FUGUE_EXIT_OK;
	}
	if (strcmp(argv[1], "help") == 0) {
		if (argc < 3) {
			print_help(stdout);
			return FUGUE_EXIT_OK;
		}
		cmd = find_command(argv[2]);
		if (!cmd)
			return unknown_command(&cli, argv[2]);
		print_command_help(cmd);
		return FUGUE_EXIT_OK;
	}
	if (argv[1][0] == '-')
		return fugue_cli_usage_error(&cli, NULL, "unknown option '%s'", argv[1]);
	cmd = find_command(argv[1]);
	if (!cmd)
		return unknown_command(&cli, argv[1]);
	if (wants_help(argc - 1, argv + 1)) {
		print_command_help(cmd);
		return FUGUE_EXIT_OK;
	}
	if (!is_offline(cmd->name)) {
		rc = fugue_cli_find_conductor(&cli, conductor);
		if (rc != 0)
			return rc;
	} else if (conductor) {
		/* Offline commands resolve lazily (graph ALIAS), but honour the flag. */
		cli.conductor = conductor;
		cli.conductor_from = "--conductor";
	}
	/* getopt_long in the command starts at argv[1]. */
	optind = 1;
	rc = cmd->fn(&cli, argc - 1, argv + 1);
	if (fflush(stdout) != 0 && rc == FUGUE_EXIT_OK) {
		fugue_cli_error(&cli, "cannot write the output");
		rc = FUGUE_EXIT_FAILED;
	}
	return rc;
}
