/* timer: starts one supervisor (sentrik-master, the bare loop, tini...)
 * with bench probes as workers, measures one thing, prints the figure on
 * standard output, and stops everything it started.  The probes report
 * through a FIFO, so every side is timed by the same clock and the same
 * signal of life.
 *
 *   timer spawn   FIFO LOG N          -- SUPERVISOR...  ms until N probes run
 *   timer rss     FIFO LOG N          -- SUPERVISOR...  VmRSS KiB, N idle probes
 *   timer idle    FIFO LOG N SEC      -- SUPERVISOR...  context switches in SEC s
 *   timer term    FIFO LOG N          -- SUPERVISOR...  ms from TERM to its exit
 *   timer restart FIFO LOG N ROUNDS [K] -- SUPERVISOR... ms from kill -9 of a
 *                                        probe to its replacement running; one
 *                                        line per kill, K (default N) kills a
 *                                        round
 *   timer reload  FIFO LOG N          -- SUPERVISOR...  ms from HUP until N new
 *                                        workers run and every old one is reaped
 *   timer cpu-exit FIFO LOG N K       -- SUPERVISOR...  the supervisor's CPU µs
 *                                        per exit: K kill -9s, each waited for
 *                                        its replacement
 *   timer cpu-notify FIFO LOG N K     -- SUPERVISOR...  the supervisor's CPU µs
 *                                        per notify message: one probe sends K
 *   timer reap    FIFO LOG            -- SUPERVISOR...  ms a probe --orphans
 *                                        reports (it runs under PID 1)
 *
 * FIFO "-" is for anchors whose workers are not probes (nginx, uWSGI...):
 * a worker then counts as running once the supervisor has forked it (read
 * from /proc/PID/task/PID/children), which flatters the anchor a little.
 *
 * The supervisor's output goes to LOG.  Every wait is bounded: a side that
 * hangs is killed and the figure is "error". */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdbool.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "record.h"

#define WAIT_MS 60000
#define STOP_MS 15000
#define CLEANUP_MS 3000

static int fifo_fd = -1;
static pid_t sup_pid;
static double started_at; /* before the fork: the child may run to the end first */

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void nap_ms(double ms)
{
	struct timespec ts = {(time_t)(ms / 1e3),
	                      (long)((ms - (double)(time_t)(ms / 1e3) * 1e3) * 1e6)};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Kill whatever is left below us (we are a subreaper, so that includes
 * orphans of the supervisor) and reap until nothing is left. */
static void reap_all(double deadline)
{
	for (;;) {
		pid_t pid = waitpid(-1, NULL, WNOHANG);
		if (pid < 0 && errno == ECHILD)
			return;
		if (pid > 0)
			continue;
		if (now_ms() > deadline) {
			char path[64], buf[8192];
			FILE *f;
			snprintf(path, sizeof(path), "/proc/%ld/task/%ld/children", (long)getpid(),
			         (long)getpid());
			f = fopen(path, "re");
			if (f != NULL) {
				while (fscanf(f, "%8191s", buf) == 1)
					kill((pid_t)atol(buf), SIGKILL);
				fclose(f);
			}
			deadline = now_ms() + 1000;
		}
		nap_ms(2);
	}
}

static void stop(int sig)
{
	if (sup_pid > 0)
		kill(sup_pid, sig);
	reap_all(now_ms() + CLEANUP_MS);
	sup_pid = 0;
}

static void fail(const char *why)
{
	fprintf(stderr, "timer: %s\n", why);
	printf("error\n");
	stop(SIGKILL);
	exit(1);
}

static void open_fifo(const char *path)
{
	if (strcmp(path, "-") == 0)
		return;
	unlink(path);
	if (mkfifo(path, 0666) < 0)
		fail("cannot create the FIFO");
	/* Opened for writing too, so it never reads as end of file between probes. */
	fifo_fd = open(path, O_RDWR | O_CLOEXEC);
	if (fifo_fd < 0)
		fail("cannot open the FIFO");
}

static void start(char **argv, const char *log)
{
	started_at = now_ms();
	sup_pid = fork();
	if (sup_pid < 0)
		fail("fork");
	if (sup_pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(126);
		execvp(argv[0], argv);
		_exit(127);
	}
}

static int next_record(struct bench_record *r, double deadline)
{
	size_t got = 0;

	while (got < sizeof(*r)) {
		struct pollfd p = {fifo_fd, POLLIN, 0};
		double left = deadline - now_ms();
		ssize_t n;
		if (left <= 0)
			return -1;
		if (poll(&p, 1, (int)left + 1) < 0 && errno != EINTR)
			return -1;
		if (!(p.revents & POLLIN))
			continue;
		n = read(fifo_fd, (char *)r + got, sizeof(*r) - got);
		if (n > 0)
			got += (size_t)n;
		else if (n < 0 && errno != EINTR && errno != EAGAIN)
			return -1;
	}
	return 0;
}

/* The supervisor's children into pids (up to max); their count. */
static int children(pid_t *pids, int max)
{
	char path[64];
	long pid;
	int n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/task/%ld/children", (long)sup_pid, (long)sup_pid);
	f = fopen(path, "re");
	if (f == NULL)
		fail("cannot read the supervisor's children");
	while (fscanf(f, "%ld", &pid) == 1)
		if (n < max)
			pids[n++] = (pid_t)pid;
	fclose(f);
	return n;
}

static bool listed(pid_t pid, const pid_t *pids, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (pids[i] == pid)
			return true;
	return false;
}

/* Without probes: wait until the supervisor has n children, none of them in
 * old[0, n_old); their pids into pids. */
static void wait_children(int n, pid_t *pids, const pid_t *old, int n_old)
{
	double deadline = now_ms() + WAIT_MS;
	pid_t *now = calloc((size_t)n * 4 + 64, sizeof(*now));
	int i, count, fresh;

	if (now == NULL)
		fail("out of memory");
	for (;;) {
		count = children(now, n * 4 + 64);
		for (i = fresh = 0; i < count; i++)
			fresh += !listed(now[i], old, n_old);
		if (fresh >= n && count == fresh)
			break;
		if (now_ms() > deadline)
			fail("the supervisor's workers did not all start in time");
		nap_ms(1);
	}
	if (pids != NULL)
		memcpy(pids, now, (size_t)n * sizeof(*pids));
	free(now);
}

/* Waits for n "running" records, noting each writer's pid in pids (if given). */
static void wait_running(int n, pid_t *pids)
{
	double deadline = now_ms() + WAIT_MS;
	struct bench_record r;
	int seen = 0;

	if (fifo_fd < 0) {
		wait_children(n, pids, NULL, 0);
		return;
	}
	while (seen < n) {
		if (next_record(&r, deadline) < 0)
			fail("probes did not all report running in time");
		if (r.kind != BENCH_RUNNING)
			continue;
		if (pids != NULL)
			pids[seen] = r.pid;
		seen++;
	}
}

static long proc_field(pid_t pid, const char *name)
{
	char path[64], line[256];
	size_t len = strlen(name);
	long total = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	f = fopen(path, "re");
	if (f == NULL)
		fail("cannot read the supervisor's /proc status");
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, name, len) == 0 && line[len] == ':')
			total = atol(line + len + 1);
	fclose(f);
	return total;
}

/* Every wake-up of the supervisor's main thread, voluntary or not (all
 * the supervisors measured are single-threaded). */
static long ctxt_switches(pid_t pid)
{
	char path[64], line[256];
	long total = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/task/%ld/status", (long)pid, (long)pid);
	f = fopen(path, "re");
	if (f == NULL)
		fail("cannot read the supervisor's /proc status");
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "voluntary_ctxt_switches:", 24) == 0 ||
		    strncmp(line, "nonvoluntary_ctxt_switches:", 27) == 0)
			total += atol(strchr(line, ':') + 1);
	fclose(f);
	return total;
}

static double term_to_exit(void)
{
	double t0, t1;
	int status;

	t0 = now_ms();
	kill(sup_pid, SIGTERM);
	/* Blocking is right here: the figure is this very wait.  An alarm bounds it. */
	alarm(STOP_MS / 1000);
	if (waitpid(sup_pid, &status, 0) != sup_pid)
		fail("the supervisor did not exit on TERM in time");
	t1 = now_ms();
	alarm(0);
	sup_pid = 0;
	reap_all(now_ms() + CLEANUP_MS);
	return t1 - t0;
}

static void restart(int n, int rounds, int kills)
{
	pid_t *pids = calloc((size_t)n, sizeof(*pids));
	struct bench_record r;
	int round, i;

	if (pids == NULL)
		fail("out of memory");
	wait_running(n, pids);
	if (kills <= 0 || kills > n)
		kills = n;
	for (round = 0; round < rounds; round++) {
		/* A worker that ran at least 1 s is restarted at once (SPEC §4). */
		nap_ms(1300);
		for (i = 0; i < kills; i++) {
			double t0 = now_ms();
			if (kill(pids[i], SIGKILL) < 0)
				fail("a probe vanished");
			do
				if (next_record(&r, now_ms() + WAIT_MS) < 0)
					fail("no replacement in time");
			while (r.kind != BENCH_RUNNING);
			printf("%.3f\n", now_ms() - t0);
			pids[i] = r.pid;
		}
	}
	free(pids);
}

/* HUP, then the new generation's n workers running and every old one
 * reaped (kill(pid, 0) fails with ESRCH only once the zombie is gone). */
static double reload(int n)
{
	pid_t *old = calloc((size_t)n, sizeof(*old));
	struct bench_record r;
	double t0;
	int i, seen = 0;

	if (old == NULL)
		fail("out of memory");
	wait_running(n, old);
	nap_ms(300 + n); /* the supervisor settles after its start */
	t0 = now_ms();
	kill(sup_pid, SIGHUP);
	if (fifo_fd < 0) {
		wait_children(n, NULL, old, n);
	} else {
		while (seen < n) {
			if (next_record(&r, t0 + WAIT_MS) < 0)
				fail("the new generation did not all report running in time");
			seen += r.kind == BENCH_RUNNING;
		}
		for (i = 0; i < n; i++)
			while (kill(old[i], 0) == 0 || errno != ESRCH) {
				if (now_ms() > t0 + WAIT_MS)
					fail("the old generation did not go in time");
				nap_ms(0.2);
			}
	}
	free(old);
	return now_ms() - t0;
}

/* CPU time of the supervisor in µs, user and system, exact to the
 * scheduler's nanosecond (the first field of /proc/PID/schedstat); the
 * clock ticks of /proc/PID/stat are 10 ms, too coarse for one event. */
static double cpu_us(void)
{
	char path[64];
	unsigned long long ns = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/schedstat", (long)sup_pid);
	f = fopen(path, "re");
	if (f == NULL || fscanf(f, "%llu", &ns) != 1)
		fail("cannot read the supervisor's schedstat");
	fclose(f);
	return (double)ns / 1e3;
}

/* K kill -9s of workers in turn, each waited for until its replacement
 * runs: the master's CPU per exit (reap, restart decision, fork, its log
 * lines).  In rounds of at most n kills, each after a nap of 1.1 s, so
 * every victim has lived over a second and is restarted at once (SPEC §4)
 * rather than after a crash-loop backoff; an idle master spends nothing
 * during the naps. */
static double cpu_exit(int n, int k)
{
	pid_t *pids = calloc((size_t)n, sizeof(*pids));
	struct bench_record r;
	double before;
	int i;

	if (pids == NULL)
		fail("out of memory");
	wait_running(n, pids);
	nap_ms(200 + n); /* the supervisor settles after its start */
	before = cpu_us();
	for (i = 0; i < k; i++) {
		if (i % n == 0)
			nap_ms(1100);
		if (kill(pids[i % n], SIGKILL) < 0)
			fail("a probe vanished");
		do
			if (next_record(&r, now_ms() + WAIT_MS) < 0)
				fail("no replacement in time");
		while (r.kind != BENCH_RUNNING);
		pids[i % n] = r.pid;
	}
	nap_ms(100);
	free(pids);
	return (cpu_us() - before) / k;
}

/* One probe sends k notify messages (on SIGUSR1, blocking on a full
 * socket, so none is lost) and reports when done; then the master gets
 * 100 ms to read the last ones. */
static double cpu_notify(int n, int k)
{
	pid_t *pids = calloc((size_t)n, sizeof(*pids));
	struct bench_record r;
	double before;

	if (pids == NULL)
		fail("out of memory");
	wait_running(n, pids);
	nap_ms(500 + n);
	before = cpu_us();
	if (kill(pids[n - 1], SIGUSR1) < 0)
		fail("a probe vanished");
	do
		if (next_record(&r, now_ms() + WAIT_MS) < 0)
			fail("the probe did not finish its notify messages");
	while (r.kind != BENCH_RESULT);
	if (r.value != k)
		fail("the probe sent another count of messages");
	nap_ms(100);
	free(pids);
	return (cpu_us() - before) / k;
}

static void reap(void)
{
	struct bench_record r;
	double deadline = now_ms() + WAIT_MS;

	do
		if (next_record(&r, deadline) < 0)
			fail("no orphan result in time");
	while (r.kind != BENCH_RESULT);
	printf("%.1f\n", (double)r.value / 1e6);
}

static void on_alarm(int sig)
{
	(void)sig;
	if (sup_pid > 0)
		kill(sup_pid, SIGKILL);
}

static int stop_signal = SIGTERM;

/* Interrupted (the run was cut short): take the supervisor down with us. */
static void on_interrupt(int sig)
{
	(void)sig;
	if (sup_pid > 0)
		kill(sup_pid, stop_signal);
	_exit(130);
}

int main(int argc, char **argv)
{
	const char *what, *fifo, *log;
	int sep, n = 0, arg2 = 0, arg3 = 0;

	for (sep = 1; sep < argc && strcmp(argv[sep], "--") != 0; sep++)
		;
	if (argc < 5 || sep >= argc - 1) {
		fprintf(stderr, "usage: timer SCENARIO FIFO LOG [N [ARG]] -- SUPERVISOR...\n");
		return 64;
	}
	what = argv[1];
	fifo = argv[2];
	log = argv[3];
	if (sep > 4)
		n = atoi(argv[4]);
	if (sep > 5)
		arg2 = atoi(argv[5]);
	if (sep > 6)
		arg3 = atoi(argv[6]);
	/* unshare passes TERM on to nobody: its --kill-child takes the namespace down on KILL. */
	if (strcmp(what, "reap") == 0)
		stop_signal = SIGKILL;
	signal(SIGALRM, on_alarm);
	signal(SIGTERM, on_interrupt);
	signal(SIGINT, on_interrupt);
	signal(SIGPIPE, SIG_IGN);
	/* Orphans of a dying supervisor come back to us, to be reaped. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		fail("cannot become a subreaper");
	setvbuf(stdout, NULL, _IOLBF, 0);
	open_fifo(fifo);
	start(argv + sep + 1, log);

	if (strcmp(what, "spawn") == 0) {
		wait_running(n, NULL);
		printf("%.1f\n", now_ms() - started_at);
	} else if (strcmp(what, "rss") == 0) {
		wait_running(n, NULL);
		nap_ms(500);
		printf("%ld\n", proc_field(sup_pid, "VmRSS"));
	} else if (strcmp(what, "idle") == 0) {
		long before;
		wait_running(n, NULL);
		nap_ms(1000);
		before = ctxt_switches(sup_pid);
		nap_ms(arg2 * 1000.0);
		printf("%ld\n", ctxt_switches(sup_pid) - before);
	} else if (strcmp(what, "term") == 0) {
		wait_running(n, NULL);
		nap_ms(300);
		printf("%.1f\n", term_to_exit());
	} else if (strcmp(what, "restart") == 0) {
		restart(n, arg2, arg3);
	} else if (strcmp(what, "reload") == 0) {
		printf("%.1f\n", reload(n));
	} else if (strcmp(what, "cpu-exit") == 0) {
		printf("%.1f\n", cpu_exit(n, arg2));
	} else if (strcmp(what, "cpu-notify") == 0) {
		printf("%.2f\n", cpu_notify(n, arg2));
	} else if (strcmp(what, "reap") == 0) {
		reap();
	} else {
		fail("unknown scenario");
	}
	stop(stop_signal);
	if (fifo_fd >= 0) {
		close(fifo_fd);
		unlink(fifo);
	}
	return 0;
}
