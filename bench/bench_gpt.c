/* bench_gpt.c - time of one forward and one backward pass of the default
 * GPT-2 model (models/gpt.c: 4 layers, 4 heads, width 128, vocab 256) on
 * random tokens, T 128, batch 8 and 16, with 1 and 2 OpenBLAS threads.
 * Prints the minimum and median of 20 steps; asserts nothing. */
#include "sb.h"
#include "util.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const struct sb_model sb_model_gpt;

static int by_value(const void *pa, const void *pb)
{
	double a = *(const double *)pa, b = *(const double *)pb;
	return (a > b) - (a < b);
}

#define SEQ 128
#define VOCAB 256
#define REPEATS 20

static int bench(size_t batch, int threads)
{
	struct sb_data_info info = {.task = SB_TASK_LM, .vocab = VOCAB,
				    .seq_len = SEQ};
	struct sb_values cfg;
	struct sb_layout layout;
	struct sb_error err;
	struct sb_rng rng;
	struct sb_batch b = {.n = batch};
	struct sb_eval ev;

	openblas_set_num_threads(threads);
	if (sb_values_defaults(&cfg, sb_model_gpt.params, &err) < 0) {
		fprintf(stderr, "bench_gpt: %s\n", err.msg);
		return -1;
	}
	void *priv = sb_calloc(1, sb_model_gpt.priv_size);
	if (sb_model_gpt.init(priv, &cfg, &info, batch, &layout, &err) < 0) {
		fprintf(stderr, "bench_gpt: %s\n", err.msg);
		sb_values_release(&cfg);
		free(priv);
		return -1;
	}
	float *params = sb_malloc(layout.n_params * sizeof *params);
	float *grad = sb_calloc(layout.n_params, sizeof *grad);
	sb_model_gpt.init_params(priv, params, 1);
	b.tokens = sb_malloc(batch * SEQ * sizeof *b.tokens);
	b.targets = sb_malloc(batch * SEQ * sizeof *b.targets);
	sb_rng_seed(&rng, 2);
	for (size_t i = 0; i < batch * SEQ; i++)
		b.tokens[i] = (int32_t)sb_rng_below(&rng, VOCAB);
	for (size_t i = 0; i < batch * SEQ; i++)
		b.targets[i] = (i + 1) % SEQ ? b.tokens[i + 1] : -1;

	/* one untimed step brings the pages and BLAS threads in */
	sb_model_gpt.forward(priv, params, &b, &ev);
	sb_model_gpt.backward(priv, params, NULL, grad);
	double t_fwd[REPEATS], t_bwd[REPEATS], t_step[REPEATS];
	for (int r = 0; r < REPEATS; r++) {
		double t0 = sb_now();
		sb_model_gpt.forward(priv, params, &b, &ev);
		double t1 = sb_now();
		sb_model_gpt.backward(priv, params, NULL, grad);
		double t2 = sb_now();
		t_fwd[r] = (t1 - t0) * 1e3;
		t_bwd[r] = (t2 - t1) * 1e3;
		t_step[r] = (t2 - t0) * 1e3;
	}
	/* the machine is shared: the minimum is the undisturbed figure, the
	 * median what a run sees */
	qsort(t_fwd, REPEATS, sizeof *t_fwd, by_value);
	qsort(t_bwd, REPEATS, sizeof *t_bwd, by_value);
	qsort(t_step, REPEATS, sizeof *t_step, by_value);
	printf("%6zu %4d %8d %8.1f %7.1f %8.1f %7.1f %8.1f %7.1f %9.0f\n",
	       batch, SEQ, threads, t_fwd[0], t_fwd[REPEATS / 2], t_bwd[0],
	       t_bwd[REPEATS / 2], t_step[0], t_step[REPEATS / 2],
	       (double)(batch * SEQ) / (t_step[0] * 1e-3));

	free(b.tokens);
	free(b.targets);
	free(params);
	free(grad);
	sb_model_gpt.release(priv);
	free(priv);
	sb_values_release(&cfg);
	return 0;
}

int main(void)
{
	static const size_t batches[] = {8, 16};
	static const int threads[] = {1, 2};

	printf("gpt default config (L 4, heads 4, C 128, V %d), %d steps "
	       "each\n", VOCAB, REPEATS);
	printf("%6s %4s %8s %17s %17s %17s %9s\n", "", "", "",
	       "forward ms", "backward ms", "step ms", "tokens/s");
	printf("%6s %4s %8s %8s %7s %8s %7s %8s %7s %9s\n", "batch", "T",
	       "threads", "min", "median", "min", "median", "min", "median",
	       "(min)");
	for (size_t i = 0; i < 2; i++)
		for (size_t j = 0; j < 2; j++)
			if (bench(batches[i], threads[j]) < 0)
				return 1;
	return 0;
}
