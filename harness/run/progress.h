/* progress.h - what a long experiment tells the person waiting: a live
 * line (step, loss, ETA) on a terminal, plain log lines otherwise. Writes
 * to stderr; results go to stdout and the HDF5 file. */
#ifndef SB_PROGRESS_H
#define SB_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>

struct sb_progress {
	bool tty;       /* stderr is a terminal */
	bool quiet;     /* nothing but warnings */
	size_t index, total; /* this run's place in the experiment */
	const char *run_id;
	long steps;
	double t_start, t_last;
};

void sb_progress_init(struct sb_progress *p, bool quiet);
void sb_progress_run_begin(struct sb_progress *p, size_t index, size_t total,
			   const char *run_id, long steps);
void sb_progress_step(struct sb_progress *p, long step, double loss);
void sb_progress_eval(struct sb_progress *p, long step, double loss,
		      double val_loss, double val_accuracy);
void sb_progress_run_end(struct sb_progress *p, const char *status,
			 const char *detail);
void sb_progress_note(struct sb_progress *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
