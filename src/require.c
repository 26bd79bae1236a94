/* require: checking --require-env before anything on the system changes,
 * so a missing secret stops the start with the variable's name. */
#include <string.h>

#include <sentrik/require.h>
#include <sentrik/env.h>

int sm_require_env(const struct sm_config *cfg, char *const *env, struct sm_report *rep)
{
	struct sm_env vars;
	size_t i;
	int rc = 0;

	if (sm_env_init(&vars, env, NULL) < 0)
		return sm_report_step(rep, EX_OSERR, "env", NULL, "out of memory");
	for (i = 0; i < cfg->n_require_env && !sm_report_stop(rep); i++) {
		const struct sm_require_env *r = &cfg->require_env[i];
		const char *v = sm_env_get(&vars, r->name);

		if (v == NULL || *v == '\0')
			rc = sm_report_step(rep, EX_CONFIG, "env", NULL, "%s must be set", r->name);
		else if (r->forbidden != NULL && strcmp(v, r->forbidden) == 0)
			rc = sm_report_step(rep, EX_CONFIG, "env", NULL,
			                    "%s must be changed from its default", r->name);
		else
			sm_report_step(rep, 0, "env", NULL, "%s is set%s", r->name,
			               r->forbidden != NULL ? " and not its default" : "");
	}
	sm_env_free(&vars);
	return rc;
}
