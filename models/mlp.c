/* mlp.c - a multilayer perceptron classifier: `layers` fully connected
 * hidden layers (relu, tanh or gelu) and a linear head under softmax
 * cross-entropy; forward/backward pairs in the manner of llm.c. */
#include "sb.h"
#include "util.h"
#include "lib/grad_at.h"

#include <assert.h>
#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum activation { ACT_RELU, ACT_TANH, ACT_GELU };

#define MAX_LAYERS 16
#define NAME_LEN 24 /* "fc<int>.weight" fits for any int */

struct mlp {
	size_t n_in;      /* input features */
	size_t hidden;    /* width of every hidden layer */
	size_t n_classes;
	size_t max_batch;
	int layers;
	enum activation act;

	/* the layout: fcI.weight, fcI.bias for I < layers, head.weight, head.bias */
	struct sb_tensor *tensors;
	char (*names)[NAME_LEN];
	size_t n_tensors;

	/* the last forward, kept for backward */
	size_t n;         /* examples in it */
	double count;     /* targets counted (non-negative) */
	float *x;         /* [max_batch, n_in] */
	int32_t *targets; /* [max_batch] */
	float *pre;       /* [layers, max_batch, hidden] before the activation */
	float *post;      /* [layers, max_batch, hidden] after it */
	float *probs;     /* [max_batch, n_classes] softmax of the logits */

	/* backward scratch */
	float *dlogits;   /* [max_batch, n_classes] */
	float *dpost;     /* [max_batch, hidden] */
	float *dpre;      /* [max_batch, hidden] */

	/* backward under a plan: each tensor's destination and the scratch of
	 * the selected entries' kernels (grown on the first use) */
	struct sb_layout layout;
	struct sb_tgrad *tgrad; /* [n_tensors] */
	struct sb_grad_scratch scratch;
};

static const struct sb_param mlp_params[] = {
	{.name = "hidden", .type = SB_INT, .def = "128", SB_RANGE(1, 1e6),
	 .help = "width of every hidden layer", .from_checkpoint = true},
	{.name = "layers", .type = SB_INT, .def = "2", SB_RANGE(1, MAX_LAYERS),
	 .help = "hidden layers", .from_checkpoint = true},
	{.name = "activation", .type = SB_CHOICE, .def = "relu",
	 .choices = "relu|tanh|gelu",
	 .help = "nonlinearity after each hidden layer (gelu: the exact erf form)",
	 .from_checkpoint = true},
	{0},
};

/* ---- kernels ------------------------------------------------------------ */

/* out = in @ weight^T + bias
 * out [n, n_out], in [n, n_in], weight [n_out, n_in], bias [n_out] */
static void linear_forward(float *out, const float *in, const float *weight,
			   const float *bias, size_t n, size_t n_in,
			   size_t n_out)
{
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n,
		    (int)n_out, (int)n_in, 1.0f, in, (int)n_in, weight,
		    (int)n_in, 0.0f, out, (int)n_out);
	for (size_t r = 0; r < n; r++) {
		float *row = out + r * n_out;
		for (size_t j = 0; j < n_out; j++)
			row[j] += bias[j];
	}
}

/* dweight += dout^T @ in and dbias += column sums of dout as tgw and tgb
 * want them (whole, at S's entries, or not at all), and, when din is not
 * NULL, din = dout @ weight (overwritten, not accumulated).
 * dout [n, n_out], in [n, n_in], weight/dweight [n_out, n_in] */
static void linear_backward(float *din, const struct sb_tgrad *tgw,
			    const struct sb_tgrad *tgb,
			    struct sb_grad_scratch *scratch,
			    const float *dout, const float *in,
			    const float *weight, size_t n, size_t n_in,
			    size_t n_out)
{
	sb_tgrad_weight(tgw, dout, in, n, n_in, n_out, scratch);
	sb_tgrad_bias(tgb, dout, n, n_out, scratch);
	if (din)
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n,
			    (int)n_in, (int)n_out, 1.0f, dout, (int)n_out,
			    weight, (int)n_in, 0.0f, din, (int)n_in);
}

#define INV_SQRT2 0.70710678118654752f
#define INV_SQRT_2PI 0.39894228040143268f

/* post = act(pre), elementwise over m values */
static void activation_forward(float *post, const float *pre, size_t m,
			       enum activation act)
{
	switch (act) {
	case ACT_RELU:
		for (size_t i = 0; i < m; i++)
			post[i] = pre[i] > 0.0f ? pre[i] : 0.0f;
		break;
	case ACT_TANH:
		for (size_t i = 0; i < m; i++)
			post[i] = tanhf(pre[i]);
		break;
	case ACT_GELU:
		for (size_t i = 0; i < m; i++)
			post[i] = 0.5f * pre[i] * (1.0f + erff(pre[i] * INV_SQRT2));
		break;
	}
}

/* dpre = dpost * act'(pre); tanh reads its derivative off post */
static void activation_backward(float *dpre, const float *dpost,
				const float *pre, const float *post, size_t m,
				enum activation act)
{
	switch (act) {
	case ACT_RELU:
		for (size_t i = 0; i < m; i++)
			dpre[i] = pre[i] > 0.0f ? dpost[i] : 0.0f;
		break;
	case ACT_TANH:
		for (size_t i = 0; i < m; i++)
			dpre[i] = dpost[i] * (1.0f - post[i] * post[i]);
		break;
	case ACT_GELU:
		for (size_t i = 0; i < m; i++) {
			float z = pre[i];
			float cdf = 0.5f * (1.0f + erff(z * INV_SQRT2));
			float pdf = INV_SQRT_2PI * expf(-0.5f * z * z);
			dpre[i] = dpost[i] * (cdf + z * pdf);
		}
		break;
	}
}

/* Turns each row of logits into probabilities in place and adds up the
 * cross-entropy of the rows with a non-negative target; the log-sum-exp is
 * taken around the row's maximum so no exponent overflows.
 * probs [n, c], targets [n] */
static void softmax_xent_forward(float *probs, const int32_t *targets,
				 size_t n, size_t c, struct sb_eval *out)
{
	for (size_t r = 0; r < n; r++) {
		float *row = probs + r * c;
		size_t best = 0;
		for (size_t j = 1; j < c; j++)
			if (row[j] > row[best]) /* ties keep the lowest class */
				best = j;
		float max = row[best];
		int32_t y = targets[r];
		assert((y < 0 || (size_t)y < c) && "target out of range");
		/* -log p_y = log sum_j exp(logit_j - max) - (logit_y - max) */
		double shifted_y = y >= 0 ? (double)row[y] - max : 0.0;
		double sum = 0.0;
		for (size_t j = 0; j < c; j++) {
			row[j] = expf(row[j] - max);
			sum += row[j];
		}
		if (y >= 0) {
			out->loss_sum += log(sum) - shifted_y;
			out->correct += (size_t)y == best;
			out->count += 1.0;
		}
		float inv = (float)(1.0 / sum);
		for (size_t j = 0; j < c; j++)
			row[j] *= inv;
	}
}

/* dlogits = (probs - onehot(target)) / count; rows without target get 0 */
static void softmax_xent_backward(float *dlogits, const float *probs,
				  const int32_t *targets, size_t n, size_t c,
				  double count)
{
	float scale = (float)(1.0 / count);
	for (size_t r = 0; r < n; r++) {
		float *d = dlogits + r * c;
		const float *p = probs + r * c;
		if (targets[r] < 0) {
			memset(d, 0, c * sizeof *d);
			continue;
		}
		for (size_t j = 0; j < c; j++)
			d[j] = p[j] * scale;
		d[targets[r]] -= scale;
	}
}

/* ---- the plugin --------------------------------------------------------- */

static void add_tensor(struct mlp *m, const char *name, size_t *offset,
		       int ndim, size_t d0, size_t d1, int layer)
{
	size_t i = m->n_tensors++;
	struct sb_tensor *t = &m->tensors[i];
	snprintf(m->names[i], NAME_LEN, "%s", name);
	t->name = m->names[i];
	t->offset = *offset;
	t->ndim = ndim;
	t->shape[0] = d0;
	t->shape[1] = ndim > 1 ? d1 : 0;
	t->size = ndim > 1 ? d0 * d1 : d0;
	t->layer = layer;
	*offset += t->size;
}

static int mlp_init(void *priv, const struct sb_values *cfg,
		    const struct sb_data_info *data, size_t max_batch,
		    struct sb_layout *layout, struct sb_error *err)
{
	struct mlp *m = priv;
	long hidden = sb_values_int(cfg, "hidden");
	long layers = sb_values_int(cfg, "layers");
	const char *act = sb_values_str(cfg, "activation");

	assert(max_batch >= 1);
	if (data->task != SB_TASK_VECTOR_CLASSIFY)
		return sb_error(err, "model 'mlp' cannot learn task '%s' "
				"(it needs 'vector_classify')",
				sb_task_name(data->task));
	if (data->n_features < 1 || data->n_classes < 2)
		return sb_error(err, "model 'mlp' needs at least 1 feature and "
				"2 classes (the dataset has %zu and %zu)",
				data->n_features, data->n_classes);
	if (hidden < 1)
		return sb_error(err, "model 'mlp': 'hidden' must be at least 1, "
				"not %ld", hidden);
	if (layers < 1 || layers > MAX_LAYERS)
		return sb_error(err, "model 'mlp': 'layers' must be in 1..%d, "
				"not %ld", MAX_LAYERS, layers);
	if (!strcmp(act, "relu"))
		m->act = ACT_RELU;
	else if (!strcmp(act, "tanh"))
		m->act = ACT_TANH;
	else if (!strcmp(act, "gelu"))
		m->act = ACT_GELU;
	else
		return sb_error(err, "model 'mlp': unknown activation '%s' "
				"(known: relu, tanh, gelu)", act);

	m->n_in = data->n_features;
	m->hidden = (size_t)hidden;
	m->n_classes = data->n_classes;
	m->max_batch = max_batch;
	m->layers = (int)layers;

	/* every tensor and buffer below is at most widest * (widest + 1)
	 * or max_batch * widest floats, times layers + 1 */
	size_t widest = m->n_in > m->hidden ? m->n_in : m->hidden;
	if (m->n_classes > widest)
		widest = m->n_classes;
	size_t per_layer, per_batch, params_bound, acts_bound;
	if (!sb_mul_ok(widest, widest + 1, &per_layer) ||
	    !sb_mul_ok(per_layer, (size_t)layers + 1, &params_bound) ||
	    !sb_mul_ok(max_batch, widest, &per_batch) ||
	    !sb_mul_ok(per_batch, (size_t)layers + 1, &acts_bound) ||
	    params_bound > SIZE_MAX / sizeof(float) ||
	    acts_bound > SIZE_MAX / sizeof(float) ||
	    widest > INT_MAX || max_batch > INT_MAX) /* BLAS takes int */
		return sb_error(err, "model 'mlp': %zu features, hidden %zu and "
				"batch %zu overflow the memory sizes",
				m->n_in, m->hidden, max_batch);

	m->tensors = sb_calloc(2 * (size_t)layers + 2, sizeof *m->tensors);
	m->names = sb_calloc(2 * (size_t)layers + 2, sizeof *m->names);
	size_t offset = 0;
	char name[NAME_LEN];
	for (int l = 0; l < m->layers; l++) {
		size_t in = l == 0 ? m->n_in : m->hidden;
		snprintf(name, sizeof name, "fc%d.weight", l);
		add_tensor(m, name, &offset, 2, m->hidden, in, l);
		snprintf(name, sizeof name, "fc%d.bias", l);
		add_tensor(m, name, &offset, 1, m->hidden, 0, l);
	}
	add_tensor(m, "head.weight", &offset, 2, m->n_classes, m->hidden,
		   SB_LAYER_NONE);
	add_tensor(m, "head.bias", &offset, 1, m->n_classes, 0, SB_LAYER_NONE);
	if (offset > UINT32_MAX)
		return sb_error(err, "model 'mlp': %zu parameters exceed the "
				"%u a selection can index", offset, UINT32_MAX);

	size_t acts = (size_t)layers * max_batch * m->hidden;
	m->x = sb_malloc(max_batch * m->n_in * sizeof *m->x);
	m->targets = sb_malloc(max_batch * sizeof *m->targets);
	m->pre = sb_malloc(acts * sizeof *m->pre);
	m->post = sb_malloc(acts * sizeof *m->post);
	m->probs = sb_malloc(max_batch * m->n_classes * sizeof *m->probs);
	m->dlogits = sb_malloc(max_batch * m->n_classes * sizeof *m->dlogits);
	m->dpost = sb_malloc(max_batch * m->hidden * sizeof *m->dpost);
	m->dpre = sb_malloc(max_batch * m->hidden * sizeof *m->dpre);

	m->tgrad = sb_calloc(m->n_tensors, sizeof *m->tgrad);

	layout->n_params = offset;
	layout->n_tensors = m->n_tensors;
	layout->tensors = m->tensors;
	layout->n_layers = m->layers;
	m->layout = *layout;
	return 0;
}

/* Weights ~ N(0, gain^2 / fan_in): gain^2 = 2 for relu and gelu (He et al.,
 * 2015), (5/3)^2 for tanh (PyTorch's calculate_gain), 1 for the linear head.
 * Each tensor draws from its own stream of the seed, so a tensor's values do
 * not depend on the sizes of the tensors before it. Biases start at 0. */
static void mlp_init_params(void *priv, float *params, uint64_t seed)
{
	const struct mlp *m = priv;
	double gain = m->act == ACT_TANH ? 5.0 / 3.0 : sqrt(2.0);
	for (size_t i = 0; i < m->n_tensors; i++) {
		const struct sb_tensor *t = &m->tensors[i];
		float *w = params + t->offset;
		if (t->ndim == 1) {
			memset(w, 0, t->size * sizeof *w);
			continue;
		}
		double g = t->layer == SB_LAYER_NONE ? 1.0 : gain;
		double std = g / sqrt((double)t->shape[1]);
		struct sb_rng rng;
		sb_rng_seed(&rng, sb_seed_mix(seed, i));
		for (size_t j = 0; j < t->size; j++)
			w[j] = (float)(std * sb_rng_normal(&rng));
	}
}

static void mlp_forward(void *priv, const float *params,
			const struct sb_batch *batch, struct sb_eval *out)
{
	struct mlp *m = priv;
	size_t n = batch->n, h = m->hidden;
	assert(n <= m->max_batch && "batch larger than max_batch");
	memset(out, 0, sizeof *out);
	m->n = n;
	m->count = 0.0;
	if (n == 0)
		return;
	memcpy(m->x, batch->x, n * m->n_in * sizeof *m->x);
	memcpy(m->targets, batch->targets, n * sizeof *m->targets);

	const float *in = m->x;
	size_t n_in = m->n_in;
	for (int l = 0; l < m->layers; l++) {
		const struct sb_tensor *w = &m->tensors[2 * l];
		const struct sb_tensor *b = &m->tensors[2 * l + 1];
		float *pre = m->pre + (size_t)l * m->max_batch * h;
		float *post = m->post + (size_t)l * m->max_batch * h;
		linear_forward(pre, in, params + w->offset, params + b->offset,
			       n, n_in, h);
		activation_forward(post, pre, n * h, m->act);
		in = post;
		n_in = h;
	}
	const struct sb_tensor *hw = &m->tensors[2 * m->layers];
	const struct sb_tensor *hb = &m->tensors[2 * m->layers + 1];
	linear_forward(m->probs, in, params + hw->offset, params + hb->offset,
		       n, h, m->n_classes);
	softmax_xent_forward(m->probs, m->targets, n, m->n_classes, out);
	m->count = out->count;
}

/* Backward visits the head (rank 0), then fc<layers-1> down to fc0 (rank
 * layers - l); it stops after the lowest layer holding a wanted tensor. */
static int layer_rank(const struct mlp *m, size_t t)
{
	return t >= 2 * (size_t)m->layers ? 0 : m->layers - (int)(t / 2);
}

static void mlp_backward(void *priv, const float *params,
			 const struct sb_grad_plan *plan, float *grad)
{
	struct mlp *m = priv;
	size_t n = m->n, h = m->hidden, c = m->n_classes;
	if (n == 0 || m->count == 0.0)
		return;
	const struct sb_tgrad *tg = m->tgrad;
	sb_tgrad_fill(m->tgrad, &m->layout, plan, grad);
	int low = -1;
	for (size_t t = 0; t < m->n_tensors; t++)
		if (tg[t].want != SB_WANT_NONE && layer_rank(m, t) > low)
			low = layer_rank(m, t);
	if (low < 0)
		return;

	softmax_xent_backward(m->dlogits, m->probs, m->targets, n, c,
			      m->count);
	int top = m->layers - 1;
	size_t hw = 2 * (size_t)m->layers;
	linear_backward(low > 0 ? m->dpost : NULL, &tg[hw], &tg[hw + 1],
			&m->scratch, m->dlogits,
			m->post + (size_t)top * m->max_batch * h,
			params + m->tensors[hw].offset, n, h, c);
	for (int l = top; l >= 0 && low >= m->layers - l; l--) {
		const struct sb_tensor *w = &m->tensors[2 * l];
		const float *pre = m->pre + (size_t)l * m->max_batch * h;
		const float *post = m->post + (size_t)l * m->max_batch * h;
		activation_backward(m->dpre, m->dpost, pre, post, n * h,
				    m->act);
		const float *in = l == 0 ? m->x
				  : m->post + (size_t)(l - 1) * m->max_batch * h;
		size_t n_in = l == 0 ? m->n_in : h;
		/* the input's gradient is wanted only above the lowest
		 * wanted layer, and never below the first */
		bool below = l > 0 && low > m->layers - l;
		linear_backward(below ? m->dpost : NULL, &tg[2 * l],
				&tg[2 * l + 1], &m->scratch, m->dpre, in,
				params + w->offset, n, n_in, h);
	}
}

static size_t mlp_activation_bytes(const void *priv)
{
	const struct mlp *m = priv;
	size_t acts = (size_t)m->layers * m->max_batch * m->hidden;
	return (m->max_batch * m->n_in + 2 * acts +
		2 * m->max_batch * m->n_classes + 2 * m->max_batch * m->hidden +
		m->scratch.cap) * sizeof(float) +
	       m->max_batch * sizeof *m->targets +
	       m->n_tensors * sizeof *m->tgrad;
}

static void mlp_release(void *priv)
{
	struct mlp *m = priv;
	free(m->tensors);
	free(m->names);
	free(m->x);
	free(m->targets);
	free(m->pre);
	free(m->post);
	free(m->probs);
	free(m->dlogits);
	free(m->dpost);
	free(m->dpre);
	free(m->tgrad);
	sb_grad_scratch_release(&m->scratch);
	memset(m, 0, sizeof *m);
}

const struct sb_model sb_model_mlp = {
	.name = "mlp",
	.summary = "multilayer perceptron classifier for feature vectors",
	.params = mlp_params,
	.priv_size = sizeof(struct mlp),
	.init = mlp_init,
	.init_params = mlp_init_params,
	.forward = mlp_forward,
	.backward = mlp_backward,
	.activation_bytes = mlp_activation_bytes,
	.release = mlp_release,
};
