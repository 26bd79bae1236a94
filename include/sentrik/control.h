/* control: the sockets behind `sentrikctl` and --metrics — the control
 * socket's file, and the reading and writing of one client connection.
 * The watchers are master.c's; what a request does is decided there. */
#ifndef SENTRIK_CONTROL_H
#define SENTRIK_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <sentrik/error.h>
#include <sentrik/http.h>
#include <sentrik/proto.h>

#define SM_CONTROL_NAME "control.sock"
/* A client that neither sends its request nor takes its reply within this
 * long is closed.  A client waiting for a reload has no limit. */
#define SM_CONTROL_IDLE 5.0
/* HTTP clients served at once; more are closed at once. */
#define SM_METRICS_CLIENTS_MAX 16

/* The control socket: a unix stream socket created by the user the
 * service runs as, mode 0600.  A socket file nobody listens on is
 * replaced; anything else at path is refused (EX_CANTCREAT). */
struct sm_control {
	int fd; /* -1: none */
	char *path;
	/* Of the file we made: removed at exit only if still ours (inode
	 * numbers are reused at once on tmpfs, the change time tells). */
	dev_t dev;
	ino_t ino;
	struct timespec ctime;
};

int sm_control_open(struct sm_control *ctl, const char *path, struct sm_error *e);
void sm_control_close(struct sm_control *ctl);
/* The path --control or the runtime directory give; NULL when neither.
 * The result is the caller's to free. */
char *sm_control_path(const char *option, const char *runtime_dir);

/* One accepted connection. */
struct sm_conn {
	int fd;
	bool http;
	uid_t uid; /* the peer's, by SO_PEERCRED */
	char in[SM_HTTP_REQUEST_MAX + 1];
	size_t in_len;
	struct sm_buf out;
	size_t out_off;
};

/* accept4 a client (non-blocking, close-on-exec): its fd, or -1 (errno
 * EAGAIN when there is none left). */
int sm_conn_accept(int listen_fd);
enum sm_conn_read {
	SM_CONN_MORE,     /* keep reading */
	SM_CONN_REQUEST,  /* a whole request is in in[] (control: its line, no newline) */
	SM_CONN_TOO_LONG, /* more than the request bound */
	SM_CONN_GONE,     /* end of file or an error */
};
enum sm_conn_read sm_conn_read(struct sm_conn *c);
/* Write what is left of out: 1 all written, 0 more to come, -1 error. */
int sm_conn_write(struct sm_conn *c);
/* A short reply to a client refused at the door (busy, not allowed),
 * written without waiting: whatever fits. */
void sm_conn_refuse(int fd, const char *msg);

/* The master's resident set size from /proc/self/statm; 0 if unknown. */
uint64_t sm_control_rss(void);

#endif
