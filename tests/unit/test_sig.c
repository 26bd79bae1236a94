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

/* hold replaces the whole mask (an inherited CHLD block goes), blocks the
 * handled signals that must not take their default action while starting
 * and the forwarded ones, but not TERM, INT, QUIT; release unblocks them. */
static void hold_and_release(void **state)
{
	sigset_t set, now;
	size_t i;

	(void)state;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	assert_int_equal(sigprocmask(SIG_SETMASK, &set, NULL), 0);
	assert_int_equal(sm_sig_hold(UINT64_C(1) << (SIGUSR2 - 1)), 0);
	assert_int_equal(sigprocmask(SIG_SETMASK, NULL, &now), 0);
	for (i = 0; i < sm_sig_n_handled; i++) {
		int sig = sm_sig_handled[i];
		int stops = sig == SIGTERM || sig == SIGINT || sig == SIGQUIT;

		assert_int_equal(sigismember(&now, sig), !stops);
	}
	assert_int_equal(sigismember(&now, SIGUSR2), 1);
	assert_int_equal(sigismember(&now, SIGCHLD), 0);
	assert_int_equal(sigismember(&now, SIGWINCH), 0);
	assert_int_equal(sm_sig_release(UINT64_C(1) << (SIGUSR2 - 1)), 0);
	assert_int_equal(sigprocmask(SIG_SETMASK, NULL, &now), 0);
	assert_int_equal(sigisemptyset(&now), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(names_with_and_without_prefix),
	    cmocka_unit_test(bad_names),
	    cmocka_unit_test(number_to_name),
	    cmocka_unit_test(hold_and_release),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
