/* probe: a worker for the integration tests.  Options run in order:
 *   --record DIR       write DIR/w<SENTRIK_WORKER_ID>.<pid> with the environment
 *   --ignore SIGNUM    ignore a signal (e.g. 15 to outlive TERM)
 *   --exit CODE        exit now with CODE
 *   --sleep SEC        sleep SEC seconds
 *   --grandchild FILE  fork a child in our process group; it writes its pid
 *                      to FILE and waits forever
 *   --orphan-loop      keep making orphans: every 5 ms a child forks a
 *                      grandchild and exits at once; the grandchild exits
 *                      after 20 ms, reparented to the master
 *   --status FILE      copy /proc/self/status to FILE
 *   --signals FILE     append the number of every signal received to FILE,
 *                      one a line; TERM, INT and QUIT still end the probe
 *   --orphan FILE      leave an orphan: a child forks a grandchild that
 *                      writes its pid to FILE and waits; the child exits
 *   --notify TEXT      send TEXT ("READY=1") to NOTIFY_SOCKET
 *   --ping SEC         send WATCHDOG=1 every SEC seconds, forever
 * After the last option the probe waits for signals forever. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static void nap(double sec)
{
	struct timespec ts = {(time_t)sec, (long)((sec - (double)(time_t)sec) * 1e9)};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void write_file(const char *path, const char *text)
{
	char tmp[4096];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (f == NULL) {
		perror(tmp);
		exit(2);
	}
	fputs(text, f);
	fclose(f);
	rename(tmp, path);
}

static void record(const char *dir)
{
	char path[4096], *buf;
	const char *id = getenv("SENTRIK_WORKER_ID");
	size_t len = 1, i;

	for (i = 0; environ[i]; i++)
		len += strlen(environ[i]) + 1;
	buf = calloc(1, len + 64);
	for (i = 0; environ[i]; i++) {
		strcat(buf, environ[i]);
		strcat(buf, "\n");
	}
	snprintf(path, sizeof(path), "%s/w%s.%ld", dir, id ? id : "x", (long)getpid());
	write_file(path, buf);
	free(buf);
}

static void copy_status(const char *to)
{
	char buf[8192];
	int fd = open("/proc/self/status", O_RDONLY);
	ssize_t n = read(fd, buf, sizeof(buf) - 1);

	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	write_file(to, buf);
}

static void notify(const char *text)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t len = path ? strlen(path) : 0;
	int fd;

	if (len < 2 || len >= sizeof(sa.sun_path)) {
		fprintf(stderr, "probe: no usable NOTIFY_SOCKET\n");
		exit(2);
	}
	memcpy(sa.sun_path, path, len);
	if (path[0] == '@')
		sa.sun_path[0] = '\0';
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (fd < 0 || sendto(fd, text, strlen(text), 0, (struct sockaddr *)&sa,
			     (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)) < 0) {
		perror("probe: notify");
		exit(2);
	}
	close(fd);
}

static void grandchild(const char *file)
{
	char pid[32];

	if (fork() == 0) {
		snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
		write_file(file, pid);
		for (;;)
			pause();
	}
}

static void orphan_loop(void)
{
	signal(SIGCHLD, SIG_DFL);
	for (;;) {
		pid_t c = fork();
		if (c == 0) {
			if (fork() == 0) {
				nap(0.02);
				_exit(0);
			}
			_exit(0);
		}
		if (c > 0)
			waitpid(c, NULL, 0);
		nap(0.005);
	}
}

static int signals_fd = -1;

static void on_signal(int sig)
{
	char line[8];
	int n = 0, saved = errno;

	if (sig >= 10)
		line[n++] = (char)('0' + sig / 10);
	line[n++] = (char)('0' + sig % 10);
	line[n++] = '\n';
	(void)!write(signals_fd, line, (size_t)n);
	if (sig == SIGTERM || sig == SIGINT || sig == SIGQUIT) {
		signal(sig, SIG_DFL);
		raise(sig);
	}
	errno = saved;
}

static void record_signals(const char *file)
{
	struct sigaction sa;
	int sig;

	signals_fd = open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (signals_fd < 0) {
		perror(file);
		exit(2);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	for (sig = 1; sig < 32; sig++)
		if (sig != SIGKILL && sig != SIGSTOP && sig != SIGCHLD)
			(void)sigaction(sig, &sa, NULL);
}

static void orphan(const char *file)
{
	pid_t c = fork();

	if (c == 0) {
		if (fork() == 0) {
			char pid[32];
			snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
			write_file(file, pid);
			for (;;)
				pause();
		}
		_exit(0);
	}
	if (c > 0)
		waitpid(c, NULL, 0);
}

int main(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		const char *arg = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(arg, "--record") == 0 && val) {
			record(val);
			i++;
		} else if (strcmp(arg, "--ignore") == 0 && val) {
			signal(atoi(val), SIG_IGN);
			i++;
		} else if (strcmp(arg, "--exit") == 0 && val) {
			return atoi(val);
		} else if (strcmp(arg, "--sleep") == 0 && val) {
			nap(atof(val));
			i++;
		} else if (strcmp(arg, "--grandchild") == 0 && val) {
			grandchild(val);
			i++;
		} else if (strcmp(arg, "--orphan-loop") == 0) {
			orphan_loop();
		} else if (strcmp(arg, "--notify") == 0 && val) {
			notify(val);
			i++;
		} else if (strcmp(arg, "--ping") == 0 && val) {
			for (;;) {
				notify("WATCHDOG=1");
				nap(atof(val));
			}
		} else if (strcmp(arg, "--status") == 0 && val) {
			copy_status(val);
			i++;
		} else if (strcmp(arg, "--signals") == 0 && val) {
			record_signals(val);
			i++;
		} else if (strcmp(arg, "--orphan") == 0 && val) {
			orphan(val);
			i++;
		} else {
			fprintf(stderr, "probe: unknown or incomplete option '%s'\n", arg);
			return 2;
		}
	}
	for (;;)
		pause();
}
