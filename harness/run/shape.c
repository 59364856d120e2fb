/* shape.c - the model's shape from its checkpoint (shape.h). The checkpoint
 * says which model it holds and that model's parameters (io/checkpoint.h:
 * an HDF5 checkpoint's stored config, llm.c's header); the model declares
 * which of its parameters a checkpoint fixes (sb_param.from_checkpoint);
 * the spec records which values it gave (sb_value.line). */
#include "run/shape.h"
#include "io/checkpoint.h"
#include "spec/yaml_tree.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* One checkpoint read: its `model:` mapping (NULL when it has none or was
 * written for another model than `model`). */
struct source {
	char *path;
	const struct sb_model *model;
	struct sb_checkpoint_config cfg;
	struct sb_ydoc doc;
	const struct sb_ynode *map;
	bool noted;
};

struct sources {
	struct source *s;
	size_t n;
};

static void sources_release(struct sources *all)
{
	for (size_t i = 0; i < all->n; i++) {
		free(all->s[i].path);
		sb_checkpoint_config_release(&all->s[i].cfg);
		if (all->s[i].doc.root)
			sb_yaml_release(&all->s[i].doc);
	}
	free(all->s);
	memset(all, 0, sizeof *all);
}

static int source_open(struct source *src, struct sb_error *err)
{
	if (sb_checkpoint_config(src->path, &src->cfg, err))
		return -1;
	if (strcmp(src->cfg.model, src->model->name) || !*src->cfg.yaml)
		return 0;
	char *where = sb_asprintf("%s (its config)", src->path);
	int rc = sb_yaml_load(&src->doc, src->cfg.yaml,
			      strlen(src->cfg.yaml), where, err);
	free(where);
	if (rc)
		return -1;
	const struct sb_ynode *map =
		src->doc.root->kind == SB_YMAP
			? sb_ynode_get(src->doc.root, "model") : NULL;
	src->map = map && map->kind == SB_YMAP ? map : NULL;
	return 0;
}

/* The checkpoint at path as read for model, read once. */
static struct source *source_get(struct sources *all, const char *path,
				 const struct sb_model *model,
				 struct sb_error *err)
{
	for (size_t i = 0; i < all->n; i++)
		if (!strcmp(all->s[i].path, path) && all->s[i].model == model)
			return &all->s[i];
	all->s = sb_realloc(all->s, (all->n + 1) * sizeof *all->s);
	struct source *src = &all->s[all->n++];
	memset(src, 0, sizeof *src);
	src->path = sb_strdup(path);
	src->model = model;
	return source_open(src, err) ? NULL : src;
}

bool sb_shape_declared(const struct sb_model *model)
{
	for (const struct sb_param *p = model->params; p && p->name; p++)
		if (p->from_checkpoint)
			return true;
	return false;
}

static bool same_value(const struct sb_value *a, const struct sb_value *b)
{
	switch (a->type) {
	case SB_INT:
	case SB_BOOL:
		return a->i == b->i;
	case SB_FLOAT:
		return a->f == b->f;
	case SB_STRING:
	case SB_CHOICE:
		return !strcmp(a->s ? a->s : "", b->s ? b->s : "");
	case SB_STRINGS:
		if (a->n != b->n)
			return false;
		for (size_t j = 0; j < a->n; j++)
			if (strcmp(a->strs[j], b->strs[j]))
				return false;
		return true;
	case SB_INTS:
		return a->n == b->n &&
		       !memcmp(a->ints, b->ints, a->n * sizeof *a->ints);
	}
	return false;
}

/* A scalar value as a message shows it. */
static void value_text(char *buf, size_t cap, const struct sb_value *v)
{
	switch (v->type) {
	case SB_INT:
		snprintf(buf, cap, "%ld", v->i);
		break;
	case SB_BOOL:
		snprintf(buf, cap, "%s", v->i ? "true" : "false");
		break;
	case SB_FLOAT:
		snprintf(buf, cap, "%g", v->f);
		break;
	case SB_STRING:
	case SB_CHOICE:
		snprintf(buf, cap, "'%s'", v->s ? v->s : "");
		break;
	default:
		snprintf(buf, cap, "a list of %zu", v->n);
		break;
	}
}

/* The checkpoint's value of p from its text, checked as a spec's would be
 * for its range and choices. */
static int checkpoint_value(const struct source *src, const struct sb_param *p,
			    const struct sb_ynode *node, struct sb_value *out,
			    struct sb_error *err)
{
	*out = (struct sb_value){.name = p->name, .type = p->type};
	struct sb_values one = {1, out};
	struct sb_error why;
	bool bad = node->kind != SB_YSCALAR ||
		   sb_values_set(&one, p->name, node->text, &why);
	if (!bad && p->ranged && (p->type == SB_INT || p->type == SB_FLOAT)) {
		double x = p->type == SB_INT ? (double)out->i : out->f;
		bad = x < p->lo || x > p->hi || (p->lo_open && x == p->lo) ||
		      (p->hi_open && x == p->hi);
	}
	if (!bad && p->type == SB_CHOICE) {
		size_t len = strlen(out->s);
		const char *c = p->choices;
		bad = true;
		while (c && *c && bad) {
			size_t n = strcspn(c, "|");
			bad = !(n == len && !strncmp(c, out->s, n));
			c += n + (c[n] == '|');
		}
	}
	if (bad) {
		sb_value_clear(out);
		return sb_error(err, "'%s': the checkpoint's '%s' (line %d of "
				"its config) is not a valid value for model "
				"'%s'", src->path, p->name, node->line,
				src->model->name);
	}
	return 0;
}

/* Applies the checkpoint's values to one run; *changed tells whether any
 * value moved. */
static int shape_run(const struct sb_spec *spec, struct sb_run_cfg *run,
		     struct source *src, struct sb_strbuf *notes,
		     bool *changed, struct sb_error *err)
{
	struct sb_strbuf taken = {0};
	sb_strbuf_printf(&taken, "%s", "");
	int rc = 0;
	for (const struct sb_param *p = run->model->params;
	     p && p->name && !rc; p++) {
		const struct sb_ynode *node =
			p->from_checkpoint ? sb_ynode_get(src->map, p->name)
					   : NULL;
		if (!node)
			continue;
		struct sb_value *v =
			(struct sb_value *)sb_values_get(&run->model_cfg,
							 p->name);
		struct sb_value want;
		if (checkpoint_value(src, p, node, &want, err)) {
			rc = -1;
			break;
		}
		char have_text[64], want_text[64];
		value_text(have_text, sizeof have_text, v);
		value_text(want_text, sizeof want_text, &want);
		if (v->line && !same_value(v, &want)) {
			rc = sb_error(err, "%s:%d:%d: model '%s' is given "
				      "'%s' %s, but its checkpoint '%s' holds "
				      "%s %s (leave '%s' out to take the "
				      "checkpoint's)", spec->path, v->line,
				      v->col, run->model->name, p->name,
				      have_text, src->path, p->name, want_text,
				      p->name);
		} else if (!v->line) {
			*changed |= !same_value(v, &want);
			sb_value_copy(v, &want);
			sb_strbuf_printf(&taken, "%s%s %s", *taken.s ? ", " : "",
					 p->name, want_text);
		}
		sb_value_clear(&want);
	}
	if (!rc && notes && *taken.s && !src->noted) {
		sb_strbuf_printf(notes, "model '%s' from '%s': %s\n",
				 run->model->name, src->path, taken.s);
		src->noted = true;
	}
	free(taken.s);
	return rc;
}

int sb_shape_from_checkpoints(struct sb_spec *spec, struct sb_strbuf *notes,
			      struct sb_error *err)
{
	struct sources all = {0};
	int rc = 0;
	for (size_t r = 0; r < spec->n_runs && !rc; r++) {
		struct sb_run_cfg *run = &spec->runs[r];
		const char *ckpt = sb_values_str(&run->model_cfg, "checkpoint");
		if (!*ckpt || !sb_shape_declared(run->model) || access(ckpt, F_OK))
			continue;
		struct source *src = source_get(&all, ckpt, run->model, err);
		if (!src) {
			rc = -1;
			break;
		}
		bool changed = false;
		if (src->map)
			rc = shape_run(spec, run, src, notes, &changed, err);
		if (!rc && changed)
			sb_spec_run_yaml(run);
	}
	sources_release(&all);
	return rc;
}
