/* results_read.c - the reader of an HDF5 results file (docs/results.md):
 * the runs in the order they were started, with their attributes, and any
 * series as an array of doubles. For show, plot and report. */
#include "results.h"
#include "h5util.h"
#include "util.h"

#include <errno.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FORMAT_NAME "sparsebench-results"
#define FORMAT_VERSION 1

/* ---- one run's attributes ---------------------------------------------- */

static char **string_field(struct sb_run_info *run, const char *name)
{
	if (!strcmp(name, "method"))
		return &run->method;
	if (!strcmp(name, "setting"))
		return &run->setting;
	if (!strcmp(name, "policy"))
		return &run->policy;
	if (!strcmp(name, "optimizer"))
		return &run->optimizer;
	if (!strcmp(name, "status"))
		return &run->status;
	if (!strcmp(name, "task"))
		return &run->task;
	if (!strcmp(name, "config"))
		return &run->config_yaml;
	return NULL;
}

/* Sorts each attribute into the run's string fields or numeric list. */
static herr_t visit_attr(hid_t group, const char *name,
			 const H5A_info_t *info, void *data)
{
	(void)info;
	struct sb_run_info *run = data;
	hid_t attr = H5Aopen(group, name, H5P_DEFAULT);
	if (attr < 0)
		return 0;
	hid_t type = H5Aget_type(attr), space = H5Aget_space(attr);
	H5T_class_t cls = type >= 0 ? H5Tget_class(type) : H5T_NO_CLASS;
	char **field = string_field(run, name);
	if (cls == H5T_STRING && field && !*field) {
		*field = sb_h5_read_str(attr);
	} else if ((cls == H5T_INTEGER || cls == H5T_FLOAT) && space >= 0 &&
		   H5Sget_simple_extent_npoints(space) == 1) {
		double value;
		if (H5Aread(attr, H5T_NATIVE_DOUBLE, &value) >= 0) {
			size_t k = run->n_attrs++;
			run->attr_names = sb_realloc(
				run->attr_names,
				run->n_attrs * sizeof *run->attr_names);
			run->attr_values = sb_realloc(
				run->attr_values,
				run->n_attrs * sizeof *run->attr_values);
			run->attr_names[k] = sb_strdup(name);
			run->attr_values[k] = value;
		}
	}
	if (space >= 0)
		H5Sclose(space);
	if (type >= 0)
		H5Tclose(type);
	H5Aclose(attr);
	return 0;
}

static void run_info_release(struct sb_run_info *run)
{
	free(run->id);
	free(run->method);
	free(run->setting);
	free(run->policy);
	free(run->optimizer);
	free(run->status);
	free(run->task);
	free(run->config_yaml);
	for (size_t i = 0; i < run->n_attrs; i++)
		free(run->attr_names[i]);
	free(run->attr_names);
	free(run->attr_values);
}

struct listing {
	struct sb_results_view *view;
	size_t cap;
};

static herr_t visit_run(hid_t runs, const char *name, const H5L_info_t *info,
			void *data)
{
	(void)info;
	struct listing *ls = data;
	struct sb_results_view *view = ls->view;
	/* Anything but a group under /runs is not a run: skip it. */
	hid_t group = H5Gopen2(runs, name, H5P_DEFAULT);
	if (group < 0)
		return 0;
	if (view->n_runs == ls->cap) {
		ls->cap = ls->cap ? 2 * ls->cap : 16;
		view->runs = sb_realloc(view->runs,
					ls->cap * sizeof *view->runs);
	}
	struct sb_run_info *run = &view->runs[view->n_runs++];
	*run = (struct sb_run_info){.id = sb_strdup(name)};
	hsize_t idx = 0;
	H5Aiterate2(group, H5_INDEX_NAME, H5_ITER_INC, &idx, visit_attr, run);
	H5Gclose(group);
	/* Absent strings read as "", so callers print without checks. */
	char **fields[] = {&run->method, &run->setting, &run->policy,
			   &run->optimizer, &run->status, &run->task,
			   &run->config_yaml};
	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
		if (!*fields[i])
			*fields[i] = sb_strdup("");
	run->seed = sb_run_info_attr(run, "seed");
	return 0;
}

/* ---- the file ---------------------------------------------------------- */

static int list_runs(struct sb_results_view *view, struct sb_error *err)
{
	hid_t runs = H5Gopen2(view->file, "runs", H5P_DEFAULT);
	if (runs < 0 && sb_h5_fail())
		return sb_error(err, "'%s' has no '/runs' group: %s",
				view->path, sb_h5_why());
	struct listing ls = {.view = view};
	hsize_t idx = 0;
	herr_t rc = H5Literate(runs, H5_INDEX_CRT_ORDER, H5_ITER_INC, &idx,
				visit_run, &ls);
	if (rc < 0 && idx == 0 && view->n_runs == 0) {
		/* A /runs group made without creation order: list by name. */
		rc = H5Literate(runs, H5_INDEX_NAME, H5_ITER_INC, &idx,
				 visit_run, &ls);
	}
	if (rc < 0)
		sb_h5_fail();
	H5Gclose(runs);
	if (rc < 0)
		return sb_error(err, "cannot list the runs of '%s': %s",
				view->path, sb_h5_why());
	return 0;
}

static int check_format(struct sb_results_view *view, struct sb_error *err)
{
	const char *path = view->path;
	char *format = sb_h5_attr_str(view->file, "format");
	int ours = format && !strcmp(format, FORMAT_NAME);
	free(format);
	if (!ours)
		return sb_error(err, "'%s' is an HDF5 file but not a "
				"sparsebench results file (no format attribute "
				"'" FORMAT_NAME "')", path);
	int version = 0;
	hid_t attr = H5Aopen(view->file, "format_version", H5P_DEFAULT);
	if (attr >= 0) {
		if (H5Aread(attr, H5T_NATIVE_INT, &version) < 0)
			version = 0;
		H5Aclose(attr);
	}
	if (version < 1 || version > FORMAT_VERSION)
		return sb_error(err, "'%s' has results format version %d; this "
				"sparsebench reads version %d", path, version,
				FORMAT_VERSION);
	view->spec_text = sb_h5_attr_str(view->file, "spec");
	if (!view->spec_text)
		return sb_error(err, "'%s' has no 'spec' attribute", path);
	return 0;
}

int sb_results_load(struct sb_results_view *view, const char *path,
		    struct sb_error *err)
{
	H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
	*view = (struct sb_results_view){.file = -1};
	if (access(path, R_OK))
		return sb_error(err, "cannot read '%s': %s", path,
				strerror(errno));
	htri_t is_hdf5 = H5Fis_hdf5(path);
	if (is_hdf5 <= 0)
		return sb_error(err, "'%s' is not an HDF5 file (expected the "
				"results file written by 'sparsebench run')",
				path);
	view->path = sb_strdup(path);
	/* The writer holds HDF5's lock while a run goes on; reading without it
	 * shows the file as of its last flush (every evaluation). */
	hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
	if (fapl >= 0)
		H5Pset_file_locking(fapl, false, true);
	view->file = H5Fopen(path, H5F_ACC_RDONLY,
			     fapl >= 0 ? fapl : H5P_DEFAULT);
	if (view->file < 0)
		sb_h5_fail();
	if (fapl >= 0)
		H5Pclose(fapl);
	if (view->file < 0) {
		sb_error(err, "'%s' is damaged (truncated or partly written) "
			 "and cannot be read: %s", path, sb_h5_why());
		goto fail;
	}
	if (check_format(view, err) || list_runs(view, err))
		goto fail;
	return 0;
fail:
	sb_results_view_release(view);
	return -1;
}

double sb_run_info_attr(const struct sb_run_info *run, const char *name)
{
	for (size_t i = 0; i < run->n_attrs; i++)
		if (!strcmp(run->attr_names[i], name))
			return run->attr_values[i];
	return NAN;
}

int sb_results_series(const struct sb_results_view *view, size_t run,
		      const char *group, const char *column, double **values,
		      size_t *n, struct sb_error *err)
{
	H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
	*values = NULL;
	*n = 0;
	if (run >= view->n_runs)
		return sb_error(err, "'%s' has no run number %zu", view->path,
				run);
	char *sub = sb_asprintf("runs/%s/%s", view->runs[run].id, group);
	char *where = sb_asprintf("%s/%s", sub, column);
	int rc = 0;
	hid_t ds = -1, space = -1;
	/* Each link of the path must exist before the next is asked for. */
	if (H5Lexists(view->file, sub, H5P_DEFAULT) <= 0 ||
	    H5Lexists(view->file, where, H5P_DEFAULT) <= 0)
		goto out;
	ds = H5Dopen2(view->file, where, H5P_DEFAULT);
	space = ds >= 0 ? H5Dget_space(ds) : -1;
	if (space < 0 && sb_h5_fail()) {
		rc = sb_error(err, "cannot open '%s' in '%s': %s", where,
			      view->path, sb_h5_why());
		goto out;
	}
	hsize_t dims[H5S_MAX_RANK];
	int rank = H5Sget_simple_extent_ndims(space);
	if (rank != 1) {
		rc = sb_error(err, "'%s' in '%s' is not a 1-D series", where,
			      view->path);
		goto out;
	}
	H5Sget_simple_extent_dims(space, dims, NULL);
	double *buf = sb_malloc((size_t)dims[0] * sizeof *buf);
	if (dims[0] && H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL,
			       H5P_DEFAULT, buf) < 0 && sb_h5_fail()) {
		free(buf);
		rc = sb_error(err, "cannot read '%s' in '%s': %s", where,
			      view->path, sb_h5_why());
		goto out;
	}
	*values = buf;
	*n = (size_t)dims[0];
out:
	if (space >= 0)
		H5Sclose(space);
	if (ds >= 0)
		H5Dclose(ds);
	free(where);
	free(sub);
	return rc;
}

void sb_results_view_release(struct sb_results_view *view)
{
	for (size_t i = 0; i < view->n_runs; i++)
		run_info_release(&view->runs[i]);
	free(view->runs);
	free(view->spec_text);
	free(view->path);
	if (view->file >= 0)
		H5Fclose((hid_t)view->file);
	*view = (struct sb_results_view){.file = -1};
}
