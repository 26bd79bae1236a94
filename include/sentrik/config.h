/* config: the command line and the --config INI file, merged into one
 * struct sm_config that is read-only once parsing is done. */
#ifndef SENTRIK_CONFIG_H
#define SENTRIK_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define SM_DEFAULT_MAX_WORKERS 1024
#define SM_DEFAULT_BACKLOG 2048

enum sm_log_level {
	SM_LOG_DEBUG,
	SM_LOG_INFO,
	SM_LOG_WARNING,
	SM_LOG_ERROR,
	SM_LOG_FATAL
};
enum sm_log_format {
	SM_LOG_TEXT,
	SM_LOG_JSON
};
enum sm_ready_mode {
	SM_READY_EXEC,
	SM_READY_NOTIFY
};

/* What a parse ended with; main.c turns it into an exit code. */
enum sm_parse_result {
	SM_PARSE_OK,
	SM_PARSE_HELP,
	SM_PARSE_VERSION,
	SM_PARSE_USAGE,  /* bad command line: exit 64 */
	SM_PARSE_CONFIG, /* bad --config file: exit 78 */
};

struct sm_chown {
	char *path;
	mode_t mode;
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
	double graceful_timeout;
	int stop_signal;
	enum sm_ready_mode ready;
	double ready_timeout;
	double timeout;
	uint64_t forward; /* bit (sig - 1) set for each --forward SIG */
	bool allow_new_privs;
	char *config_file;
	bool check;
	char **command; /* NULL-terminated, at least one word */
	size_t n_command;
};

/* Parse argv (and the --config file it names, if any) into cfg.  On
 * failure err holds one line naming the option (or file:line) and value. */
enum sm_parse_result sm_config_parse(struct sm_config *cfg, int argc, char *const argv[], char *err,
                                     size_t errlen);
/* Re-read for a reload: argv is parsed again over a fresh file read. */
void sm_config_free(struct sm_config *cfg);
void sm_config_usage(FILE *out);

/* Helpers shared with other parsers (also unit-tested on their own). */
int sm_parse_uint(const char *s, long min, long max, long *out);
int sm_parse_seconds(const char *s, double *out);
int sm_parse_mode(const char *s, mode_t *out);

#endif
