/* powers.c - a table of base^e, grown by doubling (powers.h). */
#include "powers.h"
#include "util.h"

#include <math.h>
#include <stdlib.h>

void sb_powers_init(struct sb_powers *t, double base)
{
	*t = (struct sb_powers){.base = base};
}

float sb_powers_at(struct sb_powers *t, size_t e)
{
	if (e >= t->n && !t->zero) {
		size_t n = t->n ? 2 * t->n : 64;
		if (n <= e)
			n = e + 1;
		t->p = sb_realloc(t->p, n * sizeof *t->p);
		for (size_t i = t->n; i < n; i++) {
			t->p[i] = (float)pow(t->base, (double)i);
			if (t->p[i] == 0.0f) {
				n = i + 1;
				t->zero = true;
				break;
			}
		}
		t->n = n;
	}
	return e < t->n ? t->p[e] : 0.0f;
}

void sb_powers_release(struct sb_powers *t)
{
	free(t->p);
	t->p = NULL;
	t->n = 0;
	t->zero = false;
}
