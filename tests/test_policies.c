/* test_policies.c - the selection policies driven as the core drives
 * them (scope computed once, select every step) on a hand-built layout of
 * named tensors in two blocks, checked against brute-force definitions. */
#include "support.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run/experiment.h"
#include "spec/params.h"
#include "spec/spec.h"
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
extern const struct sb_policy sb_policy_fisher;
extern const struct sb_policy sb_policy_topk_refresh;
extern const struct sb_policy sb_policy_drop_regrow;
extern const struct sb_policy sb_policy_lisa;
extern const struct sb_policy sb_policy_magnitude;

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

/* ---- fisher ------------------------------------------------------------- */

static void test_fisher_sums_squared_gradients(void **state)
{
	(void)state;
	struct sb_test_policy r;
	struct sb_error err;
	struct sb_rng rng;
	float *grad = sb_malloc(N_PARAMS * sizeof *grad);
	float *fisher = sb_calloc(N_PARAMS, sizeof *fisher);
	sb_index want[80];
	sb_rng_seed(&rng, 41);
	assert_int_equal(run_open(&r, &sb_policy_fisher, 1, &err,
				  "density", "0.05", "batches", "4", NULL), 0);
	assert_true(sb_policy_fisher.grad_need == SB_GRAD_WARMUP);
	for (long step = 0; step < 4; step++) {
		sb_test_fill_normal(grad, N_PARAMS, &rng);
		/* a few large entries of both signs: the square of the sum
		 * differs from the sum of |g| */
		grad[step * 97] = step % 2 ? -6.0f : 6.0f;
		for (size_t i = 0; i < N_PARAMS; i++)
			fisher[i] += grad[i] * grad[i];
		assert_int_equal(sb_test_policy_select(&r, grad, step, &err),
				 step < 3 ? SB_SELECT_NEW : SB_SELECT_FIXED);
		/* the same float sums in the same order: the same set */
		sb_topk_abs(fisher, N_PARAMS, 80, 0, want);
		assert_int_equal(r.sel.k, 80);
		assert_memory_equal(r.sel.idx, want, sizeof want);
	}
	/* fixed afterwards */
	sb_test_fill_normal(grad, N_PARAMS, &rng);
	assert_int_equal(sb_test_policy_select(&r, grad, 4, &err),
			 SB_SELECT_SAME);
	assert_memory_equal(r.sel.idx, want, sizeof want);
	sb_test_policy_close(&r);
	free(grad);
	free(fisher);
}

/* ---- topk_refresh ------------------------------------------------------- */

/* every: 1 is topk_batch and every >= the run's length is topk_first of
 * one batch, set for set at every step; in between, S is topk_batch's at
 * the refresh steps and kept in between. */
static void test_topk_refresh_spans_batch_and_first(void **state)
{
	(void)state;
	enum { STEPS = 12 };
	struct sb_error err;
	struct sb_rng rng;
	float *grads = sb_malloc(STEPS * N_PARAMS * sizeof *grads);
	sb_rng_seed(&rng, 43);
	for (size_t t = 0; t < STEPS; t++)
		sb_test_fill_ties(grads + t * N_PARAMS, N_PARAMS, &rng);
	static const char *const granularity[] = {"global", "per_tensor"};
	for (size_t g = 0; g < 2; g++) {
		struct sb_test_policy batch, first, every1, never, every5;
		run_open(&batch, &sb_policy_topk_batch, 1, &err, "density",
			 "0.03", "granularity", granularity[g], "exclude",
			 "[h.0.mlp.weight]", NULL);
		run_open(&first, &sb_policy_topk_first, 1, &err, "density",
			 "0.03", "granularity", granularity[g], "exclude",
			 "[h.0.mlp.weight]", NULL);
		run_open(&every1, &sb_policy_topk_refresh, 1, &err, "density",
			 "0.03", "granularity", granularity[g], "exclude",
			 "[h.0.mlp.weight]", "every", "1", NULL);
		run_open(&never, &sb_policy_topk_refresh, 1, &err, "density",
			 "0.03", "granularity", granularity[g], "exclude",
			 "[h.0.mlp.weight]", "every", "12", NULL);
		run_open(&every5, &sb_policy_topk_refresh, 1, &err, "density",
			 "0.03", "granularity", granularity[g], "exclude",
			 "[h.0.mlp.weight]", "every", "5", NULL);
		every1.ctx.steps = never.ctx.steps = every5.ctx.steps = STEPS;
		size_t k = batch.ctx.k;
		assert_int_equal(k, 36); /* 0.03 * 1200 */
		bool first_fixed = false, never_fixed = false;
		sb_index at_refresh[36];
		for (long t = 0; t < STEPS; t++) {
			const float *gt = grads + t * N_PARAMS;
			sb_test_policy_select(&batch, gt, t, &err);
			if (!first_fixed)
				first_fixed = sb_test_policy_select(
					&first, gt, t, &err) == SB_SELECT_FIXED;
			sb_test_policy_select(&every1, gt, t, &err);
			if (!never_fixed)
				never_fixed = sb_test_policy_select(
					&never, gt, t, &err) == SB_SELECT_FIXED;
			/* only refresh steps are given a gradient */
			assert_true(sb_test_policy_needs_grad(&every5, t) ==
				    (t % 5 == 0));
			int rc = sb_test_policy_select(&every5, gt, t, &err);
			assert_int_equal(rc, t % 5 ? SB_SELECT_SAME
					 : t < 10 ? SB_SELECT_NEW
						  : SB_SELECT_FIXED);
			if (t % 5 == 0)
				memcpy(at_refresh, batch.sel.idx,
				       sizeof at_refresh);
			assert_memory_equal(every1.sel.idx, batch.sel.idx,
					    k * sizeof *batch.sel.idx);
			assert_memory_equal(never.sel.idx, first.sel.idx,
					    k * sizeof *first.sel.idx);
			assert_memory_equal(every5.sel.idx, at_refresh,
					    sizeof at_refresh);
		}
		assert_true(first_fixed && never_fixed);
		sb_test_policy_close(&batch);
		sb_test_policy_close(&first);
		sb_test_policy_close(&every1);
		sb_test_policy_close(&never);
		sb_test_policy_close(&every5);
	}
	free(grads);
}

/* Through the run loop, whose gradient path follows the declared needs
 * (the full gradient on refresh steps only, S's alone on the others):
 * every 1 trains exactly as topk_batch and every >= steps exactly as
 * topk_first, loss for loss, and the metrics steps change nothing. */
static const char refresh_spec[] =
	"name: refresh\n"
	"dataset: {name: synthetic, n_train: 128, n_val: 32, n_test: 32}\n"
	"model: {name: mlp, hidden: 16, layers: 2}\n"
	"train: {steps: 12, batch_size: 8, metrics_every: 5, test: false}\n"
	"seed: 4\n"
	"density: 0.05\n"
	"methods:\n"
	"  - {name: a_batch, policy: topk_batch, optimizer: sparse_adam}\n"
	"  - {name: b_every1, policy: {name: topk_refresh, every: 1},\n"
	"     optimizer: sparse_adam}\n"
	"  - {name: c_first, policy: topk_first, optimizer: sparse_adam}\n"
	"  - {name: d_never, policy: {name: topk_refresh, every: 12},\n"
	"     optimizer: sparse_adam}\n";

static void test_topk_refresh_trains_as_its_limits(void **state)
{
	(void)state;
	char dir[64];
	assert_int_equal(sb_test_tmpdir(dir, sizeof dir, "refresh"), 0);
	char *spec_path = sb_test_path(dir, "refresh.yaml");
	char *out = sb_test_path(dir, "refresh.h5");
	FILE *f = fopen(spec_path, "w");
	assert_non_null(f);
	fputs(refresh_spec, f);
	fclose(f);
	struct sb_spec spec;
	struct sb_error err = {{0}};
	if (sb_spec_load(&spec, spec_path, &err))
		fail_msg("%s", err.msg);
	struct sb_progress prog;
	sb_progress_init(&prog, true);
	struct sb_experiment_opts opts = {.out = out};
	assert_int_equal(sb_experiment_run(&spec, &opts, &prog, &err), 0);
	struct sb_results_view v;
	if (sb_results_load(&v, out, &err))
		fail_msg("%s", err.msg);
	assert_int_equal(v.n_runs, 4);
	double *loss[4];
	size_t n[4];
	for (size_t r = 0; r < 4; r++) {
		assert_string_equal(v.runs[r].status, "completed");
		if (sb_results_series(&v, r, "steps", "loss", &loss[r], &n[r],
				      &err))
			fail_msg("%s", err.msg);
		assert_int_equal(n[r], 12);
	}
	/* bit for bit: the same sets, the same gradients of S */
	assert_memory_equal(loss[0], loss[1], 12 * sizeof *loss[0]);
	assert_memory_equal(loss[2], loss[3], 12 * sizeof *loss[2]);
	/* and the two pairs differ, or the comparison proves nothing */
	assert_true(memcmp(loss[0], loss[2], 12 * sizeof *loss[0]) != 0);
	for (size_t r = 0; r < 4; r++)
		free(loss[r]);
	sb_results_view_release(&v);
	sb_spec_release(&spec);
	free(spec_path);
	free(out);
	assert_int_equal(sb_test_rmtree(dir), 0);
}

/* ---- drop_regrow -------------------------------------------------------- */

struct scored {
	float key;
	sb_index i;
};

/* Larger key first; equal keys: lower index first. */
static int by_key_desc(const void *pa, const void *pb)
{
	const struct scored *a = pa, *b = pb;
	if (a->key != b->key)
		return a->key > b->key ? -1 : 1;
	return (a->i > b->i) - (a->i < b->i);
}

static bool member(const struct sb_selection *sel, sb_index i)
{
	for (size_t j = 0; j < sel->k; j++)
		if (sel->idx[j] == i)
			return true;
	return false;
}

/* An update against a sorting reference: the d members that moved least
 * since they entered leave, the d non-members of largest summed |g| since
 * the last update enter, d = round(r_t k) with the cosine r_t. */
static void test_drop_regrow_against_a_sorted_reference(void **state)
{
	(void)state;
	enum { EVERY = 4, STEPS = 16, K = 80 };
	struct sb_test_policy r;
	struct sb_error err;
	struct sb_rng rng;
	sb_rng_seed(&rng, 47);
	float *grad = sb_malloc(N_PARAMS * sizeof *grad);
	float *entry = sb_malloc(N_PARAMS * sizeof *entry);
	double *acc = sb_calloc(N_PARAMS, sizeof *acc);
	struct scored *keys = sb_malloc(N_PARAMS * sizeof *keys);
	struct sb_selection prev = {0};
	assert_int_equal(run_open(&r, &sb_policy_drop_regrow, 1, &err,
				  "density", "0.05", "every", "4",
				  "fraction", "0.5", NULL), 0);
	r.ctx.steps = STEPS;
	sb_test_fill_normal(r.params, N_PARAMS, &rng);
	for (long t = 0; t < STEPS; t++) {
		sb_test_fill_normal(grad, N_PARAMS, &rng);
		for (size_t i = 0; i < N_PARAMS; i++)
			acc[i] += fabsf(grad[i]);
		int rc = sb_test_policy_select(&r, grad, t, &err);
		assert_true(rc >= 0);
		assert_int_equal(r.sel.k, K);
		if (t == 0) {
			assert_int_equal(rc, SB_SELECT_NEW);
		} else if (t % EVERY) {
			assert_int_equal(rc, SB_SELECT_SAME);
		} else {
			assert_int_equal(rc, t + EVERY < STEPS
					 ? SB_SELECT_NEW : SB_SELECT_FIXED);
			double rate = 0.5 * 0.5 *
				      (1 + cos(M_PI * (double)t / STEPS));
			size_t d = (size_t)floor(rate * K + 0.5);
			/* members by how far they moved, least last */
			for (size_t j = 0; j < K; j++) {
				sb_index i = prev.idx[j];
				keys[j] = (struct scored){
					fabsf(r.params[i] - entry[i]), i};
			}
			qsort(keys, K, sizeof *keys, by_key_desc);
			for (size_t j = 0; j < K; j++)
				assert_true(member(&r.sel, keys[j].i) ==
					    (j < K - d));
			/* non-members by summed |g| (float sums in the
			 * policy: compare the order, which these sums of
			 * normals keep well apart) */
			size_t n = 0;
			for (sb_index i = 0; i < N_PARAMS; i++)
				if (!member(&prev, i))
					keys[n++] = (struct scored){
						(float)acc[i], i};
			qsort(keys, n, sizeof *keys, by_key_desc);
			for (size_t j = 0; j < n; j++)
				assert_true(member(&r.sel, keys[j].i) ==
					    (j < d));
			memset(acc, 0, N_PARAMS * sizeof *acc);
		}
		sb_test_assert_sorted_unique(&r.sel);
		/* entry values of newcomers: their values now */
		for (size_t j = 0; j < K; j++)
			if (t == 0 || !member(&prev, r.sel.idx[j]))
				entry[r.sel.idx[j]] = r.params[r.sel.idx[j]];
		sb_selection_reserve(&prev, K);
		memcpy(prev.idx, r.sel.idx, K * sizeof *prev.idx);
		prev.k = K;
		/* train S */
		for (size_t j = 0; j < K; j++)
			r.params[r.sel.idx[j]] +=
				0.1f * (float)sb_rng_normal(&rng);
		if (rc == SB_SELECT_FIXED)
			break;
	}
	sb_selection_release(&prev);
	sb_test_policy_close(&r);
	free(grad);
	free(entry);
	free(acc);
	free(keys);
}

/* ---- lisa ---------------------------------------------------------------- */

static void test_lisa_trains_outside_tensors_and_drawn_blocks(void **state)
{
	(void)state;
	struct sb_test_policy r;
	struct sb_error err;
	unsigned drawn[2] = {0};
	assert_int_equal(run_open(&r, &sb_policy_lisa, 5, &err, "every", "3",
				  NULL), 0);
	assert_false(sb_policy_lisa.scoped);
	assert_true(sb_policy_lisa.grad_need == SB_GRAD_NEVER);
	for (long t = 0; t < 60; t++) {
		int rc = sb_test_policy_select(&r, NULL, t, &err);
		assert_int_equal(rc, t % 3 ? SB_SELECT_SAME : SB_SELECT_NEW);
		/* wte and head (400) and one block of 600 */
		assert_int_equal(r.sel.k, 1000);
		sb_test_assert_sorted_unique(&r.sel);
		assert_true(member(&r.sel, 0) && member(&r.sel, 299));
		assert_true(member(&r.sel, 1500) && member(&r.sel, 1599));
		bool b0 = member(&r.sel, 300), b1 = member(&r.sel, 900);
		assert_true(b0 != b1);
		size_t lo = b0 ? 300 : 900;
		for (size_t i = lo; i < lo + 600; i++)
			assert_true(member(&r.sel, (sb_index)i));
		if (t % 3 == 0)
			drawn[b1]++;
	}
	/* 20 fair draws: each block at least twice except with probability
	 * 2 * 21 / 2^20 */
	assert_true(drawn[0] >= 2 && drawn[1] >= 2);
	sb_test_policy_close(&r);

	/* every block: fixed from the start */
	assert_int_equal(run_open(&r, &sb_policy_lisa, 5, &err, "n_layers",
				  "2", NULL), 0);
	assert_int_equal(sb_test_policy_select(&r, NULL, 0, &err),
			 SB_SELECT_FIXED);
	assert_int_equal(r.sel.k, N_PARAMS);
	sb_test_policy_close(&r);

	assert_int_equal(run_open(&r, &sb_policy_lisa, 5, &err, "n_layers",
				  "3", NULL), -1);
	assert_string_equal(err.msg, "lisa: n_layers 3 is out of range (the "
			    "model has 2 blocks)");
	sb_test_policy_close(&r);
}

/* ---- magnitude ----------------------------------------------------------- */

static void test_magnitude_largest_and_smallest(void **state)
{
	(void)state;
	struct sb_error err;
	struct sb_rng rng;
	bool *eligible = sb_malloc(N_PARAMS * sizeof *eligible);
	struct scored *keys = sb_malloc(N_PARAMS * sizeof *keys);
	sb_rng_seed(&rng, 53);
	static const char *const granularity[] = {"global", "per_tensor"};
	for (size_t g = 0; g < 2; g++) {
		struct sb_test_policy big, small;
		run_open(&big, &sb_policy_magnitude, 1, &err, "density", "0.05",
			 "granularity", granularity[g], "exclude", "[wte]",
			 NULL);
		run_open(&small, &sb_policy_magnitude, 1, &err, "density",
			 "0.05", "granularity", granularity[g], "exclude",
			 "[wte]", "which", "smallest", NULL);
		sb_test_fill_ties(big.params, N_PARAMS, &rng);
		for (size_t i = 0; i < N_PARAMS; i += 7)
			big.params[i] = (float)sb_rng_normal(&rng);
		big.params[1234] = INFINITY;
		big.params[1235] = 1e-42f; /* denormal */
		memcpy(small.params, big.params,
		       N_PARAMS * sizeof *small.params);
		assert_int_equal(sb_test_policy_select(&big, NULL, 0, &err),
				 SB_SELECT_FIXED);
		assert_int_equal(sb_test_policy_select(&small, NULL, 0, &err),
				 SB_SELECT_FIXED);
		assert_int_equal(big.sel.k, 65);
		assert_int_equal(small.sel.k, 65);
		sb_test_eligible(&big.ctx, eligible);
		if (g == 0) {
			sb_test_assert_top_k(&big.sel, big.params, eligible,
					     N_PARAMS);
			/* smallest: the first 65 eligible by ascending |w|,
			 * ties to the lower index (-|w| is exact) */
			size_t n = 0;
			for (sb_index i = 0; i < N_PARAMS; i++)
				if (eligible[i])
					keys[n++] = (struct scored){
						-fabsf(big.params[i]), i};
			qsort(keys, n, sizeof *keys, by_key_desc);
			for (size_t j = 0; j < n; j++)
				assert_true(member(&small.sel, keys[j].i) ==
					    (j < 65));
			assert_true(member(&big.sel, 1234));
		}
		sb_test_assert_sorted_unique(&small.sel);
		assert_int_equal(sb_test_policy_select(&big, NULL, 1, &err),
				 SB_SELECT_SAME);
		sb_test_policy_close(&big);
		sb_test_policy_close(&small);
	}
	/* a NaN parameter is an error */
	struct sb_test_policy r;
	run_open(&r, &sb_policy_magnitude, 1, &err, NULL);
	r.params[700] = NAN;
	assert_int_equal(sb_test_policy_select(&r, NULL, 0, &err), -1);
	assert_string_equal(err.msg, "parameter is NaN at component 700 "
			    "(tensor 'h.0.mlp.weight')");
	sb_test_policy_close(&r);
	free(eligible);
	free(keys);
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
		cmocka_unit_test(test_fisher_sums_squared_gradients),
		cmocka_unit_test(test_topk_refresh_spans_batch_and_first),
		cmocka_unit_test(test_topk_refresh_trains_as_its_limits),
		cmocka_unit_test(test_drop_regrow_against_a_sorted_reference),
		cmocka_unit_test(test_lisa_trains_outside_tensors_and_drawn_blocks),
		cmocka_unit_test(test_magnitude_largest_and_smallest),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
