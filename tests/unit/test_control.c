/* Unit tests for control.c: the control socket's path, its file (0600,
 * stale ones replaced, live or foreign ones refused, removed only while
 * ours) and one connection's bounded request reading. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <sentrik/control.h>

static void paths(void **state)
{
	char *p;

	(void)state;
	p = sm_control_path("/x/y.sock", "/run/sentrik-master/1");
	assert_string_equal(p, "/x/y.sock");
	free(p);
	p = sm_control_path(NULL, "/run/sentrik-master/1");
	assert_string_equal(p, "/run/sentrik-master/1/control.sock");
	free(p);
	assert_null(sm_control_path(NULL, NULL));
}

static void socket_file_lifecycle(void **state)
{
	char dir[] = "/tmp/sm-control-XXXXXX", path[64];
	struct sm_control a, b;
	struct sm_error e;
	struct stat st;
	int fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/control.sock", dir);
	assert_int_equal(sm_control_open(&a, path, &e), 0);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
	/* A second master on the same path is refused while the first lives. */
	assert_int_equal(sm_control_open(&b, path, &e), -1);
	assert_int_equal(e.status, EX_CANTCREAT);
	assert_non_null(strstr(e.msg, "another master is listening"));
	/* A dead master's file is replaced. */
	close(a.fd);
	a.fd = -1;
	if (sm_control_open(&b, path, &e) < 0)
		fail_msg("%s", e.msg);
	/* The first one's clean-up leaves the second one's file alone. */
	sm_control_close(&a);
	assert_int_equal(lstat(path, &st), 0);
	sm_control_close(&b);
	assert_int_equal(lstat(path, &st), -1);
	/* Not a socket: never removed. */
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(sm_control_open(&a, path, &e), -1);
	assert_non_null(strstr(e.msg, "not a socket"));
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
}

static void request_reading_is_bounded(void **state)
{
	struct sm_conn c = {0};
	char big[SM_PROTO_REQUEST_MAX + 1];
	int sv[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	c.fd = sv[0];
	assert_int_equal(sm_conn_read(&c), SM_CONN_MORE);
	assert_int_equal(write(sv[1], "stat", 4), 4);
	assert_int_equal(sm_conn_read(&c), SM_CONN_MORE);
	assert_int_equal(write(sv[1], "us json\nmore", 12), 12);
	assert_int_equal(sm_conn_read(&c), SM_CONN_REQUEST);
	assert_string_equal(c.in, "status json");
	assert_int_equal(c.in_len, 11);
	memset(&c, 0, sizeof(c));
	c.fd = sv[0];
	memset(big, 'a', sizeof(big));
	assert_int_equal(write(sv[1], big, sizeof(big)), (ssize_t)sizeof(big));
	assert_int_equal(sm_conn_read(&c), SM_CONN_TOO_LONG);
	assert_true(c.in_len <= SM_PROTO_REQUEST_MAX);
	close(sv[1]);
	memset(&c, 0, sizeof(c));
	c.fd = sv[0];
	assert_int_equal(sm_conn_read(&c), SM_CONN_GONE);
	close(sv[0]);
}

static void replies_go_out_whole(void **state)
{
	struct sm_conn c = {0};
	char back[64];
	int sv[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	c.fd = sv[0];
	sm_proto_reply(&c.out, true, "5 workers wanted", NULL, 0);
	assert_int_equal(sm_conn_write(&c), 1);
	assert_int_equal(read(sv[1], back, sizeof(back)), 22);
	assert_memory_equal(back, "ok 5 workers wanted\n.\n", 22);
	sm_buf_free(&c.out);
	close(sv[0]);
	close(sv[1]);
	assert_true(sm_control_rss() > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(paths),
	    cmocka_unit_test(socket_file_lifecycle),
	    cmocka_unit_test(request_reading_is_bounded),
	    cmocka_unit_test(replies_go_out_whole),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
