/* topk_first.c - S is the top k of |g| summed over the first `batches`
 * batches, then fixed: the selection of SIFT (Song et al., "Sparse is
 * Enough in Fine-tuning Pre-trained Large Language Models", 2024). */
#include "sb.h"
#include "util.h"
#include "lib/pick.h"

#include <stdlib.h>

struct topk_first {
	long batches; /* warm-up length */
	long seen;    /* batches accumulated so far */
	float *acc;   /* sum of |g| in the gathered layout; freed after warm-up */
};

static const struct sb_param topk_first_params[] = {
	{.name = "batches", .type = SB_INT, .def = "1", SB_RANGE(1, 1e9),
	 .help = "batches whose |g| are summed before S is fixed"},
	{0},
};

static int topk_first_init(void *priv, const struct sb_values *cfg,
			   const struct sb_layout *layout,
			   struct sb_error *err)
{
	struct topk_first *p = priv;
	(void)layout;
	p->batches = sb_values_int(cfg, "batches");
	if (p->batches < 1)
		return sb_error(err, "topk_first: 'batches' must be at least 1, "
				"not %ld", p->batches);
	return 0;
}

static int topk_first_select(void *priv, const struct sb_select_ctx *ctx,
			     struct sb_selection *out, struct sb_error *err)
{
	struct topk_first *p = priv;
	if (p->seen >= p->batches)
		return SB_SELECT_SAME;
	if (sb_pick_check_nan(ctx, ctx->grad, err))
		return -1;
	if (!p->acc)
		p->acc = sb_calloc(ctx->n_eligible, sizeof *p->acc);
	sb_pick_accumulate(ctx, ctx->grad, false, p->acc);
	sb_pick_topk(ctx, p->acc, true, out);
	if (++p->seen < p->batches)
		return SB_SELECT_NEW;
	free(p->acc);
	p->acc = NULL;
	return SB_SELECT_FIXED; /* the warm-up is over */
}

static void topk_first_release(void *priv)
{
	struct topk_first *p = priv;
	free(p->acc);
	p->acc = NULL;
}

const struct sb_policy sb_policy_topk_first = {
	.name = "topk_first",
	.summary = "top density of |g| summed over the first batches, then fixed (SIFT)",
	.params = topk_first_params,
	.priv_size = sizeof(struct topk_first),
	.scoped = true,
	.grad_need = SB_GRAD_WARMUP,
	.init = topk_first_init,
	.select = topk_first_select,
	.release = topk_first_release,
};
