/* Unit tests for parse.c, branch by branch: numbers, seconds, octal
 * modes, booleans and every form and error of a --bind address. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <sentrik/parse.h>

static void uints(void **state)
{
	long n = -7;

	(void)state;
	assert_int_equal(sm_parse_uint("42", 1, 100, &n), 0);
	assert_int_equal(n, 42);
	assert_int_equal(sm_parse_uint("1", 1, 100, &n), 0); /* both ends are in */
	assert_int_equal(n, 1);
	assert_int_equal(sm_parse_uint("100", 1, 100, &n), 0);
	assert_int_equal(n, 100);
	assert_int_equal(sm_parse_uint("007", 0, 10, &n), 0); /* decimal, not octal */
	assert_int_equal(n, 7);
	n = -7;
	/* out of range, either side */
	assert_int_equal(sm_parse_uint("0", 1, 100, &n), -1);
	assert_int_equal(sm_parse_uint("101", 1, 100, &n), -1);
	/* only plain digits: no sign, space, suffix or empty string */
	assert_int_equal(sm_parse_uint("+1", 1, 100, &n), -1);
	assert_int_equal(sm_parse_uint("-1", -5, 100, &n), -1);
	assert_int_equal(sm_parse_uint(" 1", 1, 100, &n), -1);
	assert_int_equal(sm_parse_uint("1 ", 1, 100, &n), -1);
	assert_int_equal(sm_parse_uint("1x", 1, 100, &n), -1);
	assert_int_equal(sm_parse_uint("0x10", 0, 100, &n), -1);
	assert_int_equal(sm_parse_uint("", 1, 100, &n), -1);
	assert_int_equal(sm_parse_uint(NULL, 1, 100, &n), -1);
	/* overflow is refused, not clamped to LONG_MAX */
	assert_int_equal(sm_parse_uint("99999999999999999999", 0, LONG_MAX, &n), -1);
	assert_int_equal(n, -7); /* a refused value leaves out alone */
}

static void seconds(void **state)
{
	double d = -1;

	(void)state;
	assert_int_equal(sm_parse_seconds("0.25", &d), 0);
	assert_true(d == 0.25);
	assert_int_equal(sm_parse_seconds(".5", &d), 0);
	assert_true(d == 0.5);
	assert_int_equal(sm_parse_seconds("30", &d), 0);
	assert_true(d == 30);
	assert_int_equal(sm_parse_seconds("0", &d), 0);
	assert_true(d == 0);
	assert_int_equal(sm_parse_seconds("31536000", &d), 0); /* one year: the most */
	d = -1;
	assert_int_equal(sm_parse_seconds("31536000.5", &d), -1);
	assert_int_equal(sm_parse_seconds("1e99", &d), -1);
	assert_int_equal(sm_parse_seconds("1e999", &d), -1); /* ERANGE */
	assert_int_equal(sm_parse_seconds("nan", &d), -1);
	assert_int_equal(sm_parse_seconds("inf", &d), -1);
	assert_int_equal(sm_parse_seconds("-0", &d), -1);
	assert_int_equal(sm_parse_seconds("-1", &d), -1);
	assert_int_equal(sm_parse_seconds("3s", &d), -1);
	assert_int_equal(sm_parse_seconds(" 3", &d), -1);
	assert_int_equal(sm_parse_seconds("", &d), -1);
	assert_int_equal(sm_parse_seconds(NULL, &d), -1);
	assert_true(d == -1);
}

static void modes(void **state)
{
	mode_t m = 01;

	(void)state;
	assert_int_equal(sm_parse_mode("0640", &m), 0);
	assert_int_equal(m, 0640);
	assert_int_equal(sm_parse_mode("27", &m), 0); /* octal without the leading 0 */
	assert_int_equal(m, 027);
	assert_int_equal(sm_parse_mode("0", &m), 0);
	assert_int_equal(m, 0);
	assert_int_equal(sm_parse_mode("7777", &m), 0);
	assert_int_equal(m, 07777);
	m = 01;
	assert_int_equal(sm_parse_mode("17777", &m), -1);
	assert_int_equal(sm_parse_mode("9", &m), -1);
	assert_int_equal(sm_parse_mode("08", &m), -1);
	assert_int_equal(sm_parse_mode("-1", &m), -1);
	assert_int_equal(sm_parse_mode("rwx", &m), -1);
	assert_int_equal(sm_parse_mode("", &m), -1);
	assert_int_equal(sm_parse_mode(NULL, &m), -1);
	assert_int_equal(sm_parse_mode("077777777777777777777777", &m), -1);
	assert_int_equal(m, 01);
}

static void bools(void **state)
{
	static const char *const yes[] = {"1", "yes", "true", "on", "YES", "True", "oN"};
	static const char *const no[] = {"0", "no", "false", "off", "NO", "False", "OFF"};
	static const char *const bad[] = {"", "2", "y", "n", "maybe", "truee", " on"};
	bool b;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		b = false;
		assert_int_equal(sm_parse_bool(yes[i], &b), 0);
		assert_true(b);
		assert_int_equal(sm_parse_bool(no[i], &b), 0);
		assert_false(b);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		b = true;
		if (sm_parse_bool(bad[i], &b) == 0)
			fail_msg("'%s' was accepted", bad[i]);
		assert_true(b);
	}
	assert_int_equal(sm_parse_bool(NULL, &b), -1);
}

static struct sm_addr parsed(const char *text)
{
	struct sm_addr a;
	struct sm_error e = {0};

	assert_int_equal(sm_addr_parse(text, &a, &e), 0);
	assert_int_equal(e.status, 0);
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

static void addr_errors(void **state)
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
	struct sm_error e;
	char long_path[200];
	size_t i;

	(void)state;
	for (i = 0; bad[i] != NULL; i++) {
		sm_error_clear(&e);
		if (sm_addr_parse(bad[i], &a, &e) == 0)
			fail_msg("'%s' was accepted", bad[i]);
		assert_int_equal(e.status, EX_USAGE);
		assert_non_null(strstr(e.msg, "--bind"));
		if (bad[i][0] != '\0' && strstr(e.msg, bad[i]) == NULL)
			fail_msg("message for '%s' does not name it: %s", bad[i], e.msg);
	}
	assert_int_equal(sm_addr_parse(NULL, &a, &e), -1);
	assert_string_equal(e.msg, "--bind: empty address");
	memset(long_path, 'a', sizeof(long_path));
	memcpy(long_path, "unix:/", 6);
	long_path[5 + 108] = '\0';
	assert_int_equal(sm_addr_parse(long_path, &a, &e), -1);
	assert_non_null(strstr(e.msg, "invalid unix socket path"));
}

/* The forms of other servers get the form meant, in ours. */
static void addr_habits(void **state)
{
	static const struct {
		const char *in, *why;
	} cases[] = {
	    {"tcp://127.0.0.1:8000", "(no scheme is used: write -b 127.0.0.1:8000)"},
	    {"http://127.0.0.1:8000/", "(no scheme is used: write -b 127.0.0.1:8000)"},
	    {"http://[::1]:80/x", "(no scheme is used: write -b [::1]:80)"},
	    {"8000", "(a port alone is written :8000, every address, IPv4 and IPv6)"},
	    {"*:8000", "(every address is written :8000, IPv4 and IPv6)"},
	    {"*", "(every address is written :PORT, IPv4 and IPv6)"},
	    {"0.0.0.0", "(no port: expected 0.0.0.0:PORT, :PORT for every address, [V6]:PORT, "
	                "unix:PATH or fd:N)"},
	};
	struct sm_addr a;
	struct sm_error e;
	char want[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(sm_addr_parse(cases[i].in, &a, &e), -1);
		snprintf(want, sizeof(want), "--bind: invalid address '%s' %s", cases[i].in,
		         cases[i].why);
		assert_string_equal(e.msg, want);
	}
}

static void ini_values(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
	    {"4", "4"},
	    {"4 # four", "4"},
	    {"4\t; four", "4"},
	    {"# all comment", ""},
	    {"a#b", "a#b"},
	    {"a;b", "a;b"},
	    {"\"0.0.0.0:8000\"", "0.0.0.0:8000"},
	    {"'x y'  # c", "x y"},
	    {"\"a # b\" # c", "a # b"},
	    {"\"a ; b\"", "a ; b"},
	    {"\"unbalanced", "\"unbalanced"},
	    {"\"mixed'", "\"mixed'"},
	    {"\"\"", ""},
	    {"\"", "\""},
	    {"trailing   ", "trailing"},
	};
	char out[64];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(sm_parse_ini_value(cases[i].in, out, sizeof(out)), 0);
		assert_string_equal(out, cases[i].out);
	}
	assert_int_equal(sm_parse_ini_value("12345", out, 5), -1);
	assert_int_equal(sm_parse_ini_value("1234", out, 5), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(uints),       cmocka_unit_test(seconds),
	    cmocka_unit_test(modes),       cmocka_unit_test(bools),
	    cmocka_unit_test(host_port),   cmocka_unit_test(any_port),
	    cmocka_unit_test(v6_port),     cmocka_unit_test(unix_and_fd),
	    cmocka_unit_test(addr_errors), cmocka_unit_test(addr_habits),
	    cmocka_unit_test(ini_values),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
