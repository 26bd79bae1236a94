/* status: the snapshot behind `sentrikctl status` and the metrics, and
 * its renderings.  Pure — the master fills what only system calls know. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sentrik/log.h>
#include <sentrik/status.h>

static const char *const state_names[] = {
    [SM_STATE_STARTING] = "starting",
    [SM_STATE_RUNNING] = "running",
    [SM_STATE_RELOADING] = "reloading",
    [SM_STATE_STOPPING] = "stopping",
};
static const char *const wstate_names[] = {
    [SM_WSTATE_STARTING] = "starting",
    [SM_WSTATE_READY] = "ready",
    [SM_WSTATE_STOPPING] = "stopping",
};
static const char *const cause_names[] = {
    [SM_EXIT_STATUS] = "status",     [SM_EXIT_SIGNAL] = "signal",   [SM_EXIT_TIMEOUT] = "timeout",
    [SM_EXIT_RECYCLED] = "recycled", [SM_EXIT_STOPPED] = "stopped",
};

static enum sm_status_wstate wstate_of(const struct sm_worker *w)
{
	if (w->retire || w->state == SM_WORKER_STOPPING)
		return SM_WSTATE_STOPPING;
	return w->state == SM_WORKER_READY ? SM_WSTATE_READY : SM_WSTATE_STARTING;
}

static int by_slot(const void *a, const void *b)
{
	const struct sm_status_worker *x = a, *y = b;

	if (x->slot != y->slot)
		return x->slot < y->slot ? -1 : 1;
	return x->generation < y->generation ? -1 : x->generation > y->generation;
}

int sm_status_build(struct sm_status *st, const struct sm_pool *pool, double now)
{
	const struct sm_worker *w;
	size_t iter = 0, n = sm_pool_live(pool);

	if (n > st->cap_workers) {
		struct sm_status_worker *more = realloc(st->workers, n * sizeof(*more));
		if (more == NULL)
			return -1;
		st->workers = more;
		st->cap_workers = n;
	}
	st->n_workers = 0;
	while ((w = sm_pool_next_worker(pool, &iter)) != NULL && st->n_workers < st->cap_workers) {
		struct sm_status_worker *row = &st->workers[st->n_workers++];
		const struct sm_slot *slot = sm_pool_slot(pool, w->slot);

		row->slot = w->slot;
		row->pid = w->pid;
		row->generation = w->generation;
		row->state = wstate_of(w);
		row->age_s = now - w->started_at;
		row->restarts = slot != NULL ? slot->restarts : 0;
		snprintf(row->last_exit, sizeof(row->last_exit), "%s",
		         slot != NULL ? slot->last_exit : "");
	}
	if (st->n_workers > 1)
		qsort(st->workers, st->n_workers, sizeof(*st->workers), by_slot);
	if (sm_pool_phase(pool) == SM_PHASE_BOOT)
		st->state = SM_STATE_STARTING;
	else if (sm_pool_phase(pool) == SM_PHASE_STOPPING)
		st->state = SM_STATE_STOPPING;
	else
		st->state = sm_pool_reloading(pool) ? SM_STATE_RELOADING : SM_STATE_RUNNING;
	st->generation = sm_pool_generation(pool, false);
	st->desired_workers = sm_pool_target(pool);
	st->max_workers = pool->params.max_workers;
	st->counters = *sm_pool_counters(pool);
	return 0;
}

void sm_status_free(struct sm_status *st)
{
	free(st->workers);
	st->workers = NULL;
	st->n_workers = st->cap_workers = 0;
}

/* 45s, 12m03s, 5h02m, 3d04h: two units are enough to read at a glance. */
static void duration(double s, char *buf, size_t len)
{
	unsigned long t = s > 0 ? (unsigned long)s : 0;

	if (t < 60)
		snprintf(buf, len, "%.1fs", s > 0 ? s : 0.0);
	else if (t < 3600)
		snprintf(buf, len, "%lum%02lus", t / 60, t % 60);
	else if (t < 86400)
		snprintf(buf, len, "%luh%02lum", t / 3600, t / 60 % 60);
	else
		snprintf(buf, len, "%lud%02luh", t / 86400, t / 3600 % 24);
}

static void count_states(const struct sm_status *st, size_t counts[SM_WSTATES])
{
	size_t i;

	memset(counts, 0, SM_WSTATES * sizeof(counts[0]));
	for (i = 0; i < st->n_workers; i++)
		counts[st->workers[i].state]++;
}

void sm_status_text(const struct sm_status *st, struct sm_buf *out)
{
	size_t counts[SM_WSTATES], i;
	char up[32], age[32];
	const struct sm_pool_counters *c = &st->counters;

	count_states(st, counts);
	duration(st->uptime_s, up, sizeof(up));
	sm_buf_printf(out,
	              "master  pid %ld  uid:gid %lu:%lu  up %s  version %s\n"
	              "        %s, generation %u, %zu/%d workers ready\n\n",
	              (long)st->pid, (unsigned long)st->uid, (unsigned long)st->gid, up,
	              st->version, state_names[st->state], st->generation, counts[SM_WSTATE_READY],
	              st->desired_workers);
	sm_buf_printf(out, "%-5s %-8s %-4s %-9s %-8s %-8s %s\n", "SLOT", "PID", "GEN", "STATE",
	              "AGE", "RESTARTS", "LAST EXIT");
	for (i = 0; i < st->n_workers; i++) {
		const struct sm_status_worker *w = &st->workers[i];
		duration(w->age_s, age, sizeof(age));
		sm_buf_printf(out, "%-5d %-8ld %-4u %-9s %-8s %-8lu %s\n", w->slot, (long)w->pid,
		              w->generation, wstate_names[w->state], age, w->restarts,
		              w->last_exit[0] ? w->last_exit : "-");
	}
	sm_buf_printf(out,
	              "\nrestarts %llu, start failures %llu, reloads ok %llu, failed %llu\n"
	              "exits: status %llu, signal %llu, timeout %llu, recycled %llu, stopped "
	              "%llu\nlog lines written %llu, dropped %llu\n",
	              (unsigned long long)c->restarts, (unsigned long long)c->start_failures,
	              (unsigned long long)c->reloads_ok, (unsigned long long)c->reloads_failed,
	              (unsigned long long)c->exits[SM_EXIT_STATUS],
	              (unsigned long long)c->exits[SM_EXIT_SIGNAL],
	              (unsigned long long)c->exits[SM_EXIT_TIMEOUT],
	              (unsigned long long)c->exits[SM_EXIT_RECYCLED],
	              (unsigned long long)c->exits[SM_EXIT_STOPPED],
	              (unsigned long long)st->log_lines_written,
	              (unsigned long long)st->log_lines_dropped);
}

/* A JSON string, escaped as the log's JSON lines are. */
static void json_string(struct sm_buf *out, const char *s)
{
	size_t len = strlen(s);
	char *at = sm_buf_room(out, 6 * len + 3);

	if (at == NULL)
		return;
	at[0] = '"';
	len = 1 + sm_json_escape(at + 1, 6 * len + 1, s, len);
	at[len++] = '"';
	out->len += len;
	out->data[out->len] = '\0';
}

static void json_worker(struct sm_buf *out, const struct sm_status_worker *w, bool first)
{
	sm_buf_printf(out,
	              "%s{\"slot\":%d,\"pid\":%ld,\"generation\":%u,\"state\":\"%s\","
	              "\"age_s\":%.3f,\"restarts\":%lu,\"last_exit\":",
	              first ? "" : ",", w->slot, (long)w->pid, w->generation,
	              wstate_names[w->state], w->age_s, w->restarts);
	if (w->last_exit[0])
		json_string(out, w->last_exit);
	else
		sm_buf_str(out, "null");
	sm_buf_str(out, "}");
}

void sm_status_json(const struct sm_status *st, struct sm_buf *out)
{
	const struct sm_pool_counters *c = &st->counters;
	size_t i;

	sm_buf_printf(out, "{\"master\":{\"pid\":%ld,\"uid\":%lu,\"gid\":%lu,\"version\":",
	              (long)st->pid, (unsigned long)st->uid, (unsigned long)st->gid);
	json_string(out, st->version);
	sm_buf_str(out, ",\"command\":");
	json_string(out, st->command != NULL ? st->command : "");
	sm_buf_printf(out,
	              ",\"state\":\"%s\",\"generation\":%u,\"uptime_s\":%.3f,"
	              "\"desired_workers\":%d,\"max_workers\":%d,\"rss_bytes\":%llu},"
	              "\"workers\":[",
	              state_names[st->state], st->generation, st->uptime_s, st->desired_workers,
	              st->max_workers, (unsigned long long)st->rss_bytes);
	for (i = 0; i < st->n_workers; i++)
		json_worker(out, &st->workers[i], i == 0);
	sm_buf_printf(out,
	              "],\"counters\":{\"restarts\":%llu,\"start_failures\":%llu,"
	              "\"reloads_ok\":%llu,\"reloads_failed\":%llu,\"log_lines_written\":%llu,"
	              "\"log_lines_dropped\":%llu,\"exits\":{",
	              (unsigned long long)c->restarts, (unsigned long long)c->start_failures,
	              (unsigned long long)c->reloads_ok, (unsigned long long)c->reloads_failed,
	              (unsigned long long)st->log_lines_written,
	              (unsigned long long)st->log_lines_dropped);
	for (i = 0; i < SM_EXIT_CAUSES; i++)
		sm_buf_printf(out, "%s\"%s\":%llu", i == 0 ? "" : ",", cause_names[i],
		              (unsigned long long)c->exits[i]);
	sm_buf_str(out, "}}}\n");
}

static void metric_head(struct sm_buf *out, const char *name, const char *type, const char *help)
{
	sm_buf_printf(out, "# HELP sentrik_master_%s %s\n# TYPE sentrik_master_%s %s\n", name, help,
	              name, type);
}

static void metric_one(struct sm_buf *out, const char *name, const char *type, const char *help,
                       unsigned long long value)
{
	metric_head(out, name, type, help);
	sm_buf_printf(out, "sentrik_master_%s %llu\n", name, value);
}

void sm_status_metrics(const struct sm_status *st, struct sm_buf *out)
{
	const struct sm_pool_counters *c = &st->counters;
	size_t counts[SM_WSTATES], i;

	count_states(st, counts);
	metric_head(out, "info", "gauge", "The master's version; always 1.");
	/* The version is ours (digits and dots): it needs no label escaping. */
	sm_buf_printf(out, "sentrik_master_info{version=\"%s\"} 1\n", st->version);
	metric_head(out, "state", "gauge", "1 for the master's current state, else 0.");
	for (i = 0; i < sizeof(state_names) / sizeof(state_names[0]); i++)
		sm_buf_printf(out, "sentrik_master_state{state=\"%s\"} %d\n", state_names[i],
		              st->state == (enum sm_status_state)i);
	metric_head(out, "workers", "gauge", "Running workers by state.");
	for (i = 0; i < SM_WSTATES; i++)
		sm_buf_printf(out, "sentrik_master_workers{state=\"%s\"} %zu\n", wstate_names[i],
		              counts[i]);
	metric_one(out, "desired_workers", "gauge", "The pool size wanted.",
	           (unsigned long long)st->desired_workers);
	metric_one(out, "generation", "gauge", "The serving generation: 0, then one more a reload.",
	           st->generation);
	metric_head(out, "reloads_total", "counter", "Reloads by result.");
	sm_buf_printf(out,
	              "sentrik_master_reloads_total{result=\"ok\"} %llu\n"
	              "sentrik_master_reloads_total{result=\"failed\"} %llu\n",
	              (unsigned long long)c->reloads_ok, (unsigned long long)c->reloads_failed);
	metric_head(out, "worker_exits_total", "counter", "Worker exits by cause.");
	for (i = 0; i < SM_EXIT_CAUSES; i++)
		sm_buf_printf(out, "sentrik_master_worker_exits_total{cause=\"%s\"} %llu\n",
		              cause_names[i], (unsigned long long)c->exits[i]);
	metric_one(out, "restarts_total", "counter",
	           "Workers replaced after an exit the master had not asked for.", c->restarts);
	metric_one(out, "start_failures_total", "counter",
	           "Workers that died before they were ready.", c->start_failures);
	metric_one(out, "log_lines_written_total", "counter",
	           "Log lines (the master's and captured ones) handed to the log.",
	           st->log_lines_written);
	metric_one(out, "log_lines_dropped_total", "counter",
	           "Log lines lost to write errors such as a full disk.", st->log_lines_dropped);
	metric_head(out, "uptime_seconds", "gauge", "Seconds since the master started.");
	sm_buf_printf(out, "sentrik_master_uptime_seconds %.3f\n", st->uptime_s);
	metric_one(out, "resident_memory_bytes", "gauge", "The master's resident set size.",
	           st->rss_bytes);
}

bool sm_status_healthy(const struct sm_status *st)
{
	size_t i;

	for (i = 0; i < st->n_workers; i++)
		if (st->workers[i].state == SM_WSTATE_READY)
			return true;
	return false;
}

bool sm_status_all_ready(const struct sm_status *st)
{
	int want = 1;
	size_t i;

	if (st->desired_workers < 1)
		return false;
	/* Rows are sorted by slot: walk them looking for 1, 2, ... desired. */
	for (i = 0; i < st->n_workers && want <= st->desired_workers; i++) {
		const struct sm_status_worker *w = &st->workers[i];
		if (w->slot == want && w->generation == st->generation &&
		    w->state == SM_WSTATE_READY)
			want++;
	}
	return want > st->desired_workers;
}
