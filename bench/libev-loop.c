/* libev-loop: the least a supervisor built on this project's stack can be,
 * an anchor for the RSS row.  Like bare.c it fork+execs N copies of COMMAND
 * and respawns a dead one at once, but its loop is libev's (ev_child and
 * ev_signal watchers) and it logs one line per start with snprintf, as any
 * supervisor that tells its operator what it did must.  TERM or INT
 * forwards TERM to every worker; it exits when all are gone.
 *
 *   libev-loop N /path/to/command [ARG]... */
#include <ev.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char **command;
static pid_t *workers;
static int n_workers, live, stopping;

static void spawn(int slot)
{
	char line[128];
	pid_t pid = fork();
	int n;

	if (pid == 0) {
		execv(command[0], command);
		_exit(127);
	}
	if (pid < 0)
		return;
	workers[slot] = pid;
	live++;
	n = snprintf(line, sizeof(line), "worker %d (pid %ld) started\n", slot + 1, (long)pid);
	if (n > 0 && write(STDERR_FILENO, line, (size_t)n) < 0)
		return;
}

static void on_child(struct ev_loop *loop, ev_child *w, int revents)
{
	int i;

	(void)revents;
	for (i = 0; i < n_workers; i++) {
		if (workers[i] != w->rpid)
			continue;
		workers[i] = 0;
		live--;
		if (!stopping)
			spawn(i);
	}
	if (stopping && live == 0)
		ev_break(loop, EVBREAK_ALL);
}

static void on_stop(struct ev_loop *loop, ev_signal *w, int revents)
{
	int i;

	(void)w;
	(void)revents;
	stopping = 1;
	for (i = 0; i < n_workers; i++)
		if (workers[i] > 0)
			kill(workers[i], SIGTERM);
	if (live == 0)
		ev_break(loop, EVBREAK_ALL);
}

int main(int argc, char **argv)
{
	struct ev_loop *loop = ev_default_loop(0);
	ev_child child;
	ev_signal term, intr;
	int i;

	if (argc < 3 || (n_workers = atoi(argv[1])) < 1 || loop == NULL) {
		fprintf(stderr, "usage: libev-loop N /path/to/command [ARG]...\n");
		return 64;
	}
	command = argv + 2;
	workers = calloc((size_t)n_workers, sizeof(*workers));
	if (workers == NULL)
		return 71;
	ev_child_init(&child, on_child, 0, 0);
	ev_child_start(loop, &child);
	ev_signal_init(&term, on_stop, SIGTERM);
	ev_signal_start(loop, &term);
	ev_signal_init(&intr, on_stop, SIGINT);
	ev_signal_start(loop, &intr);
	for (i = 0; i < n_workers; i++)
		spawn(i);
	ev_run(loop, 0);
	return 0;
}
