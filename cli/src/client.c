/* client.c - the `fugue` side of the Conductor's local API
 * (docs/protocol.md): a Unix stream socket, one JSON envelope a line.
 *
 * Ctrl-C while a request waits (a `run` that blocks until the process
 * converged) must detach, not kill: the Conductor goes on with the job and
 * the user is told so by the command. SIGINT is blocked for the whole of
 * fugue_client_request() and let through only inside ppoll(), so a Ctrl-C
 * between "is there an interrupt?" and "wait" cannot be lost. Every other
 * moment of `fugue` keeps the default SIGINT (the process ends). */
#include "cli.h"

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <json-c/json.h>

#include "envelope.h"
#include "fugue/common.h"

/* The longest answer line accepted. A `status` of a big process or a plan
 * of a few thousand resources is a few MiB; the Conductor itself drops a
 * client with more than 64 MiB queued. */
#define MAX_LINE (64u * 1024 * 1024)
#define READ_CHUNK 65536

struct fugue_client {
	int fd;
	const fugue_cli *cli;
	char *buf;          /* bytes read and not yet consumed */
	size_t len;
	size_t cap;
	unsigned int next_id;
	int broken;         /* the stream is out of step (detached, bad answer): no more requests */
};

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
	(void)sig;
	interrupted = 1;
}

static struct json_object *unconst(const struct json_object *o)
{
	return (struct json_object *)(uintptr_t)o;
}

/* --- connecting ------------------------------------------------------------------ */

/* Where the address came from, for hints ("FUGUE_CONDUCTOR", "fugue.yaml"). */
static void hint_source(const fugue_cli *cli)
{
	const char *from = cli->conductor_from ? cli->conductor_from : "default";

	if (strcmp(from, "fugue.yaml") == 0)
		fugue_cli_hint(cli, "the path is conductor.socket in %s",
		               cli->conductor_file ? cli->conductor_file : "fugue.yaml");
	else if (strcmp(from, "FUGUE_CONDUCTOR") == 0)
		fugue_cli_hint(cli, "the path comes from the environment variable FUGUE_CONDUCTOR");
	else if (strcmp(from, "--conductor") == 0)
		fugue_cli_hint(cli, "the path comes from --conductor");
}

static void hint_start(const fugue_cli *cli)
{
	const char *from = cli->conductor_from ? cli->conductor_from : "default";

	if (strcmp(from, "default") == 0)
		fugue_cli_hint(cli, "is conductord running? start it with `sudo systemctl start "
		                    "conductord`, or name another socket with --conductor PATH "
		                    "or FUGUE_CONDUCTOR");
	else
		fugue_cli_hint(cli, "is conductord running? start one there with `conductord "
		                    "--socket %s`",
		               cli->conductor);
}

/* Permission denied: which group may use the socket, and how to join it. */
static void report_denied(const fugue_cli *cli)
{
	struct stat st;
	const char *group = "fugue";
	struct group *gr = NULL;

	if (stat(cli->conductor, &st) == 0)
		gr = getgrgid(st.st_gid);
	if (gr && gr->gr_name)
		group = gr->gr_name;
	fugue_cli_error(cli, "cannot connect to the conductor at %s: permission denied",
	                cli->conductor);
	fugue_cli_hint(cli, "members of group '%s' may use it: `sudo usermod -aG %s $USER`, "
	                    "then log in again",
	               group, group);
}

static void report_connect_error(const fugue_cli *cli, int err)
{
	struct stat st;

	switch (err) {
	case ENOENT:
		fugue_cli_error(cli, "cannot connect to the conductor at %s: no such socket",
		                cli->conductor);
		hint_start(cli);
		hint_source(cli);
		break;
	case ECONNREFUSED:
		if (stat(cli->conductor, &st) == 0 && !S_ISSOCK(st.st_mode)) {
			fugue_cli_error(cli, "cannot connect to the conductor at %s: not a socket",
			                cli->conductor);
			hint_source(cli);
			break;
		}
		fugue_cli_error(cli, "cannot connect to the conductor at %s: nothing is listening",
		                cli->conductor);
		hint_start(cli);
		break;
	case EACCES:
	case EPERM:
		report_denied(cli);
		break;
	case ENOTSOCK:
	case ENOTDIR:
		fugue_cli_error(cli, "cannot connect to the conductor at %s: not a socket",
		                cli->conductor);
		hint_source(cli);
		break;
	default:
		fugue_cli_error(cli, "cannot connect to the conductor at %s: %s", cli->conductor,
		                fugue_cli_strerror(err));
		hint_source(cli);
		break;
	}
}

static int open_socket(int *out, const fugue_cli *cli)
{
	struct sockaddr_un addr;
	int fd;
	int rc;

	*out = -1;
	if (!cli->conductor || !*cli->conductor) {
		fugue_cli_error(cli, "no conductor socket to connect to");
		hint_source(cli);
		return FUGUE_EXIT_UNREACHABLE;
	}
	memset(&addr, 0, sizeof(addr));
	addr.sun_family = AF_UNIX;
	if (strlen(cli->conductor) >= sizeof(addr.sun_path)) {
		fugue_cli_error(cli, "cannot connect to the conductor at %s: the path is longer than "
		                     "%zu bytes",
		                cli->conductor, sizeof(addr.sun_path) - 1);
		hint_source(cli);
		return FUGUE_EXIT_UNREACHABLE;
	}
	memcpy(addr.sun_path, cli->conductor, strlen(cli->conductor) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fugue_cli_error(cli, "cannot create a socket: %s", fugue_cli_strerror(errno));
		return FUGUE_EXIT_UNREACHABLE;
	}
	do {
		rc = connect(fd, (const struct sockaddr *)&addr, sizeof(addr));
	} while (rc != 0 && errno == EINTR);
	if (rc != 0) {
		int err = errno;

		close(fd);
		report_connect_error(cli, err);
		return FUGUE_EXIT_UNREACHABLE;
	}
	*out = fd;
	return 0;
}

/* --- the stream ------------------------------------------------------------------ */

static void report_broken(fugue_client *c, const char *why)
{
	c->broken = 1;
	fugue_cli_error(c->cli, "lost the connection to the conductor at %s: %s", c->cli->conductor,
	                why);
	if (strstr(why, "JSON") || strstr(why, "neither"))
		fugue_cli_hint(c->cli, "is %s really a conductor's socket?", c->cli->conductor);
	else
		fugue_cli_hint(c->cli, "it may have stopped or restarted: `systemctl status conductord` or "
	                       "`journalctl -u conductord` says why");
}

/* Waits for EVENTS on the socket with SIGINT let through (ORIGMASK).
 * Returns 0 when ready, FUGUE_EXIT_DETACHED on Ctrl-C, -1 with errno. */
static int wait_fd(fugue_client *c, short events, const sigset_t *origmask)
{
	struct pollfd pfd;
	int rc;

	for (;;) {
		if (interrupted)
			return FUGUE_EXIT_DETACHED;
		pfd.fd = c->fd;
		pfd.events = events;
		pfd.revents = 0;
		rc = ppoll(&pfd, 1, NULL, origmask);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc < 0)
			return -1;
		return 0;
	}
}

static int send_all(fugue_client *c, const char *data, size_t len, const sigset_t *origmask)
{
	size_t off = 0;

	while (off < len) {
		ssize_t n = send(c->fd, data + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
		int rc;

		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			report_broken(c, fugue_cli_strerror(errno));
			return FUGUE_EXIT_UNREACHABLE;
		}
		rc = wait_fd(c, POLLOUT, origmask);
		if (rc == FUGUE_EXIT_DETACHED)
			return rc;
		if (rc != 0) {
			report_broken(c, fugue_cli_strerror(errno));
			return FUGUE_EXIT_UNREACHABLE;
		}
	}
	return 0;
}

/* Takes the next whole line out of the buffer into *LINE (malloc'd), or
 * leaves *LINE NULL when none is complete yet. */
static int take_line(fugue_client *c, char **line)
{
	char *nl;
	size_t n;

	*line = NULL;
	nl = c->len ? memchr(c->buf, '\n', c->len) : NULL;
	if (!nl)
		return 0;
	n = (size_t)(nl - c->buf);
	*line = malloc(n + 1);
	if (!*line)
		return FUGUE_ENOMEM;
	memcpy(*line, c->buf, n);
	(*line)[n] = '\0';
	memmove(c->buf, nl + 1, c->len - n - 1);
	c->len -= n + 1;
	return 0;
}

static int read_more(fugue_client *c, const sigset_t *origmask)
{
	ssize_t n;
	int rc;

	if (c->len >= MAX_LINE) {
		report_broken(c, "an answer line is longer than 64 MiB");
		return FUGUE_EXIT_UNREACHABLE;
	}
	if (c->cap - c->len < READ_CHUNK) {
		size_t cap = c->cap ? c->cap * 2 : READ_CHUNK * 2;
		char *buf;

		while (cap - c->len < READ_CHUNK)
			cap *= 2;
		buf = realloc(c->buf, cap);
		if (!buf) {
			report_broken(c, "out of memory");
			return FUGUE_EXIT_UNREACHABLE;
		}
		c->buf = buf;
		c->cap = cap;
	}
	for (;;) {
		n = recv(c->fd, c->buf + c->len, c->cap - c->len, MSG_DONTWAIT);
		if (n > 0) {
			c->len += (size_t)n;
			return 0;
		}
		if (n == 0) {
			report_broken(c, "it closed the connection before answering");
			return FUGUE_EXIT_UNREACHABLE;
		}
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			report_broken(c, fugue_cli_strerror(errno));
			return FUGUE_EXIT_UNREACHABLE;
		}
		rc = wait_fd(c, POLLIN, origmask);
		if (rc == FUGUE_EXIT_DETACHED)
			return rc;
		if (rc != 0) {
			report_broken(c, fugue_cli_strerror(errno));
			return FUGUE_EXIT_UNREACHABLE;
		}
	}
}

/* Reads messages until the final one for ID: events go to ON_EVENT.
 * Returns 0 with *FINAL set, or FUGUE_EXIT_DETACHED / _UNREACHABLE. */
static int read_answer(fugue_client *c, const char *id, fugue_client_event_fn on_event,
                       void *payload, struct json_object **final, const sigset_t *origmask)
{
	for (;;) {
		struct json_object *msg;
		struct json_object *mid;
		struct json_object *ev;
		char *line;
		int rc;

		rc = take_line(c, &line);
		if (rc != 0) {
			report_broken(c, "out of memory");
			return FUGUE_EXIT_UNREACHABLE;
		}
		if (!line) {
			rc = read_more(c, origmask);
			if (rc != 0)
				return rc;
			continue;
		}
		if (!line[0]) {
			free(line);
			continue;
		}
		msg = json_tokener_parse(line);
		free(line);
		if (!msg || !json_object_is_type(msg, json_type_object)) {
			json_object_put(msg);
			report_broken(c, "it sent something that is not a JSON message");
			return FUGUE_EXIT_UNREACHABLE;
		}
		/* Another request's messages (cannot happen with one request at a
		 * time) are skipped; "id": null is the Conductor's answer to a
		 * request it could not read (busy, bad_request), so it is ours. */
		mid = json_object_object_get(msg, "id");
		if (mid && (!json_object_is_type(mid, json_type_string) ||
		            strcmp(json_object_get_string(mid), id) != 0)) {
			json_object_put(msg);
			continue;
		}
		ev = json_object_object_get(msg, "event");
		if (ev && json_object_is_type(ev, json_type_string)) {
			if (on_event && !interrupted)
				on_event(json_object_get_string(ev), json_object_object_get(msg, "data"),
				         payload);
			json_object_put(msg);
			continue;
		}
		if (!json_object_object_get_ex(msg, "ok", NULL)) {
			json_object_put(msg);
			report_broken(c, "it sent a message that is neither an event nor an answer");
			return FUGUE_EXIT_UNREACHABLE;
		}
		*final = msg;
		return 0;
	}
}

static char *envelope_text(const char *id, const char *command, const struct json_object *args)
{
	struct json_object *env = json_object_new_object();
	const char *text;
	char *out = NULL;

	if (!env)
		return NULL;
	json_object_object_add(env, "protocol", json_object_new_int(FUGUE_PROTOCOL_VERSION));
	json_object_object_add(env, "id", json_object_new_string(id));
	json_object_object_add(env, "command", json_object_new_string(command));
	/* ARGS is borrowed: the envelope holds a reference only while it lives. */
	json_object_object_add(env, "args",
	                       args ? json_object_get(unconst(args)) : json_object_new_object());
	text = json_object_to_json_string_ext(env, JSON_C_TO_STRING_PLAIN |
	                                               JSON_C_TO_STRING_NOSLASHESCAPE);
	if (text && asprintf(&out, "%s\n", text) < 0)
		out = NULL;
	json_object_put(env);
	return out;
}

int fugue_client_request(fugue_client *c, const char *command, const struct json_object *args,
                         fugue_client_event_fn on_event, void *payload,
                         struct json_object **final)
{
	struct sigaction sa;
	struct sigaction old_sa;
	sigset_t block;
	sigset_t origmask;
	char id[32];
	char *text;
	int rc;

	*final = NULL;
	if (!c || c->broken) {
		if (c)
			fugue_cli_error(c->cli, "the connection to the conductor is no longer usable");
		return FUGUE_EXIT_UNREACHABLE;
	}
	snprintf(id, sizeof(id), "c%u", ++c->next_id);
	text = envelope_text(id, command, args);
	if (!text) {
		fugue_cli_error(c->cli, "out of memory");
		return FUGUE_EXIT_FAILED;
	}

	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &origmask);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigint;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_sa);
	interrupted = 0;

	rc = send_all(c, text, strlen(text), &origmask);
	free(text);
	if (rc == 0)
		rc = read_answer(c, id, on_event, payload, final, &origmask);
	if (rc == FUGUE_EXIT_DETACHED) {
		/* The answer is still coming: this connection cannot carry another
		 * request. */
		c->broken = 1;
		json_object_put(*final);
		*final = NULL;
	}

	sigaction(SIGINT, &old_sa, NULL);
	interrupted = 0;
	sigprocmask(SIG_SETMASK, &origmask, NULL);
	return rc;
}

static const char *str_member(const struct json_object *o, const char *key);
static void hint_for(const fugue_cli *cli, const char *code, const char *message);

/* --- ping and the protocol version ----------------------------------------------- */

static int check_version(fugue_client *c)
{
	const fugue_cli *cli = c->cli;
	struct json_object *final = NULL;
	const struct json_object *result;
	struct json_object *proto;
	int rc;

	rc = fugue_client_request(c, "ping", NULL, NULL, NULL, &final);
	if (rc == FUGUE_EXIT_DETACHED)
		return rc;
	if (rc != 0)
		return FUGUE_EXIT_UNREACHABLE;
	result = fugue_cli_result(final);
	if (!result) {
		struct json_object *err = json_object_object_get(final, "error");
		struct json_object *msg = json_object_object_get(err, "message");
		const char *code = str_member(err, "code");

		if (!code || strcmp(code, "protocol") != 0) {
			/* busy, shutting_down: reachable, but not now. */
			fugue_cli_error(cli, "the conductor at %s cannot take requests: %s",
			                cli->conductor, msg ? json_object_get_string(msg) : "no reason");
			hint_for(cli, code ? code : "", NULL);
			json_object_put(final);
			return FUGUE_EXIT_UNREACHABLE;
		}
		fugue_cli_error(cli, "the conductor at %s speaks another protocol than this fugue "
		                     "(protocol %d): %s",
		                cli->conductor, FUGUE_PROTOCOL_VERSION,
		                msg ? json_object_get_string(msg) : "it refused ping");
		fugue_cli_hint(cli, "install the same version of fugue and conductord (this fugue is "
		                    "%s)",
		               FUGUE_VERSION);
		json_object_put(final);
		return FUGUE_EXIT_UNREACHABLE;
	}
	proto = json_object_object_get(unconst(result), "protocol");
	if (!proto || !json_object_is_type(proto, json_type_int) ||
	    json_object_get_int(proto) != FUGUE_PROTOCOL_VERSION) {
		struct json_object *ver = json_object_object_get(unconst(result), "version");

		fugue_cli_error(cli, "the conductor at %s speaks protocol %s (conductord %s); this fugue "
		                     "speaks protocol %d",
		                cli->conductor, proto ? json_object_get_string(proto) : "unknown",
		                ver ? json_object_get_string(ver) : "unknown", FUGUE_PROTOCOL_VERSION);
		fugue_cli_hint(cli, "install the same version of fugue and conductord (this fugue is "
		                    "%s)",
		               FUGUE_VERSION);
		json_object_put(final);
		return FUGUE_EXIT_UNREACHABLE;
	}
	json_object_put(final);
	return 0;
}

int fugue_client_connect(fugue_client **out, const fugue_cli *cli)
{
	fugue_client *c;
	int fd;
	int rc;

	*out = NULL;
	rc = open_socket(&fd, cli);
	if (rc != 0)
		return rc;
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		fugue_cli_error(cli, "out of memory");
		return FUGUE_EXIT_FAILED;
	}
	c->fd = fd;
	c->cli = cli;
	rc = check_version(c);
	if (rc != 0) {
		fugue_client_close(c);
		return rc;
	}
	*out = c;
	return 0;
}

void fugue_client_close(fugue_client *c)
{
	if (!c)
		return;
	if (c->fd >= 0)
		close(c->fd);
	free(c->buf);
	free(c);
}

int fugue_cli_call(const fugue_cli *cli, const char *command, const struct json_object *args,
                   fugue_client_event_fn on_event, void *payload, struct json_object **final)
{
	fugue_client *c;
	int rc;

	*final = NULL;
	rc = fugue_client_connect(&c, cli);
	if (rc != 0)
		return rc;
	rc = fugue_client_request(c, command, args, on_event, payload, final);
	fugue_client_close(c);
	return rc;
}

/* --- answers ------------------------------------------------------------------------ */

const struct json_object *fugue_cli_result(const struct json_object *final)
{
	struct json_object *ok;

	if (!final)
		return NULL;
	ok = json_object_object_get(unconst(final), "ok");
	if (!ok || !json_object_is_type(ok, json_type_boolean) || !json_object_get_boolean(ok))
		return NULL;
	return json_object_object_get(unconst(final), "result");
}

static const char *str_member(const struct json_object *o, const char *key)
{
	struct json_object *v = json_object_object_get(unconst(o), key);

	if (!v || json_object_is_type(v, json_type_null))
		return NULL;
	return json_object_get_string(v);
}

/* The diagnostics of an invalid_composition, compiler style, on stderr. */
static void print_diagnostics(const struct json_object *details)
{
	struct json_object *diags = json_object_object_get(unconst(details), "diagnostics");
	size_t i;
	size_t n;

	if (!diags || !json_object_is_type(diags, json_type_array))
		return;
	n = json_object_array_length(diags);
	for (i = 0; i < n; i++) {
		struct json_object *d = json_object_array_get_idx(diags, i);
		const char *file = str_member(d, "file");
		const char *msg = str_member(d, "message");
		int line = json_object_get_int(json_object_object_get(d, "line"));
		int col = json_object_get_int(json_object_object_get(d, "col"));

		if (line > 0 && col > 0)
			fprintf(stderr, "%s:%d:%d: %s\n", file ? file : "composition", line, col,
			        msg ? msg : "");
		else if (line > 0)
			fprintf(stderr, "%s:%d: %s\n", file ? file : "composition", line, msg ? msg : "");
		else
			fprintf(stderr, "%s: %s\n", file ? file : "composition", msg ? msg : "");
	}
}

/* The failing resources of a `failed` job, one line each on stderr. */
static void print_job_errors(const fugue_cli *cli, const struct json_object *details)
{
	struct json_object *errors = json_object_object_get(unconst(details), "errors");
	size_t i;
	size_t n;

	if (!errors || !json_object_is_type(errors, json_type_array))
		return;
	n = json_object_array_length(errors);
	for (i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(errors, i);
		struct json_object *skipped = json_object_object_get(e, "skipped");
		const char *res = str_member(e, "resource");
		const char *action = str_member(e, "action");
		const char *code = str_member(e, "code");
		const char *msg = str_member(e, "message");
		const char *rid = str_member(e, "requestId");

		fprintf(stderr, "  %s%s%s: ", fugue_cli_color_on(cli, FUGUE_COLOR_BOLD),
		        res ? res : "?", fugue_cli_reset(cli));
		if (skipped && json_object_get_boolean(skipped)) {
			fprintf(stderr, "%s skipped: a dependency failed\n", action ? action : "action");
			continue;
		}
		fprintf(stderr, "%s failed: %s%s%s", action ? action : "action", code ? code : "",
		        code ? ": " : "", msg ? msg : "no message");
		if (rid)
			fprintf(stderr, " (request id %s)", rid);
		fputc('\n', stderr);
	}
}

static void hint_for(const fugue_cli *cli, const char *code, const char *message)
{
	if (strcmp(code, "locked") == 0) {
		if (!message || !strstr(message, "lock --set off"))
			fugue_cli_hint(cli, "unlock it with `fugue property PROCESS lock --set off`");
	} else if (strcmp(code, "not_found") == 0) {
		fugue_cli_hint(cli, "`fugue status` lists the processes");
	} else if (strcmp(code, "conflict") == 0) {
		fugue_cli_hint(cli, "`fugue status` shows what the process is doing");
	} else if (strcmp(code, "busy") == 0) {
		fugue_cli_hint(cli, "the conductor has too many clients; try again in a moment");
	} else if (strcmp(code, "shutting_down") == 0) {
		fugue_cli_hint(cli, "the conductor is stopping; try again once it is back");
	} else if (strcmp(code, "protocol") == 0) {
		fugue_cli_hint(cli, "install the same version of fugue and conductord");
	} else if (strcmp(code, "denied") == 0) {
		fugue_cli_hint(cli, "ask the process's owner or an administrator");
	} else if (strcmp(code, "failed") == 0) {
		fugue_cli_hint(cli, "`fugue history PROCESS` has the details");
	}
}

int fugue_cli_report_error(const fugue_cli *cli, const struct json_object *final)
{
	struct json_object *err = json_object_object_get(unconst(final), "error");
	const char *code = str_member(err, "code");
	const char *message = str_member(err, "message");
	struct json_object *details = json_object_object_get(err, "details");
	int exit_code = FUGUE_EXIT_FAILED;

	if (!code)
		code = "internal";
	if (strcmp(code, "bad_args") == 0 || strcmp(code, "unknown_command") == 0 ||
	    strcmp(code, "protocol") == 0 || strcmp(code, "bad_request") == 0)
		exit_code = FUGUE_EXIT_USAGE;

	if (cli->json) {
		struct json_object *doc = json_object_new_object();

		json_object_object_add(doc, "error", json_object_get(err));
		fugue_cli_print_json(cli, doc);
		json_object_put(doc);
		return exit_code;
	}
	if (strcmp(code, "invalid_composition") == 0) {
		struct json_object *diags = json_object_object_get(details, "diagnostics");
		size_t n = diags ? json_object_array_length(diags) : 0;

		print_diagnostics(details);
		if (n > 0) {
			fugue_cli_error(cli, "the composition does not compile (%zu error%s)", n,
			                n == 1 ? "" : "s");
			fugue_cli_hint(cli, "`fugue validate FILE` checks it without the conductor");
			return exit_code;
		}
	}
	fugue_cli_error(cli, "%s", message ? message : code);
	if (strcmp(code, "failed") == 0)
		print_job_errors(cli, details);
	hint_for(cli, code, message);
	return exit_code;
}
