/* delta_read.c - sparse deltas read, checked and applied (delta.h; the
 * format: docs/deltas.md, written by delta.c). Every dataset's shape,
 * class, checksum and stored size are checked before anything is
 * allocated for it, through the checks of h5guard.h as the other HDF5
 * readers; then every pair against the layout. */
#include "io/delta.h"
#include "io/checkpoint.h"
#include "io/h5guard.h"
#include "io/h5util.h"
#include "util.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hdf5.h>

#define DAMAGED "the delta is damaged; make it again by running its spec"
/* The longest tensor name a delta may hold (bytes, with the NUL). */
#define MAX_NAME 4096

void sb_delta_release(struct sb_delta *d)
{
	free(d->model);
	free(d->config);
	free(d->run);
	free(d->base);
	free(d->base_name);
	for (size_t t = 0; d->tensors && t < d->layout.n_tensors; t++)
		free((char *)d->tensors[t].name);
	free(d->tensors);
	free(d->fresh);
	free(d->index);
	free(d->change);
	free(d->value_index);
	free(d->value);
	memset(d, 0, sizeof *d);
}

/* One dataset of the file, as read_array expects it. */
struct array {
	const char *name;  /* its path in the file: "index", "layout/shape" */
	H5T_class_t cls;   /* H5T_INTEGER, H5T_FLOAT or H5T_STRING */
	hid_t mtype;       /* the memory type (strings: built from the file's) */
	size_t n, cols;    /* the shape the attributes promise: [n] or
	                      [n, cols] */
	size_t width;      /* out: a string's bytes in memory, NUL included */
};

/* Reads a dataset whose shape, class and checksum are as `a` says, into a
 * fresh buffer (NULL for an empty one). Its storage must hold its values
 * before anything is allocated for them: a damaged extent cannot make the
 * reader allocate more than the file holds. */
static int read_array(hid_t file, const char *path, struct array *a,
		      void **out, struct sb_error *err)
{
	*out = NULL;
	if (H5Lexists(file, a->name, H5P_DEFAULT) <= 0)
		return sb_error(err, "'%s': dataset '%s' missing (" DAMAGED ")",
				path, a->name);
	hid_t dset = H5Dopen2(file, a->name, H5P_DEFAULT);
	if (dset < 0)
		return sb_error(err, "'%s': '%s' is not a dataset (" DAMAGED
				")", path, a->name);
	hid_t space = H5Dget_space(dset), ftype = H5Dget_type(dset);
	hid_t mtype = -1;
	int rank = space < 0 ? -1 : H5Sget_simple_extent_ndims(space);
	hsize_t dims[2] = {0, 0};
	int rc = 0;
	if (ftype < 0 || rank != (a->cols ? 2 : 1) ||
	    H5Sget_simple_extent_dims(space, dims, NULL) < 0 ||
	    dims[0] != a->n || (a->cols && dims[1] != a->cols) ||
	    H5Tget_class(ftype) != a->cls) {
		rc = sb_error(err, "'%s': dataset '%s' is not %s of %zu%s "
			      "(" DAMAGED ")", path, a->name,
			      a->cls == H5T_STRING ? "a string array"
			      : a->cls == H5T_FLOAT ? "a float array"
						    : "an integer array",
			      a->n, a->cols ? " x 4" : "");
		goto done;
	}
	size_t fsize = H5Tget_size(ftype);
	if (fsize == 0) {
		rc = sb_error(err, "'%s': dataset '%s' has no element size ("
			      DAMAGED ")", path, a->name);
		goto done;
	}
	if (a->cls == H5T_STRING) {
		if (H5Tis_variable_str(ftype) != 0 || fsize >= MAX_NAME) {
			rc = sb_error(err, "'%s': dataset '%s' does not hold "
				      "fixed-length names (" DAMAGED ")", path,
				      a->name);
			goto done;
		}
		mtype = H5Tcopy(H5T_C_S1);
		a->width = fsize + 1;
		if (mtype < 0 || H5Tset_size(mtype, a->width) < 0 ||
		    H5Tset_strpad(mtype, H5T_STR_NULLTERM) < 0 ||
		    H5Tset_cset(mtype, H5Tget_cset(ftype)) < 0) {
			rc = sb_error(err, "'%s': cannot read dataset '%s'",
				      path, a->name);
			goto done;
		}
	} else if (a->cls == H5T_FLOAT && fsize != 4) {
		rc = sb_error(err, "'%s': dataset '%s' does not hold float32 "
			      "values (" DAMAGED ")", path, a->name);
		goto done;
	}
	size_t count = a->n * (a->cols ? a->cols : 1);
	hsize_t stored = H5Dget_storage_size(dset);
	if (count && (!sb_h5_has_checksum(dset) ||
		      !sb_h5_guard_storage(dset, count) ||
		      stored / fsize < count)) {
		rc = sb_error(err, "'%s': dataset '%s' has no checksum or does "
			      "not store its %zu values (" DAMAGED ")", path,
			      a->name, count);
		goto done;
	}
	if (!count)
		goto done;
	hid_t use = mtype >= 0 ? mtype : a->mtype;
	*out = sb_calloc(count, H5Tget_size(use));
	if (H5Dread(dset, use, H5S_ALL, H5S_ALL, H5P_DEFAULT, *out) < 0) {
		sb_h5_fail();
		rc = sb_error(err, "'%s': cannot read dataset '%s': %s (" DAMAGED
			      ")", path, a->name, sb_h5_why());
	}
done:
	if (mtype >= 0)
		H5Tclose(mtype);
	if (ftype >= 0)
		H5Tclose(ftype);
	if (space >= 0)
		H5Sclose(space);
	H5Dclose(dset);
	return rc;
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The tensors of /layout: names usable as checkpoint datasets and unique,
 * 1 to 4 dimensions, offsets that tile 0..n_params in order. */
static int read_layout(hid_t file, const char *path, struct sb_delta *d,
		       size_t n, struct sb_error *err)
{
	struct array names = {"layout/name", H5T_STRING, -1, n, 0, 0};
	struct array ndim_a = {"layout/ndim", H5T_INTEGER, H5T_NATIVE_INT32,
			       n, 0, 0};
	struct array shape_a = {"layout/shape", H5T_INTEGER, H5T_NATIVE_UINT64,
				n, 4, 0};
	struct array offset_a = {"layout/offset", H5T_INTEGER,
				 H5T_NATIVE_UINT64, n, 0, 0};
	struct array layer_a = {"layout/layer", H5T_INTEGER, H5T_NATIVE_INT32,
				n, 0, 0};
	struct array fresh_a = {"layout/fresh", H5T_INTEGER, H5T_NATIVE_UINT8,
				n, 0, 0};
	void *text = NULL, *ndim = NULL, *shape = NULL, *offset = NULL,
	     *layer = NULL, *fresh = NULL;
	int rc = read_array(file, path, &names, &text, err) ||
		 read_array(file, path, &ndim_a, &ndim, err) ||
		 read_array(file, path, &shape_a, &shape, err) ||
		 read_array(file, path, &offset_a, &offset, err) ||
		 read_array(file, path, &layer_a, &layer, err) ||
		 read_array(file, path, &fresh_a, &fresh, err)
		 ? -1 : 0;
	/* n is now bounded by what the file stores */
	if (!rc) {
		d->tensors = sb_calloc(n, sizeof *d->tensors);
		d->fresh = sb_calloc(n, sizeof *d->fresh);
		d->layout.tensors = d->tensors;
		d->layout.n_tensors = n;
	}
	size_t at = 0;
	for (size_t t = 0; t < n && !rc; t++) {
		struct sb_tensor *ten = &d->tensors[t];
		const char *name = (const char *)text + t * names.width;
		ten->name = sb_strdup(name);
		ten->ndim = ((const int32_t *)ndim)[t];
		ten->layer = ((const int32_t *)layer)[t];
		uint64_t off = ((const uint64_t *)offset)[t];
		ten->offset = at;
		uint8_t f = ((const uint8_t *)fresh)[t];
		d->fresh[t] = f != 0;
		if (!*name || !strcmp(name, ".") || strchr(name, '/'))
			rc = sb_error(err, "'%s': tensor %zu of the layout is "
				      "named '%s', not a tensor name (" DAMAGED
				      ")", path, t, name);
		else if (ten->ndim < 1 || ten->ndim > 4 || f > 1)
			rc = sb_error(err, "'%s': tensor '%s' has %d "
				      "dimensions and fresh flag %u (" DAMAGED
				      ")", path, name, ten->ndim, f);
		ten->size = 1;
		for (int k = 0; !rc && k < ten->ndim; k++) {
			uint64_t dim = ((const uint64_t *)shape)[4 * t + (size_t)k];
			ten->shape[k] = (size_t)dim;
			if (dim == 0 || dim > UINT32_MAX ||
			    !sb_mul_ok(ten->size, (size_t)dim, &ten->size) ||
			    ten->size > d->layout.n_params)
				rc = sb_error(err, "'%s': tensor '%s' has a "
					      "dimension of %" PRIu64 " (" DAMAGED
					      ")", path, name, dim);
		}
		if (!rc && (off != at || ten->size > d->layout.n_params - at))
			rc = sb_error(err, "'%s': tensor '%s' does not follow "
				      "the one before it within the %zu "
				      "parameters (" DAMAGED ")", path, name,
				      d->layout.n_params);
		at += rc ? 0 : ten->size;
	}
	if (!rc && at != d->layout.n_params)
		rc = sb_error(err, "'%s': the tensors hold %zu of the %zu "
			      "parameters (" DAMAGED ")", path, at,
			      d->layout.n_params);
	if (!rc) {
		const char **sorted = sb_calloc(n, sizeof *sorted);
		for (size_t t = 0; t < n; t++)
			sorted[t] = d->tensors[t].name;
		qsort(sorted, n, sizeof *sorted, compare_names);
		for (size_t t = 1; t < n && !rc; t++)
			if (!strcmp(sorted[t - 1], sorted[t]))
				rc = sb_error(err, "'%s': tensor '%s' appears "
					      "twice in the layout (" DAMAGED
					      ")", path, sorted[t]);
		free(sorted);
	}
	free(text);
	free(ndim);
	free(shape);
	free(offset);
	free(layer);
	free(fresh);
	return rc;
}

/* The tensor holding component i at or after tensor *t (i ascending). */
static size_t tensor_of(const struct sb_layout *layout, size_t *t, size_t i)
{
	while (i >= layout->tensors[*t].offset + layout->tensors[*t].size)
		(*t)++;
	return *t;
}

/* Strictly ascending indices below n_params, finite values. */
static int check_pairs(const char *path, const char *what,
		       const sb_index *idx, const float *val, size_t n,
		       size_t n_params, struct sb_error *err)
{
	for (size_t j = 0; j < n; j++) {
		if (idx[j] >= n_params || (j && idx[j] <= idx[j - 1]))
			return sb_error(err, "'%s': %s[%zu] is %" PRIu32 ": not "
					"ascending within the %zu parameters "
					"(" DAMAGED ")", path, what, j, idx[j],
					n_params);
		if (!isfinite(val[j]))
			return sb_error(err, "'%s': entry %zu of the %s pairs "
					"holds %g, not a finite number ("
					DAMAGED ")", path, j, what,
					(double)val[j]);
	}
	return 0;
}

/* Changes only outside fresh tensors; values on every component of a
 * fresh tensor and elsewhere only where a change is. */
static int check_cover(const char *path, const struct sb_delta *d,
		       struct sb_error *err)
{
	const struct sb_layout *layout = &d->layout;
	size_t t = 0, fresh_total = 0, fresh_seen = 0;
	for (size_t j = 0; j < d->n_change; j++)
		if (d->fresh[tensor_of(layout, &t, d->index[j])])
			return sb_error(err, "'%s': index %" PRIu32 " changes "
					"fresh tensor '%s' (" DAMAGED ")", path,
					d->index[j], layout->tensors[t].name);
	t = 0;
	size_t c = 0;
	for (size_t j = 0; j < d->n_value; j++) {
		sb_index i = d->value_index[j];
		if (d->fresh[tensor_of(layout, &t, i)]) {
			fresh_seen++;
			continue;
		}
		while (c < d->n_change && d->index[c] < i)
			c++;
		if (c == d->n_change || d->index[c] != i)
			return sb_error(err, "'%s': value_index %" PRIu32 " "
					"sets a component that did not move "
					"(" DAMAGED ")", path, i);
	}
	for (size_t k = 0; k < layout->n_tensors; k++)
		fresh_total += d->fresh[k] ? layout->tensors[k].size : 0;
	if (fresh_seen != fresh_total)
		return sb_error(err, "'%s': the fresh tensors hold %zu "
				"components, the delta sets %zu of them ("
				DAMAGED ")", path, fresh_total, fresh_seen);
	return 0;
}

static int read_counts(hid_t file, const char *path, struct sb_delta *d,
		       size_t *n_tensors, struct sb_error *err)
{
	long n_params, n_change, n_value;
	if (sb_h5_attr_long(file, "n_params", &n_params) ||
	    sb_h5_attr_long(file, "n_change", &n_change) ||
	    sb_h5_attr_long(file, "n_value", &n_value))
		return sb_error(err, "'%s': attribute n_params, n_change or "
				"n_value missing (" DAMAGED ")", path);
	if (n_params < 1 || (unsigned long)n_params > UINT32_MAX ||
	    n_change < 0 || n_change > n_params || n_value < 0 ||
	    n_value > n_params)
		return sb_error(err, "'%s': %ld parameters, %ld changes and "
				"%ld values do not make a delta (" DAMAGED ")",
				path, n_params, n_change, n_value);
	d->layout.n_params = (size_t)n_params;
	d->n_change = (size_t)n_change;
	d->n_value = (size_t)n_value;
	hid_t names = H5Lexists(file, "layout/name", H5P_DEFAULT) > 0
			      ? H5Dopen2(file, "layout/name", H5P_DEFAULT)
			      : -1;
	hid_t space = names >= 0 ? H5Dget_space(names) : -1;
	hssize_t n = space >= 0 ? H5Sget_simple_extent_npoints(space) : -1;
	if (space >= 0)
		H5Sclose(space);
	if (names >= 0)
		H5Dclose(names);
	if (n < 1 || (size_t)n > d->layout.n_params)
		return sb_error(err, "'%s': no readable layout/name dataset of "
				"1 to %zu tensors (" DAMAGED ")", path,
				d->layout.n_params);
	*n_tensors = (size_t)n;
	return 0;
}

/* The string attributes; the checksum as "fnv1a64:<16 hex digits>". */
static int read_names(hid_t file, const char *path, struct sb_delta *d,
		      struct sb_error *err)
{
	d->model = sb_h5_attr_str(file, "model");
	d->config = sb_h5_attr_str(file, "config");
	d->run = sb_h5_attr_str(file, "run");
	d->base = sb_h5_attr_str(file, "base");
	d->base_name = sb_h5_attr_str(file, "base_name");
	char *sum = sb_h5_attr_str(file, "base_checksum");
	size_t prefix = strlen(SB_DELTA_CHECKSUM);
	bool ok = sum && strlen(sum) == prefix + 16 &&
		  !strncmp(sum, SB_DELTA_CHECKSUM, prefix) &&
		  strspn(sum + prefix, "0123456789abcdef") == 16;
	if (ok)
		d->base_checksum = strtoull(sum + prefix, NULL, 16);
	free(sum);
	if (!d->model || !d->config || !d->run || !d->base || !d->base_name)
		return sb_error(err, "'%s': attribute model, config, run, base "
				"or base_name missing (" DAMAGED ")", path);
	if (!ok)
		return sb_error(err, "'%s': attribute base_checksum is not "
				SB_DELTA_CHECKSUM "<16 hex digits> (" DAMAGED ")",
				path);
	return 0;
}

static int read_delta(hid_t file, const char *path, struct sb_delta *d,
		      struct sb_error *err)
{
	if (!sb_h5_guard_attrs(file) || !sb_h5_guard_links(file))
		return sb_error(err, "'%s': the file's attributes or links do "
				"not decode (" DAMAGED ")", path);
	char *format = sb_h5_attr_str(file, "format");
	long version = 0;
	bool ours = format && !strcmp(format, SB_DELTA_FORMAT);
	free(format);
	if (!ours)
		return sb_error(err, "'%s': an HDF5 file but not a sparsebench "
				"delta (attribute 'format' is not '"
				SB_DELTA_FORMAT "')", path);
	if (sb_h5_attr_long(file, "format_version", &version) ||
	    version != SB_DELTA_VERSION)
		return sb_error(err, "'%s': delta format version %ld, this "
				"build reads version %d (make it again by "
				"running its spec)", path, version,
				SB_DELTA_VERSION);
	hid_t layout = H5Lexists(file, "layout", H5P_DEFAULT) > 0
			       ? H5Gopen2(file, "layout", H5P_DEFAULT) : -1;
	bool links = layout >= 0 && sb_h5_guard_links(layout);
	if (layout >= 0)
		H5Gclose(layout);
	if (!links)
		return sb_error(err, "'%s': group 'layout' missing or does not "
				"decode (" DAMAGED ")", path);
	size_t n_tensors = 0;
	if (read_names(file, path, d, err) ||
	    read_counts(file, path, d, &n_tensors, err) ||
	    read_layout(file, path, d, n_tensors, err))
		return -1;
	struct array arrays[4] = {
		{"index", H5T_INTEGER, H5T_NATIVE_UINT32, d->n_change, 0, 0},
		{"change", H5T_FLOAT, H5T_NATIVE_FLOAT, d->n_change, 0, 0},
		{"value_index", H5T_INTEGER, H5T_NATIVE_UINT32, d->n_value, 0,
		 0},
		{"value", H5T_FLOAT, H5T_NATIVE_FLOAT, d->n_value, 0, 0},
	};
	void **outs[4] = {(void **)&d->index, (void **)&d->change,
			  (void **)&d->value_index, (void **)&d->value};
	for (int k = 0; k < 4; k++)
		if (read_array(file, path, &arrays[k], outs[k], err))
			return -1;
	size_t n = d->layout.n_params;
	return check_pairs(path, "index", d->index, d->change, d->n_change, n,
			   err) ||
	       check_pairs(path, "value_index", d->value_index, d->value,
			   d->n_value, n, err) ||
	       check_cover(path, d, err)
	       ? -1 : 0;
}

int sb_delta_load(struct sb_delta *d, const char *path, struct sb_error *err)
{
	memset(d, 0, sizeof *d);
	sb_h5_quiet();
	if (access(path, R_OK))
		return sb_error(err, "'%s': cannot open the delta: %s", path,
				strerror(errno));
	if (H5Fis_hdf5(path) <= 0)
		return sb_error(err, "'%s': not a sparsebench delta (not an "
				"HDF5 file)", path);
	if (sb_h5_guard_heaps(path, err))
		return -1;
	hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
	if (file < 0)
		return sb_error(err, "'%s': cannot open as HDF5, the file is "
				"truncated or damaged (" DAMAGED ")", path);
	int rc = read_delta(file, path, d, err);
	H5Fclose(file);
	return rc;
}

/* ---- applying -------------------------------------------------------------- */

/* The fresh tensors' names as fnmatch patterns matching themselves alone. */
static char **fresh_patterns(const struct sb_delta *d, size_t *n)
{
	char **pat = sb_calloc(d->layout.n_tensors, sizeof *pat);
	*n = 0;
	for (size_t t = 0; t < d->layout.n_tensors; t++) {
		if (!d->fresh[t])
			continue;
		const char *name = d->tensors[t].name;
		char *p = sb_malloc(2 * strlen(name) + 1), *q = p;
		for (; *name; name++) {
			if (strchr("*?[\\", *name))
				*q++ = '\\';
			*q++ = *name;
		}
		*q = '\0';
		pat[(*n)++] = p;
	}
	return pat;
}

/* A base holds at least 4 bytes per component it gives (checkpoints and
 * llm.c files alike store float32 uncompressed): a delta that promises
 * more parameters than that is not made for this base, and the reader
 * then allocates nothing for them. */
static int check_base_size(const struct sb_delta *d, const char *delta_path,
			   const char *base_path, struct sb_error *err)
{
	struct stat st;
	if (stat(base_path, &st))
		return sb_error(err, "'%s': cannot open the base: %s",
				base_path, strerror(errno));
	size_t from_base = d->layout.n_params;
	for (size_t t = 0; t < d->layout.n_tensors; t++)
		from_base -= d->fresh[t] ? d->tensors[t].size : 0;
	if ((uint64_t)st.st_size / 4 < from_base)
		return sb_error(err, "'%s' holds %lld bytes, too few for the "
				"%zu parameters delta '%s' takes from its base "
				"('%s')", base_path, (long long)st.st_size,
				from_base, delta_path, d->base);
	return 0;
}

int sb_delta_rebuild(const struct sb_delta *d, const char *delta_path,
		     const char *base_path, float **out, struct sb_error *err)
{
	*out = NULL;
	if (check_base_size(d, delta_path, base_path, err))
		return -1;
	float *params = sb_calloc(d->layout.n_params, sizeof *params);
	*out = params;
	size_t n_fresh;
	char **fresh = fresh_patterns(d, &n_fresh);
	int rc = sb_checkpoint_load(base_path, &d->layout, params, fresh,
				    n_fresh, err);
	for (size_t k = 0; k < n_fresh; k++)
		free(fresh[k]);
	free(fresh);
	if (rc)
		return -1;
	uint64_t sum = sb_delta_checksum(&d->layout, params, d->fresh);
	if (sum != d->base_checksum) {
		char is[32], want[32];
		sb_delta_format_checksum(sum, is);
		sb_delta_format_checksum(d->base_checksum, want);
		return sb_error(err, "'%s' is not the base of delta '%s': its "
				"checksum is %s, the delta was made for %s "
				"('%s')", base_path, delta_path, is, want,
				d->base);
	}
	for (size_t j = 0; j < d->n_change; j++)
		params[d->index[j]] += d->change[j];
	for (size_t j = 0; j < d->n_value; j++)
		params[d->value_index[j]] = d->value[j];
	for (size_t j = 0; j < d->n_change; j++)
		if (!isfinite(params[d->index[j]]))
			return sb_error(err, "'%s': component %" PRIu32 " is "
					"%g after its change (" DAMAGED ")",
					delta_path, d->index[j],
					(double)params[d->index[j]]);
	return 0;
}

int sb_delta_apply(const char *base_path, const char *delta_path,
		   const char *out_path, bool overwrite, struct sb_error *err)
{
	if (!overwrite && access(out_path, F_OK) == 0)
		return sb_error(err, "'%s' exists (--overwrite replaces it)",
				out_path);
	struct sb_delta d;
	float *params = NULL;
	int rc = sb_delta_load(&d, delta_path, err) ||
		 sb_delta_rebuild(&d, delta_path, base_path, &params, err)
		 ? -1 : 0;
	if (!rc)
		rc = sb_checkpoint_save(out_path, d.model, d.config, &d.layout,
					params, err);
	free(params);
	sb_delta_release(&d);
	return rc;
}
