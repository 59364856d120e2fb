/* report.h - `sparsebench report`: one table row per method (x density when
 * swept) with the test metric of the setting chosen on validation, as
 * Markdown, LaTeX (booktabs) or CSV (docs/figures.md). */
#ifndef SB_REPORT_H
#define SB_REPORT_H

#include "sb.h"

#include <stdbool.h>
#include <stdio.h>

/* format: "md", "latex" or "csv". all: one row per method and setting
 * instead of each method's best setting. */
int sb_report(const char *results_path, const char *format, bool all,
	      FILE *out, struct sb_error *err);

#endif
