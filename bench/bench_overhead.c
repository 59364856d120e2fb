/* bench_overhead.c - what the harness adds to a step at the shape of
 * GPT-2 124M (V 50257, T 64, 12 layers, 12 heads, width 768, batch 4;
 * random weights on random tokens), each a real run of the harness (run.c's
 * loop) with as many OpenBLAS threads as cores, at density 1% with
 * sparse_adam:
 *   - overhead, metrics off: everything timed in a step but the forward and
 *     backward passes (t_select, t_update, t_metrics: the divergence check),
 *     as a share of the step, for every policy; topk_batch's selection is
 *     its own figure, apart from its overhead;
 *   - metrics, every step: t_metrics of topk_batch (its full gradient is
 *     the method's, so t_metrics is the measurements alone: grad_norm,
 *     retained, oracle_retained, churn) as a share of the rest of the step.
 * The figures are those of the fastest step after the first. Prints them
 * and RESULT lines; asserts nothing. */
#include "result.h"
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

#define VOCAB 50257
#define SEQ 64
#define BATCH 4
#define STEPS 3
#define OVERHEAD_TARGET 0.05 /* of the step */
#define METRICS_TARGET 0.10  /* of the step without them */

/* One run per method; the fixed set is two attention projections, 0.95%
 * of the parameters; the other policies with their defaults (lisa: one
 * block of twelve at a time, 5.7%, not 1%), but fisher's warm-up of one
 * batch, as topk_first's: the steps measured are after it. */
static const char methods[] =
	"  - name: topk_batch\n"
	"    policy: topk_batch\n"
	"    optimizer: {name: sparse_adam, lr: 1e-5}\n"
	"  - name: topk_first\n"
	"    policy: topk_first\n"
	"    optimizer: {name: sparse_adam, lr: 1e-5}\n"
	"  - name: random\n"
	"    policy: random\n"
	"    optimizer: {name: sparse_adam, lr: 1e-5}\n"
	"  - name: fixed_layers\n"
	"    policy: {name: fixed_layers,"
	" tensors: ['h.1[01].attn.c_proj.weight']}\n"
	"    optimizer: {name: sparse_adam, lr: 1e-5}\n"
	"  - policy: [magnitude, topk_refresh, drop_regrow, lisa]\n"
	"    optimizer: {name: sparse_adam, lr: 1e-5}\n"
	"  - name: fisher\n"
	"    policy: {name: fisher, batches: 1}\n"
	"    optimizer: {name: sparse_adam, lr: 1e-5}\n"
	"  - name: topk_batch_metrics\n"
	"    policy: topk_batch\n"
	"    optimizer: {name: sparse_adam, lr: 1e-5}\n"
	"    train: {metrics_every: 1}\n";

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

enum { FWD, BWD, SEL, UPD, MET, N_COLS };
static const char *const cols[N_COLS] = {"t_forward", "t_backward",
					 "t_select", "t_update", "t_metrics"};

/* The phases of the fastest step after the first, in seconds. */
static int fastest_step(const struct sb_results_view *v, size_t run,
			double *phase, struct sb_error *err)
{
	double *x[N_COLS] = {0};
	size_t n = 0;
	int rc = 0;
	for (int c = 0; c < N_COLS && !rc; c++)
		rc = sb_results_series(v, run, "steps", cols[c], &x[c], &n,
				       err);
	if (!rc && n < 2)
		rc = sb_error(err, "run %zu has %zu steps", run, n);
	if (!rc) {
		size_t best = 1;
		double best_t = 0;
		for (size_t i = 1; i < n; i++) {
			double t = 0;
			for (int c = 0; c < N_COLS; c++)
				t += x[c][i];
			if (i == 1 || t < best_t) {
				best = i;
				best_t = t;
			}
		}
		for (int c = 0; c < N_COLS; c++)
			phase[c] = x[c][best];
	}
	for (int c = 0; c < N_COLS; c++)
		free(x[c]);
	return rc;
}

static void report(const struct sb_results_view *v, double (*ph)[N_COLS])
{
	printf("\nGPT-2 124M shape (V %d, T %d, L 12, NH 12, C 768, batch %d), "
	       "density 1%%, sparse_adam, fastest of steps 2..%d, ms\n",
	       VOCAB, SEQ, BATCH, STEPS);
	printf("%-20s %8s %8s %8s %8s %8s %8s %9s\n", "method", "fwd", "bwd",
	       "select", "update", "metrics", "step", "overhead");
	for (size_t r = 0; r < v->n_runs; r++) {
		const double *p = ph[r];
		/* the policy's name: "magnitude+sparse_adam" -> "magnitude" */
		char m[64];
		snprintf(m, sizeof m, "%s", v->runs[r].method);
		m[strcspn(m, "+")] = '\0';
		double step = p[FWD] + p[BWD] + p[SEL] + p[UPD] + p[MET];
		bool metrics = strstr(m, "metrics") != NULL;
		bool topk = !strncmp(m, "topk_batch", 10);
		/* topk_batch's selection is its own figure */
		double over = p[UPD] + (metrics ? 0 : p[MET]) +
			      (topk ? 0 : p[SEL]);
		printf("%-20s %8.1f %8.1f %8.1f %8.1f %8.1f %8.1f %8.1f%%\n",
		       m, 1e3 * p[FWD], 1e3 * p[BWD], 1e3 * p[SEL],
		       1e3 * p[UPD], 1e3 * p[MET], 1e3 * step,
		       100 * over / step);
		char name[96];
		if (metrics) {
			snprintf(name, sizeof name, "metrics_gpt2_%s_1pct",
				 "topk_batch");
			sb_bench_result(name, p[MET], step - p[MET],
					METRICS_TARGET);
			continue;
		}
		snprintf(name, sizeof name, "overhead_gpt2_%s_1pct", m);
		sb_bench_result(name, over, step, OVERHEAD_TARGET);
		if (topk) {
			snprintf(name, sizeof name, "select_gpt2_%s_1pct", m);
			sb_bench_result(name, p[SEL], step, 0);
		}
	}
}

static int bench(const char *dir, int threads, struct sb_error *err)
{
	char *tokens = sb_asprintf("%s/tokens.bin", dir);
	char *spec_path = sb_asprintf("%s/bench.yaml", dir);
	char *out = sb_asprintf("%s/bench.h5", dir);
	char *text = sb_asprintf(
		"name: bench_overhead\n"
		"dataset: {name: llmc_tokens, train: '%s', val: '%s',"
		" seq_len: %d, vocab: %d}\n"
		"model: {name: gpt, n_layer: 12, n_head: 12, n_embd: 768,"
		" block_size: %d}\n"
		"train: {steps: %d, batch_size: %d, eval_every: 0,"
		" eval_batches: 1, eval_batch_size: %d, metrics_every: 0,"
		" test: false, threads: %d}\n"
		"seed: 1\ndensity: 0.01\nmethods:\n%s",
		tokens, tokens, SEQ, VOCAB, SEQ, STEPS, BATCH, BATCH, threads,
		methods);
	FILE *f = fopen(spec_path, "w");
	int rc = -1;
	if (!f || fputs(text, f) < 0 || fclose(f) ||
	    write_tokens(tokens, (size_t)SEQ * BATCH * 64, VOCAB)) {
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
	double (*ph)[N_COLS] = sb_calloc(v.n_runs, sizeof *ph);
	rc = 0;
	for (size_t r = 0; r < v.n_runs && !rc; r++)
		rc = fastest_step(&v, r, ph[r], err);
	if (!rc)
		report(&v, ph);
	free(ph);
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

int main(void)
{
	char dir[] = "/tmp/sb_bench_XXXXXX";
	struct sb_error err = {{0}};
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	int threads = cores < 1 ? 1 : cores > 8 ? 8 : (int)cores;
	if (!mkdtemp(dir)) {
		fprintf(stderr, "bench_overhead: cannot make %s\n", dir);
		return 1;
	}
	printf("harness overhead and metrics per step, %d thread%s\n", threads,
	       threads == 1 ? "" : "s");
	int rc = bench(dir, threads, &err);
	if (rc)
		fprintf(stderr, "bench_overhead: %s\n", err.msg);
	rmdir(dir);
	return rc ? 1 : 0;
}
