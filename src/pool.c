/* pool: a reconcile loop over slots.  Events change the slot and worker
 * table; sm_pool_step() compares it with what is wanted (target workers per
 * live generation, deadlines) and returns the actions that close the gap. */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include <sentrik/pool_internal.h>

int sm_pool_init(struct sm_pool *pool, const struct sm_pool_params *params)
{
	memset(pool, 0, sizeof(*pool));
	pool->params = *params;
	pool->slots = calloc((size_t)params->max_workers + 1, sizeof(*pool->slots));
	if (pool->slots == NULL)
		return -1;
	pool->target = params->workers;
	pool->phase = SM_PHASE_BOOT;
	pool->next_gen = 1;
	pool->rng = params->seed;
	return 0;
}

void sm_pool_free(struct sm_pool *pool)
{
	free(pool->workers);
	free(pool->slots);
	sm_pidmap_free(&pool->by_pid);
	memset(pool, 0, sizeof(*pool));
}

struct sm_worker *sm_pool_find(struct sm_pool *pool, pid_t pid)
{
	long i = sm_pidmap_get(&pool->by_pid, pid);

	return i < 0 ? NULL : &pool->workers[i];
}

size_t sm_pool_live(const struct sm_pool *pool)
{
	return pool->n_workers;
}

const struct sm_worker *sm_pool_next_worker(const struct sm_pool *pool, size_t *iter)
{
	while (*iter < pool->n_workers) {
		const struct sm_worker *w = &pool->workers[(*iter)++];
		if (w->pid > 0 && w->state != SM_WORKER_SPAWNING)
			return w;
	}
	return NULL;
}

static int clamp_size(const struct sm_pool *pool, int n)
{
	return n < 1 ? 1 : n > pool->params.max_workers ? pool->params.max_workers : n;
}

void sm_pool_set_params(struct sm_pool *pool, const struct sm_pool_params *params)
{
	struct sm_pool_params p = *params;

	p.max_workers = pool->params.max_workers; /* sizes the slot table */
	pool->params = p;
	if (pool->reloading)
		pool->pending_target = clamp_size(pool, p.workers);
	pool->changes++;
}

enum sm_phase sm_pool_phase(const struct sm_pool *pool)
{
	return pool->phase;
}

int sm_pool_target(const struct sm_pool *pool)
{
	return pool->target;
}

int sm_pool_pending_target(const struct sm_pool *pool)
{
	return pool->pending_target;
}

unsigned sm_pool_generation(const struct sm_pool *pool, bool starting)
{
	return starting ? pool->pending_gen : pool->serving_gen;
}

bool sm_pool_reloading(const struct sm_pool *pool)
{
	return pool->reloading;
}

const struct sm_pool_counters *sm_pool_counters(const struct sm_pool *pool)
{
	return &pool->counters;
}

const struct sm_slot *sm_pool_slot(const struct sm_pool *pool, int slot)
{
	return slot >= 1 && slot <= pool->params.max_workers ? &pool->slots[slot] : NULL;
}

unsigned long sm_pool_changes(const struct sm_pool *pool)
{
	return pool->changes;
}

void sm_pool_summary(const struct sm_pool *pool, double now, struct sm_pool_summary *sum)
{
	size_t i;
	int slot;

	memset(sum, 0, sizeof(*sum));
	sum->desired = pool->target;
	sum->generation = pool->serving_gen;
	for (i = 0; i < pool->n_workers; i++) {
		const struct sm_worker *w = &pool->workers[i];
		/* One being recycled serves until its replacement is ready. */
		if (w->generation == pool->serving_gen && w->state == SM_WORKER_READY &&
		    !w->retire && w->slot <= pool->target)
			sum->ready++;
	}
	if (sum->ready > sum->desired) /* old and new of a slot, for a moment */
		sum->ready = sum->desired;
	for (slot = 1; slot <= pool->target; slot++) {
		double in = pool->slots[slot].restart_at - now;
		if (in > 0 && (sum->restarting_slot == 0 || in < sum->restart_in)) {
			sum->restarting_slot = slot;
			sum->restart_in = in;
		}
	}
}

void sm_pool_notice(struct sm_pool *pool, enum sm_action_type type, const char *reason)
{
	struct sm_pool_notice *n;

	if (pool->n_notices == SM_POOL_NOTICES)
		return;
	n = &pool->notices[pool->n_notices++];
	n->type = (int)type;
	snprintf(n->reason, sizeof(n->reason), "%s", reason != NULL ? reason : "");
}

int sm_pool_target_of(const struct sm_pool *pool, unsigned gen)
{
	return pool->reloading && gen == pool->pending_gen ? pool->pending_target : pool->target;
}

static void retire_where(struct sm_pool *pool,
                         bool (*match)(const struct sm_pool *, const struct sm_worker *))
{
	size_t i;

	for (i = 0; i < pool->n_workers; i++)
		if (match(pool, &pool->workers[i]))
			pool->workers[i].retire = true;
}

static bool is_any(const struct sm_pool *pool, const struct sm_worker *w)
{
	(void)pool;
	(void)w;
	return true;
}

static bool is_pending(const struct sm_pool *pool, const struct sm_worker *w)
{
	return w->generation == pool->pending_gen;
}

static bool is_not_serving(const struct sm_pool *pool, const struct sm_worker *w)
{
	return w->generation != pool->serving_gen;
}

static bool is_above_target(const struct sm_pool *pool, const struct sm_worker *w)
{
	return w->slot > sm_pool_target_of(pool, w->generation);
}

void sm_pool_retire_old(struct sm_pool *pool)
{
	retire_where(pool, is_not_serving);
}

void sm_pool_retire_above_target(struct sm_pool *pool)
{
	retire_where(pool, is_above_target);
}

bool sm_pool_shutdown(struct sm_pool *pool, bool quick, double now)
{
	size_t i;

	pool->phase = SM_PHASE_STOPPING;
	pool->reloading = false;
	pool->reload_again = false;
	pool->changes++;
	retire_where(pool, is_any);
	if (!quick || pool->quick)
		return false;
	pool->quick = true;
	for (i = 0; i < pool->n_workers; i++) {
		struct sm_worker *w = &pool->workers[i];
		if (w->state == SM_WORKER_STOPPING && w->deadline > now + SM_QUICK_TIMEOUT)
			w->deadline = now + SM_QUICK_TIMEOUT;
	}
	return true;
}

/* The pool gives up: quick while the first start runs (nothing serves
 * yet), graceful once it served, so healthy workers finish their work. */
void sm_pool_fail(struct sm_pool *pool, const char *reason, double now)
{
	if (pool->phase == SM_PHASE_STOPPING)
		return;
	pool->exit_code = EX_UNAVAILABLE;
	snprintf(pool->reason, sizeof(pool->reason), "%s", reason);
	sm_pool_shutdown(pool, pool->phase == SM_PHASE_BOOT, now);
}

static void end_reload(struct sm_pool *pool)
{
	retire_where(pool, is_pending);
	pool->reloading = false;
	pool->counters.reloads_failed++;
	pool->changes++;
}

void sm_pool_rollback(struct sm_pool *pool, const char *reason)
{
	if (!pool->reloading)
		return;
	end_reload(pool);
	sm_pool_notice(pool, SM_ACT_ROLLED_BACK, reason);
}

void sm_pool_reload_abort(struct sm_pool *pool)
{
	if (!pool->reloading)
		return;
	end_reload(pool);
	/* Nothing ran under the number: the next reload takes it. */
	if (pool->next_gen == pool->pending_gen + 1)
		pool->next_gen--;
}

/* A start failure of the serving generation: counted, and the last one
 * the crash-loop limit allows stops the pool with one line saying all. */
static bool count_start_failure(struct sm_pool *pool, int slot, const char *last,
                                const char *last_line, double now, int *failures)
{
	char why[SM_POOL_REASON_MAX];
	int n = sm_slot_start_failed(&pool->slots[slot], &pool->counters);

	*failures = n;
	if (pool->params.start_retries <= 0 || n < pool->params.start_retries)
		return false;
	if (last_line != NULL && last_line[0] != '\0')
		snprintf(why, sizeof(why),
		         "worker %d: %d start failures in a row, the last %s; its last stderr "
		         "line: %.200s",
		         slot, n, last, last_line);
	else
		snprintf(why, sizeof(why), "worker %d: %d start failures in a row, the last %s",
		         slot, n, last);
	sm_pool_fail(pool, why, now);
	return true;
}

/* What a lost worker (gone without being retired) leads to. */
struct loss {
	int slot;
	unsigned gen;
	double lifetime;
	bool start_failure;
	bool exec_failure;
	const char *reason;    /* the whole story, for a rollback or a failed start */
	const char *last;      /* "exited with status 1", for the crash-loop line */
	const char *last_line; /* its last stderr line, or NULL */
};

/* Replace it, give up, or roll the reload back.  Returns the restart
 * delay, < 0 when not restarted. */
static double on_loss(struct sm_pool *pool, const struct loss *l, double now, int *failures)
{
	*failures = 0;
	if (pool->phase == SM_PHASE_STOPPING)
		return -1;
	if (l->gen == pool->serving_gen) {
		/* Only an exec failure stops the first start at once. */
		if (l->exec_failure && pool->phase == SM_PHASE_BOOT) {
			sm_pool_fail(pool, l->reason, now);
			return -1;
		}
		if (l->start_failure &&
		    count_start_failure(pool, l->slot, l->last, l->last_line, now, failures))
			return -1;
		if (l->slot > pool->target)
			return -1;
		return sm_slot_restart(&pool->slots[l->slot], l->lifetime, now, &pool->counters);
	}
	if (pool->reloading && l->gen == pool->pending_gen)
		sm_pool_rollback(pool, l->reason);
	return -1;
}

struct sm_worker *sm_pool_add_worker(struct sm_pool *pool)
{
	if (pool->n_workers == pool->cap_workers) {
		size_t cap = pool->cap_workers ? pool->cap_workers * 2 : 16;
		struct sm_worker *more;
		if (sm_pidmap_reserve(&pool->by_pid, cap) < 0)
			return NULL;
		if ((more = realloc(pool->workers, cap * sizeof(*more))) == NULL)
			return NULL;
		pool->workers = more;
		pool->cap_workers = cap;
	}
	memset(&pool->workers[pool->n_workers], 0, sizeof(struct sm_worker));
	return &pool->workers[pool->n_workers++];
}

static void remove_worker(struct sm_pool *pool, struct sm_worker *w)
{
	size_t i = (size_t)(w - pool->workers);

	if (w->pid > 0)
		sm_pidmap_del(&pool->by_pid, w->pid);
	if (i != --pool->n_workers) {
		pool->workers[i] = pool->workers[pool->n_workers];
		if (pool->workers[i].pid > 0)
			sm_pidmap_put(&pool->by_pid, pool->workers[i].pid, (uint32_t)i);
	}
	pool->changes++;
}

/* Workers being spawned sit at the end of the table: search from there. */
static struct sm_worker *find_spawning(struct sm_pool *pool, int slot, unsigned gen)
{
	size_t i;

	for (i = pool->n_workers; i-- > 0;) {
		struct sm_worker *w = &pool->workers[i];
		if (w->state == SM_WORKER_SPAWNING && w->slot == slot && w->generation == gen)
			return w;
	}
	return NULL;
}

void sm_pool_mark_ready(struct sm_pool *pool, struct sm_worker *w, double now)
{
	w->state = SM_WORKER_READY;
	w->was_ready = true;
	w->ready_at = now;
	w->deadline = 0;
	w->alive_at = 0;
	pool->changes++;
}

void sm_pool_spawned(struct sm_pool *pool, int slot, unsigned gen, pid_t pid, double now)
{
	struct sm_worker *w = find_spawning(pool, slot, gen);

	if (w == NULL)
		return;
	w->pid = pid;
	sm_pidmap_put(&pool->by_pid, pid, (uint32_t)(w - pool->workers));
	w->started_at = now;
	w->state = SM_WORKER_STARTING;
	pool->changes++;
	if (pool->params.ready_on_exec) {
		sm_pool_mark_ready(pool, w, now);
		return;
	}
	w->deadline = pool->params.ready_timeout > 0 ? now + pool->params.ready_timeout : 0;
	w->alive_at = pool->params.ready_alive > 0 ? now + pool->params.ready_alive : 0;
}

void sm_pool_spawn_failed(struct sm_pool *pool, int slot, unsigned gen, const char *reason,
                          bool by_app, double now)
{
	struct sm_worker *w = find_spawning(pool, slot, gen);
	struct loss l = {.slot = slot,
	                 .gen = gen,
	                 .start_failure = by_app,
	                 .exec_failure = true,
	                 .reason = reason,
	                 .last = reason};
	int failures;

	if (w == NULL)
		return;
	remove_worker(pool, w);
	snprintf(pool->slots[slot].last_exit, sizeof(pool->slots[slot].last_exit), "exec failed");
	(void)on_loss(pool, &l, now, &failures);
}

int sm_pool_ready(struct sm_pool *pool, pid_t pid, double now)
{
	struct sm_worker *w = sm_pool_find(pool, pid);

	if (w == NULL || w->state != SM_WORKER_STARTING)
		return -1;
	sm_pool_mark_ready(pool, w, now);
	return 0;
}

int sm_pool_watchdog(struct sm_pool *pool, pid_t pid, double now)
{
	struct sm_worker *w = sm_pool_find(pool, pid);

	if (w == NULL || pool->params.watchdog_timeout <= 0 || w->state == SM_WORKER_STOPPING)
		return -1;
	w->watchdog_at = now + pool->params.watchdog_timeout;
	w->watchdog_seen = true;
	return 0;
}

int sm_pool_stopping(struct sm_pool *pool, pid_t pid, double now)
{
	struct sm_worker *w = sm_pool_find(pool, pid);

	/* One already on its way out (reload, TTOU, recycling, shutdown)
	 * changes nothing by saying so. */
	if (w == NULL || w->state != SM_WORKER_READY || w->retire || w->recycle ||
	    pool->phase == SM_PHASE_STOPPING)
		return -1;
	w->planned = true;
	w->retire = true; /* its slot is free: the replacement starts now */
	w->state = SM_WORKER_STOPPING;
	w->deadline = now + pool->params.graceful_timeout;
	pool->changes++;
	return 0;
}

int sm_pool_recycle(struct sm_pool *pool, pid_t pid)
{
	struct sm_worker *w = sm_pool_find(pool, pid);

	if (w == NULL || w->state != SM_WORKER_READY || w->retire || w->recycle || w->recycle_due ||
	    w->generation != pool->serving_gen)
		return -1;
	w->recycle_due = true;
	return 0;
}

int sm_pool_exited(struct sm_pool *pool, pid_t pid, int wstatus, const char *last_line, double now,
                   struct sm_exit_info *info)
{
	struct sm_worker *w = sm_pool_find(pool, pid);
	char how[64], reason[SM_POOL_REASON_MAX];
	struct sm_exit_facts f;
	struct loss l;
	bool retired;

	if (w == NULL)
		return -1;
	f = (struct sm_exit_facts){.wstatus = wstatus,
	                           .lifetime = now - w->started_at,
	                           .was_ready = w->was_ready,
	                           .ready_on_exec = pool->params.ready_on_exec,
	                           .timed_out = w->timed_out,
	                           .recycled = w->planned || (w->recycle && w->retire),
	                           .stopped = w->retire};
	*info = (struct sm_exit_info){.slot = w->slot,
	                              .generation = w->generation,
	                              .lifetime = f.lifetime,
	                              .was_ready = w->was_ready,
	                              .expected = w->retire,
	                              .planned = w->planned,
	                              .recycled = w->recycle && w->retire,
	                              .restart_in = -1};
	retired = w->retire;
	sm_slot_exited(&pool->slots[w->slot], &f, &pool->counters);
	remove_worker(pool, w);
	if (retired)
		return 0;
	sm_exit_describe(wstatus, how, sizeof(how));
	info->start_failure = sm_exit_is_start_failure(&f);
	snprintf(reason, sizeof(reason), "worker %d (pid %ld) %s %s", info->slot, (long)pid, how,
	         info->was_ready ? "right after its start" : "before it was ready");
	l = (struct loss){.slot = info->slot,
	                  .gen = info->generation,
	                  .lifetime = f.lifetime,
	                  .start_failure = info->start_failure,
	                  .reason = reason,
	                  .last = how,
	                  .last_line = last_line};
	info->restart_in = on_loss(pool, &l, now, &info->failures);
	return 0;
}

int sm_pool_scale(struct sm_pool *pool, int delta)
{
	int *target = pool->reloading ? &pool->pending_target : &pool->target;
	int wanted = *target + delta;

	if (pool->phase == SM_PHASE_STOPPING)
		return *target;
	*target = clamp_size(pool, wanted);
	pool->changes++;
	return wanted;
}

void sm_pool_reload(struct sm_pool *pool)
{
	if (pool->phase == SM_PHASE_STOPPING)
		return;
	if (pool->phase == SM_PHASE_BOOT || pool->reloading ||
	    pool->n_notices > 0) { /* coalesce: one more after this one */
		pool->reload_again = true;
		return;
	}
	pool->pending_gen = pool->next_gen++;
	pool->pending_target = pool->target; /* until the new config says */
	pool->reloading = true;
	pool->changes++;
	sm_pool_notice(pool, SM_ACT_RELOAD_START, NULL);
}
