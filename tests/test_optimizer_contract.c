/* test_optimizer_contract.c - what every registered optimizer promises
 * (docs/plugins.md, docs/optimizers.md), checked over the generated registry
 * so that a new optimizer file is tested without editing this one: only S
 * moves, history_lost counts discarded state, state_bytes accounts for what
 * the state allocates, and on_change (for those that declare it) resets,
 * keeps or decays the state of a component that leaves and re-enters. */
#include "support.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "registry.h"
#include "sb.h"
#include "spec/params.h"
#include "util.h"

/* ---- configurations: every choice, with and without the optional terms -- */

#define MAX_SET 8

/* Parameter values set on top of the defaults: name, value pairs. */
struct variant {
	const char *name[MAX_SET], *value[MAX_SET];
	size_t n;
	char text[256]; /* for failure messages */
};

static void variant_set(struct variant *v, const char *name,
			const char *value)
{
	assert_true(v->n < MAX_SET);
	v->name[v->n] = name;
	v->value[v->n++] = value;
	size_t len = strlen(v->text);
	snprintf(v->text + len, sizeof v->text - len, " %s=%s", name, value);
}

/* The declared choices of p, split at '|' into buf, as NULL-ended words. */
static size_t split_choices(const struct sb_param *p, char *buf, size_t size,
			    const char **words, size_t max)
{
	size_t n = 0;
	snprintf(buf, size, "%s", p->choices);
	for (char *w = strtok(buf, "|"); w && n < max; w = strtok(NULL, "|"))
		words[n++] = w;
	return n;
}

/* A float parameter off by default (momentum) that takes 0.5: the variants
 * run it at 0 and at 0.5. Weight decay is set by the tests that want it. */
static bool switchable(const struct sb_param *p)
{
	return p->type == SB_FLOAT && p->def && !strcmp(p->def, "0") &&
	       strcmp(p->name, "weight_decay") &&
	       (!p->ranged || (p->lo <= 0.5 && 0.5 < p->hi));
}

/* Every combination of the optimizer's choice parameters (except `skip`)
 * and of its switchable floats at 0 and 0.5; returns how many, at most max. */
static size_t variants_of(const struct sb_optimizer *opt, const char *skip,
			  struct variant *out, size_t max)
{
	static char bufs[MAX_SET][128];
	const char *words[MAX_SET][8];
	size_t n_words[MAX_SET], n_axes = 0, total = 1;
	const struct sb_param *axes[MAX_SET];

	for (const struct sb_param *p = opt->params; p->name; p++) {
		if (skip && !strcmp(p->name, skip))
			continue;
		if (p->type == SB_CHOICE) {
			n_words[n_axes] = split_choices(p, bufs[n_axes], 128,
							words[n_axes], 8);
		} else if (switchable(p)) {
			words[n_axes][0] = "0";
			words[n_axes][1] = "0.5";
			n_words[n_axes] = 2;
		} else {
			continue;
		}
		axes[n_axes] = p;
		total *= n_words[n_axes++];
	}
	assert_true(total <= max);
	for (size_t v = 0; v < total; v++) {
		memset(&out[v], 0, sizeof out[v]);
		for (size_t a = 0, rest = v; a < n_axes; a++) {
			variant_set(&out[v], axes[a]->name,
				    words[a][rest % n_words[a]]);
			rest /= n_words[a];
		}
	}
	return total;
}

static bool declares(const struct sb_optimizer *opt, const char *name)
{
	for (const struct sb_param *p = opt->params; p->name; p++)
		if (!strcmp(p->name, name))
			return true;
	return false;
}

/* ---- an optimizer as the core drives it ---------------------------------- */

struct inst {
	const struct sb_optimizer *opt;
	struct sb_param *decl;
	struct sb_values cfg;
	void *priv;
	long t;
};

/* Resolves the configuration; init is left to inst_init, so that the
 * allocations it makes can be measured alone. */
static void inst_config(struct inst *x, const struct sb_optimizer *opt,
			const struct variant *v)
{
	struct sb_error err = {{0}};
	size_t ns = sb_test_count_params(sb_schedule_params);
	size_t no = sb_test_count_params(opt->params);
	memset(x, 0, sizeof *x);
	x->opt = opt;
	x->decl = sb_calloc(ns + no + 1, sizeof *x->decl);
	memcpy(x->decl, sb_schedule_params, ns * sizeof *x->decl);
	memcpy(x->decl + ns, opt->params, no * sizeof *x->decl);
	assert_int_equal(sb_values_defaults(&x->cfg, x->decl, &err), 0);
	for (size_t i = 0; i < v->n; i++)
		assert_int_equal(sb_values_set(&x->cfg, v->name[i], v->value[i],
					       &err), 0);
	x->priv = sb_calloc(1, opt->priv_size);
}

static void inst_init(struct inst *x, size_t n)
{
	struct sb_error err = {{0}};
	assert_int_equal(x->opt->init(x->priv, &x->cfg, n, &err), 0);
}

/* One update at learning rate 0.01 with S = idx[0..k) and the full gradient
 * `grad`, given as the core gives it; returns history_lost. */
static size_t inst_step(struct inst *x, float *params, const float *grad,
			const sb_index *idx, size_t k, bool changed)
{
	struct sb_selection sel = {.idx = (sb_index *)idx, .k = k, .cap = k};
	struct sb_opt_step st = {.t = ++x->t, .lr = 0.01};
	struct sb_opt_report rep = {.history_lost = 12345};
	static float grad_s[1024]; /* static: no allocation inside a measure */
	assert_true(k <= 1024);
	for (size_t j = 0; j < k; j++)
		grad_s[j] = grad[idx[j]];
	if (x->opt->grad_need(x->priv) == SB_GRAD_ALWAYS)
		st.full_grad = grad;
	x->opt->step(x->priv, params, grad_s, &sel, changed, &st, &rep);
	return rep.history_lost;
}

static void inst_close(struct inst *x)
{
	x->opt->release(x->priv);
	free(x->priv);
	sb_values_release(&x->cfg);
	free(x->decl);
}

static void fill_normal(struct sb_rng *rng, float *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		x[i] = (float)sb_rng_normal(rng);
}

/* Each of 0..n-1 with probability p, sorted; at least one. */
static size_t random_subset(struct sb_rng *rng, size_t n, double p,
			    sb_index *out)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (sb_rng_uniform(rng) < p)
			out[k++] = (sb_index)i;
	if (!k)
		out[k++] = (sb_index)sb_rng_below(rng, n);
	return k;
}

/* |a minus b| for sorted sets. */
static size_t count_leaving(const sb_index *a, size_t ka, const sb_index *b,
			    size_t kb)
{
	size_t left = 0, j = 0;
	for (size_t r = 0; r < ka; r++) {
		while (j < kb && b[j] < a[r])
			j++;
		left += !(j < kb && b[j] == a[r]);
	}
	return left;
}

/* ---- only S moves; history_lost ------------------------------------------ */

/* 30 steps on 300 components, S of ~10% re-drawn on two steps of three:
 * outside S every parameter is bit-identical after the step; history_lost
 * is 0 at the first step and whenever S is unchanged, never more than the
 * entries that left, 0 for a state that follows every component and with
 * on_change keep or decay. */
static void check_moves_and_losses(const struct sb_optimizer *opt,
				   const struct variant *v)
{
	enum { N = 300, STEPS = 30 };
	struct sb_rng rng;
	sb_rng_seed(&rng, 17);
	float p[N], before[N], g[N];
	sb_index idx[2][N];
	size_t k[2] = {0, 0};
	struct inst x;
	inst_config(&x, opt, v);
	inst_init(&x, N);
	fill_normal(&rng, p, N);
	bool dense = opt->grad_need(x.priv) == SB_GRAD_ALWAYS;
	bool parks = declares(opt, "on_change") &&
		     strcmp(sb_values_str(&x.cfg, "on_change"), "reset");
	for (int t = 1; t <= STEPS; t++) {
		int cur = t % 2, prev = !cur;
		bool changed = t == 1 || t % 3 != 0;
		if (changed) {
			k[cur] = random_subset(&rng, N, 0.1, idx[cur]);
		} else {
			memcpy(idx[cur], idx[prev], k[prev] * sizeof **idx);
			k[cur] = k[prev];
		}
		fill_normal(&rng, g, N);
		memcpy(before, p, sizeof p);
		size_t lost = inst_step(&x, p, g, idx[cur], k[cur], changed);
		for (size_t i = 0, j = 0; i < N; i++) {
			if (j < k[cur] && idx[cur][j] == i) {
				j++;
				continue;
			}
			if (p[i] != before[i])
				fail_msg("%s%s: component %zu outside S moved "
					 "at step %d", opt->name, v->text, i,
					 t);
		}
		size_t left = t == 1 ? 0 : count_leaving(idx[prev], k[prev],
							 idx[cur], k[cur]);
		if (lost > left || ((!changed || dense || parks) && lost))
			fail_msg("%s%s: history_lost %zu at step %d (%zu "
				 "left S)", opt->name, v->text, lost, t, left);
	}
	inst_close(&x);
}

static void test_only_selection_moves(void **state)
{
	(void)state;
	struct variant vs[64];
	for (size_t o = 0; o < sb_n_optimizers; o++) {
		const struct sb_optimizer *opt = sb_optimizers[o];
		size_t n = variants_of(opt, NULL, vs, 64);
		for (size_t i = 0; i < n; i++) {
			check_moves_and_losses(opt, &vs[i]);
			variant_set(&vs[i], "weight_decay", "0.1");
			check_moves_and_losses(opt, &vs[i]);
		}
	}
}

/* ---- state_bytes ---------------------------------------------------------- */

/* Bytes the allocator has handed out and not had back, where the C library
 * can tell (glibc); 0 where it cannot (the sanitizers' allocator). glibc
 * counts its per-thread cache of small freed blocks (up to 1032 bytes) as
 * in use, so only arrays larger than that show up when allocated. */
static size_t allocated(void)
{
	struct mallinfo2 mi = mallinfo2();
	return mi.uordblks + mi.hblkhd;
}

/* state_bytes after one step with S = every (n/k)-th of n components; the
 * bytes the optimizer allocated in init and that step in *held. */
static size_t bytes_at(const struct sb_optimizer *opt, const struct variant *v,
		       size_t n, size_t k, size_t *held)
{
	struct inst x;
	inst_config(&x, opt, v);
	float *p = sb_calloc(n, sizeof *p), *g = sb_calloc(n, sizeof *g);
	sb_index *idx = sb_malloc(k * sizeof *idx);
	for (size_t j = 0; j < k; j++)
		idx[j] = (sb_index)(j * (n / k));
	size_t before = allocated();
	inst_init(&x, n);
	inst_step(&x, p, g, idx, k, true);
	size_t after = allocated();
	*held = after > before ? after - before : 0;
	size_t bytes = opt->state_bytes(x.priv);
	inst_close(&x);
	free(p);
	free(g);
	free(idx);
	return bytes;
}

/* state_bytes is alpha n + beta k (a state per component or per selected
 * entry, in 4-byte words), and the allocator saw at least that much and
 * at most twice as much plus 64 KiB: arrays may keep up to twice their
 * entries when grown by doubling, and the bias-correction and decay
 * tables (a few KiB at one step) are not state. */
static void check_bytes_scale(const struct sb_optimizer *opt,
			      const struct variant *v)
{
	size_t h1, h2, h3;
	size_t b1 = bytes_at(opt, v, 20000, 400, &h1);
	size_t b2 = bytes_at(opt, v, 20000, 800, &h2);
	size_t b3 = bytes_at(opt, v, 40000, 400, &h3);
	/* b1 = a n + b k, b2 = a n + 2 b k, b3 = 2 a n + b k */
	if (b2 < b1 || b3 < b1 || b2 + b3 != 3 * b1)
		fail_msg("%s%s: state_bytes %zu, %zu, %zu for (n, k) = (2e4, "
			 "400), (2e4, 800), (4e4, 400) is not a n + b k",
			 opt->name, v->text, b1, b2, b3);
	assert_int_equal((b2 - b1) % (4 * 400), 0);
	assert_int_equal((b3 - b1) % (4 * 20000), 0);
	size_t bytes[3] = {b1, b2, b3}, held[3] = {h1, h2, h3};
	for (int i = 0; i < 3; i++) {
		if (!held[i] && bytes[i])
			continue; /* no allocator statistics here */
		if (held[i] < bytes[i] || held[i] > 2 * bytes[i] + 65536)
			fail_msg("%s%s: state_bytes %zu but %zu bytes "
				 "allocated", opt->name, v->text, bytes[i],
				 held[i]);
	}
}

static void test_state_bytes_account_for_allocations(void **state)
{
	(void)state;
	struct variant vs[64];
	for (size_t o = 0; o < sb_n_optimizers; o++) {
		size_t n = variants_of(sb_optimizers[o], NULL, vs, 64);
		for (size_t i = 0; i < n; i++)
			check_bytes_scale(sb_optimizers[o], &vs[i]);
	}
}

/* With on_change keep or decay the state grows with the components ever
 * selected: state_bytes = (that of reset at the same k) + gamma (ever - k),
 * the same gamma at every step, and it never shrinks. */
static void check_parked_bytes(const struct sb_optimizer *opt,
			       const struct variant *v, const char *mode)
{
	enum { N = 400, STEPS = 12 };
	struct inst reset, kept;
	struct variant vr = *v, vk = *v;
	variant_set(&vr, "on_change", "reset");
	variant_set(&vk, "on_change", mode);
	inst_config(&reset, opt, &vr);
	inst_config(&kept, opt, &vk);
	inst_init(&reset, N);
	inst_init(&kept, N);
	struct sb_rng rng;
	sb_rng_seed(&rng, 23);
	float p[N] = {0}, q[N] = {0}, g[N];
	sb_index idx[N];
	bool ever[N] = {0};
	size_t n_ever = 0, gamma = 0, last = 0;
	for (int t = 1; t <= STEPS; t++) {
		size_t k = random_subset(&rng, N, 0.05, idx);
		for (size_t j = 0; j < k; j++) {
			n_ever += !ever[idx[j]];
			ever[idx[j]] = true;
		}
		fill_normal(&rng, g, N);
		inst_step(&reset, p, g, idx, k, true);
		inst_step(&kept, q, g, idx, k, true);
		size_t br = opt->state_bytes(reset.priv);
		size_t bk = opt->state_bytes(kept.priv);
		assert_true(bk >= br && bk >= last);
		last = bk;
		if (n_ever == k)
			continue;
		if (!gamma)
			gamma = (bk - br) / (n_ever - k);
		if (bk - br != gamma * (n_ever - k))
			fail_msg("%s%s: %zu bytes more than reset with %zu "
				 "parked, %zu per parked entry before",
				 opt->name, vk.text, bk - br, n_ever - k,
				 gamma);
	}
	/* a state that exists parks something: 4 bytes of index at least */
	if (opt->state_bytes(reset.priv) &&
	    opt->grad_need(kept.priv) == SB_GRAD_NEVER)
		assert_true(gamma >= 8);
	inst_close(&reset);
	inst_close(&kept);
}

static void test_parked_state_is_counted(void **state)
{
	(void)state;
	struct variant vs[64];
	for (size_t o = 0; o < sb_n_optimizers; o++) {
		const struct sb_optimizer *opt = sb_optimizers[o];
		if (!declares(opt, "on_change"))
			continue;
		size_t n = variants_of(opt, "on_change", vs, 64);
		for (size_t i = 0; i < n; i++) {
			check_parked_bytes(opt, &vs[i], "keep");
			check_parked_bytes(opt, &vs[i], "decay");
		}
	}
}

/* ---- on_change: reset, keep, decay --------------------------------------- */

/* Five components over four steps, every step a new S:
 *   0  selected throughout (S is never empty)
 *   1  the returner: steps 1 and 4, gradients A then B; away 2 and 3
 *   2  fresh: step 4 only, gradient B, set to p1 just before step 4
 *   3  contiguous: steps 1 and 2, gradients A then B, starting where 1 does
 *   4  dense-like: steps 1 to 4, gradients A, 0, 0, B, starting where 1 does
 * reset: 1 restarts from nothing, so it ends exactly where 2 does (bit for
 * bit). keep: 1 resumes as left, as if steps 2 and 3 had not happened, so it
 * ends exactly where 3 does. decay: 1 resumes as if it had seen zero
 * gradients while away, so its state at step 4 is 4's and it moves by what
 * 4 moves at step 4. Weight decay is 0, so a move does not depend on p. */
enum { N5 = 5, T4 = 4 };
static const float A = 0.3f, B = -0.2f, P1 = 0.7f;
static const sb_index S_AT[T4][N5] = {
	{0, 1, 3, 4}, {0, 3, 4}, {0, 4}, {0, 1, 2, 4}};
static const size_t K_AT[T4] = {4, 3, 2, 4};
static const size_t LEFT_AT[T4] = {0, 1, 1, 0}; /* |S_t-1 minus S_t| */

struct returner {
	float p[N5];
	float move1, move4; /* of 1 and of 4 at step 4 */
	size_t lost[T4];
	bool stateful; /* the reset run held state after step 1 */
};

static void run_returner(const struct sb_optimizer *opt,
			 const struct variant *v, const char *mode,
			 struct returner *out)
{
	const float g[T4][N5] = {
		{0.5f, A, 0.0f, A, A},
		{-0.4f, 0.0f, 0.0f, B, 0.0f},
		{0.1f, 0.0f, 0.0f, 0.0f, 0.0f},
		{0.2f, B, B, 0.0f, B},
	};
	struct variant vm = *v;
	variant_set(&vm, "on_change", mode);
	struct inst x;
	inst_config(&x, opt, &vm);
	inst_init(&x, N5);
	float *p = out->p;
	p[0] = -0.3f;
	p[1] = p[3] = p[4] = P1;
	p[2] = 0.0f;
	for (int t = 0; t < T4; t++) {
		float before1 = p[1], before4 = p[4];
		if (t == 3)
			p[2] = p[1];
		out->lost[t] = inst_step(&x, p, g[t], S_AT[t], K_AT[t], true);
		if (t == 0)
			out->stateful = opt->state_bytes(x.priv) > 0;
		out->move1 = p[1] - before1;
		out->move4 = p[4] - before4;
	}
	inst_close(&x);
}

static void check_on_change(const struct sb_optimizer *opt,
			    const struct variant *v)
{
	struct returner reset, keep, decay;
	run_returner(opt, v, "reset", &reset);
	run_returner(opt, v, "keep", &keep);
	run_returner(opt, v, "decay", &decay);

	if (reset.p[1] != reset.p[2])
		fail_msg("%s%s reset: re-entering component at %.9g, a fresh "
			 "one at %.9g", opt->name, v->text, reset.p[1],
			 reset.p[2]);
	if (keep.p[1] != keep.p[3])
		fail_msg("%s%s keep: resumed component at %.9g, one selected "
			 "without a pause at %.9g", opt->name, v->text,
			 keep.p[1], keep.p[3]);
	/* The two moves start from parameters that differ (4 moved at steps
	 * 2 and 3): each is rounded at 2^-24 of |p| < 1, ~6e-8, and the decay
	 * factor beta^2 rounded once differs from beta beta rounded twice by
	 * a few ulp of a move <= 0.03; 1e-6 covers both, while keeping instead
	 * of decaying, or not advancing a bias correction, changes a move by
	 * more than 1e-4. */
	assert_near(decay.move1, decay.move4, 1e-6);
	for (int t = 0; t < T4; t++) {
		assert_int_equal(keep.lost[t], 0);
		assert_int_equal(decay.lost[t], 0);
		assert_int_equal(reset.lost[t],
				 reset.stateful ? LEFT_AT[t] : 0);
	}
	/* an optimizer with state tells the three apart here */
	if (reset.stateful)
		assert_true(reset.p[1] != keep.p[1] &&
			    keep.p[1] != decay.p[1] &&
			    reset.p[1] != decay.p[1]);
}

static void test_on_change_reset_keep_decay(void **state)
{
	(void)state;
	struct variant vs[64];
	size_t checked = 0;
	for (size_t o = 0; o < sb_n_optimizers; o++) {
		const struct sb_optimizer *opt = sb_optimizers[o];
		if (!declares(opt, "on_change"))
			continue;
		size_t n = variants_of(opt, "on_change", vs, 64);
		for (size_t i = 0; i < n; i++) {
			struct inst x;
			inst_config(&x, opt, &vs[i]);
			inst_init(&x, N5);
			bool dense = opt->grad_need(x.priv) == SB_GRAD_ALWAYS;
			inst_close(&x);
			/* a state over every component never resets:
			 * on_change does not apply to it */
			if (!dense) {
				check_on_change(opt, &vs[i]);
				checked++;
			}
		}
	}
	assert_true(checked > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_only_selection_moves),
		cmocka_unit_test(test_state_bytes_account_for_allocations),
		cmocka_unit_test(test_parked_state_is_counted),
		cmocka_unit_test(test_on_change_reset_keep_decay),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
