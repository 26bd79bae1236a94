/* config: the command line and the --config INI file, merged into one
 * struct sm_config that is read-only once parsing is done. */
#ifndef SENTRIK_CONFIG_H
#define SENTRIK_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <sentrik/error.h>
#include <sentrik/log.h>

enum sm_ready_mode {
	SM_READY_EXEC,
	SM_READY_NOTIFY,
	SM_READY_ALIVE /* alive ready_alive seconds, or READY=1 */
};

/* What a parse asks of main.c when nothing failed: start, or print the
 * help or the version and exit 0. */
enum sm_config_request {
	SM_CONFIG_RUN,
	SM_CONFIG_HELP,
	SM_CONFIG_VERSION,
};

struct sm_chown {
	char *path;
	mode_t mode;
	bool mode_set; /* PATH:MODE given: a regular file gets it too */
};

struct sm_require_env {
	char *name;
	char *forbidden; /* NULL: only set and non-empty is required */
};

struct sm_config {
	int workers; /* resolved: "auto" already turned into a number */
	bool workers_auto;
	int max_workers;
	char *user;  /* USER part of --user, NULL when not given */
	char *group; /* --group, or GROUP part of --user USER:GROUP */
	bool umask_set;
	mode_t umask;
	char *chdir;
	struct sm_chown *chowns;
	size_t n_chowns;
	struct sm_require_env *require_env;
	size_t n_require_env;
	char **binds;
	size_t n_binds;
	int backlog;
	bool reuse_port;
	char *log_file; /* "-" = standard error */
	bool capture_output;
	enum sm_log_format log_format;
	enum sm_log_level log_level;
	char *pid_file;
	char *runtime_dir; /* --runtime-dir, NULL: the defaults of SPEC §3 */
	double graceful_timeout;
	int stop_signal;
	enum sm_ready_mode ready;
	double ready_alive; /* SEC of --ready alive:SEC */
	double ready_timeout;
	int start_retries;     /* 0 = never give up */
	double max_worker_age; /* 0 = off */
	long max_worker_rss;   /* MiB; 0 = off */
	double timeout;
	uint64_t forward; /* bit (sig - 1) set for each --forward SIG */
	bool allow_new_privs;
	char *control; /* --control PATH, NULL: control.sock in the runtime directory */
	char *metrics; /* --metrics ADDR, NULL: none */
	char *config_file;
	bool check;
	char **command; /* NULL-terminated, at least one word */
	size_t n_command;
};

/* Parse argv (and the --config file it names, if any) into cfg.  Returns
 * an sm_config_request, or -1 with e set to one line naming the option (or
 * FILE:LINE) and the value: EX_USAGE for the command line, EX_CONFIG for the
 * file.  Anything but SM_CONFIG_RUN leaves nothing in cfg to free.  A reload
 * calls it again with the same argv, over a fresh read of the file. */
int sm_config_parse(struct sm_config *cfg, int argc, char *const argv[], struct sm_error *e);
/* Frees what a successful parse allocated; cfg itself is the caller's. */
void sm_config_free(struct sm_config *cfg);
/* The --help text, one line per entry of the option table, in its order. */
void sm_config_usage(FILE *out);

/* Whether a reload puts a changed value of the option NAME (its long name,
 * "user") into effect; false for an unknown name.  A setting that is not
 * reloadable keeps its value from the start until the next start. */
bool sm_config_reloadable(const char *name);
/* The long name of the i-th option of the table; NULL past its end. */
const char *sm_config_option(size_t i);

#endif
