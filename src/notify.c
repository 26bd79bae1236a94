/* notify: sd_notify without libsystemd.  A SOCK_DGRAM to NOTIFY_SOCKET
 * ("@" is the abstract namespace; the address length counts the bytes
 * used), and the parser for the same messages coming from workers. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

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
	*addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len +
			       (value[0] == '/' ? 1 : 0));
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
		r = sendto(n->fd, text, strlen(text), MSG_NOSIGNAL, (const struct sockaddr *)&n->addr,
			   n->addrlen);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -1 : 0;
}

void sm_notifier_close(struct sm_notifier *n)
{
	if (n->fd >= 0)
		close(n->fd);
	n->fd = -1;
}
