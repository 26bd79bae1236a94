/* notify: sd_notify without libsystemd.  A SOCK_DGRAM to NOTIFY_SOCKET
 * ("@" is the abstract namespace; the address length counts the bytes
 * used), and a socket per worker with the parser for what workers say. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sentrik/log.h>
#include <sentrik/notify.h>

static bool line_is(const char *line, size_t len, const char *kv)
{
	return strlen(kv) == len && memcmp(line, kv, len) == 0;
}

int sm_notify_parse(const char *buf, size_t len, struct sm_notify_msg *msg)
{
	size_t at = 0;

	memset(msg, 0, sizeof(*msg));
	if (memchr(buf, '\0', len) != NULL)
		return -1;
	while (at < len) {
		const char *line = buf + at, *nl = memchr(line, '\n', len - at);
		size_t llen = nl != NULL ? (size_t)(nl - line) : len - at;
		const char *eq = memchr(line, '=', llen);

		at += llen + (nl != NULL);
		if (llen == 0)
			continue;
		if (eq == NULL)
			return -1;
		if (line_is(line, llen, "READY=1"))
			msg->ready = true;
		else if (line_is(line, llen, "RELOADING=1"))
			msg->reloading = true;
		else if (line_is(line, llen, "STOPPING=1"))
			msg->stopping = true;
		else if (line_is(line, llen, "WATCHDOG=1"))
			msg->watchdog = true;
		else if (line_is(line, llen, "WATCHDOG=trigger"))
			msg->watchdog_trigger = true;
		else if (eq - line == 6 && memcmp(line, "STATUS", 6) == 0) {
			size_t vlen = llen - 7;
			if (vlen >= sizeof(msg->status))
				vlen = sizeof(msg->status) - 1;
			memcpy(msg->status, eq + 1, vlen);
			msg->status[vlen] = '\0';
		} else if (eq - line == 7 && memcmp(line, "MAINPID", 7) == 0) {
			char num[24];
			size_t vlen = llen - 8;
			char *end;
			long v;
			if (vlen == 0 || vlen >= sizeof(num))
				return -1;
			memcpy(num, eq + 1, vlen);
			num[vlen] = '\0';
			v = strtol(num, &end, 10);
			if (*end != '\0' || v <= 0)
				return -1;
			msg->mainpid = (pid_t)v;
		}
	}
	return 0;
}

int sm_notify_addr(const char *value, struct sockaddr_un *addr, socklen_t *addrlen)
{
	size_t len = value != NULL ? strlen(value) : 0;

	memset(addr, 0, sizeof(*addr));
	addr->sun_family = AF_UNIX;
	if (len < 2 || len >= sizeof(addr->sun_path) || (value[0] != '/' && value[0] != '@')) {
		errno = EINVAL;
		return -1;
	}
	memcpy(addr->sun_path, value, len);
	if (value[0] == '@')
		addr->sun_path[0] = '\0';
	*addrlen =
	    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + (value[0] == '/' ? 1 : 0));
	return 0;
}

static const char *env_value(char *const *env, const char *name)
{
	size_t len = strlen(name);

	for (; env != NULL && *env != NULL; env++)
		if (strncmp(*env, name, len) == 0 && (*env)[len] == '=')
			return *env + len + 1;
	return NULL;
}

int sm_notifier_open(struct sm_notifier *n, char *const *env, pid_t self)
{
	const char *sock = env_value(env, "NOTIFY_SOCKET");
	const char *usec = env_value(env, "WATCHDOG_USEC");
	const char *wpid = env_value(env, "WATCHDOG_PID");

	memset(n, 0, sizeof(*n));
	n->fd = -1;
	n->mainpid = self;
	if (usec != NULL && (wpid == NULL || strtol(wpid, NULL, 10) == (long)self))
		n->watchdog_usec = strtoull(usec, NULL, 10);
	if (sock == NULL || *sock == '\0')
		return 0;
	if (sm_notify_addr(sock, &n->addr, &n->addrlen) < 0)
		return -1;
	n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	return n->fd < 0 ? -1 : 0;
}

int sm_notifier_send(const struct sm_notifier *n, const char *text)
{
	ssize_t r;

	if (n->fd < 0)
		return 0;
	do
		r = sendto(n->fd, text, strlen(text), MSG_NOSIGNAL,
		           (const struct sockaddr *)&n->addr, n->addrlen);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -1 : 0;
}

void sm_notifier_close(struct sm_notifier *n)
{
	if (n->fd >= 0)
		close(n->fd);
	n->fd = -1;
}

/* Every message comes from the master itself, so NotifyAccess=main is
 * enough. */
void sm_notifier_tell(const struct sm_notifier *n, const char *text)
{
	if (sm_notifier_send(n, text) < 0)
		sm_debug("cannot notify the service manager: %s", strerror(errno));
}

/* STATUS is one line: why is cut at a newline. */
void sm_notifier_ready(struct sm_notifier *n, const char *status, unsigned generation,
                       const char *why)
{
	char msg[512], mainpid[40] = "";

	if (n->fd < 0)
		return;
	if (!n->told_ready)
		snprintf(mainpid, sizeof(mainpid), "MAINPID=%ld\n", (long)n->mainpid);
	n->told_ready = true;
	if (why == NULL)
		snprintf(msg, sizeof(msg), "READY=1\n%sSTATUS=%s", mainpid, status);
	else
		snprintf(msg, sizeof(msg),
		         "READY=1\nSTATUS=reload failed, generation %u keeps serving: %.*s",
		         generation, (int)strcspn(why, "\n"), why);
	sm_notifier_tell(n, msg);
}

void sm_notifier_status(const struct sm_notifier *n, const char *status)
{
	char msg[320];

	if (n->fd < 0)
		return;
	snprintf(msg, sizeof(msg), "STATUS=%.*s", (int)strcspn(status, "\n"), status);
	sm_notifier_tell(n, msg);
}

void sm_notifier_reloading(const struct sm_notifier *n, const char *status)
{
	struct timespec ts;
	char msg[384];

	if (n->fd < 0 || clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		return;
	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=%s",
	         (unsigned long long)ts.tv_sec * 1000000ULL +
	             (unsigned long long)ts.tv_nsec / 1000ULL,
	         status);
	sm_notifier_tell(n, msg);
}

void sm_notifier_stopping(struct sm_notifier *n)
{
	if (n->told_stopping)
		return;
	n->told_stopping = true;
	sm_notifier_tell(n, "STOPPING=1\nSTATUS=stopping");
}

int sm_notify_queue_len(void)
{
	char buf[32];
	long n = 0;
	FILE *f = fopen("/proc/sys/net/unix/max_dgram_qlen", "re");

	if (f != NULL) {
		if (fgets(buf, sizeof(buf), f) != NULL)
			n = strtol(buf, NULL, 10);
		fclose(f);
	}
	/* The kernel's default when /proc is not there to say. */
	if (n <= 0)
		return 512;
	return n > 65536 ? 65536 : (int)n;
}

/* Binding only the family autobinds: the kernel picks a free abstract
 * name, so two masters never collide and nothing lands on a disk. */
static int bind_abstract(struct sm_notify_in *in)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	socklen_t len = sizeof(sa_family_t);
	int one = 1;

	/* Anyone may send to an abstract name: credentials tell the
	 * datagrams of our own user from the rest. */
	if (setsockopt(in->fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0 ||
	    bind(in->fd, (struct sockaddr *)&addr, len) < 0)
		return -1;
	len = sizeof(addr);
	if (getsockname(in->fd, (struct sockaddr *)&addr, &len) < 0)
		return -1;
	len -= (socklen_t)offsetof(struct sockaddr_un, sun_path);
	if (len < 2 || len >= sizeof(in->name) || addr.sun_path[0] != '\0') {
		errno = EINVAL;
		return -1;
	}
	in->name[0] = '@';
	memcpy(in->name + 1, addr.sun_path + 1, len - 1);
	in->name[len] = '\0';
	in->check_uid = true;
	return 0;
}

/* A path in the runtime directory (USER's, 0700): only USER and root can
 * reach it, so whatever arrives is from the worker's own side. */
static int bind_path(struct sm_notify_in *in, const char *dir, unsigned long long id)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	int n = snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/notify.%llu", dir, id);

	if (n < 0 || (size_t)n >= sizeof(addr.sun_path) || (size_t)n >= sizeof(in->name)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	/* A master killed outright leaves its sockets: the name is ours. */
	if (unlink(addr.sun_path) < 0 && errno != ENOENT)
		return -1;
	if (bind(in->fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		return -1;
	memcpy(in->name, addr.sun_path, (size_t)n + 1);
	in->bound = true;
	return 0;
}

int sm_notify_in_open(struct sm_notify_in *in, const char *dir, unsigned long long id)
{
	in->name[0] = '\0';
	in->bound = false;
	in->check_uid = false;
	in->uid = geteuid();
	in->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (in->fd < 0)
		return -1;
	if ((dir != NULL ? bind_path(in, dir, id) : bind_abstract(in)) == 0)
		return 0;
	sm_notify_in_close(in);
	return -1;
}

/* BARRIER=1 (sd_notify_barrier) waits for its pipe to close, and any
 * other descriptor sent along is of no use here: all are closed at once. */
static void close_passed_fds(struct msghdr *mh)
{
	struct cmsghdr *c;

	for (c = CMSG_FIRSTHDR(mh); c != NULL; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int), i;
			int fds[n > 0 ? n : 1];
			memcpy(fds, CMSG_DATA(c), n * sizeof(int));
			for (i = 0; i < n; i++)
				close(fds[i]);
		}
	}
}

/* On an abstract socket: from our own user or root, said the kernel. */
static bool sender_trusted(const struct sm_notify_in *in, struct msghdr *mh)
{
	struct cmsghdr *c;
	struct ucred cred;

	if (!in->check_uid)
		return true;
	for (c = CMSG_FIRSTHDR(mh); c != NULL; c = CMSG_NXTHDR(mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS &&
		    c->cmsg_len == CMSG_LEN(sizeof(cred))) {
			memcpy(&cred, CMSG_DATA(c), sizeof(cred));
			return cred.uid == in->uid || cred.uid == 0;
		}
	return false;
}

int sm_notify_in_recv(const struct sm_notify_in *in, struct sm_notify_msg *msg)
{
	char buf[4096];
	union {
		struct cmsghdr align;
		char space[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(int) * 16)];
	} control;
	struct iovec iov = {buf, sizeof(buf)};
	struct msghdr mh = {.msg_iov = &iov,
	                    .msg_iovlen = 1,
	                    .msg_control = &control,
	                    .msg_controllen = sizeof(control)};
	ssize_t n;

	do
		n = recvmsg(in->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC | MSG_TRUNC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? SM_NOTIFY_NONE : -1;
	close_passed_fds(&mh);
	if ((size_t)n > sizeof(buf) || (mh.msg_flags & MSG_CTRUNC) || !sender_trusted(in, &mh) ||
	    sm_notify_parse(buf, (size_t)n, msg) < 0)
		return SM_NOTIFY_DROPPED;
	return SM_NOTIFY_MSG;
}

void sm_notify_in_close(struct sm_notify_in *in)
{
	if (in->fd >= 0) {
		if (in->bound)
			(void)unlink(in->name);
		close(in->fd);
	}
	in->fd = -1;
	in->bound = false;
}
