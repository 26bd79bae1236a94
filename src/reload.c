/* reload: a generation change's preparation without the event loop: the
 * config read again, COMMAND looked up again, binds compared, hand-over. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sentrik/log.h>
#include <sentrik/reload.h>
#include <sentrik/spawn.h>

/* "./app" with --chdir: looked for where the worker will run it. */
static bool from_chdir(const struct sm_config *cfg)
{
	return cfg->chdir != NULL && cfg->command[0][0] != '/' &&
	       strchr(cfg->command[0], '/') != NULL;
}

int sm_reload_init(struct sm_reload *r, const struct sm_config *cfg, int argc, char *const *argv,
                   struct sm_error *err)
{
	memset(r, 0, sizeof(*r));
	r->cfg = cfg;
	r->argc = argc;
	r->argv = argv;
	if (sm_spawn_resolve_in(cfg->chdir, cfg->command[0], getenv("PATH"), r->path,
	                        sizeof(r->path)) < 0)
		return sm_error_set(err, EX_UNAVAILABLE, "cannot execute '%s': %s%s%s%s",
		                    cfg->command[0], strerror(errno),
		                    from_chdir(cfg) ? " (a relative path: resolved from --chdir "
		                                    : "",
		                    from_chdir(cfg) ? cfg->chdir : "", from_chdir(cfg) ? ")" : "");
	return 0;
}

static void config_drop(struct sm_config *cfg)
{
	if (cfg == NULL)
		return;
	sm_config_free(cfg);
	free(cfg);
}

void sm_reload_free(struct sm_reload *r)
{
	sm_reload_cancel(r);
	config_drop(r->own);
	r->own = NULL;
}

void sm_reload_pool_params(const struct sm_config *cfg, struct sm_pool_params *p)
{
	*p = (struct sm_pool_params){
	    .workers = cfg->workers,
	    .max_workers = cfg->max_workers,
	    .stop_signal = cfg->stop_signal,
	    .graceful_timeout = cfg->graceful_timeout,
	    .ready_timeout = cfg->ready == SM_READY_EXEC ? 0 : cfg->ready_timeout,
	    .ready_alive = cfg->ready == SM_READY_ALIVE ? cfg->ready_alive : 0,
	    .watchdog_timeout = cfg->timeout,
	    .max_age = cfg->max_worker_age,
	    .start_retries = cfg->start_retries,
	    .ready_on_exec = cfg->ready == SM_READY_EXEC,
	};
}

static bool strings_differ(const char *x, const char *y)
{
	return (x == NULL) != (y == NULL) || (x != NULL && strcmp(x, y) != 0);
}

static bool chowns_differ(const struct sm_config *a, const struct sm_config *b)
{
	size_t i;

	if (a->n_chowns != b->n_chowns)
		return true;
	for (i = 0; i < a->n_chowns; i++)
		if (strcmp(a->chowns[i].path, b->chowns[i].path) != 0 ||
		    a->chowns[i].mode != b->chowns[i].mode)
			return true;
	return false;
}

static bool require_env_differs(const struct sm_config *a, const struct sm_config *b)
{
	size_t i;

	if (a->n_require_env != b->n_require_env)
		return true;
	for (i = 0; i < a->n_require_env; i++)
		if (strcmp(a->require_env[i].name, b->require_env[i].name) != 0 ||
		    strings_differ(a->require_env[i].forbidden, b->require_env[i].forbidden))
			return true;
	return false;
}

static bool binds_differ(const struct sm_config *a, const struct sm_config *b)
{
	size_t i;

	if (a->n_binds != b->n_binds)
		return true;
	for (i = 0; i < a->n_binds; i++)
		if (strcmp(a->binds[i], b->binds[i]) != 0)
			return true;
	return false;
}

bool sm_reload_option_changed(const struct sm_config *a, const struct sm_config *b,
                              const char *name)
{
	if (strcmp(name, "max-workers") == 0)
		return a->max_workers != b->max_workers;
	if (strcmp(name, "user") == 0)
		return strings_differ(a->user, b->user);
	if (strcmp(name, "group") == 0)
		return strings_differ(a->group, b->group);
	if (strcmp(name, "umask") == 0)
		return a->umask_set != b->umask_set || a->umask != b->umask;
	if (strcmp(name, "chown") == 0)
		return chowns_differ(a, b);
	if (strcmp(name, "require-env") == 0)
		return require_env_differs(a, b);
	if (strcmp(name, "bind") == 0)
		return binds_differ(a, b);
	if (strcmp(name, "backlog") == 0)
		return a->backlog != b->backlog;
	if (strcmp(name, "reuse-port") == 0)
		return a->reuse_port != b->reuse_port;
	if (strcmp(name, "log-file") == 0)
		return strings_differ(a->log_file, b->log_file);
	if (strcmp(name, "pid-file") == 0)
		return strings_differ(a->pid_file, b->pid_file);
	if (strcmp(name, "allow-new-privs") == 0)
		return a->allow_new_privs != b->allow_new_privs;
	return false; /* one it cannot compare is not reported */
}

/* The current config stays in force unless all of the new one is valid. */
static struct sm_config *reread_config(const struct sm_reload *r, unsigned serving_gen)
{
	struct sm_config *cfg = calloc(1, sizeof(*cfg));
	struct sm_error err;

	if (cfg == NULL) {
		sm_errorx("reload refused: out of memory; generation %u keeps serving",
		          serving_gen);
		return NULL;
	}
	if (sm_config_parse(cfg, r->argc, r->argv, &err) != SM_CONFIG_RUN) {
		sm_errorx("reload refused: %s; generation %u keeps serving",
		          err.msg[0] ? err.msg : "invalid configuration", serving_gen);
		config_drop(cfg);
		return NULL;
	}
	return cfg;
}

int sm_reload_read(struct sm_reload *r, unsigned serving_gen)
{
	const struct sm_config *cfg;

	sm_reload_cancel(r);
	if (r->argv != NULL && (r->next = reread_config(r, serving_gen)) == NULL)
		return -1;
	cfg = r->next != NULL ? r->next : r->cfg;
	if (sm_spawn_resolve_in(cfg->chdir, cfg->command[0], getenv("PATH"), r->next_path,
	                        sizeof(r->next_path)) < 0) {
		sm_errorx("reload refused: cannot execute '%s': %s; generation %u keeps serving",
		          cfg->command[0], strerror(errno), serving_gen);
		sm_reload_cancel(r);
		return -1;
	}
	return 0;
}

void sm_reload_cancel(struct sm_reload *r)
{
	config_drop(r->next);
	r->next = NULL;
}

void sm_reload_begin(struct sm_reload *r)
{
	const char *name;
	size_t i;

	memcpy(r->path, r->next_path, sizeof(r->path));
	if (r->next == NULL)
		return;
	/* What the root phase did once (sockets bound, paths given away, the
	 * drop) cannot be done again as USER: said, then kept as it was. */
	for (i = 0; (name = sm_config_option(i)) != NULL; i++)
		if (!sm_config_reloadable(name) && sm_reload_option_changed(r->cfg, r->next, name))
			sm_warnx("`%s` changed in the config: takes effect at the next start",
			         name);
}

void sm_reload_commit(struct sm_reload *r)
{
	struct sm_config *cfg = r->next;

	if (cfg == NULL)
		return;
	r->next = NULL;
	config_drop(r->own);
	r->own = cfg;
	r->cfg = cfg;
	sm_log_setup(cfg->log_level, cfg->log_format);
}
