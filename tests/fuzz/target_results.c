/* target_results.c - an HDF5 results file read by the results reader
 * (harness/io/results_read.c): the runs and every series of each, then
 * the readers' users `show`, `report` and `report --claims`, whose output
 * goes nowhere. Each must accept the file or fail with a message. */
#include "fuzz.h"
#include "io/results.h"
#include "analysis/claims.h"
#include "analysis/report.h"
#include "analysis/show.h"

#include <stdio.h>
#include <stdlib.h>

static int read_series(const struct sb_results_view *view, size_t run,
		       const char *group, const struct sb_column *cols,
		       struct sb_error *err)
{
	for (const struct sb_column *c = cols; c->name; c++) {
		double *values;
		size_t n;
		if (sb_results_series(view, run, group, c->name, &values, &n,
				      err))
			return -1;
		free(values);
	}
	return 0;
}

static int read_view(const char *path, struct sb_error *err)
{
	struct sb_results_view view;
	if (sb_results_load(&view, path, err))
		return -1;
	int rc = 0;
	for (size_t r = 0; !rc && r < view.n_runs; r++)
		if (read_series(&view, r, "steps", sb_step_columns, err) ||
		    read_series(&view, r, "evals", sb_eval_columns, err))
			rc = -1;
	sb_results_view_release(&view);
	return rc;
}

static int load(const uint8_t *data, size_t size, struct sb_error *err)
{
	const char *path = sb_fuzz_write("results.h5", data, size);
	if (read_view(path, err))
		return -1;
	FILE *null = fopen("/dev/null", "w");
	if (!null)
		abort();
	int rc = 0;
	if (sb_show(path, null, err) ||
	    sb_report(path, "md", false, null, err) ||
	    sb_report(path, "csv", true, null, err) ||
	    sb_claims(path, null, err))
		rc = -1;
	fclose(null);
	return rc;
}

const struct sb_fuzz_target sb_fuzz_results = {
	.name = "results",
	.cli = "show",
	.hdf5 = true,
	.load = load,
};
