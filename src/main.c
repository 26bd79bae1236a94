/* main: the start-up in SPEC order, and the one place that turns an
 * error into an exit code.  parse -> (root phase) -> master loop. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sentrik/config.h>
#include <sentrik/log.h>
#include <sentrik/logs.h>
#include <sentrik/master.h>
#include <sentrik/pid1.h>
#include <sentrik/priv.h>

#define EXIT_USAGE 64
#define EXIT_CONFIG 78
#define EXIT_OSERR 71
#define EXIT_NOUSER 67
#define EXIT_UNAVAILABLE 69
#define EXIT_CANTCREAT 73
#define EXIT_NOPERM 77

extern char **environ;

static int priv_exit_code(enum sm_priv_status st)
{
	switch (st) {
	case SM_PRIV_OK:
		return 0;
	case SM_PRIV_USAGE:
		return EXIT_USAGE;
	case SM_PRIV_NO_SUCH_ID:
		return EXIT_NOUSER;
	case SM_PRIV_EXEC:
		return EXIT_UNAVAILABLE;
	case SM_PRIV_SYSTEM:
		return EXIT_OSERR;
	case SM_PRIV_PATH:
		return EXIT_CANTCREAT;
	case SM_PRIV_DENIED:
		return EXIT_NOPERM;
	case SM_PRIV_ENV:
		return EXIT_CONFIG;
	}
	return EXIT_OSERR;
}

/* A failed root-phase step: bad input (64, 67) gets the same one plain
 * line as a usage error; everything else one FATAL log line. */
static int priv_fail(const struct sm_report *rep, struct sm_config *cfg)
{
	if (rep->first == SM_PRIV_USAGE || rep->first == SM_PRIV_NO_SUCH_ID)
		fprintf(stderr, "sentrik-master: %s\n", rep->msg);
	else
		sm_fatalx("%s", rep->msg);
	sm_config_free(cfg);
	return priv_exit_code(rep->first);
}

/* --check: every start-up step that changes nothing, in start order, each
 * printed with ok/FAIL; the exit code is the one a start would end with. */
static int run_check(const struct sm_config *cfg)
{
	struct sm_report rep = {.out = stdout};
	struct sm_identity id;
	int code;

	if (sm_priv_resolve(cfg, &id, &rep) != SM_PRIV_OK) {
		sm_priv_check_env(cfg, environ, &rep);
	} else {
		sm_priv_check_env(cfg, environ, &rep);
		/* listen.c: the would-bind test of every --bind goes here. */
		sm_priv_prepare_paths(cfg, &id, &rep);
		sm_priv_preflight(cfg, &id, false, &rep);
	}
	code = priv_exit_code(rep.first);
	if (code == 0)
		printf("result: ok, a start would succeed\n");
	else
		printf("result: a start would fail with exit %d\n", code);
	return code;
}

int main(int argc, char *argv[])
{
	struct sm_config cfg;
	struct sm_master_setup setup = {0};
	struct sm_report rep = {0};
	struct sm_identity id;
	char err[1024], reason[4096];
	enum sm_parse_result pr;
	int code, pid1;

	pr = sm_config_parse(&cfg, argc, argv, err, sizeof(err));
	switch (pr) {
	case SM_PARSE_OK:
		break;
	case SM_PARSE_HELP:
		sm_config_usage(stdout);
		return 0;
	case SM_PARSE_VERSION:
		printf("sentrik-master %s\n", SM_VERSION);
		return 0;
	case SM_PARSE_USAGE:
	case SM_PARSE_CONFIG:
		fprintf(stderr, "sentrik-master: %s\n", err);
		return pr == SM_PARSE_USAGE ? EXIT_USAGE : EXIT_CONFIG;
	}
	sm_log_setup(cfg.log_level, cfg.log_format);
	if (cfg.umask_set)
		umask(cfg.umask);
	if ((pid1 = sm_pid1_setup()) < 0) {
		sm_fatalx("cannot become a child subreaper: %s", strerror(errno));
		return EXIT_OSERR;
	}
	if (cfg.check) {
		code = run_check(&cfg);
		sm_config_free(&cfg);
		return code;
	}

	/* The root phase, in SPEC order; nothing on the system changes before
	 * the input (user, group, environment) is known to be good. */
	if (sm_priv_resolve(&cfg, &id, &rep) != SM_PRIV_OK ||
	    sm_priv_check_env(&cfg, environ, &rep) != SM_PRIV_OK)
		return priv_fail(&rep, &cfg);
	/* listen.c: bind every --bind socket here, while still root. */
	/* Paths are tried as USER before --chown changes anything (judged as
	 * they will be), and once more after, as they are. */
	if (sm_priv_preflight(&cfg, &id, false, &rep) != SM_PRIV_OK ||
	    sm_priv_prepare_paths(&cfg, &id, &rep) != SM_PRIV_OK ||
	    sm_priv_preflight(&cfg, &id, true, &rep) != SM_PRIV_OK ||
	    sm_priv_drop(&cfg, &id, &rep) != SM_PRIV_OK)
		return priv_fail(&rep, &cfg);
	if (id.mode == SM_ID_ROOT)
		sm_warnx("running as root (%s): master and workers keep uid 0",
			 cfg.user == NULL ? "no --user given" : "--user is root");
	/* From here on we are USER: the log file and pid file are ours. */
	if (cfg.pid_file != NULL && sm_priv_write_pidfile(cfg.pid_file, &rep) != SM_PRIV_OK)
		return priv_fail(&rep, &cfg);
	if (id.set_env) {
		setup.home = id.home;
		setup.user_name = id.name;
	}
	setup.cfg = &cfg;
	setup.environ = environ;
	setup.is_pid1 = pid1;
	if (sm_logs_open(&cfg) < 0)
		return 73; /* cannot create or write the log file */
	code = sm_master_run(&setup, reason, sizeof(reason));
	if (code != 0)
		sm_fatalx("%s", reason[0] ? reason : "stopped");
	else
		sm_info("exiting");
	if (cfg.pid_file != NULL)
		sm_priv_remove_pidfile(cfg.pid_file);
	sm_config_free(&cfg);
	return code;
}
