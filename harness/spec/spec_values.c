/* spec_values.c - typed values of a spec from YAML nodes (docs/spec.md,
 * "Values"): integers, numbers, booleans, strings, choices and lists checked
 * against their declaration (struct sb_param), and sweep axes. */
#include "spec/spec_priv.h"
#include "util.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sb_spec_fail(const struct sb_spec_parse *ps, const struct sb_ynode *node,
		 const char *fmt, ...)
{
	char msg[sizeof ps->err->msg];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return sb_yaml_error(ps->err, ps->path, node, "%s", msg);
}

/* ---- scalars ------------------------------------------------------------ */

static bool parse_long(const char *text, long *out)
{
	const char *p = text + (*text == '-' || *text == '+');
	if (*p < '0' || *p > '9')
		return false;
	char *end;
	errno = 0;
	*out = strtol(text, &end, 10);
	return !*end && !errno;
}

/* Decimal and exponent forms (1, 0.5, 1e-3, .5) and .inf; no nan, no hex. */
static bool parse_double(const char *text, double *out)
{
	const char *p = text + (*text == '-' || *text == '+');
	if (!strcmp(p, ".inf") || !strcmp(p, ".Inf") || !strcmp(p, ".INF")) {
		*out = *text == '-' ? -INFINITY : INFINITY;
		return true;
	}
	if (!*p || strspn(p, "0123456789.eE+-") != strlen(p) ||
	    !strpbrk(p, "0123456789"))
		return false;
	char *end;
	errno = 0;
	*out = strtod(text, &end);
	return !*end && !errno;
}

static bool parse_bool(const char *text, long *out)
{
	if (!strcmp(text, "true") || !strcmp(text, "True") ||
	    !strcmp(text, "TRUE")) {
		*out = 1;
		return true;
	}
	if (!strcmp(text, "false") || !strcmp(text, "False") ||
	    !strcmp(text, "FALSE")) {
		*out = 0;
		return true;
	}
	return false;
}

/* "'ten'", "a list", "a mapping": what a message says was found. */
const char *sb_spec_found(const struct sb_ynode *node, char *buf, size_t size)
{
	if (node->kind == SB_YSEQ)
		return "a list";
	if (node->kind == SB_YMAP)
		return "a mapping";
	snprintf(buf, size, "'%s'", node->text);
	return buf;
}

static int check_range(const struct sb_spec_parse *ps, const struct sb_param *p,
		       const struct sb_ynode *node, double x)
{
	if (!p->ranged)
		return 0;
	bool above = p->lo_open ? x > p->lo : x >= p->lo;
	bool below = p->hi_open ? x < p->hi : x <= p->hi;
	if (above && below)
		return 0;
	return sb_spec_fail(ps, node, "'%s' must be in %c%g, %g%c, got %s",
			    p->name, p->lo_open ? '(' : '[', p->lo, p->hi,
			    p->hi_open ? ')' : ']', node->text);
}

static int parse_choice(const struct sb_spec_parse *ps,
			const struct sb_param *p, const struct sb_ynode *node,
			struct sb_value *v)
{
	const char *c = p->choices;
	size_t len = strlen(node->text);
	while (c && *c) {
		size_t n = strcspn(c, "|");
		if (n == len && !strncmp(c, node->text, n)) {
			v->s = sb_strdup(node->text);
			return 0;
		}
		c += n + (c[n] == '|');
	}
	char *choices = sb_strdup(p->choices ? p->choices : "");
	for (char *q = choices; *q; q++)
		if (*q == '|')
			*q = ',';
	struct sb_strbuf list = {0};
	sb_strbuf_printf(&list, "%s", "");
	for (char *save = NULL, *t = strtok_r(choices, ",", &save); t;
	     t = strtok_r(NULL, ",", &save))
		sb_strbuf_printf(&list, "%s%s", list.len ? ", " : "", t);
	sb_spec_fail(ps, node, "'%s' must be one of %s, got '%s'", p->name,
		     list.s, node->text);
	free(list.s);
	free(choices);
	return -1;
}

/* One value of a scalar-typed parameter from a scalar node. */
static int parse_scalar(const struct sb_spec_parse *ps,
			const struct sb_param *p, const struct sb_ynode *node,
			struct sb_value *v)
{
	char got[256];
	const char *what = sb_spec_found(node, got, sizeof got);
	bool scalar = node->kind == SB_YSCALAR;
	switch (p->type) {
	case SB_INT:
		if (!scalar || !parse_long(node->text, &v->i))
			return sb_spec_fail(
				ps, node,
				"expected an integer for '%s', got %s", p->name,
				what);
		return check_range(ps, p, node, (double)v->i);
	case SB_FLOAT:
		if (!scalar || !parse_double(node->text, &v->f))
			return sb_spec_fail(
				ps, node, "expected a number for '%s', got %s",
				p->name, what);
		return check_range(ps, p, node, v->f);
	case SB_BOOL:
		if (!scalar || !parse_bool(node->text, &v->i))
			return sb_spec_fail(
				ps, node,
				"expected true or false for '%s', got %s",
				p->name, what);
		return 0;
	case SB_STRING:
		if (!scalar)
			return sb_spec_fail(
				ps, node, "expected a string for '%s', got %s",
				p->name, what);
		v->s = sb_strdup(sb_ynode_is_null(node) ? "" : node->text);
		return 0;
	case SB_CHOICE:
		if (!scalar)
			return sb_spec_fail(
				ps, node, "expected one of %s for '%s', got %s",
				p->choices, p->name, what);
		return parse_choice(ps, p, node, v);
	default:
		return sb_spec_fail(ps, node, "'%s' is not a scalar parameter",
				    p->name);
	}
}

/* One value of a list-typed parameter: a list of scalars, or one scalar
 * standing for a list of one (an empty plain scalar: the empty list). */
static int parse_list(const struct sb_spec_parse *ps, const struct sb_param *p,
		      const struct sb_ynode *node, struct sb_value *v)
{
	const char *kind = p->type == SB_INTS ? "integers" : "strings";
	char got[256];
	if (node->kind == SB_YMAP)
		return sb_spec_fail(
			ps, node, "expected a list of %s for '%s', got %s",
			kind, p->name, sb_spec_found(node, got, sizeof got));
	const struct sb_ynode *const *items =
		(const struct sb_ynode *const *)node->items;
	size_t n = node->n;
	if (node->kind == SB_YSCALAR) {
		items = &node;
		n = sb_ynode_is_null(node) ? 0 : 1;
	}
	if (p->type == SB_INTS)
		v->ints = sb_calloc(n, sizeof *v->ints);
	else
		v->strs = sb_calloc(n, sizeof *v->strs);
	for (size_t j = 0; j < n; j++) {
		const struct sb_ynode *it = items[j];
		bool scalar = it->kind == SB_YSCALAR;
		if (p->type == SB_INTS) {
			if (!scalar || !parse_long(it->text, &v->ints[j]))
				return sb_spec_fail(
					ps, it,
					"expected a list of integers for '%s', "
					"got %s",
					p->name,
					sb_spec_found(it, got, sizeof got));
			v->n = j + 1;
			if (check_range(ps, p, it, (double)v->ints[j]))
				return -1;
		} else {
			if (!scalar)
				return sb_spec_fail(
					ps, it,
					"expected a list of strings for '%s', "
					"got %s",
					p->name,
					sb_spec_found(it, got, sizeof got));
			v->strs[j] = sb_strdup(it->text);
			v->n = j + 1;
		}
	}
	v->n = n;
	return 0;
}

static bool is_list_type(enum sb_type type)
{
	return type == SB_STRINGS || type == SB_INTS;
}

int sb_spec_value(const struct sb_spec_parse *ps, const struct sb_param *p,
		  const struct sb_ynode *node, struct sb_value *v)
{
	v->name = p->name;
	v->type = p->type;
	v->line = node->line;
	v->col = node->col;
	if (is_list_type(p->type))
		return parse_list(ps, p, node, v);
	return parse_scalar(ps, p, node, v);
}

/* Is `node`, given for parameter p, a sweep? A sequence for a scalar type;
 * a sequence of sequences for a list type (a mix is an error). */
int sb_spec_is_sweep(const struct sb_spec_parse *ps, const struct sb_param *p,
		     const struct sb_ynode *node, bool *sweep)
{
	*sweep = false;
	if (node->kind != SB_YSEQ)
		return 0;
	if (!is_list_type(p->type)) {
		*sweep = true;
		return 0;
	}
	size_t lists = 0;
	for (size_t j = 0; j < node->n; j++)
		lists += node->items[j]->kind == SB_YSEQ;
	if (lists && lists != node->n)
		return sb_spec_fail(ps, node,
				    "mixed list for '%s': give one list, or a "
				    "list of lists to sweep",
				    p->name);
	*sweep = lists > 0;
	return 0;
}

void sb_spec_axis_release(struct sb_axis *axis)
{
	for (size_t j = 0; j < axis->n; j++)
		sb_value_clear(&axis->vals[j]);
	free(axis->vals);
	free(axis->items);
	memset(axis, 0, sizeof *axis);
}

void sb_spec_axis_copy(struct sb_axis *dst, const struct sb_axis *src)
{
	*dst = *src;
	dst->vals = sb_calloc(src->n, sizeof *dst->vals);
	dst->items = sb_calloc(src->n, sizeof *dst->items);
	for (size_t j = 0; j < src->n; j++) {
		sb_value_copy(&dst->vals[j], &src->vals[j]);
		dst->items[j] = src->items[j];
	}
}

/* A sequence node as an axis of parameter p (p's values, in order). */
int sb_spec_axis(const struct sb_spec_parse *ps, const struct sb_param *p,
		 const struct sb_ynode *node, struct sb_axis *axis)
{
	if (!node->n)
		return sb_spec_fail(ps, node, "empty list for '%s'", p->name);
	axis->label = p->name;
	axis->node = node;
	axis->vals = sb_calloc(node->n, sizeof *axis->vals);
	axis->items = sb_calloc(node->n, sizeof *axis->items);
	for (size_t j = 0; j < node->n; j++) {
		axis->items[j] = node->items[j];
		axis->n = j + 1;
		if (sb_spec_value(ps, p, node->items[j], &axis->vals[j]))
			return -1;
	}
	return 0;
}
