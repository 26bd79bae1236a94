/* Unit tests for notify.c: the message parser, NOTIFY_SOCKET addresses,
 * and a worker's socket, abstract or in a directory. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <sentrik/notify.h>

static void parse_keys(void **state)
{
	struct sm_notify_msg m;
	const char *text = "READY=1\nSTATUS=serving 4 clients\nWATCHDOG=1\nMAINPID=123\nX=y";

	(void)state;
	assert_int_equal(sm_notify_parse(text, strlen(text), &m), 0);
	assert_true(m.ready);
	assert_true(m.watchdog);
	assert_false(m.stopping);
	assert_false(m.reloading);
	assert_string_equal(m.status, "serving 4 clients");
	assert_int_equal(m.mainpid, 123);
	assert_int_equal(sm_notify_parse("STOPPING=1\n\nRELOADING=1\n", 24, &m), 0);
	assert_true(m.stopping);
	assert_true(m.reloading);
	assert_false(m.ready);
	assert_int_equal(sm_notify_parse("WATCHDOG=trigger", 16, &m), 0);
	assert_true(m.watchdog_trigger);
	assert_false(m.watchdog);
	assert_int_equal(sm_notify_parse("READY=0", 7, &m), 0);
	assert_false(m.ready);
}

static void parse_errors(void **state)
{
	struct sm_notify_msg m;
	char big[600];

	(void)state;
	assert_int_equal(sm_notify_parse("READY", 5, &m), -1);
	assert_int_equal(sm_notify_parse("READY=1\0", 8, &m), -1);
	assert_int_equal(sm_notify_parse("MAINPID=x", 9, &m), -1);
	assert_int_equal(sm_notify_parse("MAINPID=", 8, &m), -1);
	assert_int_equal(sm_notify_parse("MAINPID=-4", 10, &m), -1);
	/* A long STATUS is cut, not refused. */
	memcpy(big, "STATUS=", 7);
	memset(big + 7, 's', sizeof(big) - 7);
	assert_int_equal(sm_notify_parse(big, sizeof(big), &m), 0);
	assert_int_equal(strlen(m.status), sizeof(m.status) - 1);
}

static void addresses(void **state)
{
	struct sockaddr_un a;
	socklen_t len;

	(void)state;
	assert_int_equal(sm_notify_addr("/run/systemd/notify", &a, &len), 0);
	assert_string_equal(a.sun_path, "/run/systemd/notify");
	assert_int_equal(len, offsetof(struct sockaddr_un, sun_path) + 20);
	assert_int_equal(sm_notify_addr("@abc", &a, &len), 0);
	assert_int_equal(a.sun_path[0], '\0');
	assert_memory_equal(a.sun_path + 1, "abc", 3);
	assert_int_equal(len, offsetof(struct sockaddr_un, sun_path) + 4);
	errno = 0;
	assert_int_equal(sm_notify_addr("relative", &a, &len), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(sm_notify_addr("@", &a, &len), -1);
	assert_int_equal(sm_notify_addr("", &a, &len), -1);
	assert_int_equal(sm_notify_addr(NULL, &a, &len), -1);
}

/* A worker's socket without a runtime directory: an abstract name; a
 * malformed datagram is read and dropped, a good one comes whole. */
static void worker_socket_abstract(void **state)
{
	struct sm_notify_in in;
	struct sm_notify_msg m;
	struct sockaddr_un a;
	socklen_t len;
	int fd;

	(void)state;
	assert_int_equal(sm_notify_in_open(&in, NULL, 1), 0);
	assert_int_equal(in.name[0], '@');
	assert_int_equal(sm_notify_in_recv(&in, &m), SM_NOTIFY_NONE);
	assert_int_equal(sm_notify_addr(in.name, &a, &len), 0);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(sendto(fd, "bogus", 5, 0, (struct sockaddr *)&a, len), 5);
	assert_int_equal(sendto(fd, "READY=1\nSTATUS=up", 17, 0, (struct sockaddr *)&a, len), 17);
	assert_int_equal(sm_notify_in_recv(&in, &m), SM_NOTIFY_DROPPED);
	assert_int_equal(sm_notify_in_recv(&in, &m), SM_NOTIFY_MSG);
	assert_true(m.ready);
	assert_string_equal(m.status, "up");
	assert_int_equal(sm_notify_in_recv(&in, &m), SM_NOTIFY_NONE);
	close(fd);
	sm_notify_in_close(&in);
	assert_int_equal(in.fd, -1);
}

/* In a directory: DIR/notify.ID, removed at close; BARRIER=1's pipe is
 * closed at once, so sd_notify_barrier() returns. */
static void worker_socket_path_and_barrier(void **state)
{
	char dir[] = "/tmp/sm-notify-test.XXXXXX", path[128];
	struct sm_notify_in in;
	struct sm_notify_msg m;
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	char cbuf[CMSG_SPACE(sizeof(int))] = {0}, byte;
	struct iovec iov = {"BARRIER=1", 9};
	struct msghdr mh = {
	    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	int fd, pipefd[2];

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(sm_notify_in_open(&in, dir, 42), 0);
	snprintf(path, sizeof(path), "%s/notify.42", dir);
	assert_string_equal(in.name, path);
	assert_int_equal(access(path, F_OK), 0);
	strcpy(a.sun_path, path);
	assert_int_equal(pipe(pipefd), 0);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &pipefd[1], sizeof(int));
	mh.msg_name = &a;
	mh.msg_namelen = sizeof(a);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_int_equal(sendmsg(fd, &mh, 0), 9);
	close(pipefd[1]);
	assert_int_equal(sm_notify_in_recv(&in, &m), SM_NOTIFY_MSG);
	assert_int_equal(read(pipefd[0], &byte, 1), 0); /* EOF: every copy closed */
	close(pipefd[0]);
	close(fd);
	sm_notify_in_close(&in);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(rmdir(dir), 0);
	/* No room in a socket address: said, not cut. */
	memset(path, 'd', 120);
	path[0] = '/';
	path[120] = '\0';
	assert_int_equal(sm_notify_in_open(&in, path, 1), -1);
	assert_int_equal(errno, ENAMETOOLONG);
	assert_true(sm_notify_queue_len() > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(parse_keys),
	    cmocka_unit_test(parse_errors),
	    cmocka_unit_test(addresses),
	    cmocka_unit_test(worker_socket_abstract),
	    cmocka_unit_test(worker_socket_path_and_barrier),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
