/*
 * child.c: the table of running servers, keyed by pid. Reaping happens on
 * SIGCHLD through the loop; every exit is logged, releases its service's
 * instance and resumes a wait = yes service. Pids porterd does not know
 * (orphans re-parented to porterd as PID 1) are reaped quietly.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "porterd.h"

#define CHILD_BUCKETS 1024

static LIST_HEAD(, child) child_hash[CHILD_BUCKETS];
static size_t child_n;

static size_t
child_bucket(pid_t pid)
{
	return (size_t)pid % CHILD_BUCKETS;
}

struct child *
child_new(void)
{
	return calloc(1, sizeof(struct child));
}

void
child_add(struct child *c, pid_t pid, struct svc *svc, const struct peer *peer)
{
	size_t b = child_bucket(pid);

	c->pid = pid;
	c->svc = svc;
	if (peer != NULL)
		c->peer = *peer;
	c->start = loop_now();
	c->start_wall = time(NULL);
	LIST_INSERT_HEAD(&child_hash[b], c, chain);
	child_n++;
	service_take(svc, peer, &c->slot);
}

struct child *
child_find(pid_t pid)
{
	struct child *c;

	LIST_FOREACH(c, &child_hash[child_bucket(pid)], chain)
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
	/* And what left the process group: setsid() does not leave a cgroup. */
	cgroup_conn_kill(c->cg);
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
	loop_timer_cancel(&c->cap);
	cgroup_conn_end(c->cg);
	LIST_REMOVE(c, chain);
	child_n--;
	free(c);
}

#define RESPAWN_FAST_MS 1000 /* a wait = yes server that lived less ... */
#define RESPAWN_FIRST_MS 100 /* ... makes the next one wait this, doubled */
#define RESPAWN_MAX_MS 10000 /* each time it happens again, up to this */

/*
 * A wait = yes server has exited: the service watches its socket again.
 * A server that exits at once without taking what waits there (it cannot
 * accept, or is the wrong program) would be started again and again as
 * fast as it dies; after such a quick exit the next start waits, longer
 * each time, until a server lives a while.
 */
static void
child_wait_over(struct svc *svc, const struct child *c)
{
	uint64_t lived = loop_now() - c->start, ms;

	service_resume(svc, PAUSE_WAIT);
	if (lived >= RESPAWN_FAST_MS) {
		svc->respawns = 0;
		return;
	}
	ms = RESPAWN_FIRST_MS << (svc->respawns < 7 ? svc->respawns : 7);
	if (ms > RESPAWN_MAX_MS)
		ms = RESPAWN_MAX_MS;
	if (svc->respawns++ == 3)
		log_warnx(
		    "%s: servers exit at once; starting the next one after a pause of up to %d ms",
		    svc->conf->id, RESPAWN_MAX_MS);
	service_pause(svc, PAUSE_RETRY);
	loop_timer_set(&svc->resume, ms);
}

/* A server its system call filter killed: the kernel says so with SIGSYS,
 * and which call it was is not told to the parent. */
static const char *
child_sigsys(const struct svc *svc, pid_t pid, int status)
{
	static char why[96];
	const char *call;

	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGSYS ||
	    !sandbox_has_filter(svc->conf->sandbox))
		return NULL;
	if ((call = sandbox_killed_call(pid)) == NULL)
		return "seccomp";
	snprintf(why, sizeof(why), "seccomp syscall=%s", call);
	return why;
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
		/* The server is gone: nothing it started outlives it. What
		 * the cgroup counted is read before the directory goes. */
		cgroup_conn_kill(c->cg);
		if (svc != NULL) {
			/* An exec failure was logged as FAIL: it never started. */
			if (!c->exec_failed)
				log_exit(&(struct log_event){ .svc = svc,
				    .tls = c->tls,
				    .pid = c->pid,
				    .status = status,
				    .duration = time(NULL) - c->start_wall,
				    .timeout = c->timed_out ? svc->conf->timeout : 0,
				    .cgroup_fired =
				        c->cg != NULL ? cgroup_conn_fired(c->cg, status) : 0,
				    .reason = child_sigsys(svc, c->pid, status) });
			service_release(svc, &c->slot);
			if (svc->conf->wait == 1)
				child_wait_over(svc, c);
		}
		child_remove(c);
	}
}

void
child_kill(const struct svc *svc, int sig)
{
	for (size_t b = 0; b < CHILD_BUCKETS; b++) {
		struct child *c;

		LIST_FOREACH(c, &child_hash[b], chain)
		{
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
	struct child *c;

	(void)arg;
	for (size_t b = 0; b < CHILD_BUCKETS; b++)
		LIST_FOREACH(c, &child_hash[b], chain)
	if (c->svc == NULL && c->doomed && loop_now() >= c->doomed) {
		log_warnx("pid %d of a removed service did not stop; killing it", (int)c->pid);
		if (kill(-c->pid, SIGKILL) != 0)
			kill(c->pid, SIGKILL);
	}
}

void
child_orphan(const struct svc *svc)
{
	bool any = false;
	struct child *c;

	for (size_t b = 0; b < CHILD_BUCKETS; b++)
		LIST_FOREACH(c, &child_hash[b], chain)
	if (c->svc == svc) {
		/* Its counts go with the service. */
		c->svc = NULL;
		c->slot.counted = false;
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
		while (!LIST_EMPTY(&child_hash[b])) {
			struct child *c = LIST_FIRST(&child_hash[b]);

			LIST_REMOVE(c, chain);
			loop_timer_cancel(&c->cap);
			cgroup_conn_end(c->cg);
			free(c);
		}
	}
	child_n = 0;
	loop_timer_cancel(&orphan_timer);
}

void
child_foreach(void (*fn)(void *arg, const struct child *), void *arg)
{
	const struct child *c;

	for (size_t b = 0; b < CHILD_BUCKETS; b++)
		LIST_FOREACH(c, &child_hash[b], chain)
	fn(arg, c);
}
