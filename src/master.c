/* master: the only user of libev.  Signals, child exits and the single
 * deadline timer become pool events; pool actions become system calls.
 * When nothing is due there is no timer, so an idle master never wakes.
 * What needs no watcher lives elsewhere (pool, reload, env, capture,
 * notify); what is left is watchers and their callbacks, one file. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>

#include <sentrik/env.h>
#include <sentrik/error.h>
#include <sentrik/log.h>
#include <sentrik/capture.h>
#include <sentrik/master.h>
#include <sentrik/notify.h>
#include <sentrik/pid1.h>
#include <sentrik/pool.h>
#include <sentrik/reload.h>
#include <sentrik/rss.h>
#include <sentrik/sig.h>
#include <sentrik/spawn.h>

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

struct sm_master {
	struct ev_loop *loop;
	const struct sm_master_setup *setup;
	struct sm_reload reload; /* the config and COMMAND in force, and the next */
	struct sm_pool pool;
	struct sm_env env; /* the workers' environment, less per-worker vars */
	pid_t pid;
	ev_signal signals[64];
	size_t n_signals;
	ev_child child;
	ev_timer timer;
	struct sm_notifier manager; /* systemd's NOTIFY_SOCKET, fd -1 when none */
	ev_timer watchdog;          /* runs only when WATCHDOG_USEC is ours */
	struct output_watch *outputs;
	struct last_line last_lines[SM_LAST_LINES]; /* a ring */
	size_t last_next;
	ev_io sink_io; /* a full log pipe or socket becoming writable */
	ev_prepare sink_check;
	struct sm_notify_in notify; /* workers' READY=1 / WATCHDOG=1 arrive here */
	ev_io notify_watch;
	ev_prepare status_check;           /* STATUS= when the pool's counts changed */
	unsigned long status_changes;      /* sm_pool_changes() when last looked at */
	struct sm_pool_summary status_was; /* what the manager was last told */
	ev_timer rss_timer;                /* runs only with --max-worker-rss */
	double stop_began;                 /* when the shutdown started; 0 = not yet */
	struct sm_error *err;              /* why the loop ended, when it failed */
	bool done;
};

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

/* An app that speaks sd_notify works unchanged under every mode that
 * listens: READY=1 (notify, alive), WATCHDOG=1, STOPPING=1 (recycling). */
static bool wants_notify(const struct sm_config *cfg)
{
	return cfg->ready != SM_READY_EXEC || cfg->timeout > 0 || cfg->max_worker_age > 0 ||
	       cfg->max_worker_rss > 0;
}

/* A worker forked in this batch, its exec not yet confirmed. */
struct spawn_wait {
	struct sm_spawn_pending pending;
	int slot;
	unsigned generation;
	const struct sm_config *cfg;
};

static void spawn_failed(struct sm_master *m, int slot, unsigned gen, const struct sm_config *cfg,
                         const struct sm_spawn_error *error)
{
	char reason[SM_PATH_MAX + 128];

	snprintf(reason, sizeof(reason), "cannot %s '%s': %s", error->stage,
	         strcmp(error->stage, "chdir to") == 0 ? cfg->chdir : cfg->command[0],
	         strerror(error->err));
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
	struct sm_env_worker vars = {
	    .slot = a->slot,
	    .generation = a->generation,
	    .notify_socket = wants_notify(cfg) && m->notify.fd >= 0 ? m->notify.name : NULL,
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
	};

	/* An earlier action of the same batch may have failed the boot: start
	 * nothing more, the pool only waits for the rest to go. */
	if (sm_pool_phase(&m->pool) == SM_PHASE_STOPPING) {
		sm_pool_spawn_failed(&m->pool, a->slot, a->generation, "shutting down", false,
		                     mono_now());
		return 0;
	}
	req.listen_pid = sm_env_worker(&m->env, &vars, envp);

	if (sm_capture_pipes(streams, child_fds, a->slot) < 0) {
		error = (struct sm_spawn_error){"set up descriptors for", errno};
		output_start(m, streams, child_fds, -1);
		spawn_failed(m, a->slot, a->generation, cfg, &error);
		return 0;
	}
	req.stdout_fd = child_fds[0];
	req.stderr_fd = child_fds[1];
	if (sm_spawn_start(&req, &w->pending, &error) < 0) {
		output_start(m, streams, child_fds, -1);
		spawn_failed(m, a->slot, a->generation, cfg, &error);
		return 0;
	}
	output_start(m, streams, child_fds, w->pending.pid);
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
		spawn_failed(m, w->slot, w->generation, w->cfg, &error);
	}
}

static void watch_signal(struct sm_master *m, int sig);
static int open_notify(struct sm_master *m);

static void watch_forwarded(struct sm_master *m, uint64_t forward)
{
	int sig;

	for (sig = 1; sig <= 64; sig++)
		if (forward & (UINT64_C(1) << (sig - 1)))
			watch_signal(m, sig);
}

/* A reload's preparation (reload.c reads and checks); here only what
 * needs the loop: the notify socket and the new forwarded signals. */
static int prepare_reload(struct sm_master *m)
{
	const struct sm_config *next;
	struct sm_pool_params params;

	if (sm_reload_read(&m->reload, sm_pool_generation(&m->pool, false)) < 0)
		return -1;
	next = m->reload.next;
	if (next != NULL && wants_notify(next) && open_notify(m) < 0) {
		sm_error("reload refused: cannot create the workers' notify socket");
		sm_reload_cancel(&m->reload);
		return -1;
	}
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
		return;
	}
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
		break;
	case SM_ACT_WARN:
		sm_warnx("%s", a->reason);
		break;
	case SM_ACT_ROLLED_BACK:
		sm_errorx("reload failed: %s; generation %u keeps serving", a->reason,
		          sm_pool_generation(&m->pool, false));
		drop_next_config(m);
		tell_ready(m, a->reason);
		break;
	case SM_ACT_EXIT:
		if (a->code != 0)
			(void)sm_error_set(m->err, a->code, "%s",
			                   a->reason[0] ? a->reason : "stopped");
		m->done = true;
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
	const char *last;
	char how[64];

	(void)loop;
	(void)revents;
	sm_exit_describe(w->rstatus, how, sizeof(how));
	last = output_exited(m, w->rpid);
	if (sm_pool_exited(&m->pool, w->rpid, w->rstatus, last, mono_now(), &info) < 0) {
		sm_debug("reaped pid %ld, not a worker, which %s", (long)w->rpid, how);
		return;
	}
	/* Whatever the worker left in its process group goes with it. */
	(void)kill(-w->rpid, SIGKILL);
	log_exit(m, w->rpid, how, &info);
	reconcile(m);
}

/* One notify message of a worker: READY=1, WATCHDOG=1, and STOPPING=1 (a
 * ready worker leaving by itself: its replacement starts now). */
static void worker_said(struct sm_master *m, pid_t pid, const struct sm_notify_msg *msg)
{
	const struct sm_worker *wk = sm_pool_find(&m->pool, pid);
	double now = mono_now();

	if (wk == NULL) {
		sm_debug("notify message from pid %ld, not a worker: ignored", (long)pid);
		return;
	}
	if (msg->status[0] != '\0')
		sm_debug("worker %d (pid %ld) status: %s", wk->slot, (long)pid, msg->status);
	if (msg->ready && sm_pool_ready(&m->pool, pid, now) == 0)
		sm_debug("worker %d (pid %ld) ready", wk->slot, (long)pid);
	if (msg->watchdog)
		(void)sm_pool_watchdog(&m->pool, pid, now);
	if (msg->stopping && sm_pool_stopping(&m->pool, pid, now) == 0)
		sm_info("worker %d (pid %ld) sent STOPPING=1: starting its replacement", wk->slot,
		        (long)pid);
}

/* What workers say on the notify socket, attributed by the sender's pid:
 * a message from any other process is ignored. */
static void on_notify(struct ev_loop *loop, ev_io *w, int revents)
{
	struct sm_master *m = w->data;
	struct sm_notify_msg msg;
	int count = 0, rc = 0;
	pid_t pid;

	(void)loop;
	(void)revents;
	while (count++ < 64 && (rc = sm_notify_in_recv(&m->notify, &pid, &msg)) > 0)
		worker_said(m, pid, &msg);
	if (rc < 0)
		sm_warn("notify socket");
	reconcile(m);
}

static int open_notify(struct sm_master *m)
{
	if (m->notify.fd >= 0)
		return 0;
	if (sm_notify_in_open(&m->notify) < 0)
		return -1;
	ev_io_init(&m->notify_watch, on_notify, m->notify.fd, EV_READ);
	m->notify_watch.data = m;
	ev_io_start(m->loop, &m->notify_watch);
	return 0;
}

static void forward(struct sm_master *m, int sig)
{
	const struct sm_worker *w;
	size_t iter = 0;

	while ((w = sm_pool_next_worker(&m->pool, &iter)) != NULL)
		(void)kill(w->pid, sig);
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
		if (sm_pool_phase(&m->pool) == SM_PHASE_STOPPING) {
			sm_info("TERM again: quick shutdown");
			sm_pool_shutdown(&m->pool, true, mono_now());
		} else {
			sm_info("TERM: graceful shutdown of %zu workers", sm_pool_live(&m->pool));
			sm_pool_shutdown(&m->pool, false, mono_now());
		}
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
		break;
	}
	if (m->reload.cfg->forward & (UINT64_C(1) << (sig - 1)))
		forward(m, sig);
	reconcile(m);
}

static void watch_signal(struct sm_master *m, int sig)
{
	size_t i;

	for (i = 0; i < m->n_signals; i++)
		if (m->signals[i].signum == sig)
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
	size_t i;

	for (i = 0; i < sm_sig_n_handled; i++)
		watch_signal(m, sm_sig_handled[i]);
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
	if (m->notify.fd >= 0)
		ev_io_stop(m->loop, &m->notify_watch);
	sm_notify_in_close(&m->notify);
}

int sm_master_run(const struct sm_master_setup *setup, struct sm_error *err)
{
	const struct sm_config *cfg = setup->cfg;
	struct sm_master m = {
	    .setup = setup,
	    .pid = getpid(),
	    .err = err,
	    .notify.fd = -1,
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
	if (sm_env_workers(&m.env, &shared) < 0 || sm_pool_init(&m.pool, &params) < 0) {
		sm_env_free(&m.env);
		return sm_error_set(err, EX_OSERR, "out of memory");
	}
	m.loop = ev_default_loop(EVFLAG_AUTO);
	if (m.loop == NULL)
		return sm_error_set(err, EX_OSERR, "cannot start the event loop");
	signal(SIGPIPE, SIG_IGN);
	start_watchers(&m);
	if (wants_notify(cfg) && open_notify(&m) < 0) {
		sm_error_set(err, EX_OSERR, "cannot create the workers' notify socket: %s",
		             strerror(errno));
		m.done = true;
	}
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
