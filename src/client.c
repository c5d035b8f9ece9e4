/*
 * client.c: the connection path. A readable listener is drained with
 * accept4() (errno classified as nginx does: EAGAIN quiet, ECONNABORTED
 * retried, EMFILE pauses the listener and re-arms by timer). Each accepted
 * connection becomes a struct client that passes through phases, in order:
 *
 *   proxy     from a balancer of proxy_from: its PROXY header, read to the
 *             last byte and no further; the client it names is the client
 *             from then on
 *   checks    guard.c's policy; may wait for the reverse name or an ident
 *             answer without blocking the loop
 *   tls       the TLS handshake (tls = yes), in the loop; once done the
 *             connection is a socketpair relayed to the session (tls.c),
 *             and the rest of the path cannot tell it from a plain one
 *   banner    +Go for TCPMUXPLUS, banner, USERID lookup for the log
 *   dispatch  the builtin, the relay, or a spawned server (a fork that
 *             fails waits and tries again, as xinetd does)
 *
 * A phase finishes, waits on the loop, or refuses with xinetd's reason
 * word. The record lives on the caller's stack and is copied to the heap
 * only when a phase has to wait; only this file counts clients as accepted
 * or refused.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "porterd.h"

#define ACCEPT_BATCH 64 /* per wakeup, so one busy port cannot starve others */
#define EMFILE_PAUSE_MS 250
#define RETRY_MS 1000
#define RETRY_MAX 5
#define RETRY_PARKED_MAX 64 /* connections kept for a fork retry, all services */
#define LOOKUP_MS 10000     /* the longest a client waits for its name */

/* What a phase did with the client. */
enum client_step {
	STEP_NEXT,   /* finished: on to the next phase */
	STEP_WAIT,   /* has to wait: park the client, then start the wait */
	STEP_REFUSE, /* refused by policy (c->why): banner_fail, FAIL, closed */
	STEP_FAIL,   /* could not be served (c->why): FAIL, closed */
	STEP_DONE,   /* handed on or closed: nothing left to do */
};

enum client_phase { PHASE_PROXY, PHASE_CHECKS, PHASE_TLS, PHASE_BANNER, PHASE_DISPATCH };

static unsigned client_retrying; /* clients parked for a fork retry */

/* The FAIL lines a service writes in one second; past it they are
 * counted, and one SUPPRESSED line says how many when the second is over:
 * forged datagrams or a flood of refused clients cannot flood the log. */
#define FAIL_LINES_PER_S 100

static void
client_fail_summary(void *arg)
{
	struct svc *svc = arg;

	if (svc->fail_suppressed > 0 && svc->conf != NULL)
		log_suppressed(&(struct log_event){ .svc = svc, .count = svc->fail_suppressed });
	svc->fail_suppressed = 0;
}

/* Whether a FAIL line may be written now; counts the ones that may not. */
static bool
client_fail_allowed(struct svc *svc)
{
	uint64_t now = loop_now();

	if (now - svc->fail_window >= 1000 || now < svc->fail_window) {
		svc->fail_window = now;
		svc->fail_lines = 0;
	}
	if (svc->fail_lines < FAIL_LINES_PER_S) {
		svc->fail_lines++;
		return true;
	}
	if (svc->fail_suppressed++ == 0) {
		svc->fail_timer.fn = client_fail_summary;
		svc->fail_timer.arg = svc;
		loop_timer_set(&svc->fail_timer, svc->fail_window + 1000 - now);
	}
	return false;
}

/* Whether a daemon line that tells why a client was refused (its PROXY
 * header, its handshake) may be written now: as many a second as FAIL
 * lines, the rest left out (the metrics count them all). */
static bool
client_detail_allowed(struct svc *svc)
{
	uint64_t now = loop_now();

	if (now - svc->detail_window >= 1000 || now < svc->detail_window) {
		svc->detail_window = now;
		svc->detail_lines = 0;
	}
	return svc->detail_lines++ < FAIL_LINES_PER_S;
}

void
client_log_fail(struct svc *svc, const char *reason, const struct peer *peer)
{
	client_log_fail_via(svc, reason, peer, NULL);
}

void
client_log_fail_via(struct svc *svc, const char *reason, const struct peer *peer,
    const struct peer *via)
{
	if (svc->conf->log_on_failure == 0 || !client_fail_allowed(svc))
		return;
	log_fail(&(struct log_event){ .svc = svc, .reason = reason, .peer = peer, .via = via });
}

void
client_guard_input(struct guard_input *in, const struct svc *svc, const struct peer *peer)
{
	memset(in, 0, sizeof(*in));
	in->svc = svc;
	if (peer != NULL && peer_family(peer) == AF_UNIX) {
		in->unix_peer = true;
		in->family = AF_UNIX;
		in->uid = peer->uid;
		in->gid = peer->gid;
	} else if (peer != NULL)
		in->addr = peer_bytes(peer, &in->family);
	in->now = loop_now();
	/* Read only for a service that has access_times to compare it with. */
	in->minute = svc->conf->naccess_times > 0 ? guard_minute() : 0;
	/* Read only for a service that has a max_load to compare it with. */
	in->load = svc->conf->max_load > 0 ? guard_loadavg(in->now) : -1;
	in->servers = child_count();
	in->limit = porter.limit;
	in->sensor = guard_sensor_list();
	in->wrap = service_wrap();
}

/* A Unix client's supplementary groups, as the kernel recorded them when
 * it connected (SO_PEERGROUPS); none when it cannot say. */
static const gid_t *
client_peer_groups(int fd, size_t *n)
{
	static gid_t groups[NGROUPS_MAX];
	socklen_t len = sizeof(groups);

	*n = 0;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) != 0)
		return NULL;
	*n = len / sizeof(gid_t);
	return groups;
}

static const struct peer *
client_peer(const struct client *c)
{
	return c->has_peer ? &c->peer : NULL;
}

/* The balancer a client came through, or NULL. */
static const struct peer *
client_via(const struct client *c)
{
	return c->proxied ? &c->origin.via : NULL;
}

static const struct origin *
client_origin(struct client *c)
{
	/* Set here: the record moves to the heap when it waits. */
	c->origin.tls = c->has_tls ? &c->tls_info : NULL;
	c->origin.session = c->has_tls ? c->tls : NULL;
	return c->proxied || c->has_tls ? &c->origin : NULL;
}

/* The address the client connected to; false when it is not known. */
static bool
client_local(const struct client *c, struct peer *local)
{
	if (c->has_tls) {
		*local = c->origin.local;
		return true;
	}
	local->len = sizeof(local->sa);
	if (c->fd < 0 || getsockname(c->fd, (struct sockaddr *)&local->sa, &local->len) != 0)
		return false;
	peer_normalize(local);
	return true;
}

static void
client_pause(struct svc *svc, unsigned why, uint64_t ms)
{
	service_pause(svc, why);
	loop_timer_set(&svc->resume, ms);
}

/* ------------------------------------------------------------ USERID */

struct idlog {
	const struct svc *svc;
	char id[128];
};

static void
client_userid_done(void *arg, const char *userid, const char *reason)
{
	struct idlog *l = arg;
	const struct svc *svc;

	(void)reason;
	/* The service may have gone in a reload meanwhile. */
	STAILQ_FOREACH(svc, &svc_list, link)
	if (svc == l->svc)
		break;
	if (svc != NULL && svc->conf != NULL && userid != NULL)
		log_userid(&(struct log_event){ .svc = svc, .id = l->id, .userid = userid });
	free(l);
}

/* Logs USERID for a client without holding it up. */
static void
client_userid(const struct svc *svc, const struct client *c)
{
	const struct peer *peer = client_peer(c);
	struct peer local;
	struct idlog *l;

	if (peer == NULL || !client_local(c, &local))
		return;
	if ((l = calloc(1, sizeof(*l))) == NULL)
		return;
	l->svc = svc;
	snprintf(l->id, sizeof(l->id), "%s", svc->conf->id);
	if (ident_start(peer, &local, IDENT_TIMEOUT_MS, client_userid_done, l) == NULL)
		free(l);
}

static void
client_banner_send(const struct svc *svc, int conn, int which)
{
	/* Banners are for clients with a connection of their own. */
	if (svc->conf->socket_type != SOCK_STREAM || svc->conf->wait != 0 || conn < 0)
		return;
	if (svc->banner[which] != NULL) {
		/* Never block: what does not fit now is dropped. */
		if (send(conn, svc->banner[which], svc->banner_len[which],
		        MSG_DONTWAIT | MSG_NOSIGNAL) < 0 &&
		    errno != EAGAIN)
			log_debug("%s: banner: %s", svc->conf->id, strerror(errno));
	}
}

/* Closes a client porterd has answered: what it sent unread would make the
 * close a reset, which can destroy the answer on its way. */
void
client_close_gently(int conn)
{
	char buf[4096];

	shutdown(conn, SHUT_WR);
	for (int i = 0; i < 16 && recv(conn, buf, sizeof(buf), MSG_DONTWAIT) > 0; i++)
		;
	close(conn);
}

/* ------------------------------------------------------------ endings */

/* Drops the datagram a refused client sent, so it is not seen again. */
static void
client_drop_datagram(struct svc *svc)
{
	char byte;

	if (recv(svc->fd, &byte, 1, MSG_DONTWAIT | MSG_TRUNC) < 0 && errno != EAGAIN)
		log_warn("%s: recv", svc->conf->id);
}

/* The client of a wait = yes service was refused: its datagram goes, or,
 * on a stream socket where the client stays queued for the server that
 * only a later check can let in, the service looks again in a second. */
static void
client_wait_refused(struct svc *svc)
{
	if (svc->conf->socket_type == SOCK_DGRAM)
		client_drop_datagram(svc);
	else
		client_pause(svc, PAUSE_RETRY, RETRY_MS);
}

/* Refused by policy: banner_fail, the FAIL line, closed. */
static void
client_refuse(struct client *c)
{
	struct svc *svc = c->svc;

	svc->refused++;
	if (c->fd < 0) {
		client_log_fail(svc, c->why, client_peer(c));
		client_wait_refused(svc);
		return;
	}
	/* Through tcpmux the client waits for a '-' or '+' line. */
	if (svc->kind == SVC_TCPMUX_CLIENT &&
	    send(c->fd, "-Access denied\r\n", 16, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		log_debug("%s: tcpmux reply: %s", svc->conf->id, strerror(errno));
	/* On the TLS socket itself (before the handshake, or a redirect's
	 * session), the client would read the banner as a broken record. */
	if (c->tls == NULL && (svc->conf->tls_ctx == NULL || c->has_tls))
		client_banner_send(svc, c->fd, BANNER_FAIL);
	client_log_fail_via(svc, c->why, client_peer(c), client_via(c));
	/* A balancer's client cannot be asked: its ident server is not
	 * at the other end of this connection. */
	if ((svc->conf->log_on_failure & L_USERID) && svc->conf->port != 113 && !c->proxied)
		client_userid(svc, c);
	client_close_gently(c->fd);
	c->fd = -1;
}

/* Could not be served (fork kept failing): the FAIL line, closed. */
static void
client_fail(struct client *c)
{
	log_warn("%s: fork", c->svc->conf->id);
	client_log_fail_via(c->svc, c->why, client_peer(c), client_via(c));
	c->svc->refused++;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static void
client_free(struct client *c)
{
	if (!c->heap)
		return;
	LIST_REMOVE(c, entry);
	resolve_cancel(c->rq);
	ident_cancel(c->id);
	loop_timer_cancel(&c->t);
	loop_unwatch(&c->w);
	tls_free(c->tls); /* a handshake that did not finish; not its socket */
	if (c->retrying)
		client_retrying--;
	if (c->holds_slot)
		service_release(c->svc, &c->slot);
	if (c->holds_service)
		service_resume(c->svc, PAUSE_LOOKUP);
	/* The loop may still hold c->w in this round of events. */
	loop_defer_free(&c->dead, c, free);
}

/* ------------------------------------------------------------ proxy */

static void client_run(struct client *);

/* A client of a balancer in proxy_from must begin with a PROXY header;
 * others are clients themselves. The header is peeked at until it is
 * whole, then exactly its bytes are read: what follows belongs to the
 * service (a spawned server reads it from the socket). */
static enum client_step
client_proxy(struct client *c)
{
	const struct service_config *s = c->svc->conf;
	uint8_t buf[PROXY_MAX];
	const uint8_t *addr;
	const char *why = NULL;
	ssize_t n, len;
	int family;

	if (s->proxy_protocol == 0 || c->svc->proxy_acl == NULL || c->fd < 0 || !c->has_peer)
		return STEP_NEXT;
	if (!c->heap) {
		addr = peer_bytes(&c->peer, &family);
		if (acl_check(c->svc->proxy_acl, family, addr, NULL, 0) != ACL_ALLOW)
			return STEP_NEXT;
	}
	c->why = "proxy";
	n = recv(c->fd, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		len = 0;
	else if (n <= 0) {
		why = n == 0 ? "the connection ended before the header" : strerror(errno);
		len = -1;
	} else
		len = proxy_parse(buf, (size_t)n, s->proxy_protocol, &c->origin.info, &why);
	if (len == 0 && (size_t)n == sizeof(buf))
		len = -1, why = "header longer than porterd reads";
	if (len == 0 && c->proxy_eof)
		len = -1, why = "the connection ended before the header";
	if (len == 0 && c->proxy_late)
		len = -1, why = "no whole header within proxy_timeout";
	if (len == 0)
		return STEP_WAIT;
	loop_unwatch(&c->w);
	loop_timer_cancel(&c->t);
	if (len < 0) {
		char a[INET6_ADDRSTRLEN];

		peer_addr(&c->peer, a, sizeof(a));
		if (client_detail_allowed(c->svc))
			log_info("%s: from=%s: PROXY header refused: %s", s->id, a, why);
		return STEP_REFUSE;
	}
	/* It is in the socket already: this read takes it whole. */
	if (recv(c->fd, buf, (size_t)len, MSG_DONTWAIT) != len)
		return STEP_REFUSE;
	c->origin.via = c->peer;
	c->origin.proxied = c->proxied = true;
	if (!c->origin.info.local) {
		c->peer = c->origin.info.src;
		peer_normalize(&c->peer);
		peer_normalize(&c->origin.info.dst);
	}
	c->why = NULL;
	return STEP_NEXT;
}

static void
client_proxy_ready(int fd, uint32_t events, void *arg)
{
	struct client *c = arg;

	(void)fd;
	/* The bytes so far stay in the socket: only this says it ended. */
	if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		c->proxy_eof = true;
	client_run(c);
}

static void
client_proxy_timeout(void *arg)
{
	struct client *c = arg;

	c->proxy_late = true;
	client_run(c);
}

/* Waits for the rest of the header: edge-triggered, since the bytes so
 * far stay in the socket; proxy_timeout from the first wait on. */
static bool
client_proxy_wait(struct client *c)
{
	if (c->w.armed)
		return true;
	c->w.fd = c->fd;
	c->w.fn = client_proxy_ready;
	c->w.arg = c;
	if (loop_watch(&c->w, EPOLLIN | EPOLLRDHUP | EPOLLET) != 0) {
		c->proxy_late = true; /* the phase refuses it now */
		return false;
	}
	c->t.fn = client_proxy_timeout;
	c->t.arg = c;
	loop_timer_set(&c->t, (uint64_t)c->svc->conf->proxy_timeout * 1000);
	return true;
}

/* ------------------------------------------------------------ checks */

/* Decides on a client with guard.c and counts it in the rates; the
 * refusal, or NULL. The client that reaches the cps pauses the service. */
static const struct guard_step *
client_decide(struct svc *svc, struct guard_input *in, unsigned flags, struct guard_trace *t)
{
	const struct guard_step *st;

	const struct service_config *s = svc->conf;

	guard_eval(in, flags, t);
	if (!(flags & GUARD_ARRIVED))
		guard_commit(svc, in, t);
	st = guard_refusal(t);
	/* The client that reaches the rate is served; the next ones wait in
	 * the kernel's queue while the service pauses. */
	if (s->cps_rate > 0 && !(svc->pause_why & PAUSE_CPS) &&
	    limits_cps_count(&svc->cps, in->now) >= s->cps_rate) {
		log_warnx("%s: %u connections in one second; pausing the service for %u s", s->id,
		    s->cps_rate, s->cps_wait);
		client_pause(svc, PAUSE_CPS, (uint64_t)s->cps_wait * 1000);
		memset(&svc->cps, 0, sizeof(svc->cps));
	}
	return st;
}

static enum client_step
client_checks(struct client *c)
{
	struct guard_input in;
	struct guard_trace t;
	const struct guard_step *st;

	/* A parked client is counted in its service's limits; it is
	 * checked again as one that does not run yet. */
	if (c->holds_slot) {
		service_release(c->svc, &c->slot);
		c->holds_slot = false;
	}
	client_guard_input(&in, c->svc, client_peer(c));
	if (in.unix_peer && c->fd >= 0 &&
	    (c->svc->conf->ids[IDS_ONLY_GID] != NULL || c->svc->conf->ids[IDS_NO_GID] != NULL))
		in.groups = client_peer_groups(c->fd, &in.ngroups);
	in.name_known = c->name_known;
	in.name = c->has_name ? c->name : NULL;
	in.name_failed = c->name_failed;
	in.name_paranoid = c->name_paranoid;
	in.ident_known = c->ident_known;
	in.userid = c->has_userid ? c->userid : NULL;
	st = client_decide(c->svc, &in, c->arrived ? GUARD_ARRIVED : 0, &t);
	c->arrived = true;
	if (st != NULL) {
		c->why = guard_reason(st->check);
		return STEP_REFUSE;
	}
	if (t.wait_name || t.wait_ident) {
		c->need_name = t.wait_name;
		c->need_ident = t.wait_ident;
		c->why = "address"; /* should the client find no room to wait */
		return STEP_WAIT;
	}
	return STEP_NEXT;
}

static void
client_name_done(void *arg, enum resolve_status status, const char *name)
{
	struct client *c = arg;

	c->rq = NULL;
	c->name_known = true;
	c->name_failed = status == RESOLVE_FAILED;
	c->name_paranoid = status == RESOLVE_PARANOID;
	if (name != NULL) {
		c->has_name = true;
		snprintf(c->name, sizeof(c->name), "%s", name);
	}
	loop_timer_cancel(&c->t);
	if (c->id == NULL)
		client_run(c);
}

static void
client_ident_done(void *arg, const char *userid, const char *reason)
{
	struct client *c = arg;

	c->id = NULL;
	c->ident_known = true;
	if (userid != NULL) {
		c->has_userid = true;
		snprintf(c->userid, sizeof(c->userid), "%s", userid);
	}
	log_userid(&(struct log_event){ .svc = c->svc,
	    .peer = &c->peer,
	    .userid = userid,
	    .reason = reason });
	if (c->rq == NULL)
		client_run(c);
}

static void
client_name_timeout(void *arg)
{
	struct client *c = arg;

	/* No answer in time: a name rule that applies denies. */
	resolve_cancel(c->rq);
	c->rq = NULL;
	c->name_known = true;
	c->name_failed = true;
	if (c->id == NULL)
		client_run(c);
}

/* Starts the lookups the checks wait for; false when there is nothing to
 * wait for after all (a lookup that cannot start counts as no answer). */
static bool
client_checks_wait(struct client *c)
{
	/* While it waits, the client counts against instances and
	 * per_source like a server: a flood of clients that wait cannot
	 * outgrow the service. */
	if (c->fd >= 0 && !c->holds_slot) {
		service_take(c->svc, &c->peer, &c->slot);
		c->holds_slot = true;
	}
	if (c->need_name && !c->name_known && c->rq == NULL) {
		if ((c->rq = resolve_peer(&c->peer, client_name_done, c)) == NULL)
			c->name_known = c->name_failed = true;
		else {
			c->t.fn = client_name_timeout;
			c->t.arg = c;
			loop_timer_set(&c->t, LOOKUP_MS);
		}
	}
	if (c->need_ident && !c->ident_known && c->id == NULL) {
		struct peer local;

		local.len = sizeof(local.sa);
		c->ident_known = true;
		if (getsockname(c->fd, (struct sockaddr *)&local.sa, &local.len) == 0) {
			peer_normalize(&local);
			c->id =
			    ident_start(&c->peer, &local, IDENT_TIMEOUT_MS, client_ident_done, c);
			c->ident_known = c->id == NULL;
		}
	}
	return c->rq != NULL || c->id != NULL;
}

/* ------------------------------------------------------------ tls */

static enum client_step
client_tls_refuse(struct client *c, enum tls_fail fail, const char *detail)
{
	char a[INET6_ADDRSTRLEN];

	c->svc->tls_failures[fail]++;
	peer_addr(&c->peer, a, sizeof(a));
	if (client_detail_allowed(c->svc))
		log_info("%s: from=%s: TLS handshake failed: %s (%s)", c->svc->conf->id, a,
		    tls_fail_words[fail], detail);
	c->why = "tls";
	return STEP_REFUSE;
}

/* The handshake, a step at a time as the socket allows, within
 * tls_handshake_timeout; the checks ran before it, so a refused client
 * costs no handshake. Then the session is relayed to a socketpair, and the
 * service gets the pair's other end. */
static enum client_step
client_tls(struct client *c)
{
	struct svc *svc = c->svc;
	const struct service_config *s = svc->conf;
	enum tls_fail fail = TLS_FAIL_OTHER;
	char detail[160];
	uint32_t events = 0;
	int r, plain;
	struct tls *t;

	/* A handshake under way goes on even if a reload took tls away. */
	if ((s->tls_ctx == NULL && c->tls == NULL) || c->fd < 0)
		return STEP_NEXT;
	if (c->tls == NULL && (c->tls = tls_new(s->tls_ctx, c->fd)) == NULL)
		return client_tls_refuse(c, TLS_FAIL_OTHER, "out of memory");
	if (c->tls_late) {
		fail = TLS_FAIL_TIMEOUT;
		snprintf(detail, sizeof(detail), "not finished within tls_handshake_timeout, %u s",
		    s->tls_handshake_timeout);
		r = -1;
	} else
		r = tls_handshake(c->tls, &events, &fail, detail, sizeof(detail));
	if (r == 0) {
		c->tls_events = events;
		return STEP_WAIT;
	}
	loop_unwatch(&c->w);
	loop_timer_cancel(&c->t);
	t = c->tls;
	c->tls = NULL;
	if (r < 0) {
		tls_free(t);
		return client_tls_refuse(c, fail, detail);
	}
	svc->tls_handshakes++;
	c->origin.local.len = sizeof(c->origin.local.sa);
	if (getsockname(c->fd, (struct sockaddr *)&c->origin.local.sa, &c->origin.local.len) == 0)
		peer_normalize(&c->origin.local);
	c->tls_info = *tls_info(t);
	c->has_tls = true;
	/* A redirect relays the session straight to its backend (unless a
	 * banner has to go first, which the relay's pair carries). */
	if (svc->kind == SVC_REDIRECT && svc->banner[BANNER] == NULL) {
		c->tls = t;
		return STEP_NEXT;
	}
	/* Builtins and relays are served in the loop: their end must not
	 * block; a server gets a blocking one, as it would a socket. */
	plain = tls_relay(t, svc->kind != SVC_SPAWN && svc->kind != SVC_TCPMUX_CLIENT);
	if (plain < 0) {
		log_warn("%s: TLS relay", s->id);
		tls_free(t); /* the relay had the socket */
		c->fd = -1;
		c->why = "tls";
		return STEP_FAIL;
	}
	c->fd = plain;
	tls_relay_start(t);
	return STEP_NEXT;
}

static void
client_tls_ready(int fd, uint32_t events, void *arg)
{
	(void)fd, (void)events;
	client_run(arg);
}

static void
client_tls_timeout(void *arg)
{
	struct client *c = arg;

	c->tls_late = true;
	client_run(c);
}

/* Waits for the socket as the handshake asks; the handshake counts
 * against instances and per_source meanwhile, like a server. */
static bool
client_tls_wait(struct client *c)
{
	if (!c->holds_slot) {
		service_take(c->svc, &c->peer, &c->slot);
		c->holds_slot = true;
	}
	c->w.fd = c->fd;
	c->w.fn = client_tls_ready;
	c->w.arg = c;
	if (loop_watch(&c->w, c->tls_events) != 0) {
		c->tls_late = true; /* the phase refuses it now */
		return false;
	}
	if (!c->tls_timer) {
		c->tls_timer = true;
		c->t.fn = client_tls_timeout;
		c->t.arg = c;
		loop_timer_set(&c->t, (uint64_t)c->svc->conf->tls_handshake_timeout * 1000);
	}
	return true;
}

/* ------------------------------------------------------------ banner */

static enum client_step
client_banner(struct client *c)
{
	struct svc *svc = c->svc;
	const struct service_config *s = svc->conf;

	if (c->fd < 0)
		return STEP_NEXT;
	/* RFC 1078: the "+Go" comes before anything else. */
	if (svc->kind == SVC_TCPMUX_CLIENT && (s->type & T_TCPMUXPLUS) &&
	    send(c->fd, "+Go\r\n", 5, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		log_debug("%s: tcpmux reply: %s", s->id, strerror(errno));
	client_banner_send(svc, c->fd, BANNER);
	/* With IDONLY the answer was awaited and logged already. */
	if ((s->log_on_success & L_USERID) && s->port != 113 && !(s->flags & F_IDONLY) &&
	    !c->proxied)
		client_userid(svc, c);
	/* A server's own banner follows banner_success. */
	if (svc->kind == SVC_SPAWN || svc->kind == SVC_TCPMUX_CLIENT)
		client_banner_send(svc, c->fd, BANNER_SUCCESS);
	return STEP_NEXT;
}

/* ------------------------------------------------------------ dispatch */

/* Starts the server on the connection (the service socket for wait = yes);
 * false when fork failed. */
static bool
client_spawn(struct client *c)
{
	struct svc *svc = c->svc;
	const struct peer *peer = client_peer(c);
	struct child *ch = child_new();
	int exec_err;
	pid_t pid;

	if (ch == NULL)
		return false;
	/* A client parked for a retry gives its place to the server. */
	if (c->holds_slot) {
		service_release(svc, &c->slot);
		c->holds_slot = false;
	}
	/* The limits are in place before the server exists. */
	if (cgroup_wanted(svc->conf) && (ch->cg = cgroup_conn_new(svc->conf)) == NULL) {
		free(ch);
		return false;
	}
	if ((pid = spawn_server(svc, c->fd >= 0 ? c->fd : svc->fd, peer, client_origin(c), ch->cg,
	         &exec_err)) < 0) {
		cgroup_conn_end(ch->cg);
		free(ch);
		return false;
	}
	child_add(ch, pid, svc, peer);
	ch->tls = c->has_tls ? c->tls_info.protocol : NULL;
	if (svc->conf->timeout > 0)
		child_cap(ch, (uint64_t)svc->conf->timeout * 1000);
	if (exec_err != 0) {
		ch->exec_failed = true;
		client_log_fail_via(svc, "exec", peer, client_via(c));
	} else
		log_start(&(struct log_event){ .svc = svc,
		    .pid = pid,
		    .peer = peer,
		    .via = client_via(c) });
	return true;
}

/* Puts the client on the global deny list for the service's deny_time. */
static void
client_sensor_add(const struct svc *svc, const struct peer *peer)
{
	const struct service_config *s = svc->conf;
	struct sensor *list = guard_sensor();
	uint64_t now = loop_now();
	int family;
	const uint8_t *addr = peer_bytes(peer, &family);

	/* Expired entries go here, where the list changes anyway. */
	limits_sensor_expire(list, now);
	limits_sensor_add(list, family, addr,
	    s->deny_time == DENY_FOREVER ? UINT64_MAX : now + (uint64_t)s->deny_time * 1000);
}

static void
client_sensor(struct svc *svc, const struct peer *peer)
{
	const struct service_config *s = svc->conf;
	char a[INET6_ADDRSTRLEN];

	if (peer == NULL || s->deny_time == 0)
		return;
	client_sensor_add(svc, peer);
	peer_addr(peer, a, sizeof(a));
	if (s->deny_time == DENY_FOREVER)
		log_info("%s: %s touched the sensor; denied everywhere for good", s->id, a);
	else
		log_info("%s: %s touched the sensor; denied everywhere for %d s", s->id, a,
		    s->deny_time);
}

static enum client_step
client_dispatch(struct client *c)
{
	struct svc *svc = c->svc;
	const struct peer *peer = client_peer(c);

	switch (svc->kind) {
	case SVC_INTERNAL:
		svc->accepted++;
		log_start(&(struct log_event){ .svc = svc, .peer = peer, .via = client_via(c) });
		internal_stream(svc, c->fd, peer);
		return STEP_DONE;
	case SVC_SENSOR:
		svc->accepted++;
		log_start(&(struct log_event){ .svc = svc, .peer = peer, .via = client_via(c) });
		client_sensor(svc, peer);
		close(c->fd);
		return STEP_DONE;
	case SVC_TCPMUX:
		svc->accepted++;
		log_start(&(struct log_event){ .svc = svc, .peer = peer, .via = client_via(c) });
		tcpmux_start(svc, c->fd, peer);
		return STEP_DONE;
	case SVC_REDIRECT:
		if (!redirect_start(svc, c->fd, peer, client_origin(c))) {
			c->why = "redirect";
			return STEP_REFUSE;
		}
		c->tls = NULL; /* the relay has the session, if there is one */
		svc->accepted++;
		return STEP_DONE;
	case SVC_TCPMUX_CLIENT:
	case SVC_SPAWN:
		break;
	}
	if (client_spawn(c)) {
		svc->accepted++;
		if (c->fd < 0)
			/* The server has the socket until it exits. */
			service_pause(svc, PAUSE_WAIT);
		else
			close(c->fd);
		return STEP_DONE;
	}
	if (c->fd < 0) {
		/* wait = yes: the service itself tries again. */
		log_warn("%s: fork (trying again in %d ms)", svc->conf->id, RETRY_MS);
		client_log_fail_via(svc, "fork", peer, client_via(c));
		client_pause(svc, PAUSE_RETRY, RETRY_MS);
		return STEP_DONE;
	}
	/* The connection is kept while fork() keeps failing, as xinetd
	 * does, unless the service says NORETRY; a few of them at most, so
	 * that a system out of processes does not also run porterd out of
	 * descriptors. */
	c->why = "fork";
	if ((svc->conf->flags & F_NORETRY) || ++c->tries >= RETRY_MAX ||
	    (!c->retrying && client_retrying >= RETRY_PARKED_MAX))
		return STEP_FAIL;
	return STEP_WAIT;
}

static void
client_retry_fire(void *arg)
{
	client_run(arg);
}

static bool
client_dispatch_wait(struct client *c)
{
	if (!c->retrying) {
		c->retrying = true;
		client_retrying++;
	}
	/* Counted in the service's limits while it waits, like a server. */
	if (!c->holds_slot) {
		service_take(c->svc, &c->peer, &c->slot);
		c->holds_slot = true;
	}
	c->t.fn = client_retry_fire;
	c->t.arg = c;
	loop_timer_set(&c->t, RETRY_MS);
	return true;
}

/* ------------------------------------------------------------ the path */

static const struct {
	enum client_step (*run)(struct client *);
	bool (*wait)(struct client *); /* starts the wait of a parked client */
} client_phases[] = {
	[PHASE_PROXY] = { client_proxy, client_proxy_wait },
	[PHASE_CHECKS] = { client_checks, client_checks_wait },
	[PHASE_TLS] = { client_tls, client_tls_wait },
	[PHASE_BANNER] = { client_banner, NULL },
	[PHASE_DISPATCH] = { client_dispatch, client_dispatch_wait },
};

/* Copies a client that has to wait to the heap, where the service can find
 * it (a reload or shutdown drops it); NULL when there is no memory. */
static struct client *
client_park(struct client *c)
{
	struct client *h = malloc(sizeof(*h));

	if (h == NULL)
		return NULL;
	*h = *c;
	h->heap = true;
	LIST_INSERT_HEAD(&h->svc->waiting, h, entry);
	/* wait = yes: decide on the first datagram before anything reads it. */
	if (h->fd < 0) {
		h->holds_service = true;
		service_pause(h->svc, PAUSE_LOOKUP);
	}
	return h;
}

/* Runs c from its phase until it is served, refused, or has to wait. */
static void
client_run(struct client *c)
{
	for (;;) {
		enum client_step step = client_phases[c->phase].run(c);

		if (step == STEP_WAIT) {
			struct client *h = c->heap ? c : client_park(c);

			if (h == NULL)
				step = c->phase == PHASE_DISPATCH ? STEP_FAIL : STEP_REFUSE;
			else if (client_phases[h->phase].wait(h))
				return;
			else {
				c = h;
				continue;
			}
		}
		switch (step) {
		case STEP_NEXT:
			c->phase++;
			continue;
		case STEP_REFUSE:
			client_refuse(c);
			break;
		case STEP_FAIL:
			client_fail(c);
			break;
		case STEP_WAIT:
		case STEP_DONE:
			break;
		}
		client_free(c);
		return;
	}
}

void
client_start(struct svc *svc, int conn, const struct peer *peer)
{
	struct client c = { .svc = svc, .fd = conn, .peer = *peer, .has_peer = true };

	client_run(&c);
}

bool
client_datagram(struct svc *svc, const struct peer *peer, bool reflected)
{
	struct guard_input in;
	struct guard_trace t;
	const struct guard_step *st;

	client_guard_input(&in, svc, peer);
	/* A builtin answers at once: a name rule it cannot wait for is
	 * unknown, and denies. */
	in.name_known = true;
	in.name_failed = true;
	if ((st = client_decide(svc, &in, 0, &t)) != NULL) {
		svc->refused++;
		client_log_fail(svc, guard_reason(st->check), peer);
		return false;
	}
	/* An answer to a port that answers itself would start a loop. */
	if (reflected) {
		svc->refused++;
		return false;
	}
	svc->accepted++;
	return true;
}

static void
client_forget_one(struct svc *s)
{
	while (!LIST_EMPTY(&s->waiting)) {
		struct client *c = LIST_FIRST(&s->waiting);

		if (c->fd >= 0)
			close(c->fd);
		c->fd = -1;
		client_free(c);
	}
}

void
client_forget(const struct svc *svc)
{
	struct svc *s;

	/* Only svc itself is touched: during a reload the list is being
	 * rebuilt. */
	if (svc != NULL) {
		client_forget_one((struct svc *)svc);
		return;
	}
	STAILQ_FOREACH(s, &svc_list, link)
	client_forget_one(s);
}

/* ------------------------------------------------------------ listeners */

/* A client that waited in the queue while the service was held may have
 * given up: it closed (end of file before a byte) or reset. No server
 * starts for it; the connection is closed and the log says so. */
static bool
client_gone(const struct svc *svc, int conn, const struct peer *peer)
{
	char byte, addr[INET6_ADDRSTRLEN];
	ssize_t n = recv(conn, &byte, 1, MSG_PEEK | MSG_DONTWAIT);

	if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR)))
		return false;
	peer_addr(peer, addr, sizeof(addr));
	log_info("%s: from=%s left while the service was paused; not served", svc->conf->id, addr);
	close(conn);
	return true;
}

static void
client_accept(struct svc *svc)
{
	/* Served inside the loop (a TLS handshake is): the socket must not
	 * block. */
	bool nonblock = svc->kind == SVC_INTERNAL || svc->kind == SVC_REDIRECT ||
	    svc->kind == SVC_TCPMUX || svc->conf->tls_ctx != NULL;

	for (int i = 0; i < ACCEPT_BATCH; i++) {
		struct peer peer;
		int conn;

		peer.len = sizeof(peer.sa);
		conn = accept4(svc->fd, (struct sockaddr *)&peer.sa, &peer.len,
		    SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0));
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
				/* Said once in a while, not every re-arm. */
				if (svc->emfile_said == 0 ||
				    loop_now() - svc->emfile_said >= 10000) {
					log_warn("%s: accept (pausing the service for %d ms)",
					    svc->conf->id, EMFILE_PAUSE_MS);
					svc->emfile_said = loop_now();
				}
				client_pause(svc, PAUSE_EMFILE, EMFILE_PAUSE_MS);
				return;
			default:
				log_warn("%s: accept", svc->conf->id);
				return;
			}
		}
		if (peer_family(&peer) == AF_UNIX)
			peer_unix(&peer, conn);
		else
			peer_normalize(&peer);
		if (svc->backlog > 0) {
			svc->backlog--;
			if (client_gone(svc, conn, &peer))
				continue;
		}
		client_start(svc, conn, &peer);
		if (svc->paused)
			return; /* cps: the rest wait in the kernel's queue */
	}
}

/* The sender of the first datagram on a Unix socket: the credentials the
 * kernel attaches (SO_PASSCRED is on), whether or not the sender is bound
 * to a name. */
static bool
client_dgram_cred(struct svc *svc, struct peer *peer)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(struct ucred))];
	} ctl;
	char byte;
	struct iovec iov = { &byte, 1 };
	struct msghdr mh = { .msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = ctl.buf,
		.msg_controllen = sizeof(ctl.buf) };
	struct cmsghdr *cm;

	memset(peer, 0, sizeof(*peer));
	peer->sa.sa.sa_family = AF_UNIX;
	peer->len = sizeof(sa_family_t);
	peer->uid = peer->gid = (uint32_t)-1;
	if (recvmsg(svc->fd, &mh, MSG_PEEK | MSG_DONTWAIT | MSG_TRUNC) < 0) {
		if (errno != EAGAIN && errno != EINTR)
			log_warn("%s: recvmsg", svc->conf->id);
		return false;
	}
	for (cm = CMSG_FIRSTHDR(&mh); cm != NULL; cm = CMSG_NXTHDR(&mh, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_CREDENTIALS &&
		    cm->cmsg_len >= CMSG_LEN(sizeof(struct ucred))) {
			struct ucred uc;

			memcpy(&uc, CMSG_DATA(cm), sizeof(uc));
			peer->uid = uc.uid;
			peer->gid = uc.gid;
			peer->pid = uc.pid;
		}
	return true;
}

/* A wait = yes server gets the socket itself; the service sleeps until it
 * exits, and what arrives meanwhile waits for the next one. The client is
 * the sender of the first datagram, or nobody porterd can see on a stream
 * socket. */
static void
client_wait_service(struct svc *svc)
{
	struct client c = { .svc = svc, .fd = -1 };
	char byte;

	if (svc->conf->socket_type == SOCK_DGRAM && svc->conf->family == AF_UNIX) {
		if (!client_dgram_cred(svc, &c.peer))
			return;
		c.has_peer = true;
	} else if (svc->conf->socket_type == SOCK_DGRAM) {
		c.peer.len = sizeof(c.peer.sa);
		if (recvfrom(svc->fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT | MSG_TRUNC,
		        (struct sockaddr *)&c.peer.sa, &c.peer.len) < 0) {
			if (errno != EAGAIN && errno != EINTR)
				log_warn("%s: recvfrom", svc->conf->id);
			return;
		}
		peer_normalize(&c.peer);
		c.has_peer = true;
	}
	client_run(&c);
}

void
client_ready(int fd, uint32_t events, void *arg)
{
	struct svc *svc = arg;

	(void)fd, (void)events;
	if (svc->kind == SVC_INTERNAL && svc->conf->socket_type == SOCK_DGRAM)
		internal_dgram(svc);
	else if (svc->conf->wait == 1 && svc->kind == SVC_SPAWN)
		client_wait_service(svc);
	else if (svc->conf->socket_type == SOCK_STREAM || svc->conf->socket_type == SOCK_SEQPACKET)
		client_accept(svc);
}
