/* pid1: PID-1 and subreaper set-up.  Reaping itself is the master's child
 * watcher, which waits for any pid, so orphans never stay zombies. */
#include <sys/prctl.h>
#include <unistd.h>

#include <sentrik/pid1.h>

int sm_pid1_setup(void)
{
	if (getpid() == 1)
		return 1;
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		return -1;
	return 0;
}
