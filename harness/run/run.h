/* run.h - one run of an experiment: the training loop of DESIGN.md "Data
 * flow" (forward, backward, select, update, metrics, evaluation), logged
 * into the run's group of the results file. */
#ifndef SB_RUN_H
#define SB_RUN_H

#include "run/progress.h"
#include "io/results.h"
#include "spec/spec.h"

/* Trains and evaluates one grid point. Returns the run's final status
 * (completed, diverged or failed); for diverged and failed, err says why.
 * The caller ends the log with that status. */
enum sb_status sb_run_execute(const struct sb_run_cfg *run,
			      struct sb_run_log *log,
			      struct sb_progress *progress,
			      struct sb_error *err);

#endif
