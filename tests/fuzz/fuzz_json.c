/* libFuzzer target: the JSON string escaper must turn any bytes into valid
 * UTF-8 with no raw control character, quote or backslash left bare. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sentrik/log.h>
#include <sentrik/sig.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_utf8(const unsigned char *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = p[i];
		size_t need = c < 0x80         ? 1
		              : (c >> 5) == 6  ? 2
		              : (c >> 4) == 14 ? 3
		              : (c >> 3) == 30 ? 4
		                               : 0;
		if (need == 0 || i + need > n)
			abort();
		for (size_t k = 1; k < need; k++)
			if ((p[i + k] & 0xC0) != 0x80)
				abort();
		if (c < 0x20 || c == 0x7F)
			abort();
		if (c == '"' && (i == 0 || p[i - 1] != '\\'))
			abort();
		i += need;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t cap = size * 6 + 1;
	char *out = malloc(cap), *name = calloc(1, size + 1);
	size_t n = sm_json_escape(out, cap, (const char *)data, size);

	if (n >= cap || out[n] != '\0')
		abort();
	check_utf8((const unsigned char *)out, n);
	memcpy(name, data, size);
	(void)sm_sig_parse(name);
	free(out);
	free(name);
	return 0;
}
