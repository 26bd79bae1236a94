/* Unit tests for rundir.c: the runtime directory's candidates in SPEC §3's
 * order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <sentrik/rundir.h>

static struct sm_rundir_candidate c[SM_RUNDIR_CANDIDATES];

/* --runtime-dir is the only candidate: no fallback hides its failure. */
static void given_alone(void **state)
{
	(void)state;
	assert_int_equal(
	    sm_rundir_candidates("/srv/app/run", "/run/app", "/var/tmp", true, "42", c), 1);
	assert_string_equal(c[0].path, "/srv/app/run");
	assert_int_equal(c[0].kind, SM_RUNDIR_GIVEN);
	/* Even a bad one: refused later, with its reason. */
	assert_int_equal(
	    sm_rundir_candidates("/a/very/long/path/that/leaves/no/room/for/the/names/of/"
	                         "the/sockets/in/it/at/all",
	                         NULL, NULL, true, "42", c),
	    1);
}

static void full_order(void **state)
{
	(void)state;
	assert_int_equal(
	    sm_rundir_candidates(NULL, "/run/app:/run/other", "/var/tmp", true, "42", c), 5);
	assert_string_equal(c[0].path, "/run/app");
	assert_int_equal(c[0].kind, SM_RUNDIR_SYSTEMD);
	assert_string_equal(c[1].path, "/run/sentrik-master/42");
	assert_int_equal(c[1].kind, SM_RUNDIR_FRESH);
	assert_string_equal(c[2].path, "/dev/shm/sentrik-master-42");
	assert_string_equal(c[3].path, "/var/tmp/sentrik-master-42");
	assert_string_equal(c[3].origin, "TMPDIR");
	assert_string_equal(c[4].path, "/tmp/sentrik-master-42");
}

/* No systemd, /run not writable (a non-root master, a read-only /run):
 * /dev/shm first; TMPDIR unset, relative, or /tmp itself adds nothing. */
static void defaults_without_run(void **state)
{
	(void)state;
	assert_int_equal(sm_rundir_candidates(NULL, NULL, NULL, false, "7", c), 2);
	assert_string_equal(c[0].path, "/dev/shm/sentrik-master-7");
	assert_string_equal(c[1].path, "/tmp/sentrik-master-7");
	assert_int_equal(sm_rundir_candidates(NULL, "", "tmp", false, "7", c), 2);
	assert_int_equal(sm_rundir_candidates(NULL, NULL, "/tmp", false, "7", c), 2);
	/* A TMPDIR too long for socket addresses is skipped. */
	assert_int_equal(sm_rundir_candidates(NULL, NULL,
	                                      "/home/someone/a/rather/long/temporary/directory/"
	                                      "name/that/goes/on",
	                                      false, "7", c),
	                 2);
}

/* Only a plain decimal pid, not ours, names a gone master's directory. */
static void stale_names(void **state)
{
	static const struct {
		const char *name;
		pid_t pid;
	} cases[] = {
	    {"1234", 1234},     {"2147483647", 2147483647},
	    {"99", 0},          {"2147483648", 0},
	    {"12345678901", 0}, {"0", 0},
	    {"0123", 0},        {"-12", 0},
	    {"12a", 0},         {"", 0},
	    {".", 0},           {"..", 0},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(sm_rundir_stale_pid(cases[i].name, 99), cases[i].pid);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(given_alone),
	    cmocka_unit_test(full_order),
	    cmocka_unit_test(defaults_without_run),
	    cmocka_unit_test(stale_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
