/* sgd.c - stochastic gradient descent on the selected components, with
 * optional heavy-ball momentum (Polyak 1964, in the form b = mu b + g without
 * dampening) and decoupled weight decay (Loshchilov and Hutter, ICLR 2019). */
#include "sb.h"
#include "util.h"
#include "lib/powers.h"
#include "lib/sparse_state.h"
#include "lib/weight_decay.h"

#include <stdlib.h>
#include <string.h>

struct sgd {
	float momentum, wd;
	bool sparse_buffer;
	size_t n;
	float *buf;                   /* dense buffer: [n], or NULL */
	struct sb_sparse_state state; /* sparse buffer: one float column */
	struct sb_powers decay;       /* momentum^gap (on_change: decay) */
	size_t steps;
};

static const struct sb_param sgd_params[] = {
	{.name = "momentum", .type = SB_FLOAT, .def = "0", SB_RANGE(0, 1),
	 .hi_open = true, .help = "heavy-ball momentum mu: b = mu * b + g (0: none)"},
	WEIGHT_DECAY_PARAM,
	{.name = "momentum_buffer", .type = SB_CHOICE, .def = "dense",
	 .choices = "dense|sparse",
	 .help = "momentum for all components every step, or only for the selected"},
	ON_CHANGE_PARAM,
	{0},
};

/* An entry back from the park with on_change decay: the buffer decays as
 * under zero gradients, b mu^gap. */
static void decay_return(void *ctx, size_t slot, uint32_t gap)
{
	struct sgd *s = ctx;
	float *buf = s->state.col[0];
	buf[slot] *= sb_powers_at(&s->decay, gap);
}

static int sgd_init(void *priv, const struct sb_values *cfg, size_t n_params,
		    struct sb_error *err)
{
	struct sgd *s = priv;
	(void)err;
	s->momentum = (float)sb_values_float(cfg, "momentum");
	s->wd = (float)sb_values_float(cfg, "weight_decay");
	s->sparse_buffer = !strcmp(sb_values_str(cfg, "momentum_buffer"),
				   "sparse");
	s->n = n_params;
	enum sb_on_change mode = sb_on_change_read(cfg);
	sb_sparse_state_init(&s->state, 1, mode,
			     mode == SB_ON_CHANGE_DECAY ? decay_return : NULL,
			     s);
	sb_powers_init(&s->decay, s->momentum);
	if (s->momentum > 0.0f && !s->sparse_buffer)
		s->buf = sb_calloc(n_params, sizeof *s->buf);
	return 0;
}

/* p - lr * (d + wd * p): the one update every variant applies. */
static inline float sgd_move(float p, float d, float lr, float wd)
{
	return p - lr * (d + wd * p);
}

/* b = mu * b + g for every component. */
static inline void accumulate(float *restrict buf, const float *restrict grad,
			      float mu, size_t n)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = mu * buf[i] + grad[i];
}

/* A dense momentum buffer follows every component's gradient, as
 * dense_adam's moments do; otherwise only S's is read. */
static enum sb_grad_need sgd_grad_need(const void *priv)
{
	const struct sgd *s = priv;
	return s->buf ? SB_GRAD_ALWAYS : SB_GRAD_NEVER;
}

static void sgd_step(void *priv, float *params, const float *grad,
		     const struct sb_selection *sel, bool changed,
		     const struct sb_opt_step *st, struct sb_opt_report *rep)
{
	struct sgd *s = priv;
	const sb_index *restrict idx = sel->idx;
	float lr = (float)st->lr, wd = s->wd, mu = s->momentum;

	rep->history_lost = 0;
	if (mu == 0.0f) {
		for (size_t j = 0; j < sel->k; j++) {
			sb_index i = idx[j];
			params[i] = sgd_move(params[i], grad[j], lr, wd);
		}
	} else if (!s->sparse_buffer) {
		/* multiple-of-8 trip count: vectorised at -O2 (dense_adam.c) */
		size_t n8 = s->n & ~(size_t)7;
		const float *full = st->full_grad;
		accumulate(s->buf, full, mu, n8);
		accumulate(s->buf + n8, full + n8, mu, s->n - n8);
		const float *buf = s->buf;
		for (size_t j = 0; j < sel->k; j++) {
			sb_index i = idx[j];
			params[i] = sgd_move(params[i], buf[i], lr, wd);
		}
	} else {
		struct sb_sparse_state *state = &s->state;
		rep->history_lost =
			sb_sparse_state_follow(state, sel, changed, s->steps);
		float *restrict buf = state->col[0];
		/* entry j of the state is S's j-th component */
		for (size_t j = 0; j < state->k; j++) {
			sb_index i = state->idx[j];
			buf[j] = mu * buf[j] + grad[j];
			params[i] = sgd_move(params[i], buf[j], lr, wd);
		}
	}
	s->steps++;
}

static size_t sgd_state_bytes(const void *priv)
{
	const struct sgd *s = priv;
	if (s->buf)
		return s->n * sizeof *s->buf;
	return sb_sparse_state_bytes(&s->state);
}

static void sgd_release(void *priv)
{
	struct sgd *s = priv;
	free(s->buf);
	s->buf = NULL;
	sb_sparse_state_release(&s->state);
	sb_powers_release(&s->decay);
}

const struct sb_optimizer sb_optimizer_sgd = {
	.name = "sgd",
	.summary = "SGD on the selected components; optional momentum, "
		   "dense or sparse buffer",
	.params = sgd_params,
	.priv_size = sizeof(struct sgd),
	.init = sgd_init,
	.grad_need = sgd_grad_need,
	.step = sgd_step,
	.state_bytes = sgd_state_bytes,
	.release = sgd_release,
};
