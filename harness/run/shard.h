/* shard.h - one process's share of a spec's grid, for sweeps spread over
 * many processes and nodes by the schedulers people already use (Slurm job
 * arrays, mpirun): which share this process is (`--shard I/N` or the
 * launcher's environment), which runs it owns, and how many BLAS threads
 * fit beside the other processes of its node (docs/cluster.md). */
#ifndef SB_SHARD_H
#define SB_SHARD_H

#include "spec/spec.h"

#include <stddef.h>

struct sb_shard {
	size_t index, count; /* 0 <= index < count; count 1: the whole grid */
	const char *source;  /* "--shard", or the variable it came from */
};

/* Parses "I/N" (decimal, 0 <= I < N). Garbage, N = 0 or I >= N is an
 * error naming `text`. */
int sb_shard_parse(struct sb_shard *shard, const char *text,
		   struct sb_error *err);
/* The share a launcher gave this process: Slurm job arrays
 * (SLURM_ARRAY_TASK_ID with SLURM_ARRAY_TASK_COUNT or _MIN/_MAX), Open MPI
 * (OMPI_COMM_WORLD_RANK/_SIZE), PMI (PMI_RANK/PMI_SIZE), looked for in
 * that order; {0, 1} when none is set. A variable set to garbage is an
 * error naming it. */
int sb_shard_from_env(struct sb_shard *shard, struct sb_error *err);
/* "I/N" (fresh string). */
char *sb_shard_name(const struct sb_shard *shard);

/* The expected cost of each run: steps x batch_size x the model's
 * parameters (data and model opened once per distinct pair to count
 * them), into cost[spec->n_runs]. */
int sb_shard_costs(const struct sb_spec *spec, double *cost,
		   struct sb_error *err);
/* Assigns each run to one of `count` shards, owner[i] in [0, count):
 * greedily, the costliest run first to the least loaded shard (ties: the
 * earlier run, the lower shard), so every process computes the same
 * assignment and shard loads differ by at most one run's cost. */
void sb_shard_assign(const double *cost, size_t n_runs, size_t count,
		     size_t *owner);

/* The runs of `shard`, into mine[spec->n_runs]: costs, then assignment
 * (a single shard owns every run without opening anything). */
int sb_shard_select(const struct sb_spec *spec, const struct sb_shard *shard,
		    bool *mine, struct sb_error *err);

/* The BLAS threads for a process sharing its node: the node's online
 * cores divided by the local ranks the launcher reports
 * (OMPI_COMM_WORLD_LOCAL_SIZE, MPI_LOCALNRANKS, SLURM_NTASKS_PER_NODE), or
 * SLURM_CPUS_PER_TASK; at least 1. 0 when no launcher says. */
long sb_shard_threads(void);

#endif
