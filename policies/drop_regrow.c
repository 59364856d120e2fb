/* drop_regrow.c - S starts as k components drawn at random; every `every`
 * steps the fraction r_t of S that moved least since it entered is dropped
 * and as many components outside S regrown by their |gradient| accumulated
 * since S last changed: SpIEL-AG (Ansell et al., "Scaling Sparse
 * Fine-Tuning to Large Language Models", 2024), with the drop fraction
 * decayed by a cosine as in RigL (Evci et al., "Rigging the Lottery:
 * Making All Tickets Winners", ICML 2020). */
#include "sb.h"
#include "util.h"
#include "lib/pick.h"
#include "run/topk.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The stream label of the initial draw: "drop" in ASCII. */
#define DROP_REGROW_STREAM 0x64726f70ULL

struct drop_regrow {
	long every;    /* steps between two updates of S */
	double fraction; /* r: the drop fraction at step 0 */
	/* S as this policy last chose it (the core's copy may hold outside
	 * components too), with each member's value when it entered S:
	 * entry[j] belongs to sel.idx[j] */
	struct sb_selection sel;
	float *entry;
	float *acc;    /* sum of |g| since S last changed, gathered layout */
	size_t *k_t;   /* per_tensor: each scope tensor's share of S */
	bool started;
};

static const struct sb_param drop_regrow_params[] = {
	{.name = "every", .type = SB_INT, .def = "20", SB_RANGE(1, 1e9),
	 .help = "steps between two updates of S"},
	{.name = "fraction", .type = SB_FLOAT, .def = "0.3", SB_RANGE(0, 1),
	 .help = "fraction r of S dropped and regrown at step 0, decaying to 0"},
	{0},
};

static int drop_regrow_init(void *priv, const struct sb_values *cfg,
			    const struct sb_layout *layout,
			    struct sb_error *err)
{
	struct drop_regrow *p = priv;
	(void)layout;
	p->every = sb_values_int(cfg, "every");
	p->fraction = sb_values_float(cfg, "fraction");
	if (p->every < 1)
		return sb_error(err, "drop_regrow: 'every' must be at least 1, "
				"not %ld", p->every);
	return 0;
}

/* r_t = r (1 + cos(pi t / steps)) / 2: r at step 0, 0 at the run's end. */
static double drop_rate(const struct drop_regrow *p, long step, long steps)
{
	if (steps <= 0)
		return p->fraction;
	return p->fraction * 0.5 * (1.0 + cos(M_PI * (double)step / (double)steps));
}

/* One segment of the scope: the scope tensors [s0, s1), whose components
 * start at gathered position pos0 and hold S's entries [j0, j0 + m). */
struct segment {
	size_t s0, s1, pos0, j0, m;
};

/* Replaces d of the segment's m members of S: keeps the m - d with the
 * largest |params - entry| (ties: the lower index stays) and adds the d
 * non-members with the largest acc (ties: the lower index), appending the
 * segment's new members ascending to idx/entry at *w. */
static void renew(const struct drop_regrow *p, const struct sb_select_ctx *ctx,
		  const struct segment *seg, size_t d, sb_index *idx,
		  float *entry, size_t *w)
{
	const struct sb_tensor *tensors = ctx->layout->tensors;
	const sb_index *old = p->sel.idx + seg->j0;
	const float *old_entry = p->entry + seg->j0;
	size_t m = seg->m, size = 0;
	for (size_t s = seg->s0; s < seg->s1; s++)
		size += tensors[ctx->scope[s]].size;

	float *moved = sb_malloc((m ? m : 1) * sizeof *moved);
	sb_index *keep = sb_malloc((m ? m : 1) * sizeof *keep);
	for (size_t j = 0; j < m; j++)
		moved[j] = ctx->params[old[j]] - old_entry[j];
	sb_topk_abs(moved, m, m - d, 0, keep);

	/* the non-members and their accumulated |g|: old is ascending */
	size_t n_cand = size - m, c = 0, j = 0, pos = seg->pos0;
	sb_index *cand = sb_malloc((n_cand ? n_cand : 1) * sizeof *cand);
	float *score = sb_malloc((n_cand ? n_cand : 1) * sizeof *score);
	for (size_t s = seg->s0; s < seg->s1; s++) {
		const struct sb_tensor *t = &tensors[ctx->scope[s]];
		for (size_t i = 0; i < t->size; i++, pos++) {
			sb_index g = (sb_index)(t->offset + i);
			if (j < m && old[j] == g) {
				j++;
				continue;
			}
			cand[c] = g;
			score[c++] = p->acc[pos];
		}
	}
	sb_index *grow = sb_malloc((d ? d : 1) * sizeof *grow);
	sb_topk_abs(score, n_cand, d, 0, grow);

	/* merge the kept and the grown, both ascending */
	size_t a = 0, b = 0;
	while (a < m - d || b < d) {
		bool take_kept = b == d ||
				 (a < m - d && old[keep[a]] < cand[grow[b]]);
		if (take_kept) {
			idx[*w] = old[keep[a]];
			entry[*w] = old_entry[keep[a++]];
		} else {
			idx[*w] = cand[grow[b++]];
			entry[*w] = ctx->params[idx[*w]];
		}
		(*w)++;
	}
	free(moved);
	free(keep);
	free(cand);
	free(score);
	free(grow);
}

/* The number to replace out of m members among `size` components. */
static size_t replaced(double rate, size_t m, size_t size)
{
	double d = floor(rate * (double)m + 0.5);
	size_t n = (size_t)d;
	if (n > size - m)
		n = size - m;
	return n;
}

/* The update of S at this step; returns whether S changed. */
static bool update(struct drop_regrow *p, const struct sb_select_ctx *ctx)
{
	const struct sb_tensor *tensors = ctx->layout->tensors;
	double rate = drop_rate(p, ctx->step, ctx->steps);
	size_t k = p->sel.k, w = 0, total = 0;
	sb_index *idx = sb_malloc((k ? k : 1) * sizeof *idx);
	float *entry = sb_malloc((k ? k : 1) * sizeof *entry);
	if (!ctx->per_tensor) {
		struct segment seg = {0, ctx->n_scope, 0, 0, k};
		size_t d = replaced(rate, k, ctx->n_eligible);
		renew(p, ctx, &seg, d, idx, entry, &w);
		total = d;
	} else {
		size_t pos = 0, j = 0;
		for (size_t s = 0; s < ctx->n_scope; s++) {
			size_t size = tensors[ctx->scope[s]].size;
			struct segment seg = {s, s + 1, pos, j, p->k_t[s]};
			size_t d = replaced(rate, p->k_t[s], size);
			renew(p, ctx, &seg, d, idx, entry, &w);
			total += d;
			pos += size;
			j += p->k_t[s];
		}
	}
	sb_assert(w == k, "drop_regrow changed the size of S");
	if (total == 0) {
		free(idx);
		free(entry);
		return false;
	}
	free(p->sel.idx);
	free(p->entry);
	p->sel.idx = idx;
	p->sel.cap = k;
	p->entry = entry;
	memset(p->acc, 0, ctx->n_eligible * sizeof *p->acc);
	return true;
}

/* The random S of step 0, each member entering at its current value. */
static void start(struct drop_regrow *p, const struct sb_select_ctx *ctx)
{
	struct sb_rng rng;
	sb_rng_seed(&rng, sb_seed_mix(ctx->seed, DROP_REGROW_STREAM));
	sb_pick_random(ctx, &rng, &p->sel);
	p->entry = sb_malloc((p->sel.k ? p->sel.k : 1) * sizeof *p->entry);
	for (size_t j = 0; j < p->sel.k; j++)
		p->entry[j] = ctx->params[p->sel.idx[j]];
	p->acc = sb_calloc(ctx->n_eligible ? ctx->n_eligible : 1,
			   sizeof *p->acc);
	if (ctx->per_tensor) {
		p->k_t = sb_malloc((ctx->n_scope ? ctx->n_scope : 1) *
				   sizeof *p->k_t);
		sb_select_apportion(ctx, p->k_t);
	}
	p->started = true;
}

static int drop_regrow_select(void *priv, const struct sb_select_ctx *ctx,
			      struct sb_selection *out, struct sb_error *err)
{
	struct drop_regrow *p = priv;
	if (sb_pick_check_nan(ctx, ctx->grad, err))
		return -1;
	bool changed = !p->started;
	if (!p->started)
		start(p, ctx);
	sb_pick_accumulate(ctx, ctx->grad, false, p->acc);
	if (ctx->step > 0 && ctx->step % p->every == 0)
		changed = update(p, ctx);
	/* no update left in the run: S is final and the gradient no longer
	 * needed, which SB_SELECT_FIXED tells the core (with the set, even
	 * an unchanged one) */
	bool last = ctx->steps > 0 &&
		    (ctx->step / p->every + 1) * p->every >= ctx->steps;
	if (!changed && !last)
		return SB_SELECT_SAME;
	sb_selection_reserve(out, p->sel.k);
	memcpy(out->idx, p->sel.idx, p->sel.k * sizeof *out->idx);
	out->k = p->sel.k;
	return last ? SB_SELECT_FIXED : SB_SELECT_NEW;
}

static void drop_regrow_release(void *priv)
{
	struct drop_regrow *p = priv;
	sb_selection_release(&p->sel);
	free(p->entry);
	free(p->acc);
	free(p->k_t);
	p->entry = p->acc = NULL;
	p->k_t = NULL;
}

const struct sb_policy sb_policy_drop_regrow = {
	.name = "drop_regrow",
	.summary = "random start; every N steps drop the least-moved of S, regrow by accumulated |g| (SpIEL)",
	.params = drop_regrow_params,
	.priv_size = sizeof(struct drop_regrow),
	.scoped = true,
	.grad_need = SB_GRAD_WARMUP,
	.init = drop_regrow_init,
	.select = drop_regrow_select,
	.release = drop_regrow_release,
};
