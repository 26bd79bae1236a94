/* flood: another local user's datagram flood at notify sockets.
 *   flood SECONDS PROCS ADDRESS...
 * PROCS processes each send small garbage datagrams, without waiting,
 * round-robin to every ADDRESS ("@name" is abstract, else a path) until
 * SECONDS have passed; a refused or full socket is simply tried again.
 * Prints "sent N refused M" (summed over the processes). */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_ADDRS 64

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static socklen_t to_addr(const char *text, struct sockaddr_un *sa)
{
	size_t len = strlen(text);

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (len < 2 || len >= sizeof(sa->sun_path))
		return 0;
	memcpy(sa->sun_path, text, len);
	if (text[0] == '@')
		sa->sun_path[0] = '\0';
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
}

static void one(double end, int n, const struct sockaddr_un *sa, const socklen_t *len, int out)
{
	unsigned long sent = 0, refused = 0, loops = 0;
	char line[64];
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0), i = 0;

	if (fd < 0) {
		perror("flood: socket");
		_exit(2);
	}
	while ((++loops & 255) != 0 || now() < end) {
		if (sendto(fd, "X", 1, MSG_DONTWAIT, (const struct sockaddr *)&sa[i], len[i]) == 1)
			sent++;
		else
			refused++;
		i = (i + 1) % n;
	}
	snprintf(line, sizeof(line), "%lu %lu\n", sent, refused);
	(void)!write(out, line, strlen(line));
	_exit(0);
}

int main(int argc, char **argv)
{
	struct sockaddr_un sa[MAX_ADDRS];
	socklen_t len[MAX_ADDRS];
	unsigned long sent = 0, refused = 0, s, r;
	int procs, n, i, pipefd[2];
	double end;
	FILE *in;

	if (argc < 4 || argc - 3 > MAX_ADDRS) {
		fprintf(stderr, "usage: flood SECONDS PROCS ADDRESS...\n");
		return 2;
	}
	end = now() + atof(argv[1]);
	procs = atoi(argv[2]);
	n = argc - 3;
	for (i = 0; i < n; i++)
		if ((len[i] = to_addr(argv[i + 3], &sa[i])) == 0) {
			fprintf(stderr, "flood: bad address '%s'\n", argv[i + 3]);
			return 2;
		}
	if (pipe(pipefd) < 0) {
		perror("flood: pipe");
		return 2;
	}
	for (i = 0; i < procs; i++)
		if (fork() == 0)
			one(end, n, sa, len, pipefd[1]);
	close(pipefd[1]);
	while (wait(NULL) > 0 || errno == EINTR)
		;
	in = fdopen(pipefd[0], "r");
	while (in != NULL && fscanf(in, "%lu %lu", &s, &r) == 2) {
		sent += s;
		refused += r;
	}
	printf("sent %lu refused %lu\n", sent, refused);
	return 0;
}
