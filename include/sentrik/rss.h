/* rss: the memory of a worker's whole session for --max-worker-rss: the
 * sum of Pss (shared pages divided among their users, so copy-on-write
 * pages of a forking app are not counted twice) over its processes. */
#ifndef SENTRIK_RSS_H
#define SENTRIK_RSS_H

#include <stddef.h>
#include <sys/types.h>

/* Which worker a process belongs to, from its session and process group
 * ids: an index below n, or -1 for none. */
typedef long sm_rss_match(pid_t session, pid_t pgrp, void *ctx);

/* One pass over /proc: the Pss (KiB) of every process match() claims is
 * added to kib[index].  -1 with errno when /proc cannot be read. */
int sm_rss_scan(sm_rss_match *match, void *ctx, unsigned long long *kib, size_t n);

/* The session and process group in the text of /proc/PID/stat: 0, or -1
 * when it does not parse. */
int sm_rss_parse_stat(const char *stat, pid_t *session, pid_t *pgrp);
/* The Pss: line of /proc/PID/smaps_rollup, in KiB; 0 when absent. */
unsigned long long sm_rss_parse_pss(const char *rollup);

#endif
