/* lanes.h - how the models' elementwise loops are written to vectorise:
 * blocks of LANES with a constant trip count, and an AVX2 clone of the
 * kernels where the compiler can make one. */
#ifndef SB_LANES_H
#define SB_LANES_H

/* Loops over n elements run in blocks of LANES with a constant trip count,
 * and reductions keep LANES partial sums: GCC's -O2 cost model vectorises
 * those, and no loop with an unknown trip count. */
#define LANES 8

/* The elementwise kernels are also compiled for AVX2, and the dynamic
 * loader picks the clone the CPU runs (GCC on x86-64; Clang 14 leaves the
 * clones' exported name undefined when linked from a static library, so
 * its builds, the fuzzers', keep the baseline): twice the
 * lanes of the SSE2 baseline, half the time (measured: GELU over 1M floats,
 * 1.5 ms -> 0.76 ms). Both clones give the same bits: without FMA there is
 * no contraction to change a rounding, and every reduction keeps its LANES
 * partial sums whatever the vector width. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define VECTOR_CLONES __attribute__((target_clones("avx2", "default")))
#endif
#ifndef VECTOR_CLONES
#define VECTOR_CLONES
#endif

#endif
