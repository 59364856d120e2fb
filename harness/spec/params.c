/* params.c - declarations of the core's own parameters (see params.h) and
 * the learning-rate schedules: constant, linear warm-up, cosine decay
 * (Loshchilov and Hutter, SGDR, 2017, without restarts). */
#include "spec/params.h"

#include <math.h>
#include <string.h>

const struct sb_param sb_train_params[] = {
	{.name = "steps", .type = SB_INT, .def = "100", SB_RANGE(1, 1e9),
	 .help = "training steps (one batch each)"},
	{.name = "batch_size", .type = SB_INT, .def = "32", SB_RANGE(1, 1e6),
	 .help = "examples per training batch"},
	{.name = "eval_every", .type = SB_INT, .def = "0", SB_RANGE(0, 1e9),
	 .help = "evaluate on the validation split every N steps (0: at the end only)"},
	{.name = "eval_batches", .type = SB_INT, .def = "0", SB_RANGE(0, 1e9),
	 .help = "validation batches per evaluation (0: the whole split)"},
	{.name = "eval_batch_size", .type = SB_INT, .def = "64", SB_RANGE(1, 1e6),
	 .help = "examples per evaluation batch"},
	{.name = "metrics_every", .type = SB_INT, .def = "1", SB_RANGE(0, 1e9),
	 .help = "compute retained/oracle/churn metrics every N steps (0: never)"},
	{.name = "threads", .type = SB_INT, .def = "1", SB_RANGE(1, 256),
	 .help = "OpenBLAS threads (results are bit-identical for the same count)"},
	{.name = "test", .type = SB_BOOL, .def = "true",
	 .help = "evaluate on the test split at the end"},
	{.name = "save_checkpoint", .type = SB_STRING, .def = "",
	 .help = "write the trained parameters to this HDF5 checkpoint"},
	{.name = "save_delta", .type = SB_STRING, .def = "",
	 .help = "write the components that moved from model.checkpoint to this HDF5 delta ({id}: the run's id)"},
	{.name = "update", .type = SB_BOOL, .def = "true",
	 .help = "apply the optimizer (false: measure gradients of the initial model)"},
	{.name = "grad_shares", .type = SB_BOOL, .def = "false",
	 .help = "measure the top 0.1/1/10% energy, norm and L1 shares of the gradient"},
	{.name = "shares_exclude", .type = SB_STRINGS, .def = "[]",
	 .help = "tensor patterns left out of the second (\"rest\") share measurement"},
	{0},
};

const struct sb_param sb_scope_params[] = {
	{.name = "density", .type = SB_FLOAT, .def = "0.01", SB_RANGE(0, 1),
	 .lo_open = true,
	 .help = "fraction of the eligible components selected"},
	{.name = "include", .type = SB_STRINGS, .def = "[]",
	 .help = "tensor-name patterns (fnmatch) eligible for selection; empty: all"},
	{.name = "exclude", .type = SB_STRINGS, .def = "[]",
	 .help = "tensor-name patterns never eligible for selection"},
	{.name = "outside", .type = SB_CHOICE, .def = "freeze",
	 .choices = "freeze|train",
	 .help = "components outside the scope: never trained, or always trained"},
	{.name = "granularity", .type = SB_CHOICE, .def = "global",
	 .choices = "global|per_tensor",
	 .help = "choose the top fraction over all eligible tensors or within each"},
	{0},
};

const struct sb_param sb_schedule_params[] = {
	{.name = "lr", .type = SB_FLOAT, .def = "0.001", SB_RANGE(0, 1e3),
	 .lo_open = true, .help = "peak learning rate"},
	{.name = "schedule", .type = SB_CHOICE, .def = "constant",
	 .choices = "constant|linear|cosine",
	 .help = "after warm-up: constant, linear decay to min_lr, cosine decay to min_lr"},
	{.name = "warmup", .type = SB_INT, .def = "0", SB_RANGE(0, 1e9),
	 .help = "steps of linear warm-up from 0 to lr"},
	{.name = "min_lr", .type = SB_FLOAT, .def = "0", SB_RANGE(0, 1e3),
	 .help = "learning rate reached at the last step by a decaying schedule"},
	{0},
};

const struct sb_param sb_checkpoint_params[] = {
	{.name = "checkpoint", .type = SB_STRING, .def = "",
	 .help = "initialise from this checkpoint: HDF5, or llm.c GPT-2 weights (empty: random init)"},
	{.name = "checkpoint_spec", .type = SB_STRING, .def = "",
	 .help = "the experiment that writes the checkpoint, run first if it is missing"},
	{.name = "fresh", .type = SB_STRINGS, .def = "[]",
	 .help = "tensor-name patterns not loaded from the checkpoint (a new head)"},
	{0},
};

const struct sb_param *sb_params_core(const struct sb_plugin *plugin)
{
	switch (plugin->family) {
	case SB_FAMILY_POLICY:
		return plugin->scoped ? sb_scope_params : NULL;
	case SB_FAMILY_OPTIMIZER:
		return sb_schedule_params;
	case SB_FAMILY_MODEL:
		return sb_checkpoint_params;
	case SB_FAMILY_DATASET:
	case SB_N_FAMILIES:
		break;
	}
	return NULL;
}

const char *const sb_plot_names[] = {
	"grad_info", "churn", "history", "val_curve", "density", "time",
	"memory", NULL,
};

double sb_schedule_lr(const struct sb_values *cfg, long t, long steps)
{
	double lr = sb_values_float(cfg, "lr");
	double min_lr = sb_values_float(cfg, "min_lr");
	long warmup = sb_values_int(cfg, "warmup");
	const char *kind = sb_values_str(cfg, "schedule");

	if (t <= warmup)
		return lr * (double)t / (double)warmup;
	if (!strcmp(kind, "constant") || steps <= warmup)
		return lr;
	/* progress runs from 0 just after warm-up to 1 at the last step */
	double progress = (double)(t - warmup) / (double)(steps - warmup);
	if (!strcmp(kind, "linear"))
		return min_lr + (lr - min_lr) * (1.0 - progress);
	return min_lr + 0.5 * (lr - min_lr) * (1.0 + cos(M_PI * progress));
}
