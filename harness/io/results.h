/* results.h - the HDF5 results file of one experiment (docs/results.md):
 * root attributes, one group per run, per-step and per-eval series as
 * chunked, extendable 1-D datasets with units. Rows are buffered in memory
 * and appended at every flush (each evaluation and at the end of a run). */
#ifndef SB_RESULTS_H
#define SB_RESULTS_H

#include "sb.h"
#include "spec/spec.h"

/* The root attributes `format` and `format_version` of every results file.
 * Version 2 writes strings fixed-length (version 1: variable-length); the
 * reader takes both, the writer resumes only its own version. */
#define SB_RESULTS_FORMAT "sparsebench-results"
#define SB_RESULTS_VERSION 2

/* One training step. Metrics not measured at a step are NaN. */
struct sb_step_row {
	double step;
	double loss;            /* nats per target, mean over the batch */
	double grad_norm;       /* L2 norm of the full gradient */
	double lr;
	double n_selected;      /* |S_t| */
	double retained;        /* sum_{i in S} g_i^2 / sum_i g_i^2 */
	double oracle_retained; /* the same for the top-|S| of |g| */
	double churn;           /* |S_t \ S_{t-1}| / |S_t| */
	double history_lost;    /* optimizer state entries lost this step */
	double ever_selected;   /* distinct components selected so far */
	double t_forward, t_backward, t_select, t_update, t_metrics; /* s */
};

/* One evaluation on the validation split. */
struct sb_eval_row {
	double step;
	double val_loss;     /* nats per target */
	double val_accuracy; /* fraction of targets predicted right */
	double t_eval;       /* s */
};

/* Describes one column of a row struct: the dataset written for it. */
struct sb_column {
	const char *name;
	const char *units;
	const char *description;
	size_t offset; /* offsetof in the row struct, a double */
};

extern const struct sb_column sb_step_columns[];  /* terminated by {0} */
extern const struct sb_column sb_eval_columns[];

enum sb_status {
	SB_STATUS_NONE, /* not in the file */
	SB_STATUS_RUNNING,
	SB_STATUS_COMPLETED,
	SB_STATUS_DIVERGED,
	SB_STATUS_FAILED,
};

const char *sb_status_name(enum sb_status st);

struct sb_results;
struct sb_run_log;

/* Takes the file's lock ("<path>.lock", lock.h) and creates the file with
 * its root attributes. With resume, opens an existing file instead, after
 * checking its spec text equals this spec's; without resume, an existing
 * file is an error (a completed run is never rewritten). The file is kept
 * in memory and written to disk whole, atomically: at the end of every run
 * and at a flush when the last write is a second old (docs/results.md,
 * "Guarantees"). */
int sb_results_open(struct sb_results **out, const char *path,
		    const struct sb_spec *spec, bool resume,
		    struct sb_error *err);
enum sb_status sb_results_status(struct sb_results *res, const char *run_id);
/* Starts a run's group (replacing an unfinished one of the same id) with
 * its config, seed and status `running`. */
int sb_results_run_begin(struct sb_results *res, const struct sb_run_cfg *run,
			 struct sb_run_log **out, struct sb_error *err);
void sb_run_log_step(struct sb_run_log *log, const struct sb_step_row *row);
void sb_run_log_eval(struct sb_run_log *log, const struct sb_eval_row *row);
/* A summary attribute of the run (test_accuracy, optimizer_state_bytes...). */
void sb_run_log_attr(struct sb_run_log *log, const char *name, double value,
		     const char *units);
void sb_run_log_attr_str(struct sb_run_log *log, const char *name,
			 const char *value);
/* Appends the buffered rows; writes the file to disk when one is due. */
int sb_run_log_flush(struct sb_run_log *log, struct sb_error *err);
/* Flushes, writes the final status, writes the file to disk and frees
 * the log. */
int sb_run_log_end(struct sb_run_log *log, enum sb_status st,
		   struct sb_error *err);
/* Sets how old (s) the last write to disk must be for a flush to write the
 * file again (default 1 s; 0: every flush writes it). */
void sb_results_publish_every(struct sb_results *res, double seconds);
/* True once writing the file to disk failed (a full disk): the file on
 * disk keeps every run published before, and the writer must stop. */
int sb_results_failed(const struct sb_results *res);
/* Releases the file and its lock (each run was written at its end). */
int sb_results_close(struct sb_results *res, struct sb_error *err);

/* ---- reading (show, plot, report) ---- */

struct sb_run_info {
	char *id, *method, *setting, *policy, *optimizer, *status;
	char *task;  /* "vector_classify", "lm", "seq_classify"; "" if absent */
	char *config_yaml;
	double seed;
	size_t n_attrs;     /* every numeric attribute of the run's group */
	char **attr_names;
	double *attr_values;
};

struct sb_results_view {
	char *path;
	char *spec_text;
	int64_t file; /* the open HDF5 file (hid_t) */
	size_t n_runs;
	struct sb_run_info *runs; /* in the order the runs were started */
	/* Runs whose group, attributes or series cannot be read (a damaged
	 * chunk or header): not in `runs`; their status reads "damaged". */
	size_t n_damaged;
	struct sb_run_info *damaged;
	char **damage; /* why, one per damaged run */
};

/* Opens read-only and lists the runs, reading every series of every run
 * once so that a damaged run is found here, by every reader alike. A file
 * that is not a sparsebench results file, or whose root or list of runs
 * is damaged, is an error naming the file; a damaged run is set aside in
 * `damaged` and the others are read. */
int sb_results_load(struct sb_results_view *view, const char *path,
		    struct sb_error *err);
/* A string attribute of the file's root ("experiment", "git_commit",
 * "created"...), fresh; NULL when absent or unreadable. */
char *sb_results_root_str(const struct sb_results_view *view,
			  const char *name);
/* A numeric attribute of a run, NaN when absent. */
double sb_run_info_attr(const struct sb_run_info *run, const char *name);
/* Reads one series, group "steps" or "evals", into a fresh array. A series
 * absent from the run gives n = 0. */
int sb_results_series(const struct sb_results_view *view, size_t run,
		      const char *group, const char *column, double **values,
		      size_t *n, struct sb_error *err);
/* NULL when every series of a run's open group (hid_t) reads whole, else
 * why (fresh string). Readers and --resume judge a run by it alike. */
char *sb_results_check_run(int64_t group);
/* The rule of every reader: after showing the intact runs, a file with a
 * damaged run is an error naming the file and the run (exit 2). 0 when
 * nothing is damaged. */
int sb_results_damage(const struct sb_results_view *view,
		      struct sb_error *err);
void sb_results_view_release(struct sb_results_view *view);

#endif
