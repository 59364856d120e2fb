/* dense_adam.c - AdamW (Loshchilov and Hutter, ICLR 2019) with moments for all
 * n components, updated with the full gradient at every step; only the
 * selected components move, so no history is ever lost (docs/optimizers.md). */
#include "sb.h"
#include "util.h"
#include "lib/adamw.h"
#include "lib/adamw_pass.h"

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

/* Every moment follows the full gradient (DESIGN.md): it reads all n
 * components at every step, whatever S is, in one pass that also moves S
 * (lib/adamw_pass.h), split over the run's threads. */
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
	(void)changed;
	(void)grad_s; /* the same values, at S: the moments read them all */

	/* every moment has seen t gradients: one correction for all */
	struct adamw_pass a = {
		.h = &s->h,
		.params = params,
		.m = s->m,
		.v = s->v,
		.grad = st->full_grad,
		.n = s->n,
		.idx = sel->idx,
		.k = sel->k,
		.c1 = adamw_inv_bias(s->h.beta1_d, (uint64_t)st->t),
		.c2 = adamw_inv_bias(s->h.beta2_d, (uint64_t)st->t),
		.lr = (float)st->lr,
	};
	adamw_pass_run(&a);
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
