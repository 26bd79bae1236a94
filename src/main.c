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

#define EXIT_USAGE 64
#define EXIT_CONFIG 78
#define EXIT_OSERR 71

extern char **environ;

int main(int argc, char *argv[])
{
	struct sm_config cfg;
	struct sm_master_setup setup = {0};
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
	if (geteuid() == 0 && cfg.user == NULL)
		sm_warnx("running as root (no --user given): master and workers keep uid 0");

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
	sm_config_free(&cfg);
	return code;
}
