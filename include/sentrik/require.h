/* require: --require-env, the variables the service refuses to start
 * without (set, non-empty, and not left at a known default). */
#ifndef SENTRIK_REQUIRE_H
#define SENTRIK_REQUIRE_H

#include <sentrik/config.h>
#include <sentrik/report.h>

/* Every --require-env against env (a NULL-terminated "NAME=VALUE" array,
 * NULL for none).  0, or -1 with the first failure in rep (EX_CONFIG, EX_OSERR). */
int sm_require_env(const struct sm_config *cfg, char *const *env, struct sm_report *rep);

#endif
