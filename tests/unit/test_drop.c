/* Unit tests for drop.c: the proof's reading of /proc/self/status (ids,
 * groups, capability sets, NoNewPrivs). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <sentrik/drop.h>

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
	assert_int_equal(sm_drop_verify_status(good_status, &id, true, 1, why, sizeof(why)), 0);
	assert_int_equal(sm_drop_verify_status(good_status, &id, true, -1, why, sizeof(why)), 0);
	assert_int_equal(sm_drop_verify_status(good_status, &id, true, 0, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "NoNewPrivs"));

	strcpy(text, good_status);
	replace(text, "999\t999\t999\t999", "999\t999\t0\t999"); /* saved uid still root */
	assert_int_equal(sm_drop_verify_status(text, &id, true, 1, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "Uid"));
}

static void status_proof_sets(void **state)
{
	struct sm_identity id = {.uid = 999, .gid = 1001, .groups = {1001, 2000}, .n_groups = 2};
	char text[4096], why[512];

	(void)state;
	strcpy(text, good_status);
	replace(text, "Gid:\t1001\t1001\t1001\t1001", "Gid:\t1001\t1001\t1001\t0");
	assert_int_equal(sm_drop_verify_status(text, &id, true, 1, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "Gid"));

	strcpy(text, good_status);
	replace(text, "Groups:\t1001 2000 ", "Groups:\t0 1001 2000 ");
	assert_int_equal(sm_drop_verify_status(text, &id, true, 1, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "Groups"));

	strcpy(text, good_status);
	replace(text, "Groups:\t1001 2000 ", "Groups:\t1001 ");
	assert_int_equal(sm_drop_verify_status(text, &id, true, 1, why, sizeof(why)), -1);

	strcpy(text, good_status);
	replace(text, "CapBnd:\t0000000000000000", "CapBnd:\t000001ffffffffff");
	assert_int_equal(sm_drop_verify_status(text, &id, true, 1, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "CapBnd"));
	/* Not root at start: the bounding set may be out of our reach. */
	assert_int_equal(sm_drop_verify_status(text, &id, false, 1, why, sizeof(why)), 0);

	strcpy(text, good_status);
	replace(text, "CapAmb:\t0000000000000000", "CapAmb:\t0000000000000400");
	assert_int_equal(sm_drop_verify_status(text, &id, false, 1, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "CapAmb"));

	strcpy(text, good_status);
	replace(text, "CapEff:\t0000000000000000\n", "");
	assert_int_equal(sm_drop_verify_status(text, &id, true, 1, why, sizeof(why)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(status_proof),
	    cmocka_unit_test(status_proof_sets),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
