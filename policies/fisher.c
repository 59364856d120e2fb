/* fisher.c - S is the top k of the empirical Fisher information over the
 * first `batches` batches, then fixed: the FISH mask of Sung, Nair and
 * Raffel, "Training Neural Networks with Fixed Sparse Masks" (NeurIPS 2021),
 * with per-batch gradients in place of per-example ones. */
#include "sb.h"
#include "util.h"
#include "lib/pick.h"

#include <stdlib.h>

struct fisher {
	long batches; /* warm-up length */
	long seen;    /* batches accumulated so far */
	float *acc;   /* F = sum of g^2 in the gathered layout; freed after
	                 warm-up */
};

static const struct sb_param fisher_params[] = {
	{.name = "batches", .type = SB_INT, .def = "8", SB_RANGE(1, 1e9),
	 .help = "batches whose squared gradients are summed before S is fixed"},
	{0},
};

static int fisher_init(void *priv, const struct sb_values *cfg,
		       const struct sb_layout *layout, struct sb_error *err)
{
	struct fisher *p = priv;
	(void)layout;
	p->batches = sb_values_int(cfg, "batches");
	if (p->batches < 1)
		return sb_error(err, "fisher: 'batches' must be at least 1, "
				"not %ld", p->batches);
	return 0;
}

/* Warm-up step t trains on the top k of F_t = g_0^2 + ... + g_t^2, the
 * Fisher estimate so far, so that the model is never trained on an
 * arbitrary set; the last warm-up step fixes S. */
static int fisher_select(void *priv, const struct sb_select_ctx *ctx,
			 struct sb_selection *out, struct sb_error *err)
{
	struct fisher *p = priv;
	if (p->seen >= p->batches)
		return SB_SELECT_SAME;
	if (sb_pick_check_nan(ctx, ctx->grad, err))
		return -1;
	if (!p->acc)
		p->acc = sb_calloc(ctx->n_eligible, sizeof *p->acc);
	sb_pick_accumulate(ctx, ctx->grad, true, p->acc);
	sb_pick_topk(ctx, p->acc, true, out);
	if (++p->seen < p->batches)
		return SB_SELECT_NEW;
	free(p->acc);
	p->acc = NULL;
	return SB_SELECT_FIXED;
}

static void fisher_release(void *priv)
{
	struct fisher *p = priv;
	free(p->acc);
	p->acc = NULL;
}

const struct sb_policy sb_policy_fisher = {
	.name = "fisher",
	.summary = "top density of the empirical Fisher (sum of g^2) over the first batches, then fixed (FISH mask)",
	.params = fisher_params,
	.priv_size = sizeof(struct fisher),
	.scoped = true,
	.grad_need = SB_GRAD_WARMUP,
	.init = fisher_init,
	.select = fisher_select,
	.release = fisher_release,
};
