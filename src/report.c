/* report: printing each start-up step for --check, and keeping the first
 * failure of a start (message and fix) for main.c to end with. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <sentrik/report.h>

int sm_report_step(struct sm_report *rep, int status, const char *step, const char *fix,
                   const char *fmt, ...)
{
	char what[sizeof(rep->first.msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (rep->out != NULL) {
		fprintf(rep->out, "%-4s  %-9s %s\n", status == 0 ? "ok" : "FAIL", step, what);
		if (status != 0 && fix != NULL)
			fprintf(rep->out, "%16s %s\n", "fix:", fix);
	} else if (status == 0) {
		sm_debug("%s: %s", step, what);
	}
	if (status == 0)
		return 0;
	if (!sm_error_failed(&rep->first)) {
		/* The fix only if it fits whole: half a command is worse than none. */
		if (fix != NULL && strlen(what) + 8 + strlen(fix) < sizeof(rep->first.msg))
			sm_error_set(&rep->first, status, "%s; fix: %s", what, fix);
		else
			sm_error_set(&rep->first, status, "%s", what);
	}
	return -1;
}

bool sm_report_stop(const struct sm_report *rep)
{
	return rep->out == NULL && sm_error_failed(&rep->first);
}
