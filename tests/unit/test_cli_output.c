/* test_cli_output.c - the shared layer of `fugue` (cli/src/output.c,
 * conductor_addr.c): display widths, tables, colour on and off, times,
 * confirmation without a terminal, and where the Conductor is found. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "testmain.h"

static fugue_cli plain_cli(void)
{
	fugue_cli cli;

	memset(&cli, 0, sizeof(cli));
	cli.prog = "fugue";
	return cli;
}

/* Runs the table through a memory stream; returns the malloc'd text. */
static char *table_text(const fugue_cli *cli, const fugue_table *t)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	CU_ASSERT_FATAL(f != NULL);
	fugue_table_print(cli, t, f);
	fclose(f);
	return text;
}

/* The display column where NEEDLE starts in LINE (its first occurrence). */
static size_t column_of(const char *line, const char *needle)
{
	const char *at = strstr(line, needle);
	char *prefix;
	size_t w;

	if (!at)
		return (size_t)-1;
	prefix = strndup(line, (size_t)(at - line));
	w = fugue_cli_display_width(prefix);
	free(prefix);
	return w;
}

/* Splits TEXT into at most 8 lines (in place). */
static size_t split_lines(char *text, char **lines)
{
	size_t n = 0;
	char *save = NULL;
	char *l;

	for (l = strtok_r(text, "\n", &save); l && n < 8; l = strtok_r(NULL, "\n", &save))
		lines[n++] = l;
	return n;
}

/* --- widths ----------------------------------------------------------------------- */

static void test_width(void)
{
	CU_ASSERT_EQUAL(fugue_cli_display_width(""), 0);
	CU_ASSERT_EQUAL(fugue_cli_display_width(NULL), 0);
	CU_ASSERT_EQUAL(fugue_cli_display_width("vpc"), 3);
	CU_ASSERT_EQUAL(fugue_cli_display_width("\xe2\x86\x92"), 1);             /* → */
	CU_ASSERT_EQUAL(fugue_cli_display_width("caf\xc3\xa9"), 4);              /* café */
	CU_ASSERT_EQUAL(fugue_cli_display_width("cafe\xcc\x81"), 4);             /* e + combining acute */
	CU_ASSERT_EQUAL(fugue_cli_display_width("\xe6\x97\xa5\xe6\x9c\xac"), 4); /* 日本 */
	CU_ASSERT_EQUAL(fugue_cli_display_width("\xf0\x9f\x9a\x80"), 2);         /* rocket emoji */
	CU_ASSERT_EQUAL(fugue_cli_display_width("\033[31mred\033[0m"), 3);
	/* An invalid byte is one column, and does not swallow what follows. */
	CU_ASSERT_EQUAL(fugue_cli_display_width("a\xff" "b"), 3);
	CU_ASSERT_EQUAL(fugue_cli_display_width("\xe6\x97"), 2);
}

/* --- tables ----------------------------------------------------------------------- */

static void test_table_utf8(void)
{
	static const char *const headers[] = { "NAME", "TYPE", "STATUS" };
	static const char *const r1[] = { "\xe6\x97\xa5\xe6\x9c\xac-net", "AWS.VPC.Vpc", "Ready" };
	static const char *const r2[] = { "caf\xc3\xa9", NULL, "Failed" };
	fugue_cli cli = plain_cli();
	fugue_table *t = fugue_table_new(3, headers);
	char *lines[8];
	char *text;
	size_t n;
	size_t i;

	CU_ASSERT_FATAL(t != NULL);
	CU_ASSERT_EQUAL(fugue_table_add(t, r1, NULL), 0);
	CU_ASSERT_EQUAL(fugue_table_add(t, r2, NULL), 0);
	text = table_text(&cli, t);
	CU_ASSERT_FATAL(text != NULL);
	n = split_lines(text, lines);
	CU_ASSERT_EQUAL_FATAL(n, 3);
	/* "日本-net" is 8 columns wide: the second column starts at 10. */
	CU_ASSERT_EQUAL(column_of(lines[0], "TYPE"), 10);
	CU_ASSERT_EQUAL(column_of(lines[1], "AWS.VPC.Vpc"), 10);
	CU_ASSERT_EQUAL(column_of(lines[2], "-"), 10);
	CU_ASSERT_EQUAL(column_of(lines[0], "STATUS"), 23);
	CU_ASSERT_EQUAL(column_of(lines[1], "Ready"), 23);
	CU_ASSERT_EQUAL(column_of(lines[2], "Failed"), 23);
	/* No escapes without colour, no trailing blanks. */
	for (i = 0; i < n; i++) {
		CU_ASSERT_PTR_NULL(strchr(lines[i], '\033'));
		CU_ASSERT_NOT_EQUAL(lines[i][strlen(lines[i]) - 1], ' ');
	}
	free(text);
	fugue_table_free(t);
}

static void test_table_color(void)
{
	static const char *const headers[] = { "STATE", "ALIAS" };
	static const char *const r1[] = { "Failed", "web" };
	static const char *const r2[] = { "Running", "db" };
	static const fugue_cli_color c1[] = { FUGUE_COLOR_RED, FUGUE_COLOR_NONE };
	fugue_cli cli = plain_cli();
	fugue_table *t = fugue_table_new(2, headers);
	char *lines[8];
	char *text;

	cli.color = 1;
	CU_ASSERT_FATAL(t != NULL);
	CU_ASSERT_EQUAL(fugue_table_add(t, r1, c1), 0);
	CU_ASSERT_EQUAL(fugue_table_add(t, r2, NULL), 0);
	text = table_text(&cli, t);
	CU_ASSERT_FATAL(text != NULL);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "\033[1mSTATE\033[0m"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "\033[31mFailed\033[0m"));
	CU_ASSERT_EQUAL_FATAL(split_lines(text, lines), 3);
	/* Escapes take no column: the alias column lines up. */
	CU_ASSERT_EQUAL(column_of(lines[0], "ALIAS"), 9);
	CU_ASSERT_EQUAL(column_of(lines[1], "web"), 9);
	CU_ASSERT_EQUAL(column_of(lines[2], "db"), 9);
	free(text);
	fugue_table_free(t);
}

static void test_color_switch(void)
{
	fugue_cli cli = plain_cli();

	CU_ASSERT_STRING_EQUAL(fugue_cli_color_on(&cli, FUGUE_COLOR_RED), "");
	CU_ASSERT_STRING_EQUAL(fugue_cli_reset(&cli), "");
	cli.color = 1;
	CU_ASSERT_STRING_EQUAL(fugue_cli_color_on(&cli, FUGUE_COLOR_RED), "\033[31m");
	CU_ASSERT_STRING_EQUAL(fugue_cli_color_on(&cli, FUGUE_COLOR_NONE), "");
	CU_ASSERT_STRING_EQUAL(fugue_cli_reset(&cli), "\033[0m");
	CU_ASSERT_STRING_EQUAL(fugue_cli_color_on(NULL, FUGUE_COLOR_RED), "");
}

/* --- stderr capture --------------------------------------------------------------- */

struct capture {
	int saved;
	FILE *file;
};

static void capture_start(struct capture *c)
{
	fflush(stderr);
	c->file = tmpfile();
	CU_ASSERT_FATAL(c->file != NULL);
	c->saved = dup(STDERR_FILENO);
	dup2(fileno(c->file), STDERR_FILENO);
}

/* Returns what was written to stderr since capture_start (malloc'd). */
static char *capture_end(struct capture *c)
{
	char *text;
	long len;

	fflush(stderr);
	dup2(c->saved, STDERR_FILENO);
	close(c->saved);
	len = ftell(c->file);
	text = calloc(1, (size_t)(len > 0 ? len : 0) + 1);
	rewind(c->file);
	if (len > 0 && fread(text, 1, (size_t)len, c->file) != (size_t)len)
		text[0] = '\0';
	fclose(c->file);
	return text;
}

static void test_errors(void)
{
	fugue_cli cli = plain_cli();
	struct capture cap;
	char *text;
	int rc;

	capture_start(&cap);
	fugue_cli_error(&cli, "no process '%s'", "web");
	fugue_cli_hint(&cli, "`fugue status` lists the processes");
	rc = fugue_cli_usage_error(&cli, "run", "missing FILE");
	text = capture_end(&cap);
	CU_ASSERT_EQUAL(rc, FUGUE_EXIT_USAGE);
	CU_ASSERT_STRING_EQUAL(text, "fugue: error: no process 'web'\n"
	                             "  hint: `fugue status` lists the processes\n"
	                             "fugue: error: missing FILE\n"
	                             "  hint: try `fugue run --help`\n");
	free(text);

	cli.color_err = 1;
	capture_start(&cap);
	fugue_cli_error(&cli, "boom");
	text = capture_end(&cap);
	CU_ASSERT_STRING_EQUAL(text, "fugue: \033[31merror\033[0m: boom\n");
	free(text);
}

static void test_confirm_no_tty(void)
{
	fugue_cli cli = plain_cli();
	struct capture cap;
	char *text;

	capture_start(&cap);
	CU_ASSERT_EQUAL(fugue_cli_confirm(&cli, "kill process web (3 resources)?"), 0);
	text = capture_end(&cap);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "kill process web (3 resources)?"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "-y"));
	free(text);
}

static void test_time(void)
{
	char buf[64];
	char *tz = getenv("TZ") ? strdup(getenv("TZ")) : NULL;

	setenv("TZ", "UTC", 1);
	tzset();
	CU_ASSERT_STRING_EQUAL(fugue_cli_time(buf, sizeof(buf), "2026-11-22T10:00:00.000Z"),
	                       "2026-11-22 10:00:00");
	setenv("TZ", "CET-1", 1);
	tzset();
	CU_ASSERT_STRING_EQUAL(fugue_cli_time(buf, sizeof(buf), "2026-11-22T10:00:00.000Z"),
	                       "2026-11-22 11:00:00");
	CU_ASSERT_STRING_EQUAL(fugue_cli_time(buf, sizeof(buf), "2026-11-22T23:59:59Z"),
	                       "2026-11-23 00:59:59");
	CU_ASSERT_STRING_EQUAL(fugue_cli_time(buf, sizeof(buf), NULL), "-");
	/* Not what the Conductor sends: shown as it came. */
	CU_ASSERT_STRING_EQUAL(fugue_cli_time(buf, sizeof(buf), "yesterday"), "yesterday");
	if (tz) {
		setenv("TZ", tz, 1);
		free(tz);
	} else {
		unsetenv("TZ");
	}
	tzset();
}

/* --- where the Conductor is --------------------------------------------------------- */

static char *tmp;
static char *old_cwd;

static int addr_init(void)
{
	tmp = fugue_test_tmpdir();
	old_cwd = getcwd(NULL, 0);
	if (!tmp || !old_cwd || chdir(tmp) != 0)
		return 1;
	unsetenv("FUGUE_CONDUCTOR");
	return 0;
}

static int addr_cleanup(void)
{
	int rc = old_cwd ? chdir(old_cwd) : 0;

	fugue_test_rmtree(tmp);
	free(tmp);
	free(old_cwd);
	return rc != 0;
}

static void write_yaml(const char *content)
{
	char *path = fugue_test_write_file(tmp, "fugue.yaml", content);

	free(path);
}

static void test_addr_order(void)
{
	fugue_cli cli = plain_cli();

	unlink("fugue.yaml");
	CU_ASSERT_EQUAL(fugue_cli_find_conductor(&cli, NULL), 0);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(cli.conductor), FUGUE_CLI_DEFAULT_SOCKET);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(cli.conductor_from), "default");
	CU_ASSERT_PTR_NULL(cli.conductor_file);

	write_yaml("# mine\nconductor:\n  socket: /tmp/from-yaml.sock\n  region: eu-west-1\n");
	CU_ASSERT_EQUAL(fugue_cli_find_conductor(&cli, NULL), 0);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(cli.conductor), "/tmp/from-yaml.sock");
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(cli.conductor_from), "fugue.yaml");
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(cli.conductor_file), "fugue.yaml");

	setenv("FUGUE_CONDUCTOR", "/tmp/from-env.sock", 1);
	CU_ASSERT_EQUAL(fugue_cli_find_conductor(&cli, NULL), 0);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(cli.conductor), "/tmp/from-env.sock");
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(cli.conductor_from), "FUGUE_CONDUCTOR");

	CU_ASSERT_EQUAL(fugue_cli_find_conductor(&cli, "/tmp/from-flag.sock"), 0);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(cli.conductor), "/tmp/from-flag.sock");
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(cli.conductor_from), "--conductor");

	/* An empty variable is no variable. */
	setenv("FUGUE_CONDUCTOR", "", 1);
	CU_ASSERT_EQUAL(fugue_cli_find_conductor(&cli, NULL), 0);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(cli.conductor_from), "fugue.yaml");
	unsetenv("FUGUE_CONDUCTOR");
}

static void test_addr_no_socket(void)
{
	fugue_cli cli = plain_cli();

	/* A fugue.yaml without conductor.socket (or empty) falls through. */
	write_yaml("conductor:\n  region: eu-west-1\n");
	CU_ASSERT_EQUAL(fugue_cli_find_conductor(&cli, NULL), 0);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(cli.conductor_from), "default");
	write_yaml("");
	CU_ASSERT_EQUAL(fugue_cli_find_conductor(&cli, NULL), 0);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(cli.conductor_from), "default");
	write_yaml("other: 1\n");
	CU_ASSERT_EQUAL(fugue_cli_find_conductor(&cli, NULL), 0);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(cli.conductor_from), "default");
}

/* A broken fugue.yaml is an error naming file:line:col, exit 2. */
static void check_bad_yaml(const char *content, const char *expect)
{
	fugue_cli cli = plain_cli();
	struct capture cap;
	char *text;
	int rc;

	write_yaml(content);
	capture_start(&cap);
	rc = fugue_cli_find_conductor(&cli, NULL);
	text = capture_end(&cap);
	CU_ASSERT_EQUAL(rc, FUGUE_EXIT_USAGE);
	if (!strstr(text, expect))
		fprintf(stdout, "\nexpected '%s' in: %s", expect, text);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, expect));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "hint:"));
	free(text);
}

static void test_addr_bad_yaml(void)
{
	check_bad_yaml("conductor:\n  socket: [unclosed\n", "fugue.yaml:");
	check_bad_yaml("conductor: /run/x.sock\n", "fugue.yaml:1:12: conductor must be a mapping");
	check_bad_yaml("conductor:\n  socket: 42\n",
	               "fugue.yaml:2:11: conductor.socket must be a path");
	check_bad_yaml("conductor:\n  socket: \"\"\n", "fugue.yaml:2:11: conductor.socket is empty");
	check_bad_yaml("- a\n- b\n", "fugue.yaml:1:1: expected a mapping");
	check_bad_yaml("conductor:\n  socket: /a\n  socket: /b\n", "fugue.yaml:3:3:");
	/* Flags and the environment win without reading the file at all. */
	{
		fugue_cli cli = plain_cli();

		CU_ASSERT_EQUAL(fugue_cli_find_conductor(&cli, "/tmp/x.sock"), 0);
	}
}

int fugue_test_register(void)
{
	CU_pSuite out = CU_add_suite("output", NULL, NULL);
	CU_pSuite addr = CU_add_suite("conductor_addr", addr_init, addr_cleanup);

	if (!out || !addr)
		return 1;
	if (!CU_add_test(out, "display width", test_width) ||
	    !CU_add_test(out, "table with UTF-8", test_table_utf8) ||
	    !CU_add_test(out, "table with colour", test_table_color) ||
	    !CU_add_test(out, "colour on and off", test_color_switch) ||
	    !CU_add_test(out, "errors and hints", test_errors) ||
	    !CU_add_test(out, "confirm without a terminal", test_confirm_no_tty) ||
	    !CU_add_test(out, "time", test_time))
		return 1;
	if (!CU_add_test(addr, "precedence", test_addr_order) ||
	    !CU_add_test(addr, "no socket named", test_addr_no_socket) ||
	    !CU_add_test(addr, "bad fugue.yaml", test_addr_bad_yaml))
		return 1;
	return 0;
}
