/* buf.c - growable byte buffer. */
#include "buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fugue/common.h"

int fugue_buf_grow(fugue_buf *b, size_t extra)
{
	size_t need = b->len + extra + 1;
	size_t cap;
	char *p;

	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap *= 2;
	p = realloc(b->data, cap);
	if (!p)
		return FUGUE_ENOMEM;
	b->data = p;
	b->cap = cap;
	return 0;
}

int fugue_buf_put(fugue_buf *b, const void *data, size_t len)
{
	if (fugue_buf_grow(b, len) < 0)
		return FUGUE_ENOMEM;
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

int fugue_buf_puts(fugue_buf *b, const char *s)
{
	return fugue_buf_put(b, s, strlen(s));
}

int fugue_buf_putc(fugue_buf *b, char c)
{
	return fugue_buf_put(b, &c, 1);
}

int fugue_buf_vprintf(fugue_buf *b, const char *fmt, va_list ap)
{
	va_list copy;
	int n;

	va_copy(copy, ap);
	n = vsnprintf(NULL, 0, fmt, copy);
	va_end(copy);
	if (n < 0)
		return FUGUE_EINVAL;
	if (fugue_buf_grow(b, (size_t)n) < 0)
		return FUGUE_ENOMEM;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int fugue_buf_printf(fugue_buf *b, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = fugue_buf_vprintf(b, fmt, ap);
	va_end(ap);
	return rc;
}

static int is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '~';
}

int fugue_buf_put_uri_encoded(fugue_buf *b, const char *s, size_t len, int keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i;

	if (fugue_buf_grow(b, len * 3) < 0)
		return FUGUE_ENOMEM;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (is_unreserved(c) || (keep_slash && c == '/')) {
			b->data[b->len++] = (char)c;
		} else {
			b->data[b->len++] = '%';
			b->data[b->len++] = hex[c >> 4];
			b->data[b->len++] = hex[c & 15];
		}
	}
	b->data[b->len] = '\0';
	return 0;
}

int fugue_buf_put_hex(fugue_buf *b, const unsigned char *data, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	if (fugue_buf_grow(b, len * 2) < 0)
		return FUGUE_ENOMEM;
	for (i = 0; i < len; i++) {
		b->data[b->len++] = hex[data[i] >> 4];
		b->data[b->len++] = hex[data[i] & 15];
	}
	b->data[b->len] = '\0';
	return 0;
}

static int is_ascii_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

void fugue_copy_trimmed(char *dst, size_t size, const char *src, size_t len)
{
	size_t n;

	if (size == 0)
		return;
	while (len > 0 && is_ascii_space(*src)) {
		src++;
		len--;
	}
	while (len > 0 && is_ascii_space(src[len - 1]))
		len--;
	n = len < size - 1 ? len : size - 1;
	if (n < len) {
		/* Do not leave half a multi-byte character at the end. */
		while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
			n--;
	}
	memcpy(dst, src, n);
	dst[n] = '\0';
}

void fugue_buf_clear(fugue_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

void fugue_buf_free(fugue_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

char *fugue_buf_detach(fugue_buf *b)
{
	char *s;

	if (!b->data && fugue_buf_grow(b, 0) < 0)
		return NULL;
	if (!b->data)
		return NULL;
	b->data[b->len] = '\0';
	s = b->data;
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	return s;
}
