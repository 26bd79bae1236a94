/* slot: one slot's history across its workers (the restart backoff, the
 * start failures in a row behind --start-retries, restarts, its last exit,
 * its recycling age) and the pool's counters.  Pure: the pool feeds it. */
#ifndef SENTRIK_SLOT_H
#define SENTRIK_SLOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SM_BACKOFF_FIRST 0.1  /* delay after a first early death */
#define SM_BACKOFF_MAX 10.0   /* the delay never grows past this */
#define SM_BACKOFF_EARLY 1.0  /* a worker dying younger than this died early */
#define SM_BACKOFF_RESET 10.0 /* a worker living this long resets the delay */
#define SM_AGE_JITTER 0.1     /* --max-worker-age drawn up to this much shorter */
#define SM_EXIT_TEXT_MAX 32

enum sm_exit_cause {
	SM_EXIT_STATUS,   /* exited by itself */
	SM_EXIT_SIGNAL,   /* killed by a signal */
	SM_EXIT_TIMEOUT,  /* killed for --ready-timeout or --timeout */
	SM_EXIT_RECYCLED, /* restart SLOT, --max-worker-age, --max-worker-rss, STOPPING=1 */
	SM_EXIT_STOPPED,  /* asked to stop: reload, scale down, shutdown */
	SM_EXIT_CAUSES,
};

struct sm_slot {
	double delay;      /* current backoff step; 0 = none */
	double restart_at; /* no spawn before this */
	int failures;      /* start failures in a row */
	unsigned long restarts;
	char last_exit[SM_EXIT_TEXT_MAX]; /* "status 1", "signal 9"; "" = none yet */
	double age_limit;                 /* this slot's --max-worker-age, jittered */
	double age_for;                   /* the --max-worker-age it was drawn for */
	unsigned mark;                    /* scratch of one pool step */
};

/* Read-only totals for status and metrics. */
struct sm_pool_counters {
	unsigned long restarts;
	unsigned long start_failures;
	unsigned long reloads_ok;
	unsigned long reloads_failed;
	unsigned long exits[SM_EXIT_CAUSES];
};

/* What the pool knows of a worker that exited. */
struct sm_exit_facts {
	int wstatus; /* as waitpid gave it */
	double lifetime;
	bool was_ready;
	bool ready_on_exec; /* ready meant only "exec succeeded" */
	bool timed_out;
	bool recycled;
	bool stopped; /* the master had asked it to stop */
};

/* The backoff rule of SPEC §4: from a slot's current delay and the dead
 * worker's lifetime, the delay before the next start (0 = at once) and the
 * slot's new delay. */
double sm_backoff_next(double *slot_delay, double lifetime);

/* "exited with status 1", "was killed by signal 9 (KILL)" for log lines;
 * "status 1", "signal 9" for status and metrics. */
void sm_exit_describe(int wstatus, char *buf, size_t len);
void sm_exit_text(int wstatus, char *buf, size_t len);
enum sm_exit_cause sm_exit_cause(const struct sm_exit_facts *f);
/* Died before it was ready, or under --ready exec within 1 s of its exec. */
bool sm_exit_is_start_failure(const struct sm_exit_facts *f);

/* Any exit of the slot's workers: the last exit, the cause counted, and a
 * worker that was ready and ran 10 s clears the start failures. */
void sm_slot_exited(struct sm_slot *s, const struct sm_exit_facts *f, struct sm_pool_counters *c);
/* One more start failure; returns how many in a row now. */
int sm_slot_start_failed(struct sm_slot *s, struct sm_pool_counters *c);
/* A lost worker is replaced: the backoff from its lifetime, the restart
 * counted.  Returns the delay. */
double sm_slot_restart(struct sm_slot *s, double lifetime, double now, struct sm_pool_counters *c);
/* The slot's age limit for max_age (0: none), drawn once per value with
 * up to SM_AGE_JITTER off, so slots started together do not recycle
 * together.  *rng is the pool's xorshift state. */
double sm_slot_age_limit(struct sm_slot *s, double max_age, uint32_t *rng);

#endif
