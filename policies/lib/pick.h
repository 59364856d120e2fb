/* pick.h - what the scoped selection policies share: the NaN check of the
 * gradient they read, the apportionment of k over the scope's tensors
 * (largest remainder), and top-k over the scope as global indices. */
#ifndef SB_PICK_H
#define SB_PICK_H

#include "sb.h"

/* Fails, naming the component and its tensor, on the first NaN among the
 * scope's components of grad (a full-layout gradient of n_params). */
int sb_pick_check_nan(const struct sb_select_ctx *ctx, const float *grad,
		      struct sb_error *err);

/* k_t for each of the scope's tensors: floor(density * size_t) plus one
 * for the largest remainders (ties: lower tensor index) until the k_t sum
 * to exactly ctx->k; never more than size_t. */
void sb_pick_apportion(const struct sb_select_ctx *ctx, size_t *k_t);

/* Copies the scope's components of the full-layout x into buf, tensor after
 * tensor: the "gathered" layout, of ctx->n_eligible values. */
void sb_pick_gather(const struct sb_select_ctx *ctx, const float *x,
		    float *buf);

/* The top ctx->k of |v| over the scope (within each tensor when
 * ctx->per_tensor), written to out as ascending global indices. v is in the
 * full layout, or in the gathered layout when `gathered`. */
void sb_pick_topk(const struct sb_select_ctx *ctx, const float *v,
		  bool gathered, struct sb_selection *out);

#endif
