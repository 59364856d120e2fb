/* sparse_state.h - optimizer state kept only for the selected components
 * (sparse Adam's moments, sparse SGD's momentum): sorted indices with parallel
 * 4-byte columns, re-aligned to a new selection in O(k_old + k_new). */
#ifndef SB_SPARSE_STATE_H
#define SB_SPARSE_STATE_H

#include "sb.h"

#define SB_SPARSE_MAX_COLS 4

/* Entry j holds the state of component idx[j] in every column; idx is sorted
 * and duplicate-free, so after sb_sparse_state_align it equals sel->idx. */
struct sb_sparse_state {
	sb_index *idx;
	void *col[SB_SPARSE_MAX_COLS]; /* k 4-byte entries each: float or uint32_t */
	size_t n_cols;
	size_t k, cap;
};

void sb_sparse_state_init(struct sb_sparse_state *st, size_t n_cols);
/* Re-aligns the entries with `sel`: entries whose index stays keep their
 * columns, entries that leave are dropped, entries that enter start with all
 * bits zero (0.0f, 0). Works in place; returns how many entries entered. */
size_t sb_sparse_state_align(struct sb_sparse_state *st,
			     const struct sb_selection *sel);
/* Brings the entries to this step's selection, as both sparse optimizers
 * do before they update: re-aligned when the selection changed or before
 * the first step (`steps` taken so far is 0). Returns the history lost: the
 * entries that entered, except before the first step, which had none. */
size_t sb_sparse_state_follow(struct sb_sparse_state *st,
			      const struct sb_selection *sel, bool changed,
			      size_t steps);
/* k * (4 + 4 * n_cols): the index and every column, for the current entries. */
size_t sb_sparse_state_bytes(const struct sb_sparse_state *st);
void sb_sparse_state_release(struct sb_sparse_state *st);

#endif
