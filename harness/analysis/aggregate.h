/* aggregate.h - the runs of a results file grouped for figures and tables:
 * runs of one method and setting differ only by seed (spec.h), and each
 * method's setting is chosen on validation (DESIGN.md, "Learning rates"). */
#ifndef SB_AGGREGATE_H
#define SB_AGGREGATE_H

#include "io/results.h"

/* Mean, sample standard deviation (0 for a single value), min and max over
 * the finite values; all NaN and n = 0 when there are none. */
struct sb_stats {
	double mean, std, min, max;
	size_t n;
};

void sb_stats_of(const double *x, size_t n, struct sb_stats *out);

struct sb_agg_run {
	const struct sb_run_info *info; /* borrowed from the view */
	size_t index;                   /* in view.runs */
	enum sb_status status;
	double density; /* attribute, else the setting's density=, else NaN */
	double val;     /* final validation metric: attribute, else the last
	                   finite evaluation; NaN when never evaluated */
	double test;    /* test metric, NaN when not evaluated */
	bool from_checkpoint; /* its model started from a checkpoint */
};

/* The runs of one method and setting. Usable runs are those neither
 * diverged nor failed: only they enter means. */
struct sb_agg_setting {
	const char *method, *setting, *policy, *optimizer; /* borrowed */
	double density;
	size_t *runs; /* indices into agg->runs: usable ones first, each part
	                in file order */
	size_t n_runs;
	size_t n_usable, n_diverged, n_failed, n_running;
	double val_mean; /* over usable runs with a finite value; NaN if none */
};

struct sb_agg_method {
	const char *method, *policy, *optimizer; /* borrowed */
	size_t *settings; /* indices into agg->settings, in file order */
	size_t n_settings;
};

struct sb_aggregate {
	struct sb_results_view view;
	bool loss_metric; /* task lm: validation and test loss, lower is
	                     better; else accuracy, higher is better */
	const char *loss_unit; /* "nats/byte" when the dataset's tokens are
	                          bytes, else "nats/token" (static) */
	bool density_swept; /* some method was run at more than one density */
	struct sb_agg_run *runs;
	size_t n_runs;
	struct sb_agg_setting *settings;
	size_t n_settings;
	struct sb_agg_method *methods;
	size_t n_methods;
	double *densities; /* distinct finite densities, ascending */
	size_t n_densities;
};

/* Loads a results file and groups its runs. */
int sb_aggregate_load(struct sb_aggregate *agg, const char *path,
		      struct sb_error *err);
void sb_aggregate_release(struct sb_aggregate *agg);

/* The setting of a method with the best mean validation metric, among its
 * settings at `density` (NaN: any density); settings without a finite mean
 * rank last, ties go to the earlier one. SIZE_MAX if the method has no
 * setting at that density. */
size_t sb_aggregate_best(const struct sb_aggregate *agg, size_t method,
			 double density);

/* The usable runs of a setting, or all of them when none is usable (a
 * figure of a method that always diverged still shows its curves). Returns
 * the count and points *runs into the aggregate's own storage. */
size_t sb_aggregate_plotted_runs(const struct sb_aggregate *agg,
				 size_t setting, size_t **runs);

enum sb_series_map {
	SB_SERIES_RAW,
	SB_SERIES_ONE_MINUS, /* 1 - x: information lost from retained */
	SB_SERIES_CUMSUM,    /* running sum per run, NaN counted as 0 */
};

/* A series of several runs merged on equal step values: at each step the
 * mean, min and max over the runs with a finite value there. */
struct sb_band {
	size_t n;
	double *step, *mean, *min, *max;
	double *count;
};

int sb_aggregate_band(const struct sb_aggregate *agg, const size_t *runs,
		      size_t n_runs, const char *group, const char *column,
		      enum sb_series_map map, struct sb_band *out,
		      struct sb_error *err);
void sb_band_release(struct sb_band *band);

/* NaN-skipping mean of one series of one run (agg->runs index); NaN when
 * it holds no finite value. */
int sb_aggregate_series_mean(const struct sb_aggregate *agg, size_t run,
			     const char *group, const char *column,
			     double *mean, struct sb_error *err);

#endif
