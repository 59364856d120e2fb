/* test_policies.c - the selection policies driven as the core drives
 * them (scope computed once, select every step) on a hand-built layout of
 * named tensors in two blocks, checked against brute-force definitions. */
#include "support.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "spec/params.h"
#include "run/scope.h"
#include "run/selection.h"
#include "run/topk.h"
#include "util.h"
#include "../policies/lib/pick.h"

extern const struct sb_policy sb_policy_dense;
extern const struct sb_policy sb_policy_topk_batch;
extern const struct sb_policy sb_policy_topk_first;
extern const struct sb_policy sb_policy_random;
extern const struct sb_policy sb_policy_fixed_layers;

#define N_PARAMS SB_TEST_N_PARAMS

/* Opens a policy over the layout of tests/support.c with name/value
 * pairs: wte 0..299, h.0.attn 300..499, h.0.mlp 500..899, h.1.attn
 * 900..1099, h.1.mlp 1100..1499, head 1500..1599. */
#define run_open(r, policy, seed, err, ...)                                   \
	sb_test_policy_open(r, policy, &sb_test_policy_layout, seed, err,     \
			    __VA_ARGS__)

static double selection_energy(const struct sb_selection *sel,
			       const float *g)
{
	double e = 0.0;
	for (size_t j = 0; j < sel->k; j++)
		e += (double)g[sel->idx[j]] * (double)g[sel->idx[j]];
	return e;
}

/* ---- dense ------------------------------------------------------------ */

static void test_dense_selects_everything_once(void **state)
{
	(void)state;
	struct sb_test_policy r;
	struct sb_error err;
	float grad[N_PARAMS] = {0};
	assert_int_equal(run_open(&r, &sb_policy_dense, 1, &err, NULL), 0);
	assert_false(sb_policy_dense.scoped);
	/* without a scope the context offers every component */
	assert_int_equal(r.ctx.k, N_PARAMS);
	assert_int_equal(r.ctx.n_eligible, N_PARAMS);
	assert_true(r.ctx.density == 1.0 && r.ctx.n_scope == 0);
	assert_int_equal(sb_test_policy_select(&r, grad, 0, &err), SB_SELECT_FIXED);
	assert_int_equal(r.sel.k, N_PARAMS);
	for (size_t i = 0; i < N_PARAMS; i++)
		assert_int_equal(r.sel.idx[i], i);
	for (long step = 1; step < 4; step++)
		assert_int_equal(sb_test_policy_select(&r, grad, step, &err), SB_SELECT_SAME);
	assert_int_equal(r.sel.k, N_PARAMS);
	sb_test_policy_close(&r);
}

/* ---- topk_batch ------------------------------------------------------- */

static void test_topk_batch_retains_the_oracle_energy(void **state)
{
	(void)state;
	struct sb_test_policy r;
	struct sb_error err;
	struct sb_rng rng;
	float *grad = sb_malloc(N_PARAMS * sizeof *grad);
	bool *eligible = sb_malloc(N_PARAMS * sizeof *eligible);
	sb_rng_seed(&rng, 11);
	assert_int_equal(run_open(&r, &sb_policy_topk_batch, 1, &err,
				  "density", "0.05", NULL), 0);
	assert_int_equal(r.ctx.k, 80);
	sb_test_eligible(&r.ctx, eligible);
	for (long step = 0; step < 8; step++) {
		if (step % 2)
			sb_test_fill_ties(grad, N_PARAMS, &rng);
		else
			sb_test_fill_normal(grad, N_PARAMS, &rng);
		assert_int_equal(sb_test_policy_select(&r, grad, step, &err), 0);
		assert_int_equal(r.sel.k, 80);
		sb_test_assert_sorted_unique(&r.sel);
		sb_test_assert_top_k(&r.sel, grad, eligible, N_PARAMS);
		/* retained == oracle: both sum the same 80 squares in double,
		 * in different orders; the gap is below 80 * 2^-53 relative */
		double oracle = sb_topk_energy(grad, N_PARAMS, 80);
		assert_true(fabs(selection_energy(&r.sel, grad) - oracle) <=
			    1e-13 * oracle);
	}
	sb_test_policy_close(&r);
	free(grad);
	free(eligible);
}

static void test_topk_batch_over_a_scope_with_gaps(void **state)
{
	(void)state;
	struct sb_test_policy r;
	struct sb_error err;
	struct sb_rng rng;
	float *grad = sb_malloc(N_PARAMS * sizeof *grad);
	bool *eligible = sb_malloc(N_PARAMS * sizeof *eligible);
	sb_rng_seed(&rng, 12);
	/* scope: h.0.attn, h.1.attn, head (200 + 200 + 100, not adjacent) */
	assert_int_equal(run_open(&r, &sb_policy_topk_batch, 1, &err,
				  "density", "0.1", "exclude", "[*mlp*, wte]",
				  NULL), 0);
	assert_int_equal(r.ctx.n_eligible, 500);
	assert_int_equal(r.ctx.k, 50);
	sb_test_eligible(&r.ctx, eligible);
	for (long step = 0; step < 4; step++) {
		if (step % 2)
			sb_test_fill_normal(grad, N_PARAMS, &rng);
		else
			sb_test_fill_ties(grad, N_PARAMS, &rng);
		assert_int_equal(sb_test_policy_select(&r, grad, step, &err), 0);
		assert_int_equal(r.sel.k, 50);
		sb_test_assert_sorted_unique(&r.sel);
		sb_test_assert_top_k(&r.sel, grad, eligible, N_PARAMS);
	}
	sb_test_policy_close(&r);
	free(grad);
	free(eligible);
}

static void test_apportionment_is_largest_remainder(void **state)
{
	(void)state;
	/* density 0.5 over sizes 3, 5, 7, 9, 2: quotas 1.5 2.5 3.5 4.5 1,
	 * k = 13, floors sum to 11; the two units go to the equal remainders
	 * of the lowest tensors. All quotas are exact in binary. */
	static const struct sb_tensor small[] = {
		{.name = "a", .offset = 0, .size = 3},
		{.name = "b", .offset = 3, .size = 5},
		{.name = "c", .offset = 8, .size = 7},
		{.name = "d", .offset = 15, .size = 9},
		{.name = "e", .offset = 24, .size = 2},
	};
	static const struct sb_layout lay = {
		.n_params = 26, .n_tensors = 5, .tensors = small,
	};
	const size_t scope[] = {0, 1, 2, 3, 4};
	struct sb_select_ctx ctx = {
		.layout = &lay, .scope = scope, .n_scope = 5,
		.n_eligible = 26, .density = 0.5, .k = 13, .per_tensor = true,
	};
	size_t k_t[5];
	sb_select_apportion(&ctx, k_t);
	const size_t want[] = {2, 3, 3, 4, 1};
	for (size_t s = 0; s < 5; s++)
		assert_int_equal(k_t[s], want[s]);

	/* density 0.25 over a, b, c, d: quotas 0.75 1.25 1.75 2.25, k = 6;
	 * remainders 0.75 go first */
	ctx.n_scope = 4;
	ctx.n_eligible = 24;
	ctx.density = 0.25;
	ctx.k = 6;
	sb_select_apportion(&ctx, k_t);
	const size_t want2[] = {1, 1, 2, 2};
	for (size_t s = 0; s < 4; s++)
		assert_int_equal(k_t[s], want2[s]);
}

static void test_topk_batch_per_tensor(void **state)
{
	(void)state;
	struct sb_test_policy r;
	struct sb_error err;
	struct sb_rng rng;
	float *grad = sb_malloc(N_PARAMS * sizeof *grad);
	bool *eligible = sb_malloc(N_PARAMS * sizeof *eligible);
	sb_rng_seed(&rng, 13);
	/* density 1/8: quotas 37.5 25 50 25 50 12.5, k = 200; the one unit
	 * left goes to wte (remainder 0.5, tied with head, lower index) */
	assert_int_equal(run_open(&r, &sb_policy_topk_batch, 1, &err,
				  "density", "0.125", "granularity",
				  "per_tensor", NULL), 0);
	assert_int_equal(r.ctx.k, 200);
	const size_t want[] = {38, 25, 50, 25, 50, 12};
	for (long step = 0; step < 4; step++) {
		/* a gradient concentrated in h.1.mlp: a global top-k would
		 * take nearly everything from there */
		sb_test_fill_ties(grad, N_PARAMS, &rng);
		for (size_t i = 1100; i < 1500; i++)
			grad[i] *= 100.0f;
		assert_int_equal(sb_test_policy_select(&r, grad, step, &err), 0);
		assert_int_equal(r.sel.k, 200);
		sb_test_assert_sorted_unique(&r.sel);
		size_t j = 0;
		for (size_t t = 0; t < 6; t++) {
			struct sb_selection part = {
				.idx = r.sel.idx + j, .k = want[t],
			};
			memset(eligible, 0, N_PARAMS * sizeof *eligible);
			const struct sb_tensor *ten =
				&sb_test_policy_layout.tensors[t];
			for (size_t i = 0; i < ten->size; i++)
				eligible[ten->offset + i] = true;
			sb_test_assert_top_k(&part, grad, eligible, N_PARAMS);
			j += want[t];
		}
	}
	sb_test_policy_close(&r);
	free(grad);
	free(eligible);
}

/* ---- topk_first ------------------------------------------------------- */

static void test_topk_first_sums_the_first_batches(void **state)
{
	(void)state;
	struct sb_test_policy r;
	struct sb_error err;
	struct sb_rng rng;
	float *grads = sb_malloc(5 * N_PARAMS * sizeof *grads);
	float *sum = sb_calloc(N_PARAMS, sizeof *sum);
	sb_index want[80];
	sb_rng_seed(&rng, 21);
	for (size_t b = 0; b < 5; b++)
		sb_test_fill_normal(grads + b * N_PARAMS, N_PARAMS, &rng);

	assert_int_equal(run_open(&r, &sb_policy_topk_first, 1, &err,
				  "density", "0.05", "batches", "3", NULL), 0);
	for (long step = 0; step < 3; step++) {
		const float *g = grads + step * N_PARAMS;
		for (size_t i = 0; i < N_PARAMS; i++)
			sum[i] += fabsf(g[i]);
		assert_int_equal(sb_test_policy_select(&r, g, step, &err),
				 step < 2 ? SB_SELECT_NEW : SB_SELECT_FIXED);
		assert_int_equal(r.sel.k, 80);
		/* the same float sums in the same order: the same set */
		sb_topk_abs(sum, N_PARAMS, 80, 0, want);
		for (size_t j = 0; j < 80; j++)
			assert_int_equal(r.sel.idx[j], want[j]);
		if (step == 0) {
			sb_topk_abs(g, N_PARAMS, 80, 0, want);
			for (size_t j = 0; j < 80; j++)
				assert_int_equal(r.sel.idx[j], want[j]);
		}
	}
	/* after warm-up: unchanged, selection left as it was */
	for (long step = 3; step < 5; step++) {
		assert_int_equal(sb_test_policy_select(&r, grads + step * N_PARAMS, step,
					    &err), 1);
		assert_int_equal(r.sel.k, 80);
		for (size_t j = 0; j < 80; j++)
			assert_int_equal(r.sel.idx[j], want[j]);
	}
	sb_test_policy_close(&r);
	free(grads);
	free(sum);
}

static void test_topk_first_default_is_one_batch(void **state)
{
	(void)state;
	struct sb_test_policy r;
	struct sb_error err;
	struct sb_rng rng;
	float *grad = sb_malloc(N_PARAMS * sizeof *grad);
	bool *eligible = sb_malloc(N_PARAMS * sizeof *eligible);
	sb_rng_seed(&rng, 22);
	assert_int_equal(run_open(&r, &sb_policy_topk_first, 1, &err,
				  "density", "0.02", "include", "[h.*]",
				  "exclude", "[h.0.mlp.weight]", NULL), 0);
	assert_int_equal(sb_values_int(&r.cfg, "batches"), 1);
	assert_int_equal(r.ctx.k, 16); /* 0.02 * 800 */
	sb_test_eligible(&r.ctx, eligible);
	sb_test_fill_ties(grad, N_PARAMS, &rng);
	assert_int_equal(sb_test_policy_select(&r, grad, 0, &err), SB_SELECT_FIXED);
	assert_int_equal(r.sel.k, 16);
	sb_test_assert_sorted_unique(&r.sel);
	sb_test_assert_top_k(&r.sel, grad, eligible, N_PARAMS);
	sb_test_fill_normal(grad, N_PARAMS, &rng);
	assert_int_equal(sb_test_policy_select(&r, grad, 1, &err), 1);
	sb_test_policy_close(&r);
	free(grad);
	free(eligible);
}

static void test_topk_first_of_one_batch_is_topk_batch(void **state)
{
	(void)state;
	struct sb_error err;
	struct sb_rng rng;
	float *grad = sb_malloc(N_PARAMS * sizeof *grad);
	sb_rng_seed(&rng, 23);
	sb_test_fill_ties(grad, N_PARAMS, &rng);
	static const char *const granularity[] = {"global", "per_tensor"};
	for (size_t g = 0; g < 2; g++) {
		struct sb_test_policy first, batch;
		/* a scope with gaps: the accumulator is in the gathered layout */
		assert_int_equal(run_open(&first, &sb_policy_topk_first, 1, &err,
					  "density", "0.03", "exclude",
					  "[h.0.mlp.weight, head.*]",
					  "granularity", granularity[g], NULL), 0);
		assert_int_equal(run_open(&batch, &sb_policy_topk_batch, 1, &err,
					  "density", "0.03", "exclude",
					  "[h.0.mlp.weight, head.*]",
					  "granularity", granularity[g], NULL), 0);
		assert_int_equal(sb_test_policy_select(&first, grad, 0, &err),
				 SB_SELECT_FIXED);
		assert_int_equal(sb_test_policy_select(&batch, grad, 0, &err), SB_SELECT_NEW);
		assert_int_equal(first.sel.k, 33); /* 0.03 * 1100 */
		assert_int_equal(batch.sel.k, 33);
		assert_memory_equal(first.sel.idx, batch.sel.idx,
				    33 * sizeof *first.sel.idx);
		sb_test_policy_close(&first);
		sb_test_policy_close(&batch);
	}
	free(grad);
}

/* ---- random ----------------------------------------------------------- */

static void test_random_is_seeded_and_fixed(void **state)
{
	(void)state;
	struct sb_test_policy a, b, c;
	struct sb_error err;
	float grad[N_PARAMS] = {0};
	assert_int_equal(run_open(&a, &sb_policy_random, 7, &err,
				  "density", "0.05", NULL), 0);
	assert_int_equal(run_open(&b, &sb_policy_random, 7, &err,
				  "density", "0.05", NULL), 0);
	assert_int_equal(run_open(&c, &sb_policy_random, 8, &err,
				  "density", "0.05", NULL), 0);
	assert_int_equal(sb_test_policy_select(&a, grad, 0, &err), SB_SELECT_FIXED);
	assert_int_equal(sb_test_policy_select(&b, grad, 0, &err), SB_SELECT_FIXED);
	assert_int_equal(sb_test_policy_select(&c, grad, 0, &err), SB_SELECT_FIXED);
	assert_int_equal(a.sel.k, 80);
	assert_int_equal(c.sel.k, 80);
	sb_test_assert_sorted_unique(&a.sel);
	sb_test_assert_sorted_unique(&c.sel);
	assert_memory_equal(a.sel.idx, b.sel.idx, 80 * sizeof *a.sel.idx);
	size_t common = 0;
	for (size_t i = 0, j = 0; i < 80 && j < 80;) {
		if (a.sel.idx[i] == c.sel.idx[j]) {
			common++;
			i++;
			j++;
		} else if (a.sel.idx[i] < c.sel.idx[j]) {
			i++;
		} else {
			j++;
		}
	}
	/* two independent draws of 80 of 1600 share 80 * 0.05 = 4 components
	 * on average (hypergeometric, sd ~1.9): 20 shared would be 8 sd off */
	assert_true(common < 20);
	assert_int_equal(sb_test_policy_select(&a, grad, 1, &err), 1);
	assert_int_equal(a.sel.k, 80);
	sb_test_policy_close(&a);
	sb_test_policy_close(&b);
	sb_test_policy_close(&c);
}

static void test_random_is_uniform_over_the_scope(void **state)
{
	(void)state;
	enum { RUNS = 2000 };
	struct sb_error err;
	float grad[N_PARAMS] = {0};
	unsigned *hits = sb_calloc(N_PARAMS, sizeof *hits);
	for (uint64_t seed = 0; seed < RUNS; seed++) {
		struct sb_test_policy r;
		/* scope: 1300 components, k = round(162.5) = 163 */
		assert_int_equal(run_open(&r, &sb_policy_random, seed, &err,
					  "density", "0.125", "exclude",
					  "[wte]", NULL), 0);
		assert_int_equal(sb_test_policy_select(&r, grad, 0, &err), SB_SELECT_FIXED);
		assert_int_equal(r.sel.k, 163);
		for (size_t j = 0; j < r.sel.k; j++)
			hits[r.sel.idx[j]]++;
		sb_test_policy_close(&r);
	}
	/* Each eligible component is taken in Binomial(2000, p = 163/1300)
	 * runs: mean 250.8, sd 14.8. A 5 sd band holds all 1300 with
	 * probability above 1 - 1300 * 5.7e-7 = 0.9993 (normal tails; n p =
	 * 251 makes the normal approximation close). */
	double p = 163.0 / 1300.0;
	double mean = RUNS * p, sd = sqrt(RUNS * p * (1 - p));
	for (size_t i = 0; i < N_PARAMS; i++) {
		if (i < 300) {
			assert_int_equal(hits[i], 0);
			continue;
		}
		assert_true(fabs(hits[i] - mean) <= 5 * sd);
	}
	free(hits);
}

static void test_random_per_tensor_counts(void **state)
{
	(void)state;
	struct sb_test_policy r;
	struct sb_error err;
	float grad[N_PARAMS] = {0};
	assert_int_equal(run_open(&r, &sb_policy_random, 3, &err,
				  "density", "0.125", "granularity",
				  "per_tensor", NULL), 0);
	assert_int_equal(sb_test_policy_select(&r, grad, 0, &err), SB_SELECT_FIXED);
	assert_int_equal(r.sel.k, 200);
	sb_test_assert_sorted_unique(&r.sel);
	const size_t want[] = {38, 25, 50, 25, 50, 12};
	for (size_t t = 0; t < 6; t++) {
		const struct sb_tensor *ten = &sb_test_policy_layout.tensors[t];
		size_t n = 0;
		for (size_t j = 0; j < r.sel.k; j++)
			n += r.sel.idx[j] >= ten->offset &&
			     r.sel.idx[j] < ten->offset + ten->size;
		assert_int_equal(n, want[t]);
	}
	sb_test_policy_close(&r);
}

/* ---- fixed_layers ------------------------------------------------------- */

static void assert_range(const struct sb_selection *sel, sb_index lo,
			 sb_index hi)
{
	assert_int_equal(sel->k, hi - lo);
	for (size_t j = 0; j < sel->k; j++)
		assert_int_equal(sel->idx[j], lo + j);
}

static void test_fixed_layers_by_layer_and_pattern(void **state)
{
	(void)state;
	struct sb_test_policy r;
	struct sb_error err;
	float grad[N_PARAMS] = {0};

	assert_int_equal(run_open(&r, &sb_policy_fixed_layers, 1, &err,
				  "layers", "[-1]", NULL), 0);
	assert_int_equal(sb_test_policy_select(&r, grad, 0, &err), SB_SELECT_FIXED);
	assert_range(&r.sel, 900, 1500);
	assert_int_equal(sb_test_policy_select(&r, grad, 1, &err), 1);
	sb_test_policy_close(&r);

	assert_int_equal(run_open(&r, &sb_policy_fixed_layers, 1, &err,
				  "tensors", "[head.*]", NULL), 0);
	assert_int_equal(sb_test_policy_select(&r, grad, 0, &err), SB_SELECT_FIXED);
	assert_range(&r.sel, 1500, 1600);
	sb_test_policy_close(&r);

	/* the last block and the head, the usual baseline */
	assert_int_equal(run_open(&r, &sb_policy_fixed_layers, 1, &err,
				  "layers", "[-1]", "tensors", "[head.*]",
				  NULL), 0);
	assert_int_equal(sb_test_policy_select(&r, grad, 0, &err), SB_SELECT_FIXED);
	assert_range(&r.sel, 900, 1600);
	sb_test_policy_close(&r);

	assert_int_equal(run_open(&r, &sb_policy_fixed_layers, 1, &err,
				  "layers", "[0]", "tensors", "[wte]", NULL), 0);
	assert_int_equal(sb_test_policy_select(&r, grad, 0, &err), SB_SELECT_FIXED);
	assert_range(&r.sel, 0, 900);
	sb_test_policy_close(&r);
}

static void test_fixed_layers_init_errors(void **state)
{
	(void)state;
	struct sb_test_policy r;
	struct sb_error err = {{0}};

	assert_int_equal(run_open(&r, &sb_policy_fixed_layers, 1, &err,
				  "layers", "[2]", NULL), -1);
	assert_non_null(strstr(err.msg, "layer 2 is out of range"));
	sb_test_policy_close(&r);

	assert_int_equal(run_open(&r, &sb_policy_fixed_layers, 1, &err,
				  "layers", "[-3]", NULL), -1);
	assert_non_null(strstr(err.msg, "layer -3 is out of range"));
	sb_test_policy_close(&r);

	assert_int_equal(run_open(&r, &sb_policy_fixed_layers, 1, &err,
				  "tensors", "[lm_head]", NULL), -1);
	assert_string_equal(err.msg, "fixed_layers: tensor pattern 'lm_head' "
			    "matches no tensor");
	sb_test_policy_close(&r);

	assert_int_equal(run_open(&r, &sb_policy_fixed_layers, 1, &err,
				  NULL), -1);
	assert_non_null(strstr(err.msg, "nothing selected"));
	sb_test_policy_close(&r);
}

/* ---- NaN ---------------------------------------------------------------- */

static void test_nan_in_the_read_gradient_is_an_error(void **state)
{
	(void)state;
	const struct sb_policy *readers[] = {
		&sb_policy_topk_batch, &sb_policy_topk_first,
	};
	struct sb_rng rng;
	float *grad = sb_malloc(N_PARAMS * sizeof *grad);
	sb_rng_seed(&rng, 31);
	sb_test_fill_normal(grad, N_PARAMS, &rng);
	grad[537] = NAN;
	for (size_t p = 0; p < 2; p++) {
		struct sb_test_policy r;
		struct sb_error err = {{0}};
		assert_int_equal(run_open(&r, readers[p], 1, &err, NULL), 0);
		assert_int_equal(sb_test_policy_select(&r, grad, 0, &err), -1);
		assert_string_equal(err.msg, "gradient is NaN at component 537 "
				    "(tensor 'h.0.mlp.weight')");
		sb_test_policy_close(&r);

		/* outside the scope the policy does not read it */
		assert_int_equal(run_open(&r, readers[p], 1, &err, "exclude",
					  "[h.0.mlp.weight]", NULL), 0);
		assert_int_equal(sb_test_policy_select(&r, grad, 0, &err),
				 p ? SB_SELECT_FIXED : SB_SELECT_NEW);
		sb_test_policy_close(&r);
	}
	free(grad);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dense_selects_everything_once),
		cmocka_unit_test(test_topk_batch_retains_the_oracle_energy),
		cmocka_unit_test(test_topk_batch_over_a_scope_with_gaps),
		cmocka_unit_test(test_apportionment_is_largest_remainder),
		cmocka_unit_test(test_topk_batch_per_tensor),
		cmocka_unit_test(test_topk_first_sums_the_first_batches),
		cmocka_unit_test(test_topk_first_default_is_one_batch),
		cmocka_unit_test(test_topk_first_of_one_batch_is_topk_batch),
		cmocka_unit_test(test_random_is_seeded_and_fixed),
		cmocka_unit_test(test_random_is_uniform_over_the_scope),
		cmocka_unit_test(test_random_per_tensor_counts),
		cmocka_unit_test(test_fixed_layers_by_layer_and_pattern),
		cmocka_unit_test(test_fixed_layers_init_errors),
		cmocka_unit_test(test_nan_in_the_read_gradient_is_an_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
