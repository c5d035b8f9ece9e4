/*
 * conf_parse.c: the xinetd.conf grammar. Entries, operators, include and
 * includedir, and every attribute's values go into struct config; nothing
 * here touches the system beyond reading the files, so `porterd -t`, reload
 * and the fuzzer all run exactly this path. How defaults reach services is
 * decided here too, because xinetd copies some of them while parsing.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "conf.h"

#define INCLUDE_DEPTH_MAX 16
#define CONF_FILE_MAX (16 * 1024 * 1024)

enum op { OP_SET, OP_ADD, OP_DEL };

/* Where an attribute may appear and how. */
#define W_SERVICE 0x01u
#define W_DEFAULTS 0x02u
#define K_SINGLE 0x04u     /* '=' only, once per entry */
#define K_LIST 0x08u       /* '=', '+=', '-='; cumulative in defaults */
#define K_ADD 0x10u        /* '=', '+=' (env) */
#define K_ALWAYS_ADD 0x20u /* enabled, disabled: every operator adds */
#define K_COPIED 0x40u     /* copied from defaults when a service starts */
#define K_FILLED 0x80u     /* filled from defaults after parsing */

struct pctx {
	struct config *cf;
	const struct conf_opts *opts;
	struct diag *d;
	struct strv stack; /* files being parsed, for loop detection */
	int attr;          /* attribute of the line being parsed, or -1 */
};

struct attr;
typedef bool attr_fn(struct pctx *, struct service_config *, const struct attr *, enum op,
    const struct strv *, struct loc);

struct attr {
	const char *name;
	enum attr_id id;
	unsigned how;
	int min; /* values */
	int max; /* -1: any number */
	attr_fn *fn;
};

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
	strv_clear(&cf->files);
	free(cf);
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
	return s;
}

void
conf_service_free(struct service_config *s)
{
	if (s == NULL)
		return;
	free(s->at);
	free(s->name);
	free(s->id);
	free(s->user);
	free(s->group);
	free(s->server);
	strv_clear(&s->server_args);
	free(s->redirect_host);
	free(s->redirect_port);
	free(s->bind);
	free(s->access_times);
	access_clear(&s->only_from);
	access_clear(&s->no_access);
	free(s->log_type.path);
	strv_clear(&s->env);
	strv_clear(&s->passenv);
	free(s->banner);
	free(s->banner_success);
	free(s->banner_fail);
	free(s->libwrap);
	strv_clear(&s->enabled);
	strv_clear(&s->disabled);
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
	s->has |= 1ull << a;
	s->own |= 1ull << a;
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

/* ------------------------------------------------------------ values */

static bool
parse_bool(struct pctx *p, const struct attr *a, const char *v, bool *out, struct loc loc)
{
	if (strcasecmp(v, "yes") == 0)
		*out = true;
	else if (strcasecmp(v, "no") == 0)
		*out = false;
	else {
		diag_error(p->d, loc, "%s: expected yes or no, not \"%s\"", a->name, v);
		return false;
	}
	return true;
}

/* A number in [min, max], or with unlimited != NULL also "UNLIMITED". */
static bool
parse_num(struct pctx *p, const struct attr *a, const char *v, long long min, long long max,
    const char *unlimited, long long *out, struct loc loc)
{
	unsigned long long u;
	const char *digits = v;
	bool neg = false;

	if (unlimited != NULL && strcasecmp(v, "UNLIMITED") == 0) {
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
		diag_error(p->d, loc, "%s: expected a number from %lld to %lld%s, not \"%s\"",
		    a->name, min, max, unlimited ? " or UNLIMITED" : "", v);
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

struct name_bit {
	const char *name;
	unsigned bit;
};

static const struct name_bit types[] = {
	{ "RPC", T_RPC },
	{ "INTERNAL", T_INTERNAL },
	{ "UNLISTED", T_UNLISTED },
	{ "TCPMUX", T_TCPMUX },
	{ "TCPMUXPLUS", T_TCPMUXPLUS },
	{ NULL, 0 },
};

static const struct name_bit flags[] = {
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
	{ NULL, 0 },
};

static const struct name_bit log_success[] = {
	{ "PID", L_PID },
	{ "HOST", L_HOST },
	{ "USERID", L_USERID },
	{ "EXIT", L_EXIT },
	{ "DURATION", L_DURATION },
	{ "TRAFFIC", L_TRAFFIC },
	{ NULL, 0 },
};

static const struct name_bit log_failure[] = {
	{ "HOST", L_HOST },
	{ "USERID", L_USERID },
	{ "ATTEMPT", L_ATTEMPT },
	{ NULL, 0 },
};

static const struct name_bit facilities[] = {
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

static const struct name_bit levels[] = {
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

static const struct name_bit *
name_find(const struct name_bit *t, const char *v)
{
	for (; t->name != NULL; t++)
		if (strcasecmp(t->name, v) == 0)
			return t;
	return NULL;
}

static const char *
name_of(const struct name_bit *t, unsigned bit)
{
	for (; t->name != NULL; t++)
		if (t->bit == bit)
			return t->name;
	return "?";
}

static void
name_list(const struct name_bit *t, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (; t->name != NULL && o < len; t++)
		o += (size_t)snprintf(buf + o, len - o, "%s%s", o ? " " : "", t->name);
}

const char *
conf_type_name(unsigned bit)
{
	return name_of(types, bit);
}

const char *
conf_flag_name(unsigned bit)
{
	return name_of(flags, bit);
}

const char *
conf_log_name(unsigned bit)
{
	return bit == L_ATTEMPT ? "ATTEMPT" : name_of(log_success, bit);
}

const char *
conf_facility_name(int facility)
{
	return name_of(facilities, (unsigned)facility);
}

const char *
conf_level_name(int level)
{
	return name_of(levels, (unsigned)level);
}

/* ------------------------------------------------------------ attributes */

static bool
set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = mem_strdup(v);
	return true;
}

static bool
attr_id(struct pctx *p, struct service_config *s, const struct attr *a, enum op op,
    const struct strv *v, struct loc loc)
{
	(void)p, (void)a, (void)op, (void)loc;
	return set_str(&s->id, v->v[0]);
}

static bool
attr_type(struct pctx *p, struct service_config *s, const struct attr *a, enum op op,
    const struct strv *v, struct loc loc)
{
	bool ok = true;

	(void)op;
	for (size_t i = 0; i < v->n; i++) {
		const struct name_bit *nb = name_find(types, v->v[i]);
		char known[128];

		if (nb == NULL) {
			name_list(types, known, sizeof(known));
			diag_error(p->d, loc, "%s: unknown type \"%s\" (known: %s)", a->name,
			    v->v[i], known);
			ok = false;
		} else if (nb->bit == T_RPC) {
			diag_error(p->d, loc,
			    "%s: RPC services are not supported by porter; run the RPC server as a standalone daemon registered with rpcbind",
			    a->name);
			ok = false;
		} else
			s->type |= nb->bit;
	}
	return ok;
}

static bool
attr_flags(struct pctx *p, struct service_config *s, const struct attr *a, enum op op,
    const struct strv *v, struct loc loc)
{
	bool ok = true;

	(void)op;
	for (size_t i = 0; i < v->n; i++) {
		const struct name_bit *nb = name_find(flags, v->v[i]);
		char known[256];

		if (nb == NULL) {
			name_list(flags, known, sizeof(known));
			diag_error(p->d, loc, "%s: unknown flag \"%s\" (known: %s)", a->name,
			    v->v[i], known);
			ok = false;
			continue;
		}
		if (nb->bit == F_LABELED) {
			diag_error(p->d, loc,
			    "%s: LABELED (SELinux contexts from the peer's label) is not supported by porter",
			    a->name);
			ok = false;
			continue;
		}
		if (nb->bit == F_INTERCEPT)
			diag_warn(p->d, loc,
			    "%s: INTERCEPT is not supported by porter and is ignored", a->name);
		s->flags |= nb->bit;
	}
	return ok;
}

static bool
attr_bool(struct pctx *p, struct service_config *s, const struct attr *a, enum op op,
    const struct strv *v, struct loc loc)
{
	bool b;

	(void)op;
	if (!parse_bool(p, a, v->v[0], &b, loc))
		return false;
	switch (a->id) {
	case A_DISABLE:
		s->disable = b;
		break;
	case A_WAIT:
		s->wait = b;
		break;
	case A_GROUPS:
		s->groups = b;
		break;
	case A_V6ONLY:
		s->v6only = b;
		break;
	case A_LISTEN_FDS:
		s->listen_fds = b;
		break;
	case A_MDNS:
		diag_warn(p->d, loc,
		    "%s: mDNS registration was removed from xinetd and porter does not do it; the attribute is ignored",
		    a->name);
		break;
	default:
		abort();
	}
	return true;
}

static bool
attr_socket_type(struct pctx *p, struct service_config *s, const struct attr *a, enum op op,
    const struct strv *v, struct loc loc)
{
	const char *t = v->v[0];

	(void)op;
	if (strcasecmp(t, "stream") == 0)
		s->socket_type = SOCK_STREAM;
	else if (strcasecmp(t, "dgram") == 0)
		s->socket_type = SOCK_DGRAM;
	else if (strcasecmp(t, "raw") == 0 || strcasecmp(t, "seqpacket") == 0 ||
	    strcasecmp(t, "rdm") == 0) {
		diag_error(p->d, loc,
		    "%s: %s sockets are not supported by porter (stream or dgram)", a->name, t);
		return false;
	} else {
		diag_error(p->d, loc, "%s: expected stream or dgram, not \"%s\"", a->name, t);
		return false;
	}
	return true;
}

static bool
attr_protocol(struct pctx *p, struct service_config *s, const struct attr *a, enum op op,
    const struct strv *v, struct loc loc)
{
	const char *t = v->v[0];

	(void)op;
	if (strcasecmp(t, "tcp") == 0)
		s->protocol = IPPROTO_TCP;
	else if (strcasecmp(t, "udp") == 0)
		s->protocol = IPPROTO_UDP;
	else {
		diag_error(p->d, loc, "%s: expected tcp or udp, not \"%s\"", a->name, t);
		return false;
	}
	return true;
}

static bool
attr_string(struct pctx *p, struct service_config *s, const struct attr *a, enum op op,
    const struct strv *v, struct loc loc)
{
	const char *t = v->v[0];

	(void)op;
	switch (a->id) {
	case A_USER:
		return set_str(&s->user, t);
	case A_GROUP:
		return set_str(&s->group, t);
	case A_BIND:
		return set_str(&s->bind, t);
	case A_LIBWRAP:
		diag_warn(p->d, loc,
		    "%s: porter has no tcp_wrappers support and ignores this attribute; write the rules as only_from and no_access",
		    a->name);
		return set_str(&s->libwrap, t);
	case A_SERVER:
	case A_BANNER:
	case A_BANNER_SUCCESS:
	case A_BANNER_FAIL:
		if (t[0] != '/') {
			diag_error(p->d, loc, "%s: \"%s\" is not an absolute path", a->name, t);
			return false;
		}
		return set_str(a->id == A_SERVER  ? &s->server :
		        a->id == A_BANNER         ? &s->banner :
		        a->id == A_BANNER_SUCCESS ? &s->banner_success :
		                                    &s->banner_fail,
		    t);
	default:
		abort();
	}
}

static bool
attr_server_args(struct pctx *p, struct service_config *s, const struct attr *a, enum op op,
    const struct strv *v, struct loc loc)
{
	(void)p, (void)a, (void)op, (void)loc;
	strv_copy(&s->server_args, v);
	return true;
}

static bool
attr_redirect(struct pctx *p, struct service_config *s, const struct attr *a, enum op op,
    const struct strv *v, struct loc loc)
{
	long long port;

	(void)op;
	/* The port may be a service name; conf_check resolves it. */
	if (isdigit((unsigned char)v->v[1][0]) &&
	    !parse_num(p, a, v->v[1], 1, 65535, NULL, &port, loc))
		return false;
	set_str(&s->redirect_host, v->v[0]);
	set_str(&s->redirect_port, v->v[1]);
	return true;
}

static bool
attr_int(struct pctx *p, struct service_config *s, const struct attr *a, enum op op,
    const struct strv *v, struct loc loc)
{
	long long n;

	(void)op;
	switch (a->id) {
	case A_PORT:
		if (!parse_num(p, a, v->v[0], 1, 65535, NULL, &n, loc))
			return false;
		s->port = (int)n;
		break;
	case A_BACKLOG:
		if (!parse_num(p, a, v->v[0], 1, 1 << 20, NULL, &n, loc))
			return false;
		s->backlog = (int)n;
		break;
	case A_INSTANCES:
	case A_PER_SOURCE:
		if (!parse_num(p, a, v->v[0], 1, INT_MAX, "UNLIMITED", &n, loc))
			return false;
		*(a->id == A_INSTANCES ? &s->instances : &s->per_source) = (int)n;
		break;
	case A_TIMEOUT:
	case A_REDIRECT_IDLE:
		if (!parse_num(p, a, v->v[0], 1, 366 * 86400, NULL, &n, loc))
			return false;
		*(a->id == A_TIMEOUT ? &s->timeout : &s->redirect_idle) = (unsigned)n;
		break;
	case A_NICE:
		if (!parse_num(p, a, v->v[0], -20, 19, NULL, &n, loc))
			return false;
		s->nice = (int)n;
		break;
	case A_RPC_NUMBER:
		if (!parse_num(p, a, v->v[0], 0, UINT32_MAX, NULL, &n, loc))
			return false;
		s->rpc_number = (unsigned long)n;
		diag_warn(p->d, loc, "%s is ignored: porter does not serve RPC services", a->name);
		break;
	default:
		abort();
	}
	return true;
}

static bool
attr_pair(struct pctx *p, struct service_config *s, const struct attr *a, enum op op,
    const struct strv *v, struct loc loc)
{
	long long x, y;

	(void)op;
	switch (a->id) {
	case A_CPS:
		if (!parse_num(p, a, v->v[0], 1, 1000000, NULL, &x, loc) ||
		    !parse_num(p, a, v->v[1], 1, 86400, NULL, &y, loc))
			return false;
		s->cps_rate = (unsigned)x;
		s->cps_wait = (unsigned)y;
		break;
	case A_PER_SOURCE_PREFIX:
		if (!parse_num(p, a, v->v[0], 0, 32, NULL, &x, loc) ||
		    !parse_num(p, a, v->v[1], 0, 128, NULL, &y, loc))
			return false;
		s->per_source_prefix4 = (int)x;
		s->per_source_prefix6 = (int)y;
		break;
	case A_PER_SOURCE_CPS:
		if (!parse_num(p, a, v->v[0], 1, 1000000, NULL, &x, loc) ||
		    !parse_num(p, a, v->v[1], 1, 1000000, NULL, &y, loc))
			return false;
		s->per_source_cps_rate = (unsigned)x;
		s->per_source_cps_burst = (unsigned)y;
		break;
	default:
		abort();
	}
	return true;
}

static bool
attr_max_load(struct pctx *p, struct service_config *s, const struct attr *a, enum op op,
    const struct strv *v, struct loc loc)
{
	char *end;
	double d;

	(void)op;
	errno = 0;
	d = strtod(v->v[0], &end);
	if (errno != 0 || *end != '\0' || end == v->v[0] || !(d > 0) || d > 1e6 ||
	    strspn(v->v[0], "0123456789.eE+-") != strlen(v->v[0]) ||
	    !(isdigit((unsigned char)v->v[0][0]) || v->v[0][0] == '.')) {
		diag_error(p->d, loc, "%s: expected a load average above 0 such as 2.5, not \"%s\"",
		    a->name, v->v[0]);
		return false;
	}
	s->max_load = d;
	return true;
}

static bool
attr_access_times(struct pctx *p, struct service_config *s, const struct attr *a, enum op op,
    const struct strv *v, struct loc loc)
{
	struct timerange *tr = mem_calloc(v->n, sizeof(*tr));
	char err[256];

	(void)op;
	for (size_t i = 0; i < v->n; i++) {
		if (!access_times_parse(v->v[i], &tr[i], err, sizeof(err))) {
			diag_error(p->d, loc, "%s: %s", a->name, err);
			free(tr);
			return false;
		}
	}
	free(s->access_times);
	s->access_times = tr;
	s->naccess_times = v->n;
	return true;
}

static bool
attr_addrs(struct pctx *p, struct service_config *s, const struct attr *a, enum op op,
    const struct strv *v, struct loc loc)
{
	struct addrlist *dst = a->id == A_ONLY_FROM ? &s->only_from : &s->no_access;
	struct addrlist tmp = { 0 };
	char err[256];
	bool ok = true;

	for (size_t i = 0; i < v->n; i++) {
		if (!access_parse(v->v[i], &tmp, err, sizeof(err))) {
			diag_error(p->d, loc, "%s: %s", a->name, err);
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

static bool
attr_log_type(struct pctx *p, struct service_config *s, const struct attr *a, enum op op,
    const struct strv *v, struct loc loc)
{
	struct logtype *lt = &s->log_type;
	const struct name_bit *nb;
	char known[256];

	(void)op;
	if (strcasecmp(v->v[0], "SYSLOG") == 0) {
		if (v->n < 2 || v->n > 3) {
			diag_error(p->d, loc, "%s: expected SYSLOG FACILITY [LEVEL]", a->name);
			return false;
		}
		if ((nb = name_find(facilities, v->v[1])) == NULL) {
			name_list(facilities, known, sizeof(known));
			diag_error(p->d, loc, "%s: unknown syslog facility \"%s\" (known: %s)",
			    a->name, v->v[1], known);
			return false;
		}
		lt->facility = (int)nb->bit;
		lt->level = LOG_INFO;
		if (v->n == 3) {
			if ((nb = name_find(levels, v->v[2])) == NULL) {
				name_list(levels, known, sizeof(known));
				diag_error(p->d, loc, "%s: unknown syslog level \"%s\" (known: %s)",
				    a->name, v->v[2], known);
				return false;
			}
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
			diag_error(p->d, loc, "%s: expected FILE PATH [SOFT [HARD]] [json]",
			    a->name);
			return false;
		}
		if (v->v[1][0] != '/') {
			diag_error(p->d, loc, "%s: \"%s\" is not an absolute path", a->name,
			    v->v[1]);
			return false;
		}
		if (nv >= 3 && (!parse_size(v->v[2], &soft) || soft == 0)) {
			diag_error(p->d, loc,
			    "%s: bad soft limit \"%s\": expected a size such as 512K or 5M",
			    a->name, v->v[2]);
			return false;
		}
		if (nv == 4 && (!parse_size(v->v[3], &hard) || hard == 0)) {
			diag_error(p->d, loc,
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
			diag_error(p->d, loc, "%s: the hard limit %s is below the soft limit %s",
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
	diag_error(p->d, loc,
	    "%s: expected SYSLOG FACILITY [LEVEL] or FILE PATH [SOFT [HARD]], not \"%s\"", a->name,
	    v->v[0]);
	return false;
}

static bool
attr_log_on(struct pctx *p, struct service_config *s, const struct attr *a, enum op op,
    const struct strv *v, struct loc loc)
{
	const struct name_bit *table = a->id == A_LOG_ON_SUCCESS ? log_success : log_failure;
	unsigned *dst = a->id == A_LOG_ON_SUCCESS ? &s->log_on_success : &s->log_on_failure;
	unsigned bits = 0;
	bool ok = true;

	for (size_t i = 0; i < v->n; i++) {
		const struct name_bit *nb = name_find(table, v->v[i]);
		char known[128];

		if (strcasecmp(v->v[i], "RECORD") == 0) {
			diag_error(p->d, loc,
			    "%s: RECORD was removed in xinetd 2.3.11 and is not supported; remove it",
			    a->name);
			ok = false;
		} else if (nb == NULL) {
			name_list(table, known, sizeof(known));
			diag_error(p->d, loc, "%s: unknown value \"%s\" (known: %s)", a->name,
			    v->v[i], known);
			ok = false;
		} else
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

static bool
attr_env(struct pctx *p, struct service_config *s, const struct attr *a, enum op op,
    const struct strv *v, struct loc loc)
{
	bool ok = true;

	for (size_t i = 0; i < v->n; i++) {
		const char *eq = strchr(v->v[i], '=');

		if (eq == NULL || !env_name_ok(v->v[i], (size_t)(eq - v->v[i]))) {
			diag_error(p->d, loc, "%s: expected NAME=value, not \"%s\"", a->name,
			    v->v[i]);
			ok = false;
		}
	}
	if (!ok)
		return false;
	if (op == OP_SET)
		strv_clear(&s->env);
	for (size_t i = 0; i < v->n; i++) {
		size_t nl = (size_t)(strchr(v->v[i], '=') - v->v[i]);

		/* A later NAME=value replaces an earlier one. */
		for (size_t j = 0; j < s->env.n; j++) {
			if (strncmp(s->env.v[j], v->v[i], nl + 1) == 0) {
				strv_remove(&s->env, s->env.v[j]);
				break;
			}
		}
		strv_push(&s->env, v->v[i]);
	}
	return true;
}

static bool
attr_names(struct pctx *p, struct service_config *s, const struct attr *a, enum op op,
    const struct strv *v, struct loc loc)
{
	struct strv *dst = a->id == A_PASSENV ? &s->passenv :
	    a->id == A_ENABLED                ? &s->enabled :
	                                        &s->disabled;
	bool ok = true;

	for (size_t i = 0; i < v->n; i++) {
		if (a->id == A_PASSENV && !env_name_ok(v->v[i], strlen(v->v[i]))) {
			diag_error(p->d, loc, "%s: \"%s\" is not a variable name", a->name,
			    v->v[i]);
			ok = false;
		}
	}
	if (!ok)
		return false;
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
attr_umask(struct pctx *p, struct service_config *s, const struct attr *a, enum op op,
    const struct strv *v, struct loc loc)
{
	const char *t = v->v[0];
	char *end;
	long m;

	(void)op;
	m = strtol(t, &end, 8);
	if (*t < '0' || *t > '7' || *end != '\0' || m > 0777) {
		diag_error(p->d, loc, "%s: expected an octal mask from 000 to 777, not \"%s\"",
		    a->name, t);
		return false;
	}
	s->umask = (int)m;
	return true;
}

static bool
attr_rlimit(struct pctx *p, struct service_config *s, const struct attr *a, enum op op,
    const struct strv *v, struct loc loc)
{
	enum rlim_id r = (enum rlim_id)(a->id - A_RLIMIT_AS);
	const char *t = v->v[0];
	unsigned long long n;
	uint64_t sz;

	(void)op;
	if (strcasecmp(t, "UNLIMITED") == 0) {
		if (r == RL_FILES) {
			diag_error(p->d, loc,
			    "%s: expected a number of files; UNLIMITED would hand servers porterd's hard limit",
			    a->name);
			return false;
		}
		s->rlimit[r] = LIMIT_UNLIMITED;
		return true;
	}
	if (r == RL_CPU || r == RL_FILES) {
		if (!util_parse_uint(t, r == RL_FILES ? 1u << 30 : UINT32_MAX, &n) || n == 0) {
			diag_error(p->d, loc, "%s: expected a number of %s above 0%s, not \"%s\"",
			    a->name, r == RL_CPU ? "seconds" : "files",
			    r == RL_CPU ? " or UNLIMITED" : "", t);
			return false;
		}
		s->rlimit[r] = n;
		return true;
	}
	if (!parse_size(t, &sz) || sz == 0) {
		diag_error(p->d, loc,
		    "%s: expected a size such as 64M, 512K or UNLIMITED, not \"%s\"", a->name, t);
		return false;
	}
	s->rlimit[r] = sz;
	return true;
}

/* Minutes as in xinetd, or seconds with an s suffix (porter extension). */
static bool
attr_deny_time(struct pctx *p, struct service_config *s, const struct attr *a, enum op op,
    const struct strv *v, struct loc loc)
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
			diag_error(p->d, loc,
			    "%s: expected a number of seconds from 0 to %d before the s, not \"%s\"",
			    a->name, 366 * 24 * 3600, t);
			return false;
		}
		s->deny_time = (int)n;
	} else if (!util_parse_uint(t, 366 * 24 * 60, &n)) {
		diag_error(p->d, loc,
		    "%s: expected a number from 0 to %d, FOREVER or NEVER, not \"%s\"", a->name,
		    366 * 24 * 60, t);
		return false;
	} else
		s->deny_time = (int)n * 60;
	return true;
}

static bool
attr_rpc_version(struct pctx *p, struct service_config *s, const struct attr *a, enum op op,
    const struct strv *v, struct loc loc)
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
		diag_error(p->d, loc, "%s: expected N or N-M, not \"%s\"", a->name, v->v[0]);
		return false;
	}
	s->rpc_version_lo = (int)lo;
	s->rpc_version_hi = dash != NULL ? (int)hi : (int)lo;
	diag_warn(p->d, loc, "%s is ignored: porter does not serve RPC services", a->name);
	return true;
}

#define S W_SERVICE
#define D W_DEFAULTS
static const struct attr attrs[] = {
	{ "id", A_ID, S | K_SINGLE, 1, 1, attr_id },
	{ "type", A_TYPE, S | K_SINGLE, 1, -1, attr_type },
	{ "flags", A_FLAGS, S | K_SINGLE, 1, -1, attr_flags },
	{ "disable", A_DISABLE, S | K_SINGLE, 1, 1, attr_bool },
	{ "socket_type", A_SOCKET_TYPE, S | K_SINGLE, 1, 1, attr_socket_type },
	{ "protocol", A_PROTOCOL, S | K_SINGLE, 1, 1, attr_protocol },
	{ "wait", A_WAIT, S | K_SINGLE, 1, 1, attr_bool },
	{ "user", A_USER, S | K_SINGLE, 1, 1, attr_string },
	{ "group", A_GROUP, S | K_SINGLE, 1, 1, attr_string },
	{ "groups", A_GROUPS, S | D | K_SINGLE | K_FILLED, 1, 1, attr_bool },
	{ "server", A_SERVER, S | K_SINGLE, 1, 1, attr_string },
	{ "server_args", A_SERVER_ARGS, S | K_SINGLE, 1, -1, attr_server_args },
	{ "redirect", A_REDIRECT, S | K_SINGLE, 2, 2, attr_redirect },
	{ "port", A_PORT, S | K_SINGLE, 1, 1, attr_int },
	{ "bind", A_BIND, S | D | K_SINGLE | K_FILLED, 1, 1, attr_string },
	{ "v6only", A_V6ONLY, S | D | K_SINGLE | K_FILLED, 1, 1, attr_bool },
	{ "backlog", A_BACKLOG, S | D | K_SINGLE | K_FILLED, 1, 1, attr_int },
	{ "listen_fds", A_LISTEN_FDS, S | K_SINGLE, 1, 1, attr_bool },
	{ "instances", A_INSTANCES, S | D | K_SINGLE | K_FILLED, 1, 1, attr_int },
	{ "per_source", A_PER_SOURCE, S | D | K_SINGLE | K_FILLED, 1, 1, attr_int },
	{ "per_source_prefix", A_PER_SOURCE_PREFIX, S | D | K_SINGLE | K_FILLED, 2, 2, attr_pair },
	{ "per_source_cps", A_PER_SOURCE_CPS, S | D | K_SINGLE | K_FILLED, 2, 2, attr_pair },
	{ "cps", A_CPS, S | D | K_SINGLE | K_FILLED, 2, 2, attr_pair },
	{ "max_load", A_MAX_LOAD, S | D | K_SINGLE | K_FILLED, 1, 1, attr_max_load },
	{ "timeout", A_TIMEOUT, S | D | K_SINGLE | K_FILLED, 1, 1, attr_int },
	{ "redirect_idle", A_REDIRECT_IDLE, S | D | K_SINGLE | K_FILLED, 1, 1, attr_int },
	{ "access_times", A_ACCESS_TIMES, S | K_SINGLE, 1, -1, attr_access_times },
	{ "only_from", A_ONLY_FROM, S | D | K_LIST | K_COPIED, 0, -1, attr_addrs },
	{ "no_access", A_NO_ACCESS, S | D | K_LIST | K_COPIED, 0, -1, attr_addrs },
	{ "log_type", A_LOG_TYPE, S | D | K_SINGLE | K_FILLED, 1, 5, attr_log_type },
	{ "log_on_success", A_LOG_ON_SUCCESS, S | D | K_LIST | K_COPIED, 0, -1, attr_log_on },
	{ "log_on_failure", A_LOG_ON_FAILURE, S | D | K_LIST | K_COPIED, 0, -1, attr_log_on },
	{ "env", A_ENV, S | K_ADD, 1, -1, attr_env },
	{ "passenv", A_PASSENV, S | D | K_LIST | K_COPIED, 0, -1, attr_names },
	{ "banner", A_BANNER, S | D | K_SINGLE | K_COPIED, 1, 1, attr_string },
	{ "banner_success", A_BANNER_SUCCESS, S | D | K_SINGLE | K_COPIED, 1, 1, attr_string },
	{ "banner_fail", A_BANNER_FAIL, S | D | K_SINGLE | K_COPIED, 1, 1, attr_string },
	{ "nice", A_NICE, S | K_SINGLE, 1, 1, attr_int },
	{ "umask", A_UMASK, S | D | K_SINGLE | K_FILLED, 1, 1, attr_umask },
	{ "rlimit_as", A_RLIMIT_AS, S | K_SINGLE, 1, 1, attr_rlimit },
	{ "rlimit_cpu", A_RLIMIT_CPU, S | K_SINGLE, 1, 1, attr_rlimit },
	{ "rlimit_data", A_RLIMIT_DATA, S | K_SINGLE, 1, 1, attr_rlimit },
	{ "rlimit_rss", A_RLIMIT_RSS, S | K_SINGLE, 1, 1, attr_rlimit },
	{ "rlimit_stack", A_RLIMIT_STACK, S | K_SINGLE, 1, 1, attr_rlimit },
	{ "rlimit_files", A_RLIMIT_FILES, S | K_SINGLE, 1, 1, attr_rlimit },
	{ "deny_time", A_DENY_TIME, S | K_SINGLE, 1, 1, attr_deny_time },
	{ "rpc_version", A_RPC_VERSION, S | K_SINGLE, 1, 1, attr_rpc_version },
	{ "rpc_number", A_RPC_NUMBER, S | K_SINGLE, 1, 1, attr_int },
	{ "libwrap", A_LIBWRAP, S | K_SINGLE, 1, 1, attr_string },
	{ "mdns", A_MDNS, S | D | K_SINGLE, 1, 1, attr_bool },
	{ "enabled", A_ENABLED, D | K_ALWAYS_ADD, 1, -1, attr_names },
	{ "disabled", A_DISABLED, D | K_ALWAYS_ADD, 1, -1, attr_names },
};
#undef S
#undef D

static const struct attr *
attr_by_id(enum attr_id id)
{
	return &attrs[id];
}

static const struct attr *
attr_by_name(const char *name)
{
	if (strcasecmp(name, "interface") == 0)
		name = "bind";
	for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++)
		if (strcasecmp(attrs[i].name, name) == 0)
			return &attrs[i];
	return NULL;
}

const char *
conf_attr_name(enum attr_id id)
{
	return attr_by_id(id)->name;
}

/* ------------------------------------------------------------ defaults */

static void
copy_attr(struct service_config *dst, const struct service_config *src, enum attr_id a)
{
	switch (a) {
	case A_GROUPS:
		dst->groups = src->groups;
		break;
	case A_BIND:
		set_str(&dst->bind, src->bind);
		break;
	case A_V6ONLY:
		dst->v6only = src->v6only;
		break;
	case A_BACKLOG:
		dst->backlog = src->backlog;
		break;
	case A_INSTANCES:
		dst->instances = src->instances;
		break;
	case A_PER_SOURCE:
		dst->per_source = src->per_source;
		break;
	case A_PER_SOURCE_PREFIX:
		dst->per_source_prefix4 = src->per_source_prefix4;
		dst->per_source_prefix6 = src->per_source_prefix6;
		break;
	case A_PER_SOURCE_CPS:
		dst->per_source_cps_rate = src->per_source_cps_rate;
		dst->per_source_cps_burst = src->per_source_cps_burst;
		break;
	case A_CPS:
		dst->cps_rate = src->cps_rate;
		dst->cps_wait = src->cps_wait;
		break;
	case A_MAX_LOAD:
		dst->max_load = src->max_load;
		break;
	case A_TIMEOUT:
		dst->timeout = src->timeout;
		break;
	case A_REDIRECT_IDLE:
		dst->redirect_idle = src->redirect_idle;
		break;
	case A_ONLY_FROM:
		access_copy(&dst->only_from, &src->only_from);
		break;
	case A_NO_ACCESS:
		access_copy(&dst->no_access, &src->no_access);
		break;
	case A_LOG_TYPE:
		free(dst->log_type.path);
		dst->log_type = src->log_type;
		if (src->log_type.path != NULL)
			dst->log_type.path = mem_strdup(src->log_type.path);
		break;
	case A_LOG_ON_SUCCESS:
		dst->log_on_success = src->log_on_success;
		break;
	case A_LOG_ON_FAILURE:
		dst->log_on_failure = src->log_on_failure;
		break;
	case A_PASSENV:
		strv_copy(&dst->passenv, &src->passenv);
		break;
	case A_BANNER:
		set_str(&dst->banner, src->banner);
		break;
	case A_BANNER_SUCCESS:
		set_str(&dst->banner_success, src->banner_success);
		break;
	case A_BANNER_FAIL:
		set_str(&dst->banner_fail, src->banner_fail);
		break;
	case A_UMASK:
		dst->umask = src->umask;
		break;
	default:
		abort();
	}
	/* The location stays with the defaults (service_at looks there). */
	dst->has |= 1ull << a;
	dst->defaults = src;
}

/* Copies the defaults that xinetd copies when a service entry starts. */
void
conf_defaults_copy(const struct config *cf, struct service_config *s)
{
	if (cf->defaults == NULL)
		return;
	for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++)
		if ((attrs[i].how & K_COPIED) && conf_service_has(cf->defaults, attrs[i].id))
			copy_attr(s, cf->defaults, attrs[i].id);
}

static void
defaults_fill_after(const struct config *cf, struct service_config *s)
{
	if (cf->defaults == NULL)
		return;
	for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++)
		if ((attrs[i].how & K_FILLED) && conf_service_has(cf->defaults, attrs[i].id) &&
		    !conf_service_has(s, attrs[i].id))
			copy_attr(s, cf->defaults, attrs[i].id);
}

/* ------------------------------------------------------------ grammar */

static void parse_file(struct pctx *, const char *path, struct loc from);

static void parse_attribute_line(struct pctx *, struct service_config *, const struct conf_line *);

/* A refused line marks its entry: the checks of a broken entry would only
 * repeat the error in other words ("missing attribute"). */
static void
parse_attribute(struct pctx *p, struct service_config *s, const struct conf_line *l)
{
	size_t before = p->d->errors;

	p->attr = -1;
	parse_attribute_line(p, s, l);
	if (p->d->errors != before) {
		s->broken = true;
		if (p->attr >= 0)
			s->refused |= 1ull << p->attr;
	}
}

static void
parse_attribute_line(struct pctx *p, struct service_config *s, const struct conf_line *l)
{
	const char *t = l->text;
	const struct attr *a;
	struct strv vals = { 0 };
	enum op op;
	char name[64];
	size_t n = 0;

	while (isalnum((unsigned char)t[n]) || t[n] == '_')
		n++;
	if (n == 0 || n >= sizeof(name)) {
		diag_error(p->d, l->loc,
		    "expected an attribute (NAME = VALUE ...) or '}', found \"%s\"", t);
		return;
	}
	memcpy(name, t, n);
	name[n] = '\0';
	t += n;
	if ((a = attr_by_name(name)) != NULL)
		p->attr = (int)a->id;
	while (*t == ' ' || *t == '\t')
		t++;
	if (t[0] == '=') {
		op = OP_SET;
		t += 1;
	} else if ((t[0] == '+' || t[0] == '-') && t[1] == '=') {
		op = t[0] == '+' ? OP_ADD : OP_DEL;
		t += 2;
	} else {
		diag_error(p->d, l->loc, "%s: expected '=', '+=' or '-=' after the attribute name",
		    name);
		return;
	}
	if (a == NULL) {
		diag_error(p->d, l->loc, "unknown attribute \"%s\"", name);
		return;
	}
	if (s->is_defaults && !(a->how & W_DEFAULTS)) {
		diag_error(p->d, l->loc, "%s is not allowed in defaults; set it in each service",
		    a->name);
		return;
	}
	if (!s->is_defaults && !(a->how & W_SERVICE)) {
		diag_error(p->d, l->loc, "%s is only allowed in defaults", a->name);
		return;
	}
	if (op != OP_SET && (a->how & (K_SINGLE))) {
		diag_error(p->d, l->loc, "%s takes '=' only, not '%s='", a->name,
		    op == OP_ADD ? "+" : "-");
		return;
	}
	if (op == OP_DEL && (a->how & K_ADD)) {
		diag_error(p->d, l->loc, "%s takes '=' or '+=', not '-='", a->name);
		return;
	}
	if (a->how & K_ALWAYS_ADD)
		op = OP_ADD;
	/* Inside defaults '=' adds to what earlier defaults said. */
	if (s->is_defaults && (a->how & K_LIST) && op == OP_SET)
		op = OP_ADD;
	if ((s->own & (1ull << a->id)) && op == OP_SET) {
		struct loc prev = conf_service_at(s, a->id);

		if (a->how & K_SINGLE)
			diag_error(p->d, l->loc, "%s is already set at %s:%d", a->name, prev.file,
			    prev.line);
		else
			diag_error(p->d, l->loc,
			    "%s is already set at %s:%d; use '+=' to add to it", a->name, prev.file,
			    prev.line);
		return;
	}
	conf_lex_split(t, &vals);
	if ((int)vals.n < a->min || (a->max >= 0 && (int)vals.n > a->max)) {
		if (a->min == a->max)
			diag_error(p->d, l->loc, "%s takes %d value%s, not %zu", a->name, a->min,
			    a->min == 1 ? "" : "s", vals.n);
		else if (vals.n == 0)
			diag_error(p->d, l->loc, "%s needs a value", a->name);
		else
			diag_error(p->d, l->loc, "%s takes at most %d values, not %zu", a->name,
			    a->max, vals.n);
		strv_clear(&vals);
		return;
	}
	if (a->fn(p, s, a, op, &vals, l->loc))
		conf_service_set(s, a->id, l->loc);
	strv_clear(&vals);
}

static bool
word_is(const char *text, const char *kw, const char **rest)
{
	size_t n = strlen(kw);

	if (strncasecmp(text, kw, n) != 0 ||
	    (text[n] != '\0' && text[n] != ' ' && text[n] != '\t' && text[n] != '{'))
		return false;
	*rest = text + n;
	while (**rest == ' ' || **rest == '\t')
		(*rest)++;
	return true;
}

static int
compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
parse_include(struct pctx *p, const struct conf_line *l, const char *arg, bool dir)
{
	const char *kw = dir ? "includedir" : "include";
	struct strv w = { 0 };
	char *path;

	conf_lex_split(arg, &w);
	if (w.n != 1) {
		diag_error(p->d, l->loc, "%s takes one %s name", kw, dir ? "directory" : "file");
		strv_clear(&w);
		return;
	}
	if (p->opts != NULL && p->opts->no_includes) {
		diag_error(p->d, l->loc, "%s is not allowed here", kw);
		strv_clear(&w);
		return;
	}
	/* A relative name is taken from the including file's directory. */
	if (w.v[0][0] == '/')
		path = mem_strdup(w.v[0]);
	else {
		const char *slash = strrchr(l->loc.file, '/');

		path = slash == NULL ?
		    mem_strdup(w.v[0]) :
		    mem_asprintf("%.*s/%s", (int)(slash - l->loc.file), l->loc.file, w.v[0]);
	}
	strv_clear(&w);
	if (!dir) {
		parse_file(p, path, l->loc);
		free(path);
		return;
	}

	DIR *dp = opendir(path);
	struct strv names = { 0 };
	struct dirent *de;

	if (dp == NULL) {
		diag_error(p->d, l->loc, "includedir %s: %s", path, strerror(errno));
		free(path);
		return;
	}
	while ((de = readdir(dp)) != NULL) {
		size_t n = strlen(de->d_name);

		/* Package managers leave .rpmnew, .dpkg-old and backups~ beside
		 * the real files: skip every name with a dot or a trailing ~. */
		if (strchr(de->d_name, '.') != NULL || (n > 0 && de->d_name[n - 1] == '~'))
			continue;
		strv_push(&names, de->d_name);
	}
	closedir(dp);
	qsort(names.v, names.n, sizeof(*names.v), compare_names);
	for (size_t i = 0; i < names.n; i++) {
		char *f = mem_asprintf("%s/%s", path, names.v[i]);
		struct stat st;

		if (stat(f, &st) != 0)
			diag_warn(p->d, l->loc, "includedir %s: skipping %s: %s", path, names.v[i],
			    strerror(errno));
		else if (!S_ISREG(st.st_mode))
			diag_warn(p->d, l->loc, "includedir %s: skipping %s: not a regular file",
			    path, names.v[i]);
		else
			parse_file(p, f, l->loc);
		free(f);
	}
	strv_clear(&names);
	free(path);
}

/* Opens an entry; returns it, or NULL after a diagnostic. */
static struct service_config *
parse_open(struct pctx *p, const struct conf_line *l, const char *rest, bool is_defaults,
    bool *brace, const struct service_config *file_defaults)
{
	struct strv w = { 0 };
	struct service_config *s;
	size_t want = is_defaults ? 0 : 1;

	conf_lex_split(rest, &w);
	*brace = false;
	if (w.n > 0 && strcmp(w.v[w.n - 1], "{") == 0) {
		*brace = true;
		free(w.v[--w.n]);
		w.v[w.n] = NULL;
	} else if (w.n > 0 && w.v[w.n - 1][strlen(w.v[w.n - 1]) - 1] == '{' &&
	    strlen(w.v[w.n - 1]) > 1) {
		*brace = true;
		w.v[w.n - 1][strlen(w.v[w.n - 1]) - 1] = '\0';
	}
	if (w.n == 1 && !is_defaults && strpbrk(w.v[0], "{}") != NULL) {
		diag_error(p->d, l->loc, "a service name cannot contain a brace: \"%s\"", w.v[0]);
		strv_clear(&w);
		return NULL;
	}
	if (w.n != want) {
		if (is_defaults)
			diag_error(p->d, l->loc, "defaults takes no name");
		else if (w.n == 0)
			diag_error(p->d, l->loc, "service needs a name");
		else
			diag_error(p->d, l->loc, "a service name is one word, not \"%s\"", rest);
		strv_clear(&w);
		return NULL;
	}
	if (is_defaults) {
		if (file_defaults != NULL) {
			diag_error(p->d, l->loc,
			    "a second defaults entry in this file (the first is at line %d)",
			    file_defaults->loc.line);
			strv_clear(&w);
			return NULL;
		}
		if (p->cf->defaults == NULL) {
			p->cf->defaults = conf_service_new("defaults", l->loc);
			p->cf->defaults->is_defaults = true;
		}
		s = p->cf->defaults;
	} else {
		s = conf_service_new(w.v[0], l->loc);
		conf_defaults_copy(p->cf, s);
		s->own = 0;
	}
	strv_clear(&w);
	return s;
}

static void
parse_lines(struct pctx *p, const struct conf_lines *ls)
{
	enum { OUTSIDE, BRACE, INSIDE } st = OUTSIDE;
	struct service_config *cur = NULL;
	struct service_config file_defaults_mark = { 0 };
	const struct service_config *file_defaults = NULL;
	bool discard = false; /* cur is a throw-away for error recovery */

	for (size_t i = 0; i < ls->n; i++) {
		const struct conf_line *l = &ls->v[i];
		const char *rest;
		bool is_def;

		if (st == BRACE) {
			if (strcmp(l->text, "{") == 0) {
				st = INSIDE;
				continue;
			}
			if (cur->is_defaults)
				diag_error(p->d, l->loc,
				    "expected '{' on the line after 'defaults'");
			else
				diag_error(p->d, l->loc,
				    "expected '{' on the line after 'service %s'", cur->name);
			st = INSIDE;
			/* Read the line as part of the entry all the same. */
		}
		if (st == INSIDE) {
			if (strcmp(l->text, "}") == 0) {
				if (!cur->is_defaults && !discard)
					conf_add_service(p->cf, cur);
				else if (discard)
					conf_service_free(cur);
				cur = NULL;
				st = OUTSIDE;
				continue;
			}
			if (l->text[0] == '}') {
				diag_error(p->d, l->loc, "'}' must be alone on its line");
				/* It still closes the entry. */
				if (!cur->is_defaults && !discard)
					conf_add_service(p->cf, cur);
				else if (discard)
					conf_service_free(cur);
				cur = NULL;
				st = OUTSIDE;
				continue;
			}
			if (word_is(l->text, "service", &rest) ||
			    word_is(l->text, "defaults", &rest) ||
			    word_is(l->text, "include", &rest) ||
			    word_is(l->text, "includedir", &rest)) {
				diag_error(p->d, l->loc,
				    "missing '}' to close the entry opened at line %d",
				    cur->loc.line);
				if (!cur->is_defaults && !discard)
					conf_add_service(p->cf, cur);
				else if (discard)
					conf_service_free(cur);
				cur = NULL;
				st = OUTSIDE;
			} else {
				parse_attribute(p, cur, l);
				continue;
			}
		}
		/* OUTSIDE */
		if (word_is(l->text, "includedir", &rest))
			parse_include(p, l, rest, true);
		else if (word_is(l->text, "include", &rest))
			parse_include(p, l, rest, false);
		else if ((is_def = word_is(l->text, "defaults", &rest)) ||
		    word_is(l->text, "service", &rest)) {
			bool brace;

			cur = parse_open(p, l, rest, is_def, &brace, file_defaults);
			discard = false;
			if (cur == NULL) {
				/* Parse the body anyway so its errors are reported. */
				cur = conf_service_new("?", l->loc);
				cur->is_defaults = is_def;
				discard = true;
			} else if (is_def) {
				file_defaults_mark.loc = l->loc;
				file_defaults = &file_defaults_mark;
			}
			st = brace ? INSIDE : BRACE;
		} else if (strcmp(l->text, "{") == 0 || strcmp(l->text, "}") == 0)
			diag_error(p->d, l->loc, "'%s' outside of an entry", l->text);
		else
			diag_error(p->d, l->loc,
			    "expected 'service NAME', 'defaults', 'include FILE' or 'includedir DIR', not \"%s\"",
			    l->text);
	}
	if (cur != NULL) {
		diag_error(p->d, cur->loc,
		    "missing '}' at the end of the file for the entry opened here");
		if (!cur->is_defaults && !discard)
			conf_add_service(p->cf, cur);
		else if (discard)
			conf_service_free(cur);
	}
}

static bool
read_file(struct pctx *p, const char *path, struct loc from, char **buf, size_t *len)
{
	struct stat st;
	ssize_t r;
	size_t got = 0;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		if (from.file == NULL)
			diag_error(p->d, (struct loc){ path, 0 }, "%s", strerror(errno));
		else
			diag_error(p->d, from, "include %s: %s", path, strerror(errno));
		return false;
	}
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		if (from.file == NULL)
			diag_error(p->d, (struct loc){ path, 0 }, "is a directory");
		else
			diag_error(p->d, from, "include %s: is a directory; use includedir", path);
		close(fd);
		return false;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > CONF_FILE_MAX) {
		if (from.file == NULL)
			diag_error(p->d, (struct loc){ path, 0 },
			    "not a regular file of at most 16 MiB");
		else
			diag_error(p->d, from, "include %s: not a regular file of at most 16 MiB",
			    path);
		close(fd);
		return false;
	}
	*buf = mem_alloc((size_t)st.st_size + 1);
	while (got < (size_t)st.st_size && (r = read(fd, *buf + got, (size_t)st.st_size - got)) > 0)
		got += (size_t)r;
	close(fd);
	*len = got;
	return true;
}

static void
parse_file(struct pctx *p, const char *path, struct loc from)
{
	char real[PATH_MAX];
	struct conf_lines ls = { 0 };
	const char *name;
	char *buf;
	size_t len;

	if (realpath(path, real) == NULL)
		snprintf(real, sizeof(real), "%s", path);
	if (p->stack.n > 0 && strcmp(p->stack.v[p->stack.n - 1], real) == 0) {
		diag_error(p->d, from, "include loop: %s includes itself", path);
		return;
	}
	if (strv_has(&p->stack, real)) {
		diag_error(p->d, from, "include loop: %s is already being read", path);
		return;
	}
	if (p->stack.n >= INCLUDE_DEPTH_MAX) {
		diag_error(p->d, from, "includes nested more than %d deep", INCLUDE_DEPTH_MAX);
		return;
	}
	if (!read_file(p, path, from, &buf, &len))
		return;
	name = conf_intern(p->cf, path);
	strv_push(&p->stack, real);
	if (conf_lex(buf, len, name, &ls, p->d))
		parse_lines(p, &ls);
	free(p->stack.v[--p->stack.n]);
	p->stack.v[p->stack.n] = NULL;
	conf_lex_free(&ls);
	free(buf);
}

bool
conf_parse_file(struct config *cf, const char *path, const struct conf_opts *opts, struct diag *d)
{
	struct pctx p = { cf, opts, d, { 0 }, -1 };
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		diag_error(d, (struct loc){ path, 0 }, "%s", strerror(errno));
		return false;
	}
	close(fd);
	parse_file(&p, path, (struct loc){ NULL, 0 });
	strv_clear(&p.stack);
	return true;
}

void
conf_parse_buffer(struct config *cf, const char *name, const char *buf, size_t len,
    const struct conf_opts *opts, struct diag *d)
{
	struct pctx p = { cf, opts, d, { 0 }, -1 };
	struct conf_lines ls = { 0 };
	const char *n = conf_intern(cf, name);

	if (conf_lex(buf, len, n, &ls, d))
		parse_lines(&p, &ls);
	conf_lex_free(&ls);
	strv_clear(&p.stack);
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
		defaults_fill_after(cf, s);
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
conf_load(const char *path, const char *inetd_path, struct diag *d)
{
	struct config *cf = conf_new();

	if (path != NULL)
		conf_parse_file(cf, path, NULL, d);
	if (inetd_path != NULL)
		conf_inetd_file(cf, inetd_path, d);
	conf_finish(cf, d);
	conf_check(cf, d);
	return cf;
}
