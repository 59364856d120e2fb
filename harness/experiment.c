/* experiment.c - one spec from start to end: prerequisites, results file,
 * the runs of its grid (skipping those a resumed file already completed),
 * and its figures. Bad input is found before the results file is created. */
#define _POSIX_C_SOURCE 200809L
#include "experiment.h"
#include "checkpoint.h"
#include "results.h"
#include "run.h"
#include "util.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_DEPTH 4

char *sb_experiment_default_out(const struct sb_spec *spec)
{
	return sb_asprintf("results/%s.h5", spec->name);
}

static bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

/* Creates every missing directory above `path`. */
static int make_parents(const char *path, struct sb_error *err)
{
	char *dir = sb_strdup(path);
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0777) && errno != EEXIST) {
			sb_error(err, "cannot create directory '%s': %s", dir,
				 strerror(errno));
			free(dir);
			return -1;
		}
		*p = '/';
	}
	free(dir);
	return 0;
}

static bool selected(const struct sb_run_cfg *run, const char *only)
{
	if (!only)
		return true;
	if (strpbrk(only, "*?["))
		return fnmatch(only, run->id, 0) == 0;
	return strstr(run->id, only) != NULL;
}

/* Runs the spec that writes a missing checkpoint, then checks it did. */
static int make_checkpoint(const char *ckpt, const char *spec_path,
			   const struct sb_experiment_opts *opts,
			   struct sb_progress *prog, struct sb_error *err)
{
	if (opts->depth >= MAX_DEPTH)
		return sb_error(err, "checkpoint specs nest deeper than %d "
				"(a cycle?) at '%s'", MAX_DEPTH, spec_path);
	struct sb_spec pre;
	if (sb_spec_load(&pre, spec_path, err))
		return -1;
	sb_progress_note(prog, "checkpoint '%s' is missing: running '%s' "
			 "to make it", ckpt, spec_path);
	struct sb_experiment_opts sub = {.resume = true,
					 .depth = opts->depth + 1};
	int rc = sb_experiment_run(&pre, &sub, prog, err);
	sb_spec_release(&pre);
	if (rc < 0)
		return -1;
	if (rc > 0 || !exists(ckpt))
		return sb_error(err, "'%s' did not write checkpoint '%s'",
				spec_path, ckpt);
	return 0;
}

static int prerequisites(const struct sb_spec *spec,
			 const struct sb_experiment_opts *opts,
			 struct sb_progress *prog, struct sb_error *err)
{
	for (size_t i = 0; i < spec->n_runs; i++) {
		const struct sb_run_cfg *run = &spec->runs[i];
		if (!selected(run, opts->only))
			continue;
		const char *ckpt = sb_values_str(&run->model_cfg, "checkpoint");
		const char *maker =
			sb_values_str(&run->model_cfg, "checkpoint_spec");
		if (!*ckpt || exists(ckpt))
			continue;
		if (!*maker)
			return sb_error(err, "%s: checkpoint '%s' not found",
					spec->path, ckpt);
		if (make_checkpoint(ckpt, maker, opts, prog, err))
			return -1;
	}
	return 0;
}

/* The dataset and model part of a run's resolved config: runs with equal
 * keys read the same data into the same model. */
static char *data_model_key(const struct sb_run_cfg *run)
{
	const char *end = strstr(run->config_yaml, "\npolicy: ");
	size_t n = end ? (size_t)(end - run->config_yaml)
		       : strlen(run->config_yaml);
	char *key = sb_malloc(n + 1);
	memcpy(key, run->config_yaml, n);
	key[n] = '\0';
	return key;
}

/* Opens the data and loads the checkpoint of one run's config, then lets
 * them go: corrupt data or checkpoints are bad input, found before the
 * results file exists. */
static int preflight_one(const struct sb_run_cfg *run, struct sb_error *err)
{
	const struct sb_dataset *ds = run->dataset;
	const struct sb_model *md = run->model;
	void *data = sb_calloc(1, ds->priv_size ? ds->priv_size : 1);
	void *model = sb_calloc(1, md->priv_size ? md->priv_size : 1);
	struct sb_data_info info = {0};
	struct sb_layout layout = {0};
	bool data_open = false, model_ready = false;
	float *params = NULL;
	int rc = -1;
	if (ds->open(data, &run->dataset_cfg, &info, err))
		goto out;
	data_open = true;
	if (md->init(model, &run->model_cfg, &info, 1, &layout, err))
		goto out;
	model_ready = true;
	const char *ckpt = sb_values_str(&run->model_cfg, "checkpoint");
	if (*ckpt) {
		const struct sb_value *fresh =
			sb_values_get(&run->model_cfg, "fresh");
		params = sb_calloc(layout.n_params, sizeof *params);
		if (sb_checkpoint_load(ckpt, &layout, params, fresh->strs,
				       fresh->n, err))
			goto out;
	}
	rc = 0;
out:
	if (model_ready && md->release)
		md->release(model);
	if (data_open && ds->release)
		ds->release(data);
	free(params);
	free(model);
	free(data);
	return rc;
}

static int preflight(const struct sb_spec *spec,
		     const struct sb_experiment_opts *opts,
		     struct sb_error *err)
{
	char **seen = sb_calloc(spec->n_runs, sizeof *seen);
	size_t n_seen = 0;
	int rc = 0;
	for (size_t i = 0; i < spec->n_runs && !rc; i++) {
		const struct sb_run_cfg *run = &spec->runs[i];
		if (!selected(run, opts->only))
			continue;
		char *key = data_model_key(run);
		bool known = false;
		for (size_t j = 0; j < n_seen && !known; j++)
			known = !strcmp(seen[j], key);
		if (known) {
			free(key);
			continue;
		}
		seen[n_seen++] = key;
		if (preflight_one(run, err)) {
			char *why = sb_strdup(err->msg);
			sb_error(err, "%s: run '%s': %s", spec->path, run->id,
				 why);
			free(why);
			rc = -1;
		}
	}
	for (size_t j = 0; j < n_seen; j++)
		free(seen[j]);
	free(seen);
	return rc;
}

static int check_runs(const struct sb_spec *spec,
		      const struct sb_experiment_opts *opts,
		      struct sb_error *err)
{
	size_t n_selected = 0;
	for (size_t i = 0; i < spec->n_runs; i++) {
		const struct sb_run_cfg *run = &spec->runs[i];
		n_selected += selected(run, opts->only);
		const char *save =
			sb_values_str(&run->train_cfg, "save_checkpoint");
		if (*save && spec->n_runs > 1)
			return sb_error(err, "%s: save_checkpoint needs a spec "
					"with one run (this one has %zu)",
					spec->path, spec->n_runs);
	}
	if (!n_selected)
		return sb_error(err, "%s: no run id matches '%s'", spec->path,
				opts->only);
	return 0;
}

int sb_experiment_run(const struct sb_spec *spec,
		      const struct sb_experiment_opts *opts,
		      struct sb_progress *prog, struct sb_error *err)
{
	if (check_runs(spec, opts, err) ||
	    prerequisites(spec, opts, prog, err) || preflight(spec, opts, err))
		return -1;
	char *out = opts->out ? sb_strdup(opts->out)
			      : sb_experiment_default_out(spec);
	struct sb_results *res = NULL;
	if (make_parents(out, err) ||
	    sb_results_open(&res, out, spec, opts->resume, err)) {
		free(out);
		return -1;
	}

	int failed = 0;
	size_t total = 0, index = 0;
	for (size_t i = 0; i < spec->n_runs; i++)
		total += selected(&spec->runs[i], opts->only);
	for (size_t i = 0; i < spec->n_runs; i++) {
		const struct sb_run_cfg *run = &spec->runs[i];
		if (!selected(run, opts->only))
			continue;
		enum sb_status done = sb_results_status(res, run->id);
		if (done == SB_STATUS_COMPLETED || done == SB_STATUS_DIVERGED) {
			sb_progress_note(prog, "[%zu/%zu] %s: already %s in "
					 "'%s'", index + 1, total, run->id,
					 sb_status_name(done), out);
			index++;
			continue;
		}
		struct sb_run_log *log;
		if (sb_results_run_begin(res, run, &log, err)) {
			failed = -1;
			break;
		}
		long steps = sb_values_int(&run->train_cfg, "steps");
		sb_progress_run_begin(prog, index++, total, run->id, steps);
		struct sb_error why = {{0}};
		enum sb_status st = sb_run_execute(run, log, prog, &why);
		if (st == SB_STATUS_FAILED)
			failed = 1;
		if (st != SB_STATUS_COMPLETED)
			sb_run_log_attr_str(log, "error", why.msg);
		struct sb_error end_err = {{0}};
		if (sb_run_log_end(log, st, &end_err)) {
			*err = end_err;
			failed = -1;
			break;
		}
		sb_progress_run_end(prog, sb_status_name(st), why.msg);
	}
	struct sb_error close_err = {{0}};
	if (sb_results_close(res, &close_err) && failed >= 0) {
		*err = close_err;
		failed = -1;
	}
	if (failed == 0)
		sb_progress_note(prog, "results: %s", out);
	free(out);
	return failed;
}
