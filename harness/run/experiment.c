/* experiment.c - one spec from start to end: prerequisites, results file,
 * the runs of its grid (skipping those a resumed file already completed),
 * and its figures. Bad input is found before the results file is created. */
#define _POSIX_C_SOURCE 200809L
#include "run/experiment.h"
#include "io/results.h"
#include "run/inputs.h"
#include "run/run.h"
#include "run/shape.h"
#include "util.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_DEPTH 4

char *sb_experiment_default_out(const struct sb_spec *spec,
				const struct sb_shard *shard)
{
	if (shard && shard->count > 1)
		return sb_asprintf("results/%s.shard-%zu-of-%zu.h5", spec->name,
				   shard->index, shard->count);
	return sb_asprintf("results/%s.h5", spec->name);
}

/* Which process made a run: its host and shard, for merged files. */
static void provenance(struct sb_run_log *log, const struct sb_shard *shard)
{
	char host[256] = "unknown";
	gethostname(host, sizeof host - 1);
	struct sb_shard whole = {0, 1, NULL};
	char *name = sb_shard_name(shard ? shard : &whole);
	sb_run_log_attr_str(log, "host", host);
	sb_run_log_attr_str(log, "shard", name);
	free(name);
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

static bool matches(const struct sb_run_cfg *run, const char *only)
{
	if (!only)
		return true;
	if (strpbrk(only, "*?["))
		return fnmatch(only, run->id, 0) == 0;
	return strstr(run->id, only) != NULL;
}

/* The runs this process runs: its shard's, matching --only. */
static bool selected(const struct sb_spec *spec, size_t i,
		     const struct sb_experiment_opts *opts)
{
	return (!opts->mine || opts->mine[i]) &&
	       matches(&spec->runs[i], opts->only);
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
		if (!selected(spec, i, opts))
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

/* Opens the data and loads the checkpoint of one run's config, then lets
 * them go: corrupt data or checkpoints are bad input, found before the
 * results file exists. */
static int preflight_one(const struct sb_run_cfg *run, struct sb_error *err)
{
	struct sb_inputs in;
	int rc = sb_inputs_open(&in, run, 1, err);
	sb_inputs_release(&in);
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
		if (!selected(spec, i, opts))
			continue;
		char *key = sb_inputs_key(run);
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
		n_selected += matches(run, opts->only);
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

int sb_experiment_run(struct sb_spec *spec,
		      const struct sb_experiment_opts *opts,
		      struct sb_progress *prog, struct sb_error *err)
{
	if (check_runs(spec, opts, err) ||
	    prerequisites(spec, opts, prog, err) ||
	    sb_shape_from_checkpoints(spec, NULL, err) ||
	    preflight(spec, opts, err))
		return -1;
	char *out = opts->out ? sb_strdup(opts->out)
			      : sb_experiment_default_out(spec, opts->shard);
	struct sb_results *res = NULL;
	if (make_parents(out, err) ||
	    sb_results_open(&res, out, spec, opts->resume, err)) {
		free(out);
		return -1;
	}

	int failed = 0;
	size_t total = 0, index = 0;
	for (size_t i = 0; i < spec->n_runs; i++)
		total += selected(spec, i, opts);
	for (size_t i = 0; i < spec->n_runs; i++) {
		const struct sb_run_cfg *run = &spec->runs[i];
		if (!selected(spec, i, opts))
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
			failed = 2;
			break;
		}
		provenance(log, opts->shard);
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
			/* A full disk: the file keeps the runs written before;
			 * the next runs could not be kept either. */
			*err = end_err;
			failed = 2;
			break;
		}
		sb_progress_run_end(prog, sb_status_name(st), why.msg);
	}
	struct sb_error close_err = {{0}};
	if (sb_results_close(res, &close_err) && failed >= 0 && failed < 2) {
		*err = close_err;
		failed = 2;
	}
	if (failed == 0)
		sb_progress_note(prog, "results: %s", out);
	free(out);
	return failed;
}
