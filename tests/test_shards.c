/* test_shards.c - a spec run as one process, as two --shard processes and
 * under mpirun, merged, and compared run by run; a killed shard resumed;
 * merge's refusals; the share and threads taken from launcher variables.
 * End-to-end parts drive the real binary (SB_BIN) on real files. */
#define _POSIX_C_SOURCE 200809L
#include "support.h"

#include "io/h5util.h"
#include "io/results.h"
#include "run/shard.h"
#include "util.h"

#include <hdf5.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char tmpdir[256];
static char spec[512], slow_spec[512];
static const char *bin;

/* The slow spec's runs take ~0.4 s each, so that a kill lands between a
 * shard's first and last run. */
static const char slow_text[] =
	"name: slow\n"
	"dataset: {name: synthetic, n_train: 1024}\n"
	"model: {name: mlp, hidden: 128, layers: 2}\n"
	"train: {steps: 300, batch_size: 32, eval_every: 100}\n"
	"seeds: [1, 2]\n"
	"density: 0.05\n"
	"policy: [dense, random]\n"
	"optimizer: {name: dense_adam, lr: 0.01}\n";

/* Runs a shell command in tmpdir, output to tmpdir/out and tmpdir/err. */
static int sh(const char *fmt, ...)
{
	char cmd[2048], full[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	snprintf(full, sizeof full, "cd '%s' && ( %s ) >out 2>err", tmpdir,
		 cmd);
	int st = system(full);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char *slurp(const char *name)
{
	char *path = sb_test_path(tmpdir, name);
	char *text = sb_test_read_file(path, NULL);
	free(path);
	assert_non_null(text);
	return text;
}

static void assert_err_has(const char *part)
{
	char *text = slurp("err");
	if (!strstr(text, part))
		fail_msg("stderr '%s' lacks '%s'", text, part);
	free(text);
}

static void load(struct sb_results_view *view, const char *name)
{
	char *path = sb_test_path(tmpdir, name);
	struct sb_error err = {{0}};
	if (sb_results_load(view, path, &err))
		fail_msg("%s", err.msg);
	free(path);
}

/* ---- comparing two results files run by run ---- */

/* Attributes a process measures of itself rather than of the run: where
 * it ran, its peak memory (which grows with the runs it made before) and
 * times (units "s"). Timing series (t_*) are skipped below. */
static bool provenance(hid_t group, const char *name)
{
	if (!strcmp(name, "host") || !strcmp(name, "shard") ||
	    !strcmp(name, "peak_rss_bytes"))
		return true;
	char units[300];
	snprintf(units, sizeof units, "%s.units", name);
	char *text = sb_h5_attr_str(group, units);
	bool time = text && !strcmp(text, "s");
	free(text);
	return time;
}

/* The raw bytes of an attribute, in its file type (fresh; size in *n). */
static void *attr_bytes(hid_t obj, const char *name, size_t *n)
{
	hid_t attr = H5Aopen(obj, name, H5P_DEFAULT);
	if (attr < 0)
		fail_msg("attribute '%s' missing", name);
	hid_t type = H5Aget_type(attr), space = H5Aget_space(attr);
	*n = H5Tget_size(type) * (size_t)H5Sget_simple_extent_npoints(space);
	void *buf = sb_calloc(*n + 1, 1);
	assert_true(H5Aread(attr, type, buf) >= 0);
	H5Sclose(space);
	H5Tclose(type);
	H5Aclose(attr);
	return buf;
}

static void compare_attrs(hid_t a, hid_t b, const char *id)
{
	H5O_info_t ia, ib;
	assert_true(H5Oget_info(a, &ia) >= 0 && H5Oget_info(b, &ib) >= 0);
	assert_int_equal(ia.num_attrs, ib.num_attrs);
	for (hsize_t k = 0; k < ia.num_attrs; k++) {
		char name[256];
		assert_true(H5Aget_name_by_idx(a, ".", H5_INDEX_NAME,
					       H5_ITER_INC, k, name,
					       sizeof name, H5P_DEFAULT) > 0);
		if (provenance(a, name))
			continue;
		size_t na, nb;
		void *va = attr_bytes(a, name, &na), *vb = attr_bytes(b, name,
								      &nb);
		if (na != nb || memcmp(va, vb, na))
			fail_msg("run '%s': attribute '%s' differs", id, name);
		free(va);
		free(vb);
	}
}

static double *column(hid_t group, const char *path, size_t *n)
{
	hid_t ds = H5Dopen2(group, path, H5P_DEFAULT);
	if (ds < 0)
		fail_msg("series '%s' missing", path);
	hid_t space = H5Dget_space(ds);
	*n = (size_t)H5Sget_simple_extent_npoints(space);
	double *v = sb_calloc(*n + 1, sizeof *v);
	assert_true(H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL,
			    H5P_DEFAULT, v) >= 0);
	H5Sclose(space);
	H5Dclose(ds);
	return v;
}

/* Every series bit for bit (NaN patterns included), timings by length. */
static void compare_series(hid_t a, hid_t b, const char *group,
			   const struct sb_column *cols, const char *id)
{
	for (size_t c = 0; cols[c].name; c++) {
		char path[128];
		snprintf(path, sizeof path, "%s/%s", group, cols[c].name);
		size_t na, nb;
		double *va = column(a, path, &na), *vb = column(b, path, &nb);
		assert_int_equal(na, nb);
		if (strncmp(cols[c].name, "t_", 2) &&
		    memcmp(va, vb, na * sizeof *va))
			fail_msg("run '%s': series '%s' differs", id, path);
		free(va);
		free(vb);
	}
}

/* The same runs in the same order, each with equal data and attributes
 * (provenance and timings aside); the root's spec and grid equal. */
static void compare_files(const char *one, const char *other)
{
	struct sb_results_view a, b;
	load(&a, one);
	load(&b, other);
	assert_int_equal(a.n_runs, b.n_runs);
	assert_int_equal(a.n_damaged + b.n_damaged, 0);
	assert_string_equal(a.spec_text, b.spec_text);
	char *ga = sb_h5_attr_str(a.file, "grid");
	char *gb = sb_h5_attr_str(b.file, "grid");
	assert_non_null(ga);
	assert_string_equal(ga, gb);
	free(ga);
	free(gb);
	for (size_t i = 0; i < a.n_runs; i++) {
		const char *id = a.runs[i].id;
		assert_string_equal(id, b.runs[i].id);
		char path[512];
		snprintf(path, sizeof path, "runs/%s", id);
		hid_t ra = H5Gopen2(a.file, path, H5P_DEFAULT);
		hid_t rb = H5Gopen2(b.file, path, H5P_DEFAULT);
		assert_true(ra >= 0 && rb >= 0);
		compare_attrs(ra, rb, id);
		compare_series(ra, rb, "steps", sb_step_columns, id);
		compare_series(ra, rb, "evals", sb_eval_columns, id);
		H5Gclose(ra);
		H5Gclose(rb);
	}
	sb_results_view_release(&a);
	sb_results_view_release(&b);
}

/* Each run of a merged file names the shard that made it and a host;
 * both of `count` shards made some. */
static void assert_made_by_shards(const char *name, size_t count)
{
	struct sb_results_view v;
	load(&v, name);
	size_t made[8] = {0};
	for (size_t i = 0; i < v.n_runs; i++) {
		char path[512];
		snprintf(path, sizeof path, "runs/%s", v.runs[i].id);
		hid_t g = H5Gopen2(v.file, path, H5P_DEFAULT);
		char *shard = sb_h5_attr_str(g, "shard");
		char *host = sb_h5_attr_str(g, "host");
		assert_non_null(shard);
		assert_true(host && *host);
		size_t index, of;
		assert_int_equal(sscanf(shard, "%zu/%zu", &index, &of), 2);
		assert_int_equal(of, count);
		made[index]++;
		free(shard);
		free(host);
		H5Gclose(g);
	}
	for (size_t s = 0; s < count; s++)
		assert_true(made[s] > 0);
	sb_results_view_release(&v);
}

/* ---- fixtures ---- */

static int setup(void **state)
{
	(void)state;
	sb_h5_quiet();
	bin = getenv("SB_BIN");
	static char abs_bin[512];
	char cwd[256];
	if (!getcwd(cwd, sizeof cwd))
		return -1;
	if (!bin)
		bin = "bin/sparsebench";
	if (bin[0] != '/') {
		snprintf(abs_bin, sizeof abs_bin, "%s/%s", cwd, bin);
		bin = abs_bin;
	}
	snprintf(spec, sizeof spec, "%s/tests/specs/shards.yaml", cwd);
	if (sb_test_tmpdir(tmpdir, sizeof tmpdir, "shards"))
		return -1;
	snprintf(slow_spec, sizeof slow_spec, "%s/slow.yaml", tmpdir);
	FILE *f = fopen(slow_spec, "w");
	if (!f)
		return -1;
	fputs(slow_text, f);
	fclose(f);
	/* The reference: the whole grid in one process. */
	return sh("'%s' run '%s' -o one.h5 --quiet", bin, spec) ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	return sb_test_rmtree(tmpdir);
}

/* ---- the share's number ---- */

static void test_parse_accepts_i_of_n_and_refuses_the_rest(void **state)
{
	(void)state;
	struct sb_shard sh;
	struct sb_error err = {{0}};
	assert_int_equal(sb_shard_parse(&sh, "3/8", &err), 0);
	assert_int_equal(sh.index, 3);
	assert_int_equal(sh.count, 8);
	static const char *const bad[] = {"8/8", "0/0", "9/8", "a/2", "1/",
					  "/2", "-1/2", "1/2x", "1", ""};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		if (!sb_shard_parse(&sh, bad[i], &err))
			fail_msg("'%s' accepted", bad[i]);
	assert_int_equal(sb_shard_parse(&sh, "2/2", &err), -1);
	assert_error(&err, "I must be below N");
}

static void clear_launcher_env(void)
{
	static const char *const vars[] = {
		"SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT",
		"SLURM_ARRAY_TASK_MIN", "SLURM_ARRAY_TASK_MAX",
		"OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "PMI_RANK",
		"PMI_SIZE", "OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS",
		"SLURM_NTASKS_PER_NODE", "SLURM_CPUS_PER_TASK",
	};
	for (size_t i = 0; i < sizeof vars / sizeof *vars; i++)
		unsetenv(vars[i]);
}

static void test_env_gives_the_launcher_s_share(void **state)
{
	(void)state;
	struct sb_shard sh;
	struct sb_error err = {{0}};
	clear_launcher_env();
	assert_int_equal(sb_shard_from_env(&sh, &err), 0);
	assert_int_equal(sh.count, 1);
	/* --array=3-6: task 5 is the third of four */
	setenv("SLURM_ARRAY_TASK_ID", "5", 1);
	setenv("SLURM_ARRAY_TASK_MIN", "3", 1);
	setenv("SLURM_ARRAY_TASK_MAX", "6", 1);
	assert_int_equal(sb_shard_from_env(&sh, &err), 0);
	assert_int_equal(sh.index, 2);
	assert_int_equal(sh.count, 4);
	clear_launcher_env();
	setenv("SLURM_ARRAY_TASK_ID", "1", 1);
	setenv("SLURM_ARRAY_TASK_COUNT", "2", 1);
	assert_int_equal(sb_shard_from_env(&sh, &err), 0);
	assert_true(sh.index == 1 && sh.count == 2);
	clear_launcher_env();
	setenv("OMPI_COMM_WORLD_RANK", "6", 1);
	setenv("OMPI_COMM_WORLD_SIZE", "7", 1);
	assert_int_equal(sb_shard_from_env(&sh, &err), 0);
	assert_true(sh.index == 6 && sh.count == 7);
	clear_launcher_env();
	setenv("PMI_RANK", "0", 1);
	setenv("PMI_SIZE", "3", 1);
	assert_int_equal(sb_shard_from_env(&sh, &err), 0);
	assert_true(sh.index == 0 && sh.count == 3);
	setenv("PMI_RANK", "3", 1);
	assert_int_equal(sb_shard_from_env(&sh, &err), -1);
	assert_error(&err, "PMI_RANK");
	setenv("PMI_RANK", "x", 1);
	assert_int_equal(sb_shard_from_env(&sh, &err), -1);
	assert_error(&err, "bad PMI_RANK 'x'");
	clear_launcher_env();
}

static void test_threads_split_the_node(void **state)
{
	(void)state;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	clear_launcher_env();
	assert_int_equal(sb_shard_threads(), 0);
	setenv("OMPI_COMM_WORLD_LOCAL_SIZE", "1", 1);
	assert_int_equal(sb_shard_threads(), cores);
	setenv("OMPI_COMM_WORLD_LOCAL_SIZE", "2", 1);
	assert_int_equal(sb_shard_threads(), cores / 2 > 1 ? cores / 2 : 1);
	/* more ranks than cores: still one thread each */
	setenv("OMPI_COMM_WORLD_LOCAL_SIZE", "1000", 1);
	assert_int_equal(sb_shard_threads(), 1);
	clear_launcher_env();
	setenv("SLURM_CPUS_PER_TASK", "3", 1);
	assert_int_equal(sb_shard_threads(), 3);
	clear_launcher_env();
}

/* One run ten times the cost of nine others: by count each of two shards
 * would get five runs (loads 14 and 5); by cost the big run is alone. */
static void test_assign_balances_cost_not_count(void **state)
{
	(void)state;
	double cost[10] = {1, 1, 1, 10, 1, 1, 1, 1, 1, 1};
	size_t owner[10];
	sb_shard_assign(cost, 10, 2, owner);
	double load[2] = {0};
	for (size_t i = 0; i < 10; i++)
		load[owner[i]] += cost[i];
	assert_near(load[0], 10, 0); /* sums of small integers: exact */
	assert_near(load[1], 9, 0);
	for (size_t i = 0; i < 10; i++)
		assert_int_equal(owner[i], i == 3 ? 0 : 1);
	/* Equal costs: round robin in grid order, as even as counts go. */
	double flat[5] = {2, 2, 2, 2, 2};
	size_t o3[5];
	sb_shard_assign(flat, 5, 3, o3);
	size_t want[5] = {0, 1, 2, 0, 1};
	assert_memory_equal(o3, want, sizeof want);
}

/* ---- end to end ---- */

static void test_validate_lists_each_run_in_one_shard(void **state)
{
	(void)state;
	assert_int_equal(sh("'%s' validate '%s'", bin, spec), 0);
	char *all = slurp("out");
	size_t listed = 0;
	for (int s = 0; s < 3; s++) {
		assert_int_equal(sh("'%s' validate '%s' --shard %d/3", bin, spec,
				    s), 0);
		char *part = slurp("out");
		for (char *line = strstr(part, "\n  "); line;
		     line = strstr(line + 1, "\n  ")) {
			size_t len = strcspn(line + 1, "\n");
			char *run = sb_asprintf("%.*s\n", (int)len, line + 1);
			assert_non_null(strstr(all, run));
			free(run);
			listed++;
		}
		free(part);
	}
	assert_int_equal(listed, 6);
	free(all);
}

static void test_two_shards_merge_to_the_single_process_file(void **state)
{
	(void)state;
	for (int s = 0; s < 2; s++)
		assert_int_equal(sh("'%s' run '%s' --shard %d/2 --quiet", bin,
				    spec, s), 0);
	assert_int_equal(sh("'%s' merge two.h5 "
			    "results/shards.shard-0-of-2.h5 "
			    "results/shards.shard-1-of-2.h5", bin), 0);
	compare_files("one.h5", "two.h5");
	assert_made_by_shards("two.h5", 2);
	/* read directly, the shards show what the merged file shows */
	assert_int_equal(sh("'%s' show two.h5", bin), 0);
	char *merged = slurp("out");
	assert_int_equal(sh("'%s' show results/shards.shard-1-of-2.h5 "
			    "results/shards.shard-0-of-2.h5", bin), 0);
	char *direct = slurp("out");
	/* The header line carries the first file's creation time: the
	 * table below it is the same whatever order the shards come in. */
	assert_non_null(strchr(merged, '\n'));
	assert_string_equal(strchr(merged, '\n'), strchr(direct, '\n'));
	free(merged);
	free(direct);
	assert_int_equal(sh("'%s' report results/shards.shard-0-of-2.h5 "
			    "results/shards.shard-1-of-2.h5 --format csv",
			    bin), 0);
	char *shards = sb_test_path(tmpdir, "results");
	sb_test_rmtree(shards);
	free(shards);
}

static void test_mpirun_shards_merge_to_the_single_process_file(void **state)
{
	(void)state;
	if (system("command -v mpirun >/dev/null 2>&1"))
		fail_msg("mpirun not found: 'make deps' installs openmpi-bin");
	assert_int_equal(sh("mkdir mpi && cd mpi && mpirun --allow-run-as-root "
			    "--oversubscribe -np 2 '%s' run '%s' --quiet",
			    bin, spec), 0);
	assert_int_equal(sh("'%s' merge mpi.h5 "
			    "mpi/results/shards.shard-0-of-2.h5 "
			    "mpi/results/shards.shard-1-of-2.h5", bin), 0);
	compare_files("one.h5", "mpi.h5");
	assert_made_by_shards("mpi.h5", 2);
}

static size_t completed_runs(const char *name)
{
	char *path = sb_test_path(tmpdir, name);
	struct sb_results_view v;
	struct sb_error err = {{0}};
	size_t n = 0;
	if (access(path, F_OK) == 0 && !sb_results_load(&v, path, &err)) {
		for (size_t i = 0; i < v.n_runs; i++)
			n += !strcmp(v.runs[i].status, "completed");
		sb_results_view_release(&v);
	}
	free(path);
	return n;
}

/* Shard 0 of 2 is killed once its first run is published; resumed, it
 * runs only the rest, and the merge equals the one-process file. */
static void test_killed_shard_resumes(void **state)
{
	(void)state;
	char out[512];
	snprintf(out, sizeof out, "%s/slow0.h5", tmpdir);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		execl(bin, bin, "run", slow_spec, "--shard", "0/2", "--quiet",
		      "-o", out, (char *)NULL);
		_exit(127);
	}
	/* polls every 5 ms for at most 60 s */
	for (int i = 0; i < 12000 && completed_runs("slow0.h5") < 1; i++)
		nanosleep(&(struct timespec){0, 5000000}, NULL);
	kill(pid, SIGKILL);
	int st;
	waitpid(pid, &st, 0);
	assert_true(WIFSIGNALED(st)); /* killed before its second run ended */
	assert_int_equal(completed_runs("slow0.h5"), 1);

	assert_int_equal(sh("'%s' run '%s' --shard 0/2 -o slow0.h5 --resume",
			    bin, slow_spec), 0);
	assert_err_has("already completed");
	assert_int_equal(completed_runs("slow0.h5"), 2);
	assert_int_equal(sh("'%s' run '%s' --shard 1/2 -o slow1.h5 --quiet "
			    "&& '%s' run '%s' -o slow.h5 --quiet", bin,
			    slow_spec, bin, slow_spec), 0);
	assert_int_equal(sh("'%s' merge slowm.h5 slow0.h5 slow1.h5", bin), 0);
	compare_files("slow.h5", "slowm.h5");
}

/* Sets a root string attribute of a results file, as another build or
 * spec would have written it. */
static void set_root(const char *name, const char *attr, const char *value)
{
	char *path = sb_test_path(tmpdir, name);
	hid_t f = sb_h5_open_rw(path);
	assert_true(f >= 0);
	assert_int_equal(sb_h5_put_str(f, attr, value), 0);
	H5Fclose(f);
	free(path);
}

static void test_merge_refusals(void **state)
{
	(void)state;
	assert_int_equal(sh("'%s' run '%s' --shard 0/2 -o a.h5 --quiet && "
			    "'%s' run '%s' --shard 1/2 -o b.h5 --quiet && "
			    "cp b.h5 other_spec.h5 && cp b.h5 other_build.h5 "
			    "&& cp a.h5 a.copy", bin, spec, bin, spec), 0);
	set_root("other_spec.h5", "spec", "name: another\n");
	set_root("other_build.h5", "git_commit", "0123456789ab");

	assert_int_equal(sh("'%s' merge m.h5 a.h5 other_spec.h5", bin), 2);
	assert_err_has("different specs");
	assert_int_equal(sh("'%s' merge m.h5 a.h5 other_build.h5", bin), 2);
	assert_err_has("different git commits");
	assert_int_equal(sh("test -e m.h5"), 1);
	assert_int_equal(sh("'%s' merge m.h5 a.h5 other_build.h5 --force",
			    bin), 0);
	assert_err_has("warning: merged with --force");

	assert_int_equal(sh("'%s' merge half.h5 a.h5", bin), 2);
	assert_err_has("3 are in no shard");
	assert_int_equal(sh("test -e half.h5"), 1);
	assert_int_equal(sh("'%s' merge half.h5 a.h5 --partial", bin), 0);
	assert_err_has("missing run");

	assert_int_equal(sh("'%s' merge m.h5 a.h5 b.h5", bin), 2);
	assert_err_has("'m.h5' exists");
	assert_int_equal(sh("'%s' merge m.h5 a.h5 b.h5 --overwrite", bin), 0);
	compare_files("one.h5", "m.h5");
	assert_int_equal(sh("'%s' merge a.h5 a.h5 b.h5 --overwrite", bin), 2);
	assert_err_has("a shard is never overwritten");
	assert_int_equal(sh("'%s' merge ./a.h5 a.h5 b.h5", bin), 2);
	assert_err_has("a shard is never overwritten");
	assert_int_equal(sh("cmp a.h5 a.copy"), 0);
	assert_int_equal(sh("'%s' merge m.h5", bin), 2);
}

/* Under a launcher, a spec without `threads` runs each process with its
 * share of the node's cores, recorded in the run's config; a spec that
 * sets `threads` keeps it. */
static void test_threads_follow_the_local_ranks(void **state)
{
	(void)state;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	assert_int_equal(sh("OMPI_COMM_WORLD_LOCAL_SIZE=1 '%s' run '%s' "
			    "--only dense+dense_adam,seed=1 -o th.h5 --quiet",
			    bin, slow_spec), 0);
	assert_int_equal(sh("OMPI_COMM_WORLD_LOCAL_SIZE=1 '%s' run '%s' "
			    "--only dense+dense_adam,seed=1 -o fixed.h5 "
			    "--quiet", bin, spec), 0);
	struct sb_results_view v;
	char want[64];
	snprintf(want, sizeof want, "threads: %ld,", cores);
	load(&v, "th.h5");
	assert_non_null(strstr(v.runs[0].config_yaml, want));
	sb_results_view_release(&v);
	load(&v, "fixed.h5");
	assert_non_null(strstr(v.runs[0].config_yaml, "threads: 1,"));
	sb_results_view_release(&v);
}

static void test_bad_shard_values_exit_2(void **state)
{
	(void)state;
	static const char *const bad[] = {"2/2", "0/0", "one/two"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		assert_int_equal(sh("'%s' run '%s' --shard %s -o bad.h5", bin,
				    spec, bad[i]), 2);
		assert_err_has("bad shard");
	}
	assert_int_equal(sh("OMPI_COMM_WORLD_RANK=x OMPI_COMM_WORLD_SIZE=2 "
			    "'%s' run '%s' -o bad.h5", bin, spec), 2);
	assert_err_has("bad OMPI_COMM_WORLD_RANK 'x'");
	assert_int_equal(sh("test -e bad.h5"), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_accepts_i_of_n_and_refuses_the_rest),
		cmocka_unit_test(test_env_gives_the_launcher_s_share),
		cmocka_unit_test(test_threads_split_the_node),
		cmocka_unit_test(test_assign_balances_cost_not_count),
		cmocka_unit_test(test_validate_lists_each_run_in_one_shard),
		cmocka_unit_test(test_two_shards_merge_to_the_single_process_file),
		cmocka_unit_test(test_mpirun_shards_merge_to_the_single_process_file),
		cmocka_unit_test(test_killed_shard_resumes),
		cmocka_unit_test(test_merge_refusals),
		cmocka_unit_test(test_threads_follow_the_local_ranks),
		cmocka_unit_test(test_bad_shard_values_exit_2),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
