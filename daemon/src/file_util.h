/* file_util.h - reading a whole file (compositions, the config file) and
 * digesting one (the local files a composition names). */
#ifndef FUGUE_FILE_UTIL_H
#define FUGUE_FILE_UTIL_H

#include <stddef.h>
#include <sys/types.h>

/* Reads the file at PATH into *TEXT (malloc'd and NUL-terminated, the
 * caller frees it) and its length into *LEN. Returns 0 or an errno value
 * (ENOENT for a missing file, ENOMEM), with *TEXT NULL on error. */
int fugue_read_file(char **text, size_t *len, const char *path);

/* The SHA-256 of the content of the file at PATH, base64 (padded: 44
 * characters, as Lambda's CodeSha256), into B64 (at least 45 bytes). Read
 * in chunks, never whole. Returns 0 or an errno value. */
int fugue_file_sha256(char *b64, size_t size, const char *path);

/* 0 when user UID (its primary and supplementary groups) may read the
 * file at PATH (absolute, resolved: realpath()) by its mode bits: every
 * directory above it searchable, the file readable. EACCES otherwise, or
 * another errno value (the user is unknown: ENOENT). UID 0 and the
 * Conductor's own user may read anything the Conductor may. */
int fugue_file_readable_by(const char *path, uid_t uid);

#endif
