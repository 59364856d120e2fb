/* main.c - the sparsebench command line. */
#include "sb.h"

#include <stdio.h>

int main(void)
{
	printf("sparsebench %s\n", SB_VERSION);
	return 0;
}
