/* test_e2e.c - the real binary on real files: a tiny spec run end to end,
 * its HDF5 contents, reproducibility, bad input, resume, divergence, a
 * killed run, and the informational commands. SB_BIN names the binary. */
#define _POSIX_C_SOURCE 200809L
#include "support.h"

#include "io/results.h"
#include "util.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char tmpdir[256];
static char repo[256];
static const char *bin;

/* Runs a shell command in tmpdir with stdout and stderr captured to
 * tmpdir/out and tmpdir/err; returns the exit code. */
/* A command in tmpdir, its output in out and err there. */
#define sh(...) sb_test_sh(tmpdir, __VA_ARGS__)

/* A file of tmpdir, or NULL. */
static char *slurp(const char *name, size_t *len)
{
	char *path = sb_test_path(tmpdir, name);
	char *text = sb_test_read_file(path, len);
	free(path);
	return text;
}

static void write_file(const char *name, const char *text)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", tmpdir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static bool file_exists(const char *name)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", tmpdir, name);
	return access(path, F_OK) == 0;
}

static void load(struct sb_results_view *view, const char *name)
{
	char path[512];
	struct sb_error err = {{0}};
	snprintf(path, sizeof path, "%s/%s", tmpdir, name);
	if (sb_results_load(view, path, &err))
		fail_msg("%s", err.msg);
}

static double *series(const struct sb_results_view *view, size_t run,
		      const char *group, const char *col, size_t *n)
{
	double *v = NULL;
	struct sb_error err = {{0}};
	if (sb_results_series(view, run, group, col, &v, n, &err))
		fail_msg("%s", err.msg);
	return v;
}

static const char tiny_spec[] =
	"name: tiny\n"
	"dataset: {name: synthetic, n_features: 8, n_classes: 3,"
	" teacher_hidden: 8, n_train: 256, n_val: 64, n_test: 64}\n"
	"model: {name: mlp, hidden: 16, layers: 1}\n"
	"train: {steps: 20, batch_size: 16, eval_every: 5,"
	" eval_batch_size: 32}\n"
	"seeds: [1, 2]\n"
	"density: 0.05\n"
	"methods:\n"
	"  - policy: dense\n"
	"    optimizer: {name: dense_adam, lr: 0.01}\n"
	"  - policy: [topk_batch, topk_first, random]\n"
	"    optimizer: {name: sparse_adam, lr: 0.05}\n";

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
	if (!getcwd(repo, sizeof repo))
		return -1;
	if (sb_test_tmpdir(tmpdir, sizeof tmpdir, "e2e"))
		return -1;
	write_file("tiny.yaml", tiny_spec);
	return sh("'%s' run tiny.yaml -o tiny.h5 --quiet", bin) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return sb_test_rmtree(tmpdir);
}

static size_t find_run(const struct sb_results_view *view, const char *method,
		       int seed)
{
	for (size_t i = 0; i < view->n_runs; i++)
		if (!strcmp(view->runs[i].method, method) &&
		    view->runs[i].seed == seed)
			return i;
	fail_msg("no run %s seed %d", method, seed);
	return 0;
}

static void test_run_writes_every_run(void **state)
{
	(void)state;
	struct sb_results_view v;
	load(&v, "tiny.h5");
	assert_int_equal(v.n_runs, 8); /* (dense + 3 sparse) x 2 seeds */
	for (size_t i = 0; i < v.n_runs; i++) {
		assert_string_equal(v.runs[i].status, "completed");
		size_t n, ne;
		double *loss = series(&v, i, "steps", "loss", &n);
		double *step = series(&v, i, "evals", "step", &ne);
		assert_int_equal(n, 20);
		/* an evaluation before training, then every 5 steps */
		assert_int_equal(ne, 5);
		for (size_t e = 0; e < ne; e++)
			assert_true(step[e] == 5.0 * (double)e);
		for (size_t s = 0; s < n; s++)
			assert_true(isfinite(loss[s]) && loss[s] > 0);
		double acc = sb_run_info_attr(&v.runs[i], "test_accuracy");
		assert_true(acc >= 0 && acc <= 1);
		free(loss);
		free(step);
	}
	/* 16 hidden, 8 features, 3 classes: 8*16+16 + 16*3+3 = 195 params;
	 * 5% of 195 rounds to 10 */
	size_t r = find_run(&v, "topk_batch+sparse_adam", 1);
	assert_true(sb_run_info_attr(&v.runs[r], "n_params") == 195);
	size_t n;
	double *sel = series(&v, r, "steps", "n_selected", &n);
	for (size_t s = 0; s < n; s++)
		assert_true(sel[s] == 10);
	free(sel);
	r = find_run(&v, "dense+dense_adam", 2);
	assert_true(sb_run_info_attr(&v.runs[r], "trainable") == 195);
	sb_results_view_release(&v);
}

static void test_topk_batch_retains_the_oracle(void **state)
{
	(void)state;
	struct sb_results_view v;
	load(&v, "tiny.h5");
	size_t r = find_run(&v, "topk_batch+sparse_adam", 1);
	size_t n, m;
	double *kept = series(&v, r, "steps", "retained", &n);
	double *best = series(&v, r, "steps", "oracle_retained", &m);
	assert_int_equal(n, m);
	for (size_t s = 0; s < n; s++)
		/* the same components summed in another order: equal to
		 * double rounding over 10 terms */
		assert_true(fabs(kept[s] - best[s]) <= 1e-12);
	free(kept);
	free(best);
	/* a policy chosen once keeps less than the oracle at some step */
	r = find_run(&v, "random+sparse_adam", 1);
	kept = series(&v, r, "steps", "retained", &n);
	best = series(&v, r, "steps", "oracle_retained", &m);
	bool below = false;
	for (size_t s = 0; s < n; s++)
		below |= kept[s] < best[s] - 1e-9;
	assert_true(below);
	free(kept);
	free(best);
	sb_results_view_release(&v);
}

static void test_fixed_sets_do_not_churn(void **state)
{
	(void)state;
	struct sb_results_view v;
	load(&v, "tiny.h5");
	const char *fixed[] = {"topk_first+sparse_adam", "random+sparse_adam",
			       "dense+dense_adam"};
	for (size_t f = 0; f < 3; f++) {
		size_t r = find_run(&v, fixed[f], 1), n, m;
		double *churn = series(&v, r, "steps", "churn", &n);
		double *lost = series(&v, r, "steps", "history_lost", &m);
		assert_true(isnan(churn[0])); /* no S_{t-1} at the first step */
		for (size_t s = 1; s < n; s++) {
			assert_true(churn[s] == 0.0);
			assert_true(lost[s] == 0.0);
		}
		free(churn);
		free(lost);
	}
	/* top-k of each batch moves, and sparse Adam loses history for every
	 * component that enters: history_lost = churn * |S| */
	size_t r = find_run(&v, "topk_batch+sparse_adam", 1), n;
	double *churn = series(&v, r, "steps", "churn", &n);
	double *lost = series(&v, r, "steps", "history_lost", &n);
	double total = 0;
	for (size_t s = 1; s < n; s++) {
		assert_true(lost[s] == churn[s] * 10);
		total += lost[s];
	}
	assert_true(total > 0);
	assert_true(sb_run_info_attr(&v.runs[r], "ever_selected") > 10);
	free(churn);
	free(lost);
	sb_results_view_release(&v);
}

static void test_same_seed_is_bit_identical(void **state)
{
	(void)state;
	assert_int_equal(sh("'%s' run tiny.yaml -o again.h5 --quiet", bin),
			 0);
	struct sb_results_view a, b;
	load(&a, "tiny.h5");
	load(&b, "again.h5");
	assert_int_equal(a.n_runs, b.n_runs);
	static const char *const cols[][2] = {
		{"steps", "loss"},        {"steps", "grad_norm"},
		{"steps", "retained"},    {"steps", "oracle_retained"},
		{"steps", "churn"},       {"evals", "val_loss"},
		{"evals", "val_accuracy"},
	};
	for (size_t i = 0; i < a.n_runs; i++) {
		assert_string_equal(a.runs[i].id, b.runs[i].id);
		for (size_t c = 0; c < sizeof cols / sizeof *cols; c++) {
			size_t na, nb;
			double *x = series(&a, i, cols[c][0], cols[c][1], &na);
			double *y = series(&b, i, cols[c][0], cols[c][1], &nb);
			assert_int_equal(na, nb);
			assert_memory_equal(x, y, na * sizeof *x);
			free(x);
			free(y);
		}
	}
	/* another seed gives another trajectory */
	size_t n1, n2;
	double *s1 = series(&a, find_run(&a, "random+sparse_adam", 1),
			    "steps", "loss", &n1);
	double *s2 = series(&a, find_run(&a, "random+sparse_adam", 2),
			    "steps", "loss", &n2);
	assert_memory_not_equal(s1, s2, n1 * sizeof *s1);
	free(s1);
	free(s2);
	sb_results_view_release(&a);
	sb_results_view_release(&b);
}

static void test_bad_spec_exits_2_and_writes_nothing(void **state)
{
	(void)state;
	write_file("bad.yaml", "name: bad\n"
			       "dataset: synthetic\n"
			       "modle: {name: mlp}\n");
	assert_int_equal(sh("'%s' run bad.yaml -o bad.h5", bin), 2);
	char *err = slurp("err", NULL);
	assert_non_null(strstr(err, "bad.yaml:3:1: "));
	assert_non_null(strstr(err, "'modle'"));
	free(err);
	assert_false(file_exists("bad.h5"));
	assert_int_equal(sh("'%s' validate bad.yaml", bin), 2);
}

/* Corrupt data and checkpoints are bad input too: found before the
 * results file is created, named with what is wrong, exit 2. */
static void test_corrupt_files_exit_2_and_write_nothing(void **state)
{
	(void)state;
	write_file("garbage.ckpt.h5", "this is not a checkpoint\n");
	write_file("ckpt.yaml",
		   "dataset: {name: synthetic, n_train: 64, n_val: 32,"
		   " n_test: 32}\n"
		   "model: {name: mlp, checkpoint: garbage.ckpt.h5}\n"
		   "policy: dense\n"
		   "optimizer: sgd\n");
	assert_int_equal(sh("'%s' run ckpt.yaml -o ckpt.h5", bin), 2);
	char *err = slurp("err", NULL);
	assert_non_null(strstr(err, "garbage.ckpt.h5"));
	free(err);
	assert_false(file_exists("ckpt.h5"));

	assert_int_equal(sh("mkdir -p fm && for f in train-images-idx3-ubyte "
			    "train-labels-idx1-ubyte t10k-images-idx3-ubyte "
			    "t10k-labels-idx1-ubyte; do printf 'garbage "
			    "bytes here' | gzip > fm/$f.gz; done"), 0);
	write_file("fm.yaml",
		   "dataset: {name: fashion_mnist, path: fm}\n"
		   "model: {name: mlp}\n"
		   "policy: dense\n"
		   "optimizer: sgd\n");
	assert_int_equal(sh("'%s' run fm.yaml -o fm.h5", bin), 2);
	err = slurp("err", NULL);
	assert_non_null(strstr(err, "fm/train-labels-idx1-ubyte.gz"));
	assert_non_null(strstr(err, "byte"));
	free(err);
	assert_false(file_exists("fm.h5"));
}

static void test_completed_results_are_never_rewritten(void **state)
{
	(void)state;
	size_t n0, n1, n2;
	char *before = slurp("tiny.h5", &n0);
	assert_int_equal(sh("'%s' run tiny.yaml -o tiny.h5 --quiet", bin), 2);
	char *err = slurp("err", NULL);
	assert_non_null(strstr(err, "--resume"));
	free(err);
	char *after = slurp("tiny.h5", &n1);
	assert_int_equal(n0, n1);
	assert_memory_equal(before, after, n0);
	/* resuming a complete file trains nothing and changes no series */
	assert_int_equal(sh("'%s' run tiny.yaml -o tiny.h5 --resume", bin), 0);
	err = slurp("err", NULL);
	assert_non_null(strstr(err, "already completed"));
	free(err);
	struct sb_results_view v;
	load(&v, "tiny.h5");
	assert_int_equal(v.n_runs, 8);
	sb_results_view_release(&v);
	free(slurp("tiny.h5", &n2));
	free(before);
	free(after);
}

static void test_divergence_is_marked_and_the_sweep_goes_on(void **state)
{
	(void)state;
	write_file("diverge.yaml",
		   "dataset: {name: synthetic, n_features: 8, n_classes: 3,"
		   " teacher_hidden: 8, n_train: 256, n_val: 64, n_test: 64}\n"
		   "model: {name: mlp, hidden: 16, layers: 1}\n"
		   "train: {steps: 60, batch_size: 16}\n"
		   "policy: dense\n"
		   "optimizer: {name: sgd, lr: [1000, 0.01]}\n");
	assert_int_equal(sh("'%s' run diverge.yaml -o diverge.h5 --quiet", bin),
			 0);
	struct sb_results_view v;
	load(&v, "diverge.h5");
	assert_int_equal(v.n_runs, 2);
	assert_string_equal(v.runs[0].status, "diverged");
	double at = sb_run_info_attr(&v.runs[0], "diverged_step");
	assert_true(at >= 1 && at <= 60);
	size_t n;
	double *loss = series(&v, 0, "steps", "loss", &n);
	assert_int_equal(n, (size_t)at);
	free(loss);
	assert_string_equal(v.runs[1].status, "completed");
	sb_results_view_release(&v);
}

/* A plugin whose init fails fails its own run only: that run is marked
 * failed with init's error, the next run of the sweep completes, and the
 * command exits 1. The core releases the state of the failed init (sb.h):
 * under SANITIZE=1 a leak there is reported on stderr (the exit code stays
 * the run's 1, so the report itself is checked). */
static void test_failed_init_fails_that_run_alone(void **state)
{
	(void)state;
	write_file("noinit.yaml",
		   "dataset: {name: synthetic, n_features: 8, n_classes: 3,"
		   " teacher_hidden: 8, n_train: 256, n_val: 64, n_test: 64}\n"
		   "model: {name: mlp, hidden: 16, layers: 1}\n"
		   "train: {steps: 5, batch_size: 16}\n"
		   "policy: {name: fixed_layers,"
		   " tensors: [[nothing.*], [head.*]]}\n"
		   "optimizer: sgd\n");
	assert_int_equal(sh("'%s' run noinit.yaml -o noinit.h5 --quiet", bin),
			 1);
	char *err = slurp("err", NULL);
	assert_non_null(err);
	assert_null(strstr(err, "Sanitizer"));
	free(err);
	struct sb_results_view v;
	load(&v, "noinit.h5");
	assert_int_equal(v.n_runs, 2);
	assert_string_equal(v.runs[0].status, "failed");
	assert_string_equal(v.runs[1].status, "completed");
	assert_true(sb_run_info_attr(&v.runs[1], "steps_done") == 5);
	sb_results_view_release(&v);
	assert_int_equal(sh("h5dump -a '/runs/%s/error' noinit.h5",
			    "fixed_layers+sgd,tensors=[nothing.*],seed=0"), 0);
	char *out = slurp("out", NULL);
	assert_non_null(strstr(out, "fixed_layers: tensor pattern 'nothing.*' "
			       "matches no tensor"));
	free(out);
}

static void test_killed_run_keeps_flushed_rows(void **state)
{
	(void)state;
	write_file("long.yaml",
		   "dataset: {name: synthetic, n_train: 4096}\n"
		   "model: {name: mlp, hidden: 256, layers: 3}\n"
		   "train: {steps: 1000000, batch_size: 64, eval_every: 20}\n"
		   "policy: topk_batch\n"
		   "optimizer: sparse_adam\n");
	char out[512], spec[512];
	snprintf(out, sizeof out, "%s/long.h5", tmpdir);
	snprintf(spec, sizeof spec, "%s/long.yaml", tmpdir);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		execl(bin, bin, "run", spec, "--quiet", "-o", out,
		      (char *)NULL);
		_exit(127);
	}
	/* find the file's first flushes, then kill without warning */
	sleep(3);
	kill(pid, SIGKILL);
	int st;
	waitpid(pid, &st, 0);
	assert_true(WIFSIGNALED(st));
	struct sb_results_view v;
	load(&v, "long.h5");
	assert_int_equal(v.n_runs, 1);
	assert_string_equal(v.runs[0].status, "running");
	size_t n;
	double *val = series(&v, 0, "evals", "val_loss", &n);
	assert_true(n >= 1);
	assert_true(isfinite(val[0]));
	free(val);
	sb_results_view_release(&v);
}

/* Every policy with every optimizer (tests/specs/comparison.yaml): all
 * complete; the oracle bound holds; a fixed set trains identically under
 * dense and sparse Adam (same moments for the components that move). */
static void test_every_policy_with_every_optimizer(void **state)
{
	(void)state;
	assert_int_equal(sh("'%s' run '%s/tests/specs/comparison.yaml' "
			    "-o comparison.h5 --quiet", bin, repo), 0);
	struct sb_results_view v;
	load(&v, "comparison.h5");
	assert_int_equal(v.n_runs, 30); /* 5 policies x 3 optimizers x 2 */
	const char *policies[] = {"dense", "topk_batch", "topk_first",
				  "random", "fixed_layers"};
	const char *optimizers[] = {"dense_adam", "sparse_adam", "sgd"};
	for (size_t i = 0; i < v.n_runs; i++) {
		assert_string_equal(v.runs[i].status, "completed");
		size_t n, m;
		double *kept = series(&v, i, "steps", "retained", &n);
		double *best = series(&v, i, "steps", "oracle_retained", &m);
		assert_int_equal(n, 30);
		for (size_t s = 0; s < n; s++)
			/* no set of |S| components holds more energy than the
			 * top |S|; 1e-12 covers summation order */
			assert_true(kept[s] <= best[s] + 1e-12);
		free(kept);
		free(best);
	}
	for (size_t p = 0; p < 5; p++) {
		for (size_t o = 0; o < 3; o++) {
			char name[64];
			snprintf(name, sizeof name, "%s+%s", policies[p],
				 optimizers[o]);
			find_run(&v, name, 1);
		}
		if (!strcmp(policies[p], "topk_batch"))
			continue;
		char dense[64], sparse[64];
		snprintf(dense, sizeof dense, "%s+dense_adam", policies[p]);
		snprintf(sparse, sizeof sparse, "%s+sparse_adam", policies[p]);
		size_t n1, n2;
		double *a = series(&v, find_run(&v, dense, 2), "steps", "loss",
				   &n1);
		double *b = series(&v, find_run(&v, sparse, 2), "steps",
				   "loss", &n2);
		assert_int_equal(n1, n2);
		for (size_t s = 0; s < n1; s++)
			/* the same float operations on the same moments: equal
			 * up to the order of BLAS sums, which is fixed */
			assert_true(fabs(a[s] - b[s]) <= 1e-6 * fabs(a[s]));
		free(a);
		free(b);
	}
	sb_results_view_release(&v);
}

/* Anyone can read the file with the standard tools: h5dump, and h5py
 * (Debian's python3-h5py, under the system Python). */
/* Occurrences of needle in text. */
static size_t count(const char *text, const char *needle)
{
	size_t n = 0;
	for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* Both read every attribute; h5py gives the fixed-length strings as bytes
 * to decode (docs/results.md, "h5py / pandas"). */
static void test_h5dump_and_h5py_read_the_file(void **state)
{
	(void)state;
	assert_int_equal(sh("h5dump -A tiny.h5"), 0);
	char *out = slurp("out", NULL);
	assert_non_null(strstr(out, "GROUP \"runs\""));
	assert_non_null(strstr(out, "ATTRIBUTE \"spec\""));
	assert_non_null(strstr(out, "\"completed\""));
	size_t dump_attrs = count(out, "ATTRIBUTE \"");
	size_t dump_strings = count(out, "H5T_STRING");
	free(out);
	write_file("read.py",
		   "import h5py, math\n"
		   "f = h5py.File('tiny.h5', 'r')\n"
		   "n = [0, 0]  # attributes read, of which strings\n"
		   "def read_attrs(obj):\n"
		   "    for value in obj.attrs.values():\n"
		   "        n[0] += 1\n"
		   "        if isinstance(value, bytes):\n"
		   "            value.decode('utf-8')\n"
		   "            n[1] += 1\n"
		   "read_attrs(f)\n"
		   "f.visititems(lambda name, obj: read_attrs(obj))\n"
		   "run = f['runs']['topk_batch+sparse_adam,seed=1']\n"
		   "loss = run['steps']['loss'][:]\n"
		   "print(len(loss), repr(float(loss.sum())),\n"
		   "      run.attrs['status'].decode(),\n"
		   "      run['steps']['loss'].attrs['units'].decode(),\n"
		   "      len(run['evals']['val_loss'][:]),\n"
		   "      f.attrs['experiment'].decode(), n[0], n[1])\n");
	assert_int_equal(sh("/usr/bin/python3 read.py"), 0);
	out = slurp("out", NULL);
	struct sb_results_view v;
	load(&v, "tiny.h5");
	size_t n;
	double *loss = series(&v, find_run(&v, "topk_batch+sparse_adam", 1),
			      "steps", "loss", &n);
	double sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += loss[i];
	/* h5py sums the same doubles; numpy's pairwise summation may differ
	 * from this sequential sum in the last bits only */
	int len, evals;
	double py_sum;
	size_t py_attrs, py_strings;
	char status[32], units[32], name[32];
	assert_int_equal(sscanf(out, "%d %lf %31s %31s %d %31s %zu %zu", &len,
				&py_sum, status, units, &evals, name,
				&py_attrs, &py_strings), 8);
	assert_int_equal(len, 20);
	assert_true(fabs(py_sum - sum) <= 1e-12 * fabs(sum));
	assert_string_equal(status, "completed");
	assert_string_equal(units, "nats");
	assert_int_equal(evals, 5);
	assert_string_equal(name, "tiny");
	/* every attribute h5dump lists, every string among them as bytes */
	assert_true(dump_attrs > 100);
	assert_int_equal(py_attrs, dump_attrs);
	assert_int_equal(py_strings, dump_strings);
	free(loss);
	free(out);
	sb_results_view_release(&v);
}

static void test_informational_commands(void **state)
{
	(void)state;
	assert_int_equal(sh("'%s' list policies", bin), 0);
	char *out = slurp("out", NULL);
	const char *names[] = {"dense", "topk_batch", "topk_first", "random",
			       "fixed_layers", "density", "granularity"};
	for (size_t i = 0; i < sizeof names / sizeof *names; i++)
		assert_non_null(strstr(out, names[i]));
	free(out);
	assert_int_equal(sh("'%s' show tiny.h5", bin), 0);
	out = slurp("out", NULL);
	assert_non_null(strstr(out, "topk_first+sparse_adam,seed=2"));
	assert_non_null(strstr(out, "completed"));
	free(out);
	const char *cmds[] = {"run", "validate", "list", "show", "plot",
			      "report"};
	for (size_t i = 0; i < 6; i++)
		assert_int_equal(sh("'%s' %s --help", bin, cmds[i]), 0);
	assert_int_equal(sh("'%s' frobnicate", bin), 2);
	assert_int_equal(sh("'%s' show tiny.yaml", bin), 2);
	assert_int_equal(sh("'%s' validate tiny.yaml", bin), 0);
	out = slurp("out", NULL);
	assert_non_null(strstr(out, "8 runs"));
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_run_writes_every_run),
		cmocka_unit_test(test_topk_batch_retains_the_oracle),
		cmocka_unit_test(test_fixed_sets_do_not_churn),
		cmocka_unit_test(test_same_seed_is_bit_identical),
		cmocka_unit_test(test_bad_spec_exits_2_and_writes_nothing),
		cmocka_unit_test(test_corrupt_files_exit_2_and_write_nothing),
		cmocka_unit_test(test_completed_results_are_never_rewritten),
		cmocka_unit_test(test_divergence_is_marked_and_the_sweep_goes_on),
		cmocka_unit_test(test_failed_init_fails_that_run_alone),
		cmocka_unit_test(test_killed_run_keeps_flushed_rows),
		cmocka_unit_test(test_every_policy_with_every_optimizer),
		cmocka_unit_test(test_h5dump_and_h5py_read_the_file),
		cmocka_unit_test(test_informational_commands),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
