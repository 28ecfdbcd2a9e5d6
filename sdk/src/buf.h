/* buf.h - a growable byte buffer, always NUL-terminated. Internal. */
#ifndef FUGUE_BUF_H
#define FUGUE_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct fugue_buf {
	char *data;   /* NUL-terminated when non-NULL; owned */
	size_t len;
	size_t cap;
} fugue_buf;

#define FUGUE_BUF_INIT { NULL, 0, 0 }

/* Each returns 0 or FUGUE_ENOMEM; on failure the buffer is unchanged. */
int fugue_buf_grow(fugue_buf *b, size_t extra);
int fugue_buf_put(fugue_buf *b, const void *data, size_t len);
int fugue_buf_puts(fugue_buf *b, const char *s);
int fugue_buf_putc(fugue_buf *b, char c);
int fugue_buf_printf(fugue_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int fugue_buf_vprintf(fugue_buf *b, const char *fmt, va_list ap);
/* Appends S percent-encoded as SigV4 and the query protocols want:
 * unreserved characters kept, '/' kept when KEEP_SLASH, the rest %XX. */
int fugue_buf_put_uri_encoded(fugue_buf *b, const char *s, size_t len, int keep_slash);
/* Appends LEN bytes as lower-case hex. */
int fugue_buf_put_hex(fugue_buf *b, const unsigned char *data, size_t len);
/* Copies LEN bytes of SRC into DST (SIZE bytes) with leading and trailing
 * ASCII white space dropped, truncated to fit without leaving half a UTF-8
 * character, always NUL-terminated (nothing when SIZE is 0). */
void fugue_copy_trimmed(char *dst, size_t size, const char *src, size_t len);
void fugue_buf_clear(fugue_buf *b);   /* len = 0, keeps the memory */
void fugue_buf_free(fugue_buf *b);    /* releases the memory; reusable after */
/* Hands the string to the caller (free() it); the buffer is left empty.
 * Never NULL for an empty buffer: returns "" allocated, or NULL on ENOMEM. */
char *fugue_buf_detach(fugue_buf *b);

#endif
