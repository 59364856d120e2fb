/* support.h - helpers shared by the cmocka tests in tests/ (linked into every
 * test binary by the Makefile): temporary directories, files, results files
 * of known runs written with the real writer, an opened model, a policy
 * driven as the core drives it, tolerances. */
#ifndef SB_TEST_SUPPORT_H
#define SB_TEST_SUPPORT_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "sb.h"
#include "io/results.h"
#include "run/scope.h"
#include "../models/lib/llmc.h"

struct sb_rng;

/* |a - b| <= tol in double (cmocka's assert_float_equal rounds to float). */
#define assert_near(a, b, tol)                                                \
	do {                                                                  \
		double a_ = (a), b_ = (b), tol_ = (tol);                      \
		if (!(fabs(a_ - b_) <= tol_))                                 \
			fail_msg("%.17g != %.17g within %g", a_, b_, tol_);   \
	} while (0)

/* The message of an error holds `part`. */
#define assert_error(err, part)                                               \
	do {                                                                  \
		const char *msg_ = (err)->msg, *part_ = (part);               \
		if (!strstr(msg_, part_))                                     \
			fail_msg("error '%s' lacks '%s'", msg_, part_);       \
	} while (0)

/* ---- temporary directories and files ---- */

/* Creates a fresh directory /tmp/sb_<label>_XXXXXX and writes its path to
 * dir (of size bytes); returns 0 or -1. */
int sb_test_tmpdir(char *dir, size_t size, const char *label);
/* Removes dir and everything below it, without following links. */
int sb_test_rmtree(const char *dir);
/* "<dir>/<name>", freshly allocated. */
char *sb_test_path(const char *dir, const char *name);
/* The whole file with a '\0' after it (its length in *len when len is not
 * NULL), freshly allocated; NULL when it cannot be opened. */
char *sb_test_read_file(const char *path, size_t *len);
/* Runs a shell command (printf-style) in dir, its stdout in dir/out and
 * stderr in dir/err; its exit status, -1 when it did not exit. */
int sb_test_sh(const char *dir, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Writes text to dir/name (a failure fails the test). */
void sb_test_write_text(const char *dir, const char *name, const char *text);

/* ---- results files of known runs ---- */

#define SB_TEST_MAX_STEPS 256
#define SB_TEST_MAX_EVALS 8
#define SB_TEST_MAX_ATTRS 16

/* A summary attribute of a run: a number with its units (NULL: none), or a
 * string when text is not NULL. */
struct sb_test_attr {
	const char *name;
	double value;
	const char *units;
	const char *text;
};

/* One run as the run loop would have logged it. */
struct sb_test_run {
	const char *id; /* NULL: "<method>,<setting>,seed=<seed>", without
			 * the setting when it is "" */
	const char *method, *setting, *policy, *optimizer;
	uint64_t seed;
	const char *config_yaml;
	enum sb_status status;
	size_t n_steps, n_evals, n_attrs;
	struct sb_step_row steps[SB_TEST_MAX_STEPS];
	struct sb_eval_row evals[SB_TEST_MAX_EVALS]; /* in step order */
	struct sb_test_attr attrs[SB_TEST_MAX_ATTRS];
};

/* Describes run i of a test's own data `ctx` into run, zeroed beforehand. */
typedef void sb_test_describe_fn(const void *ctx, size_t i,
				 struct sb_test_run *run);

/* Writes the results file `path` (replacing any) of the experiment `name`,
 * whose spec is "name: <name>\n" at "<name>.yaml", with n runs. A run's
 * rows are logged in step order, each evaluation after the steps up to its
 * own and followed by a flush, as the run loop does; then its attributes
 * and its status. Any error fails the test. */
void sb_test_results_write(const char *path, const char *name,
			   sb_test_describe_fn *describe, const void *ctx,
			   size_t n);
void sb_test_run_attr(struct sb_test_run *run, const char *name,
		      double value, const char *units);
void sb_test_run_attr_str(struct sb_test_run *run, const char *name,
			  const char *text);

/* ---- a model opened as the core opens it ---- */

struct sb_test_model {
	const struct sb_model *model;
	void *priv;
	struct sb_layout layout;
	struct sb_data_info info;
	float *params, *grad; /* zeroed, layout.n_params each */
};

/* Runs the model's init with cfg (which the caller releases) and, when it
 * succeeds, allocates params and grad; returns init's result. Close the
 * model either way. */
int sb_test_model_open(struct sb_test_model *m, const struct sb_model *model,
		       const struct sb_values *cfg,
		       const struct sb_data_info *info, size_t max_batch,
		       struct sb_error *err);
void sb_test_model_close(struct sb_test_model *m);
/* Fails unless init_params draws the same parameters from the same seed
 * and others from another; leaves params drawn from seed 42. */
void sb_test_model_check_init(struct sb_test_model *m);
/* The mean loss of a forward pass over the batch. */
double sb_test_model_loss(struct sb_test_model *m, const struct sb_batch *b);
/* The tensor of that name; fails the test when there is none. */
const struct sb_tensor *sb_test_tensor(const struct sb_layout *layout,
				       const char *name);
/* The parameters of the model's tensor of that name. */
float *sb_test_params(const struct sb_test_model *m, const char *name);

/* ---- the gradient of a selection S ---- */

/* A tensor's share of a test's S: the fraction of its components chosen
 * (1: all of them; between 0 and 1: that share, at random). */
struct sb_test_pick {
	const char *tensor;
	double fraction;
};

/* S made of n picks, drawn from seed: sorted and duplicate-free. Fails the
 * test on a tensor the layout lacks. */
void sb_test_mask(struct sb_selection *sel, const struct sb_layout *layout,
		  const struct sb_test_pick *picks, size_t n, uint64_t seed);
/* Runs forward on b, then backward twice: the full gradient (the
 * reference) and S's alone under its plan. Fails unless every entry of S
 * agrees with the full gradient within rtol relative (of the larger of the
 * entry and the RMS of the full gradient over S, so that entries near zero
 * are held to the precision of their tensor), and unless backward wrote
 * nothing past S's k entries. Returns the worst such relative error. */
double sb_test_check_selected_grad(struct sb_test_model *m,
				   const struct sb_batch *b,
				   const struct sb_selection *sel,
				   double rtol);

/* ---- a selection policy driven as the core drives it ---- */

/* A layout of 1600 components in six named tensors over two blocks:
 * wte 0..299 (no block), h.0.attn.weight 300..499, h.0.mlp.weight
 * 500..899, h.1.attn.weight 900..1099, h.1.mlp.weight 1100..1499,
 * head.weight 1500..1599 (no block). */
#define SB_TEST_N_PARAMS 1600
extern const struct sb_layout sb_test_policy_layout;

/* A policy with its resolved config, scope, context and parameters, as the
 * core holds them for one run (harness/run/run.c, selection.c). */
struct sb_test_policy {
	const struct sb_policy *policy;
	const struct sb_layout *layout;
	struct sb_param *decl; /* scope parameters, then the policy's */
	struct sb_values cfg;
	void *priv;
	struct sb_scope *scope; /* scoped policies */
	struct sb_select_ctx ctx;
	struct sb_selection sel;
	float *params;          /* n_params, zeroed; ctx.params points here */
};

/* Resolves the config (defaults, then NULL-ended name/value text pairs,
 * which must be valid), computes the scope (a scoped policy) and the
 * context as the run loop does (ctx.steps 0: unknown; the caller may set
 * it), and returns the policy's init's result; close it either way. */
int sb_test_policy_open(struct sb_test_policy *r,
			const struct sb_policy *policy,
			const struct sb_layout *layout, uint64_t seed,
			struct sb_error *err, ...);
/* The same with the pairs in a NULL-ended array (name, value, ...). */
int sb_test_policy_openv(struct sb_test_policy *r,
			 const struct sb_policy *policy,
			 const struct sb_layout *layout, uint64_t seed,
			 const char *const *pairs, struct sb_error *err);
/* Whether the policy reads the full gradient at `step` by its declaration
 * (before S is fixed: the core stops calling select after that). */
bool sb_test_policy_needs_grad(const struct sb_test_policy *r, long step);
/* Selects into r->sel at `step`, with grad as ctx.grad when the policy
 * declares it needs it at that step and NULL otherwise. */
int sb_test_policy_select(struct sb_test_policy *r, const float *grad,
			  long step, struct sb_error *err);
void sb_test_policy_close(struct sb_test_policy *r);

/* n values drawn from N(0, 1). */
void sb_test_fill_normal(float *x, size_t n, struct sb_rng *rng);
/* n values from a few levels (0, -0, +-0.25, 0.5, +-1, 2): ties everywhere. */
void sb_test_fill_ties(float *x, size_t n, struct sb_rng *rng);
/* Fails unless sel is strictly ascending. */
void sb_test_assert_sorted_unique(const struct sb_selection *sel);
/* eligible[i] (n_params entries) holds for the components of the context's
 * scope tensors. */
void sb_test_eligible(const struct sb_select_ctx *ctx, bool *eligible);
/* Fails unless sel is, among the n components where eligible[] holds, the
 * sel->k largest of |v| with ties to the lower index: every eligible
 * component left out is smaller than every one taken, or equal and at a
 * higher index. */
void sb_test_assert_top_k(const struct sb_selection *sel, const float *v,
			  const bool *eligible, size_t n);

/* ---- llm.c files (models/lib/llmc.h) ---- */

/* The floats of tensor k (0..15, train_gpt2.c's order: wte, wpe, then each
 * per-layer tensor over all layers, ln_f) of a GPT-2 of configuration c,
 * counted here from llm.c's fill_in_parameter_sizes, not from llmc.c. */
size_t sb_test_llmc_tensor_size(const struct sb_llmc_config *c, int k);
/* The value of entry j of tensor k in a weights file. */
typedef float sb_test_llmc_value_fn(int k, size_t j, void *ctx);
/* Writes llm.c GPT-2 weights: the 256-int header (magic, version, maxT, V,
 * L, NH, C, Vp), then every tensor's values; `extra` zero bytes appended
 * (a negative `extra` cuts the file that much short instead). */
void sb_test_llmc_model_write(const char *path, int32_t magic,
			      int32_t version, const struct sb_llmc_config *c,
			      sb_test_llmc_value_fn *value, void *ctx,
			      long extra);
/* Writes an llm.c token shard of n tokens, `cut` bytes short of whole. */
void sb_test_llmc_tokens_write(const char *path, int32_t magic,
			       int32_t version, const uint16_t *tokens,
			       size_t n, long cut);

/* The number of entries of a parameter table (NULL: none). */
size_t sb_test_count_params(const struct sb_param *p);

#endif
