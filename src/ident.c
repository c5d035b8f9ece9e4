/*
 * ident.c: the RFC 1413 identification client, run inside the event loop.
 * It connects from the address the client reached to the client's port
 * 113, asks about the connection and waits for one line, all non-blocking
 * and bounded by a timeout, so USERID logging and IDONLY never stall other
 * clients. Lookups in flight are capped, in all and per client address,
 * so a flood of connections cannot turn into a flood of descriptors.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "porterd.h"

#define IDENT_REPLY_MAX 1024

struct ident {
	struct watch w;
	struct timer t;
	ident_fn *fn;
	void *arg;
	char query[64];
	size_t qlen;
	size_t qsent;
	char reply[IDENT_REPLY_MAX + 1];
	size_t rlen;
	bool done;
	struct srckey key; /* the client's address, as counted */
	LIST_ENTRY(ident) entry;
	struct loop_defer dead;
};

static LIST_HEAD(, ident) ident_list = LIST_HEAD_INITIALIZER(ident_list);
static size_t ident_inflight;
static struct srccount *ident_sources; /* lookups in flight per address */

void
ident_init(void)
{
	if (ident_sources == NULL)
		ident_sources = limits_count_new(IDENT_MAX);
}

static void ident_finish(struct ident *, const char *, const char *);

/* At exit: the lookups still in flight end without an answer, so that
 * whoever waits for one (a USERID line) lets go of what it holds. */
void
ident_end(void)
{
	while (!LIST_EMPTY(&ident_list))
		ident_finish(LIST_FIRST(&ident_list), NULL, "system error");
	limits_count_free(ident_sources);
	ident_sources = NULL;
}

/* A lookup is over: its place in the caps is free again. */
static void
ident_release(struct ident *id)
{
	LIST_REMOVE(id, entry);
	ident_inflight--;
	limits_count_dec(ident_sources, &id->key);
}

static void
ident_free(void *p)
{
	free(p);
}

static void
ident_finish(struct ident *id, const char *user, const char *reason)
{
	if (id->done)
		return;
	id->done = true;
	loop_unwatch(&id->w);
	loop_timer_cancel(&id->t);
	close(id->w.fd);
	id->w.fd = -1;
	ident_release(id);
	id->fn(id->arg, user, reason);
	loop_defer_free(&id->dead, id, ident_free);
}

static void
ident_timeout(void *arg)
{
	ident_finish(arg, NULL, "timeout");
}

const char *
ident_parse_reply(const char *reply, size_t len, char *user, size_t userlen)
{
	const char *end = reply, *colon;
	size_t n;

	/* The first line, up to a CR, an LF or a NUL. */
	while ((size_t)(end - reply) < len && *end != '\r' && *end != '\n' && *end != '\0')
		end++;
	colon = memchr(reply, ':', (size_t)(end - reply));
	if (colon == NULL)
		return "bad response";
	colon++;
	while (colon < end && (*colon == ' ' || *colon == '\t'))
		colon++;
	if ((size_t)(end - colon) < 6 || memcmp(colon, "USERID", 6) != 0)
		return "bad response";
	n = (size_t)(end - colon);
	if (userlen == 0)
		return "bad response";
	if (n >= userlen)
		n = userlen - 1;
	memcpy(user, colon, n);
	user[n] = '\0';
	return NULL;
}

/* "6193, 23 : USERID : UNIX : stjohns" gives "USERID : UNIX : stjohns";
 * only a USERID answer counts as success. */
static void
ident_parse(struct ident *id)
{
	char user[IDENT_REPLY_MAX + 1];
	const char *reason = ident_parse_reply(id->reply, id->rlen, user, sizeof(user));

	ident_finish(id, reason == NULL ? user : NULL, reason);
}

static void
ident_io(int fd, uint32_t events, void *arg)
{
	struct ident *id = arg;
	ssize_t n;

	if (id->qsent < id->qlen) {
		int err = 0;
		socklen_t len = sizeof(err);

		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
			ident_finish(id, NULL, err == ECONNREFUSED ? "no server" : "system error");
			return;
		}
		n = send(fd, id->query + id->qsent, id->qlen - id->qsent, MSG_NOSIGNAL);
		if (n < 0 && errno != EAGAIN) {
			ident_finish(id, NULL, "system error");
			return;
		}
		if (n > 0)
			id->qsent += (size_t)n;
		if (id->qsent == id->qlen)
			loop_watch(&id->w, EPOLLIN);
		return;
	}
	(void)events;
	n = recv(fd, id->reply + id->rlen, IDENT_REPLY_MAX - id->rlen, 0);
	if (n < 0) {
		if (errno != EAGAIN)
			ident_finish(id, NULL, "error while receiving response");
		return;
	}
	id->rlen += (size_t)n;
	if (memchr(id->reply, '\n', id->rlen) != NULL || n == 0 || id->rlen == IDENT_REPLY_MAX)
		ident_parse(id);
}

struct ident *
ident_start(const struct peer *remote, const struct peer *local, unsigned timeout_ms, ident_fn *fn,
    void *arg)
{
	struct ident *id;
	struct peer src = *local, dst = *remote;
	struct srckey key;
	int family, fd;
	const uint8_t *addr = peer_bytes(remote, &family);

	limits_srckey(&key, family, addr, 32, 128);
	if (ident_sources == NULL || ident_inflight >= IDENT_MAX ||
	    limits_count_get(ident_sources, &key) >= IDENT_PER_SOURCE)
		return NULL;
	if ((id = calloc(1, sizeof(*id))) == NULL)
		return NULL;
	fd = socket(peer_family(&dst), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		free(id);
		return NULL;
	}
	/* Ask from the address the client talked to, on any port. */
	if (peer_family(&src) == AF_INET)
		src.sa.sin.sin_port = 0;
	else
		src.sa.sin6.sin6_port = 0;
	if (peer_family(&dst) == AF_INET)
		dst.sa.sin.sin_port = htons(113);
	else
		dst.sa.sin6.sin6_port = htons(113);
	id->qlen = (size_t)snprintf(id->query, sizeof(id->query), "%d , %d\r\n", peer_port(remote),
	    peer_port(local));
	id->fn = fn;
	id->arg = arg;
	id->w.fd = fd;
	id->w.fn = ident_io;
	id->w.arg = id;
	id->t.fn = ident_timeout;
	id->t.arg = id;
	if (peer_family(&src) == peer_family(&dst))
		bind(fd, (struct sockaddr *)&src.sa, src.len);
	if ((connect(fd, (struct sockaddr *)&dst.sa, dst.len) != 0 && errno != EINPROGRESS) ||
	    loop_watch(&id->w, EPOLLOUT) != 0) {
		close(fd);
		free(id);
		return NULL;
	}
	id->key = key;
	limits_count_inc(ident_sources, &key);
	LIST_INSERT_HEAD(&ident_list, id, entry);
	ident_inflight++;
	loop_timer_set(&id->t, timeout_ms);
	return id;
}

void
ident_cancel(struct ident *id)
{
	if (id == NULL || id->done)
		return;
	id->done = true;
	loop_unwatch(&id->w);
	loop_timer_cancel(&id->t);
	close(id->w.fd);
	ident_release(id);
	loop_defer_free(&id->dead, id, ident_free);
}
