/* pid1: the duties of an init process — as PID 1 every orphan is ours;
 * otherwise become a child subreaper so workers' orphans stay ours too;
 * at stop, nothing we adopted outlives us. */
#ifndef SENTRIK_PID1_H
#define SENTRIK_PID1_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* 1 when running as PID 1, 0 when made a subreaper, -1 on error. */
int sm_pid1_setup(void);

/* The master's children now, from /proc/self/task/ * /children: up to max
 * pids in out; returns how many were found (may exceed max). */
size_t sm_pid1_children(pid_t *out, size_t max);

/* After the workers are gone: every child still running (an orphan a
 * worker left, adopted) gets sig, then SIGKILL once grace seconds have
 * passed; each is named in the log.  as_pid1: PID 1 of its own PID
 * namespace, which alone may also signal -1 (as a subreaper that would
 * reach every process of USER on the host).  Returns when none is left
 * (or, after SIGKILL, after one more second at most). */
void sm_pid1_stop_orphans(int sig, double grace, bool as_pid1);

#endif
