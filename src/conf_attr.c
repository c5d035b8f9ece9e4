/*
 * conf_attr.c: what each attribute of xinetd.conf is, in one table indexed
 * by enum attr_id: its name, where it may appear, how many values it takes,
 * and the hooks that read those values into struct service_config, copy
 * them from the defaults, print them in canonical form and free them. Most
 * attributes use generic hooks that find their field through the entry, so
 * adding one is a field, an id and an entry here. The names of type, flags,
 * log_on_* bits and syslog facilities and levels are here too. The grammar
 * (conf_parse.c), the defaults rules (conf.c) and the printer (conf_dump.c)
 * drive the table; none of it reads files.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

#include "conf.h"

/* ------------------------------------------------------------ names */

struct attr_name {
	const char *name;
	unsigned bit; /* or the number the name stands for */
};

static const struct attr_name sandbox_words[] = {
	{ "none", SANDBOX_NONE },
	{ "strict", SANDBOX_STRICT },
	{ NULL, 0 },
};

static const struct attr_name protect_system_words[] = {
	{ "no", PROTECT_NO },
	{ "yes", PROTECT_YES },
	{ "full", PROTECT_FULL },
	{ "strict", PROTECT_STRICT },
	{ NULL, 0 },
};

static const struct attr_name protect_home_words[] = {
	{ "no", PROTECT_HOME_NO },
	{ "yes", PROTECT_HOME_YES },
	{ "read-only", PROTECT_HOME_READ_ONLY },
	{ "tmpfs", PROTECT_HOME_TMPFS },
	{ NULL, 0 },
};

static const struct attr_name types[] = {
	{ "RPC", T_RPC },
	{ "INTERNAL", T_INTERNAL },
	{ "UNLISTED", T_UNLISTED },
	{ "TCPMUX", T_TCPMUX },
	{ "TCPMUXPLUS", T_TCPMUXPLUS },
	{ NULL, 0 },
};

static const struct attr_name flags[] = {
	{ "INTERCEPT", F_INTERCEPT },
	{ "NORETRY", F_NORETRY },
	{ "IDONLY", F_IDONLY },
	{ "NAMEINARGS", F_NAMEINARGS },
	{ "NODELAY", F_NODELAY },
	{ "KEEPALIVE", F_KEEPALIVE },
	{ "NOLIBWRAP", F_NOLIBWRAP },
	{ "SENSOR", F_SENSOR },
	{ "IPv4", F_IPV4 },
	{ "IPv6", F_IPV6 },
	{ "LABELED", F_LABELED },
	{ "REUSE", F_REUSE },
	{ "FULLREPLY", F_FULLREPLY },
	{ NULL, 0 },
};

static const struct attr_name log_success[] = {
	{ "PID", L_PID },
	{ "HOST", L_HOST },
	{ "USERID", L_USERID },
	{ "EXIT", L_EXIT },
	{ "DURATION", L_DURATION },
	{ "TRAFFIC", L_TRAFFIC },
	{ NULL, 0 },
};

static const struct attr_name log_failure[] = {
	{ "HOST", L_HOST },
	{ "USERID", L_USERID },
	{ "ATTEMPT", L_ATTEMPT },
	{ NULL, 0 },
};

static const struct attr_name facilities[] = {
	{ "daemon", LOG_DAEMON },
	{ "auth", LOG_AUTH },
	{ "authpriv", LOG_AUTHPRIV },
	{ "user", LOG_USER },
	{ "mail", LOG_MAIL },
	{ "lpr", LOG_LPR },
	{ "news", LOG_NEWS },
	{ "uucp", LOG_UUCP },
	{ "ftp", LOG_FTP },
	{ "local0", LOG_LOCAL0 },
	{ "local1", LOG_LOCAL1 },
	{ "local2", LOG_LOCAL2 },
	{ "local3", LOG_LOCAL3 },
	{ "local4", LOG_LOCAL4 },
	{ "local5", LOG_LOCAL5 },
	{ "local6", LOG_LOCAL6 },
	{ "local7", LOG_LOCAL7 },
	{ NULL, 0 },
};

static const struct attr_name levels[] = {
	{ "emerg", LOG_EMERG },
	{ "alert", LOG_ALERT },
	{ "crit", LOG_CRIT },
	{ "err", LOG_ERR },
	{ "warning", LOG_WARNING },
	{ "notice", LOG_NOTICE },
	{ "info", LOG_INFO },
	{ "debug", LOG_DEBUG },
	{ NULL, 0 },
};

static const struct attr_name *
name_find(const struct attr_name *t, const char *v)
{
	for (; t->name != NULL; t++)
		if (strcasecmp(t->name, v) == 0)
			return t;
	return NULL;
}

static const char *
name_of(const struct attr_name *t, unsigned bit)
{
	for (; t->name != NULL; t++)
		if (t->bit == bit)
			return t->name;
	return "?";
}

static void
name_list(const struct attr_name *t, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (; t->name != NULL && o < len; t++)
		o += (size_t)snprintf(buf + o, len - o, "%s%s", o ? " " : "", t->name);
}

/* The entry of t for word, or NULL after a diagnostic that calls the word a
 * what and lists the names t knows. */
static const struct attr_name *
name_read(struct diag *d, const struct conf_attr *a, const struct attr_name *t, const char *word,
    const char *what, struct loc loc)
{
	const struct attr_name *nb = name_find(t, word);
	char known[256];

	if (nb == NULL) {
		name_list(t, known, sizeof(known));
		diag_error(d, loc, "%s: unknown %s \"%s\" (known: %s)", a->name, what, word, known);
	}
	return nb;
}

const char *
conf_attr_type_name(unsigned bit)
{
	return name_of(types, bit);
}

const char *
conf_attr_flag_name(unsigned bit)
{
	return name_of(flags, bit);
}

const char *
conf_attr_log_name(unsigned bit)
{
	return bit == L_ATTEMPT ? "ATTEMPT" : name_of(log_success, bit);
}

const char *
conf_attr_facility_name(int facility)
{
	return name_of(facilities, (unsigned)facility);
}

const char *
conf_attr_level_name(int level)
{
	return name_of(levels, (unsigned)level);
}

/* ------------------------------------------------------------ fields */

/*
 * The hooks that serve many attributes reach the value through the entry:
 * the offset of its field (or of each of a pair) and, for numbers and
 * yes/no, the field's C type, which the table takes from the struct itself.
 */

/* How many fields an entry describes: pairs such as cps have two. */
static size_t
nfields(const struct conf_attr *a)
{
	return a->field[1].size != 0 ? 2 : a->field[0].size != 0 ? 1 : 0;
}

static void *
field_at(struct service_config *s, const struct conf_attr *a, size_t i)
{
	return (char *)s + a->field[i].off;
}

static const void *
field_in(const struct service_config *s, const struct conf_attr *a, size_t i)
{
	return (const char *)s + a->field[i].off;
}

static long long
number_get(const struct service_config *s, const struct conf_attr *a, size_t i)
{
	const void *f = field_in(s, a, i);

	switch (a->field[i].ctype) {
	case CT_BOOL:
		return *(const bool *)f;
	case CT_INT:
		return *(const int *)f;
	case CT_UINT:
		return *(const unsigned *)f;
	case CT_ULONG:
		return (long long)*(const unsigned long *)f;
	default:
		abort();
	}
}

static void
number_put(struct service_config *s, const struct conf_attr *a, size_t i, long long n)
{
	void *f = field_at(s, a, i);

	switch (a->field[i].ctype) {
	case CT_BOOL:
		*(bool *)f = n != 0;
		break;
	case CT_INT:
		*(int *)f = (int)n;
		break;
	case CT_UINT:
		*(unsigned *)f = (unsigned)n;
		break;
	case CT_ULONG:
		*(unsigned long *)f = (unsigned long)n;
		break;
	default:
		abort();
	}
}

/* Numbers, bits and whatever else owns no memory: a copy of the bytes. */
static void
copy_plain(struct service_config *dst, const struct service_config *src, const struct conf_attr *a)
{
	for (size_t i = 0; i < nfields(a); i++)
		memcpy(field_at(dst, a, i), field_in(src, a, i), a->field[i].size);
}

/* ------------------------------------------------------------ values */

static bool
parse_yes_no(struct diag *d, const struct conf_attr *a, const char *v, bool *out, struct loc loc)
{
	if (strcasecmp(v, "yes") == 0)
		*out = true;
	else if (strcasecmp(v, "no") == 0)
		*out = false;
	else {
		diag_error(d, loc, "%s: expected yes or no, not \"%s\"", a->name, v);
		return false;
	}
	return true;
}

/* A number in [min, max], or with unlimited also "UNLIMITED" (-1). */
static bool
parse_num(struct diag *d, const struct conf_attr *a, const char *v, long long min, long long max,
    bool unlimited, long long *out, struct loc loc)
{
	unsigned long long u;
	const char *digits = v;
	bool neg = false;

	if (unlimited && strcasecmp(v, "UNLIMITED") == 0) {
		*out = -1;
		return true;
	}
	if (min < 0 && *v == '-') {
		neg = true;
		digits++;
	}
	if (!util_parse_uint(digits, (unsigned long long)LLONG_MAX, &u) ||
	    (neg ? -(long long)u : (long long)u) < min ||
	    (neg ? -(long long)u : (long long)u) > max) {
		diag_error(d, loc, "%s: expected a number from %lld to %lld%s, not \"%s\"", a->name,
		    min, max, unlimited ? " or UNLIMITED" : "", v);
		return false;
	}
	*out = neg ? -(long long)u : (long long)u;
	return true;
}

/* A byte size: a number with an optional K, M or G suffix. */
static bool
parse_size(const char *v, uint64_t *out)
{
	char buf[32];
	size_t n = strlen(v);
	unsigned long long u, mul = 1;

	if (n == 0 || n >= sizeof(buf))
		return false;
	memcpy(buf, v, n + 1);
	switch (toupper((unsigned char)buf[n - 1])) {
	case 'K':
		mul = 1024ull;
		break;
	case 'M':
		mul = 1024ull * 1024;
		break;
	case 'G':
		mul = 1024ull * 1024 * 1024;
		break;
	}
	if (mul != 1)
		buf[n - 1] = '\0';
	if (!util_parse_uint(buf, (UINT64_MAX - 1) / mul, &u))
		return false;
	*out = u * mul;
	return true;
}

static void
set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = mem_strdup(v);
}

static bool
env_name_ok(const char *n, size_t len)
{
	if (len == 0 || !(isalpha((unsigned char)n[0]) || n[0] == '_'))
		return false;
	for (size_t i = 1; i < len; i++)
		if (!(isalnum((unsigned char)n[i]) || n[i] == '_'))
			return false;
	return true;
}

/* ------------------------------------------------------------ yes or no */

static bool
parse_bool(struct diag *d, struct service_config *s, const struct conf_attr *a, enum attr_op op,
    const struct strv *v, struct loc loc)
{
	bool b;

	(void)op;
	if (!parse_yes_no(d, a, v->v[0], &b, loc))
		return false;
	/* mdns has no field: the line is checked, then ignored. */
	if (nfields(a) > 0)
		number_put(s, a, 0, b);
	return true;
}

static void
dump_bool(FILE *fp, const struct service_config *s, const struct conf_attr *a)
{
	fputs(number_get(s, a, 0) ? "yes" : "no", fp);
}

/* ------------------------------------------------------------ numbers */

/* One number, or a pair such as cps, each in the range of its field. */
static bool
parse_number(struct diag *d, struct service_config *s, const struct conf_attr *a, enum attr_op op,
    const struct strv *v, struct loc loc)
{
	long long n[2];

	(void)op;
	for (size_t i = 0; i < nfields(a); i++)
		if (!parse_num(d, a, v->v[i], a->field[i].lo, a->field[i].hi, a->unlimited, &n[i],
		        loc))
			return false;
	for (size_t i = 0; i < nfields(a); i++)
		number_put(s, a, i, n[i]);
	return true;
}

static void
dump_number(FILE *fp, const struct service_config *s, const struct conf_attr *a)
{
	for (size_t i = 0; i < nfields(a); i++) {
		long long n = number_get(s, a, i);

		if (i > 0)
			fputc(' ', fp);
		if (a->unlimited && n == COUNT_UNLIMITED)
			fputs("UNLIMITED", fp);
		else
			fprintf(fp, "%lld", n);
	}
}

/* ------------------------------------------------------------ strings */

static bool
parse_string(struct diag *d, struct service_config *s, const struct conf_attr *a, enum attr_op op,
    const struct strv *v, struct loc loc)
{
	(void)d, (void)op, (void)loc;
	set_str(field_at(s, a, 0), v->v[0]);
	return true;
}

static bool
parse_path(struct diag *d, struct service_config *s, const struct conf_attr *a, enum attr_op op,
    const struct strv *v, struct loc loc)
{
	if (v->v[0][0] != '/') {
		diag_error(d, loc, "%s: \"%s\" is not an absolute path", a->name, v->v[0]);
		return false;
	}
	return parse_string(d, s, a, op, v, loc);
}

static bool
parse_redirect(struct diag *d, struct service_config *s, const struct conf_attr *a, enum attr_op op,
    const struct strv *v, struct loc loc)
{
	long long port;

	(void)op;
	/* The port may be a service name; conf_check resolves it. */
	if (isdigit((unsigned char)v->v[1][0]) &&
	    !parse_num(d, a, v->v[1], 1, 65535, false, &port, loc))
		return false;
	set_str(field_at(s, a, 0), v->v[0]);
	set_str(field_at(s, a, 1), v->v[1]);
	return true;
}

static void
copy_string(struct service_config *dst, const struct service_config *src, const struct conf_attr *a)
{
	for (size_t i = 0; i < nfields(a); i++)
		set_str(field_at(dst, a, i), *(char *const *)field_in(src, a, i));
}

static void
dump_string(FILE *fp, const struct service_config *s, const struct conf_attr *a)
{
	for (size_t i = 0; i < nfields(a); i++)
		fprintf(fp, "%s%s", i ? " " : "", *(char *const *)field_in(s, a, i));
}

static void
free_string(struct service_config *s, const struct conf_attr *a)
{
	for (size_t i = 0; i < nfields(a); i++)
		free(*(char **)field_at(s, a, i));
}

/* ------------------------------------------------------------ word lists */

static bool
parse_words(struct diag *d, struct service_config *s, const struct conf_attr *a, enum attr_op op,
    const struct strv *v, struct loc loc)
{
	(void)d, (void)op, (void)loc;
	strv_copy(field_at(s, a, 0), v);
	return true;
}

/* A set of names: '=' replaces it, '+=' adds the names it lacks, '-='
 * removes. */
static bool
parse_names(struct diag *d, struct service_config *s, const struct conf_attr *a, enum attr_op op,
    const struct strv *v, struct loc loc)
{
	struct strv *dst = field_at(s, a, 0);

	(void)d, (void)loc;
	if (op == OP_SET)
		strv_clear(dst);
	for (size_t i = 0; i < v->n; i++) {
		if (op == OP_DEL)
			strv_remove(dst, v->v[i]);
		else if (!strv_has(dst, v->v[i]))
			strv_push(dst, v->v[i]);
	}
	return true;
}

static bool
parse_passenv(struct diag *d, struct service_config *s, const struct conf_attr *a, enum attr_op op,
    const struct strv *v, struct loc loc)
{
	bool ok = true;

	for (size_t i = 0; i < v->n; i++) {
		if (!env_name_ok(v->v[i], strlen(v->v[i]))) {
			diag_error(d, loc, "%s: \"%s\" is not a variable name", a->name, v->v[i]);
			ok = false;
		}
	}
	return ok && parse_names(d, s, a, op, v, loc);
}

static bool
parse_env(struct diag *d, struct service_config *s, const struct conf_attr *a, enum attr_op op,
    const struct strv *v, struct loc loc)
{
	struct strv *env = field_at(s, a, 0);
	bool ok = true;

	for (size_t i = 0; i < v->n; i++) {
		const char *eq = strchr(v->v[i], '=');

		if (eq == NULL || !env_name_ok(v->v[i], (size_t)(eq - v->v[i]))) {
			diag_error(d, loc, "%s: expected NAME=value, not \"%s\"", a->name, v->v[i]);
			ok = false;
		}
	}
	if (!ok)
		return false;
	if (op == OP_SET)
		strv_clear(env);
	for (size_t i = 0; i < v->n; i++) {
		size_t nl = (size_t)(strchr(v->v[i], '=') - v->v[i]);

		/* A later NAME=value replaces an earlier one. */
		for (size_t j = 0; j < env->n; j++) {
			if (strncmp(env->v[j], v->v[i], nl + 1) == 0) {
				strv_remove(env, env->v[j]);
				break;
			}
		}
		strv_push(env, v->v[i]);
	}
	return true;
}

static void
copy_words(struct service_config *dst, const struct service_config *src, const struct conf_attr *a)
{
	strv_copy(field_at(dst, a, 0), field_in(src, a, 0));
}

static void
dump_words(FILE *fp, const struct service_config *s, const struct conf_attr *a)
{
	const struct strv *sv = field_in(s, a, 0);

	for (size_t i = 0; i < sv->n; i++)
		fprintf(fp, "%s%s", i ? " " : "", sv->v[i]);
}

static void
free_words(struct service_config *s, const struct conf_attr *a)
{
	strv_clear(field_at(s, a, 0));
}

/* ------------------------------------------------------------ address lists */

static bool
parse_addrs(struct diag *d, struct service_config *s, const struct conf_attr *a, enum attr_op op,
    const struct strv *v, struct loc loc)
{
	struct addrlist *dst = field_at(s, a, 0);
	struct addrlist tmp = { 0 };
	char err[256];
	bool ok = true;

	for (size_t i = 0; i < v->n; i++) {
		if (!access_parse(v->v[i], &tmp, err, sizeof(err))) {
			diag_error(d, loc, "%s: %s", a->name, err);
			ok = false;
		}
	}
	if (!ok) {
		access_clear(&tmp);
		return false;
	}
	if (op == OP_DEL)
		access_remove(dst, &tmp);
	else {
		if (op == OP_SET)
			access_clear(dst);
		for (size_t i = 0; i < tmp.n; i++) {
			struct addrlist one = { &tmp.v[i], 1, 1 };

			/* Keep the list free of duplicates so -= removes all. */
			access_remove(dst, &one);
			if (dst->n == dst->cap) {
				dst->cap = dst->cap ? dst->cap * 2 : 8;
				dst->v = mem_realloc(dst->v, dst->cap * sizeof(*dst->v));
			}
			dst->v[dst->n++] = tmp.v[i]; /* takes the name too */
		}
		free(tmp.v);
	}
	if (op == OP_DEL)
		access_clear(&tmp);
	return true;
}

static void
copy_addrs(struct service_config *dst, const struct service_config *src, const struct conf_attr *a)
{
	access_copy(field_at(dst, a, 0), field_in(src, a, 0));
}

static void
dump_addrs(FILE *fp, const struct service_config *s, const struct conf_attr *a)
{
	const struct addrlist *l = field_in(s, a, 0);
	char buf[300];

	for (size_t i = 0; i < l->n; i++) {
		access_format(&l->v[i], buf, sizeof(buf));
		fprintf(fp, "%s%s", i ? " " : "", buf);
	}
}

static void
free_addrs(struct service_config *s, const struct conf_attr *a)
{
	access_clear(field_at(s, a, 0));
}

/* ------------------------------------------------------------ bits */

static bool
parse_type(struct diag *d, struct service_config *s, const struct conf_attr *a, enum attr_op op,
    const struct strv *v, struct loc loc)
{
	bool ok = true;

	(void)op;
	for (size_t i = 0; i < v->n; i++) {
		const struct attr_name *nb = name_read(d, a, a->names, v->v[i], "type", loc);

		if (nb == NULL)
			ok = false;
		else if (nb->bit == T_RPC) {
			diag_error(d, loc,
			    "%s: RPC services are not supported by porter; run the RPC server as a standalone daemon registered with rpcbind",
			    a->name);
			ok = false;
		} else
			s->type |= nb->bit;
	}
	return ok;
}

static bool
parse_flags(struct diag *d, struct service_config *s, const struct conf_attr *a, enum attr_op op,
    const struct strv *v, struct loc loc)
{
	bool ok = true;

	(void)op;
	for (size_t i = 0; i < v->n; i++) {
		const struct attr_name *nb = name_read(d, a, a->names, v->v[i], "flag", loc);

		if (nb == NULL) {
			ok = false;
			continue;
		}
		if (nb->bit == F_LABELED) {
			diag_error(d, loc,
			    "%s: LABELED (SELinux contexts from the peer's label) is not supported by porter",
			    a->name);
			ok = false;
			continue;
		}
		if (nb->bit == F_INTERCEPT)
			diag_warn(d, loc, "%s: INTERCEPT is not supported by porter and is ignored",
			    a->name);
		s->flags |= nb->bit;
	}
	return ok;
}

static bool
parse_log_on(struct diag *d, struct service_config *s, const struct conf_attr *a, enum attr_op op,
    const struct strv *v, struct loc loc)
{
	unsigned *dst = field_at(s, a, 0);
	unsigned bits = 0;
	bool ok = true;

	for (size_t i = 0; i < v->n; i++) {
		const struct attr_name *nb;

		if (strcasecmp(v->v[i], "RECORD") == 0) {
			diag_error(d, loc,
			    "%s: RECORD was removed in xinetd 2.3.11 and is not supported; remove it",
			    a->name);
			ok = false;
		} else if ((nb = name_read(d, a, a->names, v->v[i], "value", loc)) == NULL)
			ok = false;
		else
			bits |= nb->bit;
	}
	if (!ok)
		return false;
	if (op == OP_SET)
		*dst = bits;
	else if (op == OP_ADD)
		*dst |= bits;
	else
		*dst &= ~bits;
	return true;
}

/* The names of the bits set, in the order of the attribute's name table. */
static void
dump_bits_of(FILE *fp, unsigned bits, const struct attr_name *t)
{
	bool first = true;

	for (; t->name != NULL; t++) {
		if (bits & t->bit) {
			fprintf(fp, "%s%s", first ? "" : " ", t->name);
			first = false;
		}
	}
}

static void
dump_bits(FILE *fp, const struct service_config *s, const struct conf_attr *a)
{
	dump_bits_of(fp, *(const unsigned *)field_in(s, a, 0), a->names);
}

static void
dump_log_on_success(FILE *fp, const struct service_config *s, const struct conf_attr *a)
{
	/* TRAFFIC only means something for a relay. */
	dump_bits_of(fp, s->log_on_success & (conf_service_has(s, A_REDIRECT) ? ~0u : ~L_TRAFFIC),
	    a->names);
}

/* ------------------------------------------------------------ resource limits */

/* A count when the entry names a unit ("seconds", "files"), else a size. */
static bool
parse_rlimit(struct diag *d, struct service_config *s, const struct conf_attr *a, enum attr_op op,
    const struct strv *v, struct loc loc)
{
	uint64_t *dst = field_at(s, a, 0);
	const char *t = v->v[0];
	unsigned long long n;
	uint64_t sz;

	(void)op;
	if (strcasecmp(t, "UNLIMITED") == 0) {
		if (!a->unlimited) {
			diag_error(d, loc,
			    "%s: expected a number of %s; UNLIMITED would hand servers porterd's hard limit",
			    a->name, a->unit);
			return false;
		}
		*dst = LIMIT_UNLIMITED;
		return true;
	}
	if (a->unit != NULL) {
		if (!util_parse_uint(t, (unsigned long long)a->field[0].hi, &n) || n == 0) {
			diag_error(d, loc, "%s: expected a number of %s above 0%s, not \"%s\"",
			    a->name, a->unit, a->unlimited ? " or UNLIMITED" : "", t);
			return false;
		}
		*dst = n;
		return true;
	}
	if (!parse_size(t, &sz) || sz == 0) {
		diag_error(d, loc, "%s: expected a size such as 64M, 512K or UNLIMITED, not \"%s\"",
		    a->name, t);
		return false;
	}
	*dst = sz;
	return true;
}

static void
dump_rlimit(FILE *fp, const struct service_config *s, const struct conf_attr *a)
{
	uint64_t v = *(const uint64_t *)field_in(s, a, 0);

	if (v == LIMIT_UNLIMITED)
		fputs("UNLIMITED", fp);
	else
		fprintf(fp, "%llu", (unsigned long long)v);
}

/* ------------------------------------------------------------ cgroup limits */

/* memory_max and service_memory_max: a size, as for the rlimits, but no
 * UNLIMITED: leaving the attribute out is what means no limit. */
static bool
parse_memory_max(struct diag *d, struct service_config *s, const struct conf_attr *a,
    enum attr_op op, const struct strv *v, struct loc loc)
{
	uint64_t sz;

	(void)op;
	if (!parse_size(v->v[0], &sz) || sz < 1024 * 1024) {
		diag_error(d, loc,
		    "%s: expected a size of at least 1M, such as 32M or 1G, not \"%s\"", a->name,
		    v->v[0]);
		return false;
	}
	memcpy(field_at(s, a, 0), &sz, sizeof(sz));
	return true;
}

/* A size in the largest unit that writes it whole. */
static void
dump_size(FILE *fp, unsigned long long v)
{
	static const char units[] = "GMK";

	for (int i = 0; i < 3; i++) {
		unsigned long long u = 1ull << (10 * (3 - i));

		if (v % u == 0) {
			fprintf(fp, "%llu%c", v / u, units[i]);
			return;
		}
	}
	fprintf(fp, "%llu", v);
}

/* A size field, as dump_size writes it. */
static void
dump_bytes(FILE *fp, const struct service_config *s, const struct conf_attr *a)
{
	uint64_t sz;

	memcpy(&sz, field_in(s, a, 0), sizeof(sz));
	dump_size(fp, sz);
}

#define CPU_PERIOD_US 100000u /* the period of cpu_max = N% */

/* A time of cpu_max: digits and us, ms or s, in microseconds. */
static bool
parse_cpu_time(const char *t, size_t len, unsigned long long *us)
{
	char buf[24];
	unsigned long long mul, n;
	size_t k;

	if (len >= sizeof(buf))
		return false;
	for (k = 0; k < len && isdigit((unsigned char)t[k]); k++)
		;
	if (k == 0 || k >= sizeof(buf))
		return false;
	if (len - k == 2 && strncmp(t + k, "us", 2) == 0)
		mul = 1;
	else if (len - k == 2 && strncmp(t + k, "ms", 2) == 0)
		mul = 1000;
	else if (len - k == 1 && t[k] == 's')
		mul = 1000000;
	else
		return false;
	memcpy(buf, t, k);
	buf[k] = '\0';
	if (!util_parse_uint(buf, UINT32_MAX / mul, &n))
		return false;
	*us = n * mul;
	return true;
}

/* cpu_max: N% of one CPU (more than 100% spans CPUs), or QUOTA/PERIOD
 * such as 100ms/1s; the kernel takes periods from 1ms to 1s and quotas
 * from 1ms. */
static bool
parse_cpu_max(struct diag *d, struct service_config *s, const struct conf_attr *a, enum attr_op op,
    const struct strv *v, struct loc loc)
{
	const char *t = v->v[0], *slash = strchr(t, '/');
	size_t n = strlen(t);
	unsigned long long q, p, pct;
	char buf[16];

	(void)op;
	if (slash == NULL && n >= 2 && n < sizeof(buf) && t[n - 1] == '%') {
		memcpy(buf, t, n - 1);
		buf[n - 1] = '\0';
		if (util_parse_uint(buf, 100000, &pct) && pct > 0) {
			s->cpu_quota_us = (unsigned)(pct * CPU_PERIOD_US / 100);
			s->cpu_period_us = CPU_PERIOD_US;
			if (s->cpu_quota_us >= 1000)
				return true;
		}
	} else if (slash != NULL && parse_cpu_time(t, (size_t)(slash - t), &q) &&
	    parse_cpu_time(slash + 1, strlen(slash + 1), &p) && q >= 1000 && p >= 1000 &&
	    p <= 1000000) {
		s->cpu_quota_us = (unsigned)q;
		s->cpu_period_us = (unsigned)p;
		return true;
	}
	diag_error(d, loc,
	    "%s: expected a share such as 50%% (1%% or more), or QUOTA/PERIOD such as 100ms/1s (a quota of 1ms or more, a period from 1ms to 1s), not \"%s\"",
	    a->name, t);
	return false;
}

static void
dump_cpu_time(FILE *fp, unsigned us)
{
	if (us % 1000000 == 0)
		fprintf(fp, "%us", us / 1000000);
	else if (us % 1000 == 0)
		fprintf(fp, "%ums", us / 1000);
	else
		fprintf(fp, "%uus", us);
}

static void
dump_cpu_max(FILE *fp, const struct service_config *s, const struct conf_attr *a)
{
	(void)a;
	if (s->cpu_period_us == CPU_PERIOD_US && s->cpu_quota_us % (CPU_PERIOD_US / 100) == 0) {
		fprintf(fp, "%u%%", s->cpu_quota_us / (CPU_PERIOD_US / 100));
		return;
	}
	dump_cpu_time(fp, s->cpu_quota_us);
	fputc('/', fp);
	dump_cpu_time(fp, s->cpu_period_us);
}

/* ------------------------------------------------------------ their own syntax */

static bool
parse_socket_type(struct diag *d, struct service_config *s, const struct conf_attr *a,
    enum attr_op op, const struct strv *v, struct loc loc)
{
	const char *t = v->v[0];

	(void)op;
	if (strcasecmp(t, "stream") == 0)
		s->socket_type = SOCK_STREAM;
	else if (strcasecmp(t, "dgram") == 0)
		s->socket_type = SOCK_DGRAM;
	else if (strcasecmp(t, "seqpacket") == 0)
		s->socket_type = SOCK_SEQPACKET; /* Unix sockets only: checked later */
	else if (strcasecmp(t, "raw") == 0 || strcasecmp(t, "rdm") == 0) {
		diag_error(d, loc,
		    "%s: %s sockets are not supported by porter (stream, dgram, or seqpacket on a Unix socket)",
		    a->name, t);
		return false;
	} else {
		diag_error(d, loc, "%s: expected stream or dgram, not \"%s\"", a->name, t);
		return false;
	}
	return true;
}

static void
dump_socket_type(FILE *fp, const struct service_config *s, const struct conf_attr *a)
{
	(void)a;
	fputs(s->socket_type == SOCK_DGRAM       ? "dgram" :
	        s->socket_type == SOCK_SEQPACKET ? "seqpacket" :
	                                           "stream",
	    fp);
}

/* proxy_protocol = v1 | v2 | any, redirect_proxy = v1 | v2: the versions
 * of the PROXY header, as PROXY_V1 and PROXY_V2 bits (proxy_header.c). */
static bool
parse_proxy_version(struct diag *d, struct service_config *s, const struct conf_attr *a,
    enum attr_op op, const struct strv *v, struct loc loc)
{
	unsigned *out = field_at(s, a, 0);
	bool any_ok = strcmp(a->name, "proxy_protocol") == 0;

	(void)op;
	if (strcasecmp(v->v[0], "v1") == 0)
		*out = PROXY_V1;
	else if (strcasecmp(v->v[0], "v2") == 0)
		*out = PROXY_V2;
	else if (any_ok && strcasecmp(v->v[0], "any") == 0)
		*out = PROXY_V1 | PROXY_V2;
	else {
		diag_error(d, loc, "%s: expected v1%s v2%s, not \"%s\"", a->name,
		    any_ok ? "," : " or", any_ok ? " or any" : "", v->v[0]);
		return false;
	}
	return true;
}

static void
dump_proxy_version(FILE *fp, const struct service_config *s, const struct conf_attr *a)
{
	unsigned bits = *(const unsigned *)field_in(s, a, 0);

	fputs(bits == (PROXY_V1 | PROXY_V2) ? "any" : bits == PROXY_V1 ? "v1" : "v2", fp);
}

/* File names that must not depend on the directory porterd runs in. */
static bool
parse_paths(struct diag *d, struct service_config *s, const struct conf_attr *a, enum attr_op op,
    const struct strv *v, struct loc loc)
{
	for (size_t i = 0; i < v->n; i++)
		if (v->v[i][0] != '/') {
			diag_error(d, loc, "%s: \"%s\" is not an absolute path", a->name, v->v[i]);
			return false;
		}
	return parse_words(d, s, a, op, v, loc);
}

/* tls_verify_client = no | optional | yes */
static bool
parse_tls_verify(struct diag *d, struct service_config *s, const struct conf_attr *a,
    enum attr_op op, const struct strv *v, struct loc loc)
{
	static const char *const words[] = { "no", "optional", "yes" };

	(void)op;
	for (int i = 0; i < 3; i++)
		if (strcasecmp(v->v[0], words[i]) == 0) {
			s->tls_verify_client = i;
			return true;
		}
	diag_error(d, loc, "%s: expected no, optional or yes, not \"%s\"", a->name, v->v[0]);
	return false;
}

static void
dump_tls_verify(FILE *fp, const struct service_config *s, const struct conf_attr *a)
{
	static const char *const words[] = { "no", "optional", "yes" };

	(void)a;
	fputs(words[s->tls_verify_client], fp);
}

/* tls_protocols = TLSv1.2 TLSv1.3: the versions a client may use. */
static bool
parse_tls_protocols(struct diag *d, struct service_config *s, const struct conf_attr *a,
    enum attr_op op, const struct strv *v, struct loc loc)
{
	unsigned bits = 0;

	(void)op;
	for (size_t i = 0; i < v->n; i++) {
		unsigned b = tls_protocol_bit(v->v[i]);

		if (b == 0) {
			diag_error(d, loc,
			    "%s: unknown version \"%s\" (TLSv1, TLSv1.1, TLSv1.2 or TLSv1.3)",
			    a->name, v->v[i]);
			return false;
		}
		bits |= b;
	}
	s->tls_protocols = bits;
	return true;
}

static void
dump_tls_protocols(FILE *fp, const struct service_config *s, const struct conf_attr *a)
{
	const char *sep = "";

	(void)a;
	for (unsigned b = 1; b <= 8; b <<= 1)
		if (s->tls_protocols & b) {
			fprintf(fp, "%s%s", sep, tls_protocol_name(b));
			sep = " ";
		}
}

/* tls_alpn = h2 http/1.1: protocol names as ALPN sends them, 1 to 255
 * bytes of printable ASCII each. */
static bool
parse_tls_alpn(struct diag *d, struct service_config *s, const struct conf_attr *a, enum attr_op op,
    const struct strv *v, struct loc loc)
{
	for (size_t i = 0; i < v->n; i++) {
		const char *p = v->v[i];

		if (strlen(p) > 255) {
			diag_error(d, loc, "%s: \"%.20s...\" is longer than 255 bytes", a->name, p);
			return false;
		}
		for (; *p != '\0'; p++)
			if (*p < 0x21 || *p > 0x7e) {
				diag_error(d, loc, "%s: \"%s\" is not printable ASCII", a->name,
				    v->v[i]);
				return false;
			}
	}
	return parse_words(d, s, a, op, v, loc);
}

/* capabilities, ambient_capabilities = CAP_NET_BIND_SERVICE ...: names
 * as capabilities(7) writes them, with or without CAP_, kept in that form;
 * none at all is an empty set. */
static bool
parse_caps(struct diag *d, struct service_config *s, const struct conf_attr *a, enum attr_op op,
    const struct strv *v, struct loc loc)
{
	struct strv *dst = field_at(s, a, 0);

	(void)op;
	for (size_t i = 0; i < v->n; i++)
		if (sandbox_cap_number(v->v[i]) < 0) {
			diag_error(d, loc,
			    "%s: unknown capability \"%s\" (a name of capabilities(7), such as CAP_NET_BIND_SERVICE)",
			    a->name, v->v[i]);
			return false;
		}
	strv_clear(dst);
	for (size_t i = 0; i < v->n; i++) {
		const char *name = sandbox_cap_name(sandbox_cap_number(v->v[i]));

		if (!strv_has(dst, name))
			strv_push(dst, name);
	}
	return true;
}

/* A list of names that a leading ~ makes a deny list, in one canonical
 * form: "~" joined to the first name. Returns false when a name is not
 * one known() accepts. */
static bool
parse_deny_list(struct diag *d, struct service_config *s, const struct conf_attr *a,
    const struct strv *v, struct loc loc, bool (*known)(const char *), const char *what)
{
	struct strv *dst = field_at(s, a, 0);
	bool deny = false;
	size_t i = 0;

	if (v->v[0][0] == '~') {
		deny = true;
		if (v->v[0][1] == '\0')
			i = 1;
	}
	if (i >= v->n) {
		diag_error(d, loc, "%s: ~ needs the names it denies", a->name);
		return false;
	}
	for (size_t j = i; j < v->n; j++) {
		const char *name = v->v[j] + (j == 0 && deny);

		if (name[0] == '~') {
			diag_error(d, loc, "%s: only the first name may start with ~, not \"%s\"",
			    a->name, v->v[j]);
			return false;
		}
		if (!known(name)) {
			diag_error(d, loc, "%s: unknown %s \"%s\"", a->name, what, name);
			return false;
		}
	}
	strv_clear(dst);
	for (size_t j = i; j < v->n; j++) {
		const char *name = v->v[j] + (j == 0 && deny);

		if (j == i && deny) {
			char *w = mem_asprintf("~%s", name);

			strv_push(dst, w);
			free(w);
		} else
			strv_push(dst, name);
	}
	return true;
}

static bool
family_known(const char *name)
{
	return sandbox_family_number(name) >= 0;
}

/* system_call_filter = @system-service, or ~@mount @reboot */
static bool
parse_syscall_filter(struct diag *d, struct service_config *s, const struct conf_attr *a,
    enum attr_op op, const struct strv *v, struct loc loc)
{
	(void)op;
	return parse_deny_list(d, s, a, v, loc, sandbox_syscall_known, "system call or group");
}

/* restrict_address_families = AF_UNIX AF_INET, or ~AF_PACKET */
static bool
parse_families(struct diag *d, struct service_config *s, const struct conf_attr *a, enum attr_op op,
    const struct strv *v, struct loc loc)
{
	(void)op;
	return parse_deny_list(d, s, a, v, loc, family_known, "address family");
}

/* One word of the attribute's names, kept as the number it stands for. */
static bool
parse_named(struct diag *d, struct service_config *s, const struct conf_attr *a, enum attr_op op,
    const struct strv *v, struct loc loc)
{
	const struct attr_name *nb = name_read(d, a, a->names, v->v[0], "value", loc);

	(void)op;
	if (nb == NULL)
		return false;
	number_put(s, a, 0, nb->bit);
	return true;
}

static void
dump_named(FILE *fp, const struct service_config *s, const struct conf_attr *a)
{
	fputs(name_of(a->names, (unsigned)number_get(s, a, 0)), fp);
}

/* tmp_size: the size of the tmpfs on /tmp. */
static bool
parse_tmp_size(struct diag *d, struct service_config *s, const struct conf_attr *a, enum attr_op op,
    const struct strv *v, struct loc loc)
{
	uint64_t sz;

	(void)op;
	if (!parse_size(v->v[0], &sz) || sz < 64 * 1024) {
		diag_error(d, loc, "%s: expected a size of at least 64K, such as 16M, not \"%s\"",
		    a->name, v->v[0]);
		return false;
	}
	s->tmp_size = sz;
	return true;
}

/* bind_paths = SRC[:DST] ...: both absolute; DST is SRC when left out. */
static bool
parse_bind_paths(struct diag *d, struct service_config *s, const struct conf_attr *a,
    enum attr_op op, const struct strv *v, struct loc loc)
{
	for (size_t i = 0; i < v->n; i++) {
		const char *colon = strchr(v->v[i], ':');

		if (v->v[i][0] != '/' || (colon != NULL && colon[1] != '/')) {
			diag_error(d, loc,
			    "%s: \"%s\" is not SOURCE or SOURCE:DESTINATION, absolute paths",
			    a->name, v->v[i]);
			return false;
		}
	}
	return parse_words(d, s, a, op, v, loc);
}

/* hostname: a name sethostname() takes, of letters, digits, '-' and '.'. */
static bool
parse_hostname(struct diag *d, struct service_config *s, const struct conf_attr *a, enum attr_op op,
    const struct strv *v, struct loc loc)
{
	size_t n = strlen(v->v[0]);
	bool ok = n > 0 && n <= 64;

	for (size_t i = 0; i < n && ok; i++)
		ok = isalnum((unsigned char)v->v[0][i]) || v->v[0][i] == '-' || v->v[0][i] == '.';
	if (!ok) {
		diag_error(d, loc,
		    "%s: \"%s\" is not a host name of up to 64 letters, digits, '-' and '.'",
		    a->name, v->v[0]);
		return false;
	}
	return parse_string(d, s, a, op, v, loc);
}

/* system_call_error = kill | EPERM | EACCES ... */
static bool
parse_syscall_error(struct diag *d, struct service_config *s, const struct conf_attr *a,
    enum attr_op op, const struct strv *v, struct loc loc)
{
	int e = strcasecmp(v->v[0], "kill") == 0 ? 0 : sandbox_errno_number(v->v[0]);

	(void)op;
	if (e < 0) {
		diag_error(d, loc, "%s: expected kill or an errno name such as EPERM, not \"%s\"",
		    a->name, v->v[0]);
		return false;
	}
	s->system_call_error = e;
	return true;
}

static void
dump_syscall_error(FILE *fp, const struct service_config *s, const struct conf_attr *a)
{
	(void)a;
	fputs(s->system_call_error == 0 ? "kill" : sandbox_errno_name(s->system_call_error), fp);
}

/* proxy_from takes what only_from does, but no names: the header is read
 * before any lookup could answer, and a balancer has an address. */
static bool
parse_proxy_from(struct diag *d, struct service_config *s, const struct conf_attr *a,
    enum attr_op op, const struct strv *v, struct loc loc)
{
	const struct addrlist *list = field_in(s, a, 0);

	if (!parse_addrs(d, s, a, op, v, loc))
		return false;
	for (size_t i = 0; i < list->n; i++)
		if (list->v[i].kind != AR_NET) {
			diag_error(d, loc,
			    "%s: %s is a name; proxy_from takes addresses and networks only",
			    a->name, list->v[i].name);
			return false;
		}
	return true;
}

static bool
parse_protocol(struct diag *d, struct service_config *s, const struct conf_attr *a, enum attr_op op,
    const struct strv *v, struct loc loc)
{
	const char *t = v->v[0];

	(void)op;
	if (strcasecmp(t, "tcp") == 0)
		s->protocol = IPPROTO_TCP;
	else if (strcasecmp(t, "udp") == 0)
		s->protocol = IPPROTO_UDP;
	else {
		diag_error(d, loc, "%s: expected tcp or udp, not \"%s\"", a->name, t);
		return false;
	}
	return true;
}

static void
dump_protocol(FILE *fp, const struct service_config *s, const struct conf_attr *a)
{
	(void)a;
	fputs(s->protocol == IPPROTO_UDP ? "udp" : "tcp", fp);
}

static bool
parse_max_load(struct diag *d, struct service_config *s, const struct conf_attr *a, enum attr_op op,
    const struct strv *v, struct loc loc)
{
	char *end;
	double load;

	(void)op;
	errno = 0;
	load = strtod(v->v[0], &end);
	if (errno != 0 || *end != '\0' || end == v->v[0] || !(load > 0) || load > 1e6 ||
	    strspn(v->v[0], "0123456789.eE+-") != strlen(v->v[0]) ||
	    !(isdigit((unsigned char)v->v[0][0]) || v->v[0][0] == '.')) {
		diag_error(d, loc, "%s: expected a load average above 0 such as 2.5, not \"%s\"",
		    a->name, v->v[0]);
		return false;
	}
	s->max_load = load;
	return true;
}

static void
dump_max_load(FILE *fp, const struct service_config *s, const struct conf_attr *a)
{
	char buf[40];

	(void)a;
	/* The shortest text that reads back to the same number. */
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*g", prec, s->max_load);
		if (strtod(buf, NULL) == s->max_load)
			break;
	}
	fputs(buf, fp);
}

static bool
parse_access_times(struct diag *d, struct service_config *s, const struct conf_attr *a,
    enum attr_op op, const struct strv *v, struct loc loc)
{
	struct timerange *tr = mem_calloc(v->n, sizeof(*tr));
	char err[256];

	(void)op;
	for (size_t i = 0; i < v->n; i++) {
		if (!access_times_parse(v->v[i], &tr[i], err, sizeof(err))) {
			diag_error(d, loc, "%s: %s", a->name, err);
			free(tr);
			return false;
		}
	}
	free(s->access_times);
	s->access_times = tr;
	s->naccess_times = v->n;
	return true;
}

static void
dump_access_times(FILE *fp, const struct service_config *s, const struct conf_attr *a)
{
	(void)a;
	for (size_t i = 0; i < s->naccess_times; i++) {
		const struct timerange *t = &s->access_times[i];

		fprintf(fp, "%s%d:%02d-%d:%02d", i ? " " : "", t->start / 60, t->start % 60,
		    t->end / 60, t->end % 60);
	}
}

static void
free_access_times(struct service_config *s, const struct conf_attr *a)
{
	(void)a;
	free(s->access_times);
}

static bool
parse_log_type(struct diag *d, struct service_config *s, const struct conf_attr *a, enum attr_op op,
    const struct strv *v, struct loc loc)
{
	struct logtype *lt = &s->log_type;
	const struct attr_name *nb;

	(void)op;
	if (strcasecmp(v->v[0], "SYSLOG") == 0) {
		if (v->n < 2 || v->n > 3) {
			diag_error(d, loc, "%s: expected SYSLOG FACILITY [LEVEL]", a->name);
			return false;
		}
		if ((nb = name_read(d, a, facilities, v->v[1], "syslog facility", loc)) == NULL)
			return false;
		lt->facility = (int)nb->bit;
		lt->level = LOG_INFO;
		if (v->n == 3) {
			if ((nb = name_read(d, a, levels, v->v[2], "syslog level", loc)) == NULL)
				return false;
			lt->level = (int)nb->bit;
		}
		lt->kind = LOGT_SYSLOG;
		lt->json = false;
		free(lt->path);
		lt->path = NULL;
		return true;
	}
	if (strcasecmp(v->v[0], "FILE") == 0) {
		uint64_t soft = 0, hard = 0;
		size_t nv = v->n;
		bool json = false;

		/* A last word "json" asks for JSON lines (porter extension). */
		if (nv >= 3 && strcasecmp(v->v[nv - 1], "json") == 0) {
			json = true;
			nv--;
		}
		if (nv < 2 || nv > 4) {
			diag_error(d, loc, "%s: expected FILE PATH [SOFT [HARD]] [json]", a->name);
			return false;
		}
		if (v->v[1][0] != '/') {
			diag_error(d, loc, "%s: \"%s\" is not an absolute path", a->name, v->v[1]);
			return false;
		}
		if (nv >= 3 && (!parse_size(v->v[2], &soft) || soft == 0)) {
			diag_error(d, loc,
			    "%s: bad soft limit \"%s\": expected a size such as 512K or 5M",
			    a->name, v->v[2]);
			return false;
		}
		if (nv == 4 && (!parse_size(v->v[3], &hard) || hard == 0)) {
			diag_error(d, loc,
			    "%s: bad hard limit \"%s\": expected a size such as 512K or 5M",
			    a->name, v->v[3]);
			return false;
		}
		if (nv == 3) {
			/* xinetd's rule: 1 % more, at least 5K, at most 20K. */
			uint64_t extra = soft / 100;

			if (extra < 5 * 1024)
				extra = 5 * 1024;
			if (extra > 20 * 1024)
				extra = 20 * 1024;
			hard = soft + extra;
		}
		if (nv == 4 && hard < soft) {
			diag_error(d, loc, "%s: the hard limit %s is below the soft limit %s",
			    a->name, v->v[3], v->v[2]);
			return false;
		}
		lt->kind = LOGT_FILE;
		set_str(&lt->path, v->v[1]);
		lt->soft = soft;
		lt->hard = hard;
		lt->json = json;
		return true;
	}
	diag_error(d, loc,
	    "%s: expected SYSLOG FACILITY [LEVEL] or FILE PATH [SOFT [HARD]], not \"%s\"", a->name,
	    v->v[0]);
	return false;
}

static void
copy_log_type(struct service_config *dst, const struct service_config *src,
    const struct conf_attr *a)
{
	(void)a;
	free(dst->log_type.path);
	dst->log_type = src->log_type;
	if (src->log_type.path != NULL)
		dst->log_type.path = mem_strdup(src->log_type.path);
}

static void
dump_log_type(FILE *fp, const struct service_config *s, const struct conf_attr *a)
{
	const struct logtype *lt = &s->log_type;

	(void)a;
	if (lt->kind == LOGT_SYSLOG) {
		fprintf(fp, "SYSLOG %s %s", conf_attr_facility_name(lt->facility),
		    conf_attr_level_name(lt->level));
		return;
	}
	fprintf(fp, "FILE %s", lt->path);
	if (lt->soft != 0)
		fprintf(fp, " %llu %llu", (unsigned long long)lt->soft,
		    (unsigned long long)lt->hard);
	if (lt->json)
		fputs(" json", fp);
}

static void
free_log_type(struct service_config *s, const struct conf_attr *a)
{
	(void)a;
	free(s->log_type.path);
}

/* umask and socket_mode: an octal number of permission bits. */
static bool
parse_octal(struct diag *d, struct service_config *s, const struct conf_attr *a, enum attr_op op,
    const struct strv *v, struct loc loc)
{
	const char *t = v->v[0];
	char *end;
	long m;

	(void)op;
	m = strtol(t, &end, 8);
	if (*t < '0' || *t > '7' || *end != '\0' || m > 0777) {
		diag_error(d, loc, "%s: expected an octal number from 000 to 777, not \"%s\"",
		    a->name, t);
		return false;
	}
	number_put(s, a, 0, m);
	return true;
}

static void
dump_octal(FILE *fp, const struct service_config *s, const struct conf_attr *a)
{
	fprintf(fp, "%03llo", (unsigned long long)number_get(s, a, 0));
}

/* Minutes as in xinetd, or seconds with an s suffix (porter extension). */
static bool
parse_deny_time(struct diag *d, struct service_config *s, const struct conf_attr *a,
    enum attr_op op, const struct strv *v, struct loc loc)
{
	const char *t = v->v[0];
	size_t len = strlen(t);
	unsigned long long n;

	(void)op;
	if (strcasecmp(t, "FOREVER") == 0)
		s->deny_time = DENY_FOREVER;
	else if (strcasecmp(t, "NEVER") == 0)
		s->deny_time = 0;
	else if (len > 1 && strspn(t, "0123456789") == len - 1 &&
	    (t[len - 1] == 's' || t[len - 1] == 'S')) {
		char *secs = mem_strndup(t, len - 1);
		bool ok = util_parse_uint(secs, 366 * 24 * 3600, &n);

		free(secs);
		if (!ok) {
			diag_error(d, loc,
			    "%s: expected a number of seconds from 0 to %d before the s, not \"%s\"",
			    a->name, 366 * 24 * 3600, t);
			return false;
		}
		s->deny_time = (int)n;
	} else if (!util_parse_uint(t, 366 * 24 * 60, &n)) {
		diag_error(d, loc,
		    "%s: expected a number from 0 to %d, FOREVER or NEVER, not \"%s\"", a->name,
		    366 * 24 * 60, t);
		return false;
	} else
		s->deny_time = (int)n * 60;
	return true;
}

static void
dump_deny_time(FILE *fp, const struct service_config *s, const struct conf_attr *a)
{
	(void)a;
	if (s->deny_time == DENY_FOREVER)
		fputs("FOREVER", fp);
	else if (s->deny_time == 0)
		fputs("NEVER", fp);
	else if (s->deny_time % 60 == 0)
		fprintf(fp, "%d", s->deny_time / 60);
	else
		fprintf(fp, "%ds", s->deny_time);
}

static bool
parse_rpc_version(struct diag *d, struct service_config *s, const struct conf_attr *a,
    enum attr_op op, const struct strv *v, struct loc loc)
{
	unsigned long long lo, hi;
	char buf[64];
	char *dash;

	(void)op;
	snprintf(buf, sizeof(buf), "%s", v->v[0]);
	dash = strchr(buf, '-');
	if (dash != NULL)
		*dash = '\0';
	if (!util_parse_uint(buf, INT_MAX, &lo) ||
	    (dash != NULL && !util_parse_uint(dash + 1, INT_MAX, &hi)) ||
	    (dash != NULL && hi < lo)) {
		diag_error(d, loc, "%s: expected N or N-M, not \"%s\"", a->name, v->v[0]);
		return false;
	}
	s->rpc_version_lo = (int)lo;
	s->rpc_version_hi = dash != NULL ? (int)hi : (int)lo;
	return true;
}

static void
dump_rpc_version(FILE *fp, const struct service_config *s, const struct conf_attr *a)
{
	(void)a;
	if (s->rpc_version_lo == s->rpc_version_hi)
		fprintf(fp, "%d", s->rpc_version_lo);
	else
		fprintf(fp, "%d-%d", s->rpc_version_lo, s->rpc_version_hi);
}

/* ------------------------------------------------------------ in the dump */

/*
 * Whether the dump shows an attribute, for the entries where "when it is
 * set" is not the answer. Resolved values are shown even where the file
 * left them implicit, so the dump says what will run; a field holds 0 or -1
 * until something resolves it.
 */
static bool
shown_always(const struct service_config *s, const struct conf_attr *a)
{
	(void)s, (void)a;
	return true;
}

static bool
shown_nonzero(const struct service_config *s, const struct conf_attr *a)
{
	return number_get(s, a, 0) != 0;
}

static bool
shown_nonnegative(const struct service_config *s, const struct conf_attr *a)
{
	return number_get(s, a, 0) >= 0;
}

static bool
shown_v6only(const struct service_config *s, const struct conf_attr *a)
{
	(void)a;
	/* Only an IPv6 socket has the option. */
	return conf_service_has(s, A_V6ONLY) && s->family != AF_INET;
}

static bool
shown_per_source(const struct service_config *s, const struct conf_attr *a)
{
	(void)a;
	/* Meaningless for a single server; the checks warn where the entry
	 * itself sets it. */
	return conf_service_has(s, A_PER_SOURCE) && s->wait != 1;
}

/* The PROXY attributes of a service that takes no header (the defaults
 * gave them to a datagram service, say) are dropped by the checks. */
static bool
shown_proxy(const struct service_config *s, const struct conf_attr *a)
{
	(void)a;
	return s->is_defaults || s->proxy_protocol != 0;
}

/* tls = no is the default; where the checks dropped it, it is no. */
static bool
shown_tls_on(const struct service_config *s, const struct conf_attr *a)
{
	(void)a;
	return conf_service_has(s, A_TLS) && (s->is_defaults || s->tls);
}

/* The TLS attributes of a service without TLS say nothing. */
static bool
shown_tls(const struct service_config *s, const struct conf_attr *a)
{
	return (s->is_defaults || s->tls) &&
	    conf_service_has(s, (enum attr_id)(a - conf_attr_get(0)));
}

static bool
shown_redirect_idle(const struct service_config *s, const struct conf_attr *a)
{
	(void)a;
	/* Only a relay has an idle timeout. */
	return conf_service_has(s, A_REDIRECT_IDLE) && conf_service_has(s, A_REDIRECT);
}

/* ------------------------------------------------------------ the table */

/* The C type of a field, so that the number hooks read and write it as
 * what it is. (clang-format 14 reads _Generic's associations as labels.) */
/* clang-format off */
#define CTYPE(m) \
	_Generic(((struct service_config *)0)->m, \
	    bool: CT_BOOL, \
	    int: CT_INT, \
	    unsigned: CT_UINT, \
	    unsigned long: CT_ULONG, \
	    default: CT_NONE)
/* clang-format on */
#define FIELD(m) \
	{ \
		.off = offsetof(struct service_config, m), \
		.size = sizeof(((struct service_config *)0)->m), .ctype = CTYPE(m) \
	}
/* A number field and the range its values may take. */
#define NUMBER(m, l, h) \
	{ \
		.off = offsetof(struct service_config, m), \
		.size = sizeof(((struct service_config *)0)->m), .ctype = CTYPE(m), .lo = (l), \
		.hi = (h) \
	}

#define S W_SERVICE
#define D W_DEFAULTS
#define RPC_IGNORED " is ignored: porter does not serve RPC services"

static const struct conf_attr attrs[A_MAX] = {
	[A_ID] = { .name = "id",
	    .how = S | K_SINGLE,
	    .min = 1,
	    .max = 1,
	    .parse = parse_string,
	    .dump = dump_string,
	    .shown = shown_always,
	    .free = free_string,
	    .field = { FIELD(id) } },
	[A_TYPE] = { .name = "type",
	    .how = S | K_SINGLE,
	    .min = 1,
	    .max = -1,
	    .parse = parse_type,
	    .dump = dump_bits,
	    .shown = shown_nonzero,
	    .field = { FIELD(type) },
	    .names = types },
	[A_FLAGS] = { .name = "flags",
	    .how = S | K_SINGLE,
	    .min = 1,
	    .max = -1,
	    .parse = parse_flags,
	    .dump = dump_bits,
	    .shown = shown_nonzero,
	    .field = { FIELD(flags) },
	    .names = flags },
	/* conf_finish applies it; the dump leaves out the services it turns off. */
	[A_DISABLE] = { .name = "disable",
	    .how = S | K_SINGLE,
	    .min = 1,
	    .max = 1,
	    .parse = parse_bool,
	    .field = { FIELD(disable) } },
	[A_SOCKET_TYPE] = { .name = "socket_type",
	    .how = S | K_SINGLE,
	    .min = 1,
	    .max = 1,
	    .parse = parse_socket_type,
	    .dump = dump_socket_type,
	    .shown = shown_nonzero,
	    .field = { FIELD(socket_type) } },
	[A_PROTOCOL] = { .name = "protocol",
	    .how = S | K_SINGLE,
	    .min = 1,
	    .max = 1,
	    .parse = parse_protocol,
	    .dump = dump_protocol,
	    .shown = shown_nonzero,
	    .field = { FIELD(protocol) } },
	[A_WAIT] = { .name = "wait",
	    .how = S | K_SINGLE,
	    .min = 1,
	    .max = 1,
	    .parse = parse_bool,
	    .dump = dump_bool,
	    .shown = shown_nonnegative,
	    .field = { FIELD(wait) } },
	[A_USER] = { .name = "user",
	    .how = S | K_SINGLE,
	    .min = 1,
	    .max = 1,
	    .parse = parse_string,
	    .dump = dump_string,
	    .free = free_string,
	    .field = { FIELD(user) } },
	[A_GROUP] = { .name = "group",
	    .how = S | K_SINGLE,
	    .min = 1,
	    .max = 1,
	    .parse = parse_string,
	    .dump = dump_string,
	    .free = free_string,
	    .field = { FIELD(group) } },
	[A_GROUPS] = { .name = "groups",
	    .how = S | D | K_SINGLE | K_FILLED,
	    .min = 1,
	    .max = 1,
	    .parse = parse_bool,
	    .copy = copy_plain,
	    .dump = dump_bool,
	    .field = { FIELD(groups) } },
	[A_SERVER] = { .name = "server",
	    .how = S | K_SINGLE,
	    .min = 1,
	    .max = 1,
	    .parse = parse_path,
	    .dump = dump_string,
	    .free = free_string,
	    .field = { FIELD(server) } },
	[A_SERVER_ARGS] = { .name = "server_args",
	    .how = S | K_SINGLE,
	    .min = 1,
	    .max = -1,
	    .parse = parse_words,
	    .dump = dump_words,
	    .free = free_words,
	    .field = { FIELD(server_args) } },
	[A_REDIRECT] = { .name = "redirect",
	    .how = S | K_SINGLE,
	    .min = 2,
	    .max = 2,
	    .parse = parse_redirect,
	    .dump = dump_string,
	    .free = free_string,
	    .field = { FIELD(redirect_host), FIELD(redirect_port) } },
	[A_PORT] = { .name = "port",
	    .how = S | K_SINGLE,
	    .min = 1,
	    .max = 1,
	    .parse = parse_number,
	    .dump = dump_number,
	    .shown = shown_nonnegative,
	    .field = { NUMBER(port, 1, 65535) } },
	[A_BIND] = { .name = "bind",
	    .alias = "interface",
	    .how = S | D | K_SINGLE | K_FILLED,
	    .min = 1,
	    .max = 1,
	    .parse = parse_string,
	    .copy = copy_string,
	    .dump = dump_string,
	    .free = free_string,
	    .field = { FIELD(bind) } },
	[A_V6ONLY] = { .name = "v6only",
	    .how = S | D | K_SINGLE | K_FILLED,
	    .min = 1,
	    .max = 1,
	    .parse = parse_bool,
	    .copy = copy_plain,
	    .dump = dump_bool,
	    .shown = shown_v6only,
	    .field = { FIELD(v6only) } },
	[A_SOCKET_MODE] = { .name = "socket_mode",
	    .how = S | D | K_SINGLE | K_FILLED,
	    .min = 1,
	    .max = 1,
	    .parse = parse_octal,
	    .copy = copy_plain,
	    .dump = dump_octal,
	    .field = { FIELD(socket_mode) } },
	[A_SOCKET_USER] = { .name = "socket_user",
	    .how = S | D | K_SINGLE | K_FILLED,
	    .min = 1,
	    .max = 1,
	    .parse = parse_string,
	    .copy = copy_string,
	    .dump = dump_string,
	    .free = free_string,
	    .field = { FIELD(socket_user) } },
	[A_SOCKET_GROUP] = { .name = "socket_group",
	    .how = S | D | K_SINGLE | K_FILLED,
	    .min = 1,
	    .max = 1,
	    .parse = parse_string,
	    .copy = copy_string,
	    .dump = dump_string,
	    .free = free_string,
	    .field = { FIELD(socket_group) } },
	[A_BACKLOG] = { .name = "backlog",
	    .how = S | D | K_SINGLE | K_FILLED,
	    .min = 1,
	    .max = 1,
	    .parse = parse_number,
	    .copy = copy_plain,
	    .dump = dump_number,
	    .field = { NUMBER(backlog, 1, 1 << 20) } },
	[A_LISTEN_FDS] = { .name = "listen_fds",
	    .how = S | K_SINGLE,
	    .min = 1,
	    .max = 1,
	    .parse = parse_bool,
	    .dump = dump_bool,
	    .field = { FIELD(listen_fds) } },
	[A_INSTANCES] = { .name = "instances",
	    .how = S | D | K_SINGLE | K_FILLED,
	    .min = 1,
	    .max = 1,
	    .parse = parse_number,
	    .copy = copy_plain,
	    .dump = dump_number,
	    .field = { NUMBER(instances, 1, INT_MAX) },
	    .unlimited = true },
	[A_PER_SOURCE] = { .name = "per_source",
	    .alias = "per_uid",
	    .how = S | D | K_SINGLE | K_FILLED,
	    .min = 1,
	    .max = 1,
	    .parse = parse_number,
	    .copy = copy_plain,
	    .dump = dump_number,
	    .shown = shown_per_source,
	    .field = { NUMBER(per_source, 1, INT_MAX) },
	    .unlimited = true },
	[A_PER_SOURCE_PREFIX] = { .name = "per_source_prefix",
	    .how = S | D | K_SINGLE | K_FILLED,
	    .min = 2,
	    .max = 2,
	    .parse = parse_number,
	    .copy = copy_plain,
	    .dump = dump_number,
	    .field = { NUMBER(per_source_prefix4, 0, 32), NUMBER(per_source_prefix6, 0, 128) } },
	[A_PER_SOURCE_CPS] = { .name = "per_source_cps",
	    .how = S | D | K_SINGLE | K_FILLED,
	    .min = 2,
	    .max = 2,
	    .parse = parse_number,
	    .copy = copy_plain,
	    .dump = dump_number,
	    .field = { NUMBER(per_source_cps_rate, 1, 1000000),
	        NUMBER(per_source_cps_burst, 1, 1000000) } },
	[A_CPS] = { .name = "cps",
	    .how = S | D | K_SINGLE | K_FILLED,
	    .min = 2,
	    .max = 2,
	    .parse = parse_number,
	    .copy = copy_plain,
	    .dump = dump_number,
	    .field = { NUMBER(cps_rate, 1, 1000000), NUMBER(cps_wait, 1, 86400) } },
	[A_MAX_LOAD] = { .name = "max_load",
	    .how = S | D | K_SINGLE | K_FILLED,
	    .min = 1,
	    .max = 1,
	    .parse = parse_max_load,
	    .copy = copy_plain,
	    .dump = dump_max_load,
	    .field = { FIELD(max_load) } },
	[A_TIMEOUT] = { .name = "timeout",
	    .how = S | D | K_SINGLE | K_FILLED,
	    .min = 1,
	    .max = 1,
	    .parse = parse_number,
	    .copy = copy_plain,
	    .dump = dump_number,
	    .field = { NUMBER(timeout, 1, 366 * 86400) } },
	[A_REDIRECT_IDLE] = { .name = "redirect_idle",
	    .how = S | D | K_SINGLE | K_FILLED,
	    .min = 1,
	    .max = 1,
	    .parse = parse_number,
	    .copy = copy_plain,
	    .dump = dump_number,
	    .shown = shown_redirect_idle,
	    .field = { NUMBER(redirect_idle, 1, 366 * 86400) } },
	[A_REDIRECT_PROXY] = { .name = "redirect_proxy",
	    .how = S | D | K_SINGLE | K_FILLED,
	    .min = 1,
	    .max = 1,
	    .parse = parse_proxy_version,
	    .copy = copy_plain,
	    .dump = dump_proxy_version,
	    .field = { FIELD(redirect_proxy) } },
	[A_PROXY_PROTOCOL] = { .name = "proxy_protocol",
	    .how = S | D | K_SINGLE | K_FILLED,
	    .min = 1,
	    .max = 1,
	    .parse = parse_proxy_version,
	    .copy = copy_plain,
	    .dump = dump_proxy_version,
	    .shown = shown_proxy,
	    .field = { FIELD(proxy_protocol) } },
	[A_PROXY_FROM] = { .name = "proxy_from",
	    .how = S | D | K_LIST | K_COPIED,
	    .min = 1,
	    .max = -1,
	    .parse = parse_proxy_from,
	    .copy = copy_addrs,
	    .dump = dump_addrs,
	    .free = free_addrs,
	    .shown = shown_proxy,
	    .field = { FIELD(proxy_from) } },
	[A_PROXY_TIMEOUT] = { .name = "proxy_timeout",
	    .how = S | D | K_SINGLE | K_FILLED,
	    .min = 1,
	    .max = 1,
	    .parse = parse_number,
	    .copy = copy_plain,
	    .dump = dump_number,
	    .shown = shown_proxy,
	    .field = { NUMBER(proxy_timeout, 1, 3600) } },
	[A_TLS] = { .name = "tls",
	    .how = S | D | K_SINGLE | K_FILLED,
	    .min = 1,
	    .max = 1,
	    .parse = parse_bool,
	    .copy = copy_plain,
	    .dump = dump_bool,
	    .shown = shown_tls_on,
	    .field = { FIELD(tls) } },
	[A_TLS_CERTIFICATE] = { .name = "tls_certificate",
	    .how = S | D | K_SINGLE | K_FILLED,
	    .min = 1,
	    .max = -1,
	    .parse = parse_paths,
	    .copy = copy_words,
	    .dump = dump_words,
	    .free = free_words,
	    .shown = shown_tls,
	    .field = { FIELD(tls_certificate) } },
	[A_TLS_KEY] = { .name = "tls_key",
	    .how = S | D | K_SINGLE | K_FILLED,
	    .min = 1,
	    .max = -1,
	    .parse = parse_paths,
	    .copy = copy_words,
	    .dump = dump_words,
	    .free = free_words,
	    .shown = shown_tls,
	    .field = { FIELD(tls_key) } },
	[A_TLS_CLIENT_CA] = { .name = "tls_client_ca",
	    .how = S | D | K_SINGLE | K_FILLED,
	    .min = 1,
	    .max = 1,
	    .parse = parse_path,
	    .copy = copy_string,
	    .dump = dump_string,
	    .free = free_string,
	    .shown = shown_tls,
	    .field = { FIELD(tls_client_ca) } },
	[A_TLS_VERIFY_CLIENT] = { .name = "tls_verify_client",
	    .how = S | D | K_SINGLE | K_FILLED,
	    .min = 1,
	    .max = 1,
	    .parse = parse_tls_verify,
	    .copy = copy_plain,
	    .dump = dump_tls_verify,
	    .shown = shown_tls,
	    .field = { FIELD(tls_verify_client) } },
	[A_TLS_PROTOCOLS] = { .name = "tls_protocols",
	    .how = S | D | K_SINGLE | K_FILLED,
	    .min = 1,
	    .max = 4,
	    .parse = parse_tls_protocols,
	    .copy = copy_plain,
	    .dump = dump_tls_protocols,
	    .shown = shown_tls,
	    .field = { FIELD(tls_protocols) } },
	[A_TLS_CIPHERS] = { .name = "tls_ciphers",
	    .how = S | D | K_SINGLE | K_FILLED,
	    .min = 1,
	    .max = 1,
	    .parse = parse_string,
	    .copy = copy_string,
	    .dump = dump_string,
	    .free = free_string,
	    .shown = shown_tls,
	    .field = { FIELD(tls_ciphers) } },
	[A_TLS_CIPHERSUITES] = { .name = "tls_ciphersuites",
	    .how = S | D | K_SINGLE | K_FILLED,
	    .min = 1,
	    .max = 1,
	    .parse = parse_string,
	    .copy = copy_string,
	    .dump = dump_string,
	    .free = free_string,
	    .shown = shown_tls,
	    .field = { FIELD(tls_ciphersuites) } },
	[A_TLS_ALPN] = { .name = "tls_alpn",
	    .how = S | D | K_SINGLE | K_FILLED,
	    .min = 1,
	    .max = -1,
	    .parse = parse_tls_alpn,
	    .copy = copy_words,
	    .dump = dump_words,
	    .free = free_words,
	    .shown = shown_tls,
	    .field = { FIELD(tls_alpn) } },
	[A_TLS_HANDSHAKE_TIMEOUT] = { .name = "tls_handshake_timeout",
	    .how = S | D | K_SINGLE | K_FILLED,
	    .min = 1,
	    .max = 1,
	    .parse = parse_number,
	    .copy = copy_plain,
	    .dump = dump_number,
	    .shown = shown_tls,
	    .field = { NUMBER(tls_handshake_timeout, 1, 3600) } },
	[A_NO_NEW_PRIVS] = { .name = "no_new_privs",
	    .how = S | D | K_SINGLE | K_FILLED,
	    .min = 1,
	    .max = 1,
	    .parse = parse_bool,
	    .copy = copy_plain,
	    .dump = dump_bool,
	    .field = { FIELD(no_new_privs) } },
	[A_CAPABILITIES] = { .name = "capabilities",
	    .how = S | D | K_SINGLE | K_FILLED,
	    .min = 0,
	    .max = -1,
	    .parse = parse_caps,
	    .copy = copy_words,
	    .dump = dump_words,
	    .free = free_words,
	    .field = { FIELD(capabilities) } },
	[A_AMBIENT_CAPABILITIES] = { .name = "ambient_capabilities",
	    .how = S | D | K_SINGLE | K_FILLED,
	    .min = 0,
	    .max = -1,
	    .parse = parse_caps,
	    .copy = copy_words,
	    .dump = dump_words,
	    .free = free_words,
	    .field = { FIELD(ambient_capabilities) } },
	[A_SYSTEM_CALL_FILTER] = { .name = "system_call_filter",
	    .how = S | D | K_SINGLE | K_FILLED,
	    .min = 1,
	    .max = -1,
	    .parse = parse_syscall_filter,
	    .copy = copy_words,
	    .dump = dump_words,
	    .free = free_words,
	    .field = { FIELD(system_call_filter) } },
	[A_SYSTEM_CALL_ERROR] = { .name = "system_call_error",
	    .how = S | D | K_SINGLE | K_FILLED,
	    .min = 1,
	    .max = 1,
	    .parse = parse_syscall_error,
	    .copy = copy_plain,
	    .dump = dump_syscall_error,
	    .field = { FIELD(system_call_error) } },
	[A_RESTRICT_ADDRESS_FAMILIES] = { .name = "restrict_address_families",
	    .how = S | D | K_SINGLE | K_FILLED,
	    .min = 1,
	    .max = -1,
	    .parse = parse_families,
	    .copy = copy_words,
	    .dump = dump_words,
	    .free = free_words,
	    .field = { FIELD(restrict_address_families) } },
	[A_SANDBOX] = { .name = "sandbox",
	    .how = S | D | K_SINGLE | K_FILLED,
	    .min = 1,
	    .max = 1,
	    .parse = parse_named,
	    .copy = copy_plain,
	    .dump = dump_named,
	    .field = { FIELD(sandbox_bundle) },
	    .names = sandbox_words },
	[A_PRIVATE_TMP] = { .name = "private_tmp",
	    .how = S | D | K_SINGLE | K_FILLED,
	    .min = 1,
	    .max = 1,
	    .parse = parse_bool,
	    .copy = copy_plain,
	    .dump = dump_bool,
	    .field = { FIELD(private_tmp) } },
	[A_TMP_SIZE] = { .name = "tmp_size",
	    .how = S | D | K_SINGLE | K_FILLED,
	    .min = 1,
	    .max = 1,
	    .parse = parse_tmp_size,
	    .copy = copy_plain,
	    .dump = dump_bytes,
	    .field = { FIELD(tmp_size) } },
	[A_PROTECT_SYSTEM] = { .name = "protect_system",
	    .how = S | D | K_SINGLE | K_FILLED,
	    .min = 1,
	    .max = 1,
	    .parse = parse_named,
	    .copy = copy_plain,
	    .dump = dump_named,
	    .field = { FIELD(protect_system) },
	    .names = protect_system_words },
	[A_PROTECT_HOME] = { .name = "protect_home",
	    .how = S | D | K_SINGLE | K_FILLED,
	    .min = 1,
	    .max = 1,
	    .parse = parse_named,
	    .copy = copy_plain,
	    .dump = dump_named,
	    .field = { FIELD(protect_home) },
	    .names = protect_home_words },
	[A_READ_WRITE_PATHS] = { .name = "read_write_paths",
	    .how = S | D | K_SINGLE | K_FILLED,
	    .min = 1,
	    .max = -1,
	    .parse = parse_paths,
	    .copy = copy_words,
	    .dump = dump_words,
	    .free = free_words,
	    .field = { FIELD(read_write_paths) } },
	[A_READ_ONLY_PATHS] = { .name = "read_only_paths",
	    .how = S | D | K_SINGLE | K_FILLED,
	    .min = 1,
	    .max = -1,
	    .parse = parse_paths,
	    .copy = copy_words,
	    .dump = dump_words,
	    .free = free_words,
	    .field = { FIELD(read_only_paths) } },
	[A_INACCESSIBLE_PATHS] = { .name = "inaccessible_paths",
	    .how = S | D | K_SINGLE | K_FILLED,
	    .min = 1,
	    .max = -1,
	    .parse = parse_paths,
	    .copy = copy_words,
	    .dump = dump_words,
	    .free = free_words,
	    .field = { FIELD(inaccessible_paths) } },
	[A_ROOT_DIRECTORY] = { .name = "root_directory",
	    .how = S | D | K_SINGLE | K_FILLED,
	    .min = 1,
	    .max = 1,
	    .parse = parse_path,
	    .copy = copy_string,
	    .dump = dump_string,
	    .free = free_string,
	    .field = { FIELD(root_directory) } },
	[A_BIND_PATHS] = { .name = "bind_paths",
	    .how = S | D | K_SINGLE | K_FILLED,
	    .min = 1,
	    .max = -1,
	    .parse = parse_bind_paths,
	    .copy = copy_words,
	    .dump = dump_words,
	    .free = free_words,
	    .field = { FIELD(bind_paths) } },
	[A_BIND_READ_ONLY_PATHS] = { .name = "bind_read_only_paths",
	    .how = S | D | K_SINGLE | K_FILLED,
	    .min = 1,
	    .max = -1,
	    .parse = parse_bind_paths,
	    .copy = copy_words,
	    .dump = dump_words,
	    .free = free_words,
	    .field = { FIELD(bind_read_only_paths) } },
	[A_PRIVATE_NETWORK] = { .name = "private_network",
	    .how = S | D | K_SINGLE | K_FILLED,
	    .min = 1,
	    .max = 1,
	    .parse = parse_bool,
	    .copy = copy_plain,
	    .dump = dump_bool,
	    .field = { FIELD(private_network) } },
	[A_PRIVATE_PID] = { .name = "private_pid",
	    .how = S | D | K_SINGLE | K_FILLED,
	    .min = 1,
	    .max = 1,
	    .parse = parse_bool,
	    .copy = copy_plain,
	    .dump = dump_bool,
	    .field = { FIELD(private_pid) } },
	[A_PRIVATE_IPC] = { .name = "private_ipc",
	    .how = S | D | K_SINGLE | K_FILLED,
	    .min = 1,
	    .max = 1,
	    .parse = parse_bool,
	    .copy = copy_plain,
	    .dump = dump_bool,
	    .field = { FIELD(private_ipc) } },
	[A_PRIVATE_UTS] = { .name = "private_uts",
	    .how = S | D | K_SINGLE | K_FILLED,
	    .min = 1,
	    .max = 1,
	    .parse = parse_bool,
	    .copy = copy_plain,
	    .dump = dump_bool,
	    .field = { FIELD(private_uts) } },
	[A_HOSTNAME] = { .name = "hostname",
	    .how = S | D | K_SINGLE | K_FILLED,
	    .min = 1,
	    .max = 1,
	    .parse = parse_hostname,
	    .copy = copy_string,
	    .dump = dump_string,
	    .free = free_string,
	    .field = { FIELD(hostname) } },
	[A_ACCESS_TIMES] = { .name = "access_times",
	    .how = S | K_SINGLE,
	    .min = 1,
	    .max = -1,
	    .parse = parse_access_times,
	    .dump = dump_access_times,
	    .free = free_access_times },
	[A_ONLY_FROM] = { .name = "only_from",
	    .how = S | D | K_LIST | K_COPIED,
	    .min = 0,
	    .max = -1,
	    .parse = parse_addrs,
	    .copy = copy_addrs,
	    .dump = dump_addrs,
	    .free = free_addrs,
	    .field = { FIELD(only_from) } },
	[A_NO_ACCESS] = { .name = "no_access",
	    .how = S | D | K_LIST | K_COPIED,
	    .min = 0,
	    .max = -1,
	    .parse = parse_addrs,
	    .copy = copy_addrs,
	    .dump = dump_addrs,
	    .free = free_addrs,
	    .field = { FIELD(no_access) } },
	[A_ONLY_UID] = { .name = "only_uid",
	    .how = S | D | K_SINGLE | K_FILLED,
	    .min = 1,
	    .max = -1,
	    .parse = parse_words,
	    .copy = copy_words,
	    .dump = dump_words,
	    .free = free_words,
	    .field = { FIELD(only_uid) } },
	[A_ONLY_GID] = { .name = "only_gid",
	    .how = S | D | K_SINGLE | K_FILLED,
	    .min = 1,
	    .max = -1,
	    .parse = parse_words,
	    .copy = copy_words,
	    .dump = dump_words,
	    .free = free_words,
	    .field = { FIELD(only_gid) } },
	[A_NO_UID] = { .name = "no_uid",
	    .how = S | D | K_SINGLE | K_FILLED,
	    .min = 1,
	    .max = -1,
	    .parse = parse_words,
	    .copy = copy_words,
	    .dump = dump_words,
	    .free = free_words,
	    .field = { FIELD(no_uid) } },
	[A_NO_GID] = { .name = "no_gid",
	    .how = S | D | K_SINGLE | K_FILLED,
	    .min = 1,
	    .max = -1,
	    .parse = parse_words,
	    .copy = copy_words,
	    .dump = dump_words,
	    .free = free_words,
	    .field = { FIELD(no_gid) } },
	[A_LOG_TYPE] = { .name = "log_type",
	    .how = S | D | K_SINGLE | K_FILLED,
	    .min = 1,
	    .max = 5,
	    .parse = parse_log_type,
	    .copy = copy_log_type,
	    .dump = dump_log_type,
	    .free = free_log_type },
	[A_LOG_ON_SUCCESS] = { .name = "log_on_success",
	    .how = S | D | K_LIST | K_COPIED,
	    .min = 0,
	    .max = -1,
	    .parse = parse_log_on,
	    .copy = copy_plain,
	    .dump = dump_log_on_success,
	    .field = { FIELD(log_on_success) },
	    .names = log_success },
	[A_LOG_ON_FAILURE] = { .name = "log_on_failure",
	    .how = S | D | K_LIST | K_COPIED,
	    .min = 0,
	    .max = -1,
	    .parse = parse_log_on,
	    .copy = copy_plain,
	    .dump = dump_bits,
	    .field = { FIELD(log_on_failure) },
	    .names = log_failure },
	[A_ENV] = { .name = "env",
	    .how = S | K_ADD,
	    .min = 1,
	    .max = -1,
	    .parse = parse_env,
	    .dump = dump_words,
	    .free = free_words,
	    .field = { FIELD(env) } },
	[A_PASSENV] = { .name = "passenv",
	    .how = S | D | K_LIST | K_COPIED,
	    .min = 0,
	    .max = -1,
	    .parse = parse_passenv,
	    .copy = copy_words,
	    .dump = dump_words,
	    .free = free_words,
	    .field = { FIELD(passenv) } },
	[A_BANNER] = { .name = "banner",
	    .how = S | D | K_SINGLE | K_COPIED,
	    .min = 1,
	    .max = 1,
	    .parse = parse_path,
	    .copy = copy_string,
	    .dump = dump_string,
	    .free = free_string,
	    .field = { FIELD(banner) } },
	[A_BANNER_SUCCESS] = { .name = "banner_success",
	    .how = S | D | K_SINGLE | K_COPIED,
	    .min = 1,
	    .max = 1,
	    .parse = parse_path,
	    .copy = copy_string,
	    .dump = dump_string,
	    .free = free_string,
	    .field = { FIELD(banner_success) } },
	[A_BANNER_FAIL] = { .name = "banner_fail",
	    .how = S | D | K_SINGLE | K_COPIED,
	    .min = 1,
	    .max = 1,
	    .parse = parse_path,
	    .copy = copy_string,
	    .dump = dump_string,
	    .free = free_string,
	    .field = { FIELD(banner_fail) } },
	[A_NICE] = { .name = "nice",
	    .how = S | K_SINGLE,
	    .min = 1,
	    .max = 1,
	    .parse = parse_number,
	    .dump = dump_number,
	    .field = { NUMBER(nice, -20, 19) } },
	[A_UMASK] = { .name = "umask",
	    .how = S | D | K_SINGLE | K_FILLED,
	    .min = 1,
	    .max = 1,
	    .parse = parse_octal,
	    .copy = copy_plain,
	    .dump = dump_octal,
	    .field = { FIELD(umask) } },
	[A_RLIMIT_AS] = { .name = "rlimit_as",
	    .how = S | K_SINGLE,
	    .min = 1,
	    .max = 1,
	    .parse = parse_rlimit,
	    .dump = dump_rlimit,
	    .field = { FIELD(rlimit[RL_AS]) },
	    .unlimited = true },
	[A_RLIMIT_CPU] = { .name = "rlimit_cpu",
	    .how = S | K_SINGLE,
	    .min = 1,
	    .max = 1,
	    .parse = parse_rlimit,
	    .dump = dump_rlimit,
	    .field = { NUMBER(rlimit[RL_CPU], 1, UINT32_MAX) },
	    .unlimited = true,
	    .unit = "seconds" },
	[A_RLIMIT_DATA] = { .name = "rlimit_data",
	    .how = S | K_SINGLE,
	    .min = 1,
	    .max = 1,
	    .parse = parse_rlimit,
	    .dump = dump_rlimit,
	    .field = { FIELD(rlimit[RL_DATA]) },
	    .unlimited = true },
	[A_RLIMIT_RSS] = { .name = "rlimit_rss",
	    .how = S | K_SINGLE,
	    .min = 1,
	    .max = 1,
	    .parse = parse_rlimit,
	    .dump = dump_rlimit,
	    .field = { FIELD(rlimit[RL_RSS]) },
	    .unlimited = true },
	[A_RLIMIT_STACK] = { .name = "rlimit_stack",
	    .how = S | K_SINGLE,
	    .min = 1,
	    .max = 1,
	    .parse = parse_rlimit,
	    .dump = dump_rlimit,
	    .field = { FIELD(rlimit[RL_STACK]) },
	    .unlimited = true },
	/* UNLIMITED would hand servers porterd's own hard limit. */
	[A_RLIMIT_FILES] = { .name = "rlimit_files",
	    .how = S | K_SINGLE,
	    .min = 1,
	    .max = 1,
	    .parse = parse_rlimit,
	    .dump = dump_rlimit,
	    .field = { NUMBER(rlimit[RL_FILES], 1, 1 << 30) },
	    .unit = "files" },
	/* cgroup.c applies these to the servers porterd starts. */
	[A_MEMORY_MAX] = { .name = "memory_max",
	    .how = S | D | K_SINGLE | K_FILLED,
	    .min = 1,
	    .max = 1,
	    .parse = parse_memory_max,
	    .copy = copy_plain,
	    .dump = dump_bytes,
	    .field = { FIELD(memory_max) } },
	[A_PIDS_MAX] = { .name = "pids_max",
	    .how = S | D | K_SINGLE | K_FILLED,
	    .min = 1,
	    .max = 1,
	    .parse = parse_number,
	    .copy = copy_plain,
	    .dump = dump_number,
	    .field = { NUMBER(pids_max, 1, 4194304) } },
	[A_CPU_MAX] = { .name = "cpu_max",
	    .how = S | D | K_SINGLE | K_FILLED,
	    .min = 1,
	    .max = 1,
	    .parse = parse_cpu_max,
	    .copy = copy_plain,
	    .dump = dump_cpu_max,
	    .field = { FIELD(cpu_quota_us), FIELD(cpu_period_us) } },
	/* The sum of all of a service's servers: its cgroup is the parent of
	 * theirs. */
	[A_SERVICE_MEMORY_MAX] = { .name = "service_memory_max",
	    .how = S | D | K_SINGLE | K_FILLED,
	    .min = 1,
	    .max = 1,
	    .parse = parse_memory_max,
	    .copy = copy_plain,
	    .dump = dump_bytes,
	    .field = { FIELD(service_memory_max) } },
	[A_SERVICE_PIDS_MAX] = { .name = "service_pids_max",
	    .how = S | D | K_SINGLE | K_FILLED,
	    .min = 1,
	    .max = 1,
	    .parse = parse_number,
	    .copy = copy_plain,
	    .dump = dump_number,
	    .field = { NUMBER(service_pids_max, 1, 4194304) } },
	[A_DENY_TIME] = { .name = "deny_time",
	    .how = S | K_SINGLE,
	    .min = 1,
	    .max = 1,
	    .parse = parse_deny_time,
	    .dump = dump_deny_time },
	[A_RPC_VERSION] = { .name = "rpc_version",
	    .how = S | K_SINGLE,
	    .min = 1,
	    .max = 1,
	    .parse = parse_rpc_version,
	    .dump = dump_rpc_version,
	    .ignored = RPC_IGNORED },
	[A_RPC_NUMBER] = { .name = "rpc_number",
	    .how = S | K_SINGLE,
	    .min = 1,
	    .max = 1,
	    .parse = parse_number,
	    .dump = dump_number,
	    .field = { NUMBER(rpc_number, 0, UINT32_MAX) },
	    .ignored = RPC_IGNORED },
	[A_LIBWRAP] = { .name = "libwrap",
	    .how = S | K_SINGLE,
	    .min = 1,
	    .max = 1,
	    .parse = parse_string,
	    .dump = dump_string,
	    .free = free_string,
	    .field = { FIELD(libwrap) } },
	[A_MDNS] = { .name = "mdns",
	    .how = S | D | K_SINGLE,
	    .min = 1,
	    .max = 1,
	    .parse = parse_bool,
	    .ignored =
	        ": mDNS registration was removed from xinetd and porter does not do it; the attribute is ignored" },
	[A_ENABLED] = { .name = "enabled",
	    .how = D | K_ALWAYS_ADD,
	    .min = 1,
	    .max = -1,
	    .parse = parse_names,
	    .free = free_words,
	    .field = { FIELD(enabled) } },
	[A_DISABLED] = { .name = "disabled",
	    .how = D | K_ALWAYS_ADD,
	    .min = 1,
	    .max = -1,
	    .parse = parse_names,
	    .free = free_words,
	    .field = { FIELD(disabled) } },
};
#undef S
#undef D

const struct conf_attr *
conf_attr_get(enum attr_id id)
{
	return &attrs[id];
}

int
conf_attr_lookup(const char *name)
{
	for (int id = 0; id < A_MAX; id++)
		if (strcasecmp(attrs[id].name, name) == 0 ||
		    (attrs[id].alias != NULL && strcasecmp(attrs[id].alias, name) == 0))
			return id;
	return -1;
}

const char *
conf_attr_name(enum attr_id id)
{
	return attrs[id].name;
}
