/* parallel.h - a loop split over the threads OpenBLAS is set to use, for the
 * work between the matrix products (attention's many small products, the
 * elementwise kernels), with OpenBLAS kept to one thread meanwhile: one set
 * of threads on the cores at a time. */
#ifndef SB_PARALLEL_H
#define SB_PARALLEL_H

#include <stddef.h>

/* One share of a loop: part p of `parts` (p < parts). Parts must not depend
 * on each other nor on which thread runs them. */
typedef void sb_parallel_fn(void *ctx, size_t part, size_t parts);

/* Runs fn(ctx, p, parts) for p < parts and returns when all have run, where
 * parts is the thread count OpenBLAS has (openblas_get_num_threads; the
 * spec's train.threads), at most max_parts. Part 0 runs on the caller;
 * the others on the pool's threads while something holds the pool, else
 * on threads started for the call (on the caller, should starting one
 * fail). OpenBLAS runs its products on one thread until the call returns,
 * then has its count again. Calls must not overlap: one thread calls at a
 * time, and fn does not call it. */
void sb_parallel_run(sb_parallel_fn *fn, void *ctx, size_t max_parts);

/* The pool: threads started by the first call that needs them and kept,
 * asleep between calls, until the last hold is dropped (a model holds it
 * from init to release). Starting and joining a thread per call costs
 * tens of microseconds, and a GPT step makes dozens of calls. */
void sb_parallel_hold(void);
/* Drops a hold; the last joins the pool's threads. Not during a call. */
void sb_parallel_drop(void);

/* Passes over floats are split only when each part has at least this
 * many: below, waking a thread costs more than it saves. */
#define SB_PARALLEL_FLOATS 65536

/* The most parts worth making of a pass over n floats. */
static inline size_t sb_parallel_parts(size_t n)
{
	return n / SB_PARALLEL_FLOATS + 1;
}

/* [first, end) of part p of n items split in `parts` */
static inline void sb_parallel_range(size_t n, size_t part, size_t parts,
				     size_t *first, size_t *end)
{
	*first = n * part / parts;
	*end = n * (part + 1) / parts;
}

#endif
