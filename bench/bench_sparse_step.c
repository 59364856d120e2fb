/* bench_sparse_step.c - the step time of each policy as a ratio to the
 * full fine-tuning step (dense + dense_adam) measured in the same run, at
 * densities 0.1%, 1% and 10%, for the default GPT (V 256, T 128, 4 layers,
 * 4 heads, width 128, batch 16) and the shape of GPT-2 124M (V 50257, T 64,
 * 12 layers, 12 heads, width 768, batch 4), random weights on random
 * tokens. Each is a real run of the harness (run.c's loop, metrics off),
 * with 1 OpenBLAS thread unless `--threads N`: a step is t_forward +
 * t_backward + t_select + t_update over the steps after the first. The
 * machine may be shared: the minimum over the steps is the undisturbed
 * figure, and ratios are to the mean of the full fine-tuning runs before
 * and after the others. As every method's forward pass does the same work,
 * a second ratio divides each step by its own forward pass (the median of
 * step / forward over the steps, against full fine-tuning's), which cancels
 * a load that changed between runs. Asserts nothing. */
#include "sb.h"
#include "util.h"
#include "io/results.h"
#include "run/experiment.h"
#include "spec/spec.h"
#include "../models/lib/llmc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct shape {
	const char *name, *model;
	size_t vocab, seq_len, batch;
	long steps;
};

static const struct shape shapes[] = {
	{"default GPT (V 256, T 128, L 4, NH 4, C 128, batch 16)",
	 "{name: gpt, n_layer: 4, n_head: 4, n_embd: 128, block_size: 128}",
	 256, 128, 16, 24},
	{"GPT-2 124M shape (V 50257, T 64, L 12, NH 12, C 768, batch 4)",
	 "{name: gpt, n_layer: 12, n_head: 12, n_embd: 768, block_size: 64}",
	 50257, 64, 4, 6},
};

/* The methods, in the order they run; full fine-tuning first and last, to
 * see how far the machine drifted meanwhile. */
static const char methods[] =
	"  - name: full\n"
	"    policy: dense\n"
	"    optimizer: {name: dense_adam, lr: 1e-5}\n"
	"  - policy: [topk_batch, topk_first, random]\n"
	"    optimizer: {name: sparse_adam, lr: 1e-5}\n"
	"  - name: last_block\n"
	"    policy: {name: fixed_layers, layers: [-1], tensors: ['ln_f.*']}\n"
	"    optimizer: {name: sparse_adam, lr: 1e-5}\n"
	"  - name: last_block+wte\n"
	"    policy: {name: fixed_layers, layers: [-1],"
	" tensors: ['ln_f.*', wte.weight]}\n"
	"    optimizer: {name: sparse_adam, lr: 1e-5}\n"
	"  - name: full_again\n"
	"    policy: dense\n"
	"    optimizer: {name: dense_adam, lr: 1e-5}\n";

/* A token shard of n random tokens below vocab, in llm.c's format. */
static int write_tokens(const char *path, size_t n, size_t vocab)
{
	int32_t header[256] = {SB_LLMC_TOKENS_MAGIC, 1, (int32_t)n};
	uint16_t *tok = sb_malloc(n * sizeof *tok);
	struct sb_rng rng;
	sb_rng_seed(&rng, 7);
	for (size_t i = 0; i < n; i++)
		tok[i] = (uint16_t)sb_rng_below(&rng, vocab);
	FILE *f = fopen(path, "wb");
	int rc = f && fwrite(header, sizeof header, 1, f) == 1 &&
			 fwrite(tok, sizeof *tok, n, f) == n
		? 0 : -1;
	if (f && fclose(f))
		rc = -1;
	free(tok);
	return rc;
}

static int by_value(const void *pa, const void *pb)
{
	double a = *(const double *)pa, b = *(const double *)pb;
	return (a > b) - (a < b);
}

/* Over steps 2..: the fastest and the median whole step, each phase at
 * the fastest step, in ms, and the median of step / forward. */
struct timing {
	double min, median, fwd, bwd, sel, upd;
	double per_fwd;
};

static int timing_of(const struct sb_results_view *v, size_t run,
		     struct timing *t, struct sb_error *err)
{
	static const char *const cols[4] = {"t_forward", "t_backward",
					    "t_select", "t_update"};
	double *x[4] = {0}, *step = NULL;
	size_t n = 0;
	int rc = 0;
	for (int c = 0; c < 4 && !rc; c++)
		rc = sb_results_series(v, run, "steps", cols[c], &x[c], &n,
				       err);
	if (!rc && n < 2)
		rc = sb_error(err, "run %zu has %zu steps", run, n);
	if (!rc) {
		step = sb_malloc(n * sizeof *step);
		size_t best = 1;
		for (size_t i = 1; i < n; i++) {
			step[i] = x[0][i] + x[1][i] + x[2][i] + x[3][i];
			best = step[i] < step[best] ? i : best;
		}
		*t = (struct timing){
			.min = step[best] * 1e3, .fwd = x[0][best] * 1e3,
			.bwd = x[1][best] * 1e3, .sel = x[2][best] * 1e3,
			.upd = x[3][best] * 1e3,
		};
		double *per = sb_malloc(n * sizeof *per);
		for (size_t i = 1; i < n; i++)
			per[i] = step[i] / x[0][i];
		qsort(per + 1, n - 1, sizeof *per, by_value);
		t->per_fwd = per[1 + (n - 1) / 2];
		free(per);
		qsort(step + 1, n - 1, sizeof *step, by_value);
		t->median = step[1 + (n - 1) / 2] * 1e3;
	}
	for (int c = 0; c < 4; c++)
		free(x[c]);
	free(step);
	return rc;
}

static int bench_shape(const struct shape *s, const char *dir, int threads,
		       struct sb_error *err)
{
	char *tokens = sb_asprintf("%s/tokens_%zu.bin", dir, s->vocab);
	char *spec_path = sb_asprintf("%s/bench.yaml", dir);
	char *out = sb_asprintf("%s/bench_%zu.h5", dir, s->vocab);
	size_t n_tok = s->seq_len * s->batch * 64;
	char *text = sb_asprintf(
		"name: bench_sparse_step\n"
		"dataset: {name: llmc_tokens, train: '%s', val: '%s',"
		" seq_len: %zu, vocab: %zu}\n"
		"model: %s\n"
		"train: {steps: %ld, batch_size: %zu, eval_every: 0,"
		" eval_batches: 1, eval_batch_size: %zu, metrics_every: 0,"
		" test: false, threads: %d}\n"
		"seed: 1\ndensity: [0.001, 0.01, 0.1]\nmethods:\n%s",
		tokens, tokens, s->seq_len, s->vocab, s->model, s->steps,
		s->batch, s->batch, threads, methods);
	FILE *f = fopen(spec_path, "w");
	int rc = -1;
	if (!f || fputs(text, f) < 0 || fclose(f) ||
	    write_tokens(tokens, n_tok, s->vocab)) {
		sb_error(err, "cannot write the bench's files in '%s'", dir);
		goto out;
	}
	struct sb_spec spec;
	if (sb_spec_load(&spec, spec_path, err))
		goto out;
	struct sb_progress prog;
	sb_progress_init(&prog, true);
	struct sb_experiment_opts opts = {.out = out};
	remove(out);
	int ran = sb_experiment_run(&spec, &opts, &prog, err);
	sb_spec_release(&spec);
	if (ran)
		goto out;

	struct sb_results_view v;
	if (sb_results_load(&v, out, err))
		goto out;
	struct timing *t = sb_calloc(v.n_runs, sizeof *t);
	rc = 0;
	for (size_t r = 0; r < v.n_runs && !rc; r++)
		rc = timing_of(&v, r, &t[r], err);
	if (!rc && v.n_runs >= 2) {
		/* the full runs come first and last */
		double full = (t[0].min + t[v.n_runs - 1].min) / 2;
		double full_per = (t[0].per_fwd + t[v.n_runs - 1].per_fwd) / 2;
		printf("\n%s, %d thread%s, steps 2..%ld\n", s->name, threads,
		       threads == 1 ? "" : "s", s->steps);
		printf("%-22s %-7s %9s %6s %9s %8s %8s %7s %7s %9s\n",
		       "method", "density", "min ms", "ratio", "median ms",
		       "fwd ms", "bwd ms", "sel ms", "upd ms", "ratio/fwd");
		for (size_t r = 0; r < v.n_runs; r++) {
			const struct sb_run_info *ri = &v.runs[r];
			char dens[16] = "-";
			if (strstr(ri->setting, "density"))
				snprintf(dens, sizeof dens, "%g%%",
					 100 * sb_run_info_attr(ri, "density"));
			printf("%-22s %-7s %9.1f %6.2f %9.1f %8.1f %8.1f %7.1f "
			       "%7.1f %9.2f\n", ri->method, dens, t[r].min,
			       t[r].min / full, t[r].median, t[r].fwd,
			       t[r].bwd, t[r].sel, t[r].upd,
			       t[r].per_fwd / full_per);
		}
	}
	free(t);
	sb_results_view_release(&v);
out:
	remove(tokens);
	remove(spec_path);
	remove(out);
	free(tokens);
	free(spec_path);
	free(out);
	free(text);
	return rc;
}

/* bench_sparse_step [--only default|gpt2] [--threads N] */
int main(int argc, char **argv)
{
	char dir[] = "/tmp/sb_bench_XXXXXX";
	struct sb_error err = {{0}};
	size_t first = 0, n = 2;
	int threads = 1;
	for (int a = 1; a < argc; a++) {
		if (!strcmp(argv[a], "--only") && a + 1 < argc) {
			first = strcmp(argv[++a], "default") ? 1 : 0;
			n = first + 1;
		} else if (!strcmp(argv[a], "--threads") && a + 1 < argc)
			threads = atoi(argv[++a]);
		else {
			fprintf(stderr, "usage: bench_sparse_step "
				"[--only default|gpt2] [--threads N]\n");
			return 2;
		}
	}
	if (!mkdtemp(dir)) {
		fprintf(stderr, "bench_sparse_step: cannot make %s\n", dir);
		return 1;
	}
	printf("step time by policy (sparse_adam; full = dense + dense_adam): "
	       "the fastest step after the first, and its ratio to full "
	       "fine-tuning's\n");
	int rc = 0;
	for (size_t s = first; s < n && !rc; s++)
		rc = bench_shape(&shapes[s], dir, threads < 1 ? 1 : threads,
				 &err);
	if (rc)
		fprintf(stderr, "bench_sparse_step: %s\n", err.msg);
	rmdir(dir);
	return rc ? 1 : 0;
}
