/* preflight: every path the service writes (and, for --check, COMMAND and
 * --chdir) tried by a short-lived child that has made the same drop. */
#ifndef SENTRIK_PREFLIGHT_H
#define SENTRIK_PREFLIGHT_H

#include <stdbool.h>

#include <sentrik/config.h>
#include <sentrik/ident.h>
#include <sentrik/report.h>

/* The log file and directory, the pid file and directory and the --chown
 * paths, checked as USER.  Before the preparation (prepared false) --chown
 * paths are judged as they will be once given to USER, so a start that
 * would fail changes nothing.  With a --check report, also COMMAND and
 * --chdir.  0, or -1 with the first failure in rep (EX_CANTCREAT,
 * EX_UNAVAILABLE, EX_NOPERM, EX_OSERR). */
int sm_preflight(const struct sm_config *cfg, const struct sm_identity *id, bool prepared,
                 struct sm_report *rep);

#endif
