/*
 * test_guard.c: unit tests for guard.c, the one policy. The checks must run
 * in the documented order (cheapest first), the daemon's decision (stop at
 * the first refusal) must be exactly the first refusal of the whole trace
 * that porterctl explain prints, and each refusal must carry xinetd's
 * reason word. Everything is fed in: no clock, no system, no sleeping.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "porterd.h"

/* A service with no checks configured, and the daemon state around it. */
struct fixture {
	struct service_config conf;
	struct svc svc;
	struct sensor *sensor;
	struct timerange times[1];
	struct addrlist only_from;
	struct addrlist no_access;
	uint8_t addr[16];
	struct guard_input in;
};

static void
fx_init(struct fixture *f, const char *client)
{
	memset(f, 0, sizeof(*f));
	f->conf.id = "svc";
	f->conf.socket_type = SOCK_STREAM;
	f->conf.wait = 0;
	f->conf.instances = COUNT_UNLIMITED;
	f->conf.per_source = COUNT_UNLIMITED;
	f->conf.per_source_prefix4 = 32;
	f->conf.per_source_prefix6 = 128;
	f->svc.conf = &f->conf;
	f->svc.kind = SVC_SPAWN;
	f->sensor = limits_sensor_new(16);
	f->in.svc = &f->svc;
	f->in.family = strchr(client, ':') != NULL ? AF_INET6 : AF_INET;
	if (inet_pton(f->in.family, client, f->addr) != 1)
		fail_msg("bad test address %s", client);
	f->in.addr = f->addr;
	f->in.now = 100000;
	f->in.minute = 12 * 60;
	f->in.load = 0.5;
	f->in.sensor = f->sensor;
}

static void
fx_free(struct fixture *f)
{
	limits_sensor_free(f->sensor);
	acl_free(f->svc.acl);
	limits_count_free(f->svc.per_source);
	limits_rate_free(f->svc.src_rate);
	access_clear(&f->only_from);
	access_clear(&f->no_access);
}

static void
fx_acl(struct fixture *f, const char *only_from, const char *no_access)
{
	char err[256];

	if (only_from != NULL && !access_parse(only_from, &f->only_from, err, sizeof(err)))
		fail_msg("%s", err);
	if (no_access != NULL && !access_parse(no_access, &f->no_access, err, sizeof(err)))
		fail_msg("%s", err);
	f->svc.acl = acl_compile(&f->only_from, only_from != NULL, &f->no_access);
}

/* Every check configured, every one passing for the client. */
static void
fx_all_checks(struct fixture *f)
{
	f->conf.cps_rate = 10;
	f->conf.cps_wait = 5;
	f->conf.max_load = 4.0;
	f->times[0] = (struct timerange){ 8 * 60, 18 * 60 };
	f->conf.access_times = f->times;
	f->conf.naccess_times = 1;
	fx_acl(f, "10.0.0.0/8", "10.9.0.0/16");
	f->conf.instances = 10;
	f->conf.per_source = 2;
	f->svc.per_source = limits_count_new(16);
	f->in.limit = 100;
	f->conf.per_source_cps_rate = 5;
	f->conf.per_source_cps_burst = 5;
	f->svc.src_rate = limits_rate_new(16, 5, 5);
	f->conf.flags |= F_IDONLY;
}

static void
fx_source_slot(struct fixture *f)
{
	struct srckey k;

	limits_srckey(&k, f->in.family, f->in.addr, 32, 128);
	assert_true(limits_count_inc(f->svc.per_source, &k));
}

static const enum guard_check order[] = {
	GUARD_SENSOR,
	GUARD_LOAD,
	GUARD_TIME,
	GUARD_ACCESS,
	GUARD_CPS,
	GUARD_INSTANCES,
	GUARD_PER_SOURCE,
	GUARD_PROCESSES,
	GUARD_SOURCE_RATE,
	GUARD_IDENT,
};

/* ------------------------------------------------------------- order */

static void
test_order_cheapest_first(void **state)
{
	struct fixture f;
	struct guard_trace t;

	(void)state;
	fx_init(&f, "10.1.2.3");
	fx_all_checks(&f);
	guard_eval(&f.in, 0, &t);
	assert_int_equal(t.n, sizeof(order) / sizeof(order[0]));
	for (size_t i = 0; i < t.n; i++)
		assert_int_equal(t.step[i].check, order[i]);
	assert_int_equal(t.refused, -1);
	assert_null(guard_refusal(&t));
	/* Only IDONLY is left to wait for. */
	assert_int_equal(t.step[t.n - 1].verdict, GUARD_WAIT);
	assert_true(t.wait_ident);
	assert_false(t.wait_name);
	fx_free(&f);
}

static void
test_only_configured_checks(void **state)
{
	struct fixture f;
	struct guard_trace t;

	(void)state;
	fx_init(&f, "192.0.2.1");
	guard_eval(&f.in, GUARD_ALL, &t);
	/* The sensor list, access_times and access always show; the counts
	 * of a spawned service too, unlimited; -limit only when given. */
	assert_int_equal(t.n, 5);
	assert_int_equal(t.step[0].check, GUARD_SENSOR);
	assert_int_equal(t.step[1].check, GUARD_TIME);
	assert_int_equal(t.step[2].check, GUARD_ACCESS);
	assert_int_equal(t.step[3].check, GUARD_INSTANCES);
	assert_true(t.step[3].max < 0);
	assert_int_equal(t.step[4].check, GUARD_PER_SOURCE);
	assert_int_equal(t.refused, -1);
	f.in.limit = 3;
	guard_eval(&f.in, GUARD_ALL, &t);
	assert_int_equal(t.n, 6);
	assert_int_equal(t.step[5].check, GUARD_PROCESSES);
	fx_free(&f);

	/* A builtin runs in the loop: no instances, per_source or -limit. */
	fx_init(&f, "192.0.2.1");
	f.svc.kind = SVC_INTERNAL;
	guard_eval(&f.in, GUARD_ALL, &t);
	assert_int_equal(t.n, 3);
	fx_free(&f);
}

/* Each check refusing alone gives xinetd's reason word. */
static void
test_each_refusal_and_its_word(void **state)
{
	static const struct {
		enum guard_check check;
		const char *reason;
	} want[] = {
		{ GUARD_SENSOR, "address" },
		{ GUARD_CPS, "connections per second" },
		{ GUARD_LOAD, "load" },
		{ GUARD_TIME, "time" },
		{ GUARD_ACCESS, "address" },
		{ GUARD_INSTANCES, "service_limit" },
		{ GUARD_PER_SOURCE, "per_source_limit" },
		{ GUARD_PROCESSES, "process_limit" },
		{ GUARD_SOURCE_RATE, "per_source_rate" },
		{ GUARD_IDENT, "ident" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		struct fixture f;
		struct guard_trace t;
		const struct guard_step *st;
		struct srckey k;

		fx_init(&f, "10.1.2.3");
		fx_all_checks(&f);
		f.in.ident_known = true;
		f.in.userid = "USERID : UNIX : someone";
		switch (want[i].check) {
		case GUARD_SENSOR:
			limits_sensor_add(f.sensor, AF_INET, f.addr, UINT64_MAX);
			break;
		case GUARD_CPS:
			for (int n = 0; n < 10; n++)
				limits_cps(&f.svc.cps, 10, f.in.now);
			break;
		case GUARD_LOAD:
			f.in.load = 4.0;
			break;
		case GUARD_TIME:
			f.in.minute = 20 * 60;
			break;
		case GUARD_ACCESS:
			f.addr[1] = 9; /* 10.9.2.3: in no_access */
			break;
		case GUARD_INSTANCES:
			f.svc.running = 10;
			break;
		case GUARD_PER_SOURCE:
			fx_source_slot(&f);
			fx_source_slot(&f);
			break;
		case GUARD_PROCESSES:
			f.in.servers = 100;
			break;
		case GUARD_SOURCE_RATE:
			limits_srckey(&k, AF_INET, f.addr, 32, 128);
			for (int n = 0; n < 5; n++)
				assert_true(limits_rate_take(f.svc.src_rate, &k, f.in.now));
			break;
		case GUARD_IDENT:
			f.in.userid = NULL;
			break;
		case GUARD_LIBWRAP: /* needs files: test_wrap.c and test_access.py */
		case GUARD_PEER:    /* a Unix client: test_unix_peer_rules */
		case GUARD_NCHECKS:
			break;
		}
		guard_eval(&f.in, 0, &t);
		st = guard_refusal(&t);
		assert_non_null(st);
		assert_int_equal(st->check, want[i].check);
		assert_string_equal(guard_reason(want[i].check), want[i].reason);
		/* The daemon stops there. */
		assert_ptr_equal(st, &t.step[t.n - 1]);
		fx_free(&f);
	}
}

/* A Unix client: its credentials against only_uid, only_gid, no_uid and
 * no_gid; the user's rule beats the group's, denial beats allowance at the
 * same level, and a supplementary group counts. */
static struct idlist *
ids(size_t n, const unsigned *v)
{
	struct idlist *l = malloc(sizeof(*l) + n * sizeof(unsigned));

	l->n = n;
	memcpy(l->v, v, n * sizeof(unsigned));
	return l;
}

static enum guard_verdict
peer_verdict(struct fixture *f, uint32_t uid, uint32_t gid, const gid_t *groups, size_t ng)
{
	struct guard_trace t;

	f->in.addr = NULL;
	f->in.unix_peer = true;
	f->in.family = AF_UNIX;
	f->in.uid = uid;
	f->in.gid = gid;
	f->in.groups = groups;
	f->in.ngroups = ng;
	guard_eval(&f->in, GUARD_ALL, &t);
	for (size_t i = 0; i < t.n; i++)
		if (t.step[i].check == GUARD_PEER)
			return (enum guard_verdict)t.step[i].verdict;
	fail_msg("no credentials step");
	return GUARD_WAIT;
}

static void
test_unix_peer_rules(void **state)
{
	static const unsigned u1000[] = { 1000 }, g50[] = { 50 }, u0[] = { 0 }, g7[] = { 7 };
	static const gid_t supp50[] = { 20, 50 };
	struct fixture f;

	(void)state;
	fx_init(&f, "127.0.0.1");
	/* No rule: anyone. */
	assert_int_equal(peer_verdict(&f, 0, 0, NULL, 0), GUARD_PASS);
	f.conf.ids[IDS_ONLY_UID] = ids(1, u1000);
	f.conf.ids[IDS_ONLY_GID] = ids(1, g50);
	assert_int_equal(peer_verdict(&f, 1000, 1000, NULL, 0), GUARD_PASS);
	assert_int_equal(peer_verdict(&f, 5, 50, NULL, 0), GUARD_PASS);
	assert_int_equal(peer_verdict(&f, 5, 5, supp50, 2), GUARD_PASS);
	assert_int_equal(peer_verdict(&f, 5, 5, NULL, 0), GUARD_REFUSE);
	/* The user's rule wins over the group's, either way. */
	f.conf.ids[IDS_NO_UID] = ids(1, u0);
	assert_int_equal(peer_verdict(&f, 0, 50, NULL, 0), GUARD_REFUSE);
	f.conf.ids[IDS_NO_GID] = ids(1, g7);
	assert_int_equal(peer_verdict(&f, 1000, 7, NULL, 0), GUARD_PASS);
	assert_int_equal(peer_verdict(&f, 5, 50, (const gid_t[]){ 7 }, 1), GUARD_REFUSE);
	for (int k = 0; k < 4; k++)
		free(f.conf.ids[k]);
	fx_free(&f);
}

/* ------------------------------------------------------------- readers */

/* The daemon (stop at the first refusal) and explain (the whole trace)
 * are fed the same inputs: the daemon's trace must be the explain trace
 * cut after its first refusal, over many random states. */
static void
test_daemon_and_explain_agree(void **state)
{
	unsigned seed = 12345;

	(void)state;
	for (int round = 0; round < 5000; round++) {
		struct fixture f;
		struct guard_trace d, e;
		unsigned r;

		seed = seed * 1103515245u + 12345u;
		r = seed >> 8;
		fx_init(&f, (r & 1) ? "10.1.2.3" : "10.9.2.3");
		fx_all_checks(&f);
		if (r & 2)
			limits_sensor_add(f.sensor, AF_INET, f.addr, UINT64_MAX);
		for (unsigned n = 0; n < ((r >> 2) & 15); n++)
			limits_cps(&f.svc.cps, 10, f.in.now);
		f.in.load = (r & 64) ? 5.0 : 1.0;
		f.in.minute = (r & 128) ? 3 * 60 : 9 * 60;
		f.svc.running = (r >> 8) & 15;
		if (r & 4096)
			fx_source_slot(&f), fx_source_slot(&f);
		f.in.servers = (r & 8192) ? 100 : 1;
		f.in.ident_known = (r & 16384) != 0;
		f.in.userid = (r & 32768) ? "USERID : UNIX : x" : NULL;
		f.conf.wait = (r & 65536) ? 1 : 0;
		f.svc.kind = (r & 131072) ? SVC_TCPMUX_CLIENT : SVC_SPAWN;

		guard_eval(&f.in, 0, &d);
		guard_eval(&f.in, GUARD_ALL, &e);
		assert_true(d.n <= e.n);
		for (size_t i = 0; i < d.n; i++) {
			assert_int_equal(d.step[i].check, e.step[i].check);
			assert_int_equal(d.step[i].verdict, e.step[i].verdict);
			assert_true(d.step[i].cur == e.step[i].cur);
			assert_true(d.step[i].max == e.step[i].max);
		}
		assert_int_equal(d.refused, e.refused);
		if (e.refused >= 0)
			assert_int_equal(d.n, (size_t)e.refused + 1);
		else
			assert_int_equal(d.n, e.n);
		fx_free(&f);
	}
}

/* A client reached through tcpmux counts against instances like any
 * other (explain once left it out). */
static void
test_tcpmux_client_counts(void **state)
{
	struct fixture f;
	struct guard_trace t;

	(void)state;
	fx_init(&f, "127.0.0.1");
	f.svc.kind = SVC_TCPMUX_CLIENT;
	f.conf.instances = 1;
	f.svc.running = 1;
	guard_eval(&f.in, GUARD_ALL, &t);
	assert_non_null(guard_refusal(&t));
	assert_int_equal(guard_refusal(&t)->check, GUARD_INSTANCES);
	fx_free(&f);
}

/* A reached per_source is a refusal, for explain as for the daemon. */
static void
test_per_source_reached_refuses(void **state)
{
	struct fixture f;
	struct guard_trace t;
	char detail[GUARD_TEXT_MAX], rule[GUARD_TEXT_MAX];

	(void)state;
	fx_init(&f, "127.0.0.2");
	f.conf.instances = 10;
	f.conf.per_source = 1;
	f.svc.per_source = limits_count_new(16);
	f.svc.running = 1;
	fx_source_slot(&f);
	guard_eval(&f.in, GUARD_ALL, &t);
	assert_non_null(guard_refusal(&t));
	assert_int_equal(guard_refusal(&t)->check, GUARD_PER_SOURCE);
	guard_describe(&f.in, guard_refusal(&t), detail, sizeof(detail), rule, sizeof(rule));
	assert_string_equal(detail, "1 running for this source of 1");
	assert_string_equal(rule, "per_source 1");
	guard_describe(&f.in, &t.step[3], detail, sizeof(detail), rule, sizeof(rule));
	assert_string_equal(detail, "1 running of 10");
	/* wait = yes: the server serves every source, per_source is moot. */
	f.conf.wait = 1;
	guard_eval(&f.in, GUARD_ALL, &t);
	assert_null(guard_refusal(&t));
	for (size_t i = 0; i < t.n; i++)
		assert_int_not_equal(t.step[i].check, GUARD_PER_SOURCE);
	fx_free(&f);
}

static void
test_name_rules_wait_then_decide(void **state)
{
	struct fixture f;
	struct guard_trace t;
	char detail[GUARD_TEXT_MAX], rule[GUARD_TEXT_MAX];

	(void)state;
	fx_init(&f, "192.0.2.1");
	fx_acl(&f, ".example.test", NULL);
	guard_eval(&f.in, 0, &t);
	assert_int_equal(t.refused, -1);
	assert_true(t.wait_name);
	assert_int_equal(t.step[2].check, GUARD_ACCESS);
	assert_int_equal(t.step[2].verdict, GUARD_WAIT);
	/* The name came: allowed. */
	f.in.name_known = true;
	f.in.name = "host.example.test";
	guard_eval(&f.in, 0, &t);
	assert_int_equal(t.refused, -1);
	assert_false(t.wait_name);
	guard_describe(&f.in, &t.step[2], detail, sizeof(detail), rule, sizeof(rule));
	assert_string_equal(rule, "only_from .example.test");
	assert_string_equal(detail, "only_from .example.test (allowed)");
	/* No name: denied. */
	f.in.name = NULL;
	guard_eval(&f.in, 0, &t);
	assert_non_null(guard_refusal(&t));
	assert_int_equal(guard_refusal(&t)->check, GUARD_ACCESS);
	fx_free(&f);
}

/* A client decided after a wait was counted in the rates on arrival. */
static void
test_arrived_skips_rates(void **state)
{
	struct fixture f;
	struct guard_trace t;

	(void)state;
	fx_init(&f, "10.1.2.3");
	fx_all_checks(&f);
	for (int n = 0; n < 10; n++)
		limits_cps(&f.svc.cps, 10, f.in.now);
	guard_eval(&f.in, 0, &t);
	assert_int_equal(guard_refusal(&t)->check, GUARD_CPS);
	guard_eval(&f.in, GUARD_ARRIVED, &t);
	for (size_t i = 0; i < t.n; i++) {
		assert_int_not_equal(t.step[i].check, GUARD_CPS);
		assert_int_not_equal(t.step[i].check, GUARD_SOURCE_RATE);
	}
	fx_free(&f);
}

/* cps counts only the clients that the access rules let in. */
static void
test_cps_counts_admitted_clients(void **state)
{
	struct fixture f;
	struct guard_trace t;

	(void)state;
	fx_init(&f, "10.9.2.3");
	fx_all_checks(&f);
	for (int i = 0; i < 20; i++) {
		guard_eval(&f.in, 0, &t);
		assert_int_equal(guard_refusal(&t)->check, GUARD_ACCESS);
		guard_commit(&f.svc, &f.in, &t);
	}
	assert_int_equal(limits_cps_count(&f.svc.cps, f.in.now), 0);
	f.addr[1] = 1; /* 10.1.2.3: let in */
	guard_eval(&f.in, 0, &t);
	guard_commit(&f.svc, &f.in, &t);
	assert_int_equal(limits_cps_count(&f.svc.cps, f.in.now), 1);
	fx_free(&f);
}

/* guard_commit counts the client in the rates its trace went through,
 * and guard_eval itself changes nothing. */
static void
test_eval_is_pure_commit_counts(void **state)
{
	struct fixture f;
	struct guard_trace t;

	(void)state;
	fx_init(&f, "10.1.2.3");
	fx_all_checks(&f);
	for (int i = 0; i < 20; i++)
		guard_eval(&f.in, GUARD_ALL, &t);
	assert_int_equal(limits_cps_count(&f.svc.cps, f.in.now), 0);
	guard_eval(&f.in, 0, &t);
	guard_commit(&f.svc, &f.in, &t);
	assert_int_equal(limits_cps_count(&f.svc.cps, f.in.now), 1);
	/* Five tokens: the sixth client of the second is refused. */
	for (int i = 0; i < 4; i++) {
		guard_eval(&f.in, 0, &t);
		assert_int_equal(t.refused, -1);
		guard_commit(&f.svc, &f.in, &t);
	}
	guard_eval(&f.in, 0, &t);
	assert_int_equal(guard_refusal(&t)->check, GUARD_SOURCE_RATE);
	fx_free(&f);
}

static void
test_describe_words(void **state)
{
	struct fixture f;
	struct guard_trace t;
	char detail[GUARD_TEXT_MAX], rule[GUARD_TEXT_MAX];

	(void)state;
	fx_init(&f, "10.9.2.3");
	fx_all_checks(&f);
	limits_sensor_add(f.sensor, AF_INET, f.addr, UINT64_MAX);
	f.in.minute = 20 * 60 + 5;
	guard_eval(&f.in, GUARD_ALL, &t);
	guard_describe(&f.in, &t.step[0], detail, sizeof(detail), rule, sizeof(rule));
	assert_string_equal(detail, "listed: a SENSOR service saw this address");
	assert_string_equal(rule, "sensor list");
	guard_describe(&f.in, &t.step[2], detail, sizeof(detail), rule, sizeof(rule));
	assert_string_equal(detail, "20:05 is outside 08:00-18:00");
	assert_string_equal(rule, "access_times 08:00-18:00");
	guard_describe(&f.in, &t.step[3], detail, sizeof(detail), rule, sizeof(rule));
	assert_string_equal(detail, "no_access 10.9.0.0/16 (denied)");
	assert_string_equal(rule, "no_access 10.9.0.0/16");
	assert_string_equal(guard_name(GUARD_LOAD), "max_load");
	fx_free(&f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_cheapest_first),
		cmocka_unit_test(test_only_configured_checks),
		cmocka_unit_test(test_each_refusal_and_its_word),
		cmocka_unit_test(test_unix_peer_rules),
		cmocka_unit_test(test_daemon_and_explain_agree),
		cmocka_unit_test(test_tcpmux_client_counts),
		cmocka_unit_test(test_per_source_reached_refuses),
		cmocka_unit_test(test_name_rules_wait_then_decide),
		cmocka_unit_test(test_arrived_skips_rates),
		cmocka_unit_test(test_cps_counts_admitted_clients),
		cmocka_unit_test(test_eval_is_pure_commit_counts),
		cmocka_unit_test(test_describe_words),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
