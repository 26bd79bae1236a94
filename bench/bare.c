/* bare: the baseline of every benchmark, the least a supervisor can be.
 * It fork+execs N copies of COMMAND, then waits in sigwaitinfo: on CHLD it
 * reaps everything with waitpid and respawns a dead worker at once; on TERM
 * or INT it forwards TERM to every worker and exits when all are gone.
 * As PID 1 the same waitpid loop reaps orphans.  No logging, no backoff.
 *
 *   bare N /path/to/command [ARG]... */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t *workers;
static int n_workers, live;
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
	if (workers == NULL)
		return 71;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, &old_mask);
	for (i = 0; i < n_workers; i++)
		workers[i] = spawn(argv + 2);

	while (!stopping || live > 0) {
		if (sigwaitinfo(&set, &info) < 0)
			continue;
		if (info.si_signo != SIGCHLD) {
			stopping = 1;
			for (i = 0; i < n_workers; i++)
				if (workers[i] > 0)
					kill(workers[i], SIGTERM);
			continue;
		}
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
			for (i = 0; i < n_workers; i++)
				if (workers[i] == pid) {
					live--;
					workers[i] = stopping ? 0 : spawn(argv + 2);
				}
	}
	return 0;
}
