/* config: argv and the --config INI file into one struct sm_config, read
 * against the option table (config_options.c); the command line wins. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sentrik/config.h>
#include <sentrik/log.h>
#include <sentrik/config_options.h>
#include <sentrik/parse.h>

static size_t n_opts(void)
{
	size_t n = 0;

	while (sm_opts[n].name != NULL)
		n++;
	return n;
}

static const struct sm_opt_def *find_short(int c)
{
	const struct sm_opt_def *def;

	for (def = sm_opts; def->name != NULL; def++)
		if (def->short_name == c)
			return def;
	return NULL;
}

bool sm_config_reloadable(const char *name)
{
	const struct sm_opt_def *def = sm_opt_find(name);

	return def != NULL && (def->flags & SM_OPT_RELOAD);
}

const char *sm_config_option(size_t i)
{
	return i < n_opts() ? sm_opts[i].name : NULL;
}

void sm_config_usage(FILE *out)
{
	const struct sm_opt_def *def;
	char column[64];

	fputs("Usage: sentrik-master [OPTION]... [--] COMMAND [ARG]...\n"
	      "Pre-fork worker supervisor: prepare as root, drop privileges once, then run\n"
	      "a pool of identical workers of COMMAND and keep them alive.\n"
	      "\n",
	      out);
	for (def = sm_opts; def->name != NULL; def++) {
		if (def->short_name != 0)
			snprintf(column, sizeof(column), "  -%c, --%s", def->short_name, def->name);
		else
			snprintf(column, sizeof(column), "      --%s", def->name);
		if (def->arg != NULL)
			snprintf(column + strlen(column), sizeof(column) - strlen(column), " %s",
			         def->arg);
		fprintf(out, "%-26s  %s\n", column, def->help);
	}
	fputs("\n"
	      "Signals: HUP reload, USR1 reopen log, TERM graceful stop, INT/QUIT quick stop,\n"
	      "TTIN/TTOU one worker more/less.\n"
	      "Exit codes: 0 ok, 64 usage, 67 unknown user/group, 69 workers cannot start,\n"
	      "71 system error, 73 cannot create/write a file, 77 permission, 78 config.\n",
	      out);
}

void sm_config_free(struct sm_config *cfg)
{
	const struct sm_opt_def *def;

	for (def = sm_opts; def->name != NULL; def++)
		if (def->clear != NULL)
			def->clear(cfg, def);
	free(cfg->command);
	memset(cfg, 0, sizeof(*cfg));
}

/* ---- the --config file ---- */

/* Longer than any line inih hands over (its INI_MAX_LINE). */
#define SM_INI_VALUE_MAX 1024

struct file_read {
	struct sm_opt_state *st;
	FILE *file;
	int line;                /* lines handed to inih so far: the line it is on */
	int set_at[SM_OPTS_MAX]; /* the line each key was last set on, 0: not yet */
	const char *bad;         /* why reading stopped early, at line */
	int limit;               /* the parser's line limit, for the message */
};

static const char overlong[] = "line longer than the parser's limit";

/* inih reads one line per call: counting calls gives the line number.
 * fgets would hand a line longer than inih's buffer over in pieces, the
 * rest read as a line of its own (a long "chdir = ..." smuggling a
 * "user = root" in): such a line, or a NUL byte, ends the reading and
 * fails the file instead. */
static char *ini_read_line(char *str, int num, void *stream)
{
	struct file_read *r = stream;
	int c = EOF, n = 0;

	while (r->bad == NULL && (c = getc(r->file)) != EOF && c != '\n') {
		if (c == '\0')
			r->bad = "a NUL byte: not a text file";
		else if (n + 1 >= num)
			r->bad = overlong;
		else
			str[n++] = (char)c;
	}
	if (r->bad == NULL && c == EOF && ferror(r->file))
		r->bad = strerror(errno);
	if (r->bad != NULL || (c == EOF && n == 0)) {
		r->line += r->bad != NULL;
		r->limit = num - 1;
		return NULL;
	}
	r->line++;
	str[n] = '\0';
	return str;
}

/* A key given twice: the later line wins, as on the command line, but a
 * file that says two things is likely a mistake worth a line. */
static void warn_repeated(struct file_read *r, const struct sm_opt_def *def, const char *name)
{
	size_t idx = (size_t)(def - sm_opts);

	if (def->flags & SM_OPT_LIST)
		return; /* repeatable: each line adds one */
	if (r->set_at[idx] != 0)
		sm_warnx("%s:%d: '%s' repeats line %d; the value of line %d is used",
		         r->st->cfg->config_file, r->line, name, r->set_at[idx], r->line);
	r->set_at[idx] = r->line;
}

static int on_ini_pair(void *user, const char *section, const char *name, const char *value)
{
	struct file_read *r = user;
	struct sm_opt_state *st = r->st;
	char key[64], clean[SM_INI_VALUE_MAX];
	const struct sm_opt_def *def;
	size_t i;

	st->at = (struct sm_opt_origin){st->cfg->config_file, r->line};
	if (section[0] != '\0' && strcmp(section, "sentrik-master") != 0) {
		sm_opt_fail(st,
		            "unknown section [%s] (keys go at the top or under [sentrik-master])",
		            section);
		return 0;
	}
	snprintf(key, sizeof(key), "%s", name);
	for (i = 0; key[i]; i++)
		key[i] = key[i] == '_' ? '-' : (char)tolower((unsigned char)key[i]);
	def = sm_opt_find(key);
	if (def == NULL || (def->flags & SM_OPT_CLI)) {
		sm_opt_fail(st, "unknown key '%s'", name);
		return 0;
	}
	/* inih hands the text after '=' as written: "# ..." and quotes are
	 * what people write in other INI files, so they mean here what they
	 * mean there. */
	if (sm_parse_ini_value(value, clean, sizeof(clean)) < 0) {
		sm_opt_fail(st, "value of '%s' too long", name);
		return 0;
	}
	warn_repeated(r, def, name);
	def->set(st, def, clean);
	return !sm_opt_failed(st);
}

/* The file, opened without blocking (a FIFO must not hang the start) and
 * read only when it is a regular file (/dev/zero would never end). */
static FILE *open_config(struct sm_opt_state *st)
{
	struct stat sb;
	FILE *f;
	int fd = open(st->cfg->config_file, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &sb) < 0) {
		sm_opt_fail(st, "cannot read: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	if (!S_ISREG(sb.st_mode)) {
		/* A ConfigMap's mount point given for the file in it. */
		sm_opt_fail(st, S_ISDIR(sb.st_mode)
		                    ? "is a directory (--config names the file in it)"
		                    : "not a regular file");
		close(fd);
		return NULL;
	}
	if ((f = fdopen(fd, "r")) == NULL) {
		sm_opt_fail(st, "cannot read: %s", strerror(errno));
		close(fd);
	}
	return f;
}

static void load_file(struct sm_opt_state *st)
{
	struct file_read r = {.st = st};
	int rc;

	st->at = (struct sm_opt_origin){st->cfg->config_file, 0};
	if ((r.file = open_config(st)) == NULL)
		return;
	rc = ini_parse_stream(ini_read_line, &r, on_ini_pair, &r);
	fclose(r.file);
	st->at.line = r.bad != NULL ? r.line : rc;
	if (r.bad == overlong)
		sm_opt_fail(st,
		            "line longer than %d bytes (the parser's limit): not read in pieces",
		            r.limit);
	else if (r.bad != NULL)
		sm_opt_fail(st, "%s", r.bad);
	else if (rc > 0)
		sm_opt_fail(st, "syntax error (expected 'key = value')");
}

/* ---- the command line ---- */

struct cli_opt {
	const struct sm_opt_def *def;
	const char *value;
};

/* getopt_long's view of the table: option i comes back as 256 + i. */
static void getopt_tables(struct option *longopts, char *shortopts, size_t shortlen)
{
	size_t i, s = 0;

	shortopts[s++] = '+'; /* stop at COMMAND */
	shortopts[s++] = ':'; /* a missing value is ':', not '?' */
	for (i = 0; sm_opts[i].name != NULL; i++) {
		const struct sm_opt_def *def = &sm_opts[i];

		longopts[i] = (struct option){def->name, def->arg ? required_argument : no_argument,
		                              NULL, (int)(256 + i)};
		if (def->short_name != 0 && s + 3 <= shortlen) {
			shortopts[s++] = def->short_name;
			if (def->arg != NULL)
				shortopts[s++] = ':';
		}
	}
	longopts[i] = (struct option){0};
	shortopts[s] = '\0';
}

/* Options of tini and gunicorn that people bring along, and what takes
 * their place here. */
static const struct {
	const char *word;
	const char *instead;
} habits[] = {
    {"-s", "subreaping is built in, no flag needed"},
    {"-v", "for more detail use --log-level debug"},
    {"-p", "the pid file is --pid-file PATH"},
    {"-c", "the config file is --config FILE"},
    {"-D", "there is no daemon mode: run it in the foreground under systemd or docker"},
    {"--daemon", "there is no daemon mode: run it in the foreground under systemd or docker"},
    {"--access-logfile", "access logs are the app's own; --log-file or --capture-output "
                         "passes its output through"},
    {"--max-requests", "recycle workers with --max-worker-age, or let a worker send "
                       "STOPPING=1 and exit by itself: a planned exit"},
};

/* An unknown option, with what the operator may have meant: a long option
 * it begins (abbreviations are refused: a later option must not change
 * what an old command line means), or the habit it comes from. */
static void unknown(struct sm_opt_state *st, const char *word, size_t len)
{
	const char *like[SM_OPTS_MAX];
	char meant[256] = "";
	size_t i, n = 0, at = 0;

	for (i = 0; i < sizeof(habits) / sizeof(habits[0]); i++)
		if (strlen(habits[i].word) == len && strncmp(habits[i].word, word, len) == 0) {
			sm_opt_fail(st, "unknown option '%.*s' (%s; see --help)", (int)len, word,
			            habits[i].instead);
			return;
		}
	for (i = 0; len > 2 && word[1] == '-' && sm_opts[i].name != NULL; i++)
		if (strncmp(sm_opts[i].name, word + 2, len - 2) == 0)
			like[n++] = sm_opts[i].name;
	for (i = 0; i < n && at < sizeof(meant); i++)
		at += (size_t)snprintf(meant + at, sizeof(meant) - at, "%s--%s",
		                       i == 0       ? ""
		                       : i == n - 1 ? " or "
		                                    : ", ",
		                       like[i]);
	if (n > 0)
		sm_opt_fail(st, "unknown option '%.*s' (did you mean %s?)", (int)len, word, meant);
	else
		sm_opt_fail(st, "unknown option '%.*s' (see --help)", (int)len, word);
}

/* What getopt_long refused, as one usage error. */
static void refused(struct sm_opt_state *st, int c, const char *word)
{
	char shortopt[3] = {'-', (char)optopt, '\0'};

	if (c == ':') {
		if (optopt != 0 && optopt < 256)
			sm_opt_fail(st, "option '-%c' needs a value", optopt);
		else
			sm_opt_fail(st, "option '%s' needs a value", word);
	} else if (optopt >= 256 && (size_t)(optopt - 256) < n_opts()) {
		/* glibc sets optopt to a known long option's value when that
		 * option was given a value it does not take. */
		sm_opt_fail(st, "option '--%s' takes no value", sm_opts[optopt - 256].name);
	} else if (optopt != 0 && optopt < 256) {
		unknown(st, shortopt, 2);
	} else {
		unknown(st, word, strcspn(word, "="));
	}
}

/* getopt_long takes any unambiguous prefix of a long option: refused here
 * before it looks, so --pid is not --pid-file.  -1 after the failure. */
static int check_exact(struct sm_opt_state *st, const char *word)
{
	size_t len;

	if (word == NULL || strncmp(word, "--", 2) != 0 || word[2] == '\0')
		return 0;
	len = strcspn(word + 2, "=");
	for (size_t i = 0; sm_opts[i].name != NULL; i++)
		if (strlen(sm_opts[i].name) == len && strncmp(sm_opts[i].name, word + 2, len) == 0)
			return 0;
	unknown(st, word, len + 2);
	return -1;
}

/* A value taken from the next word that looks like an option ('-g --' in
 * tini's manner, '--chdir --pid-file x') is the value forgotten; '-' alone
 * (standard error for --log-file), a negative number (for the setter to
 * judge) and --opt=-x remain values. */
static int check_value(struct sm_opt_state *st, int c, const struct sm_opt_def *def,
                       char *const argv[])
{
	if (def->arg == NULL || optarg != argv[optind - 1] || optarg[0] != '-' ||
	    optarg[1] == '\0' || isdigit((unsigned char)optarg[1]) || optarg[1] == '.')
		return 0;
	if (c < 256)
		sm_opt_fail(st, "option '-%c' needs a value, not '%s'", def->short_name, optarg);
	else
		sm_opt_fail(st, "option '--%s' needs a value, not '%s'", def->name, optarg);
	return -1;
}

/* First pass: getopt_long over argv into (option, value) pairs. */
static int scan_argv(struct sm_opt_state *st, int argc, char *const argv[], struct cli_opt *out,
                     size_t *n_out, int *first_arg)
{
	struct option longopts[SM_OPTS_MAX + 1];
	char shortopts[2 * SM_OPTS_MAX + 3];
	int c, index;

	getopt_tables(longopts, shortopts, sizeof(shortopts));
	opterr = 0;
	optind = 0; /* 0: a full reset of glibc's getopt, so a reload may parse again */
	*n_out = 0;
	for (;;) {
		const char *word;
		const struct sm_opt_def *def;

		/* optind is 0 only before the first call, which starts at 1. */
		if (check_exact(st, optind < argc ? argv[optind > 0 ? optind : 1] : NULL) < 0)
			return -1;
		if ((c = getopt_long(argc, argv, shortopts, longopts, &index)) == -1)
			break;
		word = argv[optind - 1];
		if (c == '?' || c == ':') {
			refused(st, c, word);
			return -1;
		}
		def = c >= 256 ? &sm_opts[c - 256] : find_short(c);
		if (def == NULL) {
			unknown(st, word, strlen(word));
			return -1;
		}
		if (check_value(st, c, def, argv) < 0)
			return -1;
		if (def->arg == NULL && word[0] == '-' && word[1] == '-' && strchr(word, '='))
			sm_opt_fail(st, "option '--%s' takes no value", def->name);
		out[(*n_out)++] = (struct cli_opt){def, optarg};
	}
	*first_arg = optind;
	return sm_opt_failed(st) ? -1 : 0;
}

/* Options that act before the file is read: --config names it, and
 * --help or --version wins over anything else given. */
static void apply_early(struct sm_opt_state *st, const struct cli_opt *opts, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (!(opts[i].def->flags & SM_OPT_EARLY))
			continue;
		opts[i].def->set(st, opts[i].def, opts[i].value);
		if (st->request != SM_CONFIG_RUN) {
			sm_error_clear(st->e);
			return;
		}
	}
}

/* The command line goes after the file, so it wins. */
static void apply_cli(struct sm_opt_state *st, const struct cli_opt *opts, size_t n)
{
	bool list_started[SM_OPTS_MAX] = {false};
	size_t i, idx;

	for (i = 0; i < n && !sm_opt_failed(st); i++) {
		const struct sm_opt_def *def = opts[i].def;

		if (def->flags & SM_OPT_EARLY)
			continue;
		idx = (size_t)(def - sm_opts);
		if ((def->flags & SM_OPT_LIST) && !list_started[idx]) {
			def->clear(st->cfg, def);
			list_started[idx] = true;
		}
		def->set(st, def, opts[i].value);
	}
}

static void take_command(struct sm_opt_state *st, int argc, char *const argv[], int first_arg)
{
	struct sm_config *cfg = st->cfg;
	size_t i;

	if (first_arg >= argc || argv[first_arg][0] == '\0') {
		sm_opt_fail(
		    st,
		    "missing COMMAND (usage: sentrik-master [OPTION]... [--] COMMAND [ARG]...)");
		return;
	}
	cfg->n_command = (size_t)(argc - first_arg);
	cfg->command = calloc(cfg->n_command + 1, sizeof(char *));
	if (cfg->command == NULL) {
		sm_opt_fail(st, "out of memory");
		return;
	}
	for (i = 0; i < cfg->n_command; i++)
		cfg->command[i] = argv[first_arg + (int)i];
}

/* argv first, for --config; then the file; then the rest of argv over it. */
static void read_all(struct sm_opt_state *st, int argc, char *const argv[], struct cli_opt *opts)
{
	size_t n = 0;
	int first_arg = argc;

	if (scan_argv(st, argc, argv, opts, &n, &first_arg) < 0)
		return;
	apply_early(st, opts, n);
	if (sm_opt_failed(st) || st->request != SM_CONFIG_RUN)
		return;
	if (st->cfg->config_file != NULL)
		load_file(st);
	st->at = (struct sm_opt_origin){NULL, 0};
	apply_cli(st, opts, n);
	if (!sm_opt_failed(st))
		take_command(st, argc, argv, first_arg);
	if (!sm_opt_failed(st))
		sm_opt_finish(st);
}

int sm_config_parse(struct sm_config *cfg, int argc, char *const argv[], struct sm_error *e)
{
	struct sm_opt_state st = {.cfg = cfg, .e = e, .request = SM_CONFIG_RUN};
	struct cli_opt *opts;
	size_t n = 0;
	int i;

	sm_error_clear(e);
	sm_opt_defaults(&st);
	/* "-VVV" is three options in one word: size by characters, not words. */
	for (i = 0; i < argc; i++)
		n += strlen(argv[i]) + 1;
	if ((opts = calloc(n + 1, sizeof(*opts))) != NULL)
		read_all(&st, argc, argv, opts);
	else
		sm_opt_fail(&st, "out of memory");
	free(opts);
	/* A failed (or help/version) parse leaves nothing for the caller to
	 * free: main returns at once. */
	if (sm_opt_failed(&st) || st.request != SM_CONFIG_RUN)
		sm_config_free(cfg);
	return sm_opt_failed(&st) ? -1 : (int)st.request;
}
