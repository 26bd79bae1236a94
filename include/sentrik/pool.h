/* pool: the worker pool as a reconcile loop over slots.  Events (spawned,
 * ready, exited, scale, reload, shutdown) change the slot and worker table;
 * sm_pool_step() compares it with what is wanted (target workers of the
 * serving generation, and of the starting one during a reload) and returns
 * the actions that close the gap.  It makes no system calls. */
#ifndef SENTRIK_POOL_H
#define SENTRIK_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define SM_BACKOFF_FIRST 0.1   /* delay after a first early death */
#define SM_BACKOFF_MAX 10.0    /* the delay never grows past this */
#define SM_BACKOFF_EARLY 1.0   /* a worker dying younger than this died early */
#define SM_BACKOFF_RESET 10.0  /* a worker living this long resets the delay */
#define SM_QUICK_TIMEOUT 1.0   /* quick shutdown: SIGKILL after this */
#define SM_POOL_REASON_MAX 256 /* one line saying why, for the log */

enum sm_worker_state {
	SM_WORKER_SPAWNING, /* asked for, fork not done yet */
	SM_WORKER_STARTING, /* running, not ready */
	SM_WORKER_READY,
	SM_WORKER_STOPPING, /* stop signal sent, waiting for the exit */
};

enum sm_phase {
	SM_PHASE_BOOT, /* first generation not ready yet */
	SM_PHASE_RUNNING,
	SM_PHASE_STOPPING, /* shutdown: no more spawns */
};

struct sm_worker {
	pid_t pid;
	int slot;
	unsigned generation;
	enum sm_worker_state state;
	double started_at;
	double deadline;    /* STARTING: ready by; STOPPING: SIGKILL at */
	double watchdog_at; /* READY with a watchdog: killed when passed; 0 = off */
	int last_signal;
	bool killed;
	bool was_ready;
	bool retire;      /* not wanted any more: stop it, do not replace it */
	bool first_start; /* started by the boot: its early death fails the boot */
};

struct sm_slot {
	double delay;      /* current backoff step; 0 = none */
	double restart_at; /* no spawn before this */
};

struct sm_pool_params {
	int workers;
	int max_workers;
	int stop_signal;
	double graceful_timeout;
	double ready_timeout;    /* 0 = ready at exec, no timeout */
	double watchdog_timeout; /* --timeout; 0 = off */
	bool ready_on_exec;
};

struct sm_pool {
	struct sm_pool_params params;
	struct sm_worker *workers;
	size_t n_workers, cap_workers;
	struct sm_slot *slots; /* index 1..max_workers */
	int target;
	enum sm_phase phase;
	bool quick;
	unsigned serving_gen;
	unsigned pending_gen; /* valid while reloading */
	unsigned next_gen;
	bool reloading;
	bool reload_again;
	int exit_code; /* an EX_* status of <sysexits.h>, 0 while all is well */
	bool exit_sent;
	char reason[SM_POOL_REASON_MAX]; /* why the pool is stopping with a non-zero code */
	/* Notices wait here until the next step hands them out, one a call. */
	int notices[4];
	size_t n_notices;
	char notice_reason[SM_POOL_REASON_MAX];
};

enum sm_action_type {
	SM_ACT_SPAWN,        /* fork+exec slot/generation, then sm_pool_spawned() */
	SM_ACT_SIGNAL,       /* send sig to the worker's process group */
	SM_ACT_KILL,         /* SIGKILL the worker's process group; reason set */
	SM_ACT_BOOTED,       /* every first-generation worker is ready */
	SM_ACT_RELOAD_START, /* a new generation starts */
	SM_ACT_RELOADED,     /* the new generation took over */
	SM_ACT_ROLLED_BACK,  /* the new generation failed; reason set */
	SM_ACT_EXIT,         /* nothing left: exit with code (an EX_* status) */
};

struct sm_action {
	enum sm_action_type type;
	int slot;
	unsigned generation;
	pid_t pid;
	int sig;
	int code;
	char reason[SM_POOL_REASON_MAX]; /* its own copy; "" = none */
};

/* What became of a worker that exited, for the master's log line. */
struct sm_exit_info {
	int slot;
	unsigned generation;
	double lifetime;
	bool was_ready;
	bool expected;     /* we had asked it to stop */
	double restart_in; /* < 0: not restarted */
};

int sm_pool_init(struct sm_pool *pool, const struct sm_pool_params *params);
void sm_pool_free(struct sm_pool *pool);

/* Events. */
void sm_pool_spawned(struct sm_pool *pool, int slot, unsigned gen, pid_t pid, double now);
void sm_pool_spawn_failed(struct sm_pool *pool, int slot, unsigned gen, const char *reason,
                          double now);
int sm_pool_ready(struct sm_pool *pool, pid_t pid, double now);
int sm_pool_watchdog(struct sm_pool *pool, pid_t pid, double now);
int sm_pool_exited(struct sm_pool *pool, pid_t pid, const char *how, double now,
                   struct sm_exit_info *info);
void sm_pool_scale(struct sm_pool *pool, int delta);
void sm_pool_reload(struct sm_pool *pool);
/* true when this call made the shutdown quick. */
bool sm_pool_shutdown(struct sm_pool *pool, bool quick, double now);
/* A reload that cannot even start (bad config): nothing changes. */
void sm_pool_reload_abort(struct sm_pool *pool);

/* Compute what must happen now.  Fills up to max actions and returns how
 * many; carry them out and call again until it returns 0.  A notice
 * (BOOTED, RELOAD_START, ...) always comes alone.  *next_deadline is when
 * to call again if nothing else happens (INFINITY: nothing is due). */
size_t sm_pool_step(struct sm_pool *pool, double now, struct sm_action *acts, size_t max,
                    double *next_deadline);

/* The backoff rule of SPEC §4: from a slot's current delay and the dead
 * worker's lifetime, the delay before the next start (0 = at once) and the
 * slot's new delay. */
double sm_backoff_next(double *slot_delay, double lifetime);

struct sm_worker *sm_pool_find(struct sm_pool *pool, pid_t pid);
size_t sm_pool_live(const struct sm_pool *pool);
/* The running workers (forked, not reaped yet), one a call: start with
 * *iter = 0; NULL after the last. */
const struct sm_worker *sm_pool_next_worker(const struct sm_pool *pool, size_t *iter);

/* A reload's new settings.  workers and max_workers are left as they are:
 * the slot table keeps its size and the target changes by sm_pool_scale. */
void sm_pool_set_params(struct sm_pool *pool, const struct sm_pool_params *params);

/* Read-only views for the master's log lines and decisions. */
enum sm_phase sm_pool_phase(const struct sm_pool *pool);
int sm_pool_target(const struct sm_pool *pool);
/* The generation serving; with starting, the one a running reload starts
 * (false from sm_pool_reloading() when there is none). */
unsigned sm_pool_generation(const struct sm_pool *pool, bool starting);
bool sm_pool_reloading(const struct sm_pool *pool);

#endif
