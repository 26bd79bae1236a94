/* log: the master's diagnostics.  One whole line per call, formatted in
 * memory and handed to the sink in a single write, so lines never mix. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sentrik/fd.h>
#include <sentrik/log.h>

#define SM_LOG_LINE_MAX 4096

static enum sm_log_level log_min = SM_LOG_INFO;
static enum sm_log_format log_fmt = SM_LOG_TEXT;
static sm_log_sink_fn log_sink;
static void *log_sink_ctx;

static const char *const level_text[] = {"DEBUG", "INFO", "WARNING", "ERROR", "FATAL"};
static const char *const level_json[] = {"debug", "info", "warning", "error", "fatal"};

void sm_log_setup(enum sm_log_level min, enum sm_log_format format)
{
	log_min = min;
	log_fmt = format;
}

void sm_log_set_sink(sm_log_sink_fn fn, void *ctx)
{
	log_sink = fn;
	log_sink_ctx = ctx;
}

size_t sm_log_timestamp(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	if (n == 0 || n + 6 > len)
		return 0;
	n += (size_t)snprintf(buf + n, len - n, ".%03ldZ", ts.tv_nsec / 1000000);
	return n;
}

/* Length of the valid UTF-8 sequence at p (1..4), or 0 if invalid. */
static size_t utf8_seq(const unsigned char *p, size_t left)
{
	unsigned char c = p[0];
	size_t need, i;
	unsigned cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF) {
		need = 2;
		cp = c & 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		need = 3;
		cp = c & 0x0F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		need = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (left < need)
		return 0;
	for (i = 1; i < need; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3F);
	}
	if ((need == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
	    (need == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
		return 0;
	return need;
}

size_t sm_json_escape(char *out, size_t outlen, const char *in, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)in;
	size_t o = 0, i = 0;

	if (outlen == 0)
		return 0;
	while (i < len) {
		char tmp[8];
		const char *piece = tmp;
		size_t plen, seq = utf8_seq(p + i, len - i);
		unsigned char c = p[i];

		if (seq == 0) {
			piece = "\xEF\xBF\xBD"; /* U+FFFD for a byte that is not UTF-8 */
			plen = 3;
			seq = 1;
		} else if (seq > 1) {
			piece = (const char *)p + i;
			plen = seq;
		} else if (c == '"' || c == '\\') {
			tmp[0] = '\\';
			tmp[1] = (char)c;
			plen = 2;
		} else if (c == '\n' || c == '\r' || c == '\t') {
			tmp[0] = '\\';
			tmp[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
			plen = 2;
		} else if (c < 0x20 || c == 0x7F) {
			memcpy(tmp, "\\u00", 4);
			tmp[4] = hex[c >> 4];
			tmp[5] = hex[c & 0xF];
			plen = 6;
		} else {
			tmp[0] = (char)c;
			plen = 1;
		}
		if (o + plen >= outlen)
			break;
		memcpy(out + o, piece, plen);
		o += plen;
		i += seq;
	}
	out[o] = '\0';
	return o;
}

static void log_emit(const char *buf, size_t len)
{
	if (log_sink != NULL)
		log_sink(buf, len, log_sink_ctx);
	else
		(void)sm_write_all(STDERR_FILENO, buf, len);
}

static void log_v(enum sm_log_level level, int errnum, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static void log_v(enum sm_log_level level, int errnum, const char *fmt, va_list ap)
{
	char msg[SM_LOG_LINE_MAX], line[SM_LOG_LINE_MAX * 2], ts[32];
	size_t n;
	int m;

	if (level < log_min)
		return;
	m = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (m < 0)
		return;
	n = (size_t)m < sizeof(msg) ? (size_t)m : sizeof(msg) - 1;
	if (errnum != 0)
		n += (size_t)snprintf(msg + n, sizeof(msg) - n, ": %s", strerror(errnum));
	if (n >= sizeof(msg))
		n = sizeof(msg) - 1;
	sm_log_timestamp(ts, sizeof(ts));
	if (log_fmt == SM_LOG_JSON) {
		char esc[SM_LOG_LINE_MAX * 6 / 4];
		sm_json_escape(esc, sizeof(esc), msg, n);
		m = snprintf(line, sizeof(line),
		             "{\"ts\":\"%s\",\"source\":\"master\",\"level\":\"%s\",\"pid\":%ld,"
		             "\"msg\":\"%s\"}\n",
		             ts, level_json[level], (long)getpid(), esc);
	} else {
		m = snprintf(line, sizeof(line), "%s sentrik-master[%ld] %s: %s\n", ts,
		             (long)getpid(), level_text[level], msg);
	}
	if (m < 0)
		return;
	n = (size_t)m;
	if (n >= sizeof(line)) { /* keep it one line, whatever was cut */
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	log_emit(line, n);
}

#define SM_LOG_FN(name, level, with_errno)                                                         \
	void name(const char *fmt, ...)                                                            \
	{                                                                                          \
		int saved = errno;                                                                 \
		va_list ap;                                                                        \
		va_start(ap, fmt);                                                                 \
		log_v(level, (with_errno) ? saved : 0, fmt, ap);                                   \
		va_end(ap);                                                                        \
		errno = saved;                                                                     \
	}

SM_LOG_FN(sm_debug, SM_LOG_DEBUG, 0)
SM_LOG_FN(sm_info, SM_LOG_INFO, 0)
SM_LOG_FN(sm_warn, SM_LOG_WARNING, 1)
SM_LOG_FN(sm_warnx, SM_LOG_WARNING, 0)
SM_LOG_FN(sm_error, SM_LOG_ERROR, 1)
SM_LOG_FN(sm_errorx, SM_LOG_ERROR, 0)
SM_LOG_FN(sm_fatalx, SM_LOG_FATAL, 0)
