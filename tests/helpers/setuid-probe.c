/* setuid-probe: the tests install a root-owned setuid copy of this and
 * have a worker run it; it prints "ruid=N euid=N" so the test can see
 * whether exec gave it uid 0 (it must not, under no_new_privs). */
#include <stdio.h>
#include <unistd.h>

int main(void)
{
	printf("ruid=%ld euid=%ld\n", (long)getuid(), (long)geteuid());
	return 0;
}
