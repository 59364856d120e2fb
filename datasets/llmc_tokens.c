/* llmc_tokens.c - language modelling on llm.c token shards (uint16 tokens
 * after a 256-int32 header, magic 20240520: dev/data/data_common.py). Train
 * examples start at every offset; val/test are non-overlapping windows. */
#include "sb.h"
#include "util.h"
#include "lib/lm_windows.h"
#include "../models/lib/llmc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct sb_param llmc_tokens_params[] = {
	{.name = "train", .type = SB_STRING, .def = NULL,
	 .help = "llm.c token shard for training (.bin)"},
	{.name = "val", .type = SB_STRING, .def = NULL,
	 .help = "llm.c token shard for validation"},
	{.name = "test", .type = SB_STRING, .def = "",
	 .help = "llm.c token shard for the test split (empty: the val shard)"},
	{.name = "seq_len", .type = SB_INT, .def = "64", SB_RANGE(1, 1 << 20),
	 .help = "tokens per example"},
	{.name = "vocab", .type = SB_INT, .def = "50257", SB_RANGE(1, 65536),
	 .help = "vocabulary size; a larger token in a shard is an error"},
	{0},
};

static const char *const split_names[] = {"train", "val", "test"};

struct llmc_tokens {
	uint16_t *tokens[3]; /* per split; test may alias val */
	size_t n_tokens[3];
	size_t seq_len;
};

/* The shard of a split: test falls back to val. */
static const char *split_path(const struct sb_values *cfg, enum sb_split s)
{
	const char *path = sb_values_str(cfg, split_names[s]);
	if (s == SB_TEST && (!path || !*path))
		path = sb_values_str(cfg, "val");
	return path;
}

static int llmc_tokens_check(const struct sb_values *cfg,
			     struct sb_error *err)
{
	for (int s = SB_TRAIN; s <= SB_TEST; s++) {
		const char *path = split_path(cfg, (enum sb_split)s);
		size_t n;
		if (!path || !*path)
			return sb_error(err, "llmc_tokens: parameter '%s' (a "
					"token shard) is required",
					split_names[s]);
		if (access(path, R_OK))
			return sb_error(err, "'%s': cannot read the %s token "
					"shard: %s", path, split_names[s],
					strerror(errno));
		if (sb_llmc_tokens_header(path, &n, err))
			return -1;
	}
	return 0;
}

static void llmc_tokens_release(void *priv)
{
	struct llmc_tokens *d = priv;
	if (d->tokens[SB_TEST] != d->tokens[SB_VAL])
		free(d->tokens[SB_TEST]);
	free(d->tokens[SB_VAL]);
	free(d->tokens[SB_TRAIN]);
	memset(d, 0, sizeof *d);
}

static int llmc_tokens_open(void *priv, const struct sb_values *cfg,
			    struct sb_data_info *info, struct sb_error *err)
{
	struct llmc_tokens *d = priv;
	size_t vocab = (size_t)sb_values_int(cfg, "vocab");
	d->seq_len = (size_t)sb_values_int(cfg, "seq_len");
	if (llmc_tokens_check(cfg, err))
		return -1;
	*info = (struct sb_data_info){
		.task = SB_TASK_LM, .vocab = vocab, .seq_len = d->seq_len,
	};
	for (int s = SB_TRAIN; s <= SB_TEST; s++) {
		const char *path = split_path(cfg, (enum sb_split)s);
		if (s == SB_TEST && !strcmp(path, split_path(cfg, SB_VAL))) {
			d->tokens[s] = d->tokens[SB_VAL];
			d->n_tokens[s] = d->n_tokens[SB_VAL];
		} else if (sb_llmc_tokens_read(path, vocab, &d->tokens[s],
					       &d->n_tokens[s], err))
			return -1;
		info->n_examples[s] = sb_lm_windows_count(
			(enum sb_split)s, d->n_tokens[s], d->seq_len);
		if (!info->n_examples[s])
			return sb_error(err, "'%s': %zu tokens, too few for "
					"one %s example of seq_len %zu "
					"(needs %zu)", path, d->n_tokens[s],
					split_names[s], d->seq_len,
					d->seq_len + 1);
	}
	return 0;
}

static void llmc_tokens_batch(void *priv, enum sb_split split,
			      const size_t *rows, size_t n,
			      struct sb_batch *out)
{
	const struct llmc_tokens *d = priv;
	const uint16_t *tokens = d->tokens[split];
	size_t T = d->seq_len;
	out->n = n;
	for (size_t r = 0; r < n; r++) {
		const uint16_t *src =
			tokens + sb_lm_window_start(split, rows[r], T);
		int32_t *x = out->tokens + r * T, *y = out->targets + r * T;
		for (size_t t = 0; t < T; t++) {
			x[t] = src[t];
			y[t] = src[t + 1];
		}
	}
}

const struct sb_dataset sb_dataset_llmc_tokens = {
	.name = "llmc_tokens",
	.summary = "language modelling on llm.c uint16 token shards",
	.params = llmc_tokens_params,
	.priv_size = sizeof(struct llmc_tokens),
	.check = llmc_tokens_check,
	.open = llmc_tokens_open,
	.batch = llmc_tokens_batch,
	.release = llmc_tokens_release,
};
