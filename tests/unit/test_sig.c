/* Unit tests for sig.c: signal names and numbers. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <sentrik/sig.h>

static void names_with_and_without_prefix(void **state)
{
	(void)state;
	assert_int_equal(sm_sig_parse("TERM"), SIGTERM);
	assert_int_equal(sm_sig_parse("SIGTERM"), SIGTERM);
	assert_int_equal(sm_sig_parse("term"), SIGTERM);
	assert_int_equal(sm_sig_parse("SigUsr2"), SIGUSR2);
	assert_int_equal(sm_sig_parse("WINCH"), SIGWINCH);
	assert_int_equal(sm_sig_parse("15"), 15);
	assert_int_equal(sm_sig_parse("RTMIN"), SIGRTMIN);
	assert_int_equal(sm_sig_parse("RTMIN+2"), SIGRTMIN + 2);
	assert_int_equal(sm_sig_parse("RTMAX-1"), SIGRTMAX - 1);
}

static void bad_names(void **state)
{
	(void)state;
	assert_int_equal(sm_sig_parse(""), -1);
	assert_int_equal(sm_sig_parse(NULL), -1);
	assert_int_equal(sm_sig_parse("TERMS"), -1);
	assert_int_equal(sm_sig_parse("SIG"), -1);
	assert_int_equal(sm_sig_parse("0"), -1);
	assert_int_equal(sm_sig_parse("65"), -1);
	assert_int_equal(sm_sig_parse("15x"), -1);
	assert_int_equal(sm_sig_parse("RTMIN-1"), -1);
	assert_int_equal(sm_sig_parse("RTMIN+99"), -1);
	assert_int_equal(sm_sig_parse("-15"), -1);
}

static void number_to_name(void **state)
{
	(void)state;
	assert_string_equal(sm_sig_name(SIGKILL), "KILL");
	assert_string_equal(sm_sig_name(SIGTTIN), "TTIN");
	assert_string_equal(sm_sig_name(200), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(names_with_and_without_prefix),
	    cmocka_unit_test(bad_names),
	    cmocka_unit_test(number_to_name),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
