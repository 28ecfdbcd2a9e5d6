/* file_util.c - see file_util.h. */
#include "file_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

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
