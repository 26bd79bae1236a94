/* env: the workers' environment.  What every worker shares is built once
 * from the master's own (less what belongs to the master); what differs
 * per worker (id, generation, LISTEN_PID ...) is added at each spawn. */
#ifndef SENTRIK_ENV_H
#define SENTRIK_ENV_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* LISTEN_PID is known only in the child: spawn.c writes the digits into
 * the room this entry keeps after '='. */
#define SM_LISTEN_PID_VAR "LISTEN_PID="
#define SM_LISTEN_PID_ROOM 24 /* bytes after '=' for the pid digits */

/* A growable, NULL-terminated environment. */
struct sm_env {
	char **vars;
	size_t n, cap;
};

/* Copy source, leaving out every variable whose name starts with one of
 * the NULL-terminated drop prefixes ("LISTEN_" ...) or equals one ("X="). */
int sm_env_init(struct sm_env *env, char *const *source, const char *const *drop);
int sm_env_set(struct sm_env *env, const char *name, const char *value);
const char *sm_env_get(const struct sm_env *env, const char *name);
void sm_env_free(struct sm_env *env);

/* What every worker gets besides the master's environment. */
struct sm_env_shared {
	char *const *environ;     /* the master's; its own variables are left out */
	pid_t master_pid;         /* SENTRIK_MASTER_PID */
	const char *home;         /* with user_name: HOME, USER, LOGNAME */
	const char *user_name;    /* NULL: keep the master's */
	size_t n_listen;          /* LISTEN_FDS when > 0 */
	const char *listen_names; /* LISTEN_FDNAMES, NULL when none */
};

/* 0, or -1 with errno (out of memory); env is then empty. */
int sm_env_workers(struct sm_env *env, const struct sm_env_shared *shared);

/* One worker's own variables.  In: the fields above the line; out: the
 * strings sm_env_worker points envp at, so it lives as long as envp. */
struct sm_env_worker {
	int slot;                  /* SENTRIK_WORKER_ID */
	unsigned generation;       /* SENTRIK_GENERATION */
	const char *notify_socket; /* NOTIFY_SOCKET; NULL: none */
	double watchdog_timeout;   /* WATCHDOG_USEC with a notify socket; 0: none */
	bool listen;               /* LISTEN_PID, for the child to fill in */
	/* ---- */
	char id_var[40], gen_var[40], watchdog_var[48];
	char notify_var[sizeof("NOTIFY_SOCKET=") + 108]; /* a socket path fits */
	char listen_pid[sizeof(SM_LISTEN_PID_VAR) + SM_LISTEN_PID_ROOM];
};

/* At most this many variables are added per worker. */
#define SM_ENV_WORKER_VARS 5

/* Fill envp (room for shared->n + SM_ENV_WORKER_VARS + 1 entries) with the
 * shared variables and w's own.  Returns the LISTEN_PID entry for spawn to
 * fill in, NULL when there is none. */
char *sm_env_worker(const struct sm_env *shared, struct sm_env_worker *w, char **envp);

#endif
