/* Unit tests for the pool (pool.c, pool_step.c, recycle.c, slot.c),
 * transition by transition on a simulated clock: boot, start failures and
 * the crash-loop limit, restart with backoff, readiness by exec, notify and
 * alive, scaling, shutdowns, reloads and their rollback, planned exits,
 * recycling, ready and watchdog timeouts, and a random event storm. */
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <cmocka.h>

#include <sentrik/pidmap.h>
#include <sentrik/pool.h>

#define NO_EXEC "cannot execute 'app': No such file or directory"

/* A fake master: carries out SPAWN at once with made-up pids, records
 * every other action for the test to look at. */
struct sim {
	struct sm_pool pool;
	pid_t next_pid;
	struct sm_action log[4096]; /* each with its own copy of its reason */
	size_t n_log;
	double next;
	int fail_slot; /* a SPAWN of this slot fails; 0 = none */
	unsigned fail_gen;
};

static struct sim *sim_new(int workers, int max, bool on_exec, double ready_timeout)
{
	struct sim *s = calloc(1, sizeof(*s));
	struct sm_pool_params p = {
	    .workers = workers,
	    .max_workers = max,
	    .stop_signal = SIGTERM,
	    .graceful_timeout = 30,
	    .ready_timeout = ready_timeout,
	    .watchdog_timeout = 0,
	    .ready_on_exec = on_exec,
	};

	assert_non_null(s);
	assert_int_equal(sm_pool_init(&s->pool, &p), 0);
	s->next_pid = 100;
	return s;
}

static void sim_free(struct sim *s)
{
	sm_pool_free(&s->pool);
	free(s);
}

/* Steps until the pool has nothing more to do at now; returns the index
 * in s->log where this run's actions start. */
static size_t run(struct sim *s, double now)
{
	struct sm_action acts[8];
	size_t start = s->n_log, n, i, guard = 0;

	while ((n = sm_pool_step(&s->pool, now, acts, 8, &s->next)) > 0) {
		assert_true(++guard < 10000);
		for (i = 0; i < n; i++) {
			const struct sm_action a = acts[i];
			if (s->n_log < sizeof(s->log) / sizeof(s->log[0]))
				s->log[s->n_log++] = a;
			if (a.type != SM_ACT_SPAWN)
				continue;
			if (a.slot == s->fail_slot && a.generation == s->fail_gen)
				sm_pool_spawn_failed(&s->pool, a.slot, a.generation, NO_EXEC, true,
				                     now);
			else
				sm_pool_spawned(&s->pool, a.slot, a.generation, s->next_pid++, now);
		}
	}
	return start;
}

static size_t count(const struct sim *s, size_t from, enum sm_action_type type)
{
	size_t i, n = 0;

	for (i = from; i < s->n_log; i++)
		if (s->log[i].type == type)
			n++;
	return n;
}

static const struct sm_action *find(const struct sim *s, size_t from, enum sm_action_type type)
{
	size_t i;

	for (i = from; i < s->n_log; i++)
		if (s->log[i].type == type)
			return &s->log[i];
	return NULL;
}

static pid_t pid_of(struct sim *s, int slot, unsigned gen)
{
	size_t i;

	for (i = 0; i < s->pool.n_workers; i++)
		if (s->pool.workers[i].slot == slot && s->pool.workers[i].generation == gen &&
		    !s->pool.workers[i].retire)
			return s->pool.workers[i].pid;
	return 0;
}

#define STATUS_3 (3 << 8) /* a wait status: exited with status 3 */
#define KILLED_15 15      /* a wait status: killed by SIGTERM */

static double exit_pid(struct sim *s, pid_t pid, double now)
{
	struct sm_exit_info info;

	assert_int_equal(sm_pool_exited(&s->pool, pid, STATUS_3, NULL, now, &info), 0);
	return info.restart_in;
}

/* Every worker asked to stop (SIGNAL or KILL) in the log exits. */
static void exit_signalled(struct sim *s, size_t from, double now)
{
	struct sm_exit_info info;
	size_t i;

	for (i = from; i < s->n_log; i++)
		if (s->log[i].type == SM_ACT_SIGNAL || s->log[i].type == SM_ACT_KILL)
			(void)sm_pool_exited(&s->pool, s->log[i].pid, KILLED_15, NULL, now, &info);
}

/* ---- backoff ---- */

static void backoff_schedule(void **state)
{
	static const double want[] = {0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 10, 10, 10};
	double delay = 0;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		assert_true(fabs(sm_backoff_next(&delay, 0.05) - want[i]) < 1e-9);
	/* a worker that ran at least 1 s comes back at once, the step stays */
	delay = 0.4;
	assert_true(sm_backoff_next(&delay, 1.0) == 0);
	assert_true(sm_backoff_next(&delay, 9.9) == 0);
	assert_true(fabs(delay - 0.4) < 1e-9);
	assert_true(fabs(sm_backoff_next(&delay, 0.5) - 0.8) < 1e-9);
	/* one that ran 10 s resets the schedule */
	delay = 10;
	assert_true(sm_backoff_next(&delay, 10.0) == 0);
	assert_true(delay == 0);
	assert_true(fabs(sm_backoff_next(&delay, 0.0) - 0.1) < 1e-9);
	/* just under 1 s is still early */
	delay = 0;
	assert_true(fabs(sm_backoff_next(&delay, 0.999) - 0.1) < 1e-9);
}

/* ---- boot ---- */

static void boot_exec(void **state)
{
	struct sim *s = sim_new(3, 8, true, 0);
	size_t from;
	int slot;

	(void)state;
	from = run(s, 0);
	assert_int_equal(count(s, from, SM_ACT_SPAWN), 3);
	assert_int_equal(count(s, from, SM_ACT_BOOTED), 1);
	assert_int_equal(s->log[s->n_log - 1].type, SM_ACT_BOOTED);
	for (slot = 1; slot <= 3; slot++)
		assert_true(pid_of(s, slot, 0) > 0);
	assert_int_equal(s->pool.phase, SM_PHASE_RUNNING);
	assert_true(isinf(s->next)); /* nothing is due: no timer */
	from = run(s, 100);
	assert_int_equal(s->n_log, from);
	assert_true(isinf(s->next));
	sim_free(s);
}

static void boot_notify(void **state)
{
	struct sim *s = sim_new(2, 8, false, 5);
	size_t from;

	(void)state;
	from = run(s, 0);
	assert_int_equal(count(s, from, SM_ACT_SPAWN), 2);
	assert_int_equal(count(s, from, SM_ACT_BOOTED), 0);
	assert_true(s->next == 5); /* the ready deadline */
	assert_int_equal(sm_pool_ready(&s->pool, pid_of(s, 1, 0), 1), 0);
	assert_int_equal(sm_pool_ready(&s->pool, pid_of(s, 1, 0), 1), -1); /* twice */
	assert_int_equal(sm_pool_ready(&s->pool, 99999, 1), -1);
	from = run(s, 1);
	assert_int_equal(count(s, from, SM_ACT_BOOTED), 0);
	assert_int_equal(sm_pool_ready(&s->pool, pid_of(s, 2, 0), 2), 0);
	from = run(s, 2);
	assert_int_equal(count(s, from, SM_ACT_BOOTED), 1);
	assert_true(isinf(s->next));
	sim_free(s);
}

static void boot_fails_on_spawn_failure(void **state)
{
	struct sim *s = sim_new(3, 8, true, 0);
	const struct sm_action *a;
	size_t from;

	(void)state;
	s->fail_slot = 2;
	from = run(s, 0);
	assert_int_equal(count(s, from, SM_ACT_BOOTED), 0);
	assert_int_equal(count(s, from, SM_ACT_EXIT), 0); /* not before the others are gone */
	assert_int_equal(count(s, from, SM_ACT_SIGNAL), 2);
	a = find(s, from, SM_ACT_SIGNAL);
	assert_int_equal(a->sig, SIGTERM);
	assert_true(s->next == 1.0); /* quick: SIGKILL after 1 s */
	exit_pid(s, find(s, from, SM_ACT_SIGNAL)->pid, 0.1);
	from = run(s, 0.1);
	assert_int_equal(count(s, from, SM_ACT_EXIT), 0);
	from = run(s, 1.0);
	assert_int_equal(count(s, from, SM_ACT_KILL), 1);
	exit_signalled(s, 0, 1.0);
	from = run(s, 1.0);
	a = find(s, from, SM_ACT_EXIT);
	assert_non_null(a);
	assert_int_equal(a->code, EX_UNAVAILABLE);
	assert_string_equal(a->reason, NO_EXEC);
	assert_int_equal(count(s, from, SM_ACT_SPAWN), 0);
	from = run(s, 2);
	assert_int_equal(s->n_log, from); /* EXIT only once */
	sim_free(s);
}

/* One early death during the first start is a restart, not a failed
 * start: under exec (died within 1 s of its exec) and under notify. */
static void early_death_at_boot_is_restarted(void **state)
{
	struct sim *s = sim_new(2, 8, true, 0);
	struct sm_exit_info info;
	size_t from;
	pid_t p1;

	(void)state;
	run(s, 0);
	p1 = pid_of(s, 1, 0);
	assert_int_equal(sm_pool_exited(&s->pool, p1, 9, NULL, 0.05, &info), 0);
	assert_true(info.start_failure);
	assert_int_equal(info.failures, 1);
	assert_true(fabs(info.restart_in - 0.1) < 1e-9);
	from = run(s, 0.05);
	assert_int_equal(count(s, from, SM_ACT_EXIT), 0);
	assert_int_equal(count(s, from, SM_ACT_SIGNAL), 0);
	assert_true(fabs(s->next - 0.15) < 1e-9);
	from = run(s, s->next);
	assert_int_equal(count(s, from, SM_ACT_SPAWN), 1);
	assert_string_equal(sm_pool_slot(&s->pool, 1)->last_exit, "signal 9");
	assert_int_equal(sm_pool_counters(&s->pool)->start_failures, 1);
	assert_int_equal(sm_pool_counters(&s->pool)->exits[SM_EXIT_SIGNAL], 1);
	sim_free(s);

	/* --ready notify: dying before READY=1 is restarted too */
	s = sim_new(2, 8, false, 60);
	run(s, 0);
	assert_int_equal(sm_pool_ready(&s->pool, pid_of(s, 2, 0), 3), 0);
	assert_true(exit_pid(s, pid_of(s, 1, 0), 5) == 0); /* ran 5 s: at once */
	from = run(s, 5);
	assert_int_equal(count(s, from, SM_ACT_SPAWN), 1);
	assert_int_equal(count(s, from, SM_ACT_EXIT), 0);
	assert_int_equal(s->pool.phase, SM_PHASE_BOOT);
	sm_pool_ready(&s->pool, pid_of(s, 1, 0), 6);
	from = run(s, 6);
	assert_int_equal(count(s, from, SM_ACT_BOOTED), 1);
	sim_free(s);
}

/* The Nth start failure in a row of one slot stops the pool: one reason
 * naming the slot, the count, the last exit and the last stderr line. */
static void crash_loop_limit(void **state)
{
	struct sim *s = sim_new(2, 8, false, 60);
	struct sm_exit_info info;
	const struct sm_action *a;
	double t = 0;
	size_t from;
	int i;

	(void)state;
	s->pool.params.start_retries = 3;
	s->pool.params.ready_alive = 1;
	run(s, t);
	for (i = 1; i <= 2; i++) {
		assert_int_equal(
		    sm_pool_exited(&s->pool, pid_of(s, 1, 0), STATUS_3, "boom", t + 0.01, &info),
		    0);
		assert_int_equal(info.failures, i);
		run(s, t + 0.01);
		t = s->next;
		from = run(s, t);
		assert_int_equal(count(s, from, SM_ACT_SPAWN), 1);
	}
	assert_int_equal(
	    sm_pool_exited(&s->pool, pid_of(s, 1, 0), STATUS_3, "boom", t + 0.01, &info), 0);
	assert_true(info.restart_in < 0);
	from = run(s, t + 0.01);
	assert_int_equal(count(s, from, SM_ACT_SPAWN), 0);
	exit_signalled(s, from, t + 0.02);
	from = run(s, t + 0.02);
	a = find(s, from, SM_ACT_EXIT);
	assert_non_null(a);
	assert_int_equal(a->code, EX_UNAVAILABLE);
	assert_string_equal(a->reason, "worker 1: 3 start failures in a row, the last exited with "
	                               "status 3; its last stderr line: boom");
	sim_free(s);

	/* 0 = forever */
	s = sim_new(1, 8, true, 0);
	s->pool.params.start_retries = 0;
	run(s, 0);
	for (i = 0, t = 0; i < 50; i++) {
		assert_true(exit_pid(s, pid_of(s, 1, 0), t + 0.01) > 0);
		run(s, t + 0.01);
		t = s->next;
		run(s, t);
	}
	assert_int_equal(s->pool.phase, SM_PHASE_RUNNING);
	sim_free(s);
}

/* After the first start, a fork or descriptor failure (the system's) is
 * retried with the backoff and never counted; an exec failure (the app's)
 * is a start failure. */
static void spawn_failures_after_boot(void **state)
{
	struct sim *s = sim_new(1, 8, true, 0);
	double t = 0;
	int i;

	(void)state;
	s->pool.params.start_retries = 2;
	run(s, 0);
	exit_pid(s, pid_of(s, 1, 0), 5); /* ran 5 s: back at once */
	for (i = 0; i < 10; i++) {
		struct sm_action a;
		double next;
		assert_int_equal(sm_pool_step(&s->pool, 5 + t, &a, 1, &next), 1);
		assert_int_equal(a.type, SM_ACT_SPAWN);
		sm_pool_spawn_failed(&s->pool, 1, 0, "cannot fork", false, 5 + t);
		(void)sm_pool_step(&s->pool, 5 + t, &a, 1, &next);
		t = next - 5;
	}
	assert_int_equal(s->pool.phase, SM_PHASE_RUNNING);
	assert_int_equal(s->pool.slots[1].failures, 0);
	s->fail_slot = 1; /* now exec fails: two in a row stop it */
	run(s, 5 + t);
	run(s, s->next);
	assert_int_equal(s->pool.phase, SM_PHASE_STOPPING);
	assert_non_null(strstr(s->pool.reason, "2 start failures in a row"));
	sim_free(s);
}

/* A worker that died after it was ready is a crash, never counted; one
 * that was ready and ran 10 s clears the count. */
static void start_failures_reset(void **state)
{
	struct sim *s = sim_new(1, 8, false, 60);
	struct sm_exit_info info;
	double t = 0;
	int i;

	(void)state;
	s->pool.params.start_retries = 3;
	s->pool.params.ready_alive = 0.5;
	run(s, t);
	for (i = 0; i < 2; i++) { /* two start failures */
		assert_int_equal(
		    sm_pool_exited(&s->pool, pid_of(s, 1, 0), STATUS_3, NULL, t + 0.1, &info), 0);
		run(s, t + 0.1);
		t = s->next;
		run(s, t);
	}
	assert_int_equal(info.failures, 2);
	run(s, t + 0.5); /* alive 0.5 s: ready */
	t += 0.6;
	assert_int_equal(s->pool.workers[0].state, SM_WORKER_READY);
	/* a crash after ready: not counted, the count stays */
	assert_int_equal(sm_pool_exited(&s->pool, pid_of(s, 1, 0), STATUS_3, NULL, t, &info), 0);
	assert_false(info.start_failure);
	assert_int_equal(info.failures, 0);
	assert_int_equal(s->pool.slots[1].failures, 2);
	t += info.restart_in;
	run(s, t);
	run(s, t + 0.5);
	/* ready and 10 s: cleared */
	t += 11;
	assert_int_equal(sm_pool_exited(&s->pool, pid_of(s, 1, 0), STATUS_3, NULL, t, &info), 0);
	assert_int_equal(s->pool.slots[1].failures, 0);
	assert_true(info.restart_in == 0);
	run(s, t);
	assert_int_equal(sm_pool_exited(&s->pool, pid_of(s, 1, 0), STATUS_3, NULL, t + 0.1, &info),
	                 0);
	assert_int_equal(info.failures, 1);
	assert_int_equal(s->pool.phase, SM_PHASE_RUNNING);
	sim_free(s);
}

/* A first worker that ran past the early window is restarted, not fatal;
 * neither is a later worker of a slot added after the boot. */
static void late_death_is_restarted(void **state)
{
	struct sim *s = sim_new(1, 8, true, 0);
	size_t from;

	(void)state;
	run(s, 0);
	assert_true(exit_pid(s, pid_of(s, 1, 0), 1.5) == 0);
	from = run(s, 1.5);
	assert_int_equal(count(s, from, SM_ACT_SPAWN), 1);
	assert_int_equal(count(s, from, SM_ACT_EXIT), 0);
	sm_pool_scale(&s->pool, 1);
	run(s, 2);
	assert_true(exit_pid(s, pid_of(s, 2, 0), 2.01) > 0); /* backoff, not exit 69 */
	from = run(s, 2.01);
	assert_int_equal(count(s, from, SM_ACT_EXIT), 0);
	sim_free(s);
}

/* ---- restart ---- */

static void restart_in_same_slot_with_backoff(void **state)
{
	struct sim *s = sim_new(3, 8, true, 0);
	double t = 0, delay;
	const struct sm_action *a;
	size_t from;
	pid_t old;

	(void)state;
	run(s, t);
	t = 20; /* well past the boot */
	old = pid_of(s, 2, 0);
	assert_true(exit_pid(s, old, t) == 0); /* ran 20 s: back at once */
	from = run(s, t);
	a = find(s, from, SM_ACT_SPAWN);
	assert_non_null(a);
	assert_int_equal(a->slot, 2);
	assert_int_equal(a->generation, 0);
	assert_int_equal(count(s, from, SM_ACT_SPAWN), 1);
	assert_true(pid_of(s, 2, 0) != old);
	assert_true(isinf(s->next));
	/* a crash loop: 0.1, 0.2, 0.4 ... */
	for (delay = 0.1; delay < 1; delay *= 2) {
		double in = exit_pid(s, pid_of(s, 2, 0), t + 0.01);
		assert_true(fabs(in - delay) < 1e-9);
		t += 0.01;
		from = run(s, t);
		assert_int_equal(count(s, from, SM_ACT_SPAWN), 0);
		assert_true(fabs(s->next - (t + delay)) < 1e-9);
		from = run(s, t + delay - 0.001);
		assert_int_equal(count(s, from, SM_ACT_SPAWN), 0);
		t += delay;
		from = run(s, t);
		assert_int_equal(count(s, from, SM_ACT_SPAWN), 1);
		assert_int_equal(find(s, from, SM_ACT_SPAWN)->slot, 2);
	}
	/* the other slots were never touched */
	assert_int_equal(s->pool.n_workers, 3);
	/* ten good seconds reset the schedule */
	assert_true(exit_pid(s, pid_of(s, 2, 0), t + 10) == 0);
	run(s, t + 10);
	assert_true(fabs(exit_pid(s, pid_of(s, 2, 0), t + 10.1) - 0.1) < 1e-9);
	sim_free(s);
}

static void unknown_pid_is_not_a_worker(void **state)
{
	struct sim *s = sim_new(1, 8, true, 0);
	struct sm_exit_info info;

	(void)state;
	run(s, 0);
	assert_int_equal(sm_pool_exited(&s->pool, 4242, 0, NULL, 1, &info), -1);
	assert_int_equal(s->pool.n_workers, 1);
	sim_free(s);
}

/* ---- scaling ---- */

static void scale_bounds_and_highest_slot(void **state)
{
	struct sim *s = sim_new(2, 3, true, 0);
	const struct sm_action *a;
	struct sm_exit_info info;
	size_t from;
	pid_t p3;

	(void)state;
	run(s, 0);
	sm_pool_scale(&s->pool, 1);
	from = run(s, 1);
	a = find(s, from, SM_ACT_SPAWN);
	assert_non_null(a);
	assert_int_equal(a->slot, 3);
	sm_pool_scale(&s->pool, 1); /* above --max-workers: ignored */
	from = run(s, 1);
	assert_int_equal(s->pool.target, 3);
	assert_int_equal(count(s, from, SM_ACT_SPAWN), 0);
	p3 = pid_of(s, 3, 0);
	sm_pool_scale(&s->pool, -1);
	from = run(s, 2);
	assert_int_equal(count(s, from, SM_ACT_SIGNAL), 1);
	a = find(s, from, SM_ACT_SIGNAL);
	assert_int_equal(a->slot, 3); /* the highest slot goes */
	assert_int_equal(a->pid, p3);
	assert_int_equal(a->sig, SIGTERM);
	assert_true(s->next == 32); /* graceful timeout */
	assert_int_equal(sm_pool_exited(&s->pool, p3, KILLED_15, NULL, 2.5, &info), 0);
	assert_true(info.expected);
	assert_true(info.restart_in < 0);
	from = run(s, 2.5);
	assert_int_equal(count(s, from, SM_ACT_SPAWN), 0);
	assert_true(isinf(s->next));
	sm_pool_scale(&s->pool, -1);
	sm_pool_scale(&s->pool, -1);
	sm_pool_scale(&s->pool, -1);
	assert_int_equal(s->pool.target, 1); /* never below 1 */
	from = run(s, 3);
	assert_int_equal(count(s, from, SM_ACT_SIGNAL), 1);
	assert_int_equal(find(s, from, SM_ACT_SIGNAL)->slot, 2);
	sim_free(s);
}

/* ---- shutdown ---- */

static void graceful_shutdown(void **state)
{
	struct sim *s = sim_new(2, 8, true, 0);
	size_t from, i;

	(void)state;
	s->pool.params.stop_signal = SIGQUIT;
	s->pool.params.graceful_timeout = 5;
	run(s, 0);
	sm_pool_shutdown(&s->pool, false, 10);
	sm_pool_scale(&s->pool, 1); /* no scaling while stopping */
	sm_pool_reload(&s->pool);   /* nor reloads */
	from = run(s, 10);
	assert_int_equal(count(s, from, SM_ACT_SIGNAL), 2);
	for (i = from; i < s->n_log; i++)
		assert_int_equal(s->log[i].sig, SIGQUIT);
	assert_true(s->next == 15);
	exit_pid(s, find(s, from, SM_ACT_SIGNAL)->pid, 11);
	from = run(s, 14.9);
	assert_int_equal(count(s, from, SM_ACT_KILL), 0);
	assert_int_equal(count(s, from, SM_ACT_EXIT), 0);
	from = run(s, 15);
	assert_int_equal(count(s, from, SM_ACT_KILL), 1);
	assert_int_equal(count(s, from, SM_ACT_SPAWN), 0);
	exit_signalled(s, from, 15.01);
	from = run(s, 15.01);
	assert_int_equal(count(s, from, SM_ACT_EXIT), 1);
	assert_int_equal(find(s, from, SM_ACT_EXIT)->code, 0);
	assert_string_equal(find(s, from, SM_ACT_EXIT)->reason, "");
	sim_free(s);
}

static void quick_shutdown(void **state)
{
	struct sim *s = sim_new(2, 8, true, 0);
	size_t from;

	(void)state;
	s->pool.params.stop_signal = SIGUSR1;
	run(s, 0);
	sm_pool_shutdown(&s->pool, true, 3);
	from = run(s, 3);
	assert_int_equal(count(s, from, SM_ACT_SIGNAL), 2);
	assert_int_equal(find(s, from, SM_ACT_SIGNAL)->sig, SIGTERM); /* not the stop signal */
	assert_true(s->next == 4);
	from = run(s, 4);
	assert_int_equal(count(s, from, SM_ACT_KILL), 2);
	exit_signalled(s, from, 4);
	from = run(s, 4);
	assert_int_equal(count(s, from, SM_ACT_EXIT), 1);
	sim_free(s);
}

static void second_shutdown_turns_quick(void **state)
{
	struct sim *s = sim_new(1, 8, true, 0);
	size_t from;

	(void)state;
	s->pool.params.stop_signal = SIGUSR2;
	run(s, 0);
	sm_pool_shutdown(&s->pool, false, 10);
	from = run(s, 10);
	assert_int_equal(find(s, from, SM_ACT_SIGNAL)->sig, SIGUSR2);
	assert_true(s->next == 40);
	sm_pool_shutdown(&s->pool, true, 12);
	from = run(s, 12);
	/* the quick stop sends TERM now and kills one second later */
	assert_int_equal(count(s, from, SM_ACT_SIGNAL), 1);
	assert_int_equal(find(s, from, SM_ACT_SIGNAL)->sig, SIGTERM);
	assert_true(s->next == 13);
	sm_pool_shutdown(&s->pool, true, 12.5); /* a third one changes nothing */
	from = run(s, 12.5);
	assert_int_equal(s->n_log, from);
	assert_true(s->next == 13);
	from = run(s, 13);
	assert_int_equal(count(s, from, SM_ACT_KILL), 1);
	sim_free(s);
}

static void shutdown_during_boot(void **state)
{
	struct sim *s = sim_new(2, 8, false, 10);
	size_t from;

	(void)state;
	run(s, 0);
	sm_pool_shutdown(&s->pool, false, 1);
	from = run(s, 1);
	assert_int_equal(count(s, from, SM_ACT_SIGNAL), 2);
	exit_signalled(s, from, 2);
	from = run(s, 2);
	assert_int_equal(count(s, from, SM_ACT_BOOTED), 0);
	assert_int_equal(find(s, from, SM_ACT_EXIT)->code, 0);
	sim_free(s);
}

/* ---- reload ---- */

static void reload_replaces_generation_when_all_ready(void **state)
{
	struct sim *s = sim_new(2, 8, false, 10);
	size_t from;
	pid_t old1, old2;

	(void)state;
	run(s, 0);
	sm_pool_ready(&s->pool, pid_of(s, 1, 0), 0);
	sm_pool_ready(&s->pool, pid_of(s, 2, 0), 0);
	run(s, 0);
	old1 = pid_of(s, 1, 0);
	old2 = pid_of(s, 2, 0);
	sm_pool_reload(&s->pool);
	from = run(s, 20);
	assert_int_equal(s->log[from].type, SM_ACT_RELOAD_START);
	assert_int_equal(count(s, from, SM_ACT_SPAWN), 2);
	assert_int_equal(find(s, from, SM_ACT_SPAWN)->generation, 1);
	assert_int_equal(count(s, from, SM_ACT_SIGNAL), 0);
	sm_pool_ready(&s->pool, pid_of(s, 2, 1), 21);
	from = run(s, 21);
	assert_int_equal(count(s, from, SM_ACT_SIGNAL), 0); /* one is not enough */
	assert_int_equal(count(s, from, SM_ACT_RELOADED), 0);
	sm_pool_ready(&s->pool, pid_of(s, 1, 1), 22);
	from = run(s, 22);
	assert_int_equal(s->log[from].type, SM_ACT_RELOADED);
	assert_int_equal(count(s, from, SM_ACT_SIGNAL), 2);
	assert_true(s->log[from + 1].pid == old1 || s->log[from + 1].pid == old2);
	assert_int_equal(s->pool.serving_gen, 1);
	exit_signalled(s, from, 23);
	from = run(s, 23);
	assert_int_equal(count(s, from, SM_ACT_SPAWN), 0); /* old ones are not replaced */
	assert_int_equal(s->pool.n_workers, 2);
	assert_true(isinf(s->next));
	sim_free(s);
}

static void reload_rolls_back_on_failure(void **state)
{
	struct sim *s = sim_new(2, 8, false, 10);
	const struct sm_action *a;
	size_t from;
	pid_t new1;

	(void)state;
	run(s, 0);
	sm_pool_ready(&s->pool, pid_of(s, 1, 0), 0);
	sm_pool_ready(&s->pool, pid_of(s, 2, 0), 0);
	run(s, 0);
	sm_pool_reload(&s->pool);
	run(s, 20);
	new1 = pid_of(s, 1, 1);
	sm_pool_ready(&s->pool, pid_of(s, 2, 1), 21);
	assert_true(exit_pid(s, new1, 21) < 0); /* not restarted */
	from = run(s, 21);
	a = find(s, from, SM_ACT_ROLLED_BACK);
	assert_non_null(a);
	assert_non_null(strstr(a->reason, "before it was ready"));
	assert_int_equal(count(s, from, SM_ACT_SIGNAL), 1); /* the new worker 2 */
	assert_int_equal(find(s, from, SM_ACT_SIGNAL)->generation, 1);
	assert_int_equal(count(s, from, SM_ACT_SPAWN), 0);
	assert_int_equal(s->pool.serving_gen, 0);
	assert_false(s->pool.reloading);
	exit_signalled(s, from, 22);
	run(s, 22);
	assert_int_equal(s->pool.n_workers, 2);
	assert_true(pid_of(s, 1, 0) > 0 && pid_of(s, 2, 0) > 0);

	/* an exec failure of the new generation rolls back too */
	s->fail_slot = 1;
	s->fail_gen = 2;
	sm_pool_reload(&s->pool);
	from = run(s, 30);
	a = find(s, from, SM_ACT_ROLLED_BACK);
	assert_non_null(a);
	assert_string_equal(a->reason, NO_EXEC);
	exit_signalled(s, from, 31);
	run(s, 31);
	assert_int_equal(s->pool.serving_gen, 0);
	assert_int_equal(s->pool.n_workers, 2);
	sim_free(s);
}

static void reload_abort_changes_nothing(void **state)
{
	struct sim *s = sim_new(1, 8, true, 0);
	size_t from;

	(void)state;
	run(s, 0);
	sm_pool_reload(&s->pool);
	from = s->n_log;
	{
		struct sm_action a;
		double next;
		assert_int_equal(sm_pool_step(&s->pool, 1, &a, 1, &next), 1);
		assert_int_equal(a.type, SM_ACT_RELOAD_START);
	}
	sm_pool_reload_abort(&s->pool);
	from = run(s, 1);
	assert_int_equal(s->n_log, from);
	assert_int_equal(s->pool.serving_gen, 0);
	assert_int_equal(s->pool.n_workers, 1);
	sim_free(s);
}

static void reloads_are_coalesced(void **state)
{
	struct sim *s = sim_new(1, 8, false, 10);
	size_t from;

	(void)state;
	run(s, 0);
	sm_pool_reload(&s->pool); /* during the boot: one after it */
	sm_pool_ready(&s->pool, pid_of(s, 1, 0), 1);
	from = run(s, 1);
	assert_int_equal(count(s, from, SM_ACT_BOOTED), 1);
	assert_int_equal(count(s, from, SM_ACT_RELOAD_START), 1);
	sm_pool_reload(&s->pool);
	sm_pool_reload(&s->pool);
	sm_pool_reload(&s->pool);
	from = run(s, 2);
	assert_int_equal(count(s, from, SM_ACT_RELOAD_START), 0);
	sm_pool_ready(&s->pool, pid_of(s, 1, s->pool.pending_gen), 3);
	from = run(s, 3);
	assert_int_equal(count(s, from, SM_ACT_RELOADED), 1);
	assert_int_equal(count(s, from, SM_ACT_RELOAD_START), 1); /* exactly one more */
	sm_pool_ready(&s->pool, pid_of(s, 1, s->pool.pending_gen), 4);
	from = run(s, 4);
	assert_int_equal(count(s, from, SM_ACT_RELOADED), 1);
	assert_int_equal(count(s, from, SM_ACT_RELOAD_START), 0);
	assert_int_equal(s->pool.serving_gen, 2);
	sim_free(s);
}

/* ---- timeouts ---- */

static void ready_timeout(void **state)
{
	struct sim *s = sim_new(1, 8, false, 5);
	const struct sm_action *a;
	size_t from;

	(void)state;
	run(s, 0);
	from = run(s, 4.99);
	assert_int_equal(s->n_log, from);
	from = run(s, 5);
	a = find(s, from, SM_ACT_KILL);
	assert_non_null(a);
	assert_non_null(strstr(a->reason, "not ready after 5 s"));
	exit_signalled(s, from, 5.01);
	from = run(s, 5.01);
	a = find(s, from, SM_ACT_EXIT);
	assert_non_null(a);
	assert_int_equal(a->code, EX_UNAVAILABLE);
	assert_non_null(strstr(a->reason, "not ready after 5 s"));
	sim_free(s);

	/* in a reload: rolled back, the old generation keeps serving */
	s = sim_new(1, 8, false, 5);
	run(s, 0);
	sm_pool_ready(&s->pool, pid_of(s, 1, 0), 1);
	run(s, 1);
	sm_pool_reload(&s->pool);
	run(s, 10);
	from = run(s, 15);
	assert_non_null(find(s, from, SM_ACT_KILL));
	assert_non_null(find(s, from, SM_ACT_ROLLED_BACK));
	exit_signalled(s, from, 15.1);
	from = run(s, 15.1);
	assert_int_equal(count(s, from, SM_ACT_SPAWN), 0);
	assert_int_equal(s->pool.n_workers, 1);
	assert_int_equal(s->pool.phase, SM_PHASE_RUNNING);
	sim_free(s);
}

static void watchdog_kill(void **state)
{
	struct sim *s = sim_new(1, 8, true, 0);
	const struct sm_action *a;
	size_t from;
	pid_t p;

	(void)state;
	s->pool.params.watchdog_timeout = 3;
	run(s, 0);
	p = pid_of(s, 1, 0);
	assert_true(s->next == 3); /* the warning: no WATCHDOG=1 yet */
	from = run(s, 3);
	a = find(s, from, SM_ACT_WARN);
	assert_non_null(a);
	assert_non_null(strstr(a->reason, "no WATCHDOG=1"));
	assert_int_equal(count(s, from, SM_ACT_KILL), 0);
	assert_true(isinf(s->next)); /* said once, then silent until a first WATCHDOG=1 */
	assert_int_equal(sm_pool_watchdog(&s->pool, p, 20), 0);
	run(s, 20);
	assert_true(s->next == 23);
	assert_int_equal(sm_pool_watchdog(&s->pool, p, 22), 0);
	from = run(s, 23);
	assert_int_equal(s->n_log, from);
	assert_true(s->next == 25);
	from = run(s, 25);
	a = find(s, from, SM_ACT_KILL);
	assert_non_null(a);
	assert_int_equal(a->pid, p);
	assert_non_null(strstr(a->reason, "WATCHDOG=1"));
	assert_true(exit_pid(s, p, 25.1) == 0); /* it ran 25 s: back at once */
	from = run(s, 25.1);
	assert_int_equal(count(s, from, SM_ACT_SPAWN), 1);
	assert_int_equal(sm_pool_watchdog(&s->pool, 99999, 26), -1);
	sim_free(s);
	/* without --timeout the messages are ignored */
	s = sim_new(1, 8, true, 0);
	run(s, 0);
	assert_int_equal(sm_pool_watchdog(&s->pool, pid_of(s, 1, 0), 1), -1);
	sim_free(s);
}

/* Two workers silent past --timeout are killed in the same step: each
 * KILL names its own worker, not the last one's. */
static void two_kills_in_one_step(void **state)
{
	struct sim *s = sim_new(2, 8, true, 0);
	const struct sm_action *a;
	char want[2][128];
	pid_t p[2];
	size_t from, i;

	(void)state;
	s->pool.params.watchdog_timeout = 3;
	run(s, 0);
	for (i = 0; i < 2; i++) {
		p[i] = pid_of(s, (int)i + 1, 0);
		assert_int_equal(sm_pool_watchdog(&s->pool, p[i], 20), 0);
		snprintf(want[i], sizeof(want[i]), "worker %d (pid %ld) sent no WATCHDOG=1 for 3 s",
		         (int)i + 1, (long)p[i]);
	}
	from = run(s, 23);
	assert_int_equal(count(s, from, SM_ACT_KILL), 2);
	for (i = from; i < s->n_log; i++) {
		a = &s->log[i];
		if (a->type != SM_ACT_KILL)
			continue;
		assert_true(a->pid == p[0] || a->pid == p[1]);
		assert_string_equal(a->reason, want[a->pid == p[0] ? 0 : 1]);
	}
	sim_free(s);
}

/* The iterator gives every forked worker once, and no SPAWNING one. */
static void iterate_live_workers(void **state)
{
	struct sim *s = sim_new(3, 8, true, 0);
	const struct sm_worker *w;
	size_t iter = 0, n = 0;

	(void)state;
	run(s, 0);
	while ((w = sm_pool_next_worker(&s->pool, &iter)) != NULL) {
		assert_true(w->pid > 0);
		assert_int_equal(w->pid, pid_of(s, w->slot, 0));
		n++;
	}
	assert_int_equal(n, 3);
	assert_int_equal(sm_pool_live(&s->pool), 3);
	sim_free(s);
}

/* A reload's settings: everything but the slot table's size and target. */
static void set_params_keeps_size(void **state)
{
	struct sim *s = sim_new(2, 8, false, 5);
	struct sm_pool_params p = {
	    .workers = 7,
	    .max_workers = 99,
	    .stop_signal = SIGINT,
	    .graceful_timeout = 4,
	    .ready_timeout = 9,
	    .watchdog_timeout = 2,
	    .ready_on_exec = true,
	};

	(void)state;
	sm_pool_set_params(&s->pool, &p);
	assert_int_equal(s->pool.params.max_workers, 8);
	assert_int_equal(s->pool.params.stop_signal, SIGINT);
	assert_true(s->pool.params.ready_timeout == 9);
	assert_true(s->pool.params.ready_on_exec);
	assert_int_equal(sm_pool_target(&s->pool), 2);
	assert_int_equal(sm_pool_phase(&s->pool), SM_PHASE_BOOT);
	sim_free(s);
}

/* ---- readiness by staying alive ---- */

/* alive:SEC: ready after SEC, or earlier by READY=1; the only timer is the
 * one of a starting worker. */
static void alive_readiness(void **state)
{
	struct sim *s = sim_new(2, 8, false, 60);
	size_t from;

	(void)state;
	s->pool.params.ready_alive = 1;
	run(s, 0);
	assert_true(s->next == 1);
	assert_int_equal(sm_pool_ready(&s->pool, pid_of(s, 2, 0), 0.2), 0);
	from = run(s, 0.2);
	assert_int_equal(count(s, from, SM_ACT_BOOTED), 0);
	assert_true(s->next == 1);
	from = run(s, 1);
	assert_int_equal(count(s, from, SM_ACT_BOOTED), 1);
	assert_true(isinf(s->next)); /* idle: no timer */
	/* a death at 0.3 s is before ready: a start failure */
	{
		struct sm_exit_info info;
		run(s, 5);
		assert_int_equal(
		    sm_pool_exited(&s->pool, pid_of(s, 1, 0), STATUS_3, NULL, 5, &info), 0);
		assert_true(info.restart_in == 0);
		run(s, 5);
		assert_int_equal(
		    sm_pool_exited(&s->pool, pid_of(s, 1, 0), STATUS_3, NULL, 5.3, &info), 0);
		assert_true(info.start_failure);
	}
	sim_free(s);
}

/* A release dying at 0.3 s under alive:1 rolls the reload back. */
static void alive_reload_rolls_back(void **state)
{
	struct sim *s = sim_new(2, 8, false, 60);
	size_t from;

	(void)state;
	s->pool.params.ready_alive = 1;
	run(s, 0);
	run(s, 1);
	sm_pool_reload(&s->pool);
	run(s, 10);
	assert_true(exit_pid(s, pid_of(s, 1, 1), 10.3) < 0);
	from = run(s, 10.3);
	assert_non_null(find(s, from, SM_ACT_ROLLED_BACK));
	assert_int_equal(s->pool.serving_gen, 0);
	assert_int_equal(sm_pool_counters(&s->pool)->reloads_failed, 1);
	assert_int_equal(sm_pool_counters(&s->pool)->start_failures, 0); /* not counted */
	exit_signalled(s, from, 10.4);
	run(s, 10.4);
	/* the next reload gets a new number */
	sm_pool_reload(&s->pool);
	run(s, 11);
	assert_int_equal(s->pool.pending_gen, 2);
	sim_free(s);
}

/* After the first start, not ready by --ready-timeout is a start failure
 * of the slot: killed, counted, restarted. */
static void ready_timeout_later_is_start_failure(void **state)
{
	struct sim *s = sim_new(1, 8, false, 5);
	struct sm_exit_info info;
	size_t from;

	(void)state;
	run(s, 0);
	sm_pool_ready(&s->pool, pid_of(s, 1, 0), 1);
	run(s, 1);
	assert_true(exit_pid(s, pid_of(s, 1, 0), 20) == 0);
	run(s, 20);
	from = run(s, 25);
	assert_non_null(find(s, from, SM_ACT_KILL));
	assert_int_equal(count(s, from, SM_ACT_EXIT), 0);
	assert_int_equal(
	    sm_pool_exited(&s->pool, find(s, from, SM_ACT_KILL)->pid, 9, NULL, 25, &info), 0);
	assert_true(info.start_failure);
	assert_int_equal(info.failures, 1);
	assert_int_equal(sm_pool_counters(&s->pool)->exits[SM_EXIT_TIMEOUT], 1);
	from = run(s, 25);
	assert_int_equal(count(s, from, SM_ACT_SPAWN), 1);
	sim_free(s);
}

/* ---- planned exits ---- */

static void planned_exit(void **state)
{
	struct sim *s = sim_new(2, 8, true, 0);
	struct sm_exit_info info;
	size_t from;
	pid_t old;

	(void)state;
	run(s, 0);
	old = pid_of(s, 2, 0);
	assert_int_equal(sm_pool_stopping(&s->pool, old, 50), 0);
	assert_int_equal(sm_pool_stopping(&s->pool, old, 50), -1); /* once */
	from = run(s, 50);
	assert_int_equal(count(s, from, SM_ACT_SPAWN), 1); /* the replacement, at once */
	assert_int_equal(find(s, from, SM_ACT_SPAWN)->slot, 2);
	assert_int_equal(count(s, from, SM_ACT_SIGNAL), 0); /* it is leaving by itself */
	assert_true(s->next == 80);                         /* --graceful-timeout runs */
	assert_int_equal(sm_pool_exited(&s->pool, old, 0, NULL, 51, &info), 0);
	assert_true(info.expected && info.planned);
	assert_true(info.restart_in < 0);
	assert_int_equal(sm_pool_counters(&s->pool)->exits[SM_EXIT_RECYCLED], 1);
	from = run(s, 51);
	assert_int_equal(count(s, from, SM_ACT_SPAWN), 0);
	assert_int_equal(s->pool.n_workers, 2);
	/* one being stopped changes nothing by saying so */
	sm_pool_scale(&s->pool, -1);
	from = run(s, 52);
	assert_int_equal(count(s, from, SM_ACT_SIGNAL), 1);
	assert_int_equal(sm_pool_stopping(&s->pool, find(s, from, SM_ACT_SIGNAL)->pid, 52), -1);
	/* nor one not ready yet */
	s->pool.params.ready_on_exec = false;
	assert_true(exit_pid(s, pid_of(s, 1, 0), 60) == 0);
	run(s, 60);
	assert_int_equal(sm_pool_stopping(&s->pool, pid_of(s, 1, 0), 60), -1);
	sim_free(s);
}

/* ---- recycling ---- */

/* Every slot in turn, one at a time; the old worker is stopped only once
 * its replacement is ready; never fewer ready workers than wanted. */
static void recycling_one_at_a_time(void **state)
{
	struct sim *s = sim_new(3, 8, false, 60);
	struct sm_pool_summary sum;
	double t = 0;
	int round, recycled = 0;

	(void)state;
	s->pool.params.max_age = 10;
	s->pool.params.seed = 42;
	s->pool.rng = 42;
	run(s, 0);
	for (size_t i = 0; i < s->pool.n_workers; i++)
		sm_pool_ready(&s->pool, s->pool.workers[i].pid, 0);
	run(s, 0);
	assert_true(s->next >= 9 && s->next <= 10); /* the jittered age */
	for (round = 0; round < 40 && recycled < 6; round++) {
		size_t from, i;
		int starting = 0;

		for (i = 0; i < s->pool.n_workers; i++)
			starting += s->pool.workers[i].state == SM_WORKER_STARTING;
		assert_true(starting <= 1); /* one slot at a time */
		if (starting == 0) {
			t = s->next; /* the next age due */
			from = run(s, t);
			continue;
		}
		/* the old one still serves until the new one is ready */
		sm_pool_summary(&s->pool, t, &sum);
		assert_true(sum.ready >= 3);
		assert_int_equal(s->pool.n_workers, 4);
		t += 0.5;
		for (i = 0; i < s->pool.n_workers; i++)
			if (s->pool.workers[i].state == SM_WORKER_STARTING)
				sm_pool_ready(&s->pool, s->pool.workers[i].pid, t);
		from = run(s, t);
		assert_int_equal(count(s, from, SM_ACT_SIGNAL), 1);
		exit_signalled(s, from, t + 0.1);
		run(s, t + 0.1);
		recycled++;
	}
	assert_int_equal(recycled, 6);
	assert_int_equal(sm_pool_counters(&s->pool)->exits[SM_EXIT_RECYCLED], 6);
	assert_int_equal(sm_pool_counters(&s->pool)->restarts, 0);
	/* each slot its own limit, below 10 s and not below 9 s */
	for (int slot = 1; slot <= 3; slot++)
		assert_true(s->pool.slots[slot].age_limit >= 9 &&
		            s->pool.slots[slot].age_limit <= 10);
	assert_true(s->pool.slots[1].age_limit != s->pool.slots[2].age_limit);
	sim_free(s);
}

/* Over --max-worker-rss: due at once; a TTOU of the slot stops both of
 * its processes; a reload pauses recycling. */
static void recycle_rss_ttou_and_reload(void **state)
{
	struct sim *s = sim_new(2, 8, true, 0);
	size_t from;
	pid_t old;

	(void)state;
	run(s, 0);
	old = pid_of(s, 2, 0);
	assert_int_equal(sm_pool_recycle(&s->pool, old), 0);
	assert_int_equal(sm_pool_recycle(&s->pool, old), -1);
	s->pool.params.ready_on_exec = false; /* the replacement stays starting */
	s->pool.params.ready_timeout = 60;
	from = run(s, 1);
	assert_int_equal(count(s, from, SM_ACT_SPAWN), 1);
	assert_int_equal(count(s, from, SM_ACT_SIGNAL), 0);
	sm_pool_scale(&s->pool, -1);
	from = run(s, 2);
	assert_int_equal(count(s, from, SM_ACT_SIGNAL), 2); /* old and new of slot 2 */
	exit_signalled(s, from, 2.1);
	run(s, 2.1);
	assert_int_equal(s->pool.n_workers, 1);
	/* a reload: nothing is recycled meanwhile */
	s->pool.params.max_age = 1;
	sm_pool_reload(&s->pool);
	from = run(s, 30);
	assert_int_equal(count(s, from, SM_ACT_SPAWN), 1);
	assert_int_equal(find(s, from, SM_ACT_SPAWN)->generation, 1);
	assert_false(s->pool.workers[0].recycle || s->pool.workers[1].recycle);
	sim_free(s);
}

/* A replacement made ready by the alive timer inside a step: the worker
 * it replaces gets its stop signal in the same run, not at a later event. */
static void recycle_replacement_ready_by_alive(void **state)
{
	struct sim *s = sim_new(1, 8, false, 60);
	size_t from;
	pid_t old;

	(void)state;
	s->pool.params.ready_alive = 1;
	run(s, 0);
	run(s, 1);
	old = pid_of(s, 1, 0);
	assert_int_equal(sm_pool_recycle(&s->pool, old), 0);
	from = run(s, 10);
	assert_int_equal(count(s, from, SM_ACT_SPAWN), 1);
	assert_true(s->next == 11);
	from = run(s, 11);
	assert_int_equal(count(s, from, SM_ACT_SIGNAL), 1);
	assert_int_equal(find(s, from, SM_ACT_SIGNAL)->pid, old);
	sim_free(s);
}

/* ---- reload sizes and numbers ---- */

/* The re-read size is the new generation's from its start; TTIN during
 * the reload sizes the new one; the serving one keeps its size meanwhile. */
static void reload_size_from_config(void **state)
{
	struct sim *s = sim_new(2, 8, true, 0);
	struct sm_pool_params p;
	size_t from;

	(void)state;
	run(s, 0);
	sm_pool_scale(&s->pool, 3); /* TTIN x3: 5 */
	run(s, 1);
	assert_int_equal(s->pool.n_workers, 5);
	sm_pool_reload(&s->pool);
	{
		struct sm_action a;
		double next;
		assert_int_equal(sm_pool_step(&s->pool, 2, &a, 1, &next), 1);
		assert_int_equal(a.type, SM_ACT_RELOAD_START);
	}
	p = s->pool.params;
	p.workers = 3; /* what the config says */
	sm_pool_set_params(&s->pool, &p);
	assert_int_equal(sm_pool_pending_target(&s->pool), 3);
	assert_int_equal(sm_pool_scale(&s->pool, 1), 4);
	assert_int_equal(sm_pool_target(&s->pool), 5);
	from = run(s, 2);
	assert_int_equal(count(s, from, SM_ACT_SPAWN), 4);
	assert_int_equal(count(s, from, SM_ACT_RELOADED), 1);
	assert_int_equal(sm_pool_target(&s->pool), 4);
	assert_int_equal(count(s, from, SM_ACT_SIGNAL), 5);
	/* capped: the size asked for is returned, the target stays in bounds */
	assert_int_equal(sm_pool_scale(&s->pool, 10), 14);
	assert_int_equal(sm_pool_target(&s->pool), 8);
	sim_free(s);
}

/* A refused reload uses no generation number; a rolled-back one does. */
static void generation_numbers(void **state)
{
	struct sim *s = sim_new(1, 8, true, 0);
	struct sm_action a;
	double next;

	(void)state;
	run(s, 0);
	sm_pool_reload(&s->pool);
	assert_int_equal(sm_pool_step(&s->pool, 1, &a, 1, &next), 1);
	assert_int_equal(sm_pool_generation(&s->pool, true), 1);
	sm_pool_reload_abort(&s->pool);
	assert_int_equal(sm_pool_counters(&s->pool)->reloads_failed, 1);
	sm_pool_reload(&s->pool);
	run(s, 2);
	assert_int_equal(s->pool.serving_gen, 1); /* the number was free again */
	assert_int_equal(sm_pool_counters(&s->pool)->reloads_ok, 1);
	s->fail_slot = 1;
	s->fail_gen = 2;
	sm_pool_reload(&s->pool);
	run(s, 3);
	assert_int_equal(s->pool.serving_gen, 1);
	sm_pool_reload(&s->pool);
	s->fail_slot = 0;
	run(s, 4);
	assert_int_equal(s->pool.serving_gen, 3); /* 2 was used by the rollback */
	sim_free(s);
}

/* What STATUS= says: ready against desired, and a slot waiting. */
static void summary_for_status(void **state)
{
	struct sim *s = sim_new(4, 8, true, 0);
	struct sm_pool_summary sum;
	unsigned long changes;

	(void)state;
	run(s, 0);
	sm_pool_summary(&s->pool, 0, &sum);
	assert_int_equal(sum.ready, 4);
	assert_int_equal(sum.desired, 4);
	changes = sm_pool_changes(&s->pool);
	exit_pid(s, pid_of(s, 2, 0), 0.5);
	assert_true(sm_pool_changes(&s->pool) != changes);
	run(s, 0.5);
	sm_pool_summary(&s->pool, 0.5, &sum);
	assert_int_equal(sum.ready, 3);
	assert_int_equal(sum.restarting_slot, 2);
	assert_true(fabs(sum.restart_in - 0.1) < 1e-9);
	sim_free(s);
}

/* ---- the pid hash ---- */

static void pidmap_against_a_table(void **state)
{
	static long ref[5000];
	struct sm_pidmap m = {0};
	int round;

	(void)state;
	memset(ref, -1, sizeof(ref));
	srand(99);
	assert_int_equal(sm_pidmap_reserve(&m, 2500), 0);
	for (round = 0; round < 200000; round++) {
		pid_t pid = 1 + rand() % 4999;
		int op = rand() % 3;
		if (op == 0 && m.used < 2500) {
			sm_pidmap_put(&m, pid, (uint32_t)round);
			ref[pid] = round;
		} else if (op == 1) {
			sm_pidmap_del(&m, pid);
			ref[pid] = -1;
		} else {
			assert_int_equal(sm_pidmap_get(&m, pid), ref[pid]);
		}
	}
	for (pid_t pid = 1; pid < 5000; pid++)
		assert_int_equal(sm_pidmap_get(&m, pid), ref[pid]);
	assert_int_equal(sm_pidmap_get(&m, 0), -1);
	sm_pidmap_free(&m);
}

/* ---- a storm of random events ---- */

static void check_settled(struct sim *s)
{
	int slot;
	size_t i;

	assert_false(s->pool.reloading);
	assert_int_equal(s->pool.n_workers, (size_t)s->pool.target);
	for (slot = 1; slot <= s->pool.target; slot++)
		assert_true(pid_of(s, slot, s->pool.serving_gen) > 0);
	for (i = 0; i < s->pool.n_workers; i++) {
		assert_int_equal(s->pool.workers[i].generation, s->pool.serving_gen);
		assert_int_equal(s->pool.workers[i].state, SM_WORKER_READY);
		assert_false(s->pool.workers[i].retire);
	}
	assert_true(isinf(s->next));
}

static void storm(bool on_exec)
{
	struct sim *s = sim_new(4, 16, on_exec, 30);
	double t = 0;
	size_t from, i;
	int round;

	srand(1234);
	run(s, t);
	for (i = 0; i < s->pool.n_workers; i++)
		sm_pool_ready(&s->pool, s->pool.workers[i].pid, t);
	for (round = 0; round < 3000; round++) {
		int r = rand() % 10;
		t += 0.001;
		if (r < 3)
			sm_pool_scale(&s->pool, 1);
		else if (r < 6)
			sm_pool_scale(&s->pool, -1);
		else if (r < 8)
			sm_pool_reload(&s->pool);
		from = run(s, t);
		if (s->n_log > 3500)
			s->n_log = 0, from = 0; /* only this round's actions matter */
		/* some asked-to-stop workers go now, new ones get ready */
		for (i = from; i < s->n_log; i++)
			if (s->log[i].type == SM_ACT_SIGNAL && rand() % 2 == 0) {
				struct sm_exit_info info;
				(void)sm_pool_exited(&s->pool, s->log[i].pid, 0, NULL, t, &info);
			}
		for (i = 0; i < s->pool.n_workers; i++)
			if (s->pool.workers[i].state == SM_WORKER_STARTING && rand() % 2 == 0)
				sm_pool_ready(&s->pool, s->pool.workers[i].pid, t);
		assert_true(s->pool.target >= 1 && s->pool.target <= 16);
	}
	/* quiet: everything still asked to stop exits, every new one is ready */
	for (round = 0; round < 50; round++) {
		struct sm_exit_info info;
		t += 0.01;
		s->n_log = 0;
		run(s, t);
		for (i = 0; i < s->pool.n_workers; i++) {
			struct sm_worker *w = &s->pool.workers[i];
			if (w->state == SM_WORKER_STARTING)
				sm_pool_ready(&s->pool, w->pid, t);
			else if (w->state == SM_WORKER_STOPPING) {
				(void)sm_pool_exited(&s->pool, w->pid, 0, NULL, t, &info);
				i = (size_t)-1; /* the table moved: start over */
			}
		}
	}
	s->n_log = 0;
	run(s, t + 100);
	check_settled(s);
	sim_free(s);
}

static void storm_exec(void **state)
{
	(void)state;
	storm(true);
}

static void storm_notify(void **state)
{
	(void)state;
	storm(false);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(backoff_schedule),
	    cmocka_unit_test(boot_exec),
	    cmocka_unit_test(boot_notify),
	    cmocka_unit_test(boot_fails_on_spawn_failure),
	    cmocka_unit_test(early_death_at_boot_is_restarted),
	    cmocka_unit_test(crash_loop_limit),
	    cmocka_unit_test(start_failures_reset),
	    cmocka_unit_test(spawn_failures_after_boot),
	    cmocka_unit_test(late_death_is_restarted),
	    cmocka_unit_test(restart_in_same_slot_with_backoff),
	    cmocka_unit_test(unknown_pid_is_not_a_worker),
	    cmocka_unit_test(scale_bounds_and_highest_slot),
	    cmocka_unit_test(graceful_shutdown),
	    cmocka_unit_test(quick_shutdown),
	    cmocka_unit_test(second_shutdown_turns_quick),
	    cmocka_unit_test(shutdown_during_boot),
	    cmocka_unit_test(reload_replaces_generation_when_all_ready),
	    cmocka_unit_test(reload_rolls_back_on_failure),
	    cmocka_unit_test(reload_abort_changes_nothing),
	    cmocka_unit_test(reloads_are_coalesced),
	    cmocka_unit_test(ready_timeout),
	    cmocka_unit_test(watchdog_kill),
	    cmocka_unit_test(two_kills_in_one_step),
	    cmocka_unit_test(iterate_live_workers),
	    cmocka_unit_test(set_params_keeps_size),
	    cmocka_unit_test(alive_readiness),
	    cmocka_unit_test(alive_reload_rolls_back),
	    cmocka_unit_test(ready_timeout_later_is_start_failure),
	    cmocka_unit_test(planned_exit),
	    cmocka_unit_test(recycling_one_at_a_time),
	    cmocka_unit_test(recycle_rss_ttou_and_reload),
	    cmocka_unit_test(recycle_replacement_ready_by_alive),
	    cmocka_unit_test(reload_size_from_config),
	    cmocka_unit_test(generation_numbers),
	    cmocka_unit_test(summary_for_status),
	    cmocka_unit_test(pidmap_against_a_table),
	    cmocka_unit_test(storm_exec),
	    cmocka_unit_test(storm_notify),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
