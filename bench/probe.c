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
 *   probe FIFO --notify K    the same as the first, but say READY=1 on
 *                            NOTIFY_SOCKET before the record, and on each
 *                            SIGUSR1 send K messages there, then write a
 *                            "result" record with K
 *
 * A record is 16 bytes, below PIPE_BUF, so concurrent writers never mix. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
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

static volatile sig_atomic_t notify_asked;

static void on_usr1(int sig)
{
	(void)sig;
	notify_asked = 1;
}

/* A blocking datagram socket connected to NOTIFY_SOCKET ("@" abstract). */
static int notify_open(void)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t len;
	int fd;

	if (path == NULL || (len = strlen(path)) == 0 || len >= sizeof(sa.sun_path)) {
		fprintf(stderr, "probe: no NOTIFY_SOCKET\n");
		exit(2);
	}
	memcpy(sa.sun_path, path, len);
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0';
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa,
	                      (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)) < 0) {
		perror("probe: NOTIFY_SOCKET");
		exit(2);
	}
	return fd;
}

static void notify_send(int fd, const char *msg)
{
	while (send(fd, msg, strlen(msg), 0) < 0)
		if (errno != EINTR) {
			perror("probe: notify");
			exit(2);
		}
}

/* Say ready, then send k status messages each time SIGUSR1 asks. */
static void notify_loop(const char *fifo, int k)
{
	struct sigaction sa = {.sa_handler = on_usr1};
	sigset_t usr1, old;
	int fd = notify_open(), i;

	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr1, &old);
	sigaction(SIGUSR1, &sa, NULL);
	notify_send(fd, "READY=1");
	send_record(fifo, BENCH_RUNNING, 0);
	for (;;) {
		while (!notify_asked)
			sigsuspend(&old);
		notify_asked = 0;
		for (i = 0; i < k; i++)
			notify_send(fd, "STATUS=bench");
		send_record(fifo, BENCH_RESULT, k);
	}
}

int main(int argc, char **argv)
{
	if (argc != 2 && !(argc == 4 && strcmp(argv[2], "--orphans") == 0) &&
	    !(argc == 4 && strcmp(argv[2], "--notify") == 0)) {
		fprintf(stderr, "usage: probe FIFO [--orphans N | --notify K]\n");
		return 2;
	}
	if (argc == 4 && strcmp(argv[2], "--notify") == 0)
		notify_loop(argv[1], atoi(argv[3]));
	send_record(argv[1], BENCH_RUNNING, 0);
	if (argc == 4)
		send_record(argv[1], BENCH_RESULT, make_orphans(atoi(argv[3])));
	for (;;)
		pause();
}
