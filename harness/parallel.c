/* parallel.c - a loop split over OpenBLAS's thread count (parallel.h):
 * on a pool of threads kept between calls while a holder wants them, else
 * on threads started per call and joined before it returns. Waiting
 * workers sleep on a condition variable: spinning would take the cores
 * from OpenBLAS's own threads, and two pools busy on two cores halve the
 * speed of both. */
#include "parallel.h"

#include <assert.h>
#include <cblas.h>
#include <pthread.h>
#include <stdbool.h>

/* more threads than this run their parts on the ones there are */
#define MAX_PARTS 64

/* The pool. Worker w runs part w + 1 of each call that has that many
 * parts. Invariants under `lock`: a call is published by setting the job
 * and adding 1 to `generation`; `pending` counts the workers that still
 * run a part of it; a worker has seen generation `seen[w]`. */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t start, done;
	pthread_t tids[MAX_PARTS - 1];
	unsigned long seen[MAX_PARTS - 1];
	size_t n_workers;
	unsigned long generation;
	size_t pending;
	bool stop;
	unsigned holds;
	bool running; /* a call is under way: calls must not overlap */
	sb_parallel_fn *fn;
	void *ctx;
	size_t parts;
} pool = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.start = PTHREAD_COND_INITIALIZER,
	.done = PTHREAD_COND_INITIALIZER,
};

static void *pool_worker(void *arg)
{
	const size_t w = (size_t)arg;

	pthread_mutex_lock(&pool.lock);
	for (;;) {
		while (!pool.stop && pool.seen[w] == pool.generation)
			pthread_cond_wait(&pool.start, &pool.lock);
		if (pool.stop)
			break;
		pool.seen[w] = pool.generation;
		if (w + 1 >= pool.parts)
			continue;
		sb_parallel_fn *fn = pool.fn;
		void *ctx = pool.ctx;
		size_t parts = pool.parts;
		pthread_mutex_unlock(&pool.lock);
		fn(ctx, w + 1, parts);
		pthread_mutex_lock(&pool.lock);
		if (--pool.pending == 0)
			pthread_cond_signal(&pool.done);
	}
	pthread_mutex_unlock(&pool.lock);
	return NULL;
}

/* Starts workers until there are `want` (or one fails to start); returns
 * how many there are. Called under the lock. */
static size_t pool_grow(size_t want)
{
	while (pool.n_workers < want) {
		size_t w = pool.n_workers;
		pool.seen[w] = pool.generation;
		if (pthread_create(&pool.tids[w], NULL, pool_worker,
				   (void *)w) != 0)
			break;
		pool.n_workers++;
	}
	return pool.n_workers;
}

void sb_parallel_hold(void)
{
	pthread_mutex_lock(&pool.lock);
	pool.holds++;
	pthread_mutex_unlock(&pool.lock);
}

void sb_parallel_drop(void)
{
	pthread_mutex_lock(&pool.lock);
	assert(pool.holds > 0 && !pool.running);
	if (--pool.holds > 0 || pool.n_workers == 0) {
		pthread_mutex_unlock(&pool.lock);
		return;
	}
	pool.stop = true;
	pthread_cond_broadcast(&pool.start);
	pthread_mutex_unlock(&pool.lock);
	for (size_t w = 0; w < pool.n_workers; w++)
		pthread_join(pool.tids[w], NULL);
	pool.n_workers = 0;
	pool.stop = false;
}

/* Parts 1..parts-1 on the pool's workers, 0 and any the pool lacks on the
 * caller; returns false (having run nothing) when nothing holds the pool. */
static bool run_on_pool(sb_parallel_fn *fn, void *ctx, size_t parts)
{
	pthread_mutex_lock(&pool.lock);
	if (pool.holds == 0) {
		pthread_mutex_unlock(&pool.lock);
		return false;
	}
	assert(!pool.running);
	size_t workers = pool_grow(parts - 1);
	workers = workers < parts - 1 ? workers : parts - 1;
	pool.running = true;
	pool.fn = fn;
	pool.ctx = ctx;
	pool.parts = parts;
	pool.pending = workers;
	pool.generation++;
	pthread_cond_broadcast(&pool.start);
	pthread_mutex_unlock(&pool.lock);

	fn(ctx, 0, parts);
	for (size_t p = workers + 1; p < parts; p++)
		fn(ctx, p, parts);

	pthread_mutex_lock(&pool.lock);
	while (pool.pending > 0)
		pthread_cond_wait(&pool.done, &pool.lock);
	pool.running = false;
	pthread_mutex_unlock(&pool.lock);
	return true;
}

struct part_job {
	sb_parallel_fn *fn;
	void *ctx;
	size_t part, parts;
};

static void *run_part(void *arg)
{
	struct part_job *job = arg;
	job->fn(job->ctx, job->part, job->parts);
	return NULL;
}

/* Parts 1..parts-1 on threads started for the call (or on the caller,
 * should starting one fail), part 0 on the caller. */
static void run_on_new_threads(sb_parallel_fn *fn, void *ctx, size_t parts)
{
	struct part_job jobs[MAX_PARTS];
	pthread_t tids[MAX_PARTS];
	bool started[MAX_PARTS] = {false};

	for (size_t p = 1; p < parts; p++) {
		jobs[p] = (struct part_job){fn, ctx, p, parts};
		started[p] = pthread_create(&tids[p], NULL, run_part,
					    &jobs[p]) == 0;
	}
	fn(ctx, 0, parts);
	for (size_t p = 1; p < parts; p++) {
		if (started[p])
			pthread_join(tids[p], NULL);
		else
			fn(ctx, p, parts);
	}
}

void sb_parallel_run(sb_parallel_fn *fn, void *ctx, size_t max_parts)
{
	int threads = openblas_get_num_threads();
	size_t parts = threads > 1 ? (size_t)threads : 1;

	parts = parts < max_parts ? parts : max_parts;
	parts = parts < MAX_PARTS ? parts : MAX_PARTS;
	if (parts <= 1) {
		fn(ctx, 0, 1);
		return;
	}
	openblas_set_num_threads(1);
	if (!run_on_pool(fn, ctx, parts))
		run_on_new_threads(fn, ctx, parts);
	openblas_set_num_threads(threads);
}
