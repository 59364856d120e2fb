/* sparse_state.h - optimizer state kept only for the selected components
 * (sparse Adam's moments, sparse SGD's momentum): sorted indices with parallel
 * 4-byte columns, re-aligned to a new selection in O(k_old + k_new); with
 * on_change keep or decay, the entries that leave are parked for their
 * return (sparse_park.h). */
#ifndef SB_SPARSE_STATE_H
#define SB_SPARSE_STATE_H

#include "sb.h"
#include "on_change.h"
#include "sparse_park.h"

/* Entry j holds the state of component idx[j] in every column; idx is sorted
 * and duplicate-free, so after sb_sparse_state_align it equals sel->idx. */
struct sb_sparse_state {
	sb_index *idx;
	void *col[SB_SPARSE_MAX_COLS]; /* k 4-byte entries each: float or uint32_t */
	size_t n_cols;
	size_t k, cap;
	enum sb_on_change on_change;
	struct sb_sparse_park park; /* keep, decay: the entries that left */
	sb_sparse_resume_fn *resume; /* decay: applied to each that returns */
	void *resume_ctx;
};

/* `resume` (with its ctx) is called for each parked entry that returns, its
 * columns as they were parked (decay is the optimizer's to apply); NULL to
 * resume them as they were. */
void sb_sparse_state_init(struct sb_sparse_state *st, size_t n_cols,
			  enum sb_on_change on_change,
			  sb_sparse_resume_fn *resume, void *resume_ctx);
/* Re-aligns the entries with `sel`: entries whose index stays keep their
 * columns, entries that leave are dropped, entries that enter start with all
 * bits zero (0.0f, 0). Works in place; returns how many entries entered. */
size_t sb_sparse_state_align(struct sb_sparse_state *st,
			     const struct sb_selection *sel);
/* Brings the entries to this step's selection, as both sparse optimizers
 * do before they update: re-aligned when the selection changed or before
 * the first step (`steps`, the updates taken so far, is 0). With reset, the
 * entries that leave are dropped; with keep and decay they are parked
 * (left after `steps` updates), and parked entries that re-enter come back
 * with their columns (then st->resume is called); a component never
 * selected before starts at zero. Returns the history lost: the entries
 * whose state existed and was discarded, i.e. those that left with reset,
 * 0 with keep and decay. */
size_t sb_sparse_state_follow(struct sb_sparse_state *st,
			      const struct sb_selection *sel, bool changed,
			      size_t steps);
/* What the state holds: k * (4 + 4 * n_cols) for the active entries, plus
 * the parked ones (sb_sparse_park_bytes). */
size_t sb_sparse_state_bytes(const struct sb_sparse_state *st);
void sb_sparse_state_release(struct sb_sparse_state *st);

#endif
