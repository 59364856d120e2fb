/* dense.c - the full fine-tuning baseline: S is every component of every
 * tensor; it takes no scope options (DESIGN.md, "The science it
 * measures"). */
#include "sb.h"

struct dense {
	bool selected; /* S has been written once */
};

static const struct sb_param dense_params[] = {
	{0},
};

static int dense_select(void *priv, const struct sb_select_ctx *ctx,
			struct sb_selection *out, struct sb_error *err)
{
	struct dense *d = priv;
	(void)err;
	if (d->selected)
		return SB_SELECT_SAME;
	size_t n = ctx->layout->n_params;
	sb_selection_reserve(out, n);
	for (size_t i = 0; i < n; i++)
		out->idx[i] = (sb_index)i;
	out->k = n;
	d->selected = true;
	return SB_SELECT_FIXED;
}

const struct sb_policy sb_policy_dense = {
	.name = "dense",
	.summary = "every component: the full fine-tuning baseline",
	.params = dense_params,
	.priv_size = sizeof(struct dense),
	.scoped = false,
	.grad_need = SB_GRAD_NEVER,
	.select = dense_select,
};
