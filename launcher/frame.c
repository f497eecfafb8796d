/*
 * The frames of a Slurm step's agent (parse.h): what `skrun --agent
 * --ranks` writes on its stdout after the marker, carrying the output,
 * pids and exit statuses of every rank it runs on its host over the one
 * stream srun gives the step. skrun reads it (step.c) as outside bytes:
 * it has crossed srun and slurmstepd, and a broken or foreign agent must
 * not make skrun write into another rank's state or trust a status that
 * is not one. Pure: no I/O.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "parse.h"

static void put_le16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

void sk_frame_header(uint8_t hdr[SK_FRAME_HDR], enum sk_frame_kind kind,
		     unsigned idx, uint32_t len)
{
	hdr[0] = (uint8_t)kind;
	hdr[1] = 0;
	put_le16(hdr + 2, idx);
	put_le32(hdr + 4, len);
}

void sk_frame_value(uint8_t out[SK_FRAME_HDR + 4], enum sk_frame_kind kind,
		    unsigned idx, uint32_t value)
{
	sk_frame_header(out, kind, idx, 4);
	put_le32(out + SK_FRAME_HDR, value);
}

void sk_frame_rd_init(struct sk_frame_rd *rd, unsigned nranks)
{
	memset(rd, 0, sizeof(*rd));
	rd->nranks = nranks;
}

bool sk_frame_rd_idle(const struct sk_frame_rd *rd)
{
	return rd->hlen == 0 && rd->left == 0 && !rd->failed;
}

/* A wait status as waitpid(2) gives it for a process that ended: exited
 * (code in bits 8-15) or killed (signal 1-64 in bits 0-6, core flag 7). */
static bool sk_wait_status_ok(uint32_t v)
{
	unsigned sig = v & 0x7f;

	if (v > 0xffff)
		return false;
	if (sig == 0)
		return (v & 0xff) == 0;
	return sig <= 64 && (v >> 8) == 0;
}

__attribute__((format(printf, 2, 3))) static int
sk_frame_bad(struct sk_frame_rd *rd, const char *fmt, ...)
{
	va_list ap;

	rd->failed = true;
	va_start(ap, fmt);
	vsnprintf(rd->err, sizeof(rd->err), fmt, ap);
	va_end(ap);
	return -1;
}

/* The header in rd->hdr is whole: check it and start its body. */
static int sk_frame_start(struct sk_frame_rd *rd)
{
	unsigned kind = rd->hdr[0];
	unsigned idx = rd->hdr[2] | (unsigned)rd->hdr[3] << 8;
	uint32_t len = get_le32(rd->hdr + 4);

	if (kind < SK_FRAME_OUT || kind > SK_FRAME_EXIT || rd->hdr[1] != 0)
		return sk_frame_bad(rd, "a frame of unknown kind %u.%u", kind,
				    rd->hdr[1]);
	if (idx >= rd->nranks)
		return sk_frame_bad(rd, "a frame for rank index %u of a step "
				    "of %u", idx, rd->nranks);
	if (kind == SK_FRAME_OUT || kind == SK_FRAME_ERR) {
		if (len == 0 || len > SK_FRAME_DATA_MAX)
			return sk_frame_bad(rd, "an output frame of %u bytes "
					    "(1 to %u)", (unsigned)len,
					    SK_FRAME_DATA_MAX);
	} else if (len != 4) {
		return sk_frame_bad(rd, "%s frame of %u bytes, not 4",
				    kind == SK_FRAME_PID ? "a pid" : "an exit",
				    (unsigned)len);
	}
	rd->kind = (enum sk_frame_kind)kind;
	rd->idx = idx;
	rd->left = len;
	rd->vlen = 0;
	return 0;
}

/* A pid or exit frame's 4 bytes are in: check and deliver them. */
static int sk_frame_value_done(struct sk_frame_rd *rd,
			       sk_frame_func_t *cb, void *arg)
{
	uint32_t v = get_le32(rd->val);
	struct sk_frame_ev ev = {.kind = rd->kind, .idx = rd->idx,
				 .value = v};

	if (rd->kind == SK_FRAME_PID && (v == 0 || v > INT32_MAX))
		return sk_frame_bad(rd, "pid %u for rank index %u",
				    (unsigned)v, rd->idx);
	if (rd->kind == SK_FRAME_EXIT && !sk_wait_status_ok(v))
		return sk_frame_bad(rd, "exit status 0x%x for rank index %u "
				    "is no wait status", (unsigned)v, rd->idx);
	const char *why = cb(arg, &ev);

	return why == NULL ? 0 : sk_frame_bad(rd, "%s", why);
}

int sk_frame_feed(struct sk_frame_rd *rd, const char *buf, size_t len,
		  sk_frame_func_t *cb, void *arg)
{
	const uint8_t *p = (const uint8_t *)buf;

	if (rd->failed)
		return -1;
	while (len > 0) {
		if (rd->left == 0) {
			size_t take = SK_FRAME_HDR - rd->hlen;

			if (take > len)
				take = len;
			memcpy(rd->hdr + rd->hlen, p, take);
			rd->hlen += take;
			p += take;
			len -= take;
			if (rd->hlen < SK_FRAME_HDR)
				return 0;
			rd->hlen = 0;
			if (sk_frame_start(rd) != 0)
				return -1;
			continue;
		}
		size_t take = rd->left < len ? rd->left : len;

		if (rd->kind == SK_FRAME_OUT || rd->kind == SK_FRAME_ERR) {
			struct sk_frame_ev ev = {.kind = rd->kind,
						 .idx = rd->idx,
						 .data = (const char *)p,
						 .len = take};

			const char *why;

			rd->left -= (uint32_t)take;
			why = cb(arg, &ev);
			if (why != NULL)
				return sk_frame_bad(rd, "%s", why);
		} else {
			memcpy(rd->val + rd->vlen, p, take);
			rd->vlen += take;
			rd->left -= (uint32_t)take;
			if (rd->left == 0 &&
			    sk_frame_value_done(rd, cb, arg) != 0)
				return -1;
		}
		p += take;
		len -= take;
	}
	return 0;
}
