/* nodelay: a worker that accepts on fd 3 (LISTEN_FDS) and answers each
 * connection with what getsockopt says of the accepted socket, one line:
 * "TCP_NODELAY=1" or "TCP_NODELAY=0".  TERM (the default action) stops it. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(void)
{
	for (;;) {
		char line[32];
		int on = -1, c, n;
		socklen_t len = sizeof(on);

		c = accept(3, NULL, NULL);
		if (c < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			perror("nodelay: accept on fd 3");
			return 1;
		}
		if (getsockopt(c, IPPROTO_TCP, TCP_NODELAY, &on, &len) < 0)
			perror("nodelay: getsockopt");
		n = snprintf(line, sizeof(line), "TCP_NODELAY=%d\n", on);
		if (write(c, line, (size_t)n) != n)
			perror("nodelay: write");
		close(c);
	}
}
