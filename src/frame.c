/* frame: the line framing of captured output.  Bytes are opaque (NUL is
 * data); only '\n' ends a line, and a '\r' right before it is dropped. */
#include <stdlib.h>
#include <string.h>

#include <sentrik/frame.h>

static void emit(const char *line, size_t len, bool partial, sm_frame_fn fn, void *ctx)
{
	if (!partial && len > 0 && line[len - 1] == '\r')
		len--;
	fn(line, len, partial, ctx);
}

/* A run of `left` bytes with no newline must be cut while it is longer
 * than a piece; a lone trailing '\r' past the piece may still be the
 * start of "\r\n", so it waits for the next read. */
static bool must_cut(const char *p, size_t left)
{
	if (left <= SM_FRAME_PIECE)
		return false;
	return !(left == SM_FRAME_PIECE + 1 && p[SM_FRAME_PIECE] == '\r');
}

size_t sm_frame_lines(const char *buf, size_t len, bool final, sm_frame_fn fn, void *ctx)
{
	const char *p = buf, *end = buf + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			break;
		while (must_cut(p, (size_t)(nl - p))) {
			emit(p, SM_FRAME_PIECE, true, fn, ctx);
			p += SM_FRAME_PIECE;
		}
		emit(p, (size_t)(nl - p), false, fn, ctx);
		p = nl + 1;
	}
	while (must_cut(p, (size_t)(end - p))) {
		emit(p, SM_FRAME_PIECE, true, fn, ctx);
		p += SM_FRAME_PIECE;
	}
	if (final && p < end) {
		emit(p, (size_t)(end - p), false, fn, ctx);
		p = end;
	}
	return (size_t)(p - buf);
}

size_t sm_frame_start(const struct sm_frame *f, char *scratch)
{
	if (f->len > 0)
		memcpy(scratch, f->carry, f->len);
	return f->len;
}

void sm_frame_free(struct sm_frame *f)
{
	free(f->carry);
	f->carry = NULL;
	f->len = 0;
}

void sm_frame_done(struct sm_frame *f, const char *scratch, size_t len, bool final, sm_frame_fn fn,
                   void *ctx)
{
	size_t used = sm_frame_lines(scratch, len, final, fn, ctx);

	f->len = len - used;
	if (f->len == 0) {
		/* Caught up: give the buffer back rather than keep 16 KiB a stream. */
		sm_frame_free(f);
		return;
	}
	if (f->carry == NULL && (f->carry = malloc(SM_FRAME_CARRY)) == NULL) {
		emit(scratch + used, f->len, true, fn, ctx);
		f->len = 0;
		return;
	}
	memcpy(f->carry, scratch + used, f->len);
}

void sm_frame_feed(struct sm_frame *f, char *scratch, const char *data, size_t len, bool final,
                   sm_frame_fn fn, void *ctx)
{
	size_t have = sm_frame_start(f, scratch);

	memcpy(scratch + have, data, len);
	sm_frame_done(f, scratch, have + len, final, fn, ctx);
}
