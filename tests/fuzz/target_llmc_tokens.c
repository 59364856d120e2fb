/* target_llmc_tokens.c - an llm.c token shard (models/lib/llmc.c) opened by
 * the llmc_tokens dataset as every split of a language-modelling run, then
 * every example of every split read back as a batch: what the loader
 * accepts must hold only tokens of the vocabulary. */
#include "fuzz.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>

extern const struct sb_dataset sb_dataset_llmc_tokens;

#define VOCAB 256 /* byte-level, as the fortunes models */
#define TEXT(x) #x
#define NUMBER_TEXT(x) TEXT(x)

static void set(struct sb_values *cfg, const char *name, const char *text)
{
	struct sb_error err;
	if (sb_values_set(cfg, name, text, &err)) {
		fprintf(stderr, "fuzz llmc_tokens: %s\n", err.msg);
		abort();
	}
}

/* Every example of every split, each token and target checked. */
static void read_all(void *priv, const struct sb_data_info *info)
{
	struct sb_batch batch = {0};
	sb_batch_alloc(&batch, info, 1);
	for (int s = SB_TRAIN; s <= SB_TEST; s++) {
		for (size_t row = 0; row < info->n_examples[s]; row++) {
			sb_dataset_llmc_tokens.batch(priv, (enum sb_split)s,
						     &row, 1, &batch);
			for (size_t t = 0; t < info->seq_len; t++)
				if (batch.tokens[t] < 0 ||
				    batch.tokens[t] >= VOCAB ||
				    batch.targets[t] < 0 ||
				    batch.targets[t] >= VOCAB) {
					fprintf(stderr, "fuzz llmc_tokens: "
						"split %d row %zu holds a token "
						"outside the vocabulary\n", s,
						row);
					abort();
				}
		}
	}
	sb_batch_release(&batch);
}

static int load(const uint8_t *data, size_t size, struct sb_error *err)
{
	const char *path = sb_fuzz_write("tokens.bin", data, size);
	struct sb_values cfg = {0};
	if (sb_values_defaults(&cfg, sb_dataset_llmc_tokens.params, err))
		abort();
	set(&cfg, "train", path);
	set(&cfg, "val", path);
	set(&cfg, "seq_len", "4");
	set(&cfg, "vocab", NUMBER_TEXT(VOCAB));
	void *priv = sb_calloc(1, sb_dataset_llmc_tokens.priv_size);
	struct sb_data_info info;
	int rc = sb_dataset_llmc_tokens.open(priv, &cfg, &info, err);
	if (!rc)
		read_all(priv, &info);
	sb_dataset_llmc_tokens.release(priv); /* after a failed open too (sb.h) */
	free(priv);
	sb_values_release(&cfg);
	return rc;
}

const struct sb_fuzz_target sb_fuzz_llmc_tokens = {
	.name = "llmc_tokens",
	.load = load,
};
