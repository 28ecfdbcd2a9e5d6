/* client.c - the AWS client: builds each protocol's request, signs it,
 * sends it with rate limiting and standard-mode retries, and turns the
 * answer into a json-c tree or a fugue_aws_error. */
#include "client.h"

#include <curl/curl.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fugue/log.h"
#include "protocol.h"
#include "sigv4.h"

#define DEFAULT_MAX_ATTEMPTS 3
#define DEFAULT_RETRY_BASE_MS 1000L
#define USER_AGENT "fugue/" FUGUE_VERSION

struct fugue_aws_client {
	char region[64];
	char profile[128];
	int max_attempts;
	long retry_base_ms;
	int rate_limit;
	fugue_http *http;
	fugue_creds_provider *creds;
	fugue_sigv4_cache *sigv4;
	fugue_ratelimit *ratelimit;
	fugue_retry_quota quota;
};

/* A request as it goes on the wire, built once and sent on every attempt. */
typedef struct wire_request {
	const fugue_service *svc;
	const char *region;        /* the caller's region */
	char signing_region[64];
	const char *method;
	fugue_buf url;
	fugue_buf body;
	char content_type[64];
	char target[160];          /* X-Amz-Target, json protocol */
} wire_request;

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result;

static void init_curl(void)
{
	curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void set_error(fugue_aws_error *err, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_error(fugue_aws_error *err, const char *code, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return;
	snprintf(err->code, sizeof(err->code), "%s", code);
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
}

static void reset_error(fugue_aws_error *err, const char *service, const char *action)
{
	if (!err)
		return;
	memset(err, 0, sizeof(*err));
	snprintf(err->service, sizeof(err->service), "%s", service ? service : "");
	snprintf(err->action, sizeof(err->action), "%s", action ? action : "");
}

static int resolve_max_attempts(const fugue_aws_config *config)
{
	const char *env = getenv("AWS_MAX_ATTEMPTS");
	int n;

	if (config && config->max_attempts > 0)
		return config->max_attempts;
	if (env && *env) {
		n = atoi(env);
		if (n > 0)
			return n;
	}
	return DEFAULT_MAX_ATTEMPTS;
}

int fugue_aws_client_new(fugue_aws_client **out, const fugue_aws_config *config,
                         fugue_aws_error *err)
{
	fugue_aws_config defaults = FUGUE_AWS_CONFIG_INIT;
	fugue_aws_client *c;
	fugue_credentials creds;
	char reason[1024];
	int rc;

	*out = NULL;
	reset_error(err, "", "");
	if (!config)
		config = &defaults;
	pthread_once(&curl_once, init_curl);
	if (curl_init_result != CURLE_OK) {
		set_error(err, "ClientError", "curl_global_init failed: %s",
		          curl_easy_strerror(curl_init_result));
		return FUGUE_ECONFIG;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return FUGUE_ENOMEM;
	snprintf(c->profile, sizeof(c->profile), "%s", fugue_aws_profile_name(config->profile));
	c->max_attempts = resolve_max_attempts(config);
	c->retry_base_ms = config->retry_base_ms > 0 ? config->retry_base_ms : DEFAULT_RETRY_BASE_MS;
	c->rate_limit = !config->disable_rate_limit;
	fugue_retry_quota_init(&c->quota);

	rc = fugue_region_resolve(c->region, sizeof(c->region), config->region, c->profile);
	if (rc < 0) {
		set_error(err, "MissingRegion",
		          "no aws region: set AWS_REGION, AWS_DEFAULT_REGION or 'region' in profile '%s'",
		          c->profile);
		goto fail;
	}
	rc = fugue_http_new(&c->http, config->connect_timeout_ms, config->timeout_ms);
	if (rc == 0)
		rc = fugue_sigv4_cache_new(&c->sigv4);
	if (rc == 0)
		rc = fugue_ratelimit_new(&c->ratelimit);
	if (rc == 0)
		rc = fugue_creds_provider_new(&c->creds, config->profile);
	if (rc < 0)
		goto fail;
	rc = fugue_creds_get(&creds, c->creds, reason, sizeof(reason));
	fugue_credentials_wipe(&creds);
	if (rc < 0) {
		set_error(err, "MissingCredentials", "%s", reason);
		goto fail;
	}
	*out = c;
	return 0;
fail:
	fugue_aws_client_free(c);
	return rc;
}

void fugue_aws_client_free(fugue_aws_client *client)
{
	if (!client)
		return;
	fugue_creds_provider_free(client->creds);
	fugue_ratelimit_free(client->ratelimit);
	fugue_sigv4_cache_free(client->sigv4);
	fugue_http_free(client->http);
	fugue_retry_quota_destroy(&client->quota);
	free(client);
}

const char *fugue_aws_client_region(const fugue_aws_client *client)
{
	return client->region;
}

int fugue_aws_client_endpoint(char *buf, size_t size, const fugue_aws_client *client,
                              const char *service, const char *region)
{
	const fugue_service *svc = fugue_service_find(service);
	char signing[64];

	if (!svc)
		return FUGUE_EINVAL;
	return fugue_endpoint_resolve(buf, size, signing, sizeof(signing), svc,
	                              region ? region : client->region, client->profile);
}

/* --- building the wire request ------------------------------------------ */

static int put_query_string(fugue_buf *url, const struct json_object *query)
{
	char sep = '?';

	json_object_object_foreach((struct json_object *)query, key, val)
	{
		const char *v = json_object_get_string(val);

		if (fugue_buf_putc(url, sep) < 0 ||
		    fugue_buf_put_uri_encoded(url, key, strlen(key), 0) < 0 ||
		    fugue_buf_putc(url, '=') < 0 ||
		    fugue_buf_put_uri_encoded(url, v ? v : "", v ? strlen(v) : 0, 0) < 0)
			return FUGUE_ENOMEM;
		sep = '&';
	}
	return 0;
}

static int build_json_body(fugue_buf *body, const struct json_object *params)
{
	const char *s;

	if (!params)
		return fugue_buf_puts(body, "{}");
	s = json_object_to_json_string_ext((struct json_object *)params, JSON_C_TO_STRING_PLAIN);
	return fugue_buf_puts(body, s);
}

static int build_request(wire_request *w, const fugue_aws_request *req, const char *endpoint,
                         fugue_aws_error *err)
{
	const fugue_service *svc = w->svc;
	int rc;

	rc = fugue_buf_puts(&w->url, endpoint);
	if (rc < 0)
		return rc;
	switch (svc->protocol) {
	case FUGUE_PROTO_EC2:
	case FUGUE_PROTO_QUERY:
		w->method = "POST";
		snprintf(w->content_type, sizeof(w->content_type),
		         "application/x-www-form-urlencoded; charset=utf-8");
		rc = fugue_buf_putc(&w->url, '/');
		if (rc == 0)
			rc = fugue_query_serialize(&w->body, req->action, svc->api_version, req->params,
			                           svc->protocol == FUGUE_PROTO_EC2);
		if (rc == FUGUE_EINVAL)
			set_error(err, "ValidationError", "parameters of %s cannot be serialized",
			          req->action);
		return rc;
	case FUGUE_PROTO_JSON:
		w->method = "POST";
		snprintf(w->content_type, sizeof(w->content_type), "application/x-amz-json-%s",
		         svc->json_version ? svc->json_version : "1.0");
		snprintf(w->target, sizeof(w->target), "%s.%s", svc->target_prefix, req->action);
		rc = fugue_buf_putc(&w->url, '/');
		return rc ? rc : build_json_body(&w->body, req->params);
	case FUGUE_PROTO_REST_JSON:
		if (!req->method || !req->path || req->path[0] != '/') {
			set_error(err, "ValidationError", "%s needs a method and a path starting with '/'",
			          req->action);
			return FUGUE_EINVAL;
		}
		w->method = req->method;
		rc = fugue_buf_puts(&w->url, req->path);
		if (rc == 0 && req->query)
			rc = put_query_string(&w->url, req->query);
		if (rc == 0 && req->params) {
			snprintf(w->content_type, sizeof(w->content_type), "application/json");
			rc = build_json_body(&w->body, req->params);
		}
		return rc;
	case FUGUE_PROTO_REST_XML:
		break;
	}
	set_error(err, "ValidationError", "service %s uses a protocol this client does not speak",
	          svc->id);
	return FUGUE_EINVAL;
}

/* --- one attempt ---------------------------------------------------------- */

static int send_signed(fugue_http_response *resp, fugue_aws_client *c, const wire_request *w,
                       char *errbuf, size_t errsize)
{
	fugue_http_header headers[8];
	fugue_sigv4_output sig;
	fugue_sigv4_input in;
	fugue_credentials creds;
	fugue_http_request hr;
	size_t n = 0;
	size_t nsigned;
	int rc;

	rc = fugue_creds_get(&creds, c->creds, errbuf, errsize);
	if (rc < 0)
		return rc;
	if (w->content_type[0])
		headers[n++] = (fugue_http_header){ "Content-Type", w->content_type };
	if (w->target[0])
		headers[n++] = (fugue_http_header){ "X-Amz-Target", w->target };
	nsigned = n;

	memset(&in, 0, sizeof(in));
	in.method = w->method;
	in.url = w->url.data;
	in.headers = headers;
	in.nheaders = nsigned;
	in.body = w->body.data;
	in.body_len = w->body.len;
	in.region = w->signing_region;
	in.service = w->svc->signing_name;
	in.now = time(NULL);
	in.creds = &creds;
	memset(&sig, 0, sizeof(sig));
	rc = fugue_sigv4_sign(&sig, c->sigv4, &in);
	if (rc < 0) {
		fugue_credentials_wipe(&creds);
		snprintf(errbuf, errsize, "cannot sign request to %s", w->url.data);
		return rc;
	}
	headers[n++] = (fugue_http_header){ "X-Amz-Date", sig.amz_date };
	if (creds.session_token[0])
		headers[n++] = (fugue_http_header){ "X-Amz-Security-Token", creds.session_token };
	headers[n++] = (fugue_http_header){ "Authorization", sig.authorization };
	headers[n++] = (fugue_http_header){ "User-Agent", USER_AGENT };

	hr.method = w->method;
	hr.url = w->url.data;
	hr.headers = headers;
	hr.nheaders = n;
	hr.body = w->body.data;
	hr.body_len = w->body.len;
	rc = fugue_http_perform(resp, c->http, &hr, errbuf, errsize);
	fugue_sigv4_output_clear(&sig);
	fugue_credentials_wipe(&creds);
	return rc;
}

static void find_request_id(char *out, size_t size, const fugue_http_response *resp,
                            int xml_body)
{
	if (fugue_http_response_header(out, size, resp, "x-amzn-RequestId"))
		return;
	if (fugue_http_response_header(out, size, resp, "x-amz-request-id"))
		return;
	out[0] = '\0';
	if (xml_body)
		fugue_xml_request_id(out, size, resp->body.data, resp->body.len);
}

static int is_xml_protocol(const fugue_service *svc)
{
	return svc->protocol == FUGUE_PROTO_EC2 || svc->protocol == FUGUE_PROTO_QUERY;
}

/* Fills ERR from a non-2xx answer; an unrecognisable body still gives the
 * status and the start of the body, so the operator sees something real. */
static void parse_error_answer(fugue_aws_error *err, const wire_request *w,
                               const fugue_http_response *resp)
{
	char type[256];
	const char *type_header;
	int rc;

	err->http_status = (int)resp->status;
	if (is_xml_protocol(w->svc)) {
		rc = fugue_xml_error(err, resp->body.data, resp->body.len);
	} else {
		type_header = fugue_http_response_header(type, sizeof(type), resp, "x-amzn-ErrorType");
		rc = fugue_json_error(err, type_header, resp->body.data, resp->body.len);
	}
	if (rc < 0) {
		snprintf(err->code, sizeof(err->code), "Http%ld", resp->status);
		if (fugue_body_is_html(resp->body.data, resp->body.len)) {
			char why[256];

			fugue_response_explain(why, sizeof(why), resp->body.data, resp->body.len, 0);
			snprintf(err->message, sizeof(err->message), "unrecognised error body: %s", why);
		} else {
			snprintf(err->message, sizeof(err->message), "unrecognised error body: %.200s",
			         resp->body.data ? resp->body.data : "");
		}
	}
	if (!err->request_id[0])
		find_request_id(err->request_id, sizeof(err->request_id), resp, 0);
}

/* A 2xx answer that cannot be read: what was wrong with it, never its
 * content (a success body may hold what must not reach a log). */
static void explain_malformed(fugue_aws_error *err, const wire_request *w, const char *action,
                              const fugue_http_response *resp)
{
	char why[320];
	char type[96];
	const char *ctype = fugue_http_response_header(type, sizeof(type), resp, "Content-Type");

	fugue_response_explain(why, sizeof(why), resp->body.data, resp->body.len,
	                       is_xml_protocol(w->svc));
	set_error(err, "MalformedResponse",
	          "cannot parse the %s response (HTTP %ld, %zu bytes, content type %s): %s", action,
	          resp->status, resp->body.len, ctype && ctype[0] ? ctype : "none", why);
}

static int parse_success(struct json_object **out, const wire_request *w, const char *action,
                         const fugue_http_response *resp)
{
	switch (w->svc->protocol) {
	case FUGUE_PROTO_EC2:
		return fugue_xml_response(out, resp->body.data, resp->body.len, action, 0);
	case FUGUE_PROTO_QUERY:
		return fugue_xml_response(out, resp->body.data, resp->body.len, action, 1);
	default:
		return fugue_json_response(out, resp->body.data, resp->body.len);
	}
}

/* --- the retry loop ------------------------------------------------------- */

static double random01(void)
{
	static _Thread_local unsigned int seed;

	if (!seed)
		seed = (unsigned int)time(NULL) ^ (unsigned int)(uintptr_t)&seed ^ (unsigned int)getpid();
	return (double)rand_r(&seed) / ((double)RAND_MAX + 1.0);
}

static void sleep_ms(long ms)
{
	struct timespec ts;

	if (ms <= 0)
		return;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) != 0)
		;
}

static void log_call(const wire_request *w, const fugue_aws_error *e, int rc, double started)
{
	char status[16];
	char attempts[16];
	char duration[32];
	fugue_log_field fields[] = {
		{ "AWS_SERVICE", w->svc->id },
		{ "AWS_REGION", w->region },
		{ "AWS_ACTION", e->action },
		{ "HTTP_STATUS", status },
		{ "AWS_REQUEST_ID", e->request_id },
		{ "ATTEMPTS", attempts },
		{ "DURATION_MS", duration },
		{ "AWS_ERROR_CODE", e->code },
	};
	fugue_log_level level = FUGUE_LOG_DEBUG;

	if (!fugue_log_enabled(level))
		return;
	snprintf(status, sizeof(status), "%d", e->http_status);
	snprintf(attempts, sizeof(attempts), "%d", e->attempts);
	snprintf(duration, sizeof(duration), "%.0f", fugue_monotonic_ms() - started);
	fugue_log_fields(level, fields, rc == 0 ? 7 : 8, "aws %s %s %s", w->svc->id, e->action,
	                 rc == 0 ? "ok" : e->code);
}

static int perform(struct json_object **out, fugue_aws_client *c, const wire_request *w,
                   const char *action, fugue_aws_error *err)
{
	fugue_retry_kind kind;
	int spent = 0;
	int rc = 0;
	int attempt;

	for (attempt = 1;; attempt++) {
		fugue_http_response resp = FUGUE_HTTP_RESPONSE_INIT;
		char reason[1024];

		if (c->rate_limit)
			fugue_ratelimit_acquire(c->ratelimit, w->svc->id, w->region, action);
		err->attempts = attempt;
		err->http_status = 0;
		err->code[0] = err->message[0] = err->request_id[0] = '\0';
		reason[0] = '\0';
		rc = send_signed(&resp, c, w, reason, sizeof(reason));
		if (rc == FUGUE_EAUTH || rc == FUGUE_ENOMEM || rc == FUGUE_EINVAL) {
			set_error(err, rc == FUGUE_EAUTH ? "MissingCredentials" : "ClientError", "%s",
			          reason);
			fugue_http_response_clear(&resp);
			return rc;
		}
		if (rc == FUGUE_EPROTO) {
			/* Over the size limit: the same answer would come again. */
			set_error(err, "ResponseTooLarge", "%s", reason);
			fugue_http_response_clear(&resp);
			return rc;
		}
		if (rc < 0) {
			set_error(err, rc == FUGUE_ETIMEOUT ? "RequestTimeout" : "ConnectionError", "%s",
			          reason);
			kind = fugue_retry_classify(rc, 0, err->code);
		} else if (resp.status >= 200 && resp.status < 300) {
			err->http_status = (int)resp.status;
			find_request_id(err->request_id, sizeof(err->request_id), &resp,
			                is_xml_protocol(w->svc));
			rc = parse_success(out, w, action, &resp);
			if (rc == FUGUE_EPROTO)
				explain_malformed(err, w, action, &resp);
			else if (rc < 0)
				set_error(err, "ClientError", "reading the %s response: %s", action,
				          fugue_strerror(rc));
			fugue_http_response_clear(&resp);
			fugue_retry_quota_success(&c->quota, spent);
			if (c->rate_limit)
				fugue_ratelimit_succeeded(c->ratelimit, w->svc->id, w->region, action,
				                          fugue_monotonic_ms());
			return rc;
		} else {
			parse_error_answer(err, w, &resp);
			kind = fugue_retry_classify(0, (int)resp.status, err->code);
			if (kind == FUGUE_RETRY_THROTTLE && c->rate_limit)
				fugue_ratelimit_throttled(c->ratelimit, w->svc->id, w->region, action,
				                          fugue_monotonic_ms());
		}
		fugue_http_response_clear(&resp);
		if (kind == FUGUE_RETRY_NONE || attempt >= c->max_attempts)
			break;
		if (fugue_retry_quota_acquire(&c->quota, kind, &spent) < 0)
			break;
		sleep_ms(fugue_retry_delay_ms(attempt, c->retry_base_ms, random01()));
	}
	if (rc == FUGUE_ETIMEOUT || rc == FUGUE_EIO)
		return rc;
	return fugue_aws_error_classify(err->code, err->http_status);
}

int fugue_aws_call(struct json_object **out, fugue_aws_client *client,
                   const fugue_aws_request *req, fugue_aws_error *err)
{
	fugue_aws_error local;
	wire_request w;
	char endpoint[512];
	double started = fugue_monotonic_ms();
	int rc;

	*out = NULL;
	if (!err)
		err = &local;
	reset_error(err, req ? req->service : NULL, req ? req->action : NULL);
	if (!req || req->version < 1 || !req->service || !req->action || !req->action[0]) {
		set_error(err, "ValidationError", "request needs a version, a service and an action");
		return FUGUE_EINVAL;
	}
	memset(&w, 0, sizeof(w));
	w.svc = fugue_service_find(req->service);
	if (!w.svc) {
		set_error(err, "UnknownService", "unknown aws service '%s'", req->service);
		return FUGUE_EINVAL;
	}
	w.region = req->region && req->region[0] ? req->region : client->region;
	rc = fugue_endpoint_resolve(endpoint, sizeof(endpoint), w.signing_region,
	                            sizeof(w.signing_region), w.svc, w.region, client->profile);
	if (rc < 0) {
		set_error(err, "InvalidEndpoint", "no valid endpoint for %s in %s (check AWS_ENDPOINT_URL_%s)",
		          w.svc->id, w.region, w.svc->env_suffix);
		return rc;
	}
	rc = build_request(&w, req, endpoint, err);
	if (rc == 0)
		rc = perform(out, client, &w, req->action, err);
	log_call(&w, err, rc, started);
	fugue_buf_free(&w.url);
	fugue_buf_free(&w.body);
	return rc;
}
