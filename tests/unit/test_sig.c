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
	assert_string_equal(sm_sig_name(SIGRTMIN), "RTMIN");
	assert_string_equal(sm_sig_name(SIGRTMIN + 5), "RTMIN+5");
	assert_int_equal(sm_sig_parse(sm_sig_name(SIGRTMAX)), SIGRTMAX);
}

/* SPEC §5, row by row. */
static void classification_table(void **state)
{
	static const int strays[] = {SIGUSR2, SIGALRM, SIGPROF,   SIGVTALRM, SIGTSTP,
	                             SIGXCPU, SIGXFSZ, SIGSTKFLT, SIGIO};
	static const int faults[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS, SIGABRT};
	static const int harmless[] = {SIGKILL, SIGSTOP, SIGCHLD, SIGCONT, SIGURG, SIGWINCH};
	size_t i;
	int sig;

	(void)state;
	for (i = 0; i < sm_sig_n_handled; i++) {
		assert_int_equal(sm_sig_classify(sm_sig_handled[i], false), SM_SIG_ACT);
		assert_int_equal(sm_sig_classify(sm_sig_handled[i], true), SM_SIG_ACT);
	}
	for (i = 0; i < sizeof(strays) / sizeof(strays[0]); i++) {
		assert_int_equal(sm_sig_classify(strays[i], false), SM_SIG_STRAY);
		assert_int_equal(sm_sig_classify(strays[i], true), SM_SIG_STRAY);
	}
	for (i = 0; i < sizeof(faults) / sizeof(faults[0]); i++)
		assert_int_equal(sm_sig_classify(faults[i], false), SM_SIG_DEFAULT);
	for (i = 0; i < sizeof(harmless) / sizeof(harmless[0]); i++)
		assert_int_equal(sm_sig_classify(harmless[i], true), SM_SIG_DEFAULT);
	assert_int_equal(sm_sig_classify(SIGPIPE, false), SM_SIG_QUIET);
	/* The halt signals are halts only to PID 1. */
	assert_int_equal(sm_sig_classify(SIGPWR, false), SM_SIG_STRAY);
	assert_int_equal(sm_sig_classify(SIGPWR, true), SM_SIG_HALT);
	assert_int_equal(sm_sig_classify(SIGRTMIN + 3, false), SM_SIG_STRAY);
	assert_int_equal(sm_sig_classify(SIGRTMIN + 3, true), SM_SIG_HALT);
	for (sig = SIGRTMIN; sig <= SIGRTMAX; sig++)
		if (sig != SIGRTMIN + 3)
			assert_int_equal(sm_sig_classify(sig, true), SM_SIG_STRAY);
	/* Every stray says something, USR2 that HUP is the reload. */
	assert_non_null(strstr(sm_sig_meaning(SIGUSR2), "HUP reloads"));
	assert_non_null(strstr(sm_sig_meaning(SIGRTMIN + 7), "--forward"));
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
	/* Strays wait for the loop that logs them; PIPE is ignored outright. */
	assert_int_equal(sigismember(&now, SIGALRM), 1);
	assert_int_equal(sigismember(&now, SIGRTMIN + 5), 1);
	assert_int_equal(sigismember(&now, SIGSEGV), 0);
	assert_true(signal(SIGPIPE, SIG_IGN) == SIG_IGN);
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
	    cmocka_unit_test(classification_table),
	    cmocka_unit_test(hold_and_release),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
