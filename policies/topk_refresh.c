/* topk_refresh.c - S is the top k of |g| of the current batch, re-chosen
 * every `every` steps and kept in between: the family between topk_batch
 * (every: 1) and topk_first with one batch (every >= the run's length). */
#include "sb.h"
#include "lib/pick.h"

struct topk_refresh {
	long every; /* steps between two choices of S */
};

static const struct sb_param topk_refresh_params[] = {
	{.name = "every", .type = SB_INT, .def = "10", SB_RANGE(1, 1e9),
	 .help = "steps between two choices of S (1: every step)"},
	{0},
};

static int topk_refresh_init(void *priv, const struct sb_values *cfg,
			     const struct sb_layout *layout,
			     struct sb_error *err)
{
	struct topk_refresh *p = priv;
	(void)layout;
	p->every = sb_values_int(cfg, "every");
	if (p->every < 1)
		return sb_error(err, "topk_refresh: 'every' must be at least 1, "
				"not %ld", p->every);
	return 0;
}

/* The full gradient is read on the refresh steps only. */
static bool topk_refresh_needs_grad(const void *priv, long step)
{
	const struct topk_refresh *p = priv;
	return step % p->every == 0;
}

static int topk_refresh_select(void *priv, const struct sb_select_ctx *ctx,
			       struct sb_selection *out, struct sb_error *err)
{
	struct topk_refresh *p = priv;
	if (!topk_refresh_needs_grad(p, ctx->step))
		return SB_SELECT_SAME;
	if (sb_pick_check_nan(ctx, ctx->grad, err))
		return -1;
	sb_pick_topk(ctx, ctx->grad, false, out);
	/* no refresh before the end of the run: S is final */
	if (ctx->steps > 0 && ctx->step + p->every >= ctx->steps)
		return SB_SELECT_FIXED;
	return SB_SELECT_NEW;
}

const struct sb_policy sb_policy_topk_refresh = {
	.name = "topk_refresh",
	.summary = "top density of |g| of the current batch, re-chosen every N steps",
	.params = topk_refresh_params,
	.priv_size = sizeof(struct topk_refresh),
	.scoped = true,
	.grad_need = SB_GRAD_SOME,
	.needs_grad = topk_refresh_needs_grad,
	.init = topk_refresh_init,
	.select = topk_refresh_select,
};
