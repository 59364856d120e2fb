/* result.h - a bench program's figure for the summary table of `make
 * bench` (bench/README.md): one line on stdout,
 *   RESULT <name> <seconds> <floor_seconds> [<target_ratio>]
 * collected by bench/report.c. */
#ifndef SB_BENCH_RESULT_H
#define SB_BENCH_RESULT_H

/* Prints the RESULT line of figure `name` (no spaces): `seconds` measured
 * against `floor` seconds (a bound the machine sets, or the budget the
 * figure must keep), and the largest ratio seconds / floor that meets its
 * target (0: none stated). */
void sb_bench_result(const char *name, double seconds, double floor,
		     double target_ratio);

#endif
