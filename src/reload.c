/*
 * reload.c: reads the configuration for a reload or a check in a thread of
 * its own, so that what reading it may wait for (the host name of a bind
 * or redirect, the user and group databases, a slow file system) never
 * stalls the event loop: services keep answering and the control socket
 * keeps working while a resolver takes its time. The loop applies what the
 * thread read (main_reload) once it is done. One load runs at a time;
 * requests that arrive meanwhile share the next one, which starts when the
 * running one ends, so a SIGHUP sent after an edit always reads the edit.
 */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "porterd.h"

TAILQ_HEAD(reload_list, reload_waiter);

/* What the thread read; the loop owns it again after pthread_join. */
struct reload_load {
	struct config *cf;
	struct wrap *wrap;
	struct diag d;
};

static struct reload_load reload_load;
static pthread_t reload_thread;
static bool reload_running;    /* a thread is reading */
static bool reload_apply;      /* what it reads is to be applied */
static bool reload_want;       /* another load is wanted after this one */
static bool reload_want_apply; /* ... and applied */
static struct reload_list reload_now = TAILQ_HEAD_INITIALIZER(reload_now);
static struct reload_list reload_later = TAILQ_HEAD_INITIALIZER(reload_later);
static struct watch reload_watch = { .fd = -1 };
static struct timer reload_inline; /* a load read without a thread */

static void
reload_read(struct reload_load *l)
{
	memset(l, 0, sizeof(*l));
	l->cf = conf_load(porter.conf_path, porter.inetd_path, porter.inetd_dialect, &l->d);
	l->wrap = wrap_load(WRAP_ALLOW_FILE, WRAP_DENY_FILE, &l->d);
}

static void *
reload_worker(void *arg)
{
	uint64_t one = 1;

	reload_read(arg);
	/* The loop joins the thread before it looks at the result. */
	if (write(reload_watch.fd, &one, sizeof(one)) < 0) {
		/* An eventfd write fails only when the counter would overflow. */
	}
	return NULL;
}

static void reload_start(void);

/* In the loop: the thread is done; apply what it read or throw it away,
 * answer everyone who waited for it, then start the next load if one was
 * asked for meanwhile. */
static void
reload_done(void)
{
	struct reload_load *l = &reload_load;
	struct reload_waiter *w;

	reload_running = false;
	if (reload_apply)
		(void)main_reload(l->cf, l->wrap, &l->d);
	else {
		conf_free(l->cf);
		wrap_free(l->wrap);
	}
	l->cf = NULL;
	l->wrap = NULL;
	/* A waiter's answer may close its client, which cancels nothing any
	 * more: it is off the list before its function runs. */
	while ((w = TAILQ_FIRST(&reload_now)) != NULL) {
		TAILQ_REMOVE(&reload_now, w, link);
		w->list = NULL;
		w->fn(w, &l->d);
	}
	diag_free(&l->d);
	if (reload_want)
		reload_start();
}

static void
reload_ready(int fd, uint32_t events, void *arg)
{
	uint64_t n;

	(void)events;
	(void)arg;
	if (read(fd, &n, sizeof(n)) != sizeof(n) || !reload_running)
		return;
	pthread_join(reload_thread, NULL);
	reload_done();
}

static void
reload_inline_done(void *arg)
{
	(void)arg;
	reload_done();
}

static void
reload_start(void)
{
	sigset_t all, old;
	struct reload_waiter *w;
	int rc;

	while ((w = TAILQ_FIRST(&reload_later)) != NULL) {
		TAILQ_REMOVE(&reload_later, w, link);
		TAILQ_INSERT_TAIL(&reload_now, w, link);
		w->list = &reload_now;
	}
	reload_apply = reload_want_apply;
	reload_want = reload_want_apply = false;
	if (reload_apply)
		main_reloading();
	if (reload_watch.fd < 0) {
		reload_watch.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		reload_watch.fn = reload_ready;
		if (reload_watch.fd >= 0 && loop_watch(&reload_watch, EPOLLIN) != 0) {
			close(reload_watch.fd);
			reload_watch.fd = -1;
		}
	}
	rc = -1;
	if (reload_watch.fd >= 0) {
		/* The thread takes no signals: they all go to the loop. */
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		rc = pthread_create(&reload_thread, NULL, reload_worker, &reload_load);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	if (rc == 0) {
		reload_running = true;
		return;
	}
	/* No thread (or no eventfd): read here rather than not at all, and
	 * answer from the loop as a thread's load would be, never from inside
	 * the request. */
	log_warnx("reload: no thread to read the configuration in; reading it in the loop");
	reload_running = true;
	reload_read(&reload_load);
	reload_inline.fn = reload_inline_done;
	loop_timer_set(&reload_inline, 0);
}

void
reload_request(enum reload_kind kind, struct reload_waiter *w)
{
	reload_want = true;
	if (kind == RELOAD_APPLY)
		reload_want_apply = true;
	if (w != NULL) {
		w->kind = kind;
		TAILQ_INSERT_TAIL(&reload_later, w, link);
		w->list = &reload_later;
	}
	if (!reload_running)
		reload_start();
}

void
reload_end(void)
{
	/* A load still reading ends with the process. */
	if (reload_running || reload_watch.fd < 0)
		return;
	loop_unwatch(&reload_watch);
	close(reload_watch.fd);
	reload_watch.fd = -1;
}

void
reload_cancel(struct reload_waiter *w)
{
	if (w->list != NULL) {
		TAILQ_REMOVE(w->list, w, link);
		w->list = NULL;
	}
}
