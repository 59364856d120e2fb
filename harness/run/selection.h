/* selection.h - the run path's bookkeeping of the selected set S (struct
 * sb_selection, sb.h): the context a policy selects in, built one way for
 * the run loop and the policy tests alike, and the components selected at
 * least once (DESIGN.md "Metrics", ever_selected). */
#ifndef SB_SELECTION_H
#define SB_SELECTION_H

#include "sb.h"
#include "run/scope.h"

/* The context of a run's selections over `layout`. With a scope (a scoped
 * policy): its tensors, the policy's density and granularity, and
 * k = round(density * n_eligible), which may be 0 (the caller decides what
 * that means). Without (scope NULL): every component, density 1,
 * k = n_params. grad and step are left for the caller to set at each step. */
void sb_select_ctx_init(struct sb_select_ctx *ctx,
			const struct sb_layout *layout,
			const struct sb_scope *scope,
			const struct sb_values *policy_cfg, uint64_t seed);

/* The per-tensor budgets of a scoped context: k_t[s] for each scope tensor
 * s, floor(density * size) plus one for the largest remainders (ties:
 * lower tensor index) until they sum to exactly ctx->k; never more than
 * the tensor's size (docs/policies.md, "Per-tensor apportionment"). */
void sb_select_apportion(const struct sb_select_ctx *ctx, size_t *k_t);

/* Whether what a policy's select returned keeps the contract: non-empty,
 * ascending, duplicate-free, in range, and for a scoped policy inside the
 * scope with exactly ctx->k indices (and k_t per tensor with per_tensor).
 * Fails naming the policy, the step and the first defect (the first
 * offending position for the order, range and scope). O(k + n_scope). */
int sb_selection_check(const struct sb_policy *policy,
		       const struct sb_select_ctx *ctx,
		       const struct sb_selection *sel, struct sb_error *err);

/* The components selected at least once so far: a bitmap over n. */
struct sb_ever {
	uint64_t *bits;
	size_t n, count; /* count: bits set */
};

void sb_ever_init(struct sb_ever *ever, size_t n);
void sb_ever_add(struct sb_ever *ever, const struct sb_selection *sel);
void sb_ever_release(struct sb_ever *ever);

#endif
