/* topk_batch.c - S is the top k of |g| of the current batch over the
 * scope's tensors, re-chosen every step (per tensor: k apportioned by
 * largest remainder); the per-step oracle of DESIGN.md's `retained`. */
#include "sb.h"
#include "lib/pick.h"

static const struct sb_param topk_batch_params[] = {
	{0},
};

static int topk_batch_select(void *priv, const struct sb_select_ctx *ctx,
			     struct sb_selection *out, struct sb_error *err)
{
	(void)priv;
	if (sb_pick_check_nan(ctx, ctx->grad, err))
		return -1;
	sb_pick_topk(ctx, ctx->grad, false, out);
	return SB_SELECT_NEW;
}

const struct sb_policy sb_policy_topk_batch = {
	.name = "topk_batch",
	.summary = "top density of |g| of the current batch, re-chosen every step",
	.params = topk_batch_params,
	.priv_size = 0,
	.scoped = true,
	.grad_need = SB_GRAD_ALWAYS,
	.select = topk_batch_select,
};
