/* claims_seed.c - claims 1 to 6 of `report --claims`: the seed's claims
 * (DESIGN.md, "The science it measures") and the two facts they rest on,
 * each judged by its rule of docs/figures.md, "Claims", on the settings
 * claims.c chooses. */
#include "analysis/claims_priv.h"
#include "util.h"

#include <math.h>
#include <string.h>

/* ---- 1 to 3: what a moving selection keeps and loses ---- */

static void claim_retained(struct sb_claims_ctx *c)
{
	static const char *const policies[] = {"topk_batch", "topk_first",
					       "random", "fixed_layers"};
	static const char *const preferred[] = {"sparse_adam", "dense_adam"};
	size_t s[4], best = 0;
	double ret[4], share[4];
	const char *opt = NULL;

	sb_claims_head(c, 1, "Re-choosing the top-k every batch keeps the "
		       "most gradient information per step.");
	/* sparse_adam, else dense_adam, else any optimizer topk_batch ran;
	 * retained grows with |S|, so a set over 1.5x topk_batch's is not
	 * compared. */
	for (size_t k = 0; k < 2 + c->agg.n_methods && !opt; k++) {
		const struct sb_agg_method *me =
			k < 2 ? NULL : &c->agg.methods[k - 2];
		const char *o = me ? me->optimizer : preferred[k];
		if (me && strcmp(me->policy, "topk_batch"))
			continue;
		size_t others = 0;
		for (size_t p = 0; p < 4; p++) {
			s[p] = sb_claims_chosen(c, sb_claims_find_method(
					c, policies[p], o));
			ret[p] = s[p] == NONE ? NAN : sb_claims_mean_of(c, s[p],
				 "retained_mean", "retained");
			share[p] = isnan(ret[p]) ? NAN
						 : sb_claims_share_of(c, s[p]);
			others += p && !isnan(ret[p]) &&
				  !(share[p] > 1.5 * share[0]);
		}
		opt = !isnan(ret[0]) && others ? o : NULL;
	}
	if (!opt) {
		sb_claims_unmeasured(c, "retained measured for topk_batch and "
				     "for topk_first, random or fixed_layers "
				     "with the same optimizer and |S|");
		return;
	}
	fprintf(c->out, "   retained energy share of the gradient (mean over "
			"steps), with %s:", opt);
	for (size_t p = 0; p < 4; p++) {
		if (isnan(ret[p]))
			continue;
		bool larger = share[p] > 1.5 * share[0];
		fprintf(c->out, "%s %s %.3f (|S| %.2f%%%s)", p ? "," : "",
			policies[p], ret[p], 100 * share[p],
			larger ? ", larger: not compared" : "");
		if (!larger && ret[p] > ret[best])
			best = p;
	}
	sb_claims_rule(c, "SUPPORTED if topk_batch's share is the highest, "
		       "else REFUTED");
	if (best == 0)
		sb_claims_verdict(c, SUPPORTED, "topk_batch keeps the largest "
				  "share of the gradient energy (%.3f)",
				  ret[0]);
	else
		sb_claims_verdict(c, REFUTED, "%s keeps more than topk_batch "
				  "(%.3f vs %.3f)", policies[best], ret[best],
				  ret[0]);
}

static void claim_churn(struct sb_claims_ctx *c)
{
	size_t s = sb_claims_chosen(c, sb_claims_find_method(c, "topk_batch",
							     "sparse_adam"));

	sb_claims_head(c, 2, "...but the re-chosen set churns, and sparse "
		       "Adam loses the moment history of every index that "
		       "enters.");
	double churn = s == NONE ? NAN
				 : sb_claims_mean_of(c, s, "churn_mean",
						     "churn");
	double lost = s == NONE ? NAN
				: sb_claims_mean_of(c, s, "history_lost_total",
						    NULL);
	if (isnan(churn) || isnan(lost)) {
		sb_claims_unmeasured(c, "topk_batch+sparse_adam runs with "
				     "churn and history_lost measured");
		return;
	}
	double size = sb_claims_mean_of(c, s, "trainable", NULL);
	double ever = sb_claims_mean_of(c, s, "ever_selected", NULL);
	fprintf(c->out, "   topk_batch+sparse_adam: churn %.1f%% of |S| per "
		"step; history lost %.0f state entries in total (%.0f per "
		"step); ever selected %.0f components = %.1fx the mean |S| of "
		"%.0f (%.2f%% of the model)", 100 * churn, lost,
		lost / sb_claims_mean_of(c, s, "steps_done", NULL), ever,
		ever / size, size,
		100 * sb_claims_share_of(c, s) * ever / size);
	sb_claims_rule(c, "SUPPORTED if churn > 0 and history lost > 0, else "
		       "REFUTED");
	if (churn > 0 && lost > 0)
		sb_claims_verdict(c, SUPPORTED, "%.1f%% of the set is new at "
				  "each step and every new index restarts its "
				  "moments from zero", 100 * churn);
	else
		sb_claims_verdict(c, REFUTED, "the set %s and %s history is "
				  "lost",
				  churn > 0 ? "churns" : "does not churn",
				  lost > 0 ? "some" : "no");
}

static void claim_first(struct sb_claims_ctx *c)
{
	size_t s[2] = {
		sb_claims_chosen(c, sb_claims_find_method(c, "topk_first",
							  "sparse_adam")),
		sb_claims_chosen(c, sb_claims_find_method(c, "topk_batch",
							  "sparse_adam")),
	};

	sb_claims_head(c, 3, "Choosing once from the first batch (SIFT) "
		       "loses some gradient information but keeps the "
		       "optimizer history.");
	int split = sb_claims_split_of(c, s, 2);
	double lost = split < 0 ? NAN
				: sb_claims_mean_of(c, s[0],
						    "history_lost_total", NULL);
	if (isnan(lost)) {
		sb_claims_unmeasured(c, "topk_first+sparse_adam and "
				     "topk_batch+sparse_adam runs with "
				     "history_lost and a metric");
		return;
	}
	double rf = sb_claims_mean_of(c, s[0], "retained_mean", "retained");
	double rb = sb_claims_mean_of(c, s[1], "retained_mean", "retained");
	fprintf(c->out, "   retained energy share: topk_first %.3f / "
		"topk_batch %.3f = %.2f; history lost by "
		"topk_first+sparse_adam: %.0f entries\n", rf, rb, rf / rb,
		lost);
	sb_claims_put_split(c, split);
	sb_claims_put_method(c, s[0], split);
	fputs(" vs ", c->out);
	sb_claims_put_method(c, s[1], split);
	sb_claims_rule(c, "SUPPORTED if topk_first loses no history and its "
		"metric is at least as good as topk_batch's within one pooled "
		"std; REFUTED if it loses history or is worse by more (any "
		"margin with one seed)");
	double pooled, d = sb_claims_margin(c, s[0], s[1], split, &pooled);
	if (lost != 0)
		sb_claims_verdict(c, REFUTED, "topk_first+sparse_adam lost "
				  "%.0f history entries", lost);
	else if (d >= -pooled)
		sb_claims_verdict(c, SUPPORTED, "history is intact and "
			"topk_first is %s by %.3f %s (pooled std %.3f)",
			d >= 0 ? "better" : "worse, within the noise,", fabs(d),
			sb_claims_unit(c), pooled);
	else
		sb_claims_verdict(c, REFUTED, "history is intact but "
				  "topk_first is worse by %.3f %s, more than "
				  "the pooled std %.3f", -d, sb_claims_unit(c),
				  pooled);
}

/* ---- 4: close to full fine-tuning, at a fraction of its costs ---- */

/* The sparse method at ~1% (|S| at most 10% of the model) best on
 * validation, among those keeping less optimizer state than full
 * fine-tuning when any does; a tie goes to the smaller state. */
static size_t best_sparse(struct sb_claims_ctx *c, double full_bytes)
{
	size_t best = NONE;
	double best_val = NAN, best_bytes = NAN;

	for (int pass = 0; pass < 2 && best == NONE; pass++)
		for (size_t m = 0; m < c->agg.n_methods; m++) {
			size_t s = sb_claims_chosen(c, m);
			if (s == NONE || sb_claims_is_reference(c, m) ||
			    !strcmp(c->agg.methods[m].policy, "dense") ||
			    sb_claims_share_of(c, s) > 0.1)
				continue;
			double v = c->agg.settings[s].val_mean;
			double bytes = sb_claims_mean_of(
				c, s, "optimizer_state_bytes", NULL);
			bool better = isnan(best_val) ? !isnan(v)
				      : c->agg.loss_metric ? v < best_val
							   : v > best_val;
			if ((pass || bytes < full_bytes) &&
			    (best == NONE || better ||
			     (v == best_val && bytes < best_bytes))) {
				best = s;
				best_val = v;
				best_bytes = bytes;
			}
		}
	return best;
}

/* What a method holds beyond the parameters and activations every method
 * needs: its gradient and optimizer state (optimizer state alone in files
 * written before grad_bytes was recorded: *with_grad says which). */
static double state_bytes(struct sb_claims_ctx *c, size_t s, bool *with_grad)
{
	double opt = sb_claims_mean_of(c, s, "optimizer_state_bytes", NULL);
	double grad = sb_claims_mean_of(c, s, "grad_bytes", NULL);
	*with_grad = !isnan(grad);
	return *with_grad ? opt + grad : opt;
}

/* Everything a method needs: parameters, gradient, optimizer state and
 * activations; NaN in files without the parts. */
static double needed_bytes(struct sb_claims_ctx *c, size_t s)
{
	return sb_claims_mean_of(c, s, "param_bytes", NULL) +
	       sb_claims_mean_of(c, s, "grad_bytes", NULL) +
	       sb_claims_mean_of(c, s, "optimizer_state_bytes", NULL) +
	       sb_claims_mean_of(c, s, "activation_bytes", NULL);
}

/* Time per step on the method's own gradient path, forward to update: the
 * run's attribute, else the sum of its phases' means. */
static double step_time(struct sb_claims_ctx *c, size_t s)
{
	static const char *const phases[] = {"t_forward", "t_backward",
					     "t_select", "t_update"};
	double t = sb_claims_mean_of(c, s, "time_per_step", NULL);
	if (!isnan(t))
		return t;
	t = 0;
	for (size_t p = 0; p < 4; p++) {
		double m = sb_claims_mean_of(c, s, NULL, phases[p]);
		t += isfinite(m) ? m : 0;
	}
	return t > 0 ? t : NAN;
}

/* Decimals that print a time in ms to about three significant digits. */
static int decimals(double ms)
{
	return ms >= 100 || !isfinite(ms) ? 0 : ms >= 10 ? 1 : ms >= 1 ? 2 : 3;
}

/* "sparse 1.2 MiB, full 9.6 MiB (12.5%)" */
static void put_bytes_pair(struct sb_claims_ctx *c, const char *what,
			   double sparse, double full)
{
	char a[32], b[32];
	sb_format_bytes(sparse, a, sizeof a);
	sb_format_bytes(full, b, sizeof b);
	fprintf(c->out, "\n   %s: sparse %s, full %s (%.1f%%)", what, a, b,
		100 * sparse / full);
}

/* The costs of claim 4: memory held beyond what every method needs, and
 * the step's time on each method's own gradient path (forward to update,
 * metrics excluded). Returns whether each is "a fraction" of full's. */
static void put_costs(struct sb_claims_ctx *c, const size_t *s,
		      bool *small_state, bool *fast_step, double *state_ratio,
		      double *time_ratio)
{
	bool grad_f, grad_s;
	double bf = state_bytes(c, s[0], &grad_f);
	double bs = state_bytes(c, s[1], &grad_s);
	bool with_grad = grad_f && grad_s;
	if (!with_grad) {
		bf = sb_claims_mean_of(c, s[0], "optimizer_state_bytes", NULL);
		bs = sb_claims_mean_of(c, s[1], "optimizer_state_bytes", NULL);
	}
	put_bytes_pair(c, with_grad ? "gradient + optimizer state"
				    : "optimizer state (no gradient recorded)",
		       bs, bf);
	double nf = needed_bytes(c, s[0]), ns = needed_bytes(c, s[1]);
	if (isfinite(nf) && isfinite(ns))
		put_bytes_pair(c, "all it needs (with parameters and "
				  "activations)", ns, nf);
	double pf = sb_claims_mean_of(c, s[0], "peak_rss_bytes", NULL);
	double ps = sb_claims_mean_of(c, s[1], "peak_rss_bytes", NULL);
	if (isfinite(pf) && isfinite(ps))
		put_bytes_pair(c, "peak resident size", ps, pf);
	double tf = step_time(c, s[0]), ts = step_time(c, s[1]);
	fprintf(c->out, "\n   time per step (forward to update): sparse %.*f "
		"ms, full %.*f ms (%.2fx)", decimals(1e3 * ts), 1e3 * ts,
		decimals(1e3 * tf), 1e3 * tf, ts / tf);
	*state_ratio = bs / bf;
	*time_ratio = ts / tf;
	*small_state = bs < 0.1 * bf;
	*fast_step = ts <= 0.9 * tf;
}

/* Mean validation loss before training (evals at step 0), NaN if none. */
static double start_loss(struct sb_claims_ctx *c, size_t s)
{
	const struct sb_agg_setting *st = &c->agg.settings[s];
	struct sb_band band;
	double start = NAN;

	if (sb_aggregate_band(&c->agg, st->runs, st->n_usable, "evals",
			      "val_loss", SB_SERIES_RAW, &band, c->err))
		c->rc = -1;
	else if (band.n && band.step[0] == 0)
		start = band.mean[0];
	sb_band_release(&band);
	return start;
}

static void claim_close(struct sb_claims_ctx *c)
{
	size_t s[3] = {sb_claims_chosen(c, c->full), NONE,
		       sb_claims_chosen(c, sb_claims_find_named(c,
								"head_only"))};
	double bf = s[0] == NONE ? NAN : sb_claims_mean_of(c, s[0],
		"optimizer_state_bytes", NULL);
	bool lm = c->agg.loss_metric;

	s[1] = best_sparse(c, bf);
	sb_claims_head(c, 4, "Sparse fine-tuning at ~1% comes close to full "
		       "fine-tuning at a fraction of the optimizer memory and "
		       "update time.");
	int split = sb_claims_split_of(c, s, 2);
	double bs = split < 0 ? NAN : sb_claims_mean_of(c, s[1],
		"optimizer_state_bytes", NULL);
	if (isnan(bf) || isnan(bs)) {
		sb_claims_unmeasured(c, "dense+dense_adam and a sparse method "
				     "with |S| at most 10%, with a metric and "
				     "their optimizer state");
		return;
	}
	bool head_only = sb_claims_split_of(c, &s[2], 1) >= split;
	const char *name = c->agg.settings[s[1]].method;
	sb_claims_put_split(c, split);
	fputs("full ", c->out);
	sb_claims_put_method(c, s[0], split);
	fputs("; best sparse on validation ", c->out);
	sb_claims_put_method(c, s[1], split);
	fprintf(c->out, ", |S| %.2f%%", 100 * sb_claims_share_of(c, s[1]));
	if (head_only) {
		fputs("; ", c->out);
		sb_claims_put_method(c, s[2], split);
	}
	double pooled, d = sb_claims_margin(c, s[1], s[0], split, &pooled);
	double hd = head_only ? sb_claims_margin(c, s[1], s[2], split, &pooled)
			      : 0;
	double recovery = NAN;
	bool no_gain = false;
	if (lm) {
		struct sb_stats full, sparse;
		sb_claims_metric(c, s[0], split == 1, &full);
		sb_claims_metric(c, s[1], split == 1, &sparse);
		double start_f = start_loss(c, s[0]);
		double start_s = start_loss(c, s[1]);
		no_gain = isfinite(start_s) && !(sparse.mean < start_s);
		recovery = (start_s - sparse.mean) / (start_f - full.mean);
		fprintf(c->out, "\n   before training (validation) %.3f "
			"%s; full fine-tuning's improvement recovered: "
			"%.1f%%", start_f, c->agg.loss_unit, 100 * recovery);
	}
	bool small, fast;
	double state_ratio, time_ratio;
	put_costs(c, s, &small, &fast, &state_ratio, &time_ratio);
	sb_claims_rule(c, "SUPPORTED if close (lm: >= 90% of full "
		"fine-tuning's improvement recovered, else within 1 point) "
		"holding < 10% of its gradient and optimizer state and taking "
		"<= 0.9x its time per step; MIXED if close or cheaper (in "
		"either) but not all three; REFUTED if neither, or no better "
		"than before training (lm) or than head_only");
	bool close = lm ? recovery >= 0.9 : d >= -1;
	if (no_gain)
		sb_claims_verdict(c, REFUTED, "%s is no better than before "
				  "training", name);
	else if (hd < 0)
		sb_claims_verdict(c, REFUTED, "%s is worse than head_only by "
				  "%.3f %s", name, -hd, sb_claims_unit(c));
	else if (close && small && fast)
		sb_claims_verdict(c, SUPPORTED, "%s is within %s of full "
				  "fine-tuning holding %.1f%% of its state, "
				  "at %.2fx its time per step", name,
				  lm ? "10% of the improvement" : "1 point",
				  100 * state_ratio, time_ratio);
	else if (close)
		sb_claims_verdict(c, MIXED, "%s comes close, but %s", name,
			!small && !fast ? "its state is not below 10% of full "
					  "and its step is not 10% faster"
			: !small	? "its state is not below 10% of full"
					: "its step is not 10% faster than full");
	else if (small || fast)
		sb_claims_verdict(c, MIXED, "%s %s, but %s", name,
			small && fast ? "needs less state and time"
			: small       ? "needs less state"
				      : "takes less time",
			lm ? "recovers less than 90% of the improvement"
			   : "trails by more than 1 point");
	else
		sb_claims_verdict(c, REFUTED, "%s is neither close to full "
				  "fine-tuning nor cheaper in memory or time",
				  name);
}

/* ---- 5 and 6: why sparse fine-tuning can work here ---- */

static void claim_pretrain(struct sb_claims_ctx *c)
{
	size_t s[3] = {
		sb_claims_chosen(c, c->full),
		sb_claims_chosen(c, sb_claims_find_named(c, "scratch")),
		sb_claims_chosen(c, sb_claims_find_named(c, "head_only")),
	};

	sb_claims_head(c, 5, "Pre-training matters here: fine-tuning the "
		       "pre-trained model beats training the same architecture "
		       "from scratch.");
	int split = sb_claims_split_of(c, s, 2);
	if (split < 0) {
		sb_claims_unmeasured(c, "dense+dense_adam and a from-scratch "
				     "`scratch` method, with a metric");
		return;
	}
	sb_claims_put_split(c, split);
	fputs("fine-tuned ", c->out);
	sb_claims_put_method(c, s[0], split);
	fputs("; from scratch ", c->out);
	sb_claims_put_method(c, s[1], split);
	if (sb_claims_split_of(c, &s[2], 1) >= split) {
		fputs("; ", c->out);
		sb_claims_put_method(c, s[2], split);
	}
	sb_claims_rule(c, "SUPPORTED if fine-tuned beats scratch by more than "
		"the pooled std, else REFUTED");
	double pooled, d = sb_claims_margin(c, s[0], s[1], split, &pooled);
	if (d > pooled)
		sb_claims_verdict(c, SUPPORTED, "fine-tuning is better by "
				  "%.3f %s (pooled std %.3f)", d,
				  sb_claims_unit(c), pooled);
	else
		sb_claims_verdict(c, REFUTED, "fine-tuning is %s by %.3f %s, "
				  "%s the pooled std %.3f",
				  d >= 0 ? "better" : "worse", fabs(d),
				  sb_claims_unit(c),
				  d >= 0 ? "not more than" : "against", pooled);
}

static void claim_quasi(struct sb_claims_ctx *c)
{
	static const char share[] = "norm_share_all_p1";
	size_t sp = sb_claims_chosen(c, sb_claims_find_named(c, "pretrained"));
	size_t sr = sb_claims_chosen(c, sb_claims_find_named(c,
							     "random_init"));

	sb_claims_head(c, 6, "1% of the components carry ~99% of the "
		       "gradient norm of a pre-trained model, far more than "
		       "at random initialisation.");
	double p = sp == NONE ? NAN : sb_claims_mean_of(c, sp, share, NULL);
	double r = sr == NONE ? NAN : sb_claims_mean_of(c, sr, share, NULL);
	if (isnan(p) || isnan(r)) {
		sb_claims_unmeasured(c, "gradient shares (train.grad_shares) "
				     "of methods `pretrained` and "
				     "`random_init`: "
				     "experiments/quasi_sparsity.yaml");
		return;
	}
	double g = sb_claims_mean_of(c, sp, "norm_share_gaussian_all_p1",
				     NULL);
	fprintf(c->out, "   norm share |g_top|/|g| of the top 1%% of "
		"components, all / without the excluded tensors: pretrained "
		"%.3f / %.3f, random_init %.3f / %.3f, Gaussian %.3f / %.3f",
		p, sb_claims_mean_of(c, sp, "norm_share_rest_p1", NULL), r,
		sb_claims_mean_of(c, sr, "norm_share_rest_p1", NULL), g,
		sb_claims_mean_of(c, sp, "norm_share_gaussian_rest_p1", NULL));
	sb_claims_rule(c, "SUPPORTED if the pre-trained share (all) >= 0.95 "
		"and exceeds random init's by > 0.05; MIXED if it is at least "
		"twice the Gaussian's but misses one of these; else REFUTED");
	bool high = p >= 0.95, above = p - r > 0.05;
	if (high && above)
		sb_claims_verdict(c, SUPPORTED, "the top 1%% carries %.1f%% of "
				  "the norm, %.1f points more than at random "
				  "initialisation", 100 * p, 100 * (p - r));
	else if (p >= 2 * g)
		sb_claims_verdict(c, MIXED, "the top 1%% carries %.1f%% of "
			"the norm, %.1fx a Gaussian's, but %s%s%s", 100 * p,
			p / g, high ? "" : "short of 95%",
			!high && !above ? " and " : "",
			above ? "" : "not clearly above random initialisation");
	else
		sb_claims_verdict(c, REFUTED, "the top 1%% carries %.1f%% of "
				  "the norm, less than twice a Gaussian's "
				  "%.1f%%", 100 * p, 100 * g);
}

void sb_claims_seed(struct sb_claims_ctx *c)
{
	claim_retained(c);
	claim_churn(c);
	claim_first(c);
	claim_close(c);
	claim_pretrain(c);
	claim_quasi(c);
}
