/* run.c - the training loop of one run (DESIGN.md "Data flow"): forward,
 * backward of the full gradient when the policy or the optimizer needs it
 * and of S's alone otherwise, policy selection of S, optimizer update of S,
 * metrics on their own timer, evaluation every N steps, all logged. */
#include "run/run.h"
#include "io/checkpoint.h"
#include "io/delta.h"
#include "run/grad_plan.h"
#include "run/inputs.h"
#include "run/memory.h"
#include "run/metrics.h"
#include "run/probe.h"
#include "run/scope.h"
#include "run/selection.h"
#include "run/topk.h"
#include "spec/params.h"
#include "util.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The stream label of the batch draws in the run's seed. */
#define BATCH_STREAM 23

/* Everything a run allocates, released in one place. */
struct run {
	const struct sb_run_cfg *cfg;
	long steps, eval_every, metrics_every; /* the train: values the */
	size_t batch_size;                     /* loop reads every step */
	bool update;
	struct sb_inputs in; /* data, model, params */
	void *policy, *opt;  /* the plugins' private state */
	bool opt_full;       /* the optimizer reads the full gradient */
	bool fixed;          /* select said SB_SELECT_FIXED: S never changes */
	/* S's gradient in S's order, at every step (in grad_buf, or the full
	 * gradient itself when S is everything); the full one (n_params) only
	 * on steps that need it, allocated at the first of them */
	const float *grad_s;
	float *grad, *grad_buf;
	size_t grad_buf_cap;
	bool method_full;    /* the policy or optimizer needed `grad` */
	struct sb_grad_planner planner; /* what a backward of S computes */
	struct sb_batch batch;
	size_t *rows;
	struct sb_scope scope;
	bool scope_ready;
	struct sb_select_ctx ctx;      /* built once; grad and step per step */
	struct sb_selection cur, cand; /* S_t and the policy's next proposal */
	struct sb_ever ever;
	struct sb_probe *probe; /* train.grad_shares only */
	bool rss_reset; /* the peak resident size is this run's alone */
	uint64_t base_checksum; /* train.save_delta: of the loaded base */
};

/* Running figures for the summary attributes. */
struct tally {
	double selected_sum, time_sum, churn_sum, retained_sum;
	double history_lost;
	long steps, churn_n, retained_n;
	double best_val_loss, best_val_accuracy;
	double last_val_loss, last_val_accuracy;
};

/* Per-target means of an evaluation: NaN when it counted no target. */
static double mean_loss(const struct sb_eval *ev)
{
	return ev->count ? ev->loss_sum / ev->count : NAN;
}

static double mean_accuracy(const struct sb_eval *ev)
{
	return ev->count ? ev->correct / ev->count : NAN;
}

/* ---- setting up and letting go ----------------------------------------- */

/* Releases whatever run_setup got to; the plugins' release accepts state
 * whose init failed or never ran (sb.h). */
static void run_release(struct run *r)
{
	const struct sb_run_cfg *c = r->cfg;
	if (r->opt && c->optimizer->release)
		c->optimizer->release(r->opt);
	if (r->policy && c->policy->release)
		c->policy->release(r->policy);
	if (r->scope_ready)
		sb_scope_release(&r->scope);
	sb_inputs_release(&r->in);
	free(r->opt);
	free(r->policy);
	free(r->grad);
	free(r->grad_buf);
	sb_grad_planner_release(&r->planner);
	free(r->rows);
	sb_batch_release(&r->batch);
	sb_selection_release(&r->cur);
	sb_selection_release(&r->cand);
	sb_ever_release(&r->ever);
	sb_probe_free(r->probe);
}

/* Data, model (random init or checkpoint), scope, policy and optimizer. */
static int run_setup(struct run *r, struct sb_error *err)
{
	const struct sb_run_cfg *c = r->cfg;
	const struct sb_values *train = &c->train_cfg;
	r->steps = sb_values_int(train, "steps");
	r->eval_every = sb_values_int(train, "eval_every");
	r->metrics_every = sb_values_int(train, "metrics_every");
	r->batch_size = (size_t)sb_values_int(train, "batch_size");
	r->update = sb_values_bool(train, "update");
	size_t eval_batch = (size_t)sb_values_int(train, "eval_batch_size");
	size_t max_batch =
		r->batch_size > eval_batch ? r->batch_size : eval_batch;

	if (sb_inputs_open(&r->in, c, max_batch, err))
		return -1;
	if (!r->in.info.n_examples[SB_TRAIN] || !r->in.info.n_examples[SB_VAL])
		return sb_error(err, "dataset '%s' has an empty train or "
				"validation split", c->dataset->name);
	if (*sb_values_str(train, "save_delta"))
		r->base_checksum = sb_delta_run_checksum(c, &r->in.layout,
							 r->in.params);
	size_t n = r->in.layout.n_params;
	sb_grad_planner_init(&r->planner, &r->in.layout);
	sb_batch_alloc(&r->batch, &r->in.info, max_batch);
	r->rows = sb_calloc(max_batch, sizeof *r->rows);

	r->policy = sb_calloc(1, c->policy->priv_size);
	if (c->policy->init &&
	    c->policy->init(r->policy, &c->policy_cfg, &r->in.layout, err))
		return -1;
	if (c->policy->scoped) {
		if (sb_scope_init(&r->scope, &r->in.layout, &c->policy_cfg,
				  err))
			return -1;
		r->scope_ready = true;
	}
	sb_select_ctx_init(&r->ctx, &r->in.layout,
			   c->policy->scoped ? &r->scope : NULL,
			   &c->policy_cfg, c->seed);
	r->ctx.params = r->in.params;
	r->ctx.steps = r->steps;

	r->opt = sb_calloc(1, c->optimizer->priv_size);
	if (c->optimizer->init(r->opt, &c->optimizer_cfg, n, err))
		return -1;
	r->opt_full = c->optimizer->grad_need(r->opt) == SB_GRAD_ALWAYS;
	sb_ever_init(&r->ever, n);
	if (sb_values_bool(train, "grad_shares"))
		r->probe = sb_probe_new(&r->in.layout, train);
	return 0;
}

/* ---- evaluation -------------------------------------------------------- */

/* Sums over (up to max_batches batches of) a split. */
static struct sb_eval evaluate(struct run *r, enum sb_split split,
			       long max_batches)
{
	const struct sb_run_cfg *c = r->cfg;
	size_t bs = (size_t)sb_values_int(&c->train_cfg, "eval_batch_size");
	size_t total = r->in.info.n_examples[split];
	struct sb_eval sum = {0};
	long batches = 0;
	for (size_t start = 0; start < total; start += bs) {
		if (max_batches > 0 && batches == max_batches)
			break;
		size_t n = total - start < bs ? total - start : bs;
		for (size_t i = 0; i < n; i++)
			r->rows[i] = start + i;
		c->dataset->batch(r->in.data, split, r->rows, n, &r->batch);
		r->batch.n = n;
		struct sb_eval ev = {0};
		c->model->forward(r->in.model, r->in.params, &r->batch, &ev);
		sum.loss_sum += ev.loss_sum;
		sum.correct += ev.correct;
		sum.count += ev.count;
		batches++;
	}
	return sum;
}

/* Every eval_every steps, and after the last step whatever eval_every is. */
static bool eval_due(const struct run *r, long done)
{
	return done == r->steps ||
	       (r->eval_every > 0 && done % r->eval_every == 0);
}

/* Evaluates on the validation split after `step` updates, logs the row and
 * flushes the run's rows to disk. */
static int log_eval(struct run *r, struct sb_run_log *log,
		    struct sb_progress *prog, struct tally *tl, long step,
		    double train_loss, struct sb_error *err)
{
	long max_batches = sb_values_int(&r->cfg->train_cfg, "eval_batches");
	double t0 = sb_now();
	struct sb_eval ev = evaluate(r, SB_VAL, max_batches);
	struct sb_eval_row row = {
		.step = (double)step,
		.val_loss = mean_loss(&ev),
		.val_accuracy = mean_accuracy(&ev),
		.t_eval = sb_now() - t0,
	};
	sb_run_log_eval(log, &row);
	tl->last_val_loss = row.val_loss;
	tl->last_val_accuracy = row.val_accuracy;
	/* NaN-safe: a NaN best is replaced by the first real value */
	if (!(row.val_loss >= tl->best_val_loss))
		tl->best_val_loss = row.val_loss;
	if (!(row.val_accuracy <= tl->best_val_accuracy))
		tl->best_val_accuracy = row.val_accuracy;
	sb_progress_eval(prog, step, train_loss, row.val_loss,
			 row.val_accuracy);
	return sb_run_log_flush(log, err);
}

/* ---- one step ---------------------------------------------------------- */

static void draw_batch(struct run *r, struct sb_rng *rng)
{
	size_t n_train = r->in.info.n_examples[SB_TRAIN];
	for (size_t i = 0; i < r->batch_size; i++)
		r->rows[i] = (size_t)sb_rng_below(rng, n_train);
	r->cfg->dataset->batch(r->in.data, SB_TRAIN, r->rows, r->batch_size,
			       &r->batch);
	r->batch.n = r->batch_size;
}

/* Whether the policy reads the full gradient at step t. */
static bool policy_reads_grad(const struct run *r, long t)
{
	const struct sb_policy *policy = r->cfg->policy;
	switch (policy->grad_need) {
	case SB_GRAD_NEVER: return false;
	case SB_GRAD_ALWAYS: return true;
	case SB_GRAD_WARMUP: return !r->fixed;
	case SB_GRAD_SOME: return !r->fixed && policy->needs_grad(r->policy, t);
	}
	return true;
}

static bool metrics_due(const struct run *r, long t)
{
	return r->metrics_every > 0 && t % r->metrics_every == 0;
}

/* The full gradient of the last forward into r->grad (allocated at the
 * first call). */
static void backward_full(struct run *r)
{
	size_t n = r->in.layout.n_params;
	if (!r->grad)
		r->grad = sb_malloc(n * sizeof *r->grad);
	memset(r->grad, 0, n * sizeof *r->grad);
	r->cfg->model->backward(r->in.model, r->in.params, NULL, r->grad);
}

/* S's gradient in r->grad_s: taken from the full gradient in r->grad when
 * `full` (the full gradient itself when S, sorted and duplicate-free, is
 * every component), else computed alone under the plan. */
static void backward_selected(struct run *r, bool full)
{
	size_t k = r->cur.k;
	if (full && k == r->in.layout.n_params) {
		r->grad_s = r->grad;
		return;
	}
	if (k > r->grad_buf_cap) {
		free(r->grad_buf);
		r->grad_buf = sb_malloc(k * sizeof *r->grad_buf);
		r->grad_buf_cap = k;
	}
	r->grad_s = r->grad_buf;
	if (full) {
		for (size_t j = 0; j < k; j++)
			r->grad_buf[j] = r->grad[r->cur.idx[j]];
		return;
	}
	memset(r->grad_buf, 0, k * sizeof *r->grad_buf);
	r->cfg->model->backward(r->in.model, r->in.params, &r->planner.plan,
				r->grad_buf);
}

/* What select_step returns besides 0: the policy's error (a NaN: the run
 * diverged) or a defect of the run (a budget of nothing, a selection that
 * breaks the contract: the run failed). */
enum { SELECT_DIVERGED = -1, SELECT_FAILED = -2 };

/* The policy's selection at step t: leaves S_t in r->cur (and S_{t-1} in
 * r->cand) and the plan of its gradient in r->planner; *changed tells
 * whether S_t may differ from S_{t-1}, which it always does at t = 0. After
 * SB_SELECT_FIXED the policy is not asked again. A new set is checked
 * against the contract (sb_selection_check) before anything uses it. */
static int select_step(struct run *r, long t, bool *changed,
		       struct sb_error *err)
{
	const struct sb_policy *policy = r->cfg->policy;
	*changed = t == 0;
	if (r->fixed)
		return 0;
	r->ctx.step = t;
	r->ctx.grad = policy_reads_grad(r, t) ? r->grad : NULL;
	if (policy->scoped && r->ctx.k == 0) {
		sb_error(err, "density %g of %zu eligible components "
			 "selects nothing", r->ctx.density, r->ctx.n_eligible);
		return SELECT_FAILED;
	}
	int rc = policy->select(r->policy, &r->ctx, &r->cand, err);
	if (rc < 0)
		return SELECT_DIVERGED;
	if (rc != SB_SELECT_NEW && rc != SB_SELECT_SAME &&
	    rc != SB_SELECT_FIXED) {
		sb_error(err, "policy '%s' at step %ld: select returned %d",
			 policy->name, t, rc);
		return SELECT_FAILED;
	}
	if (rc == SB_SELECT_SAME) {
		if (t == 0) {
			sb_error(err, "policy '%s' at step 0: select said "
				 "'unchanged' before selecting", policy->name);
			return SELECT_FAILED;
		}
		return 0;
	}
	if (sb_selection_check(policy, &r->ctx, &r->cand, err))
		return SELECT_FAILED;
	r->fixed = rc == SB_SELECT_FIXED;
	*changed = true;
	if (policy->scoped)
		sb_scope_complete(&r->scope, &r->in.layout, &r->cand);
	struct sb_selection swap = r->cur;
	r->cur = r->cand;
	r->cand = swap; /* now S_{t-1}, kept for churn */
	sb_grad_planner_set(&r->planner, &r->in.layout, &r->cur);
	return 0;
}

/* The measurements of S_t on a metrics step, against the full gradient of
 * finite energy `total` whose top |S_t| hold `oracle`: its norm, retained,
 * oracle and churn, and the gradient shares of train.grad_shares. */
static void step_metrics(struct run *r, long t, bool changed, double total,
			 double oracle, struct sb_step_row *row,
			 struct tally *tl)
{
	row->grad_norm = sqrt(total);
	if (total > 0) {
		row->retained = sb_metrics_energy_at(r->grad, &r->cur) / total;
		row->oracle_retained = oracle / total;
		tl->retained_sum += row->retained;
		tl->retained_n++;
		if (t > 0) {
			row->churn = changed
				? (double)sb_metrics_entered(&r->cur,
							     &r->cand) /
					  (double)r->cur.k
				: 0.0;
			tl->churn_sum += row->churn;
			tl->churn_n++;
		}
	}
	if (r->probe)
		sb_probe_measure(r->probe, r->grad);
}

/* Step t up to the update: the loss, S_t and its gradient (r->grad_s), and
 * the metrics, each timed into row. A policy that selects without a
 * gradient selects before the backward pass, which then computes what S
 * needs alone, unless the optimizer reads the full gradient; one that reads
 * it selects after a full backward pass. On metrics steps the full gradient
 * is computed for the metrics, on their timer, if the method did without
 * it: S's gradient, and so training, is the same whether the step measures
 * or not. Returns SELECT_DIVERGED (err says why) on a loss or gradient
 * that is not finite, or on an error of the policy; SELECT_FAILED on a
 * selection that breaks the policy contract. */
static int measure(struct run *r, long t, struct sb_step_row *row,
		   bool *changed, struct tally *tl, struct sb_error *err)
{
	const struct sb_model *model = r->cfg->model;
	*row = (struct sb_step_row){
		.step = (double)(t + 1), .grad_norm = NAN,
		.retained = NAN, .oracle_retained = NAN, .churn = NAN,
	};
	bool reads = policy_reads_grad(r, t), full = reads || r->opt_full;
	r->method_full = r->method_full || full;
	*changed = false;

	double t0 = sb_now();
	struct sb_eval ev = {0};
	model->forward(r->in.model, r->in.params, &r->batch, &ev);
	row->loss = mean_loss(&ev);
	double t1 = sb_now();
	row->t_forward = t1 - t0;
	if (!isfinite(row->loss))
		return sb_error(err, "loss %g at step %ld", row->loss, t + 1);

	int rc = reads ? 0 : select_step(r, t, changed, err);
	if (rc)
		return rc;
	double t2 = sb_now();
	if (full)
		backward_full(r);
	double t3 = sb_now();
	rc = reads ? select_step(r, t, changed, err) : 0;
	if (rc)
		return rc;
	double t4 = sb_now();
	backward_selected(r, full);
	double t5 = sb_now();
	row->t_select = (t2 - t1) + (t4 - t3);
	row->t_backward = (t3 - t2) + (t5 - t4);

	/* the divergence check reads what was computed; on a metrics step,
	 * the same pass over the full gradient finds the oracle's energy */
	bool metrics = metrics_due(r, t);
	size_t n = r->in.layout.n_params;
	double total, oracle = NAN;
	if (metrics && !full)
		backward_full(r);
	if (metrics)
		oracle = sb_topk_energy_total(r->grad, n, r->cur.k, &total);
	else
		total = full ? sb_metrics_energy(r->grad, n)
			     : sb_metrics_energy(r->grad_s, r->cur.k);
	if (*changed)
		sb_ever_add(&r->ever, &r->cur);
	row->n_selected = (double)r->cur.k;
	row->ever_selected = (double)r->ever.count;
	if (!isfinite(total)) {
		row->t_metrics = sb_now() - t5;
		return sb_error(err, "gradient energy %g at step %ld", total,
				t + 1);
	}
	if (metrics)
		step_metrics(r, t, *changed, total, oracle, row, tl);
	row->t_metrics = sb_now() - t5;
	return 0;
}

/* The optimizer's update of S_t with the scheduled learning rate. */
static void update(struct run *r, long t, bool changed,
		   struct sb_step_row *row, struct tally *tl)
{
	const struct sb_run_cfg *c = r->cfg;
	double t0 = sb_now();
	struct sb_opt_step st = {
		.t = t + 1,
		.lr = sb_schedule_lr(&c->optimizer_cfg, t + 1, r->steps),
	};
	if (r->opt_full)
		st.full_grad = r->grad;
	struct sb_opt_report rep = {0};
	if (r->update)
		c->optimizer->step(r->opt, r->in.params, r->grad_s, &r->cur,
				   changed, &st, &rep);
	row->t_update = sb_now() - t0;
	row->lr = st.lr;
	row->history_lost = (double)rep.history_lost;

	tl->steps++;
	tl->selected_sum += (double)r->cur.k;
	tl->history_lost += (double)rep.history_lost;
	tl->time_sum += row->t_forward + row->t_backward + row->t_select +
			row->t_update;
}

/* ---- the end ----------------------------------------------------------- */

/* The bytes the method needs, by part (docs/results.md), and the peak
 * resident size measured over this run. The gradient is S's, plus the full
 * one when the policy or the optimizer needed it: a full gradient computed
 * for the metrics alone is the harness's, not the method's (it shows in the
 * peak). */
static void write_memory(struct run *r, struct sb_run_log *log)
{
	const struct sb_run_cfg *c = r->cfg;
	double n = (double)r->in.layout.n_params;
	double grad = (double)r->grad_buf_cap + (r->method_full ? n : 0.0);
	sb_run_log_attr(log, "param_bytes", n * sizeof(float), "bytes");
	sb_run_log_attr(log, "grad_bytes", grad * sizeof(float), "bytes");
	sb_run_log_attr(log, "optimizer_state_bytes",
			(double)c->optimizer->state_bytes(r->opt), "bytes");
	sb_run_log_attr(log, "activation_bytes",
			(double)c->model->activation_bytes(r->in.model),
			"bytes");
	sb_run_log_attr(log, "peak_rss_bytes", sb_rss_peak(), "bytes");
	sb_run_log_attr_str(log, "peak_rss_scope",
			    r->rss_reset ? "run" : "process");
}

static void write_summary(struct run *r, struct sb_run_log *log,
			  const struct tally *tl)
{
	const struct sb_run_cfg *c = r->cfg;
	double n = (double)r->in.layout.n_params;
	double mean_selected = tl->steps ? tl->selected_sum / tl->steps : NAN;
	double density = c->policy->scoped
		? sb_values_float(&c->policy_cfg, "density")
		: mean_selected / n;
	sb_run_log_attr_str(log, "task", sb_task_name(r->in.info.task));
	sb_run_log_attr(log, "density", density, "1");
	sb_run_log_attr(log, "lr", sb_values_float(&c->optimizer_cfg, "lr"),
			NULL);
	sb_run_log_attr(log, "n_params", n, "components");
	sb_run_log_attr(log, "trainable", mean_selected, "components");
	sb_run_log_attr(log, "ever_selected", (double)r->ever.count,
			"components");
	write_memory(r, log);
	sb_run_log_attr(log, "time_per_step",
			tl->steps ? tl->time_sum / tl->steps : NAN, "s");
	sb_run_log_attr(log, "steps_done", (double)tl->steps, "steps");
	sb_run_log_attr(log, "history_lost_total", tl->history_lost,
			"entries");
	sb_run_log_attr(log, "churn_mean",
			tl->churn_n ? tl->churn_sum / tl->churn_n : NAN, "1");
	sb_run_log_attr(log, "retained_mean",
			tl->retained_n ? tl->retained_sum / tl->retained_n
				       : NAN, "1");
	sb_run_log_attr(log, "final_val_loss", tl->last_val_loss, "nats");
	sb_run_log_attr(log, "final_val_accuracy", tl->last_val_accuracy, "1");
	sb_run_log_attr(log, "best_val_loss", tl->best_val_loss, "nats");
	sb_run_log_attr(log, "best_val_accuracy", tl->best_val_accuracy, "1");
}

/* The diverged step's row (no update, no selection counts), the step, and
 * the summary of the steps before it. */
static enum sb_status end_diverged(struct run *r, struct sb_run_log *log,
				   const struct sb_step_row *row,
				   const struct tally *tl)
{
	sb_run_log_step(log, row);
	sb_run_log_attr(log, "diverged_step", row->step, "steps");
	write_summary(r, log, tl);
	return SB_STATUS_DIVERGED;
}

/* The run's sparse delta against the base it loaded (io/delta.h), and
 * where it went. */
static int save_delta(struct run *r, struct sb_run_log *log,
		      const char *pattern, struct sb_error *err)
{
	char *path = sb_run_path(pattern, r->cfg);
	struct sb_delta_stats st;
	int rc = sb_delta_save(path, r->cfg, &r->in.layout, r->in.params,
			       r->base_checksum, &st, err);
	if (!rc) {
		sb_run_log_attr_str(log, "delta", path);
		sb_run_log_attr(log, "delta_changed", (double)st.n_change,
				"components");
		sb_run_log_attr(log, "delta_set", (double)st.n_value,
				"components");
	}
	free(path);
	return rc;
}

/* After the last step: the test split, the summary, the gradient shares,
 * the checkpoint and the delta. */
static enum sb_status finish(struct run *r, struct sb_run_log *log,
			     const struct tally *tl, struct sb_error *err)
{
	const struct sb_run_cfg *c = r->cfg;
	if (sb_values_bool(&c->train_cfg, "test")) {
		struct sb_eval ev = evaluate(r, SB_TEST, 0);
		if (ev.count) {
			sb_run_log_attr(log, "test_loss", mean_loss(&ev),
					"nats");
			sb_run_log_attr(log, "test_accuracy",
					mean_accuracy(&ev), "1");
		}
	}
	write_summary(r, log, tl);
	if (r->probe)
		sb_probe_write(r->probe, log, c->seed);
	const char *save = sb_values_str(&c->train_cfg, "save_checkpoint");
	if (*save && sb_checkpoint_save(save, c->model->name, c->config_yaml,
					&r->in.layout, r->in.params, err))
		return SB_STATUS_FAILED;
	const char *delta = sb_values_str(&c->train_cfg, "save_delta");
	if (*delta && save_delta(r, log, delta, err))
		return SB_STATUS_FAILED;
	return SB_STATUS_COMPLETED;
}

/* ---- the loop ---------------------------------------------------------- */

static enum sb_status train(struct run *r, struct sb_run_log *log,
			    struct sb_progress *prog, struct sb_error *err)
{
	struct tally tl = {.best_val_loss = NAN, .best_val_accuracy = NAN,
			   .last_val_loss = NAN, .last_val_accuracy = NAN};
	struct sb_rng rng;
	sb_rng_seed(&rng, sb_seed_mix(r->cfg->seed, BATCH_STREAM));

	if (r->eval_every > 0 && log_eval(r, log, prog, &tl, 0, NAN, err))
		return SB_STATUS_FAILED;
	for (long t = 0; t < r->steps; t++) {
		struct sb_step_row row;
		bool changed;
		draw_batch(r, &rng);
		int rc = measure(r, t, &row, &changed, &tl, err);
		if (rc == SELECT_FAILED)
			return SB_STATUS_FAILED;
		if (rc)
			return end_diverged(r, log, &row, &tl);
		update(r, t, changed, &row, &tl);
		sb_run_log_step(log, &row);
		sb_progress_step(prog, t + 1, row.loss);
		if (eval_due(r, t + 1) &&
		    log_eval(r, log, prog, &tl, t + 1, row.loss, err))
			return SB_STATUS_FAILED;
	}
	return finish(r, log, &tl, err);
}

enum sb_status sb_run_execute(const struct sb_run_cfg *run,
			      struct sb_run_log *log,
			      struct sb_progress *progress,
			      struct sb_error *err)
{
	struct run r = {.cfg = run, .rss_reset = sb_rss_reset()};
	openblas_set_num_threads(
		(int)sb_values_int(&run->train_cfg, "threads"));
	enum sb_status st = SB_STATUS_FAILED;
	if (run_setup(&r, err) == 0)
		st = train(&r, log, progress, err);
	run_release(&r);
	return st;
}
