/* test_creds.c - the credential provider chain and IMDSv2, the latter
 * against tests/tools/imds_server.py. */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "creds.h"
#include "fugue/common.h"
#include "imds.h"
#include "testmain.h"

static char *tmp;
static char *config_path;
static char *credentials_path;

static const char *const cleared[] = {
	"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
	"AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_EC2_METADATA_SERVICE_ENDPOINT",
	"AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
	"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_WEB_IDENTITY_TOKEN_FILE",
};

/* Each test starts with no credentials anywhere, shared files in a fresh
 * directory that do not exist yet, and the metadata service disabled. */
static void setup(void)
{
	size_t i;

	tmp = fugue_test_tmpdir();
	if (asprintf(&config_path, "%s/config", tmp) < 0 ||
	    asprintf(&credentials_path, "%s/credentials", tmp) < 0)
		abort();
	for (i = 0; i < sizeof(cleared) / sizeof(cleared[0]); i++)
		unsetenv(cleared[i]);
	setenv("HOME", tmp, 1);
	setenv("AWS_CONFIG_FILE", config_path, 1);
	setenv("AWS_SHARED_CREDENTIALS_FILE", credentials_path, 1);
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
}

static void teardown(void)
{
	fugue_test_rmtree(tmp);
	free(tmp);
	free(config_path);
	free(credentials_path);
	tmp = config_path = credentials_path = NULL;
}

static void write_file(const char *name, const char *content)
{
	free(fugue_test_write_file(tmp, name, content));
}

/* Resolves once through a fresh provider for PROFILE. */
static int get_once(fugue_credentials *c, const char *profile, char *errbuf, size_t errsize)
{
	fugue_creds_provider *p = NULL;
	int rc;

	if (fugue_creds_provider_new(&p, profile) != 0)
		abort();
	rc = fugue_creds_get(c, p, errbuf, errsize);
	fugue_creds_provider_free(p);
	return rc;
}

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* --- the IMDS stand-in ------------------------------------------------------ */

typedef struct imds_stub {
	pid_t pid;
	int port;
	char base[64];
} imds_stub;

static int read_port(const char *path)
{
	FILE *f = fopen(path, "r");
	int port = 0;

	if (!f)
		return 0;
	if (fscanf(f, "%d", &port) != 1)
		port = 0;
	fclose(f);
	return port;
}

/* Starts imds_server.py with ARGS (NULL-terminated, at most 6) and points
 * AWS_EC2_METADATA_SERVICE_ENDPOINT at it (with a trailing '/', which the
 * client must tolerate). Fails the whole run when it cannot. */
static void stub_start(imds_stub *s, const char *const *args)
{
	const char *tools = fugue_test_require_env("FUGUE_TEST_TOOLS",
	                                           "run through ctest, or set it to tests/tools");
	char script[4096];
	char port_file[4096];
	const char *argv[16];
	char endpoint[128];
	int n = 0;
	int i;
	int status;

	snprintf(script, sizeof(script), "%s/imds_server.py", tools);
	snprintf(port_file, sizeof(port_file), "%s/imds.port", tmp);
	argv[n++] = "python3";
	argv[n++] = script;
	argv[n++] = "--port-file";
	argv[n++] = port_file;
	argv[n++] = "--lifetime";
	argv[n++] = "30";
	while (args && *args && n < 14)
		argv[n++] = *args++;
	argv[n] = NULL;
	fflush(NULL);
	s->pid = fork();
	if (s->pid < 0)
		abort();
	if (s->pid == 0) {
		int devnull = open("/dev/null", O_WRONLY);

		if (devnull >= 0)
			dup2(devnull, 1);
		execvp("python3", (char *const *)argv);
		_exit(127);
	}
	s->port = 0;
	for (i = 0; i < 500 && s->port == 0; i++) {
		if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
			fprintf(stderr, "test setup error: %s exited before listening\n", script);
			exit(1);
		}
		usleep(10000);
		s->port = read_port(port_file);
	}
	if (s->port == 0) {
		fprintf(stderr, "test setup error: %s did not start within 5 s\n", script);
		exit(1);
	}
	unlink(port_file);
	snprintf(s->base, sizeof(s->base), "http://127.0.0.1:%d", s->port);
	snprintf(endpoint, sizeof(endpoint), "%s/", s->base);
	setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", endpoint, 1);
	unsetenv("AWS_EC2_METADATA_DISABLED");
}

static void stub_stop(imds_stub *s)
{
	int status;

	if (s->pid <= 0)
		return;
	kill(s->pid, SIGTERM);
	waitpid(s->pid, &status, 0);
	s->pid = 0;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *payload)
{
	size_t n = size * nmemb;
	char **body = payload;
	size_t have = *body ? strlen(*body) : 0;
	char *grown = realloc(*body, have + n + 1);

	if (!grown)
		return 0;
	memcpy(grown + have, data, n);
	grown[have + n] = '\0';
	*body = grown;
	return n;
}

/* A plain request to the stand-in; returns the status, *BODY malloc'd. */
static long http_call(char **body, const char *method, const char *url, const char *header)
{
	struct curl_slist *headers = NULL;
	CURL *h = curl_easy_init();
	long status = 0;

	*body = NULL;
	if (!h)
		abort();
	if (header)
		headers = curl_slist_append(NULL, header);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(h, CURLOPT_PROXY, "");
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, body);
	if (curl_easy_perform(h) == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(headers);
	curl_easy_cleanup(h);
	return status;
}

static void stub_set(const imds_stub *s, const char *query)
{
	char url[256];
	char *body;

	snprintf(url, sizeof(url), "%s/__set?%s", s->base, query);
	CU_ASSERT_EQUAL_FATAL(http_call(&body, "POST", url, NULL), 200);
	free(body);
}

/* How many times "METHOD PATH" was asked, or for KEY "credentials_served"
 * and "unauthorized" (PATH NULL), those counters. */
static int stub_count(const imds_stub *s, const char *key, const char *path)
{
	char url[128];
	char name[256];
	char *body;
	struct json_object *doc;
	struct json_object *paths;
	struct json_object *v;
	int n = -1;

	snprintf(url, sizeof(url), "%s/__stats", s->base);
	if (http_call(&body, "GET", url, NULL) != 200) {
		free(body);
		return -1;
	}
	doc = json_tokener_parse(body);
	free(body);
	if (!path) {
		if (json_object_object_get_ex(doc, key, &v))
			n = json_object_get_int(v);
	} else {
		snprintf(name, sizeof(name), "%s %s", key, path);
		n = 0;
		if (json_object_object_get_ex(doc, "paths", &paths) &&
		    json_object_object_get_ex(paths, name, &v))
			n = json_object_get_int(v);
	}
	json_object_put(doc);
	return n;
}

#define TOKEN_PATH "/latest/api/token"
#define ROLES_PATH "/latest/meta-data/iam/security-credentials/"
#define ROLE_PATH ROLES_PATH "fugue-test-role"

/* A loopback port with nothing listening. */
static int closed_port(void)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int port;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) != 0)
		abort();
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

/* A loopback listener that accepts connections (the kernel does) and never
 * answers: the timeout path. Returns the socket; *PORT its port. */
static int silent_listener(int *port)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 8) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) != 0)
		abort();
	*port = ntohs(a.sin_port);
	return fd;
}

/* --- environment ------------------------------------------------------------ */

static void test_env_with_token(void)
{
	fugue_credentials c;
	char err[1024];

	setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "secretenv", 1);
	setenv("AWS_SESSION_TOKEN", "tokenenv", 1);
	CU_ASSERT_EQUAL_FATAL(get_once(&c, NULL, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(c.access_key_id, "AKIDENV");
	CU_ASSERT_STRING_EQUAL(c.secret_access_key, "secretenv");
	CU_ASSERT_STRING_EQUAL(c.session_token, "tokenenv");
	CU_ASSERT_EQUAL(c.expiration, 0);
	CU_ASSERT_STRING_EQUAL(c.source, "environment");
	fugue_credentials_wipe(&c);
}

static void test_env_without_token(void)
{
	fugue_credentials c;
	char err[1024];

	setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "secretenv", 1);
	CU_ASSERT_EQUAL_FATAL(get_once(&c, NULL, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(c.access_key_id, "AKIDENV");
	CU_ASSERT_STRING_EQUAL(c.session_token, "");
	/* An empty variable counts as unset. */
	setenv("AWS_SESSION_TOKEN", "", 1);
	CU_ASSERT_EQUAL_FATAL(get_once(&c, NULL, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(c.session_token, "");
	fugue_credentials_wipe(&c);
}

static void test_env_partial(void)
{
	fugue_credentials c;
	char err[1024];

	/* Partial env credentials stop the chain even when a file has keys. */
	write_file("credentials", "[default]\naws_access_key_id = AKIDFILE\naws_secret_access_key = s\n");
	setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
	CU_ASSERT_EQUAL(get_once(&c, NULL, err, sizeof(err)), FUGUE_EAUTH);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "partial"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "AWS_SECRET_ACCESS_KEY is not"));
	CU_ASSERT_STRING_EQUAL(c.access_key_id, "");

	unsetenv("AWS_ACCESS_KEY_ID");
	setenv("AWS_SECRET_ACCESS_KEY", "secretenv", 1);
	CU_ASSERT_EQUAL(get_once(&c, NULL, err, sizeof(err)), FUGUE_EAUTH);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "AWS_ACCESS_KEY_ID is not"));
	/* The secret is never echoed. */
	CU_ASSERT_PTR_NULL(strstr(err, "secretenv"));
}

/* --- shared files ----------------------------------------------------------- */

static void test_credentials_file(void)
{
	fugue_credentials c;
	char err[1024];

	write_file("credentials",
	           "# a comment\n"
	           "[default]\n"
	           "aws_access_key_id = AKIDFILE   \n"
	           "; another comment\n"
	           "aws_secret_access_key=secretfile\n"
	           "aws_session_token = tokenfile\n");
	CU_ASSERT_EQUAL_FATAL(get_once(&c, NULL, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(c.access_key_id, "AKIDFILE");
	CU_ASSERT_STRING_EQUAL(c.secret_access_key, "secretfile");
	CU_ASSERT_STRING_EQUAL(c.session_token, "tokenfile");
	CU_ASSERT_EQUAL(c.expiration, 0);
	CU_ASSERT_STRING_EQUAL(c.source, "shared-credentials-file (profile default)");
	fugue_credentials_wipe(&c);
}

static void test_config_file(void)
{
	fugue_credentials c;
	char err[1024];

	/* "[dev]" is not a profile in the config file: "[profile dev]" is. */
	write_file("config",
	           "[dev]\naws_access_key_id = WRONG\naws_secret_access_key = wrong\n"
	           "[profile dev]\nregion = eu-west-1\n"
	           "aws_access_key_id = AKIDCONFIG\naws_secret_access_key = secretconfig\n");
	setenv("AWS_PROFILE", "dev", 1);
	CU_ASSERT_EQUAL_FATAL(get_once(&c, NULL, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(c.access_key_id, "AKIDCONFIG");
	CU_ASSERT_STRING_EQUAL(c.secret_access_key, "secretconfig");
	CU_ASSERT_STRING_EQUAL(c.session_token, "");
	CU_ASSERT_STRING_EQUAL(c.source, "shared-config-file (profile dev)");

	write_file("config", "[default]\naws_access_key_id = AKIDDEF\naws_secret_access_key = s\n");
	CU_ASSERT_EQUAL(get_once(&c, "default", err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(c.access_key_id, "AKIDDEF");
	CU_ASSERT_STRING_EQUAL(c.source, "shared-config-file (profile default)");
	fugue_credentials_wipe(&c);
}

static void test_profile_selection(void)
{
	fugue_credentials c;
	char err[1024];

	write_file("credentials",
	           "[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = s1\n"
	           "[work]\naws_access_key_id = AKIDWORK\naws_secret_access_key = s2\n");
	CU_ASSERT_EQUAL(get_once(&c, NULL, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(c.access_key_id, "AKIDDEFAULT");
	setenv("AWS_PROFILE", "work", 1);
	CU_ASSERT_EQUAL(get_once(&c, NULL, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(c.access_key_id, "AKIDWORK");
	CU_ASSERT_STRING_EQUAL(c.source, "shared-credentials-file (profile work)");
	/* An explicit profile beats AWS_PROFILE. */
	CU_ASSERT_EQUAL(get_once(&c, "default", err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(c.access_key_id, "AKIDDEFAULT");
	/* A profile that exists nowhere. */
	setenv("AWS_PROFILE", "nosuch", 1);
	CU_ASSERT_EQUAL(get_once(&c, NULL, err, sizeof(err)), FUGUE_EAUTH);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "no aws_access_key_id in profile 'nosuch'"));
	fugue_credentials_wipe(&c);
}

static void test_file_partial_and_unsupported(void)
{
	fugue_credentials c;
	char err[1024];

	write_file("credentials", "[default]\naws_access_key_id = AKIDFILE\n");
	write_file("config", "[default]\naws_access_key_id = AKIDCFG\naws_secret_access_key = s\n");
	CU_ASSERT_EQUAL(get_once(&c, NULL, err, sizeof(err)), FUGUE_EAUTH);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "partial"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "aws_secret_access_key"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, credentials_path));

	unlink(credentials_path);
	write_file("config", "[profile ops]\nrole_arn = arn:aws:iam::123456789012:role/x\nsource_profile = default\n");
	CU_ASSERT_EQUAL(get_once(&c, "ops", err, sizeof(err)), FUGUE_EAUTH);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "profile 'ops' uses role_arn, which is not supported"));
}

static void test_precedence(void)
{
	fugue_credentials c;
	char err[1024];
	imds_stub stub;

	stub_start(&stub, NULL);
	write_file("credentials", "[default]\naws_access_key_id = AKIDCREDS\naws_secret_access_key = s1\n");
	write_file("config", "[default]\naws_access_key_id = AKIDCONFIG\naws_secret_access_key = s2\n");
	setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "s0", 1);
	CU_ASSERT_EQUAL(get_once(&c, NULL, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(c.access_key_id, "AKIDENV");

	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	CU_ASSERT_EQUAL(get_once(&c, NULL, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(c.access_key_id, "AKIDCREDS");

	unlink(credentials_path);
	CU_ASSERT_EQUAL(get_once(&c, NULL, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(c.access_key_id, "AKIDCONFIG");
	/* The metadata service was not asked while a file had keys. */
	CU_ASSERT_EQUAL(stub_count(&stub, "PUT", TOKEN_PATH), 0);

	unlink(config_path);
	CU_ASSERT_EQUAL(get_once(&c, NULL, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(c.access_key_id, "ASIAFAKE00000001");
	CU_ASSERT_STRING_EQUAL(c.source, "imds (role fugue-test-role)");
	stub_stop(&stub);
	fugue_credentials_wipe(&c);
}

static void test_nothing_found(void)
{
	fugue_credentials c;
	char err[2048];
	char expect[512];

	CU_ASSERT_EQUAL(get_once(&c, NULL, err, sizeof(err)), FUGUE_EAUTH);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "no aws credentials found: "));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "environment: AWS_ACCESS_KEY_ID not set"));
	snprintf(expect, sizeof(expect), "shared-credentials-file %s: no such file", credentials_path);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, expect));
	snprintf(expect, sizeof(expect), "shared-config-file %s: no such file", config_path);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, expect));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "imds: disabled by AWS_EC2_METADATA_DISABLED"));

	/* With the service enabled but absent, the reason says so. */
	snprintf(expect, sizeof(expect), "http://127.0.0.1:%d", closed_port());
	setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", expect, 1);
	unsetenv("AWS_EC2_METADATA_DISABLED");
	CU_ASSERT_EQUAL(get_once(&c, NULL, err, sizeof(err)), FUGUE_EAUTH);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "imds: no metadata service at "));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, expect));

	/* A NULL errbuf is allowed. */
	CU_ASSERT_EQUAL(get_once(&c, NULL, NULL, 0), FUGUE_EAUTH);
}

static void test_wipe(void)
{
	fugue_credentials c;
	size_t i;
	int zero = 1;

	memset(&c, 'x', sizeof(c));
	fugue_credentials_wipe(&c);
	for (i = 0; i < sizeof(c); i++)
		zero &= ((const unsigned char *)&c)[i] == 0;
	CU_ASSERT(zero);
	fugue_credentials_wipe(NULL);
}

/* --- IMDSv2 ----------------------------------------------------------------- */

static void test_imds_token_flow(void)
{
	fugue_creds_provider *p = NULL;
	fugue_credentials c;
	char err[1024];
	char url[128];
	char *body;
	time_t now = time(NULL);
	imds_stub stub;

	stub_start(&stub, NULL);
	/* The stand-in refuses a GET without a token, so success below means
	 * the client did the token dance. */
	snprintf(url, sizeof(url), "%s%s", stub.base, ROLES_PATH);
	CU_ASSERT_EQUAL(http_call(&body, "GET", url, NULL), 401);
	free(body);

	CU_ASSERT_EQUAL_FATAL(fugue_creds_provider_new(&p, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(fugue_creds_get(&c, p, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(c.access_key_id, "ASIAFAKE00000001");
	CU_ASSERT_NSTRING_EQUAL(c.secret_access_key, "fakeSecret00000001", 18);
	CU_ASSERT_NSTRING_EQUAL(c.session_token, "fakeToken00000001", 17);
	CU_ASSERT_EQUAL(strlen(c.session_token), 217);
	CU_ASSERT_STRING_EQUAL(c.source, "imds (role fugue-test-role)");
	/* Six hours from now, to the second, give or take the request. */
	CU_ASSERT(c.expiration >= now + 6 * 3600 - 2 && c.expiration <= now + 6 * 3600 + 5);
	CU_ASSERT_EQUAL(stub_count(&stub, "PUT", TOKEN_PATH), 1);
	/* Our plain GET above, then the client's. */
	CU_ASSERT_EQUAL(stub_count(&stub, "GET", ROLES_PATH), 2);
	CU_ASSERT_EQUAL(stub_count(&stub, "GET", ROLE_PATH), 1);
	CU_ASSERT_EQUAL(stub_count(&stub, "unauthorized", NULL), 1);

	/* Long-lived credentials come from the cache. */
	CU_ASSERT_EQUAL(fugue_creds_get(&c, p, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(c.access_key_id, "ASIAFAKE00000001");
	CU_ASSERT_EQUAL(stub_count(&stub, "credentials_served", NULL), 1);
	fugue_creds_provider_free(p);
	fugue_credentials_wipe(&c);
	stub_stop(&stub);
}

static void test_imds_refresh(void)
{
	fugue_creds_provider *p = NULL;
	fugue_credentials c;
	char err[1024];
	imds_stub stub;
	const char *const args[] = { "--expires-in", "120", NULL };

	stub_start(&stub, args);
	CU_ASSERT_EQUAL_FATAL(fugue_creds_provider_new(&p, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(fugue_creds_get(&c, p, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(c.access_key_id, "ASIAFAKE00000001");
	/* Expiring within five minutes: the next get fetches new ones. */
	stub_set(&stub, "expires_in=3600");
	CU_ASSERT_EQUAL_FATAL(fugue_creds_get(&c, p, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(c.access_key_id, "ASIAFAKE00000002");
	CU_ASSERT_EQUAL(stub_count(&stub, "PUT", TOKEN_PATH), 2);
	/* Those last an hour: no more fetching. */
	CU_ASSERT_EQUAL(fugue_creds_get(&c, p, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(c.access_key_id, "ASIAFAKE00000002");
	CU_ASSERT_EQUAL(stub_count(&stub, "credentials_served", NULL), 2);
	fugue_creds_provider_free(p);
	fugue_credentials_wipe(&c);
	stub_stop(&stub);
}

static void test_imds_refresh_failure_keeps_valid(void)
{
	fugue_creds_provider *p = NULL;
	fugue_credentials c;
	char err[1024];
	imds_stub stub;
	const char *const args[] = { "--expires-in", "120", NULL };

	stub_start(&stub, args);
	CU_ASSERT_EQUAL_FATAL(fugue_creds_provider_new(&p, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(fugue_creds_get(&c, p, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(c.access_key_id, "ASIAFAKE00000001");
	/* The service goes away: the credentials, valid two more minutes, stay. */
	stub_stop(&stub);
	CU_ASSERT_EQUAL(fugue_creds_get(&c, p, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(c.access_key_id, "ASIAFAKE00000001");
	CU_ASSERT_STRING_EQUAL(err, "");
	fugue_creds_provider_free(p);

	/* Already expired ones are not kept. */
	stub_start(&stub, NULL);
	stub_set(&stub, "expires_in=-10");
	CU_ASSERT_EQUAL_FATAL(fugue_creds_provider_new(&p, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(fugue_creds_get(&c, p, err, sizeof(err)), 0);
	stub_stop(&stub);
	CU_ASSERT_EQUAL(fugue_creds_get(&c, p, err, sizeof(err)), FUGUE_EAUTH);
	CU_ASSERT_STRING_EQUAL(c.access_key_id, "");
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "imds: no metadata service"));
	fugue_creds_provider_free(p);
	fugue_credentials_wipe(&c);
}

static void test_imds_errors(void)
{
	fugue_credentials c;
	char err[1024];
	imds_stub stub;

	stub_start(&stub, NULL);
	stub_set(&stub, "code=AssumeRoleUnauthorizedAccess");
	CU_ASSERT_EQUAL(fugue_imds_credentials(&c, err, sizeof(err)), FUGUE_ENOTFOUND);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "Code AssumeRoleUnauthorizedAccess"));

	stub_set(&stub, "code=Success&role=");
	CU_ASSERT_EQUAL(fugue_imds_credentials(&c, err, sizeof(err)), FUGUE_ENOTFOUND);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "no instance role attached"));
	stub_stop(&stub);

	setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", "ftp://127.0.0.1", 1);
	CU_ASSERT_NOT_EQUAL(fugue_imds_credentials(&c, err, sizeof(err)), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "not an http(s) url"));
}

static void test_imds_unreachable_fails_fast(void)
{
	fugue_credentials c;
	char err[1024];
	char endpoint[64];
	double start;
	double took;
	int port;
	int fd;

	/* Nothing listening: refused at once. */
	snprintf(endpoint, sizeof(endpoint), "http://127.0.0.1:%d", closed_port());
	setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", endpoint, 1);
	start = now_seconds();
	CU_ASSERT_EQUAL(fugue_imds_credentials(&c, err, sizeof(err)), FUGUE_ENOTFOUND);
	CU_ASSERT(now_seconds() - start < 3.0);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "no metadata service at http://127.0.0.1:"));

	/* A service that never answers: the timeouts, two attempts of 1 s. */
	fd = silent_listener(&port);
	snprintf(endpoint, sizeof(endpoint), "http://127.0.0.1:%d", port);
	setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", endpoint, 1);
	unsetenv("AWS_EC2_METADATA_DISABLED");
	start = now_seconds();
	CU_ASSERT_EQUAL(get_once(&c, NULL, err, sizeof(err)), FUGUE_EAUTH);
	took = now_seconds() - start;
	close(fd);
	CU_ASSERT(took < 3.0);
	CU_ASSERT(took >= 1.5);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "imds: no metadata service at "));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "(2 attempts)"));
}

static int suite_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : 1;
}

static int suite_cleanup(void)
{
	curl_global_cleanup();
	return 0;
}

int fugue_test_register(void)
{
	CU_pSuite s = CU_add_suite_with_setup_and_teardown("creds", suite_init, suite_cleanup,
	                                                   setup, teardown);
	CU_pSuite i = CU_add_suite_with_setup_and_teardown("imds", suite_init, suite_cleanup,
	                                                   setup, teardown);

	if (!s || !i)
		return 1;
	CU_add_test(s, "environment with session token", test_env_with_token);
	CU_add_test(s, "environment without session token", test_env_without_token);
	CU_add_test(s, "partial environment credentials", test_env_partial);
	CU_add_test(s, "shared credentials file", test_credentials_file);
	CU_add_test(s, "shared config file", test_config_file);
	CU_add_test(s, "AWS_PROFILE and explicit profile", test_profile_selection);
	CU_add_test(s, "partial and unsupported profiles", test_file_partial_and_unsupported);
	CU_add_test(s, "env beats files beat imds", test_precedence);
	CU_add_test(s, "nothing found names every source", test_nothing_found);
	CU_add_test(s, "wipe", test_wipe);
	CU_add_test(i, "token, role and credentials", test_imds_token_flow);
	CU_add_test(i, "expiring credentials are refreshed", test_imds_refresh);
	CU_add_test(i, "failed refresh keeps valid credentials", test_imds_refresh_failure_keeps_valid);
	CU_add_test(i, "error documents and bad endpoint", test_imds_errors);
	CU_add_test(i, "unreachable service fails fast", test_imds_unreachable_fails_fast);
	return 0;
}
