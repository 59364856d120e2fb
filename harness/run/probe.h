/* probe.h - measures how concentrated the gradients of a run are (the top
 * 0.1/1/10% shares of sparsity.h), over all components and over the rest
 * after train.shares_exclude, and writes their means as run attributes
 * beside those of a Gaussian vector of the same size. */
#ifndef SB_PROBE_H
#define SB_PROBE_H

#include "io/results.h"

struct sb_probe;

struct sb_probe *sb_probe_new(const struct sb_layout *layout,
			      const struct sb_values *train_cfg);
void sb_probe_measure(struct sb_probe *probe, const float *grad);
/* energy_share_<all|rest|gaussian_all|gaussian_rest>_<p0.1|p1|p10>, and
 * likewise norm_share_ and l1_share_. */
void sb_probe_write(struct sb_probe *probe, struct sb_run_log *log,
		    uint64_t seed);
void sb_probe_free(struct sb_probe *probe);

#endif
