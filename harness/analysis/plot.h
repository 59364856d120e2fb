/* plot.h - `sparsebench plot`: the figures of an experiment drawn from its
 * results file with gnuplot, run as an external program; each figure's data
 * (.dat) and script (.gp) are written beside it (docs/figures.md). */
#ifndef SB_PLOT_H
#define SB_PLOT_H

#include "sb.h"

#include <stdbool.h>
#include <stddef.h>

/* What became of one figure. */
struct sb_plot_figure {
	const char *name; /* from sb_plot_names */
	bool written;     /* its .dat and .gp are in the output directory */
	bool drawn;       /* and gnuplot drew every requested format */
	const char *why;  /* when not written: why it does not apply */
};

struct sb_plot_summary {
	char *dir; /* the output directory used */
	size_t n;
	struct sb_plot_figure figures[16]; /* in the order of sb_plot_names */
};

/* Draws the figures of a results file. out_dir NULL: <dir of file>/<stem>/;
 * created if missing. formats: comma-separated pdf, png, svg (NULL:
 * "pdf,png"). only: figure names (n_only of them), or NULL for every one
 * that applies. Without gnuplot on PATH, the .dat and .gp files are written
 * and the call fails saying how to install it. */
int sb_plot(const char *results_path, const char *out_dir,
	    const char *formats, const char *const *only, size_t n_only,
	    struct sb_error *err);

/* sb_plot, also telling which figures were drawn or skipped and why (so the
 * caller can print it). summary may be NULL; else release it after, even on
 * failure. */
int sb_plot_draw(const char *results_path, const char *out_dir,
		 const char *formats, const char *const *only, size_t n_only,
		 struct sb_plot_summary *summary, struct sb_error *err);
void sb_plot_summary_release(struct sb_plot_summary *summary);

#endif
