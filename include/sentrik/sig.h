/* sig: signal names <-> numbers, for --stop-signal, --forward and logs. */
#ifndef SENTRIK_SIG_H
#define SENTRIK_SIG_H

/* "TERM", "SIGTERM", "term" or "15" -> 15; -1 when unknown. */
int sm_sig_parse(const char *name);
/* 15 -> "TERM"; "?" for a number with no name. */
const char *sm_sig_name(int sig);

#endif
