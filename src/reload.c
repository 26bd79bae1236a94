/* reload: a generation change's preparation without the event loop: the
 * config read again, COMMAND looked up again, binds compared, hand-over. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sentrik/log.h>
#include <sentrik/reload.h>
#include <sentrik/spawn.h>

int sm_reload_init(struct sm_reload *r, const struct sm_config *cfg, int argc, char *const *argv,
                   struct sm_error *err)
{
	memset(r, 0, sizeof(*r));
	r->cfg = cfg;
	r->argc = argc;
	r->argv = argv;
	if (sm_spawn_resolve(cfg->command[0], getenv("PATH"), r->path, sizeof(r->path)) < 0)
		return sm_error_set(err, EX_UNAVAILABLE, "cannot execute '%s': %s", cfg->command[0],
		                    strerror(errno));
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
	    .ready_timeout = cfg->ready == SM_READY_NOTIFY ? cfg->ready_timeout : 0,
	    .watchdog_timeout = cfg->timeout,
	    .ready_on_exec = cfg->ready == SM_READY_EXEC,
	};
}

bool sm_reload_same_binds(const struct sm_config *a, const struct sm_config *b)
{
	size_t i;

	if (a->n_binds != b->n_binds || a->backlog != b->backlog || a->reuse_port != b->reuse_port)
		return false;
	for (i = 0; i < a->n_binds; i++)
		if (strcmp(a->binds[i], b->binds[i]) != 0)
			return false;
	return true;
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
	if (sm_spawn_resolve(cfg->command[0], getenv("PATH"), r->next_path, sizeof(r->next_path)) <
	    0) {
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

void sm_reload_begin(struct sm_reload *r, size_t n_listen)
{
	memcpy(r->path, r->next_path, sizeof(r->path));
	/* Sockets were bound before privileges were dropped; a new address
	 * (a port below 1024 above all) cannot be bound now. */
	if (r->next != NULL && !sm_reload_same_binds(r->cfg, r->next))
		sm_warnx("reload: --bind, --backlog and --reuse-port take effect only at start; "
		         "keeping the %zu listening sockets bound then",
		         n_listen);
}

int sm_reload_commit(struct sm_reload *r)
{
	struct sm_config *cfg = r->next;
	int delta;

	if (cfg == NULL)
		return 0;
	r->next = NULL;
	delta = cfg->workers - r->cfg->workers;
	config_drop(r->own);
	r->own = cfg;
	r->cfg = cfg;
	sm_log_setup(cfg->log_level, cfg->log_format);
	return delta;
}
