/* ident: who the service runs as — USER and GROUP resolved against the
 * user and group databases (read in a short-lived child) and against who we are. */
#ifndef SENTRIK_IDENT_H
#define SENTRIK_IDENT_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <sentrik/config.h>
#include <sentrik/report.h>

#define SM_IDENT_MAX_GROUPS 256

/* Root without CAP_SETPCAP: said by the resolution, and by the drop
 * should it still get that far. */
#define SM_IDENT_NO_SETPCAP                                                                        \
	"cannot clear the capability bounding set without CAP_SETPCAP, "                           \
	"and --allow-new-privs would let it matter"

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
	bool has_passwd;                   /* USER has a passwd entry (groups come from it) */
	bool set_env;                      /* give workers HOME/USER/LOGNAME of the target */
	gid_t groups[SM_IDENT_MAX_GROUPS]; /* the supplementary groups expected */
	size_t n_groups;
	char name[256];      /* passwd name, or the decimal uid without an entry */
	char home[PATH_MAX]; /* passwd home, "/" without an entry */
};

/* A USER or GROUP word: all digits is a number (uid/gid, no entry needed),
 * anything else a name to look up. */
enum sm_id_kind {
	SM_ID_INVALID,
	SM_ID_NUMBER,
	SM_ID_NAME
};
enum sm_id_kind sm_ident_parse(const char *s, unsigned long *number);

/* Resolve --user/--group against the user and group databases and against
 * who we are now (root or not).  Nothing changes on the system.  0, or -1
 * with the failure in rep (EX_USAGE, EX_NOUSER, EX_OSERR, EX_NOPERM). */
int sm_ident_resolve(const struct sm_config *cfg, struct sm_identity *id, struct sm_report *rep);

/* "1001,2000", or "none": the groups as the report and the log say them. */
void sm_ident_format_groups(const struct sm_identity *id, char *buf, size_t len);

#endif
