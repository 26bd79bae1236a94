/* bench probe: the one worker every benchmark side runs, so sentrik-master,
 * the bare loop and tini are timed by the very same signal of life.
 *
 *   probe FIFO               write a "running" record to FIFO, then wait for
 *                            signals with their default actions (TERM ends it
 *                            at once: a prompt worker)
 *   probe FIFO --orphans N   the same, then make N orphans by double fork as
 *                            fast as it can, wait until the PID 1 above it has
 *                            reaped every one, and write a "result" record with
 *                            the elapsed nanoseconds
 *
 * A record is 16 bytes, below PIPE_BUF, so concurrent writers never mix. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "record.h"

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void send_record(const char *fifo, int32_t kind, int64_t value)
{
	struct bench_record r = {kind, (int32_t)getpid(), value};
	int fd = open(fifo, O_WRONLY | O_CLOEXEC);

	if (fd < 0 || write(fd, &r, sizeof(r)) != (ssize_t)sizeof(r)) {
		perror(fifo);
		exit(2);
	}
	close(fd);
}

static int read_full(int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, (char *)buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

/* Each orphan is a grandchild: the middle child forks it, sends its pid up
 * a pipe and exits, so the grandchild's zombie belongs to PID 1.  A pid is
 * gone for kill(pid, 0) only once its zombie has been reaped; a fresh pid
 * namespace hands out pids in order, so none is reused meanwhile. */
static int64_t make_orphans(int n)
{
	pid_t *pids = calloc((size_t)n, sizeof(*pids));
	struct timespec nap = {0, 100000};
	int64_t start;
	int p[2], i;

	if (pids == NULL || pipe2(p, O_CLOEXEC) < 0) {
		perror("probe: orphans");
		exit(2);
	}
	start = now_ns();
	for (i = 0; i < n; i++) {
		pid_t middle = fork(), grandchild;
		if (middle < 0) {
			perror("probe: fork");
			exit(2);
		}
		if (middle == 0) {
			grandchild = fork();
			if (grandchild == 0)
				_exit(0);
			if (write(p[1], &grandchild, sizeof(grandchild)) < 0)
				_exit(1);
			_exit(0);
		}
		if (read_full(p[0], &pids[i], sizeof(pids[i])) < 0 || pids[i] <= 0 ||
		    waitpid(middle, NULL, 0) != middle) {
			fprintf(stderr, "probe: orphan %d lost\n", i);
			exit(2);
		}
	}
	for (i = 0; i < n; i++)
		while (kill(pids[i], 0) == 0 || errno != ESRCH)
			nanosleep(&nap, NULL);
	free(pids);
	return now_ns() - start;
}

int main(int argc, char **argv)
{
	if (argc != 2 && !(argc == 4 && strcmp(argv[2], "--orphans") == 0)) {
		fprintf(stderr, "usage: probe FIFO [--orphans N]\n");
		return 2;
	}
	send_record(argv[1], BENCH_RUNNING, 0);
	if (argc == 4)
		send_record(argv[1], BENCH_RESULT, make_orphans(atoi(argv[3])));
	for (;;)
		pause();
}
