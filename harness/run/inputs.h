/* inputs.h - what a run reads before it trains, opened the one way both the
 * pre-flight and the run itself need it: the dataset's data, the model sized
 * for it, and the parameters drawn from the run's seed, then loaded from the
 * model's checkpoint (docs/run.md, "One run"). */
#ifndef SB_INPUTS_H
#define SB_INPUTS_H

#include "spec/spec.h"

struct sb_inputs {
	const struct sb_run_cfg *cfg;
	void *data;             /* the dataset's private state */
	void *model;            /* the model's private state */
	struct sb_data_info info;
	struct sb_layout layout; /* borrowed from the model */
	float *params;          /* layout.n_params: seeded init, then the
	                           checkpoint except its `fresh` tensors */
};

/* Opens the data of run->dataset_cfg, initialises the model for batches of
 * at most max_batch examples, draws the parameters from the run's seed and
 * loads the checkpoint when model.checkpoint names one. On error err says
 * why; release `in` either way. */
int sb_inputs_open(struct sb_inputs *in, const struct sb_run_cfg *run,
		   size_t max_batch, struct sb_error *err);
void sb_inputs_release(struct sb_inputs *in);
/* The model's parameter count for a run: its data opened and its model
 * initialised, then released; no checkpoint is read (it may not exist
 * yet: another spec makes it). */
int sb_inputs_count(const struct sb_run_cfg *run, size_t *n_params,
		    struct sb_error *err);
/* The dataset and model part of a run's resolved config (fresh string):
 * runs with equal keys read the same data into the same model. */
char *sb_inputs_key(const struct sb_run_cfg *run);

#endif
