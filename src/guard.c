/*
 * guard.c: the one policy that decides whether a client may be served. Its
 * core, guard_eval, is a pure function of the service, the client's address
 * (and name, once known), the clock, the minute of the day and the load;
 * it writes a trace of every check it made. The connection path stops at
 * the first refusal; porterctl explain asks for the whole trace. Nothing
 * else derives policy, so what explain says is what the daemon does.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "porterd.h"

#define GUARD_LOADAVG_MS 1000 /* /proc/loadavg is read at most this often */

static const struct {
	const char *name;   /* as explain shows it */
	const char *reason; /* xinetd's word in the FAIL line */
} guard_checks[GUARD_NCHECKS] = {
	[GUARD_SENSOR] = { "sensor", "address" },
	[GUARD_LOAD] = { "max_load", "load" },
	[GUARD_TIME] = { "access_times", "time" },
	[GUARD_ACCESS] = { "access", "address" },
	[GUARD_PEER] = { "credentials", "credentials" },
	[GUARD_LIBWRAP] = { "libwrap", "libwrap" },
	[GUARD_CPS] = { "cps", "connections per second" },
	[GUARD_INSTANCES] = { "instances", "service_limit" },
	[GUARD_PER_SOURCE] = { "per_source", "per_source_limit" },
	[GUARD_PROCESSES] = { "process_limit", "process_limit" },
	[GUARD_SOURCE_RATE] = { "per_source_cps", "per_source_rate" },
	[GUARD_IDENT] = { "ident", "ident" },
};

const char *
guard_name(enum guard_check c)
{
	return guard_checks[c].name;
}

const char *
guard_reason(enum guard_check c)
{
	return guard_checks[c].reason;
}

/* ------------------------------------------------------------ inputs */

static struct sensor *guard_sensors;

struct sensor *
guard_sensor(void)
{
	if (guard_sensors == NULL)
		guard_sensors = limits_sensor_new(SENSOR_MAX);
	return guard_sensors;
}

const struct sensor *
guard_sensor_list(void)
{
	return guard_sensors;
}

void
guard_end(void)
{
	limits_sensor_free(guard_sensors);
	guard_sensors = NULL;
}

double
guard_loadavg(uint64_t now)
{
	static uint64_t when;
	static double load;

	if (when == 0 || now - when >= GUARD_LOADAVG_MS) {
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

int
guard_minute(void)
{
	time_t t = time(NULL);
	struct tm tm;

	localtime_r(&t, &tm);
	return tm.tm_hour * 60 + tm.tm_min;
}

/* ------------------------------------------------------------ checks */

static void
guard_step(struct guard_trace *t, enum guard_check c, enum guard_verdict v, double cur, double max)
{
	struct guard_step *st = &t->step[t->n++];

	st->check = (uint8_t)c;
	st->verdict = (uint8_t)v;
	st->cur = cur;
	st->max = max;
	if (v == GUARD_REFUSE && t->refused < 0)
		t->refused = (int)(t->n - 1);
}

/* A count against its maximum (max < 0: unlimited), refused once reached. */
static void
guard_limit(struct guard_trace *t, enum guard_check c, double cur, double max)
{
	guard_step(t, c, max >= 0 && cur >= max ? GUARD_REFUSE : GUARD_PASS, cur, max);
}

/* The client as hosts.allow and hosts.deny see it. */
static const struct wrap_client *
guard_wrap_client(const struct guard_input *in, struct wrap_client *wc)
{
	memset(wc, 0, sizeof(*wc));
	wc->family = in->family;
	wc->addr = in->addr;
	inet_ntop(in->family, in->addr, wc->text, sizeof(wc->text));
	wc->name_known = in->name_known;
	wc->name_failed = in->name_failed;
	wc->paranoid = in->name_paranoid;
	wc->name = in->name;
	return wc;
}

/* Whether the servers and relays of the service count against its
 * instances, per_source and the global process limit. */
static bool
guard_counted(const struct svc *svc)
{
	return svc->kind == SVC_SPAWN || svc->kind == SVC_REDIRECT ||
	    svc->kind == SVC_TCPMUX_CLIENT;
}

static bool
guard_ids_have(const struct idlist *l, uint32_t id)
{
	for (size_t i = 0; l != NULL && i < l->n; i++)
		if (l->v[i] == id)
			return true;
	return false;
}

/* Whether a list of groups names the client's group or one of its
 * supplementary groups. */
static bool
guard_ids_group(const struct idlist *l, const struct guard_input *in)
{
	if (guard_ids_have(l, in->gid))
		return true;
	for (size_t i = 0; i < in->ngroups; i++)
		if (guard_ids_have(l, in->groups[i]))
			return true;
	return false;
}

/* The rules on a Unix client's credentials. As with addresses, the more
 * specific rule wins: a user's over a group's; denial when a user (or a
 * group) is in both lists; with only_* lists, a client none names is
 * refused. */
static enum guard_verdict
guard_peer(const struct service_config *s, const struct guard_input *in, const char **why)
{
	const struct idlist *const *ids = (const struct idlist *const *)s->ids;

	*why = "no_uid";
	if (guard_ids_have(ids[IDS_NO_UID], in->uid))
		return GUARD_REFUSE;
	*why = "only_uid";
	if (guard_ids_have(ids[IDS_ONLY_UID], in->uid))
		return GUARD_PASS;
	*why = "no_gid";
	if (guard_ids_group(ids[IDS_NO_GID], in))
		return GUARD_REFUSE;
	*why = "only_gid";
	if (guard_ids_group(ids[IDS_ONLY_GID], in))
		return GUARD_PASS;
	if (ids[IDS_ONLY_UID] != NULL || ids[IDS_ONLY_GID] != NULL) {
		*why = "not in only_uid or only_gid";
		return GUARD_REFUSE;
	}
	*why = "no rule on users or groups";
	return GUARD_PASS;
}

void
guard_eval(const struct guard_input *in, unsigned flags, struct guard_trace *t)
{
	const struct svc *svc = in->svc;
	const struct service_config *s = svc->conf;
	bool all = (flags & GUARD_ALL) != 0;
	struct srckey key;

	t->n = 0;
	t->refused = -1;
	t->wait_name = t->wait_ident = false;
	if (in->addr != NULL)
		limits_srckey(&key, in->family, in->addr, s->per_source_prefix4,
		    s->per_source_prefix6);
	else if (in->unix_peer)
		limits_srckey(&key, AF_UNIX, (const uint8_t *)&in->uid, 0, 0);

/* Each check below stops the daemon at its first refusal. */
#define GUARD_STOP() \
	do { \
		if (t->refused >= 0 && !all) \
			return; \
	} while (0)

	/* Cheapest first. */
	if (in->addr != NULL)
		guard_step(t, GUARD_SENSOR,
		    in->sensor != NULL &&
		            limits_sensor_denied(in->sensor, in->family, in->addr, in->now) ?
		        GUARD_REFUSE :
		        GUARD_PASS,
		    0, 0);
	GUARD_STOP();
	if (s->max_load > 0)
		guard_limit(t, GUARD_LOAD, in->load, s->max_load);
	GUARD_STOP();
	guard_step(t, GUARD_TIME,
	    s->naccess_times == 0 ||
	            access_times_allow(s->access_times, s->naccess_times, in->minute) ?
	        GUARD_PASS :
	        GUARD_REFUSE,
	    0, 0);
	GUARD_STOP();
	if (svc->acl != NULL && in->addr != NULL) {
		enum acl_verdict v = acl_check(svc->acl, in->family, in->addr, NULL, 0);

		/* A name rule applies and the lookup failed: what it would
		 * have said is unknown, so it denies. */
		if (v == ACL_NEED_NAME && in->name_known)
			v = in->name_failed ?
			    ACL_DENY :
			    acl_check_name(svc->acl, in->family, in->addr, in->name, NULL, 0);
		if (v == ACL_NEED_NAME)
			t->wait_name = true;
		guard_step(t, GUARD_ACCESS,
		    v == ACL_ALLOW    ? GUARD_PASS :
		        v == ACL_DENY ? GUARD_REFUSE :
		                        GUARD_WAIT,
		    0, 0);
	} else
		guard_step(t, GUARD_ACCESS, GUARD_PASS, 0, 0);
	GUARD_STOP();
	if (in->unix_peer) {
		const char *why;

		guard_step(t, GUARD_PEER, guard_peer(s, in, &why), 0, 0);
	}
	GUARD_STOP();
	if (svc->wrapped && in->addr != NULL) {
		struct wrap_client wc;
		const struct wrap_rule *r;
		enum acl_verdict v = wrap_check(in->wrap, (const char *const *)svc->wrap_names,
		    guard_wrap_client(in, &wc), &r);

		if (v == ACL_NEED_NAME)
			t->wait_name = true;
		guard_step(t, GUARD_LIBWRAP,
		    v == ACL_ALLOW    ? GUARD_PASS :
		        v == ACL_DENY ? GUARD_REFUSE :
		                        GUARD_WAIT,
		    0, 0);
		GUARD_STOP();
	}
	/* cps counts the clients the access rules let in, once, when they
	 * arrive. The service pauses when the count reaches the rate, so a
	 * client from the listener never finds it over; one that comes
	 * another way (through tcpmux) is refused then. */
	if (s->cps_rate > 0 && !(flags & GUARD_ARRIVED))
		guard_limit(t, GUARD_CPS, limits_cps_count(&svc->cps, in->now), s->cps_rate);
	GUARD_STOP();
	if (guard_counted(svc)) {
		guard_limit(t, GUARD_INSTANCES, svc->running,
		    s->instances == COUNT_UNLIMITED ? -1 : s->instances);
		GUARD_STOP();
		/* A wait = yes server takes every client itself. */
		if (s->wait != 1 && (in->addr != NULL || in->unix_peer)) {
			bool limited = svc->per_source != NULL && s->per_source != COUNT_UNLIMITED;

			guard_limit(t, GUARD_PER_SOURCE,
			    svc->per_source != NULL ? limits_count_get(svc->per_source, &key) : 0,
			    limited ? s->per_source : -1);
			GUARD_STOP();
		}
		if (in->limit > 0)
			guard_limit(t, GUARD_PROCESSES, (double)in->servers, (double)in->limit);
		GUARD_STOP();
	}
	if (svc->src_rate != NULL && (in->addr != NULL || in->unix_peer) &&
	    !(flags & GUARD_ARRIVED))
		guard_step(t, GUARD_SOURCE_RATE,
		    limits_rate_peek(svc->src_rate, &key, in->now) ? GUARD_PASS : GUARD_REFUSE, 0,
		    0);
	GUARD_STOP();
	/* The ident server is asked only once everything else has passed. */
	if ((s->flags & F_IDONLY) && s->socket_type == SOCK_STREAM && in->addr != NULL) {
		if (!in->ident_known)
			t->wait_ident = true;
		guard_step(t, GUARD_IDENT,
		    !in->ident_known       ? GUARD_WAIT :
		        in->userid != NULL ? GUARD_PASS :
		                             GUARD_REFUSE,
		    0, 0);
	}
#undef GUARD_STOP
}

const struct guard_step *
guard_refusal(const struct guard_trace *t)
{
	return t->refused >= 0 ? &t->step[t->refused] : NULL;
}

void
guard_commit(struct svc *svc, const struct guard_input *in, const struct guard_trace *t)
{
	const struct service_config *s = svc->conf;

	for (size_t i = 0; i < t->n; i++) {
		const struct guard_step *st = &t->step[i];

		if (st->check == GUARD_CPS) {
			limits_cps(&svc->cps, s->cps_rate, in->now);
		} else if (st->check == GUARD_SOURCE_RATE && st->verdict == GUARD_PASS) {
			struct srckey key;

			if (in->unix_peer)
				limits_srckey(&key, AF_UNIX, (const uint8_t *)&in->uid, 0, 0);
			else
				limits_srckey(&key, in->family, in->addr, s->per_source_prefix4,
				    s->per_source_prefix6);
			limits_rate_take(svc->src_rate, &key, in->now);
		}
	}
}

/* ------------------------------------------------------------ words */

static void
guard_times(const struct service_config *s, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < s->naccess_times && o < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s%02u:%02u-%02u:%02u", i ? " " : "",
		    s->access_times[i].start / 60u, s->access_times[i].start % 60u,
		    s->access_times[i].end / 60u, s->access_times[i].end % 60u);
}

/* The text of a count against its maximum. */
static void
guard_count_text(const struct guard_step *st, const char *what, char *buf, size_t len)
{
	if (st->max < 0)
		snprintf(buf, len, "%.0f %s, unlimited", st->cur, what);
	else
		snprintf(buf, len, "%.0f %s of %.0f", st->cur, what, st->max);
}

void
guard_describe(const struct guard_input *in, const struct guard_step *st, char *detail, size_t dlen,
    char *rule, size_t rlen)
{
	const struct svc *svc = in->svc;
	const struct service_config *s = svc->conf;
	char buf[GUARD_TEXT_MAX];

	detail[0] = rule[0] = '\0';
	switch ((enum guard_check)st->check) {
	case GUARD_SENSOR:
		snprintf(detail, dlen, "%s",
		    st->verdict == GUARD_REFUSE ? "listed: a SENSOR service saw this address" :
		                                  "not listed");
		snprintf(rule, rlen, "sensor list");
		break;
	case GUARD_CPS:
		guard_count_text(st, "connections this second", detail, dlen);
		snprintf(rule, rlen, "cps %u %u", s->cps_rate, s->cps_wait);
		break;
	case GUARD_LOAD:
		snprintf(detail, dlen, "%.2f of %.2f", st->cur, st->max);
		snprintf(rule, rlen, "max_load %.2f", s->max_load);
		break;
	case GUARD_TIME:
		guard_times(s, buf, sizeof(buf));
		if (s->naccess_times == 0)
			snprintf(detail, dlen, "none");
		else
			snprintf(detail, dlen, "%02d:%02d is %s %s", in->minute / 60 % 24,
			    in->minute % 60, st->verdict == GUARD_PASS ? "within" : "outside", buf);
		snprintf(rule, rlen, "access_times %s", buf);
		break;
	case GUARD_ACCESS:
		if (svc->acl == NULL || in->addr == NULL) {
			snprintf(detail, dlen, "no only_from or no_access");
			snprintf(rule, rlen, "no only_from or no_access");
			break;
		}
		if (acl_check(svc->acl, in->family, in->addr, buf, sizeof(buf)) == ACL_NEED_NAME &&
		    in->name_known) {
			if (in->name_failed)
				snprintf(buf, sizeof(buf),
				    "host name needed, and the lookup failed");
			else
				acl_check_name(svc->acl, in->family, in->addr, in->name, buf,
				    sizeof(buf));
		}
		if (st->verdict == GUARD_WAIT)
			snprintf(detail, dlen, "%s", buf);
		else
			snprintf(detail, dlen, "%s (%s)", buf,
			    st->verdict == GUARD_PASS ? "allowed" : "denied");
		snprintf(rule, rlen, "%s", buf);
		break;
	case GUARD_PEER: {
		const char *why;

		guard_peer(s, in, &why);
		snprintf(detail, dlen, "uid %lu gid %lu: %s (%s)", (unsigned long)in->uid,
		    (unsigned long)in->gid, why, st->verdict == GUARD_PASS ? "allowed" : "denied");
		snprintf(rule, rlen, "%s", why);
		break;
	}
	case GUARD_LIBWRAP: {
		struct wrap_client wc;
		const struct wrap_rule *r;

		wrap_check(in->wrap, (const char *const *)svc->wrap_names,
		    guard_wrap_client(in, &wc), &r);
		if (r == NULL) {
			snprintf(detail, dlen, "no rule of %s or %s for this client (allowed)",
			    WRAP_ALLOW_FILE, WRAP_DENY_FILE);
			snprintf(rule, rlen, "no rule of %s or %s", WRAP_ALLOW_FILE,
			    WRAP_DENY_FILE);
			break;
		}
		wrap_rule_text(r, buf, sizeof(buf));
		snprintf(detail, dlen, "%s (%s)", buf,
		    st->verdict == GUARD_PASS       ? "allowed" :
		        st->verdict == GUARD_REFUSE ? "denied" :
		                                      "host name needed");
		snprintf(rule, rlen, "%s", buf);
		break;
	}
	case GUARD_INSTANCES:
		guard_count_text(st, "running", detail, dlen);
		snprintf(rule, rlen, "instances %d", s->instances);
		break;
	case GUARD_PER_SOURCE:
		guard_count_text(st, "running for this source", detail, dlen);
		snprintf(rule, rlen, "per_source %d", s->per_source);
		break;
	case GUARD_PROCESSES:
		guard_count_text(st, "servers running", detail, dlen);
		snprintf(rule, rlen, "-limit %ld", in->limit);
		break;
	case GUARD_SOURCE_RATE: {
		/* A datagram builtin has a rate of its own by default. */
		bool own = s->per_source_cps_rate > 0;
		unsigned rate = own ? s->per_source_cps_rate : DGRAM_SOURCE_RATE;
		unsigned burst = own ? s->per_source_cps_burst : DGRAM_SOURCE_BURST;

		snprintf(detail, dlen, "%u per second, burst %u%s", rate, burst,
		    own ? "" : " (the default of a datagram builtin)");
		snprintf(rule, rlen, "per_source_cps %u %u", rate, burst);
		break;
	}
	case GUARD_IDENT:
		snprintf(detail, dlen, "%s",
		    st->verdict == GUARD_WAIT ?
		        "required (IDONLY): the client's ident server must answer" :
		        st->verdict == GUARD_PASS ? "the client's ident server answered" :
		                                    "the client's ident server did not answer");
		snprintf(rule, rlen, "flags IDONLY");
		break;
	case GUARD_NCHECKS:
		break;
	}
}
