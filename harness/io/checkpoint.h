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

/* The model a checkpoint was written for: the model plugin's name and the
 * config of the run that wrote it, as YAML whose `model:` mapping holds the
 * model's parameters. An HDF5 checkpoint stores both (attributes `model`
 * and `config`; `config` may be empty in files of other writers); llm.c
 * weights are a "gpt" whose `model:` holds the header's n_layer, n_head,
 * n_embd, block_size (maxT) and vocab (V). */
struct sb_checkpoint_config {
	char *model;
	char *yaml;
};

int sb_checkpoint_config(const char *path, struct sb_checkpoint_config *cfg,
			 struct sb_error *err);
void sb_checkpoint_config_release(struct sb_checkpoint_config *cfg);

#endif
