/*
 * tcpmux.c: the RFC 1078 multiplexer, in the event loop. A client names a
 * service on its first line; only services of type TCPMUX or TCPMUXPLUS
 * can be reached this way (xinetd's CVE-2012-0862 let a client start any
 * service), and the service found goes through its own access checks and
 * runs with its own credentials (CVE-2013-4342 ran them as root). The
 * name is consumed exactly, with no byte of what follows, and replies
 * carry no stray NUL.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "porterd.h"

#define MUX_LINE_MAX 256
#define MUX_WAIT_MS 10000 /* for the client to name its service */

struct mux {
	struct svc *svc;
	int fd;
	struct peer peer;
	struct watch w;
	struct timer t;
	struct service_slot slot;
	LIST_ENTRY(mux) entry;
	struct loop_defer dead;
};

static LIST_HEAD(, mux) muxes = LIST_HEAD_INITIALIZER(muxes);

static void
mux_free(void *p)
{
	free(p);
}

static void
mux_end(struct mux *m, bool close_fd)
{
	loop_unwatch(&m->w);
	loop_timer_cancel(&m->t);
	if (close_fd && m->fd >= 0)
		client_close_gently(m->fd);
	service_release(m->svc, &m->slot);
	LIST_REMOVE(m, entry);
	loop_defer_free(&m->dead, m, mux_free);
}

static void
mux_say(int fd, const char *text)
{
	if (send(fd, text, strlen(text), MSG_DONTWAIT | MSG_NOSIGNAL) < 0 && errno != EAGAIN)
		log_debug("tcpmux: reply: %s", strerror(errno));
}

/* Whether the access rules of svc let the client in: the deny list, the
 * time of day and the address lists (a rule that needs the client's name
 * counts as no, since HELP does not wait for one). */
static bool
mux_reachable(const struct svc *svc, const struct peer *peer)
{
	struct guard_input in;
	struct guard_trace t;

	client_guard_input(&in, svc, peer);
	in.name_known = in.name_failed = true;
	guard_eval(&in, GUARD_ALL, &t);
	for (size_t i = 0; i < t.n; i++)
		if ((t.step[i].check == GUARD_SENSOR || t.step[i].check == GUARD_TIME ||
		        t.step[i].check == GUARD_ACCESS) &&
		    t.step[i].verdict != GUARD_PASS)
			return false;
	return true;
}

static void
mux_help(struct mux *m)
{
	char line[MUX_LINE_MAX + 3];

	const struct svc *s;

	STAILQ_FOREACH(s, &svc_list, link)
	{
		if (s->kind != SVC_TCPMUX_CLIENT || s->conf == NULL || s->disabled ||
		    !mux_reachable(s, &m->peer))
			continue;
		snprintf(line, sizeof(line), "%s\r\n", s->conf->name);
		mux_say(m->fd, line);
	}
}

static struct svc *
mux_find(const char *name)
{
	struct svc *s;

	STAILQ_FOREACH(s, &svc_list, link)
	if (s->kind == SVC_TCPMUX_CLIENT && s->conf != NULL && strcasecmp(s->conf->name, name) == 0)
		return s;
	return NULL;
}

static void
mux_read(int fd, uint32_t events, void *arg)
{
	struct mux *m = arg;
	char buf[MUX_LINE_MAX + 1];
	char name[MUX_LINE_MAX + 1];
	struct svc *target;
	ssize_t n, line;

	(void)events;
	/* Peek, then take exactly the line: what follows is the server's. */
	n = recv(fd, buf, MUX_LINE_MAX, MSG_PEEK);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		mux_end(m, true);
		return;
	}
	line = tcpmux_line(buf, (size_t)n, MUX_LINE_MAX, name, sizeof(name));
	if (line == TCPMUX_TOO_LONG) {
		mux_say(fd, "-Line too long\r\n");
		mux_end(m, true);
		return;
	}
	if (line == TCPMUX_MORE)
		return;
	if (recv(fd, buf, (size_t)line, 0) <= 0) {
		mux_end(m, true);
		return;
	}
	if (strcasecmp(name, "help") == 0) {
		mux_help(m);
		mux_end(m, true);
		return;
	}
	target = mux_find(name);
	if (target == NULL || target->disabled) {
		client_log_fail(m->svc, "service", &m->peer);
		mux_say(fd, "-Service not available\r\n");
		mux_end(m, true);
		return;
	}
	/* The server gets the blocking socket it expects. */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	m->fd = -1;
	mux_end(m, false);
	client_start(target, fd, &m->peer);
}

static void
mux_timeout(void *arg)
{
	struct mux *m = arg;

	mux_say(m->fd, "-Timeout\r\n");
	mux_end(m, true);
}

void
tcpmux_start(struct svc *svc, int conn, const struct peer *peer)
{
	struct mux *m = calloc(1, sizeof(*m));

	if (m == NULL) {
		close(conn);
		return;
	}
	m->svc = svc;
	m->fd = conn;
	m->peer = *peer;
	m->w.fd = conn;
	m->w.fn = mux_read;
	m->w.arg = m;
	m->t.fn = mux_timeout;
	m->t.arg = m;
	LIST_INSERT_HEAD(&muxes, m, entry);
	service_take(svc, peer, &m->slot);
	/* Edge-triggered: only peeked, a partial line stays readable. */
	if (loop_watch(&m->w, EPOLLIN | EPOLLET) != 0) {
		mux_end(m, true);
		return;
	}
	loop_timer_set(&m->t, MUX_WAIT_MS);
}

void
tcpmux_close(const struct svc *svc)
{
	struct mux *m, *next;

	for (m = LIST_FIRST(&muxes); m != NULL; m = next) {
		next = LIST_NEXT(m, entry);
		if (svc == NULL || m->svc == svc)
			mux_end(m, true);
	}
}
