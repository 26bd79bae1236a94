/* Unit tests for listen.c: the --bind address parser, every form and
 * error, and systemd's LISTEN_* rules. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <sentrik/listen.h>

static struct sm_addr parsed(const char *text)
{
	struct sm_addr a;
	char err[256];

	assert_int_equal(sm_addr_parse(text, &a, err, sizeof(err)), 0);
	return a;
}

static void host_port(void **state)
{
	struct sm_addr a = parsed("127.0.0.1:8000");

	(void)state;
	assert_int_equal(a.kind, SM_ADDR_HOST);
	assert_string_equal(a.host, "127.0.0.1");
	assert_string_equal(a.port, "8000");
	a = parsed("localhost:0");
	assert_int_equal(a.kind, SM_ADDR_HOST);
	assert_string_equal(a.host, "localhost");
	assert_string_equal(a.port, "0");
	a = parsed("app-1.example.org:65535");
	assert_string_equal(a.host, "app-1.example.org");
	assert_string_equal(a.port, "65535");
}

static void any_port(void **state)
{
	struct sm_addr a = parsed(":80");

	(void)state;
	assert_int_equal(a.kind, SM_ADDR_ANY);
	assert_string_equal(a.host, "");
	assert_string_equal(a.port, "80");
	a = parsed(":0080");
	assert_string_equal(a.port, "80");
}

static void v6_port(void **state)
{
	struct sm_addr a = parsed("[::1]:8080");

	(void)state;
	assert_int_equal(a.kind, SM_ADDR_V6);
	assert_string_equal(a.host, "::1");
	assert_string_equal(a.port, "8080");
	a = parsed("[::]:443");
	assert_string_equal(a.host, "::");
	a = parsed("[fe80::1%lo]:9");
	assert_string_equal(a.host, "fe80::1%lo");
	a = parsed("[::ffff:127.0.0.1]:1");
	assert_int_equal(a.kind, SM_ADDR_V6);
}

static void unix_and_fd(void **state)
{
	struct sm_addr a = parsed("unix:/run/app/app.sock");
	char long_path[200];

	(void)state;
	assert_int_equal(a.kind, SM_ADDR_UNIX);
	assert_string_equal(a.path, "/run/app/app.sock");
	a = parsed("unix:rel.sock");
	assert_string_equal(a.path, "rel.sock");
	a = parsed("fd:3");
	assert_int_equal(a.kind, SM_ADDR_FD);
	assert_int_equal(a.fd, 3);
	a = parsed("fd:1000");
	assert_int_equal(a.fd, 1000);
	memset(long_path, 'a', sizeof(long_path));
	memcpy(long_path, "unix:/", 6);
	long_path[5 + 107] = '\0'; /* 107 bytes of path: the most that fits */
	a = parsed(long_path);
	assert_int_equal(strlen(a.path), 107);
}

static void errors(void **state)
{
	static const char *const bad[] = {
	    "",
	    "8000",
	    "localhost",
	    "::1:80",
	    "::80",
	    "[::1]",
	    "[::1]80",
	    "[::1:80",
	    "[]:80",
	    "[zz::1]:80",
	    "[::1%]:80",
	    "[127.0.0.1]:80",
	    "1.2.3.4.5:80",
	    "1.2.3.256:80",
	    "host name:80",
	    "-host:80",
	    "host/x:80",
	    ":",
	    ":x",
	    ":-1",
	    ":+80",
	    ": 80",
	    ":65536",
	    ":99999999999999999999",
	    "127.0.0.1:",
	    "unix:",
	    "fd:",
	    "fd:0",
	    "fd:2",
	    "fd:-3",
	    "fd:3x",
	    "fd:x",
	    NULL,
	};
	struct sm_addr a;
	char err[256], long_path[200];
	size_t i;

	(void)state;
	for (i = 0; bad[i] != NULL; i++) {
		err[0] = '\0';
		if (sm_addr_parse(bad[i], &a, err, sizeof(err)) == 0)
			fail_msg("'%s' was accepted", bad[i]);
		assert_non_null(strstr(err, "--bind"));
		if (bad[i][0] != '\0' && strstr(err, bad[i]) == NULL)
			fail_msg("message for '%s' does not name it: %s", bad[i], err);
	}
	assert_int_equal(sm_addr_parse(NULL, &a, err, sizeof(err)), -1);
	memset(long_path, 'a', sizeof(long_path));
	memcpy(long_path, "unix:/", 6);
	long_path[5 + 108] = '\0';
	assert_int_equal(sm_addr_parse(long_path, &a, err, sizeof(err)), -1);
}

static void activation(void **state)
{
	(void)state;
	assert_int_equal(sm_listen_activation(NULL, NULL, 42), 0);
	assert_int_equal(sm_listen_activation("42", NULL, 42), 0);
	assert_int_equal(sm_listen_activation(NULL, "2", 42), 0);
	assert_int_equal(sm_listen_activation("42", "2", 42), 2);
	assert_int_equal(sm_listen_activation("42", "0", 42), 0);
	assert_int_equal(sm_listen_activation("41", "2", 42), 0); /* another process's */
	errno = 0;
	assert_int_equal(sm_listen_activation("42", "x", 42), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(sm_listen_activation("42", "-1", 42), -1);
	assert_int_equal(sm_listen_activation("42", "", 42), -1);
	assert_int_equal(sm_listen_activation("x42", "1", 42), -1);
	assert_int_equal(sm_listen_activation("", "1", 42), -1);
}

static void fdnames(void **state)
{
	char name[SM_FDNAME_MAX + 1];

	(void)state;
	sm_listen_fdname("web:admin", 0, 2, name, sizeof(name));
	assert_string_equal(name, "web");
	sm_listen_fdname("web:admin", 1, 2, name, sizeof(name));
	assert_string_equal(name, "admin");
	sm_listen_fdname("web::x", 1, 3, name, sizeof(name));
	assert_string_equal(name, "");
	/* Absent or not counting every descriptor: systemd's "unknown". */
	sm_listen_fdname(NULL, 0, 1, name, sizeof(name));
	assert_string_equal(name, "unknown");
	sm_listen_fdname("", 0, 1, name, sizeof(name));
	assert_string_equal(name, "unknown");
	sm_listen_fdname("web", 1, 2, name, sizeof(name));
	assert_string_equal(name, "unknown");
	sm_listen_fdname("a:b:c", 0, 2, name, sizeof(name));
	assert_string_equal(name, "unknown");
}

static void names_of_addresses(void **state)
{
	char name[SM_FDNAME_MAX + 1], longtext[400];

	(void)state;
	sm_listen_name_of("127.0.0.1:8000", name, sizeof(name));
	assert_string_equal(name, "127.0.0.1_8000");
	sm_listen_name_of("unix:/run/a.sock", name, sizeof(name));
	assert_string_equal(name, "unix_/run/a.sock");
	sm_listen_name_of("[::1]:80", name, sizeof(name));
	assert_string_equal(name, "[__1]_80");
	memset(longtext, 'x', sizeof(longtext) - 1);
	longtext[sizeof(longtext) - 1] = '\0';
	sm_listen_name_of(longtext, name, sizeof(name));
	assert_int_equal(strlen(name), SM_FDNAME_MAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(host_port), cmocka_unit_test(any_port),
	    cmocka_unit_test(v6_port),   cmocka_unit_test(unix_and_fd),
	    cmocka_unit_test(errors),    cmocka_unit_test(activation),
	    cmocka_unit_test(fdnames),   cmocka_unit_test(names_of_addresses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
