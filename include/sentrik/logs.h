/* logs: the log sink (--log-file or standard error) that master lines and
 * captured worker output share, worker output capture, reopen on USR1. */
#ifndef SENTRIK_LOGS_H
#define SENTRIK_LOGS_H

#include <stdbool.h>
#include <sys/types.h>

#include <sentrik/config.h>

/* Open the sink as the user the service runs as (so after the drop) and
 * route the master's own lines into it.  -1 after a FATAL line. */
int sm_logs_open(const struct sm_config *cfg);
/* Whether workers get pipes (--capture-output, or --log-file PATH). */
bool sm_logs_capturing(void);
/* USR1: open the file again by its name, then swap; on failure the old
 * descriptor stays and an error is logged. */
int sm_logs_reopen(void);
/* At exit: write out whatever is buffered, and from now on wait for the
 * sink rather than pause, so the last lines are not left behind. */
void sm_logs_flush(void);
/* A pipe or socket sink that would block: watch sm_logs_sink_fd() for
 * writability and call sm_logs_sink_writable(); once it returns true,
 * resume the paused streams. */
bool sm_logs_sink_blocked(void);
int sm_logs_sink_fd(void);
bool sm_logs_sink_writable(void);

/* One captured stream (stdout or stderr) of one worker. */
struct sm_logs_stream;

/* Before a spawn: a pipe whose write end (*child_fd, close-on-exec, the
 * spawn dup2s it) becomes the worker's stdout or stderr.  NULL on error. */
struct sm_logs_stream *sm_logs_stream_new(int slot, bool is_stderr, int *child_fd);
/* After the spawn succeeded: the pid that its lines name. */
void sm_logs_stream_started(struct sm_logs_stream *s, pid_t pid);
int sm_logs_stream_fd(const struct sm_logs_stream *s);
pid_t sm_logs_stream_pid(const struct sm_logs_stream *s);
enum sm_logs_state {
	SM_LOGS_MORE,  /* keep watching */
	SM_LOGS_PAUSE, /* the sink is full: stop watching until it is writable */
	SM_LOGS_EOF,   /* stop watching and free the stream */
};
/* The read end is readable: frame what is there into the sink. */
enum sm_logs_state sm_logs_readable(struct sm_logs_stream *s);
/* The worker exited: take what it left in the pipe and write out its last
 * line even if it has no newline. */
void sm_logs_worker_exited(struct sm_logs_stream *s);
/* Flush a last unfinished line, close the read end, free. */
void sm_logs_stream_free(struct sm_logs_stream *s);

/* sm_json_escape's output, with runs of plain ASCII copied as they are
 * (the hot path of JSON capture).  out needs 6 * len + 1 bytes. */
size_t sm_logs_json_escape(char *out, const char *in, size_t len);

#endif
