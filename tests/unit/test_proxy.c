/*
 * test_proxy.c: unit tests for the PROXY header reader and writer of
 * proxy_header.c: each version and command, partial reads, the refusals,
 * and headers written for clients of either family.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "porterd.h"

static const uint8_t sig[12] = { 0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54,
	0x0a };

static struct peer
peer4(const char *a, int port)
{
	struct peer p;

	memset(&p, 0, sizeof(p));
	p.sa.sin.sin_family = AF_INET;
	p.sa.sin.sin_port = htons((uint16_t)port);
	inet_pton(AF_INET, a, &p.sa.sin.sin_addr);
	p.len = sizeof(p.sa.sin);
	return p;
}

static struct peer
peer6(const char *a, int port)
{
	struct peer p;

	memset(&p, 0, sizeof(p));
	p.sa.sin6.sin6_family = AF_INET6;
	p.sa.sin6.sin6_port = htons((uint16_t)port);
	inet_pton(AF_INET6, a, &p.sa.sin6.sin6_addr);
	p.len = sizeof(p.sa.sin6);
	return p;
}

static ssize_t
parse(const char *text, unsigned accept, struct proxy_info *info, const char **why)
{
	return proxy_parse((const uint8_t *)text, strlen(text), accept, info, why);
}

static void
test_v1(void **state)
{
	struct proxy_info info;
	const char *why;
	const char *line = "PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n";
	char addr[INET6_ADDRSTRLEN];

	(void)state;
	assert_int_equal(parse(line, PROXY_V1, &info, &why), (ssize_t)strlen(line));
	assert_int_equal(info.version, 1);
	assert_false(info.local);
	peer_addr(&info.src, addr, sizeof(addr));
	assert_string_equal(addr, "192.0.2.1");
	assert_int_equal(peer_port(&info.src), 56324);
	assert_int_equal(peer_port(&info.dst), 443);
	/* Every prefix asks for more. */
	for (size_t n = 0; n < strlen(line); n++)
		assert_int_equal(proxy_parse((const uint8_t *)line, n, PROXY_V1, &info, &why), 0);
	assert_int_equal(parse("PROXY UNKNOWN\r\nx", PROXY_V1, &info, &why), 15);
	assert_true(info.local);
	/* Refusals. */
	assert_int_equal(parse(line, PROXY_V2, &info, &why), -1);
	assert_string_equal(why, "version 1 header where version 2 is expected");
	assert_int_equal(parse("PROXY TCP4 192.0.2.1 198.51.100.2 056324 443\r\n", PROXY_V1,
	                     &info, &why),
	    -1);
	assert_int_equal(parse("PROXY TCP4 192.0.2.1 198.51.100.2 65536 443\r\n", PROXY_V1, &info,
	                     &why),
	    -1);
	assert_int_equal(parse("PROXY TCP6 192.0.2.1 198.51.100.2 1 2\r\n", PROXY_V1, &info, &why),
	    -1);
	assert_int_equal(parse("PROXY UDP4 192.0.2.1 198.51.100.2 1 2\r\n", PROXY_V1, &info, &why),
	    -1);
	assert_int_equal(parse("PROXY TCP4 1.2.3.4\n", PROXY_V1, &info, &why), -1);
	assert_int_equal(parse("HELLO\r\n", PROXY_V1 | PROXY_V2, &info, &why), -1);
	assert_string_equal(why, "no PROXY header");
}

static void
test_v1_length(void **state)
{
	struct proxy_info info;
	const char *why;
	char line[200];

	(void)state;
	/* 107 bytes in all is the most. */
	memset(line, '1', sizeof(line));
	memcpy(line, "PROXY UNKNOWN ", 14);
	memcpy(line + 105, "\r\n", 2);
	assert_int_equal(proxy_parse((const uint8_t *)line, 107, PROXY_V1, &info, &why), 107);
	memcpy(line + 105, "11\r\n", 4);
	assert_int_equal(proxy_parse((const uint8_t *)line, 109, PROXY_V1, &info, &why), -1);
	assert_string_equal(why, "version 1 line longer than 107 bytes");
}

static void
test_v2(void **state)
{
	struct proxy_info info;
	const char *why;
	uint8_t h[64];
	size_t n = 0;

	(void)state;
	memcpy(h, sig, 12);
	h[12] = 0x21;
	h[13] = 0x11;
	h[14] = 0;
	h[15] = 12 + 7;
	n = 16;
	memcpy(h + n, "\xc0\x00\x02\x01\xc0\x00\x02\x02\x00\x50\x01\xbb", 12);
	n += 12;
	memcpy(h + n, "\x02\x00\x04host", 7);
	n += 7;
	assert_int_equal(proxy_parse(h, n, PROXY_V2, &info, &why), (ssize_t)n);
	assert_int_equal(peer_port(&info.src), 80);
	assert_int_equal(peer_port(&info.dst), 443);
	assert_string_equal(info.authority, "host");
	for (size_t k = 0; k < n; k++)
		assert_int_equal(proxy_parse(h, k, PROXY_V2, &info, &why), 0);
	/* A TLV that says it is longer than what is left. */
	h[n - 5] = 9;
	assert_int_equal(proxy_parse(h, n, PROXY_V2, &info, &why), -1);
	/* LOCAL: the rest is skipped. */
	h[12] = 0x20;
	assert_int_equal(proxy_parse(h, n, PROXY_V2, &info, &why), (ssize_t)n);
	assert_true(info.local);
	/* Another command, another version. */
	h[12] = 0x22;
	assert_int_equal(proxy_parse(h, n, PROXY_V2, &info, &why), -1);
	h[12] = 0x11;
	assert_int_equal(proxy_parse(h, n, PROXY_V2, &info, &why), -1);
	/* Longer than porterd reads. */
	h[12] = 0x21;
	h[14] = 0xff;
	assert_int_equal(proxy_parse(h, n, PROXY_V2, &info, &why), -1);
	assert_string_equal(why, "version 2 header longer than porterd reads");
}

static void
test_build(void **state)
{
	struct proxy_info info, back;
	struct peer c4 = peer4("192.0.2.1", 1000), d4 = peer4("198.51.100.2", 80);
	struct peer d6 = peer6("2001:db8::2", 443);
	uint8_t buf[PROXY_MAX];
	const char *why;
	size_t n;

	(void)state;
	n = proxy_build(PROXY_V1, &c4, &d4, NULL, buf, sizeof(buf));
	assert_int_equal(n, strlen("PROXY TCP4 192.0.2.1 198.51.100.2 1000 80\r\n"));
	assert_memory_equal(buf, "PROXY TCP4 192.0.2.1 198.51.100.2 1000 80\r\n", n);
	/* Mixed families: IPv4 written as mapped IPv6. */
	n = proxy_build(PROXY_V1, &c4, &d6, NULL, buf, sizeof(buf));
	assert_memory_equal(buf, "PROXY TCP6 ::ffff:192.0.2.1 2001:db8::2 1000 443\r\n", n);
	assert_int_equal(proxy_build(PROXY_V1, &c4, &d4, NULL, buf, 10), 0);

	memset(&info, 0, sizeof(info));
	strcpy(info.authority, "app.example");
	strcpy(info.unique_id, "id-1");
	n = proxy_build(PROXY_V2, &c4, &d4, &info, buf, sizeof(buf));
	assert_int_equal(n, 16 + 12 + 3 + 11 + 3 + 4);
	assert_int_equal(proxy_parse(buf, n, PROXY_V2, &back, &why), (ssize_t)n);
	assert_string_equal(back.authority, "app.example");
	assert_string_equal(back.unique_id, "id-1");
	assert_int_equal(peer_port(&back.src), 1000);
	n = proxy_build(PROXY_V2, &c4, &d6, NULL, buf, sizeof(buf));
	assert_int_equal(n, 16 + 36);
	assert_int_equal(proxy_parse(buf, n, PROXY_V2, &back, &why), (ssize_t)n);
	assert_int_equal(back.src.sa.sa.sa_family, AF_INET6);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v1),
		cmocka_unit_test(test_v1_length),
		cmocka_unit_test(test_v2),
		cmocka_unit_test(test_build),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
