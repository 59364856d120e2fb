/* values.c - resolved parameter values: look-up by declared name, copying,
 * and filling defaults from a declaration table (struct sb_param). Defaults
 * are written as flow YAML scalars or flat lists ("0.01", "[]", "[a, b]"). */
#include "sb.h"
#include "util.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

const struct sb_value *sb_values_get(const struct sb_values *vals,
				     const char *name)
{
	for (size_t i = 0; i < vals->n; i++)
		if (!strcmp(vals->v[i].name, name))
			return &vals->v[i];
	return NULL;
}

static const struct sb_value *must_get(const struct sb_values *vals,
				       const char *name, enum sb_type type)
{
	const struct sb_value *v = sb_values_get(vals, name);
	assert(v && "parameter not declared");
	assert((v->type == type ||
		(type == SB_STRING && v->type == SB_CHOICE)) &&
	       "parameter read with the wrong type");
	(void)type;
	return v;
}

long sb_values_int(const struct sb_values *vals, const char *name)
{
	return must_get(vals, name, SB_INT)->i;
}

double sb_values_float(const struct sb_values *vals, const char *name)
{
	return must_get(vals, name, SB_FLOAT)->f;
}

bool sb_values_bool(const struct sb_values *vals, const char *name)
{
	return must_get(vals, name, SB_BOOL)->i != 0;
}

const char *sb_values_str(const struct sb_values *vals, const char *name)
{
	return must_get(vals, name, SB_STRING)->s;
}

void sb_value_clear(struct sb_value *v)
{
	free(v->s);
	for (size_t j = 0; v->strs && j < v->n; j++)
		free(v->strs[j]);
	free(v->strs);
	free(v->ints);
	v->s = NULL;
	v->strs = NULL;
	v->ints = NULL;
	v->n = 0;
}

void sb_value_copy(struct sb_value *dst, const struct sb_value *src)
{
	sb_value_clear(dst);
	*dst = *src;
	dst->s = src->s ? sb_strdup(src->s) : NULL;
	dst->strs = NULL;
	dst->ints = NULL;
	if (src->strs) {
		dst->strs = sb_calloc(src->n, sizeof *dst->strs);
		for (size_t j = 0; j < src->n; j++)
			dst->strs[j] = sb_strdup(src->strs[j]);
	}
	if (src->ints) {
		dst->ints = sb_calloc(src->n, sizeof *dst->ints);
		memcpy(dst->ints, src->ints, src->n * sizeof *dst->ints);
	}
}

void sb_values_release(struct sb_values *vals)
{
	for (size_t i = 0; i < vals->n; i++)
		sb_value_clear(&vals->v[i]);
	free(vals->v);
	vals->v = NULL;
	vals->n = 0;
}

int sb_values_copy(struct sb_values *dst, const struct sb_values *src)
{
	dst->n = src->n;
	dst->v = sb_calloc(src->n, sizeof *dst->v);
	for (size_t i = 0; i < src->n; i++)
		sb_value_copy(&dst->v[i], &src->v[i]);
	return 0;
}

/* Splits "[a, b, c]" into trimmed items; "[]" gives none. */
static char **split_flow_list(const char *text, size_t *n)
{
	size_t len = strlen(text);
	char **items = NULL;
	*n = 0;
	if (len < 2 || text[0] != '[' || text[len - 1] != ']')
		return NULL;
	char *body = sb_strdup(text + 1);
	body[len - 2] = '\0';
	for (char *save = NULL, *tok = strtok_r(body, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		while (*tok == ' ')
			tok++;
		char *end = tok + strlen(tok);
		while (end > tok && end[-1] == ' ')
			*--end = '\0';
		if (!*tok)
			continue;
		items = sb_realloc(items, (*n + 1) * sizeof *items);
		items[(*n)++] = sb_strdup(tok);
	}
	free(body);
	return items;
}

static int parse_default(struct sb_value *v, const struct sb_param *p,
			 struct sb_error *err)
{
	const char *t = p->def;
	char *end;
	errno = 0;
	switch (p->type) {
	case SB_INT:
		v->i = strtol(t, &end, 10);
		if (*end || errno)
			return sb_error(err, "parameter '%s': bad default '%s'",
					p->name, t);
		break;
	case SB_FLOAT:
		v->f = strtod(t, &end);
		if (*end || errno)
			return sb_error(err, "parameter '%s': bad default '%s'",
					p->name, t);
		break;
	case SB_BOOL:
		v->i = !strcmp(t, "true");
		break;
	case SB_STRING:
	case SB_CHOICE:
		v->s = sb_strdup(t);
		break;
	case SB_STRINGS:
		v->strs = split_flow_list(t, &v->n);
		if (!v->strs && strcmp(t, "[]"))
			return sb_error(err, "parameter '%s': bad default '%s'",
					p->name, t);
		break;
	case SB_INTS: {
		size_t n;
		char **items = split_flow_list(t, &n);
		v->ints = sb_calloc(n, sizeof *v->ints);
		v->n = n;
		for (size_t j = 0; j < n; j++) {
			v->ints[j] = strtol(items[j], NULL, 10);
			free(items[j]);
		}
		free(items);
		break;
	}
	}
	return 0;
}

int sb_values_defaults(struct sb_values *vals, const struct sb_param *decl,
		       struct sb_error *err)
{
	size_t n = 0;
	while (decl && decl[n].name)
		n++;
	vals->n = n;
	vals->v = sb_calloc(n, sizeof *vals->v);
	for (size_t i = 0; i < n; i++) {
		vals->v[i].name = decl[i].name;
		vals->v[i].type = decl[i].type;
		if (decl[i].def && parse_default(&vals->v[i], &decl[i], err)) {
			sb_values_release(vals);
			return -1;
		}
	}
	return 0;
}

/* Sets one value from text, for tests and programmatic configs. */
int sb_values_set(struct sb_values *vals, const char *name, const char *text,
		  struct sb_error *err)
{
	for (size_t i = 0; i < vals->n; i++) {
		struct sb_value *v = &vals->v[i];
		if (strcmp(v->name, name))
			continue;
		struct sb_param p = {.name = v->name, .type = v->type,
				     .def = text};
		sb_value_clear(v);
		return parse_default(v, &p, err);
	}
	return sb_error(err, "unknown parameter '%s'", name);
}
