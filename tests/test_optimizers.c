/* test_optimizers.c - sgd, dense_adam and sparse_adam against references
 * computed here in double from the definitions of docs/optimizers.md, and the
 * sparse state merge they share (optimizers/lib/sparse_state.c). */
#include "support.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sb.h"
#include "spec/params.h"
#include "util.h"
#include "../optimizers/lib/adamw.h"
#include "../optimizers/lib/sparse_state.h"

#include <cblas.h>

extern const struct sb_optimizer sb_optimizer_sgd;
extern const struct sb_optimizer sb_optimizer_dense_adam;
extern const struct sb_optimizer sb_optimizer_sparse_adam;

/* Float against double after a few steps of O(1) parameters: each float
 * operation rounds at 2^-24 ~ 6e-8 relative, a step does about ten of them on
 * values <= 2 and moves p by at most lr (1e-2) * ~1, so three steps stay well
 * below 1e-6 absolute; a wrong formula (a missed bias correction, decay on
 * the wrong term) moves p by >= 1e-4. */
#define REF_TOL 1e-6

/* ---- an optimizer as the core drives it ---------------------------------- */

struct inst {
	const struct sb_optimizer *opt;
	struct sb_param *decl; /* schedule parameters + the optimizer's own */
	struct sb_values cfg;
	void *priv;
	long t;
	double lr;
};

/* Opens `opt` for n components; the variadic part is name, value pairs
 * ending in NULL, set on top of the defaults. */
static void inst_open(struct inst *x, const struct sb_optimizer *opt,
		      size_t n, ...)
{
	struct sb_error err = {{0}};
	size_t ns = sb_test_count_params(sb_schedule_params);
	size_t no = sb_test_count_params(opt->params);
	memset(x, 0, sizeof *x);
	x->opt = opt;
	x->decl = sb_calloc(ns + no + 1, sizeof *x->decl);
	memcpy(x->decl, sb_schedule_params, ns * sizeof *x->decl);
	memcpy(x->decl + ns, opt->params, no * sizeof *x->decl);
	assert_int_equal(sb_values_defaults(&x->cfg, x->decl, &err), 0);

	va_list ap;
	va_start(ap, n);
	for (const char *name; (name = va_arg(ap, const char *));) {
		const char *text = va_arg(ap, const char *);
		assert_int_equal(sb_values_set(&x->cfg, name, text, &err), 0);
	}
	va_end(ap);

	x->priv = sb_calloc(1, opt->priv_size);
	assert_int_equal(opt->init(x->priv, &x->cfg, n, &err), 0);
	x->lr = 0.01;
}

/* One update with S = idx[0..k) and the full gradient `grad`, given as the
 * core gives it: S's entries packed in S's order, and the whole vector only
 * to an optimizer that declared it reads it; returns history_lost. */
static size_t inst_step(struct inst *x, float *params, const float *grad,
			sb_index *idx, size_t k, bool changed)
{
	struct sb_selection sel = {.idx = idx, .k = k, .cap = k};
	struct sb_opt_step st = {.t = ++x->t, .lr = x->lr};
	struct sb_opt_report rep = {.history_lost = 12345};
	float *grad_s = sb_malloc((k ? k : 1) * sizeof *grad_s);
	for (size_t j = 0; j < k; j++)
		grad_s[j] = grad[idx[j]];
	if (x->opt->grad_need(x->priv) == SB_GRAD_ALWAYS)
		st.full_grad = grad;
	x->opt->step(x->priv, params, grad_s, &sel, changed, &st, &rep);
	free(grad_s);
	return rep.history_lost;
}

static void inst_close(struct inst *x)
{
	x->opt->release(x->priv);
	free(x->priv);
	sb_values_release(&x->cfg);
	free(x->decl);
}

/* ---- double references ---------------------------------------------------- */

struct ref_adam {
	double beta1, beta2, eps, wd, lr;
};

static const struct ref_adam ADAM_DEFAULT = {0.9, 0.999, 1e-8, 0.0, 0.01};

static void ref_moments(const struct ref_adam *r, double *m, double *v,
			double g)
{
	*m = r->beta1 * *m + (1 - r->beta1) * g;
	*v = r->beta2 * *v + (1 - r->beta2) * g * g;
}

/* p - lr (mhat / (sqrt(vhat) + eps) + wd p) after `count` moment updates. */
static double ref_move(const struct ref_adam *r, double p, double m, double v,
		       long count)
{
	double mhat = m / (1 - pow(r->beta1, (double)count));
	double vhat = v / (1 - pow(r->beta2, (double)count));
	return p - r->lr * (mhat / (sqrt(vhat) + r->eps) + r->wd * p);
}

static bool in_set(const sb_index *idx, size_t k, size_t i)
{
	for (size_t j = 0; j < k; j++)
		if (idx[j] == i)
			return true;
	return false;
}

/* Five components, three steps of known gradients, S = {0, 2, 3}. */
enum { N5 = 5, K3 = 3, STEPS3 = 3 };
static const float P0[N5] = {0.5f, -1.0f, 0.25f, 2.0f, -0.75f};
static const float G3[STEPS3][N5] = {
	{0.1f, -0.2f, 0.3f, -0.4f, 0.5f},
	{-0.05f, 0.1f, 0.6f, 0.2f, -0.1f},
	{0.2f, 0.0f, -0.3f, -0.1f, 0.4f},
};
static sb_index S3[K3] = {0, 2, 3};

static void check_adam_three_steps(const struct sb_optimizer *opt)
{
	struct ref_adam r = ADAM_DEFAULT;
	r.wd = 0.1;
	struct inst x;
	inst_open(&x, opt, N5, "weight_decay", "0.1", NULL);
	float p[N5];
	memcpy(p, P0, sizeof p);
	double rp[N5], rm[N5] = {0}, rv[N5] = {0};
	for (size_t i = 0; i < N5; i++)
		rp[i] = P0[i];

	for (long t = 1; t <= STEPS3; t++) {
		assert_int_equal(inst_step(&x, p, G3[t - 1], S3, K3, t == 1), 0);
		for (size_t i = 0; i < N5; i++) {
			if (!in_set(S3, K3, i))
				continue;
			ref_moments(&r, &rm[i], &rv[i], G3[t - 1][i]);
			rp[i] = ref_move(&r, rp[i], rm[i], rv[i], t);
		}
		if (t == 1) {
			/* by hand: after one step mhat = g and vhat = g^2, so
			 * p1 = p0 - lr (sign(g) + wd p0), up to eps / |g| */
			assert_near(p[0], 0.5 - 0.01 * (1 + 0.05), REF_TOL);
			assert_near(p[2], 0.25 - 0.01 * (1 + 0.025), REF_TOL);
			assert_near(p[3], 2.0 - 0.01 * (-1 + 0.2), REF_TOL);
		}
		for (size_t i = 0; i < N5; i++)
			assert_near(p[i], rp[i], REF_TOL);
	}
	/* components outside S are untouched, bit for bit */
	assert_true(p[1] == P0[1] && p[4] == P0[4]);
	inst_close(&x);
}

static void test_dense_adam_matches_reference(void **state)
{
	(void)state;
	check_adam_three_steps(&sb_optimizer_dense_adam);
}

static void test_sparse_adam_matches_reference(void **state)
{
	(void)state;
	check_adam_three_steps(&sb_optimizer_sparse_adam);
}

static void fill_normal(struct sb_rng *rng, float *x, size_t n, double scale)
{
	for (size_t i = 0; i < n; i++)
		x[i] = (float)(scale * sb_rng_normal(rng));
}

/* beta2 = beta2 text; a small beta2 drives sparse_adam's table of bias
 * corrections to its saturated end (1.0f) well within the 200 steps. */
static void check_full_selection_equals_dense(const char *beta2)
{
	enum { N = 1000, STEPS = 200 };
	struct sb_rng rng;
	sb_rng_seed(&rng, 7);
	float *pd = sb_malloc(N * sizeof *pd), *ps = sb_malloc(N * sizeof *ps);
	float *g = sb_malloc(N * sizeof *g);
	sb_index *all = sb_malloc(N * sizeof *all);
	float *p0 = sb_malloc(N * sizeof *p0);
	fill_normal(&rng, p0, N, 1.0);
	memcpy(pd, p0, N * sizeof *pd);
	memcpy(ps, p0, N * sizeof *ps);
	for (size_t i = 0; i < N; i++)
		all[i] = (sb_index)i;

	struct inst d, s;
	inst_open(&d, &sb_optimizer_dense_adam, N, "weight_decay", "0.01",
		  "beta2", beta2, NULL);
	inst_open(&s, &sb_optimizer_sparse_adam, N, "weight_decay", "0.01",
		  "beta2", beta2, NULL);
	d.lr = s.lr = 1e-3;
	for (int t = 1; t <= STEPS; t++) {
		fill_normal(&rng, g, N, 0.1);
		inst_step(&d, pd, g, all, N, t == 1);
		assert_int_equal(inst_step(&s, ps, g, all, N, t == 1), 0);
	}
	/* Both run the same float operations (optimizers/lib/adamw.h) and
	 * count t updates per moment, so they agree to rounding: allow each
	 * step to differ by 2 ulp of the largest parameter, accumulated over
	 * every step, in case a compiler contracts one loop differently. */
	double pmax = 0.0, diff = 0.0, moved = 0.0;
	for (size_t i = 0; i < N; i++) {
		pmax = fmax(pmax, fabs(pd[i]));
		diff = fmax(diff, fabs((double)pd[i] - ps[i]));
	}
	double tol = STEPS * 2.0 * FLT_EPSILON * pmax;
	assert_true(diff <= tol);
	/* and they did move: 200 steps of lr 1e-3 with |update| ~ 1 */
	for (size_t i = 0; i < N; i++)
		moved = fmax(moved, fabs((double)pd[i] - p0[i]));
	assert_true(moved > 0.01);
	inst_close(&d);
	inst_close(&s);
	free(p0);
	free(pd);
	free(ps);
	free(g);
	free(all);
}

static void test_sparse_full_selection_equals_dense(void **state)
{
	(void)state;
	check_full_selection_equals_dense("0.999");
	check_full_selection_equals_dense("0.9");
}

/* Random subset of 0..n-1, each index with probability `density`, sorted. */
static size_t random_subset(struct sb_rng *rng, size_t n, double density,
			    sb_index *out)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (sb_rng_uniform(rng) < density)
			out[k++] = (sb_index)i;
	return k;
}

static void check_frozen_outside(const struct sb_optimizer *opt,
				 const char *buffer, const char *momentum)
{
	enum { N = 300, STEPS = 20 };
	struct sb_rng rng;
	sb_rng_seed(&rng, 11);
	float p[N], before[N], g[N];
	sb_index idx[N];
	fill_normal(&rng, p, N, 1.0);
	struct inst x;
	if (momentum)
		inst_open(&x, opt, N, "momentum", momentum, "momentum_buffer",
			  buffer, "weight_decay", "0.1", NULL);
	else
		inst_open(&x, opt, N, "weight_decay", "0.1", NULL);
	for (int t = 1; t <= STEPS; t++) {
		fill_normal(&rng, g, N, 1.0);
		size_t k = random_subset(&rng, N, 0.1, idx);
		memcpy(before, p, sizeof p);
		inst_step(&x, p, g, idx, k, true);
		for (size_t i = 0, j = 0; i < N; i++) {
			bool sel = j < k && idx[j] == i;
			if (sel) {
				assert_true(p[i] != before[i]);
				j++;
			} else {
				assert_true(p[i] == before[i]);
			}
		}
	}
	inst_close(&x);
}

static void test_outside_selection_never_moves(void **state)
{
	(void)state;
	check_frozen_outside(&sb_optimizer_dense_adam, NULL, NULL);
	check_frozen_outside(&sb_optimizer_sparse_adam, NULL, NULL);
	check_frozen_outside(&sb_optimizer_sgd, "dense", "0");
	check_frozen_outside(&sb_optimizer_sgd, "dense", "0.9");
	check_frozen_outside(&sb_optimizer_sgd, "sparse", "0.9");
}

/* Component 1 is outside S for two steps and then selected at step 3, where
 * its gradient is 0: dense_adam moves it with moments that saw the gradients
 * of steps 1 and 2 (bias correction t = 3). A fresh state would see m = 0
 * and not move it at all. */
static void test_dense_adam_moments_update_outside_selection(void **state)
{
	(void)state;
	const struct ref_adam r = ADAM_DEFAULT;
	struct inst x;
	inst_open(&x, &sb_optimizer_dense_adam, N5, NULL);
	float p[N5];
	memcpy(p, P0, sizeof p);
	sb_index first[1] = {0}, later[1] = {1};
	inst_step(&x, p, G3[0], first, 1, true);
	inst_step(&x, p, G3[1], first, 1, false);
	assert_true(p[1] == P0[1]);
	inst_step(&x, p, G3[2], later, 1, true);

	double m = 0, v = 0;
	for (int t = 0; t < STEPS3; t++)
		ref_moments(&r, &m, &v, G3[t][1]);
	assert_near(p[1], ref_move(&r, P0[1], m, v, 3), REF_TOL);
	assert_true(G3[2][1] == 0.0f && fabs(p[1] - P0[1]) > 1e-3);
	inst_close(&x);
}

/* dense_adam's single pass against the two passes it fuses, written here
 * with adamw.h's operations: every moment, then the moves of S. Bit for bit,
 * at 1 and 2 threads, with S everything, a random part of it with runs
 * across the threads' boundary, and a few isolated indices; n splits in two
 * parts (harness/parallel.h) and leaves tails shorter than a vector. */
enum { N_FUSED = 2 * 65536 + 1003, STEPS_FUSED = 4 };

static size_t fused_selection(struct sb_rng *rng, int step, sb_index *idx)
{
	size_t k = 0;
	for (size_t i = 0; i < N_FUSED; i++) {
		bool in = step % 2 == 0 ? true
			  : step == 1   ? sb_rng_below(rng, 10) < 3 ||
					    (i > N_FUSED / 2 - 40 &&
					     i < N_FUSED / 2 + 40)
					: i == 0 || i == N_FUSED - 1 ||
					    i % 9973 == 5;
		if (in)
			idx[k++] = (sb_index)i;
	}
	return k;
}

static void fused_run(int threads, float *p, float *ref)
{
	struct sb_rng rng;
	sb_rng_seed(&rng, 7);
	int saved = openblas_get_num_threads();
	openblas_set_num_threads(threads);
	struct inst x;
	inst_open(&x, &sb_optimizer_dense_adam, N_FUSED, "weight_decay", "0.1",
		  NULL);
	struct adamw_hyper h;
	adamw_hyper_read(&h, &x.cfg);
	float *g = sb_malloc(N_FUSED * sizeof *g);
	float *m = sb_calloc(N_FUSED, sizeof *m);
	float *v = sb_calloc(N_FUSED, sizeof *v);
	sb_index *idx = sb_malloc(N_FUSED * sizeof *idx);
	for (size_t i = 0; i < N_FUSED; i++)
		p[i] = ref[i] = (float)sb_rng_normal(&rng);
	for (int step = 0; step < STEPS_FUSED; step++) {
		for (size_t i = 0; i < N_FUSED; i++)
			g[i] = (float)(0.1 * sb_rng_normal(&rng));
		size_t k = fused_selection(&rng, step, idx);
		inst_step(&x, p, g, idx, k, true);

		for (size_t i = 0; i < N_FUSED; i++) {
			m[i] = adamw_m(&h, m[i], g[i]);
			v[i] = adamw_v(&h, v[i], g[i]);
		}
		float c1 = adamw_inv_bias(h.beta1_d, (uint64_t)x.t);
		float c2 = adamw_inv_bias(h.beta2_d, (uint64_t)x.t);
		for (size_t j = 0; j < k; j++) {
			size_t i = idx[j];
			ref[i] = adamw_move(ref[i], m[i], v[i], c1, c2,
					    (float)x.lr, &h);
		}
		assert_memory_equal(p, ref, N_FUSED * sizeof *p);
	}
	inst_close(&x);
	openblas_set_num_threads(saved);
	free(g);
	free(m);
	free(v);
	free(idx);
}

static void test_dense_adam_fused_equals_two_passes(void **state)
{
	(void)state;
	float *p1 = sb_malloc(N_FUSED * sizeof *p1);
	float *p2 = sb_malloc(N_FUSED * sizeof *p2);
	float *ref = sb_malloc(N_FUSED * sizeof *ref);
	fused_run(1, p1, ref);
	fused_run(2, p2, ref);
	assert_memory_equal(p1, p2, N_FUSED * sizeof *p1);
	free(p1);
	free(p2);
	free(ref);
}

static size_t bytes_after_step(const struct sb_optimizer *opt, size_t n,
			       size_t k, const char *momentum,
			       const char *buffer)
{
	struct inst x;
	if (momentum)
		inst_open(&x, opt, n, "momentum", momentum, "momentum_buffer",
			  buffer, NULL);
	else
		inst_open(&x, opt, n, NULL);
	float *p = sb_calloc(n, sizeof *p), *g = sb_calloc(n, sizeof *g);
	sb_index *idx = sb_malloc((k ? k : 1) * sizeof *idx);
	for (size_t j = 0; j < k; j++)
		idx[j] = (sb_index)(j * (n / k));
	inst_step(&x, p, g, idx, k, true);
	size_t bytes = opt->state_bytes(x.priv);
	inst_close(&x);
	free(p);
	free(g);
	free(idx);
	return bytes;
}

static void test_state_bytes_scale(void **state)
{
	(void)state;
	const struct sb_optimizer *sparse = &sb_optimizer_sparse_adam;
	const struct sb_optimizer *dense = &sb_optimizer_dense_adam;
	const struct sb_optimizer *sgd = &sb_optimizer_sgd;
	/* sparse_adam: 16 bytes per selected component, whatever n is */
	assert_int_equal(bytes_after_step(sparse, 1000, 10, NULL, NULL), 160);
	assert_int_equal(bytes_after_step(sparse, 100000, 10, NULL, NULL), 160);
	assert_int_equal(bytes_after_step(sparse, 100000, 1000, NULL, NULL),
			 16000);
	/* dense_adam: 8 bytes per component, whatever k is */
	assert_int_equal(bytes_after_step(dense, 1000, 10, NULL, NULL), 8000);
	assert_int_equal(bytes_after_step(dense, 1000, 500, NULL, NULL), 8000);
	assert_int_equal(bytes_after_step(dense, 100000, 10, NULL, NULL),
			 800000);
	/* sgd: nothing without momentum, 4n dense, 8k sparse */
	assert_int_equal(bytes_after_step(sgd, 1000, 10, "0", "dense"), 0);
	assert_int_equal(bytes_after_step(sgd, 1000, 10, "0", "sparse"), 0);
	assert_int_equal(bytes_after_step(sgd, 1000, 10, "0.9", "dense"),
			 4000);
	assert_int_equal(bytes_after_step(sgd, 1000, 10, "0.9", "sparse"), 80);
}

/* A double model of sparse_adam's definition: state exists only for the
 * components of the current S; leaving discards it (the history lost),
 * entering starts it from zero. */
struct ref_sparse {
	double *p, *m, *v;
	long *count;
	bool *active;
};

static size_t ref_sparse_step(struct ref_sparse *r, const struct ref_adam *h,
			      const float *g, const sb_index *idx, size_t k,
			      size_t n, bool first)
{
	size_t left = 0;
	bool *now = sb_calloc(n, sizeof *now);
	for (size_t j = 0; j < k; j++)
		now[idx[j]] = true;
	for (size_t i = 0; i < n; i++) {
		left += r->active[i] && !now[i];
		if (now[i] && !r->active[i]) {
			r->m[i] = r->v[i] = 0.0;
			r->count[i] = 0;
		}
		r->active[i] = now[i];
		if (!now[i])
			continue;
		ref_moments(h, &r->m[i], &r->v[i], g[i]);
		r->count[i]++;
		r->p[i] = ref_move(h, r->p[i], r->m[i], r->v[i], r->count[i]);
	}
	free(now);
	assert_true(!first || left == 0);
	return left;
}

static void test_sparse_adam_history_lost_and_restart(void **state)
{
	(void)state;
	enum { N = 64, STEPS = 60 };
	struct ref_adam h = ADAM_DEFAULT;
	h.wd = 0.05;
	struct sb_rng rng;
	sb_rng_seed(&rng, 3);
	float p[N], g[N];
	sb_index idx[N];
	struct ref_sparse r = {
		.p = sb_calloc(N, sizeof(double)),
		.m = sb_calloc(N, sizeof(double)),
		.v = sb_calloc(N, sizeof(double)),
		.count = sb_calloc(N, sizeof(long)),
		.active = sb_calloc(N, sizeof(bool)),
	};
	fill_normal(&rng, p, N, 1.0);
	for (size_t i = 0; i < N; i++)
		r.p[i] = p[i];
	struct inst x;
	inst_open(&x, &sb_optimizer_sparse_adam, N, "weight_decay", "0.05",
		  NULL);
	size_t k = 0, lost_total = 0, ref_total = 0;
	for (int t = 1; t <= STEPS; t++) {
		fill_normal(&rng, g, N, 0.5);
		/* every third step keeps S: then `changed` is false */
		bool changed = t == 1 || t % 3 != 0;
		if (changed)
			k = random_subset(&rng, N, 0.4, idx);
		size_t lost = inst_step(&x, p, g, idx, k, changed);
		size_t want = ref_sparse_step(&r, &h, g, idx, k, N, t == 1);
		assert_int_equal(lost, want);
		if (t == 1)
			assert_int_equal(lost, 0);
		lost_total += lost;
		ref_total += want;
		assert_int_equal(sb_optimizer_sparse_adam.state_bytes(x.priv),
				 16 * k);
	}
	/* the parameters followed the reference through every merge: the
	 * tolerance of REF_TOL per step, 60 steps of lr 1e-2 */
	for (size_t i = 0; i < N; i++)
		assert_near(p[i], r.p[i], STEPS * REF_TOL);
	assert_true(ref_total > 50); /* the sequence really churned */
	inst_close(&x);

	/* Component 3 selected for steps 1-2, left at 3, back at 4: its state
	 * is lost when it leaves (step 3), and at step 4 it moves exactly as
	 * from a fresh state, p - lr sign(g4), losing nothing more. */
	inst_open(&x, &sb_optimizer_sparse_adam, N5, NULL);
	float q[N5];
	memcpy(q, P0, sizeof q);
	sb_index with3[2] = {0, 3}, without3[1] = {0};
	const float g4[N5] = {0.1f, 0.0f, 0.0f, 0.3f, 0.0f};
	assert_int_equal(inst_step(&x, q, G3[0], with3, 2, true), 0);
	assert_int_equal(inst_step(&x, q, G3[1], with3, 2, false), 0);
	assert_int_equal(inst_step(&x, q, G3[2], without3, 1, true), 1);
	float before = q[3];
	assert_int_equal(inst_step(&x, q, g4, with3, 2, true), 0);
	double fm = 0, fv = 0;
	ref_moments(&h, &fm, &fv, g4[3]);
	h.wd = 0.0;
	assert_near(q[3], ref_move(&h, before, fm, fv, 1), REF_TOL);
	assert_near(q[3], before - 0.01, REF_TOL);
	inst_close(&x);
	free(r.p);
	free(r.m);
	free(r.v);
	free(r.count);
	free(r.active);
}

static void test_sgd_plain_matches_reference(void **state)
{
	(void)state;
	struct inst x;
	inst_open(&x, &sb_optimizer_sgd, N5, NULL);
	x.lr = 0.1;
	float p[N5];
	memcpy(p, P0, sizeof p);
	inst_step(&x, p, G3[0], S3, K3, true);
	/* by hand: p - 0.1 g for 0, 2, 3 */
	assert_near(p[0], 0.5 - 0.01, REF_TOL);
	assert_near(p[2], 0.25 - 0.03, REF_TOL);
	assert_near(p[3], 2.0 + 0.04, REF_TOL);
	assert_true(p[1] == P0[1] && p[4] == P0[4]);
	assert_int_equal(sb_optimizer_sgd.state_bytes(x.priv), 0);
	inst_close(&x);

	/* with decoupled decay 0.5: p - 0.1 (g + 0.5 p) */
	inst_open(&x, &sb_optimizer_sgd, N5, "weight_decay", "0.5", NULL);
	x.lr = 0.1;
	memcpy(p, P0, sizeof p);
	inst_step(&x, p, G3[0], S3, K3, true);
	assert_near(p[0], 0.5 - 0.1 * (0.1 + 0.25), REF_TOL);
	assert_near(p[3], 2.0 - 0.1 * (-0.4 + 1.0), REF_TOL);
	inst_close(&x);
}

/* S = {0, 1} for two steps, then {1, 2}: component 1 stays, 0 leaves and 2
 * enters. Hand references with mu = 0.5, lr = 0.1, g = G3 rows. */
static void test_sgd_momentum_dense_and_sparse(void **state)
{
	(void)state;
	const double mu = 0.5, lr = 0.1;
	sb_index s01[2] = {0, 1}, s12[2] = {1, 2};
	struct inst d, s;
	inst_open(&d, &sb_optimizer_sgd, N5, "momentum", "0.5", NULL);
	inst_open(&s, &sb_optimizer_sgd, N5, "momentum", "0.5",
		  "momentum_buffer", "sparse", NULL);
	d.lr = s.lr = lr;
	float pd[N5], ps[N5];
	memcpy(pd, P0, sizeof pd);
	memcpy(ps, P0, sizeof ps);
	assert_int_equal(inst_step(&d, pd, G3[0], s01, 2, true), 0);
	assert_int_equal(inst_step(&s, ps, G3[0], s01, 2, true), 0);
	assert_int_equal(inst_step(&d, pd, G3[1], s01, 2, false), 0);
	assert_int_equal(inst_step(&s, ps, G3[1], s01, 2, false), 0);
	assert_int_equal(inst_step(&d, pd, G3[2], s12, 2, true), 0);
	assert_int_equal(inst_step(&s, ps, G3[2], s12, 2, true), 1);

	/* component 1, selected throughout: b1 = g1, b2 = mu b1 + g2, ... */
	double b = 0, p1 = P0[1];
	for (int t = 0; t < STEPS3; t++) {
		b = mu * b + G3[t][1];
		p1 -= lr * b;
	}
	assert_near(pd[1], p1, REF_TOL);
	assert_near(ps[1], p1, REF_TOL);
	/* component 2 moves once, at step 3: the dense buffer holds all three
	 * gradients, the sparse one only the third */
	double bd = mu * mu * G3[0][2] + mu * G3[1][2] + G3[2][2];
	assert_near(pd[2], P0[2] - lr * bd, REF_TOL);
	assert_near(ps[2], P0[2] - lr * G3[2][2], REF_TOL);
	assert_true(fabs(pd[2] - ps[2]) > 1e-3);
	/* component 0 stopped after step 2 in both */
	double b0 = G3[0][0], p0 = P0[0] - lr * b0;
	b0 = mu * b0 + G3[1][0];
	p0 -= lr * b0;
	assert_near(pd[0], p0, REF_TOL);
	assert_near(ps[0], p0, REF_TOL);

	/* 0 re-enters: the sparse buffer restarts from zero */
	sb_index s02[2] = {0, 2};
	float before = ps[0];
	assert_int_equal(inst_step(&s, ps, G3[0], s02, 2, true), 1);
	assert_near(ps[0], before - lr * G3[0][0], REF_TOL);
	inst_close(&d);
	inst_close(&s);
}

/* Component 1 is selected at step 1 (gradient 0.3), away at steps 2 and 3
 * (S = {0}, unchanged at 3), and back at step 4 (gradient -0.2): missing
 * two updates. What it resumes with, by on_change. */
static float returner_after(const struct sb_optimizer *opt, const char *mode,
			    const char *momentum, double lr, float *p1)
{
	struct inst x;
	if (momentum)
		inst_open(&x, opt, N5, "on_change", mode, "momentum", momentum,
			  "momentum_buffer", "sparse", NULL);
	else
		inst_open(&x, opt, N5, "on_change", mode, NULL);
	x.lr = lr;
	float p[N5];
	memcpy(p, P0, sizeof p);
	sb_index s01[2] = {0, 1}, s0[1] = {0};
	const float g1[N5] = {0.1f, 0.3f}, g4[N5] = {0.1f, -0.2f};
	inst_step(&x, p, g1, s01, 2, true);
	*p1 = p[1];
	inst_step(&x, p, G3[1], s0, 1, true);
	inst_step(&x, p, G3[2], s0, 1, false);
	inst_step(&x, p, g4, s01, 2, true);
	inst_close(&x);
	return p[1];
}

static void test_on_change_hand_references(void **state)
{
	(void)state;
	const struct ref_adam r = ADAM_DEFAULT;
	const double b1 = r.beta1, b2 = r.beta2, ga = 0.3, gb = -0.2;
	float p1;

	/* sparse_adam; after step 1: m = 0.1 * 0.3, v = 0.001 * 0.09 */
	double m1 = (1 - b1) * ga, v1 = (1 - b2) * ga * ga;
	/* reset: fresh moments at step 4, count 1: p + lr, up to eps */
	float q = returner_after(&sb_optimizer_sparse_adam, "reset", NULL,
				 0.01, &p1);
	double m = (1 - b1) * gb, v = (1 - b2) * gb * gb;
	assert_near(q, ref_move(&r, p1, m, v, 1), REF_TOL);
	assert_near(q, p1 + 0.01, REF_TOL);
	/* keep: the frozen moments resume, count 2: m = 0.007,
	 * v = 1.2991e-4, mhat / sqrt(vhat) = 0.14452 */
	q = returner_after(&sb_optimizer_sparse_adam, "keep", NULL, 0.01, &p1);
	m = b1 * m1 + (1 - b1) * gb;
	v = b2 * v1 + (1 - b2) * gb * gb;
	assert_near(q, ref_move(&r, p1, m, v, 2), REF_TOL);
	assert_near(q, p1 - 0.01 * 0.144521, 1e-6);
	/* decay: moments times beta^2 for the two updates missed, count
	 * 1 + 2 + 1 = 4 */
	q = returner_after(&sb_optimizer_sparse_adam, "decay", NULL, 0.01,
			   &p1);
	m = b1 * (b1 * b1 * m1) + (1 - b1) * gb;
	v = b2 * (b2 * b2 * v1) + (1 - b2) * gb * gb;
	assert_near(q, ref_move(&r, p1, m, v, 4), REF_TOL);

	/* sgd, sparse buffer, mu 0.5, lr 0.1; after step 1 b = 0.3 */
	q = returner_after(&sb_optimizer_sgd, "reset", "0.5", 0.1, &p1);
	assert_near(q, p1 - 0.1 * -0.2, REF_TOL); /* b = g */
	q = returner_after(&sb_optimizer_sgd, "keep", "0.5", 0.1, &p1);
	assert_near(q, p1 - 0.1 * (0.5 * 0.3 - 0.2), REF_TOL);
	q = returner_after(&sb_optimizer_sgd, "decay", "0.5", 0.1, &p1);
	assert_near(q, p1 - 0.1 * (0.5 * 0.25 * 0.3 - 0.2), REF_TOL);
}

/* With a zero gradient, only decay acts: p (1 - lr wd) for S, untouched
 * outside. Adam's first step then has m = v = 0, so mhat / (sqrt + eps) = 0. */
static void check_decay_only_moving(const struct sb_optimizer *opt)
{
	const float zero[N5] = {0};
	struct inst x;
	inst_open(&x, opt, N5, "weight_decay", "0.5", NULL);
	x.lr = 0.1;
	float p[N5];
	memcpy(p, P0, sizeof p);
	inst_step(&x, p, zero, S3, K3, true);
	for (size_t i = 0; i < N5; i++) {
		if (in_set(S3, K3, i))
			assert_near(p[i], P0[i] * (1 - 0.05), REF_TOL);
		else
			assert_true(p[i] == P0[i]);
	}
	inst_close(&x);
}

static void test_weight_decay_only_moving(void **state)
{
	(void)state;
	check_decay_only_moving(&sb_optimizer_sgd);
	check_decay_only_moving(&sb_optimizer_dense_adam);
	check_decay_only_moving(&sb_optimizer_sparse_adam);
}

/* ---- the shared merge ----------------------------------------------------- */

static void test_sparse_state_align_keeps_drops_and_zeroes(void **state)
{
	(void)state;
	struct sb_sparse_state st;
	sb_sparse_state_init(&st, 2, SB_ON_CHANGE_RESET, NULL, NULL);
	sb_index a[4] = {1, 4, 7, 9};
	struct sb_selection sa = {.idx = a, .k = 4, .cap = 4};
	assert_int_equal(sb_sparse_state_align(&st, &sa), 4);
	float *f = st.col[0];
	uint32_t *u = st.col[1];
	for (size_t j = 0; j < 4; j++) {
		assert_true(f[j] == 0.0f && u[j] == 0);
		f[j] = (float)a[j] + 0.5f;
		u[j] = a[j] * 10;
	}

	/* 1 and 9 leave; 0, 5, 8, 12 enter; 4 and 7 stay */
	sb_index b[6] = {0, 4, 5, 7, 8, 12};
	struct sb_selection sbb = {.idx = b, .k = 6, .cap = 6};
	assert_int_equal(sb_sparse_state_align(&st, &sbb), 4);
	f = st.col[0];
	u = st.col[1];
	assert_memory_equal(st.idx, b, sizeof b);
	for (size_t j = 0; j < 6; j++) {
		bool stays = b[j] == 4 || b[j] == 7;
		assert_true(f[j] == (stays ? (float)b[j] + 0.5f : 0.0f));
		assert_int_equal(u[j], stays ? b[j] * 10 : 0);
	}
	assert_int_equal(sb_sparse_state_bytes(&st), 6 * 12);

	/* shrinking to a subset moves entries left and loses nothing */
	sb_index c[1] = {12};
	u[5] = 77;
	struct sb_selection sc = {.idx = c, .k = 1, .cap = 1};
	assert_int_equal(sb_sparse_state_align(&st, &sc), 0);
	assert_int_equal(st.idx[0], 12);
	assert_int_equal(((uint32_t *)st.col[1])[0], 77);

	/* the empty set */
	struct sb_selection none = {0};
	assert_int_equal(sb_sparse_state_align(&st, &none), 0);
	assert_int_equal(sb_sparse_state_bytes(&st), 0);
	sb_sparse_state_release(&st);
}

/* Random sequences against a membership array: each surviving entry keeps
 * its tag (its index), each new one starts at 0. */
static void test_sparse_state_align_random(void **state)
{
	(void)state;
	enum { N = 500, ROUNDS = 200 };
	struct sb_rng rng;
	sb_rng_seed(&rng, 5);
	struct sb_sparse_state st;
	sb_sparse_state_init(&st, 1, SB_ON_CHANGE_RESET, NULL, NULL);
	bool was[N] = {0};
	sb_index idx[N];
	for (int r = 0; r < ROUNDS; r++) {
		double density = sb_rng_uniform(&rng);
		size_t k = random_subset(&rng, N, density, idx);
		struct sb_selection sel = {.idx = idx, .k = k, .cap = N};
		size_t entered = sb_sparse_state_align(&st, &sel);
		size_t want = 0;
		bool now[N] = {0};
		uint32_t *tag = st.col[0];
		for (size_t j = 0; j < k; j++) {
			now[idx[j]] = true;
			assert_int_equal(st.idx[j], idx[j]);
			if (was[idx[j]]) {
				assert_int_equal(tag[j], idx[j] + 1);
			} else {
				assert_int_equal(tag[j], 0);
				want++;
			}
			tag[j] = idx[j] + 1;
		}
		assert_int_equal(entered, want);
		memcpy(was, now, sizeof was);
	}
	sb_sparse_state_release(&st);
}

/* The gaps the park reports, by component. */
struct gaps {
	uint32_t gap[500];
	size_t calls;
	const struct sb_sparse_state *st;
};

static void record_gap(void *ctx, size_t slot, uint32_t gap)
{
	struct gaps *g = ctx;
	g->gap[g->st->idx[slot]] = gap;
	g->calls++;
}

/* Random sequences with on_change keep against a membership model: an
 * entry that re-enters has the tag it had when it left, and its gap is the
 * number of rounds it missed; a first entry starts at 0; nothing is lost;
 * the bytes count the parked entries (index, column, left_at). */
static void test_sparse_state_keep_random(void **state)
{
	(void)state;
	enum { N = 500, ROUNDS = 200 };
	struct sb_rng rng;
	sb_rng_seed(&rng, 9);
	static struct gaps gaps;
	struct sb_sparse_state st;
	sb_sparse_state_init(&st, 1, SB_ON_CHANGE_KEEP, record_gap, &gaps);
	gaps.st = &st;
	bool active[N] = {0}, ever[N] = {0};
	uint32_t tag_ref[N] = {0}, left_at[N] = {0};
	size_t n_ever = 0, returns = 0;
	sb_index idx[N];
	for (uint32_t r = 0; r < ROUNDS; r++) {
		size_t k = random_subset(&rng, N, 0.2 * sb_rng_uniform(&rng),
					 idx);
		struct sb_selection sel = {.idx = idx, .k = k, .cap = N};
		bool now[N] = {0};
		for (size_t j = 0; j < k; j++)
			now[idx[j]] = true;
		for (size_t i = 0; i < N; i++)
			if (active[i] && !now[i])
				left_at[i] = r;
		gaps.calls = 0;
		assert_int_equal(sb_sparse_state_follow(&st, &sel, true, r), 0);
		uint32_t *tag = st.col[0];
		size_t back = 0;
		for (size_t j = 0; j < k; j++) {
			size_t i = idx[j];
			assert_int_equal(st.idx[j], i);
			if (ever[i] && !active[i]) {
				assert_int_equal(gaps.gap[i], r - left_at[i]);
				back++;
			}
			assert_int_equal(tag[j], ever[i] ? tag_ref[i] : 0);
			n_ever += !ever[i];
			ever[i] = true;
			tag[j] = tag_ref[i] = (uint32_t)(i * 1000 + r + 1);
		}
		assert_int_equal(gaps.calls, back);
		returns += back;
		memcpy(active, now, sizeof active);
		assert_int_equal(sb_sparse_state_bytes(&st),
				 8 * k + 12 * (n_ever - k));
	}
	assert_true(returns > 1000); /* entries did come back */
	sb_sparse_state_release(&st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dense_adam_matches_reference),
		cmocka_unit_test(test_sparse_adam_matches_reference),
		cmocka_unit_test(test_sparse_full_selection_equals_dense),
		cmocka_unit_test(test_outside_selection_never_moves),
		cmocka_unit_test(test_dense_adam_moments_update_outside_selection),
		cmocka_unit_test(test_dense_adam_fused_equals_two_passes),
		cmocka_unit_test(test_state_bytes_scale),
		cmocka_unit_test(test_sparse_adam_history_lost_and_restart),
		cmocka_unit_test(test_sgd_plain_matches_reference),
		cmocka_unit_test(test_sgd_momentum_dense_and_sparse),
		cmocka_unit_test(test_on_change_hand_references),
		cmocka_unit_test(test_weight_decay_only_moving),
		cmocka_unit_test(test_sparse_state_align_keeps_drops_and_zeroes),
		cmocka_unit_test(test_sparse_state_align_random),
		cmocka_unit_test(test_sparse_state_keep_random),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
