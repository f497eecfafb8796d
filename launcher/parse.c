/*
 * What skrun's parsers of outside text share (parse.h): opts.c for the
 * command line, hosts.c for --host lists and hostfiles, place.c for the
 * placement's messages; and the agent's lifeline lines. Numbers are read
 * by hand, and input quoted in a message is made printable and cut
 * short, so that every message stays one line whatever a user or a file
 * gave.
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "parse.h"

int sk_parse_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

const char *sk_parse_show(char *buf, size_t size, const char *s, size_t n)
{
	size_t i, max = size - 1;

	if (n > max)
		max -= 3;
	for (i = 0; i < n && i < max; i++)
		buf[i] = sk_is_print(s[i]) ? s[i] : '?';
	if (i < n) {
		memcpy(buf + i, "...", 3);
		i += 3;
	}
	buf[i] = '\0';
	return buf;
}

enum sk_num sk_parse_uint(const char *s, size_t n, unsigned min, unsigned max,
			  unsigned *out)
{
	unsigned long v = 0;

	if (n == 0)
		return SK_NUM_BAD;
	for (size_t i = 0; i < n; i++) {
		if (!sk_is_digit(s[i]))
			return SK_NUM_BAD;
		if (v <= max)
			v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v < min || v > max)
		return SK_NUM_RANGE;
	*out = (unsigned)v;
	return SK_NUM_OK;
}

int sk_parse_agent_sig(const char *line, size_t n)
{
	unsigned sig;

	if (n < 5 || memcmp(line, "SIG ", 4) != 0 ||
	    sk_parse_uint(line + 4, n - 4, 1, 64, &sig) != SK_NUM_OK)
		return 0;
	switch (sig) {
	case SIGTERM: case SIGINT: case SIGHUP: case SIGQUIT: case SIGKILL:
		return (int)sig;
	default:
		return 0;
	}
}
