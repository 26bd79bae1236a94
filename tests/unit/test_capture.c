/* Unit tests for the log framing (frame.c) and the JSON escaping of
 * captured bytes (log.c, capture.c): pure functions, no descriptors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <sentrik/frame.h>
#include <sentrik/log.h>
#include <sentrik/capture.h>

#define MAX_LINES 64

struct got {
	size_t n;
	char *line[MAX_LINES];
	size_t len[MAX_LINES];
	bool partial[MAX_LINES];
};

static void collect(const char *line, size_t len, bool partial, void *ctx)
{
	struct got *g = ctx;

	assert_true(g->n < MAX_LINES);
	g->line[g->n] = malloc(len + 1);
	assert_non_null(g->line[g->n]);
	memcpy(g->line[g->n], line, len);
	g->line[g->n][len] = '\0';
	g->len[g->n] = len;
	g->partial[g->n] = partial;
	g->n++;
}

static void got_free(struct got *g)
{
	size_t i;

	for (i = 0; i < g->n; i++)
		free(g->line[i]);
	memset(g, 0, sizeof(*g));
}

static char scratch[SM_FRAME_CARRY + 65536];

/* Feed text in pieces of `step` bytes, then end the stream. */
static void feed_split(struct sm_frame *f, struct got *g, const char *text, size_t len, size_t step)
{
	size_t off;

	for (off = 0; off < len; off += step)
		sm_frame_feed(f, scratch, text + off, len - off < step ? len - off : step, false,
		              collect, g);
	sm_frame_feed(f, scratch, "", 0, true, collect, g);
}

static void whole_lines_across_split_reads(void **state)
{
	static const char text[] = "alpha\nbeta\ngamma delta\n\nlast\n";
	size_t step;

	(void)state;
	for (step = 1; step <= sizeof(text); step++) {
		struct sm_frame f = {0};
		struct got g = {0};
		feed_split(&f, &g, text, sizeof(text) - 1, step);
		assert_int_equal(g.n, 5);
		assert_string_equal(g.line[0], "alpha");
		assert_string_equal(g.line[1], "beta");
		assert_string_equal(g.line[2], "gamma delta");
		assert_string_equal(g.line[3], "");
		assert_string_equal(g.line[4], "last");
		assert_false(g.partial[0] || g.partial[4]);
		assert_int_equal(f.len, 0);
		got_free(&g);
	}
}

static void a_line_waits_for_its_newline(void **state)
{
	struct sm_frame f = {0};
	struct got g = {0};

	(void)state;
	sm_frame_feed(&f, scratch, "hel", 3, false, collect, &g);
	assert_int_equal(g.n, 0);
	assert_int_equal(f.len, 3);
	sm_frame_feed(&f, scratch, "lo\nwor", 6, false, collect, &g);
	assert_int_equal(g.n, 1);
	assert_string_equal(g.line[0], "hello");
	assert_int_equal(f.len, 3);
	sm_frame_free(&f);
	assert_null(f.carry);
	assert_int_equal(f.len, 0);
	got_free(&g);
}

/* A quiet stream, or one whose reads end on a newline, holds no carry:
 * 1,024 quiet workers must not cost the master 2 x 16 KiB each. */
static void the_carry_exists_only_while_a_line_is_unfinished(void **state)
{
	struct sm_frame f = {0};
	struct got g = {0};

	(void)state;
	sm_frame_feed(&f, scratch, "", 0, false, collect, &g);
	assert_null(f.carry);
	sm_frame_feed(&f, scratch, "one\ntwo\n", 8, false, collect, &g);
	assert_null(f.carry);
	assert_int_equal(g.n, 2);
	sm_frame_feed(&f, scratch, "thr", 3, false, collect, &g);
	assert_non_null(f.carry);
	sm_frame_feed(&f, scratch, "ee\nfo", 5, false, collect, &g);
	assert_non_null(f.carry);
	assert_string_equal(g.line[2], "three");
	sm_frame_feed(&f, scratch, "ur\n", 3, false, collect, &g);
	assert_null(f.carry);
	assert_int_equal(f.len, 0);
	assert_string_equal(g.line[3], "four");
	got_free(&g);
}

static void final_line_without_newline_is_flushed(void **state)
{
	struct sm_frame f = {0};
	struct got g = {0};

	(void)state;
	sm_frame_feed(&f, scratch, "one\nbye", 7, false, collect, &g);
	assert_int_equal(g.n, 1);
	sm_frame_feed(&f, scratch, "", 0, true, collect, &g);
	assert_int_equal(g.n, 2);
	assert_string_equal(g.line[1], "bye");
	assert_false(g.partial[1]);
	assert_int_equal(f.len, 0);
	/* Nothing carried: the end adds no empty line. */
	sm_frame_feed(&f, scratch, "", 0, true, collect, &g);
	assert_int_equal(g.n, 2);
	got_free(&g);
}

static void long_line_in_pieces(void **state)
{
	size_t len = 20 * 1024, step;
	char *text = malloc(len + 1);

	(void)state;
	assert_non_null(text);
	memset(text, 'x', len);
	text[len] = '\n';
	for (step = 1000; step <= len + 1; step += 7000) {
		struct sm_frame f = {0};
		struct got g = {0};
		feed_split(&f, &g, text, len + 1, step);
		assert_int_equal(g.n, 2);
		assert_int_equal(g.len[0], SM_FRAME_PIECE);
		assert_true(g.partial[0]);
		assert_int_equal(g.len[1], len - SM_FRAME_PIECE);
		assert_false(g.partial[1]);
		got_free(&g);
	}
	free(text);
}

static void piece_boundaries(void **state)
{
	char *text = malloc(3 * SM_FRAME_PIECE + 2);
	struct sm_frame f = {0};
	struct got g = {0};

	(void)state;
	assert_non_null(text);
	/* Exactly one piece long: one whole line, not marked. */
	memset(text, 'a', SM_FRAME_PIECE);
	text[SM_FRAME_PIECE] = '\n';
	feed_split(&f, &g, text, SM_FRAME_PIECE + 1, 4096);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.len[0], SM_FRAME_PIECE);
	assert_false(g.partial[0]);
	got_free(&g);
	/* One piece and a "\r\n": still one whole line. */
	text[SM_FRAME_PIECE] = '\r';
	text[SM_FRAME_PIECE + 1] = '\n';
	feed_split(&f, &g, text, SM_FRAME_PIECE + 2, SM_FRAME_PIECE + 1);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.len[0], SM_FRAME_PIECE);
	got_free(&g);
	/* Three pieces with no newline at all, then the end. */
	memset(text, 'b', 3 * SM_FRAME_PIECE);
	feed_split(&f, &g, text, 3 * SM_FRAME_PIECE, 5000);
	assert_int_equal(g.n, 3);
	assert_true(g.partial[0] && g.partial[1]);
	assert_false(g.partial[2]);
	assert_int_equal(g.len[2], SM_FRAME_PIECE);
	/* The carry never outgrows its bound. */
	assert_true(f.len <= SM_FRAME_CARRY);
	got_free(&g);
	free(text);
}

static void crlf_and_lone_cr(void **state)
{
	static const char text[] = "dos\r\nmid\rdle\r\n\r\nunix\n";
	size_t step;

	(void)state;
	for (step = 1; step < sizeof(text); step++) {
		struct sm_frame f = {0};
		struct got g = {0};
		feed_split(&f, &g, text, sizeof(text) - 1, step);
		assert_int_equal(g.n, 4);
		assert_string_equal(g.line[0], "dos");
		assert_string_equal(g.line[1], "mid\rdle");
		assert_string_equal(g.line[2], "");
		assert_string_equal(g.line[3], "unix");
		got_free(&g);
	}
}

static void nul_bytes_are_data(void **state)
{
	static const char text[] = "a\0b\n\0\n";
	struct sm_frame f = {0};
	struct got g = {0};

	(void)state;
	feed_split(&f, &g, text, sizeof(text) - 1, 2);
	assert_int_equal(g.n, 2);
	assert_int_equal(g.len[0], 3);
	assert_memory_equal(g.line[0], "a\0b", 3);
	assert_int_equal(g.len[1], 1);
	assert_int_equal(g.line[1][0], '\0');
	got_free(&g);
}

static void escape_quotes_and_controls(void **state)
{
	char out[256];
	size_t n;

	(void)state;
	n = sm_json_escape(out, sizeof(out), "say \"hi\" \\ now", 14);
	assert_string_equal(out, "say \\\"hi\\\" \\\\ now");
	assert_int_equal(n, strlen(out));
	sm_json_escape(out, sizeof(out), "t\tn\nr\r\x01\x1f\x7f", 9);
	assert_string_equal(out, "t\\tn\\nr\\r\\u0001\\u001f\\u007f");
	sm_json_escape(out, sizeof(out), "a\0b", 3);
	assert_string_equal(out, "a\\u0000b");
}

static void escape_invalid_utf8(void **state)
{
	char out[256];

	(void)state;
	/* Valid multi-byte sequences pass through unchanged. */
	sm_json_escape(out, sizeof(out), "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14);
	assert_string_equal(out, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	/* A lone continuation, a truncated sequence, an overlong form, a
	 * surrogate and a byte that is never UTF-8 each become U+FFFD. */
	sm_json_escape(out, sizeof(out), "\x80", 1);
	assert_string_equal(out, "\xef\xbf\xbd");
	sm_json_escape(out, sizeof(out), "x\xe2\x82", 3);
	assert_string_equal(out, "x\xef\xbf\xbd\xef\xbf\xbd");
	sm_json_escape(out, sizeof(out), "\xc0\xaf", 2);
	assert_string_equal(out, "\xef\xbf\xbd\xef\xbf\xbd");
	sm_json_escape(out, sizeof(out), "\xed\xa0\x80", 3);
	assert_string_equal(out, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	sm_json_escape(out, sizeof(out), "\xff", 1);
	assert_string_equal(out, "\xef\xbf\xbd");
}

static void escape_worst_case_fits_6x(void **state)
{
	char in[64], out[6 * sizeof(in) + 1];
	size_t n;

	(void)state;
	memset(in, 0x01, sizeof(in));
	n = sm_json_escape(out, sizeof(out), in, sizeof(in));
	assert_int_equal(n, 6 * sizeof(in));
	/* Too small a buffer cuts between escapes, never inside one. */
	n = sm_json_escape(out, 10, in, sizeof(in));
	assert_int_equal(n, 6);
	assert_string_equal(out, "\\u0001");
}

/* The fast path must say exactly what the escaper says, for any bytes. */
static void fast_escape_matches_escaper(void **state)
{
	static const unsigned char pool[] =
	    "ab \"\\\n\r\t\x01\x7f\x80\xbf\xc3\xa9\xe2\x82\xac\xf0\x9f\xed\xff";
	char in[200], want[6 * sizeof(in) + 1], got[6 * sizeof(in) + 1];
	unsigned seed = 12345;
	int round;

	(void)state;
	for (round = 0; round < 20000; round++) {
		size_t len = (size_t)(round % (int)sizeof(in)), i, n;
		for (i = 0; i < len; i++) {
			seed = seed * 1103515245u + 12345u;
			in[i] = (char)pool[(seed >> 16) % (sizeof(pool) - 1)];
		}
		n = sm_json_escape(want, sizeof(want), in, len);
		assert_int_equal(sm_capture_json_escape(got, in, len), n);
		assert_memory_equal(got, want, n);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(whole_lines_across_split_reads),
	    cmocka_unit_test(a_line_waits_for_its_newline),
	    cmocka_unit_test(the_carry_exists_only_while_a_line_is_unfinished),
	    cmocka_unit_test(final_line_without_newline_is_flushed),
	    cmocka_unit_test(long_line_in_pieces),
	    cmocka_unit_test(piece_boundaries),
	    cmocka_unit_test(crlf_and_lone_cr),
	    cmocka_unit_test(nul_bytes_are_data),
	    cmocka_unit_test(escape_quotes_and_controls),
	    cmocka_unit_test(escape_invalid_utf8),
	    cmocka_unit_test(escape_worst_case_fits_6x),
	    cmocka_unit_test(fast_escape_matches_escaper),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
