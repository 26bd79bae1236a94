/* frame: cut a byte stream into lines for the log, with no system call,
 * so the whole policy (pieces, CR/LF, NUL bytes, last line) is unit-tested. */
#ifndef SENTRIK_FRAME_H
#define SENTRIK_FRAME_H

#include <stdbool.h>
#include <stddef.h>

/* A line longer than this goes out in pieces of this size (SPEC §6). */
#define SM_FRAME_PIECE 16384
/* An unfinished line carried from one read to the next is at most this:
 * one piece, plus a '\r' that may yet turn out to precede a '\n'. */
#define SM_FRAME_CARRY (SM_FRAME_PIECE + 1)

/* One line or piece, without its '\n' (and without the '\r' of a "\r\n").
 * partial: more of the same line follows in the next call. */
typedef void (*sm_frame_fn)(const char *line, size_t len, bool partial, void *ctx);

/* The carry is allocated only while a line is unfinished across reads, so
 * a quiet stream, or one that ends each write with a newline, costs the
 * master no buffer.  Zero-initialised is empty. */
struct sm_frame {
	size_t len;  /* bytes of an unfinished line in carry */
	char *carry; /* SM_FRAME_CARRY bytes, or NULL when len is 0 */
};

/* Emit every whole line of buf[0, len), and pieces of a line that has run
 * past SM_FRAME_PIECE bytes without a newline.  Returns the bytes used;
 * the rest (at most SM_FRAME_CARRY) is an unfinished line.  With final,
 * everything is used: the unfinished line goes out as a last line. */
size_t sm_frame_lines(const char *buf, size_t len, bool final, sm_frame_fn fn, void *ctx);

/* Reading straight into a scratch buffer: start puts the carried bytes at
 * its front and returns their count; done frames scratch[0, len) and
 * carries the rest.  scratch must hold SM_FRAME_CARRY + what is read.
 * Should the carry not be allocated, the rest goes out at once as a
 * piece marked partial: the line is cut, nothing is lost. */
size_t sm_frame_start(const struct sm_frame *f, char *scratch);
void sm_frame_done(struct sm_frame *f, const char *scratch, size_t len, bool final, sm_frame_fn fn,
                   void *ctx);

/* Free the carry (what it held is dropped: flush it with final first). */
void sm_frame_free(struct sm_frame *f);

/* Convenience over start/done for data already in memory (tests). */
void sm_frame_feed(struct sm_frame *f, char *scratch, const char *data, size_t len, bool final,
                   sm_frame_fn fn, void *ctx);

#endif
