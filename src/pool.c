/* pool: a reconcile loop over slots.  Events change the slot and worker
 * table; sm_pool_step() compares it with what is wanted (target workers per
 * live generation, deadlines) and returns the actions that close the gap. */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include <sentrik/pool.h>

double sm_backoff_next(double *slot_delay, double lifetime)
{
	if (lifetime >= SM_BACKOFF_RESET) {
		*slot_delay = 0;
		return 0;
	}
	if (lifetime >= SM_BACKOFF_EARLY)
		return 0;
	if (*slot_delay <= 0)
		*slot_delay = SM_BACKOFF_FIRST;
	else if ((*slot_delay *= 2) > SM_BACKOFF_MAX)
		*slot_delay = SM_BACKOFF_MAX;
	return *slot_delay;
}

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
	return 0;
}

void sm_pool_free(struct sm_pool *pool)
{
	free(pool->workers);
	free(pool->slots);
	memset(pool, 0, sizeof(*pool));
}

struct sm_worker *sm_pool_find(struct sm_pool *pool, pid_t pid)
{
	size_t i;

	for (i = 0; i < pool->n_workers; i++)
		if (pool->workers[i].pid == pid && pool->workers[i].state != SM_WORKER_SPAWNING)
			return &pool->workers[i];
	return NULL;
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

void sm_pool_set_params(struct sm_pool *pool, const struct sm_pool_params *params)
{
	struct sm_pool_params p = *params;

	p.workers = pool->params.workers;
	p.max_workers = pool->params.max_workers; /* sizes the slot table */
	pool->params = p;
}

enum sm_phase sm_pool_phase(const struct sm_pool *pool)
{
	return pool->phase;
}

int sm_pool_target(const struct sm_pool *pool)
{
	return pool->target;
}

unsigned sm_pool_generation(const struct sm_pool *pool, bool starting)
{
	return starting ? pool->pending_gen : pool->serving_gen;
}

bool sm_pool_reloading(const struct sm_pool *pool)
{
	return pool->reloading;
}

static void notice(struct sm_pool *pool, enum sm_action_type type, const char *reason)
{
	if (pool->n_notices < sizeof(pool->notices) / sizeof(pool->notices[0]))
		pool->notices[pool->n_notices++] = (int)type;
	if (reason != NULL)
		snprintf(pool->notice_reason, sizeof(pool->notice_reason), "%s", reason);
}

/* The worker of generation gen holding slot, not counting retiring ones. */
static struct sm_worker *slot_holder(struct sm_pool *pool, unsigned gen, int slot)
{
	size_t i;

	for (i = 0; i < pool->n_workers; i++) {
		struct sm_worker *w = &pool->workers[i];
		if (w->generation == gen && w->slot == slot && !w->retire)
			return w;
	}
	return NULL;
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
	return w->slot > pool->target;
}

bool sm_pool_shutdown(struct sm_pool *pool, bool quick, double now)
{
	size_t i;

	pool->phase = SM_PHASE_STOPPING;
	pool->reloading = false;
	pool->reload_again = false;
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

static void boot_fail(struct sm_pool *pool, const char *reason, double now)
{
	if (pool->phase == SM_PHASE_STOPPING)
		return;
	pool->exit_code = EX_UNAVAILABLE;
	snprintf(pool->reason, sizeof(pool->reason), "%s", reason);
	sm_pool_shutdown(pool, true, now);
}

static void rollback(struct sm_pool *pool, const char *reason)
{
	if (!pool->reloading)
		return;
	retire_where(pool, is_pending);
	pool->reloading = false;
	notice(pool, SM_ACT_ROLLED_BACK, reason);
}

void sm_pool_reload_abort(struct sm_pool *pool)
{
	if (!pool->reloading)
		return;
	retire_where(pool, is_pending);
	pool->reloading = false;
}

/* A worker that is gone without being retired: replace it, fail the boot,
 * or fail the reload.  Returns the restart delay, < 0 when not restarted. */
static double on_loss(struct sm_pool *pool, int slot, unsigned gen, double lifetime, bool was_ready,
                      bool boot_failure, const char *reason, double now)
{
	if (pool->phase == SM_PHASE_STOPPING)
		return -1;
	if (gen == pool->serving_gen) {
		if ((pool->phase == SM_PHASE_BOOT && !was_ready) || boot_failure) {
			boot_fail(pool, reason, now);
			return -1;
		}
		if (slot > pool->target)
			return -1;
		double delay = sm_backoff_next(&pool->slots[slot].delay, lifetime);
		pool->slots[slot].restart_at = now + delay;
		return delay;
	}
	if (pool->reloading && gen == pool->pending_gen)
		rollback(pool, reason);
	return -1;
}

static struct sm_worker *add_worker(struct sm_pool *pool)
{
	if (pool->n_workers == pool->cap_workers) {
		size_t cap = pool->cap_workers ? pool->cap_workers * 2 : 16;
		struct sm_worker *more = realloc(pool->workers, cap * sizeof(*more));
		if (more == NULL)
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

	pool->workers[i] = pool->workers[--pool->n_workers];
}

static struct sm_worker *find_spawning(struct sm_pool *pool, int slot, unsigned gen)
{
	size_t i;

	for (i = 0; i < pool->n_workers; i++) {
		struct sm_worker *w = &pool->workers[i];
		if (w->state == SM_WORKER_SPAWNING && w->slot == slot && w->generation == gen)
			return w;
	}
	return NULL;
}

void sm_pool_spawned(struct sm_pool *pool, int slot, unsigned gen, pid_t pid, double now)
{
	struct sm_worker *w = find_spawning(pool, slot, gen);

	if (w == NULL)
		return;
	w->pid = pid;
	w->started_at = now;
	w->first_start = pool->phase == SM_PHASE_BOOT && gen == pool->serving_gen;
	if (pool->params.ready_on_exec) {
		w->state = SM_WORKER_READY;
		w->was_ready = true;
	} else {
		w->state = SM_WORKER_STARTING;
		w->deadline = pool->params.ready_timeout > 0 ? now + pool->params.ready_timeout : 0;
	}
}

void sm_pool_spawn_failed(struct sm_pool *pool, int slot, unsigned gen, const char *reason,
                          double now)
{
	struct sm_worker *w = find_spawning(pool, slot, gen);

	if (w == NULL)
		return;
	remove_worker(pool, w);
	on_loss(pool, slot, gen, 0, false, false, reason, now);
}

int sm_pool_ready(struct sm_pool *pool, pid_t pid, double now)
{
	struct sm_worker *w = sm_pool_find(pool, pid);

	(void)now;
	if (w == NULL || w->state != SM_WORKER_STARTING)
		return -1;
	w->state = SM_WORKER_READY;
	w->was_ready = true;
	w->deadline = 0;
	return 0;
}

int sm_pool_watchdog(struct sm_pool *pool, pid_t pid, double now)
{
	struct sm_worker *w = sm_pool_find(pool, pid);

	if (w == NULL || pool->params.watchdog_timeout <= 0 || w->state == SM_WORKER_STOPPING)
		return -1;
	w->watchdog_at = now + pool->params.watchdog_timeout;
	return 0;
}

int sm_pool_exited(struct sm_pool *pool, pid_t pid, const char *how, double now,
                   struct sm_exit_info *info)
{
	struct sm_worker *w = sm_pool_find(pool, pid);
	char reason[SM_POOL_REASON_MAX];
	bool retired, boot_failure;

	if (w == NULL)
		return -1;
	info->slot = w->slot;
	info->generation = w->generation;
	info->lifetime = now - w->started_at;
	info->was_ready = w->was_ready;
	info->expected = w->retire;
	info->restart_in = -1;
	retired = w->retire;
	/* Under --ready exec a worker is "ready" the moment it exec'd, so one
	 * that dies at once during the boot (bad config, missing secret) would
	 * otherwise become a restart loop instead of a clear EX_UNAVAILABLE. */
	boot_failure =
	    w->first_start &&
	    (!w->was_ready || (pool->params.ready_on_exec && info->lifetime < SM_BACKOFF_EARLY));
	remove_worker(pool, w);
	if (retired)
		return 0;
	snprintf(reason, sizeof(reason), "worker %d (pid %ld) %s %s", info->slot, (long)pid, how,
	         info->was_ready ? "right after its start" : "before it was ready");
	info->restart_in = on_loss(pool, info->slot, info->generation, info->lifetime,
	                           info->was_ready, boot_failure, reason, now);
	return 0;
}

void sm_pool_scale(struct sm_pool *pool, int delta)
{
	int target = pool->target + delta;

	if (pool->phase == SM_PHASE_STOPPING)
		return;
	if (target < 1)
		target = 1;
	if (target > pool->params.max_workers)
		target = pool->params.max_workers;
	pool->target = target;
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
	pool->reloading = true;
	notice(pool, SM_ACT_RELOAD_START, NULL);
}

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
 * quick), then SIGKILL when the graceful (or quick) timeout is over. */
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

/* A worker not ready by --ready-timeout is killed; at boot that fails the
 * boot, in a reload's new generation it rolls the reload back. */
static size_t step_ready_timeout(struct sm_pool *pool, struct sm_worker *w, double now,
                                 struct sm_action *act, double *next)
{
	char why[SM_POOL_REASON_MAX];

	if (!deadline_passed(w->deadline, now, next))
		return 0;
	snprintf(why, sizeof(why), "worker %d (pid %ld) not ready after %g s", w->slot,
	         (long)w->pid, pool->params.ready_timeout);
	if (w->generation == pool->serving_gen && pool->phase == SM_PHASE_BOOT)
		boot_fail(pool, why, now);
	else if (pool->reloading && w->generation == pool->pending_gen)
		rollback(pool, why);
	*act = kill_action(w, why);
	return 1;
}

/* A ready worker whose last WATCHDOG=1 is older than --timeout hangs. */
static size_t step_watchdog(struct sm_pool *pool, struct sm_worker *w, double now,
                            struct sm_action *act, double *next)
{
	char why[SM_POOL_REASON_MAX];

	if (!deadline_passed(w->watchdog_at, now, next))
		return 0;
	snprintf(why, sizeof(why), "worker %d (pid %ld) sent no WATCHDOG=1 for %g s", w->slot,
	         (long)w->pid, pool->params.watchdog_timeout);
	*act = kill_action(w, why);
	return 1;
}

/* Each worker against its deadline: stop what is retiring, SIGKILL what
 * overstayed its stop, kill what never got ready or stopped answering. */
static size_t step_stops(struct sm_pool *pool, double now, struct sm_action *acts, size_t max,
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
			n += step_ready_timeout(pool, w, now, acts + n, next);
		else
			n += step_watchdog(pool, w, now, acts + n, next);
	}
	return n;
}

/* Fill the empty slots 1..target of gen; serving slots honour backoff. */
static size_t step_spawns(struct sm_pool *pool, unsigned gen, double now, struct sm_action *acts,
                          size_t max, double *next)
{
	size_t n = 0;
	int slot;

	for (slot = 1; slot <= pool->target && n < max; slot++) {
		struct sm_worker *w;

		if (slot_holder(pool, gen, slot) != NULL)
			continue;
		if (gen == pool->serving_gen && pool->slots[slot].restart_at > now) {
			set_next(next, pool->slots[slot].restart_at);
			continue;
		}
		if ((w = add_worker(pool)) == NULL)
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
	size_t i;
	int ready = 0;

	for (i = 0; i < pool->n_workers; i++) {
		const struct sm_worker *w = &pool->workers[i];
		if (w->generation == gen && !w->retire && w->slot <= pool->target &&
		    w->state == SM_WORKER_READY)
			ready++;
	}
	return ready == pool->target;
}

/* A notice, or the exit with its code: an action of its own. */
static size_t one(struct sm_action *acts, enum sm_action_type type, int code, const char *reason)
{
	acts[0] = make_action(type, NULL, 0, reason);
	acts[0].code = code;
	return 1;
}

size_t sm_pool_step(struct sm_pool *pool, double now, struct sm_action *acts, size_t max,
                    double *next_deadline)
{
	size_t n;

	*next_deadline = INFINITY;
	if (max == 0)
		return 0;
	if (pool->n_notices > 0) {
		enum sm_action_type type = (enum sm_action_type)pool->notices[0];
		memmove(pool->notices, pool->notices + 1,
		        --pool->n_notices * sizeof(pool->notices[0]));
		return one(acts, type, 0, pool->notice_reason);
	}
	if (pool->phase != SM_PHASE_STOPPING)
		retire_where(pool, is_above_target);
	n = step_stops(pool, now, acts, max, next_deadline);
	if (n > 0)
		return n;
	if (pool->phase == SM_PHASE_STOPPING) {
		if (pool->n_workers > 0 || pool->exit_sent)
			return 0;
		pool->exit_sent = true;
		return one(acts, SM_ACT_EXIT, pool->exit_code,
		           pool->exit_code != 0 ? pool->reason : NULL);
	}
	n = step_spawns(pool, pool->serving_gen, now, acts, max, next_deadline);
	if (pool->reloading && n < max)
		n += step_spawns(pool, pool->pending_gen, now, acts + n, max - n, next_deadline);
	if (n > 0)
		return n;
	if (pool->phase == SM_PHASE_BOOT && all_ready(pool, pool->serving_gen)) {
		pool->phase = SM_PHASE_RUNNING;
		return one(acts, SM_ACT_BOOTED, 0, NULL);
	}
	if (pool->reloading && all_ready(pool, pool->pending_gen)) {
		pool->serving_gen = pool->pending_gen;
		pool->reloading = false;
		retire_where(pool, is_not_serving);
		return one(acts, SM_ACT_RELOADED, 0, NULL);
	}
	if (pool->reload_again && pool->phase == SM_PHASE_RUNNING && !pool->reloading) {
		pool->reload_again = false;
		sm_pool_reload(pool);
		return sm_pool_step(pool, now, acts, max, next_deadline);
	}
	return 0;
}
