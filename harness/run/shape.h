/* shape.h - the model's shape from its checkpoint (docs/spec.md, "Shape from
 * the checkpoint"): a model's parameters declared `from_checkpoint` take the
 * checkpoint's values where the spec does not give them. */
#ifndef SB_SHAPE_H
#define SB_SHAPE_H

#include "spec/spec.h"
#include "util.h"

/* For every run whose model.checkpoint exists and was written for the same
 * model, sets each `from_checkpoint` parameter the spec left out to the
 * checkpoint's value and rewrites the run's config_yaml. A value the spec
 * gives that differs from the checkpoint's is an error "SPEC:LINE:COL: ..."
 * naming both values and the checkpoint. A missing checkpoint is skipped
 * (its checkpoint_spec makes it later: call this again then); so is a
 * checkpoint of another model (loading it reports that). Calling it again
 * changes nothing more. When notes is not NULL, appends one line per
 * distinct checkpoint that gave values: "model 'gpt' from 'x.bin': n_layer
 * 12, n_head 12\n". */
int sb_shape_from_checkpoints(struct sb_spec *spec, struct sb_strbuf *notes,
			      struct sb_error *err);
/* Whether the model declares parameters a checkpoint gives. */
bool sb_shape_declared(const struct sb_model *model);

#endif
