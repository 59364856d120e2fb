/* metrics.h - the per-step measurements of DESIGN.md "Metrics": gradient
 * energy kept by S (retained) and by the best set of its size (oracle), and
 * churn between consecutive sets (ever_selected: run/selection.h). */
#ifndef SB_METRICS_H
#define SB_METRICS_H

#include "sb.h"

/* sum_i g_i^2 over all n, accumulated in double in the fixed order of
 * run/scan.h (independent of the number of threads). */
double sb_metrics_energy(const float *grad, size_t n);
/* sum_{i in S} g_i^2 in double, in the energy's fixed order over S's
 * gathered values (run/scan.h): S holding every component gives exactly
 * sb_metrics_energy. */
double sb_metrics_energy_at(const float *grad, const struct sb_selection *sel);
/* |now \ before| for two sorted, duplicate-free sets, in O(|now|+|before|). */
size_t sb_metrics_entered(const struct sb_selection *now,
			  const struct sb_selection *before);

#endif
