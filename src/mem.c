/*
 * mem.c: allocation that cannot fail quietly. A failure here is fatal, logged
 * through the daemon log, because these functions are used only while
 * starting and loading a configuration; the connection path calls the
 * plain allocators and refuses the one connection when they fail.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "porterd.h"

static _Noreturn void
mem_oom(void)
{
	fatalx("out of memory");
}

void *
mem_alloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		mem_oom();
	return p;
}

void *
mem_calloc(size_t n, size_t m)
{
	void *p = calloc(n ? n : 1, m ? m : 1);

	if (p == NULL)
		mem_oom();
	return p;
}

void *
mem_realloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (q == NULL)
		mem_oom();
	return q;
}

char *
mem_strdup(const char *s)
{
	char *p = strdup(s);

	if (p == NULL)
		mem_oom();
	return p;
}

char *
mem_strndup(const char *s, size_t n)
{
	char *p = strndup(s, n);

	if (p == NULL)
		mem_oom();
	return p;
}

char *
mem_asprintf(const char *fmt, ...)
{
	va_list ap;
	char *p;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&p, fmt, ap);
	va_end(ap);
	if (r < 0)
		mem_oom();
	return p;
}
