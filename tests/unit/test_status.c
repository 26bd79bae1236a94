/* Unit tests for status.c: the snapshot of a pool, the counters, and the
 * text, JSON and Prometheus renderings (escaping through log.c's). */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <sentrik/status.h>

/* A pool of n workers with pids 100.., all ready at t = 0 (exec mode). */
static void boot(struct sm_pool *pool, int n, int max)
{
	struct sm_pool_params p = {.workers = n,
	                           .max_workers = max,
	                           .stop_signal = SIGTERM,
	                           .graceful_timeout = 30,
	                           .ready_on_exec = true};
	struct sm_action acts[64];
	double next;
	size_t k, i;
	pid_t pid = 100;

	assert_int_equal(sm_pool_init(pool, &p), 0);
	while ((k = sm_pool_step(pool, 0, acts, 64, &next)) > 0)
		for (i = 0; i < k; i++)
			if (acts[i].type == SM_ACT_SPAWN)
				sm_pool_spawned(pool, acts[i].slot, acts[i].generation, pid++, 0);
}

/* Worker pid dies with wstatus at now; the pool's replacement gets
 * new_pid (0: none is started). */
static void die(struct sm_pool *pool, pid_t pid, int wstatus, double now, pid_t new_pid)
{
	struct sm_exit_info info;
	struct sm_action acts[64];
	double next;
	size_t k, i;

	assert_int_equal(sm_pool_exited(pool, pid, wstatus, NULL, now, &info), 0);
	if (new_pid == 0)
		return;
	while ((k = sm_pool_step(pool, now + 20, acts, 64, &next)) > 0)
		for (i = 0; i < k; i++)
			if (acts[i].type == SM_ACT_SPAWN)
				sm_pool_spawned(pool, acts[i].slot, acts[i].generation, new_pid,
				                now + 20);
}

static void snap(struct sm_status *st, struct sm_pool *pool, double now)
{
	assert_int_equal(sm_status_build(st, pool, now), 0);
	st->pid = 42;
	st->uid = 1000;
	st->gid = 1001;
	st->version = "0.1.0";
	st->command = "/srv/app \"quoted\"\n\x01";
	st->uptime_s = now;
	st->rss_bytes = 1 << 20;
	st->log_lines_written = 7;
	st->log_lines_dropped = 1;
}

static void snapshot_of_a_booted_pool(void **state)
{
	struct sm_pool pool;
	struct sm_status st = {0};
	size_t i;

	(void)state;
	boot(&pool, 4, 8);
	snap(&st, &pool, 2.5);
	assert_int_equal(st.n_workers, 4);
	assert_int_equal(st.state, SM_STATE_RUNNING);
	assert_int_equal(st.desired_workers, 4);
	for (i = 0; i < 4; i++) {
		assert_int_equal(st.workers[i].slot, (int)i + 1);
		assert_int_equal(st.workers[i].state, SM_WSTATE_READY);
		assert_string_equal(st.workers[i].last_exit, "");
		assert_true(st.workers[i].age_s == 2.5);
	}
	assert_true(sm_status_healthy(&st));
	assert_true(sm_status_all_ready(&st));
	/* Slot 3 dies: restarted later; readyz says no meanwhile. */
	die(&pool, 102, SIGKILL, 2.8, 0);
	snap(&st, &pool, 3);
	assert_int_equal(st.n_workers, 3);
	assert_true(sm_status_healthy(&st));
	assert_false(sm_status_all_ready(&st));
	assert_int_equal(st.counters.restarts, 1);
	assert_int_equal(st.counters.exits[SM_EXIT_SIGNAL], 1);
	sm_status_free(&st);
	sm_pool_free(&pool);
}

/* The rows carry their slot's restarts and last exit, kept by the pool
 * across the slot's workers; a worker asked to stop counts as stopped. */
static void counters_per_slot(void **state)
{
	struct sm_pool pool;
	struct sm_status st = {0};
	struct sm_action acts[64];
	double next;

	(void)state;
	boot(&pool, 2, 4);
	die(&pool, 101, 1 << 8, 0.5, 102); /* status 1 before 1 s: a start failure */
	die(&pool, 102, SIGKILL, 30, 103);
	snap(&st, &pool, 60);
	assert_int_equal(st.n_workers, 2);
	assert_int_equal(st.workers[0].restarts, 0);
	assert_string_equal(st.workers[0].last_exit, "");
	assert_int_equal(st.workers[1].pid, 103);
	assert_int_equal(st.workers[1].restarts, 2);
	assert_string_equal(st.workers[1].last_exit, "signal 9");
	assert_int_equal(st.counters.restarts, 2);
	assert_int_equal(st.counters.start_failures, 1);
	assert_int_equal(st.counters.exits[SM_EXIT_STATUS], 1);
	assert_int_equal(st.counters.exits[SM_EXIT_SIGNAL], 1);
	/* Scaled down to 1: slot 2 is asked to stop and goes. */
	sm_pool_scale(&pool, -1);
	while (sm_pool_step(&pool, 61, acts, 64, &next) > 0)
		;
	die(&pool, 103, SIGTERM, 61.5, 0);
	snap(&st, &pool, 62);
	assert_int_equal(st.counters.exits[SM_EXIT_STOPPED], 1);
	assert_int_equal(st.counters.exits[SM_EXIT_SIGNAL], 1);
	assert_int_equal(st.counters.restarts, 2);
	sm_status_free(&st);
	sm_pool_free(&pool);
}

static void json_has_the_stable_keys(void **state)
{
	static const char *const keys[] = {
	    "{\"master\":{\"pid\":42,\"uid\":1000,\"gid\":1001,\"version\":\"0.1.0\"",
	    "\"state\":\"running\"",
	    "\"generation\":0",
	    "\"uptime_s\":1.000",
	    "\"desired_workers\":2",
	    "\"workers\":[{\"slot\":1,\"pid\":100,\"generation\":0,"
	    "\"state\":\"ready\",\"age_s\":1.000,\"restarts\":0,\"last_exit\":null}",
	    "\"last_exit\":\"status 2\"}]",
	    "\"counters\":{\"restarts\":1,\"start_failures\":0,"
	    "\"reloads_ok\":0,\"reloads_failed\":0,",
	    "\"log_lines_dropped\":1",
	    /* COMMAND is the operator's: escaped as the log's JSON lines are */
	    "\"command\":\"/srv/app \\\"quoted\\\"\\n\\u0001\"",
	};
	struct sm_pool pool;
	struct sm_status st = {0};
	struct sm_buf out = {0};
	size_t i;

	(void)state;
	boot(&pool, 2, 4);
	die(&pool, 101, 2 << 8, 30, 102);
	snap(&st, &pool, 1);
	sm_status_json(&st, &out);
	assert_false(out.failed);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strstr(out.data, keys[i]) == NULL)
			fail_msg("missing %s in %s", keys[i], out.data);
	assert_int_equal(out.data[out.len - 1], '\n');
	assert_null(strchr(out.data, '\n') != out.data + out.len - 1 ? out.data : NULL);
	sm_buf_free(&out);
	sm_status_free(&st);
	sm_pool_free(&pool);
}

/* Every sample line's metric has a HELP and a TYPE line before it. */
static void metrics_are_documented(void **state)
{
	struct sm_pool pool;
	struct sm_status st = {0};
	struct sm_buf out = {0};
	char *line, *save = NULL, typed[64][96];
	size_t n_typed = 0, i, samples = 0;

	(void)state;
	boot(&pool, 3, 4);
	snap(&st, &pool, 12.25);
	sm_status_metrics(&st, &out);
	assert_false(out.failed);
	assert_non_null(strstr(out.data, "sentrik_master_workers{state=\"ready\"} 3\n"));
	assert_non_null(strstr(out.data, "sentrik_master_desired_workers 3\n"));
	assert_non_null(strstr(out.data, "sentrik_master_reloads_total{result=\"failed\"} 0\n"));
	assert_non_null(
	    strstr(out.data, "sentrik_master_worker_exits_total{cause=\"timeout\"} 0\n"));
	assert_non_null(strstr(out.data, "sentrik_master_uptime_seconds 12.250\n"));
	assert_non_null(strstr(out.data, "sentrik_master_resident_memory_bytes 1048576\n"));
	assert_non_null(strstr(out.data, "sentrik_master_log_lines_dropped_total 1\n"));
	assert_non_null(strstr(out.data, "sentrik_master_state{state=\"running\"} 1\n"));
	for (line = strtok_r(out.data, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		char name[96];
		if (strncmp(line, "# TYPE ", 7) == 0) {
			assert_true(n_typed < 64);
			assert_int_equal(sscanf(line + 7, "%95s", typed[n_typed]), 1);
			n_typed++;
			continue;
		}
		if (line[0] == '#')
			continue;
		assert_int_equal(sscanf(line, "%95[a-z_]", name), 1);
		assert_int_equal(strncmp(name, "sentrik_master_", 15), 0);
		for (i = 0; i < n_typed && strcmp(typed[i], name) != 0; i++)
			;
		assert_true(i < n_typed);
		samples++;
	}
	assert_true(samples > 20);
	sm_buf_free(&out);
	sm_status_free(&st);
	sm_pool_free(&pool);
}

static void text_table(void **state)
{
	struct sm_pool pool;
	struct sm_status st = {0};
	struct sm_buf out = {0};

	(void)state;
	boot(&pool, 2, 4);
	die(&pool, 100, SIGKILL, 30, 102);
	snap(&st, &pool, 3725);
	sm_status_text(&st, &out);
	assert_non_null(strstr(out.data,
	                       "master  pid 42  uid:gid 1000:1001  up 1h02m  version "
	                       "0.1.0\n        running, generation 0, 2/2 workers ready"));
	assert_non_null(strstr(out.data,
	                       "SLOT  PID      GEN  STATE     AGE      RESTARTS LAST EXIT\n"
	                       "1     102      0    ready     1h01m    1        signal 9\n"
	                       "2     101      0    ready     1h02m    0        -\n"));
	assert_non_null(strstr(out.data, "restarts 1, start failures 0"));
	sm_buf_free(&out);
	sm_status_free(&st);
	sm_pool_free(&pool);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(snapshot_of_a_booted_pool),
	    cmocka_unit_test(counters_per_slot),
	    cmocka_unit_test(json_has_the_stable_keys),
	    cmocka_unit_test(metrics_are_documented),
	    cmocka_unit_test(text_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
