/* test_plot.c - sb_plot on results files written with the real writer:
 * every figure drawn by the real gnuplot, and each .dat holding exactly the
 * numbers worked out here from the values written. */
#include "support.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "analysis/figures.h"
#include "analysis/plot.h"
#include "io/results.h"
#include "util.h"

/* ---- a known results file ---- */

#define N_STEPS 20
#define EVAL_EVERY 5

struct fix_run {
	const char *method, *setting, *policy, *optimizer;
	uint64_t seed;
	double density;
	double a;           /* drives every series of the run, see value() */
	double val, test;   /* final validation and test accuracy */
	double state_bytes;
	enum sb_status status;
	size_t steps;       /* rows written */
	bool summary;       /* the run loop's summary attributes written */
};

static const struct fix_run swept[] = {
	{"dense+dense_adam", "lr=0.0001", "dense", "dense_adam", 1, 1, 0,
	 0.80, 0.79, 8e6, SB_STATUS_COMPLETED, N_STEPS, true},
	{"dense+dense_adam", "lr=0.0001", "dense", "dense_adam", 2, 1, 0,
	 0.82, 0.83, 8e6, SB_STATUS_COMPLETED, N_STEPS, true},
	{"topk_first+sparse_adam", "density=0.01 lr=0.001", "topk_first",
	 "sparse_adam", 1, 0.01, 0.2, 0.60, 0.58, 1.6e5, SB_STATUS_COMPLETED,
	 N_STEPS, true},
	{"topk_first+sparse_adam", "density=0.01 lr=0.001", "topk_first",
	 "sparse_adam", 2, 0.01, 0.25, 0.62, 0.61, 1.6e5, SB_STATUS_COMPLETED,
	 N_STEPS, true},
	{"topk_first+sparse_adam", "density=0.01 lr=0.003", "topk_first",
	 "sparse_adam", 1, 0.01, 0.1, 0.70, 0.69, 1.6e5, SB_STATUS_COMPLETED,
	 N_STEPS, true},
	{"topk_first+sparse_adam", "density=0.01 lr=0.003", "topk_first",
	 "sparse_adam", 2, 0.01, 0.3, 0.72, 0.74, 1.6e5, SB_STATUS_COMPLETED,
	 N_STEPS, true},
	{"topk_first+sparse_adam", "density=0.1 lr=0.003", "topk_first",
	 "sparse_adam", 1, 0.1, 0.05, 0.75, 0.73, 1.6e6, SB_STATUS_COMPLETED,
	 N_STEPS, true},
	{"topk_first+sparse_adam", "density=0.1 lr=0.003", "topk_first",
	 "sparse_adam", 2, 0.1, 0.07, 0.77, 0.78, 1.6e6, SB_STATUS_COMPLETED,
	 N_STEPS, true},
	{"topk_batch+sparse_adam", "density=0.01 lr=0.003", "topk_batch",
	 "sparse_adam", 1, 0.01, 0.4, 0.65, 0.66, 1.6e5, SB_STATUS_COMPLETED,
	 N_STEPS, true},
	{"topk_batch+sparse_adam", "density=0.01 lr=0.003", "topk_batch",
	 "sparse_adam", 2, 0.01, 0.9, NAN, NAN, 9e9, SB_STATUS_DIVERGED, 7,
	 true},
};
#define N_SWEPT (sizeof swept / sizeof swept[0])

/* The gradient a fixture run holds: S is everything for dense; the top-k
 * policies read the full gradient besides S's. */
static double grad_bytes(const struct fix_run *r)
{
	return strcmp(r->policy, "dense") ? 4e6 + 4e6 * r->density : 4e6;
}

/* One completed run and one still running (half its steps, no summary). */
static const struct fix_run interrupted[] = {
	{"dense+dense_adam", "", "dense", "dense_adam", 1, 1, 0, 0.80, 0.79,
	 8e6, SB_STATUS_COMPLETED, N_STEPS, true},
	{"topk_first+sparse_adam", "", "topk_first", "sparse_adam", 1, 0.01,
	 0.2, NAN, NAN, NAN, SB_STATUS_RUNNING, 10, false},
};

/* The series of a run at step t; NaN where the run loop measures nothing
 * (churn at the first step). */
static double value(const struct fix_run *r, const char *col, size_t t)
{
	double x = (double)(t + 1) / N_STEPS;
	bool sparse = !strcmp(r->optimizer, "sparse_adam");

	if (!strcmp(col, "retained"))
		return 1 - r->a * x;
	if (!strcmp(col, "oracle_retained"))
		return 1 - r->a * x / 2;
	if (!strcmp(col, "churn"))
		return t ? r->a / (double)(t + 1) : NAN;
	if (!strcmp(col, "history_lost"))
		return sparse && t ? round(100 * r->a) : 0;
	if (!strcmp(col, "t_forward"))
		return 0.001 * (1 + r->a);
	if (!strcmp(col, "t_backward"))
		return 0.002 * (1 + r->a);
	if (!strcmp(col, "t_select"))
		return 0.0005 * r->a;
	if (!strcmp(col, "t_update"))
		return 0.0003;
	if (!strcmp(col, "val_accuracy"))
		return (isnan(r->val) ? 0.5 : r->val) * x;
	fail_msg("no value for '%s'", col);
	return NAN;
}

/* The run as the run loop logs it: a row every step, an evaluation every
 * EVAL_EVERY steps, and the summary attributes when it has them. */
static void describe(const void *runs, size_t i, struct sb_test_run *out)
{
	const struct fix_run *r = (const struct fix_run *)runs + i;

	*out = (struct sb_test_run){
		.method = r->method, .setting = r->setting,
		.policy = r->policy, .optimizer = r->optimizer,
		.seed = r->seed, .status = r->status, .n_steps = r->steps,
		.config_yaml = "dataset: {name: synthetic}\n",
	};
	for (size_t t = 0; t < r->steps; t++) {
		out->steps[t] = (struct sb_step_row){
			.step = (double)t, .loss = 1, .grad_norm = 1,
			.lr = 0.001, .n_selected = 10,
			.retained = value(r, "retained", t),
			.oracle_retained = value(r, "oracle_retained", t),
			.churn = value(r, "churn", t),
			.history_lost = value(r, "history_lost", t),
			.ever_selected = 10,
			.t_forward = value(r, "t_forward", t),
			.t_backward = value(r, "t_backward", t),
			.t_select = value(r, "t_select", t),
			.t_update = value(r, "t_update", t),
			.t_metrics = 0.5,
		};
		if ((t + 1) % EVAL_EVERY == 0)
			out->evals[out->n_evals++] = (struct sb_eval_row){
				.step = (double)t, .val_loss = 1,
				.val_accuracy = value(r, "val_accuracy", t),
				.t_eval = 0.01,
			};
	}
	if (r->summary) {
		sb_test_run_attr_str(out, "task", "vector_classify");
		sb_test_run_attr(out, "density", r->density, "1");
		sb_test_run_attr(out, "optimizer_state_bytes", r->state_bytes,
				 "bytes");
		/* memory by part: a model of 1e6 components whose gradient is
		 * S's, plus the full one for the top-k policies */
		double grad = grad_bytes(r);
		sb_test_run_attr(out, "param_bytes", 4e6, "bytes");
		sb_test_run_attr(out, "grad_bytes", grad, "bytes");
		sb_test_run_attr(out, "activation_bytes", 2e6, "bytes");
		sb_test_run_attr(out, "peak_rss_bytes",
				 4e6 + grad + r->state_bytes + 2e6 + 1e7,
				 "bytes");
		sb_test_run_attr(out, "final_val_accuracy", r->val, "1");
		sb_test_run_attr(out, "test_accuracy", r->test, "1");
	}
}

/* ---- a temporary directory per test ---- */

struct fixture {
	char dir[64];
	char *h5;  /* DIR/plot_fixture.h5 */
	char *out; /* DIR/figs */
};

static int setup_with(void **state, const struct fix_run *runs, size_t n)
{
	struct fixture *fx = sb_calloc(1, sizeof *fx);
	assert_int_equal(sb_test_tmpdir(fx->dir, sizeof fx->dir, "plot"), 0);
	fx->h5 = sb_test_path(fx->dir, "plot_fixture.h5");
	fx->out = sb_test_path(fx->dir, "figs");
	sb_test_results_write(fx->h5, "plot_fixture", describe, runs, n);
	*state = fx;
	return 0;
}

static int setup_swept(void **state)
{
	return setup_with(state, swept, N_SWEPT);
}

static int setup_interrupted(void **state)
{
	return setup_with(state, interrupted, 2);
}

/* Language modelling on bytes: full fine-tuning and SIFT under two
 * optimizers and a model from scratch, LM_STEPS steps (enough to be
 * thinned), evaluated at step 0 and every LM_EVAL_EVERY steps. */
#define LM_STEPS 130
#define LM_EVAL_EVERY 26

struct lm_run {
	const char *method, *policy, *optimizer;
	double start, gain; /* val_loss from start to start - gain */
	const char *config;
};

static const struct lm_run lm_runs[] = {
	{"dense+dense_adam", "dense", "dense_adam", 3.3, 1.4,
	 "dataset: {name: fortunes, task: lm}\n"
	 "model: {name: gpt, checkpoint: en.h5}\n"},
	{"topk_first+dense_adam", "topk_first", "dense_adam", 3.3, 1.0,
	 "dataset: {name: fortunes, task: lm}\n"
	 "model: {name: gpt, checkpoint: en.h5}\n"},
	{"topk_first+sparse_adam", "topk_first", "sparse_adam", 3.3, 0.9,
	 "dataset: {name: fortunes, task: lm}\n"
	 "model: {name: gpt, checkpoint: en.h5}\n"},
	{"scratch", "dense", "dense_adam", 5.5, 3.0,
	 "dataset: {name: fortunes, task: lm}\n"
	 "model: {name: gpt, checkpoint: \"\"}\n"},
};
#define N_LM (sizeof lm_runs / sizeof lm_runs[0])

/* churn of run i at step t, NaN at the first step */
static double lm_churn(size_t i, size_t t)
{
	return t ? 0.01 * (double)((t * 7 + i) % 13) : NAN;
}

static void describe_lm(const void *runs, size_t i, struct sb_test_run *out)
{
	const struct lm_run *r = (const struct lm_run *)runs + i;

	*out = (struct sb_test_run){
		.method = r->method, .setting = "lr=0.001",
		.policy = r->policy, .optimizer = r->optimizer, .seed = 1,
		.status = SB_STATUS_COMPLETED, .n_steps = LM_STEPS,
		.config_yaml = r->config,
	};
	for (size_t t = 0; t < LM_STEPS; t++)
		out->steps[t] = (struct sb_step_row){
			.step = (double)t, .loss = 2, .grad_norm = 1,
			.lr = 0.001, .n_selected = 10, .retained = 0.5,
			.oracle_retained = 0.6, .churn = lm_churn(i, t),
			.history_lost = 0, .ever_selected = 10,
			.t_forward = 0.001, .t_backward = 0.001,
			.t_select = 0.001, .t_update = 0.001, .t_metrics = 0,
		};
	for (size_t t = 0; t <= LM_STEPS; t += LM_EVAL_EVERY)
		out->evals[out->n_evals++] = (struct sb_eval_row){
			.step = (double)t,
			.val_loss = r->start - r->gain * (double)t / LM_STEPS,
			.val_accuracy = 0.3, .t_eval = 0.01,
		};
	sb_test_run_attr_str(out, "task", "lm");
	sb_test_run_attr(out, "final_val_loss", r->start - r->gain, "nats");
	sb_test_run_attr(out, "test_loss", r->start - r->gain, "nats");
}

static int setup_lm(void **state)
{
	struct fixture *fx = sb_calloc(1, sizeof *fx);
	assert_int_equal(sb_test_tmpdir(fx->dir, sizeof fx->dir, "plot"), 0);
	fx->h5 = sb_test_path(fx->dir, "plot_fixture.h5");
	fx->out = sb_test_path(fx->dir, "figs");
	sb_test_results_write(fx->h5, "plot_fixture", describe_lm, lm_runs,
			      N_LM);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	sb_test_rmtree(fx->dir);
	free(fx->h5);
	free(fx->out);
	free(fx);
	return 0;
}

/* ---- reading what was written ---- */

static char *out_file(const struct fixture *fx, const char *name,
		      const char *ext)
{
	return sb_asprintf("%s/%s.%s", fx->out, name, ext);
}

static void assert_image(const struct fixture *fx, const char *name,
			 const char *ext)
{
	char *path = out_file(fx, name, ext);
	size_t n = 0;
	char *bytes = sb_test_read_file(path, &n);
	if (!bytes)
		fail_msg("'%s' was not written", path);
	if (n <= 1024)
		fail_msg("'%s' holds only %zu bytes", path, n);
	if (!strcmp(ext, "png"))
		assert_memory_equal(bytes, "\x89PNG\r\n\x1a\n", 8);
	else if (!strcmp(ext, "pdf"))
		assert_memory_equal(bytes, "%PDF-", 5);
	else
		assert_true(!strncmp(bytes, "<?xml", 5) ||
			    !strncmp(bytes, "<svg", 4));
	free(bytes);
	free(path);
}

static bool exists(const char *path)
{
	struct stat st;
	return !stat(path, &st);
}

/* A .dat file: blocks of rows of whitespace-separated tokens ("..." is one
 * token), blocks separated by two blank lines, comments skipped. */
#define MAX_ROWS 256
#define MAX_TOKS 16
struct dat {
	char *columns; /* the comment line naming the columns */
	size_t n_rows, n_blocks;
	size_t block[MAX_ROWS], n_toks[MAX_ROWS];
	char tok[MAX_ROWS][MAX_TOKS][64];
};

static struct dat *read_dat(const struct fixture *fx, const char *name)
{
	char *path = out_file(fx, name, "dat");
	char *text = sb_test_read_file(path, NULL);
	if (!text)
		fail_msg("'%s' was not written", path);
	struct dat *d = sb_calloc(1, sizeof *d);
	size_t blanks = 0, comments = 0;
	for (char *p = text; *p;) {
		char *end = strchr(p, '\n');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		char line[1024];
		assert_true(len < sizeof line);
		memcpy(line, p, len);
		line[len] = '\0';
		p += len + (end != NULL);
		if (!len) {
			blanks++;
			continue;
		}
		if (line[0] == '#') {
			if (++comments == 2)
				d->columns = sb_strdup(line);
			continue;
		}
		if (blanks >= 2 && d->n_rows)
			d->n_blocks++;
		blanks = 0;
		assert_true(d->n_rows < MAX_ROWS);
		size_t r = d->n_rows++;
		d->block[r] = d->n_blocks;
		for (char *q = line; *q;) {
			while (*q == ' ')
				q++;
			if (!*q)
				break;
			size_t n = *q == '"' ? strcspn(q + 1, "\"") + 2
					     : strcspn(q, " ");
			assert_true(d->n_toks[r] < MAX_TOKS && n < 64);
			memcpy(d->tok[r][d->n_toks[r]], q, n);
			d->tok[r][d->n_toks[r]++][n] = '\0';
			q += n;
		}
	}
	d->n_blocks += d->n_rows > 0;
	free(text);
	free(path);
	return d;
}

static void free_dat(struct dat *d)
{
	free(d->columns);
	free(d);
}

static double num(const struct dat *d, size_t row, size_t col)
{
	assert_true(row < d->n_rows && col < d->n_toks[row]);
	return strtod(d->tok[row][col], NULL);
}

/* The first row of a block. */
static size_t block_start(const struct dat *d, size_t block)
{
	for (size_t r = 0; r < d->n_rows; r++)
		if (d->block[r] == block)
			return r;
	fail_msg("no block %zu", block);
	return 0;
}

/* A number of a .dat file against its value worked out here. Numbers are
 * printed with 10 significant digits (%.10g): equal to a relative 1e-9; the absolute 1e-12 covers values computed as 1 - (1 - x),
 * exact to a few ulps of 1. */
static void assert_dat(double got, double want)
{
	if (isnan(want) && isnan(got))
		return;
	if (!(fabs(got - want) <= 1e-9 * fabs(want) + 1e-12))
		fail_msg("got %.12g, want %.12g", got, want);
}

static int plot(const struct fixture *fx, const char *formats,
		const char *const *only, size_t n_only,
		struct sb_plot_summary *sum, struct sb_error *err)
{
	return sb_plot_draw(fx->h5, fx->out, formats, only, n_only, sum, err);
}

static const struct sb_plot_figure *figure(const struct sb_plot_summary *s,
					   const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->figures[i].name, name))
			return &s->figures[i];
	fail_msg("figure '%s' not in the summary", name);
	return NULL;
}

/* ---- tests ---- */

static void test_draws_every_figure_as_pdf_and_png(void **state)
{
	struct fixture *fx = *state;
	struct sb_plot_summary sum;
	struct sb_error err = {""};
	static const char *const names[] = {"grad_info", "churn", "history",
					    "val_curve", "density", "time",
					    "memory"};

	int rc = plot(fx, NULL, NULL, 0, &sum, &err);
	if (rc)
		fail_msg("%s", err.msg);
	assert_string_equal(sum.dir, fx->out);
	assert_int_equal(sum.n, 7);
	for (size_t i = 0; i < 7; i++) {
		const struct sb_plot_figure *f = figure(&sum, names[i]);
		assert_true(f->written && f->drawn);
		assert_image(fx, names[i], "pdf");
		assert_image(fx, names[i], "png");
		char *svg = out_file(fx, names[i], "svg");
		assert_false(exists(svg));
		free(svg);
		char *gp = out_file(fx, names[i], "gp");
		char *script = sb_test_read_file(gp, NULL);
		assert_non_null(script);
		/* The script reads its data by a relative path. */
		char *ref = sb_asprintf("'%s.dat'", names[i]);
		assert_non_null(strstr(script, ref));
		assert_null(strstr(script, fx->dir));
		free(ref);
		free(script);
		free(gp);
	}
	sb_plot_summary_release(&sum);
}

/* grad_info: each method's best setting on validation, 1 - retained as
 * mean, min and max over its usable seeds, the oracle beside it. */
static void test_grad_info_dat_holds_the_best_settings(void **state)
{
	struct fixture *fx = *state;
	struct sb_error err = {""};
	const char *only[] = {"grad_info"};

	if (plot(fx, "png", only, 1, NULL, &err))
		fail_msg("%s", err.msg);
	struct dat *d = read_dat(fx, "grad_info");
	assert_string_equal(d->columns, "# step lost_mean lost_min lost_max "
			    "oracle_lost_mean oracle_lost_min oracle_lost_max "
			    "n_runs");
	/* Lost information spans 0.0025 .. 0.4: a log axis, on which the
	 * dense method (nothing lost) has no point and is left out. */
	char *gp = out_file(fx, "grad_info", "gp");
	char *script = sb_test_read_file(gp, NULL);
	assert_non_null(strstr(script, "set logscale y"));
	free(script);
	free(gp);
	assert_int_equal(d->n_blocks, 2);
	assert_int_equal(d->n_rows, 2 * N_STEPS);

	/* topk_first: density=0.1 lr=0.003 has the best mean val (0.76);
	 * topk_batch: only its completed seed (the other diverged). */
	const struct fix_run *first[] = {&swept[6], &swept[7]};
	const struct fix_run *batch = &swept[8];
	for (size_t t = 0; t < N_STEPS; t++) {
		size_t r = block_start(d, 0) + t;
		assert_int_equal(d->n_toks[r], 8);
		assert_dat(num(d, r, 0), (double)t);
		double l0 = 1 - value(first[0], "retained", t);
		double l1 = 1 - value(first[1], "retained", t);
		double o0 = 1 - value(first[0], "oracle_retained", t);
		double o1 = 1 - value(first[1], "oracle_retained", t);
		assert_dat(num(d, r, 1), (l0 + l1) / 2);
		assert_dat(num(d, r, 2), fmin(l0, l1));
		assert_dat(num(d, r, 3), fmax(l0, l1));
		assert_dat(num(d, r, 4), (o0 + o1) / 2);
		assert_dat(num(d, r, 5), fmin(o0, o1));
		assert_dat(num(d, r, 6), fmax(o0, o1));
		assert_dat(num(d, r, 7), 2);

		r = block_start(d, 1) + t;
		double lb = 1 - value(batch, "retained", t);
		assert_dat(num(d, r, 1), lb);
		assert_dat(num(d, r, 2), lb);
		assert_dat(num(d, r, 3), lb);
		assert_dat(num(d, r, 4), 1 - value(batch, "oracle_retained",
						     t));
		assert_dat(num(d, r, 7), 1);
	}
	free_dat(d);
}

static void test_churn_history_and_val_curve_dat(void **state)
{
	struct fixture *fx = *state;
	struct sb_error err = {""};
	const char *only[] = {"churn", "history", "val_curve"};

	if (plot(fx, "png", only, 3, NULL, &err))
		fail_msg("%s", err.msg);

	/* churn: no value at step 0; linear axis, so all three methods. */
	struct dat *d = read_dat(fx, "churn");
	assert_string_equal(d->columns,
			    "# step churn_mean churn_min churn_max n_runs");
	assert_int_equal(d->n_blocks, 3);
	assert_int_equal(d->n_rows, 3 * (N_STEPS - 1));
	size_t r = block_start(d, 1);
	assert_dat(num(d, r, 0), 1);
	assert_dat(num(d, r, 1), (value(&swept[6], "churn", 1) +
				   value(&swept[7], "churn", 1)) / 2);
	assert_dat(num(d, block_start(d, 0), 1), 0);
	free_dat(d);

	/* history: the running sum per run, then the mean over seeds. */
	d = read_dat(fx, "history");
	assert_int_equal(d->n_blocks, 2); /* log axis: dense lost nothing */
	for (size_t t = 0; t < N_STEPS; t++) {
		double s6 = 0, s7 = 0, s8 = 0;
		for (size_t u = 0; u <= t; u++) {
			s6 += value(&swept[6], "history_lost", u);
			s7 += value(&swept[7], "history_lost", u);
			s8 += value(&swept[8], "history_lost", u);
		}
		assert_dat(num(d, block_start(d, 0) + t, 1), (s6 + s7) / 2);
		assert_dat(num(d, block_start(d, 1) + t, 1), s8);
	}
	free_dat(d);

	/* val_curve: the evaluations at steps 4, 9, 14, 19. */
	d = read_dat(fx, "val_curve");
	assert_string_equal(d->columns, "# step val_accuracy_mean "
			    "val_accuracy_min val_accuracy_max n_runs");
	assert_int_equal(d->n_blocks, 3);
	assert_int_equal(d->n_rows, 3 * N_STEPS / EVAL_EVERY);
	for (size_t e = 0; e < N_STEPS / EVAL_EVERY; e++) {
		size_t t = (e + 1) * EVAL_EVERY - 1;
		r = block_start(d, 0) + e;
		assert_dat(num(d, r, 0), (double)t);
		assert_dat(num(d, r, 1), (value(&swept[0], "val_accuracy", t) +
					   value(&swept[1], "val_accuracy", t)) /
						  2);
		assert_dat(num(d, r, 2), value(&swept[0], "val_accuracy", t));
		assert_dat(num(d, r, 3), value(&swept[1], "val_accuracy", t));
	}
	free_dat(d);
}

/* density: at each density each method's best setting, test accuracy as
 * mean and sample std over the usable seeds. */
static void test_density_dat(void **state)
{
	struct fixture *fx = *state;
	struct sb_error err = {""};
	const char *only[] = {"density"};

	if (plot(fx, "pdf", only, 1, NULL, &err))
		fail_msg("%s", err.msg);
	struct dat *d = read_dat(fx, "density");
	assert_string_equal(d->columns, "# density test_accuracy_mean "
			    "test_accuracy_std n_runs setting");
	assert_int_equal(d->n_blocks, 3);
	assert_int_equal(d->n_rows, 4);
	static const struct {
		size_t block;
		double density;
		size_t a, b; /* the runs of the chosen setting */
		const char *setting;
	} want[] = {
		{0, 1, 0, 1, "\"lr=0.0001\""},
		{1, 0.01, 4, 5, "\"density=0.01 lr=0.003\""},
		{1, 0.1, 6, 7, "\"density=0.1 lr=0.003\""},
		{2, 0.01, 8, 8, "\"density=0.01 lr=0.003\""},
	};
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(d->block[i], want[i].block);
		double x = swept[want[i].a].test, y = swept[want[i].b].test;
		size_t n = want[i].a == want[i].b ? 1 : 2;
		/* sample std of two values: |x - y| / sqrt(2) */
		double std = n == 2 ? fabs(x - y) / sqrt(2) : 0;
		assert_dat(num(d, i, 0), want[i].density);
		assert_dat(num(d, i, 1), n == 2 ? (x + y) / 2 : x);
		assert_dat(num(d, i, 2), std);
		assert_dat(num(d, i, 3), (double)n);
		assert_string_equal(d->tok[i][4], want[i].setting);
	}
	free_dat(d);
}

static void test_time_and_memory_dat(void **state)
{
	struct fixture *fx = *state;
	struct sb_error err = {""};
	const char *only[] = {"time", "memory"};

	if (plot(fx, "png", only, 2, NULL, &err))
		fail_msg("%s", err.msg);

	/* time: a panel per optimizer; in each, a bar per method and
	 * density, the best setting there. The panels share their rows, in
	 * palette order (dense, topk_batch, topk_first) then by density. */
	struct dat *d = read_dat(fx, "time");
	assert_int_equal(d->n_rows, 4);
	assert_int_equal(d->n_blocks, 2);
	static const struct {
		size_t block, slot, a, b; /* runs of the setting drawn */
	} bars[] = {
		{0, 0, 0, 1},   /* dense, dense_adam */
		{1, 1, 8, 8},   /* topk_batch 0.01: 9 diverged */
		{1, 2, 4, 5},   /* topk_first 0.01: lr=0.003 validates best */
		{1, 3, 6, 7},   /* topk_first 0.1 */
	};
	for (size_t b = 0; b < 4; b++) {
		const struct fix_run *x = &swept[bars[b].a];
		const struct fix_run *y = &swept[bars[b].b];
		static const char *const ph[] = {"t_forward", "t_backward",
						 "t_select", "t_update"};
		double total = 0;
		assert_int_equal(d->n_toks[b], 10);
		assert_int_equal(d->block[b], bars[b].block);
		assert_dat(num(d, b, 0), (double)bars[b].slot);
		for (size_t p = 0; p < 4; p++) {
			double ms = (value(x, ph[p], 0) + value(y, ph[p], 0)) /
				    2 * 1000;
			assert_dat(num(d, b, 1 + p), ms);
			total += ms;
		}
		assert_dat(num(d, b, 5), total);
		assert_dat(num(d, b, 6), x == y ? 1 : 2);
	}
	free_dat(d);

	/* memory: policies in palette order, topk_first split by density,
	 * the parts stacked in MiB (the largest, dense's peak, is 2.8e7
	 * bytes); the diverged run's 9e9 left out. */
	d = read_dat(fx, "memory");
	assert_string_equal(d->columns, "# x params grad state acts total "
			    "peak n_runs rgb method optimizer density size");
	assert_int_equal(d->n_rows, 4);
	assert_int_equal(d->n_blocks, 2); /* a panel per optimizer */
	static const struct {
		const char *policy;
		double grad, state, density;
		size_t n;
	} want[] = {
		{"dense", 4e6, 8e6, NAN, 2},
		{"topk_batch", 4.04e6, 1.6e5, NAN, 1},
		{"topk_first", 4.04e6, 1.6e5, 0.01, 4},
		{"topk_first", 4.4e6, 1.6e6, 0.1, 2},
	};
	const double mib = 1048576;
	for (size_t b = 0; b < 4; b++) {
		double total = 4e6 + want[b].grad + want[b].state + 2e6;
		assert_string_equal(d->tok[b][9], want[b].policy);
		assert_dat(num(d, b, 1), 4e6 / mib);
		assert_dat(num(d, b, 2), want[b].grad / mib);
		assert_dat(num(d, b, 3), want[b].state / mib);
		assert_dat(num(d, b, 4), 2e6 / mib);
		assert_dat(num(d, b, 5), total / mib);
		assert_dat(num(d, b, 6), (total + 1e7) / mib);
		assert_dat(num(d, b, 7), (double)want[b].n);
		assert_dat(num(d, b, 11), want[b].density);
	}
	/* 1.8e7 and 1.02e7 bytes */
	assert_string_equal(d->tok[0][12], "\"17.2 MiB\"");
	assert_string_equal(d->tok[1][12], "\"9.73 MiB\"");
	free_dat(d);
}

static void test_svg_on_request_draws_only_the_named(void **state)
{
	struct fixture *fx = *state;
	struct sb_error err = {""};
	struct sb_plot_summary sum;
	const char *only[] = {"churn"};

	if (plot(fx, "svg", only, 1, &sum, &err))
		fail_msg("%s", err.msg);
	assert_int_equal(sum.n, 1);
	assert_true(sum.figures[0].drawn);
	assert_image(fx, "churn", "svg");
	char *png = out_file(fx, "churn", "png");
	char *other = out_file(fx, "grad_info", "dat");
	assert_false(exists(png));
	assert_false(exists(other));
	free(png);
	free(other);
	sb_plot_summary_release(&sum);
}

/* A run still `running` (no summary attributes, half its steps) plots
 * what it holds; with one density the density figure does not apply. */
static void test_running_run_plots_what_it_holds(void **state)
{
	struct fixture *fx = *state;
	struct sb_error err = {""};
	struct sb_plot_summary sum;

	if (plot(fx, NULL, NULL, 0, &sum, &err))
		fail_msg("%s", err.msg);
	const struct sb_plot_figure *dens = figure(&sum, "density");
	assert_false(dens->written);
	assert_non_null(dens->why);
	assert_true(figure(&sum, "grad_info")->drawn);
	assert_true(figure(&sum, "val_curve")->drawn);
	assert_true(figure(&sum, "memory")->drawn);
	assert_image(fx, "grad_info", "pdf");

	struct dat *d = read_dat(fx, "grad_info");
	/* dense loses nothing: a linear axis with both methods. */
	assert_int_equal(d->n_blocks, 2);
	size_t r = block_start(d, 1);
	assert_int_equal(d->n_rows - r, 10);
	assert_dat(num(d, r + 9, 1),
		    1 - value(&interrupted[1], "retained", 9));
	free_dat(d);

	d = read_dat(fx, "val_curve");
	assert_int_equal(d->n_rows, 4 + 2);
	free_dat(d);

	/* Only the completed run recorded its memory. */
	d = read_dat(fx, "memory");
	assert_int_equal(d->n_rows, 1);
	assert_string_equal(d->tok[0][9], "dense");
	free_dat(d);
	sb_plot_summary_release(&sum);
}

static void test_gnuplot_missing_writes_data_and_scripts(void **state)
{
	struct fixture *fx = *state;
	struct sb_error err = {""};
	char *saved = sb_strdup(getenv("PATH"));
	char *empty = sb_asprintf("%s/empty", fx->dir);

	assert_int_equal(mkdir(empty, 0700), 0);
	setenv("PATH", empty, 1);
	int rc = sb_plot(fx->h5, fx->out, NULL, NULL, 0, &err);
	setenv("PATH", saved, 1);
	assert_int_equal(rc, -1);
	assert_string_equal(err.msg, "gnuplot not found; install it with: "
			    "apt-get install gnuplot-nox");
	static const char *const names[] = {"grad_info", "churn", "history",
					    "val_curve", "density", "time",
					    "memory"};
	for (size_t i = 0; i < 7; i++) {
		char *dat = out_file(fx, names[i], "dat");
		char *gp = out_file(fx, names[i], "gp");
		char *pdf = out_file(fx, names[i], "pdf");
		assert_true(exists(dat));
		assert_true(exists(gp));
		assert_false(exists(pdf));
		free(dat);
		free(gp);
		free(pdf);
	}
	free(saved);
	free(empty);
}

/* The scripts redraw from their own directory: `cd DIR && gnuplot x.gp`. */
static void test_script_redraws_from_its_directory(void **state)
{
	struct fixture *fx = *state;
	struct sb_error err = {""};
	const char *only[] = {"memory"};

	if (plot(fx, "png", only, 1, NULL, &err))
		fail_msg("%s", err.msg);
	char *png = out_file(fx, "memory", "png");
	assert_int_equal(remove(png), 0);
	char *cmd = sb_asprintf("cd '%s' && gnuplot memory.gp 2>/dev/null",
				fx->out);
	assert_int_equal(system(cmd), 0);
	assert_image(fx, "memory", "png");
	free(cmd);
	free(png);
}

static void test_default_dir_and_bad_arguments(void **state)
{
	struct fixture *fx = *state;
	struct sb_error err = {""};
	const char *only[] = {"time"};
	const char *bad[] = {"gradinfo"};

	if (sb_plot(fx->h5, NULL, "png", only, 1, &err))
		fail_msg("%s", err.msg);
	char *png = sb_asprintf("%s/plot_fixture/time.png", fx->dir);
	assert_true(exists(png));
	free(png);

	assert_int_equal(sb_plot(fx->h5, NULL, "png,jpg", NULL, 0, &err), -1);
	assert_string_equal(err.msg, "unknown figure format 'jpg' (known: "
			    "pdf, png, svg)");
	assert_int_equal(sb_plot(fx->h5, NULL, NULL, bad, 1, &err), -1);
	assert_string_equal(err.msg, "unknown figure 'gradinfo' (known: "
			    "grad_info, churn, history, val_curve, density, "
			    "time, memory)");
	char *missing = sb_asprintf("%s/none.h5", fx->dir);
	assert_int_equal(sb_plot(missing, NULL, NULL, NULL, 0, &err), -1);
	assert_non_null(strstr(err.msg, "none.h5"));
	free(missing);
}


/* A validation curve explains itself: the pre-trained level (step 0 of
 * the fine-tuned methods, not of the model from scratch) and full
 * fine-tuning in the panels of the other optimizers, each in the legend;
 * the axis in nats per byte, the dataset's tokens being bytes; a policy
 * has one colour in every panel. */
static void test_val_curve_references_and_units(void **state)
{
	struct fixture *fx = *state;
	struct sb_error err = {""};
	const char *only[] = {"val_curve"};

	if (plot(fx, "png", only, 1, NULL, &err))
		fail_msg("%s", err.msg);
	char *gp = out_file(fx, "val_curve", "gp");
	char *script = sb_test_read_file(gp, NULL);
	assert_non_null(script);
	assert_non_null(strstr(script, "ylabel = \"validation loss "
				       "(nats/byte)\""));
	assert_non_null(strstr(script, "\nstart = 3.3\n"));
	assert_non_null(strstr(script, "title \"pre-trained model\""));
	assert_non_null(strstr(script, "title \"full fine-tuning\""));
	/* Two panels, dense_adam then sparse_adam; full fine-tuning (block
	 * 0) is drawn dashed only in the second. */
	char *p1 = strstr(script, "# panel 1: optimizer: dense_adam");
	char *p2 = strstr(script, "# panel 2: optimizer: sparse_adam");
	char *legend = strstr(script, "# the legend");
	assert_true(p1 && p2 && legend && p1 < p2 && p2 < legend);
	*legend = '\0';
	char *dashed = strstr(script, "index 0 using 1:(y($2)) with lines "
				      "lc");
	assert_true(dashed && dashed > p2);
	assert_non_null(strstr(p2, "y(start) with lines"));
	/* topk_first is blue in both panels. */
	p2[0] = '\0';
	assert_non_null(strstr(p1, "lc rgb \"#0072B2\""));
	assert_non_null(strstr(p2 + 1, "lc rgb \"#0072B2\""));
	free(script);

	/* The y axis starts at the pre-trained level, not at the model
	 * from scratch's 5.5: range 1.9 .. 3.3 + 0.1 * 1.4, padded 4%. */
	script = sb_test_read_file(gp, NULL);
	free(gp);
	const char *yr = strstr(script, "set yrange [");
	assert_non_null(yr);
	double lo, hi;
	assert_int_equal(sscanf(yr, "set yrange [%lf:%lf]", &lo, &hi), 2);
	assert_near(lo, 1.9 - 0.04 * 1.54, 1e-6);
	assert_near(hi, 3.44 + 0.04 * 1.54, 1e-6);
	free(script);
}

/* A long series is thinned to averages of consecutive rows, and its .dat
 * says so. 130 steps: windows of 3 (130 / 60 rounded up), the last of
 * one row; churn starts at step 1. */
static void test_long_series_are_thinned(void **state)
{
	struct fixture *fx = *state;
	struct sb_error err = {""};
	const char *only[] = {"churn"};

	if (plot(fx, "png", only, 1, NULL, &err))
		fail_msg("%s", err.msg);
	char *path = out_file(fx, "churn", "dat");
	char *text = sb_test_read_file(path, NULL);
	assert_non_null(strstr(text, "thinned: each row averages 3 "
				     "consecutive rows"));
	free(text);
	free(path);
	struct dat *d = read_dat(fx, "churn");
	assert_int_equal(d->n_blocks, 4);
	assert_int_equal(d->n_rows, 4 * 43); /* 129 steps: 43 windows */
	for (size_t w = 0; w < 43; w++) {
		size_t r = block_start(d, 1) + w;
		double steps = 0, churn = 0;
		for (size_t t = 1 + 3 * w; t < 4 + 3 * w; t++) {
			steps += (double)t;
			churn += lm_churn(1, t);
		}
		assert_dat(num(d, r, 0), steps / 3);
		assert_dat(num(d, r, 1), churn / 3);
	}
	free_dat(d);
}

/* Tick labels as gnuplot writes them with "%g", for the room they need. */
/* Black marks the full fine-tuning baseline alone: with more methods than
 * colours, the others wrap among the rest, each pairing its colour with a
 * point no other key has with it. */
static void test_only_the_baseline_is_black(void **state)
{
	(void)state;
	static const char *const policies[] = {
		"dense", "topk_batch", "topk_first", "random", "fixed_layers",
		"fisher", "lisa", "magnitude", "drop_regrow", "topk_refresh",
		"p10", "p11", "p12", "p13", "p14", "p15", "p16", "p17", "p18",
		"p19", "p20", "p21", "p22", "p23",
	};
	enum { N = sizeof policies / sizeof policies[0] };
	struct sb_agg_setting settings[N];
	for (size_t i = 0; i < N; i++)
		settings[i] = (struct sb_agg_setting){
			.method = policies[i], .policy = policies[i],
			.optimizer = "sparse_adam"};
	struct sb_aggregate agg = {.settings = settings, .n_settings = N};
	struct sb_palette pal;
	sb_palette_init(&pal, &agg);
	assert_int_equal(pal.n_keys, N);
	assert_int_equal(sb_palette_color(&pal, "dense"), 0x000000);
	for (size_t i = 1; i < N; i++) {
		unsigned ci = sb_palette_color(&pal, policies[i]);
		int pi = sb_palette_point(&pal, policies[i]);
		assert_int_not_equal(ci, 0x000000);
		/* and no two keys look alike */
		for (size_t j = 0; j < i; j++)
			assert_false(sb_palette_color(&pal, policies[j]) == ci &&
				     sb_palette_point(&pal, policies[j]) == pi);
	}
	sb_palette_release(&pal);
}

static void test_tick_label_widths(void **state)
{
	(void)state;
	assert_near(sb_fig_tic_step(0, 300), 50, 0);
	assert_near(sb_fig_tic_step(1.9, 3.4), 0.2, 1e-12);
	assert_int_equal(sb_fig_tic_chars(0, 300, false), 3);      /* "300" */
	assert_int_equal(sb_fig_tic_chars(1.9, 3.4, false), 3);    /* "2.4" */
	assert_int_equal(sb_fig_tic_chars(-0.04, 1.04, false), 3); /* "0.2" */
	assert_int_equal(sb_fig_tic_chars(1e-3, 1, true), 5);      /* "0.001" */
	assert_int_equal(sb_fig_tic_chars(100, 1e5, true), 6);     /* "100000" */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_draws_every_figure_as_pdf_and_png, setup_swept,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_grad_info_dat_holds_the_best_settings, setup_swept,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_churn_history_and_val_curve_dat, setup_swept,
			teardown),
		cmocka_unit_test_setup_teardown(test_density_dat, setup_swept,
						teardown),
		cmocka_unit_test_setup_teardown(test_time_and_memory_dat,
						setup_swept, teardown),
		cmocka_unit_test_setup_teardown(
			test_svg_on_request_draws_only_the_named, setup_swept,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_running_run_plots_what_it_holds, setup_interrupted,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_gnuplot_missing_writes_data_and_scripts,
			setup_swept, teardown),
		cmocka_unit_test_setup_teardown(
			test_script_redraws_from_its_directory, setup_swept,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_default_dir_and_bad_arguments, setup_swept,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_val_curve_references_and_units, setup_lm,
			teardown),
		cmocka_unit_test_setup_teardown(test_long_series_are_thinned,
						setup_lm, teardown),
		cmocka_unit_test(test_tick_label_widths),
		cmocka_unit_test(test_only_the_baseline_is_black),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
