/* sparsity.c - top-fraction shares of a gradient (see sparsity.h). The top
 * set is found once per fraction with the O(n) top-k selection; energy and
 * L1 shares are sums over that same set. */
#include "run/sparsity.h"
#include "run/topk.h"

#include <math.h>

const double sb_share_fractions[SB_N_SHARES] = {0.001, 0.01, 0.1};
const char *const sb_share_names[SB_N_SHARES] = {"p0.1", "p1", "p10"};

void sb_shares_compute(const float *x, size_t n, sb_index *scratch,
		       struct sb_shares *out)
{
	double energy = 0.0, l1 = 0.0;
	for (size_t i = 0; i < n; i++) {
		energy += (double)x[i] * (double)x[i];
		l1 += fabs((double)x[i]);
	}
	for (int f = 0; f < SB_N_SHARES; f++) {
		size_t k = (size_t)llround(sb_share_fractions[f] * (double)n);
		if (k < 1)
			k = 1;
		sb_topk_abs(x, n, k, 0, scratch);
		double e = 0.0, a = 0.0;
		for (size_t j = 0; j < k; j++) {
			double g = x[scratch[j]];
			e += g * g;
			a += fabs(g);
		}
		out->energy[f] = energy > 0 ? e / energy : NAN;
		out->norm[f] = sqrt(out->energy[f]);
		out->l1[f] = l1 > 0 ? a / l1 : NAN;
	}
}
