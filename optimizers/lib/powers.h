/* powers.h - base^e for integer e as floats, each computed in double and
 * rounded once, from a table grown on demand: the decay of a state entry
 * that was away for e steps (on_change: decay), with no pow() per entry. */
#ifndef SB_POWERS_H
#define SB_POWERS_H

#include <stdbool.h>
#include <stddef.h>

struct sb_powers {
	double base;
	float *p; /* [n]: p[e] = (float)base^e */
	size_t n;
	bool zero; /* p[n - 1] rounded to 0: so does every larger power */
};

void sb_powers_init(struct sb_powers *t, double base);
/* (float)base^e; grows the table to cover e unless it already reached 0. */
float sb_powers_at(struct sb_powers *t, size_t e);
void sb_powers_release(struct sb_powers *t);

#endif
