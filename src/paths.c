/* paths: the symlink-safe walker (every component opened O_NOFOLLOW from
 * "/") and the --chown preparation, the one root write to a user's paths. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
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
		if ((rep->out != NULL
		         ? sm_paths_walk(c->path, false, c->mode, &w) < 0 || refuse_links(&w)
		         : sm_paths_chown(c, id->uid, id->gid, &w)) < 0) {
			walk_message(c->path, &w, what, sizeof(what), &fix);
			rc = sm_report_step(rep, EX_CANTCREAT, "chown", fix, "%s", what);
			continue;
		}
		if (w.fd >= 0)
			close(w.fd);
		if (w.is_file && !c->mode_set)
			snprintf(what, sizeof(what), "its mode kept");
		else
			snprintf(what, sizeof(what), "mode %04o", (unsigned)c->mode);
		sm_report_step(rep, 0, "chown", NULL, "%s %s %lu:%lu, %s", c->path,
		               rep->out == NULL ? (w.created ? "created and given to" : "given to")
		               : w.missing      ? "will be created and given to"
		                                : "will be given to",
		               (unsigned long)id->uid, (unsigned long)id->gid, what);
	}
	return rc;
}
