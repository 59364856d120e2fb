/* delta.h - sparse deltas: what a fine-tuning run changed in the checkpoint
 * it started from, as (index, change) pairs of the components that moved,
 * with the base's name and checksum; written to HDF5 at the end of a run
 * (`train.save_delta`) and applied to the base by `sparsebench apply`
 * (docs/deltas.md: the format, what "the base" is, bit-for-bit rebuilds). */
#ifndef SB_DELTA_H
#define SB_DELTA_H

#include "sb.h"
#include "spec/spec.h"

#include <stdint.h>

#define SB_DELTA_FORMAT "sparsebench-delta" /* the `format` attribute */
#define SB_DELTA_VERSION 1                  /* its `format_version` */
#define SB_DELTA_CHECKSUM "fnv1a64:"        /* how checksums are written */

/* A delta file read whole and checked (sb_delta_load). */
struct sb_delta {
	char *model;  /* the model plugin's name */
	char *config; /* the fine-tuning run's resolved config (YAML) */
	char *run;    /* its run id */
	char *base;   /* the base checkpoint as the run's spec named it */
	char *base_name;        /* its file name without folders */
	uint64_t base_checksum; /* sb_delta_checksum of the base */
	struct sb_layout layout; /* the model's tensors; names owned here */
	struct sb_tensor *tensors;
	bool *fresh; /* per tensor: not from the base, set whole by `value` */
	/* out[index[j]] = base[index[j]] + change[j] in float32, for the
	 * components of base tensors that moved: ascending, each once */
	sb_index *index;
	float *change;
	size_t n_change;
	/* then out[value_index[j]] = value[j]: every component of a fresh
	 * tensor, and the moved components whose base + change is not the
	 * fine-tuned value bit for bit; ascending, each once */
	sb_index *value_index;
	float *value;
	size_t n_value;
};

/* The counts a saved delta holds. */
struct sb_delta_stats {
	size_t n_change; /* components of base tensors that moved */
	size_t n_value;  /* components set outright (fresh, or not exact) */
	size_t n_fresh;  /* of those, the components of fresh tensors */
};

/* The checksum of a base: 64-bit FNV-1a over the float32 bit patterns,
 * little-endian, of every tensor not marked fresh, in layout order
 * (fresh NULL: none is). */
uint64_t sb_delta_checksum(const struct sb_layout *layout,
			   const float *params, const bool *fresh);
/* The checksum of a run's base as it loaded it: params just after the
 * checkpoint was read, fresh tensors (model.fresh) left out. */
uint64_t sb_delta_run_checksum(const struct sb_run_cfg *run,
			       const struct sb_layout *layout,
			       const float *params);
/* "fnv1a64:<16 hex digits>", the form files and messages use. */
void sb_delta_format_checksum(uint64_t sum, char buf[32]);

/* Writes the delta of a run's final params against its base (the run's
 * model.checkpoint, read again; its checksum must still be base_checksum,
 * taken when the run loaded it) to `path`, atomically (replace.h). */
int sb_delta_save(const char *path, const struct sb_run_cfg *run,
		  const struct sb_layout *layout, const float *params,
		  uint64_t base_checksum, struct sb_delta_stats *stats,
		  struct sb_error *err);

/* Reads and checks a delta file: format and version, attributes, the
 * layout (names, shapes, contiguous offsets), every pair (indices in
 * range, ascending, finite values; fresh tensors covered whole by `value`
 * and by nothing else). A damaged file is an error naming it and the
 * dataset or byte offset. Release d either way. */
int sb_delta_load(struct sb_delta *d, const char *path, struct sb_error *err);
void sb_delta_release(struct sb_delta *d);

/* The fine-tuned parameters, d->layout.n_params of them in a fresh array
 * *out (freed by the caller, also on error): the base read from base_path
 * (a checkpoint or llm.c weights) into the delta's layout, its checksum
 * compared with the delta's, then the pairs applied. A base file smaller
 * than 4 bytes per parameter it must give is refused before anything is
 * allocated. delta_path names the delta in messages. */
int sb_delta_rebuild(const struct sb_delta *d, const char *delta_path,
		     const char *base_path, float **out, struct sb_error *err);

/* `sparsebench apply`: rebuilds from base_path and delta_path and writes
 * the result to out_path as a checkpoint (checkpoint.h), atomically. An
 * existing out_path is refused unless overwrite. */
int sb_delta_apply(const char *base_path, const char *delta_path,
		   const char *out_path, bool overwrite, struct sb_error *err);

#endif
