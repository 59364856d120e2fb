/* aggregate.c - groups the runs of a results file by method and setting,
 * merges their series over seeds and picks each method's setting on the
 * validation metric (DESIGN.md, "Learning rates"; docs/figures.md). */
#include "analysis/aggregate.h"
#include "util.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sb_stats_of(const double *x, size_t n, struct sb_stats *out)
{
	double lo = INFINITY, hi = -INFINITY;
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		if (!isfinite(x[i]))
			continue;
		lo = fmin(lo, x[i]);
		hi = fmax(hi, x[i]);
		k++;
	}
	out->n = k;
	if (!k) {
		out->mean = out->std = out->min = out->max = NAN;
		return;
	}
	out->mean = sb_mean_finite(x, n);
	out->min = lo;
	out->max = hi;
	double ss = 0;
	for (size_t i = 0; i < n; i++)
		if (isfinite(x[i]))
			ss += (x[i] - out->mean) * (x[i] - out->mean);
	out->std = k > 1 ? sqrt(ss / (double)(k - 1)) : 0;
}

static enum sb_status parse_status(const char *s)
{
	static const enum sb_status all[] = {
		SB_STATUS_RUNNING, SB_STATUS_COMPLETED, SB_STATUS_DIVERGED,
		SB_STATUS_FAILED,
	};
	for (size_t i = 0; s && i < sizeof all / sizeof all[0]; i++)
		if (!strcmp(s, sb_status_name(all[i])))
			return all[i];
	return SB_STATUS_NONE;
}

/* Language-model runs report held-out loss; the others accuracy. A run
 * records its task; a file with losses but no accuracy at all (an older or
 * foreign writer) is read as language modelling too. */
static bool detect_loss_metric(const struct sb_results_view *view)
{
	bool any_acc = false;

	for (size_t i = 0; i < view->n_runs; i++) {
		const struct sb_run_info *r = &view->runs[i];
		if (!strcmp(r->task, "lm"))
			return true;
		if (*r->task)
			return false;
		if (isfinite(sb_run_info_attr(r, "final_val_accuracy")) ||
		    isfinite(sb_run_info_attr(r, "test_accuracy")))
			any_acc = true;
	}
	if (any_acc)
		return false;
	for (size_t i = 0; i < view->n_runs; i++)
		if (isfinite(sb_run_info_attr(&view->runs[i], "final_val_loss")) ||
		    isfinite(sb_run_info_attr(&view->runs[i], "test_loss")))
			return true;
	return false;
}

/* A value of the resolved config a run records (spec/grid.c writes one
 * flow mapping per part: `model: {name: gpt, checkpoint: x.h5, ...}`),
 * copied into out; "" when absent. Quotes are kept: `""` is an empty
 * string. */
static void config_value(const char *yaml, const char *part, const char *key,
			 char *out, size_t size)
{
	size_t np = strlen(part), nk = strlen(key);
	const char *line = yaml;

	out[0] = '\0';
	while (line && (strncmp(line, part, np) ||
			 strncmp(line + np, ": {", 3))) {
		line = strchr(line, '\n');
		line = line ? line + 1 : NULL;
	}
	if (!line)
		return;
	const char *end = line + strcspn(line, "\n");
	for (const char *p = line + np + 3; p < end; p++) {
		if (p[-1] != '{' && !(p[-1] == ' ' && p[-2] == ','))
			continue;
		if (strncmp(p, key, nk) || strncmp(p + nk, ": ", 2))
			continue;
		p += nk + 2;
		size_t n = strcspn(p, ",}\n");
		n = n < size ? n : size - 1;
		memcpy(out, p, n);
		out[n] = '\0';
		return;
	}
}

/* Datasets whose tokens are bytes: their losses are nats per byte. */
static const char *const byte_datasets[] = {
	"fortunes", /* datasets/fortunes.c: vocabulary 256, one byte a token */
};

static const char *loss_unit(const struct sb_results_view *view)
{
	size_t n_bytes = 0;

	for (size_t i = 0; i < view->n_runs; i++) {
		char name[64];
		const char *yaml = view->runs[i].config_yaml;
		config_value(yaml ? yaml : "", "dataset", "name", name,
			     sizeof name);
		for (size_t k = 0; k < sizeof byte_datasets /
					   sizeof byte_datasets[0]; k++)
			n_bytes += !strcmp(name, byte_datasets[k]);
	}
	return view->n_runs && n_bytes == view->n_runs ? "nats/byte"
						       : "nats/token";
}

static double setting_density(const char *setting)
{
	const char *p = setting;

	while (p && (p = strstr(p, "density="))) {
		if (p == setting || p[-1] == ' ')
			return strtod(p + 8, NULL);
		p += 8;
	}
	return NAN;
}

static double last_finite(const double *x, size_t n)
{
	while (n--)
		if (isfinite(x[n]))
			return x[n];
	return NAN;
}

static int fill_run(struct sb_aggregate *agg, size_t i, struct sb_error *err)
{
	struct sb_agg_run *run = &agg->runs[i];
	const struct sb_run_info *info = &agg->view.runs[i];
	const char *val_attr = agg->loss_metric ? "final_val_loss"
						: "final_val_accuracy";
	const char *val_col = agg->loss_metric ? "val_loss" : "val_accuracy";

	run->info = info;
	run->index = i;
	run->status = parse_status(info->status);
	run->density = sb_run_info_attr(info, "density");
	if (!isfinite(run->density))
		run->density = setting_density(info->setting);
	run->test = sb_run_info_attr(info, agg->loss_metric ? "test_loss"
							     : "test_accuracy");
	char checkpoint[8];
	config_value(info->config_yaml ? info->config_yaml : "", "model",
		     "checkpoint", checkpoint, sizeof checkpoint);
	run->from_checkpoint = *checkpoint && strcmp(checkpoint, "\"\"");
	run->val = sb_run_info_attr(info, val_attr);
	if (isfinite(run->val))
		return 0;
	double *vals;
	size_t n;
	if (sb_results_series(&agg->view, i, "evals", val_col, &vals, &n, err))
		return -1;
	run->val = last_finite(vals, n);
	free(vals);
	return 0;
}

static size_t find_or_add_setting(struct sb_aggregate *agg,
				  const struct sb_agg_run *run)
{
	const char *method = run->info->method ? run->info->method : "";
	const char *setting = run->info->setting ? run->info->setting : "";

	for (size_t s = 0; s < agg->n_settings; s++)
		if (!strcmp(agg->settings[s].method, method) &&
		    !strcmp(agg->settings[s].setting, setting))
			return s;
	struct sb_agg_setting *st = &agg->settings[agg->n_settings];
	memset(st, 0, sizeof *st);
	st->method = method;
	st->setting = setting;
	st->policy = run->info->policy ? run->info->policy : "";
	st->optimizer = run->info->optimizer ? run->info->optimizer : "";
	st->density = run->density;
	st->runs = sb_calloc(agg->n_runs, sizeof *st->runs);
	return agg->n_settings++;
}

static void add_method_setting(struct sb_aggregate *agg, size_t s)
{
	const struct sb_agg_setting *st = &agg->settings[s];
	size_t m = 0;

	while (m < agg->n_methods && strcmp(agg->methods[m].method, st->method))
		m++;
	if (m == agg->n_methods) {
		struct sb_agg_method *me = &agg->methods[agg->n_methods++];
		me->method = st->method;
		me->policy = st->policy;
		me->optimizer = st->optimizer;
		me->settings = sb_calloc(agg->n_settings, sizeof *me->settings);
		me->n_settings = 0;
	}
	agg->methods[m].settings[agg->methods[m].n_settings++] = s;
}

static void summarise_setting(struct sb_aggregate *agg, size_t s)
{
	struct sb_agg_setting *st = &agg->settings[s];
	double *vals = sb_calloc(st->n_runs, sizeof *vals);
	size_t k = 0;

	for (size_t j = 0; j < st->n_runs; j++) {
		const struct sb_agg_run *run = &agg->runs[st->runs[j]];
		switch (run->status) {
		case SB_STATUS_DIVERGED:
			st->n_diverged++;
			continue;
		case SB_STATUS_FAILED:
			st->n_failed++;
			continue;
		case SB_STATUS_RUNNING:
			st->n_running++;
			break;
		default:
			break;
		}
		st->n_usable++;
		vals[k++] = run->val;
	}
	struct sb_stats stats;
	sb_stats_of(vals, k, &stats);
	st->val_mean = stats.mean;
	free(vals);

	/* Usable runs first, each part in file order. */
	size_t *order = sb_calloc(st->n_runs, sizeof *order);
	k = 0;
	for (int pass = 0; pass < 2; pass++)
		for (size_t j = 0; j < st->n_runs; j++) {
			enum sb_status status = agg->runs[st->runs[j]].status;
			bool usable = status != SB_STATUS_DIVERGED &&
				      status != SB_STATUS_FAILED;
			if (usable == (pass == 0))
				order[k++] = st->runs[j];
		}
	memcpy(st->runs, order, st->n_runs * sizeof *order);
	free(order);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}


static void collect_axes(struct sb_aggregate *agg)
{
	agg->densities = sb_calloc(agg->n_runs, sizeof *agg->densities);
	for (size_t i = 0; i < agg->n_runs; i++) {
		double d = agg->runs[i].density;
		bool seen = !isfinite(d);
		for (size_t j = 0; !seen && j < agg->n_densities; j++)
			seen = agg->densities[j] == d;
		if (!seen)
			agg->densities[agg->n_densities++] = d;
	}
	qsort(agg->densities, agg->n_densities, sizeof *agg->densities,
	      cmp_double);

	for (size_t m = 0; m < agg->n_methods && !agg->density_swept; m++) {
		const struct sb_agg_method *me = &agg->methods[m];
		for (size_t j = 1; j < me->n_settings; j++) {
			double a = agg->settings[me->settings[0]].density;
			double b = agg->settings[me->settings[j]].density;
			if (isfinite(a) && isfinite(b) && a != b)
				agg->density_swept = true;
		}
	}
}

int sb_aggregate_load(struct sb_aggregate *agg, const char *path,
		      struct sb_error *err)
{
	memset(agg, 0, sizeof *agg);
	if (sb_results_load(&agg->view, path, err))
		return -1;
	agg->n_runs = agg->view.n_runs;
	agg->loss_metric = detect_loss_metric(&agg->view);
	agg->loss_unit = loss_unit(&agg->view);
	agg->runs = sb_calloc(agg->n_runs, sizeof *agg->runs);
	agg->settings = sb_calloc(agg->n_runs, sizeof *agg->settings);
	agg->methods = sb_calloc(agg->n_runs, sizeof *agg->methods);
	for (size_t i = 0; i < agg->n_runs; i++) {
		if (fill_run(agg, i, err)) {
			sb_aggregate_release(agg);
			return -1;
		}
		size_t s = find_or_add_setting(agg, &agg->runs[i]);
		agg->settings[s].runs[agg->settings[s].n_runs++] = i;
	}
	for (size_t s = 0; s < agg->n_settings; s++) {
		summarise_setting(agg, s);
		add_method_setting(agg, s);
	}
	collect_axes(agg);
	return 0;
}

void sb_aggregate_release(struct sb_aggregate *agg)
{
	for (size_t s = 0; s < agg->n_settings; s++)
		free(agg->settings[s].runs);
	for (size_t m = 0; m < agg->n_methods; m++)
		free(agg->methods[m].settings);
	free(agg->densities);
	free(agg->methods);
	free(agg->settings);
	free(agg->runs);
	sb_results_view_release(&agg->view);
	memset(agg, 0, sizeof *agg);
}

size_t sb_aggregate_best(const struct sb_aggregate *agg, size_t method,
			 double density)
{
	const struct sb_agg_method *me = &agg->methods[method];
	size_t best = SIZE_MAX;

	for (size_t j = 0; j < me->n_settings; j++) {
		size_t s = me->settings[j];
		const struct sb_agg_setting *st = &agg->settings[s];
		if (!isnan(density) && st->density != density)
			continue;
		if (best == SIZE_MAX) {
			best = s;
			continue;
		}
		double v = st->val_mean, b = agg->settings[best].val_mean;
		if (!isfinite(v))
			continue;
		if (!isfinite(b) || (agg->loss_metric ? v < b : v > b))
			best = s;
	}
	return best;
}

size_t sb_aggregate_plotted_runs(const struct sb_aggregate *agg,
				 size_t setting, size_t **runs)
{
	const struct sb_agg_setting *st = &agg->settings[setting];

	*runs = st->runs;
	return st->n_usable ? st->n_usable : st->n_runs;
}

/* ---- series merged over seeds ---- */

struct point {
	double step, value;
};

static int cmp_point(const void *a, const void *b)
{
	const struct point *p = a, *q = b;
	return (p->step > q->step) - (p->step < q->step);
}

static void map_series(double *x, size_t n, enum sb_series_map map)
{
	double sum = 0;

	for (size_t i = 0; i < n; i++) {
		switch (map) {
		case SB_SERIES_RAW:
			break;
		case SB_SERIES_ONE_MINUS:
			x[i] = 1 - x[i];
			break;
		case SB_SERIES_CUMSUM:
			if (isfinite(x[i]))
				sum += x[i];
			x[i] = sum;
			break;
		}
	}
}

int sb_aggregate_band(const struct sb_aggregate *agg, const size_t *runs,
		      size_t n_runs, const char *group, const char *column,
		      enum sb_series_map map, struct sb_band *out,
		      struct sb_error *err)
{
	struct point *pts = NULL;
	size_t n_pts = 0;

	memset(out, 0, sizeof *out);
	for (size_t j = 0; j < n_runs; j++) {
		size_t index = agg->runs[runs[j]].index;
		double *steps, *vals;
		size_t ns, nv;
		if (sb_results_series(&agg->view, index, group, "step", &steps,
				      &ns, err))
			goto fail;
		if (sb_results_series(&agg->view, index, group, column, &vals,
				      &nv, err)) {
			free(steps);
			goto fail;
		}
		size_t n = ns < nv ? ns : nv;
		map_series(vals, n, map);
		pts = sb_realloc(pts, (n_pts + n) * sizeof *pts);
		for (size_t i = 0; i < n; i++)
			if (isfinite(steps[i]) && isfinite(vals[i]))
				pts[n_pts++] = (struct point){steps[i], vals[i]};
		free(steps);
		free(vals);
	}
	qsort(pts, n_pts, sizeof *pts, cmp_point);

	out->step = sb_calloc(n_pts, sizeof *out->step);
	out->mean = sb_calloc(n_pts, sizeof *out->mean);
	out->min = sb_calloc(n_pts, sizeof *out->min);
	out->max = sb_calloc(n_pts, sizeof *out->max);
	out->count = sb_calloc(n_pts, sizeof *out->count);
	for (size_t i = 0; i < n_pts;) {
		size_t j = i;
		double sum = 0, lo = INFINITY, hi = -INFINITY;
		for (; j < n_pts && pts[j].step == pts[i].step; j++) {
			sum += pts[j].value;
			lo = fmin(lo, pts[j].value);
			hi = fmax(hi, pts[j].value);
		}
		out->step[out->n] = pts[i].step;
		out->mean[out->n] = sum / (double)(j - i);
		out->min[out->n] = lo;
		out->max[out->n] = hi;
		out->count[out->n] = (double)(j - i);
		out->n++;
		i = j;
	}
	free(pts);
	return 0;
fail:
	free(pts);
	return -1;
}

void sb_band_release(struct sb_band *band)
{
	free(band->step);
	free(band->mean);
	free(band->min);
	free(band->max);
	free(band->count);
	memset(band, 0, sizeof *band);
}

int sb_aggregate_series_mean(const struct sb_aggregate *agg, size_t run,
			     const char *group, const char *column,
			     double *mean, struct sb_error *err)
{
	double *vals;
	size_t n;

	if (sb_results_series(&agg->view, agg->runs[run].index, group, column,
			      &vals, &n, err))
		return -1;
	*mean = sb_mean_finite(vals, n);
	free(vals);
	return 0;
}
