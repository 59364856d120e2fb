/* results_read.c - the reader of an HDF5 results file (docs/results.md):
 * the runs in the order they were started, with their attributes, and any
 * series as an array of doubles. For show, plot and report. */
#include "io/results.h"
#include "io/h5guard.h"
#include "io/h5util.h"
#include "util.h"

#include <errno.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A series has a row per step or evaluation: 2^26 steps at a millisecond
 * each would take 18 hours; a longer extent is a damaged file, not one to
 * read into memory (512 MiB of doubles). */
#define MAX_ROWS ((hsize_t)1 << 26)

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
	size_t cap, cap_damaged;
};

/* Why a series of n rows cannot be read as it is: more rows than a run
 * writes, or less storage than rows (libhdf5 would read past it); NULL
 * when it can. */
static char *series_damage(hid_t ds, const char *name, hsize_t n)
{
	if (n > MAX_ROWS)
		return sb_asprintf("'%s' has %llu rows, more than a run writes "
				   "(at most %llu)", name,
				   (unsigned long long)n,
				   (unsigned long long)MAX_ROWS);
	if (!sb_h5_guard_storage(ds, n))
		return sb_asprintf("the storage of '%s' does not hold its "
				   "%llu rows", name, (unsigned long long)n);
	return NULL;
}

/* Reads every dataset of a run's "steps" or "evals" group whole: a chunk
 * that fails its checksum or does not inflate fails here. `data` is where
 * a reason of series_damage goes (else the reason is HDF5's). */
static herr_t read_series(hid_t sub, const char *name,
			  const H5L_info_t *info, void *data)
{
	(void)info;
	char **why = data;
	hid_t ds = H5Dopen2(sub, name, H5P_DEFAULT);
	hid_t space = ds >= 0 ? H5Dget_space(ds) : -1;
	hssize_t n = space >= 0 ? H5Sget_simple_extent_npoints(space) : -1;
	herr_t rc = -1;
	if (n == 0) {
		rc = 0;
	} else if (n > 0 && (*why = series_damage(ds, name, (hsize_t)n))) {
		rc = -1;
	} else if (n > 0) {
		double *buf = sb_malloc((size_t)n * sizeof *buf);
		rc = H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL,
			     H5P_DEFAULT, buf) < 0 ? -1 : 0;
		free(buf);
	}
	if (rc < 0 && !*why)
		sb_h5_fail();
	if (space >= 0)
		H5Sclose(space);
	if (ds >= 0)
		H5Dclose(ds);
	return rc;
}

char *sb_results_check_run(int64_t group)
{
	static const char *const subs[] = {"steps", "evals"};
	for (size_t i = 0; i < 2; i++) {
		htri_t there = H5Lexists(group, subs[i], H5P_DEFAULT);
		if (there == 0)
			continue;
		hid_t sub = there > 0 ? H5Gopen2(group, subs[i], H5P_DEFAULT)
				      : -1;
		hsize_t idx = 0;
		char *why = NULL;
		bool whole = sub >= 0 && sb_h5_guard_links(sub);
		herr_t rc = !whole ? -1
				   : H5Literate(sub, H5_INDEX_NAME,
						H5_ITER_INC, &idx,
						read_series, &why);
		if (!whole)
			sb_h5_fail();
		if (sub >= 0)
			H5Gclose(sub);
		if (rc < 0) {
			char *msg = sb_asprintf("its '%s' cannot be read: %s",
						subs[i],
						why ? why : sb_h5_why());
			free(why);
			return msg;
		}
	}
	return NULL;
}

static void set_aside(struct listing *ls, const char *name, char *why)
{
	struct sb_results_view *view = ls->view;
	if (view->n_damaged == ls->cap_damaged) {
		ls->cap_damaged = ls->cap_damaged ? 2 * ls->cap_damaged : 4;
		view->damaged = sb_realloc(view->damaged, ls->cap_damaged *
					   sizeof *view->damaged);
		view->damage = sb_realloc(view->damage, ls->cap_damaged *
					  sizeof *view->damage);
	}
	struct sb_run_info *run = &view->damaged[view->n_damaged];
	*run = (struct sb_run_info){.id = sb_strdup(name)};
	char **fields[] = {&run->method, &run->setting, &run->policy,
			   &run->optimizer, &run->task, &run->config_yaml};
	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
		*fields[i] = sb_strdup("");
	run->status = sb_strdup("damaged");
	run->seed = NAN;
	view->damage[view->n_damaged++] = why;
}

static herr_t visit_run(hid_t runs, const char *name, const H5L_info_t *info,
			void *data)
{
	(void)info;
	struct listing *ls = data;
	struct sb_results_view *view = ls->view;
	/* Anything but a group under /runs is not a run: skip it. An object
	 * whose header cannot be read at all is a damaged run. */
	H5O_info_t oinfo;
	if (H5Oget_info_by_name(runs, name, &oinfo, H5P_DEFAULT) < 0) {
		sb_h5_fail();
		set_aside(ls, name, sb_asprintf("its group cannot be read: %s",
						sb_h5_why()));
		return 0;
	}
	if (oinfo.type != H5O_TYPE_GROUP)
		return 0;
	hid_t group = H5Gopen2(runs, name, H5P_DEFAULT);
	if (group < 0 || !sb_h5_guard_attrs(group)) {
		sb_h5_fail();
		set_aside(ls, name, sb_asprintf("its %s cannot be read: %s",
						group < 0 ? "group"
							  : "attributes",
						sb_h5_why()));
		if (group >= 0)
			H5Gclose(group);
		return 0;
	}
	char *why = sb_results_check_run(group);
	if (why) {
		H5Gclose(group);
		set_aside(ls, name, why);
		return 0;
	}
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
	if (runs >= 0 && !sb_h5_guard_links(runs)) {
		sb_h5_fail();
		H5Gclose(runs);
		return sb_error(err, "cannot list the runs of '%s': %s",
				view->path, sb_h5_why());
	}
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
	int ours = format && !strcmp(format, SB_RESULTS_FORMAT);
	free(format);
	if (!ours)
		return sb_error(err, "'%s' is an HDF5 file but not a "
				"sparsebench results file (no format attribute "
				"'" SB_RESULTS_FORMAT "')", path);
	/* Versions differ only in how strings are stored, which
	 * sb_h5_read_str reads either way. */
	long version = 0;
	sb_h5_attr_long(view->file, "format_version", &version);
	if (version < 1 || version > SB_RESULTS_VERSION)
		return sb_error(err, "'%s' has results format version %ld; "
				"this sparsebench reads versions 1 to %d",
				path, version, SB_RESULTS_VERSION);
	view->spec_text = sb_h5_attr_str(view->file, "spec");
	if (!view->spec_text)
		return sb_error(err, "'%s' has no 'spec' attribute", path);
	return 0;
}

int sb_results_load(struct sb_results_view *view, const char *path,
		    struct sb_error *err)
{
	sb_h5_quiet();
	*view = (struct sb_results_view){.file = -1};
	if (access(path, R_OK))
		return sb_error(err, "cannot read '%s': %s", path,
				strerror(errno));
	if (sb_h5_guard_heaps(path, err))
		return -1;
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

char *sb_results_root_str(const struct sb_results_view *view,
			  const char *name)
{
	return sb_h5_attr_str((hid_t)view->file, name);
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
	sb_h5_quiet();
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
	char *why = dims[0] ? series_damage(ds, where, dims[0]) : NULL;
	if (why) {
		rc = sb_error(err, "'%s' is damaged: %s", view->path, why);
		free(why);
		goto out;
	}
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

int sb_results_damage(const struct sb_results_view *view,
		      struct sb_error *err)
{
	if (!view->n_damaged)
		return 0;
	if (view->n_damaged == 1)
		return sb_error(err, "'%s' is damaged: run '%s' was skipped, "
				"%s; resume the file with 'sparsebench run "
				"--resume' to run it again", view->path,
				view->damaged[0].id, view->damage[0]);
	return sb_error(err, "'%s' is damaged: %zu runs were skipped, the "
			"first '%s': %s; resume the file with 'sparsebench "
			"run --resume' to run them again", view->path,
			view->n_damaged, view->damaged[0].id, view->damage[0]);
}

void sb_results_view_release(struct sb_results_view *view)
{
	for (size_t i = 0; i < view->n_runs; i++)
		run_info_release(&view->runs[i]);
	free(view->runs);
	for (size_t i = 0; i < view->n_damaged; i++) {
		run_info_release(&view->damaged[i]);
		free(view->damage[i]);
	}
	free(view->damaged);
	free(view->damage);
	free(view->spec_text);
	free(view->path);
	if (view->file >= 0)
		H5Fclose((hid_t)view->file);
	*view = (struct sb_results_view){.file = -1};
}
