/*
 * handover.c: porterctl restart. The running porterd starts a new one (the
 * same executable, the same arguments) and hands it every listening socket
 * over a socketpair, each with its service id, so that the new one adopts
 * them as it adopts systemd's (activate.c): no socket is ever closed, so no
 * client is ever refused. Only when the new one has loaded its
 * configuration and taken the sockets does the old one stop accepting and
 * give up the control socket; it then finishes its sessions, reaps its
 * servers and exits (main.c). If the new one fails first, the old one goes
 * on as if nothing had happened, and porterctl hears why.
 *
 * The conversation, one datagram each (SOCK_SEQPACKET):
 *   old -> new  "FD id" with the socket, for each one; then "END"
 *   new -> old  "READY" (sockets adopted, configuration loaded)
 *   old -> new  "GO" (the old one accepts no more, the control socket is free)
 *   new -> old  "UP pid" (serving, control socket bound)
 *   new -> old  "ERR message" at any point before UP: it gives up
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "porterd.h"

extern char **environ;

#define HANDOVER_ENV "PORTER_HANDOVER"
#define HANDOVER_TIMEOUT_MS 20000 /* for the new one to say UP */
#define HANDOVER_MSG_MAX 4096

/* ------------------------------------------------------------ old side */

enum handover_state { H_IDLE, H_STARTED, H_PAUSED };

static enum handover_state h_state;
static pid_t h_pid;
static struct watch h_watch = { .fd = -1 };
static struct timer h_timer;
static struct reply *h_reply;
static char h_error[HANDOVER_MSG_MAX];

static int
handover_send(int fd, const char *msg, int passfd)
{
	struct iovec iov = { .iov_base = (void *)(uintptr_t)msg, .iov_len = strlen(msg) };
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (passfd >= 0) {
		struct cmsghdr *c;

		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = sizeof(u.buf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &passfd, sizeof(int));
	}
	while (sendmsg(fd, &mh, MSG_NOSIGNAL) < 0)
		if (errno != EINTR)
			return -1;
	return 0;
}

/* Reads one datagram into buf (NUL-terminated); *passfd gets a socket
 * that came with it, or -1. Returns its length, 0 at EOF, -1 on error. */
static ssize_t
handover_recv(int fd, char *buf, size_t len, int *passfd)
{
	struct iovec iov = { .iov_base = buf, .iov_len = len - 1 };
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * 4)];
	} u;
	struct msghdr mh = { .msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = u.buf,
		.msg_controllen = sizeof(u.buf) };
	ssize_t n;

	*passfd = -1;
	while ((n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC)) < 0)
		if (errno != EINTR)
			return -1;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
			int got;

			memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (*passfd < 0)
				*passfd = got;
			else
				close(got);
		}
	}
	buf[n] = '\0';
	return n;
}

static void
handover_close(void)
{
	loop_timer_cancel(&h_timer);
	if (h_watch.fd >= 0) {
		loop_unwatch(&h_watch);
		close(h_watch.fd);
	}
	h_watch.fd = -1;
	h_state = H_IDLE;
	h_pid = 0;
}

static void
handover_answer(const char *err, const char *body)
{
	struct reply *r = h_reply;

	h_reply = NULL;
	if (r == NULL)
		return;
	if (err != NULL)
		snprintf(r->err, sizeof(r->err), "%s", err);
	if (body != NULL && body[0] != '\0')
		cbuf_printf(&r->body, "%s\n", body);
	r->pending = false;
	r->done(r);
}

/* The new porterd gave up or died: this one keeps serving. */
static void
handover_failed(const char *why)
{
	char msg[256];
	int status;
	bool paused = h_state == H_PAUSED;
	pid_t pid = h_pid;

	if (pid > 0) {
		/* Whatever it was doing, it is not taking over. */
		kill(pid, SIGKILL);
		if (waitpid(pid, &status, 0) != pid)
			status = -1;
	}
	handover_close();
	if (paused) {
		main_handover_resume();
		log_info("restart: accepting again");
	}
	snprintf(msg, sizeof(msg), "restart failed: %s; the running porterd goes on serving", why);
	log_warnx("%s", msg);
	if (h_error[0] != '\0') {
		for (char *line = strtok(h_error, "\n"); line != NULL; line = strtok(NULL, "\n"))
			log_warnx("restart: %s", line);
	}
	handover_answer(msg, h_error);
	h_error[0] = '\0';
}

static void
handover_timeout(void *arg)
{
	char why[64];

	(void)arg;
	snprintf(why, sizeof(why), "the new porterd did not start serving within %d s",
	    HANDOVER_TIMEOUT_MS / 1000);
	handover_failed(why);
}

static void
handover_from_new(int fd, uint32_t events, void *arg)
{
	char buf[HANDOVER_MSG_MAX], body[128];
	int passfd;
	ssize_t n;

	(void)events, (void)arg;
	n = handover_recv(fd, buf, sizeof(buf), &passfd);
	if (passfd >= 0)
		close(passfd);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	if (n <= 0) {
		handover_failed(h_error[0] != '\0' ? "the new porterd refused to start" :
		                                     "the new porterd exited before serving");
		return;
	}
	if (strncmp(buf, "ERR ", 4) == 0) {
		/* EOF follows; keep what it said for then. */
		snprintf(h_error, sizeof(h_error), "%s", buf + 4);
		return;
	}
	if (strcmp(buf, "READY") == 0 && h_state == H_STARTED) {
		/* From here on the new one accepts alone: the sockets stay
		 * open in both, so clients queue and nobody is refused. */
		main_handover_pause();
		h_state = H_PAUSED;
		if (handover_send(fd, "GO", -1) != 0)
			handover_failed("the new porterd went away");
		return;
	}
	if (strncmp(buf, "UP ", 3) == 0 && h_state == H_PAUSED) {
		pid_t pid = h_pid;

		handover_close();
		snprintf(body, sizeof(body), "restarted: porterd pid %d serves now", (int)pid);
		log_info("restart: pid %d serves now; finishing what runs here", (int)pid);
		handover_answer(NULL, body);
		main_handed_over(pid);
		return;
	}
	handover_failed("the new porterd said something unexpected");
}

struct handover_sending {
	int fd;
	int failed;
	size_t n;
};

static void
handover_send_fd(void *arg, int fd, const char *name)
{
	struct handover_sending *s = arg;
	char msg[HANDOVER_MSG_MAX];

	snprintf(msg, sizeof(msg), "FD %s", name != NULL ? name : "");
	if (s->failed == 0 && handover_send(s->fd, msg, fd) != 0)
		s->failed = errno;
	s->n++;
}

int
handover_start(struct reply *r, char **argv, char *err, size_t errlen)
{
	struct handover_sending sending = { 0 };
	char envvar[32];
	char **env;
	size_t n = 0;
	int sv[2], cwd;
	struct svc *svc;
	sigset_t none;

	if (h_state != H_IDLE) {
		snprintf(err, errlen, "a restart is already under way (pid %d)", (int)h_pid);
		return -1;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
		snprintf(err, errlen, "socketpair: %s", strerror(errno));
		return -1;
	}
	/* Everything the child needs is made before fork: a threaded
	 * process may only call async-signal-safe functions after it. */
	snprintf(envvar, sizeof(envvar), "%s=%d", HANDOVER_ENV, sv[1]);
	while (environ[n] != NULL)
		n++;
	env = mem_calloc(n + 2, sizeof(char *));
	n = 0;
	for (char **e = environ; *e != NULL; e++)
		if (strncmp(*e, HANDOVER_ENV "=", strlen(HANDOVER_ENV) + 1) != 0)
			env[n++] = *e;
	env[n++] = envvar;
	sigemptyset(&none);
	/* The arguments may name files relative to where porterd started. */
	cwd = main_start_dir();

	h_pid = fork();
	if (h_pid < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		free(env);
		close(sv[0]);
		close(sv[1]);
		h_pid = 0;
		return -1;
	}
	if (h_pid == 0) {
		static const char msg[] = "ERR cannot execute /proc/self/exe";

		sigprocmask(SIG_SETMASK, &none, NULL);
		if ((cwd < 0 || fchdir(cwd) == 0) && fcntl(sv[1], F_SETFD, 0) == 0)
			execve("/proc/self/exe", argv, env);
		if (send(sv[1], msg, sizeof(msg) - 1, MSG_NOSIGNAL) < 0) {
			/* The parent sees EOF either way. */
		}
		_exit(127);
	}
	free(env);
	close(sv[1]);
	log_info("restart requested through the control socket by uid %d: started pid %d",
	    (int)r->uid, (int)h_pid);
	h_state = H_STARTED;
	h_reply = r;
	h_error[0] = '\0';

	/* The sockets and their ids; what waits in the pool (a disabled
	 * service's socket from systemd) goes too. */
	sending.fd = sv[0];
	STAILQ_FOREACH(svc, &svc_list, link)
	if (svc->fd >= 0)
		handover_send_fd(&sending, svc->fd, svc->conf->id);
	activate_foreach(handover_send_fd, &sending);
	if (sending.failed == 0 && handover_send(sv[0], "END", -1) != 0)
		sending.failed = errno;
	h_watch.fd = sv[0];
	h_watch.fn = handover_from_new;
	if (sending.failed != 0 || loop_watch(&h_watch, EPOLLIN) != 0) {
		char why[128];

		snprintf(why, sizeof(why), "cannot hand the sockets over: %s",
		    strerror(sending.failed != 0 ? sending.failed : errno));
		/* Answered by the caller, not through done. */
		h_reply = NULL;
		handover_failed(why);
		snprintf(err, errlen, "restart failed: %s", why);
		return -1;
	}
	log_info("restart: %zu socket%s handed to pid %d", sending.n, sending.n == 1 ? "" : "s",
	    (int)h_pid);
	h_timer.fn = handover_timeout;
	loop_timer_set(&h_timer, HANDOVER_TIMEOUT_MS);
	r->pending = true;
	return 0;
}

void
handover_forget(const struct reply *r)
{
	if (h_reply == r)
		h_reply = NULL;
}

bool
handover_busy(void)
{
	return h_state != H_IDLE;
}

/* ------------------------------------------------------------ new side */

static int n_fd = -1; /* the socketpair, while taking over */

static const char *
handover_env(void)
{
	return getenv(HANDOVER_ENV);
}

bool
handover_taking_over(void)
{
	return n_fd >= 0 || handover_env() != NULL;
}

int
handover_receive(void)
{
	const char *v = handover_env();
	unsigned long long fd;
	struct timeval tv = { HANDOVER_TIMEOUT_MS / 1000, 0 };
	char buf[HANDOVER_MSG_MAX], from[32];
	size_t count = 0;

	if (v == NULL)
		return 0;
	if (!util_parse_uint(v, INT32_MAX, &fd)) {
		log_warnx("%s=%s is not a descriptor; ignored", HANDOVER_ENV, v);
		unsetenv(HANDOVER_ENV);
		return 0;
	}
	unsetenv(HANDOVER_ENV);
	n_fd = (int)fd;
	fcntl(n_fd, F_SETFD, FD_CLOEXEC);
	setsockopt(n_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	snprintf(from, sizeof(from), "pid %d", (int)getppid());
	for (;;) {
		int passfd;
		ssize_t n = handover_recv(n_fd, buf, sizeof(buf), &passfd);

		if (n <= 0) {
			log_warnx("restart: the sockets of %s did not all come: %s", from,
			    n < 0 ? strerror(errno) : "it went away");
			if (passfd >= 0)
				close(passfd);
			return -1;
		}
		if (strcmp(buf, "END") == 0)
			break;
		if (strncmp(buf, "FD ", 3) != 0 || passfd < 0) {
			if (passfd >= 0)
				close(passfd);
			continue;
		}
		activate_add(passfd, buf + 3, from);
		count++;
	}
	log_info("restart: taking over %zu socket%s from %s", count, count == 1 ? "" : "s", from);
	return 0;
}

int
handover_ready(void)
{
	char buf[64];
	int passfd;
	ssize_t n;

	if (n_fd < 0)
		return 0;
	if (handover_send(n_fd, "READY", -1) != 0)
		return -1;
	n = handover_recv(n_fd, buf, sizeof(buf), &passfd);
	if (passfd >= 0)
		close(passfd);
	if (n <= 0 || strcmp(buf, "GO") != 0) {
		log_warnx("restart: the porterd that restarted went away; not starting");
		return -1;
	}
	return 0;
}

void
handover_up(void)
{
	char msg[32];

	if (n_fd < 0)
		return;
	snprintf(msg, sizeof(msg), "UP %d", (int)getpid());
	if (handover_send(n_fd, msg, -1) != 0)
		log_warn("restart: telling the old porterd");
	close(n_fd);
	n_fd = -1;
}

void
handover_refuse(const char *why)
{
	const char *v = handover_env();
	char msg[HANDOVER_MSG_MAX];
	unsigned long long fd;

	if (n_fd < 0 && (v == NULL || !util_parse_uint(v, INT32_MAX, &fd)))
		return;
	if (n_fd < 0) {
		struct timeval tv = { 5, 0 };
		int passfd;
		ssize_t n;

		/* Take what the old one sent first: closing a socket with
		 * datagrams unread resets it, and the old one would read the
		 * reset instead of the reason. */
		n_fd = (int)fd;
		fcntl(n_fd, F_SETFD, FD_CLOEXEC);
		setsockopt(n_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		while ((n = handover_recv(n_fd, msg, sizeof(msg), &passfd)) > 0) {
			if (passfd >= 0)
				close(passfd);
			if (strcmp(msg, "END") == 0)
				break;
		}
	}
	snprintf(msg, sizeof(msg), "ERR %s", why);
	if (handover_send(n_fd, msg, -1) != 0) {
		/* It sees EOF. */
	}
	close(n_fd);
	n_fd = -1;
}
