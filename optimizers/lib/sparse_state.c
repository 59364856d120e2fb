/* sparse_state.c - per-entry optimizer state for the selected components only,
 * merged with each new sorted selection in two linear in-place passes, the
 * entries that leave dropped or parked by on_change (see sparse_state.h and
 * docs/optimizers.md). */
#include "sparse_state.h"
#include "util.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(sizeof(float) == 4 && sizeof(uint32_t) == 4,
	       "state columns hold 4-byte entries");

void sb_sparse_state_init(struct sb_sparse_state *st, size_t n_cols,
			  enum sb_on_change on_change,
			  sb_sparse_resume_fn *resume, void *resume_ctx)
{
	assert(n_cols <= SB_SPARSE_MAX_COLS);
	memset(st, 0, sizeof *st);
	st->n_cols = n_cols;
	st->on_change = on_change;
	st->park.n_cols = n_cols;
	st->resume = resume;
	st->resume_ctx = resume_ctx;
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

/* keep and decay: the active entries not in sel are parked, the entries are
 * aligned to sel (those entering at zero), and the parked ones in sel get
 * their columns back and leave the park. Every index is active or parked,
 * never both. */
static void follow_parked(struct sb_sparse_state *st,
			  const struct sb_selection *sel, size_t steps)
{
	assert(steps <= UINT32_MAX);
	sb_sparse_park_put(&st->park, st->idx, st->col, st->k, sel,
			   (uint32_t)steps);
	sb_sparse_state_align(st, sel);
	sb_sparse_park_take(&st->park, st->idx, st->col, st->k,
			    (uint32_t)steps, st->resume, st->resume_ctx);
}

size_t sb_sparse_state_follow(struct sb_sparse_state *st,
			      const struct sb_selection *sel, bool changed,
			      size_t steps)
{
	size_t lost = 0;
	if (changed || !steps) {
		if (st->on_change != SB_ON_CHANGE_RESET) {
			follow_parked(st, sel, steps);
		} else {
			/* the entries that left: k_old - (k_new - entered) */
			size_t k_old = st->k;
			size_t entered = sb_sparse_state_align(st, sel);
			lost = k_old + entered - sel->k;
		}
	}
	/* an unchanged selection is the one the entries were aligned to */
	assert(st->k == sel->k);
	return lost;
}

size_t sb_sparse_state_bytes(const struct sb_sparse_state *st)
{
	return st->k * (sizeof *st->idx + 4 * st->n_cols) +
	       sb_sparse_park_bytes(&st->park);
}

void sb_sparse_state_release(struct sb_sparse_state *st)
{
	free(st->idx);
	for (size_t c = 0; c < st->n_cols; c++)
		free(st->col[c]);
	sb_sparse_park_release(&st->park);
	memset(st, 0, sizeof *st);
}
