/* pool_internal: what pool.c (table and events) shares with pool_step.c
 * (the reconcile step) and recycle.c; nothing else includes it. */
#ifndef SENTRIK_POOL_INTERNAL_H
#define SENTRIK_POOL_INTERNAL_H

#include <sentrik/pool.h>

/* Queue a notice (BOOTED, ROLLED_BACK, WARN...) for the next step. */
void sm_pool_notice(struct sm_pool *pool, enum sm_action_type type, const char *reason);
/* The size of generation gen: the reload's for its new one. */
int sm_pool_target_of(const struct sm_pool *pool, unsigned gen);
void sm_pool_retire_old(struct sm_pool *pool);
void sm_pool_retire_above_target(struct sm_pool *pool);
/* Give up with EX_UNAVAILABLE and reason. */
void sm_pool_fail(struct sm_pool *pool, const char *reason, double now);
void sm_pool_rollback(struct sm_pool *pool, const char *reason);
/* A new SPAWNING entry at the end of the table; NULL when out of memory. */
struct sm_worker *sm_pool_add_worker(struct sm_pool *pool);
void sm_pool_mark_ready(struct sm_pool *pool, struct sm_worker *w, double now);

#endif
