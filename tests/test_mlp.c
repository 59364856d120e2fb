/* test_mlp.c - the mlp model (models/mlp.c): its layout, initialisation,
 * forward against a naive triple-loop reference, gradients against central
 * finite differences, accumulation, and learning a separable problem. */
#include "support.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sb.h"
#include "util.h"

extern const struct sb_model sb_model_mlp;

static int model_open(struct sb_test_model *f, size_t n_features,
		      size_t n_classes, const char *hidden, const char *layers,
		      const char *act, size_t max_batch, struct sb_error *err)
{
	struct sb_values cfg;
	const struct sb_data_info info = {
		.task = SB_TASK_VECTOR_CLASSIFY, .n_features = n_features,
		.n_classes = n_classes,
	};
	assert_int_equal(sb_values_defaults(&cfg, sb_model_mlp.params, err), 0);
	assert_int_equal(sb_values_set(&cfg, "hidden", hidden, err), 0);
	assert_int_equal(sb_values_set(&cfg, "layers", layers, err), 0);
	assert_int_equal(sb_values_set(&cfg, "activation", act, err), 0);
	int rc = sb_test_model_open(f, &sb_model_mlp, &cfg, &info, max_batch,
				    err);
	sb_values_release(&cfg);
	return rc;
}

/* n rows of N(0, 1) features and uniform labels */
static void random_batch(struct sb_batch *b, size_t n, size_t n_features,
			 size_t n_classes, uint64_t seed)
{
	struct sb_rng rng;
	sb_rng_seed(&rng, seed);
	b->n = n;
	b->x = sb_malloc(n * n_features * sizeof *b->x);
	b->targets = sb_malloc(n * sizeof *b->targets);
	for (size_t i = 0; i < n * n_features; i++)
		b->x[i] = (float)sb_rng_normal(&rng);
	for (size_t i = 0; i < n; i++)
		b->targets[i] = (int32_t)sb_rng_below(&rng, n_classes);
}

static void batch_free(struct sb_batch *b)
{
	free(b->x);
	free(b->targets);
}

/* Random init, then biases made non-zero so their paths are exercised. */
static void random_params(struct sb_test_model *f, uint64_t seed)
{
	struct sb_rng rng;
	sb_model_mlp.init_params(f->priv, f->params, seed);
	sb_rng_seed(&rng, seed + 1000);
	for (size_t i = 0; i < f->layout.n_tensors; i++) {
		const struct sb_tensor *t = &f->layout.tensors[i];
		if (t->ndim == 1)
			for (size_t j = 0; j < t->size; j++)
				f->params[t->offset + j] =
					(float)(0.3 * sb_rng_normal(&rng));
	}
}

/* ---- the naive reference ------------------------------------------------ */

/* out = in @ weight^T + bias, by three loops in double.
 * out [n, n_out], in [n, n_in], weight [n_out, n_in] */
static void naive_linear_forward(double *out, const double *in,
				 const float *weight, const float *bias,
				 size_t n, size_t n_in, size_t n_out)
{
	for (size_t r = 0; r < n; r++)
		for (size_t o = 0; o < n_out; o++) {
			double s = bias[o];
			for (size_t i = 0; i < n_in; i++)
				s += in[r * n_in + i] * weight[o * n_in + i];
			out[r * n_out + o] = s;
		}
}

static double naive_activation(double z, const char *act)
{
	if (!strcmp(act, "relu"))
		return z > 0 ? z : 0;
	if (!strcmp(act, "tanh"))
		return tanh(z);
	return 0.5 * z * (1.0 + erf(z / sqrt(2.0)));
}

/* logits [n, n_classes] of the whole network, in double; when `positive`
 * is not NULL it receives, for every hidden pre-activation, whether it is
 * above 0 ([layers, n, hidden]) */
static void naive_logits(double *logits, unsigned char *positive,
			 const struct sb_test_model *f, const char *act,
			 const struct sb_batch *b)
{
	size_t n = b->n, in_dim = f->info.n_features;
	size_t h = sb_test_tensor(&f->layout, "fc0.bias")->size;
	double *in = sb_malloc(n * in_dim * sizeof *in);
	double *out = sb_malloc(n * h * sizeof *out);
	for (size_t i = 0; i < n * in_dim; i++)
		in[i] = b->x[i];
	char wname[32], bname[32];
	for (int l = 0; l < f->layout.n_layers; l++) {
		snprintf(wname, sizeof wname, "fc%d.weight", l);
		snprintf(bname, sizeof bname, "fc%d.bias", l);
		naive_linear_forward(out, in, sb_test_params(f, wname),
				     sb_test_params(f, bname), n, in_dim, h);
		for (size_t i = 0; i < n * h; i++) {
			if (positive)
				positive[(size_t)l * n * h + i] = out[i] > 0;
			out[i] = naive_activation(out[i], act);
		}
		free(in);
		in = out;
		out = sb_malloc(n * h * sizeof *out);
		in_dim = h;
	}
	naive_linear_forward(logits, in, sb_test_params(f, "head.weight"),
			     sb_test_params(f, "head.bias"), n, h,
			     f->info.n_classes);
	free(in);
	free(out);
}

/* ---- tests -------------------------------------------------------------- */

static void test_layout_names_shapes_and_layers(void **state)
{
	(void)state;
	struct sb_test_model f;
	struct sb_error err;
	assert_int_equal(model_open(&f, 5, 3, "7", "3", "relu", 4, &err), 0);
	const struct sb_layout *lo = &f.layout;
	assert_int_equal(lo->n_tensors, 8);
	assert_int_equal(lo->n_layers, 3);
	const char *names[] = {"fc0.weight", "fc0.bias", "fc1.weight",
			       "fc1.bias", "fc2.weight", "fc2.bias",
			       "head.weight", "head.bias"};
	const size_t sizes[] = {35, 7, 49, 7, 49, 7, 21, 3};
	const int layers[] = {0, 0, 1, 1, 2, 2, SB_LAYER_NONE, SB_LAYER_NONE};
	size_t offset = 0;
	for (size_t i = 0; i < 8; i++) {
		const struct sb_tensor *t = &lo->tensors[i];
		assert_string_equal(t->name, names[i]);
		assert_int_equal(t->offset, offset);
		assert_int_equal(t->size, sizes[i]);
		assert_int_equal(t->layer, layers[i]);
		offset += t->size;
	}
	assert_int_equal(lo->n_params, offset);
	assert_int_equal(lo->tensors[0].ndim, 2);
	assert_int_equal(lo->tensors[0].shape[0], 7);
	assert_int_equal(lo->tensors[0].shape[1], 5);
	assert_int_equal(lo->tensors[6].shape[0], 3);
	assert_int_equal(lo->tensors[6].shape[1], 7);
	assert_int_equal(lo->tensors[7].ndim, 1);
	sb_test_model_close(&f);
}

static void test_rejects_other_tasks_and_bad_sizes(void **state)
{
	(void)state;
	struct sb_test_model f;
	struct sb_error err = {{0}};
	struct sb_values cfg;
	assert_int_equal(sb_values_defaults(&cfg, sb_model_mlp.params, &err), 0);
	struct sb_data_info info = {.task = SB_TASK_LM, .vocab = 256,
				    .seq_len = 64};
	struct sb_layout layout = {0};
	void *priv = sb_calloc(1, sb_model_mlp.priv_size);
	assert_int_equal(sb_model_mlp.init(priv, &cfg, &info, 8, &layout, &err),
			 -1);
	assert_non_null(strstr(err.msg, "'lm'"));
	sb_model_mlp.release(priv);
	free(priv);
	sb_values_release(&cfg);

	assert_int_equal(model_open(&f, 5, 1, "7", "2", "relu", 4, &err), -1);
	assert_non_null(strstr(err.msg, "2 classes"));
	sb_test_model_close(&f);
	assert_int_equal(model_open(&f, 5, 3, "7", "17", "relu", 4, &err), -1);
	assert_non_null(strstr(err.msg, "'layers' must be in 1..16"));
	sb_test_model_close(&f);
}

static void test_init_is_reproducible_and_scaled(void **state)
{
	(void)state;
	struct sb_test_model f;
	struct sb_error err;
	assert_int_equal(model_open(&f, 100, 10, "256", "2", "relu", 1, &err), 0);
	sb_test_model_check_init(&f);

	/* biases are zero; weights have mean 0 and std gain/sqrt(fan_in) */
	for (size_t i = 0; i < f.layout.n_tensors; i++) {
		const struct sb_tensor *t = &f.layout.tensors[i];
		const float *w = f.params + t->offset;
		if (t->ndim == 1) {
			for (size_t j = 0; j < t->size; j++)
				assert_true(w[j] == 0.0f);
			continue;
		}
		double sum = 0, sq = 0;
		for (size_t j = 0; j < t->size; j++) {
			sum += w[j];
			sq += (double)w[j] * w[j];
		}
		double gain2 = t->layer == SB_LAYER_NONE ? 1.0 : 2.0;
		double want = sqrt(gain2 / (double)t->shape[1]);
		double std = sqrt(sq / (double)t->size);
		/* the smallest tensor (head, 2560 draws) estimates the std with
		 * relative error 1/sqrt(2 * 2560) = 1.4%; 6% is over 4 sigma.
		 * The mean's error is std/sqrt(2560) = 2% of std; 10% is 5 sigma */
		assert_true(fabs(std / want - 1.0) < 0.06);
		assert_true(fabs(sum / (double)t->size) < 0.1 * want);
	}
	sb_test_model_close(&f);

	/* tanh weights use the gain 5/3 */
	assert_int_equal(model_open(&f, 400, 2, "300", "1", "tanh", 1, &err), 0);
	sb_model_mlp.init_params(f.priv, f.params, 7);
	const struct sb_tensor *w0 = sb_test_tensor(&f.layout, "fc0.weight");
	double sq = 0;
	for (size_t j = 0; j < w0->size; j++)
		sq += (double)f.params[w0->offset + j] * f.params[w0->offset + j];
	/* 120000 draws: relative error of the std about 0.2%; 2% is safe */
	assert_true(fabs(sqrt(sq / (double)w0->size) /
			 ((5.0 / 3.0) / sqrt(400.0)) - 1.0) < 0.02);
	sb_test_model_close(&f);
}

static void check_forward_against_naive(const char *act)
{
	/* no two dimensions equal, so a transposed product cannot pass */
	const size_t n = 9, nf = 13, c = 5;
	struct sb_test_model f;
	struct sb_error err;
	assert_int_equal(model_open(&f, nf, c, "11", "3", act, n, &err), 0);
	random_params(&f, 3);
	struct sb_batch b;
	random_batch(&b, n, nf, c, 4);
	double *logits = sb_malloc(n * c * sizeof *logits);
	naive_logits(logits, NULL, &f, act, &b);

	/* the whole batch: loss and argmax hits against the reference */
	double want_loss = 0, want_correct = 0, want_first_two = 0;
	for (size_t r = 0; r < n; r++) {
		const double *l = logits + r * c;
		size_t best = 0;
		for (size_t j = 1; j < c; j++)
			if (l[j] > l[best])
				best = j;
		double mx = l[best], s = 0;
		for (size_t j = 0; j < c; j++)
			s += exp(l[j] - mx);
		want_loss += log(s) + mx - l[b.targets[r]];
		if (r == 1)
			want_first_two = want_loss;
		want_correct += best == (size_t)b.targets[r];
	}
	struct sb_eval ev;
	sb_model_mlp.forward(f.priv, f.params, &b, &ev);
	assert_true(ev.count == (double)n);
	assert_true(ev.correct == want_correct);
	/* float32 carries ~7 digits through 4 layers of dot products of at
	 * most 13 terms of order 1: ~1e-6 per example, 1e-5 over 9 */
	assert_true(fabs(ev.loss_sum - want_loss) < 1e-5);

	/* each logit difference, read back from one row at a time: with the
	 * target c the row's loss is lse - logit_c, so
	 * loss(0) - loss(c) = logit_c - logit_0 */
	int32_t *targets = b.targets;
	int32_t masked[9];
	b.targets = masked;
	for (size_t r = 0; r < n; r++) {
		double loss[5];
		for (size_t j = 0; j < c; j++) {
			for (size_t i = 0; i < n; i++)
				masked[i] = -1;
			masked[r] = (int32_t)j;
			sb_model_mlp.forward(f.priv, f.params, &b, &ev);
			assert_true(ev.count == 1.0);
			loss[j] = ev.loss_sum;
		}
		for (size_t j = 1; j < c; j++) {
			double want = logits[r * c + j] - logits[r * c];
			/* as above: logits agree to ~1e-6 of their size */
			assert_true(fabs((loss[0] - loss[j]) - want) < 1e-5);
		}
	}
	b.targets = targets;

	/* a batch smaller than max_batch: its first two rows alone */
	struct sb_batch head = {.n = 2, .x = b.x, .targets = b.targets};
	sb_model_mlp.forward(f.priv, f.params, &head, &ev);
	assert_true(ev.count == 2.0);
	/* as above, ~1e-6 per example */
	assert_true(fabs(ev.loss_sum - want_first_two) < 1e-5);
	free(logits);
	batch_free(&b);
	sb_test_model_close(&f);
}

static void test_forward_matches_naive_relu(void **state)
{
	(void)state;
	check_forward_against_naive("relu");
}

static void test_forward_matches_naive_tanh(void **state)
{
	(void)state;
	check_forward_against_naive("tanh");
}

static void test_forward_matches_naive_gelu(void **state)
{
	(void)state;
	check_forward_against_naive("gelu");
}

static void test_zero_head_gives_log_classes(void **state)
{
	(void)state;
	struct sb_test_model f;
	struct sb_error err;
	assert_int_equal(model_open(&f, 6, 7, "9", "2", "gelu", 16, &err), 0);
	sb_model_mlp.init_params(f.priv, f.params, 1);
	const struct sb_tensor *hw = sb_test_tensor(&f.layout, "head.weight");
	const struct sb_tensor *hb = sb_test_tensor(&f.layout, "head.bias");
	memset(f.params + hw->offset, 0, hw->size * sizeof *f.params);
	memset(f.params + hb->offset, 0, hb->size * sizeof *f.params);
	struct sb_batch b;
	random_batch(&b, 16, 6, 7, 5);
	struct sb_eval ev;
	sb_model_mlp.forward(f.priv, f.params, &b, &ev);
	/* equal logits: exp(0) = 1 exactly, the sum is exactly 7 and each row
	 * costs log(7) in double; 16 additions keep it within 1e-13 */
	assert_true(fabs(ev.loss_sum / ev.count - log(7.0)) < 1e-13);
	/* all classes tie, so the prediction is class 0 everywhere */
	double zeros = 0;
	for (size_t i = 0; i < b.n; i++)
		zeros += b.targets[i] == 0;
	assert_true(ev.correct == zeros);
	batch_free(&b);
	sb_test_model_close(&f);
}

static void check_gradient(const char *act)
{
	const size_t n = 4, nf = 5, c = 3, h = 7, layers = 2;
	struct sb_test_model f;
	struct sb_error err;
	assert_int_equal(model_open(&f, nf, c, "7", "2", act, n, &err), 0);
	random_params(&f, 11);
	struct sb_batch b;
	random_batch(&b, n, nf, c, 12);
	sb_test_model_loss(&f, &b);
	sb_model_mlp.backward(f.priv, f.params, NULL, f.grad);

	/* relu has a kink at 0: a difference whose two ends see a different
	 * on/off pattern of the hidden units is not a derivative and is
	 * skipped. With equal patterns at both ends no unit crosses 0 in
	 * between (layer by layer, each pre-activation is linear in one
	 * parameter while the layers below keep their pattern). */
	double logits[4 * 3];
	unsigned char base[2 * 4 * 7], at_up[2 * 4 * 7], at_down[2 * 4 * 7];
	size_t n_pattern = layers * n * h;
	naive_logits(logits, base, &f, act, &b);

	/* eps = 1e-2: the loss is computed in float32, so its rounding noise
	 * (~1e-7 relative on a loss ~1) divided by 2 eps is ~1e-5, while the
	 * truncation error of the central difference, eps^2/6 times the third
	 * derivative, stays near 1e-5 for these smooth O(1) functions; 2e-4
	 * absolute plus 1e-3 relative is an order of magnitude above both,
	 * and far below the gradients themselves (mostly 1e-2..1). */
	const float eps = 1e-2f;
	size_t checked = 0, skipped = 0;
	for (size_t i = 0; i < f.layout.n_params; i++) {
		float *p = &f.params[i];
		float keep = *p;
		*p = keep + eps;
		double up = sb_test_model_loss(&f, &b);
		naive_logits(logits, at_up, &f, act, &b);
		*p = keep - eps;
		double down = sb_test_model_loss(&f, &b);
		naive_logits(logits, at_down, &f, act, &b);
		*p = keep;
		if (!strcmp(act, "relu") &&
		    (memcmp(at_up, base, n_pattern) ||
		     memcmp(at_down, base, n_pattern))) {
			skipped++;
			continue;
		}
		double numeric = (up - down) / (2.0 * (double)eps);
		double analytic = f.grad[i];
		if (fabs(numeric - analytic) > 2e-4 + 1e-3 * fabs(analytic))
			fail_msg("%s: d loss/d param %zu: analytic %.7f, "
				 "numeric %.7f", act, i, analytic, numeric);
		checked++;
	}
	/* at most a few components sit next to a kink */
	assert_true(skipped <= f.layout.n_params / 10);
	assert_int_equal(checked + skipped, f.layout.n_params);
	batch_free(&b);
	sb_test_model_close(&f);
}

static void test_gradient_matches_finite_differences_relu(void **state)
{
	(void)state;
	check_gradient("relu");
}

static void test_gradient_matches_finite_differences_tanh(void **state)
{
	(void)state;
	check_gradient("tanh");
}

static void test_gradient_matches_finite_differences_gelu(void **state)
{
	(void)state;
	check_gradient("gelu");
}

/* S's gradient against the full one, for masks that name some tensors
 * partly, some wholly and the rest not at all, with 70 hidden units so
 * that S spans more than one of the 64-row blocks of the kernel of
 * selected entries. Both compute in float with N = 12 rows per product, in
 * another order and blocking: the worst error measured is below 1e-6 of
 * max(|g_i|, the RMS of g over S); 1e-5 leaves a tenfold margin, and a
 * missing term is an error of order 1. */
static void test_selected_grad_matches_full(void **state)
{
	(void)state;
	struct sb_test_model f;
	struct sb_error err;
	struct sb_batch b;
	const struct sb_test_pick top[] = {
		/* stops below fc2, fc0 untouched */
		{"head.weight", 0.5}, {"fc2.weight", 0.1}, {"fc2.bias", 1},
	}, middle[] = {
		{"fc1.weight", 1}, {"fc1.bias", 0.3},
	}, bottom[] = {
		/* the input layer in part, the head whole */
		{"fc0.weight", 0.05}, {"head.bias", 1}, {"fc2.weight", 0.4},
	}, head_only[] = {
		{"head.bias", 0.5},
	};
	const struct sb_test_pick *masks[] = {top, middle, bottom, head_only};
	const size_t n_picks[] = {3, 2, 3, 1};
	struct sb_selection sel = {0};

	assert_int_equal(model_open(&f, 9, 5, "70", "3", "gelu", 12, &err), 0);
	random_params(&f, 31);
	random_batch(&b, 12, 9, 5, 32);
	for (size_t i = 0; i < 4; i++) {
		sb_test_mask(&sel, &f.layout, masks[i], n_picks[i], 40 + i);
		double worst = sb_test_check_selected_grad(&f, &b, &sel, 1e-5);
		print_message("  mask %zu: |S| %zu, worst relative error "
			      "%.2g\n", i, sel.k, worst);
	}
	sb_selection_release(&sel);
	batch_free(&b);
	sb_test_model_close(&f);
}

static void test_backward_accumulates(void **state)
{
	(void)state;
	struct sb_test_model f;
	struct sb_error err;
	assert_int_equal(model_open(&f, 5, 3, "7", "2", "tanh", 4, &err), 0);
	random_params(&f, 21);
	struct sb_batch b;
	random_batch(&b, 4, 5, 3, 22);
	size_t np = f.layout.n_params;
	float *once = sb_calloc(np, sizeof *once);
	sb_test_model_loss(&f, &b);
	sb_model_mlp.backward(f.priv, f.params, NULL, once);
	sb_model_mlp.backward(f.priv, f.params, NULL, f.grad);
	sb_model_mlp.backward(f.priv, f.params, NULL, f.grad);
	size_t nonzero = 0;
	for (size_t i = 0; i < np; i++) {
		/* the second call adds its terms one by one onto the first's
		 * total, so float rounding may differ from 2x by a few ulps */
		assert_true(fabsf(f.grad[i] - 2.0f * once[i]) <=
			    1e-6f * fabsf(once[i]) + 1e-9f);
		nonzero += once[i] != 0.0f;
	}
	assert_true(nonzero > np / 2);
	free(once);
	batch_free(&b);
	sb_test_model_close(&f);
}

/* Three well-separated clusters in the plane; plain SGD on the whole set. */
static void test_sgd_learns_separable_problem(void **state)
{
	(void)state;
	const size_t n = 60, nf = 2, c = 3;
	const float centre[3][2] = {{2, 0}, {-1, 1.7f}, {-1, -1.7f}};
	struct sb_test_model f;
	struct sb_error err;
	assert_int_equal(model_open(&f, nf, c, "16", "2", "relu", n, &err), 0);
	sb_model_mlp.init_params(f.priv, f.params, 5);
	struct sb_batch b;
	random_batch(&b, n, nf, c, 6);
	for (size_t i = 0; i < n; i++) {
		int32_t y = (int32_t)(i % c);
		b.targets[i] = y;
		b.x[i * 2] = centre[y][0] + 0.3f * b.x[i * 2];
		b.x[i * 2 + 1] = centre[y][1] + 0.3f * b.x[i * 2 + 1];
	}
	struct sb_eval ev;
	sb_model_mlp.forward(f.priv, f.params, &b, &ev);
	double first = ev.loss_sum / ev.count;
	for (int step = 0; step < 300; step++) {
		memset(f.grad, 0, f.layout.n_params * sizeof *f.grad);
		sb_model_mlp.forward(f.priv, f.params, &b, &ev);
		sb_model_mlp.backward(f.priv, f.params, NULL, f.grad);
		for (size_t i = 0; i < f.layout.n_params; i++)
			f.params[i] -= 0.1f * f.grad[i];
	}
	sb_model_mlp.forward(f.priv, f.params, &b, &ev);
	assert_true(ev.correct == (double)n);
	assert_true(ev.loss_sum / ev.count < 0.1 * first);
	batch_free(&b);
	sb_test_model_close(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout_names_shapes_and_layers),
		cmocka_unit_test(test_rejects_other_tasks_and_bad_sizes),
		cmocka_unit_test(test_init_is_reproducible_and_scaled),
		cmocka_unit_test(test_forward_matches_naive_relu),
		cmocka_unit_test(test_forward_matches_naive_tanh),
		cmocka_unit_test(test_forward_matches_naive_gelu),
		cmocka_unit_test(test_zero_head_gives_log_classes),
		cmocka_unit_test(test_gradient_matches_finite_differences_relu),
		cmocka_unit_test(test_gradient_matches_finite_differences_tanh),
		cmocka_unit_test(test_gradient_matches_finite_differences_gelu),
		cmocka_unit_test(test_selected_grad_matches_full),
		cmocka_unit_test(test_backward_accumulates),
		cmocka_unit_test(test_sgd_learns_separable_problem),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
