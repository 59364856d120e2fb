/* figures_bars.c - the bar figures of `sparsebench plot`: time per step
 * split into its phases, and the memory each method needs stacked by part
 * beside its peak resident size; one panel per optimizer, side by side,
 * sharing the value axis and the rows (a policy reads across them), bars
 * in the colour of their policy (docs/figures.md). The time of metric
 * computation (t_metrics) is left out, as DESIGN.md asks. */
#include "analysis/figures.h"
#include "util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A bar is this tall (inches) with the gap to the next; a panel has room
 * for at least MIN_SLOTS bars, so that one bar is not a slab. */
#define PITCH 0.2
#define MIN_SLOTS 3

/* ---- shared by both figures ---- */

/* A bar of either figure: where it goes and what it is called. */
struct bar {
	size_t panel, rank;   /* rank: palette order of its key */
	double density;       /* NaN unless density tells bars apart */
	const char *key;      /* its colour; borrowed */
	char *label;          /* its row's name */
	size_t slot;          /* its row, from the top */
};

/* The rows every panel shares, so that a policy reads across the panels:
 * each name once, in palette order, then by density. */
struct rows {
	const char **names; /* borrowed from the bars */
	size_t n, widest;
};

static int cmp_row(const void *a, const void *b)
{
	const struct bar *x = a, *y = b;
	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	if (x->density != y->density && !isnan(x->density) &&
	    !isnan(y->density))
		return x->density < y->density ? -1 : 1;
	return x->panel < y->panel ? -1 : x->panel > y->panel;
}

static int cmp_panel_slot(const void *a, const void *b)
{
	const struct bar *x = a, *y = b;
	if (x->panel != y->panel)
		return x->panel < y->panel ? -1 : 1;
	return x->slot < y->slot ? -1 : x->slot > y->slot;
}

/* Names the bars and gives each its row; leaves them in panel then row
 * order. `stride` is the size of the structure that begins with each bar;
 * release rows->names after. */
static void place_bars(void *bars, size_t n, size_t stride, struct rows *rows)
{
	rows->names = sb_calloc(n + 1, sizeof *rows->names);
	rows->n = rows->widest = 0;
	qsort(bars, n, stride, cmp_row);
	for (size_t i = 0; i < n; i++) {
		struct bar *b = (struct bar *)((char *)bars + i * stride);
		b->label = isnan(b->density)
			? sb_strdup(b->key)
			: sb_asprintf("%s %g%%", b->key, 100 * b->density);
		size_t r = 0;
		while (r < rows->n && strcmp(rows->names[r], b->label))
			r++;
		if (r == rows->n)
			rows->names[rows->n++] = b->label;
		b->slot = r;
		if (strlen(b->label) > rows->widest)
			rows->widest = strlen(b->label);
	}
	qsort(bars, n, stride, cmp_panel_slot);
}

/* Panels side by side (three to a row), every one as tall as the rows. */
static void bar_layout(const struct rows *rows, size_t n_panels, size_t n_key,
		       size_t key_chars, struct sb_fig_layout *lay)
{
	double *heights = sb_calloc(n_panels ? n_panels : 1, sizeof *heights);
	size_t slots = rows->n > MIN_SLOTS ? rows->n : MIN_SLOTS;

	for (size_t p = 0; p < n_panels; p++)
		heights[p] = PITCH * (double)slots;
	struct sb_fig_frame frame = {
		.n_panels = n_panels, .cols = n_panels == 4 ? 2 : 3,
		.width = n_panels == 1 ? SB_FIG_COLUMN : SB_FIG_PAGE,
		.height = heights, .ylabel_chars = rows->widest,
		.ylabel = false, .xlabel = true, .titles = true,
		.n_key = n_key, .key_chars = key_chars,
	};
	sb_fig_layout(&frame, lay);
	free(heights);
}

/* A tick label: gnuplot reads it as a format, so a % is written %%. */
static void quote_tic(FILE *gp, const char *label)
{
	char *escaped = sb_calloc(2 * strlen(label) + 1, 1);
	char *q = escaped;
	for (const char *p = label; *p; p++) {
		*q++ = *p;
		if (*p == '%')
			*q++ = '%';
	}
	sb_fig_quote(gp, escaped);
	free(escaped);
}

/* Starts panel p: the rows named on the left column, first at the top. */
static void bar_panel(FILE *gp, const struct sb_fig_layout *lay, size_t p,
		      const char *optimizer, const struct rows *rows)
{
	char *title = sb_asprintf("optimizer: %s", optimizer);
	size_t slots = rows->n > MIN_SLOTS ? rows->n : MIN_SLOTS;

	sb_fig_panel(gp, lay, p, title);
	free(title);
	if (sb_fig_layout_left(lay, p)) {
		fprintf(gp, "    set ytics nomirror scale 0 (");
		for (size_t r = 0; r < rows->n; r++) {
			fprintf(gp, "%s", r ? ", " : "");
			quote_tic(gp, rows->names[r]);
			fprintf(gp, " %zu", r);
		}
		fprintf(gp, ")\n");
	} else {
		fprintf(gp, "    unset ytics\n");
	}
	fprintf(gp, "    set yrange [%g:-0.5]\n", (double)slots - 0.5);
}

static void axis_settings(FILE *gp, double max)
{
	fprintf(gp, "    set grid xtics noytics lc rgb \"#e0e0e0\" lw 0.5\n"
		    "    unset logscale\n    set xrange [0:%g]\n"
		    "    set xtics %g\n", max, sb_fig_tic_step(0, max));
}

/* ---- time per step ---- */

static const char *const phases[] = {"t_forward", "t_backward", "t_select",
				     "t_update"};
#define N_PHASES 4
/* Fill of each phase; the colour stays the policy's. */
static const char *const phase_fill[N_PHASES] = {
	"solid 0.9", "solid 0.5", "pattern 4", "solid 0.15",
};

struct time_bar {
	struct bar bar; /* first: place_bars sorts these */
	size_t setting;
	double ms[N_PHASES];
	size_t n_used;
};

/* Mean over the runs of each run's mean phase times, in ms. */
static int setting_times(const struct sb_aggregate *agg, size_t s,
			 double ms[N_PHASES], size_t *n_used,
			 struct sb_error *err)
{
	size_t *runs;
	size_t n = sb_aggregate_plotted_runs(agg, s, &runs);
	double *per_run = sb_calloc(n + 1, sizeof *per_run);
	struct sb_stats st;

	*n_used = 0;
	for (size_t p = 0; p < N_PHASES; p++) {
		for (size_t j = 0; j < n; j++)
			if (sb_aggregate_series_mean(agg, runs[j], "steps",
						     phases[p], &per_run[j],
						     err)) {
				free(per_run);
				return -1;
			}
		sb_stats_of(per_run, n, &st);
		ms[p] = st.mean * 1000;
		*n_used = st.n > *n_used ? st.n : *n_used;
	}
	free(per_run);
	return 0;
}

/* One bar per method (per method and density when densities were swept):
 * its best setting on validation, as in the report. */
static int time_bars(const struct sb_fig_ctx *ctx, struct time_bar *bars,
		     size_t *n_bars, const char **panels, size_t *n_panels,
		     struct sb_error *err)
{
	const struct sb_aggregate *agg = ctx->agg;
	size_t n_dens = agg->density_swept ? agg->n_densities : 1;
	size_t n = 0;

	for (size_t m = 0; m < agg->n_methods; m++)
		for (size_t d = 0; d < n_dens; d++) {
			double density = agg->density_swept ? agg->densities[d]
							    : NAN;
			size_t s = sb_aggregate_best(agg, m, density);
			struct time_bar *tb = &bars[n];
			if (s == SIZE_MAX)
				continue;
			*tb = (struct time_bar){.setting = s};
			if (setting_times(agg, s, tb->ms, &tb->n_used, err))
				return -1;
			if (!tb->n_used)
				continue;
			tb->bar.density = density;
			tb->bar.key = sb_palette_key_of(&agg->settings[s]);
			tb->bar.rank = sb_palette_rank(ctx->palette,
						       tb->bar.key);
			n++;
		}
	size_t *settings = sb_calloc(n + 1, sizeof *settings);
	for (size_t i = 0; i < n; i++)
		settings[i] = bars[i].setting;
	*n_panels = sb_fig_panels(agg, settings, n, panels);
	free(settings);
	for (size_t i = 0; i < n; i++)
		bars[i].bar.panel = sb_fig_panel_of(
			panels, *n_panels,
			agg->settings[bars[i].setting].optimizer);
	*n_bars = n;
	return 0;
}

static int time_dat(const struct sb_fig_ctx *ctx, const struct time_bar *bars,
		    size_t n, const char *const *panels, double *max,
		    struct sb_error *err)
{
	const struct sb_aggregate *agg = ctx->agg;
	FILE *dat = sb_fig_open(ctx, "time", "dat", err);

	if (!dat)
		return -1;
	fprintf(dat, "# time.dat - time per step by phase in ms, mean over "
		     "seeds of each run's mean over steps (t_metrics excluded); "
		     "each method's best setting; one block per optimizer, x "
		     "the bar's row from the top\n");
	fprintf(dat, "# x forward_ms backward_ms select_ms update_ms total_ms "
		     "n_runs rgb method setting\n");
	*max = 0;
	for (size_t b = 0; b < n; b++) {
		const struct sb_agg_setting *st = &agg->settings[bars[b].setting];
		if (!b || bars[b].bar.panel != bars[b - 1].bar.panel)
			fprintf(dat, "%s# block %zu: optimizer %s\n",
				b ? "\n\n" : "", bars[b].bar.panel,
				panels[bars[b].bar.panel]);
		double total = 0;
		fprintf(dat, "%zu", bars[b].bar.slot);
		for (size_t p = 0; p < N_PHASES; p++) {
			double v = isfinite(bars[b].ms[p]) ? bars[b].ms[p] : 0;
			total += v;
			fputc(' ', dat);
			sb_fig_num(dat, v);
		}
		*max = fmax(*max, total);
		fputc(' ', dat);
		sb_fig_num(dat, total);
		fprintf(dat, " %zu %u ", bars[b].n_used,
			sb_palette_color(ctx->palette, bars[b].bar.key));
		sb_fig_quote(dat, st->method);
		fputc(' ', dat);
		sb_fig_quote(dat, st->setting);
		fputc('\n', dat);
	}
	return sb_fig_close(dat, ctx, "time", "dat", err);
}

static int time_gp(const struct sb_fig_ctx *ctx, const char *const *panels,
		   size_t n_panels, const struct rows *rows, double max,
		   struct sb_error *err)
{
	struct sb_fig_key keys[N_PHASES];
	struct sb_fig_layout lay;

	bar_layout(rows, n_panels, N_PHASES, strlen("backward"), &lay);
	FILE *gp = sb_fig_open(ctx, "time", "gp", err);
	if (!gp) {
		sb_fig_layout_release(&lay);
		return -1;
	}
	sb_fig_preamble(gp, "time", "time per step split into forward, "
				    "backward, select and update, stacked");
	fprintf(gp, "# one panel per optimizer; each method's best setting, "
		    "coloured by its policy\n"
		    "xlabel = \"time per step (ms)\"\nylabel = \"\"\n");
	sb_fig_begin(gp, ctx, "time", &lay);
	axis_settings(gp, max * 1.05);
	for (size_t p = 0; p < n_panels; p++) {
		bar_panel(gp, &lay, p, panels[p], rows);
		/* Each phase is a box from the sum of the phases before it. */
		for (size_t k = 0; k < N_PHASES; k++) {
			char below[64] = "0";
			for (size_t q = 0; q < k; q++)
				snprintf(below + strlen(below),
					 sizeof below - strlen(below), "+$%zu",
					 q + 2);
			fprintf(gp, "%s'time.dat' index %zu using (%s+$%zu/2):1:"
				    "(%s):(%s+$%zu):($1-0.35):($1+0.35):8 with "
				    "boxxyerror lc rgb variable fs %s border",
				k ? ", \\\n         " : "    plot ", p, below,
				k + 2, below, below, k + 2, phase_fill[k]);
		}
		fputc('\n', gp);
	}
	for (size_t k = 0; k < N_PHASES; k++) {
		keys[k].title = phases[k] + 2;
		keys[k].style = sb_asprintf("with boxes lc rgb \"#555555\" "
					    "fs %s border", phase_fill[k]);
	}
	sb_fig_legend(gp, &lay, keys, N_PHASES);
	sb_fig_end(gp);
	for (size_t k = 0; k < N_PHASES; k++)
		free(keys[k].style);
	sb_fig_layout_release(&lay);
	return sb_fig_close(gp, ctx, "time", "gp", err);
}

int sb_fig_time(const struct sb_fig_ctx *ctx, const char **why,
		struct sb_error *err)
{
	const struct sb_aggregate *agg = ctx->agg;
	size_t cap = agg->n_methods * (agg->n_densities + 1) + 1;
	struct time_bar *bars = sb_calloc(cap, sizeof *bars);
	const char **panels = sb_calloc(cap, sizeof *panels);
	size_t n_bars = 0, n_panels = 0;
	struct rows rows = {0};
	double max;
	int rc = -1;

	if (time_bars(ctx, bars, &n_bars, panels, &n_panels, err))
		goto out;
	if (!n_bars) {
		*why = "no run has step timings";
		rc = 1;
		goto out;
	}
	place_bars(bars, n_bars, sizeof *bars, &rows);
	if (!time_dat(ctx, bars, n_bars, panels, &max, err))
		rc = time_gp(ctx, panels, n_panels, &rows, max, err);
out:
	for (size_t b = 0; b < n_bars; b++)
		free(bars[b].bar.label);
	free(rows.names);
	free(panels);
	free(bars);
	return rc;
}

/* ---- memory by part ---- */

/* The parts a run needs, stacked in this order (docs/results.md). */
#define N_PARTS 4
static const char *const mem_parts[N_PARTS] = {
	"param_bytes", "grad_bytes", "optimizer_state_bytes",
	"activation_bytes",
};
static const char *const part_title[N_PARTS] = {
	"parameters", "gradient", "optimizer state", "activations",
};
/* Fill of each part; the colour stays the policy's. */
static const char *const part_fill[N_PARTS] = {
	"solid 0.9", "solid 0.55", "pattern 4", "solid 0.15",
};

struct mem_bar {
	struct bar bar; /* first: place_bars sorts these */
	const char *optimizer; /* borrowed; the row's key is bar.key */
	double part[N_PARTS], peak; /* sums over the runs counted */
	size_t n, n_peak;
};

/* Whether one method (its palette key: the policy, or the method's own
 * name) x optimizer pair was run at several densities. */
static bool pair_swept(const struct sb_aggregate *agg,
		       const struct sb_agg_setting *st)
{
	for (size_t s = 0; s < agg->n_settings; s++) {
		const struct sb_agg_setting *o = &agg->settings[s];
		if (!strcmp(sb_palette_key_of(o), sb_palette_key_of(st)) &&
		    !strcmp(o->optimizer, st->optimizer) &&
		    isfinite(o->density) && isfinite(st->density) &&
		    o->density != st->density)
			return true;
	}
	return false;
}

/* Adds one run's parts to its bar. A run counts once it has its optimizer
 * state; a part that a file written before it was recorded lacks counts
 * 0. */
static void add_run(struct mem_bar *bar, const struct sb_run_info *info)
{
	if (!isfinite(sb_run_info_attr(info, "optimizer_state_bytes")))
		return;
	for (size_t p = 0; p < N_PARTS; p++) {
		double v = sb_run_info_attr(info, mem_parts[p]);
		bar->part[p] += isfinite(v) ? v : 0;
	}
	bar->n++;
	double peak = sb_run_info_attr(info, "peak_rss_bytes");
	if (isfinite(peak)) {
		bar->peak += peak;
		bar->n_peak++;
	}
}

/* One bar per method x optimizer (x density where the pair swept it), a
 * method named by its palette key as in the time figure (the policy, or
 * the method's own name, so that methods of one policy stay apart): the
 * mean over every usable run of the pair. */
static size_t collect_bars(const struct sb_fig_ctx *ctx, struct mem_bar *bars,
			   const char **panels, size_t *n_panels)
{
	const struct sb_aggregate *agg = ctx->agg;
	size_t n_bars = 0;

	for (size_t s = 0; s < agg->n_settings; s++) {
		const struct sb_agg_setting *st = &agg->settings[s];
		double d = pair_swept(agg, st) ? st->density : NAN;
		const char *key = sb_palette_key_of(st);
		size_t b = 0;
		while (b < n_bars && !(!strcmp(bars[b].bar.key, key) &&
				       !strcmp(bars[b].optimizer, st->optimizer) &&
				       (bars[b].bar.density == d ||
					(isnan(d) && isnan(bars[b].bar.density)))))
			b++;
		if (b == n_bars)
			bars[n_bars++] = (struct mem_bar){
				.bar = {.density = d, .key = key,
					.rank = sb_palette_rank(ctx->palette,
								key)},
				.optimizer = st->optimizer};
		size_t *runs;
		size_t n = sb_aggregate_plotted_runs(agg, s, &runs);
		for (size_t j = 0; j < n; j++)
			add_run(&bars[b], agg->runs[runs[j]].info);
	}
	/* Keep the bars that have a value; a panel per optimizer. */
	size_t k = 0;
	*n_panels = 0;
	for (size_t b = 0; b < n_bars; b++) {
		if (!bars[b].n)
			continue;
		bars[k++] = bars[b];
		if (sb_fig_panel_of(panels, *n_panels, bars[b].optimizer) ==
		    *n_panels)
			panels[(*n_panels)++] = bars[b].optimizer;
	}
	for (size_t i = 1; i < *n_panels; i++)
		for (size_t j = i; j > 0 &&
		     sb_palette_optimizer_cmp(panels[j - 1], panels[j]) > 0;
		     j--) {
			const char *t = panels[j];
			panels[j] = panels[j - 1];
			panels[j - 1] = t;
		}
	for (size_t b = 0; b < k; b++)
		bars[b].bar.panel = sb_fig_panel_of(panels, *n_panels,
						    bars[b].optimizer);
	return k;
}

static double bar_total(const struct mem_bar *b)
{
	double total = 0;
	for (size_t p = 0; p < N_PARTS; p++)
		total += b->part[p];
	return total / (double)b->n;
}

static double bar_peak(const struct mem_bar *b)
{
	return b->n_peak ? b->peak / (double)b->n_peak : NAN;
}

/* The unit of the axis: the binary unit of the largest bar or peak. */
static const char *memory_unit(const struct mem_bar *bars, size_t n,
			       double *scale, double *max)
{
	*max = 0;
	for (size_t b = 0; b < n; b++) {
		*max = fmax(*max, bar_total(&bars[b]));
		if (bars[b].n_peak)
			*max = fmax(*max, bar_peak(&bars[b]));
	}
	return sb_bytes_unit(*max, scale);
}

static int memory_dat(const struct sb_fig_ctx *ctx, const struct mem_bar *bars,
		      size_t n_bars, const char *unit, double scale,
		      struct sb_error *err)
{
	FILE *dat = sb_fig_open(ctx, "memory", "dat", err);

	if (!dat)
		return -1;
	fprintf(dat, "# memory.dat - the memory each method x optimizer (x "
		     "density where the pair swept it) needs, by part, and the "
		     "peak resident size of its runs, means over runs, in %s; "
		     "one block per optimizer, x the bar's row from the top\n",
		unit);
	fprintf(dat, "# x params grad state acts total peak n_runs rgb method "
		     "optimizer density size\n");
	for (size_t b = 0; b < n_bars; b++) {
		if (!b || bars[b].bar.panel != bars[b - 1].bar.panel)
			fprintf(dat, "%s# block %zu: optimizer %s\n",
				b ? "\n\n" : "", bars[b].bar.panel,
				bars[b].optimizer);
		double total = bar_total(&bars[b]);
		char size[32];
		sb_format_bytes(total, size, sizeof size);
		fprintf(dat, "%zu", bars[b].bar.slot);
		for (size_t p = 0; p < N_PARTS; p++) {
			fputc(' ', dat);
			sb_fig_num(dat, bars[b].part[p] / (double)bars[b].n /
					scale);
		}
		fputc(' ', dat);
		sb_fig_num(dat, total / scale);
		fputc(' ', dat);
		sb_fig_num(dat, bar_peak(&bars[b]) / scale);
		fprintf(dat, " %zu %u %s %s ", bars[b].n,
			sb_palette_color(ctx->palette, bars[b].bar.key),
			bars[b].bar.key, bars[b].optimizer);
		sb_fig_num(dat, bars[b].bar.density);
		fputc(' ', dat);
		sb_fig_quote(dat, size);
		fputc('\n', dat);
	}
	return sb_fig_close(dat, ctx, "memory", "dat", err);
}

static int memory_gp(const struct sb_fig_ctx *ctx, const char *const *panels,
		     size_t n_panels, const struct rows *rows, const char *unit,
		     double max, struct sb_error *err)
{
	struct sb_fig_key keys[N_PARTS + 1];
	struct sb_fig_layout lay;

	bar_layout(rows, n_panels, N_PARTS + 1, strlen("peak resident size"),
		   &lay);
	FILE *gp = sb_fig_open(ctx, "memory", "gp", err);
	if (!gp) {
		sb_fig_layout_release(&lay);
		return -1;
	}
	sb_fig_preamble(gp, "memory", "the memory each method needs, stacked "
				      "by part, and its runs' peak resident "
				      "size");
	fprintf(gp, "# one panel per optimizer, bars coloured by policy, the "
		    "total written at each, the peak a cross\n"
		    "xlabel = \"memory (%s)\"\nylabel = \"\"\n", unit);
	sb_fig_begin(gp, ctx, "memory", &lay);
	/* Room right of the longest bar for its size. */
	axis_settings(gp, max * 1.35);
	for (size_t p = 0; p < n_panels; p++) {
		bar_panel(gp, &lay, p, panels[p], rows);
		/* Each part is a box from the sum of the parts before it. */
		for (size_t k = 0; k < N_PARTS; k++) {
			char below[64] = "0";
			for (size_t q = 0; q < k; q++)
				snprintf(below + strlen(below),
					 sizeof below - strlen(below), "+$%zu",
					 q + 2);
			fprintf(gp, "%s'memory.dat' index %zu using (%s+$%zu/2):"
				    "1:(%s):(%s+$%zu):($1-0.35):($1+0.35):9 "
				    "with boxxyerror lc rgb variable fs %s "
				    "border",
				k ? ", \\\n         " : "    plot ", p, below,
				k + 2, below, below, k + 2, part_fill[k]);
		}
		fprintf(gp, ", \\\n         '' index %zu using 7:1 with points "
			    "pt 2 ps 1.2 lc rgb \"#000000\", \\\n"
			    "         '' index %zu using 6:1:13 with labels left "
			    "offset char 0.5,0\n", p, p);
	}
	for (size_t k = 0; k < N_PARTS; k++) {
		keys[k].title = part_title[k];
		keys[k].style = sb_asprintf("with boxes lc rgb \"#555555\" "
					    "fs %s border", part_fill[k]);
	}
	keys[N_PARTS].title = "peak resident size";
	keys[N_PARTS].style = sb_strdup("with points pt 2 ps 1.2 lc rgb "
					"\"#000000\"");
	sb_fig_legend(gp, &lay, keys, N_PARTS + 1);
	sb_fig_end(gp);
	for (size_t k = 0; k < N_PARTS + 1; k++)
		free(keys[k].style);
	sb_fig_layout_release(&lay);
	return sb_fig_close(gp, ctx, "memory", "gp", err);
}

int sb_fig_memory(const struct sb_fig_ctx *ctx, const char **why,
		  struct sb_error *err)
{
	const struct sb_aggregate *agg = ctx->agg;
	struct mem_bar *bars = sb_calloc(agg->n_settings + 1, sizeof *bars);
	const char **panels = sb_calloc(agg->n_settings + 1, sizeof *panels);
	size_t n_panels;
	size_t n_bars = collect_bars(ctx, bars, panels, &n_panels);
	struct rows rows = {0};
	int rc = 1;

	if (!n_bars) {
		*why = "no run recorded optimizer_state_bytes";
		goto out;
	}
	place_bars(bars, n_bars, sizeof *bars, &rows);
	double scale, max;
	const char *unit = memory_unit(bars, n_bars, &scale, &max);
	rc = memory_dat(ctx, bars, n_bars, unit, scale, err);
	if (!rc)
		rc = memory_gp(ctx, panels, n_panels, &rows, unit, max / scale,
			       err);
out:
	for (size_t b = 0; b < n_bars; b++)
		free(bars[b].bar.label);
	free(rows.names);
	free(panels);
	free(bars);
	return rc;
}
