/* file_util.c - see file_util.h. */
#include "file_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

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
