/* pid1: PID-1 and subreaper set-up, and the last duty at stop: the orphans
 * workers left behind (a daemon started with setsid) are stopped too, so
 * nothing holds the port or the files after the master is gone.  Reaping
 * while running is the master's child watcher, which waits for any pid. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sentrik/log.h>
#include <sentrik/pid1.h>
#include <sentrik/sig.h>

#define ORPHANS_MAX 4096
#define ORPHAN_POLL_NS 20000000L /* 20 ms between looks while they stop */

int sm_pid1_setup(void)
{
	if (getpid() == 1)
		return 1;
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		return -1;
	return 0;
}

static size_t read_children(const char *path, pid_t *out, size_t max, size_t n)
{
	char buf[8192], *p, *end;
	ssize_t len;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return n;
	len = read(fd, buf, sizeof(buf) - 1);
	(void)close(fd);
	if (len <= 0)
		return n;
	buf[len] = '\0';
	for (p = buf;; p = end) {
		long pid = strtol(p, &end, 10);
		if (end == p)
			break;
		if (n < max)
			out[n] = (pid_t)pid;
		n++;
	}
	return n;
}

size_t sm_pid1_children(pid_t *out, size_t max)
{
	char path[64];
	struct dirent *d;
	size_t n = 0;
	DIR *dir = opendir("/proc/self/task");

	if (dir == NULL)
		return 0;
	while ((d = readdir(dir)) != NULL) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%.20s/children", d->d_name);
		n = read_children(path, out, max, n);
	}
	(void)closedir(dir);
	return n;
}

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void name_of(pid_t pid, char *buf, size_t len)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%ld/comm", (long)pid);
	buf[0] = '\0';
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return;
	n = read(fd, buf, len - 1);
	(void)close(fd);
	buf[n > 0 ? (size_t)n : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
}

static void reap_all(void)
{
	int status;

	while (waitpid(-1, &status, WNOHANG) > 0)
		;
}

/* Its group too: a setsid daemon leads one, and its children are in it. */
static void signal_orphan(pid_t pid, int sig)
{
	if (kill(-pid, sig) < 0)
		(void)kill(pid, sig);
}

static bool seen_before(const pid_t *seen, size_t n, pid_t pid)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (seen[i] == pid)
			return true;
	return false;
}

/* Signal every child not signalled yet with sig, naming it. */
static size_t signal_new(pid_t *seen, size_t n_seen, int sig, double grace)
{
	pid_t kids[ORPHANS_MAX];
	char comm[32];
	size_t n = sm_pid1_children(kids, ORPHANS_MAX), i;

	for (i = 0; i < n && i < ORPHANS_MAX; i++) {
		if (seen_before(seen, n_seen, kids[i]))
			continue;
		name_of(kids[i], comm, sizeof(comm));
		sm_warnx("orphan pid %ld (%s) still runs after the workers: sending %s, "
		         "KILL in %.1f s",
		         (long)kids[i], comm, sm_sig_name(sig), grace);
		signal_orphan(kids[i], sig);
		if (n_seen < ORPHANS_MAX)
			seen[n_seen++] = kids[i];
	}
	return n_seen;
}

static void kill_left(bool say)
{
	pid_t kids[ORPHANS_MAX];
	char comm[32];
	size_t n = sm_pid1_children(kids, ORPHANS_MAX), i;

	for (i = 0; i < n && i < ORPHANS_MAX; i++) {
		if (say) {
			name_of(kids[i], comm, sizeof(comm));
			sm_warnx("orphan pid %ld (%s) did not stop: sending KILL", (long)kids[i],
			         comm);
		}
		signal_orphan(kids[i], SIGKILL);
	}
}

void sm_pid1_stop_orphans(int sig, double grace, bool as_pid1)
{
	static pid_t seen[ORPHANS_MAX];
	const struct timespec pause = {0, ORPHAN_POLL_NS};
	double deadline = mono() + (grace > 0 ? grace : 0), killed_at = 0;
	size_t n_seen = 0;

	reap_all();
	if (sm_pid1_children(NULL, 0) == 0)
		return;
	if (as_pid1)
		(void)kill(-1, sig);
	for (;;) {
		reap_all();
		if (sm_pid1_children(NULL, 0) == 0)
			return;
		if (killed_at == 0) {
			n_seen = signal_new(seen, n_seen, sig, deadline - mono());
			if (mono() >= deadline) {
				kill_left(true);
				if (as_pid1)
					(void)kill(-1, SIGKILL);
				killed_at = mono();
			}
		} else if (mono() - killed_at > 1.0) {
			return; /* unkillable (D state): nothing more to do */
		} else {
			kill_left(false); /* what the killed ones left in turn */
		}
		(void)nanosleep(&pause, NULL);
	}
}
