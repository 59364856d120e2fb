/* progress.c - the live progress line on a terminal (redrawn at most every
 * 0.2 s) and plain per-evaluation log lines when stderr is not a terminal. */
#define _POSIX_C_SOURCE 200809L
#include "run/progress.h"
#include "util.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

void sb_progress_init(struct sb_progress *p, bool quiet)
{
	*p = (struct sb_progress){0};
	p->tty = isatty(STDERR_FILENO);
	p->quiet = quiet;
}

void sb_progress_run_begin(struct sb_progress *p, size_t index, size_t total,
			   const char *run_id, long steps)
{
	p->index = index;
	p->total = total;
	p->run_id = run_id;
	p->steps = steps;
	p->t_start = p->t_last = sb_now();
	if (!p->quiet && !p->tty)
		fprintf(stderr, "[%zu/%zu] %s: %ld steps\n", index + 1, total,
			run_id, steps);
}

static void eta_text(const struct sb_progress *p, long step, char *buf,
		     size_t size)
{
	double elapsed = sb_now() - p->t_start;
	if (step <= 0) {
		snprintf(buf, size, "--:--");
		return;
	}
	double left = elapsed * (double)(p->steps - step) / (double)step;
	snprintf(buf, size, "%02d:%02d", (int)(left / 60), (int)left % 60);
}

void sb_progress_step(struct sb_progress *p, long step, double loss)
{
	if (p->quiet || !p->tty)
		return;
	double now = sb_now();
	if (now - p->t_last < 0.2 && step != p->steps)
		return;
	p->t_last = now;
	char eta[32];
	eta_text(p, step, eta, sizeof eta);
	fprintf(stderr, "\r\033[K[%zu/%zu] %s  step %ld/%ld  loss %.4f  ETA %s",
		p->index + 1, p->total, p->run_id, step, p->steps, loss, eta);
	fflush(stderr);
}

void sb_progress_eval(struct sb_progress *p, long step, double loss,
		      double val_loss, double val_accuracy)
{
	if (p->quiet || p->tty)
		return;
	char eta[32], train[48] = "";
	eta_text(p, step, eta, sizeof eta);
	if (!isnan(loss))
		snprintf(train, sizeof train, " loss %.4f", loss);
	fprintf(stderr,
		"[%zu/%zu] %s: step %ld/%ld%s val_loss %.4f "
		"val_accuracy %.4f ETA %s\n",
		p->index + 1, p->total, p->run_id, step, p->steps, train,
		val_loss, val_accuracy, eta);
}

void sb_progress_run_end(struct sb_progress *p, const char *status,
			 const char *detail)
{
	if (p->quiet)
		return;
	if (p->tty)
		fprintf(stderr, "\r\033[K");
	fprintf(stderr, "[%zu/%zu] %s: %s in %.1f s%s%s\n", p->index + 1,
		p->total, p->run_id, status, sb_now() - p->t_start,
		detail && *detail ? ": " : "", detail ? detail : "");
}

void sb_progress_note(struct sb_progress *p, const char *fmt, ...)
{
	if (p->quiet)
		return;
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
