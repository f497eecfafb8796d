/*
 * libFuzzer target for the rpc's checker of peer bytes, sk_rpc_hdr_check()
 * (rpc/wire.c), which every message a peer sends passes before the rpc
 * acts on it. The first byte of an input says what to do with the rest,
 * which is the message:
 *
 *   bit 0     seal the magic, so mutations get past it
 *   bit 1     seal the length: len set to the bytes after the header
 *             (not for a large request, whose len names remote bytes)
 *   bit 2     fold the call index into range (the low four bits)
 *
 * With none of them set the checker sees libFuzzer's buffer, which ends
 * where the input does; otherwise an exact-size heap copy. Either way ASan
 * sees any read past the end. Oracles, each an abort:
 *
 *  - a message is accepted exactly when a model of the rules, written
 *    from wire.h and rpc.h and reading the bytes little-endian
 *    (ref_check below), accepts it, and a refusal gives the model's
 *    reason: the checks run in the order the model has them;
 *  - an accepted message has its header copied out byte for byte, and
 *    what rpc relies on holds: a call index in range where it indexes a
 *    call slot, an inline payload that is all there, a large request's
 *    len within the limits, a hello that fits a blob;
 *  - checking again gives the same verdict and header;
 *  - every refusal has a reason: one line of printable text.
 *
 * Environment:
 *   SKIFF_FUZZ_WRITE_SEEDS=DIR  write seeds to DIR and exit (how
 *                               tests/fuzz/corpus_rpc was made): a valid
 *                               message of every kind at its limits, and
 *                               one a byte over a slot
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <skiff/le.h>

#include "wire.h"
#include "../rpc/wire_layout.h"
#include "fuzz_check.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MODE_MAGIC 1u
#define MODE_LEN   2u
#define MODE_CALL  4u

/* ---- the model ---- */

/*
 * The rules, one by one, from the bytes: NULL when the message is valid,
 * otherwise (a part of) the reason the checker gives.
 * An inline REQ or RESP carries at most SK_RPC_INLINE_MAX (8144) bytes,
 * though its slot could hold 8152: rpc.h promises a continuation without
 * a response buffer no more than that.
 */
static const char *ref_check(const uint8_t *b, size_t len)
{
	uint8_t type, flags;
	uint32_t blen, cap;
	size_t plen;

	if (len < HDR)
		return "shorter than a header";
	if (len > SK_RPC_SLOT_SIZE)
		return "longer than a slot";
	if (sk_le16_get(b + OFF_MAGIC) != 0x5243)
		return "bad magic";
	plen = len - HDR;
	type = b[OFF_TYPE];
	flags = b[OFF_FLAGS];
	blen = sk_le32_get(b + OFF_LEN);
	cap = sk_le32_get(b + OFF_RESP_CAP);
	/* Only a request and a response name a call slot. */
	if ((type < 3 || type > 5) && sk_le16_get(b + OFF_CALL) >= 16)
		return "call index out of range";
	switch (type) {
	case 3: /* HELLO: one packed region descriptor */
		if (flags != 0 || blen != plen || plen < 1 || plen > 1024)
			return "malformed hello";
		return NULL;
	case 4: /* PING */
	case 5: /* PONG */
		if (flags != 0 || blen != 0 || plen != 0)
			return "malformed liveness check";
		return NULL;
	case 2: /* RESP */
		if (flags != 0 || blen != plen)
			return "response length disagrees with the bytes";
		if (plen > 8144)
			return "inline payload over SK_RPC_INLINE_MAX";
		return NULL;
	case 1: /* REQ */
		if (flags > 3)
			return "unknown request flags";
		if (flags & 1) {
			if (plen != 0 || blen <= 8144 ||
			    blen > (1u << 20) + 4096u ||
			    sk_le64_get(b + OFF_REQ_ADDR) == 0)
				return "malformed large request";
		} else if (blen != plen) {
			return "request length disagrees with the bytes";
		} else if (plen > 8144) {
			return "inline payload over SK_RPC_INLINE_MAX";
		}
		if (cap > (1u << 20) + 4096u)
			return "bad response capacity or address";
		if ((flags & 2) && sk_le64_get(b + OFF_RESP_ADDR) == 0)
			return "bad response capacity or address";
		if (!(flags & 2) && cap > 8144)
			return "bad response capacity or address";
		return NULL;
	default:
		return "unknown message type";
	}
}

_Static_assert(SK_RPC_MAGIC == 0x5243 && SK_RPC_REQ == 1 &&
		       SK_RPC_RESP == 2 && SK_RPC_HELLO == 3 &&
		       SK_RPC_PING == 4 && SK_RPC_PONG == 5 &&
		       SK_RPC_F_LARGE_REQ == 1 && SK_RPC_F_RESP_ADDR == 2 &&
		       SK_RPC_CREDITS == 16 && SK_RPC_INLINE_MAX == 8144 &&
		       SK_RPC_MSG_MAX == (1u << 20) + 4096u && SK_BLOB_MAX == 1024 &&
		       SK_RPC_HDR == HDR,
	       "the model's numbers are wire.h's");

/* What rpc relies on once a message is accepted, said directly. */
static void check_accepted(const uint8_t *b, size_t len,
			   const struct sk_rpc_hdr *h)
{
	size_t plen = len - HDR;

	check(len >= HDR && len <= SK_RPC_SLOT_SIZE);
	check(memcmp(h, b, HDR) == 0);
	check(h->magic == SK_RPC_MAGIC);
	switch (h->type) {
	case SK_RPC_HELLO:
		check(h->len == plen && h->len >= 1 && h->len <= SK_BLOB_MAX);
		break;
	case SK_RPC_PING:
	case SK_RPC_PONG:
		check(h->len == 0 && plen == 0);
		break;
	case SK_RPC_RESP:
		check(h->call < SK_RPC_CREDITS);
		check(HDR + (size_t)h->len == len);
		break;
	case SK_RPC_REQ:
		check(h->call < SK_RPC_CREDITS);
		check(h->resp_cap <= SK_RPC_MSG_MAX);
		if (h->flags & SK_RPC_F_LARGE_REQ) {
			check(plen == 0 && h->req_addr != 0);
			check(h->len > SK_RPC_INLINE_MAX &&
			      h->len <= SK_RPC_MSG_MAX);
		} else {
			check(HDR + (size_t)h->len == len);
		}
		if (h->flags & SK_RPC_F_RESP_ADDR)
			check(h->resp_addr != 0);
		else
			check(h->resp_cap <= SK_RPC_INLINE_MAX);
		break;
	default:
		check(!"an unknown type was accepted");
	}
}

static void fuzz_msg(const uint8_t *b, size_t len)
{
	struct sk_rpc_hdr h, again;
	const char *why = NULL, *why2 = NULL;
	const char *want = ref_check(b, len);
	sk_status_t st;

	memset(&h, 0xa5, sizeof(h));
	st = sk_rpc_hdr_check(b, len, &h, &why);
	memset(&again, 0x5a, sizeof(again));
	check(sk_rpc_hdr_check(b, len, &again, &why2) == st);
	if (st != SK_OK) {
		check(st == SK_ERR_MALFORMED);
		check_why(why);
		check(why2 == why);
		if (want == NULL) {
			fprintf(stderr, "refused a valid message: %s\n", why);
			abort();
		}
		if (strstr(why, want) == NULL) {
			fprintf(stderr, "refused for \"%s\", not \"%s\"\n",
				why, want);
			abort();
		}
		return;
	}
	if (want != NULL) {
		fprintf(stderr, "accepted an invalid message (type %u): "
			"the model says %s\n", h.type, want);
		abort();
	}
	check_accepted(b, len, &h);
	check(memcmp(&h, &again, sizeof(h)) == 0);
}

/* ---- seeds ---- */

#define RESP_ADDR 0x7f0056780040ull
#define REQ_ADDR  0x7f0012340040ull

/*
 * A message as rpc writes it: header, then @n payload bytes (none for a
 * large request, whose @n is its len). All are valid but the one whose
 * name says so.
 */
static void seed(const char *dir, const char *name, uint8_t type,
		 uint8_t flags, uint16_t call, uint32_t n, uint32_t cap,
		 uint64_t resp_addr)
{
	static uint8_t b[SK_RPC_SLOT_SIZE + 1];
	static uint32_t gen = 1;
	size_t len = HDR;
	struct sk_rpc_hdr h;
	const char *why;
	int valid;

	memset(b, 0, HDR);
	sk_le16_put(b + OFF_MAGIC, SK_RPC_MAGIC);
	b[OFF_TYPE] = type;
	b[OFF_FLAGS] = flags;
	sk_le16_put(b + OFF_CALL, call);
	sk_le32_put(b + OFF_LEN, n);
	sk_le32_put(b + OFF_RESP_CAP, cap);
	if (type == SK_RPC_REQ) {
		sk_le16_put(b + OFF_HANDLER, 7);
		sk_le32_put(b + OFF_GEN, gen++);
	}
	if (type == SK_RPC_RESP) {
		sk_le32_put(b + OFF_GEN, gen++);
		sk_le32_put(b + OFF_STATUS, (uint32_t)-2);
	}
	if (flags & SK_RPC_F_LARGE_REQ)
		sk_le64_put(b + OFF_REQ_ADDR, REQ_ADDR);
	else
		len += n;
	sk_le64_put(b + OFF_RESP_ADDR, resp_addr);
	check(len <= sizeof(b));
	for (size_t i = HDR; i < len; i++)
		b[i] = (uint8_t)(i * 7 + 1);
	valid = strstr(name, "over-slot") == NULL;
	check((sk_rpc_hdr_check(b, len, &h, &why) == SK_OK) == valid);
	check((ref_check(b, len) == NULL) == valid);
	fuzz_write_seed(dir, name, 0, b, len);
}

static void write_seeds(const char *dir)
{
	const uint32_t imax = SK_RPC_INLINE_MAX, mmax = SK_RPC_MSG_MAX;
	const uint8_t lg = SK_RPC_F_LARGE_REQ, ra = SK_RPC_F_RESP_ADDR;

	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		fprintf(stderr, "fuzz_rpc: cannot create %s\n", dir);
		exit(1);
	}
	seed(dir, "hello", SK_RPC_HELLO, 0, 0, 48, 0, 0);
	seed(dir, "hello-blob-max", SK_RPC_HELLO, 0, 0, SK_BLOB_MAX, 0, 0);
	seed(dir, "ping", SK_RPC_PING, 0, 0, 0, 0, 0);
	seed(dir, "pong", SK_RPC_PONG, 0, 0, 0, 0, 0);
	seed(dir, "resp-empty", SK_RPC_RESP, 0, 0, 0, 0, 0);
	seed(dir, "resp", SK_RPC_RESP, 0, 5, 24, 0, 0);
	seed(dir, "resp-inline-max", SK_RPC_RESP, 0, 15, imax, 0, 0);
	seed(dir, "resp-over-slot", SK_RPC_RESP, 0, 1,
	     SK_RPC_SLOT_SIZE - HDR + 1, 0, 0);
	seed(dir, "req-empty", SK_RPC_REQ, 0, 0, 0, imax, 0);
	seed(dir, "req", SK_RPC_REQ, 0, 2, 32, imax, 0);
	seed(dir, "req-inline-max", SK_RPC_REQ, 0, 15, imax, imax, 0);
	seed(dir, "req-resp-addr", SK_RPC_REQ, ra, 3, 32, mmax, RESP_ADDR);
	seed(dir, "req-large-min", SK_RPC_REQ, lg, 4, imax + 1, imax, 0);
	seed(dir, "req-large-max", SK_RPC_REQ, lg, 5, mmax, 0, 0);
	seed(dir, "req-large-resp-addr", SK_RPC_REQ, lg | ra, 6, imax + 1,
	     4096, RESP_ADDR);
	seed(dir, "req-large-max-resp-addr", SK_RPC_REQ, lg | ra, 7, mmax,
	     mmax, RESP_ADDR);
}

FUZZ_INITIALIZE_WITH_SEEDS(write_seeds)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int mode = fuzz_take_mode(&data, &size);
	uint8_t *copy;

	if (mode < 0)
		return 0;
	if (!(mode & (MODE_MAGIC | MODE_LEN | MODE_CALL))) {
		/* libFuzzer's buffer ends where the input does. */
		fuzz_msg(data, size);
		return 0;
	}
	copy = fuzz_dup(data, size);
	if (size >= HDR) {
		if (mode & MODE_MAGIC)
			sk_le16_put(copy + OFF_MAGIC, SK_RPC_MAGIC);
		if ((mode & MODE_LEN) && !(copy[OFF_TYPE] == SK_RPC_REQ &&
					   (copy[OFF_FLAGS] & 1)))
			sk_le32_put(copy + OFF_LEN, (uint32_t)(size - HDR));
		if (mode & MODE_CALL)
			sk_le16_put(copy + OFF_CALL,
				 sk_le16_get(copy + OFF_CALL) % SK_RPC_CREDITS);
	}
	fuzz_msg(copy, size);
	free(copy);
	return 0;
}
