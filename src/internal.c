/*
 * internal.c: the builtin services echo, discard, chargen, daytime and time,
 * stream and dgram, served inside the daemon without a process. Stream
 * sessions are small state machines in the event loop with a bounded buffer
 * and an idle timer; datagrams are answered in place, in bounded batches,
 * never towards a port that could bounce them back (reflection and loops).
 */
#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "porterd.h"

/* No traffic either way for this long ends a stream session. */
#ifndef INTERNAL_IDLE_MS
#define INTERNAL_IDLE_MS (300 * 1000)
#endif

#define INTERNAL_ECHO_BUF (16 * 1024) /* per echo session */
#define INTERNAL_BURST (64 * 1024)    /* chargen bytes per wakeup */
#define INTERNAL_DGRAM_BATCH 64       /* datagrams per wakeup */
#define INTERNAL_DGRAM_ECHO 8192      /* longest echo reply */
#define INTERNAL_DAYTIME_MAX 96

/* RFC 864: lines of 72 of the 95 printable characters ' '..'~', each line
 * starting one character further; the pattern repeats every 95 lines. */
#define INTERNAL_LINE 72
#define INTERNAL_NCHARS 95
#define INTERNAL_LINELEN (INTERNAL_LINE + 2)
#define INTERNAL_CYCLE (INTERNAL_NCHARS * INTERNAL_LINELEN)
#define INTERNAL_DGRAM_LINES (1024 / INTERNAL_LINELEN)

/* Seconds from 1900-01-01 to 1970-01-01 (RFC 868). */
#define INTERNAL_EPOCH_1900 2208988800u

enum internal_kind { IB_ECHO, IB_DISCARD, IB_CHARGEN, IB_DAYTIME, IB_TIME };

/*
 * The builtins by name and socket type; internal_find returns an index into
 * this table. "tcpmux" (stream only) is reserved: it is served by its own
 * code, not from here.
 */
static const struct internal_builtin {
	const char *name;
	int socket_type;
	enum internal_kind kind;
} internal_builtins[] = {
	{ "echo", SOCK_STREAM, IB_ECHO },
	{ "echo", SOCK_DGRAM, IB_ECHO },
	{ "discard", SOCK_STREAM, IB_DISCARD },
	{ "discard", SOCK_DGRAM, IB_DISCARD },
	{ "chargen", SOCK_STREAM, IB_CHARGEN },
	{ "chargen", SOCK_DGRAM, IB_CHARGEN },
	{ "daytime", SOCK_STREAM, IB_DAYTIME },
	{ "daytime", SOCK_DGRAM, IB_DAYTIME },
	{ "time", SOCK_STREAM, IB_TIME },
	{ "time", SOCK_DGRAM, IB_TIME },
};

#define INTERNAL_NBUILTINS (sizeof(internal_builtins) / sizeof(internal_builtins[0]))

/*
 * One stream session of echo, discard or chargen. The loop holds a pointer
 * to w while it is armed, so a session is unlinked and unwatched at once
 * but freed only after the round of events it ended in.
 */
struct isession {
	struct watch w;  /* w.fd is the connection */
	struct timer t;  /* idle timeout and hard cap */
	struct svc *svc; /* holds slot in its counts */
	struct service_slot slot;
	struct peer peer;
	enum internal_kind kind;
	uint32_t events;   /* what w is armed for */
	uint64_t start;    /* loop_now() */
	uint64_t last;     /* loop_now() of the last traffic */
	uint64_t deadline; /* hard cap from timeout; 0 none */
	uint64_t bytes_in;
	uint64_t bytes_out;
	size_t pos; /* chargen: offset in internal_ring */
	size_t off; /* echo: first unsent byte of buf */
	size_t len; /* echo: end of the buffered bytes */
	bool eof;   /* the peer sent everything it will send */
	LIST_ENTRY(isession) entry;
	struct loop_defer dead;
	char buf[]; /* echo: INTERNAL_ECHO_BUF bytes */
};

static LIST_HEAD(, isession) internal_sessions = LIST_HEAD_INITIALIZER(internal_sessions);

/* Two cycles of the chargen pattern back to back, so that any run of up to
 * one cycle from an offset inside the first is contiguous. */
static char internal_ring[2 * INTERNAL_CYCLE];
static bool internal_ring_ready;
static size_t internal_dgram_line;

/* Where input that is read only to be dropped goes, and the datagrams. */
static unsigned char internal_scratch[64 * 1024];

int
internal_find(const char *name, int socket_type)
{
	for (size_t i = 0; i < INTERNAL_NBUILTINS; i++)
		if (internal_builtins[i].socket_type == socket_type &&
		    strcmp(internal_builtins[i].name, name) == 0)
			return (int)i;
	return -1;
}

static const struct internal_builtin *
internal_builtin(const struct svc *svc, int socket_type)
{
	if (svc->internal < 0 || (size_t)svc->internal >= INTERNAL_NBUILTINS)
		return NULL;
	if (internal_builtins[svc->internal].socket_type != socket_type)
		return NULL;
	return &internal_builtins[svc->internal];
}

static void
internal_ring_init(void)
{
	if (internal_ring_ready)
		return;
	for (size_t l = 0; l < 2 * INTERNAL_NCHARS; l++) {
		char *p = internal_ring + l * INTERNAL_LINELEN;

		for (size_t i = 0; i < INTERNAL_LINE; i++)
			p[i] = (char)(' ' + (l + i) % INTERNAL_NCHARS);
		p[INTERNAL_LINE] = '\r';
		p[INTERNAL_LINE + 1] = '\n';
	}
	internal_ring_ready = true;
}

/*
 * The daytime text, as xinetd writes it: "29 NOV 2026 11:11:01 UTC\r\n",
 * local time, the month in upper case whatever the locale. The line is made
 * once a second and kept: a busy daytime port costs no formatting and no
 * stat of /etc/localtime per client (tzset() runs with each new line, so a
 * changed zone shows within a second). Sets *len; NULL on failure.
 */
static const char *
internal_daytime(size_t *len)
{
	static const char months[12][4] = { "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG",
		"SEP", "OCT", "NOV", "DEC" };
	static char line[INTERNAL_DAYTIME_MAX];
	static size_t line_len;
	static time_t line_at = (time_t)-1;
	time_t now = time(NULL);
	struct tm tm;
	size_t zone;
	int n;

	if (now == line_at && line_len > 0) {
		*len = line_len;
		return line;
	}
	line_len = 0;
	tzset();
	if (localtime_r(&now, &tm) == NULL || tm.tm_mon < 0 || tm.tm_mon > 11)
		return NULL;
	n = snprintf(line, sizeof(line), "%02d %s %d %02d:%02d:%02d", tm.tm_mday, months[tm.tm_mon],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
	if (n < 0 || (size_t)n + 3 > sizeof(line))
		return NULL;
	zone = strftime(line + n, sizeof(line) - (size_t)n, " %Z\r\n", &tm);
	if (zone == 0) {
		/* No room for the zone name: the line without it. */
		memcpy(line + n, "\r\n", 3);
		zone = 2;
	}
	line_len = (size_t)n + zone;
	line_at = now;
	*len = line_len;
	return line;
}

/* RFC 868: seconds since 1900 in 32 bits, big-endian; wraps in 2036. */
static void
internal_time(unsigned char out[4])
{
	uint32_t t = (uint32_t)((uint64_t)time(NULL) + INTERNAL_EPOCH_1900);

	out[0] = (unsigned char)(t >> 24);
	out[1] = (unsigned char)(t >> 16);
	out[2] = (unsigned char)(t >> 8);
	out[3] = (unsigned char)t;
}

/* ------------------------------------------------------------ stream */

/*
 * daytime and time: one write and close. A fresh socket's send buffer always
 * has room for a few bytes, so a failed or short write only means the peer
 * is gone already. Input the client sent first is read away so the close
 * sends a FIN, not a reset that could destroy the reply in flight.
 */
static void
internal_oneshot(int conn, const void *buf, size_t len)
{
	for (int i = 0; i < 4; i++)
		if (recv(conn, internal_scratch, sizeof(internal_scratch), MSG_DONTWAIT) <= 0)
			break;
	/* MSG_MORE holds the reply back until close() adds the FIN, so the
	 * answer and the end of it leave in one segment. */
	if (len > 0)
		(void)send(conn, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT | MSG_MORE);
	close(conn);
}

static void
internal_end(struct isession *s)
{
	loop_unwatch(&s->w);
	loop_timer_cancel(&s->t);
	close(s->w.fd);
	s->w.fd = -1;
	LIST_REMOVE(s, entry);
	service_release(s->svc, &s->slot);
	loop_defer_free(&s->dead, s, free);
}

/* Arms the watch for what the session waits for now; false when it cannot
 * (the session is over then). */
static bool
internal_arm(struct isession *s)
{
	uint32_t ev = 0;

	switch (s->kind) {
	case IB_ECHO:
		if (!s->eof && s->len < INTERNAL_ECHO_BUF)
			ev |= EPOLLIN;
		if (s->len > s->off)
			ev |= EPOLLOUT;
		break;
	case IB_DISCARD:
		ev = EPOLLIN;
		break;
	case IB_CHARGEN:
		ev = EPOLLOUT | (s->eof ? 0 : EPOLLIN);
		break;
	default:
		return false;
	}
	if (ev == s->events && s->w.armed)
		return true;
	if (loop_watch(&s->w, ev) != 0)
		return false;
	s->events = ev;
	return true;
}

/* Reads into buf; 1 on data, 0 when there is nothing now, -1 at EOF or on
 * an error (s->eof tells which). */
static int
internal_read(struct isession *s, void *buf, size_t len)
{
	ssize_t n = recv(s->w.fd, buf, len, MSG_DONTWAIT);

	if (n > 0) {
		s->bytes_in += (uint64_t)n;
		s->last = loop_now();
		if (s->kind == IB_ECHO)
			s->len += (size_t)n;
		return 1;
	}
	if (n == 0) {
		s->eof = true;
		return -1;
	}
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return 0;
	return -1;
}

/* Writes; the number of bytes written, 0 when the socket is full, -1 when
 * the peer is gone. */
static ssize_t
internal_write(struct isession *s, const void *buf, size_t len)
{
	ssize_t n = send(s->w.fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);

	if (n > 0) {
		s->bytes_out += (uint64_t)n;
		s->last = loop_now();
		return n;
	}
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return 0;
	return -1;
}

/*
 * echo: one read while there is room and one write of what is buffered per
 * wakeup. A full buffer stops the reading until the peer reads, so a client
 * that sends without reading costs INTERNAL_ECHO_BUF and no more. After EOF
 * the rest is flushed, then the write side is shut down and closed.
 */
static bool
internal_echo(struct isession *s, uint32_t events)
{
	if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !s->eof) {
		if (s->len == INTERNAL_ECHO_BUF && s->off > 0) {
			memmove(s->buf, s->buf + s->off, s->len - s->off);
			s->len -= s->off;
			s->off = 0;
		}
		if (s->len < INTERNAL_ECHO_BUF &&
		    internal_read(s, s->buf + s->len, INTERNAL_ECHO_BUF - s->len) < 0 && !s->eof)
			return false;
	}
	if (s->len > s->off) {
		ssize_t n = internal_write(s, s->buf + s->off, s->len - s->off);

		if (n < 0)
			return false;
		s->off += (size_t)n;
		if (s->off == s->len)
			s->off = s->len = 0;
	}
	if (s->eof && s->len == 0) {
		(void)shutdown(s->w.fd, SHUT_WR);
		return false;
	}
	return true;
}

static bool
internal_discard(struct isession *s, uint32_t events)
{
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		return internal_read(s, internal_scratch, sizeof(internal_scratch)) >= 0;
	return true;
}

/*
 * chargen: the pattern from the session's place in the ring, up to
 * INTERNAL_BURST bytes per wakeup so other sessions get their turn. Input is
 * read and dropped; after the peer's EOF the lines keep coming until it
 * closes or resets, which the next write reports.
 */
static bool
internal_chargen(struct isession *s, uint32_t events)
{
	if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !s->eof &&
	    internal_read(s, internal_scratch, sizeof(internal_scratch)) < 0 && !s->eof)
		return false;
	if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) {
		for (size_t sent = 0; sent < INTERNAL_BURST;) {
			ssize_t n = internal_write(s, internal_ring + s->pos, INTERNAL_CYCLE);

			if (n < 0)
				return false;
			if (n == 0)
				break;
			s->pos = (s->pos + (size_t)n) % INTERNAL_CYCLE;
			sent += (size_t)n;
		}
	}
	return true;
}

static void
internal_ready(int fd, uint32_t events, void *arg)
{
	struct isession *s = arg;
	bool alive;

	(void)fd;
	switch (s->kind) {
	case IB_ECHO:
		alive = internal_echo(s, events);
		break;
	case IB_DISCARD:
		alive = internal_discard(s, events);
		break;
	case IB_CHARGEN:
		alive = internal_chargen(s, events);
		break;
	default:
		alive = false;
		break;
	}
	if (!alive || !internal_arm(s))
		internal_end(s);
}

/*
 * The session timer runs to the earlier of the idle limit and the hard cap.
 * Traffic only moves s->last, so a busy session costs no timer updates:
 * when the timer fires early it is set again for what is left.
 */
static uint64_t
internal_due(const struct isession *s)
{
	uint64_t due = s->last + INTERNAL_IDLE_MS;

	if (s->deadline != 0 && s->deadline < due)
		due = s->deadline;
	return due;
}

static void
internal_expire(void *arg)
{
	struct isession *s = arg;
	uint64_t now = loop_now();
	uint64_t due = internal_due(s);

	if (now >= due) {
		internal_end(s);
		return;
	}
	loop_timer_set(&s->t, due - now);
}

void
internal_stream(struct svc *svc, int conn, const struct peer *peer)
{
	const struct internal_builtin *b = internal_builtin(svc, SOCK_STREAM);
	struct isession *s;
	unsigned char tbuf[4];
	const char *day;
	size_t daylen;

	if (b == NULL) {
		close(conn);
		return;
	}
	switch (b->kind) {
	case IB_DAYTIME:
		day = internal_daytime(&daylen);
		internal_oneshot(conn, day, day != NULL ? daylen : 0);
		return;
	case IB_TIME:
		internal_time(tbuf);
		internal_oneshot(conn, tbuf, sizeof(tbuf));
		return;
	case IB_CHARGEN:
		internal_ring_init();
		break;
	default:
		break;
	}

	/* Out of memory on the connection path refuses this one connection. */
	s = malloc(sizeof(*s) + (b->kind == IB_ECHO ? INTERNAL_ECHO_BUF : 0));
	if (s == NULL) {
		close(conn);
		return;
	}
	memset(s, 0, sizeof(*s));
	s->w.fd = conn;
	s->w.fn = internal_ready;
	s->w.arg = s;
	s->t.fn = internal_expire;
	s->t.arg = s;
	s->svc = svc;
	if (peer != NULL)
		s->peer = *peer;
	s->kind = b->kind;
	s->start = s->last = loop_now();
	if (svc->conf != NULL && svc->conf->timeout > 0)
		s->deadline = s->start + (uint64_t)svc->conf->timeout * 1000;
	if (!internal_arm(s)) {
		close(conn);
		free(s);
		return;
	}
	LIST_INSERT_HEAD(&internal_sessions, s, entry);
	service_take(svc, peer, &s->slot);
	loop_timer_set(&s->t, internal_due(s) - s->start);
}

void
internal_close(const struct svc *svc)
{
	struct isession *s, *next;

	for (s = LIST_FIRST(&internal_sessions); s != NULL; s = next) {
		next = LIST_NEXT(s, entry);
		if (svc == NULL || s->svc == svc)
			internal_end(s);
	}
}

/*
 * At exit, after the loop has stopped: no round of events can still point
 * at a session, so they are freed here and now. The services may be gone
 * already, so their counters are left alone.
 */
void
internal_shutdown(void)
{
	while (!LIST_EMPTY(&internal_sessions)) {
		struct isession *s = LIST_FIRST(&internal_sessions);

		loop_unwatch(&s->w);
		loop_timer_cancel(&s->t);
		close(s->w.fd);
		LIST_REMOVE(s, entry);
		free(s);
	}
}

/* ------------------------------------------------------------- dgram */

/* Source ports that answer datagrams themselves: an answer to one would
 * make porterd a reflector, or start a loop. Below 1024, every UDP port
 * named in /etc/services, and the ports of porterd's own datagram
 * builtins; set at each load. */
static uint8_t internal_reflectors[65536 / 8];

static void
internal_reflector_set(int port)
{
	if (port > 0 && port < 65536)
		internal_reflectors[port / 8] |= (uint8_t)(1u << (port % 8));
}

void
internal_prepare(void)
{
	struct servent *se;

	memset(internal_reflectors, 0, sizeof(internal_reflectors));
	setservent(0);
	while ((se = getservent()) != NULL)
		if (strcmp(se->s_proto, "udp") == 0)
			internal_reflector_set(ntohs((uint16_t)se->s_port));
	endservent();
	const struct svc *o;

	STAILQ_FOREACH(o, &svc_list, link)
	if (o->kind == SVC_INTERNAL && o->conf != NULL && o->conf->socket_type == SOCK_DGRAM)
		internal_reflector_set(o->conf->port);
}

static bool
internal_reflects(const union sockaddr_in46 *ss)
{
	int port;

	if (ss->sa.sa_family == AF_INET)
		port = ntohs(ss->sin.sin_port);
	else if (ss->sa.sa_family == AF_INET6)
		port = ntohs(ss->sin6.sin6_port);
	else
		return true;
	return port < 1024 || (internal_reflectors[port / 8] & (1u << (port % 8))) != 0;
}

/* Whether the answer to a request of n bytes would be larger than it: a
 * forged request would then make porterd send more than it received.
 * chargen answers as many bytes as it was sent instead; FULLREPLY answers
 * in full, as RFC 864, 867 and 868 clients that send empty datagrams
 * expect. */
static bool
internal_amplifies(const struct svc *svc, const struct internal_builtin *b, size_t n)
{
	size_t len;

	if (svc->conf->flags & F_FULLREPLY)
		return false;
	switch (b->kind) {
	case IB_CHARGEN:
		return n == 0;
	case IB_DAYTIME:
		return internal_daytime(&len) == NULL || n < len;
	case IB_TIME:
		return n < 4;
	default:
		return false;
	}
}

void
internal_dgram(struct svc *svc)
{
	const struct internal_builtin *b = internal_builtin(svc, SOCK_DGRAM);
	unsigned char tbuf[4];

	if (b != NULL && b->kind == IB_CHARGEN)
		internal_ring_init();
	/* cps pauses the service: what comes next waits in the socket. */
	for (int i = 0; i < INTERNAL_DGRAM_BATCH && !svc->paused; i++) {
		union sockaddr_in46 ss; /* as received: the answer goes there */
		socklen_t sslen = sizeof(ss);
		const void *reply;
		size_t len;
		ssize_t n;

		n = recvfrom(svc->fd, internal_scratch, sizeof(internal_scratch), MSG_DONTWAIT,
		    (struct sockaddr *)&ss, &sslen);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		/* An unknown builtin only drains its socket. */
		if (b == NULL)
			continue;
		{
			struct peer p;
			/* discard answers nothing, so it reflects nothing. */
			bool refuse = (b->kind != IB_DISCARD && internal_reflects(&ss)) ||
			    internal_amplifies(svc, b, (size_t)n);

			p.sa = ss;
			p.len = sslen;
			peer_normalize(&p);
			if (!client_datagram(svc, &p, refuse))
				continue;
		}
		if (b->kind == IB_DISCARD)
			continue;
		switch (b->kind) {
		case IB_ECHO:
			reply = internal_scratch;
			len = (size_t)n < INTERNAL_DGRAM_ECHO ? (size_t)n : INTERNAL_DGRAM_ECHO;
			break;
		case IB_CHARGEN:
			reply = internal_ring + internal_dgram_line * INTERNAL_LINELEN;
			len = INTERNAL_DGRAM_LINES * INTERNAL_LINELEN;
			/* No more than was asked, unless FULLREPLY. */
			if (!(svc->conf->flags & F_FULLREPLY) && (size_t)n < len)
				len = (size_t)n;
			internal_dgram_line =
			    (internal_dgram_line + INTERNAL_DGRAM_LINES) % INTERNAL_NCHARS;
			break;
		case IB_DAYTIME:
			reply = internal_daytime(&len);
			if (reply == NULL)
				continue;
			break;
		case IB_TIME:
			internal_time(tbuf);
			reply = tbuf;
			len = sizeof(tbuf);
			break;
		default:
			continue;
		}
		(void)sendto(svc->fd, reply, len, MSG_DONTWAIT | MSG_NOSIGNAL,
		    (const struct sockaddr *)&ss, sslen);
	}
}

void
internal_foreach(
    void (*fn)(void *, const char *, const struct peer *, uint64_t, uint64_t, uint64_t), void *arg)
{
	const struct isession *is;

	LIST_FOREACH(is, &internal_sessions, entry)
	if (is->svc != NULL && is->svc->conf != NULL)
		fn(arg, is->svc->conf->id, &is->peer, is->start, is->bytes_in, is->bytes_out);
}
