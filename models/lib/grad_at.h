/* grad_at.h - a model's gradient under a plan (struct sb_grad_plan, sb.h):
 * where each tensor's gradient goes, and a linear layer's weight and bias
 * gradients computed whole, at S's entries only, or not at all. The kernel
 * of the selected entries is a sampled product (SDDMM): each entry is the
 * dot product of a column of the output's gradient with a column of the
 * input, over the N rows of the batch. */
#ifndef SB_GRAD_AT_H
#define SB_GRAD_AT_H

#include "sb.h"

/* One tensor's destination in the gradient a backward pass fills. */
struct sb_tgrad {
	enum sb_grad_want want;
	float *dst;          /* ALL: the tensor's whole gradient, in its own
	                        layout; SOME: its selected entries', in S's
	                        order; NONE: NULL */
	const sb_index *idx; /* SOME: those entries' global indices, ascending */
	size_t count;        /* SOME: how many */
	size_t base;         /* the tensor's offset: idx[j] - base is an
	                        entry's place in the tensor */
};

/* Fills tg[t] for every tensor of the layout: with plan NULL, each is
 * wanted whole in grad [n_params] (the full gradient); else as the plan
 * says, in grad [plan->k]. */
void sb_tgrad_fill(struct sb_tgrad *tg, const struct sb_layout *layout,
		   const struct sb_grad_plan *plan, float *grad);

/* Scratch memory that the kernels grow on demand and keep. */
struct sb_grad_scratch {
	float *buf;
	size_t cap; /* floats */
};

float *sb_grad_scratch_get(struct sb_grad_scratch *s, size_t n);
void sb_grad_scratch_release(struct sb_grad_scratch *s);

/* dweight [OC,C] += dout^T [OC,N] . inp [N,C], as tg wants it. */
void sb_tgrad_weight(const struct sb_tgrad *tg, const float *dout,
		     const float *inp, size_t N, size_t C, size_t OC,
		     struct sb_grad_scratch *s);
/* dbias [OC] += the column sums of dout [N,OC], as tg wants it. */
void sb_tgrad_bias(const struct sb_tgrad *tg, const float *dout, size_t N,
		   size_t OC, struct sb_grad_scratch *s);
/* For a small tensor whose gradient a kernel computes whole (a layer
 * norm's gain): the n floats to accumulate into. ALL: tg->dst; otherwise
 * `spare`, zeroed, whose values sb_tgrad_finish then takes where wanted. */
float *sb_tgrad_begin(const struct sb_tgrad *tg, size_t n, float *spare);
/* SOME: dst[j] += whole[idx[j] - base]; ALL and NONE: nothing. */
void sb_tgrad_finish(const struct sb_tgrad *tg, const float *whole);

/* The selected entries of dweight: out[j] += sum over n < N of
 * dout[n, o] * inp[n, c] for (o, c) = divmod(idx[j] - base, C), j < count,
 * idx ascending. Chooses per block of rows between products row by row,
 * dot products and a small sgemm (grad_at.c says when). */
void sb_grad_weight_at(float *out, const sb_index *idx, size_t count,
		       size_t base, const float *dout, const float *inp,
		       size_t N, size_t C, size_t OC,
		       struct sb_grad_scratch *s);
/* The same with the method forced: 0 dot products, 1 sgemm, 2 row by row;
 * -1 chooses (for the tests and bench/bench_grad_at.c). */
void sb_grad_weight_at_with(float *out, const sb_index *idx, size_t count,
			    size_t base, const float *dout, const float *inp,
			    size_t N, size_t C, size_t OC,
			    struct sb_grad_scratch *s, int method);
/* The same as plain loops in double: the tests' reference. */
void sb_grad_weight_at_naive(float *out, const sb_index *idx, size_t count,
			     size_t base, const float *dout, const float *inp,
			     size_t N, size_t C, size_t OC);

#endif
