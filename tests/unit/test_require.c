/* Unit tests for require.c: --require-env set, empty, unset and left at
 * its default. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sysexits.h>
#include <cmocka.h>

#include <sentrik/require.h>

static void require_env(void **state)
{
	struct sm_require_env reqs[] = {{"SECRET_KEY", NULL}, {"DB_PASSWORD", "changeme"}};
	struct sm_config cfg = {.require_env = reqs, .n_require_env = 2};
	char *good[] = {"SECRET_KEY=x", "DB_PASSWORD=s3cret", NULL};
	char *unset[] = {"SECRET_KEYX=1", "DB_PASSWORD=s3cret", NULL};
	char *empty[] = {"SECRET_KEY=", "DB_PASSWORD=s3cret", NULL};
	char *deflt[] = {"SECRET_KEY=x", "DB_PASSWORD=changeme", NULL};
	struct sm_report rep = {0};

	(void)state;
	assert_int_equal(sm_require_env(&cfg, good, &rep), 0);
	assert_int_equal(rep.first.status, 0);

	assert_int_equal(sm_require_env(&cfg, unset, &rep), -1);
	assert_int_equal(rep.first.status, EX_CONFIG);
	assert_string_equal(rep.first.msg, "SECRET_KEY must be set");

	rep = (struct sm_report){0};
	assert_int_equal(sm_require_env(&cfg, empty, &rep), -1);
	assert_int_equal(rep.first.status, EX_CONFIG);
	assert_string_equal(rep.first.msg, "SECRET_KEY must be set");

	rep = (struct sm_report){0};
	assert_int_equal(sm_require_env(&cfg, deflt, &rep), -1);
	assert_int_equal(rep.first.status, EX_CONFIG);
	assert_string_equal(rep.first.msg, "DB_PASSWORD must be changed from its default");

	rep = (struct sm_report){0};
	assert_int_equal(sm_require_env(&cfg, NULL, &rep), -1);
	assert_int_equal(rep.first.status, EX_CONFIG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(require_env),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
