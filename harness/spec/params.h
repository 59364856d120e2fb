/* params.h - the parameters the core itself declares: the `train:` section,
 * the scope options every scoped policy shares, the learning-rate schedule
 * every optimizer shares, and the checkpoint options every model shares.
 * The spec layer merges them in front of the plugin's own declarations. */
#ifndef SB_PARAMS_H
#define SB_PARAMS_H

#include "registry.h"
#include "sb.h"

extern const struct sb_param sb_train_params[];
extern const struct sb_param sb_scope_params[];
extern const struct sb_param sb_schedule_params[];
extern const struct sb_param sb_checkpoint_params[];

/* The core's table a plugin takes in front of its own: sb_scope_params for
 * a scoped policy, sb_schedule_params for an optimizer, sb_checkpoint_params
 * for a model; NULL for the others. */
const struct sb_param *sb_params_core(const struct sb_plugin *plugin);

/* The figures `plots:` may name (and `sparsebench plot` draws), NULL-ended. */
extern const char *const sb_plot_names[];

/* The learning rate at 1-based update t of `steps`, from the schedule
 * parameters held in an optimizer's values. */
double sb_schedule_lr(const struct sb_values *opt_cfg, long t, long steps);

#endif
