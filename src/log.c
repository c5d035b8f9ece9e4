/*
 * log.c: porterd's own messages (to stderr in the foreground, to syslog, or
 * to a file) and the per-service lines START, EXIT, FAIL and friends in
 * xinetd's formats, which log parsers and fail2ban already read. One API,
 * printf-checked, errno preserved.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "porterd.h"

static enum log_dest log_to = LOGTO_STDERR;
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
	log_fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
}

int
log_init(enum log_dest to, const char *path, int facility, bool debug)
{
	log_to = to;
	log_debugging = debug;
	free(log_path);
	log_path = path != NULL ? mem_strdup(path) : NULL;
	if (to == LOGTO_SYSLOG)
		openlog("porterd", LOG_PID | LOG_NDELAY, facility);
	else
		openlog("porterd", LOG_PID, LOG_DAEMON);
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
	n = snprintf(line, sizeof(line), "%s porterd[%d]: %s: %s\n", stamp, (int)getpid(), level,
	    msg);
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
		lf->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
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

/* Appends s as a JSON string body (no quotes). */
static size_t
log_json_str(char *out, size_t len, size_t o, const char *s, size_t n)
{
	for (size_t i = 0; i < n && o + 7 < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c < 0x20) {
			o += (size_t)snprintf(out + o, len - o, "\\u%04x", c);
		} else
			out[o++] = (char)c;
	}
	out[o] = '\0';
	return o;
}

/*
 * A service line as one JSON object: "EVENT: id k=v ... words" becomes
 * {"time":..,"event":"EVENT","service":"id","k":v,..,"reason":"words"};
 * numbers stay numbers and "(sec)" or "(bytes)" units are dropped. USERID
 * lines keep their text whole.
 */
static void
log_json(const char *msg, char *out, size_t len)
{
	const char *colon = strstr(msg, ": "), *p, *end;
	char reason[512] = "";
	size_t o, r = 0;
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	o = (size_t)snprintf(out, len,
	    "{\"time\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ\",\"event\":\"", tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
	if (colon == NULL) {
		o = log_json_str(out, len, o, "MESSAGE", 7);
		o += (size_t)snprintf(out + o, len - o, "\",\"text\":\"");
		o = log_json_str(out, len, o, msg, strlen(msg));
		snprintf(out + o, len - o, "\"}");
		return;
	}
	o = log_json_str(out, len, o, msg, (size_t)(colon - msg));
	p = colon + 2;
	end = p + strcspn(p, " ");
	o += (size_t)snprintf(out + o, len - o, "\",\"service\":\"");
	o = log_json_str(out, len, o, p, (size_t)(end - p));
	o += (size_t)snprintf(out + o, len - o, "\"");
	p = *end == ' ' ? end + 1 : end;
	if (strncmp(msg, "USERID", 6) == 0) {
		o += (size_t)snprintf(out + o, len - o, ",\"text\":\"");
		o = log_json_str(out, len, o, p, strlen(p));
		o += (size_t)snprintf(out + o, len - o, "\"");
		p += strlen(p);
	}
	while (*p != '\0' && o + 8 < len) {
		const char *w = p, *we = p + strcspn(p, " "),
		           *eq = memchr(w, '=', (size_t)(we - w));

		/* "from=<no address>" is one value. */
		if (eq != NULL && eq[1] == '<' && memchr(eq, '>', (size_t)(we - eq)) == NULL &&
		    strchr(we, '>') != NULL)
			we = strchr(we, '>') + 1;

		p = *we == ' ' ? we + 1 : we;
		if (eq == NULL) {
			if (r > 0 && r + 1 < sizeof(reason))
				reason[r++] = ' ';
			while (w < we && r + 1 < sizeof(reason))
				reason[r++] = *w++;
			reason[r] = '\0';
			continue;
		}
		{
			const char *v = eq + 1, *ve = we;
			const char *paren = memchr(v, '(', (size_t)(ve - v));
			bool num;

			if (paren != NULL)
				ve = paren;
			num = ve > v && strspn(v, "0123456789") == (size_t)(ve - v);
			o += (size_t)snprintf(out + o, len - o, ",\"");
			o = log_json_str(out, len, o, w, (size_t)(eq - w));
			o += (size_t)snprintf(out + o, len - o, num ? "\":" : "\":\"");
			o = log_json_str(out, len, o, v, (size_t)(ve - v));
			if (!num)
				o += (size_t)snprintf(out + o, len - o, "\"");
		}
	}
	if (r > 0) {
		o += (size_t)snprintf(out + o, len - o, ",\"reason\":\"");
		o = log_json_str(out, len, o, reason, r);
		o += (size_t)snprintf(out + o, len - o, "\"");
	}
	snprintf(out + o, len - o, "}");
}

static void
log_service_file(const struct logtype *lt, const char *msg)
{
	struct logfile *lf = log_file_get(lt->path);
	char line[2300];
	char stamp[32];
	int n;

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
	if (lt->json) {
		log_json(msg, line, sizeof(line) - 1);
		n = (int)strlen(line);
		line[n++] = '\n';
	} else {
		log_stamp(stamp, sizeof(stamp));
		n = snprintf(line, sizeof(line), "%s: %s\n", stamp, msg);
	}
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = (int)sizeof(line) - 1;
	if (write(lf->fd, line, (size_t)n) == n)
		lf->size += (uint64_t)n;
}

void
log_service(const struct svc *svc, const char *fmt, ...)
{
	const struct logtype *lt = &svc->conf->log_type;
	char msg[2048];
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!conf_service_has(svc->conf, A_LOG_TYPE))
		log_emit(LOG_INFO, "INFO", msg);
	else if (lt->kind == LOGT_SYSLOG)
		syslog(lt->facility | lt->level, "%s", msg);
	else
		log_service_file(lt, msg);
	errno = saved;
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
