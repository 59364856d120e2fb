/* test_topk.c - sb_topk_abs and sb_topk_energy against a brute force that
 * sorts (|x|, index) pairs, on inputs full of ties, signed zeros,
 * denormals and infinities, on both of its ways: among the candidates
 * above a sampled bound (n >= 2^16, small k) and over all of x when the
 * bound fails or cannot pay. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "run/metrics.h"
#include "run/scan.h"
#include "run/topk.h"
#include "util.h"

#include <cblas.h>

static const size_t sizes[] = {1, 2, 7, 1000, 100003};
static const double densities[] = {0, 0.001, 0.01, 0.5, 1};

struct pair {
	float mag;
	size_t idx;
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

/* The reference: sort all pairs, keep the first k, order by index. Also
 * returns the retained energy summed in sorted order. */
static void brute_topk(const float *x, size_t n, size_t k, sb_index *out,
		       double *energy)
{
	struct pair *p = sb_malloc(n * sizeof *p);
	for (size_t i = 0; i < n; i++)
		p[i] = (struct pair){fabsf(x[i]), i};
	qsort(p, n, sizeof *p, by_mag_then_index);
	*energy = 0.0;
	for (size_t j = 0; j < k; j++) {
		out[j] = (sb_index)p[j].idx;
		*energy += (double)p[j].mag * (double)p[j].mag;
	}
	qsort(out, k, sizeof *out, by_index);
	free(p);
}

enum fill { FILL_TIES, FILL_NORMAL, FILL_EQUAL };

/* Values drawn from a small set (many ties, both zeros, denormals, both
 * infinities), from N(0, 1), or all equal. */
static void fill(float *x, size_t n, enum fill kind, struct sb_rng *rng)
{
	static const float pool[] = {
		0.0f, -0.0f, 1e-40f, -1e-40f, 2e-40f, 0.5f, -0.5f, 1.0f,
		-1.0f, 3.0f, -3.0f, INFINITY, -INFINITY, 1e-3f, -1e-3f,
	};
	size_t n_pool = sizeof pool / sizeof pool[0];
	for (size_t i = 0; i < n; i++) {
		switch (kind) {
		case FILL_TIES:
			x[i] = pool[sb_rng_below(rng, n_pool)];
			break;
		case FILL_NORMAL:
			x[i] = (float)sb_rng_normal(rng);
			break;
		case FILL_EQUAL:
			x[i] = (i & 1) ? -0.25f : 0.25f;
			break;
		}
	}
}

/* Relative tolerance for energies: both sides sum at most 1e5 squares in
 * double in different orders, an error below n * 2^-53 ~ 1.1e-11. */
#define ENERGY_RTOL 1e-10

static void check_energy(double got, double want)
{
	if (isinf(want)) {
		assert_true(isinf(got));
		return;
	}
	assert_true(fabs(got - want) <= ENERGY_RTOL * fabs(want));
}

static void check_case(const float *x, size_t n, size_t k, sb_index base)
{
	sb_index *got = sb_malloc((k ? k : 1) * sizeof *got);
	sb_index *want = sb_malloc((k ? k : 1) * sizeof *want);
	double want_energy;
	brute_topk(x, n, k, want, &want_energy);
	sb_topk_abs(x, n, k, base, got);
	for (size_t j = 0; j < k; j++)
		assert_int_equal(got[j], want[j] + base);
	check_energy(sb_topk_energy(x, n, k), want_energy);
	free(got);
	free(want);
}

static void run_grid(enum fill kind, uint64_t seed)
{
	struct sb_rng rng;
	sb_rng_seed(&rng, seed);
	for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
		size_t n = sizes[s];
		float *x = sb_malloc(n * sizeof *x);
		fill(x, n, kind, &rng);
		for (size_t d = 0; d < sizeof densities / sizeof densities[0];
		     d++) {
			size_t k = (size_t)llround(densities[d] * (double)n);
			check_case(x, n, k, 0);
		}
		free(x);
	}
}

static void test_matches_brute_force_with_ties(void **state)
{
	(void)state;
	run_grid(FILL_TIES, 1);
	run_grid(FILL_TIES, 2);
}

static void test_matches_brute_force_on_normal_values(void **state)
{
	(void)state;
	run_grid(FILL_NORMAL, 3);
}

static void test_matches_brute_force_when_all_equal(void **state)
{
	(void)state;
	run_grid(FILL_EQUAL, 4);
}

static void test_every_k_on_small_inputs(void **state)
{
	(void)state;
	struct sb_rng rng;
	sb_rng_seed(&rng, 5);
	float x[7];
	for (int rep = 0; rep < 50; rep++) {
		fill(x, 7, FILL_TIES, &rng);
		for (size_t k = 0; k <= 7; k++)
			check_case(x, 7, k, 0);
	}
}

static void test_ties_go_to_the_lower_index(void **state)
{
	(void)state;
	const float x[] = {1.0f, -3.0f, 3.0f, 2.0f, 3.0f, -3.0f};
	sb_index out[3];
	sb_topk_abs(x, 6, 2, 0, out);
	assert_int_equal(out[0], 1);
	assert_int_equal(out[1], 2);
	sb_topk_abs(x, 6, 3, 0, out);
	assert_int_equal(out[0], 1);
	assert_int_equal(out[1], 2);
	assert_int_equal(out[2], 4);
}

static void test_negative_zero_ties_with_zero(void **state)
{
	(void)state;
	const float x[] = {0.0f, -0.0f, 0.0f, -0.0f};
	sb_index out[2];
	sb_topk_abs(x, 4, 2, 0, out);
	assert_int_equal(out[0], 0);
	assert_int_equal(out[1], 1);
	const float y[] = {0.0f, 0.0f, -0.0f, 1e-45f};
	sb_topk_abs(y, 4, 2, 0, out);
	assert_int_equal(out[0], 0); /* the zeros tie; the denormal wins */
	assert_int_equal(out[1], 3);
	assert_true(sb_topk_energy(x, 4, 4) == 0.0);
}

static void test_infinities_and_denormals_order(void **state)
{
	(void)state;
	/* 1e-45f and 3e-45f round to the two smallest denormals; 1e-38f is
	 * a denormal too, below FLT_MIN */
	const float x[] = {1e-45f, -INFINITY, 1e-38f, 3e-45f, FLT_MAX, INFINITY};
	sb_index out[5];
	sb_topk_abs(x, 6, 2, 0, out);
	assert_int_equal(out[0], 1);
	assert_int_equal(out[1], 5);
	sb_topk_abs(x, 6, 3, 0, out);
	assert_int_equal(out[0], 1);
	assert_int_equal(out[1], 4);
	assert_int_equal(out[2], 5);
	sb_topk_abs(x, 6, 5, 0, out);
	for (sb_index j = 0; j < 5; j++)
		assert_int_equal(out[j], j + 1);
	assert_true(isinf(sb_topk_energy(x, 6, 1)));
	/* the two denormals left out of the top 4 */
	sb_topk_abs(x, 6, 4, 0, out);
	assert_int_equal(out[0], 1);
	assert_int_equal(out[1], 2);
	assert_int_equal(out[2], 4);
	assert_int_equal(out[3], 5);
}

static void test_base_offsets_the_indices(void **state)
{
	(void)state;
	const float x[] = {0.1f, -0.9f, 0.5f, 0.7f};
	sb_index out[2];
	sb_topk_abs(x, 4, 2, 1000, out);
	assert_int_equal(out[0], 1001);
	assert_int_equal(out[1], 1003);
	/* the same two double products added in the same order: equal */
	double e = sb_topk_energy(x, 4, 2);
	double want = (double)-0.9f * (double)-0.9f + (double)0.7f * (double)0.7f;
	assert_true(e == want);
}


/* Large enough for the sampled way (topk.c: n >= 2^16, one in 64 sampled
 * at positions 64 j + 32). */
#define N_BIG (1u << 18)

static void check_big(const float *x, size_t n)
{
	static const size_t ks[] = {0, 1, 100, N_BIG / 100, N_BIG / 20,
				    N_BIG - 1, N_BIG};
	for (size_t i = 0; i < sizeof ks / sizeof ks[0]; i++)
		check_case(x, n, ks[i], 7);
}

static void test_large_all_equal(void **state)
{
	(void)state;
	/* every key is the sampled bound: far too many candidates, so the
	 * selection falls back to the whole array */
	float *x = sb_malloc(N_BIG * sizeof *x);
	for (size_t i = 0; i < N_BIG; i++)
		x[i] = (i % 3) ? 0.75f : -0.75f;
	check_big(x, N_BIG);
	free(x);
}

static void test_large_many_ties_at_the_threshold(void **state)
{
	(void)state;
	/* 0.5% large and distinct, 2% exactly 1 (the 1% threshold falls
	 * among them), the rest below 0.5: the candidates hold every tie */
	struct sb_rng rng;
	sb_rng_seed(&rng, 11);
	float *x = sb_malloc(N_BIG * sizeof *x);
	for (size_t i = 0; i < N_BIG; i++) {
		double u = sb_rng_uniform(&rng);
		if (u < 0.005)
			x[i] = (float)(10.0 + (double)i * 1e-3);
		else if (u < 0.025)
			x[i] = (i & 1) ? 1.0f : -1.0f;
		else
			x[i] = (float)(0.5 * sb_rng_uniform(&rng));
	}
	check_big(x, N_BIG);
	free(x);
}

static void test_large_sample_misses_the_threshold(void **state)
{
	(void)state;
	/* only the sampled positions are large: the bound from the sample
	 * is above the k-th key, fewer than k candidates reach it, and the
	 * selection falls back to the whole array */
	float *x = sb_malloc(N_BIG * sizeof *x);
	for (size_t i = 0; i < N_BIG; i++)
		x[i] = i % 64 == 32 ? (float)(1.0 + (double)i * 1e-6)
				    : (float)(1e-3 * (double)(i % 97));
	check_big(x, N_BIG);
	free(x);
}

static void test_large_with_infinities_and_zeros(void **state)
{
	(void)state;
	/* NaN is the caller's to exclude (the policies reject it) */
	struct sb_rng rng;
	sb_rng_seed(&rng, 12);
	float *x = sb_malloc(N_BIG * sizeof *x);
	for (size_t i = 0; i < N_BIG; i++) {
		double u = sb_rng_uniform(&rng);
		x[i] = u < 0.002 ? (i & 1 ? INFINITY : -INFINITY)
			: u < 0.5 ? ((i & 1) ? 0.0f : -0.0f)
			: (float)sb_rng_normal(&rng);
	}
	check_big(x, N_BIG);
	free(x);
}

static void test_results_do_not_depend_on_threads(void **state)
{
	(void)state;
	struct sb_rng rng;
	sb_rng_seed(&rng, 13);
	size_t n = 3 * SB_SCAN_MIN_PER_THREAD + 5, k = n / 100;
	float *x = sb_malloc(n * sizeof *x);
	for (size_t i = 0; i < n; i++)
		x[i] = (float)sb_rng_normal(&rng);
	sb_index *one = sb_malloc(k * sizeof *one);
	sb_index *more = sb_malloc(k * sizeof *more);
	int saved = openblas_get_num_threads();
	openblas_set_num_threads(1);
	sb_topk_abs(x, n, k, 0, one);
	double total_one, total_more;
	double e_one = sb_topk_energy_total(x, n, k, &total_one);
	assert_true(total_one == sb_metrics_energy(x, n));
	for (int t = 2; t <= 3; t++) {
		openblas_set_num_threads(t);
		sb_topk_abs(x, n, k, 0, more);
		assert_memory_equal(one, more, k * sizeof *one);
		double e_more = sb_topk_energy_total(x, n, k, &total_more);
		/* bit for bit: the same sums in the same order */
		assert_true(e_one == e_more);
		assert_true(total_one == total_more);
		assert_true(sb_metrics_energy(x, n) == total_one);
	}
	openblas_set_num_threads(saved);
	free(x);
	free(one);
	free(more);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_matches_brute_force_with_ties),
		cmocka_unit_test(test_matches_brute_force_on_normal_values),
		cmocka_unit_test(test_matches_brute_force_when_all_equal),
		cmocka_unit_test(test_every_k_on_small_inputs),
		cmocka_unit_test(test_ties_go_to_the_lower_index),
		cmocka_unit_test(test_negative_zero_ties_with_zero),
		cmocka_unit_test(test_infinities_and_denormals_order),
		cmocka_unit_test(test_base_offsets_the_indices),
		cmocka_unit_test(test_large_all_equal),
		cmocka_unit_test(test_large_many_ties_at_the_threshold),
		cmocka_unit_test(test_large_sample_misses_the_threshold),
		cmocka_unit_test(test_large_with_infinities_and_zeros),
		cmocka_unit_test(test_results_do_not_depend_on_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
