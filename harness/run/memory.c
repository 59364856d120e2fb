/* memory.c - a run's peak resident size (memory.h), from the kernel's
 * accounting of the process: proc(5), /proc/self/clear_refs and
 * /proc/self/status. */
#include "run/memory.h"

#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

bool sb_rss_reset(void)
{
	malloc_trim(0);
	FILE *f = fopen("/proc/self/clear_refs", "w");
	if (!f)
		return false;
	bool ok = fputs("5", f) >= 0;
	return fclose(f) == 0 && ok;
}

double sb_rss_peak(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	double kib = -1;
	while (f && fgets(line, sizeof line, f))
		if (!strncmp(line, "VmHWM:", 6) &&
		    sscanf(line + 6, "%lf", &kib) == 1)
			break;
	if (f)
		fclose(f);
	if (kib < 0) {
		struct rusage ru;
		getrusage(RUSAGE_SELF, &ru);
		kib = (double)ru.ru_maxrss; /* KiB on Linux */
	}
	return kib * 1024.0;
}
