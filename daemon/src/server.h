/* server.h - the local transport: a Unix stream socket carrying envelopes
 * (envelope.h) as newline-delimited JSON. No TCP, ever.
 *
 * One thread runs a poll(2) loop over the listening socket and every
 * connection, all non-blocking. Per connection, requests are handled one
 * at a time: the next line is read after the previous request's final
 * message was queued. Writes go through a per-connection queue, so a slow
 * reader never blocks the daemon; a queue beyond the limit closes the
 * connection (its replies are detached).
 *
 * Abuse: a line longer than max_request (default 8 MiB) gets a too_large
 * error and the connection is closed; bytes that are not a JSON envelope
 * get a bad_request error (the connection stays usable); a request not
 * finished within request_timeout_ms (default 10 s) of its first byte, or a
 * connection idle for idle_timeout_ms (default 5 min) with nothing in
 * flight, is closed; beyond max_clients (default 128) new connections are
 * accepted and closed at once with an error line. Nothing a client sends
 * or fails to read can crash, leak or block the server. */
#ifndef FUGUE_SERVER_H
#define FUGUE_SERVER_H

#include <stddef.h>
#include <sys/types.h>

#include "envelope.h"

typedef struct fugue_server fugue_server;

#define FUGUE_SERVER_OPTIONS_VERSION 1

typedef struct fugue_server_options {
	unsigned int version;          /* FUGUE_SERVER_OPTIONS_VERSION */
	const char *path;              /* the socket; its directory is made (0755) when missing */
	/* The socket file's group: its name ("fugue"); NULL or a group that does not
	 * exist: the process's group (logged at info). The mode is always 0660. */
	const char *group;
	size_t max_request;            /* 0: 8 MiB */
	size_t max_queued;             /* bytes of unsent replies per connection; 0: 64 MiB */
	size_t max_clients;            /* 0: 128 */
	long request_timeout_ms;       /* 0: 10000 */
	long idle_timeout_ms;          /* 0: 300000 */
	fugue_request_fn handler;      /* required */
	void *payload;
} fugue_server_options;

#define FUGUE_SERVER_OPTIONS_INIT { .version = FUGUE_SERVER_OPTIONS_VERSION }

/* Binds and listens (an existing socket file is replaced only when nothing
 * answers on it: a second Conductor on the same path is FUGUE_ECONFLICT).
 * Does not start serving. Returns 0, FUGUE_ECONFLICT, FUGUE_EIO (the reason
 * is logged), FUGUE_ENOMEM, FUGUE_EINVAL (no path or handler, or a path
 * longer than a socket address holds). */
int fugue_server_new(fugue_server **out, const fugue_server_options *opts);

/* Starts the serving thread. 0 or FUGUE_EIO. */
int fugue_server_start(fugue_server *s);

/* Stops accepting, detaches every pending reply, closes every connection,
 * joins the thread, unlinks the socket file. Idempotent. */
void fugue_server_stop(fugue_server *s);

/* Stops if needed and frees. NULL is a no-op. */
void fugue_server_free(fugue_server *s);

/* Number of open client connections (for STATUS= and tests). */
size_t fugue_server_clients(fugue_server *s);

#endif
