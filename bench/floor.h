/* floor.h - what the machine's memory allows, measured in the bench's own
 * run so that figures are compared as ratios: one streaming read of an
 * array and a triad-like read-modify-write of arrays of the same size. */
#ifndef SB_BENCH_FLOOR_H
#define SB_BENCH_FLOOR_H

#include <stddef.h>

/* The fastest of `repeats` reads of x[0..n), with 1 to `threads` threads
 * (the fastest count wins), in seconds. */
double sb_floor_read(const float *x, size_t n, int threads, int repeats);

/* The fastest of `repeats` passes of a[i] = a[i] + s * b[i] over
 * n-element arrays a, b (8 n bytes read, 4 n written), with 1 to `threads`
 * threads, in seconds. The caller gives the arrays (touched, so their
 * pages exist). */
double sb_floor_triad(float *a, const float *b, size_t n, int threads,
		      int repeats);

#endif
