/* test_endpoints.c - the service table, region and endpoint resolution,
 * and the INI reader of the shared files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "endpoints.h"
#include "fugue/common.h"
#include "ini.h"
#include "testmain.h"

static char *tmp;
static char *config_path;

/* Our ten services: id, endpoint prefix, env suffix, protocol, API version. */
typedef struct expected_service {
	const char *id;
	const char *prefix;
	const char *suffix;
	fugue_protocol protocol;
	const char *api_version;
} expected_service;

static const expected_service expected[] = {
	{ "ec2", "ec2", "EC2", FUGUE_PROTO_EC2, "2016-11-15" },
	{ "iam", "iam", "IAM", FUGUE_PROTO_QUERY, "2010-05-08" },
	{ "elasticloadbalancing", "elasticloadbalancing", "ELASTIC_LOAD_BALANCING", FUGUE_PROTO_QUERY, "2012-06-01" },
	{ "lambda", "lambda", "LAMBDA", FUGUE_PROTO_REST_JSON, "2015-03-31" },
	{ "sts", "sts", "STS", FUGUE_PROTO_QUERY, "2011-06-15" },
	{ "sqs", "sqs", "SQS", FUGUE_PROTO_JSON, "2012-11-05" },
	{ "dynamodb", "dynamodb", "DYNAMODB", FUGUE_PROTO_JSON, "2012-08-10" },
	{ "s3", "s3", "S3", FUGUE_PROTO_REST_XML, "2006-03-01" },
	{ "sns", "sns", "SNS", FUGUE_PROTO_QUERY, "2010-03-31" },
	{ "cloudformation", "cloudformation", "CLOUDFORMATION", FUGUE_PROTO_QUERY, "2010-05-15" },
};

#define NSERVICES (sizeof(expected) / sizeof(expected[0]))

static void setup(void)
{
	static const char *const cleared[] = {
		"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_ENDPOINT_URL",
		"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "AWS_SHARED_CREDENTIALS_FILE",
	};
	char name[128];
	size_t i;

	tmp = fugue_test_tmpdir();
	if (asprintf(&config_path, "%s/config", tmp) < 0)
		abort();
	for (i = 0; i < sizeof(cleared) / sizeof(cleared[0]); i++)
		unsetenv(cleared[i]);
	for (i = 0; i < NSERVICES; i++) {
		snprintf(name, sizeof(name), "AWS_ENDPOINT_URL_%s", expected[i].suffix);
		unsetenv(name);
	}
	setenv("HOME", tmp, 1);
	setenv("AWS_CONFIG_FILE", config_path, 1);
}

static void teardown(void)
{
	fugue_test_rmtree(tmp);
	free(tmp);
	free(config_path);
	tmp = config_path = NULL;
}

static void write_config(const char *content)
{
	free(fugue_test_write_file(tmp, "config", content));
}

/* Resolves ID's endpoint in REGION for PROFILE (NULL: the default). */
static int resolve(char *url, char *signing, const char *id, const char *region, const char *profile)
{
	const fugue_service *svc = fugue_service_find(id);

	CU_ASSERT_PTR_NOT_NULL_FATAL(svc);
	return fugue_endpoint_resolve(url, 256, signing, 64, svc, region, profile);
}

/* --- the table ------------------------------------------------------------ */

static void test_table(void)
{
	const fugue_service *s;
	size_t i;

	for (i = 0; i < NSERVICES; i++) {
		s = fugue_service_find(expected[i].id);
		CU_ASSERT_PTR_NOT_NULL_FATAL(s);
		CU_ASSERT_STRING_EQUAL(s->id, expected[i].id);
		CU_ASSERT_STRING_EQUAL(s->endpoint_prefix, expected[i].prefix);
		CU_ASSERT_STRING_EQUAL(s->signing_name, expected[i].prefix);
		CU_ASSERT_STRING_EQUAL(s->env_suffix, expected[i].suffix);
		CU_ASSERT_EQUAL(s->protocol, expected[i].protocol);
		CU_ASSERT_STRING_EQUAL(s->api_version, expected[i].api_version);
		if (s->protocol == FUGUE_PROTO_JSON) {
			CU_ASSERT_STRING_EQUAL(s->json_version, "1.0");
			CU_ASSERT_PTR_NOT_NULL(s->target_prefix);
		} else {
			CU_ASSERT_PTR_NULL(s->json_version);
			CU_ASSERT_PTR_NULL(s->target_prefix);
		}
	}
	CU_ASSERT_STRING_EQUAL(fugue_service_find("sqs")->target_prefix, "AmazonSQS");
	CU_ASSERT_STRING_EQUAL(fugue_service_find("dynamodb")->target_prefix, "DynamoDB_20120810");
	CU_ASSERT_STRING_EQUAL(fugue_service_find("iam")->global_host, "iam.amazonaws.com");
	CU_ASSERT_STRING_EQUAL(fugue_service_find("iam")->global_region, "us-east-1");
	CU_ASSERT_PTR_NULL(fugue_service_find("sts")->global_host);
	CU_ASSERT_PTR_NULL(fugue_service_find("s3")->global_host);
	CU_ASSERT_PTR_NULL(fugue_service_find("elb"));
	CU_ASSERT_PTR_NULL(fugue_service_find("nosuch"));
	CU_ASSERT_PTR_NULL(fugue_service_find(NULL));
}

/* --- default endpoints ------------------------------------------------------ */

static void test_default_endpoints(void)
{
	static const char *const regions[] = { "us-east-1", "ap-southeast-2" };
	char url[256];
	char signing[64];
	char want[256];
	size_t i;
	size_t r;

	for (r = 0; r < 2; r++) {
		for (i = 0; i < NSERVICES; i++) {
			CU_ASSERT_EQUAL(resolve(url, signing, expected[i].id, regions[r], NULL), 0);
			if (strcmp(expected[i].id, "iam") == 0) {
				CU_ASSERT_STRING_EQUAL(url, "https://iam.amazonaws.com");
				CU_ASSERT_STRING_EQUAL(signing, "us-east-1");
				continue;
			}
			snprintf(want, sizeof(want), "https://%s.%s.amazonaws.com", expected[i].prefix, regions[r]);
			CU_ASSERT_STRING_EQUAL(url, want);
			CU_ASSERT_STRING_EQUAL(signing, regions[r]);
		}
	}
	CU_ASSERT_EQUAL(resolve(url, signing, "sts", "eu-west-1", NULL), 0);
	CU_ASSERT_STRING_EQUAL(url, "https://sts.eu-west-1.amazonaws.com");
	CU_ASSERT_EQUAL(resolve(url, signing, "ec2", "cn-north-1", NULL), 0);
	CU_ASSERT_STRING_EQUAL(url, "https://ec2.cn-north-1.amazonaws.com.cn");
}

static void test_iam_global(void)
{
	char url[256];
	char signing[64];

	CU_ASSERT_EQUAL(resolve(url, signing, "iam", "eu-west-1", NULL), 0);
	CU_ASSERT_STRING_EQUAL(url, "https://iam.amazonaws.com");
	CU_ASSERT_STRING_EQUAL(signing, "us-east-1");
	/* Even through an override, IAM signs for us-east-1. */
	setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:5000", 1);
	CU_ASSERT_EQUAL(resolve(url, signing, "iam", "eu-west-1", NULL), 0);
	CU_ASSERT_STRING_EQUAL(url, "http://127.0.0.1:5000");
	CU_ASSERT_STRING_EQUAL(signing, "us-east-1");
	/* A regional service without a region is a configuration error. */
	CU_ASSERT_EQUAL(resolve(url, signing, "ec2", NULL, NULL), FUGUE_ECONFIG);
	CU_ASSERT_EQUAL(resolve(url, signing, "ec2", "", NULL), FUGUE_ECONFIG);
	CU_ASSERT_EQUAL(resolve(url, signing, "ec2", "us-east-1/evil", NULL), FUGUE_ECONFIG);
}

/* --- configured endpoints --------------------------------------------------- */

static void test_endpoint_url_env(void)
{
	char url[256];
	char signing[64];

	setenv("AWS_ENDPOINT_URL", "http://localhost:5000/", 1);
	CU_ASSERT_EQUAL(resolve(url, signing, "ec2", "eu-west-1", NULL), 0);
	CU_ASSERT_STRING_EQUAL(url, "http://localhost:5000");
	CU_ASSERT_STRING_EQUAL(signing, "eu-west-1");
	setenv("AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING", "https://elb.example.test:8443//", 1);
	CU_ASSERT_EQUAL(resolve(url, signing, "elasticloadbalancing", "eu-west-1", NULL), 0);
	CU_ASSERT_STRING_EQUAL(url, "https://elb.example.test:8443");
	CU_ASSERT_EQUAL(resolve(url, signing, "ec2", "eu-west-1", NULL), 0);
	CU_ASSERT_STRING_EQUAL(url, "http://localhost:5000");
	/* An empty variable counts as unset. */
	setenv("AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING", "", 1);
	CU_ASSERT_EQUAL(resolve(url, signing, "elasticloadbalancing", "eu-west-1", NULL), 0);
	CU_ASSERT_STRING_EQUAL(url, "http://localhost:5000");
}

static void test_profile_endpoint_url(void)
{
	char url[256];
	char signing[64];

	write_config("[default]\nendpoint_url = http://default.test:1/\n"
	             "[profile dev]\nendpoint_url = http://dev.test:2\n");
	CU_ASSERT_EQUAL(resolve(url, signing, "sqs", "us-east-1", NULL), 0);
	CU_ASSERT_STRING_EQUAL(url, "http://default.test:1");
	CU_ASSERT_EQUAL(resolve(url, signing, "sqs", "us-east-1", "dev"), 0);
	CU_ASSERT_STRING_EQUAL(url, "http://dev.test:2");
	setenv("AWS_PROFILE", "dev", 1);
	CU_ASSERT_EQUAL(resolve(url, signing, "sqs", "us-east-1", NULL), 0);
	CU_ASSERT_STRING_EQUAL(url, "http://dev.test:2");
	/* The environment beats the profile. */
	setenv("AWS_ENDPOINT_URL", "http://env.test:3", 1);
	CU_ASSERT_EQUAL(resolve(url, signing, "sqs", "us-east-1", NULL), 0);
	CU_ASSERT_STRING_EQUAL(url, "http://env.test:3");
}

static void test_services_section(void)
{
	char url[256];
	char signing[64];

	write_config("[profile local]\n"
	             "services = moto\n"
	             "endpoint_url = http://all.test:1\n"
	             "[services moto]\n"
	             "elastic_load_balancing =\n"
	             "  endpoint_url = http://elb.test:2/\n"
	             "ec2 =\n"
	             "  region = ignored\n"
	             "  endpoint_url = http://ec2.test:3\n");
	CU_ASSERT_EQUAL(resolve(url, signing, "elasticloadbalancing", "us-east-1", "local"), 0);
	CU_ASSERT_STRING_EQUAL(url, "http://elb.test:2");
	CU_ASSERT_EQUAL(resolve(url, signing, "ec2", "us-east-1", "local"), 0);
	CU_ASSERT_STRING_EQUAL(url, "http://ec2.test:3");
	CU_ASSERT_EQUAL(resolve(url, signing, "lambda", "us-east-1", "local"), 0);
	CU_ASSERT_STRING_EQUAL(url, "http://all.test:1");
	/* The service's variable beats the services section. */
	setenv("AWS_ENDPOINT_URL_EC2", "http://ec2env.test:4", 1);
	CU_ASSERT_EQUAL(resolve(url, signing, "ec2", "us-east-1", "local"), 0);
	CU_ASSERT_STRING_EQUAL(url, "http://ec2env.test:4");
}

static void test_ignore_flag(void)
{
	char url[256];
	char signing[64];

	write_config("[default]\nendpoint_url = http://profile.test:1\n");
	setenv("AWS_ENDPOINT_URL", "http://env.test:2", 1);
	setenv("AWS_ENDPOINT_URL_S3", "http://s3.test:3", 1);
	setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true", 1);
	CU_ASSERT_EQUAL(resolve(url, signing, "s3", "eu-west-1", NULL), 0);
	CU_ASSERT_STRING_EQUAL(url, "https://s3.eu-west-1.amazonaws.com");
	CU_ASSERT_EQUAL(resolve(url, signing, "dynamodb", "eu-west-1", NULL), 0);
	CU_ASSERT_STRING_EQUAL(url, "https://dynamodb.eu-west-1.amazonaws.com");
	unsetenv("AWS_ENDPOINT_URL");
	unsetenv("AWS_ENDPOINT_URL_S3");
	CU_ASSERT_EQUAL(resolve(url, signing, "sns", "eu-west-1", NULL), 0);
	CU_ASSERT_STRING_EQUAL(url, "https://sns.eu-west-1.amazonaws.com");
	/* The profile setting, and the variable overriding it. */
	unsetenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
	write_config("[default]\nendpoint_url = http://profile.test:1\nignore_configured_endpoint_urls = true\n");
	CU_ASSERT_EQUAL(resolve(url, signing, "sns", "eu-west-1", NULL), 0);
	CU_ASSERT_STRING_EQUAL(url, "https://sns.eu-west-1.amazonaws.com");
	setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "false", 1);
	CU_ASSERT_EQUAL(resolve(url, signing, "sns", "eu-west-1", NULL), 0);
	CU_ASSERT_STRING_EQUAL(url, "http://profile.test:1");
}

static void test_bad_override(void)
{
	static const char *const bad[] = {
		"localhost:5000", "ftp://example.test", "http://", "https:///", "http://a b", "//x.test",
	};
	char url[256];
	char signing[64];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		setenv("AWS_ENDPOINT_URL_CLOUDFORMATION", bad[i], 1);
		CU_ASSERT_EQUAL(resolve(url, signing, "cloudformation", "us-east-1", NULL), FUGUE_ECONFIG);
		CU_ASSERT_STRING_EQUAL(url, "");
	}
	unsetenv("AWS_ENDPOINT_URL_CLOUDFORMATION");
	write_config("[default]\nendpoint_url = moto:5000\n");
	CU_ASSERT_EQUAL(resolve(url, signing, "cloudformation", "us-east-1", NULL), FUGUE_ECONFIG);
	setenv("AWS_ENDPOINT_URL", "HTTP://UPPER.test", 1);
	CU_ASSERT_EQUAL(resolve(url, signing, "cloudformation", "us-east-1", NULL), 0);
	CU_ASSERT_STRING_EQUAL(url, "HTTP://UPPER.test");
}

/* --- regions ---------------------------------------------------------------- */

static void test_region(void)
{
	char region[64];

	CU_ASSERT_EQUAL(fugue_region_resolve(region, sizeof(region), NULL, NULL), FUGUE_ECONFIG);
	write_config("[default]\nregion = eu-north-1\n[profile dev]\nregion = ap-south-1\n");
	CU_ASSERT_EQUAL(fugue_region_resolve(region, sizeof(region), NULL, NULL), 0);
	CU_ASSERT_STRING_EQUAL(region, "eu-north-1");
	CU_ASSERT_EQUAL(fugue_region_resolve(region, sizeof(region), NULL, "dev"), 0);
	CU_ASSERT_STRING_EQUAL(region, "ap-south-1");
	setenv("AWS_PROFILE", "dev", 1);
	CU_ASSERT_EQUAL(fugue_region_resolve(region, sizeof(region), NULL, NULL), 0);
	CU_ASSERT_STRING_EQUAL(region, "ap-south-1");
	setenv("AWS_DEFAULT_REGION", "us-west-1", 1);
	CU_ASSERT_EQUAL(fugue_region_resolve(region, sizeof(region), NULL, NULL), 0);
	CU_ASSERT_STRING_EQUAL(region, "us-west-1");
	setenv("AWS_REGION", "us-west-2", 1);
	CU_ASSERT_EQUAL(fugue_region_resolve(region, sizeof(region), NULL, NULL), 0);
	CU_ASSERT_STRING_EQUAL(region, "us-west-2");
	CU_ASSERT_EQUAL(fugue_region_resolve(region, sizeof(region), "eu-central-1", NULL), 0);
	CU_ASSERT_STRING_EQUAL(region, "eu-central-1");
	CU_ASSERT_EQUAL(fugue_region_resolve(region, sizeof(region), "", NULL), 0);
	CU_ASSERT_STRING_EQUAL(region, "us-west-2");
	CU_ASSERT_EQUAL(fugue_region_resolve(region, sizeof(region), "Not A Region", NULL), FUGUE_ECONFIG);
	unsetenv("AWS_REGION");
	unsetenv("AWS_DEFAULT_REGION");
	unsetenv("AWS_PROFILE");
	CU_ASSERT_EQUAL(fugue_region_resolve(region, sizeof(region), NULL, "nosuch"), FUGUE_ECONFIG);
	CU_ASSERT_STRING_EQUAL(region, "");
}

/* --- the INI reader --------------------------------------------------------- */

static const char sample[] =
	"# leading comment\n"
	"top = before any section\n"
	"[default]\n"
	"region=us-east-1\n"
	"  ; indented comment\n"
	"output = json   # inline comment\n"
	"hash = a#b;c\n"
	"s3 =\n"
	"  max_concurrent_requests = 10\n"
	"\n"
	"  addressing_style = path\n"
	"empty =\n"
	"AWS_Access_Key_ID = MixedCase\n"
	"dup = first\n"
	"dup = second\n"
	"cr = value\r\n"
	"noequals\n"
	"[profile   spaced ] ; header comment\n"
	"  region = eu-west-3\n"
	"  output = text\n"
	"[other]\n"
	"region = sa-east-1\n";

static void test_ini_basics(void)
{
	char *path = fugue_test_write_file(tmp, "ini", sample);
	char v[64];

	CU_ASSERT_EQUAL(fugue_ini_lookup(v, sizeof(v), path, "default", "region"), 0);
	CU_ASSERT_STRING_EQUAL(v, "us-east-1");
	CU_ASSERT_EQUAL(fugue_ini_lookup(v, sizeof(v), path, "default", "output"), 0);
	CU_ASSERT_STRING_EQUAL(v, "json");
	CU_ASSERT_EQUAL(fugue_ini_lookup(v, sizeof(v), path, "default", "hash"), 0);
	CU_ASSERT_STRING_EQUAL(v, "a#b;c");
	CU_ASSERT_EQUAL(fugue_ini_lookup(v, sizeof(v), path, "default", "empty"), 0);
	CU_ASSERT_STRING_EQUAL(v, "");
	CU_ASSERT_EQUAL(fugue_ini_lookup(v, sizeof(v), path, "default", "aws_access_key_id"), 0);
	CU_ASSERT_STRING_EQUAL(v, "MixedCase");
	CU_ASSERT_EQUAL(fugue_ini_lookup(v, sizeof(v), path, "default", "dup"), 0);
	CU_ASSERT_STRING_EQUAL(v, "second");
	CU_ASSERT_EQUAL(fugue_ini_lookup(v, sizeof(v), path, "default", "cr"), 0);
	CU_ASSERT_STRING_EQUAL(v, "value");
	/* Section names keep their case; keys of other sections do not leak. */
	CU_ASSERT_EQUAL(fugue_ini_lookup(v, sizeof(v), path, "Default", "region"), FUGUE_ENOTFOUND);
	CU_ASSERT_EQUAL(fugue_ini_lookup(v, sizeof(v), path, "other", "region"), 0);
	CU_ASSERT_STRING_EQUAL(v, "sa-east-1");
	CU_ASSERT_EQUAL(fugue_ini_lookup(v, sizeof(v), path, "other", "output"), FUGUE_ENOTFOUND);
	CU_ASSERT_EQUAL(fugue_ini_lookup(v, sizeof(v), path, "default", "top"), FUGUE_ENOTFOUND);
	CU_ASSERT_EQUAL(fugue_ini_lookup(v, sizeof(v), path, "default", "noequals"), FUGUE_ENOTFOUND);
	/* Whitespace in headers; keys indented alike are siblings. */
	CU_ASSERT_EQUAL(fugue_ini_lookup(v, sizeof(v), path, "profile spaced", "output"), 0);
	CU_ASSERT_STRING_EQUAL(v, "text");
	/* A value too long for the buffer. */
	CU_ASSERT_EQUAL(fugue_ini_lookup(v, 4, path, "default", "region"), FUGUE_EINVAL);
	/* Missing file, section, key. */
	CU_ASSERT_EQUAL(fugue_ini_lookup(v, sizeof(v), "/nonexistent/fugue/ini", "default", "region"),
	                FUGUE_ENOTFOUND);
	CU_ASSERT_EQUAL(fugue_ini_lookup(v, sizeof(v), path, "nosuch", "region"), FUGUE_ENOTFOUND);
	CU_ASSERT_EQUAL(fugue_ini_lookup(v, sizeof(v), path, "default", "nosuch"), FUGUE_ENOTFOUND);
	free(path);
}

static void test_ini_nested(void)
{
	char *path = fugue_test_write_file(tmp, "ini", sample);
	char v[64];

	/* Nested sub-section lines are not keys of the section. */
	CU_ASSERT_EQUAL(fugue_ini_lookup(v, sizeof(v), path, "default", "max_concurrent_requests"),
	                FUGUE_ENOTFOUND);
	CU_ASSERT_EQUAL(fugue_ini_lookup(v, sizeof(v), path, "default", "addressing_style"), FUGUE_ENOTFOUND);
	CU_ASSERT_EQUAL(fugue_ini_lookup(v, sizeof(v), path, "default", "s3"), 0);
	CU_ASSERT_STRING_EQUAL(v, "");
	/* But they can be asked for as such, across a blank line. */
	CU_ASSERT_EQUAL(fugue_ini_lookup_sub(v, sizeof(v), path, "default", "s3", "max_concurrent_requests"), 0);
	CU_ASSERT_STRING_EQUAL(v, "10");
	CU_ASSERT_EQUAL(fugue_ini_lookup_sub(v, sizeof(v), path, "default", "s3", "addressing_style"), 0);
	CU_ASSERT_STRING_EQUAL(v, "path");
	CU_ASSERT_EQUAL(fugue_ini_lookup_sub(v, sizeof(v), path, "default", "s3", "region"), FUGUE_ENOTFOUND);
	CU_ASSERT_EQUAL(fugue_ini_lookup_sub(v, sizeof(v), path, "default", "output", "x"), FUGUE_ENOTFOUND);
	free(path);
}

static void test_paths_and_profiles(void)
{
	char path[512];
	char want[512];
	char v[64];

	setenv("AWS_CONFIG_FILE", "~/elsewhere/config", 1);
	CU_ASSERT_EQUAL(fugue_aws_config_path(path, sizeof(path)), 0);
	snprintf(want, sizeof(want), "%s/elsewhere/config", tmp);
	CU_ASSERT_STRING_EQUAL(path, want);
	unsetenv("AWS_CONFIG_FILE");
	CU_ASSERT_EQUAL(fugue_aws_config_path(path, sizeof(path)), 0);
	snprintf(want, sizeof(want), "%s/.aws/config", tmp);
	CU_ASSERT_STRING_EQUAL(path, want);
	CU_ASSERT_EQUAL(fugue_aws_credentials_path(path, sizeof(path)), 0);
	snprintf(want, sizeof(want), "%s/.aws/credentials", tmp);
	CU_ASSERT_STRING_EQUAL(path, want);
	CU_ASSERT_EQUAL(fugue_aws_credentials_path(path, 8), FUGUE_EINVAL);

	CU_ASSERT_STRING_EQUAL(fugue_aws_profile_name(NULL), "default");
	setenv("AWS_PROFILE", "envprof", 1);
	CU_ASSERT_STRING_EQUAL(fugue_aws_profile_name(NULL), "envprof");
	CU_ASSERT_STRING_EQUAL(fugue_aws_profile_name(""), "envprof");
	CU_ASSERT_STRING_EQUAL(fugue_aws_profile_name("given"), "given");
	unsetenv("AWS_PROFILE");

	/* ~/.aws/config through HOME; "[profile default]" beats "[default]". */
	snprintf(want, sizeof(want), "%s/.aws", tmp);
	CU_ASSERT_EQUAL_FATAL(mkdir(want, 0700), 0);
	free(fugue_test_write_file(want, "config",
	                           "[default]\nregion = us-east-1\noutput = json\n"
	                           "[profile default]\nregion = eu-west-1\n"));
	CU_ASSERT_EQUAL(fugue_aws_profile_get(v, sizeof(v), NULL, "region"), 0);
	CU_ASSERT_STRING_EQUAL(v, "eu-west-1");
	CU_ASSERT_EQUAL(fugue_aws_profile_get(v, sizeof(v), "default", "output"), 0);
	CU_ASSERT_STRING_EQUAL(v, "json");
	CU_ASSERT_EQUAL(fugue_aws_profile_get(v, sizeof(v), "other", "region"), FUGUE_ENOTFOUND);
}

static int suite_noop(void)
{
	return 0;
}

int fugue_test_register(void)
{
	CU_pSuite s = CU_add_suite_with_setup_and_teardown("endpoints", suite_noop, suite_noop,
	                                                   setup, teardown);
	CU_pSuite i = CU_add_suite_with_setup_and_teardown("ini", suite_noop, suite_noop, setup, teardown);

	if (!s || !i)
		return 1;
	CU_add_test(s, "service table", test_table);
	CU_add_test(s, "default endpoints", test_default_endpoints);
	CU_add_test(s, "iam is global", test_iam_global);
	CU_add_test(s, "AWS_ENDPOINT_URL and per service", test_endpoint_url_env);
	CU_add_test(s, "profile endpoint_url", test_profile_endpoint_url);
	CU_add_test(s, "services section", test_services_section);
	CU_add_test(s, "ignore configured endpoints", test_ignore_flag);
	CU_add_test(s, "bad override", test_bad_override);
	CU_add_test(s, "region", test_region);
	CU_add_test(i, "basics", test_ini_basics);
	CU_add_test(i, "nested sub-sections", test_ini_nested);
	CU_add_test(i, "paths and profiles", test_paths_and_profiles);
	return 0;
}
