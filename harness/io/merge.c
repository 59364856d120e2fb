/* merge.c - shards' results files into one (merge.h). Run groups are
 * copied with H5Ocopy, which copies a dataset's chunks as stored, still
 * compressed and checksummed: the merged series are the shards' bytes. */
#define _POSIX_C_SOURCE 200809L
#include "io/merge.h"
#include "io/h5util.h"
#include "io/lock.h"
#include "io/replace.h"
#include "io/results.h"
#include "util.h"

#include <errno.h>
#include <hdf5.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct shard {
	const char *path;
	hid_t file, runs;
	char *spec, *commit, *grid;
};

static void shard_close(struct shard *sh)
{
	if (sh->runs >= 0)
		H5Gclose(sh->runs);
	if (sh->file >= 0)
		H5Fclose(sh->file);
	free(sh->spec);
	free(sh->commit);
	free(sh->grid);
}

static int shard_open(struct shard *sh, const char *path, struct sb_error *err)
{
	*sh = (struct shard){.path = path, .file = -1, .runs = -1};
	if (H5Fis_hdf5(path) <= 0)
		return sb_error(err, "'%s' is not an HDF5 results file", path);
	/* Read once as every reader reads it, through the checks that keep
	 * libhdf5 away from damage: a shard with a damaged run is resumed,
	 * not merged. */
	struct sb_results_view view = {0};
	int rc = sb_results_load(&view, path, err);
	if (!rc)
		rc = sb_results_damage(&view, err);
	sb_results_view_release(&view);
	if (rc)
		return rc;
	sh->file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
	if (sh->file < 0 && sb_h5_fail())
		return sb_error(err, "cannot open '%s': %s", path, sb_h5_why());
	char *format = sb_h5_attr_str(sh->file, "format");
	bool ours = format && !strcmp(format, SB_RESULTS_FORMAT);
	free(format);
	long version = 0;
	sb_h5_attr_long(sh->file, "format_version", &version);
	if (!ours || version != SB_RESULTS_VERSION)
		return sb_error(err, "'%s' is not a sparsebench results file "
				"of format version %d", path,
				SB_RESULTS_VERSION);
	sh->spec = sb_h5_attr_str(sh->file, "spec");
	sh->commit = sb_h5_attr_str(sh->file, "git_commit");
	sh->grid = sb_h5_attr_str(sh->file, "grid");
	if (!sh->spec || !sh->commit || !sh->grid)
		return sb_error(err, "'%s' records no spec, commit or grid (a "
				"file of an older sparsebench); run its spec "
				"again to merge it", path);
	sh->runs = H5Gopen2(sh->file, "runs", H5P_DEFAULT);
	if (sh->runs < 0 && sb_h5_fail())
		return sb_error(err, "'%s' has no '/runs' group: %s", path,
				sb_h5_why());
	return 0;
}

/* Shards must come from one spec text and one build: runs of different
 * code or grids side by side would compare unlike things. */
static int check_alike(const struct shard *sh, size_t n,
		       const struct sb_merge_opts *opts,
		       struct sb_merge_report *report, struct sb_error *err)
{
	for (size_t i = 1; i < n; i++) {
		const char *what = strcmp(sh[i].spec, sh[0].spec) ? "spec"
				   : strcmp(sh[i].commit, sh[0].commit)
					   ? "git commit"
					   : NULL;
		if (!what)
			continue;
		if (!opts->force)
			return sb_error(err, "'%s' and '%s' were written by "
					"different %ss (%s); pass --force to "
					"merge them anyway", sh[0].path,
					sh[i].path, what,
					*what == 's' ? "spec text differs"
						     : sh[i].commit);
		if (!report->forced)
			report->forced = sb_asprintf(
				"'%s' and '%s' differ in %s", sh[0].path,
				sh[i].path, what);
	}
	return 0;
}

/* `out` must be no shard (the same file under any name) and, unless
 * overwrite, not exist at all. */
static int check_out(const char *out, const struct shard *sh, size_t n,
		     const struct sb_merge_opts *opts, struct sb_error *err)
{
	struct stat o;
	if (stat(out, &o)) {
		if (errno == ENOENT)
			return 0;
		return sb_error(err, "cannot access '%s': %s", out,
				strerror(errno));
	}
	for (size_t i = 0; i < n; i++) {
		struct stat s;
		if (!stat(sh[i].path, &s) && s.st_dev == o.st_dev &&
		    s.st_ino == o.st_ino)
			return sb_error(err, "output '%s' is the shard '%s'; "
					"a shard is never overwritten", out,
					sh[i].path);
	}
	if (!opts->overwrite)
		return sb_error(err, "'%s' exists; pass --overwrite to replace "
				"it", out);
	return 0;
}

/* Copies every attribute of `src` to `dst`, with its own type and shape. */
static herr_t copy_attr(hid_t src, const char *name, const H5A_info_t *info,
			void *data)
{
	(void)info;
	hid_t dst = *(hid_t *)data;
	hid_t attr = H5Aopen(src, name, H5P_DEFAULT);
	hid_t type = attr >= 0 ? H5Aget_type(attr) : -1;
	hid_t space = attr >= 0 ? H5Aget_space(attr) : -1;
	hssize_t n = space >= 0 ? H5Sget_simple_extent_npoints(space) : -1;
	size_t size = type >= 0 ? H5Tget_size(type) : 0;
	herr_t rc = -1;
	if (n >= 0 && size && !H5Tis_variable_str(type)) {
		void *buf = sb_calloc((size_t)n ? (size_t)n : 1, size);
		hid_t copy = -1;
		if (H5Aread(attr, type, buf) >= 0 &&
		    (copy = H5Acreate2(dst, name, type, space, H5P_DEFAULT,
				       H5P_DEFAULT)) >= 0 &&
		    H5Awrite(copy, type, buf) >= 0)
			rc = 0;
		if (copy >= 0)
			H5Aclose(copy);
		free(buf);
	}
	if (rc)
		sb_h5_fail();
	if (space >= 0)
		H5Sclose(space);
	if (type >= 0)
		H5Tclose(type);
	if (attr >= 0)
		H5Aclose(attr);
	return rc;
}

/* 3 finished (completed, diverged), 2 failed, 1 unfinished, 0 absent:
 * the shard holding a run's best copy gives it. */
static int run_rank(const struct shard *sh, const char *id)
{
	if (H5Lexists(sh->runs, id, H5P_DEFAULT) <= 0)
		return 0;
	hid_t group = H5Gopen2(sh->runs, id, H5P_DEFAULT);
	if (group < 0)
		return 0;
	char *status = sb_h5_attr_str(group, "status");
	H5Gclose(group);
	int rank = !status ? 1
		   : !strcmp(status, "completed") || !strcmp(status, "diverged")
			   ? 3
		   : !strcmp(status, "failed") ? 2
					       : 1;
	free(status);
	return rank;
}

static void push(char ***list, size_t *n, const char *id)
{
	*list = sb_realloc(*list, (*n + 1) * sizeof **list);
	(*list)[(*n)++] = sb_strdup(id);
}

/* Copies the best copy of run `id` into `runs`; notes it missing or
 * unfinished. */
static int copy_run(hid_t runs, const char *id, const struct shard *sh,
		    size_t n, struct sb_merge_report *report,
		    struct sb_error *err)
{
	size_t best = 0;
	int best_rank = 0;
	for (size_t i = 0; i < n; i++) {
		int rank = run_rank(&sh[i], id);
		if (rank > best_rank) {
			best = i;
			best_rank = rank;
		}
	}
	if (!best_rank) {
		push(&report->missing, &report->n_missing, id);
		return 0;
	}
	if (best_rank == 1)
		push(&report->unfinished, &report->n_unfinished, id);
	if (H5Ocopy(sh[best].runs, id, runs, id, H5P_DEFAULT, H5P_DEFAULT) < 0
	    && sb_h5_fail())
		return sb_error(err, "cannot copy run '%s' of '%s': %s", id,
				sh[best].path, sb_h5_why());
	report->n_merged++;
	return 0;
}

/* Runs in the first shard's grid order, then any other run a forced
 * merge met, in the order of its shard. */
static int copy_runs(hid_t runs, const struct shard *sh, size_t n,
		     struct sb_merge_report *report, struct sb_error *err)
{
	char *grid = sb_strdup(sh[0].grid);
	int rc = 0;
	char *save = NULL;
	for (char *id = strtok_r(grid, "\n", &save); id && !rc;
	     id = strtok_r(NULL, "\n", &save)) {
		report->n_grid++;
		rc = copy_run(runs, id, sh, n, report, err);
	}
	free(grid);
	for (size_t i = 0; i < n && !rc; i++) {
		hsize_t n_links = 0;
		H5G_info_t info;
		if (H5Gget_info(sh[i].runs, &info) >= 0)
			n_links = info.nlinks;
		for (hsize_t k = 0; k < n_links && !rc; k++) {
			char name[1024];
			if (H5Lget_name_by_idx(sh[i].runs, ".", H5_INDEX_NAME,
					       H5_ITER_INC, k, name,
					       sizeof name, H5P_DEFAULT) < 0)
				continue;
			if (H5Lexists(runs, name, H5P_DEFAULT) > 0)
				continue;
			rc = copy_run(runs, name, sh, n, report, err);
		}
	}
	return rc;
}

/* The merged file in memory, from the shards, as bytes for disk. */
static void *build(const char *out, const struct shard *sh, size_t n,
		   struct sb_merge_report *report, size_t *size,
		   struct sb_error *err)
{
	void *bytes = NULL;
	hid_t file = sb_h5_memory_create(out), runs = -1, gcpl = -1;
	if (file < 0) {
		sb_error(err, "cannot create '%s': %s", out, sb_h5_why());
		return NULL;
	}
	hid_t src = sh[0].file;
	/* Readers list runs in link creation order: grid order here. */
	gcpl = H5Pcreate(H5P_GROUP_CREATE);
	if (H5Aiterate2(src, H5_INDEX_NAME, H5_ITER_INC, NULL, copy_attr,
			&file) < 0) {
		sb_error(err, "cannot copy the attributes of '%s': %s",
			 sh[0].path, sb_h5_why());
		goto out;
	}
	if (gcpl < 0 ||
	    H5Pset_link_creation_order(gcpl, H5P_CRT_ORDER_TRACKED |
						     H5P_CRT_ORDER_INDEXED) < 0 ||
	    (runs = H5Gcreate2(file, "runs", H5P_DEFAULT, gcpl,
			       H5P_DEFAULT)) < 0) {
		sb_h5_fail();
		sb_error(err, "cannot write '%s': %s", out, sb_h5_why());
		goto out;
	}
	if (copy_runs(runs, sh, n, report, err))
		goto out;
	struct sb_strbuf from = {0};
	sb_strbuf_printf(&from, "%s", "");
	for (size_t i = 0; i < n; i++)
		sb_strbuf_printf(&from, "%s\n", sh[i].path);
	int bad = sb_h5_put_str(file, "merged_from", from.s);
	free(from.s);
	if (bad) {
		sb_error(err, "cannot write '%s': %s", out, sb_h5_why());
		goto out;
	}
	H5Gclose(runs);
	runs = -1;
	if (!(bytes = sb_h5_image(file, size)))
		sb_error(err, "cannot write '%s': %s", out, sb_h5_why());
out:
	if (runs >= 0)
		H5Gclose(runs);
	if (gcpl >= 0)
		H5Pclose(gcpl);
	H5Fclose(file);
	return bytes;
}

/* "a, b, c and 4 more" of a list of run ids (fresh string). */
static char *some(char *const *ids, size_t n)
{
	struct sb_strbuf buf = {0};
	sb_strbuf_printf(&buf, "%s", "");
	for (size_t i = 0; i < n && i < 3; i++)
		sb_strbuf_printf(&buf, "%s'%s'", i ? ", " : "", ids[i]);
	if (n > 3)
		sb_strbuf_printf(&buf, " and %zu more", n - 3);
	return buf.s;
}

int sb_merge(const char *out, const char *const *shards, size_t n,
	     const struct sb_merge_opts *opts, struct sb_merge_report *report,
	     struct sb_error *err)
{
	sb_h5_quiet();
	memset(report, 0, sizeof *report);
	if (!n)
		return sb_error(err, "no shard files to merge");
	struct shard *sh = sb_calloc(n, sizeof *sh);
	struct sb_lock *lock = NULL;
	void *bytes = NULL;
	size_t size = 0;
	int rc = 0;
	for (size_t i = 0; i < n; i++)
		sh[i] = (struct shard){.file = -1, .runs = -1};
	for (size_t i = 0; i < n && !rc; i++)
		rc = shard_open(&sh[i], shards[i], err);
	if (!rc)
		report->experiment = sb_h5_attr_str(sh[0].file, "experiment");
	if (!rc)
		rc = check_alike(sh, n, opts, report, err) ||
		     check_out(out, sh, n, opts, err) ||
		     sb_lock_take(&lock, out, err);
	/* Checked again under the lock: another merge may have written it. */
	if (!rc)
		rc = check_out(out, sh, n, opts, err);
	if (!rc && !(bytes = build(out, sh, n, report, &size, err)))
		rc = -1;
	if (!rc && !opts->partial &&
	    (report->n_missing || report->n_unfinished)) {
		char *missing = some(report->missing, report->n_missing);
		char *unfinished =
			some(report->unfinished, report->n_unfinished);
		rc = sb_error(err, "of the grid's %zu runs, %zu are in no shard"
			      "%s%s%s and %zu unfinished%s%s%s; finish them "
			      "with 'run --resume', or pass --partial",
			      report->n_grid, report->n_missing,
			      *missing ? " (" : "", missing,
			      *missing ? ")" : "", report->n_unfinished,
			      *unfinished ? " (" : "", unfinished,
			      *unfinished ? ")" : "");
		free(missing);
		free(unfinished);
	}
	if (!rc)
		rc = sb_replace(out, bytes, size, err);
	free(bytes);
	sb_lock_release(lock);
	for (size_t i = 0; i < n; i++)
		shard_close(&sh[i]);
	free(sh);
	return rc ? -1 : 0;
}

static void free_list(char **ids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
}

void sb_merge_report_release(struct sb_merge_report *report)
{
	free(report->experiment);
	free_list(report->missing, report->n_missing);
	free_list(report->unfinished, report->n_unfinished);
	free(report->forced);
	memset(report, 0, sizeof *report);
}
