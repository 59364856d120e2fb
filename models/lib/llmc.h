/* llmc.h - readers for the binary files of Karpathy's llm.c: GPT-2 weights
 * (train_gpt2.c, header magic 20240326, version 3) and uint16 token shards
 * (dev/data/data_common.py, magic 20240520, version 1). Little-endian. */
#ifndef SB_LLMC_H
#define SB_LLMC_H

#include "sb.h"

#include <stdint.h>

#define SB_LLMC_MODEL_MAGIC 20240326
#define SB_LLMC_MODEL_VERSION 3
#define SB_LLMC_TOKENS_MAGIC 20240520
#define SB_LLMC_TOKENS_VERSION 1
#define SB_LLMC_HEADER_INTS 256 /* both headers: 256 int32, 1024 bytes */

/* The header of a GPT-2 weights file. */
struct sb_llmc_config {
	size_t max_t;        /* maxT: positions of wpe */
	size_t vocab;        /* V */
	size_t padded_vocab; /* Vp >= V: rows of wte */
	size_t n_layers;     /* L */
	size_t n_heads;      /* NH */
	size_t channels;     /* C */
};

/* Reads and checks the header of a weights file: magic, version, positive
 * sizes, and a file size equal to what the header implies. */
int sb_llmc_model_header(const char *path, struct sb_llmc_config *cfg,
			 struct sb_error *err);

/* Fills every tensor of a GPT layout (wte.weight, wpe.weight, h.<i>.*,
 * ln_f.*) from a weights file; tensors matching a `fresh` fnmatch pattern
 * are left as they are. A layout whose L or C differ from the file's, whose
 * vocabulary exceeds Vp or whose context exceeds maxT is an error stating
 * both configurations. */
int sb_llmc_model_load(const char *path, const struct sb_layout *layout,
		       float *params, char *const *fresh, size_t n_fresh,
		       struct sb_error *err);

/* Reads a token shard's header: the number of tokens it holds, checked
 * against the file's size. */
int sb_llmc_tokens_header(const char *path, size_t *n_tokens,
			  struct sb_error *err);

/* Reads a whole token shard into a fresh array (the caller frees it); a
 * token >= vocab is an error naming the file and the token's offset. */
int sb_llmc_tokens_read(const char *path, size_t vocab, uint16_t **tokens,
			size_t *n_tokens, struct sb_error *err);

#endif
