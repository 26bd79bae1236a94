/* reload: the config and resolved COMMAND in force, and the next ones a
 * reload reads again, checks and hands over.  No libev: the master calls
 * in at each step of a generation change. */
#ifndef SENTRIK_RELOAD_H
#define SENTRIK_RELOAD_H

#include <stdbool.h>
#include <stddef.h>

#include <sentrik/config.h>
#include <sentrik/error.h>
#include <sentrik/pool.h>

#define SM_PATH_MAX 4096

struct sm_reload {
	const struct sm_config *cfg; /* in force */
	char path[SM_PATH_MAX];      /* its COMMAND, found in PATH */
	struct sm_config *next;      /* read by the running reload; NULL: none */
	char next_path[SM_PATH_MAX];
	struct sm_config *own; /* cfg when a reload built it, freed with it */
	int argc;              /* the command line, parsed again (with --config); */
	char *const *argv;     /* NULL: a reload only looks COMMAND up again */
};

/* Look the start's COMMAND up.  0, or -1 with *err (EX_UNAVAILABLE). */
int sm_reload_init(struct sm_reload *r, const struct sm_config *cfg, int argc, char *const *argv,
                   struct sm_error *err);
void sm_reload_free(struct sm_reload *r);

/* What a config asks of the pool. */
void sm_reload_pool_params(const struct sm_config *cfg, struct sm_pool_params *params);

/* Read the command line and --config again and look COMMAND up again, so
 * a new binary at another place in PATH is picked up.  Nothing in force
 * changes: 0 with r->next (when read) and r->next_path set, or -1 after an
 * ERROR line saying that serving_gen keeps serving. */
int sm_reload_read(struct sm_reload *r, unsigned serving_gen);
/* The reload stops before it began: forget what was read. */
void sm_reload_cancel(struct sm_reload *r);
/* The new generation starts: it is spawned from next_path (and r->next);
 * each setting a reload cannot change that the config changed gets one
 * warning line. */
void sm_reload_begin(struct sm_reload *r);
/* The new generation took over: r->next is in force. */
void sm_reload_commit(struct sm_reload *r);

/* Whether the option NAME (a long name) differs between a and b; false
 * for a reloadable one or one it does not know. */
bool sm_reload_option_changed(const struct sm_config *a, const struct sm_config *b,
                              const char *name);

#endif
