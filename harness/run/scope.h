/* scope.h - which tensors a scoped policy may choose from (include/exclude
 * name patterns, fnmatch), and which components are outside that scope and
 * always trained (outside: train). Computed once per run by the core. */
#ifndef SB_SCOPE_H
#define SB_SCOPE_H

#include "sb.h"

struct sb_scope {
	size_t *tensors;   /* eligible tensor indices, ascending */
	size_t n_tensors;
	size_t n_eligible; /* components in them */
	size_t *outside;   /* tensors outside the scope, ascending */
	size_t n_outside;
	size_t n_outside_components;
	bool train_outside;
};

/* From a policy's values (sb_scope_params); an include pattern that matches
 * no tensor is an error naming the pattern. */
int sb_scope_init(struct sb_scope *scope, const struct sb_layout *layout,
		  const struct sb_values *policy_cfg, struct sb_error *err);
/* With train_outside, merges every outside component into sel (kept
 * sorted and duplicate-free); otherwise leaves sel alone. */
void sb_scope_complete(const struct sb_scope *scope,
		       const struct sb_layout *layout, struct sb_selection *sel);
void sb_scope_release(struct sb_scope *scope);

#endif
