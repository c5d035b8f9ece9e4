/*
 * loop.c: the event loop behind a handful of functions. File descriptors are
 * watched with epoll, signals arrive through a signalfd (handlers never run
 * in signal context), and timers live in a pairing heap ordered by
 * deadline on the monotonic clock, so a thousand paused services cost one
 * wakeup. The heap's earliest deadline is kept in a timerfd, set again only
 * when an earlier one appears: epoll_wait() then always sleeps without a
 * timeout of its own, which would set and cancel a kernel timer each time
 * the loop sleeps (about 2 % of an echo round trip). Timers and deferred
 * frees are linked through their owners' own records, so arming a timer or
 * ending a session never allocates: nothing on the connection path can
 * fail for want of memory here.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "porterd.h"

#define LOOP_EVENTS 256

static int loop_epfd = -1;
static int loop_sigfd = -1;
static struct watch loop_sigwatch;
static loop_signal_fn *loop_sigfn;
static int loop_tfd = -1;
static struct watch loop_tfdwatch;
static uint64_t loop_tfd_when;  /* the deadline the timerfd is set to; 0 none */
static struct timer *loop_root; /* the pairing heap: its earliest timer */
static bool loop_stopping;
static struct loop_defer *loop_dead; /* deferred frees, oldest first */
static struct loop_defer **loop_dead_tail = &loop_dead;

uint64_t
loop_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
loop_signals(int fd, uint32_t events, void *arg)
{
	struct signalfd_siginfo si[8];
	ssize_t n;

	(void)events, (void)arg;
	/* A read that does not fill the array has taken every pending
	 * signal: no second read to learn that there is none. */
	do {
		n = read(fd, si, sizeof(si));
		for (ssize_t i = 0; i < n / (ssize_t)sizeof(si[0]); i++)
			loop_sigfn((int)si[i].ssi_signo);
	} while (n == (ssize_t)sizeof(si));
}

static void
loop_timerfd(int fd, uint32_t events, void *arg)
{
	uint64_t expirations;

	(void)events, (void)arg;
	if (read(fd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
		log_warn("timerfd");
	/* What was due runs after this round's events (loop_expire). */
	loop_tfd_when = 0;
}

int
loop_init(const sigset_t *signals, loop_signal_fn *fn)
{
	loop_epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop_epfd < 0)
		return -1;
	if (sigprocmask(SIG_BLOCK, signals, NULL) != 0)
		return -1;
	loop_sigfd = signalfd(-1, signals, SFD_NONBLOCK | SFD_CLOEXEC);
	if (loop_sigfd < 0)
		return -1;
	loop_sigfn = fn;
	loop_sigwatch.fd = loop_sigfd;
	loop_sigwatch.fn = loop_signals;
	if (loop_watch(&loop_sigwatch, EPOLLIN) != 0)
		return -1;
	/* Without a timerfd, epoll_wait's timeout does the work. */
	loop_tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (loop_tfd >= 0) {
		loop_tfdwatch.fd = loop_tfd;
		loop_tfdwatch.fn = loop_timerfd;
		if (loop_watch(&loop_tfdwatch, EPOLLIN) != 0) {
			close(loop_tfd);
			loop_tfd = -1;
		}
	}
	return 0;
}

int
loop_watch(struct watch *w, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };

	if (w->armed)
		return epoll_ctl(loop_epfd, EPOLL_CTL_MOD, w->fd, &ev);
	if (epoll_ctl(loop_epfd, EPOLL_CTL_ADD, w->fd, &ev) != 0)
		return -1;
	w->armed = true;
	return 0;
}

void
loop_unwatch(struct watch *w)
{
	if (!w->armed)
		return;
	epoll_ctl(loop_epfd, EPOLL_CTL_DEL, w->fd, NULL);
	w->armed = false;
}

/* ------------------------------------------------------------ timers */

/*
 * A pairing heap: each timer links to its leftmost child and its right
 * sibling, and back to its left sibling or, for a leftmost child, its
 * parent. Insertion is one comparison; taking or cancelling a timer melds
 * its children in two passes.
 */
static struct timer *
timer_meld(struct timer *a, struct timer *b)
{
	if (a == NULL)
		return b;
	if (b == NULL)
		return a;
	if (b->when < a->when) {
		struct timer *t = a;

		a = b;
		b = t;
	}
	b->prev = a;
	b->next = a->child;
	if (a->child != NULL)
		a->child->prev = b;
	a->child = b;
	a->next = a->prev = NULL;
	return a;
}

/* Melds a list of siblings into one heap: pairs left to right, then the
 * pairs right to left. */
static struct timer *
timer_merge_pairs(struct timer *first)
{
	struct timer *pairs = NULL, *heap = NULL;

	while (first != NULL) {
		struct timer *a = first, *b = a->next;

		first = b != NULL ? b->next : NULL;
		a->next = a->prev = NULL;
		if (b != NULL)
			b->next = b->prev = NULL;
		a = timer_meld(a, b);
		a->next = pairs; /* a stack, so the second pass runs backwards */
		pairs = a;
	}
	while (pairs != NULL) {
		struct timer *a = pairs;

		pairs = a->next;
		a->next = NULL;
		heap = timer_meld(heap, a);
	}
	return heap;
}

void
loop_timer_cancel(struct timer *t)
{
	struct timer *rest;

	if (!t->pending)
		return;
	t->pending = false;
	rest = timer_merge_pairs(t->child);
	if (t == loop_root) {
		loop_root = rest;
	} else {
		if (t->prev->child == t)
			t->prev->child = t->next;
		else
			t->prev->next = t->next;
		if (t->next != NULL)
			t->next->prev = t->prev;
		loop_root = timer_meld(loop_root, rest);
	}
	t->child = t->next = t->prev = NULL;
}

void
loop_timer_set(struct timer *t, uint64_t ms)
{
	loop_timer_cancel(t);
	t->when = loop_now() + ms;
	t->pending = true;
	loop_root = timer_meld(loop_root, t);
}

/* How long epoll_wait may sleep: -1 when the timerfd will wake it. A
 * deadline that moved later is left set: it wakes the loop once for
 * nothing, and the timerfd is set to the new one then. */
static int
loop_timeout(void)
{
	uint64_t now, when;

	if (loop_root == NULL)
		return -1;
	now = loop_now();
	when = loop_root->when;
	if (when <= now)
		return 0;
	if (loop_tfd >= 0 && loop_tfd_when != 0 && loop_tfd_when <= when)
		return -1;
	if (loop_tfd >= 0) {
		struct itimerspec its = { 0 };

		its.it_value.tv_sec = (time_t)(when / 1000);
		its.it_value.tv_nsec = (long)(when % 1000) * 1000000;
		if (timerfd_settime(loop_tfd, TFD_TIMER_ABSTIME, &its, NULL) == 0) {
			loop_tfd_when = when;
			return -1;
		}
	}
	return (int)(when - now > 60000 ? 60000 : when - now);
}

static void
loop_expire(void)
{
	uint64_t now = loop_now();

	while (loop_root != NULL && loop_root->when <= now) {
		struct timer *t = loop_root;

		loop_timer_cancel(t);
		t->fn(t->arg);
	}
}

/* ------------------------------------------------------------ running */

void
loop_defer_free(struct loop_defer *d, void *p, void (*fn)(void *))
{
	d->p = p;
	d->fn = fn;
	d->next = NULL;
	*loop_dead_tail = d;
	loop_dead_tail = &d->next;
}

static void
loop_free_deferred(void)
{
	/* A free function may defer more; take them in order. */
	while (loop_dead != NULL) {
		struct loop_defer *d = loop_dead;

		loop_dead = d->next;
		if (loop_dead == NULL)
			loop_dead_tail = &loop_dead;
		d->fn(d->p);
	}
}

void
loop_stop(void)
{
	loop_stopping = true;
}

void
loop_run(void)
{
	struct epoll_event evs[LOOP_EVENTS];

	loop_stopping = false;
	while (!loop_stopping) {
		int n = epoll_wait(loop_epfd, evs, LOOP_EVENTS, loop_timeout());

		if (n < 0 && errno != EINTR)
			fatal("epoll_wait");
		for (int i = 0; i < n; i++) {
			struct watch *w = evs[i].data.ptr;

			/* An earlier handler of this round may have closed it. */
			if (w->armed)
				w->fn(w->fd, evs[i].events, w->arg);
		}
		loop_expire();
		loop_free_deferred();
	}
	loop_free_deferred();
}

void
loop_end(void)
{
	loop_free_deferred();
	loop_root = NULL;
	if (loop_sigfd >= 0)
		close(loop_sigfd);
	if (loop_tfd >= 0)
		close(loop_tfd);
	loop_tfd = -1;
	loop_tfd_when = 0;
	if (loop_epfd >= 0)
		close(loop_epfd);
	loop_sigfd = loop_epfd = -1;
	/* Their epoll set is gone with it: a later loop_init adds them anew. */
	loop_sigwatch.armed = loop_tfdwatch.armed = false;
}
