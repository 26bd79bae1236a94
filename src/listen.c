/* listen: the --bind addresses bound as root before the drop, plus the
 * master's own activated sockets, as one ordered list. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sentrik/fd.h>
#include <sentrik/listen.h>
#include <sentrik/log.h>
#include <sentrik/parse.h>
#include <sentrik/spawn.h>

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

/* Accepted connections inherit TCP_NODELAY from their listener.  An app
 * that binds its own port usually sets it; one that takes a socket as it
 * is (uvicorn --fd 3, most LISTEN_FDS apps) would otherwise meet Nagle's
 * algorithm with delayed ACKs: 40 ms stalls, 10-20x fewer requests/s.  A
 * socket handed over (fd:N, activation) gets it too when it is TCP. */
static int no_delay(int fd)
{
	int domain = 0, protocol = 0, one = 1;
	socklen_t len = sizeof(domain);

	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0 ||
	    (domain != AF_INET && domain != AF_INET6))
		return 0;
	len = sizeof(protocol);
	if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &protocol, &len) < 0 || protocol != IPPROTO_TCP)
		return 0;
	return setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static int tcp_socket(int family, const struct sockaddr *sa, socklen_t salen, bool v6only,
                      const struct sm_listen_opts *opts)
{
	int one = 1, v6 = v6only ? 1 : 0;
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	/* REUSEADDR: a restart must not wait out the old TIME_WAIT sockets.
	 * NODELAY: see no_delay(). */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0 ||
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

/* A bind the kernel refused.  EACCES on a low port is the one a newcomer
 * meets (not root, port 80): say both ways out. */
static int bind_failed(const struct sm_addr *addr, const char *text, int err, struct sm_error *e)
{
	if (err == EACCES && atoi(addr->port) < 1024 && geteuid() != 0)
		return sm_error_set(e, EX_OSERR,
		                    "cannot bind %s: %s (a port below 1024 needs root: start as "
		                    "root with --user USER, or use a port >= 1024)",
		                    text, strerror(err));
	return sm_error_set(e, EX_OSERR, "cannot bind %s: %s", text, strerror(err));
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
                     const struct sm_listen_opts *opts, struct sm_error *e)
{
	struct resolved r;
	int fd = -1, first_errno = 0;
	size_t i;

	if (resolve(addr, &r) < 0)
		return sm_error_set(
		    e, EX_OSERR, "cannot bind %s: cannot resolve '%s': %s", text, addr->host,
		    errno == ETIMEDOUT ? "the lookup did not finish within " SM_SPAWN_CALL_TEXT
		                       : "the lookup process failed");
	if (r.rc != 0) {
		/* A name that does not resolve is the operator's to fix; a
		 * resolver that could not answer is the system's. */
		bool os = r.rc == EAI_SYSTEM || r.rc == EAI_MEMORY || r.rc == EAI_AGAIN;

		return sm_error_set(e, os ? EX_OSERR : EX_USAGE,
		                    "cannot bind %s: cannot resolve '%s': %s", text, addr->host,
		                    r.rc == EAI_SYSTEM ? strerror(r.err) : gai_strerror(r.rc));
	}
	for (i = 0; i < r.n && fd < 0; i++) {
		fd = tcp_socket(r.addr[i].family, (struct sockaddr *)&r.addr[i].sa, r.addr[i].len,
		                true, opts);
		if (fd < 0 && first_errno == 0)
			first_errno = errno;
	}
	if (fd < 0)
		bind_failed(addr, text, first_errno, e);
	return fd;
}

/* The directory of a unix: socket, opened once: every later step names
 * the socket relative to it (the master's cwd moved there for the path
 * calls), so a symlink swapped into the path cannot send them elsewhere. */
struct sock_place {
	int dirfd, oldcwd;
	const char *name; /* the last component of the path */
};

static int enter_dir(const char *path, struct sock_place *p)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	const char *slash = strrchr(path, '/');

	p->dirfd = p->oldcwd = -1;
	p->name = slash != NULL ? slash + 1 : path;
	if (*p->name == '\0' || strcmp(p->name, ".") == 0 || strcmp(p->name, "..") == 0) {
		errno = EISDIR;
		return -1;
	}
	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else
		snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 : (int)(slash - path), path);
	if ((p->oldcwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    (p->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 || fchdir(p->dirfd) < 0)
		return -1;
	return 0;
}

static void leave_dir(struct sock_place *p)
{
	int saved = errno;

	if (p->oldcwd >= 0 && fchdir(p->oldcwd) < 0)
		sm_warn("cannot return to the working directory");
	if (p->oldcwd >= 0)
		close(p->oldcwd);
	if (p->dirfd >= 0)
		close(p->dirfd);
	errno = saved;
}

/* A socket file left by a dead server is replaced; one somebody still
 * listens on, or a file that is not a socket, is not touched. */
static int clear_stale(const struct sock_place *p, const char *text, struct sm_error *e)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct stat st;
	int probe, rc;

	if (fstatat(p->dirfd, p->name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return 0;
		return sm_error_set(e, EX_OSERR, "cannot bind %s: %s", text, strerror(errno));
	}
	if (!S_ISSOCK(st.st_mode))
		return sm_error_set(e, EX_OSERR, "cannot bind %s: %s exists and is not a socket",
		                    text, text + 5);
	strcpy(sun.sun_path, p->name);
	if ((probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return sm_error_set(e, EX_OSERR, "cannot bind %s: %s", text, strerror(errno));
	rc = connect(probe, (struct sockaddr *)&sun, sizeof(sun));
	close(probe);
	if (rc == 0 || errno != ECONNREFUSED)
		return sm_error_set(e, EX_OSERR, "cannot bind %s: %s", text,
		                    rc == 0 ? "another process is listening on it"
		                            : strerror(errno));
	if (unlinkat(p->dirfd, p->name, 0) < 0 && errno != ENOENT)
		return sm_error_set(e, EX_OSERR,
		                    "cannot bind %s: cannot remove the stale socket: %s", text,
		                    strerror(errno));
	return 0;
}

/* bind(2) with the umask that makes the socket file 0660 from the start:
 * no chmod after, which would follow whatever the name then is. */
static int bind_here(int fd, const char *name)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	mode_t old_mask = umask(0117);
	int rc;

	strcpy(sun.sun_path, name);
	rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old_mask);
	return rc;
}

/* The stale socket is gone: whatever has the name now was put there
 * meanwhile and is not replaced (where the file system can say so). */
static int move_into_place(int tmpfd, const struct sock_place *p)
{
	if (renameat2(tmpfd, p->name, p->dirfd, p->name, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL)
		return -1;
	return renameat(tmpfd, p->name, p->dirfd, p->name);
}

/* For USER: bound in a directory of root's own made inside the target's
 * (so a rename can move it), given to USER there, where nobody but root
 * can swap a link in, then renamed into place.  Root never changes the
 * owner of a name in a directory USER can write. */
static int bind_for_user(int fd, const struct sock_place *p, const struct sm_listen_opts *opts)
{
	char tmp[64];
	struct stat st;
	int tmpfd = -1, tries, rc = -1, saved;

	for (tries = 0; tries < 100; tries++) {
		snprintf(tmp, sizeof(tmp), ".sentrik-master.%ld.%d", (long)getpid(), tries);
		if (mkdirat(p->dirfd, tmp, 0700) == 0)
			break;
		if (errno != EEXIST)
			return -1;
	}
	if (tries == 100)
		return -1;
	tmpfd = openat(p->dirfd, tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	/* Swapped for one of USER's before we opened it: not ours to use. */
	if (tmpfd < 0 || fstat(tmpfd, &st) < 0 || st.st_uid != geteuid() ||
	    (st.st_mode & 077) != 0) {
		if (tmpfd >= 0)
			errno = EPERM;
		goto out;
	}
	if (fchdir(tmpfd) < 0 || bind_here(fd, p->name) < 0)
		goto out;
	if (fchownat(tmpfd, p->name, opts->uid, opts->gid, AT_SYMLINK_NOFOLLOW) < 0 ||
	    move_into_place(tmpfd, p) < 0) {
		saved = errno;
		(void)unlinkat(tmpfd, p->name, 0);
		errno = saved;
		goto out;
	}
	rc = 0;
out:
	if (fchdir(p->dirfd) < 0 && rc == 0)
		rc = -1;
	if (tmpfd >= 0)
		close(tmpfd);
	saved = errno;
	(void)unlinkat(p->dirfd, tmp, AT_REMOVEDIR);
	errno = saved;
	return rc;
}

static int bind_unix(const struct sm_addr *addr, const char *text,
                     const struct sm_listen_opts *opts, struct sm_error *e)
{
	struct sock_place p;
	int fd = -1, rc = -1;

	if (enter_dir(addr->path, &p) < 0) {
		sm_error_set(e, EX_OSERR, "cannot bind %s: %s", text, strerror(errno));
		goto out;
	}
	if (clear_stale(&p, text, e) < 0)
		goto out;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    ((opts->uid != (uid_t)-1 || opts->gid != (gid_t)-1) ? bind_for_user(fd, &p, opts)
	                                                        : bind_here(fd, p.name)) < 0) {
		sm_error_set(e, EX_OSERR, "cannot bind %s: %s", text, strerror(errno));
		goto out;
	}
	if (listen(fd, opts->backlog) < 0) {
		sm_error_set(e, EX_OSERR, "cannot bind %s: %s", text, strerror(errno));
		(void)unlinkat(p.dirfd, p.name, 0);
		goto out;
	}
	rc = 0;
out:
	leave_dir(&p);
	if (rc < 0 && fd >= 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* What a handed-over descriptor must be: a listening stream socket or a
 * datagram socket of the families workers serve; NULL when it is one. */
static const char *unusable_socket(int fd)
{
	int type = 0, domain = 0, listening = 0;
	socklen_t len = sizeof(int);
	struct stat st;

	if (fstat(fd, &st) < 0)
		return errno == EBADF ? "no such open descriptor" : strerror(errno);
	if (!S_ISSOCK(st.st_mode))
		return "not a socket";
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0 ||
	    (len = sizeof(int), getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0))
		return strerror(errno);
	if (domain != AF_INET && domain != AF_INET6 && domain != AF_UNIX)
		return "not an IPv4, IPv6 or unix socket";
	if (type == SOCK_DGRAM)
		return NULL;
	if (type != SOCK_STREAM)
		return "neither a stream nor a datagram socket";
	len = sizeof(int);
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) < 0)
		return strerror(errno);
	return listening ? NULL : "a stream socket that is not listening";
}

/* status: EX_USAGE for --bind fd:N (the operator named it), EX_OSERR for
 * a socket the service manager passed. */
static int take_fd(int fd, const char *text, int status, struct sm_error *e)
{
	const char *why = unusable_socket(fd);

	if (why != NULL)
		return sm_error_set(e, status, "cannot use %s: %s", text, why);
	if (sm_set_cloexec(fd, 1) < 0 || no_delay(fd) < 0)
		return sm_error_set(e, EX_OSERR, "cannot use %s: %s", text, strerror(errno));
	return fd;
}

int sm_listen_bind(const struct sm_addr *addr, const char *text, const struct sm_listen_opts *opts,
                   struct sm_error *e)
{
	int fd;

	switch (addr->kind) {
	case SM_ADDR_ANY:
		if ((fd = bind_any(addr, opts)) < 0)
			bind_failed(addr, text, errno, e);
		return fd;
	case SM_ADDR_HOST:
	case SM_ADDR_V6:
		return bind_host(addr, text, opts, e);
	case SM_ADDR_UNIX:
		return bind_unix(addr, text, opts, e);
	case SM_ADDR_FD:
		return take_fd(addr->fd, text, EX_USAGE, e);
	}
	errno = EINVAL;
	return sm_error_set(e, EX_OSERR, "cannot bind %s: %s", text, strerror(errno));
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
static int take_activated(struct sm_listeners *l, struct sm_error *e)
{
	const char *names = getenv("LISTEN_FDNAMES");
	int n = sm_listen_activation(getenv("LISTEN_PID"), getenv("LISTEN_FDS"), getpid());
	char name[SM_FDNAME_MAX + 1], text[SM_FDNAME_MAX + 64];
	int i;

	if (n < 0)
		return sm_error_set(e, EX_USAGE, "invalid LISTEN_FDS '%s' for this process",
		                    getenv("LISTEN_FDS"));
	for (i = 0; i < n; i++) {
		int fd = 3 + i;
		sm_listen_fdname(names, (size_t)i, (size_t)n, name, sizeof(name));
		snprintf(text, sizeof(text), "activated fd %d (%s)", fd, name);
		if (have_fd(l, fd))
			continue; /* already named by --bind fd:N */
		if (take_fd(fd, text, EX_OSERR, e) < 0)
			return -1;
		if (add(l, fd, text, name) < 0)
			return sm_error_set(e, EX_OSERR, "out of memory");
	}
	(void)unsetenv("LISTEN_PID");
	(void)unsetenv("LISTEN_FDS");
	(void)unsetenv("LISTEN_FDNAMES");
	return 0;
}

static int bind_all(struct sm_listeners *l, char *const *binds, size_t n_binds,
                    const struct sm_listen_opts *opts, struct sm_error *e)
{
	char name[SM_FDNAME_MAX + 1];
	struct sm_addr addr;
	size_t i;
	int fd;

	for (i = 0; i < n_binds; i++) {
		if (sm_addr_parse(binds[i], &addr, e) < 0)
			return -1;
		if (addr.kind == SM_ADDR_FD && have_fd(l, addr.fd))
			continue;
		if ((fd = sm_listen_bind(&addr, binds[i], opts, e)) < 0)
			return -1;
		sm_listen_name_of(binds[i], name, sizeof(name));
		if (add(l, fd, binds[i], name) < 0) {
			if (addr.kind != SM_ADDR_FD)
				close(fd);
			return sm_error_set(e, EX_OSERR, "out of memory");
		}
	}
	return 0;
}

/* Activated descriptors past this are not kept: no service manager
 * passes that many, and take_activated refuses the count anyway. */
#define SM_ACTIVATED_MAX 4096

void sm_listen_close_inherited(char *const *binds, size_t n_binds)
{
	int n = sm_listen_activation(getenv("LISTEN_PID"), getenv("LISTEN_FDS"), getpid());
	size_t n_keep = 0, i;
	struct sm_addr addr;
	struct sm_error e;
	int *keep;

	if (n < 0 || n > SM_ACTIVATED_MAX)
		n = 0;
	/* Without memory nothing is closed: the start fails soon after. */
	if ((keep = calloc(n_binds + (size_t)n + 1, sizeof(*keep))) == NULL)
		return;
	for (i = 0; i < n_binds; i++)
		if (sm_addr_parse(binds[i], &addr, &e) == 0 && addr.kind == SM_ADDR_FD)
			keep[n_keep++] = addr.fd;
	for (i = 0; i < (size_t)n; i++)
		keep[n_keep++] = 3 + (int)i;
	sm_fd_close_except(keep, n_keep);
	free(keep);
}

int sm_listen_setup(struct sm_listeners *l, char *const *binds, size_t n_binds,
                    const struct sm_listen_opts *opts, struct sm_error *e)
{
	memset(l, 0, sizeof(*l));
	if (bind_all(l, binds, n_binds, opts, e) < 0 || take_activated(l, e) < 0) {
		sm_listeners_close(l);
		return -1;
	}
	return 0;
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
