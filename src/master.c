/* master: the event loop, its signals and timers, the pool's step and its
 * actions.  Only the master_* files include <ev.h> and own watchers; an
 * idle master has no timer and never wakes.  Workers' watchers are in
 * master_workers.c, control and --metrics clients in master_control.c. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <sentrik/capture.h>
#include <sentrik/log.h>
#include <sentrik/master_internal.h>
#include <sentrik/pid1.h>
#include <sentrik/sig.h>

#define SM_ACTIONS_PER_STEP 64

double sm_master_now(void)
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

/* The generation being started runs with the config its reload read. */
const struct sm_config *sm_master_config_of(const struct sm_master *m, unsigned generation)
{
	if (m->reload.next != NULL && sm_pool_reloading(&m->pool) &&
	    generation == sm_pool_generation(&m->pool, true))
		return m->reload.next;
	return m->reload.cfg;
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

/* The new generation failed: the old config's settings are back. */
static void drop_next_config(struct sm_master *m)
{
	struct sm_pool_params params;

	if (m->reload.next == NULL)
		return;
	sm_reload_cancel(&m->reload);
	sm_reload_pool_params(m->reload.cfg, &params);
	sm_pool_set_params(&m->pool, &params);
	sm_master_rss_arm(m);
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

	sm_pool_summary(&m->pool, sm_master_now(), &m->status_was);
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
	sm_pool_summary(&m->pool, sm_master_now(), &sum);
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
		m->stop_began = sm_master_now();
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
		sm_master_control_on_action(m, SM_ACT_RELOAD_START,
		                            "the new config could not be used");
		return;
	}
	sm_master_control_on_action(m, SM_ACT_RELOAD_START, NULL);
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
	case SM_ACT_SPAWN: /* batched in sm_master_reconcile() */
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
		sm_master_rss_arm(m);
		tell_ready(m, NULL);
		sm_master_control_on_action(m, SM_ACT_RELOADED, NULL);
		break;
	case SM_ACT_WARN:
		sm_warnx("%s", a->reason);
		break;
	case SM_ACT_ROLLED_BACK:
		sm_errorx("reload failed: %s; generation %u keeps serving", a->reason,
		          sm_pool_generation(&m->pool, false));
		drop_next_config(m);
		tell_ready(m, a->reason);
		sm_master_control_on_action(m, SM_ACT_ROLLED_BACK, a->reason);
		break;
	case SM_ACT_EXIT:
		if (a->code != 0)
			(void)sm_error_set(m->err, a->code, "%s",
			                   a->reason[0] ? a->reason : "stopped");
		m->done = true;
		sm_master_control_on_action(m, SM_ACT_EXIT, a->reason[0] ? a->reason : NULL);
		ev_break(m->loop, EVBREAK_ALL);
		break;
	}
}

/* Run the pool's actions until it has nothing more to do now, then arm
 * the one timer for its next deadline, or leave it stopped. */
void sm_master_reconcile(struct sm_master *m)
{
	struct sm_action acts[SM_ACTIONS_PER_STEP];
	double next = INFINITY;
	size_t n, i;

	struct spawn_wait waits[SM_ACTIONS_PER_STEP];
	size_t n_waits, k;

	tell_stopping(m);
	while (!m->done && (n = sm_pool_step(&m->pool, sm_master_now(), acts, SM_ACTIONS_PER_STEP,
	                                     &next)) > 0) {
		/* Every spawn of the batch is forked before any exec is waited
		 * for, so the children exec in parallel with the next forks. */
		n_waits = 0;
		for (i = 0; i < n; i++) {
			if (acts[i].type == SM_ACT_SPAWN) {
				n_waits +=
				    (size_t)sm_master_spawn_start(m, &acts[i], &waits[n_waits]);
				continue;
			}
			for (k = 0; k < n_waits; k++)
				sm_master_spawn_finish(m, &waits[k]);
			n_waits = 0;
			do_action(m, &acts[i]);
			tell_stopping(m);
		}
		for (k = 0; k < n_waits; k++)
			sm_master_spawn_finish(m, &waits[k]);
		tell_stopping(m);
	}
	if (m->n_waiting > 0)
		sm_master_control_progress(m);
	ev_timer_stop(m->loop, &m->timer);
	if (!m->done && isfinite(next)) {
		double after = next - sm_master_now();
		ev_timer_set(&m->timer, after > 0 ? after : 0, 0.);
		ev_timer_start(m->loop, &m->timer);
	}
}

static void on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	sm_master_reconcile(w->data);
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
	double now = sm_master_now();

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
		sm_pool_shutdown(&m->pool, false, sm_master_now());
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
		if (sm_pool_shutdown(&m->pool, true, sm_master_now()))
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
	sm_master_reconcile(m);
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

/* Nothing outlives a stop: what workers left behind goes too, with what is
 * left of the graceful time (1 s after a quick stop). */
static void stop_orphans(struct sm_master *m)
{
	const struct sm_config *cfg = m->reload.cfg;
	double grace = m->pool.quick ? SM_QUICK_TIMEOUT : cfg->graceful_timeout;

	if (m->stop_began > 0)
		grace -= sm_master_now() - m->stop_began;
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
	sm_master_workers_start(m);
	ev_init(&m->timer, on_timer);
	m->timer.data = m;
	ev_prepare_init(&m->status_check, on_status_check);
	m->status_check.data = m;
	ev_prepare_start(m->loop, &m->status_check);
	if (sm_notifier_open(&m->manager, m->setup->environ, m->pid) < 0)
		sm_warn("NOTIFY_SOCKET '%s' ignored",
		        getenv("NOTIFY_SOCKET") ? getenv("NOTIFY_SOCKET") : "");
	sm_master_control_start(m);
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

	sm_master_control_stop(m);
	sm_master_workers_stop(m);
	ev_prepare_stop(m->loop, &m->status_check);
	ev_timer_stop(m->loop, &m->timer);
	ev_timer_stop(m->loop, &m->watchdog);
	sm_notifier_close(&m->manager);
	for (i = 0; i < m->n_signals; i++)
		ev_signal_stop(m->loop, &m->signals[i]);
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
	params.seed = (uint32_t)m.pid * UINT32_C(2654435761) ^ (uint32_t)(sm_master_now() * 1e6);
	if (sm_reload_init(&m.reload, cfg, setup->argc, setup->argv, err) < 0)
		return -1;
	if (sm_env_workers(&m.env, &shared) < 0 || sm_pool_init(&m.pool, &params) < 0) {
		sm_env_free(&m.env);
		return sm_error_set(err, EX_OSERR, "out of memory");
	}
	m.started = sm_master_now();
	m.loop = ev_default_loop(EVFLAG_AUTO);
	if (m.loop == NULL)
		return sm_error_set(err, EX_OSERR, "cannot start the event loop");
	signal(SIGPIPE, SIG_IGN);
	start_watchers(&m);
	if (!m.done) {
		sm_info("starting %d %s of '%s'%s", cfg->workers,
		        cfg->workers == 1 ? "worker" : "workers", m.reload.path,
		        setup->is_pid1 ? " as PID 1" : "");
		sm_master_reconcile(&m);
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
