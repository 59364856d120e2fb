/* main.c - the sparsebench command line (DESIGN.md "Command line"): the
 * only place that prints errors and chooses the exit code: 0 success,
 * 1 a run failed, 2 bad input (spec, file, argument). */
#include "claims.h"
#include "experiment.h"
#include "params.h"
#include "plot.h"
#include "registry.h"
#include "report.h"
#include "show.h"
#include "spec.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { EXIT_OK = 0, EXIT_RUN_FAILED = 1, EXIT_BAD_INPUT = 2 };

static const char usage_main[] =
	"usage: sparsebench <command> [options]\n"
	"\n"
	"commands:\n"
	"  run SPEC.yaml [-o OUT.h5] [--only PATTERN] [--resume] [--quiet]\n"
	"                    run every grid point of an experiment\n"
	"  validate SPEC.yaml  check a spec and list its runs, train nothing\n"
	"  list [policies|optimizers|datasets|models]\n"
	"                    the plugins compiled in, with their parameters\n"
	"  show RESULTS.h5   a table of the runs in a results file\n"
	"  plot RESULTS.h5 [--out DIR] [--format pdf,png,svg] [FIGURE...]\n"
	"                    draw the figures with gnuplot\n"
	"  report RESULTS.h5 [--format md|latex|csv] [--all] [--claims]\n"
	"                    one row per method, ready for a paper; or the\n"
	"                    seed's claims checked against the numbers\n"
	"\n"
	"'sparsebench <command> --help' describes a command.\n"
	"exit codes: 0 success, 1 a run failed, 2 bad input\n";

static const char usage_run[] =
	"usage: sparsebench run SPEC.yaml [-o OUT.h5] [--only PATTERN] "
	"[--resume] [--quiet]\n"
	"\n"
	"Validates the whole spec, makes missing checkpoints by running the\n"
	"specs named in checkpoint_spec, then trains every grid point and\n"
	"writes results/<name>.h5 (or OUT.h5), flushed at every evaluation.\n"
	"\n"
	"  -o OUT.h5        results file (default results/<name>.h5)\n"
	"  --only PATTERN   only runs whose id matches (fnmatch, or substring)\n"
	"  --resume         continue an existing results file of the same spec:\n"
	"                   completed and diverged runs are kept, others re-run\n"
	"  --quiet          no progress lines\n";

static const char usage_validate[] =
	"usage: sparsebench validate SPEC.yaml\n"
	"\n"
	"Parses and checks the spec (keys, types, ranges, plugin names, files)\n"
	"and prints its runs. Errors read FILE:LINE:COL: message (exit 2).\n";

static const char usage_list[] =
	"usage: sparsebench list [policies|optimizers|datasets|models]\n"
	"\n"
	"Prints each plugin with its summary and declared parameters (type,\n"
	"default, allowed values), and the core's own sections.\n";

static const char usage_show[] =
	"usage: sparsebench show RESULTS.h5\n"
	"\n"
	"Prints one row per run: status, steps, losses, metrics, time.\n";

static const char usage_plot[] =
	"usage: sparsebench plot RESULTS.h5 [--out DIR] [--format pdf,png,svg] "
	"[FIGURE...]\n"
	"\n"
	"Draws the figures (default: all that apply) with gnuplot; beside each\n"
	"figure its .gp script and .dat data. Default DIR: results/<stem>/.\n";

static const char usage_report[] =
	"usage: sparsebench report RESULTS.h5 [--format md|latex|csv] [--all] "
	"[--claims]\n"
	"\n"
	"One row per method (x density): the test metric of the setting with\n"
	"the best mean validation metric, mean +- std over seeds; --all shows\n"
	"every setting. --claims prints instead, for each of the seed's claims\n"
	"the file can judge, the numbers and whether they support it.\n";

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

static int cmd_run(int argc, char **argv)
{
	struct sb_experiment_opts opts = {0};
	const char *spec_path = NULL;
	bool quiet = false;
	for (int i = 1; i < argc; i++) {
		if (is_help(argv[i])) {
			fputs(usage_run, stdout);
			return EXIT_OK;
		} else if (!strcmp(argv[i], "-o") && i + 1 < argc) {
			opts.out = argv[++i];
		} else if (!strcmp(argv[i], "--only") && i + 1 < argc) {
			opts.only = argv[++i];
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
	struct sb_progress prog;
	sb_progress_init(&prog, quiet);
	int rc = sb_experiment_run(&spec, &opts, &prog, &err);
	bool plots_failed = false;
	if (rc >= 0) {
		char *out = opts.out ? sb_strdup(opts.out)
				     : sb_experiment_default_out(&spec);
		if (spec.n_plots)
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
	if (argc == 2 && is_help(argv[1])) {
		fputs(usage_validate, stdout);
		return EXIT_OK;
	}
	if (argc != 2)
		return bad_usage(usage_validate, "%s",
				 "expected exactly one SPEC.yaml");
	struct sb_error err = {{0}};
	struct sb_spec spec;
	if (sb_spec_load(&spec, argv[1], &err))
		return fail(&err, EXIT_BAD_INPUT);
	printf("%s: ok: experiment '%s', %zu run%s\n", spec.path, spec.name,
	       spec.n_runs, spec.n_runs == 1 ? "" : "s");
	for (size_t i = 0; i < spec.n_runs; i++)
		printf("  %s\n", spec.runs[i].id);
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
		printf("      %-18s %-7s %-12s %-18s %s\n", p->name,
		       type_name(p->type), def, allowed,
		       p->help ? p->help : "");
	}
}

#define LIST_FAMILY(title, table, count, extra, extra_cond)               \
	do {                                                              \
		printf("%s:\n", title);                                   \
		for (size_t i = 0; i < (count); i++) {                    \
			printf("  %-16s %s\n", (table)[i]->name,          \
			       (table)[i]->summary);                      \
			if (extra_cond)                                   \
				print_params(extra);                      \
			print_params((table)[i]->params);                 \
		}                                                         \
	} while (0)

static int cmd_list(int argc, char **argv)
{
	const char *which = argc > 1 ? argv[1] : NULL;
	if (which && is_help(which)) {
		fputs(usage_list, stdout);
		return EXIT_OK;
	}
	static const char *const families[] = {"policies", "optimizers",
					       "datasets", "models"};
	bool known = !which;
	for (size_t f = 0; which && f < 4; f++)
		known |= !strcmp(which, families[f]);
	if (!known || argc > 2)
		return bad_usage(usage_list, "unknown plugin family '%s'",
				 which);
	bool all = !which;
	if (all || !strcmp(which, "policies"))
		LIST_FAMILY("policies (scoped ones also take the scope "
			    "parameters)", sb_policies, sb_n_policies,
			    sb_scope_params, sb_policies[i]->scoped);
	if (all || !strcmp(which, "optimizers"))
		LIST_FAMILY("optimizers (all take the schedule parameters)",
			    sb_optimizers, sb_n_optimizers,
			    sb_schedule_params, true);
	if (all || !strcmp(which, "datasets"))
		LIST_FAMILY("datasets", sb_datasets, sb_n_datasets,
			    (const struct sb_param *)NULL, false);
	if (all || !strcmp(which, "models"))
		LIST_FAMILY("models (all take the checkpoint parameters)",
			    sb_models, sb_n_models, sb_checkpoint_params,
			    true);
	if (all) {
		printf("train (the `train:` section):\n");
		print_params(sb_train_params);
	}
	return EXIT_OK;
}

/* ---- show, plot, report ---- */

static int cmd_show(int argc, char **argv)
{
	if (argc == 2 && is_help(argv[1])) {
		fputs(usage_show, stdout);
		return EXIT_OK;
	}
	if (argc != 2)
		return bad_usage(usage_show, "%s",
				 "expected exactly one RESULTS.h5");
	struct sb_error err = {{0}};
	if (sb_show(argv[1], stdout, &err))
		return fail(&err, EXIT_BAD_INPUT);
	return EXIT_OK;
}

static int cmd_plot(int argc, char **argv)
{
	const char *path = NULL, *out = NULL, *formats = "pdf,png";
	const char **only = sb_calloc((size_t)argc, sizeof *only);
	size_t n_only = 0;
	int rc = EXIT_OK;
	for (int i = 1; i < argc && rc == EXIT_OK; i++) {
		if (is_help(argv[i])) {
			fputs(usage_plot, stdout);
			free(only);
			return EXIT_OK;
		} else if (!strcmp(argv[i], "--out") && i + 1 < argc) {
			out = argv[++i];
		} else if (!strcmp(argv[i], "--format") && i + 1 < argc) {
			formats = argv[++i];
		} else if (argv[i][0] == '-') {
			rc = bad_usage(usage_plot, "unexpected argument '%s'",
				       argv[i]);
		} else if (!path) {
			path = argv[i];
		} else {
			only[n_only++] = argv[i];
		}
	}
	if (rc == EXIT_OK && !path)
		rc = bad_usage(usage_plot, "%s", "missing RESULTS.h5");
	if (rc == EXIT_OK)
		rc = draw(path, out, formats, n_only ? only : NULL, n_only);
	free(only);
	return rc;
}

static int cmd_report(int argc, char **argv)
{
	const char *path = NULL, *format = "md";
	bool all = false, claims = false;
	for (int i = 1; i < argc; i++) {
		if (is_help(argv[i])) {
			fputs(usage_report, stdout);
			return EXIT_OK;
		} else if (!strcmp(argv[i], "--format") && i + 1 < argc) {
			format = argv[++i];
		} else if (!strcmp(argv[i], "--all")) {
			all = true;
		} else if (!strcmp(argv[i], "--claims")) {
			claims = true;
		} else if (argv[i][0] == '-' || path) {
			return bad_usage(usage_report,
					 "unexpected argument '%s'", argv[i]);
		} else {
			path = argv[i];
		}
	}
	if (!path)
		return bad_usage(usage_report, "%s", "missing RESULTS.h5");
	if (strcmp(format, "md") && strcmp(format, "latex") &&
	    strcmp(format, "csv"))
		return bad_usage(usage_report,
				 "unknown format '%s' (known: csv, latex, md)",
				 format);
	struct sb_error err = {{0}};
	if (claims ? sb_claims(path, stdout, &err)
		   : sb_report(path, format, all, stdout, &err))
		return fail(&err, EXIT_BAD_INPUT);
	return EXIT_OK;
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
