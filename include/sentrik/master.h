/* master: the event loop.  Owns every libev watcher and turns signals,
 * child exits and timers into pool events and carries out the actions. */
#ifndef SENTRIK_MASTER_H
#define SENTRIK_MASTER_H

#include <sys/resource.h>
#include <sys/types.h>

#include <sentrik/config.h>
#include <sentrik/error.h>

/* What the start-up phases hand to the loop. */
struct sm_master_setup {
	const struct sm_config *cfg;
	char *const *environ; /* the master's environment, filtered for workers */
	const char *home;     /* HOME, USER, LOGNAME for the workers; NULL = keep */
	const char *user_name;
	const int *listen_fds; /* become the workers' 3.. */
	size_t n_listen;
	const char *listen_names; /* LISTEN_FDNAMES value, NULL when none */
	int is_pid1;
	int control_fd; /* the control socket, listening; -1 when none */
	int metrics_fd; /* --metrics, listening, never a worker's; -1 when none */
	int argc;       /* the command line, parsed again (with --config) on HUP */
	char *const *argv;
	/* The runtime directory (SPEC §3), USER's and 0700: the workers'
	 * notify sockets, the control socket.  NULL when none could be made. */
	const char *runtime_dir;
	struct rlimit worker_nofile; /* RLIMIT_NOFILE for workers; rlim_cur 0: the master's */
};

/* Run until shutdown.  0 after a clean one, or -1 with *err saying why
 * (EX_UNAVAILABLE: the workers could not start; EX_OSERR: the system). */
int sm_master_run(const struct sm_master_setup *setup, struct sm_error *err);

#endif
