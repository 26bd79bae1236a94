/* Unit tests for cpus.c: cgroup v2 cpu.max, v1 CFS quota and affinity
 * math, the quota lookup against fixture trees under tests/fixtures/cgroup. */
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include <sentrik/cpus.h>

static int quota(const char *tree, const char *proc_cgroup)
{
	const char *base = getenv("SM_FIXTURES");
	char root[1024];

	snprintf(root, sizeof(root), "%s/cgroup/%s", base ? base : "tests/fixtures", tree);
	return sm_cpus_quota(root, proc_cgroup);
}

static void cpu_max_text(void **state)
{
	(void)state;
	assert_int_equal(sm_cpus_from_cpu_max("max 100000\n"), 0);
	assert_int_equal(sm_cpus_from_cpu_max("100000 100000\n"), 1);
	assert_int_equal(sm_cpus_from_cpu_max("150000 100000\n"), 2); /* rounded up */
	assert_int_equal(sm_cpus_from_cpu_max("200000 100000"), 2);
	assert_int_equal(sm_cpus_from_cpu_max("1000 100000"), 1); /* never 0 CPUs */
	assert_int_equal(sm_cpus_from_cpu_max("400000 50000"), 8);
	assert_int_equal(sm_cpus_from_cpu_max(""), -1);
	assert_int_equal(sm_cpus_from_cpu_max("max"), -1);
	assert_int_equal(sm_cpus_from_cpu_max("abc 100000"), -1);
	assert_int_equal(sm_cpus_from_cpu_max("0 100000"), -1);
	assert_int_equal(sm_cpus_from_cpu_max("-5 100000"), -1);
	assert_int_equal(sm_cpus_from_cpu_max("100000 0"), -1);
}

static void cfs_math(void **state)
{
	(void)state;
	assert_int_equal(sm_cpus_from_cfs(-1, 100000), 0);
	assert_int_equal(sm_cpus_from_cfs(0, 100000), 0);
	assert_int_equal(sm_cpus_from_cfs(100000, 0), 0);
	assert_int_equal(sm_cpus_from_cfs(50000, 100000), 1);
	assert_int_equal(sm_cpus_from_cfs(100000, 100000), 1);
	assert_int_equal(sm_cpus_from_cfs(100001, 100000), 2);
	assert_int_equal(sm_cpus_from_cfs(300000, 100000), 3);
}

static void combine(void **state)
{
	(void)state;
	assert_int_equal(sm_cpus_combine(8, 0), 8);  /* no quota */
	assert_int_equal(sm_cpus_combine(8, 2), 2);  /* quota below affinity */
	assert_int_equal(sm_cpus_combine(2, 8), 2);  /* affinity below quota */
	assert_int_equal(sm_cpus_combine(0, 0), 1);  /* at least one */
	assert_int_equal(sm_cpus_combine(-1, 3), 1); /* unknown affinity: one */
	assert_int_equal(sm_cpus_combine(4, -1), 4);
}

static void v2_trees(void **state)
{
	(void)state;
	assert_int_equal(quota("v2-none", "0::/app.slice\n"), 0);
	assert_int_equal(quota("v2-none", "0::/\n"), 0);
	assert_int_equal(quota("v2-leaf", "0::/app.slice/web.service\n"), 2);
	/* the parent slice's limit binds the service below it */
	assert_int_equal(quota("v2-parent", "0::/app.slice/web.service\n"), 2);
	assert_int_equal(quota("v2-parent", "0::/app.slice\n"), 2);
	/* inside a container the cgroup is "/" and its limit sits at the root */
	assert_int_equal(quota("v2-container", "0::/\n"), 1);
	/* a cgroup path the tree does not have: its ancestors still count */
	assert_int_equal(quota("v2-container", "0::/not/mounted/here\n"), 1);
	assert_int_equal(quota("v2-leaf", "0::/gone\n"), 0);
	/* junk lines are skipped */
	assert_int_equal(quota("v2-leaf", "garbage\n\n0::/app.slice/web.service"), 2);
	assert_int_equal(quota("no-such-tree", "0::/\n"), 0);
}

static void v1_trees(void **state)
{
	(void)state;
	assert_int_equal(quota("v1", "12:memory:/docker/abc\n"
	                             "4:cpu,cpuacct:/docker/abc\n"
	                             "1:name=systemd:/docker/abc\n"),
	                 3);
	assert_int_equal(quota("v1", "4:cpuacct,cpu:/docker/abc\n"), 3);
	assert_int_equal(quota("v1", "4:cpu,cpuacct:/docker\n"), 0);
	assert_int_equal(quota("v1", "4:cpuacct:/docker/abc\n"), 0); /* not the cpu controller */
	assert_int_equal(quota("v1-unlimited", "4:cpu,cpuacct:/docker/abc\n"), 0);
	/* a mount named "cpu", limit at its root only */
	assert_int_equal(quota("v1-cpu", "3:cpu:/user\n"), 5);
	assert_int_equal(quota("v1-cpu", "3:cpu:/\n"), 5);
}

/* Hybrid: both hierarchies listed, the smaller limit wins, whichever
 * hierarchy holds it and in whichever order they are listed. */
static void hybrid(void **state)
{
	(void)state;
	/* a v2 path without any limit does not count as one */
	assert_int_equal(quota("v1", "4:cpu,cpuacct:/docker/abc\n0::/docker/abc\n"), 3);
	assert_int_equal(quota("hybrid", "4:cpu,cpuacct:/docker/abc\n0::/docker/abc\n"), 1);
	assert_int_equal(quota("hybrid", "0::/docker/abc\n4:cpu,cpuacct:/docker/abc\n"), 1);
	assert_int_equal(quota("hybrid", "4:cpu,cpuacct:/docker/abc\n0::/other\n"), 3);
	assert_int_equal(quota("hybrid", "0::/other\n4:cpu,cpuacct:/docker/abc\n"), 3);
}

static void usable_matches_affinity(void **state)
{
	cpu_set_t set;
	int n = sm_cpus_usable();

	(void)state;
	assert_int_equal(sched_getaffinity(0, sizeof(set), &set), 0);
	assert_true(n >= 1);
	assert_true(n <= CPU_COUNT(&set));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(cpu_max_text),
	    cmocka_unit_test(cfs_math),
	    cmocka_unit_test(combine),
	    cmocka_unit_test(v2_trees),
	    cmocka_unit_test(v1_trees),
	    cmocka_unit_test(hybrid),
	    cmocka_unit_test(usable_matches_affinity),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
