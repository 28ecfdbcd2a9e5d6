/* test_server.c - the Unix socket transport, through real sockets: the
 * happy path, then every abusive client the server must survive (garbage,
 * truncated, huge, slow, vanishing, never reading, too many), the socket
 * file (mode, group, stale file, a second server) and shutdown.
 *
 * A test handler stands in for the conductor:
 *   echo     answers at once with the args as result
 *   whoami   answers with the caller's uid and pid (SO_PEERCRED)
 *   slow     a job thread: waits delay_ms, sends `events` events, answers
 *   stream   a job thread: sends events of `size` bytes every interval_ms
 *            until a send fails or `max` were sent
 *   noreply  never answers (the request stays in flight)
 * Job threads are joined by the tests, so that a test can look at what the
 * job saw (did a send fail? was the reply closed?). */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "envelope.h"
#include "fugue/common.h"
#include "fugue/log.h"
#include "server.h"
#include "testmain.h"

#define WAIT_MS 10000 /* the most any test waits for something that must happen */

/* --- time -------------------------------------------------------------------- */

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --- the test handler and its jobs ------------------------------------------ */

struct job {
	pthread_t th;
	fugue_reply *reply;
	long delay_ms;
	long interval_ms;
	int events;
	int size;
	int max;
	int stream;
	/* What the job saw. */
	int sent;
	int failed;   /* a send returned nonzero */
	int closed;   /* fugue_reply_closed() at the end */
};

#define MAX_JOBS 64
static pthread_mutex_t jobs_mu = PTHREAD_MUTEX_INITIALIZER;
static struct job *jobs[MAX_JOBS];
static int njobs;
static int njoined;
static int noreplies; /* "noreply" requests received, under jobs_mu */


static int count_locked(const int *n)
{
	int v;

	pthread_mutex_lock(&jobs_mu);
	v = *n;
	pthread_mutex_unlock(&jobs_mu);
	return v;
}

static long arg_long(const fugue_request *req, const char *key, long def)
{
	struct json_object *v;

	if (!json_object_object_get_ex(req->args, key, &v))
		return def;
	return (long)json_object_get_int64(v);
}

static void *job_main(void *arg)
{
	struct job *j = arg;
	struct json_object *d = json_object_new_object();
	char *pad = calloc(1, (size_t)j->size + 1);
	int n = j->stream ? j->max : j->events;
	int i;

	memset(pad, 'p', (size_t)j->size);
	json_object_object_add(d, "pad", json_object_new_string(pad));
	free(pad);
	sleep_ms(j->delay_ms);
	for (i = 0; i < n; i++) {
		if (fugue_reply_event(j->reply, "progress", d) != 0) {
			j->failed = 1;
			break;
		}
		j->sent++;
		if (j->interval_ms > 0)
			sleep_ms(j->interval_ms);
	}
	json_object_put(d);
	if (fugue_reply_ok(j->reply, NULL) != 0)
		j->failed = 1;
	j->closed = fugue_reply_closed(j->reply);
	fugue_reply_unref(j->reply);
	return NULL;
}

static void start_job(const fugue_request *req, fugue_reply *reply, int stream)
{
	struct job *j = calloc(1, sizeof(*j));

	j->delay_ms = arg_long(req, "delay_ms", 0);
	j->interval_ms = arg_long(req, "interval_ms", 0);
	j->events = (int)arg_long(req, "events", 0);
	j->size = (int)arg_long(req, "size", 10);
	j->max = (int)arg_long(req, "max", 1000);
	j->stream = stream;
	j->reply = reply;
	fugue_reply_ref(reply);
	pthread_mutex_lock(&jobs_mu);
	if (njobs == MAX_JOBS || pthread_create(&j->th, NULL, job_main, j) != 0) {
		pthread_mutex_unlock(&jobs_mu);
		fugue_reply_error(reply, FUGUE_ERR_INTERNAL, NULL, "cannot start a job");
		fugue_reply_unref(reply);
		free(j);
		return;
	}
	jobs[njobs++] = j;
	pthread_mutex_unlock(&jobs_mu);
}

/* Joins every job started so far. */
static void join_jobs(void)
{
	for (;;) {
		struct job *j = NULL;

		pthread_mutex_lock(&jobs_mu);
		if (njoined < njobs)
			j = jobs[njoined++];
		pthread_mutex_unlock(&jobs_mu);
		if (j == NULL)
			return;
		pthread_join(j->th, NULL);
	}
}

/* Waits until N jobs were started, then joins them all: a test that looks
 * at jobs[i] knows that the job ran to its end. */
static int wait_jobs(int n)
{
	long long end = mono_ms() + WAIT_MS;

	while (count_locked(&njobs) < n) {
		if (mono_ms() > end)
			return 0;
		sleep_ms(2);
	}
	join_jobs();
	return count_locked(&njobs) == n;
}

static void free_jobs(void)
{
	join_jobs();
	while (njobs > 0) {
		free(jobs[--njobs]);
		jobs[njobs] = NULL;
	}
	njoined = 0;
}

static void handler(const fugue_request *req, fugue_reply *reply, void *payload)
{
	(void)payload;
	if (strcmp(req->command, "echo") == 0) {
		fugue_reply_ok(reply, req->args);
	} else if (strcmp(req->command, "whoami") == 0) {
		struct json_object *r = json_object_new_object();

		json_object_object_add(r, "uid", json_object_new_int64((int64_t)req->uid));
		json_object_object_add(r, "pid", json_object_new_int64((int64_t)req->pid));
		fugue_reply_ok(reply, r);
		json_object_put(r);
	} else if (strcmp(req->command, "slow") == 0) {
		start_job(req, reply, 0);
	} else if (strcmp(req->command, "stream") == 0) {
		start_job(req, reply, 1);
	} else if (strcmp(req->command, "noreply") == 0) {
		pthread_mutex_lock(&jobs_mu);
		noreplies++;
		pthread_mutex_unlock(&jobs_mu);
	} else {
		fugue_reply_error(reply, FUGUE_ERR_UNKNOWN_COMMAND, NULL, "unknown command '%s'",
		                  req->command);
	}
}

/* --- fixture ------------------------------------------------------------------ */

static char *g_dir;
static char *g_path;
static fugue_server *g_srv;

static void setup(void)
{
	g_dir = fugue_test_tmpdir();
	if (asprintf(&g_path, "%s/run/fugue/conductor.sock", g_dir) < 0)
		abort();
	g_srv = NULL;
}

static void teardown(void)
{
	fugue_server_free(g_srv);
	g_srv = NULL;
	free_jobs();
	noreplies = 0;
	fugue_test_rmtree(g_dir);
	free(g_dir);
	free(g_path);
}

static fugue_server_options options(void)
{
	fugue_server_options o = FUGUE_SERVER_OPTIONS_INIT;

	o.path = g_path;
	o.handler = handler;
	return o;
}

/* Starts g_srv with O. */
static int start(const fugue_server_options *o)
{
	int rc = fugue_server_new(&g_srv, o);

	if (rc != 0)
		return rc;
	return fugue_server_start(g_srv);
}

/* Waits until the server counts N clients. */
static int wait_clients(fugue_server *s, size_t n)
{
	long long end = mono_ms() + WAIT_MS;

	while (fugue_server_clients(s) != n) {
		if (mono_ms() > end)
			return 0;
		sleep_ms(2);
	}
	return 1;
}

/* --- a client ------------------------------------------------------------------ */

struct client {
	int fd;
	size_t len;
	char buf[1 << 16];
};

static struct client *client_open(const char *path)
{
	struct client *c = calloc(1, sizeof(*c));
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct timeval tv = { WAIT_MS / 1000, 0 };

	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
		perror("test client connect");
		if (c->fd >= 0)
			close(c->fd);
		free(c);
		return NULL;
	}
	/* A missing answer fails the test instead of hanging it. */
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return c;
}

static void client_close(struct client *c)
{
	if (c == NULL)
		return;
	close(c->fd);
	free(c);
}

/* Sends LEN bytes; MSG_NOSIGNAL: a server that hung up must not kill the test. */
static int client_send_n(struct client *c, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int client_send(struct client *c, const char *s)
{
	return client_send_n(c, s, strlen(s));
}

/* The next line (malloc'd, without newline), or NULL on end of stream,
 * error or timeout. */
static char *client_line(struct client *c)
{
	for (;;) {
		char *nl = memchr(c->buf, '\n', c->len);
		ssize_t n;

		if (nl != NULL) {
			size_t l = (size_t)(nl - c->buf);
			char *line = strndup(c->buf, l);

			memmove(c->buf, nl + 1, c->len - l - 1);
			c->len -= l + 1;
			return line;
		}
		if (c->len == sizeof(c->buf))
			return NULL;
		n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return NULL;
		c->len += (size_t)n;
	}
}

/* 1 when the server closed the connection (end of stream or reset) with no
 * more lines, 0 when a line came or nothing happened within WAIT_MS. */
static int client_eof(struct client *c)
{
	char b[256];
	ssize_t n;

	if (c->len > 0)
		return 0;
	do
		n = recv(c->fd, b, sizeof(b), 0);
	while (n < 0 && errno == EINTR);
	return n == 0 || (n < 0 && errno == ECONNRESET);
}

/* The parsed next line (caller puts), or NULL. */
static struct json_object *client_msg(struct client *c)
{
	char *line = client_line(c);
	struct json_object *m;

	if (line == NULL)
		return NULL;
	m = json_tokener_parse(line);
	if (m == NULL)
		fprintf(stderr, "not JSON: %s\n", line);
	free(line);
	return m;
}

/* A member by path "a.b" as a string (json-c's rendering for non-strings),
 * or "(missing)". Borrowed from M. */
static const char *get(struct json_object *m, const char *path)
{
	char key[64];
	const char *dot;
	struct json_object *v = m;

	while (v != NULL && *path) {
		dot = strchr(path, '.');
		snprintf(key, sizeof(key), "%.*s", dot ? (int)(dot - path) : (int)strlen(path),
		         path);
		if (!json_object_object_get_ex(v, key, &v))
			return "(missing)";
		path = dot ? dot + 1 : "";
	}
	if (v == NULL)
		return "null";
	if (json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	return json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
}

/* Reads one message and checks its id and code ("ok" for success). */
static void expect(struct client *c, const char *id, const char *code)
{
	struct json_object *m = client_msg(c);

	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_STRING_EQUAL(get(m, "protocol"), "1");
	CU_ASSERT_STRING_EQUAL(get(m, "id"), id);
	if (strcmp(code, "ok") == 0) {
		CU_ASSERT_STRING_EQUAL(get(m, "ok"), "true");
	} else {
		CU_ASSERT_STRING_EQUAL(get(m, "ok"), "false");
		CU_ASSERT_STRING_EQUAL(get(m, "error.code"), code);
	}
	json_object_put(m);
}

static char *request(const char *id, const char *command, const char *args)
{
	char *s;

	if (asprintf(&s, "{\"protocol\":1,\"id\":\"%s\",\"command\":\"%s\",\"args\":%s}\n", id,
	             command, args ? args : "{}") < 0)
		abort();
	return s;
}

/* Sends one request. */
static void ask(struct client *c, const char *id, const char *command, const char *args)
{
	char *s = request(id, command, args);

	CU_ASSERT_EQUAL(client_send(c, s), 0);
	free(s);
}

/* --- the happy path --------------------------------------------------------- */

static void test_echo_and_pipelining(void)
{
	fugue_server_options o = options();
	struct client *c;
	struct json_object *m;
	char *two;
	char *r1;
	char *r2;

	CU_ASSERT_EQUAL_FATAL(start(&o), 0);
	c = client_open(g_path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);

	ask(c, "a", "echo", "{\"x\": [1, \"two\"]}");
	m = client_msg(c);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_STRING_EQUAL(get(m, "id"), "a");
	CU_ASSERT_STRING_EQUAL(get(m, "ok"), "true");
	CU_ASSERT_STRING_EQUAL(get(m, "result.x"), "[1,\"two\"]");
	json_object_put(m);

	/* Two requests in one write: two answers, in order. */
	r1 = request("b", "echo", NULL);
	r2 = request("c", "echo", NULL);
	if (asprintf(&two, "%s%s", r1, r2) < 0)
		abort();
	CU_ASSERT_EQUAL(client_send(c, two), 0);
	expect(c, "b", "ok");
	expect(c, "c", "ok");
	free(two);
	free(r1);
	free(r2);

	/* Many at once: more than one loop turn's worth, still all in order. */
	{
		char *all = calloc(200, 64);
		size_t off = 0;
		int i;

		for (i = 0; i < 200; i++)
			off += (size_t)sprintf(all + off, "{\"protocol\":1,\"id\":\"m%d\","
			                       "\"command\":\"echo\"}\n", i);
		CU_ASSERT_EQUAL(client_send(c, all), 0);
		for (i = 0; i < 200; i++) {
			char id[16];

			snprintf(id, sizeof(id), "m%d", i);
			expect(c, id, "ok");
		}
		free(all);
	}

	/* Blank lines (and CRLF) are skipped, not answered. */
	CU_ASSERT_EQUAL(client_send(c, "\n\r\n  \n{\"protocol\":1,\"id\":\"d\",\"command\":"
	                               "\"echo\"}\r\n"), 0);
	expect(c, "d", "ok");

	ask(c, "e", "nope", NULL);
	expect(c, "e", FUGUE_ERR_UNKNOWN_COMMAND);

	/* The caller, from SO_PEERCRED. */
	ask(c, "w", "whoami", NULL);
	m = client_msg(c);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_EQUAL(strtol(get(m, "result.uid"), NULL, 10), (long)getuid());
	CU_ASSERT_EQUAL(strtol(get(m, "result.pid"), NULL, 10), (long)getpid());
	json_object_put(m);

	CU_ASSERT_EQUAL(fugue_server_clients(g_srv), 1);
	client_close(c);
	CU_ASSERT_TRUE(wait_clients(g_srv, 0));
}

/* Events from a job thread, then the final message; a request pipelined
 * behind it waits for that final message. */
static void test_events_then_next_request(void)
{
	fugue_server_options o = options();
	struct client *c;
	char *r1 = request("s1", "slow", "{\"delay_ms\": 100, \"events\": 5}");
	char *r2 = request("e2", "echo", NULL);
	char *both;
	int i;

	CU_ASSERT_EQUAL_FATAL(start(&o), 0);
	c = client_open(g_path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	if (asprintf(&both, "%s%s", r1, r2) < 0)
		abort();
	CU_ASSERT_EQUAL(client_send(c, both), 0);
	for (i = 0; i < 5; i++) {
		struct json_object *m = client_msg(c);

		CU_ASSERT_PTR_NOT_NULL_FATAL(m);
		CU_ASSERT_STRING_EQUAL(get(m, "id"), "s1");
		CU_ASSERT_STRING_EQUAL(get(m, "event"), "progress");
		CU_ASSERT_STRING_EQUAL(get(m, "data.pad"), "pppppppppp");
		json_object_put(m);
	}
	expect(c, "s1", "ok");
	expect(c, "e2", "ok");
	CU_ASSERT_TRUE_FATAL(wait_jobs(1));
	CU_ASSERT_EQUAL(jobs[0]->sent, 5);
	CU_ASSERT_EQUAL(jobs[0]->failed, 0);
	free(both);
	free(r1);
	free(r2);
	client_close(c);
}

/* Many clients at once, each with many requests. */
#define PAR_CLIENTS 8
#define PAR_REQUESTS 50

static void *par_client(void *arg)
{
	struct client *c = client_open(g_path);
	long bad = 0;
	int i;

	(void)arg;
	if (c == NULL)
		return (void *)1L;
	for (i = 0; i < PAR_REQUESTS; i++) {
		char id[32];
		char *line;
		char *want;

		snprintf(id, sizeof(id), "p%d", i);
		want = request(id, "echo", "{\"n\":1}");
		if (client_send(c, want) != 0)
			bad++;
		free(want);
		line = client_line(c);
		if (line == NULL || strstr(line, id) == NULL || strstr(line, "\"ok\":true") == NULL)
			bad++;
		free(line);
	}
	client_close(c);
	return (void *)bad;
}

static void test_concurrent_clients(void)
{
	fugue_server_options o = options();
	pthread_t th[PAR_CLIENTS];
	int i;

	CU_ASSERT_EQUAL_FATAL(start(&o), 0);
	for (i = 0; i < PAR_CLIENTS; i++)
		CU_ASSERT_EQUAL_FATAL(pthread_create(&th[i], NULL, par_client, NULL), 0);
	for (i = 0; i < PAR_CLIENTS; i++) {
		void *bad;

		pthread_join(th[i], &bad);
		CU_ASSERT_PTR_NULL(bad);
	}
	CU_ASSERT_TRUE(wait_clients(g_srv, 0));
}

/* --- the socket file ------------------------------------------------------ */

static void test_socket_file(void)
{
	fugue_server_options o = options();
	struct stat st;
	char *dir = strdup(g_path);
	char *other;
	fugue_server *s2 = NULL;
	struct group *gr;
	gid_t want;
	mode_t old;

	/* A permissive umask must not leak into the socket's mode. */
	old = umask(0);
	if (geteuid() == 0) {
		/* Root can give the socket to any group: take one that is not ours. */
		gr = getgrnam("daemon");
		CU_ASSERT_PTR_NOT_NULL_FATAL(gr);
	} else {
		gr = getgrgid(getegid());
		CU_ASSERT_PTR_NOT_NULL_FATAL(gr);
	}
	want = gr->gr_gid;
	o.group = gr->gr_name;
	CU_ASSERT_EQUAL_FATAL(start(&o), 0);
	umask(old);
	CU_ASSERT_EQUAL_FATAL(lstat(g_path, &st), 0);
	CU_ASSERT_TRUE(S_ISSOCK(st.st_mode));
	CU_ASSERT_EQUAL(st.st_mode & 07777, 0660);
	CU_ASSERT_EQUAL(st.st_gid, want);
	/* Its directory was made, reachable by the group's members. */
	*strrchr(dir, '/') = '\0';
	CU_ASSERT_EQUAL_FATAL(stat(dir, &st), 0);
	CU_ASSERT_TRUE(S_ISDIR(st.st_mode));
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0755);

	/* A group that does not exist: the process's group, and still served. */
	if (asprintf(&other, "%s/other.sock", dir) < 0)
		abort();
	o.path = other;
	o.group = "no-such-group-fugue-test";
	CU_ASSERT_EQUAL_FATAL(fugue_server_new(&s2, &o), 0);
	CU_ASSERT_EQUAL_FATAL(lstat(other, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 07777, 0660);
	CU_ASSERT_EQUAL(st.st_gid, getegid());
	/* Stopped (even never started), the socket file is gone. */
	fugue_server_stop(s2);
	CU_ASSERT_NOT_EQUAL(lstat(other, &st), 0);
	fugue_server_stop(s2); /* idempotent */
	fugue_server_free(s2);
	fugue_server_free(NULL);

	fugue_server_stop(g_srv);
	CU_ASSERT_NOT_EQUAL(lstat(g_path, &st), 0);
	free(other);
	free(dir);
}

static void test_second_server_conflicts(void)
{
	fugue_server_options o = options();
	fugue_server *s2 = (fugue_server *)&o; /* must be reset to NULL */
	struct client *c;

	CU_ASSERT_EQUAL_FATAL(start(&o), 0);
	CU_ASSERT_EQUAL(fugue_server_new(&s2, &o), FUGUE_ECONFLICT);
	CU_ASSERT_PTR_NULL(s2);
	/* The first one still owns its socket file and serves. */
	c = client_open(g_path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	ask(c, "x", "echo", NULL);
	expect(c, "x", "ok");
	client_close(c);
}

static void test_stale_socket_replaced(void)
{
	fugue_server_options o = options();
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	char *dir = strdup(g_path);
	char *file;
	struct client *c;
	struct stat st;
	int fd;

	*strrchr(dir, '/') = '\0';
	*strrchr(dir, '/') = '\0';
	CU_ASSERT_EQUAL_FATAL(mkdir(dir, 0755), 0); /* .../run */
	free(dir);
	dir = strdup(g_path);
	*strrchr(dir, '/') = '\0';
	CU_ASSERT_EQUAL_FATAL(mkdir(dir, 0755), 0); /* .../run/fugue */
	/* What a crashed conductor leaves: a socket file nobody listens on. */
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", g_path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	CU_ASSERT_EQUAL_FATAL(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	close(fd);
	CU_ASSERT_EQUAL_FATAL(lstat(g_path, &st), 0);
	CU_ASSERT_TRUE(S_ISSOCK(st.st_mode));

	CU_ASSERT_EQUAL_FATAL(start(&o), 0);
	c = client_open(g_path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	ask(c, "x", "echo", NULL);
	expect(c, "x", "ok");
	client_close(c);
	fugue_server_free(g_srv);
	g_srv = NULL;

	/* A regular file is never removed: it is not ours to replace. */
	file = fugue_test_write_file(dir, "conductor.sock", "keep me\n");
	CU_ASSERT_EQUAL(start(&o), FUGUE_EIO);
	CU_ASSERT_PTR_NULL(g_srv);
	CU_ASSERT_EQUAL_FATAL(lstat(file, &st), 0);
	CU_ASSERT_TRUE(S_ISREG(st.st_mode));
	CU_ASSERT_EQUAL(st.st_size, 8);
	free(file);
	free(dir);
}

static void test_bad_options(void)
{
	fugue_server_options o = options();
	fugue_server *s = NULL;
	char longpath[200];

	o.handler = NULL;
	CU_ASSERT_EQUAL(fugue_server_new(&s, &o), FUGUE_EINVAL);
	o = options();
	o.path = NULL;
	CU_ASSERT_EQUAL(fugue_server_new(&s, &o), FUGUE_EINVAL);
	o = options();
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	o.path = longpath;
	CU_ASSERT_EQUAL(fugue_server_new(&s, &o), FUGUE_EINVAL);
	CU_ASSERT_PTR_NULL(s);
}

/* --- abuse ------------------------------------------------------------------ */

static void test_garbage(void)
{
	fugue_server_options o = options();
	static const char binary[] = "\x00\xff\xfe\x01{{{\x00garbage\n";
	struct client *c;
	struct json_object *m;

	CU_ASSERT_EQUAL_FATAL(start(&o), 0);
	c = client_open(g_path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);

	CU_ASSERT_EQUAL(client_send(c, "hello world\n"), 0);
	m = client_msg(c);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_STRING_EQUAL(get(m, "id"), "null");
	CU_ASSERT_STRING_EQUAL(get(m, "error.code"), FUGUE_ERR_BAD_REQUEST);
	CU_ASSERT_STRING_EQUAL(get(m, "error.message"), "request is not a JSON object");
	json_object_put(m);

	CU_ASSERT_EQUAL(client_send_n(c, binary, sizeof(binary) - 1), 0);
	expect(c, "null", FUGUE_ERR_BAD_REQUEST);
	/* Not JSON: the id cannot be read either. */
	CU_ASSERT_EQUAL(client_send(c, "{\"protocol\":1,\"id\":\"t\",\"command\":\"echo\",}\n"), 0);
	expect(c, "null", FUGUE_ERR_BAD_REQUEST);
	CU_ASSERT_EQUAL(client_send(c, "{\"protocol\":2,\"id\":\"p\",\"command\":\"echo\"}\n"), 0);
	expect(c, "p", FUGUE_ERR_PROTOCOL);
	CU_ASSERT_EQUAL(client_send(c, "{\"protocol\":1,\"id\":\"q\",\"command\":\"echo\","
	                               "\"args\":[]}\n"), 0);
	expect(c, "q", FUGUE_ERR_BAD_REQUEST);

	/* After all that the connection still works. */
	ask(c, "ok", "echo", NULL);
	expect(c, "ok", "ok");
	CU_ASSERT_EQUAL(fugue_server_clients(g_srv), 1);
	client_close(c);
}

static void test_truncated_then_gone(void)
{
	fugue_server_options o = options();
	struct client *c;

	CU_ASSERT_EQUAL_FATAL(start(&o), 0);
	/* Half a request, then the client closes: nothing to answer, nothing kept. */
	c = client_open(g_path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(client_send(c, "{\"protocol\":1,\"id\":\"t\",\"comm"), 0);
	CU_ASSERT_TRUE(wait_clients(g_srv, 1));
	client_close(c);
	CU_ASSERT_TRUE(wait_clients(g_srv, 0));

	/* Half a request, then the client stops writing: the server closes too. */
	c = client_open(g_path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(client_send(c, "{\"protocol\":1,\"id\":\"t\",\"comm"), 0);
	shutdown(c->fd, SHUT_WR);
	CU_ASSERT_TRUE(client_eof(c));
	client_close(c);

	/* A whole request, then the client stops writing: it still gets its answer. */
	c = client_open(g_path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	ask(c, "h", "slow", "{\"delay_ms\": 50}");
	shutdown(c->fd, SHUT_WR);
	expect(c, "h", "ok");
	CU_ASSERT_TRUE(client_eof(c));
	client_close(c);
	CU_ASSERT_TRUE(wait_clients(g_srv, 0));
}

/* A request of N bytes in all (newline included) echoing a padding string. */
static char *sized_request(const char *id, size_t n)
{
	char *head;
	char *s;
	size_t hl;

	if (asprintf(&head, "{\"protocol\":1,\"id\":\"%s\",\"command\":\"echo\",\"args\":{\"p\":\"",
	             id) < 0)
		abort();
	hl = strlen(head);
	s = malloc(n + 1);
	memcpy(s, head, hl);
	memset(s + hl, 'x', n - hl - 4);
	memcpy(s + n - 4, "\"}}\n", 4);
	s[n] = '\0';
	free(head);
	return s;
}

static void test_too_large(void)
{
	fugue_server_options o = options();
	struct client *c;
	char *s;
	char *s2;
	char *big;
	char *two;

	o.max_request = 1024;
	CU_ASSERT_EQUAL_FATAL(start(&o), 0);

	/* Exactly the limit (the newline is not counted) is fine. */
	c = client_open(g_path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	s = sized_request("max", 1025);
	CU_ASSERT_EQUAL(client_send(c, s), 0);
	expect(c, "max", "ok");
	free(s);

	/* Two requests under the limit each, over it together, in one write:
	 * the bytes read ahead wait for their turn. */
	s = sized_request("a", 700);
	s2 = sized_request("b", 700);
	if (asprintf(&two, "%s%s", s, s2) < 0)
		abort();
	CU_ASSERT_EQUAL(client_send(c, two), 0);
	expect(c, "a", "ok");
	expect(c, "b", "ok");
	free(two);
	free(s2);
	free(s);

	/* One byte over: too_large, then the connection is closed. */
	s = sized_request("over", 1026);
	CU_ASSERT_EQUAL(client_send(c, s), 0);
	expect(c, "null", FUGUE_ERR_TOO_LARGE);
	CU_ASSERT_TRUE(client_eof(c));
	client_close(c);
	free(s);

	/* Far over, with no newline at all: the server stops reading at the limit. */
	c = client_open(g_path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	big = malloc(100000);
	memset(big, '{', 100000);
	/* The server may close before it was all sent: a failed send is expected. */
	(void)send(c->fd, big, 100000, MSG_NOSIGNAL | MSG_DONTWAIT);
	expect(c, "null", FUGUE_ERR_TOO_LARGE);
	CU_ASSERT_TRUE(client_eof(c));
	client_close(c);
	free(big);
	CU_ASSERT_TRUE(wait_clients(g_srv, 0));
}

static void test_slow_client(void)
{
	fugue_server_options o = options();
	const char *req = "{\"protocol\":1,\"id\":\"slow\",\"command\":\"echo\"}\n";
	struct client *c;
	struct json_object *m;
	long long t0;
	long long elapsed;
	size_t i;
	int closed = 0;

	o.request_timeout_ms = 300;
	CU_ASSERT_EQUAL_FATAL(start(&o), 0);
	c = client_open(g_path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	/* One byte every 40 ms: the request would take ~1.7 s, well over 300 ms. */
	t0 = mono_ms();
	for (i = 0; req[i] != '\0' && !closed; i++) {
		struct pollfd p = { .fd = c->fd, .events = POLLIN };

		if (send(c->fd, req + i, 1, MSG_NOSIGNAL) != 1)
			break;
		closed = poll(&p, 1, 40) > 0;
	}
	elapsed = mono_ms() - t0;
	CU_ASSERT_TRUE(closed);
	CU_ASSERT_TRUE(req[i] != '\0');
	/* Never before the timeout. */
	CU_ASSERT_TRUE(elapsed >= 300);
	m = client_msg(c);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_STRING_EQUAL(get(m, "error.code"), FUGUE_ERR_BAD_REQUEST);
	CU_ASSERT_STRING_EQUAL(get(m, "error.message"), "request not finished within 300 ms");
	json_object_put(m);
	CU_ASSERT_TRUE(client_eof(c));
	client_close(c);
	CU_ASSERT_TRUE(wait_clients(g_srv, 0));
}

static void test_dribbled_request(void)
{
	fugue_server_options o = options();
	const char *req = "{\"protocol\":1,\"id\":\"drip\",\"command\":\"echo\"}\n";
	struct client *c;
	size_t i;

	/* One byte per write, within the (default) timeout: a whole request. */
	CU_ASSERT_EQUAL_FATAL(start(&o), 0);
	c = client_open(g_path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	for (i = 0; req[i] != '\0'; i++) {
		CU_ASSERT_EQUAL(client_send_n(c, req + i, 1), 0);
		sleep_ms(1);
	}
	expect(c, "drip", "ok");
	client_close(c);
}

static void test_idle_timeout(void)
{
	fugue_server_options o = options();
	struct client *c;
	struct client *busy;

	o.idle_timeout_ms = 300;
	CU_ASSERT_EQUAL_FATAL(start(&o), 0);
	busy = client_open(g_path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(busy);
	/* A request in flight for longer than the idle timeout is not idleness. */
	ask(busy, "long", "slow", "{\"delay_ms\": 900}");
	c = client_open(g_path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_TRUE(client_eof(c));
	client_close(c);
	expect(busy, "long", "ok");
	client_close(busy);
	CU_ASSERT_TRUE(wait_clients(g_srv, 0));
}

static void test_vanish_mid_stream(void)
{
	fugue_server_options o = options();
	struct client *c;
	int i;

	CU_ASSERT_EQUAL_FATAL(start(&o), 0);
	c = client_open(g_path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	ask(c, "v", "stream", "{\"interval_ms\": 1, \"max\": 100000, \"size\": 100}");
	for (i = 0; i < 3; i++) {
		struct json_object *m = client_msg(c);

		CU_ASSERT_PTR_NOT_NULL_FATAL(m);
		CU_ASSERT_STRING_EQUAL(get(m, "event"), "progress");
		json_object_put(m);
	}
	/* Gone while the job still streams: SIGPIPE must not kill us (the test
	 * runs with its default action), the job must see the reply closed. */
	client_close(c);
	CU_ASSERT_TRUE(wait_clients(g_srv, 0));
	CU_ASSERT_TRUE_FATAL(wait_jobs(1));
	CU_ASSERT_EQUAL(jobs[0]->failed, 1);
	CU_ASSERT_EQUAL(jobs[0]->closed, 1);
	CU_ASSERT_TRUE(jobs[0]->sent < 100000);

	/* The server is none the worse. */
	c = client_open(g_path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	ask(c, "after", "echo", NULL);
	expect(c, "after", "ok");
	client_close(c);
}

static void test_never_reads(void)
{
	fugue_server_options o = options();
	struct client *lazy;
	struct client *c;
	int i;

	o.max_queued = 65536;
	CU_ASSERT_EQUAL_FATAL(start(&o), 0);
	lazy = client_open(g_path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(lazy);
	/* 20000 events of 4 KiB: 80 MB that the client never reads. */
	ask(lazy, "flood", "stream", "{\"max\": 20000, \"size\": 4096}");

	/* Meanwhile others are served. */
	c = client_open(g_path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	for (i = 0; i < 20; i++) {
		char id[16];

		snprintf(id, sizeof(id), "e%d", i);
		ask(c, id, "echo", NULL);
		expect(c, id, "ok");
	}
	CU_ASSERT_TRUE_FATAL(wait_jobs(1));
	/* The job was cut off at the queue limit (plus the kernel's buffers),
	 * far before its end. */
	CU_ASSERT_EQUAL(jobs[0]->failed, 1);
	CU_ASSERT_EQUAL(jobs[0]->closed, 1);
	CU_ASSERT_TRUE(jobs[0]->sent < 2000);
	CU_ASSERT_TRUE(wait_clients(g_srv, 1));
	ask(c, "last", "echo", NULL);
	expect(c, "last", "ok");
	client_close(c);
	client_close(lazy);
}

/* A client that shuts down its reading side: the answer meets EPIPE, which
 * must close the connection, not raise SIGPIPE (its default action would
 * kill this whole test process). */
static void test_reader_gone(void)
{
	fugue_server_options o = options();
	struct client *c;

	CU_ASSERT_EQUAL_FATAL(start(&o), 0);
	c = client_open(g_path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	shutdown(c->fd, SHUT_RD);
	/* A job answers: once it did, the connection was accepted and its answer
	 * queued; only the EPIPE can then bring the count to 0 (the client
	 * stays open, so there is no hangup to see instead). */
	ask(c, "x", "slow", "{\"delay_ms\": 20}");
	CU_ASSERT_TRUE_FATAL(wait_jobs(1));
	CU_ASSERT_EQUAL(jobs[0]->failed, 0);
	CU_ASSERT_TRUE(wait_clients(g_srv, 0));
	client_close(c);
}

static void test_max_clients(void)
{
	fugue_server_options o = options();
	struct client *c[4];
	struct json_object *m;

	o.max_clients = 2;
	CU_ASSERT_EQUAL_FATAL(start(&o), 0);
	c[0] = client_open(g_path);
	c[1] = client_open(g_path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c[0]);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c[1]);
	ask(c[0], "0", "echo", NULL);
	expect(c[0], "0", "ok");
	ask(c[1], "1", "echo", NULL);
	expect(c[1], "1", "ok");

	/* The third: one error line, then closed. */
	c[2] = client_open(g_path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c[2]);
	m = client_msg(c[2]);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_STRING_EQUAL(get(m, "ok"), "false");
	CU_ASSERT_STRING_EQUAL(get(m, "error.code"), FUGUE_ERR_BUSY);
	json_object_put(m);
	CU_ASSERT_TRUE(client_eof(c[2]));
	client_close(c[2]);
	CU_ASSERT_EQUAL(fugue_server_clients(g_srv), 2);

	/* Room again once one leaves. */
	client_close(c[0]);
	CU_ASSERT_TRUE(wait_clients(g_srv, 1));
	c[3] = client_open(g_path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c[3]);
	ask(c[3], "3", "echo", NULL);
	expect(c[3], "3", "ok");
	client_close(c[3]);
	client_close(c[1]);
}

static void test_stop_with_requests_in_flight(void)
{
	fugue_server_options o = options();
	struct client *a;
	struct client *b;
	struct stat st;
	long long t0;

	CU_ASSERT_EQUAL_FATAL(start(&o), 0);
	a = client_open(g_path);
	b = client_open(g_path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	ask(a, "never", "noreply", NULL);
	ask(b, "later", "slow", "{\"delay_ms\": 1000, \"events\": 3}");
	/* Both requests must be in flight before the stop. */
	t0 = mono_ms();
	while ((count_locked(&njobs) == 0 || count_locked(&noreplies) == 0) &&
	       mono_ms() - t0 < WAIT_MS)
		sleep_ms(2);
	CU_ASSERT_EQUAL_FATAL(count_locked(&noreplies), 1);
	fugue_server_free(g_srv);
	g_srv = NULL;
	CU_ASSERT_NOT_EQUAL(lstat(g_path, &st), 0);
	expect(a, "never", FUGUE_ERR_SHUTTING_DOWN);
	CU_ASSERT_TRUE(client_eof(a));
	expect(b, "later", FUGUE_ERR_SHUTTING_DOWN);
	CU_ASSERT_TRUE(client_eof(b));
	/* The job outlived the server: its sends fail quietly. */
	CU_ASSERT_TRUE_FATAL(wait_jobs(1));
	CU_ASSERT_EQUAL(jobs[0]->sent, 0);
	CU_ASSERT_EQUAL(jobs[0]->failed, 1);
	CU_ASSERT_EQUAL(jobs[0]->closed, 1);
	client_close(a);
	client_close(b);
}

int fugue_test_register(void)
{
	CU_pSuite basic = CU_add_suite_with_setup_and_teardown("basic", NULL, NULL, setup,
	                                                       teardown);
	CU_pSuite file = CU_add_suite_with_setup_and_teardown("socket_file", NULL, NULL, setup,
	                                                      teardown);
	CU_pSuite abuse = CU_add_suite_with_setup_and_teardown("abuse", NULL, NULL, setup,
	                                                       teardown);

	if (basic == NULL || file == NULL || abuse == NULL)
		return 1;
	/* Expected warnings (a conflict, a flood) would only be noise. */
	fugue_log_set_level(FUGUE_LOG_ERROR);
	if (!CU_add_test(basic, "echo and pipelining", test_echo_and_pipelining) ||
	    !CU_add_test(basic, "events, then the next request", test_events_then_next_request) ||
	    !CU_add_test(basic, "concurrent clients", test_concurrent_clients) ||
	    !CU_add_test(basic, "stop, requests in flight", test_stop_with_requests_in_flight) ||
	    !CU_add_test(file, "mode, group, directory", test_socket_file) ||
	    !CU_add_test(file, "second server conflicts", test_second_server_conflicts) ||
	    !CU_add_test(file, "stale socket replaced", test_stale_socket_replaced) ||
	    !CU_add_test(file, "bad options", test_bad_options) ||
	    !CU_add_test(abuse, "garbage", test_garbage) ||
	    !CU_add_test(abuse, "truncated, then gone", test_truncated_then_gone) ||
	    !CU_add_test(abuse, "too large", test_too_large) ||
	    !CU_add_test(abuse, "slow client", test_slow_client) ||
	    !CU_add_test(abuse, "dribbled request", test_dribbled_request) ||
	    !CU_add_test(abuse, "idle timeout", test_idle_timeout) ||
	    !CU_add_test(abuse, "vanish mid-stream", test_vanish_mid_stream) ||
	    !CU_add_test(abuse, "never reads", test_never_reads) ||
	    !CU_add_test(abuse, "reader gone (EPIPE)", test_reader_gone) ||
	    !CU_add_test(abuse, "max clients", test_max_clients))
		return 1;
	return 0;
}
