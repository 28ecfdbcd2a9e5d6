/* pool.c - see pool.h. A FIFO of tasks served by joinable threads; the
 * per-planner slots are a small table of counters under one mutex. */
#include "pool.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "fugue/common.h"
#include "fugue/log.h"

/* ==== the pool ============================================================== */

struct task {
	fugue_task_fn fn;
	void *arg;
	struct task *next;
};

/* One worker thread. Workers are joined by fugue_pool_free, or by a later
 * resize once they have exited (a shrink lets them finish their task). */
struct worker {
	pthread_t thread;
	int exited;        /* set by the worker as its last act on the pool */
};

struct fugue_pool {
	pthread_mutex_t mutex;
	pthread_cond_t work;      /* a task was queued, or the target shrank, or shutdown */
	struct task *head;
	struct task *tail;
	size_t target;            /* workers wanted */
	size_t alive;             /* workers running (not exited) */
	struct worker *workers;   /* every worker not yet joined */
	size_t nworkers;
	size_t cap;
	int stopping;             /* fugue_pool_free: drain, refuse, exit */
};

static void *worker_main(void *arg);

/* Takes the next task, or returns NULL when this worker must exit: the pool
 * is stopping with nothing queued, or has more workers than its target.
 * Called with the mutex held. */
static struct task *next_task(fugue_pool *pool)
{
	struct task *t;

	for (;;) {
		if (pool->alive > pool->target)
			return NULL;
		if (pool->head)
			break;
		if (pool->stopping)
			return NULL;
		pthread_cond_wait(&pool->work, &pool->mutex);
	}
	t = pool->head;
	pool->head = t->next;
	if (!pool->head)
		pool->tail = NULL;
	return t;
}

static void mark_exited(fugue_pool *pool, pthread_t self)
{
	size_t i;

	for (i = 0; i < pool->nworkers; i++) {
		if (pthread_equal(pool->workers[i].thread, self))
			pool->workers[i].exited = 1;
	}
}

static void *worker_main(void *arg)
{
	fugue_pool *pool = arg;
	struct task *t;

	pthread_mutex_lock(&pool->mutex);
	for (;;) {
		t = next_task(pool);
		if (!t)
			break;
		pthread_mutex_unlock(&pool->mutex);
		t->fn(t->arg);
		free(t);
		pthread_mutex_lock(&pool->mutex);
	}
	pool->alive--;
	mark_exited(pool, pthread_self());
	/* Another worker may be waiting for the count to drop below the target. */
	pthread_cond_broadcast(&pool->work);
	pthread_mutex_unlock(&pool->mutex);
	return NULL;
}

/* Joins the workers that have exited and forgets them. Called with the
 * mutex held; an exited worker no longer takes it, so joining is safe. */
static void reap(fugue_pool *pool)
{
	size_t i = 0;

	while (i < pool->nworkers) {
		if (pool->workers[i].exited) {
			pthread_join(pool->workers[i].thread, NULL);
			pool->workers[i] = pool->workers[--pool->nworkers];
		} else {
			i++;
		}
	}
}

/* Starts workers until ALIVE reaches TARGET. Called with the mutex held. */
static int spawn(fugue_pool *pool)
{
	struct worker *slot;

	while (pool->alive < pool->target) {
		if (pool->nworkers == pool->cap) {
			size_t cap = pool->cap ? pool->cap * 2 : 8;
			struct worker *w = realloc(pool->workers, cap * sizeof(*w));

			if (!w)
				return FUGUE_ENOMEM;
			pool->workers = w;
			pool->cap = cap;
		}
		slot = &pool->workers[pool->nworkers];
		slot->exited = 0;
		if (pthread_create(&slot->thread, NULL, worker_main, pool) != 0)
			return FUGUE_ENOMEM;
		pool->nworkers++;
		pool->alive++;
	}
	return 0;
}

static void stop_and_join(fugue_pool *pool)
{
	size_t i;

	pthread_mutex_lock(&pool->mutex);
	pool->stopping = 1;
	pthread_cond_broadcast(&pool->work);
	pthread_mutex_unlock(&pool->mutex);
	/* Workers only take the mutex, never join: joining without it is safe,
	 * and the array no longer changes (resize is not called concurrently
	 * with free). */
	for (i = 0; i < pool->nworkers; i++)
		pthread_join(pool->workers[i].thread, NULL);
	pool->nworkers = 0;
}

int fugue_pool_new(fugue_pool **out, size_t nthreads)
{
	fugue_pool *pool;
	int rc;

	*out = NULL;
	if (nthreads < 1)
		return FUGUE_EINVAL;
	pool = calloc(1, sizeof(*pool));
	if (!pool)
		return FUGUE_ENOMEM;
	pthread_mutex_init(&pool->mutex, NULL);
	pthread_cond_init(&pool->work, NULL);
	pool->target = nthreads;
	pthread_mutex_lock(&pool->mutex);
	rc = spawn(pool);
	pthread_mutex_unlock(&pool->mutex);
	if (rc != 0) {
		fugue_pool_free(pool);
		return rc;
	}
	*out = pool;
	return 0;
}

int fugue_pool_submit(fugue_pool *pool, fugue_task_fn fn, void *arg)
{
	struct task *t;

	if (!pool || !fn)
		return FUGUE_EINVAL;
	t = malloc(sizeof(*t));
	if (!t)
		return FUGUE_ENOMEM;
	t->fn = fn;
	t->arg = arg;
	t->next = NULL;
	pthread_mutex_lock(&pool->mutex);
	if (pool->stopping) {
		pthread_mutex_unlock(&pool->mutex);
		free(t);
		return FUGUE_ECANCELED;
	}
	if (pool->tail)
		pool->tail->next = t;
	else
		pool->head = t;
	pool->tail = t;
	pthread_cond_signal(&pool->work);
	pthread_mutex_unlock(&pool->mutex);
	return 0;
}

int fugue_pool_resize(fugue_pool *pool, size_t nthreads)
{
	int rc;

	if (!pool || nthreads < 1)
		return FUGUE_EINVAL;
	pthread_mutex_lock(&pool->mutex);
	if (pool->stopping) {
		pthread_mutex_unlock(&pool->mutex);
		return FUGUE_EINVAL;
	}
	reap(pool);
	pool->target = nthreads;
	rc = spawn(pool);
	/* Idle extra workers must wake up to notice they are extra. */
	pthread_cond_broadcast(&pool->work);
	pthread_mutex_unlock(&pool->mutex);
	if (rc != 0)
		fugue_log_warn("worker pool: cannot start more threads (%zu wanted)", nthreads);
	return rc;
}

size_t fugue_pool_size(const fugue_pool *pool)
{
	fugue_pool *p = (fugue_pool *)pool; /* the mutex is not part of the value */
	size_t n;

	if (!p)
		return 0;
	pthread_mutex_lock(&p->mutex);
	n = p->target;
	pthread_mutex_unlock(&p->mutex);
	return n;
}

void fugue_pool_free(fugue_pool *pool)
{
	struct task *t;

	if (!pool)
		return;
	stop_and_join(pool);
	/* Only tasks queued when no worker could start are left. */
	while (pool->head) {
		t = pool->head;
		pool->head = t->next;
		free(t);
	}
	free(pool->workers);
	pthread_cond_destroy(&pool->work);
	pthread_mutex_destroy(&pool->mutex);
	free(pool);
}

/* ==== per-planner slots ======================================================= */

struct slot {
	char *key;
	size_t limit;       /* 0: unlimited; meaningful when has_limit */
	int has_limit;      /* its own limit, else the default */
	size_t used;
};

struct fugue_slots {
	pthread_mutex_t mutex;
	size_t default_limit;
	struct slot *items;
	size_t n;
	size_t cap;
};

int fugue_slots_new(fugue_slots **out, size_t default_limit)
{
	fugue_slots *s = calloc(1, sizeof(*s));

	*out = NULL;
	if (!s)
		return FUGUE_ENOMEM;
	pthread_mutex_init(&s->mutex, NULL);
	s->default_limit = default_limit;
	*out = s;
	return 0;
}

/* The entry for KEY, added when missing; NULL on allocation failure. Called
 * with the mutex held. */
static struct slot *slot_of(fugue_slots *s, const char *key)
{
	struct slot *e;
	size_t i;

	for (i = 0; i < s->n; i++) {
		if (strcmp(s->items[i].key, key) == 0)
			return &s->items[i];
	}
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 8;
		struct slot *items = realloc(s->items, cap * sizeof(*items));

		if (!items)
			return NULL;
		s->items = items;
		s->cap = cap;
	}
	e = &s->items[s->n];
	memset(e, 0, sizeof(*e));
	e->key = strdup(key);
	if (!e->key)
		return NULL;
	s->n++;
	return e;
}

int fugue_slots_set_limit(fugue_slots *s, const char *key, size_t limit)
{
	struct slot *e;

	if (!s || !key)
		return FUGUE_EINVAL;
	pthread_mutex_lock(&s->mutex);
	e = slot_of(s, key);
	if (e) {
		e->limit = limit;
		e->has_limit = 1;
	}
	pthread_mutex_unlock(&s->mutex);
	return e ? 0 : FUGUE_ENOMEM;
}

void fugue_slots_set_default(fugue_slots *s, size_t limit)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->mutex);
	s->default_limit = limit;
	pthread_mutex_unlock(&s->mutex);
}

int fugue_slots_try_acquire(fugue_slots *s, const char *key)
{
	struct slot *e;
	size_t limit;
	int taken = 1;

	if (!s || !key)
		return 1;
	pthread_mutex_lock(&s->mutex);
	e = slot_of(s, key);
	/* Out of memory for the counter: let the call run rather than stall
	 * the job; the release then finds no counter and does nothing. */
	if (e) {
		limit = e->has_limit ? e->limit : s->default_limit;
		if (limit != 0 && e->used >= limit)
			taken = 0;
		else
			e->used++;
	}
	pthread_mutex_unlock(&s->mutex);
	return taken;
}

void fugue_slots_release(fugue_slots *s, const char *key)
{
	size_t i;

	if (!s || !key)
		return;
	pthread_mutex_lock(&s->mutex);
	for (i = 0; i < s->n; i++) {
		if (strcmp(s->items[i].key, key) == 0 && s->items[i].used > 0) {
			s->items[i].used--;
			break;
		}
	}
	pthread_mutex_unlock(&s->mutex);
}

void fugue_slots_free(fugue_slots *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->n; i++)
		free(s->items[i].key);
	free(s->items);
	pthread_mutex_destroy(&s->mutex);
	free(s);
}
