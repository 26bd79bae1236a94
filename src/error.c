/* error: filling the one error type every module reports through; the
 * mapping to an exit code is main.c's alone. */
#include <stdarg.h>
#include <stdio.h>

#include <sentrik/error.h>

int sm_error_set(struct sm_error *e, int status, const char *fmt, ...)
{
	va_list ap;

	if (e == NULL)
		return -1;
	e->status = status;
	va_start(ap, fmt);
	(void)vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -1;
}

void sm_error_clear(struct sm_error *e)
{
	e->status = 0;
	e->msg[0] = '\0';
}
