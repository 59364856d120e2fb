/* claims_history.c - claim 7 of `report --claims`: what the optimizer
 * history of a moving selection is worth. Each policy and optimizer run
 * under several of sparse_adam's on_change modes (docs/optimizers.md) is
 * compared at its best setting per mode, by the rule of docs/figures.md,
 * "Claims"; experiments/history_ablation.yaml is the experiment. */
#include "analysis/claims_priv.h"
#include "util.h"

#include <math.h>
#include <string.h>

/* Whether method m is the first method (not a reference) of its policy and
 * optimizer: claim 7 compares a pair once, over all its methods. */
static bool first_of_pair(const struct sb_claims_ctx *c, size_t m)
{
	const struct sb_agg_method *me = &c->agg.methods[m];
	for (size_t o = 0; o < m; o++)
		if (!sb_claims_is_reference(c, o) &&
		    !strcmp(c->agg.methods[o].policy, me->policy) &&
		    !strcmp(c->agg.methods[o].optimizer, me->optimizer))
			return false;
	return !sb_claims_is_reference(c, m);
}

/* The setting under mode k best on validation among every method (not a
 * reference) of the policy and optimizer of method m: a mode may be swept
 * within one method or given to methods of its own. NONE if none. */
static size_t best_of_pair(const struct sb_claims_ctx *c, size_t m, int k)
{
	const struct sb_agg_method *me = &c->agg.methods[m];
	size_t best = NONE;

	for (size_t o = m; o < c->agg.n_methods; o++) {
		if (sb_claims_is_reference(c, o) ||
		    strcmp(c->agg.methods[o].policy, me->policy) ||
		    strcmp(c->agg.methods[o].optimizer, me->optimizer))
			continue;
		size_t s = sb_claims_best_in_mode(c, o, k);
		if (s == NONE)
			continue;
		double v = c->agg.settings[s].val_mean;
		double b = best == NONE ? NAN : c->agg.settings[best].val_mean;
		if (best == NONE || (isfinite(v) && (!isfinite(b) ||
		    (c->agg.loss_metric ? v < b : v > b))))
			best = s;
	}
	return best;
}

/* One mode's line: its metric, the history it lost and the state it held;
 * against reset (k > 0), the margin and whether it exceeds the noise.
 * Returns whether it does, with the margin in *d. */
static bool put_mode(struct sb_claims_ctx *c, const size_t *s, int k,
		     int split, double *d)
{
	char bytes[32];
	double pooled = 0;

	sb_format_bytes(sb_claims_mean_of(c, s[k], "optimizer_state_bytes",
					  NULL), bytes, sizeof bytes);
	fprintf(c->out, "\n     %-6s ", sb_claims_modes[k]);
	sb_claims_put_method(c, s[k], split);
	fprintf(c->out, "; history lost %.0f entries per step; optimizer "
		"state %s",
		sb_claims_mean_of(c, s[k], "history_lost_total", NULL) /
		sb_claims_mean_of(c, s[k], "steps_done", NULL), bytes);
	*d = k ? sb_claims_margin(c, s[k], s[0], split, &pooled) : 0;
	bool changes = k && fabs(*d) > pooled;
	if (k)
		fprintf(c->out, "; against reset: %s by %.3f %s (pooled std "
			"%.3f): %s", *d >= 0 ? "better" : "worse", fabs(*d),
			sb_claims_unit(c), pooled,
			changes ? "changes" : "within the noise");
	return changes;
}

/* The policy's best mode against topk_first with the same optimizer: does
 * the fixed set lose more than the history buys back? */
static void put_against_first(struct sb_claims_ctx *c, size_t m, size_t best,
			      int split)
{
	const struct sb_agg_method *me = &c->agg.methods[m];
	size_t f = sb_claims_chosen(c, sb_claims_find_method(c, "topk_first",
							     me->optimizer));
	double pooled;

	if (f == NONE || !strcmp(me->policy, "topk_first") ||
	    sb_claims_split_of(c, (size_t[]){f, best}, 2) != split)
		return;
	double d = sb_claims_margin(c, best, f, split, &pooled);
	fprintf(c->out, "\n     against S fixed, ");
	sb_claims_put_method(c, f, split);
	fprintf(c->out, ": the best mode (%s) is %s by %.3f %s (pooled std "
		"%.3f)", sb_claims_modes[sb_claims_mode_of(c, best)],
		d >= 0 ? "better" : "worse", fabs(d), sb_claims_unit(c),
		pooled);
}

void sb_claims_history(struct sb_claims_ctx *c)
{
	size_t compared = 0, changed = 0;
	char why[512] = "";

	sb_claims_head(c, 7, "Keeping the optimizer history of the components "
		       "that leave and re-enter S (on_change keep or decay) "
		       "changes the result.");
	for (size_t m = 0; m < c->agg.n_methods; m++) {
		size_t s[SB_CLAIMS_N_MODES], present[SB_CLAIMS_N_MODES], n = 0;
		const struct sb_agg_method *me = &c->agg.methods[m];
		if (!first_of_pair(c, m))
			continue;
		for (int k = 0; k < SB_CLAIMS_N_MODES; k++)
			if ((s[k] = best_of_pair(c, m, k)) != NONE)
				present[n++] = s[k];
		int split = n >= 2 && s[0] != NONE
				    ? sb_claims_split_of(c, present, n)
				    : -1;
		if (split < 0)
			continue;
		if (compared)
			fputc('\n', c->out);
		sb_claims_put_split(c, split);
		fprintf(c->out, "%s with %s, the best setting per mode",
			me->policy, me->optimizer);
		bool changes = false;
		double d, big = 0;
		int big_k = 0;
		size_t best = s[0];
		for (int k = 0; k < SB_CLAIMS_N_MODES; k++) {
			if (s[k] == NONE)
				continue;
			changes |= put_mode(c, s, k, split, &d);
			if (k && fabs(d) >= fabs(big)) {
				big = d;
				big_k = k;
			}
			double pooled;
			if (k && sb_claims_margin(c, s[k], best, split,
						  &pooled) > 0)
				best = s[k];
		}
		put_against_first(c, m, best, split);
		size_t len = strlen(why);
		if (big_k)
			snprintf(why + len, sizeof why - len, "%s%s+%s: %s %s "
				 "by %.3f %s", compared ? "; " : "", me->policy,
				 me->optimizer, sb_claims_modes[big_k],
				 big >= 0 ? "better" : "worse", fabs(big),
				 sb_claims_unit(c));
		compared++;
		changed += changes;
	}
	if (!compared) {
		fprintf(c->out, "   cannot be judged from this file: no policy "
			"was run under on_change reset and keep or decay "
			"(experiments/history_ablation.yaml runs topk_batch "
			"and topk_refresh under all three)\n");
		c->counts[UNMEASURED]++;
		return;
	}
	sb_claims_rule(c, "each policy and optimizer run under several "
		"on_change modes, at its best setting per mode on validation; "
		"a mode changes the result if its metric differs from reset's "
		"by more than the pooled std (any margin with one seed). "
		"SUPPORTED if keep or decay changes it for every pair "
		"compared, MIXED if for some, REFUTED if for none");
	if (changed == compared)
		sb_claims_verdict(c, SUPPORTED, "history changes the result "
				  "(%s)", why);
	else if (changed)
		sb_claims_verdict(c, MIXED, "history changes the result of "
				  "%zu of %zu pairs (%s)", changed, compared,
				  why);
	else
		sb_claims_verdict(c, REFUTED, "history is worth little here: "
				  "no mode differs from reset by more than the "
				  "noise (%s)", why);
}
