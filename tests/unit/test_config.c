/* test_config.c - conductord's configuration (config.c): defaults, every
 * key, every kind of mistake with its exact `file:line:col: message`, the
 * file / environment / flag precedence; and the sd_notify glue (systemd.c)
 * against a datagram socket standing in for systemd. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "config.h"
#include "systemd.h"
#include "testmain.h"

#define PLANNERS "/opt/planners"

static char *g_dir;

static int setup(void)
{
	g_dir = fugue_test_tmpdir();
	unsetenv("FUGUE_PLANNERS_DIR");
	return g_dir ? 0 : 1;
}

static int cleanup(void)
{
	fugue_test_rmtree(g_dir);
	free(g_dir);
	g_dir = NULL;
	return 0;
}

/* The diagnostics as printed, one line each; malloc'd. */
static char *diags_text(const fugue_diags *d)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		abort();
	fugue_diags_print(f, d);
	fclose(f);
	return text;
}

/* Parses TEXT (named "c.yaml") over the defaults; *DIAGS_OUT gets the
 * printed diagnostics (malloc'd). Returns the parse's result. */
static int parse(fugue_daemon_config *cfg, char **diags_out, const char *text)
{
	fugue_diags diags = FUGUE_DIAGS_INIT;
	int rc;

	if (fugue_daemon_config_defaults(cfg, PLANNERS) != 0)
		abort();
	rc = fugue_daemon_config_parse(cfg, &diags, "c.yaml", text, strlen(text));
	*diags_out = diags_text(&diags);
	fugue_diags_clear(&diags);
	return rc;
}

/* Asserts that TEXT is refused with exactly EXPECTED as diagnostics. */
static void expect_errors(const char *text, const char *expected)
{
	fugue_daemon_config cfg;
	char *got;
	int rc = parse(&cfg, &got, text);

	CU_ASSERT_EQUAL(rc, FUGUE_EINVAL);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(got), expected);
	if (strcmp(fugue_test_nn(got), expected) != 0)
		fprintf(stderr, "\nfor:\n%s\nexpected:\n%sgot:\n%s", text, expected, got);
	free(got);
	fugue_daemon_config_clear(&cfg);
}

/* --- defaults and good files --------------------------------------------- */

static void test_defaults(void)
{
	fugue_daemon_config cfg;

	CU_ASSERT_EQUAL_FATAL(fugue_daemon_config_defaults(&cfg, PLANNERS), 0);
	CU_ASSERT_STRING_EQUAL(cfg.state_backend, "sqlite");
	CU_ASSERT_STRING_EQUAL(cfg.state_dir, "/var/lib/fugue");
	CU_ASSERT_STRING_EQUAL(cfg.transport, "unix");
	CU_ASSERT_STRING_EQUAL(cfg.socket, "/run/fugue/conductor.sock");
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(cfg.group), "fugue");
	CU_ASSERT_STRING_EQUAL(cfg.planners_dir, PLANNERS);
	CU_ASSERT_EQUAL(cfg.enforce_interval_ms, 30000);
	CU_ASSERT_EQUAL(cfg.report_only, 0);
	CU_ASSERT_EQUAL(cfg.concurrency, 16);
	CU_ASSERT_PTR_NULL(cfg.region);
	CU_ASSERT_EQUAL(cfg.log_level, FUGUE_LOG_INFO);
	fugue_daemon_config_clear(&cfg);
	CU_ASSERT_PTR_NULL(cfg.socket);
}

static void test_every_key(void)
{
	fugue_daemon_config cfg;
	fugue_conductor_config cc;
	char *diags;
	int rc = parse(&cfg, &diags,
	               "# all of it\n"
	               "state: {backend: sqlite, directory: /srv/state}\n"
	               "transport:\n"
	               "  type: unix\n"
	               "  socket: /tmp/c.sock\n"
	               "  group: wheel\n"
	               "planners: {directory: /srv/planners}\n"
	               "enforcement: {interval: 2.5, mode: report}\n"
	               "concurrency: 4\n"
	               "region: eu-west-1\n"
	               "logLevel: debug\n");

	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(diags), "");
	CU_ASSERT_STRING_EQUAL(cfg.state_dir, "/srv/state");
	CU_ASSERT_STRING_EQUAL(cfg.socket, "/tmp/c.sock");
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(cfg.group), "wheel");
	CU_ASSERT_STRING_EQUAL(cfg.planners_dir, "/srv/planners");
	CU_ASSERT_EQUAL(cfg.enforce_interval_ms, 2500);
	CU_ASSERT_EQUAL(cfg.report_only, 1);
	CU_ASSERT_EQUAL(cfg.concurrency, 4);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(cfg.region), "eu-west-1");
	CU_ASSERT_EQUAL(cfg.log_level, FUGUE_LOG_DEBUG);

	fugue_daemon_config_to_conductor(&cc, &cfg);
	CU_ASSERT_EQUAL(cc.version, FUGUE_CONDUCTOR_CONFIG_VERSION);
	CU_ASSERT_PTR_EQUAL(cc.state_dir, cfg.state_dir);
	CU_ASSERT_PTR_EQUAL(cc.planners_dir, cfg.planners_dir);
	CU_ASSERT_PTR_EQUAL(cc.region, cfg.region);
	CU_ASSERT_EQUAL(cc.enforce_interval_ms, 2500);
	CU_ASSERT_EQUAL(cc.report_only, 1);
	CU_ASSERT_EQUAL(cc.concurrency, 4);
	CU_ASSERT_EQUAL(cc.no_aws, 0);
	CU_ASSERT_EQUAL(cc.log_level, FUGUE_LOG_DEBUG);
	free(diags);
	fugue_daemon_config_clear(&cfg);
}

static void test_empty_and_partial(void)
{
	fugue_daemon_config cfg;
	char *diags;

	CU_ASSERT_EQUAL(parse(&cfg, &diags, ""), 0);
	CU_ASSERT_STRING_EQUAL(cfg.socket, FUGUE_DEFAULT_SOCKET);
	free(diags);
	fugue_daemon_config_clear(&cfg);

	CU_ASSERT_EQUAL(parse(&cfg, &diags, "# nothing but a comment\n"), 0);
	CU_ASSERT_EQUAL(cfg.concurrency, FUGUE_DEFAULT_CONCURRENCY);
	free(diags);
	fugue_daemon_config_clear(&cfg);

	/* An empty section, nulls that mean "none", an integer interval. */
	CU_ASSERT_EQUAL(parse(&cfg, &diags,
	                      "state:\nregion: null\ntransport: {group: ~}\n"
	                      "enforcement: {interval: 45}\nlogLevel: WARNING\n"),
	                FUGUE_EINVAL);
	free(diags);
	fugue_daemon_config_clear(&cfg);

	CU_ASSERT_EQUAL(parse(&cfg, &diags,
	                      "state:\nregion: null\ntransport: {group: ~}\n"
	                      "enforcement: {interval: 45}\nlogLevel: warning\n"),
	                0);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(diags), "");
	CU_ASSERT_STRING_EQUAL(cfg.state_dir, FUGUE_DEFAULT_STATE_DIR);
	CU_ASSERT_PTR_NULL(cfg.region);
	CU_ASSERT_PTR_NULL(cfg.group);
	CU_ASSERT_EQUAL(cfg.enforce_interval_ms, 45000);
	CU_ASSERT_EQUAL(cfg.log_level, FUGUE_LOG_WARN);
	free(diags);
	fugue_daemon_config_clear(&cfg);
}

/* Relative paths are relative to the file, not to the daemon's cwd. */
static void test_relative_paths(void)
{
	fugue_daemon_config cfg;
	fugue_diags diags = FUGUE_DIAGS_INIT;
	const char *text = "state: {directory: state}\ntransport: {socket: ../run/c.sock}\n"
	                   "planners: {directory: /abs/planners}\n";

	CU_ASSERT_EQUAL_FATAL(fugue_daemon_config_defaults(&cfg, PLANNERS), 0);
	CU_ASSERT_EQUAL(fugue_daemon_config_parse(&cfg, &diags, "/etc/fugue/c.yaml", text,
	                                          strlen(text)), 0);
	CU_ASSERT_STRING_EQUAL(cfg.state_dir, "/etc/fugue/state");
	CU_ASSERT_STRING_EQUAL(cfg.socket, "/etc/fugue/../run/c.sock");
	CU_ASSERT_STRING_EQUAL(cfg.planners_dir, "/abs/planners");
	fugue_daemon_config_clear(&cfg);

	/* A file named without a directory: paths stay as written. */
	CU_ASSERT_EQUAL_FATAL(fugue_daemon_config_defaults(&cfg, PLANNERS), 0);
	CU_ASSERT_EQUAL(fugue_daemon_config_parse(&cfg, &diags, "c.yaml", text, strlen(text)), 0);
	CU_ASSERT_STRING_EQUAL(cfg.state_dir, "state");
	CU_ASSERT_EQUAL(diags.n, 0);
	fugue_daemon_config_clear(&cfg);
}

/* --- mistakes ---------------------------------------------------------------- */

static void test_unknown_keys(void)
{
	expect_errors("logLevle: debug\n",
	              "c.yaml:1:1: unknown key 'logLevle' (did you mean 'logLevel'?)\n");
	expect_errors("transport:\n  socekt: /x\n",
	              "c.yaml:2:3: unknown key 'socekt' in transport (did you mean 'socket'?)\n");
	expect_errors("colour: blue\n", "c.yaml:1:1: unknown key 'colour'\n");
	expect_errors("enforcement: {intervall: 3, color: red}\n",
	              "c.yaml:1:15: unknown key 'intervall' in enforcement (did you mean "
	              "'interval'?)\n"
	              "c.yaml:1:29: unknown key 'color' in enforcement\n");
}

static void test_wrong_kinds(void)
{
	expect_errors("concurrency: \"16\"\n",
	              "c.yaml:1:14: concurrency: expected an integer, got a string\n");
	expect_errors("transport: [unix]\n",
	              "c.yaml:1:12: transport: expected a mapping, got a list\n");
	expect_errors("state: {directory: 7}\n",
	              "c.yaml:1:20: state.directory: expected a string, got an integer\n");
	expect_errors("enforcement:\n  interval: 30s\n",
	              "c.yaml:2:13: enforcement.interval: expected a number of seconds, got a "
	              "string\n");
	expect_errors("logLevel: true\n",
	              "c.yaml:1:11: logLevel: expected a string, got a boolean\n");
	expect_errors("region: {name: x}\n",
	              "c.yaml:1:9: region: expected a string, got a mapping\n");
	expect_errors("planners: {directory: \"\"}\n",
	              "c.yaml:1:23: planners.directory: must not be empty\n");
	expect_errors("- a\n- b\n", "c.yaml:1:1: expected a mapping of settings, got a list\n");
	expect_errors("just words\n", "c.yaml:1:1: expected a mapping of settings, got a string\n");
}

static void test_bad_values(void)
{
	expect_errors("enforcement: {interval: 0}\n",
	              "c.yaml:1:25: enforcement.interval: expected seconds from 0.001 to 86400, "
	              "got 0\n");
	expect_errors("enforcement: {interval: -3}\n",
	              "c.yaml:1:25: enforcement.interval: expected seconds from 0.001 to 86400, "
	              "got -3\n");
	expect_errors("enforcement: {mode: enforcing}\n",
	              "c.yaml:1:21: enforcement.mode: bad value 'enforcing', expected enforce or "
	              "report (did you mean 'enforce'?)\n");
	expect_errors("concurrency: 0\n",
	              "c.yaml:1:14: concurrency: expected an integer from 1 to 1024, got 0\n");
	expect_errors("concurrency: 5000\n",
	              "c.yaml:1:14: concurrency: expected an integer from 1 to 1024, got 5000\n");
	expect_errors("state: {backend: dynamodb}\n",
	              "c.yaml:1:18: state.backend: bad value 'dynamodb', expected sqlite (the only "
	              "backend for now)\n");
	expect_errors("transport: {type: tcp}\n",
	              "c.yaml:1:19: transport.type: bad value 'tcp', expected unix (the only "
	              "transport for now)\n");
	expect_errors("logLevel: verbose\n",
	              "c.yaml:1:11: logLevel: bad value 'verbose', expected error, warn, info or "
	              "debug\n");
	expect_errors("logLevel: debgu\n",
	              "c.yaml:1:11: logLevel: bad value 'debgu', expected error, warn, info or "
	              "debug (did you mean 'debug'?)\n");
	expect_errors("region: US East\n",
	              "c.yaml:1:9: region: 'US East' is not a region name (e.g. us-east-1)\n");
}

/* Every error of a file at once, in file order. */
static void test_all_errors_sorted(void)
{
	expect_errors("concurrency: many\n"
	              "state:\n"
	              "  backend: sqlite\n"
	              "  directroy: /x\n"
	              "logLevel: loud\n"
	              "concurrency: 3\n",
	              "c.yaml:1:14: concurrency: expected an integer, got a string\n"
	              "c.yaml:4:3: unknown key 'directroy' in state (did you mean 'directory'?)\n"
	              "c.yaml:5:11: logLevel: bad value 'loud', expected error, warn, info or "
	              "debug\n"
	              "c.yaml:6:1: duplicate key 'concurrency' (first at line 1)\n");
}

static void test_syntax_error(void)
{
	fugue_daemon_config cfg;
	char *diags;

	CU_ASSERT_EQUAL(parse(&cfg, &diags, "state: {directory: /x\nregion: a\n"), FUGUE_EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(fugue_test_nn(diags), "c.yaml:"));
	CU_ASSERT_PTR_NOT_NULL(strstr(fugue_test_nn(diags), "syntax error"));
	free(diags);
	fugue_daemon_config_clear(&cfg);
}

/* --- the chain: file, environment, flags -------------------------------------- */

static int load(fugue_daemon_config *cfg, char **diags_out, const fugue_daemon_flags *flags,
                const char *default_config)
{
	fugue_diags diags = FUGUE_DIAGS_INIT;
	int rc = fugue_daemon_config_load(cfg, &diags, flags, default_config, PLANNERS);

	*diags_out = diags_text(&diags);
	fugue_diags_clear(&diags);
	return rc;
}

static void test_missing_files(void)
{
	fugue_daemon_flags flags = { 0 };
	fugue_daemon_config cfg;
	char *missing;
	char *diags;
	char *expected;

	if (asprintf(&missing, "%s/none.yaml", g_dir) < 0)
		abort();
	/* The default path missing: the defaults. */
	CU_ASSERT_EQUAL(load(&cfg, &diags, &flags, missing), 0);
	CU_ASSERT_STRING_EQUAL(cfg.state_dir, FUGUE_DEFAULT_STATE_DIR);
	CU_ASSERT_STRING_EQUAL(cfg.planners_dir, PLANNERS);
	free(diags);
	fugue_daemon_config_clear(&cfg);

	/* The file named by --config missing: an error. */
	flags.config = missing;
	CU_ASSERT_EQUAL(load(&cfg, &diags, &flags, "/nonexistent/default.yaml"), FUGUE_EIO);
	if (asprintf(&expected, "%s: cannot read the config file: no such file or directory\n",
	             missing) < 0)
		abort();
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(diags), expected);
	CU_ASSERT_PTR_NULL(cfg.socket);
	free(expected);
	free(diags);
	free(missing);
}

static void test_precedence(void)
{
	char *file = fugue_test_write_file(g_dir, "p.yaml",
	                                   "transport: {socket: /file.sock}\n"
	                                   "state: {directory: /file-state}\n"
	                                   "planners: {directory: /file-planners}\n"
	                                   "enforcement: {interval: 10}\nlogLevel: warn\n");
	fugue_daemon_flags flags = { 0 };
	fugue_daemon_config cfg;
	char *diags;

	flags.config = file;
	CU_ASSERT_EQUAL(load(&cfg, &diags, &flags, NULL), 0);
	CU_ASSERT_STRING_EQUAL(cfg.socket, "/file.sock");
	CU_ASSERT_STRING_EQUAL(cfg.planners_dir, "/file-planners");
	CU_ASSERT_EQUAL(cfg.enforce_interval_ms, 10000);
	free(diags);
	fugue_daemon_config_clear(&cfg);

	/* The environment beats the file... */
	setenv("FUGUE_PLANNERS_DIR", "/env-planners", 1);
	CU_ASSERT_EQUAL(load(&cfg, &diags, &flags, NULL), 0);
	CU_ASSERT_STRING_EQUAL(cfg.planners_dir, "/env-planners");
	free(diags);
	fugue_daemon_config_clear(&cfg);

	/* ... and the flags beat both. */
	flags.socket = "/flag.sock";
	flags.state_dir = "/flag-state";
	flags.planners_dir = "/flag-planners";
	flags.enforce_interval = "0.25";
	flags.log_level = "debug";
	CU_ASSERT_EQUAL(load(&cfg, &diags, &flags, NULL), 0);
	CU_ASSERT_STRING_EQUAL(cfg.socket, "/flag.sock");
	CU_ASSERT_STRING_EQUAL(cfg.state_dir, "/flag-state");
	CU_ASSERT_STRING_EQUAL(cfg.planners_dir, "/flag-planners");
	CU_ASSERT_EQUAL(cfg.enforce_interval_ms, 250);
	CU_ASSERT_EQUAL(cfg.log_level, FUGUE_LOG_DEBUG);
	free(diags);
	fugue_daemon_config_clear(&cfg);
	unsetenv("FUGUE_PLANNERS_DIR");

	/* A bad flag value is refused with the flag's name. */
	flags.enforce_interval = "soon";
	CU_ASSERT_EQUAL(load(&cfg, &diags, &flags, NULL), FUGUE_EINVAL);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(diags),
	                       "--enforce-interval: expected seconds from 0.001 to 86400, got "
	                       "'soon'\n");
	free(diags);
	flags.enforce_interval = NULL;
	flags.log_level = "chatty";
	CU_ASSERT_EQUAL(load(&cfg, &diags, &flags, NULL), FUGUE_EINVAL);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(diags),
	                       "--log-level: bad value 'chatty', expected error, warn, info or "
	                       "debug\n");
	free(diags);
	free(file);
}

/* A bad file named by --config is refused with its positions. */
static void test_bad_file(void)
{
	char *file = fugue_test_write_file(g_dir, "bad.yaml", "logLevel: debug\nconcurency: 3\n");
	fugue_daemon_flags flags = { 0 };
	fugue_daemon_config cfg;
	char *diags;
	char *expected;

	flags.config = file;
	CU_ASSERT_EQUAL(load(&cfg, &diags, &flags, NULL), FUGUE_EINVAL);
	if (asprintf(&expected, "%s:2:1: unknown key 'concurency' (did you mean 'concurrency'?)\n",
	             file) < 0)
		abort();
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(diags), expected);
	free(expected);
	free(diags);
	free(file);
}

static void test_parse_interval(void)
{
	long ms = -1;

	CU_ASSERT_EQUAL(fugue_daemon_parse_interval(&ms, "30"), 0);
	CU_ASSERT_EQUAL(ms, 30000);
	CU_ASSERT_EQUAL(fugue_daemon_parse_interval(&ms, "0.5"), 0);
	CU_ASSERT_EQUAL(ms, 500);
	CU_ASSERT_EQUAL(fugue_daemon_parse_interval(&ms, "0.001"), 0);
	CU_ASSERT_EQUAL(ms, 1);
	CU_ASSERT_EQUAL(fugue_daemon_parse_interval(&ms, "86400"), 0);
	CU_ASSERT_EQUAL(ms, 86400000);
	CU_ASSERT_EQUAL(fugue_daemon_parse_interval(&ms, "0"), FUGUE_EINVAL);
	CU_ASSERT_EQUAL(fugue_daemon_parse_interval(&ms, "-1"), FUGUE_EINVAL);
	CU_ASSERT_EQUAL(fugue_daemon_parse_interval(&ms, "0.0001"), FUGUE_EINVAL);
	CU_ASSERT_EQUAL(fugue_daemon_parse_interval(&ms, "86401"), FUGUE_EINVAL);
	CU_ASSERT_EQUAL(fugue_daemon_parse_interval(&ms, "nan"), FUGUE_EINVAL);
	CU_ASSERT_EQUAL(fugue_daemon_parse_interval(&ms, "inf"), FUGUE_EINVAL);
	CU_ASSERT_EQUAL(fugue_daemon_parse_interval(&ms, "30s"), FUGUE_EINVAL);
	CU_ASSERT_EQUAL(fugue_daemon_parse_interval(&ms, ""), FUGUE_EINVAL);
}

static void test_describe(void)
{
	fugue_daemon_config cfg;
	char line[512];

	CU_ASSERT_EQUAL_FATAL(fugue_daemon_config_defaults(&cfg, PLANNERS), 0);
	fugue_daemon_config_describe(&cfg, line, sizeof(line));
	CU_ASSERT_STRING_EQUAL(line,
	                       "state=sqlite:/var/lib/fugue socket=/run/fugue/conductor.sock "
	                       "group=fugue planners=/opt/planners interval=30s mode=enforce "
	                       "concurrency=16 region=(none) log=info");
	fugue_daemon_config_clear(&cfg);
}

/* --- systemd.c: what reaches NOTIFY_SOCKET -------------------------------------- */

static int g_notify_fd = -1;

static int notify_setup(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { 5, 0 };

	if (setup() != 0)
		return 1;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/notify", g_dir);
	g_notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (g_notify_fd < 0 || bind(g_notify_fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		return 1;
	setsockopt(g_notify_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setenv("NOTIFY_SOCKET", sa.sun_path, 1);
	return 0;
}

static int notify_cleanup(void)
{
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	if (g_notify_fd >= 0)
		close(g_notify_fd);
	g_notify_fd = -1;
	return cleanup();
}

/* The next datagram, or "" after the 5 s timeout. Static buffer. */
static const char *next_message(void)
{
	static char buf[2048];
	ssize_t n = recv(g_notify_fd, buf, sizeof(buf) - 1, 0);

	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static void test_notify_messages(void)
{
	char expected[128];

	fugue_sd_ready("2 processes\nrunning");
	snprintf(expected, sizeof(expected), "READY=1\nMAINPID=%ld\nSTATUS=2 processes running",
	         (long)getpid());
	CU_ASSERT_STRING_EQUAL(next_message(), expected);

	fugue_sd_ready(NULL);
	snprintf(expected, sizeof(expected), "READY=1\nMAINPID=%ld", (long)getpid());
	CU_ASSERT_STRING_EQUAL(next_message(), expected);

	fugue_sd_status("1 process");
	CU_ASSERT_STRING_EQUAL(next_message(), "STATUS=1 process");

	fugue_sd_watchdog();
	CU_ASSERT_STRING_EQUAL(next_message(), "WATCHDOG=1");

	fugue_sd_reloading();
	CU_ASSERT_EQUAL(strncmp(next_message(), "RELOADING=1\nMONOTONIC_USEC=", 27), 0);

	fugue_sd_stopping("bye");
	CU_ASSERT_STRING_EQUAL(next_message(), "STOPPING=1\nSTATUS=bye");
}

static void test_watchdog_period(void)
{
	char pid[32];

	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	CU_ASSERT_EQUAL(fugue_sd_watchdog_period_ms(), 0);
	setenv("WATCHDOG_USEC", "3000000", 1);
	CU_ASSERT_EQUAL(fugue_sd_watchdog_period_ms(), 1500);
	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	setenv("WATCHDOG_PID", pid, 1);
	CU_ASSERT_EQUAL(fugue_sd_watchdog_period_ms(), 1500);
	/* A watchdog meant for another process (our parent) is not ours. */
	snprintf(pid, sizeof(pid), "%ld", (long)getppid());
	setenv("WATCHDOG_PID", pid, 1);
	CU_ASSERT_EQUAL(fugue_sd_watchdog_period_ms(), 0);
	unsetenv("WATCHDOG_PID");
	setenv("WATCHDOG_USEC", "1", 1);
	CU_ASSERT_EQUAL(fugue_sd_watchdog_period_ms(), 1);
	unsetenv("WATCHDOG_USEC");
}

/* Without NOTIFY_SOCKET nothing is sent and nothing fails. */
static void test_outside_systemd(void)
{
	char *saved = strdup(getenv("NOTIFY_SOCKET"));
	struct timeval tv = { 0, 200000 };
	char buf[64];

	unsetenv("NOTIFY_SOCKET");
	fugue_sd_ready("x");
	fugue_sd_watchdog();
	fugue_sd_stopping(NULL);
	setsockopt(g_notify_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	CU_ASSERT_EQUAL(recv(g_notify_fd, buf, sizeof(buf), 0), -1);
	setenv("NOTIFY_SOCKET", saved, 1);
	free(saved);
}

int fugue_test_register(void)
{
	CU_pSuite config = CU_add_suite("config", setup, cleanup);
	CU_pSuite sd = CU_add_suite("systemd", notify_setup, notify_cleanup);

	if (!config || !sd)
		return 1;
	if (!CU_add_test(config, "defaults", test_defaults) ||
	    !CU_add_test(config, "every key", test_every_key) ||
	    !CU_add_test(config, "empty and partial", test_empty_and_partial) ||
	    !CU_add_test(config, "relative paths", test_relative_paths) ||
	    !CU_add_test(config, "unknown keys", test_unknown_keys) ||
	    !CU_add_test(config, "wrong kinds", test_wrong_kinds) ||
	    !CU_add_test(config, "bad values", test_bad_values) ||
	    !CU_add_test(config, "all errors, sorted", test_all_errors_sorted) ||
	    !CU_add_test(config, "syntax error", test_syntax_error) ||
	    !CU_add_test(config, "missing files", test_missing_files) ||
	    !CU_add_test(config, "precedence", test_precedence) ||
	    !CU_add_test(config, "bad file", test_bad_file) ||
	    !CU_add_test(config, "parse interval", test_parse_interval) ||
	    !CU_add_test(config, "describe", test_describe))
		return 1;
	if (!CU_add_test(sd, "messages", test_notify_messages) ||
	    !CU_add_test(sd, "watchdog period", test_watchdog_period) ||
	    !CU_add_test(sd, "outside systemd", test_outside_systemd))
		return 1;
	return 0;
}
