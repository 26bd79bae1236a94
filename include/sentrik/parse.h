/* parse: the pure value parsers behind options, the config file and
 * socket activation — numbers, seconds, octal modes, booleans, --bind. */
#ifndef SENTRIK_PARSE_H
#define SENTRIK_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/un.h>

#include <sentrik/error.h>

/* Plain decimal digits (no sign, no space) from min to max: 0, or -1. */
int sm_parse_uint(const char *s, long min, long max, long *out);
/* Decimal seconds ("30", "0.5", ".5"), 0 to one year, finite: 0 or -1. */
int sm_parse_seconds(const char *s, double *out);
/* An octal mode from 0 to 07777 ("027", "0640"): 0 or -1. */
int sm_parse_mode(const char *s, mode_t *out);
/* 1/yes/true/on and 0/no/false/off in any case: 0, or -1. */
int sm_parse_bool(const char *s, bool *out);

/* A value of the --config file as inih gave it, made what the operator
 * meant: an inline comment ('#' or ';' at the start or after a blank,
 * outside quotes) cut off with the blanks before it, then one pair of
 * matching quotes around the whole removed.  0, or -1 when out is too
 * small. */
int sm_parse_ini_value(const char *in, char *out, size_t outlen);

enum sm_addr_kind {
	SM_ADDR_HOST, /* HOST:PORT, HOST a name or an IPv4 address */
	SM_ADDR_ANY,  /* :PORT — every address, one dual-stack socket */
	SM_ADDR_V6,   /* [V6]:PORT */
	SM_ADDR_UNIX, /* unix:PATH */
	SM_ADDR_FD,   /* fd:N */
};

struct sm_addr {
	enum sm_addr_kind kind;
	char host[256]; /* HOST or V6 without brackets (may end in %scope) */
	char port[6];   /* decimal 0..65535 */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int fd;
};

/* What one --bind value means.  -1 with e set (EX_USAGE, one line naming
 * the value) when it is malformed; nothing is looked up or opened. */
int sm_addr_parse(const char *text, struct sm_addr *addr, struct sm_error *e);

#endif
