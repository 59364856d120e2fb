/* run.c - the training loop of one run (DESIGN.md "Data flow"): forward,
 * backward of the full gradient, policy selection of S, optimizer update of
 * S, metrics on their own timer, evaluation every N steps, all logged. */
#include "run.h"
#include "checkpoint.h"
#include "metrics.h"
#include "params.h"
#include "scope.h"
#include "probe.h"
#include "topk.h"
#include "util.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

/* Everything a run allocates, released in one place. */
struct run {
	const struct sb_run_cfg *cfg;
	void *data, *model, *policy, *opt;
	bool data_open, model_ready, policy_ready, opt_ready, scope_ready;
	struct sb_data_info info;
	struct sb_layout layout;
	float *params, *grad;
	struct sb_batch batch;
	size_t *rows;
	struct sb_scope scope;
	struct sb_selection cur, cand; /* S_t and the policy's next proposal */
	struct sb_ever ever;
	struct sb_probe *probe; /* train.grad_shares only */
};


static void run_release(struct run *r)
{
	const struct sb_run_cfg *c = r->cfg;
	if (r->opt_ready && c->optimizer->release)
		c->optimizer->release(r->opt);
	if (r->policy_ready && c->policy->release)
		c->policy->release(r->policy);
	if (r->model_ready && c->model->release)
		c->model->release(r->model);
	if (r->data_open && c->dataset->release)
		c->dataset->release(r->data);
	if (r->scope_ready)
		sb_scope_release(&r->scope);
	free(r->opt);
	free(r->policy);
	free(r->model);
	free(r->data);
	free(r->params);
	free(r->grad);
	free(r->rows);
	sb_batch_release(&r->batch);
	sb_selection_release(&r->cur);
	sb_selection_release(&r->cand);
	sb_ever_release(&r->ever);
	sb_probe_free(r->probe);
}


static size_t max_size(size_t a, size_t b)
{
	return a > b ? a : b;
}

/* Data, model (random init or checkpoint), scope, policy and optimizer. */
static int run_setup(struct run *r, struct sb_error *err)
{
	const struct sb_run_cfg *c = r->cfg;
	size_t batch = (size_t)sb_values_int(&c->train_cfg, "batch_size");
	size_t eval_batch =
		(size_t)sb_values_int(&c->train_cfg, "eval_batch_size");
	size_t max_batch = max_size(batch, eval_batch);

	r->data = sb_calloc(1, max_size(c->dataset->priv_size, 1));
	if (c->dataset->open(r->data, &c->dataset_cfg, &r->info, err))
		return -1;
	r->data_open = true;
	if (!r->info.n_examples[SB_TRAIN] || !r->info.n_examples[SB_VAL])
		return sb_error(err, "dataset '%s' has an empty train or "
				"validation split", c->dataset->name);

	r->model = sb_calloc(1, max_size(c->model->priv_size, 1));
	if (c->model->init(r->model, &c->model_cfg, &r->info, max_batch,
			   &r->layout, err))
		return -1;
	r->model_ready = true;
	size_t n = r->layout.n_params;
	if (n > UINT32_MAX)
		return sb_error(err, "model has %zu parameters; sparsebench "
				"indexes at most %u", n, UINT32_MAX);
	r->params = sb_calloc(n, sizeof *r->params);
	r->grad = sb_calloc(n, sizeof *r->grad);
	c->model->init_params(r->model, r->params, sb_seed_mix(c->seed, 11));

	const char *ckpt = sb_values_str(&c->model_cfg, "checkpoint");
	if (*ckpt) {
		const struct sb_value *fresh =
			sb_values_get(&c->model_cfg, "fresh");
		if (sb_checkpoint_load(ckpt, &r->layout, r->params,
				       fresh->strs, fresh->n, err))
			return -1;
	}

	sb_batch_alloc(&r->batch, &r->info, max_batch);
	r->rows = sb_calloc(max_batch, sizeof *r->rows);

	r->policy = sb_calloc(1, max_size(c->policy->priv_size, 1));
	if (c->policy->init &&
	    c->policy->init(r->policy, &c->policy_cfg, &r->layout, err))
		return -1;
	r->policy_ready = true;
	if (c->policy->scoped) {
		if (sb_scope_init(&r->scope, &r->layout, &c->policy_cfg, err))
			return -1;
		r->scope_ready = true;
	}

	r->opt = sb_calloc(1, max_size(c->optimizer->priv_size, 1));
	if (c->optimizer->init(r->opt, &c->optimizer_cfg, n, err))
		return -1;
	r->opt_ready = true;
	sb_ever_init(&r->ever, n);
	if (sb_values_bool(&c->train_cfg, "grad_shares"))
		r->probe = sb_probe_new(&r->layout, &c->train_cfg);
	return 0;
}

/* Mean loss and accuracy over (up to max_batches batches of) a split. */
static struct sb_eval evaluate(struct run *r, enum sb_split split,
			       long max_batches)
{
	const struct sb_run_cfg *c = r->cfg;
	size_t bs = (size_t)sb_values_int(&c->train_cfg, "eval_batch_size");
	size_t total = r->info.n_examples[split];
	struct sb_eval sum = {0};
	long batches = 0;
	for (size_t start = 0; start < total; start += bs) {
		if (max_batches > 0 && batches == max_batches)
			break;
		size_t n = total - start < bs ? total - start : bs;
		for (size_t i = 0; i < n; i++)
			r->rows[i] = start + i;
		c->dataset->batch(r->data, split, r->rows, n, &r->batch);
		r->batch.n = n;
		struct sb_eval ev = {0};
		c->model->forward(r->model, r->params, &r->batch, &ev);
		sum.loss_sum += ev.loss_sum;
		sum.correct += ev.correct;
		sum.count += ev.count;
		batches++;
	}
	return sum;
}

static double peak_rss_bytes(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_maxrss * 1024.0;
}

/* Running figures for the summary attributes. */
struct tally {
	double selected_sum, time_sum, churn_sum, retained_sum;
	double history_lost;
	long steps, churn_n, retained_n;
	double best_val_loss, best_val_accuracy;
	double last_val_loss, last_val_accuracy;
};

static void log_eval(struct run *r, struct sb_run_log *log,
		     struct sb_progress *prog, struct tally *tl, long step,
		     double train_loss)
{
	long max_batches = sb_values_int(&r->cfg->train_cfg, "eval_batches");
	double t0 = sb_now();
	struct sb_eval ev = evaluate(r, SB_VAL, max_batches);
	struct sb_eval_row row = {
		.step = (double)step,
		.val_loss = ev.count ? ev.loss_sum / ev.count : NAN,
		.val_accuracy = ev.count ? ev.correct / ev.count : NAN,
		.t_eval = sb_now() - t0,
	};
	sb_run_log_eval(log, &row);
	tl->last_val_loss = row.val_loss;
	tl->last_val_accuracy = row.val_accuracy;
	if (!(row.val_loss >= tl->best_val_loss))
		tl->best_val_loss = row.val_loss;
	if (!(row.val_accuracy <= tl->best_val_accuracy))
		tl->best_val_accuracy = row.val_accuracy;
	sb_progress_eval(prog, step, train_loss, row.val_loss,
			 row.val_accuracy);
}

/* Selection for this step: leaves S_t in r->cur; *changed tells whether it
 * differs from S_{t-1}; *entered counts |S_t \ S_{t-1}| when changed. */
static int select_step(struct run *r, long t, bool *changed,
		       struct sb_error *err)
{
	const struct sb_run_cfg *c = r->cfg;
	struct sb_select_ctx ctx = {
		.layout = &r->layout,
		.grad = r->grad,
		.step = t,
		.seed = c->seed,
		.density = 1.0,
		.k = r->layout.n_params,
		.n_eligible = r->layout.n_params,
	};
	if (c->policy->scoped) {
		ctx.scope = r->scope.tensors;
		ctx.n_scope = r->scope.n_tensors;
		ctx.n_eligible = r->scope.n_eligible;
		ctx.density = sb_values_float(&c->policy_cfg, "density");
		ctx.k = (size_t)llround(ctx.density * (double)ctx.n_eligible);
		ctx.per_tensor = !strcmp(
			sb_values_str(&c->policy_cfg, "granularity"),
			"per_tensor");
		if (ctx.k == 0)
			return sb_error(err, "density %g of %zu eligible "
					"components selects nothing",
					ctx.density, ctx.n_eligible);
	}
	int rc = c->policy->select(r->policy, &ctx, &r->cand, err);
	if (rc < 0)
		return -1;
	*changed = rc == 0 || t == 0;
	if (rc == 0) {
		if (c->policy->scoped)
			sb_scope_complete(&r->scope, &r->layout, &r->cand);
		struct sb_selection swap = r->cur;
		r->cur = r->cand;
		r->cand = swap; /* now S_{t-1}, kept for churn */
	}
	return 0;
}

static void write_summary(struct run *r, struct sb_run_log *log,
			  const struct tally *tl)
{
	const struct sb_run_cfg *c = r->cfg;
	double n = (double)r->layout.n_params;
	double mean_selected = tl->steps ? tl->selected_sum / tl->steps : NAN;
	double density = c->policy->scoped
		? sb_values_float(&c->policy_cfg, "density")
		: mean_selected / n;
	sb_run_log_attr_str(log, "task", sb_task_name(r->info.task));
	sb_run_log_attr(log, "density", density, "1");
	sb_run_log_attr(log, "lr", sb_values_float(&c->optimizer_cfg, "lr"),
			NULL);
	sb_run_log_attr(log, "n_params", n, "components");
	sb_run_log_attr(log, "trainable", mean_selected, "components");
	sb_run_log_attr(log, "ever_selected", (double)r->ever.count,
			"components");
	sb_run_log_attr(log, "optimizer_state_bytes",
			(double)c->optimizer->state_bytes(r->opt), "bytes");
	sb_run_log_attr(log, "peak_rss_bytes", peak_rss_bytes(), "bytes");
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

static enum sb_status train(struct run *r, struct sb_run_log *log,
			    struct sb_progress *prog, struct sb_error *err)
{
	const struct sb_run_cfg *c = r->cfg;
	long steps = sb_values_int(&c->train_cfg, "steps");
	long eval_every = sb_values_int(&c->train_cfg, "eval_every");
	long metrics_every = sb_values_int(&c->train_cfg, "metrics_every");
	size_t bs = (size_t)sb_values_int(&c->train_cfg, "batch_size");
	bool update = sb_values_bool(&c->train_cfg, "update");
	size_t n = r->layout.n_params;
	struct sb_rng rng;
	sb_rng_seed(&rng, sb_seed_mix(c->seed, 23));
	struct tally tl = {.best_val_loss = NAN, .best_val_accuracy = NAN,
			   .last_val_loss = NAN, .last_val_accuracy = NAN};
	double loss = NAN;

	if (eval_every > 0) {
		log_eval(r, log, prog, &tl, 0, NAN);
		if (sb_run_log_flush(log, err))
			return SB_STATUS_FAILED;
	}
	for (long t = 0; t < steps; t++) {
		for (size_t i = 0; i < bs; i++)
			r->rows[i] = (size_t)sb_rng_below(
				&rng, r->info.n_examples[SB_TRAIN]);
		c->dataset->batch(r->data, SB_TRAIN, r->rows, bs, &r->batch);
		r->batch.n = bs;

		struct sb_step_row row = {
			.step = (double)(t + 1),
			.retained = NAN, .oracle_retained = NAN,
			.churn = NAN,
		};
		double t0 = sb_now();
		struct sb_eval ev = {0};
		c->model->forward(r->model, r->params, &r->batch, &ev);
		double t1 = sb_now();
		memset(r->grad, 0, n * sizeof *r->grad);
		c->model->backward(r->model, r->params, r->grad);
		double t2 = sb_now();
		loss = ev.count ? ev.loss_sum / ev.count : NAN;
		row.loss = loss;
		row.t_forward = t1 - t0;
		row.t_backward = t2 - t1;

		bool changed = false;
		int sel_rc = isfinite(loss) ? select_step(r, t, &changed, err)
					    : 0;
		double t3 = sb_now();
		row.t_select = t3 - t2;

		double total = sb_metrics_energy(r->grad, n);
		row.grad_norm = sqrt(total);
		if (!isfinite(loss) || !isfinite(total) || sel_rc) {
			if (!sel_rc)
				sb_error(err, "loss %g, gradient norm %g at "
					 "step %ld", loss, row.grad_norm, t + 1);
			row.t_metrics = sb_now() - t3;
			sb_run_log_step(log, &row);
			sb_run_log_attr(log, "diverged_step", (double)(t + 1),
					"steps");
			write_summary(r, log, &tl);
			return SB_STATUS_DIVERGED;
		}
		if (changed)
			sb_ever_add(&r->ever, &r->cur);
		row.n_selected = (double)r->cur.k;
		row.ever_selected = (double)r->ever.count;
		if (metrics_every > 0 && t % metrics_every == 0 && total > 0) {
			row.retained =
				sb_metrics_energy_at(r->grad, &r->cur) / total;
			row.oracle_retained =
				sb_topk_energy(r->grad, n, r->cur.k) / total;
			tl.retained_sum += row.retained;
			tl.retained_n++;
			if (t > 0) {
				row.churn = changed
					? (double)sb_metrics_entered(
						  &r->cur, &r->cand) /
						  (double)r->cur.k
					: 0.0;
				tl.churn_sum += row.churn;
				tl.churn_n++;
			}
		}
		if (r->probe && metrics_every > 0 && t % metrics_every == 0)
			sb_probe_measure(r->probe, r->grad);
		double t4 = sb_now();
		row.t_metrics = t4 - t3;

		struct sb_opt_step st = {
			.t = t + 1,
			.lr = sb_schedule_lr(&c->optimizer_cfg, t + 1, steps),
		};
		struct sb_opt_report rep = {0};
		if (update)
			c->optimizer->step(r->opt, r->params, r->grad, &r->cur,
					   changed, &st, &rep);
		row.t_update = sb_now() - t4;
		row.lr = st.lr;
		row.history_lost = (double)rep.history_lost;
		sb_run_log_step(log, &row);

		tl.steps++;
		tl.selected_sum += (double)r->cur.k;
		tl.history_lost += (double)rep.history_lost;
		tl.time_sum += row.t_forward + row.t_backward + row.t_select +
			       row.t_update;
		sb_progress_step(prog, t + 1, loss);
		bool last = t + 1 == steps;
		if ((eval_every > 0 && (t + 1) % eval_every == 0) ||
		    (last && (eval_every == 0 || (t + 1) % eval_every))) {
			log_eval(r, log, prog, &tl, t + 1, loss);
			if (sb_run_log_flush(log, err))
				return SB_STATUS_FAILED;
		}
	}

	if (sb_values_bool(&c->train_cfg, "test")) {
		struct sb_eval ev = evaluate(r, SB_TEST, 0);
		if (ev.count) {
			sb_run_log_attr(log, "test_loss",
					ev.loss_sum / ev.count, "nats");
			sb_run_log_attr(log, "test_accuracy",
					ev.correct / ev.count, "1");
		}
	}
	write_summary(r, log, &tl);
	if (r->probe)
		sb_probe_write(r->probe, log, c->seed);
	const char *save = sb_values_str(&c->train_cfg, "save_checkpoint");
	if (*save && sb_checkpoint_save(save, c->model->name, c->config_yaml,
					&r->layout, r->params, err))
		return SB_STATUS_FAILED;
	return SB_STATUS_COMPLETED;
}

enum sb_status sb_run_execute(const struct sb_run_cfg *run,
			      struct sb_run_log *log,
			      struct sb_progress *progress,
			      struct sb_error *err)
{
	struct run r = {.cfg = run};
	openblas_set_num_threads(
		(int)sb_values_int(&run->train_cfg, "threads"));
	enum sb_status st = SB_STATUS_FAILED;
	if (run_setup(&r, err) == 0)
		st = train(&r, log, progress, err);
	run_release(&r);
	return st;
}
