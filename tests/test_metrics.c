/* test_metrics.c - the step measurements of harness/run/metrics.c: the
 * gradient's energy in the fixed order run/scan.h states (bit for bit, for
 * any number of threads), the energy of a selection, and churn's count of
 * entered components, each against an independent reference. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <cblas.h>
#include <math.h>
#include <stdlib.h>

#include "run/metrics.h"
#include "run/scan.h"
#include "run/topk.h"
#include "util.h"

/* The order of scan.h written out plainly: chunks of 4096, lane i mod 8
 * within a chunk, lanes added pairwise, chunks added in index order. */
static double energy_by_definition(const float *x, size_t n)
{
	double total = 0.0;
	for (size_t c0 = 0; c0 < n; c0 += SB_SCAN_CHUNK) {
		size_t c1 = c0 + SB_SCAN_CHUNK < n ? c0 + SB_SCAN_CHUNK : n;
		double lane[SB_SCAN_LANES] = {0};
		for (size_t i = c0; i < c1; i++)
			lane[(i - c0) % SB_SCAN_LANES] +=
				(double)x[i] * (double)x[i];
		total += ((lane[0] + lane[1]) + (lane[2] + lane[3])) +
			 ((lane[4] + lane[5]) + (lane[6] + lane[7]));
	}
	return total;
}

static void test_energy_follows_its_stated_order(void **state)
{
	(void)state;
	/* sizes around the chunk and lane boundaries, and large enough for
	 * three threads */
	static const size_t sizes[] = {0, 1, 7, 8, 9, 4095, 4096, 4097,
				       100003, 3 * SB_SCAN_MIN_PER_THREAD + 11};
	struct sb_rng rng;
	sb_rng_seed(&rng, 21);
	int saved = openblas_get_num_threads();
	for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
		size_t n = sizes[s];
		float *x = sb_malloc((n ? n : 1) * sizeof *x);
		for (size_t i = 0; i < n; i++)
			x[i] = (float)(sb_rng_normal(&rng) *
				       exp(4 * sb_rng_normal(&rng)));
		double want = energy_by_definition(x, n);
		for (int t = 1; t <= 3; t++) {
			openblas_set_num_threads(t);
			/* bit for bit: the same additions in the same order */
			assert_true(sb_metrics_energy(x, n) == want);
		}
		free(x);
	}
	openblas_set_num_threads(saved);
}

static void test_energy_is_the_sum_of_squares(void **state)
{
	(void)state;
	struct sb_rng rng;
	sb_rng_seed(&rng, 22);
	size_t n = 200000;
	float *x = sb_malloc(n * sizeof *x);
	long double ref = 0;
	for (size_t i = 0; i < n; i++) {
		x[i] = (float)sb_rng_normal(&rng);
		ref += (long double)x[i] * (long double)x[i];
	}
	/* positive terms: any order of double additions is within
	 * n * 2^-53 ~ 2.2e-11 of the exact sum, relatively */
	assert_true(fabsl((long double)sb_metrics_energy(x, n) - ref) <=
		    1e-10L * ref);
	free(x);
}

static void test_energy_at_and_entered(void **state)
{
	(void)state;
	const float g[] = {1.0f, -2.0f, 0.5f, 3.0f, 0.0f, -1.5f};
	sb_index now_idx[] = {1, 3, 5}, before_idx[] = {0, 3, 4, 5};
	struct sb_selection now = {.idx = now_idx, .k = 3};
	struct sb_selection before = {.idx = before_idx, .k = 4};
	/* 4 + 9 + 2.25, exact in double */
	assert_true(sb_metrics_energy_at(g, &now) == 15.25);
	assert_int_equal(sb_metrics_entered(&now, &before), 1);  /* 1 */
	assert_int_equal(sb_metrics_entered(&before, &now), 2);  /* 0, 4 */
	assert_int_equal(sb_metrics_entered(&now, &now), 0);
}

/* A set holding every component retains exactly all the energy: the
 * selection's sum takes the total's order. 10007 is past two chunks and not
 * a multiple of the lanes. */
static void test_energy_at_everything_is_the_total(void **state)
{
	(void)state;
	enum { N = 10007 };
	float *g = malloc(N * sizeof *g);
	sb_index *idx = malloc(N * sizeof *idx);
	struct sb_rng rng;
	sb_rng_seed(&rng, 7);
	for (size_t i = 0; i < N; i++) {
		g[i] = (float)sb_rng_normal(&rng) * 1e-3f;
		idx[i] = (sb_index)i;
	}
	struct sb_selection all = {.idx = idx, .k = N};
	assert_true(sb_metrics_energy_at(g, &all) == sb_metrics_energy(g, N));
	/* and so does the oracle's top-n */
	double total;
	assert_true(sb_topk_energy_total(g, N, N, &total) == total);
	assert_true(sb_topk_energy(g, N, N) == total);
	free(g);
	free(idx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_energy_follows_its_stated_order),
		cmocka_unit_test(test_energy_is_the_sum_of_squares),
		cmocka_unit_test(test_energy_at_and_entered),
		cmocka_unit_test(test_energy_at_everything_is_the_total),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
