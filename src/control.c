/* control: the control socket's file (made as USER, 0600, removed at exit
 * while it is still ours) and the non-blocking I/O of one client, control
 * or HTTP: bounded reads, whole replies written as the peer takes them. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <sentrik/control.h>
#include <sentrik/fd.h>

#define CONTROL_BACKLOG 64

char *sm_control_path(const char *option, const char *runtime_dir)
{
	char *path = NULL;

	if (option != NULL)
		return strdup(option);
	if (runtime_dir == NULL || asprintf(&path, "%s/%s", runtime_dir, SM_CONTROL_NAME) < 0)
		return NULL;
	return path;
}

/* A socket file left by a master that is gone is ours to replace; a live
 * one belongs to another master, and anything else is not ours at all. */
static int clear_stale(const char *path, struct sm_error *e)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct stat st;
	int probe, rc;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0
		                       : sm_error_set(e, EX_CANTCREAT, "control socket %s: %s",
		                                      path, strerror(errno));
	if (!S_ISSOCK(st.st_mode))
		return sm_error_set(e, EX_CANTCREAT,
		                    "control socket %s: the path exists and is not a socket", path);
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return sm_error_set(e, EX_CANTCREAT, "control socket %s: %s", path,
		                    strerror(errno));
	rc = connect(probe, (struct sockaddr *)&sun, sizeof(sun));
	close(probe);
	if (rc == 0)
		return sm_error_set(e, EX_CANTCREAT,
		                    "control socket %s: another master is listening on it", path);
	if (errno != ECONNREFUSED)
		return sm_error_set(e, EX_CANTCREAT, "control socket %s: %s", path,
		                    strerror(errno));
	if (unlink(path) < 0 && errno != ENOENT)
		return sm_error_set(e, EX_CANTCREAT,
		                    "control socket %s: cannot remove the stale socket: %s", path,
		                    strerror(errno));
	return 0;
}

int sm_control_open(struct sm_control *ctl, const char *path, struct sm_error *e)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct stat st;
	mode_t old_mask;
	int rc;

	ctl->fd = -1;
	ctl->path = NULL;
	if (strlen(path) >= sizeof(sun.sun_path))
		return sm_error_set(e, EX_CANTCREAT, "control socket %s: path too long (max %zu)",
		                    path, sizeof(sun.sun_path) - 1);
	if (clear_stale(path, e) < 0)
		return -1;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	ctl->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (ctl->fd < 0)
		goto fail;
	/* Owner-only from the first moment: no window where it is wider. */
	old_mask = umask(0177);
	rc = bind(ctl->fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old_mask);
	if (rc < 0)
		goto fail;
	/* Listening at once: a client that sees the file is refused only in
	 * the instant between the two calls. */
	if (listen(ctl->fd, CONTROL_BACKLOG) < 0 || lstat(path, &st) < 0 ||
	    (ctl->path = strdup(path)) == NULL) {
		rc = errno;
		(void)unlink(path);
		errno = rc;
		goto fail;
	}
	ctl->dev = st.st_dev;
	ctl->ino = st.st_ino;
	ctl->ctime = st.st_ctim;
	return 0;
fail:
	rc = errno;
	if (ctl->fd >= 0)
		close(ctl->fd);
	ctl->fd = -1;
	return sm_error_set(e, EX_CANTCREAT, "control socket %s: %s", path, strerror(rc));
}

void sm_control_close(struct sm_control *ctl)
{
	struct stat st;

	if (ctl->fd >= 0)
		close(ctl->fd);
	ctl->fd = -1;
	if (ctl->path == NULL)
		return;
	if (lstat(ctl->path, &st) == 0 && S_ISSOCK(st.st_mode) && st.st_dev == ctl->dev &&
	    st.st_ino == ctl->ino && st.st_ctim.tv_sec == ctl->ctime.tv_sec &&
	    st.st_ctim.tv_nsec == ctl->ctime.tv_nsec)
		(void)unlink(ctl->path);
	free(ctl->path);
	ctl->path = NULL;
}

int sm_conn_accept(int listen_fd)
{
	int fd;

	do
		fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	return fd;
}

/* Whether in[] now holds a whole request; a control request line is cut
 * at its newline. */
static bool have_request(struct sm_conn *c, int *too_long)
{
	size_t max = c->http ? SM_HTTP_REQUEST_MAX : SM_PROTO_REQUEST_MAX;
	char *nl;

	*too_long = 0;
	if (c->http) {
		int r = sm_http_complete(c->in, c->in_len);
		*too_long = r < 0;
		return r > 0;
	}
	if ((nl = memchr(c->in, '\n', c->in_len)) != NULL) {
		*nl = '\0';
		c->in_len = (size_t)(nl - c->in);
		return true;
	}
	*too_long = c->in_len >= max;
	return false;
}

enum sm_conn_read sm_conn_read(struct sm_conn *c)
{
	size_t max = c->http ? SM_HTTP_REQUEST_MAX : SM_PROTO_REQUEST_MAX;
	int too_long;

	for (;;) {
		ssize_t n = read(c->fd, c->in + c->in_len, max - c->in_len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? SM_CONN_MORE : SM_CONN_GONE;
		c->in_len += (size_t)n;
		c->in[c->in_len] = '\0';
		if (have_request(c, &too_long))
			return SM_CONN_REQUEST;
		if (too_long)
			return SM_CONN_TOO_LONG;
		if (n == 0)
			return SM_CONN_GONE;
	}
}

int sm_conn_write(struct sm_conn *c)
{
	while (c->out_off < c->out.len) {
		ssize_t n = send(c->fd, c->out.data + c->out_off, c->out.len - c->out_off,
		                 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? 0 : -1;
		c->out_off += (size_t)n;
	}
	return 1;
}

void sm_conn_refuse(int fd, const char *msg)
{
	(void)send(fd, msg, strlen(msg), MSG_NOSIGNAL | MSG_DONTWAIT);
}

uint64_t sm_control_rss(void)
{
	char text[128];
	unsigned long long size, resident;
	ssize_t n;
	int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	n = sm_read_full(fd, text, sizeof(text) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	text[n] = '\0';
	if (sscanf(text, "%llu %llu", &size, &resident) != 2)
		return 0;
	return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}
