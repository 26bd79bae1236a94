/* notify: the sd_notify protocol both ways — messages from the master to
 * the service manager (NOTIFY_SOCKET of the master's own environment), and
 * the parser for the datagrams workers send to the master's socket. */
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

/* The master's own socket for its workers: a datagram socket in the
 * abstract namespace with a kernel-chosen unique name and SO_PASSCRED, so
 * every message carries the sender's pid. */
struct sm_notify_in {
	int fd;        /* -1: not open */
	char name[32]; /* the NOTIFY_SOCKET value for workers: "@" + name */
};

int sm_notify_in_open(struct sm_notify_in *in);
/* The next message that names its sender: 1 with *pid and msg filled, 0
 * when none is waiting, -1 on error.  Datagrams without credentials, too
 * long or malformed are dropped; descriptors sent along are closed. */
int sm_notify_in_recv(const struct sm_notify_in *in, pid_t *pid, struct sm_notify_msg *msg);
void sm_notify_in_close(struct sm_notify_in *in);

#endif
