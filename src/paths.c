/* paths: the symlink-safe walker (every component opened O_NOFOLLOW from
 * "/"), the --chown preparation (the one root write to a user's paths) and
 * the check that a --config file is root's alone. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <sentrik/paths.h>

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

/* A missing directory, made 0700 first, opened without following, then
 * given its real mode: nobody can slip in between.  The new fd or -1. */
static int make_dir(struct sm_walk *w, int dirfd, const char *name, bool last, mode_t dir_mode)
{
	bool made = false;
	int next;

	if (mkdirat(dirfd, name, 0700) == 0)
		made = true;
	else if (errno != EEXIST)
		return walk_fail(w, SM_WALK_ERRNO, errno, dirfd);
	next = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (next >= 0 && made && fchmod(next, last ? dir_mode : 0755) < 0) {
		int err = errno;
		close(next);
		return walk_fail(w, SM_WALK_ERRNO, err, dirfd);
	}
	w->created = last && made;
	if (next < 0)
		return classify(w, dirfd, name, errno);
	return next;
}

/* The next component of the path in buf at *p (cut out in place, *p moved
 * past it and its slashes), or NULL at the end; *last says if it is. */
static char *next_component(char **p, bool *last)
{
	char *comp = *p;

	if (comp == NULL || *comp == '\0')
		return NULL;
	*p = strchr(comp, '/');
	if (*p != NULL)
		*(*p)++ = '\0';
	while (*p != NULL && **p == '/')
		(*p)++;
	*last = *p == NULL || **p == '\0';
	return comp;
}

int sm_paths_walk(const char *path, bool create, mode_t dir_mode, struct sm_walk *w)
{
	char buf[PATH_MAX];
	size_t at_len = 0, len;
	char *p, *comp;
	bool last;
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
	while ((comp = next_component(&p, &last)) != NULL) {
		if (strcmp(comp, ".") == 0 && !last)
			continue;
		at_len += (size_t)snprintf(w->at + at_len, sizeof(w->at) - at_len, "/%s", comp);
		if (strcmp(comp, "..") == 0 || strcmp(comp, ".") == 0)
			return walk_fail(w, SM_WALK_BADNAME, EINVAL, fd);
		next = last ? open_last(w, fd, comp)
		            : openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0 && w->fail != SM_WALK_OK)
			return -1; /* open_last already said why */
		if (next < 0 && errno == ENOENT && !create) {
			w->missing = true;
			close(fd);
			return 0;
		}
		if (next < 0 && errno == ENOENT)
			next = make_dir(w, fd, comp, last, dir_mode);
		else if (next < 0)
			return classify(w, fd, comp, errno);
		if (next < 0)
			return -1; /* make_dir said why */
		close(fd);
		fd = next;
	}
	w->fd = fd;
	return 0;
}

/* A regular file with more than one name may be a link to a file of
 * somebody else's (made where protected_hardlinks is off, or brought in a
 * volume): root must not give it away.  Fails the walk when it is one. */
static int refuse_links(struct sm_walk *w)
{
	struct stat st;

	if (w->fd < 0)
		return 0;
	if (fstat(w->fd, &st) < 0)
		return walk_fail(w, SM_WALK_ERRNO, errno, w->fd);
	w->is_file = S_ISREG(st.st_mode);
	w->links = (unsigned long)st.st_nlink;
	if (w->is_file && st.st_nlink > 1)
		return walk_fail(w, SM_WALK_LINKS, EMLINK, w->fd);
	return 0;
}

int sm_paths_chown(const struct sm_chown *c, uid_t uid, gid_t gid, struct sm_walk *w)
{
	if (sm_paths_walk(c->path, true, c->mode, w) < 0 || refuse_links(w) < 0)
		return -1;
	/* A file keeps its mode unless one was asked for: 0755, the
	 * directories' default, would make a data file executable. */
	if (fchown(w->fd, uid, gid) < 0 ||
	    ((!w->is_file || c->mode_set) && fchmod(w->fd, c->mode) < 0))
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
	case SM_WALK_LINKS:
		snprintf(what, len,
		         "--chown %s: a regular file with %lu hard links, refusing to give it "
		         "away (another name may be a file of somebody else's)",
		         path, w->links);
		*fix = "copy the file to a name of its own, or remove its other links";
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

int sm_paths_prepare(const struct sm_config *cfg, const struct sm_identity *id,
                     struct sm_report *rep)
{
	char what[2 * PATH_MAX + 128];
	const char *fix;
	struct sm_walk w;
	size_t i;
	int rc = 0;

	if (id->mode == SM_ID_KEEP)
		return 0; /* not root: the preflight verifies them */
	for (i = 0; i < cfg->n_chowns && !sm_report_stop(rep); i++) {
		const struct sm_chown *c = &cfg->chowns[i];
		if (rep->out != NULL
		        ? sm_paths_walk(c->path, false, c->mode, &w) < 0 || refuse_links(&w) < 0
		        : sm_paths_chown(c, id->uid, id->gid, &w) < 0) {
			walk_message(c->path, &w, what, sizeof(what), &fix);
			rc = sm_report_step(rep, EX_CANTCREAT, "chown", fix, "%s", what);
			continue;
		}
		if (w.fd >= 0)
			close(w.fd);
		if (w.is_file && !c->mode_set)
			snprintf(what, sizeof(what), "keeping its mode");
		else
			snprintf(what, sizeof(what), "mode %04o", (unsigned)c->mode);
		sm_report_step(rep, 0, "chown", NULL, "%s %s %lu:%lu %s", c->path,
		               rep->out == NULL ? (w.created ? "created and given to" : "given to")
		               : w.missing      ? "will be created and given to"
		                                : "will be given to",
		               (unsigned long)id->uid, (unsigned long)id->gid, what);
	}
	return rc;
}

/* ------------------------------------------------------------------ */
/* --config at a root start: only a file only root can change */

/* One step on the way to the config: root's and not writable by group or
 * others, or on a read-only mount and not USER's.  NULL when it passes,
 * else what is wrong with it (in buf). */
static const char *untrusted(int fd, const struct stat *st, uid_t user, char *buf, size_t len)
{
	struct statvfs vfs;
	bool link = S_ISLNK(st->st_mode); /* a symlink's own mode means nothing */

	if (st->st_uid == 0 && (link || (st->st_mode & 022) == 0))
		return NULL;
	if (st->st_uid != user && fstatvfs(fd, &vfs) == 0 && (vfs.f_flag & ST_RDONLY))
		return NULL;
	if (st->st_uid != 0)
		snprintf(buf, len, "owned by uid %lu%s", (unsigned long)st->st_uid,
		         st->st_uid == user ? ", the service user" : "");
	else
		snprintf(buf, len, "writable by %s (mode %04o)",
		         (st->st_mode & 022) == 022 ? "group and others"
		         : (st->st_mode & 020)      ? "its group"
		                                    : "others",
		         (unsigned)(st->st_mode & 07777));
	return buf;
}

/* The walk of the trust check: where it is, what is left to resolve. */
struct trust_walk {
	int fd;              /* the directory reached so far (O_PATH) */
	char at[PATH_MAX];   /* its path, resolved */
	char rest[PATH_MAX]; /* the components still to walk */
	unsigned links;      /* symlinks followed, as the kernel counts them */
};

/* A symlink: its target replaces it in what is left to walk. */
static int follow(struct trust_walk *t, int linkfd, const char *after)
{
	char target[PATH_MAX], rest[PATH_MAX];
	ssize_t n = readlinkat(linkfd, "", target, sizeof(target) - 1);

	if (n < 0)
		return -1;
	target[n] = '\0';
	if (++t->links > 40 ||
	    snprintf(rest, sizeof(rest), "%s/%s", target, after) >= (int)sizeof(rest)) {
		errno = ELOOP;
		return -1;
	}
	snprintf(t->rest, sizeof(t->rest), "%s", rest);
	if (target[0] == '/') {
		close(t->fd);
		t->at[0] = '\0';
		if ((t->fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
			return -1;
	}
	return 0;
}

/* "..": back to the parent, already judged on the way here. */
static int go_up(struct trust_walk *t)
{
	char *slash = strrchr(t->at, '/');

	if (slash != NULL)
		*slash = '\0';
	close(t->fd);
	t->fd = open(t->at[0] != '\0' ? t->at : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	return t->fd < 0 ? -1 : 0;
}

/* Cuts the next component off t->rest into name: 1, or 0 at the end, or
 * -1 (ENAMETOOLONG). */
static int next_name(struct trust_walk *t, char *name)
{
	char *p = t->rest;
	size_t len;

	while (*p == '/')
		p++;
	if ((len = strcspn(p, "/")) == 0)
		return 0;
	if (len > NAME_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(name, p, len);
	name[len] = '\0';
	/* The rest moves to the front, byte by byte from the left, which an
	 * overlap cannot harm (glibc's fortified memmove shares memcpy's
	 * checked entry point, which valgrind then reports as an overlap). */
	{
		const char *from = p + len;
		char *to = t->rest;

		while ((*to++ = *from++) != '\0')
			;
	}
	return 1;
}

static int trust_fail(struct trust_walk *t, const char *path, struct sm_error *e, const char *what,
                      const char *fix)
{
	sm_error_set(e, EX_CONFIG,
	             "--config %s: %s is %s: started as root with a user to switch to, the "
	             "master trusts only a config that only root can change; fix: %s",
	             path, t->at[0] != '\0' ? t->at : "/", what, fix);
	if (t->fd >= 0)
		close(t->fd);
	return -1;
}

static int trust_errno(struct trust_walk *t, const char *path, struct sm_error *e)
{
	sm_error_set(e, EX_CONFIG, "--config %s: cannot check %s: %s", path,
	             t->at[0] != '\0' ? t->at : "/", strerror(errno));
	if (t->fd >= 0)
		close(t->fd);
	return -1;
}

int sm_paths_trusted(const char *path, uid_t user, struct sm_error *e)
{
	struct trust_walk t = {.fd = -1};
	char why[128], fix[2 * PATH_MAX + 64], cwd[PATH_MAX];
	struct stat st;

	if (path[0] != '/' && getcwd(cwd, sizeof(cwd)) == NULL)
		return trust_errno(&t, path, e);
	if (snprintf(t.rest, sizeof(t.rest), "%s%s%s", path[0] != '/' ? cwd : "",
	             path[0] != '/' ? "/" : "", path) >= (int)sizeof(t.rest)) {
		errno = ENAMETOOLONG;
		return trust_errno(&t, path, e);
	}
	if ((t.fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0 || fstat(t.fd, &st) < 0)
		return trust_errno(&t, path, e);
	if (untrusted(t.fd, &st, user, why, sizeof(why)) != NULL)
		return trust_fail(&t, path, e, why, "chown root: / && chmod go-w /");
	for (;;) {
		char name[NAME_MAX + 1];
		int next, rc;

		if ((rc = next_name(&t, name)) < 0)
			return trust_errno(&t, path, e);
		if (rc == 0)
			break;
		if (strcmp(name, ".") == 0)
			continue;
		if (strcmp(name, "..") == 0) {
			if (go_up(&t) < 0)
				return trust_errno(&t, path, e);
			continue;
		}
		if (strlen(t.at) + 1 + strlen(name) >= sizeof(t.at)) {
			errno = ENAMETOOLONG;
			return trust_errno(&t, path, e);
		}
		strcat(strcat(t.at, "/"), name);
		if ((next = openat(t.fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC)) < 0 ||
		    fstat(next, &st) < 0) {
			if (next >= 0)
				close(next);
			return trust_errno(&t, path, e);
		}
		if (!S_ISLNK(st.st_mode) && !S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) {
			close(next);
			return trust_fail(&t, path, e, "not a regular file",
			                  "give --config a regular file");
		}
		if (untrusted(S_ISLNK(st.st_mode) ? t.fd : next, &st, user, why, sizeof(why)) !=
		    NULL) {
			close(next);
			snprintf(fix, sizeof(fix), "chown root: %s && chmod go-w %s", t.at, t.at);
			return trust_fail(
			    &t, path, e, why,
			    S_ISLNK(st.st_mode) ? "replace the symlink by one of root's" : fix);
		}
		if (S_ISLNK(st.st_mode)) {
			char after[PATH_MAX];

			snprintf(after, sizeof(after), "%s", t.rest);
			*strrchr(t.at, '/') = '\0';
			rc = follow(&t, next, after);
			close(next);
			if (rc < 0)
				return trust_errno(&t, path, e);
			continue;
		}
		close(t.fd);
		t.fd = next;
		if (!S_ISDIR(st.st_mode) && strspn(t.rest, "/") != strlen(t.rest)) {
			errno = ENOTDIR;
			return trust_errno(&t, path, e);
		}
	}
	if (!S_ISREG(st.st_mode))
		return trust_fail(&t, path, e, "not a regular file",
		                  "give --config a regular file");
	close(t.fd);
	return 0;
}

int sm_paths_check_config(const struct sm_config *cfg, const struct sm_identity *id,
                          struct sm_report *rep)
{
	struct sm_error e;

	/* Not root, or root mode: nobody to trust less than the one who
	 * started us.  A user named anywhere (the file too) means a switch
	 * the file must not be able to undo. */
	if (cfg->config_file == NULL || geteuid() != 0 || cfg->user == NULL)
		return 0;
	if (sm_paths_trusted(cfg->config_file, id->uid, &e) < 0)
		return sm_report_step(rep, e.status, "config", NULL, "%s", e.msg);
	return sm_report_step(rep, 0, "config", NULL, "%s can be changed by root only",
	                      cfg->config_file);
}
