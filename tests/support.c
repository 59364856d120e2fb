/* support.c - helpers shared by the cmocka tests in tests/ (support.h):
 * temporary directories, files, results files of known runs written with
 * the real writer (harness/io/results.c), an opened model, a policy. */
#define _XOPEN_SOURCE 700 /* nftw */
#include "support.h"
#include "run/grad_plan.h"
#include "run/selection.h"
#include "spec/params.h"

#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

/* ---- temporary directories and files ---- */

int sb_test_tmpdir(char *dir, size_t size, const char *label)
{
	int n = snprintf(dir, size, "/tmp/sb_%s_XXXXXX", label);
	if (n < 0 || (size_t)n >= size)
		return -1;
	return mkdtemp(dir) ? 0 : -1;
}

static int remove_entry(const char *path, const struct stat *st, int flag,
			struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

int sb_test_rmtree(const char *dir)
{
	return nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

char *sb_test_path(const char *dir, const char *name)
{
	return sb_asprintf("%s/%s", dir, name);
}

char *sb_test_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = NULL;
	size_t n = 0, got;
	char chunk[4096];
	while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) {
		buf = sb_realloc(buf, n + got + 1);
		memcpy(buf + n, chunk, got);
		n += got;
	}
	fclose(f);
	buf = sb_realloc(buf, n + 1);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

/* ---- results files of known runs ---- */

void sb_test_run_attr(struct sb_test_run *run, const char *name,
		      double value, const char *units)
{
	assert_true(run->n_attrs < SB_TEST_MAX_ATTRS);
	run->attrs[run->n_attrs++] = (struct sb_test_attr){
		.name = name, .value = value, .units = units,
	};
}

void sb_test_run_attr_str(struct sb_test_run *run, const char *name,
			  const char *text)
{
	assert_true(run->n_attrs < SB_TEST_MAX_ATTRS);
	run->attrs[run->n_attrs++] = (struct sb_test_attr){
		.name = name, .text = text,
	};
}

static void log_eval(struct sb_run_log *log, const struct sb_eval_row *ev)
{
	struct sb_error err = {{0}};
	sb_run_log_eval(log, ev);
	if (sb_run_log_flush(log, &err))
		fail_msg("%s", err.msg);
}

static void write_run(struct sb_results *res, const struct sb_test_run *run)
{
	struct sb_policy pol = {.name = run->policy};
	struct sb_optimizer opt = {.name = run->optimizer};
	struct sb_error err = {{0}};
	char *id = run->id ? sb_strdup(run->id)
		   : *run->setting ? sb_asprintf("%s,%s,seed=%llu", run->method,
						 run->setting,
						 (unsigned long long)run->seed)
		   : sb_asprintf("%s,seed=%llu", run->method,
				 (unsigned long long)run->seed);
	struct sb_run_cfg cfg = {
		.id = id, .method = (char *)run->method,
		.setting = (char *)run->setting, .policy = &pol,
		.optimizer = &opt, .seed = run->seed,
		.config_yaml = (char *)run->config_yaml,
	};
	struct sb_run_log *log;

	assert_true(run->n_steps <= SB_TEST_MAX_STEPS &&
		    run->n_evals <= SB_TEST_MAX_EVALS);
	if (sb_results_run_begin(res, &cfg, &log, &err))
		fail_msg("%s", err.msg);
	size_t e = 0;
	for (size_t t = 0; t < run->n_steps; t++) {
		for (; e < run->n_evals &&
		       run->evals[e].step < run->steps[t].step; e++)
			log_eval(log, &run->evals[e]);
		sb_run_log_step(log, &run->steps[t]);
	}
	for (; e < run->n_evals; e++)
		log_eval(log, &run->evals[e]);
	for (size_t a = 0; a < run->n_attrs; a++) {
		const struct sb_test_attr *at = &run->attrs[a];
		if (at->text)
			sb_run_log_attr_str(log, at->name, at->text);
		else
			sb_run_log_attr(log, at->name, at->value, at->units);
	}
	if (sb_run_log_end(log, run->status, &err))
		fail_msg("%s", err.msg);
	free(id);
}

void sb_test_results_write(const char *path, const char *name,
			   sb_test_describe_fn *describe, const void *ctx,
			   size_t n)
{
	char *spec_path = sb_asprintf("%s.yaml", name);
	char *text = sb_asprintf("name: %s\n", name);
	struct sb_spec spec = {
		.path = spec_path, .text = text, .name = (char *)name,
	};
	struct sb_results *res;
	struct sb_error err = {{0}};
	/* about 40 KiB: on the heap */
	struct sb_test_run *run = sb_malloc(sizeof *run);

	remove(path);
	if (sb_results_open(&res, path, &spec, false, &err))
		fail_msg("%s", err.msg);
	for (size_t i = 0; i < n; i++) {
		memset(run, 0, sizeof *run);
		describe(ctx, i, run);
		write_run(res, run);
	}
	if (sb_results_close(res, &err))
		fail_msg("%s", err.msg);
	free(run);
	free(text);
	free(spec_path);
}

/* ---- a model opened as the core opens it ---- */

int sb_test_model_open(struct sb_test_model *m, const struct sb_model *model,
		       const struct sb_values *cfg,
		       const struct sb_data_info *info, size_t max_batch,
		       struct sb_error *err)
{
	memset(m, 0, sizeof *m);
	m->model = model;
	m->info = *info;
	m->priv = sb_calloc(1, model->priv_size);
	int rc = model->init(m->priv, cfg, &m->info, max_batch, &m->layout,
			     err);
	if (rc == 0) {
		m->params = sb_calloc(m->layout.n_params, sizeof *m->params);
		m->grad = sb_calloc(m->layout.n_params, sizeof *m->grad);
	}
	return rc;
}

void sb_test_model_close(struct sb_test_model *m)
{
	m->model->release(m->priv);
	free(m->priv);
	free(m->params);
	free(m->grad);
}

void sb_test_model_check_init(struct sb_test_model *m)
{
	size_t n = m->layout.n_params;
	float *again = sb_malloc(n * sizeof *again);
	m->model->init_params(m->priv, m->params, 42);
	m->model->init_params(m->priv, again, 42);
	assert_memory_equal(m->params, again, n * sizeof *again);
	m->model->init_params(m->priv, again, 43);
	assert_memory_not_equal(m->params, again, n * sizeof *again);
	free(again);
}

double sb_test_model_loss(struct sb_test_model *m, const struct sb_batch *b)
{
	struct sb_eval ev;
	m->model->forward(m->priv, m->params, b, &ev);
	return ev.loss_sum / ev.count;
}

const struct sb_tensor *sb_test_tensor(const struct sb_layout *layout,
				       const char *name)
{
	for (size_t i = 0; i < layout->n_tensors; i++)
		if (!strcmp(layout->tensors[i].name, name))
			return &layout->tensors[i];
	fail_msg("no tensor '%s'", name);
	return NULL;
}

float *sb_test_params(const struct sb_test_model *m, const char *name)
{
	return m->params + sb_test_tensor(&m->layout, name)->offset;
}

/* ---- the gradient of a selection S ---- */

static int cmp_index(const void *a, const void *b)
{
	sb_index x = *(const sb_index *)a, y = *(const sb_index *)b;
	return (x > y) - (x < y);
}

void sb_test_mask(struct sb_selection *sel, const struct sb_layout *layout,
		  const struct sb_test_pick *picks, size_t n, uint64_t seed)
{
	struct sb_rng rng;
	sb_rng_seed(&rng, seed);
	sel->k = 0;
	sb_selection_reserve(sel, layout->n_params);
	for (size_t p = 0; p < n; p++) {
		const struct sb_tensor *t =
			sb_test_tensor(layout, picks[p].tensor);
		for (size_t i = 0; i < t->size; i++)
			if (picks[p].fraction >= 1.0 ||
			    sb_rng_uniform(&rng) < picks[p].fraction)
				sel->idx[sel->k++] = (sb_index)(t->offset + i);
	}
	qsort(sel->idx, sel->k, sizeof *sel->idx, cmp_index);
	for (size_t j = 1; j < sel->k; j++)
		if (sel->idx[j] == sel->idx[j - 1])
			fail_msg("a tensor is picked twice");
}

#define GUARD 16
#define GUARD_VALUE 12345.0f

double sb_test_check_selected_grad(struct sb_test_model *m,
				   const struct sb_batch *b,
				   const struct sb_selection *sel,
				   double rtol)
{
	size_t n = m->layout.n_params, k = sel->k;
	struct sb_grad_planner planner;
	float *grad_s = sb_malloc((k + GUARD) * sizeof *grad_s);

	sb_test_model_loss(m, b);
	memset(m->grad, 0, n * sizeof *m->grad);
	m->model->backward(m->priv, m->params, NULL, m->grad);
	sb_grad_planner_init(&planner, &m->layout);
	sb_grad_planner_set(&planner, &m->layout, sel);
	memset(grad_s, 0, k * sizeof *grad_s);
	for (size_t j = k; j < k + GUARD; j++)
		grad_s[j] = GUARD_VALUE;
	m->model->backward(m->priv, m->params, &planner.plan, grad_s);

	double energy = 0.0, worst = 0.0;
	for (size_t j = 0; j < k; j++)
		energy += (double)m->grad[sel->idx[j]] * m->grad[sel->idx[j]];
	double rms = k ? sqrt(energy / (double)k) : 0.0;
	assert_true(rms > 0.0); /* else the check compares zeros */
	for (size_t j = 0; j < k; j++) {
		double want = m->grad[sel->idx[j]];
		double e = fabs(grad_s[j] - want) / fmax(fabs(want), rms);
		if (!(e <= rtol))
			fail_msg("component %u: S's gradient %.9g, the full "
				 "one %.9g (relative error %.3g)",
				 (unsigned)sel->idx[j], grad_s[j], want, e);
		worst = e > worst ? e : worst;
	}
	for (size_t j = k; j < k + GUARD; j++)
		if (grad_s[j] != GUARD_VALUE)
			fail_msg("backward wrote past S's %zu entries", k);
	sb_grad_planner_release(&planner);
	free(grad_s);
	return worst;
}

/* ---- a selection policy driven as the core drives it ---- */

static const struct sb_tensor policy_tensors[] = {
	{.name = "wte", .offset = 0, .size = 300, .layer = SB_LAYER_NONE},
	{.name = "h.0.attn.weight", .offset = 300, .size = 200, .layer = 0},
	{.name = "h.0.mlp.weight", .offset = 500, .size = 400, .layer = 0},
	{.name = "h.1.attn.weight", .offset = 900, .size = 200, .layer = 1},
	{.name = "h.1.mlp.weight", .offset = 1100, .size = 400, .layer = 1},
	{.name = "head.weight", .offset = 1500, .size = 100,
	 .layer = SB_LAYER_NONE},
};

const struct sb_layout sb_test_policy_layout = {
	.n_params = SB_TEST_N_PARAMS, .n_tensors = 6,
	.tensors = policy_tensors, .n_layers = 2,
};

int sb_test_policy_openv(struct sb_test_policy *r,
			 const struct sb_policy *policy,
			 const struct sb_layout *layout, uint64_t seed,
			 const char *const *pairs, struct sb_error *err)
{
	memset(r, 0, sizeof *r);
	r->policy = policy;
	r->layout = layout;
	size_t n_scope =
		policy->scoped ? sb_test_count_params(sb_scope_params) : 0;
	size_t n_own = sb_test_count_params(policy->params);
	r->decl = sb_calloc(n_scope + n_own + 1, sizeof *r->decl);
	memcpy(r->decl, sb_scope_params, n_scope * sizeof *r->decl);
	if (n_own)
		memcpy(r->decl + n_scope, policy->params,
		       n_own * sizeof *r->decl);
	if (sb_values_defaults(&r->cfg, r->decl, err))
		fail_msg("%s: %s", policy->name, err->msg);
	for (size_t i = 0; pairs && pairs[i]; i += 2)
		if (sb_values_set(&r->cfg, pairs[i], pairs[i + 1], err))
			fail_msg("%s: %s", policy->name, err->msg);

	r->priv = sb_calloc(1, policy->priv_size ? policy->priv_size : 1);
	r->params = sb_calloc(layout->n_params, sizeof *r->params);
	if (policy->scoped) {
		r->scope = sb_calloc(1, sizeof *r->scope);
		if (sb_scope_init(r->scope, layout, &r->cfg, err))
			fail_msg("%s: %s", policy->name, err->msg);
	}
	/* the run loop's own builder: k rounds here as it does in a run */
	sb_select_ctx_init(&r->ctx, layout, r->scope, &r->cfg, seed);
	r->ctx.params = r->params;
	return policy->init ? policy->init(r->priv, &r->cfg, layout, err) : 0;
}

int sb_test_policy_open(struct sb_test_policy *r,
			const struct sb_policy *policy,
			const struct sb_layout *layout, uint64_t seed,
			struct sb_error *err, ...)
{
	const char *pairs[65];
	size_t n = 0;
	va_list ap;
	va_start(ap, err);
	for (const char *name; (name = va_arg(ap, const char *));) {
		assert_true(n + 2 < sizeof pairs / sizeof *pairs);
		pairs[n++] = name;
		pairs[n++] = va_arg(ap, const char *);
	}
	va_end(ap);
	pairs[n] = NULL;
	return sb_test_policy_openv(r, policy, layout, seed, pairs, err);
}

bool sb_test_policy_needs_grad(const struct sb_test_policy *r, long step)
{
	switch (r->policy->grad_need) {
	case SB_GRAD_NEVER: return false;
	case SB_GRAD_SOME: return r->policy->needs_grad(r->priv, step);
	case SB_GRAD_WARMUP:
	case SB_GRAD_ALWAYS: return true;
	}
	return true;
}

int sb_test_policy_select(struct sb_test_policy *r, const float *grad,
			  long step, struct sb_error *err)
{
	r->ctx.grad = sb_test_policy_needs_grad(r, step) ? grad : NULL;
	r->ctx.step = step;
	return r->policy->select(r->priv, &r->ctx, &r->sel, err);
}

void sb_test_policy_close(struct sb_test_policy *r)
{
	if (r->policy->release)
		r->policy->release(r->priv);
	free(r->priv);
	free(r->params);
	sb_selection_release(&r->sel);
	if (r->scope)
		sb_scope_release(r->scope);
	free(r->scope);
	sb_values_release(&r->cfg);
	free(r->decl);
}

void sb_test_fill_normal(float *x, size_t n, struct sb_rng *rng)
{
	for (size_t i = 0; i < n; i++)
		x[i] = (float)sb_rng_normal(rng);
}

void sb_test_fill_ties(float *x, size_t n, struct sb_rng *rng)
{
	static const float levels[] = {0.0f, 0.25f, -0.25f, 0.5f, -1.0f,
				       1.0f, 2.0f, -0.0f};
	for (size_t i = 0; i < n; i++)
		x[i] = levels[sb_rng_below(rng, 8)];
}

void sb_test_assert_sorted_unique(const struct sb_selection *sel)
{
	for (size_t j = 1; j < sel->k; j++)
		if (!(sel->idx[j - 1] < sel->idx[j]))
			fail_msg("S not ascending at position %zu: %lu then "
				 "%lu", j, (unsigned long)sel->idx[j - 1],
				 (unsigned long)sel->idx[j]);
}

void sb_test_eligible(const struct sb_select_ctx *ctx, bool *eligible)
{
	const struct sb_layout *layout = ctx->layout;
	memset(eligible, 0, layout->n_params * sizeof *eligible);
	for (size_t s = 0; s < ctx->n_scope; s++) {
		const struct sb_tensor *t = &layout->tensors[ctx->scope[s]];
		for (size_t i = 0; i < t->size; i++)
			eligible[t->offset + i] = true;
	}
}

void sb_test_assert_top_k(const struct sb_selection *sel, const float *v,
			  const bool *eligible, size_t n)
{
	bool *in = sb_calloc(n, sizeof *in);
	float min_in = INFINITY;
	sb_index last_min = 0;
	for (size_t j = 0; j < sel->k; j++) {
		sb_index i = sel->idx[j];
		assert_true(i < n && eligible[i]);
		in[i] = true;
		if (fabsf(v[i]) <= min_in) {
			min_in = fabsf(v[i]);
			last_min = i; /* the highest index at the minimum */
		}
	}
	for (sb_index i = 0; i < n; i++) {
		if (!eligible[i] || in[i] || sel->k == 0)
			continue;
		assert_true(fabsf(v[i]) <= min_in);
		if (fabsf(v[i]) == min_in)
			assert_true(i > last_min);
	}
	free(in);
}

size_t sb_test_count_params(const struct sb_param *p)
{
	size_t n = 0;
	while (p && p[n].name)
		n++;
	return n;
}

/* ---- llm.c files ---- */

size_t sb_test_llmc_tensor_size(const struct sb_llmc_config *c, int k)
{
	size_t L = c->n_layers, C = c->channels;
	/* per layer, in multiples of C: ln_1 w/b, c_attn w/b, attn c_proj
	 * w/b, ln_2 w/b, c_fc w/b, mlp c_proj w/b */
	static const size_t per_c2[12] = {0, 0, 3, 0, 1, 0, 0, 0, 4, 0, 4, 0};
	static const size_t per_c[12] = {1, 1, 0, 3, 0, 1, 1, 1, 0, 4, 0, 1};
	assert_true(k >= 0 && k < 16);
	if (k == 0)
		return c->padded_vocab * C;
	if (k == 1)
		return c->max_t * C;
	if (k >= 14)
		return C;
	return L * (per_c2[k - 2] * C * C + per_c[k - 2] * C);
}

static void llmc_header(FILE *f, int32_t magic, int32_t version,
			const int32_t *fields, int n_fields)
{
	int32_t header[SB_LLMC_HEADER_INTS] = {magic, version};
	for (int i = 0; i < n_fields; i++)
		header[2 + i] = fields[i];
	assert_int_equal(fwrite(header, sizeof header, 1, f), 1);
}

/* Cuts a file `cut` bytes short of its size. */
static void cut_short(const char *path, long size, long cut)
{
	if (cut > 0)
		assert_int_equal(truncate(path, size - cut), 0);
}

void sb_test_llmc_model_write(const char *path, int32_t magic,
			      int32_t version, const struct sb_llmc_config *c,
			      sb_test_llmc_value_fn *value, void *ctx,
			      long extra)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	int32_t fields[] = {(int32_t)c->max_t, (int32_t)c->vocab,
			    (int32_t)c->n_layers, (int32_t)c->n_heads,
			    (int32_t)c->channels, (int32_t)c->padded_vocab};
	llmc_header(f, magic, version, fields, 6);
	float chunk[4096];
	for (int k = 0; k < 16; k++) {
		size_t n = sb_test_llmc_tensor_size(c, k);
		for (size_t j = 0; j < n; j += 4096) {
			size_t m = n - j < 4096 ? n - j : 4096;
			for (size_t i = 0; i < m; i++)
				chunk[i] = value(k, j + i, ctx);
			assert_int_equal(fwrite(chunk, sizeof *chunk, m, f), m);
		}
	}
	for (long i = 0; i < extra; i++)
		fputc(0, f);
	long size = ftell(f);
	assert_int_equal(fclose(f), 0);
	cut_short(path, size, -extra);
}

void sb_test_llmc_tokens_write(const char *path, int32_t magic,
			       int32_t version, const uint16_t *tokens,
			       size_t n, long cut)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	int32_t fields[] = {(int32_t)n};
	llmc_header(f, magic, version, fields, 1);
	assert_int_equal(fwrite(tokens, sizeof *tokens, n, f), n);
	long size = ftell(f);
	assert_int_equal(fclose(f), 0);
	cut_short(path, size, cut);
}

int sb_test_sh(const char *dir, const char *fmt, ...)
{
	char cmd[2048], full[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	snprintf(full, sizeof full, "cd '%s' && %s >out 2>err", dir, cmd);
	int st = system(full);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

void sb_test_write_text(const char *dir, const char *name, const char *text)
{
	char *path = sb_test_path(dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	free(path);
}
