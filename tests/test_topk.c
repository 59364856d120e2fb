/* test_topk.c - sb_topk_abs and sb_topk_energy against a brute force that
 * sorts (|x|, index) pairs, on inputs full of ties, signed zeros,
 * denormals and infinities. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "run/topk.h"
#include "util.h"

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
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
