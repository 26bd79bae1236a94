/* capture: worker output capture (a pipe per stream, framed into lines)
 * and the log sink (--log-file or standard error) it shares with the
 * master's lines; reopen on USR1. */
#ifndef SENTRIK_CAPTURE_H
#define SENTRIK_CAPTURE_H

#include <stdbool.h>
#include <sys/types.h>

#include <sentrik/config.h>
#include <sentrik/error.h>

/* Open the sink as the user the service runs as (so after the drop) and
 * route the master's own lines into it.  0, or -1 with *err
 * (EX_CANTCREAT); the master's lines then still go to standard error. */
int sm_capture_open(const struct sm_config *cfg, struct sm_error *err);
/* Whether workers get pipes (--capture-output, or --log-file PATH). */
bool sm_capture_enabled(void);
/* USR1: open the file again by its name, then swap; on failure the old
 * descriptor stays and an error is logged. */
int sm_capture_reopen(void);
/* At exit: write out whatever is buffered, and from now on wait for the
 * sink rather than pause, so the last lines are not left behind. */
void sm_capture_flush(void);
/* A pipe or socket sink that would block: watch sm_capture_sink_fd() for
 * writability and call sm_capture_sink_writable(); once it returns true,
 * resume the paused streams. */
bool sm_capture_sink_blocked(void);
int sm_capture_sink_fd(void);
bool sm_capture_sink_writable(void);

/* For the metrics: lines (the master's and captured ones) handed to the
 * sink less those lost, and those lost to write errors since the start. */
unsigned long long sm_capture_lines_written(void);
unsigned long long sm_capture_lines_dropped(void);

/* One captured stream (stdout or stderr) of one worker. */
struct sm_capture_stream;

/* Before a spawn: a pipe whose write end (*child_fd, close-on-exec, the
 * spawn dup2s it) becomes the worker's stdout or stderr.  NULL on error. */
struct sm_capture_stream *sm_capture_stream_new(int slot, bool is_stderr, int *child_fd);
/* Both of a worker's streams ([0] stdout, [1] stderr) when output is
 * captured; child_fds[] stay -1 (inherit the master's) when it is not.
 * -1 on error, with what was made still in streams[] and child_fds[]. */
int sm_capture_pipes(struct sm_capture_stream *streams[2], int child_fds[2], int slot);
/* After the spawn succeeded: the pid that its lines name. */
void sm_capture_stream_started(struct sm_capture_stream *s, pid_t pid);
int sm_capture_stream_fd(const struct sm_capture_stream *s);
pid_t sm_capture_stream_pid(const struct sm_capture_stream *s);
/* A stderr stream's last non-empty line (cut at 159 bytes, NUL bytes end
 * it early), or NULL: what a crash-loop message quotes. */
const char *sm_capture_stream_last_line(const struct sm_capture_stream *s);
enum sm_capture_state {
	SM_CAPTURE_MORE,  /* keep watching */
	SM_CAPTURE_PAUSE, /* the sink is full: stop watching until it is writable */
	SM_CAPTURE_EOF,   /* stop watching and free the stream */
};
/* The read end is readable: frame what is there into the sink. */
enum sm_capture_state sm_capture_readable(struct sm_capture_stream *s);
/* The worker exited: take what it left in the pipe and write out its last
 * line even if it has no newline. */
void sm_capture_worker_exited(struct sm_capture_stream *s);
/* Whether one of the first lines worker pid wrote (captured output only)
 * said "address already in use" (any case) or EADDRINUSE. */
bool sm_capture_said_in_use(pid_t pid);
/* Flush a last unfinished line, close the read end, free. */
void sm_capture_stream_free(struct sm_capture_stream *s);

/* sm_json_escape's output, with runs of plain ASCII copied as they are
 * (the hot path of JSON capture).  out needs 6 * len + 1 bytes. */
size_t sm_capture_json_escape(char *out, const char *in, size_t len);

#endif
