/* http.c - HTTP through libcurl, safe from many threads at once.
 *
 * A fugue_http owns a CURLSH with one pthread mutex per kind of shared
 * data, and one easy handle per thread that has used it, found through a
 * pthread key and kept in a registry. An easy handle is reused call after
 * call, so its connections stay alive; it is freed when its thread exits
 * (the key's destructor) or by fugue_http_free(), whichever comes first.
 *
 * The share holds the DNS cache and TLS sessions. The connection cache is
 * deliberately not shared: libcurl documents sharing connections between
 * concurrent threads as unsupported (CURLSHOPT_SHARE, curl 7.88), so each
 * thread's handle keeps its own pool of live connections instead. */
#include "http.h"

#include <assert.h>
#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fugue/common.h"

#define DEFAULT_CONNECT_TIMEOUT_MS 3100L
#define DEFAULT_TIMEOUT_MS 60000L

typedef struct http_slot {
	struct http_slot *prev;
	struct http_slot *next;
	fugue_http *owner;
	CURL *easy;
	char errbuf[CURL_ERROR_SIZE];
} http_slot;

struct fugue_http {
	CURLSH *share;
	pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];
	pthread_mutex_t registry_lock;
	pthread_key_t key;
	int has_key;
	http_slot *slots;      /* every live thread's handle */
	long connect_timeout_ms;
	long timeout_ms;
};

/* What the write and header callbacks fill. */
typedef struct transfer {
	fugue_http_response *resp;
	int nomem;
	char too_large[128]; /* why the answer was refused, "" when it was not */
} transfer;

/* --- the share --------------------------------------------------------- */

static void share_lock(CURL *easy, curl_lock_data data, curl_lock_access access, void *userptr)
{
	fugue_http *http = userptr;

	(void)easy;
	(void)access;
	if ((int)data >= 0 && data < CURL_LOCK_DATA_LAST)
		pthread_mutex_lock(&http->share_locks[data]);
}

static void share_unlock(CURL *easy, curl_lock_data data, void *userptr)
{
	fugue_http *http = userptr;

	(void)easy;
	if ((int)data >= 0 && data < CURL_LOCK_DATA_LAST)
		pthread_mutex_unlock(&http->share_locks[data]);
}

static int share_setup(fugue_http *http)
{
	CURLSHcode rc;

	http->share = curl_share_init();
	if (!http->share)
		return FUGUE_ENOMEM;
	rc = curl_share_setopt(http->share, CURLSHOPT_USERDATA, http);
	if (rc == CURLSHE_OK)
		rc = curl_share_setopt(http->share, CURLSHOPT_LOCKFUNC, share_lock);
	if (rc == CURLSHE_OK)
		rc = curl_share_setopt(http->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
	if (rc == CURLSHE_OK)
		rc = curl_share_setopt(http->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	if (rc == CURLSHE_OK)
		rc = curl_share_setopt(http->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	return rc == CURLSHE_OK ? 0 : FUGUE_ENOMEM;
}

/* --- per-thread handles ------------------------------------------------ */

static void slot_unlink(fugue_http *http, http_slot *slot)
{
	if (slot->prev)
		slot->prev->next = slot->next;
	else
		http->slots = slot->next;
	if (slot->next)
		slot->next->prev = slot->prev;
	slot->prev = NULL;
	slot->next = NULL;
}

static void slot_free(http_slot *slot)
{
	curl_easy_cleanup(slot->easy);
	free(slot);
}

/* The key's destructor: the thread is exiting, its handle goes with it. */
static void slot_release(void *p)
{
	http_slot *slot = p;
	fugue_http *http = slot->owner;

	pthread_mutex_lock(&http->registry_lock);
	slot_unlink(http, slot);
	pthread_mutex_unlock(&http->registry_lock);
	slot_free(slot);
}

static http_slot *slot_new(fugue_http *http)
{
	http_slot *slot = calloc(1, sizeof(*slot));

	if (!slot)
		return NULL;
	slot->owner = http;
	slot->easy = curl_easy_init();
	if (!slot->easy || curl_easy_setopt(slot->easy, CURLOPT_SHARE, http->share) != CURLE_OK) {
		if (slot->easy)
			curl_easy_cleanup(slot->easy);
		free(slot);
		return NULL;
	}
	return slot;
}

/* This thread's handle, made on its first call. NULL when out of memory. */
static http_slot *thread_slot(fugue_http *http)
{
	http_slot *slot = pthread_getspecific(http->key);

	if (slot)
		return slot;
	slot = slot_new(http);
	if (!slot)
		return NULL;
	if (pthread_setspecific(http->key, slot) != 0) {
		slot_free(slot);
		return NULL;
	}
	pthread_mutex_lock(&http->registry_lock);
	slot->next = http->slots;
	if (http->slots)
		http->slots->prev = slot;
	http->slots = slot;
	pthread_mutex_unlock(&http->registry_lock);
	return slot;
}

/* --- life cycle -------------------------------------------------------- */

int fugue_http_new(fugue_http **out, long connect_timeout_ms, long timeout_ms)
{
	fugue_http *http = calloc(1, sizeof(*http));
	int i;

	*out = NULL;
	if (!http)
		return FUGUE_ENOMEM;
	for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&http->share_locks[i], NULL);
	pthread_mutex_init(&http->registry_lock, NULL);
	http->connect_timeout_ms = connect_timeout_ms > 0 ? connect_timeout_ms
	                                                  : DEFAULT_CONNECT_TIMEOUT_MS;
	http->timeout_ms = timeout_ms > 0 ? timeout_ms : DEFAULT_TIMEOUT_MS;
	if (pthread_key_create(&http->key, slot_release) == 0)
		http->has_key = 1;
	if (!http->has_key || share_setup(http) < 0) {
		fugue_http_free(http);
		return FUGUE_ENOMEM;
	}
	*out = http;
	return 0;
}

/* Also frees a half-built http from fugue_http_new(). As http.h says, no
 * call may be in flight, and no thread that used HTTP may be exiting at the
 * same moment (its key destructor would race with this). */
void fugue_http_free(fugue_http *http)
{
	http_slot *slot;
	int i;

	if (!http)
		return;
	/* No destructor runs for the key after this, so every handle still
	 * registered (the threads alive, this one included) is ours to free. */
	if (http->has_key)
		pthread_key_delete(http->key);
	pthread_mutex_lock(&http->registry_lock);
	while (http->slots) {
		slot = http->slots;
		slot_unlink(http, slot);
		slot_free(slot);
	}
	pthread_mutex_unlock(&http->registry_lock);
	if (http->share)
		curl_share_cleanup(http->share);
	pthread_mutex_destroy(&http->registry_lock);
	for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_destroy(&http->share_locks[i]);
	free(http);
}

/* --- callbacks --------------------------------------------------------- */

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
	transfer *t = userdata;
	size_t n = size * nmemb;

	if (n > FUGUE_HTTP_MAX_BODY - t->resp->body.len) {
		snprintf(t->too_large, sizeof(t->too_large),
		         "response body larger than the %zu MiB limit: refused",
		         FUGUE_HTTP_MAX_BODY >> 20);
		return 0;
	}
	if (fugue_buf_put(&t->resp->body, data, n) < 0) {
		t->nomem = 1;
		return 0;
	}
	return n;
}

static int is_blank_line(const char *line, size_t len)
{
	return (len == 2 && line[0] == '\r' && line[1] == '\n') || (len == 1 && line[0] == '\n');
}

/* A Content-Length over the limit refuses the answer before its body
 * comes: returns nonzero then. */
static int announces_too_much(transfer *t, const char *line, size_t n)
{
	static const char name[] = "content-length:";
	char digits[32];
	unsigned long long value;
	char *end;
	size_t len;

	if (n < sizeof(name) - 1 || strncasecmp(line, name, sizeof(name) - 1) != 0)
		return 0;
	len = n - (sizeof(name) - 1);
	if (len >= sizeof(digits))
		len = sizeof(digits) - 1;
	memcpy(digits, line + sizeof(name) - 1, len);
	digits[len] = '\0';
	errno = 0;
	value = strtoull(digits, &end, 10);
	if (end == digits || (errno == 0 && value <= FUGUE_HTTP_MAX_BODY))
		return 0; /* not a number: curl itself refuses it */
	snprintf(t->too_large, sizeof(t->too_large),
	         "response body of %llu bytes (Content-Length) is over the %zu MiB limit: refused",
	         errno ? ULLONG_MAX : value, FUGUE_HTTP_MAX_BODY >> 20);
	return 1;
}

/* Keeps the header lines of the last header block only: a status line
 * starts a new block (after 100 Continue, a redirect or a proxy CONNECT). */
static size_t on_header(char *line, size_t size, size_t nitems, void *userdata)
{
	transfer *t = userdata;
	size_t n = size * nitems;

	if (n >= 5 && memcmp(line, "HTTP/", 5) == 0) {
		fugue_buf_clear(&t->resp->headers);
		return n;
	}
	if (is_blank_line(line, n))
		return n;
	if (n > FUGUE_HTTP_MAX_HEADERS - t->resp->headers.len) {
		snprintf(t->too_large, sizeof(t->too_large),
		         "response headers larger than the %zu KiB limit: refused",
		         FUGUE_HTTP_MAX_HEADERS >> 10);
		return 0;
	}
	if (announces_too_much(t, line, n))
		return 0;
	if (fugue_buf_put(&t->resp->headers, line, n) < 0) {
		t->nomem = 1;
		return 0;
	}
	return n;
}

/* --- one request ------------------------------------------------------- */

static int has_header(const fugue_http_request *req, const char *name)
{
	size_t i;

	for (i = 0; i < req->nheaders; i++) {
		if (strcasecmp(req->headers[i].name, name) == 0)
			return 1;
	}
	return 0;
}

static int wants_body(const fugue_http_request *req)
{
	return req->body_len > 0 || strcmp(req->method, "POST") == 0 ||
	       strcmp(req->method, "PUT") == 0 || strcmp(req->method, "PATCH") == 0;
}

static int append_header(struct curl_slist **list, const char *name, const char *value)
{
	struct curl_slist *next;
	char *line;
	int n;

	/* "Name;" is how libcurl sends a header with an empty value. */
	if (value && *value)
		n = asprintf(&line, "%s: %s", name, value);
	else
		n = asprintf(&line, "%s;", name);
	if (n < 0)
		return FUGUE_ENOMEM;
	next = curl_slist_append(*list, line);
	free(line);
	if (!next)
		return FUGUE_ENOMEM;
	*list = next;
	return 0;
}

static int append_removal(struct curl_slist **list, const char *line)
{
	struct curl_slist *next = curl_slist_append(*list, line);

	if (!next)
		return FUGUE_ENOMEM;
	*list = next;
	return 0;
}

/* The caller's headers, plus "Expect:" (no 100-continue round trip) and,
 * when the caller sets no Content-Type, "Content-Type:" so libcurl does not
 * add a form type the signature does not cover. */
static int build_headers(struct curl_slist **out, const fugue_http_request *req)
{
	struct curl_slist *list = NULL;
	size_t i;
	int rc = 0;

	for (i = 0; i < req->nheaders && rc == 0; i++)
		rc = append_header(&list, req->headers[i].name, req->headers[i].value);
	if (rc == 0 && !has_header(req, "Expect"))
		rc = append_removal(&list, "Expect:");
	if (rc == 0 && !has_header(req, "Content-Type") && wants_body(req))
		rc = append_removal(&list, "Content-Type:");
	if (rc < 0) {
		curl_slist_free_all(list);
		return rc;
	}
	*out = list;
	return 0;
}

static CURLcode set_method(CURL *easy, const fugue_http_request *req)
{
	CURLcode rc;

	if (wants_body(req)) {
		rc = curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
		if (rc == CURLE_OK)
			rc = curl_easy_setopt(easy, CURLOPT_POSTFIELDS,
			                      req->body_len ? (const char *)req->body : "");
		if (rc == CURLE_OK && strcmp(req->method, "POST") != 0)
			rc = curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, req->method);
		return rc;
	}
	if (strcmp(req->method, "GET") == 0)
		return curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
	if (strcmp(req->method, "HEAD") == 0)
		return curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
	return curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, req->method);
}

static CURLcode set_options(http_slot *slot, const fugue_http_request *req,
                            struct curl_slist *headers, transfer *t)
{
	fugue_http *http = slot->owner;
	CURL *easy = slot->easy;
	CURLcode rc;

	rc = curl_easy_setopt(easy, CURLOPT_URL, req->url);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, http->connect_timeout_ms);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, http->timeout_ms);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, slot->errbuf);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(easy, CURLOPT_WRITEDATA, t);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, on_header);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(easy, CURLOPT_HEADERDATA, t);
	if (rc == CURLE_OK)
		rc = set_method(easy, req);
	return rc;
}

/* Both buffers hold a string, even when nothing arrived. */
static int terminate(fugue_http_response *resp)
{
	if (fugue_buf_grow(&resp->body, 0) < 0 || fugue_buf_grow(&resp->headers, 0) < 0)
		return FUGUE_ENOMEM;
	resp->body.data[resp->body.len] = '\0';
	resp->headers.data[resp->headers.len] = '\0';
	return 0;
}

static int map_failure(CURLcode rc, const transfer *t, const http_slot *slot, char *errbuf,
                       size_t errsize)
{
	const char *reason = slot->errbuf[0] ? slot->errbuf : curl_easy_strerror(rc);

	if (errbuf && errsize)
		snprintf(errbuf, errsize, "%s", reason);
	if (t->too_large[0]) {
		if (errbuf && errsize)
			snprintf(errbuf, errsize, "%s", t->too_large);
		return FUGUE_EPROTO;
	}
	if (t->nomem || rc == CURLE_OUT_OF_MEMORY)
		return FUGUE_ENOMEM;
	if (rc == CURLE_OPERATION_TIMEDOUT)
		return FUGUE_ETIMEOUT;
	return FUGUE_EIO;
}

int fugue_http_perform(fugue_http_response *out, fugue_http *http, const fugue_http_request *req,
                       char *errbuf, size_t errsize)
{
	struct curl_slist *headers = NULL;
	transfer t = { out, 0, "" };
	http_slot *slot;
	CURLcode rc;
	int result;

	assert(out && http && req && req->method && req->url);
	if (errbuf && errsize)
		errbuf[0] = '\0';
	out->status = 0;
	fugue_buf_clear(&out->headers);
	fugue_buf_clear(&out->body);
	slot = thread_slot(http);
	if (!slot || build_headers(&headers, req) < 0) {
		if (errbuf && errsize)
			snprintf(errbuf, errsize, "out of memory preparing the request");
		return FUGUE_ENOMEM;
	}
	curl_easy_reset(slot->easy); /* keeps connections, caches and the share */
	slot->errbuf[0] = '\0';
	rc = set_options(slot, req, headers, &t);
	if (rc == CURLE_OK)
		rc = curl_easy_perform(slot->easy);
	if (rc == CURLE_OK)
		rc = curl_easy_getinfo(slot->easy, CURLINFO_RESPONSE_CODE, &out->status);
	/* The handle must not keep pointers into this call's memory. */
	curl_easy_setopt(slot->easy, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(headers);
	if (rc != CURLE_OK) {
		out->status = 0;
		fugue_buf_clear(&out->headers);
		fugue_buf_clear(&out->body);
		return map_failure(rc, &t, slot, errbuf, errsize);
	}
	result = terminate(out);
	if (result < 0 && errbuf && errsize)
		snprintf(errbuf, errsize, "out of memory reading the response");
	return result;
}

/* --- responses --------------------------------------------------------- */

static void trim(const char **start, const char **end)
{
	while (*start < *end && (**start == ' ' || **start == '\t'))
		(*start)++;
	while (*end > *start && ((*end)[-1] == ' ' || (*end)[-1] == '\t' || (*end)[-1] == '\r'))
		(*end)--;
}

/* Copies the value of LINE..END into BUF when the line's name is NAME. */
static const char *match_line(char *buf, size_t size, const char *line, const char *end,
                              const char *name)
{
	const char *colon = memchr(line, ':', (size_t)(end - line));
	const char *name_end;
	const char *value;
	size_t n;

	if (!colon)
		return NULL;
	name_end = colon;
	trim(&line, &name_end);
	n = strlen(name);
	if ((size_t)(name_end - line) != n || strncasecmp(line, name, n) != 0)
		return NULL;
	value = colon + 1;
	trim(&value, &end);
	n = (size_t)(end - value);
	if (n >= size)
		n = size - 1;
	memcpy(buf, value, n);
	buf[n] = '\0';
	return buf;
}

const char *fugue_http_response_header(char *buf, size_t size, const fugue_http_response *resp,
                                       const char *name)
{
	const char *p = resp->headers.data;
	const char *end;

	if (!p || !buf || size == 0 || !name)
		return NULL;
	end = p + resp->headers.len;
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *line_end = eol ? eol : end;
		const char *found = match_line(buf, size, p, line_end, name);

		if (found)
			return found;
		p = eol ? eol + 1 : end;
	}
	return NULL;
}

void fugue_http_response_clear(fugue_http_response *resp)
{
	if (!resp)
		return;
	resp->status = 0;
	fugue_buf_free(&resp->headers);
	fugue_buf_free(&resp->body);
}
