/* ttyprobe: a worker that looks for a terminal to abuse.
 *   ttyprobe FILE
 * Leaves a child in its process group, then writes to FILE (via FILE.tmp
 * and rename) one line:
 *   pid=P sid=S pgid=G child=C tty=R sti0=R sti1=R sti2=R stitty=R
 * each R "ok" or E<errno>.  tty: opening /dev/tty (a controlling
 * terminal); sti0..2 and stitty: a TIOCSTI (push a byte into the
 * terminal's input, as if typed) on fds 0, 1, 2 (an inherited terminal)
 * and on /dev/tty.  The byte pushed is a space.  Then waits for signals. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <unistd.h>

static const char *result(int rc, int err, char *buf, size_t len)
{
	if (rc >= 0)
		return "ok";
	snprintf(buf, len, "E%d", err);
	return buf;
}

int main(int argc, char **argv)
{
	char tmp[4096], b0[16], b1[16], b2[16], bt[16], btty[16];
	const char *tty, *sti[3], *stitty;
	char c = ' ';
	int fd, rc;
	pid_t child;
	FILE *f;

	if (argc != 2) {
		fprintf(stderr, "usage: ttyprobe FILE\n");
		return 2;
	}
	child = fork();
	if (child == 0) {
		for (;;)
			pause();
	}
	rc = ioctl(0, TIOCSTI, &c);
	sti[0] = result(rc, errno, b0, sizeof(b0));
	rc = ioctl(1, TIOCSTI, &c);
	sti[1] = result(rc, errno, b1, sizeof(b1));
	rc = ioctl(2, TIOCSTI, &c);
	sti[2] = result(rc, errno, b2, sizeof(b2));
	fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	tty = result(fd, errno, btty, sizeof(btty));
	if (fd >= 0) {
		rc = ioctl(fd, TIOCSTI, &c);
		stitty = result(rc, errno, bt, sizeof(bt));
		close(fd);
	} else {
		stitty = "no-tty";
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", argv[1]);
	if ((f = fopen(tmp, "w")) == NULL) {
		perror(tmp);
		return 2;
	}
	fprintf(f, "pid=%ld sid=%ld pgid=%ld child=%ld tty=%s sti0=%s sti1=%s sti2=%s stitty=%s\n",
	        (long)getpid(), (long)getsid(0), (long)getpgrp(), (long)child, tty, sti[0], sti[1],
	        sti[2], stitty);
	if (fclose(f) != 0 || rename(tmp, argv[1]) < 0) {
		perror(argv[1]);
		return 2;
	}
	for (;;)
		pause();
}
