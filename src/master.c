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
#include <sentrik/pool.h>
#include <sentrik/reload.h>
#include <sentrik/sig.h>
#include <sentrik/spawn.h>

#define SM_ACTIONS_PER_STEP 64

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
	ev_io sink_io; /* a full log pipe or socket becoming writable */
	ev_prepare sink_check;
	struct notify_watch *notifies;   /* one socket per worker; READY=1 etc. */
	unsigned long long notify_count; /* names each socket once */
	int notify_qlen;                 /* datagrams per socket and wake-up, at most */
	struct sm_error *err;            /* why the loop ended, when it failed */
	bool done;
};

static double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void describe_status(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "was killed by signal %d (%s)", WTERMSIG(status),
		         sm_sig_name(WTERMSIG(status)));
	else
		snprintf(buf, len, "changed state (0x%x)", (unsigned)status);
}

static void signal_group(pid_t pid, int sig)
{
	if (kill(-pid, sig) < 0 && errno == ESRCH)
		(void)kill(pid, sig);
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

/* A worker exited: its last lines go out before the line saying so. */
static void output_exited(struct sm_master *m, pid_t pid)
{
	struct output_watch *c;

	for (c = m->outputs; c != NULL; c = c->next)
		if (sm_capture_stream_pid(c->stream) == pid)
			sm_capture_worker_exited(c->stream);
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

static bool wants_notify(const struct sm_config *cfg)
{
	return cfg->ready == SM_READY_NOTIFY || cfg->timeout > 0;
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
	sm_pool_spawn_failed(&m->pool, slot, gen, reason, mono_now());
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
		sm_pool_spawn_failed(&m->pool, a->slot, a->generation, "shutting down", mono_now());
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
	sm_reload_begin(&m->reload, m->setup->n_listen);
	if (next == NULL)
		return 0;
	sm_reload_pool_params(next, &params);
	sm_pool_set_params(&m->pool, &params);
	watch_forwarded(m, next->forward);
	return 0;
}

/* The new generation failed: the old config's settings are back. */
static void drop_next_config(struct sm_master *m)
{
	struct sm_pool_params params;

	if (m->reload.next == NULL)
		return;
	sm_reload_cancel(&m->reload);
	sm_reload_pool_params(m->reload.cfg, &params);
	sm_pool_set_params(&m->pool, &params);
}

/* The new generation took over: its config becomes the one in force. */
static void commit_reload(struct sm_master *m)
{
	int delta = sm_reload_commit(&m->reload);

	if (delta != 0) {
		sm_pool_scale(&m->pool, delta);
		sm_info("reload: %d workers wanted", sm_pool_target(&m->pool));
	}
}

/* READY=1 with the pool's state, or after a failed reload why the old
 * generation keeps serving. */
static void tell_ready(struct sm_master *m, const char *why)
{
	sm_notifier_ready(&m->manager, sm_pool_target(&m->pool),
	                  sm_pool_generation(&m->pool, false), why);
}

/* Whatever started the shutdown (signal or failed boot), say it once. */
static void tell_stopping(struct sm_master *m)
{
	if (sm_pool_phase(&m->pool) == SM_PHASE_STOPPING)
		sm_notifier_stopping(&m->manager);
}

static void on_watchdog(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	sm_notifier_tell(w->data, "WATCHDOG=1");
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
		sm_info("%d workers ready, generation %u", sm_pool_target(&m->pool),
		        sm_pool_generation(&m->pool, false));
		tell_ready(m, NULL);
		break;
	case SM_ACT_RELOAD_START:
		sm_info("reload: starting generation %u", sm_pool_generation(&m->pool, true));
		sm_notifier_reloading(&m->manager, sm_pool_generation(&m->pool, true));
		if (prepare_reload(m) < 0) {
			sm_pool_reload_abort(&m->pool);
			tell_ready(m, "could not prepare the new generation, see the log");
		}
		break;
	case SM_ACT_RELOADED:
		sm_info("reload done: generation %u serving with %d workers",
		        sm_pool_generation(&m->pool, false), sm_pool_target(&m->pool));
		commit_reload(m);
		tell_ready(m, NULL);
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

static void on_child(struct ev_loop *loop, ev_child *w, int revents)
{
	struct sm_master *m = w->data;
	struct sm_exit_info info;
	char how[64];

	(void)loop;
	(void)revents;
	describe_status(w->rstatus, how, sizeof(how));
	output_exited(m, w->rpid);
	notify_gone(m, w->rpid);
	if (sm_pool_exited(&m->pool, w->rpid, how, mono_now(), &info) < 0) {
		sm_debug("reaped pid %ld, not a worker, which %s", (long)w->rpid, how);
		return;
	}
	/* Whatever the worker left in its process group goes with it. */
	(void)kill(-w->rpid, SIGKILL);
	if (info.expected)
		sm_info("worker %d (pid %ld) %s", info.slot, (long)w->rpid, how);
	else if (info.restart_in == 0)
		sm_warnx("worker %d (pid %ld) %s after %.3f s; restarting", info.slot,
		         (long)w->rpid, how, info.lifetime);
	else if (info.restart_in > 0)
		sm_warnx("worker %d (pid %ld) %s after %.3f s; restarting in %.1f s", info.slot,
		         (long)w->rpid, how, info.lifetime, info.restart_in);
	else
		sm_warnx("worker %d (pid %ld) %s", info.slot, (long)w->rpid, how);
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
		sm_pool_scale(&m->pool, sig == SIGTTIN ? 1 : -1);
		sm_info("%s: %d workers wanted", sm_sig_name(sig), sm_pool_target(&m->pool));
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
	if (!m.done) {
		sm_info("starting %d workers of '%s'%s", cfg->workers, m.reload.path,
		        setup->is_pid1 ? " as PID 1" : "");
		reconcile(&m);
	}
	if (!m.done)
		ev_run(m.loop, 0);

	stop_watchers(&m);
	drop_next_config(&m);
	sm_reload_free(&m.reload);
	sm_pool_free(&m.pool);
	sm_env_free(&m.env);
	return sm_error_failed(err) ? -1 : 0;
}
