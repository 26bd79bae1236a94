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

struct sm_status_worker {
	int slot;
	pid_t pid;
	unsigned generation;
	enum sm_status_wstate state;
	double age_s;
	unsigned long restarts;           /* of its slot */
	char last_exit[SM_EXIT_TEXT_MAX]; /* of its slot: "status 1", "signal 9"; "" = none */
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
	struct sm_pool_counters counters; /* a copy of the pool's totals */
	uint64_t log_lines_written;
	uint64_t log_lines_dropped;
};

/* Fill st from the pool, its counters and its slots (the master part that
 * is not the pool's — pid, uid, version, uptime, rss, log lines — is the
 * caller's).  Rows are ordered by slot, then generation.  -1 when out of
 * memory. */
int sm_status_build(struct sm_status *st, const struct sm_pool *pool, double now);
void sm_status_free(struct sm_status *st);

/* The renderings, appended to out. */
void sm_status_text(const struct sm_status *st, struct sm_buf *out);
void sm_status_json(const struct sm_status *st, struct sm_buf *out);
void sm_status_metrics(const struct sm_status *st, struct sm_buf *out);

/* /healthz: at least one worker ready.  /readyz: every slot 1..desired
 * has a ready worker of the serving generation. */
bool sm_status_healthy(const struct sm_status *st);
bool sm_status_all_ready(const struct sm_status *st);

#endif
