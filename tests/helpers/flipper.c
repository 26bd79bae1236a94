/* flipper: the service user's side of a link race.  In DIR it keeps a
 * symlink FLIP -> TARGET and swaps it with NAME as fast as it can:
 *   flipper DIR NAME FLIP TARGET SECONDS
 * Each renameat2(RENAME_EXCHANGE) is atomic, so a privileged process that
 * checks NAME (lstat: a socket) and then acts on NAME by path (chmod)
 * follows the symlink when a swap lands between the two calls.  Swaps are
 * tried all the time, so the first one lands right after a server creates
 * NAME.  A socket swapped for a while belongs to a server past its set-up
 * (or gone): it is parked at NAME, unswapped, so that the next server
 * finds a plain stale socket there to remove, until NAME is removed or
 * replaced.  A FLIP left as a plain file when NAME is removed becomes the
 * symlink again.  Ends after SECONDS or on TERM; prints "swaps N". */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* How long one socket is swapped before it counts as set up. */
#define SWAP_WINDOW 0.005

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

/* A file's identity: its inode number and birth time (ext4 hands a freed
 * inode number to the next file at once). */
struct id {
	unsigned long long ino;
	long long sec;
	unsigned nsec;
};

static int same(const struct id *a, const struct id *b)
{
	return a->ino == b->ino && a->sec == b->sec && a->nsec == b->nsec;
}

/* 0 if NAME is missing, else 'l' (symlink), 's' (socket) or 'f'. */
static int kind(int dfd, const char *name, struct id *id)
{
	struct statx st;

	if (statx(dfd, name, AT_SYMLINK_NOFOLLOW, STATX_TYPE | STATX_INO | STATX_BTIME, &st) < 0)
		return 0;
	id->ino = st.stx_ino;
	id->sec = (st.stx_mask & STATX_BTIME) ? st.stx_btime.tv_sec : 0;
	id->nsec = (st.stx_mask & STATX_BTIME) ? st.stx_btime.tv_nsec : 0;
	return S_ISLNK(st.stx_mode) ? 'l' : S_ISSOCK(st.stx_mode) ? 's' : 'f';
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* NAME or FLIP is missing: make sure FLIP is the symlink again. */
static void repair(int dfd, const char *name, const char *flip, const char *target)
{
	struct id id;
	int k = kind(dfd, flip, &id);

	if (k == 0) {
		(void)symlinkat(target, dfd, flip);
	} else if (k != 'l' && kind(dfd, name, &id) == 0) {
		(void)unlinkat(dfd, flip, 0);
		(void)symlinkat(target, dfd, flip);
	}
}

/* Park the socket at NAME; spin until NAME is removed or replaced. */
static void park(int dfd, const char *name, const char *flip, double end)
{
	struct id id, parked;

	if (kind(dfd, name, &id) == 'l')
		(void)renameat2(dfd, name, dfd, flip, RENAME_EXCHANGE);
	if (kind(dfd, name, &parked) != 's')
		return;
	while (!stop && kind(dfd, name, &id) == 's' && same(&id, &parked) && now() < end)
		;
}

int main(int argc, char **argv)
{
	unsigned long swaps = 0;
	struct id current = {0, 0, 0}, id;
	double end, since = 0;
	int dfd, k;

	if (argc != 6) {
		fprintf(stderr, "usage: flipper DIR NAME FLIP TARGET SECONDS\n");
		return 2;
	}
	if ((dfd = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		perror(argv[1]);
		return 2;
	}
	end = now() + atof(argv[5]);
	signal(SIGTERM, on_term);
	repair(dfd, argv[2], argv[3], argv[4]);
	while (!stop && now() < end) {
		if (renameat2(dfd, argv[2], dfd, argv[3], RENAME_EXCHANGE) < 0) {
			if (errno == ENOENT)
				repair(dfd, argv[2], argv[3], argv[4]);
			continue;
		}
		if ((++swaps & 63) != 0)
			continue;
		k = kind(dfd, argv[2], &id);
		if (k != 's')
			k = kind(dfd, argv[3], &id);
		if (k != 's')
			continue;
		if (!same(&id, &current)) {
			current = id;
			since = now();
		} else if (now() - since > SWAP_WINDOW) {
			park(dfd, argv[2], argv[3], end);
		}
	}
	printf("swaps %lu\n", swaps);
	return 0;
}
