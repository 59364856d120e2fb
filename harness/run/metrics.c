/* metrics.c - gradient-information and churn measurements (DESIGN.md,
 * "Metrics"); all energies are sums of squares in double in a fixed order
 * (run/scan.h), so they are reproducible bit for bit. */
#include "run/metrics.h"
#include "run/scan.h"

double sb_metrics_energy(const float *grad, size_t n)
{
	struct sb_scan s = {.energy = true};
	sb_scan_run(&s, grad, n, sb_scan_threads());
	return s.energy_sum;
}

double sb_metrics_energy_at(const float *grad, const struct sb_selection *sel)
{
	return sb_scan_energy_at(grad, sel->idx, sel->k);
}

size_t sb_metrics_entered(const struct sb_selection *now,
			  const struct sb_selection *before)
{
	size_t i = 0, j = 0, entered = 0;
	while (i < now->k) {
		if (j == before->k || now->idx[i] < before->idx[j]) {
			entered++;
			i++;
		} else if (now->idx[i] == before->idx[j]) {
			i++;
			j++;
		} else {
			j++;
		}
	}
	return entered;
}
