/* libFuzzer target: notify datagrams and NOTIFY_SOCKET addresses. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sentrik/notify.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sm_notify_msg msg;
	struct sockaddr_un addr;
	socklen_t len;
	char *text = calloc(1, size + 1);

	if (sm_notify_parse((const char *)data, size, &msg) == 0 &&
	    strlen(msg.status) >= sizeof(msg.status))
		abort();
	memcpy(text, data, size);
	if (sm_notify_addr(text, &addr, &len) == 0 && len > sizeof(addr))
		abort();
	free(text);
	return 0;
}
