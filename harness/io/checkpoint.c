/* checkpoint.c - model parameters in HDF5 (checkpoint.h): root attributes
 * format, format_version, model, config, n_params; one float32 dataset per
 * tensor, named as it, with a `layer` attribute. Version 2 stores each
 * tensor as one chunk with HDF5's Fletcher32 checksum; version 1 (no
 * checksum) still loads. Every loaded value must be finite. llm.c
 * weights: llmc.c; both say which model they were written for. */
#include "io/checkpoint.h"
#include "io/h5guard.h"
#include "io/h5util.h"
#include "util.h"
#include "../../models/lib/llmc.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hdf5.h>

#define FORMAT_NAME "sparsebench-checkpoint"
#define FORMAT_VERSION 2
#define REGENERATE "regenerate it by running its spec"

/* ---- save ------------------------------------------------------------- */

static int write_tensor(hid_t file, const struct sb_tensor *t,
			const float *params)
{
	hsize_t dims[4];
	for (int d = 0; d < t->ndim; d++)
		dims[d] = t->shape[d];
	hid_t space = H5Screate_simple(t->ndim, dims, NULL);
	/* One chunk per tensor, checksummed: a damaged byte fails the read. */
	hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
	bool ok = dcpl >= 0 && H5Pset_chunk(dcpl, t->ndim, dims) >= 0 &&
		  H5Pset_fletcher32(dcpl) >= 0;
	hid_t dset = space < 0 || !ok ? -1
				      : H5Dcreate2(file, t->name,
						   H5T_IEEE_F32LE, space,
						   H5P_DEFAULT, dcpl,
						   H5P_DEFAULT);
	if (dcpl >= 0)
		H5Pclose(dcpl);
	int rc = dset < 0 ||
			 H5Dwrite(dset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL,
				  H5P_DEFAULT, params + t->offset) < 0 ||
			 sb_h5_put_i32(dset, "layer", t->layer)
		 ? -1 : 0;
	if (dset >= 0)
		H5Dclose(dset);
	if (space >= 0)
		H5Sclose(space);
	return rc;
}

static int write_checkpoint(const char *tmp, const char *path,
			    const char *model_name, const char *config_yaml,
			    const struct sb_layout *layout,
			    const float *params, struct sb_error *err)
{
	hid_t file = sb_h5_create(tmp);
	if (file < 0)
		return sb_error(err, "'%s': cannot create its temporary file "
				"'%s' (is the folder missing or read-only?)",
				path, tmp);
	int rc = 0;
	if (sb_h5_put_str(file, "format", FORMAT_NAME) ||
	    sb_h5_put_i32(file, "format_version", FORMAT_VERSION) ||
	    sb_h5_put_str(file, "model", model_name) ||
	    sb_h5_put_str(file, "config", config_yaml) ||
	    sb_h5_put_u64(file, "n_params", layout->n_params))
		rc = sb_error(err, "'%s': cannot write the checkpoint's "
			      "attributes", path);
	for (size_t i = 0; !rc && i < layout->n_tensors; i++) {
		const struct sb_tensor *t = &layout->tensors[i];
		if (write_tensor(file, t, params))
			rc = sb_error(err, "'%s': cannot write tensor '%s'",
				      path, t->name);
	}
	if (H5Fclose(file) < 0 && !rc)
		rc = sb_error(err, "'%s': cannot close the HDF5 file", path);
	return rc;
}

/* Names become HDF5 link names at the root: no '/', not "." or empty. */
static int check_names(const char *path, const struct sb_layout *layout,
		       struct sb_error *err)
{
	for (size_t i = 0; i < layout->n_tensors; i++) {
		const char *name = layout->tensors[i].name;
		if (!*name || !strcmp(name, ".") || strchr(name, '/'))
			return sb_error(err, "'%s': tensor name '%s' cannot be "
					"an HDF5 dataset name", path, name);
		if (layout->tensors[i].ndim < 1 || layout->tensors[i].ndim > 4)
			return sb_error(err, "'%s': tensor '%s' has %d "
					"dimensions", path, name,
					layout->tensors[i].ndim);
	}
	return 0;
}

/* Data reach the disk before the rename makes them visible. */
static int sync_file(const char *tmp)
{
	int fd = open(tmp, O_RDONLY);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	close(fd);
	return rc;
}

int sb_checkpoint_save(const char *path, const char *model_name,
		       const char *config_yaml, const struct sb_layout *layout,
		       const float *params, struct sb_error *err)
{
	if (check_names(path, layout, err))
		return -1;
	/* the temporary file lives beside `path` so the rename stays within
	 * one file system, and is unique per process */
	char *tmp = sb_asprintf("%s.%ld.tmp", path, (long)getpid());
	sb_h5_quiet();
	int rc = write_checkpoint(tmp, path, model_name, config_yaml, layout,
				  params, err);
	if (!rc && sync_file(tmp))
		rc = sb_error(err, "'%s': cannot sync: %s", tmp,
			      strerror(errno));
	if (!rc && rename(tmp, path))
		rc = sb_error(err, "'%s': cannot rename '%s' to it: %s", path,
			      tmp, strerror(errno));
	if (rc)
		unlink(tmp);
	free(tmp);
	return rc;
}

/* ---- load ------------------------------------------------------------- */

static void format_dims(char *buf, size_t cap, int ndim, const hsize_t *dims)
{
	size_t used = (size_t)snprintf(buf, cap, "[");
	for (int d = 0; d < ndim && used < cap; d++)
		used += (size_t)snprintf(buf + used, cap - used, "%s%llu",
					 d ? ", " : "",
					 (unsigned long long)dims[d]);
	if (used < cap)
		snprintf(buf + used, cap - used, "]");
}

/* The index of the first value that is not finite, or n. */
static size_t first_non_finite(const float *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isfinite(v[i]))
			return i;
	return n;
}

static int read_tensor(hid_t file, const char *path, const char *model,
		       long version, const struct sb_tensor *t,
		       float *params, struct sb_error *err)
{
	if (H5Lexists(file, t->name, H5P_DEFAULT) <= 0)
		return sb_error(err, "'%s': tensor '%s' missing (the "
				"checkpoint was written for another model, "
				"'%s'; list the tensor in 'fresh' to keep its "
				"initialisation)",
				path, t->name, model);
	hid_t dset = H5Dopen2(file, t->name, H5P_DEFAULT);
	if (dset < 0)
		return sb_error(err, "'%s': '%s' is not a dataset (the file is "
				"damaged; " REGENERATE ")", path, t->name);
	hid_t space = H5Dget_space(dset);
	hid_t ftype = H5Dget_type(dset);
	int rank = space < 0 ? -1 : H5Sget_simple_extent_ndims(space);
	hsize_t dims[H5S_MAX_RANK];
	int rc = 0;
	if (rank < 0 || ftype < 0 ||
	    H5Sget_simple_extent_dims(space, dims, NULL) < 0) {
		rc = sb_error(err, "'%s': cannot read the shape of tensor '%s' "
			      "(the file is damaged; " REGENERATE ")", path,
			      t->name);
		goto done;
	}
	bool same = rank == t->ndim;
	for (int d = 0; same && d < rank; d++)
		same = dims[d] == t->shape[d];
	if (!same) {
		hsize_t want[4];
		char in_file[128], in_model[128];
		for (int d = 0; d < t->ndim; d++)
			want[d] = t->shape[d];
		format_dims(in_file, sizeof in_file, rank, dims);
		format_dims(in_model, sizeof in_model, t->ndim, want);
		rc = sb_error(err, "'%s': tensor '%s' has shape %s in the "
			      "checkpoint, %s in the model (the checkpoint was "
			      "written for another configuration of '%s')",
			      path, t->name, in_file, in_model, model);
		goto done;
	}
	if (H5Tget_class(ftype) != H5T_FLOAT) {
		rc = sb_error(err, "'%s': tensor '%s' does not hold floating "
			      "point numbers", path, t->name);
		goto done;
	}
	if (version >= 2 && !sb_h5_has_checksum(dset)) {
		rc = sb_error(err, "'%s': tensor '%s' has no checksum (the file "
			      "is damaged; " REGENERATE ")", path, t->name);
		goto done;
	}
	if (!sb_h5_guard_storage(dset, t->size)) {
		rc = sb_error(err, "'%s': tensor '%s' is damaged: its storage "
			      "does not hold its %zu values (" REGENERATE ")",
			      path, t->name, t->size);
		goto done;
	}
	if (H5Dread(dset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT,
		    params + t->offset) < 0) {
		sb_h5_fail();
		rc = sb_error(err, "'%s': cannot read tensor '%s': %s (the "
			      "file is damaged or truncated; " REGENERATE ")",
			      path, t->name, sb_h5_why());
		goto done;
	}
	size_t bad = first_non_finite(params + t->offset, t->size);
	if (bad < t->size)
		rc = sb_error(err, "'%s': tensor '%s' holds %g at index %zu, "
			      "not a finite number (the file is damaged; "
			      REGENERATE ")", path, t->name,
			      (double)params[t->offset + bad], bad);
done:
	if (ftype >= 0)
		H5Tclose(ftype);
	if (space >= 0)
		H5Sclose(space);
	H5Dclose(dset);
	return rc;
}

/* Opens an HDF5 checkpoint and checks its format and version: the file, or
 * -1 with err set. */
static hid_t open_hdf5(const char *path, long *version, struct sb_error *err)
{
	if (H5Fis_hdf5(path) <= 0) {
		sb_error(err, "'%s': neither an HDF5 checkpoint nor llm.c "
			 "GPT-2 weights (" REGENERATE ")", path);
		return -1;
	}
	if (sb_h5_guard_heaps(path, err))
		return -1;
	hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
	if (file < 0) {
		sb_error(err, "'%s': cannot open as HDF5, the file is "
			 "truncated or damaged (" REGENERATE ")", path);
		return -1;
	}
	char *format = sb_h5_attr_str(file, "format");
	int rc = 0;
	if (!format || strcmp(format, FORMAT_NAME))
		rc = sb_error(err, "'%s': an HDF5 file but not a sparsebench "
			      "checkpoint (attribute 'format' is %s%s%s, "
			      "expected '" FORMAT_NAME "')", path,
			      format ? "'" : "", format ? format : "missing",
			      format ? "'" : "");
	else if (sb_h5_attr_long(file, "format_version", version))
		rc = sb_error(err, "'%s': checkpoint without a "
			      "'format_version' attribute (" REGENERATE ")",
			      path);
	else if (*version < 1 || *version > FORMAT_VERSION)
		rc = sb_error(err, "'%s': checkpoint format version %ld, this "
			      "build reads versions 1 to %d (" REGENERATE ")",
			      path, *version, FORMAT_VERSION);
	free(format);
	if (rc) {
		H5Fclose(file);
		return -1;
	}
	return file;
}

static int load_hdf5(const char *path, const struct sb_layout *layout,
		     float *params, char *const *fresh, size_t n_fresh,
		     struct sb_error *err)
{
	long version = 0;
	hid_t file = open_hdf5(path, &version, err);
	if (file < 0)
		return -1;
	char *model = sb_h5_attr_str(file, "model");
	int rc = 0;
	for (size_t i = 0; !rc && i < layout->n_tensors; i++) {
		const struct sb_tensor *t = &layout->tensors[i];
		if (!sb_matches_any(t->name, fresh, n_fresh))
			rc = read_tensor(file, path, model ? model : "?",
					 version, t, params, err);
	}
	free(model);
	H5Fclose(file);
	return rc;
}

/* Whether the file starts with llm.c's weights magic. */
static int is_llmc(const char *path, bool *llmc, struct sb_error *err)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return sb_error(err, "'%s': cannot open the checkpoint: %s",
				path, strerror(errno));
	int32_t magic = 0;
	size_t got = fread(&magic, sizeof magic, 1, f);
	fclose(f);
	*llmc = got == 1 && magic == SB_LLMC_MODEL_MAGIC;
	return 0;
}

int sb_checkpoint_load(const char *path, const struct sb_layout *layout,
		       float *params, char *const *fresh, size_t n_fresh,
		       struct sb_error *err)
{
	bool llmc;
	if (is_llmc(path, &llmc, err))
		return -1;
	if (llmc)
		return sb_llmc_model_load(path, layout, params, fresh, n_fresh,
					  err);
	sb_h5_quiet();
	return load_hdf5(path, layout, params, fresh, n_fresh, err);
}

/* ---- the model a checkpoint holds --------------------------------------- */

/* llm.c's header in the names of the gpt model's parameters: the vocabulary
 * is V, the real one (wte's first V of Vp rows; the padding rows are never
 * a target), the context maxT. */
static int llmc_config(const char *path, struct sb_checkpoint_config *cfg,
		       struct sb_error *err)
{
	struct sb_llmc_config c;
	if (sb_llmc_model_header(path, &c, err))
		return -1;
	cfg->model = sb_strdup("gpt");
	cfg->yaml = sb_asprintf("model: {name: gpt, n_layer: %zu, n_head: %zu, "
				"n_embd: %zu, block_size: %zu, vocab: %zu}\n",
				c.n_layers, c.n_heads, c.channels, c.max_t,
				c.vocab);
	return 0;
}

static int hdf5_config(const char *path, struct sb_checkpoint_config *cfg,
		       struct sb_error *err)
{
	long version = 0;
	hid_t file = open_hdf5(path, &version, err);
	if (file < 0)
		return -1;
	cfg->model = sb_h5_attr_str(file, "model");
	cfg->yaml = sb_h5_attr_str(file, "config");
	H5Fclose(file);
	if (!cfg->model) {
		sb_checkpoint_config_release(cfg);
		return sb_error(err, "'%s': checkpoint without a 'model' "
				"attribute (" REGENERATE ")", path);
	}
	if (!cfg->yaml)
		cfg->yaml = sb_strdup("");
	return 0;
}

int sb_checkpoint_config(const char *path, struct sb_checkpoint_config *cfg,
			 struct sb_error *err)
{
	memset(cfg, 0, sizeof *cfg);
	bool llmc;
	if (is_llmc(path, &llmc, err))
		return -1;
	if (llmc)
		return llmc_config(path, cfg, err);
	sb_h5_quiet();
	return hdf5_config(path, cfg, err);
}

void sb_checkpoint_config_release(struct sb_checkpoint_config *cfg)
{
	free(cfg->model);
	free(cfg->yaml);
	memset(cfg, 0, sizeof *cfg);
}
