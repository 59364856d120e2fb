/* llmc_tokens.c - language modelling on llm.c token shards (uint16 tokens
 * after a 256-int32 header, magic 20240520: dev/data/data_common.py). Train
 * examples start at every offset; val/test are non-overlapping windows. */
#include "sb.h"
#include "util.h"
#include "../models/lib/llmc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct sb_param params[] = {
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

struct priv {
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

static int check(const struct sb_values *cfg, struct sb_error *err)
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

static void release(void *p)
{
	struct priv *priv = p;
	if (priv->tokens[SB_TEST] != priv->tokens[SB_VAL])
		free(priv->tokens[SB_TEST]);
	free(priv->tokens[SB_VAL]);
	free(priv->tokens[SB_TRAIN]);
	memset(priv, 0, sizeof *priv);
}

/* Examples of a split of n tokens: train starts anywhere a window and its
 * shifted targets fit; val/test windows tile the split without overlap. */
static size_t count_examples(enum sb_split s, size_t n, size_t seq_len)
{
	if (n < seq_len + 1)
		return 0;
	return s == SB_TRAIN ? n - seq_len : (n - 1) / seq_len;
}

static int open_data(void *p, const struct sb_values *cfg,
		     struct sb_data_info *info, struct sb_error *err)
{
	struct priv *priv = p;
	size_t vocab = (size_t)sb_values_int(cfg, "vocab");
	priv->seq_len = (size_t)sb_values_int(cfg, "seq_len");
	if (check(cfg, err))
		return -1;
	*info = (struct sb_data_info){
		.task = SB_TASK_LM, .vocab = vocab, .seq_len = priv->seq_len,
	};
	for (int s = SB_TRAIN; s <= SB_TEST; s++) {
		const char *path = split_path(cfg, (enum sb_split)s);
		if (s == SB_TEST && !strcmp(path, split_path(cfg, SB_VAL))) {
			priv->tokens[s] = priv->tokens[SB_VAL];
			priv->n_tokens[s] = priv->n_tokens[SB_VAL];
		} else if (sb_llmc_tokens_read(path, vocab, &priv->tokens[s],
					       &priv->n_tokens[s], err)) {
			release(priv);
			return -1;
		}
		info->n_examples[s] = count_examples((enum sb_split)s,
						     priv->n_tokens[s],
						     priv->seq_len);
		if (!info->n_examples[s]) {
			int rc = sb_error(err, "'%s': %zu tokens, too few for "
					  "one %s example of seq_len %zu "
					  "(needs %zu)", path,
					  priv->n_tokens[s], split_names[s],
					  priv->seq_len, priv->seq_len + 1);
			release(priv);
			return rc;
		}
	}
	return 0;
}

static void batch(void *p, enum sb_split split, const size_t *rows, size_t n,
		  struct sb_batch *out)
{
	const struct priv *priv = p;
	const uint16_t *tokens = priv->tokens[split];
	size_t T = priv->seq_len;
	out->n = n;
	for (size_t r = 0; r < n; r++) {
		size_t start = split == SB_TRAIN ? rows[r] : rows[r] * T;
		const uint16_t *src = tokens + start;
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
	.params = params,
	.priv_size = sizeof(struct priv),
	.check = check,
	.open = open_data,
	.batch = batch,
	.release = release,
};
