/* write_seeds.c - valid inputs of every fuzz target (fuzz.h) for the
 * fuzzers to start from: `write_seeds --tiny DIR` writes the few-KiB files
 * committed under tests/fuzz/corpus/, `write_seeds DIR` the larger ones
 * `make fuzz` writes to build/fuzz/seeds/, `write_seeds --plain DIR` HDF5
 * files in the earliest format, to fuzz libhdf5 itself (see create_file).
 * Files come from the project's own writers where it has one (HDF5
 * checkpoints and results), else from the formats' specifications. */
#define _POSIX_C_SOURCE 200809L
#include "fuzz.h"
#include "io/checkpoint.h"
#include "io/delta.h"
#include "io/results.h"
#include "spec/params.h"
#include "util.h"
#include "../../models/lib/llmc.h"

#include <errno.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define SEPARATOR "\n--8<--\n" /* target_idx.c */

static const char *out_dir;

static void die(const char *what, const char *detail)
{
	fprintf(stderr, "write_seeds: %s: %s\n", what, detail);
	exit(1);
}

static char *seed_path(const char *target, const char *name)
{
	char *dir = sb_asprintf("%s/%s", out_dir, target);
	if (mkdir(dir, 0777) && errno != EEXIST)
		die(dir, strerror(errno));
	char *path = sb_asprintf("%s/%s", dir, name);
	free(dir);
	return path;
}

/* ---- bytes ---- */

struct bytes {
	unsigned char *p;
	size_t n;
};

static void put(struct bytes *b, const void *data, size_t n)
{
	b->p = sb_realloc(b->p, b->n + n);
	memcpy(b->p + b->n, data, n);
	b->n += n;
}

static void put_be32(struct bytes *b, uint32_t v)
{
	unsigned char be[4] = {v >> 24, v >> 16, v >> 8, v};
	put(b, be, 4);
}

static void put_le32(struct bytes *b, int32_t v)
{
	put(b, &v, sizeof v); /* llm.c files: little-endian, as llmc.c */
}

static void write_bytes(const char *target, const char *name,
			const struct bytes *b)
{
	char *path = seed_path(target, name);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(b->p, 1, b->n, f) != b->n || fclose(f))
		die(path, strerror(errno));
	free(path);
}

/* gzip framing (zlib's windowBits + 16), as the Debian package ships. */
static struct bytes gzip(const struct bytes *in)
{
	z_stream z = {0};
	if (deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY))
		die("gzip", "deflateInit2 failed");
	struct bytes out = {sb_malloc(deflateBound(&z, in->n) + 32), 0};
	z.next_in = in->p;
	z.avail_in = (uInt)in->n;
	z.next_out = out.p;
	z.avail_out = (uInt)(deflateBound(&z, in->n) + 32);
	if (deflate(&z, Z_FINISH) != Z_STREAM_END)
		die("gzip", "deflate did not finish");
	out.n = z.total_out;
	deflateEnd(&z);
	return out;
}

/* ---- IDX (LeCun et al.): target_idx.c's four files in one ---- */

static void idx_files(struct bytes files[4], size_t n_train, size_t n_test)
{
	size_t counts[2] = {n_train, n_test};
	for (int split = 0; split < 2; split++) {
		struct bytes *images = &files[2 * split];
		struct bytes *labels = &files[2 * split + 1];
		size_t n = counts[split];
		put_be32(images, 0x803);
		put_be32(images, (uint32_t)n);
		put_be32(images, 28);
		put_be32(images, 28);
		put_be32(labels, 0x801);
		put_be32(labels, (uint32_t)n);
		for (size_t i = 0; i < n; i++) {
			unsigned char label = (unsigned char)(i % 10);
			put(labels, &label, 1);
			for (int p = 0; p < 28 * 28; p++) {
				/* a blob whose brightness tells the class */
				int r = p / 28 - 14, c = p % 28 - 14;
				unsigned char v = r * r + c * c < 60
					? (unsigned char)(25 * label + 5) : 0;
				put(images, &v, 1);
			}
		}
	}
}

static void idx_seed(const char *name, size_t n_train, size_t n_test,
		     unsigned char config, bool compressed)
{
	struct bytes files[4] = {{0}}, all = {0};
	idx_files(files, n_train, n_test);
	put(&all, &config, 1);
	for (int f = 0; f < 4; f++) {
		if (f)
			put(&all, SEPARATOR, strlen(SEPARATOR));
		if (compressed) {
			struct bytes z = gzip(&files[f]);
			put(&all, z.p, z.n);
			free(z.p);
		} else {
			put(&all, files[f].p, files[f].n);
		}
		free(files[f].p);
	}
	write_bytes("idx", name, &all);
	free(all.p);
}

/* ---- llm.c (train_gpt2.c, dev/data/data_common.py) ---- */

static void llmc_header(struct bytes *b, int32_t magic, int32_t version,
			const int32_t *fields, int n)
{
	put_le32(b, magic);
	put_le32(b, version);
	for (int i = 0; i < SB_LLMC_HEADER_INTS - 2; i++)
		put_le32(b, i < n ? fields[i] : 0);
}

static void llmc_model_seed(const char *target, const char *name,
			    const struct sb_fuzz_gpt *g)
{
	struct bytes b = {0};
	b.p = sb_fuzz_llmc_bytes(g, &b.n);
	write_bytes(target, name, &b);
	free(b.p);
}

static void llmc_tokens_seed(const char *name, size_t n)
{
	static const char text[] =
		"Q: What is the difference between a duck? A: One of its legs "
		"is both the same. ";
	int32_t fields[] = {(int32_t)n};
	struct bytes b = {0};
	llmc_header(&b, SB_LLMC_TOKENS_MAGIC, SB_LLMC_TOKENS_VERSION, fields,
		    1);
	for (size_t i = 0; i < n; i++) {
		uint16_t token = (unsigned char)text[i % (sizeof text - 1)];
		put(&b, &token, sizeof token);
	}
	write_bytes("llmc_tokens", name, &b);
	free(b.p);
}

/* ---- HDF5 objects written by hand, as other tools write them ---- */

/* Scalar attributes as other writers store them: numbers as doubles,
 * strings of fixed length or, as h5py does, of variable length (those live
 * in a global heap collection of 4 KiB: one is enough). */
static void attr_double(hid_t loc, const char *name, double v)
{
	hid_t space = H5Screate(H5S_SCALAR);
	hid_t a = H5Acreate2(loc, name, H5T_IEEE_F64LE, space, H5P_DEFAULT,
			     H5P_DEFAULT);
	if (a < 0 || H5Awrite(a, H5T_NATIVE_DOUBLE, &v) < 0)
		die("results seed", name);
	H5Aclose(a);
	H5Sclose(space);
}

static void attr_string(hid_t loc, const char *name, const char *v,
			bool variable)
{
	hid_t type = H5Tcopy(H5T_C_S1);
	H5Tset_size(type, variable ? H5T_VARIABLE : strlen(v) + 1);
	H5Tset_cset(type, H5T_CSET_UTF8);
	hid_t space = H5Screate(H5S_SCALAR);
	hid_t a = H5Acreate2(loc, name, type, space, H5P_DEFAULT,
			     H5P_DEFAULT);
	if (a < 0 || H5Awrite(a, type, variable ? (const void *)&v : v) < 0)
		die("results seed", name);
	H5Aclose(a);
	H5Sclose(space);
	H5Tclose(type);
}

/* A 1-D series stored compactly (in its object header: small files), or
 * as the results writer stores it: extendable, in shuffled and deflated
 * chunks, NaN where never written. */
static void series(hid_t group, const char *name, const double *v, size_t n,
		   bool chunked)
{
	hsize_t dims[1] = {n}, unlimited[1] = {H5S_UNLIMITED}, chunk[1] = {64};
	double fill = NAN;
	hid_t space = H5Screate_simple(1, dims, chunked ? unlimited : NULL);
	hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
	if (chunked) {
		H5Pset_chunk(dcpl, 1, chunk);
		H5Pset_fill_value(dcpl, H5T_NATIVE_DOUBLE, &fill);
		H5Pset_shuffle(dcpl);
		H5Pset_deflate(dcpl, 4);
	} else {
		H5Pset_layout(dcpl, H5D_COMPACT);
	}
	H5Pset_obj_track_times(dcpl, false);
	hid_t d = H5Dcreate2(group, name, H5T_IEEE_F64LE, space, H5P_DEFAULT,
			     dcpl, H5P_DEFAULT);
	if (d < 0 || H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL,
			      H5P_DEFAULT, v) < 0)
		die("results seed", name);
	H5Dclose(d);
	H5Pclose(dcpl);
	H5Sclose(space);
}

static hid_t group(hid_t loc, const char *name, bool ordered)
{
	hid_t gcpl = H5Pcreate(H5P_GROUP_CREATE);
	H5Pset_obj_track_times(gcpl, false);
	if (ordered)
		H5Pset_link_creation_order(gcpl, H5P_CRT_ORDER_TRACKED |
							 H5P_CRT_ORDER_INDEXED);
	hid_t g = H5Gcreate2(loc, name, H5P_DEFAULT, gcpl, H5P_DEFAULT);
	H5Pclose(gcpl);
	if (g < 0)
		die("results seed", name);
	return g;
}

static void attr_int(hid_t loc, const char *name, hid_t type, long v)
{
	hid_t space = H5Screate(H5S_SCALAR);
	hid_t a = H5Acreate2(loc, name, type, space, H5P_DEFAULT,
			     H5P_DEFAULT);
	if (a < 0 || H5Awrite(a, H5T_NATIVE_LONG, &v) < 0)
		die("HDF5 seed", name);
	H5Aclose(a);
	H5Sclose(space);
}

/* HDF5 seeds come in two file formats. The 1.8 format (what the project
 * writes now) checksums every piece of metadata, so a mutation there ends
 * at the checksum and the fuzzers explore the readers; these are the seeds
 * of `make fuzz`. The earliest format (results files of format version 1,
 * h5py's files) has no checksums: mutations reach libhdf5's own decoders,
 * which is what `write_seeds --plain` is for (docs/fuzzing.md, "libhdf5").
 * Small group B-tree nodes and no 2 KiB metadata blocks keep either small. */
static hid_t create_file(const char *path, bool plain)
{
	hid_t fcpl = H5Pcreate(H5P_FILE_CREATE);
	hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
	if (plain)
		H5Pset_sym_k(fcpl, 2, 2);
	else
		H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_LATEST);
	H5Pset_meta_block_size(fapl, 0);
	hid_t file = H5Fcreate(path, H5F_ACC_TRUNC, fcpl, fapl);
	H5Pclose(fapl);
	H5Pclose(fcpl);
	if (file < 0)
		die(path, "cannot create");
	return file;
}

/* ---- HDF5 checkpoints and results ---- */

/* A checkpoint by the project's writer (format version 2). */
static void checkpoint_seed(const char *name, const char *config)
{
	struct sb_fuzz_model m;
	struct sb_error err;
	sb_fuzz_mlp_open(&m);
	for (size_t i = 0; i < m.layout.n_params; i++)
		m.params[i] = (float)i / 8.0f - 1.0f;
	char *path = seed_path("checkpoint", name);
	if (sb_checkpoint_save(path, "mlp", config, &m.layout, m.params, &err))
		die(path, err.msg);
	free(path);
	sb_fuzz_model_close(&m);
}

/* checkpoint.c's version 1 layout written by hand (contiguous tensors,
 * no checksums of their own), in either file format. */
static void checkpoint_v1_seed(const char *name, bool plain)
{
	struct sb_fuzz_model m;
	sb_fuzz_mlp_open(&m);
	char *path = seed_path("checkpoint", name);
	hid_t file = create_file(path, plain);
	attr_string(file, "format", "sparsebench-checkpoint", false);
	attr_int(file, "format_version", H5T_STD_I32LE, 1);
	attr_string(file, "model", "mlp", false);
	attr_string(file, "config", "hidden: 5\nlayers: 2\n", true);
	attr_int(file, "n_params", H5T_STD_U64LE, (long)m.layout.n_params);
	for (size_t i = 0; i < m.layout.n_tensors; i++) {
		const struct sb_tensor *t = &m.layout.tensors[i];
		hsize_t dims[4];
		for (int d = 0; d < t->ndim; d++)
			dims[d] = t->shape[d];
		for (size_t j = 0; j < t->size; j++)
			m.params[t->offset + j] = (float)i + (float)j / 64.0f;
		hid_t space = H5Screate_simple(t->ndim, dims, NULL);
		hid_t d = H5Dcreate2(file, t->name, H5T_IEEE_F32LE, space,
				     H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
		if (d < 0 || H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL,
				      H5P_DEFAULT, m.params + t->offset) < 0)
			die(path, t->name);
		attr_int(d, "layer", H5T_STD_I32LE, t->layer);
		H5Dclose(d);
		H5Sclose(space);
	}
	if (H5Fclose(file) < 0)
		die(path, "cannot close");
	free(path);
	sb_fuzz_model_close(&m);
}

/* Two runs of a tiny experiment, written by hand as another tool would:
 * the layout of docs/results.md with compact series, about 11 KiB. */
static void results_tiny_seed(const char *name, bool plain)
{
	char *path = seed_path("results", name);
	hid_t file = create_file(path, plain);
	attr_string(file, "format", "sparsebench-results", false);
	attr_int(file, "format_version", H5T_STD_I32LE, 1);
	attr_string(file, "spec", "name: tiny\n", true);
	hid_t runs = group(file, "runs", true);
	static const char *const methods[2][3] = {
		{"dense+dense_adam", "dense", "dense_adam"},
		{"topk_first+sparse_adam", "topk_first", "sparse_adam"},
	};
	for (int r = 0; r < 2; r++) {
		char id[64];
		snprintf(id, sizeof id, "%s,seed=1", methods[r][0]);
		hid_t run = group(runs, id, false);
		attr_string(run, "method", methods[r][0], false);
		attr_string(run, "setting", "", false);
		attr_string(run, "policy", methods[r][1], false);
		attr_string(run, "optimizer", methods[r][2], false);
		attr_string(run, "status", r ? "running" : "completed", false);
		attr_string(run, "task", "vector_classify", false);
		attr_string(run, "config", "seed: 1\n", false);
		attr_double(run, "seed", 1);
		attr_double(run, "density", r ? 0.01 : 1);
		attr_double(run, "test_accuracy", 0.5 + 0.1 * r);
		attr_double(run, "final_val_accuracy", 0.4 + 0.1 * r);
		attr_double(run, "time_per_step", 0.001);
		hid_t steps = group(run, "steps", false);
		double step[3] = {1, 2, 3}, loss[3] = {2.3, 2.0, NAN};
		double retained[3] = {1, 0.9, 0.8};
		series(steps, "step", step, 3, false);
		series(steps, "loss", loss, 3, false);
		series(steps, "retained", retained, 3, false);
		H5Gclose(steps);
		hid_t evals = group(run, "evals", false);
		double at[2] = {0, 3}, acc[2] = {0.1, 0.4};
		series(evals, "step", at, 2, false);
		series(evals, "val_accuracy", acc, 2, false);
		H5Gclose(evals);
		H5Gclose(run);
	}
	H5Gclose(runs);
	if (H5Fclose(file) < 0)
		die(path, "cannot close");
	free(path);
}

/* One run laid out as format version 1 of the results writer laid it out
 * (every column of docs/results.md, chunked and deflated, strings of
 * variable length, as h5py writes them too), in either file format. */
static void results_v1_seed(const char *name, bool plain)
{
	char *path = seed_path("results", name);
	hid_t file = create_file(path, plain);
	attr_string(file, "format", "sparsebench-results", true);
	attr_int(file, "format_version", H5T_STD_I32LE, 1);
	attr_string(file, "spec", "name: seeds\n", true);
	hid_t runs = group(file, "runs", true);
	hid_t run = group(runs, "topk_batch+sparse_adam,lr=0.01,seed=3", true);
	attr_string(run, "method", "topk_batch+sparse_adam", true);
	attr_string(run, "setting", "lr=0.01", true);
	attr_string(run, "policy", "topk_batch", true);
	attr_string(run, "optimizer", "sparse_adam", true);
	attr_string(run, "status", "completed", true);
	attr_string(run, "task", "lm", true);
	attr_string(run, "config", "train: {steps: 40}\n", true);
	attr_int(run, "seed", H5T_STD_U64LE, 3);
	attr_double(run, "density", 0.01);
	attr_double(run, "test_loss", 2.5);
	attr_double(run, "final_val_loss", 2.4);
	attr_double(run, "time_per_step", 0.002);
	attr_double(run, "optimizer_state_bytes", 4096);
	attr_double(run, "energy_share_all_p1", 0.6);
	double v[40];
	hid_t steps = group(run, "steps", false);
	for (const struct sb_column *c = sb_step_columns; c->name; c++) {
		for (int t = 0; t < 40; t++)
			v[t] = !strcmp(c->name, "step") ? t + 1
			       : (c - sb_step_columns) % 3 ? 1.0 / (t + 1)
							   : NAN;
		series(steps, c->name, v, 40, true);
	}
	H5Gclose(steps);
	hid_t evals = group(run, "evals", false);
	for (const struct sb_column *c = sb_eval_columns; c->name; c++) {
		for (int e = 0; e < 5; e++)
			v[e] = !strcmp(c->name, "step") ? 10 * e : 2.0 - 0.1 * e;
		series(evals, c->name, v, 5, true);
	}
	H5Gclose(evals);
	H5Gclose(run);
	H5Gclose(runs);
	if (H5Fclose(file) < 0)
		die(path, "cannot close");
	free(path);
}

/* The project's writer, as the run loop drives it: one SIFT run, every
 * metric of every step (each series a deflated chunk). */
static void results_seed(const char *name)
{
	char *path = seed_path("results", name);
	struct sb_spec spec = {
		.path = "seeds.yaml", .text = "name: seeds\n", .name = "seeds",
	};
	struct sb_policy pol = {.name = "topk_first"};
	struct sb_optimizer opt = {.name = "sparse_adam"};
	struct sb_run_cfg cfg = {
		.id = "topk_first+sparse_adam,lr=0.01,seed=1",
		.method = "topk_first+sparse_adam", .setting = "lr=0.01",
		.policy = &pol, .optimizer = &opt, .seed = 1,
		.config_yaml = "train: {steps: 8}\n",
	};
	struct sb_results *res;
	struct sb_run_log *log;
	struct sb_error err;
	remove(path);
	if (sb_results_open(&res, path, &spec, false, &err) ||
	    sb_results_run_begin(res, &cfg, &log, &err))
		die(path, err.msg);
	for (int t = 1; t <= 8; t++) {
		struct sb_step_row row = {
			.step = t, .loss = 2.0 / t, .grad_norm = 1.0 / t,
			.lr = 0.01, .n_selected = 10, .retained = 1 - 0.1 / t,
			.oracle_retained = 1 - 0.05 / t, .churn = 0,
			.history_lost = 0, .ever_selected = 10,
			.t_forward = 1e-3, .t_backward = 2e-3, .t_select = 1e-4,
			.t_update = 1e-4, .t_metrics = NAN,
		};
		sb_run_log_step(log, &row);
		if (t % 4 == 0) {
			struct sb_eval_row ev = {
				.step = t, .val_loss = 2.0 / t,
				.val_accuracy = 0.5 + 0.05 * t, .t_eval = 1e-3,
			};
			sb_run_log_eval(log, &ev);
			if (sb_run_log_flush(log, &err))
				die(path, err.msg);
		}
	}
	sb_run_log_attr_str(log, "task", "vector_classify");
	sb_run_log_attr(log, "density", 0.01, "1");
	sb_run_log_attr(log, "test_accuracy", 0.85, "1");
	sb_run_log_attr(log, "final_val_accuracy", 0.9, "1");
	sb_run_log_attr(log, "time_per_step", 3e-3, "s");
	sb_run_log_attr(log, "optimizer_state_bytes", 120, "bytes");
	sb_run_log_attr(log, "trainable", 10, "components");
	sb_run_log_attr(log, "n_params", 1000, "components");
	if (sb_run_log_end(log, SB_STATUS_COMPLETED, &err) ||
	    sb_results_close(res, &err))
		die(path, err.msg);
	free(path);
}

/* ---- sparse deltas ---- */

static void seed_check(int rc, const char *what, const struct sb_error *err)
{
	if (rc)
		die(what, err->msg);
}

/* A delta by the project's writer against one of the delta target's bases
 * (fuzz.h; written into a private folder, then removed): every fifth
 * component moved, every tenth across 0 (so that its value is stored as
 * well), and the tensors matching `fresh` whole. */
static void delta_seed(const char *name, bool gpt, const char *fresh)
{
	char dir[] = "/tmp/sb_seeds_XXXXXX";
	if (!mkdtemp(dir))
		die(dir, strerror(errno));
	char *base = sb_asprintf("%s/%s", dir, gpt ? "base.bin" : "base.h5");
	struct sb_fuzz_model m;
	struct sb_error err = {{0}};
	if (gpt) {
		struct bytes b = {0};
		b.p = sb_fuzz_llmc_bytes(&sb_fuzz_gpts[0], &b.n);
		FILE *f = fopen(base, "wb");
		if (!f || fwrite(b.p, 1, b.n, f) != b.n || fclose(f))
			die(base, strerror(errno));
		free(b.p);
		sb_fuzz_gpt_open(&m, &sb_fuzz_gpts[0]);
	} else {
		sb_fuzz_mlp_base(base);
		sb_fuzz_mlp_open(&m);
	}
	struct sb_run_cfg run = {.id = "seed", .model = m.model,
				 .config_yaml = "seed: 1\n"};
	seed_check(sb_values_defaults(&run.model_cfg, sb_checkpoint_params,
				      &err) ||
		   sb_values_set(&run.model_cfg, "checkpoint", base, &err) ||
		   sb_values_set(&run.model_cfg, "fresh", fresh, &err),
		   name, &err);
	const struct sb_value *pat = sb_values_get(&run.model_cfg, "fresh");
	seed_check(sb_checkpoint_load(base, &m.layout, m.params, pat->strs,
				      pat->n, &err), base, &err);
	uint64_t sum = sb_delta_run_checksum(&run, &m.layout, m.params);
	for (size_t i = 0; i < m.layout.n_params; i += 5)
		m.params[i] = i % 10 ? m.params[i] * 1.25f
				     : -m.params[i] - 0.5f;
	char *path = seed_path("delta", name);
	struct sb_delta_stats st;
	seed_check(sb_delta_save(path, &run, &m.layout, m.params, sum, &st,
				 &err), path, &err);
	free(path);
	sb_values_release(&run.model_cfg);
	sb_fuzz_model_close(&m);
	unlink(base);
	free(base);
	rmdir(dir);
}

int main(int argc, char **argv)
{
	const char *mode = argc == 3 ? argv[1] : "";
	bool tiny = !strcmp(mode, "--tiny"), plain = !strcmp(mode, "--plain");
	if (argc < 2 || argc > 3 || (argc == 3 && !tiny && !plain) ||
	    argv[argc - 1][0] == '-') {
		fprintf(stderr, "usage: write_seeds [--tiny | --plain] DIR\n");
		return 2;
	}
	out_dir = argv[argc - 1];
	if (mkdir(out_dir, 0777) && errno != EEXIST)
		die(out_dir, strerror(errno));
	H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
	if (tiny) {
		idx_seed("tiny_raw", 3, 2, 0, false);
		idx_seed("tiny_gzip", 3, 2, 1, true);
		llmc_model_seed("llmc_model", "tiny.bin", &sb_fuzz_gpts[0]);
		llmc_tokens_seed("tiny.bin", 64);
		checkpoint_seed("tiny.h5", "hidden: 5\nlayers: 2\n");
		checkpoint_v1_seed("v1.h5", false);
		results_tiny_seed("tiny.h5", false);
		delta_seed("mlp.h5", false, "[\"head.*\"]");
		delta_seed("gpt.h5", true, "[]");
	} else if (plain) {
		checkpoint_v1_seed("plain.h5", true);
		results_tiny_seed("plain.h5", true);
		results_v1_seed("v1_plain.h5", true);
	} else {
		idx_seed("raw", 40, 10, 3, false);
		idx_seed("gzip", 400, 100, 0, true);
		llmc_model_seed("llmc_model", "gpt_l2_c8.bin", &sb_fuzz_gpts[1]);
		llmc_model_seed("checkpoint", "llmc_gpt.bin", &sb_fuzz_gpts[0]);
		llmc_tokens_seed("text.bin", 4096);
		char *config = sb_calloc(4001, 1);
		for (size_t i = 0; i < 4000; i += 40)
			snprintf(config + i, 41, "%-39.39s\n",
				 "fresh: [\"head.*\"]  # a long config");
		checkpoint_seed("config.h5", config);
		free(config);
		results_seed("writer.h5");
		results_v1_seed("v1.h5", false);
	}
	return 0;
}
