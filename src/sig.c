/* sig: signal names and numbers for the command line and log lines.
 * Names are accepted with or without "SIG", in any case, or as numbers. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sentrik/sig.h>

static const struct {
	const char *name;
	int sig;
} sm_signals[] = {
    {"HUP", SIGHUP},   {"INT", SIGINT},       {"QUIT", SIGQUIT}, {"ILL", SIGILL},
    {"TRAP", SIGTRAP}, {"ABRT", SIGABRT},     {"BUS", SIGBUS},   {"FPE", SIGFPE},
    {"KILL", SIGKILL}, {"USR1", SIGUSR1},     {"SEGV", SIGSEGV}, {"USR2", SIGUSR2},
    {"PIPE", SIGPIPE}, {"ALRM", SIGALRM},     {"TERM", SIGTERM}, {"STKFLT", SIGSTKFLT},
    {"CHLD", SIGCHLD}, {"CONT", SIGCONT},     {"STOP", SIGSTOP}, {"TSTP", SIGTSTP},
    {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU},     {"URG", SIGURG},   {"XCPU", SIGXCPU},
    {"XFSZ", SIGXFSZ}, {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF}, {"WINCH", SIGWINCH},
    {"IO", SIGIO},     {"PWR", SIGPWR},       {"SYS", SIGSYS},   {"IOT", SIGABRT},
    {"POLL", SIGIO},   {"CLD", SIGCHLD},
};

int sm_sig_parse(const char *name)
{
	char *end;
	long n;
	size_t i;

	if (name == NULL || *name == '\0')
		return -1;
	if (name[0] >= '0' && name[0] <= '9') {
		n = strtol(name, &end, 10);
		if (*end != '\0' || n < 1 || n >= NSIG)
			return -1;
		return (int)n;
	}
	if (strncasecmp(name, "SIG", 3) == 0)
		name += 3;
	for (i = 0; i < sizeof(sm_signals) / sizeof(sm_signals[0]); i++)
		if (strcasecmp(name, sm_signals[i].name) == 0)
			return sm_signals[i].sig;
	if (strncasecmp(name, "RTMIN", 5) == 0 || strncasecmp(name, "RTMAX", 5) == 0) {
		int base = strncasecmp(name, "RTMIN", 5) == 0 ? SIGRTMIN : SIGRTMAX;
		int sign = base == SIGRTMIN ? 1 : -1;
		if (name[5] == '\0')
			return base;
		if (name[5] != (sign > 0 ? '+' : '-'))
			return -1;
		n = strtol(name + 6, &end, 10);
		if (name[6] == '\0' || *end != '\0' || n < 0 || n > SIGRTMAX - SIGRTMIN)
			return -1;
		return base + sign * (int)n;
	}
	return -1;
}

const char *sm_sig_name(int sig)
{
	size_t i;

	for (i = 0; i < sizeof(sm_signals) / sizeof(sm_signals[0]); i++)
		if (sm_signals[i].sig == sig)
			return sm_signals[i].name;
	return "?";
}

const int sm_sig_handled[] = {SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGTTIN, SIGTTOU, SIGUSR1};
const size_t sm_sig_n_handled = sizeof(sm_sig_handled) / sizeof(sm_sig_handled[0]);

/* Held while starting: the handled signals whose default action would be
 * wrong then.  TERM, INT and QUIT keep theirs until the loop runs: a start
 * stuck in a slow user or host lookup can still be stopped, and nothing
 * has been forked that would outlive the master. */
static const int held[] = {SIGHUP, SIGUSR1, SIGTTIN, SIGTTOU};

static void held_set(sigset_t *set, uint64_t forward)
{
	size_t i;
	int sig;

	sigemptyset(set);
	for (i = 0; i < sizeof(held) / sizeof(held[0]); i++)
		sigaddset(set, held[i]);
	for (sig = 1; sig <= 64; sig++)
		if (forward & (UINT64_C(1) << (sig - 1)))
			sigaddset(set, sig);
}

int sm_sig_hold(uint64_t forward)
{
	sigset_t set;

	held_set(&set, forward);
	return sigprocmask(SIG_SETMASK, &set, NULL);
}

int sm_sig_release(uint64_t forward)
{
	sigset_t set;

	held_set(&set, forward);
	return sigprocmask(SIG_UNBLOCK, &set, NULL);
}
