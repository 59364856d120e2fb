/* grad_plan.h - which part of the gradient a backward pass computes
 * (struct sb_grad_plan, sb.h): built from the layout and S whenever S
 * changes, in O(k + n_tensors). */
#ifndef SB_GRAD_PLAN_H
#define SB_GRAD_PLAN_H

#include "sb.h"

/* A plan and the spans it points to, owned together. */
struct sb_grad_planner {
	struct sb_grad_plan plan;
	struct sb_grad_span *spans; /* [n_tensors] */
	size_t n_tensors;
};

void sb_grad_planner_init(struct sb_grad_planner *p,
			  const struct sb_layout *layout);
/* Points the plan at S (borrowed: it must outlive the plan's use) and finds
 * each tensor's span of it. */
void sb_grad_planner_set(struct sb_grad_planner *p,
			 const struct sb_layout *layout,
			 const struct sb_selection *sel);
void sb_grad_planner_release(struct sb_grad_planner *p);

#endif
