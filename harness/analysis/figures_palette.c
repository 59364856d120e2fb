/* figures_palette.c - the colours and point types of the figures: one per
 * policy (or reference method), the same in every figure and panel, from
 * Okabe and Ito's colour-blind-safe set (docs/figures.md). */
#include "analysis/figures.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

/* Black first for the full fine-tuning baseline. */
static const unsigned colors[] = {
	0x000000, 0xD55E00, 0x0072B2, 0x009E73, 0xCC79A7,
	0xE69F00, 0x56B4E9, 0x7F7F7F, 0x8C564B, 0xB8860B,
};
#define N_COLORS (sizeof colors / sizeof colors[0])

/* Filled circle, square, triangle, inverted triangle, diamond, pentagon,
 * then open ones. */
static const int points[] = {7, 5, 9, 11, 13, 15, 6, 4, 8};
#define N_POINTS (sizeof points / sizeof points[0])

static const char *const known_keys[] = {
	"dense", "topk_batch", "topk_first", "random", "fixed_layers",
};
#define N_KNOWN (sizeof known_keys / sizeof known_keys[0])

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void sb_palette_init(struct sb_palette *pal, const struct sb_aggregate *agg)
{
	pal->keys = sb_calloc(agg->n_settings + N_KNOWN, sizeof *pal->keys);
	pal->n_keys = 0;
	for (size_t k = 0; k < N_KNOWN; k++)
		pal->keys[pal->n_keys++] = sb_strdup(known_keys[k]);
	size_t first_other = pal->n_keys;
	for (size_t s = 0; s < agg->n_settings; s++) {
		const char *key = sb_palette_key_of(&agg->settings[s]);
		if (sb_palette_rank(pal, key) == pal->n_keys)
			pal->keys[pal->n_keys++] = sb_strdup(key);
	}
	qsort(pal->keys + first_other, pal->n_keys - first_other,
	      sizeof *pal->keys, cmp_str);
}

void sb_palette_release(struct sb_palette *pal)
{
	for (size_t k = 0; k < pal->n_keys; k++)
		free(pal->keys[k]);
	free(pal->keys);
	memset(pal, 0, sizeof *pal);
}

const char *sb_palette_key(const char *method, const char *policy,
			   const char *optimizer)
{
	size_t np = strlen(policy);
	bool plain = !strncmp(method, policy, np) && method[np] == '+' &&
		     !strcmp(method + np + 1, optimizer);
	return plain ? policy : method;
}

const char *sb_palette_key_of(const struct sb_agg_setting *st)
{
	return sb_palette_key(st->method, st->policy, st->optimizer);
}

size_t sb_palette_rank(const struct sb_palette *pal, const char *key)
{
	size_t k = 0;
	while (k < pal->n_keys && strcmp(pal->keys[k], key))
		k++;
	return k;
}

unsigned sb_palette_color(const struct sb_palette *pal, const char *key)
{
	size_t k = sb_palette_rank(pal, key);
	if (k >= pal->n_keys)
		return colors[N_COLORS - 1];
	/* black is the baseline's alone: past it, the colours wrap among
	 * the others */
	return k == 0 ? colors[0] : colors[1 + (k - 1) % (N_COLORS - 1)];
}

/* Each time the colours wrap the points move on by one, so that a colour's
 * second key has another point than its first. */
int sb_palette_point(const struct sb_palette *pal, const char *key)
{
	size_t k = sb_palette_rank(pal, key);
	size_t wraps = k ? (k - 1) / (N_COLORS - 1) : 0;
	return points[(k + wraps) % N_POINTS];
}

static int optimizer_rank(const char *name)
{
	static const char *const known[] = {"dense_adam", "sparse_adam", "sgd"};
	for (int k = 0; k < 3; k++)
		if (!strcmp(name, known[k]))
			return k;
	return 3;
}

int sb_palette_optimizer_cmp(const char *a, const char *b)
{
	int ra = optimizer_rank(a), rb = optimizer_rank(b);
	if (ra != rb)
		return ra < rb ? -1 : 1;
	return strcmp(a, b);
}
