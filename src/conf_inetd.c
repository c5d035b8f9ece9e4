/*
 * conf_inetd.c: reads a classic inetd.conf into the same struct config the
 * xinetd.conf parser fills, the way xinetd's -inetd_compat does, so one check
 * and one daemon serve both. Each entry becomes one service or diagnostics;
 * users, ports and addresses are left as written for conf_check to resolve.
 * The file is read the way openbsd-inetd or inetutils-inetd reads it: the
 * two disagree on the protocol words and on continuation lines.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"

#define INETD_FILE_MAX (16 * 1024 * 1024)
/* The largest number taken in a wait field; per_source_cps allows no more. */
#define INETD_WAIT_MAX 1000000

/* SERVICE SOCKTYPE PROTO WAIT USER SERVER */
enum { FLD_SERVICE, FLD_SOCKTYPE, FLD_PROTO, FLD_WAIT, FLD_USER, FLD_SERVER, FLD_MIN };

/* A protocol word of a dialect and the listener it asks for. */
struct inetd_proto {
	const char *name;
	int protocol;
	unsigned flags; /* F_IPV4, F_IPV6 or neither (dual stack) */
	bool v6only;
};

struct inetd_dialect_def {
	const struct inetd_proto *protos;
	size_t nprotos;
	const char *all; /* the words, for diagnostics */
	const char *tcp;
	const char *udp;
	bool continuation; /* a line that starts with a blank continues */
};

/* openbsd-inetd as Debian ships it: tcp opens an IPv4 and an IPv6-only
 * socket, which one dual-stack socket serves alike; tcp46 is one
 * v4-mapped socket; tcp6 is IPv6 only. */
static const struct inetd_proto openbsd_protos[] = {
	{ "tcp", IPPROTO_TCP, 0, false },
	{ "udp", IPPROTO_UDP, 0, false },
	{ "tcp4", IPPROTO_TCP, F_IPV4, false },
	{ "udp4", IPPROTO_UDP, F_IPV4, false },
	{ "tcp6", IPPROTO_TCP, F_IPV6, true },
	{ "udp6", IPPROTO_UDP, F_IPV6, true },
	{ "tcp46", IPPROTO_TCP, 0, false },
	{ "udp46", IPPROTO_UDP, 0, false },
};

/* inetutils-inetd: tcp is IPv4 only; tcp6 is an IPv6 socket that takes
 * v4-mapped clients too (and falls back to IPv4 without IPv6, as a
 * service without flags does); tcp6only is IPv6 only. */
static const struct inetd_proto inetutils_protos[] = {
	{ "tcp", IPPROTO_TCP, F_IPV4, false },
	{ "udp", IPPROTO_UDP, F_IPV4, false },
	{ "tcp4", IPPROTO_TCP, F_IPV4, false },
	{ "udp4", IPPROTO_UDP, F_IPV4, false },
	{ "tcp6", IPPROTO_TCP, 0, false },
	{ "udp6", IPPROTO_UDP, 0, false },
	{ "tcp6only", IPPROTO_TCP, F_IPV6, true },
	{ "udp6only", IPPROTO_UDP, F_IPV6, true },
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const struct inetd_dialect_def dialects[] = {
	[INETD_OPENBSD] = { openbsd_protos, NELEM(openbsd_protos),
	    "tcp, udp, tcp4, udp4, tcp6, udp6, tcp46 or udp46", "tcp, tcp4, tcp6 or tcp46",
	    "udp, udp4, udp6 or udp46", true },
	[INETD_INETUTILS] = { inetutils_protos, NELEM(inetutils_protos),
	    "tcp, udp, tcp4, udp4, tcp6, udp6, tcp6only or udp6only", "tcp, tcp4, tcp6 or tcp6only",
	    "udp, udp4, udp6 or udp6only", false },
};

#define MUX_PREFIX "tcpmux/"
#define MUX_PREFIX_LEN (sizeof(MUX_PREFIX) - 1)

struct inetd_ctx {
	struct config *cf;
	struct diag *d;
	const char *file; /* interned */
	size_t first;     /* index in cf->svc of this file's first entry */
	char *defhost;    /* set by a `host:` line; NULL means any address */
	enum inetd_dialect which;
	const struct inetd_dialect_def *dialect;
	struct loc mux_at; /* the first tcpmux entry; line 0 when none */
};

bool
conf_inetd_dialect(const char *name, enum inetd_dialect *out)
{
	if (strcmp(name, "openbsd") == 0)
		*out = INETD_OPENBSD;
	else if (strcmp(name, "inetutils") == 0)
		*out = INETD_INETUTILS;
	else
		return false;
	return true;
}

/* True when s was made from an earlier line of the file being read. */
static bool
inetd_ours(const struct inetd_ctx *x, const struct service_config *s)
{
	for (size_t i = x->first; i < x->cf->nsvc; i++)
		if (x->cf->svc[i] == s)
			return true;
	return false;
}

/*
 * Splits "host:" off the service field. *host is NULL for "*", otherwise an
 * owned copy without brackets; *svc points past the ':'. Without a ':' the
 * field is all service and *host is untouched.
 */
static bool
inetd_host(struct inetd_ctx *x, const char *field, char **host, const char **svc, struct loc loc)
{
	const char *colon = strrchr(field, ':');
	size_t n;

	if (colon == NULL) {
		*svc = field;
		return true;
	}
	*svc = colon + 1;
	n = (size_t)(colon - field);
	if (n == 0) {
		diag_error(x->d, loc,
		    "host: expected an address, a host name or * before ':' in \"%s\"", field);
		return false;
	}
	if (field[0] == '[') {
		if (n < 3 || field[n - 1] != ']') {
			diag_error(x->d, loc,
			    "host: expected [ADDRESS] with a closing ']', not \"%.*s\"", (int)n,
			    field);
			return false;
		}
		field++;
		n -= 2;
	}
	if (memchr(field, ',', n) != NULL) {
		diag_error(x->d, loc,
		    "host: address lists (\"%.*s\") are not supported by porter; write one line per address",
		    (int)n, field);
		return false;
	}
	if (memchr(field, '[', n) != NULL || memchr(field, ']', n) != NULL) {
		diag_error(x->d, loc, "host: expected [ADDRESS] with a closing ']', not \"%.*s\"",
		    (int)n, field);
		return false;
	}
	free(*host);
	*host = n == 1 && field[0] == '*' ? NULL : mem_strndup(field, n);
	return true;
}

static bool
inetd_service(struct inetd_ctx *x, struct service_config *s, const char *name, struct loc loc)
{
	unsigned long long port;

	if (name[0] < '0' || name[0] > '9' || strspn(name, "0123456789") != strlen(name))
		return true;
	if (!util_parse_uint(name, 65535, &port) || port == 0) {
		diag_error(x->d, loc,
		    "service: port %s is out of range; expected 1 to 65535 or a service name",
		    name);
		return false;
	}
	s->port = (int)port;
	s->type |= T_UNLISTED;
	conf_service_set(s, A_PORT, loc);
	conf_service_set(s, A_TYPE, loc);
	return true;
}

static bool
inetd_socktype(struct inetd_ctx *x, struct service_config *s, const char *t, struct loc loc)
{
	if (strcmp(t, "stream") == 0)
		s->socket_type = SOCK_STREAM;
	else if (strcmp(t, "dgram") == 0)
		s->socket_type = SOCK_DGRAM;
	else if (strcmp(t, "raw") == 0 || strcmp(t, "rdm") == 0 || strcmp(t, "seqpacket") == 0) {
		diag_error(x->d, loc, "socket type %s is not supported by porter (stream or dgram)",
		    t);
		return false;
	} else {
		diag_error(x->d, loc, "socket type: expected stream or dgram, not \"%s\"", t);
		return false;
	}
	conf_service_set(s, A_SOCKET_TYPE, loc);
	return true;
}

/* The protocol field; the socket type is checked against it by the caller.
 * A tcpmux entry has no socket of its own: only the protocol counts. */
static bool
inetd_proto(struct inetd_ctx *x, struct service_config *s, const char *t, bool family,
    struct loc loc)
{
	const struct inetd_dialect_def *dd = x->dialect;

	for (size_t i = 0; i < dd->nprotos; i++) {
		const struct inetd_proto *p = &dd->protos[i];

		if (strcmp(t, p->name) != 0)
			continue;
		s->protocol = p->protocol;
		conf_service_set(s, A_PROTOCOL, loc);
		if (!family)
			return true;
		s->flags |= p->flags;
		if (p->v6only) {
			s->v6only = true;
			conf_service_set(s, A_V6ONLY, loc);
		}
		return true;
	}
	if (strncmp(t, "rpc/", 4) == 0)
		diag_error(x->d, loc,
		    "RPC services are not supported by porter; run the RPC server as a standalone daemon registered with rpcbind");
	else if (strcmp(t, "unix") == 0)
		diag_error(x->d, loc, "unix-domain services are not supported by porter");
	else if (strchr(t, ',') != NULL)
		diag_error(x->d, loc,
		    "protocol: socket buffer options (\"%s\") are not supported by porter; write the protocol alone",
		    t);
	else if (x->which == INETD_OPENBSD &&
	    (strcmp(t, "tcp6only") == 0 || strcmp(t, "udp6only") == 0))
		diag_error(x->d, loc,
		    "protocol: %s is inetutils-inetd's; write %.4s, which is IPv6 only in the openbsd dialect, or read the file with -inetd_dialect inetutils",
		    t, t);
	else if (x->which == INETD_INETUTILS &&
	    (strcmp(t, "tcp46") == 0 || strcmp(t, "udp46") == 0))
		diag_error(x->d, loc,
		    "protocol: inetutils-inetd reads %s as %.4s, IPv4 only; write %.4s for IPv4 only or %.3s6 for IPv4 and IPv6, or read the file with -inetd_dialect openbsd",
		    t, t, t, t);
	else
		diag_error(x->d, loc, "protocol: expected %s, not \"%s\"", dd->all, t);
	return false;
}

/* One number of a FreeBSD wait/MAX/PER_MINUTE/PER_ADDRESS; empty or 0 is no
 * limit, as in FreeBSD. */
static bool
inetd_wait_slot(const char *t, size_t n, unsigned long long *out)
{
	char buf[16];

	if (n == 0) {
		*out = 0;
		return true;
	}
	if (n >= sizeof(buf))
		return false;
	memcpy(buf, t, n);
	buf[n] = '\0';
	return util_parse_uint(buf, INETD_WAIT_MAX, out);
}

/*
 * wait or nowait, then OpenBSD's ".MAX" or FreeBSD's "/MAX/PER_MINUTE/
 * PER_ADDRESS". Both MAX are read as instances: OpenBSD means invocations
 * per minute, but porter limits rates with cps and concurrency here.
 */
static bool
inetd_wait(struct inetd_ctx *x, struct service_config *s, const char *t, struct loc loc)
{
	size_t kw = strcspn(t, "./");
	unsigned long long v[3] = { 0, 0, 0 };
	const char *p;

	if (kw == 4 && strncmp(t, "wait", 4) == 0)
		s->wait = 1;
	else if (kw == 6 && strncmp(t, "nowait", 6) == 0)
		s->wait = 0;
	else {
		diag_error(x->d, loc, "wait: expected wait or nowait, not \"%s\"", t);
		return false;
	}
	conf_service_set(s, A_WAIT, loc);
	if (t[kw] == '\0')
		return true;
	if (t[kw] == '.') {
		if (!util_parse_uint(t + kw + 1, INETD_WAIT_MAX, &v[0]) || v[0] == 0) {
			diag_error(x->d, loc,
			    "wait: expected %.*s.N with N from 1 to %d, not \"%s\"", (int)kw, t,
			    INETD_WAIT_MAX, t);
			return false;
		}
		s->instances = (int)v[0];
		conf_service_set(s, A_INSTANCES, loc);
		return true;
	}
	p = t + kw + 1;
	for (int i = 0;; i++) {
		size_t n = strcspn(p, "/");

		if (i == 3 || !inetd_wait_slot(p, n, &v[i])) {
			diag_error(x->d, loc,
			    "wait: expected %.*s/MAX[/PER_MINUTE[/PER_ADDRESS]] with numbers from 0 (no limit) to %d, not \"%s\"",
			    (int)kw, t, INETD_WAIT_MAX, t);
			return false;
		}
		if (p[n] == '\0')
			break;
		p += n + 1;
	}
	if (v[0] > 0) {
		s->instances = (int)v[0];
		conf_service_set(s, A_INSTANCES, loc);
	}
	if (v[1] > 0) {
		s->per_source_cps_rate = (unsigned)((v[1] + 59) / 60);
		s->per_source_cps_burst = (unsigned)v[1];
		conf_service_set(s, A_PER_SOURCE_CPS, loc);
	}
	if (v[2] > 0) {
		s->per_source = (int)v[2];
		conf_service_set(s, A_PER_SOURCE, loc);
	}
	return true;
}

/* user, user.group or user:group. A ':' wins because no user name holds one;
 * otherwise the first '.' splits, as in OpenBSD. */
static bool
inetd_user(struct inetd_ctx *x, struct service_config *s, const char *t, struct loc loc)
{
	const char *slash = strchr(t, '/');
	const char *sep = strchr(t, ':');

	if (slash != NULL) {
		diag_error(x->d, loc,
		    "user: login classes are not supported by porter; remove \"%s\" from \"%s\"",
		    slash, t);
		return false;
	}
	if (sep == NULL)
		sep = strchr(t, '.');
	if (sep == t || (sep != NULL && sep[1] == '\0')) {
		diag_error(x->d, loc, "user: expected USER, USER:GROUP or USER.GROUP, not \"%s\"",
		    t);
		return false;
	}
	if (sep == NULL)
		s->user = mem_strdup(t);
	else {
		s->user = mem_strndup(t, (size_t)(sep - t));
		s->group = mem_strdup(sep + 1);
		conf_service_set(s, A_GROUP, loc);
	}
	conf_service_set(s, A_USER, loc);
	return true;
}

/* internal, or an absolute path followed by argv0 and the arguments. Both
 * inetds run a server written without argv0 under its file name. */
static bool
inetd_server(struct inetd_ctx *x, struct service_config *s, const struct strv *w, size_t at,
    struct loc loc)
{
	const char *path = w->v[at];
	const char *base;

	if (strcmp(path, "internal") == 0) {
		/* inetd ignores arguments after internal, and so does porter. */
		s->type |= T_INTERNAL;
		conf_service_set(s, A_TYPE, loc);
		return true;
	}
	if (path[0] != '/') {
		diag_error(x->d, loc, "server: expected an absolute path or internal, not \"%s\"",
		    path);
		return false;
	}
	s->server = mem_strdup(path);
	conf_service_set(s, A_SERVER, loc);
	if (at + 1 >= w->n) {
		base = strrchr(path, '/') + 1;
		strv_push(&s->server_args, *base != '\0' ? base : path);
	}
	for (size_t i = at + 1; i < w->n; i++)
		strv_push(&s->server_args, w->v[i]);
	conf_service_set(s, A_SERVER_ARGS, loc);
	s->flags |= F_NAMEINARGS;
	return true;
}

/* The entry with this id that will run: a `disable = yes` entry does not
 * keep an inetd.conf line from taking its id. */
static const struct service_config *
inetd_find_live(const struct config *cf, const char *id)
{
	for (size_t i = 0; i < cf->nsvc; i++) {
		const struct service_config *s = cf->svc[i];

		if (!s->disable && strcmp(s->id != NULL ? s->id : s->name, id) == 0)
			return s;
	}
	return NULL;
}

/*
 * Chooses s's id: NAME-stream or NAME-dgram for internal services, NAME
 * otherwise; when an earlier line of this file took it, NAME-PROTO, then
 * NAME-PROTO-2 and so on. An id defined elsewhere wins: returns false after
 * a warning.
 */
static bool
inetd_id(struct inetd_ctx *x, struct service_config *s, const char *proto, struct loc loc)
{
	const struct service_config *other;
	char *id;

	if ((s->type & T_INTERNAL) && s->socket_type == SOCK_STREAM)
		id = mem_asprintf("%s-stream", s->name);
	else if (s->type & T_INTERNAL)
		id = mem_asprintf("%s-dgram", s->name);
	else
		id = mem_strdup(s->name);
	for (int n = 1; (other = inetd_find_live(x->cf, id)) != NULL && inetd_ours(x, other); n++) {
		free(id);
		if (n == 1)
			id = mem_asprintf("%s-%s", s->name, proto);
		else
			id = mem_asprintf("%s-%s-%d", s->name, proto, n);
	}
	if (other != NULL) {
		diag_warn(x->d, loc, "%s is already defined at %s:%d; this line is ignored", id,
		    other->loc.file != NULL ? other->loc.file : "?", other->loc.line);
		free(id);
		return false;
	}
	s->id = id;
	conf_service_set(s, A_ID, loc);
	return true;
}

/*
 * tcpmux/NAME or tcpmux/+NAME: a service reached through the tcpmux
 * built-in by NAME, with no socket of its own. With '+', porterd sends the
 * positive reply before the server starts (TCPMUXPLUS); without, the server
 * sends it (TCPMUX). The checks that need the whole line are the caller's.
 */
static bool
inetd_mux(struct inetd_ctx *x, struct service_config *s, const char *field, bool own_host,
    struct loc loc)
{
	bool ok = true;

	s->type |= field[MUX_PREFIX_LEN] == '+' ? T_TCPMUXPLUS : T_TCPMUX;
	conf_service_set(s, A_TYPE, loc);
	if (s->name[0] == '\0') {
		diag_error(x->d, loc, "service: expected tcpmux/NAME or tcpmux/+NAME, not \"%s\"",
		    field);
		ok = false;
	} else if (strcasecmp(s->name, "help") == 0) {
		diag_error(x->d, loc,
		    "service: %s: tcpmux answers help itself with the list of its services; choose another name",
		    field);
		ok = false;
	}
	if (own_host) {
		diag_error(x->d, loc,
		    "host: %s has no socket of its own, so it takes no address; put the address on a line for the tcpmux built-in instead (ADDRESS:tcpmux stream tcp nowait root internal)",
		    field);
		ok = false;
	}
	return ok;
}

/* What the tcpmux entry s needs of the fields that follow its name. */
static bool
inetd_mux_fields(struct inetd_ctx *x, const struct service_config *s, const char *field,
    struct loc loc)
{
	bool ok = true;

	if (s->wait == 1) {
		diag_error(x->d, loc,
		    "wait: %s needs nowait: a server is started for each client that names it",
		    field);
		ok = false;
	}
	if (s->type & T_INTERNAL) {
		diag_error(x->d, loc,
		    "server: %s cannot be internal; give the path of its server and argv0", field);
		ok = false;
	}
	return ok;
}

/* Two tcpmux entries of one name (tcpmux compares names regardless of
 * case) would leave the second unreachable: an earlier line of this file is
 * an error, another file's entry wins with a warning, as an id does. */
static bool
inetd_mux_unique(struct inetd_ctx *x, const struct service_config *s, const char *field,
    struct loc loc)
{
	for (size_t i = 0; i < x->cf->nsvc; i++) {
		const struct service_config *o = x->cf->svc[i];

		if (o->disable || !(o->type & (T_TCPMUX | T_TCPMUXPLUS)) ||
		    strcasecmp(o->name, s->name) != 0)
			continue;
		if (inetd_ours(x, o))
			diag_error(x->d, loc,
			    "service: %s: tcpmux service %s is already defined at line %d (tcpmux names are compared regardless of case)",
			    field, o->name, o->loc.line);
		else
			diag_warn(x->d, loc,
			    "tcpmux service %s is already defined at %s:%d; this line is ignored",
			    s->name, o->loc.file != NULL ? o->loc.file : "?", o->loc.line);
		return false;
	}
	return true;
}

/* What xinetd's -inetd_compat gives every inetd.conf entry. */
static void
inetd_compat(struct service_config *s, struct loc loc)
{
	s->groups = true;
	conf_service_set(s, A_GROUPS, loc);
	s->flags |= F_REUSE | F_NOLIBWRAP;
	conf_service_set(s, A_FLAGS, loc);
}

/* One entry: the words of a line, and of the lines that continue it. */
static void
inetd_entry(struct inetd_ctx *x, const struct strv *w, struct loc loc)
{
	struct service_config *s;
	char *host = x->defhost != NULL ? mem_strdup(x->defhost) : NULL;
	const char *name;
	size_t at = 0; /* index in w of the service field */
	bool ok = true, mux, own_host;

	if (w->n == 0)
		goto out;
	if (!inetd_host(x, w->v[0], &host, &name, loc))
		goto out;
	own_host = name != w->v[0] && host != NULL;
	if (*name == '\0') {
		/* "host:" alone sets the default; "host: service ..." is OpenBSD's
		 * spelling of "host:service ...". */
		if (w->n == 1) {
			free(x->defhost);
			x->defhost = host;
			host = NULL;
			goto out;
		}
		name = w->v[++at];
	}
	if (w->n - at < FLD_MIN) {
		diag_error(x->d, loc,
		    "expected SERVICE SOCKTYPE PROTO WAIT USER SERVER [ARGV0 ARGS...]");
		goto out;
	}

	mux = strncmp(name, MUX_PREFIX, MUX_PREFIX_LEN) == 0;
	if (mux) {
		const char *mux_name = name + MUX_PREFIX_LEN;

		s = conf_service_new(mux_name + (*mux_name == '+'), loc);
	} else
		s = conf_service_new(name, loc);
	s->from_inetd = true;
	/* Read after every xinetd-style file, an entry gets the defaults a
	 * service entry written last would get. */
	conf_defaults_copy(x->cf, s);
	if (mux)
		ok = inetd_mux(x, s, name, own_host, loc) && ok;
	else
		ok = inetd_service(x, s, name, loc) && ok;
	ok = inetd_socktype(x, s, w->v[at + FLD_SOCKTYPE], loc) && ok;
	ok = inetd_proto(x, s, w->v[at + FLD_PROTO], !mux, loc) && ok;
	if (mux && (s->socket_type == SOCK_DGRAM || s->protocol == IPPROTO_UDP)) {
		diag_error(x->d, loc,
		    "%s: tcpmux services are stream services over TCP; write stream tcp", name);
		ok = false;
	} else if (s->socket_type != 0 && s->protocol != 0 &&
	    (s->socket_type == SOCK_STREAM) != (s->protocol == IPPROTO_TCP)) {
		diag_error(x->d, loc, "protocol %s does not go with socket type %s; use %s",
		    w->v[at + FLD_PROTO], w->v[at + FLD_SOCKTYPE],
		    s->socket_type == SOCK_DGRAM ? x->dialect->udp : x->dialect->tcp);
		ok = false;
	}
	ok = inetd_wait(x, s, w->v[at + FLD_WAIT], loc) && ok;
	ok = inetd_user(x, s, w->v[at + FLD_USER], loc) && ok;
	ok = inetd_server(x, s, w, at + FLD_SERVER, loc) && ok;
	if (mux)
		ok = inetd_mux_fields(x, s, name, loc) && ok;
	if (!ok || (mux && !inetd_mux_unique(x, s, name, loc)) ||
	    !inetd_id(x, s, w->v[at + FLD_PROTO], loc)) {
		conf_service_free(s);
		goto out;
	}
	/* A default address does not reach a tcpmux entry: it has no socket. */
	if (host != NULL && !mux) {
		s->bind = host;
		host = NULL;
		conf_service_set(s, A_BIND, loc);
	}
	inetd_compat(s, loc);
	if (mux && x->mux_at.line == 0)
		x->mux_at = loc;
	conf_add_service(x->cf, s);
out:
	free(host);
}

/*
 * As inetutils-inetd does, a file with tcpmux entries and no line for the
 * tcpmux built-in gets one, on every address, so that the entries can be
 * reached; it counts as written at the first tcpmux entry. A tcpmux
 * built-in of an earlier file (porter.conf with -f) serves them instead.
 */
static void
inetd_mux_listener(struct inetd_ctx *x)
{
	struct service_config *s;
	struct loc loc = x->mux_at;

	if (loc.line == 0)
		return;
	for (size_t i = 0; i < x->cf->nsvc; i++) {
		const struct service_config *o = x->cf->svc[i];

		if (!o->disable && (o->type & T_INTERNAL) && strcmp(o->name, "tcpmux") == 0)
			return;
	}
	s = conf_service_new("tcpmux", loc);
	s->from_inetd = true;
	conf_defaults_copy(x->cf, s);
	s->type = T_INTERNAL;
	conf_service_set(s, A_TYPE, loc);
	s->socket_type = SOCK_STREAM;
	conf_service_set(s, A_SOCKET_TYPE, loc);
	s->protocol = IPPROTO_TCP;
	conf_service_set(s, A_PROTOCOL, loc);
	s->wait = 0;
	conf_service_set(s, A_WAIT, loc);
	if (!inetd_id(x, s, "tcp", loc)) {
		conf_service_free(s);
		return;
	}
	inetd_compat(s, loc);
	conf_add_service(x->cf, s);
}

/* The words of one line, up to a word that starts with '#': as in
 * porter.conf, that starts a comment, so that the canonical dump can say
 * every argument. */
static void
inetd_words(const char *text, struct strv *words)
{
	struct strv w = { 0 };

	conf_lex_split(text, &w);
	for (size_t i = 0; i < w.n && w.v[i][0] != '#'; i++)
		strv_push(words, w.v[i]);
	strv_clear(&w);
}

/* Whether the words look like an entry of their own: SERVICE SOCKTYPE ... */
static bool
inetd_looks_like_entry(const struct strv *w)
{
	return w->n >= FLD_MIN &&
	    (strcmp(w->v[FLD_SOCKTYPE], "stream") == 0 || strcmp(w->v[FLD_SOCKTYPE], "dgram") == 0);
}

void
conf_inetd_buffer(struct config *cf, const char *name, const char *buf, size_t len,
    enum inetd_dialect dialect, struct diag *d)
{
	struct inetd_ctx x = { cf, d, conf_intern(cf, name), cf->nsvc, NULL, dialect,
		&dialects[dialect], { NULL, 0 } };
	struct strv entry = { 0 };
	struct loc at = { x.file, 0 }; /* where the pending entry starts */
	bool joinable = false;         /* the previous line may be continued */
	size_t pos = 0;
	int lineno = 0;

	while (pos < len) {
		const char *line = buf + pos;
		const char *nl = memchr(line, '\n', len - pos);
		size_t n = nl != NULL ? (size_t)(nl - line) : len - pos;
		struct loc loc = { x.file, ++lineno };
		struct strv words = { 0 };
		bool cont;
		char *text;

		pos += n + (nl != NULL);
		if (memchr(line, '\0', n) != NULL) {
			inetd_entry(&x, &entry, at);
			strv_clear(&entry);
			diag_error(d, loc,
			    "the file contains a NUL byte; is it a configuration file?");
			goto done;
		}
		/* openbsd-inetd reads a line that starts with a blank as more
		 * words of the entry above it; a '#' in the first column ends
		 * the entry. */
		cont = x.dialect->continuation && joinable && n > 0 &&
		    (line[0] == ' ' || line[0] == '\t');
		if (!cont) {
			inetd_entry(&x, &entry, at);
			strv_clear(&entry);
			at.line = 0;
		}
		joinable = n == 0 || line[0] != '#';
		text = mem_strndup(line, n);
		inetd_words(text, &words);
		free(text);
		if (cont && entry.n >= FLD_MIN && inetd_looks_like_entry(&words))
			diag_warn(d, loc,
			    "this line starts with a blank, so it continues the entry of line %d, as in openbsd-inetd; remove the leading blanks if it is an entry of its own",
			    at.line);
		if (words.n > 0 && at.line == 0)
			at.line = lineno;
		for (size_t i = 0; i < words.n; i++)
			strv_push(&entry, words.v[i]);
		strv_clear(&words);
	}
	inetd_entry(&x, &entry, at);
	strv_clear(&entry);
done:
	inetd_mux_listener(&x);
	free(x.defhost);
}

bool
conf_inetd_file(struct config *cf, const char *path, enum inetd_dialect dialect, struct diag *d)
{
	struct stat st;
	size_t got = 0;
	char *buf;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		diag_error(d, (struct loc){ path, 0 }, "%s", strerror(errno));
		return false;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > INETD_FILE_MAX) {
		diag_error(d, (struct loc){ path, 0 }, "not a regular file of at most 16 MiB");
		close(fd);
		return false;
	}
	buf = mem_alloc((size_t)st.st_size + 1);
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			diag_error(d, (struct loc){ path, 0 }, "%s", strerror(errno));
			close(fd);
			free(buf);
			return false;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	conf_inetd_buffer(cf, path, buf, got, dialect, d);
	free(buf);
	return true;
}
