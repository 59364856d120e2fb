/* bench_optimizers.c - time per step of dense_adam and sparse_adam at
 * n = 1e7 components and selections of 1% and 10%, for a fixed selection and
 * for one that changes at every step, the latter under each on_change mode
 * (docs/optimizers.md). Prints, asserts nothing. */
#include "sb.h"
#include "spec/params.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const struct sb_optimizer sb_optimizer_dense_adam;
extern const struct sb_optimizer sb_optimizer_sparse_adam;

enum { N = 10000000 };
#define MIN_SECONDS 0.5 /* time each case for at least this long */
#define MIN_STEPS 5
#define MAX_STEPS 1000

/* Exactly k of 0..n-1, uniformly, sorted (Knuth's selection sampling). */
static void sample_sorted(struct sb_rng *rng, size_t n, size_t k,
			  struct sb_selection *out)
{
	sb_selection_reserve(out, k);
	out->k = 0;
	for (size_t i = 0; i < n && out->k < k; i++)
		if (sb_rng_below(rng, n - i) < k - out->k)
			out->idx[out->k++] = (sb_index)i;
}

struct opt_run {
	const struct sb_optimizer *opt;
	struct sb_param *decl;
	struct sb_values cfg;
	void *priv;
};

/* on_change NULL: the optimizer's default */
static void open_opt(struct opt_run *o, const struct sb_optimizer *opt,
		     const char *on_change)
{
	struct sb_error err = {{0}};
	size_t ns = 0, no = 0;
	while (sb_schedule_params[ns].name)
		ns++;
	while (opt->params[no].name)
		no++;
	o->opt = opt;
	o->decl = sb_calloc(ns + no + 1, sizeof *o->decl);
	memcpy(o->decl, sb_schedule_params, ns * sizeof *o->decl);
	memcpy(o->decl + ns, opt->params, no * sizeof *o->decl);
	o->priv = sb_calloc(1, opt->priv_size);
	if (sb_values_defaults(&o->cfg, o->decl, &err) ||
	    (on_change &&
	     sb_values_set(&o->cfg, "on_change", on_change, &err)) ||
	    opt->init(o->priv, &o->cfg, N, &err)) {
		fprintf(stderr, "bench_optimizers: %s\n", err.msg);
		exit(1);
	}
}

static void close_opt(struct opt_run *o)
{
	o->opt->release(o->priv);
	free(o->priv);
	sb_values_release(&o->cfg);
	free(o->decl);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

struct timing {
	double min, median; /* seconds per step */
	size_t lost;        /* history lost at the last step */
	size_t bytes;       /* optimizer state */
};

/* Times single steps until MIN_SECONDS have passed, alternating between
 * sel[0] and sel[1] when `churn`. The machine may be shared: the minimum is
 * the undisturbed cost, the median the typical one. */
static struct timing time_steps(const struct sb_optimizer *opt,
				const char *on_change, float *params,
				const float *grad, struct sb_selection sel[2],
				bool churn)
{
	struct opt_run o;
	open_opt(&o, opt, on_change);
	struct sb_opt_report rep = {0};
	struct sb_opt_step st = {.t = 1, .lr = 1e-4};
	/* grad serves as the full gradient and, its first |S| entries, as S's
	 * (the values do not change the cost) */
	if (opt->grad_need(o.priv) == SB_GRAD_ALWAYS)
		st.full_grad = grad;
	opt->step(o.priv, params, grad, &sel[0], true, &st, &rep);
	double times[MAX_STEPS];
	size_t steps = 0;
	double start = sb_now();
	while (steps < MAX_STEPS &&
	       (steps < MIN_STEPS || sb_now() - start < MIN_SECONDS)) {
		st.t++;
		const struct sb_selection *s = &sel[churn ? st.t % 2 : 0];
		double t0 = sb_now();
		opt->step(o.priv, params, grad, s, churn, &st, &rep);
		times[steps++] = sb_now() - t0;
	}
	qsort(times, steps, sizeof *times, cmp_double);
	struct timing out = {
		.min = times[0],
		.median = times[steps / 2],
		.lost = rep.history_lost,
		.bytes = opt->state_bytes(o.priv),
	};
	close_opt(&o);
	return out;
}

int main(void)
{
	struct sb_rng rng;
	sb_rng_seed(&rng, 1);
	float *params = sb_malloc(N * sizeof *params);
	float *grad = sb_malloc(N * sizeof *grad);
	for (size_t i = 0; i < N; i++) {
		params[i] = (float)(0.02 * sb_rng_normal(&rng));
		grad[i] = (float)(1e-3 * sb_rng_normal(&rng));
	}

	printf("%-12s %9s %8s %9s %9s %8s %8s %9s %12s\n", "optimizer", "n",
	       "k", "S", "on_change", "min_ms", "med_ms", "state_MB",
	       "history_lost");
	const double densities[] = {0.01, 0.10};
	for (size_t d = 0; d < 2; d++) {
		size_t k = (size_t)(densities[d] * N);
		struct sb_selection sel[2] = {{0}, {0}};
		sample_sorted(&rng, N, k, &sel[0]);
		sample_sorted(&rng, N, k, &sel[1]);
		/* alternating between two sets, keep and decay park
		 * the leaving set and bring back the other: every entry
		 * that enters is a return, from the second change on */
		struct {
			const struct sb_optimizer *opt;
			bool churn;
			const char *on_change;
		} cases[] = {
			{&sb_optimizer_dense_adam, false, NULL},
			{&sb_optimizer_sparse_adam, false, "reset"},
			{&sb_optimizer_sparse_adam, true, "reset"},
			{&sb_optimizer_sparse_adam, true, "keep"},
			{&sb_optimizer_sparse_adam, true, "decay"},
		};
		for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
			struct timing tm = time_steps(cases[c].opt,
						      cases[c].on_change,
						      params, grad, sel,
						      cases[c].churn);
			printf("%-12s %9d %8zu %9s %9s %8.3f %8.3f %9.1f "
			       "%12zu\n", cases[c].opt->name, N, k,
			       cases[c].churn ? "changing" : "fixed",
			       cases[c].on_change ? cases[c].on_change : "-",
			       1e3 * tm.min, 1e3 * tm.median,
			       (double)tm.bytes / 1e6, tm.lost);
		}
		sb_selection_release(&sel[0]);
		sb_selection_release(&sel[1]);
	}
	free(params);
	free(grad);
	return 0;
}
