/* drop: become USER once and for all (after OpenSSH's permanently_set_uid),
 * then prove it — uid 0 out of reach and /proc/self/status as asked. */
#include <cap-ng.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <sentrik/drop.h>
#include <sentrik/fd.h>
#include <sentrik/log.h>

/* ------------------------------------------------------------------ */
/* reading the proof */

static int status_line(const char *status, const char *key, char *out, size_t len)
{
	size_t klen = strlen(key);
	const char *p = status;

	while (p != NULL && *p != '\0') {
		if (strncmp(p, key, klen) == 0 && p[klen] == ':') {
			const char *v = p + klen + 1, *end = strchr(v, '\n');
			size_t n = end != NULL ? (size_t)(end - v) : strlen(v);
			while (n > 0 && (*v == '\t' || *v == ' ')) {
				v++;
				n--;
			}
			if (n >= len)
				n = len - 1;
			memcpy(out, v, n);
			out[n] = '\0';
			return 0;
		}
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	return -1;
}

/* Real, effective, saved and file-system id all the same. */
static bool all_ids(const char *line, unsigned long want)
{
	unsigned long v[4];
	int i;

	if (sscanf(line, "%lu %lu %lu %lu", &v[0], &v[1], &v[2], &v[3]) != 4)
		return false;
	for (i = 0; i < 4; i++)
		if (v[i] != want)
			return false;
	return true;
}

static bool in_list(const gid_t *list, size_t n, gid_t g)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (list[i] == g)
			return true;
	return false;
}

/* Same set (order and repeats aside): the kernel lists each group once,
 * getgrouplist may repeat the primary one. */
static bool same_groups(const char *line, const struct sm_identity *id)
{
	gid_t seen[SM_IDENT_MAX_GROUPS];
	size_t n = 0, i;
	const char *p = line;
	char *end;

	while (*p != '\0') {
		unsigned long g;
		if (*p == ' ' || *p == '\t') {
			p++;
			continue;
		}
		g = strtoul(p, &end, 10);
		if (end == p || n == SM_IDENT_MAX_GROUPS)
			return false;
		seen[n++] = (gid_t)g;
		p = end;
	}
	for (i = 0; i < n; i++)
		if (!in_list(id->groups, id->n_groups, seen[i]))
			return false;
	for (i = 0; i < id->n_groups; i++)
		if (!in_list(seen, n, id->groups[i]))
			return false;
	return true;
}

int sm_drop_verify_status(const char *status, const struct sm_identity *id, bool check_bounding,
                          int no_new_privs, char *why, size_t whylen)
{
	static const char *const caps[] = {"CapInh", "CapPrm", "CapEff", "CapAmb", "CapBnd"};
	char line[4096];
	size_t i;

	if (status_line(status, "Uid", line, sizeof(line)) < 0 || !all_ids(line, id->uid)) {
		snprintf(why, whylen, "Uid is '%s', not %lu in all four fields", line,
		         (unsigned long)id->uid);
		return -1;
	}
	if (status_line(status, "Gid", line, sizeof(line)) < 0 || !all_ids(line, id->gid)) {
		snprintf(why, whylen, "Gid is '%s', not %lu in all four fields", line,
		         (unsigned long)id->gid);
		return -1;
	}
	if (status_line(status, "Groups", line, sizeof(line)) < 0 || !same_groups(line, id)) {
		char want[512];
		sm_ident_format_groups(id, want, sizeof(want));
		snprintf(why, whylen, "Groups is '%s', not %s", line, want);
		return -1;
	}
	for (i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		if (!check_bounding && strcmp(caps[i], "CapBnd") == 0)
			continue;
		if (status_line(status, caps[i], line, sizeof(line)) < 0 ||
		    strspn(line, "0") != strlen(line) || line[0] == '\0') {
			snprintf(why, whylen, "%s is '%s', not empty", caps[i], line);
			return -1;
		}
	}
	if (no_new_privs >= 0 && (status_line(status, "NoNewPrivs", line, sizeof(line)) < 0 ||
	                          atoi(line) != no_new_privs)) {
		snprintf(why, whylen, "NoNewPrivs is '%s', not %d", line, no_new_privs);
		return -1;
	}
	return 0;
}

static int read_self_status(char *buf, size_t len)
{
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = sm_read_full(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

/* ------------------------------------------------------------------ */
/* the drop */

static const char *change_id_error(int rc)
{
	switch (rc) {
	case -1:
		return "libcap-ng not initialised";
	case -2:
		return "cannot keep capabilities across the uid change";
	case -3:
		return "cannot apply the intermediate capabilities";
	case -4:
		return "cannot change the gid";
	case -5:
		return "cannot set the supplementary groups";
	case -6:
		return "cannot change the uid";
	case -7:
		return "cannot stop keeping capabilities";
	case -8:
		return "cannot clear the bounding set";
	case -9:
		return "cannot drop the remaining capabilities";
	case -10:
		return "cannot find the passwd entry to initialise the groups";
	default:
		return "unknown failure";
	}
}

/* Root to USER: groups, gid, uid, and every capability set emptied. */
static int switch_user(const struct sm_config *cfg, const struct sm_identity *id,
                       struct sm_error *e, bool *bounding)
{
	/* The groups looked up by sm_ident_resolve, set here rather than by
	 * CAPNG_INIT_SUPP_GRP, whose initgroups would read the group
	 * database (and load NSS) in the master after all. */
	capng_flags_t flags = CAPNG_CLEAR_AMBIENT;
	int rc;

	/* Root without CAP_SETPCAP (docker --cap-drop SETPCAP) cannot empty
	 * the bounding set; no_new_privs keeps it from ever mattering, so
	 * only --allow-new-privs makes that fatal. */
	if (capng_get_caps_process() == 0 &&
	    capng_have_capability(CAPNG_PERMITTED, CAP_SETPCAP) == 0) {
		if (cfg->allow_new_privs)
			return sm_error_set(e, EX_NOPERM, "%s", SM_IDENT_NO_SETPCAP);
		*bounding = false;
	} else {
		flags |= CAPNG_CLEAR_BOUNDING;
	}
	if (setgroups(id->n_groups, id->groups) < 0)
		return sm_error_set(e, EX_NOPERM, "cannot set the supplementary groups of '%s': %s",
		                    id->name, strerror(errno));
	/* Everything cleared first: what capng_change_id applies at its end
	 * is then the empty set. */
	capng_clear(CAPNG_SELECT_ALL);
	rc = capng_change_id((int)id->uid, (int)id->gid, flags);
	if (rc != 0)
		return sm_error_set(e, EX_NOPERM, "cannot switch to uid %lu gid %lu: %s (%s)%s",
		                    (unsigned long)id->uid, (unsigned long)id->gid,
		                    change_id_error(rc), strerror(errno),
		                    rc == -3 ? "; switching user needs CAP_SETUID and CAP_SETGID "
		                               "(check the container's dropped capabilities)"
		                             : "");
	return 0;
}

/* Started non-root: shed what we may still hold (ambient capabilities
 * given by a service manager, say); the bounding set only if CAP_SETPCAP
 * allows. */
static int shed_caps(bool *bounding)
{
	capng_select_t set = CAPNG_SELECT_CAPS | CAPNG_SELECT_AMBIENT;

	if (capng_get_caps_process() < 0)
		return -1;
	*bounding = capng_have_capability(CAPNG_EFFECTIVE, CAP_SETPCAP) != 0;
	if (*bounding)
		set = CAPNG_SELECT_ALL;
	capng_clear(set);
	return capng_apply(set) < 0 ? -1 : 0;
}

/* The proof: uid 0 (and gid 0 unless asked for) must be out of reach, and
 * the kernel must say what we asked for. */
static int prove(const struct sm_config *cfg, const struct sm_identity *id, bool bounding,
                 struct sm_error *e)
{
	char status[8192], reason[512];

	if (setuid(0) == 0 || seteuid(0) == 0 ||
	    (id->gid != 0 && (setgid(0) == 0 || setegid(0) == 0)))
		return sm_error_set(e, EX_NOPERM,
		                    "the drop did not hold: uid or gid 0 could be regained");
	if (read_self_status(status, sizeof(status)) < 0)
		return sm_error_set(e, EX_NOPERM,
		                    "cannot read /proc/self/status to verify the drop: %s",
		                    strerror(errno));
	if (sm_drop_verify_status(status, id, bounding, cfg->allow_new_privs ? -1 : 1, reason,
	                          sizeof(reason)) < 0)
		return sm_error_set(e, EX_NOPERM, "the drop did not give what was asked: %s",
		                    reason);
	return 0;
}

int sm_drop_and_prove(const struct sm_config *cfg, const struct sm_identity *id, struct sm_error *e,
                      bool *bounding_cleared)
{
	bool bounding = true;

	if (id->mode == SM_ID_ROOT)
		return 0;
	if (id->mode == SM_ID_DROP) {
		if (switch_user(cfg, id, e, &bounding) < 0)
			return -1;
	} else if (shed_caps(&bounding) < 0) {
		return sm_error_set(e, EX_NOPERM, "cannot clear our capabilities: %s",
		                    strerror(errno));
	}
	if (!cfg->allow_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return sm_error_set(e, EX_NOPERM, "cannot set no_new_privs: %s", strerror(errno));
	if (prove(cfg, id, bounding, e) < 0)
		return -1;
	if (bounding_cleared != NULL)
		*bounding_cleared = bounding;
	return 0;
}

int sm_drop(const struct sm_config *cfg, const struct sm_identity *id, struct sm_report *rep)
{
	struct sm_error e = {0};
	char groups[512];
	bool bounding = true;

	if (sm_drop_and_prove(cfg, id, &e, &bounding) < 0)
		return sm_report_step(rep, e.status, "drop", NULL, "%s", e.msg);
	if (id->mode == SM_ID_ROOT)
		return 0;
	sm_ident_format_groups(id, groups, sizeof(groups));
	sm_info("running as %s (uid %lu, gid %lu, groups %s): no capabilities%s", id->name,
	        (unsigned long)id->uid, (unsigned long)id->gid, groups,
	        cfg->allow_new_privs ? "" : ", no_new_privs");
	if (!bounding && id->mode == SM_ID_DROP)
		sm_warnx("the capability bounding set is not empty (no CAP_SETPCAP to clear it); "
		         "no_new_privs keeps it from being used");
	return 0;
}
