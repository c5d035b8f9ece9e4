/*
 * conf_parse.c: the xinetd.conf grammar. Entries and their braces, the
 * operators, include and includedir, and the diagnostics of each; the
 * values of every attribute are read as the table of conf_attr.c says.
 * Nothing here touches the system beyond reading the files, so `porterd -t`,
 * reload and the fuzzer all run exactly this path.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"

#define INCLUDE_DEPTH_MAX 16
#define CONF_FILE_MAX (16 * 1024 * 1024)

struct pctx {
	struct config *cf;
	const struct conf_opts *opts;
	struct diag *d;
	struct strv stack; /* files being parsed, for loop detection */
	int attr;          /* attribute of the line being parsed, or -1 */
};

/* ------------------------------------------------------------ grammar */

static void parse_file(struct pctx *, const char *path, struct loc from);

static void parse_attribute_line(struct pctx *, struct service_config *, const struct conf_line *);

/* A refused line marks its entry: the checks of a broken entry would only
 * repeat the error in other words ("missing attribute"). */
static void
parse_attribute(struct pctx *p, struct service_config *s, const struct conf_line *l)
{
	size_t before = p->d->errors;

	p->attr = -1;
	/* A wrong line in a service is that service's; in the defaults it is
	 * every service's. */
	p->d->svc = s->is_defaults ? NULL : s;
	parse_attribute_line(p, s, l);
	p->d->svc = NULL;
	if (p->d->errors != before) {
		s->broken = true;
		if (p->attr >= 0)
			attr_set_add(&s->refused, p->attr);
	}
}

static void
parse_attribute_line(struct pctx *p, struct service_config *s, const struct conf_line *l)
{
	const char *t = l->text;
	const struct conf_attr *a;
	struct strv vals = { 0 };
	enum attr_op op;
	char name[64];
	size_t n = 0;
	int id;

	while (isalnum((unsigned char)t[n]) || t[n] == '_')
		n++;
	if (n == 0 || n >= sizeof(name)) {
		diag_error(p->d, l->loc,
		    "expected an attribute (NAME = VALUE ...) or '}', found \"%s\"", t);
		return;
	}
	memcpy(name, t, n);
	name[n] = '\0';
	t += n;
	id = p->attr = conf_attr_lookup(name);
	while (*t == ' ' || *t == '\t')
		t++;
	if (t[0] == '=') {
		op = OP_SET;
		t += 1;
	} else if ((t[0] == '+' || t[0] == '-') && t[1] == '=') {
		op = t[0] == '+' ? OP_ADD : OP_DEL;
		t += 2;
	} else {
		diag_error(p->d, l->loc, "%s: expected '=', '+=' or '-=' after the attribute name",
		    name);
		return;
	}
	if (id < 0) {
		diag_error(p->d, l->loc, "unknown attribute \"%s\"", name);
		return;
	}
	a = conf_attr_get((enum attr_id)id);
	if (s->is_defaults && !(a->how & W_DEFAULTS)) {
		diag_error(p->d, l->loc, "%s is not allowed in defaults; set it in each service",
		    a->name);
		return;
	}
	if (!s->is_defaults && !(a->how & W_SERVICE)) {
		diag_error(p->d, l->loc, "%s is only allowed in defaults", a->name);
		return;
	}
	if (op != OP_SET && (a->how & (K_SINGLE))) {
		diag_error(p->d, l->loc, "%s takes '=' only, not '%s='", a->name,
		    op == OP_ADD ? "+" : "-");
		return;
	}
	if (op == OP_DEL && (a->how & K_ADD)) {
		diag_error(p->d, l->loc, "%s takes '=' or '+=', not '-='", a->name);
		return;
	}
	if (a->how & K_ALWAYS_ADD)
		op = OP_ADD;
	/* Inside defaults '=' adds to what earlier defaults said. */
	if (s->is_defaults && (a->how & K_LIST) && op == OP_SET)
		op = OP_ADD;
	if (attr_set_has(&s->own, id) && op == OP_SET) {
		struct loc prev = conf_service_at(s, (enum attr_id)id);

		if (a->how & K_SINGLE)
			diag_error(p->d, l->loc, "%s is already set at %s:%d", a->name, prev.file,
			    prev.line);
		else
			diag_error(p->d, l->loc,
			    "%s is already set at %s:%d; use '+=' to add to it", a->name, prev.file,
			    prev.line);
		return;
	}
	conf_lex_split(t, &vals);
	if ((int)vals.n < a->min || (a->max >= 0 && (int)vals.n > a->max)) {
		if (a->min == a->max)
			diag_error(p->d, l->loc, "%s takes %d value%s, not %zu", a->name, a->min,
			    a->min == 1 ? "" : "s", vals.n);
		else if (vals.n == 0)
			diag_error(p->d, l->loc, "%s needs a value", a->name);
		else
			diag_error(p->d, l->loc, "%s takes at most %d values, not %zu", a->name,
			    a->max, vals.n);
		strv_clear(&vals);
		return;
	}
	if (a->parse(p->d, s, a, op, &vals, l->loc)) {
		if (a->ignored != NULL)
			diag_warn(p->d, l->loc, "%s%s", a->name, a->ignored);
		conf_service_set(s, (enum attr_id)id, l->loc);
	}
	strv_clear(&vals);
}

static bool
word_is(const char *text, const char *kw, const char **rest)
{
	size_t n = strlen(kw);

	if (strncasecmp(text, kw, n) != 0 ||
	    (text[n] != '\0' && text[n] != ' ' && text[n] != '\t' && text[n] != '{'))
		return false;
	*rest = text + n;
	while (**rest == ' ' || **rest == '\t')
		(*rest)++;
	return true;
}

static int
compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
parse_include(struct pctx *p, const struct conf_line *l, const char *arg, bool dir)
{
	const char *kw = dir ? "includedir" : "include";
	struct strv w = { 0 };
	char *path;

	conf_lex_split(arg, &w);
	if (w.n != 1) {
		diag_error(p->d, l->loc, "%s takes one %s name", kw, dir ? "directory" : "file");
		strv_clear(&w);
		return;
	}
	if (p->opts != NULL && p->opts->no_includes) {
		diag_error(p->d, l->loc, "%s is not allowed here", kw);
		strv_clear(&w);
		return;
	}
	/* A relative name is taken from the including file's directory. */
	if (w.v[0][0] == '/')
		path = mem_strdup(w.v[0]);
	else {
		const char *slash = strrchr(l->loc.file, '/');

		path = slash == NULL ?
		    mem_strdup(w.v[0]) :
		    mem_asprintf("%.*s/%s", (int)(slash - l->loc.file), l->loc.file, w.v[0]);
	}
	strv_clear(&w);
	if (!dir) {
		parse_file(p, path, l->loc);
		free(path);
		return;
	}

	DIR *dp = opendir(path);
	struct strv names = { 0 }, skipped = { 0 };
	struct dirent *de;

	if (dp == NULL) {
		diag_error(p->d, l->loc, "includedir %s: %s", path, strerror(errno));
		free(path);
		return;
	}
	while ((de = readdir(dp)) != NULL) {
		size_t n = strlen(de->d_name);

		/* Package managers leave .rpmnew, .dpkg-old and backups~ beside
		 * the real files: skip every name with a dot or a trailing ~,
		 * as xinetd does, and let a check say so. */
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (strchr(de->d_name, '.') != NULL || (n > 0 && de->d_name[n - 1] == '~'))
			strv_push(&skipped, de->d_name);
		else
			strv_push(&names, de->d_name);
	}
	closedir(dp);
	/* An empty vector has no array at all, which qsort may not take. */
	if (names.n > 1)
		qsort(names.v, names.n, sizeof(*names.v), compare_names);
	if (skipped.n > 1)
		qsort(skipped.v, skipped.n, sizeof(*skipped.v), compare_names);
	for (size_t i = 0; i < skipped.n; i++)
		diag_note(p->d, l->loc,
		    "includedir %s: skipping %s: names with a dot or ending in ~ are skipped (package backups, editor files); rename it to include it",
		    path, skipped.v[i]);
	strv_clear(&skipped);
	for (size_t i = 0; i < names.n; i++) {
		char *f = mem_asprintf("%s/%s", path, names.v[i]);
		struct stat st;

		if (stat(f, &st) != 0)
			diag_warn(p->d, l->loc, "includedir %s: skipping %s: %s", path, names.v[i],
			    strerror(errno));
		else if (!S_ISREG(st.st_mode))
			diag_warn(p->d, l->loc, "includedir %s: skipping %s: not a regular file",
			    path, names.v[i]);
		else
			parse_file(p, f, l->loc);
		free(f);
	}
	strv_clear(&names);
	free(path);
}

/* Opens an entry; returns it, or NULL after a diagnostic. */
static struct service_config *
parse_open(struct pctx *p, const struct conf_line *l, const char *rest, bool is_defaults,
    bool *brace, const struct service_config *file_defaults)
{
	struct strv w = { 0 };
	struct service_config *s;
	size_t want = is_defaults ? 0 : 1;

	conf_lex_split(rest, &w);
	*brace = false;
	if (w.n > 0 && strcmp(w.v[w.n - 1], "{") == 0) {
		*brace = true;
		free(w.v[--w.n]);
		w.v[w.n] = NULL;
	} else if (w.n > 0 && w.v[w.n - 1][strlen(w.v[w.n - 1]) - 1] == '{' &&
	    strlen(w.v[w.n - 1]) > 1) {
		*brace = true;
		w.v[w.n - 1][strlen(w.v[w.n - 1]) - 1] = '\0';
	}
	if (w.n == 1 && !is_defaults && strpbrk(w.v[0], "{}") != NULL) {
		diag_error(p->d, l->loc, "a service name cannot contain a brace: \"%s\"", w.v[0]);
		strv_clear(&w);
		return NULL;
	}
	if (w.n != want) {
		if (is_defaults)
			diag_error(p->d, l->loc, "defaults takes no name");
		else if (w.n == 0)
			diag_error(p->d, l->loc, "service needs a name");
		else
			diag_error(p->d, l->loc, "a service name is one word, not \"%s\"", rest);
		strv_clear(&w);
		return NULL;
	}
	if (is_defaults) {
		if (file_defaults != NULL) {
			diag_error(p->d, l->loc,
			    "a second defaults entry in this file (the first is at line %d)",
			    file_defaults->loc.line);
			strv_clear(&w);
			return NULL;
		}
		if (p->cf->defaults == NULL) {
			p->cf->defaults = conf_service_new("defaults", l->loc);
			p->cf->defaults->is_defaults = true;
		}
		s = p->cf->defaults;
	} else {
		s = conf_service_new(w.v[0], l->loc);
		conf_defaults_copy(p->cf, s);
		s->own = (struct attr_set){ 0 };
	}
	strv_clear(&w);
	return s;
}

static void
parse_lines(struct pctx *p, const struct conf_lines *ls)
{
	enum { OUTSIDE, BRACE, INSIDE } st = OUTSIDE;
	struct service_config *cur = NULL;
	struct service_config file_defaults_mark = { 0 };
	const struct service_config *file_defaults = NULL;
	bool discard = false; /* cur is a throw-away for error recovery */

	for (size_t i = 0; i < ls->n; i++) {
		const struct conf_line *l = &ls->v[i];
		const char *rest;
		bool is_def;

		if (st == BRACE) {
			if (strcmp(l->text, "{") == 0) {
				st = INSIDE;
				continue;
			}
			if (cur->is_defaults)
				diag_error(p->d, l->loc,
				    "expected '{' on the line after 'defaults'");
			else
				diag_error(p->d, l->loc,
				    "expected '{' on the line after 'service %s'", cur->name);
			st = INSIDE;
			/* Read the line as part of the entry all the same. */
		}
		if (st == INSIDE) {
			if (strcmp(l->text, "}") == 0) {
				if (!cur->is_defaults && !discard)
					conf_add_service(p->cf, cur);
				else if (discard)
					conf_service_free(cur);
				cur = NULL;
				st = OUTSIDE;
				continue;
			}
			if (l->text[0] == '}') {
				diag_error(p->d, l->loc, "'}' must be alone on its line");
				/* It still closes the entry. */
				if (!cur->is_defaults && !discard)
					conf_add_service(p->cf, cur);
				else if (discard)
					conf_service_free(cur);
				cur = NULL;
				st = OUTSIDE;
				continue;
			}
			if (word_is(l->text, "service", &rest) ||
			    word_is(l->text, "defaults", &rest) ||
			    word_is(l->text, "include", &rest) ||
			    word_is(l->text, "includedir", &rest)) {
				diag_error(p->d, l->loc,
				    "missing '}' to close the entry opened at line %d",
				    cur->loc.line);
				if (!cur->is_defaults && !discard)
					conf_add_service(p->cf, cur);
				else if (discard)
					conf_service_free(cur);
				cur = NULL;
				st = OUTSIDE;
			} else {
				parse_attribute(p, cur, l);
				continue;
			}
		}
		/* OUTSIDE */
		if (word_is(l->text, "includedir", &rest))
			parse_include(p, l, rest, true);
		else if (word_is(l->text, "include", &rest))
			parse_include(p, l, rest, false);
		else if ((is_def = word_is(l->text, "defaults", &rest)) ||
		    word_is(l->text, "service", &rest)) {
			bool brace;

			cur = parse_open(p, l, rest, is_def, &brace, file_defaults);
			discard = false;
			if (cur == NULL) {
				/* Parse the body anyway so its errors are reported. */
				cur = conf_service_new("?", l->loc);
				cur->is_defaults = is_def;
				discard = true;
			} else if (is_def) {
				file_defaults_mark.loc = l->loc;
				file_defaults = &file_defaults_mark;
			}
			st = brace ? INSIDE : BRACE;
		} else if (strcmp(l->text, "{") == 0 || strcmp(l->text, "}") == 0)
			diag_error(p->d, l->loc, "'%s' outside of an entry", l->text);
		else
			diag_error(p->d, l->loc,
			    "expected 'service NAME', 'defaults', 'include FILE' or 'includedir DIR', not \"%s\"",
			    l->text);
	}
	if (cur != NULL) {
		diag_error(p->d, cur->loc,
		    "missing '}' at the end of the file for the entry opened here");
		if (!cur->is_defaults && !discard)
			conf_add_service(p->cf, cur);
		else if (discard)
			conf_service_free(cur);
	}
}

static bool
read_file(struct pctx *p, const char *path, struct loc from, char **buf, size_t *len)
{
	struct stat st;
	ssize_t r;
	size_t got = 0;
	int fd;

	/* Without blocking: a FIFO or a device named as a configuration file
	 * must be an error, not a start-up that waits for a writer. */
	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)) < 0) {
		if (from.file == NULL)
			diag_error(p->d, (struct loc){ path, 0 }, "%s", strerror(errno));
		else
			diag_error(p->d, from, "include %s: %s", path, strerror(errno));
		return false;
	}
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		if (from.file == NULL)
			diag_error(p->d, (struct loc){ path, 0 }, "is a directory");
		else
			diag_error(p->d, from, "include %s: is a directory; use includedir", path);
		close(fd);
		return false;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > CONF_FILE_MAX) {
		if (from.file == NULL)
			diag_error(p->d, (struct loc){ path, 0 },
			    "not a regular file of at most 16 MiB");
		else
			diag_error(p->d, from, "include %s: not a regular file of at most 16 MiB",
			    path);
		close(fd);
		return false;
	}
	if (st.st_mode & S_IWOTH)
		diag_warn(p->d, from.file == NULL ? (struct loc){ path, 0 } : from,
		    "%s is writable by anyone, who could then change what porterd runs as root",
		    path);
	*buf = mem_alloc((size_t)st.st_size + 1);
	while (got < (size_t)st.st_size && (r = read(fd, *buf + got, (size_t)st.st_size - got)) > 0)
		got += (size_t)r;
	close(fd);
	*len = got;
	return true;
}

static void
parse_file(struct pctx *p, const char *path, struct loc from)
{
	char real[PATH_MAX];
	struct conf_lines ls = { 0 };
	const char *name;
	char *buf;
	size_t len;

	if (realpath(path, real) == NULL)
		snprintf(real, sizeof(real), "%s", path);
	if (p->stack.n > 0 && strcmp(p->stack.v[p->stack.n - 1], real) == 0) {
		diag_error(p->d, from, "include loop: %s includes itself", path);
		return;
	}
	if (strv_has(&p->stack, real)) {
		diag_error(p->d, from, "include loop: %s is already being read", path);
		return;
	}
	if (p->stack.n >= INCLUDE_DEPTH_MAX) {
		diag_error(p->d, from, "includes nested more than %d deep", INCLUDE_DEPTH_MAX);
		return;
	}
	if (!read_file(p, path, from, &buf, &len))
		return;
	name = conf_intern(p->cf, path);
	strv_push(&p->stack, real);
	if (conf_lex(buf, len, name, &ls, p->d))
		parse_lines(p, &ls);
	free(p->stack.v[--p->stack.n]);
	p->stack.v[p->stack.n] = NULL;
	conf_lex_free(&ls);
	free(buf);
}

bool
conf_parse_file(struct config *cf, const char *path, const struct conf_opts *opts, struct diag *d)
{
	struct pctx p = { cf, opts, d, { 0 }, -1 };
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		diag_error(d, (struct loc){ path, 0 }, "%s", strerror(errno));
		return false;
	}
	close(fd);
	parse_file(&p, path, (struct loc){ NULL, 0 });
	strv_clear(&p.stack);
	return true;
}

void
conf_parse_buffer(struct config *cf, const char *name, const char *buf, size_t len,
    const struct conf_opts *opts, struct diag *d)
{
	struct pctx p = { cf, opts, d, { 0 }, -1 };
	struct conf_lines ls = { 0 };
	const char *n = conf_intern(cf, name);

	if (conf_lex(buf, len, n, &ls, d))
		parse_lines(&p, &ls);
	conf_lex_free(&ls);
	strv_clear(&p.stack);
}
