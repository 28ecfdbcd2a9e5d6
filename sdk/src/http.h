/* http.h - HTTP through libcurl, safe from many threads at once. Internal.
 *
 * One fugue_http per client holds a CURLSH sharing the DNS cache and TLS
 * sessions; each thread gets its own easy handle (a thread-local slot),
 * reused across calls so its connections are kept alive. The connection
 * cache is not shared: libcurl does not support sharing live connections
 * between threads that run transfers at once.
 * TLS verification is always on; libcurl honours the proxy environment
 * (https_proxy, no_proxy, ...). curl_global_init() is the host's job
 * (fugue_aws_client_new() does it once, thread-safely). */
#ifndef FUGUE_HTTP_H
#define FUGUE_HTTP_H

#include <stddef.h>
#include "buf.h"

typedef struct fugue_http_header {
	const char *name;
	const char *value;
} fugue_http_header;

typedef struct fugue_http fugue_http;

typedef struct fugue_http_request {
	const char *method;               /* "GET", "POST", ... */
	const char *url;                  /* sent as given (already encoded) */
	const fugue_http_header *headers; /* borrowed; Host comes from the URL */
	size_t nheaders;
	const void *body;                 /* may be NULL when BODY_LEN is 0 */
	size_t body_len;
} fugue_http_request;

/* Answers larger than these are refused (FUGUE_EPROTO), so that a broken
 * proxy or an endless stream cannot take the process's memory: no AWS
 * answer comes near them (a 1000-instance Describe page is a few MiB). */
#define FUGUE_HTTP_MAX_BODY ((size_t)64 * 1024 * 1024)
#define FUGUE_HTTP_MAX_HEADERS ((size_t)256 * 1024) /* under libcurl's own 300 KB */

typedef struct fugue_http_response {
	long status;      /* HTTP status */
	fugue_buf headers;/* raw response header lines of the final response, "Name: value\r\n" */
	fugue_buf body;   /* response body, NUL-terminated */
} fugue_http_response;

#define FUGUE_HTTP_RESPONSE_INIT { 0, FUGUE_BUF_INIT, FUGUE_BUF_INIT }

/* CONNECT_TIMEOUT_MS and TIMEOUT_MS bound every request (0: 3100 / 60000).
 * Returns 0 or FUGUE_ENOMEM. */
int fugue_http_new(fugue_http **out, long connect_timeout_ms, long timeout_ms);
/* Frees the shared state and every thread's handle. No call may be in flight. */
void fugue_http_free(fugue_http *http);

/* Performs REQ. Returns 0 when an HTTP answer arrived, whatever its status
 * (filled into *OUT, which the caller clears with fugue_http_response_clear);
 * FUGUE_ETIMEOUT when it timed out; FUGUE_EPROTO when the answer's body or
 * headers exceed the limits above (the transfer is cut short); FUGUE_EIO
 * for any other transport failure (refused, reset, TLS, DNS, a body cut
 * short), with curl's reason in ERRBUF; FUGUE_ENOMEM. */
int fugue_http_perform(fugue_http_response *out, fugue_http *http, const fugue_http_request *req,
                       char *errbuf, size_t errsize);

/* The value of header NAME (case-insensitive) in RESP, copied into BUF with
 * surrounding whitespace trimmed; NULL when absent. */
const char *fugue_http_response_header(char *buf, size_t size, const fugue_http_response *resp,
                                       const char *name);

void fugue_http_response_clear(fugue_http_response *resp);

#endif
