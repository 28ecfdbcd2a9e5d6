/* test_log.c - levels, level names, and the stderr line format with
 * structured fields. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fugue/log.h"
#include "testmain.h"

/* Runs FN with stderr sent to a temporary file; returns what it wrote. */
static char *capture_stderr(void (*fn)(void))
{
	char path[] = "/tmp/fugue-log-XXXXXX";
	int fd = mkstemp(path);
	int saved = dup(2);
	char *text = calloc(1, 8192);
	ssize_t n;

	fflush(stderr);
	dup2(fd, 2);
	fn();
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	lseek(fd, 0, SEEK_SET);
	n = read(fd, text, 8191);
	text[n > 0 ? n : 0] = '\0';
	close(fd);
	unlink(path);
	return text;
}

static void test_parse_and_names(void)
{
	fugue_log_level level;

	CU_ASSERT_EQUAL(fugue_log_level_parse(&level, "DEBUG"), 0);
	CU_ASSERT_EQUAL(level, FUGUE_LOG_DEBUG);
	CU_ASSERT_EQUAL(fugue_log_level_parse(&level, "warning"), 0);
	CU_ASSERT_EQUAL(level, FUGUE_LOG_WARN);
	CU_ASSERT_EQUAL(fugue_log_level_parse(&level, "Error"), 0);
	CU_ASSERT_EQUAL(level, FUGUE_LOG_ERROR);
	CU_ASSERT_EQUAL(fugue_log_level_parse(&level, "verbose"), FUGUE_EINVAL);
	CU_ASSERT_EQUAL(fugue_log_level_parse(&level, NULL), FUGUE_EINVAL);
	CU_ASSERT_STRING_EQUAL(fugue_log_level_name(FUGUE_LOG_INFO), "info");
}

static void log_some(void)
{
	fugue_log_field fields[] = {
		{ "FUGUE_FID", "fid-1" },
		{ "FUGUE_RESOURCE", "web server" },
		{ "AWS_ERROR_CODE", "a\"b" },
		{ "SKIPPED", NULL },
	};

	fugue_log_debug("hidden %d", 1);
	fugue_log_info("shown %s", "plain");
	fugue_log_fields(FUGUE_LOG_WARN, fields, 4, "with fields");
}

static void test_stderr_format_and_levels(void)
{
	char *text;

	fugue_log_set_sink(FUGUE_LOG_SINK_STDERR);
	fugue_log_set_level(FUGUE_LOG_INFO);
	CU_ASSERT_FALSE(fugue_log_enabled(FUGUE_LOG_DEBUG));
	CU_ASSERT_TRUE(fugue_log_enabled(FUGUE_LOG_ERROR));
	text = capture_stderr(log_some);
	CU_ASSERT(strstr(text, "hidden") == NULL);
	CU_ASSERT(strstr(text, "info  shown plain\n") != NULL);
	CU_ASSERT(strstr(text, "warn  with fields FUGUE_FID=fid-1 FUGUE_RESOURCE=\"web server\" "
	                       "AWS_ERROR_CODE=\"a\\\"b\"\n") != NULL);
	CU_ASSERT(strstr(text, "SKIPPED") == NULL);
	/* Lines start with a UTC timestamp. */
	CU_ASSERT(text[4] == '-' && text[10] == 'T' && strchr(text, 'Z') != NULL);
	free(text);

	fugue_log_set_level(FUGUE_LOG_DEBUG);
	text = capture_stderr(log_some);
	CU_ASSERT(strstr(text, "debug hidden 1") != NULL);
	free(text);
	fugue_log_set_level(FUGUE_LOG_INFO);
}

int fugue_test_register(void)
{
	CU_pSuite s = CU_add_suite("log", NULL, NULL);

	CU_add_test(s, "parse and names", test_parse_and_names);
	CU_add_test(s, "stderr format and levels", test_stderr_format_and_levels);
	return 0;
}
