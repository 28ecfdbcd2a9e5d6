/* imds.c - the instance role's credentials from the EC2 instance metadata
 * service, IMDSv2 only (a session token first, as botocore does; the IMDSv1
 * fallback of the SDKs is left out on purpose).
 *
 * Each request has its own libcurl easy handle with short timeouts and one
 * retry on a transport error or a 5xx, so that a machine off EC2 gives up in
 * about two seconds. Proxies are never used: the service is link-local.
 * Response bodies live in one fixed buffer that is wiped before it is freed,
 * as they carry the secret key and the session token. */
#include "imds.h"

#include <ctype.h>
#include <curl/curl.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "fugue/common.h"
#include "fugue/log.h"

#ifndef FUGUE_VERSION
#define FUGUE_VERSION "0"
#endif

#define IMDS_DEFAULT_ENDPOINT "http://169.254.169.254"
#define IMDS_IPV6_ENDPOINT "http://[fd00:ec2::254]"
#define IMDS_TOKEN_PATH "/latest/api/token"
#define IMDS_ROLE_PATH "/latest/meta-data/iam/security-credentials/"
#define IMDS_TOKEN_TTL "21600"
#define IMDS_CONNECT_TIMEOUT_MS 1000L
#define IMDS_TIMEOUT_MS 1000L
#define IMDS_ATTEMPTS 2
#define IMDS_MAX_BODY 16384
#define IMDS_USER_AGENT "fugue/" FUGUE_VERSION

/* One answer. BODY is IMDS_MAX_BODY + 1 bytes, NUL-terminated. */
typedef struct imds_response {
	long status;
	char *body;
	size_t len;
	int overflow;
} imds_response;

/* What a request needs besides its path. */
typedef struct imds_session {
	char base[512];      /* endpoint without the trailing '/' */
	char token[1024];
	char *errbuf;
	size_t errsize;
} imds_session;

static void set_reason(imds_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_reason(imds_session *s, const char *fmt, ...)
{
	va_list ap;

	if (!s->errbuf || s->errsize == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(s->errbuf, s->errsize, fmt, ap);
	va_end(ap);
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *payload)
{
	imds_response *res = payload;
	size_t n = size * nmemb;

	if (res->len + n > IMDS_MAX_BODY) {
		res->overflow = 1;
		return 0;
	}
	memcpy(res->body + res->len, data, n);
	res->len += n;
	res->body[res->len] = '\0';
	return n;
}

static void response_reset(imds_response *res)
{
	explicit_bzero(res->body, IMDS_MAX_BODY + 1);
	res->len = 0;
	res->status = 0;
	res->overflow = 0;
}

/* Picks the endpoint: AWS_EC2_METADATA_SERVICE_ENDPOINT, else the IPv6
 * address when AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE is IPv6, else the
 * IPv4 one. */
static int select_endpoint(imds_session *s)
{
	const char *env = getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
	const char *mode = getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");
	size_t n;

	if (!env || !*env)
		env = mode && strcasecmp(mode, "ipv6") == 0 ? IMDS_IPV6_ENDPOINT : IMDS_DEFAULT_ENDPOINT;
	if (strncasecmp(env, "http://", 7) != 0 && strncasecmp(env, "https://", 8) != 0) {
		set_reason(s, "AWS_EC2_METADATA_SERVICE_ENDPOINT '%s' is not an http(s) url", env);
		return FUGUE_ENOTFOUND;
	}
	n = strlen(env);
	while (n > 0 && env[n - 1] == '/')
		n--;
	if (n >= sizeof(s->base)) {
		set_reason(s, "AWS_EC2_METADATA_SERVICE_ENDPOINT is too long");
		return FUGUE_ENOTFOUND;
	}
	memcpy(s->base, env, n);
	s->base[n] = '\0';
	return 0;
}

static void set_options(CURL *h, const char *url, struct curl_slist *headers, imds_response *res)
{
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, IMDS_CONNECT_TIMEOUT_MS);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, IMDS_TIMEOUT_MS);
	curl_easy_setopt(h, CURLOPT_PROXY, "");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, IMDS_USER_AGENT);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, res);
}

/* One attempt. Returns the curl result; RES holds the status and body. */
static CURLcode attempt(imds_response *res, int put, const char *url, const char *header)
{
	struct curl_slist *headers = NULL;
	struct curl_slist *more;
	CURL *h;
	CURLcode cc;

	h = curl_easy_init();
	if (!h)
		return CURLE_OUT_OF_MEMORY;
	more = curl_slist_append(headers, header);
	if (more)
		headers = more;
	if (more && put)
		more = curl_slist_append(headers, "Content-Type:");
	if (!more) {
		curl_slist_free_all(headers);
		curl_easy_cleanup(h);
		return CURLE_OUT_OF_MEMORY;
	}
	set_options(h, url, headers, res);
	if (put) {
		/* A PUT with an empty body and Content-Length: 0. */
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, 0L);
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "PUT");
	}
	response_reset(res);
	cc = curl_easy_perform(h);
	if (cc == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &res->status);
	curl_slist_free_all(headers);
	curl_easy_cleanup(h);
	return cc;
}

/* PATH with retry. Returns 0 with an answer in RES (any status), or
 * FUGUE_ENOTFOUND when no answer came, with the reason. */
static int request(imds_session *s, imds_response *res, int put, const char *path)
{
	char url[1024];
	char header[1100];
	CURLcode cc = CURLE_OK;
	int i;

	snprintf(url, sizeof(url), "%s%s", s->base, path);
	if (put)
		snprintf(header, sizeof(header), "X-aws-ec2-metadata-token-ttl-seconds: %s", IMDS_TOKEN_TTL);
	else
		snprintf(header, sizeof(header), "X-aws-ec2-metadata-token: %s", s->token);
	for (i = 0; i < IMDS_ATTEMPTS; i++) {
		cc = attempt(res, put, url, header);
		if (res->overflow || (cc == CURLE_OK && res->status < 500))
			break;
	}
	explicit_bzero(header, sizeof(header));
	if (cc == CURLE_OUT_OF_MEMORY)
		return FUGUE_ENOMEM;
	if (cc != CURLE_OK && res->overflow) {
		set_reason(s, "%s %s: answer larger than %d bytes", put ? "PUT" : "GET", url, IMDS_MAX_BODY);
		return FUGUE_EPROTO;
	}
	if (cc != CURLE_OK) {
		set_reason(s, "no metadata service at %s: %s (%d attempts)", s->base,
		           curl_easy_strerror(cc), IMDS_ATTEMPTS);
		return FUGUE_ENOTFOUND;
	}
	return 0;
}

/* Trims surrounding whitespace of the body in place; returns its start. */
static char *trimmed_body(imds_response *res)
{
	char *p = res->body;
	size_t n = res->len;

	while (n > 0 && isspace((unsigned char)p[n - 1]))
		n--;
	p[n] = '\0';
	while (isspace((unsigned char)*p))
		p++;
	return p;
}

static int fetch_token(imds_session *s, imds_response *res)
{
	char *token;
	int rc;

	rc = request(s, res, 1, IMDS_TOKEN_PATH);
	if (rc < 0)
		return rc;
	if (res->status != 200) {
		set_reason(s, "token request to %s%s answered http %ld", s->base, IMDS_TOKEN_PATH, res->status);
		return FUGUE_ENOTFOUND;
	}
	token = trimmed_body(res);
	if (!*token || strlen(token) >= sizeof(s->token) || strpbrk(token, "\r\n")) {
		set_reason(s, "token request to %s%s: malformed token", s->base, IMDS_TOKEN_PATH);
		return FUGUE_EPROTO;
	}
	snprintf(s->token, sizeof(s->token), "%s", token);
	return 0;
}

/* IAM role names are [A-Za-z0-9+=,.@_-]{1,64}. */
static int valid_role_name(const char *role)
{
	size_t n = strlen(role);

	if (n == 0 || n > 64)
		return 0;
	return strspn(role, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+=,.@_-") == n;
}

static int fetch_role(char *role, size_t size, imds_session *s, imds_response *res)
{
	char *name;
	char *eol;
	int rc;

	rc = request(s, res, 0, IMDS_ROLE_PATH);
	if (rc < 0)
		return rc;
	if (res->status == 404) {
		set_reason(s, "no instance role attached (http 404 from %s%s)", s->base, IMDS_ROLE_PATH);
		return FUGUE_ENOTFOUND;
	}
	if (res->status != 200) {
		set_reason(s, "%s%s answered http %ld", s->base, IMDS_ROLE_PATH, res->status);
		return FUGUE_ENOTFOUND;
	}
	name = trimmed_body(res);
	eol = strpbrk(name, "\r\n");
	if (eol)
		*eol = '\0';
	if (!*name) {
		set_reason(s, "no instance role attached (empty list from %s%s)", s->base, IMDS_ROLE_PATH);
		return FUGUE_ENOTFOUND;
	}
	if (!valid_role_name(name) || strlen(name) >= size) {
		set_reason(s, "%s%s: malformed role name", s->base, IMDS_ROLE_PATH);
		return FUGUE_EPROTO;
	}
	snprintf(role, size, "%s", name);
	return 0;
}

/* "2026-11-22T20:00:00Z" (fractional seconds and "+00:00" tolerated). */
static int parse_expiration(time_t *out, const char *s)
{
	struct tm tm;
	int y, mo, d, h, mi, sec;
	int used = 0;
	const char *rest;

	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &used) != 6)
		return FUGUE_EPROTO;
	rest = s + used;
	if (*rest == '.') {
		rest++;
		while (isdigit((unsigned char)*rest))
			rest++;
	}
	if (strcmp(rest, "Z") != 0 && strcmp(rest, "+00:00") != 0)
		return FUGUE_EPROTO;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return FUGUE_EPROTO;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	*out = timegm(&tm);
	return *out == (time_t)-1 ? FUGUE_EPROTO : 0;
}

/* The string member NAME of DOC, or NULL. */
static const char *member(struct json_object *doc, const char *name)
{
	struct json_object *v;

	if (!json_object_object_get_ex(doc, name, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static int copy_member(char *out, size_t size, struct json_object *doc, const char *name,
                       imds_session *s, const char *role)
{
	const char *v = member(doc, name);

	if (!v || !*v) {
		set_reason(s, "credentials of role %s: no %s", role, name);
		return FUGUE_EPROTO;
	}
	if (strlen(v) >= size) {
		set_reason(s, "credentials of role %s: %s too long", role, name);
		return FUGUE_EPROTO;
	}
	snprintf(out, size, "%s", v);
	return 0;
}

static int check_code(struct json_object *doc, imds_session *s, const char *role)
{
	const char *code = member(doc, "Code");
	const char *message = member(doc, "Message");

	if (!code) {
		set_reason(s, "credentials of role %s: no Code", role);
		return FUGUE_EPROTO;
	}
	if (strcmp(code, "Success") != 0) {
		set_reason(s, "credentials of role %s: Code %.64s: %.200s", role, code,
		           message ? message : "");
		return FUGUE_ENOTFOUND;
	}
	return 0;
}

static int parse_document(fugue_credentials *out, struct json_object *doc, imds_session *s,
                          const char *role)
{
	const char *expiration;
	int rc;

	rc = check_code(doc, s, role);
	if (rc == 0)
		rc = copy_member(out->access_key_id, sizeof(out->access_key_id), doc, "AccessKeyId", s, role);
	if (rc == 0)
		rc = copy_member(out->secret_access_key, sizeof(out->secret_access_key), doc,
		                 "SecretAccessKey", s, role);
	if (rc == 0)
		rc = copy_member(out->session_token, sizeof(out->session_token), doc, "Token", s, role);
	if (rc < 0)
		return rc;
	expiration = member(doc, "Expiration");
	if (!expiration || parse_expiration(&out->expiration, expiration) < 0) {
		set_reason(s, "credentials of role %s: bad or missing Expiration", role);
		return FUGUE_EPROTO;
	}
	snprintf(out->source, sizeof(out->source), "imds (role %.48s)", role);
	return 0;
}

static int fetch_credentials(fugue_credentials *out, imds_session *s, imds_response *res,
                             const char *role)
{
	char path[256];
	struct json_object *doc;
	int rc;

	snprintf(path, sizeof(path), "%s%s", IMDS_ROLE_PATH, role);
	rc = request(s, res, 0, path);
	if (rc < 0)
		return rc;
	if (res->status != 200) {
		set_reason(s, "%s%s answered http %ld", s->base, path, res->status);
		return FUGUE_ENOTFOUND;
	}
	doc = json_tokener_parse(res->body);
	if (!doc || !json_object_is_type(doc, json_type_object)) {
		json_object_put(doc);
		set_reason(s, "credentials of role %s: not a json object", role);
		return FUGUE_EPROTO;
	}
	rc = parse_document(out, doc, s, role);
	json_object_put(doc);
	return rc;
}

int fugue_imds_credentials(fugue_credentials *out, char *errbuf, size_t errsize)
{
	imds_session s;
	imds_response res;
	fugue_credentials c;
	char role[128];
	int rc;

	memset(&s, 0, sizeof(s));
	memset(&res, 0, sizeof(res));
	memset(&c, 0, sizeof(c));
	s.errbuf = errbuf;
	s.errsize = errsize;
	if (errbuf && errsize)
		errbuf[0] = '\0';
	rc = select_endpoint(&s);
	if (rc < 0)
		return rc;
	res.body = calloc(1, IMDS_MAX_BODY + 1);
	if (!res.body)
		return FUGUE_ENOMEM;
	rc = fetch_token(&s, &res);
	if (rc == 0)
		rc = fetch_role(role, sizeof(role), &s, &res);
	if (rc == 0)
		rc = fetch_credentials(&c, &s, &res, role);
	if (rc == 0) {
		*out = c;
		fugue_log_debug("imds: credentials of role %s, expiring at %lld", role,
		                (long long)c.expiration);
	}
	if (rc == FUGUE_ENOMEM)
		set_reason(&s, "out of memory");
	explicit_bzero(&c, sizeof(c));
	explicit_bzero(s.token, sizeof(s.token));
	response_reset(&res);
	free(res.body);
	return rc;
}
