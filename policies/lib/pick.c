/* pick.c - helpers of the scoped selection policies (see pick.h): the NaN
 * check, accumulation of |g| or g^2 over the scope, and top-k over the
 * scope's tensors via harness/run/topk.c. */
#include "pick.h"
#include "run/selection.h"
#include "run/topk.h"
#include "util.h"

#include <math.h>
#include <stdlib.h>

int sb_pick_check_nan(const struct sb_select_ctx *ctx, const float *grad,
		      struct sb_error *err)
{
	return sb_pick_check_nan_of(ctx, grad, "gradient", err);
}

int sb_pick_check_nan_of(const struct sb_select_ctx *ctx, const float *x,
			 const char *what, struct sb_error *err)
{
	const struct sb_layout *layout = ctx->layout;
	for (size_t s = 0; s < ctx->n_scope; s++) {
		const struct sb_tensor *t = &layout->tensors[ctx->scope[s]];
		const float *g = x + t->offset;
		/* A branch-free count vectorises; the rare hit is then located. */
		size_t n_nan = 0;
		for (size_t i = 0; i < t->size; i++)
			n_nan += g[i] != g[i];
		if (!n_nan)
			continue;
		for (size_t i = 0; i < t->size; i++)
			if (g[i] != g[i])
				return sb_error(err, "%s is NaN at component "
						"%zu (tensor '%s')", what,
						t->offset + i, t->name);
	}
	return 0;
}

void sb_pick_accumulate(const struct sb_select_ctx *ctx, const float *grad,
			bool squared, float *acc)
{
	size_t pos = 0;
	for (size_t s = 0; s < ctx->n_scope; s++) {
		const struct sb_tensor *t = &ctx->layout->tensors[ctx->scope[s]];
		const float *g = grad + t->offset;
		float *a = acc + pos;
		if (squared)
			for (size_t i = 0; i < t->size; i++)
				a[i] += g[i] * g[i];
		else
			for (size_t i = 0; i < t->size; i++)
				a[i] += fabsf(g[i]);
		pos += t->size;
	}
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
		sb_select_apportion(ctx, k_t);
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

void sb_pick_random(const struct sb_select_ctx *ctx, struct sb_rng *rng,
		    struct sb_selection *out)
{
	const struct sb_tensor *tensors = ctx->layout->tensors;
	sb_selection_reserve(out, ctx->k);
	size_t w = 0;
	if (ctx->per_tensor) {
		size_t *k_t = sb_malloc((ctx->n_scope ? ctx->n_scope : 1) *
					sizeof *k_t);
		sb_select_apportion(ctx, k_t);
		for (size_t s = 0; s < ctx->n_scope; s++) {
			const struct sb_tensor *t = &tensors[ctx->scope[s]];
			size_t left = t->size, need = k_t[s];
			w += sample(rng, t->offset, t->size, &left, &need,
				    out->idx + w);
		}
		free(k_t);
	} else {
		/* One draw over the scope's components, tensor after tensor. */
		size_t left = ctx->n_eligible, need = ctx->k;
		for (size_t s = 0; s < ctx->n_scope && need > 0; s++) {
			const struct sb_tensor *t = &tensors[ctx->scope[s]];
			w += sample(rng, t->offset, t->size, &left, &need,
				    out->idx + w);
		}
	}
	out->k = w;
}
