/* checkpoint.h - model parameters saved to and loaded from HDF5: one dataset
 * per named tensor, the model's name and config as attributes. */
#ifndef SB_CHECKPOINT_H
#define SB_CHECKPOINT_H

#include "sb.h"

int sb_checkpoint_save(const char *path, const char *model_name,
		       const char *config_yaml, const struct sb_layout *layout,
		       const float *params, struct sb_error *err);
/* Fills params tensor by tensor, by name, from an HDF5 checkpoint or, when
 * the file starts with llm.c's magic 20240326, from llm.c's GPT-2 format.
 * Tensors whose name matches one of the `fresh` fnmatch patterns are not
 * loaded (a new head keeps its random init); every other tensor must be in
 * the file with the same shape, else the error names the file and tensor. */
int sb_checkpoint_load(const char *path, const struct sb_layout *layout,
		       float *params, char *const *fresh, size_t n_fresh,
		       struct sb_error *err);

#endif
