/*
 * conf_lex.c: turns the text of a configuration file into numbered logical
 * lines with comments removed. It knows nothing of entries or attributes; a
 * '#' that starts a line or follows a blank begins a comment, so
 * "per_source = 10 # note" means what its author meant.
 */
#include <stdlib.h>
#include <string.h>

#include "conf.h"

#define CONF_LINE_MAX 65536

static bool
conf_lex_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

static void
conf_lines_push(struct conf_lines *ls, struct loc loc, const char *s, size_t n)
{
	if (ls->n == ls->cap) {
		ls->cap = ls->cap ? ls->cap * 2 : 64;
		ls->v = mem_realloc(ls->v, ls->cap * sizeof(*ls->v));
	}
	ls->v[ls->n].loc = loc;
	ls->v[ls->n].text = mem_strndup(s, n);
	ls->n++;
}

bool
conf_lex(const char *buf, size_t len, const char *file, struct conf_lines *out, struct diag *d)
{
	size_t pos = 0;
	int lineno = 0;

	if (memchr(buf, '\0', len) != NULL) {
		const char *nul = memchr(buf, '\0', len);
		int l = 1;

		for (const char *c = buf; c < nul; c++)
			l += *c == '\n';
		diag_error(d, (struct loc){ file, l },
		    "the file contains a NUL byte; is it a configuration file?");
		return false;
	}
	while (pos < len) {
		const char *line = buf + pos;
		const char *nl = memchr(line, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - line) : len - pos;
		size_t start = 0, end;

		pos += n + (nl != NULL);
		lineno++;
		if (n > CONF_LINE_MAX) {
			diag_error(d, (struct loc){ file, lineno }, "line longer than %d bytes",
			    CONF_LINE_MAX);
			continue;
		}
		/* A comment starts at a '#' that begins the line or follows a
		 * blank. */
		end = n;
		for (size_t i = 0; i < n; i++) {
			if (line[i] == '#' && (i == 0 || conf_lex_blank(line[i - 1]))) {
				end = i;
				break;
			}
		}
		while (start < end && conf_lex_blank(line[start]))
			start++;
		while (end > start && conf_lex_blank(line[end - 1]))
			end--;
		if (end > start)
			conf_lines_push(out, (struct loc){ file, lineno }, line + start,
			    end - start);
	}
	return true;
}

void
conf_lex_free(struct conf_lines *ls)
{
	for (size_t i = 0; i < ls->n; i++)
		free(ls->v[i].text);
	free(ls->v);
	ls->v = NULL;
	ls->n = ls->cap = 0;
}

void
conf_lex_split(const char *text, struct strv *words)
{
	const char *p = text;

	strv_clear(words);
	for (;;) {
		const char *w;

		while (conf_lex_blank(*p))
			p++;
		if (*p == '\0')
			break;
		w = p;
		while (*p != '\0' && !conf_lex_blank(*p))
			p++;
		{
			char *tok = mem_strndup(w, (size_t)(p - w));

			strv_push(words, tok);
			free(tok);
		}
	}
}
