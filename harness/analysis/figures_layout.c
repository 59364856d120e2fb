/* figures_layout.c - where the panels and the legend of a figure go: a grid
 * of plot areas with fixed margins (so that panels share their axes and
 * line up), the room their labels need estimated from the 8 pt font, and
 * the legend below everything, never over a plot area (docs/figures.md). */
#include "analysis/figures.h"
#include "util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Room, in inches, beside the plot areas. */
#define TOP 0.06         /* above the first row */
#define RIGHT 0.16       /* half the last x tick label, and air */
#define TICS 0.08        /* tick marks and the gap to their labels */
#define YLABEL 0.2       /* a rotated y axis title */
#define XTICS 0.2        /* a row of x tick labels */
#define XLABEL 0.17      /* an x axis title */
#define TITLE 0.2        /* a panel title */
#define GAP_X 0.24       /* between panels: their x tick labels meet */
#define GAP_Y 0.06       /* between rows, beside the title */
#define KEY_PAD 0.1      /* around the legend */

/* The legend's columns as gnuplot lays them out: an entry is its longest
 * title plus 4 characters of spacing, plus the sample (`samplen 2.5`) and
 * a point, in gnuplot's character width; 5% spare so that rounding cannot
 * cost a column. */
#define KEY_EXTRA (4 + 2.5 + 1)

static size_t key_columns(const struct sb_fig_frame *frame)
{
	double entry = ((double)frame->key_chars + KEY_EXTRA) * SB_FIG_CHAR;
	size_t cols = (size_t)(0.95 * (frame->width - 2 * KEY_PAD) / entry);
	return cols < 1 ? 1 : cols > frame->n_key ? frame->n_key : cols;
}

void sb_fig_layout(const struct sb_fig_frame *frame, struct sb_fig_layout *out)
{
	size_t n = frame->n_panels;
	size_t cols = frame->cols < n ? frame->cols : n;
	cols = cols ? cols : 1;
	size_t rows = (n + cols - 1) / cols;
	double *row_h = sb_calloc(rows ? rows : 1, sizeof *row_h);

	memset(out, 0, sizeof *out);
	for (size_t p = 0; p < n; p++)
		row_h[p / cols] = fmax(row_h[p / cols], frame->height[p]);

	double left = (frame->ylabel ? YLABEL : 0.04) + TICS +
		      (double)frame->ylabel_chars * SB_FIG_CHAR;
	double bottom = 0.04 + XTICS + (frame->xlabel ? XLABEL : 0);
	double title = frame->titles ? TITLE : 0;
	double fixed = TOP + bottom, plots = 0, tallest = 0;

	if (frame->n_key) {
		out->key_cols = key_columns(frame);
		size_t key_rows = (frame->n_key + out->key_cols - 1) /
				  out->key_cols;
		fixed += (double)key_rows * SB_FIG_LINE + 2 * KEY_PAD;
	}
	for (size_t r = 0; r < rows; r++) {
		fixed += title + (r ? GAP_Y : 0);
		plots += row_h[r];
		tallest = fmax(tallest, row_h[r]);
	}
	double panel_w = (frame->width - left - RIGHT -
			  (double)(cols - 1) * GAP_X) / (double)cols;
	double share_w = panel_w * (double)cols / frame->width;

	/* Grow the rows alike until the plot areas fill SB_FIG_SHARE of the
	 * canvas: plots / (plots + fixed) >= SB_FIG_SHARE / share_w. */
	double want = SB_FIG_SHARE / share_w;
	if (want < 1 && plots > 0 && plots / (plots + fixed) < want) {
		double grow = fixed * want / (1 - want) / plots;
		grow = fmin(grow, SB_FIG_MAX_PANEL / tallest);
		grow = fmax(grow, 1);
		for (size_t r = 0; r < rows; r++)
			row_h[r] *= grow;
		plots *= grow;
	}

	double height = fixed + plots;
	out->width = frame->width;
	out->height = height;
	out->n_panels = n;
	out->cols = cols;
	out->rows = rows;
	out->panels = sb_calloc(n ? n : 1, sizeof *out->panels);
	double top = height - TOP; /* inches from the bottom */
	for (size_t r = 0; r < rows; r++) {
		top -= title + (r ? GAP_Y : 0);
		for (size_t c = 0; c < cols && r * cols + c < n; c++) {
			double x0 = left + (double)c * (panel_w + GAP_X);
			out->panels[r * cols + c] = (struct sb_fig_box){
				.x0 = x0 / frame->width,
				.x1 = (x0 + panel_w) / frame->width,
				.y0 = (top - row_h[r]) / height,
				.y1 = top / height,
			};
		}
		top -= row_h[r];
	}
	if (frame->n_key)
		out->key = (struct sb_fig_box){
			.x0 = KEY_PAD / frame->width,
			.x1 = 1 - KEY_PAD / frame->width,
			.y0 = KEY_PAD / 2 / height,
			.y1 = (top - bottom) / height,
		};
	free(row_h);
}

void sb_fig_layout_release(struct sb_fig_layout *lay)
{
	free(lay->panels);
	memset(lay, 0, sizeof *lay);
}

bool sb_fig_layout_left(const struct sb_fig_layout *lay, size_t panel)
{
	return panel % lay->cols == 0;
}

/* The last panel of each column: the bottom row, or the row above it
 * where the bottom row is short. */
bool sb_fig_layout_bottom(const struct sb_fig_layout *lay, size_t panel)
{
	return panel + lay->cols >= lay->n_panels;
}

double sb_fig_tic_step(double lo, double hi)
{
	double raw = (hi - lo) / 5;
	if (!(raw > 0) || !isfinite(raw))
		return 1;
	double mag = pow(10, floor(log10(raw)));
	double f = raw / mag;
	return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * mag;
}

static size_t label_len(double v)
{
	char buf[64];
	return (size_t)snprintf(buf, sizeof buf, "%g", v);
}

size_t sb_fig_tic_chars(double lo, double hi, bool log)
{
	size_t widest = 1;

	if (!(lo <= hi) || !isfinite(lo) || !isfinite(hi))
		return 4;
	if (log) {
		for (double k = floor(log10(lo)); k <= ceil(log10(hi)); k++) {
			size_t n = label_len(pow(10, k));
			widest = n > widest ? n : widest;
		}
		return widest;
	}
	double step = sb_fig_tic_step(lo, hi);
	for (double k = ceil(lo / step - 1e-9); k * step <= hi + 1e-9 * step;
	     k++) {
		/* k * step, not a running sum, and zero as "0" rather than
		 * the 1e-17 that rounding leaves */
		double v = k * step;
		size_t n = label_len(fabs(v) < 1e-12 * step ? 0 : v);
		widest = n > widest ? n : widest;
	}
	return widest;
}
