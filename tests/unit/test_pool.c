/* test_pool.c - the worker pool (FIFO, bounded parallelism, resize, drain on
 * free) and the per-planner slots. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fugue/common.h"
#include "pool.h"
#include "testmain.h"

static void sleep_ms(long ms)
{
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&t, NULL);
}

/* --- a gate: tasks arrive, count themselves, and wait until it opens ------------ */

struct gate {
	pthread_mutex_t mutex;
	pthread_cond_t cond;
	int open;
	int inside;     /* tasks waiting at the gate now */
	int max_inside;
	int done;
};

static void gate_init(struct gate *g)
{
	memset(g, 0, sizeof(*g));
	pthread_mutex_init(&g->mutex, NULL);
	pthread_cond_init(&g->cond, NULL);
}

static void gate_destroy(struct gate *g)
{
	pthread_cond_destroy(&g->cond);
	pthread_mutex_destroy(&g->mutex);
}

static void gate_task(void *arg)
{
	struct gate *g = arg;

	pthread_mutex_lock(&g->mutex);
	g->inside++;
	if (g->inside > g->max_inside)
		g->max_inside = g->inside;
	pthread_cond_broadcast(&g->cond);
	while (!g->open)
		pthread_cond_wait(&g->cond, &g->mutex);
	g->inside--;
	g->done++;
	pthread_cond_broadcast(&g->cond);
	pthread_mutex_unlock(&g->mutex);
}

/* Waits (at most 10 s) until N tasks are inside; returns how many are. */
static int gate_wait_inside(struct gate *g, int n)
{
	struct timespec deadline;
	int inside;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 10;
	pthread_mutex_lock(&g->mutex);
	while (g->inside < n) {
		if (pthread_cond_timedwait(&g->cond, &g->mutex, &deadline) != 0)
			break;
	}
	inside = g->inside;
	pthread_mutex_unlock(&g->mutex);
	return inside;
}

static int gate_inside(struct gate *g)
{
	int n;

	pthread_mutex_lock(&g->mutex);
	n = g->inside;
	pthread_mutex_unlock(&g->mutex);
	return n;
}

static void gate_open(struct gate *g)
{
	pthread_mutex_lock(&g->mutex);
	g->open = 1;
	pthread_cond_broadcast(&g->cond);
	pthread_mutex_unlock(&g->mutex);
}

/* --- pool ------------------------------------------------------------------ */

static void test_invalid(void)
{
	fugue_pool *pool = (fugue_pool *)1;

	CU_ASSERT_EQUAL(fugue_pool_new(&pool, 0), FUGUE_EINVAL);
	CU_ASSERT_PTR_NULL(pool);
	CU_ASSERT_EQUAL_FATAL(fugue_pool_new(&pool, 2), 0);
	CU_ASSERT_EQUAL(fugue_pool_size(pool), 2);
	CU_ASSERT_EQUAL(fugue_pool_resize(pool, 0), FUGUE_EINVAL);
	CU_ASSERT_EQUAL(fugue_pool_submit(pool, NULL, NULL), FUGUE_EINVAL);
	CU_ASSERT_EQUAL(fugue_pool_size(pool), 2);
	fugue_pool_free(pool);
	fugue_pool_free(NULL);
}

struct order {
	pthread_mutex_t mutex;
	int seen[64];
	int n;
};

struct order_arg {
	struct order *o;
	int i;
};

static void order_task(void *arg)
{
	struct order_arg *a = arg;

	pthread_mutex_lock(&a->o->mutex);
	a->o->seen[a->o->n++] = a->i;
	pthread_mutex_unlock(&a->o->mutex);
}

/* One worker: tasks run in the order submitted; free runs what is queued. */
static void test_fifo_and_drain(void)
{
	struct order o;
	struct order_arg args[64];
	struct gate g;
	fugue_pool *pool;
	int i;

	memset(&o, 0, sizeof(o));
	pthread_mutex_init(&o.mutex, NULL);
	gate_init(&g);
	CU_ASSERT_EQUAL_FATAL(fugue_pool_new(&pool, 1), 0);
	/* Hold the worker so that everything below is queued before any runs. */
	CU_ASSERT_EQUAL(fugue_pool_submit(pool, gate_task, &g), 0);
	CU_ASSERT_EQUAL(gate_wait_inside(&g, 1), 1);
	for (i = 0; i < 64; i++) {
		args[i].o = &o;
		args[i].i = i;
		CU_ASSERT_EQUAL(fugue_pool_submit(pool, order_task, &args[i]), 0);
	}
	CU_ASSERT_EQUAL(o.n, 0);
	gate_open(&g);
	fugue_pool_free(pool); /* drains the queue */
	CU_ASSERT_EQUAL(o.n, 64);
	for (i = 0; i < 64 && i < o.n; i++)
		CU_ASSERT_EQUAL(o.seen[i], i);
	pthread_mutex_destroy(&o.mutex);
	gate_destroy(&g);
}

/* N workers: never more than N tasks at once, and N do run at once. */
static void test_parallelism(void)
{
	struct gate g;
	fugue_pool *pool;
	int i;

	gate_init(&g);
	CU_ASSERT_EQUAL_FATAL(fugue_pool_new(&pool, 4), 0);
	for (i = 0; i < 10; i++)
		CU_ASSERT_EQUAL(fugue_pool_submit(pool, gate_task, &g), 0);
	CU_ASSERT_EQUAL(gate_wait_inside(&g, 4), 4);
	sleep_ms(100); /* a fifth would have arrived by now */
	CU_ASSERT_EQUAL(gate_inside(&g), 4);
	gate_open(&g);
	fugue_pool_free(pool);
	CU_ASSERT_EQUAL(g.done, 10);
	CU_ASSERT_EQUAL(g.max_inside, 4);
	gate_destroy(&g);
}

static void test_resize(void)
{
	struct gate g1, g2;
	fugue_pool *pool;
	int i;

	gate_init(&g1);
	gate_init(&g2);
	CU_ASSERT_EQUAL_FATAL(fugue_pool_new(&pool, 1), 0);
	for (i = 0; i < 6; i++)
		CU_ASSERT_EQUAL(fugue_pool_submit(pool, gate_task, &g1), 0);
	CU_ASSERT_EQUAL(gate_wait_inside(&g1, 1), 1);
	/* Growing takes the queued tasks at once. */
	CU_ASSERT_EQUAL(fugue_pool_resize(pool, 3), 0);
	CU_ASSERT_EQUAL(fugue_pool_size(pool), 3);
	CU_ASSERT_EQUAL(gate_wait_inside(&g1, 3), 3);
	/* Shrinking: the busy workers finish their task, then the extra exit. */
	CU_ASSERT_EQUAL(fugue_pool_resize(pool, 1), 0);
	CU_ASSERT_EQUAL(fugue_pool_size(pool), 1);
	gate_open(&g1);
	for (i = 0; i < 5; i++)
		CU_ASSERT_EQUAL(fugue_pool_submit(pool, gate_task, &g2), 0);
	CU_ASSERT_EQUAL(gate_wait_inside(&g2, 1), 1);
	sleep_ms(100);
	CU_ASSERT_EQUAL(gate_inside(&g2), 1);
	/* Growing again reaps the exited workers and starts new ones. */
	CU_ASSERT_EQUAL(fugue_pool_resize(pool, 2), 0);
	CU_ASSERT_EQUAL(gate_wait_inside(&g2, 2), 2);
	gate_open(&g2);
	fugue_pool_free(pool);
	CU_ASSERT_EQUAL(g1.done, 6);
	CU_ASSERT_EQUAL(g2.done, 5);
	CU_ASSERT_EQUAL(g2.max_inside, 2);
	gate_destroy(&g1);
	gate_destroy(&g2);
}

struct late {
	fugue_pool *pool;
	atomic_int rc;
	atomic_int ran;
};

static void mark_ran(void *arg)
{
	struct late *l = arg;

	atomic_store(&l->ran, 1);
}

/* Submits another task once the pool is being freed. */
static void late_submitter(void *arg)
{
	struct late *l = arg;

	sleep_ms(200);
	atomic_store(&l->rc, fugue_pool_submit(l->pool, mark_ran, l));
}

static void test_submit_while_freeing(void)
{
	struct late l;

	memset(&l, 0, sizeof(l));
	CU_ASSERT_EQUAL_FATAL(fugue_pool_new(&l.pool, 2), 0);
	CU_ASSERT_EQUAL(fugue_pool_submit(l.pool, late_submitter, &l), 0);
	sleep_ms(20); /* let a worker take it */
	fugue_pool_free(l.pool);
	CU_ASSERT_EQUAL(atomic_load(&l.rc), FUGUE_ECANCELED);
	CU_ASSERT_EQUAL(atomic_load(&l.ran), 0);
}

/* --- slots ----------------------------------------------------------------- */

static void test_slots(void)
{
	fugue_slots *s;
	int i;

	CU_ASSERT_EQUAL_FATAL(fugue_slots_new(&s, 2), 0);
	/* The default applies to every key on its own. */
	CU_ASSERT_EQUAL(fugue_slots_try_acquire(s, "vpc"), 1);
	CU_ASSERT_EQUAL(fugue_slots_try_acquire(s, "vpc"), 1);
	CU_ASSERT_EQUAL(fugue_slots_try_acquire(s, "vpc"), 0);
	CU_ASSERT_EQUAL(fugue_slots_try_acquire(s, "ec2"), 1);
	fugue_slots_release(s, "vpc");
	CU_ASSERT_EQUAL(fugue_slots_try_acquire(s, "vpc"), 1);
	CU_ASSERT_EQUAL(fugue_slots_try_acquire(s, "vpc"), 0);
	/* A key's own limit wins over the default, also while slots are held. */
	CU_ASSERT_EQUAL(fugue_slots_set_limit(s, "vpc", 3), 0);
	CU_ASSERT_EQUAL(fugue_slots_try_acquire(s, "vpc"), 1);
	CU_ASSERT_EQUAL(fugue_slots_try_acquire(s, "vpc"), 0);
	CU_ASSERT_EQUAL(fugue_slots_set_limit(s, "iam", 1), 0);
	CU_ASSERT_EQUAL(fugue_slots_try_acquire(s, "iam"), 1);
	CU_ASSERT_EQUAL(fugue_slots_try_acquire(s, "iam"), 0);
	/* 0 is unlimited, as a key's limit or as the default. */
	CU_ASSERT_EQUAL(fugue_slots_set_limit(s, "iam", 0), 0);
	for (i = 0; i < 100; i++)
		CU_ASSERT_EQUAL(fugue_slots_try_acquire(s, "iam"), 1);
	fugue_slots_set_default(s, 0);
	for (i = 0; i < 100; i++)
		CU_ASSERT_EQUAL(fugue_slots_try_acquire(s, "ec2"), 1);
	CU_ASSERT_EQUAL(fugue_slots_try_acquire(s, "vpc"), 0); /* still its own 3 */
	/* Releasing what was never taken does not create room. */
	fugue_slots_set_default(s, 1);
	fugue_slots_release(s, "lambda");
	CU_ASSERT_EQUAL(fugue_slots_try_acquire(s, "lambda"), 1);
	CU_ASSERT_EQUAL(fugue_slots_try_acquire(s, "lambda"), 0);
	CU_ASSERT_EQUAL(fugue_slots_set_limit(s, NULL, 1), FUGUE_EINVAL);
	fugue_slots_free(s);
	fugue_slots_free(NULL);
}

int fugue_test_register(void)
{
	CU_pSuite pool = CU_add_suite("pool", NULL, NULL);
	CU_pSuite slots = CU_add_suite("slots", NULL, NULL);

	if (!pool || !slots)
		return 1;
	if (!CU_add_test(pool, "invalid arguments", test_invalid) ||
	    !CU_add_test(pool, "fifo and drain on free", test_fifo_and_drain) ||
	    !CU_add_test(pool, "bounded parallelism", test_parallelism) ||
	    !CU_add_test(pool, "resize while running", test_resize) ||
	    !CU_add_test(pool, "submit while freeing", test_submit_while_freeing) ||
	    !CU_add_test(slots, "limits", test_slots))
		return 1;
	return 0;
}
