/* test_delta.c - sparse deltas (harness/io/delta.c) from real runs of the
 * binary (SB_BIN): an mlp with a fresh head, a tiny GPT from a checkpoint
 * and one from llm.c weights, each rebuilt bit for bit by `sparsebench
 * apply` from its base and compared with the checkpoint the run saved; a
 * delta of exactly the components that moved; one file per run of a
 * sweep; and the refusals: another base, a damaged delta, an index out of
 * range, an existing OUT. */
#define _GNU_SOURCE /* memmem */
#include "support.h"

#include "io/checkpoint.h"
#include "io/delta.h"
#include "io/h5util.h"
#include "util.h"

#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char tmpdir[256];
static const char *bin;

/* Runs a shell command in tmpdir, stdout and stderr to tmpdir/out and
 * tmpdir/err; returns the exit code. */
/* A command in tmpdir, its output in out and err there. */
#define sh(...) sb_test_sh(tmpdir, __VA_ARGS__)

static char *path_of(const char *name)
{
	return sb_test_path(tmpdir, name);
}

static char *slurp(const char *name, size_t *len)
{
	char *path = path_of(name);
	char *text = sb_test_read_file(path, len);
	free(path);
	return text;
}

static void write_bytes(const char *name, const void *bytes, size_t n)
{
	char *path = path_of(name);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(bytes, 1, n, f), n);
	fclose(f);
	free(path);
}

static void write_file(const char *name, const char *text)
{
	write_bytes(name, text, strlen(text));
}

static bool exists(const char *name)
{
	char *path = path_of(name);
	bool yes = access(path, F_OK) == 0;
	free(path);
	return yes;
}

/* Writes and runs the spec `<name>.yaml`; fails the test when the run
 * does. */
static void run_spec(const char *name, const char *text)
{
	char *file = sb_asprintf("%s.yaml", name);
	write_file(file, text);
	if (sh("'%s' run %s -o %s.h5 --quiet", bin, file, name)) {
		char *why = slurp("err", NULL);
		fail_msg("run of %s failed: %s", name, why ? why : "");
	}
	free(file);
}

/* A fortune file of 120 entries of pseudo-random words: byte-level text
 * for a small GPT. */
static void write_fortunes(void)
{
	static const char *const words[] = {
		"the", "sea", "is", "calm", "tonight", "and", "a", "cat",
		"sleeps", "under", "old", "moon", "while", "wind", "sings",
	};
	struct sb_rng rng;
	sb_rng_seed(&rng, 5);
	struct sb_strbuf text = {0};
	for (int e = 0; e < 120; e++) {
		sb_strbuf_printf(&text, "%d", e);
		for (int w = 0; w < 10; w++)
			sb_strbuf_printf(&text, " %s",
					 words[sb_rng_below(&rng, 15)]);
		sb_strbuf_printf(&text, "\n%%\n");
	}
	write_file("a.u8", text.s);
	free(text.s);
}

/* llm.c weights: small normal weights, LayerNorm gains of 1 (ln_1, ln_2,
 * ln_f: tensors 2, 8, 14 of train_gpt2.c's order), biases 0. */
static float llmc_value(int k, size_t j, void *ctx)
{
	(void)j;
	static const bool gain[16] = {[2] = 1, [8] = 1, [14] = 1};
	static const bool bias[16] = {[3] = 1, [5] = 1, [7] = 1, [9] = 1,
				      [11] = 1, [13] = 1, [15] = 1};
	return gain[k] ? 1.0f : bias[k] ? 0.0f
		: (float)(0.02 * sb_rng_normal((struct sb_rng *)ctx));
}

/* GPT-2 weights in llm.c's format for a model of one block, width 8, two
 * heads, 16 positions and 256 byte tokens. */
static void write_llmc(const char *name)
{
	struct sb_llmc_config c = {.max_t = 16, .vocab = 256,
				   .padded_vocab = 256, .n_layers = 1,
				   .n_heads = 2, .channels = 8};
	struct sb_rng rng;
	sb_rng_seed(&rng, 9);
	char *path = path_of(name);
	sb_test_llmc_model_write(path, SB_LLMC_MODEL_MAGIC,
				 SB_LLMC_MODEL_VERSION, &c, llmc_value, &rng,
				 0);
	free(path);
}

static const char mlp_data[] =
	"dataset: {name: synthetic, n_features: 8, n_classes: 3,"
	" teacher_hidden: 8, n_train: 256, n_val: 32, n_test: 32}\n";
static const char gpt_data[] =
	"dataset: {name: fortunes, dir: '%s', categories: [a], seq_len: 16,"
	" val_fraction: 0.2, test_fraction: 0.1}\n";
static const char gpt_model[] =
	"name: gpt, n_layer: 1, n_head: 2, n_embd: 8, block_size: 16";

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
	if (sb_test_tmpdir(tmpdir, sizeof tmpdir, "delta"))
		return -1;
	write_fortunes();
	write_llmc("base.bin");
	/* the bases: a few dense steps from a random init */
	char *mlp = sb_asprintf(
		"name: pre_mlp\n%s"
		"model: {name: mlp, hidden: 16, layers: 2}\n"
		"train: {steps: 5, batch_size: 16, test: false,"
		" save_checkpoint: base_mlp.h5}\n"
		"policy: dense\noptimizer: {name: dense_adam, lr: 0.01}\n",
		mlp_data);
	char *data = sb_asprintf(gpt_data, tmpdir);
	char *gpt = sb_asprintf(
		"name: pre_gpt\n%smodel: {%s}\n"
		"train: {steps: 3, batch_size: 4, eval_batches: 1,"
		" eval_batch_size: 8, test: false,"
		" save_checkpoint: base_gpt.h5}\n"
		"policy: dense\noptimizer: {name: dense_adam, lr: 0.01}\n",
		data, gpt_model);
	run_spec("pre_mlp", mlp);
	run_spec("pre_gpt", gpt);
	free(mlp);
	free(gpt);
	free(data);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return sb_test_rmtree(tmpdir);
}

/* ---- rebuilds --------------------------------------------------------- */

/* The parameters of a checkpoint (or llm.c weights) in a delta's layout;
 * with skip_fresh, its fresh tensors are not read and stay 0. */
static float *load_params(const struct sb_delta *d, const char *name,
			  bool skip_fresh)
{
	char **fresh = sb_calloc(d->layout.n_tensors, sizeof *fresh);
	size_t n_fresh = 0;
	for (size_t t = 0; t < d->layout.n_tensors; t++)
		if (skip_fresh && d->fresh[t])
			fresh[n_fresh++] = (char *)d->tensors[t].name;
	float *p = sb_calloc(d->layout.n_params, sizeof *p);
	char *path = path_of(name);
	struct sb_error err = {{0}};
	if (sb_checkpoint_load(path, &d->layout, p, fresh, n_fresh, &err))
		fail_msg("%s", err.msg);
	free(path);
	free(fresh);
	return p;
}

static size_t n_datasets(const char *name)
{
	char *path = path_of(name);
	hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
	assert_true(file >= 0);
	H5G_info_t info;
	assert_true(H5Gget_info(file, &info) >= 0);
	H5Fclose(file);
	free(path);
	return (size_t)info.nlinks;
}

/* The run `name` (one run, of the method given) fine-tunes from `base`,
 * saves its final parameters to <name>.final.h5 and its delta to
 * <name>.delta.h5; `apply` must rebuild the former from base and delta,
 * bit for bit, and the delta must hold exactly the components that moved
 * (plus, set outright, every component of a fresh tensor). */
static void check_rebuild(const char *name, const char *data,
			  const char *model, const char *base,
			  const char *method)
{
	char *spec = sb_asprintf(
		"name: %s\n%smodel: {%s, checkpoint: %s}\n"
		"train: {steps: 8, batch_size: 8, eval_batches: 1,"
		" eval_batch_size: 8, test: false,"
		" save_checkpoint: %s.final.h5, save_delta: %s.delta.h5}\n"
		"seed: 4\n%s",
		name, data, model, base, name, name, method);
	run_spec(name, spec);
	free(spec);
	if (sh("'%s' apply %s %s.delta.h5 -o %s.out.h5", bin, base, name,
	       name)) {
		char *why = slurp("err", NULL);
		fail_msg("apply of %s failed: %s", name, why ? why : "");
	}

	struct sb_delta d;
	struct sb_error err = {{0}};
	char *delta_name = sb_asprintf("%s.delta.h5", name);
	char *delta_path = path_of(delta_name);
	if (sb_delta_load(&d, delta_path, &err))
		fail_msg("%s", err.msg);
	char *final = sb_asprintf("%s.final.h5", name);
	char *out = sb_asprintf("%s.out.h5", name);
	size_t n = d.layout.n_params;
	float *want = load_params(&d, final, false);
	float *got = load_params(&d, out, false);
	float *start = load_params(&d, base, true);

	/* every tensor of the final checkpoint, fresh ones too, as trained */
	assert_int_equal(n_datasets(out), n_datasets(final));
	for (size_t i = 0; i < n; i++)
		if (memcmp(&want[i], &got[i], sizeof *got))
			fail_msg("%s: component %zu is %.9g rebuilt, %.9g "
				 "trained", name, i, (double)got[i],
				 (double)want[i]);

	/* the pairs: one per moved component of a base tensor */
	size_t moved = 0, fresh = 0;
	for (size_t t = 0; t < d.layout.n_tensors; t++) {
		const struct sb_tensor *ten = &d.tensors[t];
		for (size_t i = ten->offset; i < ten->offset + ten->size; i++)
			if (d.fresh[t])
				fresh++;
			else
				moved += memcmp(&want[i], &start[i],
						sizeof *start) != 0;
	}
	assert_true(moved > 0 && moved < n);
	assert_int_equal(d.n_change, moved);
	assert_true(d.n_value >= fresh && d.n_value - fresh <= d.n_change);
	print_message("  %s: %zu of %zu components moved, %zu set outright "
		      "(%zu of a fresh tensor)\n", name, moved, n, d.n_value,
		      fresh);
	free(want);
	free(got);
	free(start);
	free(final);
	free(out);
	free(delta_name);
	free(delta_path);
	sb_delta_release(&d);
}

static void test_mlp_with_a_fresh_head_rebuilds_bit_for_bit(void **state)
{
	(void)state;
	check_rebuild("mlp", mlp_data,
		      "name: mlp, hidden: 16, layers: 2, fresh: [\"head.*\"]",
		      "base_mlp.h5",
		      "policy: {name: topk_batch, density: 0.05}\n"
		      "optimizer: {name: sparse_adam, lr: 0.05}\n");
}

static void test_gpt_rebuilds_bit_for_bit(void **state)
{
	(void)state;
	char *data = sb_asprintf(gpt_data, tmpdir);
	check_rebuild("gpt", data, gpt_model, "base_gpt.h5",
		      "policy: {name: topk_first, density: 0.02}\n"
		      "optimizer: {name: sparse_adam, lr: 0.01}\n");
	/* what apply wrote initialises a run, its shape taken from it */
	char *spec = sb_asprintf(
		"name: again\n%smodel: {name: gpt, checkpoint: gpt.out.h5}\n"
		"train: {steps: 1, batch_size: 4, eval_batches: 1,"
		" eval_batch_size: 8, test: false}\n"
		"policy: dense\noptimizer: sgd\n", data);
	run_spec("again", spec);
	free(spec);
	free(data);
}

static void test_llmc_base_rebuilds_bit_for_bit(void **state)
{
	(void)state;
	char *data = sb_asprintf(gpt_data, tmpdir);
	check_rebuild("llmc", data, gpt_model, "base.bin",
		      "policy: {name: random, density: 0.05}\n"
		      "optimizer: {name: dense_adam, lr: 0.01}\n");
	free(data);
}

/* The results file names the delta and says how large it is. */
static void test_results_record_the_delta(void **state)
{
	(void)state;
	char *path = path_of("mlp.h5");
	hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
	assert_true(file >= 0);
	hid_t run = H5Gopen2(file, "runs/topk_batch+sparse_adam,seed=4",
			     H5P_DEFAULT);
	assert_true(run >= 0);
	char *delta = sb_h5_attr_str(run, "delta");
	assert_non_null(delta);
	assert_string_equal(delta, "mlp.delta.h5");
	assert_int_equal(H5Aexists(run, "delta_changed"), 1);
	free(delta);
	H5Gclose(run);
	H5Fclose(file);
	free(path);
}

/* `{id}` gives each run of a sweep its own file. */
static void test_a_sweep_writes_one_delta_per_run(void **state)
{
	(void)state;
	char *spec = sb_asprintf(
		"name: sweep\n%s"
		"model: {name: mlp, hidden: 16, layers: 2,"
		" checkpoint: base_mlp.h5}\n"
		"train: {steps: 3, batch_size: 8, test: false,"
		" save_delta: \"sweep.{id}.h5\"}\n"
		"seeds: [1, 2]\npolicy: random\n"
		"optimizer: {name: sgd, lr: 0.1}\n",
		mlp_data);
	run_spec("sweep", spec);
	free(spec);
	assert_true(exists("sweep.random+sgd,seed=1.h5"));
	assert_true(exists("sweep.random+sgd,seed=2.h5"));
}

/* ---- refusals ---------------------------------------------------------- */

/* Apply must exit 2 with every `parts` in its message and write no OUT
 * (nor leave a temporary file beside it). */
static void refuse(const char *base, const char *delta, const char *out,
		   const char *const *parts, size_t n_parts)
{
	int code = sh("'%s' apply %s %s -o %s", bin, base, delta, out);
	char *errors = slurp("err", NULL);
	if (code != 2)
		fail_msg("apply %s %s: exit %d, expected 2: %s", base, delta,
			 code, errors);
	for (size_t k = 0; k < n_parts; k++)
		if (!strstr(errors, parts[k]))
			fail_msg("apply %s %s: '%s' lacks '%s'", base, delta,
				 errors, parts[k]);
	assert_int_equal(sh("ls | grep -c tmp"), 1); /* grep found none */
	free(errors);
}

/* The checksum of a base is FNV-1a over its values' bytes (this machine
 * is little-endian), fresh tensors left out. */
static void test_checksum_is_fnv1a_of_the_base_values(void **state)
{
	(void)state;
	struct sb_tensor tensors[2] = {
		{.name = "a", .offset = 0, .size = 3, .ndim = 1, .shape = {3}},
		{.name = "b", .offset = 3, .size = 2, .ndim = 1, .shape = {2}},
	};
	struct sb_layout layout = {.n_params = 5, .n_tensors = 2,
				   .tensors = tensors};
	float v[5] = {1.5f, -0.0f, 3e-8f, 7.0f, -2.25f};
	bool fresh[2] = {false, true};
	assert_true(sb_delta_checksum(&layout, v, NULL) ==
		    sb_hash_bytes(v, sizeof v));
	assert_true(sb_delta_checksum(&layout, v, fresh) ==
		    sb_hash_bytes(v, 3 * sizeof *v));
	float w[5];
	memcpy(w, v, sizeof v);
	w[1] = 0.0f; /* -0 and 0: equal as numbers, another base */
	assert_true(sb_delta_checksum(&layout, w, NULL) !=
		    sb_delta_checksum(&layout, v, NULL));
}

static void test_another_base_is_refused(void **state)
{
	(void)state;
	struct sb_delta d;
	struct sb_error err = {{0}};
	char *path = path_of("gpt.delta.h5");
	assert_int_equal(sb_delta_load(&d, path, &err), 0);
	char want[32];
	sb_delta_format_checksum(d.base_checksum, want);
	/* the fine-tuned model itself: the same layout, other values */
	const char *parts[] = {"'gpt.final.h5' is not the base of delta "
			       "'gpt.delta.h5'", want, "its checksum is "
			       "fnv1a64:", "base_gpt.h5"};
	refuse("gpt.final.h5", "gpt.delta.h5", "other.h5", parts, 4);
	assert_false(exists("other.h5"));
	sb_delta_release(&d);
	free(path);
}

/* A copy of a delta with one byte of its `change` values flipped. */
static void test_damaged_delta_is_refused(void **state)
{
	(void)state;
	struct sb_delta d;
	struct sb_error err = {{0}};
	char *path = path_of("gpt.delta.h5");
	assert_int_equal(sb_delta_load(&d, path, &err), 0);
	size_t size;
	char *bytes = slurp("gpt.delta.h5", &size);
	size_t n = d.n_change * sizeof *d.change;
	char *at = memmem(bytes, size, d.change, n);
	assert_non_null(at);
	at[n / 2] ^= 0x10;
	write_bytes("damaged.delta.h5", bytes, size);
	const char *parts[] = {"'damaged.delta.h5': cannot read dataset "
			       "'change'", "damaged"};
	refuse("base_gpt.h5", "damaged.delta.h5", "damaged.h5", parts, 2);
	assert_false(exists("damaged.h5"));

	/* cut short: HDF5 cannot open it */
	write_bytes("short.delta.h5", bytes, size / 2);
	const char *cut[] = {"'short.delta.h5'"};
	refuse("base_gpt.h5", "short.delta.h5", "short.h5", cut, 1);
	free(bytes);
	sb_delta_release(&d);
	free(path);
}

/* An index past the parameters, written through HDF5 (so that the chunk's
 * checksum is right): the reader checks the range itself. */
static void test_index_out_of_range_is_refused(void **state)
{
	(void)state;
	assert_int_equal(sh("cp gpt.delta.h5 range.delta.h5"), 0);
	char *path = path_of("range.delta.h5");
	hid_t file = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
	assert_true(file >= 0);
	hid_t dset = H5Dopen2(file, "index", H5P_DEFAULT);
	hid_t space = H5Dget_space(dset);
	hssize_t n = H5Sget_simple_extent_npoints(space);
	assert_true(n > 0);
	uint32_t *idx = sb_calloc((size_t)n, sizeof *idx);
	assert_true(H5Dread(dset, H5T_NATIVE_UINT32, H5S_ALL, H5S_ALL,
			    H5P_DEFAULT, idx) >= 0);
	idx[n - 1] = UINT32_MAX - 1;
	assert_true(H5Dwrite(dset, H5T_NATIVE_UINT32, H5S_ALL, H5S_ALL,
			     H5P_DEFAULT, idx) >= 0);
	H5Sclose(space);
	H5Dclose(dset);
	H5Fclose(file);
	free(idx);
	free(path);
	char where[64];
	snprintf(where, sizeof where, "index[%lld] is %u", (long long)n - 1,
		 UINT32_MAX - 1);
	const char *parts[] = {"'range.delta.h5'", where, "parameters"};
	refuse("base_gpt.h5", "range.delta.h5", "range.h5", parts, 3);
	assert_false(exists("range.h5"));
}

/* A layout of a billion tensors claimed by the attributes and the extent,
 * with the storage of six: refused before anything is allocated for them
 * (a reader that trusted the extent would ask for ~70 GB and abort). */
static void test_damaged_extent_allocates_nothing(void **state)
{
	(void)state;
	assert_int_equal(sh("cp gpt.delta.h5 extent.delta.h5"), 0);
	char *path = path_of("extent.delta.h5");
	hid_t file = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
	assert_true(file >= 0);
	assert_int_equal(sb_h5_put_u64(file, "n_params", 4000000000u), 0);
	hid_t dset = H5Dopen2(file, "layout/name", H5P_DEFAULT);
	hsize_t dims[1] = {1000000000};
	assert_true(H5Dset_extent(dset, dims) >= 0);
	H5Dclose(dset);
	H5Fclose(file);
	free(path);
	const char *parts[] = {"dataset 'layout/name' has no checksum or "
			       "does not store its 1000000000 values"};
	refuse("base_gpt.h5", "extent.delta.h5", "extent.h5", parts, 1);
}

static void test_existing_out_is_kept(void **state)
{
	(void)state;
	assert_int_equal(sh("'%s' apply --help", bin), 0);
	assert_int_equal(sh("'%s' apply base_gpt.h5 gpt.delta.h5", bin), 2);
	write_file("taken.h5", "keep me");
	const char *parts[] = {"'taken.h5' exists (--overwrite replaces it)"};
	refuse("base_gpt.h5", "gpt.delta.h5", "taken.h5", parts, 1);
	char *text = slurp("taken.h5", NULL);
	assert_string_equal(text, "keep me");
	free(text);
	assert_int_equal(sh("'%s' apply base_gpt.h5 gpt.delta.h5 -o taken.h5 "
			    "--overwrite", bin), 0);
	struct sb_delta d;
	struct sb_error err = {{0}};
	char *path = path_of("gpt.delta.h5");
	assert_int_equal(sb_delta_load(&d, path, &err), 0);
	float *a = load_params(&d, "taken.h5", false);
	float *b = load_params(&d, "gpt.out.h5", false);
	assert_memory_equal(a, b, d.layout.n_params * sizeof *a);
	free(a);
	free(b);
	free(path);
	sb_delta_release(&d);
}

int main(void)
{
	H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_checksum_is_fnv1a_of_the_base_values),
		cmocka_unit_test(test_mlp_with_a_fresh_head_rebuilds_bit_for_bit),
		cmocka_unit_test(test_gpt_rebuilds_bit_for_bit),
		cmocka_unit_test(test_llmc_base_rebuilds_bit_for_bit),
		cmocka_unit_test(test_results_record_the_delta),
		cmocka_unit_test(test_a_sweep_writes_one_delta_per_run),
		cmocka_unit_test(test_another_base_is_refused),
		cmocka_unit_test(test_damaged_delta_is_refused),
		cmocka_unit_test(test_index_out_of_range_is_refused),
		cmocka_unit_test(test_damaged_extent_allocates_nothing),
		cmocka_unit_test(test_existing_out_is_kept),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
