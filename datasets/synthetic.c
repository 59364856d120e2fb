/* synthetic.c - a seeded teacher-network classification task: x ~ N(0, I),
 * labelled by the argmax of a fixed random 2-layer tanh network, optionally
 * with a fraction of labels replaced at random. Generated in memory. */
#include "sb.h"
#include "util.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* stream labels for sb_seed_mix: the teacher, then per split its inputs
 * and its label noise, so a split's data do not depend on the other
 * splits' sizes */
enum { STREAM_TEACHER = 1, STREAM_X = 16, STREAM_NOISE = 32 };

struct synthetic {
	size_t n_features, n_classes;
	size_t n[3];        /* examples per split */
	float *x[3];        /* [n[split], n_features] */
	int32_t *y[3];      /* [n[split]] */
};

static const struct sb_param synthetic_params[] = {
	{.name = "n_features", .type = SB_INT, .def = "32", SB_RANGE(1, 1e5),
	 .help = "input dimension"},
	{.name = "n_classes", .type = SB_INT, .def = "10", SB_RANGE(2, 1e4),
	 .help = "classes (the teacher's outputs)"},
	{.name = "teacher_hidden", .type = SB_INT, .def = "64",
	 SB_RANGE(1, 1e5), .help = "hidden width of the teacher network"},
	{.name = "n_train", .type = SB_INT, .def = "4096", SB_RANGE(1, 1e8),
	 .help = "training examples"},
	{.name = "n_val", .type = SB_INT, .def = "1024", SB_RANGE(1, 1e8),
	 .help = "validation examples"},
	{.name = "n_test", .type = SB_INT, .def = "1024", SB_RANGE(1, 1e8),
	 .help = "test examples"},
	{.name = "label_noise", .type = SB_FLOAT, .def = "0.0", SB_RANGE(0, 1),
	 .help = "fraction of labels (in every split) replaced by a uniformly "
		 "random class"},
	{.name = "data_seed", .type = SB_INT, .def = "1", SB_RANGE(0, 1e18),
	 .help = "seed of the data, independent of the run's seed"},
	{0},
};

/* The teacher: h = tanh(W1 x), logits = W2 h, with W1 [th, nf] ~ N(0, 1/nf)
 * so pre-activations are ~N(0, 1) (tanh is neither linear nor saturated),
 * and each row of W2 [nc, th] of unit norm so that no class has a larger
 * logit variance than another, which keeps the classes near balanced. */
struct teacher {
	size_t nf, th, nc;
	float *w1, *w2;
};

static void teacher_make(struct teacher *t, size_t nf, size_t th, size_t nc,
			 uint64_t seed)
{
	struct sb_rng rng;
	sb_rng_seed(&rng, sb_seed_mix(seed, STREAM_TEACHER));
	t->nf = nf;
	t->th = th;
	t->nc = nc;
	t->w1 = sb_malloc(th * nf * sizeof *t->w1);
	t->w2 = sb_malloc(nc * th * sizeof *t->w2);
	double std = 1.0 / sqrt((double)nf);
	for (size_t i = 0; i < th * nf; i++)
		t->w1[i] = (float)(std * sb_rng_normal(&rng));
	for (size_t c = 0; c < nc; c++) {
		float *row = t->w2 + c * th;
		double norm = 0.0;
		for (size_t j = 0; j < th; j++) {
			row[j] = (float)sb_rng_normal(&rng);
			norm += (double)row[j] * row[j];
		}
		norm = sqrt(norm);
		for (size_t j = 0; j < th; j++)
			row[j] = (float)(row[j] / norm);
	}
}

/* The argmax of the teacher's logits for one input (ties: lowest class).
 * hidden [th] is scratch. Computed in double, one example at a time, so a
 * label does not depend on the batching or the BLAS in use. */
static int32_t teacher_label(const struct teacher *t, const float *x,
			     double *hidden)
{
	for (size_t j = 0; j < t->th; j++) {
		const float *w = t->w1 + j * t->nf;
		double s = 0.0;
		for (size_t i = 0; i < t->nf; i++)
			s += (double)w[i] * x[i];
		hidden[j] = tanh(s);
	}
	int32_t best = 0;
	double best_logit = -INFINITY;
	for (size_t c = 0; c < t->nc; c++) {
		const float *w = t->w2 + c * t->th;
		double s = 0.0;
		for (size_t j = 0; j < t->th; j++)
			s += (double)w[j] * hidden[j];
		if (s > best_logit) {
			best_logit = s;
			best = (int32_t)c;
		}
	}
	return best;
}

static void synthetic_release(void *priv)
{
	struct synthetic *d = priv;
	for (int s = 0; s < 3; s++) {
		free(d->x[s]);
		free(d->y[s]);
	}
	memset(d, 0, sizeof *d);
}

static int synthetic_open(void *priv, const struct sb_values *cfg,
			  struct sb_data_info *info, struct sb_error *err)
{
	struct synthetic *d = priv;
	long nf = sb_values_int(cfg, "n_features");
	long nc = sb_values_int(cfg, "n_classes");
	long th = sb_values_int(cfg, "teacher_hidden");
	long counts[3] = {sb_values_int(cfg, "n_train"),
			  sb_values_int(cfg, "n_val"),
			  sb_values_int(cfg, "n_test")};
	const char *count_names[3] = {"n_train", "n_val", "n_test"};
	double noise = sb_values_float(cfg, "label_noise");
	uint64_t seed = (uint64_t)sb_values_int(cfg, "data_seed");

	if (nf < 1 || nc < 2 || th < 1)
		return sb_error(err, "dataset 'synthetic' needs n_features >= 1, "
				"n_classes >= 2 and teacher_hidden >= 1");
	if (!(noise >= 0.0 && noise <= 1.0))
		return sb_error(err, "dataset 'synthetic': 'label_noise' must be "
				"in [0, 1], not %g", noise);
	for (int s = 0; s < 3; s++) {
		size_t bytes;
		if (counts[s] < 1)
			return sb_error(err, "dataset 'synthetic': '%s' must be "
					"at least 1, not %ld", count_names[s],
					counts[s]);
		if (!sb_mul_ok((size_t)counts[s], (size_t)nf, &bytes) ||
		    !sb_mul_ok(bytes, sizeof(float), &bytes))
			return sb_error(err, "dataset 'synthetic': '%s' %ld of "
					"%ld features overflows the memory size",
					count_names[s], counts[s], nf);
	}

	d->n_features = (size_t)nf;
	d->n_classes = (size_t)nc;
	struct teacher t;
	teacher_make(&t, d->n_features, (size_t)th, d->n_classes, seed);
	double *hidden = sb_malloc((size_t)th * sizeof *hidden);
	for (int s = 0; s < 3; s++) {
		size_t n = (size_t)counts[s];
		struct sb_rng xr, nr;
		sb_rng_seed(&xr, sb_seed_mix(seed, STREAM_X + (uint64_t)s));
		sb_rng_seed(&nr, sb_seed_mix(seed, STREAM_NOISE + (uint64_t)s));
		d->n[s] = n;
		d->x[s] = sb_malloc(n * d->n_features * sizeof *d->x[s]);
		d->y[s] = sb_malloc(n * sizeof *d->y[s]);
		for (size_t r = 0; r < n; r++) {
			float *x = d->x[s] + r * d->n_features;
			for (size_t i = 0; i < d->n_features; i++)
				x[i] = (float)sb_rng_normal(&xr);
			d->y[s][r] = teacher_label(&t, x, hidden);
			/* two draws per example whatever the noise level, so
			 * changing it replaces labels without moving others */
			double u = sb_rng_uniform(&nr);
			uint64_t random_class = sb_rng_below(&nr, d->n_classes);
			if (u < noise)
				d->y[s][r] = (int32_t)random_class;
		}
	}
	free(hidden);
	free(t.w1);
	free(t.w2);

	memset(info, 0, sizeof *info);
	info->task = SB_TASK_VECTOR_CLASSIFY;
	info->n_features = d->n_features;
	info->n_classes = d->n_classes;
	for (int s = 0; s < 3; s++)
		info->n_examples[s] = d->n[s];
	return 0;
}

static void synthetic_batch(void *priv, enum sb_split split,
			    const size_t *rows, size_t n, struct sb_batch *out)
{
	const struct synthetic *d = priv;
	size_t nf = d->n_features;
	for (size_t r = 0; r < n; r++) {
		assert(rows[r] < d->n[split] && "row out of range");
		memcpy(out->x + r * nf, d->x[split] + rows[r] * nf,
		       nf * sizeof *out->x);
		out->targets[r] = d->y[split][rows[r]];
	}
	out->n = n;
}

const struct sb_dataset sb_dataset_synthetic = {
	.name = "synthetic",
	.summary = "seeded teacher-network classification of Gaussian vectors",
	.params = synthetic_params,
	.priv_size = sizeof(struct synthetic),
	.check = NULL,
	.open = synthetic_open,
	.batch = synthetic_batch,
	.release = synthetic_release,
};
