/* figures.h - the figures of `sparsebench plot` (docs/figures.md) and what
 * their builders share. Each figure writes <name>.dat (its numbers) and
 * <name>.gp (a gnuplot script that reads the .dat by a relative path and
 * draws every requested format). A figure is small multiples: one panel per
 * optimizer, panels sharing their axes, a policy in the same colour in
 * every panel, and one legend for the whole figure, below the panels. */
#ifndef SB_FIGURES_H
#define SB_FIGURES_H

#include "analysis/aggregate.h"

#include <stdio.h>

/* ---- palette (figures_palette.c) ---- */

/* The colours of a results file. A key is what a method is coloured by:
 * its policy, or for a method with a name of its own (a reference such as
 * `scratch`) that name, so that it is not drawn like the fine-tuned runs
 * of its policy. */
struct sb_palette {
	char **keys; /* dense, topk_batch, topk_first, random, fixed_layers,
	                then the file's other keys in name order */
	size_t n_keys;
};

void sb_palette_init(struct sb_palette *pal, const struct sb_aggregate *agg);
void sb_palette_release(struct sb_palette *pal);
const char *sb_palette_key(const char *method, const char *policy,
			   const char *optimizer);
/* The key of a setting's method. */
const char *sb_palette_key_of(const struct sb_agg_setting *st);
/* The place of a key in palette order (n_keys for an unknown key). */
size_t sb_palette_rank(const struct sb_palette *pal, const char *key);
/* The colour of a key, 0xRRGGBB (Okabe-Ito, colour-blind safe). */
unsigned sb_palette_color(const struct sb_palette *pal, const char *key);
/* The gnuplot point type of a key: a second cue beside the colour, for
 * print in grey. */
int sb_palette_point(const struct sb_palette *pal, const char *key);
/* The order of optimizers, which is the order of the panels: dense_adam,
 * sparse_adam, sgd, then the others in name order. */
int sb_palette_optimizer_cmp(const char *a, const char *b);

/* ---- the figure being written ---- */

struct sb_fig_ctx {
	const struct sb_aggregate *agg;
	const struct sb_palette *palette;
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

int sb_fig_grad_info(const struct sb_fig_ctx *ctx, const char **why,
		     struct sb_error *err);
int sb_fig_churn(const struct sb_fig_ctx *ctx, const char **why,
		 struct sb_error *err);
int sb_fig_history(const struct sb_fig_ctx *ctx, const char **why,
		   struct sb_error *err);
int sb_fig_val_curve(const struct sb_fig_ctx *ctx, const char **why,
		     struct sb_error *err);
int sb_fig_density(const struct sb_fig_ctx *ctx, const char **why,
		   struct sb_error *err);
int sb_fig_time(const struct sb_fig_ctx *ctx, const char **why,
		struct sb_error *err);
int sb_fig_memory(const struct sb_fig_ctx *ctx, const char **why,
		  struct sb_error *err);

/* ---- layout (figures_layout.c) ---- */

/* Sizes in inches. The font is "Helvetica,10" for gnuplot's cairo
 * terminals, which draw it at about 6.6 pt. */
#define SB_FIG_COLUMN 3.4     /* one column of a paper */
#define SB_FIG_PAGE 7.0       /* both columns (a figure* in LaTeX) */
#define SB_FIG_CHAR 0.0594    /* gnuplot's width of a character, which it
                                 sizes legends by; wider than most text */
#define SB_FIG_LINE 0.13      /* a line of the legend */
#define SB_FIG_SHARE 0.53     /* panels grow until their plot areas fill
                                 this share of the canvas */
#define SB_FIG_MAX_PANEL 3.2  /* ... but no panel taller than this */

/* A rectangle of the canvas in screen coordinates: 0..1, y upwards. */
struct sb_fig_box {
	double x0, y0, x1, y1;
};

/* What a figure needs room for. Panels fill rows of `cols`, row by row. */
struct sb_fig_frame {
	size_t n_panels, cols;
	double width;          /* of the canvas */
	const double *height;  /* of each panel's plot area; a row takes its
	                          tallest */
	size_t ylabel_chars;   /* widest y tick label */
	bool ylabel;           /* a y axis title beside the left column */
	bool xlabel;           /* an x axis title below the bottom row */
	bool titles;           /* a title above each panel */
	size_t n_key;          /* legend entries below everything; 0: none */
	size_t key_chars;      /* longest legend entry */
};

struct sb_fig_layout {
	double width, height;      /* of the canvas */
	size_t n_panels, cols, rows;
	struct sb_fig_box *panels; /* each panel's plot area */
	struct sb_fig_box key;     /* the legend's panel; empty without one */
	size_t key_cols;
};

void sb_fig_layout(const struct sb_fig_frame *frame,
		   struct sb_fig_layout *out);
void sb_fig_layout_release(struct sb_fig_layout *lay);
/* Whether a panel carries the tick labels of the shared axes. */
bool sb_fig_layout_left(const struct sb_fig_layout *lay, size_t panel);
bool sb_fig_layout_bottom(const struct sb_fig_layout *lay, size_t panel);

/* Characters of the widest tick label gnuplot writes with format "%g" on
 * an axis from lo to hi (log: at the powers of ten), at the ticks
 * sb_fig_tic_step chooses. */
size_t sb_fig_tic_chars(double lo, double hi, bool log);
/* About five ticks from lo to hi: 1, 2 or 5 times a power of ten. */
double sb_fig_tic_step(double lo, double hi);

/* ---- references and panels (figures.c) ---- */

/* How a reference is drawn: full fine-tuning, the level at step 0. */
#define SB_FIG_FULL_STYLE "with lines lc rgb \"#000000\" lw 1.2 dt 2"
#define SB_FIG_START_STYLE "with lines lc rgb \"#777777\" lw 1.2 dt 3"

/* The full fine-tuning method, dense+dense_adam; SIZE_MAX when the file
 * has none. */
size_t sb_fig_full_finetuning(const struct sb_aggregate *agg);

/* The optimizers of the settings listed (indices into agg->settings), in
 * panel order, each once; returns their count. out holds n entries. */
size_t sb_fig_panels(const struct sb_aggregate *agg, const size_t *settings,
		     size_t n, const char **out);
/* The panel of an optimizer in that list. */
size_t sb_fig_panel_of(const char *const *panels, size_t n_panels,
		       const char *optimizer);

/* ---- writing the script (figures.c) ---- */

/* Opens DIR/NAME.EXT for writing. */
FILE *sb_fig_open(const struct sb_fig_ctx *ctx, const char *name,
		  const char *ext, struct sb_error *err);
/* Closes, turning a write error into an error naming the file. */
int sb_fig_close(FILE *f, const struct sb_fig_ctx *ctx, const char *name,
		 const char *ext, struct sb_error *err);
/* The opening lines of a script: what it draws and how to redraw it. */
void sb_fig_preamble(FILE *gp, const char *name, const char *what);
/* Starts the drawing, which the script repeats for each requested format
 * (a loop over the terminals, at the layout's size; P is the point size
 * of the terminal); sb_fig_end closes it. */
void sb_fig_begin(FILE *gp, const struct sb_fig_ctx *ctx, const char *name,
		  const struct sb_fig_layout *lay);
void sb_fig_end(FILE *gp);
/* Starts a panel: its margins, title (NULL: none), and which shared axes
 * it labels. */
void sb_fig_panel(FILE *gp, const struct sb_fig_layout *lay, size_t panel,
		  const char *title);

/* One entry of the legend: its title and the style of its sample, e.g.
 * `with lines lc rgb "#000000" dt 2`. */
struct sb_fig_key {
	const char *title;
	char *style; /* owned */
};

/* Draws the legend in its own panel, outside every plot area. */
void sb_fig_legend(FILE *gp, const struct sb_fig_layout *lay,
		   const struct sb_fig_key *keys, size_t n);
void sb_fig_keys_release(struct sb_fig_key *keys, size_t n);

/* A gnuplot double-quoted string: \ and " escaped, newlines as \n. */
void sb_fig_quote(FILE *f, const char *s);
/* A .dat number: %.10g, or NaN. */
void sb_fig_num(FILE *f, double x);

#endif
