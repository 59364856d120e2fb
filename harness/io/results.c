/* results.c - the writer of an experiment's HDF5 results file: root
 * attributes, one group per run, per-step and per-eval series appended from
 * in-memory buffers at every flush. Layout: docs/results.md (HDF5 1.10 API).
 *
 * The file is built in memory (HDF5's core driver) and published whole:
 * written beside the results file, synced, renamed over it (replace.h).
 * So the file on disk is at every moment one complete HDF5 file that
 * HDF5 closed cleanly: a kill, a full disk or a reader at any moment sees
 * the runs of the last publication, never a half-written structure. */
#define _POSIX_C_SOURCE 200809L
#include "io/results.h"
#include "io/h5util.h"
#include "io/lock.h"
#include "io/replace.h"
#include "util.h"

#include <assert.h>
#include <cblas.h>
#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Rows per chunk: a step chunk of doubles is 8 KiB; evaluations are rarer. */
#define STEP_CHUNK 1024
#define EVAL_CHUNK 64
#define DEFLATE_LEVEL 4
/* A flush publishes the file when the last publication is PUBLISH_INTERVAL
 * seconds old and PUBLISH_SHARE times older than it took, so that writing
 * stays under ~10% of the time even for large files; the end of a run
 * always publishes. */
#define PUBLISH_INTERVAL 1.0
#define PUBLISH_SHARE 10.0

#define STEP(col, units, text) \
	{ #col, units, text, offsetof(struct sb_step_row, col) }
#define EVAL(col, units, text) \
	{ #col, units, text, offsetof(struct sb_eval_row, col) }

const struct sb_column sb_step_columns[] = {
	STEP(step, "steps", "training step of the row, 1-based (updates done)"),
	STEP(loss, "nats", "training loss, mean over the batch's targets"),
	STEP(grad_norm, "1", "L2 norm of the full gradient of the loss"),
	STEP(lr, "1", "learning rate of the update, after the schedule"),
	STEP(n_selected, "components", "|S|, components selected this step"),
	STEP(retained, "1",
	     "gradient energy share of S: sum_S g^2 / sum g^2 (NaN if not measured)"),
	STEP(oracle_retained, "1",
	     "energy share of the top-|S| of |g|, the best set of that size"),
	STEP(churn, "1", "|S_t minus S_(t-1)| / |S_t| (NaN if not measured)"),
	STEP(history_lost, "entries",
	     "optimizer state entries lost this step (discarded or reset)"),
	STEP(ever_selected, "components",
	     "distinct components selected at least once so far"),
	STEP(t_forward, "s", "time of the forward pass"),
	STEP(t_backward, "s", "time of the backward pass"),
	STEP(t_select, "s", "time of the policy's selection"),
	STEP(t_update, "s", "time of the optimizer's update"),
	STEP(t_metrics, "s", "time spent computing this row's metrics"),
	{0},
};

const struct sb_column sb_eval_columns[] = {
	EVAL(step, "steps", "training steps done when the evaluation ran"),
	EVAL(val_loss, "nats", "validation loss, mean over targets"),
	EVAL(val_accuracy, "1", "fraction of validation targets predicted right"),
	EVAL(t_eval, "s", "time of the evaluation"),
	{0},
};

#define N_STEP_COLS (sizeof sb_step_columns / sizeof sb_step_columns[0] - 1)
#define N_EVAL_COLS (sizeof sb_eval_columns / sizeof sb_eval_columns[0] - 1)

static const char *const status_names[] = {
	[SB_STATUS_NONE] = "none",
	[SB_STATUS_RUNNING] = "running",
	[SB_STATUS_COMPLETED] = "completed",
	[SB_STATUS_DIVERGED] = "diverged",
	[SB_STATUS_FAILED] = "failed",
};

const char *sb_status_name(enum sb_status st)
{
	assert((size_t)st < sizeof status_names / sizeof status_names[0]);
	return status_names[st];
}

struct sb_results {
	char *path;
	hid_t file, runs;        /* the file in memory */
	struct sb_lock *lock;
	int n_logs;              /* run logs not yet ended */
	double published, cost;  /* when the last publication ended, and
				    how long it took (s, monotonic) */
	double interval;         /* a flush publishes when `published` is
				    this old (s) */
	bool broken;             /* a publication failed: no more writes */
	struct sb_error failure; /* why, repeated to every later call */
};

/* A summary attribute waiting for the next flush. */
struct pending_attr {
	char *name, *text, *units; /* text: a string attribute, else value */
	double value;
};

struct sb_run_log {
	struct sb_results *res;
	char *where; /* "runs/<id>", for messages */
	hid_t group;
	hid_t step_ds[N_STEP_COLS], eval_ds[N_EVAL_COLS];
	hsize_t steps_written, evals_written;
	struct sb_step_row *steps;
	size_t n_steps, cap_steps;
	struct sb_eval_row *evals;
	size_t n_evals, cap_evals;
	struct pending_attr *attrs;
	size_t n_attrs, cap_attrs;
	double *column; /* one column of the buffered rows, gathered */
	size_t cap_column;
};

/* ---- root attributes --------------------------------------------------- */

/* "Intel(R) Xeon(R) ... (2 cores online)" from /proc/cpuinfo. */
static char *cpu_description(void)
{
	char model[256] = "unknown";
	char line[512];
	FILE *f = fopen("/proc/cpuinfo", "r");
	while (f && fgets(line, sizeof line, f)) {
		if (strncmp(line, "model name", 10))
			continue;
		const char *v = strchr(line, ':');
		if (!v)
			continue;
		v += 1 + strspn(v + 1, " \t");
		snprintf(model, sizeof model, "%.*s", (int)strcspn(v, "\n"), v);
		break;
	}
	if (f)
		fclose(f);
	return sb_asprintf("%s (%ld cores online)", model,
			   sysconf(_SC_NPROCESSORS_ONLN));
}

static char *blas_description(void)
{
	const char *config = openblas_get_config();
	const char *core = openblas_get_corename();
	return sb_asprintf("%s; core %s", config ? config : "OpenBLAS",
			   core ? core : "unknown");
}

static void iso8601_now(char *buf, size_t size)
{
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int write_root(hid_t file, const struct sb_spec *spec)
{
	char created[32];
	iso8601_now(created, sizeof created);
	char *cpu = cpu_description(), *blas = blas_description();
	/* The grid's run ids in order, one a line: merge orders the runs of
	 * shards by it and names the runs no shard holds. */
	struct sb_strbuf grid = {0};
	sb_strbuf_printf(&grid, "%s", "");
	for (size_t i = 0; i < spec->n_runs; i++)
		sb_strbuf_printf(&grid, "%s\n", spec->runs[i].id);
	int rc = sb_h5_put_str(file, "format", SB_RESULTS_FORMAT) ||
		 sb_h5_put_i32(file, "format_version", SB_RESULTS_VERSION) ||
		 sb_h5_put_str(file, "harness_version", SB_VERSION) ||
		 sb_h5_put_str(file, "git_commit", sb_git_commit) ||
		 sb_h5_put_str(file, "spec", spec->text) ||
		 sb_h5_put_str(file, "spec_path", spec->path) ||
		 sb_h5_put_str(file, "experiment", spec->name) ||
		 sb_h5_put_str(file, "created", created) ||
		 sb_h5_put_str(file, "cpu", cpu) ||
		 sb_h5_put_str(file, "blas", blas) ||
		 sb_h5_put_str(file, "grid", grid.s);
	free(grid.s);
	free(cpu);
	free(blas);
	return rc ? -1 : 0;
}

/* ---- opening ----------------------------------------------------------- */

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Writes the file in memory to disk (replace.h). After a failure the file
 * on disk is that of the last publication, and every later publication
 * fails with the same message: the caller stops the sweep. */
static int publish(struct sb_results *res, struct sb_error *err)
{
	if (res->broken) {
		if (err)
			*err = res->failure;
		return -1;
	}
	double start = now();
	size_t size;
	void *bytes = sb_h5_image(res->file, &size);
	int rc = bytes ? sb_replace(res->path, bytes, size, &res->failure)
		       : sb_error(&res->failure, "cannot write '%s': %s",
				  res->path, sb_h5_why());
	free(bytes);
	res->published = now();
	res->cost = res->published - start;
	if (rc) {
		res->broken = true;
		if (err)
			*err = res->failure;
	}
	return rc;
}

static bool publish_due(const struct sb_results *res)
{
	double age = now() - res->published;
	return age >= res->interval &&
	       (res->interval == 0 || age >= PUBLISH_SHARE * res->cost);
}

static int create_file(struct sb_results *res, const struct sb_spec *spec,
		       struct sb_error *err)
{
	res->file = sb_h5_memory_create(res->path);
	if (res->file < 0)
		return sb_error(err, "cannot create '%s': %s", res->path,
				sb_h5_why());
	/* Link creation order lets readers list runs in the order started. */
	hid_t gcpl = H5Pcreate(H5P_GROUP_CREATE);
	if (gcpl >= 0 && H5Pset_link_creation_order(
				 gcpl, H5P_CRT_ORDER_TRACKED |
					       H5P_CRT_ORDER_INDEXED) >= 0)
		res->runs = H5Gcreate2(res->file, "runs", H5P_DEFAULT, gcpl,
				       H5P_DEFAULT);
	if (res->runs < 0)
		sb_h5_fail();
	if (gcpl >= 0)
		H5Pclose(gcpl);
	if (res->runs < 0 || write_root(res->file, spec))
		return sb_error(err, "cannot write '%s': %s", res->path,
				sb_h5_why());
	return publish(res, err);
}

static int reopen_file(struct sb_results *res, const struct sb_spec *spec,
		       struct sb_error *err)
{
	const char *path = res->path;
	if (H5Fis_hdf5(path) <= 0)
		return sb_error(err, "'%s' is not an HDF5 file; pass another "
				"output file or remove it", path);
	res->file = sb_h5_memory_open(path);
	if (res->file < 0)
		return sb_error(err, "cannot open '%s' to resume it: %s", path,
				sb_h5_why());
	char *format = sb_h5_attr_str(res->file, "format");
	int ours = format && !strcmp(format, SB_RESULTS_FORMAT);
	free(format);
	if (!ours)
		return sb_error(err, "'%s' is not a sparsebench results file; "
				"pass another output file or remove it", path);
	long version = 0;
	sb_h5_attr_long(res->file, "format_version", &version);
	if (version != SB_RESULTS_VERSION)
		return sb_error(err, "'%s' has results format version %ld, "
				"this sparsebench writes %d; write to another "
				"file", path, version, SB_RESULTS_VERSION);
	char *text = sb_h5_attr_str(res->file, "spec");
	int same = text && !strcmp(text, spec->text);
	free(text);
	if (!same)
		return sb_error(err, "'%s' was written by a different spec; "
				"resume only with the spec that wrote it, or "
				"write to another file", path);
	res->runs = H5Gopen2(res->file, "runs", H5P_DEFAULT);
	if (res->runs < 0 && sb_h5_fail())
		return sb_error(err, "'%s' has no '/runs' group: %s", path,
				sb_h5_why());
	return 0;
}

int sb_results_open(struct sb_results **out, const char *path,
		    const struct sb_spec *spec, bool resume,
		    struct sb_error *err)
{
	sb_h5_quiet();
	*out = NULL;
	struct sb_results *res = sb_calloc(1, sizeof *res);
	res->path = sb_strdup(path);
	res->file = res->runs = -1;
	res->interval = PUBLISH_INTERVAL;
	/* Under the lock, no other writer can be publishing: a temporary
	 * file left beside the results is a killed publication's. */
	int rc = sb_lock_take(&res->lock, path, err);
	if (!rc) {
		char *tmp = sb_replace_tmp_path(path);
		unlink(tmp);
		free(tmp);
		struct stat st;
		bool exists = stat(path, &st) == 0;
		if (!exists && errno != ENOENT)
			rc = sb_error(err, "cannot access '%s': %s", path,
				      strerror(errno));
		else if (exists && !resume)
			rc = sb_error(err, "'%s' exists; pass --resume to "
				      "continue it or remove it", path);
		else
			rc = exists ? reopen_file(res, spec, err)
				    : create_file(res, spec, err);
	}
	if (rc) {
		res->broken = true; /* nothing more to publish */
		sb_results_close(res, NULL);
		return -1;
	}
	*out = res;
	return 0;
}

void sb_results_publish_every(struct sb_results *res, double seconds)
{
	res->interval = seconds;
	res->cost = 0;
}

int sb_results_failed(const struct sb_results *res)
{
	return res->broken;
}

int sb_results_close(struct sb_results *res, struct sb_error *err)
{
	if (!res)
		return 0;
	assert(res->n_logs == 0);
	(void)err; /* every change was published at the end of its run */
	int rc = 0;
	if (res->runs >= 0)
		H5Gclose(res->runs);
	/* A memory file: closing it writes nothing to disk. */
	if (res->file >= 0)
		H5Fclose(res->file);
	sb_lock_release(res->lock);
	free(res->path);
	free(res);
	return rc;
}

enum sb_status sb_results_status(struct sb_results *res, const char *run_id)
{
	sb_h5_quiet();
	if (H5Lexists(res->runs, run_id, H5P_DEFAULT) <= 0)
		return SB_STATUS_NONE;
	hid_t group = H5Gopen2(res->runs, run_id, H5P_DEFAULT);
	if (group < 0)
		return SB_STATUS_NONE;
	char *text = sb_h5_attr_str(group, "status");
	enum sb_status st = SB_STATUS_NONE;
	for (size_t i = SB_STATUS_RUNNING; text && i <= SB_STATUS_FAILED; i++)
		if (!strcmp(text, status_names[i]))
			st = (enum sb_status)i;
	free(text);
	/* A finished run whose series no longer read is run again. */
	char *damage = st == SB_STATUS_COMPLETED || st == SB_STATUS_DIVERGED
			       ? sb_results_check_run(group) : NULL;
	if (damage)
		st = SB_STATUS_RUNNING;
	free(damage);
	H5Gclose(group);
	return st;
}

/* ---- a run ------------------------------------------------------------- */

static hid_t create_series(hid_t parent, const struct sb_column *col,
			   hsize_t chunk)
{
	hsize_t dims = 0, maxdims = H5S_UNLIMITED;
	double fill = NAN;
	hid_t ds = -1;
	hid_t space = H5Screate_simple(1, &dims, &maxdims);
	hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
	if (space < 0 || dcpl < 0 || H5Pset_chunk(dcpl, 1, &chunk) < 0 ||
	    H5Pset_fill_value(dcpl, H5T_NATIVE_DOUBLE, &fill) < 0) {
		sb_h5_fail();
		goto out;
	}
	/* Shuffle + deflate shrink the many all-NaN columns to almost nothing;
	 * a library built without zlib writes plain chunks instead. */
	if (H5Zfilter_avail(H5Z_FILTER_DEFLATE) > 0 &&
	    (H5Pset_shuffle(dcpl) < 0 ||
	     H5Pset_deflate(dcpl, DEFLATE_LEVEL) < 0)) {
		sb_h5_fail();
		goto out;
	}
	/* Fletcher32 after compression: a damaged chunk fails to read, and
	 * readers set its run aside, rather than yield wrong numbers. */
	if (H5Pset_fletcher32(dcpl) < 0) {
		sb_h5_fail();
		goto out;
	}
	ds = H5Dcreate2(parent, col->name, H5T_IEEE_F64LE, space, H5P_DEFAULT,
			dcpl, H5P_DEFAULT);
	if (ds < 0) {
		sb_h5_fail();
	} else if (sb_h5_put_str(ds, "units", col->units) ||
		   sb_h5_put_str(ds, "description", col->description)) {
		H5Dclose(ds);
		ds = -1;
	}
out:
	if (dcpl >= 0)
		H5Pclose(dcpl);
	if (space >= 0)
		H5Sclose(space);
	return ds;
}

static int create_all_series(hid_t group, const char *name,
			     const struct sb_column *cols, hid_t *ds,
			     hsize_t chunk)
{
	hid_t sub = H5Gcreate2(group, name, H5P_DEFAULT, H5P_DEFAULT,
			       H5P_DEFAULT);
	if (sub < 0)
		return sb_h5_fail();
	int rc = 0;
	for (size_t i = 0; cols[i].name; i++)
		if ((ds[i] = create_series(sub, &cols[i], chunk)) < 0)
			rc = -1;
	H5Gclose(sub);
	return rc;
}

static int write_run_attrs(hid_t group, const struct sb_run_cfg *run)
{
	return sb_h5_put_str(group, "config", run->config_yaml) ||
	       sb_h5_put_u64(group, "seed", run->seed) ||
	       sb_h5_put_str(group, "status",
			     status_names[SB_STATUS_RUNNING]) ||
	       sb_h5_put_str(group, "method", run->method) ||
	       sb_h5_put_str(group, "setting", run->setting) ||
	       sb_h5_put_str(group, "policy",
			     run->policy ? run->policy->name : "") ||
	       sb_h5_put_str(group, "optimizer",
			     run->optimizer ? run->optimizer->name : "") ||
	       sb_h5_put_str(group, "dataset",
			     run->dataset ? run->dataset->name : "") ||
	       sb_h5_put_str(group, "model",
			     run->model ? run->model->name : "");
}

static void log_free(struct sb_run_log *log)
{
	for (size_t i = 0; i < N_STEP_COLS; i++)
		if (log->step_ds[i] >= 0)
			H5Dclose(log->step_ds[i]);
	for (size_t i = 0; i < N_EVAL_COLS; i++)
		if (log->eval_ds[i] >= 0)
			H5Dclose(log->eval_ds[i]);
	if (log->group >= 0)
		H5Gclose(log->group);
	for (size_t i = 0; i < log->n_attrs; i++) {
		free(log->attrs[i].name);
		free(log->attrs[i].text);
		free(log->attrs[i].units);
	}
	free(log->attrs);
	free(log->steps);
	free(log->evals);
	free(log->column);
	free(log->where);
	log->res->n_logs--;
	free(log);
}

int sb_results_run_begin(struct sb_results *res, const struct sb_run_cfg *run,
			 struct sb_run_log **out, struct sb_error *err)
{
	sb_h5_quiet();
	*out = NULL;
	const char *id = run->id;
	if (!*id || strchr(id, '/') || !strcmp(id, ".") || !strcmp(id, ".."))
		return sb_error(err, "run id '%s' cannot name an HDF5 group", id);
	enum sb_status st = sb_results_status(res, id);
	/* A finished run is kept: the caller skips it rather than restart. */
	assert(st != SB_STATUS_COMPLETED && st != SB_STATUS_DIVERGED);
	(void)st;

	struct sb_run_log *log = sb_calloc(1, sizeof *log);
	log->res = res;
	res->n_logs++;
	log->where = sb_asprintf("runs/%s", id);
	log->group = -1;
	for (size_t i = 0; i < N_STEP_COLS; i++)
		log->step_ds[i] = -1;
	for (size_t i = 0; i < N_EVAL_COLS; i++)
		log->eval_ds[i] = -1;

	if (H5Lexists(res->runs, id, H5P_DEFAULT) > 0 &&
	    H5Ldelete(res->runs, id, H5P_DEFAULT) < 0 && sb_h5_fail()) {
		sb_error(err, "cannot replace '%s' in '%s': %s", log->where,
			 res->path, sb_h5_why());
		goto fail;
	}
	log->group = H5Gcreate2(res->runs, id, H5P_DEFAULT, H5P_DEFAULT,
				H5P_DEFAULT);
	if ((log->group < 0 && sb_h5_fail()) || write_run_attrs(log->group, run) ||
	    create_all_series(log->group, "steps", sb_step_columns,
			      log->step_ds, STEP_CHUNK) ||
	    create_all_series(log->group, "evals", sb_eval_columns,
			      log->eval_ds, EVAL_CHUNK)) {
		sb_error(err, "cannot create '%s' in '%s': %s", log->where,
			 res->path, sb_h5_why());
		goto fail;
	}
	*out = log;
	return 0;
fail:
	log_free(log);
	return -1;
}

/* Grows a buffer of `size`-byte items to hold at least n + 1. */
static void *grow(void *buf, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return buf;
	*cap = *cap ? 2 * *cap : 256;
	size_t bytes;
	sb_assert(sb_mul_ok(*cap, size, &bytes), "row buffer fits in size_t");
	return sb_realloc(buf, bytes);
}

void sb_run_log_step(struct sb_run_log *log, const struct sb_step_row *row)
{
	log->steps = grow(log->steps, &log->cap_steps, log->n_steps,
			  sizeof *row);
	log->steps[log->n_steps++] = *row;
}

void sb_run_log_eval(struct sb_run_log *log, const struct sb_eval_row *row)
{
	log->evals = grow(log->evals, &log->cap_evals, log->n_evals,
			  sizeof *row);
	log->evals[log->n_evals++] = *row;
}

static struct pending_attr *add_attr(struct sb_run_log *log,
				     const char *name)
{
	log->attrs = grow(log->attrs, &log->cap_attrs, log->n_attrs,
			  sizeof *log->attrs);
	struct pending_attr *a = &log->attrs[log->n_attrs++];
	*a = (struct pending_attr){.name = sb_strdup(name)};
	return a;
}

void sb_run_log_attr(struct sb_run_log *log, const char *name, double value,
		     const char *units)
{
	struct pending_attr *a = add_attr(log, name);
	a->value = value;
	a->units = units ? sb_strdup(units) : NULL;
}

void sb_run_log_attr_str(struct sb_run_log *log, const char *name,
			 const char *value)
{
	add_attr(log, name)->text = sb_strdup(value ? value : "");
}

/* Appends n values to a 1-D series of `written` values. */
static int append(hid_t ds, hsize_t written, hsize_t n, const double *values)
{
	int rc = -1;
	hsize_t size = written + n;
	if (H5Dset_extent(ds, &size) < 0)
		return sb_h5_fail();
	hid_t file_space = H5Dget_space(ds);
	hid_t mem_space = H5Screate_simple(1, &n, NULL);
	if (file_space >= 0 && mem_space >= 0 &&
	    H5Sselect_hyperslab(file_space, H5S_SELECT_SET, &written, NULL,
				&n, NULL) >= 0 &&
	    H5Dwrite(ds, H5T_NATIVE_DOUBLE, mem_space, file_space,
		     H5P_DEFAULT, values) >= 0)
		rc = 0;
	else
		sb_h5_fail();
	if (mem_space >= 0)
		H5Sclose(mem_space);
	if (file_space >= 0)
		H5Sclose(file_space);
	return rc;
}

/* Writes buffered rows of one kind column by column; returns the index of
 * the column that failed, or -1. */
static long append_rows(struct sb_run_log *log, const void *rows,
			size_t n_rows, size_t row_size,
			const struct sb_column *cols, const hid_t *ds,
			hsize_t written)
{
	if (n_rows > log->cap_column) {
		log->cap_column = n_rows;
		log->column = sb_realloc(log->column,
					 n_rows * sizeof *log->column);
	}
	for (size_t c = 0; cols[c].name; c++) {
		const char *base = (const char *)rows + cols[c].offset;
		for (size_t i = 0; i < n_rows; i++)
			memcpy(&log->column[i], base + i * row_size,
			       sizeof(double));
		if (append(ds[c], written, n_rows, log->column))
			return (long)c;
	}
	return -1;
}

static int write_pending_attrs(struct sb_run_log *log, struct sb_error *err)
{
	int rc = 0;
	for (size_t i = 0; i < log->n_attrs; i++) {
		struct pending_attr *a = &log->attrs[i];
		int bad;
		if (a->text) {
			bad = sb_h5_put_str(log->group, a->name, a->text);
		} else {
			bad = sb_h5_put_f64(log->group, a->name, a->value);
			if (!bad && a->units) {
				char *units = sb_asprintf("%s.units", a->name);
				bad = sb_h5_put_str(log->group, units,
						    a->units);
				free(units);
			}
		}
		if (bad && !rc)
			rc = sb_error(err, "cannot write attribute '%s' of "
				      "'%s' in '%s': %s", a->name, log->where,
				      log->res->path, sb_h5_why());
		free(a->name);
		free(a->text);
		free(a->units);
	}
	log->n_attrs = 0;
	return rc;
}

int sb_run_log_flush(struct sb_run_log *log, struct sb_error *err)
{
	sb_h5_quiet();
	const char *path = log->res->path;
	int rc = 0;
	long bad = -1;
	/* Rows are dropped from the buffer even when a write fails, so that a
	 * later flush never appends them twice to the columns that took them. */
	if (log->n_steps) {
		bad = append_rows(log, log->steps, log->n_steps,
				  sizeof *log->steps, sb_step_columns,
				  log->step_ds, log->steps_written);
		if (bad >= 0)
			rc = sb_error(err, "cannot append to '%s/steps/%s' in "
				      "'%s': %s", log->where,
				      sb_step_columns[bad].name, path,
				      sb_h5_why());
		log->steps_written += log->n_steps;
		log->n_steps = 0;
	}
	if (log->n_evals) {
		bad = append_rows(log, log->evals, log->n_evals,
				  sizeof *log->evals, sb_eval_columns,
				  log->eval_ds, log->evals_written);
		if (bad >= 0 && !rc)
			rc = sb_error(err, "cannot append to '%s/evals/%s' in "
				      "'%s': %s", log->where,
				      sb_eval_columns[bad].name, path,
				      sb_h5_why());
		log->evals_written += log->n_evals;
		log->n_evals = 0;
	}
	if (write_pending_attrs(log, rc ? NULL : err))
		rc = -1;
	if (!rc && publish_due(log->res) && publish(log->res, err))
		rc = -1;
	return rc;
}

int sb_run_log_end(struct sb_run_log *log, enum sb_status st,
		   struct sb_error *err)
{
	assert(st != SB_STATUS_NONE);
	struct sb_results *res = log->res;
	int rc = res->broken ? publish(res, err) : sb_run_log_flush(log, err);
	if (!rc && sb_h5_put_str(log->group, "status", status_names[st]))
		rc = sb_error(err, "cannot set the status of '%s' in '%s': %s",
			      log->where, res->path, sb_h5_why());
	log_free(log);
	if (!rc)
		rc = publish(res, err);
	return rc;
}
