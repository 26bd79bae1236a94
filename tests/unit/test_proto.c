/* Unit tests for the control protocol (proto.c) and the metrics
 * endpoint's HTTP reader (http.c): request parsing, reply framing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <sentrik/http.h>
#include <sentrik/proto.h>

static int parse(const char *line, struct sm_request *req, char *why)
{
	return sm_proto_parse(line, strlen(line), req, why, 128);
}

static void parse_every_verb(void **state)
{
	struct sm_request req;
	char why[128];

	(void)state;
	assert_int_equal(parse("status", &req, why), 0);
	assert_int_equal(req.verb, SM_REQ_STATUS);
	assert_false(req.json);
	assert_int_equal(parse("status json", &req, why), 0);
	assert_true(req.json);
	assert_int_equal(parse("metrics", &req, why), 0);
	assert_int_equal(req.verb, SM_REQ_METRICS);
	assert_int_equal(parse("reload\r", &req, why), 0);
	assert_int_equal(req.verb, SM_REQ_RELOAD);
	assert_int_equal(parse("  scale\t12 ", &req, why), 0);
	assert_int_equal(req.verb, SM_REQ_SCALE);
	assert_int_equal(req.n, 12);
	assert_int_equal(parse("restart 3", &req, why), 0);
	assert_int_equal(req.verb, SM_REQ_RESTART);
	assert_int_equal(req.n, 3);
	assert_int_equal(parse("stop", &req, why), 0);
	assert_false(req.quick);
	assert_int_equal(parse("stop quick", &req, why), 0);
	assert_true(req.quick);
	assert_int_equal(parse("reopen-logs", &req, why), 0);
	assert_int_equal(req.verb, SM_REQ_REOPEN_LOGS);
}

static void parse_refuses_the_malformed(void **state)
{
	static const char *const bad[] = {
	    "",        "   ",         "Status",          "status yaml", "status json extra",
	    "scale",   "scale 0",     "scale -1",        "scale 012",   "scale 65537",
	    "scale x", "restart 1 2", "stop now",        "reload now",  "metrics please",
	    "a b c d", "status\x01",  "status \xc3\xa9",
	};
	struct sm_request req;
	char why[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		assert_int_equal(parse(bad[i], &req, why), -1);
		assert_true(why[0] != '\0');
		assert_null(strchr(why, '\n'));
	}
	assert_int_equal(parse("scale 65536", &req, why), 0);
	assert_int_equal(parse("status json extra", &req, why), -1);
	assert_string_equal(why, "status: wrong number of arguments");
	assert_int_equal(parse("frobnicate", &req, why), -1);
	assert_string_equal(why, "unknown request 'frobnicate'");
	/* A NUL inside the line is a byte like any other control byte. */
	assert_int_equal(sm_proto_parse("status\0json", 11, &req, why, sizeof(why)), -1);
}

static void format_round_trips(void **state)
{
	static const struct sm_request reqs[] = {
	    {SM_REQ_STATUS, true, false, 0},   {SM_REQ_STATUS, false, false, 0},
	    {SM_REQ_STOP, false, true, 0},     {SM_REQ_SCALE, false, false, 64},
	    {SM_REQ_RESTART, false, false, 2}, {SM_REQ_REOPEN_LOGS, false, false, 0},
	};
	struct sm_request back;
	char line[SM_PROTO_REQUEST_MAX], why[128];
	size_t i;
	int n;

	(void)state;
	for (i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		n = sm_proto_format(&reqs[i], line, sizeof(line));
		assert_true(n > 0 && line[n - 1] == '\n');
		assert_int_equal(sm_proto_parse(line, (size_t)n - 1, &back, why, sizeof(why)), 0);
		assert_memory_equal(&back, &reqs[i], sizeof(back));
	}
	assert_int_equal(sm_proto_format(&reqs[0], line, 5), -1);
}

static void reply_is_dot_stuffed(void **state)
{
	struct sm_buf out = {0};
	const char *text;

	(void)state;
	sm_proto_reply(&out, true, "", "a\n.b\n.\nlast", 11);
	assert_false(out.failed);
	assert_string_equal(out.data, "ok\na\n..b\n..\nlast\n.\n");
	sm_buf_reset(&out);
	sm_proto_reply(&out, false, "rolled back: worker 1 died", NULL, 0);
	assert_string_equal(out.data, "error rolled back: worker 1 died\n.\n");
	assert_true(sm_proto_unstuff("..b", &text));
	assert_string_equal(text, ".b");
	assert_true(sm_proto_unstuff("plain", &text));
	assert_string_equal(text, "plain");
	assert_false(sm_proto_unstuff(".", &text));
	sm_buf_free(&out);
}

static void buffer_grows(void **state)
{
	struct sm_buf b = {0};
	size_t i;

	(void)state;
	for (i = 0; i < 10000; i++)
		sm_buf_printf(&b, "%05zu\n", i);
	assert_false(b.failed);
	assert_int_equal(b.len, 60000);
	assert_memory_equal(b.data + 59994, "09999\n", 6);
	assert_int_equal(b.data[b.len], '\0');
	sm_buf_free(&b);
}

static int http(const char *text, struct sm_http_request *req)
{
	return sm_http_parse(text, strlen(text), req);
}

static void http_requests(void **state)
{
	struct sm_http_request req;

	(void)state;
	assert_int_equal(http("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", &req), 200);
	assert_int_equal(req.target, SM_HTTP_METRICS);
	assert_int_equal(req.minor, 1);
	assert_int_equal(http("GET /healthz HTTP/1.0\n\n", &req), 200);
	assert_int_equal(req.target, SM_HTTP_HEALTHZ);
	assert_int_equal(req.minor, 0);
	assert_int_equal(http("GET /readyz?verbose=1 HTTP/1.1\r\n\r\n", &req), 200);
	assert_int_equal(req.target, SM_HTTP_READYZ);
	assert_int_equal(http("POST /metrics HTTP/1.1\r\n\r\n", &req), 405);
	assert_int_equal(http("GETS /metrics HTTP/1.1\r\n\r\n", &req), 405);
	assert_int_equal(http("GET /metricsx HTTP/1.1\r\n\r\n", &req), 404);
	assert_int_equal(http("GET / HTTP/1.1\r\n\r\n", &req), 404);
	assert_int_equal(http("GET /metrics HTTP/2.0\r\n\r\n", &req), 400);
	assert_int_equal(http("GET /metrics HTTP/1.2\r\n\r\n", &req), 505);
	assert_int_equal(http("GET /metrics\r\n\r\n", &req), 400);
	assert_int_equal(http("GET  HTTP/1.1\r\n\r\n", &req), 400);
	assert_int_equal(http("garbage", &req), 400);
}

static void http_head_completion(void **state)
{
	char big[SM_HTTP_REQUEST_MAX + 10];

	(void)state;
	assert_int_equal(sm_http_complete("GET / HTTP/1.1\r\n", 16), 0);
	assert_int_equal(sm_http_complete("GET / HTTP/1.1\r\n\r\n", 18), 1);
	assert_int_equal(sm_http_complete("GET / HTTP/1.0\n\n", 16), 1);
	assert_int_equal(sm_http_complete("GET / HTTP/1.1\r\nA: b\r\n\r\n", 24), 1);
	assert_int_equal(sm_http_complete("\r\n", 2), 0);
	memset(big, 'a', sizeof(big));
	assert_int_equal(sm_http_complete(big, SM_HTTP_REQUEST_MAX - 1), 0);
	assert_int_equal(sm_http_complete(big, SM_HTTP_REQUEST_MAX), -1);
}

static void http_response_says_close(void **state)
{
	struct sm_buf out = {0};

	(void)state;
	sm_http_response(&out, 1, 503, "text/plain", "not ready\n", 10);
	assert_string_equal(out.data, "HTTP/1.1 503 Service Unavailable\r\nContent-Type: "
	                              "text/plain\r\nContent-Length: 10\r\nConnection: "
	                              "close\r\n\r\nnot ready\n");
	sm_buf_reset(&out);
	sm_http_response(&out, 0, 405, "text/plain", "", 0);
	assert_non_null(strstr(out.data, "HTTP/1.0 405 Method Not Allowed\r\n"));
	assert_non_null(strstr(out.data, "Allow: GET\r\n"));
	sm_buf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(parse_every_verb),     cmocka_unit_test(parse_refuses_the_malformed),
	    cmocka_unit_test(format_round_trips),   cmocka_unit_test(reply_is_dot_stuffed),
	    cmocka_unit_test(buffer_grows),         cmocka_unit_test(http_requests),
	    cmocka_unit_test(http_head_completion), cmocka_unit_test(http_response_says_close),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
