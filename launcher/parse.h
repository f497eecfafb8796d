/*
 * What skrun's parsers of outside text share: opts.c (the command line),
 * hosts.c (--host lists and hostfiles), place.c (placement), slurm.c
 * (Slurm's variables) and the agent's lifeline (agent.c). Private to
 * them; the launcher's other parts see opts.h only.
 */
#ifndef SKIFF_LAUNCHER_PARSE_H
#define SKIFF_LAUNCHER_PARSE_H

#include <stdbool.h>
#include <stddef.h>

#include "opts.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Bytes of a user's string quoted in a message before it is cut. */
#define SK_SHOW_MAX 48

/*
 * Character classes in ASCII, not <ctype.h>'s: those follow the locale,
 * and what makes a host or variable name must not.
 */
static inline bool sk_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static inline bool sk_is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static inline bool sk_is_alnum(char c)
{
	return sk_is_alpha(c) || sk_is_digit(c);
}

static inline bool sk_is_xdigit(char c)
{
	return sk_is_digit(c) || (c >= 'a' && c <= 'f') ||
	       (c >= 'A' && c <= 'F');
}

static inline bool sk_is_print(char c)
{
	return c >= 0x20 && c < 0x7f;
}

/* Slots of a list entry; 0 is "not given", which means 1 (opts.h). */
static inline unsigned sk_host_slots(const struct sk_host *h)
{
	return h->slots ? h->slots : 1;
}

/* Write the message (printf's @fmt) to @err, if any; returns -1, so that
 * "return sk_parse_err(...)" fails the caller. */
__attribute__((format(printf, 3, 4))) int sk_parse_err(char *err, size_t errlen,
						       const char *fmt, ...);

/*
 * Copy @n bytes of @s into @buf (@size bytes) for quoting in a message:
 * non-printable bytes become '?', so that a message stays one line
 * whatever a file holds, and a long string is cut with "...". Returns
 * @buf.
 */
const char *sk_parse_show(char *buf, size_t size, const char *s, size_t n);

#define SK_SHOW(buf, s, n) sk_parse_show(buf, sizeof(buf), s, n)

/*
 * A host name as a resolver takes it (hosts.c): dot-separated DNS labels
 * (which covers IPv4 addresses), or an IPv6 address.
 */
bool sk_host_name_ok(const char *s, size_t n);

enum sk_num { SK_NUM_OK = 0, SK_NUM_BAD, SK_NUM_RANGE };

/*
 * A decimal number of @n bytes in [@min, @max], into *@out (untouched
 * unless SK_NUM_OK). Digits only: strtoul would also take blanks, a sign
 * (and wrap "-1" to ULONG_MAX) and, with base 0, octal. Accumulation
 * stops growing past @max, so no length of digits overflows.
 */
enum sk_num sk_parse_uint(const char *s, size_t n, unsigned min, unsigned max,
			  unsigned *out);

/*
 * A line of @n bytes (no newline) that skrun writes on an agent's
 * lifeline (agent.c): "SIG n" (SK_AGENT_SIG_FMT), n in decimal digits and
 * one of the signals skrun forwards (TERM, INT, HUP, QUIT, KILL). Returns
 * n, or 0 for any other line: no sign, blank, suffix or other signal, and
 * no number that only wraps to one.
 */
int sk_parse_agent_sig(const char *line, size_t n);

#endif /* SKIFF_LAUNCHER_PARSE_H */
