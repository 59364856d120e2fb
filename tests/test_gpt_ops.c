/* test_gpt_ops.c - the GPT-2 layer kernels: each backward against central
 * finite differences of its forward, the sgemm kernels against their
 * naive references, and the fused kernels bit for bit against the
 * layer-by-layer ones, on one thread and on two. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sb.h"
#include "util.h"
#include "../models/lib/gpt_ops.h"
#include "parallel.h"

/* ---- helpers ----------------------------------------------------------- */

static float *randn(struct sb_rng *rng, size_t n, float std)
{
	float *x = sb_malloc(n * sizeof *x);
	for (size_t i = 0; i < n; i++)
		x[i] = std * (float)sb_rng_normal(rng);
	return x;
}

/* A kernel under test seen as a scalar: objective() runs its forward and
 * returns sum_i w[i] * out[i] in double, so d(objective)/d(out) = w. */
struct probe {
	double (*objective)(void *ctx);
	void *ctx;
};

/* Compares analytic[i] with the central difference of the objective in
 * x[i], for every i < n; returns the largest error seen. */
static double check_fd(const struct probe *pr, float *x, const float *analytic,
		       size_t n, float h, double atol, double rtol)
{
	double worst = 0.0;
	for (size_t i = 0; i < n; i++) {
		float keep = x[i];
		x[i] = keep + h;
		double up = pr->objective(pr->ctx);
		x[i] = keep - h;
		double down = pr->objective(pr->ctx);
		x[i] = keep;
		/* the step actually taken, after rounding to float */
		double step = (double)(keep + h) - (double)(keep - h);
		double fd = (up - down) / step;
		double e = fabs(fd - analytic[i]);
		if (e > atol + rtol * fabs(fd))
			fail_msg("component %zu: analytic %.7g, finite "
				 "difference %.7g", i, analytic[i], fd);
		worst = e > worst ? e : worst;
	}
	return worst;
}

static double weighted_sum(const float *out, const float *w, size_t n)
{
	double s = 0.0;
	for (size_t i = 0; i < n; i++)
		s += (double)w[i] * out[i];
	return s;
}

/* Tolerances for the float kernels below. Outputs are O(1) sums of O(10)
 * float terms, so the objective (a weighted sum of ~100 of them) carries a
 * rounding error near 1e-6; divided by the step 2h = 2e-2 that is 5e-5 in
 * the difference quotient. The truncation error h^2 f'''/6 is below 1e-4 for
 * these smooth O(1) functions. An absolute 1e-3 plus 1e-2 relative leaves
 * room for both while catching any wrong term (those are O(0.1) or more). */
#define FD_H 1e-2f
#define FD_ATOL 1e-3
#define FD_RTOL 1e-2

/* ---- matmul ------------------------------------------------------------ */

static void test_matmul_matches_naive(void **state)
{
	(void)state;
	struct sb_rng rng;
	sb_rng_seed(&rng, 1);
	const size_t N = 37, C = 29, OC = 41;
	float *inp = randn(&rng, N * C, 1.0f);
	float *w = randn(&rng, OC * C, 1.0f);
	float *bias = randn(&rng, OC, 1.0f);
	float *out = sb_malloc(N * OC * sizeof *out);
	float *ref = sb_malloc(N * OC * sizeof *ref);

	sb_gpt_matmul_forward(out, inp, w, bias, N, C, OC);
	sb_gpt_matmul_forward_naive(ref, inp, w, bias, N, C, OC);
	/* each entry sums 29 products of N(0,1) numbers (magnitude ~5); float
	 * accumulation errs by under 30 * 6e-8 * 5 ~ 1e-5 */
	for (size_t i = 0; i < N * OC; i++)
		assert_float_equal(out[i], ref[i], 1e-4);
	/* and without a bias */
	sb_gpt_matmul_forward(out, inp, w, NULL, N, C, OC);
	sb_gpt_matmul_forward_naive(ref, inp, w, NULL, N, C, OC);
	for (size_t i = 0; i < N * OC; i++)
		assert_float_equal(out[i], ref[i], 1e-4);
	free(inp);
	free(w);
	free(bias);
	free(out);
	free(ref);
}

struct matmul_ctx {
	float *out, *inp, *w, *bias, *dout;
	size_t N, C, OC;
};

static double matmul_objective(void *p)
{
	struct matmul_ctx *m = p;
	sb_gpt_matmul_forward(m->out, m->inp, m->w, m->bias, m->N, m->C, m->OC);
	return weighted_sum(m->out, m->dout, m->N * m->OC);
}

static void test_matmul_backward(void **state)
{
	(void)state;
	struct sb_rng rng;
	sb_rng_seed(&rng, 2);
	struct matmul_ctx m = {.N = 5, .C = 7, .OC = 6};
	m.inp = randn(&rng, m.N * m.C, 1.0f);
	m.w = randn(&rng, m.OC * m.C, 0.5f);
	m.bias = randn(&rng, m.OC, 0.5f);
	m.dout = randn(&rng, m.N * m.OC, 1.0f);
	m.out = sb_malloc(m.N * m.OC * sizeof *m.out);
	float *dinp = sb_calloc(m.N * m.C, sizeof *dinp);
	float *dw = sb_calloc(m.OC * m.C, sizeof *dw);
	float *db = sb_calloc(m.OC, sizeof *db);
	struct probe pr = {matmul_objective, &m};

	sb_gpt_matmul_backward(dinp, dw, db, m.dout, m.inp, m.w, m.N, m.C,
			       m.OC);
	check_fd(&pr, m.inp, dinp, m.N * m.C, FD_H, FD_ATOL, FD_RTOL);
	check_fd(&pr, m.w, dw, m.OC * m.C, FD_H, FD_ATOL, FD_RTOL);
	check_fd(&pr, m.bias, db, m.OC, FD_H, FD_ATOL, FD_RTOL);

	/* backward accumulates: a second call doubles every gradient */
	float keep = dw[3];
	sb_gpt_matmul_backward(NULL, dw, NULL, m.dout, m.inp, m.w, m.N, m.C,
			       m.OC);
	assert_float_equal(dw[3], 2.0f * keep, 1e-6 * (1.0 + fabs(keep)));
	free(m.inp);
	free(m.w);
	free(m.bias);
	free(m.dout);
	free(m.out);
	free(dinp);
	free(dw);
	free(db);
}

/* ---- layernorm --------------------------------------------------------- */

struct ln_ctx {
	float *out, *mean, *rstd, *inp, *w, *b, *dout;
	size_t N, C;
};

static double ln_objective(void *p)
{
	struct ln_ctx *m = p;
	sb_gpt_layernorm_forward(m->out, m->mean, m->rstd, m->inp, m->w, m->b,
				 m->N, m->C);
	return weighted_sum(m->out, m->dout, m->N * m->C);
}

static void test_layernorm_forward_normalises(void **state)
{
	(void)state;
	struct sb_rng rng;
	sb_rng_seed(&rng, 3);
	const size_t N = 4, C = 64;
	float *inp = randn(&rng, N * C, 3.0f);
	float *w = sb_malloc(C * sizeof *w), *b = sb_calloc(C, sizeof *b);
	float *out = sb_malloc(N * C * sizeof *out);
	float mean[4], rstd[4];
	for (size_t i = 0; i < C; i++)
		w[i] = 1.0f;
	for (size_t i = 0; i < N * C; i++)
		inp[i] += 5.0f;

	sb_gpt_layernorm_forward(out, mean, rstd, inp, w, b, N, C);
	for (size_t n = 0; n < N; n++) {
		double m = 0, v = 0;
		for (size_t i = 0; i < C; i++)
			m += out[n * C + i];
		m /= C;
		for (size_t i = 0; i < C; i++)
			v += (out[n * C + i] - m) * (out[n * C + i] - m);
		v /= C;
		/* float sums of 64 O(1) values: error ~1e-6; the eps 1e-5
		 * against a variance near 9 lowers v by about 1e-6 */
		assert_float_equal(m, 0.0, 1e-5);
		assert_float_equal(v, 1.0, 1e-4);
	}
	free(inp);
	free(w);
	free(b);
	free(out);
}

static void test_layernorm_backward(void **state)
{
	(void)state;
	struct sb_rng rng;
	sb_rng_seed(&rng, 4);
	struct ln_ctx m = {.N = 4, .C = 10};
	float mean[4], rstd[4];
	m.mean = mean;
	m.rstd = rstd;
	m.inp = randn(&rng, m.N * m.C, 1.0f);
	m.w = randn(&rng, m.C, 1.0f);
	m.b = randn(&rng, m.C, 1.0f);
	m.dout = randn(&rng, m.N * m.C, 1.0f);
	m.out = sb_malloc(m.N * m.C * sizeof *m.out);
	float *dinp = sb_calloc(m.N * m.C, sizeof *dinp);
	float *dw = sb_calloc(m.C, sizeof *dw);
	float *db = sb_calloc(m.C, sizeof *db);
	struct probe pr = {ln_objective, &m};

	ln_objective(&m);
	sb_gpt_layernorm_backward(dinp, dw, db, m.dout, m.inp, m.w, m.mean,
				  m.rstd, m.N, m.C);
	/* a smaller step here: normalising 10 values of unit spread bends
	 * the output more sharply (third derivative ~ rstd^3 * C) */
	check_fd(&pr, m.inp, dinp, m.N * m.C, 2e-3f, 2e-3, FD_RTOL);
	check_fd(&pr, m.w, dw, m.C, FD_H, FD_ATOL, FD_RTOL);
	check_fd(&pr, m.b, db, m.C, FD_H, FD_ATOL, FD_RTOL);
	free(m.inp);
	free(m.w);
	free(m.b);
	free(m.dout);
	free(m.out);
	free(dinp);
	free(dw);
	free(db);
}

/* ---- attention --------------------------------------------------------- */

static void test_attention_matches_naive(void **state)
{
	(void)state;
	struct sb_rng rng;
	sb_rng_seed(&rng, 5);
	const size_t B = 2, T = 13, C = 24, NH = 3;
	float *qkv = randn(&rng, B * T * 3 * C, 1.0f);
	float *out = sb_malloc(B * T * C * sizeof *out);
	float *ref = sb_malloc(B * T * C * sizeof *ref);
	float *att = sb_malloc(B * NH * T * T * sizeof *att);
	float *att_ref = sb_malloc(B * NH * T * T * sizeof *att_ref);

	sb_gpt_attention_forward(out, att, qkv, B, T, C, NH);
	sb_gpt_attention_forward_naive(ref, att_ref, qkv, B, T, C, NH);
	/* scores are sums of 8 products, scaled (|s| < ~10); float softmax
	 * weights err by ~1e-6 relative and outputs are convex combinations
	 * of O(1) values, so 1e-5 is ten times the expected error */
	for (size_t i = 0; i < B * NH * T * T; i++)
		assert_float_equal(att[i], att_ref[i], 1e-5);
	for (size_t i = 0; i < B * T * C; i++)
		assert_float_equal(out[i], ref[i], 1e-5);
	/* causal: nothing above the diagonal, each row sums to one */
	for (size_t r = 0; r < B * NH * T; r++) {
		size_t t = r % T;
		double s = 0;
		for (size_t j = 0; j < T; j++) {
			if (j > t)
				assert_true(att[r * T + j] == 0.0f);
			s += att[r * T + j];
		}
		assert_float_equal(s, 1.0, 1e-5);
	}
	free(qkv);
	free(out);
	free(ref);
	free(att);
	free(att_ref);
}

static void test_attention_is_causal(void **state)
{
	(void)state;
	struct sb_rng rng;
	sb_rng_seed(&rng, 6);
	const size_t T = 9, C = 8, NH = 2;
	float *qkv = randn(&rng, T * 3 * C, 1.0f);
	float *out1 = sb_malloc(T * C * sizeof *out1);
	float *out2 = sb_malloc(T * C * sizeof *out2);
	float *att = sb_malloc(NH * T * T * sizeof *att);

	sb_gpt_attention_forward(out1, att, qkv, 1, T, C, NH);
	/* changing the last position leaves every earlier output as it was */
	for (size_t i = 0; i < 3 * C; i++)
		qkv[(T - 1) * 3 * C + i] += 1.0f;
	sb_gpt_attention_forward(out2, att, qkv, 1, T, C, NH);
	assert_memory_equal(out1, out2, (T - 1) * C * sizeof *out1);
	free(qkv);
	free(out1);
	free(out2);
	free(att);
}

struct att_ctx {
	float *out, *att, *qkv, *dout;
	size_t B, T, C, NH;
};

static double att_objective(void *p)
{
	struct att_ctx *m = p;
	sb_gpt_attention_forward(m->out, m->att, m->qkv, m->B, m->T, m->C,
				 m->NH);
	return weighted_sum(m->out, m->dout, m->B * m->T * m->C);
}

static void test_attention_backward(void **state)
{
	(void)state;
	struct sb_rng rng;
	sb_rng_seed(&rng, 7);
	struct att_ctx m = {.B = 2, .T = 5, .C = 6, .NH = 2};
	const size_t n_qkv = m.B * m.T * 3 * m.C;
	m.qkv = randn(&rng, n_qkv, 1.0f);
	m.dout = randn(&rng, m.B * m.T * m.C, 1.0f);
	m.out = sb_malloc(m.B * m.T * m.C * sizeof *m.out);
	m.att = sb_malloc(m.B * m.NH * m.T * m.T * sizeof *m.att);
	float *dqkv = sb_malloc(n_qkv * sizeof *dqkv);
	float *scratch = sb_malloc(m.T * m.T * sizeof *scratch);
	for (size_t i = 0; i < n_qkv; i++)
		dqkv[i] = NAN; /* written, not added */
	struct probe pr = {att_objective, &m};

	att_objective(&m);
	sb_gpt_attention_backward(dqkv, scratch, 1, m.dout, m.qkv, m.att,
				  m.B, m.T, m.C, m.NH);
	check_fd(&pr, m.qkv, dqkv, n_qkv, FD_H, FD_ATOL, FD_RTOL);
	free(m.qkv);
	free(m.dout);
	free(m.out);
	free(m.att);
	free(dqkv);
	free(scratch);
}

/* Contexts longer than the kernel's block of 64 query rows: blocks of 64,
 * 64 and 2 rows, each attending to the keys up to its last row. */
static void test_attention_long_context(void **state)
{
	(void)state;
	struct sb_rng rng;
	sb_rng_seed(&rng, 11);
	const size_t B = 2, T = 130, C = 8, NH = 2;
	float *qkv = randn(&rng, B * T * 3 * C, 1.0f);
	float *out = sb_malloc(B * T * C * sizeof *out);
	float *ref = sb_malloc(B * T * C * sizeof *ref);
	float *att = sb_malloc(B * NH * T * T * sizeof *att);
	float *att_ref = sb_malloc(B * NH * T * T * sizeof *att_ref);

	sb_gpt_attention_forward(out, att, qkv, B, T, C, NH);
	sb_gpt_attention_forward_naive(ref, att_ref, qkv, B, T, C, NH);
	/* as in test_attention_matches_naive: ten times the float error */
	for (size_t i = 0; i < B * NH * T * T; i++)
		assert_float_equal(att[i], att_ref[i], 1e-5);
	for (size_t i = 0; i < B * T * C; i++)
		assert_float_equal(out[i], ref[i], 1e-5);

	struct att_ctx m = {.B = 1, .T = 70, .C = 4, .NH = 2};
	const size_t n_qkv = m.T * 3 * m.C;
	m.qkv = qkv; /* the first n_qkv values */
	m.dout = randn(&rng, m.T * m.C, 1.0f);
	m.out = out;
	m.att = att;
	float *dqkv = sb_malloc(n_qkv * sizeof *dqkv);
	float *scratch = sb_malloc(m.T * m.T * sizeof *scratch);
	for (size_t i = 0; i < n_qkv; i++)
		dqkv[i] = NAN; /* written, not added */
	struct probe pr = {att_objective, &m};

	att_objective(&m);
	sb_gpt_attention_backward(dqkv, scratch, 1, m.dout, m.qkv, m.att,
				  m.B, m.T, m.C, m.NH);
	/* 280 weighted outputs: the objective's rounding error grows to
	 * ~3e-6, 1.5e-4 in the quotient, still inside FD_ATOL */
	check_fd(&pr, m.qkv, dqkv, n_qkv, FD_H, FD_ATOL, FD_RTOL);
	free(m.dout);
	free(dqkv);
	free(scratch);
	free(qkv);
	free(out);
	free(ref);
	free(att);
	free(att_ref);
}

/* ---- GELU -------------------------------------------------------------- */

struct gelu_ctx {
	float *out, *inp, *dout;
	size_t N;
};

static double gelu_objective(void *p)
{
	struct gelu_ctx *m = p;
	sb_gpt_gelu_forward(m->out, m->inp, m->N);
	return weighted_sum(m->out, m->dout, m->N);
}

static void test_gelu(void **state)
{
	(void)state;
	struct sb_rng rng;
	sb_rng_seed(&rng, 8);
	struct gelu_ctx m = {.N = 64};
	m.inp = randn(&rng, m.N, 2.0f);
	m.dout = randn(&rng, m.N, 1.0f);
	m.out = sb_malloc(m.N * sizeof *m.out);
	float *dinp = sb_calloc(m.N, sizeof *dinp);
	struct probe pr = {gelu_objective, &m};

	gelu_objective(&m);
	for (size_t i = 0; i < m.N; i++) {
		double x = m.inp[i];
		double ref = 0.5 * x * (1.0 + tanh(sqrt(2.0 / M_PI) *
					     (x + 0.044715 * x * x * x)));
		/* float evaluation of an O(|x|) value: a few ulp */
		assert_float_equal(m.out[i], ref, 1e-6 * (1.0 + fabs(x)));
	}
	sb_gpt_gelu_backward(dinp, m.inp, m.dout, m.N);
	check_fd(&pr, m.inp, dinp, m.N, FD_H, FD_ATOL, FD_RTOL);
	free(m.inp);
	free(m.dout);
	free(m.out);
	free(dinp);
}

/* ---- embeddings and residuals ------------------------------------------ */

static void test_encoder(void **state)
{
	(void)state;
	struct sb_rng rng;
	sb_rng_seed(&rng, 9);
	const size_t B = 2, T = 3, C = 4, V = 5;
	const int32_t tokens[6] = {4, 0, 4, 1, 2, 3};
	float *wte = randn(&rng, V * C, 1.0f);
	float *wpe = randn(&rng, T * C, 1.0f);
	float out[24], dout[24];
	float *dwte = sb_calloc(V * C, sizeof *dwte);
	float *dwpe = sb_calloc(T * C, sizeof *dwpe);

	sb_gpt_encoder_forward(out, tokens, wte, wpe, B, T, C);
	for (size_t b = 0; b < B; b++)
		for (size_t t = 0; t < T; t++)
			for (size_t i = 0; i < C; i++)
				assert_true(out[(b * T + t) * C + i] ==
					    wte[tokens[b * T + t] * C + i] +
					    wpe[t * C + i]);
	for (size_t i = 0; i < 24; i++)
		dout[i] = (float)i;
	sb_gpt_encoder_backward(dwte, dwpe, dout, tokens, B, T, C);
	/* token 4 appears at (0,0) and (0,2): rows 0 and 2 of dout; small
	 * integers add exactly in float */
	for (size_t i = 0; i < C; i++) {
		assert_true(dwte[4 * C + i] == dout[0 * C + i] + dout[2 * C + i]);
		assert_true(dwte[0 * C + i] == dout[1 * C + i]);
		assert_true(dwpe[1 * C + i] == dout[1 * C + i] + dout[4 * C + i]);
	}
	free(wte);
	free(wpe);
	free(dwte);
	free(dwpe);
}

static void test_residual(void **state)
{
	(void)state;
	float a[3] = {1, 2, 3}, b[3] = {0.5f, -2, 4}, out[3];
	float da[3] = {1, 1, 1}, db[3] = {0}, dout[3] = {2, 3, 4};
	sb_gpt_residual_forward(out, a, b, 3);
	sb_gpt_residual_backward(da, db, dout, 3);
	const float want_out[3] = {1.5f, 0, 7}, want_da[3] = {3, 4, 5};
	assert_memory_equal(out, want_out, sizeof out);
	assert_memory_equal(da, want_da, sizeof da);
	assert_memory_equal(db, dout, sizeof db);
}

/* ---- cross-entropy ----------------------------------------------------- */

static void test_crossentropy_forward(void **state)
{
	(void)state;
	/* row 0: a tie between ids 1 and 3 goes to 1, the target; row 1:
	 * target 0 is not the argmax; row 2 is ignored */
	const float logits[12] = {0, 2, -1, 2, 1, 0, 0, 3, 5, 5, 5, 5};
	const int32_t targets[3] = {1, 0, -1};
	float probs[12];
	struct sb_gpt_xent_row rows[3];
	struct sb_eval ev = {0};

	sb_gpt_crossentropy_forward(&ev, rows, probs, logits, targets, 3, 4);
	double z0 = exp(0) + 2 * exp(2) + exp(-1);
	double z1 = exp(1) + 2 * exp(0) + exp(3);
	/* float softmax of O(1) logits: ~1e-6 relative on the loss */
	assert_float_equal(ev.loss_sum, (log(z0) - 2) + (log(z1) - 1), 1e-5);
	assert_true(ev.count == 2.0);
	assert_true(ev.correct == 1.0);
	for (size_t i = 0; i < 4; i++)
		assert_float_equal(probs[4 + i], exp(logits[4 + i]) / z1, 1e-6);
	/* probabilities may overwrite the logits in place */
	float inplace[12];
	struct sb_eval ev2 = {0};
	memcpy(inplace, logits, sizeof inplace);
	sb_gpt_crossentropy_forward(&ev2, rows, inplace, inplace, targets, 3,
				    4);
	assert_memory_equal(inplace, probs, sizeof probs);
	assert_true(ev2.loss_sum == ev.loss_sum);

	/* logits 150 and 1e30 apart: the far ones get probability 0 (e^-153
	 * is below the smallest normal float), and the loss of a far target
	 * is about the gap itself: 153 + ln(2 + e^-3), in float to ~1e-5 */
	const float far[8] = {0, -150, 3, 3, -1e30f, 2, 2, 2};
	const int32_t far_targets[2] = {1, -1};
	float far_probs[8];
	struct sb_eval ev3 = {0};
	sb_gpt_crossentropy_forward(&ev3, rows, far_probs, far, far_targets,
				    2, 4);
	assert_true(far_probs[1] == 0.0f && far_probs[4] == 0.0f);
	assert_float_equal(far_probs[0], exp(-3.0) / (2.0 + exp(-3.0)), 1e-6);
	assert_float_equal(far_probs[5], 1.0 / 3.0, 1e-6);
	assert_float_equal(ev3.loss_sum, 153.0 + log(2.0 + exp(-3.0)), 1e-4);
}

struct xent_ctx {
	float *logits, *probs;
	const int32_t *targets;
	size_t N, V;
};

static double xent_objective(void *p)
{
	struct xent_ctx *m = p;
	struct sb_eval ev = {0};
	struct sb_gpt_xent_row *rows = sb_malloc(m->N * sizeof *rows);
	sb_gpt_crossentropy_forward(&ev, rows, m->probs, m->logits,
				    m->targets, m->N, m->V);
	free(rows);
	return ev.loss_sum / ev.count;
}

static void test_crossentropy_backward(void **state)
{
	(void)state;
	struct sb_rng rng;
	sb_rng_seed(&rng, 10);
	const int32_t targets[4] = {3, -1, 0, 6};
	struct xent_ctx m = {.targets = targets, .N = 4, .V = 7};
	m.logits = randn(&rng, m.N * m.V, 2.0f);
	m.probs = sb_malloc(m.N * m.V * sizeof *m.probs);
	float *dlogits = sb_calloc(m.N * m.V, sizeof *dlogits);
	struct probe pr = {xent_objective, &m};

	xent_objective(&m);
	sb_gpt_crossentropy_backward(dlogits, m.probs, targets, 1.0f / 3.0f,
				     m.N, m.V);
	check_fd(&pr, m.logits, dlogits, m.N * m.V, FD_H, FD_ATOL, FD_RTOL);
	for (size_t i = 0; i < m.V; i++) /* the ignored row has none */
		assert_true(dlogits[m.V + i] == 0.0f);
	free(m.logits);
	free(m.probs);
	free(dlogits);
}

/* ---- fused kernels ----------------------------------------------------- */

/* The fused kernels run the layer-by-layer kernels' operations in the same
 * order, so they must give the same bits, whether one thread computes
 * them or two split them. Shapes are large enough to be split (over 65536
 * floats), and their widths no multiple of 8, so the loops' tails run. */
#define FUSED_N 97
#define FUSED_OC 1036

/* a[i] == b[i] for every i: equal values, where memcmp would also tell
 * -0 from +0 (a gradient written as -0 is the +0 that adding it to a
 * zeroed buffer gives) */
static void assert_same_values(const float *a, const float *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!(a[i] == b[i]))
			fail_msg("entry %zu: %.9g and %.9g", i, a[i], b[i]);
}

static float *nan_filled(size_t n)
{
	float *x = sb_malloc(n * sizeof *x);
	for (size_t i = 0; i < n; i++)
		x[i] = NAN;
	return x;
}

static void test_bias_gelu_forward(void **state)
{
	(void)state;
	struct sb_rng rng;
	sb_rng_seed(&rng, 21);
	const size_t N = FUSED_N, OC = FUSED_OC, n = N * OC;
	float *pre = randn(&rng, n, 2.0f);
	float *bias = randn(&rng, OC, 0.5f);
	float *ref_pre = sb_malloc(n * sizeof *ref_pre);
	float *ref = sb_malloc(n * sizeof *ref);

	for (size_t i = 0; i < n; i++)
		ref_pre[i] = pre[i] + bias[i % OC];
	sb_gpt_gelu_forward(ref, ref_pre, n);
	for (int threads = 1; threads <= 2; threads++) {
		float *p = sb_malloc(n * sizeof *p);
		float *out = nan_filled(n);
		memcpy(p, pre, n * sizeof *p);
		openblas_set_num_threads(threads);
		sb_gpt_bias_gelu_forward(out, p, bias, N, OC);
		assert_memory_equal(p, ref_pre, n * sizeof *p);
		assert_memory_equal(out, ref, n * sizeof *out);
		free(p);
		free(out);
	}
	free(pre);
	free(bias);
	free(ref_pre);
	free(ref);
}

static void test_gelu_backward_bias(void **state)
{
	(void)state;
	struct sb_rng rng;
	sb_rng_seed(&rng, 22);
	const size_t N = FUSED_N, OC = FUSED_OC, n = N * OC;
	float *inp = randn(&rng, n, 2.0f);
	float *dout = randn(&rng, n, 1.0f);
	float *dbias0 = randn(&rng, OC, 1.0f);
	float *ref = sb_calloc(n, sizeof *ref);
	float *ref_bias = sb_malloc(OC * sizeof *ref_bias);

	/* the GELU's backward into zeros, then the bias gradient as the
	 * column sums of the result, row after row, added to what was there */
	sb_gpt_gelu_backward(ref, inp, dout, n);
	memcpy(ref_bias, dbias0, OC * sizeof *ref_bias);
	for (size_t r = 0; r < N; r++)
		for (size_t c = 0; c < OC; c++)
			ref_bias[c] += ref[r * OC + c];
	for (int threads = 1; threads <= 2; threads++) {
		float *dinp = nan_filled(n);
		float *dbias = sb_malloc(OC * sizeof *dbias);
		memcpy(dbias, dbias0, OC * sizeof *dbias);
		openblas_set_num_threads(threads);
		sb_gpt_gelu_backward_bias(dinp, dbias, inp, dout, N, OC);
		assert_same_values(dinp, ref, n);
		assert_memory_equal(dbias, ref_bias, OC * sizeof *dbias);
		/* without the bias: the same input gradient */
		float *alone = nan_filled(n);
		sb_gpt_gelu_backward_bias(alone, NULL, inp, dout, N, OC);
		assert_same_values(alone, ref, n);
		free(dinp);
		free(dbias);
		free(alone);
	}
	free(inp);
	free(dout);
	free(dbias0);
	free(ref);
	free(ref_bias);
}

static void test_residual_layernorm_forward(void **state)
{
	(void)state;
	struct sb_rng rng;
	sb_rng_seed(&rng, 23);
	const size_t N = 131, C = 516, n = N * C;
	float *proj = randn(&rng, n, 1.0f);
	float *resid = randn(&rng, n, 1.0f);
	float *bias = randn(&rng, C, 0.5f);
	float *w = randn(&rng, C, 1.0f);
	float *b = randn(&rng, C, 1.0f);
	float *with_bias = sb_malloc(n * sizeof *with_bias);
	float *ref = sb_malloc(n * sizeof *ref);
	float *ref_ln = sb_malloc(n * sizeof *ref_ln);
	float *ref_mean = sb_malloc(N * sizeof *ref_mean);
	float *ref_rstd = sb_malloc(N * sizeof *ref_rstd);

	for (int has_bias = 0; has_bias <= 1; has_bias++) {
		for (size_t i = 0; i < n; i++)
			with_bias[i] = has_bias ? proj[i] + bias[i % C] :
						  proj[i];
		sb_gpt_residual_forward(ref, resid, with_bias, n);
		sb_gpt_layernorm_forward(ref_ln, ref_mean, ref_rstd, ref, w, b,
					 N, C);
		for (int threads = 1; threads <= 2; threads++) {
			float *res = sb_malloc(n * sizeof *res);
			float *ln = nan_filled(n);
			float *mean = nan_filled(N), *rstd = nan_filled(N);
			memcpy(res, proj, n * sizeof *res);
			openblas_set_num_threads(threads);
			sb_gpt_residual_layernorm_forward(
				res, ln, mean, rstd, resid,
				has_bias ? bias : NULL, w, b, N, C);
			assert_memory_equal(res, ref, n * sizeof *res);
			assert_memory_equal(ln, ref_ln, n * sizeof *ln);
			assert_memory_equal(mean, ref_mean, N * sizeof *mean);
			assert_memory_equal(rstd, ref_rstd, N * sizeof *rstd);
			free(res);
			free(ln);
			free(mean);
			free(rstd);
		}
	}
	free(proj);
	free(resid);
	free(bias);
	free(w);
	free(b);
	free(with_bias);
	free(ref);
	free(ref_ln);
	free(ref_mean);
	free(ref_rstd);
}

static void test_written_gradients(void **state)
{
	(void)state;
	struct sb_rng rng;
	sb_rng_seed(&rng, 24);
	const size_t N = 37, C = 20, OC = 52, V = 11;
	float *dout = randn(&rng, N * OC, 1.0f);
	float *weight = randn(&rng, OC * C, 1.0f);
	float *inp = randn(&rng, N * C, 1.0f);
	float *ref = sb_calloc(N * C, sizeof *ref);
	float *dinp = nan_filled(N * C);

	/* the input gradient alone, over NaN: written, not added */
	sb_gpt_matmul_backward(ref, NULL, NULL, dout, inp, weight, N, C, OC);
	sb_gpt_matmul_backward_input(dinp, dout, weight, N, C, OC);
	assert_same_values(dinp, ref, N * C);

	/* the cross-entropy's, with ignored rows */
	int32_t targets[37];
	for (size_t n = 0; n < N; n++)
		targets[n] = n % 5 == 2 ? -1 : (int32_t)(n % V);
	float *logits = randn(&rng, N * V, 2.0f);
	float *probs = sb_malloc(N * V * sizeof *probs);
	float *ref_d = sb_calloc(N * V, sizeof *ref_d);
	float *d = nan_filled(N * V);
	struct sb_eval ev = {0};
	struct sb_gpt_xent_row rows[37];
	sb_gpt_crossentropy_forward(&ev, rows, probs, logits, targets, N, V);
	sb_gpt_crossentropy_backward(ref_d, probs, targets, 0.25f, N, V);
	sb_gpt_crossentropy_backward_write(d, probs, targets, 0.25f, N, V);
	assert_same_values(d, ref_d, N * V);

	free(dout);
	free(weight);
	free(inp);
	free(ref);
	free(dinp);
	free(logits);
	free(probs);
	free(ref_d);
	free(d);
}

/* The ways the threaded kernels run: on one thread, on two started per
 * call, and on two of the pool (parallel.h). Every way must give the bits
 * of the first. */
#define WAYS 3

static void use_way(int way)
{
	openblas_set_num_threads(way ? 2 : 1);
	if (way == 2)
		sb_parallel_hold();
}

static void end_way(int way)
{
	if (way == 2)
		sb_parallel_drop();
}

/* The cross-entropy splits its rows over the threads and adds their
 * losses in row order: one thread and two agree bit for bit. */
static void test_crossentropy_threads_agree(void **state)
{
	(void)state;
	struct sb_rng rng;
	sb_rng_seed(&rng, 26);
	const size_t N = 70, V = 1100;
	float *logits = randn(&rng, N * V, 3.0f);
	int32_t targets[70];
	struct sb_gpt_xent_row rows[70];
	float *probs[WAYS], *d[WAYS];
	struct sb_eval ev[WAYS];

	memset(ev, 0, sizeof ev);
	for (size_t n = 0; n < N; n++)
		targets[n] = n % 7 == 3 ? -1 : (int32_t)((n * 37) % V);
	for (int k = 0; k < WAYS; k++) {
		probs[k] = sb_malloc(N * V * sizeof *probs[k]);
		d[k] = nan_filled(N * V);
		use_way(k);
		sb_gpt_crossentropy_forward(&ev[k], rows, probs[k], logits,
					    targets, N, V);
		sb_gpt_crossentropy_backward_write(d[k], probs[k], targets,
						   0.5f, N, V);
		end_way(k);
	}
	assert_true(ev[0].count == 60.0);
	for (int k = 1; k < WAYS; k++) {
		assert_memory_equal(&ev[0], &ev[k], sizeof ev[0]);
		assert_memory_equal(probs[0], probs[k],
				    N * V * sizeof *probs[0]);
		assert_memory_equal(d[0], d[k], N * V * sizeof *d[0]);
	}
	for (int k = 0; k < WAYS; k++) {
		free(probs[k]);
		free(d[k]);
	}
	free(logits);
}

/* Attention splits its (row, head) pairs over the threads: each pair is
 * computed alike wherever it runs, so one thread and two agree bit for
 * bit, forward and backward; with scratch for one thread only, two work
 * as one. */
static void test_attention_threads_agree(void **state)
{
	(void)state;
	struct sb_rng rng;
	sb_rng_seed(&rng, 25);
	const size_t B = 3, T = 70, C = 24, NH = 3;
	const size_t n_qkv = B * T * 3 * C, n_out = B * T * C;
	const size_t n_att = B * NH * T * T;
	float *qkv = randn(&rng, n_qkv, 1.0f);
	float *dout = randn(&rng, n_out, 1.0f);
	float *out[WAYS + 1], *att[WAYS + 1], *dqkv[WAYS + 1];
	float *scratch = nan_filled(2 * T * T);

	for (int k = 0; k <= WAYS; k++) {
		int way = k < WAYS ? k : 1;
		out[k] = sb_malloc(n_out * sizeof *out[k]);
		att[k] = sb_malloc(n_att * sizeof *att[k]);
		dqkv[k] = nan_filled(n_qkv);
		use_way(way);
		sb_gpt_attention_forward(out[k], att[k], qkv, B, T, C, NH);
		sb_gpt_attention_backward(dqkv[k], scratch, k < WAYS ? 2 : 1,
					  dout, qkv, att[k], B, T, C, NH);
		end_way(way);
	}
	for (int k = 1; k <= WAYS; k++) {
		assert_memory_equal(out[0], out[k], n_out * sizeof *out[0]);
		assert_memory_equal(att[0], att[k], n_att * sizeof *att[0]);
		assert_memory_equal(dqkv[0], dqkv[k], n_qkv * sizeof *dqkv[0]);
	}
	for (int k = 0; k <= WAYS; k++) {
		free(out[k]);
		free(att[k]);
		free(dqkv[k]);
	}
	free(qkv);
	free(dout);
	free(scratch);
}

/* Layer norm's backward splits rows of dinp and columns of its two
 * parameter gradients over the threads (C not a multiple of the lanes,
 * N * C large enough for two parts): every way gives the same bits. */
static void test_layernorm_backward_threads_agree(void **state)
{
	(void)state;
	struct sb_rng rng;
	sb_rng_seed(&rng, 27);
	const size_t N = 1100, C = 61, n = N * C;
	float *inp = randn(&rng, n, 1.0f);
	float *dout = randn(&rng, n, 1.0f);
	float *w = randn(&rng, C, 1.0f), *b = randn(&rng, C, 1.0f);
	float *out = sb_malloc(n * sizeof *out);
	float mean[1100], rstd[1100];
	float *dinp[WAYS], *dw[WAYS], *db[WAYS];

	sb_gpt_layernorm_forward(out, mean, rstd, inp, w, b, N, C);
	for (int k = 0; k < WAYS; k++) {
		/* start from the same nonzero values: the kernel adds */
		struct sb_rng start;
		sb_rng_seed(&start, 28);
		dinp[k] = randn(&start, n, 1.0f);
		dw[k] = randn(&start, C, 1.0f);
		db[k] = randn(&start, C, 1.0f);
		use_way(k);
		sb_gpt_layernorm_backward(dinp[k], dw[k], db[k], dout, inp, w,
					  mean, rstd, N, C);
		end_way(k);
	}
	for (int k = 1; k < WAYS; k++) {
		assert_memory_equal(dinp[0], dinp[k], n * sizeof *dinp[0]);
		assert_memory_equal(dw[0], dw[k], C * sizeof *dw[0]);
		assert_memory_equal(db[0], db[k], C * sizeof *db[0]);
	}
	/* the bias gradient is the column sums added row after row */
	struct sb_rng start;
	sb_rng_seed(&start, 28);
	float *ref = randn(&start, n + 2 * C, 1.0f);
	for (size_t r = 0; r < N; r++)
		for (size_t c = 0; c < C; c++)
			ref[n + C + c] += dout[r * C + c];
	assert_memory_equal(db[0], ref + n + C, C * sizeof *db[0]);
	for (int k = 0; k < WAYS; k++) {
		free(dinp[k]);
		free(dw[k]);
		free(db[k]);
	}
	free(ref);
	free(inp);
	free(dout);
	free(w);
	free(b);
	free(out);
}

/* A bias gradient is the column sums of the output's gradient, added row
 * after row onto what was there, on any number of threads. */
static void test_bias_backward(void **state)
{
	(void)state;
	struct sb_rng rng;
	sb_rng_seed(&rng, 29);
	const size_t N = FUSED_N, OC = FUSED_OC;
	float *dout = randn(&rng, N * OC, 1.0f);
	float *dbias0 = randn(&rng, OC, 1.0f);
	float *ref = sb_malloc(OC * sizeof *ref);

	memcpy(ref, dbias0, OC * sizeof *ref);
	for (size_t r = 0; r < N; r++)
		for (size_t c = 0; c < OC; c++)
			ref[c] += dout[r * OC + c];
	for (int k = 0; k < WAYS; k++) {
		float *dbias = sb_malloc(OC * sizeof *dbias);
		memcpy(dbias, dbias0, OC * sizeof *dbias);
		use_way(k);
		sb_gpt_bias_backward(dbias, dout, N, OC);
		end_way(k);
		assert_memory_equal(dbias, ref, OC * sizeof *dbias);
		free(dbias);
	}
	free(dout);
	free(dbias0);
	free(ref);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_matmul_matches_naive),
		cmocka_unit_test(test_matmul_backward),
		cmocka_unit_test(test_layernorm_forward_normalises),
		cmocka_unit_test(test_layernorm_backward),
		cmocka_unit_test(test_attention_matches_naive),
		cmocka_unit_test(test_attention_is_causal),
		cmocka_unit_test(test_attention_backward),
		cmocka_unit_test(test_attention_long_context),
		cmocka_unit_test(test_gelu),
		cmocka_unit_test(test_encoder),
		cmocka_unit_test(test_residual),
		cmocka_unit_test(test_crossentropy_forward),
		cmocka_unit_test(test_crossentropy_backward),
		cmocka_unit_test(test_bias_gelu_forward),
		cmocka_unit_test(test_gelu_backward_bias),
		cmocka_unit_test(test_residual_layernorm_forward),
		cmocka_unit_test(test_written_gradients),
		cmocka_unit_test(test_crossentropy_threads_agree),
		cmocka_unit_test(test_attention_threads_agree),
		cmocka_unit_test(test_layernorm_backward_threads_agree),
		cmocka_unit_test(test_bias_backward),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
