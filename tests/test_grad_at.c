/* test_grad_at.c - the gradient of a selection S: each tensor's span of S
 * (harness/run/grad_plan.c), the destinations a model reads off a plan and
 * the kernel of a weight gradient's selected entries, each of its three
 * methods against a reference in double (models/lib/grad_at.c). */
#include "support.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sb.h"
#include "util.h"
#include "run/grad_plan.h"
#include "../models/lib/grad_at.h"

/* ---- spans of S ---------------------------------------------------------- */

/* Four tensors: a [3,4] at 0, b [5] at 12, c [2,3] at 17, d [4] at 23. */
static const struct sb_tensor four[] = {
	{.name = "a", .offset = 0, .size = 12, .ndim = 2, .shape = {3, 4}},
	{.name = "b", .offset = 12, .size = 5, .ndim = 1, .shape = {5}},
	{.name = "c", .offset = 17, .size = 6, .ndim = 2, .shape = {2, 3}},
	{.name = "d", .offset = 23, .size = 4, .ndim = 1, .shape = {4}},
};
static const struct sb_layout four_layout = {
	.n_params = 27, .n_tensors = 4, .tensors = four,
};

static void test_plan_spans(void **state)
{
	(void)state;
	/* a in part, b not at all, c whole, d's first and last */
	sb_index idx[] = {1, 5, 11, 17, 18, 19, 20, 21, 22, 23, 26};
	struct sb_selection sel = {.idx = idx, .k = 11, .cap = 11};
	struct sb_grad_planner p;
	sb_grad_planner_init(&p, &four_layout);
	sb_grad_planner_set(&p, &four_layout, &sel);
	const struct {
		enum sb_grad_want want;
		size_t first, count;
	} want[4] = {
		{SB_WANT_SOME, 0, 3}, {SB_WANT_NONE, 3, 0},
		{SB_WANT_ALL, 3, 6}, {SB_WANT_SOME, 9, 2},
	};
	for (size_t t = 0; t < 4; t++) {
		assert_int_equal(p.plan.tensors[t].want, want[t].want);
		assert_int_equal(p.plan.tensors[t].first, want[t].first);
		assert_int_equal(p.plan.tensors[t].count, want[t].count);
	}
	assert_ptr_equal(p.plan.idx, idx);
	assert_int_equal(p.plan.k, 11);

	/* a tensor wanted whole is a stretch of grad in its own layout */
	float grad[11];
	struct sb_tgrad tg[4];
	sb_tgrad_fill(tg, &four_layout, &p.plan, grad);
	assert_ptr_equal(tg[2].dst, grad + 3);
	assert_null(tg[1].dst);
	assert_ptr_equal(tg[3].idx, idx + 9);
	assert_int_equal(tg[3].base, 23);
	/* without a plan, every tensor whole in the full gradient */
	float full[27];
	sb_tgrad_fill(tg, &four_layout, NULL, full);
	for (size_t t = 0; t < 4; t++) {
		assert_int_equal(tg[t].want, SB_WANT_ALL);
		assert_ptr_equal(tg[t].dst, full + four[t].offset);
	}
	sb_grad_planner_release(&p);
}

/* A small tensor's gradient computed whole lands where it is wanted. */
static void test_small_tensor_taken_where_wanted(void **state)
{
	(void)state;
	sb_index idx[] = {13, 15};
	float dst[2] = {1.0f, 2.0f}, spare[5], whole[5] = {10, 20, 30, 40, 50};
	struct sb_tgrad tg = {.want = SB_WANT_SOME, .dst = dst, .idx = idx,
			      .count = 2, .base = 12};
	float *acc = sb_tgrad_begin(&tg, 5, spare);
	assert_ptr_equal(acc, spare);
	for (size_t i = 0; i < 5; i++)
		assert_true(acc[i] == 0.0f);
	sb_tgrad_finish(&tg, whole);
	assert_true(dst[0] == 21.0f && dst[1] == 42.0f);
}

/* ---- the selected entries of a weight gradient ---------------------------- */

/* N = 37 rows (not a multiple of the 8 lanes), C = 19, OC = 150 rows of
 * the weight: S spans three of the kernel's 64-row blocks. */
enum { N = 37, C = 19, OC = 150 };

static void fill(float *x, size_t n, struct sb_rng *rng)
{
	for (size_t i = 0; i < n; i++)
		x[i] = (float)sb_rng_normal(rng);
}

/* A random subset of the weight's entries at `density`, offset by base. */
static size_t subset(sb_index *idx, double density, size_t base,
		     struct sb_rng *rng)
{
	size_t k = 0;
	for (size_t i = 0; i < (size_t)OC * C; i++)
		if (sb_rng_uniform(rng) < density)
			idx[k++] = (sb_index)(base + i);
	return k;
}

/* Float sums of N products against the double reference: recursive
 * summation is within N * 2^-24 of the sum of |terms| (Higham, "Accuracy
 * and Stability of Numerical Algorithms", 4.2), whatever the order or
 * blocking, and the reference rounds once more to float; any wrong pairing
 * of row and column is far outside it. */
static void check_against_naive(const float *got, const sb_index *idx,
				size_t k, size_t base, const float *dout,
				const float *inp)
{
	float *want = sb_calloc(k ? k : 1, sizeof *want);
	sb_grad_weight_at_naive(want, idx, k, base, dout, inp, N, C, OC);
	for (size_t j = 0; j < k; j++) {
		size_t o = (idx[j] - base) / C, c = (idx[j] - base) % C;
		double abs_sum = 0.0;
		for (size_t n = 0; n < N; n++)
			abs_sum += fabs((double)dout[n * OC + o] * inp[n * C + c]);
		double bound = (N + 1) * 0x1p-24 * abs_sum + 1e-30;
		if (!(fabs((double)got[j] - want[j]) <= bound))
			fail_msg("entry (%zu, %zu): %.9g, reference %.9g", o, c,
				 got[j], want[j]);
	}
	free(want);
}

static void test_weight_at_matches_reference(void **state)
{
	(void)state;
	struct sb_rng rng;
	struct sb_grad_scratch scratch = {0};
	float *dout = sb_malloc(N * OC * sizeof *dout);
	float *inp = sb_malloc(N * C * sizeof *inp);
	sb_index *idx = sb_malloc(OC * C * sizeof *idx);
	float *got = sb_malloc(OC * C * sizeof *got);
	const double densities[] = {0.003, 0.05, 0.4, 1.0};
	const size_t base = 1000;

	sb_rng_seed(&rng, 5);
	fill(dout, N * OC, &rng);
	fill(inp, N * C, &rng);
	for (size_t d = 0; d < 4; d++) {
		size_t k = subset(idx, densities[d], base, &rng);
		assert_true(k > 0);
		/* -1: the kernel's own choice; 0: dot products; 1: sgemm;
		 * 2: row by row */
		for (int method = -1; method <= 2; method++) {
			/* it adds into what is there */
			for (size_t j = 0; j < k; j++)
				got[j] = 0.0f;
			sb_grad_weight_at_with(got, idx, k, base, dout, inp,
					       N, C, OC, &scratch, method);
			check_against_naive(got, idx, k, base, dout, inp);
		}
		for (size_t j = 0; j < k; j++)
			got[j] = 1.0f;
		sb_grad_weight_at(got, idx, k, base, dout, inp, N, C, OC,
				  &scratch);
		for (size_t j = 0; j < k; j++)
			got[j] -= 1.0f;
		check_against_naive(got, idx, k, base, dout, inp);
	}
	sb_grad_scratch_release(&scratch);
	free(dout);
	free(inp);
	free(idx);
	free(got);
}

/* The whole weight through a plan equals the full product. */
static void test_weight_whole_is_the_full_product(void **state)
{
	(void)state;
	struct sb_rng rng;
	struct sb_grad_scratch scratch = {0};
	float *dout = sb_malloc(N * OC * sizeof *dout);
	float *inp = sb_malloc(N * C * sizeof *inp);
	float *all = sb_calloc(OC * C, sizeof *all);
	float *some = sb_calloc(OC * C, sizeof *some);
	sb_index *idx = sb_malloc(OC * C * sizeof *idx);
	sb_rng_seed(&rng, 6);
	fill(dout, N * OC, &rng);
	fill(inp, N * C, &rng);
	for (size_t i = 0; i < (size_t)OC * C; i++)
		idx[i] = (sb_index)i;
	struct sb_tgrad whole = {.want = SB_WANT_ALL, .dst = all,
				 .count = OC * C};
	struct sb_tgrad each = {.want = SB_WANT_SOME, .dst = some, .idx = idx,
				.count = OC * C};
	sb_tgrad_weight(&whole, dout, inp, N, C, OC, &scratch);
	sb_tgrad_weight(&each, dout, inp, N, C, OC, &scratch);
	check_against_naive(all, idx, OC * C, 0, dout, inp);
	check_against_naive(some, idx, OC * C, 0, dout, inp);
	/* nothing wanted: nothing written */
	struct sb_tgrad none = {.want = SB_WANT_NONE};
	sb_tgrad_weight(&none, dout, inp, N, C, OC, &scratch);
	sb_grad_scratch_release(&scratch);
	free(dout);
	free(inp);
	free(all);
	free(some);
	free(idx);
}

/* Bias gradients: column sums, whole or at S's entries. */
static void test_bias_sums(void **state)
{
	(void)state;
	struct sb_grad_scratch scratch = {0};
	const float dout[3 * 4] = {1, 2, 3, 4, 10, 20, 30, 40,
				   100, 200, 300, 400};
	float all[4] = {0}, some[2] = {0.5f, 0.5f};
	sb_index idx[] = {7, 9}; /* entries 1 and 3 of a bias at 6 */
	struct sb_tgrad whole = {.want = SB_WANT_ALL, .dst = all, .count = 4};
	struct sb_tgrad each = {.want = SB_WANT_SOME, .dst = some, .idx = idx,
				.count = 2, .base = 6};
	sb_tgrad_bias(&whole, dout, 3, 4, &scratch);
	sb_tgrad_bias(&each, dout, 3, 4, &scratch);
	assert_true(all[0] == 111 && all[1] == 222 && all[2] == 333 &&
		    all[3] == 444);
	assert_true(some[0] == 222.5f && some[1] == 444.5f);

	/* a few entries of a wide bias are summed alone, in the same order
	 * of additions as the whole sums: the same bits */
	enum { WIDE = 40 };
	float wide[3 * WIDE], whole_sums[WIDE] = {0}, few[2] = {0};
	sb_index at[] = {3, 37};
	for (size_t i = 0; i < 3 * WIDE; i++)
		wide[i] = 0.1f * (float)i - 1.7f;
	struct sb_tgrad all_w = {.want = SB_WANT_ALL, .dst = whole_sums,
				 .count = WIDE};
	struct sb_tgrad few_w = {.want = SB_WANT_SOME, .dst = few, .idx = at,
				 .count = 2};
	sb_tgrad_bias(&all_w, wide, 3, WIDE, &scratch);
	sb_tgrad_bias(&few_w, wide, 3, WIDE, &scratch);
	assert_true(few[0] == whole_sums[3] && few[1] == whole_sums[37]);
	sb_grad_scratch_release(&scratch);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plan_spans),
		cmocka_unit_test(test_small_tensor_taken_where_wanted),
		cmocka_unit_test(test_weight_at_matches_reference),
		cmocka_unit_test(test_weight_whole_is_the_full_product),
		cmocka_unit_test(test_bias_sums),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
