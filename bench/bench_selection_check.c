/* bench_selection_check.c - time of the run loop's check of a policy's set
 * (sb_selection_check, harness/run/selection.c) at the size of a GPT-2
 * small (124M components, 148 tensors) with S at 1% (1.24M indices), global
 * and per tensor, against a copy of S (memcpy, the least an O(k) pass
 * costs). Prints measured figures; asserts nothing. */
#include "run/selection.h"
#include "util.h"
#include "../policies/lib/pick.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TENSORS 160

static struct sb_tensor tensors[MAX_TENSORS];
static char names[MAX_TENSORS][32];

static void add(size_t *n, size_t *offset, const char *name, int layer,
		size_t size)
{
	snprintf(names[*n], sizeof names[*n], "%s", name);
	tensors[*n] = (struct sb_tensor){.name = names[*n], .offset = *offset,
					 .size = size, .ndim = 1,
					 .shape = {size}, .layer = layer};
	*offset += size;
	(*n)++;
}

/* GPT-2 small: vocabulary 50257, context 1024, width 768, 12 blocks. */
static struct sb_layout gpt2_small(void)
{
	size_t n = 0, off = 0, c = 768;
	char name[32];
	add(&n, &off, "wte", SB_LAYER_NONE, 50257 * c);
	add(&n, &off, "wpe", SB_LAYER_NONE, 1024 * c);
	for (int l = 0; l < 12; l++) {
		static const char *const part[] = {
			"ln_1.w", "ln_1.b", "attn.w", "attn.b", "proj.w",
			"proj.b", "ln_2.w", "ln_2.b", "fc.w", "fc.b",
			"mlp_proj.w", "mlp_proj.b",
		};
		const size_t size[] = {c, c, c * 3 * c, 3 * c, c * c, c, c, c,
				       c * 4 * c, 4 * c, 4 * c * c, c};
		for (size_t p = 0; p < 12; p++) {
			snprintf(name, sizeof name, "h.%d.%s", l, part[p]);
			add(&n, &off, name, l, size[p]);
		}
	}
	add(&n, &off, "ln_f.w", SB_LAYER_NONE, c);
	add(&n, &off, "ln_f.b", SB_LAYER_NONE, c);
	return (struct sb_layout){.n_params = off, .n_tensors = n,
				  .tensors = tensors, .n_layers = 12};
}

static const struct sb_policy scoped = {.name = "bench", .scoped = true};

int main(void)
{
	struct sb_layout layout = gpt2_small();
	size_t *scope = sb_malloc(layout.n_tensors * sizeof *scope);
	for (size_t t = 0; t < layout.n_tensors; t++)
		scope[t] = t;
	printf("%zu components in %zu tensors, S at 1%%\n", layout.n_params,
	       layout.n_tensors);
	printf("%12s %10s %12s %12s %7s\n", "granularity", "k", "check (s)",
	       "memcpy (s)", "ratio");
	for (int per_tensor = 0; per_tensor < 2; per_tensor++) {
		struct sb_select_ctx ctx = {
			.layout = &layout, .scope = scope,
			.n_scope = layout.n_tensors,
			.n_eligible = layout.n_params, .density = 0.01,
			.k = (size_t)(0.01 * (double)layout.n_params + 0.5),
			.per_tensor = per_tensor,
		};
		struct sb_selection sel = {0};
		struct sb_rng rng;
		sb_rng_seed(&rng, 1);
		sb_pick_random(&ctx, &rng, &sel);
		sb_index *copy = sb_malloc(sel.k * sizeof *copy);
		struct sb_error err = {{0}};
		double best_check = 1e30, best_copy = 1e30;
		/* best of five: the first also pays for page faults */
		for (int rep = 0; rep < 5; rep++) {
			double t0 = sb_now();
			int rc = sb_selection_check(&scoped, &ctx, &sel, &err);
			double t1 = sb_now();
			memcpy(copy, sel.idx, sel.k * sizeof *copy);
			double t2 = sb_now();
			if (rc) {
				fprintf(stderr, "%s\n", err.msg);
				return 1;
			}
			if (t1 - t0 < best_check)
				best_check = t1 - t0;
			if (t2 - t1 < best_copy)
				best_copy = t2 - t1;
		}
		printf("%12s %10zu %12.5f %12.5f %7.1f\n",
		       per_tensor ? "per_tensor" : "global", sel.k, best_check,
		       best_copy, best_check / best_copy);
		free(copy);
		sb_selection_release(&sel);
	}
	free(scope);
	return 0;
}
