/* master: the only user of libev.  Signals, child exits and the single
 * deadline timer become pool events; pool actions become system calls.
 * When nothing is due there is no timer, so an idle master never wakes.
 * What needs no watcher lives elsewhere (pool, reload, env, capture,
 * notify); what is left is watchers and their callbacks, one file. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>

#include <sentrik/env.h>
#include <sentrik/error.h>
#include <sentrik/fd.h>
#include <sentrik/log.h>
#include <sentrik/capture.h>
#include <sentrik/control.h>
#include <sentrik/master.h>
#include <sentrik/notify.h>
#include <sentrik/pid1.h>
#include <sentrik/pool.h>
#include <sentrik/reload.h>
#include <sentrik/rss.h>
#include <sentrik/sig.h>
#include <sentrik/spawn.h>
#include <sentrik/status.h>

#define SM_ACTIONS_PER_STEP 64
#define SM_RSS_EVERY 10.0 /* --max-worker-rss: seconds between checks */
#define SM_LAST_LINES 8   /* stderr lines kept of pipes closed before their reap */

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
	struct sm_counters counters;
	struct sm_status status; /* built for one request, its rows freed after */
	double started;
};

static void control_on_exit(struct sm_master *m, pid_t pid, int wstatus, const struct sm_worker *w,
                            const struct sm_exit_info *info);
static void control_on_action(struct sm_master *m, enum sm_action_type what, const char *why);
static void control_progress(struct sm_master *m);

static double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void signal_group(pid_t pid, int sig)
{
	if (kill(-pid, sig) < 0 && errno == ESRCH)
		(void)kill(pid, sig);
}

static void keep_last_line(struct sm_master *m, const struct sm_capture_stream *s)
{
	const char *text = sm_capture_stream_last_line(s);
	struct last_line *l;

	if (text == NULL)
		return;
	l = &m->last_lines[m->last_next++ % SM_LAST_LINES];
	l->pid = sm_capture_stream_pid(s);
	snprintf(l->text, sizeof(l->text), "%s", text);
}

static void on_output(struct ev_loop *loop, ev_io *w, int revents)
{
	struct sm_master *m = w->data;
	struct output_watch **pp, *c;

	(void)revents;
	for (pp = &m->outputs; (c = *pp) != NULL; pp = &c->next) {
		if (&c->io != w)
			continue;
		switch (sm_capture_readable(c->stream)) {
		case SM_CAPTURE_MORE:
			break;
		case SM_CAPTURE_PAUSE: /* back-pressure: the worker waits in its pipe */
			ev_io_stop(loop, &c->io);
			c->paused = true;
			break;
		case SM_CAPTURE_EOF:
			keep_last_line(m, c->stream);
			ev_io_stop(loop, &c->io);
			*pp = c->next;
			sm_capture_stream_free(c->stream);
			free(c);
			break;
		}
		return;
	}
}

static void on_sink_writable(struct ev_loop *loop, ev_io *w, int revents)
{
	struct sm_master *m = w->data;
	struct output_watch *c;

	(void)revents;
	if (!sm_capture_sink_writable())
		return;
	ev_io_stop(loop, w);
	for (c = m->outputs; c != NULL; c = c->next)
		if (c->paused) {
			c->paused = false;
			ev_io_start(loop, &c->io);
		}
}

/* Before the loop sleeps: a full sink is waited on, whoever filled it. */
static void on_sink_check(struct ev_loop *loop, ev_prepare *w, int revents)
{
	struct sm_master *m = w->data;

	(void)revents;
	if (sm_capture_sink_blocked() && !ev_is_active(&m->sink_io)) {
		ev_io_set(&m->sink_io, sm_capture_sink_fd(), EV_WRITE);
		ev_io_start(loop, &m->sink_io);
	}
}

/* After the spawn: the master keeps only the read ends, watched. */
static void output_start(struct sm_master *m, struct sm_capture_stream *streams[2],
                         int child_fds[2], pid_t pid)
{
	int i;

	for (i = 0; i < 2; i++) {
		struct output_watch *c;
		if (child_fds[i] >= 0)
			(void)close(child_fds[i]);
		if (streams[i] == NULL)
			continue;
		if (pid <= 0 || (c = calloc(1, sizeof(*c))) == NULL) {
			sm_capture_stream_free(streams[i]);
			continue;
		}
		sm_capture_stream_started(streams[i], pid);
		c->stream = streams[i];
		c->next = m->outputs;
		m->outputs = c;
		ev_io_init(&c->io, on_output, sm_capture_stream_fd(streams[i]), EV_READ);
		c->io.data = m;
		ev_io_start(m->loop, &c->io);
	}
}

/* A worker exited: its last lines go out before the line saying so.
 * Returns its last stderr line (NULL: none, or not captured), valid until
 * the loop runs again. */
static const char *output_exited(struct sm_master *m, pid_t pid)
{
	const char *last = NULL;
	struct output_watch *c;

	size_t i;

	for (c = m->outputs; c != NULL; c = c->next)
		if (sm_capture_stream_pid(c->stream) == pid) {
			sm_capture_worker_exited(c->stream);
			if (sm_capture_stream_last_line(c->stream) != NULL)
				last = sm_capture_stream_last_line(c->stream);
		}
	for (i = 0; last == NULL && i < SM_LAST_LINES; i++)
		if (m->last_lines[i].pid == pid && pid > 0)
			last = m->last_lines[i].text;
	return last;
}

static void output_close_all(struct sm_master *m)
{
	struct output_watch *c;

	sm_capture_flush();
	while ((c = m->outputs) != NULL) {
		m->outputs = c->next;
		ev_io_stop(m->loop, &c->io);
		sm_capture_worker_exited(c->stream);
		sm_capture_stream_free(c->stream);
		free(c);
	}
}

/* The generation being started runs with the config its reload read. */
static const struct sm_config *config_of(const struct sm_master *m, unsigned generation)
{
	if (m->reload.next != NULL && sm_pool_reloading(&m->pool) &&
	    generation == sm_pool_generation(&m->pool, true))
		return m->reload.next;
	return m->reload.cfg;
}

static void reconcile(struct sm_master *m);

/* An app that speaks sd_notify works unchanged under every mode that
 * listens: READY=1 (notify, alive), WATCHDOG=1, STOPPING=1 (recycling). */
static bool wants_notify(const struct sm_config *cfg)
{
	return cfg->ready != SM_READY_EXEC || cfg->timeout > 0 || cfg->max_worker_age > 0 ||
	       cfg->max_worker_rss > 0;
}

/* What a worker says; the pool finds it by the pid its socket stands for. */
static void notify_message(struct sm_master *m, const struct notify_watch *n,
                           const struct sm_notify_msg *msg)
{
	double now = mono_now();

	if (msg->status[0] != '\0')
		sm_debug("worker %d (pid %ld) status: %s", n->slot, (long)n->pid, msg->status);
	if (msg->ready && sm_pool_ready(&m->pool, n->pid, now) == 0)
		sm_debug("worker %d (pid %ld) ready", n->slot, (long)n->pid);
	if (msg->watchdog)
		(void)sm_pool_watchdog(&m->pool, n->pid, now);
	/* A ready worker leaving by itself: its replacement starts now. */
	if (msg->stopping && sm_pool_stopping(&m->pool, n->pid, now) == 0)
		sm_info("worker %d (pid %ld) sent STOPPING=1: starting its replacement", n->slot,
		        (long)n->pid);
}

/* At most the queue's length per wake-up: a worker that keeps its socket
 * full cannot hold the loop from the others. */
static void on_notify(struct ev_loop *loop, ev_io *w, int revents)
{
	struct notify_watch *n = w->data;
	struct sm_master *m = n->m;
	struct sm_notify_msg msg;
	int count, rc = SM_NOTIFY_NONE;

	(void)revents;
	for (count = 0; count < m->notify_qlen; count++) {
		rc = sm_notify_in_recv(&n->in, &msg);
		if (rc == SM_NOTIFY_MSG)
			notify_message(m, n, &msg);
		else if (rc != SM_NOTIFY_DROPPED)
			break;
	}
	if (rc < 0) {
		sm_warn("worker %d (pid %ld): notify socket no longer read", n->slot, (long)n->pid);
		ev_io_stop(loop, w);
	}
	reconcile(m);
}

/* Before the fork: the worker's socket, in the runtime directory when
 * there is one.  NULL with errno. */
static struct notify_watch *notify_open(struct sm_master *m, int slot)
{
	struct notify_watch *n = calloc(1, sizeof(*n));

	if (n == NULL)
		return NULL;
	if (sm_notify_in_open(&n->in, m->setup->runtime_dir, ++m->notify_count) < 0) {
		int err = errno;
		free(n);
		errno = err;
		return NULL;
	}
	n->m = m;
	n->slot = slot;
	return n;
}

static void notify_free(struct sm_master *m, struct notify_watch *n)
{
	ev_io_stop(m->loop, &n->io);
	sm_notify_in_close(&n->in);
	free(n);
}

/* After the fork: watched for pid; a failed fork (pid -1) frees it. */
static void notify_started(struct sm_master *m, struct notify_watch *n, pid_t pid)
{
	if (n == NULL)
		return;
	if (pid <= 0) {
		notify_free(m, n);
		return;
	}
	n->pid = pid;
	n->next = m->notifies;
	m->notifies = n;
	ev_io_init(&n->io, on_notify, n->in.fd, EV_READ);
	n->io.data = n;
	ev_io_start(m->loop, &n->io);
}

/* The worker is gone: so is its socket (closed, and its path removed). */
static void notify_gone(struct sm_master *m, pid_t pid)
{
	struct notify_watch **pp, *n;

	for (pp = &m->notifies; (n = *pp) != NULL; pp = &n->next)
		if (n->pid == pid) {
			*pp = n->next;
			notify_free(m, n);
			return;
		}
}

static void notify_close_all(struct sm_master *m)
{
	struct notify_watch *n;

	while ((n = m->notifies) != NULL) {
		m->notifies = n->next;
		notify_free(m, n);
	}
}

/* A worker forked in this batch, its exec not yet confirmed. */
struct spawn_wait {
	struct sm_spawn_pending pending;
	int slot;
	unsigned generation;
	const struct sm_config *cfg;
};

/* COMMAND with a relative path is executed from --chdir, not from where
 * the master was started: a file that is right there seems to be missing. */
static bool from_chdir(const struct sm_config *cfg, const struct sm_spawn_error *error)
{
	return cfg->chdir != NULL && strcmp(error->stage, "execute") == 0 &&
	       cfg->command[0][0] != '/' && strchr(cfg->command[0], '/') != NULL;
}

static void spawn_failed(struct sm_master *m, int slot, unsigned gen, const struct sm_config *cfg,
                         const struct sm_spawn_error *error)
{
	char reason[SM_PATH_MAX + 128], hint[SM_PATH_MAX / 2] = "";

	if (from_chdir(cfg, error))
		snprintf(hint, sizeof(hint), " (a relative path: resolved from --chdir %s)",
		         cfg->chdir);
	snprintf(reason, sizeof(reason), "cannot %s '%s': %s%s", error->stage,
	         strcmp(error->stage, "chdir to") == 0 ? cfg->chdir : cfg->command[0],
	         strerror(error->err), hint);
	/* At boot (or once a boot failure stops the pool) the FATAL line
	 * carries the reason once; later, each failure is worth a line. */
	if (sm_pool_phase(&m->pool) == SM_PHASE_RUNNING)
		sm_errorx("worker %d: %s", slot, reason);
	/* A full process table or descriptor table is the system's state, not
	 * the app's: retried, never counted toward --start-retries. */
	sm_pool_spawn_failed(&m->pool, slot, gen, reason,
	                     strcmp(error->stage, "fork") != 0 &&
	                         strcmp(error->stage, "set up descriptors for") != 0,
	                     mono_now());
}

/* Fork one worker; returns 1 when it waits in *w for its exec report. */
static int spawn_start(struct sm_master *m, const struct sm_action *a, struct spawn_wait *w)
{
	struct sm_capture_stream *streams[2];
	int child_fds[2];
	const struct sm_config *cfg = config_of(m, a->generation);
	char *envp[m->env.n + SM_ENV_WORKER_VARS + 1];
	struct notify_watch *nw = NULL;
	struct sm_env_worker vars = {
	    .slot = a->slot,
	    .generation = a->generation,
	    .watchdog_timeout = cfg->timeout,
	    .listen = m->setup->n_listen > 0,
	};
	struct sm_spawn_error error;
	struct sm_spawn req = {
	    .path = m->reload.path,
	    .argv = cfg->command,
	    .envp = envp,
	    .fds = m->setup->listen_fds,
	    .n_fds = m->setup->n_listen,
	    .stdout_fd = -1,
	    .stderr_fd = -1,
	    .chdir = cfg->chdir,
	    .master_pid = m->pid,
	    .nofile = m->setup->worker_nofile,
	};

	/* An earlier action of the same batch may have failed the boot: start
	 * nothing more, the pool only waits for the rest to go. */
	if (sm_pool_phase(&m->pool) == SM_PHASE_STOPPING) {
		sm_pool_spawn_failed(&m->pool, a->slot, a->generation, "shutting down", false,
		                     mono_now());
		return 0;
	}
	if (wants_notify(cfg) && (nw = notify_open(m, a->slot)) == NULL) {
		error = (struct sm_spawn_error){"create a notify socket for", errno};
		spawn_failed(m, a->slot, a->generation, cfg, &error);
		return 0;
	}
	vars.notify_socket = nw != NULL ? nw->in.name : NULL;
	req.listen_pid = sm_env_worker(&m->env, &vars, envp);

	if (sm_capture_pipes(streams, child_fds, a->slot) < 0) {
		error = (struct sm_spawn_error){"set up descriptors for", errno};
		output_start(m, streams, child_fds, -1);
		notify_started(m, nw, -1);
		spawn_failed(m, a->slot, a->generation, cfg, &error);
		return 0;
	}
	req.stdout_fd = child_fds[0];
	req.stderr_fd = child_fds[1];
	if (sm_spawn_start(&req, &w->pending, &error) < 0) {
		output_start(m, streams, child_fds, -1);
		notify_started(m, nw, -1);
		spawn_failed(m, a->slot, a->generation, cfg, &error);
		return 0;
	}
	output_start(m, streams, child_fds, w->pending.pid);
	notify_started(m, nw, w->pending.pid);
	w->slot = a->slot;
	w->generation = a->generation;
	w->cfg = cfg;
	return 1;
}

static void spawn_finish(struct sm_master *m, struct spawn_wait *w)
{
	struct sm_spawn_error error;
	pid_t pid = sm_spawn_finish(&w->pending, &error);

	if (pid > 0) {
		sm_debug("worker %d (pid %ld) started, generation %u", w->slot, (long)pid,
		         w->generation);
		sm_pool_spawned(&m->pool, w->slot, w->generation, pid, mono_now());
	} else {
		notify_gone(m, w->pending.pid);
		spawn_failed(m, w->slot, w->generation, w->cfg, &error);
	}
}

static void watch_signal(struct sm_master *m, int sig);

static void watch_forwarded(struct sm_master *m, uint64_t forward)
{
	int sig;

	for (sig = 1; sig <= 64; sig++)
		if (forward & (UINT64_C(1) << (sig - 1)))
			watch_signal(m, sig);
}

/* A reload's preparation (reload.c reads and checks); here only what
 * needs the loop: the new forwarded signals. */
static int prepare_reload(struct sm_master *m)
{
	const struct sm_config *next;
	struct sm_pool_params params;

	if (sm_reload_read(&m->reload, sm_pool_generation(&m->pool, false)) < 0)
		return -1;
	next = m->reload.next;
	sm_reload_begin(&m->reload);
	if (next == NULL)
		return 0;
	sm_reload_pool_params(next, &params);
	sm_pool_set_params(&m->pool, &params);
	watch_forwarded(m, next->forward);
	return 0;
}

static void rss_arm(struct sm_master *m);

/* The new generation failed: the old config's settings are back. */
static void drop_next_config(struct sm_master *m)
{
	struct sm_pool_params params;

	if (m->reload.next == NULL)
		return;
	sm_reload_cancel(&m->reload);
	sm_reload_pool_params(m->reload.cfg, &params);
	sm_pool_set_params(&m->pool, &params);
	rss_arm(m);
}

/* "3/4 workers ready, generation 2", and the slot a restart waits for. */
static void status_text(const struct sm_pool_summary *sum, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%d/%d workers ready, ", sum->ready, sum->desired);

	if (n < 0 || (size_t)n >= len)
		return;
	if (sum->restarting_slot > 0 && sum->ready < sum->desired)
		snprintf(buf + n, len - (size_t)n, "slot %d restarting in %.1f s",
		         sum->restarting_slot, sum->restart_in);
	else
		snprintf(buf + n, len - (size_t)n, "generation %u", sum->generation);
}

/* READY=1 with the pool's state, or after a failed reload why the old
 * generation keeps serving. */
static void tell_ready(struct sm_master *m, const char *why)
{
	char status[160];

	sm_pool_summary(&m->pool, mono_now(), &m->status_was);
	m->status_changes = sm_pool_changes(&m->pool);
	status_text(&m->status_was, status, sizeof(status));
	sm_notifier_ready(&m->manager, status, sm_pool_generation(&m->pool, false), why);
}

/* Before the loop sleeps, so at most once per iteration: STATUS= again
 * when the ready count, the size or the generation changed. */
static void on_status_check(struct ev_loop *loop, ev_prepare *w, int revents)
{
	struct sm_master *m = w->data;
	struct sm_pool_summary sum;
	char status[160];

	(void)loop;
	(void)revents;
	if (!m->manager.told_ready || sm_pool_phase(&m->pool) == SM_PHASE_STOPPING ||
	    sm_pool_changes(&m->pool) == m->status_changes)
		return;
	m->status_changes = sm_pool_changes(&m->pool);
	sm_pool_summary(&m->pool, mono_now(), &sum);
	if (sum.ready == m->status_was.ready && sum.desired == m->status_was.desired &&
	    sum.generation == m->status_was.generation)
		return;
	m->status_was = sum;
	status_text(&sum, status, sizeof(status));
	sm_notifier_status(&m->manager, status);
}

/* Whatever started the shutdown (signal or failed boot), say it once. */
static void tell_stopping(struct sm_master *m)
{
	if (sm_pool_phase(&m->pool) != SM_PHASE_STOPPING)
		return;
	if (m->stop_began == 0)
		m->stop_began = mono_now();
	sm_notifier_stopping(&m->manager);
}

static void on_watchdog(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	sm_notifier_tell(w->data, "WATCHDOG=1");
}

/* The config is read first: a refused reload takes no generation number,
 * and the manager still hears RELOADING=1 closed by READY=1. */
static void start_reload(struct sm_master *m)
{
	char status[96];

	if (prepare_reload(m) < 0) {
		sm_pool_reload_abort(&m->pool);
		sm_notifier_reloading(&m->manager, "reloading");
		tell_ready(m, "could not prepare the new generation, see the log");
		control_on_action(m, SM_ACT_RELOAD_START, "the new config could not be used");
		return;
	}
	control_on_action(m, SM_ACT_RELOAD_START, NULL);
	sm_info("reload: starting generation %u with %d %s", sm_pool_generation(&m->pool, true),
	        sm_pool_pending_target(&m->pool),
	        sm_pool_pending_target(&m->pool) == 1 ? "worker" : "workers");
	snprintf(status, sizeof(status), "reloading: starting generation %u",
	         sm_pool_generation(&m->pool, true));
	sm_notifier_reloading(&m->manager, status);
}

static void do_action(struct sm_master *m, const struct sm_action *a)
{
	switch (a->type) {
	case SM_ACT_SPAWN: /* batched in reconcile() */
		break;
	case SM_ACT_SIGNAL:
		sm_debug("worker %d (pid %ld): sending %s to its group", a->slot, (long)a->pid,
		         sm_sig_name(a->sig));
		signal_group(a->pid, a->sig);
		break;
	case SM_ACT_KILL:
		sm_warnx("worker %d (pid %ld) %s: sending KILL", a->slot, (long)a->pid, a->reason);
		signal_group(a->pid, SIGKILL);
		break;
	case SM_ACT_BOOTED:
		sm_info("%d %s ready, generation %u", sm_pool_target(&m->pool),
		        sm_pool_target(&m->pool) == 1 ? "worker" : "workers",
		        sm_pool_generation(&m->pool, false));
		tell_ready(m, NULL);
		break;
	case SM_ACT_RELOAD_START:
		start_reload(m);
		break;
	case SM_ACT_RELOADED:
		sm_info("reload done: generation %u serving with %d %s",
		        sm_pool_generation(&m->pool, false), sm_pool_target(&m->pool),
		        sm_pool_target(&m->pool) == 1 ? "worker" : "workers");
		sm_reload_commit(&m->reload);
		rss_arm(m);
		tell_ready(m, NULL);
		control_on_action(m, SM_ACT_RELOADED, NULL);
		break;
	case SM_ACT_WARN:
		sm_warnx("%s", a->reason);
		break;
	case SM_ACT_ROLLED_BACK:
		sm_errorx("reload failed: %s; generation %u keeps serving", a->reason,
		          sm_pool_generation(&m->pool, false));
		drop_next_config(m);
		tell_ready(m, a->reason);
		control_on_action(m, SM_ACT_ROLLED_BACK, a->reason);
		break;
	case SM_ACT_EXIT:
		if (a->code != 0)
			(void)sm_error_set(m->err, a->code, "%s",
			                   a->reason[0] ? a->reason : "stopped");
		m->done = true;
		control_on_action(m, SM_ACT_EXIT, a->reason[0] ? a->reason : NULL);
		ev_break(m->loop, EVBREAK_ALL);
		break;
	}
}

/* Run the pool's actions until it has nothing more to do now, then arm
 * the one timer for its next deadline, or leave it stopped. */
static void reconcile(struct sm_master *m)
{
	struct sm_action acts[SM_ACTIONS_PER_STEP];
	double next = INFINITY;
	size_t n, i;

	struct spawn_wait waits[SM_ACTIONS_PER_STEP];
	size_t n_waits, k;

	tell_stopping(m);
	while (!m->done &&
	       (n = sm_pool_step(&m->pool, mono_now(), acts, SM_ACTIONS_PER_STEP, &next)) > 0) {
		/* Every spawn of the batch is forked before any exec is waited
		 * for, so the children exec in parallel with the next forks. */
		n_waits = 0;
		for (i = 0; i < n; i++) {
			if (acts[i].type == SM_ACT_SPAWN) {
				n_waits += (size_t)spawn_start(m, &acts[i], &waits[n_waits]);
				continue;
			}
			for (k = 0; k < n_waits; k++)
				spawn_finish(m, &waits[k]);
			n_waits = 0;
			do_action(m, &acts[i]);
			tell_stopping(m);
		}
		for (k = 0; k < n_waits; k++)
			spawn_finish(m, &waits[k]);
		tell_stopping(m);
	}
	if (m->n_waiting > 0)
		control_progress(m);
	ev_timer_stop(m->loop, &m->timer);
	if (!m->done && isfinite(next)) {
		double after = next - mono_now();
		ev_timer_set(&m->timer, after > 0 ? after : 0, 0.);
		ev_timer_start(m->loop, &m->timer);
	}
}

static void on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	reconcile(w->data);
}

/* A worker that bound the port itself dies at start: say where its
 * socket is.  Known only from captured output. */
static void hint_in_use(const struct sm_master *m, const struct sm_exit_info *info, pid_t pid)
{
	if (info->expected || (info->was_ready && info->lifetime >= SM_BACKOFF_EARLY) ||
	    !sm_capture_said_in_use(pid))
		return;
	sm_warnx("worker %d said 'address already in use': %s", info->slot,
	         m->setup->n_listen > 0
	             ? "workers take their socket from the master, from fd 3 (LISTEN_FDS); "
	               "the app must not bind the port itself (e.g. uvicorn --fd 3)"
	             : "workers of one pool cannot each bind the same port; bind it with "
	               "--bind and have the app take fd 3 (LISTEN_FDS)");
}

static void log_crash(pid_t pid, const char *how, const struct sm_exit_info *info)
{
	if (info->restart_in == 0)
		sm_warnx("worker %d (pid %ld) %s after %.3f s; restarting", info->slot, (long)pid,
		         how, info->lifetime);
	else if (info->restart_in > 0)
		sm_warnx("worker %d (pid %ld) %s after %.3f s; restarting in %.1f s", info->slot,
		         (long)pid, how, info->lifetime, info->restart_in);
	else
		sm_warnx("worker %d (pid %ld) %s", info->slot, (long)pid, how);
}

/* The line saying how a worker ended and what comes of it. */
static void log_exit(struct sm_master *m, pid_t pid, const char *how,
                     const struct sm_exit_info *info)
{
	int retries = m->reload.cfg->start_retries;
	char count[48] = "";

	if (info->planned)
		sm_info("worker %d (pid %ld) %s: a planned exit (it sent STOPPING=1)", info->slot,
		        (long)pid, how);
	else if (info->recycled)
		sm_info("worker %d (pid %ld) recycled, %s", info->slot, (long)pid, how);
	else if (info->expected)
		sm_info("worker %d (pid %ld) %s", info->slot, (long)pid, how);
	else if (info->start_failure && info->failures > 0 && info->restart_in >= 0) {
		if (retries > 0)
			snprintf(count, sizeof(count), " of %d", retries);
		sm_warnx("worker %d (pid %ld) %s after %.3f s, %s: start failure %d%s in a "
		         "row; restarting in %.1f s",
		         info->slot, (long)pid, how, info->lifetime,
		         info->was_ready ? "within 1 s of its exec" : "before it was ready",
		         info->failures, count, info->restart_in);
	} else
		log_crash(pid, how, info);
}

static void on_child(struct ev_loop *loop, ev_child *w, int revents)
{
	struct sm_master *m = w->data;
	struct sm_exit_info info;
	struct sm_worker *gone, before = {0};
	const char *last;
	char how[64];

	(void)loop;
	(void)revents;
	sm_exit_describe(w->rstatus, how, sizeof(how));
	last = output_exited(m, w->rpid);
	notify_gone(m, w->rpid);
	if ((gone = sm_pool_find(&m->pool, w->rpid)) != NULL)
		before = *gone;
	if (sm_pool_exited(&m->pool, w->rpid, w->rstatus, last, mono_now(), &info) < 0) {
		sm_debug("reaped pid %ld, not a worker, which %s", (long)w->rpid, how);
		return;
	}
	control_on_exit(m, w->rpid, w->rstatus, &before, &info);
	/* Whatever the worker left in its process group goes with it. */
	(void)kill(-w->rpid, SIGKILL);
	hint_in_use(m, &info, w->rpid);
	log_exit(m, w->rpid, how, &info);
	reconcile(m);
}

static void forward(struct sm_master *m, int sig)
{
	const struct sm_worker *w;
	size_t iter = 0;

	while ((w = sm_pool_next_worker(&m->pool, &iter)) != NULL)
		(void)kill(w->pid, sig);
}

/* Whether a line about sig is due: once a minute at most, so a storm of
 * signals is a few lines, not a flood. */
static bool signal_say(struct sm_master *m, int sig)
{
	double now = mono_now();

	if (m->signal_said[sig] > 0 && now - m->signal_said[sig] < 60)
		return false;
	m->signal_said[sig] = now;
	return true;
}

/* A repeated TERM is no request to hurry: coreutils' timeout and some
 * runtimes send TERM to the pid and to its group at once.  INT or QUIT
 * make a graceful shutdown quick. */
static void stop_gracefully(struct sm_master *m, int sig)
{
	if (sm_pool_phase(&m->pool) != SM_PHASE_STOPPING) {
		sm_info("%s: graceful shutdown of %zu workers", sm_sig_name(sig),
		        sm_pool_live(&m->pool));
		sm_pool_shutdown(&m->pool, false, mono_now());
	} else if (signal_say(m, sig)) {
		sm_info("%s again: the shutdown goes on as it is (INT or QUIT makes it quick)",
		        sm_sig_name(sig));
	}
}

/* SPEC §5's last rows: PID 1's halt signals, and the signals whose default
 * would stop or kill the master, said and ignored unless forwarded. */
static void other_signal(struct sm_master *m, int sig)
{
	switch (sm_sig_classify(sig, m->setup->is_pid1)) {
	case SM_SIG_HALT:
		stop_gracefully(m, sig);
		break;
	case SM_SIG_STRAY:
		if (!(m->reload.cfg->forward & (UINT64_C(1) << (sig - 1))) && signal_say(m, sig))
			sm_warnx("%s: %s (ignored; said once a minute)", sm_sig_name(sig),
			         sm_sig_meaning(sig));
		break;
	default:
		break;
	}
}

/* TTIN/TTOU: the serving generation's size, or during a reload the new
 * one's; the line says when the bounds held it. */
static void scale(struct sm_master *m, int sig)
{
	bool reloading = sm_pool_reloading(&m->pool);
	int wanted = sm_pool_scale(&m->pool, sig == SIGTTIN ? 1 : -1);
	int now = reloading ? sm_pool_pending_target(&m->pool) : sm_pool_target(&m->pool);
	char where[48] = "";

	if (reloading)
		snprintf(where, sizeof(where), " in generation %u",
		         sm_pool_generation(&m->pool, true));
	if (wanted > now)
		sm_info("%s: %d workers wanted%s, capped at --max-workers %d", sm_sig_name(sig),
		        wanted, where, now);
	else if (wanted < now)
		sm_info("%s: 1 worker wanted%s, the least there is", sm_sig_name(sig), where);
	else
		sm_info("%s: %d %s wanted%s", sm_sig_name(sig), now,
		        now == 1 ? "worker" : "workers", where);
}

static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct sm_master *m = w->data;
	int sig = w->signum;

	(void)loop;
	(void)revents;
	switch (sig) {
	case SIGTERM:
		stop_gracefully(m, sig);
		break;
	case SIGINT:
	case SIGQUIT:
		if (sm_pool_shutdown(&m->pool, true, mono_now()))
			sm_info("%s: quick shutdown", sm_sig_name(sig));
		break;
	case SIGHUP:
		sm_pool_reload(&m->pool);
		break;
	case SIGTTIN:
	case SIGTTOU:
		scale(m, sig);
		break;
	case SIGUSR1:
		(void)sm_capture_reopen();
		break;
	default:
		other_signal(m, sig);
		break;
	}
	if (m->reload.cfg->forward & (UINT64_C(1) << (sig - 1)))
		forward(m, sig);
	reconcile(m);
}

/* ---- the control socket and --metrics (SPEC §10) ---- */

/* What a control client waits for before its answer. */
enum client_wait {
	WAIT_NONE,
	WAIT_RELOAD_START, /* a reload that starts after its request */
	WAIT_RELOAD_END,   /* that reload's result */
	WAIT_RESTART,      /* slot's replacement of old_pid being ready */
	WAIT_STOP,         /* the workers being gone */
};

struct client {
	ev_io io;
	ev_timer idle; /* runs while it owes us a request or takes a reply */
	struct sm_conn conn;
	struct sm_master *m;
	enum client_wait wait;
	int slot;
	pid_t old_pid;
	struct client *next;
};

static void client_close(struct client *c)
{
	struct sm_master *m = c->m;
	struct client **pp;

	for (pp = &m->clients; *pp != NULL; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	ev_io_stop(m->loop, &c->io);
	ev_timer_stop(m->loop, &c->idle);
	if (c->wait != WAIT_NONE)
		m->n_waiting--;
	if (c->conn.http)
		m->n_http--;
	else
		m->n_control--;
	close(c->conn.fd);
	sm_buf_free(&c->conn.out);
	free(c);
}

/* The reply is in out: write what the socket takes now, the rest when it
 * is writable, then close. */
static void client_send(struct client *c)
{
	struct sm_master *m = c->m;

	if (c->wait != WAIT_NONE)
		m->n_waiting--;
	c->wait = WAIT_NONE;
	if (c->conn.out.failed || sm_conn_write(&c->conn) != 0) {
		client_close(c);
		return;
	}
	ev_io_stop(m->loop, &c->io);
	ev_io_set(&c->io, c->conn.fd, EV_WRITE);
	ev_io_start(m->loop, &c->io);
	ev_timer_again(m->loop, &c->idle);
}

static void client_reply(struct client *c, bool ok, const char *body, size_t len, const char *fmt,
                         ...) __attribute__((format(printf, 5, 6)));

static void client_reply(struct client *c, bool ok, const char *body, size_t len, const char *fmt,
                         ...)
{
	char head[SM_POOL_REASON_MAX + 128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(head, sizeof(head), fmt, ap);
	va_end(ap);
	sm_proto_reply(&c->conn.out, ok, head, body, len);
	client_send(c);
}

/* Park a client until the event it asked for; no idle limit meanwhile. */
static void client_wait(struct client *c, enum client_wait what)
{
	ev_io_stop(c->m->loop, &c->io);
	ev_timer_stop(c->m->loop, &c->idle);
	if (c->wait == WAIT_NONE)
		c->m->n_waiting++;
	c->wait = what;
}

/* The one place a status snapshot is made: the pool and the master's
 * counters, plus what only the master knows. */
static const struct sm_status *snapshot(struct sm_master *m)
{
	struct sm_status *st = &m->status;
	double now = mono_now();

	if (sm_status_build(st, &m->pool, &m->counters, now) < 0)
		return NULL;
	st->pid = m->pid;
	st->uid = getuid();
	st->gid = getgid();
	st->version = SM_VERSION;
	st->command = m->reload.path;
	st->uptime_s = now - m->started;
	st->rss_bytes = sm_control_rss();
	st->log_lines_written = sm_capture_lines_written();
	st->log_lines_dropped = sm_capture_lines_dropped();
	return st;
}

static void reply_status(struct client *c, const struct sm_request *req)
{
	const struct sm_status *st = snapshot(c->m);
	struct sm_buf body = {0};

	if (st == NULL) {
		client_reply(c, false, NULL, 0, "out of memory");
		return;
	}
	if (req->verb == SM_REQ_METRICS)
		sm_status_metrics(st, &body);
	else if (req->json)
		sm_status_json(st, &body);
	else
		sm_status_text(st, &body);
	sm_status_free(&c->m->status);
	if (body.failed)
		client_reply(c, false, NULL, 0, "out of memory");
	else
		client_reply(c, true, body.data, body.len, "%s", "");
	sm_buf_free(&body);
}

static const struct sm_worker *slot_worker(struct sm_master *m, int slot)
{
	unsigned gen = sm_pool_generation(&m->pool, false);
	const struct sm_worker *w;
	size_t iter = 0;

	while ((w = sm_pool_next_worker(&m->pool, &iter)) != NULL)
		if (w->slot == slot && w->generation == gen && !w->retire &&
		    w->state != SM_WORKER_STOPPING)
			return w;
	return NULL;
}

/* restart SLOT.  Until the pool can start a slot's replacement before it
 * stops the old worker (recycling), the old one gets its stop signal and
 * the pool replaces it as it would any exit; the answer waits for the
 * replacement to be ready either way. */
static void request_restart(struct client *c, int slot)
{
	struct sm_master *m = c->m;
	const struct sm_worker *w = slot_worker(m, slot);
	struct client *o;

	if (sm_pool_phase(&m->pool) != SM_PHASE_RUNNING || sm_pool_reloading(&m->pool)) {
		client_reply(c, false, NULL, 0, "restart: the pool is %s; try again later",
		             sm_pool_phase(&m->pool) == SM_PHASE_STOPPING ? "stopping"
		             : sm_pool_reloading(&m->pool)                ? "reloading"
		                                                          : "starting");
		return;
	}
	if (w == NULL || slot > sm_pool_target(&m->pool)) {
		client_reply(c, false, NULL, 0, "restart: no running worker in slot %d", slot);
		return;
	}
	for (o = m->clients; o != NULL; o = o->next)
		if (o->wait == WAIT_RESTART && o->slot == slot) {
			client_reply(c, false, NULL, 0, "restart: slot %d is being restarted",
			             slot);
			return;
		}
	sm_info("control: restarting worker %d (pid %ld)", slot, (long)w->pid);
	c->slot = slot;
	c->old_pid = w->pid;
	client_wait(c, WAIT_RESTART);
	signal_group(w->pid, config_of(m, w->generation)->stop_signal);
}

static void request_scale(struct client *c, long n)
{
	struct sm_master *m = c->m;

	if (sm_pool_phase(&m->pool) == SM_PHASE_STOPPING) {
		client_reply(c, false, NULL, 0, "scale: the master is stopping");
		return;
	}
	if (n > m->pool.params.max_workers) {
		client_reply(c, false, NULL, 0, "scale: %ld is above --max-workers %d", n,
		             m->pool.params.max_workers);
		return;
	}
	sm_pool_scale(&m->pool, (int)n - sm_pool_target(&m->pool));
	sm_info("control: %d workers wanted", sm_pool_target(&m->pool));
	client_reply(c, true, NULL, 0, "%d workers wanted", sm_pool_target(&m->pool));
}

static void request_stop(struct client *c, bool quick)
{
	struct sm_master *m = c->m;

	if (sm_pool_shutdown(&m->pool, quick, mono_now()) || !quick)
		sm_info("control: %s shutdown of %zu workers", quick ? "quick" : "graceful",
		        sm_pool_live(&m->pool));
	client_wait(c, WAIT_STOP);
}

static void handle_control(struct client *c)
{
	struct sm_master *m = c->m;
	struct sm_request req;
	char why[SM_PROTO_REQUEST_MAX + 64];

	if (sm_proto_parse(c->conn.in, c->conn.in_len, &req, why, sizeof(why)) < 0) {
		client_reply(c, false, NULL, 0, "%s", why);
		return;
	}
	switch (req.verb) {
	case SM_REQ_STATUS:
	case SM_REQ_METRICS:
		reply_status(c, &req);
		return;
	case SM_REQ_RELOAD:
		if (sm_pool_phase(&m->pool) == SM_PHASE_STOPPING) {
			client_reply(c, false, NULL, 0, "reload: the master is stopping");
			return;
		}
		sm_info("control: reload");
		client_wait(c, WAIT_RELOAD_START);
		sm_pool_reload(&m->pool);
		break;
	case SM_REQ_SCALE:
		request_scale(c, req.n);
		break;
	case SM_REQ_RESTART:
		request_restart(c, (int)req.n);
		break;
	case SM_REQ_STOP:
		request_stop(c, req.quick);
		break;
	case SM_REQ_REOPEN_LOGS:
		if (sm_capture_reopen() < 0)
			client_reply(c, false, NULL, 0, "cannot reopen the log file (see the log)");
		else
			client_reply(c, true, NULL, 0, "log reopened");
		return;
	}
	reconcile(m);
}

static void handle_http(struct client *c)
{
	struct sm_http_request req;
	const struct sm_status *st;
	struct sm_buf body = {0};
	const char *type = "text/plain; charset=utf-8";
	int code = sm_http_parse(c->conn.in, c->conn.in_len, &req);

	if (code == 200 && (st = snapshot(c->m)) == NULL)
		code = 503;
	if (code != 200) {
		sm_buf_printf(&body, "%d\n", code);
	} else if (req.target == SM_HTTP_METRICS) {
		sm_status_metrics(st, &body);
		type = "text/plain; version=0.0.4; charset=utf-8";
	} else {
		bool good =
		    req.target == SM_HTTP_HEALTHZ ? sm_status_healthy(st) : sm_status_all_ready(st);
		code = good ? 200 : 503;
		sm_buf_str(&body, good ? "ok\n" : "not ready\n");
	}
	sm_status_free(&c->m->status);
	sm_http_response(&c->conn.out, req.minor, code, type, body.data, body.len);
	sm_buf_free(&body);
	client_send(c);
}

static void on_client_io(struct ev_loop *loop, ev_io *w, int revents)
{
	struct client *c = w->data;

	(void)loop;
	if (revents & EV_WRITE) {
		int rc = sm_conn_write(&c->conn);
		if (rc != 0)
			client_close(c);
		else
			ev_timer_again(c->m->loop, &c->idle);
		return;
	}
	switch (sm_conn_read(&c->conn)) {
	case SM_CONN_MORE:
		return;
	case SM_CONN_GONE:
		client_close(c);
		return;
	case SM_CONN_TOO_LONG:
		if (c->conn.http) {
			sm_http_response(&c->conn.out, 0, 431, "text/plain", "431\n", 4);
			client_send(c);
		} else {
			client_reply(c, false, NULL, 0, "request longer than %d bytes",
			             SM_PROTO_REQUEST_MAX);
		}
		return;
	case SM_CONN_REQUEST:
		ev_io_stop(c->m->loop, &c->io);
		if (c->conn.http)
			handle_http(c);
		else
			handle_control(c);
		return;
	}
}

static void on_client_idle(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	client_close(w->data);
}

/* A new client: served when there is room and, on the control socket,
 * when it runs as root or as us; otherwise one line and closed. */
static void client_new(struct sm_master *m, int fd, bool http)
{
	struct client *c;
	uid_t uid = 0;
	char refusal[128];

	if ((http ? m->n_http >= SM_METRICS_CLIENTS_MAX : m->n_control >= SM_PROTO_CLIENTS_MAX)) {
		sm_conn_refuse(fd, http ? "HTTP/1.0 503 Service Unavailable\r\nContent-Length: "
		                          "0\r\nConnection: close\r\n\r\n"
		                        : "error busy: too many control clients\n.\n");
		close(fd);
		return;
	}
	if (!http && (sm_proto_peer(fd, &uid, NULL) < 0 || (uid != 0 && uid != geteuid()))) {
		snprintf(refusal, sizeof(refusal), "error not allowed: uid %lu may not use it\n.\n",
		         (unsigned long)uid);
		sm_conn_refuse(fd, refusal);
		sm_debug("control: refused a client of uid %lu", (unsigned long)uid);
		close(fd);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		return;
	}
	c->m = m;
	c->conn.fd = fd;
	c->conn.http = http;
	c->conn.uid = uid;
	c->next = m->clients;
	m->clients = c;
	*(http ? &m->n_http : &m->n_control) += 1;
	ev_io_init(&c->io, on_client_io, fd, EV_READ);
	c->io.data = c;
	ev_io_start(m->loop, &c->io);
	ev_init(&c->idle, on_client_idle);
	c->idle.repeat = SM_CONTROL_IDLE;
	c->idle.data = c;
	ev_timer_again(m->loop, &c->idle);
}

static void on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
	struct sm_master *m = w->data;
	int fd, n = 0;

	(void)loop;
	(void)revents;
	/* A bounded batch: a flood of connections never starves the rest. */
	while (n++ < 64 && (fd = sm_conn_accept(w->fd)) >= 0)
		client_new(m, fd, w == &m->metrics_watch);
}

static void control_on_exit(struct sm_master *m, pid_t pid, int wstatus, const struct sm_worker *w,
                            const struct sm_exit_info *info)
{
	enum sm_status_cause cause;
	bool ours = false, restarted;
	struct client *c;

	for (c = m->clients; c != NULL; c = c->next)
		ours |= c->wait == WAIT_RESTART && c->old_pid == pid;
	if (w->killed)
		cause = SM_CAUSE_TIMEOUT;
	else if (ours)
		cause = SM_CAUSE_RECYCLED;
	else if (info->expected)
		cause = SM_CAUSE_STOPPED;
	else
		cause = WIFSIGNALED(wstatus) ? SM_CAUSE_SIGNAL : SM_CAUSE_STATUS;
	restarted = !ours && info->restart_in >= 0;
	sm_counters_exit(&m->counters, info->slot, wstatus, cause, restarted,
	                 !ours && !info->expected && !info->was_ready);
}

/* A reload's start (why set: refused), end (RELOADED, ROLLED_BACK with
 * why) or the master's exit (why set: it failed): counted, and answered
 * to the clients waiting for it. */
static void control_on_action(struct sm_master *m, enum sm_action_type what, const char *why)
{
	struct client *c, *next;

	if (what == SM_ACT_RELOADED)
		m->counters.reloads_ok++;
	else if (what == SM_ACT_ROLLED_BACK || (what == SM_ACT_RELOAD_START && why != NULL))
		m->counters.reloads_failed++;
	for (c = m->clients; c != NULL; c = next) {
		next = c->next;
		if (what == SM_ACT_EXIT && c->wait == WAIT_STOP)
			client_reply(c, why == NULL, NULL, 0, "%s", why ? why : "stopped");
		else if (what == SM_ACT_EXIT && c->wait != WAIT_NONE)
			client_reply(c, false, NULL, 0, "the master is stopping");
		else if (what == SM_ACT_RELOAD_START && c->wait == WAIT_RELOAD_START && why == NULL)
			c->wait = WAIT_RELOAD_END;
		else if (c->wait != WAIT_RELOAD_END && c->wait != WAIT_RELOAD_START)
			continue;
		else if (what == SM_ACT_RELOAD_START && why != NULL)
			client_reply(c, false, NULL, 0,
			             "reload refused: %s; generation %u keeps serving", why,
			             sm_pool_generation(&m->pool, false));
		else if (what == SM_ACT_RELOADED && c->wait == WAIT_RELOAD_END)
			client_reply(c, true, NULL, 0, "reloaded: generation %u serving %d workers",
			             sm_pool_generation(&m->pool, false), sm_pool_target(&m->pool));
		else if (what == SM_ACT_ROLLED_BACK && c->wait == WAIT_RELOAD_END)
			client_reply(c, false, NULL, 0,
			             "rolled back: %s; generation %u keeps serving", why,
			             sm_pool_generation(&m->pool, false));
	}
}

/* After each round of events: restarts whose replacement is ready, and
 * waiters a shutdown leaves without an answer. */
static void control_progress(struct sm_master *m)
{
	bool stopping = sm_pool_phase(&m->pool) == SM_PHASE_STOPPING;
	struct client *c, *next;

	for (c = m->clients; c != NULL; c = next) {
		const struct sm_worker *w;
		next = c->next;
		if (c->wait == WAIT_NONE || c->wait == WAIT_STOP)
			continue;
		if (stopping) {
			client_reply(c, false, NULL, 0, "the master is stopping");
			continue;
		}
		if (c->wait != WAIT_RESTART)
			continue;
		w = slot_worker(m, c->slot);
		if (w != NULL && w->pid != c->old_pid && w->state == SM_WORKER_READY)
			client_reply(c, true, NULL, 0, "slot %d: pid %ld replaced by pid %ld",
			             c->slot, (long)c->old_pid, (long)w->pid);
		else if (w == NULL && c->slot > sm_pool_target(&m->pool))
			client_reply(c, false, NULL, 0, "slot %d was scaled away", c->slot);
	}
}

static void control_start(struct sm_master *m)
{
	const struct sm_master_setup *s = m->setup;

	if (s->control_fd >= 0) {
		ev_io_init(&m->control_watch, on_accept, s->control_fd, EV_READ);
		m->control_watch.data = m;
		ev_io_start(m->loop, &m->control_watch);
	}
	if (s->metrics_fd >= 0 && sm_set_nonblock(s->metrics_fd, 1) == 0) {
		ev_io_init(&m->metrics_watch, on_accept, s->metrics_fd, EV_READ);
		m->metrics_watch.data = m;
		ev_io_start(m->loop, &m->metrics_watch);
	}
}

/* At exit: a reply already made is given its chance, then every client
 * goes. */
static void control_stop(struct sm_master *m)
{
	struct client *c;

	ev_io_stop(m->loop, &m->control_watch);
	ev_io_stop(m->loop, &m->metrics_watch);
	while ((c = m->clients) != NULL) {
		m->clients = c->next; /* unlinked here: client_close finds nothing more */
		if (c->conn.out.len > 0)
			(void)sm_conn_write(&c->conn);
		client_close(c);
	}
	sm_status_free(&m->status);
	sm_counters_free(&m->counters);
}

static void watch_signal(struct sm_master *m, int sig)
{
	size_t i;

	for (i = 0; i < m->n_signals; i++)
		if (m->signals[i].signum == sig)
			return;
	if (m->n_signals == sizeof(m->signals) / sizeof(m->signals[0]))
		return;
	ev_signal_init(&m->signals[m->n_signals], on_signal, sig);
	m->signals[m->n_signals].data = m;
	ev_signal_start(m->loop, &m->signals[m->n_signals]);
	m->n_signals++;
}

/* Which worker's session (or process group) a process is in. */
static long rss_match(pid_t session, pid_t pgrp, void *ctx)
{
	struct sm_pool *pool = ctx;
	const struct sm_worker *w = sm_pool_find(pool, session);

	if (w == NULL)
		w = sm_pool_find(pool, pgrp);
	return w == NULL ? -1 : (long)(w - pool->workers);
}

/* Every SM_RSS_EVERY s while --max-worker-rss is set: a worker over it is
 * recycled at its turn. */
static void on_rss(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct sm_master *m = t->data;
	unsigned long long limit = (unsigned long long)m->reload.cfg->max_worker_rss * 1024;
	size_t n = sm_pool_live(&m->pool), i;
	unsigned long long *kib = calloc(n > 0 ? n : 1, sizeof(*kib));

	(void)loop;
	(void)revents;
	if (kib == NULL)
		return;
	if (sm_rss_scan(rss_match, &m->pool, kib, n) < 0)
		sm_warn("--max-worker-rss: cannot read /proc");
	for (i = 0; i < n; i++) {
		const struct sm_worker *w = &m->pool.workers[i];
		if (limit > 0 && kib[i] > limit && sm_pool_recycle(&m->pool, w->pid) == 0)
			sm_info("worker %d (pid %ld) uses %llu MiB, over --max-worker-rss %ld: "
			        "recycling it",
			        w->slot, (long)w->pid, kib[i] / 1024,
			        m->reload.cfg->max_worker_rss);
	}
	free(kib);
	reconcile(m);
}

/* The check runs only while the config in force asks for it. */
static void rss_arm(struct sm_master *m)
{
	ev_timer_stop(m->loop, &m->rss_timer);
	if (m->reload.cfg->max_worker_rss <= 0)
		return;
	ev_timer_set(&m->rss_timer, SM_RSS_EVERY, SM_RSS_EVERY);
	ev_timer_start(m->loop, &m->rss_timer);
}

/* Nothing outlives a stop: what workers left behind goes too, with what is
 * left of the graceful time (1 s after a quick stop). */
static void stop_orphans(struct sm_master *m)
{
	const struct sm_config *cfg = m->reload.cfg;
	double grace = m->pool.quick ? SM_QUICK_TIMEOUT : cfg->graceful_timeout;

	if (m->stop_began > 0)
		grace -= mono_now() - m->stop_began;
	sm_pid1_stop_orphans(m->pool.quick ? SIGTERM : cfg->stop_signal, grace,
	                     m->setup->is_pid1 == 1);
}

static void start_watchers(struct sm_master *m)
{
	int sig;

	for (sig = 1; sig <= SIGRTMAX; sig++) {
		enum sm_sig_kind kind = sm_sig_classify(sig, m->setup->is_pid1);
		if (kind == SM_SIG_ACT || kind == SM_SIG_HALT || kind == SM_SIG_STRAY)
			watch_signal(m, sig);
	}
	watch_forwarded(m, m->reload.cfg->forward);
	/* main held these since its first line; they are watched now. */
	if (sm_sig_release(m->reload.cfg->forward) < 0)
		sm_warn("cannot unblock signals");
	ev_child_init(&m->child, on_child, 0, 0);
	m->child.data = m;
	ev_child_start(m->loop, &m->child);
	ev_init(&m->timer, on_timer);
	m->timer.data = m;
	ev_init(&m->sink_io, on_sink_writable);
	m->sink_io.data = m;
	ev_prepare_init(&m->sink_check, on_sink_check);
	m->sink_check.data = m;
	ev_prepare_start(m->loop, &m->sink_check);
	ev_prepare_init(&m->status_check, on_status_check);
	m->status_check.data = m;
	ev_prepare_start(m->loop, &m->status_check);
	ev_init(&m->rss_timer, on_rss);
	m->rss_timer.data = m;
	rss_arm(m);
	if (sm_notifier_open(&m->manager, m->setup->environ, m->pid) < 0)
		sm_warn("NOTIFY_SOCKET '%s' ignored",
		        getenv("NOTIFY_SOCKET") ? getenv("NOTIFY_SOCKET") : "");
	control_start(m);
	if (m->manager.fd >= 0 && m->manager.watchdog_usec > 0) {
		double every = (double)m->manager.watchdog_usec / 2e6;
		ev_timer_init(&m->watchdog, on_watchdog, every, every);
		m->watchdog.data = &m->manager;
		ev_timer_start(m->loop, &m->watchdog);
	}
}

static void stop_watchers(struct sm_master *m)
{
	size_t i;

	control_stop(m);
	output_close_all(m);
	ev_io_stop(m->loop, &m->sink_io);
	ev_prepare_stop(m->loop, &m->sink_check);
	ev_prepare_stop(m->loop, &m->status_check);
	ev_timer_stop(m->loop, &m->rss_timer);
	ev_child_stop(m->loop, &m->child);
	ev_timer_stop(m->loop, &m->timer);
	ev_timer_stop(m->loop, &m->watchdog);
	sm_notifier_close(&m->manager);
	for (i = 0; i < m->n_signals; i++)
		ev_signal_stop(m->loop, &m->signals[i]);
	notify_close_all(m);
}

int sm_master_run(const struct sm_master_setup *setup, struct sm_error *err)
{
	const struct sm_config *cfg = setup->cfg;
	struct sm_master m = {
	    .setup = setup,
	    .pid = getpid(),
	    .err = err,
	    .notify_qlen = sm_notify_queue_len(),
	};
	struct sm_env_shared shared = {
	    .environ = setup->environ,
	    .master_pid = m.pid,
	    .home = setup->home,
	    .user_name = setup->user_name,
	    .n_listen = setup->n_listen,
	    .listen_names = setup->listen_names,
	};
	struct sm_pool_params params;

	sm_error_clear(err);
	sm_reload_pool_params(cfg, &params);
	params.seed = (uint32_t)m.pid * UINT32_C(2654435761) ^ (uint32_t)(mono_now() * 1e6);
	if (sm_reload_init(&m.reload, cfg, setup->argc, setup->argv, err) < 0)
		return -1;
	if (sm_env_workers(&m.env, &shared) < 0 || sm_pool_init(&m.pool, &params) < 0 ||
	    sm_counters_init(&m.counters, params.max_workers) < 0) {
		sm_env_free(&m.env);
		return sm_error_set(err, EX_OSERR, "out of memory");
	}
	m.started = mono_now();
	m.loop = ev_default_loop(EVFLAG_AUTO);
	if (m.loop == NULL)
		return sm_error_set(err, EX_OSERR, "cannot start the event loop");
	signal(SIGPIPE, SIG_IGN);
	start_watchers(&m);
	if (!m.done) {
		sm_info("starting %d %s of '%s'%s", cfg->workers,
		        cfg->workers == 1 ? "worker" : "workers", m.reload.path,
		        setup->is_pid1 ? " as PID 1" : "");
		reconcile(&m);
	}
	if (!m.done)
		ev_run(m.loop, 0);

	stop_orphans(&m);
	stop_watchers(&m);
	drop_next_config(&m);
	sm_reload_free(&m.reload);
	sm_pool_free(&m.pool);
	sm_env_free(&m.env);
	return sm_error_failed(err) ? -1 : 0;
}
