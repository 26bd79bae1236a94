/* listen: the listening sockets — --bind addresses parsed and bound
 * before the drop, and sockets inherited by socket activation. */
#ifndef SENTRIK_LISTEN_H
#define SENTRIK_LISTEN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/un.h>

#include <sentrik/config.h>

#define SM_FDNAME_MAX 255 /* systemd's limit for one LISTEN_FDNAMES entry */

enum sm_addr_kind {
	SM_ADDR_HOST, /* HOST:PORT, HOST a name or an IPv4 address */
	SM_ADDR_ANY,  /* :PORT — every address, one dual-stack socket */
	SM_ADDR_V6,   /* [V6]:PORT */
	SM_ADDR_UNIX, /* unix:PATH */
	SM_ADDR_FD,   /* fd:N */
};

struct sm_addr {
	enum sm_addr_kind kind;
	char host[256]; /* HOST or V6 without brackets (may end in %scope) */
	char port[6];   /* decimal 0..65535 */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int fd;
};

/* What one --bind value means.  -1 with err set to one line naming the
 * value when it is malformed; nothing is looked up or opened. */
int sm_addr_parse(const char *text, struct sm_addr *addr, char *err, size_t errlen);

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

enum sm_listen_result {
	SM_LISTEN_OK,
	SM_LISTEN_USAGE, /* the address itself is wrong (unknown host, fd not a socket): 64 */
	SM_LISTEN_OS,    /* bind refused (in use, permission) or out of resources: 71 */
};

struct sm_listen_opts {
	int backlog;
	bool reuse_port;
	uid_t uid; /* owner of unix: sockets; (uid_t)-1 = leave */
	gid_t gid;
};

/* Bind every --bind of cfg, then add the master's own activated sockets
 * (its environment's LISTEN_*), which are removed from the environment.
 * On failure err names the address; what was bound is closed again. */
enum sm_listen_result sm_listen_setup(struct sm_listeners *l, const struct sm_config *cfg,
                                      const struct sm_listen_opts *opts, char *err, size_t errlen);
/* One address: the listening descriptor (CLOEXEC) or -1 with err set. */
int sm_listen_bind(const struct sm_addr *addr, const char *text, const struct sm_listen_opts *opts,
                   enum sm_listen_result *why, char *err, size_t errlen);
void sm_listeners_close(struct sm_listeners *l);

#endif
