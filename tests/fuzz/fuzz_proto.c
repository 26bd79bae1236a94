/* libFuzzer target: control request lines, and the reply framing a client
 * undoes (any body must come back line for line). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sentrik/proto.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sm_request req, back;
	char why[SM_PROTO_REQUEST_MAX + 64], line[SM_PROTO_REQUEST_MAX];
	struct sm_buf out = {0};
	const char *p, *text;
	int n;

	if (size <= SM_PROTO_REQUEST_MAX &&
	    sm_proto_parse((const char *)data, size, &req, why, sizeof(why)) == 0) {
		/* What parses formats back into a request that parses the same. */
		n = sm_proto_format(&req, line, sizeof(line));
		if (n <= 0 || sm_proto_parse(line, (size_t)n - 1, &back, why, sizeof(why)) != 0 ||
		    memcmp(&req, &back, sizeof(req)) != 0)
			abort();
	} else if (size <= SM_PROTO_REQUEST_MAX && (strlen(why) >= sizeof(why) || !why[0])) {
		abort();
	}
	/* A body without NULs or a final newline, framed and unframed. */
	if (memchr(data, '\0', size) != NULL || (size > 0 && data[size - 1] == '\n'))
		return 0;
	sm_proto_reply(&out, true, "", (const char *)data, size);
	if (out.failed)
		abort();
	p = strchr(out.data, '\n') + 1; /* past "ok" */
	for (size_t at = 0;;) {
		char *nl = strchr(p, '\n');
		*nl = '\0';
		if (!sm_proto_unstuff(p, &text))
			break;
		if (memcmp(data + at, text, strlen(text)) != 0)
			abort();
		at += strlen(text) + 1;
		p = nl + 1;
	}
	sm_buf_free(&out);
	return 0;
}
