/* test_grad_path.c - the sparse gradient path in real runs of the binary
 * (SB_BIN): training does not depend on how often metrics are measured,
 * each run records its memory by part, and a run's peak resident size is
 * its own, not the sweep's. */
#define _POSIX_C_SOURCE 200809L
#include "support.h"

#include "io/checkpoint.h"
#include "io/h5util.h"
#include "io/results.h"
#include "run/inputs.h"
#include "spec/spec.h"
#include "util.h"

#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char tmpdir[256];
static const char *bin;

/* A command in tmpdir, its output in out and err there. */
#define sh(...) sb_test_sh(tmpdir, __VA_ARGS__)

#define write_file(name, text) sb_test_write_text(tmpdir, name, text)

static void load(struct sb_results_view *view, const char *name)
{
	char *path = sb_test_path(tmpdir, name);
	struct sb_error err = {{0}};
	if (sb_results_load(view, path, &err))
		fail_msg("%s", err.msg);
	free(path);
}

static double *series(const struct sb_results_view *view, size_t run,
		      const char *col, size_t *n)
{
	double *v = NULL;
	struct sb_error err = {{0}};
	if (sb_results_series(view, run, "steps", col, &v, n, &err))
		fail_msg("%s", err.msg);
	return v;
}

/* A fortune file of 160 entries of pseudo-random words: byte-level text for
 * a small GPT. */
static void write_fortunes(void)
{
	static const char *const words[] = {
		"the", "sea", "is", "calm", "tonight", "and", "a", "cat",
		"sleeps", "under", "old", "moon", "while", "wind", "sings",
	};
	struct sb_rng rng;
	sb_rng_seed(&rng, 17);
	char *path = sb_test_path(tmpdir, "a.u8");
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	for (int e = 0; e < 160; e++) {
		fprintf(f, "%d", e);
		for (int w = 0; w < 12; w++)
			fprintf(f, " %s", words[sb_rng_below(&rng, 15)]);
		fputs("\n%\n", f);
	}
	fclose(f);
	free(path);
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
	if (sb_test_tmpdir(tmpdir, sizeof tmpdir, "grad_path"))
		return -1;
	write_fortunes();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return sb_test_rmtree(tmpdir);
}

/* ---- metrics do not change training -------------------------------------- */

static const char gpt_data[] =
	"dataset: {name: fortunes, dir: '%s', categories: [a], seq_len: 16,"
	" val_fraction: 0.2, test_fraction: 0.1}\n"
	"model: {name: gpt, n_layer: 2, n_head: 2, n_embd: 16,"
	" block_size: 16}\n";
static const char mlp_data[] =
	"dataset: {name: synthetic, n_features: 8, n_classes: 3,"
	" teacher_hidden: 8, n_train: 256, n_val: 32, n_test: 32}\n"
	"model: {name: mlp, hidden: 80, layers: 2}\n%s";

/* Writes and runs the spec `<name>.yaml`: one run of `method` on the data
 * and model of `data`, saving its parameters to <name>.h5c. */
static void run_one(const char *name, const char *data, const char *method,
		    int metrics_every)
{
	char *data_text = sb_asprintf(data, data == gpt_data ? tmpdir : "");
	char *spec = sb_asprintf(
		"name: %s\n%s"
		"train: {steps: 12, batch_size: 4, eval_every: 0,"
		" eval_batch_size: 8, eval_batches: 1, test: false,"
		" metrics_every: %d, save_checkpoint: %s.h5c}\n"
		"seeds: [3]\nmethods:\n%s",
		name, data_text, metrics_every, name, method);
	char *file = sb_asprintf("%s.yaml", name);
	write_file(file, spec);
	if (sh("'%s' run %s -o %s.h5 --quiet", bin, file, name)) {
		char *errp = sb_test_path(tmpdir, "err");
		char *why = sb_test_read_file(errp, NULL);
		fail_msg("run of %s failed: %s", name, why ? why : "");
	}
	free(file);
	free(spec);
	free(data_text);
}

/* The run's initial parameters (its seed, no checkpoint) and the saved
 * parameters of runs a and b, through the run's own layout. */
static void compare_runs(const char *a, const char *b)
{
	struct sb_spec spec;
	struct sb_inputs in;
	struct sb_error err = {{0}};
	char *yaml = sb_test_path(tmpdir, a);
	char *path = sb_asprintf("%s.yaml", yaml);
	assert_int_equal(sb_spec_load(&spec, path, &err), 0);
	char cwd[512];
	assert_non_null(getcwd(cwd, sizeof cwd));
	assert_int_equal(chdir(tmpdir), 0);
	if (sb_inputs_open(&in, &spec.runs[0], 1, &err))
		fail_msg("%s", err.msg);
	size_t n = in.layout.n_params;
	float *pa = sb_malloc(n * sizeof *pa), *pb = sb_malloc(n * sizeof *pb);
	char *ca = sb_asprintf("%s.h5c", a), *cb = sb_asprintf("%s.h5c", b);
	if (sb_checkpoint_load(ca, &in.layout, pa, NULL, 0, &err) ||
	    sb_checkpoint_load(cb, &in.layout, pb, NULL, 0, &err))
		fail_msg("%s", err.msg);
	assert_int_equal(chdir(cwd), 0);

	/* Within 1e-4 of the parameter (or of 1e-2, the scale of the
	 * initial weights, where it is smaller); the components that moved
	 * are S's, so the same set moving in both says S is the same: a
	 * component in one S and not the other moves by ~lr per step, far
	 * beyond the tolerance. */
	double worst = 0.0;
	size_t moved = 0;
	for (size_t i = 0; i < n; i++) {
		double e = fabs((double)pa[i] - pb[i]) /
			   fmax(fabs((double)pb[i]), 1e-2);
		worst = e > worst ? e : worst;
		bool ma = pa[i] != in.params[i], mb = pb[i] != in.params[i];
		if (ma != mb)
			fail_msg("%s and %s: component %zu moved in one run "
				 "only", a, b, i);
		moved += ma;
	}
	if (!(worst <= 1e-4))
		fail_msg("%s and %s: parameters differ by %.3g relative", a, b,
			 worst);
	assert_true(moved > 0);
	print_message("  %s vs %s: %zu components moved, worst relative "
		      "difference %.3g\n", a, b, moved, worst);

	/* the same sets at every step */
	struct sb_results_view va, vb;
	char *ha = sb_asprintf("%s.h5", a), *hb = sb_asprintf("%s.h5", b);
	load(&va, ha);
	load(&vb, hb);
	const char *const cols[] = {"n_selected", "ever_selected", "loss"};
	for (size_t c = 0; c < 3; c++) {
		size_t na, nb;
		double *x = series(&va, 0, cols[c], &na);
		double *y = series(&vb, 0, cols[c], &nb);
		assert_int_equal(na, nb);
		assert_memory_equal(x, y, na * sizeof *x);
		free(x);
		free(y);
	}
	/* metrics were measured in one run and not in the other */
	size_t nr;
	double *retained = series(&va, 0, "retained", &nr);
	assert_true(isfinite(retained[nr - 1]));
	free(retained);
	retained = series(&vb, 0, "retained", &nr);
	assert_true(isnan(retained[nr - 1]));
	free(retained);

	sb_results_view_release(&va);
	sb_results_view_release(&vb);
	free(ha);
	free(hb);
	free(ca);
	free(cb);
	free(pa);
	free(pb);
	sb_inputs_release(&in);
	sb_spec_release(&spec);
	free(path);
	free(yaml);
}

static const char *const gpt_methods[] = {
	/* a fixed mask over part of every tensor */
	"  - policy: {name: random, density: 0.05}\n"
	"    optimizer: {name: sparse_adam, lr: 0.01}\n",
	/* whole tensors of the last block and ln_f, with sparse momentum */
	"  - policy: {name: fixed_layers, layers: [-1], tensors: ['ln_f.*']}\n"
	"    optimizer: {name: sgd, lr: 0.05, momentum: 0.9,"
	" momentum_buffer: sparse}\n",
	/* two batches of warm-up on the full gradient, then fixed */
	"  - policy: {name: topk_first, density: 0.02, batches: 2}\n"
	"    optimizer: {name: sparse_adam, lr: 0.01}\n",
	/* block 1's tensors in part: back-propagation stops there */
	"  - policy: {name: random, density: 0.1, include: ['h.1.*']}\n"
	"    optimizer: {name: sgd, lr: 0.1}\n",
};

static const char *const mlp_methods[] = {
	"  - policy: {name: random, density: 0.05}\n"
	"    optimizer: {name: sparse_adam, lr: 0.01}\n",
	"  - policy: {name: fixed_layers, tensors: ['head.*', fc1.bias]}\n"
	"    optimizer: {name: sgd, lr: 0.05}\n",
};

static void test_metrics_do_not_change_training(void **state)
{
	(void)state;
	for (size_t m = 0; m < 4 + 2; m++) {
		bool gpt = m < 4;
		const char *data = gpt ? gpt_data : mlp_data;
		const char *method = gpt ? gpt_methods[m] : mlp_methods[m - 4];
		char every[32], never[32];
		snprintf(every, sizeof every, "m%zu_every", m);
		snprintf(never, sizeof never, "m%zu_never", m);
		run_one(every, data, method, 1);
		run_one(never, data, method, 0);
		compare_runs(every, never);
	}
}

/* ---- memory by part ---------------------------------------------------- */

static char *run_attr_str(const struct sb_results_view *v, size_t r,
			  const char *name)
{
	char *group = sb_asprintf("/runs/%s", v->runs[r].id);
	hid_t g = H5Gopen2((hid_t)v->file, group, H5P_DEFAULT);
	assert_true(g >= 0);
	char *s = sb_h5_attr_str(g, name);
	H5Gclose(g);
	free(group);
	return s;
}

/* A big run before a small one: each records the bytes its method needs
 * and a peak resident size of its own. */
static void test_memory_by_part(void **state)
{
	(void)state;
	write_file("mem.yaml",
		   "name: mem\n"
		   "dataset: {name: synthetic, n_features: 512, n_classes: 3,"
		   " teacher_hidden: 8, n_train: 64, n_val: 16, n_test: 16}\n"
		   "model: {name: mlp, hidden: [1024, 16], layers: 3}\n"
		   "train: {steps: 3, batch_size: 8, eval_every: 0,"
		   " eval_batch_size: 8, metrics_every: 0, test: false}\n"
		   "seeds: [1]\n"
		   "methods:\n"
		   "  - policy: dense\n"
		   "    optimizer: {name: dense_adam, lr: 0.001}\n"
		   "  - policy: {name: random, density: 0.01}\n"
		   "    optimizer: {name: sparse_adam, lr: 0.01}\n"
		   "  - policy: {name: topk_batch, density: 0.01}\n"
		   "    optimizer: {name: sparse_adam, lr: 0.01}\n");
	assert_int_equal(sh("'%s' run mem.yaml -o mem.h5 --quiet", bin), 0);
	struct sb_results_view v;
	load(&v, "mem.h5");
	assert_int_equal(v.n_runs, 6);
	double big_peak = 0, small_peak = INFINITY, big_need = 0;
	for (size_t r = 0; r < v.n_runs; r++) {
		const struct sb_run_info *ri = &v.runs[r];
		double n = sb_run_info_attr(ri, "n_params");
		double k = sb_run_info_attr(ri, "trainable");
		double params = sb_run_info_attr(ri, "param_bytes");
		double grad = sb_run_info_attr(ri, "grad_bytes");
		double opt = sb_run_info_attr(ri, "optimizer_state_bytes");
		double acts = sb_run_info_attr(ri, "activation_bytes");
		double peak = sb_run_info_attr(ri, "peak_rss_bytes");
		assert_true(params == 4 * n);
		if (!strcmp(ri->policy, "dense"))
			assert_true(grad == 4 * n); /* S's is the full one */
		else if (!strcmp(ri->policy, "random"))
			assert_true(grad == 4 * k); /* S's alone */
		else
			assert_true(grad == 4 * (n + k)); /* both */
		assert_true(opt > 0 && acts > 0);
		char *scope = run_attr_str(&v, r, "peak_rss_scope");
		assert_non_null(scope);
		assert_string_equal(scope, "run");
		free(scope);
		/* the process holds its code and libraries besides */
		assert_true(peak > params + grad + opt + acts);
		bool big = strstr(ri->id, "hidden=1024") != NULL;
		if (big) {
			big_peak = fmax(big_peak, peak);
			big_need = fmax(big_need, params + grad + opt + acts);
		} else {
			small_peak = fmin(small_peak, peak);
		}
	}
	/* the small runs come after the big ones of their method, and would
	 * have inherited their peak */
	print_message("  peak of a big run %.1f MB, of a small one %.1f MB "
		      "(a big run needs %.1f MB)\n", big_peak / 1e6,
		      small_peak / 1e6, big_need / 1e6);
	assert_true(small_peak < big_peak - big_need / 2);
	sb_results_view_release(&v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_metrics_do_not_change_training),
		cmocka_unit_test(test_memory_by_part),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
