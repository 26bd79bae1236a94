/* status: what a running master says about itself — a snapshot of the
 * master, its workers and its counters, and its three renderings (text
 * table, JSON, Prometheus exposition).  Pure: no system calls. */
#ifndef SENTRIK_STATUS_H
#define SENTRIK_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <sentrik/pool.h>
#include <sentrik/proto.h>

enum sm_status_state {
	SM_STATE_STARTING,
	SM_STATE_RUNNING,
	SM_STATE_RELOADING,
	SM_STATE_STOPPING,
};

enum sm_status_wstate {
	SM_WSTATE_STARTING,
	SM_WSTATE_READY,
	SM_WSTATE_STOPPING,
	SM_WSTATES,
};

/* Why a worker exited, for the counters. */
enum sm_status_cause {
	SM_CAUSE_STATUS,   /* it exited by itself, unasked */
	SM_CAUSE_SIGNAL,   /* a signal the master did not send killed it */
	SM_CAUSE_TIMEOUT,  /* the master killed it: ready, watchdog or stop timeout */
	SM_CAUSE_RECYCLED, /* replaced on purpose (restart SLOT, recycling) */
	SM_CAUSE_STOPPED,  /* asked to stop: reload, scale down, shutdown */
	SM_CAUSE_CAUSES,
};

#define SM_EXIT_NONE (-1) /* no exit recorded yet */

/* The master's own counters.  Until the pool keeps them, the master
 * feeds them from the events it sees (sm_counters_exit and the reload
 * results); per-slot arrays are indexed 1..max_workers. */
struct sm_counters {
	uint64_t restarts;
	uint64_t start_failures;
	uint64_t reloads_ok;
	uint64_t reloads_failed;
	uint64_t exits[SM_CAUSE_CAUSES];
	uint32_t *slot_restarts;
	int *slot_last_exit; /* a wait status + 1; 0: no exit yet */
	int max_slot;
};

int sm_counters_init(struct sm_counters *c, int max_workers);
void sm_counters_free(struct sm_counters *c);
/* One worker of slot exited with wait status wstatus, for cause; restarted
 * and start_failure as the pool judged it. */
void sm_counters_exit(struct sm_counters *c, int slot, int wstatus, enum sm_status_cause cause,
                      bool restarted, bool start_failure);

struct sm_status_worker {
	int slot;
	pid_t pid;
	unsigned generation;
	enum sm_status_wstate state;
	double age_s;
	uint32_t restarts; /* of its slot */
	int last_exit;     /* of its slot: a wait status, or SM_EXIT_NONE */
};

struct sm_status {
	pid_t pid;
	uid_t uid;
	gid_t gid;
	const char *version;
	const char *command; /* the path of COMMAND */
	enum sm_status_state state;
	unsigned generation;
	double uptime_s;
	int desired_workers;
	int max_workers;
	uint64_t rss_bytes; /* 0: unknown */
	struct sm_status_worker *workers;
	size_t n_workers, cap_workers;
	struct sm_counters counters; /* a copy of the totals; slot arrays not used */
	uint64_t log_lines_written;
	uint64_t log_lines_dropped;
};

/* Fill st from the pool and the counters (the master part that is not the
 * pool's — pid, uid, version, uptime, rss, log lines — is the caller's).
 * Rows are ordered by slot, then generation.  -1 when out of memory. */
int sm_status_build(struct sm_status *st, const struct sm_pool *pool, const struct sm_counters *c,
                    double now);
void sm_status_free(struct sm_status *st);

/* "status 1", "signal 9 (KILL)"-less short form: "signal 9"; "" for none. */
void sm_status_exit_text(int wstatus, char *buf, size_t len);

/* The renderings, appended to out. */
void sm_status_text(const struct sm_status *st, struct sm_buf *out);
void sm_status_json(const struct sm_status *st, struct sm_buf *out);
void sm_status_metrics(const struct sm_status *st, struct sm_buf *out);

/* /healthz: at least one worker ready.  /readyz: every slot 1..desired
 * has a ready worker of the serving generation. */
bool sm_status_healthy(const struct sm_status *st);
bool sm_status_all_ready(const struct sm_status *st);

#endif
