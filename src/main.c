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
#include <sentrik/master.h>
#include <sentrik/pid1.h>

#define EXIT_USAGE 64
#define EXIT_CONFIG 78
#define EXIT_OSERR 71

extern char **environ;

int main(int argc, char *argv[])
{
	struct sm_config cfg;
	struct sm_master_setup setup = {0};
	struct sm_listeners listeners;
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
		sm_config_free(&cfg);
		return pr == SM_PARSE_USAGE ? EXIT_USAGE : EXIT_CONFIG;
	}
	sm_log_setup(cfg.log_level, cfg.log_format);
	if (cfg.umask_set)
		umask(cfg.umask);
	/* Root phase: listening sockets, bound before privileges are dropped. */
	{
		struct sm_listen_opts lopts = {
			.backlog = cfg.backlog,
			.reuse_port = cfg.reuse_port,
			.uid = (uid_t)-1, /* the target user's ids, once they are resolved */
			.gid = (gid_t)-1,
		};
		enum sm_listen_result lr = sm_listen_setup(&listeners, &cfg, &lopts, err,
							   sizeof(err));
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
	if ((pid1 = sm_pid1_setup()) < 0) {
		sm_fatalx("cannot become a child subreaper: %s", strerror(errno));
		return EXIT_OSERR;
	}
	if (geteuid() == 0 && cfg.user == NULL)
		sm_warnx("running as root (no --user given): master and workers keep uid 0");

	setup.cfg = &cfg;
	setup.environ = environ;
	setup.is_pid1 = pid1;
	setup.argc = argc;
	setup.argv = argv;
	code = sm_master_run(&setup, reason, sizeof(reason));
	if (code != 0)
		sm_fatalx("%s", reason[0] ? reason : "stopped");
	else
		sm_info("exiting");
	sm_listeners_close(&listeners);
	sm_config_free(&cfg);
	return code;
}
