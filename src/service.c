/*
 * service.c: the table of running services and reload. A reload is a
 * mark-and-sweep in the manner of inetd: a new entry whose id and socket
 * key match a running service takes over its listener and its running
 * servers; the others get new listeners; the services left unmarked close
 * theirs and their servers are told to stop. Everything the connection path
 * needs (argv, environment, groups) is prepared here, once per load.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>

#include "porterd.h"

struct service_config *const *service_broken;
size_t service_nbroken;
struct svc_head svc_list = STAILQ_HEAD_INITIALIZER(svc_list);
struct service_config *const *service_broken;
size_t service_nbroken;

/* Variables set per connection; a same-named one from the environment or
 * env would only confuse the server. */
static const char *const per_connection[] = {
	"REMOTE_HOST",
	"REMOTE_ADDR",
	"REMOTE_PORT",
	"PROTO",
	"TCPREMOTEIP",
	"TCPREMOTEPORT",
	"TCPLOCALIP",
	"TCPLOCALPORT",
	"LISTEN_FDS",
	"LISTEN_PID",
	"LISTEN_FDNAMES",
	"PROXY_PEER",
	"PROXY_AUTHORITY",
	"PROXY_UNIQUE_ID",
	"PROXY_SSL_CN",
	"PROXY_ALPN",
	"SSL_PROTOCOL",
	"SSL_CIPHER",
	"SSL_TLS_SNI",
	"SSL_ALPN",
	"SSL_CLIENT_VERIFY",
	"SSL_CLIENT_S_DN",
	"SSL_CLIENT_I_DN",
	"SSL_CLIENT_M_SERIAL",
	"SSL_CLIENT_CERT_SHA256",
	"REMOTE_UID",
	"REMOTE_GID",
	"REMOTE_PID",
	"IPCREMOTEEUID",
	"IPCREMOTEEGID",
	"IPCREMOTEPATH",
	"NOTIFY_SOCKET", /* porterd's own; a server must not answer to it */
	NULL,
};

static bool
env_is(const char *entry, const char *name)
{
	size_t n = strlen(name);

	return strncmp(entry, name, n) == 0 && entry[n] == '=';
}

static bool
env_per_connection(const char *entry)
{
	for (size_t i = 0; per_connection[i] != NULL; i++)
		if (env_is(entry, per_connection[i]))
			return true;
	return false;
}

/* Adds entry to env (of *n entries), replacing a same-named one. The entry
 * is not copied: it is porterd's own environment or the entry's env, which
 * live as long as the service. */
static void
env_put(char **env, size_t *n, char *entry)
{
	size_t len = strcspn(entry, "=");

	if (env_per_connection(entry))
		return;
	for (size_t i = 0; i < *n; i++) {
		if (strncmp(env[i], entry, len + 1) == 0) {
			env[i] = entry;
			return;
		}
	}
	env[(*n)++] = entry;
}

/* What a server of a service without passenv gets from porterd's own
 * environment: the search path, the time zone and the locale. Whatever
 * else porterd was started with (a shell's secrets, a session's sockets)
 * stays out unless passenv names it. */
static bool
env_in_base(const char *entry)
{
	static const char *const names[] = { "PATH", "TZ", "LANG", "LANGUAGE", NULL };

	for (size_t i = 0; names[i] != NULL; i++)
		if (env_is(entry, names[i]))
			return true;
	return strncmp(entry, "LC_", 3) == 0 && strchr(entry, '=') != NULL;
}

/* A PATH for servers when porterd has none. */
static char env_default_path[] =
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/* What a server of a service without env or passenv gets: the base
 * above, one array for all of them. */
static char **env_base;
static size_t env_nbase;

static size_t
env_count(char **env)
{
	size_t n = 0;

	while (env != NULL && env[n] != NULL)
		n++;
	return n;
}

#define SOURCES_MAX 4096 /* sources tracked per service for per_source */

/* Reads a banner file; it is sent from memory, never read per client. */
static void
svc_banner(struct svc *svc, int which, const char *path)
{
	char *buf;
	ssize_t n;
	int fd;
	struct stat st;

	free(svc->banner[which]);
	svc->banner[which] = NULL;
	svc->banner_len[which] = 0;
	if (path == NULL)
		return;
	/* porterd reads banners as root and sends them to anyone: a link, a
	 * file that is not regular, or one that neither root nor the
	 * service's user owns could hand out any file porterd can read. */
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) < 0) {
		log_warn("%s: banner %s", svc->conf->id, path);
		return;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    (st.st_uid != 0 && st.st_uid != geteuid() &&
	        !(svc->conf->have_uid && st.st_uid == svc->conf->uid))) {
		log_warnx(
		    "%s: banner %s: not a regular file of root or the service's user; not sent",
		    svc->conf->id, path);
		close(fd);
		return;
	}
	buf = mem_alloc(BANNER_MAX);
	n = read(fd, buf, BANNER_MAX);
	close(fd);
	if (n <= 0) {
		free(buf);
		return;
	}
	svc->banner[which] = buf;
	svc->banner_len[which] = (size_t)n;
}

/* hosts.allow and hosts.deny, as the last load read them. */
static struct wrap *svc_wrap;

const struct wrap *
service_wrap(void)
{
	return svc_wrap;
}

void
service_wrap_set(struct wrap *w)
{
	wrap_free(svc_wrap);
	svc_wrap = w;
}

/* The names a service has in hosts.allow and hosts.deny: its libwrap
 * attribute or its id, and its server's file name, as libwrap under
 * xinetd knew it; NOLIBWRAP leaves it out of them. */
static void
svc_wrap_names(struct svc *svc)
{
	const struct service_config *s = svc->conf;
	const char *base = s->server != NULL ? strrchr(s->server, '/') : NULL;

	free(svc->wrap_names[0]);
	free(svc->wrap_names[1]);
	svc->wrap_names[0] = mem_strdup(s->libwrap != NULL ? s->libwrap : s->id);
	svc->wrap_names[1] =
	    s->server != NULL ? mem_strdup(base != NULL ? base + 1 : s->server) : NULL;
	svc->wrap_names[2] = NULL;
	svc->wrapped = !(s->flags & F_NOLIBWRAP) &&
	    wrap_applies(svc_wrap, (const char *const *)svc->wrap_names);
}

/* The access list, the per-source tables and the banners. Counters that
 * running servers hold survive a reload. */
static void
svc_guards(struct svc *svc)
{
	const struct service_config *s = svc->conf;

	svc_wrap_names(svc);

	acl_free(svc->acl);
	svc->acl = NULL;
	if (conf_service_has(s, A_ONLY_FROM) || conf_service_has(s, A_NO_ACCESS))
		svc->acl =
		    acl_compile(&s->only_from, conf_service_has(s, A_ONLY_FROM), &s->no_access);
	acl_free(svc->proxy_acl);
	svc->proxy_acl = NULL;
	if (s->proxy_protocol != 0 && s->proxy_from.n > 0) {
		static const struct addrlist none;

		svc->proxy_acl = acl_compile(&s->proxy_from, true, &none);
	}
	/* Sized for the instances; a reload that raises them grows the
	 * table, keeping the slots running servers hold. */
	if (s->per_source != COUNT_UNLIMITED)
		svc->per_source = limits_count_grow(svc->per_source,
		    s->instances != COUNT_UNLIMITED && s->instances < SOURCES_MAX ?
		        (size_t)s->instances :
		        SOURCES_MAX);
	limits_rate_free(svc->src_rate);
	svc->src_rate = NULL;
	if (s->per_source_cps_rate > 0)
		svc->src_rate =
		    limits_rate_new(SOURCES_MAX, s->per_source_cps_rate, s->per_source_cps_burst);
	else if (svc->kind == SVC_INTERNAL && s->socket_type == SOCK_DGRAM)
		/* A builtin answers forged senders too: each source gets a
		 * small rate unless the service sets its own. */
		svc->src_rate = limits_rate_new(SOURCES_MAX, DGRAM_SOURCE_RATE, DGRAM_SOURCE_BURST);
	svc_banner(svc, BANNER, s->banner);
	svc_banner(svc, BANNER_SUCCESS, s->banner_success);
	svc_banner(svc, BANNER_FAIL, s->banner_fail);
}

static void
svc_prepare_free(struct svc *svc)
{
	if (svc->argv != NULL)
		for (char **a = svc->argv; *a != NULL; a++)
			free(*a);
	free(svc->argv);
	if (!svc->env_shared)
		free(svc->env);
	free(svc->groups);
	free(svc->local_ip_env);
	free(svc->local_port_env);
	svc->local_ip_env = svc->local_port_env = NULL;
	svc->argv = NULL;
	svc->env = NULL;
	svc->env_shared = false;
	svc->groups = NULL;
	svc->nenv = 0;
	svc->ngroups = 0;
}

/* Whether every group of a is in b. */
static bool
groups_within(const gid_t *a, int na, const gid_t *b, int nb)
{
	for (int i = 0; i < na; i++) {
		int j = 0;

		while (j < nb && b[j] != a[i])
			j++;
		if (j == nb)
			return false;
	}
	return true;
}

/*
 * What a spawned server would learn from a system call but porterd knows
 * at load time: that its credentials are porterd's own (then nothing needs
 * changing), and the local address of a listener bound to one address.
 */
static void
svc_prepare_fixed(struct svc *svc)
{
	const struct service_config *s = svc->conf;
	uid_t ru, eu, su;
	gid_t rg, eg, sg, cur[256];
	int nc;

	svc->keep_creds = false;
	if (porter.root && getresuid(&ru, &eu, &su) == 0 && getresgid(&rg, &eg, &sg) == 0 &&
	    (nc = getgroups(256, cur)) >= 0) {
		bool uid_same = !s->have_uid || (s->uid == ru && ru == eu && eu == su);
		bool gid_same = !s->have_gid ||
		    (s->gid == rg && rg == eg && eg == sg &&
		        groups_within(svc->groups, svc->ngroups, cur, nc) &&
		        groups_within(cur, nc, svc->groups, svc->ngroups));

		svc->keep_creds = uid_same && gid_same;
	}
	if (s->socket_type == SOCK_STREAM && !conf_check_binds_any(s)) {
		struct peer p;
		char a[INET6_ADDRSTRLEN];

		memcpy(&p.sa, &s->bind_addr, s->bind_len);
		p.len = s->bind_len;
		peer_normalize(&p);
		peer_addr(&p, a, sizeof(a));
		svc->local_ip_env = mem_asprintf("TCPLOCALIP=%s", a);
		svc->local_port_env = mem_asprintf("TCPLOCALPORT=%d", s->port);
	}
}

/* argv, the environment template and the groups of a spawned server. */
static void
svc_prepare(struct svc *svc)
{
	const struct service_config *s = svc->conf;
	size_t n = 0;

	svc_prepare_free(svc);
	svc->path = s->server;
	svc->argv = mem_calloc(s->server_args.n + 2, sizeof(char *));
	if (s->flags & F_NAMEINARGS) {
		for (size_t i = 0; i < s->server_args.n; i++)
			svc->argv[n++] = mem_strdup(s->server_args.v[i]);
	} else if (s->server != NULL) {
		const char *base = strrchr(s->server, '/');

		svc->argv[n++] = mem_strdup(base != NULL ? base + 1 : s->server);
		for (size_t i = 0; i < s->server_args.n; i++)
			svc->argv[n++] = mem_strdup(s->server_args.v[i]);
	}
	svc->argv[n] = NULL;

	if (!conf_service_has(s, A_PASSENV) && s->env.n == 0) {
		if (env_base == NULL) {
			env_base = mem_calloc(env_count(porter.environ0) + 2, sizeof(char *));
			env_put(env_base, &env_nbase, env_default_path);
			for (char **e = porter.environ0; e != NULL && *e != NULL; e++)
				if (env_in_base(*e))
					env_put(env_base, &env_nbase, *e);
		}
		svc->env = env_base;
		svc->nenv = env_nbase;
		svc->env_shared = true;
	} else {
		svc->env = mem_calloc(env_count(porter.environ0) + s->env.n + 2, sizeof(char *));
		/* Once passenv is given, only the variables it names pass, as
		 * in xinetd; without it, the base. */
		if (!conf_service_has(s, A_PASSENV))
			env_put(svc->env, &svc->nenv, env_default_path);
		for (char **e = porter.environ0; e != NULL && *e != NULL; e++) {
			bool pass = !conf_service_has(s, A_PASSENV) && env_in_base(*e);

			for (size_t i = 0; !pass && i < s->passenv.n; i++)
				pass = env_is(*e, s->passenv.v[i]);
			if (pass)
				env_put(svc->env, &svc->nenv, *e);
		}
		for (size_t i = 0; i < s->env.n; i++)
			env_put(svc->env, &svc->nenv, s->env.v[i]);
	}
	spawn_env_reserve(svc->nenv);

	if (porter.root && s->groups && s->have_gid && s->user != NULL) {
		struct passwd *pw = getpwuid(s->uid);
		int ng = 64;

		if (pw != NULL) {
			svc->groups = mem_calloc((size_t)ng, sizeof(gid_t));
			if (getgrouplist(pw->pw_name, s->gid, svc->groups, &ng) < 0) {
				svc->groups = mem_realloc(svc->groups, (size_t)ng * sizeof(gid_t));
				if (getgrouplist(pw->pw_name, s->gid, svc->groups, &ng) < 0)
					ng = 0;
			}
			svc->ngroups = ng;
		}
	}
	svc_prepare_fixed(svc);
}

static enum svc_kind
svc_kind_of(const struct service_config *s)
{
	if (s->flags & F_SENSOR)
		return SVC_SENSOR;
	if ((s->type & T_INTERNAL) && strcmp(s->name, "tcpmux") == 0)
		return SVC_TCPMUX;
	if (s->type & T_INTERNAL)
		return SVC_INTERNAL;
	if (s->type & (T_TCPMUX | T_TCPMUXPLUS))
		return SVC_TCPMUX_CLIENT;
	if (conf_service_has(s, A_REDIRECT))
		return SVC_REDIRECT;
	return SVC_SPAWN;
}

static void
svc_free_deferred(void *p)
{
	service_free(p);
}

static void
svc_resume_timer(void *arg)
{
	struct svc *svc = arg;

	service_resume(svc, PAUSE_EMFILE | PAUSE_CPS | PAUSE_RETRY);
}

static struct svc *
svc_new(struct service_config *s)
{
	struct svc *svc = mem_calloc(1, sizeof(*svc));

	svc->conf = s;
	svc->fd = -1;
	svc->lw.fd = -1;
	svc->lw.fn = client_ready;
	LIST_INIT(&svc->waiting);
	svc->lw.arg = svc;
	svc->resume.fn = svc_resume_timer;
	svc->resume.arg = svc;
	return svc;
}

void
service_free(struct svc *svc)
{
	if (svc == NULL)
		return;
	svc_prepare_free(svc);
	acl_free(svc->acl);
	acl_free(svc->proxy_acl);
	free(svc->wrap_names[0]);
	free(svc->wrap_names[1]);
	limits_count_free(svc->per_source);
	limits_rate_free(svc->src_rate);
	for (int i = 0; i < 3; i++)
		free(svc->banner[i]);
	free(svc);
}

static void
svc_update_watch(struct svc *svc)
{
	bool want = svc->fd >= 0 && svc->pause_why == 0 && !svc->removed;

	if (want && !svc->lw.armed)
		loop_watch(&svc->lw, EPOLLIN);
	else if (!want && svc->lw.armed)
		loop_unwatch(&svc->lw);
	svc->paused = svc->fd >= 0 && !want;
}

void
service_pause(struct svc *svc, unsigned why)
{
	svc->pause_why |= why;
	svc_update_watch(svc);
}

void
service_resume(struct svc *svc, unsigned why)
{
	svc->pause_why &= ~why;
	svc_update_watch(svc);
}

/* Closes the listener, or gives a socket porterd was given back to the
 * pool: porterd must not bind again what systemd holds. */
static void
svc_release_fd(struct svc *svc, bool keep_file)
{
	if (svc->fd >= 0 && svc->adopted)
		activate_return(svc->fd, svc->conf != NULL ? svc->conf->id : NULL);
	else if (svc->fd >= 0) {
		close(svc->fd);
		/* A Unix socket's file goes with it, unless another porterd
		 * now listens on that socket. */
		if (!keep_file && svc->conf != NULL)
			listener_unlink(svc->conf);
	}
	svc->fd = svc->lw.fd = -1;
	svc->adopted = false;
}

static void
svc_close(struct svc *svc, bool keep_file)
{
	loop_unwatch(&svc->lw);
	loop_timer_cancel(&svc->resume);
	loop_timer_cancel(&svc->fail_timer);
	svc_release_fd(svc, keep_file);
}

static void
svc_describe(const struct svc *svc, char *buf, size_t len)
{
	const struct service_config *s = svc->conf;
	char addr[INET6_ADDRSTRLEN] = "*";
	struct peer p;

	if (s->family == AF_UNIX) {
		snprintf(buf, len, "unix %s%s", s->unix_path,
		    s->socket_type == SOCK_DGRAM         ? " (dgram)" :
		        s->socket_type == SOCK_SEQPACKET ? " (seqpacket)" :
		                                           "");
		return;
	}
	if (s->bind_len > 0) {
		memcpy(&p.sa, &s->bind_addr, s->bind_len);
		p.len = s->bind_len;
		peer_addr(&p, addr, sizeof(addr));
	} else if (s->family == AF_INET6)
		snprintf(addr, sizeof(addr), "%s", s->v6only ? "[::]" : "*");
	snprintf(buf, len, "%s %s%s%s port %d", s->protocol == IPPROTO_UDP ? "udp" : "tcp",
	    strchr(addr, ':') != NULL && addr[0] != '[' ? "[" : "", addr,
	    strchr(addr, ':') != NULL && addr[0] != '[' ? "]" : "", s->port);
}

static bool
svc_open(struct svc *svc, bool quiet_inuse, char *err, size_t errlen)
{
	char where[128], how[256];
	int fd;

	if (svc->kind == SVC_TCPMUX_CLIENT || svc->disabled)
		return true;
	if ((fd = activate_take(svc->conf, how, sizeof(how))) >= 0) {
		svc_describe(svc, where, sizeof(where));
		svc->fd = svc->lw.fd = fd;
		svc->adopted = true;
		svc_update_watch(svc);
		log_info("%s: adopted %s, listening on %s", svc->conf->id, how, where);
		return true;
	}
	fd = listener_open(svc->conf, err, errlen);
	svc_describe(svc, where, sizeof(where));
	if (fd < 0) {
		if (!quiet_inuse)
			log_warnx("%s: %s: %s", svc->conf->id, where, err);
		return false;
	}
	svc->fd = svc->lw.fd = fd;
	svc_update_watch(svc);
	log_info("%s: listening on %s", svc->conf->id, where);
	return true;
}

/* What porterctl did to a service of that id among the old ones: a
 * reload that gives the service a new listener keeps it disabled or
 * held. */
static void
svc_operator_before(struct svc *svc, struct svc *const *old, size_t nold, const char *id)
{
	for (size_t i = 0; i < nold; i++)
		if (old[i]->conf != NULL && strcmp(old[i]->conf->id, id) == 0) {
			svc->disabled = old[i]->disabled;
			svc->pause_why |= old[i]->pause_why & PAUSE_HELD;
		}
}

int
service_apply(struct config *cf)
{
	struct svc_head fresh = STAILQ_HEAD_INITIALIZER(fresh);
	struct svc **later;
	size_t nlater = 0;
	bool failed = false;
	struct svc **old, *o;
	size_t nold = 0;
	char err[256];

	/* The new list takes over the links of the services it keeps:
	 * remember the old list as it is, and match against that. */
	STAILQ_FOREACH(o, &svc_list, link)
	nold++;
	old = mem_calloc(nold + 1, sizeof(*old));
	nold = 0;
	STAILQ_FOREACH(o, &svc_list, link)
	{
		o->mark = false;
		old[nold++] = o;
	}
	later = mem_calloc(cf->nsvc + 1, sizeof(*later));
	for (size_t i = 0; i < cf->nsvc; i++) {
		struct service_config *s = cf->svc[i];
		struct svc *svc = NULL;

		for (size_t j = 0; j < nold && svc == NULL; j++) {
			o = old[j];
			if (!o->mark && strcmp(o->conf->id, s->id) == 0 &&
			    svc_kind_of(o->conf) == svc_kind_of(s) && o->conf->wait == s->wait &&
			    listener_same(o->conf, s))
				svc = o;
		}
		if (svc != NULL) {
			svc->mark = true;
			/* The socket keeps the family it fell back to. */
			s->family = svc->conf->family;
			svc->conf = s;
			if (svc->fd >= 0)
				listener_tune(svc->fd, s);
			else if (svc->kind != SVC_TCPMUX_CLIENT && !svc->disabled)
				later[nlater++] = svc; /* it could not listen before */
		} else {
			svc = svc_new(s);
			svc->kind = svc_kind_of(s);
			svc_operator_before(svc, old, nold, s->id);
			if (svc->kind == SVC_INTERNAL)
				svc->internal = internal_find(s->name, s->socket_type);
			/* The port may still be held by a service this reload
			 * drops: try again once that one is closed. */
			if (!svc_open(svc, true, err, sizeof(err)))
				later[nlater++] = svc;
			svc->mark = true;
			svc->accepted = svc->refused = 0;
		}
		svc->kind = svc_kind_of(s);
		svc_prepare(svc);
		svc_guards(svc);
		STAILQ_INSERT_TAIL(&fresh, svc, link);
	}

	/* Sweep: what the new configuration no longer has. */
	for (size_t i = 0; i < nold; i++) {
		o = old[i];
		if (o->mark)
			continue;
		log_info("%s: removed; closing its listener", o->conf->id);
		svc_close(o, false);
		service_close_sessions(o);
		o->removed = true;
		o->conf = NULL;
		if (o->running > 0) {
			/* SIGTERM now, SIGKILL for what is left after a grace. */
			child_kill(o, SIGTERM);
			child_orphan(o);
		}
		/* An event of this round may still name its listener. */
		loop_defer_free(&o->dead, o, svc_free_deferred);
	}
	for (size_t i = 0; i < nlater; i++)
		if (!svc_open(later[i], false, err, sizeof(err)))
			failed = true;
	free(later);
	free(old);
	STAILQ_INIT(&svc_list);
	STAILQ_CONCAT(&svc_list, &fresh);
	service_broken = cf->broken;
	service_nbroken = cf->nbroken;
	internal_prepare();
	return failed ? -1 : 0;
}

void
service_take(struct svc *svc, const struct peer *peer, struct service_slot *slot)
{
	svc->running++;
	slot->counted = false;
	/* A wait = yes server serves every source at once. */
	if (peer != NULL && svc->per_source != NULL && svc->conf->wait != 1) {
		int family;
		const uint8_t *addr = peer_bytes(peer, &family);

		limits_srckey(&slot->key, family, addr, svc->conf->per_source_prefix4,
		    svc->conf->per_source_prefix6);
		slot->counted = limits_count_inc(svc->per_source, &slot->key);
	}
}

void
service_release(struct svc *svc, struct service_slot *slot)
{
	if (svc->running > 0)
		svc->running--;
	if (slot->counted && svc->per_source != NULL)
		limits_count_dec(svc->per_source, &slot->key);
	slot->counted = false;
}

void
service_close_sessions(const struct svc *svc)
{
	client_forget(svc);
	internal_close(svc);
	redirect_close(svc);
	tcpmux_close(svc);
	/* A service's sessions end when their servers do; at exit, all. */
	if (svc == NULL)
		tls_close_all();
}

void
service_close_all(bool handed_over)
{
	struct svc *s;

	STAILQ_FOREACH(s, &svc_list, link)
	svc_close(s, handed_over);
}

void
service_free_all(void)
{
	while (!STAILQ_EMPTY(&svc_list)) {
		struct svc *s = STAILQ_FIRST(&svc_list);

		svc_close(s, false);
		service_close_sessions(s);
		child_orphan(s);
		/* Off the list first: nothing may walk into freed memory. */
		STAILQ_REMOVE_HEAD(&svc_list, link);
		service_free(s);
	}
	free(env_base);
	env_base = NULL;
	env_nbase = 0;
	service_wrap_set(NULL);
	service_broken = NULL;
	service_nbroken = 0;
}

size_t
service_count(void)
{
	size_t n = 0;

	struct svc *s;

	STAILQ_FOREACH(s, &svc_list, link)
	n++;
	return n;
}

struct svc *
service_find(const char *id)
{
	struct svc *s;

	STAILQ_FOREACH(s, &svc_list, link)
	if (s->conf != NULL && strcmp(s->conf->id, id) == 0)
		return s;
	return NULL;
}

int
service_set_disabled(struct svc *svc, bool disabled, char *err, size_t errlen)
{
	if (svc->disabled == disabled)
		return 0;
	svc->disabled = disabled;
	if (disabled) {
		/* Clients in the queue are reset with it; what runs goes on.
		 * The pause timers stay: they find no listener to re-arm. */
		loop_unwatch(&svc->lw);
		svc_release_fd(svc, false);
		svc->paused = false;
		svc->backlog = 0;
		return 1;
	}
	if (!svc_open(svc, false, err, errlen))
		return -1;
	return 1;
}

bool
service_set_held(struct svc *svc, bool held)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	if (((svc->pause_why & PAUSE_HELD) != 0) == held)
		return false;
	if (held) {
		service_pause(svc, PAUSE_HELD);
		return true;
	}
	/* The clients queued now waited while the service was held: the
	 * accept path checks that each is still there. (A listening TCP
	 * socket's tcpi_unacked is the length of its accept queue.) */
	svc->backlog = 0;
	if (svc->fd >= 0 && svc->conf->socket_type == SOCK_STREAM &&
	    getsockopt(svc->fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0)
		svc->backlog = ti.tcpi_unacked;
	service_resume(svc, PAUSE_HELD);
	return true;
}

bool
service_up(const struct svc *svc)
{
	const struct svc *m;

	if (svc->disabled)
		return false;
	if (svc->kind != SVC_TCPMUX_CLIENT)
		return svc->fd >= 0;
	STAILQ_FOREACH(m, &svc_list, link)
	if (m->kind == SVC_TCPMUX && m->fd >= 0 && !m->disabled)
		return true;
	return false;
}

size_t
service_listening(void)
{
	const struct svc *svc;
	size_t n = 0;

	STAILQ_FOREACH(svc, &svc_list, link)
	n += service_up(svc);
	return n;
}
