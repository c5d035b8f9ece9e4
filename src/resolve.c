/*
 * resolve.c: reverse DNS without blocking the loop. A few worker threads
 * run getnameinfo() and hand results back through an eventfd the loop
 * watches, so host and .domain access rules cost the event loop nothing
 * while a resolver is slow. A name counts only when it is forward-confirmed
 * (double-reverse, as tcp_wrappers' PARANOID check): the name's own
 * addresses must include the client's, or anyone who controls the reverse
 * zone of their address could claim any name. The queue is bounded; past
 * it a lookup fails at once, and a failed lookup is told apart from a
 * client that has no name, so that the rules can fail closed.
 */
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "porterd.h"

#define RESOLVE_WORKERS 4
#define RESOLVE_QUEUE 1024

struct rquery {
	struct peer peer;
	char name[NI_MAXHOST];
	enum resolve_status status;
	resolve_fn *fn;
	void *arg;
	bool cancelled;
	struct rquery *next;
};

static pthread_mutex_t resolve_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t resolve_cv = PTHREAD_COND_INITIALIZER;
static struct rquery *resolve_todo, **resolve_todo_tail = &resolve_todo;
static struct rquery *resolve_done;
static size_t resolve_pending;
static bool resolve_stop;
static pthread_t resolve_threads[RESOLVE_WORKERS];
static int resolve_nthreads;
static struct watch resolve_watch = { .fd = -1 };

/* Whether one of name's addresses is the peer's. */
static enum resolve_status
resolve_confirm(const struct peer *peer, const char *name)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	struct addrinfo *res, *ai;
	int family, rc;
	const uint8_t *want = peer_bytes(peer, &family);
	enum resolve_status st = RESOLVE_PARANOID;

	rc = getaddrinfo(name, NULL, &hints, &res);
	if (rc == EAI_NONAME || rc == EAI_NODATA || rc == EAI_ADDRFAMILY)
		return RESOLVE_PARANOID;
	if (rc != 0)
		return RESOLVE_FAILED;
	for (ai = res; ai != NULL && st == RESOLVE_PARANOID; ai = ai->ai_next) {
		struct peer p = { .len = (socklen_t)ai->ai_addrlen };
		int f;
		const uint8_t *got;

		if (ai->ai_addrlen > sizeof(p.sa))
			continue;
		memcpy(&p.sa, ai->ai_addr, ai->ai_addrlen);
		peer_normalize(&p);
		got = peer_bytes(&p, &f);
		if (got != NULL && f == family && memcmp(got, want, f == AF_INET ? 4 : 16) == 0)
			st = RESOLVE_NAME;
	}
	freeaddrinfo(res);
	return st;
}

static void *
resolve_worker(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&resolve_mu);
	for (;;) {
		struct rquery *q;
		uint64_t one = 1;

		while (resolve_todo == NULL && !resolve_stop)
			pthread_cond_wait(&resolve_cv, &resolve_mu);
		if (resolve_stop)
			break;
		q = resolve_todo;
		resolve_todo = q->next;
		if (resolve_todo == NULL)
			resolve_todo_tail = &resolve_todo;
		pthread_mutex_unlock(&resolve_mu);

		switch (getnameinfo((struct sockaddr *)&q->peer.sa, q->peer.len, q->name,
		    sizeof(q->name), NULL, 0, NI_NAMEREQD)) {
		case 0:
			q->status = resolve_confirm(&q->peer, q->name);
			break;
		case EAI_NONAME:
			q->status = RESOLVE_NONE;
			break;
		default:
			q->status = RESOLVE_FAILED;
			break;
		}

		pthread_mutex_lock(&resolve_mu);
		q->next = resolve_done;
		resolve_done = q;
		if (write(resolve_watch.fd, &one, sizeof(one)) < 0) {
			/* The counter cannot overflow in practice. */
		}
	}
	pthread_mutex_unlock(&resolve_mu);
	return NULL;
}

static void
resolve_ready(int fd, uint32_t events, void *arg)
{
	struct rquery *done;
	uint64_t n;

	(void)events, (void)arg;
	if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_warn("resolver eventfd");
	pthread_mutex_lock(&resolve_mu);
	done = resolve_done;
	resolve_done = NULL;
	pthread_mutex_unlock(&resolve_mu);
	while (done != NULL) {
		struct rquery *q = done;

		done = q->next;
		resolve_pending--;
		if (!q->cancelled) {
			/* Names compare without case. */
			for (char *c = q->name; *c != '\0'; c++)
				if (*c >= 'A' && *c <= 'Z')
					*c = (char)(*c - 'A' + 'a');
			q->fn(q->arg, q->status, q->status == RESOLVE_NAME ? q->name : NULL);
		}
		free(q);
	}
}

static int
resolve_start(void)
{
	sigset_t all, old;

	if (resolve_watch.fd >= 0)
		return 0;
	resolve_watch.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (resolve_watch.fd < 0)
		return -1;
	resolve_watch.fn = resolve_ready;
	if (loop_watch(&resolve_watch, EPOLLIN) != 0)
		return -1;
	/* The workers take no signals: they all go to the loop. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (int i = 0; i < RESOLVE_WORKERS; i++)
		if (pthread_create(&resolve_threads[resolve_nthreads], NULL, resolve_worker,
		        NULL) == 0)
			resolve_nthreads++;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return resolve_nthreads > 0 ? 0 : -1;
}

struct rquery *
resolve_peer(const struct peer *peer, resolve_fn *fn, void *arg)
{
	struct rquery *q;

	if (resolve_pending >= RESOLVE_QUEUE || resolve_start() != 0)
		return NULL;
	if ((q = calloc(1, sizeof(*q))) == NULL)
		return NULL;
	q->peer = *peer;
	q->fn = fn;
	q->arg = arg;
	pthread_mutex_lock(&resolve_mu);
	*resolve_todo_tail = q;
	resolve_todo_tail = &q->next;
	resolve_pending++;
	pthread_cond_signal(&resolve_cv);
	pthread_mutex_unlock(&resolve_mu);
	return q;
}

void
resolve_cancel(struct rquery *q)
{
	if (q != NULL)
		q->cancelled = true;
}

void
resolve_end(void)
{
	struct rquery *q;

	if (resolve_watch.fd < 0)
		return;
	pthread_mutex_lock(&resolve_mu);
	resolve_stop = true;
	pthread_cond_broadcast(&resolve_cv);
	pthread_mutex_unlock(&resolve_mu);
	for (int i = 0; i < resolve_nthreads; i++)
		pthread_join(resolve_threads[i], NULL);
	resolve_nthreads = 0;
	while ((q = resolve_todo) != NULL) {
		resolve_todo = q->next;
		free(q);
	}
	resolve_todo_tail = &resolve_todo;
	while ((q = resolve_done) != NULL) {
		resolve_done = q->next;
		free(q);
	}
	loop_unwatch(&resolve_watch);
	close(resolve_watch.fd);
	resolve_watch.fd = -1;
	resolve_pending = 0;
	resolve_stop = false;
}
