/* rss: the fields of /proc/PID/stat (a command name may hold spaces and
 * parentheses) and the Pss line of smaps_rollup. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sentrik/rss.h>

static void stat_fields(void **state)
{
	pid_t sid = 0, pgrp = 0;

	(void)state;
	assert_int_equal(sm_rss_parse_stat("1234 (app) S 1 1234 1230 0 -1 4194560", &sid, &pgrp),
	                 0);
	assert_int_equal(pgrp, 1234);
	assert_int_equal(sid, 1230);
	assert_int_equal(sm_rss_parse_stat("77 (a) b) (c) R 5 70 71 0", &sid, &pgrp), 0);
	assert_int_equal(pgrp, 70);
	assert_int_equal(sid, 71);
	assert_int_equal(sm_rss_parse_stat("77 no parenthesis", &sid, &pgrp), -1);
	assert_int_equal(sm_rss_parse_stat("77 (x) S 1", &sid, &pgrp), -1);
}

static void pss_line(void **state)
{
	(void)state;
	assert_int_equal(sm_rss_parse_pss("00400000-7ffd [rollup]\nRss:  9000 kB\nPss:  4242 kB\n"
	                                  "Pss_Anon: 100 kB\n"),
	                 4242);
	assert_int_equal(sm_rss_parse_pss("Pss: 7 kB\n"), 7);
	assert_int_equal(sm_rss_parse_pss("Pss_Anon: 100 kB\n"), 0);
	assert_int_equal(sm_rss_parse_pss(""), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(stat_fields),
	    cmocka_unit_test(pss_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
