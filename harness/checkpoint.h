/* checkpoint.h - model parameters saved to and loaded from HDF5: one dataset
 * per named tensor, the model's name and config as attributes. */
#ifndef SB_CHECKPOINT_H
#define SB_CHECKPOINT_H

#include "sb.h"

int sb_checkpoint_save(const char *path, const char *model_name,
		       const char *config_yaml, const struct sb_layout *layout,
		       const float *params, struct sb_error *err);
/* Fills params tensor by tensor, by name; a tensor missing from the file or
 * of another shape is an error naming the file and the tensor. Tensors of
 * the layout absent from the file (a new head) are left as they are when
 * allow_missing names them by fnmatch pattern. */
int sb_checkpoint_load(const char *path, const struct sb_layout *layout,
		       float *params, const char *const *allow_missing,
		       size_t n_allow_missing, struct sb_error *err);

#endif
