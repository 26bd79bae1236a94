/* http: the --metrics endpoint's request reader and response writer.  It
 * answers three GETs and refuses the rest; one request per connection. */
#include <string.h>

#include <sentrik/http.h>

int sm_http_complete(const char *buf, size_t len)
{
	const char *p = buf, *end = buf + len, *nl;

	/* The head ends at an empty line, "\r\n" or a bare "\n". */
	while ((nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		size_t line = (size_t)(nl - p);
		if (p != buf && (line == 0 || (line == 1 && p[0] == '\r')))
			return 1;
		p = nl + 1;
	}
	return len >= SM_HTTP_REQUEST_MAX ? -1 : 0;
}

static bool starts(const char *p, const char *end, const char *word)
{
	size_t n = strlen(word);

	return (size_t)(end - p) >= n && memcmp(p, word, n) == 0;
}

int sm_http_parse(const char *buf, size_t len, struct sm_http_request *req)
{
	static const struct {
		const char *path;
		enum sm_http_target target;
	} paths[] = {{"/metrics", SM_HTTP_METRICS},
	             {"/healthz", SM_HTTP_HEALTHZ},
	             {"/readyz", SM_HTTP_READYZ}};
	const char *nl = memchr(buf, '\n', len), *end, *sp, *path, *path_end;
	size_t i;

	req->minor = 0;
	if (nl == NULL)
		return 400;
	end = nl > buf && nl[-1] == '\r' ? nl - 1 : nl;
	sp = memchr(buf, ' ', (size_t)(end - buf));
	if (sp == NULL || sp == buf)
		return 400;
	path = sp + 1;
	if ((sp = memchr(path, ' ', (size_t)(end - path))) == NULL || sp == path)
		return 400;
	path_end = memchr(path, '?', (size_t)(sp - path));
	if (path_end == NULL)
		path_end = sp;
	if (!starts(sp + 1, end, "HTTP/1.") || end - sp != 9)
		return 400;
	if (sp[8] != '0' && sp[8] != '1')
		return 505;
	req->minor = sp[8] - '0';
	if (!starts(buf, path - 1, "GET") || path - 1 - buf != 3)
		return 405;
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if ((size_t)(path_end - path) == strlen(paths[i].path) &&
		    memcmp(path, paths[i].path, strlen(paths[i].path)) == 0) {
			req->target = paths[i].target;
			return 200;
		}
	return 404;
}

static const char *reason(int code)
{
	switch (code) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 431:
		return "Request Header Fields Too Large";
	case 503:
		return "Service Unavailable";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return "Error";
	}
}

void sm_http_response(struct sm_buf *out, int minor, int code, const char *content_type,
                      const char *body, size_t body_len)
{
	sm_buf_printf(out,
	              "HTTP/1.%d %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
	              "%sConnection: close\r\n\r\n",
	              minor == 1 ? 1 : 0, code, reason(code), content_type, body_len,
	              code == 405 ? "Allow: GET\r\n" : "");
	sm_buf_add(out, body, body_len);
}
