/* cpus: the number of CPUs this process may really use, for --workers
 * auto: the affinity mask, capped by a cgroup v2 cpu.max or v1 CFS quota. */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sentrik/cpus.h>

int sm_cpus_from_cfs(long quota_us, long period_us)
{
	if (quota_us <= 0 || period_us <= 0)
		return 0;
	return (int)((quota_us + period_us - 1) / period_us);
}

int sm_cpus_from_cpu_max(const char *text)
{
	char quota[32];
	long period, q;
	char *end;

	if (sscanf(text, "%31s %ld", quota, &period) != 2 || period <= 0)
		return -1;
	if (strcmp(quota, "max") == 0)
		return 0;
	q = strtol(quota, &end, 10);
	if (*end != '\0' || q <= 0)
		return -1;
	return sm_cpus_from_cfs(q, period);
}

static int read_text(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	size_t n;

	if (f == NULL)
		return -1;
	n = fread(buf, 1, len - 1, f);
	fclose(f);
	buf[n] = '\0';
	return 0;
}

static long read_long(const char *path)
{
	char buf[64];

	if (read_text(path, buf, sizeof(buf)) < 0)
		return 0;
	return strtol(buf, NULL, 10);
}

/* Smallest positive of a and b, 0 when neither limits. */
static int min_limit(int a, int b)
{
	if (a <= 0)
		return b > 0 ? b : 0;
	if (b <= 0)
		return a;
	return a < b ? a : b;
}

/* The limit set on one cgroup directory; 0 = none. */
static int quota_at(const char *dir, int v2)
{
	char path[4096 + 32], buf[128];
	int n;

	if (v2) {
		snprintf(path, sizeof(path), "%s/cpu.max", dir);
		if (read_text(path, buf, sizeof(buf)) == 0 && (n = sm_cpus_from_cpu_max(buf)) > 0)
			return n;
		return 0;
	}
	snprintf(path, sizeof(path), "%s/cpu.cfs_quota_us", dir);
	long quota = read_long(path);
	snprintf(path, sizeof(path), "%s/cpu.cfs_period_us", dir);
	return sm_cpus_from_cfs(quota, read_long(path));
}

/* The smallest limit from the cgroup at rel up to the mount's root: a
 * quota on a parent (a systemd slice, the container's own cgroup seen as
 * the root) binds every cgroup below it. */
static int quota_walk(const char *base, const char *rel, int v2)
{
	char dir[4096];
	size_t base_len = strlen(base);
	int n, limit = 0;
	char *slash;

	n = snprintf(dir, sizeof(dir), "%s%s", base, strcmp(rel, "/") == 0 ? "" : rel);
	if (n < 0 || (size_t)n >= sizeof(dir))
		return 0;
	for (;;) {
		limit = min_limit(limit, quota_at(dir, v2));
		if (strlen(dir) <= base_len || (slash = strrchr(dir + base_len, '/')) == NULL)
			break;
		*slash = '\0';
	}
	return limit;
}

static int quota_v1(const char *root, const char *controller_dir, const char *rel)
{
	char base[4096];
	int n = snprintf(base, sizeof(base), "%s/%s", root, controller_dir);

	if (n < 0 || (size_t)n >= sizeof(base))
		return 0;
	return quota_walk(base, rel, 0);
}

int sm_cpus_quota(const char *sysfs_root, const char *proc_cgroup)
{
	char *copy = strdup(proc_cgroup), *save = NULL, *line;
	int limit = 0;

	if (copy == NULL)
		return 0;
	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *ctl = strchr(line, ':'), *rel;
		if (ctl == NULL || (rel = strchr(ctl + 1, ':')) == NULL)
			continue;
		*rel++ = '\0';
		ctl++;
		if (*ctl == '\0') { /* "0::/path": the unified hierarchy */
			limit = min_limit(limit, quota_walk(sysfs_root, rel, 1));
			continue;
		}
		for (char *s = NULL, *c = strtok_r(ctl, ",", &s); c; c = strtok_r(NULL, ",", &s)) {
			if (strcmp(c, "cpu") == 0) {
				/* v1 mounts are named "cpu" or "cpu,cpuacct": try both. */
				limit = min_limit(limit, quota_v1(sysfs_root, "cpu", rel));
				limit = min_limit(limit, quota_v1(sysfs_root, "cpu,cpuacct", rel));
				break;
			}
		}
	}
	free(copy);
	return limit;
}

int sm_cpus_combine(int affinity, int quota)
{
	int n = affinity > 0 ? affinity : 1;

	if (quota > 0 && quota < n)
		n = quota;
	return n;
}

int sm_cpus_usable(void)
{
	cpu_set_t set;
	char buf[4096];
	int affinity = 1;

	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		affinity = CPU_COUNT(&set);
	if (read_text("/proc/self/cgroup", buf, sizeof(buf)) < 0)
		return sm_cpus_combine(affinity, 0);
	return sm_cpus_combine(affinity, sm_cpus_quota("/sys/fs/cgroup", buf));
}
