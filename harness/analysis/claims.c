/* claims.c - the seed's claims (DESIGN.md, "The science it measures")
 * checked against a results file: each method at its setting chosen on
 * validation, means over its usable seeds, a verdict by the rules of
 * docs/figures.md, "Claims". */
#include "analysis/claims.h"
#include "analysis/aggregate.h"
#include "util.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NONE SIZE_MAX

enum verdict { SUPPORTED, REFUTED, MIXED, UNMEASURED };

struct ctx {
	struct sb_aggregate agg;
	FILE *out;
	struct sb_error *err;
	int rc;      /* -1 once a series could not be read */
	size_t full; /* the dense+dense_adam method, or NONE */
	size_t counts[4];
};

/* ---- paragraphs ---- */

static void head(struct ctx *c, int no, const char *claim)
{
	fprintf(c->out, "\n%d. %s\n", no, claim);
}

static void rule(struct ctx *c, const char *text)
{
	fprintf(c->out, "\n   rule: %s\n", text);
}

static __attribute__((format(printf, 3, 4))) void
verdict(struct ctx *c, enum verdict v, const char *fmt, ...)
{
	static const char *const words[] = {"SUPPORTED", "REFUTED", "MIXED"};
	va_list ap;

	fprintf(c->out, "   %s: ", words[v]);
	va_start(ap, fmt);
	vfprintf(c->out, fmt, ap);
	va_end(ap);
	fputs(".\n", c->out);
	c->counts[v]++;
}

static void unmeasured(struct ctx *c, const char *needs)
{
	fprintf(c->out, "   not measured here (needs %s)\n", needs);
	c->counts[UNMEASURED]++;
}

/* ---- which methods, which settings ---- */

static bool is_named(const struct ctx *c, size_t m, const char *name)
{
	return !strcmp(c->agg.methods[m].method, name);
}

static size_t find_named(const struct ctx *c, const char *name)
{
	size_t m = 0;

	while (m < c->agg.n_methods && !is_named(c, m, name))
		m++;
	return m < c->agg.n_methods ? m : NONE;
}

/* The references beside the compared methods: the pre-trained model with
 * only its head trained, the architecture trained from scratch. */
static bool is_reference(const struct ctx *c, size_t m)
{
	return is_named(c, m, "head_only") || is_named(c, m, "scratch");
}

/* The density of a method's settings nearest 1% (the seed's); NaN when
 * none has one. */
static double nearest_density(const struct ctx *c, size_t m)
{
	const struct sb_agg_method *me = &c->agg.methods[m];
	double near = NAN, gap = INFINITY;
	for (size_t j = 0; j < me->n_settings; j++) {
		double d = c->agg.settings[me->settings[j]].density;
		if (d > 0 && isfinite(d) && fabs(log(d / 0.01)) < gap) {
			gap = fabs(log(d / 0.01));
			near = d;
		}
	}
	return near;
}

static const char *const modes[] = {"reset", "keep", "decay"};
enum { N_MODES = 3 };

/* The on_change mode of a setting's runs, from the optimizer line of its
 * first run's resolved configuration: 0 reset, 1 keep, 2 decay, -1 an
 * unknown word. An optimizer without the parameter counts as reset (a
 * file written before it existed ran what reset does now); only methods
 * run under several modes are compared. */
static int mode_of(const struct ctx *c, size_t s)
{
	const struct sb_agg_setting *st = &c->agg.settings[s];
	const char *yaml = c->agg.runs[st->runs[0]].info->config_yaml;
	static const char key[] = "on_change: ";
	const char *line = !yaml ? NULL
			   : !strncmp(yaml, "optimizer: ", 11)
				   ? yaml
				   : strstr(yaml, "\noptimizer: ");
	if (!line)
		return 0;
	const char *end = strchr(line + 1, '\n');
	const char *at = strstr(line, key);
	if (!at || (end && at > end))
		return 0;
	at += sizeof key - 1;
	for (int k = 0; k < N_MODES; k++) {
		size_t len = strlen(modes[k]);
		if (!strncmp(at, modes[k], len) && strchr(",} \n", at[len]))
			return k;
	}
	return -1;
}

/* The setting of method m under mode k best on validation, among its
 * settings with a usable run at the density nearest 1%; NONE if none. */
static size_t best_in_mode(const struct ctx *c, size_t m, int k)
{
	const struct sb_agg_method *me = &c->agg.methods[m];
	double near = nearest_density(c, m);
	size_t best = NONE;

	for (size_t j = 0; j < me->n_settings; j++) {
		size_t s = me->settings[j];
		const struct sb_agg_setting *st = &c->agg.settings[s];
		if ((!isnan(near) && st->density != near) || !st->n_usable ||
		    mode_of(c, s) != k)
			continue;
		double v = st->val_mean;
		double b = best == NONE ? NAN : c->agg.settings[best].val_mean;
		if (best == NONE || (isfinite(v) && (!isfinite(b) ||
		    (c->agg.loss_metric ? v < b : v > b))))
			best = s;
	}
	return best;
}

/* The setting of a method chosen on validation among its settings at the
 * density nearest 1% (the seed's), under on_change reset: claims 1 to 6
 * are about sparse Adam as the seed defines it, and a method swept over
 * the modes (claim 7) is judged there by its reset runs. NONE without a
 * usable run there. */
static size_t chosen(const struct ctx *c, size_t m)
{
	return m == NONE ? NONE : best_in_mode(c, m, 0);
}

/* The method `<policy>+<optimizer>`, else the first other method of that
 * policy and optimizer that is not a reference, preferring one with a
 * usable run under on_change reset (a pair given a method per mode); NONE
 * if there is none. */
static size_t find_method(const struct ctx *c, const char *policy,
			  const char *optimizer)
{
	char *name = sb_asprintf("%s+%s", policy, optimizer);
	size_t found = find_named(c, name);

	free(name);
	for (int pass = 0; pass < 2 && found == NONE; pass++)
		for (size_t m = 0; m < c->agg.n_methods && found == NONE; m++)
			if (!strcmp(c->agg.methods[m].policy, policy) &&
			    !strcmp(c->agg.methods[m].optimizer, optimizer) &&
			    !is_reference(c, m) &&
			    (pass || best_in_mode(c, m, 0) != NONE))
				found = m;
	return found;
}

/* ---- numbers over the usable runs of a setting ---- */

/* Each usable run's attribute, else (column given) its mean of
 * steps/<column>; the mean over the runs, NaN when none has a value. */
static double mean_of(struct ctx *c, size_t s, const char *attr,
		      const char *column)
{
	const struct sb_agg_setting *st = &c->agg.settings[s];
	double *v = sb_calloc(st->n_usable, sizeof *v);

	for (size_t j = 0; j < st->n_usable; j++) {
		size_t r = st->runs[j];
		v[j] = attr ? sb_run_info_attr(c->agg.runs[r].info, attr) : NAN;
		if (isnan(v[j]) && column &&
		    sb_aggregate_series_mean(&c->agg, r, "steps", column, &v[j],
					     c->err))
			c->rc = -1;
	}
	double mean = sb_mean_finite(v, st->n_usable);
	free(v);
	return mean;
}

/* |S| as a share of the model's components. */
static double share_of(struct ctx *c, size_t s)
{
	return mean_of(c, s, "trainable", NULL) /
	       mean_of(c, s, "n_params", NULL);
}

/* Mean validation loss before training (evals at step 0), NaN if none. */
static double start_loss(struct ctx *c, size_t s)
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

static void metric(const struct ctx *c, size_t s, bool test,
		   struct sb_stats *out)
{
	const struct sb_agg_setting *st = &c->agg.settings[s];
	double *v = sb_calloc(st->n_usable, sizeof *v);

	for (size_t j = 0; j < st->n_usable; j++)
		v[j] = test ? c->agg.runs[st->runs[j]].test
			    : c->agg.runs[st->runs[j]].val;
	sb_stats_of(v, st->n_usable, out);
	free(v);
}

/* 1: the test metric, which every setting given has; 0: the validation
 * metric (runs written with `train: {test: false}`); -1: neither. */
static int split_of(const struct ctx *c, const size_t *s, size_t n)
{
	bool test = true, val = true;

	for (size_t i = 0; i < n; i++) {
		struct sb_stats t, v;
		if (s[i] == NONE)
			return -1;
		metric(c, s[i], true, &t);
		metric(c, s[i], false, &v);
		test = test && t.n;
		val = val && v.n;
	}
	return test ? 1 : val ? 0 : -1;
}

/* Opens the numbers line: which metric they are. */
static void put_split(const struct ctx *c, int split)
{
	fprintf(c->out, "   %s %s%s: ", split ? "test" : "validation",
		c->agg.loss_metric ? "loss" : "accuracy",
		split ? "" : " (no test metric in these runs)");
}

/* `dense+dense_adam [lr=0.001] 73.68 ± 0.28% (3 seeds)`; one seed has no
 * std: `2.114 nats/byte (1 seed)` */
static void put_method(struct ctx *c, size_t s, int split)
{
	const struct sb_agg_setting *st = &c->agg.settings[s];
	struct sb_stats m;

	fprintf(c->out, "%s", st->method);
	if (*st->setting)
		fprintf(c->out, " [%s]", st->setting);
	metric(c, s, split == 1, &m);
	if (c->agg.loss_metric && m.n > 1)
		fprintf(c->out, " %.3f \xc2\xb1 %.3f %s", m.mean, m.std,
			c->agg.loss_unit);
	else if (c->agg.loss_metric)
		fprintf(c->out, " %.3f %s", m.mean, c->agg.loss_unit);
	else if (m.n > 1)
		fprintf(c->out, " %.2f \xc2\xb1 %.2f%%", 100 * m.mean,
			100 * m.std);
	else
		fprintf(c->out, " %.2f%%", 100 * m.mean);
	fprintf(c->out, " (%zu seed%s)", m.n, m.n == 1 ? "" : "s");
}

/* By how much the metric of setting a beats b's, in printed units (points
 * of accuracy, or the loss unit); *pooled gets the pooled sample std. */
static double margin(const struct ctx *c, size_t a, size_t b, int split,
		     double *pooled)
{
	struct sb_stats x, y;
	double scale = c->agg.loss_metric ? 1 : 100;

	metric(c, a, split == 1, &x);
	metric(c, b, split == 1, &y);
	double df = (double)x.n + (double)y.n - 2;
	double ss = (double)(x.n - 1) * x.std * x.std +
		    (double)(y.n - 1) * y.std * y.std;
	*pooled = df > 0 ? scale * sqrt(ss / df) : 0;
	return scale * (c->agg.loss_metric ? y.mean - x.mean : x.mean - y.mean);
}

static const char *unit(const struct ctx *c)
{
	return c->agg.loss_metric ? c->agg.loss_unit : "points";
}

/* ---- the claims ---- */

static void claim_retained(struct ctx *c)
{
	static const char *const policies[] = {"topk_batch", "topk_first",
					       "random", "fixed_layers"};
	static const char *const preferred[] = {"sparse_adam", "dense_adam"};
	size_t s[4], best = 0;
	double ret[4], share[4];
	const char *opt = NULL;

	head(c, 1, "Re-choosing the top-k every batch keeps the most gradient "
		   "information per step.");
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
			s[p] = chosen(c, find_method(c, policies[p], o));
			ret[p] = s[p] == NONE ? NAN : mean_of(c, s[p],
				 "retained_mean", "retained");
			share[p] = isnan(ret[p]) ? NAN : share_of(c, s[p]);
			others += p && !isnan(ret[p]) &&
				  !(share[p] > 1.5 * share[0]);
		}
		opt = !isnan(ret[0]) && others ? o : NULL;
	}
	if (!opt) {
		unmeasured(c, "retained measured for topk_batch and for "
			      "topk_first, random or fixed_layers with "
			      "the same optimizer and |S|");
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
	rule(c, "SUPPORTED if topk_batch's share is the highest, else "
		"REFUTED");
	if (best == 0)
		verdict(c, SUPPORTED, "topk_batch keeps the largest share of "
			"the gradient energy (%.3f)", ret[0]);
	else
		verdict(c, REFUTED, "%s keeps more than topk_batch (%.3f vs "
			"%.3f)", policies[best], ret[best], ret[0]);
}

static void claim_churn(struct ctx *c)
{
	size_t s = chosen(c, find_method(c, "topk_batch", "sparse_adam"));

	head(c, 2, "...but the re-chosen set churns, and sparse Adam loses the "
		   "moment history of every index that enters.");
	double churn = s == NONE ? NAN : mean_of(c, s, "churn_mean", "churn");
	double lost = s == NONE ? NAN
				: mean_of(c, s, "history_lost_total", NULL);
	if (isnan(churn) || isnan(lost)) {
		unmeasured(c, "topk_batch+sparse_adam runs with churn and "
			      "history_lost measured");
		return;
	}
	double size = mean_of(c, s, "trainable", NULL);
	double ever = mean_of(c, s, "ever_selected", NULL);
	fprintf(c->out, "   topk_batch+sparse_adam: churn %.1f%% of |S| per "
		"step; history lost %.0f state entries in total (%.0f per "
		"step); ever selected %.0f components = %.1fx the mean |S| of "
		"%.0f (%.2f%% of the model)", 100 * churn, lost,
		lost / mean_of(c, s, "steps_done", NULL), ever, ever / size,
		size, 100 * share_of(c, s) * ever / size);
	rule(c, "SUPPORTED if churn > 0 and history lost > 0, else REFUTED");
	if (churn > 0 && lost > 0)
		verdict(c, SUPPORTED, "%.1f%% of the set is new at each step "
			"and every new index restarts its moments from zero",
			100 * churn);
	else
		verdict(c, REFUTED, "the set %s and %s history is lost",
			churn > 0 ? "churns" : "does not churn",
			lost > 0 ? "some" : "no");
}

static void claim_first(struct ctx *c)
{
	size_t s[2] = {chosen(c, find_method(c, "topk_first", "sparse_adam")),
		       chosen(c, find_method(c, "topk_batch", "sparse_adam"))};

	head(c, 3, "Choosing once from the first batch (SIFT) loses some "
		   "gradient information but keeps the optimizer history.");
	int split = split_of(c, s, 2);
	double lost = split < 0 ? NAN
				: mean_of(c, s[0], "history_lost_total", NULL);
	if (isnan(lost)) {
		unmeasured(c, "topk_first+sparse_adam and topk_batch+"
			      "sparse_adam runs with history_lost and a "
			      "metric");
		return;
	}
	double rf = mean_of(c, s[0], "retained_mean", "retained");
	double rb = mean_of(c, s[1], "retained_mean", "retained");
	fprintf(c->out, "   retained energy share: topk_first %.3f / "
		"topk_batch %.3f = %.2f; history lost by "
		"topk_first+sparse_adam: %.0f entries\n", rf, rb, rf / rb,
		lost);
	put_split(c, split);
	put_method(c, s[0], split);
	fputs(" vs ", c->out);
	put_method(c, s[1], split);
	rule(c, "SUPPORTED if topk_first loses no history and its "
		"metric is at least as good as topk_batch's within one pooled "
		"std; REFUTED if it loses history or is worse by more (any "
		"margin with one seed)");
	double pooled, d = margin(c, s[0], s[1], split, &pooled);
	if (lost != 0)
		verdict(c, REFUTED, "topk_first+sparse_adam lost %.0f history "
			"entries", lost);
	else if (d >= -pooled)
		verdict(c, SUPPORTED, "history is intact and topk_first is %s "
			"by %.3f %s (pooled std %.3f)",
			d >= 0 ? "better" : "worse, within the noise,", fabs(d),
			unit(c), pooled);
	else
		verdict(c, REFUTED, "history is intact but topk_first is "
			"worse by %.3f %s, more than the pooled std %.3f", -d,
			unit(c), pooled);
}

/* The sparse method at ~1% (|S| at most 10% of the model) best on
 * validation, among those keeping less optimizer state than full
 * fine-tuning when any does; a tie goes to the smaller state. */
static size_t best_sparse(struct ctx *c, double full_bytes)
{
	size_t best = NONE;
	double best_val = NAN, best_bytes = NAN;

	for (int pass = 0; pass < 2 && best == NONE; pass++)
		for (size_t m = 0; m < c->agg.n_methods; m++) {
			size_t s = chosen(c, m);
			if (s == NONE || is_reference(c, m) ||
			    !strcmp(c->agg.methods[m].policy, "dense") ||
			    share_of(c, s) > 0.1)
				continue;
			double v = c->agg.settings[s].val_mean;
			double bytes = mean_of(c, s, "optimizer_state_bytes",
					       NULL);
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
static double state_bytes(struct ctx *c, size_t s, bool *with_grad)
{
	double opt = mean_of(c, s, "optimizer_state_bytes", NULL);
	double grad = mean_of(c, s, "grad_bytes", NULL);
	*with_grad = !isnan(grad);
	return *with_grad ? opt + grad : opt;
}

/* Everything a method needs: parameters, gradient, optimizer state and
 * activations; NaN in files without the parts. */
static double needed_bytes(struct ctx *c, size_t s)
{
	return mean_of(c, s, "param_bytes", NULL) +
	       mean_of(c, s, "grad_bytes", NULL) +
	       mean_of(c, s, "optimizer_state_bytes", NULL) +
	       mean_of(c, s, "activation_bytes", NULL);
}

/* Time per step on the method's own gradient path, forward to update: the
 * run's attribute, else the sum of its phases' means. */
static double step_time(struct ctx *c, size_t s)
{
	static const char *const phases[] = {"t_forward", "t_backward",
					     "t_select", "t_update"};
	double t = mean_of(c, s, "time_per_step", NULL);
	if (!isnan(t))
		return t;
	t = 0;
	for (size_t p = 0; p < 4; p++) {
		double m = mean_of(c, s, NULL, phases[p]);
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
static void put_bytes_pair(struct ctx *c, const char *what, double sparse,
			   double full)
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
static void put_costs(struct ctx *c, const size_t *s, bool *small_state,
		      bool *fast_step, double *state_ratio, double *time_ratio)
{
	bool grad_f, grad_s;
	double bf = state_bytes(c, s[0], &grad_f);
	double bs = state_bytes(c, s[1], &grad_s);
	bool with_grad = grad_f && grad_s;
	if (!with_grad) {
		bf = mean_of(c, s[0], "optimizer_state_bytes", NULL);
		bs = mean_of(c, s[1], "optimizer_state_bytes", NULL);
	}
	put_bytes_pair(c, with_grad ? "gradient + optimizer state"
				    : "optimizer state (no gradient recorded)",
		       bs, bf);
	double nf = needed_bytes(c, s[0]), ns = needed_bytes(c, s[1]);
	if (isfinite(nf) && isfinite(ns))
		put_bytes_pair(c, "all it needs (with parameters and "
				  "activations)", ns, nf);
	double pf = mean_of(c, s[0], "peak_rss_bytes", NULL);
	double ps = mean_of(c, s[1], "peak_rss_bytes", NULL);
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

static void claim_close(struct ctx *c)
{
	size_t s[3] = {chosen(c, c->full), NONE,
		       chosen(c, find_named(c, "head_only"))};
	double bf = s[0] == NONE ? NAN : mean_of(c, s[0],
		"optimizer_state_bytes", NULL);
	bool lm = c->agg.loss_metric;

	s[1] = best_sparse(c, bf);
	head(c, 4, "Sparse fine-tuning at ~1% comes close to full fine-tuning "
		   "at a fraction of the optimizer memory and update time.");
	int split = split_of(c, s, 2);
	double bs = split < 0 ? NAN : mean_of(c, s[1], "optimizer_state_bytes",
					      NULL);
	if (isnan(bf) || isnan(bs)) {
		unmeasured(c, "dense+dense_adam and a sparse method with "
			      "|S| at most 10%, with a metric and their "
			      "optimizer state");
		return;
	}
	bool head_only = split_of(c, &s[2], 1) >= split;
	const char *name = c->agg.settings[s[1]].method;
	put_split(c, split);
	fputs("full ", c->out);
	put_method(c, s[0], split);
	fputs("; best sparse on validation ", c->out);
	put_method(c, s[1], split);
	fprintf(c->out, ", |S| %.2f%%", 100 * share_of(c, s[1]));
	if (head_only) {
		fputs("; ", c->out);
		put_method(c, s[2], split);
	}
	double pooled, d = margin(c, s[1], s[0], split, &pooled);
	double hd = head_only ? margin(c, s[1], s[2], split, &pooled) : 0;
	double recovery = NAN;
	bool no_gain = false;
	if (lm) {
		struct sb_stats full, sparse;
		metric(c, s[0], split == 1, &full);
		metric(c, s[1], split == 1, &sparse);
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
	rule(c, "SUPPORTED if close (lm: >= 90% of full fine-tuning's "
		"improvement recovered, else within 1 point) holding < 10% of "
		"its gradient and optimizer state and taking <= 0.9x its time "
		"per step; MIXED if close or cheaper (in either) but not all "
		"three; REFUTED if neither, or no better than before training "
		"(lm) or than head_only");
	bool close = lm ? recovery >= 0.9 : d >= -1;
	if (no_gain)
		verdict(c, REFUTED, "%s is no better than before training",
			name);
	else if (hd < 0)
		verdict(c, REFUTED, "%s is worse than head_only by %.3f %s",
			name, -hd, unit(c));
	else if (close && small && fast)
		verdict(c, SUPPORTED, "%s is within %s of full fine-tuning "
			"holding %.1f%% of its state, at %.2fx its time per "
			"step", name, lm ? "10% of the improvement" : "1 point",
			100 * state_ratio, time_ratio);
	else if (close)
		verdict(c, MIXED, "%s comes close, but %s", name,
			!small && !fast ? "its state is not below 10% of full "
					  "and its step is not 10% faster"
			: !small	? "its state is not below 10% of full"
					: "its step is not 10% faster than full");
	else if (small || fast)
		verdict(c, MIXED, "%s %s, but %s", name,
			small && fast ? "needs less state and time"
			: small       ? "needs less state"
				      : "takes less time",
			lm ? "recovers less than 90% of the improvement"
			   : "trails by more than 1 point");
	else
		verdict(c, REFUTED, "%s is neither close to full fine-tuning "
			"nor cheaper in memory or time", name);
}

static void claim_pretrain(struct ctx *c)
{
	size_t s[3] = {chosen(c, c->full), chosen(c, find_named(c, "scratch")),
		       chosen(c, find_named(c, "head_only"))};

	head(c, 5, "Pre-training matters here: fine-tuning the pre-trained "
		   "model beats training the same architecture from scratch.");
	int split = split_of(c, s, 2);
	if (split < 0) {
		unmeasured(c, "dense+dense_adam and a from-scratch "
			      "`scratch` method, with a metric");
		return;
	}
	put_split(c, split);
	fputs("fine-tuned ", c->out);
	put_method(c, s[0], split);
	fputs("; from scratch ", c->out);
	put_method(c, s[1], split);
	if (split_of(c, &s[2], 1) >= split) {
		fputs("; ", c->out);
		put_method(c, s[2], split);
	}
	rule(c, "SUPPORTED if fine-tuned beats scratch by more than "
		"the pooled std, else REFUTED");
	double pooled, d = margin(c, s[0], s[1], split, &pooled);
	if (d > pooled)
		verdict(c, SUPPORTED, "fine-tuning is better by %.3f %s "
			"(pooled std %.3f)", d, unit(c), pooled);
	else
		verdict(c, REFUTED, "fine-tuning is %s by %.3f %s, %s the "
			"pooled std %.3f", d >= 0 ? "better" : "worse", fabs(d),
			unit(c), d >= 0 ? "not more than" : "against", pooled);
}

static void claim_quasi(struct ctx *c)
{
	static const char share[] = "norm_share_all_p1";
	size_t sp = chosen(c, find_named(c, "pretrained"));
	size_t sr = chosen(c, find_named(c, "random_init"));

	head(c, 6, "1% of the components carry ~99% of the gradient norm of "
		   "a pre-trained model, far more than at random "
		   "initialisation.");
	double p = sp == NONE ? NAN : mean_of(c, sp, share, NULL);
	double r = sr == NONE ? NAN : mean_of(c, sr, share, NULL);
	if (isnan(p) || isnan(r)) {
		unmeasured(c, "gradient shares (train.grad_shares) of "
			      "methods `pretrained` and `random_init`: "
			      "experiments/quasi_sparsity.yaml");
		return;
	}
	double g = mean_of(c, sp, "norm_share_gaussian_all_p1", NULL);
	fprintf(c->out, "   norm share |g_top|/|g| of the top 1%% of "
		"components, all / without the excluded tensors: pretrained "
		"%.3f / %.3f, random_init %.3f / %.3f, Gaussian %.3f / %.3f",
		p, mean_of(c, sp, "norm_share_rest_p1", NULL), r,
		mean_of(c, sr, "norm_share_rest_p1", NULL), g,
		mean_of(c, sp, "norm_share_gaussian_rest_p1", NULL));
	rule(c, "SUPPORTED if the pre-trained share (all) >= 0.95 and "
		"exceeds random init's by > 0.05; MIXED if it is at least "
		"twice the Gaussian's but misses one of these; else REFUTED");
	bool high = p >= 0.95, above = p - r > 0.05;
	if (high && above)
		verdict(c, SUPPORTED, "the top 1%% carries %.1f%% of the norm, "
			"%.1f points more than at random initialisation",
			100 * p, 100 * (p - r));
	else if (p >= 2 * g)
		verdict(c, MIXED, "the top 1%% carries %.1f%% of the norm, "
			"%.1fx a Gaussian's, but %s%s%s", 100 * p, p / g,
			high ? "" : "short of 95%",
			!high && !above ? " and " : "",
			above ? "" : "not clearly above random initialisation");
	else
		verdict(c, REFUTED, "the top 1%% carries %.1f%% of the norm, "
			"less than twice a Gaussian's %.1f%%", 100 * p,
			100 * g);
}

/* ---- claim 7: what the history of a moving selection is worth ---- */

/* Whether method m is the first method (not a reference) of its policy and
 * optimizer: claim 7 compares a pair once, over all its methods. */
static bool first_of_pair(const struct ctx *c, size_t m)
{
	const struct sb_agg_method *me = &c->agg.methods[m];
	for (size_t o = 0; o < m; o++)
		if (!is_reference(c, o) &&
		    !strcmp(c->agg.methods[o].policy, me->policy) &&
		    !strcmp(c->agg.methods[o].optimizer, me->optimizer))
			return false;
	return !is_reference(c, m);
}

/* The setting under mode k best on validation among every method (not a
 * reference) of the policy and optimizer of method m: a mode may be swept
 * within one method or given to methods of its own. NONE if none. */
static size_t best_of_pair(const struct ctx *c, size_t m, int k)
{
	const struct sb_agg_method *me = &c->agg.methods[m];
	size_t best = NONE;

	for (size_t o = m; o < c->agg.n_methods; o++) {
		if (is_reference(c, o) ||
		    strcmp(c->agg.methods[o].policy, me->policy) ||
		    strcmp(c->agg.methods[o].optimizer, me->optimizer))
			continue;
		size_t s = best_in_mode(c, o, k);
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
static bool put_mode(struct ctx *c, const size_t *s, int k, int split,
		     double *d)
{
	char bytes[32];
	double pooled = 0;

	sb_format_bytes(mean_of(c, s[k], "optimizer_state_bytes", NULL),
			bytes, sizeof bytes);
	fprintf(c->out, "\n     %-6s ", modes[k]);
	put_method(c, s[k], split);
	fprintf(c->out, "; history lost %.0f entries per step; optimizer "
		"state %s", mean_of(c, s[k], "history_lost_total", NULL) /
		mean_of(c, s[k], "steps_done", NULL), bytes);
	*d = k ? margin(c, s[k], s[0], split, &pooled) : 0;
	bool changes = k && fabs(*d) > pooled;
	if (k)
		fprintf(c->out, "; against reset: %s by %.3f %s (pooled std "
			"%.3f): %s", *d >= 0 ? "better" : "worse", fabs(*d),
			unit(c), pooled, changes ? "changes" : "within the "
			"noise");
	return changes;
}

/* The policy's best mode against topk_first with the same optimizer: does
 * the fixed set lose more than the history buys back? */
static void put_against_first(struct ctx *c, size_t m, size_t best, int split)
{
	const struct sb_agg_method *me = &c->agg.methods[m];
	size_t f = chosen(c, find_method(c, "topk_first", me->optimizer));
	double pooled;

	if (f == NONE || !strcmp(me->policy, "topk_first") ||
	    split_of(c, (size_t[]){f, best}, 2) != split)
		return;
	double d = margin(c, best, f, split, &pooled);
	fprintf(c->out, "\n     against S fixed, ");
	put_method(c, f, split);
	fprintf(c->out, ": the best mode (%s) is %s by %.3f %s (pooled std "
		"%.3f)", modes[mode_of(c, best)], d >= 0 ? "better" : "worse",
		fabs(d), unit(c), pooled);
}

static void claim_history(struct ctx *c)
{
	size_t compared = 0, changed = 0;
	char why[512] = "";

	head(c, 7, "Keeping the optimizer history of the components that "
		   "leave and re-enter S (on_change keep or decay) changes "
		   "the result.");
	for (size_t m = 0; m < c->agg.n_methods; m++) {
		size_t s[N_MODES], present[N_MODES], n = 0;
		const struct sb_agg_method *me = &c->agg.methods[m];
		if (!first_of_pair(c, m))
			continue;
		for (int k = 0; k < N_MODES; k++)
			if ((s[k] = best_of_pair(c, m, k)) != NONE)
				present[n++] = s[k];
		int split = n >= 2 && s[0] != NONE ? split_of(c, present, n)
						   : -1;
		if (split < 0)
			continue;
		if (compared)
			fputc('\n', c->out);
		put_split(c, split);
		fprintf(c->out, "%s with %s, the best setting per mode",
			me->policy, me->optimizer);
		bool changes = false;
		double d, big = 0;
		int big_k = 0;
		size_t best = s[0];
		for (int k = 0; k < N_MODES; k++) {
			if (s[k] == NONE)
				continue;
			changes |= put_mode(c, s, k, split, &d);
			if (k && fabs(d) >= fabs(big)) {
				big = d;
				big_k = k;
			}
			double pooled;
			if (k && margin(c, s[k], best, split, &pooled) > 0)
				best = s[k];
		}
		put_against_first(c, m, best, split);
		size_t len = strlen(why);
		if (big_k)
			snprintf(why + len, sizeof why - len, "%s%s+%s: %s %s "
				 "by %.3f %s", compared ? "; " : "", me->policy,
				 me->optimizer, modes[big_k],
				 big >= 0 ? "better" : "worse", fabs(big),
				 unit(c));
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
	rule(c, "each policy and optimizer run under several on_change "
		"modes, at its best setting per mode on validation; a mode "
		"changes the result if its metric differs from reset's by more "
		"than the pooled std (any margin with one seed). SUPPORTED if "
		"keep or decay changes it for every pair compared, MIXED if "
		"for some, REFUTED if for none");
	if (changed == compared)
		verdict(c, SUPPORTED, "history changes the result (%s)", why);
	else if (changed)
		verdict(c, MIXED, "history changes the result of %zu of %zu "
			"pairs (%s)", changed, compared, why);
	else
		verdict(c, REFUTED, "history is worth little here: no mode "
			"differs from reset by more than the noise (%s)", why);
}

int sb_claims(const char *results_path, FILE *out, struct sb_error *err)
{
	struct ctx c = {.out = out, .err = err, .full = NONE};

	if (sb_aggregate_load(&c.agg, results_path, err))
		return -1;
	c.full = find_method(&c, "dense", "dense_adam");
	fprintf(out, "Claims of the seed checked against %s\neach method at "
		"its setting chosen on validation (density nearest 1%%), means "
		"over its usable seeds; metric: ", results_path);
	if (c.agg.loss_metric)
		fprintf(out, "test loss in %s, lower is better\n",
			c.agg.loss_unit);
	else
		fprintf(out, "test accuracy in %%, higher is better\n");
	claim_retained(&c);
	claim_churn(&c);
	claim_first(&c);
	claim_close(&c);
	claim_pretrain(&c);
	claim_quasi(&c);
	claim_history(&c);
	fprintf(out, "\nverdicts: %zu supported, %zu refuted, %zu mixed, %zu "
		"not measured here\n", c.counts[SUPPORTED], c.counts[REFUTED],
		c.counts[MIXED], c.counts[UNMEASURED]);
	if (c.rc == 0 && ferror(out))
		c.rc = sb_error(err, "cannot write the claims");
	if (c.rc == 0)
		c.rc = sb_results_damage(&c.agg.view, err);
	sb_aggregate_release(&c.agg);
	return c.rc;
}
