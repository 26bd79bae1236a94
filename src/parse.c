/* parse: value parsers with no side effects, shared by config.c (options,
 * --config) and listen.c (binding, LISTEN_*), so neither needs the other. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sentrik/parse.h>

/* One year: far above any sensible timeout, far below double's range. */
#define SM_SECONDS_MAX 31536000.0

int sm_parse_uint(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	if (s == NULL || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int sm_parse_seconds(const char *s, double *out)
{
	char *end;
	double v;

	if (s == NULL || !(isdigit((unsigned char)*s) || *s == '.'))
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || *end != '\0' || !isfinite(v) || v < 0 || v > SM_SECONDS_MAX)
		return -1;
	*out = v;
	return 0;
}

int sm_parse_mode(const char *s, mode_t *out)
{
	char *end;
	unsigned long v;

	if (s == NULL || *s < '0' || *s > '7')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 8);
	if (errno != 0 || *end != '\0' || v > 07777)
		return -1;
	*out = (mode_t)v;
	return 0;
}

int sm_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"1", "yes", "true", "on"};
	static const char *const no[] = {"0", "no", "false", "off"};
	size_t i;

	for (i = 0; s != NULL && i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

static bool valid_hostname(const char *h)
{
	size_t len = strlen(h), i;

	if (len == 0 || len > 253 || h[0] == '-' || h[0] == '.')
		return false;
	for (i = 0; i < len; i++)
		if (!(isalnum((unsigned char)h[i]) || h[i] == '-' || h[i] == '.' || h[i] == '_'))
			return false;
	return true;
}

static bool all_digits_and_dots(const char *h)
{
	for (; *h; h++)
		if (!isdigit((unsigned char)*h) && *h != '.')
			return false;
	return true;
}

static int parse_port(const char *p, const char *text, struct sm_addr *addr, struct sm_error *e)
{
	long port;

	if (sm_parse_uint(p, 0, 65535, &port) < 0)
		return sm_error_set(e, EX_USAGE, "--bind: invalid port in '%s' (expected 0..65535)",
		                    text);
	snprintf(addr->port, sizeof(addr->port), "%ld", port);
	return 0;
}

static int parse_v6(const char *text, struct sm_addr *addr, struct sm_error *e)
{
	const char *close = strchr(text, ']');
	char plain[INET6_ADDRSTRLEN];
	struct in6_addr in6;
	size_t len, plen;
	const char *pct;

	if (close == NULL || close[1] != ':')
		return sm_error_set(e, EX_USAGE,
		                    "--bind: invalid address '%s' (expected [V6]:PORT)", text);
	len = (size_t)(close - (text + 1));
	pct = memchr(text + 1, '%', len);
	plen = pct != NULL ? (size_t)(pct - (text + 1)) : len;
	if (len >= sizeof(addr->host) || plen >= sizeof(plain) || (pct != NULL && pct + 1 == close))
		return sm_error_set(e, EX_USAGE, "--bind: invalid IPv6 address in '%s'", text);
	memcpy(plain, text + 1, plen);
	plain[plen] = '\0';
	if (inet_pton(AF_INET6, plain, &in6) != 1)
		return sm_error_set(e, EX_USAGE, "--bind: invalid IPv6 address in '%s'", text);
	addr->kind = SM_ADDR_V6;
	memcpy(addr->host, text + 1, len);
	addr->host[len] = '\0';
	return parse_port(close + 2, text, addr, e);
}

/* The forms other servers take (gunicorn's 'tcp://', a URL, a bare port,
 * '*:PORT', a host without port): what the operator meant, said in ours.
 * -1 with e set for those, and for any other value without a colon. */
static int habit(const char *text, struct sm_error *e)
{
	const char *scheme = strstr(text, "://");

	if (scheme != NULL)
		return sm_error_set(
		    e, EX_USAGE, "--bind: invalid address '%s' (no scheme is used: write -b %.*s)",
		    text, (int)strcspn(scheme + 3, "/"), scheme + 3);
	if (strspn(text, "0123456789") == strlen(text))
		return sm_error_set(e, EX_USAGE,
		                    "--bind: invalid address '%s' (a port alone is written :%s, "
		                    "every address, IPv4 and IPv6)",
		                    text, text);
	if (strcmp(text, "*") == 0 || strncmp(text, "*:", 2) == 0)
		return sm_error_set(e, EX_USAGE,
		                    "--bind: invalid address '%s' (every address is written :%s, "
		                    "IPv4 and IPv6)",
		                    text, text[1] == ':' ? text + 2 : "PORT");
	if (strchr(text, ':') == NULL)
		return sm_error_set(e, EX_USAGE,
		                    "--bind: invalid address '%s' (no port: expected %s:PORT, "
		                    ":PORT for every address, [V6]:PORT, unix:PATH or fd:N)",
		                    text, text);
	return 0;
}

static int parse_host_port(const char *text, struct sm_addr *addr, struct sm_error *e)
{
	const char *colon = strrchr(text, ':');
	struct in_addr in4;
	size_t len;

	if (habit(text, e) < 0 || colon == NULL) /* without one, habit() said why */
		return -1;
	if (memchr(text, ':', (size_t)(colon - text)) != NULL)
		return sm_error_set(e, EX_USAGE,
		                    "--bind: invalid address '%s' (an IPv6 address goes in "
		                    "brackets: [V6]:PORT)",
		                    text);
	len = (size_t)(colon - text);
	if (len >= sizeof(addr->host))
		return sm_error_set(e, EX_USAGE, "--bind: host name too long in '%s'", text);
	memcpy(addr->host, text, len);
	addr->host[len] = '\0';
	if (len == 0) {
		addr->kind = SM_ADDR_ANY;
	} else {
		addr->kind = SM_ADDR_HOST;
		if (all_digits_and_dots(addr->host) ? inet_pton(AF_INET, addr->host, &in4) != 1
		                                    : !valid_hostname(addr->host))
			return sm_error_set(e, EX_USAGE, "--bind: invalid host in '%s'", text);
	}
	return parse_port(colon + 1, text, addr, e);
}

int sm_addr_parse(const char *text, struct sm_addr *addr, struct sm_error *e)
{
	long fd;

	memset(addr, 0, sizeof(*addr));
	addr->fd = -1;
	if (text == NULL || *text == '\0')
		return sm_error_set(e, EX_USAGE, "--bind: empty address");
	if (strncmp(text, "unix:", 5) == 0) {
		const char *path = text + 5;
		if (*path == '\0' || strlen(path) >= sizeof(addr->path))
			return sm_error_set(
			    e, EX_USAGE, "--bind: invalid unix socket path in '%s' (1..%zu bytes)",
			    text, sizeof(addr->path) - 1);
		addr->kind = SM_ADDR_UNIX;
		strcpy(addr->path, path);
		return 0;
	}
	if (strncmp(text, "fd:", 3) == 0) {
		if (sm_parse_uint(text + 3, 3, INT_MAX, &fd) < 0)
			return sm_error_set(
			    e, EX_USAGE,
			    "--bind: invalid descriptor in '%s' (expected fd:N, N >= 3)", text);
		addr->kind = SM_ADDR_FD;
		addr->fd = (int)fd;
		return 0;
	}
	if (text[0] == '[')
		return parse_v6(text, addr, e);
	return parse_host_port(text, addr, e);
}

/* Where an inline comment starts: a '#' or ';' at the start or after a
 * blank, outside quotes; the end of s when there is none. */
static size_t comment_at(const char *s)
{
	char quote = 0;
	size_t i;

	for (i = 0; s[i]; i++) {
		if (quote != 0) {
			if (s[i] == quote)
				quote = 0;
		} else if (s[i] == '"' || s[i] == '\'') {
			quote = s[i];
		} else if ((s[i] == '#' || s[i] == ';') &&
		           (i == 0 || isblank((unsigned char)s[i - 1]))) {
			break;
		}
	}
	return i;
}

int sm_parse_ini_value(const char *in, char *out, size_t outlen)
{
	size_t len = comment_at(in);

	while (len > 0 && isspace((unsigned char)in[len - 1]))
		len--;
	if (len >= 2 && (in[0] == '"' || in[0] == '\'') && in[len - 1] == in[0]) {
		in++;
		len -= 2;
	}
	if (len >= outlen)
		return -1;
	memcpy(out, in, len);
	out[len] = '\0';
	return 0;
}
