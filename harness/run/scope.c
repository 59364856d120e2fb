/* scope.c - the tensors a scoped policy chooses from: include and exclude
 * patterns matched by fnmatch(3) against tensor names, and the merge of the
 * components outside the scope into S when `outside: train`. */
#include "run/scope.h"
#include "util.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

static bool matches_any(const char *name, const struct sb_value *patterns)
{
	for (size_t p = 0; p < patterns->n; p++)
		if (fnmatch(patterns->strs[p], name, 0) == 0)
			return true;
	return false;
}

/* Every pattern of the list must match at least one tensor name. */
static int check_patterns(const struct sb_layout *layout,
			  const struct sb_value *patterns, const char *what,
			  struct sb_error *err)
{
	for (size_t p = 0; p < patterns->n; p++) {
		bool hit = false;
		for (size_t t = 0; t < layout->n_tensors && !hit; t++)
			hit = fnmatch(patterns->strs[p],
				      layout->tensors[t].name, 0) == 0;
		if (!hit)
			return sb_error(err,
					"%s pattern '%s' matches no tensor",
					what, patterns->strs[p]);
	}
	return 0;
}

int sb_scope_init(struct sb_scope *scope, const struct sb_layout *layout,
		  const struct sb_values *policy_cfg, struct sb_error *err)
{
	const struct sb_value *include = sb_values_get(policy_cfg, "include");
	const struct sb_value *exclude = sb_values_get(policy_cfg, "exclude");
	const char *outside = sb_values_str(policy_cfg, "outside");

	memset(scope, 0, sizeof *scope);
	if (!include || !exclude)
		return sb_error(err, "policy has no 'include'/'exclude' scope "
				"parameters");
	if (check_patterns(layout, include, "include", err) ||
	    check_patterns(layout, exclude, "exclude", err))
		return -1;

	size_t n = layout->n_tensors;
	scope->tensors = sb_malloc((n ? n : 1) * sizeof *scope->tensors);
	scope->outside = sb_malloc((n ? n : 1) * sizeof *scope->outside);
	scope->train_outside = !strcmp(outside, "train");
	for (size_t t = 0; t < n; t++) {
		const struct sb_tensor *tensor = &layout->tensors[t];
		bool in = (include->n == 0 || matches_any(tensor->name, include)) &&
			  !matches_any(tensor->name, exclude);
		if (in) {
			scope->tensors[scope->n_tensors++] = t;
			scope->n_eligible += tensor->size;
		} else {
			scope->outside[scope->n_outside++] = t;
			scope->n_outside_components += tensor->size;
		}
	}
	if (scope->n_tensors == 0) {
		sb_scope_release(scope);
		return sb_error(err, "scope is empty: no tensor is both included "
				"and not excluded");
	}
	return 0;
}

void sb_scope_complete(const struct sb_scope *scope,
		       const struct sb_layout *layout, struct sb_selection *sel)
{
	if (!scope->train_outside || scope->n_outside_components == 0)
		return;

	/* Merge from the back in place: both lists are ascending, the result
	 * fills [w, total) and is moved to the front at the end. */
	size_t total = sel->k + scope->n_outside_components;
	sb_selection_reserve(sel, total);
	sb_index *idx = sel->idx;
	size_t a = sel->k;           /* sel entries not yet placed */
	size_t w = total;            /* next free slot is w - 1 */
	size_t t = scope->n_outside; /* outside tensors not yet exhausted */
	size_t left = 0;             /* components of tensor t left */
	sb_index next_b = 0;
	bool have_b = false;

	for (;;) {
		if (!have_b) {
			while (left == 0 && t > 0) {
				t--;
				left = layout->tensors[scope->outside[t]].size;
			}
			if (left > 0) {
				const struct sb_tensor *ten =
					&layout->tensors[scope->outside[t]];
				next_b = (sb_index)(ten->offset + --left);
				have_b = true;
			}
		}
		if (a == 0 && !have_b)
			break;
		sb_index v;
		if (a > 0 && (!have_b || idx[a - 1] >= next_b)) {
			v = idx[--a];
			if (have_b && v == next_b)
				have_b = false; /* a duplicate: take it once */
		} else {
			v = next_b;
			have_b = false;
		}
		idx[--w] = v;
	}
	sel->k = total - w;
	if (w > 0)
		memmove(idx, idx + w, sel->k * sizeof *idx);
}

void sb_scope_release(struct sb_scope *scope)
{
	free(scope->tensors);
	free(scope->outside);
	memset(scope, 0, sizeof *scope);
}
