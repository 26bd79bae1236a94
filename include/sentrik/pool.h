/* pool: the worker pool as a reconcile loop over slots.  Events (spawned,
 * ready, stopping, exited, scale, reload, shutdown) change the slot and
 * worker table; sm_pool_step() compares it with what is wanted (target
 * workers of the serving generation, and of the starting one during a
 * reload; one recycling at a time) and returns the actions that close the
 * gap.  It makes no system calls. */
#ifndef SENTRIK_POOL_H
#define SENTRIK_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <sentrik/pidmap.h>
#include <sentrik/slot.h>

#define SM_QUICK_TIMEOUT 1.0   /* quick shutdown: SIGKILL after this */
#define SM_POOL_REASON_MAX 512 /* one line saying why, for the log */
#define SM_POOL_NOTICES 4

enum sm_worker_state {
	SM_WORKER_SPAWNING, /* asked for, fork not done yet */
	SM_WORKER_STARTING, /* running, not ready */
	SM_WORKER_READY,
	SM_WORKER_STOPPING, /* stop signal sent (or STOPPING=1), waiting for the exit */
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
	double alive_at;    /* STARTING under --ready alive:SEC: ready then; 0 = not */
	double ready_at;    /* when it became ready */
	double watchdog_at; /* READY with a watchdog: killed when passed; 0 = off */
	int last_signal;
	bool killed;
	bool was_ready;
	bool retire;      /* not wanted any more: stop it, do not replace it */
	bool recycle;     /* its replacement is starting; retired once that one is ready */
	bool recycle_due; /* over --max-worker-rss: recycled at its turn */
	bool planned;     /* said STOPPING=1 by itself */
	bool timed_out;   /* killed for --ready-timeout or --timeout */
	bool watchdog_seen;
};

struct sm_pool_params {
	int workers;
	int max_workers;
	int stop_signal;
	double graceful_timeout;
	double ready_timeout;    /* from the fork; 0 = none (--ready exec) */
	double ready_alive;      /* --ready alive:SEC; 0 = not that mode */
	double watchdog_timeout; /* --timeout; 0 = off */
	double max_age;          /* --max-worker-age; 0 = off */
	int start_retries;       /* 0 = never give up */
	bool ready_on_exec;
	uint32_t seed; /* for the age jitter */
};

struct sm_pool_notice {
	int type; /* enum sm_action_type */
	char reason[SM_POOL_REASON_MAX];
};

struct sm_pool {
	struct sm_pool_params params;
	struct sm_worker *workers;
	size_t n_workers, cap_workers;
	struct sm_pidmap by_pid; /* pid -> index into workers */
	struct sm_slot *slots;   /* index 1..max_workers */
	int target;
	int pending_target; /* the new generation's size, while reloading */
	enum sm_phase phase;
	bool quick;
	unsigned serving_gen;
	unsigned pending_gen; /* valid while reloading */
	unsigned next_gen;
	bool reloading;
	bool reload_again;
	int exit_code; /* an EX_* status of <sysexits.h>, 0 while all is well */
	bool exit_sent;
	bool watchdog_warned;
	char reason[SM_POOL_REASON_MAX]; /* why the pool is stopping with a non-zero code */
	/* Notices wait here until the next step hands them out, one a call. */
	struct sm_pool_notice notices[SM_POOL_NOTICES];
	size_t n_notices;
	struct sm_pool_counters counters;
	uint32_t rng;
	unsigned step_mark;
	unsigned long changes; /* bumped whenever what STATUS= says may have changed */
};

enum sm_action_type {
	SM_ACT_SPAWN,        /* fork+exec slot/generation, then sm_pool_spawned() */
	SM_ACT_SIGNAL,       /* send sig to the worker's process group */
	SM_ACT_KILL,         /* SIGKILL the worker's process group; reason set */
	SM_ACT_BOOTED,       /* every first-generation worker is ready */
	SM_ACT_RELOAD_START, /* a new generation starts */
	SM_ACT_RELOADED,     /* the new generation took over */
	SM_ACT_ROLLED_BACK,  /* the new generation failed; reason set */
	SM_ACT_WARN,         /* a warning line for the log; reason set */
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
	bool expected;      /* we had asked it to stop, or it said STOPPING=1 */
	bool planned;       /* it said STOPPING=1 */
	bool recycled;      /* --max-worker-age or --max-worker-rss replaced it */
	bool start_failure; /* counted toward --start-retries */
	int failures;       /* start failures of its slot in a row */
	double restart_in;  /* < 0: not restarted */
};

int sm_pool_init(struct sm_pool *pool, const struct sm_pool_params *params);
void sm_pool_free(struct sm_pool *pool);

/* Events. */
void sm_pool_spawned(struct sm_pool *pool, int slot, unsigned gen, pid_t pid, double now);
/* The fork or exec did not happen.  by_app: the command or its directory
 * (exec, chdir) failed, a start failure; otherwise the system (fork,
 * descriptors) did, retried with the backoff and never counted.  Either
 * stops the first start. */
void sm_pool_spawn_failed(struct sm_pool *pool, int slot, unsigned gen, const char *reason,
                          bool by_app, double now);
int sm_pool_ready(struct sm_pool *pool, pid_t pid, double now);
int sm_pool_watchdog(struct sm_pool *pool, pid_t pid, double now);
/* STOPPING=1 from a worker: a ready one not asked to stop leaves by
 * itself; its replacement starts at once.  0 when it did so. */
int sm_pool_stopping(struct sm_pool *pool, pid_t pid, double now);
/* Over --max-worker-rss: recycle it at its turn.  0 when marked. */
int sm_pool_recycle(struct sm_pool *pool, pid_t pid);
/* wstatus as waitpid gave it; last_line: the worker's last stderr line
 * when output is captured (for the crash-loop message), else NULL. */
int sm_pool_exited(struct sm_pool *pool, pid_t pid, int wstatus, const char *last_line, double now,
                   struct sm_exit_info *info);
/* TTIN/TTOU: the serving generation's size, or during a reload the new
 * one's.  The size asked for, before capping at --max-workers. */
int sm_pool_scale(struct sm_pool *pool, int delta);
void sm_pool_reload(struct sm_pool *pool);
/* true when this call made the shutdown quick. */
bool sm_pool_shutdown(struct sm_pool *pool, bool quick, double now);
/* A reload that cannot even start (bad config): nothing changes, and its
 * generation number is not used. */
void sm_pool_reload_abort(struct sm_pool *pool);

/* Compute what must happen now.  Fills up to max actions and returns how
 * many; carry them out and call again until it returns 0.  A notice
 * (BOOTED, RELOAD_START, ...) always comes alone.  *next_deadline is when
 * to call again if nothing else happens (INFINITY: nothing is due). */
size_t sm_pool_step(struct sm_pool *pool, double now, struct sm_action *acts, size_t max,
                    double *next_deadline);

struct sm_worker *sm_pool_find(struct sm_pool *pool, pid_t pid);
size_t sm_pool_live(const struct sm_pool *pool);
/* The running workers (forked, not reaped yet), one a call: start with
 * *iter = 0; NULL after the last. */
const struct sm_worker *sm_pool_next_worker(const struct sm_pool *pool, size_t *iter);

/* A reload's new settings.  max_workers stays (it sized the slot table);
 * workers, while a reload runs, is the size of its new generation. */
void sm_pool_set_params(struct sm_pool *pool, const struct sm_pool_params *params);

/* Read-only views for the master's log lines, status and metrics. */
enum sm_phase sm_pool_phase(const struct sm_pool *pool);
/* The serving generation's size; with starting, the running reload's. */
int sm_pool_target(const struct sm_pool *pool);
int sm_pool_pending_target(const struct sm_pool *pool);
/* The generation serving; with starting, the one a running reload starts
 * (false from sm_pool_reloading() when there is none). */
unsigned sm_pool_generation(const struct sm_pool *pool, bool starting);
bool sm_pool_reloading(const struct sm_pool *pool);
const struct sm_pool_counters *sm_pool_counters(const struct sm_pool *pool);
/* Slot 1..max_workers: its restarts and last exit ("" = none yet). */
const struct sm_slot *sm_pool_slot(const struct sm_pool *pool, int slot);
/* What systemd's STATUS= says: ready workers of the serving generation
 * against its size, and the slot waiting longest for a restart (0: none). */
struct sm_pool_summary {
	int ready;
	int desired;
	unsigned generation;
	int restarting_slot;
	double restart_in;
};
void sm_pool_summary(const struct sm_pool *pool, double now, struct sm_pool_summary *sum);
/* Bumped by every event and step that may change the summary. */
unsigned long sm_pool_changes(const struct sm_pool *pool);

#endif
