/* experiment.h - running a whole spec: its prerequisites (checkpoints made
 * by other specs), the results file, every selected grid point in order,
 * resuming past completed runs, and the figures named under `plots:`. */
#ifndef SB_EXPERIMENT_H
#define SB_EXPERIMENT_H

#include "progress.h"
#include "spec.h"

struct sb_experiment_opts {
	const char *out;  /* results file; NULL: results/<name>.h5 */
	const char *only; /* run-id pattern (fnmatch, or substring) */
	bool resume;
	int depth;        /* prerequisite nesting, to stop cycles */
};

/* The default results path of a spec: results/<name>.h5 (fresh string). */
char *sb_experiment_default_out(const struct sb_spec *spec);

/* 0: every run completed or diverged; 1: a run failed; -1: bad input or an
 * unusable results file (err says which). */
int sb_experiment_run(const struct sb_spec *spec,
		      const struct sb_experiment_opts *opts,
		      struct sb_progress *progress, struct sb_error *err);

#endif
