/* endpoints.h - the services we call, their protocols, endpoints and
 * regions. Internal. */
#ifndef FUGUE_ENDPOINTS_H
#define FUGUE_ENDPOINTS_H

#include <stddef.h>

typedef enum fugue_protocol {
	FUGUE_PROTO_EC2,        /* EC2 query: Filter.1.Value.1 */
	FUGUE_PROTO_QUERY,      /* AWS query: Tags.member.1.Key */
	FUGUE_PROTO_REST_JSON,  /* Lambda */
	FUGUE_PROTO_JSON,       /* DynamoDB, SQS: X-Amz-Target */
	FUGUE_PROTO_REST_XML    /* S3 (endpoint only, not called yet) */
} fugue_protocol;

/* What botocore's service model says about a service (metadata block). */
typedef struct fugue_service {
	const char *id;              /* our name = botocore's model name: "ec2", "elb" is "elasticloadbalancing" */
	const char *endpoint_prefix; /* "ec2", "elasticloadbalancing", "iam", ... */
	const char *signing_name;    /* SigV4 service name */
	const char *env_suffix;      /* AWS_ENDPOINT_URL_<SUFFIX>: serviceId upper-cased, spaces as '_' */
	fugue_protocol protocol;
	const char *api_version;     /* "2016-11-15" */
	const char *json_version;    /* "1.0" for json protocol, else NULL */
	const char *target_prefix;   /* "DynamoDB_20120810", else NULL */
	const char *global_host;     /* "iam.amazonaws.com" for global services, else NULL */
	const char *global_region;   /* the signing region of a global service: "us-east-1" */
} fugue_service;

/* The service named ID, or NULL. */
const fugue_service *fugue_service_find(const char *id);

/* The region in use: EXPLICIT if non-NULL and non-empty, else AWS_REGION,
 * else AWS_DEFAULT_REGION, else the profile's "region". Returns 0, or
 * FUGUE_ECONFIG when none is set. */
int fugue_region_resolve(char *out, size_t size, const char *explicit_region, const char *profile);

/* The endpoint URL (no trailing '/') and signing region of SVC in REGION:
 * AWS_ENDPOINT_URL_<SUFFIX>, else AWS_ENDPOINT_URL, else the profile's
 * "endpoint_url" (all ignored when AWS_IGNORE_CONFIGURED_ENDPOINT_URLS is
 * true), else https://PREFIX.REGION.amazonaws.com (the global host for global
 * services). Global services always sign for GLOBAL_REGION.
 * Returns 0, or FUGUE_ECONFIG for an override that is not an http(s) URL. */
int fugue_endpoint_resolve(char *url, size_t url_size, char *signing_region, size_t region_size,
                           const fugue_service *svc, const char *region, const char *profile);

#endif
