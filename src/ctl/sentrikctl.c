/* sentrikctl: the operator's client of a running sentrik-master's control
 * socket (SPEC §10).  It links the protocol module and nothing else. */
#include <errno.h>
#include <glob.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sysexits.h>
#include <unistd.h>

#include <sentrik/proto.h>

#define EXIT_FAILED 1
#define EXIT_NO_MASTER EX_UNAVAILABLE /* 69 */
#define EXIT_NOT_ALLOWED EX_NOPERM    /* 77 */
#define FOUND_MAX 32
/* Quick questions get an answer at once; reload, restart and stop take
 * as long as the workers do. */
#define QUICK_TIMEOUT_MS 10000

static const char usage_text[] =
    "usage: sentrikctl [--control PATH] COMMAND\n"
    "\n"
    "  status [--json]   the master, one row per worker, the counters\n"
    "  metrics           the metrics, Prometheus text format\n"
    "  reload            reload; answers once the new generation serves or rolled back\n"
    "  scale N           run N workers\n"
    "  restart SLOT      replace the worker of SLOT (the new one ready first)\n"
    "  stop [--quick]    stop the master and its workers; answers once they are gone\n"
    "  reopen-logs       reopen the log file (as USR1)\n"
    "\n"
    "Without --control it looks for control.sock in $RUNTIME_DIRECTORY,\n"
    "/run/sentrik-master/*/, /dev/shm/sentrik-master-*/ and $TMPDIR or /tmp.\n"
    "Exit: 0 done, 1 refused or failed, 69 no master found, 77 not allowed.\n";

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "sentrikctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n%s", usage_text);
	return EX_USAGE;
}

/* The command words into a request. */
static int parse_command(int argc, char **argv, struct sm_request *req)
{
	const char *verb = argv[0];
	char line[SM_PROTO_REQUEST_MAX], why[SM_PROTO_REQUEST_MAX + 64];
	size_t len = 0;
	int i;

	/* "status --json" and "stop --quick" are the protocol's "status json"
	 * and "stop quick"; every other word goes as it is and the parser
	 * (the master's) judges it. */
	for (i = 0; i < argc; i++) {
		const char *w = argv[i];
		if (i > 0 && (strcmp(w, "--json") == 0 || strcmp(w, "--quick") == 0))
			w += 2;
		else if (i > 0 && w[0] == '-')
			return usage_error("unknown option '%s'", w);
		if (len + strlen(w) + 2 > sizeof(line))
			return usage_error("command too long: '%s'", verb);
		len += (size_t)snprintf(line + len, sizeof(line) - len, "%s%s", i ? " " : "", w);
	}
	if (sm_proto_parse(line, len, req, why, sizeof(why)) < 0)
		return usage_error("%s", why);
	return 0;
}

/* Connect; 0, or the exit status (after a message unless quiet). */
static int dial(const char *path, int *fd_out, bool quiet)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "sentrikctl: %s: path too long\n", path);
		return EXIT_FAILED;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		fprintf(stderr, "sentrikctl: socket: %s\n", strerror(errno));
		return EXIT_FAILED;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		int err = errno;
		close(fd);
		if (!quiet)
			fprintf(stderr, "sentrikctl: %s: %s\n", path, strerror(err));
		if (err == EACCES || err == EPERM)
			return EXIT_NOT_ALLOWED;
		return err == ENOENT || err == ECONNREFUSED || err == ENOTDIR ? EXIT_NO_MASTER
		                                                              : EXIT_FAILED;
	}
	*fd_out = fd;
	return 0;
}

/* Root must never talk to a socket somebody else planted: the server must
 * run as root or as the owner of the socket file it answers on. */
static int check_server(int fd, const char *path)
{
	struct stat st;
	uid_t uid;

	if (sm_proto_peer(fd, &uid, NULL) < 0 || lstat(path, &st) < 0) {
		fprintf(stderr, "sentrikctl: %s: %s\n", path, strerror(errno));
		return EXIT_FAILED;
	}
	if (uid != 0 && uid != st.st_uid) {
		fprintf(
		    stderr,
		    "sentrikctl: %s: refused: the server runs as uid %lu, the socket belongs to "
		    "uid %lu\n",
		    path, (unsigned long)uid, (unsigned long)st.st_uid);
		return EXIT_NOT_ALLOWED;
	}
	return 0;
}

/* Whether a master answers on path (a socket file nobody listens on is
 * left behind by one that is gone). */
static bool live(const char *path)
{
	struct stat st;
	int fd = -1;

	if (lstat(path, &st) < 0 || !S_ISSOCK(st.st_mode))
		return false;
	if (dial(path, &fd, true) == EXIT_NO_MASTER)
		return false;
	if (fd >= 0)
		close(fd);
	return true;
}

static size_t add_found(char found[][sizeof(((struct sockaddr_un *)0)->sun_path)], size_t n,
                        const char *path)
{
	size_t i;

	if (n == FOUND_MAX || strlen(path) >= sizeof(found[0]))
		return n;
	for (i = 0; i < n; i++)
		if (strcmp(found[i], path) == 0)
			return n;
	if (!live(path))
		return n;
	snprintf(found[n], sizeof(found[n]), "%s", path);
	return n + 1;
}

static size_t add_glob(char found[][sizeof(((struct sockaddr_un *)0)->sun_path)], size_t n,
                       const char *pattern)
{
	glob_t g;
	size_t i;

	if (glob(pattern, 0, NULL, &g) != 0)
		return n;
	for (i = 0; i < g.gl_pathc; i++)
		n = add_found(found, n, g.gl_pathv[i]);
	globfree(&g);
	return n;
}

/* SPEC §3's places, in its order: one master found is the one. */
static int discover(char *out, size_t outlen)
{
	static char found[FOUND_MAX][sizeof(((struct sockaddr_un *)0)->sun_path)];
	const char *rd = getenv("RUNTIME_DIRECTORY"), *tmp = getenv("TMPDIR");
	char pattern[4096];
	size_t n = 0, i;

	while (rd != NULL && *rd != '\0') {
		size_t len = strcspn(rd, ":");
		snprintf(pattern, sizeof(pattern), "%.*s/control.sock", (int)len, rd);
		n = add_found(found, n, pattern);
		rd += len + (rd[len] == ':');
	}
	n = add_glob(found, n, "/run/sentrik-master/*/control.sock");
	n = add_glob(found, n, "/dev/shm/sentrik-master-*/control.sock");
	if (tmp != NULL && *tmp != '\0') {
		snprintf(pattern, sizeof(pattern), "%s/sentrik-master-*/control.sock", tmp);
		n = add_glob(found, n, pattern);
	}
	n = add_glob(found, n, "/tmp/sentrik-master-*/control.sock");
	if (n == 1) {
		snprintf(out, outlen, "%s", found[0]);
		return 0;
	}
	if (n == 0) {
		fprintf(stderr, "sentrikctl: no master found (looked in $RUNTIME_DIRECTORY, "
		                "/run/sentrik-master, /dev/shm, $TMPDIR and /tmp); use --control "
		                "PATH\n");
		return EXIT_NO_MASTER;
	}
	fprintf(stderr, "sentrikctl: %zu masters found; choose one with --control:\n", n);
	for (i = 0; i < n; i++)
		fprintf(stderr, "  %s\n", found[i]);
	return EXIT_FAILED;
}

/* What the server sends goes to a terminal: no escape sequence of its
 * gets through. */
static void print_clean(FILE *out, const char *text)
{
	const unsigned char *p = (const unsigned char *)text;

	for (; *p; p++)
		fputc(*p == '\t' || (*p >= 0x20 && *p != 0x7f) ? *p : '?', out);
	fputc('\n', out);
}

/* The reply, read line by line as it comes; timeout_ms -1: no limit. */
struct reader {
	int fd, timeout_ms;
	char buf[65536];
	size_t start, len;
	bool eof;
};

/* The next line, without its newline, NUL-terminated in place; NULL at
 * the end of the stream, on a timeout (*timed_out) or an error. */
static char *next_line(struct reader *r, bool *timed_out)
{
	struct pollfd pfd = {.fd = r->fd, .events = POLLIN};
	char *nl;
	ssize_t n;

	*timed_out = false;
	for (;;) {
		if ((nl = memchr(r->buf + r->start, '\n', r->len - r->start)) != NULL) {
			char *line = r->buf + r->start;
			*nl = '\0';
			r->start = (size_t)(nl - r->buf) + 1;
			return line;
		}
		if (r->eof)
			return NULL;
		/* Keep the partial line; a line longer than the buffer is cut. */
		memmove(r->buf, r->buf + r->start, r->len - r->start);
		r->len -= r->start;
		r->start = 0;
		if (r->len == sizeof(r->buf) - 1) {
			r->buf[r->len++] = '\n';
			continue;
		}
		n = poll(&pfd, 1, r->timeout_ms);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0) {
			*timed_out = true;
			return NULL;
		}
		n = n < 0 ? -1 : read(r->fd, r->buf + r->len, sizeof(r->buf) - 1 - r->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			r->eof = true;
		else
			r->len += (size_t)n;
	}
}

/* The head line decides the exit status; the body goes to standard
 * output (standard error after an error head). */
static int read_reply(int fd, int timeout_ms)
{
	struct reader *r = calloc(1, sizeof(*r));
	const char *text;
	char *line;
	bool ok = false, timed_out = false;
	int status = EXIT_FAILED;

	if (r == NULL) {
		fprintf(stderr, "sentrikctl: out of memory\n");
		return EXIT_FAILED;
	}
	r->fd = fd;
	r->timeout_ms = timeout_ms;
	if ((line = next_line(r, &timed_out)) != NULL) {
		ok = strncmp(line, "ok", 2) == 0 && (line[2] == '\0' || line[2] == ' ');
		if (ok && line[2] == ' ') {
			print_clean(stdout, line + 3);
		} else if (!ok) {
			text = strncmp(line, "error ", 6) == 0 ? line + 6 : line;
			fputs("sentrikctl: ", stderr);
			print_clean(stderr, text);
			status =
			    strncmp(text, "not allowed", 11) == 0 ? EXIT_NOT_ALLOWED : EXIT_FAILED;
		}
		while ((line = next_line(r, &timed_out)) != NULL && sm_proto_unstuff(line, &text))
			print_clean(ok ? stdout : stderr, text);
	}
	if (line != NULL && ok)
		status = 0;
	else if (timed_out)
		fprintf(stderr, "sentrikctl: no answer within %d s\n", timeout_ms / 1000);
	else if (line == NULL)
		fprintf(stderr, "sentrikctl: the master closed the connection before its answer "
		                "was complete\n");
	free(r);
	close(fd);
	return status;
}

static int send_request(int fd, const struct sm_request *req)
{
	char line[SM_PROTO_REQUEST_MAX];
	int n = sm_proto_format(req, line, sizeof(line));
	size_t off = 0;

	while (n > 0 && off < (size_t)n) {
		ssize_t w = send(fd, line + off, (size_t)n - off, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		/* A master that refused us may have closed already: its one
		 * line is still there to read. */
		if (w < 0 && (errno == EPIPE || errno == ECONNRESET))
			return 0;
		if (w < 0) {
			fprintf(stderr, "sentrikctl: cannot send the request: %s\n",
			        strerror(errno));
			return EXIT_FAILED;
		}
		off += (size_t)w;
	}
	return n > 0 ? 0 : EXIT_FAILED;
}

int main(int argc, char **argv)
{
	const char *control = NULL;
	char found[4096];
	struct sm_request req = {0};
	int i = 1, fd = -1, rc;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			fputs(usage_text, stdout);
			return 0;
		} else if (strcmp(argv[i], "-V") == 0 || strcmp(argv[i], "--version") == 0) {
			printf("sentrikctl %s\n", SM_VERSION);
			return 0;
		} else if (strcmp(argv[i], "--control") == 0 && i + 1 < argc) {
			control = argv[++i];
		} else if (strncmp(argv[i], "--control=", 10) == 0) {
			control = argv[i] + 10;
		} else {
			return usage_error("unknown option '%s'", argv[i]);
		}
	}
	if (i == argc)
		return usage_error("a command is needed");
	if ((rc = parse_command(argc - i, argv + i, &req)) != 0)
		return rc;
	if (control == NULL && (rc = discover(found, sizeof(found))) != 0)
		return rc;
	if (control == NULL)
		control = found;
	if ((rc = dial(control, &fd, false)) != 0 || (rc = check_server(fd, control)) != 0 ||
	    (rc = send_request(fd, &req)) != 0) {
		if (fd >= 0)
			close(fd);
		return rc;
	}
	return read_reply(fd, req.verb == SM_REQ_RELOAD || req.verb == SM_REQ_RESTART ||
	                              req.verb == SM_REQ_STOP
	                          ? -1
	                          : QUICK_TIMEOUT_MS);
}
