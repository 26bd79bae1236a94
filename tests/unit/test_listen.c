/* Unit tests for listen.c: systemd's LISTEN_* rules, and the status each
 * kind of failure to set up a listener reports (addresses: test_parse.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <sentrik/listen.h>

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

static const struct sm_listen_opts opts = {16, false, (uid_t)-1, (gid_t)-1};

/* What the operator wrote wrong is EX_USAGE; what the system refused,
 * EX_OSERR; either way nothing stays open. */
static void setup_errors(void **state)
{
	struct sm_listeners l;
	struct sm_error e;
	char fd_bind[32];
	char *bad_addr[] = {(char *)(uintptr_t) "8000"};
	char *not_socket[] = {fd_bind};
	char *no_dir[] = {(char *)(uintptr_t) "unix:/nonexistent/sm-unit/x.sock"};
	FILE *f = tmpfile();

	(void)state;
	assert_int_equal(sm_listen_setup(&l, bad_addr, 1, &opts, &e), -1);
	assert_int_equal(e.status, EX_USAGE);
	assert_string_equal(e.msg, "--bind: invalid address '8000' (a port alone is written :8000, "
	                           "every address, IPv4 and IPv6)");
	assert_int_equal(l.n, 0);
	assert_non_null(f);
	snprintf(fd_bind, sizeof(fd_bind), "fd:%d", fileno(f));
	assert_int_equal(sm_listen_setup(&l, not_socket, 1, &opts, &e), -1);
	assert_int_equal(e.status, EX_USAGE);
	assert_non_null(strstr(e.msg, "not a socket"));
	fclose(f);
	assert_int_equal(sm_listen_setup(&l, no_dir, 1, &opts, &e), -1);
	assert_int_equal(e.status, EX_OSERR);
	assert_non_null(strstr(e.msg, "cannot bind unix:/nonexistent/sm-unit/x.sock"));
	assert_int_equal(l.n, 0);
}

static void setup_binds_in_order(void **state)
{
	struct sm_listeners l;
	struct sm_error e = {0};
	char *binds[] = {(char *)(uintptr_t) ":0", (char *)(uintptr_t) ":0"};

	(void)state;
	unsetenv("LISTEN_PID");
	assert_int_equal(sm_listen_setup(&l, binds, 2, &opts, &e), 0);
	assert_int_equal(e.status, 0);
	assert_int_equal(l.n, 2);
	assert_true(l.fds[0] >= 0 && l.fds[1] >= 0 && l.fds[0] != l.fds[1]);
	assert_string_equal(l.texts[1], ":0");
	assert_string_equal(l.names, "_0:_0");
	sm_listeners_close(&l);
	assert_int_equal(l.n, 0);
	assert_int_equal(sm_listen_setup(&l, NULL, 0, &opts, &e), 0);
	assert_int_equal(l.n, 0);
	assert_null(l.names);
}

/* fd:N must be a listening stream socket or a datagram socket: an
 * unlistened or raw one is the operator's mistake (EX_USAGE). */
static void fd_must_listen(void **state)
{
	struct sm_listeners l;
	struct sm_error e = {0};
	char text[32];
	char *binds[] = {text};
	int tcp = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	(void)state;
	unsetenv("LISTEN_PID");
	assert_true(tcp >= 0 && udp >= 0);
	snprintf(text, sizeof(text), "fd:%d", tcp);
	assert_int_equal(sm_listen_setup(&l, binds, 1, &opts, &e), -1);
	assert_int_equal(e.status, EX_USAGE);
	assert_non_null(strstr(e.msg, "a stream socket that is not listening"));
	assert_int_equal(listen(tcp, 4), 0);
	assert_int_equal(sm_listen_setup(&l, binds, 1, &opts, &e), 0);
	assert_int_equal(l.fds[0], tcp);
	sm_listeners_close(&l); /* closes tcp */
	snprintf(text, sizeof(text), "fd:%d", udp);
	assert_int_equal(sm_listen_setup(&l, binds, 1, &opts, &e), 0);
	sm_listeners_close(&l); /* closes udp */
}

/* A unix: socket is 0660 from its bind on, through the umask alone. */
static void unix_socket_mode(void **state)
{
	char dir[] = "/tmp/sm-listen-unit.XXXXXX", text[160], path[128];
	char *binds[] = {text};
	struct sm_listeners l;
	struct sm_error e = {0};
	struct stat st;

	(void)state;
	unsetenv("LISTEN_PID");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/a.sock", dir);
	snprintf(text, sizeof(text), "unix:%s", path);
	assert_int_equal(sm_listen_setup(&l, binds, 1, &opts, &e), 0);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0660);
	sm_listeners_close(&l);
	/* The stale socket is replaced. */
	assert_int_equal(sm_listen_setup(&l, binds, 1, &opts, &e), 0);
	sm_listeners_close(&l);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(activation),           cmocka_unit_test(fdnames),
	    cmocka_unit_test(names_of_addresses),   cmocka_unit_test(setup_errors),
	    cmocka_unit_test(setup_binds_in_order), cmocka_unit_test(fd_must_listen),
	    cmocka_unit_test(unix_socket_mode),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
