/* ident: USER and GROUP as ids, names, groups and home — looked up in a
 * short-lived child so NSS never loads into the master — and the drop mode. */
#include <cap-ng.h>
#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sentrik/ident.h>
#include <sentrik/spawn.h>

enum sm_id_kind sm_ident_parse(const char *s, unsigned long *number)
{
	const char *p;
	unsigned long v;
	char *end;

	if (s == NULL || *s == '\0' || *s == '-')
		return SM_ID_INVALID;
	for (p = s; *p != '\0'; p++)
		if (*p == ':' || *p == '/' || iscntrl((unsigned char)*p) ||
		    isspace((unsigned char)*p))
			return SM_ID_INVALID;
	for (p = s; isdigit((unsigned char)*p); p++)
		;
	if (*p != '\0')
		return SM_ID_NAME;
	errno = 0;
	v = strtoul(s, &end, 10);
	/* (uid_t)-1 means "unchanged" to the kernel: never a real id. */
	if (errno != 0 || *end != '\0' || v >= UINT32_MAX)
		return SM_ID_INVALID;
	*number = v;
	return SM_ID_NUMBER;
}

/* One getpwnam_r, getpwuid_r or getgrnam_r call: its return value, with
 * *found set when it filled the entry. */
typedef int nss_call_fn(void *query, char *buf, size_t size, bool *found);

struct passwd_query {
	const char *name; /* NULL: by uid */
	uid_t uid;
	struct passwd pw;
};

struct group_query {
	const char *name;
	struct group gr;
};

static int passwd_call(void *query, char *buf, size_t size, bool *found)
{
	struct passwd_query *q = query;
	struct passwd *res = NULL;
	int rc = q->name != NULL ? getpwnam_r(q->name, &q->pw, buf, size, &res)
	                         : getpwuid_r(q->uid, &q->pw, buf, size, &res);

	*found = res != NULL;
	return rc;
}

static int group_call(void *query, char *buf, size_t size, bool *found)
{
	struct group_query *q = query;
	struct group *res = NULL;
	int rc = getgrnam_r(q->name, &q->gr, buf, size, &res);

	*found = res != NULL;
	return rc;
}

/* An NSS lookup with a buffer that grows on ERANGE; the entry's strings
 * live in *buf.  1 found, 0 no such entry, -1 with errno on a failure. */
static int nss_lookup(nss_call_fn *call, void *query, char **buf)
{
	size_t size = 1024;
	bool found = false;
	int rc;

	for (;;) {
		char *more = realloc(*buf, size);
		if (more == NULL)
			return -1;
		*buf = more;
		rc = call(query, *buf, size, &found);
		if (rc != ERANGE)
			break;
		if (size > 1 << 20) {
			errno = ERANGE;
			return -1;
		}
		size *= 2;
	}
	if (rc == 0)
		return found;
	if (rc == ENOENT || rc == ESRCH)
		return 0; /* "no such entry" as some NSS modules say it */
	errno = rc;
	return -1;
}

void sm_ident_format_groups(const struct sm_identity *id, char *buf, size_t len)
{
	size_t i, o = 0;

	buf[0] = '\0';
	for (i = 0; i < id->n_groups && o + 12 < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s%lu", i ? "," : "",
		                      (unsigned long)id->groups[i]);
	if (id->n_groups == 0)
		snprintf(buf, len, "none");
}

static int own_groups(struct sm_identity *id, struct sm_report *rep)
{
	int n = getgroups(SM_IDENT_MAX_GROUPS, id->groups);

	if (n < 0)
		return sm_report_step(rep, EX_OSERR, "user", NULL, "cannot read our groups: %s",
		                      strerror(errno));
	id->n_groups = (size_t)n;
	return 0;
}

/* No --user: whoever started us. */
static int resolve_current(struct sm_identity *id, struct sm_report *rep)
{
	id->uid = geteuid();
	id->gid = getegid();
	snprintf(id->name, sizeof(id->name), "%lu", (unsigned long)id->uid);
	snprintf(id->home, sizeof(id->home), "/");
	if (id->uid == 0) {
		id->mode = SM_ID_ROOT;
		return sm_report_step(rep, 0, "user", NULL,
		                      "root mode (no --user given): master and workers keep uid 0");
	}
	id->mode = SM_ID_KEEP;
	if (own_groups(id, rep) < 0)
		return -1;
	return sm_report_step(rep, 0, "user", NULL,
	                      "started as uid %lu gid %lu: no switch; capabilities are shed",
	                      (unsigned long)id->uid, (unsigned long)id->gid);
}

/* Started non-root: the only identity we can run as is our own. */
static int keep_identity(const struct sm_config *cfg, struct sm_identity *id, struct sm_report *rep)
{
	uid_t uid = geteuid();
	gid_t gid = getegid();

	if (id->uid != uid)
		return sm_report_step(rep, EX_NOPERM, "user",
		                      "start as root, or drop --user to run as the current user",
		                      "running as uid %lu, cannot switch to uid %lu",
		                      (unsigned long)uid, (unsigned long)id->uid);
	if (cfg->group != NULL && id->gid != gid)
		return sm_report_step(rep, EX_NOPERM, "user",
		                      "start as root, or drop --group to keep the current group",
		                      "running as gid %lu, cannot switch to gid %lu",
		                      (unsigned long)gid, (unsigned long)id->gid);
	id->mode = SM_ID_KEEP;
	id->gid = gid;
	return own_groups(id, rep);
}

/* Root whose capabilities were taken away (a container with SETUID and
 * SETGID dropped) cannot switch: say so before anything is changed. */
static int can_switch(const struct sm_config *cfg, const struct sm_identity *id,
                      struct sm_report *rep)
{
	if (capng_get_caps_process() < 0)
		return sm_report_step(rep, EX_OSERR, "user", NULL,
		                      "cannot read our capabilities: %s", strerror(errno));
	if (cfg->allow_new_privs && !capng_have_capability(CAPNG_PERMITTED, CAP_SETPCAP))
		return sm_report_step(
		    rep, EX_NOPERM, "user",
		    "give the container CAP_SETPCAP, or leave out --allow-new-privs", "%s",
		    SM_IDENT_NO_SETPCAP);
	if (capng_have_capability(CAPNG_PERMITTED, CAP_SETUID) &&
	    capng_have_capability(CAPNG_PERMITTED, CAP_SETGID))
		return 0;
	return sm_report_step(
	    rep, EX_NOPERM, "user",
	    "give the container CAP_SETUID and CAP_SETGID, or start it as the user",
	    "running as root without CAP_SETUID and CAP_SETGID: cannot switch to "
	    "uid %lu gid %lu",
	    (unsigned long)id->uid, (unsigned long)id->gid);
}

/* A --user or --group word, or its usage error reported. */
static enum sm_id_kind parse_word(const char *option, const char *word, unsigned long *number,
                                  struct sm_report *rep)
{
	enum sm_id_kind kind = sm_ident_parse(word, number);

	if (kind == SM_ID_INVALID)
		(void)sm_report_step(rep, EX_USAGE, "user", NULL, "%s: invalid value '%s'", option,
		                     word);
	return kind;
}

/* --user: its passwd entry, or a bare uid (runAsUser: 5000) with its own
 * number as group and "/" as home. */
static int resolve_user(const char *user, struct sm_identity *id, struct sm_report *rep)
{
	struct passwd_query q = {0};
	unsigned long number = 0;
	enum sm_id_kind kind;
	char *buf = NULL;
	int found;

	if ((kind = parse_word("--user", user, &number, rep)) == SM_ID_INVALID)
		return -1;
	q.name = kind == SM_ID_NAME ? user : NULL;
	q.uid = (uid_t)number;
	found = nss_lookup(passwd_call, &q, &buf);
	if (found < 0)
		sm_report_step(rep, EX_OSERR, "user", NULL, "--user: cannot look up '%s': %s", user,
		               strerror(errno));
	else if (!found && kind == SM_ID_NAME)
		sm_report_step(rep, EX_NOUSER, "user", "create the user, or give a numeric uid",
		               "--user: unknown user '%s'", user);
	else if (found) {
		id->uid = q.pw.pw_uid;
		id->gid = q.pw.pw_gid;
		snprintf(id->name, sizeof(id->name), "%s", q.pw.pw_name);
		snprintf(id->home, sizeof(id->home), "%s",
		         q.pw.pw_dir != NULL && q.pw.pw_dir[0] != '\0' ? q.pw.pw_dir : "/");
	} else {
		id->uid = (uid_t)number;
		id->gid = (gid_t)number;
		snprintf(id->name, sizeof(id->name), "%lu", number);
		snprintf(id->home, sizeof(id->home), "/");
	}
	free(buf);
	id->has_passwd = found > 0;
	id->set_env = true;
	return found < 0 || (!found && kind == SM_ID_NAME) ? -1 : 0;
}

/* --group: a number as it is, a name through the group database. */
static int resolve_group(const char *group, struct sm_identity *id, struct sm_report *rep)
{
	struct group_query q = {.name = group};
	unsigned long number = 0;
	enum sm_id_kind kind;
	char *buf = NULL;
	int found;

	if ((kind = parse_word("--group", group, &number, rep)) == SM_ID_INVALID)
		return -1;
	if (kind == SM_ID_NUMBER) {
		id->gid = (gid_t)number;
		return 0;
	}
	found = nss_lookup(group_call, &q, &buf);
	if (found > 0)
		id->gid = q.gr.gr_gid;
	free(buf);
	if (found < 0)
		return sm_report_step(rep, EX_OSERR, "user", NULL, "--group: cannot look up '%s'",
		                      group);
	if (found == 0)
		return sm_report_step(rep, EX_NOUSER, "user",
		                      "create the group, or give a numeric gid",
		                      "--group: unknown group '%s'", group);
	return 0;
}

static int resolve_here(const struct sm_config *cfg, struct sm_identity *id, struct sm_report *rep)
{
	char groups[512];
	int n = SM_IDENT_MAX_GROUPS;

	memset(id, 0, sizeof(*id));
	if (cfg->user == NULL) {
		if (cfg->group != NULL)
			return sm_report_step(rep, EX_USAGE, "user", NULL,
			                      "--group: '%s' needs --user", cfg->group);
		return resolve_current(id, rep);
	}
	if (resolve_user(cfg->user, id, rep) < 0 ||
	    (cfg->group != NULL && resolve_group(cfg->group, id, rep) < 0))
		return -1;
	if (id->has_passwd) {
		if (getgrouplist(id->name, id->gid, id->groups, &n) < 0)
			return sm_report_step(rep, EX_OSERR, "user", NULL,
			                      "--user: '%s' is in more than %d groups", id->name,
			                      SM_IDENT_MAX_GROUPS);
		id->n_groups = (size_t)n;
	}
	if (geteuid() != 0) {
		if (keep_identity(cfg, id, rep) < 0)
			return -1;
	} else if ((id->mode = id->uid == 0 ? SM_ID_ROOT : SM_ID_DROP) == SM_ID_DROP &&
	           can_switch(cfg, id, rep) < 0) {
		return -1;
	}
	sm_ident_format_groups(id, groups, sizeof(groups));
	return sm_report_step(rep, 0, "user", NULL, "%s (uid %lu, gid %lu, groups %s, HOME=%s%s)%s",
	                      id->name, (unsigned long)id->uid, (unsigned long)id->gid, groups,
	                      id->home, id->has_passwd ? "" : ", no passwd entry",
	                      id->mode == SM_ID_ROOT   ? ": root mode, no drop"
	                      : id->mode == SM_ID_KEEP ? ": already running as it"
	                                               : "");
}

/* What the lookup child hands back: plain numbers and names. */
struct resolved {
	int rc;
	struct sm_identity id;
	struct sm_report rep;
};

struct lookup {
	const struct sm_config *cfg;
	const struct sm_report *rep;
};

static void resolve_in_child(void *ctx, void *out)
{
	const struct lookup *l = ctx;
	struct resolved *r = out;

	memset(r, 0, sizeof(*r));
	r->rep = *l->rep;
	r->rc = resolve_here(l->cfg, &r->id, &r->rep);
	if (r->rep.out != NULL)
		fflush(r->rep.out);
	r->rep.out = NULL;
}

/* The user and group databases are read in a short-lived child.  NSS loads
 * modules (systemd, sss, ldap) with their own libraries, sockets and, for
 * some, threads; a master that stays up for months, often as PID 1, and
 * forks its workers should carry none of that.  (With "passwd: files
 * systemd" the lookups alone map about 700 KiB of libraries.) */
int sm_ident_resolve(const struct sm_config *cfg, struct sm_identity *id, struct sm_report *rep)
{
	struct lookup l = {.cfg = cfg, .rep = rep};
	struct resolved r;

	/* Without --user nothing is looked up: no child needed. */
	if (cfg->user == NULL)
		return resolve_here(cfg, id, rep);
	memset(id, 0, sizeof(*id));
	if (rep->out != NULL)
		fflush(rep->out);
	fflush(stdout);
	if (sm_spawn_call(resolve_in_child, &l, &r, sizeof(r)) < 0) {
		if (errno != ETIMEDOUT)
			return sm_report_step(rep, EX_OSERR, "user", NULL,
			                      "the process looking up --user/--group failed: %s",
			                      strerror(errno));
		return sm_report_step(
		    rep, EX_OSERR, "user", "check the name services /etc/nsswitch.conf names",
		    "looking up user '%s'%s%s%s did not finish within %d s: the name service "
		    "does not answer",
		    cfg->user, cfg->group != NULL ? " and group '" : "",
		    cfg->group != NULL ? cfg->group : "", cfg->group != NULL ? "'" : "",
		    SM_SPAWN_CALL_SECONDS);
	}
	*id = r.id;
	r.rep.out = rep->out;
	*rep = r.rep;
	return r.rc;
}
