/* priv: the root phase of SPEC §3 — who to become, required environment,
 * --chown paths, the writable-path preflight as USER, the drop and its
 * proof, the pid file; and the same steps as a --check report. */
#ifndef SENTRIK_PRIV_H
#define SENTRIK_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include <sentrik/config.h>
#include <sentrik/log.h>

#define SM_PRIV_MAX_GROUPS 256
#define SM_PRIV_PATH_MAX 4096

/* How a step ended; main.c alone turns it into an exit code. */
enum sm_priv_status {
	SM_PRIV_OK = 0,
	SM_PRIV_USAGE,      /* malformed value: 64 */
	SM_PRIV_NO_SUCH_ID, /* unknown user or group: 67 */
	SM_PRIV_EXEC,       /* COMMAND or --chdir unusable by USER: 69 */
	SM_PRIV_SYSTEM,     /* fork, pipe, memory: 71 */
	SM_PRIV_PATH,       /* cannot create or write a path: 73 */
	SM_PRIV_DENIED,     /* cannot switch user, drop failed or not proven: 77 */
	SM_PRIV_ENV,        /* required environment missing: 78 */
};

enum sm_id_mode {
	SM_ID_ROOT, /* root without --user (or --user root): no drop, one warning */
	SM_ID_DROP, /* root with --user: the full drop */
	SM_ID_KEEP, /* started non-root: keep uid/gid, shed capabilities only */
};

/* Who the service runs as once the root phase is over. */
struct sm_identity {
	enum sm_id_mode mode;
	uid_t uid;
	gid_t gid;
	bool has_passwd;                  /* USER has a passwd entry (groups come from it) */
	bool set_env;                     /* give workers HOME/USER/LOGNAME of the target */
	gid_t groups[SM_PRIV_MAX_GROUPS]; /* the supplementary groups expected */
	size_t n_groups;
	char name[256];              /* passwd name, or the decimal uid without an entry */
	char home[SM_PRIV_PATH_MAX]; /* passwd home, "/" without an entry */
};

/* What a step found.  A start keeps the first failure for its one FATAL
 * line; --check prints every step with ok/FAIL and the fix. */
struct sm_report {
	FILE *out;                            /* --check: every step goes here; NULL: a start */
	enum sm_priv_status first;            /* the first failure, SM_PRIV_OK while none */
	char msg[2 * SM_PRIV_PATH_MAX + 512]; /* its message and fix, one line */
};

void sm_report_step(struct sm_report *rep, enum sm_priv_status st, const char *step,
                    const char *fix, const char *fmt, ...) SM_ATTR_PRINTF(5, 6);
/* True once a start has a failure: the steps that change things stop. */
bool sm_report_stop(const struct sm_report *rep);

/* A USER or GROUP word: all digits is a number (uid/gid, no entry needed),
 * anything else a name to look up. */
enum sm_id_kind {
	SM_ID_INVALID,
	SM_ID_NUMBER,
	SM_ID_NAME
};
enum sm_id_kind sm_priv_parse_id(const char *s, unsigned long *number);

/* Resolve --user/--group against the user and group databases and against
 * who we are now (root or not).  Nothing changes on the system. */
enum sm_priv_status sm_priv_resolve(const struct sm_config *cfg, struct sm_identity *id,
                                    struct sm_report *rep);

/* --require-env against env (a NULL-terminated "NAME=VALUE" array). */
enum sm_priv_status sm_priv_check_env(const struct sm_config *cfg, char *const *env,
                                      struct sm_report *rep);

/* Walking a path from "/" one component at a time, never following a
 * symlink, so a link planted in a volume cannot redirect a chown. */
enum sm_walk_fail {
	SM_WALK_OK,
	SM_WALK_SYMLINK, /* a component is a symlink */
	SM_WALK_NOTDIR,  /* a parent is not a directory */
	SM_WALK_TYPE,    /* the final component is neither a directory nor a file */
	SM_WALK_BADNAME, /* not absolute, "..", "/" itself, or too long */
	SM_WALK_ERRNO,   /* a system call failed: err */
};

struct sm_walk {
	int fd;       /* the final component (O_RDONLY); -1 if missing (no create) */
	bool created; /* the final component was created by this walk */
	bool missing; /* create == false and a component does not exist */
	enum sm_walk_fail fail;
	int err;
	char at[SM_PRIV_PATH_MAX]; /* the prefix of the path where the walk stopped */
};

/* Open path.  With create, missing directories are made (parents 0755
 * root-owned as created, the last one dir_mode).  0 or -1 with w->fail. */
int sm_priv_walk(const char *path, bool create, mode_t dir_mode, struct sm_walk *w);
/* Walk (creating) and give the final component to uid:gid with mode. */
int sm_priv_chown_path(const char *path, uid_t uid, gid_t gid, mode_t mode, struct sm_walk *w);

/* --chown as root: create and give every path to USER with its mode.
 * Not root: nothing here (the preflight verifies).  With a --check report,
 * changes nothing and says what would be done. */
enum sm_priv_status sm_priv_prepare_paths(const struct sm_config *cfg, const struct sm_identity *id,
                                          struct sm_report *rep);

/* Every path the service writes (log file and directory, pid file, --chown
 * paths) checked by a short-lived child that has made the same drop.
 * Before the preparation (prepared false) --chown paths are judged as they
 * will be once given to USER, so a start that would fail changes nothing.
 * With a --check report, also COMMAND and --chdir as USER. */
enum sm_priv_status sm_priv_preflight(const struct sm_config *cfg, const struct sm_identity *id,
                                      bool prepared, struct sm_report *rep);

/* The drop (groups, gid, uid, every capability set, no_new_privs unless
 * --allow-new-privs), then its proof.  Root mode: nothing to do. */
enum sm_priv_status sm_priv_drop(const struct sm_config *cfg, const struct sm_identity *id,
                                 struct sm_report *rep);

/* The proof on the text of /proc/self/status: ids, groups, capability
 * sets and NoNewPrivs as asked.  0, or -1 with why filled. */
int sm_priv_verify_status(const char *status, const struct sm_identity *id, bool check_bounding,
                          int no_new_privs, char *why, size_t whylen);

/* The pid file, written as USER after the drop; removed only while it
 * still holds our pid. */
enum sm_priv_status sm_priv_write_pidfile(const char *path, struct sm_report *rep);
void sm_priv_remove_pidfile(const char *path);

#endif
