/* selection.c - the selected set S (sorted, duplicate-free) and what the run
 * path keeps of it: its storage, the context a policy selects in, and the
 * components ever selected (selection.h). */
#include "run/selection.h"
#include "util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void sb_selection_reserve(struct sb_selection *sel, size_t cap)
{
	if (cap <= sel->cap)
		return;
	sel->idx = sb_realloc(sel->idx, cap * sizeof *sel->idx);
	sel->cap = cap;
}

void sb_selection_release(struct sb_selection *sel)
{
	free(sel->idx);
	sel->idx = NULL;
	sel->k = sel->cap = 0;
}

void sb_select_ctx_init(struct sb_select_ctx *ctx,
			const struct sb_layout *layout,
			const struct sb_scope *scope,
			const struct sb_values *policy_cfg, uint64_t seed)
{
	*ctx = (struct sb_select_ctx){
		.layout = layout,
		.seed = seed,
		.density = 1.0,
		.k = layout->n_params,
		.n_eligible = layout->n_params,
	};
	if (!scope)
		return;
	ctx->scope = scope->tensors;
	ctx->n_scope = scope->n_tensors;
	ctx->n_eligible = scope->n_eligible;
	ctx->density = sb_values_float(policy_cfg, "density");
	ctx->k = (size_t)llround(ctx->density * (double)ctx->n_eligible);
	ctx->per_tensor = !strcmp(sb_values_str(policy_cfg, "granularity"),
				  "per_tensor");
}

void sb_ever_init(struct sb_ever *ever, size_t n)
{
	ever->bits = sb_calloc((n + 63) / 64, sizeof *ever->bits);
	ever->n = n;
	ever->count = 0;
}

/* count stays the number of set bits: a bit is counted when it is set. */
void sb_ever_add(struct sb_ever *ever, const struct sb_selection *sel)
{
	for (size_t j = 0; j < sel->k; j++) {
		sb_index i = sel->idx[j];
		uint64_t bit = 1ULL << (i % 64);
		if (!(ever->bits[i / 64] & bit)) {
			ever->bits[i / 64] |= bit;
			ever->count++;
		}
	}
}

void sb_ever_release(struct sb_ever *ever)
{
	free(ever->bits);
	ever->bits = NULL;
	ever->n = ever->count = 0;
}
