/* spawn: fork + exec of one worker.  Between fork and exec only
 * async-signal-safe calls run; exec failure comes back as errno on a
 * close-on-exec pipe, so the master knows at once and exactly. */
#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sentrik/fd.h>
#include <sentrik/spawn.h>

enum child_stage {
	STAGE_EXEC = 1,
	STAGE_CHDIR,
	STAGE_FDS,
	STAGE_PDEATH,
	STAGE_SESSION,
	STAGE_STDIN,
};

struct child_report {
	int stage;
	int err;
};

static _Noreturn void child_fail(int errfd, int stage)
{
	struct child_report r = {stage, errno};
	ssize_t n;

	do
		n = write(errfd, &r, sizeof(r));
	while (n < 0 && errno == EINTR);
	_exit(127);
}

static void child_close_from(unsigned first, unsigned last)
{
	unsigned fd;

	if (first > last)
		return;
	if (close_range(first, last, 0) == 0)
		return;
	for (fd = first; fd <= last && fd < 65536; fd++)
		(void)close((int)fd);
}

/* Writes the decimal pid after "LISTEN_PID=" without any library call. */
static void child_patch_pid(char *var, pid_t pid)
{
	char digits[24];
	char *p = var + sizeof(SM_LISTEN_PID_VAR) - 1;
	int n = 0;

	do {
		digits[n++] = (char)('0' + pid % 10);
		pid /= 10;
	} while (pid > 0 && n < (int)sizeof(digits));
	while (n > 0)
		*p++ = digits[--n];
	*p = '\0';
}

/* Standard input is /dev/null: a worker reads nothing of the master's. */
static int child_stdin(void)
{
	int fd = open("/dev/null", O_RDONLY);

	if (fd < 0)
		return -1;
	if (fd != STDIN_FILENO) {
		if (dup2(fd, STDIN_FILENO) < 0)
			return -1;
		(void)close(fd);
	}
	return 0;
}

static _Noreturn void child(const struct sm_spawn *req, int errfd)
{
	struct sigaction dfl;
	sigset_t none;
	int sig, high;
	size_t i;

	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	for (sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			(void)sigaction(sig, &dfl, NULL);
	/* A session of its own: no controlling terminal, so nothing the worker
	 * runs can push input into the terminal that started the master
	 * (TIOCSTI), and the terminal's Ctrl-C reaches the master alone, which
	 * then stops the workers.  It leads its process group too. */
	if (setsid() < 0)
		child_fail(errfd, STAGE_SESSION);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		child_fail(errfd, STAGE_PDEATH);
	if (getppid() != req->master_pid)
		_exit(127); /* the master died before we got here */

	if ((req->stdout_fd >= 0 && dup2(req->stdout_fd, STDOUT_FILENO) < 0) ||
	    (req->stderr_fd >= 0 && dup2(req->stderr_fd, STDERR_FILENO) < 0))
		child_fail(errfd, STAGE_FDS);
	if (child_stdin() < 0)
		child_fail(errfd, STAGE_STDIN);
	/* Listening sockets go to 3..: first lift every source (and the error
	 * pipe) above the target range so no dup2 overwrites one not yet moved. */
	high = fcntl(errfd, F_DUPFD_CLOEXEC, 3 + (int)req->n_fds);
	if (high < 0)
		child_fail(errfd, STAGE_FDS);
	errfd = high++;
	int lifted[req->n_fds > 0 ? req->n_fds : 1];
	for (i = 0; i < req->n_fds; i++)
		if ((lifted[i] = fcntl(req->fds[i], F_DUPFD_CLOEXEC, high)) < 0)
			child_fail(errfd, STAGE_FDS);
	for (i = 0; i < req->n_fds; i++)
		if (dup2(lifted[i], 3 + (int)i) < 0)
			child_fail(errfd, STAGE_FDS);
	child_close_from(3 + (unsigned)req->n_fds, (unsigned)errfd - 1);
	child_close_from((unsigned)errfd + 1, ~0U);

	if (req->chdir != NULL && chdir(req->chdir) < 0)
		child_fail(errfd, STAGE_CHDIR);
	if (req->listen_pid != NULL)
		child_patch_pid(req->listen_pid, getpid());
	/* The limit the master raised for its own many descriptors is not
	 * the app's: it gets the one it would have had. */
	if (req->nofile.rlim_cur > 0)
		(void)setrlimit(RLIMIT_NOFILE, &req->nofile);
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	execve(req->path, req->argv, req->envp);
	child_fail(errfd, STAGE_EXEC);
}

static const char *stage_name(int stage)
{
	switch (stage) {
	case STAGE_CHDIR:
		return "chdir to";
	case STAGE_FDS:
		return "set up descriptors for";
	case STAGE_PDEATH:
		return "set the parent-death signal for";
	case STAGE_SESSION:
		return "start a session for";
	case STAGE_STDIN:
		return "open /dev/null as standard input for";
	default:
		return "execute";
	}
}

int sm_spawn_start(const struct sm_spawn *req, struct sm_spawn_pending *pending,
                   struct sm_spawn_error *error)
{
	sigset_t all, old;
	int pipefd[2];
	pid_t pid;

	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		*error = (struct sm_spawn_error){"fork", errno};
		return -1;
	}
	/* No handler of ours may run in the child before it resets them. */
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	pid = fork();
	if (pid == 0) {
		close(pipefd[0]);
		child(req, pipefd[1]);
	}
	error->err = errno;
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(pipefd[1]);
	if (pid < 0) {
		close(pipefd[0]);
		error->stage = "fork";
		return -1;
	}
	pending->pid = pid;
	pending->report_fd = pipefd[0];
	return 0;
}

pid_t sm_spawn_finish(struct sm_spawn_pending *pending, struct sm_spawn_error *error)
{
	struct child_report report;
	ssize_t n = sm_read_full(pending->report_fd, &report, sizeof(report));

	close(pending->report_fd);
	pending->report_fd = -1;
	if (n == 0)
		return pending->pid; /* EOF: the exec closed the pipe */
	error->stage = n == (ssize_t)sizeof(report) ? stage_name(report.stage) : "execute";
	error->err = n == (ssize_t)sizeof(report) ? report.err : EIO;
	while (waitpid(pending->pid, NULL, 0) < 0 && errno == EINTR)
		;
	return -1;
}

static int executable_file(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return -1;
	if (!S_ISREG(st.st_mode)) {
		errno = EACCES;
		return -1;
	}
	return access(path, X_OK);
}

/* The helper's answer, read until it is whole, the pipe ends or the
 * deadline passes (then errno ETIMEDOUT). */
static ssize_t call_read(int fd, void *out, size_t len)
{
	struct timespec now, deadline;
	char *p = out;
	size_t done = 0;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += SM_SPAWN_CALL_SECONDS;
	while (done < len) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		long ms;
		ssize_t n;
		int rc;

		clock_gettime(CLOCK_MONOTONIC, &now);
		ms = (deadline.tv_sec - now.tv_sec) * 1000 +
		     (deadline.tv_nsec - now.tv_nsec) / 1000000;
		if (ms <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		if ((rc = poll(&pfd, 1, (int)ms)) < 0 && errno != EINTR)
			return -1;
		if (rc <= 0)
			continue;
		if ((n = read(fd, p + done, len - done)) < 0 && errno != EINTR)
			return -1;
		if (n == 0)
			break;
		if (n > 0)
			done += (size_t)n;
	}
	return (ssize_t)done;
}

/* The helper dies with the master: the parent-death signal, and a check
 * that the master did not die before it was set. */
static void call_child(void (*fn)(void *ctx, void *out), void *ctx, void *out, size_t len, int fd,
                       pid_t parent)
{
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(1);
	fn(ctx, out);
	_exit(sm_write_all(fd, out, len) < 0 ? 1 : 0);
}

int sm_spawn_call(void (*fn)(void *ctx, void *out), void *ctx, void *out, size_t len)
{
	pid_t pid, parent = getpid();
	int fds[2], status, saved;
	ssize_t n;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return -1;
	if ((pid = fork()) < 0) {
		saved = errno;
		close(fds[0]);
		close(fds[1]);
		errno = saved;
		return -1;
	}
	if (pid == 0) {
		close(fds[0]);
		call_child(fn, ctx, out, len, fds[1], parent);
	}
	close(fds[1]);
	n = call_read(fds[0], out, len);
	saved = errno;
	close(fds[0]);
	/* A helper that hung (an NSS server that never answers) is not
	 * waited for beyond the bound. */
	if (n < 0 && saved == ETIMEDOUT)
		(void)kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (n != (ssize_t)len || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		errno = n < 0 ? saved : EIO;
		return -1;
	}
	return 0;
}

int sm_spawn_resolve(const char *cmd, const char *path_env, char *out, size_t outlen)
{
	const char *dir, *end;
	int saw_eacces = 0;

	if (strchr(cmd, '/') != NULL) {
		if (strlen(cmd) >= outlen) {
			errno = ENAMETOOLONG;
			return -1;
		}
		strcpy(out, cmd);
		return executable_file(out);
	}
	if (path_env == NULL || *path_env == '\0')
		path_env = "/usr/local/bin:/usr/bin:/bin";
	for (dir = path_env;; dir = end + 1) {
		size_t len;
		end = strchr(dir, ':');
		len = end != NULL ? (size_t)(end - dir) : strlen(dir);
		if (len + 1 + strlen(cmd) < outlen) {
			if (len == 0)
				strcpy(out, cmd); /* an empty entry is the current directory */
			else {
				memcpy(out, dir, len);
				out[len] = '/';
				strcpy(out + len + 1, cmd);
			}
			if (executable_file(out) == 0)
				return 0;
			if (errno == EACCES)
				saw_eacces = 1;
		}
		if (end == NULL)
			break;
	}
	errno = saw_eacces ? EACCES : ENOENT;
	return -1;
}

int sm_spawn_resolve_in(const char *dir, const char *cmd, const char *path_env, char *out,
                        size_t outlen)
{
	char there[4096];

	if (dir == NULL || cmd[0] == '/' || strchr(cmd, '/') == NULL)
		return sm_spawn_resolve(cmd, path_env, out, outlen);
	if ((size_t)snprintf(there, sizeof(there), "%s/%s", dir, cmd) >= sizeof(there) ||
	    strlen(cmd) >= outlen) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (executable_file(there) < 0)
		return -1;
	strcpy(out, cmd);
	return 0;
}
