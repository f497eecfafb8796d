/*
 * libFuzzer target for the receiving side of the ucx provider's same-host
 * rings (verbs/ucx/ring.h): the bytes of a ring are written by the peer,
 * so whatever they hold, reading them must stay inside the ring, never
 * loop, and either yield a message or a reason.
 *
 * Input: 8 bytes of start position (the receiver's rpos), 2 bytes of the
 * first expected sequence number's low bits, then the data area of a
 * 4096-byte ring (zero-padded). The target then takes messages the way
 * ucx_ring.c does (peek, check, pop), expecting seq, seq + 1, ..., until a
 * peek gives nothing. Oracles, each an abort:
 *  - a message lies wholly inside the data area and its cell header says
 *    MSG with that length;
 *  - the checker agrees with a model of the rules (ref_check below) on
 *    every cell it is asked about, and a refusal has a reason;
 *  - at most size / 64 messages come out of one pass (each pop moves at
 *    least a 64-byte line, so a pass that goes round the ring is a bug).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../verbs/ucx/ring.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RING 4096u

static void die(const char *why)
{
	fprintf(stdout, "fuzz_ring: %s\n", why);
	fflush(stdout);
	abort();
}

/* The rules, from ring.h: MSG fits before the end and under a quarter
 * of the ring; WRAP never at offset 0; nothing else. */
static int ref_check(const struct ucx_cell *c, uint32_t off, uint32_t size)
{
	if (c->kind == UCX_CELL_MSG) {
		uint64_t bytes = (16 + (uint64_t)c->len + 63) / 64 * 64;

		return c->len <= size / 4 - 16 && off + bytes <= size;
	}
	if (c->kind == UCX_CELL_WRAP)
		return off != 0;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ucx_ring_ctl ctl;
	struct ucx_ring_rx r = {.ctl = &ctl, .size = RING, .fd = -1};
	uint8_t *area;
	uint64_t rpos = 0, seq;
	uint16_t s16 = 0;
	unsigned n;

	if (size < 10)
		return 0;
	memcpy(&rpos, data, 8);
	memcpy(&s16, data + 8, 2);
	data += 10;
	size -= 10;
	/* An exact-size heap area: ASan sees any read past it. */
	area = calloc(1, RING);
	if (area == NULL)
		return 0;
	memcpy(area, data, size < RING ? size : RING);
	r.data = area;
	r.rpos = rpos & ~(uint64_t)63; /* the receiver keeps it aligned */
	seq = s16;

	/* The checker against the model, at every aligned offset. */
	for (uint32_t off = 0; off < RING; off += 64) {
		struct ucx_cell c;
		const char *why = NULL;
		int ok;

		memcpy(&c, area + off, sizeof(c));
		ok = ucx_ring_cell_check(&c, off, RING, &why) == SK_OK;
		if (ok != ref_check(&c, off, RING))
			die("the checker and the model disagree");
		if (!ok && (why == NULL || why[0] == '\0'))
			die("a refusal without a reason");
	}

	for (n = 0;; n++) {
		const char *why = NULL;
		const void *msg;
		uint32_t len;
		uint32_t off;
		const struct ucx_cell *c;

		if (n > RING / 64)
			die("a pass went round the ring");
		msg = ucx_ring_peek(&r, seq, &len, &why);
		if (msg == NULL) {
			if (why != NULL && why[0] == '\0')
				die("an empty reason");
			break;
		}
		if ((const uint8_t *)msg < area + 16 ||
		    (const uint8_t *)msg + len > area + RING)
			die("a message outside the ring");
		c = (const struct ucx_cell *)msg - 1;
		off = (uint32_t)((const uint8_t *)c - area);
		if (off != ((uint32_t)r.rpos & (RING - 1)))
			die("a message not at the read position");
		if (c->kind != UCX_CELL_MSG || c->len != len || c->seq != seq)
			die("a message whose cell says otherwise");
		/* Touch every byte, as the copy into a receive does. */
		{
			volatile uint8_t sum = 0;

			for (uint32_t i = 0; i < len; i++)
				sum ^= ((const uint8_t *)msg)[i];
			(void)sum;
		}
		ucx_ring_pop(&r, len);
		seq++;
	}
	free(area);
	return 0;
}
