/*
 * child.c: the table of running servers, keyed by pid. Reaping happens on
 * SIGCHLD through the loop; every exit is logged, releases its service's
 * instance and resumes a wait = yes service. Pids porterd does not know
 * (orphans re-parented to porterd as PID 1) are reaped quietly.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "porterd.h"

#define CHILD_BUCKETS 1024

static struct child *child_hash[CHILD_BUCKETS];
static size_t child_n;

static size_t
child_bucket(pid_t pid)
{
	return (size_t)pid % CHILD_BUCKETS;
}

struct child *
child_add(pid_t pid, struct svc *svc, const struct peer *peer)
{
	struct child *c = mem_calloc(1, sizeof(*c));
	size_t b = child_bucket(pid);

	c->pid = pid;
	c->svc = svc;
	if (peer != NULL)
		c->peer = *peer;
	c->start = loop_now();
	c->start_wall = time(NULL);
	c->next = child_hash[b];
	child_hash[b] = c;
	child_n++;
	svc->running++;
	return c;
}

struct child *
child_find(pid_t pid)
{
	for (struct child *c = child_hash[child_bucket(pid)]; c != NULL; c = c->next)
		if (c->pid == pid)
			return c;
	return NULL;
}

static void
child_cap_fire(void *arg)
{
	struct child *c = arg;

	/* The whole process group: what the server started goes too. */
	c->timed_out = true;
	if (kill(-c->pid, SIGKILL) != 0)
		kill(c->pid, SIGKILL);
}

void
child_cap(struct child *c, uint64_t ms)
{
	c->cap.fn = child_cap_fire;
	c->cap.arg = c;
	loop_timer_set(&c->cap, ms);
}

static void
child_remove(struct child *c)
{
	struct child **pp = &child_hash[child_bucket(c->pid)];

	loop_timer_cancel(&c->cap);
	if (c->counted && c->svc != NULL && c->svc->per_source != NULL)
		limits_count_dec(c->svc->per_source, &c->key);

	while (*pp != c)
		pp = &(*pp)->next;
	*pp = c->next;
	child_n--;
	free(c);
}

void
child_reap(void)
{
	static int init = -1; /* porterd is PID 1: orphans come to it too */
	int status;
	pid_t pid;

	if (init < 0)
		init = getpid() == 1;
	/* With no server left and no orphans to expect, the waitpid that
	 * would only say so is skipped. */
	while ((child_n > 0 || init) && (pid = waitpid(-1, &status, WNOHANG)) > 0) {
		struct child *c = child_find(pid);
		struct svc *svc;

		if (c == NULL)
			continue; /* not ours: an orphan we inherited */
		svc = c->svc;
		if (svc != NULL) {
			/* An exec failure was logged as FAIL: it never started. */
			if (!c->exec_failed)
				log_exit(&(struct log_event){ .svc = svc,
				    .pid = c->pid,
				    .status = status,
				    .duration = time(NULL) - c->start_wall,
				    .timeout = c->timed_out ? svc->conf->timeout : 0 });
			if (svc->running > 0)
				svc->running--;
			if (svc->conf->wait == 1)
				service_resume(svc, PAUSE_WAIT);
		}
		child_remove(c);
	}
}

void
child_kill(const struct svc *svc, int sig)
{
	for (size_t b = 0; b < CHILD_BUCKETS; b++) {
		for (struct child *c = child_hash[b]; c != NULL; c = c->next) {
			if (svc != NULL && c->svc != svc)
				continue;
			/* Each server leads its own session and process group,
			 * so what it started goes with it. */
			if (kill(-c->pid, sig) != 0 && errno == ESRCH)
				kill(c->pid, sig);
		}
	}
}

#define ORPHAN_GRACE_MS 3000

static struct timer orphan_timer;

/* Servers of removed services that outlived their SIGTERM get SIGKILL. */
static void
child_orphans_kill(void *arg)
{
	(void)arg;
	for (size_t b = 0; b < CHILD_BUCKETS; b++)
		for (struct child *c = child_hash[b]; c != NULL; c = c->next)
			if (c->svc == NULL && c->doomed && loop_now() >= c->doomed) {
				log_warnx("pid %d of a removed service did not stop; killing it",
				    (int)c->pid);
				if (kill(-c->pid, SIGKILL) != 0)
					kill(c->pid, SIGKILL);
			}
}

void
child_orphan(const struct svc *svc)
{
	bool any = false;

	for (size_t b = 0; b < CHILD_BUCKETS; b++)
		for (struct child *c = child_hash[b]; c != NULL; c = c->next)
			if (c->svc == svc) {
				c->svc = NULL;
				c->counted = false;
				loop_timer_cancel(&c->cap);
				c->doomed = loop_now() + ORPHAN_GRACE_MS;
				any = true;
			}
	if (any) {
		orphan_timer.fn = child_orphans_kill;
		loop_timer_set(&orphan_timer, ORPHAN_GRACE_MS);
	}
}

size_t
child_count(void)
{
	return child_n;
}

void
child_free_all(void)
{
	for (size_t b = 0; b < CHILD_BUCKETS; b++) {
		while (child_hash[b] != NULL) {
			struct child *c = child_hash[b];

			child_hash[b] = c->next;
			loop_timer_cancel(&c->cap);
			free(c);
		}
	}
	child_n = 0;
	loop_timer_cancel(&orphan_timer);
}

void
child_foreach(void (*fn)(void *arg, const struct child *), void *arg)
{
	for (size_t b = 0; b < CHILD_BUCKETS; b++)
		for (const struct child *c = child_hash[b]; c != NULL; c = c->next)
			fn(arg, c);
}
