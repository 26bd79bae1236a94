/* sigexec: start a command the way a careless parent might, with signals
 * blocked and some already pending, to test what the master does with a
 * mask it inherits and with signals that arrive before its loop runs.
 *   sigexec BLOCK PENDING COMMAND [ARG]...
 * BLOCK and PENDING are comma-separated signal numbers (PENDING may be "-");
 * the PENDING ones, which must also be in BLOCK, are sent to ourselves
 * before the exec, and the kernel keeps them pending across it. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int each(char *list, int (*fn)(int))
{
	char *save = NULL, *tok;

	if (strcmp(list, "-") == 0)
		return 0;
	for (tok = strtok_r(list, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		int sig = atoi(tok);

		if (sig < 1 || sig > 64 || fn(sig) < 0) {
			fprintf(stderr, "sigexec: bad signal '%s'\n", tok);
			return -1;
		}
	}
	return 0;
}

static sigset_t blocked;

static int block_one(int sig)
{
	return sigaddset(&blocked, sig);
}

static int raise_one(int sig)
{
	return kill(getpid(), sig);
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: sigexec BLOCK PENDING COMMAND [ARG]...\n");
		return 64;
	}
	sigemptyset(&blocked);
	if (each(argv[1], block_one) < 0 || sigprocmask(SIG_BLOCK, &blocked, NULL) < 0 ||
	    each(argv[2], raise_one) < 0)
		return 64;
	execv(argv[3], argv + 3);
	perror("sigexec: execv");
	return 127;
}
