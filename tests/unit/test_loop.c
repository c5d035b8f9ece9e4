/*
 * test_loop.c: unit tests for loop.c's timers and deferred frees, which
 * link through their owners' records and never allocate. A few thousand
 * timers are set, moved and cancelled at random; the ones left must fire
 * in the order of their deadlines, each once, and no cancelled one at all.
 * Deadlines are a few milliseconds away, so the test waits on the loop,
 * not on a sleep.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "porterd.h"

#define NTIMERS 3000

struct rec {
	struct timer t;
	int id;
	bool live; /* set and not cancelled */
	int fired; /* times its function ran */
	uint64_t when;
};

static struct rec recs[NTIMERS];
static int nlive, nfired;
static uint64_t last_when;
static bool in_order = true;

static void
fire(void *arg)
{
	struct rec *r = arg;

	r->fired++;
	nfired++;
	if (r->t.when < last_when)
		in_order = false;
	last_when = r->t.when;
	if (nfired == nlive)
		loop_stop();
}

static void
test_timers_fire_in_order_once(void **state)
{
	sigset_t none;
	unsigned seed = 4242;

	(void)state;
	sigemptyset(&none);
	assert_int_equal(loop_init(&none, NULL), 0);
	for (int i = 0; i < NTIMERS; i++) {
		recs[i].id = i;
		recs[i].t.fn = fire;
		recs[i].t.arg = &recs[i];
	}
	/* Set, move and cancel at random. */
	for (int op = 0; op < 4 * NTIMERS; op++) {
		struct rec *r;

		seed = seed * 1103515245u + 12345u;
		r = &recs[(seed >> 8) % NTIMERS];
		if ((seed >> 4) % 4 == 0) {
			loop_timer_cancel(&r->t);
			r->live = false;
		} else {
			loop_timer_set(&r->t, (seed >> 16) % 40);
			r->live = true;
		}
	}
	/* Cancelling twice, or a timer never set, is harmless. */
	for (int i = 0; i < NTIMERS; i++)
		if (!recs[i].live) {
			loop_timer_cancel(&recs[i].t);
			loop_timer_cancel(&recs[i].t);
		}
	for (int i = 0; i < NTIMERS; i++)
		nlive += recs[i].live;
	assert_true(nlive > 0);
	loop_run();
	assert_int_equal(nfired, nlive);
	assert_true(in_order);
	for (int i = 0; i < NTIMERS; i++) {
		assert_int_equal(recs[i].fired, recs[i].live ? 1 : 0);
		assert_false(recs[i].t.pending);
	}
	loop_end();
}

struct node {
	struct loop_defer dead;
	int order;
};

static int free_order[8];
static int nfreed_nodes;

static void
node_free(void *p)
{
	struct node *n = p;

	free_order[nfreed_nodes++] = n->order;
	free(n);
}

static void
stop_soon(void *arg)
{
	(void)arg;
	loop_stop();
}

/* Deferred frees happen after the round, in the order they were asked. */
static void
test_deferred_frees_in_order(void **state)
{
	sigset_t none;
	struct timer t = { .fn = stop_soon };

	(void)state;
	sigemptyset(&none);
	assert_int_equal(loop_init(&none, NULL), 0);
	for (int i = 0; i < 5; i++) {
		struct node *n = calloc(1, sizeof(*n));

		assert_non_null(n);
		n->order = i;
		loop_defer_free(&n->dead, n, node_free);
	}
	assert_int_equal(nfreed_nodes, 0);
	loop_timer_set(&t, 1);
	loop_run();
	assert_int_equal(nfreed_nodes, 5);
	for (int i = 0; i < 5; i++)
		assert_int_equal(free_order[i], i);
	loop_end();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timers_fire_in_order_once),
		cmocka_unit_test(test_deferred_frees_in_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
