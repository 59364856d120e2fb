/* topk.h - top-k selection by magnitude in O(n) time (no sort),
 * the primitive under the top-k policies and the oracle metric. Ties in
 * |x| are broken towards the lower index, so results are deterministic. */
#ifndef SB_TOPK_H
#define SB_TOPK_H

#include "sb.h"

/* Writes the indices (offset by `base`) of the k largest |x[i]|, i < n,
 * ascending, into out[0..k). NaN in x is the caller's to exclude. */
void sb_topk_abs(const float *x, size_t n, size_t k, sb_index base,
		 sb_index *out);
/* The sum of x[i]^2 over the k largest |x[i]| (what the oracle retains):
 * the squares above the k-th largest, in index order, then its ties. */
double sb_topk_energy(const float *x, size_t n, size_t k);
/* The same, and in *total the energy of all of x, as sb_metrics_energy
 * computes it, from one pass over x. */
double sb_topk_energy_total(const float *x, size_t n, size_t k,
			    double *total);

#endif
