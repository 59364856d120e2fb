/* sb.h - the types every part of sparsebench shares: errors, declared
 * parameters and their resolved values, the model's table of named tensors,
 * selections, batches, and the four plugin families (see docs/plugins.md). */
#ifndef SB_H
#define SB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SB_VERSION "0.1.0"

/* The commit the binary was built from (generated into build/commit.c). */
extern const char sb_git_commit[];

/* ---- errors ------------------------------------------------------------ */

/* A message for the user; functions that fail fill it and return -1. */
struct sb_error {
	char msg[1024];
};

/* Records a printf-style message and returns -1, so `return sb_error(...)`. */
int sb_error(struct sb_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* ---- declared parameters and resolved values --------------------------- */

enum sb_type {
	SB_INT,     /* integer */
	SB_FLOAT,   /* real number */
	SB_BOOL,    /* true / false */
	SB_STRING,  /* free text (a path, a pattern) */
	SB_CHOICE,  /* one of `choices` */
	SB_STRINGS, /* a list of strings (a list here is a value, not a sweep) */
	SB_INTS,    /* a list of integers (likewise) */
};

/* One parameter a plugin (or the core) accepts. Used to validate specs, fill
 * defaults and print `sparsebench list`, from this one source. */
struct sb_param {
	const char *name;
	enum sb_type type;
	const char *def;     /* default as YAML text ("0.01", "[]", "global");
	                        NULL means the spec must give it */
	bool ranged;         /* numbers: lo/hi below apply */
	double lo, hi;       /* inclusive bounds unless lo_open / hi_open */
	bool lo_open, hi_open;
	const char *choices; /* SB_CHOICE: "global|per_tensor" */
	const char *help;    /* one line */
	bool from_checkpoint; /* models: a value of the architecture that a
	                         checkpoint fixes; when the spec does not give
	                         it, the model checkpoint's value replaces the
	                         default (docs/spec.md, "Shape from the
	                         checkpoint") */
};

/* Declares a numeric range in a parameter table: SB_RANGE(0, 1). */
#define SB_RANGE(a, b) .ranged = true, .lo = (a), .hi = (b)

/* A resolved value: every declared parameter of a plugin has exactly one. */
struct sb_value {
	const char *name; /* borrowed from the declaration */
	enum sb_type type;
	long i;           /* SB_INT, SB_BOOL */
	double f;         /* SB_FLOAT */
	char *s;          /* SB_STRING, SB_CHOICE */
	char **strs;      /* SB_STRINGS: n entries */
	long *ints;       /* SB_INTS: n entries */
	size_t n;
	int line, col;    /* where a spec gave it (1-based); 0: not given by
	                     a spec (a default, a checkpoint's, set in code) */
};

struct sb_values {
	size_t n;
	struct sb_value *v;
};

/* Look-ups by declared name; asking for an undeclared name or the wrong type
 * is a programmer error (assertion). */
long sb_values_int(const struct sb_values *vals, const char *name);
double sb_values_float(const struct sb_values *vals, const char *name);
bool sb_values_bool(const struct sb_values *vals, const char *name);
const char *sb_values_str(const struct sb_values *vals, const char *name);
const struct sb_value *sb_values_get(const struct sb_values *vals,
				     const char *name);
void sb_values_release(struct sb_values *vals);
/* Frees one value's strings and lists, keeping its name and type. */
void sb_value_clear(struct sb_value *v);
/* A deep copy into dst (cleared first). */
void sb_value_copy(struct sb_value *dst, const struct sb_value *src);
int sb_values_copy(struct sb_values *dst, const struct sb_values *src);
/* Fills every declared parameter with its default (the spec layer overrides;
 * a parameter without default is left zero). */
int sb_values_defaults(struct sb_values *vals, const struct sb_param *decl,
		       struct sb_error *err);
/* Sets one declared value from default-style text ("0.1", "[a, b]"): for
 * tests and for configs built in code. */
int sb_values_set(struct sb_values *vals, const char *name, const char *text,
		  struct sb_error *err);

/* ---- the model's parameters -------------------------------------------- */

/* Index of one scalar component in the flat parameter buffer. */
typedef uint32_t sb_index;

#define SB_LAYER_NONE (-1000000) /* embeddings, final norm, heads */

/* One named tensor: a contiguous range of the flat parameter buffer. */
struct sb_tensor {
	const char *name;    /* "h.3.attn.c_attn.weight", "fc0.weight" */
	size_t offset, size; /* in components */
	int ndim;
	size_t shape[4];
	int layer;           /* block index 0..n_layers-1, or SB_LAYER_NONE */
};

struct sb_layout {
	size_t n_params;
	size_t n_tensors;
	const struct sb_tensor *tensors; /* sorted by offset, covering 0..n_params */
	int n_layers;
};

/* A selected set S: sorted, duplicate-free indices into the parameters. */
struct sb_selection {
	sb_index *idx;
	size_t k, cap;
};

void sb_selection_reserve(struct sb_selection *sel, size_t cap);
void sb_selection_release(struct sb_selection *sel);

/* ---- the gradient a backward pass computes ----------------------------- */

/* When a policy or an optimizer reads the gradient of every component
 * rather than its values on S. The core computes the full gradient only on
 * the steps someone needs it (docs/run.md); on the others the model computes
 * S's gradient alone, and no n-vector of gradients is touched. */
enum sb_grad_need {
	SB_GRAD_NEVER,  /* a policy selects without a gradient (ctx->grad is
	                   NULL); an optimizer reads g on S only */
	SB_GRAD_WARMUP, /* policies: every step until select returns
	                   SB_SELECT_FIXED */
	SB_GRAD_ALWAYS, /* every step */
	SB_GRAD_SOME,   /* policies: on the steps its needs_grad(priv, step)
	                   says, until select returns SB_SELECT_FIXED */
};

/* "never", "until S is fixed", "every step" or "on the steps it asks
 * for": what `list` shows. */
const char *sb_grad_need_name(enum sb_grad_need need);

/* How much of one tensor's gradient a backward pass is asked for. */
enum sb_grad_want {
	SB_WANT_NONE, /* no component of the tensor is in S */
	SB_WANT_SOME, /* some are */
	SB_WANT_ALL,  /* every one is */
};

/* One tensor's share of S: its components are idx[first..first+count). */
struct sb_grad_span {
	enum sb_grad_want want;
	size_t first, count;
};

/* The gradient of S alone, packed in S's order: grad[j] is d(loss) /
 * d(params[idx[j]]). S is sorted, so a tensor wanted whole occupies
 * grad[first..first+size) in its own layout, and one wanted in part has
 * its entries there in ascending order. */
struct sb_grad_plan {
	const sb_index *idx;                /* S, ascending */
	size_t k;
	const struct sb_grad_span *tensors; /* one per tensor of the layout */
};

/* ---- data -------------------------------------------------------------- */

enum sb_split { SB_TRAIN, SB_VAL, SB_TEST };

enum sb_task {
	SB_TASK_VECTOR_CLASSIFY, /* x: [n, n_features] floats; y: [n] labels */
	SB_TASK_LM,              /* tokens: [n, seq_len]; targets: [n, seq_len] */
	SB_TASK_SEQ_CLASSIFY,    /* tokens: [n, seq_len] padded; lengths: [n];
	                            targets: [n] labels */
};

struct sb_data_info {
	enum sb_task task;
	size_t n_features; /* vector tasks */
	size_t n_classes;  /* classification tasks */
	size_t vocab;      /* token tasks */
	size_t seq_len;    /* token tasks: tokens per example */
	size_t n_examples[3]; /* per split, indexed by enum sb_split */
};

/* A batch of examples, filled by a dataset into buffers the core owns
 * (sized from sb_data_info for `n` examples). */
struct sb_batch {
	size_t n;
	float *x;         /* [n, n_features] or unused */
	int32_t *tokens;  /* [n, seq_len] or unused */
	int32_t *lengths; /* [n] real tokens per row (SEQ_CLASSIFY) */
	int32_t *targets; /* [n] labels, or [n, seq_len] next tokens (LM);
	                     a negative target is ignored */
};

/* "vector_classify", "lm" or "seq_classify". */
const char *sb_task_name(enum sb_task task);
/* Buffers for n examples of a task, zeroed; released with the other. */
void sb_batch_alloc(struct sb_batch *batch, const struct sb_data_info *info,
		    size_t n);
void sb_batch_release(struct sb_batch *batch);

/* What one forward pass measured: summed, so batches combine by addition. */
struct sb_eval {
	double loss_sum; /* nats, summed over counted targets */
	double correct;  /* targets predicted right (argmax) */
	double count;    /* targets counted */
};

/* ---- plugins ----------------------------------------------------------- */

/* Every descriptor starts alike: name, a one-line summary, its declared
 * parameters and priv_size. The core allocates priv_size bytes zeroed for
 * each use of a plugin, passes them to every callback, and frees them.
 *
 * Lifecycle: `init` (`open` for a dataset) is called at most once; `release`
 * is called exactly once after it, when the core is done with the state,
 * whether init succeeded, failed or (being optional for a policy) was never
 * called. So init returns its error without undoing its allocations, and
 * release accepts zeroed or partly initialised state: it frees what is
 * there (free(NULL) is fine) and must not assume init finished. */

/* Read-only facts a policy selects from. The scope (include/exclude) is a
 * set of whole tensors; components of tensors outside it are added to S (or
 * left frozen) by the core, never by the policy. */
struct sb_select_ctx {
	const struct sb_layout *layout;
	const float *grad;        /* full gradient of this step, n_params; NULL
	                             for a policy that does not need it now */
	const float *params;      /* the parameters' current values, n_params,
	                             read-only: at step 0 the pre-trained (or
	                             initial) ones, later those after the
	                             updates of steps 0..step-1 */
	long step;                /* 0-based training step */
	long steps;               /* the run's length in steps (for schedules
	                             such as a decaying drop fraction) */
	uint64_t seed;            /* the run's seed, for seeded policies */
	const size_t *scope;      /* indices into layout->tensors, ascending */
	size_t n_scope;
	size_t n_eligible;        /* components in those tensors */
	double density;           /* fraction of eligible components to choose */
	size_t k;                 /* round(density * n_eligible) */
	bool per_tensor;          /* granularity: choose within each tensor */
};

/* What select returns besides -1 (an error). */
enum {
	SB_SELECT_NEW = 0,   /* `out` holds a new set */
	SB_SELECT_SAME = 1,  /* unchanged since the previous call (`out` left
	                        as it was): costs nothing */
	SB_SELECT_FIXED = 2, /* `out` holds a new set that never changes
	                        again: select is not called any more */
};

struct sb_policy {
	const char *name;
	const char *summary;
	const struct sb_param *params; /* terminated by {0} */
	size_t priv_size;              /* zeroed state the core allocates */
	bool scoped;                   /* takes the common scope parameters
	                                  (density, include, exclude, outside,
	                                  granularity: harness/spec/params.c) */
	/* When select reads ctx->grad: SB_GRAD_NEVER (then it is NULL),
	 * SB_GRAD_WARMUP (until select returns SB_SELECT_FIXED),
	 * SB_GRAD_ALWAYS, or SB_GRAD_SOME (on the steps needs_grad says).
	 * Every policy sets it; `list` shows it. On a step without the need
	 * ctx->grad is NULL. */
	enum sb_grad_need grad_need;
	/* SB_GRAD_SOME only (NULL otherwise): whether select reads ctx->grad
	 * at 0-based step `step`. Called by the core before the backward pass
	 * of every step until S is fixed, with the state select keeps; it
	 * must not change that state. */
	bool (*needs_grad)(const void *priv, long step);
	/* Optional. */
	int (*init)(void *priv, const struct sb_values *cfg,
		    const struct sb_layout *layout, struct sb_error *err);
	/* Fills `out` with a sorted duplicate-free set and returns one of
	 * SB_SELECT_NEW, SB_SELECT_SAME or SB_SELECT_FIXED. `out` is the
	 * core's buffer, not the policy's previous set (the core may have
	 * merged outside components into that): a policy that edits its
	 * previous set keeps its own copy. The core checks what select
	 * returns (sb_selection_check) and fails the run on a defect. */
	int (*select)(void *priv, const struct sb_select_ctx *ctx,
		      struct sb_selection *out, struct sb_error *err);
	/* Optional; accepts zeroed state (the lifecycle above). */
	void (*release)(void *priv);
};

struct sb_opt_step {
	long t;       /* 1-based update count */
	double lr;    /* after the schedule */
	const float *full_grad; /* every component's gradient, n_params, for
	                           an optimizer whose grad_need says
	                           SB_GRAD_ALWAYS; else NULL */
};

struct sb_opt_report {
	size_t history_lost; /* state entries lost this step: state that
	                        existed and was discarded or reset (not a
	                        component entering for the first time) */
};

struct sb_optimizer {
	const char *name;
	const char *summary;
	const struct sb_param *params;
	size_t priv_size;
	int (*init)(void *priv, const struct sb_values *cfg, size_t n_params,
		    struct sb_error *err);
	/* After init: SB_GRAD_ALWAYS when this state reads every component's
	 * gradient at every step (st->full_grad: dense moments), else
	 * SB_GRAD_NEVER. A function, as the need may follow the config. */
	enum sb_grad_need (*grad_need)(const void *priv);
	/* Updates params[sel->idx[j]] with grad[j], the gradient on S in S's
	 * order (only those move). `changed` is false when sel is the same set
	 * as at the previous step. */
	void (*step)(void *priv, float *params, const float *grad,
		     const struct sb_selection *sel, bool changed,
		     const struct sb_opt_step *st, struct sb_opt_report *rep);
	size_t (*state_bytes)(const void *priv);
	/* Optional; accepts zeroed state (the lifecycle above). */
	void (*release)(void *priv);
};

struct sb_dataset {
	const char *name;
	const char *summary;
	const struct sb_param *params;
	size_t priv_size;
	/* Optional: checks that the files it needs exist and are readable,
	 * cheaply, so `validate` reports them before anything trains. */
	int (*check)(const struct sb_values *cfg, struct sb_error *err);
	/* Loads the data. Paths are relative to the working directory. */
	int (*open)(void *priv, const struct sb_values *cfg,
		    struct sb_data_info *info, struct sb_error *err);
	/* Fills out->n = n examples of a split by their indices. */
	void (*batch)(void *priv, enum sb_split split, const size_t *rows,
		      size_t n, struct sb_batch *out);
	/* Optional; accepts zeroed state (the lifecycle above). */
	void (*release)(void *priv);
};

struct sb_model {
	const char *name;
	const char *summary;
	const struct sb_param *params;
	size_t priv_size;
	/* Sizes the model for a task and at most max_batch examples. */
	int (*init)(void *priv, const struct sb_values *cfg,
		    const struct sb_data_info *data, size_t max_batch,
		    struct sb_layout *layout, struct sb_error *err);
	/* Random initialisation, reproducible from the seed. */
	void (*init_params)(void *priv, float *params, uint64_t seed);
	/* Mean loss over the batch's targets; keeps activations for backward. */
	void (*forward)(void *priv, const float *params,
			const struct sb_batch *batch, struct sb_eval *out);
	/* Adds d(mean loss)/d(params) of the last forward into grad: with
	 * plan NULL the full gradient (grad has n_params entries, the
	 * reference); else S's alone, packed as struct sb_grad_plan says (grad
	 * has plan->k entries), computing only what S needs. May be called
	 * more than once after one forward. */
	void (*backward)(void *priv, const float *params,
			 const struct sb_grad_plan *plan, float *grad);
	/* Bytes of what forward keeps for backward and backward's scratch. */
	size_t (*activation_bytes)(const void *priv);
	/* Optional; accepts zeroed state (the lifecycle above). */
	void (*release)(void *priv);
};

#endif
