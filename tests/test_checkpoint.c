/* test_checkpoint.c - HDF5 checkpoints (harness/io/checkpoint.c): the file's
 * attributes and datasets, an exact round trip, fresh tensors, and clear
 * errors for other models, other files, damaged and truncated files. */
#include "support.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <hdf5.h>
#include <math.h>

#include "sb.h"
#include "util.h"
#include "io/checkpoint.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	return sb_test_tmpdir(dir, sizeof dir, "test_checkpoint");
}

static int teardown(void **state)
{
	(void)state;
	return sb_test_rmtree(dir);
}

/* A small model: an embedding, one block's weight, a norm and a head. */
static const struct sb_tensor tensors[] = {
	{.name = "wte.weight", .offset = 0, .size = 20, .ndim = 2,
	 .shape = {5, 4}, .layer = SB_LAYER_NONE},
	{.name = "h.0.attn.c_attn.weight", .offset = 20, .size = 48,
	 .ndim = 2, .shape = {12, 4}, .layer = 0},
	{.name = "h.1.ln_1.bias", .offset = 68, .size = 4, .ndim = 1,
	 .shape = {4}, .layer = 1},
	{.name = "head.bias", .offset = 72, .size = 3, .ndim = 1,
	 .shape = {3}, .layer = SB_LAYER_NONE},
};
static const struct sb_layout layout = {
	.n_params = 75, .n_tensors = 4, .tensors = tensors, .n_layers = 2,
};

static void fill(float *params, size_t n)
{
	for (size_t i = 0; i < n; i++)
		params[i] = 0.25f * (float)i - 3.0f + 1e-3f * (float)(i % 7);
}

static char *save_model(const char *name)
{
	float params[75];
	fill(params, 75);
	char *path = sb_test_path(dir, name);
	struct sb_error err = {{0}};
	assert_int_equal(sb_checkpoint_save(path, "gpt", "model: gpt\n",
					    &layout, params, &err), 0);
	return path;
}

static size_t files_in_dir(void)
{
	DIR *d = opendir(dir);
	size_t n = 0;
	for (struct dirent *e; (e = readdir(d));)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* Fixed-length strings of `size` bytes, NUL included. */
static char *string_attr(hid_t loc, const char *name)
{
	hid_t attr = H5Aopen(loc, name, H5P_DEFAULT);
	assert_true(attr >= 0);
	hid_t ftype = H5Aget_type(attr);
	assert_int_equal(H5Tget_class(ftype), H5T_STRING);
	assert_int_equal(H5Tget_cset(ftype), H5T_CSET_UTF8);
	size_t size = H5Tget_size(ftype);
	char *out = sb_calloc(size + 1, 1);
	assert_true(H5Aread(attr, ftype, out) >= 0);
	H5Tclose(ftype);
	H5Aclose(attr);
	return out;
}

static long long int_attr(hid_t loc, const char *name)
{
	long long v = 0;
	hid_t attr = H5Aopen(loc, name, H5P_DEFAULT);
	assert_true(attr >= 0);
	assert_true(H5Aread(attr, H5T_NATIVE_LLONG, &v) >= 0);
	H5Aclose(attr);
	return v;
}

static void test_file_layout(void **state)
{
	(void)state;
	char *path = save_model("model.h5");
	/* the temporary file was renamed into place: nothing else is left */
	assert_int_equal(files_in_dir(), 1);
	hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
	assert_true(file >= 0);
	char *s = string_attr(file, "format");
	assert_string_equal(s, "sparsebench-checkpoint");
	free(s);
	s = string_attr(file, "model");
	assert_string_equal(s, "gpt");
	free(s);
	s = string_attr(file, "config");
	assert_string_equal(s, "model: gpt\n");
	free(s);
	assert_int_equal(int_attr(file, "format_version"), 2);
	assert_int_equal(int_attr(file, "n_params"), 75);

	float params[75], got[48];
	fill(params, 75);
	hid_t dset = H5Dopen2(file, "h.0.attn.c_attn.weight", H5P_DEFAULT);
	assert_true(dset >= 0);
	hid_t space = H5Dget_space(dset);
	hsize_t dims[4];
	assert_int_equal(H5Sget_simple_extent_ndims(space), 2);
	H5Sget_simple_extent_dims(space, dims, NULL);
	assert_int_equal(dims[0], 12);
	assert_int_equal(dims[1], 4);
	hid_t type = H5Dget_type(dset);
	assert_int_equal(H5Tget_class(type), H5T_FLOAT);
	assert_int_equal(H5Tget_size(type), 4);
	assert_true(H5Dread(dset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL,
			    H5P_DEFAULT, got) >= 0);
	assert_memory_equal(got, params + 20, sizeof got);
	assert_int_equal(int_attr(dset, "layer"), 0);
	H5Tclose(type);
	H5Sclose(space);
	H5Dclose(dset);
	dset = H5Dopen2(file, "head.bias", H5P_DEFAULT);
	assert_int_equal(int_attr(dset, "layer"), SB_LAYER_NONE);
	H5Dclose(dset);
	H5Fclose(file);
	free(path);
}

/* Attributes over 64 KiB need the dense storage of 1.8 object headers. */
static void test_long_config(void **state)
{
	(void)state;
	size_t n = 100000;
	char *config = sb_malloc(n + 1);
	for (size_t i = 0; i < n; i++)
		config[i] = i % 64 == 63 ? '\n' : (char)('a' + i % 26);
	config[n] = '\0';
	float params[75];
	fill(params, 75);
	char *path = sb_test_path(dir, "model.h5");
	struct sb_error err = {{0}};
	assert_int_equal(sb_checkpoint_save(path, "gpt", config, &layout,
					    params, &err), 0);
	hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
	char *s = string_attr(file, "config");
	assert_string_equal(s, config);
	free(s);
	H5Fclose(file);
	free(config);
	free(path);
}

static void test_round_trip_is_exact(void **state)
{
	(void)state;
	char *path = save_model("model.h5");
	float params[75], loaded[75];
	fill(params, 75);
	memset(loaded, 0, sizeof loaded);
	struct sb_error err = {{0}};
	assert_int_equal(sb_checkpoint_load(path, &layout, loaded, NULL, 0,
					    &err), 0);
	/* float32 stored as float32: bit for bit */
	assert_memory_equal(loaded, params, sizeof params);

	/* saving again replaces the file in place */
	for (size_t i = 0; i < 75; i++)
		params[i] = -params[i];
	assert_int_equal(sb_checkpoint_save(path, "gpt", "", &layout, params,
					    &err), 0);
	assert_int_equal(sb_checkpoint_load(path, &layout, loaded, NULL, 0,
					    &err), 0);
	assert_memory_equal(loaded, params, sizeof params);
	assert_int_equal(files_in_dir(), 1);
	free(path);
}

static void test_fresh_tensors_keep_their_values(void **state)
{
	(void)state;
	char *path = save_model("model.h5");
	float params[75], loaded[75];
	fill(params, 75);
	for (size_t i = 0; i < 75; i++)
		loaded[i] = 42.0f;
	char *fresh[] = {"head.*", "h.1.*"};
	struct sb_error err = {{0}};
	assert_int_equal(sb_checkpoint_load(path, &layout, loaded, fresh, 2,
					    &err), 0);
	assert_memory_equal(loaded, params, 68 * sizeof *params);
	for (size_t i = 68; i < 75; i++)
		assert_true(loaded[i] == 42.0f);
	free(path);
}

static void test_other_model(void **state)
{
	(void)state;
	char *path = save_model("model.h5");
	float loaded[80];
	struct sb_error err = {{0}};

	/* a tensor the checkpoint does not hold */
	struct sb_tensor more[5];
	memcpy(more, tensors, sizeof tensors);
	more[4] = (struct sb_tensor){.name = "head2.weight", .offset = 75,
				     .size = 4, .ndim = 1, .shape = {4}};
	struct sb_layout bigger = layout;
	bigger.tensors = more;
	bigger.n_tensors = 5;
	bigger.n_params = 79;
	assert_int_equal(sb_checkpoint_load(path, &bigger, loaded, NULL, 0,
					    &err), -1);
	assert_error(&err, path);
	assert_error(&err, "tensor 'head2.weight' missing (the checkpoint was "
		     "written for another model");
	char *fresh[] = {"head2.*"};
	assert_int_equal(sb_checkpoint_load(path, &bigger, loaded, fresh, 1,
					    &err), 0);

	/* the same name with another shape */
	more[0].shape[0] = 4;
	more[0].shape[1] = 5;
	assert_int_equal(sb_checkpoint_load(path, &bigger, loaded, fresh, 1,
					    &err), -1);
	assert_error(&err, "tensor 'wte.weight' has shape [5, 4] in the "
		     "checkpoint, [4, 5] in the model");
	more[0].ndim = 1;
	more[0].shape[0] = 20;
	assert_int_equal(sb_checkpoint_load(path, &bigger, loaded, fresh, 1,
					    &err), -1);
	assert_error(&err, "[5, 4] in the checkpoint, [20] in the model");
	free(path);
}

static void write_bytes(const char *path, const void *bytes, size_t n)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(bytes, 1, n, f), n);
	fclose(f);
}

static void test_not_a_checkpoint(void **state)
{
	(void)state;
	float loaded[75];
	struct sb_error err = {{0}};
	char *path = sb_test_path(dir, "notes.txt");
	const char text[] = "model: gpt\nlayers: 4\n";
	write_bytes(path, text, sizeof text - 1);
	assert_int_equal(sb_checkpoint_load(path, &layout, loaded, NULL, 0,
					    &err), -1);
	assert_error(&err, path);
	assert_error(&err, "neither an HDF5 checkpoint nor llm.c GPT-2 weights "
		     "(regenerate it by running its spec)");
	free(path);

	path = sb_test_path(dir, "empty.h5");
	write_bytes(path, "", 0);
	assert_int_equal(sb_checkpoint_load(path, &layout, loaded, NULL, 0,
					    &err), -1);
	assert_error(&err, "neither an HDF5 checkpoint");
	free(path);

	path = sb_test_path(dir, "absent.h5");
	assert_int_equal(sb_checkpoint_load(path, &layout, loaded, NULL, 0,
					    &err), -1);
	assert_error(&err, path);
	assert_error(&err, "cannot open the checkpoint: No such file");
	free(path);

	/* an HDF5 file of something else */
	path = sb_test_path(dir, "other.h5");
	hid_t file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
	H5Fclose(file);
	assert_int_equal(sb_checkpoint_load(path, &layout, loaded, NULL, 0,
					    &err), -1);
	assert_error(&err, "an HDF5 file but not a sparsebench checkpoint "
		     "(attribute 'format' is missing");
	free(path);
}

static void test_other_version(void **state)
{
	(void)state;
	char *path = save_model("model.h5");
	hid_t file = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
	hid_t attr = H5Aopen(file, "format_version", H5P_DEFAULT);
	int32_t version = 3;
	assert_true(H5Awrite(attr, H5T_NATIVE_INT32, &version) >= 0);
	H5Aclose(attr);
	H5Fclose(file);
	float loaded[75];
	struct sb_error err = {{0}};
	assert_int_equal(sb_checkpoint_load(path, &layout, loaded, NULL, 0,
					    &err), -1);
	assert_error(&err, "checkpoint format version 3, this build reads "
		     "versions 1 to 2 (regenerate it by running its spec)");
	free(path);
}

/* The file offset and size of a tensor's (single) chunk. */
static void chunk_of(const char *path, const char *name, haddr_t *addr,
		     hsize_t *size)
{
	hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
	hid_t dset = H5Dopen2(file, name, H5P_DEFAULT);
	hsize_t origin[2] = {0, 0};
	unsigned mask;
	assert_true(H5Dget_chunk_info_by_coord(dset, origin, &mask, addr,
					       size) >= 0);
	H5Dclose(dset);
	H5Fclose(file);
}

/* Bytes changed inside a tensor's data fail its Fletcher32 checksum: the
 * load is an error naming the file and the tensor, not garbage weights. */
static void test_corrupt_tensor_is_named(void **state)
{
	(void)state;
	char *path = save_model("model.h5");
	haddr_t addr;
	hsize_t size;
	chunk_of(path, "h.0.attn.c_attn.weight", &addr, &size);
	assert_int_equal(size, 48 * 4 + 4); /* the floats and the checksum */
	FILE *f = fopen(path, "r+b");
	assert_int_equal(fseek(f, (long)addr + 40, SEEK_SET), 0);
	/* a finite value, so that only the checksum can tell */
	float other = 123.0f;
	assert_int_equal(fwrite(&other, sizeof other, 1, f), 1);
	assert_int_equal(fclose(f), 0);
	float loaded[75];
	struct sb_error err = {{0}};
	assert_int_equal(sb_checkpoint_load(path, &layout, loaded, NULL, 0,
					    &err), -1);
	assert_error(&err, path);
	assert_error(&err, "cannot read tensor 'h.0.attn.c_attn.weight'");
	free(path);
}

/* A value that is not finite is refused by name and index, even where no
 * checksum catches it (it was saved so). */
static void test_non_finite_value_is_refused(void **state)
{
	(void)state;
	float params[75];
	fill(params, 75);
	params[70] = NAN; /* h.1.ln_1.bias starts at 68 */
	char *path = sb_test_path(dir, "nan.h5");
	struct sb_error err = {{0}};
	assert_int_equal(sb_checkpoint_save(path, "gpt", "model: gpt\n",
					    &layout, params, &err), 0);
	float loaded[75];
	assert_int_equal(sb_checkpoint_load(path, &layout, loaded, NULL, 0,
					    &err), -1);
	assert_error(&err, "tensor 'h.1.ln_1.bias' holds nan at index 2");
	free(path);
}

/* Cutting a checkpoint anywhere gives an error, never a crash or a load. */
static void test_truncated(void **state)
{
	(void)state;
	char *path = save_model("model.h5");
	FILE *f = fopen(path, "rb");
	fseek(f, 0, SEEK_END);
	long size = ftell(f);
	fclose(f);
	float loaded[75];
	struct sb_error err = {{0}};
	long cuts[] = {size - 1, size - 100, size / 2, 800, 100, 3};
	for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
		assert_int_equal(truncate(path, cuts[i]), 0);
		err.msg[0] = '\0';
		assert_int_equal(sb_checkpoint_load(path, &layout, loaded, NULL,
						    0, &err), -1);
		assert_error(&err, path);
	}
	free(path);
}

static void test_unwritable_destination(void **state)
{
	(void)state;
	float params[75];
	fill(params, 75);
	char *path = sb_test_path(dir, "no/such/dir/model.h5");
	struct sb_error err = {{0}};
	assert_int_equal(sb_checkpoint_save(path, "gpt", "", &layout, params,
					    &err), -1);
	assert_error(&err, path);
	assert_error(&err, "cannot create its temporary file");
	assert_int_equal(files_in_dir(), 0);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_file_layout, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_long_config, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_round_trip_is_exact, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_fresh_tensors_keep_their_values, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_model, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_not_a_checkpoint, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_other_version, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_tensor_is_named,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_non_finite_value_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_unwritable_destination,
						setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
