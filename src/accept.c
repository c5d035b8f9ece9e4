/*
 * accept.c: the connection path. A readable listener is drained with
 * accept4() (errno classified as nginx does: EAGAIN quiet, ECONNABORTED
 * retried, EMFILE pauses the listener and re-arms by timer); each client
 * passes the checks in the parent, cheapest first, before anything is
 * forked; host-name rules and IDONLY wait for an answer from resolve.c or
 * ident.c without blocking the loop; then the client is dispatched to a
 * builtin or a spawned server. START, FAIL, USERID and NOID lines are
 * written here. Only a client that has to wait costs an allocation.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "porterd.h"

#define ACCEPT_BATCH 64 /* per wakeup, so one busy port cannot starve others */
#define EMFILE_PAUSE_MS 250
#define RETRY_MS 1000
#define RETRY_MAX 5
#define LOOKUP_MS 10000 /* the longest a client waits for its name */
#define IDENT_MS 30000  /* RFC 1413 queries, as xinetd */
#define LOADAVG_MS 1000 /* /proc/loadavg is read at most this often */

/* A client waiting for its reverse name or an ident answer. fd is the
 * connection, or -1 for the first datagram of a wait = yes service. */
struct pconn {
	struct svc *svc;
	int fd;
	struct peer peer;
	struct peer local;
	struct rquery *rq;
	struct ident *id;
	bool need_name;
	bool need_ident;
	bool have_name;
	char name[256];
	char userid[256];
	struct timer t;
	struct pconn *next;
};

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
	log_start(&(struct log_event){ .svc = svc, .pid = pid, .peer = peer });
}

void
accept_log_fail(const struct svc *svc, const char *reason, const struct peer *peer)
{
	log_fail(&(struct log_event){ .svc = svc, .reason = reason, .peer = peer });
}

static void accept_retry_fire(void *);

static void accept_child_started(struct svc *, struct child *, const struct peer *);

/* Starts the server on conn (the caller still closes its copy); false when
 * fork failed. */
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
	accept_child_started(svc, c, peer);
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
	loop_timer_cancel(&r->t);
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
	loop_timer_set(&r->t, RETRY_MS);
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
	loop_timer_set(&r->t, RETRY_MS);
}

static void
accept_pause(struct svc *svc, unsigned why, uint64_t ms)
{
	service_pause(svc, why);
	loop_timer_set(&svc->resume, ms);
}

/* ------------------------------------------------------------ checks */

static struct sensor *sensor_list;

struct sensor *
accept_sensor(void)
{
	if (sensor_list == NULL)
		sensor_list = limits_sensor_new(SENSOR_MAX);
	return sensor_list;
}

static double
accept_loadavg(void)
{
	static uint64_t when;
	static double load;
	uint64_t now = loop_now();

	if (when == 0 || now - when >= LOADAVG_MS) {
		char buf[128];
		ssize_t n;
		int fd = open("/proc/loadavg", O_RDONLY | O_CLOEXEC);

		load = -1;
		if (fd >= 0) {
			n = read(fd, buf, sizeof(buf) - 1);
			if (n > 0) {
				buf[n] = '\0';
				load = limits_parse_loadavg(buf);
			}
			close(fd);
		}
		when = now;
	}
	return load;
}

static int
minute_now(void)
{
	time_t t = time(NULL);
	struct tm tm;

	localtime_r(&t, &tm);
	return tm.tm_hour * 60 + tm.tm_min;
}

/*
 * The checks that need no waiting, in DESIGN.md's order, cheapest first.
 * Returns NULL when the client may go on (*need_name set when a host or
 * domain rule still has to see its reverse name), else xinetd's reason word.
 */
static const char *
accept_check(struct svc *svc, const struct peer *peer, bool *need_name)
{
	const struct service_config *s = svc->conf;
	uint64_t now = loop_now();
	const uint8_t *addr = NULL;
	int family = AF_UNSPEC;

	*need_name = false;
	if (peer != NULL)
		addr = peer_bytes(peer, &family);
	if (addr != NULL && sensor_list != NULL &&
	    limits_sensor_denied(sensor_list, family, addr, now))
		return "address";
	if (s->cps_rate > 0 && limits_cps(&svc->cps, s->cps_rate, now)) {
		log_warnx("%s: more than %u connections per second; pausing the service for %u s",
		    s->id, s->cps_rate, s->cps_wait);
		accept_pause(svc, PAUSE_CPS, (uint64_t)s->cps_wait * 1000);
		memset(&svc->cps, 0, sizeof(svc->cps));
		return "connections per second";
	}
	if (s->max_load > 0 && accept_loadavg() >= s->max_load)
		return "load";
	if (s->naccess_times > 0 &&
	    !access_times_allow(s->access_times, s->naccess_times, minute_now()))
		return "time";
	if (addr != NULL && svc->acl != NULL) {
		enum acl_verdict v = acl_check(svc->acl, family, addr, NULL, 0);

		if (v == ACL_DENY)
			return "address";
		*need_name = v == ACL_NEED_NAME;
	}
	if (svc->kind == SVC_SPAWN || svc->kind == SVC_REDIRECT || svc->kind == SVC_TCPMUX_CLIENT) {
		if (s->instances != COUNT_UNLIMITED && svc->running >= (unsigned)s->instances)
			return "service_limit";
		if (addr != NULL && svc->per_source != NULL && s->per_source != COUNT_UNLIMITED &&
		    s->wait != 1) {
			struct srckey k;

			limits_srckey(&k, family, addr, s->per_source_prefix4,
			    s->per_source_prefix6);
			if (limits_count_get(svc->per_source, &k) >= (unsigned)s->per_source)
				return "per_source_limit";
		}
		if (porter.limit > 0 && child_count() >= (size_t)porter.limit)
			return "process_limit";
	}
	if (addr != NULL && svc->src_rate != NULL) {
		struct srckey k;

		limits_srckey(&k, family, addr, s->per_source_prefix4, s->per_source_prefix6);
		if (!limits_rate_take(svc->src_rate, &k, now))
			return "per_source_rate";
	}
	return NULL;
}

bool
accept_datagram_ok(struct svc *svc, const struct peer *peer)
{
	bool need_name;
	const char *why = accept_check(svc, peer, &need_name);

	/* A builtin answers at once: a name rule it cannot wait for denies. */
	if (why == NULL && need_name) {
		int family;
		const uint8_t *addr;

		addr = peer_bytes(peer, &family);
		if (acl_check_name(svc->acl, family, addr, NULL, NULL, 0) != ACL_ALLOW)
			why = "address";
	}
	if (why != NULL) {
		uint64_t now = loop_now();

		svc->refused++;
		/* Spoofed datagrams must not flood the log: one line per
		 * sender a minute, as xinetd does. */
		if (svc->fail_when == 0 || now - svc->fail_when >= 60000 ||
		    memcmp(&svc->fail_peer, &peer->sa, sizeof(svc->fail_peer)) != 0) {
			accept_log_fail(svc, why, peer);
			svc->fail_when = now;
			memcpy(&svc->fail_peer, &peer->sa, sizeof(svc->fail_peer));
		}
		return false;
	}
	return true;
}

/* ------------------------------------------------------------ logging */

struct idlog {
	const struct svc *svc;
	char id[128];
	void *log_for;
};

static void
accept_userid_done(void *arg, const char *userid, const char *reason)
{
	struct idlog *l = arg;
	const struct svc *svc;

	(void)reason;
	/* The service may have gone in a reload meanwhile. */
	for (svc = svc_list; svc != NULL && svc != l->svc; svc = svc->next)
		;
	if (svc != NULL && svc->conf != NULL && userid != NULL)
		log_userid(&(struct log_event){ .svc = svc, .id = l->id, .userid = userid });
	free(l);
}

/* Logs USERID for a client without holding it up. */
static void
accept_userid(const struct svc *svc, int conn, const struct peer *peer)
{
	struct peer local;
	struct idlog *l;

	if (peer == NULL || conn < 0)
		return;
	local.len = sizeof(local.sa);
	if (getsockname(conn, (struct sockaddr *)&local.sa, &local.len) != 0)
		return;
	peer_normalize(&local);
	if ((l = calloc(1, sizeof(*l))) == NULL)
		return;
	l->svc = svc;
	snprintf(l->id, sizeof(l->id), "%s", svc->conf->id);
	if (ident_start(peer, &local, IDENT_MS, accept_userid_done, l) == NULL)
		free(l);
}

static void
accept_banner(const struct svc *svc, int conn, int which)
{
	/* Banners are for clients with a connection of their own. */
	if (svc->conf->socket_type != SOCK_STREAM || svc->conf->wait != 0)
		return;
	if (svc->banner[which] != NULL && conn >= 0) {
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
accept_close_gently(int conn)
{
	char buf[4096];

	shutdown(conn, SHUT_WR);
	for (int i = 0; i < 16 && recv(conn, buf, sizeof(buf), MSG_DONTWAIT) > 0; i++)
		;
	close(conn);
}

/* A refused client: banner_fail, the FAIL line, closed. */
static void
accept_refuse(struct svc *svc, int conn, const struct peer *peer, const char *why)
{
	svc->refused++;
	/* Through tcpmux the client waits for a '-' or '+' line. */
	if (svc->kind == SVC_TCPMUX_CLIENT && conn >= 0 &&
	    send(conn, "-Access denied\r\n", 16, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		log_debug("%s: tcpmux reply: %s", svc->conf->id, strerror(errno));
	accept_banner(svc, conn, BANNER_FAIL);
	accept_log_fail(svc, why, peer);
	if ((svc->conf->log_on_failure & L_USERID) && svc->conf->port != 113)
		accept_userid(svc, conn, peer);
	if (conn >= 0)
		accept_close_gently(conn);
}

/* ------------------------------------------------------------ dispatch */

static void
accept_child_started(struct svc *svc, struct child *c, const struct peer *peer)
{
	const struct service_config *s = svc->conf;

	if (peer != NULL && svc->per_source != NULL && s->wait != 1) {
		int family;
		const uint8_t *addr;

		addr = peer_bytes(peer, &family);
		limits_srckey(&c->key, family, addr, s->per_source_prefix4, s->per_source_prefix6);
		c->counted = limits_count_inc(svc->per_source, &c->key);
	}
	if (s->timeout > 0)
		child_cap(c, (uint64_t)s->timeout * 1000);
}

/* The client passed every check: banner, then the builtin or the server.
 * Returns false when fork failed and the caller still owns conn. */
static bool
accept_dispatch(struct svc *svc, int conn, const struct peer *peer)
{
	const struct service_config *s = svc->conf;

	/* RFC 1078: the "+Go" comes before anything else. */
	if (svc->kind == SVC_TCPMUX_CLIENT && (s->type & T_TCPMUXPLUS) &&
	    send(conn, "+Go\r\n", 5, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		log_debug("%s: tcpmux reply: %s", s->id, strerror(errno));
	accept_banner(svc, conn, BANNER);
	/* With IDONLY the answer was awaited and logged already. */
	if ((s->log_on_success & L_USERID) && s->port != 113 && !(s->flags & F_IDONLY))
		accept_userid(svc, conn, peer);
	switch (svc->kind) {
	case SVC_INTERNAL:
		accept_log_start(svc, 0, peer);
		internal_stream(svc, conn, peer);
		return true;
	case SVC_SENSOR: {
		int family;
		const uint8_t *addr;
		char a[INET6_ADDRSTRLEN];

		svc->accepted++;
		accept_log_start(svc, 0, peer);
		if (peer != NULL && s->deny_time != 0) {
			addr = peer_bytes(peer, &family);
			limits_sensor_add(accept_sensor(), family, addr,
			    s->deny_time == DENY_FOREVER ?
			        UINT64_MAX :
			        loop_now() + (uint64_t)s->deny_time * 1000);
			peer_addr(peer, a, sizeof(a));
			if (s->deny_time == DENY_FOREVER)
				log_info("%s: %s touched the sensor; denied everywhere for good",
				    s->id, a);
			else
				log_info("%s: %s touched the sensor; denied everywhere for %d s",
				    s->id, a, s->deny_time);
		}
		close(conn);
		return true;
	}
	case SVC_TCPMUX_CLIENT:
		/* TCPMUXPLUS was answered above; a TCPMUX server answers. */
	case SVC_SPAWN:
		accept_banner(svc, conn, BANNER_SUCCESS);
		if (!accept_spawn(svc, conn, peer))
			return false;
		if (s->wait != 1)
			close(conn);
		return true;
	case SVC_TCPMUX:
		accept_log_start(svc, 0, peer);
		svc->accepted++;
		tcpmux_start(svc, conn, peer);
		return true;
	case SVC_REDIRECT:
		if (!redirect_start(svc, conn, peer))
			accept_refuse(svc, conn, peer, "redirect");
		else
			svc->accepted++;
		return true;
	default:
		accept_refuse(svc, conn, peer, "service");
		return true;
	}
}

/* ------------------------------------------------------------ waiting */

static void
accept_pconn_free(struct pconn *pc)
{
	struct pconn **pp = &pc->svc->pending;

	while (*pp != pc)
		pp = &(*pp)->next;
	*pp = pc->next;
	resolve_cancel(pc->rq);
	ident_cancel(pc->id);
	loop_timer_cancel(&pc->t);
	free(pc);
}

static void accept_wait_decided(struct svc *, bool allowed, const struct peer *, const char *why);

/* Both answers are in (or timed out): decide. */
static void
accept_pconn_decide(struct pconn *pc)
{
	struct svc *svc = pc->svc;
	const char *why = NULL;

	if (pc->need_name || pc->need_ident)
		return;
	if (svc->acl != NULL && acl_has_names(svc->acl)) {
		int family;
		const uint8_t *addr;

		addr = peer_bytes(&pc->peer, &family);
		if (acl_check_name(svc->acl, family, addr, pc->have_name ? pc->name : NULL, NULL,
		        0) != ACL_ALLOW)
			why = "address";
	}
	if (why == NULL && (svc->conf->flags & F_IDONLY) && pc->userid[0] == '\0')
		why = "ident";
	if (pc->fd < 0) {
		accept_wait_decided(svc, why == NULL, &pc->peer, why);
	} else if (why != NULL) {
		accept_refuse(svc, pc->fd, &pc->peer, why);
	} else if (!accept_dispatch(svc, pc->fd, &pc->peer)) {
		accept_fork_failed(svc, pc->fd, &pc->peer);
	}
	pc->fd = -1;
	accept_pconn_free(pc);
}

static void
accept_name_done(void *arg, const char *name)
{
	struct pconn *pc = arg;

	pc->rq = NULL;
	pc->need_name = false;
	if (name != NULL) {
		pc->have_name = true;
		snprintf(pc->name, sizeof(pc->name), "%s", name);
	}
	accept_pconn_decide(pc);
}

static void
accept_ident_done(void *arg, const char *userid, const char *reason)
{
	struct pconn *pc = arg;

	pc->id = NULL;
	pc->need_ident = false;
	if (userid != NULL)
		snprintf(pc->userid, sizeof(pc->userid), "%s", userid);
	log_userid(&(struct log_event){ .svc = pc->svc,
	    .peer = &pc->peer,
	    .userid = userid,
	    .reason = reason });
	accept_pconn_decide(pc);
}

static void
accept_pconn_timeout(void *arg)
{
	struct pconn *pc = arg;

	/* No answer in time counts as no name. */
	resolve_cancel(pc->rq);
	pc->rq = NULL;
	pc->need_name = false;
	accept_pconn_decide(pc);
}

/* Holds the client until its name (and with IDONLY its ident answer) is
 * known. fd < 0: the first datagram of a wait = yes service. */
static void
accept_hold(struct svc *svc, int fd, const struct peer *peer, bool need_name)
{
	struct pconn *pc = calloc(1, sizeof(*pc));
	bool idonly = (svc->conf->flags & F_IDONLY) && fd >= 0;

	if (pc == NULL) {
		if (fd >= 0)
			accept_refuse(svc, fd, peer, "address");
		else
			accept_wait_decided(svc, false, peer, "address");
		return;
	}
	pc->svc = svc;
	pc->fd = fd;
	pc->peer = *peer;
	pc->t.fn = accept_pconn_timeout;
	pc->t.arg = pc;
	pc->next = svc->pending;
	svc->pending = pc;
	if (need_name) {
		pc->need_name = true;
		pc->rq = resolve_peer(peer, accept_name_done, pc);
		if (pc->rq == NULL)
			pc->need_name = false;
		else
			loop_timer_set(&pc->t, LOOKUP_MS);
	}
	if (idonly) {
		pc->local.len = sizeof(pc->local.sa);
		if (getsockname(fd, (struct sockaddr *)&pc->local.sa, &pc->local.len) == 0) {
			peer_normalize(&pc->local);
			pc->need_ident = true;
			pc->id = ident_start(peer, &pc->local, IDENT_MS, accept_ident_done, pc);
			if (pc->id == NULL)
				pc->need_ident = false;
		}
	}
	accept_pconn_decide(pc);
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
	/* Only svc itself is touched: during a reload the list is being
	 * rebuilt. */
	for (struct svc *s = svc != NULL ? (struct svc *)svc : svc_list; s != NULL;
	     s = svc != NULL ? NULL : s->next) {
		while (s->pending != NULL) {
			if (s->pending->fd >= 0)
				close(s->pending->fd);
			accept_pconn_free(s->pending);
		}
	}
	if (svc == NULL) {
		limits_sensor_free(sensor_list);
		sensor_list = NULL;
	}
}

/* ------------------------------------------------------------ listeners */

void
accept_client(struct svc *svc, int conn, const struct peer *peer)
{
	const char *why;
	bool need_name;

	if ((why = accept_check(svc, peer, &need_name)) != NULL)
		accept_refuse(svc, conn, peer, why);
	else if (need_name || (svc->conf->flags & F_IDONLY))
		accept_hold(svc, conn, peer, need_name);
	else if (!accept_dispatch(svc, conn, peer))
		accept_fork_failed(svc, conn, peer);
}

static void
accept_stream(struct svc *svc)
{
	/* Served inside the loop: the socket must not block. */
	bool nonblock =
	    svc->kind == SVC_INTERNAL || svc->kind == SVC_REDIRECT || svc->kind == SVC_TCPMUX;

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
				accept_pause(svc, PAUSE_EMFILE, EMFILE_PAUSE_MS);
				return;
			default:
				log_warn("%s: accept", svc->conf->id);
				return;
			}
		}
		peer_normalize(&peer);
		accept_client(svc, conn, &peer);
		if (svc->paused)
			return; /* cps: the rest wait in the backlog */
	}
}

/* A wait = yes server gets the socket itself; the service sleeps until
 * it exits, and datagrams that arrive meanwhile wait for the next one. */
static void
accept_wait_start(struct svc *svc, const struct peer *peer)
{
	if (!accept_dispatch(svc, svc->fd, peer)) {
		log_warn("%s: fork (trying again in %d ms)", svc->conf->id, RETRY_MS);
		accept_log_fail(svc, "fork", peer);
		accept_pause(svc, PAUSE_RETRY, RETRY_MS);
		return;
	}
	service_pause(svc, PAUSE_WAIT);
}

/* Drops the datagram a refused client sent, so it is not seen again. */
static void
accept_drop_datagram(struct svc *svc)
{
	char byte;

	if (recv(svc->fd, &byte, 1, MSG_DONTWAIT | MSG_TRUNC) < 0 && errno != EAGAIN)
		log_warn("%s: recv", svc->conf->id);
}

static void
accept_wait_decided(struct svc *svc, bool allowed, const struct peer *peer, const char *why)
{
	service_resume(svc, PAUSE_LOOKUP);
	if (allowed) {
		accept_wait_start(svc, peer);
		return;
	}
	svc->refused++;
	accept_log_fail(svc, why, peer);
	if (svc->conf->socket_type == SOCK_DGRAM)
		accept_drop_datagram(svc);
	else
		/* The client stays queued for the server, which only a later
		 * check can let in: look again in a second, not at once. */
		accept_pause(svc, PAUSE_RETRY, RETRY_MS);
}

static void
accept_wait(struct svc *svc)
{
	struct peer peer, *pp = NULL;
	const char *why;
	bool need_name;
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
	if ((why = accept_check(svc, pp, &need_name)) != NULL) {
		accept_wait_decided(svc, false, pp, why);
		return;
	}
	if (need_name) {
		/* Decide on the first datagram before anything reads it. */
		service_pause(svc, PAUSE_LOOKUP);
		accept_hold(svc, -1, pp, true);
		return;
	}
	accept_wait_start(svc, pp);
}

/* A datagram SENSOR: every sender goes on the deny list. */
static void
accept_sensor_dgram(struct svc *svc)
{
	const struct service_config *s = svc->conf;

	for (int i = 0; i < ACCEPT_BATCH; i++) {
		struct peer peer;
		char byte;
		int family;
		const uint8_t *addr;

		peer.len = sizeof(peer.sa);
		if (recvfrom(svc->fd, &byte, 1, MSG_DONTWAIT | MSG_TRUNC,
		        (struct sockaddr *)&peer.sa, &peer.len) < 0)
			return;
		peer_normalize(&peer);
		svc->accepted++;
		if (s->deny_time == 0)
			continue;
		addr = peer_bytes(&peer, &family);
		limits_sensor_add(accept_sensor(), family, addr,
		    s->deny_time == DENY_FOREVER ? UINT64_MAX :
		                                   loop_now() + (uint64_t)s->deny_time * 1000);
	}
}

void
accept_ready(int fd, uint32_t events, void *arg)
{
	struct svc *svc = arg;

	(void)fd, (void)events;
	if (svc->kind == SVC_SENSOR && svc->conf->socket_type == SOCK_DGRAM)
		accept_sensor_dgram(svc);
	else if (svc->kind == SVC_INTERNAL && svc->conf->socket_type == SOCK_DGRAM)
		internal_dgram(svc);
	else if (svc->conf->wait == 1 && svc->kind == SVC_SPAWN)
		accept_wait(svc);
	else if (svc->conf->socket_type == SOCK_STREAM)
		accept_stream(svc);
}
