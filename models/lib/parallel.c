/* parallel.c - a loop split over OpenBLAS's thread count (parallel.h):
 * threads started per call and joined before it returns. A start and a
 * join cost tens of microseconds, against milliseconds of work per call;
 * threads that wait between calls would spin or sleep beside OpenBLAS's
 * own, and two pools busy on two cores halve the speed of both. */
#include "parallel.h"

#include <cblas.h>
#include <pthread.h>
#include <stdbool.h>

/* more threads than this run their parts on the ones there are */
#define MAX_PARTS 64

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

	struct part_job jobs[MAX_PARTS];
	pthread_t tids[MAX_PARTS];
	bool started[MAX_PARTS] = {false};

	openblas_set_num_threads(1);
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
	openblas_set_num_threads(threads);
}
