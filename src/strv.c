/*
 * strv.c: growable vectors of owned strings, as the configuration keeps its
 * word lists (server_args, env, passenv, enabled). Kept NULL-terminated so a
 * vector can be handed to execve as it is.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf.h"

void
strv_push(struct strv *sv, const char *s)
{
	if (sv->n + 1 >= sv->cap) {
		sv->cap = sv->cap ? sv->cap * 2 : 8;
		sv->v = mem_realloc(sv->v, sv->cap * sizeof(*sv->v));
	}
	sv->v[sv->n++] = mem_strdup(s);
	sv->v[sv->n] = NULL;
}

void
strv_copy(struct strv *dst, const struct strv *src)
{
	strv_clear(dst);
	for (size_t i = 0; i < src->n; i++)
		strv_push(dst, src->v[i]);
}

void
strv_clear(struct strv *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->n = sv->cap = 0;
}

bool
strv_has(const struct strv *sv, const char *s)
{
	for (size_t i = 0; i < sv->n; i++)
		if (strcmp(sv->v[i], s) == 0)
			return true;
	return false;
}

bool
strv_has_case(const struct strv *sv, const char *s)
{
	for (size_t i = 0; i < sv->n; i++)
		if (strcasecmp(sv->v[i], s) == 0)
			return true;
	return false;
}

void
strv_remove(struct strv *sv, const char *s)
{
	/* s may be one of the strings about to be freed. */
	char *key = mem_strdup(s);
	size_t j = 0;

	for (size_t i = 0; i < sv->n; i++) {
		if (strcmp(sv->v[i], key) == 0)
			free(sv->v[i]);
		else
			sv->v[j++] = sv->v[i];
	}
	free(key);
	sv->n = j;
	if (sv->v != NULL)
		sv->v[j] = NULL;
}
