/* test_figure_layout.c - every figure of `sparsebench plot`, drawn to PNG
 * and PDF for 16, 24 and 1 methods, measured: the plot areas fill at least
 * half the canvas and no panel is a strip, the legend lies over no plot
 * area, and nothing touches the canvas edge (cut off).
 *
 * How it measures: each figure's own script is run again by the real
 * gnuplot, once with `print` after every plot command, which reports the
 * plot area of each panel (GPVAL_TERM_XMIN...YMAX) against the canvas
 * (GPVAL_TERM_XSIZE, YSIZE), and once with `unset key` before every plot
 * command and each plot area pinned where the first run found it. The
 * pixels that differ between the two pictures are the legend.
 * The PDF is rasterised with pdftoppm. Nothing here relies on how the
 * figure code lays things out, so the same test judges any script. */
#include "support.h"
#include "image.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "analysis/plot.h"
#include "util.h"

/* ---- results files of 16, 24 and 1 methods ---- */

#define N_STEPS 200
#define EVAL_EVERY 40 /* evaluations at 0, 40, ..., 200 */

static const char *const five[] = {
	"dense", "topk_batch", "topk_first", "random", "fixed_layers",
};
static const char *const eight[] = {
	"dense", "topk_batch", "topk_first", "random", "fixed_layers",
	"magnitude", "snip", "grasp",
};
static const char *const three[] = {"dense_adam", "sparse_adam", "sgd"};
static const char *const one_policy[] = {"topk_batch"};
static const char *const one_optimizer[] = {"sparse_adam"};
static const double one_density[] = {0.01};
static const double two_densities[] = {0.01, 0.1};

struct experiment {
	const char *const *policies;
	size_t n_policies;
	const char *const *optimizers;
	size_t n_optimizers;
	bool scratch;              /* and a model trained from scratch */
	const double *densities;
	size_t n_densities;
	size_t seeds;
	bool lm;                   /* language modelling on bytes */
};

/* As `make run`: five policies x three optimizers and from scratch, two
 * seeds, losses in nats per byte. */
static const struct experiment sixteen = {
	five, 5, three, 3, true, one_density, 1, 2, true,
};
/* Eight policies x three optimizers at two densities, accuracies. */
static const struct experiment twenty_four = {
	eight, 8, three, 3, false, two_densities, 2, 1, false,
};
static const struct experiment single = {
	one_policy, 1, one_optimizer, 1, false, one_density, 1, 1, true,
};

static size_t n_methods(const struct experiment *e)
{
	return e->n_policies * e->n_optimizers + e->scratch;
}

static size_t n_runs(const struct experiment *e)
{
	return n_methods(e) * e->n_densities * e->seeds;
}

/* Synthetic but shaped like the real thing: each policy keeps its own
 * share of the gradient, only a re-chosen set churns, sparse Adam loses
 * history where the set churns, losses fall from the pre-trained level. */
static void describe(const void *ctx, size_t i, struct sb_test_run *out)
{
	const struct experiment *e = ctx;
	size_t seed = i % e->seeds, rest = i / e->seeds;
	size_t d = rest % e->n_densities, m = rest / e->n_densities;
	bool scratch = m == e->n_policies * e->n_optimizers;
	size_t p = scratch ? 0 : m / e->n_optimizers;
	size_t o = scratch ? 0 : m % e->n_optimizers;
	const char *policy = e->policies[p], *optimizer = e->optimizers[o];
	double density = !strcmp(policy, "dense") ? 1 : e->densities[d];
	bool churns = !strcmp(policy, "topk_batch");
	bool sparse = !strcmp(optimizer, "sparse_adam");
	double jitter = 0.01 * (double)seed;
	static char names[64][48], settings[64][48];

	assert_true(m < 64);
	snprintf(names[m], sizeof names[m], "%s+%s", policy, optimizer);
	snprintf(settings[m], sizeof settings[m], e->n_densities > 1
		 ? "density=%g lr=0.003" : "lr=0.003", e->densities[d]);
	*out = (struct sb_test_run){
		.method = scratch ? "scratch" : names[m],
		.setting = e->n_densities > 1 ? settings[m] : "lr=0.003",
		.policy = policy, .optimizer = optimizer,
		.seed = seed + 1, .status = SB_STATUS_COMPLETED,
		.n_steps = N_STEPS,
		.config_yaml = !e->lm ? "dataset: {name: synthetic}\n"
			: scratch ? "dataset: {name: fortunes, task: lm}\n"
				    "model: {name: gpt, checkpoint: \"\"}\n"
				  : "dataset: {name: fortunes, task: lm}\n"
				    "model: {name: gpt, checkpoint: en.h5}\n",
	};
	double keep = !strcmp(policy, "dense") ? 1 : 0.7 - 0.08 * (double)p;
	for (size_t t = 0; t < N_STEPS; t++) {
		double wobble = 0.03 * sin(0.7 * (double)t + (double)m);
		double retained = keep >= 1 ? 1 : keep - 0.1 * (double)t /
							     N_STEPS + wobble;
		out->steps[t] = (struct sb_step_row){
			.step = (double)t, .loss = 2, .grad_norm = 1,
			.lr = 0.003, .n_selected = 8000,
			.retained = retained,
			.oracle_retained = fmin(1, keep >= 1 ? 1 : 0.75),
			.churn = t == 0 ? NAN : churns ? 0.7 + wobble : 0,
			.history_lost = sparse && churns && t ? 5000 : 0,
			.ever_selected = 8000,
			.t_forward = 0.004, .t_backward = 0.008,
			.t_select = churns ? 0.003 : 0.0001,
			.t_update = sparse ? 0.0002 : 0.002,
			.t_metrics = 0.01,
		};
	}
	double gain = 1.2 - 0.1 * (double)p - 0.05 * (double)o + jitter;
	for (size_t t = 0; t <= N_STEPS; t += EVAL_EVERY) {
		double f = 1 - exp(-(double)t / 60);
		out->evals[out->n_evals++] = (struct sb_eval_row){
			.step = (double)t,
			.val_loss = scratch ? 5.5 - 3 * f : 3.3 - gain * f,
			.val_accuracy = 0.1 + 0.5 * gain * f,
			.t_eval = 0.1,
		};
	}
	const struct sb_eval_row *last = &out->evals[out->n_evals - 1];
	sb_test_run_attr_str(out, "task", e->lm ? "lm" : "vector_classify");
	sb_test_run_attr(out, "density", density, "1");
	sb_test_run_attr(out, "optimizer_state_bytes",
			 sparse ? 1.2e5 * density * 100 : o == 0 ? 6.7e6 : 0,
			 "bytes");
	sb_test_run_attr(out, "final_val_loss", last->val_loss, "nats");
	sb_test_run_attr(out, "final_val_accuracy", last->val_accuracy, "1");
	sb_test_run_attr(out, "test_loss", last->val_loss + 0.01, "nats");
	sb_test_run_attr(out, "test_accuracy", last->val_accuracy - 0.01, "1");
}

/* ---- the measurements ---- */

/* One plot command's area, as gnuplot reported it. */
struct area {
	char term[16];
	double xmin, xmax, ymin, ymax; /* terminal units / scale */
	double xsize, ysize, scale, vchar;
	int data; /* it drew data: a panel, not a legend alone */
};

#define MAX_AREAS 64

/* Failures are collected, so that one run names every problem. */
struct report {
	char text[8192];
	size_t len;
};

static void problem(struct report *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void problem(struct report *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (r->len < sizeof r->text - 1) {
		int n = vsnprintf(r->text + r->len, sizeof r->text - r->len, fmt,
				  ap);
		r->len += n > 0 ? (size_t)n : 0;
		r->len = r->len < sizeof r->text - 1 ? r->len
						     : sizeof r->text - 1;
	}
	va_end(ap);
}

static bool is_plot_command(const char *line)
{
	while (*line == ' ' || *line == '\t')
		line++;
	return !strncmp(line, "plot ", 5) || !strncmp(line, "replot", 6);
}

/* The script with a report after every plot command; or, given the areas
 * that report found, with the legend switched off before every plot
 * command and the plot area pinned where it was, so that only the legend
 * changes (gnuplot would otherwise give its room to the plot). */
static char *instrument(const char *script, const struct area *pin, size_t n)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	bool in_plot = false; /* within the lines of a plot command */

	fprintf(f, "set print 'layout.txt'\n");
	if (pin) {
		fprintf(f, "array L[%zu]; array R[%zu]; array B[%zu]; "
			   "array T[%zu]\nk = 0\n", n + 1, n + 1, n + 1, n + 1);
		/* gnuplot turns a fraction f back into whole terminal units,
		 * truncating f * size at the left and bottom and f * (size -
		 * 1) at the right and top (boundary.c); half a unit over the
		 * edge gives back the unit found, and a unit's shift would
		 * move hinted text by a pixel. */
		for (size_t i = 0; i < n; i++) {
			const struct area *a = &pin[i];
			fprintf(f, "L[%zu] = %.12g; R[%zu] = %.12g; B[%zu] = "
				   "%.12g; T[%zu] = %.12g\n", i + 1,
				(a->xmin * a->scale + 0.5) / a->xsize, i + 1,
				(a->xmax * a->scale + 0.5) / (a->xsize - 1),
				i + 1, (a->ymin * a->scale + 0.5) / a->ysize,
				i + 1,
				(a->ymax * a->scale + 0.5) / (a->ysize - 1));
		}
	}
	for (const char *p = script; *p;) {
		size_t n_line = strcspn(p, "\n");
		bool starts = !in_plot && is_plot_command(p);
		if (starts && pin)
			fprintf(f, "unset key; k = k + 1; "
				   "set lmargin at screen L[k]; "
				   "set rmargin at screen R[k]; "
				   "set bmargin at screen B[k]; "
				   "set tmargin at screen T[k]\n");
		fwrite(p, 1, n_line, f);
		fputc('\n', f);
		bool part = starts || in_plot;
		in_plot = part && n_line && p[n_line - 1] == '\\';
		if (part && !in_plot)
			fprintf(f, "print sprintf(\"%%s %%.10g %%.10g %%.10g "
				   "%%.10g %%g %%g %%g %%g %%d\", GPVAL_TERM, "
				   "GPVAL_TERM_XMIN, GPVAL_TERM_XMAX, "
				   "GPVAL_TERM_YMIN, GPVAL_TERM_YMAX, "
				   "GPVAL_TERM_XSIZE, GPVAL_TERM_YSIZE, "
				   "GPVAL_TERM_SCALE, GPVAL_TERM_VCHAR, "
				   "GPVAL_DATA_Y_MIN <= GPVAL_DATA_Y_MAX)\n");
		p += n_line + (p[n_line] == '\n');
	}
	fclose(f);
	return out;
}

static void run(const char *cmd)
{
	if (system(cmd) != 0)
		fail_msg("failed: %s", cmd);
}

/* Draws DIR/NAME.gp again in DIR/probe_NAME_<which>, instrumented (pin:
 * without its legend); the PDF rasterised at 150 dpi beside it as
 * NAME_pdf.png. */
static char *redraw(const char *dir, const char *name, const struct area *pin,
		    size_t n_pin)
{
	char *gp = sb_asprintf("%s/%s.gp", dir, name);
	char *script = sb_test_read_file(gp, NULL);
	char *probe = sb_asprintf("%s/probe_%s_%s", dir, name,
				  pin ? "nokey" : "key");

	if (!script)
		fail_msg("'%s' was not written", gp);
	assert_int_equal(mkdir(probe, 0700), 0);
	char *text = instrument(script, pin, n_pin);
	char *path = sb_asprintf("%s/%s.gp", probe, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
	char *cmd = sb_asprintf("cp '%s/%s.dat' '%s/' && cd '%s' && "
				"gnuplot %s.gp 2>/dev/null && pdftoppm -r 150 "
				"-png -singlefile %s.pdf %s_pdf", dir, name,
				probe, probe, name, name, name);
	run(cmd);
	free(cmd);
	free(path);
	free(text);
	free(script);
	free(gp);
	return probe;
}

static size_t read_areas(const char *probe, struct area *areas)
{
	char *path = sb_asprintf("%s/layout.txt", probe);
	FILE *f = fopen(path, "r");
	size_t n = 0;

	if (!f)
		fail_msg("'%s' was not written", path);
	while (n < MAX_AREAS) {
		struct area *a = &areas[n];
		if (fscanf(f, "%15s %lf %lf %lf %lf %lf %lf %lf %lf %d",
			   a->term, &a->xmin, &a->xmax, &a->ymin, &a->ymax,
			   &a->xsize, &a->ysize, &a->scale, &a->vchar,
			   &a->data) != 10)
			break;
		n++;
	}
	fclose(f);
	free(path);
	return n;
}

static void load(const char *path, struct sb_image *img)
{
	const char *why;
	if (sb_image_read_png(path, img, &why))
		fail_msg("'%s': %s", path, why);
}

/* A pixel with ink: darker than the faint grid and anti-aliasing. */
static bool ink(const uint8_t *px)
{
	return px[0] < 200 || px[1] < 200 || px[2] < 200;
}

static bool differs(const uint8_t *a, const uint8_t *b)
{
	for (int k = 0; k < 3; k++)
		if (abs((int)a[k] - (int)b[k]) > 48)
			return true;
	return false;
}

/* Where an area lies in a picture, in pixels, shrunk by `in` on each side
 * (the border and its anti-aliasing are not the inside). */
struct rect {
	double x0, y0, x1, y1;
};

static struct rect pixels(const struct area *a, const struct sb_image *img,
			  double in)
{
	double w = (double)img->width, h = (double)img->height;
	return (struct rect){
		.x0 = a->xmin * a->scale / a->xsize * w + in,
		.x1 = a->xmax * a->scale / a->xsize * w - in,
		.y0 = (1 - a->ymax * a->scale / a->ysize) * h + in,
		.y1 = (1 - a->ymin * a->scale / a->ysize) * h - in,
	};
}

static void check_areas(struct report *r, const char *what,
			const struct area *areas, size_t n)
{
	double share = 0;
	size_t panels = 0;

	for (size_t i = 0; i < n; i++) {
		const struct area *a = &areas[i];
		double w = (a->xmax - a->xmin) * a->scale;
		double h = (a->ymax - a->ymin) * a->scale;
		if (!a->data)
			continue;
		panels++;
		share += w * h / (a->xsize * a->ysize);
		if (a->xmin < 0 || a->ymin < 0 || a->xmax * a->scale > a->xsize ||
		    a->ymax * a->scale > a->ysize)
			problem(r, "%s: panel %zu leaves the canvas\n", what, i);
		/* Six lines of text: room for tick labels that do not
		 * collide; the collapsed plots were one or two lines high. */
		if (h < 6 * a->vchar || w < 6 * a->vchar)
			problem(r, "%s: panel %zu is %.1f x %.1f lines of text, "
				"under 6\n", what, i, w / a->vchar,
				h / a->vchar);
	}
	if (!panels)
		problem(r, "%s: no plot area with data\n", what);
	else if (share < 0.5)
		problem(r, "%s: plot areas fill %.0f%% of the canvas, under "
			"50%%\n", what, 100 * share);
}

static void check_edges(struct report *r, const char *what,
			const struct sb_image *img)
{
	size_t w = img->width, h = img->height, hits = 0;

	for (size_t x = 0; x < w; x++)
		hits += ink(sb_image_at(img, x, 0)) +
			ink(sb_image_at(img, x, h - 1));
	for (size_t y = 0; y < h; y++)
		hits += ink(sb_image_at(img, 0, y)) +
			ink(sb_image_at(img, w - 1, y));
	if (hits)
		problem(r, "%s: %zu pixels drawn on the canvas edge (cut off)\n",
			what, hits);
}

/* The legend is what `unset key` takes away. */
static void check_legend(struct report *r, const char *what,
			 const struct sb_image *with, const struct sb_image *without,
			 const struct area *areas, size_t n, bool legend)
{
	size_t legend_px = 0, over = 0;

	if (with->width != without->width || with->height != without->height) {
		problem(r, "%s: the picture changes size without its legend\n",
			what);
		return;
	}
	for (size_t y = 0; y < with->height; y++)
		for (size_t x = 0; x < with->width; x++) {
			if (!differs(sb_image_at(with, x, y),
				     sb_image_at(without, x, y)))
				continue;
			legend_px++;
			for (size_t i = 0; i < n; i++) {
				struct rect rc = pixels(&areas[i], with, 2);
				if (areas[i].data && x > rc.x0 && x < rc.x1 &&
				    y > rc.y0 && y < rc.y1) {
					over++;
					break;
				}
			}
		}
	if (legend && legend_px < 50)
		problem(r, "%s: no legend found (%zu pixels)\n", what,
			legend_px);
	if (over)
		problem(r, "%s: %zu of the legend's %zu pixels lie inside a "
			"plot area\n", what, over, legend_px);
}

/* Measures one figure in PNG and PDF; legend: whether it has one. */
static void measure(struct report *r, const char *dir, const char *name,
		    bool legend)
{
	struct area areas[MAX_AREAS];
	char *with = redraw(dir, name, NULL, 0);
	size_t n = read_areas(with, areas);
	char *without = redraw(dir, name, areas, n);
	static const struct {
		const char *ext, *term, *file;
	} formats[] = {
		{"png", "pngcairo", "%s/%s.png"},
		{"pdf", "pdfcairo", "%s/%s_pdf.png"},
	};

	for (size_t k = 0; k < 2; k++) {
		struct area mine[MAX_AREAS];
		size_t m = 0;
		char *what = sb_asprintf("%s.%s", name, formats[k].ext);
		for (size_t i = 0; i < n; i++)
			if (!strcmp(areas[i].term, formats[k].term))
				mine[m++] = areas[i];
		char *a_path = sb_asprintf(formats[k].file, with, name);
		char *b_path = sb_asprintf(formats[k].file, without, name);
		struct sb_image a, b;
		load(a_path, &a);
		load(b_path, &b);
		check_areas(r, what, mine, m);
		check_edges(r, what, &a);
		check_legend(r, what, &a, &b, mine, m, legend);
		if (!strcmp(formats[k].ext, "png")) {
			/* What was measured is what sparsebench drew. */
			char *own = sb_asprintf("%s/%s.png", dir, name);
			struct sb_image o;
			load(own, &o);
			if (o.width != a.width || o.height != a.height ||
			    memcmp(o.rgb, a.rgb, 3 * a.width * a.height))
				problem(r, "%s: redrawn differently\n", what);
			sb_image_release(&o);
			free(own);
		}
		sb_image_release(&a);
		sb_image_release(&b);
		free(a_path);
		free(b_path);
		free(what);
	}
	free(with);
	free(without);
}

/* ---- the tests ---- */

/* Draws every figure of the experiment, checks which were drawn, and
 * measures each. */
static void check_experiment(const struct experiment *e,
			     const char *const *expect, size_t n_expect)
{
	char dir[64];
	struct sb_error err = {""};
	struct sb_plot_summary sum;
	struct report r = {.len = 0};

	assert_int_equal(sb_test_tmpdir(dir, sizeof dir, "layout"), 0);
	char *h5 = sb_test_path(dir, "layout.h5");
	char *out = sb_test_path(dir, "figs");
	sb_test_results_write(h5, "layout", describe, e, n_runs(e));
	if (sb_plot_draw(h5, out, "png,pdf", NULL, 0, &sum, &err))
		fail_msg("%s", err.msg);
	size_t drawn = 0;
	for (size_t i = 0; i < sum.n; i++)
		drawn += sum.figures[i].drawn;
	assert_int_equal(drawn, n_expect);
	for (size_t i = 0; i < n_expect; i++) {
		bool found = false;
		for (size_t j = 0; j < sum.n; j++)
			found = found || (sum.figures[j].drawn &&
					  !strcmp(sum.figures[j].name, expect[i]));
		if (!found)
			fail_msg("figure '%s' was not drawn", expect[i]);
		/* The memory figure names its bars on the axis: no legend. */
		measure(&r, out, expect[i], strcmp(expect[i], "memory"));
	}
	sb_plot_summary_release(&sum);
	/* SB_KEEP=1 keeps the pictures to look at */
	if (getenv("SB_KEEP"))
		print_message("kept %s\n", dir);
	else
		sb_test_rmtree(dir);
	free(h5);
	free(out);
	if (r.len)
		fail_msg("%zu methods:\n%s", n_methods(e), r.text);
}

static const char *const unswept[] = {
	"grad_info", "churn", "history", "val_curve", "time", "memory",
};
static const char *const swept[] = {
	"grad_info", "churn", "history", "val_curve", "density", "time",
	"memory",
};

static void test_sixteen_methods_fit(void **state)
{
	(void)state;
	check_experiment(&sixteen, unswept, 6);
}

static void test_twenty_four_methods_fit(void **state)
{
	(void)state;
	check_experiment(&twenty_four, swept, 7);
}

static void test_one_method_fits(void **state)
{
	(void)state;
	check_experiment(&single, unswept, 6);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sixteen_methods_fit),
		cmocka_unit_test(test_twenty_four_methods_fit),
		cmocka_unit_test(test_one_method_fits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
