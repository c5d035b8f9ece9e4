/*
 * activate.c: listening sockets porterd is given instead of binding them:
 * systemd's socket activation (sd_listen_fds(3): LISTEN_PID, LISTEN_FDS
 * from fd 3 on, LISTEN_FDNAMES) and the sockets a restart hands over. They
 * wait in a pool until a service takes one, by name first, then by address
 * (listener.c decides whether a socket is the one a service would bind).
 * A service that closes a socket it was given puts it back, so a reload or
 * an enable finds it again instead of binding what someone else holds.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>
#include <sys/un.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "porterd.h"

#define LISTEN_FDS_START 3
#define LISTEN_FDS_MAX 4096

struct given {
	int fd;
	char *name; /* NULL: unnamed */
	char *from; /* "systemd", "pid N" */
	bool fresh; /* given at start and not taken yet */
	bool named; /* its name is a service's id (activate_expect) */
	bool unfit; /* named for a service that could not use it */
};

static struct given *pool;
static size_t npool;

void
activate_add(int fd, const char *name, const char *from)
{
	struct given *g;

	pool = mem_realloc(pool, (npool + 1) * sizeof(*pool));
	g = &pool[npool++];
	memset(g, 0, sizeof(*g));
	g->fd = fd;
	g->name = name != NULL && name[0] != '\0' ? mem_strdup(name) : NULL;
	g->from = mem_strdup(from);
	g->fresh = true;
	fcntl(fd, F_SETFD, FD_CLOEXEC);
}

static void
activate_drop(size_t i)
{
	free(pool[i].name);
	free(pool[i].from);
	pool[i] = pool[--npool];
}

void
activate_init(void)
{
	const char *fds = getenv("LISTEN_FDS"), *pid = getenv("LISTEN_PID");
	const char *names = getenv("LISTEN_FDNAMES");
	unsigned long long n = 0, p = 0;
	char *copy = names != NULL ? mem_strdup(names) : NULL, *next = copy;

	if (fds == NULL) {
		free(copy);
		goto out;
	}
	/* The variables may be left over from a parent systemd started:
	 * only the process they name may take the descriptors. */
	if (pid == NULL || !util_parse_uint(pid, INT32_MAX, &p) || (pid_t)p != getpid()) {
		log_info("LISTEN_FDS is for pid %s, not for this porterd (%d); ignored",
		    pid != NULL ? pid : "(none)", (int)getpid());
		free(copy);
		goto out;
	}
	if (!util_parse_uint(fds, LISTEN_FDS_MAX, &n)) {
		log_warnx("LISTEN_FDS=%s is not a number of descriptors; ignored", fds);
		free(copy);
		goto out;
	}
	for (int i = 0; i < (int)n; i++) {
		int fd = LISTEN_FDS_START + i;
		char *name = next;
		struct stat st;

		if (next != NULL && (next = strchr(next, ':')) != NULL)
			*next++ = '\0';
		if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) {
			log_warnx("LISTEN_FDS: fd %d%s%s%s is not a socket; %s", fd,
			    name != NULL ? " named \"" : "", name != NULL ? name : "",
			    name != NULL ? "\"" : "",
			    errno == EBADF ? "it is not open" : "closing it");
			if (errno != EBADF)
				close(fd);
			continue;
		}
		activate_add(fd, name, "systemd");
	}
	log_info("systemd passed %llu socket%s", n, n == 1 ? "" : "s");
	free(copy);
out:
	/* Servers must not believe the sockets are theirs. */
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDNAMES");
}

void
activate_expect(const struct config *cf)
{
	for (size_t i = 0; i < npool; i++) {
		pool[i].named = false;
		for (size_t j = 0; pool[i].name != NULL && j < cf->nsvc; j++)
			if (strcmp(pool[i].name, cf->svc[j]->id) == 0)
				pool[i].named = true;
	}
}

static void
activate_describe(const struct given *g, char *buf, size_t len)
{
	snprintf(buf, len, "fd %d%s%s%s from %s", g->fd, g->name != NULL ? " named \"" : "",
	    g->name != NULL ? g->name : "", g->name != NULL ? "\"" : "", g->from);
}

int
activate_take(struct service_config *s, char *how, size_t howlen)
{
	char err[256], what[256];

	/* The socket named for the service. */
	for (size_t i = 0; i < npool; i++) {
		struct given *g = &pool[i];
		int fd;

		if (g->name == NULL || strcmp(g->name, s->id) != 0 || g->unfit)
			continue;
		activate_describe(g, what, sizeof(what));
		if ((fd = listener_adopt(g->fd, s, err, sizeof(err))) < 0) {
			log_warnx("%s: the socket %s does not fit the service: %s; "
			          "porterd binds the service's own",
			    s->id, what, err);
			g->unfit = true;
			continue;
		}
		snprintf(how, howlen, "%s", what);
		activate_drop(i);
		return fd;
	}
	/* Else one bound where the service binds, named for no service. */
	for (size_t i = 0; i < npool; i++) {
		struct given *g = &pool[i];
		int fd;

		if (g->named || g->unfit)
			continue;
		if ((fd = listener_adopt(g->fd, s, err, sizeof(err))) < 0)
			continue;
		activate_describe(g, how, howlen);
		activate_drop(i);
		return fd;
	}
	return -1;
}

void
activate_return(int fd, const char *id)
{
	activate_add(fd, id, "this porterd");
	pool[npool - 1].fresh = false;
	pool[npool - 1].named = true;
}

void
activate_strays(void)
{
	char what[256];

	for (size_t i = 0; i < npool;) {
		struct given *g = &pool[i];
		struct peer p;
		char addr[INET6_ADDRSTRLEN] = "?";
		int type = 0;
		socklen_t tlen = sizeof(type);

		if (!g->fresh) {
			i++;
			continue;
		}
		activate_describe(g, what, sizeof(what));
		p.len = sizeof(p.sa);
		getsockopt(g->fd, SOL_SOCKET, SO_TYPE, &type, &tlen);
		if (getsockname(g->fd, (struct sockaddr *)&p.sa, &p.len) == 0 &&
		    (p.sa.sa.sa_family == AF_INET || p.sa.sa.sa_family == AF_INET6)) {
			peer_addr(&p, addr, sizeof(addr));
			log_warnx("%s (%s %s port %d) is no service's socket; closing it", what,
			    type == SOCK_DGRAM      ? "dgram" :
			        type == SOCK_STREAM ? "stream" :
			                              "other",
			    addr, peer_port(&p));
		} else
			log_warnx("%s is no service's socket; closing it", what);
		close(g->fd);
		activate_drop(i);
	}
}

void
activate_foreach(void (*fn)(void *arg, int fd, const char *name), void *arg)
{
	for (size_t i = 0; i < npool; i++)
		fn(arg, pool[i].fd, pool[i].name);
}

void
activate_end(bool handed_over)
{
	while (npool > 0) {
		struct given *g = &pool[npool - 1];
		struct sockaddr_un sun;
		socklen_t len = sizeof(sun);

		/* A Unix socket file a restart gave porterd is porterd's to
		 * remove, unless it handed it on in turn; systemd's are
		 * systemd's. */
		if (!handed_over && strcmp(g->from, "systemd") != 0 &&
		    getsockname(g->fd, (struct sockaddr *)&sun, &len) == 0 &&
		    sun.sun_family == AF_UNIX && len > offsetof(struct sockaddr_un, sun_path) &&
		    sun.sun_path[0] == '/') {
			sun.sun_path[sizeof(sun.sun_path) - 1] = '\0';
			unlink(sun.sun_path);
		}
		close(g->fd);
		activate_drop(npool - 1);
	}
	free(pool);
	pool = NULL;
}
