/*
 * listener.c: the listening socket of a service. IPv4, IPv6 and dual-stack
 * sockets, Unix sockets (a path or an abstract name), the socket options
 * that belong on a listener, the key that decides whether a reloaded
 * service may keep the socket it already has, and whether a socket made by
 * someone else (systemd, the porterd before a restart) is the one a
 * service would have bound.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "porterd.h"

/* The address of a Unix service: '@' stands for the abstract namespace's
 * leading NUL, which is not part of the name's length. */
static socklen_t
listener_sun(const struct service_config *s, struct sockaddr_un *sun)
{
	size_t n = strlen(s->unix_path);

	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, s->unix_path, n);
	if (s->unix_path[0] == '@') {
		sun->sun_path[0] = '\0';
		return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	}
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
}

/* A socket file nothing listens on is left by a porterd that died: it is
 * replaced. One that answers, or a file that is no socket, is not. */
static bool
listener_stale(const struct service_config *s, const struct sockaddr_un *sun, socklen_t len)
{
	struct stat st;
	int fd, rc;

	if (s->unix_path[0] != '/' || lstat(s->unix_path, &st) != 0 || !S_ISSOCK(st.st_mode))
		return false;
	if ((fd = socket(AF_UNIX, s->socket_type | SOCK_CLOEXEC, 0)) < 0)
		return false;
	rc = connect(fd, (const struct sockaddr *)sun, len);
	close(fd);
	return rc != 0 && errno == ECONNREFUSED && unlink(s->unix_path) == 0;
}

/* The file's owner and mode, at each load: a reload may change them. */
static int
listener_unix_file(const struct service_config *s, char *err, size_t errlen)
{
	if (s->unix_path[0] != '/')
		return 0;
	if (chmod(s->unix_path, s->socket_mode >= 0 ? (mode_t)s->socket_mode : 0666) != 0) {
		snprintf(err, errlen, "chmod %s: %s", s->unix_path, strerror(errno));
		return -1;
	}
	if ((s->socket_uid != (uid_t)-1 || s->socket_gid != (gid_t)-1) &&
	    chown(s->unix_path, s->socket_uid, s->socket_gid) != 0) {
		snprintf(err, errlen, "chown %s: %s", s->unix_path, strerror(errno));
		return -1;
	}
	return 0;
}

static int
listener_unix(struct service_config *s, bool blocking, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	socklen_t len = listener_sun(s, &sun);
	int one = 1, fd;

	fd = socket(AF_UNIX, s->socket_type | (blocking ? 0 : SOCK_NONBLOCK) | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	/* A datagram's sender is known by the credentials it carries. */
	if (s->socket_type == SOCK_DGRAM)
		setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sun, len) != 0 &&
	    !(errno == EADDRINUSE && listener_stale(s, &sun, len) &&
	        bind(fd, (struct sockaddr *)&sun, len) == 0)) {
		snprintf(err, errlen, "bind: %s", strerror(errno));
		close(fd);
		return -1;
	}
	if (listener_unix_file(s, err, errlen) != 0) {
		close(fd);
		listener_unlink(s);
		return -1;
	}
	if (s->socket_type != SOCK_DGRAM &&
	    listen(fd, s->backlog > 0 ? s->backlog : INT_MAX) != 0) {
		snprintf(err, errlen, "listen: %s", strerror(errno));
		close(fd);
		listener_unlink(s);
		return -1;
	}
	return fd;
}

void
listener_unlink(const struct service_config *s)
{
	if (s->family == AF_UNIX && s->unix_path != NULL && s->unix_path[0] == '/')
		unlink(s->unix_path);
}

/* The address s binds to when its family is family. */
static socklen_t
listener_addr(const struct service_config *s, int family, struct sockaddr_storage *ss)
{
	socklen_t len;

	if (family == AF_UNIX)
		return listener_sun(s, (struct sockaddr_un *)ss);
	memset(ss, 0, sizeof(*ss));
	if (s->bind_len > 0) {
		memcpy(ss, &s->bind_addr, s->bind_len);
		len = s->bind_len;
	} else if (family == AF_INET) {
		ss->ss_family = AF_INET;
		len = sizeof(struct sockaddr_in);
	} else {
		ss->ss_family = AF_INET6;
		len = sizeof(struct sockaddr_in6);
	}
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)s->port);
	else if (ss->ss_family == AF_INET6)
		((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)s->port);
	return len;
}

/* A wait = yes server reads the socket itself and expects it to block;
 * porterd only polls it. */
static bool
listener_blocking(const struct service_config *s)
{
	return s->wait == 1 && !(s->type & T_INTERNAL) && !(s->flags & F_SENSOR);
}

static int
listener_try(struct service_config *s, int family, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t len = listener_addr(s, family, &ss);
	int one = 1, fd;
	bool blocking = listener_blocking(s);

	if (family == AF_UNIX)
		return listener_unix(s, blocking, err, errlen);

	fd =
	    socket(ss.ss_family, s->socket_type | (blocking ? 0 : SOCK_NONBLOCK) | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6) {
		int v6only = s->v6only ? 1 : 0;

		/* Set both ways: the system default (bindv6only) must not
		 * decide what the configuration says. */
		if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only)) != 0) {
			snprintf(err, errlen, "IPV6_V6ONLY: %s", strerror(errno));
			close(fd);
			return -1;
		}
	}
	if (s->socket_type == SOCK_STREAM) {
		/* Linux passes both on to accepted sockets. */
		if (s->flags & F_NODELAY)
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (s->flags & F_KEEPALIVE)
			setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	}
	if (bind(fd, (struct sockaddr *)&ss, len) != 0) {
		snprintf(err, errlen, "bind: %s", strerror(errno));
		close(fd);
		return -1;
	}
	/* The kernel caps the backlog at net.core.somaxconn. */
	if (s->socket_type == SOCK_STREAM &&
	    listen(fd, s->backlog > 0 ? s->backlog : INT_MAX) != 0) {
		snprintf(err, errlen, "listen: %s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int
listener_open(struct service_config *s, char *err, size_t errlen)
{
	int fd = listener_try(s, s->family, err, errlen);

	/* Without IPv6 in the kernel, a service that did not ask for IPv6
	 * falls back to IPv4. */
	if (fd < 0 && s->family == AF_INET6 && s->bind_len == 0 && !(s->flags & F_IPV6) &&
	    strstr(err, "socket: ") == err) {
		fd = listener_try(s, AF_INET, err, errlen);
		if (fd >= 0)
			s->family = AF_INET;
	}
	return fd;
}

/* Whether two socket addresses name the same place: the address and
 * port of an IP socket (not its flow label or scope), every byte of any
 * other family's. */
static bool
listener_addr_same(const struct sockaddr_storage *a, socklen_t alen,
    const struct sockaddr_storage *b, socklen_t blen)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;

		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;

		return x->sin6_port == y->sin6_port &&
		    memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
	}
	if (a->ss_family == AF_UNIX) {
		/* The kernel may count the path's NUL, or not. */
		const struct sockaddr_un *x = (const void *)a, *y = (const void *)b;
		size_t off = offsetof(struct sockaddr_un, sun_path);
		size_t xn = alen > off ? alen - off : 0, yn = blen > off ? blen - off : 0;

		if (xn > 0 && x->sun_path[0] != '\0')
			xn = strnlen(x->sun_path, xn);
		if (yn > 0 && y->sun_path[0] != '\0')
			yn = strnlen(y->sun_path, yn);
		return xn == yn && memcmp(x->sun_path, y->sun_path, xn) == 0;
	}
	return alen == blen && memcmp(a, b, alen) == 0;
}

static const char *
listener_type_name(int type)
{
	switch (type) {
	case SOCK_STREAM:
		return "stream";
	case SOCK_DGRAM:
		return "dgram";
	case SOCK_SEQPACKET:
		return "seqpacket";
	case SOCK_RAW:
		return "raw";
	}
	return "other";
}

int
listener_adopt(int fd, struct service_config *s, char *err, size_t errlen)
{
	struct sockaddr_storage have, want;
	socklen_t hlen = sizeof(have), wlen, olen;
	int type = 0, proto = 0, v6only = 0, acc = 0, flags;

	olen = sizeof(type);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &olen) != 0 ||
	    getsockname(fd, (struct sockaddr *)&have, &hlen) != 0) {
		snprintf(err, errlen, "not a socket: %s", strerror(errno));
		return -1;
	}
	if (type != s->socket_type) {
		snprintf(err, errlen, "a %s socket, the service wants %s", listener_type_name(type),
		    listener_type_name(s->socket_type));
		return -1;
	}
	/* What socket(family, type, 0) would have made: the service's
	 * protocol when it names one. */
	olen = sizeof(proto);
	if (s->protocol != 0 && have.ss_family != AF_UNIX &&
	    getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &olen) == 0 && proto != s->protocol) {
		snprintf(err, errlen, "protocol %d, the service wants %d", proto, s->protocol);
		return -1;
	}
	wlen = listener_addr(s, s->family, &want);
	if (!listener_addr_same(&have, hlen, &want, wlen)) {
		/* A service bound to no address in particular takes an IPv4
		 * wildcard socket too, as it would fall back to one. */
		wlen = listener_addr(s, AF_INET, &want);
		if (s->bind_len > 0 || (s->flags & F_IPV6) ||
		    !listener_addr_same(&have, hlen, &want, wlen)) {
			struct peer p;
			char a[INET6_ADDRSTRLEN + 8] = "?";

			if (have.ss_family == AF_INET || have.ss_family == AF_INET6) {
				memcpy(&p.sa, &have, hlen);
				p.len = hlen;
				peer_addr(&p, a, sizeof(a));
				snprintf(err, errlen,
				    "bound to %s port %d, not to the service's address", a,
				    peer_port(&p));
			} else
				snprintf(err, errlen,
				    "bound to an address of family %d, not to the service's",
				    have.ss_family);
			return -1;
		}
		s->family = AF_INET;
	}
	if (have.ss_family == AF_INET6) {
		olen = sizeof(v6only);
		if (getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &olen) == 0 &&
		    (v6only != 0) != (s->v6only != 0)) {
			snprintf(err, errlen, "%s, the service wants %s",
			    v6only ? "IPv6 only" : "dual stack",
			    s->v6only ? "IPv6 only" : "dual stack");
			return -1;
		}
	}
	olen = sizeof(acc);
	if (have.ss_family == AF_UNIX && s->socket_type == SOCK_DGRAM)
		setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &(int){ 1 }, sizeof(int));
	if ((s->socket_type == SOCK_STREAM || s->socket_type == SOCK_SEQPACKET) &&
	    (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &olen) != 0 || !acc) &&
	    listen(fd, s->backlog > 0 ? s->backlog : INT_MAX) != 0) {
		snprintf(err, errlen, "listen: %s", strerror(errno));
		return -1;
	}
	if ((flags = fcntl(fd, F_GETFL)) < 0 ||
	    fcntl(fd, F_SETFL, listener_blocking(s) ? flags & ~O_NONBLOCK : flags | O_NONBLOCK) !=
	        0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) {
		snprintf(err, errlen, "fcntl: %s", strerror(errno));
		return -1;
	}
	if (s->socket_type == SOCK_STREAM && have.ss_family != AF_UNIX) {
		int one = 1;

		/* Only what the service asks for: the rest is the socket
		 * unit's to say. */
		if (s->flags & F_NODELAY)
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (s->flags & F_KEEPALIVE)
			setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
		if (s->backlog > 0)
			listen(fd, s->backlog);
	}
	return fd;
}

bool
listener_same(const struct service_config *a, const struct service_config *b)
{
	/* The family asked for: an IPv4 fallback must not look like a change. */
	if (a->protocol != b->protocol || a->socket_type != b->socket_type || a->port != b->port ||
	    a->family_conf != b->family_conf || a->bind_len != b->bind_len)
		return false;
	if (a->family == AF_INET6 && a->v6only != b->v6only)
		return false;
	if (a->family_conf == AF_UNIX)
		return strcmp(a->unix_path, b->unix_path) == 0;
	return memcmp(&a->bind_addr, &b->bind_addr, a->bind_len) == 0;
}

void
listener_tune(int fd, const struct service_config *s)
{
	int on;
	char err[256];

	if (s->family == AF_UNIX) {
		if (listener_unix_file(s, err, sizeof(err)) != 0)
			log_warnx("%s: %s", s->id, err);
		if (s->socket_type != SOCK_DGRAM && s->wait == 0)
			listen(fd, s->backlog > 0 ? s->backlog : INT_MAX);
		return;
	}
	if (s->socket_type != SOCK_STREAM)
		return;
	on = (s->flags & F_NODELAY) != 0;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	on = (s->flags & F_KEEPALIVE) != 0;
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
	/* listen() again on a listening socket changes its backlog. */
	if (s->wait == 0)
		listen(fd, s->backlog > 0 ? s->backlog : INT_MAX);
}
