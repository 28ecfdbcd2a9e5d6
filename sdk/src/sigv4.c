/* sigv4.c - AWS Signature Version 4 header signing.
 *
 * The reference is botocore's SigV4Auth (non-S3): every rule below mirrors
 * what it does with the same URL, headers and body, including the corners
 * (the query is taken as sent and only sorted, empty path segments vanish,
 * header values are trimmed on Python's notion of white space).
 *
 * Where botocore would do something a caller of this API cannot follow, the
 * signer differs on purpose: a Date header is signed like any other (botocore
 * rewrites it, and the caller would send the old value); URLs with control
 * characters, a scheme other than http(s), an empty or odd host, an IPv6
 * zone or a bad port are refused (FUGUE_EINVAL), and so is a request whose
 * Host or Authorization would not fit the output's fixed fields. A caller's
 * own Host header is signed instead of the URL's, and a caller's
 * X-Amz-Content-SHA256 replaces the payload hash, as in botocore. */
#include "sigv4.h"

#include <arpa/inet.h>
#include <assert.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "buf.h"
#include "fugue/common.h"

#define SHA256_LEN 32
#define CACHE_SLOTS 16
#define ALGORITHM "AWS4-HMAC-SHA256"

/* --- hashing ---------------------------------------------------------------- */

static int sha256(unsigned char out[SHA256_LEN], const void *data, size_t len)
{
	static const unsigned char nothing[1] = { 0 };
	unsigned int n = 0;

	if (!data)
		data = nothing;
	if (EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) != 1 || n != SHA256_LEN)
		return FUGUE_ENOMEM;
	return 0;
}

static int hmac_sha256(unsigned char out[SHA256_LEN], const void *key, size_t key_len,
                       const void *data, size_t len)
{
	static const unsigned char nothing[1] = { 0 };
	unsigned int n = 0;

	if (!data)
		data = nothing;
	if (!HMAC(EVP_sha256(), key, (int)key_len, data, len, out, &n) || n != SHA256_LEN)
		return FUGUE_ENOMEM;
	return 0;
}

static void hex_encode(char *out, const unsigned char *data, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = hex[data[i] >> 4];
		out[2 * i + 1] = hex[data[i] & 15];
	}
	out[2 * len] = '\0';
}

/* The void signature leaves no way to report OpenSSL failing to allocate:
 * OUT is then the empty string, which no caller can mistake for a digest. */
void fugue_sha256_hex(char out[65], const void *data, size_t len)
{
	unsigned char md[SHA256_LEN];

	assert(data || len == 0);
	if (sha256(md, data, len) < 0) {
		out[0] = '\0';
		return;
	}
	hex_encode(out, md, sizeof(md));
}

/* --- the signing key and its cache ---------------------------------------- */

typedef struct cache_slot {
	int used;
	unsigned char id[SHA256_LEN];  /* SHA-256 of (secret, date, region, service) */
	unsigned char key[SHA256_LEN]; /* the derived signing key */
} cache_slot;

struct fugue_sigv4_cache {
	pthread_mutex_t lock;
	cache_slot slots[CACHE_SLOTS];
	size_t next;                   /* the slot a new key replaces (round robin) */
	unsigned long hits;
	unsigned long misses;
};

int fugue_sigv4_cache_new(fugue_sigv4_cache **out)
{
	fugue_sigv4_cache *c = calloc(1, sizeof(*c));

	*out = NULL;
	if (!c)
		return FUGUE_ENOMEM;
	if (pthread_mutex_init(&c->lock, NULL) != 0) {
		free(c);
		return FUGUE_ENOMEM;
	}
	*out = c;
	return 0;
}

void fugue_sigv4_cache_free(fugue_sigv4_cache *cache)
{
	if (!cache)
		return;
	pthread_mutex_destroy(&cache->lock);
	OPENSSL_cleanse(cache, sizeof(*cache));
	free(cache);
}

void fugue_sigv4_cache_stats(unsigned long *hits, unsigned long *misses, fugue_sigv4_cache *cache)
{
	*hits = 0;
	*misses = 0;
	if (!cache)
		return;
	pthread_mutex_lock(&cache->lock);
	*hits = cache->hits;
	*misses = cache->misses;
	pthread_mutex_unlock(&cache->lock);
}

/* Each field is length-prefixed so ("ab", "c") and ("a", "bc") differ. */
static int digest_field(EVP_MD_CTX *ctx, const char *s, size_t len)
{
	uint64_t n = len;

	if (EVP_DigestUpdate(ctx, &n, sizeof(n)) != 1)
		return FUGUE_ENOMEM;
	if (EVP_DigestUpdate(ctx, s, len) != 1)
		return FUGUE_ENOMEM;
	return 0;
}

static int cache_id(unsigned char out[SHA256_LEN], const char *secret, size_t secret_len,
                    const char *date, const char *region, const char *service)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int n = 0;
	int rc = FUGUE_ENOMEM;

	if (!ctx)
		return FUGUE_ENOMEM;
	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		goto done;
	if (digest_field(ctx, secret, secret_len) < 0 || digest_field(ctx, date, strlen(date)) < 0 ||
	    digest_field(ctx, region, strlen(region)) < 0 ||
	    digest_field(ctx, service, strlen(service)) < 0)
		goto done;
	if (EVP_DigestFinal_ex(ctx, out, &n) == 1 && n == SHA256_LEN)
		rc = 0;
done:
	EVP_MD_CTX_free(ctx);
	return rc;
}

/* kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request") */
static int derive_key(unsigned char out[SHA256_LEN], const char *secret, size_t secret_len,
                      const char *date, const char *region, const char *service)
{
	unsigned char seed[4 + sizeof(((fugue_credentials *)0)->secret_access_key)];
	unsigned char a[SHA256_LEN];
	unsigned char b[SHA256_LEN];
	int rc;

	assert(secret_len < sizeof(seed) - 4);
	memcpy(seed, "AWS4", 4);
	memcpy(seed + 4, secret, secret_len);
	rc = hmac_sha256(a, seed, 4 + secret_len, date, strlen(date));
	if (rc == 0)
		rc = hmac_sha256(b, a, sizeof(a), region, strlen(region));
	if (rc == 0)
		rc = hmac_sha256(a, b, sizeof(b), service, strlen(service));
	if (rc == 0)
		rc = hmac_sha256(out, a, sizeof(a), "aws4_request", 12);
	OPENSSL_cleanse(seed, sizeof(seed));
	OPENSSL_cleanse(a, sizeof(a));
	OPENSSL_cleanse(b, sizeof(b));
	return rc;
}

static int cache_lookup(unsigned char key[SHA256_LEN], fugue_sigv4_cache *cache,
                        const unsigned char id[SHA256_LEN])
{
	int found = 0;
	size_t i;

	pthread_mutex_lock(&cache->lock);
	for (i = 0; i < CACHE_SLOTS && !found; i++) {
		if (cache->slots[i].used && memcmp(cache->slots[i].id, id, SHA256_LEN) == 0) {
			memcpy(key, cache->slots[i].key, SHA256_LEN);
			found = 1;
		}
	}
	if (found)
		cache->hits++;
	pthread_mutex_unlock(&cache->lock);
	return found;
}

static void cache_store(fugue_sigv4_cache *cache, const unsigned char id[SHA256_LEN],
                        const unsigned char key[SHA256_LEN])
{
	cache_slot *slot;

	pthread_mutex_lock(&cache->lock);
	cache->misses++;
	slot = &cache->slots[cache->next];
	cache->next = (cache->next + 1) % CACHE_SLOTS;
	slot->used = 1;
	memcpy(slot->id, id, SHA256_LEN);
	memcpy(slot->key, key, SHA256_LEN);
	pthread_mutex_unlock(&cache->lock);
}

static int signing_key(unsigned char key[SHA256_LEN], fugue_sigv4_cache *cache,
                       const fugue_credentials *creds, const char *date, const char *region,
                       const char *service)
{
	const char *secret = creds->secret_access_key;
	size_t secret_len = strnlen(secret, sizeof(creds->secret_access_key) - 1);
	unsigned char id[SHA256_LEN];
	int rc;

	if (!cache)
		return derive_key(key, secret, secret_len, date, region, service);
	rc = cache_id(id, secret, secret_len, date, region, service);
	if (rc < 0)
		return rc;
	if (cache_lookup(key, cache, id))
		return 0;
	rc = derive_key(key, secret, secret_len, date, region, service);
	if (rc < 0)
		return rc;
	cache_store(cache, id, key);
	return 0;
}

/* --- the URL ---------------------------------------------------------------- */

typedef struct url_parts {
	int https;
	const char *host;     /* without brackets, not lower-cased yet */
	size_t host_len;
	int bracketed;        /* an IPv6 literal */
	long port;            /* -1: none given */
	const char *path;     /* up to '?' or '#' */
	size_t path_len;
	const char *query;    /* after '?', up to '#' */
	size_t query_len;
} url_parts;

static int lower(int c)
{
	return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c;
}

static int upper(int c)
{
	return (c >= 'a' && c <= 'z') ? c - 'a' + 'A' : c;
}

static int is_alnum(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static int is_host_char(int c)
{
	return is_alnum(c) || c == '-' || c == '.' || c == '_';
}

/* What urlsplit accepts between brackets: an IPv6 address (no zone). */
static int is_ipv6(const char *s, size_t len)
{
	struct in6_addr addr;
	char text[INET6_ADDRSTRLEN + 1];

	if (len >= sizeof(text))
		return 0;
	memcpy(text, s, len);
	text[len] = '\0';
	return inet_pton(AF_INET6, text, &addr) == 1;
}

/* A port as Python's urlsplit reads it: ASCII digits, 0 to 65535. */
static int parse_port(long *out, const char *s, size_t len)
{
	long v = 0;
	size_t i;

	*out = -1;
	if (len == 0)
		return 0;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return FUGUE_EINVAL;
		v = v * 10 + (s[i] - '0');
		if (v > 65535)
			return FUGUE_EINVAL;
	}
	*out = v;
	return 0;
}

static int parse_bracketed(url_parts *u, const char *s, size_t len)
{
	const char *close = memchr(s, ']', len);

	if (!close)
		return FUGUE_EINVAL;
	u->bracketed = 1;
	u->host = s + 1;
	u->host_len = (size_t)(close - s) - 1;
	if (!is_ipv6(u->host, u->host_len))
		return FUGUE_EINVAL;
	s = close + 1;
	len -= u->host_len + 2;
	if (len == 0)
		return 0;
	if (*s != ':')
		return FUGUE_EINVAL;
	return parse_port(&u->port, s + 1, len - 1);
}

/* AUTHORITY: [userinfo@]host[:port], host a name or [IPv6]. */
static int parse_authority(url_parts *u, const char *s, size_t len)
{
	const char *colon;
	size_t i;

	for (i = len; i > 0; i--) {
		if (s[i - 1] == '@') {
			s += i;
			len -= i;
			break;
		}
	}
	if (len > 0 && s[0] == '[')
		return parse_bracketed(u, s, len);
	colon = memchr(s, ':', len);
	u->host = s;
	u->host_len = colon ? (size_t)(colon - s) : len;
	if (u->host_len == 0)
		return FUGUE_EINVAL;
	for (i = 0; i < u->host_len; i++) {
		if (!is_host_char((unsigned char)s[i]))
			return FUGUE_EINVAL;
	}
	if (!colon)
		return 0;
	return parse_port(&u->port, colon + 1, len - u->host_len - 1);
}

static int parse_url(url_parts *u, const char *url)
{
	const char *p;
	size_t n;

	memset(u, 0, sizeof(*u));
	u->port = -1;
	for (p = url; *p; p++) {
		/* Never sendable; urlsplit would silently drop some of them. */
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return FUGUE_EINVAL;
	}
	if (strncasecmp(url, "https://", 8) == 0) {
		u->https = 1;
		p = url + 8;
	} else if (strncasecmp(url, "http://", 7) == 0) {
		p = url + 7;
	} else {
		return FUGUE_EINVAL;
	}
	n = strcspn(p, "/?#");
	if (parse_authority(u, p, n) < 0)
		return FUGUE_EINVAL;
	p += n;
	u->path = p;
	u->path_len = strcspn(p, "?#");
	p += u->path_len;
	if (*p == '?') {
		u->query = p + 1;
		u->query_len = strcspn(u->query, "#");
	}
	return 0;
}

/* The Host value: lower-cased, the port only when not the scheme's default. */
static int format_host(char *out, size_t size, const url_parts *u)
{
	long default_port = u->https ? 443 : 80;
	size_t pos = 0;
	size_t i;
	int n;

	if (u->host_len + 2 >= size)
		return FUGUE_EINVAL;
	if (u->bracketed)
		out[pos++] = '[';
	for (i = 0; i < u->host_len; i++)
		out[pos++] = (char)lower((unsigned char)u->host[i]);
	if (u->bracketed)
		out[pos++] = ']';
	out[pos] = '\0';
	if (u->port < 0 || u->port == default_port)
		return 0;
	n = snprintf(out + pos, size - pos, ":%ld", u->port);
	if (n < 0 || (size_t)n >= size - pos)
		return FUGUE_EINVAL;
	return 0;
}

/* --- canonical URI and query ------------------------------------------------ */

typedef struct span {
	const char *s;
	size_t len;
} span;

/* RFC 3986 dot-segment removal as botocore does it, which also drops empty
 * segments (so "//a//" is "/a/"); then every byte outside the unreserved
 * set is percent-encoded again. */
static int put_canonical_uri(fugue_buf *b, const char *path, size_t len)
{
	span *segs;
	size_t nsegs = 0;
	size_t start = 0;
	size_t i;
	int rc = 0;

	if (len == 0)
		return fugue_buf_putc(b, '/');
	segs = calloc(len / 2 + 2, sizeof(*segs));
	if (!segs)
		return FUGUE_ENOMEM;
	for (i = 0; i <= len; i++) {
		size_t seg_len;

		if (i < len && path[i] != '/')
			continue;
		seg_len = i - start;
		if (seg_len == 2 && path[start] == '.' && path[start + 1] == '.') {
			if (nsegs > 0)
				nsegs--;
		} else if (seg_len > 0 && !(seg_len == 1 && path[start] == '.')) {
			segs[nsegs].s = path + start;
			segs[nsegs].len = seg_len;
			nsegs++;
		}
		start = i + 1;
	}
	if (path[0] == '/')
		rc = fugue_buf_putc(b, '/');
	for (i = 0; i < nsegs && rc == 0; i++) {
		if (i > 0)
			rc = fugue_buf_putc(b, '/');
		if (rc == 0)
			rc = fugue_buf_put_uri_encoded(b, segs[i].s, segs[i].len, 0);
	}
	if (rc == 0 && path[len - 1] == '/' && nsegs > 0)
		rc = fugue_buf_putc(b, '/');
	free(segs);
	return rc;
}

typedef struct query_pair {
	span key;
	span value;
} query_pair;

static int compare_span(const span *a, const span *b)
{
	size_t n = a->len < b->len ? a->len : b->len;
	int c = n ? memcmp(a->s, b->s, n) : 0;

	if (c != 0)
		return c;
	if (a->len != b->len)
		return a->len < b->len ? -1 : 1;
	return 0;
}

static int compare_pair(const void *pa, const void *pb)
{
	const query_pair *a = pa;
	const query_pair *b = pb;
	int c = compare_span(&a->key, &b->key);

	return c != 0 ? c : compare_span(&a->value, &b->value);
}

/* The query as sent, split on '&' and '=', sorted by name then value. It is
 * not re-encoded: the URL already carries it encoded. */
static int put_canonical_query(fugue_buf *b, const char *q, size_t len)
{
	query_pair *pairs;
	size_t npairs = 1;
	size_t start = 0;
	size_t k = 0;
	size_t i;
	int rc = 0;

	if (len == 0)
		return 0;
	for (i = 0; i < len; i++)
		npairs += q[i] == '&';
	pairs = calloc(npairs, sizeof(*pairs));
	if (!pairs)
		return FUGUE_ENOMEM;
	for (i = 0; i <= len; i++) {
		const char *eq;
		size_t plen;

		if (i < len && q[i] != '&')
			continue;
		plen = i - start;
		eq = memchr(q + start, '=', plen);
		pairs[k].key.s = q + start;
		pairs[k].key.len = eq ? (size_t)(eq - (q + start)) : plen;
		pairs[k].value.s = eq ? eq + 1 : q + i;
		pairs[k].value.len = eq ? plen - pairs[k].key.len - 1 : 0;
		k++;
		start = i + 1;
	}
	qsort(pairs, npairs, sizeof(*pairs), compare_pair);
	for (i = 0; i < npairs && rc == 0; i++) {
		if (i > 0)
			rc = fugue_buf_putc(b, '&');
		if (rc == 0)
			rc = fugue_buf_put(b, pairs[i].key.s, pairs[i].key.len);
		if (rc == 0)
			rc = fugue_buf_putc(b, '=');
		if (rc == 0)
			rc = fugue_buf_put(b, pairs[i].value.s, pairs[i].value.len);
	}
	free(pairs);
	return rc;
}

/* --- canonical headers ------------------------------------------------------ */

typedef struct sig_header {
	const char *name;    /* any case; compared and written lower-cased */
	const char *value;
	size_t order;        /* position among the headers, for repeated names */
} sig_header;

/* Never signed (botocore's list), plus the ones the signer sets itself. */
static const char *const unsigned_headers[] = {
	"connection", "expect", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
	"trailer", "transfer-encoding", "upgrade", "user-agent", "x-amzn-trace-id",
	"authorization", "x-amz-date",
};

static int is_tchar(int c)
{
	return is_alnum(c) || (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int is_token(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++) {
		if (!is_tchar((unsigned char)*s))
			return 0;
	}
	return 1;
}

static int is_unsigned_header(const char *name, int has_token)
{
	size_t i;

	for (i = 0; i < sizeof(unsigned_headers) / sizeof(unsigned_headers[0]); i++) {
		if (strcasecmp(name, unsigned_headers[i]) == 0)
			return 1;
	}
	/* With a token the signer's own X-Amz-Security-Token replaces the caller's. */
	return has_token && strcasecmp(name, "x-amz-security-token") == 0;
}

static int compare_header(const void *pa, const void *pb)
{
	const sig_header *a = pa;
	const sig_header *b = pb;
	const unsigned char *x = (const unsigned char *)a->name;
	const unsigned char *y = (const unsigned char *)b->name;

	while (*x && lower(*x) == lower(*y)) {
		x++;
		y++;
	}
	if (lower(*x) != lower(*y))
		return lower(*x) < lower(*y) ? -1 : 1;
	if (a->order != b->order)
		return a->order < b->order ? -1 : 1;
	return 0;
}

/* The length of the white-space character at P (Python's str.isspace() set,
 * in UTF-8), or 0. */
static size_t space_len(const unsigned char *p, const unsigned char *end)
{
	size_t avail = (size_t)(end - p);

	if (*p == ' ' || (*p >= '\t' && *p <= '\r') || (*p >= 0x1c && *p <= 0x1f))
		return 1;
	if (avail >= 2 && p[0] == 0xc2 && (p[1] == 0x85 || p[1] == 0xa0))
		return 2;
	if (avail < 3)
		return 0;
	if (p[0] == 0xe1 && p[1] == 0x9a && p[2] == 0x80)
		return 3;
	if (p[0] == 0xe2 && p[1] == 0x80 &&
	    ((p[2] >= 0x80 && p[2] <= 0x8a) || p[2] == 0xa8 || p[2] == 0xa9 || p[2] == 0xaf))
		return 3;
	if (p[0] == 0xe2 && p[1] == 0x81 && p[2] == 0x9f)
		return 3;
	if (p[0] == 0xe3 && p[1] == 0x80 && p[2] == 0x80)
		return 3;
	return 0;
}

/* VALUE with leading and trailing white space dropped and each inner run
 * turned into one space: ' '.join(value.split()). */
static int put_trimmed(fugue_buf *b, const char *value)
{
	const unsigned char *p = (const unsigned char *)value;
	const unsigned char *end = p + strlen(value);
	int pending_space = 0;
	int wrote = 0;

	while (p < end) {
		size_t ws = space_len(p, end);
		const unsigned char *word = p;

		if (ws > 0) {
			p += ws;
			pending_space = wrote;
			continue;
		}
		while (p < end && space_len(p, end) == 0)
			p++;
		if (pending_space && fugue_buf_putc(b, ' ') < 0)
			return FUGUE_ENOMEM;
		if (fugue_buf_put(b, word, (size_t)(p - word)) < 0)
			return FUGUE_ENOMEM;
		pending_space = 0;
		wrote = 1;
	}
	return 0;
}

static int put_lower(fugue_buf *b, const char *s)
{
	for (; *s; s++) {
		if (fugue_buf_putc(b, (char)lower((unsigned char)*s)) < 0)
			return FUGUE_ENOMEM;
	}
	return 0;
}

typedef struct header_set {
	sig_header *items;
	size_t n;
	int has_host;
	const char *payload_hash;  /* an X-Amz-Content-SHA256 given by the caller, or NULL */
} header_set;

/* Selects IN's headers to sign and adds Host (when IN has none), X-Amz-Date
 * and, with a token, X-Amz-Security-Token. */
static int collect_headers(header_set *hs, const fugue_sigv4_input *in, const char *host,
                           const char *amz_date)
{
	int has_token = in->creds->session_token[0] != '\0';
	size_t i;

	memset(hs, 0, sizeof(*hs));
	hs->items = calloc(in->nheaders + 3, sizeof(*hs->items));
	if (!hs->items)
		return FUGUE_ENOMEM;
	for (i = 0; i < in->nheaders; i++) {
		const fugue_http_header *h = &in->headers[i];

		assert(h->name && h->value);
		if (!is_token(h->name))
			return FUGUE_EINVAL;
		if (!hs->payload_hash && strcasecmp(h->name, "x-amz-content-sha256") == 0)
			hs->payload_hash = h->value;
		if (is_unsigned_header(h->name, has_token))
			continue;
		if (strcasecmp(h->name, "host") == 0)
			hs->has_host = 1;
		hs->items[hs->n++] = (sig_header){ h->name, h->value, i };
	}
	if (!hs->has_host)
		hs->items[hs->n++] = (sig_header){ "host", host, i++ };
	hs->items[hs->n++] = (sig_header){ "x-amz-date", amz_date, i++ };
	if (has_token)
		hs->items[hs->n++] = (sig_header){ "x-amz-security-token", in->creds->session_token, i };
	qsort(hs->items, hs->n, sizeof(*hs->items), compare_header);
	return 0;
}

static int same_name(const sig_header *a, const sig_header *b)
{
	return strcasecmp(a->name, b->name) == 0;
}

/* "name:v1,v2\n" for each name, and "a;b;c" into SIGNED. */
static int put_canonical_headers(fugue_buf *b, fugue_buf *signed_names, const header_set *hs)
{
	size_t i;

	for (i = 0; i < hs->n; i++) {
		int first = i == 0 || !same_name(&hs->items[i - 1], &hs->items[i]);
		int rc = 0;

		if (first && i > 0)
			rc = fugue_buf_putc(b, '\n');
		if (first && rc == 0)
			rc = put_lower(b, hs->items[i].name);
		if (first && rc == 0)
			rc = fugue_buf_putc(b, ':');
		if (first && rc == 0 && signed_names->len > 0)
			rc = fugue_buf_putc(signed_names, ';');
		if (first && rc == 0)
			rc = put_lower(signed_names, hs->items[i].name);
		if (!first && rc == 0)
			rc = fugue_buf_putc(b, ',');
		if (rc == 0)
			rc = put_trimmed(b, hs->items[i].value);
		if (rc < 0)
			return rc;
	}
	return fugue_buf_putc(b, '\n');
}

/* The Host that was signed: a caller's own Host header wins, as in botocore. */
static int signed_host(char *out, size_t size, const header_set *hs)
{
	fugue_buf b = FUGUE_BUF_INIT;
	size_t i;
	int rc = 0;

	for (i = 0; i < hs->n && rc == 0; i++) {
		if (strcasecmp(hs->items[i].name, "host") != 0)
			continue;
		if (b.len > 0)
			rc = fugue_buf_putc(&b, ',');
		if (rc == 0)
			rc = put_trimmed(&b, hs->items[i].value);
	}
	if (rc == 0 && b.len >= size)
		rc = FUGUE_EINVAL;
	if (rc == 0)
		memcpy(out, b.data ? b.data : "", b.len + 1);
	fugue_buf_free(&b);
	return rc;
}

/* --- the request ------------------------------------------------------------ */

static int put_method(fugue_buf *b, const char *method)
{
	if (!is_token(method))
		return FUGUE_EINVAL;
	for (; *method; method++) {
		if (fugue_buf_putc(b, (char)upper((unsigned char)*method)) < 0)
			return FUGUE_ENOMEM;
	}
	return 0;
}

static int put_payload_hash(fugue_buf *b, const fugue_sigv4_input *in, const header_set *hs)
{
	unsigned char md[SHA256_LEN];
	int rc;

	if (hs->payload_hash)
		return fugue_buf_puts(b, hs->payload_hash);
	assert(in->body || in->body_len == 0);
	rc = sha256(md, in->body, in->body_len);
	if (rc < 0)
		return rc;
	return fugue_buf_put_hex(b, md, sizeof(md));
}

static int canonical_request(fugue_buf *cr, fugue_buf *signed_names, const fugue_sigv4_input *in,
                             const url_parts *u, const header_set *hs)
{
	int rc = put_method(cr, in->method);

	if (rc == 0)
		rc = fugue_buf_putc(cr, '\n');
	if (rc == 0)
		rc = put_canonical_uri(cr, u->path, u->path_len);
	if (rc == 0)
		rc = fugue_buf_putc(cr, '\n');
	if (rc == 0)
		rc = put_canonical_query(cr, u->query, u->query_len);
	if (rc == 0)
		rc = fugue_buf_putc(cr, '\n');
	if (rc == 0)
		rc = put_canonical_headers(cr, signed_names, hs);
	if (rc == 0)
		rc = fugue_buf_putc(cr, '\n');
	if (rc == 0)
		rc = fugue_buf_put(cr, signed_names->data, signed_names->len);
	if (rc == 0)
		rc = fugue_buf_putc(cr, '\n');
	if (rc == 0)
		rc = put_payload_hash(cr, in, hs);
	return rc;
}

static int string_to_sign(fugue_buf *sts, const char *amz_date, const char *region,
                          const char *service, const fugue_buf *cr)
{
	unsigned char md[SHA256_LEN];
	int rc = sha256(md, cr->data, cr->len);

	if (rc < 0)
		return rc;
	rc = fugue_buf_printf(sts, ALGORITHM "\n%s\n%.8s/%s/%s/aws4_request\n", amz_date, amz_date,
	                      region, service);
	if (rc == 0)
		rc = fugue_buf_put_hex(sts, md, sizeof(md));
	return rc;
}

static int format_amz_date(char out[17], time_t now)
{
	struct tm tm;

	if (!gmtime_r(&now, &tm))
		return FUGUE_EINVAL;
	if (strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm) != 16)
		return FUGUE_EINVAL;
	return 0;
}

static int authorize(fugue_sigv4_output *out, fugue_sigv4_cache *cache,
                     const fugue_sigv4_input *in, const fugue_buf *sts, const fugue_buf *signed_names)
{
	unsigned char key[SHA256_LEN];
	unsigned char sig[SHA256_LEN];
	char sig_hex[2 * SHA256_LEN + 1];
	char date[9];
	int rc;
	int n;

	memcpy(date, out->amz_date, 8);
	date[8] = '\0';
	rc = signing_key(key, cache, in->creds, date, in->region, in->service);
	if (rc == 0)
		rc = hmac_sha256(sig, key, sizeof(key), sts->data, sts->len);
	OPENSSL_cleanse(key, sizeof(key));
	if (rc < 0)
		return rc;
	hex_encode(sig_hex, sig, sizeof(sig));
	n = snprintf(out->authorization, sizeof(out->authorization),
	             ALGORITHM " Credential=%s/%s/%s/%s/aws4_request, SignedHeaders=%s, Signature=%s",
	             in->creds->access_key_id, date, in->region, in->service, signed_names->data,
	             sig_hex);
	if (n < 0 || (size_t)n >= sizeof(out->authorization))
		return FUGUE_EINVAL;
	return 0;
}

static int sign_into(fugue_sigv4_output *out, fugue_sigv4_cache *cache,
                     const fugue_sigv4_input *in, fugue_buf *cr, fugue_buf *sts,
                     fugue_buf *signed_names, header_set *hs)
{
	char url_host[sizeof(out->host)];
	url_parts u;
	int rc;

	rc = parse_url(&u, in->url);
	if (rc == 0)
		rc = format_host(url_host, sizeof(url_host), &u);
	if (rc == 0)
		rc = format_amz_date(out->amz_date, in->now);
	if (rc == 0)
		rc = collect_headers(hs, in, url_host, out->amz_date);
	if (rc == 0)
		rc = signed_host(out->host, sizeof(out->host), hs);
	if (rc == 0)
		rc = canonical_request(cr, signed_names, in, &u, hs);
	if (rc == 0)
		rc = string_to_sign(sts, out->amz_date, in->region, in->service, cr);
	if (rc == 0)
		rc = authorize(out, cache, in, sts, signed_names);
	return rc;
}

int fugue_sigv4_sign(fugue_sigv4_output *out, fugue_sigv4_cache *cache, const fugue_sigv4_input *in)
{
	fugue_buf cr = FUGUE_BUF_INIT;
	fugue_buf sts = FUGUE_BUF_INIT;
	fugue_buf signed_names = FUGUE_BUF_INIT;
	header_set hs;
	int rc;

	assert(out && in && in->method && in->url && in->region && in->service && in->creds);
	assert(in->headers || in->nheaders == 0);
	memset(out, 0, sizeof(*out));
	memset(&hs, 0, sizeof(hs));
	rc = sign_into(out, cache, in, &cr, &sts, &signed_names, &hs);
	free(hs.items);
	fugue_buf_free(&signed_names);
	if (rc == 0) {
		out->canonical_request = fugue_buf_detach(&cr);
		out->string_to_sign = fugue_buf_detach(&sts);
		if (!out->canonical_request || !out->string_to_sign)
			rc = FUGUE_ENOMEM;
	}
	fugue_buf_free(&cr);
	fugue_buf_free(&sts);
	if (rc < 0)
		fugue_sigv4_output_clear(out);
	return rc;
}

void fugue_sigv4_output_clear(fugue_sigv4_output *out)
{
	if (!out)
		return;
	free(out->canonical_request);
	free(out->string_to_sign);
	memset(out, 0, sizeof(*out));
}
