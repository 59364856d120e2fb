/* figures.h - the figures of `sparsebench plot` (docs/figures.md): each one
 * writes <name>.dat (its numbers) and <name>.gp (a gnuplot script that reads
 * the .dat by a relative path and draws every requested format). */
#ifndef SB_FIGURES_H
#define SB_FIGURES_H

#include "aggregate.h"

#include <stdio.h>

struct sb_fig_ctx {
	const struct sb_aggregate *agg;
	const char *dir;                /* where the files go, existing */
	const char *const *formats;     /* "pdf", "png", "svg" */
	size_t n_formats;
};

/* Writes the figure's .dat and .gp: 0 written, 1 not applicable to this
 * file (*why says why, a static string), -1 error. */
typedef int (*sb_figure_fn)(const struct sb_fig_ctx *ctx, const char **why,
			    struct sb_error *err);

struct sb_figure {
	const char *name;
	sb_figure_fn write;
};

/* Every figure, in the order of sb_plot_names; NULL-ended. */
extern const struct sb_figure sb_figures[];

/* ---- shared by the figure files ---- */

/* Opens DIR/NAME.EXT for writing. */
FILE *sb_fig_open(const struct sb_fig_ctx *ctx, const char *name,
		  const char *ext, struct sb_error *err);
/* Closes, turning a write error into an error naming the file. */
int sb_fig_close(FILE *f, const struct sb_fig_ctx *ctx, const char *name,
		 const char *ext, struct sb_error *err);
/* The opening lines of a script: what it draws and how to redraw it. */
void sb_fig_preamble(FILE *gp, const char *name, const char *what);
/* The height of a figure in inches: one column is 3.4in wide. */
#define SB_FIG_HEIGHT 2.4

/* Draws `plot` (a full plot command) once per requested format, at a
 * height in inches (bar charts grow with their bars). */
void sb_fig_outputs(FILE *gp, const struct sb_fig_ctx *ctx, const char *name,
		    const char *plot, double height);
/* A gnuplot double-quoted string: \ and " escaped, newlines as \n. */
void sb_fig_quote(FILE *f, const char *s);
/* A .dat number: %.10g, or NaN. */
void sb_fig_num(FILE *f, double x);

int sb_fig_time(const struct sb_fig_ctx *ctx, const char **why,
		struct sb_error *err);
int sb_fig_memory(const struct sb_fig_ctx *ctx, const char **why,
		  struct sb_error *err);

#endif
