/* rss: one walk over /proc every check (10 s, only with --max-worker-rss):
 * stat names each process's session and group, smaps_rollup its Pss. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sentrik/rss.h>

int sm_rss_parse_stat(const char *stat, pid_t *session, pid_t *pgrp)
{
	/* "pid (comm) state ppid pgrp session ...": comm may hold anything,
	 * so the fields start after its last ')'. */
	const char *p = strrchr(stat, ')');
	long ppid, group, sid;
	char state;

	if (p == NULL || sscanf(p + 1, " %c %ld %ld %ld", &state, &ppid, &group, &sid) != 4)
		return -1;
	*pgrp = (pid_t)group;
	*session = (pid_t)sid;
	return 0;
}

unsigned long long sm_rss_parse_pss(const char *rollup)
{
	const char *p = rollup;

	while ((p = strstr(p, "Pss:")) != NULL) {
		if (p == rollup || p[-1] == '\n')
			return strtoull(p + 4, NULL, 10);
		p += 4;
	}
	return 0;
}

static ssize_t read_text(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	do
		n = read(fd, buf, len - 1);
	while (n < 0 && errno == EINTR);
	(void)close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return n;
}

int sm_rss_scan(sm_rss_match *match, void *ctx, unsigned long long *kib, size_t n)
{
	char path[64], buf[4096];
	struct dirent *d;
	DIR *dir = opendir("/proc");

	if (dir == NULL)
		return -1;
	while ((d = readdir(dir)) != NULL) {
		pid_t session, pgrp;
		long i;

		if (!isdigit((unsigned char)d->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%.20s/stat", d->d_name);
		if (read_text(path, buf, sizeof(buf)) < 0 ||
		    sm_rss_parse_stat(buf, &session, &pgrp) < 0)
			continue; /* gone meanwhile */
		if ((i = match(session, pgrp, ctx)) < 0 || (size_t)i >= n)
			continue;
		snprintf(path, sizeof(path), "/proc/%.20s/smaps_rollup", d->d_name);
		if (read_text(path, buf, sizeof(buf)) > 0)
			kib[i] += sm_rss_parse_pss(buf);
	}
	(void)closedir(dir);
	return 0;
}
