/* claims.c - the seed's claims (DESIGN.md, "The science it measures")
 * checked against a results file: each method at its setting chosen on
 * validation, means over its usable seeds, a verdict by the rules of
 * docs/figures.md, "Claims". This file holds what every claim's judge
 * uses and prints the report; the judges are in claims_seed.c (claims 1
 * to 6) and claims_history.c (claim 7). */
#include "analysis/claims.h"
#include "analysis/claims_priv.h"
#include "util.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---- paragraphs ---- */

void sb_claims_head(struct sb_claims_ctx *c, int no, const char *claim)
{
	fprintf(c->out, "\n%d. %s\n", no, claim);
}

void sb_claims_rule(struct sb_claims_ctx *c, const char *text)
{
	fprintf(c->out, "\n   rule: %s\n", text);
}

void sb_claims_verdict(struct sb_claims_ctx *c, enum verdict v,
		       const char *fmt, ...)
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

void sb_claims_unmeasured(struct sb_claims_ctx *c, const char *needs)
{
	fprintf(c->out, "   not measured here (needs %s)\n", needs);
	c->counts[UNMEASURED]++;
}

/* ---- which methods, which settings ---- */

static bool is_named(const struct sb_claims_ctx *c, size_t m,
		     const char *name)
{
	return !strcmp(c->agg.methods[m].method, name);
}

size_t sb_claims_find_named(const struct sb_claims_ctx *c, const char *name)
{
	size_t m = 0;

	while (m < c->agg.n_methods && !is_named(c, m, name))
		m++;
	return m < c->agg.n_methods ? m : NONE;
}

/* The references beside the compared methods: the pre-trained model with
 * only its head trained, the architecture trained from scratch. */
bool sb_claims_is_reference(const struct sb_claims_ctx *c, size_t m)
{
	return is_named(c, m, "head_only") || is_named(c, m, "scratch");
}

/* The density of a method's settings nearest 1% (the seed's); NaN when
 * none has one. */
static double nearest_density(const struct sb_claims_ctx *c, size_t m)
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

const char *const sb_claims_modes[SB_CLAIMS_N_MODES] = {
	"reset", "keep", "decay",
};

/* The on_change mode of a setting's runs, from the optimizer line of its
 * first run's resolved configuration: 0 reset, 1 keep, 2 decay, -1 an
 * unknown word. An optimizer without the parameter counts as reset (a
 * file written before it existed ran what reset does now); only methods
 * run under several modes are compared. */
int sb_claims_mode_of(const struct sb_claims_ctx *c, size_t s)
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
	for (int k = 0; k < SB_CLAIMS_N_MODES; k++) {
		size_t len = strlen(sb_claims_modes[k]);
		if (!strncmp(at, sb_claims_modes[k], len) &&
		    strchr(",} \n", at[len]))
			return k;
	}
	return -1;
}

/* The setting of method m under mode k best on validation, among its
 * settings with a usable run at the density nearest 1%; NONE if none. */
size_t sb_claims_best_in_mode(const struct sb_claims_ctx *c, size_t m, int k)
{
	const struct sb_agg_method *me = &c->agg.methods[m];
	double near = nearest_density(c, m);
	size_t best = NONE;

	for (size_t j = 0; j < me->n_settings; j++) {
		size_t s = me->settings[j];
		const struct sb_agg_setting *st = &c->agg.settings[s];
		if ((!isnan(near) && st->density != near) || !st->n_usable ||
		    sb_claims_mode_of(c, s) != k)
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
size_t sb_claims_chosen(const struct sb_claims_ctx *c, size_t m)
{
	return m == NONE ? NONE : sb_claims_best_in_mode(c, m, 0);
}

/* The method `<policy>+<optimizer>`, else the first other method of that
 * policy and optimizer that is not a reference, preferring one with a
 * usable run under on_change reset (a pair given a method per mode); NONE
 * if there is none. */
size_t sb_claims_find_method(const struct sb_claims_ctx *c, const char *policy,
			     const char *optimizer)
{
	char *name = sb_asprintf("%s+%s", policy, optimizer);
	size_t found = sb_claims_find_named(c, name);

	free(name);
	for (int pass = 0; pass < 2 && found == NONE; pass++)
		for (size_t m = 0; m < c->agg.n_methods && found == NONE; m++)
			if (!strcmp(c->agg.methods[m].policy, policy) &&
			    !strcmp(c->agg.methods[m].optimizer, optimizer) &&
			    !sb_claims_is_reference(c, m) &&
			    (pass || sb_claims_best_in_mode(c, m, 0) != NONE))
				found = m;
	return found;
}

/* ---- numbers over the usable runs of a setting ---- */

/* Each usable run's attribute, else (column given) its mean of
 * steps/<column>; the mean over the runs, NaN when none has a value. */
double sb_claims_mean_of(struct sb_claims_ctx *c, size_t s, const char *attr,
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
double sb_claims_share_of(struct sb_claims_ctx *c, size_t s)
{
	return sb_claims_mean_of(c, s, "trainable", NULL) /
	       sb_claims_mean_of(c, s, "n_params", NULL);
}

/* Mean validation loss before training (evals at step 0), NaN if none. */

void sb_claims_metric(const struct sb_claims_ctx *c, size_t s, bool test,
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
int sb_claims_split_of(const struct sb_claims_ctx *c, const size_t *s,
		       size_t n)
{
	bool test = true, val = true;

	for (size_t i = 0; i < n; i++) {
		struct sb_stats t, v;
		if (s[i] == NONE)
			return -1;
		sb_claims_metric(c, s[i], true, &t);
		sb_claims_metric(c, s[i], false, &v);
		test = test && t.n;
		val = val && v.n;
	}
	return test ? 1 : val ? 0 : -1;
}

/* Opens the numbers line: which metric they are. */
void sb_claims_put_split(const struct sb_claims_ctx *c, int split)
{
	fprintf(c->out, "   %s %s%s: ", split ? "test" : "validation",
		c->agg.loss_metric ? "loss" : "accuracy",
		split ? "" : " (no test metric in these runs)");
}

/* `dense+dense_adam [lr=0.001] 73.68 ± 0.28% (3 seeds)`; one seed has no
 * std: `2.114 nats/byte (1 seed)` */
void sb_claims_put_method(struct sb_claims_ctx *c, size_t s, int split)
{
	const struct sb_agg_setting *st = &c->agg.settings[s];
	struct sb_stats m;

	fprintf(c->out, "%s", st->method);
	if (*st->setting)
		fprintf(c->out, " [%s]", st->setting);
	sb_claims_metric(c, s, split == 1, &m);
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
double sb_claims_margin(const struct sb_claims_ctx *c, size_t a, size_t b,
			int split, double *pooled)
{
	struct sb_stats x, y;
	double scale = c->agg.loss_metric ? 1 : 100;

	sb_claims_metric(c, a, split == 1, &x);
	sb_claims_metric(c, b, split == 1, &y);
	double df = (double)x.n + (double)y.n - 2;
	double ss = (double)(x.n - 1) * x.std * x.std +
		    (double)(y.n - 1) * y.std * y.std;
	*pooled = df > 0 ? scale * sqrt(ss / df) : 0;
	return scale * (c->agg.loss_metric ? y.mean - x.mean : x.mean - y.mean);
}

const char *sb_claims_unit(const struct sb_claims_ctx *c)
{
	return c->agg.loss_metric ? c->agg.loss_unit : "points";
}

/* ---- the report ---- */

int sb_claims(const char *results_path, FILE *out, struct sb_error *err)
{
	struct sb_claims_ctx c = {.out = out, .err = err, .full = NONE};

	if (sb_aggregate_load(&c.agg, results_path, err))
		return -1;
	c.full = sb_claims_find_method(&c, "dense", "dense_adam");
	fprintf(out, "Claims of the seed checked against %s\neach method at "
		"its setting chosen on validation (density nearest 1%%), means "
		"over its usable seeds; metric: ", results_path);
	if (c.agg.loss_metric)
		fprintf(out, "test loss in %s, lower is better\n",
			c.agg.loss_unit);
	else
		fprintf(out, "test accuracy in %%, higher is better\n");
	sb_claims_seed(&c);
	sb_claims_history(&c);
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
