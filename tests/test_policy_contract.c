/* test_policy_contract.c - the contract of sb.h's struct sb_policy, checked
 * on every policy of the generated registry (so a new policy file is
 * checked without editing this test): driven as the run loop drives it,
 * each set is non-empty, ascending, duplicate-free, in range, inside the
 * scope and of exactly the budget; the same seed gives the same sets; a
 * NaN in a gradient it reads is an error; the gradient is read only on
 * the steps it declared; the parameters are only read. The run loop's own
 * check (sb_selection_check) is held to the same brute-force verdicts, and
 * a run whose policy breaks the contract ends failed. */
#include "support.h"

#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>

#include "io/h5util.h"
#include "registry.h"
#include "run/experiment.h"
#include "run/scope.h"
#include "run/selection.h"
#include "spec/spec.h"
#include "util.h"

#define N_PARAMS SB_TEST_N_PARAMS
/* Long enough for several refreshes of the policies whose period
 * defaults to 10 or 20 steps, and for warm-ups of 8 batches. */
#define STEPS 48

static const struct sb_layout *const layout = &sb_test_policy_layout;

/* The scopes a scoped policy is held to, each global and per tensor. */
static const char *const scopes[][6] = {
	{NULL},                                      /* every tensor */
	{"exclude", "[h.0.mlp.weight, wte]", NULL},  /* with gaps */
	{"include", "[h.1.*, head.*]", "outside", "train", NULL},
};
#define N_SCOPES (sizeof scopes / sizeof *scopes)

/* Opens policy p for scope `sc` (scoped policies) at density 0.05, its
 * own parameters at their defaults. A policy whose defaults select nothing
 * (fixed_layers' empty lists) gets every list parameter at its widest:
 * block -1 and the pattern "*". Fails the test if init still fails. */
static void open_policy(struct sb_test_policy *r, const struct sb_policy *p,
			size_t sc, bool per_tensor, uint64_t seed)
{
	const char *pairs[32];
	size_t n = 0;
	if (p->scoped) {
		pairs[n++] = "density";
		pairs[n++] = "0.05";
		pairs[n++] = "granularity";
		pairs[n++] = per_tensor ? "per_tensor" : "global";
		for (size_t i = 0; scopes[sc][i]; i++)
			pairs[n++] = scopes[sc][i];
	}
	pairs[n] = NULL;
	struct sb_error err = {{0}};
	if (sb_test_policy_openv(r, p, layout, seed, pairs, &err) == 0)
		return;
	assert_true(err.msg[0] != '\0'); /* a failing init says why */
	sb_test_policy_close(r);
	for (size_t i = 0; p->params && p->params[i].name; i++) {
		if (p->params[i].type == SB_INTS) {
			pairs[n++] = p->params[i].name;
			pairs[n++] = "[-1]";
		} else if (p->params[i].type == SB_STRINGS) {
			pairs[n++] = p->params[i].name;
			pairs[n++] = "[*]";
		}
		assert_true(n < 30);
	}
	pairs[n] = NULL;
	if (sb_test_policy_openv(r, p, layout, seed, pairs, &err))
		fail_msg("%s: init fails with its defaults: %s", p->name,
			 err.msg);
}

/* The budgets by brute force: k_t of each scope tensor, as
 * docs/policies.md defines them (sb_select_apportion is checked against
 * hand-computed cases in test_policies.c). */
static void check_selection(const struct sb_test_policy *r, long step)
{
	const struct sb_policy *p = r->policy;
	const struct sb_selection *sel = &r->sel;
	const char *name = p->name;
	if (sel->k == 0 || sel->k > N_PARAMS)
		fail_msg("%s step %ld: %zu indices", name, step, sel->k);
	for (size_t j = 0; j < sel->k; j++) {
		if (sel->idx[j] >= N_PARAMS)
			fail_msg("%s step %ld: index %lu out of range", name,
				 step, (unsigned long)sel->idx[j]);
		if (j && sel->idx[j] <= sel->idx[j - 1])
			fail_msg("%s step %ld: not ascending at %zu", name,
				 step, j);
	}
	if (p->scoped) {
		bool eligible[N_PARAMS];
		sb_test_eligible(&r->ctx, eligible);
		for (size_t j = 0; j < sel->k; j++)
			if (!eligible[sel->idx[j]])
				fail_msg("%s step %ld: index %lu outside the "
					 "scope", name, step,
					 (unsigned long)sel->idx[j]);
		if (sel->k != r->ctx.k)
			fail_msg("%s step %ld: %zu indices for a budget of %zu",
				 name, step, sel->k, r->ctx.k);
		if (r->ctx.per_tensor) {
			size_t k_t[8];
			sb_select_apportion(&r->ctx, k_t);
			for (size_t s = 0; s < r->ctx.n_scope; s++) {
				const struct sb_tensor *t =
					&layout->tensors[r->ctx.scope[s]];
				size_t in = 0;
				for (size_t j = 0; j < sel->k; j++)
					in += sel->idx[j] >= t->offset &&
					      sel->idx[j] < t->offset + t->size;
				if (in != k_t[s])
					fail_msg("%s step %ld: %zu in '%s', its "
						 "budget is %zu", name, step,
						 in, t->name, k_t[s]);
			}
		}
	}
	struct sb_error err = {{0}};
	if (sb_selection_check(p, &r->ctx, sel, &err))
		fail_msg("%s step %ld: the run loop's check rejects a good "
			 "set: %s", name, step, err.msg);
}

/* One run of STEPS steps as the run loop drives a policy: a fresh
 * gradient each step (normal, or of few levels for ties), given only on
 * the steps the policy declared it reads it (NULL otherwise: a read
 * crashes), select no more after SB_SELECT_FIXED, and the parameters of S
 * moved after each step as training would. Records every set into
 * history (STEPS entries; an unchanged set repeats the previous one) and
 * fails on any breach of the contract. */
static void drive(struct sb_test_policy *r, uint64_t data_seed,
		  struct sb_selection *history)
{
	struct sb_rng rng;
	sb_rng_seed(&rng, data_seed);
	float *grad = sb_malloc(N_PARAMS * sizeof *grad);
	float *before = sb_malloc(N_PARAMS * sizeof *before);
	sb_test_fill_normal(r->params, N_PARAMS, &rng);
	r->ctx.steps = STEPS;
	bool fixed = false;
	for (long t = 0; t < STEPS; t++) {
		if (t % 3 == 1)
			sb_test_fill_ties(grad, N_PARAMS, &rng);
		else
			sb_test_fill_normal(grad, N_PARAMS, &rng);
		int rc = SB_SELECT_SAME;
		if (!fixed) {
			struct sb_error err = {{0}};
			memcpy(before, r->params, N_PARAMS * sizeof *before);
			rc = sb_test_policy_select(r, grad, t, &err);
			if (rc < 0)
				fail_msg("%s step %ld: %s", r->policy->name, t,
					 err.msg);
			if (rc != SB_SELECT_NEW && rc != SB_SELECT_SAME &&
			    rc != SB_SELECT_FIXED)
				fail_msg("%s step %ld: select returned %d",
					 r->policy->name, t, rc);
			if (memcmp(before, r->params,
				   N_PARAMS * sizeof *before))
				fail_msg("%s step %ld: select wrote the "
					 "parameters", r->policy->name, t);
			if (t == 0 && rc == SB_SELECT_SAME)
				fail_msg("%s: 'unchanged' at step 0",
					 r->policy->name);
			fixed = rc == SB_SELECT_FIXED;
		}
		if (rc != SB_SELECT_SAME)
			check_selection(r, t);
		struct sb_selection *h = &history[t];
		sb_selection_reserve(h, r->sel.k ? r->sel.k : 1);
		memcpy(h->idx, r->sel.idx, r->sel.k * sizeof *h->idx);
		h->k = r->sel.k;
		for (size_t j = 0; j < r->sel.k; j++)
			r->params[r->sel.idx[j]] +=
				0.01f * (float)sb_rng_normal(&rng);
	}
	free(grad);
	free(before);
}

static void release_history(struct sb_selection *history)
{
	for (long t = 0; t < STEPS; t++)
		sb_selection_release(&history[t]);
}

/* The configurations a policy is driven in: each scope, global and per
 * tensor, for a scoped policy; its defaults for another. */
static size_t n_configs(const struct sb_policy *p)
{
	return p->scoped ? 2 * N_SCOPES : 1;
}

static void test_every_policy_keeps_the_budget_and_the_scope(void **state)
{
	(void)state;
	struct sb_selection history[STEPS] = {{0}};
	assert_true(sb_n_policies > 0);
	for (size_t i = 0; i < sb_n_policies; i++) {
		const struct sb_policy *p = sb_policies[i];
		for (size_t c = 0; c < n_configs(p); c++) {
			struct sb_test_policy r;
			open_policy(&r, p, c / 2, c % 2, 5);
			drive(&r, 100 + c, history);
			if (p->scoped && r.scope->train_outside) {
				/* the core adds the outside components: the
				 * policy's set never holds them itself */
				struct sb_selection all = {0};
				sb_selection_reserve(&all, N_PARAMS);
				memcpy(all.idx, r.sel.idx,
				       r.sel.k * sizeof *all.idx);
				all.k = r.sel.k;
				sb_scope_complete(r.scope, layout, &all);
				assert_int_equal(all.k,
						 r.sel.k + r.scope->
						 n_outside_components);
				sb_test_assert_sorted_unique(&all);
				sb_selection_release(&all);
			}
			sb_test_policy_close(&r);
		}
	}
	release_history(history);
}

static void test_the_same_seed_gives_the_same_sets(void **state)
{
	(void)state;
	struct sb_selection a[STEPS] = {{0}}, b[STEPS] = {{0}};
	for (size_t i = 0; i < sb_n_policies; i++) {
		const struct sb_policy *p = sb_policies[i];
		for (size_t c = 0; c < n_configs(p); c++) {
			struct sb_test_policy ra, rb;
			open_policy(&ra, p, c / 2, c % 2, 9);
			open_policy(&rb, p, c / 2, c % 2, 9);
			drive(&ra, 200 + c, a);
			drive(&rb, 200 + c, b);
			for (long t = 0; t < STEPS; t++) {
				if (a[t].k != b[t].k ||
				    memcmp(a[t].idx, b[t].idx,
					   a[t].k * sizeof *a[t].idx))
					fail_msg("%s: two runs of seed 9 differ "
						 "at step %ld", p->name, t);
			}
			sb_test_policy_close(&ra);
			sb_test_policy_close(&rb);
		}
	}
	release_history(a);
	release_history(b);
}

/* A NaN at an eligible component of a gradient the policy reads, at the
 * first step it reads one, is an error naming the NaN, not a set. */
static void test_a_nan_gradient_is_an_error(void **state)
{
	(void)state;
	size_t n_readers = 0;
	float *grad = sb_malloc(N_PARAMS * sizeof *grad);
	struct sb_rng rng;
	sb_rng_seed(&rng, 31);
	for (size_t i = 0; i < sb_n_policies; i++) {
		const struct sb_policy *p = sb_policies[i];
		if (p->grad_need == SB_GRAD_NEVER)
			continue;
		struct sb_test_policy r;
		open_policy(&r, p, 1, false, 3);
		long t = 0;
		while (t < STEPS && !sb_test_policy_needs_grad(&r, t)) {
			struct sb_error err = {{0}};
			assert_true(sb_test_policy_select(&r, NULL, t++, &err)
				    >= 0);
		}
		assert_true(t < STEPS);
		sb_test_fill_normal(grad, N_PARAMS, &rng);
		size_t at = p->scoped ? r.layout->tensors[r.ctx.scope[0]].offset
				      : 0;
		grad[at + 7] = NAN;
		struct sb_error err = {{0}};
		if (sb_test_policy_select(&r, grad, t, &err) != -1)
			fail_msg("%s: a NaN gradient gave a set", p->name);
		assert_error(&err, "NaN");
		sb_test_policy_close(&r);
		n_readers++;
	}
	free(grad);
	/* topk_batch and topk_first read the gradient at least */
	assert_true(n_readers >= 2);
}

/* The run loop's check finds each kind of defect and names the policy,
 * the step and the first offending position. */
static void test_the_run_loop_check_names_the_first_defect(void **state)
{
	(void)state;
	extern const struct sb_policy sb_policy_random;
	struct sb_test_policy r;
	struct sb_error err = {{0}};
	/* scope: h.0.attn, h.1.attn, head (500 components), k = 25 */
	assert_int_equal(sb_test_policy_open(&r, &sb_policy_random, layout, 1,
					     &err, "density", "0.05",
					     "exclude", "[*mlp*, wte]", NULL),
			 0);
	r.ctx.step = 4;
	assert_int_equal(sb_test_policy_select(&r, NULL, 4, &err),
			 SB_SELECT_FIXED);
	assert_int_equal(sb_selection_check(r.policy, &r.ctx, &r.sel, &err),
			 0);
	const struct sb_selection *good = &r.sel;
	assert_int_equal(good->k, 25);
	sb_index idx[80];
	struct sb_selection bad = {.idx = idx, .cap = 80};
	static const char *const want[] = {
		"index 1600 at position 3 is out of range",
		"at position 5 repeats the previous one",
		"at position 1 is below the previous one (not ascending)",
		"index 10 at position 0 is outside the scope",
		"24 indices, the budget is 25",
		"selected nothing",
	};
	for (size_t c = 0; c < sizeof want / sizeof *want; c++) {
		memcpy(idx, good->idx, good->k * sizeof *idx);
		bad.k = good->k;
		switch (c) {
		case 0: idx[3] = N_PARAMS; break;
		case 1: idx[5] = idx[4]; break;
		case 2: idx[0] = N_PARAMS - 1; break; /* in head: in scope */
		case 3: idx[0] = 10; break;           /* in wte: excluded */
		case 4: bad.k = 24; break;
		case 5: bad.k = 0; break;
		}
		err.msg[0] = '\0';
		assert_int_equal(sb_selection_check(r.policy, &r.ctx, &bad,
						    &err), -1);
		assert_error(&err, "policy 'random' at step 4: ");
		assert_error(&err, want[c]);
	}
	sb_test_policy_close(&r);

	/* per tensor at 0.05: k_t = 15, 10, 20, 10, 20, 5 (quotas exact);
	 * the right total of 80, one too few in wte and one too many in
	 * h.0.attn */
	assert_int_equal(sb_test_policy_open(&r, &sb_policy_random, layout, 1,
					     &err, "density", "0.05",
					     "granularity", "per_tensor",
					     NULL), 0);
	static const size_t first[] = {0, 300, 500, 900, 1100, 1500};
	static const size_t count[] = {14, 11, 20, 10, 20, 5};
	bad.k = 0;
	for (size_t t = 0; t < 6; t++)
		for (size_t i = 0; i < count[t]; i++)
			idx[bad.k++] = (sb_index)(first[t] + i);
	assert_int_equal(bad.k, r.ctx.k);
	assert_int_equal(sb_selection_check(r.policy, &r.ctx, &bad, &err),
			 -1);
	assert_error(&err, "14 indices in tensor 'wte', its per-tensor "
		     "budget is 15");
	sb_test_policy_close(&r);
}

/* ---- a run whose policy breaks the contract ends failed ---- */

/* A scoped policy that repeats one index: the defect the check reports. */
static int repeating_select(void *priv, const struct sb_select_ctx *ctx,
			    struct sb_selection *out, struct sb_error *err)
{
	(void)priv;
	(void)err;
	const struct sb_tensor *t = &ctx->layout->tensors[ctx->scope[0]];
	sb_selection_reserve(out, ctx->k);
	for (size_t j = 0; j < ctx->k; j++)
		out->idx[j] = (sb_index)(t->offset + (j ? j - 1 : 0));
	out->k = ctx->k;
	return SB_SELECT_FIXED;
}

static const struct sb_policy repeating = {
	.name = "repeating",
	.summary = "repeats its first index",
	.scoped = true,
	.grad_need = SB_GRAD_NEVER,
	.select = repeating_select,
};

static const char bad_run_spec[] =
	"name: contract\n"
	"dataset: {name: synthetic, n_train: 64, n_val: 32, n_test: 32}\n"
	"model: {name: mlp, hidden: 8, layers: 1}\n"
	"train: {steps: 3, batch_size: 8}\n"
	"policy: {name: random, density: 0.1}\n"
	"optimizer: sparse_adam\n";

static void test_a_breach_fails_the_run(void **state)
{
	(void)state;
	char dir[64];
	assert_int_equal(sb_test_tmpdir(dir, sizeof dir, "contract"), 0);
	char *spec_path = sb_test_path(dir, "contract.yaml");
	char *out = sb_test_path(dir, "contract.h5");
	FILE *f = fopen(spec_path, "w");
	assert_non_null(f);
	fputs(bad_run_spec, f);
	fclose(f);

	struct sb_spec spec;
	struct sb_error err = {{0}};
	if (sb_spec_load(&spec, spec_path, &err))
		fail_msg("%s", err.msg);
	assert_int_equal(spec.n_runs, 1);
	spec.runs[0].policy = &repeating; /* scoped, as random: same config */
	struct sb_progress prog;
	sb_progress_init(&prog, true);
	struct sb_experiment_opts opts = {.out = out};
	assert_int_equal(sb_experiment_run(&spec, &opts, &prog, &err), 1);

	struct sb_results_view v;
	if (sb_results_load(&v, out, &err))
		fail_msg("%s", err.msg);
	assert_int_equal(v.n_runs, 1);
	assert_string_equal(v.runs[0].status, "failed");
	char *group = sb_asprintf("/runs/%s", v.runs[0].id);
	hid_t g = H5Gopen2((hid_t)v.file, group, H5P_DEFAULT);
	assert_true(g >= 0);
	char *msg = sb_h5_attr_str(g, "error");
	assert_non_null(msg);
	assert_string_equal(msg, "policy 'repeating' at step 0: index 0 at "
			    "position 1 repeats the previous one");
	free(msg);
	H5Gclose(g);
	free(group);
	sb_results_view_release(&v);
	sb_spec_release(&spec);
	free(spec_path);
	free(out);
	assert_int_equal(sb_test_rmtree(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_policy_keeps_the_budget_and_the_scope),
		cmocka_unit_test(test_the_same_seed_gives_the_same_sets),
		cmocka_unit_test(test_a_nan_gradient_is_an_error),
		cmocka_unit_test(test_the_run_loop_check_names_the_first_defect),
		cmocka_unit_test(test_a_breach_fails_the_run),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
