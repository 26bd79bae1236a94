/* env: the workers' shared environment leaves out the master's own
 * variables and adds its pid, identity and LISTEN_*; each worker's adds
 * its id, generation, notify socket, watchdog and LISTEN_PID room. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <sentrik/env.h>

#define VAR(s) ((char *)(uintptr_t)(s))

static char *const master_environ[] = {
    VAR("PATH=/bin"),
    VAR("NOTIFY_SOCKET=/run/systemd/notify"),
    VAR("LISTEN_FDS=2"),
    VAR("LISTEN_PID=1"),
    VAR("WATCHDOG_USEC=1000"),
    VAR("SENTRIK_WORKER_ID=9"),
    VAR("HOME=/root"),
    VAR("NOEQUALSIGN"),
    NULL,
};

static void shared_leaves_out_master_vars(void **state)
{
	struct sm_env env;
	struct sm_env_shared shared = {
	    .environ = master_environ,
	    .master_pid = 42,
	    .home = "/home/app",
	    .user_name = "app",
	    .n_listen = 2,
	    .listen_names = "http:admin",
	};

	(void)state;
	assert_int_equal(sm_env_workers(&env, &shared), 0);
	assert_string_equal(sm_env_get(&env, "PATH"), "/bin");
	assert_string_equal(sm_env_get(&env, "SENTRIK_MASTER_PID"), "42");
	assert_string_equal(sm_env_get(&env, "HOME"), "/home/app");
	assert_string_equal(sm_env_get(&env, "USER"), "app");
	assert_string_equal(sm_env_get(&env, "LOGNAME"), "app");
	assert_string_equal(sm_env_get(&env, "LISTEN_FDS"), "2");
	assert_string_equal(sm_env_get(&env, "LISTEN_FDNAMES"), "http:admin");
	assert_null(sm_env_get(&env, "NOTIFY_SOCKET"));
	assert_null(sm_env_get(&env, "LISTEN_PID"));
	assert_null(sm_env_get(&env, "WATCHDOG_USEC"));
	assert_null(sm_env_get(&env, "SENTRIK_WORKER_ID"));
	assert_null(sm_env_get(&env, "NOEQUALSIGN"));
	assert_null(env.vars[env.n]);
	sm_env_free(&env);

	/* no user, no sockets: HOME stays, nothing LISTEN_ */
	shared.user_name = NULL;
	shared.n_listen = 0;
	assert_int_equal(sm_env_workers(&env, &shared), 0);
	assert_string_equal(sm_env_get(&env, "HOME"), "/root");
	assert_null(sm_env_get(&env, "USER"));
	assert_null(sm_env_get(&env, "LISTEN_FDS"));
	sm_env_free(&env);
}

static void set_replaces(void **state)
{
	struct sm_env env;

	(void)state;
	assert_int_equal(sm_env_init(&env, NULL, NULL), 0);
	assert_int_equal(sm_env_set(&env, "A", "1"), 0);
	assert_int_equal(sm_env_set(&env, "AB", "2"), 0);
	assert_int_equal(sm_env_set(&env, "A", "3"), 0);
	assert_int_equal(env.n, 2);
	assert_string_equal(sm_env_get(&env, "A"), "3");
	assert_string_equal(sm_env_get(&env, "AB"), "2");
	sm_env_free(&env);
}

static void worker_vars(void **state)
{
	struct sm_env env;
	struct sm_env_shared shared = {.environ = master_environ, .master_pid = 7};
	struct sm_env_worker w = {
	    .slot = 3,
	    .generation = 2,
	    .notify_socket = "@sentrik-1",
	    .watchdog_timeout = 1.5,
	    .listen = true,
	};
	char **envp;
	char *listen_pid;
	size_t i, n;

	(void)state;
	assert_int_equal(sm_env_workers(&env, &shared), 0);
	envp = calloc(env.n + SM_ENV_WORKER_VARS + 1, sizeof(*envp));
	assert_non_null(envp);
	listen_pid = sm_env_worker(&env, &w, envp);
	for (n = 0; envp[n] != NULL; n++)
		;
	assert_int_equal(n, env.n + SM_ENV_WORKER_VARS);
	for (i = 0; i < env.n; i++)
		assert_ptr_equal(envp[i], env.vars[i]);
	assert_string_equal(envp[i++], "SENTRIK_WORKER_ID=3");
	assert_string_equal(envp[i++], "SENTRIK_GENERATION=2");
	assert_string_equal(envp[i++], "NOTIFY_SOCKET=@sentrik-1");
	assert_string_equal(envp[i++], "WATCHDOG_USEC=1500000");
	assert_ptr_equal(envp[i], listen_pid);
	assert_string_equal(listen_pid, SM_LISTEN_PID_VAR);
	assert_true(sizeof(w.listen_pid) >= strlen(SM_LISTEN_PID_VAR) + SM_LISTEN_PID_ROOM);

	/* no notify socket: no watchdog either; no sockets: no LISTEN_PID */
	w.notify_socket = NULL;
	w.listen = false;
	assert_null(sm_env_worker(&env, &w, envp));
	assert_string_equal(envp[env.n + 1], "SENTRIK_GENERATION=2");
	assert_null(envp[env.n + 2]);
	free(envp);
	sm_env_free(&env);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(shared_leaves_out_master_vars),
	    cmocka_unit_test(set_replaces),
	    cmocka_unit_test(worker_vars),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
