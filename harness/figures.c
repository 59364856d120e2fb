/* figures.c - the line figures of `sparsebench plot` (gradient information,
 * churn, lost history, validation curves, metric against density) and the
 * script conventions every figure shares (docs/figures.md). */
#include "figures.h"
#include "util.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- shared conventions ---- */

FILE *sb_fig_open(const struct sb_fig_ctx *ctx, const char *name,
		  const char *ext, struct sb_error *err)
{
	char *path = sb_asprintf("%s/%s.%s", ctx->dir, name, ext);
	FILE *f = fopen(path, "w");

	if (!f)
		sb_error(err, "cannot write '%s': %s", path, strerror(errno));
	free(path);
	return f;
}

int sb_fig_close(FILE *f, const struct sb_fig_ctx *ctx, const char *name,
		 const char *ext, struct sb_error *err)
{
	bool bad = ferror(f);
	if (fclose(f) || bad)
		return sb_error(err, "cannot write '%s/%s.%s'", ctx->dir, name,
				ext);
	return 0;
}

void sb_fig_preamble(FILE *gp, const char *name, const char *what)
{
	fprintf(gp, "# %s.gp - %s\n", name, what);
	fprintf(gp, "# drawn by sparsebench plot from %s.dat; redraw with: "
		    "gnuplot %s.gp\n", name, name);
	fprintf(gp, "set datafile missing NaN\n");
	fprintf(gp, "set border 3\nset tics nomirror out scale 0.6\n");
	fprintf(gp, "set grid lc rgb \"#e0e0e0\" lw 0.5\n");
	fprintf(gp, "set key outside below center horizontal Left reverse "
		    "samplen 3 spacing 1.1 height 0.5\n");
}

void sb_fig_outputs(FILE *gp, const struct sb_fig_ctx *ctx, const char *name,
		    const char *plot, double height)
{
	/* One column of a paper, 3.4in wide; the PNG at ~290 dpi with the
	 * same proportions. Cairo sizes points per terminal, so P scales them
	 * to look alike (`replot` re-reads P). */
	for (size_t i = 0; i < ctx->n_formats; i++) {
		const char *fmt = ctx->formats[i];
		if (!strcmp(fmt, "pdf"))
			fprintf(gp, "set terminal pdfcairo noenhanced color "
				    "size 3.4in,%.2fin font \"Helvetica,8\" "
				    "linewidth 1.2\nP = 0.3\n", height);
		else if (!strcmp(fmt, "png"))
			fprintf(gp, "set terminal pngcairo noenhanced color "
				    "size 1000,%.0f font \"Helvetica,20\" "
				    "linewidth 3.5\nP = 1.1\n",
				height * 1000 / 3.4);
		else
			fprintf(gp, "set terminal svg noenhanced size 510,%.0f "
				    "dynamic font \"Helvetica,10.5\" "
				    "linewidth 1.2\nP = 0.45\n", height * 150);
		fprintf(gp, "set output '%s.%s'\n", name, fmt);
		fputs(i ? "replot\n" : plot, gp);
	}
	fprintf(gp, "unset output\n");
}

void sb_fig_quote(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '\n')
			fputs("\\n", f);
		else if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

void sb_fig_num(FILE *f, double x)
{
	if (isnan(x))
		fputs("NaN", f);
	else
		fprintf(f, "%.10g", x);
}

/* ---- a value against step, one block per method ---- */

struct line_fig {
	const char *name;
	const char *what;     /* for the script's first line */
	const char *group;    /* "steps" or "evals" */
	const char *column;
	const char *oracle;   /* a second column drawn dashed, or NULL */
	enum sb_series_map map;
	const char *value;    /* column name stem in the .dat */
	const char *ylabel;
	bool log_ok;          /* log y when the values span two decades */
	const char *why_empty;
};

/* Writes the rows of a band, joined on step with an optional second one. */
static void write_rows(FILE *dat, const struct sb_band *a,
		       const struct sb_band *b)
{
	size_t i = 0, j = 0;

	while (i < a->n || (b && j < b->n)) {
		bool take_a = i < a->n, take_b = b && j < b->n;
		double step;
		if (take_a && take_b && a->step[i] != b->step[j]) {
			take_a = a->step[i] < b->step[j];
			take_b = !take_a;
		}
		step = take_a ? a->step[i] : b->step[j];
		sb_fig_num(dat, step);
		for (int k = 0; k < 3; k++) {
			const double *col = k == 0 ? a->mean : k == 1 ? a->min
							    : a->max;
			fputc(' ', dat);
			sb_fig_num(dat, take_a ? col[i] : NAN);
		}
		for (int k = 0; b && k < 3; k++) {
			const double *col = k == 0 ? b->mean : k == 1 ? b->min
							    : b->max;
			fputc(' ', dat);
			sb_fig_num(dat, take_b ? col[j] : NAN);
		}
		fputc(' ', dat);
		sb_fig_num(dat, take_a ? a->count[i] : b->count[j]);
		fputc('\n', dat);
		i += take_a;
		j += take_b;
	}
}

static void block_comment(FILE *dat, const struct sb_aggregate *agg,
			  size_t block, size_t s)
{
	const struct sb_agg_setting *st = &agg->settings[s];

	fprintf(dat, "# block %zu: method ", block);
	sb_fig_quote(dat, st->method);
	fprintf(dat, " policy %s optimizer %s setting ", st->policy,
		st->optimizer);
	sb_fig_quote(dat, st->setting);
	fprintf(dat, " runs %zu", st->n_usable ? st->n_usable : st->n_runs);
	if (st->n_diverged || st->n_failed)
		fprintf(dat, " (%zu diverged, %zu failed, not shown)",
			st->n_diverged, st->n_failed);
	fputc('\n', dat);
}

static bool any_positive(const struct sb_band *b)
{
	for (size_t i = 0; b && i < b->n; i++)
		if (b->mean[i] > 0)
			return true;
	return false;
}

static void positive_range(const struct sb_band *b, double *lo, double *hi)
{
	for (size_t i = 0; b && i < b->n; i++)
		if (b->mean[i] > 0) {
			*lo = fmin(*lo, b->mean[i]);
			*hi = fmax(*hi, b->mean[i]);
		}
}

static void line_clauses(FILE *plot, const struct sb_aggregate *agg,
			 const struct line_fig *lf, size_t block, size_t s,
			 const struct sb_band *band)
{
	const struct sb_agg_setting *st = &agg->settings[s];
	unsigned rgb = sb_palette_color(
		agg, sb_palette_key(st->method, st->policy, st->optimizer));
	size_t every = band->n > 8 ? band->n / 8 : 1;
	const char *sep = block ? ", \\\n     " : "plot ";
	const char *file = block ? "''" : NULL;

	fputs(sep, plot);
	if (file)
		fputs(file, plot);
	else
		fprintf(plot, "'%s.dat'", lf->name);
	fprintf(plot, " index %zu using 1:(y($3)):(y($4)) with filledcurves "
		      "fc rgb \"#%06X\" fs transparent solid 0.18 noborder "
		      "notitle, \\\n     '' index %zu using 1:(y($2)) with "
		      "linespoints lc rgb \"#%06X\" lw 1 pt %d ps P pi %zu "
		      "title ", block, rgb, block, rgb,
		sb_palette_point(st->optimizer), every);
	/* With densities swept, the best settings may differ in density. */
	if (agg->density_swept && isfinite(st->density)) {
		char *title = sb_asprintf("%s, density %g", st->method,
					  st->density);
		sb_fig_quote(plot, title);
		free(title);
	} else {
		sb_fig_quote(plot, st->method);
	}
	if (lf->oracle)
		fprintf(plot, ", \\\n     '' index %zu using 1:(y($5)) with "
			      "lines lc rgb \"#%06X\" lw 1 dt 2 notitle",
			block, rgb);
}

static int line_figure(const struct sb_fig_ctx *ctx, const struct line_fig *lf,
		       const char **why, struct sb_error *err)
{
	const struct sb_aggregate *agg = ctx->agg;
	size_t nm = agg->n_methods;
	struct sb_band *bands = sb_calloc(nm, 2 * sizeof *bands);
	size_t *chosen = sb_calloc(nm, sizeof *chosen);
	bool any = false, log_y = false;
	double lo = INFINITY, hi = 0;
	int rc = -1;

	for (size_t m = 0; m < nm; m++) {
		size_t *runs;
		chosen[m] = sb_aggregate_best(agg, m, NAN);
		size_t n = sb_aggregate_plotted_runs(agg, chosen[m], &runs);
		if (sb_aggregate_band(agg, runs, n, lf->group, lf->column,
				      lf->map, &bands[2 * m], err))
			goto out;
		if (lf->oracle && sb_aggregate_band(agg, runs, n, lf->group,
						    lf->oracle, lf->map,
						    &bands[2 * m + 1], err))
			goto out;
		any = any || bands[2 * m].n;
		positive_range(&bands[2 * m], &lo, &hi);
		positive_range(lf->oracle ? &bands[2 * m + 1] : NULL, &lo, &hi);
	}
	if (!any) {
		*why = lf->why_empty;
		rc = 1;
		goto out;
	}
	log_y = lf->log_ok && hi > 0 && hi / lo >= 100;

	FILE *dat = sb_fig_open(ctx, lf->name, "dat", err);
	if (!dat)
		goto out;
	fprintf(dat, "# %s.dat - %s; each method's best setting, over its "
		     "seeds: mean, min, max\n", lf->name, lf->what);
	fprintf(dat, "# step %s_mean %s_min %s_max", lf->value, lf->value,
		lf->value);
	if (lf->oracle)
		fprintf(dat, " oracle_%s_mean oracle_%s_min oracle_%s_max",
			lf->value, lf->value, lf->value);
	fprintf(dat, " n_runs\n");

	char *plot_text = NULL;
	size_t plot_len = 0;
	FILE *plot = open_memstream(&plot_text, &plot_len);
	size_t block = 0;
	for (size_t m = 0; m < nm; m++) {
		const struct sb_band *a = &bands[2 * m];
		const struct sb_band *b = lf->oracle ? &bands[2 * m + 1] : NULL;
		if (!a->n || (log_y && !any_positive(a) && !any_positive(b))) {
			fprintf(dat, "# not shown: ");
			sb_fig_quote(dat, agg->methods[m].method);
			fprintf(dat, a->n ? " (no positive value on a log axis)\n"
					  : " (no value)\n");
			continue;
		}
		if (block)
			fputs("\n\n", dat);
		block_comment(dat, agg, block, chosen[m]);
		write_rows(dat, a, b);
		line_clauses(plot, agg, lf, block, chosen[m], a);
		block++;
	}
	if (lf->oracle)
		fprintf(plot, ", \\\n     NaN with lines lc rgb \"#555555\" "
			      "lw 1 dt 2 title \"oracle, same |S|\"");
	fputc('\n', plot);
	fclose(plot);
	if (sb_fig_close(dat, ctx, lf->name, "dat", err)) {
		free(plot_text);
		goto out;
	}

	FILE *gp = sb_fig_open(ctx, lf->name, "gp", err);
	if (!gp) {
		free(plot_text);
		goto out;
	}
	sb_fig_preamble(gp, lf->name, lf->what);
	fprintf(gp, "set xlabel \"training step\"\nset ylabel ");
	sb_fig_quote(gp, lf->ylabel);
	fputc('\n', gp);
	/* y() maps a .dat value to the axis: percent for accuracies, and no
	 * point (rather than a band down to the axis) where a log axis has
	 * none. */
	double yscale = strstr(lf->ylabel, "(%)") ? 100 : 1;
	if (log_y)
		fprintf(gp, "set logscale y\nset format y \"%%g\"\n"
			    "y(v) = v > 0 ? v * %g : NaN\n", yscale);
	else
		fprintf(gp, "y(v) = v * %g\n", yscale);
	sb_fig_outputs(gp, ctx, lf->name, plot_text, SB_FIG_HEIGHT);
	free(plot_text);
	rc = sb_fig_close(gp, ctx, lf->name, "gp", err);
out:
	for (size_t k = 0; k < 2 * nm; k++)
		sb_band_release(&bands[k]);
	free(bands);
	free(chosen);
	return rc;
}

static int fig_grad_info(const struct sb_fig_ctx *ctx, const char **why,
			 struct sb_error *err)
{
	static const struct line_fig lf = {
		.name = "grad_info",
		.what = "gradient-information loss 1 - retained (energy share) "
			"against step, oracle dashed",
		.group = "steps", .column = "retained",
		.oracle = "oracle_retained", .map = SB_SERIES_ONE_MINUS,
		.value = "lost",
		.ylabel = "energy share lost (1 - retained)",
		.log_ok = true,
		.why_empty = "no run measured retained",
	};
	return line_figure(ctx, &lf, why, err);
}

static int fig_churn(const struct sb_fig_ctx *ctx, const char **why,
		     struct sb_error *err)
{
	static const struct line_fig lf = {
		.name = "churn",
		.what = "churn |S_t - S_(t-1)| / |S_t| against step",
		.group = "steps", .column = "churn", .map = SB_SERIES_RAW,
		.value = "churn",
		.ylabel = "churn, new share of S per step",
		.log_ok = false,
		.why_empty = "no run measured churn",
	};
	return line_figure(ctx, &lf, why, err);
}

static int fig_history(const struct sb_fig_ctx *ctx, const char **why,
		       struct sb_error *err)
{
	static const struct line_fig lf = {
		.name = "history",
		.what = "optimizer state entries reset, cumulative, against step",
		.group = "steps", .column = "history_lost",
		.map = SB_SERIES_CUMSUM, .value = "history_lost_total",
		.ylabel = "optimizer entries reset (cumulative)",
		.log_ok = true,
		.why_empty = "no run measured history_lost",
	};
	return line_figure(ctx, &lf, why, err);
}

static int fig_val_curve(const struct sb_fig_ctx *ctx, const char **why,
			 struct sb_error *err)
{
	static const struct line_fig acc = {
		.name = "val_curve",
		.what = "validation accuracy against step",
		.group = "evals", .column = "val_accuracy",
		.map = SB_SERIES_RAW, .value = "val_accuracy",
		.ylabel = "validation accuracy (%)",
		.why_empty = "no run was evaluated",
	};
	static const struct line_fig loss = {
		.name = "val_curve",
		.what = "validation loss (nats per token) against step",
		.group = "evals", .column = "val_loss",
		.map = SB_SERIES_RAW, .value = "val_loss",
		.ylabel = "validation loss (nats/token)",
		.why_empty = "no run was evaluated",
	};
	return line_figure(ctx, ctx->agg->loss_metric ? &loss : &acc, why, err);
}

/* ---- the test metric against density ---- */

static int fig_density(const struct sb_fig_ctx *ctx, const char **why,
		       struct sb_error *err)
{
	const struct sb_aggregate *agg = ctx->agg;
	bool loss = agg->loss_metric;
	double yscale = loss ? 1 : 100;
	const char *metric = loss ? "test_loss" : "test_accuracy";

	if (!agg->density_swept) {
		*why = "no method was run at more than one density";
		return 1;
	}
	bool any = false;
	for (size_t r = 0; r < agg->n_runs; r++)
		any = any || isfinite(agg->runs[r].test);
	if (!any) {
		*why = "no run has a test metric";
		return 1;
	}

	FILE *dat = sb_fig_open(ctx, "density", "dat", err);
	if (!dat)
		return -1;
	char *plot_text = NULL;
	size_t plot_len = 0;
	FILE *plot = open_memstream(&plot_text, &plot_len);
	double *vals = sb_calloc(agg->n_runs, sizeof *vals);
	size_t block = 0;

	fprintf(dat, "# density.dat - %s against density; at each density "
		     "each method's best setting, over its seeds\n", metric);
	fprintf(dat, "# density %s_mean %s_std n_runs setting\n", metric,
		metric);
	for (size_t m = 0; m < agg->n_methods; m++) {
		size_t rows = 0;
		for (size_t d = 0; d < agg->n_densities; d++) {
			size_t s = sb_aggregate_best(agg, m, agg->densities[d]);
			if (s == SIZE_MAX)
				continue;
			size_t *runs;
			size_t n = sb_aggregate_plotted_runs(agg, s, &runs);
			struct sb_stats st;
			for (size_t j = 0; j < n; j++)
				vals[j] = agg->runs[runs[j]].test;
			sb_stats_of(vals, n, &st);
			if (!st.n)
				continue;
			if (!rows++) {
				if (block)
					fputs("\n\n", dat);
				block_comment(dat, agg, block, s);
			}
			sb_fig_num(dat, agg->densities[d]);
			fputc(' ', dat);
			sb_fig_num(dat, st.mean);
			fputc(' ', dat);
			sb_fig_num(dat, st.std);
			fprintf(dat, " %zu ", st.n);
			sb_fig_quote(dat, agg->settings[s].setting);
			fputc('\n', dat);
		}
		if (!rows)
			continue;
		const struct sb_agg_method *me = &agg->methods[m];
		fprintf(plot, "%s'density.dat' index %zu using 1:($2*%g):"
			      "($3*%g) with yerrorlines lc rgb \"#%06X\" lw 1 "
			      "pt %d ps 1.3*P title ", block ? ", \\\n     "
							   : "plot ",
			block, yscale, yscale,
			sb_palette_color(agg, sb_palette_key(me->method,
							     me->policy,
							     me->optimizer)),
			sb_palette_point(me->optimizer));
		sb_fig_quote(plot, me->method);
		block++;
	}
	fputc('\n', plot);
	fclose(plot);
	free(vals);
	if (sb_fig_close(dat, ctx, "density", "dat", err)) {
		free(plot_text);
		return -1;
	}

	FILE *gp = sb_fig_open(ctx, "density", "gp", err);
	if (!gp) {
		free(plot_text);
		return -1;
	}
	sb_fig_preamble(gp, "density", "final test metric against density, "
					"mean and sample std over seeds");
	fprintf(gp, "set logscale x\n"
		    "set offsets graph 0.05, graph 0.05, graph 0.05, "
		    "graph 0.05\n"
		    "set xlabel \"density (share of components trained)\"\n"
		    "set ylabel \"%s\"\n",
		loss ? "test loss (nats/token)" : "test accuracy (%)");
	sb_fig_outputs(gp, ctx, "density", plot_text, SB_FIG_HEIGHT);
	free(plot_text);
	return sb_fig_close(gp, ctx, "density", "gp", err);
}

const struct sb_figure sb_figures[] = {
	{"grad_info", fig_grad_info},
	{"churn", fig_churn},
	{"history", fig_history},
	{"val_curve", fig_val_curve},
	{"density", fig_density},
	{"time", sb_fig_time},
	{"memory", sb_fig_memory},
	{NULL, NULL},
};
