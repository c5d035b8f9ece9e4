/*
 * accept.c: the connection path. A readable listener is drained with
 * accept4() (errno classified as nginx does: EAGAIN quiet, ECONNABORTED
 * retried, EMFILE pauses the listener and re-arms by timer), each client is
 * dispatched to a builtin or a spawned server, and the START and FAIL lines
 * are written here. Nothing on this path allocates except a retry after a
 * failed fork.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "porterd.h"

#define ACCEPT_BATCH 64		/* per wakeup, so one busy port cannot starve others */
#define EMFILE_PAUSE_MS 250
#define RETRY_MS 1000
#define RETRY_MAX 5

/* A connection kept while fork() keeps failing, as xinetd does. */
struct retry {
	struct timer t;
	struct svc *svc;
	int conn;
	struct peer peer;
	int tries;
	struct retry *next;
};

static struct retry *retries;

void
accept_log_start(const struct svc *svc, pid_t pid, const struct peer *peer)
{
	const struct service *s = svc->conf;
	char line[256], addr[INET6_ADDRSTRLEN];
	size_t n;

	if ((s->log_on_success & ~L_TRAFFIC) == 0)
		return;
	n = (size_t)snprintf(line, sizeof(line), "START: %s", s->id);
	if (s->log_on_success & L_PID)
		n += (size_t)snprintf(line + n, sizeof(line) - n, " pid=%d", (int)pid);
	if (s->log_on_success & L_HOST) {
		if (peer != NULL)
			peer_addr(peer, addr, sizeof(addr));
		snprintf(line + n, sizeof(line) - n, " from=%s",
		    peer != NULL ? addr : "<no address>");
	}
	log_service(svc, "%s", line);
}

void
accept_log_fail(const struct svc *svc, const char *reason, const struct peer *peer)
{
	const struct service *s = svc->conf;
	char addr[INET6_ADDRSTRLEN];

	if (s->log_on_failure == 0)
		return;
	if (s->log_on_failure & L_HOST) {
		if (peer != NULL)
			peer_addr(peer, addr, sizeof(addr));
		log_service(svc, "FAIL: %s %s from=%s", s->id, reason,
		    peer != NULL ? addr : "<no address>");
	} else
		log_service(svc, "FAIL: %s %s", s->id, reason);
}

static void accept_retry_fire(void *);

/* Starts the server; false when fork failed and the caller keeps conn. */
static bool
accept_spawn(struct svc *svc, int conn, const struct peer *peer)
{
	struct child *c;
	int exec_err;
	pid_t pid = spawn_server(svc, conn, peer, &exec_err);

	if (pid < 0)
		return false;
	c = child_add(pid, svc, peer);
	svc->accepted++;
	if (exec_err != 0) {
		c->exec_failed = true;
		accept_log_fail(svc, "exec", peer);
	} else
		accept_log_start(svc, pid, peer);
	return true;
}

static void
accept_retry_free(struct retry *r)
{
	struct retry **pp = &retries;

	while (*pp != r)
		pp = &(*pp)->next;
	*pp = r->next;
	timer_cancel(&r->t);
	free(r);
}

static void
accept_retry_fire(void *arg)
{
	struct retry *r = arg;

	if (accept_spawn(r->svc, r->conn, &r->peer)) {
		close(r->conn);
		accept_retry_free(r);
		return;
	}
	if (++r->tries >= RETRY_MAX) {
		log_warn("%s: fork", r->svc->conf->id);
		accept_log_fail(r->svc, "fork", &r->peer);
		r->svc->refused++;
		close(r->conn);
		accept_retry_free(r);
		return;
	}
	timer_set(&r->t, RETRY_MS);
}

/* fork() failed for a stream connection: keep it and try again, unless
 * the service says NORETRY. */
static void
accept_fork_failed(struct svc *svc, int conn, const struct peer *peer)
{
	struct retry *r;

	if (svc->conf->flags & F_NORETRY) {
		log_warn("%s: fork", svc->conf->id);
		accept_log_fail(svc, "fork", peer);
		svc->refused++;
		close(conn);
		return;
	}
	r = calloc(1, sizeof(*r));
	if (r == NULL) {
		accept_log_fail(svc, "fork", peer);
		close(conn);
		return;
	}
	r->svc = svc;
	r->conn = conn;
	r->peer = *peer;
	r->tries = 1;
	r->t.fn = accept_retry_fire;
	r->t.arg = r;
	r->next = retries;
	retries = r;
	timer_set(&r->t, RETRY_MS);
}

void
accept_forget(const struct svc *svc)
{
	for (struct retry *r = retries, *next; r != NULL; r = next) {
		next = r->next;
		if (svc == NULL || r->svc == svc) {
			close(r->conn);
			accept_retry_free(r);
		}
	}
}

static void
accept_pause(struct svc *svc, unsigned why, uint64_t ms)
{
	service_pause(svc, why);
	timer_set(&svc->resume, ms);
}

static void
accept_stream(struct svc *svc)
{
	bool internal = svc->kind == SVC_INTERNAL;

	for (int i = 0; i < ACCEPT_BATCH; i++) {
		struct peer peer;
		int conn;

		peer.len = sizeof(peer.sa);
		conn = accept4(svc->fd, (struct sockaddr *)&peer.sa, &peer.len,
		    SOCK_CLOEXEC | (internal ? SOCK_NONBLOCK : 0));
		if (conn < 0) {
			switch (errno) {
			case EAGAIN:
				return;
			case EINTR:
			case ECONNABORTED:
			case EPROTO:
				continue;
			case EMFILE:
			case ENFILE:
			case ENOBUFS:
			case ENOMEM:
				log_warn("%s: accept (pausing the service for %d ms)",
				    svc->conf->id, EMFILE_PAUSE_MS);
				accept_pause(svc, PAUSE_EMFILE, EMFILE_PAUSE_MS);
				return;
			default:
				log_warn("%s: accept", svc->conf->id);
				return;
			}
		}
		peer_normalize(&peer);
		switch (svc->kind) {
		case SVC_INTERNAL:
			svc->accepted++;
			accept_log_start(svc, 0, &peer);
			internal_stream(svc, conn, &peer);
			break;
		case SVC_SPAWN:
			if (!accept_spawn(svc, conn, &peer)) {
				accept_fork_failed(svc, conn, &peer);
				continue;
			}
			close(conn);
			break;
		default:
			/* Relays, tcpmux and sensors are not served yet. */
			accept_log_fail(svc, "service", &peer);
			svc->refused++;
			close(conn);
			break;
		}
	}
}

/* A wait = yes server gets the socket itself; the service sleeps until
 * it exits, and datagrams that arrive meanwhile wait for the next one. */
static void
accept_wait(struct svc *svc)
{
	struct peer peer, *pp = NULL;
	char byte;

	memset(&peer, 0, sizeof(peer));
	if (svc->conf->socket_type == SOCK_DGRAM) {
		peer.len = sizeof(peer.sa);
		if (recvfrom(svc->fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT | MSG_TRUNC,
			(struct sockaddr *)&peer.sa, &peer.len) < 0) {
			if (errno != EAGAIN && errno != EINTR)
				log_warn("%s: recvfrom", svc->conf->id);
			return;
		}
		peer_normalize(&peer);
		pp = &peer;
	}
	if (!accept_spawn(svc, svc->fd, pp)) {
		log_warn("%s: fork (trying again in %d ms)", svc->conf->id, RETRY_MS);
		accept_log_fail(svc, "fork", pp);
		accept_pause(svc, PAUSE_RETRY, RETRY_MS);
		return;
	}
	service_pause(svc, PAUSE_WAIT);
}

void
accept_ready(int fd, uint32_t events, void *arg)
{
	struct svc *svc = arg;

	(void)fd, (void)events;
	if (svc->kind == SVC_INTERNAL && svc->conf->socket_type == SOCK_DGRAM)
		internal_dgram(svc);
	else if (svc->conf->wait == 1 && svc->kind == SVC_SPAWN)
		accept_wait(svc);
	else if (svc->conf->socket_type == SOCK_STREAM)
		accept_stream(svc);
}
