/* dense_adam.c - AdamW (Loshchilov and Hutter, ICLR 2019) with moments for all
 * n components, updated with the full gradient at every step; only the
 * selected components move, so no history is ever lost (docs/optimizers.md). */
#include "sb.h"
#include "util.h"
#include "lib/adamw.h"

#include <stdlib.h>

struct dense_adam {
	struct adamw_hyper h;
	size_t n;
	float *m, *v; /* [n] first and second moments */
};

static const struct sb_param dense_adam_params[] = {
	ADAMW_PARAMS,
	{0},
};

static int dense_adam_init(void *priv, const struct sb_values *cfg,
			   size_t n_params, struct sb_error *err)
{
	struct dense_adam *s = priv;
	(void)err;
	adamw_hyper_read(&s->h, cfg);
	s->n = n_params;
	s->m = sb_calloc(n_params, sizeof *s->m);
	s->v = sb_calloc(n_params, sizeof *s->v);
	return 0;
}

static inline void moments(const struct adamw_hyper *h, float *restrict m,
			   float *restrict v, const float *restrict grad,
			   size_t n)
{
	for (size_t i = 0; i < n; i++) {
		m[i] = adamw_m(h, m[i], grad[i]);
		v[i] = adamw_v(h, v[i], grad[i]);
	}
}

/* Every moment follows the full gradient (DESIGN.md): it reads all n
 * components at every step, whatever S is. */
static enum sb_grad_need dense_adam_grad_need(const void *priv)
{
	(void)priv;
	return SB_GRAD_ALWAYS;
}

static void dense_adam_step(void *priv, float *params, const float *grad_s,
			    const struct sb_selection *sel, bool changed,
			    const struct sb_opt_step *st,
			    struct sb_opt_report *rep)
{
	struct dense_adam *s = priv;
	/* a local copy: stores to params cannot alias it, so the loop keeps
	 * the constants in registers */
	const struct adamw_hyper hyper = s->h, *h = &hyper;
	const float *grad = st->full_grad;
	(void)changed;
	(void)grad_s; /* the same values, at S: the moments read them all */

	/* A trip count that is a multiple of 8 lets -O2's very cheap cost
	 * model vectorise the body without a scalar epilogue; the rest is the
	 * tail of at most 7 components. */
	size_t n8 = s->n & ~(size_t)7;
	moments(h, s->m, s->v, grad, n8);
	moments(h, s->m + n8, s->v + n8, grad + n8, s->n - n8);
	const float *m = s->m, *v = s->v;

	/* every moment has seen t gradients: one correction for all */
	float c1 = adamw_inv_bias(h->beta1_d, (uint64_t)st->t);
	float c2 = adamw_inv_bias(h->beta2_d, (uint64_t)st->t);
	float lr = (float)st->lr;
	const sb_index *idx = sel->idx;
	for (size_t j = 0; j < sel->k; j++) {
		sb_index i = idx[j];
		params[i] = adamw_move(params[i], m[i], v[i], c1, c2, lr, h);
	}
	rep->history_lost = 0;
}

static size_t dense_adam_state_bytes(const void *priv)
{
	const struct dense_adam *s = priv;
	return s->n * (sizeof *s->m + sizeof *s->v);
}

static void dense_adam_release(void *priv)
{
	struct dense_adam *s = priv;
	free(s->m);
	free(s->v);
	s->m = s->v = NULL;
}

const struct sb_optimizer sb_optimizer_dense_adam = {
	.name = "dense_adam",
	.summary = "AdamW with moments for all components, updated every step; "
		   "only the selection moves",
	.params = dense_adam_params,
	.priv_size = sizeof(struct dense_adam),
	.init = dense_adam_init,
	.grad_need = dense_adam_grad_need,
	.step = dense_adam_step,
	.state_bytes = dense_adam_state_bytes,
	.release = dense_adam_release,
};
