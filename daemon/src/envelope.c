/* envelope.c - parsing requests and building reply messages (see
 * envelope.h and docs/protocol.md).
 *
 * Requests come from anyone who can open the socket, so the parser trusts
 * nothing: a bounded nesting depth, strict JSON, valid UTF-8, no NUL
 * characters in the strings we copy into C strings, and every member
 * checked for its type. Members it does not know are ignored, so that a
 * newer client can add optional members without breaking an older
 * Conductor.
 *
 * A reply serializes its messages under its own mutex: events and the
 * final message of one request may come from several job threads, and the
 * transport's send function must never run twice at once for one reply. */
#include "envelope.h"

#include <assert.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "fugue/common.h"

/* Deep enough for any command's arguments, shallow enough that a request of
 * nested brackets cannot exhaust the stack or memory of the parser. */
#define REQUEST_MAX_DEPTH 32

/* What a reply says when even its final message cannot be built (no
 * memory): better a message without the id than a client left waiting. */
static const char OOM_LINE[] = "{\"protocol\":1,\"id\":null,\"ok\":false,"
                               "\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}";

/* --- requests ------------------------------------------------------------ */

static int fail(const char **code, char *msg, size_t msg_size, const char *what,
                const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int fail(const char **code, char *msg, size_t msg_size, const char *what,
                const char *fmt, ...)
{
	va_list ap;

	if (code != NULL)
		*code = what;
	if (msg != NULL && msg_size > 0) {
		va_start(ap, fmt);
		vsnprintf(msg, msg_size, fmt, ap);
		va_end(ap);
	}
	return FUGUE_EINVAL;
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* A string member as a C string: NULL when absent; *BAD set when present
 * but not a string or holding a NUL character (which a C string would
 * silently cut, so that the id echoed back would not be the one sent). */
static const char *string_member(struct json_object *root, const char *key, int *bad)
{
	struct json_object *v;
	const char *s;

	*bad = 0;
	if (!json_object_object_get_ex(root, key, &v))
		return NULL;
	if (!json_object_is_type(v, json_type_string)) {
		*bad = 1;
		return NULL;
	}
	s = json_object_get_string(v);
	if (strlen(s) != (size_t)json_object_get_string_len(v)) {
		*bad = 1;
		return NULL;
	}
	return s;
}

/* Parses TEXT into a json object; on error fills CODE / MSG. */
static int parse_json(struct json_object **out, const char *text, size_t len,
                      const char **code, char *msg, size_t msg_size)
{
	struct json_tokener *tok;
	enum json_tokener_error jerr;
	size_t i = 0;

	*out = NULL;
	while (i < len && is_space(text[i]))
		i++;
	if (i == len)
		return fail(code, msg, msg_size, FUGUE_ERR_BAD_REQUEST, "empty request");
	if (text[i] != '{')
		return fail(code, msg, msg_size, FUGUE_ERR_BAD_REQUEST,
		            "request is not a JSON object");
	/* json-c stops at a NUL byte as if the input ended there: say what it is. */
	if (memchr(text, '\0', len) != NULL)
		return fail(code, msg, msg_size, FUGUE_ERR_BAD_REQUEST,
		            "request contains a NUL byte");
	if (len > INT_MAX)
		return fail(code, msg, msg_size, FUGUE_ERR_BAD_REQUEST, "request is too large");
	tok = json_tokener_new_ex(REQUEST_MAX_DEPTH);
	if (tok == NULL)
		return fail(code, msg, msg_size, FUGUE_ERR_BAD_REQUEST, "out of memory");
	/* Strict: no trailing commas, no leading zeros, nothing after the object. */
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	*out = json_tokener_parse_ex(tok, text, (int)len);
	jerr = json_tokener_get_error(tok);
	if (*out == NULL) {
		size_t at = json_tokener_get_parse_end(tok);

		json_tokener_free(tok);
		if (jerr == json_tokener_continue)
			return fail(code, msg, msg_size, FUGUE_ERR_BAD_REQUEST,
			            "incomplete JSON: the request ends inside a value");
		return fail(code, msg, msg_size, FUGUE_ERR_BAD_REQUEST,
		            "invalid JSON at byte %zu: %s", at, json_tokener_error_desc(jerr));
	}
	json_tokener_free(tok);
	return 0;
}

/* Checks "protocol": present, an integer, ours. */
static int check_protocol(struct json_object *root, const char **code, char *msg,
                          size_t msg_size)
{
	struct json_object *v;
	int64_t version;

	if (!json_object_object_get_ex(root, "protocol", &v))
		return fail(code, msg, msg_size, FUGUE_ERR_BAD_REQUEST,
		            "missing member 'protocol'");
	if (!json_object_is_type(v, json_type_int))
		return fail(code, msg, msg_size, FUGUE_ERR_BAD_REQUEST,
		            "member 'protocol' must be an integer");
	version = json_object_get_int64(v);
	if (version != FUGUE_PROTOCOL_VERSION)
		return fail(code, msg, msg_size, FUGUE_ERR_PROTOCOL,
		            "unsupported protocol version %lld (this conductor speaks %d)",
		            (long long)version, FUGUE_PROTOCOL_VERSION);
	return 0;
}

static int fill_request(fugue_request *out, struct json_object *root, const char **code,
                        char *msg, size_t msg_size)
{
	struct json_object *args;
	const char *s;
	int bad;
	int rc;

	s = string_member(root, "id", &bad);
	if (bad)
		return fail(code, msg, msg_size, FUGUE_ERR_BAD_REQUEST,
		            "member 'id' must be a string without NUL characters");
	if (s != NULL) {
		out->id = strdup(s);
		if (out->id == NULL)
			return fail(code, msg, msg_size, FUGUE_ERR_INTERNAL, "out of memory");
	}
	/* The id is read first so that every later error can carry it. */
	rc = check_protocol(root, code, msg, msg_size);
	if (rc != 0)
		return rc;
	s = string_member(root, "command", &bad);
	if (bad)
		return fail(code, msg, msg_size, FUGUE_ERR_BAD_REQUEST,
		            "member 'command' must be a string without NUL characters");
	if (s == NULL)
		return fail(code, msg, msg_size, FUGUE_ERR_BAD_REQUEST, "missing member 'command'");
	if (*s == '\0')
		return fail(code, msg, msg_size, FUGUE_ERR_BAD_REQUEST,
		            "member 'command' is empty");
	out->command = strdup(s);
	if (out->command == NULL)
		return fail(code, msg, msg_size, FUGUE_ERR_INTERNAL, "out of memory");
	if (json_object_object_get_ex(root, "args", &args)) {
		/* null is refused too: "args": null is more likely a client bug
		 * than a wish for no arguments. */
		if (!json_object_is_type(args, json_type_object))
			return fail(code, msg, msg_size, FUGUE_ERR_BAD_REQUEST,
			            "member 'args' must be an object");
		out->args = json_object_get(args);
	} else {
		out->args = json_object_new_object();
		if (out->args == NULL)
			return fail(code, msg, msg_size, FUGUE_ERR_INTERNAL, "out of memory");
	}
	return 0;
}

/* uid and pid start unknown ((uid_t)-1, 0): the transport fills them in. */
int fugue_request_parse(fugue_request *out, const char *text, size_t len, const char **code,
                        char *msg, size_t msg_size)
{
	struct json_object *root = NULL;
	int rc;

	assert(out != NULL);
	memset(out, 0, sizeof(*out));
	out->uid = (uid_t)-1;
	if (code != NULL)
		*code = NULL;
	if (msg != NULL && msg_size > 0)
		msg[0] = '\0';
	if (text == NULL)
		return fail(code, msg, msg_size, FUGUE_ERR_BAD_REQUEST, "empty request");
	rc = parse_json(&root, text, len, code, msg, msg_size);
	if (rc == 0)
		rc = fill_request(out, root, code, msg, msg_size);
	json_object_put(root);
	if (rc != 0) {
		/* Keep only the id, as documented: the error carries it. */
		char *id = out->id;

		out->id = NULL;
		fugue_request_clear(out);
		out->id = id;
	}
	return rc;
}

void fugue_request_clear(fugue_request *req)
{
	if (req == NULL)
		return;
	free(req->id);
	free(req->command);
	json_object_put(req->args);
	req->id = NULL;
	req->command = NULL;
	req->args = NULL;
}

/* --- replies ------------------------------------------------------------- */

struct fugue_reply {
	pthread_mutex_t mu;       /* serializes messages; held while SEND runs */
	atomic_int refs;
	atomic_int gone;          /* the peer is gone (detached or a send failed) */
	atomic_int finished;      /* the final message was handed to SEND */
	char *id;
	fugue_reply_send_fn send; /* NULL once gone */
	void *transport;
};

fugue_reply *fugue_reply_new(const char *id, fugue_reply_send_fn send, void *transport)
{
	fugue_reply *r;

	assert(send != NULL);
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return NULL;
	if (id != NULL) {
		r->id = strdup(id);
		if (r->id == NULL) {
			free(r);
			return NULL;
		}
	}
	if (pthread_mutex_init(&r->mu, NULL) != 0) {
		free(r->id);
		free(r);
		return NULL;
	}
	atomic_init(&r->refs, 1);
	atomic_init(&r->gone, 0);
	atomic_init(&r->finished, 0);
	r->send = send;
	r->transport = transport;
	return r;
}

void fugue_reply_ref(fugue_reply *r)
{
	if (r != NULL)
		atomic_fetch_add(&r->refs, 1);
}

void fugue_reply_unref(fugue_reply *r)
{
	if (r == NULL)
		return;
	if (atomic_fetch_sub(&r->refs, 1) != 1)
		return;
	pthread_mutex_destroy(&r->mu);
	free(r->id);
	free(r);
}

void fugue_reply_detach(fugue_reply *r)
{
	if (r == NULL)
		return;
	/* Taking the lock waits for a send in progress: once we return, the
	 * transport is never touched again and may be freed. */
	pthread_mutex_lock(&r->mu);
	atomic_store(&r->gone, 1);
	r->send = NULL;
	r->transport = NULL;
	pthread_mutex_unlock(&r->mu);
}

int fugue_reply_closed(const fugue_reply *r)
{
	return atomic_load(&r->gone) || atomic_load(&r->finished);
}

int fugue_reply_finished(const fugue_reply *r)
{
	return atomic_load(&r->finished);
}

/* {"protocol": 1, "id": ID|null}: the head of every message. */
static struct json_object *message_new(const fugue_reply *r)
{
	struct json_object *m = json_object_new_object();

	if (m == NULL)
		return NULL;
	if (json_object_object_add(m, "protocol", json_object_new_int(FUGUE_PROTOCOL_VERSION)) ||
	    json_object_object_add(m, "id", r->id ? json_object_new_string(r->id) : NULL)) {
		json_object_put(m);
		return NULL;
	}
	return m;
}

/* Adds a borrowed VALUE (or {} for NULL) under KEY. The extra reference is
 * dropped with M; VALUE itself is never modified. */
static int add_borrowed(struct json_object *m, const char *key, const struct json_object *value)
{
	struct json_object *v;

	if (value != NULL)
		v = json_object_get((struct json_object *)value);
	else
		v = json_object_new_object();
	if (v == NULL)
		return FUGUE_ENOMEM;
	if (json_object_object_add(m, key, v) != 0) {
		json_object_put(v);
		return FUGUE_ENOMEM;
	}
	return 0;
}

/* Hands M to the transport, with the lock held. PLAIN output has no raw
 * newline (JSON escapes them inside strings), so one message is one line. */
static int send_locked(fugue_reply *r, struct json_object *m)
{
	const char *line;
	size_t len;

	if (m != NULL) {
		line = json_object_to_json_string_length(m, JSON_C_TO_STRING_PLAIN |
		                                         JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	} else {
		line = NULL;
		len = 0;
	}
	if (line == NULL) {
		/* Only the final message falls back: a lost event is harmless. */
		if (!atomic_load(&r->finished))
			return FUGUE_ENOMEM;
		line = OOM_LINE;
		len = sizeof(OOM_LINE) - 1;
	}
	if (r->send(line, len, r->transport) != 0) {
		atomic_store(&r->gone, 1);
		r->send = NULL;
		r->transport = NULL;
		return FUGUE_EIO;
	}
	return 0;
}

int fugue_reply_event(fugue_reply *r, const char *event, const struct json_object *data)
{
	struct json_object *m;
	int rc;

	assert(event != NULL);
	pthread_mutex_lock(&r->mu);
	if (atomic_load(&r->gone) || atomic_load(&r->finished)) {
		pthread_mutex_unlock(&r->mu);
		return FUGUE_EIO;
	}
	m = message_new(r);
	if (m == NULL || json_object_object_add(m, "event", json_object_new_string(event)) != 0 ||
	    add_borrowed(m, "data", data) != 0) {
		pthread_mutex_unlock(&r->mu);
		json_object_put(m);
		return FUGUE_ENOMEM;
	}
	rc = send_locked(r, m);
	pthread_mutex_unlock(&r->mu);
	json_object_put(m);
	return rc;
}

/* Sends the final message M (may be NULL when it could not be built).
 * FINISHED is set before SEND runs, so that the transport can tell the
 * final message from an event inside its send function (the socket server
 * starts reading the next request only after it). */
static int send_final(fugue_reply *r, struct json_object *m)
{
	int rc;

	pthread_mutex_lock(&r->mu);
	if (atomic_load(&r->gone) || atomic_load(&r->finished)) {
		pthread_mutex_unlock(&r->mu);
		json_object_put(m);
		return FUGUE_EIO;
	}
	atomic_store(&r->finished, 1);
	rc = send_locked(r, m);
	pthread_mutex_unlock(&r->mu);
	json_object_put(m);
	return rc;
}

int fugue_reply_ok(fugue_reply *r, const struct json_object *result)
{
	struct json_object *m = message_new(r);

	if (m != NULL && (json_object_object_add(m, "ok", json_object_new_boolean(1)) != 0 ||
	                  add_borrowed(m, "result", result) != 0)) {
		json_object_put(m);
		m = NULL;
	}
	return send_final(r, m);
}

static struct json_object *error_object(const char *code, const struct json_object *details,
                                        const char *message)
{
	struct json_object *e = json_object_new_object();

	if (e == NULL)
		return NULL;
	if (json_object_object_add(e, "code", json_object_new_string(code)) != 0 ||
	    json_object_object_add(e, "message", json_object_new_string(message)) != 0 ||
	    (details != NULL && add_borrowed(e, "details", details) != 0)) {
		json_object_put(e);
		return NULL;
	}
	return e;
}

int fugue_reply_error(fugue_reply *r, const char *code, const struct json_object *details,
                      const char *fmt, ...)
{
	struct json_object *m;
	struct json_object *e = NULL;
	char *message = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&message, fmt, ap);
	va_end(ap);
	if (n < 0)
		message = NULL;
	m = message_new(r);
	if (m != NULL && message != NULL)
		e = error_object(code != NULL ? code : FUGUE_ERR_INTERNAL, details, message);
	free(message);
	if (m != NULL &&
	    (e == NULL || json_object_object_add(m, "ok", json_object_new_boolean(0)) != 0 ||
	     json_object_object_add(m, "error", e) != 0)) {
		json_object_put(e);
		json_object_put(m);
		m = NULL;
	}
	return send_final(r, m);
}

int fugue_request_line_is_blank(const char *line, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (line[i] != ' ' && line[i] != '\t' && line[i] != '\r')
			return 0;
	}
	return 1;
}
