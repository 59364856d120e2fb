/* sparse_state.c - per-entry optimizer state for the selected components only,
 * merged with each new sorted selection in two linear in-place passes
 * (see sparse_state.h and docs/optimizers.md). */
#include "sparse_state.h"
#include "util.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(sizeof(float) == 4 && sizeof(uint32_t) == 4,
	       "state columns hold 4-byte entries");

void sb_sparse_state_init(struct sb_sparse_state *st, size_t n_cols)
{
	assert(n_cols <= SB_SPARSE_MAX_COLS);
	memset(st, 0, sizeof *st);
	st->n_cols = n_cols;
}

static void reserve(struct sb_sparse_state *st, size_t cap)
{
	if (cap <= st->cap)
		return;
	st->idx = sb_realloc(st->idx, cap * sizeof *st->idx);
	for (size_t c = 0; c < st->n_cols; c++)
		st->col[c] = sb_realloc(st->col[c], cap * 4);
	st->cap = cap;
}

/* Both passes are written without data-dependent branches: on a selection
 * that churns, whether an index stays is a coin flip the branch predictor
 * cannot learn, and mispredictions would cost more than the copies. */
size_t sb_sparse_state_align(struct sb_sparse_state *st,
			     const struct sb_selection *sel)
{
	const sb_index *want = sel->idx;
	size_t k_new = sel->k, n_cols = st->n_cols;

	/* Pass 1, left to right, a merge of the old and new indices: entry r
	 * is copied to slot `kept` every time and counted only if it stays.
	 * kept <= r, so the slot written is r itself or one already read. */
	size_t kept = 0, r = 0, j = 0, k_old = st->k;
	sb_index *idx = st->idx;
	char *cols[SB_SPARSE_MAX_COLS]; /* locals: the stores cannot alias them */
	for (size_t c = 0; c < n_cols; c++)
		cols[c] = st->col[c];
	while (r < k_old && j < k_new) {
		sb_index a = idx[r], b = want[j];
		idx[kept] = a;
		for (size_t c = 0; c < n_cols; c++)
			memcpy(cols[c] + 4 * kept, cols[c] + 4 * r, 4);
		kept += a == b;
		r += a <= b;
		j += b <= a;
	}

	reserve(st, k_new);
	idx = st->idx;
	for (size_t c = 0; c < n_cols; c++)
		cols[c] = st->col[c];

	/* Pass 2, right to left: the kept entries are a sorted subset of want,
	 * so the last unplaced one belongs exactly where want equals it; it
	 * only moves right, over slots already placed or free. A new entry
	 * takes zeros; `src` is clamped so that it is always readable. */
	r = kept;
	for (size_t d = k_new; d-- > 0;) {
		size_t src = r > 0 ? r - 1 : 0;
		bool stays = r > 0 && idx[src] == want[d];
		uint32_t mask = stays ? UINT32_MAX : 0;
		for (size_t c = 0; c < n_cols; c++) {
			uint32_t word;
			memcpy(&word, cols[c] + 4 * src, 4);
			word &= mask;
			memcpy(cols[c] + 4 * d, &word, 4);
		}
		idx[d] = want[d];
		r -= stays;
	}
	assert(r == 0);
	st->k = k_new;
	return k_new - kept;
}

size_t sb_sparse_state_follow(struct sb_sparse_state *st,
			      const struct sb_selection *sel, bool changed,
			      size_t steps)
{
	size_t lost = 0;
	if (changed || !steps) {
		size_t entered = sb_sparse_state_align(st, sel);
		if (steps)
			lost = entered;
	}
	/* an unchanged selection is the one the entries were aligned to */
	assert(st->k == sel->k);
	return lost;
}

size_t sb_sparse_state_bytes(const struct sb_sparse_state *st)
{
	return st->k * (sizeof *st->idx + 4 * st->n_cols);
}

void sb_sparse_state_release(struct sb_sparse_state *st)
{
	free(st->idx);
	for (size_t c = 0; c < st->n_cols; c++)
		free(st->col[c]);
	memset(st, 0, sizeof *st);
}
