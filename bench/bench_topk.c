/* bench_topk.c - time of sb_topk_abs (radix select, harness/run/topk.c) against
 * the sort-based way, qsort of (|x|, index) pairs, for n = 1e6, 1e7, 1e8 at
 * k = 1% of N(0, 1) values. Prints measured figures; asserts nothing. */
#include "run/topk.h"
#include "util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

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

/* The sort-based top-k: the reference the radix select replaces. */
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
	struct sb_rng rng;
	sb_rng_seed(&rng, 1);

	printf("%12s %10s %14s %14s %9s %6s\n", "n", "k", "topk_abs (s)",
	       "qsort (s)", "speed-up", "same");
	for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
		size_t n = sizes[s], k = n / 100;
		float *x = sb_malloc(n * sizeof *x);
		sb_index *fast = sb_malloc(k * sizeof *fast);
		sb_index *slow = sb_malloc(k * sizeof *slow);
		for (size_t i = 0; i < n; i++)
			x[i] = (float)sb_rng_normal(&rng);

		/* best of three: the first run also pays for page faults */
		double t_fast = INFINITY;
		for (int rep = 0; rep < 3; rep++) {
			double t0 = sb_now();
			sb_topk_abs(x, n, k, 0, fast);
			double t = sb_now() - t0;
			if (t < t_fast)
				t_fast = t;
		}
		double t0 = sb_now();
		topk_by_qsort(x, n, k, slow);
		double t_slow = sb_now() - t0;

		size_t same = 0;
		for (size_t j = 0; j < k; j++)
			same += fast[j] == slow[j];
		printf("%12zu %10zu %14.4f %14.4f %8.1fx %6s\n", n, k, t_fast,
		       t_slow, t_slow / t_fast, same == k ? "yes" : "NO");
		fflush(stdout);
		free(x);
		free(fast);
		free(slow);
	}
	return 0;
}
