/* shard.c - one process's share of a spec's grid: the share's number from
 * the command line or the launcher's environment (Slurm job arrays, Open
 * MPI, PMI), a longest-first greedy assignment of runs by expected cost
 * (Graham's LPT rule), and the BLAS threads that fit on a shared node. */
#define _POSIX_C_SOURCE 200809L
#include "run/shard.h"
#include "run/inputs.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A decimal number filling all of `text`, below 2^31. */
static bool parse_count(const char *text, long *out)
{
	if (!text || !*text || strspn(text, "0123456789") != strlen(text) ||
	    strlen(text) > 9)
		return false;
	*out = strtol(text, NULL, 10);
	return true;
}

int sb_shard_parse(struct sb_shard *shard, const char *text,
		   struct sb_error *err)
{
	const char *slash = strchr(text, '/');
	char index[32] = "";
	long i, n;
	if (slash && (size_t)(slash - text) < sizeof index)
		memcpy(index, text, (size_t)(slash - text));
	if (!slash || !parse_count(index, &i) || !parse_count(slash + 1, &n))
		return sb_error(err, "bad shard '%s': expected I/N, two "
				"numbers with 0 <= I < N", text);
	if (n == 0)
		return sb_error(err, "bad shard '%s': N must be at least 1",
				text);
	if (i >= n)
		return sb_error(err, "bad shard '%s': I must be below N (shards "
				"are numbered 0 to %ld)", text, n - 1);
	*shard = (struct sb_shard){(size_t)i, (size_t)n, "--shard"};
	return 0;
}

/* The number in variable `name`, or -1 when unset; garbage is an error. */
static int env_count(const char *name, long *out, struct sb_error *err)
{
	const char *text = getenv(name);
	*out = -1;
	if (!text)
		return 0;
	if (!parse_count(text, out))
		return sb_error(err, "bad %s '%s': expected a number", name,
				text);
	return 0;
}

/* The share from a pair of rank and size variables; *found false when the
 * rank is unset. */
static int env_pair(struct sb_shard *shard, const char *rank_var,
		    const char *size_var, bool *found, struct sb_error *err)
{
	long rank, size;
	if (env_count(rank_var, &rank, err) || env_count(size_var, &size, err))
		return -1;
	*found = rank >= 0;
	if (!*found)
		return 0;
	if (size < 1 || rank >= size)
		return sb_error(err, "bad %s=%ld with %s=%ld: expected 0 <= "
				"rank < size", rank_var, rank, size_var, size);
	*shard = (struct sb_shard){(size_t)rank, (size_t)size, rank_var};
	return 0;
}

/* Slurm numbers array tasks from --array's first index, which need not
 * be 0; a task's share is its offset from the minimum. */
static int env_slurm_array(struct sb_shard *shard, bool *found,
			   struct sb_error *err)
{
	long id, count, min, max;
	if (env_count("SLURM_ARRAY_TASK_ID", &id, err) ||
	    env_count("SLURM_ARRAY_TASK_COUNT", &count, err) ||
	    env_count("SLURM_ARRAY_TASK_MIN", &min, err) ||
	    env_count("SLURM_ARRAY_TASK_MAX", &max, err))
		return -1;
	*found = id >= 0;
	if (!*found)
		return 0;
	if (min < 0)
		min = 0;
	if (count < 0 && max >= min)
		count = max - min + 1;
	if (count < 1 || id < min || id - min >= count)
		return sb_error(err, "bad SLURM_ARRAY_TASK_ID=%ld: expected "
				"SLURM_ARRAY_TASK_COUNT or SLURM_ARRAY_TASK_MIN/"
				"MAX around it (an array --array=0-N-1)", id);
	*shard = (struct sb_shard){(size_t)(id - min), (size_t)count,
				   "SLURM_ARRAY_TASK_ID"};
	return 0;
}

int sb_shard_from_env(struct sb_shard *shard, struct sb_error *err)
{
	*shard = (struct sb_shard){0, 1, NULL};
	bool found = false;
	if (env_slurm_array(shard, &found, err))
		return -1;
	if (!found && env_pair(shard, "OMPI_COMM_WORLD_RANK",
			       "OMPI_COMM_WORLD_SIZE", &found, err))
		return -1;
	if (!found && env_pair(shard, "PMI_RANK", "PMI_SIZE", &found, err))
		return -1;
	return 0;
}

char *sb_shard_name(const struct sb_shard *shard)
{
	return sb_asprintf("%zu/%zu", shard->index, shard->count);
}

/* ---- cost and assignment ----------------------------------------------- */

int sb_shard_costs(const struct sb_spec *spec, double *cost,
		   struct sb_error *err)
{
	/* Runs of equal data and model have equal parameter counts: each
	 * pair is opened once, at its first run. */
	char **keys = sb_calloc(spec->n_runs, sizeof *keys);
	double *n_params = sb_calloc(spec->n_runs, sizeof *n_params);
	size_t n_keys = 0;
	int rc = 0;
	for (size_t i = 0; i < spec->n_runs && !rc; i++) {
		const struct sb_run_cfg *run = &spec->runs[i];
		char *key = sb_inputs_key(run);
		size_t k = 0;
		while (k < n_keys && strcmp(keys[k], key))
			k++;
		if (k < n_keys) {
			free(key);
		} else {
			size_t count;
			keys[n_keys++] = key;
			rc = sb_inputs_count(run, &count, err);
			n_params[k] = (double)count;
		}
		cost[i] = (double)sb_values_int(&run->train_cfg, "steps") *
			  (double)sb_values_int(&run->train_cfg, "batch_size") *
			  n_params[k];
	}
	for (size_t k = 0; k < n_keys; k++)
		free(keys[k]);
	free(keys);
	free(n_params);
	return rc;
}

struct by_cost {
	const double *cost;
	size_t run;
};

static int costlier_first(const void *a, const void *b)
{
	const struct by_cost *x = a, *y = b;
	double cx = x->cost[x->run], cy = y->cost[y->run];
	if (cx != cy)
		return cx > cy ? -1 : 1;
	return x->run < y->run ? -1 : x->run > y->run;
}

void sb_shard_assign(const double *cost, size_t n_runs, size_t count,
		     size_t *owner)
{
	struct by_cost *order = sb_calloc(n_runs ? n_runs : 1, sizeof *order);
	double *load = sb_calloc(count, sizeof *load);
	for (size_t i = 0; i < n_runs; i++)
		order[i] = (struct by_cost){cost, i};
	qsort(order, n_runs, sizeof *order, costlier_first);
	/* Invariant: load[s] is the cost of the runs given to shard s so
	 * far, and every one of them costs at least the current run. */
	for (size_t r = 0; r < n_runs; r++) {
		size_t best = 0;
		for (size_t s = 1; s < count; s++)
			if (load[s] < load[best])
				best = s;
		owner[order[r].run] = best;
		load[best] += cost[order[r].run];
	}
	free(load);
	free(order);
}

int sb_shard_select(const struct sb_spec *spec, const struct sb_shard *shard,
		    bool *mine, struct sb_error *err)
{
	size_t n = spec->n_runs;
	if (shard->count <= 1) {
		for (size_t i = 0; i < n; i++)
			mine[i] = true;
		return 0;
	}
	double *cost = sb_calloc(n ? n : 1, sizeof *cost);
	size_t *owner = sb_calloc(n ? n : 1, sizeof *owner);
	int rc = sb_shard_costs(spec, cost, err);
	if (!rc)
		sb_shard_assign(cost, n, shard->count, owner);
	for (size_t i = 0; i < n; i++)
		mine[i] = !rc && owner[i] == shard->index;
	free(owner);
	free(cost);
	return rc;
}

/* ---- threads ----------------------------------------------------------- */

long sb_shard_threads(void)
{
	static const char *const local_ranks[] = {
		"OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS",
		"SLURM_NTASKS_PER_NODE",
	};
	struct sb_error ignored;
	long cores = sysconf(_SC_NPROCESSORS_ONLN), n;
	if (cores < 1)
		cores = 1;
	for (size_t i = 0; i < sizeof local_ranks / sizeof *local_ranks; i++)
		if (!env_count(local_ranks[i], &n, &ignored) && n >= 1)
			return cores / n > 1 ? cores / n : 1;
	/* Slurm gives each task its own CPUs: use them all. */
	if (!env_count("SLURM_CPUS_PER_TASK", &n, &ignored) && n >= 1)
		return n;
	return 0;
}
