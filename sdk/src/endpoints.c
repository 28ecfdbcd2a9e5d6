/* endpoints.c - the services we call, with what botocore 1.43's service
 * models say of them, and where their endpoints are.
 *
 * Endpoint overrides follow the SDKs' "service-specific endpoints" feature,
 * in botocore's order: AWS_ENDPOINT_URL_<SERVICE>, AWS_ENDPOINT_URL, the
 * profile's services section ("services = NAME" and a "[services NAME]"
 * section in the config file with "<service> =" and an indented
 * "endpoint_url = ..."), the profile's endpoint_url; none of them when
 * AWS_IGNORE_CONFIGURED_ENDPOINT_URLS (or the profile's
 * ignore_configured_endpoint_urls) is true. A profile naming a services
 * section that does not exist is treated as naming an empty one.
 *
 * Default endpoints are the regional ones, also for STS and S3 (the SDKs'
 * current default); IAM, a global service, is iam.amazonaws.com signed for
 * us-east-1. Regions "cn-*" use the amazonaws.com.cn domain. Other
 * partitions' global endpoints (GovCloud's IAM, ...) are not known here:
 * set an endpoint override for them. */
#include "endpoints.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fugue/common.h"
#include "ini.h"

/* signingName is absent in these models, so it is the endpoint prefix. */
static const fugue_service services[] = {
	{ .id = "ec2", .endpoint_prefix = "ec2", .signing_name = "ec2", .env_suffix = "EC2",
	  .protocol = FUGUE_PROTO_EC2, .api_version = "2016-11-15" },
	{ .id = "iam", .endpoint_prefix = "iam", .signing_name = "iam", .env_suffix = "IAM",
	  .protocol = FUGUE_PROTO_QUERY, .api_version = "2010-05-08",
	  .global_host = "iam.amazonaws.com", .global_region = "us-east-1" },
	{ .id = "elasticloadbalancing", .endpoint_prefix = "elasticloadbalancing",
	  .signing_name = "elasticloadbalancing", .env_suffix = "ELASTIC_LOAD_BALANCING",
	  .protocol = FUGUE_PROTO_QUERY, .api_version = "2012-06-01" },
	{ .id = "lambda", .endpoint_prefix = "lambda", .signing_name = "lambda", .env_suffix = "LAMBDA",
	  .protocol = FUGUE_PROTO_REST_JSON, .api_version = "2015-03-31" },
	{ .id = "sts", .endpoint_prefix = "sts", .signing_name = "sts", .env_suffix = "STS",
	  .protocol = FUGUE_PROTO_QUERY, .api_version = "2011-06-15" },
	{ .id = "sqs", .endpoint_prefix = "sqs", .signing_name = "sqs", .env_suffix = "SQS",
	  .protocol = FUGUE_PROTO_JSON, .api_version = "2012-11-05",
	  .json_version = "1.0", .target_prefix = "AmazonSQS" },
	{ .id = "dynamodb", .endpoint_prefix = "dynamodb", .signing_name = "dynamodb",
	  .env_suffix = "DYNAMODB", .protocol = FUGUE_PROTO_JSON, .api_version = "2012-08-10",
	  .json_version = "1.0", .target_prefix = "DynamoDB_20120810" },
	{ .id = "s3", .endpoint_prefix = "s3", .signing_name = "s3", .env_suffix = "S3",
	  .protocol = FUGUE_PROTO_REST_XML, .api_version = "2006-03-01" },
	{ .id = "sns", .endpoint_prefix = "sns", .signing_name = "sns", .env_suffix = "SNS",
	  .protocol = FUGUE_PROTO_QUERY, .api_version = "2010-03-31" },
	{ .id = "cloudformation", .endpoint_prefix = "cloudformation", .signing_name = "cloudformation",
	  .env_suffix = "CLOUDFORMATION", .protocol = FUGUE_PROTO_QUERY, .api_version = "2010-05-15" },
};

const fugue_service *fugue_service_find(const char *id)
{
	size_t i;

	if (!id)
		return NULL;
	for (i = 0; i < sizeof(services) / sizeof(services[0]); i++) {
		if (strcmp(services[i].id, id) == 0)
			return &services[i];
	}
	return NULL;
}

static const char *env_value(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

/* Region names are lower-case letters, digits and '-': they go into a host. */
static int valid_region(const char *region)
{
	size_t n = strlen(region);

	return n > 0 && strspn(region, "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

static int copy_out(char *out, size_t size, const char *value)
{
	int n = snprintf(out, size, "%s", value);

	return n < 0 || (size_t)n >= size ? FUGUE_EINVAL : 0;
}

int fugue_region_resolve(char *out, size_t size, const char *explicit_region, const char *profile)
{
	char from_profile[128];
	const char *region = explicit_region && *explicit_region ? explicit_region : NULL;

	if (!out || size == 0)
		return FUGUE_EINVAL;
	out[0] = '\0';
	if (!region)
		region = env_value("AWS_REGION");
	if (!region)
		region = env_value("AWS_DEFAULT_REGION");
	if (!region && fugue_aws_profile_get(from_profile, sizeof(from_profile), profile, "region") == 0 &&
	    from_profile[0])
		region = from_profile;
	if (!region || !valid_region(region))
		return FUGUE_ECONFIG;
	return copy_out(out, size, region);
}

/* --- configured endpoints ------------------------------------------------- */

static int is_true(const char *v)
{
	return v && strcasecmp(v, "true") == 0;
}

static int ignore_configured(const char *profile)
{
	const char *env = env_value("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
	char value[16];

	if (env)
		return is_true(env);
	if (fugue_aws_profile_get(value, sizeof(value), profile, "ignore_configured_endpoint_urls") != 0)
		return 0;
	return is_true(value);
}

static int from_env(char *out, size_t size, const fugue_service *svc)
{
	char name[128];
	const char *v;

	snprintf(name, sizeof(name), "AWS_ENDPOINT_URL_%s", svc->env_suffix);
	v = env_value(name);
	if (!v)
		v = env_value("AWS_ENDPOINT_URL");
	if (!v)
		return FUGUE_ENOTFOUND;
	return copy_out(out, size, v) < 0 ? FUGUE_ECONFIG : 0;
}

/* The services section's key for SVC: its serviceId in snake case. */
static void services_key(char *out, size_t size, const fugue_service *svc)
{
	size_t i;

	for (i = 0; i + 1 < size && svc->env_suffix[i]; i++)
		out[i] = (char)(svc->env_suffix[i] >= 'A' && svc->env_suffix[i] <= 'Z'
		                ? svc->env_suffix[i] - 'A' + 'a' : svc->env_suffix[i]);
	out[i] = '\0';
}

static int from_services_section(char *out, size_t size, const fugue_service *svc, const char *profile)
{
	char name[256];
	char section[300];
	char key[64];
	char path[4096];
	int rc;

	if (fugue_aws_profile_get(name, sizeof(name), profile, "services") != 0 || !name[0])
		return FUGUE_ENOTFOUND;
	if (fugue_aws_config_path(path, sizeof(path)) != 0)
		return FUGUE_ENOTFOUND;
	snprintf(section, sizeof(section), "services %s", name);
	services_key(key, sizeof(key), svc);
	rc = fugue_ini_lookup_sub(out, size, path, section, key, "endpoint_url");
	if (rc == FUGUE_EINVAL)
		return FUGUE_ECONFIG;
	return rc == 0 && out[0] ? 0 : FUGUE_ENOTFOUND;
}

static int from_profile(char *out, size_t size, const fugue_service *svc, const char *profile)
{
	int rc = from_services_section(out, size, svc, profile);

	if (rc != FUGUE_ENOTFOUND)
		return rc;
	rc = fugue_aws_profile_get(out, size, profile, "endpoint_url");
	if (rc == FUGUE_EINVAL)
		return FUGUE_ECONFIG;
	return rc == 0 && out[0] ? 0 : FUGUE_ENOTFOUND;
}

/* Accepts an http(s) URL with a host and strips its trailing slashes. */
static int check_override(char *url)
{
	size_t n;
	size_t scheme;

	if (strncasecmp(url, "http://", 7) == 0)
		scheme = 7;
	else if (strncasecmp(url, "https://", 8) == 0)
		scheme = 8;
	else
		return FUGUE_ECONFIG;
	n = strlen(url);
	while (n > scheme && url[n - 1] == '/')
		n--;
	url[n] = '\0';
	if (n == scheme || strpbrk(url, " \t\r\n"))
		return FUGUE_ECONFIG;
	return 0;
}

/* A configured endpoint: 0, FUGUE_ENOTFOUND (none) or FUGUE_ECONFIG. */
static int configured_endpoint(char *url, size_t size, const fugue_service *svc, const char *profile)
{
	int rc;

	if (ignore_configured(profile))
		return FUGUE_ENOTFOUND;
	rc = from_env(url, size, svc);
	if (rc == FUGUE_ENOTFOUND)
		rc = from_profile(url, size, svc, profile);
	if (rc < 0)
		return rc;
	return check_override(url);
}

/* --- default endpoints ---------------------------------------------------- */

static const char *dns_suffix(const char *region)
{
	return strncmp(region, "cn-", 3) == 0 ? "amazonaws.com.cn" : "amazonaws.com";
}

/* The global host applies in the aws partition only. */
static int uses_global_host(const fugue_service *svc, const char *region)
{
	if (!svc->global_host)
		return 0;
	return !region || !*region || strcmp(dns_suffix(region), "amazonaws.com") == 0;
}

static int default_endpoint(char *url, size_t size, const fugue_service *svc, const char *region)
{
	int n;

	if (uses_global_host(svc, region))
		n = snprintf(url, size, "https://%s", svc->global_host);
	else
		n = snprintf(url, size, "https://%s.%s.%s", svc->endpoint_prefix, region, dns_suffix(region));
	return n < 0 || (size_t)n >= size ? FUGUE_EINVAL : 0;
}

static const char *signing_region_of(const fugue_service *svc, const char *region)
{
	if (uses_global_host(svc, region))
		return svc->global_region;
	return region;
}

int fugue_endpoint_resolve(char *url, size_t url_size, char *signing_region, size_t region_size,
                           const fugue_service *svc, const char *region, const char *profile)
{
	int has_region = region && *region;
	int rc;

	if (!url || url_size == 0 || !signing_region || region_size == 0 || !svc)
		return FUGUE_EINVAL;
	url[0] = '\0';
	signing_region[0] = '\0';
	if (has_region && !valid_region(region))
		return FUGUE_ECONFIG;
	if (!has_region && !uses_global_host(svc, region))
		return FUGUE_ECONFIG;
	rc = configured_endpoint(url, url_size, svc, fugue_aws_profile_name(profile));
	if (rc == FUGUE_ENOTFOUND)
		rc = default_endpoint(url, url_size, svc, region);
	if (rc < 0) {
		url[0] = '\0';
		return rc;
	}
	return copy_out(signing_region, region_size, signing_region_of(svc, region));
}
