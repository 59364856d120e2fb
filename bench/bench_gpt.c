/* bench_gpt.c - one forward and full backward pass of the GPT-2 model
 * (models/gpt.c) on random tokens, for three shapes, against its GEMM floor:
 * the time cblas_sgemm alone takes, in the same run with the same threads,
 * for every matrix product of the step (gemm_floor_*). Steps and passes of
 * the floor's products alternate, and each keeps its fastest, so both see
 * the same load. Prints the minimum and median over repeats, and one line per
 * shape for scripts:
 *   RESULT gpt_step_<name> <step seconds (min)> <floor seconds> 1.3
 * Arguments: the shapes to run (default, medium, gpt2_124m); none: all.
 * Asserts nothing. */
#include "result.h"
#include "sb.h"
#include "util.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const struct sb_model sb_model_gpt;

/* A model shape and the batch it is timed on. vocab is the model's
 * embedding rows; data_vocab the tokens drawn (GPT-2 pads 50257 to 50304). */
struct gpt_shape {
	const char *name;
	size_t vocab, data_vocab, T, L, NH, C, B;
	int repeats;
};

/* The step's largest ratio to its floor that meets the target. */
#define STEP_TARGET 1.3

static const struct gpt_shape shapes[] = {
	{"default", 256, 256, 128, 4, 4, 128, 16, 20},
	{"medium", 256, 256, 256, 6, 6, 384, 8, 10},
	{"gpt2_124m", 50304, 50257, 64, 12, 12, 768, 4, 5},
};

static int by_value(const void *pa, const void *pb)
{
	double a = *(const double *)pa, b = *(const double *)pb;
	return (a > b) - (a < b);
}

/* ---- the GEMM floor ---------------------------------------------------- */

/* One product shape of the step: C [M,N] (+)= op(A) [M,K] . op(B) [K,N],
 * done `count` times (a whole number), of which only the share `part` of
 * the FLOPs is needed (causal attention needs the lower triangle of its
 * [T,T] products only: part (T+1)/(2T), at the rate of the whole product). */
struct gemm_shape {
	bool ta, tb;
	size_t M, N, K;
	double count, part;
};

/* The products of one forward and full backward pass: each linear layer's
 * forward, input gradient and weight gradient (the tied head's too), and
 * per batch row and head the attention's two forward and four backward
 * products. Returns how many it wrote into out (at most 32). */
static size_t gpt_gemm_shapes(struct gemm_shape *out,
			      const struct gpt_shape *s)
{
	const size_t N = s->B * s->T, C = s->C, T = s->T, hs = C / s->NH;
	const double L = (double)s->L, heads = L * (double)(s->B * s->NH);
	const double causal = (double)(T + 1) / (double)(2 * T);
	/* in and out widths of the block's four linear layers, and the head */
	const size_t io[5][2] = {
		{C, 3 * C}, {C, C}, {C, 4 * C}, {4 * C, C}, {C, s->vocab},
	};
	size_t n = 0;

	for (size_t i = 0; i < 5; i++) {
		size_t ic = io[i][0], oc = io[i][1];
		double count = i < 4 ? L : 1.0;
		/* out [N,oc] = inp [N,ic] . W^T; dinp [N,ic] = dout . W;
		 * dW [oc,ic] = dout^T . inp */
		out[n++] = (struct gemm_shape){false, true, N, oc, ic, count, 1};
		out[n++] = (struct gemm_shape){false, false, N, ic, oc, count, 1};
		out[n++] = (struct gemm_shape){true, false, oc, ic, N, count, 1};
	}
	/* scores = q k^T [T,T]; y = att v [T,hs]; d(att) = dy v^T [T,T];
	 * dv = att^T dy, dq = ds k, dk = ds^T q [T,hs] */
	out[n++] = (struct gemm_shape){false, true, T, T, hs, heads, causal};
	out[n++] = (struct gemm_shape){false, false, T, hs, T, heads, causal};
	out[n++] = (struct gemm_shape){false, true, T, T, hs, heads, causal};
	out[n++] = (struct gemm_shape){true, false, T, hs, T, heads, causal};
	out[n++] = (struct gemm_shape){false, false, T, hs, T, heads, causal};
	out[n++] = (struct gemm_shape){true, false, T, hs, T, heads, causal};
	return n;
}

/* The floor of one shape of model: its products, operands as large as the
 * largest of them, and the best pass so far. */
struct gemm_floor {
	struct gemm_shape shape[32];
	size_t n;
	double best;      /* seconds of the fastest pass */
	double attention; /* that pass's share of the attention products */
	float *a, *b, *c;
};

static void gemm_floor_init(struct gemm_floor *f, const struct gpt_shape *s)
{
	size_t na = 0, nb = 0, nc = 0;
	struct sb_rng rng;

	f->n = gpt_gemm_shapes(f->shape, s);
	for (size_t i = 0; i < f->n; i++) {
		const struct gemm_shape *g = &f->shape[i];
		na = g->M * g->K > na ? g->M * g->K : na;
		nb = g->K * g->N > nb ? g->K * g->N : nb;
		nc = g->M * g->N > nc ? g->M * g->N : nc;
	}
	f->best = f->attention = 1e30;
	f->a = sb_malloc(na * sizeof *f->a);
	f->b = sb_malloc(nb * sizeof *f->b);
	f->c = sb_calloc(nc, sizeof *f->c);
	sb_rng_seed(&rng, 5);
	for (size_t i = 0; i < na; i++)
		f->a[i] = (float)sb_rng_normal(&rng);
	for (size_t i = 0; i < nb; i++)
		f->b[i] = (float)sb_rng_normal(&rng);
}

/* One pass of the floor: every product of the step as often as the step
 * does it (the attention's in full, counted at the share they need), so
 * that a pass lasts about as long as the step's products and meets the
 * same load on a shared machine; keeps the fastest pass. Passes alternate
 * with steps. */
static void gemm_floor_round(struct gemm_floor *f)
{
	double pass = 0.0, attention = 0.0;

	for (size_t i = 0; i < f->n; i++) {
		const struct gemm_shape *g = &f->shape[i];
		const int M = (int)g->M, N = (int)g->N, K = (int)g->K;
		const int calls = (int)g->count;
		double t0 = sb_now();
		for (int k = 0; k < calls; k++)
			cblas_sgemm(CblasRowMajor,
				    g->ta ? CblasTrans : CblasNoTrans,
				    g->tb ? CblasTrans : CblasNoTrans, M, N, K,
				    1.0f, f->a, g->ta ? M : K, f->b,
				    g->tb ? K : N, 0.0f, f->c, N);
		double t = (sb_now() - t0) * g->part;
		pass += t;
		if (i + 6 >= f->n)
			attention += t;
	}
	if (pass < f->best) {
		f->best = pass;
		f->attention = attention;
	}
}

/* The GEMM floor of one step in seconds: the fastest pass so far. *gflop
 * gets the step's GFLOP, *attention the floor's share of the attention
 * products (the last six shapes). */
static double gemm_floor_seconds(const struct gemm_floor *f, double *gflop,
				 double *attention)
{
	double flop = 0.0;

	for (size_t i = 0; i < f->n; i++) {
		const struct gemm_shape *g = &f->shape[i];
		flop += 2.0 * (double)g->M * (double)g->N * (double)g->K *
			g->count * g->part;
	}
	*gflop = flop * 1e-9;
	*attention = f->attention;
	return f->best;
}

static void gemm_floor_release(struct gemm_floor *f)
{
	free(f->a);
	free(f->b);
	free(f->c);
}

/* ---- the step ---------------------------------------------------------- */

static int set_int(struct sb_values *cfg, const char *name, size_t v,
		   struct sb_error *err)
{
	char text[32];
	snprintf(text, sizeof text, "%zu", v);
	return sb_values_set(cfg, name, text, err);
}

/* Minimum and median milliseconds of forward, backward and the step. */
struct step_times {
	double fwd[2], bwd[2], step[2];
};

/* Times s->repeats steps of shape s, each followed by a round of the
 * floor's products. */
static int time_step(const struct gpt_shape *s, struct step_times *out,
		     struct gemm_floor *floor)
{
	const size_t B = s->B, T = s->T;
	struct sb_data_info info = {.task = SB_TASK_LM,
				    .vocab = s->data_vocab, .seq_len = T};
	struct sb_values cfg;
	struct sb_layout layout;
	struct sb_error err;
	struct sb_rng rng;
	struct sb_batch b = {.n = B};
	struct sb_eval ev;
	const int R = s->repeats;

	if (sb_values_defaults(&cfg, sb_model_gpt.params, &err) < 0 ||
	    set_int(&cfg, "n_layer", s->L, &err) < 0 ||
	    set_int(&cfg, "n_head", s->NH, &err) < 0 ||
	    set_int(&cfg, "n_embd", s->C, &err) < 0 ||
	    set_int(&cfg, "block_size", T, &err) < 0 ||
	    set_int(&cfg, "vocab", s->vocab, &err) < 0) {
		fprintf(stderr, "bench_gpt: %s\n", err.msg);
		sb_values_release(&cfg);
		return -1;
	}
	void *priv = sb_calloc(1, sb_model_gpt.priv_size);
	if (sb_model_gpt.init(priv, &cfg, &info, B, &layout, &err) < 0) {
		fprintf(stderr, "bench_gpt: %s\n", err.msg);
		sb_values_release(&cfg);
		free(priv);
		return -1;
	}
	float *params = sb_malloc(layout.n_params * sizeof *params);
	float *grad = sb_calloc(layout.n_params, sizeof *grad);
	sb_model_gpt.init_params(priv, params, 1);
	b.tokens = sb_malloc(B * T * sizeof *b.tokens);
	b.targets = sb_malloc(B * T * sizeof *b.targets);
	sb_rng_seed(&rng, 2);
	for (size_t i = 0; i < B * T; i++)
		b.tokens[i] = (int32_t)sb_rng_below(&rng, s->data_vocab);
	for (size_t i = 0; i < B * T; i++)
		b.targets[i] = (i + 1) % T ? b.tokens[i + 1] : -1;

	/* one untimed step brings the pages and BLAS threads in */
	sb_model_gpt.forward(priv, params, &b, &ev);
	sb_model_gpt.backward(priv, params, NULL, grad);
	double *t_fwd = sb_malloc(3 * (size_t)R * sizeof *t_fwd);
	double *t_bwd = t_fwd + R, *t_step = t_fwd + 2 * R;
	for (int r = 0; r < R; r++) {
		double t0 = sb_now();
		sb_model_gpt.forward(priv, params, &b, &ev);
		double t1 = sb_now();
		sb_model_gpt.backward(priv, params, NULL, grad);
		double t2 = sb_now();
		t_fwd[r] = (t1 - t0) * 1e3;
		t_bwd[r] = (t2 - t1) * 1e3;
		t_step[r] = (t2 - t0) * 1e3;
		gemm_floor_round(floor);
	}
	/* the machine is shared: the minimum is the undisturbed figure, the
	 * median what a run sees */
	qsort(t_fwd, (size_t)R, sizeof *t_fwd, by_value);
	qsort(t_bwd, (size_t)R, sizeof *t_bwd, by_value);
	qsort(t_step, (size_t)R, sizeof *t_step, by_value);
	*out = (struct step_times){
		{t_fwd[0], t_fwd[R / 2]}, {t_bwd[0], t_bwd[R / 2]},
		{t_step[0], t_step[R / 2]},
	};

	free(t_fwd);
	free(b.tokens);
	free(b.targets);
	free(params);
	free(grad);
	sb_model_gpt.release(priv);
	free(priv);
	sb_values_release(&cfg);
	return 0;
}

/* Runs the shapes named on the command line, or all. */
int main(int argc, char **argv)
{
	const size_t n_shapes = sizeof shapes / sizeof *shapes;

	printf("gpt step: forward + full backward on random tokens; OpenBLAS "
	       "core %s, %d threads\n", openblas_get_corename(),
	       openblas_get_num_threads());
	printf("floor: cblas_sgemm alone on the step's products, one pass "
	       "between steps, the fastest pass\n");
	printf("%-10s %3s %4s %3s %3s %4s %6s %13s %13s %13s %8s %6s %6s\n",
	       "", "", "", "", "", "", "", "forward ms", "backward ms",
	       "step ms", "floor", "", "");
	printf("%-10s %3s %4s %3s %3s %4s %6s %6s %6s %6s %6s %6s %6s %8s "
	       "%6s %6s\n", "config", "B", "T", "L", "H", "C", "V", "min",
	       "median", "min", "median", "min", "median", "ms", "GFLOP",
	       "ratio");
	for (size_t i = 0; i < n_shapes; i++) {
		const struct gpt_shape *s = &shapes[i];
		bool wanted = argc < 2;
		for (int a = 1; a < argc; a++)
			wanted |= !strcmp(argv[a], s->name);
		if (!wanted)
			continue;
		struct step_times t;
		struct gemm_floor gf;
		double gflop, attention;
		gemm_floor_init(&gf, s);
		gemm_floor_round(&gf); /* warms up; kept if the fastest */
		if (time_step(s, &t, &gf) < 0) {
			gemm_floor_release(&gf);
			return 1;
		}
		double floor = gemm_floor_seconds(&gf, &gflop, &attention);
		gemm_floor_release(&gf);
		printf("%-10s %3zu %4zu %3zu %3zu %4zu %6zu %6.1f %6.1f %6.1f "
		       "%6.1f %6.1f %6.1f %8.1f %6.1f %6.2f\n", s->name, s->B,
		       s->T, s->L, s->NH, s->C, s->vocab, t.fwd[0], t.fwd[1],
		       t.bwd[0], t.bwd[1], t.step[0], t.step[1], floor * 1e3,
		       gflop, t.step[0] * 1e-3 / floor);
		printf("%-10s floor's share of the attention products: "
		       "%.1f ms\n", "", attention * 1e3);
		char figure[64];
		snprintf(figure, sizeof figure, "gpt_step_%s", s->name);
		sb_bench_result(figure, t.step[0] * 1e-3, floor,
				STEP_TARGET);
		fflush(stdout);
	}
	return 0;
}
