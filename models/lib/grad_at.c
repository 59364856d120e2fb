/* grad_at.c - a model's gradient under a plan (grad_at.h): the full
 * products through cblas_sgemm, the selected entries of a weight gradient
 * as a sampled product, bias and small-tensor gradients gathered. */
#include "grad_at.h"
#include "util.h"

#include <cblas.h>
#include <stdint.h>
#include <string.h>

/* Loops over n elements keep LANES partial sums, which -O2 vectorises. */
#define LANES 8

/* ---- destinations ------------------------------------------------------ */

void sb_tgrad_fill(struct sb_tgrad *tg, const struct sb_layout *layout,
		   const struct sb_grad_plan *plan, float *grad)
{
	for (size_t t = 0; t < layout->n_tensors; t++) {
		const struct sb_tensor *ten = &layout->tensors[t];
		if (!plan) {
			tg[t] = (struct sb_tgrad){
				.want = SB_WANT_ALL,
				.dst = grad + ten->offset,
				.count = ten->size,
				.base = ten->offset,
			};
			continue;
		}
		const struct sb_grad_span *sp = &plan->tensors[t];
		tg[t] = (struct sb_tgrad){
			.want = sp->want,
			.dst = sp->want == SB_WANT_NONE ? NULL : grad + sp->first,
			.idx = plan->idx + sp->first,
			.count = sp->count,
			.base = ten->offset,
		};
	}
}

float *sb_grad_scratch_get(struct sb_grad_scratch *s, size_t n)
{
	if (n > s->cap) {
		free(s->buf);
		s->buf = sb_malloc(n * sizeof *s->buf);
		s->cap = n;
	}
	return s->buf;
}

void sb_grad_scratch_release(struct sb_grad_scratch *s)
{
	free(s->buf);
	s->buf = NULL;
	s->cap = 0;
}

/* ---- whole tensors and small ones -------------------------------------- */

void sb_tgrad_weight(const struct sb_tgrad *tg, const float *dout,
		     const float *inp, size_t N, size_t C, size_t OC,
		     struct sb_grad_scratch *s)
{
	if (tg->want == SB_WANT_ALL)
		/* dweight [OC,C] += dout^T [OC,N] . inp [N,C] */
		cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)OC,
			    (int)C, (int)N, 1.0f, dout, (int)OC, inp, (int)C,
			    1.0f, tg->dst, (int)C);
	else if (tg->want == SB_WANT_SOME)
		sb_grad_weight_at(tg->dst, tg->idx, tg->count, tg->base, dout,
				  inp, N, C, OC, s);
}

/* sums [OC] += the rows of dout [N,OC], row after row: the same order of
 * additions whoever calls it, so the full path's bias gradients do not
 * depend on how they are wanted */
static void column_sums(float *restrict sums, const float *restrict dout,
			size_t N, size_t OC)
{
	for (size_t n = 0; n < N; n++) {
		const float *row = dout + n * OC;
		size_t o = 0;
		for (; o + LANES <= OC; o += LANES)
			for (size_t j = 0; j < LANES; j++)
				sums[o + j] += row[o + j];
		for (; o < OC; o++)
			sums[o] += row[o];
	}
}

void sb_tgrad_bias(const struct sb_tgrad *tg, const float *dout, size_t N,
		   size_t OC, struct sb_grad_scratch *s)
{
	if (tg->want == SB_WANT_NONE)
		return;
	if (tg->want == SB_WANT_SOME && tg->count * LANES < OC) {
		/* a few columns: summed alone, rows in the same order */
		for (size_t j = 0; j < tg->count; j++) {
			const float *col = dout + (tg->idx[j] - tg->base);
			float sum = 0.0f;
			for (size_t n = 0; n < N; n++)
				sum += col[n * OC];
			tg->dst[j] += sum;
		}
		return;
	}
	float *spare = tg->want == SB_WANT_ALL ? NULL
					       : sb_grad_scratch_get(s, OC);
	float *sums = sb_tgrad_begin(tg, OC, spare);
	column_sums(sums, dout, N, OC);
	sb_tgrad_finish(tg, sums);
}

float *sb_tgrad_begin(const struct sb_tgrad *tg, size_t n, float *spare)
{
	if (tg->want == SB_WANT_ALL)
		return tg->dst;
	memset(spare, 0, n * sizeof *spare);
	return spare;
}

void sb_tgrad_finish(const struct sb_tgrad *tg, const float *whole)
{
	if (tg->want != SB_WANT_SOME)
		return;
	for (size_t j = 0; j < tg->count; j++)
		tg->dst[j] += whole[tg->idx[j] - tg->base];
}

/* ---- the selected entries of a weight gradient -------------------------- */

/* Rows of the weight are taken ROWS distinct rows at a time: their columns
 * of dout are gathered into a [ROWS,N] block, which bounds the scratch
 * (the LM head has V rows) and lets each block choose its method. */
#define ROWS 64
#define TILE 16

static float dot(const float *a, const float *b, size_t n)
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

/* out [C,N] = in [N,C]^T, tile by tile so both sides stay in cache; each
 * tile's rows of out are written contiguously */
static void transpose(float *restrict out, const float *restrict in,
		      size_t N, size_t C)
{
	for (size_t c0 = 0; c0 < C; c0 += TILE)
		for (size_t n0 = 0; n0 < N; n0 += TILE) {
			size_t n1 = n0 + TILE < N ? n0 + TILE : N;
			size_t c1 = c0 + TILE < C ? c0 + TILE : C;
			for (size_t c = c0; c < c1; c++) {
				float *o = out + c * N;
				const float *i = in + c;
				for (size_t n = n0; n < n1; n++)
					o[n] = i[n * C];
			}
		}
}

/* A block: entries [j0, j1) of the selection, in rows rows[0..r). */
struct block {
	size_t j0, j1, r;
	size_t rows[ROWS];
};

/* The next block from entry j: the entries of at most ROWS distinct rows. */
static void next_block(struct block *b, const sb_index *idx, size_t count,
		       size_t base, size_t C, size_t j)
{
	b->j0 = j;
	b->r = 0;
	for (; j < count; j++) {
		size_t o = (idx[j] - base) / C;
		if (b->r == 0 || b->rows[b->r - 1] != o) {
			if (b->r == ROWS)
				break;
			b->rows[b->r++] = o;
		}
	}
	b->j1 = j;
}

/* The three ways of a block, and when each wins. Measured with
 * bench/bench_grad_at.c on random entries of the MLP input weight of the
 * default GPT (N 2048, C 128, 512 rows) and of GPT-2 124M (N 256, C 768,
 * 3072 rows), one thread, against the full sgemm in the same run (the
 * machine was shared: figures moved by up to 2x between runs):
 *  - BY_ROWS, the products of four rows of the batch at a time, reading
 *    dout's and inp's rows in cache: no copies, ~0.8 ns a product. It wins
 *    while a block has a few entries per row: at 0.1% it takes 2-10% of
 *    the full product's time, at 1% of C = 128 20-40%;
 *  - BY_DOTS, the block's columns of dout gathered and inp transposed once
 *    so that each entry is a contiguous dot product: ~0.4 ns a product
 *    once the copies are paid, so it wins past ~4 entries a row (1% of
 *    GPT-2's C = 768: 15-20% of the full product);
 *  - BY_GEMM, sgemm over the block's span of rows, read in place, picking
 *    the entries: the full product's cost for the rows it spans. With an
 *    sgemm of its kernel for the CPU (OPENBLAS_CORETYPE=SkylakeX here,
 *    ~0.03 ns a multiply-add) it beats both past ~5% of a block's entries
 *    (at 3% the full product already cost no more than the dot products);
 *    with OpenBLAS's fallback kernel (Prescott, 3-5x slower) the break-even
 *    is nearer 30%, and BY_GEMM there costs at most the full product.
 * So a weight gradient at 10% of its entries or more costs what the full
 * one does: S's gradient saves compute only for sparse masks. */
enum { BY_DOTS, BY_GEMM, BY_ROWS };
#define ROWS_PER_ROW 4 /* entries per row up to which BY_ROWS wins */
#define SPAN (2 * ROWS) /* the most rows BY_GEMM computes for a block */
#define GEMM_SHARE 0.05 /* the share of a block's span of entries past
			   which BY_GEMM wins */

/* The rows from the block's first to its last, which BY_GEMM computes. */
static size_t block_span(const struct block *b)
{
	return b->rows[b->r - 1] - b->rows[0] + 1;
}

/* BY_DOTS transposes inp [N,C] once per tensor (~2 ns an entry): it pays
 * only for a tensor with a few entries per column of inp at least. */
#define DOTS_PER_COLUMN 8

static int block_method(const struct block *b, size_t C, size_t count)
{
	size_t entries = b->j1 - b->j0;
	if ((double)entries >= GEMM_SHARE * (double)(block_span(b) * C))
		return BY_GEMM;
	return entries <= ROWS_PER_ROW * b->r || count < DOTS_PER_COLUMN * C
		? BY_ROWS : BY_DOTS;
}

/* BY_ROWS: acc[e] grows by the products of four rows of the batch at a
 * time, read from rows in cache (each step loads an entry's sum, row and
 * column once for four products). */
static void block_rows(float *restrict out, const struct block *b,
		       const sb_index *restrict idx, size_t base,
		       const float *restrict dout, const float *restrict inp,
		       size_t N, size_t C, size_t OC, uint32_t *restrict row,
		       uint32_t *restrict col, float *restrict acc)
{
	size_t m = b->j1 - b->j0;
	for (size_t e = 0; e < m; e++) {
		size_t local = idx[b->j0 + e] - base;
		row[e] = (uint32_t)(local / C);
		col[e] = (uint32_t)(local % C);
		acc[e] = 0.0f;
	}
	size_t n = 0;
	for (; n + 4 <= N; n += 4) {
		const float *d0 = dout + n * OC, *d1 = d0 + OC, *d2 = d1 + OC,
			    *d3 = d2 + OC;
		const float *x0 = inp + n * C, *x1 = x0 + C, *x2 = x1 + C,
			    *x3 = x2 + C;
		for (size_t e = 0; e < m; e++) {
			uint32_t r = row[e], c = col[e];
			acc[e] += d0[r] * x0[c] + d1[r] * x1[c] +
				  d2[r] * x2[c] + d3[r] * x3[c];
		}
	}
	for (; n < N; n++) {
		const float *d = dout + n * OC, *x = inp + n * C;
		for (size_t e = 0; e < m; e++)
			acc[e] += d[row[e]] * x[col[e]];
	}
	for (size_t e = 0; e < m; e++)
		out[b->j0 + e] += acc[e];
}

void sb_grad_weight_at_with(float *out, const sb_index *idx, size_t count,
			    size_t base, const float *dout, const float *inp,
			    size_t N, size_t C, size_t OC,
			    struct sb_grad_scratch *s, int method)
{
	/* scratch: inp^T [C,N]; a block's columns of dout [ROWS,N]; the
	 * product of its span of rows [SPAN,C]; BY_ROWS's rows, columns and
	 * sums [ROWS*C] each */
	size_t most = ROWS * C;
	float *inpT = sb_grad_scratch_get(s, C * N + ROWS * N + SPAN * C +
						     3 * most);
	float *cols = inpT + C * N, *prod = cols + ROWS * N;
	uint32_t *row = (uint32_t *)(prod + SPAN * C), *col = row + most;
	float *acc = (float *)(col + most);
	bool transposed = false;
	struct block b;

	for (size_t j = 0; j < count; j = b.j1) {
		next_block(&b, idx, count, base, C, j);
		int how = method < 0 ? block_method(&b, C, count) : method;
		if (how == BY_GEMM && block_span(&b) > SPAN)
			how = BY_DOTS; /* forced on rows too far apart */
		if (how == BY_ROWS) {
			block_rows(out, &b, idx, base, dout, inp, N, C, OC,
				   row, col, acc);
			continue;
		}
		if (how == BY_GEMM) {
			/* prod [span,C] = dout[:, lo..lo+span)^T . inp [N,C] */
			size_t lo = b.rows[0];
			cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans,
				    (int)block_span(&b), (int)C, (int)N, 1.0f,
				    dout + lo, (int)OC, inp, (int)C, 0.0f,
				    prod, (int)C);
			for (size_t e = b.j0; e < b.j1; e++)
				out[e] += prod[idx[e] - base - lo * C];
			continue;
		}
		if (!transposed) {
			transpose(inpT, inp, N, C);
			transposed = true;
		}
		/* cols [r,N]: row i is column rows[i] of dout [N,OC],
		 * gathered TILE rows of dout at a time */
		for (size_t n0 = 0; n0 < N; n0 += TILE) {
			size_t n1 = n0 + TILE < N ? n0 + TILE : N;
			for (size_t i = 0; i < b.r; i++) {
				float *o = cols + i * N;
				const float *d = dout + b.rows[i];
				for (size_t n = n0; n < n1; n++)
					o[n] = d[n * OC];
			}
		}
		size_t i = 0;
		for (size_t e = b.j0; e < b.j1; e++) {
			size_t local = idx[e] - base, o = local / C;
			size_t c = local - o * C;
			while (b.rows[i] != o)
				i++;
			out[e] += dot(cols + i * N, inpT + c * N, N);
		}
	}
}

void sb_grad_weight_at(float *out, const sb_index *idx, size_t count,
		       size_t base, const float *dout, const float *inp,
		       size_t N, size_t C, size_t OC,
		       struct sb_grad_scratch *s)
{
	sb_grad_weight_at_with(out, idx, count, base, dout, inp, N, C, OC, s,
			       -1);
}

void sb_grad_weight_at_naive(float *out, const sb_index *idx, size_t count,
			     size_t base, const float *dout, const float *inp,
			     size_t N, size_t C, size_t OC)
{
	for (size_t j = 0; j < count; j++) {
		size_t o = (idx[j] - base) / C, c = (idx[j] - base) % C;
		double acc = 0.0;
		for (size_t n = 0; n < N; n++)
			acc += (double)dout[n * OC + o] * inp[n * C + c];
		out[j] += (float)acc;
	}
}
