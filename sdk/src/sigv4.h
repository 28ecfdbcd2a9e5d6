/* sigv4.h - AWS Signature Version 4 (header signing). Internal.
 *
 * Produces exactly what botocore's SigV4Auth produces for the same request,
 * clock and keys: the canonical URI is the URL's path with dot segments
 * removed and each byte outside unreserved and '/' percent-encoded again
 * (AWS's double encoding for non-S3 services), the canonical query sorted by
 * encoded name then value, canonical headers lower-cased with values trimmed
 * and inner runs of whitespace collapsed, repeated headers joined with ','.
 * Host comes from the URL (with the port when it is not the scheme's
 * default); X-Amz-Date and, with a session token, X-Amz-Security-Token are
 * added and signed. Never signed: user-agent, expect, transfer-encoding,
 * x-amzn-trace-id. */
#ifndef FUGUE_SIGV4_H
#define FUGUE_SIGV4_H

#include <stddef.h>
#include <time.h>

#include "creds.h"
#include "http.h"

typedef struct fugue_sigv4_input {
	const char *method;               /* "GET", "POST", ... */
	const char *url;                  /* as it will be sent: scheme://host[:port]/path?query */
	const fugue_http_header *headers; /* the other headers that will be sent; borrowed */
	size_t nheaders;
	const void *body;                 /* the exact payload (may be NULL when BODY_LEN is 0) */
	size_t body_len;
	const char *region;               /* signing region, e.g. "us-east-1" */
	const char *service;              /* signing name, e.g. "ec2", "elasticloadbalancing" */
	time_t now;                       /* the signing time, UTC */
	const fugue_credentials *creds;   /* borrowed */
} fugue_sigv4_input;

typedef struct fugue_sigv4_output {
	char amz_date[17];          /* the X-Amz-Date value: YYYYMMDDTHHMMSSZ */
	char host[256];             /* the Host value that was signed */
	char authorization[1024];   /* the Authorization value */
	char *canonical_request;    /* malloc'd; kept for tests and debug logs */
	char *string_to_sign;       /* malloc'd */
} fugue_sigv4_output;

/* Caches derived signing keys per (secret, date, region, service) so the
 * four HMACs are not repeated on every request. Thread-safe. */
typedef struct fugue_sigv4_cache fugue_sigv4_cache;
int fugue_sigv4_cache_new(fugue_sigv4_cache **out);
void fugue_sigv4_cache_free(fugue_sigv4_cache *cache);
/* How many signing keys CACHE answered (*HITS) and derived (*MISSES). */
void fugue_sigv4_cache_stats(unsigned long *hits, unsigned long *misses, fugue_sigv4_cache *cache);

/* Signs IN into *OUT (free its strings with fugue_sigv4_output_clear).
 * CACHE may be NULL. The caller then sends IN's headers plus Host,
 * X-Amz-Date = OUT->amz_date, X-Amz-Security-Token when the credentials have
 * a token, and Authorization = OUT->authorization.
 * Returns 0, FUGUE_EINVAL (unparseable URL) or FUGUE_ENOMEM. */
int fugue_sigv4_sign(fugue_sigv4_output *out, fugue_sigv4_cache *cache, const fugue_sigv4_input *in);
void fugue_sigv4_output_clear(fugue_sigv4_output *out);

/* Helpers the signer is made of, exposed for tests. */
void fugue_sha256_hex(char out[65], const void *data, size_t len);

#endif
