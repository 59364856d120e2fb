/* result.c - the RESULT line of result.h, written in one place. */
#include "result.h"

#include <stdio.h>

void sb_bench_result(const char *name, double seconds, double floor,
		     double target_ratio)
{
	if (target_ratio > 0)
		printf("RESULT %s %.9g %.9g %g\n", name, seconds, floor,
		       target_ratio);
	else
		printf("RESULT %s %.9g %.9g\n", name, seconds, floor);
	fflush(stdout);
}
