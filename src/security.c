/*
 * security.c: porterctl security, what each spawned server could still do
 * in the sandbox its service gives it, in the spirit of systemd-analyze
 * security. Each check that fails adds its weight to an exposure from 0
 * (everything porter can confine is confined) to 10 (nothing is); the
 * weights add up to 10. Services served inside porterd (internal, redirect)
 * run no program of their own and are left out.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "porterd.h"

struct check {
	const char *attr;  /* the attribute that confines it */
	unsigned tenths;   /* its weight, in tenths */
	bool exposed;      /* the service does not confine it */
	const char *could; /* what the server could do then */
};

#define SECURITY_CHECKS 14

static bool
security_cap_kept(const struct service_config *s, const char *name)
{
	return !conf_service_has(s, A_CAPABILITIES) || strv_has(&s->capabilities, name);
}

/* The checks of one service, in the order they are shown. */
static size_t
security_checks(const struct service_config *s, struct check *c)
{
	bool root = s->have_uid ? s->uid == 0 : geteuid() == 0;
	bool jail = s->root_directory != NULL;
	bool caps = root &&
	    (security_cap_kept(s, "CAP_SYS_ADMIN") || security_cap_kept(s, "CAP_DAC_OVERRIDE"));
	bool nnp =
	    s->no_new_privs || s->system_call_filter.n > 0 || s->restrict_address_families.n > 0;
	size_t n = 0;

#define CHECK(a, w, e, text) c[n++] = (struct check){ a, w, e, text }
	CHECK("user", 15, root, "runs as root");
	CHECK("capabilities", 10, caps,
	    "keeps root's capabilities (CAP_SYS_ADMIN or CAP_DAC_OVERRIDE)");
	CHECK("no_new_privs", 5, !nnp,
	    "gains privileges through set-user-ID programs and file capabilities");
	CHECK("system_call_filter", 10, s->system_call_filter.n == 0,
	    "makes any system call (mount, ptrace, kexec_load, bpf ...)");
	CHECK("restrict_address_families", 5, s->restrict_address_families.n == 0,
	    "opens sockets of any family (AF_PACKET, AF_NETLINK ...)");
	CHECK("private_network", 10, !s->private_network,
	    "opens network connections to anywhere, loopback services included");
	CHECK("protect_system", 10, !jail && s->protect_system != PROTECT_STRICT,
	    s->protect_system == PROTECT_NO      ? "writes /usr, /boot and /etc, as its user may" :
	        s->protect_system == PROTECT_YES ? "writes /etc and /var, as its user may" :
	                                           "writes /var, as its user may");
	CHECK("protect_home", 5,
	    !jail && s->protect_home != PROTECT_HOME_YES && s->protect_home != PROTECT_HOME_TMPFS,
	    s->protect_home == PROTECT_HOME_READ_ONLY ? "reads home directories" :
	                                                "reads and writes home directories");
	CHECK("root_directory", 5, !jail, "sees the host's whole file system");
	CHECK("private_tmp", 5, !s->private_tmp,
	    "shares /tmp and /var/tmp with the host and other connections");
	CHECK("private_pid", 5, !s->private_pid,
	    "sees the host's processes; what it starts may outlive it");
	CHECK("private_ipc", 2, !s->private_ipc, "shares System V IPC and POSIX message queues");
	CHECK("memory_max", 8, s->memory_max == 0, "uses memory without a limit of its own");
	CHECK("pids_max", 5, s->pids_max == 0 && s->timeout == 0,
	    "starts processes without a limit, and runs for ever");
#undef CHECK
	return n;
}

static unsigned
security_exposure(const struct check *c, size_t n)
{
	unsigned t = 0;

	for (size_t i = 0; i < n; i++)
		if (c[i].exposed)
			t += c[i].tenths;
	return t > 100 ? 100 : t;
}

static const char *
security_rating(unsigned tenths)
{
	return tenths < 20 ? "OK" : tenths < 50 ? "MEDIUM" : tenths < 80 ? "EXPOSED" : "UNSAFE";
}

static const struct render_col security_cols[] = {
	{ "id", "SERVICE", 0, false, NULL },
	{ "user", "USER", 1, false, NULL },
	{ "exposure", "EXPOSURE", 2, true, NULL },
	{ "rating", "RATING", 3, false, NULL },
	{ "could", NULL, 0, false, NULL },
};

static void
security_user(const struct service_config *s, char *buf, size_t len)
{
	if (s->user != NULL)
		snprintf(buf, len, "%s", s->user);
	else
		snprintf(buf, len, "%lu", (unsigned long)(s->have_uid ? s->uid : geteuid()));
}

/* One service, its checks one a line: the weight each adds, the attribute
 * that would confine it, what the server could do. */
static void
security_one(struct reply *r, const struct service_config *s)
{
	struct check c[SECURITY_CHECKS];
	size_t n = security_checks(s, c);
	unsigned t = security_exposure(c, n);
	char user[64];

	security_user(s, user, sizeof(user));
	if (r->json) {
		bool first = true;

		cbuf_puts(&r->body, "{");
		cbuf_key(&r->body, &first, "id");
		cbuf_json(&r->body, s->id);
		cbuf_key(&r->body, &first, "user");
		cbuf_json(&r->body, user);
		cbuf_key(&r->body, &first, "exposure");
		cbuf_printf(&r->body, "%u.%u", t / 10, t % 10);
		cbuf_key(&r->body, &first, "rating");
		cbuf_json(&r->body, security_rating(t));
		cbuf_key(&r->body, &first, "checks");
		cbuf_puts(&r->body, "[");
		for (size_t i = 0; i < n; i++) {
			bool f = true;

			cbuf_puts(&r->body, i == 0 ? "{" : ",{");
			cbuf_key(&r->body, &f, "attribute");
			cbuf_json(&r->body, c[i].attr);
			cbuf_key(&r->body, &f, "weight");
			cbuf_printf(&r->body, "%u.%u", c[i].tenths / 10, c[i].tenths % 10);
			cbuf_key(&r->body, &f, "exposed");
			cbuf_puts(&r->body, c[i].exposed ? "true" : "false");
			cbuf_key(&r->body, &f, "could");
			cbuf_json(&r->body, c[i].could);
			cbuf_puts(&r->body, "}");
		}
		cbuf_puts(&r->body, "]}\n");
		return;
	}
	cbuf_printf(&r->body, "%s: exposure %u.%u %s, user %s\n", s->id, t / 10, t % 10,
	    security_rating(t), user);
	for (size_t i = 0; i < n; i++)
		if (c[i].exposed)
			cbuf_printf(&r->body, "  +%u.%u %-26s %s\n", c[i].tenths / 10,
			    c[i].tenths % 10, c[i].attr, c[i].could);
	for (size_t i = 0; i < n; i++)
		if (!c[i].exposed)
			cbuf_printf(&r->body, "   0.0 %-26s confined\n", c[i].attr);
}

void
security_command(struct reply *r, int argc, char **argv)
{
	struct render rd;
	const struct svc *svc;

	if (argc > 0) {
		STAILQ_FOREACH(svc, &svc_list, link)
		if (strcmp(svc->conf->id, argv[0]) == 0) {
			if (svc->kind != SVC_SPAWN && svc->kind != SVC_TCPMUX_CLIENT) {
				snprintf(r->err, sizeof(r->err),
				    "%s is served inside porterd: it runs no program to confine",
				    argv[0]);
				return;
			}
			security_one(r, svc->conf);
			return;
		}
		snprintf(r->err, sizeof(r->err), "no service has the id %s", argv[0]);
		return;
	}
	render_begin(&rd, &r->body, r->json, security_cols,
	    sizeof(security_cols) / sizeof(security_cols[0]));
	STAILQ_FOREACH(svc, &svc_list, link)
	{
		const struct service_config *s = svc->conf;
		struct check c[SECURITY_CHECKS];
		const char *could[SECURITY_CHECKS];
		size_t n, k = 0;
		unsigned t;
		char user[64], exposure[16];

		if (svc->kind != SVC_SPAWN && svc->kind != SVC_TCPMUX_CLIENT)
			continue;
		n = security_checks(s, c);
		t = security_exposure(c, n);
		for (size_t i = 0; i < n; i++)
			if (c[i].exposed)
				could[k++] = c[i].could;
		security_user(s, user, sizeof(user));
		snprintf(exposure, sizeof(exposure), "%u.%u", t / 10, t % 10);
		const struct render_val row[] = {
			render_str(s->id),
			render_str(user),
			r->json ? render_raw(exposure) : render_str(exposure),
			render_str(security_rating(t)),
			render_words(could, k),
		};
		render_row(&rd, row, sizeof(row) / sizeof(row[0]));
	}
	render_end(&rd);
}
