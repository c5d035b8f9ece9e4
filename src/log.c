/*
 * log.c: porterd's own messages (to stderr in the foreground, to syslog, or
 * to a file) and the per-service lines START, EXIT, FAIL and friends. Those
 * are rendered from one event record, in xinetd's formats, which log parsers
 * and fail2ban already read, or as JSON objects; one renderer decides both,
 * so the two cannot drift apart. Formats are printf-checked; errno is
 * preserved.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "porterd.h"

static enum log_dest log_to = LOGTO_STDERR;
/* The name porterd's lines carry, for syslog and in its own text lines;
 * openlog() keeps a pointer to it, so it lives here for good. */
static char log_name[LOG_IDENT_MAX + 1] = "porterd";
static char *log_path;
static int log_fd = -1;
static bool log_debugging;

/* Files named by log_type = FILE, shared by every service that names the
 * same path. */
struct logfile {
	char *path;
	int fd;
	uint64_t size;
	bool soft_told;
	bool hard_told;
};
static struct logfile *log_files;
static size_t log_nfiles;

/* xinetd's stamp: two-digit year, month and day not padded. */
static size_t
log_stamp(char *buf, size_t len)
{
	struct tm tm;
	time_t now = time(NULL);

	localtime_r(&now, &tm);
	return (size_t)snprintf(buf, len, "%02d/%d/%d@%02d:%02d:%02d", tm.tm_year % 100,
	    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static void
log_open_file(void)
{
	if (log_to != LOGTO_FILE)
		return;
	if (log_fd >= 0)
		close(log_fd);
	log_fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
}

/*
 * A name that log parsers can take apart: what syslog calls a tag, at most
 * 32 characters (RFC 3164), printable and without the blank, colon and
 * brackets that end a tag or frame its pid in "name[pid]: ".
 */
bool
log_ident_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > LOG_IDENT_MAX)
		return false;
	for (const unsigned char *p = (const unsigned char *)name; *p != '\0'; p++)
		if (*p <= ' ' || *p >= 0x7f || strchr(":[]", *p) != NULL)
			return false;
	return true;
}

void
log_ident_set(const char *name)
{
	if (log_ident_ok(name))
		snprintf(log_name, sizeof(log_name), "%s", name);
}

int
log_init(enum log_dest to, const char *path, int facility, bool debug)
{
	log_to = to;
	log_debugging = debug;
	free(log_path);
	log_path = path != NULL ? mem_strdup(path) : NULL;
	if (to == LOGTO_SYSLOG)
		openlog(log_name, LOG_PID | LOG_NDELAY, facility);
	else
		openlog(log_name, LOG_PID, LOG_DAEMON);
	log_open_file();
	return to == LOGTO_FILE && log_fd < 0 ? -1 : 0;
}

void
log_reopen(void)
{
	log_open_file();
	log_service_reopen();
}

static void
log_emit(int pri, const char *level, const char *msg)
{
	char line[2300];
	char stamp[32];
	int n;

	if (log_to == LOGTO_SYSLOG) {
		syslog(pri, "%s", msg);
		return;
	}
	log_stamp(stamp, sizeof(stamp));
	n = snprintf(line, sizeof(line), "%s %s[%d]: %s: %s\n", stamp, log_name, (int)getpid(),
	    level, msg);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = (int)sizeof(line) - 1;
	if (write(log_to == LOGTO_FILE && log_fd >= 0 ? log_fd : STDERR_FILENO, line, (size_t)n) <
	    0) {
		/* Nowhere left to say it. */
	}
}

static void log_vmsg(int, const char *, const char *, const char *, va_list)
    __attribute__((format(printf, 4, 0)));

static void
log_vmsg(int pri, const char *level, const char *errstr, const char *fmt, va_list ap)
{
	char msg[2048];
	int saved = errno;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (errstr != NULL) {
		size_t n = strlen(msg);

		snprintf(msg + n, sizeof(msg) - n, ": %s", errstr);
	}
	log_emit(pri, level, msg);
	errno = saved;
}

void
log_warn(const char *fmt, ...)
{
	const char *e = strerror(errno);
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_WARNING, "WARNING", e, fmt, ap);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_WARNING, "WARNING", NULL, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_INFO, "INFO", NULL, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (!log_debugging)
		return;
	va_start(ap, fmt);
	log_vmsg(LOG_DEBUG, "DEBUG", NULL, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	const char *e = strerror(errno);
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_CRIT, "FATAL", e, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_CRIT, "FATAL", NULL, fmt, ap);
	va_end(ap);
	exit(1);
}

/* ------------------------------------------------------------ services */

static struct logfile *
log_file_get(const char *path)
{
	struct logfile *lf = NULL;
	struct stat st;

	for (size_t i = 0; i < log_nfiles; i++)
		if (strcmp(log_files[i].path, path) == 0)
			lf = &log_files[i];
	if (lf == NULL) {
		/* Met on a service's first line: out of memory loses the line,
		 * not the daemon. */
		struct logfile *v = realloc(log_files, (log_nfiles + 1) * sizeof(*log_files));
		char *p;

		if (v == NULL)
			return NULL;
		log_files = v;
		if ((p = strdup(path)) == NULL)
			return NULL;
		lf = &log_files[log_nfiles++];
		memset(lf, 0, sizeof(*lf));
		lf->path = p;
		lf->fd = -1;
	}
	if (lf->fd < 0) {
		/* A link planted where the file goes must not make root append
		 * through it. */
		lf->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (lf->fd < 0) {
			log_warn("log file %s", path);
			return NULL;
		}
		lf->size = fstat(lf->fd, &st) == 0 ? (uint64_t)st.st_size : 0;
	}
	return lf;
}

void
log_service_reopen(void)
{
	for (size_t i = 0; i < log_nfiles; i++) {
		if (log_files[i].fd >= 0)
			close(log_files[i].fd);
		log_files[i].fd = -1;
		log_files[i].soft_told = log_files[i].hard_told = false;
	}
}

/*
 * A service line is rendered from its event record into a fixed buffer, as
 * xinetd's text or as one JSON object. The text of a line has room for
 * LOG_LINE_MAX bytes and LOG_TAIL more are kept for the end, so that a line
 * that does not fit is still cut visibly: text ends with LOG_CUT_TEXT, and
 * JSON closes the string it was in and ends with LOG_CUT_JSON, so it stays
 * valid JSON whatever was cut.
 */
#define LOG_LINE_MAX 2048
#define LOG_TAIL 16
#define LOG_CUT_TEXT "[cut]"
#define LOG_CUT_JSON ",\"cut\":true}"

_Static_assert(sizeof(LOG_CUT_TEXT) <= LOG_TAIL && 1 + sizeof(LOG_CUT_JSON) <= LOG_TAIL,
    "the room kept for the end holds a closing quote and either marker");

static const char *const log_event_words[] = {
	[LOGEV_START] = "START",
	[LOGEV_EXIT] = "EXIT",
	[LOGEV_FAIL] = "FAIL",
	[LOGEV_TRAFFIC] = "TRAFFIC",
	[LOGEV_USERID] = "USERID",
	[LOGEV_NOID] = "NOID",
	[LOGEV_SUPPRESSED] = "SUPPRESSED",
};

/* A line being built: nothing is ever written past cap, and once something
 * did not fit the line is cut and takes nothing more. */
struct log_line {
	char *b;
	size_t cap; /* bytes the line may take before its end */
	size_t n;
	bool json;
	bool cut;
	bool in_str; /* JSON: inside a string, which the end must close */
	bool first;  /* JSON: no member yet, so the next has no comma */
	/* JSON: the words of the text line that are no name=value field,
	 * gathered into "reason", the last member. */
	char reason[128];
	size_t nreason;
};

/* Field flags. */
#define LF_BARE 0x1 /* text: the value alone, with no "name=" */
#define LF_NUM 0x2  /* JSON: a number, not quoted */
#define LF_PEER 0x4 /* sent by the peer: escaped in text lines too */
#define LF_LONG 0x8 /* may be cut inside; other values are whole or absent */

/* Text lines: a byte that is a control, a backslash or not ASCII becomes
 * \xNN, so a peer can neither break a line nor forge one, nor send a
 * terminal sequence to whoever reads the log. */
static size_t
log_esc_text(unsigned char c, char *out)
{
	static const char hex[] = "0123456789abcdef";

	if (c >= 0x20 && c < 0x7f && c != '\\') {
		out[0] = (char)c;
		return 1;
	}
	out[0] = '\\';
	out[1] = 'x';
	out[2] = hex[c >> 4];
	out[3] = hex[c & 0xf];
	return 4;
}

/* JSON strings: the quote and the backslash escaped, and a control or any
 * byte from 0x7f up written as \u00NN with the byte's value, so the object
 * is valid JSON, in ASCII, whatever the bytes; a reader gets each byte back
 * as the character of the same number. */
static size_t
log_esc_json(unsigned char c, char *out)
{
	static const char hex[] = "0123456789abcdef";

	if (c == '"' || c == '\\') {
		out[0] = '\\';
		out[1] = (char)c;
		return 2;
	}
	if (c >= 0x20 && c < 0x7f) {
		out[0] = (char)c;
		return 1;
	}
	memcpy(out, "\\u00", 4);
	out[4] = hex[c >> 4];
	out[5] = hex[c & 0xf];
	return 6;
}

/* Appends n bytes whole, or cuts the line. */
static bool
log_put(struct log_line *ln, const char *s, size_t n)
{
	if (ln->cut)
		return false;
	if (n > ln->cap - ln->n) {
		ln->cut = true;
		return false;
	}
	memcpy(ln->b + ln->n, s, n);
	ln->n += n;
	return true;
}

/* Appends s escaped for the line's format, one escape at a time so a cut
 * never splits one. The configuration's words go into text lines as they
 * are, as xinetd wrote them; what a peer sent is always escaped. */
static void
log_str(struct log_line *ln, const char *s, bool peer)
{
	char u[8];
	size_t k;

	for (; *s != '\0' && !ln->cut; s++) {
		if (ln->json)
			k = log_esc_json((unsigned char)*s, u);
		else if (peer)
			k = log_esc_text((unsigned char)*s, u);
		else {
			u[0] = *s;
			k = 1;
		}
		log_put(ln, u, k);
	}
}

/*
 * One field: " name=value" in text (" value" with LF_BARE), ,"name":value in
 * JSON, quoted unless LF_NUM. A field that does not fit is left out whole, so
 * a cut cannot turn an address or a number into another one; only an LF_LONG
 * value (the id, the ident answer) is cut inside, between two escapes.
 */
static void
log_field(struct log_line *ln, const char *name, const char *value, unsigned how)
{
	size_t mark = ln->n;
	bool first = ln->first, named;

	if (ln->cut)
		return;
	if (ln->json) {
		if (!ln->first)
			log_put(ln, ",", 1);
		log_put(ln, "\"", 1);
		log_put(ln, name, strlen(name));
		log_put(ln, "\":", 2);
		if (!(how & LF_NUM) && log_put(ln, "\"", 1))
			ln->in_str = true;
		ln->first = false;
	} else {
		log_put(ln, " ", 1);
		if (!(how & LF_BARE)) {
			log_put(ln, name, strlen(name));
			log_put(ln, "=", 1);
		}
	}
	named = !ln->cut;
	log_str(ln, value, (how & LF_PEER) != 0);
	if (ln->in_str && log_put(ln, "\"", 1))
		ln->in_str = false;
	if (ln->cut && !(named && (how & LF_LONG))) {
		ln->n = mark;
		ln->first = first;
		ln->in_str = false;
	}
}

static void log_num(struct log_line *, const char *, const char *, const char *, ...) PRINTF(4, 5);

/* A number field; unit, as "sec", follows the number in text lines. */
static void
log_num(struct log_line *ln, const char *name, const char *unit, const char *fmt, ...)
{
	char num[64];
	va_list ap;
	int k;

	va_start(ap, fmt);
	k = vsnprintf(num, sizeof(num) - 16, fmt, ap);
	va_end(ap);
	if (k < 0 || (size_t)k >= sizeof(num) - 16)
		return;
	if (unit != NULL && !ln->json)
		snprintf(num + k, sizeof(num) - (size_t)k, "(%.8s)", unit);
	log_field(ln, name, num, LF_NUM);
}

/* A word of the line that is no field (a reason, an address): in text it
 * follows what came before; JSON joins such words into "reason". */
static void
log_word(struct log_line *ln, const char *w)
{
	size_t k = strlen(w), sep = ln->nreason > 0;

	if (!ln->json) {
		log_field(ln, NULL, w, LF_BARE);
		return;
	}
	if (k + sep >= sizeof(ln->reason) - ln->nreason) {
		ln->cut = true;
		return;
	}
	if (sep)
		ln->reason[ln->nreason++] = ' ';
	memcpy(ln->reason + ln->nreason, w, k + 1);
	ln->nreason += k;
}

/* Ends the line in the room kept for it, with the marker when it was cut. */
static size_t
log_finish(struct log_line *ln)
{
	if (ln->json) {
		if (ln->nreason > 0)
			log_field(ln, "reason", ln->reason, 0);
		log_put(ln, "}", 1);
	}
	if (ln->cut) {
		const char *tail = ln->json ? LOG_CUT_JSON : LOG_CUT_TEXT;

		/* With no member before it, the JSON marker takes no comma. */
		if (ln->json && ln->first)
			tail++;
		if (ln->in_str)
			ln->b[ln->n++] = '"';
		memcpy(ln->b + ln->n, tail, strlen(tail));
		ln->n += strlen(tail);
	}
	ln->b[ln->n] = '\0';
	return ln->n;
}

/* Whether the service logs this event at all. With log_render below, the
 * only reader of log_on_success and log_on_failure. */
static bool
log_wanted(const struct log_event *ev)
{
	const struct service_config *s = ev->svc->conf;

	switch (ev->kind) {
	case LOGEV_START:
		return (s->log_on_success & ~L_TRAFFIC) != 0;
	case LOGEV_EXIT:
		return (s->log_on_success & (L_EXIT | L_DURATION)) != 0;
	case LOGEV_FAIL:
	case LOGEV_SUPPRESSED:
		return s->log_on_failure != 0;
	case LOGEV_TRAFFIC:
		return (s->log_on_success & L_TRAFFIC) != 0;
	case LOGEV_USERID:
	case LOGEV_NOID:
		/* The query was made because USERID or IDONLY asked for it. */
		return true;
	}
	return false;
}

size_t
log_render(const struct log_event *ev, bool json, const struct timespec *now, char *buf, size_t len)
{
	const struct service_config *s = ev->svc->conf;
	unsigned ok = ev->kind == LOGEV_FAIL || ev->kind == LOGEV_SUPPRESSED ? s->log_on_failure :
	                                                                       s->log_on_success;
	struct log_line ln = { .b = buf, .json = json, .first = true };
	char from[INET6_ADDRSTRLEN] = "<no address>", via[INET6_ADDRSTRLEN] = "", stamp[64];
	struct tm tm = { 0 };

	if (len < LOG_TAIL + 2) {
		if (len > 0)
			buf[0] = '\0';
		return 0;
	}
	ln.cap = len - 1 - LOG_TAIL;
	if (ev->peer != NULL)
		peer_addr(ev->peer, from, sizeof(from));
	if (ev->via != NULL)
		peer_addr(ev->via, via, sizeof(via));
	if (json) {
		gmtime_r(&now->tv_sec, &tm);
		snprintf(stamp, sizeof(stamp), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
		    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		    now->tv_nsec / 1000000);
		log_put(&ln, "{", 1);
		log_field(&ln, "time", stamp, 0);
		log_field(&ln, "event", log_event_words[ev->kind], 0);
	} else {
		log_put(&ln, log_event_words[ev->kind], strlen(log_event_words[ev->kind]));
		log_put(&ln, ":", 1);
	}
	log_field(&ln, "service", ev->id != NULL ? ev->id : s->id, LF_BARE | LF_LONG);

	/* Which fields the line carries. */
	switch (ev->kind) {
	case LOGEV_START:
		if (ok & L_PID)
			log_num(&ln, "pid", NULL, "%d", (int)ev->pid);
		if (ok & L_HOST)
			log_field(&ln, "from", from, 0);
		if ((ok & L_HOST) && via[0] != '\0')
			log_field(&ln, "via", via, 0);
		break;
	case LOGEV_EXIT:
		if ((ok & L_EXIT) && WIFSIGNALED(ev->status))
			log_num(&ln, "signal", NULL, "%d", WTERMSIG(ev->status));
		else if (ok & L_EXIT)
			log_num(&ln, "status", NULL, "%d", WEXITSTATUS(ev->status));
		if (ok & L_PID)
			log_num(&ln, "pid", NULL, "%d", (int)ev->pid);
		if (ok & L_DURATION)
			log_num(&ln, "duration", "sec", "%lld", ev->duration);
		if (ev->timeout > 0)
			log_num(&ln, "timeout", "sec", "%u", ev->timeout);
		if (ev->tls != NULL)
			log_field(&ln, "tls", ev->tls, 0);
		if (ev->cgroup_fired & CG_FIRED_OOM)
			log_word(&ln, "oom");
		if (ev->cgroup_fired & CG_FIRED_PIDS)
			log_word(&ln, "pids_max");
		if (ev->cgroup_fired & CG_FIRED_SERVICE_OOM)
			log_word(&ln, "service_oom");
		if (ev->cgroup_fired & CG_FIRED_SERVICE_PIDS)
			log_word(&ln, "service_pids_max");
		if (ev->reason != NULL)
			log_word(&ln, ev->reason);
		break;
	case LOGEV_FAIL:
		log_word(&ln, ev->reason);
		if (ok & L_HOST)
			log_field(&ln, "from", from, 0);
		if ((ok & L_HOST) && via[0] != '\0')
			log_field(&ln, "via", via, 0);
		break;
	case LOGEV_TRAFFIC:
		log_num(&ln, "in", "bytes", "%llu", (unsigned long long)ev->bytes_in);
		log_num(&ln, "out", "bytes", "%llu", (unsigned long long)ev->bytes_out);
		break;
	case LOGEV_USERID:
		log_field(&ln, "text", ev->userid, LF_BARE | LF_PEER | LF_LONG);
		break;
	case LOGEV_NOID:
		log_word(&ln, from);
		log_word(&ln, ev->reason);
		break;
	case LOGEV_SUPPRESSED:
		log_num(&ln, "lines", NULL, "%llu", (unsigned long long)ev->count);
		break;
	}
	return log_finish(&ln);
}

static void
log_service_file(const struct logtype *lt, const char *line, size_t n)
{
	struct logfile *lf = log_file_get(lt->path);
	char stamp[32];
	struct iovec iov[4];
	size_t k = 0, total = 0;

	if (lf == NULL)
		return;
	if (lt->hard != 0 && lf->size >= lt->hard) {
		if (!lf->hard_told)
			log_warnx(
			    "log file %s reached its hard limit of %llu bytes; no more lines are written to it",
			    lt->path, (unsigned long long)lt->hard);
		lf->hard_told = true;
		return;
	}
	if (lt->soft != 0 && lf->size >= lt->soft && !lf->soft_told) {
		log_warnx("log file %s is over its soft limit of %llu bytes", lt->path,
		    (unsigned long long)lt->soft);
		lf->soft_told = true;
	}
	/* A JSON object carries its own time; a text line gets xinetd's
	 * stamp. */
	if (!lt->json) {
		size_t sn = log_stamp(stamp, sizeof(stamp));

		iov[k++] = (struct iovec){ stamp, sn < sizeof(stamp) ? sn : sizeof(stamp) - 1 };
		iov[k++] = (struct iovec){ (char *)": ", 2 };
	}
	iov[k++] = (struct iovec){ (char *)line, n };
	iov[k++] = (struct iovec){ (char *)"\n", 1 };
	for (size_t i = 0; i < k; i++)
		total += iov[i].iov_len;
	if (writev(lf->fd, iov, (int)k) == (ssize_t)total)
		lf->size += total;
}

/* Renders the event as its service wants it and writes it there: to the
 * log_type, or to the daemon log when the service has none. */
static void
log_event_put(enum log_event_kind kind, const struct log_event *ev)
{
	const struct service_config *s = ev->svc->conf;
	const struct logtype *lt = &s->log_type;
	bool has = conf_service_has(s, A_LOG_TYPE);
	bool json = has && lt->kind == LOGT_FILE && lt->json;
	struct log_event e = *ev;
	char line[LOG_LINE_MAX + LOG_TAIL + 1];
	struct timespec now;
	size_t n;
	int saved = errno;

	e.kind = kind;
	if (!log_wanted(&e))
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	n = log_render(&e, json, &now, line, sizeof(line));
	if (!has)
		log_emit(LOG_INFO, "INFO", line);
	else if (lt->kind == LOGT_SYSLOG)
		syslog(lt->facility | lt->level, "%s", line);
	else
		log_service_file(lt, line, n);
	errno = saved;
}

void
log_start(const struct log_event *ev)
{
	log_event_put(LOGEV_START, ev);
}

void
log_exit(const struct log_event *ev)
{
	log_event_put(LOGEV_EXIT, ev);
}

void
log_fail(const struct log_event *ev)
{
	log_event_put(LOGEV_FAIL, ev);
}

void
log_traffic(const struct log_event *ev)
{
	log_event_put(LOGEV_TRAFFIC, ev);
}

void
log_suppressed(const struct log_event *ev)
{
	log_event_put(LOGEV_SUPPRESSED, ev);
}

void
log_userid(const struct log_event *ev)
{
	log_event_put(ev->userid != NULL ? LOGEV_USERID : LOGEV_NOID, ev);
}

void
log_end(void)
{
	log_service_reopen();
	for (size_t i = 0; i < log_nfiles; i++)
		free(log_files[i].path);
	free(log_files);
	log_files = NULL;
	log_nfiles = 0;
	if (log_fd >= 0)
		close(log_fd);
	log_fd = -1;
	free(log_path);
	log_path = NULL;
}
