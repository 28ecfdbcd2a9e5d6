/* flaky.c - see flaky.h. */
#include "flaky.h"

#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testmain.h"

char flaky_base_url[64];
static pid_t server_pid = -1;

static void exec_server(int out_fd)
{
	const char *tools = getenv("FUGUE_TEST_TOOLS");
	char script[PATH_MAX];

	snprintf(script, sizeof(script), "%s/flaky_server.py", tools);
	dup2(out_fd, STDOUT_FILENO);
	close(out_fd);
	execlp("python3", "python3", script, "--lifetime", "300", (char *)NULL);
	fprintf(stderr, "test setup error: cannot run python3: %s\n", strerror(errno));
	_exit(127);
}

void flaky_stop(void)
{
	if (server_pid > 0) {
		kill(server_pid, SIGTERM);
		waitpid(server_pid, NULL, 0);
		server_pid = -1;
	}
}

int flaky_start(void)
{
	char line[128];
	int fds[2];
	int port = 0;
	FILE *f;

	fugue_test_require_env("FUGUE_TEST_TOOLS",
	                       "run me through ctest, which points it at tests/tools");
	if (pipe(fds) != 0)
		return -1;
	server_pid = fork();
	if (server_pid < 0)
		return -1;
	if (server_pid == 0) {
		close(fds[0]);
		exec_server(fds[1]);
	}
	close(fds[1]);
	f = fdopen(fds[0], "r");
	if (!f || !fgets(line, sizeof(line), f) || sscanf(line, "PORT %d", &port) != 1) {
		fprintf(stderr, "test setup error: flaky_server.py did not start "
		                "(python3 missing or broken?)\n");
		if (f)
			fclose(f);
		flaky_stop();
		exit(1);
	}
	fclose(f);
	snprintf(flaky_base_url, sizeof(flaky_base_url), "http://127.0.0.1:%d", port);
	return 0;
}

static size_t collect(char *data, size_t size, size_t nmemb, void *userdata)
{
	return fugue_buf_put(userdata, data, size * nmemb) == 0 ? size * nmemb : 0;
}

/* Talks to a control endpoint with plain libcurl (not the code under test). */
long flaky_control(const char *method, const char *path, const char *body, fugue_buf *out)
{
	fugue_buf url = FUGUE_BUF_INIT;
	fugue_buf sink = FUGUE_BUF_INIT;
	long status = 0;
	CURL *c = curl_easy_init();

	fugue_buf_printf(&url, "%s%s", flaky_base_url, path);
	curl_easy_setopt(c, CURLOPT_URL, url.data);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (body)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out ? out : &sink);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	fugue_buf_free(&url);
	fugue_buf_free(&sink);
	return status;
}

void flaky_script(const char *json)
{
	CU_ASSERT_EQUAL_FATAL(flaky_control("POST", "/__reset", "", NULL), 200);
	CU_ASSERT_EQUAL_FATAL(flaky_control("POST", "/__script", json, NULL), 200);
}

/* The recorded requests, as a json array owned by the caller. */
struct json_object *flaky_recorded(void)
{
	fugue_buf out = FUGUE_BUF_INIT;
	struct json_object *root;
	struct json_object *list = NULL;

	CU_ASSERT_EQUAL(flaky_control("GET", "/__requests", NULL, &out), 200);
	root = json_tokener_parse(out.data ? out.data : "");
	fugue_buf_free(&out);
	if (root && json_object_object_get_ex(root, "requests", &list))
		json_object_get(list);
	else
		list = NULL;
	json_object_put(root);
	if (!list)
		list = json_object_new_array();
	return list;
}

const char *json_member(struct json_object *obj, const char *key)
{
	struct json_object *v;

	if (!obj || !json_object_object_get_ex(obj, key, &v))
		return NULL;
	return json_object_get_string(v);
}


static char *suite_tmpdir;

int flaky_suite_init(const char *key_id, const char *secret)
{
	char *missing;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return -1;
	if (flaky_start() != 0)
		return -1;
	suite_tmpdir = fugue_test_tmpdir();
	if (!suite_tmpdir || asprintf(&missing, "%s/none", suite_tmpdir) < 0)
		return -1;
	setenv("AWS_ENDPOINT_URL", flaky_base_url, 1);
	setenv("AWS_ACCESS_KEY_ID", key_id, 1);
	setenv("AWS_SECRET_ACCESS_KEY", secret, 1);
	setenv("AWS_REGION", "us-east-1", 1);
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
	setenv("AWS_CONFIG_FILE", missing, 1);
	setenv("AWS_SHARED_CREDENTIALS_FILE", missing, 1);
	unsetenv("AWS_SESSION_TOKEN");
	unsetenv("AWS_PROFILE");
	unsetenv("AWS_MAX_ATTEMPTS");
	unsetenv("AWS_DEFAULT_REGION");
	free(missing);
	return 0;
}

int flaky_suite_cleanup(void)
{
	flaky_stop();
	if (suite_tmpdir)
		fugue_test_rmtree(suite_tmpdir);
	free(suite_tmpdir);
	suite_tmpdir = NULL;
	curl_global_cleanup();
	return 0;
}
