/* master_workers: the workers' watchers — spawn and exec report, child
 * exits and their log lines, output capture, notify sockets, RSS checks. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sentrik/capture.h>
#include <sentrik/log.h>
#include <sentrik/master_internal.h>
#include <sentrik/rss.h>

#define SM_RSS_EVERY 10.0 /* --max-worker-rss: seconds between checks */

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
	double now = sm_master_now();

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
	sm_master_reconcile(m);
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
	                     sm_master_now());
}

/* Fork one worker; returns 1 when it waits in *w for its exec report. */
int sm_master_spawn_start(struct sm_master *m, const struct sm_action *a, struct spawn_wait *w)
{
	struct sm_capture_stream *streams[2];
	int child_fds[2];
	const struct sm_config *cfg = sm_master_config_of(m, a->generation);
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
		                     sm_master_now());
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

void sm_master_spawn_finish(struct sm_master *m, struct spawn_wait *w)
{
	struct sm_spawn_error error;
	pid_t pid = sm_spawn_finish(&w->pending, &error);

	if (pid > 0) {
		sm_debug("worker %d (pid %ld) started, generation %u", w->slot, (long)pid,
		         w->generation);
		sm_pool_spawned(&m->pool, w->slot, w->generation, pid, sm_master_now());
	} else {
		notify_gone(m, w->pending.pid);
		spawn_failed(m, w->slot, w->generation, w->cfg, &error);
	}
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
	const char *last;
	char how[64];

	(void)loop;
	(void)revents;
	sm_exit_describe(w->rstatus, how, sizeof(how));
	last = output_exited(m, w->rpid);
	notify_gone(m, w->rpid);
	if (sm_pool_exited(&m->pool, w->rpid, w->rstatus, last, sm_master_now(), &info) < 0) {
		sm_debug("reaped pid %ld, not a worker, which %s", (long)w->rpid, how);
		return;
	}
	/* Whatever the worker left in its process group goes with it. */
	(void)kill(-w->rpid, SIGKILL);
	hint_in_use(m, &info, w->rpid);
	log_exit(m, w->rpid, how, &info);
	sm_master_reconcile(m);
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
	sm_master_reconcile(m);
}

/* The check runs only while the config in force asks for it. */
void sm_master_rss_arm(struct sm_master *m)
{
	ev_timer_stop(m->loop, &m->rss_timer);
	if (m->reload.cfg->max_worker_rss <= 0)
		return;
	ev_timer_set(&m->rss_timer, SM_RSS_EVERY, SM_RSS_EVERY);
	ev_timer_start(m->loop, &m->rss_timer);
}

void sm_master_workers_start(struct sm_master *m)
{
	ev_child_init(&m->child, on_child, 0, 0);
	m->child.data = m;
	ev_child_start(m->loop, &m->child);
	ev_init(&m->sink_io, on_sink_writable);
	m->sink_io.data = m;
	ev_prepare_init(&m->sink_check, on_sink_check);
	m->sink_check.data = m;
	ev_prepare_start(m->loop, &m->sink_check);
	ev_init(&m->rss_timer, on_rss);
	m->rss_timer.data = m;
	sm_master_rss_arm(m);
}

void sm_master_workers_stop(struct sm_master *m)
{
	output_close_all(m);
	ev_io_stop(m->loop, &m->sink_io);
	ev_prepare_stop(m->loop, &m->sink_check);
	ev_timer_stop(m->loop, &m->rss_timer);
	ev_child_stop(m->loop, &m->child);
	notify_close_all(m);
}
