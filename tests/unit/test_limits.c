/*
 * test_limits.c: unit tests for limits.c. The clock is a number the tests
 * pass in, so nothing sleeps; the tables are also run for a hundred
 * thousand random operations against small reference models written the
 * plain way, which must agree with them at every step.
 */
#include <arpa/inet.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "porterd.h"

#define MODEL_OPS 100000

/* ------------------------------------------------------------- helpers */

static void
pton(int family, const char *text, uint8_t *addr)
{
	memset(addr, 0, 16);
	if (inet_pton(family, text, addr) != 1)
		fail_msg("bad test address %s", text);
}

static struct srckey
key_of(const char *text, int prefix4, int prefix6)
{
	struct srckey k;
	uint8_t a[16];
	int family = strchr(text, ':') != NULL ? AF_INET6 : AF_INET;

	pton(family, text, a);
	limits_srckey(&k, family, a, prefix4, prefix6);
	return k;
}

/* The key of the exact address. */
static struct srckey
key(const char *text)
{
	return key_of(text, 32, 128);
}

static void
assert_key(const struct srckey *k, int family, const char *text)
{
	uint8_t a[16];

	pton(family, text, a);
	assert_int_equal(k->family, family);
	assert_memory_equal(k->addr, a, 16);
}

/* xorshift64*: a fixed sequence, so a failure repeats. */
static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

static unsigned
rnd_below(uint64_t *s, unsigned n)
{
	return (unsigned)((rnd(s) >> 32) % n);
}

/*
 * Key number i of a test universe: IPv4 and IPv6 mixed, with pairs that
 * differ only in the family or in the last bit, so equality is tested
 * where it is easiest to get wrong.
 */
static void
universe_addr(unsigned i, int *family, uint8_t *addr)
{
	memset(addr, 0, 16);
	switch (i % 4) {
	case 0:
	case 1:
		*family = AF_INET;
		addr[0] = 10;
		addr[2] = (uint8_t)(i >> 8);
		addr[3] = (uint8_t)i;
		break;
	case 2:
		*family = AF_INET6;
		addr[0] = 10;
		addr[2] = (uint8_t)(i >> 8);
		addr[3] = (uint8_t)i;
		break;
	default:
		*family = AF_INET6;
		addr[0] = 0x20;
		addr[1] = 0x01;
		addr[14] = (uint8_t)(i >> 8);
		addr[15] = (uint8_t)i;
		break;
	}
}

static struct srckey
universe_key(unsigned i)
{
	struct srckey k;
	uint8_t a[16];
	int family;

	universe_addr(i, &family, a);
	limits_srckey(&k, family, a, 32, 128);
	return k;
}

/* --------------------------------------------------------------- srckey */

static void
test_srckey_v4_prefix(void **state)
{
	struct srckey k, l;

	(void)state;
	k = key_of("10.1.2.3", 24, 128);
	assert_key(&k, AF_INET, "10.1.2.0");
	k = key_of("10.1.2.3", 32, 64);
	assert_key(&k, AF_INET, "10.1.2.3");
	k = key_of("10.1.2.3", 0, 128);
	assert_key(&k, AF_INET, "0.0.0.0");
	k = key_of("10.1.31.3", 20, 128);
	assert_key(&k, AF_INET, "10.1.16.0");
	k = key_of("10.1.2.255", 31, 128);
	assert_key(&k, AF_INET, "10.1.2.254");
	k = key_of("255.255.255.255", 1, 128);
	assert_key(&k, AF_INET, "128.0.0.0");
	/* Out of range prefixes are cut to the address length. */
	k = key_of("10.1.2.3", 33, 128);
	assert_key(&k, AF_INET, "10.1.2.3");
	k = key_of("10.1.2.3", -1, 128);
	assert_key(&k, AF_INET, "0.0.0.0");
	/* Two hosts of one /24 are one source; the bytes past the IPv4
	 * address are zero, so the keys compare equal as a whole. */
	k = key_of("192.0.2.1", 24, 128);
	l = key_of("192.0.2.200", 24, 128);
	assert_memory_equal(&k, &l, sizeof(k));
	l = key_of("192.0.3.1", 24, 128);
	assert_memory_not_equal(&k, &l, sizeof(k));
}

static void
test_srckey_v6_prefix(void **state)
{
	struct srckey k, l;

	(void)state;
	k = key_of("2001:db8:1:2:3:4:5:6", 32, 64);
	assert_key(&k, AF_INET6, "2001:db8:1:2::");
	k = key_of("2001:db8:1:2:3:4:5:6", 0, 128);
	assert_key(&k, AF_INET6, "2001:db8:1:2:3:4:5:6");
	k = key_of("2001:db8:1:2:3:4:5:6", 32, 0);
	assert_key(&k, AF_INET6, "::");
	k = key_of("2001:db8:1:ffff::", 24, 48);
	assert_key(&k, AF_INET6, "2001:db8:1::");
	k = key_of("2001:db8:1:ffff::", 24, 61);
	assert_key(&k, AF_INET6, "2001:db8:1:fff8::");
	k = key_of("2001:db8::1", 24, 200);
	assert_key(&k, AF_INET6, "2001:db8::1");
	k = key_of("2001:db8:0:7:a::1", 24, 64);
	l = key_of("2001:db8:0:7:b::2", 24, 64);
	assert_memory_equal(&k, &l, sizeof(k));
}

static void
test_srckey_mapped(void **state)
{
	struct srckey k, l;

	(void)state;
	/* A v4-mapped address takes the IPv4 prefix, not the IPv6 one. */
	k = key_of("::ffff:10.1.2.3", 24, 64);
	assert_key(&k, AF_INET, "10.1.2.0");
	l = key_of("10.1.2.99", 24, 64);
	assert_memory_equal(&k, &l, sizeof(k));
	k = key_of("::ffff:10.1.2.3", 32, 0);
	assert_key(&k, AF_INET, "10.1.2.3");
	/* Look-alikes that are not v4-mapped stay IPv6. */
	k = key_of("::10.1.2.3", 32, 128);
	assert_key(&k, AF_INET6, "::10.1.2.3");
	k = key_of("64:ff9b::10.1.2.3", 32, 128);
	assert_key(&k, AF_INET6, "64:ff9b::10.1.2.3");
	k = key_of("::fffe:10.1.2.3", 32, 128);
	assert_key(&k, AF_INET6, "::fffe:10.1.2.3");
	/* The same bytes as IPv4 and as IPv6 are different sources. */
	k = key("10.1.2.3");
	l = key("a01:203::");
	assert_memory_not_equal(&k, &l, sizeof(k));
}

/* ------------------------------------------------------------- srccount */

static void
test_srccount_counts(void **state)
{
	struct srccount *sc = limits_count_new(8);
	struct srckey a = key("192.0.2.1"), b = key("2001:db8::1");
	struct srckey n1 = key_of("198.51.100.7", 24, 64), n2 = key_of("198.51.100.9", 24, 64);

	(void)state;
	assert_int_equal(limits_count_get(sc, &a), 0);
	limits_count_dec(sc, &a); /* unknown: nothing happens */
	assert_int_equal(limits_count_get(sc, &a), 0);
	for (int i = 0; i < 3; i++)
		assert_true(limits_count_inc(sc, &a));
	assert_true(limits_count_inc(sc, &b));
	assert_int_equal(limits_count_get(sc, &a), 3);
	assert_int_equal(limits_count_get(sc, &b), 1);
	limits_count_dec(sc, &a);
	assert_int_equal(limits_count_get(sc, &a), 2);
	limits_count_dec(sc, &b);
	assert_int_equal(limits_count_get(sc, &b), 0);
	limits_count_dec(sc, &b);
	assert_int_equal(limits_count_get(sc, &b), 0);
	assert_int_equal(limits_count_get(sc, &a), 2);
	/* A prefix bucket counts its hosts together. */
	assert_true(limits_count_inc(sc, &n1));
	assert_true(limits_count_inc(sc, &n2));
	assert_int_equal(limits_count_get(sc, &n1), 2);
	limits_count_free(sc);
}

static void
test_srccount_capacity(void **state)
{
	struct srccount *sc = limits_count_new(3);
	struct srckey a = key("10.0.0.1"), b = key("10.0.0.2"), c = key("10.0.0.3");
	struct srckey d = key("10.0.0.4"), e = key("10.0.0.5");

	(void)state;
	assert_true(limits_count_inc(sc, &a));
	assert_true(limits_count_inc(sc, &b));
	assert_true(limits_count_inc(sc, &c));
	assert_false(limits_count_inc(sc, &d));
	assert_int_equal(limits_count_get(sc, &d), 0);
	/* A source already counted still counts when the table is full. */
	assert_true(limits_count_inc(sc, &a));
	assert_int_equal(limits_count_get(sc, &a), 2);
	/* A source whose count drops to zero leaves room. */
	limits_count_dec(sc, &c);
	assert_true(limits_count_inc(sc, &d));
	assert_false(limits_count_inc(sc, &e));
	limits_count_dec(sc, &a);
	assert_false(limits_count_inc(sc, &e));
	limits_count_dec(sc, &a);
	assert_true(limits_count_inc(sc, &e));
	limits_count_free(sc);

	sc = limits_count_new(0);
	assert_false(limits_count_inc(sc, &a));
	assert_int_equal(limits_count_get(sc, &a), 0);
	limits_count_dec(sc, &a);
	limits_count_free(sc);
	limits_count_free(NULL);
}

/*
 * Random increments and decrements against an array of counts. The bias
 * swings between filling and draining every few thousand operations, so
 * the table goes through full, refusing, and empty many times, and the
 * backward shift of deletion runs over wrapped and crowded probe runs.
 */
static void
srccount_model(size_t max, unsigned universe, uint64_t seed)
{
	struct srccount *sc = limits_count_new(max);
	unsigned count[4096] = { 0 };
	size_t distinct = 0, refused = 0, peak = 0, emptied = 0;

	assert_true(universe <= 4096);
	for (unsigned op = 0; op < MODEL_OPS; op++) {
		unsigned i = rnd_below(&seed, universe);
		unsigned inc_pct = (op / 4000) % 2 == 0 ? 70 : 30;
		struct srckey k = universe_key(i);

		if (rnd_below(&seed, 100) < inc_pct) {
			bool want = count[i] > 0 || distinct < max;

			assert_int_equal(limits_count_inc(sc, &k), want);
			if (want) {
				distinct += count[i] == 0;
				count[i]++;
			} else {
				refused++;
			}
		} else {
			/* Mostly a counted source, else any (a stray decrement). */
			if (distinct > 0 && rnd_below(&seed, 5) != 0)
				while (count[i] == 0)
					i = (i + 1) % universe;
			k = universe_key(i);
			limits_count_dec(sc, &k);
			if (count[i] > 0 && --count[i] == 0 && --distinct == 0)
				emptied++;
		}
		if (distinct > peak)
			peak = distinct;
		assert_int_equal(limits_count_get(sc, &k), count[i]);
		if (op % 997 == 0)
			for (unsigned j = 0; j < universe; j++) {
				struct srckey kj = universe_key(j);

				assert_int_equal(limits_count_get(sc, &kj), count[j]);
			}
	}
	for (unsigned j = 0; j < universe; j++) {
		struct srckey kj = universe_key(j);

		assert_int_equal(limits_count_get(sc, &kj), count[j]);
	}
	if (universe > max) {
		assert_true(refused > 0);
		assert_int_equal(peak, max);
	}
	if (max <= 8)
		assert_true(emptied > 0);
	limits_count_free(sc);
}

static void
test_srccount_model(void **state)
{
	(void)state;
	srccount_model(1, 4, 1);
	srccount_model(7, 40, 2);
	srccount_model(64, 200, 3);
	srccount_model(500, 600, 4);
	srccount_model(1000, 800, 5);
}

/* ------------------------------------------------------------------ cps */

static void
test_cps_one_second_window(void **state)
{
	struct cps_state st = { 0 };
	uint64_t t = 100500;

	(void)state;
	for (int i = 0; i < 3; i++)
		assert_false(limits_cps(&st, 3, t));
	assert_true(limits_cps(&st, 3, t));
	assert_true(limits_cps(&st, 3, t + 10));
	/* The window runs from the first connection, not the wall second. */
	assert_true(limits_cps(&st, 3, t + 999));
	assert_false(limits_cps(&st, 3, t + 1000));
	assert_false(limits_cps(&st, 3, t + 1500));
	assert_false(limits_cps(&st, 3, t + 1999));
	assert_true(limits_cps(&st, 3, t + 1999));
	/* Spread out, any number gets through. */
	for (uint64_t s = 10; s < 20; s++)
		assert_false(limits_cps(&st, 3, t + s * 1000));
}

static void
test_cps_exact_rate(void **state)
{
	struct cps_state st = { 0 };

	(void)state;
	for (unsigned sec = 1; sec <= 5; sec++) {
		uint64_t t = sec * 1000 + 7;

		for (unsigned i = 0; i < 50; i++)
			assert_false(limits_cps(&st, 50, t + i * 19));
		assert_true(limits_cps(&st, 50, t + 999));
	}
}

static void
test_cps_reset_and_clock(void **state)
{
	struct cps_state st = { 0 };

	(void)state;
	assert_false(limits_cps(&st, 1, 5000));
	assert_true(limits_cps(&st, 1, 5001));
	/* The caller's reset after the pause. */
	memset(&st, 0, sizeof(st));
	assert_false(limits_cps(&st, 1, 5002));
	/* A clock that goes back starts over instead of wrapping. */
	assert_false(limits_cps(&st, 1, 4000));
	assert_true(limits_cps(&st, 1, 4000));
	/* A rate of 0 lets nothing through. */
	memset(&st, 0, sizeof(st));
	assert_true(limits_cps(&st, 0, 9000));
}

/* -------------------------------------------------------------- srcrate */

/* A table grown for more sources keeps every count it had. */
static void
test_srccount_grow(void **state)
{
	struct srccount *sc = limits_count_new(2);
	struct srckey a = key_of("10.0.0.1", 32, 128), b = key_of("10.0.0.2", 32, 128);
	struct srckey c = key_of("10.0.0.3", 32, 128);

	(void)state;
	assert_true(limits_count_inc(sc, &a));
	assert_true(limits_count_inc(sc, &a));
	assert_true(limits_count_inc(sc, &b));
	assert_false(limits_count_inc(sc, &c));
	assert_ptr_equal(limits_count_grow(sc, 2), sc);
	sc = limits_count_grow(sc, 16);
	assert_int_equal(limits_count_get(sc, &a), 2);
	assert_int_equal(limits_count_get(sc, &b), 1);
	assert_true(limits_count_inc(sc, &c));
	limits_count_dec(sc, &a);
	assert_int_equal(limits_count_get(sc, &a), 1);
	limits_count_free(sc);
	sc = limits_count_grow(NULL, 4);
	assert_true(limits_count_inc(sc, &a));
	limits_count_free(sc);
}

/* What the guard reads: the count of the window that holds now, and
 * whether a take would succeed, both without changing anything. */
static void
test_cps_count_and_rate_peek(void **state)
{
	struct cps_state st = { 0 };
	struct srcrate *sr = limits_rate_new(16, 2, 3);
	struct srckey k = key_of("10.0.0.1", 32, 128);

	(void)state;
	assert_int_equal(limits_cps_count(&st, 5000), 0);
	for (int i = 0; i < 4; i++)
		limits_cps(&st, 10, 5000);
	assert_int_equal(limits_cps_count(&st, 5999), 4);
	assert_int_equal(limits_cps_count(&st, 6000), 0);
	assert_int_equal(limits_cps_count(&st, 4000), 0); /* the clock went back */
	for (uint64_t now = 0; now < 5000; now += 37) {
		bool peek = limits_rate_peek(sr, &k, now);

		assert_int_equal(limits_rate_peek(sr, &k, now), peek);
		assert_int_equal(limits_rate_take(sr, &k, now), peek);
	}
	limits_rate_free(sr);
}

static void
test_srcrate_burst_and_refill(void **state)
{
	struct srcrate *sr = limits_rate_new(16, 1, 3);
	struct srckey a = key("192.0.2.1");
	uint64_t t = 1000000;

	(void)state;
	for (int i = 0; i < 3; i++)
		assert_true(limits_rate_take(sr, &a, t));
	assert_false(limits_rate_take(sr, &a, t));
	/* Refused attempts take nothing, so they do not delay the refill. */
	for (uint64_t d = 1; d < 1000; d += 37)
		assert_false(limits_rate_take(sr, &a, t + d));
	assert_false(limits_rate_take(sr, &a, t + 999));
	assert_true(limits_rate_take(sr, &a, t + 1000));
	assert_false(limits_rate_take(sr, &a, t + 1000));
	/* Two seconds bring two tokens. */
	assert_true(limits_rate_take(sr, &a, t + 3000));
	assert_true(limits_rate_take(sr, &a, t + 3000));
	assert_false(limits_rate_take(sr, &a, t + 3000));
	/* A long pause refills up to the burst and no further. */
	t += 3600 * 1000;
	for (int i = 0; i < 3; i++)
		assert_true(limits_rate_take(sr, &a, t));
	assert_false(limits_rate_take(sr, &a, t));
	limits_rate_free(sr);
	limits_rate_free(NULL);
}

static void
test_srcrate_fractional_rate(void **state)
{
	struct srcrate *sr = limits_rate_new(4, 3, 1);
	struct srckey a = key("192.0.2.1");
	uint64_t t = 50000;

	(void)state;
	/* Three a second is one every 333.3 ms. */
	assert_true(limits_rate_take(sr, &a, t));
	assert_false(limits_rate_take(sr, &a, t + 333));
	assert_true(limits_rate_take(sr, &a, t + 334));
	limits_rate_free(sr);
}

/* Tries every millisecond for ms milliseconds; returns how many passed. */
static unsigned
srcrate_flat_out(unsigned rate, unsigned burst, uint64_t ms)
{
	struct srcrate *sr = limits_rate_new(4, rate, burst);
	struct srckey a = key("2001:db8::1");
	unsigned n = 0;

	for (uint64_t t = 0; t <= ms; t++)
		n += limits_rate_take(sr, &a, 777000 + t);
	limits_rate_free(sr);
	return n;
}

static void
test_srcrate_no_drift(void **state)
{
	(void)state;
	/* The burst, then exactly rate * seconds: no rounding adds up. */
	assert_int_equal(srcrate_flat_out(7, 5, 100000), 5 + 700);
	assert_int_equal(srcrate_flat_out(3, 5, 1000000), 5 + 3000);
	assert_int_equal(srcrate_flat_out(3, 5, 999999), 5 + 2999);
	assert_int_equal(srcrate_flat_out(1000, 1, 10000), 1 + 10000);
	assert_int_equal(srcrate_flat_out(1000000, 10, 100), 101);
}

static void
test_srcrate_keys_independent(void **state)
{
	struct srcrate *sr = limits_rate_new(16, 1, 2);
	struct srckey a = key("192.0.2.1"), b = key("192.0.2.2");
	struct srckey n1 = key_of("2001:db8:0:1::1", 32, 64),
	              n2 = key_of("2001:db8:0:1::2", 32, 64);

	(void)state;
	assert_true(limits_rate_take(sr, &a, 9000));
	assert_true(limits_rate_take(sr, &a, 9000));
	assert_false(limits_rate_take(sr, &a, 9000));
	assert_true(limits_rate_take(sr, &b, 9000));
	assert_true(limits_rate_take(sr, &b, 9000));
	assert_false(limits_rate_take(sr, &b, 9000));
	/* One /64 shares one bucket. */
	assert_true(limits_rate_take(sr, &n1, 9000));
	assert_true(limits_rate_take(sr, &n2, 9000));
	assert_false(limits_rate_take(sr, &n1, 9000));
	limits_rate_free(sr);
}

static void
test_srcrate_odd_settings(void **state)
{
	struct srcrate *sr;
	struct srckey a = key("192.0.2.1");

	(void)state;
	/* No burst: nothing passes. */
	sr = limits_rate_new(4, 10, 0);
	assert_false(limits_rate_take(sr, &a, 1000));
	limits_rate_free(sr);
	/* No refill: the burst, then nothing, ever. */
	sr = limits_rate_new(4, 0, 2);
	assert_true(limits_rate_take(sr, &a, 1000));
	assert_true(limits_rate_take(sr, &a, 1000));
	assert_false(limits_rate_take(sr, &a, 1000));
	assert_false(limits_rate_take(sr, &a, UINT64_C(1) << 60));
	limits_rate_free(sr);
	/* No room to remember anyone: every source is new. */
	sr = limits_rate_new(0, 1, 1);
	for (int i = 0; i < 5; i++)
		assert_true(limits_rate_take(sr, &a, 1000));
	limits_rate_free(sr);
	/* A huge rate ten years after boot does not wrap now * rate. */
	sr = limits_rate_new(4, UINT_MAX, 1);
	for (uint64_t t = UINT64_C(315360000000); t < UINT64_C(315360000005); t++)
		assert_true(limits_rate_take(sr, &a, t));
	limits_rate_free(sr);
}

static void
test_srcrate_evicts_idle(void **state)
{
	struct srcrate *sr = limits_rate_new(4, 1, 5);
	struct srckey a = key("10.0.0.1"), b = key("10.0.0.2"), c = key("10.0.0.3");
	struct srckey d = key("10.0.0.4"), e = key("10.0.0.5");
	const struct srckey *kept[] = { &b, &c, &d, &e };

	(void)state;
	assert_true(limits_rate_take(sr, &a, 100000));
	assert_true(limits_rate_take(sr, &b, 150000));
	assert_true(limits_rate_take(sr, &c, 150000));
	assert_true(limits_rate_take(sr, &d, 150000));
	/* a has been idle for 50 s: its bucket is full, and it goes. */
	assert_true(limits_rate_take(sr, &e, 150000));
	for (size_t i = 0; i < 4; i++) {
		for (int j = 0; j < 4; j++)
			assert_true(limits_rate_take(sr, kept[i], 150000));
		assert_false(limits_rate_take(sr, kept[i], 150000));
	}
	limits_rate_free(sr);
}

static void
test_srcrate_evicts_fullest_not_oldest(void **state)
{
	struct srcrate *sr = limits_rate_new(2, 1, 10);
	struct srckey a = key("10.0.0.1"), b = key("10.0.0.2"), c = key("10.0.0.3");

	(void)state;
	/* a drains its bucket; b, used later, takes a single token. */
	for (int i = 0; i < 10; i++)
		assert_true(limits_rate_take(sr, &a, 10000));
	assert_true(limits_rate_take(sr, &b, 11000));
	/* At 12 s a holds 2 tokens and b is full again: b is the one to forget,
	 * though a was used longer ago. */
	assert_true(limits_rate_take(sr, &c, 12000));
	assert_true(limits_rate_take(sr, &a, 12000));
	assert_true(limits_rate_take(sr, &a, 12000));
	assert_false(limits_rate_take(sr, &a, 12000));
	limits_rate_free(sr);
}

static void
test_srcrate_flood_keeps_drained(void **state)
{
	struct srcrate *sr = limits_rate_new(16, 1, 3);
	struct srckey legit[8], k;
	uint8_t a[16];

	(void)state;
	for (unsigned i = 0; i < 8; i++) {
		legit[i] = universe_key(i);
		for (int j = 0; j < 3; j++)
			assert_true(limits_rate_take(sr, &legit[i], 50000));
		assert_false(limits_rate_take(sr, &legit[i], 50000));
	}
	/* 100,000 new sources in half a second, 16 places: each is new, so
	 * each passes, and they push each other out, never the drained ones. */
	pton(AF_INET6, "2001:db8:f::", a);
	for (unsigned i = 0; i < 100000; i++) {
		a[12] = (uint8_t)(i >> 24);
		a[13] = (uint8_t)(i >> 16);
		a[14] = (uint8_t)(i >> 8);
		a[15] = (uint8_t)i;
		limits_srckey(&k, AF_INET6, a, 32, 128);
		assert_true(limits_rate_take(sr, &k, 50000 + i / 200));
	}
	for (unsigned i = 0; i < 8; i++)
		assert_false(limits_rate_take(sr, &legit[i], 50500));
	for (unsigned i = 0; i < 8; i++) {
		assert_true(limits_rate_take(sr, &legit[i], 51000));
		assert_false(limits_rate_take(sr, &legit[i], 51000));
	}
	limits_rate_free(sr);
}

/*
 * The reference for srcrate: buckets kept the plain way (millitokens at the
 * last take, refilled by elapsed ms * rate up to the cap), in an array
 * searched end to end, forgetting the fullest bucket when a new source
 * finds it full. When two buckets that are not full tie for fullest the
 * choice is arbitrary and the two could part ways, so the model reports
 * it and the test starts both over.
 */
struct rate_ref {
	unsigned key[64];
	uint64_t milli[64];
	uint64_t last[64];
	size_t n, max;
	uint64_t rate, cap;
	size_t evicted_busy;
};

static uint64_t
rate_ref_level(const struct rate_ref *m, size_t i, uint64_t now)
{
	uint64_t v = m->milli[i] + (now - m->last[i]) * m->rate;

	return v < m->cap ? v : m->cap;
}

/* 1 taken, 0 refused, -1 undecidable. */
static int
rate_ref_take(struct rate_ref *m, unsigned key, uint64_t now)
{
	size_t i, best = 0;
	uint64_t lv;
	bool tie = false;

	for (i = 0; i < m->n; i++)
		if (m->key[i] == key) {
			lv = rate_ref_level(m, i, now);
			if (lv < 1000)
				return 0;
			m->milli[i] = lv - 1000;
			m->last[i] = now;
			return 1;
		}
	if (m->n == m->max) {
		for (i = 1; i < m->n; i++) {
			uint64_t li = rate_ref_level(m, i, now), lb = rate_ref_level(m, best, now);

			if (li > lb) {
				best = i;
				tie = false;
			} else if (li == lb) {
				tie = true;
			}
		}
		if (rate_ref_level(m, best, now) < m->cap) {
			if (tie)
				return -1;
			m->evicted_busy++;
		}
		i = best;
	} else {
		i = m->n++;
	}
	m->key[i] = key;
	m->milli[i] = m->cap - 1000;
	m->last[i] = now;
	return 1;
}

static void
srcrate_model(size_t max, unsigned universe, unsigned hot, unsigned rate, unsigned burst,
    unsigned maxstep, uint64_t seed)
{
	struct srcrate *sr = limits_rate_new(max, rate, burst);
	struct rate_ref m = { .max = max, .rate = rate, .cap = (uint64_t)burst * 1000 };
	size_t restarts = 0, refused = 0;
	uint64_t now = 1000000;

	assert_true(max <= 64);
	for (unsigned op = 0; op < MODEL_OPS; op++) {
		unsigned i =
		    rnd_below(&seed, 2) ? rnd_below(&seed, hot) : rnd_below(&seed, universe);
		struct srckey k = universe_key(i);
		int want;

		now += 1 + rnd_below(&seed, maxstep);
		want = rate_ref_take(&m, i, now);
		if (want < 0) {
			limits_rate_free(sr);
			sr = limits_rate_new(max, rate, burst);
			m.n = 0;
			restarts++;
			continue;
		}
		refused += want == 0;
		assert_int_equal(limits_rate_take(sr, &k, now), want);
	}
	assert_true(restarts < MODEL_OPS / 200);
	assert_true(refused > MODEL_OPS / 50);
	assert_true(m.evicted_busy > 100);
	limits_rate_free(sr);
}

static void
test_srcrate_model(void **state)
{
	(void)state;
	srcrate_model(32, 80, 8, 1, 4, 10, 11);
	srcrate_model(5, 12, 3, 7, 2, 40, 12);
	srcrate_model(64, 400, 20, 2, 3, 3, 13);
}

/* --------------------------------------------------------------- sensor */

static void
sensor_put(struct sensor *s, const char *text, uint64_t until)
{
	uint8_t a[16];
	int family = strchr(text, ':') != NULL ? AF_INET6 : AF_INET;

	pton(family, text, a);
	limits_sensor_add(s, family, a, until);
}

static bool
sensor_has(struct sensor *s, const char *text, uint64_t now)
{
	uint8_t a[16];
	int family = strchr(text, ':') != NULL ? AF_INET6 : AF_INET;

	pton(family, text, a);
	return limits_sensor_denied(s, family, a, now);
}

static void
test_sensor_add_and_expiry(void **state)
{
	struct sensor *s = limits_sensor_new(16);

	(void)state;
	assert_false(sensor_has(s, "10.0.0.1", 0));
	sensor_put(s, "10.0.0.1", 5000);
	assert_true(sensor_has(s, "10.0.0.1", 4999));
	assert_false(sensor_has(s, "10.0.0.2", 4999));
	/* The whole address, no prefix. */
	assert_false(sensor_has(s, "10.0.0.0", 4999));
	/* The deny ends at until. Asking changes nothing: the expired entry
	 * stays until an expiry pass or a new entry drops it. */
	assert_false(sensor_has(s, "10.0.0.1", 5000));
	assert_int_equal(limits_sensor_expire(s, 0), 1);
	assert_int_equal(limits_sensor_expire(s, 5000), 0);
	/* A v4-mapped client is the same as its IPv4 address, both ways. */
	sensor_put(s, "::ffff:192.0.2.7", 9000);
	assert_true(sensor_has(s, "192.0.2.7", 100));
	sensor_put(s, "192.0.2.8", 9000);
	assert_true(sensor_has(s, "::ffff:192.0.2.8", 100));
	sensor_put(s, "2001:db8::7", 9000);
	assert_true(sensor_has(s, "2001:db8::7", 100));
	assert_false(sensor_has(s, "2001:db8::8", 100));
	assert_int_equal(limits_sensor_expire(s, 100), 3);
	limits_sensor_free(s);
	limits_sensor_free(NULL);
}

static void
test_sensor_forever_and_extend(void **state)
{
	struct sensor *s = limits_sensor_new(16);

	(void)state;
	sensor_put(s, "10.0.0.1", UINT64_MAX);
	assert_true(sensor_has(s, "10.0.0.1", UINT64_MAX - 1));
	assert_int_equal(limits_sensor_expire(s, UINT64_MAX - 1), 1);
	/* A shorter deny does not cut a FOREVER one. */
	sensor_put(s, "10.0.0.1", 10);
	assert_true(sensor_has(s, "10.0.0.1", 1000));
	/* A later expiry extends; an earlier one is ignored. */
	sensor_put(s, "10.0.0.2", 5000);
	sensor_put(s, "10.0.0.2", 9000);
	assert_true(sensor_has(s, "10.0.0.2", 8999));
	sensor_put(s, "10.0.0.2", 3000);
	assert_true(sensor_has(s, "10.0.0.2", 8999));
	assert_int_equal(limits_sensor_expire(s, 8999), 2);
	assert_int_equal(limits_sensor_expire(s, 9000), 1);
	limits_sensor_free(s);
}

static void
test_sensor_full(void **state)
{
	struct sensor *s = limits_sensor_new(4);

	(void)state;
	sensor_put(s, "10.0.0.3", 3000);
	sensor_put(s, "10.0.0.1", 1000);
	sensor_put(s, "10.0.0.4", 4000);
	sensor_put(s, "10.0.0.2", 2000);
	/* Full: the entry that expires first makes room. */
	sensor_put(s, "10.0.0.5", 5000);
	assert_false(sensor_has(s, "10.0.0.1", 0));
	assert_true(sensor_has(s, "10.0.0.2", 0));
	assert_true(sensor_has(s, "10.0.0.5", 0));
	/* A newcomer expiring before every entry is not kept. */
	sensor_put(s, "10.0.0.6", 500);
	assert_false(sensor_has(s, "10.0.0.6", 0));
	assert_true(sensor_has(s, "10.0.0.2", 0));
	/* Extending a listed address needs no room. */
	sensor_put(s, "10.0.0.3", 7000);
	assert_true(sensor_has(s, "10.0.0.3", 6000));
	sensor_put(s, "10.0.0.7", 2000);
	assert_false(sensor_has(s, "10.0.0.2", 0));
	assert_true(sensor_has(s, "10.0.0.7", 0));
	assert_int_equal(limits_sensor_expire(s, 0), 4);
	limits_sensor_free(s);

	s = limits_sensor_new(0);
	sensor_put(s, "10.0.0.1", 1000);
	assert_false(sensor_has(s, "10.0.0.1", 0));
	assert_int_equal(limits_sensor_expire(s, 0), 0);
	limits_sensor_free(s);
}

static void
test_sensor_expire_count(void **state)
{
	struct sensor *s = limits_sensor_new(SENSOR_MAX);
	uint8_t a[16];

	(void)state;
	sensor_put(s, "10.0.0.1", 10);
	sensor_put(s, "10.0.0.2", 20);
	sensor_put(s, "10.0.0.3", 30);
	sensor_put(s, "10.0.0.4", 40);
	sensor_put(s, "10.0.0.5", UINT64_MAX);
	assert_int_equal(limits_sensor_expire(s, 0), 5);
	assert_int_equal(limits_sensor_expire(s, 25), 3);
	assert_true(sensor_has(s, "10.0.0.3", 25));
	assert_int_equal(limits_sensor_expire(s, 40), 1);
	assert_true(sensor_has(s, "10.0.0.5", 1000000));
	/* The production size fills and drains. */
	pton(AF_INET6, "2001:db8::", a);
	for (unsigned i = 0; i < 2 * SENSOR_MAX; i++) {
		a[14] = (uint8_t)(i >> 8);
		a[15] = (uint8_t)i;
		a[13] = (uint8_t)(i >> 16);
		limits_sensor_add(s, AF_INET6, a, 100000 + i);
	}
	assert_int_equal(limits_sensor_expire(s, 0), SENSOR_MAX);
	assert_true(sensor_has(s, "10.0.0.5", 1000000));
	assert_int_equal(limits_sensor_expire(s, 100000 + 2 * SENSOR_MAX - 100), 100);
	limits_sensor_free(s);
}

/*
 * The reference for the deny list: an array searched end to end, with
 * the same rules. When the list is full and two entries share the first
 * expiry, which one goes is arbitrary, so the test starts both over.
 */
struct sensor_ref {
	unsigned key[64];
	uint64_t until[64];
	size_t n, max;
	size_t replaced;
};

static void
sensor_ref_remove(struct sensor_ref *m, size_t i)
{
	m->key[i] = m->key[m->n - 1];
	m->until[i] = m->until[m->n - 1];
	m->n--;
}

/* false when undecidable. */
static bool
sensor_ref_add(struct sensor_ref *m, unsigned key, uint64_t until)
{
	size_t i, first = 0;
	bool tie = false;

	for (i = 0; i < m->n; i++)
		if (m->key[i] == key) {
			if (until > m->until[i])
				m->until[i] = until;
			return true;
		}
	if (m->n == m->max) {
		for (i = 1; i < m->n; i++) {
			if (m->until[i] < m->until[first]) {
				first = i;
				tie = false;
			} else if (m->until[i] == m->until[first]) {
				tie = true;
			}
		}
		if (until < m->until[first])
			return true;
		if (tie)
			return false;
		sensor_ref_remove(m, first);
		m->replaced++;
	}
	m->key[m->n] = key;
	m->until[m->n++] = until;
	return true;
}

static bool
sensor_ref_denied(struct sensor_ref *m, unsigned key, uint64_t now)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->key[i] == key) {
			if (m->until[i] > now)
				return true;
			sensor_ref_remove(m, i);
			return false;
		}
	return false;
}

static size_t
sensor_ref_expire(struct sensor_ref *m, uint64_t now)
{
	for (size_t i = 0; i < m->n;)
		if (m->until[i] <= now)
			sensor_ref_remove(m, i);
		else
			i++;
	return m->n;
}

static void
sensor_model(size_t max, unsigned universe, uint64_t seed)
{
	struct sensor *s = limits_sensor_new(max);
	struct sensor_ref m = { .max = max };
	size_t restarts = 0, denied = 0;
	uint64_t now = 1000;

	assert_true(max <= 64);
	for (unsigned op = 0; op < MODEL_OPS; op++) {
		unsigned i = rnd_below(&seed, universe), what = rnd_below(&seed, 100);
		uint8_t a[16];
		int family;

		universe_addr(i, &family, a);
		now += rnd_below(&seed, 20);
		if (what < 40) {
			uint64_t until =
			    rnd_below(&seed, 5000) == 0 ? UINT64_MAX : now + rnd_below(&seed, 3000);

			if (!sensor_ref_add(&m, i, until)) {
				limits_sensor_free(s);
				s = limits_sensor_new(max);
				m.n = 0;
				restarts++;
				continue;
			}
			limits_sensor_add(s, family, a, until);
		} else if (what < 98) {
			bool want = sensor_ref_denied(&m, i, now);

			denied += want;
			assert_int_equal(limits_sensor_denied(s, family, a, now), want);
		} else {
			assert_int_equal(limits_sensor_expire(s, now), sensor_ref_expire(&m, now));
		}
	}
	assert_int_equal(limits_sensor_expire(s, now), sensor_ref_expire(&m, now));
	assert_true(restarts < MODEL_OPS / 200);
	assert_true(denied > MODEL_OPS / 20);
	assert_true(m.replaced > 100);
	limits_sensor_free(s);
}

static void
test_sensor_model(void **state)
{
	(void)state;
	sensor_model(8, 40, 21);
	sensor_model(64, 300, 22);
	sensor_model(1, 3, 23);
}

/* -------------------------------------------------------------- loadavg */

static void
test_loadavg(void **state)
{
	static const char *const bad[] = { "", " 0.52 0.58", "abc", "-1.00 0.5", "-0.00", "+1.0",
		".5", "5.", "0.5x 1", "nan", "inf", "1e3", "0x1p3", "1,5 1", "0..5",
		"1234567890123456" };

	(void)state;
	assert_true(limits_parse_loadavg("0.52 0.58 0.59 1/467 12345\n") == 0.52);
	assert_true(limits_parse_loadavg("12.07 9.00 4.33 3/900 1\n") == 12.07);
	assert_true(limits_parse_loadavg("0.00 0.00 0.00 1/80 7\n") == 0.0);
	assert_true(limits_parse_loadavg("3") == 3.0);
	assert_true(limits_parse_loadavg("1024.99\n") == 1024.99);
	assert_true(limits_parse_loadavg("0.5\t1") == 0.5);
	assert_true(limits_parse_loadavg(NULL) == -1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (limits_parse_loadavg(bad[i]) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_srckey_v4_prefix),
		cmocka_unit_test(test_srckey_v6_prefix),
		cmocka_unit_test(test_srckey_mapped),
		cmocka_unit_test(test_srccount_counts),
		cmocka_unit_test(test_cps_count_and_rate_peek),
		cmocka_unit_test(test_srccount_grow),
		cmocka_unit_test(test_srccount_capacity),
		cmocka_unit_test(test_srccount_model),
		cmocka_unit_test(test_cps_one_second_window),
		cmocka_unit_test(test_cps_exact_rate),
		cmocka_unit_test(test_cps_reset_and_clock),
		cmocka_unit_test(test_srcrate_burst_and_refill),
		cmocka_unit_test(test_srcrate_fractional_rate),
		cmocka_unit_test(test_srcrate_no_drift),
		cmocka_unit_test(test_srcrate_keys_independent),
		cmocka_unit_test(test_srcrate_odd_settings),
		cmocka_unit_test(test_srcrate_evicts_idle),
		cmocka_unit_test(test_srcrate_evicts_fullest_not_oldest),
		cmocka_unit_test(test_srcrate_flood_keeps_drained),
		cmocka_unit_test(test_srcrate_model),
		cmocka_unit_test(test_sensor_add_and_expiry),
		cmocka_unit_test(test_sensor_forever_and_extend),
		cmocka_unit_test(test_sensor_full),
		cmocka_unit_test(test_sensor_expire_count),
		cmocka_unit_test(test_sensor_model),
		cmocka_unit_test(test_loadavg),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
