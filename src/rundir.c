/* rundir: the runtime directory — chosen in SPEC §3's order, made with the
 * --chown walker's rules (nothing followed) before the drop, emptied of our
 * sockets at exit. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sentrik/log.h>
#include <sentrik/paths.h>
#include <sentrik/rundir.h>

/* dir as it is (pid NULL), or with the pid: DIR/sentrik-master/PID under
 * /run (whose parent is root's alone), DIR/sentrik-master-PID elsewhere. */
static size_t add(struct sm_rundir_candidate *out, size_t n, enum sm_rundir_kind kind,
                  const char *origin, const char *dir, const char *pid)
{
	int len =
	    pid == NULL ? snprintf(out[n].path, sizeof(out[n].path), "%s", dir)
	    : strcmp(origin, "/run") == 0
	        ? snprintf(out[n].path, sizeof(out[n].path), "%s/sentrik-master/%s", dir, pid)
	        : snprintf(out[n].path, sizeof(out[n].path), "%s/sentrik-master-%s", dir, pid);

	/* A default that could not hold a socket is no candidate; a given
	 * one is kept, to be refused with its reason. */
	if (kind != SM_RUNDIR_GIVEN && (dir[0] != '/' || len < 0 || len > SM_RUNDIR_PATH_MAX))
		return n;
	out[n].kind = kind;
	out[n].origin = origin;
	return n + 1;
}

size_t sm_rundir_candidates(const char *given, const char *systemd, const char *tmpdir,
                            bool run_writable, const char *pid,
                            struct sm_rundir_candidate out[SM_RUNDIR_CANDIDATES])
{
	char first[PATH_MAX];
	size_t n = 0;

	if (given != NULL)
		return add(out, 0, SM_RUNDIR_GIVEN, "--runtime-dir", given, NULL);
	/* RuntimeDirectory= with several names gives a colon-separated list. */
	if (systemd != NULL && *systemd != '\0') {
		snprintf(first, sizeof(first), "%.*s", (int)strcspn(systemd, ":"), systemd);
		n = add(out, n, SM_RUNDIR_SYSTEMD, "RUNTIME_DIRECTORY", first, NULL);
	}
	if (run_writable)
		n = add(out, n, SM_RUNDIR_FRESH, "/run", "/run", pid);
	n = add(out, n, SM_RUNDIR_FRESH, "/dev/shm", "/dev/shm", pid);
	if (tmpdir != NULL && *tmpdir != '\0' && strcmp(tmpdir, "/tmp") != 0)
		n = add(out, n, SM_RUNDIR_FRESH, "TMPDIR", tmpdir, pid);
	return add(out, n, SM_RUNDIR_FRESH, "/tmp", "/tmp", pid);
}

/* Unlinks the sockets in the directory (of owner, or anyone's when owner
 * is -1); unlinkat never follows a link. */
static void remove_sockets(int dirfd, uid_t owner)
{
	int fd = dup(dirfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;
	struct stat st;

	if (d == NULL) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((e = readdir(d)) != NULL)
		if (fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISSOCK(st.st_mode) && (owner == (uid_t)-1 || st.st_uid == owner))
			(void)unlinkat(dirfd, e->d_name, 0);
	closedir(d);
}

/* The directory becomes USER's, 0700; not root, it must be ours to use. */
static int give(int fd, const struct sm_identity *id)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	if (id->mode == SM_ID_DROP && fchown(fd, id->uid, id->gid) < 0)
		return -1;
	if (id->mode == SM_ID_KEEP && st.st_uid != geteuid()) {
		errno = EACCES; /* another user's: its 0700 would not be ours */
		return -1;
	}
	return fchmod(fd, 0700);
}

static uid_t owner_of(const struct sm_identity *id)
{
	return id->mode == SM_ID_KEEP ? geteuid() : id->uid;
}

/* name in parent, which must not exist yet.  A leftover of an earlier
 * master with our pid (killed before it could empty it) is cleared first
 * when it can be trusted: the parent is root's alone (every entry was
 * made by a root phase), or it is USER's own. */
static int make_fresh(int pfd, const char *name, const struct sm_identity *id)
{
	struct stat parent, st;
	int fd;

	if (mkdirat(pfd, name, 0700) < 0) {
		if (errno != EEXIST || fstat(pfd, &parent) < 0)
			return -1;
		fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st) < 0 ||
		    !((parent.st_uid == 0 && !(parent.st_mode & 022)) ||
		      st.st_uid == owner_of(id))) {
			if (fd >= 0)
				close(fd);
			errno = EEXIST;
			return -1;
		}
		remove_sockets(fd, (uid_t)-1);
		close(fd);
		if (unlinkat(pfd, name, AT_REMOVEDIR) < 0 || mkdirat(pfd, name, 0700) < 0)
			return -1;
	}
	fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0 && give(fd, id) < 0) {
		int err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

/* Splits path into its parent (in buf) and last name. */
static const char *split(const char *path, char *buf, size_t len)
{
	const char *slash = strrchr(path, '/');

	snprintf(buf, len, "%.*s", slash == path ? 1 : (int)(slash - path), path);
	return slash + 1;
}

static const char *walk_why(const struct sm_walk *w)
{
	switch (w->fail) {
	case SM_WALK_SYMLINK:
		return "a symlink on the way, not followed";
	case SM_WALK_NOTDIR:
	case SM_WALK_TYPE:
		return "not a directory";
	case SM_WALK_BADNAME:
		return "not an absolute path without '.' or '..'";
	default:
		return strerror(w->err);
	}
}

pid_t sm_rundir_stale_pid(const char *name, pid_t self)
{
	long long pid = 0;
	const char *p;

	if (name[0] < '1' || name[0] > '9')
		return 0;
	for (p = name; *p != '\0'; p++) {
		if (*p < '0' || *p > '9' || p - name >= 10)
			return 0;
		pid = pid * 10 + (*p - '0');
	}
	if (pid > INT_MAX || (pid_t)pid == self)
		return 0;
	return (pid_t)pid;
}

/* As root, in /run/sentrik-master (pfd): the empty directories of masters
 * that are gone, which their USER could not remove from root's parent.
 * rmdir relative to pfd follows no link and removes nothing but an empty
 * directory; a non-empty one stays, unread. */
static void sweep_stale(int pfd)
{
	int fd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;

	if (dir == NULL) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((e = readdir(dir)) != NULL) {
		pid_t pid = sm_rundir_stale_pid(e->d_name, getpid());
		if (pid > 0 && kill(pid, 0) < 0 && errno == ESRCH &&
		    unlinkat(pfd, e->d_name, AT_REMOVEDIR) == 0)
			sm_debug("removed the stale runtime directory of pid %ld", (long)pid);
	}
	closedir(dir);
}

/* One candidate: 0 with rd filled, or -1 with why. */
static int make_one(const struct sm_rundir_candidate *c, const struct sm_identity *id,
                    struct sm_rundir *rd, char *why, size_t len)
{
	char parent[PATH_MAX];
	const char *name;
	struct sm_walk w;
	int fd;

	if (strlen(c->path) > SM_RUNDIR_PATH_MAX) {
		snprintf(why, len, "longer than %d bytes, no room for socket names",
		         SM_RUNDIR_PATH_MAX);
		return -1;
	}
	if (c->kind != SM_RUNDIR_FRESH) {
		if (sm_paths_walk(c->path, true, 0700, &w) < 0) {
			snprintf(why, len, "%s: %s", w.at, walk_why(&w));
			return -1;
		}
		fd = w.fd;
		if (give(fd, id) < 0) {
			snprintf(why, len, "%s", strerror(errno));
			close(fd);
			return -1;
		}
		rd->created = w.created;
	} else {
		/* /run/sentrik-master is made root's and 0755, as --chown parents. */
		name = split(c->path, parent, sizeof(parent));
		if (sm_paths_walk(parent, strcmp(c->origin, "/run") == 0, 0755, &w) < 0 ||
		    w.missing) {
			snprintf(why, len, "%s: %s", w.at,
			         w.missing ? strerror(ENOENT) : walk_why(&w));
			return -1;
		}
		if (strcmp(c->origin, "/run") == 0 && geteuid() == 0)
			sweep_stale(w.fd);
		fd = make_fresh(w.fd, name, id);
		if (fd < 0)
			snprintf(why, len, "%s", strerror(errno));
		close(w.fd);
		if (fd < 0)
			return -1;
		rd->created = true;
	}
	close(fd);
	snprintf(rd->path, sizeof(rd->path), "%s", c->path);
	return 0;
}

/* --check: what a start would do, changing nothing. */
static int check_only(const struct sm_rundir_candidate *c, const struct sm_identity *id,
                      struct sm_report *rep)
{
	unsigned long uid = owner_of(id), gid = id->mode == SM_ID_KEEP ? getegid() : id->gid;
	struct sm_walk w = {.missing = true};

	if (c->kind == SM_RUNDIR_GIVEN &&
	    (strlen(c->path) > SM_RUNDIR_PATH_MAX || sm_paths_walk(c->path, false, 0700, &w) < 0))
		return sm_report_step(rep, EX_CANTCREAT, "run dir",
		                      "choose a shorter or plainer path",
		                      "--runtime-dir %s: cannot be used", c->path);
	if (w.fd >= 0)
		close(w.fd);
	return sm_report_step(rep, 0, "run dir", NULL, "%s will be %s %lu:%lu mode 0700", c->path,
	                      w.missing ? "made for" : "given to", uid, gid);
}

int sm_rundir_prepare(const struct sm_config *cfg, const struct sm_identity *id,
                      struct sm_report *rep, struct sm_rundir *rd)
{
	struct sm_rundir_candidate cands[SM_RUNDIR_CANDIDATES];
	char why[PATH_MAX + 128] = "no candidate", pid[24];
	size_t n, i;

	memset(rd, 0, sizeof(*rd));
	/* A --check is not the start: its pid would not be the start's. */
	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	n = sm_rundir_candidates(cfg->runtime_dir, getenv("RUNTIME_DIRECTORY"), getenv("TMPDIR"),
	                         access("/run", W_OK) == 0, rep->out != NULL ? "PID" : pid, cands);
	if (rep->out != NULL)
		return n > 0 ? check_only(&cands[0], id, rep) : 0;
	for (i = 0; i < n; i++) {
		if (make_one(&cands[i], id, rd, why, sizeof(why)) == 0) {
			sm_info("runtime directory %s (%s)", rd->path, cands[i].origin);
			return 0;
		}
		if (cands[i].kind == SM_RUNDIR_GIVEN)
			return sm_report_step(
			    rep, EX_CANTCREAT, "run dir",
			    "choose a directory root can create, or one USER owns when not root",
			    "--runtime-dir %s: cannot make it USER's with mode 0700: %s",
			    cands[i].path, why);
		sm_debug("runtime directory %s (%s) not usable: %s", cands[i].path, cands[i].origin,
		         why);
	}
	sm_warnx("no runtime directory could be made (last: %s); the workers' notify sockets "
	         "will be abstract, reachable by any local user",
	         why);
	return 0;
}

void sm_rundir_remove(struct sm_rundir *rd)
{
	char parent[PATH_MAX];
	const char *name;
	struct sm_walk w;

	if (rd->path[0] == '\0')
		return;
	if (sm_paths_walk(rd->path, false, 0700, &w) == 0 && w.fd >= 0) {
		remove_sockets(w.fd, geteuid());
		close(w.fd);
	}
	name = split(rd->path, parent, sizeof(parent));
	if (rd->created && sm_paths_walk(parent, false, 0755, &w) == 0 && w.fd >= 0) {
		if (unlinkat(w.fd, name, AT_REMOVEDIR) < 0)
			sm_debug("runtime directory %s left in place: %s", rd->path,
			         strerror(errno));
		close(w.fd);
	}
	rd->path[0] = '\0';
}
