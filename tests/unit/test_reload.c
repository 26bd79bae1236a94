/* reload: a config read again replaces the one in force only when it
 * parses and its COMMAND is found; binds are compared; commit hands over. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <sentrik/config.h>
#include <sentrik/reload.h>

#define ARG(s) ((char *)(uintptr_t)(s))

static void parse_into(struct sm_config *cfg, int argc, char **argv)
{
	struct sm_error err;

	assert_int_equal(sm_config_parse(cfg, argc, argv, &err), SM_CONFIG_RUN);
}

static void init_needs_the_command(void **state)
{
	char *argv[] = {ARG("sentrik-master"), ARG("no-such-command-here"), NULL};
	struct sm_config cfg;
	struct sm_reload r;
	struct sm_error err;

	(void)state;
	sm_error_clear(&err);
	parse_into(&cfg, 2, argv);
	assert_int_equal(sm_reload_init(&r, &cfg, 2, argv, &err), -1);
	assert_int_equal(err.status, EX_UNAVAILABLE);
	assert_non_null(strstr(err.msg, "cannot execute 'no-such-command-here'"));
	sm_config_free(&cfg);
}

static void read_commit_and_cancel(void **state)
{
	char *argv[] = {ARG("sentrik-master"), ARG("-w"), ARG("2"), ARG("sh"), NULL};
	struct sm_config cfg;
	struct sm_reload r;
	struct sm_error err;

	(void)state;
	parse_into(&cfg, 4, argv);
	assert_int_equal(sm_reload_init(&r, &cfg, 4, argv, &err), 0);
	assert_non_null(strstr(r.path, "/sh"));

	/* read, then cancelled: nothing in force changed */
	assert_int_equal(sm_reload_read(&r, 0), 0);
	assert_non_null(r.next);
	sm_reload_cancel(&r);
	assert_null(r.next);
	assert_ptr_equal(r.cfg, &cfg);

	/* the command line now asks for 5 workers: in force after commit */
	argv[2] = ARG("5");
	assert_int_equal(sm_reload_read(&r, 0), 0);
	sm_reload_begin(&r);
	sm_reload_commit(&r);
	assert_null(r.next);
	assert_int_equal(r.cfg->workers, 5);
	sm_reload_commit(&r); /* nothing pending: nothing changes */
	assert_int_equal(r.cfg->workers, 5);

	/* a command line that no longer parses is refused */
	argv[2] = ARG("zero");
	assert_int_equal(sm_reload_read(&r, 1), -1);
	assert_null(r.next);
	assert_int_equal(r.cfg->workers, 5);
	sm_reload_free(&r);
	sm_config_free(&cfg);
}

static void binds_compared(void **state)
{
	char *a[] = {ARG("sentrik-master"), ARG("--bind"), ARG("127.0.0.1:8000"), ARG("sh"), NULL};
	char *b[] = {ARG("sentrik-master"), ARG("--bind"), ARG("127.0.0.1:8001"), ARG("sh"), NULL};
	struct sm_config ca, cb;

	(void)state;
	parse_into(&ca, 4, a);
	parse_into(&cb, 4, a);
	assert_false(sm_reload_option_changed(&ca, &cb, "bind"));
	sm_config_free(&cb);
	parse_into(&cb, 4, b);
	assert_true(sm_reload_option_changed(&ca, &cb, "bind"));
	assert_false(sm_reload_option_changed(&ca, &cb, "backlog"));
	sm_config_free(&ca);
	sm_config_free(&cb);
}

/* Each setting a reload cannot change is compared on its own. */
static void fixed_settings_compared(void **state)
{
	char *a[] = {ARG("sentrik-master"),
	             ARG("-u"),
	             ARG("app"),
	             ARG("--umask"),
	             ARG("027"),
	             ARG("--chown"),
	             ARG("/var/x"),
	             ARG("--log-file"),
	             ARG("/l"),
	             ARG("sh"),
	             NULL};
	char *b[] = {ARG("sentrik-master"),
	             ARG("-u"),
	             ARG("web"),
	             ARG("--umask"),
	             ARG("022"),
	             ARG("--chown"),
	             ARG("/var/x:0700"),
	             ARG("--log-file"),
	             ARG("/l"),
	             ARG("sh"),
	             NULL};
	struct sm_config ca, cb;

	(void)state;
	parse_into(&ca, 10, a);
	parse_into(&cb, 10, b);
	assert_true(sm_reload_option_changed(&ca, &cb, "user"));
	assert_true(sm_reload_option_changed(&ca, &cb, "umask"));
	assert_true(sm_reload_option_changed(&ca, &cb, "chown"));
	assert_false(sm_reload_option_changed(&ca, &cb, "log-file"));
	assert_false(sm_reload_option_changed(&ca, &cb, "group"));
	assert_false(sm_reload_option_changed(&ca, &cb, "no-such-option"));
	sm_config_free(&ca);
	sm_config_free(&cb);
}

static void pool_params_follow_ready_mode(void **state)
{
	char *argv[] = {ARG("sentrik-master"), ARG("-w"), ARG("3"), ARG("sh"), NULL};
	struct sm_config cfg;
	struct sm_pool_params p;

	(void)state;
	parse_into(&cfg, 4, argv);
	sm_reload_pool_params(&cfg, &p);
	assert_int_equal(p.workers, 3);
	assert_int_equal(p.max_workers, cfg.max_workers);
	/* the default: alive:1, with the ready timeout and the crash-loop limit */
	assert_int_equal(cfg.ready, SM_READY_ALIVE);
	assert_false(p.ready_on_exec);
	assert_true(p.ready_alive == 1);
	assert_true(p.ready_timeout == 60);
	assert_int_equal(p.start_retries, 5);
	assert_true(p.max_age == 0);
	sm_config_free(&cfg);
	/* under exec nothing times out */
	{
		char *ex[] = {ARG("sentrik-master"), ARG("--ready"), ARG("exec"), ARG("sh"), NULL};
		parse_into(&cfg, 4, ex);
		sm_reload_pool_params(&cfg, &p);
		assert_true(p.ready_on_exec);
		assert_true(p.ready_timeout == 0 && p.ready_alive == 0);
		sm_config_free(&cfg);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(init_needs_the_command),
	    cmocka_unit_test(read_commit_and_cancel),
	    cmocka_unit_test(binds_compared),
	    cmocka_unit_test(fixed_settings_compared),
	    cmocka_unit_test(pool_params_follow_ready_mode),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
