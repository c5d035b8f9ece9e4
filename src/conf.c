/*
 * conf.c: the configuration model and the pipeline that builds it: entries
 * and where each attribute was set, how the defaults reach services, and
 * the order of parse, finish and check that `porterd -t`, start-up and
 * reload all share.
 */
#include <stdlib.h>
#include <string.h>

#include "conf.h"

/* ------------------------------------------------------------ model */

struct config *
conf_new(void)
{
	return mem_calloc(1, sizeof(struct config));
}

void
conf_free(struct config *cf)
{
	if (cf == NULL)
		return;
	conf_service_free(cf->defaults);
	for (size_t i = 0; i < cf->nsvc; i++)
		conf_service_free(cf->svc[i]);
	free(cf->svc);
	for (size_t i = 0; i < cf->nbroken; i++)
		conf_service_free(cf->broken[i]);
	free(cf->broken);
	strv_clear(&cf->files);
	free(cf);
}

size_t
conf_set_aside(struct config *cf)
{
	size_t j = 0, n = 0;

	for (size_t i = 0; i < cf->nsvc; i++)
		n += cf->svc[i]->fault != NULL;
	if (n == 0)
		return 0;
	cf->broken = mem_realloc(cf->broken, (cf->nbroken + n) * sizeof(*cf->broken));
	for (size_t i = 0; i < cf->nsvc; i++) {
		if (cf->svc[i]->fault != NULL)
			cf->broken[cf->nbroken++] = cf->svc[i];
		else
			cf->svc[j++] = cf->svc[i];
	}
	cf->nsvc = j;
	return n;
}

struct service_config *
conf_service_new(const char *name, struct loc loc)
{
	struct service_config *s = mem_calloc(1, sizeof(*s));

	s->name = mem_strdup(name);
	s->loc = loc;
	s->wait = -1;
	s->port = -1;
	s->instances = COUNT_UNLIMITED;
	s->per_source = COUNT_UNLIMITED;
	s->per_source_prefix4 = 32;
	s->per_source_prefix6 = 128;
	s->umask = -1;
	s->socket_mode = -1;
	s->socket_uid = (uid_t)-1;
	s->socket_gid = (gid_t)-1;
	s->proxy_timeout = PROXY_TIMEOUT_S;
	s->tls_handshake_timeout = TLS_HANDSHAKE_TIMEOUT_S;
	s->tmp_size = NS_TMP_SIZE;
	return s;
}

void
conf_service_free(struct service_config *s)
{
	if (s == NULL)
		return;
	free(s->at);
	free(s->name);
	free(s->fault);
	tls_ctx_unref(s->tls_ctx);
	sandbox_free(s->sandbox);
	ns_plan_free(s->ns);
	free(s->unix_path);
	for (int i = 0; i < 4; i++)
		free(s->ids[i]);
	for (int id = 0; id < A_MAX; id++) {
		const struct conf_attr *a = conf_attr_get((enum attr_id)id);

		if (a->free != NULL)
			a->free(s, a);
	}
	free(s);
}

const char *
conf_intern(struct config *cf, const char *file)
{
	for (size_t i = 0; i < cf->files.n; i++)
		if (strcmp(cf->files.v[i], file) == 0)
			return cf->files.v[i];
	strv_push(&cf->files, file);
	return cf->files.v[cf->files.n - 1];
}

void
conf_add_service(struct config *cf, struct service_config *s)
{
	cf->svc = mem_realloc(cf->svc, (cf->nsvc + 1) * sizeof(*cf->svc));
	cf->svc[cf->nsvc++] = s;
}

struct service_config *
conf_find_id(const struct config *cf, const char *id)
{
	for (size_t i = 0; i < cf->nsvc; i++) {
		const struct service_config *s = cf->svc[i];

		if (strcmp(s->id ? s->id : s->name, id) == 0)
			return cf->svc[i];
	}
	return NULL;
}

void
conf_service_set(struct service_config *s, enum attr_id a, struct loc loc)
{
	unsigned i = 0;

	while (i < s->nat && s->at[i].attr != (int)a)
		i++;
	if (i == s->nat) {
		/* Sized exactly: an entry sets few attributes. */
		s->at = mem_realloc(s->at, (s->nat + 1) * sizeof(*s->at));
		s->nat++;
	}
	s->at[i] = (struct attr_at){ loc.file, loc.line, (int)a };
	attr_set_add(&s->has, a);
	attr_set_add(&s->own, a);
}

struct loc
conf_service_at(const struct service_config *s, enum attr_id a)
{
	for (unsigned i = 0; i < s->nat; i++)
		if (s->at[i].attr == (int)a)
			return (struct loc){ s->at[i].file, s->at[i].line };
	/* Copied from the defaults: where the defaults set it. */
	if (conf_service_has(s, a) && s->defaults != NULL)
		return conf_service_at(s->defaults, a);
	return (struct loc){ 0 };
}

/* ------------------------------------------------------------ defaults */

/*
 * Gives s the defaults' value of every attribute whose entry has one of the
 * how bits, unless s has the attribute already. Each comes with the has bit
 * but no location of its own: conf_service_at looks in the defaults.
 */
static void
defaults_copy(const struct config *cf, struct service_config *s, unsigned how)
{
	const struct service_config *def = cf->defaults;

	if (def == NULL)
		return;
	for (int id = 0; id < A_MAX; id++) {
		const struct conf_attr *a = conf_attr_get((enum attr_id)id);

		if (!(a->how & how) || !conf_service_has(def, (enum attr_id)id) ||
		    conf_service_has(s, (enum attr_id)id))
			continue;
		a->copy(s, def, a);
		attr_set_add(&s->has, id);
		s->defaults = def;
	}
}

/* Copies the defaults that xinetd copies when a service entry starts. */
void
conf_defaults_copy(const struct config *cf, struct service_config *s)
{
	defaults_copy(cf, s, K_COPIED);
}

/* ------------------------------------------------------------ finishing */

void
conf_finish(struct config *cf, struct diag *d)
{
	const struct service_config *def = cf->defaults;
	size_t j = 0;

	for (size_t i = 0; i < cf->nsvc; i++) {
		struct service_config *s = cf->svc[i];

		if (s->id == NULL)
			s->id = mem_strdup(s->name);
		/* The others once the entry is whole. */
		defaults_copy(cf, s, K_FILLED);
	}
	if (def != NULL) {
		for (size_t k = 0; k < def->enabled.n; k++)
			if (conf_find_id(cf, def->enabled.v[k]) == NULL)
				diag_warn(d, conf_service_at(def, A_ENABLED),
				    "enabled: no service has the id \"%s\"", def->enabled.v[k]);
		for (size_t k = 0; k < def->disabled.n; k++)
			if (conf_find_id(cf, def->disabled.v[k]) == NULL)
				diag_warn(d, conf_service_at(def, A_DISABLED),
				    "disabled: no service has the id \"%s\"", def->disabled.v[k]);
	}
	for (size_t i = 0; i < cf->nsvc; i++) {
		struct service_config *s = cf->svc[i];
		bool off = s->disable;

		if (def != NULL && conf_service_has(def, A_ENABLED) &&
		    !strv_has(&def->enabled, s->id))
			off = true;
		if (def != NULL && strv_has(&def->disabled, s->id))
			off = true;
		if (off)
			conf_service_free(s);
		else
			cf->svc[j++] = s;
	}
	cf->nsvc = j;
}

struct config *
conf_load(const char *path, const char *inetd_path, enum inetd_dialect dialect, struct diag *d)
{
	struct config *cf = conf_new();

	if (path != NULL)
		conf_parse_file(cf, path, NULL, d);
	if (inetd_path != NULL)
		conf_inetd_file(cf, inetd_path, dialect, d);
	conf_finish(cf, d);
	conf_check(cf, d);
	return cf;
}
