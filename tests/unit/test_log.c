/*
 * test_log.c: unit tests for the rendering of per-service lines in log.c.
 * The lines keep xinetd's text formats and porter's JSON members exactly;
 * whatever a peer sends and whatever the buffer's size, the renderer writes
 * nothing past the buffer, escapes what must be, and a cut line says so and
 * stays valid JSON. The name porterd logs under must be one that log
 * parsers can take apart.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include <cmocka.h>

#include "porterd.h"

/* 2026-11-29T12:40:39.160Z */
static const struct timespec now = { 1795956039, 160000000 };

static struct service_config conf;
static struct svc svc = { .conf = &conf };
static struct peer peer;

static int
setup(void **state)
{
	(void)state;
	memset(&conf, 0, sizeof(conf));
	conf.id = "finger";
	memset(&peer, 0, sizeof(peer));
	peer.sa.sin.sin_family = AF_INET;
	inet_pton(AF_INET, "192.0.2.7", &peer.sa.sin.sin_addr);
	peer.len = sizeof(peer.sa.sin);
	return 0;
}

static const char *
render(enum log_event_kind kind, struct log_event ev, bool json)
{
	static char buf[4096];
	size_t n;

	ev.kind = kind;
	ev.svc = &svc;
	n = log_render(&ev, json, &now, buf, sizeof(buf));
	assert_int_equal(n, strlen(buf));
	return buf;
}

static const char *
text(enum log_event_kind kind, struct log_event ev)
{
	return render(kind, ev, false);
}

static const char *
json(enum log_event_kind kind, struct log_event ev)
{
	return render(kind, ev, true);
}

/* The JSON line of ev is the time, the event word, the service and then
 * members. */
static void
json_is(enum log_event_kind kind, struct log_event ev, const char *word, const char *members)
{
	char want[1024];

	snprintf(want, sizeof(want),
	    "{\"time\":\"2026-11-29T12:40:39.160Z\",\"event\":\"%s\",\"service\":\"finger\"%s}",
	    word, members);
	assert_string_equal(json(kind, ev), want);
}

/* ------------------------------------------------------- a JSON checker */

static bool
json_string(const char **sp)
{
	const char *s = *sp;

	if (*s++ != '"')
		return false;
	while (*s != '"') {
		unsigned char c = (unsigned char)*s++;

		/* The renderer writes ASCII only. */
		if (c < 0x20 || c >= 0x7f)
			return false;
		if (c != '\\')
			continue;
		if (*s == '"' || *s == '\\') {
			s++;
			continue;
		}
		if (*s++ != 'u')
			return false;
		for (int i = 0; i < 4; i++)
			if (!isxdigit((unsigned char)*s++))
				return false;
	}
	*sp = s + 1;
	return true;
}

/* Whether s is one JSON object whose members are strings, integers or true,
 * the only values the renderer writes; enough of RFC 8259 for them. */
static bool
json_object(const char *s)
{
	if (*s++ != '{')
		return false;
	for (;;) {
		if (!json_string(&s) || *s++ != ':')
			return false;
		if (*s == '"') {
			if (!json_string(&s))
				return false;
		} else if (strncmp(s, "true", 4) == 0) {
			s += 4;
		} else {
			s += *s == '-';
			if (!isdigit((unsigned char)*s))
				return false;
			while (isdigit((unsigned char)*s))
				s++;
		}
		if (*s != ',')
			break;
		s++;
	}
	return s[0] == '}' && s[1] == '\0';
}

/* ---------------------------------------------------------------- tests */

static void
test_start(void **state)
{
	struct log_event ev = { .pid = 10622, .peer = &peer };

	(void)state;
	conf.log_on_success = L_PID | L_HOST | L_EXIT | L_DURATION;
	assert_string_equal(text(LOGEV_START, ev), "START: finger pid=10622 from=192.0.2.7");
	json_is(LOGEV_START, ev, "START", ",\"pid\":10622,\"from\":\"192.0.2.7\"");
	conf.log_on_success = L_HOST;
	ev.peer = NULL;
	assert_string_equal(text(LOGEV_START, ev), "START: finger from=<no address>");
	conf.log_on_success = L_EXIT;
	assert_string_equal(text(LOGEV_START, ev), "START: finger");
	ev.id = "other";
	assert_string_equal(text(LOGEV_START, ev), "START: other");
}

static void
test_exit(void **state)
{
	struct log_event ev = { .pid = 10650, .duration = 300, .status = 3 << 8 };

	(void)state;
	conf.log_on_success = L_PID | L_EXIT | L_DURATION;
	assert_string_equal(text(LOGEV_EXIT, ev),
	    "EXIT: finger status=3 pid=10650 duration=300(sec)");
	ev.status = SIGKILL;
	ev.timeout = 300;
	assert_string_equal(text(LOGEV_EXIT, ev),
	    "EXIT: finger signal=9 pid=10650 duration=300(sec) timeout=300(sec)");
	json_is(LOGEV_EXIT, ev, "EXIT",
	    ",\"signal\":9,\"pid\":10650,\"duration\":300,\"timeout\":300");
	conf.log_on_success = L_DURATION;
	assert_string_equal(text(LOGEV_EXIT, ev),
	    "EXIT: finger duration=300(sec) timeout=300(sec)");

	/* A relay's. */
	conf.log_on_success = L_PID | L_EXIT | L_DURATION;
	ev = (struct log_event){ .duration = 3, .reason = "idle" };
	assert_string_equal(text(LOGEV_EXIT, ev),
	    "EXIT: finger status=0 pid=0 duration=3(sec) idle");
	json_is(LOGEV_EXIT, ev, "EXIT",
	    ",\"status\":0,\"pid\":0,\"duration\":3,\"reason\":\"idle\"");
}

static void
test_fail_traffic_userid_noid(void **state)
{
	struct log_event ev = { .peer = &peer, .reason = "connections per second" };

	(void)state;
	conf.log_on_failure = L_HOST;
	assert_string_equal(text(LOGEV_FAIL, ev),
	    "FAIL: finger connections per second from=192.0.2.7");
	/* JSON keeps the order of xinetd's fields, the reason last. */
	json_is(LOGEV_FAIL, ev, "FAIL",
	    ",\"from\":\"192.0.2.7\",\"reason\":\"connections per second\"");
	conf.log_on_failure = L_ATTEMPT;
	assert_string_equal(text(LOGEV_FAIL, ev), "FAIL: finger connections per second");

	ev = (struct log_event){ .bytes_in = 5, .bytes_out = 69 };
	assert_string_equal(text(LOGEV_TRAFFIC, ev), "TRAFFIC: finger in=5(bytes) out=69(bytes)");
	json_is(LOGEV_TRAFFIC, ev, "TRAFFIC", ",\"in\":5,\"out\":69");

	ev = (struct log_event){ .userid = "USERID : UNIX : alice" };
	assert_string_equal(text(LOGEV_USERID, ev), "USERID: finger USERID : UNIX : alice");
	json_is(LOGEV_USERID, ev, "USERID", ",\"text\":\"USERID : UNIX : alice\"");

	ev = (struct log_event){ .peer = &peer, .reason = "no server" };
	assert_string_equal(text(LOGEV_NOID, ev), "NOID: finger 192.0.2.7 no server");
	json_is(LOGEV_NOID, ev, "NOID", ",\"reason\":\"192.0.2.7 no server\"");
}

/* Every byte but NUL, as an ident server could send it. */
static void
all_bytes(char *s)
{
	for (int i = 1; i < 256; i++)
		s[i - 1] = (char)i;
	s[255] = '\0';
}

static void
test_peer_text_escaped(void **state)
{
	char userid[256], want[1024];
	const char *t;
	size_t n = 0;

	(void)state;
	all_bytes(userid);
	t = text(LOGEV_USERID, (struct log_event){ .userid = userid });
	for (int c = 1; c < 256; c++) {
		if (c < 0x20 || c >= 0x7f || c == '\\')
			n += (size_t)snprintf(want + n, sizeof(want) - n, "\\x%02x", c);
		else
			want[n++] = (char)c;
	}
	want[n] = '\0';
	assert_memory_equal(t, "USERID: finger ", strlen("USERID: finger "));
	assert_string_equal(t + strlen("USERID: finger "), want);

	t = json(LOGEV_USERID, (struct log_event){ .userid = userid });
	assert_true(json_object(t));
	assert_non_null(strstr(t, "\\u0001\\u0002"));
	assert_non_null(strstr(t, " !\\\"#"));
	assert_non_null(strstr(t, "[\\\\]"));
	assert_non_null(strstr(t, "~\\u007f\\u0080"));
	assert_non_null(strstr(t, "\\u00fe\\u00ff\"}"));
}

/* At every buffer size, with a long id or a peer's text of every byte,
 * nothing is written past the buffer, and a line cut short says so: text
 * with its marker, JSON with "cut":true, still one valid object. */
static void
test_cut_at_every_size(void **state)
{
	static const enum log_event_kind kinds[] = { LOGEV_START, LOGEV_FAIL, LOGEV_USERID };
	static char id[3000], userid[256], full[8192], buf[8192 + 64];
	struct log_event ev = { .svc = &svc, .pid = 1, .peer = &peer, .reason = "address" };

	(void)state;
	memset(id, 'x', sizeof(id) - 1);
	all_bytes(userid);
	conf.log_on_success = L_PID | L_HOST;
	conf.log_on_failure = L_HOST;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		for (int j = 0; j < 2; j++) {
			size_t whole;

			ev.kind = kinds[i];
			ev.id = ev.kind == LOGEV_START ? id : NULL;
			ev.userid = userid;
			whole = log_render(&ev, j, &now, full, sizeof(full));
			for (size_t len = 0; len < whole + 32; len++) {
				size_t n;

				memset(buf, '#', len + 64);
				n = log_render(&ev, j, &now, buf, len);
				for (size_t k = len; k < len + 64; k++)
					assert_int_equal(buf[k], '#');
				if (len == 0)
					continue;
				assert_int_equal(n, strlen(buf));
				assert_true(n < len);
				if (n == 0 || strcmp(buf, full) == 0)
					continue;
				/* Only a line that did not fit is cut. */
				assert_true(len <= whole + 16);
				if (j) {
					assert_true(json_object(buf));
					assert_string_equal(buf + n - 11, "\"cut\":true}");
				} else
					assert_string_equal(buf + n - 5, "[cut]");
			}
		}
	}
}

/* -syslog_ident: a syslog tag, which "name[pid]: " must frame unambiguously. */
static void
test_ident(void **state)
{
	static const char *const good[] = { "porterd", "xinetd", "a", "in.fingerd", "x-y_z.1/2",
		"12345678901234567890123456789012" };
	static const char *const bad[] = { "", "two words", "tab\there", "colon:", "br[acket",
		"br]acket", "nl\n", "del\x7f", "\xc3\xa9t\xc3\xa9",
		"123456789012345678901234567890123" };

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(log_ident_ok(good[i]));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(log_ident_ok(bad[i]));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_start, setup),
		cmocka_unit_test_setup(test_exit, setup),
		cmocka_unit_test_setup(test_fail_traffic_userid_noid, setup),
		cmocka_unit_test_setup(test_peer_text_escaped, setup),
		cmocka_unit_test_setup(test_cut_at_every_size, setup),
		cmocka_unit_test(test_ident),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
