/* drop: the one switch to USER — groups, gid, uid, every capability set,
 * no_new_privs — and its proof, read back from /proc/self/status. */
#ifndef SENTRIK_DROP_H
#define SENTRIK_DROP_H

#include <stdbool.h>
#include <stddef.h>

#include <sentrik/config.h>
#include <sentrik/error.h>
#include <sentrik/ident.h>
#include <sentrik/report.h>

/* The drop (groups, gid, uid, every capability set, no_new_privs unless
 * --allow-new-privs), then its proof; root mode: nothing to do.  0, or -1
 * with e filled (EX_NOPERM).  *bounding_cleared (if not NULL) says whether
 * the bounding set could be emptied.  Quiet: for the master and for the
 * preflight's child alike. */
int sm_drop_and_prove(const struct sm_config *cfg, const struct sm_identity *id, struct sm_error *e,
                      bool *bounding_cleared);

/* The master's drop: sm_drop_and_prove, a failure into rep, and the one
 * line that says who we are now. */
int sm_drop(const struct sm_config *cfg, const struct sm_identity *id, struct sm_report *rep);

/* The proof on the text of /proc/self/status: ids, groups, capability
 * sets and NoNewPrivs as asked (-1: not checked).  0, or -1 with why filled. */
int sm_drop_verify_status(const char *status, const struct sm_identity *id, bool check_bounding,
                          int no_new_privs, char *why, size_t whylen);

#endif
