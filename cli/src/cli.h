/* cli.h - what every `fugue` command shares: the invocation (global
 * options, terminal facts), the connection to the Conductor, and output
 * (tables, colour, JSON, progress, confirmation).
 *
 * Shape: main.c removes the global options (--json, --conductor ADDR,
 * --no-color) from anywhere in argv, answers `fugue CMD --help` from the
 * command table, and calls the command's function with argv[0] = the
 * command's name. A command parses its own options (getopt_long), does its
 * work, prints either human output or exactly one JSON document on stdout
 * (cli->json), errors as one line on stderr, and returns an exit code. */
#ifndef FUGUE_CLI_H
#define FUGUE_CLI_H

#include <stdio.h>

struct json_object;

/* Exit codes (DESIGN §5). */
#define FUGUE_EXIT_OK 0
#define FUGUE_EXIT_FAILED 1
#define FUGUE_EXIT_USAGE 2
#define FUGUE_EXIT_UNREACHABLE 3
/* `run`/`update`/`kill` interrupted by Ctrl-C while waiting: the job goes on
 * in the Conductor (the shell's convention for SIGINT, 128 + 2). */
#define FUGUE_EXIT_DETACHED 130

/* The invocation. Filled by main.c before a command runs; read-only after. */
typedef struct fugue_cli {
	const char *prog;             /* "fugue" */
	int json;                     /* --json: one JSON document on stdout */
	int color;                    /* colour on stdout: a terminal, no NO_COLOR, no --no-color */
	int color_err;                /* the same for stderr */
	int tty_out;                  /* stdout is a terminal (live progress line) */
	int tty_in;                   /* stdin is a terminal (confirmation prompts) */
	int utf8;                     /* the locale is UTF-8 ("→" rather than "->") */
	/* The Conductor's socket, and where that came from, for error hints:
	 * "--conductor", "FUGUE_CONDUCTOR", "fugue.yaml" (FILE), or "default". */
	const char *conductor;
	const char *conductor_from;
	const char *conductor_file;   /* the fugue.yaml it came from, or NULL */
} fugue_cli;

/* A command. ARGV[0] is the command's name, global options removed.
 * Returns an exit code. */
typedef int (*fugue_cli_fn)(const fugue_cli *cli, int argc, char **argv);

typedef struct fugue_cli_command {
	const char *name;
	fugue_cli_fn fn;
	const char *summary;          /* one line for `fugue --help` */
	const char *usage;            /* the full `fugue CMD --help` text */
} fugue_cli_command;

/* The commands, in the order `fugue --help` lists them; NULL-name ended. */
extern const fugue_cli_command fugue_cli_commands[];

/* Every command's entry (one file each, cmd_*.c). */
int fugue_cmd_init(const fugue_cli *cli, int argc, char **argv);
int fugue_cmd_run(const fugue_cli *cli, int argc, char **argv);
int fugue_cmd_status(const fugue_cli *cli, int argc, char **argv);
int fugue_cmd_update(const fugue_cli *cli, int argc, char **argv);
int fugue_cmd_history(const fugue_cli *cli, int argc, char **argv);
int fugue_cmd_suspend(const fugue_cli *cli, int argc, char **argv);
int fugue_cmd_resume(const fugue_cli *cli, int argc, char **argv);
int fugue_cmd_kill(const fugue_cli *cli, int argc, char **argv);
int fugue_cmd_release(const fugue_cli *cli, int argc, char **argv);
int fugue_cmd_property(const fugue_cli *cli, int argc, char **argv);
int fugue_cmd_runtime(const fugue_cli *cli, int argc, char **argv);
int fugue_cmd_validate(const fugue_cli *cli, int argc, char **argv);
int fugue_cmd_graph(const fugue_cli *cli, int argc, char **argv);

/* --- errors -------------------------------------------------------------------- */

/* "fugue: MESSAGE" on stderr (one line; "error" in red on a terminal). */
void fugue_cli_error(const fugue_cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "fugue: warning: MESSAGE" on stderr (one line; "warning" in yellow on a
 * terminal). */
void fugue_cli_warning(const fugue_cli *cli, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* "  hint: MESSAGE" on stderr, after an error. */
void fugue_cli_hint(const fugue_cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A usage error: the message, "try `fugue CMD --help`", returns FUGUE_EXIT_USAGE. */
int fugue_cli_usage_error(const fugue_cli *cli, const char *command, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* strerror(ERR) starting in lower case, as every message is. A static
 * buffer, valid until the next call. */
const char *fugue_cli_strerror(int err);

/* After getopt_long (an optstring starting with ":") returned OPT '?' or
 * ':': prints "unknown option '--x'" or "option '--x' needs a value" as a
 * usage error for COMMAND, from optind/optopt. Returns FUGUE_EXIT_USAGE. */
int fugue_cli_bad_option(const fugue_cli *cli, const char *command, int opt, int argc,
                         char **argv);

/* --- the Conductor ---------------------------------------------------------------- */

typedef struct fugue_client fugue_client;

/* Connects to cli->conductor. On failure prints the reason and a hint
 * (nothing listening: how to start conductord; permission denied: the
 * socket's group and how to join it; no such file: which source named the
 * path) and returns FUGUE_EXIT_UNREACHABLE; on success 0 with *OUT the
 * caller's (fugue_client_close). Checks the protocol version with `ping`:
 * a Conductor speaking another version is FUGUE_EXIT_UNREACHABLE too, with
 * both versions named. */
int fugue_client_connect(fugue_client **out, const fugue_cli *cli);

/* An event of a streamed answer: EVENT ("plan", "progress", "job") and its
 * DATA, both borrowed for the call. */
typedef void (*fugue_client_event_fn)(const char *event, const struct json_object *data,
                                      void *payload);

/* Sends COMMAND with ARGS (borrowed; NULL: {}), calls ON_EVENT (may be
 * NULL) for each event, and stores the final message (the whole envelope:
 * "ok" and "result" or "error") in *FINAL (the caller's, json_object_put).
 * Returns 0 when a final message arrived; FUGUE_EXIT_DETACHED when the
 * user pressed Ctrl-C while waiting (SIGINT is caught only inside this
 * call; *FINAL NULL, nothing printed); FUGUE_EXIT_UNREACHABLE when the
 * connection broke (printed). */
int fugue_client_request(fugue_client *c, const char *command, const struct json_object *args,
                         fugue_client_event_fn on_event, void *payload,
                         struct json_object **final);

void fugue_client_close(fugue_client *c);

/* One request on a new connection, for commands that make only one:
 * connect, request, close. Returns as fugue_client_request, or
 * FUGUE_EXIT_UNREACHABLE from connecting. */
int fugue_cli_call(const fugue_cli *cli, const char *command, const struct json_object *args,
                   fugue_client_event_fn on_event, void *payload, struct json_object **final);

/* The final message FINAL was an error: prints it as one line with a hint
 * where one helps (locked: how to unlock; not_found: `fugue status`;
 * invalid_composition: every diagnostic as FILE:LINE:COL: message), or, with
 * cli->json, prints the error as the JSON document. Returns the exit code:
 * FUGUE_EXIT_USAGE for bad_args / unknown_command / protocol, else
 * FUGUE_EXIT_FAILED. */
int fugue_cli_report_error(const fugue_cli *cli, const struct json_object *final);

/* The "result" of an ok FINAL, borrowed; NULL when FINAL is an error. */
const struct json_object *fugue_cli_result(const struct json_object *final);

/* --- output ------------------------------------------------------------------------ */

/* Prints O as the command's JSON document (pretty, one document, newline). */
void fugue_cli_print_json(const fugue_cli *cli, const struct json_object *o);

typedef enum fugue_cli_color {
	FUGUE_COLOR_NONE,
	FUGUE_COLOR_RED,
	FUGUE_COLOR_GREEN,
	FUGUE_COLOR_YELLOW,
	FUGUE_COLOR_BLUE,
	FUGUE_COLOR_BOLD,
	FUGUE_COLOR_DIM
} fugue_cli_color;

/* The escape sequence that starts COLOR on stdout, or "" when cli->color
 * is off; fugue_cli_reset(cli) ends it ("" likewise). Static strings. */
const char *fugue_cli_color_on(const fugue_cli *cli, fugue_cli_color color);
const char *fugue_cli_reset(const fugue_cli *cli);

/* An aligned table: columns padded to their widest cell (by display width,
 * UTF-8 aware; colour escapes do not count), two spaces apart, header in
 * bold on a terminal. */
typedef struct fugue_table fugue_table;

fugue_table *fugue_table_new(size_t ncols, const char *const *headers);
/* Adds a row of NCOLS cells (copied; NULL prints "-"). COLORS (may be
 * NULL) colours cells. Returns 0 or FUGUE_ENOMEM. */
int fugue_table_add(fugue_table *t, const char *const *cells, const fugue_cli_color *colors);
void fugue_table_print(const fugue_cli *cli, const fugue_table *t, FILE *f);
void fugue_table_free(fugue_table *t);

/* Columns S takes on a terminal: UTF-8 decoded, East Asian wide and emoji
 * 2, combining marks 0, ANSI colour escapes 0: for anything aligned or
 * truncated by hand (the progress line). */
size_t fugue_cli_display_width(const char *s);

/* An RFC 3339 time from the Conductor ("2026-11-22T10:00:00.000Z") shown
 * for people: local "2026-11-22 11:00:00", or "-" for NULL. Writes BUF. */
const char *fugue_cli_time(char *buf, size_t size, const char *rfc3339);

/* Asks QUESTION ("kill process web (3 resources)?") on a terminal and reads
 * y/yes. Returns 1 yes, 0 no. Without a terminal on stdin it does not ask:
 * prints that -y is needed and returns 0. */
int fugue_cli_confirm(const fugue_cli *cli, const char *question);

/* --- the Conductor's address -------------------------------------------------------- */

/* Finds the Conductor's socket: --conductor ADDR (FLAG, may be NULL), else
 * $FUGUE_CONDUCTOR, else `conductor.socket` of ./fugue.yaml, else
 * /run/fugue/conductor.sock; fills cli->conductor*. A fugue.yaml that does
 * not parse is an error (printed, FILE:LINE:COL) and returns
 * FUGUE_EXIT_USAGE; else 0. */
int fugue_cli_find_conductor(fugue_cli *cli, const char *flag);

#define FUGUE_CLI_DEFAULT_SOCKET "/run/fugue/conductor.sock"

#endif
