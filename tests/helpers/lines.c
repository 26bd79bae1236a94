/* lines: a worker that writes numbered lines, for the log tests and the
 * log benchmark.  Options, applied in order of this list:
 *   --count N      lines to write (default 1000)
 *   --size B       bytes per line with its '\n' (default 100, at least 20)
 *   --batch K      lines per write(2) (default 1)
 *   --fd N         write to descriptor N (default 1)
 *   --delay-us U   sleep U microseconds after each write
 *   --long N       then write one line of N bytes ('a'..'z') and '\n'
 *   --tail TEXT    then write TEXT with no newline
 *   --done FILE    then append "ID\n" to FILE
 *   --hold         then wait for signals instead of exiting
 * A line reads "w<ID> <8-digit number> ..." padded with '.', ID being
 * SENTRIK_WORKER_ID (or 0), numbers from 1. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("lines: write");
			exit(1);
		}
		p += n;
		len -= (size_t)n;
	}
}

int main(int argc, char *argv[])
{
	long count = 1000, size = 100, batch = 1, fd = 1, delay = 0, longlen = -1, i, j;
	const char *tail = NULL, *done = NULL, *id = getenv("SENTRIK_WORKER_ID");
	int hold = 0, a;
	char *buf;

	for (a = 1; a < argc; a++) {
		const char *v = a + 1 < argc ? argv[a + 1] : "";
		if (strcmp(argv[a], "--hold") == 0) {
			hold = 1;
			continue;
		}
		a++;
		if (strcmp(argv[a - 1], "--count") == 0)
			count = atol(v);
		else if (strcmp(argv[a - 1], "--size") == 0)
			size = atol(v);
		else if (strcmp(argv[a - 1], "--batch") == 0)
			batch = atol(v);
		else if (strcmp(argv[a - 1], "--fd") == 0)
			fd = atol(v);
		else if (strcmp(argv[a - 1], "--delay-us") == 0)
			delay = atol(v);
		else if (strcmp(argv[a - 1], "--long") == 0)
			longlen = atol(v);
		else if (strcmp(argv[a - 1], "--tail") == 0)
			tail = v;
		else if (strcmp(argv[a - 1], "--done") == 0)
			done = v;
		else {
			fprintf(stderr, "lines: unknown option %s\n", argv[a - 1]);
			return 2;
		}
	}
	if (id == NULL)
		id = "0";
	if (size < 20 || batch < 1 || (buf = malloc((size_t)(size * batch))) == NULL)
		return 2;
	for (i = 0; i < count;) {
		long n = count - i < batch ? count - i : batch;
		for (j = 0; j < n; j++, i++) {
			char *line = buf + j * size;
			int h = snprintf(line, (size_t)size, "w%s %08ld ", id, i + 1);
			memset(line + h, '.', (size_t)(size - 1 - h));
			line[size - 1] = '\n';
		}
		write_all((int)fd, buf, (size_t)(n * size));
		if (delay > 0) {
			struct timespec ts = {delay / 1000000, (delay % 1000000) * 1000};
			nanosleep(&ts, NULL);
		}
	}
	if (longlen >= 0) {
		char *l = malloc((size_t)longlen + 1);
		if (l == NULL)
			return 2;
		for (i = 0; i < longlen; i++)
			l[i] = (char)('a' + i % 26);
		l[longlen] = '\n';
		write_all((int)fd, l, (size_t)longlen + 1);
		free(l);
	}
	if (tail != NULL)
		write_all((int)fd, tail, strlen(tail));
	if (done != NULL) {
		int dfd = open(done, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
		char msg[32];
		int m = snprintf(msg, sizeof(msg), "%s\n", id);
		if (dfd < 0)
			return 1;
		write_all(dfd, msg, (size_t)m);
		close(dfd);
	}
	while (hold)
		pause();
	return 0;
}
