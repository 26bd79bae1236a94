/* proto: the control socket's line protocol, shared by the master and
 * sentrikctl — requests, framed replies, a growable buffer, peer checks. */
#ifndef SENTRIK_PROTO_H
#define SENTRIK_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* A request is one line of at most this many bytes, newline included. */
#define SM_PROTO_REQUEST_MAX 256
/* Control clients served at once; one more is told "busy" and closed. */
#define SM_PROTO_CLIENTS_MAX 16
/* The line that ends every reply. */
#define SM_PROTO_END "."

enum sm_verb {
	SM_REQ_STATUS,      /* status [json] */
	SM_REQ_METRICS,     /* metrics */
	SM_REQ_RELOAD,      /* reload: answered once the new generation serves or failed */
	SM_REQ_SCALE,       /* scale N */
	SM_REQ_RESTART,     /* restart SLOT: answered once the replacement is ready */
	SM_REQ_STOP,        /* stop [quick]: answered once the workers are gone */
	SM_REQ_REOPEN_LOGS, /* reopen-logs */
};

struct sm_request {
	enum sm_verb verb;
	bool json;  /* status json */
	bool quick; /* stop quick */
	long n;     /* scale N, restart SLOT */
};

/* The highest N of "scale N" and "restart SLOT" the parser lets through
 * (the master then judges it against --max-workers). */
#define SM_PROTO_N_MAX 65536

/* One request line, without its newline (a trailing '\r' is allowed).
 * 0, or -1 with why (one line, for the "error" reply) filled. */
int sm_proto_parse(const char *line, size_t len, struct sm_request *req, char *why, size_t whylen);
/* The request line for req, newline included; its length, or -1 if out
 * cannot hold it. */
int sm_proto_format(const struct sm_request *req, char *out, size_t len);

/* A growable byte buffer; an allocation failure sticks (failed) and later
 * additions do nothing, so writers check once at the end. */
struct sm_buf {
	char *data;
	size_t len, cap;
	bool failed;
};

void sm_buf_free(struct sm_buf *b);
void sm_buf_reset(struct sm_buf *b);
void sm_buf_add(struct sm_buf *b, const char *p, size_t n);
void sm_buf_str(struct sm_buf *b, const char *s);
void sm_buf_printf(struct sm_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Room for n more bytes at data + len (the caller adds n to len after
 * writing); NULL after a failure. */
char *sm_buf_room(struct sm_buf *b, size_t n);

/* A whole reply: "ok HEAD" or "error HEAD" (HEAD may be empty), then the
 * body's lines with a leading '.' doubled, then the end line ".". */
void sm_proto_reply(struct sm_buf *out, bool ok, const char *head, const char *body,
                    size_t body_len);

/* Client side: one reply line, without its newline.  Returns false for
 * the end line; otherwise true and *text is the line as the server meant
 * it (a doubled leading '.' undone). */
bool sm_proto_unstuff(const char *line, const char **text);

/* The uid (and pid) of the process at the other end of a unix socket. */
int sm_proto_peer(int fd, uid_t *uid, pid_t *pid);

#endif
