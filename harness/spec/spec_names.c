/* spec_names.c - the names a spec may use (docs/spec.md, "Validation"):
 * unknown keys answered with the nearest known one ("did you mean") by
 * optimal string alignment distance, or with the list of known names. */
#include "spec/spec_priv.h"
#include "util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Optimal string alignment distance (Levenshtein plus transpositions). */
static size_t edit_distance(const char *a, const char *b)
{
	enum { MAX = 64 };
	size_t n = strlen(a), m = strlen(b);
	if (n >= MAX || m >= MAX)
		return SIZE_MAX;
	size_t d[MAX + 1][MAX + 1];
	for (size_t i = 0; i <= n; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= m; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= n; i++) {
		for (size_t j = 1; j <= m; j++) {
			size_t cost = a[i - 1] != b[j - 1];
			size_t best = d[i - 1][j - 1] + cost;
			if (d[i - 1][j] + 1 < best)
				best = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < best)
				best = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < best)
				best = d[i - 2][j - 2] + 1;
			d[i][j] = best;
		}
	}
	return d[n][m];
}

/* The nearest name within distance 2 (the first of equals), or NULL. */
static const char *closest(const char *word, const char *const *names, size_t n)
{
	const char *best = NULL;
	size_t best_d = 3;
	for (size_t i = 0; i < n; i++) {
		size_t d = edit_distance(word, names[i]);
		if (d < best_d) {
			best = names[i];
			best_d = d;
		}
	}
	return best;
}

char *sb_spec_join(const char *const *names, size_t n, const char *sep)
{
	struct sb_strbuf buf = {0};
	sb_strbuf_printf(&buf, "%s", "");
	for (size_t i = 0; i < n; i++)
		sb_strbuf_printf(&buf, "%s%s", i ? sep : "", names[i]);
	return buf.s;
}

int sb_spec_unknown_key(const struct sb_spec_parse *ps,
			const struct sb_ynode *key, const char *const *names,
			size_t n, const char *where)
{
	const char *near = closest(key->text, names, n);
	if (near)
		return sb_spec_fail(ps, key,
				    "unknown key '%s'%s (did you mean '%s'?)",
				    key->text, where, near);
	char *known = sb_spec_join(names, n, ", ");
	sb_spec_fail(ps, key, "unknown key '%s'%s (known: %s)", key->text,
		     where, known);
	free(known);
	return -1;
}

size_t sb_spec_count_names(const char *const *names)
{
	size_t n = 0;
	while (names[n])
		n++;
	return n;
}

size_t sb_spec_index_of(const char *word, const char *const *names)
{
	for (size_t i = 0; names[i]; i++)
		if (!strcmp(word, names[i]))
			return i;
	return SIZE_MAX;
}

/* "in model 'mlp'" or "in train": where an unknown key was found. */
int sb_spec_section_unknown_key(const struct sb_spec_parse *ps,
				const struct sb_section *sec,
				const struct sb_ynode *key)
{
	size_t n = 0;
	while (sec->decl[n].name)
		n++;
	const char **names = sb_calloc(n + 1, sizeof *names);
	size_t k = 0;
	if (sec->name)
		names[k++] = "name";
	for (size_t i = 0; i < n; i++)
		names[k++] = sec->decl[i].name;
	char *where = sec->name
			      ? sb_asprintf(" in %s '%s'",
					    sb_part_names[sec->part], sec->name)
			      : sb_asprintf(" in %s", sb_part_names[sec->part]);
	sb_spec_unknown_key(ps, key, names, k, where);
	free(where);
	free(names);
	return -1;
}
