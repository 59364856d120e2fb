/* random.c - S is k components drawn uniformly without replacement from the
 * scope, chosen once from the run's seed and then fixed; the draw is
 * selection sampling (Knuth, TAOCP vol. 2, 3.4.2, Algorithm S). */
#include "sb.h"
#include "util.h"
#include "lib/pick.h"

/* The stream label of this policy's generator: "random" in ASCII. */
#define RANDOM_STREAM 0x72616e646f6dULL

struct random {
	bool selected; /* S has been drawn */
};

static const struct sb_param random_params[] = {
	{0},
};

static int random_select(void *priv, const struct sb_select_ctx *ctx,
			 struct sb_selection *out, struct sb_error *err)
{
	struct random *p = priv;
	(void)err;
	if (p->selected)
		return SB_SELECT_SAME;

	struct sb_rng rng;
	sb_rng_seed(&rng, sb_seed_mix(ctx->seed, RANDOM_STREAM));
	sb_pick_random(ctx, &rng, out);
	p->selected = true;
	return SB_SELECT_FIXED;
}

const struct sb_policy sb_policy_random = {
	.name = "random",
	.summary = "density of the components uniformly at random (seeded), fixed",
	.params = random_params,
	.priv_size = sizeof(struct random),
	.scoped = true,
	.grad_need = SB_GRAD_NEVER,
	.select = random_select,
};
