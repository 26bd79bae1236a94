/* Unit tests for report.c: a start keeps its first failure, with its fix,
 * and stops there. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sysexits.h>
#include <cmocka.h>

#include <sentrik/report.h>

static void report_keeps_the_first_failure(void **state)
{
	struct sm_report rep = {0};

	(void)state;
	sm_report_step(&rep, 0, "user", NULL, "fine");
	assert_false(sm_report_stop(&rep));
	sm_report_step(&rep, EX_CANTCREAT, "log dir", "chown 1:2 /x", "/x is not writable");
	sm_report_step(&rep, EX_UNAVAILABLE, "command", NULL, "later");
	assert_true(sm_report_stop(&rep));
	assert_int_equal(rep.first.status, EX_CANTCREAT);
	assert_string_equal(rep.first.msg, "/x is not writable; fix: chown 1:2 /x");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(report_keeps_the_first_failure),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
