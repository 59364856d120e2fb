/* gpt_ops.h - the layer kernels of GPT-2 (Radford et al., 2019), as
 * forward/backward pairs in the manner of llm.c's train_gpt2.c, with naive
 * references for the tests (gpt_ops.c; attention and the cross-entropy in
 * gpt_softmax.c). Tensors are row-major float; N = B*T rows.
 *
 * Conventions: outputs first, then inputs and weights, then dims. Every
 * backward ADDS into its outputs (activation and parameter gradients alike),
 * so the caller zeroes them first; an output may be NULL where said. The
 * fused kernels at the end WRITE the activation gradients they say they
 * write, which spares the caller a pass to zero them. Arrays
 * declared restrict must not overlap. Every matrix product goes through
 * cblas_sgemm. */
#ifndef SB_GPT_OPS_H
#define SB_GPT_OPS_H

#include "sb.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* out [B,T,C] = wte[tokens[b,t]] + wpe[t]; tokens [B,T] in [0, V) */
void sb_gpt_encoder_forward(float *out, const int32_t *tokens,
			    const float *wte, const float *wpe,
			    size_t B, size_t T, size_t C);
/* dwte [V,C], dwpe [T,C] += from dout [B,T,C]; either may be NULL */
void sb_gpt_encoder_backward(float *dwte, float *dwpe, const float *dout,
			     const int32_t *tokens, size_t B, size_t T,
			     size_t C);
/* The selected entries of the lookup's dwte [V,C]: out[j] += the sum of
 * dout [N,C] at column c over the positions holding token v, for (v, c) =
 * divmod(idx[j] - base, C), idx ascending. first [V+1] and order [N] are
 * scratch: the positions of each token, found by a counting sort. */
void sb_gpt_encoder_backward_wte_at(float *out, const sb_index *idx,
				    size_t count, size_t base,
				    const float *dout, const int32_t *tokens,
				    size_t N, size_t C, size_t V,
				    size_t *first, size_t *order);
/* The selected entries of dwpe [block_size,C]: out[j] += the sum over b of
 * dout [B,T,C] at (b, t, c) for (t, c) = divmod(idx[j] - base, C); rows
 * t >= T get nothing. */
void sb_gpt_encoder_backward_wpe_at(float *out, const sb_index *idx,
				    size_t count, size_t base,
				    const float *dout, size_t B, size_t T,
				    size_t C);

/* out [N,C] = (inp - mean) * rstd * weight + bias per row, eps 1e-5;
 * mean [N] and rstd [N] are kept for backward */
void sb_gpt_layernorm_forward(float *restrict out, float *restrict mean,
			      float *restrict rstd, const float *restrict inp,
			      const float *restrict weight,
			      const float *restrict bias, size_t N, size_t C);
/* dinp [N,C], dweight [C], dbias [C] += from dout [N,C] */
void sb_gpt_layernorm_backward(float *restrict dinp, float *restrict dweight,
			       float *restrict dbias,
			       const float *restrict dout,
			       const float *restrict inp,
			       const float *restrict weight,
			       const float *restrict mean,
			       const float *restrict rstd, size_t N, size_t C);

/* out [N,OC] = inp [N,C] weight^T + bias; weight [OC,C], bias [OC] or NULL */
void sb_gpt_matmul_forward(float *out, const float *inp, const float *weight,
			   const float *bias, size_t N, size_t C, size_t OC);
/* dinp [N,C], dweight [OC,C], dbias [OC] += from dout [N,OC]; each may be
 * NULL (then it is not computed) */
void sb_gpt_matmul_backward(float *dinp, float *dweight, float *dbias,
			    const float *dout, const float *inp,
			    const float *weight, size_t N, size_t C, size_t OC);
/* The same product as three plain loops, in double: the tests' reference. */
void sb_gpt_matmul_forward_naive(float *out, const float *inp,
				 const float *weight, const float *bias,
				 size_t N, size_t C, size_t OC);

/* Causal multi-head self-attention. qkv [B,T,3C] holds q, k, v side by side
 * per position, head h in columns h*hs..(h+1)*hs-1 of each (hs = C/NH).
 * out [B,T,C] (heads side by side); att [B,NH,T,T] the softmax weights,
 * zero above the diagonal, kept for backward. */
void sb_gpt_attention_forward(float *out, float *att, const float *qkv,
			      size_t B, size_t T, size_t C, size_t NH);
/* dqkv [B,T,3C] = from dout [B,T,C], WRITTEN (an exception to the rule
 * above: each thread zeroes the columns it then adds into); scratch holds
 * T*T floats for each of n_scratch >= 1 threads, and at most that many
 * share the work */
void sb_gpt_attention_backward(float *dqkv, float *scratch, size_t n_scratch,
			       const float *dout, const float *qkv,
			       const float *att, size_t B, size_t T, size_t C,
			       size_t NH);
/* The same attention as triple loops, in double. */
void sb_gpt_attention_forward_naive(float *out, float *att, const float *qkv,
				    size_t B, size_t T, size_t C, size_t NH);

/* out [N] = GELU(inp [N]), tanh approximation; no overlap */
void sb_gpt_gelu_forward(float *restrict out, const float *restrict inp,
			 size_t N);
/* dinp [N] += GELU'(inp) * dout; no overlap */
void sb_gpt_gelu_backward(float *restrict dinp, const float *restrict inp,
			  const float *restrict dout, size_t N);

/* out [N] = inp1 + inp2 */
void sb_gpt_residual_forward(float *restrict out,
			     const float *restrict inp1,
			     const float *restrict inp2, size_t N);
/* dinp1 [N], dinp2 [N] += dout */
void sb_gpt_residual_backward(float *restrict dinp1, float *restrict dinp2,
			      const float *restrict dout, size_t N);

/* What one row of the cross-entropy adds to an sb_eval: the forward's
 * scratch, so that the rows' shares are added in row order whatever the
 * thread that computed them. */
struct sb_gpt_xent_row {
	double loss;
	bool counted, correct;
};

/* probs [N,V] = softmax(logits [N,V]) (may alias logits). For each row with
 * targets[n] >= 0 adds to ev: -log probs[n,target] to loss_sum, 1 to count,
 * and 1 to correct when the argmax (ties to the lowest id) is the target.
 * rows [N] is scratch. */
void sb_gpt_crossentropy_forward(struct sb_eval *ev,
				 struct sb_gpt_xent_row *rows, float *probs,
				 const float *logits, const int32_t *targets,
				 size_t N, size_t V);
/* dlogits [N,V] += scale * (probs - onehot(target)) on rows with a
 * non-negative target */
void sb_gpt_crossentropy_backward(float *dlogits, const float *probs,
				  const int32_t *targets, float scale,
				  size_t N, size_t V);

/* ---- fused kernels: one pass where the layer-by-layer kernels take two;
 * the same operations in the same order, so the same bits ---- */

/* dinp [N,C] = dout [N,OC] . weight [OC,C], written: the input gradient
 * of sb_gpt_matmul_backward into a buffer nothing else adds into */
void sb_gpt_matmul_backward_input(float *dinp, const float *dout,
				  const float *weight, size_t N, size_t C,
				  size_t OC);

/* pre [N,OC] += bias [OC] on every row; out [N,OC] = GELU(pre): the bias
 * of a linear layer computed without one (sb_gpt_matmul_forward with bias
 * NULL) and its activation, as the two kernels give them */
void sb_gpt_bias_gelu_forward(float *restrict out, float *restrict pre,
			      const float *restrict bias, size_t N, size_t OC);
/* dinp [N,OC] = GELU'(inp) * dout, written; dbias [OC] (or NULL) += the
 * column sums of dinp, rows in order (the order grad_at.c's bias gradient
 * adds them in): the GELU's backward and the bias gradient of the layer
 * before it */
void sb_gpt_gelu_backward_bias(float *restrict dinp, float *restrict dbias,
			       const float *restrict inp,
			       const float *restrict dout, size_t N,
			       size_t OC);

/* res [N,C] = resid + (res + bias), where res holds a projection computed
 * without its bias (bias may be NULL: none); then ln, mean, rstd =
 * layernorm(res) as sb_gpt_layernorm_forward gives them: a projection's
 * bias, the residual connection and the next layer norm in one pass */
void sb_gpt_residual_layernorm_forward(float *restrict res,
				       float *restrict ln,
				       float *restrict mean,
				       float *restrict rstd,
				       const float *restrict resid,
				       const float *restrict bias,
				       const float *restrict weight,
				       const float *restrict ln_bias,
				       size_t N, size_t C);

/* dbias [OC] += the column sums of dout [N,OC], rows in order (the order
 * grad_at.c's bias gradient adds them in), columns split over the threads:
 * a linear layer's bias gradient when wanted whole */
void sb_gpt_bias_backward(float *restrict dbias, const float *restrict dout,
			  size_t N, size_t OC);

/* dlogits [N,V] = scale * (probs - onehot(target)), written; rows with a
 * negative target become zero */
void sb_gpt_crossentropy_backward_write(float *dlogits, const float *probs,
					const int32_t *targets, float scale,
					size_t N, size_t V);

#endif
