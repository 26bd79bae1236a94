/* master_control: the control socket and --metrics clients (SPEC §10) —
 * accept, read, the status snapshot, the requests and their answers. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <sentrik/capture.h>
#include <sentrik/control.h>
#include <sentrik/fd.h>
#include <sentrik/http.h>
#include <sentrik/log.h>
#include <sentrik/master_internal.h>
#include <sentrik/proto.h>

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

/* The one place a status snapshot is made: the pool, its counters and
 * slots, plus what only the master knows. */
static const struct sm_status *snapshot(struct sm_master *m)
{
	struct sm_status *st = &m->status;
	double now = sm_master_now();

	if (sm_status_build(st, &m->pool, now) < 0)
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

/* restart SLOT: the slot's worker is recycled, so its replacement starts
 * and is ready before the old one is asked to stop (SPEC §10); the answer
 * waits for that replacement to be ready. */
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
	/* Only a ready worker can be recycled: one still starting (or already
	 * being replaced) is left alone. */
	if (sm_pool_recycle(&m->pool, w->pid) < 0) {
		client_reply(
		    c, false, NULL, 0, "restart: worker %d (pid %ld) is %s; try again later", slot,
		    (long)w->pid,
		    w->state != SM_WORKER_READY ? "not ready yet" : "already being replaced");
		return;
	}
	sm_info("control: restarting worker %d (pid %ld): its replacement starts first", slot,
	        (long)w->pid);
	c->slot = slot;
	c->old_pid = w->pid;
	client_wait(c, WAIT_RESTART);
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

	if (sm_pool_shutdown(&m->pool, quick, sm_master_now()) || !quick)
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
	sm_master_reconcile(m);
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

/* A reload's start (why set: refused), end (RELOADED, ROLLED_BACK with
 * why) or the master's exit (why set: it failed): answered to the
 * clients waiting for it (the pool counts reloads). */
void sm_master_control_on_action(struct sm_master *m, enum sm_action_type what, const char *why)
{
	struct client *c, *next;

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
void sm_master_control_progress(struct sm_master *m)
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

void sm_master_control_start(struct sm_master *m)
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
void sm_master_control_stop(struct sm_master *m)
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
}
