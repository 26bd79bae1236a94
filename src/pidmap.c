/* pidmap: the pid -> worker index hash.  Linear probing with deletion by
 * backward shift: no tombstones, so lookups stay short after any churn. */
#include <stdlib.h>

#include <sentrik/pidmap.h>

static size_t home_of(const struct sm_pidmap *m, pid_t pid)
{
	/* Fibonacci hashing spreads the consecutive pids a fork loop makes. */
	return (size_t)(((uint32_t)pid * UINT32_C(2654435761)) & (m->cap - 1));
}

static struct sm_pidmap_entry *probe(const struct sm_pidmap *m, pid_t pid)
{
	size_t i = home_of(m, pid);

	while (m->table[i].pid != 0 && m->table[i].pid != pid)
		i = (i + 1) & (m->cap - 1);
	return &m->table[i];
}

int sm_pidmap_reserve(struct sm_pidmap *m, size_t n)
{
	struct sm_pidmap old = *m;
	size_t cap = m->cap ? m->cap : 32, i;

	while (cap < 2 * n)
		cap *= 2;
	if (cap == m->cap)
		return 0;
	m->table = calloc(cap, sizeof(*m->table));
	if (m->table == NULL) {
		*m = old;
		return -1;
	}
	m->cap = cap;
	m->used = 0;
	for (i = 0; i < old.cap; i++)
		if (old.table[i].pid != 0)
			sm_pidmap_put(m, old.table[i].pid, old.table[i].index);
	free(old.table);
	return 0;
}

void sm_pidmap_put(struct sm_pidmap *m, pid_t pid, uint32_t index)
{
	struct sm_pidmap_entry *e = probe(m, pid);

	if (e->pid == 0)
		m->used++;
	e->pid = pid;
	e->index = index;
}

long sm_pidmap_get(const struct sm_pidmap *m, pid_t pid)
{
	const struct sm_pidmap_entry *e;

	if (m->cap == 0 || pid <= 0)
		return -1;
	e = probe(m, pid);
	return e->pid == pid ? (long)e->index : -1;
}

void sm_pidmap_del(struct sm_pidmap *m, pid_t pid)
{
	size_t hole, i, home;

	if (m->cap == 0 || pid <= 0 || probe(m, pid)->pid != pid)
		return;
	hole = (size_t)(probe(m, pid) - m->table);
	m->table[hole].pid = 0;
	m->used--;
	/* Move back every entry of the run that the hole would hide. */
	for (i = (hole + 1) & (m->cap - 1); m->table[i].pid != 0; i = (i + 1) & (m->cap - 1)) {
		home = home_of(m, m->table[i].pid);
		if (((i - home) & (m->cap - 1)) >= ((i - hole) & (m->cap - 1))) {
			m->table[hole] = m->table[i];
			m->table[i].pid = 0;
			hole = i;
		}
	}
}

void sm_pidmap_free(struct sm_pidmap *m)
{
	free(m->table);
	m->table = NULL;
	m->cap = m->used = 0;
}
