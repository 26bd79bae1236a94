/* Unit tests for config.c and its option table (config_options.c): every option of
 * SPEC §2 in every form, every usage error with its exact one-line message,
 * the --config file, --help and what a reload may change. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <sentrik/config.h>
#include <sentrik/cpus.h>
#include <sentrik/log.h>
#include <sentrik/config_options.h>

static struct sm_config cfg;
static struct sm_error err;

/* Parses "sentrik-master" + the NULL-terminated words. */
static int parse_v(const char *first, va_list ap)
{
	char *argv[64];
	int argc = 0;
	const char *w;

	argv[argc++] = (char *)(uintptr_t) "sentrik-master";
	for (w = first; w != NULL && argc < 63; w = va_arg(ap, const char *))
		argv[argc++] = (char *)(uintptr_t)w;
	argv[argc] = NULL;
	sm_config_free(&cfg);
	return sm_config_parse(&cfg, argc, argv, &err);
}

static int parse(const char *first, ...)
{
	va_list ap;
	int r;

	va_start(ap, first);
	r = parse_v(first, ap);
	va_end(ap);
	return r;
}

#define OK(...) assert_int_equal(parse(__VA_ARGS__, NULL), SM_CONFIG_RUN)
#define USAGE(want, ...)                                                                           \
	do {                                                                                       \
		assert_int_equal(parse(__VA_ARGS__, NULL), -1);                                    \
		assert_int_equal(err.status, EX_USAGE);                                            \
		assert_string_equal(err.msg, want);                                                \
		assert_null(strchr(err.msg, '\n'));                                                \
	} while (0)

static int teardown(void **state)
{
	(void)state;
	sm_config_free(&cfg);
	return 0;
}

static void defaults(void **state)
{
	(void)state;
	OK("app");
	assert_int_equal(cfg.workers, 1);
	assert_false(cfg.workers_auto);
	assert_int_equal(cfg.max_workers, 1024);
	assert_null(cfg.user);
	assert_null(cfg.group);
	assert_false(cfg.umask_set);
	assert_null(cfg.chdir);
	assert_int_equal(cfg.backlog, 2048);
	assert_false(cfg.reuse_port);
	assert_null(cfg.log_file);
	assert_false(cfg.capture_output);
	assert_int_equal(cfg.log_format, SM_LOG_TEXT);
	assert_int_equal(cfg.log_level, SM_LOG_INFO);
	assert_true(cfg.graceful_timeout == 30);
	assert_int_equal(cfg.stop_signal, SIGTERM);
	assert_int_equal(cfg.ready, SM_READY_ALIVE);
	assert_true(cfg.ready_alive == 1);
	assert_true(cfg.ready_timeout == 60);
	assert_int_equal(cfg.start_retries, 5);
	assert_true(cfg.max_worker_age == 0);
	assert_int_equal(cfg.max_worker_rss, 0);
	assert_true(cfg.timeout == 0);
	assert_int_equal(cfg.forward, 0);
	assert_false(cfg.allow_new_privs);
	assert_false(cfg.check);
	assert_int_equal(cfg.n_command, 1);
	assert_string_equal(cfg.command[0], "app");
	assert_null(cfg.command[1]);
}

static void workers_all_forms(void **state)
{
	(void)state;
	OK("-w", "3", "app");
	assert_int_equal(cfg.workers, 3);
	OK("-w7", "app");
	assert_int_equal(cfg.workers, 7);
	OK("--workers", "4", "app");
	assert_int_equal(cfg.workers, 4);
	OK("--workers=5", "app");
	assert_int_equal(cfg.workers, 5);
	OK("--workers", "1024", "app");
	assert_int_equal(cfg.workers, 1024);
	OK("-w", "2", "-w", "6", "app"); /* the last one wins */
	assert_int_equal(cfg.workers, 6);
	OK("--workers", "auto", "app");
	assert_true(cfg.workers_auto);
	assert_int_equal(cfg.workers, sm_cpus_usable());
	assert_true(cfg.workers >= 1);
	/* auto never asks for more than the ceiling */
	OK("--max-workers", "1", "--workers=auto", "app");
	assert_int_equal(cfg.workers, 1);
	OK("--max-workers", "8", "-w", "8", "app");
	assert_int_equal(cfg.max_workers, 8);
	OK("--max-workers=3", "app");
	assert_int_equal(cfg.max_workers, 3);
}

static void every_value_option(void **state)
{
	(void)state;
	OK("-u", "www", "-g", "staff", "app");
	assert_string_equal(cfg.user, "www");
	assert_string_equal(cfg.group, "staff");
	OK("--user=1234:99", "app");
	assert_string_equal(cfg.user, "1234");
	assert_string_equal(cfg.group, "99");
	OK("--user", "www", "--group=wheel", "app");
	assert_string_equal(cfg.group, "wheel");
	OK("--umask", "027", "app");
	assert_true(cfg.umask_set);
	assert_int_equal(cfg.umask, 027);
	OK("--umask=0", "app");
	assert_true(cfg.umask_set);
	assert_int_equal(cfg.umask, 0);
	OK("--chdir", "/srv", "app");
	assert_string_equal(cfg.chdir, "/srv");
	OK("--chdir=/tmp", "app");
	assert_string_equal(cfg.chdir, "/tmp");
	OK("--chown", "/var/log/a", "--chown=/run/b:0750", "app");
	assert_int_equal(cfg.n_chowns, 2);
	assert_string_equal(cfg.chowns[0].path, "/var/log/a");
	assert_int_equal(cfg.chowns[0].mode, 0755);
	assert_string_equal(cfg.chowns[1].path, "/run/b");
	assert_int_equal(cfg.chowns[1].mode, 0750);
	OK("--require-env", "SECRET_KEY", "--require-env=DB_PASSWORD!=changeme", "app");
	assert_int_equal(cfg.n_require_env, 2);
	assert_string_equal(cfg.require_env[0].name, "SECRET_KEY");
	assert_null(cfg.require_env[0].forbidden);
	assert_string_equal(cfg.require_env[1].name, "DB_PASSWORD");
	assert_string_equal(cfg.require_env[1].forbidden, "changeme");
	OK("-b", ":8000", "--bind", "127.0.0.1:80", "--bind=unix:/run/s", "-bfd:3", "app");
	assert_int_equal(cfg.n_binds, 4);
	assert_string_equal(cfg.binds[0], ":8000");
	assert_string_equal(cfg.binds[1], "127.0.0.1:80");
	assert_string_equal(cfg.binds[2], "unix:/run/s");
	assert_string_equal(cfg.binds[3], "fd:3");
	OK("--backlog", "16", "app");
	assert_int_equal(cfg.backlog, 16);
	OK("--log-file", "/var/log/x.log", "app");
	assert_string_equal(cfg.log_file, "/var/log/x.log");
	OK("--log-file=-", "app");
	assert_string_equal(cfg.log_file, "-");
	OK("--log-format", "json", "app");
	assert_int_equal(cfg.log_format, SM_LOG_JSON);
	OK("--log-format=text", "app");
	assert_int_equal(cfg.log_format, SM_LOG_TEXT);
	OK("--log-level", "debug", "app");
	assert_int_equal(cfg.log_level, SM_LOG_DEBUG);
	OK("--log-level=warning", "app");
	assert_int_equal(cfg.log_level, SM_LOG_WARNING);
	OK("--log-level", "error", "app");
	assert_int_equal(cfg.log_level, SM_LOG_ERROR);
	OK("--pid-file", "/run/x.pid", "app");
	assert_string_equal(cfg.pid_file, "/run/x.pid");
	OK("--graceful-timeout", "2.5", "app");
	assert_true(cfg.graceful_timeout == 2.5);
	OK("--graceful-timeout=0", "app");
	assert_true(cfg.graceful_timeout == 0);
	OK("--stop-signal", "QUIT", "app");
	assert_int_equal(cfg.stop_signal, SIGQUIT);
	OK("--stop-signal=SIGINT", "app");
	assert_int_equal(cfg.stop_signal, SIGINT);
	OK("--stop-signal", "10", "app");
	assert_int_equal(cfg.stop_signal, 10);
	OK("--ready", "notify", "--ready-timeout", "5", "app");
	assert_int_equal(cfg.ready, SM_READY_NOTIFY);
	assert_true(cfg.ready_timeout == 5);
	OK("--ready=exec", "--ready-timeout=.5", "app");
	assert_int_equal(cfg.ready, SM_READY_EXEC);
	assert_true(cfg.ready_timeout == 0.5);
	OK("--timeout", "3", "app");
	assert_true(cfg.timeout == 3);
	OK("--forward", "USR2", "--forward=winch", "--forward", "SIGUSR1", "app");
	assert_int_equal(cfg.forward, (UINT64_C(1) << (SIGUSR2 - 1)) |
	                                  (UINT64_C(1) << (SIGWINCH - 1)) |
	                                  (UINT64_C(1) << (SIGUSR1 - 1)));
}

static void every_flag(void **state)
{
	(void)state;
	OK("--reuse-port", "--capture-output", "--allow-new-privs", "--check", "app");
	assert_true(cfg.reuse_port);
	assert_true(cfg.capture_output);
	assert_true(cfg.allow_new_privs);
	assert_true(cfg.check);
	assert_int_equal(parse("-h", NULL), SM_CONFIG_HELP);
	assert_int_equal(parse("--help", NULL), SM_CONFIG_HELP);
	assert_int_equal(parse("-V", NULL), SM_CONFIG_VERSION);
	assert_int_equal(parse("--version", NULL), SM_CONFIG_VERSION);
	/* --help wins over anything else, even a bad value after it */
	assert_int_equal(parse("--help", "-w", "0", "app", NULL), SM_CONFIG_HELP);
}

static void stops_at_first_non_option(void **state)
{
	(void)state;
	OK("-w", "2", "app", "--app-flag", "-w", "9");
	assert_int_equal(cfg.workers, 2);
	assert_int_equal(cfg.n_command, 4);
	assert_string_equal(cfg.command[0], "app");
	assert_string_equal(cfg.command[1], "--app-flag");
	assert_string_equal(cfg.command[2], "-w");
	assert_string_equal(cfg.command[3], "9");
	assert_null(cfg.command[4]);
	OK("-w", "2", "--", "app", "--", "x");
	assert_int_equal(cfg.n_command, 3);
	assert_string_equal(cfg.command[0], "app");
	assert_string_equal(cfg.command[1], "--");
	OK("--", "-w", "3");
	assert_int_equal(cfg.workers, 1);
	assert_string_equal(cfg.command[0], "-w");
	assert_string_equal(cfg.command[1], "3");
	OK("--", "--help");
	assert_string_equal(cfg.command[0], "--help");
}

static void unknown_and_missing(void **state)
{
	(void)state;
	USAGE("unknown option '--frobnicate' (see --help)", "--frobnicate", "app");
	USAGE("unknown option '--frobnicate' (see --help)", "--frobnicate=3", "app");
	USAGE("unknown option '-x' (see --help)", "-x", "app");
	USAGE("unknown option '-x' (see --help)", "-hx", "app");
	USAGE("option '--workers' needs a value", "--workers");
	USAGE("option '-w' needs a value", "-w");
	USAGE("option '--stop-signal' needs a value", "--stop-signal");
	USAGE("option '--reuse-port' takes no value", "--reuse-port=1", "app");
	USAGE("option '--help' takes no value", "--help=yes");
}

/* getopt_long would take any unambiguous prefix: refused, naming the
 * options meant, so a later option never changes an old command line. */
static void abbreviations_refused(void **state)
{
	(void)state;
	USAGE("unknown option '--pid' (did you mean --pid-file?)", "--pid", "x", "app");
	USAGE("unknown option '--pid' (did you mean --pid-file?)", "--pid=x", "app");
	USAGE("unknown option '--max' (did you mean --max-workers, --max-worker-age or "
	      "--max-worker-rss?)",
	      "--max", "3", "app");
	USAGE("unknown option '--conf' (did you mean --config?)", "--conf", "/x", "app");
	USAGE("unknown option '--re' (did you mean --require-env, --reuse-port, --ready or "
	      "--ready-timeout?)",
	      "--re", "app");
	USAGE("unknown option '--work' (did you mean --workers?)", "-w", "2", "--work", "3", "app");
	OK("--pid-file", "x", "--max-workers", "3", "app");
	assert_string_equal(cfg.pid_file, "x");
	assert_int_equal(cfg.max_workers, 3);
	/* after COMMAND, and after --, words are the app's */
	OK("app", "--pid");
	OK("--", "--pid");
	assert_string_equal(cfg.command[0], "--pid");
}

/* Options of tini and gunicorn get what to use here. */
static void habits_pointed_to(void **state)
{
	(void)state;
	USAGE("unknown option '-s' (subreaping is built in, no flag needed; see --help)", "-s",
	      "app");
	USAGE("unknown option '-s' (subreaping is built in, no flag needed; see --help)", "-sg",
	      "x", "app");
	USAGE("unknown option '-v' (for more detail use --log-level debug; see --help)", "-v",
	      "app");
	USAGE("unknown option '-p' (the pid file is --pid-file PATH; see --help)", "-p", "x",
	      "app");
	USAGE("unknown option '-c' (the config file is --config FILE; see --help)", "-c", "x",
	      "app");
	USAGE("unknown option '--daemon' (there is no daemon mode: run it in the foreground "
	      "under systemd or docker; see --help)",
	      "--daemon", "app");
	USAGE("unknown option '-D' (there is no daemon mode: run it in the foreground under "
	      "systemd or docker; see --help)",
	      "-D", "app");
	USAGE("unknown option '--access-logfile' (access logs are the app's own; --log-file or "
	      "--capture-output passes its output through; see --help)",
	      "--access-logfile", "-", "app");
	USAGE("unknown option '--max-requests' (recycle workers with --max-worker-age, or let a "
	      "worker send STOPPING=1 and exit by itself: a planned exit; see --help)",
	      "--max-requests=1000", "app");
}

/* A value taken from a word that looks like an option is a value
 * forgotten (tini's "-g -- app"); '-' and --opt=-x stay values. */
static void option_is_not_a_value(void **state)
{
	(void)state;
	USAGE("option '-g' needs a value, not '--'", "-g", "--", "app");
	USAGE("option '--chdir' needs a value, not '--pid-file'", "--chdir", "--pid-file", "x",
	      "app");
	USAGE("option '-u' needs a value, not '-w'", "-u", "-w", "2", "app");
	USAGE("--workers: invalid value '-2' (expected a number from 1 or auto)", "-w", "-2",
	      "app");
	OK("--log-file", "-", "app");
	assert_string_equal(cfg.log_file, "-");
	OK("--chdir=-x", "app");
	assert_string_equal(cfg.chdir, "-x");
	OK("-g-x", "app");
	assert_string_equal(cfg.group, "-x");
}

static void log_level_aliases(void **state)
{
	static const struct {
		const char *word;
		enum sm_log_level level;
	} cases[] = {
	    {"INFO", SM_LOG_INFO},    {"Debug", SM_LOG_DEBUG},     {"warn", SM_LOG_WARNING},
	    {"WARN", SM_LOG_WARNING}, {"WARNING", SM_LOG_WARNING}, {"err", SM_LOG_ERROR},
	    {"crit", SM_LOG_ERROR},   {"CRITICAL", SM_LOG_ERROR},  {"notice", SM_LOG_INFO}};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		OK("--log-level", cases[i].word, "app");
		assert_int_equal(cfg.log_level, cases[i].level);
	}
	USAGE("--log-level: invalid value 'loud' (expected debug, info, warning or error)",
	      "--log-level", "loud", "app");
}

#define MISSING "missing COMMAND (usage: sentrik-master [OPTION]... [--] COMMAND [ARG]...)"

static void missing_or_empty_command(void **state)
{
	(void)state;
	USAGE(MISSING, "-w", "2");
	USAGE(MISSING, "-w", "2", "--");
	USAGE(MISSING, "--");
	USAGE(MISSING, "");
	USAGE(MISSING, "--", "");
	assert_int_equal(parse(NULL), -1);
	assert_int_equal(err.status, EX_USAGE);
	assert_string_equal(err.msg, MISSING);
}

static void malformed_values(void **state)
{
	(void)state;
	USAGE("--workers: invalid value '0' (expected a number from 1 or auto)", "-w", "0", "app");
	USAGE("--workers: invalid value '-1' (expected a number from 1 or auto)", "--workers=-1",
	      "app");
	USAGE("--workers: invalid value '2x' (expected a number from 1 or auto)", "-w", "2x",
	      "app");
	USAGE("--workers: invalid value '' (expected a number from 1 or auto)",
	      "--workers=", "app");
	USAGE("--workers: invalid value ' 2' (expected a number from 1 or auto)", "-w", " 2",
	      "app");
	USAGE("--workers: invalid value '99999999999999999999' (the cap is --max-workers, at most "
	      "65536)",
	      "-w", "99999999999999999999", "app");
	USAGE("--workers: invalid value '65537' (the cap is --max-workers, at most 65536)", "-w",
	      "65537", "app");
	USAGE("--workers: invalid value '000' (expected a number from 1 or auto)", "-w", "000",
	      "app");
	USAGE("--workers: invalid value 'AUTO' (expected a number from 1 or auto)", "-w", "AUTO",
	      "app");
	USAGE("--workers: invalid value '5' (more than --max-workers 4)", "-w", "5",
	      "--max-workers", "4", "app");
	USAGE("--workers: invalid value '1025' (more than --max-workers 1024)", "-w", "1025",
	      "app");
	USAGE("--max-workers: invalid value '0' (expected 1..65536)", "--max-workers", "0", "app");
	USAGE("--max-workers: invalid value '65537' (expected 1..65536)", "--max-workers=65537",
	      "app");
	USAGE("--umask: invalid value '8' (expected an octal mode, e.g. 027)", "--umask", "8",
	      "app");
	USAGE("--umask: invalid value '01000' (expected an octal mode, e.g. 027)", "--umask",
	      "01000", "app");
	USAGE("--umask: invalid value 'rwx' (expected an octal mode, e.g. 027)", "--umask=rwx",
	      "app");
	USAGE("--chdir: empty value", "--chdir=", "app");
	USAGE("--user: invalid value ':grp' (expected USER[:GROUP])", "-u", ":grp", "app");
	USAGE("--user: invalid value 'www:' (expected USER[:GROUP])", "-u", "www:", "app");
	USAGE("--group: empty value", "-g", "", "app");
	USAGE("--chown: 'rel/dir' is not an absolute path", "--chown", "rel/dir", "app");
	USAGE("--chown: invalid mode in '/x:999' (expected PATH[:OCTAL-MODE])", "--chown", "/x:999",
	      "app");
	USAGE("--require-env: invalid variable name in '1X' (expected NAME[!=VALUE])",
	      "--require-env", "1X", "app");
	USAGE("--require-env: invalid variable name in '!=x' (expected NAME[!=VALUE])",
	      "--require-env", "!=x", "app");
	USAGE("--bind: empty address", "-b", "", "app");
	USAGE("--backlog: invalid value '0' (expected a number from 1)", "--backlog", "0", "app");
	USAGE("--backlog: invalid value '3000000000' (expected a number from 1)", "--backlog",
	      "3000000000", "app");
	USAGE("--log-file: empty value", "--log-file=", "app");
	USAGE("--log-format: invalid value 'xml' (expected text or json)", "--log-format", "xml",
	      "app");
	USAGE("--log-level: invalid value 'loud' (expected debug, info, warning or error)",
	      "--log-level", "loud", "app");
	USAGE("--pid-file: empty value", "--pid-file", "", "app");
	USAGE("--graceful-timeout: invalid value '-1' (expected seconds, e.g. 30 or 0.5)",
	      "--graceful-timeout", "-1", "app");
	USAGE("--graceful-timeout: invalid value '3s' (expected seconds, e.g. 30 or 0.5)",
	      "--graceful-timeout=3s", "app");
	USAGE("--graceful-timeout: invalid value 'inf' (expected seconds, e.g. 30 or 0.5)",
	      "--graceful-timeout", "inf", "app");
	USAGE("--graceful-timeout: invalid value '1e99' (expected seconds, e.g. 30 or 0.5)",
	      "--graceful-timeout", "1e99", "app");
	USAGE("--ready-timeout: invalid value 'soon' (expected seconds, e.g. 30 or 0.5)",
	      "--ready-timeout", "soon", "app");
	USAGE("--timeout: invalid value '' (expected seconds, e.g. 30 or 0.5)",
	      "--timeout=", "app");
	USAGE("--ready: invalid value 'later' (expected exec, notify or alive:SEC)", "--ready",
	      "later", "app");
	USAGE("--ready: invalid value 'alive:x' (expected alive:SEC, e.g. alive:1)", "--ready",
	      "alive:x", "app");
	USAGE("--ready: invalid value 'alive:0' (expected alive:SEC, e.g. alive:1)", "--ready",
	      "alive:0", "app");
	USAGE("--ready: alive:5 is not below --ready-timeout 5", "--ready", "alive:5",
	      "--ready-timeout", "5", "app");
	USAGE("--start-retries: invalid value '-1' (expected a number, 0 = forever)",
	      "--start-retries", "-1", "app");
	USAGE("--max-worker-rss: invalid value '1.5' (expected MiB, 0 = off)", "--max-worker-rss",
	      "1.5", "app");
	USAGE("--stop-signal: unknown signal 'FOO'", "--stop-signal", "FOO", "app");
	USAGE("--stop-signal: unknown signal '0'", "--stop-signal", "0", "app");
	USAGE("--stop-signal: unknown signal 'STOP'", "--stop-signal", "STOP", "app");
	USAGE("--forward: unknown signal 'SIGFOO'", "--forward", "SIGFOO", "app");
	USAGE("--forward: signal 'TERM' cannot be forwarded", "--forward", "TERM", "app");
	USAGE("--forward: signal 'KILL' cannot be forwarded", "--forward=KILL", "app");
	USAGE("--config: empty value", "--config=", "app");
}

/* The first error is the one reported. */
static void first_error_wins(void **state)
{
	(void)state;
	USAGE("--workers: invalid value '0' (expected a number from 1 or auto)", "-w", "0",
	      "--umask", "9", "app");
	/* a failed parse leaves nothing allocated behind */
	USAGE("--workers: invalid value '0' (expected a number from 1 or auto)", "--chdir", "/x",
	      "-b", ":1", "-w", "0", "app");
	assert_null(cfg.chdir);
	assert_null(cfg.binds);
	assert_null(cfg.command);
}

/* ---- --config INI ---- */

static char ini_path[64];

static void write_ini(const char *text)
{
	FILE *f;

	if (ini_path[0] == '\0') {
		int fd;
		snprintf(ini_path, sizeof(ini_path), "/tmp/sm-unit-config.XXXXXX");
		fd = mkstemp(ini_path);
		assert_true(fd >= 0);
		close(fd);
	}
	f = fopen(ini_path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int ini_teardown(void **state)
{
	teardown(state);
	if (ini_path[0] != '\0')
		unlink(ini_path);
	ini_path[0] = '\0';
	return 0;
}

static int parse_file(const char *text, const char *extra1, const char *extra2)
{
	write_ini(text);
	if (extra1 != NULL && extra2 != NULL)
		return parse("--config", ini_path, extra1, extra2, "app", NULL);
	if (extra1 != NULL)
		return parse("--config", ini_path, extra1, "app", NULL);
	return parse("--config", ini_path, "app", NULL);
}

static void config_keys(void **state)
{
	(void)state;
	assert_int_equal(parse_file("; comment\n"
	                            "# another\n"
	                            "workers = 3\n"
	                            "max_workers = 10\n"
	                            "graceful-timeout = 7\n"
	                            "stop_signal = QUIT\n"
	                            "umask = 022\n"
	                            "chdir = /srv\n"
	                            "log-level = debug\n"
	                            "reuse_port = yes\n"
	                            "capture-output = true\n"
	                            "allow_new_privs = off\n"
	                            "[sentrik-master]\n"
	                            "forward = USR2\n"
	                            "forward = WINCH\n"
	                            "bind = :8000\n"
	                            "bind = :8001\n",
	                            NULL, NULL),
	                 SM_CONFIG_RUN);
	assert_int_equal(cfg.workers, 3);
	assert_int_equal(cfg.max_workers, 10);
	assert_true(cfg.graceful_timeout == 7);
	assert_int_equal(cfg.stop_signal, SIGQUIT);
	assert_int_equal(cfg.umask, 022);
	assert_string_equal(cfg.chdir, "/srv");
	assert_int_equal(cfg.log_level, SM_LOG_DEBUG);
	assert_true(cfg.reuse_port);
	assert_true(cfg.capture_output);
	assert_false(cfg.allow_new_privs);
	assert_int_equal(cfg.forward,
	                 (UINT64_C(1) << (SIGUSR2 - 1)) | (UINT64_C(1) << (SIGWINCH - 1)));
	assert_int_equal(cfg.n_binds, 2);
	assert_string_equal(cfg.config_file, ini_path);
}

/* What people write in other INI files means the same here: inline
 * comments, quotes, "key: value". */
static void config_values_as_written(void **state)
{
	(void)state;
	assert_int_equal(parse_file("workers = 3 # three\n"
	                            "bind = \"0.0.0.0:8000\"\n"
	                            "bind = ':8001'   ; the other one\n"
	                            "chdir: /srv/app\n"
	                            "pid-file = \"/run/a #1.pid\" # quoted '#' stays\n"
	                            "require-env = KEY!=a#b\n"
	                            "log-level = WARN\n",
	                            NULL, NULL),
	                 SM_CONFIG_RUN);
	assert_int_equal(cfg.workers, 3);
	assert_int_equal(cfg.n_binds, 2);
	assert_string_equal(cfg.binds[0], "0.0.0.0:8000");
	assert_string_equal(cfg.binds[1], ":8001");
	assert_string_equal(cfg.chdir, "/srv/app");
	assert_string_equal(cfg.pid_file, "/run/a #1.pid");
	assert_string_equal(cfg.require_env[0].forbidden, "a#b");
	assert_int_equal(cfg.log_level, SM_LOG_WARNING);
}

static char warned[512];

static void keep_line(const char *buf, size_t len, void *ctx)
{
	(void)ctx;
	snprintf(warned, sizeof(warned), "%.*s", (int)len, buf);
}

/* A key set twice: the later line wins, with a warning naming both. */
static void config_repeated_key(void **state)
{
	char want[256];

	(void)state;
	warned[0] = '\0';
	sm_log_set_sink(keep_line, NULL);
	assert_int_equal(parse_file("workers = 3\nbind = :1\nbind = :2\nworkers = 4\n", NULL, NULL),
	                 SM_CONFIG_RUN);
	sm_log_set_sink(NULL, NULL);
	assert_int_equal(cfg.workers, 4);
	assert_int_equal(cfg.n_binds, 2);
	snprintf(want, sizeof(want), "%s:4: 'workers' repeats line 1; the value of line 4 is used",
	         ini_path);
	assert_non_null(strstr(warned, want));
	assert_non_null(strstr(warned, "WARNING"));
}

static void config_command_line_wins(void **state)
{
	(void)state;
	assert_int_equal(parse_file("workers = 3\ngraceful_timeout = 7\n", "-w", "5"),
	                 SM_CONFIG_RUN);
	assert_int_equal(cfg.workers, 5);
	assert_true(cfg.graceful_timeout == 7);
	/* the command line wins even when it comes before --config */
	write_ini("workers = 3\n");
	OK("-w", "2", "--config", ini_path, "app");
	assert_int_equal(cfg.workers, 2);
	/* a list given on the command line replaces the file's whole list */
	assert_int_equal(parse_file("bind = :1\nbind = :2\nforward = USR2\n"
	                            "chown = /a\nrequire_env = A\n",
	                            "--bind=:3", NULL),
	                 SM_CONFIG_RUN);
	assert_int_equal(cfg.n_binds, 1);
	assert_string_equal(cfg.binds[0], ":3");
	assert_int_equal(cfg.forward, UINT64_C(1) << (SIGUSR2 - 1));
	assert_int_equal(cfg.n_chowns, 1);
	assert_int_equal(cfg.n_require_env, 1);
	write_ini("bind = :1\nforward = USR2\nchown = /a\nrequire_env = A\n");
	OK("--config", ini_path, "-b", ":3", "-b", ":4", "--forward", "WINCH", "--chown", "/b",
	   "--chown", "/c", "--require-env", "B", "app");
	assert_int_equal(cfg.n_binds, 2);
	assert_string_equal(cfg.binds[0], ":3");
	assert_string_equal(cfg.binds[1], ":4");
	assert_int_equal(cfg.forward, UINT64_C(1) << (SIGWINCH - 1));
	assert_int_equal(cfg.n_chowns, 2);
	assert_string_equal(cfg.chowns[0].path, "/b");
	assert_int_equal(cfg.n_require_env, 1);
	assert_string_equal(cfg.require_env[0].name, "B");
	/* --max-workers from the command line checks --workers from the file */
	assert_int_equal(parse_file("workers = 6\n", "--max-workers", "4"), -1);
	assert_int_equal(err.status, EX_CONFIG);
	char want[256];
	snprintf(want, sizeof(want),
	         "%s:1: --workers: invalid value '6' (more than --max-workers 4)", ini_path);
	assert_string_equal(err.msg, want);
}

static void config_error(const char *text, const char *msg)
{
	char want[512];

	assert_int_equal(parse_file(text, NULL, NULL), -1);
	assert_int_equal(err.status, EX_CONFIG);
	snprintf(want, sizeof(want), "%s:%s", ini_path, msg);
	assert_string_equal(err.msg, want);
	assert_null(strchr(err.msg, '\n'));
}

static void config_errors(void **state)
{
	(void)state;
	config_error("workers = 2\n\nfrobnicate = 1\n", "3: unknown key 'frobnicate'");
	config_error("workers = 0\n",
	             "1: --workers: invalid value '0' (expected a number from 1 or auto)");
	config_error("# c\nstop_signal = NOPE\n", "2: --stop-signal: unknown signal 'NOPE'");
	config_error("reuse_port = maybe\n",
	             "1: --reuse-port: invalid value 'maybe' (expected true or false)");
	config_error("workers = 2\nthis is not ini\n", "2: syntax error (expected 'key = value')");
	config_error("[other]\nworkers = 2\n",
	             "2: unknown section [other] (keys go at the top or under [sentrik-master])");
	config_error("config = /etc/x\n", "1: unknown key 'config'");
	config_error("check = true\n", "1: unknown key 'check'");
	config_error("help = true\n", "1: unknown key 'help'");
	/* the first error is reported, not a later one */
	config_error("a = 1\nb = 2\n", "1: unknown key 'a'");
	/* a file that cannot be read */
	assert_int_equal(parse("--config", "/nonexistent/sm.ini", "app", NULL), -1);
	assert_int_equal(err.status, EX_CONFIG);
	assert_string_equal(err.msg, "/nonexistent/sm.ini: cannot read: No such file or directory");
	/* a line inih would cut in two */
	{
		char text[400];
		snprintf(text, sizeof(text), "workers = 2\nchdir = /%0240d\nworkers = 0\n", 0);
		config_error(
		    text, "2: line longer than 199 bytes (the parser's limit): not read in pieces");
	}
	/* a directory (a ConfigMap's mount point) is no config file */
	assert_int_equal(parse("--config", "/tmp", "app", NULL), -1);
	assert_int_equal(err.status, EX_CONFIG);
	assert_string_equal(err.msg, "/tmp: is a directory (--config names the file in it)");
	/* a command-line error is still a usage error */
	assert_int_equal(parse_file("workers = 2\n", "-w", "0"), -1);
	assert_int_equal(err.status, EX_USAGE);
	assert_string_equal(err.msg,
	                    "--workers: invalid value '0' (expected a number from 1 or auto)");
}

/* A line inih would read in pieces, a NUL byte, a file that is no
 * regular file: refused with file:line, never read some other way. */
static void config_file_strictness(void **state)
{
	static const char binary[] = "workers = 2\nuser = app\0\nuser = root\n";
	char text[512], piece[256];
	FILE *f;

	(void)state;
	/* 199 bytes and a newline: the most the parser takes whole. */
	memset(piece, 'a', 199 - 9);
	piece[199 - 9] = '\0';
	snprintf(text, sizeof(text), "workers = 2\nchdir = /%s\n", piece);
	assert_int_equal(parse_file(text, NULL, NULL), SM_CONFIG_RUN);
	teardown(state);
	/* One more, and "user = root" after it, as the next line would be. */
	snprintf(text, sizeof(text), "workers = 2\nchdir = /%sauser = root\n", piece);
	config_error(text,
	             "2: line longer than 199 bytes (the parser's limit): not read in pieces");
	/* fputs would stop at the NUL: the bytes are written whole. */
	write_ini("");
	f = fopen(ini_path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(binary, 1, sizeof(binary) - 1, f), sizeof(binary) - 1);
	fclose(f);
	assert_int_equal(parse("--config", ini_path, "app", NULL), -1);
	snprintf(text, sizeof(text), "%s:2: a NUL byte: not a text file", ini_path);
	assert_string_equal(err.msg, text);
	assert_int_equal(parse("--config", "/dev/zero", "app", NULL), -1);
	assert_int_equal(err.status, EX_CONFIG);
	assert_string_equal(err.msg, "/dev/zero: not a regular file");
	assert_int_equal(parse("--config", "/tmp", "app", NULL), -1);
	assert_string_equal(err.msg, "/tmp: is a directory (--config names the file in it)");
}

/* Parsing twice (a reload does it) must give the same result. */
static void parse_twice(void **state)
{
	(void)state;
	OK("-w", "3", "--forward", "USR2", "app", "x");
	OK("-w", "3", "--forward", "USR2", "app", "x");
	assert_int_equal(cfg.workers, 3);
	assert_int_equal(cfg.n_command, 2);
}

/* --help or --version wins over any value given before it, and leaves no
 * error behind; the first of the two asked for is the one answered. */
static void help_wins(void **state)
{
	(void)state;
	assert_int_equal(parse("--config=", "--help", NULL), SM_CONFIG_HELP);
	assert_int_equal(err.status, 0);
	assert_int_equal(parse("--config", "/nonexistent/sm.ini", "-V", NULL), SM_CONFIG_VERSION);
	assert_int_equal(err.status, 0);
	assert_null(cfg.config_file);
	assert_int_equal(parse("--version", "--help", NULL), SM_CONFIG_VERSION);
	assert_int_equal(parse("-hV", NULL), SM_CONFIG_HELP);
}

/* --help is the option table: every option once, in table order, with its
 * short form where it has one; sm_config_option walks the same table. */
static void help_lists_the_table(void **state)
{
	char *text = NULL, want[64];
	size_t len = 0, i;
	const char *name, *at, *prev = NULL;
	FILE *out = open_memstream(&text, &len);

	(void)state;
	assert_non_null(out);
	sm_config_usage(out);
	fclose(out);
	for (i = 0; (name = sm_config_option(i)) != NULL; i++) {
		snprintf(want, sizeof(want), "--%s", name);
		at = strstr(text, want);
		if (at == NULL || (at[strlen(want)] != ' ' && at[strlen(want)] != '\n'))
			fail_msg("--help lacks %s", want);
		/* in the option column: "      --name" or "  -x, --name" */
		assert_true(at - text >= 7 && at[-7] == '\n');
		assert_true(prev == NULL || at > prev);
		prev = at;
	}
	assert_int_equal(i, 33);
	assert_non_null(strstr(text, "  -w, --workers N|auto      pool size"));
	assert_non_null(strstr(text, "      --require-env NAME[!=VALUE]  refuse"));
	assert_non_null(strstr(text, "  -V, --version             version\n"));
	free(text);
}

/* --control takes any path; --metrics an address like --bind's, no fd:N. */
static void control_and_metrics(void **state)
{
	(void)state;
	OK("--control", "/run/app/ctl.sock", "--metrics", "127.0.0.1:9100", "app");
	assert_string_equal(cfg.control, "/run/app/ctl.sock");
	assert_string_equal(cfg.metrics, "127.0.0.1:9100");
	OK("--metrics=unix:/run/app/metrics.sock", "app");
	assert_null(cfg.control);
	OK("--metrics", ":9100", "app");
	USAGE("--control: empty value", "--control", "", "app");
	USAGE("--metrics: invalid value 'fd:3' (fd:N is for --bind)", "--metrics", "fd:3", "app");
	USAGE("--metrics: invalid value 'nope' (expected HOST:PORT, :PORT, [V6]:PORT or "
	      "unix:PATH)",
	      "--metrics", "nope", "app");
}

/* SPEC §5 (HUP): what a reload cannot change. */
static void reloadable(void **state)
{
	static const char *const fixed[] = {
	    "user",    "group",      "umask",    "chown",    "require-env",     "bind",
	    "backlog", "reuse-port", "log-file", "pid-file", "allow-new-privs", "control",
	    "metrics", "runtime-dir"};
	static const char *const reloaded[] = {
	    "workers",     "chdir", "capture-output", "log-format", "log-level", "graceful-timeout",
	    "stop-signal", "ready", "ready-timeout",  "timeout",    "forward"};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (sm_config_reloadable(fixed[i]))
			fail_msg("%s is reloadable", fixed[i]);
	for (i = 0; i < sizeof(reloaded) / sizeof(reloaded[0]); i++)
		if (!sm_config_reloadable(reloaded[i]))
			fail_msg("%s is not reloadable", reloaded[i]);
	assert_false(sm_config_reloadable("max-workers")); /* it sized the slot table */
	assert_false(sm_config_reloadable("config"));
	assert_false(sm_config_reloadable("frobnicate"));
	assert_false(sm_config_reloadable("max_workers")); /* long names only */
	assert_null(sm_config_option(1000));
}

/* What the parse allocated is freed through the table: freeing twice, or
 * a config that was never filled, is harmless. */
static void free_is_idempotent(void **state)
{
	(void)state;
	OK("-u", "a:b", "--chdir", "/x", "--chown", "/a", "--require-env", "A!=b", "-b", ":1",
	   "--log-file", "/l", "--pid-file", "/p", "--forward", "USR2", "app");
	sm_config_free(&cfg);
	assert_null(cfg.user);
	assert_null(cfg.chowns);
	assert_int_equal(cfg.n_binds, 0);
	assert_int_equal(cfg.forward, 0);
	sm_config_free(&cfg);
}

/* A default the table applies is the one its --help line shows; a list
 * option can be emptied, which the command line's first one does. */
static void table_is_consistent(void **state)
{
	const struct sm_opt_def *def;
	char shown[64];

	(void)state;
	for (def = sm_opts; def->name != NULL; def++) {
		size_t hl = strlen(def->help), sl;

		if (def->dflt != NULL) {
			sl = (size_t)snprintf(shown, sizeof(shown), "[%s]", def->dflt);
			if (hl < sl || strcmp(def->help + hl - sl, shown) != 0)
				fail_msg("--%s: default %s, but --help shows '%s'", def->name,
				         def->dflt, def->help);
		}
		if ((def->flags & SM_OPT_LIST) && def->clear == NULL)
			fail_msg("--%s: a list that cannot be emptied", def->name);
		assert_non_null(def->set);
		assert_true(def->arg != NULL || !(def->flags & SM_OPT_LIST));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(defaults, teardown),
	    cmocka_unit_test_teardown(workers_all_forms, teardown),
	    cmocka_unit_test_teardown(every_value_option, teardown),
	    cmocka_unit_test_teardown(every_flag, teardown),
	    cmocka_unit_test_teardown(stops_at_first_non_option, teardown),
	    cmocka_unit_test_teardown(unknown_and_missing, teardown),
	    cmocka_unit_test_teardown(abbreviations_refused, teardown),
	    cmocka_unit_test_teardown(habits_pointed_to, teardown),
	    cmocka_unit_test_teardown(option_is_not_a_value, teardown),
	    cmocka_unit_test_teardown(log_level_aliases, teardown),
	    cmocka_unit_test_teardown(missing_or_empty_command, teardown),
	    cmocka_unit_test_teardown(malformed_values, teardown),
	    cmocka_unit_test_teardown(first_error_wins, teardown),
	    cmocka_unit_test_teardown(config_keys, ini_teardown),
	    cmocka_unit_test_teardown(config_values_as_written, ini_teardown),
	    cmocka_unit_test_teardown(config_repeated_key, ini_teardown),
	    cmocka_unit_test_teardown(config_command_line_wins, ini_teardown),
	    cmocka_unit_test_teardown(config_errors, ini_teardown),
	    cmocka_unit_test_teardown(config_file_strictness, ini_teardown),
	    cmocka_unit_test_teardown(parse_twice, teardown),
	    cmocka_unit_test_teardown(help_wins, teardown),
	    cmocka_unit_test_teardown(help_lists_the_table, teardown),
	    cmocka_unit_test_teardown(control_and_metrics, teardown),
	    cmocka_unit_test_teardown(reloadable, teardown),
	    cmocka_unit_test_teardown(free_is_idempotent, teardown),
	    cmocka_unit_test_teardown(table_is_consistent, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
