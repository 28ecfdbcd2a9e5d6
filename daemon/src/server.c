/* server.c - the local transport (see server.h and docs/protocol.md).
 *
 * Threads. One serving thread owns the sockets and the input side of every
 * connection and runs the handler. Job threads answer later through a
 * fugue_reply whose send function (conn_send) only appends the line to the
 * connection's output queue under the server mutex and wakes the serving
 * thread through an eventfd; the serving thread alone writes to sockets.
 *
 * Locks. A reply's send function runs with the reply's lock held and then
 * takes the server mutex, so the serving thread never holds the server
 * mutex while it calls into a reply (detach, error) or the handler.
 *
 * Lifetime of a connection. A connection is freed only by the serving
 * thread and only after fugue_reply_detach() on its current reply has
 * returned: from then on no job thread can reach it. A reply whose final
 * message was queued is detached as well before the next request is read.
 *
 * Flow control. Requests are read one at a time: while one is in flight the
 * socket is not polled for input, so a client that pipelines requests is
 * held back by the kernel's socket buffer, not by our memory; bytes already
 * read stay in the connection's input buffer, which never grows beyond
 * max_request + 1 bytes. Output is bounded by max_queued per connection. */
#include "server.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "clock.h"
#include "fugue/common.h"
#include "fugue/log.h"

#define DEFAULT_MAX_REQUEST ((size_t)8 << 20)
#define DEFAULT_MAX_QUEUED ((size_t)64 << 20)
#define DEFAULT_MAX_CLIENTS 128
#define DEFAULT_REQUEST_TIMEOUT_MS 10000L
#define DEFAULT_IDLE_TIMEOUT_MS 300000L

#define LISTEN_BACKLOG 64
#define READ_CHUNK 65536
/* How long a connection being closed (after too_large, a timeout or at
 * shutdown) may take to read its last error line. */
#define LINGER_MS 1000
/* Requests one connection may run in one loop turn: a client pipelining
 * many quick requests must not starve the others. */
#define LINES_PER_TURN 32
/* After accept() fails for lack of file descriptors, the listening socket
 * is left alone this long instead of spinning on it. */
#define ACCEPT_BACKOFF_MS 100
/* Input buffers larger than this are shrunk once a request is consumed, so
 * that an idle connection that once sent a big request holds little. */
#define INPUT_KEEP 65536

struct conn {
	struct fugue_server *srv;
	int fd;
	uid_t uid;
	pid_t pid;

	/* Input: the serving thread only. */
	char *in;
	size_t in_len;
	size_t in_cap;
	size_t scanned;          /* in[0..scanned) holds no newline */
	int64_t req_start_ms;    /* when the unfinished line in `in` began */
	int64_t active_ms;       /* last byte read or written */
	int eof;                 /* the client shut down its writing side */
	int closing;             /* flush the queue, then close */
	int64_t close_at_ms;

	/* Shared with job threads, under srv->mu. */
	char *out;
	size_t out_off;          /* out[out_off..out_len) is unsent */
	size_t out_len;
	size_t out_cap;
	fugue_reply *cur;        /* the request in flight (written by the serving thread) */
	int final_queued;        /* cur's final message is in `out` */
	int dead;                /* refuse sends; close at once (overflow or closed) */
};

struct fugue_server {
	fugue_server_options opts; /* with defaults filled in; path and group copied */
	char *path;
	char *group;
	int listen_fd;
	int wake_fd;               /* eventfd: stop, or a reply queued by a job thread */
	dev_t sock_dev;            /* the socket file we bound, to unlink only our own */
	ino_t sock_ino;

	pthread_t thread;
	int started;
	int stopped;

	pthread_mutex_t mu;        /* conns' output side, nclients, flags below */
	int stopping;
	int wake_pending;
	size_t nclients;

	/* The serving thread only. */
	struct conn **conns;
	size_t nconns;
	size_t conns_cap;
	struct pollfd *pfds;
	size_t pfds_cap;
	int64_t accept_after_ms;
	int64_t reject_logged_ms;  /* at most one "refusing" line a second */
	int more_work;             /* a connection has lines left: poll without waiting */
};

/* --- small helpers ------------------------------------------------------- */

static void lock(fugue_server *s)
{
	int rc = pthread_mutex_lock(&s->mu);

	assert(rc == 0);
	(void)rc;
}

static void unlock(fugue_server *s)
{
	int rc = pthread_mutex_unlock(&s->mu);

	assert(rc == 0);
	(void)rc;
}

/* Wakes the serving thread; with the mutex held. Several wakes before the
 * thread runs cost one write. */
static void wake_locked(fugue_server *s)
{
	uint64_t one = 1;

	if (s->wake_pending)
		return;
	s->wake_pending = 1;
	if (write(s->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		fugue_log_error("socket server: cannot wake the serving thread: %s",
		                strerror(errno));
}

/* Read first, then clear the flag: clearing first would let a wake that
 * comes in between be read here and leave the flag set with nothing to
 * read, so that the next wakes would be skipped and the thread would sleep
 * through them. A wake that finds the flag still set is not lost either:
 * the turn that follows looks at every connection under the mutex. */
static void drain_wake(fugue_server *s)
{
	uint64_t v;

	while (read(s->wake_fd, &v, sizeof(v)) > 0)
		;
	lock(s);
	s->wake_pending = 0;
	unlock(s);
}

/* --- the send function of replies ---------------------------------------- */

/* fugue_reply_send_fn for a connection: queues LINE and a newline. Any
 * thread, with the reply's lock held. */
static int conn_send(const char *line, size_t len, void *transport)
{
	struct conn *c = transport;
	fugue_server *s = c->srv;
	size_t pending;
	size_t need;

	lock(s);
	if (c->dead) {
		unlock(s);
		return -1;
	}
	pending = c->out_len - c->out_off;
	if (pending + len + 1 > s->opts.max_queued) {
		/* The client does not read: drop it rather than grow without bound. */
		fugue_log_warn("socket client pid %ld: more than %zu bytes of replies unread; "
		               "closing the connection", (long)c->pid, s->opts.max_queued);
		c->dead = 1;
		wake_locked(s);
		unlock(s);
		return -1;
	}
	if (c->out_off > 0 && c->out_len + len + 1 > c->out_cap) {
		memmove(c->out, c->out + c->out_off, pending);
		c->out_off = 0;
		c->out_len = pending;
	}
	need = c->out_len + len + 1;
	if (need > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 4096;
		char *p;

		while (cap < need)
			cap *= 2;
		p = realloc(c->out, cap);
		if (p == NULL) {
			c->dead = 1;
			wake_locked(s);
			unlock(s);
			return -1;
		}
		c->out = p;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, line, len);
	c->out[c->out_len + len] = '\n';
	c->out_len = need;
	/* envelope.c marks the reply finished before sending its final message. */
	if (c->cur != NULL && fugue_reply_finished(c->cur))
		c->final_queued = 1;
	wake_locked(s);
	unlock(s);
	return 0;
}

/* A send function writing straight to a fresh socket (see reject()). */
static int direct_send(const char *line, size_t len, void *transport)
{
	int fd = *(int *)transport;
	struct iovec iov[2] = { { (void *)line, len }, { "\n", 1 } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };

	return sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 ? -1 : 0;
}

/* --- connections ---------------------------------------------------------- */

static struct conn *conn_new(fugue_server *s, int fd)
{
	struct conn *c = calloc(1, sizeof(*c));
	struct ucred cred;
	socklen_t clen = sizeof(cred);

	if (c == NULL)
		return NULL;
	c->srv = s;
	c->fd = fd;
	c->uid = (uid_t)-1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0) {
		c->uid = cred.uid;
		c->pid = cred.pid;
	}
	c->active_ms = fugue_clock_mono_ms();
	return c;
}

/* Closes and frees C (the serving thread; not under the mutex). */
static void conn_close(fugue_server *s, struct conn *c)
{
	fugue_reply *r;

	lock(s);
	c->dead = 1;
	r = c->cur;
	c->cur = NULL;
	s->nclients--;
	unlock(s);
	if (r != NULL) {
		/* After this no job thread can reach C. */
		fugue_reply_detach(r);
		fugue_reply_unref(r);
	}
	close(c->fd);
	fugue_log_debug("socket client pid %ld disconnected", (long)c->pid);
	free(c->in);
	free(c->out);
	free(c);
}

/* The current request's final message is queued: forget its reply. */
static void conn_request_done(fugue_server *s, struct conn *c)
{
	fugue_reply *r;

	lock(s);
	r = c->cur;
	c->cur = NULL;
	c->final_queued = 0;
	unlock(s);
	fugue_reply_detach(r);
	fugue_reply_unref(r);
}

/* Makes R the request in flight of C. */
static void conn_set_current(fugue_server *s, struct conn *c, fugue_reply *r)
{
	lock(s);
	c->cur = r;
	c->final_queued = 0;
	unlock(s);
}

/* Answers C with an error of the server's own (not the handler's). */
static void conn_error(fugue_server *s, struct conn *c, const char *id, const char *code,
                       const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void conn_error(fugue_server *s, struct conn *c, const char *id, const char *code,
                       const char *fmt, ...)
{
	fugue_reply *r = fugue_reply_new(id, conn_send, c);
	char msg[512];
	va_list ap;

	if (r == NULL) {
		c->closing = 1;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	conn_set_current(s, c, r);
	fugue_reply_error(r, code, NULL, "%s", msg);
	conn_request_done(s, c);
}

/* Flushes what remains and closes after at most LINGER_MS. */
static void conn_start_closing(struct conn *c)
{
	if (c->closing)
		return;
	c->closing = 1;
	c->close_at_ms = fugue_clock_mono_ms() + LINGER_MS;
}

/* Runs one request line (without its newline). */
static void conn_run_line(fugue_server *s, struct conn *c, const char *line, size_t len)
{
	fugue_request req;
	fugue_reply *r;
	const char *code;
	char msg[256];

	if (fugue_request_parse(&req, line, len, &code, msg, sizeof(msg)) != 0) {
		conn_error(s, c, req.id, code, "%s", msg);
		fugue_request_clear(&req);
		return;
	}
	req.uid = c->uid;
	req.pid = c->pid;
	r = fugue_reply_new(req.id, conn_send, c);
	if (r == NULL) {
		fugue_request_clear(&req);
		conn_error(s, c, NULL, FUGUE_ERR_INTERNAL, "out of memory");
		return;
	}
	conn_set_current(s, c, r);
	fugue_log_debug("socket client pid %ld uid %ld: command %s", (long)c->pid, (long)c->uid,
	                req.command);
	s->opts.handler(&req, r, s->opts.payload);
	fugue_request_clear(&req);
}

/* Drops the first N bytes of the input buffer. */
static void input_consume(struct conn *c, size_t n)
{
	memmove(c->in, c->in + n, c->in_len - n);
	c->in_len -= n;
	c->scanned = 0;
	/* What is left was read while the last request ran: its clock starts now. */
	c->req_start_ms = c->in_len > 0 ? fugue_clock_mono_ms() : 0;
	if (c->in_cap > INPUT_KEEP && c->in_len <= INPUT_KEEP / 2) {
		char *p = realloc(c->in, INPUT_KEEP);

		if (p != NULL) {
			c->in = p;
			c->in_cap = INPUT_KEEP;
		}
	}
}

/* Moves C forward: retires a finished request, runs the next complete
 * line, notices a too long line or an end of input. Returns nonzero when
 * lines are left for the next turn. */
static int conn_advance(fugue_server *s, struct conn *c)
{
	int n;

	for (n = 0; n < LINES_PER_TURN; n++) {
		char *nl;
		int done;

		lock(s);
		done = c->cur != NULL && c->final_queued;
		unlock(s);
		if (done)
			conn_request_done(s, c);
		if (c->cur != NULL || c->closing)
			return 0;
		nl = c->in_len > c->scanned ? memchr(c->in + c->scanned, '\n',
		                                     c->in_len - c->scanned) : NULL;
		if (nl == NULL) {
			c->scanned = c->in_len;
			if (c->in_len > s->opts.max_request) {
				conn_error(s, c, NULL, FUGUE_ERR_TOO_LARGE,
				           "request exceeds %zu bytes", s->opts.max_request);
				conn_start_closing(c);
			} else if (c->eof) {
				/* A truncated last request has nobody to answer. */
				conn_start_closing(c);
			}
			return 0;
		}
		if ((size_t)(nl - c->in) > s->opts.max_request) {
			conn_error(s, c, NULL, FUGUE_ERR_TOO_LARGE, "request exceeds %zu bytes",
			           s->opts.max_request);
			conn_start_closing(c);
			return 0;
		}
		if (!fugue_request_line_is_blank(c->in, (size_t)(nl - c->in)))
			conn_run_line(s, c, c->in, (size_t)(nl - c->in));
		input_consume(c, (size_t)(nl - c->in) + 1);
	}
	return 1;
}

/* Reads what the client sent, never beyond max_request + 1 buffered bytes.
 * Returns -1 when the connection must be closed at once. */
static int conn_read(fugue_server *s, struct conn *c)
{
	size_t limit = s->opts.max_request + 1;

	while (c->in_len < limit) {
		size_t room;
		ssize_t n;

		if (c->in_len == c->in_cap) {
			size_t cap = c->in_cap ? c->in_cap * 2 : 4096;
			char *p;

			if (cap > limit)
				cap = limit;
			p = realloc(c->in, cap);
			if (p == NULL)
				return -1;
			c->in = p;
			c->in_cap = cap;
		}
		room = c->in_cap - c->in_len;
		if (room > READ_CHUNK)
			room = READ_CHUNK;
		n = recv(c->fd, c->in + c->in_len, room, MSG_DONTWAIT);
		if (n > 0) {
			if (c->in_len == 0)
				c->req_start_ms = fugue_clock_mono_ms();
			c->in_len += (size_t)n;
			c->active_ms = fugue_clock_mono_ms();
			/* One complete line is enough: the rest waits in the kernel. */
			if (memchr(c->in + c->in_len - (size_t)n, '\n', (size_t)n) != NULL)
				return 0;
			continue;
		}
		if (n == 0) {
			c->eof = 1;
			return 0;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		return -1;
	}
	return 0;
}

/* Writes queued output. Returns -1 when the connection must be closed. */
static int conn_write(fugue_server *s, struct conn *c)
{
	int rc = 0;

	lock(s);
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
		                 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n > 0) {
			c->out_off += (size_t)n;
			c->active_ms = fugue_clock_mono_ms();
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		rc = -1; /* EPIPE, ECONNRESET: the client is gone */
		break;
	}
	if (c->out_off == c->out_len) {
		c->out_off = 0;
		c->out_len = 0;
	}
	unlock(s);
	return rc;
}

static int conn_has_output(fugue_server *s, struct conn *c)
{
	int r;

	lock(s);
	r = c->out_len > c->out_off;
	unlock(s);
	return r;
}

/* The deadline of C (0: none) and whether it has passed; closes or
 * answers as needed. Returns -1 when C must be closed now. */
static int conn_timers(fugue_server *s, struct conn *c, int64_t now, int64_t *deadline)
{
	int64_t at;

	if (c->closing) {
		at = c->close_at_ms;
		if (now >= at || !conn_has_output(s, c))
			return -1;
	} else if (c->cur != NULL) {
		/* A job may run for long; the client is waiting for it. */
		return 0;
	} else if (c->in_len > 0) {
		at = c->req_start_ms + s->opts.request_timeout_ms;
		if (now >= at) {
			conn_error(s, c, NULL, FUGUE_ERR_BAD_REQUEST,
			           "request not finished within %ld ms",
			           s->opts.request_timeout_ms);
			conn_start_closing(c);
			at = c->close_at_ms;
		}
	} else {
		at = c->active_ms + s->opts.idle_timeout_ms;
		if (now >= at) {
			fugue_log_debug("socket client pid %ld idle; closing", (long)c->pid);
			return -1;
		}
	}
	if (*deadline == 0 || at < *deadline)
		*deadline = at;
	return 0;
}

/* --- accepting ------------------------------------------------------------ */

/* Turns away a connection beyond max_clients with one error line. */
static void reject(int fd)
{
	fugue_reply *r = fugue_reply_new(NULL, direct_send, &fd);

	if (r != NULL) {
		fugue_reply_error(r, FUGUE_ERR_BUSY, NULL,
		                  "too many connections to the conductor; try again later");
		fugue_reply_unref(r);
	}
	close(fd);
}

static int conns_add(fugue_server *s, struct conn *c)
{
	if (s->nconns == s->conns_cap) {
		size_t cap = s->conns_cap ? s->conns_cap * 2 : 16;
		struct conn **p = realloc(s->conns, cap * sizeof(*p));

		if (p == NULL)
			return FUGUE_ENOMEM;
		s->conns = p;
		s->conns_cap = cap;
	}
	s->conns[s->nconns++] = c;
	return 0;
}

static void accept_all(fugue_server *s)
{
	for (;;) {
		int fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct conn *c;

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM) {
				fugue_log_warn("socket server: cannot accept: %s", strerror(errno));
				s->accept_after_ms = fugue_clock_mono_ms() + ACCEPT_BACKOFF_MS;
			}
			return;
		}
		if (s->nconns >= s->opts.max_clients) {
			/* A flood of connections must not become a flood of log lines. */
			if (fugue_clock_mono_ms() - s->reject_logged_ms >= 1000) {
				fugue_log_warn("socket server: %zu clients; refusing more",
				               s->nconns);
				s->reject_logged_ms = fugue_clock_mono_ms();
			}
			reject(fd);
			continue;
		}
		c = conn_new(s, fd);
		if (c == NULL || conns_add(s, c) != 0) {
			free(c);
			close(fd);
			continue;
		}
		lock(s);
		s->nclients++;
		unlock(s);
		fugue_log_debug("socket client pid %ld uid %ld connected", (long)c->pid,
		                (long)c->uid);
	}
}

/* --- the loop -------------------------------------------------------------- */

static int ensure_pfds(fugue_server *s, size_t n)
{
	struct pollfd *p;

	if (n <= s->pfds_cap)
		return 0;
	p = realloc(s->pfds, n * sizeof(*p));
	if (p == NULL)
		return FUGUE_ENOMEM;
	s->pfds = p;
	s->pfds_cap = n;
	return 0;
}

/* Removes the connection at index I (order does not matter). */
static void conns_remove(fugue_server *s, size_t i)
{
	conn_close(s, s->conns[i]);
	s->conns[i] = s->conns[--s->nconns];
}

static short conn_events(fugue_server *s, struct conn *c)
{
	short ev = 0;

	if (c->cur == NULL && !c->closing && !c->eof && c->in_len <= s->opts.max_request)
		ev |= POLLIN;
	if (conn_has_output(s, c))
		ev |= POLLOUT;
	return ev;
}

/* The poll timeout for the nearest DEADLINE (0: none). */
static int poll_timeout(fugue_server *s, int64_t deadline, int64_t now)
{
	int64_t t = -1;

	if (s->more_work)
		return 0;
	if (deadline != 0)
		t = deadline > now ? deadline - now : 0;
	if (s->accept_after_ms != 0) {
		int64_t a = s->accept_after_ms > now ? s->accept_after_ms - now : 0;

		if (t < 0 || a < t)
			t = a;
	}
	if (t > 60000)
		t = 60000;
	return (int)t;
}

/* One poll and what follows. Returns nonzero to stop. */
static int serve_once(fugue_server *s)
{
	int64_t now = fugue_clock_mono_ms();
	int64_t deadline = 0;
	int listening;
	size_t n;
	size_t i;
	int rc;

	/* Timers first: they may queue an error line to flush. */
	for (i = 0; i < s->nconns;) {
		if (conn_timers(s, s->conns[i], now, &deadline) != 0) {
			conns_remove(s, i);
			continue;
		}
		i++;
	}
	if (ensure_pfds(s, s->nconns + 2) != 0) {
		fugue_log_error("socket server: out of memory");
		return 0;
	}
	if (s->accept_after_ms != 0 && now >= s->accept_after_ms)
		s->accept_after_ms = 0;
	listening = s->accept_after_ms == 0;
	s->pfds[0] = (struct pollfd){ .fd = s->wake_fd, .events = POLLIN };
	s->pfds[1] = (struct pollfd){ .fd = listening ? s->listen_fd : -1, .events = POLLIN };
	for (i = 0; i < s->nconns; i++)
		s->pfds[i + 2] = (struct pollfd){ .fd = s->conns[i]->fd,
		                                  .events = conn_events(s, s->conns[i]) };
	n = s->nconns;
	rc = poll(s->pfds, n + 2, poll_timeout(s, deadline, now));
	if (rc < 0 && errno != EINTR) {
		fugue_log_error("socket server: poll: %s", strerror(errno));
		return 1;
	}
	if (rc > 0 && (s->pfds[0].revents & POLLIN))
		drain_wake(s);
	lock(s);
	rc = s->stopping;
	unlock(s);
	if (rc)
		return 1;
	/* Connections: I/O for the n polled ones, then everyone moves on. New
	 * connections are appended after them, so indexes stay valid. */
	for (i = n; i-- > 0;) {
		struct conn *c = s->conns[i];
		short re = s->pfds[i + 2].revents;
		int bad = (re & (POLLHUP | POLLERR | POLLNVAL)) != 0;

		if (!bad && (re & POLLIN))
			bad = conn_read(s, c) != 0;
		if (!bad && (re & POLLOUT))
			bad = conn_write(s, c) != 0;
		if (bad)
			conns_remove(s, i);
	}
	if (listening && (s->pfds[1].revents & POLLIN))
		accept_all(s);
	s->more_work = 0;
	for (i = 0; i < s->nconns;) {
		struct conn *c = s->conns[i];
		int dead;

		if (conn_advance(s, c))
			s->more_work = 1;
		/* Write at once what the handler answered: most replies are
		 * quick, and this saves a poll round. */
		if (conn_has_output(s, c) && conn_write(s, c) != 0) {
			conns_remove(s, i);
			continue;
		}
		lock(s);
		dead = c->dead;
		unlock(s);
		if (dead) {
			conns_remove(s, i);
			continue;
		}
		i++;
	}
	return 0;
}

/* At shutdown: a request still in flight is told why it ends; its line is
 * flushed if the socket takes it now. */
static void close_all(fugue_server *s)
{
	while (s->nconns > 0) {
		struct conn *c = s->conns[s->nconns - 1];

		if (c->cur != NULL && !fugue_reply_closed(c->cur))
			fugue_reply_error(c->cur, FUGUE_ERR_SHUTTING_DOWN, NULL,
			                  "the conductor is shutting down");
		conn_write(s, c);
		conns_remove(s, s->nconns - 1);
	}
}

static void *serve(void *arg)
{
	fugue_server *s = arg;

	while (serve_once(s) == 0)
		;
	close_all(s);
	return NULL;
}

/* --- binding ------------------------------------------------------------- */

/* mkdir -p for the socket's directory (0755: clients must reach the socket). */
static int make_parent(const char *path)
{
	char *dir = strdup(path);
	char *p;
	int rc = 0;

	if (dir == NULL)
		return FUGUE_ENOMEM;
	p = strrchr(dir, '/');
	if (p == NULL || p == dir) {
		free(dir);
		return 0;
	}
	*p = '\0';
	for (p = dir + 1; rc == 0; p++) {
		int last = *p == '\0';

		if (*p != '/' && !last)
			continue;
		*p = '\0';
		if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
			fugue_log_error("socket %s: cannot create directory %s: %s", path, dir,
			                strerror(errno));
			rc = FUGUE_EIO;
		}
		if (last)
			break;
		*p = '/';
	}
	free(dir);
	return rc;
}

/* Whether a server answers on PATH: 1 yes, 0 no (a stale file), <0 error. */
static int someone_listens(const struct sockaddr_un *addr)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int rc;

	if (fd < 0)
		return FUGUE_EIO;
	rc = connect(fd, (const struct sockaddr *)addr, sizeof(*addr));
	if (rc == 0 || errno == EAGAIN || errno == EINPROGRESS) {
		/* EAGAIN: its backlog is full, it is alive all the same. */
		close(fd);
		return 1;
	}
	rc = errno == ECONNREFUSED ? 0 : FUGUE_EIO;
	close(fd);
	return rc;
}

/* Removes PATH when it is a socket nobody answers on. */
static int remove_stale(const char *path, const struct sockaddr_un *addr)
{
	struct stat st;
	int rc;

	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : FUGUE_EIO;
	if (!S_ISSOCK(st.st_mode)) {
		fugue_log_error("socket %s: the path exists and is not a socket; not replacing it",
		                path);
		return FUGUE_EIO;
	}
	rc = someone_listens(addr);
	if (rc == 1) {
		fugue_log_error("socket %s: another conductor is listening on it", path);
		return FUGUE_ECONFLICT;
	}
	if (rc < 0) {
		fugue_log_error("socket %s: cannot tell whether it is in use: %s", path,
		                strerror(errno));
		return FUGUE_EIO;
	}
	fugue_log_info("socket %s: removing a stale socket file", path);
	if (unlink(path) != 0 && errno != ENOENT) {
		fugue_log_error("socket %s: cannot remove it: %s", path, strerror(errno));
		return FUGUE_EIO;
	}
	return 0;
}

/* The gid of group NAME, or -1 when there is no such group. */
static gid_t group_id(const char *name)
{
	long size = sysconf(_SC_GETGR_R_SIZE_MAX);
	struct group grp;
	struct group *found = NULL;
	char *buf;
	gid_t gid = (gid_t)-1;
	int rc;

	if (size <= 0)
		size = 1024;
	for (;;) {
		buf = malloc((size_t)size);
		if (buf == NULL)
			return (gid_t)-1;
		rc = getgrnam_r(name, &grp, buf, (size_t)size, &found);
		if (rc != ERANGE || size > (1L << 24))
			break;
		free(buf);
		size *= 2;
	}
	if (rc == 0 && found != NULL)
		gid = grp.gr_gid;
	free(buf);
	return gid;
}

/* Mode and group of the socket file. They are set after bind() and before
 * listen(): until listen() nobody can connect, so there is no moment when
 * the socket is open to more users than intended, whatever the umask. */
static int set_access(fugue_server *s)
{
	gid_t gid;

	if (chmod(s->path, 0660) != 0) {
		fugue_log_error("socket %s: chmod: %s", s->path, strerror(errno));
		return FUGUE_EIO;
	}
	if (s->group == NULL)
		return 0;
	gid = group_id(s->group);
	if (gid == (gid_t)-1) {
		fugue_log_info("socket %s: no group '%s'; the socket keeps the conductor's group",
		               s->path, s->group);
		return 0;
	}
	/* Not root and not a member: the socket keeps our group; say so. */
	if (chown(s->path, (uid_t)-1, gid) != 0)
		fugue_log_warn("socket %s: cannot give it to group '%s': %s", s->path, s->group,
		               strerror(errno));
	return 0;
}

static int bind_socket(fugue_server *s)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct stat st;
	int rc;

	if (strlen(s->path) >= sizeof(addr.sun_path)) {
		fugue_log_error("socket %s: the path is longer than %zu bytes", s->path,
		                sizeof(addr.sun_path) - 1);
		return FUGUE_EINVAL;
	}
	memcpy(addr.sun_path, s->path, strlen(s->path) + 1);
	rc = make_parent(s->path);
	if (rc != 0)
		return rc;
	s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->listen_fd < 0) {
		fugue_log_error("socket %s: socket: %s", s->path, strerror(errno));
		return FUGUE_EIO;
	}
	if (bind(s->listen_fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
		if (errno != EADDRINUSE) {
			fugue_log_error("socket %s: bind: %s", s->path, strerror(errno));
			return FUGUE_EIO;
		}
		rc = remove_stale(s->path, &addr);
		if (rc != 0)
			return rc;
		if (bind(s->listen_fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
			/* Another conductor won a race for the path. */
			fugue_log_error("socket %s: bind: %s", s->path, strerror(errno));
			return errno == EADDRINUSE ? FUGUE_ECONFLICT : FUGUE_EIO;
		}
	}
	if (lstat(s->path, &st) == 0) {
		s->sock_dev = st.st_dev;
		s->sock_ino = st.st_ino;
	}
	rc = set_access(s);
	if (rc == 0 && listen(s->listen_fd, LISTEN_BACKLOG) != 0) {
		fugue_log_error("socket %s: listen: %s", s->path, strerror(errno));
		rc = FUGUE_EIO;
	}
	if (rc != 0)
		unlink(s->path);
	return rc;
}

/* Unlinks the socket file if it is still the one we bound: a conductor
 * started after us on the same path (after ours was judged stale) keeps
 * its own. */
static void unlink_own(fugue_server *s)
{
	struct stat st;

	if (s->sock_ino == 0 || lstat(s->path, &st) != 0)
		return;
	if (st.st_dev == s->sock_dev && st.st_ino == s->sock_ino)
		unlink(s->path);
	s->sock_ino = 0;
}

/* --- public --------------------------------------------------------------- */

static void apply_defaults(fugue_server_options *o)
{
	if (o->max_request == 0)
		o->max_request = DEFAULT_MAX_REQUEST;
	if (o->max_queued == 0)
		o->max_queued = DEFAULT_MAX_QUEUED;
	if (o->max_clients == 0)
		o->max_clients = DEFAULT_MAX_CLIENTS;
	if (o->request_timeout_ms <= 0)
		o->request_timeout_ms = DEFAULT_REQUEST_TIMEOUT_MS;
	if (o->idle_timeout_ms <= 0)
		o->idle_timeout_ms = DEFAULT_IDLE_TIMEOUT_MS;
}

int fugue_server_new(fugue_server **out, const fugue_server_options *opts)
{
	fugue_server *s;
	int rc;

	assert(out != NULL);
	*out = NULL;
	if (opts == NULL || opts->version < 1 || opts->path == NULL || *opts->path == '\0' ||
	    opts->handler == NULL)
		return FUGUE_EINVAL;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return FUGUE_ENOMEM;
	s->listen_fd = -1;
	s->opts = *opts;
	apply_defaults(&s->opts);
	s->path = strdup(opts->path);
	s->group = opts->group ? strdup(opts->group) : NULL;
	s->opts.path = s->path;
	s->opts.group = s->group;
	s->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (s->path == NULL || (opts->group != NULL && s->group == NULL) || s->wake_fd < 0 ||
	    pthread_mutex_init(&s->mu, NULL) != 0) {
		rc = s->wake_fd < 0 && s->path != NULL ? FUGUE_EIO : FUGUE_ENOMEM;
		if (s->wake_fd >= 0)
			close(s->wake_fd);
		free(s->path);
		free(s->group);
		free(s);
		return rc;
	}
	rc = bind_socket(s);
	if (rc != 0) {
		if (s->listen_fd >= 0)
			close(s->listen_fd);
		s->listen_fd = -1;
		s->stopped = 1;
		fugue_server_free(s);
		return rc;
	}
	fugue_log_info("listening on %s", s->path);
	*out = s;
	return 0;
}

int fugue_server_start(fugue_server *s)
{
	int rc;

	assert(s != NULL);
	if (s->started || s->stopped)
		return FUGUE_EIO;
	rc = pthread_create(&s->thread, NULL, serve, s);
	if (rc != 0) {
		fugue_log_error("socket server: cannot start its thread: %s", strerror(rc));
		return FUGUE_EIO;
	}
	s->started = 1;
	return 0;
}

void fugue_server_stop(fugue_server *s)
{
	if (s == NULL || s->stopped)
		return;
	s->stopped = 1;
	if (s->started) {
		assert(!pthread_equal(pthread_self(), s->thread));
		lock(s);
		s->stopping = 1;
		s->wake_pending = 0;
		wake_locked(s);
		unlock(s);
		pthread_join(s->thread, NULL);
	}
	unlink_own(s);
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	s->listen_fd = -1;
}

void fugue_server_free(fugue_server *s)
{
	if (s == NULL)
		return;
	fugue_server_stop(s);
	close(s->wake_fd);
	pthread_mutex_destroy(&s->mu);
	free(s->conns);
	free(s->pfds);
	free(s->path);
	free(s->group);
	free(s);
}

size_t fugue_server_clients(fugue_server *s)
{
	size_t n;

	lock(s);
	n = s->nclients;
	unlock(s);
	return n;
}
