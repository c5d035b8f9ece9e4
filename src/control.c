/*
 * control.c: the control socket porterctl(8) talks to, and the SIGUSR1 state
 * dump. A client sends one request line and gets one answer, "OK" or
 * "ERR message" followed by a body, then the connection closes. Everything
 * runs in the event loop without blocking: requests are read and answers
 * written non-blocking, each with a deadline and a size bound, and what
 * could block (the reverse lookup that `explain` may need) is done by
 * porterctl, which passes the name along. Only root, porterd's own user
 * and members of the socket file's group are served.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "porterd.h"

#define CONTROL_READ_MS 5000   /* to send the request line */
#define CONTROL_WRITE_MS 30000 /* to take the whole answer */
#define CONTROL_CLIENTS 16     /* at once; the others wait in the backlog */
#define CONTROL_ARGS 16        /* words in a request */
#define CONTROL_BACKLOG 16
#define CONTROL_EMFILE_MS 250
#define CONTROL_SOCK_MODE 0660
#define CONTROL_DIR_MODE 0755
#define CONTROL_PRIVATE_MODE 0700 /* the fallback directory in /tmp */
#define CONTROL_DUMP_MODE 0640

/* ------------------------------------------------------------ words */

static const char *
control_kind(enum svc_kind k)
{
	switch (k) {
	case SVC_SPAWN:
		return "server";
	case SVC_INTERNAL:
		return "internal";
	case SVC_REDIRECT:
		return "redirect";
	case SVC_TCPMUX:
		return "tcpmux";
	case SVC_TCPMUX_CLIENT:
		return "tcpmux-service";
	case SVC_SENSOR:
		return "sensor";
	}
	return "?";
}

static const char *
control_state(const struct svc *svc)
{
	if (svc->pause_why & PAUSE_DISABLED)
		return "disabled";
	if (svc->fd < 0 && svc->kind != SVC_TCPMUX_CLIENT)
		return "down"; /* it could not open its socket */
	if (svc->paused)
		return "paused";
	return "active";
}

static const struct {
	unsigned bit;
	const char *name;
} control_pauses[] = {
	{ PAUSE_WAIT, "wait" },
	{ PAUSE_EMFILE, "descriptors" },
	{ PAUSE_CPS, "cps" },
	{ PAUSE_RETRY, "fork" },
	{ PAUSE_LOOKUP, "lookup" },
	{ PAUSE_DISABLED, "disabled" },
};

#define CONTROL_NPAUSES (sizeof(control_pauses) / sizeof(control_pauses[0]))

/* The address a service listens on: "*" for both families, "0.0.0.0" or
 * "::" for one, "tcpmux" for a service reached through tcpmux. */
static void
control_svc_addr(const struct svc *svc, char *buf, size_t len)
{
	const struct service_config *s = svc->conf;

	if (svc->kind == SVC_TCPMUX_CLIENT)
		snprintf(buf, len, "tcpmux");
	else if (s->bind_len > 0) {
		struct peer p;

		memcpy(&p.sa, &s->bind_addr, s->bind_len);
		p.len = s->bind_len;
		peer_addr(&p, buf, len);
	} else if (s->family == AF_INET6)
		snprintf(buf, len, "%s", s->v6only ? "::" : "*");
	else
		snprintf(buf, len, "0.0.0.0");
}

static bool
control_svc_port(const struct svc *svc)
{
	return svc->kind != SVC_TCPMUX_CLIENT && svc->conf->port > 0;
}

/* ------------------------------------------------------------ requests */

/* One request being answered. */
struct reply {
	bool json;
	const struct ucred *cred;
	char err[256]; /* set: the answer is ERR with this message */
	struct cbuf body;
};

static void reply_err(struct reply *, const char *, ...) PRINTF(2, 3);

static void
reply_err(struct reply *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->err, sizeof(r->err), fmt, ap);
	va_end(ap);
}

/* status: JSON has every column in this order, the table those with a
 * heading. */
static const struct render_col status_cols[] = {
	{ "id", "SERVICE", 0, false, NULL },
	{ "kind", NULL, 0, false, NULL },
	{ "protocol", "PROTO", 1, false, NULL },
	{ "address", "ADDRESS", 2, false, NULL },
	{ "port", "PORT", 3, true, NULL },
	{ "state", "STATE", 4, false, NULL },
	{ "paused_why", NULL, 0, false, NULL },
	{ "running", "RUNNING", 5, true, NULL },
	{ "accepted", "ACCEPTED", 6, true, NULL },
	{ "refused", "REFUSED", 7, true, NULL },
};

static void
control_status(struct cbuf *b, bool json)
{
	struct render rd;

	render_begin(&rd, b, json, status_cols, sizeof(status_cols) / sizeof(status_cols[0]));
	for (const struct svc *svc = svc_list; svc != NULL; svc = svc->next) {
		const struct service_config *s = svc->conf;
		char addr[INET6_ADDRSTRLEN + 8];
		const char *why[CONTROL_NPAUSES];
		size_t nwhy = 0;

		control_svc_addr(svc, addr, sizeof(addr));
		for (size_t i = 0; i < CONTROL_NPAUSES; i++)
			if (svc->pause_why & control_pauses[i].bit)
				why[nwhy++] = control_pauses[i].name;
		const struct render_val row[] = {
			render_str(s->id),
			render_str(control_kind(svc->kind)),
			render_str(s->protocol == IPPROTO_UDP ? "udp" : "tcp"),
			render_str(addr),
			control_svc_port(svc) ? render_num((unsigned)s->port) : render_null(),
			render_str(control_state(svc)),
			render_words(why, nwhy),
			render_num(svc->running),
			render_num(svc->accepted),
			render_num(svc->refused),
		};
		render_row(&rd, row, sizeof(row) / sizeof(row[0]));
	}
	render_end(&rd);
}

static void
cmd_status(struct reply *r, int argc, char **argv)
{
	(void)argc, (void)argv;
	control_status(&r->body, r->json);
}

/* One live connection, whatever serves it. */
struct conn_row {
	const char *service; /* NULL: its service was removed by a reload */
	const char *kind;    /* "server", "relay" or "session" */
	struct peer peer;
	pid_t pid;      /* 0: served inside porterd */
	uint64_t start; /* loop_now() */
	time_t start_wall;
	bool bytes; /* in and out are known */
	uint64_t in;
	uint64_t out;
};

struct conn_rows {
	struct conn_row *v;
	size_t n;
	size_t cap;
	bool full;
};

static struct conn_row *
conn_rows_add(struct conn_rows *rows)
{
	if (rows->full)
		return NULL;
	if (rows->n == rows->cap) {
		size_t cap = rows->cap ? rows->cap * 2 : 64;
		struct conn_row *v = realloc(rows->v, cap * sizeof(*v));

		if (v == NULL) {
			rows->full = true;
			return NULL;
		}
		rows->v = v;
		rows->cap = cap;
	}
	memset(&rows->v[rows->n], 0, sizeof(rows->v[0]));
	return &rows->v[rows->n++];
}

static void
conn_add_child(void *arg, const struct child *c)
{
	struct conn_row *row = conn_rows_add(arg);

	if (row == NULL)
		return;
	row->service = c->svc != NULL && c->svc->conf != NULL ? c->svc->conf->id : NULL;
	row->kind = "server";
	row->peer = c->peer;
	row->pid = c->pid;
	row->start = c->start;
	row->start_wall = c->start_wall;
}

/* A connection served inside porterd: a relay or a builtin's session. */
static void
conn_add_loop(struct conn_rows *rows, const char *kind, const char *id, const struct peer *peer,
    uint64_t start_ms, uint64_t in, uint64_t out)
{
	struct conn_row *row = conn_rows_add(rows);
	uint64_t now = loop_now();

	if (row == NULL)
		return;
	row->service = id;
	row->kind = kind;
	row->peer = *peer;
	row->start = start_ms;
	row->start_wall = time(NULL) - (time_t)((now > start_ms ? now - start_ms : 0) / 1000);
	row->bytes = true;
	row->in = in;
	row->out = out;
}

static void
conn_add_relay(void *arg, const char *id, const struct peer *peer, uint64_t start_ms, uint64_t in,
    uint64_t out)
{
	conn_add_loop(arg, "relay", id, peer, start_ms, in, out);
}

static void
conn_add_session(void *arg, const char *id, const struct peer *peer, uint64_t start_ms, uint64_t in,
    uint64_t out)
{
	conn_add_loop(arg, "session", id, peer, start_ms, in, out);
}

static int
conn_row_cmp(const void *a, const void *b)
{
	const struct conn_row *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return (x->pid > y->pid) - (x->pid < y->pid);
}

static void
control_conn_rows(struct conn_rows *rows)
{
	child_foreach(conn_add_child, rows);
	redirect_foreach(conn_add_relay, rows);
	internal_foreach(conn_add_session, rows);
	if (rows->n > 1)
		qsort(rows->v, rows->n, sizeof(rows->v[0]), conn_row_cmp);
}

static void
control_peer_text(const struct peer *p, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (peer_family(p) != AF_INET && peer_family(p) != AF_INET6) {
		snprintf(buf, len, "-");
		return;
	}
	peer_addr(p, a, sizeof(a));
	snprintf(buf, len, peer_family(p) == AF_INET6 ? "[%s]:%d" : "%s:%d", a, peer_port(p));
}

/* connections: as status_cols; the table shows the client as one word
 * and the kind last. */
static const struct render_col conn_cols[] = {
	{ "service", "SERVICE", 0, false, "(removed)" },
	{ "kind", "KIND", 7, false, NULL },
	{ "peer", NULL, 0, false, NULL },
	{ "port", NULL, 0, false, NULL },
	{ NULL, "PEER", 1, false, NULL },
	{ "pid", "PID", 2, true, NULL },
	{ "start", "START", 3, false, NULL },
	{ "duration", "DURATION", 4, true, NULL },
	{ "bytes_in", "IN", 5, true, NULL },
	{ "bytes_out", "OUT", 6, true, NULL },
};

static void
control_connections(struct cbuf *b, bool json)
{
	struct conn_rows rows = { 0 };
	struct render rd;
	uint64_t now = loop_now();

	control_conn_rows(&rows);
	if (rows.full)
		b->full = true;
	render_begin(&rd, b, json, conn_cols, sizeof(conn_cols) / sizeof(conn_cols[0]));
	for (size_t i = 0; i < rows.n; i++) {
		const struct conn_row *c = &rows.v[i];
		char start[32], peer[INET6_ADDRSTRLEN + 16], a[INET6_ADDRSTRLEN];
		int fam = peer_family(&c->peer);
		bool has = fam == AF_INET || fam == AF_INET6;

		render_time(c->start_wall, start, sizeof(start));
		control_peer_text(&c->peer, peer, sizeof(peer));
		if (has)
			peer_addr(&c->peer, a, sizeof(a));
		const struct render_val row[] = {
			render_str(c->service),
			render_str(c->kind),
			has ? render_str(a) : render_null(),
			has ? render_num((unsigned)peer_port(&c->peer)) : render_null(),
			render_str(peer),
			render_num((unsigned long long)c->pid),
			render_str(start),
			render_num((now - c->start) / 1000),
			c->bytes ? render_num(c->in) : render_null(),
			c->bytes ? render_num(c->out) : render_null(),
		};
		render_row(&rd, row, sizeof(row) / sizeof(row[0]));
	}
	render_end(&rd);
	free(rows.v);
}

static void
cmd_connections(struct reply *r, int argc, char **argv)
{
	(void)argc, (void)argv;
	control_connections(&r->body, r->json);
}

/* The body of check and reload: the diagnostics, then a summary line. */
static void
control_diag(struct reply *r, const struct diag *d, const char *ok, size_t services)
{
	struct cbuf *b = &r->body;

	if (r->json) {
		bool first = true;

		cbuf_puts(b, "{");
		cbuf_key(b, &first, "errors");
		cbuf_printf(b, "%zu", d->errors);
		cbuf_key(b, &first, "warnings");
		cbuf_printf(b, "%zu", d->warnings);
		if (services != SIZE_MAX) {
			cbuf_key(b, &first, "services");
			cbuf_printf(b, "%zu", services);
		}
		cbuf_key(b, &first, "diagnostics");
		cbuf_puts(b, "[");
		for (size_t i = 0; i < d->lines.n; i++) {
			cbuf_puts(b, i == 0 ? "" : ",");
			cbuf_json(b, d->lines.v[i]);
		}
		cbuf_puts(b, "]}\n");
		return;
	}
	for (size_t i = 0; i < d->lines.n; i++)
		cbuf_printf(b, "%s\n", d->lines.v[i]);
	if (d->errors == 0)
		cbuf_printf(b, "%s\n", ok);
}

static void
cmd_reload(struct reply *r, int argc, char **argv)
{
	struct diag d = { 0 };
	char ok[64];
	size_t errors;

	(void)argc, (void)argv;
	log_info("reload requested through the control socket by uid %d", (int)r->cred->uid);
	errors = main_reload(&d);
	if (errors > 0) {
		reply_err(r, "reload refused: %zu error%s; the configuration in force stays",
		    errors, errors == 1 ? "" : "s");
		control_diag(r, &d, "", SIZE_MAX);
	} else {
		snprintf(ok, sizeof(ok), "reloaded: %zu services", service_count());
		control_diag(r, &d, ok, service_count());
	}
	diag_free(&d);
}

static void
cmd_check(struct reply *r, int argc, char **argv)
{
	struct diag d = { 0 };
	struct config *cf;

	(void)argc, (void)argv;
	cf = conf_load(porter.conf_path, porter.inetd_path, &d);
	conf_free(cf);
	if (d.errors > 0)
		reply_err(r, "%zu error%s in the configuration", d.errors,
		    d.errors == 1 ? "" : "s");
	control_diag(r, &d, "configuration OK", SIZE_MAX);
	diag_free(&d);
}

static void
control_able(struct reply *r, const char *id, bool disable)
{
	struct svc *svc = service_find(id);
	bool changed;

	if (svc == NULL) {
		reply_err(r, "no service \"%s\"", id);
		return;
	}
	changed = service_set_disabled(svc, disable);
	if (changed)
		log_info("%s: %s through the control socket by uid %d", id,
		    disable ? "disabled" : "enabled", (int)r->cred->uid);
	if (r->json) {
		bool first = true;

		cbuf_puts(&r->body, "{");
		cbuf_key(&r->body, &first, "service");
		cbuf_json(&r->body, id);
		cbuf_key(&r->body, &first, "state");
		cbuf_json(&r->body, control_state(svc));
		cbuf_key(&r->body, &first, "changed");
		cbuf_puts(&r->body, changed ? "true" : "false");
		cbuf_puts(&r->body, "}\n");
	} else
		cbuf_printf(&r->body, "%s: %s%s\n", id, changed ? "" : "already ",
		    disable ? "disabled" : "enabled");
}

static void
cmd_disable(struct reply *r, int argc, char **argv)
{
	(void)argc;
	control_able(r, argv[0], true);
}

static void
cmd_enable(struct reply *r, int argc, char **argv)
{
	(void)argc;
	control_able(r, argv[0], false);
}

/* ------------------------------------------------------------ explain */

/* An address literal as access rules see it: IPv4-mapped IPv6 is IPv4. */
static bool
control_parse_addr(const char *text, int *family, uint8_t addr[16])
{
	char buf[INET6_ADDRSTRLEN + 2];
	size_t n = strlen(text);
	struct in6_addr a6;

	if (n >= 2 && text[0] == '[' && text[n - 1] == ']' && n - 2 < sizeof(buf)) {
		memcpy(buf, text + 1, n - 2);
		buf[n - 2] = '\0';
		text = buf;
	}
	if (inet_pton(AF_INET, text, addr) == 1) {
		*family = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, text, &a6) != 1)
		return false;
	if (IN6_IS_ADDR_V4MAPPED(&a6)) {
		*family = AF_INET;
		memcpy(addr, &a6.s6_addr[12], 4);
	} else {
		*family = AF_INET6;
		memcpy(addr, &a6, 16);
	}
	return true;
}

/* "H:MM" or "HH:MM" to minutes since midnight, or -1. */
static int
control_parse_minute(const char *s)
{
	unsigned h = 0, m = 0;
	size_t i = 0, digits = 0;

	for (; s[i] >= '0' && s[i] <= '9' && digits < 2; i++, digits++)
		h = h * 10 + (unsigned)(s[i] - '0');
	if (digits == 0 || s[i] != ':')
		return -1;
	i++;
	if (!(s[i] >= '0' && s[i] <= '9' && s[i + 1] >= '0' && s[i + 1] <= '9') || s[i + 2] != '\0')
		return -1;
	m = (unsigned)(s[i] - '0') * 10 + (unsigned)(s[i + 1] - '0');
	if (h > 23 || m > 59)
		return -1;
	return (int)(h * 60 + m);
}

static double
control_loadavg(void)
{
	char buf[128];
	ssize_t n;
	int fd = open("/proc/loadavg", O_RDONLY | O_CLOEXEC);
	double load = -1;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n > 0) {
		buf[n] = '\0';
		load = limits_parse_loadavg(buf);
	}
	close(fd);
	return load;
}

/* One line of the explanation: "key: text" in text, "key":"text" in the
 * JSON object "checks". */
struct explain {
	struct reply *r;
	struct cbuf checks; /* JSON */
	bool first_check;
	struct cbuf limits; /* JSON */
	bool first_limit;
	struct cbuf text;
};

static void explain_line(struct explain *, const char *key, const char *fmt, ...) PRINTF(3, 4);

static void
explain_line(struct explain *e, const char *key, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (e->r->json) {
		cbuf_key(&e->checks, &e->first_check, key);
		cbuf_json(&e->checks, msg);
	} else
		cbuf_printf(&e->text, "%s: %s\n", key, msg);
}

/* A limit that depends on load: current against max (-1: unlimited). */
static void
explain_limit(struct explain *e, const char *key, unsigned long long cur, long long max,
    const char *what)
{
	bool reached = max >= 0 && cur >= (unsigned long long)max;

	if (e->r->json) {
		bool first = true;

		cbuf_key(&e->limits, &e->first_limit, key);
		cbuf_puts(&e->limits, "{");
		cbuf_key(&e->limits, &first, "current");
		cbuf_printf(&e->limits, "%llu", cur);
		cbuf_key(&e->limits, &first, "max");
		if (max >= 0)
			cbuf_printf(&e->limits, "%lld", max);
		else
			cbuf_puts(&e->limits, "null");
		cbuf_key(&e->limits, &first, "reached");
		cbuf_puts(&e->limits, reached ? "true" : "false");
		cbuf_puts(&e->limits, "}");
		return;
	}
	if (max < 0)
		cbuf_printf(&e->text, "%s: %llu %s, unlimited\n", key, cur, what);
	else
		cbuf_printf(&e->text, "%s: %llu %s of %lld%s\n", key, cur, what, max,
		    reached ? " (reached: a client is refused now)" : "");
}

static void
explain_times(const struct service_config *s, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < s->naccess_times && o < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s%02u:%02u-%02u:%02u", i ? " " : "",
		    s->access_times[i].start / 60u, s->access_times[i].start % 60u,
		    s->access_times[i].end / 60u, s->access_times[i].end % 60u);
}

/*
 * explain SERVICE ADDRESS [HH:MM] [name=NAME]: the rules decide the
 * verdict, in the order the connection path applies them (the sensor
 * list, access_times, only_from and no_access); the limits that depend on
 * load are shown with their current numbers. name= is the client's
 * reverse name as porterctl found it ("name=" when it has none), since
 * porterd never waits for DNS here.
 */
static void
cmd_explain(struct reply *r, int argc, char **argv)
{
	struct explain e = { .r = r, .first_check = true, .first_limit = true };
	const char *pos[3] = { NULL, NULL, NULL }, *name = NULL;
	const char *deny = NULL;
	char rule[512] = "", why[512], times[512], hhmm[8];
	bool name_given = false, at_given = false;
	int npos = 0, family, minute;
	uint8_t addr[16];
	const struct service_config *s;
	struct svc *svc;

	for (int i = 0; i < argc; i++) {
		if (strncmp(argv[i], "name=", 5) == 0) {
			name_given = true;
			name = argv[i][5] != '\0' ? argv[i] + 5 : NULL;
		} else if (npos < 3)
			pos[npos++] = argv[i];
		else
			npos = 4;
	}
	if (npos < 2 || npos > 3) {
		reply_err(r, "usage: explain SERVICE ADDRESS [HH:MM]");
		return;
	}
	if ((svc = service_find(pos[0])) == NULL) {
		reply_err(r, "no service \"%s\"", pos[0]);
		return;
	}
	s = svc->conf;
	if (!control_parse_addr(pos[1], &family, addr)) {
		reply_err(r, "\"%s\" is not an IPv4 or IPv6 address", pos[1]);
		return;
	}
	if (pos[2] != NULL) {
		if ((minute = control_parse_minute(pos[2])) < 0) {
			reply_err(r, "\"%s\" is not a time of day (HH:MM)", pos[2]);
			return;
		}
		at_given = true;
	} else {
		time_t now = time(NULL);
		struct tm tm;

		localtime_r(&now, &tm);
		minute = tm.tm_hour * 60 + tm.tm_min;
	}
	snprintf(hhmm, sizeof(hhmm), "%02u:%02u", (unsigned)minute / 60 % 24,
	    (unsigned)minute % 60);

	/* The rules, in the order of the connection path. */
	if (limits_sensor_denied(accept_sensor(), family, addr, loop_now())) {
		explain_line(&e, "sensor", "listed: a SENSOR service saw this address");
		deny = "sensor list";
	} else
		explain_line(&e, "sensor", "not listed");
	explain_times(s, times, sizeof(times));
	if (s->naccess_times == 0)
		explain_line(&e, "access_times", "none");
	else if (access_times_allow(s->access_times, s->naccess_times, minute))
		explain_line(&e, "access_times", "%s is within %s", hhmm, times);
	else {
		explain_line(&e, "access_times", "%s is outside %s", hhmm, times);
		if (deny == NULL) {
			snprintf(rule, sizeof(rule), "access_times %s", times);
			deny = rule;
		}
	}
	if (svc->acl == NULL) {
		explain_line(&e, "access", "no only_from or no_access");
		if (deny == NULL)
			snprintf(rule, sizeof(rule), "no only_from or no_access");
	} else {
		enum acl_verdict v = acl_check(svc->acl, family, addr, why, sizeof(why));

		if (v == ACL_NEED_NAME)
			v = acl_check_name(svc->acl, family, addr, name, why, sizeof(why));
		explain_line(&e, "access", "%s (%s)", why, v == ACL_ALLOW ? "allowed" : "denied");
		if (deny == NULL) {
			snprintf(rule, sizeof(rule), "%s", why);
			if (v != ACL_ALLOW)
				deny = rule;
		}
	}
	if (s->flags & F_IDONLY)
		explain_line(&e, "ident",
		    "required (IDONLY): the client's ident server must answer");
	if (deny != NULL && deny != rule)
		snprintf(rule, sizeof(rule), "%s", deny);

	/* What depends on load, with the numbers of now. */
	if (svc->kind == SVC_SPAWN || svc->kind == SVC_REDIRECT) {
		explain_limit(&e, "instances", svc->running,
		    s->instances == COUNT_UNLIMITED ? -1 : s->instances, "running");
		if (s->wait != 1) {
			unsigned cur = 0;

			if (svc->per_source != NULL) {
				struct srckey k;

				limits_srckey(&k, family, addr, s->per_source_prefix4,
				    s->per_source_prefix6);
				cur = limits_count_get(svc->per_source, &k);
			}
			explain_limit(&e, "per_source", cur,
			    s->per_source == COUNT_UNLIMITED ? -1 : s->per_source,
			    "running for this source");
		}
		if (porter.limit > 0)
			explain_limit(&e, "process_limit", child_count(), porter.limit,
			    "servers running");
	}
	if (s->cps_rate > 0) {
		uint64_t now = loop_now();
		unsigned cur = now - svc->cps.window < 1000 ? svc->cps.count : 0;

		explain_limit(&e, "cps", cur, s->cps_rate, "connections this second");
	}
	if (s->per_source_cps_rate > 0)
		explain_line(&e, "per_source_cps", "%u per second, burst %u",
		    s->per_source_cps_rate, s->per_source_cps_burst);
	if (s->max_load > 0) {
		double load = control_loadavg();

		if (r->json) {
			bool first = true;

			cbuf_key(&e.limits, &e.first_limit, "max_load");
			cbuf_puts(&e.limits, "{");
			cbuf_key(&e.limits, &first, "current");
			cbuf_printf(&e.limits, "%.2f", load);
			cbuf_key(&e.limits, &first, "max");
			cbuf_printf(&e.limits, "%.2f", s->max_load);
			cbuf_key(&e.limits, &first, "reached");
			cbuf_puts(&e.limits, load >= s->max_load ? "true" : "false");
			cbuf_puts(&e.limits, "}");
		} else
			cbuf_printf(&e.text, "max_load: %.2f of %.2f%s\n", load, s->max_load,
			    load >= s->max_load ? " (reached: a client is refused now)" : "");
	}

	if (r->json) {
		bool first = true;
		struct cbuf *b = &r->body;

		cbuf_puts(b, "{");
		cbuf_key(b, &first, "service");
		cbuf_json(b, s->id);
		cbuf_key(b, &first, "client");
		cbuf_json(b, pos[1]);
		cbuf_key(b, &first, "verdict");
		cbuf_json(b, deny == NULL ? "allowed" : "denied");
		cbuf_key(b, &first, "rule");
		cbuf_json(b, rule);
		cbuf_key(b, &first, "name");
		cbuf_json(b, name);
		cbuf_key(b, &first, "name_looked_up");
		cbuf_puts(b, name_given ? "true" : "false");
		cbuf_key(b, &first, "time");
		cbuf_json(b, hhmm);
		cbuf_key(b, &first, "state");
		cbuf_json(b, control_state(svc));
		cbuf_key(b, &first, "checks");
		cbuf_printf(b, "{%s}", e.checks.p != NULL ? e.checks.p : "");
		cbuf_key(b, &first, "limits");
		cbuf_printf(b, "{%s}", e.limits.p != NULL ? e.limits.p : "");
		cbuf_puts(b, "}\n");
		if (e.checks.full || e.limits.full)
			b->full = true;
	} else {
		struct cbuf *b = &r->body;

		cbuf_printf(b, "service: %s\nclient: %s\nverdict: %s\nrule: %s\n", s->id, pos[1],
		    deny == NULL ? "allowed" : "denied", rule);
		if (!name_given)
			cbuf_puts(b, "name: not looked up\n");
		else
			cbuf_printf(b, "name: %s\n", name != NULL ? name : "none");
		cbuf_printf(b, "time: %s%s\n", hhmm, at_given ? "" : " (now)");
		cbuf_printf(b, "state: %s\n", control_state(svc));
		cbuf_add(b, e.text.p != NULL ? e.text.p : "", e.text.len);
		if (e.text.full)
			b->full = true;
	}
	cbuf_free(&e.checks);
	cbuf_free(&e.limits);
	cbuf_free(&e.text);
}

/* ------------------------------------------------------------ metrics */

/* A Prometheus label value: backslash, double quote and newline escaped. */
static void
metrics_label(struct cbuf *b, const char *s)
{
	cbuf_puts(b, "\"");
	for (; *s != '\0'; s++) {
		if (*s == '\\' || *s == '"')
			cbuf_printf(b, "\\%c", *s);
		else if (*s == '\n')
			cbuf_puts(b, "\\n");
		else
			cbuf_add(b, s, 1);
	}
	cbuf_puts(b, "\"");
}

enum { M_ACCEPTED, M_REFUSED, M_RUNNING, M_PAUSED, M_DISABLED, M_NSVC };

static const struct {
	const char *name;
	const char *type;
	const char *help;
	const char *json;
} metrics_svc[M_NSVC] = {
	{ "porter_service_accepted_total", "counter",
	    "Clients a service accepted since its listener was opened.", "accepted" },
	{ "porter_service_refused_total", "counter",
	    "Clients a service refused since its listener was opened.", "refused" },
	{ "porter_service_running", "gauge", "Servers and in-daemon sessions a service runs now.",
	    "running" },
	{ "porter_service_paused", "gauge",
	    "1 when porterd is not accepting on a service's listener now, else 0.", "paused" },
	{ "porter_service_disabled", "gauge",
	    "1 when a service was disabled with porterctl, else 0.", "disabled" },
};

static unsigned long long
metrics_value(const struct svc *svc, int m)
{
	switch (m) {
	case M_ACCEPTED:
		return svc->accepted;
	case M_REFUSED:
		return svc->refused;
	case M_RUNNING:
		return svc->running;
	case M_PAUSED:
		return svc->paused || (svc->pause_why & PAUSE_DISABLED) ? 1 : 0;
	default:
		return svc->pause_why & PAUSE_DISABLED ? 1 : 0;
	}
}

static void
cmd_metrics(struct reply *r, int argc, char **argv)
{
	struct cbuf *b = &r->body;
	const struct {
		const char *name;
		const char *type;
		const char *help;
		const char *json;
		unsigned long long value;
	} global[] = {
		{ "porter_children", "gauge", "Server processes running.", "children",
		    child_count() },
		{ "porter_reloads_total", "counter", "Reloads applied since porterd started.",
		    "reloads", porter.reloads },
		{ "porter_reload_failures_total", "counter",
		    "Reloads refused for errors in the configuration.", "reload_failures",
		    porter.reload_failures },
		{ "porter_start_time_seconds", "gauge",
		    "When porterd started serving, in seconds since the Unix epoch.",
		    "start_time_seconds", (unsigned long long)porter.start_time },
	};
	size_t nglobal = sizeof(global) / sizeof(global[0]);

	(void)argc, (void)argv;
	if (r->json) {
		bool first = true, first_svc = true;

		cbuf_puts(b, "{");
		cbuf_key(b, &first, "services");
		cbuf_puts(b, "[");
		for (const struct svc *svc = svc_list; svc != NULL; svc = svc->next) {
			bool f = true;

			if (svc->conf == NULL)
				continue;
			cbuf_puts(b, first_svc ? "\n{" : ",\n{");
			first_svc = false;
			cbuf_key(b, &f, "service");
			cbuf_json(b, svc->conf->id);
			for (int m = 0; m < M_NSVC; m++) {
				cbuf_key(b, &f, metrics_svc[m].json);
				cbuf_printf(b, "%llu", metrics_value(svc, m));
			}
			cbuf_puts(b, "}");
		}
		cbuf_puts(b, first_svc ? "]" : "\n]");
		for (size_t i = 0; i < nglobal; i++) {
			cbuf_key(b, &first, global[i].json);
			cbuf_printf(b, "%llu", global[i].value);
		}
		cbuf_puts(b, "}\n");
		return;
	}
	for (int m = 0; m < M_NSVC; m++) {
		cbuf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", metrics_svc[m].name,
		    metrics_svc[m].help, metrics_svc[m].name, metrics_svc[m].type);
		for (const struct svc *svc = svc_list; svc != NULL; svc = svc->next) {
			if (svc->conf == NULL)
				continue;
			cbuf_printf(b, "%s{service=", metrics_svc[m].name);
			metrics_label(b, svc->conf->id);
			cbuf_printf(b, "} %llu\n", metrics_value(svc, m));
		}
	}
	for (size_t i = 0; i < nglobal; i++)
		cbuf_printf(b, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", global[i].name,
		    global[i].help, global[i].name, global[i].type, global[i].name,
		    global[i].value);
}

/* ------------------------------------------------------------ dispatch */

/* A switch rather than a second table beside ctl.h's: the compiler says
 * when a command there has no function here. */
static void
control_run(enum ctl_cmd c, struct reply *r, int argc, char **argv)
{
	switch (c) {
	case CTL_STATUS:
		cmd_status(r, argc, argv);
		break;
	case CTL_CONNECTIONS:
		cmd_connections(r, argc, argv);
		break;
	case CTL_RELOAD:
		cmd_reload(r, argc, argv);
		break;
	case CTL_DISABLE:
		cmd_disable(r, argc, argv);
		break;
	case CTL_ENABLE:
		cmd_enable(r, argc, argv);
		break;
	case CTL_CHECK:
		cmd_check(r, argc, argv);
		break;
	case CTL_EXPLAIN:
		cmd_explain(r, argc, argv);
		break;
	case CTL_METRICS:
		cmd_metrics(r, argc, argv);
		break;
	case CTL_NCMDS:
		break;
	}
}

/* Answers one request line into out: "OK\n" or "ERR message\n", then the
 * body. */
static void
control_request(char *line, const struct ucred *cred, struct cbuf *out)
{
	struct reply r = { .cred = cred };
	char *argv[CONTROL_ARGS + 1];
	int argc = 0;
	enum ctl_cmd c = CTL_NCMDS;
	const struct ctl_command *cmd;
	char *save = NULL;

	for (char *p = strtok_r(line, " \t\r", &save); p != NULL;
	     p = strtok_r(NULL, " \t\r", &save)) {
		if (strcmp(p, "--json") == 0)
			r.json = true;
		else if (argc <= CONTROL_ARGS)
			argv[argc++] = p;
	}
	if (argc == 0)
		reply_err(&r, "empty request");
	else if (argc > CONTROL_ARGS)
		reply_err(&r, "too many words in the request");
	else if ((c = ctl_find(argv[0])) == CTL_NCMDS)
		reply_err(&r, "unknown command \"%.64s\"", argv[0]);
	else {
		cmd = &ctl_commands[c];
		if (argc - 1 < cmd->min || argc - 1 > cmd->max + cmd->lookup)
			reply_err(&r, "usage: %s%s%s", cmd->name, cmd->args,
			    cmd->lookup ? CTL_LOOKUP_ARGS : "");
		else {
			log_debug("control: uid %d: %s", (int)cred->uid, argv[0]);
			control_run(c, &r, argc - 1, argv + 1);
		}
	}
	if (r.body.full) {
		/* Too long, or no memory: say so rather than send half. */
		cbuf_free(&r.body);
		reply_err(&r, "the answer would be longer than %u bytes, or memory ran out",
		    CBUF_MAX);
	}
	if (r.err[0] != '\0')
		cbuf_printf(out, "ERR %s\n", r.err);
	else
		cbuf_puts(out, "OK\n");
	if (r.body.len > 0)
		cbuf_add(out, r.body.p, r.body.len);
	cbuf_free(&r.body);
}

/* ------------------------------------------------------------ clients */

struct cclient {
	struct watch w; /* w.fd is the connection */
	struct timer t; /* read, then write deadline */
	struct ucred cred;
	bool writing;
	size_t inlen;
	char in[CTL_LINE_MAX + 1];
	struct cbuf out;
	size_t off; /* first unsent byte of out */
	struct cclient *next;
};

static struct watch control_lw = { .fd = -1 };
static struct timer control_rearm;
static bool control_emfile;
static char *control_path; /* the socket porterd made; NULL: none */
static dev_t control_dev;  /* the socket file's identity, so that exit */
static ino_t control_ino;  /* removes only that file */
static char *control_dir;  /* where the state dump goes */
static struct cclient *control_clients;
static size_t control_nclients;

static void
control_listen_update(void)
{
	bool want = control_lw.fd >= 0 && !control_emfile && control_nclients < CONTROL_CLIENTS;

	if (want && !control_lw.armed)
		loop_watch(&control_lw, EPOLLIN);
	else if (!want && control_lw.armed)
		loop_unwatch(&control_lw);
}

static void
control_client_free(void *p)
{
	struct cclient *c = p;

	cbuf_free(&c->out);
	free(c);
}

static void
control_client_close(struct cclient *c)
{
	struct cclient **pp = &control_clients;
	char drain[512];

	while (*pp != c)
		pp = &(*pp)->next;
	*pp = c->next;
	control_nclients--;
	loop_timer_cancel(&c->t);
	loop_unwatch(&c->w);
	/* Unread input would turn the close into a reset. */
	for (int i = 0; i < 16 && read(c->w.fd, drain, sizeof(drain)) > 0; i++)
		;
	close(c->w.fd);
	c->w.fd = -1;
	/* The loop may still hold c->w in this round of events. */
	loop_defer_free(c, control_client_free);
	control_listen_update();
}

static void
control_write(struct cclient *c)
{
	while (c->off < c->out.len) {
		ssize_t n = send(c->w.fd, c->out.p + c->off, c->out.len - c->off,
		    MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return;
			control_client_close(c);
			return;
		}
		c->off += (size_t)n;
	}
	control_client_close(c);
}

static void
control_answer(struct cclient *c)
{
	c->writing = true;
	loop_timer_set(&c->t, CONTROL_WRITE_MS);
	if (loop_watch(&c->w, EPOLLOUT) != 0) {
		control_client_close(c);
		return;
	}
	control_write(c);
}

static void
control_read(struct cclient *c)
{
	for (;;) {
		ssize_t n = read(c->w.fd, c->in + c->inlen, CTL_LINE_MAX - c->inlen);
		char *nl;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				control_client_close(c);
			return;
		}
		c->inlen += (size_t)n;
		c->in[c->inlen] = '\0';
		if ((nl = memchr(c->in, '\n', c->inlen)) != NULL || (n == 0 && c->inlen > 0)) {
			if (nl != NULL)
				*nl = '\0';
			if (strlen(c->in) != (nl != NULL ? (size_t)(nl - c->in) : c->inlen))
				cbuf_puts(&c->out, "ERR the request holds a NUL byte\n");
			else
				control_request(c->in, &c->cred, &c->out);
			control_answer(c);
			return;
		}
		if (n == 0) {
			control_client_close(c);
			return;
		}
		if (c->inlen == CTL_LINE_MAX) {
			cbuf_printf(&c->out, "ERR the request is longer than %d bytes\n",
			    CTL_LINE_MAX);
			control_answer(c);
			return;
		}
	}
}

static void
control_client_ready(int fd, uint32_t events, void *arg)
{
	struct cclient *c = arg;

	(void)fd;
	if (c->writing)
		control_write(c);
	else if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		control_read(c);
}

static void
control_client_timeout(void *arg)
{
	struct cclient *c = arg;

	if (!c->writing) {
		static const char msg[] = "ERR no request line within 5 seconds\n";

		if (send(c->w.fd, msg, sizeof(msg) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
			/* It is going away either way. */
		}
	}
	control_client_close(c);
}

/*
 * Whether a group is among the peer's: its primary group, then its
 * supplementary groups as the kernel saw them at connect() (SO_PEERGROUPS),
 * or, on kernels without that, as /proc says for the peer's pid now.
 */
static bool
control_peer_in_group(int fd, const struct ucred *cred, gid_t gid)
{
	char path[64], *line = NULL;
	size_t cap = 0;
	bool found = false;
	FILE *fp;

	if (cred->gid == gid)
		return true;
#ifdef SO_PEERGROUPS
	{
		gid_t groups[256];
		socklen_t len = sizeof(groups);

		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) == 0) {
			for (size_t i = 0; i < len / sizeof(gid_t); i++)
				if (groups[i] == gid)
					return true;
			return false;
		}
	}
#else
	(void)fd;
#endif
	snprintf(path, sizeof(path), "/proc/%d/status", (int)cred->pid);
	if ((fp = fopen(path, "re")) == NULL)
		return false;
	while (!found && getline(&line, &cap, fp) > 0) {
		char *p, *end;

		if (strncmp(line, "Groups:", 7) != 0)
			continue;
		for (p = line + 7;; p = end) {
			unsigned long g = strtoul(p, &end, 10);

			if (end == p)
				break;
			if ((gid_t)g == gid) {
				found = true;
				break;
			}
		}
		break;
	}
	free(line);
	fclose(fp);
	return found;
}

/* Root, porterd's own user, and the socket file's group. */
static bool
control_allowed(int fd, const struct ucred *cred)
{
	struct stat st;

	if (cred->uid == 0 || cred->uid == geteuid())
		return true;
	if (control_path == NULL || stat(control_path, &st) != 0)
		return false;
	return control_peer_in_group(fd, cred, st.st_gid);
}

static void
control_client_new(int fd)
{
	struct cclient *c = calloc(1, sizeof(*c));
	socklen_t len = sizeof(struct ucred);

	if (c == NULL) {
		log_warnx("control: out of memory; a client is dropped");
		close(fd);
		return;
	}
	c->w.fd = fd;
	c->w.fn = control_client_ready;
	c->w.arg = c;
	c->t.fn = control_client_timeout;
	c->t.arg = c;
	c->next = control_clients;
	control_clients = c;
	control_nclients++;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &c->cred, &len) != 0) {
		log_warn("control: SO_PEERCRED");
		control_client_close(c);
		return;
	}
	if (!control_allowed(fd, &c->cred)) {
		log_warnx(
		    "control: uid %d (pid %d) refused: not root, porterd's user or a member of the socket's group",
		    (int)c->cred.uid, (int)c->cred.pid);
		cbuf_puts(&c->out, "ERR permission denied\n");
		control_answer(c);
		return;
	}
	loop_timer_set(&c->t, CONTROL_READ_MS);
	if (loop_watch(&c->w, EPOLLIN) != 0) {
		log_warn("control: watch");
		control_client_close(c);
	}
}

static void
control_rearm_fire(void *arg)
{
	(void)arg;
	control_emfile = false;
	control_listen_update();
}

static void
control_accept(int fd, uint32_t events, void *arg)
{
	(void)events, (void)arg;
	while (control_nclients < CONTROL_CLIENTS) {
		int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (c >= 0) {
			control_client_new(c);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
			log_warn("control: accept (pausing for %d ms)", CONTROL_EMFILE_MS);
			control_emfile = true;
			control_rearm.fn = control_rearm_fire;
			loop_timer_set(&control_rearm, CONTROL_EMFILE_MS);
		} else if (errno != EAGAIN)
			log_warn("control: accept");
		break;
	}
	control_listen_update();
}

/* ------------------------------------------------------------ the socket */

enum { OPEN_OK = 0, OPEN_FAILED = -1, OPEN_TAKEN = -2 };

static char *
control_dirname(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return mem_strdup(".");
	if (slash == path)
		return mem_strdup("/");
	return mem_strndup(path, (size_t)(slash - path));
}

/* The directory of the socket: created when missing; the private fallback
 * directory must belong to porterd's user and be writable by nobody else,
 * since /tmp is everyone's. */
static bool
control_mkdir(const char *dir, bool private, char *err, size_t errlen)
{
	struct stat st;

	if (mkdir(dir, private ? CONTROL_PRIVATE_MODE : CONTROL_DIR_MODE) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
		return false;
	}
	if (lstat(dir, &st) != 0) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return false;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s is not a directory", dir);
		return false;
	}
	if (private && (st.st_uid != geteuid() || (st.st_mode & 077) != 0)) {
		snprintf(err, errlen, "%s is not a private directory of uid %lu", dir,
		    (unsigned long)geteuid());
		return false;
	}
	return true;
}

/* Something at path: a socket nobody answers on is stale and goes; a live
 * one belongs to another porterd; anything else is left alone. */
static int
control_probe(const char *path, const struct sockaddr_un *sun, char *err, size_t errlen)
{
	struct stat st;
	int fd, rc;

	if (lstat(path, &st) != 0)
		return errno == ENOENT ? OPEN_OK : OPEN_FAILED;
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "%s exists and is not a socket", path);
		return OPEN_FAILED;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return OPEN_FAILED;
	}
	rc = connect(fd, (const struct sockaddr *)sun, sizeof(*sun));
	if (rc == 0 || errno == EAGAIN || errno == EINPROGRESS) {
		close(fd);
		return OPEN_TAKEN;
	}
	if (errno != ECONNREFUSED) {
		snprintf(err, errlen, "cannot tell whether %s is in use: %s", path,
		    strerror(errno));
		close(fd);
		return OPEN_FAILED;
	}
	close(fd);
	if (unlink(path) != 0) {
		snprintf(err, errlen, "cannot remove the stale %s: %s", path, strerror(errno));
		return OPEN_FAILED;
	}
	log_info("control: removed the stale socket %s", path);
	return OPEN_OK;
}

static int
control_open(const char *path, bool private, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	struct stat st;
	char *dir;
	mode_t mask;
	int fd, rc;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "the path is longer than %zu bytes",
		    sizeof(sun.sun_path) - 1);
		return OPEN_FAILED;
	}
	dir = control_dirname(path);
	free(control_dir);
	control_dir = dir;
	if (!control_mkdir(dir, private, err, errlen))
		return OPEN_FAILED;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path));
	if ((rc = control_probe(path, &sun, err, errlen)) != OPEN_OK)
		return rc;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return OPEN_FAILED;
	}
	/* Never wider than 0660, not even between bind and chmod. */
	mask = umask(0117);
	rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(mask);
	if (rc != 0) {
		snprintf(err, errlen, "bind: %s", strerror(errno));
		close(fd);
		return OPEN_FAILED;
	}
	if (chmod(path, CONTROL_SOCK_MODE) != 0 || listen(fd, CONTROL_BACKLOG) != 0 ||
	    stat(path, &st) != 0) {
		snprintf(err, errlen, "%s", strerror(errno));
		close(fd);
		unlink(path);
		return OPEN_FAILED;
	}
	control_dev = st.st_dev;
	control_ino = st.st_ino;
	control_path = mem_strdup(path);
	control_lw.fd = fd;
	control_lw.fn = control_accept;
	control_listen_update();
	log_info("control: listening on %s", path);
	return OPEN_OK;
}

int
control_init(const char *path)
{
	char err[512], fallback[PATH_MAX];
	int rc;

	if (path != NULL) {
		rc = control_open(path, false, err, sizeof(err));
		if (rc == OPEN_FAILED)
			log_warnx("control socket %s: %s; going on without one", path, err);
	} else {
		path = PORTER_CONTROL;
		rc = control_open(path, false, err, sizeof(err));
		if (rc == OPEN_FAILED) {
			/* A porterd that may not write /run (make run as a
			 * user) gets a socket of its own under /tmp. */
			snprintf(fallback, sizeof(fallback), PORTER_CONTROL_FALLBACK_DIR,
			    (unsigned long)geteuid());
			path = fallback;
			log_info("control socket %s: %s; trying %s/%s", PORTER_CONTROL, err,
			    fallback, PORTER_CONTROL_NAME);
			snprintf(fallback + strlen(fallback), sizeof(fallback) - strlen(fallback),
			    "/%s", PORTER_CONTROL_NAME);
			rc = control_open(fallback, true, err, sizeof(err));
			if (rc == OPEN_FAILED)
				log_warnx("control socket %s: %s; going on without one", fallback,
				    err);
		}
	}
	if (rc == OPEN_TAKEN) {
		log_warnx("control socket %s: another porterd answers there; not starting", path);
		return -1;
	}
	return 0;
}

void
control_end(void)
{
	struct stat st;

	while (control_clients != NULL) {
		struct cclient *c = control_clients;

		control_clients = c->next;
		loop_timer_cancel(&c->t);
		loop_unwatch(&c->w);
		close(c->w.fd);
		control_client_free(c);
	}
	control_nclients = 0;
	loop_timer_cancel(&control_rearm);
	if (control_lw.fd >= 0) {
		loop_unwatch(&control_lw);
		close(control_lw.fd);
		control_lw.fd = -1;
	}
	/* Only the file this porterd made: someone may have replaced it. */
	if (control_path != NULL && stat(control_path, &st) == 0 && st.st_dev == control_dev &&
	    st.st_ino == control_ino)
		unlink(control_path);
	free(control_path);
	free(control_dir);
	control_path = control_dir = NULL;
}

/* ------------------------------------------------------------ state dump */

/*
 * SIGUSR1: the status and connections tables with a header, next to the
 * control socket. The file is written aside and renamed into place, so a
 * reader never sees half a dump and a symbolic link planted there is
 * replaced, not followed.
 */
void
control_dump(void)
{
	char *dir = control_dir != NULL ? control_dir : control_dirname(PORTER_CONTROL);
	char *path = mem_asprintf("%s/%s", dir, PORTER_DUMP_NAME);
	char *tmp = mem_asprintf("%s.XXXXXX", path);
	struct reply r = { 0 };
	char now[32], started[32];
	int fd;

	render_time(time(NULL), now, sizeof(now));
	render_time(porter.start_time, started, sizeof(started));
	cbuf_printf(&r.body,
	    "porterd %s state dump\ntime: %s\npid: %d\nstarted: %s\nreloads: %llu\n"
	    "services: %zu\nservers: %zu\n\nservices:\n",
	    PORTER_VERSION, now, (int)getpid(), started, (unsigned long long)porter.reloads,
	    service_count(), child_count());
	control_status(&r.body, false);
	cbuf_puts(&r.body, "\nconnections:\n");
	control_connections(&r.body, false);
	if (r.body.full)
		log_warnx("state dump: longer than %u bytes or out of memory; not written",
		    CBUF_MAX);
	else if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0)
		log_warn("state dump %s", path);
	else {
		size_t off = 0;
		bool ok = fchmod(fd, CONTROL_DUMP_MODE) == 0;

		while (ok && off < r.body.len) {
			ssize_t n = write(fd, r.body.p + off, r.body.len - off);

			if (n < 0 && errno == EINTR)
				continue;
			ok = n > 0;
			off += n > 0 ? (size_t)n : 0;
		}
		if (close(fd) != 0)
			ok = false;
		if (ok && rename(tmp, path) == 0)
			log_info("state dump written to %s", path);
		else {
			log_warn("state dump %s", path);
			unlink(tmp);
		}
	}
	cbuf_free(&r.body);
	free(tmp);
	free(path);
	if (dir != control_dir)
		free(dir);
}
