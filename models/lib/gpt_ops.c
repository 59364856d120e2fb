/* gpt_ops.c - the layer kernels of GPT-2 (Radford et al., 2019) after the
 * forward/backward pairs of llm.c's train_gpt2.c: embeddings, layer norm,
 * linear layers, GELU, residuals, and the fused passes of several of them;
 * products through cblas_sgemm, elementwise loops kept simple enough to
 * vectorise (lanes.h). Attention and the cross-entropy: gpt_softmax.c. */
#include "gpt_ops.h"
#include "util.h"
#include "lanes.h"
#include "parallel.h"

#include <assert.h>
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define LN_EPS 1e-5f

/* ---- vector-friendly helpers ------------------------------------------- */

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

/* The column split of the passes that sum over rows into a vector [OC]:
 * part p of `parts` takes columns [*c0, *c1), whole blocks of LANES but
 * the last part's rest, so that each entry still adds its rows in order
 * whatever the number of parts. */
static void column_range(size_t OC, size_t part, size_t parts, size_t *c0,
			 size_t *c1)
{
	sb_parallel_range(OC / LANES, part, parts, c0, c1);
	*c0 *= LANES;
	*c1 = part + 1 == parts ? OC : *c1 * LANES;
}

/* The most parts worth making of a column-split pass over [N,OC]. */
static size_t column_parts(size_t N, size_t OC)
{
	size_t parts = sb_parallel_parts(N * OC);
	/* at least LANES columns a part */
	if (parts > OC / LANES)
		parts = OC / LANES ? OC / LANES : 1;
	return parts;
}

/* dx [C] += the input gradient of one row of layer norm, from its output
 * gradient d [C], input x [C], mean m and rstd s */
VECTOR_CLONES
static void layernorm_backward_row(float *restrict dx,
				   const float *restrict d,
				   const float *restrict x,
				   const float *restrict weight, float m,
				   float s, size_t C)
{
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
	for (i = 0; i + LANES <= C; i += LANES)
		for (size_t j = 0; j < LANES; j++) {
			float norm = (x[i + j] - m) * s;
			float dnorm = weight[i + j] * d[i + j];
			dx[i + j] += (dnorm - dnorm_mean -
				      norm * dnorm_norm_mean) * s;
		}
	for (; i < C; i++) {
		float norm = (x[i] - m) * s;
		float dnorm = weight[i] * d[i];
		dx[i] += (dnorm - dnorm_mean - norm * dnorm_norm_mean) * s;
	}
}

/* dweight [n], dbias [n] += one row's share, from d [n] and x [n] */
VECTOR_CLONES
static void layernorm_params_row(float *restrict dweight,
				 float *restrict dbias,
				 const float *restrict d,
				 const float *restrict x, float m, float s,
				 size_t n)
{
	size_t i = 0;
	for (; i + LANES <= n; i += LANES)
		for (size_t j = 0; j < LANES; j++) {
			float norm = (x[i + j] - m) * s;
			dbias[i + j] += d[i + j];
			dweight[i + j] += norm * d[i + j];
		}
	for (; i < n; i++) {
		float norm = (x[i] - m) * s;
		dbias[i] += d[i];
		dweight[i] += norm * d[i];
	}
}

struct layernorm_job {
	float *dinp, *dweight, *dbias;
	const float *dout, *inp, *weight, *mean, *rstd;
	size_t N, C;
};

/* Part p takes rows of dinp, and columns of dweight and dbias over every
 * row in order: each gradient entry is the same sum on any thread count. */
static void layernorm_backward_part(void *ctx, size_t part, size_t parts)
{
	const struct layernorm_job *j = ctx;
	const size_t C = j->C;
	size_t first, end, c0, c1;

	sb_parallel_range(j->N, part, parts, &first, &end);
	for (size_t n = first; n < end; n++)
		layernorm_backward_row(j->dinp + n * C, j->dout + n * C,
				       j->inp + n * C, j->weight, j->mean[n],
				       j->rstd[n], C);
	column_range(C, part, parts, &c0, &c1);
	for (size_t n = 0; n < j->N && c0 < c1; n++)
		layernorm_params_row(j->dweight + c0, j->dbias + c0,
				     j->dout + n * C + c0, j->inp + n * C + c0,
				     j->mean[n], j->rstd[n], c1 - c0);
}

void sb_gpt_layernorm_backward(float *restrict dinp, float *restrict dweight,
			       float *restrict dbias,
			       const float *restrict dout,
			       const float *restrict inp,
			       const float *restrict weight,
			       const float *restrict mean,
			       const float *restrict rstd, size_t N, size_t C)
{
	struct layernorm_job j = {.dinp = dinp, .dweight = dweight,
				  .dbias = dbias, .dout = dout, .inp = inp,
				  .weight = weight, .mean = mean, .rstd = rstd,
				  .N = N, .C = C};
	sb_parallel_run(layernorm_backward_part, &j, column_parts(N, C));
}

/* ---- linear layers ----------------------------------------------------- */

struct bias_rows_job {
	float *out;
	const float *bias;
	size_t N, OC;
};

/* rows of out [N,OC] = bias [OC], split by rows */
static void bias_rows_part(void *ctx, size_t part, size_t parts)
{
	const struct bias_rows_job *j = ctx;
	size_t first, end;

	sb_parallel_range(j->N, part, parts, &first, &end);
	for (size_t n = first; n < end; n++)
		memcpy(j->out + n * j->OC, j->bias, j->OC * sizeof *j->out);
}

void sb_gpt_matmul_forward(float *out, const float *inp, const float *weight,
			   const float *bias, size_t N, size_t C, size_t OC)
{
	float beta = 0.0f;
	if (bias) {
		struct bias_rows_job j = {out, bias, N, OC};
		sb_parallel_run(bias_rows_part, &j, sb_parallel_parts(N * OC));
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
	sb_parallel_run(bias_gelu_part, &j, sb_parallel_parts(N * OC));
}

/* Parts take columns (column_range). */
static void gelu_backward_bias_part(void *ctx, size_t part, size_t parts)
{
	const struct fused_job *j = ctx;
	const size_t OC = j->C;
	size_t c0, c1;

	column_range(OC, part, parts, &c0, &c1);
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
	sb_parallel_run(gelu_backward_bias_part, &j, column_parts(N, OC));
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
	sb_parallel_run(residual_layernorm_part, &j, sb_parallel_parts(N * C));
}

static void bias_backward_part(void *ctx, size_t part, size_t parts)
{
	const struct fused_job *j = ctx;
	const size_t OC = j->C;
	size_t c0, c1;

	column_range(OC, part, parts, &c0, &c1);
	for (size_t n = 0; n < j->N && c0 < c1; n++)
		add_lanes(j->dbias + c0, j->dout + n * OC + c0, c1 - c0);
}

void sb_gpt_bias_backward(float *restrict dbias, const float *restrict dout,
			  size_t N, size_t OC)
{
	struct fused_job j = {.dbias = dbias, .dout = dout, .N = N, .C = OC};
	sb_parallel_run(bias_backward_part, &j, column_parts(N, OC));
}
