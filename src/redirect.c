/*
 * redirect.c: the relay of `redirect` services, served inside the event
 * loop with no process per connection. The connect to the target is
 * non-blocking with a timeout; bytes move with splice() through a pipe per
 * direction, so they are never copied into porterd; a half-close is passed
 * on in each direction; an idle timeout and the service's time cap end
 * stalled relays; the byte counts feed the TRAFFIC line. A relay costs two
 * sockets, two pipes and this small struct, whatever its traffic.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "porterd.h"

#define CONNECT_MS 10000 /* how long the target has to accept */
/* A pipe starts at the kernel's default size; a direction that fills it is
 * moving bulk data and gets PIPE_BULK (pipe-max-size, so no privilege is
 * needed): fewer, larger splices. Interactive relays never pay for it. */
#define PIPE_DEFAULT (64 * 1024)
#define PIPE_BULK (1024 * 1024)
/* What grown pipes may hold in all, on top of the default ones: a client
 * that never reads keeps its direction's pipe full, and root is exempt
 * from the kernel's pipe limits, so porterd keeps its own. Past it, pipes
 * stay at the default size: bulk transfers make smaller splices. */
#define PIPE_GROWN_BUDGET (64 * 1024 * 1024)
#define IDLE_DEFAULT_S 3600 /* redirect_idle when the service sets none */

static size_t relay_grown; /* bytes of pipe grown past PIPE_DEFAULT */

/* One direction: from src through the pipe to dst. */
struct flow {
	int src;
	int dst;
	int pr, pw;    /* pipe read and write ends */
	size_t queued; /* bytes in the pipe */
	size_t cap;    /* what one splice asks for; at most the pipe's size */
	bool grown;    /* asked for PIPE_BULK already */
	size_t extra;  /* what it grew by, counted in relay_grown */
	bool eof;      /* src said EOF */
	bool shut;     /* dst was shut down for writing */
	uint64_t bytes;
};

struct relay {
	struct svc *svc;
	char id[128];
	struct peer peer;
	bool proxied;        /* came through a balancer: origin says how */
	bool tls;            /* came over TLS: origin.local, origin.info's ssl fields */
	struct tls *session; /* its session, relayed straight to the target */
	struct origin origin;
	const char *tls_protocol; /* for the EXIT line */
	int cfd;                  /* the client */
	int sfd;                  /* the target */
	struct watch cw, sw;
	struct timer t;
	bool connected;
	struct flow up;   /* client to target: "in" */
	struct flow down; /* target to client: "out" */
	uint64_t start;
	time_t start_wall;
	uint64_t last; /* last traffic */
	struct service_slot slot;
	LIST_ENTRY(relay) entry;
	struct loop_defer dead;
};

static LIST_HEAD(, relay) relays = LIST_HEAD_INITIALIZER(relays);

static void
relay_free(void *p)
{
	free(p);
}

static void
relay_close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Ends the relay: the TRAFFIC and EXIT lines, every descriptor closed. */
static void
relay_end(struct relay *r, const char *why)
{
	struct svc *svc = r->svc;

	loop_unwatch(&r->cw);
	loop_unwatch(&r->sw);
	loop_timer_cancel(&r->t);
	if (r->session != NULL) {
		tls_bytes(r->session, &r->up.bytes, &r->down.bytes);
		tls_free(r->session);
		r->session = NULL;
	}
	relay_close_fd(&r->cfd);
	relay_close_fd(&r->sfd);
	relay_close_fd(&r->up.pr);
	relay_close_fd(&r->up.pw);
	relay_close_fd(&r->down.pr);
	relay_close_fd(&r->down.pw);
	relay_grown -= r->up.extra + r->down.extra;
	r->up.extra = r->down.extra = 0;
	if (svc != NULL && svc->conf != NULL) {
		struct log_event ev = { .svc = svc,
			.tls = r->tls_protocol,
			.reason = why,
			.duration = time(NULL) - r->start_wall,
			.bytes_in = r->up.bytes,
			.bytes_out = r->down.bytes };

		if (r->connected) {
			log_traffic(&ev);
			log_exit(&ev);
		}
		service_release(svc, &r->slot);
	}
	LIST_REMOVE(r, entry);
	loop_defer_free(&r->dead, r, relay_free);
}

/* Moves what it can in one direction; false on a fatal error. */
static bool
flow_pump(struct flow *f, bool *moved)
{
	for (;;) {
		bool progress = false;
		ssize_t n;

		if (!f->eof && f->queued < f->cap) {
			n = splice(f->src, NULL, f->pw, NULL, f->cap - f->queued,
			    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			if (n > 0) {
				f->queued += (size_t)n;
				progress = true;
				if (f->queued >= f->cap && !f->grown &&
				    relay_grown + PIPE_BULK - PIPE_DEFAULT <= PIPE_GROWN_BUDGET) {
					int size = fcntl(f->pw, F_SETPIPE_SZ, PIPE_BULK);

					f->grown = true;
					if (size > (int)f->cap) {
						f->extra = (size_t)size - PIPE_DEFAULT;
						relay_grown += f->extra;
						f->cap = (size_t)size;
					}
				}
			} else if (n == 0)
				f->eof = true;
			else if (errno != EAGAIN && errno != EINTR)
				return false;
		}
		if (f->queued > 0) {
			n = splice(f->pr, NULL, f->dst, NULL, f->queued,
			    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			if (n > 0) {
				f->queued -= (size_t)n;
				f->bytes += (uint64_t)n;
				progress = true;
			} else if (n < 0 && errno != EAGAIN && errno != EINTR)
				return false;
		}
		/* Everything read and written: pass the half-close on. */
		if (f->eof && f->queued == 0 && !f->shut) {
			shutdown(f->dst, SHUT_WR);
			f->shut = true;
		}
		if (!progress)
			return true;
		*moved = true;
	}
}

static void
relay_pump(struct relay *r)
{
	bool moved = false;

	if (!flow_pump(&r->up, &moved) || !flow_pump(&r->down, &moved)) {
		relay_end(r, "reset");
		return;
	}
	if (moved)
		r->last = loop_now();
	if (r->up.shut && r->down.shut)
		relay_end(r, NULL);
}

static void
relay_io(int fd, uint32_t events, void *arg)
{
	(void)fd, (void)events;
	relay_pump(arg);
}

static bool
relay_pipe(struct flow *f)
{
	int p[2];

	if (pipe2(p, O_NONBLOCK | O_CLOEXEC) != 0)
		return false;
	f->pr = p[0];
	f->pw = p[1];
	/* Asking for more than the pipe holds (its size can be lower under
	 * pipe-user-pages-soft) only makes splice move less. */
	f->cap = PIPE_DEFAULT;
	return true;
}

static void
relay_timer(void *arg)
{
	struct relay *r = arg;
	const struct service_config *s = r->svc != NULL ? r->svc->conf : NULL;
	uint64_t now = loop_now(), next = UINT64_MAX;

	if (!r->connected) {
		if (r->svc != NULL)
			client_log_fail(r->svc, "connect", &r->peer);
		relay_end(r, NULL);
		return;
	}
	if (s != NULL && s->timeout > 0) {
		if (now - r->start >= (uint64_t)s->timeout * 1000) {
			relay_end(r, "timeout");
			return;
		}
		next = r->start + (uint64_t)s->timeout * 1000 - now;
	}
	if (s != NULL) {
		unsigned idle_s =
		    conf_service_has(s, A_REDIRECT_IDLE) ? s->redirect_idle : IDLE_DEFAULT_S;
		uint64_t idle = (uint64_t)idle_s * 1000;

		if (now - r->last >= idle) {
			relay_end(r, "idle");
			return;
		}
		if (r->last + idle - now < next)
			next = r->last + idle - now;
	}
	if (next != UINT64_MAX)
		loop_timer_set(&r->t, next);
}

/* redirect_proxy: the backend learns the real client first, and where it
 * connected to: the address the balancer's header named, or this
 * connection's own. A fresh socket's buffer takes the header at once. */
static bool
relay_send_proxy(struct relay *r)
{
	uint8_t buf[PROXY_MAX];
	struct peer dst;
	size_t n;

	if (r->proxied && !r->origin.info.local)
		dst = r->origin.info.dst;
	else if (r->tls)
		dst = r->origin.local;
	else {
		dst.len = sizeof(dst.sa);
		if (getsockname(r->cfd, (struct sockaddr *)&dst.sa, &dst.len) != 0)
			return false;
		peer_normalize(&dst);
	}
	n = proxy_build(r->svc->conf->redirect_proxy, &r->peer, &dst,
	    r->proxied || r->tls ? &r->origin.info : NULL, buf, sizeof(buf));
	return n > 0 && send(r->sfd, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL) == (ssize_t)n;
}

static void
relay_tls_moved(void *arg)
{
	struct relay *r = arg;

	r->last = loop_now();
}

static void
relay_tls_ended(void *arg, bool failed)
{
	relay_end(arg, failed ? "reset" : NULL);
}

static const struct tls_hooks relay_tls_hooks = { relay_tls_moved, relay_tls_ended };

/* Over TLS: the session is relayed straight to the target, with no
 * socketpair or pipe between them. */
static void
relay_attach(struct relay *r)
{
	int fd = r->sfd;

	loop_unwatch(&r->sw);
	r->sfd = -1;
	r->cfd = -1; /* the session's socket from now on */
	if (!tls_attach(r->session, fd, &relay_tls_hooks, r)) {
		log_warn("%s: TLS relay", r->id);
		relay_end(r, NULL);
		return;
	}
	loop_timer_cancel(&r->t);
	relay_timer(r);
}

static void
relay_connected(int fd, uint32_t events, void *arg)
{
	struct relay *r = arg;
	int err = 0, one = 1;
	socklen_t len = sizeof(err);

	(void)events;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
		char a[INET6_ADDRSTRLEN];

		peer_addr(&r->peer, a, sizeof(a));
		log_warnx("%s: relay for %s: connect: %s", r->id, a, strerror(err ? err : errno));
		if (r->svc != NULL)
			client_log_fail(r->svc, "connect", &r->peer);
		relay_end(r, NULL);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (r->svc != NULL && r->svc->conf->redirect_proxy != 0 && !relay_send_proxy(r)) {
		log_warn("%s: relay: PROXY header", r->id);
		relay_end(r, NULL);
		return;
	}
	if (r->session != NULL) {
		r->connected = true;
		r->last = loop_now();
		log_start(&(struct log_event){ .svc = r->svc,
		    .peer = &r->peer,
		    .via = r->proxied ? &r->origin.via : NULL });
		relay_attach(r);
		return;
	}
	if (!relay_pipe(&r->up) || !relay_pipe(&r->down)) {
		log_warn("%s: relay pipe", r->id);
		relay_end(r, NULL);
		return;
	}
	r->connected = true;
	r->last = loop_now();
	log_start(&(struct log_event){ .svc = r->svc,
	    .peer = &r->peer,
	    .via = r->proxied ? &r->origin.via : NULL });
	r->sw.fn = relay_io;
	r->cw.fd = r->cfd;
	r->cw.fn = relay_io;
	r->cw.arg = r;
	/* Edge-triggered: every wakeup pumps both ways until they block. */
	if (loop_watch(&r->sw, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET) != 0 ||
	    loop_watch(&r->cw, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET) != 0) {
		relay_end(r, NULL);
		return;
	}
	loop_timer_cancel(&r->t);
	relay_timer(r);
	relay_pump(r);
}

/* What the session said, kept for the backend's PROXY header: the
 * session may end before the target accepts. */
static void
redirect_tls_facts(struct relay *r, const struct tls_info *t)
{
	struct proxy_info *info = &r->origin.info;
	const char *cn = strstr(t->s_dn, "CN=");

	r->tls = true;
	r->tls_protocol = t->protocol;
	r->origin.tls = NULL;
	info->ssl = true;
	info->ssl_cert = t->s_dn[0] != '\0';
	info->ssl_verified = strcmp(t->verify, "SUCCESS") == 0;
	snprintf(info->ssl_version, sizeof(info->ssl_version), "%s", t->protocol);
	snprintf(info->ssl_cipher, sizeof(info->ssl_cipher), "%s", t->cipher);
	snprintf(info->alpn, sizeof(info->alpn), "%.*s", (int)sizeof(info->alpn) - 1, t->alpn);
	if (t->sni[0] != '\0')
		snprintf(info->authority, sizeof(info->authority), "%s", t->sni);
	info->ssl_cn[0] = '\0';
	if (cn != NULL)
		snprintf(info->ssl_cn, sizeof(info->ssl_cn), "%.*s", (int)strcspn(cn + 3, ","),
		    cn + 3);
}

bool
redirect_start(struct svc *svc, int conn, const struct peer *peer, const struct origin *origin)
{
	const struct service_config *s = svc->conf;
	struct relay *r;
	int one = 1;

	if (s->redirect_len == 0 || (r = calloc(1, sizeof(*r))) == NULL)
		return false;
	r->svc = svc;
	snprintf(r->id, sizeof(r->id), "%s", s->id);
	r->peer = *peer;
	if (origin != NULL) {
		r->proxied = origin->proxied;
		r->origin = *origin;
		if (origin->tls != NULL)
			redirect_tls_facts(r, origin->tls);
		r->session = origin->session;
		r->origin.session = NULL;
	}
	r->cfd = conn;
	r->up.pr = r->up.pw = r->down.pr = r->down.pw = -1;
	r->start = loop_now();
	r->start_wall = time(NULL);
	r->sfd =
	    socket(s->redirect_addr.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (r->sfd < 0) {
		free(r);
		return false;
	}
	if (s->flags & F_KEEPALIVE)
		setsockopt(r->sfd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	setsockopt(conn, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	r->up.src = r->down.dst = conn;
	r->up.dst = r->down.src = r->sfd;
	r->sw.fd = r->sfd;
	r->sw.fn = relay_connected;
	r->sw.arg = r;
	r->t.fn = relay_timer;
	r->t.arg = r;
	LIST_INSERT_HEAD(&relays, r, entry);
	service_take(svc, peer, &r->slot);
	if ((connect(r->sfd, (struct sockaddr *)&s->redirect_addr, s->redirect_len) != 0 &&
	        errno != EINPROGRESS) ||
	    loop_watch(&r->sw, EPOLLOUT) != 0) {
		log_warn("%s: relay connect", r->id);
		client_log_fail(svc, "connect", peer);
		relay_end(r, NULL);
		return true;
	}
	loop_timer_set(&r->t, CONNECT_MS);
	return true;
}

void
redirect_close(const struct svc *svc)
{
	struct relay *r, *next;

	for (r = LIST_FIRST(&relays); r != NULL; r = next) {
		next = LIST_NEXT(r, entry);
		if (svc == NULL || r->svc == svc)
			relay_end(r, "stopped");
	}
}

void
redirect_foreach(
    void (*fn)(void *, const char *, const struct peer *, uint64_t, uint64_t, uint64_t), void *arg)
{
	const struct relay *r;

	LIST_FOREACH(r, &relays, entry)
	{
		uint64_t in = r->up.bytes, out = r->down.bytes;

		if (!r->connected)
			continue;
		if (r->session != NULL)
			tls_bytes(r->session, &in, &out);
		fn(arg, r->id, &r->peer, r->start, in, out);
	}
}
