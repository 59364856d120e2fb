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

struct remainder {
	double frac;
	size_t pos; /* position in the scope */
};

/* Larger remainder first; equal remainders: lower tensor first. */
static int by_remainder(const void *pa, const void *pb)
{
	const struct remainder *a = pa, *b = pb;
	if (a->frac != b->frac)
		return a->frac > b->frac ? -1 : 1;
	return (a->pos > b->pos) - (a->pos < b->pos);
}

void sb_select_apportion(const struct sb_select_ctx *ctx, size_t *k_t)
{
	const struct sb_layout *layout = ctx->layout;
	size_t n = ctx->n_scope, sum = 0;
	sb_assert(ctx->k <= ctx->n_eligible, "k exceeds the eligible count");
	if (n == 0)
		return;
	struct remainder *order = sb_malloc(n * sizeof *order);
	for (size_t s = 0; s < n; s++) {
		size_t size = layout->tensors[ctx->scope[s]].size;
		double quota = ctx->density * (double)size;
		double whole = floor(quota);
		k_t[s] = whole < (double)size ? (size_t)whole : size;
		order[s] = (struct remainder){quota - whole, s};
		sum += k_t[s];
	}
	qsort(order, n, sizeof *order, by_remainder);

	/* Normally one partial pass hands out the deficit; the loops also
	 * absorb a k that rounding put further from the sum of floors. */
	while (sum < ctx->k) {
		for (size_t o = 0; o < n && sum < ctx->k; o++) {
			size_t s = order[o].pos;
			if (k_t[s] < layout->tensors[ctx->scope[s]].size) {
				k_t[s]++;
				sum++;
			}
		}
	}
	while (sum > ctx->k) {
		for (size_t o = n; o-- > 0 && sum > ctx->k;) {
			size_t s = order[o].pos;
			if (k_t[s] > 0) {
				k_t[s]--;
				sum--;
			}
		}
	}
	free(order);
}

/* The budget of a scoped selection: exactly ctx->k in all, and with
 * per_tensor exactly k_t in each scope tensor; count[s] holds what sel has
 * in scope tensor s. */
static int check_budget(const char *name, const struct sb_select_ctx *ctx,
			const struct sb_selection *sel, const size_t *count,
			struct sb_error *err)
{
	if (sel->k != ctx->k)
		return sb_error(err, "policy '%s' at step %ld: %zu indices, "
				"the budget is %zu", name, ctx->step, sel->k,
				ctx->k);
	if (!ctx->per_tensor)
		return 0;
	size_t *k_t = sb_malloc(ctx->n_scope * sizeof *k_t);
	sb_select_apportion(ctx, k_t);
	for (size_t s = 0; s < ctx->n_scope; s++) {
		if (count[s] == k_t[s])
			continue;
		const struct sb_tensor *t = &ctx->layout->tensors[ctx->scope[s]];
		sb_error(err, "policy '%s' at step %ld: %zu indices in tensor "
			 "'%s', its per-tensor budget is %zu", name, ctx->step,
			 count[s], t->name, k_t[s]);
		free(k_t);
		return -1;
	}
	free(k_t);
	return 0;
}

int sb_selection_check(const struct sb_policy *policy,
		       const struct sb_select_ctx *ctx,
		       const struct sb_selection *sel, struct sb_error *err)
{
	const char *name = policy->name;
	const struct sb_tensor *tensors = ctx->layout->tensors;
	size_t n = ctx->layout->n_params;
	if (sel->k == 0)
		return sb_error(err, "policy '%s' at step %ld: selected nothing",
				name, ctx->step);
	if (sel->k > n)
		return sb_error(err, "policy '%s' at step %ld: %zu indices for "
				"%zu components", name, ctx->step, sel->k, n);
	size_t *count = policy->scoped
		? sb_calloc(ctx->n_scope ? ctx->n_scope : 1, sizeof *count)
		: NULL;
	/* s is the first scope tensor not below idx[j]: both ascending */
	size_t s = 0;
	for (size_t j = 0; j < sel->k; j++) {
		sb_index i = sel->idx[j];
		const char *defect = NULL;
		if (i >= n)
			defect = "is out of range";
		else if (j > 0 && i == sel->idx[j - 1])
			defect = "repeats the previous one";
		else if (j > 0 && i < sel->idx[j - 1])
			defect = "is below the previous one (not ascending)";
		if (!defect && count) {
			while (s < ctx->n_scope &&
			       i >= tensors[ctx->scope[s]].offset +
					    tensors[ctx->scope[s]].size)
				s++;
			if (s == ctx->n_scope ||
			    i < tensors[ctx->scope[s]].offset)
				defect = "is outside the scope";
			else
				count[s]++;
		}
		if (defect) {
			free(count);
			return sb_error(err, "policy '%s' at step %ld: index "
					"%lu at position %zu %s", name,
					ctx->step, (unsigned long)i, j,
					defect);
		}
	}
	int rc = count ? check_budget(name, ctx, sel, count, err) : 0;
	free(count);
	return rc;
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
