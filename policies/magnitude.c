/* magnitude.c - S is the k components of largest (or smallest) |weight| of
 * the model as the run starts (the pre-trained values), fixed: magnitude
 * selection, the criterion of magnitude pruning (Han et al., "Learning both
 * Weights and Connections for Efficient Neural Networks", NeurIPS 2015)
 * used to choose what to fine-tune. */
#include "sb.h"
#include "util.h"
#include "lib/pick.h"

#include <stdlib.h>
#include <string.h>

struct magnitude {
	bool smallest; /* which: smallest */
	bool selected; /* S has been chosen */
};

static const struct sb_param magnitude_params[] = {
	{.name = "which", .type = SB_CHOICE, .def = "largest",
	 .choices = "largest|smallest",
	 .help = "select the largest or the smallest |weight|"},
	{0},
};

static int magnitude_init(void *priv, const struct sb_values *cfg,
			  const struct sb_layout *layout, struct sb_error *err)
{
	struct magnitude *p = priv;
	(void)layout;
	(void)err;
	p->smallest = !strcmp(sb_values_str(cfg, "which"), "smallest");
	return 0;
}

/* Reverses the order of |x| over non-NaN floats: the bit patterns of
 * non-negative floats order like their values, from 0 to 0x7f800000
 * (infinity), so 0x7f800000 minus a pattern is again such a pattern, in
 * the opposite order. Top-k of the result is the bottom k of |x|, ties
 * still to the lower index. */
static void reverse_order(float *x, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint32_t bits;
		memcpy(&bits, &x[i], sizeof bits);
		bits = 0x7f800000u - (bits & 0x7fffffffu);
		memcpy(&x[i], &bits, sizeof bits);
	}
}

static int magnitude_select(void *priv, const struct sb_select_ctx *ctx,
			    struct sb_selection *out, struct sb_error *err)
{
	struct magnitude *p = priv;
	if (p->selected)
		return SB_SELECT_SAME;
	if (sb_pick_check_nan_of(ctx, ctx->params, "parameter", err))
		return -1;
	if (!p->smallest) {
		sb_pick_topk(ctx, ctx->params, false, out);
	} else {
		float *key = sb_malloc((ctx->n_eligible ? ctx->n_eligible : 1) *
				       sizeof *key);
		sb_pick_gather(ctx, ctx->params, key);
		reverse_order(key, ctx->n_eligible);
		sb_pick_topk(ctx, key, true, out);
		free(key);
	}
	p->selected = true;
	return SB_SELECT_FIXED;
}

const struct sb_policy sb_policy_magnitude = {
	.name = "magnitude",
	.summary = "density of the largest (or smallest) |weight| at the start, fixed",
	.params = magnitude_params,
	.priv_size = sizeof(struct magnitude),
	.scoped = true,
	.grad_need = SB_GRAD_NEVER,
	.init = magnitude_init,
	.select = magnitude_select,
};
