/* config_options: config's one table of options, behind the command line,
 * the --config file and --help; config.c reads argv and the file against it. */
#ifndef SENTRIK_CONFIG_OPTIONS_H
#define SENTRIK_CONFIG_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>

#include <sentrik/config.h>
#include <sentrik/error.h>

struct sm_opt_state;
struct sm_opt_def;

/* A setter parses one value into the config, or calls sm_opt_fail; a flag
 * given on the command line comes with v == NULL. */
typedef void sm_opt_setter(struct sm_opt_state *st, const struct sm_opt_def *def, const char *v);
/* Frees and empties what the option holds: for a list, the whole list. */
typedef void sm_opt_clearer(struct sm_config *cfg, const struct sm_opt_def *def);

enum sm_opt_flags {
	SM_OPT_RELOAD = 1 << 0, /* a reload puts a changed value into effect */
	SM_OPT_LIST = 1 << 1,   /* repeatable: the command line's first one replaces the file's */
	SM_OPT_CLI = 1 << 2,    /* command line only: no key of the --config file */
	SM_OPT_EARLY = 1 << 3,  /* acted on before the file is read */
};

struct sm_opt_def {
	const char *name; /* NULL ends the table */
	char short_name;
	const char *arg; /* its value's name in --help; NULL: a flag, which takes none */
	sm_opt_setter *set;
	sm_opt_clearer *clear; /* NULL: nothing allocated */
	size_t field;          /* the member the generic setters and clearers fill */
	const char *dflt;      /* handed to set before anything else; NULL: zero */
	unsigned flags;        /* enum sm_opt_flags */
	const char *help;      /* what --help prints after the option column */
};

/* Every option, in --help order, ended by an entry with a NULL name. */
extern const struct sm_opt_def sm_opts[];
/* Room for the command line's per-option arrays (checked in options.c). */
#define SM_OPTS_MAX 64

/* Where a value came from, for the error line. */
struct sm_opt_origin {
	const char *file; /* NULL: the command line */
	int line;
};

/* One parse: the config being filled and its first error. */
struct sm_opt_state {
	struct sm_config *cfg;
	struct sm_error *e;
	enum sm_config_request request; /* what --help or --version asked for */
	struct sm_opt_origin at;        /* of the value being applied */
	char workers_text[64];          /* --workers as given, for finish's error */
	struct sm_opt_origin workers_at;
};

/* Records the first error only: EX_CONFIG with "FILE:LINE: " for a value
 * from the file ("FILE: " for the file as a whole, line 0), EX_USAGE for
 * one from the command line. */
void sm_opt_fail(struct sm_opt_state *st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
bool sm_opt_failed(const struct sm_opt_state *st);
/* The entry of a long name, or NULL. */
const struct sm_opt_def *sm_opt_find(const char *name);
/* Zeroes st->cfg and applies every entry's default. */
void sm_opt_defaults(struct sm_opt_state *st);
/* What can be judged only once every value is in (--workers against
 * --max-workers, "auto" resolved). */
void sm_opt_finish(struct sm_opt_state *st);

#endif
