/* grid.c - expands a parsed spec into its runs (docs/spec.md, "The grid"):
 * methods in order; per method its policies x optimizers x every sweep axis
 * in document order, seeds innermost; then ids, settings and config_yaml. */
#include "spec/spec_priv.h"
#include "util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A guard against grids nobody means to run (and against alias bombs). */
#define MAX_RUNS 100000

/* ---- text of values ------------------------------------------------------ */

/* The shortest %g text that reads back as the same double. */
static void put_double(struct sb_strbuf *buf, double x)
{
	if (isinf(x)) {
		sb_strbuf_printf(buf, "%s", x < 0 ? "-.inf" : ".inf");
		return;
	}
	char text[64];
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(text, sizeof text, "%.*g", prec, x);
		if (strtod(text, NULL) == x)
			break;
	}
	sb_strbuf_printf(buf, "%s", text);
}

/* A plain YAML scalar is safe when it cannot read as anything but this
 * string: starts with a letter, '_' or '/', holds no indicator characters,
 * and is none of YAML 1.1's booleans or nulls. */
static bool plain_safe(const char *s)
{
	static const char *const reserved[] = {
		"true", "false", "yes", "no", "on", "off", "null", "y", "n",
	};
	if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
	      *s == '_' || *s == '/'))
		return false;
	for (const char *c = s; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || strchr("_./+-", *c)))
			return false;
	for (size_t i = 0; i < sizeof reserved / sizeof *reserved; i++)
		if (!strcasecmp(s, reserved[i]))
			return false;
	return true;
}

static void put_string(struct sb_strbuf *buf, const char *s)
{
	if (plain_safe(s)) {
		sb_strbuf_printf(buf, "%s", s);
		return;
	}
	sb_strbuf_printf(buf, "\"");
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if (*c == '"' || *c == '\\')
			sb_strbuf_printf(buf, "\\%c", *c);
		else if (*c == '\n')
			sb_strbuf_printf(buf, "\\n");
		else if (*c == '\t')
			sb_strbuf_printf(buf, "\\t");
		else if (*c < 0x20 || *c == 0x7f)
			sb_strbuf_printf(buf, "\\x%02x", *c);
		else
			sb_strbuf_printf(buf, "%c", *c);
	}
	sb_strbuf_printf(buf, "\"");
}

/* A value as flow YAML: "0.003", "true", "\"h.*\"", "[1, 4]". */
static void put_yaml(struct sb_strbuf *buf, const struct sb_value *v)
{
	switch (v->type) {
	case SB_INT:
		sb_strbuf_printf(buf, "%ld", v->i);
		break;
	case SB_FLOAT:
		put_double(buf, v->f);
		break;
	case SB_BOOL:
		sb_strbuf_printf(buf, "%s", v->i ? "true" : "false");
		break;
	case SB_STRING:
	case SB_CHOICE:
		put_string(buf, v->s ? v->s : "");
		break;
	case SB_STRINGS:
	case SB_INTS:
		sb_strbuf_printf(buf, "[");
		for (size_t j = 0; j < v->n; j++) {
			sb_strbuf_printf(buf, "%s", j ? ", " : "");
			if (v->type == SB_INTS)
				sb_strbuf_printf(buf, "%ld", v->ints[j]);
			else
				put_string(buf, v->strs[j]);
		}
		sb_strbuf_printf(buf, "]");
		break;
	}
}

/* A value as a setting item: numbers in %g, lists as "[1,4]", no spaces
 * added (a string value is kept as given). */
static void put_setting(struct sb_strbuf *buf, const struct sb_value *v)
{
	switch (v->type) {
	case SB_INT:
		sb_strbuf_printf(buf, "%ld", v->i);
		break;
	case SB_FLOAT:
		sb_strbuf_printf(buf, "%g", v->f);
		break;
	case SB_BOOL:
		sb_strbuf_printf(buf, "%s", v->i ? "true" : "false");
		break;
	case SB_STRING:
	case SB_CHOICE:
		sb_strbuf_printf(buf, "%s", v->s ? v->s : "");
		break;
	case SB_STRINGS:
	case SB_INTS:
		sb_strbuf_printf(buf, "[");
		for (size_t j = 0; j < v->n; j++) {
			if (v->type == SB_INTS)
				sb_strbuf_printf(buf, "%s%ld", j ? "," : "",
						 v->ints[j]);
			else
				sb_strbuf_printf(buf, "%s%s", j ? "," : "",
						 v->strs[j]);
		}
		sb_strbuf_printf(buf, "]");
		break;
	}
}

static void put_part(struct sb_strbuf *buf, const char *key, const char *plugin,
		     const struct sb_values *vals)
{
	sb_strbuf_printf(buf, "%s: {", key);
	if (plugin)
		sb_strbuf_printf(buf, "name: %s%s", plugin,
				 vals->n ? ", " : "");
	for (size_t i = 0; i < vals->n; i++) {
		sb_strbuf_printf(buf, "%s%s: ", i ? ", " : "", vals->v[i].name);
		put_yaml(buf, &vals->v[i]);
	}
	sb_strbuf_printf(buf, "}\n");
}

void sb_spec_run_yaml(struct sb_run_cfg *run)
{
	struct sb_strbuf yaml = {0};
	put_part(&yaml, "dataset", run->dataset->name, &run->dataset_cfg);
	put_part(&yaml, "model", run->model->name, &run->model_cfg);
	put_part(&yaml, "policy", run->policy->name, &run->policy_cfg);
	put_part(&yaml, "optimizer", run->optimizer->name,
		 &run->optimizer_cfg);
	put_part(&yaml, "train", NULL, &run->train_cfg);
	sb_strbuf_printf(&yaml, "seed: %llu\n", (unsigned long long)run->seed);
	free(run->config_yaml);
	run->config_yaml = yaml.s;
}

/* ---- expansion ---------------------------------------------------------- */

/* Where a run came from: the nodes of every choice made for it, in order
 * (policy, optimizer, each axis item, seed), to place a duplicate-id error,
 * and the nodes of the values its file checks look at. */
struct origin {
	size_t method;
	const struct sb_ynode **choices;
	size_t n_choices;
	const struct sb_ynode *checkpoint, *checkpoint_spec, *save_delta;
};

struct grid {
	const struct sb_spec_parse *ps;
	struct sb_spec *spec;
	struct origin *origins;
	size_t cap;
};

static bool sets_density(const struct sb_section *policy)
{
	return policy->node->kind == SB_YMAP &&
	       sb_ynode_get(policy->node, "density");
}

static bool before(const struct sb_ynode *a, const struct sb_ynode *b)
{
	return a->line < b->line || (a->line == b->line && a->col < b->col);
}

/* The node that gave the value `name` of a section in a run: an axis item,
 * the spec's scalar, or the section itself for a default. */
static const struct sb_ynode *value_node(const struct sb_section *sec,
					 const struct sb_axis *const *axes,
					 const size_t *pick, size_t n_axes,
					 const char *name)
{
	for (size_t a = 0; a < n_axes; a++)
		if (axes[a]->part == sec->part && !strcmp(axes[a]->label, name))
			return axes[a]->items[pick[a]];
	for (size_t i = 0; i < sec->base.n; i++)
		if (!strcmp(sec->base.v[i].name, name) && sec->src[i])
			return sec->src[i];
	return sec->node;
}

struct combo {
	size_t method;
	const struct sb_method *m;
	const struct sb_section *policy, *optimizer;
	const struct sb_section *model, *train; /* the method's, resolved */
	const struct sb_ynode *policy_node, *optimizer_node;
	const struct sb_axis **axes; /* in document order */
	const char **labels;
	char **owned_labels;
	size_t *pick; /* the item of each axis in this run */
	size_t n_axes;
};

static struct sb_values *part_values(struct sb_run_cfg *run, enum sb_part part)
{
	switch (part) {
	case SB_PART_DATASET:
		return &run->dataset_cfg;
	case SB_PART_MODEL:
		return &run->model_cfg;
	case SB_PART_POLICY:
		return &run->policy_cfg;
	case SB_PART_OPTIMIZER:
		return &run->optimizer_cfg;
	default:
		return &run->train_cfg;
	}
}

static void make_run(struct grid *g, const struct combo *c, const size_t *pick,
		     size_t seed_index)
{
	const struct sb_spec_parse *ps = g->ps;
	struct sb_spec *spec = g->spec;
	if (spec->n_runs == g->cap) {
		g->cap = g->cap ? 2 * g->cap : 16;
		spec->runs =
			sb_realloc(spec->runs, g->cap * sizeof *spec->runs);
		g->origins =
			sb_realloc(g->origins, g->cap * sizeof *g->origins);
	}
	struct sb_run_cfg *run = &spec->runs[spec->n_runs];
	struct origin *o = &g->origins[spec->n_runs];
	memset(run, 0, sizeof *run);
	memset(o, 0, sizeof *o);
	spec->n_runs++;

	run->dataset = ps->dataset.plugin;
	run->model = ps->model.plugin;
	run->policy = c->policy->plugin;
	run->optimizer = c->optimizer->plugin;
	sb_values_copy(&run->dataset_cfg, &ps->dataset.base);
	sb_values_copy(&run->model_cfg, &c->model->base);
	sb_values_copy(&run->policy_cfg, &c->policy->base);
	sb_values_copy(&run->optimizer_cfg, &c->optimizer->base);
	sb_values_copy(&run->train_cfg, &c->train->base);
	if (ps->density.n && !ps->density_swept && c->policy->scoped &&
	    !sets_density(c->policy)) {
		struct sb_value *d = (struct sb_value *)sb_values_get(
			&run->policy_cfg, "density");
		sb_value_copy(d, &ps->density.vals[0]);
	}
	for (size_t a = 0; a < c->n_axes; a++) {
		const struct sb_axis *ax = c->axes[a];
		struct sb_values *vals = part_values(run, ax->part);
		size_t index =
			ax == &ps->density
				? (size_t)(sb_values_get(vals, "density") -
					   vals->v)
				: ax->index;
		sb_value_copy(&vals->v[index], &ax->vals[pick[a]]);
	}
	run->seed = ps->seeds[seed_index];

	struct sb_strbuf setting = {0}, id = {0};
	sb_strbuf_printf(&setting, "%s", "");
	for (size_t a = 0; a < c->n_axes; a++) {
		sb_strbuf_printf(&setting, "%s%s=", a ? " " : "", c->labels[a]);
		put_setting(&setting, &c->axes[a]->vals[pick[a]]);
	}
	run->method = c->m->name ? sb_strdup(c->m->name)
				 : sb_asprintf("%s+%s", c->policy->name,
					       c->optimizer->name);
	sb_strbuf_printf(&id, "%s", run->method);
	for (size_t a = 0; a < c->n_axes; a++) {
		sb_strbuf_printf(&id, ",%s=", c->labels[a]);
		put_setting(&id, &c->axes[a]->vals[pick[a]]);
	}
	sb_strbuf_printf(&id, ",seed=%llu", (unsigned long long)run->seed);
	for (char *ch = id.s; *ch; ch++)
		if (*ch == '/')
			*ch = '_';
	run->setting = setting.s;
	run->id = id.s;

	sb_spec_run_yaml(run);

	o->method = c->method;
	o->n_choices = c->n_axes + 3;
	o->choices = sb_calloc(o->n_choices, sizeof *o->choices);
	o->choices[0] = c->policy_node;
	o->choices[1] = c->optimizer_node;
	for (size_t a = 0; a < c->n_axes; a++)
		o->choices[2 + a] = c->axes[a]->items[pick[a]];
	o->choices[2 + c->n_axes] = ps->seed_nodes[seed_index];
	o->checkpoint =
		value_node(c->model, c->axes, pick, c->n_axes, "checkpoint");
	o->checkpoint_spec = value_node(c->model, c->axes, pick, c->n_axes,
					"checkpoint_spec");
	o->save_delta =
		value_node(c->train, c->axes, pick, c->n_axes, "save_delta");
}

static void add_axes(struct combo *c, const struct sb_section *sec)
{
	for (size_t a = 0; a < sec->n_axes; a++)
		c->axes[c->n_axes++] = &sec->axes[a];
}

/* Collects the axes of one policy x optimizer in document order and names
 * them; a label two axes share is qualified by its part ("model.layers"). */
static void collect_axes(const struct sb_spec_parse *ps, struct combo *c)
{
	size_t most = ps->dataset.n_axes + c->model->n_axes + c->train->n_axes +
		      c->policy->n_axes + c->optimizer->n_axes + 1;
	c->axes = sb_calloc(most, sizeof *c->axes);
	c->labels = sb_calloc(most, sizeof *c->labels);
	c->owned_labels = sb_calloc(most, sizeof *c->owned_labels);
	c->pick = sb_calloc(most, sizeof *c->pick);
	c->n_axes = 0;
	add_axes(c, &ps->dataset);
	add_axes(c, c->model);
	add_axes(c, c->train);
	add_axes(c, c->policy);
	add_axes(c, c->optimizer);
	if (ps->density_swept && c->policy->scoped && !sets_density(c->policy))
		c->axes[c->n_axes++] = &ps->density;
	for (size_t i = 1; i < c->n_axes; i++) /* stable insertion sort */
		for (size_t j = i;
		     j > 0 && before(c->axes[j]->node, c->axes[j - 1]->node);
		     j--) {
			const struct sb_axis *t = c->axes[j];
			c->axes[j] = c->axes[j - 1];
			c->axes[j - 1] = t;
		}
	for (size_t a = 0; a < c->n_axes; a++) {
		bool shared = false;
		for (size_t b = 0; b < c->n_axes; b++)
			shared |= b != a &&
				  !strcmp(c->axes[a]->label, c->axes[b]->label);
		c->owned_labels[a] =
			shared ? sb_asprintf("%s.%s",
					     sb_part_names[c->axes[a]->part],
					     c->axes[a]->label)
			       : NULL;
		c->labels[a] = shared ? c->owned_labels[a] : c->axes[a]->label;
	}
}

static int expand_combo(struct grid *g, struct combo *c)
{
	const struct sb_spec_parse *ps = g->ps;
	collect_axes(ps, c);
	size_t total = ps->n_seeds;
	int rc = 0;
	for (size_t a = 0; a < c->n_axes && !rc; a++)
		if (!sb_mul_ok(total, c->axes[a]->n, &total) ||
		    total > MAX_RUNS)
			rc = -1;
	if (rc || g->spec->n_runs + total > MAX_RUNS) {
		rc = sb_yaml_error(ps->err, ps->path, c->m->node,
				   "the grid has more than %d runs", MAX_RUNS);
	} else {
		size_t *pick = c->pick;
		for (size_t r = 0; r < total / ps->n_seeds; r++) {
			for (size_t s = 0; s < ps->n_seeds; s++)
				make_run(g, c, pick, s);
			/* odometer: the last axis moves fastest */
			for (size_t a = c->n_axes; a-- > 0;) {
				if (++pick[a] < c->axes[a]->n)
					break;
				pick[a] = 0;
			}
		}
	}
	for (size_t a = 0; a < c->n_axes; a++)
		free(c->owned_labels[a]);
	free(c->owned_labels);
	free(c->labels);
	free(c->axes);
	free(c->pick);
	return rc;
}

struct keyed {
	const char *id;
	size_t run;
};

static int compare_ids(const void *a, const void *b)
{
	const struct keyed *x = a, *y = b;
	int c = strcmp(x->id, y->id);
	return c ? c : (x->run > y->run) - (x->run < y->run);
}

/* The first run whose id an earlier run has, reported at the choice that
 * differs (another method: that method). */
static int check_duplicates(const struct grid *g)
{
	const struct sb_spec *spec = g->spec;
	size_t n = spec->n_runs;
	struct keyed *order = sb_calloc(n, sizeof *order);
	for (size_t i = 0; i < n; i++)
		order[i] = (struct keyed){spec->runs[i].id, i};
	qsort(order, n, sizeof *order, compare_ids);
	/* in each group of equal ids (sorted by run), its first two runs */
	size_t first = SIZE_MAX, dup = SIZE_MAX;
	for (size_t k = 1; k < n; k++) {
		if (strcmp(order[k - 1].id, order[k].id) ||
		    (k > 1 && !strcmp(order[k - 2].id, order[k].id)))
			continue;
		if (dup == SIZE_MAX || order[k].run < dup) {
			first = order[k - 1].run;
			dup = order[k].run;
		}
	}
	free(order);
	if (dup == SIZE_MAX)
		return 0;
	const struct origin *a = &g->origins[first], *b = &g->origins[dup];
	const struct sb_ynode *at = g->ps->methods[b->method].node;
	if (a->method == b->method || !g->ps->methods_form) {
		size_t m = a->n_choices < b->n_choices ? a->n_choices
						       : b->n_choices;
		for (size_t k = 0; k < m; k++)
			if (a->choices[k] != b->choices[k] && b->choices[k]) {
				at = b->choices[k];
				break;
			}
	}
	return sb_yaml_error(g->ps->err, g->ps->path, at,
			     "duplicate run id '%s'", spec->runs[dup].id);
}

/* Files the runs need, checked once per distinct config. */
static int check_files(const struct grid *g)
{
	const struct sb_spec_parse *ps = g->ps;
	const struct sb_spec *spec = g->spec;
	const struct sb_dataset *dataset = ps->dataset.plugin;
	char **seen = sb_calloc(spec->n_runs, sizeof *seen);
	size_t n_seen = 0;
	int rc = 0;
	for (size_t r = 0; r < spec->n_runs && !rc; r++) {
		const struct sb_run_cfg *run = &spec->runs[r];
		const struct origin *o = &g->origins[r];
		const char *ckpt = sb_values_str(&run->model_cfg, "checkpoint");
		const char *maker =
			sb_values_str(&run->model_cfg, "checkpoint_spec");
		if (*maker && access(maker, R_OK)) {
			rc = sb_yaml_error(
				ps->err, ps->path, o->checkpoint_spec,
				"checkpoint_spec '%s' not found", maker);
			break;
		}
		if (*ckpt && !*maker && access(ckpt, R_OK)) {
			rc = sb_yaml_error(ps->err, ps->path, o->checkpoint,
					   "checkpoint '%s' not found (and no "
					   "'checkpoint_spec' to make it)",
					   ckpt);
			break;
		}
		if (!dataset->check)
			continue;
		struct sb_strbuf text = {0};
		put_part(&text, "dataset", ps->dataset.name, &run->dataset_cfg);
		bool done = false;
		for (size_t k = 0; k < n_seen && !done; k++)
			done = !strcmp(seen[k], text.s);
		if (done) {
			free(text.s);
			continue;
		}
		seen[n_seen++] = text.s;
		struct sb_error check_err = {{0}};
		if (dataset->check(&run->dataset_cfg, &check_err))
			rc = sb_yaml_error(ps->err, ps->path, ps->dataset.node,
					   "%s", check_err.msg);
	}
	for (size_t k = 0; k < n_seen; k++)
		free(seen[k]);
	free(seen);
	return rc;
}

char *sb_run_path(const char *pattern, const struct sb_run_cfg *run)
{
	struct sb_strbuf buf = {0};
	sb_strbuf_printf(&buf, "%s", "");
	for (const char *p = pattern; *p;) {
		const char *at = strstr(p, "{id}");
		if (!at) {
			sb_strbuf_printf(&buf, "%s", p);
			break;
		}
		sb_strbuf_printf(&buf, "%.*s%s", (int)(at - p), p, run->id);
		p = at + strlen("{id}");
	}
	return buf.s;
}

/* The folder of a path exists. */
static bool folder_exists(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash ? sb_asprintf("%.*s", slash == path ? 1 :
					(int)(slash - path), path)
			  : sb_strdup(".");
	struct stat st;
	bool yes = stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
	free(dir);
	return yes;
}

/* save_delta: a base checkpoint to compare with, an existing folder, and
 * a file of its own for every run (docs/deltas.md). */
static int check_deltas(const struct grid *g)
{
	const struct sb_spec *spec = g->spec;
	struct keyed *paths = sb_calloc(spec->n_runs + 1, sizeof *paths);
	size_t n = 0;
	int rc = 0;
	for (size_t r = 0; r < spec->n_runs && !rc; r++) {
		const struct sb_run_cfg *run = &spec->runs[r];
		const char *pattern = sb_values_str(&run->train_cfg,
						    "save_delta");
		const struct sb_ynode *at = g->origins[r].save_delta;
		if (!*pattern)
			continue;
		char *path = sb_run_path(pattern, run);
		paths[n++] = (struct keyed){path, r};
		if (!*sb_values_str(&run->model_cfg, "checkpoint"))
			rc = sb_yaml_error(g->ps->err, g->ps->path, at,
					   "save_delta needs a base to compare "
					   "with: run '%s' has no model "
					   "checkpoint", run->id);
		else if (!folder_exists(path))
			rc = sb_yaml_error(g->ps->err, g->ps->path, at,
					   "save_delta '%s': its folder does "
					   "not exist", path);
	}
	if (!rc)
		qsort(paths, n, sizeof *paths, compare_ids);
	for (size_t k = 1; k < n && !rc; k++)
		if (!strcmp(paths[k - 1].id, paths[k].id))
			rc = sb_yaml_error(
				g->ps->err, g->ps->path,
				g->origins[paths[k].run].save_delta,
				"save_delta '%s' is the same file for runs "
				"'%s' and '%s' (put {id} in it)", paths[k].id,
				spec->runs[paths[k - 1].run].id,
				spec->runs[paths[k].run].id);
	for (size_t k = 0; k < n; k++)
		free((char *)paths[k].id);
	free(paths);
	return rc;
}

int sb_grid_expand(const struct sb_spec_parse *ps, struct sb_spec *spec)
{
	struct grid g = {.ps = ps, .spec = spec};
	int rc = 0;
	for (size_t mi = 0; mi < ps->n_methods && !rc; mi++) {
		const struct sb_method *m = &ps->methods[mi];
		for (size_t pi = 0; pi < m->n_policies && !rc; pi++)
			for (size_t oi = 0; oi < m->n_optimizers && !rc; oi++) {
				struct combo c = {
					.method = mi,
					.m = m,
					.policy = &m->policies[pi],
					.optimizer = &m->optimizers[oi],
					.model = m->model.decl ? &m->model
							       : &ps->model,
					.train = m->train.decl ? &m->train
							       : &ps->train,
					.policy_node = m->policies[pi].node,
					.optimizer_node =
						m->optimizers[oi].node,
				};
				rc = expand_combo(&g, &c);
			}
	}
	if (!rc)
		rc = check_duplicates(&g);
	if (!rc)
		rc = check_files(&g);
	if (!rc)
		rc = check_deltas(&g);
	for (size_t r = 0; r < spec->n_runs; r++)
		free(g.origins[r].choices);
	free(g.origins);
	return rc;
}
