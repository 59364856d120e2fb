/* fuzz.h - every loader of untrusted input as a fuzz target (docs/fuzzing.md).
 * A target feeds one input to a real loader the way the harness meets such
 * a file, and returns the loader's verdict. The same targets run under
 * libFuzzer (`make fuzz`, driver.c) and, on the inputs that once broke a
 * loader, in `make test` (tests/test_fuzz_regressions.c). */
#ifndef SB_FUZZ_H
#define SB_FUZZ_H

#include "sb.h"

#include <stddef.h>
#include <stdint.h>

struct sb_fuzz_target {
	const char *name; /* "spec": corpus tests/fuzz/corpus/<name>/ */
	const char *cli;  /* the sparsebench command that reads such a file
	                     as its one argument ("validate"), or NULL */
	bool hdf5;        /* the loader reads the input with libhdf5 */
	/* Feeds one input: 0 when the loader accepted it, else -1 with err
	 * naming the problem. Leaves nothing allocated or open. */
	int (*load)(const uint8_t *data, size_t size, struct sb_error *err);
};

extern const struct sb_fuzz_target sb_fuzz_spec;
extern const struct sb_fuzz_target sb_fuzz_idx;
extern const struct sb_fuzz_target sb_fuzz_llmc_model;
extern const struct sb_fuzz_target sb_fuzz_llmc_tokens;
extern const struct sb_fuzz_target sb_fuzz_checkpoint;
extern const struct sb_fuzz_target sb_fuzz_results;
extern const struct sb_fuzz_target sb_fuzz_delta;

/* ---- input.c ---- */

/* The process's own temporary folder (under $TMPDIR, else /tmp), made at
 * the first call and removed with its files at exit. */
const char *sb_fuzz_dir(void);
/* Writes size bytes to the file `name` of that folder, replacing it, and
 * returns its path (valid until the next call); aborts when it cannot:
 * a fuzz run that silently tests nothing is worse than one that stops. */
const char *sb_fuzz_write(const char *name, const void *data, size_t size);

/* ---- models.c: the layouts the checkpoint targets load into ---- */

/* GPT-2 shapes of llm.c's format: the tiny seed's and a larger one. */
struct sb_fuzz_gpt {
	int n_layer, n_head, n_embd, block_size, vocab, padded_vocab;
};
extern const struct sb_fuzz_gpt sb_fuzz_gpts[2];

/* A model made by its real plugin, with zeroed parameters. */
struct sb_fuzz_model {
	const struct sb_model *model;
	void *priv;
	struct sb_layout layout;
	float *params;
};

/* The gpt plugin in one of sb_fuzz_gpts, for language modelling. */
void sb_fuzz_gpt_open(struct sb_fuzz_model *m, const struct sb_fuzz_gpt *g);
/* The mlp plugin, 4 features -> 2 hidden layers of 5 -> 3 classes. */
void sb_fuzz_mlp_open(struct sb_fuzz_model *m);
void sb_fuzz_model_close(struct sb_fuzz_model *m);

/* llm.c GPT-2 weights of shape g, value j of tensor k being k + j / 1024
 * (a fresh buffer of *size bytes). */
void *sb_fuzz_llmc_bytes(const struct sb_fuzz_gpt *g, size_t *size);
/* An HDF5 checkpoint of sb_fuzz_mlp_open's mlp, component i = i / 8 - 1:
 * with sb_fuzz_llmc_bytes of sb_fuzz_gpts[0], the bases of the delta
 * target. */
void sb_fuzz_mlp_base(const char *path);

#endif
