/* main: the start-up in SPEC order, and the one place that turns an
 * error into an exit code.  parse -> (root phase) -> master loop. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sentrik/config.h>
#include <sentrik/listen.h>
#include <sentrik/log.h>
#include <sentrik/capture.h>
#include <sentrik/master.h>
#include <sentrik/pid1.h>
#include <sentrik/priv.h>
#include <sentrik/sig.h>

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

/* --check: bind every TCP address and close it again (a unix: path is
 * only parsed: creating its file would change the system). */
static void check_binds(const struct sm_config *cfg, struct sm_report *rep)
{
	struct sm_listen_opts opts = {cfg->backlog, cfg->reuse_port, (uid_t)-1, (gid_t)-1};
	char err[512];
	size_t i;

	for (i = 0; i < cfg->n_binds; i++) {
		enum sm_listen_result why;
		struct sm_addr addr;
		int fd = -1;

		if (sm_addr_parse(cfg->binds[i], &addr, err, sizeof(err)) == 0 &&
		    (addr.kind == SM_ADDR_UNIX || addr.kind == SM_ADDR_FD ||
		     (fd = sm_listen_bind(&addr, cfg->binds[i], &opts, &why, err, sizeof(err))) >=
		         0)) {
			if (fd >= 0)
				close(fd);
			sm_report_step(rep, SM_PRIV_OK, "bind", NULL, "%s can be bound",
			               cfg->binds[i]);
		} else {
			sm_report_step(rep, SM_PRIV_SYSTEM, "bind",
			               "free the address or choose another one", "%s", err);
		}
	}
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
		check_binds(cfg, &rep);
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
	struct sm_listeners listeners;
	struct sm_error failure;
	char err[1024];
	enum sm_parse_result pr;
	int code, pid1;

	/* Signals that arrive before the loop watches them wait for it. */
	(void)sm_sig_hold(0);
	pr = sm_config_parse(&cfg, argc, argv, err, sizeof(err));
	switch (pr) {
	case SM_PARSE_OK:
		(void)sm_sig_hold(cfg.forward);
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
		sm_config_free(&cfg);
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
	/* Listening sockets, bound while still root so --user app --bind :80
	 * works with no capability left afterwards. */
	{
		struct sm_listen_opts lopts = {
		    .backlog = cfg.backlog,
		    .reuse_port = cfg.reuse_port,
		    .uid = id.mode == SM_ID_DROP ? id.uid : (uid_t)-1,
		    .gid = id.mode == SM_ID_DROP ? id.gid : (gid_t)-1,
		};
		enum sm_listen_result lr =
		    sm_listen_setup(&listeners, &cfg, &lopts, err, sizeof(err));
		if (lr != SM_LISTEN_OK) {
			sm_fatalx("%s", err);
			sm_config_free(&cfg);
			return lr == SM_LISTEN_USAGE ? EXIT_USAGE : EXIT_OSERR;
		}
		setup.listen_fds = listeners.fds;
		setup.n_listen = listeners.n;
		setup.listen_names = listeners.names;
		for (size_t i = 0; i < listeners.n; i++)
			sm_info("listening on %s (fd %d)", listeners.texts[i], listeners.fds[i]);
	}
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
	if (sm_capture_open(&cfg, &failure) < 0) {
		sm_fatalx("%s", failure.msg);
		return failure.status;
	}
	setup.argc = argc;
	setup.argv = argv;
	if (sm_master_run(&setup, &failure) < 0)
		sm_fatalx("%s", failure.msg);
	else
		sm_info("exiting");
	code = failure.status;
	if (cfg.pid_file != NULL)
		sm_priv_remove_pidfile(cfg.pid_file);
	sm_listeners_close(&listeners);
	sm_config_free(&cfg);
	return code;
}
