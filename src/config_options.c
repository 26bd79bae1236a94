/* config_options: config's one table of options — each one's name, short
 * form, value setter, default, --help line and whether a reload may change it. */
#include <ctype.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sentrik/cpus.h>
#include <sentrik/config_options.h>
#include <sentrik/parse.h>
#include <sentrik/sig.h>

#define SM_MAX_WORKERS_CEILING 65536

#define FIELD(member) offsetof(struct sm_config, member)
#define MEMBER(cfg, def, type) ((type *)(void *)((char *)(cfg) + (def)->field))

void sm_opt_fail(struct sm_opt_state *st, const char *fmt, ...)
{
	char msg[SM_ERROR_MSG_MAX];
	va_list ap;

	if (sm_error_failed(st->e))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (st->at.file != NULL && st->at.line == 0) /* the file as a whole */
		sm_error_set(st->e, EX_CONFIG, "%s: %s", st->at.file, msg);
	else if (st->at.file != NULL)
		sm_error_set(st->e, EX_CONFIG, "%s:%d: %s", st->at.file, st->at.line, msg);
	else
		sm_error_set(st->e, EX_USAGE, "%s", msg);
}

bool sm_opt_failed(const struct sm_opt_state *st)
{
	return sm_error_failed(st->e);
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

/* ---- setters: one value of one option into the config ---- */

static void set_nonempty(struct sm_opt_state *st, const struct sm_opt_def *def, const char *v)
{
	if (*v == '\0')
		sm_opt_fail(st, "--%s: empty value", def->name);
	else if (set_string(MEMBER(st->cfg, def, char *), v) < 0)
		sm_opt_fail(st, "--%s: out of memory", def->name);
}

static void set_absolute(struct sm_opt_state *st, const struct sm_opt_def *def, const char *v)
{
	if (v[0] != '/')
		sm_opt_fail(st, "--%s: '%s' is not an absolute path", def->name, v);
	else
		set_nonempty(st, def, v);
}

static void set_seconds(struct sm_opt_state *st, const struct sm_opt_def *def, const char *v)
{
	if (sm_parse_seconds(v, MEMBER(st->cfg, def, double)) < 0)
		sm_opt_fail(st, "--%s: invalid value '%s' (expected seconds, e.g. 30 or 0.5)",
		            def->name, v);
}

static void set_flag(struct sm_opt_state *st, const struct sm_opt_def *def, const char *v)
{
	bool *flag = MEMBER(st->cfg, def, bool);

	if (v == NULL)
		*flag = true;
	else if (sm_parse_bool(v, flag) < 0)
		sm_opt_fail(st, "--%s: invalid value '%s' (expected true or false)", def->name, v);
}

/* The index of v among n words, or -1 after a failure listing them all. */
static int choose(struct sm_opt_state *st, const struct sm_opt_def *def, const char *v,
                  const char *const *words, int n)
{
	char expected[128] = "";
	size_t len = 0;
	int i;

	for (i = 0; i < n; i++)
		if (strcmp(v, words[i]) == 0)
			return i;
	for (i = 0; i < n && len < sizeof(expected); i++) {
		const char *sep = i == 0 ? "" : i == n - 1 ? " or " : ", ";

		len +=
		    (size_t)snprintf(expected + len, sizeof(expected) - len, "%s%s", sep, words[i]);
	}
	sm_opt_fail(st, "--%s: invalid value '%s' (expected %s)", def->name, v, expected);
	return -1;
}

static void set_workers(struct sm_opt_state *st, const struct sm_opt_def *def, const char *v)
{
	long n;

	/* Kept to name the value should --max-workers, perhaps read later,
	 * turn out lower. */
	snprintf(st->workers_text, sizeof(st->workers_text), "%s", v);
	st->workers_at = st->at;
	if (strcmp(v, "auto") == 0) {
		st->cfg->workers_auto = true;
	} else if (sm_parse_uint(v, 1, SM_MAX_WORKERS_CEILING, &n) == 0) {
		st->cfg->workers_auto = false;
		st->cfg->workers = (int)n;
	} else if (*v != '\0' && strspn(v, "0123456789") == strlen(v) &&
	           strspn(v, "0") < strlen(v)) { /* a number, above the ceiling */
		sm_opt_fail(st, "--%s: invalid value '%s' (the cap is --max-workers, at most %d)",
		            def->name, v, SM_MAX_WORKERS_CEILING);
	} else {
		sm_opt_fail(st, "--%s: invalid value '%s' (expected a number from 1 or auto)",
		            def->name, v);
	}
}

static void set_max_workers(struct sm_opt_state *st, const struct sm_opt_def *def, const char *v)
{
	long n;

	if (sm_parse_uint(v, 1, SM_MAX_WORKERS_CEILING, &n) < 0)
		sm_opt_fail(st, "--%s: invalid value '%s' (expected 1..%d)", def->name, v,
		            SM_MAX_WORKERS_CEILING);
	else
		st->cfg->max_workers = (int)n;
}

static void set_backlog(struct sm_opt_state *st, const struct sm_opt_def *def, const char *v)
{
	long n;

	if (sm_parse_uint(v, 1, INT_MAX, &n) < 0)
		sm_opt_fail(st, "--%s: invalid value '%s' (expected a number from 1)", def->name,
		            v);
	else
		st->cfg->backlog = (int)n;
}

static void set_user(struct sm_opt_state *st, const struct sm_opt_def *def, const char *v)
{
	const char *colon = strchr(v, ':');
	size_t ulen = colon != NULL ? (size_t)(colon - v) : strlen(v);
	char *user;

	if (ulen == 0 || (colon != NULL && colon[1] == '\0')) {
		sm_opt_fail(st, "--%s: invalid value '%s' (expected USER[:GROUP])", def->name, v);
		return;
	}
	if ((user = strndup(v, ulen)) == NULL) {
		sm_opt_fail(st, "--%s: out of memory", def->name);
		return;
	}
	free(st->cfg->user);
	st->cfg->user = user;
	if (colon != NULL && set_string(&st->cfg->group, colon + 1) < 0)
		sm_opt_fail(st, "--%s: out of memory", def->name);
}

static void set_umask(struct sm_opt_state *st, const struct sm_opt_def *def, const char *v)
{
	if (sm_parse_mode(v, &st->cfg->umask) < 0 || st->cfg->umask > 0777)
		sm_opt_fail(st, "--%s: invalid value '%s' (expected an octal mode, e.g. 027)",
		            def->name, v);
	else
		st->cfg->umask_set = true;
}

static void add_chown(struct sm_opt_state *st, const struct sm_opt_def *def, const char *v)
{
	struct sm_config *cfg = st->cfg;
	const char *colon = strrchr(v, ':');
	struct sm_chown entry = {.mode = 0755};
	size_t len = strlen(v);
	void *more;

	if (colon != NULL) {
		if (sm_parse_mode(colon + 1, &entry.mode) < 0 || entry.mode > 0777) {
			sm_opt_fail(st, "--%s: invalid mode in '%s' (expected PATH[:OCTAL-MODE])",
			            def->name, v);
			return;
		}
		len = (size_t)(colon - v);
		entry.mode_set = true;
	}
	if (len == 0 || v[0] != '/') {
		sm_opt_fail(st, "--%s: '%s' is not an absolute path", def->name, v);
		return;
	}
	if ((more = grow(cfg->chowns, cfg->n_chowns, sizeof(*cfg->chowns))) != NULL)
		cfg->chowns = more;
	if (more == NULL || (entry.path = strndup(v, len)) == NULL) {
		sm_opt_fail(st, "--%s: out of memory", def->name);
		return;
	}
	cfg->chowns[cfg->n_chowns++] = entry;
}

static void add_require_env(struct sm_opt_state *st, const struct sm_opt_def *def, const char *v)
{
	struct sm_config *cfg = st->cfg;
	const char *bang = strstr(v, "!=");
	size_t len = bang != NULL ? (size_t)(bang - v) : strlen(v);
	struct sm_require_env entry = {0};
	void *more;

	if (!valid_env_name(v, len)) {
		sm_opt_fail(st, "--%s: invalid variable name in '%s' (expected NAME[!=VALUE])",
		            def->name, v);
		return;
	}
	/* name and forbidden value share one allocation: "NAME\0VALUE\0" */
	if ((more = grow(cfg->require_env, cfg->n_require_env, sizeof(entry))) != NULL)
		cfg->require_env = more;
	if (more == NULL || (entry.name = strdup(v)) == NULL) {
		sm_opt_fail(st, "--%s: out of memory", def->name);
		return;
	}
	if (bang != NULL) {
		entry.name[len] = '\0';
		entry.forbidden = entry.name + len + 2;
	}
	cfg->require_env[cfg->n_require_env++] = entry;
}

static void add_bind(struct sm_opt_state *st, const struct sm_opt_def *def, const char *v)
{
	struct sm_config *cfg = st->cfg;
	struct sm_addr addr;
	struct sm_error why;
	void *more;

	/* Checked here so a bad address is a usage error before anything is bound. */
	if (sm_addr_parse(v, &addr, &why) < 0) {
		sm_opt_fail(st, "%s", why.msg);
		return;
	}
	if ((more = grow(cfg->binds, cfg->n_binds, sizeof(char *))) != NULL)
		cfg->binds = more;
	if (more == NULL || (cfg->binds[cfg->n_binds] = strdup(v)) == NULL) {
		sm_opt_fail(st, "--%s: out of memory", def->name);
		return;
	}
	cfg->n_binds++;
}

/* An address like --bind's (fd:N aside) for the metrics endpoint. */
static void set_metrics(struct sm_opt_state *st, const struct sm_opt_def *def, const char *v)
{
	struct sm_addr addr;
	struct sm_error why;

	if (sm_addr_parse(v, &addr, &why) < 0)
		sm_opt_fail(st,
		            "--%s: invalid value '%s' (expected HOST:PORT, :PORT, [V6]:PORT or "
		            "unix:PATH)",
		            def->name, v);
	else if (addr.kind == SM_ADDR_FD)
		sm_opt_fail(st, "--%s: invalid value '%s' (fd:N is for --bind)", def->name, v);
	else
		set_nonempty(st, def, v);
}

static void set_log_format(struct sm_opt_state *st, const struct sm_opt_def *def, const char *v)
{
	static const char *const formats[] = {[SM_LOG_TEXT] = "text", [SM_LOG_JSON] = "json"};
	int i = choose(st, def, v, formats, 2);

	if (i >= 0)
		st->cfg->log_format = (enum sm_log_format)i;
}

static void set_log_level(struct sm_opt_state *st, const struct sm_opt_def *def, const char *v)
{
	static const char *const levels[] = {[SM_LOG_DEBUG] = "debug",
	                                     [SM_LOG_INFO] = "info",
	                                     [SM_LOG_WARNING] = "warning",
	                                     [SM_LOG_ERROR] = "error"};
	/* The names of syslog, Python and gunicorn, in any case: INFO, warn,
	 * err, crit all say what they mean. */
	static const struct {
		const char *name;
		enum sm_log_level level;
	} aliases[] = {
	    {"debug", SM_LOG_DEBUG},     {"info", SM_LOG_INFO},      {"notice", SM_LOG_INFO},
	    {"warning", SM_LOG_WARNING}, {"warn", SM_LOG_WARNING},   {"error", SM_LOG_ERROR},
	    {"err", SM_LOG_ERROR},       {"critical", SM_LOG_ERROR}, {"crit", SM_LOG_ERROR},
	    {"alert", SM_LOG_ERROR},     {"emerg", SM_LOG_ERROR},    {"fatal", SM_LOG_ERROR}};
	size_t k;
	int i;

	for (k = 0; k < sizeof(aliases) / sizeof(aliases[0]); k++)
		if (strcasecmp(v, aliases[k].name) == 0) {
			st->cfg->log_level = aliases[k].level;
			return;
		}
	if ((i = choose(st, def, v, levels, 4)) >= 0)
		st->cfg->log_level = (enum sm_log_level)i;
}

static void set_ready(struct sm_opt_state *st, const struct sm_opt_def *def, const char *v)
{
	static const char *const modes[] = {
	    [SM_READY_EXEC] = "exec", [SM_READY_NOTIFY] = "notify", [SM_READY_ALIVE] = "alive:SEC"};
	double sec;
	int i;

	if (strncmp(v, "alive:", 6) == 0) {
		if (sm_parse_seconds(v + 6, &sec) < 0 || sec <= 0)
			sm_opt_fail(st,
			            "--%s: invalid value '%s' (expected alive:SEC, e.g. alive:1)",
			            def->name, v);
		st->cfg->ready = SM_READY_ALIVE;
		st->cfg->ready_alive = sec;
		return;
	}
	if ((i = choose(st, def, v, modes, 3)) >= 0)
		st->cfg->ready = (enum sm_ready_mode)i;
}

static void set_start_retries(struct sm_opt_state *st, const struct sm_opt_def *def, const char *v)
{
	long n;

	if (sm_parse_uint(v, 0, INT_MAX, &n) < 0)
		sm_opt_fail(st, "--%s: invalid value '%s' (expected a number, 0 = forever)",
		            def->name, v);
	else
		st->cfg->start_retries = (int)n;
}

static void set_max_rss(struct sm_opt_state *st, const struct sm_opt_def *def, const char *v)
{
	if (sm_parse_uint(v, 0, 1L << 30, &st->cfg->max_worker_rss) < 0)
		sm_opt_fail(st, "--%s: invalid value '%s' (expected MiB, 0 = off)", def->name, v);
}

static void set_stop_signal(struct sm_opt_state *st, const struct sm_opt_def *def, const char *v)
{
	int sig = sm_sig_parse(v);

	if (sig < 0 || sig == SIGSTOP)
		sm_opt_fail(st, "--%s: unknown signal '%s'", def->name, v);
	else
		st->cfg->stop_signal = sig;
}

static void add_forward(struct sm_opt_state *st, const struct sm_opt_def *def, const char *v)
{
	int sig = sm_sig_parse(v);

	if (sig < 0)
		sm_opt_fail(st, "--%s: unknown signal '%s'", def->name, v);
	else if (!forwardable(sig))
		sm_opt_fail(st, "--%s: signal '%s' cannot be forwarded", def->name, v);
	else
		st->cfg->forward |= UINT64_C(1) << (sig - 1);
}

static void ask_help(struct sm_opt_state *st, const struct sm_opt_def *def, const char *v)
{
	(void)def;
	(void)v;
	st->request = SM_CONFIG_HELP;
}

static void ask_version(struct sm_opt_state *st, const struct sm_opt_def *def, const char *v)
{
	(void)def;
	(void)v;
	st->request = SM_CONFIG_VERSION;
}

/* ---- clearers ---- */

static void clear_string(struct sm_config *cfg, const struct sm_opt_def *def)
{
	char **slot = MEMBER(cfg, def, char *);

	free(*slot);
	*slot = NULL;
}

static void clear_chowns(struct sm_config *cfg, const struct sm_opt_def *def)
{
	(void)def;
	size_t i;

	for (i = 0; i < cfg->n_chowns; i++)
		free(cfg->chowns[i].path);
	free(cfg->chowns);
	cfg->chowns = NULL;
	cfg->n_chowns = 0;
}

static void clear_require_env(struct sm_config *cfg, const struct sm_opt_def *def)
{
	(void)def;
	size_t i;

	for (i = 0; i < cfg->n_require_env; i++)
		free(cfg->require_env[i].name);
	free(cfg->require_env);
	cfg->require_env = NULL;
	cfg->n_require_env = 0;
}

static void clear_binds(struct sm_config *cfg, const struct sm_opt_def *def)
{
	(void)def;
	size_t i;

	for (i = 0; i < cfg->n_binds; i++)
		free(cfg->binds[i]);
	free(cfg->binds);
	cfg->binds = NULL;
	cfg->n_binds = 0;
}

static void clear_forward(struct sm_config *cfg, const struct sm_opt_def *def)
{
	(void)def;
	cfg->forward = 0;
}

/* The one table of options; its order is the order of --help.  Not
 * reloadable: what the root phase did once (SPEC §5, HUP), and
 * --max-workers, which sized the slot table at start. */
const struct sm_opt_def sm_opts[] = {
    {"workers", 'w', "N|auto", set_workers, NULL, 0, "1", SM_OPT_RELOAD,
     "pool size (auto = usable CPUs)            [1]"},
    {"max-workers", 0, "N", set_max_workers, NULL, 0, "1024", 0,
     "ceiling for TTIN scaling                  [1024]"},
    {"user", 'u', "USER[:GROUP]", set_user, clear_string, FIELD(user), NULL, 0,
     "run master and workers as USER"},
    {"group", 'g', "GROUP", set_nonempty, clear_string, FIELD(group), NULL, 0,
     "group (default: USER's primary group)"},
    {"umask", 0, "MODE", set_umask, NULL, 0, NULL, 0, "octal umask for master and workers"},
    {"chdir", 0, "DIR", set_nonempty, clear_string, FIELD(chdir), NULL, SM_OPT_RELOAD,
     "working directory of the workers"},
    {"chown", 0, "PATH[:MODE]", add_chown, clear_chowns, 0, NULL, SM_OPT_LIST,
     "create PATH, give it to USER (repeatable)"},
    {"require-env", 0, "NAME[!=VALUE]", add_require_env, clear_require_env, 0, NULL, SM_OPT_LIST,
     "refuse to start unless NAME is set"},
    {"bind", 'b', "ADDR", add_bind, clear_binds, 0, NULL, SM_OPT_LIST,
     "HOST:PORT, :PORT, [V6]:PORT, unix:PATH, fd:N"},
    {"backlog", 0, "N", set_backlog, NULL, 0, "2048", 0,
     "listen backlog                            [2048]"},
    {"reuse-port", 0, NULL, set_flag, NULL, FIELD(reuse_port), NULL, 0,
     "set SO_REUSEPORT on TCP listeners"},
    {"log-file", 0, "PATH", set_nonempty, clear_string, FIELD(log_file), NULL, 0,
     "log to PATH, opened as USER ('-' = stderr) [-]"},
    {"capture-output", 0, NULL, set_flag, NULL, FIELD(capture_output), NULL, SM_OPT_RELOAD,
     "pass worker output through the master"},
    {"log-format", 0, "FMT", set_log_format, NULL, 0, "text", SM_OPT_RELOAD,
     "text or json                              [text]"},
    {"log-level", 0, "LEVEL", set_log_level, NULL, 0, "info", SM_OPT_RELOAD,
     "debug, info, warning or error             [info]"},
    {"pid-file", 0, "PATH", set_nonempty, clear_string, FIELD(pid_file), NULL, 0,
     "write the master's pid, owned by USER"},
    {"runtime-dir", 0, "DIR", set_absolute, clear_string, FIELD(runtime_dir), NULL, 0,
     "USER's 0700 dir for the sockets [/run/sentrik-master/PID]"},
    {"graceful-timeout", 0, "S", set_seconds, NULL, FIELD(graceful_timeout), "30", SM_OPT_RELOAD,
     "stop time before SIGKILL                  [30]"},
    {"stop-signal", 0, "SIG", set_stop_signal, NULL, 0, "TERM", SM_OPT_RELOAD,
     "graceful stop signal for workers          [TERM]"},
    {"ready", 0, "MODE", set_ready, NULL, 0, "alive:1", SM_OPT_RELOAD,
     "ready at: exec, notify or alive:SEC       [alive:1]"},
    {"ready-timeout", 0, "S", set_seconds, NULL, FIELD(ready_timeout), "60", SM_OPT_RELOAD,
     "not ready S s after its fork: failed      [60]"},
    {"start-retries", 0, "N", set_start_retries, NULL, 0, "5", SM_OPT_RELOAD,
     "crash-loop limit, 0 = retry forever       [5]"},
    {"max-worker-age", 0, "S", set_seconds, NULL, FIELD(max_worker_age), NULL, SM_OPT_RELOAD,
     "replace each worker after about S s       [0=off]"},
    {"max-worker-rss", 0, "MIB", set_max_rss, NULL, 0, NULL, SM_OPT_RELOAD,
     "replace a worker whose memory passes MIB  [0=off]"},
    {"timeout", 0, "S", set_seconds, NULL, FIELD(timeout), NULL, SM_OPT_RELOAD,
     "kill a worker silent S s after WATCHDOG=1  [0=off]"},
    {"forward", 0, "SIG", add_forward, clear_forward, 0, NULL, SM_OPT_LIST | SM_OPT_RELOAD,
     "also forward SIG to every worker (repeatable)"},
    {"allow-new-privs", 0, NULL, set_flag, NULL, FIELD(allow_new_privs), NULL, 0,
     "do not set no_new_privs"},
    {"control", 0, "PATH", set_nonempty, clear_string, FIELD(control), NULL, 0,
     "control socket for sentrikctl             [RUNDIR/control.sock]"},
    {"metrics", 0, "ADDR", set_metrics, clear_string, FIELD(metrics), NULL, 0,
     "serve /metrics, /healthz, /readyz over HTTP on ADDR"},
    /* A reload parses the same argv again: these cannot change. */
    {"config", 0, "FILE", set_nonempty, clear_string, FIELD(config_file), NULL,
     SM_OPT_CLI | SM_OPT_EARLY, "INI file with the same keys; CLI wins"},
    {"check", 0, NULL, set_flag, NULL, FIELD(check), NULL, SM_OPT_CLI,
     "check everything a start needs, change nothing"},
    {"help", 'h', NULL, ask_help, NULL, 0, NULL, SM_OPT_CLI | SM_OPT_EARLY, "this help"},
    {"version", 'V', NULL, ask_version, NULL, 0, NULL, SM_OPT_CLI | SM_OPT_EARLY, "version"},
    {.name = NULL}, /* the end */
};
_Static_assert(sizeof(sm_opts) / sizeof(sm_opts[0]) <= SM_OPTS_MAX + 1, "raise SM_OPTS_MAX");

const struct sm_opt_def *sm_opt_find(const char *name)
{
	const struct sm_opt_def *def;

	for (def = sm_opts; def->name != NULL; def++)
		if (strcmp(def->name, name) == 0)
			return def;
	return NULL;
}

void sm_opt_defaults(struct sm_opt_state *st)
{
	const struct sm_opt_def *def;

	memset(st->cfg, 0, sizeof(*st->cfg));
	for (def = sm_opts; def->name != NULL; def++)
		if (def->dflt != NULL)
			def->set(st, def, def->dflt);
}

void sm_opt_finish(struct sm_opt_state *st)
{
	struct sm_config *cfg = st->cfg;

	if (cfg->workers_auto)
		cfg->workers = sm_cpus_usable();
	if (cfg->workers > cfg->max_workers) {
		if (cfg->workers_auto) {
			cfg->workers = cfg->max_workers;
		} else {
			st->at = st->workers_at;
			sm_opt_fail(st,
			            "--workers: invalid value '%s' (more than --max-workers %d)",
			            st->workers_text, cfg->max_workers);
		}
	}
	/* Both may come from anywhere; the pair is a usage error. */
	if (cfg->ready == SM_READY_ALIVE && cfg->ready_alive >= cfg->ready_timeout &&
	    !sm_opt_failed(st)) {
		st->at.file = NULL;
		sm_opt_fail(st, "--ready: alive:%g is not below --ready-timeout %g",
		            cfg->ready_alive, cfg->ready_timeout);
	}
}
