/* test_experiments.c - the shipped specs (every experiments/NAME.yaml,
 * globbed) are valid as shipped: `sparsebench validate` (SB_BIN) exits 0 on
 * each in a directory holding experiments/ and nothing else, as a fresh
 * checkout does. The one exception is a spec whose only missing piece is a
 * file the user makes under data/ (gpt2_124m.yaml: llm.c's weights and
 * token shards): it may exit 2 with exactly the message naming that absent
 * file. A spec whose checkpoint another spec makes (checkpoint_spec)
 * validates without it, its shape unchecked until the checkpoint exists
 * (docs/spec.md, "Shape from the checkpoint"); so the checkpoint is made
 * here as that spec would write it (its one run's model and config, at the
 * path of its save_checkpoint, untrained) and the spec is validated, and
 * its runs' inputs opened, again. */
#define _POSIX_C_SOURCE 200809L
#include "support.h"

#include "io/checkpoint.h"
#include "run/inputs.h"
#include "run/shape.h"
#include "spec/spec.h"
#include "util.h"

#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char tmpdir[256];
static char repo[256];
static const char *bin;
static glob_t specs; /* <repo>/experiments/NAME.yaml, sorted */

/* Checkpoint specs nest no deeper than this (the run path's limit is
 * larger; the shipped specs nest one deep). */
enum { MAX_DEPTH = 4 };

/* Runs a shell command in tmpdir with stdout and stderr captured to
 * tmpdir/out and tmpdir/err; returns the exit code. */
/* A command in tmpdir, its output in out and err there. */
#define sh(...) sb_test_sh(tmpdir, __VA_ARGS__)

static char *slurp(const char *name)
{
	char *path = sb_test_path(tmpdir, name);
	char *text = sb_test_read_file(path, NULL);
	free(path);
	assert_non_null(text);
	return text;
}

#define write_file(name, text) sb_test_write_text(tmpdir, name, text)

/* "experiments/<name>.yaml" of spec i, as validate is given it. */
static char *spec_path(size_t i)
{
	const char *slash = strrchr(specs.gl_pathv[i], '/');
	return sb_asprintf("experiments/%s", slash + 1);
}

static int setup(void **state)
{
	(void)state;
	bin = getenv("SB_BIN");
	if (!bin)
		bin = "bin/sparsebench";
	if (bin[0] != '/') {
		static char abs[512];
		char cwd[256];
		if (!getcwd(cwd, sizeof cwd))
			return -1;
		snprintf(abs, sizeof abs, "%s/%s", cwd, bin);
		bin = abs;
	}
	if (!getcwd(repo, sizeof repo) ||
	    sb_test_tmpdir(tmpdir, sizeof tmpdir, "experiments"))
		return -1;
	char *pattern = sb_asprintf("%s/experiments/*.yaml", repo);
	char *link = sb_test_path(tmpdir, "experiments");
	char *target = sb_test_path(repo, "experiments");
	int rc = glob(pattern, 0, NULL, &specs) || !specs.gl_pathc ||
		 symlink(target, link) || chdir(tmpdir) ? -1 : 0;
	free(target);
	free(link);
	free(pattern);
	return rc;
}

static int teardown(void **state)
{
	(void)state;
	globfree(&specs);
	if (chdir(repo))
		return -1;
	return sb_test_rmtree(tmpdir);
}

/* ---- what may be missing ---- */

/* After "'<path>'" at *at, the path (fresh) and *at past its quote; NULL
 * when no quoted path is there. */
static char *quoted(const char **at)
{
	if (**at != '\'')
		return NULL;
	const char *end = strchr(*at + 1, '\'');
	if (!end)
		return NULL;
	char *path = sb_asprintf("%.*s", (int)(end - *at - 1), *at + 1);
	*at = end + 1;
	return path;
}

/* Whether a validate's stderr is exactly the one line saying that a file
 * under data/ which the user makes is absent, for the spec at `spec`:
 *   error: SPEC:L:C: checkpoint 'data/...' not found (and no
 *     'checkpoint_spec' to make it)
 *   error: SPEC:L:C: 'data/...': cannot read the train token shard: <ENOENT>
 * and the file is indeed absent. Any other error is the spec's own. */
static bool only_user_file_missing(const char *spec, const char *err)
{
	static const char *const shards[] = {"train", "val", "test"};
	size_t n = strlen(spec);
	const char *at = err;
	char *path = NULL;
	bool yes = false;

	if (strncmp(at, "error: ", 7) || strncmp(at + 7, spec, n) ||
	    at[7 + n] != ':')
		return false;
	at += 7 + n + 1;
	for (int k = 0; k < 2; k++) { /* LINE:COL: */
		if (*at < '0' || *at > '9')
			return false;
		while (*at >= '0' && *at <= '9')
			at++;
		if (*at++ != ':')
			return false;
	}
	if (*at++ != ' ')
		return false;
	if (!strncmp(at, "checkpoint ", 11)) {
		at += 11;
		path = quoted(&at);
		yes = path && !strcmp(at, " not found (and no 'checkpoint_spec' "
				      "to make it)\n");
	} else if ((path = quoted(&at))) {
		for (size_t s = 0; s < 3 && !yes; s++) {
			char *rest = sb_asprintf(": cannot read the %s token "
						 "shard: %s\n", shards[s],
						 strerror(ENOENT));
			yes = !strcmp(at, rest);
			free(rest);
		}
	}
	yes = yes && !strncmp(path, "data/", 5) && access(path, F_OK) &&
	      errno == ENOENT;
	free(path);
	return yes;
}

/* The matcher itself: a file the user makes, absent, passes; a mistake of
 * the spec, or a missing file outside data/ (a checkpoint without the
 * checkpoint_spec that makes it), does not. */
static void test_only_absent_user_files_are_excused(void **state)
{
	(void)state;
	static const char rest[] =
		"train: {steps: 2, batch_size: 2, eval_every: 0}\n"
		"policy: dense\n"
		"optimizer: dense_adam\n";
	char text[1024];
	char *err;

	snprintf(text, sizeof text, "model: {name: gpt, checkpoint: "
		 "data/llmc/weights.bin}\ndataset: {name: llmc_tokens, train: "
		 "data/llmc/train.bin, val: data/llmc/val.bin}\n%s", rest);
	write_file("weights.yaml", text);
	assert_int_equal(sh("'%s' validate weights.yaml", bin), 2);
	assert_true(only_user_file_missing("weights.yaml", err = slurp("err")));
	/* the same message for another spec is not this spec's */
	assert_false(only_user_file_missing("other.yaml", err));
	free(err);

	snprintf(text, sizeof text, "model: gpt\ndataset: {name: llmc_tokens, "
		 "train: data/llmc/train.bin, val: data/llmc/val.bin}\n%s",
		 rest);
	write_file("shards.yaml", text);
	assert_int_equal(sh("'%s' validate shards.yaml", bin), 2);
	assert_true(only_user_file_missing("shards.yaml", err = slurp("err")));
	free(err);

	snprintf(text, sizeof text, "model: {name: gpt, checkpoint: "
		 "data/llmc/weights.bin}\ndataset: {name: llmc_tokens, train: "
		 "data/llmc/train.bin, val: data/llmc/val.bin}\n%sdensity: 2\n",
		 rest);
	write_file("range.yaml", text);
	assert_int_equal(sh("'%s' validate range.yaml", bin), 2);
	assert_false(only_user_file_missing("range.yaml", err = slurp("err")));
	free(err);

	snprintf(text, sizeof text, "model: {name: mlp, checkpoint: "
		 "results/pre.ckpt.h5}\ndataset: synthetic\n%s", rest);
	write_file("maker.yaml", text);
	assert_int_equal(sh("'%s' validate maker.yaml", bin), 2);
	assert_false(only_user_file_missing("maker.yaml", err = slurp("err")));
	free(err);
}

/* ---- the specs as shipped ---- */

static void test_every_spec_validates(void **state)
{
	(void)state;
	struct sb_strbuf failures = {0};
	size_t n_ok = 0, n_waiting = 0;

	for (size_t i = 0; i < specs.gl_pathc; i++) {
		char *spec = spec_path(i);
		int rc = sh("'%s' validate '%s'", bin, spec);
		char *err = slurp("err");
		if (rc == 0)
			n_ok++;
		else if (rc == 2 && only_user_file_missing(spec, err))
			n_waiting++;
		else
			sb_strbuf_printf(&failures, "%s: validate exits %d: %s",
					 spec, rc, err);
		free(err);
		free(spec);
	}
	if (failures.s)
		fail_msg("%s", failures.s);
	printf("validate: %zu specs valid, %zu waiting for files the user "
	       "makes under data/\n", n_ok, n_waiting);
	assert_int_equal(n_ok + n_waiting, specs.gl_pathc);
}

/* Creates the folders of path that do not exist. */
static void make_parents(const char *path)
{
	char *dir = sb_strdup(path);
	for (char *slash = strchr(dir + 1, '/'); slash;
	     slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		if (mkdir(dir, 0777) && errno != EEXIST)
			fail_msg("cannot create '%s': %s", dir, strerror(errno));
		*slash = '/';
	}
	free(dir);
}

/* Writes checkpoint `ckpt` as `maker` would, untrained: the maker must
 * have one run and save its checkpoint at that very path. A maker that
 * takes its own checkpoint from another spec gets that one made first. */
static void make_checkpoint(const char *user, const char *ckpt,
			    const char *maker, int depth)
{
	struct sb_error err = {{0}};
	struct sb_spec pre;
	struct sb_inputs in;

	if (depth > MAX_DEPTH)
		fail_msg("%s: checkpoint specs nest deeper than %d", user,
			 MAX_DEPTH);
	if (sb_spec_load(&pre, maker, &err))
		fail_msg("%s: its checkpoint_spec: %s", user, err.msg);
	if (pre.n_runs != 1)
		fail_msg("%s: checkpoint_spec '%s' has %zu runs, not one", user,
			 maker, pre.n_runs);
	const struct sb_run_cfg *run = &pre.runs[0];
	const char *save = sb_values_str(&run->train_cfg, "save_checkpoint");
	if (strcmp(save, ckpt))
		fail_msg("%s: checkpoint_spec '%s' saves '%s', not '%s'", user,
			 maker, save, ckpt);
	const char *own = sb_values_str(&run->model_cfg, "checkpoint");
	const char *own_maker = sb_values_str(&run->model_cfg,
					      "checkpoint_spec");
	if (*own && *own_maker && access(own, F_OK))
		make_checkpoint(maker, own, own_maker, depth + 1);
	if (sb_shape_from_checkpoints(&pre, NULL, &err) ||
	    sb_inputs_open(&in, run, 1, &err))
		fail_msg("%s: %s", maker, err.msg);
	make_parents(ckpt);
	if (sb_checkpoint_save(ckpt, run->model->name, run->config_yaml,
			       &in.layout, in.params, &err))
		fail_msg("%s: %s", maker, err.msg);
	sb_inputs_release(&in);
	sb_spec_release(&pre);
}

/* Opens the data and model of each distinct input of the spec's runs and
 * loads their checkpoint, as `run` does before it trains. */
static void open_inputs(const char *spec_file)
{
	struct sb_error err = {{0}};
	struct sb_spec spec;

	if (sb_spec_load(&spec, spec_file, &err) ||
	    sb_shape_from_checkpoints(&spec, NULL, &err))
		fail_msg("%s", err.msg);
	char **seen = sb_calloc(spec.n_runs, sizeof *seen);
	size_t n_seen = 0;
	for (size_t i = 0; i < spec.n_runs; i++) {
		char *key = sb_inputs_key(&spec.runs[i]);
		bool known = false;
		for (size_t j = 0; j < n_seen && !known; j++)
			known = !strcmp(seen[j], key);
		if (known) {
			free(key);
			continue;
		}
		seen[n_seen++] = key;
		struct sb_inputs in;
		if (sb_inputs_open(&in, &spec.runs[i], 1, &err))
			fail_msg("%s: run '%s': %s", spec_file,
				 spec.runs[i].id, err.msg);
		sb_inputs_release(&in);
	}
	for (size_t j = 0; j < n_seen; j++)
		free(seen[j]);
	free(seen);
	sb_spec_release(&spec);
}

static void test_specs_validate_with_the_checkpoint_made(void **state)
{
	(void)state;
	size_t n_users = 0;

	for (size_t i = 0; i < specs.gl_pathc; i++) {
		char *spec_file = spec_path(i);
		struct sb_error err = {{0}};
		struct sb_spec spec;
		bool uses = false;
		/* a spec that does not load waits for user files (above) */
		if (sb_spec_load(&spec, spec_file, &err)) {
			free(spec_file);
			continue;
		}
		for (size_t r = 0; r < spec.n_runs; r++) {
			const struct sb_values *m = &spec.runs[r].model_cfg;
			const char *ckpt = sb_values_str(m, "checkpoint");
			const char *maker = sb_values_str(m, "checkpoint_spec");
			if (!*ckpt || !*maker)
				continue;
			uses = true;
			if (access(ckpt, F_OK))
				make_checkpoint(spec_file, ckpt, maker, 0);
		}
		sb_spec_release(&spec);
		if (uses) {
			n_users++;
			int rc = sh("'%s' validate '%s'", bin, spec_file);
			char *out = slurp("out"), *errs = slurp("err");
			if (rc != 0 || !strstr(out, "\nshape: model '"))
				fail_msg("%s, its checkpoint made: validate "
					 "exits %d without a shape from it: "
					 "%s%s", spec_file, rc, errs, out);
			free(errs);
			free(out);
			open_inputs(spec_file);
		}
		free(spec_file);
	}
	printf("%zu specs validate and load with the checkpoint their "
	       "checkpoint_spec makes\n", n_users);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_only_absent_user_files_are_excused),
		cmocka_unit_test(test_every_spec_validates),
		cmocka_unit_test(test_specs_validate_with_the_checkpoint_made),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
