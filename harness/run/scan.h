/* scan.h - one streaming pass over a gradient, at the memory's pace: its
 * energy (sum of squares) in a fixed order, and the components whose
 * magnitude reaches a bound (the candidates of a top-k). The work is split
 * over threads at fixed boundaries, so every result is the same, bit for
 * bit, whatever the number of threads. */
#ifndef SB_SCAN_H
#define SB_SCAN_H

#include "sb.h"

#include <string.h>

/* The order key of |v|: the IEEE-754 bits with the sign cleared, which
 * order non-negative floats like their values (-0.0 becomes 0.0; NaN keys
 * are above +inf's and are the caller's to exclude). */
static inline uint32_t sb_scan_key(float v)
{
	uint32_t bits;
	memcpy(&bits, &v, sizeof bits);
	return bits & 0x7fffffffu;
}

/* The energy's fixed order: x is cut into chunks of SB_SCAN_CHUNK
 * components; within a chunk, component i goes to lane i mod
 * SB_SCAN_LANES, each lane a double sum in index order, and the lanes are
 * added pairwise; the chunks' sums are added in index order. */
#define SB_SCAN_LANES 8
#define SB_SCAN_CHUNK 4096

/* What one pass computes: the energy when `energy`; when `collect`, the
 * components whose key is >= bound, in index order. */
struct sb_scan {
	bool energy, collect;
	uint32_t bound;
	size_t cap;       /* at most this many candidates are kept */
	/* out */
	double energy_sum; /* when `energy` */
	size_t n_cand;    /* candidates found; > cap: the pass gave up */
	sb_index *cand_idx; /* cap, ascending (allocated by sb_scan_run) */
	float *cand_val;    /* cap, x at cand_idx */
};

/* The energy of x at idx[0..k) in the same order, as if the gathered
 * values were an array: with idx = 0..n-1 it equals the pass's energy bit
 * for bit, so a set holding every component retains exactly 1. */
double sb_scan_energy_at(const float *x, const sb_index *idx, size_t k);

/* The pass over x[0..n), with `threads` threads (1 or more). Results do
 * not depend on `threads`. */
void sb_scan_run(struct sb_scan *s, const float *x, size_t n, int threads);
void sb_scan_release(struct sb_scan *s);

/* A pass takes one thread per this many components, at most: below it a
 * thread costs more to start than it saves (measured at n = 1e6, 4 MB,
 * which a thread reads from the cache in a tenth of a millisecond). */
#define SB_SCAN_MIN_PER_THREAD (1u << 19)

/* The number of threads the harness's own passes use: the run's OpenBLAS
 * threads (train.threads), idle while they run. */
int sb_scan_threads(void);

#endif
