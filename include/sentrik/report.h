/* report: what each start-up step found.  A start keeps the first failure
 * for its one FATAL line; --check prints every step with ok/FAIL and the fix. */
#ifndef SENTRIK_REPORT_H
#define SENTRIK_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include <sentrik/error.h>
#include <sentrik/log.h>

struct sm_report {
	FILE *out;             /* --check: every step goes here; NULL: a start */
	struct sm_error first; /* the first failure, message and fix on one line */
};

/* One step: status 0 is ok, else an EX_* of <sysexits.h>; fix (or NULL)
 * says what to change.  Returns 0 for ok, -1 for a failure, so a step can
 * end with `return sm_report_step(...)`. */
int sm_report_step(struct sm_report *rep, int status, const char *step, const char *fix,
                   const char *fmt, ...) SM_ATTR_PRINTF(5, 6);
/* True once a start has a failure: the steps that change things stop. */
bool sm_report_stop(const struct sm_report *rep);

#endif
