/* paths: reaching a path from "/" without following a symlink, and the
 * --chown preparation that gives paths to USER that way. */
#ifndef SENTRIK_PATHS_H
#define SENTRIK_PATHS_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

#include <sentrik/config.h>
#include <sentrik/error.h>
#include <sentrik/ident.h>
#include <sentrik/report.h>

/* Walking a path from "/" one component at a time, never following a
 * symlink, so a link planted in a volume cannot redirect a chown. */
enum sm_walk_fail {
	SM_WALK_OK,
	SM_WALK_SYMLINK, /* a component is a symlink */
	SM_WALK_NOTDIR,  /* a parent is not a directory */
	SM_WALK_TYPE,    /* the final component is neither a directory nor a file */
	SM_WALK_BADNAME, /* not absolute, "..", "/" itself, or too long */
	SM_WALK_LINKS,   /* --chown: a regular file with more than one link */
	SM_WALK_ERRNO,   /* a system call failed: err */
};

struct sm_walk {
	int fd;       /* the final component (O_RDONLY); -1 if missing (no create) */
	bool created; /* the final component was created by this walk */
	bool missing; /* create == false and a component does not exist */
	enum sm_walk_fail fail;
	int err;
	bool is_file;        /* --chown: the final component is a regular file */
	unsigned long links; /* --chown: its link count */
	char at[PATH_MAX];   /* the prefix of the path where the walk stopped */
};

/* Open path.  With create, missing directories are made (parents 0755
 * root-owned as created, the last one dir_mode).  0 or -1 with w->fail. */
int sm_paths_walk(const char *path, bool create, mode_t dir_mode, struct sm_walk *w);
/* Walk (creating) to c->path and give it to uid:gid: a directory with
 * c->mode, a regular file with c->mode only when one was given
 * (c->mode_set), else its own; a regular file with more than one link is
 * refused (SM_WALK_LINKS). */
int sm_paths_chown(const struct sm_chown *c, uid_t uid, gid_t gid, struct sm_walk *w);

/* --chown as root: create and give every path to USER with its mode.
 * Not root: nothing here (the preflight verifies).  With a --check report,
 * changes nothing and says what would be done.  0, or -1 (EX_CANTCREAT). */
int sm_paths_prepare(const struct sm_config *cfg, const struct sm_identity *id,
                     struct sm_report *rep);

/* Started as root with a user to switch to: the --config file must be one
 * only root can change (sshd's StrictModes).  Symlinks are followed (a
 * Kubernetes ConfigMap's ..data chain); every directory on the way, each
 * symlink and the file must be root's and not writable by group or
 * others, or be on a read-only mount and not user's; the file must be a
 * regular file.  0, or -1 with e set (EX_CONFIG) naming the step and the
 * fix. */
int sm_paths_trusted(const char *path, uid_t user, struct sm_error *e);
/* The step of the start (and --check): sm_paths_trusted when started as
 * root with a user (from the command line or the file), else nothing.
 * 0, or -1 with the failure in rep (EX_CONFIG). */
int sm_paths_check_config(const struct sm_config *cfg, const struct sm_identity *id,
                          struct sm_report *rep);

#endif
