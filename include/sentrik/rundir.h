/* rundir: the runtime directory (SPEC §3), USER's and 0700, made in the
 * root phase, holding the workers' notify sockets and the control socket;
 * what is ours in it goes at exit. */
#ifndef SENTRIK_RUNDIR_H
#define SENTRIK_RUNDIR_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <sentrik/config.h>
#include <sentrik/ident.h>
#include <sentrik/report.h>

/* The longest directory that leaves room, in a socket address (108
 * bytes), for "/notify." and a 20-digit counter. */
#define SM_RUNDIR_PATH_MAX 79
#define SM_RUNDIR_CANDIDATES 5

enum sm_rundir_kind {
	SM_RUNDIR_GIVEN,   /* --runtime-dir: made or taken over; a failure stops the start */
	SM_RUNDIR_SYSTEMD, /* $RUNTIME_DIRECTORY: systemd's, taken over */
	SM_RUNDIR_FRESH,   /* a default: made new by this start, under a shared parent */
};

struct sm_rundir_candidate {
	char path[PATH_MAX];
	enum sm_rundir_kind kind;
	const char *origin; /* for the log: "--runtime-dir", "RUNTIME_DIRECTORY", "/run" ... */
};

/* SPEC §3's order: --runtime-dir alone when given; else RUNTIME_DIRECTORY
 * (its first entry), /run/sentrik-master/PID when /run is writable,
 * /dev/shm/sentrik-master-PID, TMPDIR/sentrik-master-PID, then /tmp's.
 * Defaults with a relative or too long path are left out.  Pure. */
size_t sm_rundir_candidates(const char *given, const char *systemd, const char *tmpdir,
                            bool run_writable, const char *pid,
                            struct sm_rundir_candidate out[SM_RUNDIR_CANDIDATES]);

/* A name in /run/sentrik-master that may be a gone master's directory: a
 * pid in plain decimal (no sign, no leading zero), not self.  Its pid, or
 * 0.  Pure. */
pid_t sm_rundir_stale_pid(const char *name, pid_t self);

struct sm_rundir {
	char path[PATH_MAX]; /* "" when there is none */
	bool created;        /* made by this start: removed at exit if it can be */
};

/* Before the drop: the first candidate that can be made, owned by USER
 * (or by us when not root), mode 0700.  An explicit --runtime-dir that
 * cannot be made is the start's failure (-1, EX_CANTCREAT in rep); a
 * default only warns, and rd->path stays "".  With a --check report,
 * changes nothing and says what a start would do. */
int sm_rundir_prepare(const struct sm_config *cfg, const struct sm_identity *id,
                      struct sm_report *rep, struct sm_rundir *rd);
/* At exit, as USER: our own sockets in it, then the directory if this
 * start made it and its parent lets USER (a root-owned /run/sentrik-master
 * does not: the empty directory stays, and the next start with that pid
 * clears it). */
void sm_rundir_remove(struct sm_rundir *rd);

#endif
