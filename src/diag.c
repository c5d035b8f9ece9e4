/*
 * diag.c: configuration diagnostics. Messages are collected in order with
 * their file and line so that a check prints them all and a reload can hand
 * them to the daemon log; nothing here decides how loud they are.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "conf.h"

static char *diag_add(struct diag *, struct loc, const char *, const char *, va_list)
    __attribute__((format(printf, 4, 0)));

static char *
diag_add(struct diag *d, struct loc at, const char *kind, const char *fmt, va_list ap)
{
	char msg[1024];
	char *line;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (at.file == NULL)
		line = mem_asprintf("%s%s", kind, msg);
	else if (at.line > 0)
		line = mem_asprintf("%s:%d: %s%s", at.file, at.line, kind, msg);
	else
		line = mem_asprintf("%s: %s%s", at.file, kind, msg);
	strv_push(&d->lines, line);
	return line;
}

void
diag_error(struct diag *d, struct loc at, const char *fmt, ...)
{
	va_list ap;
	char *line;

	va_start(ap, fmt);
	line = diag_add(d, at, "", fmt, ap);
	va_end(ap);
	d->errors++;
	if (d->svc == NULL)
		d->fatal++;
	else if (d->svc->fault == NULL) {
		d->svc->fault = line;
		return;
	}
	free(line);
}

void
diag_warn(struct diag *d, struct loc at, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	free(diag_add(d, at, "warning: ", fmt, ap));
	va_end(ap);
	d->warnings++;
}

void
diag_note(struct diag *d, struct loc at, const char *fmt, ...)
{
	struct strv lines = d->lines;
	va_list ap;

	/* Made as a line is, then moved to the notes. */
	d->lines = d->notes;
	va_start(ap, fmt);
	free(diag_add(d, at, "note: ", fmt, ap));
	va_end(ap);
	d->notes = d->lines;
	d->lines = lines;
}

void
diag_print(const struct diag *d, FILE *fp)
{
	for (size_t i = 0; i < d->lines.n; i++)
		fprintf(fp, "%s\n", d->lines.v[i]);
	for (size_t i = 0; i < d->notes.n; i++)
		fprintf(fp, "%s\n", d->notes.v[i]);
}

void
diag_free(struct diag *d)
{
	strv_clear(&d->lines);
	strv_clear(&d->notes);
	d->errors = d->warnings = d->fatal = 0;
	d->svc = NULL;
}
