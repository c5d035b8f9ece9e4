/*
 * command.c: what each command of the control socket answers. control.c
 * has read and checked the request (ctl.h's table gives the number of
 * arguments); a command fills the reply's body, text or JSON as asked, and
 * sets its error for an ERR answer. Nothing here blocks: explain is given
 * the client's name by porterctl rather than looking it up.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "porterd.h"

/* ------------------------------------------------------------ words */

static const char *
command_kind(enum svc_kind k)
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
command_state(const struct svc *svc)
{
	if (svc->disabled)
		return "disabled";
	if (!service_up(svc))
		return "down"; /* it could not open its socket, or tcpmux's */
	if (svc->paused)
		return "paused";
	return "active";
}

static const struct {
	unsigned bit;
	const char *name;
} command_pauses[] = {
	{ PAUSE_WAIT, "wait" },
	{ PAUSE_EMFILE, "descriptors" },
	{ PAUSE_CPS, "cps" },
	{ PAUSE_RETRY, "fork" },
	{ PAUSE_LOOKUP, "lookup" },
	{ PAUSE_HELD, "operator" },
	{ PAUSE_HANDOVER, "restart" },
};

#define COMMAND_NPAUSES (sizeof(command_pauses) / sizeof(command_pauses[0]))

/* The address a service listens on: "*" for both families, "0.0.0.0" or
 * "::" for one, "tcpmux" for a service reached through tcpmux. */
static void
command_svc_addr(const struct svc *svc, char *buf, size_t len)
{
	const struct service_config *s = svc->conf;

	if (svc->kind == SVC_TCPMUX_CLIENT)
		snprintf(buf, len, "tcpmux");
	else if (s->family == AF_UNIX)
		snprintf(buf, len, "unix:%s", s->unix_path);
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
command_svc_port(const struct svc *svc)
{
	return svc->kind != SVC_TCPMUX_CLIENT && svc->conf->port > 0;
}

/* The message of an ERR answer. */
static void reply_err(struct reply *, const char *, ...) PRINTF(2, 3);

static void
reply_err(struct reply *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->err, sizeof(r->err), fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------------ status */

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
	{ "reason", NULL, 0, false, NULL },
	{ "tls", NULL, 0, false, NULL },
};

/* A TLS service's certificates and handshake counts, as JSON. */
static void
command_tls_json(struct cbuf *b, const struct svc *svc)
{
	const struct service_config *s = svc->conf;
	size_t n;
	const struct tls_cert *c = tls_ctx_certs(s->tls_ctx, &n);
	uint64_t failed = 0;
	time_t now = time(NULL);

	for (int i = 0; i < TLS_FAIL_MAX; i++)
		failed += svc->tls_failures[i];
	cbuf_puts(b, "{\"certificates\":[");
	for (size_t i = 0; i < n; i++) {
		char when[32];
		bool first = true;

		render_time(c[i].not_after, when, sizeof(when));
		cbuf_puts(b, i == 0 ? "{" : ",{");
		cbuf_key(b, &first, "file");
		cbuf_json(b, c[i].file);
		cbuf_key(b, &first, "subject");
		cbuf_json(b, c[i].subject);
		cbuf_key(b, &first, "names");
		cbuf_puts(b, "[");
		for (size_t k = 0; k < c[i].names.n; k++) {
			cbuf_puts(b, k == 0 ? "" : ",");
			cbuf_json(b, c[i].names.v[k]);
		}
		cbuf_puts(b, "]");
		cbuf_key(b, &first, "not_after");
		cbuf_json(b, when);
		cbuf_key(b, &first, "days_left");
		cbuf_printf(b, "%lld", (long long)((c[i].not_after - now) / 86400));
		cbuf_puts(b, "}");
	}
	cbuf_printf(b, "],\"handshakes\":%llu,\"handshake_failures\":%llu}",
	    (unsigned long long)svc->tls_handshakes, (unsigned long long)failed);
}

void
command_status(struct cbuf *b, bool json)
{
	struct render rd;

	render_begin(&rd, b, json, status_cols, sizeof(status_cols) / sizeof(status_cols[0]));
	const struct svc *svc;

	STAILQ_FOREACH(svc, &svc_list, link)
	{
		const struct service_config *s = svc->conf;
		char addr[128];
		const char *why[COMMAND_NPAUSES];
		size_t nwhy = 0;

		struct cbuf tls = { 0 };

		if (json && s->tls_ctx != NULL)
			command_tls_json(&tls, svc);
		command_svc_addr(svc, addr, sizeof(addr));
		for (size_t i = 0; i < COMMAND_NPAUSES; i++)
			if (svc->pause_why & command_pauses[i].bit)
				why[nwhy++] = command_pauses[i].name;
		const struct render_val row[] = {
			render_str(s->id),
			render_str(command_kind(svc->kind)),
			render_str(s->family == AF_UNIX    ? "unix" :
			        s->protocol == IPPROTO_UDP ? "udp" :
			                                     "tcp"),
			render_str(addr),
			command_svc_port(svc) ? render_num((unsigned)s->port) : render_null(),
			render_str(command_state(svc)),
			render_words(why, nwhy),
			render_num(svc->running),
			render_num(svc->accepted),
			render_num(svc->refused),
			render_null(),
			render_raw(tls.full ? NULL : tls.p),
		};
		render_row(&rd, row, sizeof(row) / sizeof(row[0]));
		cbuf_free(&tls);
	}
	/* Entries set aside for an error: what they would be, and why not. */
	for (size_t i = 0; i < service_nbroken; i++) {
		const struct service_config *s = service_broken[i];
		const struct render_val row[] = {
			render_str(s->id),
			render_null(),
			s->protocol != 0 ? render_str(s->protocol == IPPROTO_UDP ? "udp" : "tcp") :
			                   render_null(),
			render_null(),
			s->port > 0 ? render_num((unsigned)s->port) : render_null(),
			render_str("broken"),
			render_words(NULL, 0),
			render_num(0),
			render_num(0),
			render_num(0),
			render_str(s->fault),
			render_null(),
		};
		render_row(&rd, row, sizeof(row) / sizeof(row[0]));
	}
	render_end(&rd);
	if (!json)
		for (size_t i = 0; i < service_nbroken; i++)
			cbuf_printf(b, "%s: broken: %s\n", service_broken[i]->id,
			    service_broken[i]->fault);
}

/* ------------------------------------------------------------ connections */

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
command_conn_rows(struct conn_rows *rows)
{
	child_foreach(conn_add_child, rows);
	redirect_foreach(conn_add_relay, rows);
	internal_foreach(conn_add_session, rows);
	if (rows->n > 1)
		qsort(rows->v, rows->n, sizeof(rows->v[0]), conn_row_cmp);
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

void
command_connections(struct cbuf *b, bool json)
{
	struct conn_rows rows = { 0 };
	struct render rd;
	uint64_t now = loop_now();

	command_conn_rows(&rows);
	if (rows.full)
		b->full = true;
	render_begin(&rd, b, json, conn_cols, sizeof(conn_cols) / sizeof(conn_cols[0]));
	for (size_t i = 0; i < rows.n; i++) {
		const struct conn_row *c = &rows.v[i];
		char start[32], peer[INET6_ADDRSTRLEN + 16], a[INET6_ADDRSTRLEN];
		int fam = peer_family(&c->peer);
		bool has = fam == AF_INET || fam == AF_INET6;

		render_time(c->start_wall, start, sizeof(start));
		if (has) {
			peer_addr(&c->peer, a, sizeof(a));
			snprintf(peer, sizeof(peer), fam == AF_INET6 ? "[%s]:%d" : "%s:%d", a,
			    peer_port(&c->peer));
		}
		const struct render_val row[] = {
			render_str(c->service),
			render_str(c->kind),
			has ? render_str(a) : render_null(),
			has ? render_num((unsigned)peer_port(&c->peer)) : render_null(),
			has ? render_str(peer) : render_null(),
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

/* ------------------------------------------------------------ reload, check */

/* The body of check and reload: the diagnostics, then the summary line ok
 * unless it is empty. */
static void
command_diag(struct reply *r, const struct diag *d, const char *ok, size_t services)
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
		cbuf_puts(b, "]");
		cbuf_key(b, &first, "notes");
		cbuf_puts(b, "[");
		for (size_t i = 0; i < d->notes.n; i++) {
			cbuf_puts(b, i == 0 ? "" : ",");
			cbuf_json(b, d->notes.v[i]);
		}
		cbuf_puts(b, "]}\n");
		return;
	}
	for (size_t i = 0; i < d->lines.n; i++)
		cbuf_printf(b, "%s\n", d->lines.v[i]);
	for (size_t i = 0; i < d->notes.n; i++)
		cbuf_printf(b, "%s\n", d->notes.v[i]);
	if (ok[0] != '\0')
		cbuf_printf(b, "%s\n", ok);
}

/* The answer to reload or check, once reload.c has read the files. */
static void
command_loaded(struct reload_waiter *w, const struct diag *d)
{
	struct reply *r = (struct reply *)(void *)((char *)w - offsetof(struct reply, wait));
	char ok[64];

	if (w->kind == RELOAD_CHECK) {
		if (d->errors > 0)
			reply_err(r, "%zu error%s in the configuration", d->errors,
			    d->errors == 1 ? "" : "s");
		command_diag(r, d, d->errors == 0 ? "configuration OK" : "", SIZE_MAX);
	} else if (main_refusing(d) > 0) {
		reply_err(r, "reload refused: %zu error%s; the configuration in force stays",
		    d->errors, d->errors == 1 ? "" : "s");
		command_diag(r, d, "", SIZE_MAX);
	} else {
		snprintf(ok, sizeof(ok), "reloaded: %s", main_listening());
		command_diag(r, d, ok, service_count());
	}
	r->pending = false;
	r->done(r);
}

/* reload and check read the files in reload.c's thread and answer when it
 * is done; the loop serves everyone else meanwhile. */
static void
command_load(struct reply *r, enum reload_kind kind)
{
	if (r->done == NULL) {
		reply_err(r, "this request cannot wait for the configuration to be read");
		return;
	}
	if (kind == RELOAD_APPLY)
		log_info("reload requested through the control socket by uid %d", (int)r->uid);
	r->wait.fn = command_loaded;
	r->pending = true;
	reload_request(kind, &r->wait);
}

/* restart answers once the new porterd serves, or has failed. */
static void
command_restart(struct reply *r)
{
	if (r->done == NULL) {
		reply_err(r, "this request cannot wait for the new porterd");
		return;
	}
	if (main_restart(r, r->err, sizeof(r->err)) != 0 && r->err[0] == '\0')
		reply_err(r, "restart failed");
}

/* ------------------------------------------------------------ disable, enable */

/* disable and enable differ in one flag, so one function answers both. */
/* disable, enable, pause and resume: one service's state, changed at
 * once, and the answer in one shape. */
static void
command_operate(struct reply *r, enum ctl_cmd c, const char *id)
{
	static const char *const done[] = {
		[CTL_DISABLE] = "disabled",
		[CTL_ENABLE] = "enabled",
		[CTL_PAUSE] = "paused",
		[CTL_RESUME] = "resumed",
	};
	struct svc *svc = service_find(id);
	char err[256] = "";
	int changed;

	if (svc == NULL) {
		for (size_t i = 0; i < service_nbroken; i++)
			if (strcmp(service_broken[i]->id, id) == 0) {
				reply_err(r, "%s is broken and not served: %s", id,
				    service_broken[i]->fault);
				return;
			}
		reply_err(r, "no service \"%s\"", id);
		return;
	}
	if ((c == CTL_PAUSE || c == CTL_RESUME) && svc->kind == SVC_TCPMUX_CLIENT) {
		reply_err(r,
		    "%s is reached through tcpmux and has no queue of its own to hold clients in; disable it instead",
		    id);
		return;
	}
	if (c == CTL_DISABLE || c == CTL_ENABLE)
		changed = service_set_disabled(svc, c == CTL_DISABLE, err, sizeof(err));
	else
		changed = service_set_held(svc, c == CTL_PAUSE);
	if (changed < 0) {
		log_warnx("%s: enable through the control socket by uid %d failed: %s", id,
		    (int)r->uid, err);
		reply_err(r, "%s: cannot listen: %s; it stays disabled", id, err);
		(void)service_set_disabled(svc, true, err, sizeof(err));
		return;
	}
	if (changed)
		log_info("%s: %s through the control socket by uid %d", id, done[c], (int)r->uid);
	if (r->json) {
		bool first = true;

		cbuf_puts(&r->body, "{");
		cbuf_key(&r->body, &first, "service");
		cbuf_json(&r->body, id);
		cbuf_key(&r->body, &first, "state");
		cbuf_json(&r->body, command_state(svc));
		cbuf_key(&r->body, &first, "changed");
		cbuf_puts(&r->body, changed ? "true" : "false");
		cbuf_puts(&r->body, "}\n");
	} else
		cbuf_printf(&r->body, "%s: %s%s\n", id, changed ? "" : "already ", done[c]);
}

/* ------------------------------------------------------------ explain */

/* An address literal as access rules see it: IPv4-mapped IPv6 is IPv4. */
static bool
command_parse_addr(const char *text, int *family, uint8_t addr[16])
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
command_parse_minute(const char *s)
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

/* The checks whose answer depends on load: shown with their numbers. */
static bool
command_explain_limit(enum guard_check c)
{
	return c == GUARD_CPS || c == GUARD_LOAD || c == GUARD_INSTANCES || c == GUARD_PER_SOURCE ||
	    c == GUARD_PROCESSES;
}

/* One step of the trace: "key: detail" in text; in JSON a string in the
 * object "checks", or {current, max, reached} in "limits". */
static void
command_explain_step(struct reply *r, struct cbuf *checks, bool *first_check, struct cbuf *limits,
    bool *first_limit, struct cbuf *text, const struct guard_input *in, const struct guard_step *st)
{
	char detail[GUARD_TEXT_MAX], rule[GUARD_TEXT_MAX];
	const char *key = guard_name(st->check);
	bool reached = st->verdict == GUARD_REFUSE;

	guard_describe(in, st, detail, sizeof(detail), rule, sizeof(rule));
	if (!command_explain_limit(st->check)) {
		if (r->json) {
			cbuf_key(checks, first_check, key);
			cbuf_json(checks, detail);
		} else
			cbuf_printf(text, "%s: %s\n", key, detail);
		return;
	}
	if (!r->json) {
		cbuf_printf(text, "%s: %s%s\n", key, detail,
		    reached ? " (reached: a client is refused now)" : "");
		return;
	}
	{
		bool first = true;
		int prec = st->check == GUARD_LOAD ? 2 : 0;

		cbuf_key(limits, first_limit, key);
		cbuf_puts(limits, "{");
		cbuf_key(limits, &first, "current");
		cbuf_printf(limits, "%.*f", prec, st->cur);
		cbuf_key(limits, &first, "max");
		if (st->max >= 0)
			cbuf_printf(limits, "%.*f", prec, st->max);
		else
			cbuf_puts(limits, "null");
		cbuf_key(limits, &first, "reached");
		cbuf_puts(limits, reached ? "true" : "false");
		cbuf_puts(limits, "}");
	}
}

/*
 * explain SERVICE ADDRESS [HH:MM] [name=NAME]: guard.c's whole trace for
 * the client, with the numbers of now: every check in the order the
 * connection path makes them, the verdict and the rule that decides it.
 * The daemon stops at the first refusal this shows. name= is the client's
 * reverse name as porterctl found it ("name=" when it has none), since
 * porterd never waits for DNS here.
 */
/* explain's uid:USER, a name or a number, with the groups the system
 * lists for it (getgrouplist: the files, or whatever NSS says). */
struct explain_user {
	bool known;
	uid_t uid;
	gid_t gid;
	gid_t groups[64];
	size_t ngroups;
};

static bool
command_parse_user(const char *v, struct explain_user *u)
{
	const struct passwd *pw = getpwnam(v);
	char *end;
	unsigned long n;
	int ng = (int)(sizeof(u->groups) / sizeof(u->groups[0]));

	if (pw == NULL) {
		n = strtoul(v, &end, 10);
		if (*v < '0' || *v > '9' || *end != '\0' || n > 0x7fffffffUL)
			return false;
		u->uid = (uid_t)n;
		u->gid = (gid_t)-1;
		pw = getpwuid(u->uid);
	}
	if (pw != NULL) {
		u->uid = pw->pw_uid;
		u->gid = pw->pw_gid;
		if (getgrouplist(pw->pw_name, pw->pw_gid, u->groups, &ng) >= 0)
			u->ngroups = (size_t)ng;
	}
	u->known = true;
	return true;
}

static void
command_explain(struct reply *r, int argc, char **argv)
{
	struct cbuf checks = { 0 }, limits = { 0 }, text = { 0 };
	bool first_check = true, first_limit = true;
	const char *pos[3] = { NULL, NULL, NULL }, *name = NULL;
	char rule[GUARD_TEXT_MAX] = "", detail[GUARD_TEXT_MAX], hhmm[8];
	bool name_given = false, at_given = false;
	int npos = 0, family = AF_UNSPEC, minute = 0;
	struct explain_user user = { 0 };
	uint8_t addr[16];
	struct guard_input in;
	struct guard_trace t;
	const struct guard_step *deny;
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
	if (strncmp(pos[1], "uid:", 4) == 0) {
		if (!command_parse_user(pos[1] + 4, &user)) {
			reply_err(r, "\"%s\": no such user", pos[1] + 4);
			return;
		}
	} else if (!command_parse_addr(pos[1], &family, addr)) {
		reply_err(r, "\"%s\" is not an IPv4 or IPv6 address, nor uid:USER", pos[1]);
		return;
	}
	if (pos[2] != NULL) {
		if ((minute = command_parse_minute(pos[2])) < 0) {
			reply_err(r, "\"%s\" is not a time of day (HH:MM)", pos[2]);
			return;
		}
		at_given = true;
	}

	/* The daemon's own inputs, with the client, time and name asked
	 * about; no ident server is asked. */
	client_guard_input(&in, svc, NULL);
	if (user.known) {
		/* A Unix client: the user's groups as the system lists them. */
		in.unix_peer = true;
		in.family = AF_UNIX;
		in.uid = user.uid;
		in.gid = user.gid;
		in.groups = user.groups;
		in.ngroups = user.ngroups;
	} else {
		in.family = family;
		in.addr = addr;
	}
	in.minute = at_given ? minute : guard_minute();
	in.name_known = true;
	in.name = name;
	guard_eval(&in, GUARD_ALL, &t);
	snprintf(hhmm, sizeof(hhmm), "%02u:%02u", (unsigned)in.minute / 60 % 24,
	    (unsigned)in.minute % 60);
	/* The rule: the first refusal's, or the access rule that lets in. */
	deny = guard_refusal(&t);
	for (size_t i = 0; i < t.n; i++)
		if (deny != NULL   ? &t.step[i] == deny :
		        user.known ? t.step[i].check == GUARD_PEER :
		                     t.step[i].check == GUARD_ACCESS)
			guard_describe(&in, &t.step[i], detail, sizeof(detail), rule, sizeof(rule));
	for (size_t i = 0; i < t.n; i++)
		command_explain_step(r, &checks, &first_check, &limits, &first_limit, &text, &in,
		    &t.step[i]);

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
		cbuf_json(b, command_state(svc));
		cbuf_key(b, &first, "checks");
		cbuf_printf(b, "{%s}", checks.p != NULL ? checks.p : "");
		cbuf_key(b, &first, "limits");
		cbuf_printf(b, "{%s}", limits.p != NULL ? limits.p : "");
		cbuf_puts(b, "}\n");
		if (checks.full || limits.full)
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
		cbuf_printf(b, "state: %s\n", command_state(svc));
		cbuf_add(b, text.p != NULL ? text.p : "", text.len);
		if (text.full)
			b->full = true;
	}
	cbuf_free(&checks);
	cbuf_free(&limits);
	cbuf_free(&text);
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

enum { M_ACCEPTED, M_REFUSED, M_RUNNING, M_PAUSED, M_DISABLED, M_UP, M_NSVC };

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
	{ "porter_service_up", "gauge",
	    "1 when a service has its socket and is not disabled, else 0 (down, disabled or broken).",
	    "up" },
};

/* The states of status, each a series of porter_service_state. */
static const char *const metrics_states[] = { "active", "paused", "disabled", "down", "broken" };
#define METRICS_NSTATES (sizeof(metrics_states) / sizeof(metrics_states[0]))

/* A row of the metrics: a service in force, or an entry set aside (svc
 * NULL), which has nothing to count. */
struct metrics_row {
	const struct svc *svc;
	const char *id;
	const char *state;
};

/* Every row, services in force first; NULL when memory ran out. */
static struct metrics_row *
metrics_rows(size_t *n)
{
	struct metrics_row *rows = calloc(service_count() + service_nbroken + 1, sizeof(*rows));
	const struct svc *svc;

	*n = 0;
	if (rows == NULL)
		return NULL;
	STAILQ_FOREACH(svc, &svc_list, link)
	if (svc->conf != NULL)
		rows[(*n)++] = (struct metrics_row){ svc, svc->conf->id, command_state(svc) };
	for (size_t i = 0; i < service_nbroken; i++)
		rows[(*n)++] = (struct metrics_row){ NULL, service_broken[i]->id, "broken" };
	return rows;
}

static unsigned long long
metrics_value(const struct svc *svc, int m)
{
	if (svc == NULL)
		return 0;
	switch (m) {
	case M_ACCEPTED:
		return svc->accepted;
	case M_REFUSED:
		return svc->refused;
	case M_RUNNING:
		return svc->running;
	case M_PAUSED:
		return svc->paused ? 1 : 0;
	case M_DISABLED:
		return svc->disabled ? 1 : 0;
	default:
		return service_up(svc) ? 1 : 0;
	}
}

/* The TLS services: when each certificate expires, handshakes done and
 * failed by reason. */
static void
command_metrics_tls(struct cbuf *b, const struct metrics_row *rows, size_t nrows)
{
	cbuf_puts(b,
	    "# HELP porter_tls_certificate_not_after_seconds When a certificate a service serves expires, in seconds since the Unix epoch.\n"
	    "# TYPE porter_tls_certificate_not_after_seconds gauge\n");
	for (size_t i = 0; i < nrows; i++) {
		size_t n;
		const struct tls_cert *c;

		if (rows[i].svc == NULL || rows[i].svc->conf->tls_ctx == NULL)
			continue;
		c = tls_ctx_certs(rows[i].svc->conf->tls_ctx, &n);
		for (size_t k = 0; k < n; k++) {
			cbuf_puts(b, "porter_tls_certificate_not_after_seconds{service=");
			metrics_label(b, rows[i].id);
			cbuf_puts(b, ",subject=");
			metrics_label(b, c[k].subject);
			cbuf_puts(b, ",file=");
			metrics_label(b, c[k].file);
			cbuf_printf(b, "} %lld\n", (long long)c[k].not_after);
		}
	}
	cbuf_puts(b,
	    "# HELP porter_tls_handshakes_total TLS handshakes a service finished.\n"
	    "# TYPE porter_tls_handshakes_total counter\n");
	for (size_t i = 0; i < nrows; i++)
		if (rows[i].svc != NULL && rows[i].svc->conf->tls_ctx != NULL) {
			cbuf_puts(b, "porter_tls_handshakes_total{service=");
			metrics_label(b, rows[i].id);
			cbuf_printf(b, "} %llu\n", (unsigned long long)rows[i].svc->tls_handshakes);
		}
	cbuf_puts(b,
	    "# HELP porter_tls_handshake_failures_total TLS handshakes a service saw fail, by reason.\n"
	    "# TYPE porter_tls_handshake_failures_total counter\n");
	for (size_t i = 0; i < nrows; i++)
		for (int k = 0;
		     rows[i].svc != NULL && rows[i].svc->conf->tls_ctx != NULL && k < TLS_FAIL_MAX;
		     k++) {
			cbuf_puts(b, "porter_tls_handshake_failures_total{service=");
			metrics_label(b, rows[i].id);
			cbuf_printf(b, ",reason=\"%s\"} %llu\n", tls_fail_words[k],
			    (unsigned long long)rows[i].svc->tls_failures[k]);
		}
}

static void
command_metrics(struct reply *r)
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
	struct metrics_row *rows;
	size_t nrows;

	if ((rows = metrics_rows(&nrows)) == NULL) {
		b->full = true;
		return;
	}
	if (r->json) {
		bool first = true;

		cbuf_puts(b, "{");
		cbuf_key(b, &first, "services");
		cbuf_puts(b, "[");
		for (size_t i = 0; i < nrows; i++) {
			bool f = true;

			cbuf_puts(b, i == 0 ? "\n{" : ",\n{");
			cbuf_key(b, &f, "service");
			cbuf_json(b, rows[i].id);
			cbuf_key(b, &f, "state");
			cbuf_json(b, rows[i].state);
			for (int m = 0; m < M_NSVC; m++) {
				cbuf_key(b, &f, metrics_svc[m].json);
				cbuf_printf(b, "%llu", metrics_value(rows[i].svc, m));
			}
			if (rows[i].svc != NULL && rows[i].svc->conf->tls_ctx != NULL) {
				bool g = true;

				cbuf_key(b, &f, "tls_handshakes");
				cbuf_printf(b, "%llu",
				    (unsigned long long)rows[i].svc->tls_handshakes);
				cbuf_key(b, &f, "tls_handshake_failures");
				cbuf_puts(b, "{");
				for (int k = 0; k < TLS_FAIL_MAX; k++) {
					cbuf_key(b, &g, tls_fail_words[k]);
					cbuf_printf(b, "%llu",
					    (unsigned long long)rows[i].svc->tls_failures[k]);
				}
				cbuf_puts(b, "}");
			}
			cbuf_puts(b, "}");
		}
		cbuf_puts(b, nrows == 0 ? "]" : "\n]");
		for (size_t i = 0; i < nglobal; i++) {
			cbuf_key(b, &first, global[i].json);
			cbuf_printf(b, "%llu", global[i].value);
		}
		cbuf_puts(b, "}\n");
		free(rows);
		return;
	}
	for (int m = 0; m < M_NSVC; m++) {
		cbuf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", metrics_svc[m].name,
		    metrics_svc[m].help, metrics_svc[m].name, metrics_svc[m].type);
		for (size_t i = 0; i < nrows; i++) {
			cbuf_printf(b, "%s{service=", metrics_svc[m].name);
			metrics_label(b, rows[i].id);
			cbuf_printf(b, "} %llu\n", metrics_value(rows[i].svc, m));
		}
	}
	/* One series per state, 1 for the service's own: a state change is
	 * a value change, and an alert can name the state it wants. */
	cbuf_puts(b,
	    "# HELP porter_service_state The state of a service, as porterctl status says it: 1 for its state, 0 for the others.\n"
	    "# TYPE porter_service_state gauge\n");
	for (size_t i = 0; i < nrows; i++)
		for (size_t k = 0; k < METRICS_NSTATES; k++) {
			cbuf_puts(b, "porter_service_state{service=");
			metrics_label(b, rows[i].id);
			cbuf_printf(b, ",state=\"%s\"} %d\n", metrics_states[k],
			    strcmp(rows[i].state, metrics_states[k]) == 0);
		}
	command_metrics_tls(b, rows, nrows);
	free(rows);
	for (size_t i = 0; i < nglobal; i++)
		cbuf_printf(b, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", global[i].name,
		    global[i].help, global[i].name, global[i].type, global[i].name,
		    global[i].value);
}

/* ------------------------------------------------------------ dispatch */

/* A switch rather than a second table beside ctl.h's: the compiler says
 * when a command there has no case here. */
void
command_run(enum ctl_cmd c, struct reply *r, int argc, char **argv)
{
	switch (c) {
	case CTL_STATUS:
		command_status(&r->body, r->json);
		break;
	case CTL_CONNECTIONS:
		command_connections(&r->body, r->json);
		break;
	case CTL_RELOAD:
		command_load(r, RELOAD_APPLY);
		break;
	case CTL_RESTART:
		command_restart(r);
		break;
	case CTL_DISABLE:
	case CTL_ENABLE:
	case CTL_PAUSE:
	case CTL_RESUME:
		command_operate(r, c, argv[0]);
		break;
	case CTL_CHECK:
		command_load(r, RELOAD_CHECK);
		break;
	case CTL_EXPLAIN:
		command_explain(r, argc, argv);
		break;
	case CTL_METRICS:
		command_metrics(r);
		break;
	case CTL_SECURITY:
		security_command(r, argc, argv);
		break;
	case CTL_NCMDS:
		break;
	}
}
