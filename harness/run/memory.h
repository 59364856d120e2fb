/* memory.h - the peak resident size of the process over one run alone: the
 * kernel's high-water mark (VmHWM), reset at the run's start, so a run of a
 * sweep does not inherit the peaks of the runs before it. */
#ifndef SB_MEMORY_H
#define SB_MEMORY_H

#include <stdbool.h>

/* Returns the heap's free memory to the system (malloc_trim) and resets the
 * high-water mark to the current resident size by writing "5" to
 * /proc/self/clear_refs (Linux 4.0 and later). False when the kernel does
 * not let it: the mark is then the whole process's. */
bool sb_rss_reset(void);
/* The high-water mark of the resident set in bytes (VmHWM of
 * /proc/self/status, else getrusage's ru_maxrss). */
double sb_rss_peak(void);

#endif
