/* fugue/aws.h - the AWS client every planner and the Conductor use.
 *
 * One client per process, shared by all threads. It resolves credentials
 * (environment, shared files with AWS_PROFILE, EC2 instance role through
 * IMDSv2), the region and each service's endpoint (AWS_ENDPOINT_URL and
 * AWS_ENDPOINT_URL_<SERVICE> override), signs with SigV4, retries as the AWS
 * SDKs' standard mode, rate-limits per service, region and action class, and
 * logs every call at debug level (never a credential).
 *
 * Requests and responses are json-c trees whatever the wire protocol:
 *  - query protocols (ec2, iam, elasticloadbalancing, sts, sns,
 *    cloudformation): PARAMS is a tree using the wire names, flattened by the
 *    SDK ({"Filter":[{"Name":"vpc-id","Value":["vpc-1"]}]} becomes
 *    Filter.1.Name=vpc-id&Filter.1.Value.1=vpc-1 for EC2 and
 *    Tags.member.1.Key=... for the other query services). The XML response
 *    becomes a tree rooted at the result element (for EC2 the response
 *    element, for the others <ActionResult>); elements whose children are all
 *    <item>, <member> or <entry> become arrays, every leaf a string, and an
 *    empty element an empty string (fugue_aws_list() reads it as empty).
 *  - rest-json (lambda): METHOD, PATH and QUERY are sent as given, PARAMS is
 *    the JSON body; the parsed JSON body is the response (an empty body is {}).
 *  - json (dynamodb, sqs): PARAMS is the body; X-Amz-Target is built from
 *    the service's target prefix and ACTION.
 */
#ifndef FUGUE_AWS_H
#define FUGUE_AWS_H

#include <stddef.h>
#include "fugue/common.h"

#ifdef __cplusplus
extern "C" {
#endif

struct json_object;

/* Diagnostics of one call, filled on failure (and attempts always).
 * Strings are NUL-terminated and truncated to fit. */
typedef struct fugue_aws_error {
	int http_status;        /* 0 when no HTTP answer came back */
	char code[128];         /* AWS error code ("InvalidVpcID.NotFound"), or a
	                           transport one ("ConnectionError", "RequestTimeout") */
	char message[512];      /* AWS's message, or the transport's reason */
	char request_id[128];   /* AWS request id, empty when none */
	char service[32];       /* service id the call went to */
	char action[64];        /* operation name */
	int attempts;           /* HTTP attempts made, retries included */
} fugue_aws_error;

/* Formats "ACTION: CODE: MESSAGE (HTTP n, request id R)" into BUF. */
FUGUE_API void fugue_aws_error_format(char *buf, size_t size, const fugue_aws_error *err);

/* Maps an AWS error code to a result code: *NotFound*, NoSuchEntity,
 * ResourceNotFoundException -> FUGUE_ENOTFOUND; throttling and 5xx ->
 * FUGUE_ERETRY; AuthFailure, SignatureDoesNotMatch, AccessDenied... ->
 * FUGUE_EAUTH; *AlreadyExists*, DependencyViolation, ResourceConflict... ->
 * FUGUE_ECONFLICT; anything else FUGUE_EAWS. */
FUGUE_API int fugue_aws_error_classify(const char *code, int http_status);

#define FUGUE_AWS_CONFIG_VERSION 1

/* Client options. Zero / NULL members take the AWS SDK defaults. */
typedef struct fugue_aws_config {
	unsigned int version;     /* FUGUE_AWS_CONFIG_VERSION */
	const char *region;       /* NULL: AWS_REGION, AWS_DEFAULT_REGION, profile */
	const char *profile;      /* NULL: AWS_PROFILE, else "default" */
	int max_attempts;         /* 0: AWS_MAX_ATTEMPTS, else 3 */
	long connect_timeout_ms;  /* 0: 3100 */
	long timeout_ms;          /* 0: 60000, per attempt */
	long retry_base_ms;       /* 0: 1000; the backoff unit (tests shrink it) */
	int disable_rate_limit;   /* nonzero: no client-side token buckets */
} fugue_aws_config;

#define FUGUE_AWS_CONFIG_INIT { FUGUE_AWS_CONFIG_VERSION, NULL, NULL, 0, 0, 0, 0, 0 }

typedef struct fugue_aws_client fugue_aws_client;

/* Creates a client. Credentials are looked up now (so a missing one is
 * reported at start, naming every source tried) and refreshed before they
 * expire. *OUT is the caller's, freed with fugue_aws_client_free().
 * Errors: FUGUE_EAUTH (no credentials), FUGUE_ECONFIG (no region, bad
 * endpoint override or profile), FUGUE_ENOMEM; details in ERR (may be NULL). */
FUGUE_API int fugue_aws_client_new(fugue_aws_client **out, const fugue_aws_config *config,
                                   fugue_aws_error *err);
FUGUE_API void fugue_aws_client_free(fugue_aws_client *client);

/* The client's default region. Borrowed, valid while the client lives. */
FUGUE_API const char *fugue_aws_client_region(const fugue_aws_client *client);

/* The endpoint URL used for SERVICE in REGION (NULL: the client's), written
 * into BUF. Returns 0, FUGUE_EINVAL for an unknown service. */
FUGUE_API int fugue_aws_client_endpoint(char *buf, size_t size, const fugue_aws_client *client,
                                        const char *service, const char *region);

#define FUGUE_AWS_REQUEST_VERSION 1

/* One operation. Everything is borrowed for the duration of the call. */
typedef struct fugue_aws_request {
	unsigned int version;            /* FUGUE_AWS_REQUEST_VERSION */
	const char *service;             /* "ec2", "iam", "elasticloadbalancing", "lambda",
	                                    "sts", "sqs", "dynamodb", "s3", "sns", "cloudformation" */
	const char *region;              /* NULL: the client's region */
	const char *action;              /* operation name, e.g. "DescribeVpcs", "CreateFunction" */
	const struct json_object *params;/* query parameters / JSON body; NULL: none */
	/* rest-json only */
	const char *method;              /* "GET", "POST", "PUT", "DELETE" */
	const char *path;                /* already URI-encoded, e.g. "/2015-03-31/functions/" */
	const struct json_object *query; /* object of string values for the query string; NULL: none */
} fugue_aws_request;

#define FUGUE_AWS_REQUEST_INIT { FUGUE_AWS_REQUEST_VERSION, NULL, NULL, NULL, NULL, NULL, NULL, NULL }

/* Performs REQ with signing, retries and rate limiting. On success *OUT is a
 * new tree owned by the caller (json_object_put() it). On failure *OUT is
 * NULL, ERR (may be NULL) has the code, message and request id, and the
 * result is fugue_aws_error_classify()'s, FUGUE_EIO / FUGUE_ETIMEOUT for
 * transport failures or FUGUE_EPROTO for an unparseable answer. */
FUGUE_API int fugue_aws_call(struct json_object **out, fugue_aws_client *client,
                             const fugue_aws_request *req, fugue_aws_error *err);

/* How an operation pages (names as in botocore's paginators-1.json). */
typedef struct fugue_aws_paginator {
	const char *input_token;   /* request parameter: "NextToken", "Marker" */
	const char *output_token;  /* response path of the next token: "nextToken", "NextMarker" */
	const char *result_key;    /* response path of the list to merge: "vpcSet", "Roles" */
	const char *more_results;  /* response path of a "true"/"false" flag, or NULL */
} fugue_aws_paginator;

/* Calls REQ page after page (at most MAX_PAGES, 0 = no limit) and returns one
 * response whose RESULT_KEY array holds every page's items, other members
 * taken from the first page. Ownership and errors as fugue_aws_call(). */
FUGUE_API int fugue_aws_call_all(struct json_object **out, fugue_aws_client *client,
                                 const fugue_aws_request *req, const fugue_aws_paginator *pager,
                                 int max_pages, fugue_aws_error *err);

/* Reading response trees. PATH is dot-separated member names
 * ("instancesSet.0.instanceId": a number indexes an array). All results are
 * borrowed from ROOT. */
FUGUE_API struct json_object *fugue_aws_get(const struct json_object *root, const char *path);
/* The string at PATH, or NULL when missing or not a string. */
FUGUE_API const char *fugue_aws_get_string(const struct json_object *root, const char *path);
/* The array at PATH, or NULL when missing, empty ("" from an empty XML
 * element) or not an array. */
FUGUE_API struct json_object *fugue_aws_list(const struct json_object *root, const char *path);

/* Writes S into BUF percent-encoded as AWS wants (unreserved A-Z a-z 0-9 - _ . ~
 * kept, everything else %XX); '/' kept when KEEP_SLASH. Returns the length, or
 * FUGUE_EINVAL when it does not fit. For rest-json path segments. */
FUGUE_API int fugue_aws_uri_encode(char *buf, size_t size, const char *s, int keep_slash);

#ifdef __cplusplus
}
#endif
#endif
