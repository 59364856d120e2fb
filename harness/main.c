/* main.c - the sparsebench command line (DESIGN.md "Command line"): the
 * only place that prints errors and chooses the exit code: 0 success,
 * 1 a run failed, 2 bad input (spec, file, argument). */
#include "analysis/claims.h"
#include "io/delta.h"
#include "io/merge.h"
#include "run/experiment.h"
#include "spec/params.h"
#include "analysis/plot.h"
#include "registry.h"
#include "analysis/report.h"
#include "analysis/show.h"
#include "run/shape.h"
#include "run/shard.h"
#include "spec/spec.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { EXIT_OK = 0, EXIT_RUN_FAILED = 1, EXIT_BAD_INPUT = 2 };

static const char usage_main[] =
	"usage: sparsebench <command> [options]\n"
	"\n"
	"commands:\n"
	"  run SPEC.yaml [-o OUT.h5] [--only PATTERN] [--shard I/N] [--resume]\n"
	"      [--quiet]     run every grid point of an experiment (or a shard)\n"
	"  validate SPEC.yaml [--shard I/N]\n"
	"                    check a spec and list its runs, train nothing\n"
	"  list [policies|optimizers|datasets|models]\n"
	"                    the plugins compiled in, with their parameters\n"
	"  merge OUT.h5 SHARD.h5... [--force] [--partial] [--overwrite]\n"
	"                    combine the results files of a spec's shards\n"
	"  apply BASE DELTA -o OUT [--overwrite]\n"
	"                    rebuild a fine-tuned checkpoint from its base and\n"
	"                    the sparse delta a run saved (train.save_delta)\n"
	"  show RESULTS.h5...  a table of the runs in a results file\n"
	"  plot RESULTS.h5... [--out DIR] [--format pdf,png,svg] [FIGURE...]\n"
	"                    draw the figures with gnuplot\n"
	"  report RESULTS.h5... [--format md|latex|csv] [--all] [--claims]\n"
	"                    one row per method, ready for a paper; or the\n"
	"                    seed's claims checked against the numbers\n"
	"\n"
	"Several RESULTS.h5: the shards of one spec, read as one file.\n"
	"'sparsebench <command> --help' describes a command.\n"
	"exit codes: 0 success, 1 a run failed, 2 bad input\n";

static const char usage_run[] =
	"usage: sparsebench run SPEC.yaml [-o OUT.h5] [--only PATTERN] "
	"[--shard I/N] [--resume] [--quiet]\n"
	"\n"
	"Validates the whole spec, makes missing checkpoints by running the\n"
	"specs named in checkpoint_spec, then trains every grid point and\n"
	"writes results/<name>.h5 (or OUT.h5), flushed at every evaluation.\n"
	"\n"
	"  -o OUT.h5        results file (default results/<name>.h5)\n"
	"  --only PATTERN   only runs whose id matches (fnmatch, or substring)\n"
	"  --shard I/N      only shard I of N (0 <= I < N), balanced by expected\n"
	"                   cost, into results/<name>.shard-I-of-N.h5; without\n"
	"                   it, the shard a launcher sets (Slurm job array,\n"
	"                   mpirun: docs/cluster.md); merge the shards with\n"
	"                   'sparsebench merge'\n"
	"  --resume         continue an existing results file of the same spec:\n"
	"                   completed and diverged runs are kept, others re-run\n"
	"  --quiet          no progress lines\n";

static const char usage_validate[] =
	"usage: sparsebench validate SPEC.yaml [--shard I/N]\n"
	"\n"
	"Parses and checks the spec (keys, types, ranges, plugin names, files)\n"
	"and prints its runs, or with --shard those of shard I of N, after a\n"
	"line 'shape: ...' for each checkpoint that gives a model its shape.\n"
	"Errors read FILE:LINE:COL: message (exit 2).\n";

static const char usage_list[] =
	"usage: sparsebench list [policies|optimizers|datasets|models]\n"
	"\n"
	"Prints each plugin with its summary and declared parameters (type,\n"
	"default, allowed values), and the core's own sections.\n";

static const char usage_merge[] =
	"usage: sparsebench merge OUT.h5 SHARD.h5... [--force] [--partial] "
	"[--overwrite]\n"
	"\n"
	"Writes OUT.h5 with the runs of the shards in grid order, each copied\n"
	"byte for byte, as one process would have written them. Refuses (exit\n"
	"2) shards of different specs or builds, an OUT.h5 that is a shard or\n"
	"exists, and runs missing or unfinished in every shard.\n"
	"\n"
	"  --force          merge shards of different specs or git commits\n"
	"  --partial        write the runs there are; still lists the others\n"
	"  --overwrite      replace an existing OUT.h5 (never a shard)\n";

static const char usage_apply[] =
	"usage: sparsebench apply BASE DELTA -o OUT [--overwrite]\n"
	"\n"
	"Writes OUT, a checkpoint (model: {checkpoint: OUT}) of the fine-tuned\n"
	"parameters: BASE (the run's model.checkpoint: a checkpoint or llm.c\n"
	"weights) with the changes of DELTA (written by train.save_delta),\n"
	"bit for bit. Refuses (exit 2) a BASE whose checksum is not the one\n"
	"DELTA was made for, a damaged DELTA and an existing OUT; OUT is\n"
	"written whole or not at all.\n"
	"\n"
	"  -o OUT           the checkpoint to write\n"
	"  --overwrite      replace an existing OUT\n";

static const char usage_show[] =
	"usage: sparsebench show RESULTS.h5...\n"
	"\n"
	"Prints one row per run: status, steps, losses, metrics, time.\n"
	"Several files: the shards of one spec, read as one.\n";

static const char usage_plot[] =
	"usage: sparsebench plot RESULTS.h5... [--out DIR] [--format pdf,png,svg] "
	"[FIGURE...]\n"
	"\n"
	"Draws the figures (default: all that apply) with gnuplot; beside each\n"
	"figure its .gp script and .dat data. Default DIR: results/<stem>/,\n"
	"for several shard files <their folder>/<experiment>/.\n";

static const char usage_report[] =
	"usage: sparsebench report RESULTS.h5... [--format md|latex|csv] [--all] "
	"[--claims]\n"
	"\n"
	"One row per method (x density): the test metric of the setting with\n"
	"the best mean validation metric, mean +- std over seeds; --all shows\n"
	"every setting. --claims prints instead, for each of the seed's claims\n"
	"the file can judge, the numbers and whether they support it.\n"
	"Several files: the shards of one spec, read as one.\n";

static int bad_usage(const char *usage, const char *fmt, const char *arg)
{
	fprintf(stderr, "error: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n%s", usage);
	return EXIT_BAD_INPUT;
}

static bool is_help(const char *arg)
{
	return !strcmp(arg, "--help") || !strcmp(arg, "-h");
}

static int fail(const struct sb_error *err, int code)
{
	fprintf(stderr, "error: %s\n", err->msg);
	return code;
}

/* Draws figures and says on stderr which were drawn, or why not. */
static int draw(const char *path, const char *out, const char *formats,
		const char *const *only, size_t n_only)
{
	struct sb_error err = {{0}};
	struct sb_plot_summary sum = {0};
	int rc = sb_plot_draw(path, out, formats, only, n_only, &sum, &err);
	for (size_t i = 0; i < sum.n; i++) {
		const struct sb_plot_figure *f = &sum.figures[i];
		if (f->drawn)
			fprintf(stderr, "figure %s/%s\n", sum.dir, f->name);
		else if (!f->written && f->why)
			fprintf(stderr, "figure %s skipped: %s\n", f->name,
				f->why);
	}
	sb_plot_summary_release(&sum);
	return rc ? fail(&err, EXIT_BAD_INPUT) : EXIT_OK;
}

/* ---- run, validate ---- */

/* The share of this process: --shard I/N, else the launcher's, else the
 * whole grid; mine[] gets its runs (freshly allocated). */
static int resolve_shard(const struct sb_spec *spec, const char *arg,
			 struct sb_shard *shard, bool **mine,
			 struct sb_error *err)
{
	*mine = sb_calloc(spec->n_runs ? spec->n_runs : 1, sizeof **mine);
	if (arg ? sb_shard_parse(shard, arg, err)
		: sb_shard_from_env(shard, err))
		return -1;
	return sb_shard_select(spec, shard, *mine, err);
}

static int cmd_run(int argc, char **argv)
{
	struct sb_experiment_opts opts = {0};
	const char *spec_path = NULL, *shard_arg = NULL;
	bool quiet = false;
	for (int i = 1; i < argc; i++) {
		if (is_help(argv[i])) {
			fputs(usage_run, stdout);
			return EXIT_OK;
		} else if (!strcmp(argv[i], "-o") && i + 1 < argc) {
			opts.out = argv[++i];
		} else if (!strcmp(argv[i], "--only") && i + 1 < argc) {
			opts.only = argv[++i];
		} else if (!strcmp(argv[i], "--shard") && i + 1 < argc) {
			shard_arg = argv[++i];
		} else if (!strcmp(argv[i], "--resume")) {
			opts.resume = true;
		} else if (!strcmp(argv[i], "--quiet")) {
			quiet = true;
		} else if (argv[i][0] == '-' || spec_path) {
			return bad_usage(usage_run, "unexpected argument '%s'",
					 argv[i]);
		} else {
			spec_path = argv[i];
		}
	}
	if (!spec_path)
		return bad_usage(usage_run, "%s", "missing SPEC.yaml");

	struct sb_error err = {{0}};
	struct sb_spec spec;
	if (sb_spec_load(&spec, spec_path, &err))
		return fail(&err, EXIT_BAD_INPUT);
	/* shards are balanced by parameter count: the shapes first */
	if (sb_shape_from_checkpoints(&spec, NULL, &err)) {
		sb_spec_release(&spec);
		return fail(&err, EXIT_BAD_INPUT);
	}
	struct sb_shard shard;
	bool *mine;
	if (resolve_shard(&spec, shard_arg, &shard, &mine, &err)) {
		free(mine);
		sb_spec_release(&spec);
		return fail(&err, EXIT_BAD_INPUT);
	}
	opts.mine = mine;
	opts.shard = &shard;
	/* Processes sharing a node share its cores. */
	sb_spec_default_threads(&spec, sb_shard_threads());
	struct sb_progress prog;
	sb_progress_init(&prog, quiet);
	int rc = sb_experiment_run(&spec, &opts, &prog, &err);
	bool plots_failed = false;
	free(mine);
	if (rc == 2) {
		sb_spec_release(&spec);
		return fail(&err, EXIT_RUN_FAILED);
	}
	if (rc >= 0) {
		char *out = opts.out ? sb_strdup(opts.out)
				     : sb_experiment_default_out(&spec, &shard);
		/* A shard's figures would show part of the grid: the figures
		 * are drawn from the merged file. */
		if (spec.n_plots && shard.count == 1)
			plots_failed = draw(out, NULL, NULL,
					    (const char *const *)spec.plots,
					    spec.n_plots) != EXIT_OK;
		fflush(stderr);
		if (sb_show(out, stdout, &err))
			rc = -1;
		free(out);
	}
	sb_spec_release(&spec);
	if (rc < 0)
		return fail(&err, EXIT_BAD_INPUT);
	return rc || plots_failed ? EXIT_RUN_FAILED : EXIT_OK;
}

static int cmd_validate(int argc, char **argv)
{
	const char *spec_path = NULL, *shard_arg = NULL;
	for (int i = 1; i < argc; i++) {
		if (is_help(argv[i])) {
			fputs(usage_validate, stdout);
			return EXIT_OK;
		} else if (!strcmp(argv[i], "--shard") && i + 1 < argc) {
			shard_arg = argv[++i];
		} else if (argv[i][0] == '-' || spec_path) {
			return bad_usage(usage_validate,
					 "unexpected argument '%s'", argv[i]);
		} else {
			spec_path = argv[i];
		}
	}
	if (!spec_path)
		return bad_usage(usage_validate, "%s", "missing SPEC.yaml");
	struct sb_error err = {{0}};
	struct sb_spec spec;
	if (sb_spec_load(&spec, spec_path, &err))
		return fail(&err, EXIT_BAD_INPUT);
	struct sb_strbuf notes = {0};
	if (sb_shape_from_checkpoints(&spec, &notes, &err)) {
		free(notes.s);
		sb_spec_release(&spec);
		return fail(&err, EXIT_BAD_INPUT);
	}
	struct sb_shard shard = {0, 1, NULL};
	bool *mine = sb_calloc(spec.n_runs ? spec.n_runs : 1, sizeof *mine);
	if ((shard_arg && sb_shard_parse(&shard, shard_arg, &err)) ||
	    sb_shard_select(&spec, &shard, mine, &err)) {
		free(notes.s);
		free(mine);
		sb_spec_release(&spec);
		return fail(&err, EXIT_BAD_INPUT);
	}
	size_t n_mine = 0;
	for (size_t i = 0; i < spec.n_runs; i++)
		n_mine += mine[i];
	printf("%s: ok: experiment '%s', %zu run%s", spec.path, spec.name,
	       spec.n_runs, spec.n_runs == 1 ? "" : "s");
	if (shard_arg)
		printf("; shard %zu/%zu: %zu run%s", shard.index, shard.count,
		       n_mine, n_mine == 1 ? "" : "s");
	printf("\n");
	/* "shape: model 'gpt' from 'x.bin': n_layer 12, ..." */
	for (char *line = notes.s, *eol; line && *line; line = eol + 1) {
		eol = strchr(line, '\n');
		printf("shape: %.*s\n", (int)(eol - line), line);
	}
	for (size_t i = 0; i < spec.n_runs; i++)
		if (mine[i])
			printf("  %s\n", spec.runs[i].id);
	free(notes.s);
	free(mine);
	sb_spec_release(&spec);
	return EXIT_OK;
}

/* ---- list ---- */

static const char *type_name(enum sb_type t)
{
	static const char *const names[] = {
		[SB_INT] = "int", [SB_FLOAT] = "float", [SB_BOOL] = "bool",
		[SB_STRING] = "string", [SB_CHOICE] = "choice",
		[SB_STRINGS] = "strings", [SB_INTS] = "ints",
	};
	return names[t];
}

static void print_params(const struct sb_param *params)
{
	for (const struct sb_param *p = params; p && p->name; p++) {
		char allowed[128] = "";
		if (p->type == SB_CHOICE)
			snprintf(allowed, sizeof allowed, "%s", p->choices);
		else if (p->ranged)
			snprintf(allowed, sizeof allowed, "%c%g, %g%c",
				 p->lo_open ? '(' : '[', p->lo, p->hi,
				 p->hi_open ? ')' : ']');
		const char *def = !p->def ? "(required)" : *p->def ? p->def
								    : "\"\"";
		printf("      %-18s %-7s %-12s %-18s %s%s\n", p->name,
		       type_name(p->type), def, allowed,
		       p->help ? p->help : "",
		       p->from_checkpoint ? " (default with a checkpoint: "
					    "the checkpoint's)" : "");
	}
}

/* What `list` says above each family's plugins. */
static const char *const list_titles[SB_N_FAMILIES] = {
	[SB_FAMILY_POLICY] = "policies (scoped ones also take the scope "
			     "parameters)",
	[SB_FAMILY_OPTIMIZER] = "optimizers (all take the schedule parameters)",
	[SB_FAMILY_DATASET] = "datasets",
	[SB_FAMILY_MODEL] = "models (all take the checkpoint parameters)",
};

static int cmd_list(int argc, char **argv)
{
	const char *which = argc > 1 ? argv[1] : NULL;
	if (which && is_help(which)) {
		fputs(usage_list, stdout);
		return EXIT_OK;
	}
	bool known = !which;
	for (int f = 0; which && f < SB_N_FAMILIES; f++)
		known |= !strcmp(which, sb_family_names[f]);
	if (!known || argc > 2)
		return bad_usage(usage_list, "unknown plugin family '%s'",
				 which);
	for (int f = 0; f < SB_N_FAMILIES; f++) {
		if (which && strcmp(which, sb_family_names[f]))
			continue;
		printf("%s:\n", list_titles[f]);
		for (size_t i = 0; i < sb_registry_count(f); i++) {
			struct sb_plugin p = sb_registry_plugin(f, i);
			printf("  %-16s %s\n", p.name, p.summary);
			if (f == SB_FAMILY_POLICY)
				printf("      reads the full gradient: %s\n",
				       sb_grad_need_name(((const struct sb_policy *)
							  p.desc)->grad_need));
			print_params(sb_params_core(&p));
			print_params(p.params);
		}
	}
	if (!which) {
		printf("train (the `train:` section):\n");
		print_params(sb_train_params);
	}
	return EXIT_OK;
}

/* ---- merge ---- */

/* Says on stderr which runs a merge lacks or left unfinished. */
static void merge_notes(const struct sb_merge_report *rep)
{
	if (rep->forced)
		fprintf(stderr, "warning: merged with --force: %s\n",
			rep->forced);
	for (size_t i = 0; i < rep->n_missing; i++)
		fprintf(stderr, "missing run '%s' (in no shard)\n",
			rep->missing[i]);
	for (size_t i = 0; i < rep->n_unfinished; i++)
		fprintf(stderr, "unfinished run '%s' (still running, or its "
			"process was stopped)\n", rep->unfinished[i]);
}

static int cmd_merge(int argc, char **argv)
{
	struct sb_merge_opts opts = {0};
	const char **paths = sb_calloc((size_t)argc, sizeof *paths);
	size_t n = 0;
	for (int i = 1; i < argc; i++) {
		if (is_help(argv[i])) {
			fputs(usage_merge, stdout);
			free(paths);
			return EXIT_OK;
		} else if (!strcmp(argv[i], "--force")) {
			opts.force = true;
		} else if (!strcmp(argv[i], "--partial")) {
			opts.partial = true;
		} else if (!strcmp(argv[i], "--overwrite")) {
			opts.overwrite = true;
		} else if (argv[i][0] == '-') {
			free(paths);
			return bad_usage(usage_merge, "unexpected argument '%s'",
					 argv[i]);
		} else {
			paths[n++] = argv[i];
		}
	}
	if (n < 2) {
		free(paths);
		return bad_usage(usage_merge, "%s",
				 "expected OUT.h5 and at least one SHARD.h5");
	}
	struct sb_error err = {{0}};
	struct sb_merge_report rep;
	int rc = sb_merge(paths[0], paths + 1, n - 1, &opts, &rep, &err);
	merge_notes(&rep);
	if (!rc)
		fprintf(stderr, "merged %zu of %zu runs from %zu shard%s into "
			"'%s'\n", rep.n_merged, rep.n_grid, n - 1,
			n == 2 ? "" : "s", paths[0]);
	sb_merge_report_release(&rep);
	free(paths);
	return rc ? fail(&err, EXIT_BAD_INPUT) : EXIT_OK;
}

/* ---- apply ---- */

static int cmd_apply(int argc, char **argv)
{
	const char *paths[2] = {NULL, NULL}, *out = NULL;
	bool overwrite = false;
	size_t n = 0;
	for (int i = 1; i < argc; i++) {
		if (is_help(argv[i])) {
			fputs(usage_apply, stdout);
			return EXIT_OK;
		} else if (!strcmp(argv[i], "-o") && i + 1 < argc) {
			out = argv[++i];
		} else if (!strcmp(argv[i], "--overwrite")) {
			overwrite = true;
		} else if (argv[i][0] == '-' || n == 2) {
			return bad_usage(usage_apply,
					 "unexpected argument '%s'", argv[i]);
		} else {
			paths[n++] = argv[i];
		}
	}
	if (n < 2)
		return bad_usage(usage_apply, "%s", "expected BASE and DELTA");
	if (!out)
		return bad_usage(usage_apply, "%s", "missing -o OUT");
	struct sb_error err = {{0}};
	if (sb_delta_apply(paths[0], paths[1], out, overwrite, &err))
		return fail(&err, EXIT_BAD_INPUT);
	fprintf(stderr, "wrote '%s' from base '%s' and delta '%s'\n", out,
		paths[0], paths[1]);
	return EXIT_OK;
}

/* ---- show, plot, report ---- */

/* The results a reader reads: one file as it is, or several shard files
 * merged (missing runs allowed) into a private temporary folder that
 * results_done removes. */
struct results_in {
	char *path, *dir, *experiment;
};

static int results_in_open(struct results_in *in, const char *const *paths,
			   size_t n, struct sb_error *err)
{
	memset(in, 0, sizeof *in);
	if (n == 1) {
		in->path = sb_strdup(paths[0]);
		return 0;
	}
	const char *tmp = getenv("TMPDIR");
	in->dir = sb_asprintf("%s/sparsebench-XXXXXX", tmp && *tmp ? tmp
								    : "/tmp");
	if (!mkdtemp(in->dir)) {
		free(in->dir);
		in->dir = NULL;
		return sb_error(err, "cannot create a temporary folder: %s",
				strerror(errno));
	}
	in->path = sb_asprintf("%s/merged.h5", in->dir);
	struct sb_merge_opts opts = {.partial = true};
	struct sb_merge_report rep;
	int rc = sb_merge(in->path, paths, n, &opts, &rep, err);
	merge_notes(&rep);
	in->experiment = rep.experiment ? sb_strdup(rep.experiment) : NULL;
	sb_merge_report_release(&rep);
	return rc;
}

static void results_in_done(struct results_in *in)
{
	if (in->dir) {
		unlink(in->path);
		rmdir(in->dir);
	}
	free(in->path);
	free(in->dir);
	free(in->experiment);
}

static int cmd_show(int argc, char **argv)
{
	if (argc == 2 && is_help(argv[1])) {
		fputs(usage_show, stdout);
		return EXIT_OK;
	}
	if (argc < 2)
		return bad_usage(usage_show, "%s", "missing RESULTS.h5");
	struct sb_error err = {{0}};
	struct results_in in;
	int rc = results_in_open(&in, (const char *const *)argv + 1,
				 (size_t)argc - 1, &err) ||
		 sb_show(in.path, stdout, &err);
	results_in_done(&in);
	return rc ? fail(&err, EXIT_BAD_INPUT) : EXIT_OK;
}

static bool is_results_path(const char *arg)
{
	size_t n = strlen(arg);
	return n > 3 && !strcmp(arg + n - 3, ".h5");
}

static int cmd_plot(int argc, char **argv)
{
	const char *out = NULL, *formats = "pdf,png";
	const char **only = sb_calloc((size_t)argc, sizeof *only);
	const char **paths = sb_calloc((size_t)argc, sizeof *paths);
	size_t n_only = 0, n_paths = 0;
	int rc = EXIT_OK;
	for (int i = 1; i < argc && rc == EXIT_OK; i++) {
		if (is_help(argv[i])) {
			fputs(usage_plot, stdout);
			free(only);
			free(paths);
			return EXIT_OK;
		} else if (!strcmp(argv[i], "--out") && i + 1 < argc) {
			out = argv[++i];
		} else if (!strcmp(argv[i], "--format") && i + 1 < argc) {
			formats = argv[++i];
		} else if (argv[i][0] == '-') {
			rc = bad_usage(usage_plot, "unexpected argument '%s'",
				       argv[i]);
		} else if (!n_paths || is_results_path(argv[i])) {
			paths[n_paths++] = argv[i];
		} else {
			only[n_only++] = argv[i];
		}
	}
	if (rc == EXIT_OK && !n_paths)
		rc = bad_usage(usage_plot, "%s", "missing RESULTS.h5");
	struct sb_error err = {{0}};
	struct results_in in = {0};
	if (rc == EXIT_OK && results_in_open(&in, paths, n_paths, &err))
		rc = fail(&err, EXIT_BAD_INPUT);
	char *dir = NULL;
	if (rc == EXIT_OK && !out && in.dir) {
		/* Shards' figures go where one file's would: beside them. */
		const char *slash = strrchr(paths[0], '/');
		int len = slash ? (int)(slash - paths[0] + 1) : 0;
		dir = sb_asprintf("%.*s%s", len, paths[0],
				  in.experiment ? in.experiment : "merged");
		out = dir;
	}
	if (rc == EXIT_OK)
		rc = draw(in.path, out, formats, n_only ? only : NULL, n_only);
	results_in_done(&in);
	free(dir);
	free(only);
	free(paths);
	return rc;
}

static int cmd_report(int argc, char **argv)
{
	const char *format = "md";
	bool all = false, claims = false;
	const char **paths = sb_calloc((size_t)argc, sizeof *paths);
	size_t n_paths = 0;
	int rc = EXIT_OK;
	for (int i = 1; i < argc && rc == EXIT_OK; i++) {
		if (is_help(argv[i])) {
			fputs(usage_report, stdout);
			free(paths);
			return EXIT_OK;
		} else if (!strcmp(argv[i], "--format") && i + 1 < argc) {
			format = argv[++i];
		} else if (!strcmp(argv[i], "--all")) {
			all = true;
		} else if (!strcmp(argv[i], "--claims")) {
			claims = true;
		} else if (argv[i][0] == '-') {
			rc = bad_usage(usage_report,
				       "unexpected argument '%s'", argv[i]);
		} else {
			paths[n_paths++] = argv[i];
		}
	}
	if (rc == EXIT_OK && !n_paths)
		rc = bad_usage(usage_report, "%s", "missing RESULTS.h5");
	if (rc == EXIT_OK && strcmp(format, "md") && strcmp(format, "latex") &&
	    strcmp(format, "csv"))
		rc = bad_usage(usage_report,
			       "unknown format '%s' (known: csv, latex, md)",
			       format);
	struct sb_error err = {{0}};
	struct results_in in = {0};
	if (rc == EXIT_OK &&
	    (results_in_open(&in, paths, n_paths, &err) ||
	     (claims ? sb_claims(in.path, stdout, &err)
		     : sb_report(in.path, format, all, stdout, &err))))
		rc = fail(&err, EXIT_BAD_INPUT);
	results_in_done(&in);
	free(paths);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} commands[] = {
		{"run", cmd_run},   {"validate", cmd_validate},
		{"list", cmd_list}, {"show", cmd_show},
		{"plot", cmd_plot}, {"report", cmd_report},
		{"merge", cmd_merge}, {"apply", cmd_apply},
	};
	if (argc < 2) {
		fputs(usage_main, stderr);
		return EXIT_BAD_INPUT;
	}
	if (is_help(argv[1]) || !strcmp(argv[1], "help")) {
		fputs(usage_main, stdout);
		return EXIT_OK;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("sparsebench %s (%s)\n", SB_VERSION, sb_git_commit);
		return EXIT_OK;
	}
	for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	return bad_usage(usage_main, "unknown command '%s'", argv[1]);
}
