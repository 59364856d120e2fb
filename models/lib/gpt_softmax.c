/* gpt_softmax.c - the two softmaxes of GPT-2 (Radford et al., 2019):
 * causal self-attention (Vaswani et al., 2017) and the softmax
 * cross-entropy of the head, as forward/backward pairs in the manner of
 * llm.c's train_gpt2.c (declared in gpt_ops.h); products through
 * cblas_sgemm, the exponential written to vectorise (lanes.h). */
#include "gpt_ops.h"
#include "util.h"
#include "lanes.h"
#include "parallel.h"

#include <assert.h>
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- the exponential and its sums -------------------------------------- */

/* e^z for z <= 0, within 1e-7 relative where the result is a normal float
 * (results below 2^-126 become 0): z = n ln2 + r with |r| <= ln2/2 (the
 * Cody-Waite split of ln2), e^r by the degree-6 polynomial of Cephes' expf,
 * 2^n written into the exponent bits. Selections are integer masks, so the
 * loop has no branch and vectorises; |z| >= 100 (and NaN) counts as -100. */
static inline float exp_nonpos(float z)
{
	const float lo = -100.0f;
	int32_t zb, lb;
	memcpy(&zb, &z, sizeof zb);
	memcpy(&lb, &lo, sizeof lb);
	int32_t keep = -(int32_t)((zb & 0x7fffffff) < (lb & 0x7fffffff));
	zb = (zb & keep) | (lb & ~keep);
	memcpy(&z, &zb, sizeof z);
	/* round to nearest by adding and removing 1.5 * 2^23 */
	float n = (z * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
	float r = z - n * 0.693359375f + n * 2.12194440e-4f;
	float p = 1.9875691500e-4f;
	p = p * r + 1.3981999507e-3f;
	p = p * r + 8.3334519073e-3f;
	p = p * r + 4.1665795894e-2f;
	p = p * r + 1.6666665459e-1f;
	p = p * r + 5.0000001201e-1f;
	p = p * r * r + r + 1.0f;
	int32_t k = (int32_t)n;
	int32_t normal = -(int32_t)(k > -127);
	int32_t bits = ((k + 127) * (1 << 23)) & normal;
	float scale;
	memcpy(&scale, &bits, sizeof scale);
	return p * scale;
}

/* x[i] = e^(x[i] - shift) for i < n, where shift >= every x[i]; returns
 * their sum */
VECTOR_CLONES
static float exp_shift_sum(float *x, float shift, size_t n)
{
	float part[LANES] = {0};
	size_t i = 0;
	for (; i + LANES <= n; i += LANES)
		for (size_t j = 0; j < LANES; j++) {
			x[i + j] = exp_nonpos(x[i + j] - shift);
			part[j] += x[i + j];
		}
	float sum = 0.0f;
	for (; i < n; i++) {
		x[i] = exp_nonpos(x[i] - shift);
		sum += x[i];
	}
	for (size_t j = 0; j < LANES; j++)
		sum += part[j];
	return sum;
}

VECTOR_CLONES
static void scale_lanes(float *x, float s, size_t n)
{
	size_t i = 0;
	for (; i + LANES <= n; i += LANES)
		for (size_t j = 0; j < LANES; j++)
			x[i + j] *= s;
	for (; i < n; i++)
		x[i] *= s;
}

VECTOR_CLONES
static float dot_lanes(const float *a, const float *b, size_t n)
{
	float part[LANES] = {0};
	size_t i = 0;
	for (; i + LANES <= n; i += LANES)
		for (size_t j = 0; j < LANES; j++)
			part[j] += a[i + j] * b[i + j];
	float sum = 0.0f;
	for (; i < n; i++)
		sum += a[i] * b[i];
	for (size_t j = 0; j < LANES; j++)
		sum += part[j];
	return sum;
}

/* x [n] becomes softmax(x); returns the sum of exponentials taken after
 * subtracting the maximum, whose log is log-sum-exp minus that maximum */
static float softmax_inplace(float *x, float maxv, size_t n)
{
	float sum = exp_shift_sum(x, maxv, n);
	scale_lanes(x, 1.0f / sum, n);
	return sum;
}

/* ---- causal self-attention (Vaswani et al., 2017) ---------------------- */

/* Queries are taken ATT_ROWS at a time: rows r0..r1-1 attend to keys
 * 0..r1-1 only, which skips the blocks above the diagonal (a quarter of
 * the [T,T] products at T 128, three eighths at 256). Blocks of 32 rows
 * skip more but run sgemm at a lower rate (measured: no faster). Each
 * (row, head) pair runs on one thread (sb_parallel_run keeps OpenBLAS to
 * one meanwhile). */
#define ATT_ROWS 64

/* Rows r0..r1-1 of a [T,T] score matrix become the softmax of their first
 * t+1 entries, the rest zero: position t sees positions 0..t only. */
VECTOR_CLONES
static void causal_softmax(float *att, size_t T, size_t r0, size_t r1)
{
	for (size_t t = r0; t < r1; t++) {
		float *row = att + t * T;
		float maxv = row[0];
		for (size_t j = 1; j <= t; j++)
			maxv = row[j] > maxv ? row[j] : maxv;
		softmax_inplace(row, maxv, t + 1);
		memset(row + t + 1, 0, (T - t - 1) * sizeof *row);
	}
}

/* d [n] = a * (d - dot), the softmax backward of one row */
VECTOR_CLONES
static void softmax_backward_row(float *restrict d, const float *restrict a,
				 float dot, size_t n)
{
	size_t i = 0;
	for (; i + LANES <= n; i += LANES)
		for (size_t j = 0; j < LANES; j++)
			d[i + j] = a[i + j] * (d[i + j] - dot);
	for (; i < n; i++)
		d[i] = a[i] * (d[i] - dot);
}

/* The attention of batch row b, head h. */
static void attention_forward_head(float *out, float *att, const float *qkv,
				   size_t b, size_t h, size_t T, size_t C,
				   size_t NH)
{
	const size_t C3 = 3 * C, hs = C / NH;
	const float scale = 1.0f / sqrtf((float)hs);
	/* strided views [T,hs] with row stride 3C */
	const float *q = qkv + b * T * C3 + h * hs;
	const float *k = q + C;
	const float *v = q + 2 * C;
	float *a = att + (b * NH + h) * T * T;
	float *o = out + b * T * C + h * hs;

	for (size_t r0 = 0; r0 < T; r0 += ATT_ROWS) {
		size_t r1 = r0 + ATT_ROWS < T ? r0 + ATT_ROWS : T;
		int R = (int)(r1 - r0), K = (int)r1;
		/* a [R,r1] = scale * q [R,hs] . k^T [hs,r1] */
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, R, K,
			    (int)hs, scale, q + r0 * C3, (int)C3, k, (int)C3,
			    0.0f, a + r0 * T, (int)T);
		causal_softmax(a, T, r0, r1);
		/* o [R,hs] (row stride C) = a [R,r1] . v [r1,hs] */
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, R,
			    (int)hs, K, 1.0f, a + r0 * T, (int)T, v, (int)C3,
			    0.0f, o + r0 * C, (int)C);
	}
}

/* The backward of batch row b, head h, written into its columns of dqkv;
 * scratch holds T*T floats. */
static void attention_backward_head(float *dqkv, float *scratch,
				    const float *dout, const float *qkv,
				    const float *att, size_t b, size_t h,
				    size_t T, size_t C, size_t NH)
{
	const size_t C3 = 3 * C, hs = C / NH;
	const float scale = 1.0f / sqrtf((float)hs);
	const float *q = qkv + b * T * C3 + h * hs;
	const float *k = q + C;
	const float *v = q + 2 * C;
	float *dq = dqkv + b * T * C3 + h * hs;
	float *dk = dq + C;
	float *dv = dq + 2 * C;
	const float *a = att + (b * NH + h) * T * T;
	const float *d = dout + b * T * C + h * hs;

	/* the products below add into dq, dk, dv [T,hs] (row stride 3C) */
	for (size_t t = 0; t < T; t++) {
		memset(dq + t * C3, 0, hs * sizeof *dq);
		memset(dk + t * C3, 0, hs * sizeof *dk);
		memset(dv + t * C3, 0, hs * sizeof *dv);
	}
	for (size_t r0 = 0; r0 < T; r0 += ATT_ROWS) {
		size_t r1 = r0 + ATT_ROWS < T ? r0 + ATT_ROWS : T;
		int R = (int)(r1 - r0), K = (int)r1;
		const float *ab = a + r0 * T;
		/* [R,r1]: d(att), then d(scores) */
		float *ds = scratch + r0 * T;

		/* ds = d [R,hs] . v^T [hs,r1] */
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, R, K,
			    (int)hs, 1.0f, d + r0 * C, (int)C, v, (int)C3,
			    0.0f, ds, (int)T);
		/* dv [r1,hs] += a^T [r1,R] . d [R,hs] */
		cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K,
			    (int)hs, R, 1.0f, ab, (int)T, d + r0 * C, (int)C,
			    1.0f, dv, (int)C3);
		/* softmax backward; zero weights above the diagonal make
		 * those entries zero too */
		for (size_t t = r0; t < r1; t++) {
			const float *ar = a + t * T;
			float *dr = scratch + t * T;
			float dot = dot_lanes(ar, dr, t + 1);
			softmax_backward_row(dr, ar, dot, r1);
		}
		/* dq [R,hs] += scale * ds [R,r1] . k [r1,hs] */
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, R,
			    (int)hs, K, scale, ds, (int)T, k, (int)C3, 1.0f,
			    dq + r0 * C3, (int)C3);
		/* dk [r1,hs] += scale * ds^T [r1,R] . q [R,hs] */
		cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K,
			    (int)hs, R, scale, ds, (int)T, q + r0 * C3,
			    (int)C3, 1.0f, dk, (int)C3);
	}
}

/* The arguments of both passes, shared by the threads; each part takes a
 * run of the B*NH (row, head) pairs, which touch disjoint columns. */
struct attention_job {
	float *out, *att, *dqkv, *scratch;
	const float *qkv, *catt, *dout;
	size_t B, T, C, NH;
};

static void attention_forward_part(void *ctx, size_t part, size_t parts)
{
	const struct attention_job *j = ctx;
	size_t first, end;

	sb_parallel_range(j->B * j->NH, part, parts, &first, &end);
	for (size_t i = first; i < end; i++)
		attention_forward_head(j->out, j->att, j->qkv, i / j->NH,
				       i % j->NH, j->T, j->C, j->NH);
}

static void attention_backward_part(void *ctx, size_t part, size_t parts)
{
	const struct attention_job *j = ctx;
	float *scratch = j->scratch + part * j->T * j->T;
	size_t first, end;

	sb_parallel_range(j->B * j->NH, part, parts, &first, &end);
	for (size_t i = first; i < end; i++)
		attention_backward_head(j->dqkv, scratch, j->dout, j->qkv,
					j->catt, i / j->NH, i % j->NH, j->T,
					j->C, j->NH);
}

void sb_gpt_attention_forward(float *out, float *att, const float *qkv,
			      size_t B, size_t T, size_t C, size_t NH)
{
	struct attention_job j = {.out = out, .att = att, .qkv = qkv,
				  .B = B, .T = T, .C = C, .NH = NH};
	sb_parallel_run(attention_forward_part, &j, B * NH);
}

void sb_gpt_attention_backward(float *dqkv, float *scratch, size_t n_scratch,
			       const float *dout, const float *qkv,
			       const float *att, size_t B, size_t T, size_t C,
			       size_t NH)
{
	struct attention_job j = {.dqkv = dqkv, .scratch = scratch,
				  .dout = dout, .qkv = qkv, .catt = att,
				  .B = B, .T = T, .C = C, .NH = NH};
	assert(n_scratch >= 1);
	/* part p takes scratch block p */
	sb_parallel_run(attention_backward_part, &j,
			B * NH < n_scratch ? B * NH : n_scratch);
}

void sb_gpt_attention_forward_naive(float *out, float *att, const float *qkv,
				    size_t B, size_t T, size_t C, size_t NH)
{
	const size_t C3 = 3 * C, hs = C / NH;
	const double scale = 1.0 / sqrt((double)hs);
	double *w = sb_malloc(T * sizeof *w); /* one row of weights */

	for (size_t b = 0; b < B; b++)
		for (size_t h = 0; h < NH; h++)
			for (size_t t = 0; t < T; t++) {
				const float *q = qkv + (b * T + t) * C3 + h * hs;
				float *a = att + ((b * NH + h) * T + t) * T;
				double maxv = -INFINITY, sum = 0.0;
				for (size_t j = 0; j <= t; j++) {
					const float *k = qkv + (b * T + j) * C3 +
							 C + h * hs;
					double s = 0.0;
					for (size_t i = 0; i < hs; i++)
						s += (double)q[i] * k[i];
					w[j] = s * scale;
					maxv = w[j] > maxv ? w[j] : maxv;
				}
				for (size_t j = 0; j <= t; j++) {
					w[j] = exp(w[j] - maxv);
					sum += w[j];
				}
				for (size_t j = 0; j < T; j++)
					a[j] = j <= t ? (float)(w[j] / sum) : 0.0f;
				float *o = out + (b * T + t) * C + h * hs;
				for (size_t i = 0; i < hs; i++) {
					double acc = 0.0;
					for (size_t j = 0; j <= t; j++)
						acc += w[j] / sum *
						       qkv[(b * T + j) * C3 +
							   2 * C + h * hs + i];
					o[i] = (float)acc;
				}
			}
	free(w);
}

/* ---- softmax cross-entropy --------------------------------------------- */

/* Row n's softmax into probs and what it adds to the loss. */
static void crossentropy_row(struct sb_gpt_xent_row *row, float *p, const float *l,
			     int32_t tgt, size_t V)
{
	assert(tgt < (int64_t)V);
	float maxv = l[0];
	size_t arg = 0;
	for (size_t i = 1; i < V; i++)
		if (l[i] > maxv) {
			maxv = l[i];
			arg = i;
		}
	/* read before p (which may be l) is overwritten */
	float lt = tgt >= 0 ? l[tgt] : 0.0f;
	if (p != l)
		memcpy(p, l, V * sizeof *p);
	float sum = softmax_inplace(p, maxv, V);
	row->counted = tgt >= 0;
	row->loss = row->counted ? log((double)sum) - ((double)lt - maxv) : 0;
	row->correct = row->counted && arg == (size_t)tgt;
}

/* The arguments of the cross-entropy's passes, shared by the threads;
 * parts take rows. */
struct xent_job {
	struct sb_gpt_xent_row *rows;
	float *out;
	const float *inp;
	const int32_t *targets;
	float scale;
	size_t N, V;
};

static void crossentropy_forward_part(void *ctx, size_t part, size_t parts)
{
	const struct xent_job *j = ctx;
	size_t first, end;

	sb_parallel_range(j->N, part, parts, &first, &end);
	for (size_t n = first; n < end; n++)
		crossentropy_row(&j->rows[n], j->out + n * j->V,
				 j->inp + n * j->V, j->targets[n], j->V);
}

void sb_gpt_crossentropy_forward(struct sb_eval *ev,
				 struct sb_gpt_xent_row *rows, float *probs,
				 const float *logits, const int32_t *targets,
				 size_t N, size_t V)
{
	struct xent_job j = {.rows = rows, .out = probs, .inp = logits,
			     .targets = targets, .N = N, .V = V};

	sb_parallel_run(crossentropy_forward_part, &j, sb_parallel_parts(N * V));
	/* the rows' shares added in row order, as one thread would */
	for (size_t n = 0; n < N; n++) {
		if (!j.rows[n].counted)
			continue;
		ev->loss_sum += j.rows[n].loss;
		ev->count += 1.0;
		ev->correct += j.rows[n].correct ? 1.0 : 0.0;
	}
}

VECTOR_CLONES
void sb_gpt_crossentropy_backward(float *dlogits, const float *probs,
				  const int32_t *targets, float scale,
				  size_t N, size_t V)
{
	for (size_t n = 0; n < N; n++) {
		int32_t tgt = targets[n];
		if (tgt < 0)
			continue;
		const float *p = probs + n * V;
		float *d = dlogits + n * V;
		for (size_t i = 0; i < V; i++)
			d[i] += scale * p[i];
		d[tgt] -= scale;
	}
}

/* d [V] = scale * p, written */
VECTOR_CLONES
static void scaled_copy(float *restrict d, const float *restrict p,
			float scale, size_t V)
{
	size_t i = 0;
	for (; i + LANES <= V; i += LANES)
		for (size_t k = 0; k < LANES; k++)
			d[i + k] = scale * p[i + k];
	for (; i < V; i++)
		d[i] = scale * p[i];
}

static void crossentropy_backward_part(void *ctx, size_t part, size_t parts)
{
	const struct xent_job *j = ctx;
	size_t first, end;

	sb_parallel_range(j->N, part, parts, &first, &end);
	for (size_t n = first; n < end; n++) {
		int32_t tgt = j->targets[n];
		float *d = j->out + n * j->V;
		if (tgt < 0) {
			memset(d, 0, j->V * sizeof *d);
			continue;
		}
		scaled_copy(d, j->inp + n * j->V, j->scale, j->V);
		d[tgt] -= j->scale;
	}
}

void sb_gpt_crossentropy_backward_write(float *dlogits, const float *probs,
					const int32_t *targets, float scale,
					size_t N, size_t V)
{
	struct xent_job j = {.out = dlogits, .inp = probs, .targets = targets,
			     .scale = scale, .N = N, .V = V};
	sb_parallel_run(crossentropy_backward_part, &j, sb_parallel_parts(N * V));
}
