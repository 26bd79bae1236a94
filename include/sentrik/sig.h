/* sig: signal names <-> numbers, for --stop-signal, --forward and logs. */
#ifndef SENTRIK_SIG_H
#define SENTRIK_SIG_H

#include <stddef.h>
#include <stdint.h>

/* The signals the master acts on itself (SPEC §5). */
extern const int sm_sig_handled[];
extern const size_t sm_sig_n_handled;

/* "TERM", "SIGTERM", "term" or "15" -> 15; -1 when unknown. */
int sm_sig_parse(const char *name);
/* 15 -> "TERM"; "?" for a number with no name. */
const char *sm_sig_name(int sig);

/* Sets the signal mask to HUP, USR1, TTIN, TTOU plus FORWARD (bit sig-1
 * for signal sig), and nothing else.  Until sm_sig_release they stay
 * pending instead of taking their default action (HUP, USR1 would kill a
 * master that has not installed its handlers yet, TTIN would stop it), and
 * a mask inherited from the parent is dropped: a master started with TERM
 * blocked must still hear TERM. */
int sm_sig_hold(uint64_t forward);
/* Unblocks what sm_sig_hold held, once the loop watches those signals:
 * whatever arrived meanwhile is delivered then. */
int sm_sig_release(uint64_t forward);

#endif
