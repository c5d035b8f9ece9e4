/*
 * conf_dump.c: prints the effective services in a canonical form, one
 * attribute per line in a fixed order, with every default already applied.
 * The output is itself a valid configuration that reads back to the same
 * services, which `porterd -T`, the tests and the fuzzer rely on.
 */
#include <stdlib.h>
#include <string.h>

#include "conf.h"

static void
dump_bits(FILE *fp, unsigned bits, unsigned last, const char *(*name)(unsigned))
{
	bool first = true;

	for (unsigned b = 1; b != 0 && b <= last; b <<= 1) {
		if (bits & b) {
			fprintf(fp, "%s%s", first ? "" : " ", name(b));
			first = false;
		}
	}
}

static void
dump_strv(FILE *fp, const struct strv *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		fprintf(fp, "%s%s", i ? " " : "", sv->v[i]);
}

static void
dump_count(FILE *fp, int n)
{
	if (n == COUNT_UNLIMITED)
		fputs("UNLIMITED", fp);
	else
		fprintf(fp, "%d", n);
}

static void
dump_addrs(FILE *fp, const struct addrlist *l)
{
	char buf[300];

	for (size_t i = 0; i < l->n; i++) {
		access_format(&l->v[i], buf, sizeof(buf));
		fprintf(fp, "%s%s", i ? " " : "", buf);
	}
}

static void
dump_value(FILE *fp, const struct service_config *s, enum attr_id a)
{
	switch (a) {
	case A_ID:
		fputs(s->id, fp);
		break;
	case A_TYPE:
		dump_bits(fp, s->type, T_TCPMUXPLUS, conf_attr_type_name);
		break;
	case A_FLAGS:
		dump_bits(fp, s->flags, F_REUSE, conf_attr_flag_name);
		break;
	case A_SOCKET_TYPE:
		fputs(s->socket_type == SOCK_DGRAM ? "dgram" : "stream", fp);
		break;
	case A_PROTOCOL:
		fputs(s->protocol == IPPROTO_UDP ? "udp" : "tcp", fp);
		break;
	case A_WAIT:
		fputs(s->wait ? "yes" : "no", fp);
		break;
	case A_USER:
		fputs(s->user, fp);
		break;
	case A_GROUP:
		fputs(s->group, fp);
		break;
	case A_GROUPS:
		fputs(s->groups ? "yes" : "no", fp);
		break;
	case A_SERVER:
		fputs(s->server, fp);
		break;
	case A_SERVER_ARGS:
		dump_strv(fp, &s->server_args);
		break;
	case A_REDIRECT:
		fprintf(fp, "%s %s", s->redirect_host, s->redirect_port);
		break;
	case A_PORT:
		fprintf(fp, "%d", s->port);
		break;
	case A_BIND:
		fputs(s->bind, fp);
		break;
	case A_V6ONLY:
		fputs(s->v6only ? "yes" : "no", fp);
		break;
	case A_BACKLOG:
		fprintf(fp, "%d", s->backlog);
		break;
	case A_LISTEN_FDS:
		fputs(s->listen_fds ? "yes" : "no", fp);
		break;
	case A_INSTANCES:
		dump_count(fp, s->instances);
		break;
	case A_PER_SOURCE:
		dump_count(fp, s->per_source);
		break;
	case A_PER_SOURCE_PREFIX:
		fprintf(fp, "%d %d", s->per_source_prefix4, s->per_source_prefix6);
		break;
	case A_PER_SOURCE_CPS:
		fprintf(fp, "%u %u", s->per_source_cps_rate, s->per_source_cps_burst);
		break;
	case A_CPS:
		fprintf(fp, "%u %u", s->cps_rate, s->cps_wait);
		break;
	case A_MAX_LOAD: {
		char buf[40];

		/* The shortest text that reads back to the same number. */
		for (int prec = 1; prec <= 17; prec++) {
			snprintf(buf, sizeof(buf), "%.*g", prec, s->max_load);
			if (strtod(buf, NULL) == s->max_load)
				break;
		}
		fputs(buf, fp);
		break;
	}
	case A_TIMEOUT:
		fprintf(fp, "%u", s->timeout);
		break;
	case A_REDIRECT_IDLE:
		fprintf(fp, "%u", s->redirect_idle);
		break;
	case A_ACCESS_TIMES:
		for (size_t i = 0; i < s->naccess_times; i++) {
			const struct timerange *t = &s->access_times[i];

			fprintf(fp, "%s%d:%02d-%d:%02d", i ? " " : "", t->start / 60, t->start % 60,
			    t->end / 60, t->end % 60);
		}
		break;
	case A_ONLY_FROM:
		dump_addrs(fp, &s->only_from);
		break;
	case A_NO_ACCESS:
		dump_addrs(fp, &s->no_access);
		break;
	case A_LOG_TYPE:
		if (s->log_type.kind == LOGT_SYSLOG)
			fprintf(fp, "SYSLOG %s %s", conf_attr_facility_name(s->log_type.facility),
			    conf_attr_level_name(s->log_type.level));
		else {
			fprintf(fp, "FILE %s", s->log_type.path);
			if (s->log_type.soft != 0)
				fprintf(fp, " %llu %llu", (unsigned long long)s->log_type.soft,
				    (unsigned long long)s->log_type.hard);
			if (s->log_type.json)
				fputs(" json", fp);
		}
		break;
	case A_LOG_ON_SUCCESS:
		/* TRAFFIC only means something for a relay. */
		dump_bits(fp,
		    s->log_on_success & (conf_service_has(s, A_REDIRECT) ? ~0u : ~L_TRAFFIC),
		    L_TRAFFIC, conf_attr_log_name);
		break;
	case A_LOG_ON_FAILURE:
		dump_bits(fp, s->log_on_failure & (L_HOST | L_USERID | L_ATTEMPT), L_ATTEMPT,
		    conf_attr_log_name);
		break;
	case A_ENV:
		dump_strv(fp, &s->env);
		break;
	case A_PASSENV:
		dump_strv(fp, &s->passenv);
		break;
	case A_BANNER:
		fputs(s->banner, fp);
		break;
	case A_BANNER_SUCCESS:
		fputs(s->banner_success, fp);
		break;
	case A_BANNER_FAIL:
		fputs(s->banner_fail, fp);
		break;
	case A_NICE:
		fprintf(fp, "%d", s->nice);
		break;
	case A_UMASK:
		fprintf(fp, "%03o", (unsigned)s->umask);
		break;
	case A_RLIMIT_AS:
	case A_RLIMIT_CPU:
	case A_RLIMIT_DATA:
	case A_RLIMIT_RSS:
	case A_RLIMIT_STACK:
	case A_RLIMIT_FILES: {
		uint64_t v = s->rlimit[a - A_RLIMIT_AS];

		if (v == LIMIT_UNLIMITED)
			fputs("UNLIMITED", fp);
		else
			fprintf(fp, "%llu", (unsigned long long)v);
		break;
	}
	case A_DENY_TIME:
		if (s->deny_time == DENY_FOREVER)
			fputs("FOREVER", fp);
		else if (s->deny_time == 0)
			fputs("NEVER", fp);
		else if (s->deny_time % 60 == 0)
			fprintf(fp, "%d", s->deny_time / 60);
		else
			fprintf(fp, "%ds", s->deny_time);
		break;
	case A_RPC_VERSION:
		if (s->rpc_version_lo == s->rpc_version_hi)
			fprintf(fp, "%d", s->rpc_version_lo);
		else
			fprintf(fp, "%d-%d", s->rpc_version_lo, s->rpc_version_hi);
		break;
	case A_RPC_NUMBER:
		fprintf(fp, "%lu", s->rpc_number);
		break;
	case A_LIBWRAP:
		fputs(s->libwrap, fp);
		break;
	default:
		abort();
	}
}

/* Whether the dump shows attribute a of s. Resolved values are shown even
 * where the file left them implicit, so the dump says what will run. */
static bool
dump_shows(const struct service_config *s, enum attr_id a)
{
	switch (a) {
	case A_ID:
		return true;
	case A_TYPE:
		return s->type != 0;
	case A_FLAGS:
		return s->flags != 0;
	case A_SOCKET_TYPE:
		return s->socket_type != 0;
	case A_PROTOCOL:
		return s->protocol != 0;
	case A_WAIT:
		return s->wait >= 0;
	case A_PORT:
		return s->port >= 0;
	case A_V6ONLY:
		/* Only an IPv6 socket has the option. */
		return conf_service_has(s, a) && s->family != AF_INET;
	case A_PER_SOURCE:
		/* Meaningless for a single server; the checks warn where the
		 * entry itself sets it. */
		return conf_service_has(s, a) && s->wait != 1;
	case A_REDIRECT_IDLE:
		return conf_service_has(s, a) && conf_service_has(s, A_REDIRECT);
	case A_DISABLE:
	case A_MDNS:
	case A_ENABLED:
	case A_DISABLED:
		return false;
	default:
		return conf_service_has(s, a);
	}
}

void
conf_dump(const struct config *cf, FILE *fp)
{
	fputs("# porter: the effective services, with defaults applied\n", fp);
	for (size_t i = 0; i < cf->nsvc; i++) {
		const struct service_config *s = cf->svc[i];

		fprintf(fp, "\nservice %s\n{\n", s->name);
		for (int a = 0; a < A_MAX; a++) {
			if (!dump_shows(s, (enum attr_id)a))
				continue;
			char *val = NULL;
			size_t len = 0;
			FILE *m = open_memstream(&val, &len);

			if (m == NULL)
				abort();
			dump_value(m, s, (enum attr_id)a);
			fclose(m);
			/* An empty list is a value too: "only_from =" denies all. */
			fprintf(fp, "\t%-18s=%s%s\n", conf_attr_name((enum attr_id)a),
			    len ? " " : "", val);
			free(val);
		}
		fputs("}\n", fp);
	}
}
