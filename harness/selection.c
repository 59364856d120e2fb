/* selection.c - storage for a selected set S (sorted, duplicate-free). */
#include "sb.h"
#include "util.h"

#include <stdlib.h>

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
