/* pidmap: pid -> index, an open-addressing hash with linear probing, so a
 * worker's exit or notify message finds its record in O(1) at any size. */
#ifndef SENTRIK_PIDMAP_H
#define SENTRIK_PIDMAP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct sm_pidmap_entry {
	pid_t pid; /* 0: free */
	uint32_t index;
};

struct sm_pidmap {
	struct sm_pidmap_entry *table;
	size_t cap; /* a power of two, 0 before the first reserve */
	size_t used;
};

/* Room for n entries at a load of at most one half; rehashes when it
 * grows.  -1 (nothing changed) when out of memory. */
int sm_pidmap_reserve(struct sm_pidmap *m, size_t n);
/* Insert or update; the room must have been reserved. */
void sm_pidmap_put(struct sm_pidmap *m, pid_t pid, uint32_t index);
/* The index of pid, or -1. */
long sm_pidmap_get(const struct sm_pidmap *m, pid_t pid);
void sm_pidmap_del(struct sm_pidmap *m, pid_t pid);
void sm_pidmap_free(struct sm_pidmap *m);

#endif
