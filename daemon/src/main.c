/* main.c - conductord, the Conductor's daemon: the process around the
 * kernel object (conductor.h) and the local transport (server.h).
 *
 * Startup: config (config.h) -> logging -> the state directory's lock ->
 * fugue_conductor_open (state, planners, recovery) -> the socket
 * (fugue_server_new/start, requests go to fugue_conductor_handle) ->
 * fugue_conductor_start (enforcement, resumed processes) -> READY=1. Any
 * failure is one log line and exit 1.
 *
 * The main thread then only waits in poll(2) on a signalfd: SIGTERM and
 * SIGINT stop (STOPPING=1, the kernel's graceful shutdown, the server,
 * exit 0), SIGHUP re-reads the config file; between signals it sends
 * WATCHDOG=1 and refreshes STATUS=. Serving happens on the server's and
 * the kernel's own threads. conductord never forks: systemd runs it as
 * Type=notify. See docs/conductor.md. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "conductor.h"
#include "config.h"
#include "fugue/common.h"
#include "fugue/log.h"
#include "registry.h"
#include "server.h"
#include "systemd.h"

#define EXIT_USAGE 2

/* How long running planner calls get to finish at SIGTERM before they are
 * recorded as unknown; below systemd's default TimeoutStopSec (90 s). */
#define SHUTDOWN_GRACE_MS 10000L
/* How often STATUS= is refreshed (only sent when it changed). */
#define STATUS_PERIOD_MS 5000L

enum command { CMD_SERVE, CMD_LIST_PLANNERS, CMD_VERSION, CMD_HELP };

struct options {
	enum command command;
	fugue_daemon_flags flags; /* borrowed from argv */
	int foreground;           /* log to stderr whatever the environment says */
	int no_aws;               /* no AWS client (tests with fake planners) */
};

/* The running daemon. */
struct daemon {
	const struct options *opt;
	fugue_daemon_config cfg;
	fugue_conductor *conductor;
	fugue_server *server;
	int signal_fd;
	int lock_fd;
	char status[512]; /* the last STATUS= sent */
};

static void usage(FILE *out)
{
	fputs("usage: conductord [--config FILE] [--foreground] [OPTIONS]\n"
	      "       conductord [--config FILE] [--planners-dir DIR] --list-planners\n"
	      "       conductord --version | --help\n"
	      "\n"
	      "  --config FILE             the config file (default " FUGUE_DEFAULT_CONFIG ";\n"
	      "                            defaults are used when that file does not exist)\n"
	      "  --socket PATH             the Unix socket to serve (default " FUGUE_DEFAULT_SOCKET
	      ")\n"
	      "  --state-dir DIR           where the state store lives (default "
	      FUGUE_DEFAULT_STATE_DIR ")\n"
	      "  --planners-dir DIR        where planner .so files are (default:\n"
	      "                            $FUGUE_PLANNERS_DIR, else the config file,\n"
	      "                            else " FUGUE_DEFAULT_PLANNERS_DIR ")\n"
	      "  --enforce-interval SECS   default enforcement interval (default 30)\n"
	      "  --log-level LEVEL         error, warn, info or debug (default info)\n"
	      "  --foreground              log to stderr, even under systemd\n"
	      "  --no-aws                  create no AWS client (tests with fake planners)\n"
	      "  --list-planners           load the planners and print them with their types\n"
	      "  --version                 print the version\n"
	      "  --help                    print this help\n"
	      "\n"
	      "Flags override the config file. Signals: TERM/INT stop, HUP reloads the config.\n",
	      out);
}

enum {
	OPT_CONFIG = 256,
	OPT_SOCKET,
	OPT_STATE_DIR,
	OPT_PLANNERS_DIR,
	OPT_ENFORCE_INTERVAL,
	OPT_LOG_LEVEL,
	OPT_FOREGROUND,
	OPT_NO_AWS,
	OPT_LIST_PLANNERS,
	OPT_VERSION
};

/* Flag values are checked here so that a typo is a usage error (exit 2)
 * before anything starts. Returns 0, or EXIT_USAGE after saying why. */
static int check_flag_values(const struct options *opt)
{
	fugue_log_level level;
	long ms;

	if (opt->flags.enforce_interval &&
	    fugue_daemon_parse_interval(&ms, opt->flags.enforce_interval) != 0) {
		fprintf(stderr,
		        "conductord: --enforce-interval: expected seconds from 0.001 to %.0f, "
		        "got '%s'\n",
		        FUGUE_MAX_ENFORCE_INTERVAL_S, opt->flags.enforce_interval);
		return EXIT_USAGE;
	}
	if (opt->flags.log_level && fugue_log_level_parse(&level, opt->flags.log_level) != 0) {
		fprintf(stderr,
		        "conductord: --log-level: bad value '%s', expected error, warn, info "
		        "or debug\n",
		        opt->flags.log_level);
		return EXIT_USAGE;
	}
	return 0;
}

static void set_flag(struct options *opt, int c, const char *arg)
{
	switch (c) {
	case OPT_CONFIG:
		opt->flags.config = arg;
		break;
	case OPT_SOCKET:
		opt->flags.socket = arg;
		break;
	case OPT_STATE_DIR:
		opt->flags.state_dir = arg;
		break;
	case OPT_PLANNERS_DIR:
		opt->flags.planners_dir = arg;
		break;
	case OPT_ENFORCE_INTERVAL:
		opt->flags.enforce_interval = arg;
		break;
	case OPT_LOG_LEVEL:
		opt->flags.log_level = arg;
		break;
	case OPT_FOREGROUND:
		opt->foreground = 1;
		break;
	case OPT_NO_AWS:
		opt->no_aws = 1;
		break;
	case OPT_LIST_PLANNERS:
		opt->command = CMD_LIST_PLANNERS;
		break;
	case OPT_VERSION:
		opt->command = CMD_VERSION;
		break;
	case 'h':
		opt->command = CMD_HELP;
		break;
	}
}

/* Returns 0, or EXIT_USAGE after printing the usage to stderr. */
static int parse_args(struct options *opt, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, OPT_CONFIG },
		{ "socket", required_argument, NULL, OPT_SOCKET },
		{ "state-dir", required_argument, NULL, OPT_STATE_DIR },
		{ "planners-dir", required_argument, NULL, OPT_PLANNERS_DIR },
		{ "enforce-interval", required_argument, NULL, OPT_ENFORCE_INTERVAL },
		{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },
		{ "foreground", no_argument, NULL, OPT_FOREGROUND },
		{ "no-aws", no_argument, NULL, OPT_NO_AWS },
		{ "list-planners", no_argument, NULL, OPT_LIST_PLANNERS },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(opt, 0, sizeof(*opt));
	opt->command = CMD_SERVE;
	for (c = getopt_long(argc, argv, "h", longopts, NULL); c != -1;
	     c = getopt_long(argc, argv, "h", longopts, NULL)) {
		if (c == '?' || c == ':') {
			usage(stderr);
			return EXIT_USAGE;
		}
		set_flag(opt, c, optarg);
	}
	if (optind < argc) {
		fprintf(stderr, "conductord: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return EXIT_USAGE;
	}
	return check_flag_values(opt);
}

/* The config chain; on failure the diagnostics go to stderr (the journal
 * under systemd) as `FILE:LINE:COL: message`. */
static int load_config(fugue_daemon_config *cfg, const struct options *opt)
{
	fugue_diags diags = FUGUE_DIAGS_INIT;
	int rc = fugue_daemon_config_load(cfg, &diags, &opt->flags, FUGUE_DEFAULT_CONFIG,
	                                  FUGUE_DEFAULT_PLANNERS_DIR);

	if (rc == FUGUE_ENOMEM)
		fputs("conductord: out of memory reading the configuration\n", stderr);
	fugue_diags_print(stderr, &diags);
	fugue_diags_clear(&diags);
	return rc;
}

/* --- --list-planners ------------------------------------------------------- */

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

static int run_list_planners(const struct options *opt)
{
	fugue_daemon_config cfg;
	int rc;

	fugue_log_set_sink(FUGUE_LOG_SINK_STDERR);
	if (load_config(&cfg, opt) != 0)
		return EXIT_FAILURE;
	rc = list_planners(cfg.planners_dir);
	fugue_daemon_config_clear(&cfg);
	return rc;
}

/* --- startup pieces ----------------------------------------------------------- */

/* mkdir -p PATH with MODE for what it creates. 0 or an errno. */
static int make_dirs(const char *path, mode_t mode)
{
	char *copy = strdup(path);
	char *p;
	int err = 0;

	if (!copy)
		return ENOMEM;
	for (p = copy + 1; *p && !err; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(copy, mode) != 0 && errno != EEXIST)
			err = errno;
		*p = '/';
	}
	if (!err && mkdir(copy, mode) != 0 && errno != EEXIST)
		err = errno;
	free(copy);
	return err;
}

/* The state store is not made for two Conductors: a second one would run
 * recovery over the first one's in-flight calls. An flock(2) on
 * DIR/conductord.lock (released by the kernel when we die, even by
 * SIGKILL) keeps a second daemon out. Returns the lock's fd or -1 after
 * logging why. */
static int lock_state_dir(const char *dir)
{
	char path[4096];
	char pid[32];
	int fd;
	int err = make_dirs(dir, 0700);
	ssize_t n;

	if (err) {
		fugue_log_error("cannot create the state directory %s: %s", dir, strerror(err));
		return -1;
	}
	snprintf(path, sizeof(path), "%s/conductord.lock", dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		fugue_log_error("cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		err = errno;
		n = pread(fd, pid, sizeof(pid) - 1, 0);
		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		if (err == EWOULDBLOCK)
			fugue_log_error("state directory %s is in use by another conductord "
			                "(pid %s)",
			                dir, *pid ? pid : "unknown");
		else
			fugue_log_error("cannot lock %s: %s", path, strerror(err));
		close(fd);
		return -1;
	}
	n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n)
		fugue_log_warn("cannot write the pid into %s: %s", path, strerror(errno));
	return fd;
}

/* Blocks the signals we handle (before any thread starts, so that every
 * thread inherits the mask and only the signalfd sees them) and ignores
 * SIGPIPE (a client that vanishes must not kill us). Returns the signalfd
 * or -1. */
static int setup_signals(void)
{
	sigset_t set;
	int fd;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) != 0) {
		fugue_log_error("cannot block signals: %s", strerror(errno));
		return -1;
	}
	fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (fd < 0)
		fugue_log_error("cannot create a signalfd: %s", strerror(errno));
	return fd;
}

static void apply_log_settings(const struct options *opt, const fugue_daemon_config *cfg)
{
	fugue_log_set_sink(opt->foreground ? FUGUE_LOG_SINK_STDERR : FUGUE_LOG_SINK_AUTO);
	fugue_log_set_level(cfg->log_level);
}

static int open_conductor(struct daemon *d)
{
	fugue_conductor_config cc;
	char err[512] = "";
	int rc;

	fugue_daemon_config_to_conductor(&cc, &d->cfg);
	cc.no_aws = d->opt->no_aws;
	rc = fugue_conductor_open(&d->conductor, &cc, err, sizeof(err));
	if (rc != 0) {
		d->conductor = NULL;
		fugue_log_error("cannot start the conductor: %s", *err ? err : fugue_strerror(rc));
		return -1;
	}
	return 0;
}

static int open_server(struct daemon *d)
{
	fugue_server_options so = FUGUE_SERVER_OPTIONS_INIT;
	int rc;

	so.path = d->cfg.socket;
	so.group = d->cfg.group;
	so.handler = fugue_conductor_handle;
	so.payload = d->conductor;
	/* The server logs its failures with their reason (another conductor on
	 * the path, bind or listen errors); only running out of memory is ours. */
	rc = fugue_server_new(&d->server, &so);
	if (rc != 0)
		d->server = NULL;
	if (rc == 0)
		rc = fugue_server_start(d->server);
	if (rc == FUGUE_ENOMEM)
		fugue_log_error("cannot listen on %s: out of memory", d->cfg.socket);
	return rc == 0 ? 0 : -1;
}

/* Everything up to READY=1. Returns 0 or -1 (logged). */
static int start(struct daemon *d)
{
	char line[1024];
	int rc;

	d->signal_fd = setup_signals();
	if (d->signal_fd < 0)
		return -1;
	fugue_daemon_config_describe(&d->cfg, line, sizeof(line));
	fugue_log_info("conductord %s starting: %s", FUGUE_VERSION, line);
	d->lock_fd = lock_state_dir(d->cfg.state_dir);
	if (d->lock_fd < 0)
		return -1;
	if (open_conductor(d) != 0 || open_server(d) != 0)
		return -1;
	rc = fugue_conductor_start(d->conductor);
	if (rc != 0) {
		fugue_log_error("cannot start the conductor's jobs: %s", fugue_strerror(rc));
		return -1;
	}
	fugue_conductor_summary(d->conductor, d->status, sizeof(d->status));
	fugue_sd_ready(d->status);
	fugue_log_info("ready: serving %s (%s)", d->cfg.socket, d->status);
	return 0;
}

/* --- running ------------------------------------------------------------------ */

/* Equal strings, NULL equal only to NULL. */
static int same_string(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

static void warn_restart_key(const char *key)
{
	fugue_log_warn("config reload: %s changed; it takes effect at the next start", key);
}

/* The settings only a restart can change. */
static void warn_restart_needed(const fugue_daemon_config *old, const fugue_daemon_config *cfg)
{
	if (!same_string(old->state_dir, cfg->state_dir))
		warn_restart_key("state.directory");
	if (!same_string(old->socket, cfg->socket))
		warn_restart_key("transport.socket");
	if (!same_string(old->group, cfg->group))
		warn_restart_key("transport.group");
	if (!same_string(old->planners_dir, cfg->planners_dir))
		warn_restart_key("planners.directory");
	if (!same_string(old->region, cfg->region))
		warn_restart_key("region");
}

/* Logs every diagnostic of a refused reload. */
static void log_diags(const fugue_diags *diags)
{
	size_t i;

	for (i = 0; i < diags->n; i++) {
		const fugue_diag *g = &diags->items[i];

		if (g->line > 0)
			fugue_log_error("%s:%d:%d: %s", g->file, g->line, g->col, g->message);
		else
			fugue_log_error("%s: %s", g->file, g->message);
	}
}

/* SIGHUP: the new file replaces the running settings that can change while
 * running; a bad file is refused whole and the old settings stay. */
static void reload(struct daemon *d)
{
	fugue_diags diags = FUGUE_DIAGS_INIT;
	fugue_daemon_config fresh;
	fugue_conductor_config cc;
	char line[1024];
	int rc;

	fugue_sd_reloading();
	fugue_log_info("SIGHUP: reloading the configuration");
	rc = fugue_daemon_config_load(&fresh, &diags, &d->opt->flags, FUGUE_DEFAULT_CONFIG,
	                              FUGUE_DEFAULT_PLANNERS_DIR);
	if (rc != 0) {
		log_diags(&diags);
		fugue_log_error("config reload refused (%s); keeping the running configuration",
		                fugue_strerror(rc));
		fugue_diags_clear(&diags);
		fugue_sd_ready(d->status);
		return;
	}
	fugue_diags_clear(&diags);
	warn_restart_needed(&d->cfg, &fresh);
	fugue_log_set_level(fresh.log_level);
	fugue_daemon_config_to_conductor(&cc, &fresh);
	cc.no_aws = d->opt->no_aws;
	rc = fugue_conductor_reload(d->conductor, &cc);
	if (rc != 0)
		fugue_log_error("config reload: the conductor refused the new settings: %s",
		                fugue_strerror(rc));
	fugue_daemon_config_describe(&fresh, line, sizeof(line));
	fugue_log_info("configuration reloaded: %s", line);
	fugue_log_debug("debug logging is on");
	fugue_daemon_config_clear(&d->cfg);
	d->cfg = fresh;
	fugue_sd_ready(d->status);
}

/* STATUS= only when the summary changed: the manager keeps the last one. */
static void refresh_status(struct daemon *d)
{
	char now[sizeof(d->status)];

	fugue_conductor_summary(d->conductor, now, sizeof(now));
	if (strcmp(now, d->status) == 0)
		return;
	memcpy(d->status, now, sizeof(now));
	fugue_sd_status(d->status);
}

/* Drains the signalfd. Returns 1 when a stop was asked. */
static int handle_signals(struct daemon *d)
{
	struct signalfd_siginfo si;
	int stop = 0;

	while (read(d->signal_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			reload(d);
		} else {
			fugue_log_info("%s received from pid %u: stopping",
			               si.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM", si.ssi_pid);
			stop = 1;
		}
	}
	return stop;
}

static long long min_ll(long long a, long long b)
{
	return a < b ? a : b;
}

/* Until SIGTERM or SIGINT. */
static void main_loop(struct daemon *d)
{
	long watchdog_ms = fugue_sd_watchdog_period_ms();
	long long now = fugue_clock_mono_ms();
	long long next_status = now + STATUS_PERIOD_MS;
	long long next_watchdog = watchdog_ms ? now : -1;
	struct pollfd pfd = { d->signal_fd, POLLIN, 0 };

	if (watchdog_ms)
		fugue_log_debug("watchdog: pinging every %ld ms", watchdog_ms);
	for (;;) {
		long long deadline = next_status;
		int timeout;

		if (next_watchdog >= 0)
			deadline = min_ll(deadline, next_watchdog);
		timeout = (int)(deadline > now ? deadline - now : 0);
		if (poll(&pfd, 1, timeout) < 0 && errno != EINTR) {
			fugue_log_error("poll failed: %s; stopping", strerror(errno));
			return;
		}
		if ((pfd.revents & POLLIN) && handle_signals(d))
			return;
		now = fugue_clock_mono_ms();
		if (next_watchdog >= 0 && now >= next_watchdog) {
			fugue_sd_watchdog();
			next_watchdog = now + watchdog_ms;
		}
		if (now >= next_status) {
			refresh_status(d);
			next_status = now + STATUS_PERIOD_MS;
		}
	}
}

/* Stops whatever start() got to, in reverse order. The kernel goes first so
 * that replies waiting on jobs get their shutting_down error while their
 * connections are still open; then the server closes the connections. */
static void stop(struct daemon *d)
{
	if (d->conductor) {
		fugue_sd_stopping("stopping: finishing in-flight calls");
		fugue_conductor_shutdown(d->conductor, SHUTDOWN_GRACE_MS);
	}
	fugue_server_free(d->server);
	d->server = NULL;
	if (d->conductor)
		fugue_conductor_free(d->conductor);
	d->conductor = NULL;
	if (d->lock_fd >= 0)
		close(d->lock_fd);
	if (d->signal_fd >= 0)
		close(d->signal_fd);
	fugue_daemon_config_clear(&d->cfg);
}

static int serve(const struct options *opt)
{
	struct daemon d;
	int ok;

	memset(&d, 0, sizeof(d));
	d.opt = opt;
	d.signal_fd = -1;
	d.lock_fd = -1;
	if (load_config(&d.cfg, opt) != 0)
		return EXIT_FAILURE;
	apply_log_settings(opt, &d.cfg);
	ok = start(&d) == 0;
	if (ok)
		main_loop(&d);
	stop(&d);
	if (ok)
		fugue_log_info("stopped");
	return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}

int main(int argc, char **argv)
{
	struct options opt;
	int rc = parse_args(&opt, argc, argv);

	if (rc != 0)
		return rc;
	switch (opt.command) {
	case CMD_VERSION:
		printf("conductord %s (planner ABI %d.%d)\n", FUGUE_VERSION,
		       FUGUE_PLANNER_ABI_MAJOR, FUGUE_PLANNER_ABI_MINOR);
		return EXIT_SUCCESS;
	case CMD_HELP:
		usage(stdout);
		return EXIT_SUCCESS;
	case CMD_LIST_PLANNERS:
		return run_list_planners(&opt);
	case CMD_SERVE:
		break;
	}
	return serve(&opt);
}
