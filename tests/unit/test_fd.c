/* Unit tests for fd.c: closing what the master inherited, keeping what
 * it was told to keep. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>
#include <cmocka.h>

#include <sentrik/fd.h>

static bool is_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0 || errno != EBADF;
}

static void close_except_keeps_only_those_named(void **state)
{
	int fds[4], keep[3], i;

	(void)state;
	for (i = 0; i < 4; i++)
		assert_true((fds[i] = open("/dev/null", O_RDONLY)) > 2);
	/* Unsorted, with a duplicate and a number nothing has open. */
	keep[0] = fds[3];
	keep[1] = fds[1];
	keep[2] = fds[3];
	sm_fd_close_except(keep, 3);
	assert_true(is_open(0) && is_open(1) && is_open(2));
	assert_false(is_open(fds[0]));
	assert_true(is_open(fds[1]));
	assert_false(is_open(fds[2]));
	assert_true(is_open(fds[3]));
	sm_fd_close_except(NULL, 0);
	assert_false(is_open(fds[1]) || is_open(fds[3]));
	assert_true(is_open(2));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(close_except_keeps_only_those_named),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
