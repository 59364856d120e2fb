/* delta.c - sparse deltas written (delta.h; the format: docs/deltas.md):
 * root attributes say what the delta is for; /index and /change hold the
 * moved components, /value_index and /value the ones set outright, /layout
 * the model's tensors. Every dataset is chunked with HDF5's Fletcher32
 * checksum; the file is written whole and replaced atomically (replace.h).
 * The reader and `apply`: delta_read.c. */
#include "io/delta.h"
#include "io/checkpoint.h"
#include "io/h5util.h"
#include "io/replace.h"
#include "util.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hdf5.h>

/* Entries per chunk of a pair dataset: 1 MiB of float32. */
#define CHUNK (1u << 18)

/* ---- checksums ----------------------------------------------------------- */

#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull

/* FNV-1a of the values' bytes, as sb_hash_bytes of the same bytes on a
 * little-endian machine, and on any other machine the same value. */
uint64_t sb_delta_checksum(const struct sb_layout *layout,
			   const float *params, const bool *fresh)
{
	uint64_t h = FNV_OFFSET;
	for (size_t t = 0; t < layout->n_tensors; t++) {
		const struct sb_tensor *ten = &layout->tensors[t];
		if (fresh && fresh[t])
			continue;
		const float *v = params + ten->offset;
		for (size_t j = 0; j < ten->size; j++) {
			uint32_t bits;
			memcpy(&bits, &v[j], sizeof bits);
			for (int b = 0; b < 4; b++) {
				h ^= (bits >> (8 * b)) & 0xff;
				h *= FNV_PRIME;
			}
		}
	}
	return h;
}

void sb_delta_format_checksum(uint64_t sum, char buf[32])
{
	snprintf(buf, 32, SB_DELTA_CHECKSUM "%016" PRIx64, sum);
}

/* Which tensors of the layout a run's model.fresh keeps out of the base. */
static bool *run_fresh(const struct sb_run_cfg *run,
		       const struct sb_layout *layout)
{
	const struct sb_value *pat = sb_values_get(&run->model_cfg, "fresh");
	bool *fresh = sb_calloc(layout->n_tensors, sizeof *fresh);
	for (size_t t = 0; t < layout->n_tensors; t++)
		fresh[t] = sb_matches_any(layout->tensors[t].name,
						  pat->strs, pat->n);
	return fresh;
}

uint64_t sb_delta_run_checksum(const struct sb_run_cfg *run,
			       const struct sb_layout *layout,
			       const float *params)
{
	bool *fresh = run_fresh(run, layout);
	uint64_t sum = sb_delta_checksum(layout, params, fresh);
	free(fresh);
	return sum;
}

/* ---- the pairs of a run ---------------------------------------------------- */

static bool same_bits(float a, float b)
{
	return memcmp(&a, &b, sizeof a) == 0;
}

/* The float32 change from base to value, rounded once, in *c (0 if it
 * overflows); true when base + *c gives value back bit for bit, as it
 * always does when value is within a factor of 2 of base (Sterbenz: the
 * difference is then exact). A component that changed sign, shrank by
 * more than half or grew more than twofold may need its value stored
 * (measured in docs/deltas.md); stepping *c by an ulp does not help, as
 * the floats near the difference are then further apart than those near
 * the value. -0 and +0 differ: the change 0 rebuilds neither from the
 * other. */
static bool exact_change(float base, float value, float *c)
{
	float change = value - base;
	*c = isfinite(change) ? change : 0.0f;
	return isfinite(change) && same_bits(base + change, value);
}

/* The pairs of params against base: every moved component of a base
 * tensor in `index`/`change`, and in `value` those no change rebuilds
 * (exact_change), then every component of a fresh tensor. With fill
 * false, only counts them. */
static void collect(struct sb_delta *d, const float *base,
		    const float *params, bool fill)
{
	size_t nc = 0, nv = 0;
	for (size_t t = 0; t < d->layout.n_tensors; t++) {
		const struct sb_tensor *ten = &d->layout.tensors[t];
		for (size_t i = ten->offset; i < ten->offset + ten->size; i++) {
			bool moved = !d->fresh[t] &&
				     !same_bits(params[i], base[i]);
			float change = 0.0f;
			bool set = d->fresh[t] ||
				   (moved &&
				    !exact_change(base[i], params[i], &change));
			if (moved && fill) {
				d->index[nc] = (sb_index)i;
				d->change[nc] = change;
			}
			if (set && fill) {
				d->value_index[nv] = (sb_index)i;
				d->value[nv] = params[i];
			}
			nc += moved;
			nv += set;
		}
	}
	if (fill)
		return;
	d->n_change = nc;
	d->n_value = nv;
	d->index = sb_calloc(nc ? nc : 1, sizeof *d->index);
	d->change = sb_calloc(nc ? nc : 1, sizeof *d->change);
	d->value_index = sb_calloc(nv ? nv : 1, sizeof *d->value_index);
	d->value = sb_calloc(nv ? nv : 1, sizeof *d->value);
}

/* ---- writing ------------------------------------------------------------- */

/* A dataset of rank 1 ([n]) or 2 ([n, cols]), extendable along its first
 * dimension so that an empty one still has a chunk, each chunk with its
 * Fletcher32 checksum. */
static int write_array(hid_t loc, const char *name, hid_t ftype, hid_t mtype,
		       size_t n, size_t cols, const void *data)
{
	int rank = cols ? 2 : 1;
	hsize_t dims[2] = {n, cols}, max[2] = {H5S_UNLIMITED, cols};
	hsize_t chunk[2] = {n < 1 ? 1 : n > CHUNK ? CHUNK : n, cols};
	hid_t space = H5Screate_simple(rank, dims, max);
	hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
	bool ok = space >= 0 && dcpl >= 0 &&
		  H5Pset_chunk(dcpl, rank, chunk) >= 0 &&
		  H5Pset_fletcher32(dcpl) >= 0 &&
		  H5Pset_obj_track_times(dcpl, false) >= 0;
	hid_t dset = ok ? H5Dcreate2(loc, name, ftype, space, H5P_DEFAULT,
				     dcpl, H5P_DEFAULT)
			: -1;
	int rc = dset >= 0 && (n == 0 || H5Dwrite(dset, mtype, H5S_ALL,
						  H5S_ALL, H5P_DEFAULT,
						  data) >= 0)
			 ? 0 : sb_h5_fail();
	if (dset >= 0)
		H5Dclose(dset);
	if (dcpl >= 0)
		H5Pclose(dcpl);
	if (space >= 0)
		H5Sclose(space);
	return rc;
}

/* Fixed-length UTF-8 strings, as long as the longest name. */
static int write_names(hid_t loc, const struct sb_layout *layout)
{
	size_t width = 1, n = layout->n_tensors;
	for (size_t t = 0; t < n; t++) {
		size_t len = strlen(layout->tensors[t].name) + 1;
		width = len > width ? len : width;
	}
	char *names = sb_calloc(n, width);
	for (size_t t = 0; t < n; t++)
		memcpy(names + t * width, layout->tensors[t].name,
		       strlen(layout->tensors[t].name));
	hid_t type = H5Tcopy(H5T_C_S1);
	int rc = type >= 0 && H5Tset_size(type, width) >= 0 &&
			 H5Tset_strpad(type, H5T_STR_NULLTERM) >= 0 &&
			 H5Tset_cset(type, H5T_CSET_UTF8) >= 0
		 ? write_array(loc, "name", type, type, n, 0, names)
		 : sb_h5_fail();
	if (type >= 0)
		H5Tclose(type);
	free(names);
	return rc;
}

static int write_layout(hid_t file, const struct sb_delta *d)
{
	const struct sb_layout *layout = &d->layout;
	size_t n = layout->n_tensors;
	hid_t group = H5Gcreate2(file, "layout", H5P_DEFAULT, H5P_DEFAULT,
				 H5P_DEFAULT);
	if (group < 0)
		return sb_h5_fail();
	int32_t *ndim = sb_calloc(n, sizeof *ndim);
	int32_t *layer = sb_calloc(n, sizeof *layer);
	uint64_t *shape = sb_calloc(n * 4, sizeof *shape);
	uint64_t *offset = sb_calloc(n, sizeof *offset);
	uint8_t *fresh = sb_calloc(n, sizeof *fresh);
	for (size_t t = 0; t < n; t++) {
		const struct sb_tensor *ten = &layout->tensors[t];
		ndim[t] = ten->ndim;
		layer[t] = ten->layer;
		offset[t] = ten->offset;
		fresh[t] = d->fresh[t];
		for (int k = 0; k < ten->ndim && k < 4; k++)
			shape[4 * t + (size_t)k] = ten->shape[k];
	}
	int rc = write_names(group, layout) ||
		 write_array(group, "ndim", H5T_STD_I32LE, H5T_NATIVE_INT32, n,
			     0, ndim) ||
		 write_array(group, "shape", H5T_STD_U64LE, H5T_NATIVE_UINT64,
			     n, 4, shape) ||
		 write_array(group, "offset", H5T_STD_U64LE, H5T_NATIVE_UINT64,
			     n, 0, offset) ||
		 write_array(group, "layer", H5T_STD_I32LE, H5T_NATIVE_INT32,
			     n, 0, layer) ||
		 write_array(group, "fresh", H5T_STD_U8LE, H5T_NATIVE_UINT8, n,
			     0, fresh)
		 ? -1 : 0;
	free(ndim);
	free(layer);
	free(shape);
	free(offset);
	free(fresh);
	H5Gclose(group);
	return rc;
}

static int write_contents(hid_t file, const struct sb_delta *d)
{
	char sum[32];
	sb_delta_format_checksum(d->base_checksum, sum);
	if (sb_h5_put_str(file, "format", SB_DELTA_FORMAT) ||
	    sb_h5_put_i32(file, "format_version", SB_DELTA_VERSION) ||
	    sb_h5_put_str(file, "harness_version", SB_VERSION) ||
	    sb_h5_put_str(file, "git_commit", sb_git_commit) ||
	    sb_h5_put_str(file, "model", d->model) ||
	    sb_h5_put_str(file, "config", d->config) ||
	    sb_h5_put_str(file, "run", d->run) ||
	    sb_h5_put_str(file, "base", d->base) ||
	    sb_h5_put_str(file, "base_name", d->base_name) ||
	    sb_h5_put_str(file, "base_checksum", sum) ||
	    sb_h5_put_u64(file, "n_params", d->layout.n_params) ||
	    sb_h5_put_u64(file, "n_change", d->n_change) ||
	    sb_h5_put_u64(file, "n_value", d->n_value))
		return -1;
	return write_layout(file, d) ||
	       write_array(file, "index", H5T_STD_U32LE, H5T_NATIVE_UINT32,
			   d->n_change, 0, d->index) ||
	       write_array(file, "change", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT,
			   d->n_change, 0, d->change) ||
	       write_array(file, "value_index", H5T_STD_U32LE,
			   H5T_NATIVE_UINT32, d->n_value, 0, d->value_index) ||
	       write_array(file, "value", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT,
			   d->n_value, 0, d->value)
	       ? -1 : 0;
}

/* The file in memory, then on disk whole (replace.h). */
static int write_delta(const char *path, const struct sb_delta *d,
		       struct sb_error *err)
{
	sb_h5_quiet();
	hid_t file = sb_h5_memory_create(path);
	if (file < 0)
		return sb_error(err, "'%s': cannot create the delta: %s", path,
				sb_h5_why());
	size_t size = 0;
	void *bytes = write_contents(file, d) ? NULL : sb_h5_image(file, &size);
	int rc = bytes ? sb_replace(path, bytes, size, err)
		       : sb_error(err, "'%s': cannot write the delta: %s",
				  path, sb_h5_why());
	free(bytes);
	H5Fclose(file);
	return rc;
}

int sb_delta_save(const char *path, const struct sb_run_cfg *run,
		  const struct sb_layout *layout, const float *params,
		  uint64_t base_checksum, struct sb_delta_stats *stats,
		  struct sb_error *err)
{
	const char *base = sb_values_str(&run->model_cfg, "checkpoint");
	const struct sb_value *pat = sb_values_get(&run->model_cfg, "fresh");
	sb_assert(*base, "a delta has a base checkpoint (checked by the spec)");
	const char *slash = strrchr(base, '/');
	struct sb_delta d = {
		.model = (char *)run->model->name,
		.config = run->config_yaml,
		.run = run->id,
		.base = (char *)base,
		.base_name = (char *)(slash ? slash + 1 : base),
		.base_checksum = base_checksum,
		.layout = *layout,
		.fresh = run_fresh(run, layout),
	};
	/* the base is read again rather than kept through training: a copy
	 * of the parameters would show in the run's peak memory */
	float *start = sb_calloc(layout->n_params, sizeof *start);
	int rc = sb_checkpoint_load(base, layout, start, pat->strs, pat->n, err);
	uint64_t now = rc ? 0 : sb_delta_checksum(layout, start, d.fresh);
	if (!rc && now != base_checksum) {
		char was[32], is[32];
		sb_delta_format_checksum(base_checksum, was);
		sb_delta_format_checksum(now, is);
		rc = sb_error(err, "'%s': the base checkpoint changed during "
			      "the run (checksum %s when the run loaded it, %s "
			      "now): no delta written to '%s'", base, was, is,
			      path);
	}
	if (!rc) {
		collect(&d, start, params, false);
		collect(&d, start, params, true);
		rc = write_delta(path, &d, err);
		*stats = (struct sb_delta_stats){
			.n_change = d.n_change, .n_value = d.n_value,
		};
		for (size_t t = 0; t < layout->n_tensors; t++)
			stats->n_fresh += d.fresh[t] ? layout->tensors[t].size
						     : 0;
	}
	free(start);
	free(d.fresh);
	free(d.index);
	free(d.change);
	free(d.value_index);
	free(d.value);
	return rc;
}
