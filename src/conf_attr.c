/*
 * conf_attr.c: what each attribute of xinetd.conf is: its name, where it may
 * appear, how many values it takes and how those values are read into
 * struct service_config, plus the names of type, flags, log_on_* bits and
 * syslog facilities and levels. The grammar in conf_parse.c and the
 * defaults rules in conf.c drive this table; none of it reads files.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

#include "conf.h"

/* ------------------------------------------------------------ values */

static bool
parse_bool(struct diag *d, const struct conf_attr *a, const char *v, bool *out, struct loc loc)
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

/* A number in [min, max], or with unlimited != NULL also "UNLIMITED". */
static bool
parse_num(struct diag *d, const struct conf_attr *a, const char *v, long long min, long long max,
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

/* ------------------------------------------------------------ attributes */

static bool
set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = mem_strdup(v);
	return true;
}

static bool
attr_id(struct diag *d, struct service_config *s, const struct conf_attr *a, enum attr_op op,
    const struct strv *v, struct loc loc)
{
	(void)d, (void)a, (void)op, (void)loc;
	return set_str(&s->id, v->v[0]);
}

static bool
attr_type(struct diag *d, struct service_config *s, const struct conf_attr *a, enum attr_op op,
    const struct strv *v, struct loc loc)
{
	bool ok = true;

	(void)op;
	for (size_t i = 0; i < v->n; i++) {
		const struct name_bit *nb = name_find(types, v->v[i]);
		char known[128];

		if (nb == NULL) {
			name_list(types, known, sizeof(known));
			diag_error(d, loc, "%s: unknown type \"%s\" (known: %s)", a->name, v->v[i],
			    known);
			ok = false;
		} else if (nb->bit == T_RPC) {
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
attr_flags(struct diag *d, struct service_config *s, const struct conf_attr *a, enum attr_op op,
    const struct strv *v, struct loc loc)
{
	bool ok = true;

	(void)op;
	for (size_t i = 0; i < v->n; i++) {
		const struct name_bit *nb = name_find(flags, v->v[i]);
		char known[256];

		if (nb == NULL) {
			name_list(flags, known, sizeof(known));
			diag_error(d, loc, "%s: unknown flag \"%s\" (known: %s)", a->name, v->v[i],
			    known);
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
attr_bool(struct diag *d, struct service_config *s, const struct conf_attr *a, enum attr_op op,
    const struct strv *v, struct loc loc)
{
	bool b;

	(void)op;
	if (!parse_bool(d, a, v->v[0], &b, loc))
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
		diag_warn(d, loc,
		    "%s: mDNS registration was removed from xinetd and porter does not do it; the attribute is ignored",
		    a->name);
		break;
	default:
		abort();
	}
	return true;
}

static bool
attr_socket_type(struct diag *d, struct service_config *s, const struct conf_attr *a,
    enum attr_op op, const struct strv *v, struct loc loc)
{
	const char *t = v->v[0];

	(void)op;
	if (strcasecmp(t, "stream") == 0)
		s->socket_type = SOCK_STREAM;
	else if (strcasecmp(t, "dgram") == 0)
		s->socket_type = SOCK_DGRAM;
	else if (strcasecmp(t, "raw") == 0 || strcasecmp(t, "seqpacket") == 0 ||
	    strcasecmp(t, "rdm") == 0) {
		diag_error(d, loc, "%s: %s sockets are not supported by porter (stream or dgram)",
		    a->name, t);
		return false;
	} else {
		diag_error(d, loc, "%s: expected stream or dgram, not \"%s\"", a->name, t);
		return false;
	}
	return true;
}

static bool
attr_protocol(struct diag *d, struct service_config *s, const struct conf_attr *a, enum attr_op op,
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

static bool
attr_string(struct diag *d, struct service_config *s, const struct conf_attr *a, enum attr_op op,
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
		diag_warn(d, loc,
		    "%s: porter has no tcp_wrappers support and ignores this attribute; write the rules as only_from and no_access",
		    a->name);
		return set_str(&s->libwrap, t);
	case A_SERVER:
	case A_BANNER:
	case A_BANNER_SUCCESS:
	case A_BANNER_FAIL:
		if (t[0] != '/') {
			diag_error(d, loc, "%s: \"%s\" is not an absolute path", a->name, t);
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
attr_server_args(struct diag *d, struct service_config *s, const struct conf_attr *a,
    enum attr_op op, const struct strv *v, struct loc loc)
{
	(void)d, (void)a, (void)op, (void)loc;
	strv_copy(&s->server_args, v);
	return true;
}

static bool
attr_redirect(struct diag *d, struct service_config *s, const struct conf_attr *a, enum attr_op op,
    const struct strv *v, struct loc loc)
{
	long long port;

	(void)op;
	/* The port may be a service name; conf_check resolves it. */
	if (isdigit((unsigned char)v->v[1][0]) &&
	    !parse_num(d, a, v->v[1], 1, 65535, NULL, &port, loc))
		return false;
	set_str(&s->redirect_host, v->v[0]);
	set_str(&s->redirect_port, v->v[1]);
	return true;
}

static bool
attr_int(struct diag *d, struct service_config *s, const struct conf_attr *a, enum attr_op op,
    const struct strv *v, struct loc loc)
{
	long long n;

	(void)op;
	switch (a->id) {
	case A_PORT:
		if (!parse_num(d, a, v->v[0], 1, 65535, NULL, &n, loc))
			return false;
		s->port = (int)n;
		break;
	case A_BACKLOG:
		if (!parse_num(d, a, v->v[0], 1, 1 << 20, NULL, &n, loc))
			return false;
		s->backlog = (int)n;
		break;
	case A_INSTANCES:
	case A_PER_SOURCE:
		if (!parse_num(d, a, v->v[0], 1, INT_MAX, "UNLIMITED", &n, loc))
			return false;
		*(a->id == A_INSTANCES ? &s->instances : &s->per_source) = (int)n;
		break;
	case A_TIMEOUT:
	case A_REDIRECT_IDLE:
		if (!parse_num(d, a, v->v[0], 1, 366 * 86400, NULL, &n, loc))
			return false;
		*(a->id == A_TIMEOUT ? &s->timeout : &s->redirect_idle) = (unsigned)n;
		break;
	case A_NICE:
		if (!parse_num(d, a, v->v[0], -20, 19, NULL, &n, loc))
			return false;
		s->nice = (int)n;
		break;
	case A_RPC_NUMBER:
		if (!parse_num(d, a, v->v[0], 0, UINT32_MAX, NULL, &n, loc))
			return false;
		s->rpc_number = (unsigned long)n;
		diag_warn(d, loc, "%s is ignored: porter does not serve RPC services", a->name);
		break;
	default:
		abort();
	}
	return true;
}

static bool
attr_pair(struct diag *d, struct service_config *s, const struct conf_attr *a, enum attr_op op,
    const struct strv *v, struct loc loc)
{
	long long x, y;

	(void)op;
	switch (a->id) {
	case A_CPS:
		if (!parse_num(d, a, v->v[0], 1, 1000000, NULL, &x, loc) ||
		    !parse_num(d, a, v->v[1], 1, 86400, NULL, &y, loc))
			return false;
		s->cps_rate = (unsigned)x;
		s->cps_wait = (unsigned)y;
		break;
	case A_PER_SOURCE_PREFIX:
		if (!parse_num(d, a, v->v[0], 0, 32, NULL, &x, loc) ||
		    !parse_num(d, a, v->v[1], 0, 128, NULL, &y, loc))
			return false;
		s->per_source_prefix4 = (int)x;
		s->per_source_prefix6 = (int)y;
		break;
	case A_PER_SOURCE_CPS:
		if (!parse_num(d, a, v->v[0], 1, 1000000, NULL, &x, loc) ||
		    !parse_num(d, a, v->v[1], 1, 1000000, NULL, &y, loc))
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
attr_max_load(struct diag *d, struct service_config *s, const struct conf_attr *a, enum attr_op op,
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

static bool
attr_access_times(struct diag *d, struct service_config *s, const struct conf_attr *a,
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

static bool
attr_addrs(struct diag *d, struct service_config *s, const struct conf_attr *a, enum attr_op op,
    const struct strv *v, struct loc loc)
{
	struct addrlist *dst = a->id == A_ONLY_FROM ? &s->only_from : &s->no_access;
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

static bool
attr_log_type(struct diag *d, struct service_config *s, const struct conf_attr *a, enum attr_op op,
    const struct strv *v, struct loc loc)
{
	struct logtype *lt = &s->log_type;
	const struct name_bit *nb;
	char known[256];

	(void)op;
	if (strcasecmp(v->v[0], "SYSLOG") == 0) {
		if (v->n < 2 || v->n > 3) {
			diag_error(d, loc, "%s: expected SYSLOG FACILITY [LEVEL]", a->name);
			return false;
		}
		if ((nb = name_find(facilities, v->v[1])) == NULL) {
			name_list(facilities, known, sizeof(known));
			diag_error(d, loc, "%s: unknown syslog facility \"%s\" (known: %s)",
			    a->name, v->v[1], known);
			return false;
		}
		lt->facility = (int)nb->bit;
		lt->level = LOG_INFO;
		if (v->n == 3) {
			if ((nb = name_find(levels, v->v[2])) == NULL) {
				name_list(levels, known, sizeof(known));
				diag_error(d, loc, "%s: unknown syslog level \"%s\" (known: %s)",
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

static bool
attr_log_on(struct diag *d, struct service_config *s, const struct conf_attr *a, enum attr_op op,
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
			diag_error(d, loc,
			    "%s: RECORD was removed in xinetd 2.3.11 and is not supported; remove it",
			    a->name);
			ok = false;
		} else if (nb == NULL) {
			name_list(table, known, sizeof(known));
			diag_error(d, loc, "%s: unknown value \"%s\" (known: %s)", a->name, v->v[i],
			    known);
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
attr_env(struct diag *d, struct service_config *s, const struct conf_attr *a, enum attr_op op,
    const struct strv *v, struct loc loc)
{
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
attr_names(struct diag *d, struct service_config *s, const struct conf_attr *a, enum attr_op op,
    const struct strv *v, struct loc loc)
{
	struct strv *dst = a->id == A_PASSENV ? &s->passenv :
	    a->id == A_ENABLED                ? &s->enabled :
	                                        &s->disabled;
	bool ok = true;

	for (size_t i = 0; i < v->n; i++) {
		if (a->id == A_PASSENV && !env_name_ok(v->v[i], strlen(v->v[i]))) {
			diag_error(d, loc, "%s: \"%s\" is not a variable name", a->name, v->v[i]);
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
attr_umask(struct diag *d, struct service_config *s, const struct conf_attr *a, enum attr_op op,
    const struct strv *v, struct loc loc)
{
	const char *t = v->v[0];
	char *end;
	long m;

	(void)op;
	m = strtol(t, &end, 8);
	if (*t < '0' || *t > '7' || *end != '\0' || m > 0777) {
		diag_error(d, loc, "%s: expected an octal mask from 000 to 777, not \"%s\"",
		    a->name, t);
		return false;
	}
	s->umask = (int)m;
	return true;
}

static bool
attr_rlimit(struct diag *d, struct service_config *s, const struct conf_attr *a, enum attr_op op,
    const struct strv *v, struct loc loc)
{
	enum rlim_id r = (enum rlim_id)(a->id - A_RLIMIT_AS);
	const char *t = v->v[0];
	unsigned long long n;
	uint64_t sz;

	(void)op;
	if (strcasecmp(t, "UNLIMITED") == 0) {
		if (r == RL_FILES) {
			diag_error(d, loc,
			    "%s: expected a number of files; UNLIMITED would hand servers porterd's hard limit",
			    a->name);
			return false;
		}
		s->rlimit[r] = LIMIT_UNLIMITED;
		return true;
	}
	if (r == RL_CPU || r == RL_FILES) {
		if (!util_parse_uint(t, r == RL_FILES ? 1u << 30 : UINT32_MAX, &n) || n == 0) {
			diag_error(d, loc, "%s: expected a number of %s above 0%s, not \"%s\"",
			    a->name, r == RL_CPU ? "seconds" : "files",
			    r == RL_CPU ? " or UNLIMITED" : "", t);
			return false;
		}
		s->rlimit[r] = n;
		return true;
	}
	if (!parse_size(t, &sz) || sz == 0) {
		diag_error(d, loc, "%s: expected a size such as 64M, 512K or UNLIMITED, not \"%s\"",
		    a->name, t);
		return false;
	}
	s->rlimit[r] = sz;
	return true;
}

/* Minutes as in xinetd, or seconds with an s suffix (porter extension). */
static bool
attr_deny_time(struct diag *d, struct service_config *s, const struct conf_attr *a, enum attr_op op,
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

static bool
attr_rpc_version(struct diag *d, struct service_config *s, const struct conf_attr *a,
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
	diag_warn(d, loc, "%s is ignored: porter does not serve RPC services", a->name);
	return true;
}

#define S W_SERVICE
#define D W_DEFAULTS
static const struct conf_attr attrs[] = {
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

const struct conf_attr *
conf_attr_get(enum attr_id id)
{
	return &attrs[id];
}

const struct conf_attr *
conf_attr_lookup(const char *name)
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
	return conf_attr_get(id)->name;
}

/* ------------------------------------------------------------ defaults */

/* Copies attribute a from the defaults src into dst. */
void
conf_attr_copy(struct service_config *dst, const struct service_config *src, enum attr_id a)
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
