/* Unit tests for ident.c: the USER/GROUP word parser and resolution
 * against the real user and group databases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>
#include <cmocka.h>

#include <sentrik/ident.h>

static void id_words(void **state)
{
	unsigned long n = 12345;

	(void)state;
	assert_int_equal(sm_ident_parse("999", &n), SM_ID_NUMBER);
	assert_int_equal(n, 999);
	assert_int_equal(sm_ident_parse("0", &n), SM_ID_NUMBER);
	assert_int_equal(n, 0);
	assert_int_equal(sm_ident_parse("4294967294", &n), SM_ID_NUMBER);
	assert_int_equal(n, 4294967294UL);
	assert_int_equal(sm_ident_parse("sentrikat", &n), SM_ID_NAME);
	assert_int_equal(sm_ident_parse("12abc", &n), SM_ID_NAME);
	assert_int_equal(sm_ident_parse("svc.user-1", &n), SM_ID_NAME);
	/* (uid_t)-1 means "leave unchanged" to the kernel. */
	assert_int_equal(sm_ident_parse("4294967295", &n), SM_ID_INVALID);
	assert_int_equal(sm_ident_parse("99999999999999999999", &n), SM_ID_INVALID);
	assert_int_equal(sm_ident_parse("", &n), SM_ID_INVALID);
	assert_int_equal(sm_ident_parse(NULL, &n), SM_ID_INVALID);
	assert_int_equal(sm_ident_parse("-1", &n), SM_ID_INVALID);
	assert_int_equal(sm_ident_parse("a:b", &n), SM_ID_INVALID);
	assert_int_equal(sm_ident_parse("a b", &n), SM_ID_INVALID);
	assert_int_equal(sm_ident_parse("../x", &n), SM_ID_INVALID);
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
	int want = geteuid() == 0 ? 0 : EX_NOPERM;

	(void)state;
	cfg.user = "root";
	assert_int_equal(sm_ident_resolve(&cfg, &id, &rep), want == 0 ? 0 : -1);
	assert_int_equal(rep.first.status, want);
	if (want == 0) {
		assert_int_equal(id.uid, 0);
		assert_int_equal(id.gid, 0);
		assert_true(id.has_passwd);
		assert_true(id.set_env);
		assert_string_equal(id.name, "root");
		assert_int_equal(id.mode, SM_ID_ROOT);
	} else {
		assert_non_null(strstr(rep.first.msg, "cannot switch to uid 0"));
	}
	cfg.user = "0";
	rep = (struct sm_report){0};
	assert_int_equal(sm_ident_resolve(&cfg, &id, &rep), want == 0 ? 0 : -1);
	assert_int_equal(rep.first.status, want);
	if (want == 0)
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
	assert_int_equal(sm_ident_resolve(&cfg, &id, &rep), 0);
	assert_int_equal(id.uid, u);
	assert_int_equal(id.gid, u); /* gid = uid unless given */
	assert_false(id.has_passwd);
	assert_int_equal(id.n_groups, 0);
	assert_string_equal(id.home, "/");
	assert_string_equal(id.name, word);
	assert_int_equal(id.mode, SM_ID_DROP);

	cfg.group = "0";
	assert_int_equal(sm_ident_resolve(&cfg, &id, &rep), 0);
	assert_int_equal(id.gid, 0);
	cfg.group = "root";
	assert_int_equal(sm_ident_resolve(&cfg, &id, &rep), 0);
	assert_int_equal(id.gid, 0);
}

static void resolve_unknown_names(void **state)
{
	struct sm_config cfg = {0};
	struct sm_report rep = {0};
	struct sm_identity id;

	(void)state;
	cfg.user = "sm-no-such-user";
	assert_int_equal(sm_ident_resolve(&cfg, &id, &rep), -1);
	assert_int_equal(rep.first.status, EX_NOUSER);
	assert_non_null(strstr(rep.first.msg, "--user: unknown user 'sm-no-such-user'"));

	rep = (struct sm_report){0};
	cfg.user = "root";
	cfg.group = "sm-no-such-group";
	assert_int_equal(sm_ident_resolve(&cfg, &id, &rep), -1);
	assert_int_equal(rep.first.status, EX_NOUSER);
	assert_non_null(strstr(rep.first.msg, "--group: unknown group 'sm-no-such-group'"));

	rep = (struct sm_report){0};
	cfg.user = NULL;
	cfg.group = "root";
	assert_int_equal(sm_ident_resolve(&cfg, &id, &rep), -1);
	assert_int_equal(rep.first.status, EX_USAGE);

	rep = (struct sm_report){0};
	cfg.user = "a b";
	cfg.group = NULL;
	assert_int_equal(sm_ident_resolve(&cfg, &id, &rep), -1);
	assert_int_equal(rep.first.status, EX_USAGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(id_words),
	    cmocka_unit_test(resolve_root_by_name_and_number),
	    cmocka_unit_test(resolve_uid_without_entry),
	    cmocka_unit_test(resolve_unknown_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
