/*
 * What skrun's parsers of outside text share: opts.c (the command line),
 * hosts.c (--host lists and hostfiles), place.c (placement), slurm.c
 * (Slurm's variables), the agent's lifeline (agent.c) and a Slurm step's
 * frames (frame.c). Private to them and to the parts of skrun that speak
 * those protocols; the launcher's other parts see opts.h only.
 */
#ifndef SKIFF_LAUNCHER_PARSE_H
#define SKIFF_LAUNCHER_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/*
 * A Slurm step's frames (frame.c). Inside an allocation skrun starts one
 * srun step per host, whose one task is `skrun --agent --ranks LIST`;
 * the agent forks every rank of LIST there and, after the marker line
 * (SK_AGENT_MARKER), writes nothing on its stdout but frames, so that
 * the ranks' streams, pids and exit statuses share srun's one stream:
 *
 *   byte 0     kind (enum sk_frame_kind)
 *   byte 1     0
 *   bytes 2-3  the rank's index in LIST, little-endian
 *   bytes 4-7  the body's length, little-endian: 1 to SK_FRAME_DATA_MAX
 *              for output, 4 for a pid or an exit status
 *   the body   output bytes as the rank wrote them, or a little-endian
 *              value: the rank's pid on its host, or its wait status
 *              (waitpid's, so that a signal survives the trip)
 */
enum sk_frame_kind {
	SK_FRAME_OUT = 1,  /* the rank's stdout */
	SK_FRAME_ERR = 2,  /* its stderr */
	SK_FRAME_PID = 3,  /* it started, with this pid */
	SK_FRAME_EXIT = 4, /* it ended, with this wait status */
};

#define SK_FRAME_HDR      8
#define SK_FRAME_DATA_MAX 65536u

void sk_frame_header(uint8_t hdr[SK_FRAME_HDR], enum sk_frame_kind kind,
		     unsigned idx, uint32_t len);
/* A whole pid or exit frame into @out. */
void sk_frame_value(uint8_t out[SK_FRAME_HDR + 4], enum sk_frame_kind kind,
		    unsigned idx, uint32_t value);

/* One thing a frame said: output comes in pieces of a frame (@data,
 * @len), in order; a pid or exit status whole (@value). */
struct sk_frame_ev {
	enum sk_frame_kind kind;
	unsigned           idx;
	const char        *data;
	size_t             len;
	uint32_t           value;
};

/* What sk_frame_feed calls for each: NULL to go on, or why the stream
 * is broken (a second exit for one rank, say), which stops it. */
typedef const char *sk_frame_func_t(void *arg, const struct sk_frame_ev *ev);

/* A reader's state across reads; caller-owned, nothing to free. */
struct sk_frame_rd {
	unsigned           nranks;
	uint8_t            hdr[SK_FRAME_HDR];
	size_t             hlen;
	enum sk_frame_kind kind;
	unsigned           idx;
	uint32_t           left;   /* of the current frame's body */
	uint8_t            val[4];
	size_t             vlen;
	bool               failed;
	char               err[128]; /* why, once failed */
};

void sk_frame_rd_init(struct sk_frame_rd *rd, unsigned nranks);
/*
 * Feed @len bytes of the stream (any split). Returns 0, or -1 once the
 * stream is broken (a malformed header, a pid of 0, an exit value that
 * is no wait status, or @cb's refusal): rd->err says why, and every
 * later call returns -1 at once.
 */
int sk_frame_feed(struct sk_frame_rd *rd, const char *buf, size_t len,
		  sk_frame_func_t *cb, void *arg);
/* Whether the stream stopped between frames (its end is no cut). */
bool sk_frame_rd_idle(const struct sk_frame_rd *rd);

#endif /* SKIFF_LAUNCHER_PARSE_H */
