/* sig: signal names and numbers for the command line and log lines, and
 * what the master does with each signal (SPEC §5: act, halt, log, ignore). */
#include <signal.h>
#include <stdbool.h>
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

/* Real-time signals by their distance from SIGRTMIN, as sm_sig_parse reads
 * them back (and as kill -l prints the lower half). */
static const char *const rt_names[] = {
    "RTMIN",    "RTMIN+1",  "RTMIN+2",  "RTMIN+3",  "RTMIN+4",  "RTMIN+5",  "RTMIN+6",
    "RTMIN+7",  "RTMIN+8",  "RTMIN+9",  "RTMIN+10", "RTMIN+11", "RTMIN+12", "RTMIN+13",
    "RTMIN+14", "RTMIN+15", "RTMIN+16", "RTMIN+17", "RTMIN+18", "RTMIN+19", "RTMIN+20",
    "RTMIN+21", "RTMIN+22", "RTMIN+23", "RTMIN+24", "RTMIN+25", "RTMIN+26", "RTMIN+27",
    "RTMIN+28", "RTMIN+29", "RTMIN+30", "RTMIN+31", "RTMIN+32",
};

const char *sm_sig_name(int sig)
{
	size_t i;

	for (i = 0; i < sizeof(sm_signals) / sizeof(sm_signals[0]); i++)
		if (sm_signals[i].sig == sig)
			return sm_signals[i].name;
	if (sig >= SIGRTMIN && sig <= SIGRTMAX &&
	    (size_t)(sig - SIGRTMIN) < sizeof(rt_names) / sizeof(rt_names[0]))
		return rt_names[sig - SIGRTMIN];
	return "?";
}

/* Signals whose default would stop or kill the master, with what they
 * mean to other programs: said once a minute, then ignored. */
static const struct {
	int sig;
	const char *meaning;
} strays[] = {
    {SIGUSR2, "no binary upgrade here; HUP reloads the app"},
    {SIGALRM, "no alarm of ours is set; HUP reloads, TERM stops"},
    {SIGPWR, "a halt request only to PID 1; TERM stops the service"},
    {SIGPROF, "a profiling timer signal, not a request to the master"},
    {SIGVTALRM, "a virtual timer signal, not a request to the master"},
    {SIGTSTP, "the master does not suspend (its workers, in sessions of their own, "
              "would run unsupervised); INT or TERM stops the service"},
    {SIGXCPU, "a CPU time limit (RLIMIT_CPU) signal; the master goes on"},
    {SIGXFSZ, "a file size limit (RLIMIT_FSIZE) signal; a write past it fails instead"},
    {SIGSTKFLT, "no coprocessor here"},
    {SIGIO, "no asynchronous I/O of ours; nothing to do"},
};

static bool is_rt(int sig)
{
	return sig >= SIGRTMIN && sig <= SIGRTMAX;
}

enum sm_sig_kind sm_sig_classify(int sig, bool pid1)
{
	size_t i;

	for (i = 0; i < sm_sig_n_handled; i++)
		if (sm_sig_handled[i] == sig)
			return SM_SIG_ACT;
	/* LXC/Incus halt with PWR, systemd-style STOPSIGNAL with RTMIN+3. */
	if (pid1 && (sig == SIGPWR || sig == SIGRTMIN + 3))
		return SM_SIG_HALT;
	if (sig == SIGPIPE)
		return SM_SIG_QUIET;
	if (is_rt(sig))
		return SM_SIG_STRAY;
	for (i = 0; i < sizeof(strays) / sizeof(strays[0]); i++)
		if (strays[i].sig == sig)
			return SM_SIG_STRAY;
	/* Faults (SEGV, BUS, ...), KILL and STOP, and the signals whose
	 * default harms nobody (CHLD, CONT, URG, WINCH). */
	return SM_SIG_DEFAULT;
}

const char *sm_sig_meaning(int sig)
{
	size_t i;

	for (i = 0; i < sizeof(strays) / sizeof(strays[0]); i++)
		if (strays[i].sig == sig)
			return strays[i].meaning;
	if (is_rt(sig))
		return "no meaning here (--forward sends one to the workers)";
	return "not a request to the master";
}

const int sm_sig_handled[] = {SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGTTIN, SIGTTOU, SIGUSR1};
const size_t sm_sig_n_handled = sizeof(sm_sig_handled) / sizeof(sm_sig_handled[0]);

/* Held while starting: the handled signals whose default action would be
 * wrong then.  TERM, INT and QUIT keep theirs until the loop runs: a start
 * stuck in a slow user or host lookup can still be stopped, and nothing
 * has been forked that would outlive the master. */
static const int held[] = {SIGHUP, SIGUSR1, SIGTTIN, SIGTTOU};

/* The stray signals too (PWR and RTMIN+3 with them, whatever PID 1 will
 * make of them): until the loop logs them they would kill the master. */
static void held_set(sigset_t *set, uint64_t forward)
{
	size_t i;
	int sig;

	sigemptyset(set);
	for (i = 0; i < sizeof(held) / sizeof(held[0]); i++)
		sigaddset(set, held[i]);
	for (sig = 1; sig <= 64; sig++)
		if ((forward & (UINT64_C(1) << (sig - 1))) ||
		    (sig <= SIGRTMAX && sm_sig_classify(sig, false) == SM_SIG_STRAY))
			sigaddset(set, sig);
}

int sm_sig_hold(uint64_t forward)
{
	sigset_t set;

	/* A closed pipe is a write error where it happens, never a death. */
	(void)signal(SIGPIPE, SIG_IGN);
	held_set(&set, forward);
	return sigprocmask(SIG_SETMASK, &set, NULL);
}

int sm_sig_release(uint64_t forward)
{
	sigset_t set;

	held_set(&set, forward);
	return sigprocmask(SIG_UNBLOCK, &set, NULL);
}
