/* file_util.c - see file_util.h. */
#include "file_util.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

int fugue_read_file(char **text, size_t *len, const char *path)
{
	FILE *f = fopen(path, "rb");
	FILE *m;
	char chunk[65536];
	size_t n;
	int err = 0;

	*text = NULL;
	*len = 0;
	if (!f)
		return errno;
	/* open_memstream keeps the buffer NUL-terminated as it grows. */
	m = open_memstream(text, len);
	if (!m) {
		fclose(f);
		return ENOMEM;
	}
	for (n = fread(chunk, 1, sizeof(chunk), f); n > 0; n = fread(chunk, 1, sizeof(chunk), f))
		fwrite(chunk, 1, n, m);
	if (ferror(f))
		err = errno ? errno : EIO;
	fclose(f);
	if (fclose(m) != 0 && !err)
		err = ENOMEM;
	if (err) {
		free(*text);
		*text = NULL;
		*len = 0;
	}
	return err;
}

int fugue_file_sha256(char *b64, size_t size, const char *path)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned char chunk[65536];
	unsigned int len = 0;
	EVP_MD_CTX *ctx;
	FILE *f;
	size_t n;
	int err = 0;

	if (size < 45)
		return EINVAL;
	f = fopen(path, "rb");
	if (!f)
		return errno;
	ctx = EVP_MD_CTX_new();
	if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		err = ENOMEM;
	for (n = err ? 0 : fread(chunk, 1, sizeof(chunk), f); n > 0;
	     n = fread(chunk, 1, sizeof(chunk), f))
		if (EVP_DigestUpdate(ctx, chunk, n) != 1)
			err = ENOMEM;
	if (!err && ferror(f))
		err = errno ? errno : EIO;
	if (!err && EVP_DigestFinal_ex(ctx, md, &len) != 1)
		err = ENOMEM;
	EVP_MD_CTX_free(ctx);
	fclose(f);
	if (!err)
		EVP_EncodeBlock((unsigned char *)b64, md, (int)len);
	return err;
}

/* Whether ST's mode gives UID (in GROUPS) the permission BITS (R_OK, X_OK). */
static int allows(const struct stat *st, uid_t uid, const gid_t *groups, int ngroups, int bits)
{
	int i;

	if (st->st_uid == uid)
		return (st->st_mode & ((mode_t)bits << 6)) == (mode_t)bits << 6;
	for (i = 0; i < ngroups; i++)
		if (st->st_gid == groups[i])
			return (st->st_mode & ((mode_t)bits << 3)) == (mode_t)bits << 3;
	return (st->st_mode & (mode_t)bits) == (mode_t)bits;
}

int fugue_file_readable_by(const char *path, uid_t uid)
{
	struct passwd pw, *found = NULL;
	char buf[4096];
	gid_t groups[256];
	int ngroups = (int)(sizeof(groups) / sizeof(groups[0]));
	char *dir;
	char *slash;
	struct stat st;
	int err = 0;

	if (uid == 0 || uid == geteuid())
		return 0;
	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &found) != 0 || !found)
		return ENOENT;
	if (getgrouplist(pw.pw_name, pw.pw_gid, groups, &ngroups) < 0)
		ngroups = (int)(sizeof(groups) / sizeof(groups[0])); /* the first 256 */
	if (stat(path, &st) != 0)
		return errno;
	if (!allows(&st, uid, groups, ngroups, R_OK))
		return EACCES;
	dir = strdup(path);
	if (!dir)
		return ENOMEM;
	/* every directory from the file's up to / must let the user through */
	while (!err && (slash = strrchr(dir, '/')) != NULL) {
		slash[slash == dir ? 1 : 0] = '\0';
		if (stat(dir, &st) != 0)
			err = errno;
		else if (!allows(&st, uid, groups, ngroups, X_OK))
			err = EACCES;
		if (slash == dir)
			break;
	}
	free(dir);
	return err;
}
