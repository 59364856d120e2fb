/* test_report.c - sb_report on results files written with the real writer:
 * the setting chosen on validation, test metric mean and sample std over
 * seeds, diverged runs counted and left out, and the md/latex/csv shapes. */
#include "support.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analysis/report.h"
#include "io/results.h"
#include "util.h"

#define N_STEPS 10

struct fix_run {
	const char *method, *setting, *policy, *optimizer;
	uint64_t seed;
	double density, val, test;
	double a;            /* retained = 1 - a (t + 1) / N_STEPS */
	double trainable, n_params, time_per_step, state_bytes;
	enum sb_status status;
};

#define DENSE "dense+dense_adam", "lr=0.0001", "dense", "dense_adam"
#define DENSE3 "dense+dense_adam", "lr=0.0003", "dense", "dense_adam"
#define TF1 "topk_first+sparse_adam", "density=0.01 lr=0.001", \
	"topk_first", "sparse_adam"
#define TF3 "topk_first+sparse_adam", "density=0.01 lr=0.003", \
	"topk_first", "sparse_adam"
#define TF10 "topk_first+sparse_adam", "density=0.1 lr=0.003", \
	"topk_first", "sparse_adam"
#define OK SB_STATUS_COMPLETED

static const struct fix_run classify[] = {
	/* dense: lr=0.0003 tests better but validates worse: not chosen */
	{DENSE, 1, 1, 0.80, 0.79, 0, 1000, 1000, 0.010, 8000, OK},
	{DENSE, 2, 1, 0.81, 0.80, 0, 1000, 1000, 0.012, 8000, OK},
	{DENSE, 3, 1, 0.82, 0.84, 0, 1000, 1000, 0.014, 8000, OK},
	{DENSE3, 1, 1, 0.78, 0.90, 0, 1000, 1000, 0.010, 8000, OK},
	{DENSE3, 2, 1, 0.79, 0.90, 0, 1000, 1000, 0.010, 8000, OK},
	{DENSE3, 3, 1, 0.80, 0.90, 0, 1000, 1000, 0.010, 8000, OK},
	{TF1, 1, 0.01, 0.60, 0.59, 0.2, 10, 1000, 0.004, 160, OK},
	{TF1, 2, 0.01, 0.61, 0.60, 0.2, 10, 1000, 0.004, 160, OK},
	{TF1, 3, 0.01, 0.62, 0.61, 0.2, 10, 1000, 0.004, 160, OK},
	/* the best at density 0.01 although one seed diverged */
	{TF3, 1, 0.01, 0.70, 0.69, 0.1, 10, 1000, 0.005, 160, OK},
	{TF3, 2, 0.01, 0.72, 0.74, 0.3, 12, 1000, 0.007, 170, OK},
	{TF3, 3, 0.01, NAN, NAN, 0.9, 99, 1000, 9.0, 9e9,
	 SB_STATUS_DIVERGED},
	{TF10, 1, 0.1, 0.75, 0.73, 0.05, 100, 1000, 0.006, 1600, OK},
	{TF10, 2, 0.1, 0.76, 0.78, 0.06, 100, 1000, 0.006, 1600, OK},
	{TF10, 3, 0.1, 0.77, 0.76, 0.07, 100, 1000, 0.006, 1600, OK},
};
#define N_CLASSIFY (sizeof classify / sizeof classify[0])
/* Full fine-tuning's time per step in that file, whatever the setting:
 * the mean of its six runs' 10, 12, 14, 10, 10 and 10 ms. */
#define FULL_MS 11.0

/* Task lm: losses, lower is better; one run still running. */
static const struct fix_run lm[] = {
	{"dense+dense_adam", "lr=0.0001", "dense", "dense_adam", 1, 1, 1.90,
	 1.95, 0, 5e5, 5e5, 0.1, 4e6, OK},
	{"dense+dense_adam", "lr=0.0001", "dense", "dense_adam", 2, 1, 1.92,
	 1.99, 0, 5e5, 5e5, 0.1, 4e6, OK},
	{"dense+dense_adam", "lr=0.001", "dense", "dense_adam", 1, 1, 2.30,
	 2.00, 0, 5e5, 5e5, 0.1, 4e6, OK},
	{"dense+dense_adam", "lr=0.001", "dense", "dense_adam", 2, 1, 2.40,
	 2.10, 0, 5e5, 5e5, 0.1, 4e6, OK},
	{"SIFT", "lr=0.003", "topk_first", "sparse_adam", 1, 0.01, 2.20, 2.25,
	 0.1, 5e3, 5e5, 0.05, 8e4, OK},
	{"SIFT", "lr=0.003", "topk_first", "sparse_adam", 2, 0.01, NAN, NAN,
	 0.1, NAN, NAN, NAN, NAN, SB_STATUS_RUNNING},
};

static double retained(const struct fix_run *r, size_t t)
{
	/* Every third step is not measured. */
	return t % 3 == 2 ? NAN : 1 - r->a * (double)(t + 1) / N_STEPS;
}

/* The runs of one file and the config they all share. */
struct written {
	const struct fix_run *runs;
	const char *config;
};

/* The run as the run loop logs it: a row every step, one evaluation at the
 * end, and the summary attributes unless it is still running. */
static void describe(const void *ctx, size_t i, struct sb_test_run *out)
{
	const struct written *w = ctx;
	const struct fix_run *r = &w->runs[i];
	bool loss = strstr(w->config, "task: lm") != NULL;

	*out = (struct sb_test_run){
		.method = r->method, .setting = r->setting,
		.policy = r->policy, .optimizer = r->optimizer,
		.seed = r->seed, .status = r->status, .n_steps = N_STEPS,
		.config_yaml = w->config, .n_evals = 1,
	};
	for (size_t t = 0; t < N_STEPS; t++)
		out->steps[t] = (struct sb_step_row){
			.step = (double)t, .retained = retained(r, t),
			.t_forward = 0.0015, .t_backward = 0.0005,
		};
	out->evals[0] = (struct sb_eval_row){
		.step = N_STEPS - 1, .val_loss = r->val, .val_accuracy = r->val,
	};
	if (r->status == SB_STATUS_RUNNING)
		return;
	sb_test_run_attr_str(out, "task", loss ? "lm" : "vector_classify");
	sb_test_run_attr(out, "density", r->density, "1");
	sb_test_run_attr(out, loss ? "final_val_loss" : "final_val_accuracy",
			 r->val, NULL);
	sb_test_run_attr(out, loss ? "test_loss" : "test_accuracy", r->test,
			 NULL);
	sb_test_run_attr(out, "trainable", r->trainable, NULL);
	sb_test_run_attr(out, "n_params", r->n_params, NULL);
	sb_test_run_attr(out, "time_per_step", r->time_per_step, "s");
	sb_test_run_attr(out, "optimizer_state_bytes", r->state_bytes,
			 "bytes");
}

struct fixture {
	char dir[64];
	char *h5;
};

static int setup_with(void **state, const struct fix_run *runs, size_t n,
		      const char *config)
{
	struct fixture *fx = sb_calloc(1, sizeof *fx);
	const struct written w = {runs, config};
	assert_int_equal(sb_test_tmpdir(fx->dir, sizeof fx->dir, "report"), 0);
	fx->h5 = sb_test_path(fx->dir, "report_fixture.h5");
	sb_test_results_write(fx->h5, "report_fixture", describe, &w, n);
	*state = fx;
	return 0;
}

static int setup_classify(void **state)
{
	return setup_with(state, classify, N_CLASSIFY,
			  "dataset: {name: fashion_mnist}\nmodel: {name: mlp}\n");
}

static int setup_lm(void **state)
{
	return setup_with(state, lm, sizeof lm / sizeof lm[0],
			  "dataset: {name: fortunes, task: lm}\n"
			  "model: {name: gpt, head: lm}\n");
}

static int setup_lm_tokens(void **state)
{
	return setup_with(state, lm, sizeof lm / sizeof lm[0],
			  "dataset: {name: llmc_tokens, task: lm}\n"
			  "model: {name: gpt, head: lm}\n");
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	sb_test_rmtree(fx->dir);
	free(fx->h5);
	free(fx);
	return 0;
}

/* ---- helpers ---- */

/* The report as text. */
static char *report(const struct fixture *fx, const char *format, bool all)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	struct sb_error err = {""};
	int rc = sb_report(fx->h5, format, all, out, &err);
	fclose(out);
	if (rc)
		fail_msg("%s", err.msg);
	return text;
}

#define MAX_LINES 32
struct lines {
	size_t n;
	char *line[MAX_LINES];
};

static void split_lines(char *text, struct lines *ls)
{
	ls->n = 0;
	for (char *p = strtok(text, "\n"); p; p = strtok(NULL, "\n")) {
		assert_true(ls->n < MAX_LINES);
		ls->line[ls->n++] = p;
	}
}

static size_t count(const char *s, const char *what)
{
	size_t n = 0;
	for (const char *p = s; (p = strstr(p, what)); p += strlen(what))
		n++;
	return n;
}

/* One CSV field (no field of these fixtures is quoted). */
static const char *field(const char *line, size_t col, char *buf, size_t size)
{
	for (size_t c = 0; c < col; c++) {
		line = strchr(line, ',');
		assert_non_null(line);
		line++;
	}
	size_t len = strcspn(line, ",");
	assert_true(len < size);
	memcpy(buf, line, len);
	buf[len] = '\0';
	return buf;
}

static double num_field(const char *line, size_t col)
{
	char buf[128];
	field(line, col, buf, sizeof buf);
	return *buf ? strtod(buf, NULL) : NAN;
}

struct expect {
	double mean, std, retained, trainable, time_ms, bytes;
	size_t n;
};

/* Worked out from the fixture the plain way: the usable runs' test
 * metric, its sample std, each run's NaN-skipping mean of retained. */
static void expect_of(const struct fix_run *runs, size_t n_runs,
		      const char *method, const char *setting,
		      struct expect *e)
{
	double sum = 0, ret = 0, tr = 0, tm = 0, by = 0;
	size_t n = 0;

	for (size_t i = 0; i < n_runs; i++) {
		const struct fix_run *r = &runs[i];
		if (strcmp(r->method, method) || strcmp(r->setting, setting) ||
		    r->status == SB_STATUS_DIVERGED)
			continue;
		sum += r->test;
		double rs = 0;
		size_t rn = 0;
		for (size_t t = 0; t < N_STEPS; t++)
			if (!isnan(retained(r, t))) {
				rs += retained(r, t);
				rn++;
			}
		ret += rs / (double)rn;
		tr += r->trainable;
		tm += r->time_per_step * 1000;
		by += r->state_bytes;
		n++;
	}
	e->n = n;
	e->mean = sum / (double)n;
	double ss = 0;
	for (size_t i = 0; i < n_runs; i++) {
		const struct fix_run *r = &runs[i];
		if (!strcmp(r->method, method) && !strcmp(r->setting, setting) &&
		    r->status != SB_STATUS_DIVERGED)
			ss += (r->test - e->mean) * (r->test - e->mean);
	}
	e->std = n > 1 ? sqrt(ss / (double)(n - 1)) : 0;
	e->retained = ret / (double)n;
	e->trainable = tr / (double)n;
	e->time_ms = tm / (double)n;
	e->bytes = by / (double)n;
}

/* A CSV number against its value worked out here: CSV numbers carry 10
 * significant digits (%.10g), a relative 1e-9. */
static void assert_csv(double got, double want)
{
	if (!(fabs(got - want) <= 1e-9 * fabs(want)))
		fail_msg("got %.12g, want %.12g", got, want);
}

/* ---- tests ---- */

static void test_csv_picks_the_best_setting_per_density(void **state)
{
	struct fixture *fx = *state;
	char *text = report(fx, "csv", false);
	struct lines ls;
	char buf[128];

	split_lines(text, &ls);
	assert_int_equal(ls.n, 1 + 3);
	assert_string_equal(ls.line[0], "method,density,setting,n_runs,"
			    "n_diverged,n_failed,n_running,test_accuracy_mean,"
			    "test_accuracy_std,test_accuracy_n,retained_mean,"
			    "trainable,n_params,time_per_step_ms,time_vs_full,"
			    "optimizer_state_bytes");
	static const struct {
		const char *method, *setting;
		double density;
		size_t n_runs, n_diverged;
	} want[] = {
		{"dense+dense_adam", "lr=0.0001", 1, 3, 0},
		{"topk_first+sparse_adam", "density=0.01 lr=0.003", 0.01, 3, 1},
		{"topk_first+sparse_adam", "density=0.1 lr=0.003", 0.1, 3, 0},
	};
	for (size_t i = 0; i < 3; i++) {
		const char *row = ls.line[1 + i];
		struct expect e;
		expect_of(classify, N_CLASSIFY, want[i].method,
			  want[i].setting, &e);
		assert_string_equal(field(row, 0, buf, sizeof buf),
				    want[i].method);
		assert_csv(num_field(row, 1), want[i].density);
		assert_string_equal(field(row, 2, buf, sizeof buf),
				    want[i].setting);
		assert_csv(num_field(row, 3), (double)want[i].n_runs);
		assert_csv(num_field(row, 4), (double)want[i].n_diverged);
		assert_true(num_field(row, 5) == 0 && num_field(row, 6) == 0);
		assert_csv(num_field(row, 7), e.mean);
		assert_csv(num_field(row, 8), e.std);
		assert_csv(num_field(row, 9), (double)e.n);
		assert_csv(num_field(row, 10), e.retained);
		assert_csv(num_field(row, 11), e.trainable);
		assert_csv(num_field(row, 12), 1000);
		assert_csv(num_field(row, 13), e.time_ms);
		assert_csv(num_field(row, 14), e.time_ms / FULL_MS);
		assert_csv(num_field(row, 15), e.bytes);
	}
	/* By hand: dense lr=0.0001 tests 0.79, 0.80, 0.84: mean 0.81, sample
	 * variance (0.0004 + 0.0001 + 0.0009) / 2 = 0.0007. */
	assert_csv(num_field(ls.line[1], 7), 0.81);
	assert_csv(num_field(ls.line[1], 8), sqrt(0.0007));
	/* topk_first at 0.01: the two usable seeds 0.69 and 0.74. */
	assert_csv(num_field(ls.line[2], 7), 0.715);
	assert_csv(num_field(ls.line[2], 8), 0.05 / sqrt(2));
	free(text);
}

static void test_csv_all_lists_every_setting(void **state)
{
	struct fixture *fx = *state;
	char *text = report(fx, "csv", true);
	struct lines ls;
	char buf[128];

	split_lines(text, &ls);
	assert_int_equal(ls.n, 1 + 5);
	static const char *const settings[] = {
		"lr=0.0001", "lr=0.0003", "density=0.01 lr=0.001",
		"density=0.01 lr=0.003", "density=0.1 lr=0.003",
	};
	for (size_t i = 0; i < 5; i++)
		assert_string_equal(field(ls.line[1 + i], 2, buf, sizeof buf),
				    settings[i]);
	/* lr=0.0003: three equal tests, std 0. */
	assert_csv(num_field(ls.line[2], 7), 0.9);
	assert_true(num_field(ls.line[2], 8) == 0);
	free(text);
}

static void test_markdown_table_shape(void **state)
{
	struct fixture *fx = *state;
	char *text = report(fx, "md", false);
	struct lines ls;

	split_lines(text, &ls);
	assert_int_equal(ls.n, 2 + 3);
	assert_string_equal(ls.line[0],
			    "| method | density | setting (best on val.) | "
			    "runs | test accuracy (%) | retained (energy) | "
			    "trainable | time/step (ms) | vs full | "
			    "optimizer state |");
	assert_string_equal(ls.line[1], "| --- | ---: | --- | ---: | ---: | "
			    "---: | ---: | ---: | ---: | ---: |");
	for (size_t i = 0; i < ls.n; i++) {
		assert_int_equal(count(ls.line[i], "|"), 11);
		assert_true(ls.line[i][0] == '|' &&
			    ls.line[i][strlen(ls.line[i]) - 1] == '|');
	}
	/* The numbers as printed: accuracy in % with two decimals. */
	struct expect e;
	expect_of(classify, N_CLASSIFY, "topk_first+sparse_adam",
		  "density=0.01 lr=0.003", &e);
	char *row = sb_asprintf("| topk_first+sparse_adam | 0.01 | "
				"density=0.01 lr=0.003 | 1/3 diverged | "
				"%.2f \xc2\xb1 %.2f | %.3f | 11 (1.10%%) | "
				"%.3g | %.2fx | 165 B |",
				e.mean * 100, e.std * 100, e.retained,
				e.time_ms, e.time_ms / FULL_MS);
	assert_string_equal(ls.line[3], row);
	free(row);
	assert_non_null(strstr(ls.line[2], "| 81.00 \xc2\xb1 2.65 |"));
	assert_non_null(strstr(ls.line[2], "| 1000 (100.00%) |"));
	assert_non_null(strstr(ls.line[2], "| 7.81 KiB |"));
	free(text);
}

static void test_latex_table_shape(void **state)
{
	struct fixture *fx = *state;
	char *text = report(fx, "latex", false);
	struct lines ls;

	split_lines(text, &ls);
	assert_int_equal(ls.n, 2 + 1 + 1 + 3 + 2);
	assert_string_equal(ls.line[0], "\\begin{tabular}{lrlrrrrrrr}");
	assert_string_equal(ls.line[1], "\\toprule");
	assert_string_equal(ls.line[3], "\\midrule");
	assert_string_equal(ls.line[7], "\\bottomrule");
	assert_string_equal(ls.line[8], "\\end{tabular}");
	assert_non_null(strstr(ls.line[2], "test accuracy (\\%)"));
	for (size_t i = 2; i < 7; i++) {
		if (i == 3)
			continue;
		assert_int_equal(count(ls.line[i], " & "), 9);
		assert_non_null(strstr(ls.line[i], " \\\\"));
	}
	assert_non_null(strstr(ls.line[5], "topk\\_first+sparse\\_adam & 0.01"
				" & density=0.01 lr=0.003 & 1/3 diverged & "
				"71.50 $\\pm$ 3.54 & "));
	assert_null(strstr(text, "\xc2\xb1"));
	free(text);
}

/* Task lm on fortunes, whose tokens are bytes: test loss in nats per
 * byte, the lowest validation loss wins, a running run is counted and its
 * missing numbers skipped, and a single seed shows no spread. */
static void test_lm_reports_test_loss(void **state)
{
	struct fixture *fx = *state;
	char *text = report(fx, "csv", false);
	struct lines ls;
	char buf[128];

	split_lines(text, &ls);
	assert_int_equal(ls.n, 1 + 2);
	assert_non_null(strstr(ls.line[0], ",test_loss_mean,test_loss_std,"));
	assert_string_equal(field(ls.line[1], 2, buf, sizeof buf), "lr=0.0001");
	assert_csv(num_field(ls.line[1], 7), (1.95 + 1.99) / 2);
	assert_csv(num_field(ls.line[1], 8), 0.04 / sqrt(2));
	assert_string_equal(field(ls.line[2], 0, buf, sizeof buf), "SIFT");
	assert_csv(num_field(ls.line[2], 6), 1);  /* n_running */
	assert_csv(num_field(ls.line[2], 7), 2.25);
	/* the std of one value does not exist: an empty field */
	assert_string_equal(field(ls.line[2], 8, buf, sizeof buf), "");
	assert_csv(num_field(ls.line[2], 9), 1);
	free(text);

	text = report(fx, "md", false);
	split_lines(text, &ls);
	assert_int_equal(ls.n, 2 + 2);
	/* One density per method: no density column. */
	assert_string_equal(ls.line[0],
			    "| method | setting (best on val.) | runs | "
			    "test loss (nats/byte) | retained (energy) | "
			    "trainable | time/step (ms) | vs full | "
			    "optimizer state |");
	/* Two seeds: mean ± sample std. */
	assert_non_null(strstr(ls.line[2], "| 1.970 \xc2\xb1 0.028 |"));
	/* One usable seed: its value alone, never "± 0.000"; the running
	 * run's time per step comes from its series (2 ms) as it has no
	 * summary yet. */
	assert_non_null(strstr(ls.line[3], "| SIFT | lr=0.003 | 1/2 running | "
					   "2.250 | "));
	assert_null(strstr(text, "\xc2\xb1 0.000"));
	/* 26 ms against full fine-tuning's 100 ms in this file */
	assert_non_null(strstr(ls.line[3], "| 26 | 0.26x |"));
	free(text);
}

/* The same runs on a tokenizer's tokens (GPT-2 BPE) are in nats per
 * token, in the table and the LaTeX alike. */
static void test_lm_on_tokens_says_nats_per_token(void **state)
{
	struct fixture *fx = *state;
	char *text = report(fx, "md", false);

	assert_non_null(strstr(text, "| test loss (nats/token) |"));
	assert_null(strstr(text, "nats/byte"));
	free(text);
	text = report(fx, "latex", false);
	assert_non_null(strstr(text, "& test loss (nats/token) &"));
	free(text);
}

static void test_bad_format_and_file(void **state)
{
	struct fixture *fx = *state;
	struct sb_error err = {""};
	char *missing = sb_asprintf("%s/none.h5", fx->dir);

	assert_int_equal(sb_report(fx->h5, "html", false, stdout, &err), -1);
	assert_string_equal(err.msg, "unknown report format 'html' (known: md, "
			    "latex, csv)");
	assert_int_equal(sb_report(missing, "md", false, stdout, &err), -1);
	assert_non_null(strstr(err.msg, "none.h5"));
	free(missing);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_csv_picks_the_best_setting_per_density,
			setup_classify, teardown),
		cmocka_unit_test_setup_teardown(test_csv_all_lists_every_setting,
						setup_classify, teardown),
		cmocka_unit_test_setup_teardown(test_markdown_table_shape,
						setup_classify, teardown),
		cmocka_unit_test_setup_teardown(test_latex_table_shape,
						setup_classify, teardown),
		cmocka_unit_test_setup_teardown(test_lm_reports_test_loss,
						setup_lm, teardown),
		cmocka_unit_test_setup_teardown(
			test_lm_on_tokens_says_nats_per_token, setup_lm_tokens,
			teardown),
		cmocka_unit_test_setup_teardown(test_bad_format_and_file,
						setup_classify, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
