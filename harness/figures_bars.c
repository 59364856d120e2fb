/* figures_bars.c - the bar figures of `sparsebench plot`: time per step
 * split into its phases, and optimizer state memory (docs/figures.md). The
 * time of metric computation (t_metrics) is left out, as DESIGN.md asks. */
#include "figures.h"
#include "util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Horizontal bars, the first at the top, each named on the y axis; returns
 * the figure's height, grown so that two-line names stay readable. */
static double bar_tics(FILE *gp, char *const *labels, size_t n)
{
	fprintf(gp, "set yrange [%g:-0.6]\n", (double)n - 0.4);
	fprintf(gp, "set ytics nomirror scale 0 (");
	for (size_t i = 0; i < n; i++) {
		if (i)
			fputs(", ", gp);
		sb_fig_quote(gp, labels[i]);
		fprintf(gp, " %zu", i);
	}
	fprintf(gp, ")\nset grid xtics noytics\nset xrange [0:*]\n"
		    "set key outside top center horizontal Left reverse "
		    "samplen 1.5 width -1\n");
	double height = 1.0 + 0.32 * (double)n;
	return height > SB_FIG_HEIGHT ? height : SB_FIG_HEIGHT;
}

/* ---- time per step ---- */

static const char *const phases[] = {"t_forward", "t_backward", "t_select",
				     "t_update"};
#define N_PHASES 4
/* Fill of each phase; the colour stays the policy's. */
static const char *const phase_fill[N_PHASES] = {
	"solid 0.9", "solid 0.5", "pattern 4", "solid 0.15",
};

/* Mean over the runs of each run's mean phase times, in ms. */
static int setting_times(const struct sb_aggregate *agg, size_t s,
			 double ms[N_PHASES], size_t *n_used,
			 struct sb_error *err)
{
	size_t *runs;
	size_t n = sb_aggregate_plotted_runs(agg, s, &runs);
	double *per_run = sb_calloc(n, sizeof *per_run);
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

int sb_fig_time(const struct sb_fig_ctx *ctx, const char **why,
		struct sb_error *err)
{
	const struct sb_aggregate *agg = ctx->agg;
	double (*ms)[N_PHASES] = sb_calloc(agg->n_settings, sizeof *ms);
	size_t *n_used = sb_calloc(agg->n_settings, sizeof *n_used);
	size_t *order = sb_calloc(agg->n_settings, sizeof *order);
	char **labels = sb_calloc(agg->n_settings, sizeof *labels);
	size_t n_bars = 0;
	int rc = -1;

	/* Bars grouped by method, in file order. */
	for (size_t m = 0; m < agg->n_methods; m++)
		for (size_t j = 0; j < agg->methods[m].n_settings; j++) {
			size_t s = agg->methods[m].settings[j];
			if (setting_times(agg, s, ms[n_bars], &n_used[n_bars],
					  err))
				goto out;
			if (!n_used[n_bars])
				continue;
			order[n_bars] = s;
			const struct sb_agg_setting *st = &agg->settings[s];
			labels[n_bars++] = *st->setting
				? sb_asprintf("%s\n%s", st->method, st->setting)
				: sb_strdup(st->method);
		}
	if (!n_bars) {
		*why = "no run has step timings";
		rc = 1;
		goto out;
	}

	FILE *dat = sb_fig_open(ctx, "time", "dat", err);
	if (!dat)
		goto out;
	fprintf(dat, "# time.dat - time per step by phase in ms, mean over "
		     "seeds of each run's mean over steps (t_metrics excluded)\n");
	fprintf(dat, "# x forward_ms backward_ms select_ms update_ms total_ms "
		     "n_runs rgb method setting\n");
	for (size_t b = 0; b < n_bars; b++) {
		const struct sb_agg_setting *st = &agg->settings[order[b]];
		double total = 0;
		fprintf(dat, "%zu", b);
		for (size_t p = 0; p < N_PHASES; p++) {
			double v = isfinite(ms[b][p]) ? ms[b][p] : 0;
			total += v;
			fputc(' ', dat);
			sb_fig_num(dat, v);
		}
		fputc(' ', dat);
		sb_fig_num(dat, total);
		fprintf(dat, " %zu %u ", n_used[b],
			sb_palette_color(agg, sb_palette_key(st->method,
							     st->policy,
							     st->optimizer)));
		sb_fig_quote(dat, st->method);
		fputc(' ', dat);
		sb_fig_quote(dat, st->setting);
		fputc('\n', dat);
	}
	if (sb_fig_close(dat, ctx, "time", "dat", err))
		goto out;

	FILE *gp = sb_fig_open(ctx, "time", "gp", err);
	if (!gp)
		goto out;
	sb_fig_preamble(gp, "time", "time per step split into forward, "
				    "backward, select and update, stacked");
	fprintf(gp, "set xlabel \"time per step (ms)\"\n");
	double height = bar_tics(gp, labels, n_bars);

	char *plot_text = NULL;
	size_t plot_len = 0;
	FILE *plot = open_memstream(&plot_text, &plot_len);
	/* Each phase is a box from the sum of the phases before it. */
	for (size_t p = 0; p < N_PHASES; p++) {
		char below[64] = "0";
		for (size_t q = 0; q < p; q++)
			snprintf(below + strlen(below),
				 sizeof below - strlen(below), "+$%zu", q + 2);
		fprintf(plot, "%s'time.dat' using (%s+$%zu/2):1:(%s):(%s+$%zu):"
			      "($1-0.35):($1+0.35):8 with boxxyerror lc rgb "
			      "variable fs %s border notitle",
			p ? ", \\\n     " : "plot ", below, p + 2, below, below,
			p + 2, phase_fill[p]);
	}
	for (size_t p = 0; p < N_PHASES; p++)
		fprintf(plot, ", \\\n     NaN with boxes lc rgb \"#555555\" "
			      "fs %s border title \"%s\"", phase_fill[p],
			phases[p] + 2);
	fputc('\n', plot);
	fclose(plot);
	sb_fig_outputs(gp, ctx, "time", plot_text, height);
	free(plot_text);
	rc = sb_fig_close(gp, ctx, "time", "gp", err);
out:
	for (size_t b = 0; b < n_bars; b++)
		free(labels[b]);
	free(labels);
	free(order);
	free(n_used);
	free(ms);
	return rc;
}

/* ---- optimizer state memory ---- */

struct mem_bar {
	const char *policy, *optimizer; /* borrowed */
	size_t policy_rank;             /* palette order */
	double density;                 /* NaN unless the pair swept it */
	double sum;
	size_t n;
};

static int optimizer_rank(const char *name)
{
	static const char *const known[] = {"dense_adam", "sparse_adam", "sgd"};
	for (int k = 0; k < 3; k++)
		if (!strcmp(name, known[k]))
			return k;
	return 3;
}

static const char *optimizer_fill(const char *name)
{
	static const char *const fills[] = {
		"solid 0.85", "pattern 5", "solid 0.3", "pattern 2",
	};
	return fills[optimizer_rank(name)];
}

static size_t policy_rank(const struct sb_aggregate *agg, const char *policy)
{
	for (size_t p = 0; p < agg->n_policies; p++)
		if (!strcmp(agg->policies[p], policy))
			return p;
	return agg->n_policies;
}

static int cmp_bar(const void *a, const void *b)
{
	const struct mem_bar *x = a, *y = b;
	if (x->policy_rank != y->policy_rank)
		return x->policy_rank < y->policy_rank ? -1 : 1;
	int ox = optimizer_rank(x->optimizer), oy = optimizer_rank(y->optimizer);
	if (ox != oy)
		return ox < oy ? -1 : 1;
	int c = strcmp(x->optimizer, y->optimizer);
	if (c)
		return c;
	if (x->density != y->density && !isnan(x->density) &&
	    !isnan(y->density))
		return x->density < y->density ? -1 : 1;
	return 0;
}

/* Whether one policy x optimizer pair was run at several densities. */
static bool pair_swept(const struct sb_aggregate *agg,
		       const struct sb_agg_setting *st)
{
	for (size_t s = 0; s < agg->n_settings; s++) {
		const struct sb_agg_setting *o = &agg->settings[s];
		if (!strcmp(o->policy, st->policy) &&
		    !strcmp(o->optimizer, st->optimizer) &&
		    isfinite(o->density) && isfinite(st->density) &&
		    o->density != st->density)
			return true;
	}
	return false;
}

static size_t collect_bars(const struct sb_aggregate *agg, struct mem_bar *bars)
{
	size_t n_bars = 0;

	for (size_t s = 0; s < agg->n_settings; s++) {
		const struct sb_agg_setting *st = &agg->settings[s];
		double d = pair_swept(agg, st) ? st->density : NAN;
		size_t b = 0;
		while (b < n_bars && !(!strcmp(bars[b].policy, st->policy) &&
				       !strcmp(bars[b].optimizer, st->optimizer) &&
				       (bars[b].density == d ||
					(isnan(d) && isnan(bars[b].density)))))
			b++;
		if (b == n_bars)
			bars[n_bars++] = (struct mem_bar){
				.policy = st->policy,
				.policy_rank = policy_rank(agg, st->policy),
				.optimizer = st->optimizer, .density = d};
		size_t *runs;
		size_t n = sb_aggregate_plotted_runs(agg, s, &runs);
		for (size_t j = 0; j < n; j++) {
			double v = sb_run_info_attr(agg->runs[runs[j]].info,
						    "optimizer_state_bytes");
			if (isfinite(v)) {
				bars[b].sum += v;
				bars[b].n++;
			}
		}
	}
	/* Keep the bars that have a value. */
	size_t k = 0;
	for (size_t b = 0; b < n_bars; b++)
		if (bars[b].n)
			bars[k++] = bars[b];
	qsort(bars, k, sizeof *bars, cmp_bar);
	return k;
}

int sb_fig_memory(const struct sb_fig_ctx *ctx, const char **why,
		  struct sb_error *err)
{
	const struct sb_aggregate *agg = ctx->agg;
	struct mem_bar *bars = sb_calloc(agg->n_settings, sizeof *bars);
	size_t n_bars = collect_bars(agg, bars);
	char **labels = sb_calloc(n_bars, sizeof *labels);
	int rc = -1;

	if (!n_bars) {
		*why = "no run recorded optimizer_state_bytes";
		rc = 1;
		goto out;
	}
	double max = 0;
	for (size_t b = 0; b < n_bars; b++)
		max = fmax(max, bars[b].sum / (double)bars[b].n);
	static const char *const units[] = {"B", "KiB", "MiB", "GiB"};
	size_t u = 0;
	double scale = 1;
	while (max / scale >= 1024 && u + 1 < 4) {
		scale *= 1024;
		u++;
	}

	FILE *dat = sb_fig_open(ctx, "memory", "dat", err);
	if (!dat)
		goto out;
	fprintf(dat, "# memory.dat - optimizer state per policy x optimizer "
		     "(x density where the pair swept it), mean over runs; "
		     "one block per run of adjacent bars of one optimizer\n");
	fprintf(dat, "# x bytes %s n_runs rgb policy optimizer density size\n",
		units[u]);
	char *plot_text = NULL;
	size_t plot_len = 0;
	FILE *plot = open_memstream(&plot_text, &plot_len);
	size_t block = 0;
	for (size_t b = 0; b < n_bars; b++) {
		/* A block is a stretch of adjacent bars of one optimizer (its
		 * fill), in the colours of their policies. */
		if (!b || strcmp(bars[b].optimizer, bars[b - 1].optimizer)) {
			if (block)
				fputs("\n\n", dat);
			fprintf(dat, "# block %zu: optimizer %s\n", block,
				bars[b].optimizer);
			fprintf(plot, "%s'memory.dat' index %zu using ($3/2):1:"
				      "(0):3:($1-0.35):($1+0.35):5 with boxxyerror "
				      "lc rgb variable fs %s border notitle, \\\n"
				      "     '' index %zu using 3:1:9 with labels "
				      "left offset char 0.5,0 notitle",
				block ? ", \\\n     " : "plot ", block,
				optimizer_fill(bars[b].optimizer), block);
			block++;
		}
		double bytes = bars[b].sum / (double)bars[b].n;
		char size[32];
		sb_format_bytes(bytes, size, sizeof size);
		fprintf(dat, "%zu ", b);
		sb_fig_num(dat, bytes);
		fputc(' ', dat);
		sb_fig_num(dat, bytes / scale);
		fprintf(dat, " %zu %u %s %s ", bars[b].n,
			sb_palette_color(agg, bars[b].policy), bars[b].policy,
			bars[b].optimizer);
		sb_fig_num(dat, bars[b].density);
		fputc(' ', dat);
		sb_fig_quote(dat, size);
		fputc('\n', dat);
		labels[b] = isnan(bars[b].density)
			? sb_asprintf("%s\n%s", bars[b].policy, bars[b].optimizer)
			: sb_asprintf("%s\n%s\ndensity %g", bars[b].policy,
				      bars[b].optimizer, bars[b].density);
	}
	/* The legend names each optimizer's fill once, in a neutral grey. */
	for (size_t b = 0; b < n_bars; b++) {
		bool first = true;
		for (size_t c = 0; c < b; c++)
			first = first && strcmp(bars[c].optimizer,
						bars[b].optimizer);
		if (!first)
			continue;
		fprintf(plot, ", \\\n     NaN with boxes lc rgb \"#555555\" "
			      "fs %s border title ",
			optimizer_fill(bars[b].optimizer));
		sb_fig_quote(plot, bars[b].optimizer);
	}
	fputc('\n', plot);
	fclose(plot);
	if (sb_fig_close(dat, ctx, "memory", "dat", err)) {
		free(plot_text);
		goto out;
	}

	FILE *gp = sb_fig_open(ctx, "memory", "gp", err);
	if (!gp) {
		free(plot_text);
		goto out;
	}
	sb_fig_preamble(gp, "memory", "optimizer state memory per policy x "
				      "optimizer");
	fprintf(gp, "set offsets 0, graph 0.3, 0, 0\n"
		    "set xlabel \"optimizer state (%s)\"\n", units[u]);
	double height = bar_tics(gp, labels, n_bars);
	sb_fig_outputs(gp, ctx, "memory", plot_text, height);
	free(plot_text);
	rc = sb_fig_close(gp, ctx, "memory", "gp", err);
out:
	for (size_t b = 0; b < n_bars; b++)
		free(labels[b]);
	free(labels);
	free(bars);
	return rc;
}
