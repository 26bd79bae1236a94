/* Unit tests for notify.c: the message parser, NOTIFY_SOCKET addresses,
 * and the workers' socket attributing a datagram to its sender. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
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

/* The master's socket: an abstract name, and each message carries its
 * sender's pid. */
static void worker_socket_roundtrip(void **state)
{
	struct sm_notify_in in;
	struct sm_notify_msg m;
	struct sockaddr_un a;
	socklen_t len;
	pid_t pid = 0;
	int fd;

	(void)state;
	assert_int_equal(sm_notify_in_open(&in), 0);
	assert_int_equal(in.name[0], '@');
	assert_int_equal(sm_notify_in_recv(&in, &pid, &m), 0); /* nothing yet */
	assert_int_equal(sm_notify_addr(in.name, &a, &len), 0);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(sendto(fd, "bogus", 5, 0, (struct sockaddr *)&a, len), 5);
	assert_int_equal(sendto(fd, "READY=1\nSTATUS=up", 17, 0, (struct sockaddr *)&a, len), 17);
	/* The malformed datagram is dropped; the good one names us. */
	assert_int_equal(sm_notify_in_recv(&in, &pid, &m), 1);
	assert_int_equal(pid, getpid());
	assert_true(m.ready);
	assert_string_equal(m.status, "up");
	assert_int_equal(sm_notify_in_recv(&in, &pid, &m), 0);
	close(fd);
	sm_notify_in_close(&in);
	assert_int_equal(in.fd, -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(parse_keys),
	    cmocka_unit_test(parse_errors),
	    cmocka_unit_test(addresses),
	    cmocka_unit_test(worker_socket_roundtrip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
