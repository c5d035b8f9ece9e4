/*
 * load.c: porter's load generator. One epoll loop over non-blocking sockets
 * per mode; every mode is bounded in time (-d) and in count (-n), talks only
 * to loopback addresses (127.0.0.0/8 and ::1: anything else is refused
 * before a socket exists), and prints one JSON object on stdout.
 *
 *   connect-read  connect, read to EOF, close; -c at once. conn/s, latency.
 *   relay-cps     the same through a relay; counts only replies with bytes.
 *   echo-rr       64-byte request/response round trips on one connection.
 *   bulk          send -s bytes to a sink (through the target) and wait for
 *                 its count back: MB/s.
 *   sink          the other end of bulk; with -g it greets and closes
 *                 instead (the trivial target of relay-cps).
 *   echo-server   the floor of B's echo: a bare epoll loop (recv, send) in
 *                 C, or with -b a blocking read/write loop serving one
 *                 connection at a time, as xinetd's forked echo does.
 *   flood         -k connects at once to -t while -P is probed every -p ms;
 *                 served / refused / stalled, and the time until -t serves
 *                 normally again.
 *   startup       run a daemon (after --), time from exec until every port
 *                 of -t accepts a connection, then supervise it until
 *                 SIGTERM: the daemon's process group is then stopped.
 *   tls-read      connect-read through a TLS 1.3 handshake (OpenSSL; the
 *                 server's certificate verified against -K CAFILE for
 *                 "localhost"); -S resumes with session tickets and counts
 *                 how many the server resumed.
 *   tls-bulk      bulk inside one TLS connection.
 *
 * connect-read -w PID samples that process's state every millisecond while
 * it runs: running, asleep (its event loop waiting), or blocked in the
 * kernel, and blocked waiting for a vfork child to exec in particular.
 *
 * connect-read and relay-cps -H v1|v2 begin each connection with a PROXY
 * protocol header, as a balancer would: the client it names is 192.0.2.1
 * (2001:db8::1 to an IPv6 target) with a port that changes from one
 * connection to the next. sink -A reads such a header (any version) before
 * its work, as a backend behind a relay with redirect_proxy does.
 *
 * Addresses are HOST:PORT, [V6]:PORT; startup takes HOST:P1-P2,P3,...
 */
#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#define MAX_SECONDS 3600
#define MAX_COUNT 10000000L
#define MAX_CONC 4096
#define BUF_SIZE (1 << 20)

struct addr {
	struct sockaddr_storage ss;
	socklen_t len;
	char text[80];
};

struct opts {
	const char *mode;
	const char *label;
	struct addr target, probe, listen;
	bool have_target, have_probe, have_listen;
	const char *target_spec;
	int conc;
	double seconds;
	long count;
	int timeout_ms;
	unsigned long long size;
	int k;
	int probe_ms;
	int window_ms;
	int recover_ms;
	int reqsize;
	bool greet;
	bool blocking;
	int proxy;		/* -H: 1 or 2, the PROXY header to send; 0 none */
	bool proxy_in;		/* sink -A: read a PROXY header first */
	const char *cafile;	/* -K: the CA the TLS modes verify against */
	bool resume;		/* tls-read -S: resume with session tickets */
	const char *outfile;
	char **cmd;
	int watch_pid;
};

static struct opts o = {
	.label = "", .conc = 1, .seconds = 5, .count = 1000000, .timeout_ms = 5000,
	.size = 256ull << 20, .k = 500, .probe_ms = 10, .window_ms = 3000,
	.recover_ms = 5000, .reqsize = 64,
};

static char *buf;
static volatile sig_atomic_t stop_flag;

static void
die(const char *what)
{
	fprintf(stderr, "load: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void
usage(void)
{
	fputs("usage: load MODE [-t addr] [-P probe-addr] [-l listen-addr] [-c conc]\n"
	      "            [-d seconds] [-n count] [-T timeout-ms] [-s bytes] [-k flood]\n"
	      "            [-p probe-ms] [-W window-ms] [-R recover-ms] [-r reqsize] [-g]\n"
	      "            [-w pid] [-b] [-H v1|v2] [-A] [-K ca-file] [-S]\n"
	      "            [-o file] [-L label] [-- command...]\n"
	      "modes: connect-read relay-cps echo-rr bulk sink echo-server flood startup\n"
	      "       tls-read tls-bulk\n",
	    stderr);
	exit(64);
}

static uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* ------------------------------------------------------------ addresses */

static bool
is_loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)ss;

		return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	}
	if (ss->ss_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;

		if (IN6_IS_ADDR_LOOPBACK(a))
			return true;
		return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127;
	}
	return false;
}

/* HOST:PORT or [V6]:PORT; port may be given apart (>= 0) for startup. */
static bool
parse_host(const char *spec, const char *port_text, struct addr *a)
{
	char host[64];
	const char *colon;
	size_t hl;
	long port;
	char *end;

	memset(a, 0, sizeof(*a));
	if (spec[0] == '[') {
		const char *rb = strchr(spec, ']');

		if (rb == NULL || rb[1] != ':')
			return false;
		hl = (size_t)(rb - spec - 1);
		if (hl >= sizeof(host))
			return false;
		memcpy(host, spec + 1, hl);
		colon = rb + 1;
	} else {
		colon = strrchr(spec, ':');
		if (colon == NULL)
			return false;
		hl = (size_t)(colon - spec);
		if (hl >= sizeof(host))
			return false;
		memcpy(host, spec, hl);
	}
	host[hl] = '\0';
	if (port_text == NULL)
		port_text = colon + 1;
	errno = 0;
	port = strtol(port_text, &end, 10);
	if (errno != 0 || end == port_text || (*end != '\0' && *end != ',' && *end != '-') ||
	    port < 1 || port > 65535)
		return false;
	if (inet_pton(AF_INET, host, &((struct sockaddr_in *)&a->ss)->sin_addr) == 1) {
		struct sockaddr_in *in = (struct sockaddr_in *)&a->ss;

		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)port);
		a->len = sizeof(*in);
	} else if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)&a->ss)->sin6_addr) == 1) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&a->ss;

		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		a->len = sizeof(*in6);
	} else
		return false;
	if (!is_loopback(&a->ss)) {
		fprintf(stderr, "load: %s is not a loopback address; refused\n", host);
		exit(64);
	}
	snprintf(a->text, sizeof(a->text), a->ss.ss_family == AF_INET6 ? "[%s]:%ld" : "%s:%ld",
	    host, port);
	return true;
}

static void
parse_addr_or_die(const char *spec, struct addr *a)
{
	if (!parse_host(spec, NULL, a)) {
		fprintf(stderr, "load: bad address \"%s\" (want HOST:PORT or [V6]:PORT)\n", spec);
		exit(64);
	}
}

static int
new_socket(const struct addr *a, bool nonblock)
{
	int fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0),
	    0);

	if (fd < 0)
		die("socket");
	return fd;
}

/* A blocking connect with a timeout; -1 and errno on failure. */
static int
connect_blocking(const struct addr *a, int timeout_ms)
{
	int fd = new_socket(a, false);
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };

	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (const struct sockaddr *)&a->ss, a->len) != 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	tv.tv_sec = 0;
	tv.tv_usec = 0;
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
}

/* ------------------------------------------------------------ latencies */

struct lat {
	uint32_t *v;
	size_t n, cap;
};

static void
lat_add(struct lat *l, uint64_t us)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 4096;
		l->v = realloc(l->v, l->cap * sizeof(*l->v));
		if (l->v == NULL)
			die("realloc");
	}
	l->v[l->n++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static double
lat_pct(struct lat *l, double p)
{
	static struct lat *sorted;

	if (l->n == 0)
		return 0;
	if (sorted != l) {
		qsort(l->v, l->n, sizeof(*l->v), cmp_u32);
		sorted = l;
	}
	return l->v[(size_t)((double)(l->n - 1) * p)] / 1000.0;
}

/* ------------------------------------------------------------ sampling */

struct states {
	long n, run, sleep, blocked, vfork;
};

/* One look at /proc/PID/stat (and wchan when blocked). */
static void
sample_state(int pid, struct states *st)
{
	char path[64], text[512], *p;
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n <= 0)
		return;
	text[n] = '\0';
	if ((p = strrchr(text, ')')) == NULL || p[1] != ' ')
		return;
	st->n++;
	switch (p[2]) {
	case 'R':
		st->run++;
		break;
	case 'D':
		st->blocked++;
		snprintf(path, sizeof(path), "/proc/%d/wchan", pid);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
			n = read(fd, text, sizeof(text) - 1);
			close(fd);
			if (n > 0) {
				text[n] = '\0';
				/* wait_for_vfork_done is inlined into kernel_clone. */
				if (strstr(text, "vfork") != NULL ||
				    strstr(text, "kernel_clone") != NULL)
					st->vfork++;
			}
		}
		break;
	default:
		st->sleep++;
		break;
	}
}

/* ------------------------------------------------------------ connect-read */

enum outcome { O_NONE, O_OK, O_EMPTY, O_REFUSED, O_RESET, O_TIMEOUT, O_ERROR, O_N };

struct conn {
	int fd;
	uint64_t start;
	uint64_t connected;
	uint64_t got;
	enum outcome out;
	bool hdr_pending;	/* -H: the header waits for the connect */
};

/* Reads what is there; returns the outcome when the connection is over. */
static enum outcome
conn_read(struct conn *c)
{
	for (;;) {
		ssize_t n = recv(c->fd, buf, BUF_SIZE, 0);

		if (n > 0) {
			c->got += (uint64_t)n;
			continue;
		}
		if (n == 0)
			return c->got > 0 ? O_OK : O_EMPTY;
		if (errno == EAGAIN || errno == EINTR)
			return O_NONE;
		if (errno == ECONNREFUSED)
			return O_REFUSED;
		if (errno == ECONNRESET || errno == EPIPE)
			return c->got > 0 ? O_OK : O_RESET;
		return O_ERROR;
	}
}

/* The PROXY header of -H for a connection to a: the client 192.0.2.1 (or
 * 2001:db8::1), its port taken from a counter. Returns its length. */
static size_t
proxy_header(const struct addr *a, unsigned char *out, size_t size)
{
	static const unsigned char sig[12] = { 0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51,
		0x55, 0x49, 0x54, 0x0a };
	static unsigned n;
	bool v6 = a->ss.ss_family == AF_INET6;
	unsigned sport = 1024 + n++ % 64000, dport = ntohs(v6 ?
	    ((const struct sockaddr_in6 *)&a->ss)->sin6_port :
	    ((const struct sockaddr_in *)&a->ss)->sin_port);
	char dst[INET6_ADDRSTRLEN];

	if (o.proxy == 1) {
		if (v6)
			inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)&a->ss)->sin6_addr, dst,
			    sizeof(dst));
		else
			inet_ntop(AF_INET, &((const struct sockaddr_in *)&a->ss)->sin_addr, dst,
			    sizeof(dst));
		int len = snprintf((char *)out, size, "PROXY %s %s %s %u %u\r\n",
		    v6 ? "TCP6" : "TCP4", v6 ? "2001:db8::1" : "192.0.2.1", dst, sport, dport);

		return len > 0 && (size_t)len < size ? (size_t)len : 0;
	}
	size_t alen = v6 ? 36 : 12;
	unsigned char *p = out + 16;

	if (size < 16 + alen)
		return 0;
	memcpy(out, sig, sizeof(sig));
	out[12] = 0x21; /* version 2, PROXY */
	out[13] = v6 ? 0x21 : 0x11; /* TCP over IPv6 or IPv4 */
	out[14] = 0;
	out[15] = (unsigned char)alen;
	if (v6) {
		inet_pton(AF_INET6, "2001:db8::1", p);
		memcpy(p + 16, &((const struct sockaddr_in6 *)&a->ss)->sin6_addr, 16);
		p += 32;
	} else {
		inet_pton(AF_INET, "192.0.2.1", p);
		memcpy(p + 4, &((const struct sockaddr_in *)&a->ss)->sin_addr, 4);
		p += 8;
	}
	p[0] = (unsigned char)(sport >> 8), p[1] = (unsigned char)sport;
	p[2] = (unsigned char)(dport >> 8), p[3] = (unsigned char)dport;
	return 16 + alen;
}

/* Sends the -H header on a connected socket; false if it could not. */
static bool
conn_send_header(struct conn *c, const struct addr *a)
{
	unsigned char h[128];
	size_t n = proxy_header(a, h, sizeof(h));

	c->hdr_pending = false;
	return n > 0 && send(c->fd, h, n, MSG_NOSIGNAL | MSG_DONTWAIT) == (ssize_t)n;
}

/* Starts a non-blocking connect, watched with tag; false if it failed at
 * once (the outcome is then in c->out). With -H, the header goes at once
 * when the connect is done already (as it is on loopback), or at the first
 * EPOLLOUT (conn_header_ready). */
static bool
conn_start(int ep, struct conn *c, const struct addr *a, uint64_t tag, bool want_out)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP | (want_out ? EPOLLOUT : 0),
		.data.u64 = tag };
	int r;

	memset(c, 0, sizeof(*c));
	c->start = now_us();
	c->fd = new_socket(a, true);
	r = connect(c->fd, (const struct sockaddr *)&a->ss, a->len);
	if (r != 0 && errno != EINPROGRESS) {
		c->out = errno == ECONNREFUSED ? O_REFUSED : O_ERROR;
		close(c->fd);
		c->fd = -1;
		return false;
	}
	if (o.proxy != 0 && !want_out) {
		if (r == 0) {
			if (!conn_send_header(c, a)) {
				c->out = O_ERROR;
				close(c->fd);
				c->fd = -1;
				return false;
			}
		} else {
			c->hdr_pending = true;
			ev.events |= EPOLLOUT;
		}
	}
	if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) != 0)
		die("epoll_ctl");
	return true;
}

/* -H: the connect that was in progress is done; the header follows. False
 * if the connection failed. */
static bool
conn_header_ready(int ep, struct conn *c, const struct addr *a, uint64_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.u64 = tag };
	int soerr = 0;
	socklen_t sl = sizeof(soerr);

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 || soerr != 0)
		return false;
	if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) != 0)
		die("epoll_ctl");
	return conn_send_header(c, a);
}

static void
conn_end(struct conn *c, enum outcome out)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->out = out;
}

static const char *const outcome_name[O_N] = { "none", "ok", "empty", "refused", "reset",
	"timeouts", "errors" };

static int
mode_connect_read(bool relay)
{
	struct conn *slots = calloc((size_t)o.conc, sizeof(*slots));
	struct epoll_event evs[256];
	long started = 0, done = 0, counts[O_N] = { 0 };
	uint64_t t0, end, last_scan = 0, last_sample = 0, bytes = 0;
	uint64_t tmo = (uint64_t)o.timeout_ms * 1000;
	struct states st = { 0 };
	struct lat lat = { 0 };
	int ep = epoll_create1(EPOLL_CLOEXEC), active = 0;
	bool stopping = false;

	if (slots == NULL || ep < 0)
		die("setup");
	t0 = now_us();
	end = t0 + (uint64_t)(o.seconds * 1e6);
	for (int i = 0; i < o.conc; i++)
		slots[i].fd = -1;
	for (;;) {
		uint64_t now = now_us();

		if (!stopping && (now >= end || started >= o.count))
			stopping = true;
		/* Fill idle slots. */
		for (int i = 0; !stopping && i < o.conc && started < o.count; i++) {
			if (slots[i].fd >= 0)
				continue;
			started++;
			if (conn_start(ep, &slots[i], &o.target, (uint64_t)i, false)) {
				active++;
				continue;
			}
			counts[slots[i].out]++;
			done++;
			if (slots[i].out == O_ERROR) {
				/* Out of ports or descriptors: breathe. */
				usleep(1000);
				break;
			}
		}
		if (stopping && active == 0)
			break;
		if (stopping && now >= end + tmo + 1000000)
			break;
		int n = epoll_wait(ep, evs, 256, o.watch_pid > 0 ? 1 : 10);

		now = now_us();
		if (o.watch_pid > 0 && !stopping && now - last_sample >= 1000) {
			last_sample = now;
			sample_state(o.watch_pid, &st);
		}
		for (int e = 0; e < n; e++) {
			struct conn *c = &slots[evs[e].data.u64];
			enum outcome out;

			if (c->hdr_pending && (evs[e].events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) &&
			    !conn_header_ready(ep, c, &o.target, evs[e].data.u64)) {
				counts[O_ERROR]++;
				conn_end(c, O_ERROR);
				active--;
				done++;
				continue;
			}
			out = conn_read(c);

			if (out == O_NONE)
				continue;
			if (out == O_OK || (out == O_EMPTY && !relay))
				lat_add(&lat, now - c->start);
			bytes += c->got;
			counts[out]++;
			conn_end(c, out);
			active--;
			done++;
		}
		if (now - last_scan >= 10000) {
			last_scan = now;
			for (int i = 0; i < o.conc; i++) {
				if (slots[i].fd >= 0 && now - slots[i].start > tmo) {
					conn_end(&slots[i], O_TIMEOUT);
					counts[O_TIMEOUT]++;
					active--;
					done++;
				}
			}
		}
	}
	for (int i = 0; i < o.conc; i++)
		if (slots[i].fd >= 0) {
			conn_end(&slots[i], O_TIMEOUT);
			counts[O_TIMEOUT]++;
		}
	double el = (double)(now_us() - t0) / 1e6;

	printf("{\"mode\":\"%s\",\"label\":\"%s\",\"target\":\"%s\",\"concurrency\":%d,"
	       "\"proxy\":%d,\"elapsed_s\":%.3f,\"started\":%ld",
	    relay ? "relay-cps" : "connect-read", o.label, o.target.text, o.conc, o.proxy, el,
	    started);
	for (int i = O_OK; i < O_N; i++)
		printf(",\"%s\":%ld", outcome_name[i], counts[i]);
	if (st.n > 0)
		printf(",\"samples\":%ld,\"d_run\":%.3f,\"d_sleep\":%.3f,\"d_blocked\":%.3f,"
		       "\"d_vfork\":%.3f",
		    st.n, (double)st.run / st.n, (double)st.sleep / st.n, (double)st.blocked / st.n,
		    (double)st.vfork / st.n);
	printf(",\"bytes\":%llu,\"rate\":%.1f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f}\n",
	    (unsigned long long)bytes, counts[O_OK] / el, lat_pct(&lat, 0.5), lat_pct(&lat, 0.99),
	    lat_pct(&lat, 1.0));
	return counts[O_OK] > 0 ? 0 : 1;
}

/* ------------------------------------------------------------ echo-rr */

/* Waits until fd is ready for events or the deadline passes. */
static bool
wait_fd(int ep, uint64_t deadline)
{
	struct epoll_event ev;

	for (;;) {
		uint64_t now = now_us();

		if (now >= deadline)
			return false;
		int ms = (int)((deadline - now + 999) / 1000);
		int n = epoll_wait(ep, &ev, 1, ms);

		if (n > 0)
			return true;
		if (n < 0 && errno != EINTR)
			die("epoll_wait");
	}
}

static int
mode_echo_rr(void)
{
	char req[4096], resp[4096];
	int fd, ep = epoll_create1(EPOLL_CLOEXEC), one = 1;
	long n = 0, bad = 0;
	struct lat lat = { 0 };
	uint64_t t0, end, tmo = (uint64_t)o.timeout_ms * 1000;
	const char *err = NULL;

	if (o.reqsize < 1 || o.reqsize > (int)sizeof(req))
		usage();
	if ((fd = connect_blocking(&o.target, o.timeout_ms)) < 0)
		die(o.target.text);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	fcntl(fd, F_SETFL, O_NONBLOCK);
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.u64 = 0 };
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0)
		die("epoll_ctl");
	for (int i = 0; i < o.reqsize; i++)
		req[i] = (char)('a' + i % 26);
	t0 = now_us();
	end = t0 + (uint64_t)(o.seconds * 1e6);
	while (n < o.count) {
		uint64_t s = now_us();
		int got = 0;

		if (s >= end)
			break;
		req[0] = (char)('A' + n % 26);
		if (send(fd, req, (size_t)o.reqsize, MSG_NOSIGNAL) != o.reqsize) {
			err = "send";
			break;
		}
		while (got < o.reqsize) {
			ssize_t r = recv(fd, resp + got, (size_t)(o.reqsize - got), 0);

			if (r > 0) {
				got += (int)r;
				continue;
			}
			if (r == 0) {
				err = "eof";
				break;
			}
			if (errno != EAGAIN && errno != EINTR) {
				err = "recv";
				break;
			}
			if (!wait_fd(ep, s + tmo)) {
				err = "timeout";
				break;
			}
		}
		if (err != NULL)
			break;
		if (memcmp(req, resp, (size_t)o.reqsize) != 0)
			bad++;
		lat_add(&lat, now_us() - s);
		n++;
	}
	double el = (double)(now_us() - t0) / 1e6;

	close(fd);
	printf("{\"mode\":\"echo-rr\",\"label\":\"%s\",\"target\":\"%s\",\"reqsize\":%d,"
	       "\"elapsed_s\":%.3f,\"ok\":%ld,\"mismatch\":%ld,\"error\":\"%s\",\"rate\":%.1f,"
	       "\"p50_ms\":%.3f,\"p99_ms\":%.3f}\n",
	    o.label, o.target.text, o.reqsize, el, n, bad, err ? err : "", n / el,
	    lat_pct(&lat, 0.5), lat_pct(&lat, 0.99));
	return n > 0 && err == NULL ? 0 : 1;
}

/* ------------------------------------------------------------ bulk */

static void
put_be64(unsigned char *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)v;
}

/* A bulk transfer's next piece: the 8-byte size header, then the pattern
 * of pattern over and over; sent counts both. */
static const char *
bulk_next(const unsigned char *hdr, const char *pattern, uint64_t sent, uint64_t total,
    size_t *len)
{
	size_t off;

	if (sent < 8) {
		*len = (size_t)(8 - sent);
		return (const char *)hdr + sent;
	}
	off = (size_t)((sent - 8) % BUF_SIZE);
	*len = BUF_SIZE - off;
	if (*len > total - sent)
		*len = (size_t)(total - sent);
	return pattern + off;
}

static uint64_t
get_be64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static int
mode_bulk(void)
{
	unsigned char hdr[8], ack[8];
	uint64_t sent = 0, t0, deadline, acked = 0;
	int fd, ep = epoll_create1(EPOLL_CLOEXEC), got = 0;
	const char *err = NULL;

	/* The deadline: -T, but never past -d. */
	t0 = now_us();
	deadline = t0 + (uint64_t)o.timeout_ms * 1000;
	if (deadline > t0 + (uint64_t)(o.seconds * 1e6))
		deadline = t0 + (uint64_t)(o.seconds * 1e6);
	if ((fd = connect_blocking(&o.target, o.timeout_ms)) < 0)
		die(o.target.text);
	fcntl(fd, F_SETFL, O_NONBLOCK);
	struct epoll_event ev = { .events = EPOLLOUT, .data.u64 = 0 };
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0)
		die("epoll_ctl");
	put_be64(hdr, o.size);
	for (size_t i = 0; i < BUF_SIZE; i++)
		buf[i] = (char)i;
	/* The 8-byte header, then the payload; sent counts both. */
	uint64_t total = o.size + 8;
	while (sent < total) {
		size_t len;
		const char *p = bulk_next(hdr, buf, sent, total, &len);
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n > 0) {
			sent += (uint64_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			err = "send";
			break;
		}
		if (!wait_fd(ep, deadline)) {
			err = "timeout";
			break;
		}
	}
	ev.events = EPOLLIN | EPOLLRDHUP;
	epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
	while (err == NULL && got < 8) {
		ssize_t n = recv(fd, ack + got, (size_t)(8 - got), 0);

		if (n > 0) {
			got += (int)n;
			continue;
		}
		if (n == 0) {
			err = "eof before the sink's count";
			break;
		}
		if (errno != EAGAIN && errno != EINTR) {
			err = "recv";
			break;
		}
		if (!wait_fd(ep, deadline)) {
			err = "timeout waiting for the sink's count";
			break;
		}
	}
	double el = (double)(now_us() - t0) / 1e6;

	if (got == 8) {
		acked = get_be64(ack);
		if (acked != o.size)
			err = "the sink counted another size";
	}
	close(fd);
	printf("{\"mode\":\"bulk\",\"label\":\"%s\",\"target\":\"%s\",\"bytes\":%llu,"
	       "\"sent\":%llu,\"acked\":%llu,\"elapsed_s\":%.3f,\"error\":\"%s\","
	       "\"MB_s\":%.1f}\n",
	    o.label, o.target.text, o.size, (unsigned long long)(sent > 8 ? sent - 8 : 0),
	    (unsigned long long)acked, el, err ? err : "",
	    err ? 0.0 : (double)o.size / el / 1e6);
	return err ? 1 : 0;
}

/* ------------------------------------------------------------ sink */

/* sink -A: takes the PROXY header off a new connection, waiting up to a
 * second for it to be whole; false if it is not a header. */
static bool
skip_proxy_header(int fd)
{
	static const unsigned char sig[12] = { 0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51,
		0x55, 0x49, 0x54, 0x0a };
	unsigned char h[536];
	uint64_t end = now_us() + 1000000;

	for (;;) {
		ssize_t n = recv(fd, h, sizeof(h), MSG_PEEK);
		size_t need = 0;

		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			return false;
		if (n >= 16 && memcmp(h, sig, sizeof(sig)) == 0)
			need = 16 + ((size_t)h[14] << 8 | h[15]);
		else if (n >= 6 && memcmp(h, "PROXY ", 6) == 0) {
			unsigned char *lf = memchr(h, '\n', (size_t)n);

			if (lf != NULL)
				need = (size_t)(lf - h) + 1;
		} else if (n >= 16)
			return false;
		if (need > 0 && (size_t)n >= need)
			return recv(fd, h, need, 0) == (ssize_t)need;
		if (need > sizeof(h) || now_us() >= end)
			return false;
		struct pollfd p = { .fd = fd, .events = POLLIN };

		poll(&p, 1, 10);
	}
}

struct sconn {
	unsigned char hdr[8];
	int hgot;
	uint64_t need, got;
};

static void
on_term(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static int
mode_sink(void)
{
	static const char hello[] = "sink: hello\r\n";
	struct rlimit rl;
	struct sconn **tab;
	size_t ntab;
	int lfd, ep = epoll_create1(EPOLL_CLOEXEC), one = 1;
	long conns = 0, shorts = 0;
	uint64_t bytes = 0, end;
	struct epoll_event evs[256];

	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	signal(SIGPIPE, SIG_IGN);
	getrlimit(RLIMIT_NOFILE, &rl);
	ntab = rl.rlim_cur > 65536 ? 65536 : (size_t)rl.rlim_cur;
	if ((tab = calloc(ntab, sizeof(*tab))) == NULL)
		die("calloc");
	lfd = new_socket(&o.listen, true);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&o.listen.ss, o.listen.len) != 0)
		die(o.listen.text);
	if (listen(lfd, 4096) != 0)
		die("listen");
	struct epoll_event lev = { .events = EPOLLIN, .data.fd = lfd };
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &lev);
	end = now_us() + (uint64_t)(o.seconds * 1e6);
	while (!stop_flag && now_us() < end && conns < o.count) {
		int n = epoll_wait(ep, evs, 256, 100);

		for (int e = 0; e < n; e++) {
			int fd = evs[e].data.fd;

			if (fd == lfd) {
				for (int i = 0; i < 64; i++) {
					int c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

					if (c < 0)
						break;
					if (o.proxy_in && !skip_proxy_header(c)) {
						close(c);
						shorts++;
						continue;
					}
					if (o.greet) {
						(void)send(c, hello, sizeof(hello) - 1, MSG_NOSIGNAL);
						close(c);
						conns++;
						continue;
					}
					if ((size_t)c >= ntab ||
					    (tab[c] = calloc(1, sizeof(**tab))) == NULL) {
						close(c);
						continue;
					}
					struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP,
						.data.fd = c };
					epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
				}
				continue;
			}
			struct sconn *s = tab[fd];
			bool over = false;

			for (;;) {
				ssize_t r;

				if (s->hgot < 8)
					r = recv(fd, s->hdr + s->hgot, (size_t)(8 - s->hgot), 0);
				else
					r = recv(fd, buf, BUF_SIZE, 0);
				if (r > 0) {
					if (s->hgot < 8) {
						s->hgot += (int)r;
						if (s->hgot == 8)
							s->need = get_be64(s->hdr);
					} else {
						s->got += (uint64_t)r;
						bytes += (uint64_t)r;
					}
					if (s->hgot == 8 && s->got >= s->need) {
						unsigned char ack[8];

						put_be64(ack, s->got);
						(void)send(fd, ack, 8, MSG_NOSIGNAL);
						over = true;
						break;
					}
					continue;
				}
				if (r < 0 && (errno == EAGAIN || errno == EINTR))
					break;
				shorts++;
				over = true;
				break;
			}
			if (over) {
				conns++;
				free(s);
				tab[fd] = NULL;
				close(fd);
			}
		}
	}
	printf("{\"mode\":\"sink\",\"label\":\"%s\",\"listen\":\"%s\",\"conns\":%ld,"
	       "\"short\":%ld,\"bytes\":%llu}\n",
	    o.label, o.listen.text, conns, shorts, (unsigned long long)bytes);
	return 0;
}

/* ------------------------------------------------------------ echo-server */

static int
mode_echo_server(void)
{
	int lfd, ep = -1, one = 1;
	long conns = 0;
	uint64_t trips = 0, end;

	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	lfd = new_socket(&o.listen, false);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&o.listen.ss, o.listen.len) != 0)
		die(o.listen.text);
	if (listen(lfd, 64) != 0)
		die("listen");
	end = now_us() + (uint64_t)(o.seconds * 1e6);
	if (!o.blocking && (ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		die("epoll_create1");
	while (!stop_flag && now_us() < end && conns < o.count) {
		struct pollfd pl = { .fd = lfd, .events = POLLIN };
		int c;

		/* Wake now and then to see the time limit. */
		if (poll(&pl, 1, 200) <= 0)
			continue;
		if ((c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) < 0)
			continue;
		setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		conns++;
		if (o.blocking) {
			ssize_t n;

			while ((n = read(c, buf, 65536)) > 0 && write(c, buf, (size_t)n) == n)
				trips++;
		} else {
			struct epoll_event ev = { .events = EPOLLIN, .data.fd = c }, out[16];

			epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
			for (;;) {
				ssize_t n;

				if (epoll_wait(ep, out, 16, -1) <= 0)
					continue;
				n = recv(c, buf, 65536, MSG_DONTWAIT);
				if (n < 0 && errno == EAGAIN)
					continue;
				if (n <= 0 || send(c, buf, (size_t)n, MSG_NOSIGNAL) != n)
					break;
				trips++;
			}
		}
		close(c);
	}
	printf("{\"mode\":\"echo-server\",\"label\":\"%s\",\"listen\":\"%s\","
	       "\"blocking\":%s,\"conns\":%ld,\"trips\":%llu}\n",
	    o.label, o.listen.text, o.blocking ? "true" : "false", conns,
	    (unsigned long long)trips);
	return 0;
}

/* ------------------------------------------------------------ flood */

/* One connect-read with a timeout, outside any loop: latency in us, or -1. */
static int64_t
one_shot(const struct addr *a, int timeout_ms, uint64_t *got)
{
	uint64_t s = now_us(), deadline = s + (uint64_t)timeout_ms * 1000;
	int fd = new_socket(a, true);
	struct pollfd p = { .fd = fd, .events = POLLIN };

	*got = 0;
	if (connect(fd, (const struct sockaddr *)&a->ss, a->len) != 0 && errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	for (;;) {
		uint64_t now = now_us();

		if (now >= deadline)
			break;
		if (poll(&p, 1, (int)((deadline - now + 999) / 1000)) <= 0)
			continue;
		ssize_t n = recv(fd, buf, BUF_SIZE, 0);

		if (n > 0) {
			*got += (uint64_t)n;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		close(fd);
		return n == 0 && *got > 0 ? (int64_t)(now_us() - s) : -1;
	}
	close(fd);
	return -1;
}

static int64_t
median3(int64_t a, int64_t b, int64_t c)
{
	if ((a <= b && b <= c) || (c <= b && b <= a))
		return b;
	if ((b <= a && a <= c) || (c <= a && a <= b))
		return a;
	return c;
}

#define PROBE_SLOTS 64

static int
mode_flood(void)
{
	int k = o.k, ep = epoll_create1(EPOLL_CLOEXEC);
	struct conn *fl = calloc((size_t)k, sizeof(*fl));
	struct conn pr[PROBE_SLOTS];
	struct lat served = { 0 }, probe = { 0 }, conn_t = { 0 };
	long counts[O_N] = { 0 }, resolved = 0, slow = 0, probe_fail = 0, probe_n = 0;
	uint64_t got, t0, wend, next_probe, flood_end, tmo = (uint64_t)o.timeout_ms * 1000;
	int64_t b[3], base, pbase;
	struct epoll_event evs[256];

	if (fl == NULL || ep < 0)
		die("setup");
	/* The normal latency of both services, before the flood. */
	for (int i = 0; i < 3; i++) {
		b[i] = one_shot(&o.target, o.timeout_ms, &got);
		usleep(20000);
	}
	base = median3(b[0], b[1], b[2]);
	for (int i = 0; i < 3; i++)
		b[i] = one_shot(&o.probe, o.timeout_ms, &got);
	pbase = median3(b[0], b[1], b[2]);
	if (base < 0) {
		fprintf(stderr, "load: flood: %s does not answer before the flood\n", o.target.text);
		return 1;
	}
	for (int i = 0; i < PROBE_SLOTS; i++)
		pr[i].fd = -1;

	t0 = now_us();
	wend = t0 + (uint64_t)o.window_ms * 1000;
	for (int i = 0; i < k; i++) {
		if (!conn_start(ep, &fl[i], &o.target, (uint64_t)i, true)) {
			counts[fl[i].out]++;
			resolved++;
		}
	}
	/*
	 * The probe runs for the whole window whatever happens to the flood,
	 * so every server is probed over the same period. Once every flood
	 * connection has its answer (flood_end), the flooded service itself is
	 * tried, one client at a time, until one is served as fast as before.
	 */
	int64_t limit = base * 2 > base + 50000 ? base * 2 : base + 50000;
	int64_t recover = -1;
	long recover_tries = 0;
	struct conn rp = { .fd = -1 };
	uint64_t next_rec = 0, last_sample = 0;
	struct states st = { 0 };

	flood_end = 0;
	next_probe = t0;
	for (;;) {
		uint64_t now = now_us();

		if (now >= wend)
			break;
		if (flood_end == 0 && resolved >= k)
			flood_end = next_rec = now;
		if (now >= next_probe) {
			next_probe += (uint64_t)o.probe_ms * 1000;
			for (int i = 0; i < PROBE_SLOTS; i++) {
				if (pr[i].fd >= 0)
					continue;
				probe_n++;
				if (!conn_start(ep, &pr[i], &o.probe, (uint64_t)(k + i), false))
					probe_fail++;
				break;
			}
		}
		if (flood_end != 0 && recover < 0 && rp.fd < 0 && now >= next_rec) {
			recover_tries++;
			next_rec = now + 20000;
			conn_start(ep, &rp, &o.target, (uint64_t)(k + PROBE_SLOTS), false);
		}
		int ms = (int)((next_probe > now ? next_probe - now : 0) / 1000);
		int n = epoll_wait(ep, evs, 256, ms > 5 ? 5 : ms);

		if (o.watch_pid > 0 && now_us() - last_sample >= 1000) {
			last_sample = now_us();
			sample_state(o.watch_pid, &st);
		}

		now = now_us();
		for (int e = 0; e < n; e++) {
			uint64_t tag = evs[e].data.u64;
			struct conn *c = tag < (uint64_t)k ? &fl[tag]
			    : tag < (uint64_t)(k + PROBE_SLOTS) ? &pr[tag - (uint64_t)k] : &rp;

			if (c->fd < 0)
				continue;
			if (tag < (uint64_t)k && c->connected == 0 && (evs[e].events & EPOLLOUT)) {
				struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP,
					.data.u64 = tag };
				int soerr = 0;
				socklen_t sl = sizeof(soerr);

				getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
				if (soerr == 0) {
					c->connected = now;
					lat_add(&conn_t, now - c->start);
					if (now - c->start >= 900000)
						slow++;
					epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
				}
			}
			enum outcome out = conn_read(c);

			if (out == O_NONE)
				continue;
			if (tag < (uint64_t)k) {
				if (out == O_OK)
					lat_add(&served, now - c->start);
				else if (out == O_EMPTY || out == O_RESET)
					out = O_REFUSED;
				counts[out]++;
				resolved++;
			} else if (c == &rp) {
				if (out == O_OK && (int64_t)(now - c->start) <= limit)
					recover = (int64_t)(c->start - flood_end);
			} else if (out == O_OK)
				lat_add(&probe, now - c->start);
			else
				probe_fail++;
			conn_end(c, out);
		}
		for (int i = 0; i < PROBE_SLOTS; i++)
			if (pr[i].fd >= 0 && now - pr[i].start > tmo) {
				conn_end(&pr[i], O_TIMEOUT);
				probe_fail++;
			}
		if (rp.fd >= 0 && now - rp.start > tmo)
			conn_end(&rp, O_TIMEOUT);
	}
	if (flood_end == 0)
		flood_end = now_us();
	if (rp.fd >= 0)
		conn_end(&rp, O_TIMEOUT);
	long stalled = 0, never_connected = 0;

	for (int i = 0; i < k; i++)
		if (fl[i].fd >= 0) {
			stalled++;
			if (fl[i].connected == 0)
				never_connected++;
			conn_end(&fl[i], O_TIMEOUT);
		}
	for (int i = 0; i < PROBE_SLOTS; i++)
		if (pr[i].fd >= 0) {
			/* Still waiting: it took at least this long. */
			lat_add(&probe, now_us() - pr[i].start);
			conn_end(&pr[i], O_TIMEOUT);
		}

	/* Not normal yet (or the flood outlasted the window): keep trying. */
	uint64_t rend = flood_end + (uint64_t)o.recover_ms * 1000;

	while (recover < 0 && now_us() < rend) {
		uint64_t s = now_us();
		int64_t l = one_shot(&o.target, o.timeout_ms, &got);

		recover_tries++;
		if (l >= 0 && l <= limit) {
			recover = (int64_t)(s - flood_end);
			break;
		}
		uint64_t next = s + 20000;
		if (now_us() < next)
			usleep((useconds_t)(next - now_us()));
	}
	printf("{\"mode\":\"flood\",\"label\":\"%s\",\"target\":\"%s\",\"probe\":\"%s\","
	       "\"k\":%d,\"window_ms\":%d,\"served\":%ld,\"refused\":%ld,\"stalled\":%ld,"
	       "\"errors\":%ld,\"never_connected\":%ld,\"connect_slow\":%ld,"
	       "\"connect_p99_ms\":%.3f,\"flood_ms\":%.1f,\"served_p50_ms\":%.3f,"
	       "\"served_max_ms\":%.3f,\"base_ms\":%.3f,\"probe_base_ms\":%.3f,"
	       "\"probe_n\":%ld,\"probe_fail\":%ld,\"probe_p50_ms\":%.3f,\"probe_p99_ms\":%.3f,"
	       "\"probe_max_ms\":%.3f,\"recover_ms\":%.1f,\"recover_tries\":%ld",
	    o.label, o.target.text, o.probe.text, k, o.window_ms, counts[O_OK],
	    counts[O_REFUSED], stalled, counts[O_ERROR] + counts[O_TIMEOUT], never_connected,
	    slow, lat_pct(&conn_t, 0.99), (double)(flood_end - t0) / 1000.0,
	    lat_pct(&served, 0.5), lat_pct(&served, 1.0), (double)base / 1000.0,
	    (double)pbase / 1000.0, probe_n, probe_fail, lat_pct(&probe, 0.5),
	    lat_pct(&probe, 0.99), lat_pct(&probe, 1.0),
	    recover >= 0 ? (double)recover / 1000.0 : -1.0, recover_tries);
	if (st.n > 0)
		printf(",\"samples\":%ld,\"d_run\":%.3f,\"d_blocked\":%.3f,\"d_vfork\":%.3f",
		    st.n, (double)st.run / st.n, (double)st.blocked / st.n,
		    (double)st.vfork / st.n);
	printf("}\n");
	return 0;
}

/* ------------------------------------------------------------ startup */

struct portset {
	struct addr a[4096];
	int n;
};

static struct portset ports;

/* HOST:P1-P2,P3,... */
static void
parse_ports(const char *spec)
{
	const char *colon = strrchr(spec, ':'), *p;

	if (colon == NULL)
		usage();
	p = colon + 1;
	while (*p != '\0') {
		char *end;
		long a = strtol(p, &end, 10), b = a;

		if (end == p)
			usage();
		if (*end == '-') {
			p = end + 1;
			b = strtol(p, &end, 10);
			if (end == p)
				usage();
		}
		if (a < 1 || b > 65535 || b < a || ports.n + (b - a + 1) > 4096) {
			fprintf(stderr, "load: bad port list in \"%s\"\n", spec);
			exit(64);
		}
		for (long port = a; port <= b; port++) {
			char num[24];

			snprintf(num, sizeof(num), "%ld", port);
			if (!parse_host(spec, num, &ports.a[ports.n++]))
				usage();
		}
		p = *end == ',' ? end + 1 : end;
		if (*end != ',' && *end != '\0')
			usage();
	}
}

static void
write_result(const char *text)
{
	char tmp[4096];
	FILE *fp;

	if (o.outfile == NULL) {
		fputs(text, stdout);
		fflush(stdout);
		return;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", o.outfile);
	if ((fp = fopen(tmp, "w")) == NULL)
		die(tmp);
	fputs(text, fp);
	fclose(fp);
	if (rename(tmp, o.outfile) != 0)
		die(o.outfile);
}

static void
stop_group(pid_t pid)
{
	uint64_t end;
	int st;

	kill(-pid, SIGTERM);
	end = now_us() + 3000000;
	while (now_us() < end) {
		pid_t w = waitpid(-1, &st, WNOHANG);

		if (w == pid || (w < 0 && errno == ECHILD))
			break;
		if (w <= 0)
			usleep(5000);
	}
	kill(-pid, SIGKILL);
	/* Orphans of the group come here (we are their subreaper). */
	end = now_us() + 1000000;
	while (now_us() < end && waitpid(-1, &st, WNOHANG) >= 0)
		usleep(2000);
}

/*
 * Marks in lis[] every TCP port some socket listens on, as the kernel's
 * sock_diag netlink interface reports them: one request per family, filtered
 * by state in the kernel, so a table full of TIME_WAIT costs nothing.
 */
static bool
listening_ports(bool *lis)
{
	static const int fams[2] = { AF_INET, AF_INET6 };
	int nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	bool ok = true;

	if (nl < 0)
		return false;
	memset(lis, 0, 65536 * sizeof(bool));
	for (int f = 0; f < 2 && ok; f++) {
		struct {
			struct nlmsghdr nlh;
			struct inet_diag_req_v2 r;
		} req;
		struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
		bool done = false;

		memset(&req, 0, sizeof(req));
		req.nlh.nlmsg_len = sizeof(req);
		req.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
		req.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
		req.r.sdiag_family = (uint8_t)fams[f];
		req.r.sdiag_protocol = IPPROTO_TCP;
		req.r.idiag_states = 1u << 10; /* TCP_LISTEN */
		if (sendto(nl, &req, sizeof(req), 0, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			ok = false;
			break;
		}
		while (!done) {
			ssize_t n = recv(nl, buf, BUF_SIZE, 0);

			if (n <= 0) {
				ok = false;
				break;
			}
			for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n);
			    h = NLMSG_NEXT(h, n)) {
				if (h->nlmsg_type == NLMSG_DONE) {
					done = true;
					break;
				}
				if (h->nlmsg_type == NLMSG_ERROR) {
					ok = false;
					done = true;
					break;
				}
				struct inet_diag_msg *m = NLMSG_DATA(h);

				lis[ntohs(m->id.idiag_sport)] = true;
			}
		}
	}
	close(nl);
	return ok;
}

static uint16_t
port_of(const struct addr *a)
{
	return ntohs(a->ss.ss_family == AF_INET ? ((const struct sockaddr_in *)&a->ss)->sin_port
						: ((const struct sockaddr_in6 *)&a->ss)->sin6_port);
}

/*
 * Two times from exec: when the kernel lists every port as listening
 * (sock_diag, polled every half millisecond: no side effect on the daemon),
 * and when a connect to each of them has succeeded (each port once, so a
 * spawning daemon starts one server per port).
 */
static int
mode_startup(void)
{
	bool *up = calloc((size_t)ports.n, sizeof(bool)), *lis = malloc(65536 * sizeof(bool));
	int left = ports.n, st;
	uint64_t t0, end, listened = 0, ready = 0;
	char text[512];
	sigset_t sigs;
	pid_t pid;

	if (up == NULL || lis == NULL || o.cmd == NULL || o.cmd[0] == NULL)
		usage();
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGCHLD);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	t0 = now_us();
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		sigprocmask(SIG_UNBLOCK, &sigs, NULL);
		setsid();
		dup2(2, 1);
		execvp(o.cmd[0], o.cmd);
		fprintf(stderr, "load: exec %s: %s\n", o.cmd[0], strerror(errno));
		_exit(127);
	}
	end = t0 + (uint64_t)o.timeout_ms * 1000;
	while (now_us() < end) {
		int missing = 0;

		if (!listening_ports(lis))
			break;	/* no sock_diag: the connect poll alone decides */
		for (int i = 0; i < ports.n && missing == 0; i++)
			if (!lis[port_of(&ports.a[i])])
				missing++;
		if (missing == 0) {
			listened = now_us();
			break;
		}
		if (waitpid(pid, &st, WNOHANG) == pid) {
			fprintf(stderr, "load: startup: %s exited before listening\n", o.cmd[0]);
			pid = -1;
			break;
		}
		usleep(500);
	}
	while (pid > 0 && left > 0 && now_us() < end) {
		for (int i = 0; i < ports.n; i++) {
			if (up[i])
				continue;
			int fd = connect_blocking(&ports.a[i], 200);

			if (fd >= 0) {
				close(fd);
				up[i] = true;
				left--;
			}
		}
		if (left == 0)
			break;
		if (waitpid(pid, &st, WNOHANG) == pid) {
			fprintf(stderr, "load: startup: %s exited before listening\n", o.cmd[0]);
			pid = -1;
			break;
		}
		usleep(1000);
	}
	if (left == 0)
		ready = now_us();
	if (listened == 0 && ready != 0)
		listened = ready;
	snprintf(text, sizeof(text),
	    "{\"mode\":\"startup\",\"label\":\"%s\",\"pid\":%d,\"ports\":%d,\"listening\":%d,"
	    "\"ms\":%.3f,\"connect_ms\":%.3f}\n",
	    o.label, (int)pid, ports.n, ports.n - left,
	    ready ? (double)(listened - t0) / 1000.0 : -1.0,
	    ready ? (double)(ready - t0) / 1000.0 : -1.0);
	write_result(text);
	if (pid < 0)
		return 1;
	if (left > 0) {
		for (int i = 0; i < ports.n; i++)
			if (!up[i])
				fprintf(stderr, "load: startup: nothing listens on %s\n",
				    ports.a[i].text);
		stop_group(pid);
		return 1;
	}
	/* Supervise until told to stop, the daemon dies, or -d runs out. */
	end = now_us() + (uint64_t)(o.seconds * 1e6);
	for (;;) {
		struct timespec ts = { 1, 0 };
		int sig = sigtimedwait(&sigs, NULL, &ts);

		if (sig == SIGTERM || sig == SIGINT || now_us() >= end) {
			stop_group(pid);
			return 0;
		}
		if (sig == SIGCHLD) {
			pid_t w;

			while ((w = waitpid(-1, &st, WNOHANG)) > 0)
				if (w == pid) {
					fprintf(stderr, "load: startup: %s died (status %d)\n",
					    o.cmd[0], st);
					stop_group(pid);
					return 3;
				}
		}
	}
}

/* ------------------------------------------------------------ tls */

/*
 * The TLS client modes (OpenSSL): tls-read is connect-read through a TLS
 * 1.3 handshake, tls-bulk is bulk inside one TLS connection. The server's
 * certificate must chain to -K's CA and name "localhost" (the SNI sent), so
 * a misconfigured server fails instead of looking fast. The chain is
 * verified in full on the first connection of a run; a later connection
 * that presents the very same leaf is accepted without building the chain
 * again (the handshake's CertificateVerify still proves the key), which
 * keeps the client's own share of the two CPUs smaller. tls-read -S resumes:
 * every connection offers the newest ticket its slot (or, before its first,
 * any slot) received, and the output counts how many the server resumed.
 */

static SSL_CTX *tls_ctx;
static X509 *tls_leaf;		/* the leaf verified in full this run */
static SSL_SESSION *tls_last;	/* -S: the newest ticket of any slot */
static long tls_verify_failed;
static char tls_proto[16], tls_cipher[64];

struct tconn {
	int fd;
	SSL *ssl;
	SSL_SESSION *sess;	/* -S: the newest ticket of this slot */
	uint64_t start;
	uint64_t got;
	bool hs_done;
};

static int
tls_verify(X509_STORE_CTX *x, void *arg)
{
	X509 *leaf = X509_STORE_CTX_get0_cert(x);
	int ok;

	(void)arg;
	if (leaf != NULL && tls_leaf != NULL && X509_cmp(leaf, tls_leaf) == 0)
		return 1;
	ok = X509_verify_cert(x);
	if (ok == 1 && leaf != NULL && tls_leaf == NULL && X509_up_ref(leaf) == 1)
		tls_leaf = leaf;
	return ok;
}

/* A ticket arrived (-S): it becomes its slot's and the run's newest. */
static int
tls_new_session(SSL *ssl, SSL_SESSION *sess)
{
	struct tconn *c = SSL_get_app_data(ssl);

	if (c == NULL)
		return 0;
	if (c->sess != NULL)
		SSL_SESSION_free(c->sess);
	c->sess = sess;
	SSL_SESSION_up_ref(sess);
	if (tls_last != NULL)
		SSL_SESSION_free(tls_last);
	tls_last = sess;
	return 1; /* we keep the reference OpenSSL gave us */
}

static void
tls_init(void)
{
	if (o.cafile == NULL) {
		fprintf(stderr, "load: %s needs -K CAFILE\n", o.mode);
		exit(64);
	}
	if ((tls_ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    SSL_CTX_set_min_proto_version(tls_ctx, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_load_verify_locations(tls_ctx, o.cafile, NULL) != 1) {
		fprintf(stderr, "load: TLS set-up (CA %s) failed\n", o.cafile);
		ERR_print_errors_fp(stderr);
		exit(1);
	}
	SSL_CTX_set_verify(tls_ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_cert_verify_callback(tls_ctx, tls_verify, NULL);
	/* A server that closes without close_notify after its data is not
	 * an error here: the greeting was read whole. */
	SSL_CTX_set_options(tls_ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_mode(tls_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (o.resume) {
		SSL_CTX_set_session_cache_mode(tls_ctx,
		    SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
		SSL_CTX_sess_set_new_cb(tls_ctx, tls_new_session);
	} else
		SSL_CTX_set_session_cache_mode(tls_ctx, SSL_SESS_CACHE_OFF);
}

/* An SSL for the connected (or connecting) socket fd, bound to slot c. */
static SSL *
tls_new(int fd, struct tconn *c)
{
	SSL *ssl = SSL_new(tls_ctx);

	if (ssl == NULL || SSL_set_fd(ssl, fd) != 1 ||
	    SSL_set_tlsext_host_name(ssl, "localhost") != 1 || SSL_set1_host(ssl, "localhost") != 1)
		die("SSL_new");
	SSL_set_app_data(ssl, c);
	if (o.resume) {
		SSL_SESSION *s = c != NULL && c->sess != NULL ? c->sess : tls_last;

		if (s != NULL)
			SSL_set_session(ssl, s);
	}
	return ssl;
}

/* What a failed SSL call means for the connection. */
static enum outcome
tls_failure(SSL *ssl, int ret, uint64_t got)
{
	int e = SSL_get_error(ssl, ret), err = errno;
	unsigned long q = ERR_peek_error();
	static bool told;

	if (SSL_get_verify_result(ssl) != X509_V_OK) {
		tls_verify_failed++;
		if (!told) {
			told = true;
			fprintf(stderr, "load: %s: certificate: %s\n", o.target.text,
			    X509_verify_cert_error_string(SSL_get_verify_result(ssl)));
		}
		ERR_clear_error();
		return O_ERROR;
	}
	if (!told && q != 0 && e == SSL_ERROR_SSL) {
		char text[256];

		told = true;
		ERR_error_string_n(q, text, sizeof(text));
		fprintf(stderr, "load: %s: %s\n", o.target.text, text);
	}
	ERR_clear_error();
	if (e == SSL_ERROR_SYSCALL) {
		if (err == ECONNREFUSED)
			return O_REFUSED;
		if (err == ECONNRESET || err == EPIPE || ret == 0)
			return got > 0 ? O_OK : O_RESET;
	}
	return O_ERROR;
}

/* Drives one tls-read connection as far as it goes; O_NONE: not over. */
static enum outcome
tls_step(struct tconn *c, long *full, long *resumed)
{
	int r;

	if (!c->hs_done) {
		ERR_clear_error();
		r = SSL_connect(c->ssl);
		if (r != 1) {
			int e = SSL_get_error(c->ssl, r);

			if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
				return O_NONE;
			return tls_failure(c->ssl, r, 0);
		}
		c->hs_done = true;
		if (SSL_session_reused(c->ssl))
			(*resumed)++;
		else
			(*full)++;
		if (tls_proto[0] == '\0') {
			snprintf(tls_proto, sizeof(tls_proto), "%s", SSL_get_version(c->ssl));
			snprintf(tls_cipher, sizeof(tls_cipher), "%s", SSL_get_cipher_name(c->ssl));
		}
	}
	for (;;) {
		ERR_clear_error();
		r = SSL_read(c->ssl, buf, BUF_SIZE);
		if (r > 0) {
			c->got += (uint64_t)r;
			continue;
		}
		int e = SSL_get_error(c->ssl, r);

		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
			return O_NONE;
		if (e == SSL_ERROR_ZERO_RETURN)
			return c->got > 0 ? O_OK : O_EMPTY;
		return tls_failure(c->ssl, r, c->got);
	}
}

static void
tconn_end(struct tconn *c)
{
	if (c->ssl != NULL) {
		/* Our close_notify, if the socket still takes it; no wait. */
		if (c->hs_done)
			SSL_shutdown(c->ssl);
		ERR_clear_error();
		SSL_free(c->ssl);
	}
	c->ssl = NULL;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static double
cpu_ms_self(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
	    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

/* tls-read: connect, a TLS handshake, read to EOF, close; -c at once. */
static int
mode_tls_read(void)
{
	struct tconn *slots = calloc((size_t)o.conc, sizeof(*slots));
	struct epoll_event evs[256];
	long started = 0, counts[O_N] = { 0 }, full = 0, resumed = 0;
	uint64_t t0, end, last_scan = 0, bytes = 0, tmo = (uint64_t)o.timeout_ms * 1000;
	struct lat lat = { 0 };
	int ep = epoll_create1(EPOLL_CLOEXEC), active = 0;
	bool stopping = false;
	double cpu0 = cpu_ms_self();

	if (slots == NULL || ep < 0)
		die("setup");
	tls_init();
	t0 = now_us();
	end = t0 + (uint64_t)(o.seconds * 1e6);
	for (int i = 0; i < o.conc; i++)
		slots[i].fd = -1;
	for (;;) {
		uint64_t now = now_us();

		if (!stopping && (now >= end || started >= o.count))
			stopping = true;
		for (int i = 0; !stopping && i < o.conc && started < o.count; i++) {
			struct tconn *c = &slots[i];

			if (c->fd >= 0)
				continue;
			started++;
			c->start = now_us();
			c->got = 0;
			c->hs_done = false;
			c->fd = new_socket(&o.target, true);
			if (connect(c->fd, (const struct sockaddr *)&o.target.ss, o.target.len) != 0 &&
			    errno != EINPROGRESS) {
				enum outcome out = errno == ECONNREFUSED ? O_REFUSED : O_ERROR;

				tconn_end(c);
				counts[out]++;
				if (out == O_ERROR) {
					usleep(1000); /* out of ports or descriptors */
					break;
				}
				continue;
			}
			/* Edge-triggered both ways: tls_step runs until OpenSSL
			 * wants what is not there, and any edge retries it. */
			struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
				.data.u64 = (uint64_t)i };

			c->ssl = tls_new(c->fd, c);
			if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) != 0)
				die("epoll_ctl");
			active++;
		}
		if (stopping && active == 0)
			break;
		if (stopping && now >= end + tmo + 1000000)
			break;
		int n = epoll_wait(ep, evs, 256, 10);

		now = now_us();
		for (int e = 0; e < n; e++) {
			struct tconn *c = &slots[evs[e].data.u64];

			if (c->fd < 0)
				continue;
			enum outcome out = tls_step(c, &full, &resumed);

			if (out == O_NONE)
				continue;
			if (out == O_OK)
				lat_add(&lat, now - c->start);
			bytes += c->got;
			counts[out]++;
			tconn_end(c);
			active--;
		}
		if (now - last_scan >= 10000) {
			last_scan = now;
			for (int i = 0; i < o.conc; i++)
				if (slots[i].fd >= 0 && now - slots[i].start > tmo) {
					tconn_end(&slots[i]);
					counts[O_TIMEOUT]++;
					active--;
				}
		}
	}
	for (int i = 0; i < o.conc; i++)
		if (slots[i].fd >= 0) {
			tconn_end(&slots[i]);
			counts[O_TIMEOUT]++;
		}
	double el = (double)(now_us() - t0) / 1e6;

	printf("{\"mode\":\"tls-read\",\"label\":\"%s\",\"target\":\"%s\",\"concurrency\":%d,"
	       "\"resume\":%d,\"elapsed_s\":%.3f,\"started\":%ld",
	    o.label, o.target.text, o.conc, o.resume ? 1 : 0, el, started);
	for (int i = O_OK; i < O_N; i++)
		printf(",\"%s\":%ld", outcome_name[i], counts[i]);
	printf(",\"verify_failed\":%ld,\"full\":%ld,\"resumed\":%ld,\"proto\":\"%s\","
	       "\"cipher\":\"%s\",\"client_cpu_ms\":%.1f",
	    tls_verify_failed, full, resumed, tls_proto, tls_cipher, cpu_ms_self() - cpu0);
	printf(",\"bytes\":%llu,\"rate\":%.1f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f}\n",
	    (unsigned long long)bytes, counts[O_OK] / el, lat_pct(&lat, 0.5), lat_pct(&lat, 0.99),
	    lat_pct(&lat, 1.0));
	return counts[O_OK] > 0 ? 0 : 1;
}

/* Waits, until deadline, for what the SSL call that returned ret wants. */
static bool
tls_wait(int ep, int fd, SSL *ssl, int ret, uint64_t deadline)
{
	int e = SSL_get_error(ssl, ret);
	struct epoll_event ev = { .data.u64 = 0 };

	if (e == SSL_ERROR_WANT_READ)
		ev.events = EPOLLIN | EPOLLRDHUP;
	else if (e == SSL_ERROR_WANT_WRITE)
		ev.events = EPOLLOUT;
	else
		return false;
	if (epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev) != 0)
		die("epoll_ctl");
	return wait_fd(ep, deadline);
}

/* tls-bulk: bulk's transfer inside one TLS connection. */
static int
mode_tls_bulk(void)
{
	unsigned char hdr[8], ack[8];
	uint64_t sent = 0, t0, deadline, acked = 0, total = o.size + 8;
	int fd, ep = epoll_create1(EPOLL_CLOEXEC), got = 0, r;
	const char *err = NULL;
	double cpu0 = cpu_ms_self();
	SSL *ssl;

	tls_init();
	t0 = now_us();
	deadline = t0 + (uint64_t)o.timeout_ms * 1000;
	if (deadline > t0 + (uint64_t)(o.seconds * 1e6))
		deadline = t0 + (uint64_t)(o.seconds * 1e6);
	if ((fd = connect_blocking(&o.target, o.timeout_ms)) < 0)
		die(o.target.text);
	fcntl(fd, F_SETFL, O_NONBLOCK);
	struct epoll_event ev = { .events = EPOLLOUT, .data.u64 = 0 };
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0)
		die("epoll_ctl");
	ssl = tls_new(fd, NULL);
	while ((r = SSL_connect(ssl)) != 1)
		if (!tls_wait(ep, fd, ssl, r, deadline)) {
			err = SSL_get_verify_result(ssl) != X509_V_OK ? "certificate"
								       : "handshake";
			tls_failure(ssl, r, 0);
			break;
		}
	if (err == NULL) {
		snprintf(tls_proto, sizeof(tls_proto), "%s", SSL_get_version(ssl));
		snprintf(tls_cipher, sizeof(tls_cipher), "%s", SSL_get_cipher_name(ssl));
	}
	put_be64(hdr, o.size);
	for (size_t i = 0; i < BUF_SIZE; i++)
		buf[i] = (char)i;
	while (err == NULL && sent < total) {
		size_t len;
		const char *p = bulk_next(hdr, buf, sent, total, &len);

		r = SSL_write(ssl, p, (int)len);
		if (r > 0) {
			sent += (uint64_t)r;
			continue;
		}
		if (!tls_wait(ep, fd, ssl, r, deadline))
			err = SSL_get_error(ssl, r) == SSL_ERROR_WANT_WRITE ||
			    SSL_get_error(ssl, r) == SSL_ERROR_WANT_READ ? "timeout" : "send";
	}
	while (err == NULL && got < 8) {
		r = SSL_read(ssl, ack + got, 8 - got);
		if (r > 0) {
			got += r;
			continue;
		}
		int e = SSL_get_error(ssl, r);

		if (e == SSL_ERROR_ZERO_RETURN)
			err = "eof before the sink's count";
		else if (!tls_wait(ep, fd, ssl, r, deadline))
			err = e == SSL_ERROR_WANT_READ ? "timeout waiting for the sink's count" : "recv";
	}
	double el = (double)(now_us() - t0) / 1e6;

	if (got == 8) {
		acked = get_be64(ack);
		if (acked != o.size)
			err = "the sink counted another size";
	}
	SSL_shutdown(ssl);
	SSL_free(ssl);
	close(fd);
	printf("{\"mode\":\"tls-bulk\",\"label\":\"%s\",\"target\":\"%s\",\"bytes\":%llu,"
	       "\"sent\":%llu,\"acked\":%llu,\"elapsed_s\":%.3f,\"error\":\"%s\","
	       "\"verify_failed\":%ld,\"proto\":\"%s\",\"cipher\":\"%s\","
	       "\"client_cpu_ms\":%.1f,\"MB_s\":%.1f}\n",
	    o.label, o.target.text, o.size, (unsigned long long)(sent > 8 ? sent - 8 : 0),
	    (unsigned long long)acked, el, err ? err : "", tls_verify_failed, tls_proto,
	    tls_cipher, cpu_ms_self() - cpu0, err ? 0.0 : (double)o.size / el / 1e6);
	return err ? 1 : 0;
}

/* ------------------------------------------------------------ main */

static long
num_arg(const char *v, long min, long max)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0' || n < min || n > max) {
		fprintf(stderr, "load: \"%s\" is not a number from %ld to %ld\n", v, min, max);
		exit(64);
	}
	return n;
}

static unsigned long long
size_arg(const char *v)
{
	char *end;
	unsigned long long n = strtoull(v, &end, 10);

	switch (*end) {
	case 'K': n <<= 10; end++; break;
	case 'M': n <<= 20; end++; break;
	case 'G': n <<= 30; end++; break;
	default: break;
	}
	if (*end != '\0' || n == 0 || n > (64ull << 30))
		usage();
	return n;
}

int
main(int argc, char **argv)
{
	int opt;

	if (argc < 2)
		usage();
	o.mode = argv[1];
	optind = 2;
	while ((opt = getopt(argc, argv, "+t:P:l:c:d:n:T:s:k:p:W:R:r:w:gbAo:L:H:K:S")) != -1) {
		switch (opt) {
		case 't': o.target_spec = optarg; break;
		case 'P': parse_addr_or_die(optarg, &o.probe); o.have_probe = true; break;
		case 'l': parse_addr_or_die(optarg, &o.listen); o.have_listen = true; break;
		case 'c': o.conc = (int)num_arg(optarg, 1, MAX_CONC); break;
		case 'd': o.seconds = (double)num_arg(optarg, 1, MAX_SECONDS); break;
		case 'n': o.count = num_arg(optarg, 1, MAX_COUNT); break;
		case 'T': o.timeout_ms = (int)num_arg(optarg, 1, MAX_SECONDS * 1000); break;
		case 's': o.size = size_arg(optarg); break;
		case 'k': o.k = (int)num_arg(optarg, 1, MAX_CONC); break;
		case 'p': o.probe_ms = (int)num_arg(optarg, 1, 10000); break;
		case 'W': o.window_ms = (int)num_arg(optarg, 1, 600000); break;
		case 'R': o.recover_ms = (int)num_arg(optarg, 1, 600000); break;
		case 'r': o.reqsize = (int)num_arg(optarg, 1, 4096); break;
		case 'w': o.watch_pid = (int)num_arg(optarg, 1, 1 << 22); break;
		case 'g': o.greet = true; break;
		case 'H':
			if (strcmp(optarg, "v1") == 0)
				o.proxy = 1;
			else if (strcmp(optarg, "v2") == 0)
				o.proxy = 2;
			else
				usage();
			break;
		case 'b': o.blocking = true; break;
		case 'A': o.proxy_in = true; break;
		case 'K': o.cafile = optarg; break;
		case 'S': o.resume = true; break;
		case 'o': o.outfile = optarg; break;
		case 'L':
			if (strpbrk(optarg, "\"\\") != NULL)
				usage();
			o.label = optarg;
			break;
		default: usage();
		}
	}
	if (optind < argc)
		o.cmd = argv + optind;
	if ((buf = malloc(BUF_SIZE)) == NULL)
		die("malloc");
	signal(SIGPIPE, SIG_IGN);

	if (strcmp(o.mode, "startup") == 0) {
		if (o.target_spec == NULL)
			usage();
		parse_ports(o.target_spec);
		return mode_startup();
	}
	if (o.cmd != NULL)
		usage();
	if (strcmp(o.mode, "sink") == 0) {
		if (!o.have_listen)
			usage();
		return mode_sink();
	}
	if (strcmp(o.mode, "echo-server") == 0) {
		if (!o.have_listen)
			usage();
		return mode_echo_server();
	}
	if (o.target_spec == NULL)
		usage();
	parse_addr_or_die(o.target_spec, &o.target);
	if (strcmp(o.mode, "connect-read") == 0)
		return mode_connect_read(false);
	if (strcmp(o.mode, "relay-cps") == 0)
		return mode_connect_read(true);
	if (strcmp(o.mode, "echo-rr") == 0)
		return mode_echo_rr();
	if (strcmp(o.mode, "bulk") == 0)
		return mode_bulk();
	if (strcmp(o.mode, "tls-read") == 0)
		return mode_tls_read();
	if (strcmp(o.mode, "tls-bulk") == 0)
		return mode_tls_bulk();
	if (strcmp(o.mode, "flood") == 0) {
		if (!o.have_probe)
			usage();
		return mode_flood();
	}
	usage();
}
