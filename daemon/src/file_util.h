/* file_util.h - reading a whole file (compositions, the config file). */
#ifndef FUGUE_FILE_UTIL_H
#define FUGUE_FILE_UTIL_H

#include <stddef.h>

/* Reads the file at PATH into *TEXT (malloc'd and NUL-terminated, the
 * caller frees it) and its length into *LEN. Returns 0 or an errno value
 * (ENOENT for a missing file, ENOMEM), with *TEXT NULL on error. */
int fugue_read_file(char **text, size_t *len, const char *path);

#endif
