/* libFuzzer target: the --metrics endpoint's request reader, fed as a
 * connection would feed it (the head, then the request line judged). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sentrik/http.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sm_http_request req;
	struct sm_buf out = {0};
	int done, code;

	if (size > SM_HTTP_REQUEST_MAX)
		size = SM_HTTP_REQUEST_MAX;
	done = sm_http_complete((const char *)data, size);
	if (done < -1 || done > 1 || (done == -1 && size < SM_HTTP_REQUEST_MAX))
		abort();
	code = sm_http_parse((const char *)data, size, &req);
	if (code != 200 && code != 400 && code != 404 && code != 405 && code != 505)
		abort();
	if (code == 200 && (req.target > SM_HTTP_READYZ || req.minor < 0 || req.minor > 1))
		abort();
	sm_http_response(&out, req.minor, code, "text/plain", (const char *)data, size);
	if (out.failed || out.len < size)
		abort();
	sm_buf_free(&out);
	return 0;
}
