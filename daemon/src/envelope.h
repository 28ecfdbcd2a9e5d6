/* envelope.h - the Conductor's wire messages, independent of how they
 * travel (a Unix socket today, SQS later). See docs/protocol.md.
 *
 * A request is one JSON object:
 *   {"protocol": 1, "id": "c1", "command": "run", "args": {...}}
 * and its answer zero or more events then exactly one final message:
 *   {"protocol": 1, "id": "c1", "event": "progress", "data": {...}}
 *   {"protocol": 1, "id": "c1", "ok": true, "result": {...}}
 *   {"protocol": 1, "id": "c1", "ok": false,
 *    "error": {"code": "locked", "message": "...", "details": {...}}}
 * On the socket each message is one line (JSON has no raw newlines).
 *
 * A handler receives a fugue_request and answers through its fugue_reply,
 * at once or later from another thread (a job streaming progress): the
 * reply is reference-counted and outlives the connection; once the client
 * is gone, sends are silently dropped and fugue_reply_closed() says so. */
#ifndef FUGUE_ENVELOPE_H
#define FUGUE_ENVELOPE_H

#include <stddef.h>
#include <sys/types.h>

struct json_object;

#define FUGUE_PROTOCOL_VERSION 1

/* Error codes of the final message (error.code). */
#define FUGUE_ERR_BAD_REQUEST "bad_request"   /* not an envelope: bad JSON, missing member */
#define FUGUE_ERR_PROTOCOL "protocol"         /* another protocol version */
#define FUGUE_ERR_UNKNOWN_COMMAND "unknown_command"
#define FUGUE_ERR_BAD_ARGS "bad_args"         /* the command's args are wrong */
#define FUGUE_ERR_TOO_LARGE "too_large"       /* the request exceeds the size limit */
#define FUGUE_ERR_NOT_FOUND "not_found"       /* no such process, setting */
#define FUGUE_ERR_LOCKED "locked"             /* the process's lock property is on */
#define FUGUE_ERR_CONFLICT "conflict"         /* alias taken, a job already running, wrong state */
#define FUGUE_ERR_INVALID "invalid_composition" /* details: {"diagnostics": [...]} */
#define FUGUE_ERR_FAILED "failed"             /* the job ran and did not converge */
#define FUGUE_ERR_DENIED "denied"             /* the caller may not do this */
#define FUGUE_ERR_SHUTTING_DOWN "shutting_down"
#define FUGUE_ERR_BUSY "busy"                 /* too many connections: try again later */
#define FUGUE_ERR_INTERNAL "internal"

/* A parsed request. Everything is owned by the request. */
typedef struct fugue_request {
	char *id;                    /* the client's request id (any string), or NULL */
	char *command;
	struct json_object *args;    /* an object ({} when absent) */
	uid_t uid;                   /* the caller, from SO_PEERCRED (or the transport) */
	pid_t pid;
} fugue_request;

/* Parses LEN bytes of TEXT into OUT. On error returns FUGUE_EINVAL and
 * writes the error code (FUGUE_ERR_BAD_REQUEST or FUGUE_ERR_PROTOCOL) and a
 * one-line message into *CODE / MSG; the id, when one could be read, is
 * still in OUT->id so the error can carry it. OUT->uid is (uid_t)-1 and
 * OUT->pid 0 until the transport fills them in. Clear OUT in both cases. */
int fugue_request_parse(fugue_request *out, const char *text, size_t len, const char **code,
                        char *msg, size_t msg_size);
void fugue_request_clear(fugue_request *req);

/* Nonzero when the LEN bytes at LINE are only blanks (spaces, tabs, a
 * carriage return): a line the transports skip, not a request. */
int fugue_request_line_is_blank(const char *line, size_t len);

/* --- replies --------------------------------------------------------------- */

typedef struct fugue_reply fugue_reply;

/* How a transport delivers one message line (without its newline); returns
 * 0, or nonzero when the peer is gone (the reply is then closed). Called
 * with the reply's lock held, never concurrently for one reply. While the
 * final message is being sent, fugue_reply_finished() is already nonzero:
 * that is how a transport tells it from an event. */
typedef int (*fugue_reply_send_fn)(const char *line, size_t len, void *transport);

/* A reply for request id ID (copied; may be NULL) sending through SEND.
 * Starts with one reference. NULL on allocation failure. */
fugue_reply *fugue_reply_new(const char *id, fugue_reply_send_fn send, void *transport);
void fugue_reply_ref(fugue_reply *r);
void fugue_reply_unref(fugue_reply *r);

/* The transport says the peer is gone: later sends are dropped, SEND is
 * never called again (so TRANSPORT may be freed after this returns). */
void fugue_reply_detach(fugue_reply *r);

/* Nonzero once the peer is gone or the final message was sent. */
int fugue_reply_closed(const fugue_reply *r);
/* Nonzero once the final message was sent. */
int fugue_reply_finished(const fugue_reply *r);

/* An event EVENT ("progress", "plan", "resource", ...) with DATA (borrowed;
 * may be NULL: {}). Returns 0, or nonzero when it was not sent: the peer is
 * gone or the final message was already sent (so a streaming job can stop
 * when this returns nonzero). */
int fugue_reply_event(fugue_reply *r, const char *event, const struct json_object *data);
/* The final success message; RESULT borrowed, may be NULL ({}). Only the
 * first final message is sent; a later one returns nonzero. */
int fugue_reply_ok(fugue_reply *r, const struct json_object *result);
/* The final error message; DETAILS borrowed, may be NULL. */
int fugue_reply_error(fugue_reply *r, const char *code, const struct json_object *details,
                      const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* The handler a transport calls for every request, on the transport's
 * thread: it must not block for long (start a job and return). REQ is
 * borrowed for the call; REPLY is borrowed too: take a reference to answer
 * later. */
typedef void (*fugue_request_fn)(const fugue_request *req, fugue_reply *reply, void *payload);

#endif
