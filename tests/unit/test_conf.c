/*
 * test_conf.c: unit tests of the configuration pipeline: the lexer
 * (conf_lex.c), the attribute table (conf_attr.c), the xinetd.conf grammar
 * (conf_parse.c), the defaults rules (conf.c), the semantic checks
 * (conf_check.c) and the canonical dump (conf_dump.c). Every diagnostic is checked by its exact text, because
 * `porterd -t` prints them as they are and users read them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "conf.h"

/* The name every test buffer is parsed under, as diagnostics show it. */
#define NAME "t.conf"

/* A service body that passes every check when the name is UNLISTED:
 * lines 3 to 8 of a service written with SVC(). */
#define BODY                                                              \
	"\tsocket_type = stream\n\twait = no\n\tuser = root\n"            \
	"\tserver = /bin/true\n"
#define UNL "\ttype = UNLISTED\n\tport = 5000\n"

/* A complete UNLISTED stream service on port P: lines 1 to 9, plus the
 * lines of EXTRA before the closing brace. */
#define SVC(N, P, EXTRA)                                                  \
	"service " N "\n{\n\ttype = UNLISTED\n\tport = " P "\n" BODY EXTRA "}\n"
/* The same for udp. */
#define SVC_UDP(N, P, EXTRA)                                              \
	"service " N "\n{\n\ttype = UNLISTED\n\tport = " P "\n"           \
	"\tsocket_type = dgram\n\twait = yes\n\tuser = root\n"            \
	"\tserver = /bin/true\n" EXTRA "}\n"

enum stage { PARSE, FINISH, CHECK };

/* Everything a test allocates, so teardown frees it even when an
 * assertion fails half-way. */
struct fx {
	struct config *cf, *cf2;
	struct diag d, d2;
	struct conf_lines ls;
	struct strv words;
	char *text;
	char *buf;
	char *dump1, *dump2;
	char tmp[64];
};

static int
fx_setup(void **state)
{
	*state = mem_calloc(1, sizeof(struct fx));
	return 0;
}

static int
fx_teardown(void **state)
{
	struct fx *f = *state;

	conf_free(f->cf);
	conf_free(f->cf2);
	diag_free(&f->d);
	diag_free(&f->d2);
	conf_lex_free(&f->ls);
	strv_clear(&f->words);
	free(f->text);
	free(f->buf);
	free(f->dump1);
	free(f->dump2);
	if (f->tmp[0] != '\0')
		unlink(f->tmp);
	free(f);
	return 0;
}

/* ------------------------------------------------------------ helpers */

/* Parses text into a fresh *cfp (freeing what was there) and runs the
 * pipeline up to stage. */
static struct config *
load_into(struct config **cfp, struct diag *d, const char *text, size_t len,
    enum stage st)
{
	static const struct conf_opts opts = { .no_includes = true };

	conf_free(*cfp);
	diag_free(d);
	*cfp = conf_new();
	conf_parse_buffer(*cfp, NAME, text, len, &opts, d);
	if (st >= FINISH)
		conf_finish(*cfp, d);
	if (st >= CHECK)
		conf_check(*cfp, d);
	return *cfp;
}

static struct config *
load(struct fx *f, const char *text, enum stage st)
{
	return load_into(&f->cf, &f->d, text, strlen(text), st);
}

/* Wraps body in "service NAME {" ... "}" (the body starts at line 3),
 * loads it and returns the one service. */
static struct service_config *
one_named(struct fx *f, const char *name, const char *body, enum stage st)
{
	free(f->text);
	f->text = mem_asprintf("service %s\n{\n%s}\n", name, body);
	load(f, f->text, st);
	if (f->cf->nsvc != 1) {
		diag_print(&f->d, stderr);
		fail_msg("expected one service, got %zu", f->cf->nsvc);
	}
	return f->cf->svc[0];
}

static struct service_config *
one(struct fx *f, const char *body, enum stage st)
{
	return one_named(f, "x", body, st);
}

/* The service entry called name; the test fails when there is none. */
static struct service_config *
find(const struct config *cf, const char *name)
{
	for (size_t i = 0; i < cf->nsvc; i++)
		if (strcmp(cf->svc[i]->name, name) == 0)
			return cf->svc[i];
	fail_msg("no service called %s", name);
	return NULL;
}

static bool
present(const struct config *cf, const char *name)
{
	for (size_t i = 0; i < cf->nsvc; i++)
		if (strcmp(cf->svc[i]->name, name) == 0)
			return true;
	return false;
}

/* Requires exactly the diagnostics want, in order, and counts that match
 * them; a failure is reported at the caller's line. */
static void
expect_diags(const struct diag *d, const char *const *want, size_t n, const char *file,
    int line)
{
	size_t warnings = 0;
	bool ok = d->lines.n == n;

	for (size_t i = 0; i < n; i++)
		warnings += strstr(want[i], ": warning: ") != NULL;
	for (size_t i = 0; ok && i < n; i++)
		ok = strcmp(d->lines.v[i], want[i]) == 0;
	if (!ok) {
		print_error("expected %zu diagnostics:\n", n);
		for (size_t i = 0; i < n; i++)
			print_error("    %s\n", want[i]);
		print_error("got %zu:\n", d->lines.n);
		for (size_t i = 0; i < d->lines.n; i++)
			print_error("    %s\n", d->lines.v[i]);
		_fail(file, line);
	}
	if (d->warnings != warnings || d->errors != n - warnings) {
		print_error("counted %zu errors and %zu warnings, expected %zu and %zu\n",
		    d->errors, d->warnings, n - warnings, warnings);
		_fail(file, line);
	}
}

#define EXPECT_DIAGS(d, ...)                                               \
	do {                                                               \
		const char *const want_[] = { __VA_ARGS__ };               \
		expect_diags((d), want_, sizeof(want_) / sizeof(want_[0]), \
		    __FILE__, __LINE__);                                   \
	} while (0)
#define EXPECT_CLEAN(d) expect_diags((d), NULL, 0, __FILE__, __LINE__)

static void
expect_line(const struct conf_lines *ls, size_t i, int lineno, const char *text)
{
	assert_true(i < ls->n);
	assert_string_equal(ls->v[i].loc.file, NAME);
	assert_int_equal(ls->v[i].loc.line, lineno);
	assert_string_equal(ls->v[i].text, text);
}

static bool
lex(struct fx *f, const char *buf, size_t len)
{
	conf_lex_free(&f->ls);
	diag_free(&f->d);
	return conf_lex(buf, len, NAME, &f->ls, &f->d);
}

/* The canonical text of an address list, rules separated by blanks. */
static const char *
addrs(const struct addrlist *l)
{
	static char out[1024];
	char one_rule[300];

	out[0] = '\0';
	for (size_t i = 0; i < l->n; i++) {
		access_format(&l->v[i], one_rule, sizeof(one_rule));
		if (i > 0)
			strncat(out, " ", sizeof(out) - strlen(out) - 1);
		strncat(out, one_rule, sizeof(out) - strlen(out) - 1);
	}
	return out;
}

/* The words of a string vector, separated by blanks. */
static const char *
words(const struct strv *sv)
{
	static char out[1024];

	out[0] = '\0';
	for (size_t i = 0; i < sv->n; i++) {
		if (i > 0)
			strncat(out, " ", sizeof(out) - strlen(out) - 1);
		strncat(out, sv->v[i], sizeof(out) - strlen(out) - 1);
	}
	return out;
}

static bool
own(const struct service_config *s, enum attr_id a)
{
	return attr_set_has(&s->own, a);
}

static char *
dump(const struct config *cf)
{
	char *out = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&out, &len);

	assert_non_null(fp);
	conf_dump(cf, fp);
	assert_int_equal(fclose(fp), 0);
	return out;
}

/* ------------------------------------------------------------ lexer */

static void
test_lex_comment_at_line_start(void **state)
{
	struct fx *f = *state;
	const char *t = "# a comment\nservice a\n#no blank needed\n  # indented\n\t#tab\nb\n";

	assert_true(lex(f, t, strlen(t)));
	EXPECT_CLEAN(&f->d);
	assert_int_equal(f->ls.n, 2);
	expect_line(&f->ls, 0, 2, "service a");
	expect_line(&f->ls, 1, 6, "b");
}

static void
test_lex_comment_after_blank(void **state)
{
	struct fx *f = *state;
	const char *t = "per_source = 10 # note\nuser = root\t#tab comment\nx = y\f#ff\n";

	assert_true(lex(f, t, strlen(t)));
	EXPECT_CLEAN(&f->d);
	assert_int_equal(f->ls.n, 3);
	expect_line(&f->ls, 0, 1, "per_source = 10");
	expect_line(&f->ls, 1, 2, "user = root");
	expect_line(&f->ls, 2, 3, "x = y");
}

static void
test_lex_hash_inside_token_is_literal(void **state)
{
	struct fx *f = *state;
	const char *t = "a#b c#d#\nenv = X=1#2 # gone\nend#\n";

	assert_true(lex(f, t, strlen(t)));
	EXPECT_CLEAN(&f->d);
	assert_int_equal(f->ls.n, 3);
	expect_line(&f->ls, 0, 1, "a#b c#d#");
	expect_line(&f->ls, 1, 2, "env = X=1#2");
	expect_line(&f->ls, 2, 3, "end#");
}

static void
test_lex_crlf(void **state)
{
	struct fx *f = *state;
	const char *t = "service a\r\n{\r\n\r\nuser = root # c\r\n}\r\n";

	assert_true(lex(f, t, strlen(t)));
	EXPECT_CLEAN(&f->d);
	assert_int_equal(f->ls.n, 4);
	expect_line(&f->ls, 0, 1, "service a");
	expect_line(&f->ls, 1, 2, "{");
	expect_line(&f->ls, 2, 4, "user = root");
	expect_line(&f->ls, 3, 5, "}");
}

static void
test_lex_blank_lines_keep_numbers(void **state)
{
	struct fx *f = *state;
	const char *t = "\n\n \t \nfirst\n\n\r\n\v\nsecond\n\n";

	assert_true(lex(f, t, strlen(t)));
	EXPECT_CLEAN(&f->d);
	assert_int_equal(f->ls.n, 2);
	expect_line(&f->ls, 0, 4, "first");
	expect_line(&f->ls, 1, 8, "second");
}

static void
test_lex_trims_blanks(void **state)
{
	struct fx *f = *state;
	const char *t = "   \t  user  =  root \t \n\t\tx\t\n";

	assert_true(lex(f, t, strlen(t)));
	EXPECT_CLEAN(&f->d);
	assert_int_equal(f->ls.n, 2);
	/* Inner blanks stay; only the ends are trimmed. */
	expect_line(&f->ls, 0, 1, "user  =  root");
	expect_line(&f->ls, 1, 2, "x");
}

static void
test_lex_nul_byte(void **state)
{
	struct fx *f = *state;
	static const char t[] = "service a\n{\nuser = ro\0ot\n}\n";
	static const char first[] = "\0abc\n";

	assert_false(lex(f, t, sizeof(t) - 1));
	EXPECT_DIAGS(&f->d, "t.conf:3: the file contains a NUL byte; is it a configuration file?");
	assert_int_equal(f->ls.n, 0);

	assert_false(lex(f, first, sizeof(first) - 1));
	EXPECT_DIAGS(&f->d, "t.conf:1: the file contains a NUL byte; is it a configuration file?");
	assert_int_equal(f->ls.n, 0);
}

static void
test_lex_nul_byte_through_parser(void **state)
{
	struct fx *f = *state;
	static const char t[] = "service a\n{\n\0\n}\n";

	load_into(&f->cf, &f->d, t, sizeof(t) - 1, FINISH);
	EXPECT_DIAGS(&f->d, "t.conf:3: the file contains a NUL byte; is it a configuration file?");
	assert_int_equal(f->cf->nsvc, 0);
}

static void
test_lex_last_line_without_newline(void **state)
{
	struct fx *f = *state;
	const char *t = "a\nb = c # x";

	assert_true(lex(f, t, strlen(t)));
	EXPECT_CLEAN(&f->d);
	assert_int_equal(f->ls.n, 2);
	expect_line(&f->ls, 0, 1, "a");
	expect_line(&f->ls, 1, 2, "b = c");

	/* The length is honoured: the text after len is not read. */
	assert_true(lex(f, "abc\ndef", 5));
	assert_int_equal(f->ls.n, 2);
	expect_line(&f->ls, 1, 2, "d");

	assert_true(lex(f, "", 0));
	assert_int_equal(f->ls.n, 0);
	EXPECT_CLEAN(&f->d);
}

static void
test_lex_long_line(void **state)
{
	struct fx *f = *state;
	size_t n = 65537;

	f->buf = mem_alloc(n + 32);
	memset(f->buf, 'x', n);
	memcpy(f->buf + n, "\nnext\n", 7);
	assert_true(lex(f, f->buf, strlen(f->buf)));
	EXPECT_DIAGS(&f->d, "t.conf:1: line longer than 65536 bytes");
	assert_int_equal(f->ls.n, 1);
	expect_line(&f->ls, 0, 2, "next");

	/* The same on the last line, without a newline. */
	memcpy(f->buf, "first\n", 6);
	memset(f->buf + 6, 'y', n);
	f->buf[6 + n] = '\0';
	assert_true(lex(f, f->buf, strlen(f->buf)));
	EXPECT_DIAGS(&f->d, "t.conf:2: line longer than 65536 bytes");
	assert_int_equal(f->ls.n, 1);
	expect_line(&f->ls, 0, 1, "first");
}

static void
test_lex_longest_line_accepted(void **state)
{
	struct fx *f = *state;
	size_t n = 65536;

	f->buf = mem_alloc(n + 2);
	memset(f->buf, 'z', n);
	f->buf[n] = '\n';
	f->buf[n + 1] = '\0';
	assert_true(lex(f, f->buf, n + 1));
	EXPECT_CLEAN(&f->d);
	assert_int_equal(f->ls.n, 1);
	assert_int_equal(strlen(f->ls.v[0].text), n);
}

static void
test_split(void **state)
{
	struct fx *f = *state;

	conf_lex_split("  a\tbb  c#d \r", &f->words);
	assert_int_equal(f->words.n, 3);
	assert_string_equal(f->words.v[0], "a");
	assert_string_equal(f->words.v[1], "bb");
	assert_string_equal(f->words.v[2], "c#d");
	assert_null(f->words.v[3]);

	/* A second split replaces the words. */
	conf_lex_split("one", &f->words);
	assert_int_equal(f->words.n, 1);
	assert_string_equal(f->words.v[0], "one");

	conf_lex_split(" \t ", &f->words);
	assert_int_equal(f->words.n, 0);
	conf_lex_split("", &f->words);
	assert_int_equal(f->words.n, 0);
}

/* ------------------------------------------------------------ grammar */

static void
test_parse_brace_on_keyword_line(void **state)
{
	struct fx *f = *state;

	load(f,
	    "service a {\n"
	    "\tuser = root\n"
	    "}\n"
	    "service b{\n"
	    "\tuser = nobody\n"
	    "}\n"
	    "defaults {\n"
	    "\tinstances = 5\n"
	    "}\n",
	    FINISH);
	EXPECT_CLEAN(&f->d);
	assert_int_equal(f->cf->nsvc, 2);
	assert_string_equal(find(f->cf, "a")->user, "root");
	assert_int_equal(find(f->cf, "a")->loc.line, 1);
	assert_string_equal(find(f->cf, "b")->user, "nobody");
	assert_non_null(f->cf->defaults);
	assert_int_equal(f->cf->defaults->instances, 5);
}

static void
test_parse_brace_on_next_line(void **state)
{
	struct fx *f = *state;

	load(f,
	    "service a\n"
	    "\n"
	    "# a comment between\n"
	    "{\n"
	    "\tuser = root\n"
	    "}\n"
	    "defaults\n"
	    "{\n"
	    "\tinstances = 5\n"
	    "}\n",
	    FINISH);
	EXPECT_CLEAN(&f->d);
	assert_int_equal(f->cf->nsvc, 1);
	assert_string_equal(f->cf->svc[0]->name, "a");
	assert_string_equal(f->cf->svc[0]->loc.file, NAME);
	assert_int_equal(f->cf->svc[0]->loc.line, 1);
	assert_string_equal(f->cf->svc[0]->user, "root");
	assert_int_equal(conf_service_at(f->cf->svc[0], A_USER).line, 5);
	assert_int_equal(f->cf->defaults->instances, 5);
}

static void
test_parse_missing_open_brace(void **state)
{
	struct fx *f = *state;

	load(f, "service a\nuser = root\n}\n", FINISH);
	EXPECT_DIAGS(&f->d, "t.conf:2: expected '{' on the line after 'service a'");
	/* The line is read as part of the entry all the same. */
	assert_string_equal(find(f->cf, "a")->user, "root");
}

static void
test_parse_missing_open_brace_defaults(void **state)
{
	struct fx *f = *state;

	load(f, "defaults\ninstances = 5\n}\n", FINISH);
	EXPECT_DIAGS(&f->d, "t.conf:2: expected '{' on the line after 'defaults'");
	assert_int_equal(f->cf->defaults->instances, 5);
}

static void
test_parse_attr_without_spaces(void **state)
{
	struct fx *f = *state;
	struct service_config *s = one(f,
	    "user=root\n"
	    "port=99\n"
	    "only_from+=10.0.0.1\n"
	    "log_on_success=PID HOST\n"
	    "log_on_success-=PID\n"
	    "server_args=-a\n",
	    FINISH);

	EXPECT_CLEAN(&f->d);
	assert_string_equal(s->user, "root");
	assert_int_equal(s->port, 99);
	assert_string_equal(addrs(&s->only_from), "10.0.0.1/32");
	assert_int_equal(s->log_on_success, L_HOST);
	assert_string_equal(words(&s->server_args), "-a");
}

static void
test_parse_list_operators(void **state)
{
	struct fx *f = *state;
	struct service_config *s = one(f,
	    "only_from = 10.0.0.0/8 192.168.1.1\n"
	    "only_from += 172.16.0.0/12\n"
	    "only_from -= 192.168.1.1\n"
	    "no_access += 10.1.0.0/16 10.2.0.0/16\n"
	    "no_access -= 10.1.0.0/16\n"
	    "log_on_failure += HOST\n"
	    "log_on_failure += ATTEMPT USERID\n"
	    "log_on_failure -= USERID\n"
	    "passenv = PATH LANG\n"
	    "passenv += TZ PATH\n"
	    "passenv -= LANG\n",
	    FINISH);

	EXPECT_CLEAN(&f->d);
	assert_string_equal(addrs(&s->only_from), "10.0.0.0/8 172.16.0.0/12");
	assert_string_equal(addrs(&s->no_access), "10.2.0.0/16");
	assert_int_equal(s->log_on_failure, L_HOST | L_ATTEMPT);
	/* No duplicates: PATH is added once. */
	assert_string_equal(words(&s->passenv), "PATH TZ");
	assert_int_equal(conf_service_at(s, A_PASSENV).line, 13);
	assert_true(own(s, A_PASSENV));
}

static void
test_parse_case_insensitive(void **state)
{
	struct fx *f = *state;
	struct service_config *s;

	load(f,
	    "DEFAULTS\n"
	    "{\n"
	    "\tINSTANCES = Unlimited\n"
	    "\tLog_Type = syslog DAEMON Notice\n"
	    "}\n"
	    "Service Foo\n"
	    "{\n"
	    "\tSOCKET_TYPE = Stream\n"
	    "\tProtocol = TCP\n"
	    "\tWait = YES\n"
	    "\tTYPE = unlisted Internal\n"
	    "\tflags = ipv4 NoDelay keepALIVE\n"
	    "\tGroups = No\n"
	    "\tPer_Source = UNLIMITED\n"
	    "\tLOG_ON_SUCCESS = pid Host\n"
	    "\tlog_on_failure = attempt\n"
	    "\tdeny_time = forever\n"
	    "\trlimit_as = 2m\n"
	    "\trlimit_cpu = unlimited\n"
	    "\tV6ONLY = yEs\n"
	    "}\n",
	    FINISH);
	EXPECT_CLEAN(&f->d);
	s = find(f->cf, "Foo");
	assert_string_equal(s->name, "Foo");
	assert_string_equal(s->id, "Foo");
	assert_int_equal(s->socket_type, SOCK_STREAM);
	assert_int_equal(s->protocol, IPPROTO_TCP);
	assert_int_equal(s->wait, 1);
	assert_int_equal(s->type, T_UNLISTED | T_INTERNAL);
	assert_int_equal(s->flags, F_IPV4 | F_NODELAY | F_KEEPALIVE);
	assert_true(conf_service_has(s, A_GROUPS));
	assert_false(s->groups);
	assert_int_equal(s->per_source, COUNT_UNLIMITED);
	assert_int_equal(s->log_on_success, L_PID | L_HOST);
	assert_int_equal(s->log_on_failure, L_ATTEMPT);
	assert_int_equal(s->deny_time, DENY_FOREVER);
	assert_true(s->rlimit[RL_AS] == 2ull * 1024 * 1024);
	assert_true(s->rlimit[RL_CPU] == LIMIT_UNLIMITED);
	assert_true(s->v6only);
	/* Filled from defaults. */
	assert_int_equal(s->instances, COUNT_UNLIMITED);
	assert_true(conf_service_has(s, A_INSTANCES));
	assert_int_equal(s->log_type.kind, LOGT_SYSLOG);
	assert_int_equal(s->log_type.facility, LOG_DAEMON);
	assert_int_equal(s->log_type.level, LOG_NOTICE);
}

static void
test_parse_entry_errors(void **state)
{
	struct fx *f = *state;

	load(f,
	    "}\n"				/* 1 */
	    "{\n"				/* 2 */
	    "foo bar\n"				/* 3 */
	    "service\n"				/* 4 */
	    "{\n"				/* 5 */
	    "}\n"				/* 6 */
	    "service a b\n"			/* 7 */
	    "{\n"				/* 8 */
	    "\tuser = x y\n"			/* 9: still checked */
	    "}\n"				/* 10 */
	    "defaults x\n"			/* 11 */
	    "{\n"				/* 12 */
	    "}\n"				/* 13 */
	    "service ok\n"			/* 14 */
	    "{\n"				/* 15 */
	    "\tuser = root\n"			/* 16 */
	    "\t} x\n"				/* 17: still closes it */
	    "service next\n"			/* 18 */
	    "{\n"				/* 19 */
	    "\tuser = root\n"			/* 20 */
	    "service after\n"			/* 21 */
	    "{\n"				/* 22 */
	    "}\n"				/* 23 */
	    "service last\n"			/* 24 */
	    "{\n"				/* 25 */
	    "\tuser = root\n",			/* 26 */
	    FINISH);
	EXPECT_DIAGS(&f->d,
	    "t.conf:1: '}' outside of an entry",
	    "t.conf:2: '{' outside of an entry",
	    "t.conf:3: expected 'service NAME', 'defaults', 'include FILE' or 'includedir DIR', "
	    "not \"foo bar\"",
	    "t.conf:4: service needs a name",
	    "t.conf:7: a service name is one word, not \"a b\"",
	    "t.conf:9: user takes 1 value, not 2",
	    "t.conf:11: defaults takes no name",
	    "t.conf:17: '}' must be alone on its line",
	    "t.conf:21: missing '}' to close the entry opened at line 18",
	    "t.conf:24: missing '}' at the end of the file for the entry opened here");
	/* The entries that were opened are kept, the nameless ones are not. */
	assert_int_equal(f->cf->nsvc, 4);
	assert_string_equal(find(f->cf, "ok")->user, "root");
	assert_string_equal(find(f->cf, "next")->user, "root");
	assert_true(present(f->cf, "after"));
	assert_string_equal(find(f->cf, "last")->user, "root");
}

static void
test_parse_second_defaults_in_file(void **state)
{
	struct fx *f = *state;

	load(f,
	    "defaults\n{\n\tinstances = 5\n}\n"
	    "defaults\n{\n\tinstances = 6\n}\n",
	    FINISH);
	EXPECT_DIAGS(&f->d, "t.conf:5: a second defaults entry in this file (the first is at line 1)");
	assert_int_equal(f->cf->defaults->instances, 5);
}

static void
test_parse_defaults_of_two_files_merge(void **state)
{
	struct fx *f = *state;
	static const struct conf_opts opts = { .no_includes = true };
	const char *a = "defaults\n{\n\tonly_from = 10.0.0.0/8\n}\n";
	const char *b = "defaults\n{\n\tonly_from = 192.168.0.0/16\n}\nservice s\n{\n}\n";

	f->cf = conf_new();
	conf_parse_buffer(f->cf, "a.conf", a, strlen(a), &opts, &f->d);
	conf_parse_buffer(f->cf, "b.conf", b, strlen(b), &opts, &f->d);
	conf_finish(f->cf, &f->d);
	EXPECT_CLEAN(&f->d);
	assert_string_equal(addrs(&f->cf->defaults->only_from), "10.0.0.0/8 192.168.0.0/16");
	assert_string_equal(addrs(&find(f->cf, "s")->only_from), "10.0.0.0/8 192.168.0.0/16");
	assert_string_equal(find(f->cf, "s")->loc.file, "b.conf");
	assert_int_equal(f->cf->files.n, 2);
}

static void
test_parse_includes_refused(void **state)
{
	struct fx *f = *state;

	load(f, "include /etc/passwd\nIncludeDir /etc\ninclude\n", FINISH);
	EXPECT_DIAGS(&f->d,
	    "t.conf:1: include is not allowed here",
	    "t.conf:2: includedir is not allowed here",
	    "t.conf:3: include takes one file name");
	assert_int_equal(f->cf->nsvc, 0);
}

static void
test_parse_attribute_set_twice(void **state)
{
	struct fx *f = *state;
	struct service_config *s = one(f,
	    "user = a\n"				/* 3 */
	    "user = b\n"				/* 4 */
	    "only_from = 10.0.0.1\n"			/* 5 */
	    "only_from = 10.0.0.2\n"			/* 6 */
	    "env = A=1\n"				/* 7 */
	    "env = B=2\n"				/* 8 */
	    "interface = 127.0.0.1\n"			/* 9 */
	    "bind = 127.0.0.2\n",			/* 10 */
	    FINISH);

	EXPECT_DIAGS(&f->d,
	    "t.conf:4: user is already set at t.conf:3",
	    "t.conf:6: only_from is already set at t.conf:5; use '+=' to add to it",
	    "t.conf:8: env is already set at t.conf:7; use '+=' to add to it",
	    "t.conf:10: bind is already set at t.conf:9");
	/* The first value stays. */
	assert_string_equal(s->user, "a");
	assert_string_equal(addrs(&s->only_from), "10.0.0.1/32");
	assert_string_equal(words(&s->env), "A=1");
	assert_string_equal(s->bind, "127.0.0.1");
}

static void
test_parse_wrong_operator(void **state)
{
	struct fx *f = *state;
	struct service_config *s = one(f,
	    "user += root\n"
	    "port -= 1\n"
	    "log_type += SYSLOG daemon\n"
	    "env -= A=1\n"
	    "instances += 3\n",
	    FINISH);

	EXPECT_DIAGS(&f->d,
	    "t.conf:3: user takes '=' only, not '+='",
	    "t.conf:4: port takes '=' only, not '-='",
	    "t.conf:5: log_type takes '=' only, not '+='",
	    "t.conf:6: env takes '=' or '+=', not '-='",
	    "t.conf:7: instances takes '=' only, not '+='");
	assert_null(s->user);
	assert_false(conf_service_has(s, A_USER));
	assert_int_equal(s->port, -1);
	assert_false(conf_service_has(s, A_LOG_TYPE));
	assert_int_equal(s->env.n, 0);
	assert_int_equal(s->instances, COUNT_UNLIMITED);
}

static void
test_parse_not_allowed_in_defaults(void **state)
{
	struct fx *f = *state;

	load(f,
	    "defaults\n"
	    "{\n"
	    "\tuser = root\n"
	    "\tserver = /bin/true\n"
	    "\tport = 21\n"
	    "\tdeny_time = 10\n"
	    "\tenv = A=1\n"
	    "\taccess_times = 1:00-2:00\n"
	    "\trlimit_cpu = 5\n"
	    "\tnice = 5\n"
	    "}\n"
	    "service a\n"
	    "{\n"
	    "\tenabled = a\n"
	    "\tdisabled = a\n"
	    "}\n",
	    FINISH);
	EXPECT_DIAGS(&f->d,
	    "t.conf:3: user is not allowed in defaults; set it in each service",
	    "t.conf:4: server is not allowed in defaults; set it in each service",
	    "t.conf:5: port is not allowed in defaults; set it in each service",
	    "t.conf:6: deny_time is not allowed in defaults; set it in each service",
	    "t.conf:7: env is not allowed in defaults; set it in each service",
	    "t.conf:8: access_times is not allowed in defaults; set it in each service",
	    "t.conf:9: rlimit_cpu is not allowed in defaults; set it in each service",
	    "t.conf:10: nice is not allowed in defaults; set it in each service",
	    "t.conf:14: enabled is only allowed in defaults",
	    "t.conf:15: disabled is only allowed in defaults");
	assert_false(conf_service_has(f->cf->defaults, A_USER));
	assert_true(present(f->cf, "a"));
}

static void
test_parse_unknown_attribute(void **state)
{
	struct fx *f = *state;

	one(f,
	    "colour = blue\n"
	    "user root\n"
	    "= root\n"
	    "x+ = 1\n"
	    "Bogus += 1\n",
	    FINISH);
	EXPECT_DIAGS(&f->d,
	    "t.conf:3: unknown attribute \"colour\"",
	    "t.conf:4: user: expected '=', '+=' or '-=' after the attribute name",
	    "t.conf:5: expected an attribute (NAME = VALUE ...) or '}', found \"= root\"",
	    "t.conf:6: x: expected '=', '+=' or '-=' after the attribute name",
	    "t.conf:7: unknown attribute \"Bogus\"");
}

static void
test_parse_value_counts(void **state)
{
	struct fx *f = *state;

	one(f,
	    "user =\n"
	    "type =\n"
	    "cps = 1\n"
	    "log_type = FILE /a 1K 2K 3K\n"
	    "redirect = a b c\n"
	    "server_args =\n",
	    FINISH);
	EXPECT_DIAGS(&f->d,
	    "t.conf:3: user takes 1 value, not 0",
	    "t.conf:4: type needs a value",
	    "t.conf:5: cps takes 2 values, not 1",
	    "t.conf:6: log_type: expected FILE PATH [SOFT [HARD]] [json]",
	    "t.conf:7: redirect takes 2 values, not 3",
	    "t.conf:8: server_args needs a value");
}

/* ------------------------------------------------------------ attributes */

static void
test_attr_id(void **state)
{
	struct fx *f = *state;

	load(f,
	    "service ftp\n{\n\tid = ftp-alt\n}\n"
	    "service plain\n{\n}\n",
	    PARSE);
	EXPECT_CLEAN(&f->d);
	assert_string_equal(find(f->cf, "ftp")->id, "ftp-alt");
	assert_int_equal(conf_service_at(find(f->cf, "ftp"), A_ID).line, 3);
	assert_true(own(find(f->cf, "ftp"), A_ID));
	/* Before conf_finish an entry without id has none... */
	assert_null(find(f->cf, "plain")->id);
	/* ...and conf_find_id goes by the name. */
	assert_ptr_equal(conf_find_id(f->cf, "plain"), find(f->cf, "plain"));
	conf_finish(f->cf, &f->d);
	EXPECT_CLEAN(&f->d);
	assert_string_equal(find(f->cf, "plain")->id, "plain");
	assert_false(conf_service_has(find(f->cf, "plain"), A_ID));
	assert_ptr_equal(conf_find_id(f->cf, "ftp-alt"), find(f->cf, "ftp"));
	assert_null(conf_find_id(f->cf, "ftp"));
}

static void
test_attr_type(void **state)
{
	struct fx *f = *state;
	struct service_config *s = one(f, "type = INTERNAL UNLISTED TCPMUX\n", FINISH);

	EXPECT_CLEAN(&f->d);
	assert_int_equal(s->type, T_INTERNAL | T_UNLISTED | T_TCPMUX);
	assert_true(conf_service_has(s, A_TYPE));

	s = one(f, "type = TCPMUXPLUS\n", FINISH);
	EXPECT_CLEAN(&f->d);
	assert_int_equal(s->type, T_TCPMUXPLUS);

	s = one(f, "type = RPC\ntype = SPECIAL\n", FINISH);
	EXPECT_DIAGS(&f->d,
	    "t.conf:3: type: RPC services are not supported by porter; run the RPC server "
	    "as a standalone daemon registered with rpcbind",
	    "t.conf:4: type: unknown type \"SPECIAL\" (known: RPC INTERNAL UNLISTED TCPMUX "
	    "TCPMUXPLUS)");
	assert_false(conf_service_has(s, A_TYPE));
}

static void
test_attr_flags(void **state)
{
	struct fx *f = *state;
	struct service_config *s = one(f,
	    "flags = NORETRY IDONLY NAMEINARGS NODELAY KEEPALIVE NOLIBWRAP SENSOR IPv4 IPv6 "
	    "REUSE\n",
	    FINISH);

	EXPECT_CLEAN(&f->d);
	assert_int_equal(s->flags, F_NORETRY | F_IDONLY | F_NAMEINARGS | F_NODELAY |
	    F_KEEPALIVE | F_NOLIBWRAP | F_SENSOR | F_IPV4 | F_IPV6 | F_REUSE);

	s = one(f, "flags = INTERCEPT\n", FINISH);
	EXPECT_DIAGS(&f->d,
	    "t.conf:3: warning: flags: INTERCEPT is not supported by porter and is ignored");
	assert_true(conf_service_has(s, A_FLAGS));

	s = one(f, "flags = LABELED\nflags = DISABLE\n", FINISH);
	EXPECT_DIAGS(&f->d,
	    "t.conf:3: flags: LABELED (SELinux contexts from the peer's label) is not "
	    "supported by porter",
	    "t.conf:4: flags: unknown flag \"DISABLE\" (known: INTERCEPT NORETRY IDONLY "
	    "NAMEINARGS NODELAY KEEPALIVE NOLIBWRAP SENSOR IPv4 IPv6 LABELED REUSE FULLREPLY)");
	assert_false(conf_service_has(s, A_FLAGS));
}

static void
test_attr_socket_type_protocol(void **state)
{
	struct fx *f = *state;
	struct service_config *s = one(f, "socket_type = stream\nprotocol = tcp\n", FINISH);

	EXPECT_CLEAN(&f->d);
	assert_int_equal(s->socket_type, SOCK_STREAM);
	assert_int_equal(s->protocol, IPPROTO_TCP);

	s = one(f, "socket_type = DGRAM\nprotocol = UDP\n", FINISH);
	EXPECT_CLEAN(&f->d);
	assert_int_equal(s->socket_type, SOCK_DGRAM);
	assert_int_equal(s->protocol, IPPROTO_UDP);

	s = one(f, "wait = no\n", FINISH);
	assert_int_equal(s->socket_type, 0);
	assert_int_equal(s->protocol, 0);

	s = one(f, "socket_type = raw\nsocket_type = pipe\nprotocol = sctp\n", FINISH);
	EXPECT_DIAGS(&f->d,
	    "t.conf:3: socket_type: raw sockets are not supported by porter (stream, dgram, or seqpacket on a Unix socket)",
	    "t.conf:4: socket_type: expected stream or dgram, not \"pipe\"",
	    "t.conf:5: protocol: expected tcp or udp, not \"sctp\"");
	assert_int_equal(s->socket_type, 0);
	assert_int_equal(s->protocol, 0);
}

static void
test_attr_wait(void **state)
{
	struct fx *f = *state;
	struct service_config *s = one(f, "wait = yes\n", FINISH);

	assert_int_equal(s->wait, 1);
	s = one(f, "wait = No\n", FINISH);
	assert_int_equal(s->wait, 0);
	s = one(f, "user = root\n", FINISH);
	assert_int_equal(s->wait, -1);
	s = one(f, "wait = 1\n", FINISH);
	EXPECT_DIAGS(&f->d, "t.conf:3: wait: expected yes or no, not \"1\"");
	assert_int_equal(s->wait, -1);
	assert_false(conf_service_has(s, A_WAIT));
}

static void
test_attr_user_group_groups(void **state)
{
	struct fx *f = *state;
	struct service_config *s = one(f, "user = nobody\ngroup = nogroup\ngroups = yes\n", FINISH);

	EXPECT_CLEAN(&f->d);
	assert_string_equal(s->user, "nobody");
	assert_string_equal(s->group, "nogroup");
	assert_true(s->groups);
	assert_int_equal(conf_service_at(s, A_USER).line, 3);
	assert_int_equal(conf_service_at(s, A_GROUP).line, 4);
	assert_int_equal(conf_service_at(s, A_GROUPS).line, 5);
	/* Parsing does not resolve them. */
	assert_false(s->have_uid);
	assert_false(s->have_gid);

	s = one(f, "groups = maybe\n", FINISH);
	EXPECT_DIAGS(&f->d, "t.conf:3: groups: expected yes or no, not \"maybe\"");
	assert_false(conf_service_has(s, A_GROUPS));
}

static void
test_attr_server_args(void **state)
{
	struct fx *f = *state;
	struct service_config *s = one(f,
	    "server = /usr/sbin/in.ftpd\n"
	    "server_args = -l  -a\tx=y a#b\n",
	    FINISH);

	EXPECT_CLEAN(&f->d);
	assert_string_equal(s->server, "/usr/sbin/in.ftpd");
	assert_int_equal(s->server_args.n, 4);
	assert_string_equal(words(&s->server_args), "-l -a x=y a#b");

	s = one(f, "server = in.ftpd\n", FINISH);
	EXPECT_DIAGS(&f->d, "t.conf:3: server: \"in.ftpd\" is not an absolute path");
	assert_null(s->server);
	assert_false(conf_service_has(s, A_SERVER));
}

static void
test_attr_redirect(void **state)
{
	struct fx *f = *state;
	struct service_config *s = one(f, "redirect = 10.0.0.1 8080\n", FINISH);

	EXPECT_CLEAN(&f->d);
	assert_string_equal(s->redirect_host, "10.0.0.1");
	assert_string_equal(s->redirect_port, "8080");
	assert_true(conf_service_has(s, A_REDIRECT));

	s = one(f, "redirect = backend.example.com ssh\n", FINISH);
	EXPECT_CLEAN(&f->d);
	assert_string_equal(s->redirect_host, "backend.example.com");
	assert_string_equal(s->redirect_port, "ssh");

	s = one(f, "redirect = host 70000\n", FINISH);
	EXPECT_DIAGS(&f->d, "t.conf:3: redirect: expected a number from 1 to 65535, not \"70000\"");
	assert_null(s->redirect_host);
	assert_false(conf_service_has(s, A_REDIRECT));
}

static void
test_attr_port(void **state)
{
	struct fx *f = *state;
	struct service_config *s = one(f, "port = 65535\n", FINISH);

	EXPECT_CLEAN(&f->d);
	assert_int_equal(s->port, 65535);
	s = one(f, "port = 1\n", FINISH);
	assert_int_equal(s->port, 1);
	s = one(f, "user = root\n", FINISH);
	assert_int_equal(s->port, -1);

	s = one(f, "port = 0\nport = 65536\nport = 80 81\nport = http\nport = -1\n", FINISH);
	EXPECT_DIAGS(&f->d,
	    "t.conf:3: port: expected a number from 1 to 65535, not \"0\"",
	    "t.conf:4: port: expected a number from 1 to 65535, not \"65536\"",
	    "t.conf:5: port takes 1 value, not 2",
	    "t.conf:6: port: expected a number from 1 to 65535, not \"http\"",
	    "t.conf:7: port: expected a number from 1 to 65535, not \"-1\"");
	assert_int_equal(s->port, -1);
}

static void
test_attr_bind_interface(void **state)
{
	struct fx *f = *state;
	struct service_config *s = one(f, "bind = 127.0.0.1\n", FINISH);

	EXPECT_CLEAN(&f->d);
	assert_string_equal(s->bind, "127.0.0.1");
	assert_true(conf_service_has(s, A_BIND));

	/* interface is the older name of bind. */
	s = one(f, "interface = ::1\n", FINISH);
	EXPECT_CLEAN(&f->d);
	assert_string_equal(s->bind, "::1");
	assert_int_equal(conf_service_at(s, A_BIND).line, 3);
	assert_true(own(s, A_BIND));
}

static void
test_attr_v6only_backlog_listen_fds(void **state)
{
	struct fx *f = *state;
	struct service_config *s = one(f, "v6only = yes\nbacklog = 128\nlisten_fds = yes\n", FINISH);

	EXPECT_CLEAN(&f->d);
	assert_true(s->v6only);
	assert_true(conf_service_has(s, A_V6ONLY));
	assert_int_equal(s->backlog, 128);
	assert_true(s->listen_fds);

	s = one(f, "v6only = no\nlisten_fds = no\n", FINISH);
	EXPECT_CLEAN(&f->d);
	assert_false(s->v6only);
	assert_true(conf_service_has(s, A_V6ONLY));
	assert_int_equal(s->backlog, 0);
	assert_false(s->listen_fds);
	assert_true(conf_service_has(s, A_LISTEN_FDS));

	s = one(f, "backlog = 0\nbacklog = 1048577\n", FINISH);
	EXPECT_DIAGS(&f->d,
	    "t.conf:3: backlog: expected a number from 1 to 1048576, not \"0\"",
	    "t.conf:4: backlog: expected a number from 1 to 1048576, not \"1048577\"");
}

static void
test_attr_instances_per_source(void **state)
{
	struct fx *f = *state;
	struct service_config *s = one(f, "user = root\n", FINISH);

	assert_int_equal(s->instances, COUNT_UNLIMITED);
	assert_int_equal(s->per_source, COUNT_UNLIMITED);

	s = one(f, "instances = 10\nper_source = 3\n", FINISH);
	EXPECT_CLEAN(&f->d);
	assert_int_equal(s->instances, 10);
	assert_int_equal(s->per_source, 3);

	s = one(f, "instances = UNLIMITED\nper_source = unlimited\n", FINISH);
	EXPECT_CLEAN(&f->d);
	assert_int_equal(s->instances, COUNT_UNLIMITED);
	assert_int_equal(s->per_source, COUNT_UNLIMITED);
	assert_true(conf_service_has(s, A_INSTANCES));
	assert_true(conf_service_has(s, A_PER_SOURCE));

	s = one(f, "instances = -1\nper_source = many\n", FINISH);
	EXPECT_DIAGS(&f->d,
	    "t.conf:3: instances: expected a number from 1 to 2147483647 or UNLIMITED, not \"-1\"",
	    "t.conf:4: per_source: expected a number from 1 to 2147483647 or UNLIMITED, not "
	    "\"many\"");
}

static void
test_attr_per_source_prefix_cps(void **state)
{
	struct fx *f = *state;
	struct service_config *s = one(f, "user = root\n", FINISH);

	assert_int_equal(s->per_source_prefix4, 32);
	assert_int_equal(s->per_source_prefix6, 128);

	s = one(f, "per_source_prefix = 24 64\nper_source_cps = 5 10\ncps = 100 30\n", FINISH);
	EXPECT_CLEAN(&f->d);
	assert_int_equal(s->per_source_prefix4, 24);
	assert_int_equal(s->per_source_prefix6, 64);
	assert_int_equal(s->per_source_cps_rate, 5);
	assert_int_equal(s->per_source_cps_burst, 10);
	assert_int_equal(s->cps_rate, 100);
	assert_int_equal(s->cps_wait, 30);

	s = one(f, "per_source_prefix = 33 64\ncps = 10 0\nper_source_cps = 0 1\n", FINISH);
	EXPECT_DIAGS(&f->d,
	    "t.conf:3: per_source_prefix: expected a number from 0 to 32, not \"33\"",
	    "t.conf:4: cps: expected a number from 1 to 86400, not \"0\"",
	    "t.conf:5: per_source_cps: expected a number from 1 to 1000000, not \"0\"");
	assert_int_equal(s->per_source_prefix4, 32);
	assert_int_equal(s->cps_rate, 0);
	assert_false(conf_service_has(s, A_CPS));
}

static void
test_attr_max_load_timeouts(void **state)
{
	struct fx *f = *state;
	struct service_config *s = one(f, "max_load = 2.5\ntimeout = 30\nredirect_idle = 600\n", FINISH);

	EXPECT_CLEAN(&f->d);
	assert_true(s->max_load == 2.5);
	assert_int_equal(s->timeout, 30);
	assert_int_equal(s->redirect_idle, 600);

	s = one(f, "max_load = 0\nmax_load = abc\ntimeout = 0\n", FINISH);
	EXPECT_DIAGS(&f->d,
	    "t.conf:3: max_load: expected a load average above 0 such as 2.5, not \"0\"",
	    "t.conf:4: max_load: expected a load average above 0 such as 2.5, not \"abc\"",
	    "t.conf:5: timeout: expected a number from 1 to 31622400, not \"0\"");
	assert_false(conf_service_has(s, A_MAX_LOAD));
}

static void
test_attr_access_times(void **state)
{
	struct fx *f = *state;
	struct service_config *s = one(f, "access_times = 8:00-17:30 22:00-24:00 23:00-1:15\n", FINISH);

	EXPECT_CLEAN(&f->d);
	assert_int_equal(s->naccess_times, 3);
	assert_int_equal(s->access_times[0].start, 8 * 60);
	assert_int_equal(s->access_times[0].end, 17 * 60 + 30);
	/* 24:00 ends with the last minute of the day, both ends included. */
	assert_int_equal(s->access_times[1].start, 22 * 60);
	assert_int_equal(s->access_times[1].end, 23 * 60 + 59);
	/* Past midnight: start > end. */
	assert_int_equal(s->access_times[2].start, 23 * 60);
	assert_int_equal(s->access_times[2].end, 75);

	s = one(f, "access_times = 8:00-9:00 24:00-1:00\n", FINISH);
	EXPECT_DIAGS(&f->d, "t.conf:3: access_times: bad access_times interval \"24:00-1:00\": "
	    "hours are 0-23 (24:00 only as an end)");
	assert_int_equal(s->naccess_times, 0);
	assert_null(s->access_times);
	assert_false(conf_service_has(s, A_ACCESS_TIMES));
}

static void
test_attr_only_from_no_access(void **state)
{
	struct fx *f = *state;
	struct service_config *s = one(f,
	    "only_from = 10.0.0.0/8 192.168.1.1 ::1 .example.com\n"
	    "no_access = 10.1.0.0/16\n",
	    FINISH);

	EXPECT_CLEAN(&f->d);
	assert_string_equal(addrs(&s->only_from), "10.0.0.0/8 192.168.1.1/32 ::1/128 .example.com");
	assert_int_equal(s->only_from.v[3].kind, AR_DOMAIN);
	assert_string_equal(addrs(&s->no_access), "10.1.0.0/16");
	assert_true(conf_service_has(s, A_ONLY_FROM));
	assert_true(conf_service_has(s, A_NO_ACCESS));

	/* An empty list is set and empty: it denies everyone. */
	s = one(f, "only_from =\nno_access =\n", FINISH);
	EXPECT_CLEAN(&f->d);
	assert_true(conf_service_has(s, A_ONLY_FROM));
	assert_int_equal(s->only_from.n, 0);
	assert_true(conf_service_has(s, A_NO_ACCESS));
	assert_int_equal(s->no_access.n, 0);

	s = one(f, "user = root\n", FINISH);
	assert_false(conf_service_has(s, A_ONLY_FROM));

	/* One bad address refuses the whole line. */
	s = one(f, "only_from = 10.0.0.3 10.0.0.1,10.0.0.2\n", FINISH);
	EXPECT_DIAGS(&f->d, "t.conf:3: only_from: bad address \"10.0.0.1,10.0.0.2\": a comma is "
	    "only allowed in the braces of a factorized list; separate addresses with blanks");
	assert_false(conf_service_has(s, A_ONLY_FROM));
	assert_int_equal(s->only_from.n, 0);
}

static void
test_attr_log_type_syslog(void **state)
{
	struct fx *f = *state;
	struct service_config *s = one(f, "user = root\n", FINISH);

	assert_int_equal(s->log_type.kind, LOGT_NONE);

	s = one(f, "log_type = SYSLOG daemon\n", FINISH);
	EXPECT_CLEAN(&f->d);
	assert_int_equal(s->log_type.kind, LOGT_SYSLOG);
	assert_int_equal(s->log_type.facility, LOG_DAEMON);
	assert_int_equal(s->log_type.level, LOG_INFO);
	assert_null(s->log_type.path);

	s = one(f, "log_type = syslog AUTHPRIV warning\n", FINISH);
	EXPECT_CLEAN(&f->d);
	assert_int_equal(s->log_type.facility, LOG_AUTHPRIV);
	assert_int_equal(s->log_type.level, LOG_WARNING);

	s = one(f, "log_type = SYSLOG local7 emerg\n", FINISH);
	assert_int_equal(s->log_type.facility, LOG_LOCAL7);
	assert_int_equal(s->log_type.level, LOG_EMERG);

	s = one(f,
	    "log_type = SYSLOG kern\n"
	    "log_type = SYSLOG daemon loud\n"
	    "log_type = SYSLOG\n"
	    "log_type = JOURNAL\n",
	    FINISH);
	EXPECT_DIAGS(&f->d,
	    "t.conf:3: log_type: unknown syslog facility \"kern\" (known: daemon auth authpriv "
	    "user mail lpr news uucp ftp local0 local1 local2 local3 local4 local5 local6 local7)",
	    "t.conf:4: log_type: unknown syslog level \"loud\" (known: emerg alert crit err "
	    "warning notice info debug)",
	    "t.conf:5: log_type: expected SYSLOG FACILITY [LEVEL]",
	    "t.conf:6: log_type: expected SYSLOG FACILITY [LEVEL] or FILE PATH [SOFT [HARD]], "
	    "not \"JOURNAL\"");
	assert_false(conf_service_has(s, A_LOG_TYPE));
}

static void
test_attr_log_type_file(void **state)
{
	struct fx *f = *state;
	struct service_config *s = one(f, "log_type = FILE /var/log/a\n", FINISH);

	EXPECT_CLEAN(&f->d);
	assert_int_equal(s->log_type.kind, LOGT_FILE);
	assert_string_equal(s->log_type.path, "/var/log/a");
	assert_true(s->log_type.soft == 0);
	assert_true(s->log_type.hard == 0);

	/* The hard limit is soft + 1 %, at least 5K... */
	s = one(f, "log_type = file /var/log/b 100K\n", FINISH);
	EXPECT_CLEAN(&f->d);
	assert_true(s->log_type.soft == 102400);
	assert_true(s->log_type.hard == 102400 + 5 * 1024);

	/* ...at most 20K... */
	s = one(f, "log_type = FILE /var/log/c 10M\n", FINISH);
	assert_true(s->log_type.soft == 10485760);
	assert_true(s->log_type.hard == 10485760 + 20 * 1024);

	/* ...and 1 % in between. */
	s = one(f, "log_type = FILE /var/log/d 1000K\n", FINISH);
	assert_true(s->log_type.soft == 1024000);
	assert_true(s->log_type.hard == 1024000 + 10240);

	s = one(f, "log_type = FILE /var/log/e 1M 2m\n", FINISH);
	EXPECT_CLEAN(&f->d);
	assert_true(s->log_type.soft == 1048576);
	assert_true(s->log_type.hard == 2097152);

	s = one(f, "log_type = FILE /var/log/f 1G 1G\n", FINISH);
	assert_true(s->log_type.soft == 1073741824ull);
	assert_true(s->log_type.hard == 1073741824ull);

	s = one(f,
	    "log_type = FILE log\n"
	    "log_type = FILE /x 2M 1M\n"
	    "log_type = FILE /x 0\n"
	    "log_type = FILE /x 1K 5X\n"
	    "log_type = FILE\n",
	    FINISH);
	EXPECT_DIAGS(&f->d,
	    "t.conf:3: log_type: \"log\" is not an absolute path",
	    "t.conf:4: log_type: the hard limit 1M is below the soft limit 2M",
	    "t.conf:5: log_type: bad soft limit \"0\": expected a size such as 512K or 5M",
	    "t.conf:6: log_type: bad hard limit \"5X\": expected a size such as 512K or 5M",
	    "t.conf:7: log_type: expected FILE PATH [SOFT [HARD]] [json]");
	assert_false(conf_service_has(s, A_LOG_TYPE));
	assert_int_equal(s->log_type.kind, LOGT_NONE);
}

static void
test_attr_log_on(void **state)
{
	struct fx *f = *state;
	struct service_config *s = one(f,
	    "log_on_success = PID HOST USERID EXIT DURATION TRAFFIC\n"
	    "log_on_failure = HOST USERID ATTEMPT\n",
	    FINISH);

	EXPECT_CLEAN(&f->d);
	assert_int_equal(s->log_on_success, L_PID | L_HOST | L_USERID | L_EXIT | L_DURATION |
	    L_TRAFFIC);
	assert_int_equal(s->log_on_failure, L_HOST | L_USERID | L_ATTEMPT);

	s = one(f,
	    "log_on_success = PID\n"
	    "log_on_success += HOST EXIT\n"
	    "log_on_success -= PID\n"
	    "log_on_failure =\n",
	    FINISH);
	EXPECT_CLEAN(&f->d);
	assert_int_equal(s->log_on_success, L_HOST | L_EXIT);
	assert_int_equal(s->log_on_failure, 0);
	assert_true(conf_service_has(s, A_LOG_ON_FAILURE));

	s = one(f,
	    "log_on_failure = RECORD\n"
	    "log_on_success = ATTEMPT\n",
	    FINISH);
	EXPECT_DIAGS(&f->d,
	    "t.conf:3: log_on_failure: RECORD was removed in xinetd 2.3.11 and is not supported; "
	    "remove it",
	    "t.conf:4: log_on_success: unknown value \"ATTEMPT\" (known: PID HOST USERID EXIT "
	    "DURATION TRAFFIC)");
	assert_false(conf_service_has(s, A_LOG_ON_FAILURE));
	assert_false(conf_service_has(s, A_LOG_ON_SUCCESS));
}

static void
test_attr_env(void **state)
{
	struct fx *f = *state;
	struct service_config *s = one(f,
	    "env = A=1 B=2\n"
	    "env += A=3 C= D=x=y\n",
	    FINISH);

	EXPECT_CLEAN(&f->d);
	/* A later NAME=value replaces the earlier one. */
	assert_string_equal(words(&s->env), "B=2 A=3 C= D=x=y");

	s = one(f, "env = A=1 A=2 AB=3\n", FINISH);
	EXPECT_CLEAN(&f->d);
	assert_string_equal(words(&s->env), "A=2 AB=3");

	s = one(f, "env = 1A=x NOEQ =v\n", FINISH);
	EXPECT_DIAGS(&f->d,
	    "t.conf:3: env: expected NAME=value, not \"1A=x\"",
	    "t.conf:3: env: expected NAME=value, not \"NOEQ\"",
	    "t.conf:3: env: expected NAME=value, not \"=v\"");
	assert_int_equal(s->env.n, 0);
	assert_false(conf_service_has(s, A_ENV));
}

static void
test_attr_passenv(void **state)
{
	struct fx *f = *state;
	struct service_config *s = one(f, "passenv = PATH LANG _X1\n", FINISH);

	EXPECT_CLEAN(&f->d);
	assert_string_equal(words(&s->passenv), "PATH LANG _X1");

	s = one(f, "passenv =\n", FINISH);
	EXPECT_CLEAN(&f->d);
	assert_true(conf_service_has(s, A_PASSENV));
	assert_int_equal(s->passenv.n, 0);

	s = one(f, "passenv = PATH 1BAD A-B\n", FINISH);
	EXPECT_DIAGS(&f->d,
	    "t.conf:3: passenv: \"1BAD\" is not a variable name",
	    "t.conf:3: passenv: \"A-B\" is not a variable name");
	assert_false(conf_service_has(s, A_PASSENV));
	assert_int_equal(s->passenv.n, 0);
}

static void
test_attr_banners(void **state)
{
	struct fx *f = *state;
	struct service_config *s = one(f,
	    "banner = /etc/issue\n"
	    "banner_success = /etc/motd\n"
	    "banner_fail = /etc/issue.net\n",
	    FINISH);

	EXPECT_CLEAN(&f->d);
	assert_string_equal(s->banner, "/etc/issue");
	assert_string_equal(s->banner_success, "/etc/motd");
	assert_string_equal(s->banner_fail, "/etc/issue.net");

	s = one(f, "banner = issue\nbanner_fail = ./x\n", FINISH);
	EXPECT_DIAGS(&f->d,
	    "t.conf:3: banner: \"issue\" is not an absolute path",
	    "t.conf:4: banner_fail: \"./x\" is not an absolute path");
	assert_null(s->banner);
	assert_null(s->banner_fail);
}

static void
test_attr_nice_umask(void **state)
{
	struct fx *f = *state;
	struct service_config *s = one(f, "nice = -5\numask = 022\n", FINISH);

	EXPECT_CLEAN(&f->d);
	assert_int_equal(s->nice, -5);
	assert_int_equal(s->umask, 022);

	s = one(f, "nice = 19\numask = 0777\n", FINISH);
	assert_int_equal(s->nice, 19);
	assert_int_equal(s->umask, 0777);

	s = one(f, "nice = -20\numask = 7\n", FINISH);
	assert_int_equal(s->nice, -20);
	assert_int_equal(s->umask, 07);

	s = one(f, "user = root\n", FINISH);
	assert_int_equal(s->umask, -1);
	assert_int_equal(s->nice, 0);

	s = one(f, "nice = 20\nnice = -21\numask = 800\numask = 1000\numask = -1\n", FINISH);
	EXPECT_DIAGS(&f->d,
	    "t.conf:3: nice: expected a number from -20 to 19, not \"20\"",
	    "t.conf:4: nice: expected a number from -20 to 19, not \"-21\"",
	    "t.conf:5: umask: expected an octal number from 000 to 777, not \"800\"",
	    "t.conf:6: umask: expected an octal number from 000 to 777, not \"1000\"",
	    "t.conf:7: umask: expected an octal number from 000 to 777, not \"-1\"");
	assert_int_equal(s->umask, -1);
}

static void
test_attr_rlimits(void **state)
{
	struct fx *f = *state;
	struct service_config *s = one(f,
	    "rlimit_as = 64M\n"
	    "rlimit_cpu = 30\n"
	    "rlimit_data = 512k\n"
	    "rlimit_rss = 1G\n"
	    "rlimit_stack = UNLIMITED\n"
	    "rlimit_files = 1024\n",
	    FINISH);

	EXPECT_CLEAN(&f->d);
	assert_true(s->rlimit[RL_AS] == 64ull << 20);
	assert_true(s->rlimit[RL_CPU] == 30);
	assert_true(s->rlimit[RL_DATA] == 512ull << 10);
	assert_true(s->rlimit[RL_RSS] == 1ull << 30);
	assert_true(s->rlimit[RL_STACK] == LIMIT_UNLIMITED);
	assert_true(s->rlimit[RL_FILES] == 1024);
	for (int a = A_RLIMIT_AS; a <= A_RLIMIT_FILES; a++)
		assert_true(conf_service_has(s, (enum attr_id)a));

	s = one(f,
	    "rlimit_as = unlimited\n"
	    "rlimit_cpu = UNLIMITED\n"
	    "rlimit_data = 8388608\n"
	    "rlimit_rss = Unlimited\n"
	    "rlimit_stack = 8m\n",
	    FINISH);
	EXPECT_CLEAN(&f->d);
	assert_true(s->rlimit[RL_AS] == LIMIT_UNLIMITED);
	assert_true(s->rlimit[RL_CPU] == LIMIT_UNLIMITED);
	assert_true(s->rlimit[RL_DATA] == 8388608);
	assert_true(s->rlimit[RL_RSS] == LIMIT_UNLIMITED);
	assert_true(s->rlimit[RL_STACK] == 8ull << 20);
	assert_false(conf_service_has(s, A_RLIMIT_FILES));

	s = one(f,
	    "rlimit_files = UNLIMITED\n"
	    "rlimit_files = 0\n"
	    "rlimit_cpu = 1M\n"
	    "rlimit_as = 0\n"
	    "rlimit_data = 12Q\n",
	    FINISH);
	EXPECT_DIAGS(&f->d,
	    "t.conf:3: rlimit_files: expected a number of files; UNLIMITED would hand servers "
	    "porterd's hard limit",
	    "t.conf:4: rlimit_files: expected a number of files above 0, not \"0\"",
	    "t.conf:5: rlimit_cpu: expected a number of seconds above 0 or UNLIMITED, not \"1M\"",
	    "t.conf:6: rlimit_as: expected a size such as 64M, 512K or UNLIMITED, not \"0\"",
	    "t.conf:7: rlimit_data: expected a size such as 64M, 512K or UNLIMITED, not \"12Q\"");
	for (int a = A_RLIMIT_AS; a <= A_RLIMIT_FILES; a++)
		assert_false(conf_service_has(s, (enum attr_id)a));
}

/* The cgroup limits: sizes, counts and CPU shares in the forms the kernel
 * takes; the dump writes them back in the form that reads best. */
static void
test_attr_cgroup_limits(void **state)
{
	struct fx *f = *state;
	struct service_config *s = one(f,
	    "memory_max = 32M\n"
	    "pids_max = 8\n"
	    "cpu_max = 50%\n",
	    FINISH);

	EXPECT_CLEAN(&f->d);
	assert_true(s->memory_max == 32ull << 20);
	assert_int_equal(s->pids_max, 8);
	assert_int_equal(s->cpu_quota_us, 50000);
	assert_int_equal(s->cpu_period_us, 100000);

	s = one(f, "cpu_max = 100ms/1s\nmemory_max = 1536K\n", FINISH);
	EXPECT_CLEAN(&f->d);
	assert_int_equal(s->cpu_quota_us, 100000);
	assert_int_equal(s->cpu_period_us, 1000000);
	f->dump1 = dump(f->cf);
	assert_non_null(strstr(f->dump1, "\tcpu_max           = 100ms/1s\n"));
	assert_non_null(strstr(f->dump1, "\tmemory_max        = 1536K\n"));
	s = one(f, "cpu_max = 250%\n", FINISH);
	EXPECT_CLEAN(&f->d);
	assert_int_equal(s->cpu_quota_us, 250000);
	s = one(f, "cpu_max = 1500us/2500us\n", FINISH);
	EXPECT_CLEAN(&f->d);
	assert_int_equal(s->cpu_quota_us, 1500);
	assert_int_equal(s->cpu_period_us, 2500);

	s = one(f,
	    "memory_max = 512K\n"
	    "pids_max = 0\n"
	    "cpu_max = 0%\n",
	    FINISH);
	EXPECT_DIAGS(&f->d,
	    "t.conf:3: memory_max: expected a size of at least 1M, such as 32M or 1G, not \"512K\"",
	    "t.conf:4: pids_max: expected a number from 1 to 4194304, not \"0\"",
	    "t.conf:5: cpu_max: expected a share such as 50% (1% or more), or QUOTA/PERIOD such as "
	    "100ms/1s (a quota of 1ms or more, a period from 1ms to 1s), not \"0%\"");
	for (const char *const *bad = (const char *const[]){ "100ms/2s", "500us/1s", "1s", "50",
	         "10ms/", "/1s", "10m/1s", NULL };
	     *bad != NULL; bad++) {
		char *body = mem_asprintf("cpu_max = %s\n", *bad);

		s = one(f, body, FINISH);
		free(body);
		assert_int_equal(f->d.errors, 1);
		assert_false(conf_service_has(s, A_CPU_MAX));
	}
}

static void
test_attr_deny_time(void **state)
{
	struct fx *f = *state;
	struct service_config *s = one(f, "deny_time = FOREVER\n", FINISH);

	EXPECT_CLEAN(&f->d);
	assert_int_equal(s->deny_time, DENY_FOREVER);
	s = one(f, "deny_time = never\n", FINISH);
	EXPECT_CLEAN(&f->d);
	assert_int_equal(s->deny_time, 0);
	assert_true(conf_service_has(s, A_DENY_TIME));
	/* Stored in seconds: minutes as in xinetd, or Ns. */
	s = one(f, "deny_time = 60\n", FINISH);
	assert_int_equal(s->deny_time, 3600);
	s = one(f, "deny_time = 0\n", FINISH);
	assert_int_equal(s->deny_time, 0);
	s = one(f, "deny_time = 90s\n", FINISH);
	EXPECT_CLEAN(&f->d);
	assert_int_equal(s->deny_time, 90);
}

static void
test_attr_log_type_json(void **state)
{
	struct fx *f = *state;
	struct service_config *s = one(f, "log_type = FILE /var/log/j 1M json\n", FINISH);

	EXPECT_CLEAN(&f->d);
	assert_true(s->log_type.json);
	assert_true(s->log_type.soft == 1048576);
	s = one(f, "log_type = FILE /var/log/j JSON\n", FINISH);
	assert_true(s->log_type.json);
	assert_true(s->log_type.soft == 0);
	s = one(f, "log_type = FILE /var/log/j\n", FINISH);
	assert_false(s->log_type.json);
}

static void
test_attr_deny_time_errors(void **state)
{
	struct fx *f = *state;
	struct service_config *s = one(f,
	    "deny_time = soon\n"
	    "deny_time = UNLIMITED\n"
	    "deny_time = -1\n"
	    "deny_time = 527041\n",
	    FINISH);

	/* The words of deny_time are FOREVER and NEVER. */
	EXPECT_DIAGS(&f->d,
	    "t.conf:3: deny_time: expected a number from 0 to 527040, FOREVER or NEVER, not "
	    "\"soon\"",
	    "t.conf:4: deny_time: expected a number from 0 to 527040, FOREVER or NEVER, not "
	    "\"UNLIMITED\"",
	    "t.conf:5: deny_time: expected a number from 0 to 527040, FOREVER or NEVER, not "
	    "\"-1\"",
	    "t.conf:6: deny_time: expected a number from 0 to 527040, FOREVER or NEVER, not "
	    "\"527041\"");
	assert_false(conf_service_has(s, A_DENY_TIME));
	assert_int_equal(s->deny_time, 0);
}

static void
test_attr_ignored_ones_warn(void **state)
{
	struct fx *f = *state;
	struct service_config *s = one(f,
	    "rpc_version = 2-4\n"
	    "rpc_number = 100000\n"
	    "libwrap = ftpd\n"
	    "mdns = yes\n",
	    FINISH);

	EXPECT_DIAGS(&f->d,
	    "t.conf:3: warning: rpc_version is ignored: porter does not serve RPC services",
	    "t.conf:4: warning: rpc_number is ignored: porter does not serve RPC services",
	    /* libwrap names the service in hosts.allow and hosts.deny. */
	    "t.conf:6: warning: mdns: mDNS registration was removed from xinetd and porter does "
	    "not do it; the attribute is ignored");
	assert_int_equal(s->rpc_version_lo, 2);
	assert_int_equal(s->rpc_version_hi, 4);
	assert_int_equal(s->rpc_number, 100000);
	assert_string_equal(s->libwrap, "ftpd");
}

static void
test_attr_enabled_disabled_parse(void **state)
{
	struct fx *f = *state;

	load(f,
	    "defaults\n"
	    "{\n"
	    "\tenabled = a b\n"
	    "\tenabled += c a\n"
	    "\tenabled -= d\n"		/* every operator adds */
	    "\tdisabled = x\n"
	    "\tdisabled = y\n"
	    "}\n",
	    PARSE);
	EXPECT_CLEAN(&f->d);
	assert_string_equal(words(&f->cf->defaults->enabled), "a b c d");
	assert_string_equal(words(&f->cf->defaults->disabled), "x y");
	assert_int_equal(conf_service_at(f->cf->defaults, A_ENABLED).line, 5);
	assert_int_equal(conf_service_at(f->cf->defaults, A_DISABLED).line, 7);
}

static void
test_attr_disable(void **state)
{
	struct fx *f = *state;

	load(f,
	    "service a\n{\n\tdisable = yes\n}\n"
	    "service b\n{\n\tdisable = no\n}\n"
	    "service c\n{\n\tdisable = YES\n}\n",
	    PARSE);
	EXPECT_CLEAN(&f->d);
	assert_int_equal(f->cf->nsvc, 3);
	assert_true(find(f->cf, "a")->disable);
	assert_false(find(f->cf, "b")->disable);
	conf_finish(f->cf, &f->d);
	EXPECT_CLEAN(&f->d);
	assert_int_equal(f->cf->nsvc, 1);
	assert_true(present(f->cf, "b"));
}

static void
test_attr_names_in_enum_order(void **state)
{
	static const char *const names[A_MAX] = {
		"id", "type", "flags", "disable", "socket_type", "protocol", "wait", "user",
		"group", "groups", "server", "server_args", "redirect", "port", "bind",
		"v6only", "socket_mode", "socket_user", "socket_group", "backlog", "listen_fds", "instances", "per_source",
		"per_source_prefix", "per_source_cps", "cps", "max_load", "timeout",
		"redirect_idle", "redirect_proxy", "proxy_protocol", "proxy_from", "proxy_timeout",
		"tls", "tls_certificate", "tls_key", "tls_client_ca", "tls_verify_client",
		"tls_protocols", "tls_ciphers", "tls_ciphersuites", "tls_alpn",
		"tls_handshake_timeout", "no_new_privs", "capabilities", "ambient_capabilities",
		"system_call_filter", "system_call_error", "restrict_address_families", "sandbox", "private_tmp", "tmp_size", "protect_system", "protect_home", "read_write_paths", "read_only_paths", "inaccessible_paths", "root_directory", "bind_paths", "bind_read_only_paths", "private_network", "private_pid", "private_ipc", "private_uts", "hostname", "access_times", "only_from", "no_access", "only_uid", "only_gid", "no_uid", "no_gid", "log_type",
		"log_on_success", "log_on_failure", "env", "passenv", "banner",
		"banner_success", "banner_fail", "nice", "umask", "rlimit_as", "rlimit_cpu",
		"rlimit_data", "rlimit_rss", "rlimit_stack", "rlimit_files", "memory_max",
		"pids_max", "cpu_max", "service_memory_max", "service_pids_max", "deny_time",
		"rpc_version", "rpc_number", "libwrap", "mdns", "enabled", "disabled",
	};

	(void)state;
	for (int a = 0; a < A_MAX; a++)
		assert_string_equal(conf_attr_name((enum attr_id)a), names[a]);
	assert_string_equal(conf_attr_flag_name(F_IPV4), "IPv4");
	assert_string_equal(conf_attr_type_name(T_TCPMUXPLUS), "TCPMUXPLUS");
	assert_string_equal(conf_attr_log_name(L_ATTEMPT), "ATTEMPT");
	assert_string_equal(conf_attr_log_name(L_DURATION), "DURATION");
	assert_string_equal(conf_attr_facility_name(LOG_LOCAL3), "local3");
	assert_string_equal(conf_attr_level_name(LOG_EMERG), "emerg");
	assert_string_equal(conf_attr_level_name(LOG_DEBUG), "debug");
}

/* The grammar, the defaults, the dump and conf_service_free trust every
 * entry of the table: a gap or a missing hook would crash there. */
static void
test_attr_table_whole(void **state)
{
	(void)state;
	for (int id = 0; id < A_MAX; id++) {
		const struct conf_attr *a = conf_attr_get((enum attr_id)id);

		assert_non_null(a->name);
		assert_non_null(a->parse);
		assert_true(a->how & (W_SERVICE | W_DEFAULTS));
		assert_true(a->max < 0 || a->max >= a->min);
		if (a->how & (K_COPIED | K_FILLED))
			assert_non_null(a->copy);
		if (a->shown != NULL)
			assert_non_null(a->dump);
	}
	for (int id = 0; id < A_MAX; id++)
		assert_int_equal(conf_attr_lookup(conf_attr_name((enum attr_id)id)), id);
	assert_int_equal(conf_attr_lookup("INTERFACE"), A_BIND);
	assert_int_equal(conf_attr_lookup("Port"), A_PORT);
	assert_int_equal(conf_attr_lookup("frobnicate"), -1);
}

/* ------------------------------------------------------------ defaults */

static void
test_defaults_copied_only_after(void **state)
{
	struct fx *f = *state;
	struct service_config *before, *after;

	load(f,
	    "service before\n{\n\tuser = root\n}\n"	/* 1-4 */
	    "defaults\n"				/* 5 */
	    "{\n"
	    "\tlog_on_success = PID HOST\n"		/* 7 */
	    "\tlog_on_failure = HOST\n"
	    "\tonly_from = 10.0.0.0/8\n"		/* 9 */
	    "\tno_access = 10.1.0.0/16\n"
	    "\tpassenv = PATH\n"
	    "\tbanner = /etc/issue\n"
	    "\tbanner_success = /etc/motd\n"
	    "\tbanner_fail = /etc/issue.net\n"
	    "}\n"
	    "service after\n{\n\tuser = root\n}\n",
	    FINISH);
	EXPECT_CLEAN(&f->d);
	before = find(f->cf, "before");
	after = find(f->cf, "after");

	assert_false(conf_service_has(before, A_LOG_ON_SUCCESS));
	assert_false(conf_service_has(before, A_LOG_ON_FAILURE));
	assert_false(conf_service_has(before, A_ONLY_FROM));
	assert_false(conf_service_has(before, A_NO_ACCESS));
	assert_false(conf_service_has(before, A_PASSENV));
	assert_false(conf_service_has(before, A_BANNER));
	assert_false(conf_service_has(before, A_BANNER_SUCCESS));
	assert_false(conf_service_has(before, A_BANNER_FAIL));
	assert_int_equal(before->log_on_success, 0);
	assert_int_equal(before->only_from.n, 0);
	assert_null(before->banner);

	assert_int_equal(after->log_on_success, L_PID | L_HOST);
	assert_int_equal(after->log_on_failure, L_HOST);
	assert_string_equal(addrs(&after->only_from), "10.0.0.0/8");
	assert_string_equal(addrs(&after->no_access), "10.1.0.0/16");
	assert_string_equal(words(&after->passenv), "PATH");
	assert_string_equal(after->banner, "/etc/issue");
	assert_string_equal(after->banner_success, "/etc/motd");
	assert_string_equal(after->banner_fail, "/etc/issue.net");
	/* Copied values keep where defaults set them, and are not the
	 * service's own. */
	assert_int_equal(conf_service_at(after, A_ONLY_FROM).line, 9);
	assert_int_equal(conf_service_at(after, A_LOG_ON_SUCCESS).line, 7);
	assert_false(own(after, A_ONLY_FROM));
	assert_false(own(after, A_BANNER));
	assert_true(own(after, A_USER));
}

static void
test_defaults_filled_regardless_of_order(void **state)
{
	struct fx *f = *state;
	static const char *const text =
	    "service before\n{\n\tuser = root\n}\n"
	    "defaults\n"
	    "{\n"
	    "\tinstances = 30\n"			/* 7 */
	    "\tper_source = 5\n"
	    "\tcps = 10 5\n"
	    "\tumask = 027\n"
	    "\tgroups = yes\n"
	    "\tmax_load = 3.5\n"
	    "\tbind = 127.0.0.1\n"
	    "\tlog_type = SYSLOG daemon\n"
	    "\tv6only = yes\n"
	    "\tbacklog = 64\n"
	    "\ttimeout = 20\n"
	    "\tredirect_idle = 40\n"
	    "\tper_source_prefix = 24 56\n"
	    "\tper_source_cps = 2 4\n"
	    "}\n"
	    "service after\n{\n\tuser = root\n}\n"
	    "service mine\n{\n\tinstances = 7\n\tumask = 077\n\tlog_type = FILE /l\n}\n";
	const char *names[] = { "before", "after", "mine" };

	/* Nothing is filled in while parsing... */
	load(f, text, PARSE);
	EXPECT_CLEAN(&f->d);
	assert_false(conf_service_has(find(f->cf, "after"), A_INSTANCES));
	assert_int_equal(find(f->cf, "after")->instances, COUNT_UNLIMITED);

	/* ...but by conf_finish, whatever the order. */
	load(f, text, FINISH);
	EXPECT_CLEAN(&f->d);
	for (size_t i = 0; i < 3; i++) {
		struct service_config *s = find(f->cf, names[i]);
		bool mine = i == 2;

		assert_int_equal(s->instances, mine ? 7 : 30);
		assert_int_equal(s->umask, mine ? 077 : 027);
		assert_int_equal(s->log_type.kind, mine ? LOGT_FILE : LOGT_SYSLOG);
		assert_int_equal(s->per_source, 5);
		assert_int_equal(s->cps_rate, 10);
		assert_int_equal(s->cps_wait, 5);
		assert_true(s->groups);
		assert_true(s->max_load == 3.5);
		assert_string_equal(s->bind, "127.0.0.1");
		assert_true(s->v6only);
		assert_int_equal(s->backlog, 64);
		assert_int_equal(s->timeout, 20);
		assert_int_equal(s->redirect_idle, 40);
		assert_int_equal(s->per_source_prefix4, 24);
		assert_int_equal(s->per_source_prefix6, 56);
		assert_int_equal(s->per_source_cps_rate, 2);
		assert_int_equal(s->per_source_cps_burst, 4);
		for (int a = 0; a < A_MAX; a++)
			if (a != A_USER && (!mine || (a != A_INSTANCES && a != A_UMASK &&
			    a != A_LOG_TYPE)))
				assert_false(own(s, (enum attr_id)a));
		assert_int_equal(conf_service_at(s, A_PER_SOURCE).line, 8);
		if (mine)
			assert_string_equal(s->log_type.path, "/l");
	}
	/* The file name is copied, not shared with defaults. */
	assert_ptr_not_equal(find(f->cf, "after")->bind, f->cf->defaults->bind);
}

static void
test_defaults_service_set_replaces_copied(void **state)
{
	struct fx *f = *state;
	struct service_config *s;

	load(f,
	    "defaults\n"
	    "{\n"
	    "\tonly_from = 10.0.0.0/8\n"
	    "\tno_access = 10.1.0.0/16\n"
	    "\tlog_on_success = PID HOST\n"
	    "\tpassenv = PATH HOME\n"
	    "\tbanner = /etc/issue\n"
	    "}\n"
	    "service a\n"
	    "{\n"
	    "\tonly_from = 192.168.0.0/16\n"		/* 11 */
	    "\tno_access =\n"
	    "\tlog_on_success = EXIT\n"
	    "\tpassenv = LANG\n"
	    "\tbanner = /etc/motd\n"
	    "}\n",
	    FINISH);
	EXPECT_CLEAN(&f->d);
	s = find(f->cf, "a");
	assert_string_equal(addrs(&s->only_from), "192.168.0.0/16");
	assert_int_equal(s->no_access.n, 0);
	assert_true(conf_service_has(s, A_NO_ACCESS));
	assert_int_equal(s->log_on_success, L_EXIT);
	assert_string_equal(words(&s->passenv), "LANG");
	assert_string_equal(s->banner, "/etc/motd");
	assert_int_equal(conf_service_at(s, A_ONLY_FROM).line, 11);
	assert_true(own(s, A_ONLY_FROM));
	/* Defaults are untouched. */
	assert_string_equal(addrs(&f->cf->defaults->only_from), "10.0.0.0/8");
	assert_string_equal(f->cf->defaults->banner, "/etc/issue");
}

static void
test_defaults_service_add_and_remove(void **state)
{
	struct fx *f = *state;
	struct service_config *s;

	load(f,
	    "defaults\n"
	    "{\n"
	    "\tonly_from = 10.0.0.0/8\n"
	    "\tlog_on_success = PID HOST\n"
	    "\tlog_on_failure = HOST\n"
	    "\tpassenv = PATH HOME\n"
	    "}\n"
	    "service a\n"
	    "{\n"
	    "\tonly_from += 192.168.0.0/16\n"
	    "\tlog_on_success += EXIT\n"
	    "\tlog_on_success -= PID\n"
	    "\tlog_on_failure -= HOST\n"
	    "\tpassenv += LANG\n"
	    "\tpassenv -= HOME\n"
	    "}\n"
	    "service b\n{\n}\n",
	    FINISH);
	EXPECT_CLEAN(&f->d);
	s = find(f->cf, "a");
	assert_string_equal(addrs(&s->only_from), "10.0.0.0/8 192.168.0.0/16");
	assert_int_equal(s->log_on_success, L_HOST | L_EXIT);
	assert_int_equal(s->log_on_failure, 0);
	assert_true(conf_service_has(s, A_LOG_ON_FAILURE));
	assert_string_equal(words(&s->passenv), "PATH LANG");
	/* Another service still gets the defaults as they were. */
	s = find(f->cf, "b");
	assert_string_equal(addrs(&s->only_from), "10.0.0.0/8");
	assert_int_equal(s->log_on_success, L_PID | L_HOST);
	assert_string_equal(words(&s->passenv), "PATH HOME");
	assert_string_equal(addrs(&f->cf->defaults->only_from), "10.0.0.0/8");
}

static void
test_defaults_set_is_cumulative(void **state)
{
	struct fx *f = *state;
	const struct service_config *def;
	struct service_config *s;

	load(f,
	    "defaults\n"
	    "{\n"
	    "\tonly_from = 10.0.0.0/8\n"
	    "\tonly_from = 192.168.0.0/16\n"
	    "\tlog_on_success = PID\n"
	    "\tlog_on_success = HOST\n"
	    "\tlog_on_failure = HOST\n"
	    "\tlog_on_failure = ATTEMPT\n"
	    "\tpassenv = PATH\n"
	    "\tpassenv = HOME\n"
	    "\tno_access = 10.1.0.0/16\n"
	    "\tno_access -= 10.1.0.0/16\n"
	    "}\n"
	    "service a\n{\n}\n",
	    FINISH);
	EXPECT_CLEAN(&f->d);
	def = f->cf->defaults;
	assert_string_equal(addrs(&def->only_from), "10.0.0.0/8 192.168.0.0/16");
	assert_int_equal(def->log_on_success, L_PID | L_HOST);
	assert_int_equal(def->log_on_failure, L_HOST | L_ATTEMPT);
	assert_string_equal(words(&def->passenv), "PATH HOME");
	assert_true(conf_service_has(def, A_NO_ACCESS));
	assert_int_equal(def->no_access.n, 0);
	s = find(f->cf, "a");
	assert_string_equal(addrs(&s->only_from), "10.0.0.0/8 192.168.0.0/16");
	assert_int_equal(s->log_on_success, L_PID | L_HOST);
	assert_string_equal(words(&s->passenv), "PATH HOME");
	assert_true(conf_service_has(s, A_NO_ACCESS));
}

static void
test_defaults_single_valued_twice(void **state)
{
	struct fx *f = *state;

	load(f, "defaults\n{\n\tinstances = 5\n\tinstances = 6\n}\n", FINISH);
	EXPECT_DIAGS(&f->d, "t.conf:4: instances is already set at t.conf:3");
	assert_int_equal(f->cf->defaults->instances, 5);
}

static void
test_defaults_enabled(void **state)
{
	struct fx *f = *state;

	load(f,
	    "defaults\n"
	    "{\n"
	    "\tenabled = a cid zz\n"
	    "}\n"
	    "service a\n{\n}\n"
	    "service b\n{\n}\n"
	    "service c\n{\n\tid = cid\n}\n"
	    "service d\n{\n\tdisable = yes\n}\n",
	    FINISH);
	EXPECT_DIAGS(&f->d, "t.conf:3: warning: enabled: no service has the id \"zz\"");
	assert_int_equal(f->cf->nsvc, 2);
	assert_true(present(f->cf, "a"));
	assert_true(present(f->cf, "c"));
	assert_false(present(f->cf, "b"));
	assert_false(present(f->cf, "d"));
}

static void
test_defaults_enabled_by_id_only(void **state)
{
	struct fx *f = *state;

	/* enabled names ids: c's name does not enable it, and disable = yes
	 * wins over enabled. */
	load(f,
	    "defaults\n{\n\tenabled = c d\n}\n"
	    "service c\n{\n\tid = cid\n}\n"
	    "service d\n{\n\tdisable = yes\n}\n",
	    FINISH);
	EXPECT_DIAGS(&f->d, "t.conf:3: warning: enabled: no service has the id \"c\"");
	assert_int_equal(f->cf->nsvc, 0);
}

static void
test_defaults_disabled(void **state)
{
	struct fx *f = *state;

	load(f,
	    "service a\n{\n}\n"
	    "service b\n{\n}\n"
	    "service c\n{\n\tid = cid\n}\n"
	    "defaults\n"
	    "{\n"
	    "\tdisabled = b\n"
	    "\tdisabled += cid nope\n"		/* 14 */
	    "}\n",
	    FINISH);
	EXPECT_DIAGS(&f->d, "t.conf:14: warning: disabled: no service has the id \"nope\"");
	assert_int_equal(f->cf->nsvc, 1);
	assert_true(present(f->cf, "a"));
}

static void
test_defaults_disable_yes(void **state)
{
	struct fx *f = *state;

	load(f,
	    "defaults\n{\n\tenabled = a b\n}\n"
	    "service a\n{\n\tdisable = yes\n}\n"
	    "service b\n{\n\tdisable = no\n}\n"
	    "service c\n{\n\tdisable = yes\n}\n",
	    FINISH);
	EXPECT_CLEAN(&f->d);
	assert_int_equal(f->cf->nsvc, 1);
	assert_true(present(f->cf, "b"));
}

/* ------------------------------------------------------------ checks */

static void
test_check_valid_service(void **state)
{
	struct fx *f = *state;
	struct service_config *s;

	load(f, SVC("a", "5000", ""), CHECK);
	EXPECT_CLEAN(&f->d);
	s = find(f->cf, "a");
	assert_int_equal(s->port, 5000);
	assert_true(s->have_uid);
	assert_int_equal(s->uid, 0);
	assert_true(s->have_gid);
	assert_int_equal(s->gid, 0);
}

static void
test_check_infer_socket_type(void **state)
{
	struct fx *f = *state;
	struct service_config *s = one(f, UNL "protocol = udp\nwait = yes\nuser = root\n"
	    "server = /bin/true\n", CHECK);

	EXPECT_CLEAN(&f->d);
	assert_int_equal(s->socket_type, SOCK_DGRAM);
	assert_int_equal(s->protocol, IPPROTO_UDP);

	s = one(f, UNL "protocol = tcp\nwait = no\nuser = root\nserver = /bin/true\n", CHECK);
	EXPECT_CLEAN(&f->d);
	assert_int_equal(s->socket_type, SOCK_STREAM);
}

static void
test_check_infer_protocol(void **state)
{
	struct fx *f = *state;
	struct service_config *s = one(f, UNL "socket_type = dgram\nwait = yes\nuser = root\n"
	    "server = /bin/true\n", CHECK);

	EXPECT_CLEAN(&f->d);
	assert_int_equal(s->protocol, IPPROTO_UDP);

	s = one(f, UNL BODY, CHECK);
	EXPECT_CLEAN(&f->d);
	assert_int_equal(s->protocol, IPPROTO_TCP);
}

static void
test_check_socket_type_protocol_mismatch(void **state)
{
	struct fx *f = *state;

	one(f, UNL "socket_type = stream\nprotocol = udp\nwait = no\nuser = root\n"
	    "server = /bin/true\n", CHECK);
	EXPECT_DIAGS(&f->d, "t.conf:6: x: socket_type stream does not go with protocol udp");

	one(f, UNL "socket_type = dgram\nprotocol = tcp\nwait = yes\nuser = root\n"
	    "server = /bin/true\n", CHECK);
	EXPECT_DIAGS(&f->d, "t.conf:6: x: socket_type dgram does not go with protocol tcp");
}

static void
test_check_missing_socket_type(void **state)
{
	struct fx *f = *state;

	one(f, UNL "wait = no\nuser = root\nserver = /bin/true\n", CHECK);
	EXPECT_DIAGS(&f->d, "t.conf:1: x: missing attribute socket_type (stream or dgram)");
}

static void
test_check_missing_wait(void **state)
{
	struct fx *f = *state;

	one(f, UNL "socket_type = stream\nuser = root\nserver = /bin/true\n", CHECK);
	EXPECT_DIAGS(&f->d, "t.conf:1: x: missing attribute wait (yes or no)");
}

static void
test_check_missing_user(void **state)
{
	struct fx *f = *state;
	struct service_config *s = one(f, UNL "socket_type = stream\nwait = no\nserver = /bin/true\n",
	    CHECK);

	EXPECT_DIAGS(&f->d, "t.conf:1: x: missing attribute user");
	assert_false(s->have_uid);
}

static void
test_check_missing_server(void **state)
{
	struct fx *f = *state;

	one(f, UNL "socket_type = stream\nwait = no\nuser = root\n", CHECK);
	EXPECT_DIAGS(&f->d, "t.conf:1: x: missing attribute server");
}

static void
test_check_missing_socket_type_and_wait(void **state)
{
	struct fx *f = *state;

	/* Both required attributes of the kind are reported at once; the
	 * checks that depend on the kind (server, user, port) are not run. */
	one_named(f, "ftp", "", CHECK);
	EXPECT_DIAGS(&f->d,
	    "t.conf:1: ftp: missing attribute socket_type (stream or dgram)",
	    "t.conf:1: ftp: missing attribute wait (yes or no)");
}

static void
test_check_refused_value_is_not_missing(void **state)
{
	struct fx *f = *state;

	/* A line that was refused already said what is wrong: the checks do
	 * not add "missing attribute" for it. */
	one(f, UNL "socket_type = stream\nwait = maybe\nuser = root\nserver = /bin/true\n",
	    CHECK);
	EXPECT_DIAGS(&f->d, "t.conf:6: wait: expected yes or no, not \"maybe\"");

	one(f, UNL "socket_type = raw\nwait = no\nuser = root\nserver = /bin/true\n", CHECK);
	EXPECT_DIAGS(&f->d,
	    "t.conf:5: socket_type: raw sockets are not supported by porter (stream, dgram, or seqpacket on a Unix socket)");

	one(f, "type = UNLISTED\nport = 0\n" BODY, CHECK);
	EXPECT_DIAGS(&f->d, "t.conf:4: port: expected a number from 1 to 65535, not \"0\"");

	one(f, UNL "socket_type = stream\nwait = no\nuser = root\nserver = bin/true\n", CHECK);
	EXPECT_DIAGS(&f->d, "t.conf:8: server: \"bin/true\" is not an absolute path");
}

static void
test_check_unknown_user_and_group(void **state)
{
	struct fx *f = *state;
	struct service_config *s = one(f,
	    UNL "socket_type = stream\nwait = no\nuser = nosuchuser\ngroup = nosuchgroup\n"
	    "server = /bin/true\n",
	    CHECK);

	EXPECT_DIAGS(&f->d,
	    "t.conf:7: x: user nosuchuser does not exist",
	    "t.conf:8: x: group nosuchgroup does not exist");
	assert_false(s->have_uid);
	assert_false(s->have_gid);
}

static void
test_check_user_by_name(void **state)
{
	struct fx *f = *state;
	struct passwd *pw = getpwnam("daemon");
	struct service_config *s;

	if (pw == NULL)
		skip();
	uid_t uid = pw->pw_uid;
	gid_t gid = pw->pw_gid;

	s = one(f, UNL "socket_type = stream\nwait = no\nuser = daemon\nserver = /bin/true\n",
	    CHECK);
	EXPECT_CLEAN(&f->d);
	assert_true(s->have_uid);
	assert_true(s->have_gid);
	assert_int_equal(s->uid, uid);
	assert_int_equal(s->gid, gid);
}

static void
test_check_numeric_user_sets_gid(void **state)
{
	struct fx *f = *state;
	struct service_config *s = one(f,
	    UNL "socket_type = stream\nwait = no\nuser = 4321\nserver = /bin/true\n", CHECK);

	EXPECT_CLEAN(&f->d);
	assert_true(s->have_uid);
	assert_true(s->have_gid);
	assert_int_equal(s->uid, 4321);
	assert_int_equal(s->gid, 4321);

	s = one(f, UNL "socket_type = stream\nwait = no\nuser = 4321\ngroups = yes\n"
	    "server = /bin/true\n", CHECK);
	EXPECT_DIAGS(&f->d, "t.conf:8: x: groups = yes needs a user in the password database, "
	    "and uid 4321 has none");
}

static void
test_check_group_by_name_and_number(void **state)
{
	struct fx *f = *state;
	struct group *gr = getgrnam("daemon");
	struct service_config *s;

	if (gr == NULL)
		skip();
	gid_t gid = gr->gr_gid;

	s = one(f, UNL "socket_type = stream\nwait = no\nuser = 4321\ngroup = daemon\n"
	    "server = /bin/true\n", CHECK);
	EXPECT_CLEAN(&f->d);
	assert_int_equal(s->uid, 4321);
	assert_int_equal(s->gid, gid);
	assert_true(s->have_gid);

	s = one(f, UNL "socket_type = stream\nwait = no\nuser = root\ngroup = 777\n"
	    "server = /bin/true\n", CHECK);
	EXPECT_CLEAN(&f->d);
	assert_int_equal(s->uid, 0);
	assert_int_equal(s->gid, 777);
}

static void
test_check_server_missing_file(void **state)
{
	struct fx *f = *state;

	one(f, UNL "socket_type = stream\nwait = no\nuser = root\n"
	    "server = /nonexistent/porter-test\n", CHECK);
	EXPECT_DIAGS(&f->d, "t.conf:8: x: server /nonexistent/porter-test: No such file or "
	    "directory");
}

static void
test_check_server_not_executable(void **state)
{
	struct fx *f = *state;
	int fd;

	snprintf(f->tmp, sizeof(f->tmp), "/tmp/porter-test-XXXXXX");
	fd = mkstemp(f->tmp);
	assert_true(fd >= 0);
	assert_int_equal(fchmod(fd, 0644), 0);
	close(fd);

	free(f->buf);
	f->buf = mem_asprintf(UNL "socket_type = stream\nwait = no\nuser = root\nserver = %s\n",
	    f->tmp);
	one(f, f->buf, CHECK);
	free(f->buf);
	f->buf = mem_asprintf("t.conf:8: x: server %s is not an executable file", f->tmp);
	EXPECT_DIAGS(&f->d, f->buf);

	/* A directory is not a server either. */
	one(f, UNL "socket_type = stream\nwait = no\nuser = root\nserver = /tmp\n", CHECK);
	EXPECT_DIAGS(&f->d, "t.conf:8: x: server /tmp is not an executable file");
}

static void
test_check_nameinargs_needs_args(void **state)
{
	struct fx *f = *state;

	one(f, UNL BODY "flags = NAMEINARGS\n", CHECK);
	EXPECT_DIAGS(&f->d, "t.conf:9: x: NAMEINARGS needs server_args (argv[0] first)");
	one(f, UNL BODY "flags = NAMEINARGS\nserver_args = true\n", CHECK);
	EXPECT_CLEAN(&f->d);
}

static void
test_check_unlisted_needs_port(void **state)
{
	struct fx *f = *state;

	one(f, "type = UNLISTED\n" BODY, CHECK);
	EXPECT_DIAGS(&f->d, "t.conf:1: x: missing attribute port (needed with type = UNLISTED)");
}

static void
test_check_services_lookup(void **state)
{
	struct fx *f = *state;
	struct service_config *s = one_named(f, "ftp", BODY, CHECK);

	EXPECT_CLEAN(&f->d);
	assert_int_equal(s->port, 21);

	s = one_named(f, "ftp", BODY "port = 21\n", CHECK);
	EXPECT_CLEAN(&f->d);
	assert_int_equal(s->port, 21);

	s = one_named(f, "tftp", "socket_type = dgram\nwait = yes\nuser = root\n"
	    "server = /bin/true\n", CHECK);
	EXPECT_CLEAN(&f->d);
	assert_int_equal(s->port, 69);

	one_named(f, "ftp", BODY "port = 22\n", CHECK);
	EXPECT_DIAGS(&f->d, "t.conf:7: ftp: /etc/services gives ftp port 21, not 22; add type = "
	    "UNLISTED to use another port");

	/* UNLISTED takes the port as written. */
	s = one_named(f, "ftp", "type = UNLISTED\nport = 2121\n" BODY, CHECK);
	EXPECT_CLEAN(&f->d);
	assert_int_equal(s->port, 2121);

	one_named(f, "nosuchsvc", BODY, CHECK);
	EXPECT_DIAGS(&f->d, "t.conf:1: nosuchsvc: service nosuchsvc is not in /etc/services for "
	    "tcp; add type = UNLISTED and a port");

	one_named(f, "ftp", "socket_type = dgram\nwait = yes\nuser = root\nserver = /bin/true\n",
	    CHECK);
	EXPECT_DIAGS(&f->d, "t.conf:1: ftp: service ftp is not in /etc/services for udp; add "
	    "type = UNLISTED and a port");
}

static void
test_check_services_lookup_uses_name_not_id(void **state)
{
	struct fx *f = *state;
	struct service_config *s = one_named(f, "ftp", "id = ftp-main\n" BODY, CHECK);

	EXPECT_CLEAN(&f->d);
	assert_int_equal(s->port, 21);
}

static void
test_check_duplicate_listeners(void **state)
{
	struct fx *f = *state;

	load(f, SVC("a", "5000", "") SVC("b", "5000", ""), CHECK);
	EXPECT_DIAGS(&f->d, "t.conf:10: b: tcp port 5000 is already used by a at t.conf:1");

	/* tcp and udp on the same port do not clash. */
	load(f, SVC("a", "5000", "") SVC_UDP("b", "5000", ""), CHECK);
	EXPECT_CLEAN(&f->d);

	load(f, SVC_UDP("a", "5000", "") SVC_UDP("b", "5000", ""), CHECK);
	EXPECT_DIAGS(&f->d, "t.conf:10: b: udp port 5000 is already used by a at t.conf:1");

	load(f, SVC("a", "5000", "") SVC("b", "5001", ""), CHECK);
	EXPECT_CLEAN(&f->d);
}

static void
test_check_listener_v4_bound_vs_dual_wildcard(void **state)
{
	struct fx *f = *state;

	load(f, SVC("a", "5000", "\tbind = 127.0.0.1\n") SVC("b", "5000", ""), CHECK);
	EXPECT_DIAGS(&f->d, "t.conf:11: b: tcp port 5000 is already used by a at t.conf:1");

	load(f, SVC("a", "5000", "") SVC("b", "5000", "\tbind = 127.0.0.1\n"), CHECK);
	EXPECT_DIAGS(&f->d, "t.conf:10: b: tcp port 5000 is already used by a at t.conf:1");
}

static void
test_check_listener_v4_bound_vs_v6only_wildcard(void **state)
{
	struct fx *f = *state;

	load(f, SVC("a", "5000", "\tbind = 127.0.0.1\n") SVC("b", "5000", "\tv6only = yes\n"),
	    CHECK);
	EXPECT_CLEAN(&f->d);
	load(f, SVC("a", "5000", "\tv6only = yes\n") SVC("b", "5000", "\tbind = 127.0.0.1\n"),
	    CHECK);
	EXPECT_CLEAN(&f->d);
}

static void
test_check_listener_v4_wildcard_vs_dual_wildcard(void **state)
{
	struct fx *f = *state;

	/* A dual-stack wildcard takes every IPv4 address too, whichever
	 * entry comes first. */
	load(f, SVC("a", "5000", "") SVC("b", "5000", "\tflags = IPv4\n"), CHECK);
	EXPECT_DIAGS(&f->d, "t.conf:10: b: tcp port 5000 is already used by a at t.conf:1");

	load(f, SVC("a", "5000", "\tflags = IPv4\n") SVC("b", "5000", ""), CHECK);
	EXPECT_DIAGS(&f->d, "t.conf:11: b: tcp port 5000 is already used by a at t.conf:1");
}

static void
test_check_listener_v4_wildcard_vs_v6only_wildcard(void **state)
{
	struct fx *f = *state;

	load(f, SVC("a", "5000", "\tflags = IPv4\n") SVC("b", "5000", "\tv6only = yes\n"), CHECK);
	EXPECT_CLEAN(&f->d);
	load(f, SVC("a", "5000", "\tv6only = yes\n") SVC("b", "5000", "\tflags = IPv4\n"), CHECK);
	EXPECT_CLEAN(&f->d);
}

static void
test_check_listener_bound_addresses(void **state)
{
	struct fx *f = *state;

	load(f, SVC("a", "5000", "\tbind = 127.0.0.1\n") SVC("b", "5000", "\tbind = 127.0.0.2\n"),
	    CHECK);
	EXPECT_CLEAN(&f->d);

	load(f, SVC("a", "5000", "\tbind = 127.0.0.1\n") SVC("b", "5000", "\tbind = 127.0.0.1\n"),
	    CHECK);
	EXPECT_DIAGS(&f->d, "t.conf:11: b: tcp port 5000 is already used by a at t.conf:1");

	load(f, SVC("a", "5000", "\tbind = ::1\n") SVC("b", "5000", "\tbind = 127.0.0.1\n"),
	    CHECK);
	EXPECT_CLEAN(&f->d);

	load(f, SVC("a", "5000", "\tbind = ::1\n") SVC("b", "5000", "\tbind = ::1\n"), CHECK);
	EXPECT_DIAGS(&f->d, "t.conf:11: b: tcp port 5000 is already used by a at t.conf:1");

	/* Two IPv4 wildcards clash. */
	load(f, SVC("a", "5000", "\tflags = IPv4\n") SVC("b", "5000", "\tflags = IPv4\n"), CHECK);
	EXPECT_DIAGS(&f->d, "t.conf:11: b: tcp port 5000 is already used by a at t.conf:1");
}

static void
test_check_listener_explicit_any_is_wildcard(void **state)
{
	struct fx *f = *state;

	/* bind = 0.0.0.0 and bind = :: are the wildcard addresses written
	 * out: they overlap every address of their family (and :: the IPv4
	 * ones too unless v6only), as bind(2) will find. */
	load(f, SVC("a", "5000", "\tbind = 0.0.0.0\n") SVC("b", "5000", "\tbind = 127.0.0.1\n"),
	    CHECK);
	EXPECT_DIAGS(&f->d, "t.conf:11: b: tcp port 5000 is already used by a at t.conf:1");

	load(f, SVC("a", "5000", "\tbind = 127.0.0.1\n") SVC("b", "5000", "\tbind = 0.0.0.0\n"),
	    CHECK);
	EXPECT_DIAGS(&f->d, "t.conf:11: b: tcp port 5000 is already used by a at t.conf:1");

	load(f, SVC("a", "5000", "\tbind = ::\n") SVC("b", "5000", "\tbind = 127.0.0.1\n"), CHECK);
	EXPECT_DIAGS(&f->d, "t.conf:11: b: tcp port 5000 is already used by a at t.conf:1");

	load(f, SVC("a", "5000", "\tbind = ::\n\tv6only = yes\n")
	    SVC("b", "5000", "\tbind = 127.0.0.1\n"), CHECK);
	EXPECT_CLEAN(&f->d);

	load(f, SVC("a", "5000", "\tbind = ::\n") SVC("b", "5000", "\tbind = ::1\n"), CHECK);
	EXPECT_DIAGS(&f->d, "t.conf:11: b: tcp port 5000 is already used by a at t.conf:1");
}

static void
test_check_tcpmux_clients_have_no_listener(void **state)
{
	struct fx *f = *state;

	load(f,
	    "service tcpmux\n{\n\ttype = INTERNAL\n\tsocket_type = stream\n\twait = no\n}\n"
	    "service one\n{\n\ttype = TCPMUX\n" BODY "}\n"
	    "service two\n{\n\ttype = TCPMUXPLUS\n" BODY "}\n",
	    CHECK);
	EXPECT_CLEAN(&f->d);
	assert_int_equal(find(f->cf, "tcpmux")->port, 1);
	assert_int_equal(find(f->cf, "one")->port, -1);
	assert_int_equal(find(f->cf, "two")->port, -1);

	/* Without the internal tcpmux nothing reaches them: one warning. */
	load(f,
	    "service one\n{\n\ttype = TCPMUX\n" BODY "}\n"		/* 1-8 */
	    "service two\n{\n\ttype = TCPMUX\n" BODY "}\n",
	    CHECK);
	EXPECT_DIAGS(&f->d, "t.conf:1: warning: one: TCPMUX services are reached through the "
	    "internal tcpmux service, and none is enabled");
}

static void
test_check_duplicate_ids(void **state)
{
	struct fx *f = *state;

	/* Apart: both served, the later one under a made-up id. */
	load(f,
	    SVC("a", "5000", "\tid = same\n")	/* 1-10 */
	    SVC("b", "5001", "\tid = same\n"),	/* 11-20, id at 19 */
	    CHECK);
	EXPECT_DIAGS(&f->d, "t.conf:19: warning: same: the id is also used at t.conf:1; this "
	    "entry is served as same-2 (give it an id of its own)");
	assert_int_equal(f->d.errors, 0);
	assert_int_equal(f->cf->nsvc, 2);
	assert_string_equal(f->cf->svc[0]->id, "same");
	assert_string_equal(f->cf->svc[1]->id, "same-2");

	/* An id equal to another entry's name; a made-up id skips one that
	 * a later entry has. */
	load(f, SVC("a", "5000", "") SVC("b", "5001", "\tid = a\n") SVC("c", "5002", "\tid = a-2\n"),
	    CHECK);
	assert_int_equal(f->d.errors, 0);
	assert_int_equal(f->d.warnings, 1);
	assert_string_equal(f->cf->svc[1]->id, "a-3");
	assert_string_equal(f->cf->svc[2]->id, "a-2");

	/* One socket: the same service written twice, the second ignored. */
	load(f, SVC("a", "5000", "") SVC("a", "5000", ""), CHECK);
	EXPECT_DIAGS(&f->d, "t.conf:10: warning: a: the same service as at t.conf:1 (same id, "
	    "tcp port 5000); this entry is ignored");
	assert_int_equal(f->cf->nsvc, 1);

	/* One socket, two ids: an error for the later one, which alone is
	 * set aside. */
	load(f, SVC("a", "5000", "") SVC("b", "5000", ""), CHECK);
	EXPECT_DIAGS(&f->d, "t.conf:10: b: tcp port 5000 is already used by a at t.conf:1");
	assert_int_equal(f->d.fatal, 0);
	assert_string_equal(f->cf->svc[1]->fault, f->d.lines.v[0]);
}

/* An error in one entry is that entry's (its fault), and not fatal; an
 * error in the defaults or in the syntax is. */
static void
test_check_faults(void **state)
{
	struct fx *f = *state;

	load(f,
	    SVC("good", "5000", "")
	    SVC("bad", "5001", "\tbogus = 1\n\tuser = nosuchuser-porter\n"),
	    CHECK);
	assert_int_equal(f->d.errors, 2);
	assert_int_equal(f->d.fatal, 0);
	assert_null(find(f->cf, "good")->fault);
	assert_string_equal(find(f->cf, "bad")->fault, "t.conf:18: unknown attribute \"bogus\"");
	assert_int_equal(conf_set_aside(f->cf), 1);
	assert_int_equal(f->cf->nsvc, 1);
	assert_int_equal(f->cf->nbroken, 1);
	assert_string_equal(f->cf->svc[0]->id, "good");
	assert_string_equal(f->cf->broken[0]->id, "bad");
	assert_int_equal(conf_set_aside(f->cf), 0);

	load(f, "defaults\n{\n\tbogus = 1\n}\n" SVC("good", "5000", ""), CHECK);
	assert_int_equal(f->d.errors, 1);
	assert_int_equal(f->d.fatal, 1);
	assert_null(find(f->cf, "good")->fault);

	/* A missing brace: the file cannot be read as entries. */
	load(f, "service good\n{\n\ttype = UNLISTED\n", CHECK);
	assert_true(f->d.fatal > 0);
}

static void
test_check_dgram_wait_no(void **state)
{
	struct fx *f = *state;

	one(f, UNL "socket_type = dgram\nwait = no\nuser = root\nserver = /bin/true\n", CHECK);
	EXPECT_DIAGS(&f->d, "t.conf:6: x: wait = no is not supported for dgram services; use "
	    "wait = yes (the server reads the datagrams itself)");
}

static void
test_check_internal(void **state)
{
	struct fx *f = *state;
	struct service_config *s;

	/* No user and no server needed. */
	load(f,
	    "service echo\n{\n\ttype = INTERNAL\n\tid = echo-stream\n\tsocket_type = stream\n"
	    "\twait = no\n}\n"
	    "service echo\n{\n\ttype = INTERNAL\n\tid = echo-dgram\n\tsocket_type = dgram\n"
	    "\twait = yes\n}\n"
	    "service daytime\n{\n\ttype = INTERNAL\n\tprotocol = udp\n\twait = no\n}\n",
	    CHECK);
	EXPECT_CLEAN(&f->d);
	s = conf_find_id(f->cf, "echo-stream");
	assert_non_null(s);
	assert_int_equal(s->port, 7);
	assert_false(s->have_uid);

	one_named(f, "foo", "type = INTERNAL UNLISTED\nport = 5000\nsocket_type = stream\n"
	    "wait = no\n", CHECK);
	EXPECT_DIAGS(&f->d, "t.conf:3: foo: no internal service is called \"foo\" (known: echo "
	    "discard chargen daytime time tcpmux)");

	one_named(f, "tcpmux", "type = INTERNAL UNLISTED\nport = 5000\nsocket_type = dgram\n"
	    "wait = yes\n", CHECK);
	EXPECT_DIAGS(&f->d, "t.conf:5: tcpmux: tcpmux is a stream service");

	one_named(f, "chargen", "type = INTERNAL\nsocket_type = stream\nwait = no\n"
	    "server = /bin/true\n", CHECK);
	EXPECT_DIAGS(&f->d, "t.conf:6: warning: chargen: server is not used by an internal service");

	/* A SENSOR is internal under any name. */
	one_named(f, "trap", "type = UNLISTED\nport = 5000\nflags = SENSOR\nsocket_type = stream\n"
	    "wait = no\ndeny_time = 10\n", CHECK);
	EXPECT_CLEAN(&f->d);
}

static void
test_check_redirect(void **state)
{
	struct fx *f = *state;

	one(f, UNL "socket_type = stream\nwait = no\nuser = root\nredirect = 127.0.0.1 22\n",
	    CHECK);
	EXPECT_CLEAN(&f->d);

	one(f, UNL "socket_type = stream\nwait = no\nuser = root\nredirect = 127.0.0.1 ssh\n",
	    CHECK);
	EXPECT_CLEAN(&f->d);

	/* A relay runs inside porterd: it needs no user and no server. */
	one(f, UNL "socket_type = stream\nwait = no\nredirect = 127.0.0.1 22\n", CHECK);
	EXPECT_CLEAN(&f->d);

	one(f, UNL "socket_type = stream\nwait = yes\nuser = root\nredirect = 127.0.0.1 22\n",
	    CHECK);
	EXPECT_DIAGS(&f->d, "t.conf:8: x: redirect needs socket_type = stream and wait = no");

	one(f, UNL "socket_type = dgram\nwait = yes\nuser = root\nredirect = 127.0.0.1 22\n",
	    CHECK);
	EXPECT_DIAGS(&f->d, "t.conf:8: x: redirect needs socket_type = stream and wait = no");

	one(f, UNL "socket_type = stream\nwait = no\nuser = root\nredirect = 127.0.0.1 22\n"
	    "flags = NAMEINARGS\nserver_args = a\n", CHECK);
	EXPECT_DIAGS(&f->d, "t.conf:9: x: NAMEINARGS does not go with redirect");

	one(f, UNL "socket_type = stream\nwait = no\nuser = root\nredirect = 127.0.0.1 22\n"
	    "server = /bin/true\n", CHECK);
	EXPECT_DIAGS(&f->d, "t.conf:9: warning: x: server is not used by a redirect service");

	one(f, UNL "socket_type = stream\nwait = no\nuser = root\n"
	    "redirect = 127.0.0.1 nosuchport\n", CHECK);
	EXPECT_DIAGS(&f->d, "t.conf:8: x: redirect: unknown port \"nosuchport\" (not in "
	    "/etc/services for tcp)");
}

static void
test_check_idonly(void **state)
{
	struct fx *f = *state;

	one(f, UNL BODY "flags = IDONLY\n", CHECK);
	EXPECT_DIAGS(&f->d, "t.conf:9: x: IDONLY needs USERID in log_on_success or log_on_failure");
	one(f, UNL BODY "flags = IDONLY\nlog_on_failure = USERID\n", CHECK);
	EXPECT_CLEAN(&f->d);
	one(f, UNL BODY "flags = IDONLY\nlog_on_success = USERID\n", CHECK);
	EXPECT_CLEAN(&f->d);
}

static void
test_check_listen_fds(void **state)
{
	struct fx *f = *state;

	one(f, UNL BODY "listen_fds = yes\n", CHECK);
	EXPECT_DIAGS(&f->d, "t.conf:9: x: listen_fds needs wait = yes");
	one(f, UNL "socket_type = stream\nwait = yes\nuser = root\nserver = /bin/true\n"
	    "listen_fds = yes\n", CHECK);
	EXPECT_CLEAN(&f->d);
	one(f, UNL BODY "listen_fds = no\n", CHECK);
	EXPECT_CLEAN(&f->d);
}

static void
test_check_bind_resolution(void **state)
{
	struct fx *f = *state;
	struct service_config *s = one(f, UNL BODY "bind = 127.0.0.1\n", CHECK);
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&s->bind_addr;
	const struct sockaddr_in6 *sin6;

	EXPECT_CLEAN(&f->d);
	assert_int_equal(s->family, AF_INET);
	assert_int_equal(s->bind_len, sizeof(struct sockaddr_in));
	assert_int_equal(sin->sin_family, AF_INET);
	assert_int_equal(ntohl(sin->sin_addr.s_addr), INADDR_LOOPBACK);

	s = one(f, UNL BODY, CHECK);
	EXPECT_CLEAN(&f->d);
	assert_int_equal(s->family, AF_INET6);
	assert_int_equal(s->bind_len, 0);

	s = one(f, UNL BODY "flags = IPv4\n", CHECK);
	EXPECT_CLEAN(&f->d);
	assert_int_equal(s->family, AF_INET);
	assert_int_equal(s->bind_len, 0);

	s = one(f, UNL BODY "flags = IPv6\n", CHECK);
	EXPECT_CLEAN(&f->d);
	assert_int_equal(s->family, AF_INET6);
	assert_int_equal(s->bind_len, 0);

	s = one(f, UNL BODY "bind = ::1\n", CHECK);
	EXPECT_CLEAN(&f->d);
	sin6 = (const struct sockaddr_in6 *)&s->bind_addr;
	assert_int_equal(s->family, AF_INET6);
	assert_int_equal(s->bind_len, sizeof(struct sockaddr_in6));
	assert_true(IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr));

	one(f, UNL BODY "bind = 127.0.0.1\nflags = IPv6\n", CHECK);
	EXPECT_DIAGS(&f->d, "t.conf:9: x: bind 127.0.0.1: no address for IPv6");

	one(f, UNL BODY "bind = 127.0.0.1\nv6only = yes\n", CHECK);
	EXPECT_DIAGS(&f->d, "t.conf:10: warning: x: v6only has no effect on an IPv4 socket");
}

static void
test_check_bind_from_defaults(void **state)
{
	struct fx *f = *state;
	struct service_config *s;

	load(f, SVC("a", "5000", "") "defaults\n{\n\tbind = 127.0.0.1\n}\n", CHECK);
	EXPECT_CLEAN(&f->d);
	s = find(f->cf, "a");
	assert_int_equal(s->family, AF_INET);
	assert_int_equal(s->bind_len, sizeof(struct sockaddr_in));
}

static void
test_check_warnings(void **state)
{
	struct fx *f = *state;

	one(f, UNL BODY "log_on_success = TRAFFIC\ndeny_time = 5\nredirect_idle = 5\n", CHECK);
	EXPECT_DIAGS(&f->d,
	    "t.conf:9: warning: x: TRAFFIC is only logged for redirect services",
	    "t.conf:10: warning: x: deny_time only applies with flags = SENSOR",
	    "t.conf:11: warning: x: redirect_idle only applies to redirect services");

	one(f, UNL "socket_type = stream\nwait = yes\nuser = root\nserver = /bin/true\n"
	    "per_source = 3\n", CHECK);
	EXPECT_DIAGS(&f->d, "t.conf:9: warning: x: per_source has no effect with wait = yes");

	/* Values that come from defaults do not warn in every service. */
	load(f, "defaults\n{\n\tper_source = 3\n\tredirect_idle = 5\n\tlog_on_success = TRAFFIC\n}\n"
	    SVC("a", "5000", ""), CHECK);
	EXPECT_CLEAN(&f->d);
}

/* ------------------------------------------------------------ dump */

static void
test_dump_exact_small(void **state)
{
	struct fx *f = *state;

	one_named(f, "ftp", BODY "server_args = -l\n", CHECK);
	EXPECT_CLEAN(&f->d);
	f->dump1 = dump(f->cf);
	assert_string_equal(f->dump1,
	    "# porter: the effective services, with defaults applied\n"
	    "\n"
	    "service ftp\n"
	    "{\n"
	    "\tid                = ftp\n"
	    "\tsocket_type       = stream\n"
	    "\tprotocol          = tcp\n"
	    "\twait              = no\n"
	    "\tuser              = root\n"
	    "\tserver            = /bin/true\n"
	    "\tserver_args       = -l\n"
	    "\tport              = 21\n"
	    "}\n");
}

static void
test_dump_exact_with_defaults(void **state)
{
	struct fx *f = *state;

	load(f,
	    "defaults\n"
	    "{\n"
	    "\tinstances = 20\n"
	    "\tlog_on_success = PID HOST\n"
	    "\tonly_from =\n"
	    "\tlog_type = FILE /var/log/porter.log 1M\n"
	    "\tenabled = echo-stream\n"
	    "}\n"
	    "service echo\n"
	    "{\n"
	    "\tflags = IPv4 NODELAY\n"
	    "\tid = echo-stream\n"
	    "\ttype = INTERNAL\n"
	    "\tsocket_type = stream\n"
	    "\twait = no\n"
	    "\taccess_times = 8:00-24:00\n"
	    "\tenv = A=1\n"
	    "\tumask = 22\n"
	    "\trlimit_as = 1M\n"
	    "\tdisable = no\n"
	    "}\n"
	    "service echo\n"
	    "{\n"
	    "\ttype = INTERNAL\n"
	    "\tid = echo-dgram\n"
	    "\tsocket_type = dgram\n"
	    "\twait = yes\n"
	    "}\n",
	    CHECK);
	EXPECT_CLEAN(&f->d);
	f->dump1 = dump(f->cf);
	assert_string_equal(f->dump1,
	    "# porter: the effective services, with defaults applied\n"
	    "\n"
	    "service echo\n"
	    "{\n"
	    "\tid                = echo-stream\n"
	    "\ttype              = INTERNAL\n"
	    "\tflags             = NODELAY IPv4\n"
	    "\tsocket_type       = stream\n"
	    "\tprotocol          = tcp\n"
	    "\twait              = no\n"
	    "\tport              = 7\n"
	    "\tinstances         = 20\n"
	    "\taccess_times      = 8:00-23:59\n"
	    "\tonly_from         =\n"
	    "\tlog_type          = FILE /var/log/porter.log 1048576 1059061\n"
	    "\tlog_on_success    = PID HOST\n"
	    "\tenv               = A=1\n"
	    "\tumask             = 022\n"
	    "\trlimit_as         = 1048576\n"
	    "}\n");
}

static void
test_dump_empty_config(void **state)
{
	struct fx *f = *state;

	load(f, "", CHECK);
	EXPECT_CLEAN(&f->d);
	f->dump1 = dump(f->cf);
	assert_string_equal(f->dump1, "# porter: the effective services, with defaults applied\n");
}

/* Parses text to stage, dumps, parses the dump to the same stage and
 * requires no errors either time and the same dump. */
static void
roundtrip(struct fx *f, const char *text, enum stage st)
{
	load(f, text, st);
	if (f->d.errors != 0) {
		diag_print(&f->d, stderr);
		fail_msg("the original has errors");
	}
	free(f->dump1);
	f->dump1 = dump(f->cf);
	load_into(&f->cf2, &f->d2, f->dump1, strlen(f->dump1), st);
	if (f->d2.errors != 0) {
		fprintf(stderr, "%s", f->dump1);
		diag_print(&f->d2, stderr);
		fail_msg("the dump has errors");
	}
	free(f->dump2);
	f->dump2 = dump(f->cf2);
	assert_string_equal(f->dump2, f->dump1);
	assert_int_equal(f->cf2->nsvc, f->cf->nsvc);
}

static void
str_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		assert_ptr_equal(a, b);
	else
		assert_string_equal(a, b);
}

/* The reparsed service means the same as the original. */
static void
same_service(const struct service_config *a, const struct service_config *b)
{
	assert_string_equal(a->name, b->name);
	assert_string_equal(a->id, b->id);
	assert_int_equal(a->type, b->type);
	assert_int_equal(a->flags, b->flags);
	assert_int_equal(a->socket_type, b->socket_type);
	assert_int_equal(a->protocol, b->protocol);
	assert_int_equal(a->wait, b->wait);
	str_eq(a->user, b->user);
	str_eq(a->group, b->group);
	assert_int_equal(a->groups, b->groups);
	str_eq(a->server, b->server);
	assert_string_equal(words(&a->server_args), words(&b->server_args));
	str_eq(a->redirect_host, b->redirect_host);
	str_eq(a->redirect_port, b->redirect_port);
	assert_int_equal(a->port, b->port);
	str_eq(a->bind, b->bind);
	/* v6only means nothing on an IPv4 socket, and the dump leaves it out
	 * there. */
	if (a->family != AF_INET)
		assert_int_equal(a->v6only, b->v6only);
	assert_int_equal(a->backlog, b->backlog);
	assert_int_equal(a->listen_fds, b->listen_fds);
	assert_int_equal(a->instances, b->instances);
	if (a->wait != 1)
		assert_int_equal(a->per_source, b->per_source);
	assert_int_equal(a->per_source_prefix4, b->per_source_prefix4);
	assert_int_equal(a->per_source_prefix6, b->per_source_prefix6);
	assert_int_equal(a->per_source_cps_rate, b->per_source_cps_rate);
	assert_int_equal(a->per_source_cps_burst, b->per_source_cps_burst);
	assert_int_equal(a->cps_rate, b->cps_rate);
	assert_int_equal(a->cps_wait, b->cps_wait);
	if (a->max_load != b->max_load)
		fail_msg("%s: max_load %.17g read back as %.17g", a->name, a->max_load,
		    b->max_load);
	assert_int_equal(a->timeout, b->timeout);
	if (conf_service_has(a, A_REDIRECT))
		assert_int_equal(a->redirect_idle, b->redirect_idle);
	assert_int_equal(a->naccess_times, b->naccess_times);
	for (size_t i = 0; i < a->naccess_times; i++) {
		assert_int_equal(a->access_times[i].start, b->access_times[i].start);
		assert_int_equal(a->access_times[i].end, b->access_times[i].end);
	}
	assert_int_equal(conf_service_has(a, A_ONLY_FROM), conf_service_has(b, A_ONLY_FROM));
	assert_string_equal(addrs(&a->only_from), addrs(&b->only_from));
	assert_int_equal(conf_service_has(a, A_NO_ACCESS), conf_service_has(b, A_NO_ACCESS));
	assert_string_equal(addrs(&a->no_access), addrs(&b->no_access));
	assert_int_equal(a->log_type.kind, b->log_type.kind);
	assert_int_equal(a->log_type.facility, b->log_type.facility);
	assert_int_equal(a->log_type.level, b->log_type.level);
	str_eq(a->log_type.path, b->log_type.path);
	assert_true(a->log_type.soft == b->log_type.soft);
	assert_true(a->log_type.hard == b->log_type.hard);
	assert_int_equal(a->log_on_failure, b->log_on_failure);
	assert_string_equal(words(&a->env), words(&b->env));
	assert_int_equal(conf_service_has(a, A_PASSENV), conf_service_has(b, A_PASSENV));
	assert_string_equal(words(&a->passenv), words(&b->passenv));
	str_eq(a->banner, b->banner);
	str_eq(a->banner_success, b->banner_success);
	str_eq(a->banner_fail, b->banner_fail);
	assert_int_equal(a->nice, b->nice);
	assert_int_equal(a->umask, b->umask);
	for (int r = 0; r < RL_MAX; r++) {
		assert_int_equal(conf_service_has(a, (enum attr_id)(A_RLIMIT_AS + r)),
		    conf_service_has(b, (enum attr_id)(A_RLIMIT_AS + r)));
		if (conf_service_has(a, (enum attr_id)(A_RLIMIT_AS + r)))
			assert_true(a->rlimit[r] == b->rlimit[r]);
	}
	assert_int_equal(conf_service_has(a, A_DENY_TIME), conf_service_has(b, A_DENY_TIME));
	assert_int_equal(a->deny_time, b->deny_time);
}

static void
same_config(const struct config *a, const struct config *b)
{
	assert_int_equal(a->nsvc, b->nsvc);
	for (size_t i = 0; i < a->nsvc; i++)
		same_service(a->svc[i], b->svc[i]);
}

static const char rich_config[] =
    "defaults\n"
    "{\n"
    "\tlog_type = SYSLOG authpriv warning\n"
    "\tlog_on_failure = HOST ATTEMPT\n"
    "\tno_access = 10.9.0.0/16\n"
    "\tpassenv = PATH\n"
    "\tbanner_fail = /etc/issue\n"
    "\tcps = 100 5\n"
    "\tper_source = 4\n"
    "\tmax_load = 2.5\n"
    "\tgroups = yes\n"
    "\tumask = 027\n"
    "\tbind = 0.0.0.0\n"
    "\tv6only = no\n"
    "\tbacklog = 64\n"
    "\ttimeout = 30\n"
    "\tper_source_prefix = 24 64\n"
    "\tper_source_cps = 3 6\n"
    "\tredirect_idle = 300\n"
    "\tdisabled = old\n"
    "}\n"
    "service svc1\n"
    "{\n"
    "\ttype = UNLISTED\n"
    "\tport = 4000\n"
    "\tsocket_type = stream\n"
    "\twait = no\n"
    "\tuser = nobody\n"
    "\tgroup = nogroup\n"
    "\tserver = /usr/sbin/tcpd\n"
    "\tserver_args = -a -b c=d e#f\n"
    "\tflags = NODELAY KEEPALIVE REUSE NOLIBWRAP NORETRY\n"
    "\tonly_from = 192.168.0.0/16 ::1 .example.com 10.0.0.0/8\n"
    "\tno_access += 10.9.8.7\n"
    "\taccess_times = 0:00-6:00 22:30-24:00 23:00-1:00\n"
    "\tlog_on_success = PID HOST USERID EXIT DURATION\n"
    "\tenv = LANG=C TZ=UTC\n"
    "\tpassenv += HOME\n"
    "\tbanner = /etc/motd\n"
    "\tbanner_success = /etc/motd\n"
    "\tnice = -3\n"
    "\trlimit_as = 64M\n"
    "\trlimit_cpu = UNLIMITED\n"
    "\trlimit_data = 1G\n"
    "\trlimit_rss = 512K\n"
    "\trlimit_stack = 8M\n"
    "\trlimit_files = 256\n"
    "\tinstances = UNLIMITED\n"
    "\tlisten_fds = no\n"
    "}\n"
    "service relay\n"
    "{\n"
    "\ttype = UNLISTED\n"
    "\tprotocol = tcp\n"
    "\tport = 4001\n"
    "\twait = no\n"
    "\tuser = 65534\n"
    "\tredirect = 10.0.0.1 ssh\n"
    "\tlog_on_success = TRAFFIC HOST\n"
    "\tredirect_idle = 60\n"
    "\tno_access =\n"
    "\tdeny_time = 10\n"
    "}\n"
    "service sensor\n"
    "{\n"
    "\ttype = UNLISTED\n"
    "\tflags = SENSOR IPv6\n"
    "\tsocket_type = dgram\n"
    "\twait = yes\n"
    "\tport = 4002\n"
    "\tdeny_time = FOREVER\n"
    "\tid = trap\n"
    "\tinterface = ::\n"
    "\tv6only = yes\n"
    "\tonly_from =\n"
    "\tpassenv =\n"
    "\tlog_on_success =\n"
    "}\n"
    "service old\n"
    "{\n"
    "\tuser = root\n"
    "}\n"
    "service gone\n"
    "{\n"
    "\tdisable = yes\n"
    "}\n"
    "service echo\n"
    "{\n"
    "\ttype = INTERNAL\n"
    "\tsocket_type = stream\n"
    "\twait = no\n"
    "\tdeny_time = NEVER\n"
    "\tlog_type = FILE /var/log/echo 100K\n"
    "\tmax_load = 0.25\n"
    "}\n";

static void
test_dump_roundtrip_rich(void **state)
{
	struct fx *f = *state;

	roundtrip(f, rich_config, FINISH);
	assert_int_equal(f->cf->nsvc, 4);
	same_config(f->cf, f->cf2);
}

static void
test_dump_roundtrip_checked(void **state)
{
	struct fx *f = *state;

	roundtrip(f,
	    "defaults\n{\n\tinstances = 9\n\tlog_on_success = PID\n\tv6only = yes\n}\n"
	    "service ftp\n{\n" BODY "\tserver_args = -l\n}\n"
	    "service tftp\n{\n\tprotocol = udp\n\twait = yes\n\tuser = 65534\n"
	    "\tserver = /bin/true\n\tper_source = 4\n\tflags = IPv4\n}\n"
	    "service echo\n{\n\ttype = INTERNAL\n\tid = e\n\tsocket_type = stream\n\twait = no\n"
	    "\tbind = 127.0.0.1\n}\n"
	    SVC("relay", "6000", "\tredirect = 127.0.0.1 22\n\tlog_on_success += TRAFFIC\n"),
	    CHECK);
	same_config(f->cf, f->cf2);
}

static void
test_dump_roundtrip_small_ones(void **state)
{
	struct fx *f = *state;
	static const char *const configs[] = {
		"",
		"service a\n{\n}\n",
		"service a\n{\n\tonly_from =\n\tno_access =\n\tpassenv =\n\tlog_on_failure =\n}\n",
		"defaults\n{\n\tonly_from = 10.0.0.0/8\n}\nservice a\n{\n\tonly_from -= "
		"10.0.0.0/8\n}\n",
		"service a {\n\tflags = INTERCEPT\n\trpc_version = 1-2\n\trpc_number = 7\n"
		"\tlibwrap = x\n\tmdns = no\n}\n",
		"SERVICE Mixed\n{\n\tLOG_TYPE = syslog LOCAL0\n\tUMASK = 0\n\tNICE = -20\n}\n",
		"service a\n{\n\tlog_type = FILE /x 2000K\n\tmax_load = 0.001\n}\n",
	};

	for (size_t i = 0; i < sizeof(configs) / sizeof(configs[0]); i++) {
		roundtrip(f, configs[i], FINISH);
		same_config(f->cf, f->cf2);
	}
}

static void
test_dump_roundtrip_keeps_max_load(void **state)
{
	struct fx *f = *state;

	static const char *const loads[] = { "1.23456789", "123456.7", "1000000", "0.00001" };

	/* The dump must say exactly what it read, in a form max_load takes
	 * (digits and a dot): a load reads back as the same number. */
	for (size_t i = 0; i < sizeof(loads) / sizeof(loads[0]); i++) {
		free(f->text);
		f->text = mem_asprintf("service a\n{\n\tmax_load = %s\n}\n", loads[i]);
		roundtrip(f, f->text, FINISH);
		same_config(f->cf, f->cf2);
	}
}

static void
test_dump_roundtrip_name_ending_in_brace(void **state)
{
	struct fx *f = *state;

	/* "service a{ {" names the entry "a{". Either the parser refuses
	 * that name, or the dump must read back as the same entry. */
	load(f, "service a{ {\n}\n", FINISH);
	if (f->d.errors != 0)
		return;
	roundtrip(f, "service a{ {\n}\n", FINISH);
	same_config(f->cf, f->cf2);
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
	const struct CMUnitTest tests[] = {
		T(test_lex_comment_at_line_start),
		T(test_lex_comment_after_blank),
		T(test_lex_hash_inside_token_is_literal),
		T(test_lex_crlf),
		T(test_lex_blank_lines_keep_numbers),
		T(test_lex_trims_blanks),
		T(test_lex_nul_byte),
		T(test_lex_nul_byte_through_parser),
		T(test_lex_last_line_without_newline),
		T(test_lex_long_line),
		T(test_lex_longest_line_accepted),
		T(test_split),

		T(test_parse_brace_on_keyword_line),
		T(test_parse_brace_on_next_line),
		T(test_parse_missing_open_brace),
		T(test_parse_missing_open_brace_defaults),
		T(test_parse_attr_without_spaces),
		T(test_parse_list_operators),
		T(test_parse_case_insensitive),
		T(test_parse_entry_errors),
		T(test_parse_second_defaults_in_file),
		T(test_parse_defaults_of_two_files_merge),
		T(test_parse_includes_refused),
		T(test_parse_attribute_set_twice),
		T(test_parse_wrong_operator),
		T(test_parse_not_allowed_in_defaults),
		T(test_parse_unknown_attribute),
		T(test_parse_value_counts),

		T(test_attr_id),
		T(test_attr_type),
		T(test_attr_flags),
		T(test_attr_socket_type_protocol),
		T(test_attr_wait),
		T(test_attr_user_group_groups),
		T(test_attr_server_args),
		T(test_attr_redirect),
		T(test_attr_port),
		T(test_attr_bind_interface),
		T(test_attr_v6only_backlog_listen_fds),
		T(test_attr_instances_per_source),
		T(test_attr_per_source_prefix_cps),
		T(test_attr_max_load_timeouts),
		T(test_attr_access_times),
		T(test_attr_only_from_no_access),
		T(test_attr_log_type_syslog),
		T(test_attr_log_type_file),
		T(test_attr_log_on),
		T(test_attr_env),
		T(test_attr_passenv),
		T(test_attr_banners),
		T(test_attr_nice_umask),
		T(test_attr_rlimits),
		T(test_attr_cgroup_limits),
		T(test_attr_deny_time),
	    T(test_attr_log_type_json),
		T(test_attr_deny_time_errors),
		T(test_attr_ignored_ones_warn),
		T(test_attr_enabled_disabled_parse),
		T(test_attr_disable),
		T(test_attr_names_in_enum_order),
		T(test_attr_table_whole),

		T(test_defaults_copied_only_after),
		T(test_defaults_filled_regardless_of_order),
		T(test_defaults_service_set_replaces_copied),
		T(test_defaults_service_add_and_remove),
		T(test_defaults_set_is_cumulative),
		T(test_defaults_single_valued_twice),
		T(test_defaults_enabled),
		T(test_defaults_enabled_by_id_only),
		T(test_defaults_disabled),
		T(test_defaults_disable_yes),

		T(test_check_valid_service),
		T(test_check_infer_socket_type),
		T(test_check_infer_protocol),
		T(test_check_socket_type_protocol_mismatch),
		T(test_check_missing_socket_type),
		T(test_check_missing_wait),
		T(test_check_missing_user),
		T(test_check_missing_server),
		T(test_check_missing_socket_type_and_wait),
		T(test_check_refused_value_is_not_missing),
		T(test_check_unknown_user_and_group),
		T(test_check_user_by_name),
		T(test_check_numeric_user_sets_gid),
		T(test_check_group_by_name_and_number),
		T(test_check_server_missing_file),
		T(test_check_server_not_executable),
		T(test_check_nameinargs_needs_args),
		T(test_check_unlisted_needs_port),
		T(test_check_services_lookup),
		T(test_check_services_lookup_uses_name_not_id),
		T(test_check_duplicate_listeners),
		T(test_check_listener_v4_bound_vs_dual_wildcard),
		T(test_check_listener_v4_bound_vs_v6only_wildcard),
		T(test_check_listener_v4_wildcard_vs_dual_wildcard),
		T(test_check_listener_v4_wildcard_vs_v6only_wildcard),
		T(test_check_listener_bound_addresses),
		T(test_check_listener_explicit_any_is_wildcard),
		T(test_check_tcpmux_clients_have_no_listener),
		T(test_check_duplicate_ids),
		T(test_check_faults),
		T(test_check_dgram_wait_no),
		T(test_check_internal),
		T(test_check_redirect),
		T(test_check_idonly),
		T(test_check_listen_fds),
		T(test_check_bind_resolution),
		T(test_check_bind_from_defaults),
		T(test_check_warnings),

		T(test_dump_exact_small),
		T(test_dump_exact_with_defaults),
		T(test_dump_empty_config),
		T(test_dump_roundtrip_rich),
		T(test_dump_roundtrip_checked),
		T(test_dump_roundtrip_small_ones),
		T(test_dump_roundtrip_keeps_max_load),
		T(test_dump_roundtrip_name_ending_in_brace),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
