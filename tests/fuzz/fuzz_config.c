/* libFuzzer target: the command line and the INI file.  The input is split
 * at the first "\n--\n": before it, NUL-separated argv words; after it, the
 * bytes of a --config file (given through a memfd), overlong and binary
 * lines included. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <sentrik/config.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A NUL byte, or a line of more than the 199 bytes inih takes whole. */
static int file_is_bad(const char *text, size_t len)
{
	size_t i, line = 0;

	for (i = 0; i < len; i++) {
		if (text[i] == '\0' || (text[i] != '\n' && ++line > 199))
			return 1;
		if (text[i] == '\n')
			line = 0;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *sep = memmem(data, size, "\n--\n", 4);
	size_t alen = sep != NULL ? (size_t)(sep - (const char *)data) : size;
	char *args = calloc(1, alen + 1), *argv[64], cfgpath[64];
	struct sm_config cfg;
	struct sm_error err;
	int argc = 0, fd = -1, rc;
	size_t i = 0;

	memcpy(args, data, alen);
	argv[argc++] = (char *)"sentrik-master";
	if (sep != NULL) {
		fd = memfd_create("fuzz-ini", MFD_CLOEXEC);
		if (fd >= 0 && write(fd, sep + 4, size - alen - 4) >= 0) {
			snprintf(cfgpath, sizeof(cfgpath), "--config=/proc/self/fd/%d", fd);
			argv[argc++] = cfgpath;
		}
	}
	while (i < alen && argc < 62) {
		argv[argc++] = args + i;
		i += strlen(args + i) + 1;
	}
	argv[argc] = NULL;
	rc = sm_config_parse(&cfg, argc, argv, &err);
	if (rc == SM_CONFIG_RUN) {
		if (cfg.workers < 1 || cfg.workers > cfg.max_workers || cfg.n_command == 0)
			abort();
		/* A file with a NUL byte or a line inih would split is never
		 * taken (unless argv named another file). */
		if (sep != NULL && memmem(args, alen, "config", 6) == NULL &&
		    file_is_bad(sep + 4, size - alen - 4))
			abort();
	} else if (rc < 0) {
		/* a failure is the command line's or the file's, and says why */
		if ((err.status != EX_USAGE && err.status != EX_CONFIG) || err.msg[0] == '\0')
			abort();
	} else if (err.status != 0) {
		abort(); /* --help and --version are not failures */
	}
	sm_config_free(&cfg);
	if (fd >= 0)
		close(fd);
	free(args);
	return 0;
}
