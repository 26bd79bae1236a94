/* pool_recycle: --max-worker-age and --max-worker-rss, one slot at a time: the
 * replacement starts while the old worker serves, and the old one is
 * stopped only once its replacement is ready. */
#ifndef SENTRIK_RECYCLE_H
#define SENTRIK_RECYCLE_H

#include <sentrik/pool.h>

/* Retire the old worker whose replacement is ready; else, when no
 * recycling is under way, mark the most overdue worker for replacement.
 * Only while the pool runs with no reload.  *next: the next age due.
 * true when it retired one (whose stop signal is then due). */
bool sm_recycle_step(struct sm_pool *pool, double now, double *next);

#endif
