/*
 * test_access.c: unit tests of access.c, the parser, printer and matcher of
 * only_from/no_access address lists and the access_times interval parser.
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

/* ----------------------------------------------------------- matching */

static bool
match(const struct addrlist *l, const char *addr, int *best)
{
	uint8_t a[16];

	if (inet_pton(AF_INET, addr, a) == 1)
		return access_match_addr(l, AF_INET, a, best);
	assert_int_equal(inet_pton(AF_INET6, addr, a), 1);
	return access_match_addr(l, AF_INET6, a, best);
}

static void
test_match(void **state)
{
	struct addrlist l = { 0 }, all = { 0 };
	int best = 99;

	(void)state;
	parse_all(&l,
	    (const char *const[]){ "10.0.0.0", "10.1.0.0/16", "10.1.2.3", "host.example.com",
	        "2001:db8::/32", "2001:db8::1", "172.16.0.0/12", NULL });
	assert_true(match(&l, "10.9.9.9", &best));
	assert_int_equal(best, 8);
	assert_true(match(&l, "10.1.9.9", &best));
	assert_int_equal(best, 16);
	assert_true(match(&l, "10.1.2.3", &best));
	assert_int_equal(best, 32);
	assert_true(match(&l, "172.31.255.255", &best));
	assert_int_equal(best, 12);
	assert_false(match(&l, "172.32.0.0", &best));
	assert_int_equal(best, -1);
	assert_false(match(&l, "11.0.0.0", NULL));
	assert_true(match(&l, "2001:db8::1", &best));
	assert_int_equal(best, 128);
	assert_true(match(&l, "2001:db8:ffff::", &best));
	assert_int_equal(best, 32);
	assert_false(match(&l, "2001:db9::", &best));
	/* A mapped client is matched as IPv4 ... */
	assert_true(match(&l, "::ffff:10.1.2.3", &best));
	assert_int_equal(best, 32);
	/* ... and an IPv4 rule never matches a native IPv6 client. */
	assert_false(match(&l, "::10.1.2.3", &best));
	assert_false(match(&l, "::", &best));

	/* /0 in each family, and "0.0.0.0", only cover their own family. */
	parse_all(&all, (const char *const[]){ "0.0.0.0", NULL });
	assert_true(match(&all, "203.0.113.9", &best));
	assert_int_equal(best, 0);
	assert_true(match(&all, "::ffff:203.0.113.9", &best));
	assert_false(match(&all, "2001:db8::1", &best));
	access_clear(&all);
	parse_all(&all, (const char *const[]){ "::/0", NULL });
	assert_true(match(&all, "2001:db8::1", &best));
	assert_int_equal(best, 0);
	assert_false(match(&all, "203.0.113.9", &best));
	assert_false(match(&all, "::ffff:203.0.113.9", &best));
	access_clear(&all);

	/* "::" is exact. */
	parse_all(&all, (const char *const[]){ "::", NULL });
	assert_true(match(&all, "::", &best));
	assert_int_equal(best, 128);
	assert_false(match(&all, "::1", &best));
	access_clear(&all);

	/* Prefixes that do not end on an octet. */
	parse_all(&all, (const char *const[]){ "192.168.4.0/22", "fe80::/10", NULL });
	assert_true(match(&all, "192.168.7.255", &best));
	assert_false(match(&all, "192.168.8.0", &best));
	assert_false(match(&all, "192.168.3.255", &best));
	assert_true(match(&all, "febf::1", &best));
	assert_int_equal(best, 10);
	assert_false(match(&all, "fec0::1", &best));
	access_clear(&all);

	/* An empty list matches nothing. */
	assert_false(match(&all, "10.0.0.1", &best));
	assert_int_equal(best, -1);
	access_clear(&l);
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
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_times),
		cmocka_unit_test(test_times_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
