/* show.h - `sparsebench show`: a plain aligned table of the runs in a
 * results file (docs/results.md), one row per run. */
#ifndef SB_SHOW_H
#define SB_SHOW_H

#include "sb.h"

#include <stdio.h>

/* Prints the table to `out`; a file that cannot be read as a results file
 * is an error naming it. */
int sb_show(const char *path, FILE *out, struct sb_error *err);

#endif
