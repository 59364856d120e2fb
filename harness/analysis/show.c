/* show.c - `sparsebench show`: one row per run of a results file, read with
 * the results reader (docs/results.md); text left-aligned, numbers right,
 * "-" for what the file does not hold. */
#include "analysis/show.h"
#include "io/results.h"
#include "util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { COL_ID, COL_STATUS, COL_STEPS, COL_LOSS, COL_VAL_LOSS, COL_VAL_ACC,
       COL_TEST_LOSS, COL_TEST_ACC, COL_RETAINED, COL_CHURN, COL_LOST,
       COL_EVER, COL_TIME, COL_MEMORY, COL_NEEDED, COL_PEAK, N_COLS };

static const char *const headings[N_COLS] = {
	"run", "status", "steps", "loss", "val_loss", "val_acc",
	"test_loss", "test_acc", "retained", "churn", "hist_lost",
	"ever_sel", "s/step", "opt_mem", "mem", "peak_rss",
};

static char *number(double v, const char *fmt)
{
	if (isnan(v))
		return sb_strdup("-");
	return sb_asprintf(fmt, v);
}

static double last(const double *v, size_t n)
{
	return n ? v[n - 1] : NAN;
}

static double sum_finite(const double *v, size_t n)
{
	double sum = 0;
	for (size_t i = 0; i < n; i++)
		if (!isnan(v[i]))
			sum += v[i];
	return n ? sum : NAN;
}

static char *bytes(double v)
{
	char text[32];
	sb_format_bytes(v, text, sizeof text);
	return sb_strdup(text);
}

/* Everything the run's method needs: parameters, gradient, optimizer state
 * and activations (docs/results.md); NaN when the file lacks a part. */
static double needed_bytes(const struct sb_run_info *info)
{
	return sb_run_info_attr(info, "param_bytes") +
	       sb_run_info_attr(info, "grad_bytes") +
	       sb_run_info_attr(info, "optimizer_state_bytes") +
	       sb_run_info_attr(info, "activation_bytes");
}

/* The run's time_per_step attribute, else the mean over its step rows of
 * forward + backward + select + update (metrics time excluded, as in the
 * attribute). */
static int step_time(const struct sb_results_view *view, size_t run,
		     double *out, struct sb_error *err)
{
	static const char *const parts[] = {"t_forward", "t_backward",
					    "t_select", "t_update"};
	*out = sb_run_info_attr(&view->runs[run], "time_per_step");
	if (!isnan(*out))
		return 0;
	double *sum = NULL;
	size_t n_rows = 0;
	for (size_t p = 0; p < 4; p++) {
		double *v;
		size_t n;
		if (sb_results_series(view, run, "steps", parts[p], &v, &n,
				      err)) {
			free(sum);
			return -1;
		}
		if (p == 0) {
			sum = v;
			n_rows = n;
			continue;
		}
		for (size_t i = 0; i < n_rows; i++)
			sum[i] += i < n ? v[i] : NAN;
		free(v);
	}
	*out = sb_mean_finite(sum, n_rows);
	free(sum);
	return 0;
}

/* Fills the cells of one run's row. */
static int run_row(const struct sb_results_view *view, size_t run,
		   char **cells, struct sb_error *err)
{
	const struct sb_run_info *info = &view->runs[run];
	double *steps = NULL, *loss = NULL, *val_loss = NULL, *val_acc = NULL,
	       *retained = NULL, *churn = NULL, *lost = NULL, *ever = NULL,
	       t_step = NAN;
	size_t n_steps = 0, n_loss = 0, n_val_loss = 0, n_val_acc = 0,
	       n_retained = 0, n_churn = 0, n_lost = 0, n_ever = 0;
	int rc = sb_results_series(view, run, "steps", "step", &steps,
				   &n_steps, err) ||
		 sb_results_series(view, run, "steps", "loss", &loss, &n_loss,
				   err) ||
		 sb_results_series(view, run, "evals", "val_loss", &val_loss,
				   &n_val_loss, err) ||
		 sb_results_series(view, run, "evals", "val_accuracy",
				   &val_acc, &n_val_acc, err) ||
		 sb_results_series(view, run, "steps", "retained", &retained,
				   &n_retained, err) ||
		 sb_results_series(view, run, "steps", "churn", &churn,
				   &n_churn, err) ||
		 sb_results_series(view, run, "steps", "history_lost", &lost,
				   &n_lost, err) ||
		 sb_results_series(view, run, "steps", "ever_selected", &ever,
				   &n_ever, err) ||
		 step_time(view, run, &t_step, err);
	if (!rc) {
		cells[COL_ID] = sb_strdup(info->id);
		cells[COL_STATUS] = sb_strdup(*info->status ? info->status
							     : "-");
		cells[COL_STEPS] = sb_asprintf("%zu", n_steps);
		cells[COL_LOSS] = number(last(loss, n_loss), "%.4f");
		cells[COL_VAL_LOSS] = number(last(val_loss, n_val_loss), "%.4f");
		cells[COL_VAL_ACC] = number(last(val_acc, n_val_acc), "%.4f");
		cells[COL_TEST_LOSS] =
			number(sb_run_info_attr(info, "test_loss"), "%.4f");
		cells[COL_TEST_ACC] =
			number(sb_run_info_attr(info, "test_accuracy"), "%.4f");
		cells[COL_RETAINED] =
			number(sb_mean_finite(retained, n_retained), "%.4f");
		cells[COL_CHURN] =
			number(sb_mean_finite(churn, n_churn), "%.4f");
		cells[COL_LOST] = number(sum_finite(lost, n_lost), "%.0f");
		cells[COL_EVER] = number(last(ever, n_ever), "%.0f");
		cells[COL_TIME] = number(t_step, "%.3g");
		cells[COL_MEMORY] = bytes(
			sb_run_info_attr(info, "optimizer_state_bytes"));
		cells[COL_NEEDED] = bytes(needed_bytes(info));
		cells[COL_PEAK] = bytes(sb_run_info_attr(info,
							 "peak_rss_bytes"));
	}
	free(churn);
	free(lost);
	free(ever);
	free(steps);
	free(loss);
	free(val_loss);
	free(val_acc);
	free(retained);
	return rc ? -1 : 0;
}

static void print_row(FILE *out, const char *const *cells,
		      const int *width)
{
	for (int c = 0; c < N_COLS; c++) {
		/* The id and status are text; every other column a number. */
		int left = c == COL_ID || c == COL_STATUS;
		const char *sep = c + 1 < N_COLS ? "  " : "\n";
		if (left && c + 1 < N_COLS)
			fprintf(out, "%-*s%s", width[c], cells[c], sep);
		else
			fprintf(out, "%*s%s", width[c], cells[c], sep);
	}
}

/* The gradient-concentration table (train.grad_shares): per run and scope,
 * the top 0.1/1/10% shares as energy, norm and L1 (run.c's probe). */
static void print_shares(const struct sb_results_view *view, FILE *out)
{
	static const char *const scopes[] = {"all", "rest", "gaussian_all",
					     "gaussian_rest"};
	static const char *const kinds[] = {"energy", "norm", "l1"};
	static const char *const tops[] = {"p0.1", "p1", "p10"};
	bool any = false;
	size_t id_width = 3;
	for (size_t r = 0; r < view->n_runs; r++) {
		if (isnan(sb_run_info_attr(&view->runs[r],
					   "energy_share_all_p1")))
			continue;
		any = true;
		if (strlen(view->runs[r].id) > id_width)
			id_width = strlen(view->runs[r].id);
	}
	if (!any)
		return;
	fprintf(out, "\ngradient concentration: share held by the top 0.1%%, "
		"1%%, 10%% of components (mean over the measured batches; "
		"rest: without %s)\n", "train.shares_exclude");
	fprintf(out, "%-*s  %-13s", (int)id_width, "run", "scope");
	for (size_t k = 0; k < 3; k++)
		for (size_t t = 0; t < 3; t++) {
			char head[32];
			snprintf(head, sizeof head, "%s@%s%%", kinds[k],
				 tops[t] + 1);
			fprintf(out, "  %11s", head);
		}
	fputc('\n', out);
	for (size_t r = 0; r < view->n_runs; r++) {
		const struct sb_run_info *info = &view->runs[r];
		if (isnan(sb_run_info_attr(info, "energy_share_all_p1")))
			continue;
		for (size_t sc = 0; sc < 4; sc++) {
			fprintf(out, "%-*s  %-13s", (int)id_width,
				sc ? "" : info->id, scopes[sc]);
			for (size_t k = 0; k < 3; k++)
				for (size_t t = 0; t < 3; t++) {
					char name[64];
					snprintf(name, sizeof name,
						 "%s_share_%s_%s", kinds[k],
						 scopes[sc], tops[t]);
					char *cell = number(
						sb_run_info_attr(info, name),
						"%.4f");
					fprintf(out, "  %11s", cell);
					free(cell);
				}
			fputc('\n', out);
		}
	}
}

int sb_show(const char *path, FILE *out, struct sb_error *err)
{
	struct sb_results_view view;
	if (sb_results_load(&view, path, err))
		return -1;
	char *header[3] = {sb_results_root_str(&view, "experiment"),
			   sb_results_root_str(&view, "git_commit"),
			   sb_results_root_str(&view, "created")};
	char **cells = sb_calloc(view.n_runs * N_COLS, sizeof *cells);
	int rc = 0;
	for (size_t r = 0; r < view.n_runs && !rc; r++)
		rc = run_row(&view, r, &cells[r * N_COLS], err);
	if (!rc) {
		fprintf(out, "experiment %s  commit %s  created %s  %zu run%s\n",
			header[0] ? header[0] : "-",
			header[1] ? header[1] : "-",
			header[2] ? header[2] : "-", view.n_runs,
			view.n_runs == 1 ? "" : "s");
		int width[N_COLS];
		for (int c = 0; c < N_COLS; c++)
			width[c] = (int)strlen(headings[c]);
		for (size_t i = 0; i < view.n_runs * N_COLS; i++) {
			int w = (int)strlen(cells[i]);
			if (w > width[i % N_COLS])
				width[i % N_COLS] = w;
		}
		if (view.n_runs)
			print_row(out, headings, width);
		for (size_t r = 0; r < view.n_runs; r++)
			print_row(out, (const char *const *)&cells[r * N_COLS],
				  width);
		for (size_t d = 0; d < view.n_damaged; d++)
			fprintf(out, "%s  damaged: %s\n", view.damaged[d].id,
				view.damage[d]);
		print_shares(&view, out);
		rc = sb_results_damage(&view, err);
	}
	for (size_t i = 0; i < view.n_runs * N_COLS; i++)
		free(cells[i]);
	free(cells);
	for (int i = 0; i < 3; i++)
		free(header[i]);
	sb_results_view_release(&view);
	return rc;
}
