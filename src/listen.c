/* listen: --bind addresses parsed at option time and bound as root before
 * the drop, plus the master's own activated sockets, as one ordered list. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sentrik/fd.h>
#include <sentrik/config.h>
#include <sentrik/listen.h>
#include <sentrik/log.h>
#include <sentrik/spawn.h>

static void say(char *err, size_t errlen, const char *fmt, ...) SM_ATTR_PRINTF(3, 4);

static void say(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static bool valid_hostname(const char *h)
{
	size_t len = strlen(h), i;

	if (len == 0 || len > 253 || h[0] == '-' || h[0] == '.')
		return false;
	for (i = 0; i < len; i++)
		if (!(isalnum((unsigned char)h[i]) || h[i] == '-' || h[i] == '.' || h[i] == '_'))
			return false;
	return true;
}

static bool all_digits_and_dots(const char *h)
{
	for (; *h; h++)
		if (!isdigit((unsigned char)*h) && *h != '.')
			return false;
	return true;
}

static int parse_port(const char *p, const char *text, struct sm_addr *addr, char *err,
                      size_t errlen)
{
	long port;

	if (sm_parse_uint(p, 0, 65535, &port) < 0) {
		say(err, errlen, "--bind: invalid port in '%s' (expected 0..65535)", text);
		return -1;
	}
	snprintf(addr->port, sizeof(addr->port), "%ld", port);
	return 0;
}

static int parse_v6(const char *text, struct sm_addr *addr, char *err, size_t errlen)
{
	const char *close = strchr(text, ']');
	char plain[INET6_ADDRSTRLEN];
	struct in6_addr in6;
	size_t len, plen;
	const char *pct;

	if (close == NULL || close[1] != ':') {
		say(err, errlen, "--bind: invalid address '%s' (expected [V6]:PORT)", text);
		return -1;
	}
	len = (size_t)(close - (text + 1));
	pct = memchr(text + 1, '%', len);
	plen = pct != NULL ? (size_t)(pct - (text + 1)) : len;
	if (len >= sizeof(addr->host) || plen >= sizeof(plain) ||
	    (pct != NULL && pct + 1 == close)) {
		say(err, errlen, "--bind: invalid IPv6 address in '%s'", text);
		return -1;
	}
	memcpy(plain, text + 1, plen);
	plain[plen] = '\0';
	if (inet_pton(AF_INET6, plain, &in6) != 1) {
		say(err, errlen, "--bind: invalid IPv6 address in '%s'", text);
		return -1;
	}
	addr->kind = SM_ADDR_V6;
	memcpy(addr->host, text + 1, len);
	addr->host[len] = '\0';
	return parse_port(close + 2, text, addr, err, errlen);
}

static int parse_host_port(const char *text, struct sm_addr *addr, char *err, size_t errlen)
{
	const char *colon = strrchr(text, ':');
	struct in_addr in4;
	size_t len;

	if (colon == NULL) {
		say(err, errlen,
		    "--bind: invalid address '%s' (expected HOST:PORT, :PORT, [V6]:PORT, unix:PATH "
		    "or fd:N)",
		    text);
		return -1;
	}
	if (memchr(text, ':', (size_t)(colon - text)) != NULL) {
		say(err, errlen,
		    "--bind: invalid address '%s' (an IPv6 address goes in brackets: "
		    "[V6]:PORT)",
		    text);
		return -1;
	}
	len = (size_t)(colon - text);
	if (len >= sizeof(addr->host)) {
		say(err, errlen, "--bind: host name too long in '%s'", text);
		return -1;
	}
	memcpy(addr->host, text, len);
	addr->host[len] = '\0';
	if (len == 0) {
		addr->kind = SM_ADDR_ANY;
	} else {
		addr->kind = SM_ADDR_HOST;
		if (all_digits_and_dots(addr->host) ? inet_pton(AF_INET, addr->host, &in4) != 1
		                                    : !valid_hostname(addr->host)) {
			say(err, errlen, "--bind: invalid host in '%s'", text);
			return -1;
		}
	}
	return parse_port(colon + 1, text, addr, err, errlen);
}

int sm_addr_parse(const char *text, struct sm_addr *addr, char *err, size_t errlen)
{
	memset(addr, 0, sizeof(*addr));
	addr->fd = -1;
	if (text == NULL || *text == '\0') {
		say(err, errlen, "--bind: empty address");
		return -1;
	}
	if (strncmp(text, "unix:", 5) == 0) {
		const char *path = text + 5;
		if (*path == '\0' || strlen(path) >= sizeof(addr->path)) {
			say(err, errlen, "--bind: invalid unix socket path in '%s' (1..%zu bytes)",
			    text, sizeof(addr->path) - 1);
			return -1;
		}
		addr->kind = SM_ADDR_UNIX;
		strcpy(addr->path, path);
		return 0;
	}
	if (strncmp(text, "fd:", 3) == 0) {
		long fd;
		if (sm_parse_uint(text + 3, 3, INT_MAX, &fd) < 0) {
			say(err, errlen,
			    "--bind: invalid descriptor in '%s' (expected fd:N, N >= 3)", text);
			return -1;
		}
		addr->kind = SM_ADDR_FD;
		addr->fd = (int)fd;
		return 0;
	}
	if (text[0] == '[')
		return parse_v6(text, addr, err, errlen);
	return parse_host_port(text, addr, err, errlen);
}

int sm_listen_activation(const char *listen_pid, const char *listen_fds, pid_t self)
{
	long pid, n;

	if (listen_pid == NULL || listen_fds == NULL)
		return 0;
	if (sm_parse_uint(listen_pid, 1, LONG_MAX, &pid) < 0) {
		errno = EINVAL;
		return -1;
	}
	if ((pid_t)pid != self)
		return 0;
	if (sm_parse_uint(listen_fds, 0, INT_MAX - 3, &n) < 0) {
		errno = EINVAL;
		return -1;
	}
	return (int)n;
}

void sm_listen_fdname(const char *names, size_t index, size_t n, char *out, size_t outlen)
{
	const char *p = names, *end;
	size_t count = 1, i;

	snprintf(out, outlen, "unknown");
	if (names == NULL || *names == '\0')
		return;
	for (i = 0; names[i]; i++)
		count += names[i] == ':';
	if (count != n)
		return;
	for (i = 0; i < index; i++)
		p = strchr(p, ':') + 1;
	end = strchr(p, ':');
	snprintf(out, outlen, "%.*s", (int)(end != NULL ? (size_t)(end - p) : strlen(p)), p);
}

void sm_listen_name_of(const char *text, char *out, size_t outlen)
{
	size_t i;

	for (i = 0; text[i] && i + 1 < outlen && i < SM_FDNAME_MAX; i++)
		out[i] = text[i] == ':' || text[i] < ' ' || text[i] > '~' ? '_' : text[i];
	if (outlen > 0)
		out[i] = '\0';
}

static int tcp_socket(int family, const struct sockaddr *sa, socklen_t salen, bool v6only,
                      const struct sm_listen_opts *opts)
{
	int one = 1, v6 = v6only ? 1 : 0;
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	/* REUSEADDR: a restart must not wait out the old TIME_WAIT sockets. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    (opts->reuse_port && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0) ||
	    (family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6, sizeof(v6)) < 0) ||
	    bind(fd, sa, salen) < 0 || listen(fd, opts->backlog) < 0) {
		int saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

/* ":PORT": one IPv6 socket that also takes IPv4, or plain IPv4 on a host
 * without IPv6. */
static int bind_any(const struct sm_addr *addr, const struct sm_listen_opts *opts)
{
	struct sockaddr_in6 in6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT};
	struct sockaddr_in in4 = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_ANY)};
	uint16_t port = (uint16_t)atoi(addr->port);
	int fd;

	in6.sin6_port = htons(port);
	in4.sin_port = htons(port);
	fd = tcp_socket(AF_INET6, (struct sockaddr *)&in6, sizeof(in6), false, opts);
	if (fd >= 0 || (errno != EAFNOSUPPORT && errno != EADDRNOTAVAIL))
		return fd;
	return tcp_socket(AF_INET, (struct sockaddr *)&in4, sizeof(in4), false, opts);
}

/* The addresses a host name stands for, as getaddrinfo gave them. */
#define SM_RESOLVED_MAX 16
struct resolved {
	int rc, err; /* getaddrinfo's result, errno for EAI_SYSTEM */
	size_t n;
	struct {
		int family;
		socklen_t len;
		struct sockaddr_storage sa;
	} addr[SM_RESOLVED_MAX];
};

struct lookup {
	const struct sm_addr *addr;
};

static void resolve_here(void *ctx, void *out)
{
	const struct sm_addr *addr = ((struct lookup *)ctx)->addr;
	struct resolved *r = out;
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
	                         .ai_flags = AI_PASSIVE | AI_NUMERICSERV |
	                                     (addr->kind == SM_ADDR_V6 ? AI_NUMERICHOST : 0)};
	struct addrinfo *res, *ai;

	memset(r, 0, sizeof(*r));
	hints.ai_family = addr->kind == SM_ADDR_V6 ? AF_INET6 : AF_UNSPEC;
	r->rc = getaddrinfo(addr->host, addr->port, &hints, &res);
	r->err = errno;
	if (r->rc != 0)
		return;
	for (ai = res; ai != NULL && r->n < SM_RESOLVED_MAX; ai = ai->ai_next) {
		if (ai->ai_addrlen > sizeof(r->addr[0].sa))
			continue;
		r->addr[r->n].family = ai->ai_family;
		r->addr[r->n].len = ai->ai_addrlen;
		memcpy(&r->addr[r->n].sa, ai->ai_addr, ai->ai_addrlen);
		r->n++;
	}
	freeaddrinfo(res);
}

/* A host name is looked up in a short-lived child, for the reason the user
 * lookups are (priv.c): the "hosts" line of nsswitch.conf may name modules
 * (mdns, myhostname, resolve) that would otherwise stay loaded in the
 * master.  A numeric IPv6 address needs no lookup. */
static int resolve(const struct sm_addr *addr, struct resolved *r)
{
	struct lookup l = {.addr = addr};

	if (addr->kind == SM_ADDR_V6) {
		resolve_here(&l, r);
		return 0;
	}
	return sm_spawn_call(resolve_here, &l, r, sizeof(*r));
}

static int bind_host(const struct sm_addr *addr, const char *text,
                     const struct sm_listen_opts *opts, enum sm_listen_result *why, char *err,
                     size_t errlen)
{
	struct resolved r;
	int fd = -1, first_errno = 0;
	size_t i;

	if (resolve(addr, &r) < 0) {
		*why = SM_LISTEN_OS;
		say(err, errlen, "cannot bind %s: cannot resolve '%s': the lookup process failed",
		    text, addr->host);
		return -1;
	}
	if (r.rc != 0) {
		bool os = r.rc == EAI_SYSTEM || r.rc == EAI_MEMORY || r.rc == EAI_AGAIN;

		*why = os ? SM_LISTEN_OS : SM_LISTEN_USAGE;
		say(err, errlen, "cannot bind %s: cannot resolve '%s': %s", text, addr->host,
		    r.rc == EAI_SYSTEM ? strerror(r.err) : gai_strerror(r.rc));
		return -1;
	}
	for (i = 0; i < r.n && fd < 0; i++) {
		fd = tcp_socket(r.addr[i].family, (struct sockaddr *)&r.addr[i].sa, r.addr[i].len,
		                true, opts);
		if (fd < 0 && first_errno == 0)
			first_errno = errno;
	}
	if (fd < 0) {
		*why = SM_LISTEN_OS;
		say(err, errlen, "cannot bind %s: %s", text, strerror(first_errno));
	}
	return fd;
}

/* A socket file left by a dead server is replaced; one somebody still
 * listens on, or a file that is not a socket, is not touched. */
static int clear_stale(const char *path, const char *text, char *err, size_t errlen)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct stat st;
	int probe, rc;

	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		say(err, errlen, "cannot bind %s: %s", text, strerror(errno));
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		say(err, errlen, "cannot bind %s: %s exists and is not a socket", text, path);
		return -1;
	}
	strcpy(sun.sun_path, path);
	if ((probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		say(err, errlen, "cannot bind %s: %s", text, strerror(errno));
		return -1;
	}
	rc = connect(probe, (struct sockaddr *)&sun, sizeof(sun));
	close(probe);
	if (rc == 0 || errno != ECONNREFUSED) {
		say(err, errlen, "cannot bind %s: %s", text,
		    rc == 0 ? "another process is listening on it" : strerror(errno));
		return -1;
	}
	if (unlink(path) < 0 && errno != ENOENT) {
		say(err, errlen, "cannot bind %s: cannot remove the stale socket: %s", text,
		    strerror(errno));
		return -1;
	}
	return 0;
}

static int bind_unix(const struct sm_addr *addr, const char *text,
                     const struct sm_listen_opts *opts, char *err, size_t errlen)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct stat st;
	mode_t old_mask;
	int fd, rc;

	if (clear_stale(addr->path, text, err, errlen) < 0)
		return -1;
	strcpy(sun.sun_path, addr->path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		goto fail;
	/* Created owner-only, then opened to the group: never wider meanwhile. */
	old_mask = umask(0177);
	rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old_mask);
	if (rc < 0)
		goto fail;
	if ((opts->uid != (uid_t)-1 || opts->gid != (gid_t)-1) &&
	    lchown(addr->path, opts->uid, opts->gid) < 0)
		goto fail_unlink;
	if (lstat(addr->path, &st) < 0 || !S_ISSOCK(st.st_mode) || chmod(addr->path, 0660) < 0 ||
	    listen(fd, opts->backlog) < 0)
		goto fail_unlink;
	return fd;
fail_unlink:
	rc = errno;
	(void)unlink(addr->path);
	errno = rc;
fail:
	rc = errno;
	say(err, errlen, "cannot bind %s: %s", text, strerror(rc));
	if (fd >= 0)
		close(fd);
	return -1;
}

static int take_fd(int fd, const char *text, const struct sm_listen_opts *opts,
                   enum sm_listen_result *why, char *err, size_t errlen)
{
	struct stat st;
	int type = 0, listening = 0;
	socklen_t len = sizeof(type);

	if (fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode)) {
		*why = SM_LISTEN_USAGE;
		say(err, errlen, "cannot use %s: %s", text,
		    errno == EBADF ? "no such open descriptor" : "not a socket");
		return -1;
	}
	if (sm_set_cloexec(fd, 1) < 0 || getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0)
		goto fail;
	len = sizeof(listening);
	/* A stream socket handed over unlistened is put to listen. */
	if ((type == SOCK_STREAM || type == SOCK_SEQPACKET) &&
	    getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == 0 && !listening &&
	    listen(fd, opts->backlog) < 0)
		goto fail;
	return fd;
fail:
	*why = SM_LISTEN_OS;
	say(err, errlen, "cannot use %s: %s", text, strerror(errno));
	return -1;
}

int sm_listen_bind(const struct sm_addr *addr, const char *text, const struct sm_listen_opts *opts,
                   enum sm_listen_result *why, char *err, size_t errlen)
{
	int fd;

	*why = SM_LISTEN_OS;
	switch (addr->kind) {
	case SM_ADDR_ANY:
		if ((fd = bind_any(addr, opts)) < 0)
			say(err, errlen, "cannot bind %s: %s", text, strerror(errno));
		return fd;
	case SM_ADDR_HOST:
	case SM_ADDR_V6:
		return bind_host(addr, text, opts, why, err, errlen);
	case SM_ADDR_UNIX:
		return bind_unix(addr, text, opts, err, errlen);
	case SM_ADDR_FD:
		return take_fd(addr->fd, text, opts, why, err, errlen);
	}
	errno = EINVAL;
	return -1;
}

static int add(struct sm_listeners *l, int fd, const char *text, const char *name)
{
	int *fds = realloc(l->fds, (l->n + 1) * sizeof(*fds));
	char **texts;
	size_t len = l->names != NULL ? strlen(l->names) : 0;
	char *names;

	if (fds == NULL)
		return -1;
	l->fds = fds;
	if ((texts = realloc(l->texts, (l->n + 1) * sizeof(*texts))) == NULL)
		return -1;
	l->texts = texts;
	if ((names = realloc(l->names, len + strlen(name) + 2)) == NULL)
		return -1;
	l->names = names;
	if ((l->texts[l->n] = strdup(text)) == NULL)
		return -1;
	if (len > 0)
		names[len++] = ':';
	strcpy(names + len, name);
	l->fds[l->n++] = fd;
	return 0;
}

static bool have_fd(const struct sm_listeners *l, int fd)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (l->fds[i] == fd)
			return true;
	return false;
}

/* The master's own socket activation; its variables are consumed. */
static enum sm_listen_result
take_activated(struct sm_listeners *l, const struct sm_listen_opts *opts, char *err, size_t errlen)
{
	const char *names = getenv("LISTEN_FDNAMES");
	int n = sm_listen_activation(getenv("LISTEN_PID"), getenv("LISTEN_FDS"), getpid());
	enum sm_listen_result why = SM_LISTEN_OK;
	char name[SM_FDNAME_MAX + 1], text[SM_FDNAME_MAX + 64];
	int i;

	if (n < 0) {
		say(err, errlen, "invalid LISTEN_FDS '%s' for this process", getenv("LISTEN_FDS"));
		return SM_LISTEN_USAGE;
	}
	for (i = 0; i < n; i++) {
		int fd = 3 + i;
		sm_listen_fdname(names, (size_t)i, (size_t)n, name, sizeof(name));
		snprintf(text, sizeof(text), "activated fd %d (%s)", fd, name);
		if (have_fd(l, fd))
			continue; /* already named by --bind fd:N */
		if (take_fd(fd, text, opts, &why, err, errlen) < 0)
			return why;
		if (add(l, fd, text, name) < 0) {
			say(err, errlen, "out of memory");
			return SM_LISTEN_OS;
		}
	}
	(void)unsetenv("LISTEN_PID");
	(void)unsetenv("LISTEN_FDS");
	(void)unsetenv("LISTEN_FDNAMES");
	return SM_LISTEN_OK;
}

enum sm_listen_result sm_listen_setup(struct sm_listeners *l, const struct sm_config *cfg,
                                      const struct sm_listen_opts *opts, char *err, size_t errlen)
{
	enum sm_listen_result why = SM_LISTEN_OK;
	char name[SM_FDNAME_MAX + 1];
	struct sm_addr addr;
	size_t i;
	int fd;

	memset(l, 0, sizeof(*l));
	for (i = 0; i < cfg->n_binds && why == SM_LISTEN_OK; i++) {
		if (sm_addr_parse(cfg->binds[i], &addr, err, errlen) < 0) {
			why = SM_LISTEN_USAGE;
			break;
		}
		if (addr.kind == SM_ADDR_FD && have_fd(l, addr.fd))
			continue;
		if ((fd = sm_listen_bind(&addr, cfg->binds[i], opts, &why, err, errlen)) < 0)
			break;
		sm_listen_name_of(cfg->binds[i], name, sizeof(name));
		if (add(l, fd, cfg->binds[i], name) < 0) {
			if (addr.kind != SM_ADDR_FD)
				close(fd);
			say(err, errlen, "out of memory");
			why = SM_LISTEN_OS;
			break;
		}
		why = SM_LISTEN_OK;
	}
	if (why == SM_LISTEN_OK)
		why = take_activated(l, opts, err, errlen);
	if (why != SM_LISTEN_OK)
		sm_listeners_close(l);
	return why;
}

void sm_listeners_close(struct sm_listeners *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		close(l->fds[i]);
		free(l->texts[i]);
	}
	free(l->fds);
	free(l->texts);
	free(l->names);
	memset(l, 0, sizeof(*l));
}
