/* Unit tests for priv.c: the USER/GROUP word parser, resolution against
 * the real databases, --require-env, the path walker on a temporary tree
 * with planted symlinks, and the proof's reading of /proc/self/status. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <sentrik/priv.h>

static void id_words(void **state)
{
	unsigned long n = 12345;

	(void)state;
	assert_int_equal(sm_priv_parse_id("999", &n), SM_ID_NUMBER);
	assert_int_equal(n, 999);
	assert_int_equal(sm_priv_parse_id("0", &n), SM_ID_NUMBER);
	assert_int_equal(n, 0);
	assert_int_equal(sm_priv_parse_id("4294967294", &n), SM_ID_NUMBER);
	assert_int_equal(n, 4294967294UL);
	assert_int_equal(sm_priv_parse_id("sentrikat", &n), SM_ID_NAME);
	assert_int_equal(sm_priv_parse_id("12abc", &n), SM_ID_NAME);
	assert_int_equal(sm_priv_parse_id("svc.user-1", &n), SM_ID_NAME);
	/* (uid_t)-1 means "leave unchanged" to the kernel. */
	assert_int_equal(sm_priv_parse_id("4294967295", &n), SM_ID_INVALID);
	assert_int_equal(sm_priv_parse_id("99999999999999999999", &n), SM_ID_INVALID);
	assert_int_equal(sm_priv_parse_id("", &n), SM_ID_INVALID);
	assert_int_equal(sm_priv_parse_id(NULL, &n), SM_ID_INVALID);
	assert_int_equal(sm_priv_parse_id("-1", &n), SM_ID_INVALID);
	assert_int_equal(sm_priv_parse_id("a:b", &n), SM_ID_INVALID);
	assert_int_equal(sm_priv_parse_id("a b", &n), SM_ID_INVALID);
	assert_int_equal(sm_priv_parse_id("../x", &n), SM_ID_INVALID);
}

static unsigned long free_uid(void)
{
	unsigned long u = 3999000;

	while (getpwuid((uid_t)u) != NULL)
		u++;
	return u;
}

static void resolve_root_by_name_and_number(void **state)
{
	struct sm_config cfg = {0};
	struct sm_report rep = {0};
	struct sm_identity id;
	enum sm_priv_status want = geteuid() == 0 ? SM_PRIV_OK : SM_PRIV_DENIED;

	(void)state;
	cfg.user = "root";
	assert_int_equal(sm_priv_resolve(&cfg, &id, &rep), want);
	if (want == SM_PRIV_OK) {
		assert_int_equal(id.uid, 0);
		assert_int_equal(id.gid, 0);
		assert_true(id.has_passwd);
		assert_true(id.set_env);
		assert_string_equal(id.name, "root");
		assert_int_equal(id.mode, SM_ID_ROOT);
	} else {
		assert_non_null(strstr(rep.msg, "cannot switch to uid 0"));
	}
	cfg.user = "0";
	rep = (struct sm_report){0};
	assert_int_equal(sm_priv_resolve(&cfg, &id, &rep), want);
	if (want == SM_PRIV_OK)
		assert_string_equal(id.name, "root");
}

static void resolve_uid_without_entry(void **state)
{
	struct sm_config cfg = {0};
	struct sm_report rep = {0};
	struct sm_identity id;
	char word[32];
	unsigned long u = free_uid();

	(void)state;
	if (geteuid() != 0)
		skip();
	snprintf(word, sizeof(word), "%lu", u);
	cfg.user = word;
	assert_int_equal(sm_priv_resolve(&cfg, &id, &rep), SM_PRIV_OK);
	assert_int_equal(id.uid, u);
	assert_int_equal(id.gid, u); /* gid = uid unless given */
	assert_false(id.has_passwd);
	assert_int_equal(id.n_groups, 0);
	assert_string_equal(id.home, "/");
	assert_string_equal(id.name, word);
	assert_int_equal(id.mode, SM_ID_DROP);

	cfg.group = "0";
	assert_int_equal(sm_priv_resolve(&cfg, &id, &rep), SM_PRIV_OK);
	assert_int_equal(id.gid, 0);
	cfg.group = "root";
	assert_int_equal(sm_priv_resolve(&cfg, &id, &rep), SM_PRIV_OK);
	assert_int_equal(id.gid, 0);
}

static void resolve_unknown_names(void **state)
{
	struct sm_config cfg = {0};
	struct sm_report rep = {0};
	struct sm_identity id;

	(void)state;
	cfg.user = "sm-no-such-user";
	assert_int_equal(sm_priv_resolve(&cfg, &id, &rep), SM_PRIV_NO_SUCH_ID);
	assert_non_null(strstr(rep.msg, "--user: unknown user 'sm-no-such-user'"));

	rep = (struct sm_report){0};
	cfg.user = "root";
	cfg.group = "sm-no-such-group";
	assert_int_equal(sm_priv_resolve(&cfg, &id, &rep), SM_PRIV_NO_SUCH_ID);
	assert_non_null(strstr(rep.msg, "--group: unknown group 'sm-no-such-group'"));

	rep = (struct sm_report){0};
	cfg.user = NULL;
	cfg.group = "root";
	assert_int_equal(sm_priv_resolve(&cfg, &id, &rep), SM_PRIV_USAGE);

	rep = (struct sm_report){0};
	cfg.user = "a b";
	cfg.group = NULL;
	assert_int_equal(sm_priv_resolve(&cfg, &id, &rep), SM_PRIV_USAGE);
}

static void require_env(void **state)
{
	struct sm_require_env reqs[] = {{"SECRET_KEY", NULL}, {"DB_PASSWORD", "changeme"}};
	struct sm_config cfg = {.require_env = reqs, .n_require_env = 2};
	char *good[] = {"SECRET_KEY=x", "DB_PASSWORD=s3cret", NULL};
	char *unset[] = {"SECRET_KEYX=1", "DB_PASSWORD=s3cret", NULL};
	char *empty[] = {"SECRET_KEY=", "DB_PASSWORD=s3cret", NULL};
	char *deflt[] = {"SECRET_KEY=x", "DB_PASSWORD=changeme", NULL};
	struct sm_report rep = {0};

	(void)state;
	assert_int_equal(sm_priv_check_env(&cfg, good, &rep), SM_PRIV_OK);
	assert_int_equal(rep.first, SM_PRIV_OK);

	assert_int_equal(sm_priv_check_env(&cfg, unset, &rep), SM_PRIV_ENV);
	assert_string_equal(rep.msg, "SECRET_KEY must be set");

	rep = (struct sm_report){0};
	assert_int_equal(sm_priv_check_env(&cfg, empty, &rep), SM_PRIV_ENV);
	assert_string_equal(rep.msg, "SECRET_KEY must be set");

	rep = (struct sm_report){0};
	assert_int_equal(sm_priv_check_env(&cfg, deflt, &rep), SM_PRIV_ENV);
	assert_string_equal(rep.msg, "DB_PASSWORD must be changed from its default");

	rep = (struct sm_report){0};
	assert_int_equal(sm_priv_check_env(&cfg, NULL, &rep), SM_PRIV_ENV);
}

/* A temporary tree: root/real/inner, root/file, root/link -> real,
 * root/real/final -> a file outside that must never change. */
struct tree {
	char root[256];
	char path[1024];
};

static const char *at(struct tree *t, const char *rel)
{
	snprintf(t->path, sizeof(t->path), "%s/%s", t->root, rel);
	return t->path;
}

static int tree_setup(void **state)
{
	static struct tree t;
	char target[1024];
	int fd;

	snprintf(t.root, sizeof(t.root), "/tmp/sm-priv-unit.XXXXXX");
	if (mkdtemp(t.root) == NULL)
		return -1;
	if (mkdir(at(&t, "real"), 0755) < 0 || mkdir(at(&t, "real/inner"), 0755) < 0)
		return -1;
	fd = open(at(&t, "file"), O_WRONLY | O_CREAT, 0600);
	if (fd < 0)
		return -1;
	close(fd);
	fd = open(at(&t, "outside"), O_WRONLY | O_CREAT, 0600);
	if (fd < 0)
		return -1;
	close(fd);
	snprintf(target, sizeof(target), "%s/real", t.root);
	if (symlink(target, at(&t, "link")) < 0)
		return -1;
	snprintf(target, sizeof(target), "%s/outside", t.root);
	if (symlink(target, at(&t, "real/final")) < 0)
		return -1;
	*state = &t;
	return 0;
}

static int tree_teardown(void **state)
{
	struct tree *t = *state;
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->root);
	return system(cmd) == 0 ? 0 : -1;
}

static void walk_refuses_symlinks(void **state)
{
	struct tree *t = *state;
	struct sm_walk w;
	struct stat st;
	char link[1024];

	snprintf(link, sizeof(link), "%s/link", t->root);
	/* A symlink as the path itself. */
	assert_int_equal(sm_priv_walk(at(t, "link"), true, 0755, &w), -1);
	assert_int_equal(w.fail, SM_WALK_SYMLINK);
	assert_string_equal(w.at, link);
	assert_int_equal(w.fd, -1);
	/* A symlink on the way: nothing is created behind it. */
	assert_int_equal(sm_priv_walk(at(t, "link/inner/new"), true, 0755, &w), -1);
	assert_int_equal(w.fail, SM_WALK_SYMLINK);
	assert_string_equal(w.at, link);
	assert_int_equal(stat(at(t, "real/inner/new"), &st), -1);
	/* A symlink as the last component, pointing at a file: untouched. */
	assert_int_equal(sm_priv_chown_path(at(t, "real/final"), getuid(), getgid(), 0777, &w), -1);
	assert_int_equal(w.fail, SM_WALK_SYMLINK);
	assert_int_equal(stat(at(t, "outside"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
}

static void walk_creates_and_gives_away(void **state)
{
	struct tree *t = *state;
	struct sm_walk w;
	struct stat st;
	/* Given to our own ids a path would keep its owner whether it was
	 * given away or not: as root, give it to ids nobody has. */
	uid_t uid = geteuid() == 0 ? (uid_t)3999123 : getuid();
	gid_t gid = geteuid() == 0 ? (gid_t)3999124 : getgid();

	assert_int_equal(sm_priv_chown_path(at(t, "real/inner/a/b/c"), uid, gid, 0750, &w), 0);
	assert_int_equal(stat(at(t, "real/inner/a/b/c"), &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0750);
	assert_int_equal(st.st_uid, uid);
	assert_int_equal(st.st_gid, gid);
	/* Parents made on the way are 0755 whatever the umask, and stay ours. */
	assert_int_equal(stat(at(t, "real/inner/a/b"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	assert_int_equal(st.st_uid, geteuid());
	/* Again: it exists now; the mode is set again. */
	assert_int_equal(sm_priv_chown_path(at(t, "real/inner/a/b/c/"), uid, gid, 0700, &w), 0);
	assert_false(w.created);
	assert_int_equal(stat(at(t, "real/inner/a/b/c"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	/* A regular file as the last component is allowed. */
	assert_int_equal(sm_priv_chown_path(at(t, "file"), uid, gid, 0640, &w), 0);
	assert_int_equal(stat(at(t, "file"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(st.st_uid, uid);
	assert_int_equal(st.st_gid, gid);
}

static void walk_without_create(void **state)
{
	struct tree *t = *state;
	struct sm_walk w;
	struct stat st;

	assert_int_equal(sm_priv_walk(at(t, "real/missing/deeper"), false, 0755, &w), 0);
	assert_true(w.missing);
	assert_int_equal(w.fd, -1);
	assert_int_equal(stat(at(t, "real/missing"), &st), -1);
	assert_int_equal(sm_priv_walk(at(t, "real/inner"), false, 0755, &w), 0);
	assert_false(w.missing);
	assert_true(w.fd >= 0);
	close(w.fd);
}

static void walk_bad_paths(void **state)
{
	struct tree *t = *state;
	struct sm_walk w;

	assert_int_equal(sm_priv_walk(at(t, "file/below"), true, 0755, &w), -1);
	assert_int_equal(w.fail, SM_WALK_NOTDIR);
	assert_int_equal(sm_priv_walk(at(t, "real/../real"), true, 0755, &w), -1);
	assert_int_equal(w.fail, SM_WALK_BADNAME);
	assert_int_equal(sm_priv_walk("relative/path", true, 0755, &w), -1);
	assert_int_equal(w.fail, SM_WALK_BADNAME);
	assert_int_equal(sm_priv_walk("/", true, 0755, &w), -1);
	assert_int_equal(w.fail, SM_WALK_BADNAME);
	assert_int_equal(sm_priv_walk("//", true, 0755, &w), -1);
	assert_int_equal(w.fail, SM_WALK_BADNAME);
	assert_int_equal(sm_priv_walk("/dev/null", false, 0755, &w), -1);
	assert_int_equal(w.fail, SM_WALK_TYPE);
}

static const char good_status[] = "Name:\tsentrik-master\n"
                                  "Uid:\t999\t999\t999\t999\n"
                                  "Gid:\t1001\t1001\t1001\t1001\n"
                                  "Groups:\t1001 2000 \n"
                                  "CapInh:\t0000000000000000\n"
                                  "CapPrm:\t0000000000000000\n"
                                  "CapEff:\t0000000000000000\n"
                                  "CapBnd:\t0000000000000000\n"
                                  "CapAmb:\t0000000000000000\n"
                                  "NoNewPrivs:\t1\n";

static void replace(char *buf, const char *from, const char *to)
{
	char *p = strstr(buf, from);
	char rest[4096];

	assert_non_null(p);
	snprintf(rest, sizeof(rest), "%s", p + strlen(from));
	sprintf(p, "%s%s", to, rest);
}

static void status_proof(void **state)
{
	struct sm_identity id = {
	    .uid = 999, .gid = 1001, .groups = {2000, 1001, 1001}, .n_groups = 3};
	char text[4096], why[512];

	(void)state;
	assert_int_equal(sm_priv_verify_status(good_status, &id, true, 1, why, sizeof(why)), 0);
	assert_int_equal(sm_priv_verify_status(good_status, &id, true, -1, why, sizeof(why)), 0);
	assert_int_equal(sm_priv_verify_status(good_status, &id, true, 0, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "NoNewPrivs"));

	strcpy(text, good_status);
	replace(text, "999\t999\t999\t999", "999\t999\t0\t999"); /* saved uid still root */
	assert_int_equal(sm_priv_verify_status(text, &id, true, 1, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "Uid"));
}

static void status_proof_sets(void **state)
{
	struct sm_identity id = {.uid = 999, .gid = 1001, .groups = {1001, 2000}, .n_groups = 2};
	char text[4096], why[512];

	(void)state;
	strcpy(text, good_status);
	replace(text, "Gid:\t1001\t1001\t1001\t1001", "Gid:\t1001\t1001\t1001\t0");
	assert_int_equal(sm_priv_verify_status(text, &id, true, 1, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "Gid"));

	strcpy(text, good_status);
	replace(text, "Groups:\t1001 2000 ", "Groups:\t0 1001 2000 ");
	assert_int_equal(sm_priv_verify_status(text, &id, true, 1, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "Groups"));

	strcpy(text, good_status);
	replace(text, "Groups:\t1001 2000 ", "Groups:\t1001 ");
	assert_int_equal(sm_priv_verify_status(text, &id, true, 1, why, sizeof(why)), -1);

	strcpy(text, good_status);
	replace(text, "CapBnd:\t0000000000000000", "CapBnd:\t000001ffffffffff");
	assert_int_equal(sm_priv_verify_status(text, &id, true, 1, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "CapBnd"));
	/* Not root at start: the bounding set may be out of our reach. */
	assert_int_equal(sm_priv_verify_status(text, &id, false, 1, why, sizeof(why)), 0);

	strcpy(text, good_status);
	replace(text, "CapAmb:\t0000000000000000", "CapAmb:\t0000000000000400");
	assert_int_equal(sm_priv_verify_status(text, &id, false, 1, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "CapAmb"));

	strcpy(text, good_status);
	replace(text, "CapEff:\t0000000000000000\n", "");
	assert_int_equal(sm_priv_verify_status(text, &id, true, 1, why, sizeof(why)), -1);
}

static void report_keeps_the_first_failure(void **state)
{
	struct sm_report rep = {0};

	(void)state;
	sm_report_step(&rep, SM_PRIV_OK, "user", NULL, "fine");
	assert_false(sm_report_stop(&rep));
	sm_report_step(&rep, SM_PRIV_PATH, "log dir", "chown 1:2 /x", "/x is not writable");
	sm_report_step(&rep, SM_PRIV_EXEC, "command", NULL, "later");
	assert_true(sm_report_stop(&rep));
	assert_int_equal(rep.first, SM_PRIV_PATH);
	assert_string_equal(rep.msg, "/x is not writable; fix: chown 1:2 /x");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(id_words),
	    cmocka_unit_test(resolve_root_by_name_and_number),
	    cmocka_unit_test(resolve_uid_without_entry),
	    cmocka_unit_test(resolve_unknown_names),
	    cmocka_unit_test(require_env),
	    cmocka_unit_test_setup_teardown(walk_refuses_symlinks, tree_setup, tree_teardown),
	    cmocka_unit_test_setup_teardown(walk_creates_and_gives_away, tree_setup, tree_teardown),
	    cmocka_unit_test_setup_teardown(walk_without_create, tree_setup, tree_teardown),
	    cmocka_unit_test_setup_teardown(walk_bad_paths, tree_setup, tree_teardown),
	    cmocka_unit_test(status_proof),
	    cmocka_unit_test(status_proof_sets),
	    cmocka_unit_test(report_keeps_the_first_failure),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
