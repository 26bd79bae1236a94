/* spawn: sm_spawn_call runs a job in a child and brings back its answer;
 * sm_spawn_resolve finds a command as execvp would. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <sentrik/spawn.h>

static int touched; /* set by a job: must stay 0 in the parent */

struct answer {
	pid_t pid;
	int value;
	char text[32];
};

static void job(void *ctx, void *out)
{
	struct answer *a = out;

	touched = 1;
	a->pid = getpid();
	a->value = *(int *)ctx * 2;
	strcpy(a->text, "from the child");
}

static void dying_job(void *ctx, void *out)
{
	(void)ctx;
	(void)out;
	_exit(3);
}

static void call_brings_the_answer_back(void **state)
{
	struct answer a = {0};
	int in = 21;

	(void)state;
	assert_int_equal(sm_spawn_call(job, &in, &a, sizeof(a)), 0);
	assert_int_equal(a.value, 42);
	assert_string_equal(a.text, "from the child");
	assert_true(a.pid > 0);
	assert_int_not_equal(a.pid, getpid());
	assert_int_equal(touched, 0);
}

static void call_reports_a_child_that_dies(void **state)
{
	struct answer a = {0};

	(void)state;
	errno = 0;
	assert_int_equal(sm_spawn_call(dying_job, NULL, &a, sizeof(a)), -1);
	assert_int_equal(errno, EIO);
}

static void resolve_finds_sh_in_path(void **state)
{
	char out[256];

	(void)state;
	assert_int_equal(sm_spawn_resolve("sh", "/nonexistent:/bin:/usr/bin", out, sizeof(out)), 0);
	assert_true(strcmp(out, "/bin/sh") == 0 || strcmp(out, "/usr/bin/sh") == 0);
	errno = 0;
	assert_int_equal(sm_spawn_resolve("no-such-command-here", "/bin", out, sizeof(out)), -1);
	assert_int_equal(errno, ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(call_brings_the_answer_back),
	    cmocka_unit_test(call_reports_a_child_that_dies),
	    cmocka_unit_test(resolve_finds_sh_in_path),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
