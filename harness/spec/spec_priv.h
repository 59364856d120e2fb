/* spec_priv.h - what the spec parser (spec.c) hands to the grid expansion
 * (grid.c), and the value parsing (spec_values.c) and name checks
 * (spec_names.c) both use: every section resolved to base values plus its
 * sweep axes, each remembering the YAML node it came from (docs/spec.md). */
#ifndef SB_SPEC_PRIV_H
#define SB_SPEC_PRIV_H

#include "spec/spec.h"
#include "spec/yaml_tree.h"

/* The parts of a run config, in the order config_yaml lists them. */
enum sb_part { SB_PART_DATASET, SB_PART_MODEL, SB_PART_POLICY,
	       SB_PART_OPTIMIZER, SB_PART_TRAIN, SB_N_PARTS };

extern const char *const sb_part_names[SB_N_PARTS];

/* A swept parameter: one resolved value per item of a YAML sequence. */
struct sb_axis {
	const char *label;             /* the parameter's name */
	enum sb_part part;             /* whose values it sets */
	size_t index;                  /* into those values */
	const struct sb_ynode *node;   /* the sequence; orders the axes */
	size_t n;
	struct sb_value *vals;         /* n values */
	const struct sb_ynode **items; /* n item nodes */
};

/* One plugin (or the train section) with the spec's values applied. */
struct sb_section {
	enum sb_part part;
	const char *name;               /* the plugin's; NULL for train */
	const void *plugin;             /* its descriptor */
	bool scoped;                    /* a policy taking sb_scope_params */
	const struct sb_ynode *node;    /* the name or mapping; NULL: absent */
	struct sb_param *decl;          /* the core's table + the plugin's */
	struct sb_values base;          /* defaults, then the spec's scalars */
	const struct sb_ynode **src;    /* per base value: its node, or NULL */
	struct sb_axis *axes;
	size_t n_axes;
};

struct sb_method {
	const char *name;               /* `name:`, or NULL */
	const struct sb_ynode *node;    /* the method's mapping (top level:
	                                   the policy node) */
	struct sb_section *policies;
	size_t n_policies;
	struct sb_section *optimizers;
	size_t n_optimizers;
	/* the method's own `model:` / `train:` mappings (NULL: none), and the
	 * top-level section with them applied (decl NULL: no override) */
	const struct sb_ynode *model_node, *train_node;
	struct sb_section model, train;
};

/* Everything parsed from one spec; the grid reads it, spec.c frees it. */
struct sb_spec_parse {
	const char *path;
	struct sb_error *err;
	struct sb_ydoc doc;
	struct sb_section dataset, model, train;
	/* top-level `density:` for scoped policies whose mapping gives none;
	 * n == 0: not given; swept: written as a sequence */
	struct sb_axis density;
	bool density_swept;
	uint64_t *seeds;
	const struct sb_ynode **seed_nodes; /* NULL entry: the default 0 */
	size_t n_seeds;
	struct sb_method *methods;
	size_t n_methods;
	bool methods_form;              /* `methods:`, not policy/optimizer */
};

/* Expands the parsed spec into spec->runs (ids, settings, config_yaml), then
 * checks ids for duplicates and the files runs need (dataset check,
 * checkpoints). On error fills ps->err and leaves spec->runs to the caller's
 * release. */
int sb_grid_expand(const struct sb_spec_parse *ps, struct sb_spec *spec);

/* ---- spec_values.c ---- */

/* Records "PATH:LINE:COL: message" at the node; returns -1. */
int sb_spec_fail(const struct sb_spec_parse *ps, const struct sb_ynode *node,
		 const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* What a message says was found: "'ten'", "a list", "a mapping". */
const char *sb_spec_found(const struct sb_ynode *node, char *buf, size_t size);
/* One value of parameter p from its node (a scalar; for list types a list
 * of scalars or one scalar), checked for type, range and choices. */
int sb_spec_value(const struct sb_spec_parse *ps, const struct sb_param *p,
		  const struct sb_ynode *node, struct sb_value *v);
/* Whether the node given for p is a sweep: a sequence for a scalar type, a
 * sequence of sequences for a list type; a mix of both is an error. */
int sb_spec_is_sweep(const struct sb_spec_parse *ps, const struct sb_param *p,
		     const struct sb_ynode *node, bool *sweep);
/* A non-empty sequence as an axis of p's values (label, node, items). */
int sb_spec_axis(const struct sb_spec_parse *ps, const struct sb_param *p,
		 const struct sb_ynode *node, struct sb_axis *axis);
void sb_spec_axis_release(struct sb_axis *axis);
/* Deep copy (the nodes are shared: the document owns them). */
void sb_spec_axis_copy(struct sb_axis *dst, const struct sb_axis *src);

/* ---- spec_names.c ---- */

/* "a, b, c" from n names; the caller frees. */
char *sb_spec_join(const char *const *names, size_t n, const char *sep);
/* "unknown key 'K'WHERE (did you mean 'N'?)" when a name is within edit
 * distance 2, else "(known: ...)"; at the key; returns -1. */
int sb_spec_unknown_key(const struct sb_spec_parse *ps,
			const struct sb_ynode *key, const char *const *names,
			size_t n, const char *where);
/* The same for a key of a section: over its declared params (and `name`
 * for a plugin), WHERE " in model 'mlp'" or " in train". */
int sb_spec_section_unknown_key(const struct sb_spec_parse *ps,
				const struct sb_section *sec,
				const struct sb_ynode *key);
/* Of a NULL-ended list: its length; the index of word, or SIZE_MAX. */
size_t sb_spec_count_names(const char *const *names);
size_t sb_spec_index_of(const char *word, const char *const *names);


#endif
