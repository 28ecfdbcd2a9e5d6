/* test_file_util.c - file_util.c: the digest of a local file (Lambda's
 * CodeSha256 form) and whether a user may read a file, which decides
 * whether the Conductor reads a composition's local file for the socket
 * peer who asked. */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file_util.h"
#include "testmain.h"

static char *g_dir;
static uid_t g_other; /* a user who is not us: nobody */

static int setup(void)
{
	struct passwd *pw = getpwnam("nobody");

	g_dir = fugue_test_tmpdir();
	if (!pw) {
		fprintf(stderr, "test_file_util: no user 'nobody' on this machine\n");
		return 1;
	}
	g_other = pw->pw_uid;
	return g_dir ? 0 : 1;
}

static int cleanup(void)
{
	chmod(g_dir, 0700);
	fugue_test_rmtree(g_dir);
	free(g_dir);
	return 0;
}

static char *make_file(const char *dir, const char *name, const char *text, mode_t mode)
{
	char *path = NULL;
	FILE *f;

	if (asprintf(&path, "%s/%s", dir, name) < 0)
		abort();
	f = fopen(path, "w");
	if (!f)
		abort();
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
	return path;
}

static void test_sha256(void)
{
	char sha[64];
	char *path = make_file(g_dir, "abc", "abc", 0644);

	/* SHA-256("abc"), base64 */
	CU_ASSERT_EQUAL(fugue_file_sha256(sha, sizeof(sha), path), 0);
	CU_ASSERT_STRING_EQUAL(sha, "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=");
	CU_ASSERT_EQUAL(fugue_file_sha256(sha, 10, path), EINVAL);
	free(path);
	CU_ASSERT_EQUAL(fugue_file_sha256(sha, sizeof(sha), "/nonexistent/x.zip"), ENOENT);
}

static void test_readable_by(void)
{
	char *sub = NULL;
	char *open_file, *closed_file, *hidden_file;

	if (asprintf(&sub, "%s/private", g_dir) < 0 || mkdir(sub, 0755) != 0)
		abort();
	chmod(g_dir, 0755);
	open_file = make_file(g_dir, "open.zip", "x", 0644);
	closed_file = make_file(g_dir, "closed.zip", "x", 0600);
	hidden_file = make_file(sub, "hidden.zip", "x", 0644);

	/* we (and root) may read what we may */
	CU_ASSERT_EQUAL(fugue_file_readable_by(closed_file, geteuid()), 0);
	CU_ASSERT_EQUAL(fugue_file_readable_by(closed_file, 0), 0);
	/* someone else: by the mode bits of the file and of every directory above */
	CU_ASSERT_EQUAL(fugue_file_readable_by(open_file, g_other), 0);
	CU_ASSERT_EQUAL(fugue_file_readable_by(closed_file, g_other), EACCES);
	CU_ASSERT_EQUAL(fugue_file_readable_by(hidden_file, g_other), 0);
	chmod(sub, 0700); /* a readable file in a closed directory is closed */
	CU_ASSERT_EQUAL(fugue_file_readable_by(hidden_file, g_other), EACCES);
	chmod(sub, 0711); /* searchable is enough */
	CU_ASSERT_EQUAL(fugue_file_readable_by(hidden_file, g_other), 0);
	/* an unknown user may read nothing */
	CU_ASSERT_EQUAL(fugue_file_readable_by(open_file, (uid_t)4000000000u), ENOENT);
	CU_ASSERT_EQUAL(fugue_file_readable_by("/nonexistent/x.zip", g_other), ENOENT);
	chmod(sub, 0755);
	free(open_file);
	free(closed_file);
	free(hidden_file);
	free(sub);
}

int fugue_test_register(void)
{
	CU_pSuite s = CU_add_suite("file_util", setup, cleanup);

	if (!s || !CU_add_test(s, "sha256", test_sha256) ||
	    !CU_add_test(s, "readable by", test_readable_by))
		return 1;
	return 0;
}
