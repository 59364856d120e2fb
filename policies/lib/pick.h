/* pick.h - what the scoped selection policies share: the NaN check of the
 * gradient they read, accumulating it over steps, the per-tensor budgets
 * (the core's apportionment), and top-k over the scope as global
 * indices. */
#ifndef SB_PICK_H
#define SB_PICK_H

#include "sb.h"
#include "run/selection.h"
#include "util.h"

/* Fails, naming the component and its tensor, on the first NaN among the
 * scope's components of grad (a full-layout gradient of n_params). */
int sb_pick_check_nan(const struct sb_select_ctx *ctx, const float *grad,
		      struct sb_error *err);

/* Likewise for any full-layout vector x, naming it `what` ("gradient",
 * "parameter") in the message. */
int sb_pick_check_nan_of(const struct sb_select_ctx *ctx, const float *x,
			 const char *what, struct sb_error *err);

/* Per-tensor budgets (granularity: per_tensor) come from the core:
 * sb_select_apportion(ctx, k_t) in run/selection.h, included here, gives
 * each scope tensor's k_t; they sum to ctx->k. */

/* Adds |grad| (or grad^2 when `squared`) of the scope's components to acc,
 * which is in the gathered layout (ctx->n_eligible values). */
void sb_pick_accumulate(const struct sb_select_ctx *ctx, const float *grad,
			bool squared, float *acc);

/* Copies the scope's components of the full-layout x into buf, tensor after
 * tensor: the "gathered" layout, of ctx->n_eligible values. */
void sb_pick_gather(const struct sb_select_ctx *ctx, const float *x,
		    float *buf);

/* The top ctx->k of |v| over the scope (within each tensor when
 * ctx->per_tensor), written to out as ascending global indices. v is in the
 * full layout, or in the gathered layout when `gathered`. */
void sb_pick_topk(const struct sb_select_ctx *ctx, const float *v,
		  bool gathered, struct sb_selection *out);

/* ctx->k components of the scope uniformly at random without replacement
 * (per tensor: k_t within each), every subset of that size equally likely:
 * selection sampling (Knuth, TAOCP vol. 2, 3.4.2, Algorithm S). Written
 * to out ascending. */
void sb_pick_random(const struct sb_select_ctx *ctx, struct sb_rng *rng,
		    struct sb_selection *out);

#endif
