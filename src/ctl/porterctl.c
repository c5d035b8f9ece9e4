/*
 * porterctl.c: the operator's client for porterd's control socket. It
 * sends one request line, prints the body of the answer on standard output
 * and the message of an ERR answer on standard error, and exits 0 on OK,
 * 1 on ERR, 69 when porterd cannot be reached and 64 on a usage error. For
 * `explain` it looks the client's name up itself, so porterd never waits
 * for DNS.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "conf.h"
#include "ctl.h"

#define EXIT_UNAVAILABLE 69 /* sysexits(3) EX_UNAVAILABLE */
#define CTL_TIMEOUT_S 60    /* a reload of a big configuration takes a while */

static void
usage(FILE *fp)
{
	fputs("usage: porterctl [-C socket] [--json] [-n] command [argument ...]\n"
	      "commands:\n",
	    fp);
	for (size_t i = 0; i < CTL_NCMDS; i++)
		fprintf(fp, "  %s%s\n", ctl_commands[i].name, ctl_commands[i].args);
}

static _Noreturn void usage_error(const char *, ...) PRINTF(1, 2);

static _Noreturn void
usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("porterctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	usage(stderr);
	exit(EXIT_USAGE);
}

/* A word of the request: printable, without blanks, since the request is
 * one line of words. */
static bool
ctl_word_ok(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= ' ' || (unsigned char)*s == 0x7f)
			return false;
	return true;
}

/* An IPv4 or IPv6 literal, bare or in brackets. */
static bool
ctl_addr_ok(const char *text)
{
	unsigned char a[sizeof(struct in6_addr)];
	char buf[INET6_ADDRSTRLEN + 2];
	size_t n = strlen(text);

	if (n >= 2 && text[0] == '[' && text[n - 1] == ']' && n - 2 < sizeof(buf)) {
		memcpy(buf, text + 1, n - 2);
		buf[n - 2] = '\0';
		text = buf;
	}
	return inet_pton(AF_INET, text, a) == 1 || inet_pton(AF_INET6, text, a) == 1;
}

/* H:MM or HH:MM, a time of day. */
static bool
ctl_time_ok(const char *s)
{
	size_t h = strspn(s, "0123456789");
	unsigned hours = 0;

	if (h < 1 || h > 2 || s[h] != ':' || strspn(s + h + 1, "0123456789") != 2 ||
	    s[h + 3] != '\0')
		return false;
	for (size_t i = 0; i < h; i++)
		hours = hours * 10 + (unsigned)(s[i] - '0');
	return hours < 24 && s[h + 1] < '6';
}

/*
 * The client's reverse name as porterd's resolver would find it (the
 * address's PTR name, in lower case), or "" when it has none. An
 * IPv4-mapped IPv6 address is looked up as IPv4, as porterd sees it.
 */
static void
ctl_lookup(const char *text, char *name, size_t len)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	char buf[INET6_ADDRSTRLEN + 2];
	size_t n = strlen(text);
	socklen_t sl;

	name[0] = '\0';
	if (n >= 2 && text[0] == '[' && text[n - 1] == ']' && n - 2 < sizeof(buf)) {
		memcpy(buf, text + 1, n - 2);
		buf[n - 2] = '\0';
		text = buf;
	}
	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, text, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		sl = sizeof(*s4);
	} else if (inet_pton(AF_INET6, text, &s6->sin6_addr) == 1) {
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			struct in_addr a;

			memcpy(&a, &s6->sin6_addr.s6_addr[12], 4);
			memset(&ss, 0, sizeof(ss));
			s4->sin_family = AF_INET;
			s4->sin_addr = a;
			sl = sizeof(*s4);
		} else {
			s6->sin6_family = AF_INET6;
			sl = sizeof(*s6);
		}
	} else
		return;
	if (getnameinfo((struct sockaddr *)&ss, sl, name, (socklen_t)len, NULL, 0, NI_NAMEREQD) !=
	        0 ||
	    !ctl_word_ok(name)) {
		name[0] = '\0';
		return;
	}
	for (char *c = name; *c != '\0'; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
}

/* Connects to path; -1 with errno set when nobody answers there. */
static int
ctl_connect(const char *path)
{
	struct sockaddr_un sun;
	struct timeval tv = { CTL_TIMEOUT_S, 0 };
	int fd, saved;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

/*
 * The socket of ctl.h's rule: -C, else PORTER_CONTROL, else (when that
 * does not exist) the fallback a porterd that could not create it uses,
 * under /tmp for the same user.
 */
/* Whether the directory of path is the user's own: a directory, not a
 * link, owned by the user or root, writable by no one else. Anyone can
 * make a directory under /tmp, with a socket that answers as porterd. */
static bool
ctl_own_dir(const char *path)
{
	char dir[PATH_MAX];
	char *slash;
	struct stat st;

	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) != NULL)
		*slash = '\0';
	if (lstat(dir, &st) != 0)
		return true; /* nothing there: the connect says so */
	if (!S_ISDIR(st.st_mode) || (st.st_uid != geteuid() && st.st_uid != 0) ||
	    (st.st_mode & 022) != 0) {
		fprintf(stderr,
		    "porterctl: %s is not a directory of yours alone (owner, mode); not using it\n",
		    dir);
		return false;
	}
	return true;
}

static int
ctl_open(const char *given, char *used, size_t len)
{
	char fallback[PATH_MAX];
	int fd, err;

	snprintf(used, len, "%s", given != NULL ? given : PORTER_CONTROL);
	if ((fd = ctl_connect(used)) >= 0)
		return fd;
	if (given != NULL || (errno != ENOENT && errno != ENOTDIR)) {
		fprintf(stderr, "porterctl: cannot reach porterd at %s: %s\n", used,
		    strerror(errno));
		return -1;
	}
	err = errno;
	snprintf(fallback, sizeof(fallback), PORTER_CONTROL_FALLBACK_DIR "/%s",
	    (unsigned long)geteuid(), PORTER_CONTROL_NAME);
	if (!ctl_own_dir(fallback))
		return -1;
	if ((fd = ctl_connect(fallback)) >= 0) {
		snprintf(used, len, "%s", fallback);
		return fd;
	}
	fprintf(stderr, "porterctl: cannot reach porterd at %s: %s (nor at %s: %s)\n", used,
	    strerror(err), fallback, strerror(errno));
	return -1;
}

static bool
ctl_write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}

/* Writes what porterd answered, with every control character but the
 * newline and the tab shown as \xNN: an answer is no way to send escape
 * sequences to the operator's terminal. */
static bool
ctl_print(FILE *fp, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f) {
			if (fprintf(fp, "\\x%02x", c) < 0)
				return false;
		} else if (fputc(c, fp) == EOF)
			return false;
	}
	return true;
}

/* Reads the answer: the status line, then the body to stdout. */
static int
ctl_answer(int fd, const char *path)
{
	char buf[65536], status[1024];
	size_t slen = 0;
	bool have_status = false, ok = false;
	ssize_t n;

	for (;;) {
		char *p = buf;

		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "porterctl: %s: %s\n", path,
			    errno == EAGAIN ? "no answer in time" : strerror(errno));
			return EXIT_UNAVAILABLE;
		}
		if (n == 0)
			break;
		if (!have_status) {
			char *nl = memchr(buf, '\n', (size_t)n);
			size_t take = nl != NULL ? (size_t)(nl - buf) : (size_t)n;

			if (take > sizeof(status) - 1 - slen)
				take = sizeof(status) - 1 - slen;
			memcpy(status + slen, buf, take);
			slen += take;
			status[slen] = '\0';
			if (nl == NULL)
				continue;
			have_status = true;
			ok = strcmp(status, "OK") == 0;
			if (!ok && strncmp(status, "ERR", 3) != 0) {
				fprintf(stderr, "porterctl: %s: not an answer of porterd\n", path);
				return EXIT_UNAVAILABLE;
			}
			if (!ok) {
				const char *msg = status[3] == ' ' ? status + 4 : "error";

				fputs("porterctl: ", stderr);
				ctl_print(stderr, msg, strlen(msg));
				fputc('\n', stderr);
			}
			p = nl + 1;
			n -= p - buf;
		}
		if (n > 0 && !ctl_print(stdout, p, (size_t)n)) {
			perror("porterctl: stdout");
			return 1;
		}
	}
	if (!have_status) {
		fprintf(stderr, "porterctl: %s: porterd closed the connection without an answer\n",
		    path);
		return EXIT_UNAVAILABLE;
	}
	if (fflush(stdout) != 0) {
		perror("porterctl: stdout");
		return 1;
	}
	return ok ? 0 : 1;
}

int
main(int argc, char **argv)
{
	const char *sock = NULL, *words[16];
	char line[CTL_LINE_MAX], used[PATH_MAX], name[NI_MAXHOST + 8];
	bool json = false, lookup = true, opts_done = false;
	int nwords = 0, fd, rc;
	enum ctl_cmd cmd;
	size_t o;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!opts_done && strcmp(a, "--") == 0)
			opts_done = true;
		else if (!opts_done && strcmp(a, "--json") == 0)
			json = true;
		else if (!opts_done && strcmp(a, "-n") == 0)
			lookup = false;
		else if (!opts_done && strcmp(a, "-C") == 0 && nwords == 0) {
			if (++i >= argc)
				usage_error("option %s needs an argument", a);
			sock = argv[i];
		} else if (!opts_done && (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)) {
			usage(stdout);
			return 0;
		} else if (!opts_done && (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0)) {
			printf("porterctl %s\n", PORTER_VERSION);
			return 0;
		} else if (!opts_done && a[0] == '-' && a[1] != '\0' && nwords == 0)
			usage_error("unknown option \"%s\"", a);
		else if (nwords < (int)(sizeof(words) / sizeof(words[0])) - 1)
			words[nwords++] = a;
		else
			usage_error("too many arguments");
	}
	if (nwords == 0)
		usage_error("no command given");
	if ((cmd = ctl_find(words[0])) == CTL_NCMDS)
		usage_error("unknown command \"%s\"", words[0]);
	if (nwords - 1 < ctl_commands[cmd].min || nwords - 1 > ctl_commands[cmd].max) {
		fprintf(stderr, "porterctl: usage: porterctl %s%s\n", ctl_commands[cmd].name,
		    ctl_commands[cmd].args);
		return EXIT_USAGE;
	}
	for (int i = 1; i < nwords; i++)
		if (!ctl_word_ok(words[i]))
			usage_error("argument \"%s\" is empty or holds a blank", words[i]);

	if (cmd == CTL_EXPLAIN) {
		bool unix_client = strncmp(words[2], "uid:", 4) == 0 && words[2][4] != '\0';

		if (!unix_client && !ctl_addr_ok(words[2]))
			usage_error(
			    "explain: \"%s\" is not an IPv4 or IPv6 address, nor uid:USER for a Unix socket's client",
			    words[2]);
		if (unix_client)
			lookup = false; /* a user has no host name */
		if (nwords > 3 && !ctl_time_ok(words[3]))
			usage_error("explain: \"%s\" is not a time of day (HH:MM)", words[3]);
	}

	o = (size_t)snprintf(line, sizeof(line), "%s", words[0]);
	for (int i = 1; i < nwords && o < sizeof(line); i++)
		o += (size_t)snprintf(line + o, sizeof(line) - o, " %s", words[i]);
	if (ctl_commands[cmd].lookup) {
		char host[NI_MAXHOST];

		if (lookup) {
			ctl_lookup(words[2], host, sizeof(host));
			snprintf(name, sizeof(name), " name=%s", host);
		} else
			name[0] = '\0';
		if (o < sizeof(line))
			o += (size_t)snprintf(line + o, sizeof(line) - o, "%s", name);
	}
	if (json && o < sizeof(line))
		o += (size_t)snprintf(line + o, sizeof(line) - o, " --json");
	if (o + 1 >= sizeof(line))
		usage_error("the request is longer than %d bytes", CTL_LINE_MAX - 1);
	line[o++] = '\n';
	line[o] = '\0';

	if ((fd = ctl_open(sock, used, sizeof(used))) < 0)
		return EXIT_UNAVAILABLE;
	/* porterd may have answered and closed before reading (permission
	 * denied): the answer is still there to read. */
	if (!ctl_write_all(fd, line, o) && errno != EPIPE && errno != ECONNRESET) {
		fprintf(stderr, "porterctl: %s: %s\n", used, strerror(errno));
		close(fd);
		return EXIT_UNAVAILABLE;
	}
	shutdown(fd, SHUT_WR);
	rc = ctl_answer(fd, used);
	close(fd);
	return rc;
}
