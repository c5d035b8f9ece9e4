/*
 * spawn.c: starts a server. The parent prepares everything (argv, the
 * environment, credentials, limits) before vfork(), and the child runs one
 * function of plain system calls in a fixed order, then execs. Because the
 * child shares the parent's memory until it execs, it reports a failure by
 * writing into the context the parent reads as soon as vfork() returns: an
 * exec failure costs no pipe and is logged as what it is.
 */
#include <arpa/inet.h>
#include <sched.h>
#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "porterd.h"

#define VAR_LEN 80

#if defined(__SANITIZE_ADDRESS__)
#define SPAWN_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SPAWN_ASAN 1
#endif
#endif
#ifdef SPAWN_ASAN
#include <sanitizer/asan_interface.h>
#define SAN_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define SAN_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

struct spawn_ctx {
	const struct svc *svc;
	const struct cgroup_conn *cg; /* joined first, or NULL */
	int conn;                     /* fds 0, 1, 2, or -1 with listen_fds */
	int listen_fd;                /* fd 3 with listen_fds, else -1 */
	bool tcp_local;               /* fill TCPLOCALIP/TCPLOCALPORT in the child */
	bool ipc_path;                /* fill IPCREMOTEPATH in the child */
	char remote_path[sizeof("IPCREMOTEPATH=") + 108];
	char **envp;
	size_t nenv;
	char local_ip[VAR_LEN];
	char local_port[VAR_LEN];
	char listen_pid[VAR_LEN];
	volatile int err;
	const char *volatile stage;
};

/* The environment a server starts with: its service's variables, then the
 * per-connection ones. One array serves every service; spawn_env_reserve
 * sizes it at load time, so a connection allocates nothing. */
static char **envbuf;
static size_t envcap;

void
spawn_env_reserve(size_t nenv)
{
	size_t n = nenv + SPAWN_ENV_EXTRA + 1;

	if (n > envcap) {
		envbuf = mem_realloc(envbuf, n * sizeof(*envbuf));
		envcap = n;
	}
}

/* Decimal digits of v at the end of buf; returns the first digit. No
 * library call: this runs in the vfork child too. */
static char *
spawn_utoa(unsigned long v, char *end)
{
	*--end = '\0';
	do
		*--end = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	return end;
}

static void
spawn_setvar(char *buf, const char *name, const char *value)
{
	size_t n = strlen(name), m = strlen(value);

	if (n + m + 2 > VAR_LEN)
		m = VAR_LEN - n - 2;
	memcpy(buf, name, n);
	buf[n] = '=';
	memcpy(buf + n + 1, value, m);
	buf[n + 1 + m] = '\0';
}

static _Noreturn void
spawn_fail(struct spawn_ctx *c, const char *stage)
{
	c->err = errno;
	c->stage = stage;
	_exit(127);
}

/* The child: one fixed order, each step checked. */
static _Noreturn void
spawn_child(struct spawn_ctx *c)
{
	const struct svc *svc = c->svc;
	const struct service_config *s = svc->conf;
	sigset_t none;
	struct rlimit rl;
	const char *stage = NULL;
	char num[24];

	/* First, while still root: everything the server does from here on,
	 * and whatever it starts, is in its cgroup. */
	if (c->cg != NULL && cgroup_conn_join(c->cg) != 0)
		spawn_fail(c, "cgroup");
	/* Then its namespaces and mounts, which need root too. */
	if (ns_child(s->ns, &stage) != 0)
		spawn_fail(c, stage);
	if (setsid() < 0)
		spawn_fail(c, "setsid");
	if (c->conn >= 0) {
		for (int fd = 0; fd < 3; fd++)
			if (dup2(c->conn, fd) < 0)
				spawn_fail(c, "dup2");
	} else {
		for (int fd = 0; fd < 3; fd++)
			if (dup2(porter.devnull, fd) < 0)
				spawn_fail(c, "dup2");
		if (dup2(c->listen_fd, 3) < 0)
			spawn_fail(c, "dup2");
	}
	/* Everything porterd opens is close-on-exec; this is the guarantee. */
	close_range(c->listen_fd >= 0 ? 4 : 3, ~0u, 0);

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);

	if (c->tcp_local) {
		struct peer p;
		char ip[INET6_ADDRSTRLEN];

		p.len = sizeof(p.sa);
		if (getsockname(0, &p.sa.sa, &p.len) == 0) {
			peer_normalize(&p);
			peer_addr(&p, ip, sizeof(ip));
			spawn_setvar(c->local_ip, "TCPLOCALIP", ip);
			spawn_setvar(c->local_port, "TCPLOCALPORT",
			    spawn_utoa((unsigned long)peer_port(&p), num + sizeof(num)));
		}
	}
	if (c->ipc_path) {
		struct sockaddr_un sun;
		socklen_t len = sizeof(sun);

		/* A client bound to a name; an abstract one is written with @. */
		if (getpeername(0, (struct sockaddr *)&sun, &len) == 0 &&
		    len > offsetof(struct sockaddr_un, sun_path)) {
			size_t n = len - offsetof(struct sockaddr_un, sun_path);
			char *p = c->remote_path + sizeof("IPCREMOTEPATH=") - 1;

			memcpy(p, sun.sun_path, n);
			p[n] = '\0';
			if (p[0] == '\0')
				p[0] = '@';
		}
	}
	if (c->listen_fd >= 0)
		spawn_setvar(c->listen_pid, "LISTEN_PID",
		    spawn_utoa((unsigned long)getpid(), num + sizeof(num)));

	for (int r = 0; r < RL_MAX; r++) {
		static const int res[RL_MAX] = { RLIMIT_AS, RLIMIT_CPU, RLIMIT_DATA, RLIMIT_RSS,
			RLIMIT_STACK, RLIMIT_NOFILE };

		if (!conf_service_has(s, (enum attr_id)(A_RLIMIT_AS + r)))
			continue;
		rl.rlim_cur = rl.rlim_max =
		    s->rlimit[r] == LIMIT_UNLIMITED ? RLIM_INFINITY : (rlim_t)s->rlimit[r];
		if (setrlimit(res[r], &rl) != 0)
			spawn_fail(c, "setrlimit");
	}
	if (!conf_service_has(s, A_RLIMIT_FILES)) {
		rl.rlim_cur = porter.child_nofile_soft;
		rl.rlim_max = porter.child_nofile_hard;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (s->nice != 0) {
		errno = 0;
		if (nice(s->nice) == -1 && errno != 0)
			spawn_fail(c, "nice");
	}
	if (s->umask >= 0)
		umask((mode_t)s->umask);

	/* Raw system calls: glibc's wrappers would signal every thread of
	 * the process to change their credentials too, and in a vfork child
	 * those are the parent's resolver threads. */
	/* The bounding set is cut while the child still has the privilege
	 * to do it. */
	if (sandbox_child_before_creds(s->sandbox,
	        porter.root && !svc->keep_creds && s->have_uid && s->uid != 0, &stage) != 0)
		spawn_fail(c, stage);
	if (porter.root && !svc->keep_creds) {
		if (s->have_gid) {
			if (syscall(SYS_setgroups, (size_t)svc->ngroups, svc->groups) != 0)
				spawn_fail(c, "setgroups");
			if (syscall(SYS_setresgid, s->gid, s->gid, s->gid) != 0)
				spawn_fail(c, "setresgid");
		}
		if (s->have_uid && syscall(SYS_setresuid, s->uid, s->uid, s->uid) != 0)
			spawn_fail(c, "setresuid");
	}
	/* The seccomp filters come last, just before execve, which they
	 * allow. */
	if (sandbox_child_after_creds(s->sandbox, &stage) != 0)
		spawn_fail(c, stage);
	execve(svc->path, svc->argv, c->envp);
	spawn_fail(c, "exec");
}

/*
 * A server with namespaces is started by clone(), which creates them with
 * the process (a new PID namespace can only be entered that way), sharing
 * memory and suspending porterd until the exec as vfork() does. It runs on
 * a stack of its own, one for all: porterd waits for each child's exec.
 */
static _Alignas(16) char spawn_stack[64 * 1024];

static int
spawn_clone_main(void *arg)
{
	spawn_child(arg);
}

static pid_t
spawn_clone(struct spawn_ctx *c)
{
	struct ns_plan *ns = c->svc->conf->ns;

	if (ns_prepare(ns) != 0) {
		log_warn("%s: namespaces", c->svc->conf->id);
		return -1;
	}
	/* The last child's frames never returned: what the sanitizer marked
	 * in them is stale. */
	SAN_UNPOISON(spawn_stack, sizeof(spawn_stack));
	return clone(spawn_clone_main, spawn_stack + sizeof(spawn_stack),
	    CLONE_VM | CLONE_VFORK | SIGCHLD | ns_clone_flags(ns), c);
}

pid_t
spawn_server(struct svc *svc, int conn, const struct peer *peer, const struct origin *origin,
    const struct cgroup_conn *cg, int *exec_err)
{
	const struct service_config *s = svc->conf;
	struct spawn_ctx c;
	char vars[SPAWN_ENV_EXTRA][VAR_LEN];
	char tlvs[4][sizeof(origin->info.authority) + 20];
	char tlsvars[SPAWN_TLS_VARS][sizeof(origin->tls->sni) + 32];
	char fdnames[320];
	char addr[INET6_ADDRSTRLEN], num[24];
	size_t n = svc->nenv, v = 0;
	pid_t pid;

	memset(&c, 0, sizeof(c));
	c.svc = svc;
	c.cg = cg;
	c.conn = conn;
	c.listen_fd = -1;
	c.envp = envbuf;
	memcpy(envbuf, svc->env, svc->nenv * sizeof(*envbuf));
	*exec_err = 0;

	if (s->listen_fds) {
		c.conn = -1;
		c.listen_fd = conn;
		spawn_setvar(vars[v], "LISTEN_FDS", "1");
		envbuf[n++] = vars[v++];
		snprintf(fdnames, sizeof(fdnames), "LISTEN_FDNAMES=%s", s->id);
		envbuf[n++] = fdnames;
		spawn_setvar(c.listen_pid, "LISTEN_PID", "0");
		envbuf[n++] = c.listen_pid;
	}
	if (peer != NULL && peer_family(peer) == AF_UNIX) {
		/* Who the client is, as systemd and UCSPI's ipcserver say it. */
		static const char *const names[] = { "REMOTE_UID", "IPCREMOTEEUID", "REMOTE_GID",
			"IPCREMOTEEGID", "REMOTE_PID" };
		const unsigned long ids[] = { peer->uid, peer->uid, peer->gid, peer->gid,
			(unsigned long)peer->pid };

		for (int i = 0; i < (peer->pid > 0 ? 5 : 4); i++) {
			spawn_setvar(vars[v], names[i], spawn_utoa(ids[i], num + sizeof(num)));
			envbuf[n++] = vars[v++];
		}
		spawn_setvar(vars[v], "PROTO", "UNIX");
		envbuf[n++] = vars[v++];
		if (s->socket_type != SOCK_DGRAM) {
			c.ipc_path = true;
			memcpy(c.remote_path, "IPCREMOTEPATH=", sizeof("IPCREMOTEPATH="));
			envbuf[n++] = c.remote_path;
		}
	} else if (peer != NULL && peer_family(peer) != AF_UNSPEC) {
		const char *port = spawn_utoa((unsigned long)peer_port(peer), num + sizeof(num));

		peer_addr(peer, addr, sizeof(addr));
		spawn_setvar(vars[v], "REMOTE_HOST", addr);
		envbuf[n++] = vars[v++];
		spawn_setvar(vars[v], "REMOTE_ADDR", addr);
		envbuf[n++] = vars[v++];
		spawn_setvar(vars[v], "REMOTE_PORT", port);
		envbuf[n++] = vars[v++];
		if (s->socket_type == SOCK_STREAM) {
			spawn_setvar(vars[v], "PROTO", "TCP");
			envbuf[n++] = vars[v++];
			spawn_setvar(vars[v], "TCPREMOTEIP", addr);
			envbuf[n++] = vars[v++];
			spawn_setvar(vars[v], "TCPREMOTEPORT", port);
			envbuf[n++] = vars[v++];
			if (origin != NULL && origin->proxied && !origin->info.local) {
				/* The address the client connected to, at the
				 * balancer. */
				const struct peer *dst = &origin->info.dst;

				peer_addr(dst, addr, sizeof(addr));
				spawn_setvar(vars[v], "TCPLOCALIP", addr);
				envbuf[n++] = vars[v++];
				spawn_setvar(vars[v], "TCPLOCALPORT",
				    spawn_utoa((unsigned long)peer_port(dst), num + sizeof(num)));
				envbuf[n++] = vars[v++];
			} else if (origin != NULL && origin->tls != NULL) {
				/* The server has a socketpair: the address is
				 * the TLS connection's. */
				peer_addr(&origin->local, addr, sizeof(addr));
				spawn_setvar(vars[v], "TCPLOCALIP", addr);
				envbuf[n++] = vars[v++];
				spawn_setvar(vars[v], "TCPLOCALPORT",
				    spawn_utoa((unsigned long)peer_port(&origin->local),
				        num + sizeof(num)));
				envbuf[n++] = vars[v++];
			} else if (svc->local_ip_env != NULL) {
				/* Bound to one address: known at load time. */
				envbuf[n++] = svc->local_ip_env;
				envbuf[n++] = svc->local_port_env;
			} else {
				/* The child fills these in from getsockname(). */
				c.tcp_local = true;
				spawn_setvar(c.local_ip, "TCPLOCALIP", "");
				envbuf[n++] = c.local_ip;
				spawn_setvar(c.local_port, "TCPLOCALPORT", "");
				envbuf[n++] = c.local_port;
			}
		}
	}
	if (origin != NULL && origin->tls != NULL) {
		const struct tls_info *t = origin->tls;
		const struct {
			const char *name;
			const char *value;
		} tv[SPAWN_TLS_VARS] = {
			{ "SSL_PROTOCOL", t->protocol },
			{ "SSL_CIPHER", t->cipher },
			{ "SSL_TLS_SNI", t->sni },
			{ "SSL_ALPN", t->alpn },
			{ "SSL_CLIENT_VERIFY", t->verify },
			{ "SSL_CLIENT_S_DN", t->s_dn },
			{ "SSL_CLIENT_I_DN", t->i_dn },
			{ "SSL_CLIENT_M_SERIAL", t->serial },
			{ "SSL_CLIENT_CERT_SHA256", t->sha256 },
		};

		for (int i = 0; i < SPAWN_TLS_VARS; i++)
			if (tv[i].value != NULL && tv[i].value[0] != '\0') {
				snprintf(tlsvars[i], sizeof(tlsvars[i]), "%s=%s", tv[i].name,
				    tv[i].value);
				envbuf[n++] = tlsvars[i];
			}
	}
	if (origin != NULL && origin->proxied) {
		const struct {
			const char *name;
			const char *value;
		} t[4] = {
			{ "PROXY_AUTHORITY", origin->info.authority },
			{ "PROXY_UNIQUE_ID", origin->info.unique_id },
			{ "PROXY_SSL_CN", origin->info.ssl_cn },
			{ "PROXY_ALPN", origin->info.alpn },
		};

		peer_addr(&origin->via, addr, sizeof(addr));
		spawn_setvar(vars[v], "PROXY_PEER", addr);
		envbuf[n++] = vars[v++];
		for (int i = 0; i < 4; i++)
			if (t[i].value[0] != '\0') {
				snprintf(tlvs[i], sizeof(tlvs[i]), "%s=%s", t[i].name, t[i].value);
				envbuf[n++] = tlvs[i];
			}
	}
	envbuf[n] = NULL;
	if (sandbox_has_filter(s->sandbox))
		sandbox_watch_kills();

	if (s->ns != NULL) {
		pid = spawn_clone(&c);
	} else {
		pid = vfork();
		if (pid == 0)
			spawn_child(&c);
	}
	if (pid < 0)
		return -1;
	if (c.stage != NULL) {
		*exec_err = c.err;
		log_warnx("%s: %s %s: %s", s->id, c.stage, svc->path, strerror(c.err));
	}
	return pid;
}
