/* figures.c - the script conventions every figure of `sparsebench plot`
 * shares: files, the loop over terminals, panels and the legend panel, and
 * the list of figures (docs/figures.md). */
#include "analysis/figures.h"
#include "util.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

const struct sb_figure sb_figures[] = {
	{"grad_info", sb_fig_grad_info},
	{"churn", sb_fig_churn},
	{"history", sb_fig_history},
	{"val_curve", sb_fig_val_curve},
	{"density", sb_fig_density},
	{"time", sb_fig_time},
	{"memory", sb_fig_memory},
	{NULL, NULL},
};

FILE *sb_fig_open(const struct sb_fig_ctx *ctx, const char *name,
		  const char *ext, struct sb_error *err)
{
	char *path = sb_asprintf("%s/%s.%s", ctx->dir, name, ext);
	FILE *f = fopen(path, "w");

	if (!f)
		sb_error(err, "cannot write '%s': %s", path, strerror(errno));
	free(path);
	return f;
}

int sb_fig_close(FILE *f, const struct sb_fig_ctx *ctx, const char *name,
		 const char *ext, struct sb_error *err)
{
	bool bad = ferror(f);
	if (fclose(f) || bad)
		return sb_error(err, "cannot write '%s/%s.%s'", ctx->dir, name,
				ext);
	return 0;
}

void sb_fig_preamble(FILE *gp, const char *name, const char *what)
{
	fprintf(gp, "# %s.gp - %s\n", name, what);
	fprintf(gp, "# drawn by sparsebench plot from %s.dat; redraw with: "
		    "gnuplot %s.gp\n", name, name);
	fprintf(gp, "set datafile missing NaN\n");
}

/* The terminals draw alike: the PNG at 300 dpi and the SVG at 100 px per
 * inch scale text, lines and points to look as in the PDF (pngcairo sets a
 * point of text at about 143 dpi, hence fontscale 2.1 at 300 dpi;
 * measured against the PDF rasterised at 300 dpi). */
static void terminal(FILE *gp, const char *fmt, double w, double h)
{
	fprintf(gp, "    if (fmt eq \"%s\") {\n        ", fmt);
	if (!strcmp(fmt, "pdf"))
		fprintf(gp, "set terminal pdfcairo noenhanced color size "
			    "%.3fin,%.3fin font \"Helvetica,10\" linewidth 1 "
			    "dashlength 1\n        P = 0.4\n", w, h);
	else if (!strcmp(fmt, "png"))
		fprintf(gp, "set terminal pngcairo noenhanced color size "
			    "%.0f,%.0f font \"Helvetica,10\" fontscale 2.1 "
			    "linewidth 1.9 dashlength 1\n        P = 1.64\n",
			w * 300, h * 300);
	else
		fprintf(gp, "set terminal svg noenhanced size %.0f,%.0f "
			    "font \"Helvetica,8\" linewidth 0.7 dashlength 1"
			    "\n        P = 0.55\n", w * 100, h * 100);
	fprintf(gp, "    }\n");
}

void sb_fig_begin(FILE *gp, const struct sb_fig_ctx *ctx, const char *name,
		  const struct sb_fig_layout *lay)
{
	fprintf(gp, "\n# %.2fin x %.2fin; each format in turn\nformats = \"",
		lay->width, lay->height);
	for (size_t i = 0; i < ctx->n_formats; i++)
		fprintf(gp, "%s%s", i ? " " : "", ctx->formats[i]);
	fprintf(gp, "\"\ndo for [fmt in formats] {\n");
	for (size_t i = 0; i < ctx->n_formats; i++)
		terminal(gp, ctx->formats[i], lay->width, lay->height);
	fprintf(gp, "    set output \"%s.\".fmt\n", name);
	fprintf(gp, "    set multiplot\n");
}

void sb_fig_end(FILE *gp)
{
	fprintf(gp, "    unset multiplot\n    unset output\n}\n");
}

static void margins(FILE *gp, const struct sb_fig_box *b)
{
	fprintf(gp, "    set lmargin at screen %.4f; set rmargin at screen %.4f"
		    "\n    set bmargin at screen %.4f; set tmargin at screen "
		    "%.4f\n", b->x0, b->x1, b->y0, b->y1);
}

void sb_fig_panel(FILE *gp, const struct sb_fig_layout *lay, size_t panel,
		  const char *title)
{
	bool left = sb_fig_layout_left(lay, panel);
	bool bottom = sb_fig_layout_bottom(lay, panel);

	fprintf(gp, "\n    # panel %zu", panel + 1);
	if (title)
		fprintf(gp, ": %s", title);
	fputc('\n', gp);
	margins(gp, &lay->panels[panel]);
	if (title) {
		fprintf(gp, "    set title ");
		sb_fig_quote(gp, title);
		fprintf(gp, " offset 0,-0.6\n");
	} else {
		fprintf(gp, "    unset title\n");
	}
	fprintf(gp, "    set border 3; set tics nomirror out scale 0.6; "
		    "unset key\n");
	/* The axes are shared: tick labels and axis titles on the outer
	 * panels only. */
	fprintf(gp, left ? "    set format y \"%%g\"; set ylabel ylabel\n"
			 : "    set format y \"\"; unset ylabel\n");
	fprintf(gp, bottom ? "    set format x \"%%g\"; set xlabel xlabel\n"
			   : "    set format x \"\"; unset xlabel\n");
}

void sb_fig_legend(FILE *gp, const struct sb_fig_layout *lay,
		   const struct sb_fig_key *keys, size_t n)
{
	if (!n)
		return;
	fprintf(gp, "\n    # the legend, in a panel of its own below the "
		    "others\n");
	margins(gp, &lay->key);
	fprintf(gp, "    unset title; unset xlabel; unset ylabel; "
		    "unset border; unset tics; unset grid; unset logscale\n"
		    "    set xrange [0:1]; set yrange [0:1]\n"
		    "    set key inside center center horizontal Left reverse "
		    "maxcols %zu samplen 2.5 spacing 1.1 noopaque\n",
		lay->key_cols);
	for (size_t i = 0; i < n; i++) {
		fprintf(gp, i ? ", \\\n         " : "    plot ");
		fprintf(gp, "NaN %s title ", keys[i].style);
		sb_fig_quote(gp, keys[i].title);
	}
	fputc('\n', gp);
}

void sb_fig_keys_release(struct sb_fig_key *keys, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(keys[i].style);
	free(keys);
}

void sb_fig_quote(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '\n')
			fputs("\\n", f);
		else if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

void sb_fig_num(FILE *f, double x)
{
	if (isnan(x))
		fputs("NaN", f);
	else
		fprintf(f, "%.10g", x);
}

size_t sb_fig_full_finetuning(const struct sb_aggregate *agg)
{
	for (size_t m = 0; m < agg->n_methods; m++)
		if (!strcmp(agg->methods[m].method, "dense+dense_adam"))
			return m;
	return SIZE_MAX;
}

static int cmp_optimizer(const void *a, const void *b)
{
	return sb_palette_optimizer_cmp(*(const char *const *)a,
					*(const char *const *)b);
}

size_t sb_fig_panels(const struct sb_aggregate *agg, const size_t *settings,
		     size_t n, const char **out)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		const char *opt = agg->settings[settings[i]].optimizer;
		if (sb_fig_panel_of(out, k, opt) == k)
			out[k++] = opt;
	}
	qsort(out, k, sizeof *out, cmp_optimizer);
	return k;
}

size_t sb_fig_panel_of(const char *const *panels, size_t n_panels,
		       const char *optimizer)
{
	size_t p = 0;
	while (p < n_panels && strcmp(panels[p], optimizer))
		p++;
	return p;
}
