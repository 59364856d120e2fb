/* sparse_park.c - parked optimizer state of the components that left the
 * selection (sparse_park.h): taken back and added to by linear merges of
 * sorted index lists, in place. */
#include "sparse_park.h"
#include "util.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

static void reserve(struct sb_sparse_park *park, size_t cap)
{
	if (cap <= park->cap)
		return;
	if (cap < 2 * park->cap)
		cap = 2 * park->cap;
	park->idx = sb_realloc(park->idx, cap * sizeof *park->idx);
	park->left_at = sb_realloc(park->left_at, cap * sizeof *park->left_at);
	for (size_t c = 0; c < park->n_cols; c++)
		park->col[c] = sb_realloc(park->col[c], cap * 4);
	park->cap = cap;
}

static void move_entry(struct sb_sparse_park *park, size_t to, size_t from)
{
	park->idx[to] = park->idx[from];
	park->left_at[to] = park->left_at[from];
	for (size_t c = 0; c < park->n_cols; c++)
		memcpy((char *)park->col[c] + 4 * to,
		       (char *)park->col[c] + 4 * from, 4);
}

size_t sb_sparse_park_take(struct sb_sparse_park *park, const sb_index *idx,
			   void *const *cols, size_t k, uint32_t steps,
			   sb_sparse_resume_fn *resume, void *ctx)
{
	size_t kept = 0, n_back = 0, j = 0;

	/* kept <= r: an entry that stays parked moves left over a slot already
	 * read; idx[j] is the first active index >= the entry's */
	for (size_t r = 0; r < park->k; r++) {
		sb_index i = park->idx[r];
		while (j < k && idx[j] < i)
			j++;
		if (j < k && idx[j] == i) {
			for (size_t c = 0; c < park->n_cols; c++)
				memcpy((char *)cols[c] + 4 * j,
				       (char *)park->col[c] + 4 * r, 4);
			if (resume)
				resume(ctx, j, steps - park->left_at[r]);
			n_back++;
			continue;
		}
		if (kept != r)
			move_entry(park, kept, r);
		kept++;
	}
	park->k = kept;
	return n_back;
}

/* Whether the sorted `idx[r]` is in `want`, advancing *j (from the right:
 * want[*j - 1] is the last selected index not above the ones seen). */
static bool selected_from_right(const sb_index *want, size_t *j, sb_index i)
{
	while (*j > 0 && want[*j - 1] > i)
		(*j)--;
	return *j > 0 && want[*j - 1] == i;
}

size_t sb_sparse_park_put(struct sb_sparse_park *park, const sb_index *idx,
			  void *const *cols, size_t k,
			  const struct sb_selection *sel, uint32_t steps)
{
	const sb_index *want = sel->idx;
	size_t n_leave = 0, j = sel->k;

	for (size_t r = k; r-- > 0;)
		n_leave += !selected_from_right(want, &j, idx[r]);
	if (!n_leave)
		return 0;
	reserve(park, park->k + n_leave);

	/* From the right, a merge of the leavers into the parked entries (both
	 * ascending, disjoint): d - p = leavers still to place, so the parked
	 * entries below p are in place once none is left. */
	size_t p = park->k, d = p + n_leave, left = n_leave;
	j = sel->k;
	for (size_t r = k; left > 0;) {
		r--;
		if (selected_from_right(want, &j, idx[r]))
			continue;
		while (p > 0 && park->idx[p - 1] > idx[r])
			move_entry(park, --d, --p);
		d--;
		park->idx[d] = idx[r];
		park->left_at[d] = steps;
		for (size_t c = 0; c < park->n_cols; c++)
			memcpy((char *)park->col[c] + 4 * d,
			       (const char *)cols[c] + 4 * r, 4);
		left--;
	}
	assert(d == p);
	park->k += n_leave;
	return n_leave;
}

size_t sb_sparse_park_bytes(const struct sb_sparse_park *park)
{
	return park->k * (sizeof *park->idx + sizeof *park->left_at +
			  4 * park->n_cols);
}

void sb_sparse_park_release(struct sb_sparse_park *park)
{
	free(park->idx);
	free(park->left_at);
	for (size_t c = 0; c < park->n_cols; c++)
		free(park->col[c]);
	size_t n_cols = park->n_cols;
	memset(park, 0, sizeof *park);
	park->n_cols = n_cols;
}
