/* pool_step: one reconcile step — each worker against its deadlines (stop,
 * SIGKILL, readiness, watchdog), recycling, the empty slots filled, and
 * the generation changes that follow. */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <sentrik/pool_internal.h>
#include <sentrik/pool_recycle.h>

static void set_next(double *next, double at)
{
	if (at < *next)
		*next = at;
}

/* Every action is made here: w gives its slot, generation and pid (NULL
 * for a notice); reason is copied into the action (NULL: none). */
static struct sm_action make_action(enum sm_action_type type, const struct sm_worker *w, int sig,
                                    const char *reason)
{
	struct sm_action a = {.type = type, .sig = sig};

	if (w != NULL) {
		a.slot = w->slot;
		a.generation = w->generation;
		a.pid = w->pid;
	}
	if (reason != NULL)
		snprintf(a.reason, sizeof(a.reason), "%s", reason);
	return a;
}

static struct sm_action kill_action(struct sm_worker *w, const char *reason)
{
	w->state = SM_WORKER_STOPPING;
	w->killed = true;
	return make_action(SM_ACT_KILL, w, SIGKILL, reason);
}

/* A worker asked to stop: the stop signal once (TERM once a shutdown turns
 * quick), then SIGKILL when the graceful (or quick) timeout is over.  One
 * that said STOPPING=1 is on its way already and gets no signal. */
static size_t step_stopping(struct sm_pool *pool, struct sm_worker *w, double now,
                            struct sm_action *acts, size_t max, double *next)
{
	double grace = pool->quick ? SM_QUICK_TIMEOUT : pool->params.graceful_timeout;
	char why[SM_POOL_REASON_MAX];
	size_t n = 0;

	if (w->state != SM_WORKER_STOPPING) {
		int sig = pool->quick ? SIGTERM : pool->params.stop_signal;
		w->state = SM_WORKER_STOPPING;
		w->deadline = now + grace;
		w->last_signal = sig;
		pool->changes++;
		acts[n++] = make_action(SM_ACT_SIGNAL, w, sig, NULL);
		if (n == max)
			return n;
	}
	if (w->killed)
		return n;
	if (pool->quick && w->last_signal != SIGTERM && w->retire) {
		w->last_signal = SIGTERM;
		acts[n++] = make_action(SM_ACT_SIGNAL, w, SIGTERM, NULL);
		if (n == max)
			return n;
	}
	if (now < w->deadline) {
		set_next(next, w->deadline);
		return n;
	}
	snprintf(why, sizeof(why), "did not stop within %g s", grace);
	acts[n++] = kill_action(w, why);
	return n;
}

/* Whether a deadline (0: none) has come; one still ahead is when to call
 * again. */
static bool deadline_passed(double at, double now, double *next)
{
	if (at <= 0)
		return false;
	if (now < at) {
		set_next(next, at);
		return false;
	}
	return true;
}

/* A starting worker: ready once alive long enough (--ready alive:SEC);
 * killed when not ready by --ready-timeout.  That stops the first start,
 * rolls a reload back, and later is a start failure of its slot. */
static size_t step_starting(struct sm_pool *pool, struct sm_worker *w, double now,
                            struct sm_action *act, double *next)
{
	char why[SM_POOL_REASON_MAX];

	if (deadline_passed(w->alive_at, now, next)) {
		sm_pool_mark_ready(pool, w, now);
		return 0;
	}
	if (!deadline_passed(w->deadline, now, next))
		return 0;
	snprintf(why, sizeof(why), "worker %d (pid %ld) not ready after %g s", w->slot,
	         (long)w->pid, pool->params.ready_timeout);
	if (w->generation == pool->serving_gen && pool->phase == SM_PHASE_BOOT)
		sm_pool_fail(pool, why, now);
	else if (pool->reloading && w->generation == pool->pending_gen)
		sm_pool_rollback(pool, why);
	w->timed_out = true;
	*act = kill_action(w, why);
	return 1;
}

/* A ready worker whose last WATCHDOG=1 is older than --timeout hangs; one
 * that never sent any is not watched, which is said once. */
static size_t step_watchdog(struct sm_pool *pool, struct sm_worker *w, double now,
                            struct sm_action *act, double *next)
{
	char why[SM_POOL_REASON_MAX];
	double timeout = pool->params.watchdog_timeout;

	if (timeout > 0 && !w->watchdog_seen && !pool->watchdog_warned &&
	    deadline_passed(w->ready_at + timeout, now, next)) {
		pool->watchdog_warned = true;
		snprintf(why, sizeof(why),
		         "--timeout %g: worker %d (pid %ld) has sent no WATCHDOG=1 in %g s of "
		         "being ready; a worker is watched only after its first WATCHDOG=1",
		         timeout, w->slot, (long)w->pid, timeout);
		sm_pool_notice(pool, SM_ACT_WARN, why);
	}
	if (!deadline_passed(w->watchdog_at, now, next))
		return 0;
	snprintf(why, sizeof(why), "worker %d (pid %ld) sent no WATCHDOG=1 for %g s", w->slot,
	         (long)w->pid, timeout);
	w->timed_out = true;
	*act = kill_action(w, why);
	return 1;
}

/* Each worker against its deadlines. */
static size_t step_workers(struct sm_pool *pool, double now, struct sm_action *acts, size_t max,
                           double *next)
{
	size_t i, n = 0;

	for (i = 0; i < pool->n_workers && n < max; i++) {
		struct sm_worker *w = &pool->workers[i];

		if (w->state == SM_WORKER_SPAWNING)
			continue;
		if (w->retire || w->state == SM_WORKER_STOPPING)
			n += step_stopping(pool, w, now, acts + n, max - n, next);
		else if (w->state == SM_WORKER_STARTING)
			n += step_starting(pool, w, now, acts + n, next);
		else
			n += step_watchdog(pool, w, now, acts + n, next);
	}
	return n;
}

/* Fill the empty slots 1..target of gen; serving slots honour backoff.
 * One pass marks the held slots, so a step costs O(workers + slots). */
static size_t step_spawns(struct sm_pool *pool, unsigned gen, double now, struct sm_action *acts,
                          size_t max, double *next)
{
	int slot, target = sm_pool_target_of(pool, gen);
	unsigned mark = ++pool->step_mark;
	size_t i, n = 0;

	for (i = 0; i < pool->n_workers; i++) {
		const struct sm_worker *w = &pool->workers[i];
		if (w->generation == gen && !w->retire && !w->recycle && w->slot <= target)
			pool->slots[w->slot].mark = mark;
	}
	for (slot = 1; slot <= target && n < max; slot++) {
		struct sm_worker *w;

		if (pool->slots[slot].mark == mark)
			continue;
		if (gen == pool->serving_gen && pool->slots[slot].restart_at > now) {
			set_next(next, pool->slots[slot].restart_at);
			continue;
		}
		if ((w = sm_pool_add_worker(pool)) == NULL)
			break; /* out of memory: try again at the next event */
		w->slot = slot;
		w->generation = gen;
		w->state = SM_WORKER_SPAWNING;
		acts[n++] = make_action(SM_ACT_SPAWN, w, 0, NULL);
	}
	return n;
}

static bool all_ready(const struct sm_pool *pool, unsigned gen)
{
	int ready = 0, target = sm_pool_target_of(pool, gen);
	size_t i;

	for (i = 0; i < pool->n_workers; i++) {
		const struct sm_worker *w = &pool->workers[i];
		if (w->generation == gen && !w->retire && !w->recycle && w->slot <= target &&
		    w->state == SM_WORKER_READY)
			ready++;
	}
	return ready >= target;
}

/* A notice, or the exit with its code: an action of its own. */
static size_t one(struct sm_action *acts, enum sm_action_type type, int code, const char *reason)
{
	acts[0] = make_action(type, NULL, 0, reason);
	acts[0].code = code;
	return 1;
}

/* The generation changes a step can make once nothing else is to do. */
static size_t step_generations(struct sm_pool *pool, double now, struct sm_action *acts, size_t max,
                               double *next)
{
	if (pool->phase == SM_PHASE_BOOT && all_ready(pool, pool->serving_gen)) {
		pool->phase = SM_PHASE_RUNNING;
		pool->changes++;
		return one(acts, SM_ACT_BOOTED, 0, NULL);
	}
	if (pool->reloading && all_ready(pool, pool->pending_gen)) {
		pool->serving_gen = pool->pending_gen;
		pool->target = pool->pending_target;
		pool->reloading = false;
		pool->counters.reloads_ok++;
		pool->changes++;
		sm_pool_retire_old(pool);
		return one(acts, SM_ACT_RELOADED, 0, NULL);
	}
	if (pool->reload_again && pool->phase == SM_PHASE_RUNNING && !pool->reloading) {
		pool->reload_again = false;
		sm_pool_reload(pool);
		return sm_pool_step(pool, now, acts, max, next);
	}
	return 0;
}

size_t sm_pool_step(struct sm_pool *pool, double now, struct sm_action *acts, size_t max,
                    double *next_deadline)
{
	size_t n;

	*next_deadline = INFINITY;
	if (max == 0)
		return 0;
	if (pool->n_notices > 0) {
		struct sm_pool_notice first = pool->notices[0];
		size_t i;

		for (i = 1; i < pool->n_notices; i++)
			pool->notices[i - 1] = pool->notices[i];
		pool->n_notices--;
		return one(acts, (enum sm_action_type)first.type, 0, first.reason);
	}
	if (pool->phase != SM_PHASE_STOPPING)
		sm_pool_retire_above_target(pool);
	n = step_workers(pool, now, acts, max, next_deadline);
	if (n > 0)
		return n;
	if (pool->n_notices > 0) /* a rollback or a warning the deadlines made */
		return sm_pool_step(pool, now, acts, max, next_deadline);
	if (pool->phase == SM_PHASE_STOPPING) {
		if (pool->n_workers > 0 || pool->exit_sent)
			return 0;
		pool->exit_sent = true;
		return one(acts, SM_ACT_EXIT, pool->exit_code,
		           pool->exit_code != 0 ? pool->reason : NULL);
	}
	/* After the deadlines, which may have made a replacement ready: the
	 * worker it replaces is then stopped by the next round. */
	if (sm_recycle_step(pool, now, next_deadline))
		return sm_pool_step(pool, now, acts, max, next_deadline);
	n = step_spawns(pool, pool->serving_gen, now, acts, max, next_deadline);
	if (pool->reloading && n < max)
		n += step_spawns(pool, pool->pending_gen, now, acts + n, max - n, next_deadline);
	if (n > 0)
		return n;
	return step_generations(pool, now, acts, max, next_deadline);
}
