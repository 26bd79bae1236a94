/* bare: the baseline of every benchmark, the least a supervisor can be.
 * It fork+execs N copies of COMMAND, then waits in sigwaitinfo: on CHLD it
 * reaps everything with waitpid and respawns a dead worker at once; on TERM
 * or INT it forwards TERM to every worker and exits when all are gone; on
 * HUP it forks a new set of N and sends TERM to the old set at once (no
 * readiness to wait for).  As PID 1 the same waitpid loop reaps orphans.
 * No logging, no backoff.
 *
 *   bare N /path/to/command [ARG]... */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t *workers, *retiring;         /* retiring: the set a HUP replaced */
static int n_workers, live, retiring_top; /* retiring[0, retiring_top) may be in use */
static sigset_t old_mask;

static pid_t spawn(char **argv)
{
	pid_t pid = fork();

	if (pid == 0) {
		sigprocmask(SIG_SETMASK, &old_mask, NULL);
		execv(argv[0], argv);
		_exit(127);
	}
	if (pid > 0)
		live++;
	return pid;
}

/* Up to 8 sets may be retiring at once (HUPs faster than workers go). */
static void retire(pid_t pid)
{
	int i;

	for (i = 0; i < n_workers * 8; i++)
		if (retiring[i] == 0) {
			retiring[i] = pid;
			if (i >= retiring_top)
				retiring_top = i + 1;
			return;
		}
}

int main(int argc, char **argv)
{
	sigset_t set;
	siginfo_t info;
	int stopping = 0, i, status;
	pid_t pid;

	if (argc < 3 || (n_workers = atoi(argv[1])) < 1) {
		fprintf(stderr, "usage: bare N /path/to/command [ARG]...\n");
		return 64;
	}
	workers = calloc((size_t)n_workers, sizeof(*workers));
	retiring = calloc((size_t)n_workers * 8, sizeof(*retiring));
	if (workers == NULL || retiring == NULL)
		return 71;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, &old_mask);
	for (i = 0; i < n_workers; i++)
		workers[i] = spawn(argv + 2);

	while (!stopping || live > 0) {
		if (sigwaitinfo(&set, &info) < 0)
			continue;
		if (info.si_signo == SIGHUP && !stopping) {
			for (i = 0; i < n_workers; i++)
				retire(workers[i]);
			for (i = 0; i < n_workers; i++)
				workers[i] = spawn(argv + 2);
			for (i = 0; i < retiring_top; i++)
				if (retiring[i] > 0)
					kill(retiring[i], SIGTERM);
			continue;
		}
		if (info.si_signo != SIGCHLD) {
			stopping = 1;
			for (i = 0; i < n_workers; i++)
				if (workers[i] > 0)
					kill(workers[i], SIGTERM);
			for (i = 0; i < retiring_top; i++)
				if (retiring[i] > 0)
					kill(retiring[i], SIGTERM);
			continue;
		}
		/* A linear look-up, the simplest there is: O(N) per exit. */
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
			for (i = 0; i < n_workers && workers[i] != pid; i++)
				;
			if (i < n_workers) {
				live--;
				workers[i] = stopping ? 0 : spawn(argv + 2);
				continue;
			}
			for (i = 0; i < retiring_top; i++)
				if (retiring[i] == pid) {
					live--;
					retiring[i] = 0;
					break;
				}
			while (retiring_top > 0 && retiring[retiring_top - 1] == 0)
				retiring_top--;
		}
	}
	return 0;
}
