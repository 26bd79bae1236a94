/* Unit tests for paths.c: the path walker on a temporary tree with planted
 * symlinks, creating, giving away and refusing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <sentrik/paths.h>

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

/* --chown PATH:MODE (mode_set) or PATH (the default 0755, not set). */
static int give(const char *path, uid_t uid, gid_t gid, mode_t mode, bool mode_set,
                struct sm_walk *w)
{
	struct sm_chown c = {(char *)(uintptr_t)path, mode, mode_set};

	return sm_paths_chown(&c, uid, gid, w);
}

static int tree_setup(void **state)
{
	static struct tree t;
	char target[1024];
	int fd;

	snprintf(t.root, sizeof(t.root), "/tmp/sm-paths-unit.XXXXXX");
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
	assert_int_equal(sm_paths_walk(at(t, "link"), true, 0755, &w), -1);
	assert_int_equal(w.fail, SM_WALK_SYMLINK);
	assert_string_equal(w.at, link);
	assert_int_equal(w.fd, -1);
	/* A symlink on the way: nothing is created behind it. */
	assert_int_equal(sm_paths_walk(at(t, "link/inner/new"), true, 0755, &w), -1);
	assert_int_equal(w.fail, SM_WALK_SYMLINK);
	assert_string_equal(w.at, link);
	assert_int_equal(stat(at(t, "real/inner/new"), &st), -1);
	/* A symlink as the last component, pointing at a file: untouched. */
	assert_int_equal(give(at(t, "real/final"), getuid(), getgid(), 0777, true, &w), -1);
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

	assert_int_equal(give(at(t, "real/inner/a/b/c"), uid, gid, 0750, true, &w), 0);
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
	assert_int_equal(give(at(t, "real/inner/a/b/c/"), uid, gid, 0700, true, &w), 0);
	assert_false(w.created);
	assert_int_equal(stat(at(t, "real/inner/a/b/c"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	/* A regular file as the last component is allowed. */
	assert_int_equal(give(at(t, "file"), uid, gid, 0640, true, &w), 0);
	assert_int_equal(stat(at(t, "file"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(st.st_uid, uid);
	assert_int_equal(st.st_gid, gid);
	/* Without a MODE a regular file keeps its own (not the 0755 of
	 * directories). */
	assert_int_equal(give(at(t, "file"), uid, gid, 0755, false, &w), 0);
	assert_int_equal(stat(at(t, "file"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
}

/* A regular file with a second name may be somebody else's file: never
 * given away, whatever its mode. */
static void chown_refuses_hard_links(void **state)
{
	struct tree *t = *state;
	struct sm_walk w;
	struct stat st;
	char other[1024];

	snprintf(other, sizeof(other), "%s/outside", t->root);
	assert_int_equal(link(other, at(t, "real/linked")), 0);
	assert_int_equal(give(at(t, "real/linked"), getuid(), getgid(), 0777, true, &w), -1);
	assert_int_equal(w.fail, SM_WALK_LINKS);
	assert_int_equal(w.links, 2);
	assert_int_equal(stat(other, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(unlink(at(t, "real/linked")), 0);
}

static void walk_without_create(void **state)
{
	struct tree *t = *state;
	struct sm_walk w;
	struct stat st;

	assert_int_equal(sm_paths_walk(at(t, "real/missing/deeper"), false, 0755, &w), 0);
	assert_true(w.missing);
	assert_int_equal(w.fd, -1);
	assert_int_equal(stat(at(t, "real/missing"), &st), -1);
	assert_int_equal(sm_paths_walk(at(t, "real/inner"), false, 0755, &w), 0);
	assert_false(w.missing);
	assert_true(w.fd >= 0);
	close(w.fd);
}

static void walk_bad_paths(void **state)
{
	struct tree *t = *state;
	struct sm_walk w;

	assert_int_equal(sm_paths_walk(at(t, "file/below"), true, 0755, &w), -1);
	assert_int_equal(w.fail, SM_WALK_NOTDIR);
	assert_int_equal(sm_paths_walk(at(t, "real/../real"), true, 0755, &w), -1);
	assert_int_equal(w.fail, SM_WALK_BADNAME);
	assert_int_equal(sm_paths_walk("relative/path", true, 0755, &w), -1);
	assert_int_equal(w.fail, SM_WALK_BADNAME);
	assert_int_equal(sm_paths_walk("/", true, 0755, &w), -1);
	assert_int_equal(w.fail, SM_WALK_BADNAME);
	assert_int_equal(sm_paths_walk("//", true, 0755, &w), -1);
	assert_int_equal(w.fail, SM_WALK_BADNAME);
	assert_int_equal(sm_paths_walk("/dev/null", false, 0755, &w), -1);
	assert_int_equal(w.fail, SM_WALK_TYPE);
}

/* The trust check of --config: only what root alone can change. */
static void config_trust(void **state)
{
	struct tree *t = *state;
	struct sm_error e = {0};
	struct stat st;

	/* /etc/passwd: root's, 0644, in root's 0755 directories. */
	if (stat("/etc/passwd", &st) == 0 && st.st_uid == 0 && (st.st_mode & 022) == 0)
		assert_int_equal(sm_paths_trusted("/etc/passwd", 54321, &e), 0);
	/* Anything under /tmp: others can write /tmp. */
	assert_int_equal(sm_paths_trusted(at(t, "file"), 54321, &e), -1);
	assert_int_equal(e.status, EX_CONFIG);
	assert_non_null(strstr(e.msg, ": /tmp is writable by"));
	/* Not a regular file, and a path through a symlink that is followed. */
	if (stat("/dev/null", &st) == 0 && stat("/dev", &st) == 0 && st.st_uid == 0 &&
	    (st.st_mode & 022) == 0) {
		assert_int_equal(sm_paths_trusted("/dev/null", 54321, &e), -1);
		assert_non_null(strstr(e.msg, "/dev/null is not a regular file"));
	}
	assert_int_equal(sm_paths_trusted("/nonexistent-sm-unit/x.conf", 54321, &e), -1);
	assert_non_null(strstr(e.msg, "No such file or directory"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(walk_refuses_symlinks, tree_setup, tree_teardown),
	    cmocka_unit_test_setup_teardown(walk_creates_and_gives_away, tree_setup, tree_teardown),
	    cmocka_unit_test_setup_teardown(chown_refuses_hard_links, tree_setup, tree_teardown),
	    cmocka_unit_test_setup_teardown(config_trust, tree_setup, tree_teardown),
	    cmocka_unit_test_setup_teardown(walk_without_create, tree_setup, tree_teardown),
	    cmocka_unit_test_setup_teardown(walk_bad_paths, tree_setup, tree_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
