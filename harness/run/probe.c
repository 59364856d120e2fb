/* probe.c - the gradient-concentration probe of a run (see probe.h): the
 * measured shares are averaged over the steps measured. */
#define _POSIX_C_SOURCE 200809L
#include "run/probe.h"
#include "run/sparsity.h"
#include "util.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Mean top-fraction shares of the gradient over the measured steps, over
 * all components and over the "rest" (all but train.shares_exclude). */
struct sb_probe {
	const struct sb_layout *layout;
	size_t n_rest;
	bool *in_rest;     /* per tensor */
	float *rest;       /* the rest's gradient, gathered */
	sb_index *scratch; /* n indices */
	struct sb_shares sum_all, sum_rest;
	long measured;
};

static bool matches_any(const struct sb_value *patterns, const char *name)
{
	for (size_t i = 0; i < patterns->n; i++)
		if (fnmatch(patterns->strs[i], name, 0) == 0)
			return true;
	return false;
}

struct sb_probe *sb_probe_new(const struct sb_layout *layout,
			      const struct sb_values *train_cfg)
{
	const struct sb_value *ex = sb_values_get(train_cfg, "shares_exclude");
	struct sb_probe *p = sb_calloc(1, sizeof *p);
	p->layout = layout;
	p->in_rest = sb_calloc(layout->n_tensors, sizeof *p->in_rest);
	for (size_t t = 0; t < layout->n_tensors; t++) {
		const struct sb_tensor *ts = &layout->tensors[t];
		p->in_rest[t] = !matches_any(ex, ts->name);
		if (p->in_rest[t])
			p->n_rest += ts->size;
	}
	p->rest = sb_calloc(p->n_rest, sizeof *p->rest);
	p->scratch = sb_calloc(layout->n_params, sizeof *p->scratch);
	return p;
}

void sb_probe_free(struct sb_probe *p)
{
	if (!p)
		return;
	free(p->in_rest);
	free(p->rest);
	free(p->scratch);
	free(p);
}

static void shares_add(struct sb_shares *sum, const struct sb_shares *x)
{
	for (int f = 0; f < SB_N_SHARES; f++) {
		sum->energy[f] += x->energy[f];
		sum->norm[f] += x->norm[f];
		sum->l1[f] += x->l1[f];
	}
}

void sb_probe_measure(struct sb_probe *p, const float *grad)
{
	struct sb_shares s;
	sb_shares_compute(grad, p->layout->n_params, p->scratch, &s);
	shares_add(&p->sum_all, &s);
	size_t at = 0;
	for (size_t t = 0; t < p->layout->n_tensors; t++) {
		const struct sb_tensor *ts = &p->layout->tensors[t];
		if (!p->in_rest[t])
			continue;
		memcpy(p->rest + at, grad + ts->offset,
		       ts->size * sizeof *p->rest);
		at += ts->size;
	}
	sb_shares_compute(p->rest, p->n_rest, p->scratch, &s);
	shares_add(&p->sum_rest, &s);
	p->measured++;
}

static void shares_attrs(struct sb_run_log *log, const char *scope,
			 const struct sb_shares *s, double scale)
{
	for (int f = 0; f < SB_N_SHARES; f++) {
		char name[64];
		snprintf(name, sizeof name, "energy_share_%s_%s", scope,
			 sb_share_names[f]);
		sb_run_log_attr(log, name, s->energy[f] * scale, "1");
		snprintf(name, sizeof name, "norm_share_%s_%s", scope,
			 sb_share_names[f]);
		sb_run_log_attr(log, name, s->norm[f] * scale, "1");
		snprintf(name, sizeof name, "l1_share_%s_%s", scope,
			 sb_share_names[f]);
		sb_run_log_attr(log, name, s->l1[f] * scale, "1");
	}
}

/* The measured means, and a Gaussian vector of each size as reference. */
void sb_probe_write(struct sb_probe *p, struct sb_run_log *log,
		    uint64_t seed)
{
	if (!p->measured)
		return;
	double scale = 1.0 / (double)p->measured;
	shares_attrs(log, "all", &p->sum_all, scale);
	shares_attrs(log, "rest", &p->sum_rest, scale);
	sb_run_log_attr(log, "shares_measured", (double)p->measured, "steps");
	sb_run_log_attr(log, "rest_components", (double)p->n_rest,
			"components");
	struct sb_rng rng;
	sb_rng_seed(&rng, sb_seed_mix(seed, 31));
	size_t n = p->layout->n_params;
	float *gauss = sb_malloc(n * sizeof *gauss);
	for (size_t i = 0; i < n; i++)
		gauss[i] = (float)sb_rng_normal(&rng);
	struct sb_shares s;
	sb_shares_compute(gauss, n, p->scratch, &s);
	shares_attrs(log, "gaussian_all", &s, 1.0);
	sb_shares_compute(gauss, p->n_rest, p->scratch, &s);
	shares_attrs(log, "gaussian_rest", &s, 1.0);
	free(gauss);
}
