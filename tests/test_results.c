/* test_results.c - the HDF5 results file: a written file reads back value
 * for value, series are chunked and unlimited with units, strings are
 * fixed-length, resume keeps finished runs, version 1 files still read,
 * damaged or foreign files give errors naming them, and a damaged run is
 * set aside while the others read. */
#include "support.h"

#include "io/results.h"
#include "util.h"

#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char tmp_dir[64];

static const struct sb_policy policy = {.name = "topk_first"};
static const struct sb_optimizer optimizer = {.name = "sparse_adam"};
static const struct sb_dataset dataset = {.name = "fortunes"};
static const struct sb_model model = {.name = "gpt"};

static char spec_text[] = "name: roundtrip\n"
			  "runs:\n  - policy: topk_first\n"
			  "    optimizer: sparse_adam\n    density: 0.01\n";
static char spec_path[] = "experiments/roundtrip.yaml";
static char spec_name[] = "roundtrip";

static struct sb_spec make_spec(char *text)
{
	return (struct sb_spec){.path = spec_path, .text = text,
				.name = spec_name};
}

static struct sb_run_cfg make_run(char *id, uint64_t seed)
{
	static char method[] = "sift", setting[] = "density=0.01 lr=0.003";
	static char config[] = "policy:\n  name: topk_first\n  density: 0.01\n"
			       "optimizer:\n  name: sparse_adam\n  lr: 0.003\n";
	return (struct sb_run_cfg){
		.id = id, .method = method, .setting = setting,
		.dataset = &dataset, .model = &model, .policy = &policy,
		.optimizer = &optimizer, .seed = seed, .config_yaml = config,
	};
}

/* The value written for row i, column c of run `run`: distinct everywhere,
 * with NaN and infinities sprinkled in to check they survive. */
static double expected(int run, size_t i, size_t c)
{
	if ((i + c) % 7 == 3)
		return NAN;
	if (i == 5 && c == 1)
		return INFINITY;
	if (i == 6 && c == 2)
		return -INFINITY;
	return run * 1e5 + (double)i + (double)c / 32.0 + 1e-9 * (double)i;
}

static void fill_row(void *row, const struct sb_column *cols, int run,
		     size_t i)
{
	for (size_t c = 0; cols[c].name; c++) {
		double v = expected(run, i, c);
		memcpy((char *)row + cols[c].offset, &v, sizeof v);
	}
}

/* Logs n steps with an evaluation and a flush every `every` steps. */
static void log_rows(struct sb_run_log *log, int run, size_t n, size_t every,
		     size_t *n_evals)
{
	struct sb_error err = {{0}};
	*n_evals = 0;
	for (size_t i = 0; i < n; i++) {
		struct sb_step_row row;
		fill_row(&row, sb_step_columns, run, i);
		sb_run_log_step(log, &row);
		if ((i + 1) % every == 0) {
			struct sb_eval_row ev;
			fill_row(&ev, sb_eval_columns, run, (*n_evals)++);
			sb_run_log_eval(log, &ev);
			assert_int_equal(sb_run_log_flush(log, &err), 0);
		}
	}
}

static bool same(double a, double b)
{
	return (isnan(a) && isnan(b)) || a == b;
}

/* Every column of a run's group holds exactly the values written. */
static void check_series(const struct sb_results_view *view, size_t r,
			 int run, const char *group,
			 const struct sb_column *cols, size_t n_rows)
{
	struct sb_error err = {{0}};
	for (size_t c = 0; cols[c].name; c++) {
		double *v;
		size_t n;
		assert_int_equal(sb_results_series(view, r, group, cols[c].name,
						   &v, &n, &err), 0);
		assert_int_equal(n, n_rows);
		for (size_t i = 0; i < n; i++)
			if (!same(v[i], expected(run, i, c)))
				fail_msg("%s/%s[%zu] = %.17g, wrote %.17g",
					 group, cols[c].name, i, v[i],
					 expected(run, i, c));
		free(v);
	}
}

/* A string attribute through the HDF5 API directly, or NULL when absent;
 * it must be stored as docs/results.md says: scalar, fixed-length,
 * NUL-terminated UTF-8, its size the text's length plus the NUL. */
static char *h5_str_attr(hid_t obj, const char *name)
{
	if (H5Aexists(obj, name) <= 0)
		return NULL;
	hid_t attr = H5Aopen(obj, name, H5P_DEFAULT);
	hid_t type = H5Aget_type(attr);
	hid_t space = H5Aget_space(attr);
	assert_int_equal(H5Sget_simple_extent_type(space), H5S_SCALAR);
	assert_int_equal(H5Tget_class(type), H5T_STRING);
	assert_int_equal(H5Tis_variable_str(type), 0);
	assert_int_equal(H5Tget_strpad(type), H5T_STR_NULLTERM);
	assert_int_equal(H5Tget_cset(type), H5T_CSET_UTF8);
	size_t size = H5Tget_size(type);
	char *out = sb_calloc(size + 1, 1);
	assert_true(H5Aread(attr, type, out) >= 0);
	assert_int_equal(strlen(out) + 1, size);
	H5Sclose(space);
	H5Tclose(type);
	H5Aclose(attr);
	return out;
}

/* Writes the two-run file of the round-trip tests. Runs are started
 * "zeta" first so that creation order differs from name order. */
static void write_two_runs(const char *path, size_t *n_evals)
{
	struct sb_error err = {{0}};
	struct sb_spec spec = make_spec(spec_text);
	struct sb_results *res;
	struct sb_run_log *log;
	assert_int_equal(sb_results_open(&res, path, &spec, false, &err), 0);

	struct sb_run_cfg zeta = make_run("zeta", 18446744073709551557ULL);
	assert_int_equal(sb_results_run_begin(res, &zeta, &log, &err), 0);
	/* 2500 steps cross two chunk boundaries (1024 rows per chunk). */
	log_rows(log, 0, 2500, 100, &n_evals[0]);
	sb_run_log_attr(log, "test_loss", 2.5, "nats");
	sb_run_log_attr(log, "test_accuracy", 0.875, "1");
	assert_int_equal(sb_run_log_flush(log, &err), 0);
	sb_run_log_attr(log, "test_loss", 2.25, "nats"); /* overwrites */
	sb_run_log_attr_str(log, "task", "lm");
	assert_int_equal(sb_run_log_end(log, SB_STATUS_COMPLETED, &err), 0);

	struct sb_run_cfg alpha = make_run("alpha", 7);
	assert_int_equal(sb_results_run_begin(res, &alpha, &log, &err), 0);
	log_rows(log, 1, 300, 64, &n_evals[1]);
	sb_run_log_attr(log, "diverged_step", 299, "steps");
	assert_int_equal(sb_run_log_end(log, SB_STATUS_DIVERGED, &err), 0);
	assert_int_equal(sb_results_close(res, &err), 0);
}

static void test_round_trip_reads_back_every_value(void **state)
{
	(void)state;
	char *path = sb_test_path(tmp_dir, "roundtrip.h5");
	size_t n_evals[2];
	write_two_runs(path, n_evals);

	struct sb_error err = {{0}};
	struct sb_results_view view;
	if (sb_results_load(&view, path, &err))
		fail_msg("%s", err.msg);
	assert_string_equal(view.spec_text, spec_text);
	assert_int_equal(view.n_runs, 2);
	assert_string_equal(view.runs[0].id, "zeta");
	assert_string_equal(view.runs[1].id, "alpha");

	const struct sb_run_info *zeta = &view.runs[0], *alpha = &view.runs[1];
	assert_string_equal(zeta->status, "completed");
	assert_string_equal(alpha->status, "diverged");
	assert_string_equal(zeta->method, "sift");
	assert_string_equal(zeta->setting, "density=0.01 lr=0.003");
	assert_string_equal(zeta->policy, "topk_first");
	assert_string_equal(zeta->optimizer, "sparse_adam");
	assert_non_null(strstr(zeta->config_yaml, "lr: 0.003"));
	assert_true(alpha->seed == 7.0);
	assert_true(sb_run_info_attr(zeta, "test_loss") == 2.25);
	assert_true(sb_run_info_attr(zeta, "test_accuracy") == 0.875);
	assert_true(sb_run_info_attr(alpha, "diverged_step") == 299.0);
	assert_true(isnan(sb_run_info_attr(alpha, "test_loss")));

	check_series(&view, 0, 0, "steps", sb_step_columns, 2500);
	check_series(&view, 0, 0, "evals", sb_eval_columns, n_evals[0]);
	check_series(&view, 1, 1, "steps", sb_step_columns, 300);
	check_series(&view, 1, 1, "evals", sb_eval_columns, n_evals[1]);
	assert_int_equal(n_evals[0], 25);
	assert_int_equal(n_evals[1], 4);

	double *v = (double *)&view;
	size_t n = 99;
	assert_int_equal(sb_results_series(&view, 0, "steps", "no_such",
					   &v, &n, &err), 0);
	assert_int_equal(n, 0);
	assert_null(v);
	sb_results_view_release(&view);
	free(path);
}

static void test_layout_is_chunked_unlimited_with_units(void **state)
{
	(void)state;
	char *path = sb_test_path(tmp_dir, "layout.h5");
	size_t n_evals[2];
	write_two_runs(path, n_evals);

	hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
	assert_true(file >= 0);
	char *format = h5_str_attr(file, "format");
	assert_string_equal(format, "sparsebench-results");
	hid_t version = H5Aopen(file, "format_version", H5P_DEFAULT);
	hid_t version_type = H5Aget_type(version);
	assert_true(H5Tequal(version_type, H5T_STD_I32LE) > 0);
	int v = 0;
	assert_true(H5Aread(version, H5T_NATIVE_INT, &v) >= 0);
	assert_int_equal(v, 2);
	H5Tclose(version_type);
	H5Aclose(version);
	char *spec = h5_str_attr(file, "spec");
	assert_string_equal(spec, spec_text);
	char *created = h5_str_attr(file, "created");
	assert_int_equal(strlen(created), strlen("2025-01-31T12:00:00Z"));
	assert_int_equal(created[10], 'T');
	assert_int_equal(created[19], 'Z');
	char *cpu = h5_str_attr(file, "cpu");
	assert_non_null(strstr(cpu, "cores online"));
	char *blas = h5_str_attr(file, "blas");
	assert_non_null(strstr(blas, "core "));
	const char *present[] = {"harness_version", "git_commit", "spec_path",
				 "experiment"};
	for (size_t i = 0; i < 4; i++) {
		char *s = h5_str_attr(file, present[i]);
		assert_non_null(s);
		free(s);
	}
	free(format);
	free(spec);
	free(created);
	free(cpu);
	free(blas);

	/* The seed is an exact 64-bit integer, beyond a double's 53 bits. */
	hid_t run = H5Gopen2(file, "runs/zeta", H5P_DEFAULT);
	uint64_t seed = 0;
	hid_t attr = H5Aopen(run, "seed", H5P_DEFAULT);
	assert_int_equal(H5Aread(attr, H5T_NATIVE_UINT64, &seed), 0);
	H5Aclose(attr);
	assert_true(seed == 18446744073709551557ULL);
	char *units = h5_str_attr(run, "test_loss.units");
	assert_string_equal(units, "nats");
	free(units);
	char *task = h5_str_attr(run, "task");
	assert_string_equal(task, "lm");
	free(task);
	H5Gclose(run);

	const struct sb_column *tables[] = {sb_step_columns, sb_eval_columns};
	const char *groups[] = {"steps", "evals"};
	for (size_t g = 0; g < 2; g++) {
		for (size_t c = 0; tables[g][c].name; c++) {
			char *name = sb_asprintf("runs/zeta/%s/%s", groups[g],
						 tables[g][c].name);
			hid_t ds = H5Dopen2(file, name, H5P_DEFAULT);
			assert_true(ds >= 0);
			hid_t dcpl = H5Dget_create_plist(ds);
			assert_int_equal(H5Pget_layout(dcpl), H5D_CHUNKED);
			hsize_t chunk = 0;
			assert_int_equal(H5Pget_chunk(dcpl, 1, &chunk), 1);
			assert_true(chunk == (g == 0 ? 1024 : 64));
			hid_t space = H5Dget_space(ds);
			hsize_t dims, maxdims;
			assert_int_equal(H5Sget_simple_extent_dims(
						 space, &dims, &maxdims), 1);
			assert_true(maxdims == H5S_UNLIMITED);
			assert_true(dims == (g == 0 ? 2500 : 25));
			hid_t type = H5Dget_type(ds);
			assert_true(H5Tequal(type, H5T_IEEE_F64LE) > 0);
			char *u = h5_str_attr(ds, "units");
			char *d = h5_str_attr(ds, "description");
			assert_string_equal(u, tables[g][c].units);
			assert_non_null(d);
			assert_true(strlen(d) > 10);
			free(u);
			free(d);
			H5Tclose(type);
			H5Sclose(space);
			H5Pclose(dcpl);
			H5Dclose(ds);
			free(name);
		}
	}
	H5Fclose(file);
	free(path);
}

static void test_resume_refuses_a_different_spec(void **state)
{
	(void)state;
	char *path = sb_test_path(tmp_dir, "other_spec.h5");
	struct sb_error err = {{0}};
	struct sb_spec spec = make_spec(spec_text);
	struct sb_results *res;
	assert_int_equal(sb_results_open(&res, path, &spec, false, &err), 0);
	assert_int_equal(sb_results_close(res, &err), 0);

	char other_text[] = "name: roundtrip\nruns: []\n";
	struct sb_spec other = make_spec(other_text);
	assert_int_equal(sb_results_open(&res, path, &other, true, &err), -1);
	assert_null(res);
	char *want = sb_asprintf("'%s' was written by a different spec", path);
	assert_non_null(strstr(err.msg, want));
	free(want);
	/* The same spec resumes. */
	assert_int_equal(sb_results_open(&res, path, &spec, true, &err), 0);
	assert_int_equal(sb_results_close(res, &err), 0);
	free(path);
}

static void test_resume_keeps_completed_and_replaces_running(void **state)
{
	(void)state;
	char *path = sb_test_path(tmp_dir, "resume.h5");
	struct sb_error err = {{0}};
	struct sb_spec spec = make_spec(spec_text);
	struct sb_results *res;
	struct sb_run_log *log;
	size_t n_evals;
	/* "cut" starts first, so after its restart the order flips. */
	assert_int_equal(sb_results_open(&res, path, &spec, true, &err), 0);
	struct sb_run_cfg cut = make_run("cut", 2), done = make_run("done", 1);
	assert_int_equal(sb_results_run_begin(res, &cut, &log, &err), 0);
	log_rows(log, 2, 30, 10, &n_evals);
	assert_int_equal(sb_run_log_end(log, SB_STATUS_RUNNING, &err), 0);
	assert_int_equal(sb_results_run_begin(res, &done, &log, &err), 0);
	log_rows(log, 1, 50, 10, &n_evals);
	assert_int_equal(sb_run_log_end(log, SB_STATUS_COMPLETED, &err), 0);
	assert_int_equal(sb_results_close(res, &err), 0);

	assert_int_equal(sb_results_open(&res, path, &spec, true, &err), 0);
	assert_int_equal(sb_results_status(res, "done"), SB_STATUS_COMPLETED);
	assert_int_equal(sb_results_status(res, "cut"), SB_STATUS_RUNNING);
	assert_int_equal(sb_results_status(res, "never"), SB_STATUS_NONE);
	assert_int_equal(sb_results_run_begin(res, &cut, &log, &err), 0);
	assert_int_equal(sb_results_status(res, "cut"), SB_STATUS_RUNNING);
	log_rows(log, 3, 12, 6, &n_evals);
	assert_int_equal(sb_run_log_end(log, SB_STATUS_COMPLETED, &err), 0);
	assert_int_equal(sb_results_close(res, &err), 0);

	struct sb_results_view view;
	assert_int_equal(sb_results_load(&view, path, &err), 0);
	assert_int_equal(view.n_runs, 2);
	assert_string_equal(view.runs[0].id, "done");
	assert_string_equal(view.runs[1].id, "cut");
	assert_string_equal(view.runs[1].status, "completed");
	check_series(&view, 0, 1, "steps", sb_step_columns, 50);
	check_series(&view, 0, 1, "evals", sb_eval_columns, 5);
	check_series(&view, 1, 3, "steps", sb_step_columns, 12);
	check_series(&view, 1, 3, "evals", sb_eval_columns, 2);
	sb_results_view_release(&view);
	free(path);
}

static void test_existing_file_without_resume_is_untouched(void **state)
{
	(void)state;
	char *path = sb_test_path(tmp_dir, "exists.h5");
	size_t n_evals[2];
	write_two_runs(path, n_evals);
	size_t n_before, n_after;
	char *before = sb_test_read_file(path, &n_before);
	assert_non_null(before);

	struct sb_error err = {{0}};
	struct sb_spec spec = make_spec(spec_text);
	struct sb_results *res;
	assert_int_equal(sb_results_open(&res, path, &spec, false, &err), -1);
	char *want = sb_asprintf("'%s' exists; pass --resume to continue it "
				 "or remove it", path);
	assert_string_equal(err.msg, want);

	char *after = sb_test_read_file(path, &n_after);
	assert_non_null(after);
	assert_int_equal(n_before, n_after);
	assert_memory_equal(before, after, n_before);
	free(want);
	free(before);
	free(after);
	free(path);
}

static void test_foreign_and_damaged_files_are_named(void **state)
{
	(void)state;
	struct sb_error err = {{0}};
	struct sb_results_view view;
	struct sb_spec spec = make_spec(spec_text);
	struct sb_results *res;

	char *text = sb_test_path(tmp_dir, "notes.h5");
	FILE *f = fopen(text, "w");
	fputs("these are notes, not HDF5\n", f);
	fclose(f);
	assert_int_equal(sb_results_load(&view, text, &err), -1);
	char *want = sb_asprintf("'%s' is not an HDF5 file", text);
	assert_non_null(strstr(err.msg, want));
	free(want);
	assert_int_equal(sb_results_open(&res, text, &spec, true, &err), -1);
	assert_non_null(strstr(err.msg, text));

	char *other = sb_test_path(tmp_dir, "other.h5");
	hid_t file = H5Fcreate(other, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
	H5Fclose(file);
	assert_int_equal(sb_results_load(&view, other, &err), -1);
	want = sb_asprintf("'%s' is an HDF5 file but not a sparsebench "
			   "results file", other);
	assert_non_null(strstr(err.msg, want));
	free(want);
	assert_int_equal(sb_results_open(&res, other, &spec, true, &err), -1);
	assert_non_null(strstr(err.msg, "not a sparsebench results file"));

	char *cut = sb_test_path(tmp_dir, "truncated.h5");
	size_t n_evals[2];
	write_two_runs(cut, n_evals);
	struct stat st;
	assert_int_equal(stat(cut, &st), 0);
	assert_int_equal(truncate(cut, st.st_size / 2), 0);
	assert_int_equal(sb_results_load(&view, cut, &err), -1);
	want = sb_asprintf("'%s' is damaged", cut);
	assert_non_null(strstr(err.msg, want));
	free(want);

	char *missing = sb_test_path(tmp_dir, "missing.h5");
	assert_int_equal(sb_results_load(&view, missing, &err), -1);
	assert_non_null(strstr(err.msg, missing));
	free(text);
	free(other);
	free(cut);
	free(missing);
}

/* A string attribute as other writers store it: fixed-length ASCII without
 * a NUL (numpy byte strings), or variable-length UTF-8 (h5py's str, and
 * every string of results format version 1). */
static void put_other_str(hid_t obj, const char *name, const char *value,
			  bool variable)
{
	hid_t type = H5Tcopy(H5T_C_S1);
	if (variable) {
		H5Tset_size(type, H5T_VARIABLE);
		H5Tset_cset(type, H5T_CSET_UTF8);
	} else {
		H5Tset_size(type, strlen(value));
	}
	hid_t space = H5Screate(H5S_SCALAR);
	hid_t attr = H5Acreate2(obj, name, type, space, H5P_DEFAULT,
				H5P_DEFAULT);
	assert_int_equal(H5Awrite(attr, type, variable ? (const void *)&value
						      : (const void *)value),
			 0);
	H5Aclose(attr);
	H5Sclose(space);
	H5Tclose(type);
}

/* A number attribute stored as file_type (HDF5 converts the double). */
static void put_other_num(hid_t obj, const char *name, hid_t file_type,
			  double value)
{
	hid_t space = H5Screate(H5S_SCALAR);
	hid_t attr = H5Acreate2(obj, name, file_type, space, H5P_DEFAULT,
				H5P_DEFAULT);
	assert_int_equal(H5Awrite(attr, H5T_NATIVE_DOUBLE, &value), 0);
	H5Aclose(attr);
	H5Sclose(space);
}

/* Another tool (h5py with numpy byte strings, say) may write fixed-length
 * ASCII strings and a /runs group without creation order: the reader takes
 * both, listing such runs by name. */
static void test_reader_takes_files_of_other_writers(void **state)
{
	(void)state;
	char *path = sb_test_path(tmp_dir, "foreign_writer.h5");
	hid_t file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
	put_other_str(file, "format", "sparsebench-results", false);
	put_other_num(file, "format_version", H5T_STD_I64BE, 1);
	put_other_str(file, "spec", "name: foreign\n", false);
	hid_t runs = H5Gcreate2(file, "runs", H5P_DEFAULT, H5P_DEFAULT,
				H5P_DEFAULT);
	const char *ids[] = {"b", "a"};
	for (size_t i = 0; i < 2; i++) {
		hid_t run = H5Gcreate2(runs, ids[i], H5P_DEFAULT, H5P_DEFAULT,
				       H5P_DEFAULT);
		put_other_str(run, "status", "completed", false);
		put_other_str(run, "method", ids[i], false);
		H5Gclose(run);
	}
	H5Gclose(runs);
	H5Fclose(file);

	struct sb_error err = {{0}};
	struct sb_results_view view;
	if (sb_results_load(&view, path, &err))
		fail_msg("%s", err.msg);
	assert_string_equal(view.spec_text, "name: foreign\n");
	assert_int_equal(view.n_runs, 2);
	assert_string_equal(view.runs[0].id, "a");
	assert_string_equal(view.runs[0].method, "a");
	assert_string_equal(view.runs[1].status, "completed");
	assert_string_equal(view.runs[1].setting, "");
	assert_true(isnan(view.runs[0].seed));
	double *v;
	size_t n;
	assert_int_equal(sb_results_series(&view, 0, "steps", "loss", &v, &n,
					   &err), 0);
	assert_int_equal(n, 0);
	sb_results_view_release(&view);
	free(path);
}

/* A spec over 64 KiB: more than an attribute message of HDF5's earliest
 * file format holds as a fixed-length string, so this fails unless the
 * writer asks for the 1.8 format. */
static void test_long_spec_text_round_trips(void **state)
{
	(void)state;
	char *path = sb_test_path(tmp_dir, "long_spec.h5");
	size_t n = 100000;
	char *text = sb_malloc(n + 1);
	for (size_t i = 0; i < n; i++)
		text[i] = i % 64 == 63 ? '\n' : (char)('a' + i % 26);
	text[n] = '\0';
	struct sb_error err = {{0}};
	struct sb_spec spec = make_spec(text);
	struct sb_results *res;
	if (sb_results_open(&res, path, &spec, false, &err))
		fail_msg("%s", err.msg);
	assert_int_equal(sb_results_close(res, &err), 0);
	struct sb_results_view view;
	if (sb_results_load(&view, path, &err))
		fail_msg("%s", err.msg);
	assert_string_equal(view.spec_text, text);
	sb_results_view_release(&view);
	free(text);
	free(path);
}

/* A results file as format version 1 wrote it (or a later version),
 * with one completed run. */
static void write_old_file(const char *path, int version)
{
	hid_t file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
	put_other_str(file, "format", "sparsebench-results", true);
	put_other_num(file, "format_version", H5T_STD_I32LE, version);
	put_other_str(file, "spec", spec_text, true);
	hid_t runs = H5Gcreate2(file, "runs", H5P_DEFAULT, H5P_DEFAULT,
				H5P_DEFAULT);
	hid_t run = H5Gcreate2(runs, "old", H5P_DEFAULT, H5P_DEFAULT,
			       H5P_DEFAULT);
	put_other_str(run, "status", "completed", true);
	put_other_str(run, "method", "sift", true);
	put_other_str(run, "config", "seed: 3\n", true);
	put_other_num(run, "test_loss", H5T_IEEE_F64LE, 2.5);
	H5Gclose(run);
	H5Gclose(runs);
	H5Fclose(file);
}

/* Version 1 differs only in its variable-length strings: the reader still
 * takes it, resume refuses to mix the two in one file, and a version from
 * the future is refused by both. */
static void test_version_1_is_read_but_not_resumed(void **state)
{
	(void)state;
	char *path = sb_test_path(tmp_dir, "version1.h5");
	write_old_file(path, 1);
	struct sb_error err = {{0}};
	struct sb_results_view view;
	if (sb_results_load(&view, path, &err))
		fail_msg("%s", err.msg);
	assert_string_equal(view.spec_text, spec_text);
	assert_int_equal(view.n_runs, 1);
	assert_string_equal(view.runs[0].status, "completed");
	assert_string_equal(view.runs[0].method, "sift");
	assert_string_equal(view.runs[0].config_yaml, "seed: 3\n");
	assert_true(sb_run_info_attr(&view.runs[0], "test_loss") == 2.5);
	sb_results_view_release(&view);

	struct sb_spec spec = make_spec(spec_text);
	struct sb_results *res;
	assert_int_equal(sb_results_open(&res, path, &spec, true, &err), -1);
	char *want = sb_asprintf("'%s' has results format version 1, this "
				 "sparsebench writes 2; write to another file",
				 path);
	assert_string_equal(err.msg, want);
	free(want);

	char *future = sb_test_path(tmp_dir, "version3.h5");
	write_old_file(future, 3);
	assert_int_equal(sb_results_load(&view, future, &err), -1);
	want = sb_asprintf("'%s' has results format version 3; this "
			   "sparsebench reads versions 1 to 2", future);
	assert_string_equal(err.msg, want);
	free(want);
	assert_int_equal(sb_results_open(&res, future, &spec, true, &err), -1);
	assert_non_null(strstr(err.msg, "has results format version 3"));
	free(future);
	free(path);
}

/* A child writes, flushes, logs more rows and dies without closing. The
 * parent must read the flushed rows, with the run still `running`. */
static void test_crashed_writer_keeps_flushed_rows(void **state)
{
	(void)state;
	char *path = sb_test_path(tmp_dir, "crash.h5");
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct sb_error err;
		struct sb_spec spec = make_spec(spec_text);
		struct sb_results *res;
		struct sb_run_log *log;
		struct sb_run_cfg run = make_run("crashed", 3);
		size_t n_evals;
		if (sb_results_open(&res, path, &spec, false, &err))
			_exit(2);
		sb_results_publish_every(res, 0);
		if (sb_results_run_begin(res, &run, &log, &err))
			_exit(2);
		log_rows(log, 4, 150, 75, &n_evals); /* flushed */
		struct sb_step_row row;
		for (size_t i = 150; i < 170; i++) { /* never flushed */
			fill_row(&row, sb_step_columns, 4, i);
			sb_run_log_step(log, &row);
		}
		_exit(1);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 1);

	struct sb_error err = {{0}};
	struct sb_results_view view;
	if (sb_results_load(&view, path, &err))
		fail_msg("%s", err.msg);
	assert_int_equal(view.n_runs, 1);
	assert_string_equal(view.runs[0].status, "running");
	check_series(&view, 0, 4, "steps", sb_step_columns, 150);
	check_series(&view, 0, 4, "evals", sb_eval_columns, 2);
	sb_results_view_release(&view);

	/* Resuming the crashed file replaces the unfinished run. */
	struct sb_spec spec = make_spec(spec_text);
	struct sb_results *res;
	struct sb_run_log *log;
	struct sb_run_cfg run = make_run("crashed", 3);
	assert_int_equal(sb_results_open(&res, path, &spec, true, &err), 0);
	assert_int_equal(sb_results_status(res, "crashed"), SB_STATUS_RUNNING);
	assert_int_equal(sb_results_run_begin(res, &run, &log, &err), 0);
	assert_int_equal(sb_run_log_end(log, SB_STATUS_FAILED, &err), 0);
	assert_int_equal(sb_results_close(res, &err), 0);
	free(path);
}

/* A reader sees the file as of the writer's last flush while the writer
 * (another process, holding the file's lock) is still running. */
static void test_reader_sees_a_run_in_progress(void **state)
{
	(void)state;
	char *path = sb_test_path(tmp_dir, "live.h5");
	int ready[2], go[2];
	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(go), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct sb_error err;
		struct sb_spec spec = make_spec(spec_text);
		struct sb_results *res;
		struct sb_run_log *log;
		struct sb_run_cfg run = make_run("live", 5);
		size_t n_evals;
		char byte = 0;
		if (sb_results_open(&res, path, &spec, false, &err))
			_exit(2);
		sb_results_publish_every(res, 0);
		if (sb_results_run_begin(res, &run, &log, &err))
			_exit(2);
		log_rows(log, 5, 40, 20, &n_evals);
		if (write(ready[1], "r", 1) != 1 || read(go[0], &byte, 1) != 1)
			_exit(3);
		int rc = sb_run_log_end(log, SB_STATUS_COMPLETED, &err) ||
			 sb_results_close(res, &err);
		_exit(rc ? 4 : 0);
	}
	char byte;
	assert_int_equal(read(ready[0], &byte, 1), 1);
	struct sb_error err = {{0}};
	struct sb_results_view view;
	int rc = sb_results_load(&view, path, &err);
	assert_int_equal(write(go[1], "g", 1), 1);
	if (rc)
		fail_msg("%s", err.msg);
	assert_string_equal(view.runs[0].status, "running");
	check_series(&view, 0, 5, "steps", sb_step_columns, 40);
	sb_results_view_release(&view);

	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(sb_results_load(&view, path, &err), 0);
	assert_string_equal(view.runs[0].status, "completed");
	sb_results_view_release(&view);
	for (int i = 0; i < 2; i++) {
		close(ready[i]);
		close(go[i]);
	}
	free(path);
}

static void test_status_names(void **state)
{
	(void)state;
	assert_string_equal(sb_status_name(SB_STATUS_RUNNING), "running");
	assert_string_equal(sb_status_name(SB_STATUS_COMPLETED), "completed");
	assert_string_equal(sb_status_name(SB_STATUS_DIVERGED), "diverged");
	assert_string_equal(sb_status_name(SB_STATUS_FAILED), "failed");
}

static int make_tmp_dir(void **state)
{
	(void)state;
	return sb_test_tmpdir(tmp_dir, sizeof tmp_dir, "test_results");
}

static int remove_tmp_dir(void **state)
{
	(void)state;
	return sb_test_rmtree(tmp_dir);
}

/* The file offset of the first chunk of runs/<id>/steps/loss. */
static haddr_t chunk_address(const char *path, const char *id)
{
	char *where = sb_asprintf("runs/%s/steps/loss", id);
	hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
	hid_t ds = H5Dopen2(file, where, H5P_DEFAULT);
	hsize_t origin[1] = {0}, size = 0;
	haddr_t addr = HADDR_UNDEF;
	unsigned mask;
	assert_true(H5Dget_chunk_info_by_coord(ds, origin, &mask, &addr,
					       &size) >= 0);
	assert_true(size > 16);
	H5Dclose(ds);
	H5Fclose(file);
	free(where);
	return addr;
}

/* Garbled bytes in one run's data: every reader reads the other run and
 * names the damaged one (sb_results_damage), and --resume runs it again
 * instead of keeping it as completed. */
static void test_damaged_run_is_set_aside(void **state)
{
	(void)state;
	char *path = sb_test_path(tmp_dir, "garbled.h5");
	size_t n_evals[2];
	write_two_runs(path, n_evals);
	haddr_t addr = chunk_address(path, "zeta");
	FILE *f = fopen(path, "r+b");
	assert_non_null(f);
	assert_int_equal(fseek(f, (long)addr + 8, SEEK_SET), 0);
	for (int i = 0; i < 8; i++)
		fputc(0xA5 ^ i, f);
	assert_int_equal(fclose(f), 0);

	struct sb_error err = {{0}};
	struct sb_results_view view;
	if (sb_results_load(&view, path, &err))
		fail_msg("%s", err.msg);
	assert_int_equal(view.n_runs, 1);
	assert_string_equal(view.runs[0].id, "alpha");
	check_series(&view, 0, 1, "steps", sb_step_columns, 300);
	assert_int_equal(view.n_damaged, 1);
	assert_string_equal(view.damaged[0].id, "zeta");
	assert_string_equal(view.damaged[0].status, "damaged");
	assert_int_equal(sb_results_damage(&view, &err), -1);
	assert_non_null(strstr(err.msg, "garbled.h5"));
	assert_non_null(strstr(err.msg, "'zeta'"));
	sb_results_view_release(&view);

	struct sb_spec spec = make_spec(spec_text);
	struct sb_results *res;
	assert_int_equal(sb_results_open(&res, path, &spec, true, &err), 0);
	assert_int_equal(sb_results_status(res, "zeta"), SB_STATUS_RUNNING);
	assert_int_equal(sb_results_status(res, "alpha"),
			 SB_STATUS_DIVERGED);
	assert_int_equal(sb_results_close(res, &err), 0);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_reads_back_every_value),
		cmocka_unit_test(test_layout_is_chunked_unlimited_with_units),
		cmocka_unit_test(test_resume_refuses_a_different_spec),
		cmocka_unit_test(test_resume_keeps_completed_and_replaces_running),
		cmocka_unit_test(test_existing_file_without_resume_is_untouched),
		cmocka_unit_test(test_foreign_and_damaged_files_are_named),
		cmocka_unit_test(test_reader_takes_files_of_other_writers),
		cmocka_unit_test(test_long_spec_text_round_trips),
		cmocka_unit_test(test_version_1_is_read_but_not_resumed),
		cmocka_unit_test(test_crashed_writer_keeps_flushed_rows),
		cmocka_unit_test(test_reader_sees_a_run_in_progress),
		cmocka_unit_test(test_damaged_run_is_set_aside),
		cmocka_unit_test(test_status_names),
	};
	return cmocka_run_group_tests(tests, make_tmp_dir, remove_tmp_dir);
}
