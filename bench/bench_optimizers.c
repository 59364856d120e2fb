/* bench_optimizers.c - time per step of dense_adam and sparse_adam at
 * n = 1e7 components and selections of 1% and 10%, for a fixed selection and
 * for one that changes at every step, the latter under each on_change mode
 * (docs/optimizers.md); and dense_adam
 * at n = 124M components (GPT-2 124M), S 1% or everything, against the
 * memory's floor for the bytes AdamW must move, at the rate of a triad
 * over arrays of the same size measured in the same run. Prints
 * figures and RESULT lines; asserts nothing. */
#include "floor.h"
#include "result.h"
#include "sb.h"
#include "spec/params.h"
#include "util.h"

#include <cblas.h>
#include <math.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const struct sb_optimizer sb_optimizer_dense_adam;
extern const struct sb_optimizer sb_optimizer_sparse_adam;

/* N_GPT2: the parameters of GPT-2 124M (V 50257, 1024 positions) */
enum { N = 10000000, N_GPT2 = 124439808 };
#define SPARSE_BUDGET 2e-3  /* s per sparse_adam step at 1e7, 1% */
#define DENSE_TARGET 1.5    /* dense_adam within this of its floor */
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
		     const char *on_change, size_t n)
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
	    opt->init(o->priv, &o->cfg, n, &err)) {
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
	open_opt(&o, opt, on_change, N);
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

/* dense_adam at n = 124M components, S every component or 1% of them,
 * fastest of three steps after the first, against the floor: the bytes
 * AdamW must move at the rate of the triad a += s b (12 bytes a component)
 * measured in the same run. Every moment reads the gradient and is
 * rewritten (20 bytes a component); the components of S are read and
 * rewritten (8 bytes each). */
static void bench_dense_124m(struct sb_rng *rng, float *params, float *grad,
			     double density)
{
	size_t n = N_GPT2;
	int threads = openblas_get_num_threads();
	struct sb_selection sel = {0};
	if (density < 1) {
		sample_sorted(rng, n, (size_t)(density * (double)n), &sel);
	} else {
		sb_selection_reserve(&sel, n);
		sel.k = n;
		for (size_t i = 0; i < n; i++)
			sel.idx[i] = (sb_index)i;
	}
	struct opt_run o;
	open_opt(&o, &sb_optimizer_dense_adam, NULL, n);
	struct sb_opt_report rep = {0};
	struct sb_opt_step st = {.t = 0, .lr = 1e-4, .full_grad = grad};
	double best = INFINITY, triad = INFINITY, triad_1 = INFINITY;
	for (int i = 0; i < 4; i++) {
		st.t++;
		double t0 = sb_now();
		o.opt->step(o.priv, params, grad, &sel, i == 0, &st, &rep);
		double t = sb_now() - t0;
		if (i > 0) /* the first step also faults the moments in */
			best = fmin(best, t);
		triad_1 = fmin(triad_1, sb_floor_triad(params, grad, n, 1, 1));
		triad = fmin(triad, sb_floor_triad(params, grad, n, threads, 1));
	}
	close_opt(&o);
	/* the optimizer splits its pass over the run's threads: its floor is
	 * the triad's at up to as many (the fastest count wins); one thread's
	 * is printed beside it */
	triad = fmin(triad, triad_1);
	double bytes = 20.0 * (double)n + 8.0 * (double)sel.k;
	double floor = triad * bytes / (12.0 * (double)n);
	double floor_1 = triad_1 * bytes / (12.0 * (double)n);
	char pct[16];
	snprintf(pct, sizeof pct, "%g%%", 100 * density);
	printf("dense_adam, n = %d, S %-5s %7.1f ms a step; %.2f GB; floor "
	       "(RESULT's) %6.1f ms at the triad's %.1f GB/s (%d thread%s): "
	       "%.2fx; %6.1f ms at one thread's %.1f GB/s: %.2fx\n", N_GPT2,
	       pct,
	       1e3 * best, bytes / 1e9, 1e3 * floor,
	       12.0 * (double)n / triad / 1e9, threads,
	       threads == 1 ? "" : "s", best / floor, 1e3 * floor_1,
	       12.0 * (double)n / triad_1 / 1e9, best / floor_1);
	sb_bench_result(density < 1 ? "dense_adam_124M_1pct_vs_memory"
				    : "dense_adam_124M_all_vs_memory",
			best, floor, DENSE_TARGET);
	sb_selection_release(&sel);
}

static void bench_dense(struct sb_rng *rng)
{
	size_t n = N_GPT2;
	float *params = sb_malloc(n * sizeof *params);
	float *grad = sb_malloc(n * sizeof *grad);
	for (size_t i = 0; i < n; i++) {
		params[i] = 0.01f;
		grad[i] = 1e-3f;
	}
	printf("\n");
	bench_dense_124m(rng, params, grad, 0.01);
	bench_dense_124m(rng, params, grad, 1.0);
	free(params);
	free(grad);
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

	printf("sparse_adam at 1%% is compared with a budget of %g ms a step "
	       "(RESULT sparse_adam_1e7_1pct_*_vs_2ms); dense_adam at GPT-2 "
	       "124M's size, further down, with the memory's floor\n",
	       1e3 * SPARSE_BUDGET);
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
			if (cases[c].opt != &sb_optimizer_sparse_adam || d)
				continue;
			char name[64];
			snprintf(name, sizeof name,
				 "sparse_adam_1e7_1pct_%s_%s_vs_2ms",
				 cases[c].churn ? "changing" : "fixed",
				 cases[c].on_change);
			sb_bench_result(name, tm.min, SPARSE_BUDGET, 1.0);
		}
		sb_selection_release(&sel[0]);
		sb_selection_release(&sel[1]);
	}
	free(params);
	free(grad);
	bench_dense(&rng);
	return 0;
}
