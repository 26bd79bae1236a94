/* hello-http: a small HTTP/1.1 worker for sentrik-master.  It takes its
 * listening sockets from LISTEN_FDS, says READY=1 on NOTIFY_SOCKET, answers
 * every request with its worker id and generation, and on TERM stops
 * accepting, finishes the requests in flight and exits.
 *
 *   sentrik-master --bind 127.0.0.1:8000 --workers 4 -- hello-http
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX_LISTEN 16
#define MAX_CONN 1024
#define BUF 8192
#define IDLE_AFTER_TERM_MS 1000 /* an idle keep-alive connection gets this long */

struct conn {
	int fd;
	char in[BUF];
	size_t in_len;
	char out[BUF];
	size_t out_len, out_done;
	int close_after;
	long long idle_since;
};

static volatile sig_atomic_t stopping;
static int listeners[MAX_LISTEN];
static int n_listeners;
static struct conn conns[MAX_CONN];
static int n_conns;
static char body[256];

static void on_term(int sig)
{
	(void)sig;
	stopping = 1;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void notify(const char *text)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t len;
	int fd;

	if (path == NULL || (path[0] != '/' && path[0] != '@') ||
	    (len = strlen(path)) >= sizeof(sa.sun_path))
		return;
	memcpy(sa.sun_path, path, len);
	if (path[0] == '@')
		sa.sun_path[0] = '\0';
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	(void)sendto(fd, text, strlen(text), MSG_NOSIGNAL, (struct sockaddr *)&sa,
		     (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len));
	close(fd);
}

static int take_sockets(void)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	int i, n;

	if (pid == NULL || fds == NULL || atol(pid) != (long)getpid())
		return -1;
	n = atoi(fds);
	for (i = 0; i < n && i < MAX_LISTEN; i++) {
		int fd = 3 + i;
		/* Non-blocking: every worker polls the same sockets; the losers of a
		 * race for a connection must get EAGAIN, not sleep in accept. */
		if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 ||
		    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0)
			return -1;
		listeners[n_listeners++] = fd;
	}
	return n_listeners > 0 ? 0 : -1;
}

static void drop(int i)
{
	close(conns[i].fd);
	conns[i] = conns[--n_conns];
}

/* One connection per wake-up: a burst of reconnecting clients (after a
 * reload) spreads over every worker instead of landing on the first. */
static void accept_one(int lfd)
{
	int fd;

	if (n_conns >= MAX_CONN)
		return;
	fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	memset(&conns[n_conns], 0, sizeof(conns[0]));
	conns[n_conns].fd = fd;
	conns[n_conns].idle_since = now_ms();
	n_conns++;
}

/* A whole request head in c->in: queue the answer and consume it. */
static int respond(struct conn *c)
{
	char *end = memmem(c->in, c->in_len, "\r\n\r\n", 4);
	size_t head;
	int keep;

	if (end == NULL)
		return c->in_len == sizeof(c->in) ? -1 : 0;
	head = (size_t)(end - c->in) + 4;
	*end = '\0';
	keep = strstr(c->in, "HTTP/1.1") != NULL;
	if (strcasestr(c->in, "\nconnection: close"))
		keep = 0;
	if (strcasestr(c->in, "\nconnection: keep-alive"))
		keep = 1;
	if (stopping)
		keep = 0; /* the client learns to go elsewhere without an error */
	c->out_len = (size_t)snprintf(c->out, sizeof(c->out),
				      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
				      "Content-Length: %zu\r\nConnection: %s\r\n\r\n%s",
				      strlen(body), keep ? "keep-alive" : "close", body);
	c->out_done = 0;
	c->close_after = !keep;
	memmove(c->in, c->in + head, c->in_len - head);
	c->in_len -= head;
	return 1;
}

/* Returns -1 when the connection is finished. */
static int serve(struct conn *c, short revents)
{
	ssize_t n;

	if (c->out_len > 0) {
		n = send(c->fd, c->out + c->out_done, c->out_len - c->out_done, MSG_NOSIGNAL);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		c->out_done += (size_t)n;
		if (c->out_done < c->out_len)
			return 0;
		c->out_len = 0;
		c->idle_since = now_ms();
		if (c->close_after)
			return -1;
	}
	if (revents & (POLLIN | POLLHUP | POLLERR)) {
		n = recv(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len, 0);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			return -1;
		if (n > 0)
			c->in_len += (size_t)n;
	}
	if (c->out_len == 0) {
		int r = respond(c);
		if (r < 0)
			return -1;
		if (r > 0)
			return serve(c, 0);
	}
	return 0;
}

int main(void)
{
	struct sigaction sa = {.sa_handler = on_term};
	struct pollfd pfd[MAX_LISTEN + MAX_CONN];
	sigset_t block, unblocked;
	const char *id = getenv("SENTRIK_WORKER_ID"), *gen = getenv("SENTRIK_GENERATION");
	int i;

	if (take_sockets() < 0) {
		fprintf(stderr, "hello-http: no listening socket (LISTEN_FDS); run it under "
				"sentrik-master --bind ADDR\n");
		return 2;
	}
	snprintf(body, sizeof(body), "hello from worker %s generation %s pid %ld\n",
		 id ? id : "?", gen ? gen : "?", (long)getpid());
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &unblocked);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	notify("READY=1\nSTATUS=serving");

	for (;;) {
		int n = 0, nl = stopping ? 0 : n_listeners;
		struct timespec tick = {0, 100 * 1000000};

		if (stopping && n_listeners > 0) {
			/* The master and the new generation keep the sockets open: the
			 * kernel's queue of waiting connections is not lost. */
			for (i = 0; i < n_listeners; i++)
				close(listeners[i]);
			n_listeners = 0;
			nl = 0;
		}
		if (stopping) {
			long long now = now_ms();
			for (i = n_conns - 1; i >= 0; i--)
				if (conns[i].in_len == 0 && conns[i].out_len == 0 &&
				    now - conns[i].idle_since > IDLE_AFTER_TERM_MS)
					drop(i);
			if (n_conns == 0)
				return 0;
		}
		for (i = 0; i < nl; i++)
			pfd[n++] = (struct pollfd){listeners[i], POLLIN, 0};
		for (i = 0; i < n_conns; i++)
			pfd[n++] = (struct pollfd){conns[i].fd,
						   conns[i].out_len > 0 ? POLLOUT : POLLIN, 0};
		/* ppoll with TERM unblocked only here: a TERM is never missed. */
		if (ppoll(pfd, (nfds_t)n, stopping ? &tick : NULL, &unblocked) < 0) {
			if (errno == EINTR)
				continue;
			perror("hello-http: ppoll");
			return 1;
		}
		for (i = 0; i < nl; i++)
			if (pfd[i].revents & POLLIN)
				accept_one(listeners[i]);
		/* Walk backwards: drop() moves the last connection into the gap. */
		for (i = n - nl - 1; i >= 0; i--)
			if (pfd[nl + i].revents && serve(&conns[i], pfd[nl + i].revents) < 0)
				drop(i);
	}
}
