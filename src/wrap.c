/*
 * wrap.c: tcp_wrappers' /etc/hosts.allow and /etc/hosts.deny, read by
 * porterd itself as Debian's xinetd reads them through libwrap, so a
 * cut-over keeps every rule. The files are parsed when the configuration
 * is loaded (a rule porterd cannot honour is a warning with its file and
 * line) and a client is matched by a pure function: hosts.allow grants at
 * its first matching line, else hosts.deny denies at its first, else the
 * client is let in. A pattern that needs the client's host name makes the
 * answer wait for it, like a host name in only_from.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "porterd.h"

enum wrap_kind {
	WP_ALL,
	WP_LOCAL,    /* a host name without a dot */
	WP_KNOWN,    /* a confirmed host name */
	WP_UNKNOWN,  /* no host name */
	WP_PARANOID, /* a name whose forward lookup is not the address */
	WP_DOMAIN,   /* ".example.com": a suffix of the host name */
	WP_HOST,     /* a host name */
	WP_PREFIX,   /* "192.168.": a prefix of the address's text */
	WP_NET,      /* an address and a mask (or an exact address) */
	WP_EXCEPT,
	WP_NONE, /* a form porterd does not honour: matches nothing */
};

struct wrap_pat {
	uint8_t kind;   /* enum wrap_kind */
	uint8_t family; /* WP_NET */
	uint8_t addr[16];
	uint8_t mask[16];
	char *text; /* lower case; WP_DOMAIN, WP_HOST, WP_PREFIX, daemons */
};

struct wrap_rule {
	char *file; /* owned copy */
	int line;
	bool grants; /* allow file, or an allow option */
	char *text;  /* the rule as written, for explain */
	struct wrap_pat *daemons;
	size_t ndaemons;
	struct wrap_pat *clients;
	size_t nclients;
};

struct wrap {
	struct wrap_rule *rule; /* hosts.allow's, then hosts.deny's */
	size_t n;
};

/* Three-valued: a name pattern before the name is known is unknown. */
enum tri { T_NO, T_YES, T_UNSURE };

static enum tri
tri_or(enum tri a, enum tri b)
{
	if (a == T_YES || b == T_YES)
		return T_YES;
	return a == T_UNSURE || b == T_UNSURE ? T_UNSURE : T_NO;
}

static enum tri
tri_and_not(enum tri a, enum tri b)
{
	enum tri nb = b == T_YES ? T_NO : b == T_NO ? T_YES : T_UNSURE;

	if (a == T_NO || nb == T_NO)
		return T_NO;
	return a == T_UNSURE || nb == T_UNSURE ? T_UNSURE : T_YES;
}

/* ------------------------------------------------------------ parsing */

static void
wrap_lower(char *s)
{
	for (; *s != '\0'; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

/* "n.n.n.n/m.m.m.m", "n.n.n.n/len", "[v6]/len", "[v6]" or an address. */
static bool
wrap_parse_net(const char *tok, struct wrap_pat *p)
{
	char buf[INET6_ADDRSTRLEN + 8], *slash;
	const char *addr = tok;
	size_t alen;
	int family;

	if (strlen(tok) >= sizeof(buf))
		return false;
	strcpy(buf, tok);
	slash = strchr(buf, '/');
	if (slash != NULL)
		*slash++ = '\0';
	if (buf[0] == '[') {
		size_t n = strlen(buf);

		if (n < 3 || buf[n - 1] != ']')
			return false;
		buf[n - 1] = '\0';
		addr = buf + 1;
		family = AF_INET6;
	} else {
		addr = buf;
		family = strchr(buf, ':') != NULL ? AF_INET6 : AF_INET;
	}
	if (inet_pton(family, addr, p->addr) != 1)
		return false;
	alen = family == AF_INET ? 4 : 16;
	memset(p->mask, 0xff, alen);
	if (slash != NULL) {
		unsigned long long len;

		if (family == AF_INET && strchr(slash, '.') != NULL) {
			if (inet_pton(AF_INET, slash, p->mask) != 1)
				return false;
		} else if (util_parse_uint(slash, alen * 8, &len)) {
			memset(p->mask, 0, alen);
			for (unsigned i = 0; i < len; i++)
				p->mask[i / 8] |= (uint8_t)(0x80u >> (i % 8));
		} else
			return false;
	}
	for (size_t i = 0; i < alen; i++)
		p->addr[i] &= p->mask[i];
	p->family = (uint8_t)family;
	p->kind = WP_NET;
	return true;
}

/* One client pattern; a form that cannot be honoured warns and matches
 * nothing. */
static void
wrap_parse_client(const char *tok, struct wrap_pat *p, struct diag *d, struct loc loc)
{
	static const struct {
		const char *word;
		enum wrap_kind kind;
	} words[] = { { "ALL", WP_ALL }, { "LOCAL", WP_LOCAL }, { "KNOWN", WP_KNOWN },
		{ "UNKNOWN", WP_UNKNOWN }, { "PARANOID", WP_PARANOID }, { "EXCEPT", WP_EXCEPT } };
	size_t n = strlen(tok);

	memset(p, 0, sizeof(*p));
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strcasecmp(tok, words[i].word) == 0) {
			p->kind = (uint8_t)words[i].kind;
			return;
		}
	if (tok[0] == '@' || tok[0] == '/' || strpbrk(tok, "*?") != NULL || strchr(tok, '@')) {
		diag_warn(d, loc,
		    "client pattern \"%s\" (netgroup, file, wildcard or user@host) is not honoured; it matches no client",
		    tok);
		p->kind = WP_NONE;
		return;
	}
	if (tok[0] == '.' && n > 1) {
		p->kind = WP_DOMAIN;
	} else if (tok[n - 1] == '.' && strspn(tok, "0123456789.") == n) {
		p->kind = WP_PREFIX;
	} else if (wrap_parse_net(tok, p)) {
		return;
	} else if (strspn(tok,
	               "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.") == n) {
		p->kind = WP_HOST;
	} else {
		diag_warn(d, loc,
		    "client pattern \"%s\" is not an address, network or host name; it matches no client",
		    tok);
		p->kind = WP_NONE;
		return;
	}
	p->text = mem_strdup(tok);
	wrap_lower(p->text);
}

static void
wrap_parse_daemon(const char *tok, struct wrap_pat *p, struct diag *d, struct loc loc)
{
	memset(p, 0, sizeof(*p));
	if (strcasecmp(tok, "ALL") == 0) {
		p->kind = WP_ALL;
	} else if (strcasecmp(tok, "EXCEPT") == 0) {
		p->kind = WP_EXCEPT;
	} else if (strchr(tok, '@') != NULL) {
		diag_warn(d, loc,
		    "daemon pattern \"%s\" (daemon@host) is not honoured; it matches no service",
		    tok);
		p->kind = WP_NONE;
	} else {
		p->kind = WP_HOST;
		p->text = mem_strdup(tok);
	}
}

/* Splits a list on blanks and commas into patterns. */
static struct wrap_pat *
wrap_list(const char *text, size_t *np, bool daemons, struct diag *d, struct loc loc)
{
	char *copy = mem_strdup(text), *save = NULL;
	struct wrap_pat *v = NULL;
	size_t n = 0;

	for (char *tok = strtok_r(copy, " \t,", &save); tok != NULL;
	     tok = strtok_r(NULL, " \t,", &save)) {
		v = mem_realloc(v, (n + 1) * sizeof(*v));
		if (daemons)
			wrap_parse_daemon(tok, &v[n], d, loc);
		else
			wrap_parse_client(tok, &v[n], d, loc);
		n++;
	}
	free(copy);
	*np = n;
	return v;
}

/* The fields of a rule, split at the colons that no backslash escapes. */
static size_t
wrap_fields(char *line, char **field, size_t max)
{
	size_t n = 0;

	int depth = 0; /* inside [ ] of an IPv6 address */

	field[n++] = line;
	for (char *p = line; *p != '\0'; p++) {
		if (*p == '\\' && p[1] != '\0') {
			p++;
			continue;
		}
		if (*p == '[')
			depth++;
		else if (*p == ']' && depth > 0)
			depth--;
		else if (*p == ':' && depth == 0 && n < max) {
			*p = '\0';
			field[n++] = p + 1;
		}
	}
	return n;
}

static char *
wrap_trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

static void
wrap_add(struct wrap *w, const char *file, int lineno, bool grants, char *line, struct diag *d)
{
	struct loc loc = { file, lineno };
	char *text = mem_strdup(line), *field[3];
	size_t nf = wrap_fields(line, field, 3);
	struct wrap_rule *r;

	if (nf < 2) {
		diag_warn(d, loc, "not a rule (daemon_list : client_list [: options]); ignored");
		free(text);
		return;
	}
	w->rule = mem_realloc(w->rule, (w->n + 1) * sizeof(*w->rule));
	r = &w->rule[w->n++];
	memset(r, 0, sizeof(*r));
	r->file = mem_strdup(file);
	r->line = lineno;
	r->grants = grants;
	r->text = text;
	r->daemons = wrap_list(wrap_trim(field[0]), &r->ndaemons, true, d, loc);
	r->clients = wrap_list(wrap_trim(field[1]), &r->nclients, false, d, loc);
	if (nf == 3) {
		/* Options: allow and deny are honoured, the rest (spawn, twist,
		 * banners, severity, ...) is not. */
		char *opts = wrap_trim(field[2]), *save = NULL;

		for (char *o = strtok_r(opts, ":", &save); o != NULL;
		     o = strtok_r(NULL, ":", &save)) {
			o = wrap_trim(o);
			if (strcasecmp(o, "allow") == 0)
				r->grants = true;
			else if (strcasecmp(o, "deny") == 0)
				r->grants = false;
			else if (*o != '\0')
				diag_warn(d, loc,
				    "option \"%s\" is not honoured; the rule still applies", o);
		}
	}
}

static void
wrap_read(struct wrap *w, const char *path, bool grants, struct diag *d)
{
	FILE *fp = fopen(path, "re");
	char *line = NULL, *acc = NULL;
	size_t cap = 0, alen = 0;
	int lineno = 0, first = 0;
	ssize_t n;

	if (fp == NULL) {
		if (errno != ENOENT)
			diag_warn(d, (struct loc){ path, 0 }, "cannot be read: %s",
			    strerror(errno));
		return;
	}
	while ((n = getline(&line, &cap, fp)) >= 0) {
		bool more;

		lineno++;
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		/* A backslash at the end joins the next line. */
		more = n > 0 && line[n - 1] == '\\';
		if (more)
			line[--n] = '\0';
		if (alen == 0)
			first = lineno;
		{
			/* A continued line joins with one blank. */
			char *part = alen > 0 ? wrap_trim(line) : line;
			size_t plen = strlen(part);

			acc = mem_realloc(acc, alen + plen + 2);
			if (alen > 0) {
				while (alen > 0 && (acc[alen - 1] == ' ' || acc[alen - 1] == '\t'))
					alen--;
				acc[alen++] = ' ';
			}
			memcpy(acc + alen, part, plen);
			alen += plen;
			acc[alen] = '\0';
		}
		if (more)
			continue;
		{
			char *t = wrap_trim(acc);

			if (*t != '\0' && *t != '#')
				wrap_add(w, path, first, grants, t, d);
		}
		alen = 0;
	}
	free(line);
	free(acc);
	fclose(fp);
}

struct wrap *
wrap_load(const char *allow, const char *deny, struct diag *d)
{
	struct wrap *w = mem_calloc(1, sizeof(*w));

	wrap_read(w, allow, true, d);
	wrap_read(w, deny, false, d);
	if (w->n == 0) {
		wrap_free(w);
		return NULL;
	}
	return w;
}

void
wrap_free(struct wrap *w)
{
	if (w == NULL)
		return;
	for (size_t i = 0; i < w->n; i++) {
		struct wrap_rule *r = &w->rule[i];

		for (size_t j = 0; j < r->ndaemons; j++)
			free(r->daemons[j].text);
		for (size_t j = 0; j < r->nclients; j++)
			free(r->clients[j].text);
		free(r->daemons);
		free(r->clients);
		free(r->file);
		free(r->text);
	}
	free(w->rule);
	free(w);
}

/* ------------------------------------------------------------ matching */

static enum tri
wrap_daemon(const struct wrap_pat *p, const char *const *names)
{
	if (p->kind == WP_ALL)
		return T_YES;
	if (p->kind != WP_HOST)
		return T_NO;
	for (size_t i = 0; names[i] != NULL; i++)
		if (strcasecmp(p->text, names[i]) == 0)
			return T_YES;
	return T_NO;
}

static enum tri
wrap_client(const struct wrap_pat *p, const struct wrap_client *c)
{
	/* What a pattern on the name says before the name is known. */
	bool unsure = !c->name_known || c->name_failed;
	size_t n, len;

	switch ((enum wrap_kind)p->kind) {
	case WP_ALL:
		return T_YES;
	case WP_NET:
		if (p->family != c->family)
			return T_NO;
		for (size_t i = 0; i < (p->family == AF_INET ? 4u : 16u); i++)
			if ((c->addr[i] & p->mask[i]) != p->addr[i])
				return T_NO;
		return T_YES;
	case WP_PREFIX:
		return strncmp(c->text, p->text, strlen(p->text)) == 0 ? T_YES : T_NO;
	case WP_LOCAL:
		if (unsure)
			return T_UNSURE;
		return c->name != NULL && strchr(c->name, '.') == NULL ? T_YES : T_NO;
	case WP_KNOWN:
		if (unsure)
			return T_UNSURE;
		return c->name != NULL ? T_YES : T_NO;
	case WP_UNKNOWN:
		if (unsure)
			return T_UNSURE;
		return c->name == NULL ? T_YES : T_NO;
	case WP_PARANOID:
		if (unsure)
			return T_UNSURE;
		return c->paranoid ? T_YES : T_NO;
	case WP_DOMAIN:
		if (unsure)
			return T_UNSURE;
		if (c->name == NULL)
			return T_NO;
		n = strlen(c->name);
		len = strlen(p->text);
		return n > len && strcasecmp(c->name + n - len, p->text) == 0 ? T_YES : T_NO;
	case WP_HOST:
		if (unsure)
			return T_UNSURE;
		return c->name != NULL && strcasecmp(c->name, p->text) == 0 ? T_YES : T_NO;
	case WP_EXCEPT:
	case WP_NONE:
		break;
	}
	return T_NO;
}

/* A list with EXCEPT: "a b EXCEPT c d EXCEPT e" is a|b and not (c|d and
 * not e), as tcp_wrappers reads it. */
static enum tri
wrap_list_match(const struct wrap_pat *v, size_t n, const char *const *daemons,
    const struct wrap_client *c)
{
	enum tri r = T_NO;

	for (size_t i = 0; i < n; i++) {
		if (v[i].kind == WP_EXCEPT)
			return tri_and_not(r, wrap_list_match(v + i + 1, n - i - 1, daemons, c));
		r = tri_or(r,
		    daemons != NULL ? wrap_daemon(&v[i], daemons) : wrap_client(&v[i], c));
	}
	return r;
}

enum acl_verdict
wrap_check(const struct wrap *w, const char *const *daemons, const struct wrap_client *c,
    const struct wrap_rule **deciding)
{
	*deciding = NULL;
	for (size_t i = 0; w != NULL && i < w->n; i++) {
		const struct wrap_rule *r = &w->rule[i];
		enum tri m;

		if (wrap_list_match(r->daemons, r->ndaemons, daemons, c) != T_YES)
			continue;
		if ((m = wrap_list_match(r->clients, r->nclients, NULL, c)) == T_NO)
			continue;
		*deciding = r;
		if (m == T_UNSURE)
			/* The name decides; without one to be had, it denies. */
			return c->name_known ? ACL_DENY : ACL_NEED_NAME;
		return r->grants ? ACL_ALLOW : ACL_DENY;
	}
	return ACL_ALLOW;
}

bool
wrap_applies(const struct wrap *w, const char *const *daemons)
{
	for (size_t i = 0; w != NULL && i < w->n; i++)
		if (wrap_list_match(w->rule[i].daemons, w->rule[i].ndaemons, daemons, NULL) ==
		    T_YES)
			return true;
	return false;
}

void
wrap_rule_text(const struct wrap_rule *r, char *buf, size_t len)
{
	snprintf(buf, len, "%s:%d: %s", r->file, r->line, r->text);
}
