/* spec.c - experiment specs (docs/spec.md): reads the YAML file, checks every
 * key, type and range against the parameters the core and each plugin
 * declare, applies each method's own model and train values over the
 * top-level ones, and hands the resolved sections to the grid (grid.c). */
#include "spec/params.h"
#include "registry.h"
#include "spec/spec_priv.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const sb_part_names[SB_N_PARTS] = {
	"dataset", "model", "policy", "optimizer", "train",
};

static const char *const top_keys[] = {
	"name",	   "description", "dataset", "model",  "train",
	"seeds",   "seed",	  "density", "policy", "optimizer",
	"methods", "plots",	  NULL,
};

static const char *const method_keys[] = {
	"name", "policy", "optimizer", "model", "train", NULL,
};

/* Pairs of top-level keys that exclude each other. */
static const char *const conflicts[][2] = {
	{"seed", "seeds"},
	{"methods", "policy"},
	{"methods", "optimizer"},
};

/* ---- plugins by family ------------------------------------------------- */

/* The plugin family a part of the config names (the train part: none). */
static enum sb_family family_of(enum sb_part part)
{
	static const enum sb_family families[] = {
		[SB_PART_DATASET] = SB_FAMILY_DATASET,
		[SB_PART_MODEL] = SB_FAMILY_MODEL,
		[SB_PART_POLICY] = SB_FAMILY_POLICY,
		[SB_PART_OPTIMIZER] = SB_FAMILY_OPTIMIZER,
	};
	sb_assert(part != SB_PART_TRAIN && part < SB_N_PARTS,
		  "a part of the config that names a plugin");
	return families[part];
}

/* "a, b, c": the registered names of a family, in registry (sorted) order. */
static char *known_plugins(enum sb_family family)
{
	struct sb_strbuf buf = {0};
	sb_strbuf_printf(&buf, "%s", "");
	for (size_t i = 0; i < sb_registry_count(family); i++)
		sb_strbuf_printf(&buf, "%s%s", i ? ", " : "",
				 sb_registry_plugin(family, i).name);
	return buf.s;
}

/* The core's table in front of the plugin's, {0}-ended. */
static struct sb_param *merge_decl(const struct sb_param *core,
				   const struct sb_param *own)
{
	size_t nc = 0, no = 0;
	while (core && core[nc].name)
		nc++;
	while (own && own[no].name)
		no++;
	struct sb_param *decl = sb_calloc(nc + no + 1, sizeof *decl);
	for (size_t i = 0; i < nc; i++)
		decl[i] = core[i];
	for (size_t i = 0; i < no; i++)
		decl[nc + i] = own[i];
	return decl;
}

/* ---- sections ----------------------------------------------------------- */

static void section_release(struct sb_section *sec)
{
	for (size_t a = 0; a < sec->n_axes; a++)
		sb_spec_axis_release(&sec->axes[a]);
	free(sec->axes);
	sb_values_release(&sec->base);
	free(sec->src);
	free(sec->decl);
	memset(sec, 0, sizeof *sec);
}

/* The index of the declared parameter `name` in a section, or SIZE_MAX. */
static size_t param_index(const struct sb_section *sec, const char *name)
{
	for (size_t j = 0; j < sec->base.n; j++)
		if (!strcmp(sec->decl[j].name, name))
			return j;
	return SIZE_MAX;
}

static int parse_param(const struct sb_spec_parse *ps, struct sb_section *sec,
		       size_t idx, const struct sb_ynode *node)
{
	const struct sb_param *p = &sec->decl[idx];
	bool sweep;
	if (sb_spec_is_sweep(ps, p, node, &sweep))
		return -1;
	if (!sweep) {
		sb_value_clear(&sec->base.v[idx]);
		sec->src[idx] = node;
		return sb_spec_value(ps, p, node, &sec->base.v[idx]);
	}
	sec->axes =
		sb_realloc(sec->axes, (sec->n_axes + 1) * sizeof *sec->axes);
	struct sb_axis *axis = &sec->axes[sec->n_axes++];
	memset(axis, 0, sizeof *axis);
	axis->part = sec->part;
	axis->index = idx;
	return sb_spec_axis(ps, p, node, axis);
}

/* A plugin section (`dataset: synthetic`, `{name: mlp, hidden: 64}`), or
 * the train section (a mapping or nothing: node NULL). */
static int parse_section(const struct sb_spec_parse *ps, struct sb_section *sec,
			 enum sb_part part, const struct sb_ynode *node,
			 const char *key)
{
	memset(sec, 0, sizeof *sec);
	sec->part = part;
	sec->node = node;
	const struct sb_ynode *map =
		node && node->kind == SB_YMAP ? node : NULL;
	const struct sb_param *core = sb_train_params, *own = NULL;
	if (part == SB_PART_TRAIN) {
		char got[256];
		if (node && !map && !sb_ynode_is_null(node))
			return sb_spec_fail(
				ps, node, "expected a mapping for '%s', got %s",
				key, sb_spec_found(node, got, sizeof got));
	} else {
		const struct sb_ynode *name = node;
		if (map) {
			name = sb_ynode_get(map, "name");
			if (!name)
				return sb_spec_fail(
					ps, map,
					"missing 'name' in the %s mapping",
					sb_part_names[part]);
		}
		if (name->kind != SB_YSCALAR || sb_ynode_is_null(name))
			return sb_spec_fail(
				ps, name,
				"expected a name or a mapping for '%s'", key);
		struct sb_plugin plugin;
		if (!sb_registry_find(family_of(part), name->text, &plugin)) {
			char *known = known_plugins(family_of(part));
			sb_spec_fail(ps, name, "unknown %s '%s' (known: %s)",
				     sb_part_names[part], name->text, known);
			free(known);
			return -1;
		}
		sec->name = name->text;
		sec->plugin = plugin.desc;
		sec->scoped = plugin.scoped;
		own = plugin.params;
		core = sb_params_core(&plugin);
	}
	sec->decl = merge_decl(core, own);
	if (sb_values_defaults(&sec->base, sec->decl, ps->err))
		return -1;
	sec->src = sb_calloc(sec->base.n + 1, sizeof *sec->src);
	for (size_t i = 0; map && i < map->n; i++) {
		const struct sb_ynode *k = map->keys[i];
		if (sec->name && !strcmp(k->text, "name"))
			continue;
		size_t idx = param_index(sec, k->text);
		if (idx == SIZE_MAX)
			return sb_spec_section_unknown_key(ps, sec, k);
		if (parse_param(ps, sec, idx, map->items[i]))
			return -1;
	}
	for (size_t j = 0; j < sec->base.n; j++) {
		if (sec->decl[j].def || sec->src[j])
			continue;
		bool swept = false;
		for (size_t a = 0; a < sec->n_axes; a++)
			swept |= sec->axes[a].index == j;
		if (!swept)
			return sb_spec_fail(
				ps, node, "missing '%s' (required by %s '%s')",
				sec->decl[j].name, sb_part_names[part],
				sec->name);
	}
	return 0;
}

/* `policy:` or `optimizer:`: one plugin, or a list of them (an axis). */
static int parse_plugins(const struct sb_spec_parse *ps, enum sb_part part,
			 const struct sb_ynode *node, const char *key,
			 struct sb_section **out, size_t *n_out)
{
	const struct sb_ynode *const *items =
		(const struct sb_ynode *const *)node->items;
	size_t n = node->n;
	if (node->kind != SB_YSEQ) {
		items = &node;
		n = 1;
	} else if (!n) {
		return sb_spec_fail(ps, node, "empty list for '%s'", key);
	}
	*out = sb_calloc(n, sizeof **out);
	for (size_t j = 0; j < n; j++) {
		*n_out = j + 1;
		if (items[j]->kind == SB_YSEQ)
			return sb_spec_fail(
				ps, items[j],
				"expected a name or a mapping for '%s'", key);
		if (parse_section(ps, &(*out)[j], part, items[j], key))
			return -1;
	}
	return 0;
}

static void method_release(struct sb_method *m)
{
	section_release(&m->model);
	section_release(&m->train);
	for (size_t j = 0; j < m->n_policies; j++)
		section_release(&m->policies[j]);
	for (size_t j = 0; j < m->n_optimizers; j++)
		section_release(&m->optimizers[j]);
	free(m->policies);
	free(m->optimizers);
}

static bool name_ok(const char *s, const char *extra)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!(*s >= 'a' && *s <= 'z') && !(*s >= 'A' && *s <= 'Z') &&
		    !(*s >= '0' && *s <= '9') && *s != '_' && *s != '.' &&
		    *s != '-' && !strchr(extra, *s))
			return false;
	return true;
}

static struct sb_method *add_method(struct sb_spec_parse *ps)
{
	ps->methods = sb_realloc(ps->methods,
				 (ps->n_methods + 1) * sizeof *ps->methods);
	struct sb_method *m = &ps->methods[ps->n_methods++];
	memset(m, 0, sizeof *m);
	return m;
}

static int parse_method(struct sb_spec_parse *ps, const struct sb_ynode *node)
{
	char got[256];
	if (node->kind != SB_YMAP)
		return sb_spec_fail(ps, node,
				    "expected a mapping with 'policy' and "
				    "'optimizer' for a method, got %s",
				    sb_spec_found(node, got, sizeof got));
	struct sb_method *m = add_method(ps);
	m->node = node;
	for (size_t i = 0; i < node->n; i++) {
		const struct sb_ynode *k = node->keys[i], *v = node->items[i];
		if (sb_spec_index_of(k->text, method_keys) == SIZE_MAX)
			return sb_spec_unknown_key(
				ps, k, method_keys,
				sb_spec_count_names(method_keys), " in method");
		if (!strcmp(k->text, "name")) {
			if (v->kind != SB_YSCALAR || !name_ok(v->text, "+"))
				return sb_spec_fail(
					ps, v,
					"method name must match "
					"[A-Za-z0-9_.+-]+, got %s",
					sb_spec_found(v, got, sizeof got));
			m->name = v->text;
		} else if (!strcmp(k->text, "model")) {
			m->model_node = v; /* parsed after the top level */
		} else if (!strcmp(k->text, "train")) {
			m->train_node = v;
		} else if (!strcmp(k->text, "policy")) {
			if (parse_plugins(ps, SB_PART_POLICY, v, "policy",
					  &m->policies, &m->n_policies))
				return -1;
		} else if (parse_plugins(ps, SB_PART_OPTIMIZER, v, "optimizer",
					 &m->optimizers, &m->n_optimizers)) {
			return -1;
		}
	}
	if (!m->n_policies)
		return sb_spec_fail(ps, node, "missing 'policy' in method");
	if (!m->n_optimizers)
		return sb_spec_fail(ps, node, "missing 'optimizer' in method");
	return 0;
}

/* Drops a section's axes of parameter idx. */
static void drop_axes(struct sb_section *sec, size_t idx)
{
	size_t kept = 0;
	for (size_t a = 0; a < sec->n_axes; a++) {
		if (sec->axes[a].index == idx)
			sb_spec_axis_release(&sec->axes[a]);
		else
			sec->axes[kept++] = sec->axes[a];
	}
	sec->n_axes = kept;
}

/* A method's `model:` or `train:`: the top-level section `top` with the
 * method's values applied. Each key the method gives replaces the top-level
 * value or sweep of that key; a `name:` must repeat the top-level model's. */
static int parse_override(const struct sb_spec_parse *ps,
			  struct sb_section *sec, const struct sb_section *top,
			  const struct sb_ynode *node, const char *key)
{
	char got[256];
	memset(sec, 0, sizeof *sec);
	if (node->kind != SB_YMAP && !sb_ynode_is_null(node))
		return sb_spec_fail(
			ps, node, "expected a mapping for '%s' in method, got %s",
			key, sb_spec_found(node, got, sizeof got));
	sec->part = top->part;
	sec->name = top->name;
	sec->plugin = top->plugin;
	sec->node = top->node;
	sec->decl = merge_decl(top->decl, NULL);
	sb_values_copy(&sec->base, &top->base);
	sec->src = sb_calloc(top->base.n + 1, sizeof *sec->src);
	memcpy(sec->src, top->src, top->base.n * sizeof *sec->src);
	sec->axes = sb_calloc(top->n_axes, sizeof *sec->axes);
	for (size_t a = 0; a < top->n_axes; a++, sec->n_axes++)
		sb_spec_axis_copy(&sec->axes[a], &top->axes[a]);
	for (size_t i = 0; node->kind == SB_YMAP && i < node->n; i++) {
		const struct sb_ynode *k = node->keys[i], *v = node->items[i];
		if (sec->name && !strcmp(k->text, "name")) {
			if (v->kind != SB_YSCALAR)
				return sb_spec_fail(
					ps, v,
					"expected the top-level model's name "
					"'%s' for 'name', got %s",
					sec->name,
					sb_spec_found(v, got, sizeof got));
			if (strcmp(v->text, sec->name))
				return sb_spec_fail(
					ps, v,
					"model '%s' differs from the top-level "
					"model '%s' (the model plugin cannot "
					"change within an experiment)",
					v->text, sec->name);
			continue;
		}
		size_t idx = param_index(sec, k->text);
		if (idx == SIZE_MAX)
			return sb_spec_section_unknown_key(ps, sec, k);
		drop_axes(sec, idx);
		if (parse_param(ps, sec, idx, v))
			return -1;
	}
	return 0;
}

/* The methods' own model and train values, over the top-level sections. */
static int parse_overrides(struct sb_spec_parse *ps)
{
	for (size_t j = 0; j < ps->n_methods; j++) {
		struct sb_method *m = &ps->methods[j];
		if (m->model_node && parse_override(ps, &m->model, &ps->model,
						    m->model_node, "model"))
			return -1;
		if (m->train_node && parse_override(ps, &m->train, &ps->train,
						    m->train_node, "train"))
			return -1;
	}
	return 0;
}

static int parse_methods(struct sb_spec_parse *ps, const struct sb_ynode *node)
{
	char got[256];
	if (node->kind != SB_YSEQ)
		return sb_spec_fail(
			ps, node,
			"expected a list of methods for 'methods', got %s",
			sb_spec_found(node, got, sizeof got));
	if (!node->n)
		return sb_spec_fail(ps, node, "empty list for 'methods'");
	ps->methods_form = true;
	for (size_t j = 0; j < node->n; j++)
		if (parse_method(ps, node->items[j]))
			return -1;
	return 0;
}

/* ---- top-level scalars -------------------------------------------------- */

static int parse_seed(const struct sb_spec_parse *ps,
		      const struct sb_ynode *node, const char *key,
		      uint64_t *seed)
{
	char got[256];
	const char *t = node->text;
	bool ok = node->kind == SB_YSCALAR && t[0] >= '0' && t[0] <= '9' &&
		  strspn(t, "0123456789") == strlen(t);
	if (ok) {
		errno = 0;
		unsigned long long v = strtoull(t, NULL, 10);
		ok = !errno;
		*seed = (uint64_t)v;
	}
	if (!ok)
		return sb_spec_fail(
			ps, node,
			"expected a non-negative integer for '%s', got %s", key,
			sb_spec_found(node, got, sizeof got));
	return 0;
}

static int parse_seeds(struct sb_spec_parse *ps, const struct sb_ynode *node,
		       const char *key)
{
	const struct sb_ynode *const *items =
		(const struct sb_ynode *const *)node->items;
	size_t n = node->n;
	if (node->kind == SB_YSEQ && !strcmp(key, "seeds")) {
		if (!n)
			return sb_spec_fail(ps, node, "empty list for '%s'",
					    key);
	} else {
		items = &node;
		n = 1;
	}
	ps->seeds = sb_calloc(n, sizeof *ps->seeds);
	ps->seed_nodes = sb_calloc(n, sizeof *ps->seed_nodes);
	ps->n_seeds = n;
	for (size_t j = 0; j < n; j++) {
		ps->seed_nodes[j] = items[j];
		if (parse_seed(ps, items[j], key, &ps->seeds[j]))
			return -1;
	}
	return 0;
}

static const struct sb_param *scope_param(const char *name)
{
	for (size_t i = 0; sb_scope_params[i].name; i++)
		if (!strcmp(sb_scope_params[i].name, name))
			return &sb_scope_params[i];
	return NULL;
}

static int parse_density(struct sb_spec_parse *ps, const struct sb_ynode *node)
{
	const struct sb_param *p = scope_param("density");
	struct sb_axis *axis = &ps->density;
	axis->part = SB_PART_POLICY;
	if (node->kind == SB_YSEQ) {
		ps->density_swept = true;
		return sb_spec_axis(ps, p, node, axis);
	}
	axis->label = p->name;
	axis->node = node;
	axis->vals = sb_calloc(1, sizeof *axis->vals);
	axis->items = sb_calloc(1, sizeof *axis->items);
	axis->items[0] = node;
	axis->n = 1;
	return sb_spec_value(ps, p, node, &axis->vals[0]);
}

static int parse_plots(struct sb_spec_parse *ps, const struct sb_ynode *node,
		       struct sb_spec *spec)
{
	const struct sb_ynode *const *items =
		(const struct sb_ynode *const *)node->items;
	size_t n = node->n;
	if (node->kind != SB_YSEQ) {
		items = &node;
		n = 1;
	}
	spec->plots = sb_calloc(n, sizeof *spec->plots);
	for (size_t j = 0; j < n; j++) {
		const struct sb_ynode *it = items[j];
		if (it->kind != SB_YSCALAR ||
		    sb_spec_index_of(it->text, sb_plot_names) == SIZE_MAX) {
			char *known = sb_spec_join(
				sb_plot_names,
				sb_spec_count_names(sb_plot_names), ", ");
			char got[256];
			sb_spec_fail(ps, it, "unknown plot %s (known: %s)",
				     sb_spec_found(it, got, sizeof got), known);
			free(known);
			return -1;
		}
		spec->plots[spec->n_plots++] = sb_strdup(it->text);
	}
	return 0;
}

/* ---- the whole spec ------------------------------------------------------ */

static int parse_key(struct sb_spec_parse *ps, struct sb_spec *spec,
		     const struct sb_ynode *key, const struct sb_ynode *v)
{
	char got[256];
	const char *k = key->text;
	if (!strcmp(k, "name")) {
		if (v->kind != SB_YSCALAR || !name_ok(v->text, ""))
			return sb_spec_fail(
				ps, v,
				"'name' must match [A-Za-z0-9_.-]+, got %s",
				sb_spec_found(v, got, sizeof got));
		free(spec->name);
		spec->name = sb_strdup(v->text);
	} else if (!strcmp(k, "description")) {
		if (v->kind != SB_YSCALAR)
			return sb_spec_fail(
				ps, v,
				"expected text for 'description', got %s",
				sb_spec_found(v, got, sizeof got));
		free(spec->description);
		spec->description = sb_strdup(v->text);
	} else if (!strcmp(k, "dataset")) {
		return parse_section(ps, &ps->dataset, SB_PART_DATASET, v, k);
	} else if (!strcmp(k, "model")) {
		return parse_section(ps, &ps->model, SB_PART_MODEL, v, k);
	} else if (!strcmp(k, "train")) {
		return parse_section(ps, &ps->train, SB_PART_TRAIN, v, k);
	} else if (!strcmp(k, "seed") || !strcmp(k, "seeds")) {
		return parse_seeds(ps, v, k);
	} else if (!strcmp(k, "density")) {
		return parse_density(ps, v);
	} else if (!strcmp(k, "methods")) {
		return parse_methods(ps, v);
	} else if (!strcmp(k, "plots")) {
		return parse_plots(ps, v, spec);
	} else {
		/* policy or optimizer: the one method of the top-level form */
		struct sb_method *m =
			ps->n_methods ? &ps->methods[0] : add_method(ps);
		if (!strcmp(k, "policy")) {
			m->node = v;
			return parse_plugins(ps, SB_PART_POLICY, v, k,
					     &m->policies, &m->n_policies);
		}
		return parse_plugins(ps, SB_PART_OPTIMIZER, v, k,
				     &m->optimizers, &m->n_optimizers);
	}
	return 0;
}

/* A key before the i-th of the root that excludes it, or NULL. */
static const char *conflicting(const struct sb_ynode *root, size_t i)
{
	const char *key = root->keys[i]->text;
	for (size_t c = 0; c < sizeof conflicts / sizeof *conflicts; c++) {
		for (size_t side = 0; side < 2; side++) {
			if (strcmp(key, conflicts[c][side]))
				continue;
			const char *other = conflicts[c][!side];
			for (size_t j = 0; j < i; j++)
				if (!strcmp(root->keys[j]->text, other))
					return other;
		}
	}
	return NULL;
}

static int parse_top(struct sb_spec_parse *ps, struct sb_spec *spec)
{
	const struct sb_ynode *root = ps->doc.root;
	if (root->kind != SB_YMAP)
		return sb_spec_fail(ps, root,
				    "expected a mapping at the top level");
	for (size_t i = 0; i < root->n; i++) {
		const struct sb_ynode *key = root->keys[i];
		if (sb_spec_index_of(key->text, top_keys) == SIZE_MAX)
			return sb_spec_unknown_key(
				ps, key, top_keys,
				sb_spec_count_names(top_keys), "");
		const char *other = conflicting(root, i);
		if (other)
			return sb_spec_fail(ps, key, "both '%s' and '%s' given",
					    other, key->text);
		if (parse_key(ps, spec, key, root->items[i]))
			return -1;
	}
	if (!ps->dataset.node)
		return sb_spec_fail(ps, root, "missing section 'dataset'");
	if (!ps->model.node)
		return sb_spec_fail(ps, root, "missing section 'model'");
	if (!ps->methods_form) {
		if (!ps->n_methods || !ps->methods[0].n_policies)
			return sb_spec_fail(
				ps, root,
				"missing section 'policy' (or 'methods')");
		if (!ps->methods[0].n_optimizers)
			return sb_spec_fail(
				ps, root,
				"missing section 'optimizer' (or 'methods')");
	}
	if (!ps->train.decl &&
	    parse_section(ps, &ps->train, SB_PART_TRAIN, NULL, "train"))
		return -1;
	if (!ps->n_seeds) {
		ps->seeds = sb_calloc(1, sizeof *ps->seeds);
		ps->seed_nodes = sb_calloc(1, sizeof *ps->seed_nodes);
		ps->n_seeds = 1;
	}
	return parse_overrides(ps);
}

static int read_file(const char *path, char **text, size_t *len,
		     struct sb_error *err)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return sb_error(err, "cannot read '%s': %s", path,
				strerror(errno));
	struct sb_strbuf buf = {0};
	sb_strbuf_printf(&buf, "%s", "");
	char chunk[65536];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
		if (buf.len + n + 1 > buf.cap) {
			buf.cap = 2 * (buf.len + n + 1);
			buf.s = sb_realloc(buf.s, buf.cap);
		}
		memcpy(buf.s + buf.len, chunk, n);
		buf.len += n;
		buf.s[buf.len] = '\0';
	}
	int bad = ferror(f);
	int saved = errno;
	fclose(f);
	if (bad) {
		free(buf.s);
		return sb_error(err, "cannot read '%s': %s", path,
				strerror(saved));
	}
	*text = buf.s;
	*len = buf.len;
	return 0;
}

/* The file's name without folder and last extension, made name-safe. */
static char *file_stem(const char *path)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	char *stem = sb_strdup(base);
	char *dot = strrchr(stem, '.');
	if (dot && dot != stem)
		*dot = '\0';
	for (char *c = stem; *c; c++)
		if (!name_ok((char[]){*c, 0}, ""))
			*c = '_';
	if (!*stem) {
		free(stem);
		stem = sb_strdup("spec");
	}
	return stem;
}

static void parse_release(struct sb_spec_parse *ps)
{
	section_release(&ps->dataset);
	section_release(&ps->model);
	section_release(&ps->train);
	sb_spec_axis_release(&ps->density);
	for (size_t m = 0; m < ps->n_methods; m++)
		method_release(&ps->methods[m]);
	free(ps->methods);
	free(ps->seeds);
	free(ps->seed_nodes);
	sb_yaml_release(&ps->doc);
}

static bool map_has(const struct sb_ynode *node, const char *key)
{
	return node && node->kind == SB_YMAP && sb_ynode_get(node, key);
}

static bool sets_threads(const struct sb_spec_parse *ps)
{
	bool given = map_has(ps->train.node, "threads");
	for (size_t m = 0; m < ps->n_methods; m++)
		given |= map_has(ps->methods[m].train_node, "threads");
	return given;
}

int sb_spec_load(struct sb_spec *spec, const char *path, struct sb_error *err)
{
	memset(spec, 0, sizeof *spec);
	size_t len;
	if (read_file(path, &spec->text, &len, err))
		return -1;
	spec->path = sb_strdup(path);
	struct sb_spec_parse ps = {.path = path, .err = err};
	int rc = sb_yaml_load(&ps.doc, spec->text, len, path, err);
	if (!rc)
		rc = parse_top(&ps, spec);
	if (!rc)
		rc = sb_grid_expand(&ps, spec);
	if (!rc)
		spec->threads_given = sets_threads(&ps);
	parse_release(&ps);
	if (rc) {
		sb_spec_release(spec);
		return -1;
	}
	if (!spec->name)
		spec->name = file_stem(path);
	if (!spec->description)
		spec->description = sb_strdup("");
	return 0;
}

void sb_spec_release(struct sb_spec *spec)
{
	for (size_t r = 0; r < spec->n_runs; r++) {
		struct sb_run_cfg *run = &spec->runs[r];
		free(run->id);
		free(run->method);
		free(run->setting);
		sb_values_release(&run->dataset_cfg);
		sb_values_release(&run->model_cfg);
		sb_values_release(&run->policy_cfg);
		sb_values_release(&run->optimizer_cfg);
		sb_values_release(&run->train_cfg);
		free(run->config_yaml);
	}
	free(spec->runs);
	for (size_t p = 0; p < spec->n_plots; p++)
		free(spec->plots[p]);
	free(spec->plots);
	free(spec->path);
	free(spec->text);
	free(spec->name);
	free(spec->description);
	memset(spec, 0, sizeof *spec);
}

/* config_yaml holds one line "train: {..., threads: N, ...}" (grid.c's
 * put_part): N is replaced in place. */
static void set_config_threads(struct sb_run_cfg *run, long threads)
{
	char *train = strstr(run->config_yaml, "\ntrain: {");
	char *at = train ? strstr(train, "threads: ") : NULL;
	char *eol = train ? strchr(train + 1, '\n') : NULL;
	if (!at || (eol && at > eol))
		return;
	at += strlen("threads: ");
	size_t digits = strspn(at, "0123456789");
	char *yaml = sb_asprintf("%.*s%ld%s", (int)(at - run->config_yaml),
				 run->config_yaml, threads, at + digits);
	free(run->config_yaml);
	run->config_yaml = yaml;
}

void sb_spec_default_threads(struct sb_spec *spec, long threads)
{
	if (spec->threads_given || threads < 1)
		return;
	char text[32];
	snprintf(text, sizeof text, "%ld", threads > 256 ? 256 : threads);
	for (size_t r = 0; r < spec->n_runs; r++) {
		struct sb_error err;
		struct sb_run_cfg *run = &spec->runs[r];
		sb_assert(!sb_values_set(&run->train_cfg, "threads", text, &err),
			  "threads within its declared range");
		set_config_threads(run, sb_values_int(&run->train_cfg,
						      "threads"));
	}
}
