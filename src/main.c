/* main: the start-up in SPEC order, and the one place that turns an
 * error into an exit code.  parse -> (root phase) -> master loop. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include <sentrik/config.h>
#include <sentrik/control.h>
#include <sentrik/drop.h>
#include <sentrik/fd.h>
#include <sentrik/ident.h>
#include <sentrik/listen.h>
#include <sentrik/log.h>
#include <sentrik/capture.h>
#include <sentrik/master.h>
#include <sentrik/paths.h>
#include <sentrik/pid1.h>
#include <sentrik/preflight.h>
#include <sentrik/report.h>
#include <sentrik/require.h>
#include <sentrik/rundir.h>
#include <sentrik/sig.h>

extern char **environ;

/* A failed start-up step: bad input (64, 67) gets the same one plain line
 * as a usage error; everything else one FATAL log line. */
static int start_fail(const struct sm_error *e, struct sm_config *cfg)
{
	if (e->status == EX_USAGE || e->status == EX_NOUSER)
		fprintf(stderr, "sentrik-master: %s\n", e->msg);
	else
		sm_fatalx("%s", e->msg);
	sm_config_free(cfg);
	return e->status;
}

/* A failure once the runtime directory is made: it goes too. */
static int start_fail_rundir(const struct sm_error *e, struct sm_config *cfg,
                             struct sm_rundir *rundir)
{
	sm_rundir_remove(rundir);
	return start_fail(e, cfg);
}

/* The pid file, written as USER after the drop. */
static int write_pidfile(const char *path, struct sm_report *rep)
{
	char text[32];
	int fd, n;

	n = snprintf(text, sizeof(text), "%ld\n", (long)getpid());
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0 || sm_write_all(fd, text, (size_t)n) < 0) {
		int err = errno;
		if (fd >= 0)
			close(fd);
		return sm_report_step(rep, EX_CANTCREAT, "pid file", NULL, "cannot write %s: %s",
		                      path, strerror(err));
	}
	if (close(fd) < 0)
		return sm_report_step(rep, EX_CANTCREAT, "pid file", NULL, "cannot write %s: %s",
		                      path, strerror(errno));
	return 0;
}

/* Removed only while it still holds our pid: another instance may have
 * taken the file over, and then it is left to it. */
static void remove_pidfile(const char *path)
{
	char text[32], want[32];
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return;
	n = sm_read_full(fd, text, sizeof(text) - 1);
	close(fd);
	snprintf(want, sizeof(want), "%ld\n", (long)getpid());
	if (n <= 0 || (size_t)n != strlen(want) || memcmp(text, want, (size_t)n) != 0)
		return;
	if (unlink(path) < 0)
		sm_warn("cannot remove pid file %s", path);
}

/* A master holds descriptors by the worker: its notify socket and, when
 * output is captured, two pipes; during a reload two generations run, and
 * TTIN may grow the pool to --max-workers.  Above the soft RLIMIT_NOFILE
 * (1,024 workers at a soft limit of 1,024) the soft limit goes up toward
 * the hard one; workers get back the one they would have had. */
static void raise_nofile(const struct sm_config *cfg, struct sm_master_setup *setup)
{
	rlim_t per = sm_capture_enabled() ? 3 : 1, base = 64 + cfg->n_binds;
	rlim_t now_need = base + per * 2 * (rlim_t)cfg->workers;
	rlim_t need = base + per * (rlim_t)(cfg->max_workers > 2 * cfg->workers ? cfg->max_workers
	                                                                        : 2 * cfg->workers);
	struct rlimit now, raised;

	if (getrlimit(RLIMIT_NOFILE, &now) < 0 || now.rlim_cur == RLIM_INFINITY ||
	    now.rlim_cur >= need)
		return;
	raised = now;
	/* An unlimited hard limit still has the kernel's ceiling (fs.nr_open):
	 * what the pool may need is asked then. */
	raised.rlim_cur = now.rlim_max == RLIM_INFINITY ? need : now.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &raised) < 0) {
		sm_warn("cannot raise RLIMIT_NOFILE from %llu toward %llu",
		        (unsigned long long)now.rlim_cur, (unsigned long long)need);
		return;
	}
	setup->worker_nofile = now;
	/* Said at info level when the pool as configured needs it, at debug
	 * level when only TTIN up to --max-workers might. */
	(now.rlim_cur < now_need ? sm_info : sm_debug)(
	    "RLIMIT_NOFILE raised from %llu to %llu for the workers' sockets and pipes (workers "
	    "keep %llu)%s",
	    (unsigned long long)now.rlim_cur, (unsigned long long)raised.rlim_cur,
	    (unsigned long long)now.rlim_cur,
	    raised.rlim_cur < need ? "; the hard limit is below what the pool may need" : "");
}

/* --check: one address bound and closed again (a unix: path is only
 * parsed: creating its file would change the system). */
static void check_bind(const struct sm_config *cfg, const char *text, const char *step,
                       struct sm_report *rep)
{
	struct sm_listen_opts opts = {cfg->backlog, cfg->reuse_port, (uid_t)-1, (gid_t)-1};
	struct sm_error err;
	struct sm_addr addr;
	int fd = -1;

	if (sm_addr_parse(text, &addr, &err) == 0 &&
	    (addr.kind == SM_ADDR_UNIX || addr.kind == SM_ADDR_FD ||
	     (fd = sm_listen_bind(&addr, text, &opts, &err)) >= 0)) {
		if (fd >= 0)
			close(fd);
		sm_report_step(rep, 0, step, NULL, "%s can be bound", text);
	} else {
		sm_report_step(rep, EX_OSERR, step, "free the address or choose another one", "%s",
		               err.msg);
	}
}

/* --check: every --bind address, and --metrics. */
static void check_binds(const struct sm_config *cfg, struct sm_report *rep)
{
	size_t i;

	for (i = 0; i < cfg->n_binds; i++)
		check_bind(cfg, cfg->binds[i], "bind", rep);
	if (cfg->metrics != NULL)
		check_bind(cfg, cfg->metrics, "metrics", rep);
}

/* --check: every start-up step that changes nothing, in start order, each
 * printed with ok/FAIL; the exit code is the one a start would end with. */
static int run_check(const struct sm_config *cfg)
{
	struct sm_report rep = {.out = stdout};
	struct sm_identity id;
	int code;

	if (sm_ident_resolve(cfg, &id, &rep) < 0) {
		sm_require_env(cfg, environ, &rep);
	} else {
		sm_paths_check_config(cfg, &id, &rep);
		sm_require_env(cfg, environ, &rep);
		check_binds(cfg, &rep);
		sm_paths_prepare(cfg, &id, &rep);
		sm_rundir_prepare(cfg, &id, &rep, &(struct sm_rundir){0});
		sm_preflight(cfg, &id, false, &rep);
	}
	code = rep.first.status;
	if (code == 0)
		printf("result: ok, a start would succeed\n");
	else
		printf("result: a start would fail with exit %d\n", code);
	return code;
}

static struct sm_listen_opts listen_opts(const struct sm_config *cfg, const struct sm_identity *id)
{
	struct sm_listen_opts lopts = {
	    .backlog = cfg->backlog,
	    .reuse_port = cfg->reuse_port,
	    .uid = id->mode == SM_ID_DROP ? id->uid : (uid_t)-1,
	    .gid = id->mode == SM_ID_DROP ? id->gid : (gid_t)-1,
	};

	return lopts;
}

/* Listening sockets, bound while still root so --user app --bind :80
 * works with no capability left afterwards.  0, or the exit code. */
static int open_listeners(const struct sm_config *cfg, const struct sm_identity *id,
                          struct sm_listeners *listeners, struct sm_master_setup *setup)
{
	struct sm_listen_opts lopts = listen_opts(cfg, id);
	struct sm_error err;

	if (sm_listen_setup(listeners, cfg->binds, cfg->n_binds, &lopts, &err) < 0) {
		sm_fatalx("%s", err.msg);
		return err.status;
	}
	setup->listen_fds = listeners->fds;
	setup->n_listen = listeners->n;
	setup->listen_names = listeners->names;
	for (size_t i = 0; i < listeners->n; i++)
		sm_info("listening on %s (fd %d)", listeners->texts[i], listeners->fds[i]);
	return 0;
}

/* --metrics, bound with the listeners (as root: a port below 1024 works)
 * but the master's alone: close-on-exec and never in LISTEN_FDS. */
static int open_metrics(const struct sm_config *cfg, const struct sm_identity *id,
                        struct sm_master_setup *setup)
{
	struct sm_listen_opts lopts = listen_opts(cfg, id);
	struct sm_addr addr;
	struct sm_error err;

	if (cfg->metrics == NULL)
		return 0;
	lopts.backlog = 64;
	lopts.reuse_port = false;
	if (sm_addr_parse(cfg->metrics, &addr, &err) < 0 ||
	    (setup->metrics_fd = sm_listen_bind(&addr, cfg->metrics, &lopts, &err)) < 0) {
		sm_fatalx("--metrics: %s", err.msg);
		return err.status;
	}
	sm_info("metrics on %s (fd %d)", cfg->metrics, setup->metrics_fd);
	return 0;
}

/* The control socket, made as USER after the drop.  An explicit --control
 * that cannot be made stops the start (73); the default one only warns. */
static int open_control(const struct sm_config *cfg, struct sm_master_setup *setup,
                        struct sm_control *ctl)
{
	char *path = sm_control_path(cfg->control, setup->runtime_dir);
	struct sm_error err;

	ctl->fd = -1;
	ctl->path = NULL;
	if (path == NULL) {
		if (cfg->control == NULL) {
			sm_debug("no runtime directory: no control socket");
			return 0;
		}
		sm_fatalx("--control: out of memory");
		return EX_OSERR;
	}
	if (sm_control_open(ctl, path, &err) < 0) {
		free(path);
		if (cfg->control != NULL) {
			sm_fatalx("%s", err.msg);
			return err.status;
		}
		sm_warnx("%s; running without a control socket", err.msg);
		return 0;
	}
	free(path);
	setup->control_fd = ctl->fd;
	sm_info("control socket %s", ctl->path);
	return 0;
}

/* The start in SPEC §3's order, top to bottom (long: each step is a call
 * and its failure path; split, the order would no longer read at once). */
int main(int argc, char *argv[])
{
	struct sm_config cfg;
	struct sm_master_setup setup = {0};
	struct sm_report rep = {0};
	struct sm_identity id;
	struct sm_listeners listeners;
	struct sm_control control = {.fd = -1};
	struct sm_rundir rundir = {0};
	struct sm_error err;
	int code, pid1;

	setup.control_fd = setup.metrics_fd = -1;

	/* Signals that arrive before the loop watches them wait for it. */
	(void)sm_sig_hold(0);
	switch (sm_config_parse(&cfg, argc, argv, &err)) {
	case SM_CONFIG_RUN:
		(void)sm_sig_hold(cfg.forward);
		break;
	case SM_CONFIG_HELP:
		sm_config_usage(stdout);
		return 0;
	case SM_CONFIG_VERSION:
		printf("sentrik-master %s\n", SM_VERSION);
		return 0;
	default:
		fprintf(stderr, "sentrik-master: %s\n", err.msg);
		return err.status;
	}
	sm_listen_close_inherited(cfg.binds, cfg.n_binds);
	sm_log_setup(cfg.log_level, cfg.log_format);
	if (cfg.umask_set)
		umask(cfg.umask);
	if ((pid1 = sm_pid1_setup()) < 0) {
		sm_fatalx("cannot become a child subreaper: %s", strerror(errno));
		return EX_OSERR;
	}
	if (cfg.check) {
		code = run_check(&cfg);
		sm_config_free(&cfg);
		return code;
	}

	/* The root phase, in SPEC order; nothing on the system changes before
	 * the input (user, group, environment) is known to be good. */
	if (sm_ident_resolve(&cfg, &id, &rep) < 0 || sm_paths_check_config(&cfg, &id, &rep) < 0 ||
	    sm_require_env(&cfg, environ, &rep) < 0)
		return start_fail(&rep.first, &cfg);
	if ((code = open_listeners(&cfg, &id, &listeners, &setup)) != 0 ||
	    (code = open_metrics(&cfg, &id, &setup)) != 0) {
		sm_config_free(&cfg);
		return code;
	}
	/* Paths are tried as USER before --chown changes anything (judged as
	 * they will be), and once more after, as they are. */
	if (sm_preflight(&cfg, &id, false, &rep) < 0 || sm_paths_prepare(&cfg, &id, &rep) < 0 ||
	    sm_rundir_prepare(&cfg, &id, &rep, &rundir) < 0)
		return start_fail(&rep.first, &cfg);
	if (sm_preflight(&cfg, &id, true, &rep) < 0 || sm_drop(&cfg, &id, &rep) < 0)
		return start_fail_rundir(&rep.first, &cfg, &rundir);
	if (id.mode == SM_ID_ROOT)
		sm_warnx("running as root (%s): master and workers keep uid 0",
		         cfg.user == NULL ? "no --user given" : "--user is root");
	/* From here on we are USER: the log file and pid file are ours. */
	if (cfg.pid_file != NULL && write_pidfile(cfg.pid_file, &rep) < 0)
		return start_fail_rundir(&rep.first, &cfg, &rundir);
	if (id.set_env) {
		setup.home = id.home;
		setup.user_name = id.name;
	}
	setup.cfg = &cfg;
	setup.environ = environ;
	setup.is_pid1 = pid1;
	if (sm_capture_open(&cfg, &err) < 0)
		return start_fail_rundir(&err, &cfg, &rundir);
	setup.runtime_dir = rundir.path[0] != '\0' ? rundir.path : NULL;
	if ((code = open_control(&cfg, &setup, &control)) != 0) {
		sm_rundir_remove(&rundir);
		sm_config_free(&cfg);
		return code;
	}
	setup.argc = argc;
	setup.argv = argv;
	raise_nofile(&cfg, &setup);
	if (sm_master_run(&setup, &err) < 0)
		sm_fatalx("%s", err.msg);
	else
		sm_info("exiting");
	code = err.status;
	sm_control_close(&control);
	sm_rundir_remove(&rundir);
	if (cfg.pid_file != NULL)
		remove_pidfile(cfg.pid_file);
	if (setup.metrics_fd >= 0)
		close(setup.metrics_fd);
	sm_listeners_close(&listeners);
	sm_config_free(&cfg);
	return code;
}
