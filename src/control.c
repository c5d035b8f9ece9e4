/*
 * control.c: the server side of the control socket porterctl(8) talks to.
 * A client sends one request line and gets one answer, "OK" or "ERR
 * message" followed by a body, then the connection closes; the words are
 * checked against ctl.h's table here and answered by command.c. Everything
 * runs in the event loop without blocking: requests are read and answers
 * written non-blocking, each with a deadline and a size bound. Only root,
 * porterd's own user and members of the socket file's group are served.
 */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "porterd.h"

#define CONTROL_READ_MS 5000   /* to send the request line */
#define CONTROL_WRITE_MS 30000 /* to take the whole answer */
#define CONTROL_CLIENTS 16     /* at once; the others wait in the backlog */
#define CONTROL_ARGS 16        /* words in a request */
#define CONTROL_BACKLOG 16
#define CONTROL_EMFILE_MS 250
#define CONTROL_SOCK_MODE 0660
#define CONTROL_DIR_MODE 0755
#define CONTROL_PRIVATE_MODE 0700 /* the fallback directory in /tmp */

/* ------------------------------------------------------------ dispatch */

bool
control_request(char *line, struct reply *r, struct cbuf *out)
{
	char *argv[CONTROL_ARGS + 1];
	int argc = 0;
	enum ctl_cmd c;
	const struct ctl_command *cmd;
	char *save = NULL;

	for (char *p = strtok_r(line, " \t\r", &save); p != NULL;
	     p = strtok_r(NULL, " \t\r", &save)) {
		if (strcmp(p, "--json") == 0)
			r->json = true;
		else if (argc <= CONTROL_ARGS)
			argv[argc++] = p;
	}
	if (argc == 0)
		snprintf(r->err, sizeof(r->err), "empty request");
	else if (argc > CONTROL_ARGS)
		snprintf(r->err, sizeof(r->err), "too many words in the request");
	else if ((c = ctl_find(argv[0])) == CTL_NCMDS)
		snprintf(r->err, sizeof(r->err), "unknown command \"%.64s\"", argv[0]);
	else {
		cmd = &ctl_commands[c];
		if (argc - 1 < cmd->min || argc - 1 > cmd->max + cmd->lookup)
			snprintf(r->err, sizeof(r->err), "usage: %s%s%s", cmd->name, cmd->args,
			    cmd->lookup ? CTL_LOOKUP_ARGS : "");
		else {
			log_debug("control: uid %d: %s", (int)r->uid, argv[0]);
			command_run(c, r, argc - 1, argv + 1);
		}
	}
	if (r->pending)
		return false;
	control_reply(r, out);
	return true;
}

void
control_reply(struct reply *r, struct cbuf *out)
{
	if (r->body.full) {
		/* Too long, or no memory: say so rather than send half. */
		cbuf_free(&r->body);
		snprintf(r->err, sizeof(r->err),
		    "the answer would be longer than %u bytes, or memory ran out", CBUF_MAX);
	}
	if (r->err[0] != '\0')
		cbuf_printf(out, "ERR %s\n", r->err);
	else
		cbuf_puts(out, "OK\n");
	if (r->body.len > 0)
		cbuf_add(out, r->body.p, r->body.len);
	cbuf_free(&r->body);
}

/* ------------------------------------------------------------ clients */

struct cclient {
	struct watch w; /* w.fd is the connection */
	struct timer t; /* read, then write deadline */
	struct ucred cred;
	bool writing;
	size_t inlen;
	char in[CTL_LINE_MAX + 1];
	struct cbuf out;
	size_t off;     /* first unsent byte of out */
	struct reply r; /* the request; it may wait (r.pending) */
	LIST_ENTRY(cclient) entry;
	struct loop_defer dead;
};

static struct watch control_lw = { .fd = -1 };
static struct timer control_rearm;
static bool control_emfile;
static char *control_path; /* the socket porterd made; NULL: none */
static dev_t control_dev;  /* the socket file's identity, so that exit */
static ino_t control_ino;  /* removes only that file */
static char *control_dir;  /* where the state dump goes */
static LIST_HEAD(, cclient) control_clients = LIST_HEAD_INITIALIZER(control_clients);
static size_t control_nclients;

static void
control_listen_update(void)
{
	bool want = control_lw.fd >= 0 && !control_emfile && control_nclients < CONTROL_CLIENTS;

	if (want && !control_lw.armed)
		loop_watch(&control_lw, EPOLLIN);
	else if (!want && control_lw.armed)
		loop_unwatch(&control_lw);
}

static void
control_client_free(void *p)
{
	struct cclient *c = p;

	cbuf_free(&c->out);
	cbuf_free(&c->r.body);
	free(c);
}

static void
control_client_close(struct cclient *c)
{
	char drain[512];

	LIST_REMOVE(c, entry);
	control_nclients--;
	reload_cancel(&c->r.wait);
	handover_forget(&c->r);
	loop_timer_cancel(&c->t);
	loop_unwatch(&c->w);
	/* Unread input would turn the close into a reset. */
	for (int i = 0; i < 16 && read(c->w.fd, drain, sizeof(drain)) > 0; i++)
		;
	close(c->w.fd);
	c->w.fd = -1;
	/* The loop may still hold c->w in this round of events. */
	loop_defer_free(&c->dead, c, control_client_free);
	control_listen_update();
}

static void
control_write(struct cclient *c)
{
	while (c->off < c->out.len) {
		ssize_t n = send(c->w.fd, c->out.p + c->off, c->out.len - c->off,
		    MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return;
			control_client_close(c);
			return;
		}
		c->off += (size_t)n;
	}
	control_client_close(c);
}

static void
control_answer(struct cclient *c)
{
	c->writing = true;
	loop_timer_set(&c->t, CONTROL_WRITE_MS);
	if (loop_watch(&c->w, EPOLLOUT) != 0) {
		control_client_close(c);
		return;
	}
	control_write(c);
}

static void
control_read(struct cclient *c)
{
	for (;;) {
		ssize_t n = read(c->w.fd, c->in + c->inlen, CTL_LINE_MAX - c->inlen);
		char *nl;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				control_client_close(c);
			return;
		}
		c->inlen += (size_t)n;
		c->in[c->inlen] = '\0';
		if ((nl = memchr(c->in, '\n', c->inlen)) != NULL || (n == 0 && c->inlen > 0)) {
			if (nl != NULL)
				*nl = '\0';
			if (strlen(c->in) != (nl != NULL ? (size_t)(nl - c->in) : c->inlen))
				cbuf_puts(&c->out, "ERR the request holds a NUL byte\n");
			else if (!control_request(c->in, &c->r, &c->out)) {
				/* control_done answers; until then a deadline. */
				loop_unwatch(&c->w);
				loop_timer_set(&c->t, CONTROL_WRITE_MS);
				return;
			}
			control_answer(c);
			return;
		}
		if (n == 0) {
			control_client_close(c);
			return;
		}
		if (c->inlen == CTL_LINE_MAX) {
			cbuf_printf(&c->out, "ERR the request is longer than %d bytes\n",
			    CTL_LINE_MAX);
			control_answer(c);
			return;
		}
	}
}

/* A request that waited is answered. */
static void
control_done(struct reply *r)
{
	struct cclient *c = (struct cclient *)(void *)((char *)r - offsetof(struct cclient, r));

	control_reply(r, &c->out);
	control_answer(c);
}

static void
control_client_ready(int fd, uint32_t events, void *arg)
{
	struct cclient *c = arg;

	(void)fd;
	if (c->writing)
		control_write(c);
	else if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		control_read(c);
}

static void
control_client_timeout(void *arg)
{
	struct cclient *c = arg;

	if (!c->writing) {
		static const char early[] = "ERR no request line within 5 seconds\n";
		static const char late[] =
		    "ERR the configuration is still being read; the daemon log will say how it ended\n";
		const char *msg = c->r.pending ? late : early;

		if (send(c->w.fd, msg, strlen(msg), MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
			/* It is going away either way. */
		}
	}
	control_client_close(c);
}

/*
 * Whether a group is among the peer's: its primary group, then its
 * supplementary groups as the kernel saw them at connect() (SO_PEERGROUPS),
 * or, on kernels without that, as /proc says for the peer's pid now.
 */
static bool
control_peer_in_group(int fd, const struct ucred *cred, gid_t gid)
{
	char path[64], *line = NULL;
	size_t cap = 0;
	bool found = false;
	FILE *fp;

	if (cred->gid == gid)
		return true;
#ifdef SO_PEERGROUPS
	{
		gid_t groups[256];
		socklen_t len = sizeof(groups);

		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) == 0) {
			for (size_t i = 0; i < len / sizeof(gid_t); i++)
				if (groups[i] == gid)
					return true;
			return false;
		}
	}
#else
	(void)fd;
#endif
	snprintf(path, sizeof(path), "/proc/%d/status", (int)cred->pid);
	if ((fp = fopen(path, "re")) == NULL)
		return false;
	while (!found && getline(&line, &cap, fp) > 0) {
		char *p, *end;

		if (strncmp(line, "Groups:", 7) != 0)
			continue;
		for (p = line + 7;; p = end) {
			unsigned long g = strtoul(p, &end, 10);

			if (end == p)
				break;
			if ((gid_t)g == gid) {
				found = true;
				break;
			}
		}
		break;
	}
	free(line);
	fclose(fp);
	return found;
}

/* Root, porterd's own user, and the socket file's group. */
static bool
control_allowed(int fd, const struct ucred *cred)
{
	struct stat st;

	if (cred->uid == 0 || cred->uid == geteuid())
		return true;
	if (control_path == NULL || stat(control_path, &st) != 0)
		return false;
	return control_peer_in_group(fd, cred, st.st_gid);
}

static void
control_client_new(int fd)
{
	struct cclient *c = calloc(1, sizeof(*c));
	socklen_t len = sizeof(struct ucred);

	if (c == NULL) {
		log_warnx("control: out of memory; a client is dropped");
		close(fd);
		return;
	}
	c->w.fd = fd;
	c->w.fn = control_client_ready;
	c->w.arg = c;
	c->t.fn = control_client_timeout;
	c->t.arg = c;
	LIST_INSERT_HEAD(&control_clients, c, entry);
	control_nclients++;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &c->cred, &len) != 0) {
		log_warn("control: SO_PEERCRED");
		control_client_close(c);
		return;
	}
	c->r.uid = c->cred.uid;
	c->r.done = control_done;
	if (!control_allowed(fd, &c->cred)) {
		log_warnx(
		    "control: uid %d (pid %d) refused: not root, porterd's user or a member of the socket's group",
		    (int)c->cred.uid, (int)c->cred.pid);
		cbuf_puts(&c->out, "ERR permission denied\n");
		control_answer(c);
		return;
	}
	loop_timer_set(&c->t, CONTROL_READ_MS);
	if (loop_watch(&c->w, EPOLLIN) != 0) {
		log_warn("control: watch");
		control_client_close(c);
	}
}

static void
control_rearm_fire(void *arg)
{
	(void)arg;
	control_emfile = false;
	control_listen_update();
}

static void
control_accept(int fd, uint32_t events, void *arg)
{
	(void)events, (void)arg;
	while (control_nclients < CONTROL_CLIENTS) {
		int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (c >= 0) {
			control_client_new(c);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
			log_warn("control: accept (pausing for %d ms)", CONTROL_EMFILE_MS);
			control_emfile = true;
			control_rearm.fn = control_rearm_fire;
			loop_timer_set(&control_rearm, CONTROL_EMFILE_MS);
		} else if (errno != EAGAIN)
			log_warn("control: accept");
		break;
	}
	control_listen_update();
}

/* ------------------------------------------------------------ the socket */

enum { OPEN_OK = 0, OPEN_FAILED = -1, OPEN_TAKEN = -2 };

static char *
control_dirname(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return mem_strdup(".");
	if (slash == path)
		return mem_strdup("/");
	return mem_strndup(path, (size_t)(slash - path));
}

/* The directory of the socket: created when missing; the private fallback
 * directory must belong to porterd's user and be writable by nobody else,
 * since /tmp is everyone's. */
static bool
control_mkdir(const char *dir, bool private, char *err, size_t errlen)
{
	struct stat st;

	if (mkdir(dir, private ? CONTROL_PRIVATE_MODE : CONTROL_DIR_MODE) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
		return false;
	}
	if (lstat(dir, &st) != 0) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return false;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s is not a directory", dir);
		return false;
	}
	if (private && (st.st_uid != geteuid() || (st.st_mode & 077) != 0)) {
		snprintf(err, errlen, "%s is not a private directory of uid %lu", dir,
		    (unsigned long)geteuid());
		return false;
	}
	return true;
}

/* Something at path: a socket nobody answers on is stale and goes; a live
 * one belongs to another porterd; anything else is left alone. */
static int
control_probe(const char *path, const struct sockaddr_un *sun, char *err, size_t errlen)
{
	struct stat st;
	int fd, rc;

	if (lstat(path, &st) != 0)
		return errno == ENOENT ? OPEN_OK : OPEN_FAILED;
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "%s exists and is not a socket", path);
		return OPEN_FAILED;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return OPEN_FAILED;
	}
	rc = connect(fd, (const struct sockaddr *)sun, sizeof(*sun));
	if (rc == 0 || errno == EAGAIN || errno == EINPROGRESS) {
		close(fd);
		return OPEN_TAKEN;
	}
	if (errno != ECONNREFUSED) {
		snprintf(err, errlen, "cannot tell whether %s is in use: %s", path,
		    strerror(errno));
		close(fd);
		return OPEN_FAILED;
	}
	close(fd);
	if (unlink(path) != 0) {
		snprintf(err, errlen, "cannot remove the stale %s: %s", path, strerror(errno));
		return OPEN_FAILED;
	}
	log_info("control: removed the stale socket %s", path);
	return OPEN_OK;
}

static int
control_open(const char *path, bool private, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	struct stat st;
	char *dir;
	mode_t mask;
	int fd, rc;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "the path is longer than %zu bytes",
		    sizeof(sun.sun_path) - 1);
		return OPEN_FAILED;
	}
	dir = control_dirname(path);
	free(control_dir);
	control_dir = dir;
	if (!control_mkdir(dir, private, err, errlen))
		return OPEN_FAILED;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path));
	if ((rc = control_probe(path, &sun, err, errlen)) != OPEN_OK)
		return rc;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return OPEN_FAILED;
	}
	/* Never wider than 0660, not even between bind and chmod. */
	mask = umask(0117);
	rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(mask);
	if (rc != 0) {
		snprintf(err, errlen, "bind: %s", strerror(errno));
		close(fd);
		return OPEN_FAILED;
	}
	if (chmod(path, CONTROL_SOCK_MODE) != 0 || listen(fd, CONTROL_BACKLOG) != 0 ||
	    stat(path, &st) != 0) {
		snprintf(err, errlen, "%s", strerror(errno));
		close(fd);
		unlink(path);
		return OPEN_FAILED;
	}
	control_dev = st.st_dev;
	control_ino = st.st_ino;
	control_path = mem_strdup(path);
	control_lw.fd = fd;
	control_lw.fn = control_accept;
	control_listen_update();
	log_info("control: listening on %s", path);
	return OPEN_OK;
}

int
control_init(const char *path)
{
	char err[512], fallback[PATH_MAX];
	int rc;

	if (path != NULL) {
		rc = control_open(path, false, err, sizeof(err));
		if (rc == OPEN_FAILED)
			log_warnx("control socket %s: %s; going on without one", path, err);
	} else {
		path = PORTER_CONTROL;
		rc = control_open(path, false, err, sizeof(err));
		if (rc == OPEN_FAILED) {
			/* A porterd that may not write /run (make run as a
			 * user) gets a socket of its own under /tmp. */
			snprintf(fallback, sizeof(fallback), PORTER_CONTROL_FALLBACK_DIR,
			    (unsigned long)geteuid());
			path = fallback;
			log_info("control socket %s: %s; trying %s/%s", PORTER_CONTROL, err,
			    fallback, PORTER_CONTROL_NAME);
			snprintf(fallback + strlen(fallback), sizeof(fallback) - strlen(fallback),
			    "/%s", PORTER_CONTROL_NAME);
			rc = control_open(fallback, true, err, sizeof(err));
			if (rc == OPEN_FAILED)
				log_warnx("control socket %s: %s; going on without one", fallback,
				    err);
		}
	}
	if (rc == OPEN_TAKEN) {
		log_warnx("control socket %s: another porterd answers there; not starting", path);
		return -1;
	}
	return 0;
}

void
control_suspend(void)
{
	struct stat st;

	loop_timer_cancel(&control_rearm);
	control_emfile = false;
	if (control_lw.fd >= 0) {
		loop_unwatch(&control_lw);
		close(control_lw.fd);
		control_lw.fd = -1;
	}
	/* Only the file this porterd made: someone may have replaced it. */
	if (control_path != NULL && stat(control_path, &st) == 0 && st.st_dev == control_dev &&
	    st.st_ino == control_ino)
		unlink(control_path);
	free(control_path);
	control_path = NULL;
}

void
control_end(void)
{
	while (!LIST_EMPTY(&control_clients)) {
		struct cclient *c = LIST_FIRST(&control_clients);

		LIST_REMOVE(c, entry);
		reload_cancel(&c->r.wait);
		handover_forget(&c->r);
		loop_timer_cancel(&c->t);
		loop_unwatch(&c->w);
		close(c->w.fd);
		control_client_free(c);
	}
	control_nclients = 0;
	control_suspend();
	free(control_dir);
	control_dir = NULL;
}

/* ------------------------------------------------------------ state dump */

/* The dump goes next to the socket, where an operator looks for it. */
void
control_dump(void)
{
	char *dir = control_dir != NULL ? control_dir : control_dirname(PORTER_CONTROL);

	dump_write(dir);
	if (dir != control_dir)
		free(dir);
}
