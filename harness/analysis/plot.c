/* plot.c - `sparsebench plot`: writes each figure's .dat and .gp into the
 * output directory, then runs gnuplot on each script from that directory
 * (gnuplot is an external program, never linked; docs/figures.md). */
#include "analysis/plot.h"
#include "analysis/figures.h"
#include "spec/params.h"
#include "util.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define GNUPLOT_MISSING \
	"gnuplot not found; install it with: apt-get install gnuplot-nox"

static const char *const known_formats[] = {"pdf", "png", "svg"};
#define N_FORMATS 3

static int parse_formats(const char *text, const char *out[N_FORMATS],
			 size_t *n, struct sb_error *err)
{
	*n = 0;
	for (const char *p = text; *p;) {
		size_t len = strcspn(p, ",");
		const char *q = p;
		while (len && *q == ' ') {
			q++;
			len--;
		}
		while (len && q[len - 1] == ' ')
			len--;
		size_t k = 0;
		while (k < N_FORMATS && !(strlen(known_formats[k]) == len &&
					  !strncmp(known_formats[k], q, len)))
			k++;
		if (k == N_FORMATS)
			return sb_error(err, "unknown figure format '%.*s' "
					"(known: pdf, png, svg)", (int)len, q);
		bool seen = false;
		for (size_t j = 0; j < *n; j++)
			seen = seen || out[j] == known_formats[k];
		if (!seen)
			out[(*n)++] = known_formats[k];
		p += strcspn(p, ",");
		if (*p)
			p++;
	}
	if (!*n)
		return sb_error(err, "no figure format given (known: pdf, png, "
				"svg)");
	return 0;
}

static int check_only(const char *const *only, size_t n_only,
		      struct sb_error *err)
{
	for (size_t i = 0; i < n_only; i++) {
		size_t k = 0;
		while (sb_plot_names[k] && strcmp(sb_plot_names[k], only[i]))
			k++;
		if (sb_plot_names[k])
			continue;
		char known[256] = "";
		for (k = 0; sb_plot_names[k]; k++)
			snprintf(known + strlen(known),
				 sizeof known - strlen(known), "%s%s",
				 k ? ", " : "", sb_plot_names[k]);
		return sb_error(err, "unknown figure '%s' (known: %s)", only[i],
				known);
	}
	return 0;
}

static bool wanted(const char *name, const char *const *only, size_t n_only)
{
	if (!only)
		return true;
	for (size_t i = 0; i < n_only; i++)
		if (!strcmp(only[i], name))
			return true;
	return false;
}

/* results/x.h5 -> results/x */
static char *default_dir(const char *path)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	const char *dot = strrchr(base, '.');
	size_t stem = dot && dot != base ? (size_t)(dot - base) : strlen(base);
	return sb_asprintf("%.*s%.*s", (int)(base - path), path, (int)stem,
			   base);
}

static int make_dirs(const char *dir, struct sb_error *err)
{
	char *path = sb_strdup(dir);
	int rc = 0;

	for (char *p = path + 1; rc == 0; p++) {
		if (*p && *p != '/')
			continue;
		char c = *p;
		*p = '\0';
		if (mkdir(path, 0777) && errno != EEXIST)
			rc = sb_error(err, "cannot create directory '%s': %s",
				      path, strerror(errno));
		*p = c;
		if (!c)
			break;
	}
	struct stat st;
	if (!rc && (stat(dir, &st) || !S_ISDIR(st.st_mode)))
		rc = sb_error(err, "'%s' is not a directory", dir);
	free(path);
	return rc;
}

/* The program's path on PATH, or NULL. */
static char *find_program(const char *name)
{
	const char *path = getenv("PATH");

	if (!path)
		return NULL;
	for (const char *p = path;; p++) {
		size_t len = strcspn(p, ":");
		char *full = len ? sb_asprintf("%.*s/%s", (int)len, p, name)
				 : sb_asprintf("./%s", name);
		struct stat st;
		if (!stat(full, &st) && S_ISREG(st.st_mode) &&
		    !access(full, X_OK))
			return full;
		free(full);
		p += len;
		if (!*p)
			return NULL;
	}
}

/* The last non-empty line of gnuplot's messages: where its error is. */
static void last_line(char *text, char *out, size_t size)
{
	size_t n = strlen(text);

	while (n && (text[n - 1] == '\n' || text[n - 1] == ' '))
		text[--n] = '\0';
	const char *line = strrchr(text, '\n');
	line = line ? line + 1 : text;
	n = strlen(line) < size ? strlen(line) : size - 1;
	memcpy(out, line, n);
	out[n] = '\0';
}

static int run_gnuplot(const char *gnuplot, const char *dir, const char *name,
		       struct sb_error *err)
{
	char *script = sb_asprintf("%s.gp", name);
	char msgs[4096];
	size_t n_msgs = 0;
	int fds[2];

	if (pipe(fds)) {
		free(script);
		return sb_error(err, "cannot run gnuplot: %s", strerror(errno));
	}
	pid_t pid = fork();
	if (pid == 0) {
		/* Only async-signal-safe calls between fork and exec. */
		int null = open("/dev/null", O_RDWR);
		if (chdir(dir) || null < 0)
			_exit(126);
		dup2(null, 0);
		dup2(null, 1);
		dup2(fds[1], 2);
		close(fds[0]);
		char *const argv[] = {(char *)"gnuplot", script, NULL};
		execv(gnuplot, argv);
		_exit(127);
	}
	close(fds[1]);
	if (pid < 0) {
		close(fds[0]);
		free(script);
		return sb_error(err, "cannot run gnuplot: %s", strerror(errno));
	}
	for (;;) {
		char chunk[512];
		ssize_t got = read(fds[0], chunk, sizeof chunk);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		/* Keep the latest messages: gnuplot's error comes last. */
		if (n_msgs + (size_t)got >= sizeof msgs) {
			size_t drop = n_msgs + (size_t)got - (sizeof msgs - 1);
			drop = drop < n_msgs ? drop : n_msgs;
			memmove(msgs, msgs + drop, n_msgs - drop);
			n_msgs -= drop;
		}
		size_t keep = (size_t)got < sizeof msgs - 1 - n_msgs
			? (size_t)got : sizeof msgs - 1 - n_msgs;
		memcpy(msgs + n_msgs, chunk + (size_t)got - keep, keep);
		n_msgs += keep;
	}
	msgs[n_msgs] = '\0';
	close(fds[0]);
	int status = 0;
	pid_t waited;
	while ((waited = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
		;
	int rc = 0;
	if (waited < 0) {
		rc = sb_error(err, "cannot wait for gnuplot on '%s/%s': %s",
			      dir, script, strerror(errno));
	} else if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		char line[512];
		last_line(msgs, line, sizeof line);
		if (WIFEXITED(status) && WEXITSTATUS(status) >= 126 && !*line)
			rc = sb_error(err, "cannot run '%s' in '%s'", gnuplot,
				      dir);
		else
			rc = sb_error(err, "gnuplot failed on '%s/%s': %s", dir,
				      script, *line ? line : "killed");
	}
	free(script);
	return rc;
}

static int check_outputs(const struct sb_fig_ctx *ctx, const char *name,
			 struct sb_error *err)
{
	for (size_t i = 0; i < ctx->n_formats; i++) {
		char *path = sb_asprintf("%s/%s.%s", ctx->dir, name,
					 ctx->formats[i]);
		struct stat st;
		int bad = stat(path, &st) || st.st_size == 0;
		if (bad)
			sb_error(err, "gnuplot did not write '%s'", path);
		free(path);
		if (bad)
			return -1;
	}
	return 0;
}

static const struct sb_figure *figure_named(const char *name)
{
	for (const struct sb_figure *f = sb_figures; f->name; f++)
		if (!strcmp(f->name, name))
			return f;
	return NULL;
}

int sb_plot_draw(const char *results_path, const char *out_dir,
		 const char *formats, const char *const *only, size_t n_only,
		 struct sb_plot_summary *summary, struct sb_error *err)
{
	struct sb_plot_summary own;
	struct sb_aggregate agg;
	struct sb_palette palette = {0};
	const char *fmts[N_FORMATS];
	size_t n_fmts;
	char *gnuplot = NULL;
	int rc = -1;

	if (!summary)
		summary = &own;
	memset(summary, 0, sizeof *summary);
	if (parse_formats(formats ? formats : "pdf,png", fmts, &n_fmts, err) ||
	    check_only(only, n_only, err) ||
	    sb_aggregate_load(&agg, results_path, err))
		goto out_summary;
	summary->dir = out_dir ? sb_strdup(out_dir) : default_dir(results_path);
	if (make_dirs(summary->dir, err))
		goto out;

	sb_palette_init(&palette, &agg);
	struct sb_fig_ctx ctx = {
		.agg = &agg, .palette = &palette, .dir = summary->dir,
		.formats = fmts, .n_formats = n_fmts,
	};
	size_t n_written = 0;
	for (size_t k = 0; sb_plot_names[k]; k++) {
		const struct sb_figure *fig = figure_named(sb_plot_names[k]);
		assert(fig && k < sizeof summary->figures /
				  sizeof summary->figures[0]);
		if (!wanted(fig->name, only, n_only))
			continue;
		struct sb_plot_figure *pf = &summary->figures[summary->n++];
		pf->name = sb_plot_names[k];
		if (!agg.n_runs) {
			pf->why = "the file holds no runs";
			continue;
		}
		int w = fig->write(&ctx, &pf->why, err);
		if (w < 0)
			goto out;
		pf->written = w == 0;
		n_written += pf->written;
	}

	rc = 0;
	if (!n_written)
		goto out;
	gnuplot = find_program("gnuplot");
	if (!gnuplot) {
		rc = sb_error(err, GNUPLOT_MISSING);
		goto out;
	}
	/* Draw every figure; the first failure is the one reported. */
	for (size_t i = 0; i < summary->n; i++) {
		struct sb_plot_figure *pf = &summary->figures[i];
		struct sb_error one;
		if (!pf->written)
			continue;
		if (run_gnuplot(gnuplot, summary->dir, pf->name, &one) ||
		    check_outputs(&ctx, pf->name, &one)) {
			if (!rc)
				*err = one;
			rc = -1;
			continue;
		}
		pf->drawn = true;
	}
out:
	if (!rc && agg.view.path)
		rc = sb_results_damage(&agg.view, err);
	free(gnuplot);
	sb_palette_release(&palette);
	sb_aggregate_release(&agg);
out_summary:
	if (summary == &own)
		sb_plot_summary_release(&own);
	return rc;
}

int sb_plot(const char *results_path, const char *out_dir,
	    const char *formats, const char *const *only, size_t n_only,
	    struct sb_error *err)
{
	return sb_plot_draw(results_path, out_dir, formats, only, n_only, NULL,
			    err);
}

void sb_plot_summary_release(struct sb_plot_summary *summary)
{
	free(summary->dir);
	memset(summary, 0, sizeof *summary);
}
