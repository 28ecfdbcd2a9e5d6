/* test_envelope.c - request parsing (every way an envelope can be wrong)
 * and replies (message shapes, one final message, closed peers, threads). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "envelope.h"
#include "fugue/common.h"
#include "testmain.h"

/* --- parsing ------------------------------------------------------------------ */

static int parse(fugue_request *req, const char *text, const char **code, char *msg, size_t n)
{
	return fugue_request_parse(req, text, strlen(text), code, msg, n);
}

static void test_parse_good(void)
{
	fugue_request req;
	const char *code = "unset";
	char msg[256];
	struct json_object *v;

	CU_ASSERT_EQUAL_FATAL(parse(&req, "{\"protocol\": 1, \"id\": \"c1\", \"command\": \"run\", "
	                                  "\"args\": {\"source\": \"x\", \"n\": [1, 2]}}",
	                            &code, msg, sizeof(msg)), 0);
	CU_ASSERT_PTR_NULL(code);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(req.id), "c1");
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(req.command), "run");
	CU_ASSERT_TRUE(json_object_is_type(req.args, json_type_object));
	CU_ASSERT_TRUE(json_object_object_get_ex(req.args, "source", &v));
	CU_ASSERT_STRING_EQUAL(json_object_get_string(v), "x");
	/* The transport fills these in. */
	CU_ASSERT_EQUAL(req.uid, (uid_t)-1);
	CU_ASSERT_EQUAL(req.pid, 0);
	fugue_request_clear(&req);
	CU_ASSERT_PTR_NULL(req.id);
	CU_ASSERT_PTR_NULL(req.args);
	fugue_request_clear(&req); /* twice is harmless */

	/* No id, no args, unknown members ignored, surrounding blanks. */
	CU_ASSERT_EQUAL_FATAL(parse(&req, "  {\"command\": \"ping\", \"future\": [1], "
	                                  "\"protocol\": 1}\r\n", &code, msg, sizeof(msg)), 0);
	CU_ASSERT_PTR_NULL(req.id);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(req.command), "ping");
	CU_ASSERT_TRUE(json_object_is_type(req.args, json_type_object));
	CU_ASSERT_EQUAL(json_object_object_length(req.args), 0);
	fugue_request_clear(&req);

	/* Strings with escapes and UTF-8 arrive as they were sent. */
	CU_ASSERT_EQUAL_FATAL(parse(&req, "{\"protocol\":1,\"id\":\"\\u00e9t\\u00e9\\n\","
	                                  "\"command\":\"x\"}", &code, msg, sizeof(msg)), 0);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(req.id), "\xc3\xa9t\xc3\xa9\n");
	fugue_request_clear(&req);
}

/* Each bad request, the error code and a piece of the message. */
static const struct {
	const char *text;
	const char *code;
	const char *msg;
	const char *id; /* the id the error can still carry, or NULL */
} bad[] = {
	{ "", FUGUE_ERR_BAD_REQUEST, "empty request", NULL },
	{ "   \t ", FUGUE_ERR_BAD_REQUEST, "empty request", NULL },
	{ "hello", FUGUE_ERR_BAD_REQUEST, "not a JSON object", NULL },
	{ "[1, 2]", FUGUE_ERR_BAD_REQUEST, "not a JSON object", NULL },
	{ "42", FUGUE_ERR_BAD_REQUEST, "not a JSON object", NULL },
	{ "\"s\"", FUGUE_ERR_BAD_REQUEST, "not a JSON object", NULL },
	{ "null", FUGUE_ERR_BAD_REQUEST, "not a JSON object", NULL },
	{ "{\"protocol\": 1, \"command\": \"x\"", FUGUE_ERR_BAD_REQUEST, "incomplete JSON", NULL },
	{ "{\"protocol\": 1, \"command\": \"x\",}", FUGUE_ERR_BAD_REQUEST, "invalid JSON", NULL },
	{ "{\"protocol\": 1, \"command\": \"x\"} {}", FUGUE_ERR_BAD_REQUEST, "invalid JSON", NULL },
	{ "{\"protocol\": 01, \"command\": \"x\"}", FUGUE_ERR_BAD_REQUEST, "invalid JSON", NULL },
	{ "{\"protocol\": 1, \"command\": \"\xff\xfe\"}", FUGUE_ERR_BAD_REQUEST, "invalid JSON",
	  NULL },
	{ "{\"command\": \"x\"}", FUGUE_ERR_BAD_REQUEST, "missing member 'protocol'", NULL },
	{ "{\"protocol\": \"1\", \"command\": \"x\"}", FUGUE_ERR_BAD_REQUEST,
	  "'protocol' must be an integer", NULL },
	{ "{\"protocol\": 1.0, \"command\": \"x\"}", FUGUE_ERR_BAD_REQUEST,
	  "'protocol' must be an integer", NULL },
	{ "{\"protocol\": true, \"command\": \"x\"}", FUGUE_ERR_BAD_REQUEST,
	  "'protocol' must be an integer", NULL },
	{ "{\"protocol\": 2, \"id\": \"v2\", \"command\": \"x\"}", FUGUE_ERR_PROTOCOL,
	  "unsupported protocol version 2 (this conductor speaks 1)", "v2" },
	{ "{\"protocol\": -1, \"command\": \"x\"}", FUGUE_ERR_PROTOCOL,
	  "unsupported protocol version -1", NULL },
	{ "{\"protocol\": 1, \"id\": \"i\"}", FUGUE_ERR_BAD_REQUEST, "missing member 'command'",
	  "i" },
	{ "{\"protocol\": 1, \"id\": \"i\", \"command\": 3}", FUGUE_ERR_BAD_REQUEST,
	  "'command' must be a string", "i" },
	{ "{\"protocol\": 1, \"command\": \"\"}", FUGUE_ERR_BAD_REQUEST, "'command' is empty",
	  NULL },
	{ "{\"protocol\": 1, \"command\": \"a\\u0000b\"}", FUGUE_ERR_BAD_REQUEST,
	  "'command' must be a string without NUL", NULL },
	{ "{\"protocol\": 1, \"id\": 7, \"command\": \"x\"}", FUGUE_ERR_BAD_REQUEST,
	  "'id' must be a string", NULL },
	{ "{\"protocol\": 1, \"id\": \"a\\u0000b\", \"command\": \"x\"}", FUGUE_ERR_BAD_REQUEST,
	  "'id' must be a string without NUL", NULL },
	{ "{\"protocol\": 1, \"id\": \"a\", \"command\": \"x\", \"args\": []}",
	  FUGUE_ERR_BAD_REQUEST, "'args' must be an object", "a" },
	{ "{\"protocol\": 1, \"command\": \"x\", \"args\": null}", FUGUE_ERR_BAD_REQUEST,
	  "'args' must be an object", NULL },
	{ "{\"protocol\": 1, \"command\": \"x\", \"args\": \"a=b\"}", FUGUE_ERR_BAD_REQUEST,
	  "'args' must be an object", NULL },
};

static void test_parse_bad(void)
{
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fugue_request req;
		const char *code = NULL;
		char msg[256];
		int rc = parse(&req, bad[i].text, &code, msg, sizeof(msg));

		CU_ASSERT_EQUAL(rc, FUGUE_EINVAL);
		CU_ASSERT_STRING_EQUAL(fugue_test_nn(code), bad[i].code);
		if (strstr(msg, bad[i].msg) == NULL || strchr(msg, '\n') != NULL) {
			fprintf(stderr, "\n  case %zu: %s -> '%s'\n", i, bad[i].text, msg);
			CU_FAIL("message");
		}
		if (bad[i].id != NULL) {
			CU_ASSERT_STRING_EQUAL(fugue_test_nn(req.id), bad[i].id);
		} else {
			CU_ASSERT_PTR_NULL(req.id);
		}
		CU_ASSERT_PTR_NULL(req.command);
		CU_ASSERT_PTR_NULL(req.args);
		fugue_request_clear(&req);
	}
}

static void test_parse_binary_and_depth(void)
{
	static const char nul[] = "{\"protocol\": 1,\0 \"command\": \"x\"}";
	fugue_request req;
	const char *code;
	char msg[256];
	char deep[512];
	size_t n = 0;
	int i;

	/* A NUL byte in the middle: json-c would stop there; we say why. */
	CU_ASSERT_EQUAL(fugue_request_parse(&req, nul, sizeof(nul) - 1, &code, msg, sizeof(msg)),
	                FUGUE_EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "NUL byte"));
	fugue_request_clear(&req);

	/* LEN is honoured: the bytes after it are not read. */
	CU_ASSERT_EQUAL(fugue_request_parse(&req, "{\"protocol\":1,\"command\":\"x\"}garbage", 28,
	                                    &code, msg, sizeof(msg)), 0);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(req.command), "x");
	fugue_request_clear(&req);

	/* Nesting deeper than the limit is refused, not recursed into. */
	n += (size_t)sprintf(deep + n, "{\"protocol\":1,\"command\":\"x\",\"args\":{\"a\":");
	for (i = 0; i < 100; i++)
		deep[n++] = '[';
	for (i = 0; i < 100; i++)
		deep[n++] = ']';
	n += (size_t)sprintf(deep + n, "}}");
	CU_ASSERT_EQUAL(fugue_request_parse(&req, deep, n, &code, msg, sizeof(msg)), FUGUE_EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "too deep"));
	fugue_request_clear(&req);

	/* A small message buffer truncates, never overflows; NULL outputs are allowed. */
	CU_ASSERT_EQUAL(parse(&req, "[]", &code, msg, 8), FUGUE_EINVAL);
	CU_ASSERT_EQUAL(strlen(msg), 7);
	fugue_request_clear(&req);
	CU_ASSERT_EQUAL(parse(&req, "[]", NULL, NULL, 0), FUGUE_EINVAL);
	fugue_request_clear(&req);
}

/* --- replies ---------------------------------------------------------------- */

/* A transport that records the lines; it fails from line FAIL_AT on (0: never). */
struct sink {
	char lines[64][1024];
	int n;
	int fail_at;
	int finished_seen[64];  /* fugue_reply_finished() during each send */
	fugue_reply *reply;
	atomic_int inside;      /* sends running now (must never exceed 1) */
	atomic_int overlap;
	atomic_int count;
};

static int sink_send(const char *line, size_t len, void *transport)
{
	struct sink *k = transport;

	if (atomic_fetch_add(&k->inside, 1) != 0)
		atomic_store(&k->overlap, 1);
	atomic_fetch_add(&k->count, 1);
	if (k->fail_at != 0 && k->n + 1 >= k->fail_at) {
		atomic_fetch_sub(&k->inside, 1);
		return -1;
	}
	if (k->n < 64 && len < sizeof(k->lines[0])) {
		memcpy(k->lines[k->n], line, len);
		k->lines[k->n][len] = '\0';
		k->finished_seen[k->n] = k->reply ? fugue_reply_finished(k->reply) : -1;
		k->n++;
	}
	atomic_fetch_sub(&k->inside, 1);
	return 0;
}

/* Line I parsed as JSON (caller frees), asserting that it is one line. */
static struct json_object *line_json(struct sink *k, int i)
{
	CU_ASSERT_PTR_NULL(strchr(k->lines[i], '\n'));
	return json_tokener_parse(k->lines[i]);
}

static const char *member_string(struct json_object *o, const char *path1, const char *path2)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, path1, &v))
		return NULL;
	if (path2 != NULL && !json_object_object_get_ex(v, path2, &v))
		return NULL;
	return json_object_get_string(v);
}

static void test_reply_messages(void)
{
	struct sink *k = calloc(1, sizeof(*k));
	fugue_reply *r = fugue_reply_new("c1", sink_send, k);
	struct json_object *data = json_object_new_object();
	struct json_object *m;

	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	k->reply = r;
	json_object_object_add(data, "message", json_object_new_string("two\nlines / \"quoted\""));
	CU_ASSERT_EQUAL(fugue_reply_closed(r), 0);
	CU_ASSERT_EQUAL(fugue_reply_event(r, "progress", data), 0);
	CU_ASSERT_EQUAL(fugue_reply_event(r, "plan", NULL), 0);
	CU_ASSERT_EQUAL(fugue_reply_ok(r, data), 0);
	CU_ASSERT_TRUE(fugue_reply_finished(r));
	CU_ASSERT_TRUE(fugue_reply_closed(r));
	/* After the final message nothing more goes out. */
	CU_ASSERT_NOT_EQUAL(fugue_reply_event(r, "progress", data), 0);
	CU_ASSERT_NOT_EQUAL(fugue_reply_ok(r, NULL), 0);
	CU_ASSERT_NOT_EQUAL(fugue_reply_error(r, FUGUE_ERR_FAILED, NULL, "late"), 0);
	CU_ASSERT_EQUAL_FATAL(k->n, 3);
	/* DATA was borrowed: still ours, with one reference. */
	CU_ASSERT_EQUAL(json_object_put(data), 1);

	CU_ASSERT_STRING_EQUAL(k->lines[0],
	                       "{\"protocol\":1,\"id\":\"c1\",\"event\":\"progress\","
	                       "\"data\":{\"message\":\"two\\nlines / \\\"quoted\\\"\"}}");
	CU_ASSERT_STRING_EQUAL(k->lines[1], "{\"protocol\":1,\"id\":\"c1\",\"event\":\"plan\","
	                                    "\"data\":{}}");
	m = line_json(k, 2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(member_string(m, "ok", NULL)), "true");
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(member_string(m, "result", "message")),
	                       "two\nlines / \"quoted\"");
	json_object_put(m);
	/* The transport saw the final message as final, the events not. */
	CU_ASSERT_EQUAL(k->finished_seen[0], 0);
	CU_ASSERT_EQUAL(k->finished_seen[1], 0);
	CU_ASSERT_EQUAL(k->finished_seen[2], 1);
	fugue_reply_unref(r);
	free(k);
}

static void test_reply_error_and_null_id(void)
{
	struct sink *k = calloc(1, sizeof(*k));
	fugue_reply *r = fugue_reply_new(NULL, sink_send, k);
	struct json_object *details = json_tokener_parse("{\"diagnostics\": [{\"line\": 3}]}");
	struct json_object *m;
	struct json_object *v;

	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL(fugue_reply_error(r, FUGUE_ERR_INVALID, details, "%d error%s in %s", 2, "s",
	                                  "web.yaml"), 0);
	CU_ASSERT_NOT_EQUAL(fugue_reply_ok(r, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(k->n, 1);
	m = line_json(k, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_TRUE(json_object_object_get_ex(m, "id", &v));
	CU_ASSERT_PTR_NULL(v); /* "id": null */
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(member_string(m, "ok", NULL)), "false");
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(member_string(m, "error", "code")),
	                       "invalid_composition");
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(member_string(m, "error", "message")),
	                       "2 errors in web.yaml");
	CU_ASSERT_TRUE(json_object_object_get_ex(m, "error", &v));
	CU_ASSERT_TRUE(json_object_object_get_ex(v, "details", &v));
	CU_ASSERT_TRUE(json_object_object_get_ex(v, "diagnostics", &v));
	CU_ASSERT_EQUAL(json_object_array_length(v), 1);
	json_object_put(m);
	json_object_put(details);
	fugue_reply_unref(r);

	/* No details: no "details" member; a NULL code is "internal". */
	memset(k, 0, sizeof(*k));
	r = fugue_reply_new("e", sink_send, k);
	CU_ASSERT_EQUAL(fugue_reply_error(r, NULL, NULL, "boom"), 0);
	CU_ASSERT_STRING_EQUAL(k->lines[0],
	                       "{\"protocol\":1,\"id\":\"e\",\"ok\":false,"
	                       "\"error\":{\"code\":\"internal\",\"message\":\"boom\"}}");
	fugue_reply_unref(r);
	free(k);
}

static void test_reply_peer_gone(void)
{
	struct sink *k = calloc(1, sizeof(*k));
	fugue_reply *r = fugue_reply_new("g", sink_send, k);

	/* The second send fails: the reply closes and never calls SEND again. */
	k->fail_at = 2;
	CU_ASSERT_EQUAL(fugue_reply_event(r, "progress", NULL), 0);
	CU_ASSERT_NOT_EQUAL(fugue_reply_event(r, "progress", NULL), 0);
	CU_ASSERT_TRUE(fugue_reply_closed(r));
	CU_ASSERT_FALSE(fugue_reply_finished(r));
	CU_ASSERT_NOT_EQUAL(fugue_reply_event(r, "progress", NULL), 0);
	CU_ASSERT_NOT_EQUAL(fugue_reply_ok(r, NULL), 0);
	CU_ASSERT_EQUAL(atomic_load(&k->count), 2);
	fugue_reply_unref(r);

	/* Detached: SEND is never called, the transport may be gone. */
	memset(k, 0, sizeof(*k));
	r = fugue_reply_new("d", sink_send, k);
	fugue_reply_ref(r);
	fugue_reply_detach(r);
	fugue_reply_unref(r);
	CU_ASSERT_TRUE(fugue_reply_closed(r));
	CU_ASSERT_NOT_EQUAL(fugue_reply_event(r, "progress", NULL), 0);
	CU_ASSERT_NOT_EQUAL(fugue_reply_error(r, FUGUE_ERR_FAILED, NULL, "x"), 0);
	CU_ASSERT_EQUAL(atomic_load(&k->count), 0);
	fugue_reply_detach(r); /* twice is harmless */
	fugue_reply_unref(r);
	fugue_reply_unref(NULL);
	fugue_reply_detach(NULL);
	free(k);
}

/* Many threads streaming on one reply: SEND never runs twice at once, and
 * the last reference can be dropped by any of them. */
#define THREADS 8
#define EVENTS 200

static void *streamer(void *arg)
{
	fugue_reply *r = arg;
	struct json_object *d = json_object_new_object();
	int i;

	json_object_object_add(d, "n", json_object_new_int(1));
	for (i = 0; i < EVENTS; i++)
		fugue_reply_event(r, "progress", d);
	json_object_put(d);
	fugue_reply_unref(r);
	return NULL;
}

/* A sink that only counts, to survive THREADS * EVENTS lines. */
static int count_send(const char *line, size_t len, void *transport)
{
	struct sink *k = transport;

	(void)line;
	(void)len;
	if (atomic_fetch_add(&k->inside, 1) != 0)
		atomic_store(&k->overlap, 1);
	atomic_fetch_add(&k->count, 1);
	atomic_fetch_sub(&k->inside, 1);
	return 0;
}

static void test_reply_threads(void)
{
	struct sink *k = calloc(1, sizeof(*k));
	fugue_reply *r = fugue_reply_new("t", count_send, k);
	pthread_t th[THREADS];
	int i;

	for (i = 0; i < THREADS; i++) {
		fugue_reply_ref(r);
		CU_ASSERT_EQUAL_FATAL(pthread_create(&th[i], NULL, streamer, r), 0);
	}
	fugue_reply_ok(r, NULL);
	fugue_reply_unref(r); /* the threads hold the last references */
	for (i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	CU_ASSERT_EQUAL(atomic_load(&k->overlap), 0);
	/* The final message went out once; events only before it. */
	CU_ASSERT_TRUE(atomic_load(&k->count) >= 1);
	CU_ASSERT_TRUE(atomic_load(&k->count) <= THREADS * EVENTS + 1);
	free(k);
}

int fugue_test_register(void)
{
	CU_pSuite parse_s = CU_add_suite("parse", NULL, NULL);
	CU_pSuite reply_s = CU_add_suite("reply", NULL, NULL);

	if (parse_s == NULL || reply_s == NULL)
		return 1;
	if (!CU_add_test(parse_s, "good requests", test_parse_good) ||
	    !CU_add_test(parse_s, "bad requests", test_parse_bad) ||
	    !CU_add_test(parse_s, "binary, length, depth", test_parse_binary_and_depth) ||
	    !CU_add_test(reply_s, "messages", test_reply_messages) ||
	    !CU_add_test(reply_s, "errors and null id", test_reply_error_and_null_id) ||
	    !CU_add_test(reply_s, "peer gone", test_reply_peer_gone) ||
	    !CU_add_test(reply_s, "threads", test_reply_threads))
		return 1;
	return 0;
}
