/* slot: what outlives a slot's workers — backoff, start failures in a
 * row, restarts, the last exit, the jittered age limit — and the totals. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include <sentrik/sig.h>
#include <sentrik/slot.h>

double sm_backoff_next(double *slot_delay, double lifetime)
{
	if (lifetime >= SM_BACKOFF_RESET) {
		*slot_delay = 0;
		return 0;
	}
	if (lifetime >= SM_BACKOFF_EARLY)
		return 0;
	if (*slot_delay <= 0)
		*slot_delay = SM_BACKOFF_FIRST;
	else if ((*slot_delay *= 2) > SM_BACKOFF_MAX)
		*slot_delay = SM_BACKOFF_MAX;
	return *slot_delay;
}

void sm_exit_describe(int wstatus, char *buf, size_t len)
{
	if (WIFEXITED(wstatus))
		snprintf(buf, len, "exited with status %d", WEXITSTATUS(wstatus));
	else if (WIFSIGNALED(wstatus))
		snprintf(buf, len, "was killed by signal %d (%s)", WTERMSIG(wstatus),
		         sm_sig_name(WTERMSIG(wstatus)));
	else
		snprintf(buf, len, "changed state (0x%x)", (unsigned)wstatus);
}

void sm_exit_text(int wstatus, char *buf, size_t len)
{
	if (WIFSIGNALED(wstatus))
		snprintf(buf, len, "signal %d", WTERMSIG(wstatus));
	else
		snprintf(buf, len, "status %d", WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1);
}

enum sm_exit_cause sm_exit_cause(const struct sm_exit_facts *f)
{
	if (f->recycled)
		return SM_EXIT_RECYCLED;
	if (f->timed_out)
		return SM_EXIT_TIMEOUT;
	if (f->stopped)
		return SM_EXIT_STOPPED;
	return WIFSIGNALED(f->wstatus) ? SM_EXIT_SIGNAL : SM_EXIT_STATUS;
}

bool sm_exit_is_start_failure(const struct sm_exit_facts *f)
{
	return !f->was_ready || (f->ready_on_exec && f->lifetime < SM_BACKOFF_EARLY);
}

void sm_slot_exited(struct sm_slot *s, const struct sm_exit_facts *f, struct sm_pool_counters *c)
{
	sm_exit_text(f->wstatus, s->last_exit, sizeof(s->last_exit));
	c->exits[sm_exit_cause(f)]++;
	if (f->was_ready && f->lifetime >= SM_BACKOFF_RESET)
		s->failures = 0;
}

int sm_slot_start_failed(struct sm_slot *s, struct sm_pool_counters *c)
{
	c->start_failures++;
	return ++s->failures;
}

double sm_slot_restart(struct sm_slot *s, double lifetime, double now, struct sm_pool_counters *c)
{
	double delay = sm_backoff_next(&s->delay, lifetime);

	s->restart_at = now + delay;
	s->restarts++;
	c->restarts++;
	return delay;
}

static double uniform(uint32_t *rng)
{
	uint32_t x = *rng ? *rng : UINT32_C(2463534242);

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*rng = x;
	return (double)x / 4294967296.0;
}

double sm_slot_age_limit(struct sm_slot *s, double max_age, uint32_t *rng)
{
	if (max_age <= 0)
		return 0;
	if (s->age_for != max_age) {
		s->age_for = max_age;
		s->age_limit = max_age * (1 - SM_AGE_JITTER * uniform(rng));
	}
	return s->age_limit;
}
