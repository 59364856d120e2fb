/* report.c - `sparsebench report`: the table of a paper. Each method's
 * setting is chosen on the mean validation metric over seeds and its test
 * metric reported (DESIGN.md, "Learning rates"; docs/figures.md). */
#include "analysis/report.h"
#include "analysis/aggregate.h"
#include "util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct row {
	size_t setting;      /* in agg->settings */
	struct sb_stats metric; /* test metric over the usable runs */
	double retained;     /* mean over runs of each run's mean over steps */
	double trainable;    /* mean |S| */
	double n_params;
	double time_ms;      /* per step, forward to update */
	double time_ratio;   /* time_ms over full fine-tuning's in the file */
	double state_bytes;  /* optimizer state */
};

/* The time of one run per step in s: its summary attribute, else the sum
 * of its mean phase times. */
static int run_time(const struct sb_aggregate *agg, size_t r, double *t,
		    struct sb_error *err)
{
	static const char *const phases[] = {"t_forward", "t_backward",
					     "t_select", "t_update"};

	*t = sb_run_info_attr(agg->runs[r].info, "time_per_step");
	if (isfinite(*t))
		return 0;
	*t = 0;
	for (size_t p = 0; p < 4; p++) {
		double m;
		if (sb_aggregate_series_mean(agg, r, "steps", phases[p], &m,
					     err))
			return -1;
		*t += isfinite(m) ? m : 0;
	}
	if (*t == 0)
		*t = NAN;
	return 0;
}

static int fill_row(const struct sb_aggregate *agg, size_t s, struct row *row,
		    struct sb_error *err)
{
	const struct sb_agg_setting *st = &agg->settings[s];
	size_t n = st->n_usable; /* usable runs come first */
	double *v[6];
	int rc = 0;

	for (int k = 0; k < 6; k++)
		v[k] = sb_calloc(n, sizeof *v[k]);
	for (size_t j = 0; j < n && !rc; j++) {
		size_t r = st->runs[j];
		const struct sb_run_info *info = agg->runs[r].info;
		v[0][j] = agg->runs[r].test;
		v[2][j] = sb_run_info_attr(info, "trainable");
		v[3][j] = sb_run_info_attr(info, "n_params");
		v[5][j] = sb_run_info_attr(info, "optimizer_state_bytes");
		rc = sb_aggregate_series_mean(agg, r, "steps", "retained",
					      &v[1][j], err) ||
		     run_time(agg, r, &v[4][j], err);
	}
	memset(row, 0, sizeof *row);
	row->setting = s;
	sb_stats_of(v[0], n, &row->metric);
	row->retained = sb_mean_finite(v[1], n);
	row->trainable = sb_mean_finite(v[2], n);
	row->n_params = sb_mean_finite(v[3], n);
	row->time_ms = sb_mean_finite(v[4], n) * 1000;
	row->state_bytes = sb_mean_finite(v[5], n);
	for (int k = 0; k < 6; k++)
		free(v[k]);
	return rc ? -1 : 0;
}

/* Full fine-tuning's time per step in this file, in ms: the mean over the
 * runs of the method dense+dense_adam, else of the first method pairing
 * those two (timings do not depend on the learning rate or checkpoint);
 * NaN without one. */
static int full_time_ms(const struct sb_aggregate *agg, double *ms,
			struct sb_error *err)
{
	size_t full = SIZE_MAX;
	for (size_t m = agg->n_methods; m-- > 0;) {
		const struct sb_agg_method *me = &agg->methods[m];
		if (!strcmp(me->policy, "dense") &&
		    !strcmp(me->optimizer, "dense_adam") &&
		    (full == SIZE_MAX || !strcmp(me->method, "dense+dense_adam")
		     || strcmp(agg->methods[full].method, "dense+dense_adam")))
			full = m;
	}
	double sum = 0;
	size_t n = 0;
	for (size_t j = 0; full != SIZE_MAX && j < agg->methods[full].n_settings;
	     j++) {
		const struct sb_agg_setting *st =
			&agg->settings[agg->methods[full].settings[j]];
		for (size_t i = 0; i < st->n_usable; i++) {
			double t;
			if (run_time(agg, st->runs[i], &t, err))
				return -1;
			if (isfinite(t)) {
				sum += t;
				n++;
			}
		}
	}
	*ms = n ? 1000 * sum / (double)n : NAN;
	return 0;
}

static size_t collect_rows(const struct sb_aggregate *agg, bool all,
			   size_t *settings)
{
	size_t n = 0;

	for (size_t m = 0; m < agg->n_methods; m++) {
		const struct sb_agg_method *me = &agg->methods[m];
		if (all) {
			for (size_t j = 0; j < me->n_settings; j++)
				settings[n++] = me->settings[j];
		} else if (agg->density_swept) {
			for (size_t d = 0; d < agg->n_densities; d++) {
				size_t s = sb_aggregate_best(agg, m,
							     agg->densities[d]);
				if (s != SIZE_MAX)
					settings[n++] = s;
			}
			/* Settings without a known density still get a row. */
			size_t s = sb_aggregate_best(agg, m, NAN);
			if (s != SIZE_MAX && isnan(agg->settings[s].density))
				settings[n++] = s;
		} else {
			settings[n++] = sb_aggregate_best(agg, m, NAN);
		}
	}
	return n;
}

/* ---- cells ---- */

static char *runs_cell(const struct sb_agg_setting *st)
{
	char buf[160];
	size_t len = 0;
	const struct {
		size_t n;
		const char *what;
	} parts[] = {
		{st->n_diverged, "diverged"},
		{st->n_failed, "failed"},
		{st->n_running, "running"},
	};

	buf[0] = '\0';
	for (size_t k = 0; k < 3; k++)
		if (parts[k].n)
			len += (size_t)snprintf(buf + len, sizeof buf - len,
						"%s%zu/%zu %s", len ? ", " : "",
						parts[k].n, st->n_runs,
						parts[k].what);
	return len ? sb_strdup(buf) : sb_asprintf("%zu", st->n_runs);
}

static char *count_cell(double n, double total)
{
	char num[32];

	if (isnan(n))
		return sb_strdup("-");
	if (n >= 1e6)
		snprintf(num, sizeof num, "%.2fM", n / 1e6);
	else if (n >= 1e4)
		snprintf(num, sizeof num, "%.1fk", n / 1e3);
	else
		snprintf(num, sizeof num, "%.0f", n);
	if (isfinite(total) && total > 0)
		return sb_asprintf("%s (%.2f%%)", num, 100 * n / total);
	return sb_strdup(num);
}

static char *num_cell(double x, const char *fmt)
{
	return isfinite(x) ? sb_asprintf(fmt, x) : sb_strdup("-");
}

#define N_COLS 10

/* The cells of one row; NULL where the column is not shown. */
static void row_cells(const struct sb_aggregate *agg, const struct row *row,
		      char *cells[N_COLS])
{
	const struct sb_agg_setting *st = &agg->settings[row->setting];
	double scale = agg->loss_metric ? 1 : 100;
	int prec = agg->loss_metric ? 3 : 2;
	char bytes[32];

	cells[0] = sb_strdup(st->method);
	cells[1] = agg->density_swept ? num_cell(st->density, "%g") : NULL;
	cells[2] = sb_strdup(*st->setting ? st->setting : "-");
	cells[3] = runs_cell(st);
	/* A single run has no spread: its value alone, not "± 0.000". */
	if (row->metric.n > 1)
		cells[4] = sb_asprintf("%.*f \xc2\xb1 %.*f", prec,
				       row->metric.mean * scale, prec,
				       row->metric.std * scale);
	else if (row->metric.n == 1)
		cells[4] = sb_asprintf("%.*f", prec, row->metric.mean * scale);
	else
		cells[4] = sb_strdup("-");
	cells[5] = num_cell(row->retained, "%.3f");
	cells[6] = count_cell(row->trainable, row->n_params);
	cells[7] = num_cell(row->time_ms, row->time_ms >= 100 ? "%.0f" : "%.3g");
	cells[8] = num_cell(row->time_ratio, "%.2fx");
	sb_format_bytes(row->state_bytes, bytes, sizeof bytes);
	cells[9] = sb_strdup(bytes);
}

/* cells[4] is `metric`, which the caller owns. */
static void header_cells(const struct sb_aggregate *agg, bool all,
			 const char *metric, const char *cells[N_COLS])
{
	cells[0] = "method";
	cells[1] = agg->density_swept ? "density" : NULL;
	cells[2] = all ? "setting" : "setting (best on val.)";
	cells[3] = "runs";
	cells[4] = metric;
	cells[5] = "retained (energy)";
	cells[6] = "trainable";
	cells[7] = "time/step (ms)";
	cells[8] = "vs full";
	cells[9] = "optimizer state";
}

/* Left-aligned text columns, right-aligned numbers. */
static const bool right_aligned[N_COLS] = {
	false, true, false, true, true, true, true, true, true, true,
};

static void put_md(FILE *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '|')
			fputc('\\', out);
		fputc(*s, out);
	}
}

static void put_latex(FILE *out, const char *s)
{
	for (; *s; s++) {
		if ((unsigned char)s[0] == 0xc2 && (unsigned char)s[1] == 0xb1) {
			fputs("$\\pm$", out);
			s++;
		} else if (strchr("_%&#${}", *s)) {
			fprintf(out, "\\%c", *s);
		} else if (*s == '\\') {
			fputs("\\textbackslash{}", out);
		} else if (*s == '~') {
			fputs("\\textasciitilde{}", out);
		} else if (*s == '^') {
			fputs("\\textasciicircum{}", out);
		} else {
			fputc(*s, out);
		}
	}
}

static void put_row(FILE *out, bool latex, const char *const cells[N_COLS])
{
	bool first = true;

	for (size_t c = 0; c < N_COLS; c++) {
		if (!cells[c])
			continue;
		fputs(first ? (latex ? "" : "| ") : (latex ? " & " : " | "),
		      out);
		first = false;
		if (latex)
			put_latex(out, cells[c]);
		else
			put_md(out, cells[c]);
	}
	fputs(latex ? " \\\\\n" : " |\n", out);
}

static void write_table(FILE *out, bool latex, const struct sb_aggregate *agg,
			bool all, const struct row *rows, size_t n_rows)
{
	const char *head[N_COLS];
	char *metric = agg->loss_metric
		? sb_asprintf("test loss (%s)", agg->loss_unit)
		: sb_strdup("test accuracy (%)");

	header_cells(agg, all, metric, head);
	if (latex) {
		fputs("\\begin{tabular}{", out);
		for (size_t c = 0; c < N_COLS; c++)
			if (head[c])
				fputc(right_aligned[c] ? 'r' : 'l', out);
		fputs("}\n\\toprule\n", out);
		put_row(out, true, head);
		fputs("\\midrule\n", out);
	} else {
		put_row(out, false, head);
		for (size_t c = 0; c < N_COLS; c++)
			if (head[c])
				fputs(right_aligned[c] ? "| ---: " : "| --- ",
				      out);
		fputs("|\n", out);
	}
	for (size_t i = 0; i < n_rows; i++) {
		char *cells[N_COLS];
		row_cells(agg, &rows[i], cells);
		put_row(out, latex, (const char *const *)cells);
		for (size_t c = 0; c < N_COLS; c++)
			free(cells[c]);
	}
	if (latex)
		fputs("\\bottomrule\n\\end{tabular}\n", out);
	free(metric);
}

/* ---- CSV: plain numbers, empty where unknown ---- */

static void csv_text(FILE *out, const char *s)
{
	if (!strpbrk(s, ",\"\n")) {
		fputs(s, out);
		return;
	}
	fputc('"', out);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', out);
		fputc(*s, out);
	}
	fputc('"', out);
}

static void csv_num(FILE *out, double x)
{
	fputc(',', out);
	if (isfinite(x))
		fprintf(out, "%.10g", x);
}

static void write_csv(FILE *out, const struct sb_aggregate *agg,
		      const struct row *rows, size_t n_rows)
{
	const char *metric = agg->loss_metric ? "test_loss" : "test_accuracy";

	fprintf(out, "method,density,setting,n_runs,n_diverged,n_failed,"
		     "n_running,%s_mean,%s_std,%s_n,retained_mean,trainable,"
		     "n_params,time_per_step_ms,time_vs_full,"
		     "optimizer_state_bytes\n",
		metric, metric, metric);
	for (size_t i = 0; i < n_rows; i++) {
		const struct row *r = &rows[i];
		const struct sb_agg_setting *st = &agg->settings[r->setting];
		csv_text(out, st->method);
		csv_num(out, st->density);
		fputc(',', out);
		csv_text(out, st->setting);
		fprintf(out, ",%zu,%zu,%zu,%zu", st->n_runs, st->n_diverged,
			st->n_failed, st->n_running);
		csv_num(out, r->metric.mean);
		csv_num(out, r->metric.n > 1 ? r->metric.std : NAN);
		fprintf(out, ",%zu", r->metric.n);
		csv_num(out, r->retained);
		csv_num(out, r->trainable);
		csv_num(out, r->n_params);
		csv_num(out, r->time_ms);
		csv_num(out, r->time_ratio);
		csv_num(out, r->state_bytes);
		fputc('\n', out);
	}
}

int sb_report(const char *results_path, const char *format, bool all,
	      FILE *out, struct sb_error *err)
{
	struct sb_aggregate agg;
	int rc = 0;

	if (strcmp(format, "md") && strcmp(format, "latex") &&
	    strcmp(format, "csv"))
		return sb_error(err, "unknown report format '%s' (known: md, "
				"latex, csv)", format);
	if (sb_aggregate_load(&agg, results_path, err))
		return -1;

	size_t *settings = sb_calloc(agg.n_settings * (agg.n_densities + 1),
				     sizeof *settings);
	size_t n_rows = collect_rows(&agg, all, settings);
	struct row *rows = sb_calloc(n_rows, sizeof *rows);
	double full_ms = NAN;
	rc = full_time_ms(&agg, &full_ms, err);
	for (size_t i = 0; i < n_rows && !rc; i++) {
		rc = fill_row(&agg, settings[i], &rows[i], err);
		rows[i].time_ratio = rows[i].time_ms / full_ms;
	}
	if (!rc) {
		if (!strcmp(format, "csv"))
			write_csv(out, &agg, rows, n_rows);
		else
			write_table(out, !strcmp(format, "latex"), &agg, all,
				    rows, n_rows);
		if (ferror(out))
			rc = sb_error(err, "cannot write the report");
	}
	if (!rc)
		rc = sb_results_damage(&agg.view, err);
	free(rows);
	free(settings);
	sb_aggregate_release(&agg);
	return rc;
}
