/* preflight: the paths the service writes, tried as USER by a child that
 * made the same drop (through sm_spawn_call), so a start fails before it changes anything. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sentrik/drop.h>
#include <sentrik/paths.h>
#include <sentrik/preflight.h>
#include <sentrik/spawn.h>

enum check_kind {
	CHECK_DIR,        /* must be a directory USER can write and search */
	CHECK_FILE,       /* if it exists, USER must be able to write it */
	CHECK_CHOWN,      /* a --chown path: must exist and be writable */
	CHECK_CHOWN_WILL, /* a --chown path a --check judges as prepared */
	CHECK_EXEC,       /* COMMAND, found in PATH and executable */
	CHECK_CHDIR,      /* --chdir, searchable */
	CHECK_READ,       /* --config: a reload reads it as USER (a warning only) */
};

struct check {
	enum check_kind kind;
	const char *label; /* the report's step column */
	const char *what;  /* what the path is, for the one-line message */
	char path[PATH_MAX];
	mode_t mode;
	const char *file; /* a log or pid file's: the file (the check is of it or its dir) */
};

/* What the child found for one check. */
struct check_result {
	int err;           /* 0: fine */
	int missing;       /* CHECK_FILE: not there yet, the service creates it */
	char at[PATH_MAX]; /* where it failed; for EXEC the path found */
};

/* ------------------------------------------------------------------ */
/* what to check */

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
	    {"config", "--config file"},
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
	char dir[PATH_MAX];
	const struct sm_chown *c;

	dir_of(file, dir, sizeof(dir));
	c = chown_target(cfg, dir);
	if (predict && c != NULL && id->mode != SM_ID_KEEP)
		n = add_check(checks, n, CHECK_CHOWN_WILL, dir_label, dir, c->mode);
	else
		n = add_check(checks, n, CHECK_DIR, dir_label, dir, 0);
	checks[n - 1].file = file;
	n = add_check(checks, n, CHECK_FILE, label, file, 0);
	checks[n - 1].file = file;
	return n;
}

static size_t build_checks(const struct sm_config *cfg, const struct sm_identity *id, bool predict,
                           bool whole, struct check *checks)
{
	size_t n = 0, i;

	for (i = 0; i < cfg->n_chowns; i++) {
		struct sm_walk w;
		if (predict && id->mode != SM_ID_KEEP) {
			/* A path the preparation refuses was reported there already. */
			if (sm_paths_walk(cfg->chowns[i].path, false, 0, &w) < 0)
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
	if (predict && cfg->config_file != NULL && id->mode == SM_ID_DROP)
		n = add_check(checks, n, CHECK_READ, "config", cfg->config_file, 0);
	if (whole) {
		if (cfg->chdir != NULL)
			n = add_check(checks, n, CHECK_CHDIR, "chdir", cfg->chdir, 0);
		n = add_check(checks, n, CHECK_EXEC, "command", cfg->command[0], 0);
		/* "./app" runs from --chdir: the worker changes there first. */
		if (cfg->chdir != NULL && cfg->command[0][0] != '/' &&
		    strchr(cfg->command[0], '/') != NULL)
			snprintf(checks[n - 1].path, sizeof(checks[n - 1].path), "%s/%s",
			         cfg->chdir, cfg->command[0]);
	}
	return n;
}

/* ------------------------------------------------------------------ */
/* the checks, as USER in the child */

/* The first component of path (an ancestor, or path itself) that USER
 * cannot search: the one to name in the message. */
static void blocking_ancestor(const char *path, char *out, size_t len)
{
	char prefix[PATH_MAX];
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

/* A --chown path judged as prepared: only the way there matters, PATH
 * itself will be USER's. */
static void check_way_to(const char *path, struct check_result *r)
{
	char dir[PATH_MAX];

	dir_of(path, dir, sizeof(dir));
	while (access(dir, F_OK) < 0 && errno == ENOENT && strcmp(dir, "/") != 0) {
		char up[PATH_MAX];
		dir_of(dir, up, sizeof(up));
		snprintf(dir, sizeof(dir), "%s", up);
	}
	if (access(dir, X_OK) < 0) {
		r->err = errno;
		blocking_ancestor(dir, r->at, sizeof(r->at));
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
	case CHECK_READ:
		if (access(c->path, R_OK) < 0)
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
	case CHECK_CHOWN_WILL:
		check_way_to(c->path, r);
		return;
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

/* What the child is given, and what it hands back: the drop's failure, or
 * one result per check. */
struct preflight_job {
	const struct sm_config *cfg;
	const struct sm_identity *id;
	const struct check *checks;
	size_t n;
};

struct preflight_answer {
	struct sm_error drop;
	struct check_result results[];
};

/* The child: the same drop, then every check. */
static void preflight_child(void *ctx, void *out)
{
	const struct preflight_job *job = ctx;
	struct preflight_answer *a = out;
	size_t i;

	if (sm_drop_and_prove(job->cfg, job->id, &a->drop, NULL) < 0)
		return;
	for (i = 0; i < job->n; i++)
		run_check(&job->checks[i], &a->results[i]);
}

/* ------------------------------------------------------------------ */
/* what the parent reports */

static void describe_owner(const char *path, char *out, size_t len)
{
	struct stat st;

	if (stat(path, &st) == 0)
		snprintf(out, len, "owner %lu:%lu, mode %04o", (unsigned long)st.st_uid,
		         (unsigned long)st.st_gid, (unsigned)(st.st_mode & 07777));
	else
		snprintf(out, len, "%s", strerror(errno));
}

/* Directories other services use, by name; /var/run is /run. */
static const char *const shared_names[] = {
    "/",          "/var",     "/var/log", "/run", "/var/run", "/tmp", "/var/tmp", "/var/lib",
    "/var/cache", "/dev/shm", "/etc",     "/usr", "/home",    "/srv", "/opt",     "/root",
};

/* A directory a fix must never give away: root's, and one of the system
 * directories, sticky, or holding entries of other owners. */
static bool shared_dir(const char *dir)
{
	struct dirent *ent;
	struct stat st;
	bool shared = false;
	size_t i;
	DIR *d;

	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != 0)
		return false;
	for (i = 0; i < sizeof(shared_names) / sizeof(shared_names[0]); i++)
		if (same_path(dir, shared_names[i]))
			return true;
	if (st.st_mode & S_ISVTX)
		return true;
	if ((d = opendir(dir)) == NULL)
		return false;
	for (i = 0; !shared && i < 1000 && (ent = readdir(d)) != NULL; i++)
		shared =
		    fstatat(dirfd(d), ent->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_uid != 0;
	closedir(d);
	return shared;
}

/* For a log or pid file whose directory is shared: a directory of the
 * service's own, named after the file (app.log -> app) or USER, in that
 * directory (in /var/log or /run when it is "/").  Writes the fix and
 * returns true, or false when the directory is not shared. */
static bool own_dir_fix(const struct check *c, const char *dir, const struct sm_identity *id,
                        char *fix, size_t len)
{
	bool log = strncmp(c->label, "log", 3) == 0;
	char real[PATH_MAX], app[NAME_MAX + 1];
	const char *base, *name;
	size_t i;

	if (c->file == NULL || realpath(dir, real) == NULL || !shared_dir(real))
		return false;
	name = strrchr(c->file, '/') != NULL ? strrchr(c->file, '/') + 1 : c->file;
	snprintf(app, sizeof(app), "%.*s", (int)strcspn(name, "."), name);
	for (i = 0; app[i] != '\0'; i++)
		if (!isalnum((unsigned char)app[i]) && app[i] != '-' && app[i] != '_')
			app[i] = '_';
	if (app[0] == '\0')
		snprintf(app, sizeof(app), "%s", id->name);
	base = strcmp(real, "/") != 0 ? real : log ? "/var/log" : "/run";
	if (snprintf(fix, len,
	             "give the service a directory of its own (%s is shared with other "
	             "services): --chown %s/%s --%s %s/%s/%s",
	             real, base, app, log ? "log-file" : "pid-file", base, app, name) >= (int)len)
		snprintf(fix, len, "give the service a directory of its own with --chown");
	return true;
}

/* A path USER could not use: the message and the fix for its errno. */
static int report_path_failure(const struct check *c, const struct check_result *r,
                               const struct sm_identity *id, int bad, struct sm_report *rep)
{
	unsigned long uid = (unsigned long)id->uid, gid = (unsigned long)id->gid;
	/* Room for three paths: the fix is dropped whole if it does not fit the report. */
	char fix[3 * PATH_MAX + 64], owner[128];

	describe_owner(r->at, owner, sizeof(owner));
	if (r->err == ENOENT) {
		if (c->kind == CHECK_CHOWN)
			snprintf(fix, sizeof(fix), "as root: mkdir -p %s && chown %lu:%lu %s",
			         c->path, uid, gid, c->path);
		else
			snprintf(fix, sizeof(fix),
			         "mkdir -p %s && chown %lu:%lu %s (or add --chown %s)", c->path,
			         uid, gid, c->path, c->path);
		return sm_report_step(rep, bad, c->label, c->kind == CHECK_CHDIR ? NULL : fix,
		                      "%s %s does not exist", c->what, c->path);
	}
	if (r->err == EROFS)
		return sm_report_step(rep, bad, c->label,
		                      "mount it read-write, or choose another path",
		                      "%s %s is on a read-only file system", c->what, c->path);
	if (r->err == EACCES && strcmp(r->at, c->path) != 0) {
		if (!own_dir_fix(c, r->at, id, fix, sizeof(fix)))
			snprintf(fix, sizeof(fix), "chmod o+x %s", r->at);
		return sm_report_step(
		    rep, bad, c->label, fix,
		    "%s %s cannot be reached by %lu:%lu: %s is not searchable (%s)", c->what,
		    c->path, uid, gid, r->at, owner);
	}
	if (r->err == EACCES) {
		char dir[PATH_MAX];

		dir_of(c->path, dir, sizeof(dir));
		if (!own_dir_fix(c, c->kind == CHECK_FILE ? dir : c->path, id, fix, sizeof(fix)))
			snprintf(fix, sizeof(fix), "chown %lu:%lu %s", uid, gid, c->path);
		return sm_report_step(
		    rep, bad, c->label, fix, "%s %s is not %s by %lu:%lu (%s)", c->what, c->path,
		    c->kind == CHECK_CHDIR ? "searchable" : "writable", uid, gid, owner);
	}
	return sm_report_step(rep, bad, c->label, NULL, "%s %s: %s", c->what, c->path,
	                      strerror(r->err));
}

static int report_check(const struct check *c, const struct check_result *r,
                        const struct sm_identity *id, struct sm_report *rep)
{
	int bad = c->kind == CHECK_EXEC || c->kind == CHECK_CHDIR ? EX_UNAVAILABLE : EX_CANTCREAT;
	unsigned long uid = (unsigned long)id->uid, gid = (unsigned long)id->gid;

	if (c->kind == CHECK_READ && r->err != 0) {
		/* Not a reason to refuse the start: only reloads need it. */
		if (rep->out == NULL)
			sm_warnx("%s %s cannot be read by %lu:%lu (%s): a reload (HUP) will fail",
			         c->what, c->path, uid, gid, strerror(r->err));
		return sm_report_step(rep, 0, c->label, NULL,
		                      "%s cannot be read by %lu:%lu (%s): a reload will fail "
		                      "(warning)",
		                      c->path, uid, gid, strerror(r->err));
	}
	if (c->kind == CHECK_CHOWN_WILL && r->err == 0 && (c->mode & 0300) != 0300)
		return sm_report_step(rep, EX_CANTCREAT, c->label,
		                      "give --chown a mode with u+wx, e.g. :0755",
		                      "%s %s: mode %04o would not let %lu:%lu write it", c->what,
		                      c->path, (unsigned)c->mode, uid, gid);
	if (r->err == 0 && c->kind == CHECK_EXEC)
		return sm_report_step(rep, 0, c->label, NULL, "%s is executable by %lu:%lu", r->at,
		                      uid, gid);
	if (r->err == 0)
		return sm_report_step(rep, 0, c->label, NULL, "%s %s by %lu:%lu", c->path,
		                      c->kind == CHECK_CHDIR  ? "can be entered"
		                      : c->kind == CHECK_READ ? "can be read (for reloads)"
		                      : c->kind == CHECK_CHOWN_WILL
		                          ? "will be reachable and writable"
		                      : r->missing ? "will be created"
		                                   : "is writable",
		                      uid, gid);
	if (c->kind == CHECK_EXEC)
		return sm_report_step(
		    rep, bad, c->label, "install it, fix PATH, or make it executable by USER",
		    "cannot execute '%s' as %lu:%lu: %s", c->path, uid, gid, strerror(r->err));
	return report_path_failure(c, r, id, bad, rep);
}

/* ------------------------------------------------------------------ */

/* The checks' results, reported until a start has its failure. */
static int report_answer(const struct check *checks, size_t n, const struct preflight_answer *a,
                         const struct sm_identity *id, struct sm_report *rep)
{
	size_t i;
	int rc = 0;

	if (sm_error_failed(&a->drop))
		return sm_report_step(rep, a->drop.status, "drop", NULL, "%s", a->drop.msg);
	for (i = 0; i < n && !sm_report_stop(rep); i++)
		if (report_check(&checks[i], &a->results[i], id, rep) < 0)
			rc = -1;
	return rc;
}

int sm_preflight(const struct sm_config *cfg, const struct sm_identity *id, bool prepared,
                 struct sm_report *rep)
{
	struct preflight_job job = {.cfg = cfg, .id = id};
	struct preflight_answer *answer = NULL;
	struct check *checks;
	size_t len;
	int rc = -1;

	checks = calloc(cfg->n_chowns + 8, sizeof(*checks));
	if (checks == NULL)
		return sm_report_step(rep, EX_OSERR, "preflight", NULL, "out of memory");
	job.checks = checks;
	job.n = build_checks(cfg, id, !prepared, rep->out != NULL, checks);
	len = sizeof(*answer) + job.n * sizeof(answer->results[0]);
	if (job.n == 0) {
		rc = 0;
	} else if ((answer = calloc(1, len)) == NULL) {
		sm_report_step(rep, EX_OSERR, "preflight", NULL, "out of memory");
	} else {
		fflush(NULL); /* nothing buffered may be written twice by the child */
		if (sm_spawn_call(preflight_child, &job, answer, len) == 0)
			rc = report_answer(checks, job.n, answer, id, rep);
		else if (errno == ETIMEDOUT)
			sm_report_step(
			    rep, EX_OSERR, "preflight", NULL,
			    "the check as %lu:%lu did not finish within " SM_SPAWN_CALL_TEXT
			    " (a path on a file system that does not answer?)",
			    (unsigned long)id->uid, (unsigned long)id->gid);
		else if (errno == EIO)
			sm_report_step(rep, EX_OSERR, "preflight", NULL,
			               "the check as %lu:%lu ended early", (unsigned long)id->uid,
			               (unsigned long)id->gid);
		else
			sm_report_step(rep, EX_OSERR, "preflight", NULL,
			               "cannot start the check as %lu:%lu: %s",
			               (unsigned long)id->uid, (unsigned long)id->gid,
			               strerror(errno));
	}
	free(answer);
	free(checks);
	return rc;
}
