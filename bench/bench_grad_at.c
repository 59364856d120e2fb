/* bench_grad_at.c - the selected entries of a weight gradient
 * (models/lib/grad_at.c) by dot products and by a small sgemm, against the
 * full product, at densities from 0.1% to 50% of random entries, for the
 * MLP input of the default GPT (N 2048, C 128, OC 512) and of GPT-2 124M
 * (N 256, C 768, OC 3072), with 1 and 2 OpenBLAS threads. Prints the
 * median of 7 calls in ms; what decides the kernel's GEMM_GAIN. */
#include "sb.h"
#include "util.h"
#include "../models/lib/grad_at.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>

#define REPEATS 7

static int by_value(const void *pa, const void *pb)
{
	double a = *(const double *)pa, b = *(const double *)pb;
	return (a > b) - (a < b);
}

struct shape {
	const char *name;
	size_t N, C, OC;
};

/* The median time of REPEATS calls of the kernel by `method` (-1: its own
 * choice, 0: dots, 1: sgemm, 2: the full product), in ms. */
static double time_method(const struct shape *s, const float *dout,
			  const float *inp, const sb_index *idx, size_t k,
			  float *out, struct sb_grad_scratch *scratch,
			  int method)
{
	double t[REPEATS];
	for (int r = 0; r < REPEATS; r++) {
		double t0 = sb_now();
		if (method == 3)
			cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans,
				    (int)s->OC, (int)s->C, (int)s->N, 1.0f,
				    dout, (int)s->OC, inp, (int)s->C, 1.0f,
				    out, (int)s->C);
		else
			sb_grad_weight_at_with(out, idx, k, 0, dout, inp, s->N,
					       s->C, s->OC, scratch, method);
		t[r] = (sb_now() - t0) * 1e3;
	}
	qsort(t, REPEATS, sizeof *t, by_value);
	return t[REPEATS / 2];
}

int main(void)
{
	static const struct shape shapes[] = {
		{"gpt default c_fc", 2048, 128, 512},
		{"gpt2-124M c_fc", 256, 768, 3072},
	};
	static const double densities[] = {0.001, 0.01, 0.03, 0.1, 0.3, 0.5};
	struct sb_rng rng;
	sb_rng_seed(&rng, 1);

	printf("selected entries of a weight gradient, median of %d calls "
	       "(ms)\n", REPEATS);
	printf("%-18s %7s %8s %9s %9s %9s %9s %9s\n", "shape", "threads",
	       "density", "dots", "sgemm", "rows", "chosen", "full");
	for (size_t s = 0; s < 2; s++) {
		const struct shape *sh = &shapes[s];
		size_t n_w = sh->OC * sh->C;
		float *dout = sb_malloc(sh->N * sh->OC * sizeof *dout);
		float *inp = sb_malloc(sh->N * sh->C * sizeof *inp);
		float *out = sb_calloc(n_w, sizeof *out);
		sb_index *idx = sb_malloc(n_w * sizeof *idx);
		struct sb_grad_scratch scratch = {0};
		for (size_t i = 0; i < sh->N * sh->OC; i++)
			dout[i] = (float)sb_rng_normal(&rng);
		for (size_t i = 0; i < sh->N * sh->C; i++)
			inp[i] = (float)sb_rng_normal(&rng);
		for (int threads = 1; threads <= 2; threads++) {
			openblas_set_num_threads(threads);
			for (size_t d = 0; d < 6; d++) {
				size_t k = 0;
				for (size_t i = 0; i < n_w; i++)
					if (sb_rng_uniform(&rng) < densities[d])
						idx[k++] = (sb_index)i;
				double ms[5];
				for (int m = 0; m < 5; m++)
					ms[m] = time_method(sh, dout, inp, idx,
							    k, out, &scratch,
							    m == 4 ? -1 : m);
				printf("%-18s %7d %7.1f%% %9.3f %9.3f %9.3f "
				       "%9.3f %9.3f\n", sh->name, threads,
				       100 * densities[d], ms[0], ms[1], ms[2],
				       ms[4], ms[3]);
			}
		}
		sb_grad_scratch_release(&scratch);
		free(dout);
		free(inp);
		free(out);
		free(idx);
	}
	return 0;
}
