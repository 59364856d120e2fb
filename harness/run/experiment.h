/* experiment.h - running a whole spec: its prerequisites (checkpoints made
 * by other specs), the results file, every selected grid point in order,
 * resuming past completed runs, and the figures named under `plots:`. */
#ifndef SB_EXPERIMENT_H
#define SB_EXPERIMENT_H

#include "run/progress.h"
#include "run/shard.h"
#include "spec/spec.h"

struct sb_experiment_opts {
	const char *out;  /* results file; NULL: results/<name>.h5 */
	const char *only; /* run-id pattern (fnmatch, or substring) */
	bool resume;
	/* This process's share: the runs it owns (spec->n_runs flags; NULL:
	 * every run) and its number, recorded in each run (NULL: 0/1). */
	const bool *mine;
	const struct sb_shard *shard;
	int depth;        /* prerequisite nesting, to stop cycles */
};

/* The default results path of a spec: results/<name>.h5, or of one shard
 * of several results/<name>.shard-I-of-N.h5 (fresh string). */
char *sb_experiment_default_out(const struct sb_spec *spec,
				const struct sb_shard *shard);

/* Runs the spec's checkpoint specs for missing checkpoints, takes the
 * models' shapes from the checkpoints (run/shape.h: the runs' model values
 * and config_yaml change), checks every run's inputs, then runs them.
 * 0: every run completed or diverged; 1: a run failed; 2: the results
 * file could not be written (a full disk; err says why, and the file on
 * disk keeps every run finished before); -1: bad input or an unusable
 * results file (err says which). */
int sb_experiment_run(struct sb_spec *spec,
		      const struct sb_experiment_opts *opts,
		      struct sb_progress *progress, struct sb_error *err);

#endif
