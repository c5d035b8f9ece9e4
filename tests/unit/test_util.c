/*
 * test_util.c: unit tests for the strict number parser and the string
 * vectors of util.c and strv.c. They also prove the unit-test machinery: every
 * tests/unit/test_*.c is built against libporter.a and run by make check.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "conf.h"

/* Parses s with max and returns whether it was accepted; *out is set to a
 * sentinel first so a rejected string can be seen to leave it alone. */
static bool
parse(const char *s, unsigned long long max, unsigned long long *out)
{
	*out = 12345;
	return util_parse_uint(s, max, out);
}

static void
test_parse_uint_accepts_numbers(void **state)
{
	unsigned long long v;

	(void)state;
	assert_true(parse("0", 10, &v));
	assert_int_equal(v, 0);
	assert_true(parse("42", 100, &v));
	assert_int_equal(v, 42);
	assert_true(parse("007", 100, &v));
	assert_int_equal(v, 7);
	assert_true(parse("100", 100, &v));
	assert_int_equal(v, 100);
	assert_true(parse("18446744073709551615", ULLONG_MAX, &v));
	assert_true(v == ULLONG_MAX);
}

static void
test_parse_uint_rejects_the_rest(void **state)
{
	static const char *const bad[] = { "", " 1", "1 ", "+1", "-1", "-0", "1a", "0x10", "1.5",
		"1e3", "\t7", "1\n", "18446744073709551616", "99999999999999999999999" };
	unsigned long long v;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(bad[i], ULLONG_MAX, &v))
			fail_msg("accepted \"%s\"", bad[i]);
		assert_int_equal(v, 12345);
	}
}

static void
test_parse_uint_max(void **state)
{
	unsigned long long v;

	(void)state;
	assert_false(parse("101", 100, &v));
	assert_int_equal(v, 12345);
	assert_false(parse("1", 0, &v));
	assert_true(parse("0", 0, &v));
	assert_int_equal(v, 0);
	assert_true(parse("65535", 65535, &v));
	assert_false(parse("65536", 65535, &v));
}

static void
test_strv_push_copies_and_terminates(void **state)
{
	struct strv sv = { 0 };
	char buf[16];

	(void)state;
	strcpy(buf, "alpha");
	strv_push(&sv, buf);
	strcpy(buf, "beta");
	strv_push(&sv, buf);
	assert_int_equal(sv.n, 2);
	assert_string_equal(sv.v[0], "alpha");
	assert_string_equal(sv.v[1], "beta");
	assert_null(sv.v[2]);
	strv_clear(&sv);
	assert_null(sv.v);
	assert_int_equal(sv.n, 0);
	assert_int_equal(sv.cap, 0);
}

static void
test_strv_grows(void **state)
{
	struct strv sv = { 0 };
	char buf[16];

	(void)state;
	for (int i = 0; i < 100; i++) {
		snprintf(buf, sizeof(buf), "s%d", i);
		strv_push(&sv, buf);
		assert_null(sv.v[sv.n]);
	}
	assert_int_equal(sv.n, 100);
	assert_true(sv.cap > sv.n);
	for (int i = 0; i < 100; i++) {
		snprintf(buf, sizeof(buf), "s%d", i);
		assert_string_equal(sv.v[i], buf);
	}
	strv_clear(&sv);
}

static void
test_strv_has(void **state)
{
	struct strv sv = { 0 };

	(void)state;
	assert_false(strv_has(&sv, "x"));
	assert_false(strv_has_case(&sv, "x"));
	strv_push(&sv, "Echo");
	strv_push(&sv, "daytime");
	assert_true(strv_has(&sv, "Echo"));
	assert_false(strv_has(&sv, "echo"));
	assert_true(strv_has_case(&sv, "echo"));
	assert_true(strv_has_case(&sv, "DAYTIME"));
	assert_false(strv_has_case(&sv, "day"));
	strv_clear(&sv);
}

static void
test_strv_remove(void **state)
{
	struct strv sv = { 0 };

	(void)state;
	strv_remove(&sv, "nothing");
	assert_int_equal(sv.n, 0);
	strv_push(&sv, "a");
	strv_push(&sv, "b");
	strv_push(&sv, "a");
	strv_push(&sv, "c");
	strv_remove(&sv, "a");
	assert_int_equal(sv.n, 2);
	assert_string_equal(sv.v[0], "b");
	assert_string_equal(sv.v[1], "c");
	assert_null(sv.v[2]);
	strv_remove(&sv, "missing");
	assert_int_equal(sv.n, 2);
	strv_remove(&sv, "b");
	strv_remove(&sv, "c");
	assert_int_equal(sv.n, 0);
	assert_null(sv.v[0]);
	strv_clear(&sv);
}

static void
test_strv_copy_replaces(void **state)
{
	struct strv src = { 0 }, dst = { 0 };

	(void)state;
	strv_push(&src, "one");
	strv_push(&src, "two");
	strv_push(&dst, "old");
	strv_copy(&dst, &src);
	assert_int_equal(dst.n, 2);
	assert_string_equal(dst.v[0], "one");
	assert_string_equal(dst.v[1], "two");
	assert_ptr_not_equal(dst.v[0], src.v[0]);
	strv_clear(&src);
	strv_copy(&dst, &src);
	assert_int_equal(dst.n, 0);
	strv_clear(&dst);
	strv_clear(&dst);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_uint_accepts_numbers),
		cmocka_unit_test(test_parse_uint_rejects_the_rest),
		cmocka_unit_test(test_parse_uint_max),
		cmocka_unit_test(test_strv_push_copies_and_terminates),
		cmocka_unit_test(test_strv_grows),
		cmocka_unit_test(test_strv_has),
		cmocka_unit_test(test_strv_remove),
		cmocka_unit_test(test_strv_copy_replaces),
	};

	return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}
