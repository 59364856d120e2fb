/* test_show.c - `sparsebench show` on a results file of known values: one
 * aligned row per run with the last losses, test figures, mean retained and
 * time per step, "-" where the file holds nothing. */
#include "support.h"

#include "io/results.h"
#include "analysis/show.h"
#include "util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmp_dir[64];
static char *results_path;

/* "dense": 200 completed steps, evaluations at 0, 100, 200, test figures
 * and time_per_step attributes. "sparse": 50 steps still running, no
 * evaluation, no retained share, times only in the step rows. */
static void describe(const void *ctx, size_t i, struct sb_test_run *out)
{
	static const double val_loss[] = {3.1, 2.5, 2.25};
	static const double val_acc[] = {0.1, 0.3, 0.4375};
	bool dense = i == 0;

	(void)ctx;
	*out = (struct sb_test_run){
		.id = dense ? "dense" : "sparse", .method = "full",
		.setting = "", .policy = "dense", .optimizer = "dense_adam",
		.seed = 1, .config_yaml = "seed: 1\n",
		.status = dense ? SB_STATUS_COMPLETED : SB_STATUS_RUNNING,
		.n_steps = dense ? 200 : 50, .n_evals = dense ? 3 : 0,
	};
	if (!dense) {
		for (int s = 0; s < 50; s++)
			out->steps[s] = (struct sb_step_row){
				.step = s + 1, .loss = 2.75, .retained = NAN,
				.churn = NAN,
				.t_forward = 0.01, .t_backward = 0.02,
				.t_select = 0.001, .t_update = 0.004,
				/* excluded from the step time */
				.t_metrics = 1.0,
			};
		return;
	}
	for (int e = 0; e < 3; e++)
		out->evals[e] = (struct sb_eval_row){100 * e, val_loss[e],
						     val_acc[e], 0.5};
	/* Retained 0.5 then 1.0, NaN at every tenth step of both halves
	 * alike: the NaN-skipping mean is 0.75. */
	for (int s = 0; s < 200; s++)
		out->steps[s] = (struct sb_step_row){
			.step = s + 1, .loss = 3.0 - 0.005 * s,
			.retained = s % 10 == 0 ? NAN : s < 100 ? 0.5 : 1.0,
			.churn = s % 2 ? 0.75 : 0.25,
			.history_lost = 3, .ever_selected = s,
			.t_forward = 1.0, /* time_per_step must win */
		};
	sb_test_run_attr(out, "test_loss", 2.3, "nats");
	sb_test_run_attr(out, "test_accuracy", 0.42, "1");
	sb_test_run_attr(out, "time_per_step", 0.0125, "s");
	sb_test_run_attr(out, "optimizer_state_bytes", 1.5 * 1024 * 1024,
			 "bytes");
	/* 1 + 1 + 1.5 + 0.5 MiB needed, 8 MiB at the peak */
	sb_test_run_attr(out, "param_bytes", 1024 * 1024, "bytes");
	sb_test_run_attr(out, "grad_bytes", 1024 * 1024, "bytes");
	sb_test_run_attr(out, "activation_bytes", 512 * 1024, "bytes");
	sb_test_run_attr(out, "peak_rss_bytes", 8 * 1024 * 1024, "bytes");
}

static char *show_text(const char *path, int *rc, struct sb_error *err)
{
	char *text = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&text, &size);
	assert_non_null(out);
	*rc = sb_show(path, out, err);
	fclose(out);
	return text;
}

/* The cells of a table line: columns are separated by two spaces or more,
 * and a cell holds single spaces at most ("1.50 MiB"). */
static size_t split(char *line, char **fields, size_t max)
{
	size_t n = 0;
	char *p = line;
	while (*p == ' ')
		p++;
	while (*p && n < max) {
		fields[n++] = p;
		char *end = strstr(p, "  ");
		if (!end)
			break;
		*end = '\0';
		for (p = end + 1; *p == ' '; p++)
			;
	}
	return n;
}

static void expect_fields(char *line, const char *const *want, size_t n_want)
{
	char *fields[20];
	size_t n = split(line, fields, 20);
	assert_int_equal(n, n_want);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(fields[i], want[i]);
}

static void test_rows_hold_the_known_values(void **state)
{
	(void)state;
	struct sb_error err = {{0}};
	int rc;
	char *text = show_text(results_path, &rc, &err);
	if (rc)
		fail_msg("%s", err.msg);

	char *lines[8];
	size_t n_lines = 0;
	for (char *l = strtok(text, "\n"); l && n_lines < 8;
	     l = strtok(NULL, "\n"))
		lines[n_lines++] = l;
	assert_int_equal(n_lines, 4);
	assert_non_null(strstr(lines[0], "experiment showcase"));
	assert_non_null(strstr(lines[0], "commit "));
	assert_non_null(strstr(lines[0], "created 20"));
	assert_non_null(strstr(lines[0], "2 runs"));
	/* Aligned: numbers are right-aligned up to the last column, so every
	 * line of the table has the same length. */
	assert_int_equal(strlen(lines[1]), strlen(lines[2]));
	assert_int_equal(strlen(lines[1]), strlen(lines[3]));
	assert_int_equal(strstr(lines[1], "status") - lines[1],
			 strstr(lines[2], "completed") - lines[2]);

	static const char *const heading[] = {
		"run", "status", "steps", "loss", "val_loss", "val_acc",
		"test_loss", "test_acc", "retained", "churn", "hist_lost",
		"ever_sel", "s/step", "opt_mem", "mem", "peak_rss"};
	/* churn: mean of 0.25 and 0.75 over the even and odd steps; history
	 * lost: 3 per step over 200 steps; ever selected: the last row */
	static const char *const dense[] = {
		"dense", "completed", "200", "2.0050", "2.2500", "0.4375",
		"2.3000", "0.4200", "0.7500", "0.5000", "600", "199",
		"0.0125", "1.50 MiB", "4.00 MiB", "8.00 MiB"};
	/* 0.01 + 0.02 + 0.001 + 0.004 per step, printed with 3 digits. */
	static const char *const sparse[] = {
		"sparse", "running", "50", "2.7500", "-", "-", "-", "-", "-",
		"-", "0", "0", "0.035", "-", "-", "-"};
	expect_fields(lines[1], heading, 16);
	expect_fields(lines[2], dense, 16);
	expect_fields(lines[3], sparse, 16);
	free(text);
}

static void test_unreadable_file_is_named(void **state)
{
	(void)state;
	char *path = sb_test_path(tmp_dir, "garbage.h5");
	FILE *f = fopen(path, "w");
	fputs("not a results file\n", f);
	fclose(f);
	struct sb_error err = {{0}};
	int rc;
	char *text = show_text(path, &rc, &err);
	assert_int_equal(rc, -1);
	assert_string_equal(text, "");
	assert_non_null(strstr(err.msg, path));
	unlink(path);
	free(text);
	free(path);
}

static int setup(void **state)
{
	(void)state;
	if (sb_test_tmpdir(tmp_dir, sizeof tmp_dir, "test_show"))
		return -1;
	results_path = sb_test_path(tmp_dir, "show.h5");
	sb_test_results_write(results_path, "showcase", describe, NULL, 2);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(results_path);
	return sb_test_rmtree(tmp_dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows_hold_the_known_values),
		cmocka_unit_test(test_unreadable_file_is_named),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
