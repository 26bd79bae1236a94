/* demo-app: the worker of the container examples.  It serves the first
 * socket the master hands over (fd 3, LISTEN_FDS) with three answers:
 *   GET /healthz   200 "ok"                  (liveness)
 *   GET /ready     200 "ready"               (readiness)
 *   GET /archive   200 when the optional read-only mount ARCHIVE_DIR
 *                  (default /mnt/archive) is there, 404 saying so when not:
 *                  the app keeps serving without it.
 * It says READY=1 when NOTIFY_SOCKET is set (--ready notify) and leaves
 * at once, with status 0, on TERM or INT. */
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

static void notify_ready(void)
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
	if (sendto(fd, "READY=1", 7, MSG_NOSIGNAL, (struct sockaddr *)&sa,
		   (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)) < 0)
		perror("demo-app: notify");
	close(fd);
}

static void answer(int fd)
{
	const char *archive = getenv("ARCHIVE_DIR") ? getenv("ARCHIVE_DIR") : "/mnt/archive";
	char req[1024], body[256], out[512];
	const char *code = "404 Not Found";
	struct stat st;
	ssize_t n = read(fd, req, sizeof(req) - 1);
	int len;

	if (n <= 0)
		return;
	req[n] = '\0';
	snprintf(body, sizeof(body), "not found\n");
	if (strncmp(req, "GET /healthz ", 13) == 0) {
		code = "200 OK";
		snprintf(body, sizeof(body), "ok\n");
	} else if (strncmp(req, "GET /ready ", 11) == 0) {
		code = "200 OK";
		snprintf(body, sizeof(body), "ready\n");
	} else if (strncmp(req, "GET /archive ", 13) == 0) {
		if (stat(archive, &st) == 0 && S_ISDIR(st.st_mode)) {
			code = "200 OK";
			snprintf(body, sizeof(body), "archive %s mounted\n", archive);
		} else
			snprintf(body, sizeof(body), "archive %s not mounted: %s\n", archive,
				 strerror(errno));
	}
	len = snprintf(out, sizeof(out),
		       "HTTP/1.0 %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
		       "Connection: close\r\n\r\n%s",
		       code, strlen(body), body);
	if (len > 0 && write(fd, out, (size_t)len) < 0)
		perror("demo-app: write");
}

int main(void)
{
	struct sigaction sa = {.sa_handler = on_stop}; /* no SA_RESTART: accept sees EINTR */
	const char *fds = getenv("LISTEN_FDS");

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) < 0 || sigaction(SIGINT, &sa, NULL) < 0)
		return 1;
	notify_ready();
	fprintf(stderr, "demo-app: worker %s of generation %s serving\n",
		getenv("SENTRIK_WORKER_ID") ? getenv("SENTRIK_WORKER_ID") : "?",
		getenv("SENTRIK_GENERATION") ? getenv("SENTRIK_GENERATION") : "?");
	while (!stop) {
		int c;
		if (fds == NULL || atoi(fds) < 1) {
			pause(); /* no socket handed over: just stay up */
			continue;
		}
		c = accept4(3, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0) {
			if (errno != EINTR && errno != ECONNABORTED) {
				perror("demo-app: accept");
				return 1;
			}
			continue;
		}
		answer(c);
		close(c);
	}
	return 0;
}
