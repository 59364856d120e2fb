/* sparse_park.h - the state of components that left the selection, kept for
 * their return (on_change keep and decay): sorted indices, the same 4-byte
 * columns as the active entries, and the step each left at. Both operations
 * are linear merges, O(parked + k_old + k_new) per change of S. */
#ifndef SB_SPARSE_PARK_H
#define SB_SPARSE_PARK_H

#include "sb.h"

#define SB_SPARSE_MAX_COLS 4

/* Entry j is component idx[j], which left S after `left_at[j]` updates had
 * been taken; idx is ascending and disjoint from the active entries. */
struct sb_sparse_park {
	sb_index *idx;
	void *col[SB_SPARSE_MAX_COLS]; /* k 4-byte entries each */
	uint32_t *left_at;
	size_t n_cols;
	size_t k, cap;
};

/* Called for each parked entry that re-enters S, once its columns are back
 * at `slot` of the active entries: it missed `gap` >= 1 updates. */
typedef void sb_sparse_resume_fn(void *ctx, size_t slot, uint32_t gap);

/* Gives the parked entries whose index is among the active ones (idx[0..k),
 * ascending, their columns zero) their columns back, calls resume (if not
 * NULL) for each with gap = steps - left_at, and unparks them; the others
 * stay parked, in order. Returns how many came back. */
size_t sb_sparse_park_take(struct sb_sparse_park *park, const sb_index *idx,
			   void *const *cols, size_t k, uint32_t steps,
			   sb_sparse_resume_fn *resume, void *ctx);
/* Parks the active entries (idx[0..k), the columns `cols`) whose index is
 * not in `sel`, marked as left after `steps` updates. Returns how many. */
size_t sb_sparse_park_put(struct sb_sparse_park *park, const sb_index *idx,
			  void *const *cols, size_t k,
			  const struct sb_selection *sel, uint32_t steps);
/* k * (8 + 4 * n_cols): index, columns and left_at of every parked entry. */
size_t sb_sparse_park_bytes(const struct sb_sparse_park *park);
void sb_sparse_park_release(struct sb_sparse_park *park);

#endif
