/* gpt_ops.c - the layer kernels of GPT-2 (Radford et al., 2019) after the
 * forward/backward pairs of llm.c's train_gpt2.c: products through
 * cblas_sgemm, elementwise loops kept simple enough to vectorise. */
#include "gpt_ops.h"
#include "util.h"
#include "parallel.h"

#include <assert.h>
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define LN_EPS 1e-5f

/* ---- vector-friendly helpers ------------------------------------------- */

/* Loops over n elements run in blocks of LANES with a constant trip count,
 * and reductions keep LANES partial sums: GCC's -O2 cost model vectorises
 * those, and no loop with an unknown trip count. */
#define LANES 8

/* The elementwise kernels are also compiled for AVX2, and the dynamic
 * loader picks the clone the CPU runs (GCC and Clang on x86-64): twice the
 * lanes of the SSE2 baseline, half the time (measured: GELU over 1M floats,
 * 1.5 ms -> 0.76 ms). Both clones give the same bits: without FMA there is
 * no contraction to change a rounding, and every reduction keeps its LANES
 * partial sums whatever the vector width. */
#if defined(__x86_64__) && defined(__has_attribute)
#if __has_attribute(target_clones)
#define VECTOR_CLONES __attribute__((target_clones("avx2", "default")))
#endif
#endif
#ifndef VECTOR_CLONES
#define VECTOR_CLONES
#endif

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

/* y [n] += x [n] */
VECTOR_CLONES
static void add_lanes(float *restrict y, const float *restrict x, size_t n)
{
	size_t i = 0;
	for (; i + LANES <= n; i += LANES)
		for (size_t j = 0; j < LANES; j++)
			y[i + j] += x[i + j];
	for (; i < n; i++)
		y[i] += x[i];
}

static float sum_lanes(const float *x, size_t n)
{
	float part[LANES] = {0};
	size_t i = 0;
	for (; i + LANES <= n; i += LANES)
		for (size_t j = 0; j < LANES; j++)
			part[j] += x[i + j];
	float sum = 0.0f;
	for (; i < n; i++)
		sum += x[i];
	for (size_t j = 0; j < LANES; j++)
		sum += part[j];
	return sum;
}

/* sum of (x[i] - m)^2 */
static float sqdev_lanes(const float *x, float m, size_t n)
{
	float part[LANES] = {0};
	size_t i = 0;
	for (; i + LANES <= n; i += LANES)
		for (size_t j = 0; j < LANES; j++)
			part[j] += (x[i + j] - m) * (x[i + j] - m);
	float sum = 0.0f;
	for (; i < n; i++)
		sum += (x[i] - m) * (x[i] - m);
	for (size_t j = 0; j < LANES; j++)
		sum += part[j];
	return sum;
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

/* Elementwise passes are split over threads only when each part has at
 * least this many floats: below, starting a thread costs more than it
 * saves. */
#define PART_FLOATS 65536

static size_t max_parts(size_t n)
{
	return n / PART_FLOATS + 1;
}

/* ---- embeddings -------------------------------------------------------- */

void sb_gpt_encoder_forward(float *out, const int32_t *tokens,
			    const float *wte, const float *wpe,
			    size_t B, size_t T, size_t C)
{
	for (size_t b = 0; b < B; b++)
		for (size_t t = 0; t < T; t++) {
			float *o = out + (b * T + t) * C;
			const float *te = wte + (size_t)tokens[b * T + t] * C;
			const float *pe = wpe + t * C;
			assert(tokens[b * T + t] >= 0);
			for (size_t i = 0; i < C; i++)
				o[i] = te[i] + pe[i];
		}
}

void sb_gpt_encoder_backward(float *dwte, float *dwpe, const float *dout,
			     const int32_t *tokens, size_t B, size_t T,
			     size_t C)
{
	for (size_t b = 0; b < B; b++)
		for (size_t t = 0; t < T; t++) {
			const float *d = dout + (b * T + t) * C;
			if (dwte)
				add_lanes(dwte + (size_t)tokens[b * T + t] * C,
					  d, C);
			if (dwpe)
				add_lanes(dwpe + t * C, d, C);
		}
}

void sb_gpt_encoder_backward_wte_at(float *out, const sb_index *idx,
				    size_t count, size_t base,
				    const float *dout, const int32_t *tokens,
				    size_t N, size_t C, size_t V,
				    size_t *first, size_t *order)
{
	/* counting sort: first[v + 1] counts token v, then (prefix sums)
	 * first[v] is where v's positions start; placing them advances
	 * first[v] to their end, so v's are order[first[v-1]..first[v]) */
	memset(first, 0, (V + 1) * sizeof *first);
	for (size_t n = 0; n < N; n++)
		first[tokens[n] + 1]++;
	for (size_t v = 0; v < V; v++)
		first[v + 1] += first[v];
	for (size_t n = 0; n < N; n++)
		order[first[tokens[n]]++] = n;

	/* the entries of one row v at a time; each position holding v is
	 * read once for all of them, in ascending order as the full path adds */
	for (size_t j = 0; j < count;) {
		size_t v = (idx[j] - base) / C, end = j;
		while (end < count && (idx[end] - base) / C == v)
			end++;
		for (size_t p = v ? first[v - 1] : 0; p < first[v]; p++) {
			const float *d = dout + order[p] * C;
			for (size_t e = j; e < end; e++)
				out[e] += d[idx[e] - base - v * C];
		}
		j = end;
	}
}

void sb_gpt_encoder_backward_wpe_at(float *out, const sb_index *idx,
				    size_t count, size_t base,
				    const float *dout, size_t B, size_t T,
				    size_t C)
{
	for (size_t j = 0; j < count; j++) {
		size_t t = (idx[j] - base) / C, c = (idx[j] - base) % C;
		if (t >= T)
			continue;
		for (size_t b = 0; b < B; b++)
			out[j] += dout[(b * T + t) * C + c];
	}
}

/* ---- layer normalisation (Ba et al., 2016) ----------------------------- */

/* One row of layer norm: o [C] from x [C]; returns mean and rstd. */
VECTOR_CLONES
static void layernorm_row(float *restrict o, float *restrict mean,
				 float *restrict rstd, const float *restrict x,
				 const float *restrict weight,
				 const float *restrict bias, size_t C)
{
	float m = sum_lanes(x, C) / (float)C;
	float v = sqdev_lanes(x, m, C) / (float)C;
	float s = 1.0f / sqrtf(v + LN_EPS);
	size_t i = 0;
	for (; i + LANES <= C; i += LANES)
		for (size_t j = 0; j < LANES; j++)
			o[i + j] = (x[i + j] - m) * s * weight[i + j] +
				   bias[i + j];
	for (; i < C; i++)
		o[i] = (x[i] - m) * s * weight[i] + bias[i];
	*mean = m;
	*rstd = s;
}

VECTOR_CLONES
void sb_gpt_layernorm_forward(float *restrict out, float *restrict mean,
			      float *restrict rstd, const float *restrict inp,
			      const float *restrict weight,
			      const float *restrict bias, size_t N, size_t C)
{
	for (size_t n = 0; n < N; n++)
		layernorm_row(out + n * C, mean + n, rstd + n, inp + n * C,
			      weight, bias, C);
}

/* The per-row update of layernorm backward, given the row's two means. */
VECTOR_CLONES
static void layernorm_backward_row(float *restrict dx, float *restrict dweight,
				   float *restrict dbias,
				   const float *restrict d,
				   const float *restrict x,
				   const float *restrict weight, float m,
				   float s, float dnorm_mean,
				   float dnorm_norm_mean, size_t C)
{
	size_t i = 0;
	for (; i + LANES <= C; i += LANES)
		for (size_t j = 0; j < LANES; j++) {
			float norm = (x[i + j] - m) * s;
			float dnorm = weight[i + j] * d[i + j];
			dbias[i + j] += d[i + j];
			dweight[i + j] += norm * d[i + j];
			dx[i + j] += (dnorm - dnorm_mean -
				      norm * dnorm_norm_mean) * s;
		}
	for (; i < C; i++) {
		float norm = (x[i] - m) * s;
		float dnorm = weight[i] * d[i];
		dbias[i] += d[i];
		dweight[i] += norm * d[i];
		dx[i] += (dnorm - dnorm_mean - norm * dnorm_norm_mean) * s;
	}
}

VECTOR_CLONES
void sb_gpt_layernorm_backward(float *restrict dinp, float *restrict dweight,
			       float *restrict dbias,
			       const float *restrict dout,
			       const float *restrict inp,
			       const float *restrict weight,
			       const float *restrict mean,
			       const float *restrict rstd, size_t N, size_t C)
{
	for (size_t n = 0; n < N; n++) {
		const float *x = inp + n * C;
		const float *d = dout + n * C;
		float m = mean[n], s = rstd[n];
		/* the two means through which every input moves every output */
		float part1[LANES] = {0}, part2[LANES] = {0};
		float dnorm_mean = 0.0f, dnorm_norm_mean = 0.0f;
		size_t i = 0;
		for (; i + LANES <= C; i += LANES)
			for (size_t j = 0; j < LANES; j++) {
				float dnorm = weight[i + j] * d[i + j];
				part1[j] += dnorm;
				part2[j] += dnorm * (x[i + j] - m) * s;
			}
		for (; i < C; i++) {
			float dnorm = weight[i] * d[i];
			dnorm_mean += dnorm;
			dnorm_norm_mean += dnorm * (x[i] - m) * s;
		}
		for (size_t j = 0; j < LANES; j++) {
			dnorm_mean += part1[j];
			dnorm_norm_mean += part2[j];
		}
		dnorm_mean /= (float)C;
		dnorm_norm_mean /= (float)C;
		layernorm_backward_row(dinp + n * C, dweight, dbias, d, x,
				       weight, m, s, dnorm_mean,
				       dnorm_norm_mean, C);
	}
}

/* ---- linear layers ----------------------------------------------------- */

void sb_gpt_matmul_forward(float *out, const float *inp, const float *weight,
			   const float *bias, size_t N, size_t C, size_t OC)
{
	float beta = 0.0f;
	if (bias) {
		for (size_t n = 0; n < N; n++)
			memcpy(out + n * OC, bias, OC * sizeof *out);
		beta = 1.0f;
	}
	/* out [N,OC] = inp [N,C] . weight [OC,C]^T */
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)N, (int)OC,
		    (int)C, 1.0f, inp, (int)C, weight, (int)C, beta, out,
		    (int)OC);
}

void sb_gpt_matmul_backward(float *dinp, float *dweight, float *dbias,
			    const float *dout, const float *inp,
			    const float *weight, size_t N, size_t C, size_t OC)
{
	/* dinp [N,C] += dout [N,OC] . weight [OC,C] */
	if (dinp)
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)N,
			    (int)C, (int)OC, 1.0f, dout, (int)OC, weight,
			    (int)C, 1.0f, dinp, (int)C);
	/* dweight [OC,C] += dout^T [OC,N] . inp [N,C] */
	if (dweight)
		cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)OC,
			    (int)C, (int)N, 1.0f, dout, (int)OC, inp, (int)C,
			    1.0f, dweight, (int)C);
	if (dbias)
		for (size_t n = 0; n < N; n++)
			add_lanes(dbias, dout + n * OC, OC);
}

void sb_gpt_matmul_forward_naive(float *out, const float *inp,
				 const float *weight, const float *bias,
				 size_t N, size_t C, size_t OC)
{
	for (size_t n = 0; n < N; n++)
		for (size_t o = 0; o < OC; o++) {
			double acc = bias ? bias[o] : 0.0;
			for (size_t i = 0; i < C; i++)
				acc += (double)inp[n * C + i] * weight[o * C + i];
			out[n * OC + o] = (float)acc;
		}
}

/* ---- causal self-attention (Vaswani et al., 2017) ---------------------- */

/* Row t of a [T,T] score matrix becomes the softmax of its first t+1
 * entries, the rest zero: position t sees positions 0..t only. */
/* Queries are taken ATT_ROWS at a time: rows r0..r1-1 attend to keys
 * 0..r1-1 only, which skips the blocks above the diagonal, and keeps every
 * product at T = 128 within the size OpenBLAS runs on the calling thread
 * (M*N*K <= 2^18), where waking its second thread for a 1 MFLOP product
 * costs more than the product (measured: twice the time per call). */
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

/* The backward of batch row b, head h; scratch holds T*T floats. */
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
	size_t first, end;
	/* part 0 runs on the caller and has its scratch */
	float *scratch = part ? sb_malloc(j->T * j->T * sizeof *scratch) :
				j->scratch;

	sb_parallel_range(j->B * j->NH, part, parts, &first, &end);
	for (size_t i = first; i < end; i++)
		attention_backward_head(j->dqkv, scratch, j->dout, j->qkv,
					j->catt, i / j->NH, i % j->NH, j->T,
					j->C, j->NH);
	if (part)
		free(scratch);
}

void sb_gpt_attention_forward(float *out, float *att, const float *qkv,
			      size_t B, size_t T, size_t C, size_t NH)
{
	struct attention_job j = {.out = out, .att = att, .qkv = qkv,
				  .B = B, .T = T, .C = C, .NH = NH};
	sb_parallel_run(attention_forward_part, &j, B * NH);
}

void sb_gpt_attention_backward(float *dqkv, float *scratch, const float *dout,
			       const float *qkv, const float *att, size_t B,
			       size_t T, size_t C, size_t NH)
{
	struct attention_job j = {.dqkv = dqkv, .scratch = scratch,
				  .dout = dout, .qkv = qkv, .catt = att,
				  .B = B, .T = T, .C = C, .NH = NH};
	sb_parallel_run(attention_backward_part, &j, B * NH);
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

/* ---- GELU, tanh approximation (Hendrycks and Gimpel, 2016) ------------- */

#define GELU_K 0.7978845608028654f /* sqrt(2/pi) */

/* tanh as the 13/6 rational fit of Eigen's float tanh (the coefficients of
 * its generic_fast_tanh_float), within 2e-7 of tanh. The clamp to
 * [-c, c], where the fit reaches +-1, is written without comparisons so the
 * loop stays branch-free. tanhf would cost more than the whole MLP. */
static inline float tanh_rational(float x)
{
	const float c = 7.90531110763549805f;
	x = 0.5f * (fabsf(x + c) - fabsf(x - c));
	float x2 = x * x;
	float p = -2.76076847742355e-16f;
	p = p * x2 + 2.00018790482477e-13f;
	p = p * x2 - 8.60467152213735e-11f;
	p = p * x2 + 5.12229709037114e-08f;
	p = p * x2 + 1.48572235717979e-05f;
	p = p * x2 + 6.37261928875436e-04f;
	p = p * x2 + 4.89352455891786e-03f;
	float q = 1.19825839466702e-06f;
	q = q * x2 + 1.18534705686654e-04f;
	q = q * x2 + 2.26843463243900e-03f;
	q = q * x2 + 4.89352518554385e-03f;
	return x * p / q;
}

static inline float gelu(float x)
{
	float u = GELU_K * (x + 0.044715f * x * x * x);
	return 0.5f * x * (1.0f + tanh_rational(u));
}

static inline float gelu_grad(float x)
{
	float u = GELU_K * (x + 0.044715f * x * x * x);
	float th = tanh_rational(u);
	float sech2 = 1.0f - th * th;
	float du = GELU_K * (1.0f + 3.0f * 0.044715f * x * x);
	return 0.5f * (1.0f + th) + 0.5f * x * sech2 * du;
}

VECTOR_CLONES
void sb_gpt_gelu_forward(float *restrict out, const float *restrict inp,
			 size_t N)
{
	size_t i = 0;
	for (; i + LANES <= N; i += LANES)
		for (size_t j = 0; j < LANES; j++)
			out[i + j] = gelu(inp[i + j]);
	for (; i < N; i++)
		out[i] = gelu(inp[i]);
}

VECTOR_CLONES
void sb_gpt_gelu_backward(float *restrict dinp, const float *restrict inp,
			  const float *restrict dout, size_t N)
{
	size_t i = 0;
	for (; i + LANES <= N; i += LANES)
		for (size_t j = 0; j < LANES; j++)
			dinp[i + j] += gelu_grad(inp[i + j]) * dout[i + j];
	for (; i < N; i++)
		dinp[i] += gelu_grad(inp[i]) * dout[i];
}

/* ---- residual connections ---------------------------------------------- */

VECTOR_CLONES
void sb_gpt_residual_forward(float *restrict out,
			     const float *restrict inp1,
			     const float *restrict inp2, size_t N)
{
	size_t i = 0;
	for (; i + LANES <= N; i += LANES)
		for (size_t j = 0; j < LANES; j++)
			out[i + j] = inp1[i + j] + inp2[i + j];
	for (; i < N; i++)
		out[i] = inp1[i] + inp2[i];
}

void sb_gpt_residual_backward(float *restrict dinp1, float *restrict dinp2,
			      const float *restrict dout, size_t N)
{
	add_lanes(dinp1, dout, N);
	add_lanes(dinp2, dout, N);
}

/* ---- softmax cross-entropy --------------------------------------------- */

/* What one row adds to the sums of an sb_eval. */
struct xent_row {
	double loss;
	bool counted, correct;
};

/* Row n's softmax into probs and what it adds to the loss. */
static void crossentropy_row(struct xent_row *row, float *p, const float *l,
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
	struct xent_row *rows;
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

void sb_gpt_crossentropy_forward(struct sb_eval *ev, float *probs,
				 const float *logits, const int32_t *targets,
				 size_t N, size_t V)
{
	struct xent_job j = {.out = probs, .inp = logits, .targets = targets,
			     .N = N, .V = V};

	j.rows = sb_malloc((N ? N : 1) * sizeof *j.rows);
	sb_parallel_run(crossentropy_forward_part, &j, max_parts(N * V));
	/* the rows' shares added in row order, as one thread would */
	for (size_t n = 0; n < N; n++) {
		if (!j.rows[n].counted)
			continue;
		ev->loss_sum += j.rows[n].loss;
		ev->count += 1.0;
		ev->correct += j.rows[n].correct ? 1.0 : 0.0;
	}
	free(j.rows);
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

/* ---- fused kernels ----------------------------------------------------- */

void sb_gpt_matmul_backward_input(float *dinp, const float *dout,
				  const float *weight, size_t N, size_t C,
				  size_t OC)
{
	/* dinp [N,C] = dout [N,OC] . weight [OC,C] */
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)N, (int)C,
		    (int)OC, 1.0f, dout, (int)OC, weight, (int)C, 0.0f, dinp,
		    (int)C);
}

/* The arguments of the fused passes, shared by the threads. */
struct fused_job {
	float *out, *pre, *res, *ln, *mean, *rstd;
	const float *inp, *dout, *bias, *weight, *ln_bias;
	float *dbias;
	size_t N, C;
};

/* The loops over a row are functions of their own: GCC takes restrict
 * from parameters only, and vectorises nothing it fears may alias. */

/* p [n] += bias; o [n] = GELU(p) */
VECTOR_CLONES
static void bias_gelu_row(float *restrict o, float *restrict p,
			  const float *restrict bias, size_t n)
{
	size_t i = 0;
	for (; i + LANES <= n; i += LANES)
		for (size_t k = 0; k < LANES; k++) {
			p[i + k] += bias[i + k];
			o[i + k] = gelu(p[i + k]);
		}
	for (; i < n; i++) {
		p[i] += bias[i];
		o[i] = gelu(p[i]);
	}
}

/* d [n] = GELU'(x) * g */
VECTOR_CLONES
static void gelu_grad_row(float *restrict d, const float *restrict x,
			  const float *restrict g, size_t n)
{
	size_t i = 0;
	for (; i + LANES <= n; i += LANES)
		for (size_t k = 0; k < LANES; k++)
			d[i + k] = gelu_grad(x[i + k]) * g[i + k];
	for (; i < n; i++)
		d[i] = gelu_grad(x[i]) * g[i];
}

/* r [n] = x + (r + bias), bias NULL: none */
VECTOR_CLONES
static void residual_bias_row(float *restrict r, const float *restrict x,
			      const float *restrict bias, size_t n)
{
	size_t i = 0;
	if (bias) {
		for (; i + LANES <= n; i += LANES)
			for (size_t k = 0; k < LANES; k++)
				r[i + k] = x[i + k] + (r[i + k] + bias[i + k]);
		for (; i < n; i++)
			r[i] = x[i] + (r[i] + bias[i]);
		return;
	}
	for (; i + LANES <= n; i += LANES)
		for (size_t k = 0; k < LANES; k++)
			r[i + k] = x[i + k] + r[i + k];
	for (; i < n; i++)
		r[i] = x[i] + r[i];
}

static void bias_gelu_part(void *ctx, size_t part, size_t parts)
{
	const struct fused_job *j = ctx;
	const size_t OC = j->C;
	size_t first, end;

	sb_parallel_range(j->N, part, parts, &first, &end);
	for (size_t n = first; n < end; n++)
		bias_gelu_row(j->out + n * OC, j->pre + n * OC, j->bias, OC);
}

void sb_gpt_bias_gelu_forward(float *restrict out, float *restrict pre,
			      const float *restrict bias, size_t N, size_t OC)
{
	struct fused_job j = {.out = out, .pre = pre, .bias = bias, .N = N,
			      .C = OC};
	sb_parallel_run(bias_gelu_part, &j, max_parts(N * OC));
}

/* Parts take columns, so that each bias entry still adds its rows in
 * order, whatever the number of parts. */
static void gelu_backward_bias_part(void *ctx, size_t part, size_t parts)
{
	const struct fused_job *j = ctx;
	const size_t OC = j->C;
	size_t c0, c1;

	sb_parallel_range(OC / LANES, part, parts, &c0, &c1);
	c0 *= LANES;
	c1 = part + 1 == parts ? OC : c1 * LANES;
	for (size_t n = 0; n < j->N; n++) {
		size_t at = n * OC + c0;
		gelu_grad_row(j->out + at, j->inp + at, j->dout + at, c1 - c0);
		if (j->dbias)
			add_lanes(j->dbias + c0, j->out + at, c1 - c0);
	}
}

void sb_gpt_gelu_backward_bias(float *restrict dinp, float *restrict dbias,
			       const float *restrict inp,
			       const float *restrict dout, size_t N,
			       size_t OC)
{
	struct fused_job j = {.out = dinp, .dbias = dbias, .inp = inp,
			      .dout = dout, .N = N, .C = OC};
	size_t parts = max_parts(N * OC);
	/* at least LANES columns a part */
	if (parts > OC / LANES)
		parts = OC / LANES ? OC / LANES : 1;
	sb_parallel_run(gelu_backward_bias_part, &j, parts);
}

static void residual_layernorm_part(void *ctx, size_t part, size_t parts)
{
	const struct fused_job *j = ctx;
	const size_t C = j->C;
	size_t first, end;

	sb_parallel_range(j->N, part, parts, &first, &end);
	for (size_t n = first; n < end; n++) {
		residual_bias_row(j->res + n * C, j->inp + n * C, j->bias, C);
		layernorm_row(j->ln + n * C, j->mean + n, j->rstd + n,
			      j->res + n * C, j->weight, j->ln_bias, C);
	}
}

void sb_gpt_residual_layernorm_forward(float *restrict res,
				       float *restrict ln,
				       float *restrict mean,
				       float *restrict rstd,
				       const float *restrict resid,
				       const float *restrict bias,
				       const float *restrict weight,
				       const float *restrict ln_bias,
				       size_t N, size_t C)
{
	struct fused_job j = {.res = res, .ln = ln, .mean = mean,
			      .rstd = rstd, .inp = resid, .bias = bias,
			      .weight = weight, .ln_bias = ln_bias, .N = N,
			      .C = C};
	sb_parallel_run(residual_layernorm_part, &j, max_parts(N * C));
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
	sb_parallel_run(crossentropy_backward_part, &j, max_parts(N * V));
}
