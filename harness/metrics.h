/* metrics.h - the per-step measurements of DESIGN.md "Metrics": gradient
 * energy kept by S (retained) and by the best set of its size (oracle),
 * churn between consecutive sets, and the distinct components ever chosen. */
#ifndef SB_METRICS_H
#define SB_METRICS_H

#include "sb.h"

/* sum_i g_i^2 over all n, accumulated in double in index order. */
double sb_metrics_energy(const float *grad, size_t n);
/* sum_{i in S} g_i^2. */
double sb_metrics_energy_at(const float *grad, const struct sb_selection *sel);
/* |now \ before| for two sorted, duplicate-free sets, in O(|now|+|before|). */
size_t sb_metrics_entered(const struct sb_selection *now,
			  const struct sb_selection *before);

/* The components selected at least once so far: a bitmap over n. */
struct sb_ever {
	uint64_t *bits;
	size_t n, count;
};

void sb_ever_init(struct sb_ever *ever, size_t n);
void sb_ever_add(struct sb_ever *ever, const struct sb_selection *sel);
void sb_ever_release(struct sb_ever *ever);

#endif
