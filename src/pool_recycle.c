/* pool_recycle: the pool's part that picks which worker is replaced next
 * for its age or memory, and when the one being replaced may go.  Pure,
 * over the pool's table. */
#include <math.h>

#include <sentrik/pool.h>
#include <sentrik/pool_recycle.h>

/* The worker that will take over w's slot, if it is running. */
static const struct sm_worker *replacement_of(const struct sm_pool *pool, const struct sm_worker *w)
{
	size_t i;

	for (i = 0; i < pool->n_workers; i++) {
		const struct sm_worker *r = &pool->workers[i];
		if (r != w && r->slot == w->slot && r->generation == w->generation && !r->retire &&
		    !r->recycle)
			return r;
	}
	return NULL;
}

/* A recycling under way: true while its replacement is not ready yet;
 * *retired when an old worker's replacement is ready and it may go. */
static bool in_progress(struct sm_pool *pool, bool *retired)
{
	bool busy = false;
	size_t i;

	for (i = 0; i < pool->n_workers; i++) {
		struct sm_worker *w = &pool->workers[i];
		const struct sm_worker *r;
		if (!w->recycle || w->retire)
			continue;
		r = replacement_of(pool, w);
		if (r != NULL && r->state == SM_WORKER_READY) {
			w->retire = true; /* capacity is back: the old one goes */
			*retired = true;
			pool->changes++;
		} else {
			busy = true;
		}
	}
	return busy;
}

static double due_at(struct sm_pool *pool, const struct sm_worker *w)
{
	double limit;

	if (w->recycle_due)
		return w->started_at;
	limit = sm_slot_age_limit(&pool->slots[w->slot], pool->params.max_age, &pool->rng);
	return limit > 0 ? w->started_at + limit : INFINITY;
}

bool sm_recycle_step(struct sm_pool *pool, double now, double *next)
{
	struct sm_worker *oldest = NULL;
	double oldest_at = INFINITY;
	bool retired = false;
	size_t i;

	if (pool->phase != SM_PHASE_RUNNING || pool->reloading || in_progress(pool, &retired))
		return retired;
	for (i = 0; i < pool->n_workers; i++) {
		struct sm_worker *w = &pool->workers[i];
		double at;
		if (w->generation != pool->serving_gen || w->state != SM_WORKER_READY ||
		    w->retire || w->slot > pool->target)
			continue;
		at = due_at(pool, w);
		if (at > now) {
			if (at < *next)
				*next = at;
		} else if (at < oldest_at) {
			oldest = w;
			oldest_at = at;
		}
	}
	if (oldest != NULL) {
		oldest->recycle = true;
		pool->changes++;
	}
	return retired;
}
