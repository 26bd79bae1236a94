/* http: the little HTTP/1.x the --metrics endpoint speaks — a bounded
 * request reader and a response writer.  Pure: no system calls. */
#ifndef SENTRIK_HTTP_H
#define SENTRIK_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include <sentrik/proto.h>

/* A request head (request line and headers) of more bytes is refused. */
#define SM_HTTP_REQUEST_MAX 4096

enum sm_http_target {
	SM_HTTP_METRICS, /* GET /metrics */
	SM_HTTP_HEALTHZ, /* GET /healthz */
	SM_HTTP_READYZ,  /* GET /readyz */
};

struct sm_http_request {
	enum sm_http_target target;
	int minor; /* HTTP/1.minor, answered in kind */
};

/* Whether buf holds a whole request head (up to its empty line): 1 yes,
 * 0 not yet, -1 never within SM_HTTP_REQUEST_MAX bytes. */
int sm_http_complete(const char *buf, size_t len);
/* The request line of a complete head: 200 with req filled, or the status
 * to answer with (400, 404, 405, 505). */
int sm_http_parse(const char *buf, size_t len, struct sm_http_request *req);
/* A whole response with Content-Length and Connection: close. */
void sm_http_response(struct sm_buf *out, int minor, int code, const char *content_type,
                      const char *body, size_t body_len);

#endif
