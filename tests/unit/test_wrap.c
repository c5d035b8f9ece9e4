/*
 * test_wrap.c: unit tests for wrap.c, porterd's reading of hosts.allow and
 * hosts.deny. The files are written to a temporary directory; each case
 * checks the verdict, the deciding line, and that what cannot be honoured
 * is a warning with its file and line.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "porterd.h"

static char dir[] = "/tmp/porter-wrap-XXXXXX";
static char allow[64], deny[64];

static void
put(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static struct wrap *
load(const char *a, const char *d, struct diag *dg)
{
	unlink(allow);
	unlink(deny);
	if (a != NULL)
		put(allow, a);
	if (d != NULL)
		put(deny, d);
	return wrap_load(allow, deny, dg);
}

/* The verdict for addr (and a name state) of a service named names. */
static enum acl_verdict
ask(const struct wrap *w, const char *const *names, const char *addr, int name_state,
    const char *name, char *line, size_t len)
{
	struct wrap_client c = { 0 };
	static uint8_t bytes[16];
	const struct wrap_rule *r;
	enum acl_verdict v;

	c.family = strchr(addr, ':') != NULL ? AF_INET6 : AF_INET;
	assert_int_equal(inet_pton(c.family, addr, bytes), 1);
	c.addr = bytes;
	snprintf(c.text, sizeof(c.text), "%s", addr);
	/* name_state: 0 not looked up, 1 known (name may be NULL), 2 failed,
	 * 3 paranoid */
	c.name_known = name_state != 0;
	c.name_failed = name_state == 2;
	c.paranoid = name_state == 3;
	c.name = name;
	v = wrap_check(w, names, &c, &r);
	if (line != NULL) {
		line[0] = '\0';
		if (r != NULL)
			wrap_rule_text(r, line, len);
	}
	return v;
}

static const char *const echo[] = { "echo", NULL, NULL };
static const char *const telnet[] = { "telnet", "in.telnetd", NULL };
static const char *const daytime[] = { "daytime", NULL, NULL };

static int
setup(void **state)
{
	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(allow, sizeof(allow), "%s/hosts.allow", dir);
	snprintf(deny, sizeof(deny), "%s/hosts.deny", dir);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	unlink(allow);
	unlink(deny);
	rmdir(dir);
	return 0;
}

static void
test_no_files_no_rules(void **state)
{
	struct diag d = { 0 };

	(void)state;
	assert_null(load(NULL, NULL, &d));
	assert_null(load("# only comments\n\n", "   \n", &d));
	assert_int_equal(d.warnings, 0);
	assert_int_equal(ask(NULL, echo, "10.0.0.1", 0, NULL, NULL, 0), ACL_ALLOW);
	diag_free(&d);
}

static void
test_allow_first_then_deny(void **state)
{
	struct diag d = { 0 };
	struct wrap *w;
	char line[256];

	(void)state;
	w = load("echo: 127.0.0.3, 10.0.0.0/255.0.0.0 EXCEPT 10.1.0.0/16\n"
	         "in.telnetd : 192.168.\n",
	    "echo: 127.0.0. \\\n  EXCEPT 127.0.0.9\nALL: ALL\n", &d);
	assert_non_null(w);
	assert_int_equal(d.warnings, 0);
	assert_int_equal(ask(w, echo, "127.0.0.3", 0, NULL, line, sizeof(line)), ACL_ALLOW);
	assert_non_null(strstr(line, "hosts.allow:1: echo: 127.0.0.3"));
	assert_int_equal(ask(w, echo, "10.2.3.4", 0, NULL, NULL, 0), ACL_ALLOW);
	/* EXCEPT: 10.1/16 falls through to hosts.deny's ALL: ALL. */
	assert_int_equal(ask(w, echo, "10.1.3.4", 0, NULL, line, sizeof(line)), ACL_DENY);
	assert_non_null(strstr(line, "hosts.deny:3: ALL: ALL"));
	/* A continued line keeps the number of its first line. */
	assert_int_equal(ask(w, echo, "127.0.0.5", 0, NULL, line, sizeof(line)), ACL_DENY);
	assert_non_null(strstr(line, "hosts.deny:1: echo: 127.0.0. EXCEPT 127.0.0.9"));
	/* Excepted from the first deny, caught by the second. */
	assert_int_equal(ask(w, echo, "127.0.0.9", 0, NULL, line, sizeof(line)), ACL_DENY);
	assert_non_null(strstr(line, "hosts.deny:3:"));
	/* The server's name counts too: in.telnetd for the telnet service. */
	assert_int_equal(ask(w, telnet, "192.168.1.1", 0, NULL, NULL, 0), ACL_ALLOW);
	assert_int_equal(ask(w, telnet, "192.169.1.1", 0, NULL, NULL, 0), ACL_DENY);
	assert_true(wrap_applies(w, daytime)); /* ALL in hosts.deny */
	wrap_free(w);
	diag_free(&d);
}

static void
test_names_wait_and_fail_closed(void **state)
{
	struct diag d = { 0 };
	struct wrap *w;

	(void)state;
	w = load("ALL EXCEPT daytime: .porter.test LOCAL\n", "ALL: PARANOID\necho: UNKNOWN\n", &d);
	assert_non_null(w);
	/* Before the name: it has to wait. */
	assert_int_equal(ask(w, echo, "192.0.2.1", 0, NULL, NULL, 0), ACL_NEED_NAME);
	assert_int_equal(ask(w, echo, "192.0.2.1", 1, "a.porter.test", NULL, 0), ACL_ALLOW);
	assert_int_equal(ask(w, echo, "192.0.2.1", 1, "localbox", NULL, 0), ACL_ALLOW);
	assert_int_equal(ask(w, echo, "192.0.2.1", 1, "a.other.test", NULL, 0), ACL_ALLOW);
	/* No name at all: UNKNOWN. */
	assert_int_equal(ask(w, echo, "192.0.2.1", 1, NULL, NULL, 0), ACL_DENY);
	assert_int_equal(ask(w, daytime, "192.0.2.1", 1, NULL, NULL, 0), ACL_ALLOW);
	/* A name that does not confirm: PARANOID. */
	assert_int_equal(ask(w, daytime, "192.0.2.1", 3, NULL, NULL, 0), ACL_DENY);
	/* A lookup that failed cannot say: denied. */
	assert_int_equal(ask(w, echo, "192.0.2.1", 2, NULL, NULL, 0), ACL_DENY);
	/* daytime is excepted from hosts.allow's names. */
	assert_int_equal(ask(w, daytime, "192.0.2.1", 1, "a.porter.test", NULL, 0), ACL_ALLOW);
	wrap_free(w);
	diag_free(&d);
}

static void
test_ipv6_and_masks(void **state)
{
	struct diag d = { 0 };
	struct wrap *w;

	(void)state;
	w = load("echo: [2001:db8::]/32 [::1] 10.0.0.0/8\n", "echo: ALL\n", &d);
	assert_non_null(w);
	assert_int_equal(d.warnings, 0);
	assert_int_equal(ask(w, echo, "2001:db8::5", 0, NULL, NULL, 0), ACL_ALLOW);
	assert_int_equal(ask(w, echo, "2001:db9::5", 0, NULL, NULL, 0), ACL_DENY);
	assert_int_equal(ask(w, echo, "::1", 0, NULL, NULL, 0), ACL_ALLOW);
	assert_int_equal(ask(w, echo, "10.200.0.1", 0, NULL, NULL, 0), ACL_ALLOW);
	assert_int_equal(ask(w, echo, "11.0.0.1", 0, NULL, NULL, 0), ACL_DENY);
	wrap_free(w);
	diag_free(&d);
}

/* What porterd cannot honour warns, with its file and line, and the
 * allow and deny options turn a rule around. */
static void
test_warnings_and_options(void **state)
{
	struct diag d = { 0 };
	struct wrap *w;

	(void)state;
	w = load("echo@host: ALL\necho: @trusted\necho: 10.0.0.1 : spawn /bin/true\n"
	         "echo: 10.0.0.2 : deny\nnot a rule\n",
	    "echo: 10.0.0.3 : allow\necho: ALL\n", &d);
	assert_non_null(w);
	assert_int_equal(d.warnings, 4);
	assert_non_null(
	    strstr(d.lines.v[0], "hosts.allow:1: warning: daemon pattern \"echo@host\""));
	assert_non_null(
	    strstr(d.lines.v[1], "hosts.allow:2: warning: client pattern \"@trusted\""));
	assert_non_null(strstr(d.lines.v[2], "hosts.allow:3: warning: option \"spawn /bin/true\""));
	assert_non_null(strstr(d.lines.v[3], "hosts.allow:5: warning: not a rule"));
	assert_int_equal(ask(w, echo, "10.0.0.1", 0, NULL, NULL, 0), ACL_ALLOW);
	assert_int_equal(ask(w, echo, "10.0.0.2", 0, NULL, NULL, 0), ACL_DENY);
	assert_int_equal(ask(w, echo, "10.0.0.3", 0, NULL, NULL, 0), ACL_ALLOW);
	assert_int_equal(ask(w, echo, "10.0.0.4", 0, NULL, NULL, 0), ACL_DENY);
	assert_false(wrap_applies(w, daytime));
	wrap_free(w);
	diag_free(&d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_files_no_rules),
		cmocka_unit_test(test_allow_first_then_deny),
		cmocka_unit_test(test_names_wait_and_fail_closed),
		cmocka_unit_test(test_ipv6_and_masks),
		cmocka_unit_test(test_warnings_and_options),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
