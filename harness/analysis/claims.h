/* claims.h - `sparsebench report FILE --claims`: says whether the numbers of
 * a results file support or refute each claim of the seed (DESIGN.md, "The
 * science it measures"), by the rules of docs/figures.md, "Claims". */
#ifndef SB_CLAIMS_H
#define SB_CLAIMS_H

#include "sb.h"

#include <stdio.h>

/* Prints one short paragraph per claim: the claim, the numbers measured
 * (each method at its setting chosen on validation, means over its usable
 * seeds), the rule and a verdict (SUPPORTED, REFUTED or MIXED) with its
 * reason, or "not measured here (needs ...)" when the file lacks the runs.
 * A file that cannot be read is an error naming it. */
int sb_claims(const char *results_path, FILE *out, struct sb_error *err);

#endif
