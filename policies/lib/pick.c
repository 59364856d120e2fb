/* pick.c - helpers of the scoped selection policies (see pick.h): the NaN
 * check, largest-remainder apportionment of k over tensors (Hamilton's
 * method), and top-k over the scope's tensors via harness/run/topk.c. */
#include "pick.h"
#include "run/topk.h"
#include "util.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>

int sb_pick_check_nan(const struct sb_select_ctx *ctx, const float *grad,
		      struct sb_error *err)
{
	const struct sb_layout *layout = ctx->layout;
	for (size_t s = 0; s < ctx->n_scope; s++) {
		const struct sb_tensor *t = &layout->tensors[ctx->scope[s]];
		const float *g = grad + t->offset;
		/* A branch-free count vectorises; the rare hit is then located. */
		size_t n_nan = 0;
		for (size_t i = 0; i < t->size; i++)
			n_nan += g[i] != g[i];
		if (!n_nan)
			continue;
		for (size_t i = 0; i < t->size; i++)
			if (g[i] != g[i])
				return sb_error(err, "gradient is NaN at "
						"component %zu (tensor '%s')",
						t->offset + i, t->name);
	}
	return 0;
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

void sb_pick_apportion(const struct sb_select_ctx *ctx, size_t *k_t)
{
	const struct sb_layout *layout = ctx->layout;
	size_t n = ctx->n_scope, sum = 0;
	assert(ctx->k <= ctx->n_eligible);
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

void sb_pick_gather(const struct sb_select_ctx *ctx, const float *x,
		    float *buf)
{
	size_t pos = 0;
	for (size_t s = 0; s < ctx->n_scope; s++) {
		const struct sb_tensor *t = &ctx->layout->tensors[ctx->scope[s]];
		for (size_t i = 0; i < t->size; i++)
			buf[pos + i] = x[t->offset + i];
		pos += t->size;
	}
}

/* True when the scope's tensors follow each other without a gap, so the
 * full layout holds them as one range starting at the first one. */
static bool scope_is_contiguous(const struct sb_select_ctx *ctx)
{
	const struct sb_tensor *tensors = ctx->layout->tensors;
	for (size_t s = 1; s < ctx->n_scope; s++) {
		const struct sb_tensor *prev = &tensors[ctx->scope[s - 1]];
		if (tensors[ctx->scope[s]].offset != prev->offset + prev->size)
			return false;
	}
	return true;
}

/* Rewrites ascending positions in the gathered layout as global indices;
 * the map is increasing, so they stay ascending. */
static void positions_to_global(const struct sb_select_ctx *ctx,
				sb_index *idx, size_t k)
{
	size_t s = 0, start = 0; /* scope tensor s holds [start, start+size) */
	for (size_t j = 0; j < k; j++) {
		const struct sb_tensor *t = &ctx->layout->tensors[ctx->scope[s]];
		while (idx[j] >= start + t->size) {
			start += t->size;
			t = &ctx->layout->tensors[ctx->scope[++s]];
		}
		idx[j] = (sb_index)(t->offset + (idx[j] - start));
	}
}

void sb_pick_topk(const struct sb_select_ctx *ctx, const float *v,
		  bool gathered, struct sb_selection *out)
{
	const struct sb_tensor *tensors = ctx->layout->tensors;
	sb_selection_reserve(out, ctx->k);
	out->k = ctx->k;
	if (ctx->k == 0 || ctx->n_scope == 0)
		return;

	if (ctx->per_tensor) {
		size_t *k_t = sb_malloc(ctx->n_scope * sizeof *k_t);
		sb_pick_apportion(ctx, k_t);
		size_t w = 0, pos = 0;
		for (size_t s = 0; s < ctx->n_scope; s++) {
			const struct sb_tensor *t = &tensors[ctx->scope[s]];
			const float *src = v + (gathered ? pos : t->offset);
			sb_topk_abs(src, t->size, k_t[s], (sb_index)t->offset,
				    out->idx + w);
			w += k_t[s];
			pos += t->size;
		}
		free(k_t);
		return;
	}

	if (!gathered && scope_is_contiguous(ctx)) {
		size_t first = tensors[ctx->scope[0]].offset;
		sb_topk_abs(v + first, ctx->n_eligible, ctx->k,
			    (sb_index)first, out->idx);
		return;
	}
	float *buf = NULL;
	if (!gathered) {
		buf = sb_malloc(ctx->n_eligible * sizeof *buf);
		sb_pick_gather(ctx, v, buf);
		v = buf;
	}
	sb_topk_abs(v, ctx->n_eligible, ctx->k, 0, out->idx);
	positions_to_global(ctx, out->idx, ctx->k);
	free(buf);
}
