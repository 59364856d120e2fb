/* sparse_adam.c - AdamW (Loshchilov and Hutter, ICLR 2019) with moments only
 * for the components currently selected, each with its own step count for the
 * bias correction; entries that leave the selection lose their history, or
 * keep it frozen or decayed as lazy Adam does (on_change,
 * docs/optimizers.md). */
#include "sb.h"
#include "util.h"
#include "lib/adamw.h"
#include "lib/powers.h"
#include "lib/sparse_state.h"

#include <stdlib.h>

enum { COL_M, COL_V, COL_COUNT, N_COLS };

/* How many entries ahead the update prefetches its parameter. */
enum { PREFETCH_AHEAD = 32 };

/* Inverse bias corrections by count, so the O(k) step calls no pow(). Grown
 * on demand up to the largest count reached; once both round to 1.0f they
 * stay there, and the last entry serves every larger count. */
struct bias_table {
	float *c1, *c2; /* [n]; entry 0 unused */
	size_t n;
	bool saturated;
};

struct sparse_adam {
	struct adamw_hyper h;
	struct sb_sparse_state state; /* m, v (float), count (uint32_t) */
	struct bias_table bias;
	struct sb_powers decay1, decay2; /* beta1^gap, beta2^gap (decay) */
	size_t steps; /* taken by this state: no count exceeds it */
};

static const struct sb_param sparse_adam_params[] = {
	ADAMW_PARAMS,
	ON_CHANGE_PARAM,
	{0},
};

/* Makes the table cover every count up to max_count. */
static void bias_cover(struct bias_table *b, const struct adamw_hyper *h,
		       size_t max_count)
{
	if (b->saturated || max_count < b->n)
		return;
	size_t n = b->n ? 2 * b->n : 64;
	if (n <= max_count)
		n = max_count + 1;
	b->c1 = sb_realloc(b->c1, n * sizeof *b->c1);
	b->c2 = sb_realloc(b->c2, n * sizeof *b->c2);
	b->c1[0] = b->c2[0] = 1.0f;
	for (size_t c = b->n ? b->n : 1; c < n; c++) {
		b->c1[c] = adamw_inv_bias(h->beta1_d, c);
		b->c2[c] = adamw_inv_bias(h->beta2_d, c);
		if (b->c1[c] == 1.0f && b->c2[c] == 1.0f) {
			n = c + 1;
			b->saturated = true;
			break;
		}
	}
	b->n = n;
}

/* An entry back from the park with on_change decay: its moments decay as
 * Adam's do under zero gradients, m beta1^gap and v beta2^gap, and its count
 * advances by the gap, so that the bias correction is the one of a moment
 * that saw those zeros. A count stays <= steps: the entry was away for gap
 * of the updates taken since it started. */
static void decay_return(void *ctx, size_t slot, uint32_t gap)
{
	struct sparse_adam *s = ctx;
	float *m = s->state.col[COL_M], *v = s->state.col[COL_V];
	uint32_t *count = s->state.col[COL_COUNT];
	m[slot] *= sb_powers_at(&s->decay1, gap);
	v[slot] *= sb_powers_at(&s->decay2, gap);
	count[slot] += gap;
}

static int sparse_adam_init(void *priv, const struct sb_values *cfg,
			    size_t n_params, struct sb_error *err)
{
	struct sparse_adam *s = priv;
	if (n_params > (size_t)UINT32_MAX + 1)
		return sb_error(err, "sparse_adam: %zu parameters exceed "
				"32-bit indices", n_params);
	adamw_hyper_read(&s->h, cfg);
	enum sb_on_change mode = sb_on_change_read(cfg);
	sb_sparse_state_init(&s->state, N_COLS, mode,
			     mode == SB_ON_CHANGE_DECAY ? decay_return : NULL,
			     s);
	sb_powers_init(&s->decay1, s->h.beta1_d);
	sb_powers_init(&s->decay2, s->h.beta2_d);
	return 0;
}

static enum sb_grad_need sparse_adam_grad_need(const void *priv)
{
	(void)priv;
	return SB_GRAD_NEVER;
}

static void sparse_adam_step(void *priv, float *params, const float *grad,
			     const struct sb_selection *sel, bool changed,
			     const struct sb_opt_step *st,
			     struct sb_opt_report *rep)
{
	struct sparse_adam *s = priv;
	/* a local copy: stores to params cannot alias it, so the loop keeps
	 * the constants in registers */
	const struct adamw_hyper hyper = s->h, *h = &hyper;
	struct sb_sparse_state *state = &s->state;

	rep->history_lost =
		sb_sparse_state_follow(state, sel, changed, s->steps);
	s->steps++;
	bias_cover(&s->bias, h, s->steps);
	const float *c1 = s->bias.c1, *c2 = s->bias.c2;
	size_t last = s->bias.n - 1;

	/* entry j of the state is S's j-th component, whose gradient is
	 * grad[j] */
	const sb_index *restrict idx = state->idx;
	float *restrict m = state->col[COL_M];
	float *restrict v = state->col[COL_V];
	uint32_t *restrict count = state->col[COL_COUNT];
	float lr = (float)st->lr;
	size_t k = state->k;
	for (size_t j = 0; j < k; j++) {
		/* params is read at scattered places: ask for the one
		 * PREFETCH_AHEAD entries on, so that many misses overlap (the
		 * body's division and square root would otherwise keep only a
		 * few in flight) */
		if (j + PREFETCH_AHEAD < k)
			__builtin_prefetch(&params[idx[j + PREFETCH_AHEAD]], 1);
		sb_index i = idx[j];
		uint32_t c = count[j] + 1;
		size_t b = c < last ? c : last;
		count[j] = c;
		m[j] = adamw_m(h, m[j], grad[j]);
		v[j] = adamw_v(h, v[j], grad[j]);
		params[i] = adamw_move(params[i], m[j], v[j], c1[b], c2[b], lr,
				       h);
	}
}

static size_t sparse_adam_state_bytes(const void *priv)
{
	const struct sparse_adam *s = priv;
	return sb_sparse_state_bytes(&s->state);
}

static void sparse_adam_release(void *priv)
{
	struct sparse_adam *s = priv;
	sb_sparse_state_release(&s->state);
	free(s->bias.c1);
	free(s->bias.c2);
	s->bias = (struct bias_table){0};
	sb_powers_release(&s->decay1);
	sb_powers_release(&s->decay2);
}

const struct sb_optimizer sb_optimizer_sparse_adam = {
	.name = "sparse_adam",
	.summary = "AdamW with moments only for the selected components; "
		   "entries that leave the selection lose their history, or "
		   "keep it (on_change)",
	.params = sparse_adam_params,
	.priv_size = sizeof(struct sparse_adam),
	.init = sparse_adam_init,
	.grad_need = sparse_adam_grad_need,
	.step = sparse_adam_step,
	.state_bytes = sparse_adam_state_bytes,
	.release = sparse_adam_release,
};
