/*
 * test_access.c: unit tests of access.c, the parser and printer of
 * only_from/no_access address lists, their compiled form and its decisions,
 * and the access_times intervals.
 * Each form is checked through its canonical text, which must read back to
 * the same rules.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>

#include "porterd.h"

/* The canonical text of every rule of a list, separated by blanks. */
static void
join(const struct addrlist *l, char *out, size_t len)
{
	char one[300];

	out[0] = '\0';
	for (size_t i = 0; i < l->n; i++) {
		access_format(&l->v[i], one, sizeof(one));
		if (i > 0)
			strncat(out, " ", len - strlen(out) - 1);
		strncat(out, one, len - strlen(out) - 1);
	}
}

/* Parses tok into a fresh list and checks its canonical text; then reads
 * that text back and checks it gives equal rules. */
static void
expect_ok(const char *tok, const char *want)
{
	struct addrlist l = { 0 }, back = { 0 }, tmp = { 0 };
	char err[256] = "", got[2048], again[2048];

	if (!access_parse(tok, &l, err, sizeof(err)))
		fail_msg("\"%s\" refused: %s", tok, err);
	join(&l, got, sizeof(got));
	assert_string_equal(got, want);

	for (size_t i = 0; i < l.n; i++) {
		char one[300];

		access_format(&l.v[i], one, sizeof(one));
		if (!access_parse(one, &back, err, sizeof(err)))
			fail_msg("canonical \"%s\" refused: %s", one, err);
	}
	assert_int_equal(back.n, l.n);
	join(&back, again, sizeof(again));
	assert_string_equal(again, got);
	for (size_t i = 0; i < l.n; i++) {
		assert_int_equal(back.v[i].kind, l.v[i].kind);
		assert_int_equal(back.v[i].family, l.v[i].family);
		assert_int_equal(back.v[i].prefix, l.v[i].prefix);
		assert_memory_equal(back.v[i].addr, l.v[i].addr, 16);
	}
	/* Equal rules: removing the read-back list empties the original. */
	access_copy(&tmp, &l);
	access_remove(&tmp, &back);
	assert_int_equal(tmp.n, 0);
	access_clear(&tmp);
	access_clear(&back);
	access_clear(&l);
}

/* Checks that tok is refused with exactly this message and that the list
 * is left untouched. */
static void
expect_err(const char *tok, const char *want)
{
	struct addrlist l = { 0 };
	char err[512] = "";

	assert_true(access_parse("192.0.2.1", &l, err, sizeof(err)));
	if (access_parse(tok, &l, err, sizeof(err)))
		fail_msg("\"%s\" was accepted", tok);
	assert_string_equal(err, want);
	assert_int_equal(l.n, 1);
	access_clear(&l);
}

static char generic[512];

static const char *
bad(const char *tok)
{
	snprintf(generic, sizeof(generic),
	    "bad address \"%s\": expected an IPv4 or IPv6 "
	    "address, a CIDR network, a factorized list such as 10.1.{2,3}, a host name "
	    "or a .domain",
	    tok);
	return generic;
}

/* ------------------------------------------------------------- CIDR */

static void
test_cidr_v4(void **state)
{
	(void)state;
	expect_ok("10.0.0.0/8", "10.0.0.0/8");
	expect_ok("10.1.0.0/24", "10.1.0.0/24");
	expect_ok("192.168.1.0/24", "192.168.1.0/24");
	expect_ok("1.2.3.4/32", "1.2.3.4/32");
	expect_ok("10.0.0.0/32", "10.0.0.0/32");
	expect_ok("0.0.0.0/0", "0.0.0.0/0");
	expect_ok("172.16.0.0/12", "172.16.0.0/12");
	expect_ok("10.1.2.2/31", "10.1.2.2/31");
	expect_ok("192.168.4.0/22", "192.168.4.0/22");
}

static void
test_cidr_v4_errors(void **state)
{
	(void)state;
	expect_err("10.1.2.3/8",
	    "10.1.2.3/8: address has bits set beyond the /8 prefix (use 10.0.0.0/8)");
	expect_err("192.168.1.1/24",
	    "192.168.1.1/24: address has bits set beyond the /24 prefix (use 192.168.1.0/24)");
	expect_err("0.0.0.1/0",
	    "0.0.0.1/0: address has bits set beyond the /0 prefix (use 0.0.0.0/0)");
	expect_err("10.0.0.0/33",
	    "bad address \"10.0.0.0/33\": the prefix length of an IPv4 network is 0-32");
	expect_err("10.0.0.0/",
	    "bad address \"10.0.0.0/\": the prefix length of an IPv4 network is 0-32");
	expect_err("10.0.0.0/-1",
	    "bad address \"10.0.0.0/-1\": the prefix length of an IPv4 network is 0-32");
	expect_err("10.0.0.0/8x",
	    "bad address \"10.0.0.0/8x\": the prefix length of an IPv4 network is 0-32");
	expect_err("10.0.0/8", bad("10.0.0/8"));
	expect_err("010.0.0.0/8", bad("010.0.0.0/8"));
	expect_err("10.1.2.300/24", bad("10.1.2.300/24"));
	expect_err("host/24", bad("host/24"));
	expect_err("/8", bad("/8"));
	expect_err("[10.0.0.0]/8", bad("[10.0.0.0]/8"));
}

static void
test_cidr_v6(void **state)
{
	(void)state;
	expect_ok("2001:db8::/32", "2001:db8::/32");
	expect_ok("2001:DB8:0:0::/48", "2001:db8::/48");
	expect_ok("::/0", "::/0");
	expect_ok("::1/128", "::1/128");
	expect_ok("fe80::/10", "fe80::/10");
	expect_ok("2001:db8::1/128", "2001:db8::1/128");
	expect_ok("[2001:db8::]/32", "2001:db8::/32");
	expect_ok("[::1]/128", "::1/128");
	/* v4-mapped networks become the IPv4 networks they stand for. */
	expect_ok("::ffff:10.0.0.0/104", "10.0.0.0/8");
	expect_ok("::ffff:1.2.3.4/128", "1.2.3.4/32");
	expect_ok("::ffff:0:0/96", "0.0.0.0/0");
	expect_ok("::fffe:0:0/95", "::fffe:0:0/95");
}

static void
test_cidr_v6_errors(void **state)
{
	(void)state;
	expect_err("2001:db8::1/32",
	    "2001:db8::1/32: address has bits set beyond the /32 prefix (use 2001:db8::/32)");
	expect_err("[2001:db8::1]/64",
	    "[2001:db8::1]/64: address has bits set beyond the /64 prefix (use 2001:db8::/64)");
	expect_err("::1/0", "::1/0: address has bits set beyond the /0 prefix (use ::/0)");
	expect_err("::/129",
	    "bad address \"::/129\": the prefix length of an IPv6 network is 0-128");
	expect_err("[::1/128]", bad("[::1/128]"));
	expect_err("[::1/128", bad("[::1/128"));
	expect_err("::1]/128", bad("::1]/128"));
	expect_err("2001:db8:::/32", bad("2001:db8:::/32"));
	expect_err("fe80::1%eth0/64", bad("fe80::1%eth0/64"));
}

/* ------------------------------------------------------------ numeric */

static void
test_v4_trailing_zero(void **state)
{
	(void)state;
	expect_ok("10.0.0.0", "10.0.0.0/8");
	expect_ok("192.168.0.0", "192.168.0.0/16");
	expect_ok("128.138.12.0", "128.138.12.0/24");
	expect_ok("0.0.0.0", "0.0.0.0/0");
	expect_ok("1.2.3.4", "1.2.3.4/32");
	/* Only trailing zeros are wildcards. */
	expect_ok("10.0.0.1", "10.0.0.1/32");
	expect_ok("10.0.1.0", "10.0.1.0/24");
	expect_ok("0.0.0.1", "0.0.0.1/32");
	expect_ok("255.255.255.255", "255.255.255.255/32");
}

static void
test_v4_strict(void **state)
{
	(void)state;
	expect_err("10.1.2.300", bad("10.1.2.300"));
	expect_err("010.1.2.3", bad("010.1.2.3"));
	expect_err("10.1.2", bad("10.1.2"));
	expect_err("10.", bad("10."));
	expect_err("10", bad("10"));
	expect_err("0x0a.1.2.3", "bad host name \"0x0a.1.2.3\": the last label is all digits");
	expect_err("1.2.3.4.5", bad("1.2.3.4.5"));
	expect_err("1.2.3.4:80", bad("1.2.3.4:80"));
	expect_err("", "empty address");
}

static void
test_v6_exact(void **state)
{
	(void)state;
	expect_ok("2001:db8::1", "2001:db8::1/128");
	expect_ok("2001:DB8::A", "2001:db8::a/128");
	expect_ok("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1/128");
	/* The zero rule does not apply to IPv6. */
	expect_ok("::", "::/128");
	expect_ok("2001:db8::", "2001:db8::/128");
	expect_ok("::1", "::1/128");
	expect_ok("[::1]", "::1/128");
	expect_ok("[2001:db8::5]", "2001:db8::5/128");
	expect_ok("::1.2.3.4", "::1.2.3.4/128");
}

static void
test_v6_mapped(void **state)
{
	struct addrlist l = { 0 };
	char err[256];

	(void)state;
	expect_ok("::ffff:1.2.3.4", "1.2.3.4/32");
	expect_ok("::FFFF:102:304", "1.2.3.4/32");
	expect_ok("[::ffff:1.2.3.4]", "1.2.3.4/32");
	/* Exact: a mapped 10.0.0.0 is not the 10.0.0.0/8 wildcard. */
	expect_ok("::ffff:10.0.0.0", "10.0.0.0/32");

	assert_true(access_parse("::ffff:192.0.2.7", &l, err, sizeof(err)));
	assert_int_equal(l.n, 1);
	assert_int_equal(l.v[0].kind, AR_NET);
	assert_int_equal(l.v[0].family, AF_INET);
	assert_int_equal(l.v[0].prefix, 32);
	assert_memory_equal(l.v[0].addr, "\xc0\x00\x02\x07\0\0\0\0\0\0\0\0\0\0\0\0", 16);
	assert_null(l.v[0].name);
	access_clear(&l);
}

static void
test_v6_errors(void **state)
{
	(void)state;
	expect_err("[::1", bad("[::1"));
	expect_err("[]", bad("[]"));
	expect_err("[", bad("["));
	expect_err("[1.2.3.4]", bad("[1.2.3.4]"));
	expect_err("[host]", bad("[host]"));
	expect_err("fe80::1%eth0", bad("fe80::1%eth0"));
	expect_err("2001:db8::g", bad("2001:db8::g"));
	expect_err("1:2:3:4:5:6:7:8:9", bad("1:2:3:4:5:6:7:8:9"));
}

/* ---------------------------------------------------------- factorized */

static void
test_factorized(void **state)
{
	(void)state;
	expect_ok("128.138.{10,11}", "128.138.10.0/24 128.138.11.0/24");
	expect_ok("1.2.3.{4,5}", "1.2.3.4/32 1.2.3.5/32");
	expect_ok("10.{1,2}", "10.1.0.0/16 10.2.0.0/16");
	expect_ok("10.{1,2}.0.0", "10.1.0.0/16 10.2.0.0/16");
	expect_ok("10.1.{2,3}.0", "10.1.2.0/24 10.1.3.0/24");
	expect_ok("192.168.{7}", "192.168.7.0/24");
	expect_ok("1.2.3.{255,0,9}", "1.2.3.255/32 1.2.3.0/32 1.2.3.9/32");
	/* An element 0 is an octet, not a wildcard (as in xinetd). */
	expect_ok("10.0.{0,1}", "10.0.0.0/24 10.0.1.0/24");
	expect_ok("0.{0}", "0.0.0.0/16");
}

static void
test_factorized_errors(void **state)
{
	static const char before[] = "expected 1 to 3 octets and a dot before the "
	                             "braces, such as 10.1.{2,3}";
	char want[512];

	(void)state;
	expect_err("1.2.{3,,4}", "bad address \"1.2.{3,,4}\": empty element in the braces");
	expect_err("1.2.{,3}", "bad address \"1.2.{,3}\": empty element in the braces");
	expect_err("1.2.{3,}", "bad address \"1.2.{3,}\": empty element in the braces");
	expect_err("1.2.{}", "bad address \"1.2.{}\": empty element in the braces");
	expect_err("1.2.{3,256}",
	    "bad address \"1.2.{3,256}\": \"256\" in the braces is not an octet (0-255)");
	expect_err("1.2.{3,04}",
	    "bad address \"1.2.{3,04}\": \"04\" in the braces is not an octet (0-255)");
	expect_err("1.2.{3,x}",
	    "bad address \"1.2.{3,x}\": \"x\" in the braces is not an octet (0-255)");
	expect_err("1.2.{3 4}",
	    "bad address \"1.2.{3 4}\": \"3 4\" in the braces is not an octet (0-255)");
	expect_err("1.2.{3}.4",
	    "bad address \"1.2.{3}.4\": the braces of a factorized list must come last");
	expect_err("1.2.3.{4}.0",
	    "bad address \"1.2.3.{4}.0\": the braces of a factorized list must come last");
	expect_err("1.{2}.0.0.0",
	    "bad address \"1.{2}.0.0.0\": the braces of a factorized list must come last");
	expect_err("1.2.{3}x",
	    "bad address \"1.2.{3}x\": the braces of a factorized list must come last");
	expect_err("1.2.{3}.{4}",
	    "bad address \"1.2.{3}.{4}\": the braces of a factorized list must come last");
	expect_err("1.2.{3", "bad address \"1.2.{3\": expected one \"{...}\" list");
	expect_err("1.2.{3,{4}}", "bad address \"1.2.{3,{4}}\": expected one \"{...}\" list");
	expect_err("1.2.3}", "bad address \"1.2.3}\": \"}\" without \"{\"");
	snprintf(want, sizeof(want), "bad address \"{1,2}\": %s", before);
	expect_err("{1,2}", want);
	snprintf(want, sizeof(want), "bad address \"1.2.3.4.{5}\": %s", before);
	expect_err("1.2.3.4.{5}", want);
	snprintf(want, sizeof(want), "bad address \"1.2{3}\": %s", before);
	expect_err("1.2{3}", want);
	snprintf(want, sizeof(want), "bad address \"1..{3}\": %s", before);
	expect_err("1..{3}", want);
	snprintf(want, sizeof(want), "bad address \"300.{3}\": %s", before);
	expect_err("300.{3}", want);
	snprintf(want, sizeof(want), "bad address \"01.{3}\": %s", before);
	expect_err("01.{3}", want);
	snprintf(want, sizeof(want), "bad address \"a.b.{3}\": %s", before);
	expect_err("a.b.{3}", want);
}

static void
test_commas(void **state)
{
	(void)state;
	expect_err("10.0.0.1,10.0.0.2",
	    "bad address \"10.0.0.1,10.0.0.2\": a comma is "
	    "only allowed in the braces of a factorized list; separate addresses with blanks");
	expect_err("host,other",
	    "bad address \"host,other\": a comma is only allowed in "
	    "the braces of a factorized list; separate addresses with blanks");
	expect_err("10.0.0.1,",
	    "bad address \"10.0.0.1,\": a comma is only allowed in "
	    "the braces of a factorized list; separate addresses with blanks");
}

/* ------------------------------------------------------ names, domains */

static void
test_domain(void **state)
{
	struct addrlist l = { 0 };
	char err[256];

	(void)state;
	expect_ok(".example.com", ".example.com");
	expect_ok(".Example.COM", ".example.com");
	expect_ok(".com", ".com");
	expect_ok(".my_lab.example", ".my_lab.example");
	expect_ok(".xn--bcher-kva.example", ".xn--bcher-kva.example");
	expect_ok(".1.example", ".1.example");

	assert_true(access_parse(".Example.Org", &l, err, sizeof(err)));
	assert_int_equal(l.n, 1);
	assert_int_equal(l.v[0].kind, AR_DOMAIN);
	assert_string_equal(l.v[0].name, ".example.org");
	access_clear(&l);
}

static void
test_domain_errors(void **state)
{
	char label64[80], want[512], tok[300];

	(void)state;
	expect_err(".", "bad domain \".\": a label is empty");
	expect_err("..example.com", "bad domain \"..example.com\": a label is empty");
	expect_err(".example..com", "bad domain \".example..com\": a label is empty");
	expect_err(".example.com.", "bad domain \".example.com.\": a label is empty");
	expect_err(".-bad.com", "bad domain \".-bad.com\": a label starts or ends with a hyphen");
	expect_err(".bad-.com", "bad domain \".bad-.com\": a label starts or ends with a hyphen");
	expect_err(".exa%mple.com",
	    "bad domain \".exa%mple.com\": only letters, digits, "
	    "hyphens, underscores and dots are allowed");
	expect_err(".10.1", "bad domain \".10.1\": the last label is all digits");

	memset(label64, 'a', 64);
	strcpy(label64 + 64, ".com");
	snprintf(want, sizeof(want), "bad domain \".%s\": a label has more than 63 characters",
	    label64);
	snprintf(tok, sizeof(tok), ".%s", label64);
	expect_err(tok, want);
	label64[1] = '.'; /* "a." and 62 a's: two good labels */
	snprintf(tok, sizeof(tok), ".%s", label64);
	expect_ok(tok, tok);
}

static void
test_hostname(void **state)
{
	struct addrlist l = { 0 };
	char err[600], name[300];

	(void)state;
	expect_ok("host.example.com", "host.example.com");
	expect_ok("Host.Example.COM", "host.example.com");
	expect_ok("localhost", "localhost");
	expect_ok("my_host-1.example", "my_host-1.example");
	expect_ok("1.2.3.com", "1.2.3.com");
	expect_ok("host1", "host1");

	assert_true(access_parse("WWW.Example.Net", &l, err, sizeof(err)));
	assert_int_equal(l.n, 1);
	assert_int_equal(l.v[0].kind, AR_HOST);
	assert_string_equal(l.v[0].name, "www.example.net");
	access_clear(&l);

	/* 253 characters is the limit. */
	memset(name, 'a', sizeof(name));
	for (int i = 63; i < 253; i += 64)
		name[i] = '.';
	name[253] = '\0';
	expect_ok(name, name);
	name[253] = 'a';
	name[254] = '\0';
	snprintf(err, sizeof(err), "bad host name \"%s\": a name has at most 253 characters", name);
	expect_err(name, err);
}

static void
test_hostname_errors(void **state)
{
	char label[80], want[300];

	(void)state;
	expect_err("a..example.com", "bad host name \"a..example.com\": a label is empty");
	expect_err("host.", "bad host name \"host.\": a label is empty");
	expect_err("-host.example",
	    "bad host name \"-host.example\": a label starts or ends with a hyphen");
	expect_err("host-.example",
	    "bad host name \"host-.example\": a label starts or ends with a hyphen");
	expect_err("host.123", "bad host name \"host.123\": the last label is all digits");
	memset(label, 'x', 64);
	label[64] = '\0';
	snprintf(want, sizeof(want), "bad host name \"%s\": a label has more than 63 characters",
	    label);
	expect_err(label, want);
	/* Not names at all. */
	expect_err("user@host", bad("user@host"));
	expect_err("host:80", bad("host:80"));
	expect_err("*.example.com", bad("*.example.com"));
	expect_err("1.2.3.4-5", bad("1.2.3.4-5"));
}

static void
test_netname(void **state)
{
	struct netent *ne;

	(void)state;
	ne = getnetbyname("loopback");
	if (ne == NULL) {
		print_message("no \"loopback\" in /etc/networks\n");
		skip();
		return;
	}
	print_message("getnetbyname(\"loopback\"): n_addrtype %d, n_net %#lx\n", ne->n_addrtype,
	    (unsigned long)ne->n_net);
	expect_ok("loopback", "127.0.0.0/8");
	expect_ok("LOOPBACK", "127.0.0.0/8");
	if (getnetbyname("link-local") != NULL)
		expect_ok("link-local", "169.254.0.0/16");
	/* Network 0 ("default" on Debian) is not taken as a network. */
	if ((ne = getnetbyname("default")) != NULL && ne->n_net == 0)
		expect_ok("default", "default");
}

/* ----------------------------------------------------- list operations */

static void
parse_all(struct addrlist *l, const char *const *toks)
{
	char err[256];

	for (; *toks != NULL; toks++)
		if (!access_parse(*toks, l, err, sizeof(err)))
			fail_msg("\"%s\" refused: %s", *toks, err);
}

static void
test_round_trip(void **state)
{
	static const char *const toks[] = { "10.0.0.0", "192.168.0.0", "128.138.12.0", "0.0.0.0",
		"1.2.3.4", "10.0.0.0/8", "10.0.0.0/32", "0.0.0.0/0", "2001:db8::/32", "::/0",
		"::", "::1", "::ffff:1.2.3.4", "[2001:db8::]/32", "128.138.{10,11}", "10.0.{0,1}",
		".Example.COM", "Host.Example.COM", "fe80::1:2:3:4", "1:2:3:4:5:6:7:8", "::1.2.3.4",
		"64:ff9b::/96", NULL };
	struct addrlist l = { 0 }, back = { 0 };
	char err[256], one[300];

	(void)state;
	parse_all(&l, toks);
	for (size_t i = 0; i < l.n; i++) {
		access_format(&l.v[i], one, sizeof(one));
		if (!access_parse(one, &back, err, sizeof(err)))
			fail_msg("\"%s\" refused: %s", one, err);
	}
	assert_int_equal(back.n, l.n);
	for (size_t i = 0; i < l.n; i++) {
		assert_int_equal(back.v[i].kind, l.v[i].kind);
		assert_int_equal(back.v[i].family, l.v[i].family);
		assert_int_equal(back.v[i].prefix, l.v[i].prefix);
		assert_memory_equal(back.v[i].addr, l.v[i].addr, 16);
		if (l.v[i].name == NULL)
			assert_null(back.v[i].name);
		else
			assert_string_equal(back.v[i].name, l.v[i].name);
	}
	access_clear(&back);
	access_clear(&l);
}

static void
test_format(void **state)
{
	struct addrlist l = { 0 };
	char err[256], buf[64];

	(void)state;
	assert_true(access_parse("255.255.255.255", &l, err, sizeof(err)));
	assert_true(access_parse("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", &l, err, sizeof(err)));
	assert_true(access_parse("host.example.com", &l, err, sizeof(err)));
	access_format(&l.v[0], buf, sizeof(buf));
	assert_string_equal(buf, "255.255.255.255/32");
	access_format(&l.v[1], buf, sizeof(buf));
	assert_string_equal(buf, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128");
	/* Truncated, never overrun. */
	memset(buf, 'z', sizeof(buf));
	access_format(&l.v[0], buf, 5);
	assert_string_equal(buf, "255.");
	assert_int_equal(buf[5], 'z');
	access_format(&l.v[2], buf, 5);
	assert_string_equal(buf, "host");
	buf[0] = 'q';
	access_format(&l.v[2], buf, 0);
	assert_int_equal(buf[0], 'q');
	access_clear(&l);
}

static void
test_remove(void **state)
{
	static const char *const have[] = { "10.0.0.0", "10.0.0.0/16", "1.2.3.4", "::1",
		"host.example.com", ".example.com", "192.168.{1,2}", "10.0.0.0/8", NULL };
	static const char *const del[] = { /* 10.0.0.0/8 twice, in two spellings; not the /16. */
		"10.0.0.0/8", "Host.Example.Com", "[::1]", "192.168.2.0/24", "example.com",
		"1.2.3.5", NULL
	};
	struct addrlist l = { 0 }, d = { 0 };
	char got[1024];

	(void)state;
	parse_all(&l, have);
	parse_all(&d, del);
	access_remove(&l, &d);
	join(&l, got, sizeof(got));
	assert_string_equal(got, "10.0.0.0/16 1.2.3.4/32 .example.com 192.168.1.0/24");

	/* A host rule and a domain rule with the same text differ. */
	access_clear(&d);
	parse_all(&d, (const char *const[]){ ".example.com", NULL });
	access_remove(&l, &d);
	join(&l, got, sizeof(got));
	assert_string_equal(got, "10.0.0.0/16 1.2.3.4/32 192.168.1.0/24");

	/* Removing nothing, and removing from an empty list. */
	access_clear(&d);
	access_remove(&l, &d);
	assert_int_equal(l.n, 3);
	access_remove(&d, &l);
	assert_int_equal(d.n, 0);

	/* A list minus itself is empty. */
	access_remove(&l, &l);
	assert_int_equal(l.n, 0);
	assert_null(l.v);
	access_clear(&l);
	access_clear(&d);
}

static void
test_copy_clear(void **state)
{
	struct addrlist a = { 0 }, b = { 0 };
	char got[1024];

	(void)state;
	parse_all(&a,
	    (const char *const[]){ "10.0.0.0", "host.example.com", ".example.org", "2001:db8::/32",
	        NULL });
	parse_all(&b, (const char *const[]){ "old.example.net", "1.1.1.1", NULL });
	access_copy(&b, &a);
	join(&b, got, sizeof(got));
	assert_string_equal(got, "10.0.0.0/8 host.example.com .example.org 2001:db8::/32");
	assert_ptr_not_equal(b.v[1].name, a.v[1].name);
	assert_ptr_not_equal(b.v, a.v);

	/* The copy is independent of the original. */
	access_clear(&a);
	assert_null(a.v);
	assert_int_equal(a.n, 0);
	assert_int_equal(a.cap, 0);
	join(&b, got, sizeof(got));
	assert_string_equal(got, "10.0.0.0/8 host.example.com .example.org 2001:db8::/32");

	/* It grows like any list after a copy. */
	parse_all(&b, (const char *const[]){ "1.{1,2,3,4,5,6,7,8,9}", NULL });
	assert_int_equal(b.n, 13);

	/* Copying an empty list empties; copying onto itself changes nothing. */
	access_copy(&b, &b);
	assert_int_equal(b.n, 13);
	access_copy(&b, &a);
	assert_int_equal(b.n, 0);
	assert_null(b.v);
	access_clear(&b);
	access_clear(&b);
}

/* -------------------------------------------------------- compiled lists */

static const char *
verdict_name(enum acl_verdict v)
{
	switch (v) {
	case ACL_ALLOW:
		return "ALLOW";
	case ACL_DENY:
		return "DENY";
	case ACL_NEED_NAME:
		return "NEED_NAME";
	}
	return "?";
}

/* Parses blank-separated tokens into l. */
static void
parse_words(struct addrlist *l, const char *words)
{
	char *copy = mem_strdup(words), *save = NULL, err[256];

	for (char *w = strtok_r(copy, " ", &save); w != NULL; w = strtok_r(NULL, " ", &save))
		if (!access_parse(w, l, err, sizeof(err)))
			fail_msg("\"%s\" refused: %s", w, err);
	free(copy);
}

/* Compiles only_from and no_access written as blank-separated tokens; a
 * NULL only_from is not set, "" is set and empty. The lists are freed
 * before the acl is used, which proves it owns what it needs. */
static struct acl *
acl_of(const char *only, const char *no)
{
	struct addrlist o = { 0 }, n = { 0 };
	struct acl *acl;

	if (only != NULL)
		parse_words(&o, only);
	if (no != NULL)
		parse_words(&n, no);
	acl = acl_compile(&o, only != NULL, &n);
	assert_non_null(acl);
	access_clear(&o);
	access_clear(&n);
	return acl;
}

static void
addr_of(const char *text, int *family, uint8_t a[16])
{
	memset(a, 0, 16);
	if (inet_pton(AF_INET, text, a) == 1) {
		*family = AF_INET;
		return;
	}
	if (inet_pton(AF_INET6, text, a) != 1)
		fail_msg("bad test address %s", text);
	*family = AF_INET6;
}

static void
same(const char *what, enum acl_verdict v, const char *why, enum acl_verdict want,
    const char *wantwhy)
{
	if (v != want || strcmp(why, wantwhy) != 0)
		fail_msg("%s: got %s \"%s\", want %s \"%s\"", what, verdict_name(v), why,
		    verdict_name(want), wantwhy);
}

/* acl_check, and when it decides, acl_check_name without a name agrees. */
static void
want_check(const struct acl *acl, const char *addr, enum acl_verdict want, const char *why)
{
	char got[512] = "unset";
	uint8_t a[16];
	int family;

	addr_of(addr, &family, a);
	same(addr, acl_check(acl, family, a, got, sizeof(got)), got, want, why);
	assert_int_equal(acl_check(acl, family, a, NULL, 0), want);
	if (want != ACL_NEED_NAME) {
		strcpy(got, "unset");
		same(addr, acl_check_name(acl, family, a, NULL, got, sizeof(got)), got, want, why);
	}
}

/* acl_check_name, which must agree with acl_check whenever that decided
 * without the name. */
static void
want_name(const struct acl *acl, const char *addr, const char *name, enum acl_verdict want,
    const char *why)
{
	char got[512] = "unset", what[300];
	enum acl_verdict numeric;
	uint8_t a[16];
	int family;

	assert_true(want != ACL_NEED_NAME);
	addr_of(addr, &family, a);
	snprintf(what, sizeof(what), "%s %s", addr, name != NULL ? name : "(no name)");
	same(what, acl_check_name(acl, family, a, name, got, sizeof(got)), got, want, why);
	assert_int_equal(acl_check_name(acl, family, a, name, NULL, 0), want);
	numeric = acl_check(acl, family, a, NULL, 0);
	if (numeric != ACL_NEED_NAME && numeric != want)
		fail_msg("%s: acl_check said %s without the name", what, verdict_name(numeric));
}

static void
test_acl_overlap(void **state)
{
	struct acl *acl;

	(void)state;
	acl = acl_of("10.0.0.0/8 10.1.2.3", "10.1.0.0/16");
	want_check(acl, "10.1.2.3", ACL_ALLOW, "only_from 10.1.2.3/32");
	want_check(acl, "10.1.2.4", ACL_DENY, "no_access 10.1.0.0/16");
	want_check(acl, "10.1.255.255", ACL_DENY, "no_access 10.1.0.0/16");
	want_check(acl, "10.2.0.1", ACL_ALLOW, "only_from 10.0.0.0/8");
	want_check(acl, "10.0.0.0", ACL_ALLOW, "only_from 10.0.0.0/8");
	want_check(acl, "11.0.0.1", ACL_DENY, "not in only_from");
	want_check(acl, "9.255.255.255", ACL_DENY, "not in only_from");
	want_check(acl, "2001:db8::1", ACL_DENY, "not in only_from");
	assert_false(acl_has_names(acl));
	acl_free(acl);

	/* The same with xinetd's trailing-zero form, and the lists the other
	 * way round. */
	acl = acl_of("10.1.0.0", "10.0.0.0 10.1.2.3");
	want_check(acl, "10.1.2.3", ACL_DENY, "no_access 10.1.2.3/32");
	want_check(acl, "10.1.2.4", ACL_ALLOW, "only_from 10.1.0.0/16");
	want_check(acl, "10.2.0.1", ACL_DENY, "no_access 10.0.0.0/8");
	want_check(acl, "11.0.0.1", ACL_DENY, "not in only_from");
	acl_free(acl);

	/* Prefixes that do not end on an octet, nested. */
	acl = acl_of("192.168.4.0/22 fe80::/10", "192.168.6.0/23 febf::/16");
	want_check(acl, "192.168.4.1", ACL_ALLOW, "only_from 192.168.4.0/22");
	want_check(acl, "192.168.5.255", ACL_ALLOW, "only_from 192.168.4.0/22");
	want_check(acl, "192.168.6.0", ACL_DENY, "no_access 192.168.6.0/23");
	want_check(acl, "192.168.7.255", ACL_DENY, "no_access 192.168.6.0/23");
	want_check(acl, "192.168.8.0", ACL_DENY, "not in only_from");
	want_check(acl, "192.168.3.255", ACL_DENY, "not in only_from");
	want_check(acl, "fe80::1", ACL_ALLOW, "only_from fe80::/10");
	want_check(acl, "febe:ffff::1", ACL_ALLOW, "only_from fe80::/10");
	want_check(acl, "febf::1", ACL_DENY, "no_access febf::/16");
	want_check(acl, "fec0::1", ACL_DENY, "not in only_from");
	acl_free(acl);
}

static void
test_acl_zero_prefix(void **state)
{
	struct acl *acl;

	(void)state;
	/* /0 covers its own family only. */
	acl = acl_of("0.0.0.0/0", NULL);
	want_check(acl, "203.0.113.9", ACL_ALLOW, "only_from 0.0.0.0/0");
	want_check(acl, "0.0.0.0", ACL_ALLOW, "only_from 0.0.0.0/0");
	want_check(acl, "255.255.255.255", ACL_ALLOW, "only_from 0.0.0.0/0");
	want_check(acl, "::ffff:203.0.113.9", ACL_ALLOW, "only_from 0.0.0.0/0");
	want_check(acl, "2001:db8::1", ACL_DENY, "not in only_from");
	acl_free(acl);

	/* xinetd's "0.0.0.0" is the same rule. */
	acl = acl_of(NULL, "0.0.0.0");
	want_check(acl, "203.0.113.9", ACL_DENY, "no_access 0.0.0.0/0");
	want_check(acl, "2001:db8::1", ACL_ALLOW, "no rule");
	acl_free(acl);

	acl = acl_of("::/0", NULL);
	want_check(acl, "2001:db8::1", ACL_ALLOW, "only_from ::/0");
	want_check(acl, "::", ACL_ALLOW, "only_from ::/0");
	want_check(acl, "203.0.113.9", ACL_DENY, "not in only_from");
	want_check(acl, "::ffff:203.0.113.9", ACL_DENY, "not in only_from");
	acl_free(acl);

	/* Everything denied but one address of each family. */
	acl = acl_of("10.1.2.3 2001:db8::1", "0.0.0.0/0 ::/0");
	want_check(acl, "10.1.2.3", ACL_ALLOW, "only_from 10.1.2.3/32");
	want_check(acl, "10.1.2.4", ACL_DENY, "no_access 0.0.0.0/0");
	want_check(acl, "2001:db8::1", ACL_ALLOW, "only_from 2001:db8::1/128");
	want_check(acl, "2001:db8::2", ACL_DENY, "no_access ::/0");
	acl_free(acl);

	/* /0 in both lists is an exact tie. */
	acl = acl_of("0.0.0.0/0 10.0.0.0/8", "0.0.0.0/0");
	want_check(acl, "1.2.3.4", ACL_DENY, "only_from and no_access both match 0.0.0.0/0");
	want_check(acl, "10.2.3.4", ACL_ALLOW, "only_from 10.0.0.0/8");
	acl_free(acl);
}

static void
test_acl_exact(void **state)
{
	struct acl *acl;

	(void)state;
	acl = acl_of("::/0 10.0.0.0/31", "::1 2001:db8::/32 10.0.0.1/32");
	want_check(acl, "::1", ACL_DENY, "no_access ::1/128");
	want_check(acl, "::2", ACL_ALLOW, "only_from ::/0");
	want_check(acl, "::", ACL_ALLOW, "only_from ::/0");
	want_check(acl, "2001:db8::1", ACL_DENY, "no_access 2001:db8::/32");
	want_check(acl, "10.0.0.0", ACL_ALLOW, "only_from 10.0.0.0/31");
	want_check(acl, "10.0.0.1", ACL_DENY, "no_access 10.0.0.1/32");
	want_check(acl, "10.0.0.2", ACL_DENY, "not in only_from");
	acl_free(acl);

	/* "::" is one address, and a /128 beats every shorter prefix. */
	acl = acl_of("2001:db8::1/128 ::", "2001:db8::/127 ::/1");
	want_check(acl, "2001:db8::1", ACL_ALLOW, "only_from 2001:db8::1/128");
	want_check(acl, "2001:db8::", ACL_DENY, "no_access 2001:db8::/127");
	want_check(acl, "::", ACL_ALLOW, "only_from ::/128");
	want_check(acl, "::1", ACL_DENY, "no_access ::/1");
	want_check(acl, "8000::", ACL_DENY, "not in only_from");
	acl_free(acl);
}

static void
test_acl_tie(void **state)
{
	struct acl *acl;

	(void)state;
	acl = acl_of("10.0.0.0/8 10.1.2.3 2001:db8::/32", "10.0.0.0 10.1.2.3/32 2001:db8::/32");
	want_check(acl, "10.9.9.9", ACL_DENY, "only_from and no_access both match 10.0.0.0/8");
	want_check(acl, "10.1.2.3", ACL_DENY, "only_from and no_access both match 10.1.2.3/32");
	want_check(acl, "2001:db8::5", ACL_DENY,
	    "only_from and no_access both match 2001:db8::/32");
	acl_free(acl);

	/* A rule repeated in one list is one rule. */
	acl = acl_of("10.0.0.0/8 10.0.0.0 10.{0,2} 10.2.0.0/16", "10.1.0.0/16 10.1.0.0/16");
	want_check(acl, "10.9.9.9", ACL_ALLOW, "only_from 10.0.0.0/8");
	want_check(acl, "10.2.9.9", ACL_ALLOW, "only_from 10.2.0.0/16");
	want_check(acl, "10.1.9.9", ACL_DENY, "no_access 10.1.0.0/16");
	acl_free(acl);

	/* A name rule can still break a tie between networks. */
	acl = acl_of("10.0.0.0/8 .good.example", "10.0.0.0/8");
	want_check(acl, "10.1.1.1", ACL_NEED_NAME, "host name needed");
	want_name(acl, "10.1.1.1", "a.good.example", ACL_ALLOW, "only_from .good.example");
	want_name(acl, "10.1.1.1", "a.bad.example", ACL_DENY,
	    "only_from and no_access both match 10.0.0.0/8");
	acl_free(acl);

	/* A v4-mapped network rule is the IPv4 network: the same rule. */
	acl = acl_of("::ffff:10.0.0.0/104", "10.0.0.0/8");
	want_check(acl, "10.1.1.1", ACL_DENY, "only_from and no_access both match 10.0.0.0/8");
	acl_free(acl);
}

static void
test_acl_empty(void **state)
{
	struct acl *acl;

	(void)state;
	/* only_from given with nothing in it denies everyone. */
	acl = acl_of("", NULL);
	want_check(acl, "10.0.0.1", ACL_DENY, "not in only_from");
	want_check(acl, "::1", ACL_DENY, "not in only_from");
	acl_free(acl);
	acl = acl_of("", "10.0.0.0/8");
	want_check(acl, "10.0.0.1", ACL_DENY, "no_access 10.0.0.0/8");
	want_check(acl, "11.0.0.1", ACL_DENY, "not in only_from");
	acl_free(acl);

	/* Neither list: everyone. */
	acl = acl_of(NULL, NULL);
	want_check(acl, "10.0.0.1", ACL_ALLOW, "no rule");
	want_check(acl, "::1", ACL_ALLOW, "no rule");
	assert_false(acl_has_names(acl));
	acl_free(acl);
	acl = acl_compile(NULL, false, NULL);
	want_check(acl, "192.0.2.1", ACL_ALLOW, "no rule");
	acl_free(acl);
	acl = acl_compile(NULL, true, NULL);
	want_check(acl, "192.0.2.1", ACL_DENY, "not in only_from");
	acl_free(acl);

	/* Only no_access: whoever it does not name. */
	acl = acl_of(NULL, "192.0.2.0/24");
	want_check(acl, "192.0.2.1", ACL_DENY, "no_access 192.0.2.0/24");
	want_check(acl, "198.51.100.1", ACL_ALLOW, "no rule");
	acl_free(acl);

	acl_free(NULL);
}

static void
test_acl_mapped(void **state)
{
	struct addr_rule r;
	struct addrlist l = { .v = &r, .n = 1, .cap = 1 };
	struct acl *acl;
	uint8_t a[16];
	char why[128];
	int family;

	(void)state;
	acl = acl_of("10.0.0.0/8 10.1.2.3 ::/0", "10.1.0.0/16 ::ffff:192.0.2.0/120");
	/* A mapped client is matched as IPv4, and named so. */
	want_check(acl, "::ffff:10.1.2.3", ACL_ALLOW, "only_from 10.1.2.3/32");
	want_check(acl, "::ffff:10.1.2.4", ACL_DENY, "no_access 10.1.0.0/16");
	want_check(acl, "::ffff:10.2.0.1", ACL_ALLOW, "only_from 10.0.0.0/8");
	want_check(acl, "::ffff:11.0.0.1", ACL_DENY, "not in only_from");
	/* The mapped no_access rule is 192.0.2.0/24. */
	want_check(acl, "192.0.2.7", ACL_DENY, "no_access 192.0.2.0/24");
	want_check(acl, "::ffff:192.0.2.7", ACL_DENY, "no_access 192.0.2.0/24");
	/* IPv4 rules never match a native IPv6 client; ::/0 matches those. */
	want_check(acl, "::10.1.2.3", ACL_ALLOW, "only_from ::/0");
	want_check(acl, "::ffff:0:10.1.2.3", ACL_ALLOW, "only_from ::/0");
	want_check(acl, "64:ff9b::10.1.2.4", ACL_ALLOW, "only_from ::/0");
	acl_free(acl);

	/* ::/0 does not match an IPv4 client, mapped or not. */
	acl = acl_of(NULL, "::/0");
	want_check(acl, "10.1.2.3", ACL_ALLOW, "no rule");
	want_check(acl, "::ffff:10.1.2.3", ACL_ALLOW, "no rule");
	want_check(acl, "2001:db8::1", ACL_DENY, "no_access ::/0");
	acl_free(acl);

	/* A mapped client listed by exact address needs no name. */
	acl = acl_of("10.1.2.3", ".example.com");
	want_check(acl, "::ffff:10.1.2.3", ACL_ALLOW, "only_from 10.1.2.3/32");
	want_check(acl, "::ffff:10.1.2.4", ACL_DENY, "not in only_from");
	want_check(acl, "2001:db8::1", ACL_DENY, "not in only_from");
	acl_free(acl);

	/* A mapped rule made by hand is de-mapped too. */
	memset(&r, 0, sizeof(r));
	r.kind = AR_NET;
	r.family = AF_INET6;
	r.prefix = 104;
	assert_int_equal(inet_pton(AF_INET6, "::ffff:10.0.0.0", r.addr), 1);
	acl = acl_compile(&l, true, NULL);
	want_check(acl, "10.1.1.1", ACL_ALLOW, "only_from 10.0.0.0/8");
	want_check(acl, "::ffff:10.1.1.1", ACL_ALLOW, "only_from 10.0.0.0/8");
	want_check(acl, "11.1.1.1", ACL_DENY, "not in only_from");
	acl_free(acl);

	/* A family the lists cannot hold matches no rule. */
	acl = acl_of("0.0.0.0/0 ::/0", NULL);
	memset(a, 0, sizeof(a));
	family = AF_UNIX;
	assert_int_equal(acl_check(acl, family, a, why, sizeof(why)), ACL_DENY);
	assert_string_equal(why, "not in only_from");
	acl_free(acl);
}

static void
test_acl_factorized(void **state)
{
	struct acl *acl;

	(void)state;
	acl = acl_of("128.138.{10,11} 10.{1,2}", "128.138.11.{5,6} 10.2.{3}");
	want_check(acl, "128.138.10.1", ACL_ALLOW, "only_from 128.138.10.0/24");
	want_check(acl, "128.138.11.4", ACL_ALLOW, "only_from 128.138.11.0/24");
	want_check(acl, "128.138.11.5", ACL_DENY, "no_access 128.138.11.5/32");
	want_check(acl, "128.138.11.6", ACL_DENY, "no_access 128.138.11.6/32");
	want_check(acl, "128.138.12.1", ACL_DENY, "not in only_from");
	want_check(acl, "10.1.200.1", ACL_ALLOW, "only_from 10.1.0.0/16");
	want_check(acl, "10.2.3.1", ACL_DENY, "no_access 10.2.3.0/24");
	want_check(acl, "10.2.4.1", ACL_ALLOW, "only_from 10.2.0.0/16");
	want_check(acl, "10.3.0.1", ACL_DENY, "not in only_from");
	acl_free(acl);
}

static void
test_acl_names(void **state)
{
	struct acl *acl;

	(void)state;
	/* A client allowed by its address cannot be denied by a name rule in
	 * only_from: no name needed. Another one could be allowed by it. */
	acl = acl_of("10.0.0.0/8 .example.com", NULL);
	assert_true(acl_has_names(acl));
	want_check(acl, "10.1.1.1", ACL_ALLOW, "only_from 10.0.0.0/8");
	want_check(acl, "11.1.1.1", ACL_NEED_NAME, "host name needed");
	want_name(acl, "11.1.1.1", "www.example.com", ACL_ALLOW, "only_from .example.com");
	want_name(acl, "11.1.1.1", "a.b.example.com", ACL_ALLOW, "only_from .example.com");
	want_name(acl, "11.1.1.1", "WWW.Example.COM", ACL_ALLOW, "only_from .example.com");
	want_name(acl, "11.1.1.1", "www.example.com.", ACL_ALLOW, "only_from .example.com");
	/* The domain itself is not below it. */
	want_name(acl, "11.1.1.1", "example.com", ACL_DENY, "not in only_from");
	want_name(acl, "11.1.1.1", "www.example.community", ACL_DENY, "not in only_from");
	want_name(acl, "11.1.1.1", "wwwexample.com", ACL_DENY, "not in only_from");
	want_name(acl, "11.1.1.1", ".example.com", ACL_DENY, "not in only_from");
	want_name(acl, "11.1.1.1", NULL, ACL_DENY, "not in only_from");
	want_name(acl, "11.1.1.1", "", ACL_DENY, "not in only_from");
	want_name(acl, "11.1.1.1", ".", ACL_DENY, "not in only_from");
	want_name(acl, "10.1.1.1", "www.example.com", ACL_ALLOW, "only_from .example.com");
	want_name(acl, "10.1.1.1", NULL, ACL_ALLOW, "only_from 10.0.0.0/8");
	acl_free(acl);

	/* A no_access name can deny anyone not listed by exact address. */
	acl = acl_of(NULL, ".evil.example bad.example.org");
	want_check(acl, "192.0.2.1", ACL_NEED_NAME, "host name needed");
	want_name(acl, "192.0.2.1", "x.evil.example", ACL_DENY, "no_access .evil.example");
	want_name(acl, "192.0.2.1", "bad.example.org", ACL_DENY, "no_access bad.example.org");
	want_name(acl, "192.0.2.1", "BAD.EXAMPLE.ORG", ACL_DENY, "no_access bad.example.org");
	want_name(acl, "192.0.2.1", "x.bad.example.org", ACL_ALLOW, "no rule");
	want_name(acl, "192.0.2.1", "x.good.example", ACL_ALLOW, "no rule");
	want_name(acl, "192.0.2.1", NULL, ACL_ALLOW, "no rule");
	acl_free(acl);

	/* An exact address outranks every domain: no name needed. */
	acl = acl_of("10.1.2.3 .example.com", "10.0.0.0/8 .bad.example.com");
	want_check(acl, "10.1.2.3", ACL_ALLOW, "only_from 10.1.2.3/32");
	want_name(acl, "10.1.2.3", "x.bad.example.com", ACL_ALLOW, "only_from 10.1.2.3/32");
	want_check(acl, "10.1.2.4", ACL_NEED_NAME, "host name needed");
	want_name(acl, "10.1.2.4", "x.example.com", ACL_ALLOW, "only_from .example.com");
	want_name(acl, "10.1.2.4", "x.bad.example.com", ACL_DENY, "no_access .bad.example.com");
	want_name(acl, "10.1.2.4", "x.example.net", ACL_DENY, "no_access 10.0.0.0/8");
	want_name(acl, "10.1.2.4", NULL, ACL_DENY, "no_access 10.0.0.0/8");
	acl_free(acl);

	/* An exact address denied stays denied, whatever its name. */
	acl = acl_of("good.example.com", "10.1.2.3");
	want_check(acl, "10.1.2.3", ACL_DENY, "no_access 10.1.2.3/32");
	want_name(acl, "10.1.2.3", "good.example.com", ACL_DENY,
	    "only_from and no_access both match good.example.com and 10.1.2.3/32");
	want_check(acl, "10.1.2.4", ACL_NEED_NAME, "host name needed");
	want_name(acl, "10.1.2.4", "good.example.com", ACL_ALLOW, "only_from good.example.com");
	acl_free(acl);

	/* An exact address and a host name rank equal: an exact address
	 * allowed still needs the name when a host name could tie it. */
	acl = acl_of("10.1.2.3 2001:db8::1", "bad.example.com");
	want_check(acl, "10.1.2.3", ACL_NEED_NAME, "host name needed");
	want_check(acl, "::ffff:10.1.2.3", ACL_NEED_NAME, "host name needed");
	want_name(acl, "10.1.2.3", "bad.example.com", ACL_DENY,
	    "only_from and no_access both match 10.1.2.3/32 and bad.example.com");
	want_name(acl, "2001:db8::1", "Bad.Example.Com", ACL_DENY,
	    "only_from and no_access both match 2001:db8::1/128 and bad.example.com");
	want_name(acl, "10.1.2.3", "ok.example.com", ACL_ALLOW, "only_from 10.1.2.3/32");
	want_name(acl, "10.1.2.3", NULL, ACL_ALLOW, "only_from 10.1.2.3/32");
	/* Not listed by address: only_from is set, only a name can deny. */
	want_check(acl, "10.1.2.4", ACL_DENY, "not in only_from");
	acl_free(acl);

	/* A host name in both lists is an exact tie. */
	acl = acl_of("h.example.com .example.com", "H.Example.Com");
	want_name(acl, "192.0.2.1", "h.example.com", ACL_DENY,
	    "only_from and no_access both match h.example.com");
	want_name(acl, "192.0.2.1", "g.example.com", ACL_ALLOW, "only_from .example.com");
	acl_free(acl);
}

static void
test_acl_name_case(void **state)
{
	struct addr_rule r[2];
	struct addrlist l = { .v = r, .n = 2, .cap = 2 };
	struct acl *acl;
	char host[] = "MiXed.Example.COM", dom[] = ".Example.NET";

	(void)state;
	/* Rules made by hand, not lower-cased by the parser. */
	memset(r, 0, sizeof(r));
	r[0].kind = AR_HOST;
	r[0].name = host;
	r[1].kind = AR_DOMAIN;
	r[1].name = dom;
	acl = acl_compile(&l, true, NULL);
	want_name(acl, "192.0.2.1", "mixed.example.com", ACL_ALLOW, "only_from mixed.example.com");
	want_name(acl, "192.0.2.1", "MIXED.EXAMPLE.COM", ACL_ALLOW, "only_from mixed.example.com");
	want_name(acl, "192.0.2.1", "a.EXAMPLE.net", ACL_ALLOW, "only_from .example.net");
	want_name(acl, "192.0.2.1", "mixed.example.org", ACL_DENY, "not in only_from");
	acl_free(acl);
	/* The acl kept its own copies. */
	assert_string_equal(host, "MiXed.Example.COM");
}

static void
test_acl_domain_rank(void **state)
{
	struct acl *acl;

	(void)state;
	/* More labels win. */
	acl = acl_of(".example.com .x.a.example.com", ".a.example.com .com");
	want_check(acl, "192.0.2.1", ACL_NEED_NAME, "host name needed");
	want_name(acl, "192.0.2.1", "h.a.example.com", ACL_DENY, "no_access .a.example.com");
	want_name(acl, "192.0.2.1", "h.x.a.example.com", ACL_ALLOW, "only_from .x.a.example.com");
	want_name(acl, "192.0.2.1", "h.b.example.com", ACL_ALLOW, "only_from .example.com");
	want_name(acl, "192.0.2.1", "a.example.com", ACL_ALLOW, "only_from .example.com");
	want_name(acl, "192.0.2.1", "example.com", ACL_DENY, "no_access .com");
	want_name(acl, "192.0.2.1", "h.example.org", ACL_DENY, "not in only_from");
	acl_free(acl);

	/* Every domain outranks every network that is not an exact address,
	 * even a one-label domain against an IPv6 /127. */
	acl = acl_of("10.1.2.0/24 2001:db8::/127 10.1.2.9 h.example.com", ".com");
	want_check(acl, "10.1.2.5", ACL_NEED_NAME, "host name needed");
	want_name(acl, "10.1.2.5", "h.example.com", ACL_ALLOW, "only_from h.example.com");
	want_name(acl, "10.1.2.5", "g.example.com", ACL_DENY, "no_access .com");
	want_name(acl, "10.1.2.5", "g.example.net", ACL_ALLOW, "only_from 10.1.2.0/24");
	want_name(acl, "2001:db8::1", "g.example.com", ACL_DENY, "no_access .com");
	want_name(acl, "2001:db8::1", NULL, ACL_ALLOW, "only_from 2001:db8::/127");
	/* An exact address outranks the domain. */
	want_check(acl, "10.1.2.9", ACL_ALLOW, "only_from 10.1.2.9/32");
	want_name(acl, "10.1.2.9", "g.example.com", ACL_ALLOW, "only_from 10.1.2.9/32");
	acl_free(acl);

	/* The other way round: a domain allows inside a denied network. */
	acl = acl_of(".corp.example", "10.0.0.0/8 10.6.6.6");
	want_check(acl, "10.1.1.1", ACL_NEED_NAME, "host name needed");
	want_name(acl, "10.1.1.1", "pc1.corp.example", ACL_ALLOW, "only_from .corp.example");
	want_name(acl, "10.1.1.1", "pc1.other.example", ACL_DENY, "no_access 10.0.0.0/8");
	want_check(acl, "10.6.6.6", ACL_DENY, "no_access 10.6.6.6/32");
	want_name(acl, "10.6.6.6", "pc1.corp.example", ACL_DENY, "no_access 10.6.6.6/32");
	acl_free(acl);
}

static void
test_acl_why_buffer(void **state)
{
	struct acl *acl;
	uint8_t a[16];
	char why[8];
	int family;

	(void)state;
	acl = acl_of("10.0.0.0/8", NULL);
	addr_of("10.1.2.3", &family, a);
	assert_int_equal(acl_check(acl, family, a, why, sizeof(why)), ACL_ALLOW);
	assert_string_equal(why, "only_fr");
	memcpy(why, "abc", 4);
	assert_int_equal(acl_check(acl, family, a, why, 0), ACL_ALLOW);
	assert_string_equal(why, "abc");
	assert_int_equal(acl_check_name(acl, family, a, "x.y", NULL, 0), ACL_ALLOW);
	acl_free(acl);
}

/* A test vector's nth address: 10,000 distinct /24s under 10.0.0.0/8. */
static void
many_addr(uint8_t a[4], uint8_t first, unsigned n, uint8_t last)
{
	a[0] = first;
	a[1] = (uint8_t)(n >> 8);
	a[2] = (uint8_t)n;
	a[3] = last;
}

/*
 * Checks the full decision for a and name against the reason printed from
 * fmt; acl_check must give the same answer when the match is
 * an exact address, and may only ask for the name otherwise.
 */
static void many_want(const struct acl *, int family, const uint8_t *a, const char *name,
    bool exact, enum acl_verdict want, const char *fmt, ...) PRINTF(7, 8);

static void
many_want(const struct acl *acl, int family, const uint8_t *a, const char *name, bool exact,
    enum acl_verdict want, const char *fmt, ...)
{
	char why[256], wantwhy[256];
	enum acl_verdict v;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(wantwhy, sizeof(wantwhy), fmt, ap);
	va_end(ap);
	v = acl_check_name(acl, family, a, name, why, sizeof(why));
	same(wantwhy, v, why, want, wantwhy);
	v = acl_check(acl, family, a, why, sizeof(why));
	if (exact)
		same(wantwhy, v, why, want, wantwhy);
	else if (v != want && v != ACL_NEED_NAME)
		fail_msg("%s: acl_check said %s", wantwhy, verdict_name(v));
}

static void
test_acl_many(void **state)
{
	enum { N = 10000 };
	struct addrlist only = { 0 }, no = { 0 };
	char tok[64], name[64], why[128], net[INET6_ADDRSTRLEN], host[INET6_ADDRSTRLEN];
	struct acl *acl;
	uint8_t a[16];

	(void)state;
	/* In each 10.x.y.0/24 of no_access, only_from lists .1 and no_access
	 * .3; only_from lists each 11.x.y.0/24; each 12.x.y.0/24 is in both
	 * lists; each 2001:db8:n::/48 is in only_from and its ::1 in no_access.
	 * Domains: .dN.example.com in only_from, every third one in both. */
	for (unsigned i = 0; i < N; i++) {
		snprintf(tok, sizeof(tok), "10.%u.%u.0/24", i >> 8, i & 255);
		parse_words(&no, tok);
		snprintf(tok, sizeof(tok), "10.%u.%u.1", i >> 8, i & 255);
		parse_words(&only, tok);
		snprintf(tok, sizeof(tok), "10.%u.%u.3/32", i >> 8, i & 255);
		parse_words(&no, tok);
		snprintf(tok, sizeof(tok), "11.%u.%u.0/24", i >> 8, i & 255);
		parse_words(&only, tok);
		snprintf(tok, sizeof(tok), "12.%u.%u.0/24", i >> 8, i & 255);
		parse_words(&only, tok);
		parse_words(&no, tok);
		snprintf(tok, sizeof(tok), "2001:db8:%x::/48", i);
		parse_words(&only, tok);
		snprintf(tok, sizeof(tok), "2001:db8:%x::1", i);
		parse_words(&no, tok);
		snprintf(tok, sizeof(tok), ".d%u.example.com", i);
		parse_words(&only, tok);
		if (i % 3 == 0)
			parse_words(&no, tok);
	}
	acl = acl_compile(&only, true, &no);
	access_clear(&only);
	access_clear(&no);

	for (unsigned i = 0; i < N; i++) {
		unsigned x = i >> 8, y = i & 255;

		many_addr(a, 10, i, 1);
		many_want(acl, AF_INET, a, NULL, true, ACL_ALLOW, "only_from 10.%u.%u.1/32", x, y);
		many_addr(a, 10, i, 3);
		many_want(acl, AF_INET, a, NULL, true, ACL_DENY, "no_access 10.%u.%u.3/32", x, y);
		many_addr(a, 10, i, 2);
		many_want(acl, AF_INET, a, NULL, false, ACL_DENY, "no_access 10.%u.%u.0/24", x, y);
		many_addr(a, 11, i, 200);
		many_want(acl, AF_INET, a, NULL, false, ACL_ALLOW, "only_from 11.%u.%u.0/24", x, y);
		many_addr(a, 12, i, 9);
		many_want(acl, AF_INET, a, NULL, false, ACL_DENY,
		    "only_from and no_access both match 12.%u.%u.0/24", x, y);

		memset(a, 0, sizeof(a));
		memcpy(a, "\x20\x01\x0d\xb8", 4);
		a[4] = (uint8_t)x;
		a[5] = (uint8_t)y;
		inet_ntop(AF_INET6, a, net, sizeof(net));
		a[15] = 1;
		inet_ntop(AF_INET6, a, host, sizeof(host));
		many_want(acl, AF_INET6, a, NULL, true, ACL_DENY, "no_access %s/128", host);
		/* Inside a /48 of only_from, which a denied domain could turn
		 * around. */
		a[15] = 2;
		assert_int_equal(acl_check(acl, AF_INET6, a, NULL, 0), ACL_NEED_NAME);
		many_want(acl, AF_INET6, a, NULL, false, ACL_ALLOW, "only_from %s/48", net);
		snprintf(name, sizeof(name), "h.d%u.example.com", i);
		if (i % 3 == 0)
			many_want(acl, AF_INET6, a, name, false, ACL_DENY,
			    "only_from and no_access both match .d%u.example.com", i);
		else
			many_want(acl, AF_INET6, a, name, false, ACL_ALLOW,
			    "only_from .d%u.example.com", i);
	}
	many_addr(a, 13, 0, 1);
	many_want(acl, AF_INET, a, "x.example.com", false, ACL_DENY, "not in only_from");
	assert_int_equal(acl_check(acl, AF_INET, a, why, sizeof(why)), ACL_NEED_NAME);
	assert_string_equal(why, "host name needed");
	acl_free(acl);
}

/*
 * Random lists over a small address space, so that rules nest and collide,
 * checked against the rules spelled out: the longest matching prefix per
 * list, the higher rank wins, an equal one denies.
 */
static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static int
naive_best(const struct addrlist *l, int family, const uint8_t *a)
{
	int best = -1;

	for (size_t i = 0; i < l->n; i++) {
		const struct addr_rule *r = &l->v[i];
		unsigned p = r->prefix, full = r->family == AF_INET ? 32 : 128;
		bool eq = true;

		if (r->kind != AR_NET || r->family != family)
			continue;
		for (unsigned b = 0; b < p && eq; b++)
			eq = ((r->addr[b / 8] ^ a[b / 8]) & (0x80u >> (b % 8))) == 0;
		if (eq && (int)(p == full ? 1000 : p) > best)
			best = p == full ? 1000 : (int)p;
	}
	return best;
}

static void
random_addr(uint64_t *s, int family, uint8_t *a)
{
	uint64_t x = rnd(s);

	memset(a, 0, 16);
	if (family == AF_INET) {
		/* 10.0-3.x.x with few distinct low bits. */
		a[0] = 10;
		a[1] = (uint8_t)(x & 3);
		a[2] = (uint8_t)(x >> 8 & 7);
		a[3] = (uint8_t)(x >> 16 & 15);
	} else {
		a[0] = 0x20;
		a[1] = 0x01;
		a[7] = (uint8_t)(x & 3);
		a[8] = (uint8_t)(x >> 8 & 0x81);
		a[15] = (uint8_t)(x >> 16 & 7);
	}
}

static void
random_rule(uint64_t *s, struct addrlist *l)
{
	static const unsigned p4[] = { 0, 8, 14, 16, 21, 24, 28, 30, 31, 32 };
	static const unsigned p6[] = { 0, 16, 62, 64, 65, 72, 120, 125, 127, 128 };
	int family = rnd(s) & 1 ? AF_INET : AF_INET6;
	unsigned prefix = (family == AF_INET ? p4 : p6)[rnd(s) % 10];
	char text[INET6_ADDRSTRLEN], tok[80], err[256];
	uint8_t a[16];

	random_addr(s, family, a);
	for (unsigned b = prefix; b < (family == AF_INET ? 32u : 128u); b++)
		a[b / 8] &= (uint8_t) ~(0x80u >> (b % 8));
	inet_ntop(family, a, text, sizeof(text));
	snprintf(tok, sizeof(tok), "%s/%u", text, prefix);
	if (!access_parse(tok, l, err, sizeof(err)))
		fail_msg("%s: %s", tok, err);
}

static void
test_acl_random(void **state)
{
	uint64_t seed = 0x9e3779b97f4a7c15u;

	(void)state;
	for (int round = 0; round < 300; round++) {
		struct addrlist only = { 0 }, no = { 0 };
		bool only_set = rnd(&seed) % 4 != 0;
		int n = (int)(rnd(&seed) % 12);
		struct acl *acl;

		for (int i = 0; i < n; i++)
			random_rule(&seed, only_set && rnd(&seed) & 1 ? &only : &no);
		acl = acl_compile(&only, only_set, &no);
		for (int k = 0; k < 200; k++) {
			int family = rnd(&seed) & 1 ? AF_INET : AF_INET6;
			int bo, bn;
			enum acl_verdict want, got;
			uint8_t a[16];

			random_addr(&seed, family, a);
			bo = naive_best(&only, family, a);
			bn = naive_best(&no, family, a);
			if (bo < 0 && bn < 0)
				want = only_set ? ACL_DENY : ACL_ALLOW;
			else
				want = bo > bn ? ACL_ALLOW : ACL_DENY;
			got = acl_check(acl, family, a, NULL, 0);
			if (got != want)
				fail_msg("round %d: got %s, want %s", round, verdict_name(got),
				    verdict_name(want));
			if (family == AF_INET) {
				/* The same client, v4-mapped. */
				memmove(a + 12, a, 4);
				memcpy(a, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12);
				assert_int_equal(acl_check(acl, AF_INET6, a, NULL, 0), want);
			}
		}
		acl_free(acl);
		access_clear(&only);
		access_clear(&no);
	}
}

static void
test_times_allow(void **state)
{
	struct timerange tr[3];
	char err[256];

	(void)state;
	/* No ranges: all day. */
	assert_true(access_times_allow(NULL, 0, 0));
	assert_true(access_times_allow(NULL, 0, 1439));

	assert_true(access_times_parse("8:00-17:30", &tr[0], err, sizeof(err)));
	assert_false(access_times_allow(tr, 1, 479));
	assert_true(access_times_allow(tr, 1, 480));
	assert_true(access_times_allow(tr, 1, 1050));
	assert_false(access_times_allow(tr, 1, 1051));
	assert_false(access_times_allow(tr, 1, 0));

	/* Past midnight. */
	assert_true(access_times_parse("22:00-6:00", &tr[0], err, sizeof(err)));
	assert_false(access_times_allow(tr, 1, 1319));
	assert_true(access_times_allow(tr, 1, 1320));
	assert_true(access_times_allow(tr, 1, 1439));
	assert_true(access_times_allow(tr, 1, 0));
	assert_true(access_times_allow(tr, 1, 360));
	assert_false(access_times_allow(tr, 1, 361));
	assert_false(access_times_allow(tr, 1, 720));

	/* Until midnight, with 24:00 stored as 23:59. */
	assert_true(access_times_parse("12:00-24:00", &tr[0], err, sizeof(err)));
	assert_false(access_times_allow(tr, 1, 719));
	assert_true(access_times_allow(tr, 1, 720));
	assert_true(access_times_allow(tr, 1, 1439));
	assert_false(access_times_allow(tr, 1, 0));
	assert_true(access_times_parse("0:00-24:00", &tr[0], err, sizeof(err)));
	for (int m = 0; m < 1440; m++)
		assert_true(access_times_allow(tr, 1, m));

	/* One minute; several ranges, any of which allows. */
	assert_true(access_times_parse("9:05-9:05", &tr[0], err, sizeof(err)));
	assert_true(access_times_parse("23:30-0:15", &tr[1], err, sizeof(err)));
	assert_true(access_times_parse("12:00-13:00", &tr[2], err, sizeof(err)));
	assert_false(access_times_allow(tr, 3, 544));
	assert_true(access_times_allow(tr, 3, 545));
	assert_false(access_times_allow(tr, 3, 546));
	assert_true(access_times_allow(tr, 3, 1410));
	assert_true(access_times_allow(tr, 3, 15));
	assert_false(access_times_allow(tr, 3, 16));
	assert_true(access_times_allow(tr, 3, 780));
	assert_false(access_times_allow(tr, 3, 781));
	assert_false(access_times_allow(tr, 3, 1409));
	/* Only the ranges counted are looked at. */
	assert_false(access_times_allow(tr, 1, 780));
}

/* ------------------------------------------------------- access_times */

static void
expect_times(const char *tok, unsigned start, unsigned end)
{
	struct timerange tr = { 9999, 9999 };
	char err[256] = "";

	if (!access_times_parse(tok, &tr, err, sizeof(err)))
		fail_msg("\"%s\" refused: %s", tok, err);
	assert_int_equal(tr.start, start);
	assert_int_equal(tr.end, end);
}

static void
expect_times_err(const char *tok, const char *why)
{
	struct timerange tr = { 7, 8 };
	char err[256] = "", want[256];

	if (access_times_parse(tok, &tr, err, sizeof(err)))
		fail_msg("\"%s\" was accepted", tok);
	snprintf(want, sizeof(want), "bad access_times interval \"%s\": %s", tok, why);
	assert_string_equal(err, want);
	assert_int_equal(tr.start, 7);
	assert_int_equal(tr.end, 8);
}

static void
test_times(void **state)
{
	(void)state;
	expect_times("8:00-17:30", 480, 1050);
	expect_times("08:00-17:30", 480, 1050);
	expect_times("0:00-23:59", 0, 1439);
	expect_times("0:00-24:00", 0, 1439);
	/* xinetd refused its own man page's example; porter takes it. */
	expect_times("12:00-24:00", 720, 1439);
	expect_times("9:05-9:05", 545, 545);
	/* Past midnight. */
	expect_times("22:00-6:00", 1320, 360);
	expect_times("23:30-0:15", 1410, 15);
}

static void
test_times_errors(void **state)
{
	static const char hours[] = "hours are 0-23 (24:00 only as an end)";
	static const char minutes[] = "minutes are 00-59";
	static const char syntax[] = "expected H:MM-H:MM";

	(void)state;
	expect_times_err("25:00-26:00", hours);
	expect_times_err("24:00-1:00", hours);
	expect_times_err("1:00-24:30", hours);
	expect_times_err("1:00-25:00", hours);
	expect_times_err("99:00-1:00", hours);
	expect_times_err("1:60-2:00", minutes);
	expect_times_err("1:00-2:99", minutes);
	expect_times_err("8:00", syntax);
	expect_times_err("8:00 17:00", syntax);
	expect_times_err("8:00-", syntax);
	expect_times_err("-8:00", syntax);
	expect_times_err("8:0-9:00", syntax);
	expect_times_err("8:000-9:00", syntax);
	expect_times_err("8-9", syntax);
	expect_times_err("123:00-1:00", syntax);
	expect_times_err("8:00-9:00x", syntax);
	expect_times_err("8:00--9:00", syntax);
	expect_times_err("8.00-9.00", syntax);
	expect_times_err("+8:00-9:00", syntax);
	expect_times_err("", syntax);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cidr_v4),
		cmocka_unit_test(test_cidr_v4_errors),
		cmocka_unit_test(test_cidr_v6),
		cmocka_unit_test(test_cidr_v6_errors),
		cmocka_unit_test(test_v4_trailing_zero),
		cmocka_unit_test(test_v4_strict),
		cmocka_unit_test(test_v6_exact),
		cmocka_unit_test(test_v6_mapped),
		cmocka_unit_test(test_v6_errors),
		cmocka_unit_test(test_factorized),
		cmocka_unit_test(test_factorized_errors),
		cmocka_unit_test(test_commas),
		cmocka_unit_test(test_domain),
		cmocka_unit_test(test_domain_errors),
		cmocka_unit_test(test_hostname),
		cmocka_unit_test(test_hostname_errors),
		cmocka_unit_test(test_netname),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_remove),
		cmocka_unit_test(test_copy_clear),
		cmocka_unit_test(test_acl_overlap),
		cmocka_unit_test(test_acl_zero_prefix),
		cmocka_unit_test(test_acl_exact),
		cmocka_unit_test(test_acl_tie),
		cmocka_unit_test(test_acl_empty),
		cmocka_unit_test(test_acl_mapped),
		cmocka_unit_test(test_acl_factorized),
		cmocka_unit_test(test_acl_names),
		cmocka_unit_test(test_acl_name_case),
		cmocka_unit_test(test_acl_domain_rank),
		cmocka_unit_test(test_acl_why_buffer),
		cmocka_unit_test(test_acl_many),
		cmocka_unit_test(test_acl_random),
		cmocka_unit_test(test_times),
		cmocka_unit_test(test_times_errors),
		cmocka_unit_test(test_times_allow),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
