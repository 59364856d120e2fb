/* figures_lines.c - the figures of a value against training step: one curve
 * per method (its best setting on validation: mean over seeds, min-max band)
 * in the panel of its optimizer. Gradient information lost (with each
 * method's oracle), churn, optimizer history lost, validation curves (with
 * full fine-tuning and the starting level as references); docs/figures.md. */
#include "analysis/figures.h"
#include "util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A curve keeps at most this many rows: longer series are thinned to
 * averages of consecutive steps, which also smooths per-step noise. */
#define MAX_ROWS 60

struct line_fig {
	const char *name;
	const char *what;     /* for the first lines of the .dat and .gp */
	const char *group;    /* "steps" or "evals" */
	const char *column;
	const char *oracle;   /* a second column drawn dashed, or NULL */
	enum sb_series_map map;
	const char *value;    /* column name stem in the .dat */
	const char *ylabel;
	double yscale;        /* 100: a share drawn in percent */
	bool log_ok;          /* log y when the values span two decades */
	bool from_zero;       /* a linear axis starts at 0 */
	bool references;      /* full fine-tuning and the step-0 level */
	const char *why_empty;
};

struct curve {
	size_t method, setting, panel;
	struct sb_band band, oracle;
	bool shown;
	size_t block; /* in the .dat */
};

/* ---- data ---- */

/* Averages each run of w consecutive rows; the count is the fewest runs
 * of the window. */
static void thin(struct sb_band *b, size_t w)
{
	size_t out = 0;

	for (size_t i = 0; i < b->n; i += w, out++) {
		size_t end = i + w < b->n ? i + w : b->n;
		double k = (double)(end - i), step = 0, mean = 0, lo = 0,
		       hi = 0, count = INFINITY;
		for (size_t j = i; j < end; j++) {
			step += b->step[j];
			mean += b->mean[j];
			lo += b->min[j];
			hi += b->max[j];
			count = fmin(count, b->count[j]);
		}
		b->step[out] = step / k;
		b->mean[out] = mean / k;
		b->min[out] = lo / k;
		b->max[out] = hi / k;
		b->count[out] = count;
	}
	b->n = out;
}

/* Writes the rows of a band, joined on step with an optional second one. */
static void write_rows(FILE *dat, const struct sb_band *a,
		       const struct sb_band *b)
{
	size_t i = 0, j = 0;

	while (i < a->n || (b && j < b->n)) {
		bool take_a = i < a->n, take_b = b && j < b->n;
		if (take_a && take_b && a->step[i] != b->step[j]) {
			take_a = a->step[i] < b->step[j];
			take_b = !take_a;
		}
		sb_fig_num(dat, take_a ? a->step[i] : b->step[j]);
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
	for (size_t i = 0; i < b->n; i++)
		if (b->mean[i] > 0)
			return true;
	return false;
}

static void positive_range(const struct sb_band *b, double *lo, double *hi)
{
	for (size_t i = 0; i < b->n; i++)
		if (b->mean[i] > 0) {
			*lo = fmin(*lo, b->mean[i]);
			*hi = fmax(*hi, b->mean[i]);
		}
}

/* ---- the figure ---- */

struct line_plot {
	const struct line_fig *lf;
	const struct sb_aggregate *agg;
	struct curve *curves; /* one per method, in method order */
	size_t n_curves;
	const char **panels;  /* optimizers, in panel order */
	size_t n_panels;
	bool log_y;
	double x_lo, x_hi, y_lo, y_hi; /* y in .dat units */
	size_t thin_w;         /* rows averaged; 1: none */
	size_t reference;      /* the full fine-tuning curve, or SIZE_MAX */
	double start;          /* the level at step 0, or NaN */
	bool start_pretrained; /* ... of models that start from a checkpoint */
};

static int gather(struct line_plot *lp, struct sb_error *err)
{
	const struct line_fig *lf = lp->lf;
	const struct sb_aggregate *agg = lp->agg;

	lp->curves = sb_calloc(agg->n_methods, sizeof *lp->curves);
	lp->n_curves = agg->n_methods;
	for (size_t m = 0; m < agg->n_methods; m++) {
		struct curve *c = &lp->curves[m];
		size_t *runs;
		c->method = m;
		c->setting = sb_aggregate_best(agg, m, NAN);
		size_t n = sb_aggregate_plotted_runs(agg, c->setting, &runs);
		if (sb_aggregate_band(agg, runs, n, lf->group, lf->column,
				      lf->map, &c->band, err))
			return -1;
		if (lf->oracle && sb_aggregate_band(agg, runs, n, lf->group,
						    lf->oracle, lf->map,
						    &c->oracle, err))
			return -1;
	}
	return 0;
}

/* The x axis from the steps themselves, before thinning moves the ends
 * inwards; ends rounded out to a tick when that is close. */
static void x_range(struct line_plot *lp)
{
	lp->x_lo = INFINITY;
	lp->x_hi = -INFINITY;
	for (size_t i = 0; i < lp->n_curves; i++)
		for (size_t k = 0; lp->curves[i].shown &&
				   k < lp->curves[i].band.n; k++) {
			lp->x_lo = fmin(lp->x_lo, lp->curves[i].band.step[k]);
			lp->x_hi = fmax(lp->x_hi, lp->curves[i].band.step[k]);
		}
	if (!(lp->x_hi > lp->x_lo))
		lp->x_hi = lp->x_lo + 1;
	double step = sb_fig_tic_step(lp->x_lo, lp->x_hi);
	double lo_tic = floor(lp->x_lo / step) * step;
	double hi_tic = ceil(lp->x_hi / step) * step;
	double near = 0.05 * (lp->x_hi - lp->x_lo);
	lp->x_lo = lp->x_lo - lo_tic <= near ? lo_tic : lp->x_lo;
	lp->x_hi = hi_tic - lp->x_hi <= near ? hi_tic : lp->x_hi;
}

/* Chooses the axis, which curves it can show, their panels, and thins
 * long series. */
static void arrange(struct line_plot *lp)
{
	const struct line_fig *lf = lp->lf;
	double lo = INFINITY, hi = 0;
	size_t longest = 0;

	for (size_t i = 0; i < lp->n_curves; i++) {
		positive_range(&lp->curves[i].band, &lo, &hi);
		positive_range(&lp->curves[i].oracle, &lo, &hi);
	}
	lp->log_y = lf->log_ok && hi > 0 && hi / lo >= 100;

	size_t *shown = sb_calloc(lp->n_curves + 1, sizeof *shown);
	lp->panels = sb_calloc(lp->n_curves + 1, sizeof *lp->panels);
	size_t n_shown = 0;
	for (size_t i = 0; i < lp->n_curves; i++) {
		struct curve *c = &lp->curves[i];
		c->shown = c->band.n > 0 &&
			   (!lp->log_y || any_positive(&c->band) ||
			    any_positive(&c->oracle));
		if (c->shown)
			shown[n_shown++] = c->setting;
		longest = c->band.n > longest ? c->band.n : longest;
	}
	lp->n_panels = sb_fig_panels(lp->agg, shown, n_shown, lp->panels);
	for (size_t i = 0; i < lp->n_curves; i++) {
		struct curve *c = &lp->curves[i];
		c->panel = sb_fig_panel_of(lp->panels, lp->n_panels,
			lp->agg->settings[c->setting].optimizer);
	}
	free(shown);

	x_range(lp);
	lp->thin_w = (longest + MAX_ROWS - 1) / MAX_ROWS;
	lp->thin_w = lp->thin_w ? lp->thin_w : 1;
	for (size_t i = 0; lp->thin_w > 1 && i < lp->n_curves; i++) {
		thin(&lp->curves[i].band, lp->thin_w);
		thin(&lp->curves[i].oracle, lp->thin_w);
	}
}

/* The mean level at step 0 of the curves `only` (SIZE_MAX: of every
 * method coloured by its policy, leaving out references such as a model
 * trained from scratch, which starts elsewhere); false when none has a
 * value there. */
static bool start_level(struct line_plot *lp, size_t only)
{
	const struct sb_aggregate *agg = lp->agg;
	double sum = 0;
	size_t n = 0;

	for (size_t i = 0; i < lp->n_curves; i++) {
		const struct curve *c = &lp->curves[i];
		const struct sb_agg_setting *st = &agg->settings[c->setting];
		bool own_name = strcmp(sb_palette_key_of(st), st->policy);
		if (!c->shown || c->band.n == 0 || c->band.step[0] != 0 ||
		    own_name || (only != SIZE_MAX && i != only))
			continue;
		sum += c->band.mean[0];
		n++;
		lp->start_pretrained = agg->runs[st->runs[0]].from_checkpoint;
	}
	lp->start = n ? sum / (double)n : NAN;
	return n > 0;
}

/* The references of a validation curve: full fine-tuning, drawn in the
 * panels of the other optimizers, and the level the fine-tuned methods
 * start from (the evaluation at step 0, before any update): full
 * fine-tuning's when it has one. */
static void find_references(struct line_plot *lp)
{
	size_t ff = sb_fig_full_finetuning(lp->agg);

	lp->reference = SIZE_MAX;
	lp->start = NAN;
	if (!lp->lf->references)
		return;
	if (ff != SIZE_MAX && lp->curves[ff].shown)
		lp->reference = ff;
	if (lp->reference == SIZE_MAX || !start_level(lp, lp->reference))
		start_level(lp, SIZE_MAX);
}

static void widen(double *lo, double *hi, const struct sb_band *b, bool band)
{
	for (size_t i = 0; i < b->n; i++) {
		*lo = fmin(*lo, band ? b->min[i] : b->mean[i]);
		*hi = fmax(*hi, band ? b->max[i] : b->mean[i]);
	}
}

static void ranges(struct line_plot *lp)
{
	const struct line_fig *lf = lp->lf;
	double lo = INFINITY, hi = -INFINITY;

	for (size_t i = 0; i < lp->n_curves; i++) {
		const struct curve *c = &lp->curves[i];
		if (!c->shown)
			continue;
		widen(&lo, &hi, &c->band, true);
		widen(&lo, &hi, &c->oracle, false);
	}

	if (lp->log_y) {
		double pos_lo = INFINITY;
		for (size_t i = 0; i < lp->n_curves; i++)
			if (lp->curves[i].shown) {
				double dummy = 0;
				positive_range(&lp->curves[i].band, &pos_lo,
					       &dummy);
				positive_range(&lp->curves[i].oracle, &pos_lo,
					       &dummy);
			}
		/* Whole decades: ticks at every power of ten. */
		lp->y_lo = pow(10, floor(log10(pos_lo)));
		lp->y_hi = pow(10, ceil(log10(hi)));
		if (lp->y_hi <= lp->y_lo)
			lp->y_hi = lp->y_lo * 10;
		return;
	}
	if (isfinite(lp->start)) {
		/* The starting level on the axis, and the curves from it: a
		 * reference trained from scratch starts far off and would
		 * squeeze the others into a strip. */
		lo = fmin(lo, lp->start);
		hi = fmax(hi, lp->start);
		if (lp->agg->loss_metric)
			hi = fmin(hi, lp->start + 0.1 * (lp->start - lo));
		else
			lo = fmax(lo, lp->start - 0.1 * (hi - lp->start));
	}
	if (lf->from_zero)
		lo = fmin(lo, 0);
	if (!(hi > lo))
		hi = lo + (lo != 0 ? fabs(lo) : 1);
	double pad = 0.04 * (hi - lo);
	lp->y_lo = lf->from_zero && lo == 0 ? 0 : lo - pad;
	lp->y_hi = hi + pad;
}

static int write_dat(const struct sb_fig_ctx *ctx, struct line_plot *lp,
		     struct sb_error *err)
{
	const struct line_fig *lf = lp->lf;
	FILE *dat = sb_fig_open(ctx, lf->name, "dat", err);
	size_t block = 0;

	if (!dat)
		return -1;
	fprintf(dat, "# %s.dat - %s; each method's best setting, over its "
		     "seeds: mean, min, max", lf->name, lf->what);
	if (lp->thin_w > 1)
		fprintf(dat, "; thinned: each row averages %zu consecutive "
			     "rows (its step is their mean)", lp->thin_w);
	fprintf(dat, "\n# step %s_mean %s_min %s_max", lf->value, lf->value,
		lf->value);
	if (lf->oracle)
		fprintf(dat, " oracle_%s_mean oracle_%s_min oracle_%s_max",
			lf->value, lf->value, lf->value);
	fprintf(dat, " n_runs\n");
	for (size_t i = 0; i < lp->n_curves; i++) {
		struct curve *c = &lp->curves[i];
		if (!c->shown) {
			fprintf(dat, "# not shown: ");
			sb_fig_quote(dat, lp->agg->methods[c->method].method);
			fprintf(dat, c->band.n ? " (no positive value on a log "
						 "axis)\n" : " (no value)\n");
			continue;
		}
		if (block)
			fputs("\n\n", dat);
		c->block = block;
		block_comment(dat, lp->agg, block++, c->setting);
		write_rows(dat, &c->band, lf->oracle ? &c->oracle : NULL);
	}
	return sb_fig_close(dat, ctx, lf->name, "dat", err);
}

/* The curves of a panel in palette order. */
static size_t panel_curves(const struct line_plot *lp,
			   const struct sb_palette *pal, size_t panel,
			   size_t *out)
{
	size_t n = 0;

	for (size_t i = 0; i < lp->n_curves; i++)
		if (lp->curves[i].shown && lp->curves[i].panel == panel)
			out[n++] = i;
	for (size_t a = 1; a < n; a++)
		for (size_t b = a; b > 0; b--) {
			const struct sb_aggregate *agg = lp->agg;
			size_t rb = sb_palette_rank(pal, sb_palette_key_of(
				&agg->settings[lp->curves[out[b]].setting]));
			size_t ra = sb_palette_rank(pal, sb_palette_key_of(
				&agg->settings[lp->curves[out[b - 1]].setting]));
			if (ra <= rb)
				break;
			size_t t = out[b];
			out[b] = out[b - 1];
			out[b - 1] = t;
		}
	return n;
}

static void plot_curve(FILE *gp, const struct line_plot *lp,
		       const struct sb_palette *pal, const struct curve *c,
		       bool *first)
{
	const struct sb_agg_setting *st = &lp->agg->settings[c->setting];
	const char *key = sb_palette_key_of(st);
	unsigned rgb = sb_palette_color(pal, key);
	size_t every = c->band.n > 6 ? c->band.n / 6 : 1;
	bool band = false;

	for (size_t k = 0; k < c->band.n; k++)
		band = band || c->band.count[k] > 1;
	fprintf(gp, "%s", *first ? "    plot " : ", \\\n         ");
	*first = false;
	fprintf(gp, "'%s.dat' index %zu ", lp->lf->name, c->block);
	if (band)
		fprintf(gp, "using 1:(y($3)):(y($4)) with filledcurves "
			    "fc rgb \"#%06X\" fs transparent solid 0.15 "
			    "noborder, \\\n         '' index %zu ", rgb,
			c->block);
	fprintf(gp, "using 1:(y($2)) with linespoints lc rgb \"#%06X\" "
		    "lw 1.6 pt %d ps P pi %zu", rgb,
		sb_palette_point(pal, key), every);
	if (lp->lf->oracle)
		fprintf(gp, ", \\\n         '' index %zu using 1:(y($5)) with "
			    "lines lc rgb \"#%06X\" lw 1 dt 2", c->block, rgb);
}

#define ORACLE_STYLE "with lines lc rgb \"#555555\" lw 1 dt 2"

static void write_panels(FILE *gp, const struct line_plot *lp,
			 const struct sb_palette *pal,
			 const struct sb_fig_layout *lay)
{
	size_t *in_panel = sb_calloc(lp->n_curves, sizeof *in_panel);

	for (size_t p = 0; p < lp->n_panels; p++) {
		char *title = sb_asprintf("optimizer: %s", lp->panels[p]);
		sb_fig_panel(gp, lay, p, title);
		free(title);
		bool first = true;
		size_t n = panel_curves(lp, pal, p, in_panel);
		for (size_t k = 0; k < n; k++)
			plot_curve(gp, lp, pal, &lp->curves[in_panel[k]],
				   &first);
		if (lp->reference != SIZE_MAX &&
		    lp->curves[lp->reference].panel != p)
			fprintf(gp, ", \\\n         '%s.dat' index %zu using "
				    "1:(y($2)) " SB_FIG_FULL_STYLE, lp->lf->name,
				lp->curves[lp->reference].block);
		if (isfinite(lp->start))
			fprintf(gp, ", \\\n         y(start) " SB_FIG_START_STYLE);
		fputc('\n', gp);
	}
	free(in_panel);
}

/* The legend: each colour once, in palette order, then the references. */
static size_t legend(const struct line_plot *lp, const struct sb_palette *pal,
		     struct sb_fig_key **out, size_t *longest)
{
	struct sb_fig_key *keys = sb_calloc(pal->n_keys + 3, sizeof *keys);
	size_t n = 0;

	for (size_t k = 0; k < pal->n_keys; k++) {
		bool used = false;
		for (size_t i = 0; i < lp->n_curves && !used; i++)
			used = lp->curves[i].shown &&
			       !strcmp(sb_palette_key_of(&lp->agg->settings[
					       lp->curves[i].setting]),
				       pal->keys[k]);
		if (!used)
			continue;
		keys[n].title = pal->keys[k];
		keys[n++].style = sb_asprintf(
			"with linespoints lc rgb \"#%06X\" lw 1.6 pt %d ps P",
			sb_palette_color(pal, pal->keys[k]),
			sb_palette_point(pal, pal->keys[k]));
	}
	bool ref_drawn = false;
	for (size_t i = 0; i < lp->n_curves && lp->reference != SIZE_MAX; i++)
		ref_drawn = ref_drawn ||
			    (lp->curves[i].shown &&
			     lp->curves[i].panel != lp->curves[lp->reference].panel);
	if (ref_drawn) {
		keys[n].title = "full fine-tuning";
		keys[n++].style = sb_strdup(SB_FIG_FULL_STYLE);
	}
	if (isfinite(lp->start)) {
		keys[n].title = lp->start_pretrained ? "pre-trained model"
						     : "at step 0";
		keys[n++].style = sb_strdup(SB_FIG_START_STYLE);
	}
	if (lp->lf->oracle) {
		keys[n].title = "oracle, same |S|";
		keys[n++].style = sb_strdup(ORACLE_STYLE);
	}
	*longest = 0;
	for (size_t k = 0; k < n; k++)
		*longest = strlen(keys[k].title) > *longest
				   ? strlen(keys[k].title) : *longest;
	*out = keys;
	return n;
}

static int write_gp(const struct sb_fig_ctx *ctx, const struct line_plot *lp,
		    struct sb_error *err)
{
	const struct line_fig *lf = lp->lf;
	double ys = lf->yscale;
	struct sb_fig_key *keys;
	size_t longest;
	size_t n_keys = legend(lp, ctx->palette, &keys, &longest);
	double *heights = sb_calloc(lp->n_panels, sizeof *heights);

	for (size_t p = 0; p < lp->n_panels; p++)
		heights[p] = lp->n_panels == 1 ? 1.9 : 1.8;
	struct sb_fig_frame frame = {
		.n_panels = lp->n_panels,
		.cols = lp->n_panels == 4 ? 2 : 3,
		.width = lp->n_panels == 1 ? SB_FIG_COLUMN : SB_FIG_PAGE,
		.height = heights,
		.ylabel_chars = sb_fig_tic_chars(lp->y_lo * ys, lp->y_hi * ys,
						 lp->log_y),
		.ylabel = true, .xlabel = true, .titles = true,
		.n_key = n_keys, .key_chars = longest,
	};
	struct sb_fig_layout lay;
	sb_fig_layout(&frame, &lay);
	free(heights);

	FILE *gp = sb_fig_open(ctx, lf->name, "gp", err);
	if (!gp) {
		sb_fig_keys_release(keys, n_keys);
		sb_fig_layout_release(&lay);
		return -1;
	}
	sb_fig_preamble(gp, lf->name, lf->what);
	fprintf(gp, "# one panel per optimizer; each method's best setting, "
		    "coloured by its policy\n");
	fprintf(gp, "xlabel = \"training step\"\nylabel = ");
	sb_fig_quote(gp, lf->ylabel);
	/* y() maps a .dat value to the axis: percent for shares, and no
	 * point (rather than a band down to the axis) where a log axis has
	 * none. */
	if (lp->log_y)
		fprintf(gp, "\ny(v) = v > 0 ? v * %g : NaN\n", ys);
	else
		fprintf(gp, "\ny(v) = v * %g\n", ys);
	if (isfinite(lp->start)) {
		fprintf(gp, "# the level at step 0, before any update\nstart = ");
		sb_fig_num(gp, lp->start);
		fputc('\n', gp);
	}
	if (lp->reference != SIZE_MAX)
		fprintf(gp, "# full fine-tuning: method %s, dashed in the "
			    "other panels\n",
			lp->agg->methods[lp->reference].method);

	sb_fig_begin(gp, ctx, lf->name, &lay);
	fprintf(gp, "    set grid lc rgb \"#e0e0e0\" lw 0.5\n");
	fprintf(gp, "    set xrange [%g:%g]\n", lp->x_lo, lp->x_hi);
	if (lp->log_y)
		fprintf(gp, "    set logscale y\n    set ytics autofreq\n");
	else
		fprintf(gp, "    unset logscale y\n    set ytics %g\n",
			sb_fig_tic_step(lp->y_lo * ys, lp->y_hi * ys));
	fprintf(gp, "    set yrange [%.6g:%.6g]\n", lp->y_lo * ys,
		lp->y_hi * ys);
	write_panels(gp, lp, ctx->palette, &lay);
	sb_fig_legend(gp, &lay, keys, n_keys);
	sb_fig_end(gp);
	sb_fig_keys_release(keys, n_keys);
	sb_fig_layout_release(&lay);
	return sb_fig_close(gp, ctx, lf->name, "gp", err);
}

static int line_figure(const struct sb_fig_ctx *ctx, const struct line_fig *lf,
		       const char **why, struct sb_error *err)
{
	struct line_plot lp = {.lf = lf, .agg = ctx->agg};
	int rc = -1;

	if (gather(&lp, err))
		goto out;
	arrange(&lp);
	if (!lp.n_panels) {
		*why = lf->why_empty;
		rc = 1;
		goto out;
	}
	find_references(&lp);
	ranges(&lp);
	if (!write_dat(ctx, &lp, err))
		rc = write_gp(ctx, &lp, err);
out:
	for (size_t i = 0; i < lp.n_curves; i++) {
		sb_band_release(&lp.curves[i].band);
		sb_band_release(&lp.curves[i].oracle);
	}
	free(lp.curves);
	free(lp.panels);
	return rc;
}

int sb_fig_grad_info(const struct sb_fig_ctx *ctx, const char **why,
		     struct sb_error *err)
{
	static const struct line_fig lf = {
		.name = "grad_info",
		.what = "gradient-information loss 1 - retained (energy share) "
			"against step, each method's oracle dashed",
		.group = "steps", .column = "retained",
		.oracle = "oracle_retained", .map = SB_SERIES_ONE_MINUS,
		.value = "lost",
		.ylabel = "energy share lost (1 - retained)",
		.yscale = 1, .log_ok = true, .from_zero = true,
		.why_empty = "no run measured retained",
	};
	return line_figure(ctx, &lf, why, err);
}

int sb_fig_churn(const struct sb_fig_ctx *ctx, const char **why,
		 struct sb_error *err)
{
	static const struct line_fig lf = {
		.name = "churn",
		.what = "churn |S_t - S_(t-1)| / |S_t| against step",
		.group = "steps", .column = "churn", .map = SB_SERIES_RAW,
		.value = "churn",
		.ylabel = "churn, new share of S per step",
		.yscale = 1, .from_zero = true,
		.why_empty = "no run measured churn",
	};
	return line_figure(ctx, &lf, why, err);
}

int sb_fig_history(const struct sb_fig_ctx *ctx, const char **why,
		   struct sb_error *err)
{
	static const struct line_fig lf = {
		.name = "history",
		.what = "optimizer state entries reset, cumulative, against step",
		.group = "steps", .column = "history_lost",
		.map = SB_SERIES_CUMSUM, .value = "history_lost_total",
		.ylabel = "optimizer entries reset (cumulative)",
		.yscale = 1, .log_ok = true, .from_zero = true,
		.why_empty = "no run measured history_lost",
	};
	return line_figure(ctx, &lf, why, err);
}

int sb_fig_val_curve(const struct sb_fig_ctx *ctx, const char **why,
		     struct sb_error *err)
{
	static const struct line_fig acc = {
		.name = "val_curve",
		.what = "validation accuracy against step",
		.group = "evals", .column = "val_accuracy",
		.map = SB_SERIES_RAW, .value = "val_accuracy",
		.ylabel = "validation accuracy (%)",
		.yscale = 100, .references = true,
		.why_empty = "no run was evaluated",
	};
	struct line_fig loss = {
		.name = "val_curve",
		.group = "evals", .column = "val_loss",
		.map = SB_SERIES_RAW, .value = "val_loss",
		.yscale = 1, .references = true,
		.why_empty = "no run was evaluated",
	};
	if (!ctx->agg->loss_metric)
		return line_figure(ctx, &acc, why, err);
	char *what = sb_asprintf("validation loss (%s) against step",
				 ctx->agg->loss_unit);
	char *ylabel = sb_asprintf("validation loss (%s)",
				   ctx->agg->loss_unit);
	loss.what = what;
	loss.ylabel = ylabel;
	int rc = line_figure(ctx, &loss, why, err);
	free(what);
	free(ylabel);
	return rc;
}
