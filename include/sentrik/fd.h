/* fd: small descriptor helpers every module may use. */
#ifndef SENTRIK_FD_H
#define SENTRIK_FD_H

#include <stddef.h>
#include <sys/types.h>

int sm_set_cloexec(int fd, int on);
int sm_set_nonblock(int fd, int on);
/* Whole writes and reads, retrying on EINTR and short counts. */
ssize_t sm_write_all(int fd, const void *buf, size_t len);
ssize_t sm_read_full(int fd, void *buf, size_t len);

/* Close every descriptor above 2 but those in keep (sorted in place):
 * what a careless parent left open must not reach the workers. */
void sm_fd_close_except(int *keep, size_t n);

#endif
