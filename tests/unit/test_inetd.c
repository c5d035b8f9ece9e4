/*
 * test_inetd.c: unit tests of conf_inetd.c. Each test reads inetd.conf text
 * from memory and checks the services it becomes and the exact wording of
 * every diagnostic, since golden files and the man page quote them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"

struct fx {
	struct config *cf;
	struct diag d;
};

static int
fx_setup(void **state)
{
	struct fx *f = mem_calloc(1, sizeof(*f));

	f->cf = conf_new();
	*state = f;
	return 0;
}

static int
fx_teardown(void **state)
{
	struct fx *f = *state;

	conf_free(f->cf);
	diag_free(&f->d);
	free(f);
	return 0;
}

static void
parse_in(struct fx *f, enum inetd_dialect dialect, const char *text)
{
	conf_inetd_buffer(f->cf, "inetd.conf", text, strlen(text), dialect, &f->d);
}

/* In the default dialect, openbsd-inetd's. */
static void
parse(struct fx *f, const char *text)
{
	parse_in(f, INETD_OPENBSD, text);
}

static struct service_config *
svc(struct fx *f, const char *id)
{
	struct service_config *s = conf_find_id(f->cf, id);

	assert_non_null(s);
	return s;
}

/* The diagnostics are exactly the given lines, in order. */
static void
expect_diag(struct fx *f, size_t n, ...)
{
	va_list ap;

	if (f->d.lines.n != n)
		for (size_t i = 0; i < f->d.lines.n; i++)
			print_message("diag: %s\n", f->d.lines.v[i]);
	assert_int_equal(f->d.lines.n, n);
	va_start(ap, n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(f->d.lines.v[i], va_arg(ap, const char *));
	va_end(ap);
}

static bool
owns(const struct service_config *s, enum attr_id a)
{
	return conf_service_has(s, a) && attr_set_has(&s->own, a);
}

/* ------------------------------------------------------------ entries */

static void
test_tcp_nowait_external(void **state)
{
	struct fx *f = *state;
	struct service_config *s;

	parse(f, "ftp\tstream  tcp nowait root /usr/sbin/tcpd in.ftpd -l -a\n");
	expect_diag(f, 0);
	assert_int_equal(f->cf->nsvc, 1);
	s = svc(f, "ftp");
	assert_string_equal(s->name, "ftp");
	assert_string_equal(s->id, "ftp");
	assert_string_equal(s->loc.file, "inetd.conf");
	assert_int_equal(s->loc.line, 1);
	assert_true(s->from_inetd);
	assert_int_equal(s->type, 0);
	assert_int_equal(s->socket_type, SOCK_STREAM);
	assert_int_equal(s->protocol, IPPROTO_TCP);
	assert_int_equal(s->wait, 0);
	assert_string_equal(s->user, "root");
	assert_null(s->group);
	assert_true(s->groups);
	assert_string_equal(s->server, "/usr/sbin/tcpd");
	assert_int_equal(s->server_args.n, 3);
	assert_string_equal(s->server_args.v[0], "in.ftpd");
	assert_string_equal(s->server_args.v[1], "-l");
	assert_string_equal(s->server_args.v[2], "-a");
	assert_int_equal(s->flags, F_NAMEINARGS | F_REUSE | F_NOLIBWRAP);
	assert_null(s->bind);
	assert_int_equal(s->port, -1);
	assert_false(s->v6only);
	assert_int_equal(s->instances, COUNT_UNLIMITED);
	assert_int_equal(s->per_source, COUNT_UNLIMITED);

	assert_true(owns(s, A_ID));
	assert_true(owns(s, A_FLAGS));
	assert_true(owns(s, A_GROUPS));
	assert_true(owns(s, A_SOCKET_TYPE));
	assert_true(owns(s, A_PROTOCOL));
	assert_true(owns(s, A_WAIT));
	assert_true(owns(s, A_USER));
	assert_true(owns(s, A_SERVER));
	assert_true(owns(s, A_SERVER_ARGS));
	assert_false(conf_service_has(s, A_TYPE));
	assert_false(conf_service_has(s, A_GROUP));
	assert_false(conf_service_has(s, A_PORT));
	assert_false(conf_service_has(s, A_BIND));
	assert_false(conf_service_has(s, A_V6ONLY));
	assert_false(conf_service_has(s, A_INSTANCES));
	assert_string_equal(conf_service_at(s, A_SERVER).file, "inetd.conf");
	assert_int_equal(conf_service_at(s, A_SERVER).line, 1);
}

static void
test_internal_ids(void **state)
{
	struct fx *f = *state;
	struct service_config *s;

	parse(f,
	    "echo stream tcp nowait root internal\n"
	    "echo dgram udp wait root internal these are ignored\n");
	expect_diag(f, 0);
	assert_int_equal(f->cf->nsvc, 2);
	s = svc(f, "echo-stream");
	assert_string_equal(s->name, "echo");
	assert_int_equal(s->type, T_INTERNAL);
	assert_true(owns(s, A_TYPE));
	assert_int_equal(s->socket_type, SOCK_STREAM);
	assert_int_equal(s->flags, F_REUSE | F_NOLIBWRAP);
	assert_null(s->server);
	assert_int_equal(s->server_args.n, 0);
	assert_false(conf_service_has(s, A_SERVER));
	assert_false(conf_service_has(s, A_SERVER_ARGS));
	assert_true(s->groups);

	s = svc(f, "echo-dgram");
	assert_string_equal(s->name, "echo");
	assert_int_equal(s->loc.line, 2);
	assert_int_equal(s->type, T_INTERNAL);
	assert_int_equal(s->socket_type, SOCK_DGRAM);
	assert_int_equal(s->protocol, IPPROTO_UDP);
	assert_int_equal(s->wait, 1);
	assert_int_equal(s->server_args.n, 0);
	assert_null(conf_find_id(f->cf, "echo"));
}

static void
test_udp_wait(void **state)
{
	struct fx *f = *state;
	struct service_config *s;

	parse(f, "tftp dgram udp wait nobody /usr/sbin/in.tftpd in.tftpd -s /srv/tftp\n");
	expect_diag(f, 0);
	s = svc(f, "tftp");
	assert_int_equal(s->socket_type, SOCK_DGRAM);
	assert_int_equal(s->protocol, IPPROTO_UDP);
	assert_int_equal(s->wait, 1);
	assert_string_equal(s->user, "nobody");
	assert_int_equal(s->server_args.n, 3);
	assert_string_equal(s->server_args.v[2], "/srv/tftp");
	assert_int_equal(s->flags, F_NAMEINARGS | F_REUSE | F_NOLIBWRAP);
	assert_false(s->v6only);
}

static void
test_protocol_families(void **state)
{
	struct fx *f = *state;
	struct service_config *s;

	parse(f,
	    "a stream tcp6 nowait root /bin/a a\n"
	    "b dgram udp6 wait root /bin/b b\n"
	    "c stream tcp4 nowait root /bin/c c\n"
	    "d dgram udp4 wait root /bin/d d\n"
	    "e stream tcp46 nowait root /bin/e e\n"
	    "g dgram udp46 wait root /bin/g g\n");
	expect_diag(f, 0);
	assert_int_equal(f->cf->nsvc, 6);

	s = svc(f, "a");
	assert_int_equal(s->protocol, IPPROTO_TCP);
	assert_int_equal(s->flags & (F_IPV4 | F_IPV6), F_IPV6);
	assert_true(s->v6only);
	assert_true(owns(s, A_V6ONLY));
	s = svc(f, "b");
	assert_int_equal(s->protocol, IPPROTO_UDP);
	assert_int_equal(s->flags & (F_IPV4 | F_IPV6), F_IPV6);
	assert_true(s->v6only);

	s = svc(f, "c");
	assert_int_equal(s->protocol, IPPROTO_TCP);
	assert_int_equal(s->flags & (F_IPV4 | F_IPV6), F_IPV4);
	assert_false(s->v6only);
	assert_false(conf_service_has(s, A_V6ONLY));
	s = svc(f, "d");
	assert_int_equal(s->flags & (F_IPV4 | F_IPV6), F_IPV4);

	s = svc(f, "e");
	assert_int_equal(s->protocol, IPPROTO_TCP);
	assert_int_equal(s->flags & (F_IPV4 | F_IPV6), 0);
	assert_false(conf_service_has(s, A_V6ONLY));
	s = svc(f, "g");
	assert_int_equal(s->protocol, IPPROTO_UDP);
	assert_int_equal(s->flags & (F_IPV4 | F_IPV6), 0);
}

static void
test_host_prefix(void **state)
{
	struct fx *f = *state;
	struct service_config *s;

	parse(f,
	    "127.0.0.1:echo stream tcp nowait root internal\n"
	    "[::1]:daytime stream tcp6 nowait root internal\n"
	    "*:time stream tcp nowait root internal\n"
	    "fe80::1%eth0:discard stream tcp6 nowait root internal\n"
	    "localhost: chargen stream tcp nowait root internal\n");
	expect_diag(f, 0);
	assert_int_equal(f->cf->nsvc, 5);
	s = svc(f, "echo-stream");
	assert_string_equal(s->name, "echo");
	assert_string_equal(s->bind, "127.0.0.1");
	assert_true(owns(s, A_BIND));
	s = svc(f, "daytime-stream");
	assert_string_equal(s->bind, "::1");
	s = svc(f, "time-stream");
	assert_null(s->bind);
	assert_false(conf_service_has(s, A_BIND));
	s = svc(f, "discard-stream");
	assert_string_equal(s->bind, "fe80::1%eth0");
	/* OpenBSD also reads "host: service ..." with a blank after ':'. */
	s = svc(f, "chargen-stream");
	assert_string_equal(s->name, "chargen");
	assert_string_equal(s->bind, "localhost");
}

static void
test_default_host(void **state)
{
	struct fx *f = *state;

	parse(f,
	    "a stream tcp nowait root /bin/a a\n"
	    "127.0.0.1:\n"
	    "b stream tcp nowait root /bin/b b\n"
	    "*:c stream tcp nowait root /bin/c c\n"
	    "10.0.0.1:d stream tcp nowait root /bin/d d\n"
	    "e stream tcp nowait root /bin/e e\n"
	    "[::1]:\n"
	    "g stream tcp6 nowait root /bin/g g\n"
	    "*:\n"
	    "h stream tcp nowait root /bin/h h\n");
	expect_diag(f, 0);
	assert_int_equal(f->cf->nsvc, 7);
	assert_null(svc(f, "a")->bind);
	assert_string_equal(svc(f, "b")->bind, "127.0.0.1");
	assert_null(svc(f, "c")->bind);
	assert_string_equal(svc(f, "d")->bind, "10.0.0.1");
	assert_string_equal(svc(f, "e")->bind, "127.0.0.1");
	assert_string_equal(svc(f, "g")->bind, "::1");
	assert_null(svc(f, "h")->bind);
	assert_false(conf_service_has(svc(f, "h"), A_BIND));
}

static void
test_host_errors(void **state)
{
	struct fx *f = *state;

	parse(f,
	    ":echo stream tcp nowait root internal\n"
	    "[::1:echo stream tcp nowait root internal\n"
	    "[]:echo stream tcp nowait root internal\n"
	    "a,b:echo stream tcp nowait root internal\n"
	    "[a]b]:echo stream tcp nowait root internal\n");
	expect_diag(f, 5,
	    "inetd.conf:1: host: expected an address, a host name or * before ':' in "
	    "\":echo\"",
	    "inetd.conf:2: host: expected [ADDRESS] with a closing ']', not \"[::1\"",
	    "inetd.conf:3: host: expected [ADDRESS] with a closing ']', not \"[]\"",
	    "inetd.conf:4: host: address lists (\"a,b\") are not supported by porter; "
	    "write one line per address",
	    "inetd.conf:5: host: expected [ADDRESS] with a closing ']', not \"a]b\"");
	assert_int_equal(f->d.errors, 5);
	assert_int_equal(f->cf->nsvc, 0);
}

static void
test_numeric_service(void **state)
{
	struct fx *f = *state;
	struct service_config *s;

	parse(f,
	    "8080 stream tcp nowait www /usr/bin/srv srv\n"
	    "7 dgram udp wait root internal\n"
	    "0 stream tcp nowait root /bin/a a\n"
	    "65536 stream tcp nowait root /bin/a a\n"
	    "3com-tsmux stream tcp nowait root /bin/a a\n");
	expect_diag(f, 2,
	    "inetd.conf:3: service: port 0 is out of range; expected 1 to 65535 or a service "
	    "name",
	    "inetd.conf:4: service: port 65536 is out of range; expected 1 to 65535 or a "
	    "service name");
	assert_int_equal(f->cf->nsvc, 3);
	s = svc(f, "8080");
	assert_string_equal(s->name, "8080");
	assert_int_equal(s->port, 8080);
	assert_int_equal(s->type, T_UNLISTED);
	assert_true(owns(s, A_PORT));
	assert_true(owns(s, A_TYPE));
	s = svc(f, "7-dgram");
	assert_int_equal(s->port, 7);
	assert_int_equal(s->type, T_UNLISTED | T_INTERNAL);
	/* A name that starts with a digit is still a name. */
	s = svc(f, "3com-tsmux");
	assert_int_equal(s->port, -1);
	assert_int_equal(s->type, 0);
	assert_false(conf_service_has(s, A_PORT));
}

/* ------------------------------------------------------------ wait */

static void
test_wait_max(void **state)
{
	struct fx *f = *state;
	struct service_config *s;

	parse(f,
	    "a stream tcp nowait.10 root /bin/a a\n"
	    "b dgram udp wait.1 root /bin/b b\n"
	    "c stream tcp nowait/20 root /bin/c c\n"
	    "d stream tcp wait root /bin/d d\n");
	expect_diag(f, 0);
	s = svc(f, "a");
	assert_int_equal(s->wait, 0);
	assert_int_equal(s->instances, 10);
	assert_true(owns(s, A_INSTANCES));
	assert_false(conf_service_has(s, A_PER_SOURCE));
	assert_false(conf_service_has(s, A_PER_SOURCE_CPS));
	s = svc(f, "b");
	assert_int_equal(s->wait, 1);
	assert_int_equal(s->instances, 1);
	s = svc(f, "c");
	assert_int_equal(s->wait, 0);
	assert_int_equal(s->instances, 20);
	assert_false(conf_service_has(s, A_PER_SOURCE_CPS));
	s = svc(f, "d");
	assert_int_equal(s->wait, 1);
	assert_int_equal(s->instances, COUNT_UNLIMITED);
	assert_false(conf_service_has(s, A_INSTANCES));
}

static void
test_wait_freebsd(void **state)
{
	struct fx *f = *state;
	struct service_config *s;

	parse(f,
	    "a stream tcp nowait/20/90/3 root /bin/a a\n"
	    "b stream tcp nowait/5/60 root /bin/b b\n"
	    "c stream tcp nowait/5/61 root /bin/c c\n"
	    "d stream tcp nowait/0/30 root /bin/d d\n"
	    "e stream tcp nowait//1/2 root /bin/e e\n"
	    "g stream tcp nowait/4/0/0 root /bin/g g\n");
	expect_diag(f, 0);
	s = svc(f, "a");
	assert_int_equal(s->instances, 20);
	assert_int_equal(s->per_source_cps_rate, 2);
	assert_int_equal(s->per_source_cps_burst, 90);
	assert_int_equal(s->per_source, 3);
	assert_true(owns(s, A_INSTANCES));
	assert_true(owns(s, A_PER_SOURCE_CPS));
	assert_true(owns(s, A_PER_SOURCE));
	s = svc(f, "b");
	assert_int_equal(s->instances, 5);
	assert_int_equal(s->per_source_cps_rate, 1);
	assert_int_equal(s->per_source_cps_burst, 60);
	assert_false(conf_service_has(s, A_PER_SOURCE));
	s = svc(f, "c");
	assert_int_equal(s->per_source_cps_rate, 2);
	assert_int_equal(s->per_source_cps_burst, 61);
	/* FreeBSD reads 0, or an empty field, as no limit. */
	s = svc(f, "d");
	assert_int_equal(s->instances, COUNT_UNLIMITED);
	assert_false(conf_service_has(s, A_INSTANCES));
	assert_int_equal(s->per_source_cps_rate, 1);
	assert_int_equal(s->per_source_cps_burst, 30);
	s = svc(f, "e");
	assert_false(conf_service_has(s, A_INSTANCES));
	assert_int_equal(s->per_source_cps_rate, 1);
	assert_int_equal(s->per_source_cps_burst, 1);
	assert_int_equal(s->per_source, 2);
	s = svc(f, "g");
	assert_int_equal(s->instances, 4);
	assert_false(conf_service_has(s, A_PER_SOURCE_CPS));
	assert_false(conf_service_has(s, A_PER_SOURCE));
}

static void
test_wait_errors(void **state)
{
	struct fx *f = *state;

	parse(f,
	    "a stream tcp nowait.0 root /bin/a a\n"
	    "a stream tcp nowait.x root /bin/a a\n"
	    "a stream tcp wait. root /bin/a a\n"
	    "a stream tcp nowait.5/3 root /bin/a a\n"
	    "a stream tcp nowait.1000001 root /bin/a a\n"
	    "a stream tcp nowait/1/2/3/4 root /bin/a a\n"
	    "a stream tcp nowait/x root /bin/a a\n"
	    "a stream tcp nowait/-1 root /bin/a a\n"
	    "a stream tcp waitx root /bin/a a\n"
	    "a stream tcp Wait root /bin/a a\n"
	    "a stream tcp yes root /bin/a a\n"
	    "a stream tcp nowait.5.10 root /bin/a a\n");
	expect_diag(f, 12,
	    "inetd.conf:1: wait: expected nowait.N with N from 1 to 1000000, not \"nowait.0\"",
	    "inetd.conf:2: wait: expected nowait.N with N from 1 to 1000000, not \"nowait.x\"",
	    "inetd.conf:3: wait: expected wait.N with N from 1 to 1000000, not \"wait.\"",
	    "inetd.conf:4: wait: expected nowait.N with N from 1 to 1000000, not "
	    "\"nowait.5/3\"",
	    "inetd.conf:5: wait: expected nowait.N with N from 1 to 1000000, not "
	    "\"nowait.1000001\"",
	    "inetd.conf:6: wait: expected nowait/MAX[/PER_MINUTE[/PER_ADDRESS]] with numbers "
	    "from 0 (no limit) to 1000000, not \"nowait/1/2/3/4\"",
	    "inetd.conf:7: wait: expected nowait/MAX[/PER_MINUTE[/PER_ADDRESS]] with numbers "
	    "from 0 (no limit) to 1000000, not \"nowait/x\"",
	    "inetd.conf:8: wait: expected nowait/MAX[/PER_MINUTE[/PER_ADDRESS]] with numbers "
	    "from 0 (no limit) to 1000000, not \"nowait/-1\"",
	    "inetd.conf:9: wait: expected wait or nowait, not \"waitx\"",
	    "inetd.conf:10: wait: expected wait or nowait, not \"Wait\"",
	    "inetd.conf:11: wait: expected wait or nowait, not \"yes\"",
	    /* Neither openbsd-inetd nor inetutils-inetd reads a second number. */
	    "inetd.conf:12: wait: expected nowait.N with N from 1 to 1000000, not "
	    "\"nowait.5.10\"");
	assert_int_equal(f->cf->nsvc, 0);
}

/* ------------------------------------------------------------ user */

static void
test_user_group(void **state)
{
	struct fx *f = *state;
	struct service_config *s;

	parse(f,
	    "a stream tcp nowait nobody.nogroup /bin/a a\n"
	    "b stream tcp nowait www-data:www /bin/b b\n"
	    "c stream tcp nowait first.last:staff /bin/c c\n"
	    "d stream tcp nowait 65534 /bin/d d\n");
	expect_diag(f, 0);
	s = svc(f, "a");
	assert_string_equal(s->user, "nobody");
	assert_string_equal(s->group, "nogroup");
	assert_true(owns(s, A_USER));
	assert_true(owns(s, A_GROUP));
	s = svc(f, "b");
	assert_string_equal(s->user, "www-data");
	assert_string_equal(s->group, "www");
	s = svc(f, "c");
	assert_string_equal(s->user, "first.last");
	assert_string_equal(s->group, "staff");
	s = svc(f, "d");
	assert_string_equal(s->user, "65534");
	assert_null(s->group);
	assert_false(conf_service_has(s, A_GROUP));
}

static void
test_user_errors(void **state)
{
	struct fx *f = *state;

	parse(f,
	    "a stream tcp nowait nobody/staff /bin/a a\n"
	    "a stream tcp nowait root:wheel/daemon /bin/a a\n"
	    "a stream tcp nowait :wheel /bin/a a\n"
	    "a stream tcp nowait root. /bin/a a\n");
	expect_diag(f, 4,
	    "inetd.conf:1: user: login classes are not supported by porter; remove "
	    "\"/staff\" from \"nobody/staff\"",
	    "inetd.conf:2: user: login classes are not supported by porter; remove "
	    "\"/daemon\" from \"root:wheel/daemon\"",
	    "inetd.conf:3: user: expected USER, USER:GROUP or USER.GROUP, not \":wheel\"",
	    "inetd.conf:4: user: expected USER, USER:GROUP or USER.GROUP, not \"root.\"");
	assert_int_equal(f->cf->nsvc, 0);
}

/* ------------------------------------------------------------ errors */

static void
test_protocol_errors(void **state)
{
	struct fx *f = *state;

	parse(f,
	    "rstatd/1-3 dgram rpc/udp wait root /usr/sbin/rpc.rstatd rpc.rstatd\n"
	    "/var/run/x.sock stream unix nowait root /bin/x x\n"
	    "a stream sctp nowait root /bin/a a\n"
	    "a stream tcp,rcvbuf=65536 nowait root /bin/a a\n"
	    "a stream TCP nowait root /bin/a a\n");
	expect_diag(f, 5,
	    "inetd.conf:1: RPC services are not supported by porter; run the RPC server as "
	    "a standalone daemon registered with rpcbind",
	    "inetd.conf:2: unix-domain services are not supported by porter",
	    "inetd.conf:3: protocol: expected tcp, udp, tcp4, udp4, tcp6, udp6, tcp46 or "
	    "udp46, not \"sctp\"",
	    "inetd.conf:4: protocol: socket buffer options (\"tcp,rcvbuf=65536\") are not "
	    "supported by porter; write the protocol alone",
	    "inetd.conf:5: protocol: expected tcp, udp, tcp4, udp4, tcp6, udp6, tcp46 or "
	    "udp46, not \"TCP\"");
	assert_int_equal(f->d.errors, 5);
	assert_int_equal(f->cf->nsvc, 0);
}

static void
test_socktype_errors(void **state)
{
	struct fx *f = *state;

	parse(f,
	    "a stream udp nowait root /bin/a a\n"
	    "a dgram tcp6 wait root /bin/a a\n"
	    "a raw tcp nowait root /bin/a a\n"
	    "a seqpacket tcp nowait root /bin/a a\n"
	    "a rdm udp wait root /bin/a a\n"
	    "a streams tcp nowait root /bin/a a\n"
	    "b stream tcp nowait root /bin/b b\n");
	expect_diag(f, 6,
	    "inetd.conf:1: protocol udp does not go with socket type stream; use tcp, tcp4, "
	    "tcp6 or tcp46",
	    "inetd.conf:2: protocol tcp6 does not go with socket type dgram; use udp, udp4, "
	    "udp6 or udp46",
	    "inetd.conf:3: socket type raw is not supported by porter (stream or dgram)",
	    "inetd.conf:4: socket type seqpacket is not supported by porter (stream or dgram)",
	    "inetd.conf:5: socket type rdm is not supported by porter (stream or dgram)",
	    "inetd.conf:6: socket type: expected stream or dgram, not \"streams\"");
	/* The good line after the bad ones is read. */
	assert_int_equal(f->cf->nsvc, 1);
	assert_int_equal(svc(f, "b")->loc.line, 7);
}

static void
test_too_few_fields(void **state)
{
	struct fx *f = *state;

	parse(f,
	    "echo stream tcp nowait root\n"
	    "echo\n"
	    "127.0.0.1: echo stream tcp nowait root\n");
	expect_diag(f, 3,
	    "inetd.conf:1: expected SERVICE SOCKTYPE PROTO WAIT USER SERVER [ARGV0 ARGS...]",
	    "inetd.conf:2: expected SERVICE SOCKTYPE PROTO WAIT USER SERVER [ARGV0 ARGS...]",
	    "inetd.conf:3: expected SERVICE SOCKTYPE PROTO WAIT USER SERVER [ARGV0 ARGS...]");
	assert_int_equal(f->cf->nsvc, 0);
}

static void
test_server_errors(void **state)
{
	struct fx *f = *state;

	parse(f,
	    "finger stream tcp nowait nobody in.fingerd in.fingerd\n"
	    "finger stream tcp nowait nobody Internal\n");
	expect_diag(f, 2,
	    "inetd.conf:1: server: expected an absolute path or internal, not \"in.fingerd\"",
	    "inetd.conf:2: server: expected an absolute path or internal, not \"Internal\"");
	assert_int_equal(f->cf->nsvc, 0);
}

/* Both inetds run a server written without argv0 under its file name. */
static void
test_server_without_argv0(void **state)
{
	struct fx *f = *state;
	struct service_config *s;

	parse(f,
	    "finger stream tcp nowait nobody /usr/sbin/in.fingerd\n"
	    "1234 stream tcp nowait nobody /\n");
	parse_in(f, INETD_INETUTILS, "daytime stream tcp nowait nobody /bin/date\n");
	expect_diag(f, 0);
	s = svc(f, "finger");
	assert_string_equal(s->server, "/usr/sbin/in.fingerd");
	assert_int_equal(s->server_args.n, 1);
	assert_string_equal(s->server_args.v[0], "in.fingerd");
	assert_true(owns(s, A_SERVER_ARGS));
	assert_int_equal(s->flags & F_NAMEINARGS, F_NAMEINARGS);
	s = svc(f, "1234");
	assert_int_equal(s->server_args.n, 1);
	assert_string_equal(s->server_args.v[0], "/");
	s = svc(f, "daytime");
	assert_int_equal(s->server_args.n, 1);
	assert_string_equal(s->server_args.v[0], "date");
}

static void
test_every_error_of_a_line(void **state)
{
	struct fx *f = *state;

	parse(f, "99999 raw rpc/tcp maybe a/b relative\n");
	expect_diag(f, 6,
	    "inetd.conf:1: service: port 99999 is out of range; expected 1 to 65535 or a "
	    "service name",
	    "inetd.conf:1: socket type raw is not supported by porter (stream or dgram)",
	    "inetd.conf:1: RPC services are not supported by porter; run the RPC server as "
	    "a standalone daemon registered with rpcbind",
	    "inetd.conf:1: wait: expected wait or nowait, not \"maybe\"",
	    "inetd.conf:1: user: login classes are not supported by porter; remove \"/b\" "
	    "from \"a/b\"",
	    "inetd.conf:1: server: expected an absolute path or internal, not \"relative\"");
	assert_int_equal(f->d.errors, 6);
	assert_int_equal(f->cf->nsvc, 0);
}

static void
test_comments(void **state)
{
	struct fx *f = *state;
	struct service_config *s;

	parse(f,
	    "# echo stream tcp nowait root internal\n"
	    "   \t# indented comment\n"
	    "\n"
	    " \t \n"
	    "#echo\n"
	    "finger stream tcp nowait nobody /usr/sbin/in.fingerd in.fingerd -w # no\n"
	    "echo stream tcp nowait root internal\r\n"
	    "daytime stream tcp nowait root internal");
	expect_diag(f, 0);
	assert_int_equal(f->cf->nsvc, 3);
	s = svc(f, "finger");
	assert_int_equal(s->loc.line, 6);
	/* A '#' that starts a word starts a comment, as in porter.conf, so
	 * that the canonical dump can say every argument. */
	assert_int_equal(s->server_args.n, 2);
	assert_string_equal(s->server_args.v[1], "-w");
	assert_int_equal(svc(f, "echo-stream")->loc.line, 7);
	assert_int_equal(svc(f, "daytime-stream")->loc.line, 8);
}

static void
test_nul_byte(void **state)
{
	struct fx *f = *state;
	static const char text[] = "echo stream tcp nowait root internal\n"
	                           "ab\0c\n"
	                           "daytime stream tcp nowait root internal\n";

	conf_inetd_buffer(f->cf, "inetd.conf", text, sizeof(text) - 1, INETD_OPENBSD, &f->d);
	expect_diag(f, 1,
	    "inetd.conf:2: the file contains a NUL byte; is it a configuration file?");
	assert_int_equal(f->cf->nsvc, 1);
}

/* inetutils-inetd: tcp is IPv4 only, tcp6 takes IPv4 clients as well,
 * tcp6only is IPv6 only. */
static void
test_protocol_families_inetutils(void **state)
{
	struct fx *f = *state;
	struct service_config *s;

	parse_in(f, INETD_INETUTILS,
	    "a stream tcp nowait root /bin/a a\n"
	    "b dgram udp wait root /bin/b b\n"
	    "c stream tcp4 nowait root /bin/c c\n"
	    "d dgram udp4 wait root /bin/d d\n"
	    "e stream tcp6 nowait root /bin/e e\n"
	    "g dgram udp6 wait root /bin/g g\n"
	    "h stream tcp6only nowait root /bin/h h\n"
	    "i dgram udp6only wait root /bin/i i\n");
	expect_diag(f, 0);
	assert_int_equal(f->cf->nsvc, 8);

	s = svc(f, "a");
	assert_int_equal(s->protocol, IPPROTO_TCP);
	assert_int_equal(s->flags & (F_IPV4 | F_IPV6), F_IPV4);
	assert_false(conf_service_has(s, A_V6ONLY));
	s = svc(f, "b");
	assert_int_equal(s->protocol, IPPROTO_UDP);
	assert_int_equal(s->flags & (F_IPV4 | F_IPV6), F_IPV4);
	assert_int_equal(svc(f, "c")->flags & (F_IPV4 | F_IPV6), F_IPV4);
	assert_int_equal(svc(f, "d")->flags & (F_IPV4 | F_IPV6), F_IPV4);

	/* Dual stack, as a service without flags. */
	s = svc(f, "e");
	assert_int_equal(s->protocol, IPPROTO_TCP);
	assert_int_equal(s->flags & (F_IPV4 | F_IPV6), 0);
	assert_false(s->v6only);
	assert_false(conf_service_has(s, A_V6ONLY));
	s = svc(f, "g");
	assert_int_equal(s->protocol, IPPROTO_UDP);
	assert_int_equal(s->flags & (F_IPV4 | F_IPV6), 0);

	s = svc(f, "h");
	assert_int_equal(s->protocol, IPPROTO_TCP);
	assert_int_equal(s->flags & (F_IPV4 | F_IPV6), F_IPV6);
	assert_true(s->v6only);
	assert_true(owns(s, A_V6ONLY));
	s = svc(f, "i");
	assert_int_equal(s->protocol, IPPROTO_UDP);
	assert_int_equal(s->flags & (F_IPV4 | F_IPV6), F_IPV6);
	assert_true(s->v6only);
}

/* A word of one dialect read in the other is an error that says which
 * dialect has it and what to write instead. */
static void
test_protocol_of_the_other_dialect(void **state)
{
	struct fx *f = *state;

	parse(f,
	    "a stream tcp6only nowait root /bin/a a\n"
	    "b dgram udp6only wait root /bin/b b\n");
	parse_in(f, INETD_INETUTILS,
	    "c stream tcp46 nowait root /bin/c c\n"
	    "d dgram udp46 wait root /bin/d d\n"
	    "e stream sctp nowait root /bin/e e\n"
	    "g dgram tcp6only wait root /bin/g g\n"
	    "h stream udp6 nowait root /bin/h h\n");
	expect_diag(f, 7,
	    "inetd.conf:1: protocol: tcp6only is inetutils-inetd's; write tcp6, which is IPv6 "
	    "only in the openbsd dialect, or read the file with -inetd_dialect inetutils",
	    "inetd.conf:2: protocol: udp6only is inetutils-inetd's; write udp6, which is IPv6 "
	    "only in the openbsd dialect, or read the file with -inetd_dialect inetutils",
	    "inetd.conf:1: protocol: inetutils-inetd reads tcp46 as tcp4, IPv4 only; write "
	    "tcp4 for IPv4 only or tcp6 for IPv4 and IPv6, or read the file with "
	    "-inetd_dialect openbsd",
	    "inetd.conf:2: protocol: inetutils-inetd reads udp46 as udp4, IPv4 only; write "
	    "udp4 for IPv4 only or udp6 for IPv4 and IPv6, or read the file with "
	    "-inetd_dialect openbsd",
	    "inetd.conf:3: protocol: expected tcp, udp, tcp4, udp4, tcp6, udp6, tcp6only or "
	    "udp6only, not \"sctp\"",
	    "inetd.conf:4: protocol tcp6only does not go with socket type dgram; use udp, "
	    "udp4, udp6 or udp6only",
	    "inetd.conf:5: protocol udp6 does not go with socket type stream; use tcp, tcp4, "
	    "tcp6 or tcp6only");
	assert_int_equal(f->cf->nsvc, 0);
}

static void
test_dialect_names(void **state)
{
	enum inetd_dialect d = INETD_INETUTILS;

	(void)state;
	assert_true(conf_inetd_dialect("openbsd", &d));
	assert_int_equal(d, INETD_OPENBSD);
	assert_true(conf_inetd_dialect("inetutils", &d));
	assert_int_equal(d, INETD_INETUTILS);
	assert_false(conf_inetd_dialect("OpenBSD", &d));
	assert_false(conf_inetd_dialect("freebsd", &d));
	assert_false(conf_inetd_dialect("", &d));
	assert_int_equal(d, INETD_INETUTILS);
}

/* ------------------------------------------------------------ lines */

/* openbsd-inetd reads a line that starts with a blank or a tab as more
 * words of the entry above it. */
static void
test_continuation_openbsd(void **state)
{
	struct fx *f = *state;
	struct service_config *s;

	parse(f,
	    "ftp stream tcp nowait root /usr/sbin/ftpd ftpd\n"
	    "\t-l -a\n"
	    "  \n"
	    "    -S # a comment ends this line only\n"
	    " # so does this one\n"
	    "\t-A\n"
	    "telnet stream\n"
	    "\ttcp nowait root /usr/sbin/telnetd telnetd\n"
	    "127.0.0.1:\n"
	    "\tdaytime stream tcp nowait root internal\n"
	    "# a comment in the first column ends the entry\n"
	    "\ttime stream tcp nowait root internal\n"
	    "\n"
	    "  echo stream tcp nowait root internal\n");
	expect_diag(f, 0);
	assert_int_equal(f->cf->nsvc, 5);
	s = svc(f, "ftp");
	assert_int_equal(s->loc.line, 1);
	assert_int_equal(s->server_args.n, 5);
	assert_string_equal(s->server_args.v[0], "ftpd");
	assert_string_equal(s->server_args.v[1], "-l");
	assert_string_equal(s->server_args.v[2], "-a");
	assert_string_equal(s->server_args.v[3], "-S");
	assert_string_equal(s->server_args.v[4], "-A");
	s = svc(f, "telnet");
	assert_int_equal(s->loc.line, 7);
	assert_int_equal(s->protocol, IPPROTO_TCP);
	assert_string_equal(s->server, "/usr/sbin/telnetd");
	/* "host:" continued is "host: service ...", not a default address. */
	s = svc(f, "daytime-stream");
	assert_int_equal(s->loc.line, 9);
	assert_string_equal(s->bind, "127.0.0.1");
	/* After a comment or an empty line, an indented line starts an entry. */
	s = svc(f, "time-stream");
	assert_int_equal(s->loc.line, 12);
	assert_null(s->bind);
	assert_int_equal(svc(f, "echo-stream")->loc.line, 14);
}

/* An indented entry of its own after a whole entry is most likely not meant
 * as more arguments: it is read as openbsd-inetd reads it, with a warning. */
static void
test_continuation_warning(void **state)
{
	struct fx *f = *state;
	struct service_config *s;

	parse(f,
	    "finger stream tcp nowait nobody /usr/sbin/in.fingerd in.fingerd\n"
	    "  echo stream tcp nowait root internal\n"
	    "daytime stream tcp nowait root internal\n"
	    "\techo dgram udp wait root internal\n");
	expect_diag(f, 2,
	    "inetd.conf:2: warning: this line starts with a blank, so it continues the entry of "
	    "line 1, as in openbsd-inetd; remove the leading blanks if it is an entry of its own",
	    "inetd.conf:4: warning: this line starts with a blank, so it continues the entry of "
	    "line 3, as in openbsd-inetd; remove the leading blanks if it is an entry of its own");
	assert_int_equal(f->d.errors, 0);
	assert_int_equal(f->cf->nsvc, 2);
	s = svc(f, "finger");
	assert_int_equal(s->server_args.n, 7);
	assert_string_equal(s->server_args.v[1], "echo");
	assert_null(conf_find_id(f->cf, "echo-stream"));
	assert_null(conf_find_id(f->cf, "echo-dgram"));
}

/* inetutils-inetd has no continuation: every line is read alone. */
static void
test_no_continuation_inetutils(void **state)
{
	struct fx *f = *state;

	parse_in(f, INETD_INETUTILS,
	    "finger stream tcp nowait nobody /usr/sbin/in.fingerd in.fingerd\n"
	    "  echo stream tcp nowait root internal\n"
	    "\t-l\n");
	expect_diag(f, 1,
	    "inetd.conf:3: expected SERVICE SOCKTYPE PROTO WAIT USER SERVER [ARGV0 ARGS...]");
	assert_int_equal(f->cf->nsvc, 2);
	assert_int_equal(svc(f, "finger")->server_args.n, 1);
	assert_int_equal(svc(f, "echo-stream")->loc.line, 2);
}

/* ------------------------------------------------------------ tcpmux */

static void
test_tcpmux_entries(void **state)
{
	struct fx *f = *state;
	struct service_config *s;

	parse(f,
	    "tcpmux/+date stream tcp nowait nobody /bin/date date -u\n"
	    "tcpmux/phonebook stream tcp6 nowait.5 guest:users /usr/local/bin/pb pb\n"
	    "127.0.0.1:\n"
	    "tcpmux/+Upper stream tcp46 nowait root /usr/bin/tr tr a-z A-Z\n");
	expect_diag(f, 0);
	assert_int_equal(f->cf->nsvc, 4);

	s = svc(f, "date");
	assert_string_equal(s->name, "date");
	assert_int_equal(s->type, T_TCPMUXPLUS);
	assert_true(owns(s, A_TYPE));
	assert_int_equal(s->socket_type, SOCK_STREAM);
	assert_int_equal(s->protocol, IPPROTO_TCP);
	assert_int_equal(s->wait, 0);
	assert_string_equal(s->user, "nobody");
	assert_string_equal(s->server, "/bin/date");
	assert_int_equal(s->server_args.n, 2);
	assert_string_equal(s->server_args.v[0], "date");
	assert_int_equal(s->flags, F_NAMEINARGS | F_REUSE | F_NOLIBWRAP);
	assert_true(s->groups);
	/* No socket of its own: no port, address or family. */
	assert_int_equal(s->port, -1);
	assert_false(conf_service_has(s, A_PORT));
	assert_false(conf_service_has(s, A_V6ONLY));
	assert_null(s->bind);

	s = svc(f, "phonebook");
	assert_int_equal(s->type, T_TCPMUX);
	assert_int_equal(s->flags & (F_IPV4 | F_IPV6), 0);
	assert_false(s->v6only);
	assert_false(conf_service_has(s, A_V6ONLY));
	assert_int_equal(s->instances, 5);
	assert_string_equal(s->group, "users");

	/* A default address does not reach it either; names keep their case. */
	s = svc(f, "Upper");
	assert_int_equal(s->type, T_TCPMUXPLUS);
	assert_null(s->bind);
	assert_false(conf_service_has(s, A_BIND));
}

/* Like inetutils-inetd, a file with tcpmux entries and no line for the
 * tcpmux built-in gets one, on every address, counted at the first entry. */
static void
test_tcpmux_listener_added(void **state)
{
	struct fx *f = *state;
	struct service_config *s;

	parse_in(f, INETD_INETUTILS,
	    "echo stream tcp nowait root internal\n"
	    "127.0.0.1:\n"
	    "tcpmux/+date stream tcp nowait nobody /bin/date date\n"
	    "tcpmux/phonebook stream tcp nowait guest /usr/local/bin/pb pb\n");
	expect_diag(f, 0);
	assert_int_equal(f->cf->nsvc, 4);
	s = svc(f, "tcpmux-stream");
	assert_string_equal(s->name, "tcpmux");
	assert_int_equal(s->loc.line, 3);
	assert_true(s->from_inetd);
	assert_int_equal(s->type, T_INTERNAL);
	assert_true(owns(s, A_TYPE));
	assert_int_equal(s->socket_type, SOCK_STREAM);
	assert_int_equal(s->protocol, IPPROTO_TCP);
	assert_int_equal(s->wait, 0);
	assert_int_equal(s->flags, F_REUSE | F_NOLIBWRAP);
	assert_null(s->bind);
	assert_int_equal(s->port, -1);
	assert_false(conf_service_has(s, A_USER));
	/* After the entries of the file. */
	assert_ptr_equal(f->cf->svc[3], s);
}

static void
test_tcpmux_listener_written(void **state)
{
	struct fx *f = *state;
	struct service_config *s;

	/* The file's own line for the built-in, wherever it is, serves. */
	parse(f,
	    "tcpmux/+date stream tcp nowait nobody /bin/date date\n"
	    "127.0.0.1:tcpmux stream tcp nowait root internal\n");
	expect_diag(f, 0);
	assert_int_equal(f->cf->nsvc, 2);
	s = svc(f, "tcpmux-stream");
	assert_int_equal(s->loc.line, 2);
	assert_string_equal(s->bind, "127.0.0.1");
}

static void
test_tcpmux_listener_of_an_earlier_file(void **state)
{
	struct fx *f = *state;
	const char *xfile = conf_intern(f->cf, "/etc/porter.conf");
	struct service_config *x;

	/* porter.conf's tcpmux, on a port of its choosing, serves the entries. */
	x = conf_service_new("tcpmux", (struct loc){ xfile, 4 });
	x->type = T_INTERNAL | T_UNLISTED;
	conf_add_service(f->cf, x);
	parse(f, "tcpmux/+date stream tcp nowait nobody /bin/date date\n");
	expect_diag(f, 0);
	assert_int_equal(f->cf->nsvc, 2);
	assert_null(conf_find_id(f->cf, "tcpmux-stream"));

	/* One with disable = yes does not. */
	x->disable = true;
	parse(f, "tcpmux/+time stream tcp nowait nobody /bin/date date\n");
	expect_diag(f, 0);
	assert_int_equal(f->cf->nsvc, 4);
	assert_int_equal(svc(f, "tcpmux-stream")->loc.line, 1);
}

static void
test_tcpmux_errors(void **state)
{
	struct fx *f = *state;

	parse(f,
	    "tcpmux/ stream tcp nowait nobody /bin/date date\n"
	    "tcpmux/+ stream tcp nowait nobody /bin/date date\n"
	    "tcpmux/HELP stream tcp nowait nobody /bin/date date\n"
	    "tcpmux/a dgram udp wait nobody /bin/date date\n"
	    "tcpmux/b stream udp nowait nobody /bin/date date\n"
	    "tcpmux/c stream tcp wait nobody /bin/date date\n"
	    "tcpmux/+echo stream tcp nowait root internal\n"
	    "127.0.0.1:tcpmux/d stream tcp nowait nobody /bin/date date\n"
	    "[::1]: tcpmux/+e stream tcp nowait nobody /bin/date date\n"
	    "tcpmux/f stream tcp6only nowait nobody /bin/date date\n");
	expect_diag(f, 11,
	    "inetd.conf:1: service: expected tcpmux/NAME or tcpmux/+NAME, not \"tcpmux/\"",
	    "inetd.conf:2: service: expected tcpmux/NAME or tcpmux/+NAME, not \"tcpmux/+\"",
	    "inetd.conf:3: service: tcpmux/HELP: tcpmux answers help itself with the list of "
	    "its services; choose another name",
	    "inetd.conf:4: tcpmux/a: tcpmux services are stream services over TCP; write "
	    "stream tcp",
	    "inetd.conf:4: wait: tcpmux/a needs nowait: a server is started for each client "
	    "that names it",
	    "inetd.conf:5: tcpmux/b: tcpmux services are stream services over TCP; write "
	    "stream tcp",
	    "inetd.conf:6: wait: tcpmux/c needs nowait: a server is started for each client "
	    "that names it",
	    "inetd.conf:7: server: tcpmux/+echo cannot be internal; give the path of its "
	    "server and argv0",
	    "inetd.conf:8: host: tcpmux/d has no socket of its own, so it takes no address; "
	    "put the address on a line for the tcpmux built-in instead "
	    "(ADDRESS:tcpmux stream tcp nowait root internal)",
	    "inetd.conf:9: host: tcpmux/+e has no socket of its own, so it takes no address; "
	    "put the address on a line for the tcpmux built-in instead "
	    "(ADDRESS:tcpmux stream tcp nowait root internal)",
	    "inetd.conf:10: protocol: tcp6only is inetutils-inetd's; write tcp6, which is IPv6 "
	    "only in the openbsd dialect, or read the file with -inetd_dialect inetutils");
	/* Without a good entry, no built-in is added either. */
	assert_int_equal(f->cf->nsvc, 0);
}

static void
test_tcpmux_duplicates(void **state)
{
	struct fx *f = *state;
	const char *xfile = conf_intern(f->cf, "/etc/xinetd.d/mux");
	struct service_config *x;

	x = conf_service_new("Phonebook", (struct loc){ xfile, 2 });
	x->type = T_TCPMUX;
	conf_add_service(f->cf, x);
	parse(f,
	    "tcpmux/+date stream tcp nowait nobody /bin/date date\n"
	    "tcpmux/DATE stream tcp nowait nobody /bin/date date\n"
	    "tcpmux/phonebook stream tcp nowait nobody /bin/pb pb\n"
	    "date stream tcp nowait nobody /bin/date date\n");
	expect_diag(f, 2,
	    "inetd.conf:2: service: tcpmux/DATE: tcpmux service date is already defined at "
	    "line 1 (tcpmux names are compared regardless of case)",
	    "inetd.conf:3: warning: tcpmux service phonebook is already defined at "
	    "/etc/xinetd.d/mux:2; this line is ignored");
	assert_int_equal(f->d.errors, 1);
	/* An ordinary service of the same name is another service. */
	assert_int_equal(svc(f, "date")->type, T_TCPMUXPLUS);
	assert_int_equal(svc(f, "date-tcp")->type, 0);
	assert_int_equal(svc(f, "date-tcp")->loc.line, 4);
}

/* ------------------------------------------------------------ ids */

static void
test_duplicate_ids(void **state)
{
	struct fx *f = *state;

	parse(f,
	    "time stream tcp nowait root /usr/bin/t t\n"
	    "time dgram udp wait root /usr/bin/t t\n"
	    "time stream tcp6 nowait root /usr/bin/t t\n"
	    "10.0.0.1:time stream tcp6 nowait root /usr/bin/t t\n"
	    "echo stream tcp4 nowait root internal\n"
	    "echo stream tcp6 nowait root internal\n");
	expect_diag(f, 0);
	assert_int_equal(f->cf->nsvc, 6);
	assert_int_equal(svc(f, "time")->protocol, IPPROTO_TCP);
	assert_int_equal(svc(f, "time")->loc.line, 1);
	assert_int_equal(svc(f, "time-udp")->loc.line, 2);
	assert_int_equal(svc(f, "time-tcp6")->loc.line, 3);
	assert_int_equal(svc(f, "time-tcp6-2")->loc.line, 4);
	assert_string_equal(svc(f, "time-tcp6-2")->bind, "10.0.0.1");
	assert_int_equal(svc(f, "echo-stream")->loc.line, 5);
	assert_int_equal(svc(f, "echo-tcp6")->loc.line, 6);
	assert_true(owns(svc(f, "time-udp"), A_ID));
	assert_string_equal(svc(f, "time-udp")->name, "time");
}

static void
test_id_defined_earlier(void **state)
{
	struct fx *f = *state;
	const char *xfile = conf_intern(f->cf, "/etc/xinetd.d/echo");
	struct service_config *x;

	/* As if xinetd.d had been read first: echo-stream by id, ftp by name
	 * (id is still NULL before conf_finish), time-udp by id. */
	x = conf_service_new("echo", (struct loc){ xfile, 3 });
	x->id = mem_strdup("echo-stream");
	conf_add_service(f->cf, x);
	conf_add_service(f->cf, conf_service_new("ftp", (struct loc){ xfile, 12 }));
	x = conf_service_new("time", (struct loc){ xfile, 20 });
	x->id = mem_strdup("time-udp");
	conf_add_service(f->cf, x);

	parse(f,
	    "echo stream tcp nowait root internal\n"
	    "echo dgram udp wait root internal\n"
	    "ftp stream tcp nowait root /usr/sbin/in.ftpd in.ftpd\n"
	    "time stream tcp nowait root internal\n"
	    "time stream tcp nowait root /usr/bin/t t\n"
	    "time dgram udp wait root /usr/bin/t t\n");
	expect_diag(f, 3,
	    "inetd.conf:1: warning: echo-stream is already defined at /etc/xinetd.d/echo:3; "
	    "this line is ignored",
	    "inetd.conf:3: warning: ftp is already defined at /etc/xinetd.d/echo:12; this "
	    "line is ignored",
	    "inetd.conf:6: warning: time-udp is already defined at /etc/xinetd.d/echo:20; "
	    "this line is ignored");
	assert_int_equal(f->d.errors, 0);
	assert_int_equal(f->d.warnings, 3);
	assert_int_equal(f->cf->nsvc, 6);
	assert_false(svc(f, "echo-stream")->from_inetd);
	assert_true(svc(f, "echo-dgram")->from_inetd);
	assert_false(conf_find_id(f->cf, "ftp")->from_inetd);
	assert_true(svc(f, "time-stream")->from_inetd);
	assert_true(svc(f, "time")->from_inetd);
	assert_false(svc(f, "time-udp")->from_inetd);
}

/* ------------------------------------------------------------ files */

static void
test_file(void **state)
{
	struct fx *f = *state;
	char path[] = "/tmp/test_inetd.XXXXXX";
	static const char text[] = "echo stream tcp nowait root internal\n"
	                           "bogus\n";
	int fd = mkstemp(path);
	struct service_config *s;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)(sizeof(text) - 1));
	close(fd);
	assert_true(conf_inetd_file(f->cf, path, INETD_OPENBSD, &f->d));
	unlink(path);
	assert_int_equal(f->cf->nsvc, 1);
	s = svc(f, "echo-stream");
	assert_string_equal(s->loc.file, path);
	assert_int_equal(f->d.lines.n, 1);
	assert_non_null(strstr(f->d.lines.v[0], ":2: expected SERVICE SOCKTYPE"));
	assert_memory_equal(f->d.lines.v[0], path, strlen(path));
}

static void
test_file_missing(void **state)
{
	struct fx *f = *state;

	assert_false(conf_inetd_file(f->cf, "/nonexistent/inetd.conf", INETD_OPENBSD, &f->d));
	expect_diag(f, 1, "/nonexistent/inetd.conf: No such file or directory");
	assert_false(conf_inetd_file(f->cf, "/tmp", INETD_INETUTILS, &f->d));
	assert_string_equal(f->d.lines.v[1], "/tmp: not a regular file of at most 16 MiB");
	assert_int_equal(f->d.errors, 2);
	assert_int_equal(f->cf->nsvc, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, fx_setup, fx_teardown)
		T(test_tcp_nowait_external),
		T(test_internal_ids),
		T(test_udp_wait),
		T(test_protocol_families),
		T(test_protocol_families_inetutils),
		T(test_protocol_of_the_other_dialect),
		T(test_dialect_names),
		T(test_host_prefix),
		T(test_default_host),
		T(test_host_errors),
		T(test_numeric_service),
		T(test_wait_max),
		T(test_wait_freebsd),
		T(test_wait_errors),
		T(test_user_group),
		T(test_user_errors),
		T(test_protocol_errors),
		T(test_socktype_errors),
		T(test_too_few_fields),
		T(test_server_errors),
		T(test_server_without_argv0),
		T(test_every_error_of_a_line),
		T(test_comments),
		T(test_nul_byte),
		T(test_continuation_openbsd),
		T(test_continuation_warning),
		T(test_no_continuation_inetutils),
		T(test_tcpmux_entries),
		T(test_tcpmux_listener_added),
		T(test_tcpmux_listener_written),
		T(test_tcpmux_listener_of_an_earlier_file),
		T(test_tcpmux_errors),
		T(test_tcpmux_duplicates),
		T(test_duplicate_ids),
		T(test_id_defined_earlier),
		T(test_file),
		T(test_file_missing),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
