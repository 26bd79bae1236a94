/* notify: the sd_notify protocol both ways — messages from the master to
 * the service manager (NOTIFY_SOCKET of the master's own environment), and
 * each worker's own socket with the parser for what arrives on it. */
#ifndef SENTRIK_NOTIFY_H
#define SENTRIK_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

/* What one notify datagram says; fields absent from it stay 0/false. */
struct sm_notify_msg {
	bool ready;
	bool reloading;
	bool stopping;
	bool watchdog;
	bool watchdog_trigger; /* WATCHDOG=trigger */
	char status[256];      /* STATUS=, truncated; "" when absent */
	pid_t mainpid;
};

/* Parse "KEY=VALUE\n..." (the last line may lack its newline).  Unknown
 * keys are ignored, as systemd does.  -1 on a line without '=' or a NUL. */
int sm_notify_parse(const char *buf, size_t len, struct sm_notify_msg *msg);

/* A socket address from a NOTIFY_SOCKET value: "/path" or "@abstract".
 * *addrlen counts only the bytes used.  -1 with errno on a bad value. */
int sm_notify_addr(const char *value, struct sockaddr_un *addr, socklen_t *addrlen);

/* The service manager, when the master was started with NOTIFY_SOCKET. */
struct sm_notifier {
	int fd; /* -1: no manager to tell */
	struct sockaddr_un addr;
	socklen_t addrlen;
	uint64_t watchdog_usec; /* WATCHDOG_USEC for us, 0 = none */
	pid_t mainpid;          /* the master: MAINPID in the first READY=1 */
	bool told_ready;
	bool told_stopping;
};

/* Read NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID from env (a
 * NULL-terminated array); fd stays -1 when there is no manager.  The
 * caller removes the variables from what the workers inherit. */
int sm_notifier_open(struct sm_notifier *n, char *const *env, pid_t self);
/* Send text as one datagram; 0 when there is no manager. */
int sm_notifier_send(const struct sm_notifier *n, const char *text);
void sm_notifier_close(struct sm_notifier *n);

/* The master's words to the manager (SPEC §7), each a no-op without one.
 * A lost datagram only costs the manager a status line, so a failure is
 * logged at debug level. */
void sm_notifier_tell(const struct sm_notifier *n, const char *text);
/* READY=1 with the pool's state as status (MAINPID the first time), or
 * with why set after a failed reload, why generation keeps serving. */
void sm_notifier_ready(struct sm_notifier *n, const char *status, unsigned generation,
                       const char *why);
/* STATUS= alone: the pool's state changed ("3/4 workers ready, ..."). */
void sm_notifier_status(const struct sm_notifier *n, const char *status);
/* RELOADING=1 with MONOTONIC_USEC and status. */
void sm_notifier_reloading(const struct sm_notifier *n, const char *status);
/* STOPPING=1, once. */
void sm_notifier_stopping(struct sm_notifier *n);

/* One worker's notify socket.  In the runtime directory (USER's, 0700) a
 * path only USER and root can reach, so a datagram belongs to the worker
 * whose socket got it, whoever in its process tree sent it.  Without a
 * runtime directory an abstract name (kernel-chosen) with SO_PASSCRED:
 * datagrams of other users are dropped there. */
struct sm_notify_in {
	int fd; /* -1: not open */
	/* the NOTIFY_SOCKET value for the worker: a path or "@" + name */
	char name[sizeof(((struct sockaddr_un *)0)->sun_path)];
	bool bound;     /* a path: unlinked at close */
	bool check_uid; /* abstract: only uid and root count */
	uid_t uid;
};

/* net.unix.max_dgram_qlen, read once: how many datagrams one wake-up
 * takes from one socket at most, so no worker can hold the loop. */
int sm_notify_queue_len(void);
/* DIR/notify.ID, or an abstract name when dir is NULL.  0, or -1 with
 * errno (ENAMETOOLONG when DIR leaves no room in a socket address). */
int sm_notify_in_open(struct sm_notify_in *in, const char *dir, unsigned long long id);
enum {
	SM_NOTIFY_NONE = 0,    /* nothing waiting */
	SM_NOTIFY_MSG = 1,     /* msg filled */
	SM_NOTIFY_DROPPED = 2, /* a datagram too long, malformed or not ours: read and dropped */
};
/* Reads one datagram; -1 on an error.  Descriptors sent along are closed. */
int sm_notify_in_recv(const struct sm_notify_in *in, struct sm_notify_msg *msg);
/* Closes the socket and removes its path. */
void sm_notify_in_close(struct sm_notify_in *in);

#endif
