/* test_llmc.c - llm.c GPT-2 weights and token shards (models/lib/llmc.c) and
 * the llmc_tokens dataset, on tiny files written here: L 2, C 8, V 11,
 * Vp 16, maxT 6, every file tensor filled with its own distinct values. */
#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sb.h"
#include "util.h"
#include "io/checkpoint.h"
#include "../models/lib/llmc.h"

extern const struct sb_dataset sb_dataset_llmc_tokens;

enum { L = 2, C = 8, V = 11, VP = 16, MAXT = 6, NH = 2 };

/* Per-layer tensors in file order after wte and wpe, with the size of one
 * layer's slice; file tensor k (0-based, wte = 0) holds (k+1)*1000 + j. */
static const struct {
	const char *suffix;
	size_t rows, cols; /* cols 0: a vector */
} blocks[] = {
	{"ln_1.weight", C, 0},      {"ln_1.bias", C, 0},
	{"attn.c_attn.weight", 3 * C, C}, {"attn.c_attn.bias", 3 * C, 0},
	{"attn.c_proj.weight", C, C}, {"attn.c_proj.bias", C, 0},
	{"ln_2.weight", C, 0},      {"ln_2.bias", C, 0},
	{"mlp.c_fc.weight", 4 * C, C}, {"mlp.c_fc.bias", 4 * C, 0},
	{"mlp.c_proj.weight", C, 4 * C}, {"mlp.c_proj.bias", C, 0},
};
#define N_BLOCKS 12

static char dir[64];

static int setup(void **state)
{
	(void)state;
	return sb_test_tmpdir(dir, sizeof dir, "test_llmc");
}

static int teardown(void **state)
{
	(void)state;
	return sb_test_rmtree(dir);
}

/* ---- writing files ---------------------------------------------------- */

static const struct sb_llmc_config config = {
	.max_t = MAXT, .vocab = V, .padded_vocab = VP, .n_layers = L,
	.n_heads = NH, .channels = C,
};

/* File tensor k holds (k+1)*1000 + j at entry j. */
static float distinct_value(int k, size_t j, void *ctx)
{
	(void)ctx;
	return (float)((k + 1) * 1000 + (long)j);
}

/* Writes the weights file; `extra` bytes of zeros are appended (a negative
 * value cuts the file short instead). */
static char *write_model(const char *name, int32_t magic, int32_t version,
			 long extra)
{
	char *path = sb_test_path(dir, name);
	sb_test_llmc_model_write(path, magic, version, &config, distinct_value,
				 NULL, extra);
	return path;
}

static size_t model_bytes(void)
{
	size_t n = 0;
	for (int k = 0; k < 16; k++)
		n += sb_test_llmc_tensor_size(&config, k);
	return 1024 + 4 * n;
}

static char *write_tokens(const char *name, int32_t magic, int32_t version,
			  const uint16_t *tokens, size_t n, long cut)
{
	char *path = sb_test_path(dir, name);
	sb_test_llmc_tokens_write(path, magic, version, tokens, n, cut);
	return path;
}

/* ---- a GPT layout ----------------------------------------------------- */

struct gpt {
	struct sb_layout layout;
	struct sb_tensor t[64];
	char *names[64];
	float *params;
};

static void add_tensor(struct gpt *g, char *name, int layer, size_t d0,
		       size_t d1)
{
	size_t i = g->layout.n_tensors++;
	struct sb_tensor *t = &g->t[i];
	g->names[i] = name;
	*t = (struct sb_tensor){
		.name = name, .offset = g->layout.n_params, .layer = layer,
		.ndim = d1 ? 2 : 1, .shape = {d0, d1},
		.size = d0 * (d1 ? d1 : 1),
	};
	g->layout.n_params += t->size;
}

/* A GPT of n_layers blocks, width c, vocab v, context t; with `head`, a
 * classification head the file does not hold. Parameters start at -1. */
static void gpt_init(struct gpt *g, int n_layers, size_t c, size_t v,
		     size_t t, bool head)
{
	memset(g, 0, sizeof *g);
	add_tensor(g, sb_strdup("wte.weight"), SB_LAYER_NONE, v, c);
	add_tensor(g, sb_strdup("wpe.weight"), SB_LAYER_NONE, t, c);
	for (int i = 0; i < n_layers; i++)
		for (int b = 0; b < N_BLOCKS; b++)
			add_tensor(g, sb_asprintf("h.%d.%s", i,
						  blocks[b].suffix), i,
				   blocks[b].rows / C * c,
				   blocks[b].cols / C * c);
	add_tensor(g, sb_strdup("ln_f.weight"), SB_LAYER_NONE, c, 0);
	add_tensor(g, sb_strdup("ln_f.bias"), SB_LAYER_NONE, c, 0);
	if (head)
		add_tensor(g, sb_strdup("head.weight"), SB_LAYER_NONE, 3, c);
	g->layout.tensors = g->t;
	g->layout.n_layers = n_layers;
	g->params = sb_malloc(g->layout.n_params * sizeof *g->params);
	for (size_t i = 0; i < g->layout.n_params; i++)
		g->params[i] = -1.0f;
}

static void gpt_release(struct gpt *g)
{
	for (size_t i = 0; i < g->layout.n_tensors; i++)
		free(g->names[i]);
	free(g->params);
}

/* The value the file holds for element j of a layout tensor of the tiny
 * configuration (see the file comment). */
static float expected(const struct sb_tensor *t, size_t j)
{
	int layer;
	char suffix[64];
	if (!strcmp(t->name, "wte.weight"))
		return (float)(1000 + j);
	if (!strcmp(t->name, "wpe.weight"))
		return (float)(2000 + j);
	if (!strcmp(t->name, "ln_f.weight"))
		return (float)(15000 + j);
	if (!strcmp(t->name, "ln_f.bias"))
		return (float)(16000 + j);
	assert_int_equal(sscanf(t->name, "h.%d.%63s", &layer, suffix), 2);
	for (int b = 0; b < N_BLOCKS; b++)
		if (!strcmp(suffix, blocks[b].suffix))
			return (float)((b + 3) * 1000 + layer * t->size + j);
	fail_msg("no file tensor for '%s'", t->name);
	return 0;
}

/* Every loaded value is exact: the file's values are small integers. */
static void assert_loaded(const struct gpt *g, const char *skip)
{
	for (size_t i = 0; i < g->layout.n_tensors; i++) {
		const struct sb_tensor *t = &g->t[i];
		bool fresh = skip && !strncmp(t->name, skip, strlen(skip));
		for (size_t j = 0; j < t->size; j++) {
			float want = fresh ? -1.0f : expected(t, j);
			if (g->params[t->offset + j] != want)
				fail_msg("%s[%zu] = %g, expected %g", t->name,
					 j, g->params[t->offset + j], want);
		}
	}
}

/* ---- weights ---------------------------------------------------------- */

static void test_weights_map_to_tensors(void **state)
{
	(void)state;
	char *path = write_model("gpt2.bin", 20240326, 3, 0);
	struct sb_llmc_config cfg;
	struct sb_error err = {{0}};
	assert_int_equal(sb_llmc_model_header(path, &cfg, &err), 0);
	assert_int_equal(cfg.max_t, MAXT);
	assert_int_equal(cfg.vocab, V);
	assert_int_equal(cfg.padded_vocab, VP);
	assert_int_equal(cfg.n_layers, L);
	assert_int_equal(cfg.n_heads, NH);
	assert_int_equal(cfg.channels, C);

	struct gpt g;
	gpt_init(&g, L, C, V, MAXT, false);
	assert_int_equal(sb_llmc_model_load(path, &g.layout, g.params, NULL, 0,
					    &err), 0);
	assert_loaded(&g, NULL);
	/* spot checks written out: row 1 of wte, the second layer's fc bias */
	assert_true(g.params[g.t[0].offset + C] == 1000.0f + C);
	const struct sb_tensor *fcb = &g.t[2 + N_BLOCKS + 9];
	assert_string_equal(fcb->name, "h.1.mlp.c_fc.bias");
	assert_true(g.params[fcb->offset] == 12000.0f + 4 * C);
	gpt_release(&g);
	free(path);
}

static void test_shorter_context_takes_first_rows(void **state)
{
	(void)state;
	char *path = write_model("gpt2.bin", 20240326, 3, 0);
	struct gpt g;
	struct sb_error err = {{0}};
	gpt_init(&g, L, C, V, 4, false);
	assert_int_equal(sb_llmc_model_load(path, &g.layout, g.params, NULL, 0,
					    &err), 0);
	assert_loaded(&g, NULL);
	gpt_release(&g);
	free(path);
}

static void test_checkpoint_load_reads_llmc(void **state)
{
	(void)state;
	char *path = write_model("gpt2.bin", 20240326, 3, 0);
	struct gpt g;
	struct sb_error err = {{0}};
	gpt_init(&g, L, C, V, MAXT, true);
	char *fresh[] = {"head.*"};
	assert_int_equal(sb_checkpoint_load(path, &g.layout, g.params, fresh,
					    1, &err), 0);
	assert_loaded(&g, "head.");
	gpt_release(&g);
	free(path);
}

static void test_tensor_not_in_file(void **state)
{
	(void)state;
	char *path = write_model("gpt2.bin", 20240326, 3, 0);
	struct gpt g;
	struct sb_error err = {{0}};
	gpt_init(&g, L, C, V, MAXT, true);
	assert_int_equal(sb_llmc_model_load(path, &g.layout, g.params, NULL, 0,
					    &err), -1);
	assert_error(&err, path);
	assert_error(&err, "tensor 'head.weight' missing");
	gpt_release(&g);
	free(path);
}

static void test_fresh_embedding_is_kept(void **state)
{
	(void)state;
	char *path = write_model("gpt2.bin", 20240326, 3, 0);
	struct gpt g;
	struct sb_error err = {{0}};
	/* a vocabulary larger than Vp is fine when wte is not loaded */
	gpt_init(&g, L, C, 300, MAXT, false);
	char *fresh[] = {"wte.*"};
	assert_int_equal(sb_llmc_model_load(path, &g.layout, g.params, fresh,
					    1, &err), 0);
	assert_loaded(&g, "wte.");
	gpt_release(&g);
	free(path);
}

static void test_config_mismatch(void **state)
{
	(void)state;
	char *path = write_model("gpt2.bin", 20240326, 3, 0);
	struct sb_error err = {{0}};
	struct gpt g;

	gpt_init(&g, L, 16, V, MAXT, false);
	assert_int_equal(sb_llmc_model_load(path, &g.layout, g.params, NULL, 0,
					    &err), -1);
	assert_error(&err, "L=2 C=8 NH=2 V=11 (padded 16) maxT=6");
	assert_error(&err, "the model has L=2 C=16");
	gpt_release(&g);

	gpt_init(&g, 3, C, V, MAXT, false);
	assert_int_equal(sb_llmc_model_load(path, &g.layout, g.params, NULL, 0,
					    &err), -1);
	assert_error(&err, "the model has L=3 C=8");
	gpt_release(&g);

	gpt_init(&g, L, C, VP + 1, MAXT, false);
	assert_int_equal(sb_llmc_model_load(path, &g.layout, g.params, NULL, 0,
					    &err), -1);
	assert_error(&err, "V=17");
	gpt_release(&g);

	gpt_init(&g, L, C, V, MAXT + 1, false);
	assert_int_equal(sb_llmc_model_load(path, &g.layout, g.params, NULL, 0,
					    &err), -1);
	assert_error(&err, "T=7");
	gpt_release(&g);
	free(path);
}

static void test_truncated_and_oversized_weights(void **state)
{
	(void)state;
	struct sb_error err = {{0}};
	struct sb_llmc_config cfg;
	size_t full = model_bytes();
	char want[128];

	char *path = write_model("short.bin", 20240326, 3, -4);
	assert_int_equal(sb_llmc_model_header(path, &cfg, &err), -1);
	assert_error(&err, path);
	snprintf(want, sizeof want, "truncated: the header implies %zu bytes, "
		 "the file has %zu", full, full - 4);
	assert_error(&err, want);
	free(path);

	path = write_model("long.bin", 20240326, 3, 3);
	struct gpt g;
	gpt_init(&g, L, C, V, MAXT, false);
	assert_int_equal(sb_checkpoint_load(path, &g.layout, g.params, NULL, 0,
					    &err), -1);
	snprintf(want, sizeof want, "oversized: the header implies %zu bytes, "
		 "the file has %zu", full, full + 3);
	assert_error(&err, want);
	gpt_release(&g);
	free(path);

	/* shorter than the header itself */
	path = write_model("stub.bin", 20240326, 3, -(long)(full - 100));
	assert_int_equal(sb_llmc_model_header(path, &cfg, &err), -1);
	assert_error(&err, "truncated: 100 bytes");
	free(path);
}

static void test_bad_magic_and_version(void **state)
{
	(void)state;
	struct sb_error err = {{0}};
	struct sb_llmc_config cfg;
	char *path = write_model("magic.bin", 20240327, 3, 0);
	assert_int_equal(sb_llmc_model_header(path, &cfg, &err), -1);
	assert_error(&err, path);
	assert_error(&err, "bad magic 20240327");
	free(path);

	path = write_model("version.bin", 20240326, 2, 0);
	assert_int_equal(sb_llmc_model_header(path, &cfg, &err), -1);
	assert_error(&err, path);
	assert_error(&err, "version 2, expected 3");
	free(path);
}

/* ---- token shards ----------------------------------------------------- */

static void fill_tokens(uint16_t *tokens, size_t n, uint16_t vocab)
{
	for (size_t i = 0; i < n; i++)
		tokens[i] = (uint16_t)((i * 7 + 3) % vocab);
}

static void test_tokens_read(void **state)
{
	(void)state;
	uint16_t tokens[100];
	fill_tokens(tokens, 100, 50);
	char *path = write_tokens("t.bin", 20240520, 1, tokens, 100, 0);
	struct sb_error err = {{0}};
	uint16_t *got;
	size_t n;
	assert_int_equal(sb_llmc_tokens_header(path, &n, &err), 0);
	assert_int_equal(n, 100);
	assert_int_equal(sb_llmc_tokens_read(path, 50, &got, &n, &err), 0);
	assert_int_equal(n, 100);
	assert_memory_equal(got, tokens, sizeof tokens);
	free(got);
	free(path);
}

static void test_tokens_errors(void **state)
{
	(void)state;
	uint16_t tokens[100], *got = NULL;
	size_t n;
	struct sb_error err = {{0}};
	fill_tokens(tokens, 100, 50);

	tokens[37] = 50;
	char *path = write_tokens("big.bin", 20240520, 1, tokens, 100, 0);
	assert_int_equal(sb_llmc_tokens_read(path, 50, &got, &n, &err), -1);
	assert_error(&err, path);
	assert_error(&err, "token 50 at offset 37 is outside the vocabulary "
		     "of 50");
	free(path);

	path = write_tokens("cut.bin", 20240520, 1, tokens, 100, 2);
	assert_int_equal(sb_llmc_tokens_read(path, 60, &got, &n, &err), -1);
	assert_error(&err, "truncated: the header implies 1224 bytes, the "
		     "file has 1222");
	free(path);

	path = write_tokens("magic.bin", 20240326, 1, tokens, 100, 0);
	assert_int_equal(sb_llmc_tokens_header(path, &n, &err), -1);
	assert_error(&err, "bad magic 20240326, not an llm.c token shard");
	free(path);

	path = write_tokens("version.bin", 20240520, 2, tokens, 100, 0);
	assert_int_equal(sb_llmc_tokens_header(path, &n, &err), -1);
	assert_error(&err, "version 2, expected 1");
	free(path);

	path = sb_test_path(dir, "absent.bin");
	assert_int_equal(sb_llmc_tokens_header(path, &n, &err), -1);
	assert_error(&err, "cannot open");
	free(path);
}

/* ---- the llmc_tokens dataset ------------------------------------------ */

static void dataset_values(struct sb_values *vals, const char *train,
			   const char *val, const char *seq_len)
{
	struct sb_error err = {{0}};
	assert_int_equal(sb_values_defaults(vals, sb_dataset_llmc_tokens.params,
					    &err), 0);
	assert_int_equal(sb_values_set(vals, "train", train, &err), 0);
	assert_int_equal(sb_values_set(vals, "val", val, &err), 0);
	assert_int_equal(sb_values_set(vals, "seq_len", seq_len, &err), 0);
	assert_int_equal(sb_values_set(vals, "vocab", "50", &err), 0);
}

static void test_dataset_windows(void **state)
{
	(void)state;
	const struct sb_dataset *ds = &sb_dataset_llmc_tokens;
	uint16_t train[100], val[50];
	fill_tokens(train, 100, 50);
	for (size_t i = 0; i < 50; i++)
		val[i] = (uint16_t)(49 - i);
	char *train_path = write_tokens("train.bin", 20240520, 1, train, 100,
					0);
	char *val_path = write_tokens("val.bin", 20240520, 1, val, 50, 0);
	struct sb_values vals;
	dataset_values(&vals, train_path, val_path, "8");
	struct sb_error err = {{0}};
	assert_int_equal(ds->check(&vals, &err), 0);

	void *priv = sb_calloc(1, ds->priv_size);
	struct sb_data_info info;
	assert_int_equal(ds->open(priv, &vals, &info, &err), 0);
	assert_int_equal(info.task, SB_TASK_LM);
	assert_int_equal(info.vocab, 50);
	assert_int_equal(info.seq_len, 8);
	assert_int_equal(info.n_examples[SB_TRAIN], 100 - 8);
	assert_int_equal(info.n_examples[SB_VAL], 49 / 8);
	assert_int_equal(info.n_examples[SB_TEST], 49 / 8); /* test = val */

	int32_t tokens[3 * 8], targets[3 * 8];
	struct sb_batch b = {.tokens = tokens, .targets = targets};
	size_t rows[] = {0, 5, 91};
	ds->batch(priv, SB_TRAIN, rows, 3, &b);
	assert_int_equal(b.n, 3);
	for (size_t r = 0; r < 3; r++)
		for (size_t t = 0; t < 8; t++) {
			assert_int_equal(tokens[r * 8 + t], train[rows[r] + t]);
			assert_int_equal(targets[r * 8 + t],
					 train[rows[r] + t + 1]);
		}
	size_t vrows[] = {0, 5};
	ds->batch(priv, SB_TEST, vrows, 2, &b);
	for (size_t t = 0; t < 8; t++) {
		assert_int_equal(tokens[t], 49 - (int)t);
		assert_int_equal(tokens[8 + t], 49 - 40 - (int)t);
		assert_int_equal(targets[8 + t], 49 - 41 - (int)t);
	}
	ds->release(priv);
	free(priv);
	sb_values_release(&vals);
	free(train_path);
	free(val_path);
}

static void test_dataset_errors(void **state)
{
	(void)state;
	const struct sb_dataset *ds = &sb_dataset_llmc_tokens;
	uint16_t tokens[100];
	fill_tokens(tokens, 100, 50);
	char *train_path = write_tokens("train.bin", 20240520, 1, tokens, 100,
					0);
	char *short_path = write_tokens("short.bin", 20240520, 1, tokens, 8, 0);
	char *absent = sb_test_path(dir, "absent.bin");
	struct sb_values vals;
	struct sb_error err = {{0}};
	struct sb_data_info info;
	void *priv = sb_calloc(1, ds->priv_size);

	dataset_values(&vals, train_path, absent, "8");
	assert_int_equal(ds->check(&vals, &err), -1);
	assert_error(&err, absent);
	assert_error(&err, "val token shard");
	sb_values_release(&vals);

	dataset_values(&vals, train_path, short_path, "8");
	assert_int_equal(ds->open(priv, &vals, &info, &err), -1);
	assert_error(&err, short_path);
	assert_error(&err, "8 tokens, too few for one val example");
	/* as the core does after a failed open: the train split read before
	 * the error is freed here, not by open */
	ds->release(priv);
	sb_values_release(&vals);

	tokens[61] = 60;
	char *bad_path = write_tokens("bad.bin", 20240520, 1, tokens, 100, 0);
	dataset_values(&vals, bad_path, train_path, "8");
	assert_int_equal(ds->open(priv, &vals, &info, &err), -1);
	assert_error(&err, bad_path);
	assert_error(&err, "at offset 61");
	ds->release(priv);
	sb_values_release(&vals);

	free(priv);
	free(train_path);
	free(short_path);
	free(bad_path);
	free(absent);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_weights_map_to_tensors,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_shorter_context_takes_first_rows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_checkpoint_load_reads_llmc,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_tensor_not_in_file, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_fresh_embedding_is_kept,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_config_mismatch, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_truncated_and_oversized_weights, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_magic_and_version,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_tokens_read, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_tokens_errors, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_dataset_windows, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_dataset_errors, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
