/* inputs.c - a run's data, model and parameters (inputs.h): the private
 * state of both plugins is allocated zeroed here and released here, whether
 * or not their open and init succeeded (the contract in sb.h). */
#include "run/inputs.h"
#include "io/checkpoint.h"
#include "run/shape.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

/* The stream label of the model's initialisation in the run's seed. */
#define INIT_STREAM 11

/* The data opened and the model initialised: its layout, no parameters. */
static int open_data_model(struct sb_inputs *in, const struct sb_run_cfg *run,
			   size_t max_batch, struct sb_error *err)
{
	memset(in, 0, sizeof *in);
	in->cfg = run;
	in->data = sb_calloc(1, run->dataset->priv_size);
	if (run->dataset->open(in->data, &run->dataset_cfg, &in->info, err))
		return -1;
	in->model = sb_calloc(1, run->model->priv_size);
	if (!run->model->init(in->model, &run->model_cfg, &in->info,
			      max_batch, &in->layout, err))
		return 0;
	const char *ckpt = sb_values_str(&run->model_cfg, "checkpoint");
	if (*ckpt && sb_shape_declared(run->model)) {
		char *why = sb_strdup(err->msg);
		sb_error(err, "%s (the model has the shape of its checkpoint "
			 "'%s')", why, ckpt);
		free(why);
	}
	return -1;
}

int sb_inputs_count(const struct sb_run_cfg *run, size_t *n_params,
		    struct sb_error *err)
{
	struct sb_inputs in;
	int rc = open_data_model(&in, run, 1, err);
	*n_params = rc ? 0 : in.layout.n_params;
	sb_inputs_release(&in);
	return rc;
}

int sb_inputs_open(struct sb_inputs *in, const struct sb_run_cfg *run,
		   size_t max_batch, struct sb_error *err)
{
	if (open_data_model(in, run, max_batch, err))
		return -1;

	size_t n = in->layout.n_params;
	if (n > UINT32_MAX)
		return sb_error(err, "model has %zu parameters; sparsebench "
				"indexes at most %u", n, UINT32_MAX);
	in->params = sb_calloc(n, sizeof *in->params);
	run->model->init_params(in->model, in->params,
				sb_seed_mix(run->seed, INIT_STREAM));
	const char *ckpt = sb_values_str(&run->model_cfg, "checkpoint");
	if (!*ckpt)
		return 0;
	const struct sb_value *fresh = sb_values_get(&run->model_cfg, "fresh");
	return sb_checkpoint_load(ckpt, &in->layout, in->params, fresh->strs,
				  fresh->n, err);
}

void sb_inputs_release(struct sb_inputs *in)
{
	const struct sb_run_cfg *run = in->cfg;
	if (!run)
		return;
	if (in->model && run->model->release)
		run->model->release(in->model);
	if (in->data && run->dataset->release)
		run->dataset->release(in->data);
	free(in->model);
	free(in->data);
	free(in->params);
	memset(in, 0, sizeof *in);
}

/* The dataset and model part of a run's resolved config: runs with equal
 * keys read the same data into the same model. */
char *sb_inputs_key(const struct sb_run_cfg *run)
{
	const char *end = strstr(run->config_yaml, "\npolicy: ");
	size_t n = end ? (size_t)(end - run->config_yaml)
		       : strlen(run->config_yaml);
	char *key = sb_malloc(n + 1);
	memcpy(key, run->config_yaml, n);
	key[n] = '\0';
	return key;
}
