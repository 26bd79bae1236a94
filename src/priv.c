/* priv: the root phase in SPEC order — resolve USER and GROUP, check the
 * required environment, prepare --chown paths, check every path the
 * service writes as USER, drop once and prove it, write the pid file. */
#include <cap-ng.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sentrik/fd.h>
#include <sentrik/log.h>
#include <sentrik/priv.h>
#include <sentrik/spawn.h>

/* ------------------------------------------------------------------ */
/* report */

void sm_report_step(struct sm_report *rep, enum sm_priv_status st, const char *step,
                    const char *fix, const char *fmt, ...)
{
	char what[sizeof(rep->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (rep->out != NULL) {
		fprintf(rep->out, "%-4s  %-9s %s\n", st == SM_PRIV_OK ? "ok" : "FAIL", step, what);
		if (st != SM_PRIV_OK && fix != NULL)
			fprintf(rep->out, "%16s %s\n", "fix:", fix);
	} else if (st == SM_PRIV_OK) {
		sm_debug("%s: %s", step, what);
	}
	if (st != SM_PRIV_OK && rep->first == SM_PRIV_OK) {
		rep->first = st;
		size_t n = strlen(what);
		if (n >= sizeof(rep->msg))
			n = sizeof(rep->msg) - 1;
		memcpy(rep->msg, what, n);
		rep->msg[n] = '\0';
		if (fix != NULL && n + 8 + strlen(fix) < sizeof(rep->msg))
			strcat(strcat(rep->msg, "; fix: "), fix);
	}
}

bool sm_report_stop(const struct sm_report *rep)
{
	return rep->out == NULL && rep->first != SM_PRIV_OK;
}

/* ------------------------------------------------------------------ */
/* users and groups */

enum sm_id_kind sm_priv_parse_id(const char *s, unsigned long *number)
{
	const char *p;
	unsigned long v;
	char *end;

	if (s == NULL || *s == '\0' || *s == '-')
		return SM_ID_INVALID;
	for (p = s; *p != '\0'; p++)
		if (*p == ':' || *p == '/' || iscntrl((unsigned char)*p) ||
		    isspace((unsigned char)*p))
			return SM_ID_INVALID;
	for (p = s; isdigit((unsigned char)*p); p++)
		;
	if (*p != '\0')
		return SM_ID_NAME;
	errno = 0;
	v = strtoul(s, &end, 10);
	/* (uid_t)-1 means "unchanged" to the kernel: never a real id. */
	if (errno != 0 || *end != '\0' || v >= UINT32_MAX)
		return SM_ID_INVALID;
	*number = v;
	return SM_ID_NUMBER;
}

/* getpwnam_r/getpwuid_r with a buffer that grows on ERANGE.  1 found,
 * 0 no such entry, -1 with errno on a lookup failure. */
static int lookup_passwd(const char *name, uid_t uid, struct passwd *pw, char **buf)
{
	size_t size = 1024;
	struct passwd *res;
	int rc;

	for (;;) {
		char *more = realloc(*buf, size);
		if (more == NULL)
			return -1;
		*buf = more;
		rc = name != NULL ? getpwnam_r(name, pw, *buf, size, &res)
		                  : getpwuid_r(uid, pw, *buf, size, &res);
		if (rc != ERANGE)
			break;
		if (size > 1 << 20) {
			errno = ERANGE;
			return -1;
		}
		size *= 2;
	}
	if (rc == 0)
		return res != NULL;
	if (rc == ENOENT || rc == ESRCH)
		return 0; /* "no such entry" as some NSS modules say it */
	errno = rc;
	return -1;
}

static int lookup_group(const char *name, gid_t *gid)
{
	size_t size = 1024;
	struct group gr, *res;
	char *buf = NULL;
	int rc;

	for (;;) {
		char *more = realloc(buf, size);
		if (more == NULL) {
			free(buf);
			return -1;
		}
		buf = more;
		rc = getgrnam_r(name, &gr, buf, size, &res);
		if (rc != ERANGE || size > 1 << 20)
			break;
		size *= 2;
	}
	if (rc == 0 && res != NULL)
		*gid = gr.gr_gid;
	free(buf);
	if (rc == 0)
		return res != NULL;
	if (rc == ENOENT || rc == ESRCH)
		return 0;
	errno = rc;
	return -1;
}

static int user_groups(const char *name, gid_t gid, struct sm_identity *id)
{
	int n = SM_PRIV_MAX_GROUPS;

	if (getgrouplist(name, gid, id->groups, &n) < 0) {
		errno = E2BIG;
		return -1;
	}
	id->n_groups = (size_t)n;
	return 0;
}

static void format_groups(const struct sm_identity *id, char *buf, size_t len)
{
	size_t i, o = 0;

	buf[0] = '\0';
	for (i = 0; i < id->n_groups && o + 12 < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s%lu", i ? "," : "",
		                      (unsigned long)id->groups[i]);
	if (id->n_groups == 0)
		snprintf(buf, len, "none");
}

static enum sm_priv_status resolve_current(struct sm_identity *id, struct sm_report *rep)
{
	int n;

	id->uid = geteuid();
	id->gid = getegid();
	snprintf(id->name, sizeof(id->name), "%lu", (unsigned long)id->uid);
	snprintf(id->home, sizeof(id->home), "/");
	if (id->uid == 0) {
		id->mode = SM_ID_ROOT;
		sm_report_step(rep, SM_PRIV_OK, "user", NULL,
		               "root mode (no --user given): master and workers keep uid 0");
		return SM_PRIV_OK;
	}
	id->mode = SM_ID_KEEP;
	n = getgroups(SM_PRIV_MAX_GROUPS, id->groups);
	if (n < 0) {
		sm_report_step(rep, SM_PRIV_SYSTEM, "user", NULL, "cannot read our groups: %s",
		               strerror(errno));
		return SM_PRIV_SYSTEM;
	}
	id->n_groups = (size_t)n;
	sm_report_step(rep, SM_PRIV_OK, "user", NULL,
	               "started as uid %lu gid %lu: no switch; capabilities are shed",
	               (unsigned long)id->uid, (unsigned long)id->gid);
	return SM_PRIV_OK;
}

/* Started non-root: the only identity we can run as is our own. */
static enum sm_priv_status keep_identity(const struct sm_config *cfg, struct sm_identity *id,
                                         struct sm_report *rep)
{
	uid_t uid = geteuid();
	gid_t gid = getegid();
	int n;

	if (id->uid != uid) {
		sm_report_step(rep, SM_PRIV_DENIED, "user",
		               "start as root, or drop --user to run as the current user",
		               "running as uid %lu, cannot switch to uid %lu", (unsigned long)uid,
		               (unsigned long)id->uid);
		return SM_PRIV_DENIED;
	}
	if (cfg->group != NULL && id->gid != gid) {
		sm_report_step(rep, SM_PRIV_DENIED, "user",
		               "start as root, or drop --group to keep the current group",
		               "running as gid %lu, cannot switch to gid %lu", (unsigned long)gid,
		               (unsigned long)id->gid);
		return SM_PRIV_DENIED;
	}
	id->mode = SM_ID_KEEP;
	id->gid = gid;
	if ((n = getgroups(SM_PRIV_MAX_GROUPS, id->groups)) < 0) {
		sm_report_step(rep, SM_PRIV_SYSTEM, "user", NULL, "cannot read our groups: %s",
		               strerror(errno));
		return SM_PRIV_SYSTEM;
	}
	id->n_groups = (size_t)n;
	return SM_PRIV_OK;
}

static const char no_setpcap[] = "cannot clear the capability bounding set without CAP_SETPCAP, "
                                 "and --allow-new-privs would let it matter";

/* Root whose capabilities were taken away (a container with SETUID and
 * SETGID dropped) cannot switch: say so before anything is changed. */
static enum sm_priv_status can_switch(const struct sm_config *cfg, const struct sm_identity *id,
                                      struct sm_report *rep)
{
	if (capng_get_caps_process() < 0) {
		sm_report_step(rep, SM_PRIV_SYSTEM, "user", NULL,
		               "cannot read our capabilities: %s", strerror(errno));
		return SM_PRIV_SYSTEM;
	}
	if (cfg->allow_new_privs && !capng_have_capability(CAPNG_PERMITTED, CAP_SETPCAP)) {
		sm_report_step(rep, SM_PRIV_DENIED, "user",
		               "give the container CAP_SETPCAP, or leave out --allow-new-privs",
		               "%s", no_setpcap);
		return SM_PRIV_DENIED;
	}
	if (capng_have_capability(CAPNG_PERMITTED, CAP_SETUID) &&
	    capng_have_capability(CAPNG_PERMITTED, CAP_SETGID))
		return SM_PRIV_OK;
	sm_report_step(rep, SM_PRIV_DENIED, "user",
	               "give the container CAP_SETUID and CAP_SETGID, or start it as the user",
	               "running as root without CAP_SETUID and CAP_SETGID: cannot switch to "
	               "uid %lu gid %lu",
	               (unsigned long)id->uid, (unsigned long)id->gid);
	return SM_PRIV_DENIED;
}

static enum sm_priv_status resolve_here(const struct sm_config *cfg, struct sm_identity *id,
                                        struct sm_report *rep)
{
	struct passwd pw;
	char *buf = NULL, groups[512];
	unsigned long number = 0;
	enum sm_id_kind kind;
	enum sm_priv_status st = SM_PRIV_OK;
	int found;

	memset(id, 0, sizeof(*id));
	if (cfg->user == NULL) {
		if (cfg->group != NULL) {
			sm_report_step(rep, SM_PRIV_USAGE, "user", NULL,
			               "--group: '%s' needs --user", cfg->group);
			return SM_PRIV_USAGE;
		}
		return resolve_current(id, rep);
	}
	kind = sm_priv_parse_id(cfg->user, &number);
	if (kind == SM_ID_INVALID) {
		sm_report_step(rep, SM_PRIV_USAGE, "user", NULL, "--user: invalid value '%s'",
		               cfg->user);
		return SM_PRIV_USAGE;
	}
	found = lookup_passwd(kind == SM_ID_NAME ? cfg->user : NULL, (uid_t)number, &pw, &buf);
	if (found < 0) {
		sm_report_step(rep, SM_PRIV_SYSTEM, "user", NULL, "--user: cannot look up '%s': %s",
		               cfg->user, strerror(errno));
		st = SM_PRIV_SYSTEM;
		goto done;
	}
	if (!found && kind == SM_ID_NAME) {
		sm_report_step(rep, SM_PRIV_NO_SUCH_ID, "user",
		               "create the user, or give a numeric uid",
		               "--user: unknown user '%s'", cfg->user);
		st = SM_PRIV_NO_SUCH_ID;
		goto done;
	}
	id->has_passwd = found;
	id->set_env = true;
	if (found) {
		id->uid = pw.pw_uid;
		id->gid = pw.pw_gid;
		snprintf(id->name, sizeof(id->name), "%s", pw.pw_name);
		snprintf(id->home, sizeof(id->home), "%s",
		         pw.pw_dir != NULL && pw.pw_dir[0] != '\0' ? pw.pw_dir : "/");
	} else {
		/* A uid with no entry (runAsUser: 5000): its own group, home "/". */
		id->uid = (uid_t)number;
		id->gid = (gid_t)number;
		snprintf(id->name, sizeof(id->name), "%lu", number);
		snprintf(id->home, sizeof(id->home), "/");
	}
	if (cfg->group != NULL) {
		kind = sm_priv_parse_id(cfg->group, &number);
		if (kind == SM_ID_INVALID) {
			sm_report_step(rep, SM_PRIV_USAGE, "user", NULL,
			               "--group: invalid value '%s'", cfg->group);
			st = SM_PRIV_USAGE;
			goto done;
		}
		if (kind == SM_ID_NUMBER) {
			id->gid = (gid_t)number;
		} else if ((found = lookup_group(cfg->group, &id->gid)) <= 0) {
			st = found < 0 ? SM_PRIV_SYSTEM : SM_PRIV_NO_SUCH_ID;
			sm_report_step(rep, st, "user",
			               found < 0 ? NULL : "create the group, or give a numeric gid",
			               found < 0 ? "--group: cannot look up '%s'"
			                         : "--group: unknown group '%s'",
			               cfg->group);
			goto done;
		}
	}
	if (id->has_passwd && user_groups(id->name, id->gid, id) < 0) {
		sm_report_step(rep, SM_PRIV_SYSTEM, "user", NULL,
		               "--user: '%s' is in more than %d groups", id->name,
		               SM_PRIV_MAX_GROUPS);
		st = SM_PRIV_SYSTEM;
		goto done;
	}
	if (geteuid() != 0)
		st = keep_identity(cfg, id, rep);
	else if ((id->mode = id->uid == 0 ? SM_ID_ROOT : SM_ID_DROP) == SM_ID_DROP)
		st = can_switch(cfg, id, rep);
	if (st == SM_PRIV_OK) {
		format_groups(id, groups, sizeof(groups));
		sm_report_step(rep, SM_PRIV_OK, "user", NULL,
		               "%s (uid %lu, gid %lu, groups %s, HOME=%s%s)%s", id->name,
		               (unsigned long)id->uid, (unsigned long)id->gid, groups, id->home,
		               id->has_passwd ? "" : ", no passwd entry",
		               id->mode == SM_ID_ROOT   ? ": root mode, no drop"
		               : id->mode == SM_ID_KEEP ? ": already running as it"
		                                        : "");
	}
done:
	free(buf);
	return st;
}

/* What the lookup child hands back: plain numbers and names. */
struct resolved {
	enum sm_priv_status st;
	struct sm_identity id;
	struct sm_report rep;
};

struct lookup {
	const struct sm_config *cfg;
	const struct sm_report *rep;
};

static void resolve_in_child(void *ctx, void *out)
{
	const struct lookup *l = ctx;
	struct resolved *r = out;

	memset(r, 0, sizeof(*r));
	r->rep = *l->rep;
	r->st = resolve_here(l->cfg, &r->id, &r->rep);
	if (r->rep.out != NULL)
		fflush(r->rep.out);
	r->rep.out = NULL;
}

/* The user and group databases are read in a short-lived child.  NSS loads
 * modules (systemd, sss, ldap) with their own libraries, sockets and, for
 * some, threads; a master that stays up for months, often as PID 1, and
 * forks its workers should carry none of that.  (With "passwd: files
 * systemd" the lookups alone map about 700 KiB of libraries.) */
enum sm_priv_status sm_priv_resolve(const struct sm_config *cfg, struct sm_identity *id,
                                    struct sm_report *rep)
{
	struct lookup l = {.cfg = cfg, .rep = rep};
	struct resolved r;

	/* Without --user nothing is looked up: no child needed. */
	if (cfg->user == NULL)
		return resolve_here(cfg, id, rep);
	memset(id, 0, sizeof(*id));
	if (rep->out != NULL)
		fflush(rep->out);
	fflush(stdout);
	if (sm_spawn_call(resolve_in_child, &l, &r, sizeof(r)) < 0) {
		sm_report_step(rep, SM_PRIV_SYSTEM, "user", NULL,
		               "the process looking up --user/--group failed: %s", strerror(errno));
		return SM_PRIV_SYSTEM;
	}
	*id = r.id;
	r.rep.out = rep->out;
	*rep = r.rep;
	return r.st;
}

/* ------------------------------------------------------------------ */
/* required environment */

enum sm_priv_status sm_priv_check_env(const struct sm_config *cfg, char *const *env,
                                      struct sm_report *rep)
{
	enum sm_priv_status st = SM_PRIV_OK;
	struct sm_env vars;
	size_t i;

	if (sm_env_init(&vars, env, NULL) < 0) {
		sm_report_step(rep, SM_PRIV_SYSTEM, "env", NULL, "out of memory");
		return SM_PRIV_SYSTEM;
	}
	for (i = 0; i < cfg->n_require_env && !sm_report_stop(rep); i++) {
		const struct sm_require_env *r = &cfg->require_env[i];
		const char *v = sm_env_get(&vars, r->name);

		if (v == NULL || *v == '\0') {
			sm_report_step(rep, SM_PRIV_ENV, "env", NULL, "%s must be set", r->name);
			st = SM_PRIV_ENV;
		} else if (r->forbidden != NULL && strcmp(v, r->forbidden) == 0) {
			sm_report_step(rep, SM_PRIV_ENV, "env", NULL,
			               "%s must be changed from its default", r->name);
			st = SM_PRIV_ENV;
		} else {
			sm_report_step(rep, SM_PRIV_OK, "env", NULL, "%s is set%s", r->name,
			               r->forbidden != NULL ? " and not its default" : "");
		}
	}
	sm_env_free(&vars);
	return st;
}

/* ------------------------------------------------------------------ */
/* the path walker */

static int walk_fail(struct sm_walk *w, enum sm_walk_fail why, int err, int fd)
{
	if (fd >= 0)
		close(fd);
	w->fail = why;
	w->err = err;
	w->fd = -1;
	return -1;
}

/* Why openat of a component failed: a symlink, a non-directory, or errno. */
static int classify(struct sm_walk *w, int dirfd, const char *name, int err)
{
	struct stat st;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (S_ISLNK(st.st_mode))
			return walk_fail(w, SM_WALK_SYMLINK, ELOOP, dirfd);
		if (err == ENOTDIR)
			return walk_fail(w, SM_WALK_NOTDIR, ENOTDIR, dirfd);
	}
	return walk_fail(w, SM_WALK_ERRNO, err, dirfd);
}

/* The last component: looked at through O_PATH first so that a device or
 * FIFO is never opened, then opened for real and checked to be the same. */
static int open_last(struct sm_walk *w, int dirfd, const char *name)
{
	struct stat before, after;
	int pfd, fd;

	pfd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (pfd < 0)
		return -1;
	if (fstat(pfd, &before) < 0) {
		close(pfd);
		return walk_fail(w, SM_WALK_ERRNO, errno, dirfd);
	}
	close(pfd);
	if (S_ISLNK(before.st_mode))
		return walk_fail(w, SM_WALK_SYMLINK, ELOOP, dirfd);
	if (!S_ISDIR(before.st_mode) && !S_ISREG(before.st_mode))
		return walk_fail(w, SM_WALK_TYPE, EINVAL, dirfd);
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return classify(w, dirfd, name, errno);
	if (fstat(fd, &after) < 0 || after.st_dev != before.st_dev ||
	    after.st_ino != before.st_ino) {
		close(fd);
		return walk_fail(w, SM_WALK_ERRNO, EAGAIN, dirfd);
	}
	return fd;
}

int sm_priv_walk(const char *path, bool create, mode_t dir_mode, struct sm_walk *w)
{
	char buf[SM_PRIV_PATH_MAX];
	size_t at_len = 0, len;
	char *p, *comp;
	int fd, next;

	memset(w, 0, sizeof(*w));
	w->fd = -1;
	len = strlen(path);
	if (path[0] != '/' || len >= sizeof(buf)) {
		snprintf(w->at, sizeof(w->at), "%s", path);
		return walk_fail(w, SM_WALK_BADNAME, EINVAL, -1);
	}
	memcpy(buf, path, len + 1);
	/* Trailing slashes name the same directory. */
	while (len > 1 && buf[len - 1] == '/')
		buf[--len] = '\0';
	if ((fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return walk_fail(w, SM_WALK_ERRNO, errno, -1);
	p = buf + 1;
	if (*p == '\0') {
		snprintf(w->at, sizeof(w->at), "/");
		return walk_fail(w, SM_WALK_BADNAME, EINVAL, fd);
	}
	while (p != NULL && *p != '\0') {
		bool last, made = false;
		comp = p;
		p = strchr(p, '/');
		if (p != NULL)
			*p++ = '\0';
		while (p != NULL && *p == '/')
			p++;
		last = p == NULL || *p == '\0';
		if (strcmp(comp, ".") == 0 && !last)
			continue;
		at_len += (size_t)snprintf(w->at + at_len, sizeof(w->at) - at_len, "/%s", comp);
		if (strcmp(comp, "..") == 0 || strcmp(comp, ".") == 0)
			return walk_fail(w, SM_WALK_BADNAME, EINVAL, fd);
		next = last ? open_last(w, fd, comp)
		            : openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0 && w->fail != SM_WALK_OK)
			return -1; /* open_last already said why */
		if (next < 0 && errno == ENOENT) {
			if (!create) {
				w->missing = true;
				close(fd);
				return 0;
			}
			if (mkdirat(fd, comp, 0700) == 0)
				made = true;
			else if (errno != EEXIST)
				return walk_fail(w, SM_WALK_ERRNO, errno, fd);
			next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			/* Made 0700 first, opened without following, then given its
			 * real mode: nobody can slip in between. */
			if (next >= 0 && made && fchmod(next, last ? dir_mode : 0755) < 0) {
				int err = errno;
				close(next);
				return walk_fail(w, SM_WALK_ERRNO, err, fd);
			}
			w->created = last && made;
		}
		if (next < 0)
			return classify(w, fd, comp, errno);
		close(fd);
		fd = next;
	}
	w->fd = fd;
	return 0;
}

int sm_priv_chown_path(const char *path, uid_t uid, gid_t gid, mode_t mode, struct sm_walk *w)
{
	if (sm_priv_walk(path, true, mode, w) < 0)
		return -1;
	if (fchown(w->fd, uid, gid) < 0 || fchmod(w->fd, mode) < 0)
		return walk_fail(w, SM_WALK_ERRNO, errno, w->fd);
	close(w->fd);
	w->fd = -1;
	return 0;
}

static void walk_message(const char *path, const struct sm_walk *w, char *what, size_t len,
                         const char **fix)
{
	switch (w->fail) {
	case SM_WALK_SYMLINK:
		snprintf(what, len, "--chown %s: %s is a symlink, refusing to follow it", path,
		         w->at);
		*fix = "point --chown at the real directory, or remove the symlink";
		break;
	case SM_WALK_NOTDIR:
		snprintf(what, len, "--chown %s: %s is not a directory", path, w->at);
		*fix = "remove it or choose another path";
		break;
	case SM_WALK_TYPE:
		snprintf(what, len, "--chown %s: neither a directory nor a regular file", path);
		*fix = "choose a directory or a regular file";
		break;
	case SM_WALK_BADNAME:
		snprintf(what, len,
		         "--chown %s: not a path that can be given away ('/', '.' or '..')", path);
		*fix = "give an absolute path without '.' or '..' components";
		break;
	default:
		snprintf(what, len, "--chown %s: cannot create or change %s: %s", path, w->at,
		         strerror(w->err));
		*fix = NULL;
		break;
	}
}

enum sm_priv_status sm_priv_prepare_paths(const struct sm_config *cfg, const struct sm_identity *id,
                                          struct sm_report *rep)
{
	char what[2 * SM_PRIV_PATH_MAX + 128];
	enum sm_priv_status st = SM_PRIV_OK;
	const char *fix;
	struct sm_walk w;
	size_t i;

	if (id->mode == SM_ID_KEEP)
		return SM_PRIV_OK; /* not root: the preflight verifies them */
	for (i = 0; i < cfg->n_chowns && !sm_report_stop(rep); i++) {
		const struct sm_chown *c = &cfg->chowns[i];
		int rc = rep->out != NULL
		             ? sm_priv_walk(c->path, false, c->mode, &w)
		             : sm_priv_chown_path(c->path, id->uid, id->gid, c->mode, &w);
		if (rc < 0) {
			walk_message(c->path, &w, what, sizeof(what), &fix);
			sm_report_step(rep, SM_PRIV_PATH, "chown", fix, "%s", what);
			st = SM_PRIV_PATH;
			continue;
		}
		if (w.fd >= 0)
			close(w.fd);
		sm_report_step(rep, SM_PRIV_OK, "chown", NULL, "%s %s %lu:%lu mode %04o", c->path,
		               rep->out == NULL ? (w.created ? "created and given to" : "given to")
		               : w.missing      ? "will be created and given to"
		                                : "will be given to",
		               (unsigned long)id->uid, (unsigned long)id->gid, (unsigned)c->mode);
	}
	return st;
}

/* ------------------------------------------------------------------ */
/* the drop and its proof */

static const char *change_id_error(int rc)
{
	switch (rc) {
	case -1:
		return "libcap-ng not initialised";
	case -2:
		return "cannot keep capabilities across the uid change";
	case -3:
		return "cannot apply the intermediate capabilities";
	case -4:
		return "cannot change the gid";
	case -5:
		return "cannot set the supplementary groups";
	case -6:
		return "cannot change the uid";
	case -7:
		return "cannot stop keeping capabilities";
	case -8:
		return "cannot clear the bounding set";
	case -9:
		return "cannot drop the remaining capabilities";
	case -10:
		return "cannot find the passwd entry to initialise the groups";
	default:
		return "unknown failure";
	}
}

static int status_line(const char *status, const char *key, char *out, size_t len)
{
	size_t klen = strlen(key);
	const char *p = status;

	while (p != NULL && *p != '\0') {
		if (strncmp(p, key, klen) == 0 && p[klen] == ':') {
			const char *v = p + klen + 1, *end = strchr(v, '\n');
			size_t n = end != NULL ? (size_t)(end - v) : strlen(v);
			while (n > 0 && (*v == '\t' || *v == ' ')) {
				v++;
				n--;
			}
			if (n >= len)
				n = len - 1;
			memcpy(out, v, n);
			out[n] = '\0';
			return 0;
		}
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	return -1;
}

static bool all_ids(const char *line, unsigned long want)
{
	unsigned long v[4];
	int i;

	if (sscanf(line, "%lu %lu %lu %lu", &v[0], &v[1], &v[2], &v[3]) != 4)
		return false;
	for (i = 0; i < 4; i++)
		if (v[i] != want)
			return false;
	return true;
}

static bool in_list(const gid_t *list, size_t n, gid_t g)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (list[i] == g)
			return true;
	return false;
}

/* Same set (order and repeats aside): the kernel lists each group once,
 * getgrouplist may repeat the primary one. */
static bool same_groups(const char *line, const struct sm_identity *id)
{
	gid_t seen[SM_PRIV_MAX_GROUPS];
	size_t n = 0, i;
	const char *p = line;
	char *end;

	while (*p != '\0') {
		unsigned long g;
		if (*p == ' ' || *p == '\t') {
			p++;
			continue;
		}
		g = strtoul(p, &end, 10);
		if (end == p || n == SM_PRIV_MAX_GROUPS)
			return false;
		seen[n++] = (gid_t)g;
		p = end;
	}
	for (i = 0; i < n; i++)
		if (!in_list(id->groups, id->n_groups, seen[i]))
			return false;
	for (i = 0; i < id->n_groups; i++)
		if (!in_list(seen, n, id->groups[i]))
			return false;
	return true;
}

int sm_priv_verify_status(const char *status, const struct sm_identity *id, bool check_bounding,
                          int no_new_privs, char *why, size_t whylen)
{
	static const char *const caps[] = {"CapInh", "CapPrm", "CapEff", "CapAmb", "CapBnd"};
	char line[4096];
	size_t i;

	if (status_line(status, "Uid", line, sizeof(line)) < 0 || !all_ids(line, id->uid)) {
		snprintf(why, whylen, "Uid is '%s', not %lu in all four fields", line,
		         (unsigned long)id->uid);
		return -1;
	}
	if (status_line(status, "Gid", line, sizeof(line)) < 0 || !all_ids(line, id->gid)) {
		snprintf(why, whylen, "Gid is '%s', not %lu in all four fields", line,
		         (unsigned long)id->gid);
		return -1;
	}
	if (status_line(status, "Groups", line, sizeof(line)) < 0 || !same_groups(line, id)) {
		char want[512];
		format_groups(id, want, sizeof(want));
		snprintf(why, whylen, "Groups is '%s', not %s", line, want);
		return -1;
	}
	for (i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		if (!check_bounding && strcmp(caps[i], "CapBnd") == 0)
			continue;
		if (status_line(status, caps[i], line, sizeof(line)) < 0 ||
		    strspn(line, "0") != strlen(line) || line[0] == '\0') {
			snprintf(why, whylen, "%s is '%s', not empty", caps[i], line);
			return -1;
		}
	}
	if (no_new_privs >= 0 && (status_line(status, "NoNewPrivs", line, sizeof(line)) < 0 ||
	                          atoi(line) != no_new_privs)) {
		snprintf(why, whylen, "NoNewPrivs is '%s', not %d", line, no_new_privs);
		return -1;
	}
	return 0;
}

static int read_self_status(char *buf, size_t len)
{
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = sm_read_full(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

/* Shed what a non-root start may still hold (ambient capabilities given by
 * a service manager, say); the bounding set only if CAP_SETPCAP allows. */
static int shed_caps(bool *bounding)
{
	capng_select_t set = CAPNG_SELECT_CAPS | CAPNG_SELECT_AMBIENT;

	if (capng_get_caps_process() < 0)
		return -1;
	*bounding = capng_have_capability(CAPNG_EFFECTIVE, CAP_SETPCAP) != 0;
	if (*bounding)
		set = CAPNG_SELECT_ALL;
	capng_clear(set);
	return capng_apply(set) < 0 ? -1 : 0;
}

/* The drop and its proof, for the master and for the preflight child. */
static enum sm_priv_status drop_and_prove(const struct sm_config *cfg, const struct sm_identity *id,
                                          char *why, size_t len, bool *bounding_cleared)
{
	char status[8192], reason[512];
	bool bounding = true;
	int rc;

	if (id->mode == SM_ID_ROOT)
		return SM_PRIV_OK;
	if (id->mode == SM_ID_DROP) {
		/* The groups looked up by sm_priv_resolve, set here rather than
		 * by CAPNG_INIT_SUPP_GRP, whose initgroups would read the group
		 * database (and load NSS) in the master after all. */
		capng_flags_t flags = CAPNG_CLEAR_AMBIENT;
		/* Root without CAP_SETPCAP (docker --cap-drop SETPCAP) cannot
		 * empty the bounding set; no_new_privs keeps it from ever
		 * mattering, so only --allow-new-privs makes that fatal. */
		if (capng_get_caps_process() == 0 &&
		    capng_have_capability(CAPNG_PERMITTED, CAP_SETPCAP) == 0) {
			if (cfg->allow_new_privs) {
				snprintf(why, len, "%s", no_setpcap);
				return SM_PRIV_DENIED;
			}
			bounding = false;
		} else {
			flags |= CAPNG_CLEAR_BOUNDING;
		}
		/* Everything cleared first: what capng_change_id applies at its
		 * end is then the empty set. */
		if (setgroups(id->n_groups, id->groups) < 0) {
			snprintf(why, len, "cannot set the supplementary groups of '%s': %s",
			         id->name, strerror(errno));
			return SM_PRIV_DENIED;
		}
		capng_clear(CAPNG_SELECT_ALL);
		rc = capng_change_id((int)id->uid, (int)id->gid, flags);
		if (rc != 0) {
			snprintf(why, len, "cannot switch to uid %lu gid %lu: %s (%s)%s",
			         (unsigned long)id->uid, (unsigned long)id->gid,
			         change_id_error(rc), strerror(errno),
			         rc == -3 ? "; switching user needs CAP_SETUID and CAP_SETGID "
			                    "(check the container's dropped capabilities)"
			                  : "");
			return SM_PRIV_DENIED;
		}
	} else if (shed_caps(&bounding) < 0) {
		snprintf(why, len, "cannot clear our capabilities: %s", strerror(errno));
		return SM_PRIV_DENIED;
	}
	if (!cfg->allow_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		snprintf(why, len, "cannot set no_new_privs: %s", strerror(errno));
		return SM_PRIV_DENIED;
	}
	/* The proof: uid 0 (and gid 0 unless asked for) must be out of reach. */
	if (setuid(0) == 0 || seteuid(0) == 0 ||
	    (id->gid != 0 && (setgid(0) == 0 || setegid(0) == 0))) {
		snprintf(why, len, "the drop did not hold: uid or gid 0 could be regained");
		return SM_PRIV_DENIED;
	}
	if (read_self_status(status, sizeof(status)) < 0) {
		snprintf(why, len, "cannot read /proc/self/status to verify the drop: %s",
		         strerror(errno));
		return SM_PRIV_DENIED;
	}
	if (sm_priv_verify_status(status, id, bounding, cfg->allow_new_privs ? -1 : 1, reason,
	                          sizeof(reason)) < 0) {
		snprintf(why, len, "the drop did not give what was asked: %s", reason);
		return SM_PRIV_DENIED;
	}
	if (bounding_cleared != NULL)
		*bounding_cleared = bounding;
	return SM_PRIV_OK;
}

enum sm_priv_status sm_priv_drop(const struct sm_config *cfg, const struct sm_identity *id,
                                 struct sm_report *rep)
{
	char why[1024], groups[512];
	bool bounding = true;
	enum sm_priv_status st = drop_and_prove(cfg, id, why, sizeof(why), &bounding);

	if (st != SM_PRIV_OK) {
		sm_report_step(rep, st, "drop", NULL, "%s", why);
		return st;
	}
	if (id->mode == SM_ID_ROOT)
		return st;
	format_groups(id, groups, sizeof(groups));
	sm_info("running as %s (uid %lu, gid %lu, groups %s): no capabilities%s", id->name,
	        (unsigned long)id->uid, (unsigned long)id->gid, groups,
	        cfg->allow_new_privs ? "" : ", no_new_privs");
	if (!bounding && id->mode == SM_ID_DROP)
		sm_warnx("the capability bounding set is not empty (no CAP_SETPCAP to clear it); "
		         "no_new_privs keeps it from being used");
	return st;
}

/* ------------------------------------------------------------------ */
/* the preflight: every path the service writes, tried as USER */

enum check_kind {
	CHECK_DIR,        /* must be a directory USER can write and search */
	CHECK_FILE,       /* if it exists, USER must be able to write it */
	CHECK_CHOWN,      /* a --chown path: must exist and be writable */
	CHECK_CHOWN_WILL, /* a --chown path a --check judges as prepared */
	CHECK_EXEC,       /* COMMAND, found in PATH and executable */
	CHECK_CHDIR,      /* --chdir, searchable */
};

struct check {
	enum check_kind kind;
	const char *label; /* the report's step column */
	const char *what;  /* what the path is, for the one-line message */
	char path[SM_PRIV_PATH_MAX];
	mode_t mode;
};

/* What the child found for one check. */
struct check_result {
	int err;                   /* 0: fine */
	int missing;               /* CHECK_FILE: not there yet, the service creates it */
	char at[SM_PRIV_PATH_MAX]; /* where it failed; for EXEC the path found */
};

static void dir_of(const char *path, char *out, size_t len)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		snprintf(out, len, ".");
	else if (slash == path)
		snprintf(out, len, "/");
	else
		snprintf(out, len, "%.*s", (int)(slash - path), path);
}

static bool same_path(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	while (la > 1 && a[la - 1] == '/')
		la--;
	while (lb > 1 && b[lb - 1] == '/')
		lb--;
	return la == lb && strncmp(a, b, la) == 0;
}

static const struct sm_chown *chown_target(const struct sm_config *cfg, const char *path)
{
	size_t i;

	for (i = 0; i < cfg->n_chowns; i++)
		if (same_path(cfg->chowns[i].path, path))
			return &cfg->chowns[i];
	return NULL;
}

/* checks has room for every --chown path and the few fixed checks. */
static size_t add_check(struct check *checks, size_t n, enum check_kind kind, const char *label,
                        const char *path, mode_t mode)
{
	static const struct {
		const char *label, *what;
	} whats[] = {
	    {"chown", "--chown path"},
	    {"log file", "log file"},
	    {"log dir", "log directory"},
	    {"pid file", "pid file"},
	    {"pid dir", "pid file directory"},
	    {"chdir", "--chdir directory"},
	    {"command", "command"},
	};
	size_t i;

	checks[n].kind = kind;
	checks[n].label = label;
	checks[n].what = label;
	for (i = 0; i < sizeof(whats) / sizeof(whats[0]); i++)
		if (strcmp(whats[i].label, label) == 0)
			checks[n].what = whats[i].what;
	checks[n].mode = mode;
	snprintf(checks[n].path, sizeof(checks[n].path), "%s", path);
	return n + 1;
}

/* A file the service writes, and the directory it lives in. */
static size_t add_file_checks(const struct sm_config *cfg, const struct sm_identity *id,
                              bool predict, struct check *checks, size_t n, const char *label,
                              const char *dir_label, const char *file)
{
	char dir[SM_PRIV_PATH_MAX];
	const struct sm_chown *c;

	dir_of(file, dir, sizeof(dir));
	c = chown_target(cfg, dir);
	if (predict && c != NULL && id->mode != SM_ID_KEEP)
		n = add_check(checks, n, CHECK_CHOWN_WILL, dir_label, dir, c->mode);
	else
		n = add_check(checks, n, CHECK_DIR, dir_label, dir, 0);
	return add_check(checks, n, CHECK_FILE, label, file, 0);
}

static size_t build_checks(const struct sm_config *cfg, const struct sm_identity *id, bool predict,
                           bool whole, struct check *checks)
{
	size_t n = 0, i;

	for (i = 0; i < cfg->n_chowns; i++) {
		struct sm_walk w;
		if (predict && id->mode != SM_ID_KEEP) {
			/* A path the preparation refuses was reported there already. */
			if (sm_priv_walk(cfg->chowns[i].path, false, 0, &w) < 0)
				continue;
			if (w.fd >= 0)
				close(w.fd);
			n = add_check(checks, n, CHECK_CHOWN_WILL, "chown", cfg->chowns[i].path,
			              cfg->chowns[i].mode);
		} else {
			n = add_check(checks, n, CHECK_CHOWN, "chown", cfg->chowns[i].path,
			              cfg->chowns[i].mode);
		}
	}
	if (cfg->log_file != NULL && strcmp(cfg->log_file, "-") != 0)
		n = add_file_checks(cfg, id, predict, checks, n, "log file", "log dir",
		                    cfg->log_file);
	if (cfg->pid_file != NULL)
		n = add_file_checks(cfg, id, predict, checks, n, "pid file", "pid dir",
		                    cfg->pid_file);
	if (whole) {
		if (cfg->chdir != NULL)
			n = add_check(checks, n, CHECK_CHDIR, "chdir", cfg->chdir, 0);
		n = add_check(checks, n, CHECK_EXEC, "command", cfg->command[0], 0);
	}
	return n;
}

/* The first component of path (an ancestor, or path itself) that USER
 * cannot search: the one to name in the message. */
static void blocking_ancestor(const char *path, char *out, size_t len)
{
	char prefix[SM_PRIV_PATH_MAX];
	size_t i, plen = strlen(path);

	snprintf(out, len, "%s", path);
	if (plen >= sizeof(prefix))
		return;
	for (i = 1; i <= plen; i++) {
		if (i < plen && path[i] != '/')
			continue;
		memcpy(prefix, path, i);
		prefix[i] = '\0';
		if (i < plen && access(prefix, X_OK) < 0 && errno == EACCES) {
			snprintf(out, len, "%s", prefix);
			return;
		}
	}
}

static void run_check(const struct check *c, struct check_result *r)
{
	struct stat st;
	int need;

	memset(r, 0, sizeof(*r));
	snprintf(r->at, sizeof(r->at), "%s", c->path);
	switch (c->kind) {
	case CHECK_EXEC:
		if (sm_spawn_resolve(c->path, getenv("PATH"), r->at, sizeof(r->at)) < 0) {
			r->err = errno;
			snprintf(r->at, sizeof(r->at), "%s", c->path);
		}
		return;
	case CHECK_CHDIR:
		if (access(c->path, X_OK) < 0)
			r->err = errno;
		break;
	case CHECK_FILE:
		if (access(c->path, F_OK) < 0 && errno == ENOENT) {
			r->missing = 1; /* created by the service; its directory is checked */
			return;
		}
		if (access(c->path, W_OK) < 0)
			r->err = errno;
		break;
	case CHECK_CHOWN_WILL: {
		/* Only the way there matters: PATH itself will be USER's. */
		char dir[SM_PRIV_PATH_MAX];
		dir_of(c->path, dir, sizeof(dir));
		while (access(dir, F_OK) < 0 && errno == ENOENT && strcmp(dir, "/") != 0) {
			char up[SM_PRIV_PATH_MAX];
			dir_of(dir, up, sizeof(up));
			snprintf(dir, sizeof(dir), "%s", up);
		}
		if (access(dir, X_OK) < 0) {
			r->err = errno;
			blocking_ancestor(dir, r->at, sizeof(r->at));
		}
		return;
	}
	case CHECK_DIR:
	case CHECK_CHOWN:
		need = W_OK | X_OK;
		if (stat(c->path, &st) == 0 && !S_ISDIR(st.st_mode))
			need = W_OK;
		if (access(c->path, need) < 0)
			r->err = errno;
		break;
	}
	if (r->err == EACCES)
		blocking_ancestor(c->path, r->at, sizeof(r->at));
}

/* The child: the same drop, then every check, results up the pipe. */
static _Noreturn void preflight_child(const struct sm_config *cfg, const struct sm_identity *id,
                                      const struct check *checks, size_t n, int fd)
{
	struct check_result r;
	char why[1024];
	size_t i;

	memset(&r, 0, sizeof(r));
	if (drop_and_prove(cfg, id, why, sizeof(why), NULL) != SM_PRIV_OK) {
		r.err = -1;
		snprintf(r.at, sizeof(r.at), "%s", why);
		(void)sm_write_all(fd, &r, sizeof(r));
		_exit(1);
	}
	for (i = 0; i < n; i++) {
		run_check(&checks[i], &r);
		if (sm_write_all(fd, &r, sizeof(r)) < 0)
			_exit(1);
	}
	_exit(0);
}

static void describe_owner(const char *path, char *out, size_t len)
{
	struct stat st;

	if (stat(path, &st) == 0)
		snprintf(out, len, "owner %lu:%lu, mode %04o", (unsigned long)st.st_uid,
		         (unsigned long)st.st_gid, (unsigned)(st.st_mode & 07777));
	else
		snprintf(out, len, "%s", strerror(errno));
}

static enum sm_priv_status report_check(const struct check *c, const struct check_result *r,
                                        const struct sm_identity *id, struct sm_report *rep)
{
	enum sm_priv_status bad =
	    c->kind == CHECK_EXEC || c->kind == CHECK_CHDIR ? SM_PRIV_EXEC : SM_PRIV_PATH;
	unsigned long uid = (unsigned long)id->uid, gid = (unsigned long)id->gid;
	char fix[2 * SM_PRIV_PATH_MAX + 64], owner[128];

	if (c->kind == CHECK_CHOWN_WILL && r->err == 0 && (c->mode & 0300) != 0300) {
		sm_report_step(rep, SM_PRIV_PATH, c->label,
		               "give --chown a mode with u+wx, e.g. :0755",
		               "%s %s: mode %04o would not let %lu:%lu write it", c->what, c->path,
		               (unsigned)c->mode, uid, gid);
		return SM_PRIV_PATH;
	}
	if (r->err == 0) {
		if (c->kind == CHECK_EXEC)
			sm_report_step(rep, SM_PRIV_OK, c->label, NULL,
			               "%s is executable by %lu:%lu", r->at, uid, gid);
		else
			sm_report_step(rep, SM_PRIV_OK, c->label, NULL, "%s %s by %lu:%lu", c->path,
			               c->kind == CHECK_CHDIR ? "can be entered"
			               : c->kind == CHECK_CHOWN_WILL
			                   ? "will be reachable and writable"
			               : r->missing ? "will be created"
			                            : "is writable",
			               uid, gid);
		return SM_PRIV_OK;
	}
	if (c->kind == CHECK_EXEC) {
		sm_report_step(
		    rep, bad, c->label, "install it, fix PATH, or make it executable by USER",
		    "cannot execute '%s' as %lu:%lu: %s", c->path, uid, gid, strerror(r->err));
		return bad;
	}
	describe_owner(r->at, owner, sizeof(owner));
	if (r->err == ENOENT) {
		if (c->kind == CHECK_CHOWN)
			snprintf(fix, sizeof(fix), "as root: mkdir -p %s && chown %lu:%lu %s",
			         c->path, uid, gid, c->path);
		else
			snprintf(fix, sizeof(fix),
			         "mkdir -p %s && chown %lu:%lu %s (or add --chown %s)", c->path,
			         uid, gid, c->path, c->path);
		sm_report_step(rep, bad, c->label, c->kind == CHECK_CHDIR ? NULL : fix,
		               "%s %s does not exist", c->what, c->path);
	} else if (r->err == EROFS) {
		sm_report_step(rep, bad, c->label, "mount it read-write, or choose another path",
		               "%s %s is on a read-only file system", c->what, c->path);
	} else if (r->err == EACCES && strcmp(r->at, c->path) != 0) {
		snprintf(fix, sizeof(fix), "chmod o+x %s", r->at);
		sm_report_step(rep, bad, c->label, fix,
		               "%s %s cannot be reached by %lu:%lu: %s is not searchable (%s)",
		               c->what, c->path, uid, gid, r->at, owner);
	} else if (r->err == EACCES) {
		snprintf(fix, sizeof(fix), "chown %lu:%lu %s", uid, gid, c->path);
		sm_report_step(rep, bad, c->label, fix, "%s %s is not %s by %lu:%lu (%s)", c->what,
		               c->path, c->kind == CHECK_CHDIR ? "searchable" : "writable", uid,
		               gid, owner);
	} else {
		sm_report_step(rep, bad, c->label, NULL, "%s %s: %s", c->what, c->path,
		               strerror(r->err));
	}
	return bad;
}

enum sm_priv_status sm_priv_preflight(const struct sm_config *cfg, const struct sm_identity *id,
                                      bool prepared, struct sm_report *rep)
{
	struct check *checks;
	struct check_result r;
	enum sm_priv_status st = SM_PRIV_OK, one;
	size_t n, i;
	int pipefd[2], status;
	pid_t pid;

	checks = calloc(cfg->n_chowns + 8, sizeof(*checks));
	if (checks == NULL) {
		sm_report_step(rep, SM_PRIV_SYSTEM, "preflight", NULL, "out of memory");
		return SM_PRIV_SYSTEM;
	}
	n = build_checks(cfg, id, !prepared, rep->out != NULL, checks);
	if (n == 0) {
		free(checks);
		return SM_PRIV_OK;
	}
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		sm_report_step(rep, SM_PRIV_SYSTEM, "preflight", NULL, "pipe: %s", strerror(errno));
		free(checks);
		return SM_PRIV_SYSTEM;
	}
	fflush(NULL); /* nothing buffered may be written twice by the child */
	pid = fork();
	if (pid < 0) {
		sm_report_step(rep, SM_PRIV_SYSTEM, "preflight", NULL, "fork: %s", strerror(errno));
		close(pipefd[0]);
		close(pipefd[1]);
		free(checks);
		return SM_PRIV_SYSTEM;
	}
	if (pid == 0) {
		close(pipefd[0]);
		preflight_child(cfg, id, checks, n, pipefd[1]);
	}
	close(pipefd[1]);
	for (i = 0; i < n; i++) {
		if (sm_read_full(pipefd[0], &r, sizeof(r)) != (ssize_t)sizeof(r)) {
			sm_report_step(rep, SM_PRIV_SYSTEM, "preflight", NULL,
			               "the check as %lu:%lu ended early", (unsigned long)id->uid,
			               (unsigned long)id->gid);
			st = SM_PRIV_SYSTEM;
			break;
		}
		if (r.err < 0) {
			r.at[sizeof(r.at) - 1] = '\0';
			sm_report_step(rep, SM_PRIV_DENIED, "drop", NULL, "%s", r.at);
			st = SM_PRIV_DENIED;
			break;
		}
		if ((one = report_check(&checks[i], &r, id, rep)) != SM_PRIV_OK && st == SM_PRIV_OK)
			st = one;
		if (sm_report_stop(rep))
			break;
	}
	close(pipefd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	free(checks);
	return st;
}

/* ------------------------------------------------------------------ */
/* the pid file */

enum sm_priv_status sm_priv_write_pidfile(const char *path, struct sm_report *rep)
{
	char text[32];
	int fd, n;

	n = snprintf(text, sizeof(text), "%ld\n", (long)getpid());
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0 || sm_write_all(fd, text, (size_t)n) < 0) {
		int err = errno;
		if (fd >= 0)
			close(fd);
		sm_report_step(rep, SM_PRIV_PATH, "pid file", NULL, "cannot write %s: %s", path,
		               strerror(err));
		return SM_PRIV_PATH;
	}
	if (close(fd) < 0) {
		sm_report_step(rep, SM_PRIV_PATH, "pid file", NULL, "cannot write %s: %s", path,
		               strerror(errno));
		return SM_PRIV_PATH;
	}
	return SM_PRIV_OK;
}

void sm_priv_remove_pidfile(const char *path)
{
	char text[32], want[32];
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return;
	n = sm_read_full(fd, text, sizeof(text) - 1);
	close(fd);
	snprintf(want, sizeof(want), "%ld\n", (long)getpid());
	/* Another instance may have taken the file over: leave it to it. */
	if (n <= 0 || (size_t)n != strlen(want) || memcmp(text, want, (size_t)n) != 0)
		return;
	if (unlink(path) < 0)
		sm_warn("cannot remove pid file %s", path);
}
