/* test_shape.c - the model's shape from its checkpoint (harness/run/shape.c)
 * through the real binary: a small random llm.c GPT-2 (L 2, NH 2, C 32,
 * maxT 64, V 300 padded to 320) and token shards written here, specs that
 * name the checkpoint without shape keys, one that contradicts it, and an
 * HDF5 checkpoint of the harness's own, and the files experiments/
 * gpt2_124m.yaml asks for. SB_BIN names the binary. */
#define _POSIX_C_SOURCE 200809L
#include "support.h"

#include "io/results.h"
#include "util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char tmpdir[256];
static char repo[256];
static const char *bin;

enum { L = 2, NH = 2, C = 32, MAXT = 64, V = 300, VP = 320 };

/* What `validate` says the checkpoint gives. */
#define SHAPE_NOTE "shape: model 'gpt' from 'gpt2.bin': n_layer 2, " \
		   "n_head 2, n_embd 32, block_size 64, vocab 300\n"
/* The same in a run's resolved config (grid.c's order of gpt's values). */
#define SHAPE_YAML "n_layer: 2, n_head: 2, n_embd: 32, block_size: 64, " \
		   "vocab: 300, head: lm}"

/* Runs a shell command in tmpdir with stdout and stderr captured to
 * tmpdir/out and tmpdir/err; returns the exit code. */
/* A command in tmpdir, its output in out and err there. */
#define sh(...) sb_test_sh(tmpdir, __VA_ARGS__)

static char *slurp(const char *name)
{
	char *path = sb_test_path(tmpdir, name);
	char *text = sb_test_read_file(path, NULL);
	free(path);
	assert_non_null(text);
	return text;
}

#define write_file(name, text) sb_test_write_text(tmpdir, name, text)

static bool file_exists(const char *name)
{
	char *path = sb_test_path(tmpdir, name);
	bool yes = access(path, F_OK) == 0;
	free(path);
	return yes;
}

/* The output `name` (out or err) holds `part`. */
static void assert_output(const char *name, const char *part)
{
	char *text = slurp(name);
	if (!strstr(text, part))
		fail_msg("%s lacks '%s':\n%s", name, part, text);
	free(text);
}

/* A GPT-2 as GPT-2 starts: LayerNorm gains 1 (file tensors 2, 8, 14),
 * biases 0, weights of a hashed sign times 0.02. */
static float gpt2_value(int k, size_t j, void *ctx)
{
	(void)ctx;
	if (k == 2 || k == 8 || k == 14)
		return 1.0f;
	if (k == 3 || k == 5 || k == 7 || k == 9 || k == 11 || k == 13 ||
	    k == 15)
		return 0.0f;
	uint64_t h = sb_seed_mix((uint64_t)k, j);
	return (float)((double)(h >> 11) / 9007199254740992.0 - 0.5) * 0.04f;
}

static void write_tokens(const char *name, size_t n, uint64_t seed)
{
	uint16_t *tokens = sb_malloc(n * sizeof *tokens);
	for (size_t i = 0; i < n; i++)
		tokens[i] = (uint16_t)(sb_seed_mix(seed, i) % V);
	char *path = sb_test_path(tmpdir, name);
	sb_test_llmc_tokens_write(path, SB_LLMC_TOKENS_MAGIC,
				  SB_LLMC_TOKENS_VERSION, tokens, n, 0);
	free(path);
	free(tokens);
}

/* A spec over the shards with `model` as its model section. */
static void write_spec(const char *name, const char *model)
{
	char text[1024];
	snprintf(text, sizeof text,
		 "dataset: {name: llmc_tokens, train: train.bin, "
		 "val: val.bin, seq_len: 16, vocab: %d}\n"
		 "model: %s\n"
		 "train: {steps: 3, batch_size: 2, eval_every: 3, "
		 "eval_batches: 1, eval_batch_size: 2}\n"
		 "policy: topk_batch\n"
		 "optimizer: {name: sparse_adam, lr: 0.001}\n"
		 "density: 0.01\n",
		 V, model);
	write_file(name, text);
}

static int setup(void **state)
{
	(void)state;
	bin = getenv("SB_BIN");
	if (!bin)
		bin = "bin/sparsebench";
	if (bin[0] != '/') {
		static char abs[512];
		char cwd[256];
		if (!getcwd(cwd, sizeof cwd))
			return -1;
		snprintf(abs, sizeof abs, "%s/%s", cwd, bin);
		bin = abs;
	}
	if (!getcwd(repo, sizeof repo))
		return -1;
	if (sb_test_tmpdir(tmpdir, sizeof tmpdir, "shape"))
		return -1;
	const struct sb_llmc_config c = {
		.max_t = MAXT, .vocab = V, .padded_vocab = VP,
		.n_layers = L, .n_heads = NH, .channels = C,
	};
	char *path = sb_test_path(tmpdir, "gpt2.bin");
	sb_test_llmc_model_write(path, SB_LLMC_MODEL_MAGIC,
				 SB_LLMC_MODEL_VERSION, &c, gpt2_value, NULL,
				 0);
	free(path);
	write_tokens("train.bin", 2000, 1);
	write_tokens("val.bin", 400, 2);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return sb_test_rmtree(tmpdir);
}

/* The parameters of a GPT-2 of the checkpoint's shape with a V-row wte:
 * wte, wpe, L blocks of 12 C^2 + 13 C, ln_f. */
static double expected_params(void)
{
	return (double)V * C + (double)MAXT * C +
	       (double)L * (12.0 * C * C + 13.0 * C) + 2.0 * C;
}

static void test_validate_shows_the_checkpoint_shape(void **state)
{
	(void)state;
	write_spec("plain.yaml", "{name: gpt, checkpoint: gpt2.bin}");
	assert_int_equal(sh("'%s' validate plain.yaml", bin), 0);
	assert_output("out", SHAPE_NOTE);
}

static void test_run_takes_the_checkpoint_shape(void **state)
{
	(void)state;
	write_spec("plain.yaml", "{name: gpt, checkpoint: gpt2.bin}");
	assert_int_equal(sh("'%s' run plain.yaml -o plain.h5 --quiet", bin),
			 0);
	struct sb_results_view view;
	struct sb_error err = {{0}};
	char *path = sb_test_path(tmpdir, "plain.h5");
	if (sb_results_load(&view, path, &err))
		fail_msg("%s", err.msg);
	free(path);
	assert_int_equal(view.n_runs, 1);
	const struct sb_run_info *run = &view.runs[0];
	if (!strstr(run->config_yaml, SHAPE_YAML))
		fail_msg("config lacks the checkpoint's shape:\n%s",
			 run->config_yaml);
	assert_near(sb_run_info_attr(run, "n_params"), expected_params(), 0);
	double *loss = NULL;
	size_t n = 0;
	if (sb_results_series(&view, 0, "steps", "loss", &loss, &n, &err))
		fail_msg("%s", err.msg);
	assert_int_equal(n, 3);
	/* The checkpoint's small weights give near-uniform logits: the first
	 * loss is ln(300) = 5.70 within what 0.02-scale weights move it. */
	assert_true(isfinite(loss[0]));
	assert_near(loss[0], log((double)V), 0.5);
	free(loss);
	sb_results_view_release(&view);
}

static void test_conflicting_shape_is_an_error(void **state)
{
	(void)state;
	write_spec("conflict.yaml",
		   "{name: gpt, checkpoint: gpt2.bin, n_embd: 64}");
	assert_int_equal(sh("'%s' validate conflict.yaml", bin), 2);
	/* the spec's place, both values, the checkpoint */
	assert_output("err", "conflict.yaml:2:");
	assert_output("err", "'n_embd' 64");
	assert_output("err", "'gpt2.bin' holds n_embd 32");
	assert_int_equal(sh("'%s' run conflict.yaml -o conflict.h5 --quiet",
			    bin), 2);
	assert_output("err", "'gpt2.bin' holds n_embd 32");
	assert_false(file_exists("conflict.h5"));

	/* a value equal to the checkpoint's is no conflict */
	write_spec("same.yaml", "{name: gpt, checkpoint: gpt2.bin, n_layer: 2}");
	assert_int_equal(sh("'%s' validate same.yaml", bin), 0);
	assert_output("out", "n_head 2, n_embd 32");
}

static void test_dataset_vocab_beyond_the_checkpoint(void **state)
{
	(void)state;
	write_file("wide.yaml",
		   "dataset: {name: llmc_tokens, train: train.bin, "
		   "val: val.bin, seq_len: 16}\n"
		   "model: {name: gpt, checkpoint: gpt2.bin}\n"
		   "train: {steps: 1, batch_size: 2}\n"
		   "policy: dense\n"
		   "optimizer: dense_adam\n");
	assert_int_equal(sh("'%s' run wide.yaml -o wide.h5 --quiet", bin), 2);
	assert_output("err", "'vocab' 300 is smaller than the dataset's "
			     "vocabulary 50257");
	assert_output("err", "its checkpoint 'gpt2.bin'");
	assert_false(file_exists("wide.h5"));
}

/* The harness's own checkpoint stores its run's config: a spec naming it
 * gets the shape it was written with. */
static void test_hdf5_checkpoint_gives_its_shape(void **state)
{
	(void)state;
	write_file("pre.yaml",
		   "dataset: {name: llmc_tokens, train: train.bin, "
		   "val: val.bin, seq_len: 16, vocab: 300}\n"
		   "model: {name: gpt, n_layer: 1, n_head: 2, n_embd: 16, "
		   "block_size: 24}\n"
		   "train: {steps: 1, batch_size: 2, save_checkpoint: pre.h5}\n"
		   "policy: dense\n"
		   "optimizer: dense_adam\n");
	assert_int_equal(sh("'%s' run pre.yaml -o pre_results.h5 --quiet",
			    bin), 0);
	write_spec("after.yaml", "{name: gpt, checkpoint: pre.h5}");
	assert_int_equal(sh("'%s' validate after.yaml", bin), 0);
	assert_output("out", "shape: model 'gpt' from 'pre.h5': n_layer 1, "
			     "n_head 2, n_embd 16, block_size 24, vocab 0");
	assert_int_equal(sh("'%s' run after.yaml -o after.h5 --quiet", bin),
			 0);
}

/* The GPT-2 124M experiment names files the user makes: validate says
 * which is missing, the checkpoint first, then each shard. */
static void test_gpt2_124m_spec_names_missing_files(void **state)
{
	(void)state;
	assert_int_equal(sh("'%s' validate '%s/experiments/gpt2_124m.yaml'",
			    bin, repo), 2);
	assert_output("err", "checkpoint 'data/llmc/gpt2_124M.bin' not found");
	assert_int_equal(sh("mkdir -p data/llmc && cp gpt2.bin "
			    "data/llmc/gpt2_124M.bin"), 0);
	assert_int_equal(sh("'%s' validate '%s/experiments/gpt2_124m.yaml'",
			    bin, repo), 2);
	assert_output("err", "'data/llmc/tiny_shakespeare_train.bin': cannot "
			     "read the train token shard");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_validate_shows_the_checkpoint_shape),
		cmocka_unit_test(test_run_takes_the_checkpoint_shape),
		cmocka_unit_test(test_conflicting_shape_is_an_error),
		cmocka_unit_test(test_dataset_vocab_beyond_the_checkpoint),
		cmocka_unit_test(test_hdf5_checkpoint_gives_its_shape),
		cmocka_unit_test(test_gpt2_124m_spec_names_missing_files),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
