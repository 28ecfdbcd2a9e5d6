/* testmain.c - shared main() and helpers for CUnit test executables. */
#include "testmain.h"

#include <CUnit/Basic.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *fugue_test_require_env(const char *name, const char *why)
{
	const char *v = getenv(name);

	if (!v || !*v) {
		fprintf(stderr, "test setup error: environment variable %s is not set: %s\n", name, why);
		exit(1);
	}
	return v;
}

const char *fugue_test_nn(const char *s)
{
	return s ? s : "(null)";
}

char *fugue_test_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char *path;

	if (!base || !*base)
		base = "/tmp";
	if (asprintf(&path, "%s/fugue-test-XXXXXX", base) < 0)
		abort();
	if (!mkdtemp(path)) {
		perror("mkdtemp");
		abort();
	}
	return path;
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void fugue_test_rmtree(const char *path)
{
	if (path)
		nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

char *fugue_test_write_file(const char *dir, const char *name, const char *content)
{
	char *path;
	FILE *f;

	if (asprintf(&path, "%s/%s", dir, name) < 0)
		abort();
	f = fopen(path, "w");
	if (!f) {
		perror(path);
		abort();
	}
	fputs(content, f);
	fclose(f);
	return path;
}

int main(int argc, char **argv)
{
	unsigned int failures;
	unsigned int ran;
	int rc;

	if (CU_initialize_registry() != CUE_SUCCESS) {
		fprintf(stderr, "cunit: %s\n", CU_get_error_msg());
		return 1;
	}
	if (fugue_test_register() != 0 || CU_get_error() != CUE_SUCCESS) {
		fprintf(stderr, "cunit: registering tests failed: %s\n", CU_get_error_msg());
		CU_cleanup_registry();
		return 1;
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	if (argc > 1) {
		CU_pSuite suite = CU_get_suite(argv[1]);

		if (!suite) {
			fprintf(stderr, "no suite named '%s'\n", argv[1]);
			CU_cleanup_registry();
			return 2;
		}
		rc = CU_basic_run_suite(suite);
	} else {
		rc = CU_basic_run_tests();
	}
	failures = CU_get_number_of_failures() + CU_get_number_of_suites_failed() +
	           CU_get_number_of_tests_failed();
	ran = CU_get_number_of_tests_run();
	CU_cleanup_registry();
	if (rc != CUE_SUCCESS)
		return 1;
	if (ran == 0) {
		fprintf(stderr, "no test ran\n");
		return 1;
	}
	return failures ? 1 : 0;
}
