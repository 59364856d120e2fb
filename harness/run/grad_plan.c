/* grad_plan.c - each tensor's span of S for a backward pass that computes
 * S's gradient alone (grad_plan.h). */
#include "run/grad_plan.h"
#include "util.h"

#include <stdlib.h>

const char *sb_grad_need_name(enum sb_grad_need need)
{
	switch (need) {
	case SB_GRAD_NEVER: return "never";
	case SB_GRAD_WARMUP: return "until S is fixed";
	case SB_GRAD_ALWAYS: return "every step";
	case SB_GRAD_SOME: return "on the steps it asks for";
	}
	return "unknown";
}

void sb_grad_planner_init(struct sb_grad_planner *p,
			  const struct sb_layout *layout)
{
	p->n_tensors = layout->n_tensors;
	p->spans = sb_calloc(p->n_tensors ? p->n_tensors : 1, sizeof *p->spans);
	p->plan = (struct sb_grad_plan){.tensors = p->spans};
}

void sb_grad_planner_set(struct sb_grad_planner *p,
			 const struct sb_layout *layout,
			 const struct sb_selection *sel)
{
	sb_assert(layout->n_tensors == p->n_tensors,
		  "the plan was made for another layout");
	/* j is the first entry of S not below tensor t: the tensors are
	 * sorted by offset and cover the buffer, and S is ascending */
	size_t j = 0;
	for (size_t t = 0; t < layout->n_tensors; t++) {
		const struct sb_tensor *ten = &layout->tensors[t];
		size_t end = ten->offset + ten->size, first = j;
		while (j < sel->k && sel->idx[j] < end)
			j++;
		size_t count = j - first;
		p->spans[t] = (struct sb_grad_span){
			.want = count == 0 ? SB_WANT_NONE
				: count == ten->size ? SB_WANT_ALL
						     : SB_WANT_SOME,
			.first = first,
			.count = count,
		};
	}
	sb_assert(j == sel->k, "S reaches past the last tensor");
	p->plan.idx = sel->idx;
	p->plan.k = sel->k;
}

void sb_grad_planner_release(struct sb_grad_planner *p)
{
	free(p->spans);
	p->spans = NULL;
	p->n_tensors = 0;
}
