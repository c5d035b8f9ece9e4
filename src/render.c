/*
 * render.c: rows written either as a text table or as a JSON array of
 * objects. A command lists its columns once, with the JSON name and the
 * table heading of each, and hands over every row as values in that order,
 * so that a field is named in one place and both forms always agree.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "porterd.h"

struct render_val
render_str(const char *s)
{
	return (struct render_val){ .type = s != NULL ? RENDER_STR : RENDER_NULL, .s = s };
}

struct render_val
render_num(unsigned long long n)
{
	return (struct render_val){ .type = RENDER_NUM, .n = n };
}

struct render_val
render_null(void)
{
	return (struct render_val){ .type = RENDER_NULL };
}

struct render_val
render_words(const char *const *words, size_t n)
{
	return (struct render_val){ .type = RENDER_WORDS, .words = words, .n = n };
}

struct render_val
render_raw(const char *json)
{
	return (struct render_val){ .type = json != NULL ? RENDER_RAW : RENDER_NULL, .s = json };
}

void
render_time(time_t t, char *buf, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void
render_begin(struct render *rd, struct cbuf *b, bool json, const struct render_col *cols,
    size_t ncol)
{
	memset(rd, 0, sizeof(*rd));
	rd->b = b;
	rd->json = json;
	rd->cols = cols;
	rd->ncol = ncol;
	if (ncol > RENDER_COLS)
		fatalx("render: %zu columns, more than %d", ncol, RENDER_COLS);
	for (size_t i = 0; i < ncol; i++)
		if (cols[i].head != NULL)
			rd->ntext++;
	/* Which column each place of the table shows; every place once. */
	for (size_t i = 0, seen = 0; i < ncol; i++) {
		size_t p = cols[i].pos;

		if (cols[i].head == NULL)
			continue;
		if (p >= rd->ntext || (seen & (1u << p)))
			fatalx("render: column \"%s\" at a bad place", cols[i].head);
		seen |= 1u << p;
		rd->at[p] = i;
	}
	if (json) {
		cbuf_puts(b, "[");
		return;
	}
	for (size_t p = 0; p < rd->ntext; p++)
		strv_push(&rd->cells, cols[rd->at[p]].head);
}

static void
render_json(struct cbuf *b, const struct render_val *v)
{
	switch (v->type) {
	case RENDER_NULL:
		cbuf_puts(b, "null");
		break;
	case RENDER_STR:
		cbuf_json(b, v->s);
		break;
	case RENDER_NUM:
		cbuf_printf(b, "%llu", v->n);
		break;
	case RENDER_RAW:
		cbuf_puts(b, v->s);
		break;
	case RENDER_WORDS:
		cbuf_puts(b, "[");
		for (size_t i = 0; i < v->n; i++) {
			cbuf_puts(b, i == 0 ? "" : ",");
			cbuf_json(b, v->words[i]);
		}
		cbuf_puts(b, "]");
		break;
	}
}

void
render_row(struct render *rd, const struct render_val *v, size_t n)
{
	if (n != rd->ncol)
		fatalx("render: %zu values for %zu columns", n, rd->ncol);
	if (rd->json) {
		bool first = true;

		cbuf_puts(rd->b, rd->nrows == 0 ? "\n{" : ",\n{");
		for (size_t i = 0; i < n; i++) {
			if (rd->cols[i].key == NULL)
				continue;
			cbuf_key(rd->b, &first, rd->cols[i].key);
			render_json(rd->b, &v[i]);
		}
		cbuf_puts(rd->b, "}");
	} else {
		for (size_t p = 0; p < rd->ntext; p++) {
			const struct render_col *c = &rd->cols[rd->at[p]];
			const struct render_val *x = &v[rd->at[p]];
			char num[32];

			if (x->type == RENDER_STR)
				strv_push(&rd->cells, x->s);
			else if (x->type == RENDER_NUM) {
				snprintf(num, sizeof(num), "%llu", x->n);
				strv_push(&rd->cells, num);
			} else
				strv_push(&rd->cells, c->none != NULL ? c->none : "-");
		}
	}
	rd->nrows++;
}

/* Each column as wide as its widest cell; the last one unpadded unless it
 * is aligned right. */
static void
render_table(struct render *rd)
{
	size_t width[RENDER_COLS] = { 0 }, ncol = rd->ntext;

	for (size_t i = 0; i < rd->cells.n; i++) {
		size_t w = strlen(rd->cells.v[i]), c = i % ncol;

		if (w > width[c])
			width[c] = w;
	}
	for (size_t i = 0; i < rd->cells.n; i++) {
		size_t c = i % ncol;
		const char *s = rd->cells.v[i];
		int pad = (int)(width[c] - strlen(s));

		if (rd->cols[rd->at[c]].right)
			cbuf_printf(rd->b, "%*s%s", pad, "", s);
		else if (c + 1 < ncol)
			cbuf_printf(rd->b, "%s%*s", s, pad, "");
		else
			cbuf_puts(rd->b, s);
		cbuf_puts(rd->b, c + 1 < ncol ? "  " : "\n");
	}
}

void
render_end(struct render *rd)
{
	if (rd->json)
		cbuf_puts(rd->b, rd->nrows == 0 ? "]\n" : "\n]\n");
	else
		render_table(rd);
	strv_clear(&rd->cells);
}
