/* libFuzzer target: the line framer.  The input is fed in chunks whose
 * sizes come from its first byte; whatever the cut, the lines out joined
 * with '\n' must give back the input (less the '\r' of each "\r\n" and
 * of a last unfinished line), no
 * piece may exceed SM_FRAME_PIECE, and no piece but a partial one may hold
 * a '\n'. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sentrik/frame.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct sink {
	char *out;
	size_t len;
	bool open; /* the last piece was partial */
};

static void on_line(const char *line, size_t len, bool partial, void *ctx)
{
	struct sink *s = ctx;

	if (len > SM_FRAME_PIECE || memchr(line, '\n', len) != NULL)
		abort();
	memcpy(s->out + s->len, line, len);
	s->len += len;
	if (!partial)
		s->out[s->len++] = '\n';
	s->open = partial;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sm_frame f;
	struct sink s = {0};
	char *scratch, *expect;
	size_t chunk, at = 0, e = 0, i;

	if (size == 0)
		return 0;
	chunk = (size_t)data[0] * 97 + 1;
	data++;
	size--;
	memset(&f, 0, sizeof(f));
	scratch = malloc(SM_FRAME_CARRY + size + 1);
	s.out = malloc(2 * size + 2);
	expect = malloc(size + 2);
	while (at < size) {
		size_t n = size - at < chunk ? size - at : chunk;
		sm_frame_feed(&f, scratch, (const char *)data + at, n, false, on_line, &s);
		at += n;
	}
	sm_frame_feed(&f, scratch, "", 0, true, on_line, &s);
	for (i = 0; i < size; i++) {
		if (data[i] == '\r' && i + 1 < size && data[i + 1] == '\n')
			continue;
		expect[e++] = (char)data[i];
	}
	/* An unfinished last line goes out at the end, less a trailing '\r'. */
	if (e > 0 && expect[e - 1] != '\n') {
		if (expect[e - 1] == '\r')
			e--;
		expect[e++] = '\n';
	}
	if (s.len != e || memcmp(s.out, expect, e) != 0)
		abort();
	free(scratch);
	free(s.out);
	free(expect);
	return 0;
}
