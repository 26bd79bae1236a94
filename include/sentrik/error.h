/* error: the one way a failure travels from a module up to main.c, which
 * alone turns its status into an exit code (SPEC §8). */
#ifndef SENTRIK_ERROR_H
#define SENTRIK_ERROR_H

#include <stdbool.h>
#include <stddef.h>
#include <sysexits.h>

#define SM_ERROR_MSG_MAX 8704 /* two paths and a fix fit in one line */

/* status: 0 while nothing failed, else an EX_* code of <sysexits.h>;
 * msg: one line, naming what failed and, where there is one, the fix. */
struct sm_error {
	int status;
	char msg[SM_ERROR_MSG_MAX];
};

/* Set status and the message (printf-like); returns -1 so a caller can
 * write `return sm_error_set(e, EX_OSERR, "...")`.  A NULL e is allowed. */
int sm_error_set(struct sm_error *e, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void sm_error_clear(struct sm_error *e);
static inline bool sm_error_failed(const struct sm_error *e)
{
	return e->status != 0;
}

#endif
