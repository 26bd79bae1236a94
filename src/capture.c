/* capture: worker output capture (pipes, line framing) and the one sink
 * it shares with the master's lines, so no two lines ever mix; whole lines
 * only, many per write; USR1 reopen; ENOSPC accounting.
 *
 * Back-pressure and memory: the master reads a worker's pipe only while
 * the sink buffer has room for what it reads, so a slow sink leaves the
 * data in the pipe and the worker blocks in write(2).  A regular file is
 * written synchronously (the kernel never says "later" for one).  A pipe
 * or socket on standard error is written without blocking: when it is
 * full, reading stops (SM_CAPTURE_PAUSE) until the master sees it writable
 * again, so the loop keeps serving signals meanwhile.  The master's memory
 * for logs is bounded by one sink buffer (SINK_BUF), one read scratch
 * (SM_FRAME_CARRY + READ_SIZE) and one carry of at most SM_FRAME_CARRY
 * bytes per captured stream with an unfinished line: 672 KiB + at most
 * 2 x 16 KiB per worker, whatever the workers write; a quiet worker costs
 * its two small stream records only. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sentrik/fd.h>
#include <sentrik/frame.h>
#include <sentrik/log.h>
#include <sentrik/capture.h>
#include <sentrik/error.h>

#define SINK_BUF (512 * 1024)
#define READ_SIZE (128 * 1024)
#define READS_PER_EVENT 4      /* then let the other pipes have their turn */
#define READS_AT_EXIT 64       /* bound on draining a dead worker's pipe */
#define PIPE_SIZE (256 * 1024) /* fewer wake-ups for a chatty worker */
/* Pipes count against the user's pipe-user-pages-soft (64 MiB by
 * default): only the first streams get the larger size. */
#define PIPE_SIZE_STREAMS 64
#define HEAD_MAX 192
/* Read only while this much of the sink buffer is free: room for what one
 * read of ordinary lines becomes once prefixed. */
#define READ_ROOM (SINK_BUF / 2)
#define LAST_LINE_MAX 160 /* of a worker's stderr, for the crash-loop message */

struct sm_capture_stream {
	int fd;
	int slot;
	pid_t pid;
	bool is_stderr;
	bool eof;
	/* The text before a line and after it, [0] whole line, [1] piece. */
	char head[2][HEAD_MAX];
	size_t head_len[2];
	char last_line[LAST_LINE_MAX]; /* stderr only: why a crash loop ended */
	struct sm_frame frame;
	unsigned early_lines; /* looked at for "address already in use" */
};

/* A worker that binds the port itself fails at start with "Address
 * already in use" (the master holds it): its first lines are looked at
 * for that, so the master can say where the socket is instead. */
#define EARLY_LINES 64
static pid_t said_in_use;

static struct {
	int fd;
	char *path; /* NULL: standard error, nothing to reopen */
	bool capture;
	enum sm_log_format format;
	bool socket;    /* written with MSG_DONTWAIT */
	bool blocked;   /* the last write would have blocked: readers pause */
	bool waiting;   /* at exit: every write waits for the sink */
	size_t streams; /* open captured streams */
	char *buf;
	size_t off, len; /* buf[off, len) is still to be written */
	char *scratch;
	unsigned long long dropped;       /* lines lost to write errors, not yet reported */
	unsigned long long lines;         /* every line handed to the sink, for the metrics */
	unsigned long long dropped_total; /* every line lost, reported or not */
	int drop_err;
	bool midline; /* the file ends inside a line whose rest is buf[off...] */
} sink = {.fd = -1};

static size_t count_lines(const char *p, size_t len)
{
	const char *end = p + len, *nl;
	size_t n = 0;

	while (p < end && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		n++;
		p = nl + 1;
	}
	return n;
}

/* -1 with EAGAIN when the sink is full and may_wait is false; otherwise
 * waits for room as a blocking write would. */
static ssize_t sink_write(const char *p, size_t len, bool may_wait)
{
	for (;;) {
		ssize_t n = sink.socket ? send(sink.fd, p, len, MSG_DONTWAIT | MSG_NOSIGNAL)
		                        : write(sink.fd, p, len);
		if (n >= 0)
			return n;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN || !may_wait) /* EWOULDBLOCK is EAGAIN on Linux */
			return -1;
		struct pollfd pfd = {.fd = sink.fd, .events = POLLOUT};
		if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
			return -1;
	}
}

/* The buffered lines are lost and counted, except the rest of a line a
 * short write began (a disk filling up): that is kept and written first
 * when writes succeed again, so the file never holds a cut line. */
static void sink_failed(int err)
{
	size_t keep = 0, lost;

	if (sink.off > 0 ? sink.buf[sink.off - 1] != '\n' : sink.midline) {
		const char *rest = sink.buf + sink.off;
		const char *nl = memchr(rest, '\n', sink.len - sink.off);
		keep = nl != NULL ? (size_t)(nl - rest) + 1 : sink.len - sink.off;
	}
	lost = count_lines(sink.buf + sink.off + keep, sink.len - sink.off - keep);
	sink.dropped += lost;
	sink.dropped_total += lost;
	sink.drop_err = err;
	memmove(sink.buf, sink.buf + sink.off, keep);
	sink.off = 0;
	sink.len = keep;
	sink.midline = keep > 0;
}

enum out {
	OUT_DONE,
	OUT_BLOCKED,
	OUT_FAILED
};

/* Write the buffer out.  Without may_wait a full pipe or socket leaves the
 * rest buffered and the sink blocked. */
static enum out sink_write_out(bool may_wait)
{
	if (sink.len == 0)
		return OUT_DONE;
	while (sink.off < sink.len) {
		ssize_t n = sink_write(sink.buf + sink.off, sink.len - sink.off, may_wait);
		if (n < 0 && errno == EAGAIN) {
			sink.blocked = true;
			return OUT_BLOCKED;
		}
		if (n < 0) {
			sink_failed(errno);
			return OUT_FAILED;
		}
		sink.off += (size_t)n;
	}
	sink.off = sink.len = 0;
	sink.blocked = false;
	sink.midline = false;
	return OUT_DONE;
}

/* false only when the sink is blocked (the buffer then still holds data);
 * after a write error the buffer is empty and its lines counted. */
static bool sink_flush_mode(bool may_wait)
{
	enum out r = sink_write_out(may_wait || sink.waiting);

	if (r != OUT_DONE)
		return r == OUT_FAILED;
	if (sink.dropped > 0) {
		unsigned long long n = sink.dropped;
		sink.dropped = 0; /* before logging: the report goes through here */
		sm_errorx("dropped %llu lines (%s)", n, strerror(sink.drop_err));
	}
	return true;
}

static void sink_flush(void)
{
	(void)sink_flush_mode(true);
}

/* Make room for `need` bytes, waiting for the sink only if it is full. */
static void sink_room(size_t need)
{
	if (sink.len + need <= SINK_BUF)
		return;
	if (sink.off > 0 && sink.len - sink.off + need <= SINK_BUF) {
		memmove(sink.buf, sink.buf + sink.off, sink.len - sink.off);
		sink.len -= sink.off;
		sink.off = 0;
		return;
	}
	sink_flush();
}

/* The master's own lines: written at once, they are few. */
static void master_line(const char *line, size_t len, void *ctx)
{
	(void)ctx;
	if (len > SINK_BUF)
		len = SINK_BUF;
	sink.lines++;
	sink_room(len);
	memcpy(sink.buf + sink.len, line, len);
	sink.len += len;
	(void)sink_flush_mode(false);
}

/* Standard error shared with others must not be set O_NONBLOCK (the flag
 * belongs to the open file description, theirs too).  A pipe can be
 * opened again through /proc for a description of our own; a socket
 * takes MSG_DONTWAIT per call.  Anything else is written blocking. */
static void sink_stderr(void)
{
	struct stat st;
	int fd;

	sink.fd = STDERR_FILENO;
	if (fstat(STDERR_FILENO, &st) < 0)
		return;
	if (S_ISSOCK(st.st_mode)) {
		sink.socket = true;
	} else if (S_ISFIFO(st.st_mode) &&
	           (fd = open("/proc/self/fd/2", O_WRONLY | O_NONBLOCK | O_CLOEXEC)) >= 0) {
		sink.fd = fd;
	}
}

static const char *file_type(mode_t mode)
{
	return S_ISFIFO(mode)   ? "a FIFO, not a regular file"
	       : S_ISCHR(mode)  ? "a character device, not a regular file"
	       : S_ISBLK(mode)  ? "a block device, not a regular file"
	       : S_ISSOCK(mode) ? "a socket, not a regular file"
	       : S_ISDIR(mode)  ? "a directory, not a regular file"
	                        : "not a regular file";
}

/* The log file: opened non-blocking, so a FIFO planted in its place
 * cannot stop the master at open, and kept only when it is a regular
 * file (then blocking again).  The fd, or -1 with *why (errno's text, or
 * what the file is instead). */
static int open_file(const char *path, const char **why)
{
	struct stat st;
	int fd =
	    open(path, O_WRONLY | O_APPEND | O_CREAT | O_NONBLOCK | O_CLOEXEC | O_NOCTTY, 0644);

	/* A FIFO nobody reads refuses a non-blocking writer (ENXIO). */
	if (fd < 0 && errno == ENXIO && stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		*why = file_type(st.st_mode);
		return -1;
	}
	if (fd < 0 || fstat(fd, &st) < 0) {
		*why = strerror(errno);
		if (fd >= 0)
			(void)close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		*why = file_type(st.st_mode);
		(void)close(fd);
		return -1;
	}
	if (sm_set_nonblock(fd, 0) < 0) {
		*why = strerror(errno);
		(void)close(fd);
		return -1;
	}
	return fd;
}

int sm_capture_open(const struct sm_config *cfg, struct sm_error *err)
{
	const char *file = cfg->log_file;

	sink.format = cfg->log_format;
	sink.capture = cfg->capture_output || (file != NULL && strcmp(file, "-") != 0);
	sink.buf = malloc(SINK_BUF);
	sink.scratch = sink.capture ? malloc(SM_FRAME_CARRY + READ_SIZE) : NULL;
	/* EX_CANTCREAT for both: the log cannot be created either way. */
	if (sink.buf == NULL || (sink.capture && sink.scratch == NULL))
		return sm_error_set(err, EX_CANTCREAT, "cannot allocate the log buffers: %s",
		                    strerror(errno));
	if (file != NULL && strcmp(file, "-") != 0) {
		const char *why = NULL;

		if ((sink.path = strdup(file)) == NULL || (sink.fd = open_file(file, &why)) < 0)
			return sm_error_set(err, EX_CANTCREAT, "cannot open log file '%s': %s",
			                    file, why != NULL ? why : strerror(errno));
	} else {
		sink_stderr();
	}
	sm_log_set_sink(master_line, NULL);
	/* Early exits (a fatal line before the loop ran) must not leave the
	 * last lines in the buffer of a full pipe. */
	if (atexit(sm_capture_flush) != 0)
		sm_warnx("cannot register the log flush at exit");
	return 0;
}

bool sm_capture_enabled(void)
{
	return sink.capture;
}

int sm_capture_reopen(void)
{
	const char *why;
	int fd;

	if (sink.path == NULL) {
		sm_debug("USR1: logging to standard error, nothing to reopen");
		return 0;
	}
	fd = open_file(sink.path, &why);
	if (fd < 0) {
		sm_errorx("USR1: cannot reopen log file '%s', keeping the old one: %s", sink.path,
		          why);
		return -1;
	}
	sink_flush(); /* what was read before the signal ends the old file */
	if (sink.midline) {
		/* The old file is full: its last line stays cut there. */
		sink.dropped++;
		sink.dropped_total++;
		sink.off = sink.len = 0;
		sink.midline = false;
	}
	(void)close(sink.fd);
	sink.fd = fd;
	sm_info("USR1: log file '%s' reopened", sink.path);
	return 0;
}

void sm_capture_flush(void)
{
	sink.waiting = true;
	sink_flush();
}

struct sm_capture_stream *sm_capture_stream_new(int slot, bool is_stderr, int *child_fd)
{
	struct sm_capture_stream *s;
	int fds[2];

	if (pipe2(fds, O_CLOEXEC) < 0)
		return NULL;
	/* Started with 1 or 2 closed, the child's end could land there, and
	 * dup2 onto itself would leave it close-on-exec. */
	if (fds[1] <= STDERR_FILENO) {
		int high = fcntl(fds[1], F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
		(void)close(fds[1]);
		if (high < 0) {
			(void)close(fds[0]);
			return NULL;
		}
		fds[1] = high;
	}
	if (sink.streams < PIPE_SIZE_STREAMS)
		(void)fcntl(fds[0], F_SETPIPE_SZ, PIPE_SIZE); /* only an optimisation */
	if (sm_set_nonblock(fds[0], 1) < 0 || (s = calloc(1, sizeof(*s))) == NULL) {
		int saved = errno;
		(void)close(fds[0]);
		(void)close(fds[1]);
		errno = saved;
		return NULL;
	}
	sink.streams++;
	s->fd = fds[0];
	s->slot = slot;
	s->is_stderr = is_stderr;
	*child_fd = fds[1];
	return s;
}

int sm_capture_pipes(struct sm_capture_stream *streams[2], int child_fds[2], int slot)
{
	int i;

	for (i = 0; i < 2; i++) {
		streams[i] = NULL;
		child_fds[i] = -1;
	}
	if (!sm_capture_enabled())
		return 0;
	for (i = 0; i < 2; i++)
		if ((streams[i] = sm_capture_stream_new(slot, i == 1, &child_fds[i])) == NULL)
			return -1;
	return 0;
}

void sm_capture_stream_started(struct sm_capture_stream *s, pid_t pid)
{
	s->pid = pid;
}

int sm_capture_stream_fd(const struct sm_capture_stream *s)
{
	return s->fd;
}

pid_t sm_capture_stream_pid(const struct sm_capture_stream *s)
{
	return s->pid;
}

const char *sm_capture_stream_last_line(const struct sm_capture_stream *s)
{
	return s->is_stderr && s->last_line[0] != '\0' ? s->last_line : NULL;
}

/* Build the text around each line once per batch: one timestamp serves
 * every line read in the same event. */
static void stamp(struct sm_capture_stream *s)
{
	const char *name = s->is_stderr ? "stderr" : "stdout";
	char ts[32];
	int i, n;

	sm_log_timestamp(ts, sizeof(ts));
	for (i = 0; i < 2; i++) {
		if (sink.format == SM_LOG_JSON)
			n = snprintf(s->head[i], HEAD_MAX,
			             "{\"ts\":\"%s\",\"source\":\"worker\",\"stream\":\"%s\","
			             "\"worker\":%d,\"pid\":%ld,\"msg\":\"",
			             ts, name, s->slot, (long)s->pid);
		else
			n = snprintf(s->head[i], HEAD_MAX, "%s worker %d[%ld] %s%s: ", ts, s->slot,
			             (long)s->pid, name, i == 1 ? "+" : "");
		s->head_len[i] = n > 0 && n < HEAD_MAX ? (size_t)n : 0;
	}
}

static bool json_plain(unsigned char c)
{
	return c >= 0x20 && c < 0x7F && c != '"' && c != '\\';
}

/* A UTF-8 sequence is all bytes >= 0x80, so it never straddles two runs
 * and each run escapes as it would in place. */
size_t sm_capture_json_escape(char *out, const char *in, size_t len)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t o = 0, i = 0, j;

	while (i < len) {
		for (j = i; j < len && json_plain(p[j]); j++)
			;
		memcpy(out + o, in + i, j - i);
		o += j - i;
		for (i = j; j < len && !json_plain(p[j]); j++)
			;
		if (j > i)
			o += sm_json_escape(out + o, 6 * (j - i) + 1, in + i, j - i);
		i = j;
	}
	return o;
}

static bool says_in_use(const char *line, size_t len)
{
	static const char *const words[] = {"address already in use", "EADDRINUSE"};
	size_t i, w, n;

	for (w = 0; w < sizeof(words) / sizeof(words[0]); w++)
		for (i = 0, n = strlen(words[w]); i + n <= len; i++)
			if (strncasecmp(line + i, words[w], n) == 0)
				return true;
	return false;
}

bool sm_capture_said_in_use(pid_t pid)
{
	return pid > 0 && said_in_use == pid;
}

static void put_line(const char *line, size_t len, bool partial, void *ctx)
{
	static const char tail_whole[] = "\"}\n", tail_piece[] = "\",\"partial\":true}\n";
	struct sm_capture_stream *s = ctx;
	size_t head = s->head_len[partial], need;
	char *out;

	if (s->early_lines < EARLY_LINES) {
		s->early_lines++;
		if (says_in_use(line, len))
			said_in_use = s->pid;
	}
	if (s->is_stderr && len > 0) {
		size_t keep = len < LAST_LINE_MAX ? len : LAST_LINE_MAX - 1;
		memcpy(s->last_line, line, keep);
		s->last_line[keep] = '\0';
	}
	need = head + (sink.format == SM_LOG_JSON ? 6 * len + sizeof(tail_piece) : len + 1);
	sink.lines++;
	sink_room(need);
	out = sink.buf + sink.len;
	memcpy(out, s->head[partial], head);
	out += head;
	if (sink.format == SM_LOG_JSON) {
		const char *tail = partial ? tail_piece : tail_whole;
		size_t tail_len = partial ? sizeof(tail_piece) - 1 : sizeof(tail_whole) - 1;
		out += sm_capture_json_escape(out, line, len);
		memcpy(out, tail, tail_len);
		out += tail_len;
	} else {
		memcpy(out, line, len);
		out += len;
		*out++ = '\n';
	}
	sink.len = (size_t)(out - sink.buf);
}

/* One read into the scratch after the carried bytes; frames what came.
 * Returns the bytes read, 0 at end of file, -1 when nothing is there. */
static ssize_t read_once(struct sm_capture_stream *s)
{
	size_t have = sm_frame_start(&s->frame, sink.scratch);
	ssize_t n;

	do
		n = read(s->fd, sink.scratch + have, READ_SIZE);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		if (errno == EAGAIN)
			return -1;
		sm_warn("worker %d (pid %ld): cannot read its %s", s->slot, (long)s->pid,
		        s->is_stderr ? "stderr" : "stdout");
		n = 0; /* treat as the end: the pipe is of no more use */
	}
	if (n == 0)
		s->eof = true;
	sm_frame_done(&s->frame, sink.scratch, have + (size_t)n, n == 0, put_line, s);
	return n;
}

/* Whether one more read fits: never read what could not be written. */
static bool can_read(void)
{
	if (sink.waiting)
		return sink_flush_mode(true);
	if (sink.blocked)
		return false;
	if (SINK_BUF - sink.len >= READ_ROOM)
		return true;
	return sink_flush_mode(false);
}

enum sm_capture_state sm_capture_readable(struct sm_capture_stream *s)
{
	int i;

	stamp(s);
	for (i = 0; i < READS_PER_EVENT && !s->eof && can_read(); i++)
		if (read_once(s) < READ_SIZE)
			break;
	(void)sink_flush_mode(false);
	if (s->eof)
		return SM_CAPTURE_EOF;
	return sink.blocked ? SM_CAPTURE_PAUSE : SM_CAPTURE_MORE;
}

void sm_capture_worker_exited(struct sm_capture_stream *s)
{
	bool empty = false;
	int i;

	stamp(s);
	for (i = 0; i < READS_AT_EXIT && !s->eof && can_read(); i++)
		if (read_once(s) < 0) {
			empty = true;
			break;
		}
	/* The last line without newline, unless more is still in the pipe
	 * (a blocked sink): then it goes out at end of file. */
	if (empty && s->frame.len > 0) {
		size_t have = sm_frame_start(&s->frame, sink.scratch);
		sm_frame_done(&s->frame, sink.scratch, have, true, put_line, s);
	}
	(void)sink_flush_mode(false);
}

int sm_capture_sink_fd(void)
{
	return sink.fd;
}

bool sm_capture_sink_blocked(void)
{
	return sink.blocked;
}

bool sm_capture_sink_writable(void)
{
	return sink_flush_mode(false);
}

void sm_capture_stream_free(struct sm_capture_stream *s)
{
	if (s == NULL)
		return;
	if (s->frame.len > 0) {
		size_t have;
		stamp(s);
		have = sm_frame_start(&s->frame, sink.scratch);
		sm_frame_done(&s->frame, sink.scratch, have, true, put_line, s);
		(void)sink_flush_mode(false);
	}
	sm_frame_free(&s->frame);
	(void)close(s->fd);
	free(s);
	sink.streams--;
}

unsigned long long sm_capture_lines_written(void)
{
	return sink.lines - sink.dropped_total;
}

unsigned long long sm_capture_lines_dropped(void)
{
	return sink.dropped_total;
}
