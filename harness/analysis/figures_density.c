/* figures_density.c - the final test metric against density: at each
 * density each method's best setting on validation, mean and sample std
 * over its seeds, one panel per optimizer, full fine-tuning as a reference
 * level in every panel (docs/figures.md). */
#include "analysis/figures.h"
#include "util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct point {
	size_t method, setting;
	double density;
	struct sb_stats test;
};

/* The points of every method, in method then density order. */
static size_t gather(const struct sb_aggregate *agg, struct point *pts)
{
	double *vals = sb_calloc(agg->n_runs + 1, sizeof *vals);
	size_t n = 0;

	for (size_t m = 0; m < agg->n_methods; m++)
		for (size_t d = 0; d < agg->n_densities; d++) {
			size_t s = sb_aggregate_best(agg, m, agg->densities[d]);
			if (s == SIZE_MAX)
				continue;
			size_t *runs;
			size_t k = sb_aggregate_plotted_runs(agg, s, &runs);
			for (size_t j = 0; j < k; j++)
				vals[j] = agg->runs[runs[j]].test;
			struct point *p = &pts[n];
			*p = (struct point){.method = m, .setting = s,
					    .density = agg->densities[d]};
			sb_stats_of(vals, k, &p->test);
			n += p->test.n > 0;
		}
	free(vals);
	return n;
}

/* Full fine-tuning's test metric (its best setting), NaN without it. */
static double reference(const struct sb_aggregate *agg)
{
	size_t m = sb_fig_full_finetuning(agg);
	if (m == SIZE_MAX)
		return NAN;
	size_t *runs;
	size_t k = sb_aggregate_plotted_runs(
		agg, sb_aggregate_best(agg, m, NAN), &runs);
	double *vals = sb_calloc(k + 1, sizeof *vals);
	struct sb_stats st;
	for (size_t j = 0; j < k; j++)
		vals[j] = agg->runs[runs[j]].test;
	sb_stats_of(vals, k, &st);
	free(vals);
	return st.mean;
}

struct density_plot {
	const struct sb_aggregate *agg;
	struct point *pts;
	size_t n;
	size_t *block_of;      /* per method */
	const char **panels;   /* optimizers, in panel order */
	size_t n_panels;
	double ys;             /* 100 for accuracies, in percent */
	double ref;            /* full fine-tuning, in .dat units */
	double lo, hi;         /* y axis, drawn units */
	double d_lo, d_hi;     /* densities */
};

static int write_dat(const struct sb_fig_ctx *ctx, struct density_plot *dp,
		     const char *metric, struct sb_error *err)
{
	const struct sb_aggregate *agg = dp->agg;
	FILE *dat = sb_fig_open(ctx, "density", "dat", err);
	size_t block = 0;

	if (!dat)
		return -1;
	fprintf(dat, "# density.dat - %s against density; at each density "
		     "each method's best setting, over its seeds\n", metric);
	fprintf(dat, "# density %s_mean %s_std n_runs setting\n", metric,
		metric);
	for (size_t i = 0; i < dp->n; i++) {
		const struct point *p = &dp->pts[i];
		if (!i || p->method != dp->pts[i - 1].method) {
			if (block)
				fputs("\n\n", dat);
			dp->block_of[p->method] = block;
			fprintf(dat, "# block %zu: method ", block++);
			sb_fig_quote(dat, agg->methods[p->method].method);
			fprintf(dat, " policy %s optimizer %s\n",
				agg->methods[p->method].policy,
				agg->methods[p->method].optimizer);
		}
		sb_fig_num(dat, p->density);
		fputc(' ', dat);
		sb_fig_num(dat, p->test.mean);
		fputc(' ', dat);
		sb_fig_num(dat, p->test.std);
		fprintf(dat, " %zu ", p->test.n);
		sb_fig_quote(dat, agg->settings[p->setting].setting);
		fputc('\n', dat);
	}
	return sb_fig_close(dat, ctx, "density", "dat", err);
}

/* Axes from the points, their error bars and the reference. */
static void ranges(struct density_plot *dp)
{
	double lo = INFINITY, hi = -INFINITY;

	dp->d_lo = INFINITY;
	dp->d_hi = 0;
	for (size_t i = 0; i < dp->n; i++) {
		const struct point *p = &dp->pts[i];
		lo = fmin(lo, p->test.mean - p->test.std);
		hi = fmax(hi, p->test.mean + p->test.std);
		dp->d_lo = fmin(dp->d_lo, p->density);
		dp->d_hi = fmax(dp->d_hi, p->density);
	}
	if (isfinite(dp->ref)) {
		lo = fmin(lo, dp->ref);
		hi = fmax(hi, dp->ref);
	}
	if (!(hi > lo))
		hi = lo + (lo != 0 ? fabs(lo) * 0.1 : 1);
	double pad = 0.06 * (hi - lo);
	dp->lo = (lo - pad) * dp->ys;
	dp->hi = (hi + pad) * dp->ys;
}

/* Each colour once, in palette order, then the reference. */
static size_t legend(const struct density_plot *dp,
		     const struct sb_palette *pal, struct sb_fig_key **out,
		     size_t *longest)
{
	struct sb_fig_key *keys = sb_calloc(pal->n_keys + 1, sizeof *keys);
	size_t n = 0;

	for (size_t k = 0; k < pal->n_keys; k++) {
		bool used = false;
		for (size_t i = 0; i < dp->n && !used; i++)
			used = !strcmp(sb_palette_key_of(
					       &dp->agg->settings[dp->pts[i].setting]),
				       pal->keys[k]);
		if (!used)
			continue;
		keys[n].title = pal->keys[k];
		keys[n++].style = sb_asprintf(
			"with linespoints lc rgb \"#%06X\" lw 1.6 pt %d ps P",
			sb_palette_color(pal, pal->keys[k]),
			sb_palette_point(pal, pal->keys[k]));
	}
	if (isfinite(dp->ref)) {
		keys[n].title = "full fine-tuning";
		keys[n++].style = sb_strdup(SB_FIG_FULL_STYLE);
	}
	*longest = 0;
	for (size_t k = 0; k < n; k++)
		*longest = strlen(keys[k].title) > *longest
				   ? strlen(keys[k].title) : *longest;
	*out = keys;
	return n;
}

static void write_panel(FILE *gp, const struct density_plot *dp,
			const struct sb_palette *pal, size_t panel)
{
	const struct sb_aggregate *agg = dp->agg;
	bool first = true;

	for (size_t m = 0; m < agg->n_methods; m++) {
		const struct sb_agg_method *me = &agg->methods[m];
		bool has = false;
		for (size_t i = 0; i < dp->n && !has; i++)
			has = dp->pts[i].method == m;
		if (!has || strcmp(me->optimizer, dp->panels[panel]))
			continue;
		const char *key = sb_palette_key(me->method, me->policy,
						 me->optimizer);
		fprintf(gp, "%s'density.dat' index %zu using 1:($2*%g):($3*%g) "
			    "with yerrorlines lc rgb \"#%06X\" lw 1.6 pt %d "
			    "ps P", first ? "    plot " : ", \\\n         ",
			dp->block_of[m], dp->ys, dp->ys,
			sb_palette_color(pal, key), sb_palette_point(pal, key));
		first = false;
	}
	if (isfinite(dp->ref))
		fprintf(gp, ", \\\n         reference " SB_FIG_FULL_STYLE);
	fputc('\n', gp);
}

static int write_gp(const struct sb_fig_ctx *ctx, const struct density_plot *dp,
		    struct sb_error *err)
{
	const struct sb_aggregate *agg = dp->agg;
	struct sb_fig_key *keys;
	size_t longest, n_keys = legend(dp, ctx->palette, &keys, &longest);
	double *heights = sb_calloc(dp->n_panels, sizeof *heights);

	for (size_t p = 0; p < dp->n_panels; p++)
		heights[p] = dp->n_panels == 1 ? 1.9 : 1.8;
	struct sb_fig_frame frame = {
		.n_panels = dp->n_panels,
		.cols = dp->n_panels == 4 ? 2 : 3,
		.width = dp->n_panels == 1 ? SB_FIG_COLUMN : SB_FIG_PAGE,
		.height = heights,
		.ylabel_chars = sb_fig_tic_chars(dp->lo, dp->hi, false),
		.ylabel = true, .xlabel = true, .titles = true,
		.n_key = n_keys, .key_chars = longest,
	};
	struct sb_fig_layout lay;
	sb_fig_layout(&frame, &lay);
	free(heights);

	FILE *gp = sb_fig_open(ctx, "density", "gp", err);
	if (!gp) {
		sb_fig_keys_release(keys, n_keys);
		sb_fig_layout_release(&lay);
		return -1;
	}
	sb_fig_preamble(gp, "density", "final test metric against density, "
					"mean and sample std over seeds");
	fprintf(gp, "# one panel per optimizer; at each density each "
		    "method's best setting, coloured by its policy\n");
	fprintf(gp, "xlabel = \"density (share of components trained)\"\n");
	if (agg->loss_metric)
		fprintf(gp, "ylabel = \"test loss (%s)\"\n", agg->loss_unit);
	else
		fprintf(gp, "ylabel = \"test accuracy (%%)\"\n");
	if (isfinite(dp->ref)) {
		fprintf(gp, "# full fine-tuning (dense+dense_adam), its best "
			    "setting\nreference = ");
		sb_fig_num(gp, dp->ref * dp->ys);
		fputc('\n', gp);
	}
	sb_fig_begin(gp, ctx, "density", &lay);
	fprintf(gp, "    set grid lc rgb \"#e0e0e0\" lw 0.5\n"
		    "    set logscale x\n    set xrange [%g:%g]\n"
		    "    unset logscale y\n    set ytics %g\n"
		    "    set yrange [%.6g:%.6g]\n",
		dp->d_lo / 1.6, dp->d_hi * 1.6,
		sb_fig_tic_step(dp->lo, dp->hi), dp->lo, dp->hi);
	for (size_t p = 0; p < dp->n_panels; p++) {
		char *title = sb_asprintf("optimizer: %s", dp->panels[p]);
		sb_fig_panel(gp, &lay, p, title);
		free(title);
		write_panel(gp, dp, ctx->palette, p);
	}
	sb_fig_legend(gp, &lay, keys, n_keys);
	sb_fig_end(gp);
	sb_fig_keys_release(keys, n_keys);
	sb_fig_layout_release(&lay);
	return sb_fig_close(gp, ctx, "density", "gp", err);
}

int sb_fig_density(const struct sb_fig_ctx *ctx, const char **why,
		   struct sb_error *err)
{
	const struct sb_aggregate *agg = ctx->agg;
	struct density_plot dp = {
		.agg = agg, .ys = agg->loss_metric ? 1 : 100,
	};

	if (!agg->density_swept) {
		*why = "no method was run at more than one density";
		return 1;
	}
	dp.pts = sb_calloc(agg->n_methods * agg->n_densities + 1,
			   sizeof *dp.pts);
	dp.n = gather(agg, dp.pts);
	if (!dp.n) {
		free(dp.pts);
		*why = "no run has a test metric";
		return 1;
	}
	dp.block_of = sb_calloc(agg->n_methods, sizeof *dp.block_of);
	dp.panels = sb_calloc(dp.n, sizeof *dp.panels);
	size_t *settings = sb_calloc(dp.n, sizeof *settings);
	for (size_t i = 0; i < dp.n; i++)
		settings[i] = dp.pts[i].setting;
	dp.n_panels = sb_fig_panels(agg, settings, dp.n, dp.panels);
	free(settings);
	dp.ref = reference(agg);
	ranges(&dp);

	int rc = write_dat(ctx, &dp, agg->loss_metric ? "test_loss"
						      : "test_accuracy", err);
	if (!rc)
		rc = write_gp(ctx, &dp, err);
	free(dp.panels);
	free(dp.block_of);
	free(dp.pts);
	return rc;
}
