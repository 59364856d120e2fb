/* adamw_pass.h - dense AdamW's step in one pass over memory: every moment
 * follows the full gradient and the components of S move, each read and
 * written once (p, g, m, v read; p, m, v written for S; g, m, v read and m, v
 * written elsewhere), split by index ranges over the run's threads. The
 * float operations are adamw.h's, in its order, so the results are those of
 * a moments pass followed by an update of S, for any thread count. */
#ifndef SB_ADAMW_PASS_H
#define SB_ADAMW_PASS_H

#include "sb.h"
#include "adamw.h"

#include <stddef.h>

struct adamw_pass {
	const struct adamw_hyper *h;
	float *params;      /* [n] */
	float *m, *v;       /* [n] moments */
	const float *grad;  /* [n] full gradient */
	size_t n;
	const sb_index *idx; /* [k] S, sorted, duplicate-free */
	size_t k;
	float c1, c2, lr;   /* inverse bias corrections, learning rate */
};

/* Updates m and v for all n components and moves params at S. */
void adamw_pass_run(const struct adamw_pass *a);

#endif
