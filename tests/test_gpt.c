/* test_gpt.c - the GPT-2 model (models/gpt.c): its tensor table, GPT-2's
 * initialisation, the gradient of every tensor against central finite
 * differences of the loss for both heads, determinism, learning a repeating
 * sequence, and the configuration errors. */
#include "support.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sb.h"
#include "util.h"

extern const struct sb_model sb_model_gpt;

/* ---- fixtures ---------------------------------------------------------- */

struct config {
	const char *head;
	const char *n_layer, *n_head, *n_embd, *block_size, *vocab;
};

/* The tiny model of the gradient checks: L 2, heads 2, C 8, T 6, V 11. */
static const struct config tiny = {"lm", "2", "2", "8", "6", "0"};

static struct sb_data_info token_data(enum sb_task task, size_t vocab,
				      size_t seq_len, size_t n_classes)
{
	struct sb_data_info info = {0};
	info.task = task;
	info.vocab = vocab;
	info.seq_len = seq_len;
	info.n_classes = n_classes;
	return info;
}

static int model_open(struct sb_test_model *f, const struct config *c,
		      const struct sb_data_info *info, size_t max_batch,
		      struct sb_error *err)
{
	struct sb_values cfg;
	assert_int_equal(sb_values_defaults(&cfg, sb_model_gpt.params, err), 0);
	if (c->head)
		assert_int_equal(sb_values_set(&cfg, "head", c->head, err), 0);
	if (c->n_layer)
		assert_int_equal(sb_values_set(&cfg, "n_layer", c->n_layer, err), 0);
	if (c->n_head)
		assert_int_equal(sb_values_set(&cfg, "n_head", c->n_head, err), 0);
	if (c->n_embd)
		assert_int_equal(sb_values_set(&cfg, "n_embd", c->n_embd, err), 0);
	if (c->block_size)
		assert_int_equal(sb_values_set(&cfg, "block_size",
					       c->block_size, err), 0);
	if (c->vocab)
		assert_int_equal(sb_values_set(&cfg, "vocab", c->vocab, err), 0);
	int rc = sb_test_model_open(f, &sb_model_gpt, &cfg, info, max_batch,
				    err);
	sb_values_release(&cfg);
	return rc;
}

static void batch_alloc(struct sb_batch *b, size_t n, size_t seq_len)
{
	memset(b, 0, sizeof *b);
	b->n = n;
	b->tokens = sb_calloc(n * seq_len, sizeof *b->tokens);
	b->targets = sb_calloc(n * seq_len, sizeof *b->targets);
	b->lengths = sb_calloc(n, sizeof *b->lengths);
}

static void batch_release(struct sb_batch *b)
{
	free(b->tokens);
	free(b->targets);
	free(b->lengths);
}

/* Random tokens; LM targets are the next token, with the last position of
 * each row and one more ignored (negative). */
static void lm_batch(struct sb_batch *b, size_t n, size_t T, size_t V,
		     uint64_t seed)
{
	struct sb_rng rng;
	sb_rng_seed(&rng, seed);
	batch_alloc(b, n, T);
	for (size_t i = 0; i < n * T; i++)
		b->tokens[i] = (int32_t)sb_rng_below(&rng, V);
	for (size_t r = 0; r < n; r++)
		for (size_t t = 0; t < T; t++)
			b->targets[r * T + t] = t + 1 < T ?
				b->tokens[r * T + t + 1] : -1;
	b->targets[1] = -1;
}

/* The parameters of a fresh model, moved away from the initial point so
 * that every tensor (norm gains, biases, the head) has a sizeable and
 * distinctive gradient. */
static void perturbed_params(struct sb_test_model *f, uint64_t seed)
{
	struct sb_rng rng;
	sb_model_gpt.init_params(f->priv, f->params, seed);
	sb_rng_seed(&rng, seed + 1);
	for (size_t i = 0; i < f->layout.n_params; i++)
		f->params[i] += 0.3f * (float)sb_rng_normal(&rng);
}

/* Every component of every tensor against the central difference of the
 * mean loss. The model computes in float: the loss (~2.5) carries a
 * rounding error near 1e-6, 5e-5 after division by 2h = 2e-2. Truncation,
 * h^2 f'''/6, is the larger term: at most 0.5% of a component here (the
 * largest, ~1, are the classify head's embeddings; the error shrinks tenfold
 * with a step 3x smaller, as h^2 should). Absolute 1e-3 plus 3% relative
 * leaves a sixfold margin and still flags any missing or wrong term. */
#define MODEL_H 1e-2f
#define MODEL_ATOL 1e-3
#define MODEL_RTOL 3e-2

static void check_model_grad(struct sb_test_model *f, const struct sb_batch *b)
{
	double worst = 0.0;
	size_t nonzero = 0;

	memset(f->grad, 0, f->layout.n_params * sizeof *f->grad);
	sb_test_model_loss(f, b);
	sb_model_gpt.backward(f->priv, f->params, NULL, f->grad);
	for (size_t ti = 0; ti < f->layout.n_tensors; ti++) {
		const struct sb_tensor *t = &f->layout.tensors[ti];
		for (size_t j = 0; j < t->size; j++) {
			size_t i = t->offset + j;
			float keep = f->params[i];
			f->params[i] = keep + MODEL_H;
			double up = sb_test_model_loss(f, b);
			f->params[i] = keep - MODEL_H;
			double down = sb_test_model_loss(f, b);
			f->params[i] = keep;
			double step = (double)(keep + MODEL_H) -
				      (double)(keep - MODEL_H);
			double fd = (up - down) / step;
			double e = fabs(fd - f->grad[i]);
			if (e > MODEL_ATOL + MODEL_RTOL * fabs(fd))
				fail_msg("%s[%zu]: analytic %.7g, finite "
					 "difference %.7g", t->name, j,
					 f->grad[i], fd);
			worst = e > worst ? e : worst;
			nonzero += fabs(fd) > 1e-3;
		}
	}
	/* the check means something only if most gradients are not tiny */
	assert_true(nonzero > f->layout.n_params / 2);
	print_message("  %zu components, worst error %.2g\n",
		      f->layout.n_params, worst);
}

/* ---- the tensor table -------------------------------------------------- */

static void test_default_param_count(void **state)
{
	(void)state;
	struct sb_test_model f;
	struct sb_error err;
	struct sb_data_info info = token_data(SB_TASK_LM, 256, 128, 0);
	const struct config defaults = {0};

	assert_int_equal(model_open(&f, &defaults, &info, 2, &err), 0);
	assert_int_equal(f.layout.n_params, 842496);
	assert_int_equal(f.layout.n_tensors, 2 + 4 * 12 + 2);
	assert_int_equal(f.layout.n_layers, 4);
	sb_test_model_close(&f);
}

static void test_tensor_table(void **state)
{
	(void)state;
	struct sb_test_model f;
	struct sb_error err;
	struct sb_data_info info = token_data(SB_TASK_SEQ_CLASSIFY, 11, 6, 3);
	struct config c = tiny;
	c.head = "classify";
	const char *block[12] = {
		"ln_1.weight", "ln_1.bias", "attn.c_attn.weight",
		"attn.c_attn.bias", "attn.c_proj.weight", "attn.c_proj.bias",
		"ln_2.weight", "ln_2.bias", "mlp.c_fc.weight", "mlp.c_fc.bias",
		"mlp.c_proj.weight", "mlp.c_proj.bias",
	};
	const size_t bshape[12][2] = {
		{8, 0}, {8, 0}, {24, 8}, {24, 0}, {8, 8}, {8, 0},
		{8, 0}, {8, 0}, {32, 8}, {32, 0}, {8, 32}, {8, 0},
	};

	assert_int_equal(model_open(&f, &c, &info, 3, &err), 0);
	const struct sb_layout *lay = &f.layout;
	assert_int_equal(lay->n_tensors, 2 + 2 * 12 + 4);
	assert_string_equal(lay->tensors[0].name, "wte.weight");
	assert_int_equal(lay->tensors[0].shape[0], 11);
	assert_int_equal(lay->tensors[0].shape[1], 8);
	assert_string_equal(lay->tensors[1].name, "wpe.weight");
	assert_int_equal(lay->tensors[1].shape[0], 6);
	for (size_t l = 0; l < 2; l++)
		for (size_t k = 0; k < 12; k++) {
			const struct sb_tensor *t = &lay->tensors[2 + l * 12 + k];
			char name[64];
			snprintf(name, sizeof name, "h.%zu.%s", l, block[k]);
			assert_string_equal(t->name, name);
			assert_int_equal(t->layer, (int)l);
			assert_int_equal(t->ndim, bshape[k][1] ? 2 : 1);
			assert_int_equal(t->shape[0], bshape[k][0]);
			if (bshape[k][1])
				assert_int_equal(t->shape[1], bshape[k][1]);
		}
	const char *tail[4] = {"ln_f.weight", "ln_f.bias", "cls.weight",
			       "cls.bias"};
	for (size_t i = 0; i < 4; i++) {
		assert_string_equal(lay->tensors[26 + i].name, tail[i]);
		assert_int_equal(lay->tensors[26 + i].layer, SB_LAYER_NONE);
	}
	assert_int_equal(sb_test_tensor(lay, "cls.weight")->shape[0], 3);
	assert_int_equal(sb_test_tensor(lay, "cls.weight")->shape[1], 8);
	assert_int_equal(lay->tensors[0].layer, SB_LAYER_NONE);
	/* contiguous, in order, covering every parameter */
	size_t off = 0;
	for (size_t i = 0; i < lay->n_tensors; i++) {
		assert_int_equal(lay->tensors[i].offset, off);
		off += lay->tensors[i].size;
	}
	assert_int_equal(off, lay->n_params);
	sb_test_model_close(&f);
}

static void test_vocab_param_widens_embedding(void **state)
{
	(void)state;
	struct sb_test_model f;
	struct sb_error err;
	struct sb_data_info info = token_data(SB_TASK_LM, 11, 6, 0);
	struct config c = tiny;
	c.vocab = "16";

	assert_int_equal(model_open(&f, &c, &info, 1, &err), 0);
	assert_int_equal(sb_test_tensor(&f.layout, "wte.weight")->shape[0], 16);
	sb_test_model_close(&f);
}

/* ---- initialisation ---------------------------------------------------- */

static void test_init_scheme(void **state)
{
	(void)state;
	struct sb_test_model f;
	struct sb_error err;
	struct sb_data_info info = token_data(SB_TASK_LM, 256, 128, 0);
	const struct config defaults = {0};

	assert_int_equal(model_open(&f, &defaults, &info, 1, &err), 0);
	sb_model_gpt.init_params(f.priv, f.params, 7);
	for (size_t ti = 0; ti < f.layout.n_tensors; ti++) {
		const struct sb_tensor *t = &f.layout.tensors[ti];
		const float *p = f.params + t->offset;
		bool gain = strstr(t->name, "ln_") &&
			    strstr(t->name, ".weight");
		if (t->ndim == 1) {
			for (size_t j = 0; j < t->size; j++)
				assert_true(p[j] == (gain ? 1.0f : 0.0f));
			continue;
		}
		double ss = 0.0, sum = 0.0;
		for (size_t j = 0; j < t->size; j++) {
			ss += (double)p[j] * p[j];
			sum += p[j];
		}
		double sd = sqrt(ss / (double)t->size);
		double want = strstr(t->name, "c_proj") ? 0.02 / sqrt(8.0) :
			      0.02;
		/* the smallest tensor (c_proj, 16384 draws) estimates its
		 * standard deviation within 1/sqrt(2n) ~ 0.6%: 5% is over
		 * eight standard errors */
		assert_float_equal(sd, want, 0.05 * want);
		assert_float_equal(sum / (double)t->size, 0.0, 0.1 * want);
	}
	sb_test_model_close(&f);
}

static void test_init_reproducible(void **state)
{
	(void)state;
	struct sb_test_model f;
	struct sb_error err;
	struct sb_data_info info = token_data(SB_TASK_LM, 11, 6, 0);

	assert_int_equal(model_open(&f, &tiny, &info, 3, &err), 0);
	sb_test_model_check_init(&f);
	sb_test_model_close(&f);
}

static void test_fresh_loss_is_log_vocab(void **state)
{
	(void)state;
	struct sb_test_model f;
	struct sb_error err;
	struct sb_batch b;
	struct sb_data_info info = token_data(SB_TASK_LM, 256, 128, 0);
	const struct config defaults = {0};

	assert_int_equal(model_open(&f, &defaults, &info, 2, &err), 0);
	sb_model_gpt.init_params(f.priv, f.params, 1);
	lm_batch(&b, 2, 128, 256, 5);
	/* logits are ln_f outputs (unit variance) against wte rows of std
	 * 0.02 over C = 128: std 0.23, which raises the expected loss above
	 * ln V by about var/2 = 0.026; 0.06 allows twice that */
	double loss = sb_test_model_loss(&f, &b);
	assert_float_equal(loss, log(256.0), 0.06);
	batch_release(&b);
	sb_test_model_close(&f);
}

/* ---- gradients --------------------------------------------------------- */

static void test_grad_lm(void **state)
{
	(void)state;
	struct sb_test_model f;
	struct sb_error err;
	struct sb_batch b;
	struct sb_data_info info = token_data(SB_TASK_LM, 11, 6, 0);

	assert_int_equal(model_open(&f, &tiny, &info, 3, &err), 0);
	perturbed_params(&f, 11);
	lm_batch(&b, 3, 6, 11, 12);
	check_model_grad(&f, &b);
	batch_release(&b);
	sb_test_model_close(&f);
}

/* Rows of lengths 6, 3 and 1 whose padding holds tokens outside the
 * vocabulary: those must be ignored, and the gradient stays exact. */
static void classify_batch(struct sb_batch *b, uint64_t seed)
{
	struct sb_rng rng;
	const int32_t lengths[3] = {6, 3, 1}, labels[3] = {2, 0, 1};
	sb_rng_seed(&rng, seed);
	batch_alloc(b, 3, 6);
	for (size_t r = 0; r < 3; r++) {
		b->lengths[r] = lengths[r];
		b->targets[r] = labels[r];
		for (size_t t = 0; t < 6; t++)
			b->tokens[r * 6 + t] = (int)t < lengths[r] ?
				(int32_t)sb_rng_below(&rng, 11) : -7;
	}
}

static void test_grad_classify(void **state)
{
	(void)state;
	struct sb_test_model f;
	struct sb_error err;
	struct sb_batch b;
	struct sb_data_info info = token_data(SB_TASK_SEQ_CLASSIFY, 11, 6, 3);
	struct config c = tiny;
	c.head = "classify";

	assert_int_equal(model_open(&f, &c, &info, 4, &err), 0);
	perturbed_params(&f, 21);
	classify_batch(&b, 22);
	check_model_grad(&f, &b);
	batch_release(&b);
	sb_test_model_close(&f);
}

static void test_classify_ignores_padding(void **state)
{
	(void)state;
	struct sb_test_model f;
	struct sb_error err;
	struct sb_batch b;
	struct sb_eval ev1, ev2;
	struct sb_data_info info = token_data(SB_TASK_SEQ_CLASSIFY, 11, 6, 3);
	struct config c = tiny;
	c.head = "classify";

	assert_int_equal(model_open(&f, &c, &info, 3, &err), 0);
	perturbed_params(&f, 31);
	classify_batch(&b, 32);
	sb_model_gpt.forward(f.priv, f.params, &b, &ev1);
	b.tokens[1 * 6 + 4] = 5; /* padding of row 1 */
	b.tokens[2 * 6 + 3] = 9; /* padding of row 2 */
	sb_model_gpt.forward(f.priv, f.params, &b, &ev2);
	assert_memory_equal(&ev1, &ev2, sizeof ev1);
	assert_true(ev1.count == 3.0);
	batch_release(&b);
	sb_test_model_close(&f);
}

/* ---- the whole model against a plain reference ------------------------- */

/* GPT-2 written out position by position in double from the definition:
 * the reference for the composition (pre-norm order, head layout, tied
 * head) that the per-kernel tests cannot see. x is [T,C] scratch. */
static const float *P(const struct sb_test_model *f, const char *fmt, size_t l)
{
	char name[64];
	snprintf(name, sizeof name, fmt, l);
	return sb_test_params(f, name);
}

static void ref_layernorm(double *out, const double *x, const float *w,
			  const float *b, size_t C)
{
	double m = 0, v = 0;
	for (size_t i = 0; i < C; i++)
		m += x[i] / (double)C;
	for (size_t i = 0; i < C; i++)
		v += (x[i] - m) * (x[i] - m) / (double)C;
	for (size_t i = 0; i < C; i++)
		out[i] = (x[i] - m) / sqrt(v + 1e-5) * w[i] + b[i];
}

static void ref_linear(double *out, const double *x, const float *w,
		       const float *b, size_t C, size_t OC)
{
	for (size_t o = 0; o < OC; o++) {
		out[o] = b ? b[o] : 0.0;
		for (size_t i = 0; i < C; i++)
			out[o] += x[i] * w[o * C + i];
	}
}

static double ref_lm_loss_sum(const struct sb_test_model *f,
			      const int32_t *tokens, const int32_t *targets,
			      size_t L, size_t NH, size_t C, size_t T, size_t V)
{
	const size_t hs = C / NH;
	double *x = calloc(T * C, sizeof *x), *a = calloc(T * C, sizeof *a);
	double *qkv = calloc(T * 3 * C, sizeof *qkv);
	double *y = calloc(T * C, sizeof *y), *h = calloc(4 * C, sizeof *h);
	double *proj = calloc(C, sizeof *proj), *logits = calloc(V, sizeof *logits);
	double *w = calloc(T, sizeof *w), loss = 0;

	for (size_t t = 0; t < T; t++)
		for (size_t i = 0; i < C; i++)
			x[t * C + i] = P(f, "wte.weight", 0)[tokens[t] * C + i] +
				       P(f, "wpe.weight", 0)[t * C + i];
	for (size_t l = 0; l < L; l++) {
		for (size_t t = 0; t < T; t++) {
			ref_layernorm(a + t * C, x + t * C,
				      P(f, "h.%zu.ln_1.weight", l),
				      P(f, "h.%zu.ln_1.bias", l), C);
			ref_linear(qkv + t * 3 * C, a + t * C,
				   P(f, "h.%zu.attn.c_attn.weight", l),
				   P(f, "h.%zu.attn.c_attn.bias", l), C, 3 * C);
		}
		for (size_t hd = 0; hd < NH; hd++)
			for (size_t t = 0; t < T; t++) {
				double z = 0, m = -INFINITY;
				for (size_t j = 0; j <= t; j++) {
					w[j] = 0;
					for (size_t i = 0; i < hs; i++)
						w[j] += qkv[t * 3 * C + hd * hs + i] *
							qkv[j * 3 * C + C + hd * hs + i];
					w[j] /= sqrt((double)hs);
					m = w[j] > m ? w[j] : m;
				}
				for (size_t j = 0; j <= t; j++)
					z += (w[j] = exp(w[j] - m));
				for (size_t i = 0; i < hs; i++) {
					double acc = 0;
					for (size_t j = 0; j <= t; j++)
						acc += w[j] / z *
						       qkv[j * 3 * C + 2 * C + hd * hs + i];
					y[t * C + hd * hs + i] = acc;
				}
			}
		for (size_t t = 0; t < T; t++) {
			double *xt = x + t * C;
			ref_linear(proj, y + t * C,
				   P(f, "h.%zu.attn.c_proj.weight", l),
				   P(f, "h.%zu.attn.c_proj.bias", l), C, C);
			for (size_t i = 0; i < C; i++)
				xt[i] += proj[i];
			ref_layernorm(a, xt, P(f, "h.%zu.ln_2.weight", l),
				      P(f, "h.%zu.ln_2.bias", l), C);
			ref_linear(h, a, P(f, "h.%zu.mlp.c_fc.weight", l),
				   P(f, "h.%zu.mlp.c_fc.bias", l), C, 4 * C);
			for (size_t i = 0; i < 4 * C; i++)
				h[i] = 0.5 * h[i] * (1 + tanh(sqrt(2 / M_PI) *
					(h[i] + 0.044715 * h[i] * h[i] * h[i])));
			ref_linear(proj, h, P(f, "h.%zu.mlp.c_proj.weight", l),
				   P(f, "h.%zu.mlp.c_proj.bias", l), 4 * C, C);
			for (size_t i = 0; i < C; i++)
				xt[i] += proj[i];
		}
	}
	for (size_t t = 0; t < T; t++) {
		if (targets[t] < 0)
			continue;
		ref_layernorm(a, x + t * C, P(f, "ln_f.weight", 0),
			      P(f, "ln_f.bias", 0), C);
		ref_linear(logits, a, P(f, "wte.weight", 0), NULL, C, V);
		double m = -INFINITY, z = 0;
		for (size_t v = 0; v < V; v++)
			m = logits[v] > m ? logits[v] : m;
		for (size_t v = 0; v < V; v++)
			z += exp(logits[v] - m);
		loss += m + log(z) - logits[targets[t]];
	}
	free(x);
	free(a);
	free(qkv);
	free(y);
	free(h);
	free(proj);
	free(logits);
	free(w);
	return loss;
}

static void test_forward_matches_reference(void **state)
{
	(void)state;
	struct sb_test_model f;
	struct sb_error err;
	struct sb_batch b;
	struct sb_eval ev;
	struct sb_data_info info = token_data(SB_TASK_LM, 11, 6, 0);

	assert_int_equal(model_open(&f, &tiny, &info, 3, &err), 0);
	perturbed_params(&f, 61);
	lm_batch(&b, 3, 6, 11, 62);
	sb_model_gpt.forward(f.priv, f.params, &b, &ev);
	double ref = 0;
	for (size_t r = 0; r < 3; r++)
		ref += ref_lm_loss_sum(&f, b.tokens + r * 6, b.targets + r * 6,
				       2, 2, 8, 6, 11);
	/* float through two blocks against double: the summed loss (~40 over
	 * 14 targets) agrees to ~1e-6 relative; 1e-5 leaves a tenfold margin */
	assert_float_equal(ev.loss_sum, ref, 1e-5 * ref);
	batch_release(&b);
	sb_test_model_close(&f);
}

/* ---- the gradient of a selection S ------------------------------------- */

/* The model of the selection checks: L 3, heads 2, C 24, T 8, V 97. The
 * MLP's 96 rows and the vocabulary's 97 exceed the 64 rows the kernel of
 * selected entries takes at a time, so S spans several of its blocks. */
static const struct config sel_model = {"lm", "3", "2", "24", "10", "0"};

/* S's gradient against the full one. The products differ in order and
 * blocking (dot products or a small sgemm against the full sgemm), each
 * rounding at 2^-24 over sums of N = 24 rows; the worst error measured over
 * these masks is below 1e-6 of max(|g_i|, the RMS of g over S), so 1e-5
 * leaves a tenfold margin, while a missing term (a dropped share of the
 * tied wte, a stage back-propagated once too few) is an error of order 1. */
#define SEL_RTOL 1e-5

static void check_masks(struct sb_test_model *f, const struct sb_batch *b,
			const struct sb_test_pick *const *masks,
			const size_t *n_picks, size_t n_masks)
{
	struct sb_selection sel = {0};
	for (size_t i = 0; i < n_masks; i++) {
		sb_test_mask(&sel, &f->layout, masks[i], n_picks[i], 70 + i);
		assert_true(sel.k > 0);
		double worst = sb_test_check_selected_grad(f, b, &sel,
							   SEL_RTOL);
		print_message("  mask %zu: |S| %zu, worst relative error "
			      "%.2g\n", i, sel.k, worst);
	}
	sb_selection_release(&sel);
}

#define PICKS(...) ((const struct sb_test_pick[]){__VA_ARGS__})
#define N_PICKS(...) (sizeof PICKS(__VA_ARGS__) / sizeof(struct sb_test_pick))

static void test_selected_grad_lm(void **state)
{
	(void)state;
	struct sb_test_model f;
	struct sb_error err;
	struct sb_batch b;
	struct sb_data_info info = token_data(SB_TASK_LM, 97, 8, 0);
	/* each mask names some tensors partly, some wholly, the rest not */
	const struct sb_test_pick mixed[] = {
		/* stops in block 1, embeddings untouched */
		{"h.2.attn.c_attn.weight", 0.3}, {"h.2.mlp.c_proj.weight", 1},
		{"h.2.ln_2.bias", 0.5}, {"h.1.mlp.c_fc.weight", 0.05},
		{"h.1.attn.c_proj.bias", 1}, {"ln_f.weight", 1},
	}, bottom[] = {
		/* the tied wte in part: the head's share and the lookup's */
		{"wte.weight", 0.1}, {"wpe.weight", 0.3},
		{"h.0.ln_1.weight", 1}, {"h.0.attn.c_attn.bias", 0.5},
		{"h.1.mlp.c_proj.weight", 0.02},
	}, tied_whole[] = {
		{"wte.weight", 1}, {"h.2.mlp.c_fc.bias", 1},
		{"h.1.ln_1.bias", 0.5},
	}, norm_only[] = {
		/* stops right after ln_f */
		{"ln_f.bias", 0.5},
	}, one_stage[] = {
		/* the first stage of the first block only */
		{"h.0.mlp.c_proj.weight", 0.2},
	}, attention_proj[] = {
		{"h.2.attn.c_proj.weight", 0.5}, {"h.2.mlp.c_fc.weight", 0.01},
	};
	const struct sb_test_pick *masks[] = {
		mixed, bottom, tied_whole, norm_only, one_stage, attention_proj,
	};
	const size_t n_picks[] = {
		6, 5, 3, 1, 1, 2,
	};

	assert_int_equal(model_open(&f, &sel_model, &info, 3, &err), 0);
	perturbed_params(&f, 61);
	lm_batch(&b, 3, 8, 97, 62);
	check_masks(&f, &b, masks, n_picks, 6);

	/* a tenth of every tensor */
	struct sb_test_pick *every = sb_calloc(f.layout.n_tensors,
					       sizeof *every);
	for (size_t t = 0; t < f.layout.n_tensors; t++)
		every[t] = (struct sb_test_pick){f.layout.tensors[t].name, 0.1};
	const struct sb_test_pick *all[] = {every};
	check_masks(&f, &b, all, &f.layout.n_tensors, 1);
	free(every);
	batch_release(&b);
	sb_test_model_close(&f);
}

static void test_selected_grad_classify(void **state)
{
	(void)state;
	struct sb_test_model f;
	struct sb_error err;
	struct sb_batch b;
	struct sb_data_info info = token_data(SB_TASK_SEQ_CLASSIFY, 11, 6, 3);
	struct config c = tiny;
	c.head = "classify";
	const struct sb_test_pick deep[] = {
		{"cls.weight", 0.5}, {"cls.bias", 1}, {"h.1.ln_1.weight", 0.5},
		{"wte.weight", 0.2},
	}, head_only[] = {
		/* stops at the classifier */
		{"cls.weight", 0.3},
	};
	const struct sb_test_pick *masks[] = {deep, head_only};
	const size_t n_picks[] = {4, 1};

	assert_int_equal(model_open(&f, &c, &info, 4, &err), 0);
	perturbed_params(&f, 63);
	classify_batch(&b, 64);
	check_masks(&f, &b, masks, n_picks, 2);
	batch_release(&b);
	sb_test_model_close(&f);
}

/* ---- determinism and batch sizes --------------------------------------- */

static void test_forward_bit_identical(void **state)
{
	(void)state;
	struct sb_test_model f;
	struct sb_error err;
	struct sb_batch b;
	struct sb_eval ev1, ev2;
	struct sb_data_info info = token_data(SB_TASK_LM, 64, 32, 0);
	const struct config c = {"lm", "2", "4", "32", "32", "0"};

	assert_int_equal(model_open(&f, &c, &info, 4, &err), 0);
	size_t n = f.layout.n_params;
	float *grad2 = sb_calloc(n, sizeof *grad2);
	sb_model_gpt.init_params(f.priv, f.params, 3);
	lm_batch(&b, 4, 32, 64, 4);
	sb_model_gpt.forward(f.priv, f.params, &b, &ev1);
	sb_model_gpt.backward(f.priv, f.params, NULL, f.grad);
	sb_model_gpt.forward(f.priv, f.params, &b, &ev2);
	sb_model_gpt.backward(f.priv, f.params, NULL, grad2);
	assert_memory_equal(&ev1, &ev2, sizeof ev1);
	assert_memory_equal(f.grad, grad2, n * sizeof *grad2);
	assert_true(ev1.count == 4 * 31 - 1);
	free(grad2);
	batch_release(&b);
	sb_test_model_close(&f);
}

static void test_smaller_batch(void **state)
{
	(void)state;
	struct sb_test_model f;
	struct sb_error err;
	struct sb_batch b;
	struct sb_eval all, one;
	struct sb_data_info info = token_data(SB_TASK_LM, 11, 6, 0);

	assert_int_equal(model_open(&f, &tiny, &info, 3, &err), 0);
	perturbed_params(&f, 41);
	lm_batch(&b, 3, 6, 11, 42);
	sb_model_gpt.forward(f.priv, f.params, &b, &all);
	b.n = 1;
	sb_model_gpt.forward(f.priv, f.params, &b, &one);
	/* row 0 alone: its 4 counted targets (one is ignored, one is the
	 * row's end); rows are independent, so the loss of the first row
	 * alone matches a fresh forward of one row up to float rounding in
	 * differently blocked sgemm calls (~1e-6 relative) */
	assert_true(one.count == 4.0);
	struct sb_batch rest = b;
	rest.n = 2;
	rest.tokens += 6;
	rest.targets += 6;
	struct sb_eval two;
	sb_model_gpt.forward(f.priv, f.params, &rest, &two);
	assert_float_equal(one.loss_sum + two.loss_sum, all.loss_sum,
			   1e-5 * all.loss_sum);
	assert_true(one.count + two.count == all.count);
	assert_true(one.correct + two.correct == all.correct);
	batch_release(&b);
	sb_test_model_close(&f);
}

/* ---- learning ---------------------------------------------------------- */

/* Three fixed rows in which a token's successor depends on what came
 * before (after 1 comes 4, 5, 8 or 6), so attention must carry context. */
static void test_learns_repeating_sequence(void **state)
{
	(void)state;
	struct sb_test_model f;
	struct sb_error err;
	struct sb_batch b;
	struct sb_data_info info = token_data(SB_TASK_LM, 11, 6, 0);
	const int32_t rows[3][7] = {
		{3, 1, 4, 1, 5, 9, 2},
		{2, 7, 1, 8, 2, 8, 1},
		{1, 6, 1, 8, 0, 3, 3},
	};

	assert_int_equal(model_open(&f, &tiny, &info, 3, &err), 0);
	sb_model_gpt.init_params(f.priv, f.params, 51);
	batch_alloc(&b, 3, 6);
	for (size_t r = 0; r < 3; r++)
		for (size_t t = 0; t < 6; t++) {
			b.tokens[r * 6 + t] = rows[r][t];
			b.targets[r * 6 + t] = rows[r][t + 1];
		}

	/* Adam (Kingma and Ba, 2015) with the usual betas */
	size_t n = f.layout.n_params;
	float *m = sb_calloc(n, sizeof *m), *v = sb_calloc(n, sizeof *v);
	const float lr = 1e-2f, b1 = 0.9f, b2 = 0.999f, eps = 1e-8f;
	double loss = 0.0, first = sb_test_model_loss(&f, &b);
	int steps = 0;
	for (int step = 1; step <= 400; step++) {
		memset(f.grad, 0, n * sizeof *f.grad);
		loss = sb_test_model_loss(&f, &b);
		if (loss < 0.05)
			break;
		sb_model_gpt.backward(f.priv, f.params, NULL, f.grad);
		float c1 = 1.0f - powf(b1, (float)step);
		float c2 = 1.0f - powf(b2, (float)step);
		for (size_t i = 0; i < n; i++) {
			m[i] = b1 * m[i] + (1 - b1) * f.grad[i];
			v[i] = b2 * v[i] + (1 - b2) * f.grad[i] * f.grad[i];
			f.params[i] -= lr * (m[i] / c1) /
				       (sqrtf(v[i] / c2) + eps);
		}
		steps = step;
	}
	print_message("  loss %.3f -> %.4f in %d steps\n", first, loss,
		      steps);
	assert_true(first > 2.0); /* ln 11 = 2.4 */
	assert_true(loss < 0.1);
	free(m);
	free(v);
	batch_release(&b);
	sb_test_model_close(&f);
}

/* ---- configuration errors ---------------------------------------------- */

static void expect_init_error(const struct config *c,
			      const struct sb_data_info *info,
			      const char *needle)
{
	struct sb_test_model f;
	struct sb_error err = {{0}};
	assert_int_equal(model_open(&f, c, info, 2, &err), -1);
	if (!strstr(err.msg, needle))
		fail_msg("error '%s' does not mention '%s'", err.msg, needle);
	sb_test_model_close(&f);
}

static void test_init_errors(void **state)
{
	(void)state;
	struct sb_data_info lm = token_data(SB_TASK_LM, 11, 6, 0);
	struct sb_data_info cls = token_data(SB_TASK_SEQ_CLASSIFY, 11, 6, 3);
	struct sb_data_info vec = {.task = SB_TASK_VECTOR_CLASSIFY,
				   .n_features = 4, .n_classes = 2};
	struct config c = tiny;

	expect_init_error(&c, &cls, "needs head 'classify'");
	c.head = "classify";
	expect_init_error(&c, &lm, "needs head 'lm'");
	expect_init_error(&c, &vec, "needs token data");
	c = tiny;
	c.n_embd = "10";
	c.n_head = "4";
	expect_init_error(&c, &lm, "'n_embd' 10 is not divisible by 'n_head' 4");
	c = tiny;
	c.vocab = "8";
	expect_init_error(&c, &lm, "'vocab' 8 is smaller");
	c = tiny;
	c.block_size = "5";
	expect_init_error(&c, &lm, "exceeds 'block_size' 5");
	c = tiny;
	c.vocab = "10000000";
	c.n_embd = "1024";
	expect_init_error(&c, &lm, "more than indices reach");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_param_count),
		cmocka_unit_test(test_tensor_table),
		cmocka_unit_test(test_vocab_param_widens_embedding),
		cmocka_unit_test(test_init_scheme),
		cmocka_unit_test(test_init_reproducible),
		cmocka_unit_test(test_fresh_loss_is_log_vocab),
		cmocka_unit_test(test_grad_lm),
		cmocka_unit_test(test_grad_classify),
		cmocka_unit_test(test_classify_ignores_padding),
		cmocka_unit_test(test_selected_grad_lm),
		cmocka_unit_test(test_selected_grad_classify),
		cmocka_unit_test(test_forward_matches_reference),
		cmocka_unit_test(test_forward_bit_identical),
		cmocka_unit_test(test_smaller_batch),
		cmocka_unit_test(test_learns_repeating_sequence),
		cmocka_unit_test(test_init_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
