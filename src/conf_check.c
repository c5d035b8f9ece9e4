/*
 * conf_check.c: the semantic checks of a finished configuration, and the
 * resolution of everything the daemon needs from the system (users, groups,
 * ports, bind addresses) so that it is done once at load time and never per
 * connection. Every problem is reported with the file and line of the
 * attribute concerned, and the checks keep going to report them all.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <netdb.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "conf.h"

/* The built-in services; tcpmux exists only as a stream service. */
static const char *const internal_names[] = {
	"echo",
	"discard",
	"chargen",
	"daytime",
	"time",
	"tcpmux",
	NULL,
};

static struct loc
where(const struct service_config *s, enum attr_id a)
{
	return conf_service_has(s, a) ? conf_service_at(s, a) : s->loc;
}

static const char *
proto_name(int proto)
{
	return proto == IPPROTO_UDP ? "udp" : "tcp";
}

/* Whether the entry lacks a, and no refused line tried to set it: a refused
 * value was reported already, and "missing" would only repeat it. */
static bool
missing(const struct service_config *s, enum attr_id a)
{
	return !conf_service_has(s, a) && !attr_set_has(&s->refused, a);
}

static bool
refused(const struct service_config *s, enum attr_id a)
{
	return attr_set_has(&s->refused, a);
}

static bool
is_internal(const struct service_config *s)
{
	return (s->type & T_INTERNAL) || (s->flags & F_SENSOR);
}

static bool
is_tcpmux_client(const struct service_config *s)
{
	return (s->type & (T_TCPMUX | T_TCPMUXPLUS)) != 0;
}

static bool
is_unix(const struct service_config *s)
{
	return s->bind != NULL && strncmp(s->bind, "unix:", 5) == 0;
}

static void
check_kind(struct service_config *s, struct diag *d)
{
	/* socket_type and protocol imply each other for tcp and udp. */
	if (s->socket_type == 0 && s->protocol == 0) {
		if (!refused(s, A_SOCKET_TYPE) && !refused(s, A_PROTOCOL))
			diag_error(d, s->loc, "%s: missing attribute socket_type (stream or dgram)",
			    s->id);
		if (s->wait < 0 && missing(s, A_WAIT))
			diag_error(d, s->loc, "%s: missing attribute wait (yes or no)", s->id);
		s->broken = true;
		return;
	}
	if (s->socket_type == 0)
		s->socket_type = s->protocol == IPPROTO_UDP ? SOCK_DGRAM : SOCK_STREAM;
	if (s->protocol == 0)
		s->protocol = s->socket_type == SOCK_DGRAM ? IPPROTO_UDP : IPPROTO_TCP;
	/* A seqpacket service is a Unix one: its protocol word means nothing,
	 * and it is served as a stream service is. */
	if (s->socket_type == SOCK_SEQPACKET) {
		if (!is_unix(s))
			diag_error(d, where(s, A_SOCKET_TYPE),
			    "%s: socket_type seqpacket needs bind = unix:PATH", s->id);
		s->protocol = IPPROTO_TCP;
	} else if ((s->socket_type == SOCK_STREAM) != (s->protocol == IPPROTO_TCP))
		diag_error(d, where(s, A_PROTOCOL),
		    "%s: socket_type %s does not go with protocol %s", s->id,
		    s->socket_type == SOCK_STREAM ? "stream" : "dgram", proto_name(s->protocol));
	if (s->wait < 0 && missing(s, A_WAIT))
		diag_error(d, s->loc, "%s: missing attribute wait (yes or no)", s->id);
	if (s->wait < 0)
		s->broken = true;
	else if (s->wait == 0 && s->socket_type == SOCK_DGRAM && !is_internal(s))
		diag_error(d, where(s, A_WAIT),
		    s->from_inetd ?
		        "%s: nowait is not supported for dgram services; use wait (the server reads the datagrams itself)" :
		        "%s: wait = no is not supported for dgram services; use wait = yes (the server reads the datagrams itself)",
		    s->id);
}

/* The relay's target is resolved once, at load time, IPv4 or IPv6. */
static void
check_redirect_target(struct service_config *s, struct diag *d)
{
	struct addrinfo hints = { 0 }, *res = NULL;
	int e;

	hints.ai_socktype = SOCK_STREAM;
	hints.ai_family = AF_UNSPEC;
	e = getaddrinfo(s->redirect_host, s->redirect_port, &hints, &res);
	if (e == 0 && res != NULL && res->ai_addrlen > sizeof(s->redirect_addr))
		e = EAI_FAMILY; /* neither IPv4 nor IPv6 */
	if (e != 0 || res == NULL) {
		diag_error(d, conf_service_at(s, A_REDIRECT), "%s: redirect %s: %s", s->id,
		    s->redirect_host,
		    e == EAI_NONAME || e == EAI_NODATA ? "no address" : gai_strerror(e));
		if (res != NULL)
			freeaddrinfo(res);
		return;
	}
	memcpy(&s->redirect_addr, res->ai_addr, res->ai_addrlen);
	s->redirect_len = res->ai_addrlen;
	freeaddrinfo(res);
}

static void
check_program(struct service_config *s, struct diag *d)
{
	struct stat st;

	if (is_internal(s)) {
		bool known = false;

		for (size_t i = 0; internal_names[i] != NULL; i++)
			if (strcmp(s->name, internal_names[i]) == 0)
				known = true;
		if (!(s->flags & F_SENSOR) && !known &&
		    (strcmp(s->name, "servers") == 0 || strcmp(s->name, "services") == 0))
			/* They tell anyone who may connect what runs and for
			 * whom; porterctl tells those allowed to know. */
			diag_error(d, where(s, A_TYPE),
			    "%s: xinetd's internal service %s is not provided; porterctl %s shows the same to those allowed on the control socket",
			    s->id, s->name,
			    strcmp(s->name, "servers") == 0 ? "connections" : "status");
		else if (!(s->flags & F_SENSOR) && !known)
			diag_error(d, where(s, A_TYPE),
			    "%s: no internal service is called \"%s\" (known: echo discard chargen daytime time tcpmux)",
			    s->id, s->name);
		else if (strcmp(s->name, "tcpmux") == 0 && s->socket_type == SOCK_DGRAM)
			diag_error(d, where(s, A_SOCKET_TYPE), "%s: tcpmux is a stream service",
			    s->id);
		if (conf_service_has(s, A_SERVER) && attr_set_has(&s->own, A_SERVER))
			diag_warn(d, conf_service_at(s, A_SERVER),
			    "%s: server is not used by an internal service", s->id);
		return;
	}
	if (conf_service_has(s, A_REDIRECT)) {
		if (s->socket_type != SOCK_STREAM || s->wait != 0)
			diag_error(d, conf_service_at(s, A_REDIRECT),
			    "%s: redirect needs socket_type = stream and wait = no", s->id);
		if (s->flags & F_NAMEINARGS)
			diag_error(d, where(s, A_FLAGS), "%s: NAMEINARGS does not go with redirect",
			    s->id);
		if (conf_service_has(s, A_SERVER))
			diag_warn(d, conf_service_at(s, A_SERVER),
			    "%s: server is not used by a redirect service", s->id);
		if (!isdigit((unsigned char)s->redirect_port[0]) &&
		    getservbyname(s->redirect_port, "tcp") == NULL)
			diag_error(d, conf_service_at(s, A_REDIRECT),
			    "%s: redirect: unknown port \"%s\" (not in /etc/services for tcp)",
			    s->id, s->redirect_port);
		else
			check_redirect_target(s, d);
	} else if (!conf_service_has(s, A_SERVER)) {
		if (missing(s, A_SERVER) && missing(s, A_REDIRECT))
			diag_error(d, s->loc, "%s: missing attribute server", s->id);
	} else {
		/* Under root_directory, the server is a file of that tree. */
		char path[PATH_MAX];

		snprintf(path, sizeof(path), "%s%s",
		    s->root_directory != NULL ? s->root_directory : "", s->server);
		if (stat(path, &st) != 0)
			diag_error(d, conf_service_at(s, A_SERVER), "%s: server %s: %s", s->id,
			    path, strerror(errno));
		else if (!S_ISREG(st.st_mode) || access(path, X_OK) != 0)
			diag_error(d, conf_service_at(s, A_SERVER),
			    "%s: server %s is not an executable file", s->id, path);
	}
	if ((s->flags & F_NAMEINARGS) && s->server_args.n == 0)
		diag_error(d, where(s, A_FLAGS), "%s: NAMEINARGS needs server_args (argv[0] first)",
		    s->id);
}

static bool
parse_id(const char *v, unsigned long *out)
{
	unsigned long long n;

	if (!util_parse_uint(v, 0x7fffffff, &n))
		return false;
	*out = (unsigned long)n;
	return true;
}

/* A user or group, a name or a number; false when there is none. */
static bool
check_id(const char *v, bool group, unsigned *out)
{
	unsigned long n;

	if (parse_id(v, &n)) {
		*out = (unsigned)n;
		return true;
	}
	if (group) {
		const struct group *gr = getgrnam(v);

		if (gr != NULL)
			*out = (unsigned)gr->gr_gid;
		return gr != NULL;
	} else {
		const struct passwd *pw = getpwnam(v);

		if (pw != NULL)
			*out = (unsigned)pw->pw_uid;
		return pw != NULL;
	}
}

static void
check_credentials(struct service_config *s, struct diag *d)
{
	unsigned long n;

	if (!conf_service_has(s, A_USER)) {
		/* Builtins and relays run inside porterd. */
		if (!is_internal(s) && !conf_service_has(s, A_REDIRECT) && missing(s, A_USER))
			diag_error(d, s->loc, "%s: missing attribute user", s->id);
	} else if (parse_id(s->user, &n)) {
		/* As in xinetd, a numeric user is also the group. */
		s->uid = (uid_t)n;
		s->gid = (gid_t)n;
		s->have_uid = s->have_gid = true;
		if (s->groups && getpwuid(s->uid) == NULL)
			diag_error(d, where(s, A_GROUPS),
			    "%s: groups = yes needs a user in the password database, and uid %s has none",
			    s->id, s->user);
	} else {
		struct passwd *pw = getpwnam(s->user);

		if (pw == NULL)
			diag_error(d, conf_service_at(s, A_USER), "%s: user %s does not exist",
			    s->id, s->user);
		else {
			s->uid = pw->pw_uid;
			s->gid = pw->pw_gid;
			s->have_uid = s->have_gid = true;
		}
	}
	if (conf_service_has(s, A_GROUP)) {
		unsigned gid;

		if (check_id(s->group, true, &gid)) {
			s->gid = (gid_t)gid;
			s->have_gid = true;
		} else
			diag_error(d, conf_service_at(s, A_GROUP), "%s: group %s does not exist",
			    s->id, s->group);
	}
}

/* bind = unix:PATH or unix:@NAME: the path, its owner and mode, and the
 * peer rules, resolved. */
static void
check_unix(struct service_config *s, struct diag *d)
{
	static const enum attr_id lists[4] = { A_ONLY_UID, A_ONLY_GID, A_NO_UID, A_NO_GID };
	const struct strv *v[4] = { &s->only_uid, &s->only_gid, &s->no_uid, &s->no_gid };
	const char *path = s->bind + 5;
	struct sockaddr_un sun;
	unsigned id;

	s->family = s->family_conf = AF_UNIX;
	free(s->unix_path);
	s->unix_path = mem_strdup(path);
	if (path[0] != '/' && path[0] != '@')
		diag_error(d, conf_service_at(s, A_BIND),
		    "%s: bind = unix:%s: expected an absolute path, or @ and a name for the abstract namespace",
		    s->id, path);
	else if (strlen(path) >= sizeof(sun.sun_path) || strlen(path) < 2)
		diag_error(d, conf_service_at(s, A_BIND),
		    "%s: bind = unix:%s: a socket path has 1 to %zu characters", s->id, path,
		    sizeof(sun.sun_path) - 1);
	else if (path[0] == '/') {
		char *dir = mem_strdup(path);
		struct stat st;

		*strrchr(dir, '/') = '\0';
		if (stat(dir[0] != '\0' ? dir : "/", &st) != 0)
			diag_error(d, conf_service_at(s, A_BIND), "%s: bind = unix:%s: %s: %s",
			    s->id, path, dir, strerror(errno));
		else if (st.st_mode & S_IWOTH)
			diag_warn(d, conf_service_at(s, A_BIND),
			    "%s: bind = unix:%s: %s is writable by others, who may replace the socket",
			    s->id, path, dir);
		free(dir);
	}
	if (s->socket_user != NULL) {
		if (check_id(s->socket_user, false, &id))
			s->socket_uid = (uid_t)id;
		else
			diag_error(d, conf_service_at(s, A_SOCKET_USER),
			    "%s: socket_user %s does not exist", s->id, s->socket_user);
	}
	if (s->socket_group != NULL) {
		if (check_id(s->socket_group, true, &id))
			s->socket_gid = (gid_t)id;
		else
			diag_error(d, conf_service_at(s, A_SOCKET_GROUP),
			    "%s: socket_group %s does not exist", s->id, s->socket_group);
	}
	for (int k = 0; k < 4; k++) {
		free(s->ids[k]);
		s->ids[k] = NULL;
		if (v[k]->n == 0)
			continue;
		s->ids[k] = mem_alloc(sizeof(*s->ids[k]) + v[k]->n * sizeof(unsigned));
		s->ids[k]->n = 0;
		for (size_t i = 0; i < v[k]->n; i++) {
			if (check_id(v[k]->v[i], k == IDS_ONLY_GID || k == IDS_NO_GID, &id))
				s->ids[k]->v[s->ids[k]->n++] = id;
			else
				diag_error(d, conf_service_at(s, lists[k]), "%s: %s: no %s \"%s\"",
				    s->id, conf_attr_name(lists[k]),
				    k == IDS_ONLY_GID || k == IDS_NO_GID ? "group" : "user",
				    v[k]->v[i]);
		}
	}
	if (is_internal(s) && s->socket_type != SOCK_STREAM)
		diag_error(d, where(s, A_SOCKET_TYPE),
		    "%s: on a Unix socket the internal services are stream services (a datagram's sender may have no name to answer)",
		    s->id);
	if (attr_set_has(&s->own, A_ONLY_FROM) || attr_set_has(&s->own, A_NO_ACCESS) ||
	    (s->flags & F_IDONLY) || attr_set_has(&s->own, A_LIBWRAP))
		diag_error(d, s->loc,
		    "%s: only_from, no_access, libwrap and IDONLY judge addresses; a Unix socket's clients have credentials (only_uid, only_gid, no_uid, no_gid)",
		    s->id);
}

static void
check_port(struct service_config *s, struct diag *d)
{
	struct servent *se;

	if (is_tcpmux_client(s)) {
		/* Reached through tcpmux, with no listener of its own. */
		if (s->socket_type != SOCK_STREAM)
			diag_error(d, where(s, A_SOCKET_TYPE),
			    "%s: type TCPMUX needs socket_type = stream (tcpmux is a TCP service)",
			    s->id);
		else if (s->wait != 0)
			diag_error(d, where(s, A_WAIT),
			    "%s: type TCPMUX needs wait = no (the server gets the connection tcpmux took)",
			    s->id);
		return;
	}
	if (refused(s, A_TYPE) || refused(s, A_PORT))
		return;
	if (is_unix(s)) {
		if (s->port >= 0)
			diag_error(d, conf_service_at(s, A_PORT),
			    "%s: port does not go with bind = %s, a Unix socket", s->id, s->bind);
		return;
	}
	if (s->type & T_UNLISTED) {
		if (s->port < 0)
			diag_error(d, s->loc,
			    "%s: missing attribute port (needed with type = UNLISTED)", s->id);
		return;
	}
	se = getservbyname(s->name, proto_name(s->protocol));
	if (se == NULL && s->from_inetd) {
		diag_error(d, s->loc,
		    "%s: service %s is not in /etc/services for %s; write the port number instead of the name",
		    s->id, s->name, proto_name(s->protocol));
		return;
	}
	if (se == NULL) {
		diag_error(d, s->loc,
		    "%s: service %s is not in /etc/services for %s; add type = UNLISTED and a port",
		    s->id, s->name, proto_name(s->protocol));
		return;
	}
	if (s->port >= 0 && s->port != ntohs((uint16_t)se->s_port)) {
		diag_error(d, conf_service_at(s, A_PORT),
		    "%s: /etc/services gives %s port %d, not %d; add type = UNLISTED to use another port",
		    s->id, s->name, ntohs((uint16_t)se->s_port), s->port);
		return;
	}
	s->port = ntohs((uint16_t)se->s_port);
}

static void
check_address(struct service_config *s, struct diag *d)
{
	bool v4 = s->flags & F_IPV4, v6 = s->flags & F_IPV6;

	if (v4 && v6) {
		diag_warn(d, conf_service_at(s, A_FLAGS),
		    "%s: flags IPv4 and IPv6 together give one dual-stack IPv6 socket", s->id);
		v4 = false;
	}
	s->family = v4 ? AF_INET : AF_INET6;
	s->bind_len = 0;
	if (is_unix(s)) {
		check_unix(s, d);
		return;
	}
	for (int a = A_SOCKET_MODE; a <= A_SOCKET_GROUP; a++)
		if (attr_set_has(&s->own, a))
			diag_warn(d, conf_service_at(s, (enum attr_id)a),
			    "%s: %s applies to Unix sockets (bind = unix:PATH) only", s->id,
			    conf_attr_name((enum attr_id)a));
	for (int a = A_ONLY_UID; a <= A_NO_GID; a++)
		if (attr_set_has(&s->own, a))
			diag_error(d, conf_service_at(s, (enum attr_id)a),
			    "%s: %s judges the clients of a Unix socket (bind = unix:PATH); this service listens on %s",
			    s->id, conf_attr_name((enum attr_id)a),
			    s->protocol == IPPROTO_UDP ? "UDP" : "TCP");
	if (conf_service_has(s, A_BIND)) {
		struct addrinfo hints = { 0 }, *res = NULL;
		int e;

		hints.ai_family = v4 ? AF_INET : v6 ? AF_INET6 : AF_UNSPEC;
		hints.ai_socktype = s->socket_type;
		hints.ai_flags = AI_PASSIVE;
		e = getaddrinfo(s->bind, NULL, &hints, &res);
		if (e == 0 && res != NULL && res->ai_addrlen > sizeof(s->bind_addr))
			e = EAI_FAMILY; /* neither IPv4 nor IPv6 */
		if (e != 0 || res == NULL) {
			diag_error(d, conf_service_at(s, A_BIND), "%s: bind %s: %s%s", s->id,
			    s->bind,
			    e == EAI_ADDRFAMILY || e == EAI_NONAME || e == EAI_NODATA ?
			        "no address" :
			        gai_strerror(e),
			    v4     ? " for IPv4" :
			        v6 ? " for IPv6" :
			             "");
			if (res != NULL)
				freeaddrinfo(res);
			return;
		}
		memcpy(&s->bind_addr, res->ai_addr, res->ai_addrlen);
		s->bind_len = res->ai_addrlen;
		s->family = res->ai_family;
		freeaddrinfo(res);
	}
	s->family_conf = s->family;
	if (conf_service_has(s, A_V6ONLY) && attr_set_has(&s->own, A_V6ONLY) &&
	    s->family == AF_INET)
		diag_warn(d, conf_service_at(s, A_V6ONLY),
		    "%s: v6only has no effect on an IPv4 socket", s->id);
}

static void
check_files(struct service_config *s, struct diag *d)
{
	static const enum attr_id banners[] = { A_BANNER, A_BANNER_SUCCESS, A_BANNER_FAIL };
	const char *paths[] = { s->banner, s->banner_success, s->banner_fail };

	for (size_t i = 0; i < 3; i++) {
		if (paths[i] != NULL && access(paths[i], R_OK) != 0)
			diag_error(d, conf_service_at(s, banners[i]), "%s: %s %s: %s", s->id,
			    conf_attr_name(banners[i]), paths[i], strerror(errno));
	}
}

#define CONF_ID_MAX 4096 /* characters of an id */

/* Combinations that would do something other than what they seem to. */
static void
check_guards(struct service_config *s, struct diag *d)
{
	if (strlen(s->id) > CONF_ID_MAX)
		diag_error(d, s->loc, "%.32s...: an id is at most %d characters", s->id,
		    CONF_ID_MAX);
	if (is_tcpmux_client(s) && conf_service_has(s, A_REDIRECT))
		diag_error(d, conf_service_at(s, A_REDIRECT),
		    "%s: a TCPMUX service is started for its client and cannot redirect; give it a server",
		    s->id);
	if ((s->flags & F_SENSOR) && s->socket_type == SOCK_DGRAM)
		diag_error(d, conf_service_at(s, A_FLAGS),
		    "%s: SENSOR needs a stream service: one forged datagram would deny any address on every service",
		    s->id);
	if (s->wait == 1 && s->socket_type == SOCK_STREAM &&
	    (attr_set_has(&s->own, A_ONLY_FROM) || attr_set_has(&s->own, A_NO_ACCESS)))
		diag_warn(d,
		    conf_service_at(s,
		        attr_set_has(&s->own, A_ONLY_FROM) ? A_ONLY_FROM : A_NO_ACCESS),
		    "%s: only_from and no_access do not apply to a wait = yes stream service: its server accepts the clients itself",
		    s->id);
}

/* The PROXY header: read on stream connections porterd accepts itself,
 * from the balancers of proxy_from. Set in the defaults, it applies to
 * the services it can apply to and is dropped from the others. */
static void
check_proxy(struct service_config *s, struct diag *d)
{
	bool own = attr_set_has(&s->own, A_PROXY_PROTOCOL);
	const char *cannot = NULL;

	if (conf_service_has(s, A_REDIRECT_PROXY) && !conf_service_has(s, A_REDIRECT) &&
	    attr_set_has(&s->own, A_REDIRECT_PROXY))
		diag_error(d, conf_service_at(s, A_REDIRECT_PROXY),
		    "%s: redirect_proxy sends a header to the redirect target, and this service has no redirect",
		    s->id);
	if (s->proxy_protocol == 0 && !conf_service_has(s, A_PROXY_FROM))
		return;
	if (s->socket_type == SOCK_DGRAM)
		cannot = "PROXY headers come on stream connections, not datagrams";
	else if (s->wait == 1)
		cannot =
		    "a wait = yes server accepts its clients itself, so porterd cannot read their headers";
	else if (is_tcpmux_client(s))
		cannot =
		    "set it on the tcpmux service, which reads the header before the service name";
	if (cannot != NULL) {
		if (own)
			diag_error(d, conf_service_at(s, A_PROXY_PROTOCOL),
			    "%s: proxy_protocol: %s", s->id, cannot);
		s->proxy_protocol = 0;
		return;
	}
	if (s->proxy_protocol != 0 && s->proxy_from.n == 0)
		diag_error(d, conf_service_at(s, A_PROXY_PROTOCOL),
		    "%s: proxy_protocol needs proxy_from, the addresses of the balancers that send the header",
		    s->id);
	else if (s->proxy_protocol == 0 && attr_set_has(&s->own, A_PROXY_FROM))
		diag_error(d, conf_service_at(s, A_PROXY_FROM),
		    "%s: proxy_from without proxy_protocol; say which header version the balancers send (v1, v2 or any)",
		    s->id);
}

/* TLS: on stream connections porterd accepts itself. Set in the
 * defaults, it applies where it can and is dropped elsewhere; the
 * certificates are read here, so that a bad one is an error of the
 * configuration, at -t and at a reload alike. */
static void
check_tls(struct service_config *s, struct diag *d)
{
	struct loc at = conf_service_at(s, A_TLS);
	const char *cannot = NULL;

	if (!s->tls) {
		for (int a = A_TLS_CERTIFICATE; a <= A_TLS_HANDSHAKE_TIMEOUT; a++)
			if (attr_set_has(&s->own, a)) {
				diag_warn(d, conf_service_at(s, (enum attr_id)a),
				    "%s: %s does nothing without tls = yes", s->id,
				    conf_attr_name((enum attr_id)a));
				break;
			}
		return;
	}
	if (s->socket_type == SOCK_DGRAM)
		cannot =
		    "TLS runs over stream connections; datagram services (DTLS) are not supported";
	else if (s->wait == 1)
		cannot =
		    "a wait = yes server accepts its clients itself, so porterd cannot hold their TLS sessions";
	else if (s->listen_fds)
		cannot = "with listen_fds the server accepts its clients itself";
	else if (is_tcpmux_client(s))
		cannot =
		    "set it on the tcpmux service, which reads the service name inside the session";
	if (cannot != NULL) {
		if (attr_set_has(&s->own, A_TLS))
			diag_error(d, at, "%s: tls: %s", s->id, cannot);
		s->tls = false;
		return;
	}
	/* A refused tls line was said already; what follows from it is not. */
	for (int a = A_TLS; a <= A_TLS_HANDSHAKE_TIMEOUT; a++)
		if (attr_set_has(&s->refused, a))
			return;
	if (s->tls_certificate.n == 0 || s->tls_key.n == 0) {
		diag_error(d, at, "%s: tls = yes needs tls_certificate and tls_key", s->id);
		return;
	}
	if (s->tls_certificate.n != s->tls_key.n) {
		diag_error(d, conf_service_at(s, A_TLS_KEY),
		    "%s: %zu tls_certificate files and %zu tls_key files; they pair up in order",
		    s->id, s->tls_certificate.n, s->tls_key.n);
		return;
	}
	if (s->tls_verify_client != TLS_VERIFY_NO && s->tls_client_ca == NULL) {
		diag_error(d, conf_service_at(s, A_TLS_VERIFY_CLIENT),
		    "%s: tls_verify_client needs tls_client_ca, the CA certificates to verify clients with",
		    s->id);
		return;
	}
	if (s->tls_client_ca != NULL && s->tls_verify_client == TLS_VERIFY_NO)
		diag_warn(d, conf_service_at(s, A_TLS_CLIENT_CA),
		    "%s: tls_client_ca is not used unless tls_verify_client is optional or yes",
		    s->id);
	s->tls_ctx = tls_ctx_new(s, d);
}

/* Per-connection and service-wide cgroup limits: for the servers porterd
 * starts. Set in the defaults, they are dropped where there is no server;
 * a limit the host cannot apply is an error, not a limit silently
 * missing. The host is read once per check, when a service first asks. */
static void
check_cgroup(struct service_config *s, struct diag *d, struct cgroup_host *host)
{
	const char *cannot = NULL;

	if (is_internal(s))
		cannot = "a builtin service starts no server to limit";
	else if (conf_service_has(s, A_REDIRECT))
		cannot = "a redirect service starts no server to limit";
	for (int a = A_MEMORY_MAX; a <= A_SERVICE_PIDS_MAX; a++) {
		int c = cgroup_attr_ctl((enum attr_id)a);

		if (c < 0 || !conf_service_has(s, a))
			continue;
		if (cannot != NULL) {
			if (attr_set_has(&s->own, a))
				diag_error(d, conf_service_at(s, a), "%s: %s: %s", s->id,
				    conf_attr_name(a), cannot);
			attr_set_del(&s->has, a);
			continue;
		}
		if (host->version < 0)
			cgroup_probe(host);
		if (!host->usable[c])
			diag_error(d, conf_service_at(s, a),
			    "%s: %s needs the %s cgroup controller: %s", s->id, conf_attr_name(a),
			    cgroup_ctl_name((enum cgroup_ctl)c), host->why[c]);
	}
	if (cannot != NULL) {
		s->memory_max = 0;
		s->pids_max = 0;
		s->cpu_quota_us = s->cpu_period_us = 0;
		s->service_memory_max = 0;
		s->service_pids_max = 0;
	}
}

/* sandbox = strict: each part the service (or the defaults) does not set
 * itself, as if written on the sandbox line, so that -T shows it. */
static void
check_bundle(struct service_config *s)
{
	struct loc at = conf_service_at(s, A_SANDBOX);
	bool as_root = s->have_uid ? s->uid == 0 : geteuid() == 0;

	if (s->sandbox_bundle != SANDBOX_STRICT)
		return;
#define BUNDLE(a, ...) \
	do { \
		if (!conf_service_has(s, a)) { \
			__VA_ARGS__; \
			conf_service_set(s, a, at); \
		} \
	} while (0)
	BUNDLE(A_NO_NEW_PRIVS, s->no_new_privs = true);
	/* A server run as root may need its capabilities: porterctl security
	 * says it still has them. */
	if (!as_root)
		BUNDLE(A_CAPABILITIES, strv_clear(&s->capabilities));
	BUNDLE(A_PRIVATE_TMP, s->private_tmp = true);
	BUNDLE(A_PROTECT_SYSTEM, s->protect_system = PROTECT_STRICT);
	BUNDLE(A_PROTECT_HOME, s->protect_home = PROTECT_HOME_YES);
	BUNDLE(A_RESTRICT_ADDRESS_FAMILIES, strv_push(&s->restrict_address_families, "AF_UNIX");
	       strv_push(&s->restrict_address_families,
	           s->family == AF_INET6 ? "AF_INET6" : "AF_INET"));
	BUNDLE(A_SYSTEM_CALL_FILTER, strv_push(&s->system_call_filter, "@system-service"));
#undef BUNDLE
}

/* The sandbox confines a spawned server. Its filters are compiled and its
 * mounts planned here, once per load, because the child that applies them
 * shares porterd's memory and must not allocate. */
static void
check_sandbox(struct service_config *s, struct diag *d)
{
	sandbox_free(s->sandbox);
	s->sandbox = NULL;
	ns_plan_free(s->ns);
	s->ns = NULL;
	for (int a = A_NO_NEW_PRIVS; a <= A_HOSTNAME; a++)
		if (attr_set_has(&s->refused, a))
			return;
	if (is_internal(s) || conf_service_has(s, A_REDIRECT)) {
		for (int a = A_NO_NEW_PRIVS; a <= A_HOSTNAME; a++)
			if (attr_set_has(&s->own, a)) {
				diag_warn(d, conf_service_at(s, (enum attr_id)a),
				    "%s: %s only confines a spawned server", s->id,
				    conf_attr_name((enum attr_id)a));
				break;
			}
		return;
	}
	check_bundle(s);
	if (attr_set_has(&s->own, A_SYSTEM_CALL_ERROR) && s->system_call_filter.n == 0)
		diag_warn(d, conf_service_at(s, A_SYSTEM_CALL_ERROR),
		    "%s: system_call_error does nothing without system_call_filter", s->id);
	if (attr_set_has(&s->own, A_TMP_SIZE) && !s->private_tmp)
		diag_warn(d, conf_service_at(s, A_TMP_SIZE),
		    "%s: tmp_size does nothing without private_tmp", s->id);
	s->sandbox = sandbox_new(s, d);
	s->ns = ns_plan_new(s, d);
}

static void
check_misc(struct service_config *s, struct diag *d)
{
	if (s->log_type.kind == LOGT_FILE) {
		char *dir = mem_strdup(s->log_type.path);
		struct stat st;

		*strrchr(dir, '/') = '\0';
		if (dir[0] != '\0' && (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)))
			diag_error(d, where(s, A_LOG_TYPE),
			    "%s: log_type: no directory %s for the log file", s->id, dir);
		free(dir);
	}
	if ((s->flags & F_IDONLY) && !((s->log_on_success | s->log_on_failure) & L_USERID))
		diag_error(d, where(s, A_FLAGS),
		    "%s: IDONLY needs USERID in log_on_success or log_on_failure", s->id);
	if ((s->log_on_success & L_TRAFFIC) && attr_set_has(&s->own, A_LOG_ON_SUCCESS) &&
	    !conf_service_has(s, A_REDIRECT))
		diag_warn(d, conf_service_at(s, A_LOG_ON_SUCCESS),
		    "%s: TRAFFIC is only logged for redirect services", s->id);
	if (conf_service_has(s, A_DENY_TIME) && !(s->flags & F_SENSOR))
		diag_warn(d, conf_service_at(s, A_DENY_TIME),
		    "%s: deny_time only applies with flags = SENSOR", s->id);
	if (s->listen_fds && s->wait != 1)
		diag_error(d, conf_service_at(s, A_LISTEN_FDS), "%s: listen_fds needs wait = yes",
		    s->id);
	if (conf_service_has(s, A_REDIRECT_IDLE) && attr_set_has(&s->own, A_REDIRECT_IDLE) &&
	    !conf_service_has(s, A_REDIRECT))
		diag_warn(d, conf_service_at(s, A_REDIRECT_IDLE),
		    "%s: redirect_idle only applies to redirect services", s->id);
	if (conf_service_has(s, A_PER_SOURCE) && attr_set_has(&s->own, A_PER_SOURCE) &&
	    s->wait == 1)
		diag_warn(d, conf_service_at(s, A_PER_SOURCE),
		    "%s: per_source has no effect with wait = yes", s->id);
}

bool
conf_check_binds_any(const struct service_config *s)
{
	static const uint8_t zero[16];

	if (s->bind_len == 0)
		return true;
	if (s->bind_addr.sa.sa_family == AF_INET)
		return memcmp(&s->bind_addr.sin.sin_addr, zero, 4) == 0;
	return memcmp(&s->bind_addr.sin6.sin6_addr, zero, 16) == 0;
}

/* Whether s is a dual-stack IPv6 wildcard, which takes IPv4 as well. */
static bool
binds_dual(const struct service_config *s)
{
	return s->family == AF_INET6 && !s->v6only && conf_check_binds_any(s);
}

/* Two listeners clash when they would bind the same protocol and port on
 * overlapping addresses: bind() would fail for the second. */
static bool
listeners_clash(const struct service_config *a, const struct service_config *b)
{
	/* Unix sockets: one path, whatever the type. */
	if (a->family == AF_UNIX || b->family == AF_UNIX)
		return a->family == b->family && a->unix_path != NULL && b->unix_path != NULL &&
		    strcmp(a->unix_path, b->unix_path) == 0;
	if (a->protocol != b->protocol || a->port != b->port)
		return false;
	if (binds_dual(a) || binds_dual(b))
		return true;
	if (a->family != b->family)
		return false;
	if (conf_check_binds_any(a) || conf_check_binds_any(b))
		return true;
	if (a->family == AF_INET)
		return memcmp(&a->bind_addr.sin.sin_addr, &b->bind_addr.sin.sin_addr, 4) == 0;
	return memcmp(&a->bind_addr.sin6.sin6_addr, &b->bind_addr.sin6.sin6_addr, 16) == 0;
}

/* Two entries that would listen on the same socket: an error for the
 * later one, unless both have the same id. That is one service written
 * twice (xinetd's echo and echo-udp files, both enabled, say): xinetd
 * serves the first, and so does porter, with a warning. An entry with an
 * error may have no address or port yet. */
static void
check_clashes(struct config *cf, struct diag *d)
{
	size_t n = 0;

	for (size_t i = 0; i < cf->nsvc; i++) {
		struct service_config *s = cf->svc[i];
		const struct service_config *o = NULL;

		for (size_t j = 0; j < n && o == NULL && s->fault == NULL && !is_tcpmux_client(s);
		     j++)
			if (!is_tcpmux_client(cf->svc[j]) && cf->svc[j]->fault == NULL &&
			    listeners_clash(s, cf->svc[j]))
				o = cf->svc[j];
		if (o != NULL && s->family == AF_UNIX) {
			d->svc = s;
			diag_error(d, s->loc, "%s: unix:%s is already used by %s at %s:%d", s->id,
			    s->unix_path, o->id, o->loc.file, o->loc.line);
			d->svc = NULL;
			cf->svc[n++] = s;
			continue;
		}
		if (o != NULL && strcmp(o->id, s->id) == 0) {
			diag_warn(d, s->loc,
			    "%s: the same service as at %s:%d (same id, %s port %d); this entry is ignored",
			    s->id, o->loc.file, o->loc.line, proto_name(s->protocol), s->port);
			conf_service_free(s);
			continue;
		}
		if (o != NULL) {
			d->svc = s;
			diag_error(d, s->loc, "%s: %s port %d is already used by %s at %s:%d",
			    s->id, proto_name(s->protocol), s->port, o->id, o->loc.file,
			    o->loc.line);
			d->svc = NULL;
		}
		cf->svc[n++] = s;
	}
	cf->nsvc = n;
}

/* Ids name services in logs, reloads and porterctl, so each is made
 * unique: xinetd serves entries that share an id when they listen apart
 * (its sample.conf has two telnet entries with different bind addresses),
 * and porter serves them too, the later ones as ID-2, ID-3 ... A TCPMUX
 * service is found by its name, so two of them would be one too many. */
static void
check_ids(struct config *cf, struct diag *d)
{
	for (size_t i = 0; i < cf->nsvc; i++) {
		struct service_config *s = cf->svc[i];
		const struct service_config *o = NULL;
		unsigned k = 2;
		char *id = NULL;

		for (size_t j = 0; j < i && o == NULL; j++)
			if (strcmp(cf->svc[j]->id, s->id) == 0)
				o = cf->svc[j];
		if (o == NULL)
			continue;
		if (is_tcpmux_client(s) && is_tcpmux_client(o)) {
			d->svc = s;
			diag_error(d, where(s, A_ID),
			    "duplicate TCPMUX service %s (first at %s:%d); give one of them another name",
			    s->id, o->loc.file, o->loc.line);
			d->svc = NULL;
			continue;
		}
		do {
			free(id);
			id = mem_asprintf("%s-%u", s->id, k++);
		} while (conf_find_id(cf, id) != NULL);
		diag_warn(d, where(s, A_ID),
		    "%s: the id is also used at %s:%d; this entry is served as %s (give it an id of its own)",
		    s->id, o->loc.file, o->loc.line, id);
		free(s->id);
		s->id = id;
	}
}

void
conf_check(struct config *cf, struct diag *d)
{
	struct cgroup_host *host = mem_alloc(sizeof(*host));

	host->version = -1; /* not read yet */
	for (size_t i = 0; i < cf->nsvc; i++) {
		struct service_config *s = cf->svc[i];

		d->svc = s;
		size_t mine = d->errors;

		check_kind(s, d);
		if (d->errors != mine || (s->broken && (s->socket_type == 0 || s->wait < 0)))
			continue; /* the rest depends on the kind */
		check_program(s, d);
		check_credentials(s, d);
		/* A wrong kind of program gives a wrong port too. */
		if (d->errors == mine) {
			check_port(s, d);
			check_address(s, d);
		}
		check_files(s, d);
		check_misc(s, d);
		check_guards(s, d);
		check_proxy(s, d);
		check_tls(s, d);
		check_cgroup(s, d, host);
		check_sandbox(s, d);
	}
	free(host);
	d->svc = NULL;
	for (size_t i = 0; i < cf->nsvc; i++) {
		bool mux = false;

		if (!is_tcpmux_client(cf->svc[i]))
			continue;
		for (size_t j = 0; j < cf->nsvc; j++)
			mux |= is_internal(cf->svc[j]) && strcmp(cf->svc[j]->name, "tcpmux") == 0;
		if (!mux)
			diag_warn(d, cf->svc[i]->loc,
			    "%s: TCPMUX services are reached through the internal tcpmux service, and none is enabled",
			    cf->svc[i]->id);
		break;
	}
	check_clashes(cf, d);
	check_ids(cf, d);
}
