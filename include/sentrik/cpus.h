/* cpus: how many CPUs this process may use (affinity and cgroup quota),
 * for --workers auto. */
#ifndef SENTRIK_CPUS_H
#define SENTRIK_CPUS_H

/* Text of a cgroup v2 cpu.max ("max 100000", "150000 100000") -> CPUs,
 * rounded up; 0 = no limit; -1 = malformed. */
int sm_cpus_from_cpu_max(const char *text);
/* cgroup v1 quota and period in microseconds -> CPUs, rounded up; 0 = none. */
int sm_cpus_from_cfs(long quota_us, long period_us);
/* CPUs allowed by the quota found under sysfs_root for the cgroups listed
 * in proc_cgroup (the text of /proc/self/cgroup); 0 = no quota. */
int sm_cpus_quota(const char *sysfs_root, const char *proc_cgroup);
/* The smaller of affinity and quota (quota 0 = none); at least 1. */
int sm_cpus_combine(int affinity, int quota);
/* Everything above against the running system. */
int sm_cpus_usable(void);

#endif
