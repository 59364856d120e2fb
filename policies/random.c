/* random.c - S is k components drawn uniformly without replacement from the
 * scope, chosen once from the run's seed and then fixed; the draw is
 * selection sampling (Knuth, TAOCP vol. 2, 3.4.2, Algorithm S). */
#include "sb.h"
#include "util.h"
#include "lib/pick.h"

#include <stdlib.h>

/* The stream label of this policy's generator: "random" in ASCII. */
#define RANDOM_STREAM 0x72616e646f6dULL

struct random {
	bool selected; /* S has been drawn */
};

static const struct sb_param random_params[] = {
	{0},
};

/* Selection sampling over the components [offset, offset + size) given
 * that `*need` of the `*left` components not yet visited are still to be
 * drawn: each is taken with probability need / left, which makes every
 * subset of the final size equally likely. Appends ascending to out. */
static size_t sample(struct sb_rng *rng, size_t offset, size_t size,
		     size_t *left, size_t *need, sb_index *out)
{
	size_t w = 0;
	for (size_t i = 0; i < size && *need > 0; i++, (*left)--)
		if (sb_rng_below(rng, *left) < *need) {
			out[w++] = (sb_index)(offset + i);
			(*need)--;
		}
	return w;
}

static int random_select(void *priv, const struct sb_select_ctx *ctx,
			 struct sb_selection *out, struct sb_error *err)
{
	struct random *p = priv;
	(void)err;
	if (p->selected)
		return SB_SELECT_SAME;

	const struct sb_tensor *tensors = ctx->layout->tensors;
	struct sb_rng rng;
	sb_rng_seed(&rng, sb_seed_mix(ctx->seed, RANDOM_STREAM));
	sb_selection_reserve(out, ctx->k);
	size_t w = 0;
	if (ctx->per_tensor) {
		size_t *k_t = sb_malloc((ctx->n_scope ? ctx->n_scope : 1) *
					sizeof *k_t);
		sb_pick_apportion(ctx, k_t);
		for (size_t s = 0; s < ctx->n_scope; s++) {
			const struct sb_tensor *t = &tensors[ctx->scope[s]];
			size_t left = t->size, need = k_t[s];
			w += sample(&rng, t->offset, t->size, &left, &need,
				    out->idx + w);
		}
		free(k_t);
	} else {
		/* One draw over the scope's components, tensor after tensor. */
		size_t left = ctx->n_eligible, need = ctx->k;
		for (size_t s = 0; s < ctx->n_scope && need > 0; s++) {
			const struct sb_tensor *t = &tensors[ctx->scope[s]];
			w += sample(&rng, t->offset, t->size, &left, &need,
				    out->idx + w);
		}
	}
	out->k = w;
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
