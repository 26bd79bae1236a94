/* libFuzzer target: the --bind address parser, and LISTEN_* parsing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sentrik/listen.h>
#include <sentrik/parse.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = calloc(1, size + 1), name[256];
	struct sm_addr addr;
	struct sm_error e = {0};

	memcpy(text, data, size);
	if (sm_addr_parse(text, &addr, &e) == 0) {
		if (addr.kind == SM_ADDR_FD && addr.fd < 3)
			abort();
		if (memchr(addr.port, '\0', sizeof(addr.port)) == NULL)
			abort();
		if (e.status != 0)
			abort();
	} else if (e.status != EX_USAGE || e.msg[0] == '\0') {
		abort(); /* a refused address is the operator's to fix, and says why */
	}
	(void)sm_listen_activation(text, text, getpid());
	sm_listen_fdname(text, 1, 3, name, sizeof(name));
	sm_listen_name_of(text, name, sizeof(name));
	if (memchr(name, '\0', sizeof(name)) == NULL)
		abort();
	free(text);
	return 0;
}
