/* spec.h - an experiment spec (YAML, docs/spec.md) parsed, validated against
 * every plugin's declared parameters, and expanded into its grid of runs. */
#ifndef SB_SPEC_H
#define SB_SPEC_H

#include "sb.h"

/* One grid point: everything a run needs, every parameter resolved. */
struct sb_run_cfg {
	char *id;     /* stable, readable, unique in the spec; HDF5-safe */
	char *method; /* the method's `name:`, else "<policy>+<optimizer>" */
	char *setting; /* the swept values other than seed, "density=0.01
	                  lr=0.003" ("" when nothing but the seed varies):
	                  runs of one method and setting differ only by seed */
	const struct sb_dataset *dataset;
	struct sb_values dataset_cfg;
	const struct sb_model *model;
	struct sb_values model_cfg;     /* sb_checkpoint_params + the model's */
	const struct sb_policy *policy;
	struct sb_values policy_cfg;    /* sb_scope_params (if scoped) + own */
	const struct sb_optimizer *optimizer;
	struct sb_values optimizer_cfg; /* sb_schedule_params + the optimizer's */
	struct sb_values train_cfg;     /* sb_train_params */
	uint64_t seed;
	char *config_yaml; /* the resolved config as YAML, every value given */
};

struct sb_spec {
	char *path;  /* as given */
	char *text;  /* the file's bytes, NUL-terminated */
	char *name;  /* `name:`, else the file's stem */
	char *description;
	struct sb_run_cfg *runs;
	size_t n_runs;
	char **plots; /* `plots:` figure names, in order */
	size_t n_plots;
	bool threads_given; /* some `train:` section sets `threads` */
};

/* Reads, validates and expands; on any problem fills err with
 * "FILE:LINE:COL: message" and returns -1, having allocated nothing. */
int sb_spec_load(struct sb_spec *spec, const char *path, struct sb_error *err);
void sb_spec_release(struct sb_spec *spec);
/* Writes run->config_yaml afresh from the run's values, after a change to
 * them (the model's shape taken from its checkpoint). */
void sb_spec_run_yaml(struct sb_run_cfg *run);
/* Unless the spec sets `threads`, gives every run `threads` BLAS threads,
 * in its train values and its config_yaml alike (the count a run used is
 * the one its results record). */
void sb_spec_default_threads(struct sb_spec *spec, long threads);
/* A path of a run's config with every "{id}" replaced by the run's id
 * (fresh string): one file per run of a sweep (train.save_delta). */
char *sb_run_path(const char *pattern, const struct sb_run_cfg *run);

#endif
