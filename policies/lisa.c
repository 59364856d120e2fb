/* lisa.c - S is every tensor outside the blocks (embeddings, final norm,
 * head) plus `n_layers` blocks drawn uniformly at random, re-drawn every
 * `every` steps: Layerwise Importance Sampled AdamW (Pan et al., "LISA:
 * Layerwise Importance Sampling for Memory-Efficient Large Language Model
 * Fine-Tuning", NeurIPS 2024). Whole tensors: not scoped, no density. */
#include "sb.h"
#include "util.h"

#include <stdlib.h>

/* The stream label of this policy's generator: "lisa" in ASCII. */
#define LISA_STREAM 0x6c697361ULL

struct lisa {
	long n_layers, every; /* blocks trained at once; steps per draw */
	bool *active;         /* per block of the model: in S now */
	int n_blocks;
	struct sb_rng rng;    /* seeded at the first draw */
	bool seeded;
};

static const struct sb_param lisa_params[] = {
	{.name = "n_layers", .type = SB_INT, .def = "1", SB_RANGE(1, 1e6),
	 .help = "blocks trained at once, besides the tensors outside blocks"},
	{.name = "every", .type = SB_INT, .def = "20", SB_RANGE(1, 1e9),
	 .help = "steps between two draws of the blocks"},
	{0},
};

static int lisa_init(void *priv, const struct sb_values *cfg,
		     const struct sb_layout *layout, struct sb_error *err)
{
	struct lisa *p = priv;
	p->n_layers = sb_values_int(cfg, "n_layers");
	p->every = sb_values_int(cfg, "every");
	p->n_blocks = layout->n_layers;
	if (p->n_layers < 1 || p->n_layers > p->n_blocks)
		return sb_error(err, "lisa: n_layers %ld is out of range (the "
				"model has %d blocks)", p->n_layers,
				p->n_blocks);
	if (p->every < 1)
		return sb_error(err, "lisa: 'every' must be at least 1, not %ld",
				p->every);
	p->active = sb_calloc((size_t)p->n_blocks, sizeof *p->active);
	return 0;
}

/* n_layers of the blocks, each subset equally likely (selection sampling,
 * as the `random` policy draws components). */
static void draw_blocks(struct lisa *p)
{
	long need = p->n_layers, left = p->n_blocks;
	for (int b = 0; b < p->n_blocks; b++, left--) {
		p->active[b] = need > 0 &&
			       sb_rng_below(&p->rng, (uint64_t)left) <
				       (uint64_t)need;
		need -= p->active[b];
	}
}

static int lisa_select(void *priv, const struct sb_select_ctx *ctx,
		       struct sb_selection *out, struct sb_error *err)
{
	struct lisa *p = priv;
	const struct sb_layout *layout = ctx->layout;
	(void)err;
	if (ctx->step % p->every != 0)
		return SB_SELECT_SAME;
	if (!p->seeded) {
		sb_rng_seed(&p->rng, sb_seed_mix(ctx->seed, LISA_STREAM));
		p->seeded = true;
	}
	draw_blocks(p);
	size_t n = 0;
	for (size_t t = 0; t < layout->n_tensors; t++) {
		int layer = layout->tensors[t].layer;
		if (layer == SB_LAYER_NONE || p->active[layer])
			n += layout->tensors[t].size;
	}
	sb_selection_reserve(out, n);
	out->k = 0;
	/* the tensors are sorted by offset: S comes out ascending */
	for (size_t t = 0; t < layout->n_tensors; t++) {
		const struct sb_tensor *ten = &layout->tensors[t];
		if (ten->layer != SB_LAYER_NONE && !p->active[ten->layer])
			continue;
		for (size_t i = 0; i < ten->size; i++)
			out->idx[out->k++] = (sb_index)(ten->offset + i);
	}
	/* every block at once, or no draw left in the run: S is final */
	if (p->n_layers == p->n_blocks ||
	    (ctx->steps > 0 && ctx->step + p->every >= ctx->steps))
		return SB_SELECT_FIXED;
	return SB_SELECT_NEW;
}

static void lisa_release(void *priv)
{
	struct lisa *p = priv;
	free(p->active);
	p->active = NULL;
}

const struct sb_policy sb_policy_lisa = {
	.name = "lisa",
	.summary = "tensors outside blocks plus n_layers random blocks, re-drawn every N steps (LISA)",
	.params = lisa_params,
	.priv_size = sizeof(struct lisa),
	.scoped = false,
	.grad_need = SB_GRAD_NEVER,
	.init = lisa_init,
	.select = lisa_select,
	.release = lisa_release,
};
