/*
 * loop.c: the event loop behind a handful of functions. File descriptors are
 * watched with epoll, signals arrive through a signalfd (handlers never run
 * in signal context), and timers live in a binary heap ordered by deadline
 * on the monotonic clock, so a thousand paused services cost one wakeup.
 * The heap's earliest deadline is kept in a timerfd, set again only when an
 * earlier one appears: epoll_wait() then always sleeps without a timeout of
 * its own, which would set and cancel a kernel timer each time the loop
 * sleeps (about 2 % of an echo round trip).
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
static uint64_t loop_tfd_when; /* the deadline the timerfd is set to; 0 none */
static struct timer **loop_heap;
static size_t loop_nheap, loop_capheap;
static bool loop_stopping;

struct deferred {
	void *p;
	void (*fn)(void *);
};
static struct deferred *loop_deferred;
static size_t loop_ndeferred, loop_capdeferred;

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

static void
heap_swap(size_t a, size_t b)
{
	struct timer *t = loop_heap[a];

	loop_heap[a] = loop_heap[b];
	loop_heap[b] = t;
	loop_heap[a]->slot = a + 1;
	loop_heap[b]->slot = b + 1;
}

static void
heap_up(size_t i)
{
	while (i > 0 && loop_heap[(i - 1) / 2]->when > loop_heap[i]->when) {
		heap_swap(i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void
heap_down(size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < loop_nheap && loop_heap[l]->when < loop_heap[m]->when)
			m = l;
		if (r < loop_nheap && loop_heap[r]->when < loop_heap[m]->when)
			m = r;
		if (m == i)
			return;
		heap_swap(i, m);
		i = m;
	}
}

void
loop_timer_cancel(struct timer *t)
{
	size_t i;

	if (t->slot == 0)
		return;
	i = t->slot - 1;
	t->slot = 0;
	loop_nheap--;
	if (i == loop_nheap)
		return;
	loop_heap[i] = loop_heap[loop_nheap];
	loop_heap[i]->slot = i + 1;
	heap_up(i);
	heap_down(loop_heap[i]->slot - 1);
}

void
loop_timer_set(struct timer *t, uint64_t ms)
{
	loop_timer_cancel(t);
	if (loop_nheap == loop_capheap) {
		loop_capheap = loop_capheap ? loop_capheap * 2 : 64;
		loop_heap = mem_realloc(loop_heap, loop_capheap * sizeof(*loop_heap));
	}
	t->when = loop_now() + ms;
	loop_heap[loop_nheap] = t;
	t->slot = ++loop_nheap;
	heap_up(loop_nheap - 1);
}

/* How long epoll_wait may sleep: -1 when the timerfd will wake it. A
 * deadline that moved later is left set: it wakes the loop once for
 * nothing, and the timerfd is set to the new one then. */
static int
loop_timeout(void)
{
	uint64_t now, when;

	if (loop_nheap == 0)
		return -1;
	now = loop_now();
	when = loop_heap[0]->when;
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

	while (loop_nheap > 0 && loop_heap[0]->when <= now) {
		struct timer *t = loop_heap[0];

		loop_timer_cancel(t);
		t->fn(t->arg);
	}
}

/* ------------------------------------------------------------ running */

void
loop_defer_free(void *p, void (*fn)(void *))
{
	if (loop_ndeferred == loop_capdeferred) {
		loop_capdeferred = loop_capdeferred ? loop_capdeferred * 2 : 32;
		loop_deferred =
		    mem_realloc(loop_deferred, loop_capdeferred * sizeof(*loop_deferred));
	}
	loop_deferred[loop_ndeferred].p = p;
	loop_deferred[loop_ndeferred].fn = fn;
	loop_ndeferred++;
}

static void
loop_free_deferred(void)
{
	/* A free function may defer more; take them in order. */
	for (size_t i = 0; i < loop_ndeferred; i++)
		loop_deferred[i].fn(loop_deferred[i].p);
	loop_ndeferred = 0;
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
	free(loop_deferred);
	loop_deferred = NULL;
	loop_capdeferred = 0;
	free(loop_heap);
	loop_heap = NULL;
	loop_nheap = loop_capheap = 0;
	if (loop_sigfd >= 0)
		close(loop_sigfd);
	if (loop_tfd >= 0)
		close(loop_tfd);
	loop_tfd = -1;
	loop_tfd_when = 0;
	if (loop_epfd >= 0)
		close(loop_epfd);
	loop_sigfd = loop_epfd = -1;
}
