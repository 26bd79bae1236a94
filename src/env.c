/* env: the workers' environment, built once from the master's and topped
 * up per worker with its id, generation, notify socket and LISTEN_PID. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <sentrik/env.h>

/* Variables from outside that belong to the master, not to a worker. */
static const char *const master_vars[] = {
    "NOTIFY_SOCKET=", "LISTEN_PID=",    "LISTEN_FDS=", "LISTEN_FDNAMES=",
    "WATCHDOG_PID=",  "WATCHDOG_USEC=", "SENTRIK_",    NULL,
};

static int env_drops(const char *var, const char *const *drop)
{
	for (; drop != NULL && *drop != NULL; drop++) {
		size_t len = strlen(*drop);
		if (strncmp(var, *drop, len) == 0)
			return 1;
	}
	return 0;
}

static int env_reserve(struct sm_env *env, size_t more)
{
	if (env->n + more + 1 > env->cap) {
		size_t cap = (env->n + more + 1) * 2;
		char **vars = realloc(env->vars, cap * sizeof(char *));
		if (vars == NULL)
			return -1;
		env->vars = vars;
		env->cap = cap;
	}
	return 0;
}

int sm_env_init(struct sm_env *env, char *const *source, const char *const *drop)
{
	memset(env, 0, sizeof(*env));
	if (env_reserve(env, 16) < 0)
		return -1;
	for (; source != NULL && *source != NULL; source++) {
		if (env_drops(*source, drop) || strchr(*source, '=') == NULL)
			continue;
		if (env_reserve(env, 1) < 0 || (env->vars[env->n] = strdup(*source)) == NULL) {
			sm_env_free(env);
			return -1;
		}
		env->n++;
	}
	env->vars[env->n] = NULL;
	return 0;
}

static ssize_t env_find(const struct sm_env *env, const char *name)
{
	size_t i, len = strlen(name);

	for (i = 0; i < env->n; i++)
		if (strncmp(env->vars[i], name, len) == 0 && env->vars[i][len] == '=')
			return (ssize_t)i;
	return -1;
}

int sm_env_set(struct sm_env *env, const char *name, const char *value)
{
	size_t len = strlen(name) + strlen(value) + 2;
	ssize_t at = env_find(env, name);
	char *var = malloc(len);

	if (var == NULL || env_reserve(env, 1) < 0) {
		free(var);
		return -1;
	}
	memcpy(var, name, strlen(name));
	var[strlen(name)] = '=';
	strcpy(var + strlen(name) + 1, value);
	if (at >= 0) {
		free(env->vars[at]);
		env->vars[at] = var;
	} else {
		env->vars[env->n++] = var;
		env->vars[env->n] = NULL;
	}
	return 0;
}

const char *sm_env_get(const struct sm_env *env, const char *name)
{
	ssize_t at = env_find(env, name);

	return at >= 0 ? env->vars[at] + strlen(name) + 1 : NULL;
}

void sm_env_free(struct sm_env *env)
{
	size_t i;

	for (i = 0; i < env->n; i++)
		free(env->vars[i]);
	free(env->vars);
	memset(env, 0, sizeof(*env));
}

int sm_env_workers(struct sm_env *env, const struct sm_env_shared *s)
{
	char num[24];

	if (sm_env_init(env, s->environ, master_vars) < 0)
		return -1;
	snprintf(num, sizeof(num), "%ld", (long)s->master_pid);
	if (sm_env_set(env, "SENTRIK_MASTER_PID", num) < 0)
		goto fail;
	if (s->user_name != NULL &&
	    (sm_env_set(env, "HOME", s->home) < 0 || sm_env_set(env, "USER", s->user_name) < 0 ||
	     sm_env_set(env, "LOGNAME", s->user_name) < 0))
		goto fail;
	if (s->n_listen > 0) {
		snprintf(num, sizeof(num), "%zu", s->n_listen);
		if (sm_env_set(env, "LISTEN_FDS", num) < 0 ||
		    (s->listen_names != NULL &&
		     sm_env_set(env, "LISTEN_FDNAMES", s->listen_names) < 0))
			goto fail;
	}
	return 0;
fail:
	sm_env_free(env);
	return -1;
}

char *sm_env_worker(const struct sm_env *shared, struct sm_env_worker *w, char **envp)
{
	size_t n = shared->n;

	memcpy(envp, shared->vars, n * sizeof(*envp));
	snprintf(w->id_var, sizeof(w->id_var), "SENTRIK_WORKER_ID=%d", w->slot);
	snprintf(w->gen_var, sizeof(w->gen_var), "SENTRIK_GENERATION=%u", w->generation);
	envp[n++] = w->id_var;
	envp[n++] = w->gen_var;
	if (w->notify_socket != NULL) {
		snprintf(w->notify_var, sizeof(w->notify_var), "NOTIFY_SOCKET=%s",
		         w->notify_socket);
		envp[n++] = w->notify_var;
		/* An app that pings only when asked to (sd_watchdog_enabled) is asked. */
		if (w->watchdog_timeout > 0) {
			snprintf(w->watchdog_var, sizeof(w->watchdog_var), "WATCHDOG_USEC=%llu",
			         (unsigned long long)(w->watchdog_timeout * 1e6));
			envp[n++] = w->watchdog_var;
		}
	}
	if (w->listen) {
		snprintf(w->listen_pid, sizeof(w->listen_pid), "%s", SM_LISTEN_PID_VAR);
		envp[n++] = w->listen_pid;
	}
	envp[n] = NULL;
	return w->listen ? w->listen_pid : NULL;
}
