/* log: the master's own diagnostics, in the text or JSON line format of
 * SPEC §6.  Lines go to a sink (standard error until capture.c installs one). */
#ifndef SENTRIK_LOG_H
#define SENTRIK_LOG_H

#include <stddef.h>

enum sm_log_level {
	SM_LOG_DEBUG,
	SM_LOG_INFO,
	SM_LOG_WARNING,
	SM_LOG_ERROR,
	SM_LOG_FATAL
};
enum sm_log_format {
	SM_LOG_TEXT,
	SM_LOG_JSON
};

#define SM_ATTR_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* Where finished lines go: buf holds one whole line ending in '\n'. */
typedef void (*sm_log_sink_fn)(const char *buf, size_t len, void *ctx);

void sm_log_setup(enum sm_log_level min, enum sm_log_format format);
void sm_log_set_sink(sm_log_sink_fn fn, void *ctx);

/* sm_warn* append ": strerror(errno)"; the x forms do not. */
void sm_debug(const char *fmt, ...) SM_ATTR_PRINTF(1, 2);
void sm_info(const char *fmt, ...) SM_ATTR_PRINTF(1, 2);
void sm_warn(const char *fmt, ...) SM_ATTR_PRINTF(1, 2);
void sm_warnx(const char *fmt, ...) SM_ATTR_PRINTF(1, 2);
void sm_error(const char *fmt, ...) SM_ATTR_PRINTF(1, 2);
void sm_errorx(const char *fmt, ...) SM_ATTR_PRINTF(1, 2);
/* A FATAL line; the caller (main.c) then exits with its code. */
void sm_fatalx(const char *fmt, ...) SM_ATTR_PRINTF(1, 2);

/* "2026-11-23T10:11:12.345Z" into buf (at least 25 bytes), from real time. */
size_t sm_log_timestamp(char *buf, size_t len);
/* JSON string body escaping: any bytes in, valid UTF-8 JSON out (invalid
 * bytes become U+FFFD).  Returns bytes written (never more than outlen-1,
 * always NUL-terminated); needs outlen >= 6 * len + 1 to never truncate. */
size_t sm_json_escape(char *out, size_t outlen, const char *in, size_t len);

#endif
