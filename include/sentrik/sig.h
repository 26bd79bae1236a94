/* sig: signal names <-> numbers, for --stop-signal, --forward and logs,
 * and the table of what the master does with each signal (SPEC §5). */
#ifndef SENTRIK_SIG_H
#define SENTRIK_SIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The signals the master acts on itself (SPEC §5). */
extern const int sm_sig_handled[];
extern const size_t sm_sig_n_handled;

/* What the master does with a signal it is not asked to --forward. */
enum sm_sig_kind {
	SM_SIG_DEFAULT, /* its default action: faults, KILL, STOP, and the harmless ones */
	SM_SIG_ACT,     /* one of sm_sig_handled */
	SM_SIG_HALT,    /* as PID 1, PWR and RTMIN+3: a graceful shutdown, as TERM */
	SM_SIG_STRAY,   /* would stop or kill the master: logged once a minute, ignored */
	SM_SIG_QUIET,   /* PIPE: ignored without a word */
};
enum sm_sig_kind sm_sig_classify(int sig, bool pid1);
/* For a stray signal, what it would mean elsewhere, for its log line
 * ("no binary upgrade here; HUP reloads the app"). */
const char *sm_sig_meaning(int sig);

/* "TERM", "SIGTERM", "term" or "15" -> 15; -1 when unknown. */
int sm_sig_parse(const char *name);
/* 15 -> "TERM", SIGRTMIN + 5 -> "RTMIN+5"; "?" for a number with no name. */
const char *sm_sig_name(int sig);

/* Ignores PIPE and sets the signal mask to HUP, USR1, TTIN, TTOU, the
 * stray signals plus FORWARD (bit sig-1 for signal sig), and nothing else.  Until sm_sig_release they stay
 * pending instead of taking their default action (HUP, USR1 would kill a
 * master that has not installed its handlers yet, TTIN would stop it), and
 * a mask inherited from the parent is dropped: a master started with TERM
 * blocked must still hear TERM. */
int sm_sig_hold(uint64_t forward);
/* Unblocks what sm_sig_hold held, once the loop watches those signals:
 * whatever arrived meanwhile is delivered then. */
int sm_sig_release(uint64_t forward);

#endif
