/*
 * cbuf.c: the buffer an answer of the control socket or the state dump is
 * built in, and JSON text written into it. The buffer is bounded: instead of
 * growing past CBUF_MAX or failing on a lack of memory it is marked full, so
 * a writer goes on without checking and the owner decides at the end to send
 * an error rather than half an answer.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "porterd.h"

void
cbuf_add(struct cbuf *b, const char *s, size_t n)
{
	if (b->full)
		return;
	if (n > CBUF_MAX - b->len) {
		b->full = true;
		return;
	}
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 1024;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		if ((p = realloc(b->p, cap)) == NULL) {
			b->full = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void
cbuf_puts(struct cbuf *b, const char *s)
{
	cbuf_add(b, s, strlen(s));
}

void
cbuf_printf(struct cbuf *b, const char *fmt, ...)
{
	char small[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(small)) {
		cbuf_add(b, small, (size_t)n);
		return;
	}
	{
		char *big = malloc((size_t)n + 1);

		if (big == NULL) {
			b->full = true;
			return;
		}
		va_start(ap, fmt);
		vsnprintf(big, (size_t)n + 1, fmt, ap);
		va_end(ap);
		cbuf_add(b, big, (size_t)n);
		free(big);
	}
}

void
cbuf_free(struct cbuf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

void
cbuf_json(struct cbuf *b, const char *s)
{
	if (s == NULL) {
		cbuf_puts(b, "null");
		return;
	}
	cbuf_puts(b, "\"");
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			cbuf_printf(b, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			cbuf_printf(b, "\\u%04x", c);
		else
			cbuf_add(b, s, 1);
	}
	cbuf_puts(b, "\"");
}

void
cbuf_key(struct cbuf *b, bool *first, const char *key)
{
	if (!*first)
		cbuf_puts(b, ",");
	*first = false;
	cbuf_json(b, key);
	cbuf_puts(b, ":");
}
