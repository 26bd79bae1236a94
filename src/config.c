/* config: argv and the --config INI file into one struct sm_config.  Both
 * go through one setter, so a key means the same in either place; the
 * command line is applied last and wins. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <ini.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sentrik/config.h>
#include <sentrik/cpus.h>
#include <sentrik/listen.h>
#include <sentrik/sig.h>

#define SM_MAX_WORKERS_CEILING 65536

enum opt_kind {
	OPT_VALUE,
	OPT_FLAG
};

struct opt_def {
	const char *name;
	int short_name;
	enum opt_kind kind;
	bool cli_only;
};

/* The one table of options; its order is the order of --help. */
static const struct opt_def opt_defs[] = {
    {"workers", 'w', OPT_VALUE, false},
    {"max-workers", 0, OPT_VALUE, false},
    {"user", 'u', OPT_VALUE, false},
    {"group", 'g', OPT_VALUE, false},
    {"umask", 0, OPT_VALUE, false},
    {"chdir", 0, OPT_VALUE, false},
    {"chown", 0, OPT_VALUE, false},
    {"require-env", 0, OPT_VALUE, false},
    {"bind", 'b', OPT_VALUE, false},
    {"backlog", 0, OPT_VALUE, false},
    {"reuse-port", 0, OPT_FLAG, false},
    {"log-file", 0, OPT_VALUE, false},
    {"capture-output", 0, OPT_FLAG, false},
    {"log-format", 0, OPT_VALUE, false},
    {"log-level", 0, OPT_VALUE, false},
    {"pid-file", 0, OPT_VALUE, false},
    {"graceful-timeout", 0, OPT_VALUE, false},
    {"stop-signal", 0, OPT_VALUE, false},
    {"ready", 0, OPT_VALUE, false},
    {"ready-timeout", 0, OPT_VALUE, false},
    {"timeout", 0, OPT_VALUE, false},
    {"forward", 0, OPT_VALUE, false},
    {"allow-new-privs", 0, OPT_FLAG, false},
    {"config", 0, OPT_VALUE, true},
    {"check", 0, OPT_FLAG, true},
    {"help", 'h', OPT_FLAG, true},
    {"version", 'V', OPT_FLAG, true},
};
#define N_OPTS (sizeof(opt_defs) / sizeof(opt_defs[0]))

/* Where a value came from, for the error line. */
struct origin {
	const char *file; /* NULL: the command line */
	int line;
};

/* Which repeatable lists the command line has started to fill: its first
 * entry replaces what the file gave. */
struct parse_state {
	struct sm_config *cfg;
	bool cli_list_started[N_OPTS];
	bool workers_given;
	FILE *file;
	int file_line; /* lines handed to inih so far: the line it is on */
	char workers_text[64];
	struct origin workers_origin;
	char *err;
	size_t errlen;
	enum sm_parse_result fail;
};

static void fail(struct parse_state *st, const struct origin *o, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail(struct parse_state *st, const struct origin *o, const char *fmt, ...)
{
	va_list ap;
	int n = 0;

	if (st->fail != SM_PARSE_OK)
		return; /* the first error is the one reported */
	if (o != NULL && o->file != NULL)
		n = snprintf(st->err, st->errlen, "%s:%d: ", o->file, o->line);
	if (n < 0 || (size_t)n >= st->errlen)
		n = 0;
	va_start(ap, fmt);
	vsnprintf(st->err + n, st->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	st->fail = o != NULL && o->file != NULL ? SM_PARSE_CONFIG : SM_PARSE_USAGE;
}

int sm_parse_uint(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	if (s == NULL || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int sm_parse_seconds(const char *s, double *out)
{
	char *end;
	double v;

	if (s == NULL || !(isdigit((unsigned char)*s) || *s == '.'))
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || *end != '\0' || !isfinite(v) || v < 0 || v > 31536000.0)
		return -1;
	*out = v;
	return 0;
}

int sm_parse_mode(const char *s, mode_t *out)
{
	char *end;
	unsigned long v;

	if (s == NULL || *s < '0' || *s > '7')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 8);
	if (errno != 0 || *end != '\0' || v > 07777)
		return -1;
	*out = (mode_t)v;
	return 0;
}

static bool parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"1", "yes", "true", "on"};
	static const char *const no[] = {"0", "no", "false", "off"};
	size_t i;

	for (i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return true;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return true;
		}
	}
	return false;
}

static bool valid_env_name(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || isdigit((unsigned char)s[0]))
		return false;
	for (i = 0; i < len; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_'))
			return false;
	return true;
}

/* Signals the master keeps for itself or that cannot be caught. */
static bool forwardable(int sig)
{
	static const int reserved[] = {SIGHUP,  SIGINT,  SIGQUIT, SIGTERM, SIGTTIN, SIGTTOU,
	                               SIGCHLD, SIGKILL, SIGSTOP, SIGPIPE, SIGSEGV, SIGBUS,
	                               SIGFPE,  SIGILL,  SIGTRAP, SIGSYS,  SIGABRT};
	size_t i;

	for (i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if (reserved[i] == sig)
			return false;
	return sig >= 1 && sig <= 64;
}

static int set_string(char **slot, const char *value)
{
	char *copy = strdup(value);

	if (copy == NULL)
		return -1;
	free(*slot);
	*slot = copy;
	return 0;
}

static void *grow(void *array, size_t n, size_t size)
{
	return realloc(array, (n + 1) * size);
}

static void clear_list(struct sm_config *cfg, const char *name)
{
	size_t i;

	if (strcmp(name, "chown") == 0) {
		for (i = 0; i < cfg->n_chowns; i++)
			free(cfg->chowns[i].path);
		cfg->n_chowns = 0;
	} else if (strcmp(name, "require-env") == 0) {
		for (i = 0; i < cfg->n_require_env; i++)
			free(cfg->require_env[i].name);
		cfg->n_require_env = 0;
	} else if (strcmp(name, "bind") == 0) {
		for (i = 0; i < cfg->n_binds; i++)
			free(cfg->binds[i]);
		cfg->n_binds = 0;
	} else if (strcmp(name, "forward") == 0) {
		cfg->forward = 0;
	}
}

static void add_chown(struct parse_state *st, const struct origin *o, const char *v)
{
	struct sm_config *cfg = st->cfg;
	const char *colon = strrchr(v, ':');
	struct sm_chown entry = {.mode = 0755};
	size_t len = strlen(v);
	void *more;

	if (colon != NULL) {
		if (sm_parse_mode(colon + 1, &entry.mode) < 0 || entry.mode > 0777) {
			fail(st, o, "--chown: invalid mode in '%s' (expected PATH[:OCTAL-MODE])",
			     v);
			return;
		}
		len = (size_t)(colon - v);
	}
	if (len == 0 || v[0] != '/') {
		fail(st, o, "--chown: '%s' is not an absolute path", v);
		return;
	}
	if ((more = grow(cfg->chowns, cfg->n_chowns, sizeof(*cfg->chowns))) == NULL ||
	    (entry.path = strndup(v, len)) == NULL) {
		if (more != NULL)
			cfg->chowns = more;
		fail(st, o, "--chown: out of memory");
		return;
	}
	cfg->chowns = more;
	cfg->chowns[cfg->n_chowns++] = entry;
}

static void add_require_env(struct parse_state *st, const struct origin *o, const char *v)
{
	struct sm_config *cfg = st->cfg;
	const char *bang = strstr(v, "!=");
	size_t len = bang != NULL ? (size_t)(bang - v) : strlen(v);
	struct sm_require_env entry = {0};
	void *more;

	if (!valid_env_name(v, len)) {
		fail(st, o, "--require-env: invalid variable name in '%s' (expected NAME[!=VALUE])",
		     v);
		return;
	}
	/* name and forbidden value share one allocation: "NAME\0VALUE\0" */
	if ((more = grow(cfg->require_env, cfg->n_require_env, sizeof(entry))) == NULL ||
	    (entry.name = strdup(v)) == NULL) {
		if (more != NULL)
			cfg->require_env = more;
		fail(st, o, "--require-env: out of memory");
		return;
	}
	cfg->require_env = more;
	if (bang != NULL) {
		entry.name[len] = '\0';
		entry.forbidden = entry.name + len + 2;
	}
	cfg->require_env[cfg->n_require_env++] = entry;
}

static void add_bind(struct parse_state *st, const struct origin *o, const char *v)
{
	struct sm_config *cfg = st->cfg;
	struct sm_addr addr;
	char why[512];
	void *more;

	/* Checked here so a bad address is a usage error before anything is bound. */
	if (sm_addr_parse(v, &addr, why, sizeof(why)) < 0) {
		fail(st, o, "%s", why);
		return;
	}
	if ((more = grow(cfg->binds, cfg->n_binds, sizeof(char *))) == NULL) {
		fail(st, o, "--bind: out of memory");
		return;
	}
	cfg->binds = more;
	if ((cfg->binds[cfg->n_binds] = strdup(v)) == NULL) {
		fail(st, o, "--bind: out of memory");
		return;
	}
	cfg->n_binds++;
}

static void set_user(struct parse_state *st, const struct origin *o, const char *v)
{
	const char *colon = strchr(v, ':');
	size_t ulen = colon != NULL ? (size_t)(colon - v) : strlen(v);
	char *user;

	if (ulen == 0 || (colon != NULL && colon[1] == '\0')) {
		fail(st, o, "--user: invalid value '%s' (expected USER[:GROUP])", v);
		return;
	}
	if ((user = strndup(v, ulen)) == NULL) {
		fail(st, o, "--user: out of memory");
		return;
	}
	free(st->cfg->user);
	st->cfg->user = user;
	if (colon != NULL && set_string(&st->cfg->group, colon + 1) < 0)
		fail(st, o, "--user: out of memory");
}

static void set_seconds(struct parse_state *st, const struct origin *o, const char *name,
                        const char *v, double *out)
{
	if (sm_parse_seconds(v, out) < 0)
		fail(st, o, "--%s: invalid value '%s' (expected seconds, e.g. 30 or 0.5)", name, v);
}

static void set_nonempty(struct parse_state *st, const struct origin *o, const char *name,
                         const char *v, char **out)
{
	if (*v == '\0')
		fail(st, o, "--%s: empty value", name);
	else if (set_string(out, v) < 0)
		fail(st, o, "--%s: out of memory", name);
}

/* The one setter behind both the command line and the file. */
static void apply(struct parse_state *st, const struct origin *o, const char *name, const char *v)
{
	struct sm_config *cfg = st->cfg;
	long n;
	int sig;
	bool b;

	if (strcmp(name, "workers") == 0) {
		st->workers_given = true;
		snprintf(st->workers_text, sizeof(st->workers_text), "%s", v);
		st->workers_origin = *o;
		if (strcmp(v, "auto") == 0) {
			cfg->workers_auto = true;
		} else if (sm_parse_uint(v, 1, SM_MAX_WORKERS_CEILING, &n) == 0) {
			cfg->workers_auto = false;
			cfg->workers = (int)n;
		} else {
			fail(st, o,
			     "--workers: invalid value '%s' (expected a number from 1 or auto)", v);
		}
	} else if (strcmp(name, "max-workers") == 0) {
		if (sm_parse_uint(v, 1, SM_MAX_WORKERS_CEILING, &n) < 0)
			fail(st, o, "--max-workers: invalid value '%s' (expected 1..%d)", v,
			     SM_MAX_WORKERS_CEILING);
		else
			cfg->max_workers = (int)n;
	} else if (strcmp(name, "user") == 0) {
		set_user(st, o, v);
	} else if (strcmp(name, "group") == 0) {
		set_nonempty(st, o, name, v, &cfg->group);
	} else if (strcmp(name, "umask") == 0) {
		if (sm_parse_mode(v, &cfg->umask) < 0 || cfg->umask > 0777)
			fail(st, o,
			     "--umask: invalid value '%s' (expected an octal mode, e.g. 027)", v);
		else
			cfg->umask_set = true;
	} else if (strcmp(name, "chdir") == 0) {
		set_nonempty(st, o, name, v, &cfg->chdir);
	} else if (strcmp(name, "chown") == 0) {
		add_chown(st, o, v);
	} else if (strcmp(name, "require-env") == 0) {
		add_require_env(st, o, v);
	} else if (strcmp(name, "bind") == 0) {
		add_bind(st, o, v);
	} else if (strcmp(name, "backlog") == 0) {
		if (sm_parse_uint(v, 1, INT_MAX, &n) < 0)
			fail(st, o, "--backlog: invalid value '%s' (expected a number from 1)", v);
		else
			cfg->backlog = (int)n;
	} else if (strcmp(name, "log-file") == 0) {
		set_nonempty(st, o, name, v, &cfg->log_file);
	} else if (strcmp(name, "log-format") == 0) {
		if (strcmp(v, "text") == 0)
			cfg->log_format = SM_LOG_TEXT;
		else if (strcmp(v, "json") == 0)
			cfg->log_format = SM_LOG_JSON;
		else
			fail(st, o, "--log-format: invalid value '%s' (expected text or json)", v);
	} else if (strcmp(name, "log-level") == 0) {
		static const char *const levels[] = {"debug", "info", "warning", "error"};
		size_t i;
		for (i = 0; i < 4 && strcmp(v, levels[i]) != 0; i++)
			;
		if (i == 4)
			fail(st, o,
			     "--log-level: invalid value '%s' (expected debug, info, warning or "
			     "error)",
			     v);
		else
			cfg->log_level = (enum sm_log_level)i;
	} else if (strcmp(name, "pid-file") == 0) {
		set_nonempty(st, o, name, v, &cfg->pid_file);
	} else if (strcmp(name, "graceful-timeout") == 0) {
		set_seconds(st, o, name, v, &cfg->graceful_timeout);
	} else if (strcmp(name, "ready-timeout") == 0) {
		set_seconds(st, o, name, v, &cfg->ready_timeout);
	} else if (strcmp(name, "timeout") == 0) {
		set_seconds(st, o, name, v, &cfg->timeout);
	} else if (strcmp(name, "stop-signal") == 0) {
		if ((sig = sm_sig_parse(v)) < 0 || sig == SIGSTOP)
			fail(st, o, "--stop-signal: unknown signal '%s'", v);
		else
			cfg->stop_signal = sig;
	} else if (strcmp(name, "forward") == 0) {
		if ((sig = sm_sig_parse(v)) < 0)
			fail(st, o, "--forward: unknown signal '%s'", v);
		else if (!forwardable(sig))
			fail(st, o, "--forward: signal '%s' cannot be forwarded", v);
		else
			cfg->forward |= UINT64_C(1) << (sig - 1);
	} else if (strcmp(name, "ready") == 0) {
		if (strcmp(v, "exec") == 0)
			cfg->ready = SM_READY_EXEC;
		else if (strcmp(v, "notify") == 0)
			cfg->ready = SM_READY_NOTIFY;
		else
			fail(st, o, "--ready: invalid value '%s' (expected exec or notify)", v);
	} else if (strcmp(name, "reuse-port") == 0 || strcmp(name, "capture-output") == 0 ||
	           strcmp(name, "allow-new-privs") == 0 || strcmp(name, "check") == 0) {
		bool *flag = strcmp(name, "reuse-port") == 0       ? &cfg->reuse_port
		             : strcmp(name, "capture-output") == 0 ? &cfg->capture_output
		             : strcmp(name, "check") == 0          ? &cfg->check
		                                                   : &cfg->allow_new_privs;
		if (v == NULL)
			*flag = true;
		else if (parse_bool(v, &b))
			*flag = b;
		else
			fail(st, o, "--%s: invalid value '%s' (expected true or false)", name, v);
	} else if (strcmp(name, "config") == 0) {
		set_nonempty(st, o, name, v, &cfg->config_file);
	}
}

static const struct opt_def *find_opt(const char *name)
{
	size_t i;

	for (i = 0; i < N_OPTS; i++)
		if (strcmp(opt_defs[i].name, name) == 0)
			return &opt_defs[i];
	return NULL;
}

/* inih reads one line per call: counting calls gives the line number. */
static char *ini_read_line(char *str, int num, void *stream)
{
	struct parse_state *st = stream;

	st->file_line++;
	return fgets(str, num, st->file);
}

static int on_ini_pair(void *user, const char *section, const char *name, const char *value)
{
	struct parse_state *st = user;
	struct origin o = {st->cfg->config_file, st->file_line};
	char key[64];
	const struct opt_def *def;
	size_t i;

	if (st->fail != SM_PARSE_OK)
		return 0;
	if (section[0] != '\0' && strcmp(section, "sentrik-master") != 0) {
		fail(st, &o, "unknown section [%s] (keys go at the top or under [sentrik-master])",
		     section);
		return 0;
	}
	snprintf(key, sizeof(key), "%s", name);
	for (i = 0; key[i]; i++)
		key[i] = key[i] == '_' ? '-' : (char)tolower((unsigned char)key[i]);
	def = find_opt(key);
	if (def == NULL || def->cli_only) {
		fail(st, &o, "unknown key '%s'", name);
		return 0;
	}
	apply(st, &o, key, value);
	return st->fail == SM_PARSE_OK;
}

static void load_file(struct parse_state *st)
{
	struct origin o = {st->cfg->config_file, 0};
	FILE *f = fopen(st->cfg->config_file, "re");
	int rc;

	if (f == NULL) {
		fail(st, &o, "cannot read: %s", strerror(errno));
		return;
	}
	st->file = f;
	st->file_line = 0;
	rc = ini_parse_stream(ini_read_line, st, on_ini_pair, st);
	fclose(f);
	if (rc > 0 && st->fail == SM_PARSE_OK) {
		o.line = rc;
		fail(st, &o, "syntax error (expected 'key = value')");
	}
}

static void set_defaults(struct sm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->workers = 1;
	cfg->max_workers = SM_DEFAULT_MAX_WORKERS;
	cfg->backlog = SM_DEFAULT_BACKLOG;
	cfg->log_format = SM_LOG_TEXT;
	cfg->log_level = SM_LOG_INFO;
	cfg->graceful_timeout = 30;
	cfg->stop_signal = SIGTERM;
	cfg->ready = SM_READY_EXEC;
	cfg->ready_timeout = 60;
}

struct cli_opt {
	const struct opt_def *def;
	const char *value;
};

/* First pass: getopt_long over argv into (option, value) pairs. */
static enum sm_parse_result scan_argv(struct parse_state *st, int argc, char *const argv[],
                                      struct cli_opt *out, size_t *n_out, int *first_arg)
{
	struct option longopts[N_OPTS + 1];
	char shortopts[64] = "+:";
	size_t i, s = 2;
	int c, index;

	for (i = 0; i < N_OPTS; i++) {
		longopts[i] =
		    (struct option){opt_defs[i].name,
		                    opt_defs[i].kind == OPT_VALUE ? required_argument : no_argument,
		                    NULL, (int)(256 + i)};
		if (opt_defs[i].short_name) {
			shortopts[s++] = (char)opt_defs[i].short_name;
			if (opt_defs[i].kind == OPT_VALUE)
				shortopts[s++] = ':';
		}
	}
	longopts[N_OPTS] = (struct option){0};
	shortopts[s] = '\0';

	opterr = 0;
	optind = 0; /* 0: a full reset of glibc's getopt, so a reload may parse again */
	*n_out = 0;
	while ((c = getopt_long(argc, argv, shortopts, longopts, &index)) != -1) {
		const char *word = argv[optind - 1];
		const struct opt_def *def = NULL;

		if (c == '?') {
			/* glibc sets optopt to a known long option's value when
			 * that option was given a value it does not take. */
			if (optopt >= 256 && (size_t)(optopt - 256) < N_OPTS)
				fail(st, NULL, "option '--%s' takes no value",
				     opt_defs[optopt - 256].name);
			else if (optopt != 0 && optopt < 256)
				fail(st, NULL, "unknown option '-%c'", optopt);
			else
				fail(st, NULL, "unknown option '%.*s'", (int)strcspn(word, "="),
				     word);
			return SM_PARSE_USAGE;
		}
		if (c == ':') {
			if (optopt != 0 && optopt < 256)
				fail(st, NULL, "option '-%c' needs a value", optopt);
			else
				fail(st, NULL, "option '%s' needs a value", word);
			return SM_PARSE_USAGE;
		}
		if (c >= 256)
			def = &opt_defs[c - 256];
		else
			for (i = 0; i < N_OPTS; i++)
				if (opt_defs[i].short_name == c)
					def = &opt_defs[i];
		if (def == NULL) {
			fail(st, NULL, "unknown option '%s'", word);
			return SM_PARSE_USAGE;
		}
		if (def->kind == OPT_FLAG && word[0] == '-' && word[1] == '-' && strchr(word, '='))
			fail(st, NULL, "option '--%s' takes no value", def->name);
		out[(*n_out)++] = (struct cli_opt){def, optarg};
	}
	*first_arg = optind;
	return st->fail;
}

static void finish(struct parse_state *st)
{
	struct sm_config *cfg = st->cfg;

	if (cfg->workers_auto)
		cfg->workers = sm_cpus_usable();
	if (cfg->workers > cfg->max_workers) {
		if (cfg->workers_auto)
			cfg->workers = cfg->max_workers;
		else
			fail(st, &st->workers_origin,
			     "--workers: invalid value '%s' (more than --max-workers %d)",
			     st->workers_text, cfg->max_workers);
	}
}

enum sm_parse_result sm_config_parse(struct sm_config *cfg, int argc, char *const argv[], char *err,
                                     size_t errlen)
{
	struct parse_state st = {.cfg = cfg, .err = err, .errlen = errlen};
	struct cli_opt *opts;
	struct origin cli = {NULL, 0};
	size_t n_opts = 0, i;
	int first_arg = argc;

	set_defaults(cfg);
	err[0] = '\0';
	/* "-VVV" is three options in one word: size by characters, not words. */
	for (i = 0; i < (size_t)argc; i++)
		n_opts += strlen(argv[i]) + 1;
	opts = calloc(n_opts + 1, sizeof(*opts));
	n_opts = 0;
	if (opts == NULL) {
		fail(&st, NULL, "out of memory");
		return st.fail;
	}
	if (scan_argv(&st, argc, argv, opts, &n_opts, &first_arg) != SM_PARSE_OK)
		goto done;
	for (i = 0; i < n_opts; i++) {
		if (strcmp(opts[i].def->name, "help") == 0) {
			st.fail = SM_PARSE_HELP;
			goto done;
		}
		if (strcmp(opts[i].def->name, "version") == 0) {
			st.fail = SM_PARSE_VERSION;
			goto done;
		}
		if (strcmp(opts[i].def->name, "config") == 0)
			apply(&st, &cli, "config", opts[i].value);
	}
	if (st.fail == SM_PARSE_OK && cfg->config_file != NULL)
		load_file(&st);
	/* The command line goes last, so it wins over the file. */
	for (i = 0; i < n_opts && st.fail == SM_PARSE_OK; i++) {
		size_t idx = (size_t)(opts[i].def - opt_defs);
		if (strcmp(opts[i].def->name, "config") == 0)
			continue;
		if (!st.cli_list_started[idx]) {
			clear_list(cfg, opts[i].def->name);
			st.cli_list_started[idx] = true;
		}
		apply(&st, &cli, opts[i].def->name, opts[i].value);
	}
	if (st.fail != SM_PARSE_OK)
		goto done;
	if (first_arg >= argc || argv[first_arg][0] == '\0') {
		fail(&st, NULL,
		     "missing COMMAND (usage: sentrik-master [OPTION]... [--] COMMAND [ARG]...)");
		goto done;
	}
	cfg->n_command = (size_t)(argc - first_arg);
	cfg->command = calloc(cfg->n_command + 1, sizeof(char *));
	if (cfg->command == NULL) {
		fail(&st, NULL, "out of memory");
		goto done;
	}
	for (i = 0; i < cfg->n_command; i++)
		cfg->command[i] = argv[first_arg + (int)i];
	finish(&st);
done:
	free(opts);
	/* A failed (or help/version) parse leaves nothing for the caller to
	 * free: main returns its exit code at once. */
	if (st.fail != SM_PARSE_OK)
		sm_config_free(cfg);
	return st.fail;
}

void sm_config_free(struct sm_config *cfg)
{
	size_t i;

	free(cfg->user);
	free(cfg->group);
	free(cfg->chdir);
	for (i = 0; i < cfg->n_chowns; i++)
		free(cfg->chowns[i].path);
	free(cfg->chowns);
	for (i = 0; i < cfg->n_require_env; i++)
		free(cfg->require_env[i].name);
	free(cfg->require_env);
	for (i = 0; i < cfg->n_binds; i++)
		free(cfg->binds[i]);
	free(cfg->binds);
	free(cfg->log_file);
	free(cfg->pid_file);
	free(cfg->config_file);
	free(cfg->command);
	memset(cfg, 0, sizeof(*cfg));
}

void sm_config_usage(FILE *out)
{
	fputs("Usage: sentrik-master [OPTION]... [--] COMMAND [ARG]...\n"
	      "Pre-fork worker supervisor: prepare as root, drop privileges once, then run\n"
	      "a pool of identical workers of COMMAND and keep them alive.\n"
	      "\n"
	      "  -w, --workers N|auto      pool size (auto = usable CPUs)            [1]\n"
	      "      --max-workers N       ceiling for TTIN scaling                  [1024]\n"
	      "  -u, --user USER[:GROUP]   run master and workers as USER\n"
	      "  -g, --group GROUP         group (default: USER's primary group)\n"
	      "      --umask MODE          octal umask for master and workers\n"
	      "      --chdir DIR           working directory of the workers\n"
	      "      --chown PATH[:MODE]   create PATH, give it to USER (repeatable)\n"
	      "      --require-env NAME[!=VALUE]  refuse to start unless NAME is set\n"
	      "  -b, --bind ADDR           HOST:PORT, :PORT, [V6]:PORT, unix:PATH, fd:N\n"
	      "      --backlog N           listen backlog                            [2048]\n"
	      "      --reuse-port          set SO_REUSEPORT on TCP listeners\n"
	      "      --log-file PATH       log to PATH, opened as USER ('-' = stderr) [-]\n"
	      "      --capture-output      pass worker output through the master\n"
	      "      --log-format FMT      text or json                              [text]\n"
	      "      --log-level LEVEL     debug, info, warning or error             [info]\n"
	      "      --pid-file PATH       write the master's pid, owned by USER\n"
	      "      --graceful-timeout S  stop time before SIGKILL                  [30]\n"
	      "      --stop-signal SIG     graceful stop signal for workers          [TERM]\n"
	      "      --ready exec|notify   when a worker counts as ready             [exec]\n"
	      "      --ready-timeout S     ready deadline for a starting worker      [60]\n"
	      "      --timeout S           kill a worker silent S s after WATCHDOG=1  [0=off]\n"
	      "      --forward SIG         also forward SIG to every worker (repeatable)\n"
	      "      --allow-new-privs     do not set no_new_privs\n"
	      "      --config FILE         INI file with the same keys; CLI wins\n"
	      "      --check               check everything a start needs, change nothing\n"
	      "  -h, --help                this help\n"
	      "  -V, --version             version\n"
	      "\n"
	      "Signals: HUP reload, USR1 reopen log, TERM graceful stop, INT/QUIT quick stop,\n"
	      "TTIN/TTOU one worker more/less.\n"
	      "Exit codes: 0 ok, 64 usage, 67 unknown user/group, 69 workers cannot start,\n"
	      "71 system error, 73 cannot create/write a file, 77 permission, 78 config.\n",
	      out);
}
