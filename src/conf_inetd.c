/*
 * conf_inetd.c: reads a classic inetd.conf into the same struct config the
 * xinetd.conf parser fills, the way xinetd's -inetd_compat does, so one check
 * and one daemon serve both. Each line becomes one service or one diagnostic;
 * users, ports and addresses are left as written for conf_check to resolve.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"

#define INETD_FILE_MAX (16 * 1024 * 1024)
/* The largest number taken in a wait field; per_source_cps allows no more. */
#define INETD_WAIT_MAX 1000000

/* SERVICE SOCKTYPE PROTO WAIT USER SERVER */
enum { FLD_SERVICE, FLD_SOCKTYPE, FLD_PROTO, FLD_WAIT, FLD_USER, FLD_SERVER, FLD_MIN };

struct inetd_ctx {
	struct config *cf;
	struct diag *d;
	const char *file; /* interned */
	size_t first;     /* index in cf->svc of this file's first entry */
	char *defhost;    /* set by a `host:` line; NULL means any address */
};

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

/* The protocol field; the socket type is checked against it by the caller. */
static bool
inetd_proto(struct inetd_ctx *x, struct service_config *s, const char *t, struct loc loc)
{
	static const struct {
		const char *name;
		int protocol;
		unsigned flags;
	} protos[] = {
		{ "tcp", IPPROTO_TCP, 0 },
		{ "udp", IPPROTO_UDP, 0 },
		{ "tcp4", IPPROTO_TCP, F_IPV4 },
		{ "udp4", IPPROTO_UDP, F_IPV4 },
		{ "tcp6", IPPROTO_TCP, F_IPV6 },
		{ "udp6", IPPROTO_UDP, F_IPV6 },
		{ "tcp46", IPPROTO_TCP, 0 },
		{ "udp46", IPPROTO_UDP, 0 },
	};

	for (size_t i = 0; i < sizeof(protos) / sizeof(protos[0]); i++) {
		if (strcmp(t, protos[i].name) != 0)
			continue;
		s->protocol = protos[i].protocol;
		s->flags |= protos[i].flags;
		conf_service_set(s, A_PROTOCOL, loc);
		/* tcp6 is IPv6 only; tcp, tcp46 and no flag are dual stack. */
		if (protos[i].flags == F_IPV6) {
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
	else
		diag_error(x->d, loc,
		    "protocol: expected tcp, udp, tcp4, udp4, tcp6, udp6, tcp46 or udp46, not \"%s\"",
		    t);
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

/* internal, or an absolute path followed by argv0 and the arguments. */
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
	if (at + 1 >= w->n) {
		base = strrchr(path, '/') + 1;
		diag_error(x->d, loc, "missing argv0 after the server path; write \"%s %s\"", path,
		    *base != '\0' ? base : "NAME");
		return false;
	}
	s->server = mem_strdup(path);
	conf_service_set(s, A_SERVER, loc);
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

static void
inetd_line(struct inetd_ctx *x, const char *text, struct loc loc)
{
	struct strv w = { 0 };
	struct service_config *s;
	char *host = x->defhost != NULL ? mem_strdup(x->defhost) : NULL;
	const char *name;
	size_t at = 0; /* index in w of the service field */
	bool ok = true;

	/* A '#' that starts a word starts a comment, as in porter.conf: the
	 * canonical dump must be able to say every argument. */
	conf_lex_split(text, &w);
	for (size_t i = 0; i < w.n; i++) {
		if (w.v[i][0] == '#') {
			while (w.n > i)
				free(w.v[--w.n]);
			w.v[w.n] = NULL;
			break;
		}
	}
	if (w.n == 0)
		goto out;
	if (!inetd_host(x, w.v[0], &host, &name, loc))
		goto out;
	if (*name == '\0') {
		/* "host:" alone sets the default; "host: service ..." is OpenBSD's
		 * spelling of "host:service ...". */
		if (w.n == 1) {
			free(x->defhost);
			x->defhost = host;
			host = NULL;
			goto out;
		}
		name = w.v[++at];
	}
	if (w.n - at < FLD_MIN) {
		diag_error(x->d, loc,
		    "expected SERVICE SOCKTYPE PROTO WAIT USER SERVER [ARGV0 ARGS...]");
		goto out;
	}

	s = conf_service_new(name, loc);
	s->from_inetd = true;
	/* Read after every xinetd-style file, an entry gets the defaults a
	 * service entry written last would get. */
	conf_defaults_copy(x->cf, s);
	ok = inetd_service(x, s, name, loc) && ok;
	ok = inetd_socktype(x, s, w.v[at + FLD_SOCKTYPE], loc) && ok;
	ok = inetd_proto(x, s, w.v[at + FLD_PROTO], loc) && ok;
	if (s->socket_type != 0 && s->protocol != 0 &&
	    (s->socket_type == SOCK_STREAM) != (s->protocol == IPPROTO_TCP)) {
		const char *want = "tcp, tcp4, tcp6 or tcp46";

		if (s->socket_type == SOCK_DGRAM)
			want = "udp, udp4, udp6 or udp46";
		diag_error(x->d, loc, "protocol %s does not go with socket type %s; use %s",
		    w.v[at + FLD_PROTO], w.v[at + FLD_SOCKTYPE], want);
		ok = false;
	}
	ok = inetd_wait(x, s, w.v[at + FLD_WAIT], loc) && ok;
	ok = inetd_user(x, s, w.v[at + FLD_USER], loc) && ok;
	ok = inetd_server(x, s, &w, at + FLD_SERVER, loc) && ok;
	if (!ok || !inetd_id(x, s, w.v[at + FLD_PROTO], loc)) {
		conf_service_free(s);
		goto out;
	}
	if (host != NULL) {
		s->bind = host;
		host = NULL;
		conf_service_set(s, A_BIND, loc);
	}
	/* What xinetd's -inetd_compat gives every inetd.conf entry. */
	s->groups = true;
	conf_service_set(s, A_GROUPS, loc);
	s->flags |= F_REUSE | F_NOLIBWRAP;
	conf_service_set(s, A_FLAGS, loc);
	conf_add_service(x->cf, s);
out:
	free(host);
	strv_clear(&w);
}

void
conf_inetd_buffer(struct config *cf, const char *name, const char *buf, size_t len, struct diag *d)
{
	struct inetd_ctx x = { cf, d, conf_intern(cf, name), cf->nsvc, NULL };
	size_t pos = 0;
	int lineno = 0;

	while (pos < len) {
		const char *line = buf + pos;
		const char *nl = memchr(line, '\n', len - pos);
		size_t n = nl != NULL ? (size_t)(nl - line) : len - pos;
		struct loc loc = { x.file, ++lineno };
		char *text;

		pos += n + (nl != NULL);
		if (memchr(line, '\0', n) != NULL) {
			diag_error(d, loc,
			    "the file contains a NUL byte; is it a configuration file?");
			break;
		}
		text = mem_strndup(line, n);
		inetd_line(&x, text, loc);
		free(text);
	}
	free(x.defhost);
}

bool
conf_inetd_file(struct config *cf, const char *path, struct diag *d)
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
	conf_inetd_buffer(cf, path, buf, got, d);
	free(buf);
	return true;
}
