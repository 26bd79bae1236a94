/* listen: the listening sockets — --bind addresses parsed and bound
 * before the drop, and sockets inherited by socket activation. */
#ifndef SENTRIK_LISTEN_H
#define SENTRIK_LISTEN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <sentrik/error.h>
#include <sentrik/parse.h>

#define SM_FDNAME_MAX 255 /* systemd's limit for one LISTEN_FDNAMES entry */

/* systemd's socket-activation rules: the LISTEN_FDS count when LISTEN_PID
 * is self, 0 when the variables are absent or meant for another process,
 * -1 (errno EINVAL) when they are for us but malformed. */
int sm_listen_activation(const char *listen_pid, const char *listen_fds, pid_t self);
/* The name of the index-th of n activated descriptors in a LISTEN_FDNAMES
 * value ("unknown" when names are absent or do not count n, as systemd). */
void sm_listen_fdname(const char *names, size_t index, size_t n, char *out, size_t outlen);
/* A valid LISTEN_FDNAMES entry for a bound address: ':' is the separator,
 * so it becomes '_' (unix:/run/a.sock -> unix_/run/a.sock). */
void sm_listen_name_of(const char *text, char *out, size_t outlen);

/* Every listening socket of the master, in the order workers see them. */
struct sm_listeners {
	int *fds;
	char **texts; /* what the operator wrote ("127.0.0.1:8000"), for logs */
	size_t n;
	char *names; /* LISTEN_FDNAMES value; NULL when n == 0 */
};

struct sm_listen_opts {
	int backlog;
	bool reuse_port;
	uid_t uid; /* owner of unix: sockets; (uid_t)-1 = leave */
	gid_t gid;
};

/* Bind each of the n_binds --bind addresses, then add the master's own
 * activated sockets (its environment's LISTEN_*), which are removed from
 * the environment.  -1 with e set when one fails: EX_USAGE when the address
 * itself is wrong (malformed, unknown host, fd not a socket), EX_OSERR when
 * binding is refused (in use, permission) or resources run out; e names
 * the address and what was bound is closed again. */
int sm_listen_setup(struct sm_listeners *l, char *const *binds, size_t n_binds,
                    const struct sm_listen_opts *opts, struct sm_error *e);
/* One address: the listening descriptor (CLOEXEC), or -1 with e set as
 * for sm_listen_setup. */
int sm_listen_bind(const struct sm_addr *addr, const char *text, const struct sm_listen_opts *opts,
                   struct sm_error *e);
void sm_listeners_close(struct sm_listeners *l);
/* At start, before anything else opens one: close every inherited
 * descriptor but 0-2, the --bind fd:N ones and the master's activated
 * sockets (LISTEN_FDS when LISTEN_PID is ours). */
void sm_listen_close_inherited(char *const *binds, size_t n_binds);

#endif
