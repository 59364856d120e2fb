/* sparsity.h - how concentrated a gradient is: the share of it held by its
 * top 0.1%, 1% and 10% of components, as energy (squared norm), norm and
 * L1 share (DESIGN.md: "the gradient of a pre-trained model is
 * quasi-sparse"). */
#ifndef SB_SPARSITY_H
#define SB_SPARSITY_H

#include "sb.h"

#define SB_N_SHARES 3

/* 0.001, 0.01, 0.1 and their names in attributes: "p0.1", "p1", "p10". */
extern const double sb_share_fractions[SB_N_SHARES];
extern const char *const sb_share_names[SB_N_SHARES];

struct sb_shares {
	double energy[SB_N_SHARES]; /* sum of top g^2 / sum of g^2 */
	double norm[SB_N_SHARES];   /* sqrt(energy): SIFT's "share of the norm" */
	double l1[SB_N_SHARES];     /* sum of top |g| / sum of |g| */
};

/* Shares of x[0..n); scratch holds n indices. */
void sb_shares_compute(const float *x, size_t n, sb_index *scratch,
		       struct sb_shares *out);

#endif
