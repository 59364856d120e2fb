/* merge.h - the results files of a spec's shards combined into one that
 * every reader reads like a single process's file (docs/cluster.md): the
 * runs in grid order, each run's group copied whole (its series' chunks,
 * checksums and attributes byte for byte), the root attributes of the
 * first shard. */
#ifndef SB_MERGE_H
#define SB_MERGE_H

#include "sb.h"

#include <stdbool.h>
#include <stddef.h>

struct sb_merge_opts {
	bool force;     /* merge shards of different specs or builds */
	bool partial;   /* write even when runs are missing or unfinished */
	bool overwrite; /* replace an existing output (never a shard) */
};

struct sb_merge_report {
	char *experiment;         /* the first shard's `experiment` */
	size_t n_grid, n_merged;  /* runs in the grid, runs written */
	char **missing;           /* grid runs in no shard */
	size_t n_missing;
	char **unfinished;        /* runs no shard finished (status running) */
	size_t n_unfinished;
	char *forced;             /* with force: the difference overlooked */
};

/* Writes `out` (atomically, under its lock) from the n shard files.
 * Refused, with err naming the file and the reason: a shard that is not a
 * results file of this format or records no grid; shards of different
 * spec text or git commit (unless force); `out` equal to a shard, or
 * existing (unless overwrite); runs missing or unfinished (unless
 * partial; the report lists them either way). */
int sb_merge(const char *out, const char *const *shards, size_t n,
	     const struct sb_merge_opts *opts, struct sb_merge_report *report,
	     struct sb_error *err);
void sb_merge_report_release(struct sb_merge_report *report);

#endif
