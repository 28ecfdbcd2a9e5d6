/* test_http.c - HTTP through libcurl against tests/tools/flaky_server.py,
 * which this test starts itself (python3, FUGUE_TEST_TOOLS). The server
 * records every request, so attempts and connections are counted on its
 * side, not guessed from timings. */
#include <curl/curl.h>
#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "fugue/common.h"
#include "http.h"
#include "flaky.h"
#include "testmain.h"


#define ASSERT_STR(actual, expected) CU_ASSERT_STRING_EQUAL(fugue_test_nn(actual), (expected))

static fugue_http *http;

/* --- the flaky server -------------------------------------------------- */


static struct json_object *headers_of(struct json_object *req)
{
	struct json_object *h = NULL;

	json_object_object_get_ex(req, "headers", &h);
	return h;
}

static int count_connections(struct json_object *list)
{
	int seen[4096] = { 0 };
	size_t i;
	int n = 0;

	for (i = 0; i < json_object_array_length(list); i++) {
		struct json_object *c = NULL;
		int id;

		json_object_object_get_ex(json_object_array_get_idx(list, i), "connection", &c);
		id = json_object_get_int(c);
		if (id >= 0 && id < 4096 && !seen[id]) {
			seen[id] = 1;
			n++;
		}
	}
	return n;
}

static int suite_init(void)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return -1;
	if (flaky_start() != 0)
		return -1;
	return fugue_http_new(&http, 2000, 10000);
}

static int suite_cleanup(void)
{
	fugue_http_free(http);
	http = NULL;
	flaky_stop();
	curl_global_cleanup();
	return 0;
}

/* --- helpers ----------------------------------------------------------- */

static int send_req(fugue_http_response *resp, fugue_http *h, const char *method,
                    const char *path, const fugue_http_header *headers, size_t nheaders,
                    const char *body, size_t body_len, char *errbuf, size_t errsize)
{
	fugue_buf url = FUGUE_BUF_INIT;
	fugue_http_request req;
	int rc;

	fugue_buf_printf(&url, "%s%s", flaky_base_url, path);
	memset(&req, 0, sizeof(req));
	req.method = method;
	req.url = url.data;
	req.headers = headers;
	req.nheaders = nheaders;
	req.body = body;
	req.body_len = body_len;
	rc = fugue_http_perform(resp, h, &req, errbuf, errsize);
	fugue_buf_free(&url);
	return rc;
}

static struct json_object *echo_of(const fugue_http_response *resp)
{
	return json_tokener_parse(resp->body.data ? resp->body.data : "");
}

/* --- tests ------------------------------------------------------------- */

static void test_get(void)
{
	fugue_http_header hdrs[] = { { "X-Test", "abc" }, { "X-Empty", "" } };
	fugue_http_response resp = FUGUE_HTTP_RESPONSE_INIT;
	struct json_object *echo;
	char err[256];
	char v[64];

	flaky_script("{}");
	CU_ASSERT_EQUAL_FATAL(send_req(&resp, http, "GET", "/echo?x=1&y=%2F", hdrs, 2, NULL, 0, err,
	                               sizeof(err)), 0);
	CU_ASSERT_EQUAL(resp.status, 200);
	echo = echo_of(&resp);
	CU_ASSERT_PTR_NOT_NULL_FATAL(echo);
	ASSERT_STR(json_member(echo, "method"), "GET");
	ASSERT_STR(json_member(echo, "path"), "/echo?x=1&y=%2F");
	ASSERT_STR(json_member(headers_of(echo), "x-test"), "abc");
	CU_ASSERT_PTR_NOT_NULL(json_member(headers_of(echo), "x-empty"));
	CU_ASSERT_PTR_NULL(json_member(headers_of(echo), "content-type"));
	ASSERT_STR(json_member(echo, "body"), "");
	json_object_put(echo);
	ASSERT_STR(fugue_http_response_header(v, sizeof(v), &resp, "content-TYPE"),
	                       "application/json");
	CU_ASSERT_PTR_NULL(fugue_http_response_header(v, sizeof(v), &resp, "X-Missing"));
	fugue_http_response_clear(&resp);
	CU_ASSERT_PTR_NULL(resp.body.data);
}

/* Over 1 MiB: the size from which libcurl would otherwise ask for
 * "Expect: 100-continue". */
#define BIG_BODY (1100 * 1024)

static void test_post_body_and_headers(void)
{
	fugue_http_header hdrs[] = { { "Content-Type", "application/x-amz-json-1.1" },
		                     { "X-Amz-Target", "Svc.Op" } };
	fugue_http_response resp = FUGUE_HTTP_RESPONSE_INIT;
	struct json_object *list;
	struct json_object *r0;
	char *body = malloc(BIG_BODY + 1);
	char length[32];
	char err[256];

	CU_ASSERT_PTR_NOT_NULL_FATAL(body);
	memset(body, 'b', BIG_BODY);
	body[BIG_BODY] = '\0';
	body[0] = '{';
	snprintf(length, sizeof(length), "%d", BIG_BODY);
	flaky_script("{\"default\": {\"status\": 201, \"body\": \"created\"}}");
	CU_ASSERT_EQUAL(send_req(&resp, http, "POST", "/p", hdrs, 2, body, BIG_BODY, err,
	                         sizeof(err)), 0);
	CU_ASSERT_EQUAL(resp.status, 201);
	ASSERT_STR(resp.body.data, "created");
	CU_ASSERT_EQUAL(resp.body.len, 7);
	list = flaky_recorded();
	CU_ASSERT_EQUAL(json_object_array_length(list), 1);
	r0 = json_object_array_get_idx(list, 0);
	ASSERT_STR(json_member(r0, "method"), "POST");
	CU_ASSERT_TRUE(strcmp(fugue_test_nn(json_member(r0, "body")), body) == 0);
	ASSERT_STR(json_member(headers_of(r0), "content-length"), length);
	ASSERT_STR(json_member(headers_of(r0), "content-type"), "application/x-amz-json-1.1");
	ASSERT_STR(json_member(headers_of(r0), "x-amz-target"), "Svc.Op");
	/* no 100-continue round trip */
	CU_ASSERT_PTR_NULL(json_member(headers_of(r0), "expect"));
	json_object_put(list);
	fugue_http_response_clear(&resp);
	free(body);
}

static void test_other_methods(void)
{
	fugue_http_response resp = FUGUE_HTTP_RESPONSE_INIT;
	struct json_object *list;
	char err[256];

	flaky_script("{\"default\": {\"status\": 204}}");
	CU_ASSERT_EQUAL(send_req(&resp, http, "POST", "/empty", NULL, 0, NULL, 0, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(send_req(&resp, http, "PUT", "/put", NULL, 0, "xyz", 3, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(send_req(&resp, http, "DELETE", "/del", NULL, 0, NULL, 0, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(send_req(&resp, http, "HEAD", "/head", NULL, 0, NULL, 0, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(resp.status, 204);
	CU_ASSERT_PTR_NOT_NULL(resp.body.data); /* a string even when empty */
	CU_ASSERT_EQUAL(resp.body.len, 0);
	list = flaky_recorded();
	CU_ASSERT_EQUAL_FATAL(json_object_array_length(list), 4);
	ASSERT_STR(json_member(json_object_array_get_idx(list, 0), "method"), "POST");
	ASSERT_STR(json_member(headers_of(json_object_array_get_idx(list, 0)),
	                              "content-length"), "0");
	/* no form content type slipped in by libcurl */
	CU_ASSERT_PTR_NULL(json_member(headers_of(json_object_array_get_idx(list, 0)), "content-type"));
	ASSERT_STR(json_member(json_object_array_get_idx(list, 1), "method"), "PUT");
	ASSERT_STR(json_member(json_object_array_get_idx(list, 1), "body"), "xyz");
	ASSERT_STR(json_member(json_object_array_get_idx(list, 2), "method"), "DELETE");
	CU_ASSERT_PTR_NULL(json_member(headers_of(json_object_array_get_idx(list, 2)), "content-length"));
	ASSERT_STR(json_member(json_object_array_get_idx(list, 3), "method"), "HEAD");
	json_object_put(list);
	fugue_http_response_clear(&resp);
}

static void test_error_status_and_headers(void)
{
	fugue_http_response resp = FUGUE_HTTP_RESPONSE_INIT;
	char err[256];
	char v[64];
	char small[5];

	flaky_script("{\"steps\": [{\"status\": 503, \"body\": \"busy\", \"headers\": "
	       "{\"X-Spaced\": \"  padded value  \", \"X-Amzn-RequestId\": \"abc-123\"}}]}");
	CU_ASSERT_EQUAL_FATAL(send_req(&resp, http, "GET", "/x", NULL, 0, NULL, 0, err, sizeof(err)),
	                      0);
	CU_ASSERT_EQUAL(resp.status, 503);
	ASSERT_STR(resp.body.data, "busy");
	ASSERT_STR(fugue_http_response_header(v, sizeof(v), &resp, "x-spaced"),
	                       "padded value");
	ASSERT_STR(fugue_http_response_header(v, sizeof(v), &resp, "x-amzn-requestid"),
	                       "abc-123");
	/* a prefix of a name is not the name; a small buffer truncates */
	CU_ASSERT_PTR_NULL(fugue_http_response_header(v, sizeof(v), &resp, "X-Amzn"));
	ASSERT_STR(fugue_http_response_header(small, sizeof(small), &resp,
	                                                  "X-Amzn-RequestId"), "abc-");
	/* the status line is not a header */
	CU_ASSERT_PTR_NULL(fugue_http_response_header(v, sizeof(v), &resp, "HTTP/1.1 503"));
	fugue_http_response_clear(&resp);
}

static void test_header_lookup(void)
{
	fugue_http_response resp = FUGUE_HTTP_RESPONSE_INIT;
	char v[64];

	fugue_buf_puts(&resp.headers, "Content-Type: a\r\nX-Amzn-ErrorType:  Throttling \t\r\n"
	                              "x-dup: 1\r\nX-Dup: 2\r\nX-Empty:\r\nNoColon\r\nLast:z");
	ASSERT_STR(fugue_http_response_header(v, sizeof(v), &resp, "x-amzn-errortype"),
	                       "Throttling");
	ASSERT_STR(fugue_http_response_header(v, sizeof(v), &resp, "X-DUP"), "1");
	ASSERT_STR(fugue_http_response_header(v, sizeof(v), &resp, "X-Empty"), "");
	ASSERT_STR(fugue_http_response_header(v, sizeof(v), &resp, "last"), "z");
	CU_ASSERT_PTR_NULL(fugue_http_response_header(v, sizeof(v), &resp, "NoColon"));
	CU_ASSERT_PTR_NULL(fugue_http_response_header(v, sizeof(v), &resp, "Content"));
	fugue_http_response_clear(&resp);
	CU_ASSERT_PTR_NULL(fugue_http_response_header(v, sizeof(v), &resp, "Content-Type"));
}

/* Headers of an interim 100 Continue are not the answer's. */
static void test_interim_headers_dropped(void)
{
	fugue_http_response resp = FUGUE_HTTP_RESPONSE_INIT;
	char err[256];
	char v[64];

	flaky_script("{\"steps\": [{\"action\": \"continue\", \"body\": \"done\", "
	       "\"headers\": {\"X-Final\": \"1\"}}]}");
	CU_ASSERT_EQUAL_FATAL(send_req(&resp, http, "POST", "/c", NULL, 0, "a=b", 3, err,
	                               sizeof(err)), 0);
	CU_ASSERT_EQUAL(resp.status, 200);
	ASSERT_STR(resp.body.data, "done");
	CU_ASSERT_PTR_NULL(fugue_http_response_header(v, sizeof(v), &resp, "X-Interim"));
	CU_ASSERT_PTR_NOT_NULL(fugue_http_response_header(v, sizeof(v), &resp, "X-Final"));
	CU_ASSERT_PTR_NULL(strstr(fugue_test_nn(resp.headers.data), "HTTP/"));
	fugue_http_response_clear(&resp);
}

static void test_connection_reuse(void)
{
	fugue_http_response resp = FUGUE_HTTP_RESPONSE_INIT;
	struct json_object *list;
	fugue_http *other;
	char err[256];
	int i;

	flaky_script("{}");
	for (i = 0; i < 10; i++)
		CU_ASSERT_EQUAL(send_req(&resp, http, "GET", "/reuse", NULL, 0, NULL, 0, err,
		                         sizeof(err)), 0);
	list = flaky_recorded();
	CU_ASSERT_EQUAL(json_object_array_length(list), 10);
	CU_ASSERT_EQUAL(count_connections(list), 1);
	json_object_put(list);
	/* another fugue_http is another handle, hence another connection */
	CU_ASSERT_EQUAL_FATAL(fugue_http_new(&other, 0, 0), 0);
	CU_ASSERT_EQUAL(send_req(&resp, other, "GET", "/other", NULL, 0, NULL, 0, err, sizeof(err)),
	                0);
	fugue_http_free(other);
	list = flaky_recorded();
	CU_ASSERT_EQUAL(json_object_array_length(list), 11);
	CU_ASSERT_EQUAL(count_connections(list), 2);
	json_object_put(list);
	fugue_http_response_clear(&resp);
}

#define NTHREADS 8
#define PER_THREAD 50

typedef struct worker {
	int id;
	pthread_barrier_t *start;
	int ok;
	int failures;
} worker;

static int one_threaded_request(worker *w, int i)
{
	fugue_http_response resp = FUGUE_HTTP_RESPONSE_INIT;
	struct json_object *echo;
	char path[64];
	char err[256];
	int good;

	snprintf(path, sizeof(path), "/t%d/%d", w->id, i);
	if (send_req(&resp, http, "POST", path, NULL, 0, path, strlen(path), err, sizeof(err)) != 0) {
		fprintf(stderr, "thread %d request %d: %s\n", w->id, i, err);
		fugue_http_response_clear(&resp);
		return 0;
	}
	echo = echo_of(&resp);
	good = resp.status == 200 && json_member(echo, "path") && json_member(echo, "body") &&
	       strcmp(json_member(echo, "path"), path) == 0 && strcmp(json_member(echo, "body"), path) == 0;
	json_object_put(echo);
	fugue_http_response_clear(&resp);
	return good;
}

static void *run_worker(void *arg)
{
	worker *w = arg;
	int i;

	pthread_barrier_wait(w->start);
	for (i = 0; i < PER_THREAD; i++) {
		if (one_threaded_request(w, i))
			w->ok++;
		else
			w->failures++;
	}
	return NULL;
}

/* 8 threads share one fugue_http; the threads exit before the http is
 * freed, so their handles go with them (valgrind/ASan check the rest). */
static void test_many_threads(void)
{
	worker w[NTHREADS];
	pthread_t tid[NTHREADS];
	pthread_barrier_t start;
	struct json_object *list;
	int ok = 0;
	int i;

	flaky_script("{}");
	pthread_barrier_init(&start, NULL, NTHREADS);
	for (i = 0; i < NTHREADS; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].id = i;
		w[i].start = &start;
		CU_ASSERT_EQUAL_FATAL(pthread_create(&tid[i], NULL, run_worker, &w[i]), 0);
	}
	for (i = 0; i < NTHREADS; i++) {
		pthread_join(tid[i], NULL);
		ok += w[i].ok;
		CU_ASSERT_EQUAL(w[i].failures, 0);
	}
	pthread_barrier_destroy(&start);
	CU_ASSERT_EQUAL(ok, NTHREADS * PER_THREAD);
	list = flaky_recorded();
	CU_ASSERT_EQUAL(json_object_array_length(list), NTHREADS * PER_THREAD);
	/* each thread kept its connection alive: one per thread */
	CU_ASSERT_EQUAL(count_connections(list), NTHREADS);
	json_object_put(list);
}

typedef struct parked {
	fugue_http *h;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int stage; /* 1: request done; 2: may exit */
	int rc;
} parked;

static void *park(void *arg)
{
	fugue_http_response resp = FUGUE_HTTP_RESPONSE_INIT;
	parked *p = arg;
	char err[256];

	p->rc = send_req(&resp, p->h, "GET", "/parked", NULL, 0, NULL, 0, err, sizeof(err));
	fugue_http_response_clear(&resp);
	pthread_mutex_lock(&p->lock);
	p->stage = 1;
	pthread_cond_broadcast(&p->cond);
	while (p->stage < 2)
		pthread_cond_wait(&p->cond, &p->lock);
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

/* fugue_http_free frees the handle of a thread that is still alive; the
 * thread's exit afterwards must not touch it again. */
static void test_free_with_live_thread(void)
{
	parked p;
	pthread_t tid;

	flaky_script("{}");
	memset(&p, 0, sizeof(p));
	pthread_mutex_init(&p.lock, NULL);
	pthread_cond_init(&p.cond, NULL);
	CU_ASSERT_EQUAL_FATAL(fugue_http_new(&p.h, 0, 0), 0);
	CU_ASSERT_EQUAL_FATAL(pthread_create(&tid, NULL, park, &p), 0);
	pthread_mutex_lock(&p.lock);
	while (p.stage < 1)
		pthread_cond_wait(&p.cond, &p.lock);
	pthread_mutex_unlock(&p.lock);
	fugue_http_free(p.h);
	pthread_mutex_lock(&p.lock);
	p.stage = 2;
	pthread_cond_broadcast(&p.cond);
	pthread_mutex_unlock(&p.lock);
	pthread_join(tid, NULL);
	CU_ASSERT_EQUAL(p.rc, 0);
	pthread_cond_destroy(&p.cond);
	pthread_mutex_destroy(&p.lock);
}

static void test_timeout(void)
{
	fugue_http_response resp = FUGUE_HTTP_RESPONSE_INIT;
	fugue_http *quick;
	char err[256];
	int rc;

	flaky_script("{\"steps\": [{\"sleep\": 3, \"body\": \"late\"}]}");
	CU_ASSERT_EQUAL_FATAL(fugue_http_new(&quick, 1000, 300), 0);
	rc = send_req(&resp, quick, "GET", "/slow", NULL, 0, NULL, 0, err, sizeof(err));
	CU_ASSERT_EQUAL(rc, FUGUE_ETIMEOUT);
	CU_ASSERT_EQUAL(resp.status, 0);
	CU_ASSERT_TRUE(strlen(err) > 0);
	/* the same handle works again afterwards */
	rc = send_req(&resp, quick, "GET", "/after", NULL, 0, NULL, 0, err, sizeof(err));
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_EQUAL(resp.status, 200);
	fugue_http_free(quick);
	fugue_http_response_clear(&resp);
}

static int free_port(void)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int port = -1;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static void test_refused(void)
{
	fugue_http_response resp = FUGUE_HTTP_RESPONSE_INIT;
	fugue_http_request req;
	char url[64];
	char err[256];
	int port = free_port();

	CU_ASSERT_TRUE_FATAL(port > 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/nobody", port);
	memset(&req, 0, sizeof(req));
	req.method = "GET";
	req.url = url;
	CU_ASSERT_EQUAL(fugue_http_perform(&resp, http, &req, err, sizeof(err)), FUGUE_EIO);
	CU_ASSERT_PTR_NOT_NULL(strcasestr(err, "connect"));
	CU_ASSERT_EQUAL(resp.status, 0);
	fugue_http_response_clear(&resp);
}

/* A fresh fugue_http per case: libcurl resends a request by itself when a
 * reused connection dies, which would hide the failure from the caller. */
static void broken_answer(const char *action)
{
	fugue_http_response resp = FUGUE_HTTP_RESPONSE_INIT;
	struct json_object *list;
	fugue_http *h;
	fugue_buf s = FUGUE_BUF_INIT;
	char err[256];

	fugue_buf_printf(&s, "{\"steps\": [{\"action\": \"%s\"}]}", action);
	flaky_script(s.data);
	fugue_buf_free(&s);
	CU_ASSERT_EQUAL_FATAL(fugue_http_new(&h, 0, 0), 0);
	CU_ASSERT_EQUAL(send_req(&resp, h, "GET", "/broken", NULL, 0, NULL, 0, err, sizeof(err)),
	                FUGUE_EIO);
	CU_ASSERT_TRUE(strlen(err) > 0);
	CU_ASSERT_EQUAL(resp.status, 0);
	/* the next call on the same handle is fine */
	CU_ASSERT_EQUAL(send_req(&resp, h, "GET", "/ok", NULL, 0, NULL, 0, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(resp.status, 200);
	CU_ASSERT_STRING_EQUAL(err, "");
	list = flaky_recorded();
	CU_ASSERT_EQUAL(json_object_array_length(list), 2);
	json_object_put(list);
	fugue_http_free(h);
	fugue_http_response_clear(&resp);
}

static void test_reset_and_close(void)
{
	broken_answer("reset");
	broken_answer("close");
}

int fugue_test_register(void)
{
	CU_pSuite s = CU_add_suite("http", suite_init, suite_cleanup);

	CU_add_test(s, "get", test_get);
	CU_add_test(s, "post body and headers", test_post_body_and_headers);
	CU_add_test(s, "other methods", test_other_methods);
	CU_add_test(s, "error status and headers", test_error_status_and_headers);
	CU_add_test(s, "header lookup", test_header_lookup);
	CU_add_test(s, "interim headers dropped", test_interim_headers_dropped);
	CU_add_test(s, "connection reuse", test_connection_reuse);
	CU_add_test(s, "many threads", test_many_threads);
	CU_add_test(s, "free with live thread", test_free_with_live_thread);
	CU_add_test(s, "timeout", test_timeout);
	CU_add_test(s, "refused", test_refused);
	CU_add_test(s, "reset and close", test_reset_and_close);
	return 0;
}
