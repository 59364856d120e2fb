/* adamw_pass.c - dense AdamW in one pass (adamw_pass.h). The loops are
 * written to vectorise as harness/lanes.h describes: blocks of LANES with
 * a constant trip count, no branch in the body, restrict pointers; IEEE
 * division and square root give the same bits in any lane width. */
#include "adamw_pass.h"
#include "lanes.h"
#include "parallel.h"

/* floats a block: its g, m, v stay in L2 until S's moves in it */
enum { CHUNK = 4096 };

/* m, v of [0, n) only: the components outside S */
VECTOR_CLONES
static void moments(const struct adamw_hyper *hp, float *restrict m,
		    float *restrict v, const float *restrict g, size_t n)
{
	/* a local copy: stores cannot alias it, the constants stay in
	 * registers */
	const struct adamw_hyper hyper = *hp, *h = &hyper;
	size_t nb = n - n % LANES;
	for (size_t b = 0; b < nb; b += LANES)
		for (size_t i = b; i < b + LANES; i++) {
			m[i] = adamw_m(h, m[i], g[i]);
			v[i] = adamw_v(h, v[i], g[i]);
		}
	for (size_t i = nb; i < n; i++) {
		m[i] = adamw_m(h, m[i], g[i]);
		v[i] = adamw_v(h, v[i], g[i]);
	}
}

/* m, v and p at i: adamw.h's operations on the hyperparameters' values, so
 * that the vectoriser sees scalars, not loads through a pointer */
#define MOVE_ONE(i)                                                            \
	do {                                                                   \
		m[i] = adamw_m(&h, m[i], g[i]);                                \
		v[i] = adamw_v(&h, v[i], g[i]);                                \
		p[i] = adamw_move(p[i], m[i], v[i], c1, c2, lr, &h);           \
	} while (0)

/* m, v and p of [0, n): every component in S */
VECTOR_CLONES
static void moves(const struct adamw_hyper *hp, float *restrict p,
		  float *restrict m, float *restrict v,
		  const float *restrict g, size_t n, float c1, float c2,
		  float lr)
{
	const struct adamw_hyper h = *hp;
	size_t nb = n - n % LANES;
	for (size_t b = 0; b < nb; b += LANES)
		for (size_t i = b; i < b + LANES; i++)
			MOVE_ONE(i);
	for (size_t i = nb; i < n; i++)
		MOVE_ONE(i);
}

/* The first j with idx[j] >= i (k if none). */
static size_t lower_bound(const sb_index *idx, size_t k, size_t i)
{
	size_t lo = 0, hi = k;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if ((size_t)idx[mid] < i)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Components [first, end), a block of CHUNK at a time: every moment of the
 * block, then the moves of S's components in it, whose m and v are still in
 * the cache. S everything: moments and moves in one loop. */
static void pass_part(void *ctx, size_t part, size_t parts)
{
	const struct adamw_pass *a = ctx;
	const struct adamw_hyper hyper = *a->h, *h = &hyper;
	float *restrict p = a->params, *restrict m = a->m, *restrict v = a->v;
	size_t first, end;
	sb_parallel_range(a->n, part, parts, &first, &end);
	if (a->k == a->n) { /* idx is 0..n-1 */
		moves(h, p + first, m + first, v + first, a->grad + first,
		      end - first, a->c1, a->c2, a->lr);
		return;
	}
	size_t j = lower_bound(a->idx, a->k, first), jp = j;
	for (size_t c = first; c < end; c += CHUNK) {
		size_t c_end = end - c < CHUNK ? end : c + CHUNK;
		/* S's parameters in the next block are scattered cache
		 * lines: asked for now, they arrive while this block's
		 * moments stream */
		size_t n_end = end - c_end < CHUNK ? end : c_end + CHUNK;
		for (; jp < a->k && a->idx[jp] < n_end; jp++)
			__builtin_prefetch(&p[a->idx[jp]], 1);
		moments(h, m + c, v + c, a->grad + c, c_end - c);
		for (; j < a->k && a->idx[j] < c_end; j++) {
			size_t i = a->idx[j];
			p[i] = adamw_move(p[i], m[i], v[i], a->c1, a->c2,
					  a->lr, h);
		}
	}
}

void adamw_pass_run(const struct adamw_pass *a)
{
	sb_parallel_run(pass_part, (void *)a, sb_parallel_parts(a->n));
}
