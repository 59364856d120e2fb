/* bench_topk.c - time of sb_topk_abs (harness/run/topk.c) of 1% of n
 * N(0, 1) values, n = 1e6, 1e7, 1e8, against one streaming read of the
 * same array in the same run (bench/floor.c), with as many threads as
 * OpenBLAS has (the cores, unless OPENBLAS_NUM_THREADS says otherwise);
 * and sb_topk_energy_total, the oracle's energy with the whole energy, the
 * pass the metrics make. At 1e6 the result is checked against a sort.
 * Prints figures and RESULT lines; asserts nothing. */
#include "floor.h"
#include "result.h"
#include "run/topk.h"
#include "util.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* The selection's target: within this ratio of one read of the array. */
#define TARGET_RATIO 3.3
#define REPEATS 5

struct pair {
	float mag;
	sb_index idx;
};

/* Larger magnitude first; equal magnitudes: lower index first. */
static int by_mag_then_index(const void *pa, const void *pb)
{
	const struct pair *a = pa, *b = pb;
	if (a->mag != b->mag)
		return a->mag > b->mag ? -1 : 1;
	return (a->idx > b->idx) - (a->idx < b->idx);
}

static int by_index(const void *pa, const void *pb)
{
	sb_index a = *(const sb_index *)pa, b = *(const sb_index *)pb;
	return (a > b) - (a < b);
}

/* The sort-based top-k, the reference the selection must equal. */
static void topk_by_qsort(const float *x, size_t n, size_t k, sb_index *out)
{
	struct pair *p = sb_malloc(n * sizeof *p);
	for (size_t i = 0; i < n; i++)
		p[i] = (struct pair){fabsf(x[i]), (sb_index)i};
	qsort(p, n, sizeof *p, by_mag_then_index);
	for (size_t j = 0; j < k; j++)
		out[j] = p[j].idx;
	qsort(out, k, sizeof *out, by_index);
	free(p);
}

int main(void)
{
	static const size_t sizes[] = {1000000, 10000000, 100000000};
	static const char *const names[] = {"1e6", "1e7", "1e8"};
	struct sb_rng rng;
	sb_rng_seed(&rng, 1);
	int threads = openblas_get_num_threads();

	printf("top 1%% by magnitude against one read of the array, %d "
	       "thread%s, fastest of %d\n", threads, threads == 1 ? "" : "s",
	       REPEATS);
	printf("%12s %10s %10s %12s %7s %14s %7s %6s\n", "n", "k", "read ms",
	       "topk_abs ms", "ratio", "energy+tot ms", "ratio", "same");
	for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
		size_t n = sizes[s], k = n / 100;
		float *x = sb_malloc(n * sizeof *x);
		sb_index *fast = sb_malloc(k * sizeof *fast);
		for (size_t i = 0; i < n; i++)
			x[i] = (float)sb_rng_normal(&rng);

		double t_read = sb_floor_read(x, n, threads, REPEATS);
		double t_topk = INFINITY, t_energy = INFINITY;
		for (int rep = 0; rep < REPEATS; rep++) {
			double t0 = sb_now();
			sb_topk_abs(x, n, k, 0, fast);
			double t1 = sb_now();
			double total;
			volatile double e = sb_topk_energy_total(x, n, k,
								 &total);
			(void)e;
			double t2 = sb_now();
			t_topk = fmin(t_topk, t1 - t0);
			t_energy = fmin(t_energy, t2 - t1);
		}
		const char *same = "-";
		if (n <= 1000000) {
			sb_index *slow = sb_malloc(k * sizeof *slow);
			topk_by_qsort(x, n, k, slow);
			size_t equal = 0;
			for (size_t j = 0; j < k; j++)
				equal += fast[j] == slow[j];
			same = equal == k ? "yes" : "NO";
			free(slow);
		}
		printf("%12zu %10zu %10.2f %12.2f %7.2f %14.2f %7.2f %6s\n", n,
		       k, 1e3 * t_read, 1e3 * t_topk, t_topk / t_read,
		       1e3 * t_energy, t_energy / t_read, same);
		char name[64];
		snprintf(name, sizeof name, "topk_abs_1pct_%s_vs_read",
			 names[s]);
		sb_bench_result(name, t_topk, t_read, TARGET_RATIO);
		free(x);
		free(fast);
	}
	return 0;
}
