/* proto: the control protocol both ends speak.  One request line in, one
 * framed reply out ("ok"/"error" line, dot-stuffed body, "." line).  It
 * depends on libc alone: sentrikctl links this file and nothing else. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <sentrik/proto.h>

#define WORDS_MAX 3

static const struct {
	const char *name;
	enum sm_verb verb;
	int min_args, max_args;
} verbs[] = {
    {"status", SM_REQ_STATUS, 0, 1},           {"metrics", SM_REQ_METRICS, 0, 0},
    {"reload", SM_REQ_RELOAD, 0, 0},           {"scale", SM_REQ_SCALE, 1, 1},
    {"restart", SM_REQ_RESTART, 1, 1},         {"stop", SM_REQ_STOP, 0, 1},
    {"reopen-logs", SM_REQ_REOPEN_LOGS, 0, 0},
};

struct word {
	const char *p;
	size_t len;
};

static bool word_is(const struct word *w, const char *s)
{
	return w->len == strlen(s) && memcmp(w->p, s, w->len) == 0;
}

/* Plain decimal 1..SM_PROTO_N_MAX, no sign, no leading zero. */
static bool number(const struct word *w, long *out)
{
	long n = 0;
	size_t i;

	if (w->len == 0 || w->len > 6 || w->p[0] == '0')
		return false;
	for (i = 0; i < w->len; i++) {
		if (w->p[i] < '0' || w->p[i] > '9')
			return false;
		n = n * 10 + (w->p[i] - '0');
	}
	if (n > SM_PROTO_N_MAX)
		return false;
	*out = n;
	return true;
}

/* Split on blanks; only printable ASCII is a request's business. */
static int split(const char *line, size_t len, struct word *words, size_t *n, char *why,
                 size_t whylen)
{
	size_t i = 0;

	*n = 0;
	while (i < len) {
		unsigned char c = (unsigned char)line[i];
		if (c == ' ' || c == '\t') {
			i++;
			continue;
		}
		if (c < 0x21 || c > 0x7e) {
			snprintf(why, whylen, "malformed request: byte 0x%02x", c);
			return -1;
		}
		if (*n == WORDS_MAX) {
			snprintf(why, whylen, "malformed request: too many words");
			return -1;
		}
		words[*n].p = line + i;
		while (i < len && line[i] > 0x20 && line[i] < 0x7f)
			i++;
		words[*n].len = (size_t)(line + i - words[*n].p);
		(*n)++;
	}
	return 0;
}

static int parse_args(const struct word *args, size_t n, struct sm_request *req, char *why,
                      size_t whylen)
{
	switch (req->verb) {
	case SM_REQ_STATUS:
		if (n == 1 && !(req->json = word_is(&args[0], "json")))
			break;
		return 0;
	case SM_REQ_STOP:
		if (n == 1 && !(req->quick = word_is(&args[0], "quick")))
			break;
		return 0;
	case SM_REQ_SCALE:
	case SM_REQ_RESTART:
		if (n != 1) { /* the verb table asks for one; said for the analyzer */
			snprintf(why, whylen, "a number is needed");
			return -1;
		}
		if (!number(&args[0], &req->n)) {
			snprintf(why, whylen, "%s: '%.*s' is not a number from 1 to %d",
			         req->verb == SM_REQ_SCALE ? "scale" : "restart", (int)args[0].len,
			         args[0].p, SM_PROTO_N_MAX);
			return -1;
		}
		return 0;
	default:
		return 0;
	}
	snprintf(why, whylen, "unknown argument '%.*s'", (int)args[0].len, args[0].p);
	return -1;
}

int sm_proto_parse(const char *line, size_t len, struct sm_request *req, char *why, size_t whylen)
{
	struct word words[WORDS_MAX];
	size_t n, i;

	memset(req, 0, sizeof(*req));
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (split(line, len, words, &n, why, whylen) < 0)
		return -1;
	if (n == 0) {
		snprintf(why, whylen, "empty request");
		return -1;
	}
	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		if (!word_is(&words[0], verbs[i].name))
			continue;
		if ((int)n - 1 < verbs[i].min_args || (int)n - 1 > verbs[i].max_args) {
			snprintf(why, whylen, "%s: wrong number of arguments", verbs[i].name);
			return -1;
		}
		req->verb = verbs[i].verb;
		return parse_args(words + 1, n - 1, req, why, whylen);
	}
	snprintf(why, whylen, "unknown request '%.*s'", (int)words[0].len, words[0].p);
	return -1;
}

int sm_proto_format(const struct sm_request *req, char *out, size_t len)
{
	const char *name = NULL, *arg = "";
	char num[16] = "";
	size_t i;
	int n;

	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (verbs[i].verb == req->verb)
			name = verbs[i].name;
	if (name == NULL)
		return -1;
	if (req->verb == SM_REQ_STATUS && req->json)
		arg = " json";
	else if (req->verb == SM_REQ_STOP && req->quick)
		arg = " quick";
	else if (req->verb == SM_REQ_SCALE || req->verb == SM_REQ_RESTART)
		snprintf(num, sizeof(num), " %ld", req->n);
	n = snprintf(out, len, "%s%s%s\n", name, arg, num);
	return n < 0 || (size_t)n >= len ? -1 : n;
}

void sm_buf_free(struct sm_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

void sm_buf_reset(struct sm_buf *b)
{
	b->len = 0;
	b->failed = false;
}

char *sm_buf_room(struct sm_buf *b, size_t n)
{
	size_t cap;
	char *p;

	if (b->failed)
		return NULL;
	if (b->cap - b->len > n)
		return b->data + b->len;
	cap = b->cap > 0 ? b->cap : 4096;
	while (cap - b->len <= n)
		cap *= 2;
	if ((p = realloc(b->data, cap)) == NULL) {
		b->failed = true;
		return NULL;
	}
	b->data = p;
	b->cap = cap;
	return p + b->len;
}

void sm_buf_add(struct sm_buf *b, const char *p, size_t n)
{
	char *at = sm_buf_room(b, n);

	if (at == NULL)
		return;
	memcpy(at, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void sm_buf_str(struct sm_buf *b, const char *s)
{
	sm_buf_add(b, s, strlen(s));
}

void sm_buf_printf(struct sm_buf *b, const char *fmt, ...)
{
	va_list ap;
	char *at;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || (at = sm_buf_room(b, (size_t)n)) == NULL)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(at, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void sm_proto_reply(struct sm_buf *out, bool ok, const char *head, const char *body,
                    size_t body_len)
{
	const char *p = body, *end = body + body_len, *nl;

	sm_buf_printf(out, "%s%s%s\n", ok ? "ok" : "error", head[0] ? " " : "", head);
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (*p == '.')
			sm_buf_add(out, ".", 1);
		sm_buf_add(out, p, nl != NULL ? (size_t)(nl - p) : (size_t)(end - p));
		sm_buf_add(out, "\n", 1);
		p = nl != NULL ? nl + 1 : end;
	}
	sm_buf_str(out, SM_PROTO_END "\n");
}

bool sm_proto_unstuff(const char *line, const char **text)
{
	if (strcmp(line, SM_PROTO_END) == 0)
		return false;
	*text = line[0] == '.' ? line + 1 : line;
	return true;
}

int sm_proto_peer(int fd, uid_t *uid, pid_t *pid)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return -1;
	*uid = cred.uid;
	if (pid != NULL)
		*pid = cred.pid;
	return 0;
}
