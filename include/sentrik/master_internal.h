/* master_internal: what the master's files share (master.c the loop,
 * master_workers.c the workers' watchers, master_control.c the clients). */
#ifndef SENTRIK_MASTER_INTERNAL_H
#define SENTRIK_MASTER_INTERNAL_H

#include <stdbool.h>
#include <sys/types.h>

#include <ev.h>

#include <sentrik/env.h>
#include <sentrik/error.h>
#include <sentrik/master.h>
#include <sentrik/notify.h>
#include <sentrik/pool.h>
#include <sentrik/reload.h>
#include <sentrik/spawn.h>
#include <sentrik/status.h>

#define SM_LAST_LINES 8 /* stderr lines kept of pipes closed before their reap */

struct client; /* a control or --metrics client, master_control.c's */

/* A worker's last stderr line, kept when its pipe ends before the worker
 * is reaped, for the crash-loop message. */
struct last_line {
	pid_t pid;
	char text[160];
};

/* A captured worker stream and its watcher, until the pipe's end of file. */
struct output_watch {
	ev_io io;
	struct sm_capture_stream *stream;
	struct output_watch *next;
	bool paused; /* the sink is full */
};

/* One worker's notify socket.  Its watcher's data is this record, so a
 * datagram is its worker's without a search; it goes with the worker. */
struct notify_watch {
	ev_io io;
	struct sm_master *m;
	struct sm_notify_in in;
	pid_t pid; /* 0 until the fork */
	int slot;
	struct notify_watch *next;
};

struct sm_master {
	struct ev_loop *loop;
	const struct sm_master_setup *setup;
	struct sm_reload reload; /* the config and COMMAND in force, and the next */
	struct sm_pool pool;
	struct sm_env env; /* the workers' environment, less per-worker vars */
	pid_t pid;
	ev_signal signals[65];
	size_t n_signals;
	double signal_said[65]; /* when a signal was last logged, for once a minute */
	ev_child child;
	ev_timer timer;
	struct sm_notifier manager; /* systemd's NOTIFY_SOCKET, fd -1 when none */
	ev_timer watchdog;          /* runs only when WATCHDOG_USEC is ours */
	struct output_watch *outputs;
	struct last_line last_lines[SM_LAST_LINES]; /* a ring */
	size_t last_next;
	ev_io sink_io; /* a full log pipe or socket becoming writable */
	ev_prepare sink_check;
	struct notify_watch *notifies;     /* one socket per worker; READY=1 etc. */
	unsigned long long notify_count;   /* names each socket once */
	int notify_qlen;                   /* datagrams per socket and wake-up, at most */
	ev_prepare status_check;           /* STATUS= when the pool's counts changed */
	unsigned long status_changes;      /* sm_pool_changes() when last looked at */
	struct sm_pool_summary status_was; /* what the manager was last told */
	ev_timer rss_timer;                /* runs only with --max-worker-rss */
	double stop_began;                 /* when the shutdown started; 0 = not yet */
	struct sm_error *err;              /* why the loop ended, when it failed */
	bool done;
	/* The control socket and --metrics: each client has its watcher and
	 * an idle timer only while it is connected (SPEC §10). */
	ev_io control_watch, metrics_watch;
	struct client *clients;
	size_t n_control, n_http, n_waiting;
	struct sm_status status; /* built for one request, its rows freed after */
	double started;
};

/* A worker forked in this batch, its exec not yet confirmed. */
struct spawn_wait {
	struct sm_spawn_pending pending;
	int slot;
	unsigned generation;
	const struct sm_config *cfg;
};

/* master.c: the clock, the loop's step and what it shares. */
double sm_master_now(void);
/* The config generation runs with: the reload's for its new one. */
const struct sm_config *sm_master_config_of(const struct sm_master *m, unsigned generation);
/* Run the pool's actions and arm the timer for its next deadline. */
void sm_master_reconcile(struct sm_master *m);

/* master_workers.c: spawns, exits, output capture, notify sockets, RSS. */
void sm_master_workers_start(struct sm_master *m);
void sm_master_workers_stop(struct sm_master *m);
/* Fork one worker; returns 1 when it waits in *w for its exec report. */
int sm_master_spawn_start(struct sm_master *m, const struct sm_action *a, struct spawn_wait *w);
void sm_master_spawn_finish(struct sm_master *m, struct spawn_wait *w);
/* The RSS check runs only while the config in force asks for it. */
void sm_master_rss_arm(struct sm_master *m);

/* master_control.c: the control socket and --metrics (SPEC §10). */
void sm_master_control_start(struct sm_master *m);
void sm_master_control_stop(struct sm_master *m);
/* A reload's start (why set: refused), end, or the master's exit. */
void sm_master_control_on_action(struct sm_master *m, enum sm_action_type what, const char *why);
/* After each round of events: answers that became due. */
void sm_master_control_progress(struct sm_master *m);

#endif
