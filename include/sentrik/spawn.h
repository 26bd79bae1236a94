/* spawn: the only fork/exec.  Everything the child needs is prepared
 * before fork; the child makes only async-signal-safe calls and sends
 * errno up a close-on-exec pipe if it cannot exec.  A worker leads a
 * session of its own (no terminal), reads /dev/null, dies with the master. */
#ifndef SENTRIK_SPAWN_H
#define SENTRIK_SPAWN_H

#include <stddef.h>
#include <sys/resource.h>
#include <sys/types.h>

#include <sentrik/env.h> /* struct sm_env; LISTEN_PID's room the child fills */

struct sm_spawn {
	const char *path; /* resolved executable */
	char *const *argv;
	char *const *envp; /* complete environment */
	char *listen_pid;  /* an entry of envp: "LISTEN_PID=" + room; NULL = none */
	const int *fds;    /* become descriptors 3, 4, ... in the child */
	size_t n_fds;
	int stdout_fd, stderr_fd; /* -1: inherit the master's */
	const char *chdir;        /* NULL: stay */
	pid_t master_pid;
	struct rlimit nofile; /* RLIMIT_NOFILE for the worker; rlim_cur 0: the master's */
};

struct sm_spawn_error {
	const char *stage; /* "fork", "execute", "chdir to", "set up descriptors for", ... */
	int err;
};

/* A fork whose exec has not been confirmed yet. */
struct sm_spawn_pending {
	pid_t pid;
	int report_fd; /* the close-on-exec pipe: EOF = exec done */
};

/* Start one worker in two halves, so a batch of workers is forked first
 * and confirmed after, their execs running in parallel with the next forks.
 * start: 0, or -1 with *error when fork itself failed.  finish: the pid,
 * or -1 with *error (the child already reaped). */
int sm_spawn_start(const struct sm_spawn *req, struct sm_spawn_pending *pending,
                   struct sm_spawn_error *error);
pid_t sm_spawn_finish(struct sm_spawn_pending *pending, struct sm_spawn_error *error);

/* Find cmd in PATH as execvp would, for the current user, before any fork.
 * 0 with out filled, or -1 with errno (ENOENT, EACCES, ENAMETOOLONG). */
int sm_spawn_resolve(const char *cmd, const char *path_env, char *out, size_t outlen);
/* The same for a worker that changes to dir (--chdir; NULL: none) before
 * its exec: a relative path with a slash ("./app") is looked for there,
 * and out keeps it as given, for the worker resolves it after its chdir. */
int sm_spawn_resolve_in(const char *dir, const char *cmd, const char *path_env, char *out,
                        size_t outlen);

/* Runs fn(ctx, out) in a short-lived child (a fork, no exec) and copies the
 * len bytes it leaves in out back into the caller's out: for a one-off job
 * whose side effects (the libraries and sockets an NSS lookup brings) must
 * stay out of the master.  out is plain data, no pointers.  The child dies
 * with the master (parent-death signal) and is killed after
 * SM_SPAWN_CALL_SECONDS.  0, or -1 with errno: ETIMEDOUT when it did not
 * finish in time, else the child could not be started or did not answer
 * in full. */
#define SM_SPAWN_CALL_SECONDS 10
#define SM_SPAWN_CALL_TEXT "10 s" /* the same, for messages */
int sm_spawn_call(void (*fn)(void *ctx, void *out), void *ctx, void *out, size_t len);

#endif
