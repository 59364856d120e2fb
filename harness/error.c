/* error.c - the one way the core and plugins report a failure to the user:
 * a message kept in struct sb_error, printed only by main. */
#include "sb.h"

#include <stdarg.h>
#include <stdio.h>

int sb_error(struct sb_error *err, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof err->msg, fmt, ap);
		va_end(ap);
	}
	return -1;
}
