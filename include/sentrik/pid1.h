/* pid1: the duties of an init process — as PID 1 every orphan is ours;
 * otherwise become a child subreaper so workers' orphans stay ours too. */
#ifndef SENTRIK_PID1_H
#define SENTRIK_PID1_H

/* 1 when running as PID 1, 0 when made a subreaper, -1 on error. */
int sm_pid1_setup(void);

#endif
