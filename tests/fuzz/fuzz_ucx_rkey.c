/*
 * libFuzzer target for the ucx provider's import of a peer's memory
 * descriptor: its own sk_rkey_unpack, on a live UCX worker opened once in
 * this process (two endpoints of one device connected to each other, and
 * one registration whose descriptor is the genuine one). The import
 * decodes the blob, reads the target's key-table entry over UCX, and
 * honours the key only if every field matches the entry.
 *
 * Input: one byte of mode, then
 *   0: a descriptor, as it is;
 *   1: the same, "sealed" (body length and check word recomputed, so that
 *      mutations reach the body);
 *   2: a forgery: one byte of mask, then u64 addr, u64 len, u32 rights,
 *      u32 key id, u64 cookie (zero-padded) and the rest as packed rkey
 *      bytes; each field whose mask bit is set (in that order, bit 5 the
 *      rkey bytes) replaces the genuine one, and the provider's own encoder
 *      (ucx_mr_desc_encode) packs the result.
 * Oracles, each an abort:
 *  - the import accepts exactly what ucx_mr_desc_decode accepts, with the
 *    same refusal status;
 *  - an accepted key says the descriptor's range and rights;
 *  - it is honoured (ucx_rkey_honoured) exactly when every field and the
 *    rkey bytes are the genuine ones: no forgery of any field gets in,
 *    and the genuine key is not refused.
 * Fuzzed rkey bytes reach UCX's parser only if they hash as the genuine
 * ones (see fuzz_blobs' README note on ucp_ep_rkey_unpack).
 *
 * SKIFF_FUZZ_VERBOSE=1 keeps the provider's messages; SKIFF_FUZZ_WRITE_SEEDS
 * =DIR writes seeds and exits (how tests/fuzz/corpus_ucx_rkey was made).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <skiff/verbs.h>

#include "../../verbs/ucx/ucx_wire.h"
#include "../../verbs/wire.h"
#include "../lib/wire_seal.h"
#include "fuzz_check.h"
#include "fuzz_ucx.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct {
	struct fuzz_ucx u;
	uint8_t blob[SK_BLOB_MAX];  /* the genuine descriptor */
	size_t blob_len;
	struct ucx_mr_desc genuine; /* decoded from blob */
} fz;

static int is_genuine(const struct ucx_mr_desc *m)
{
	const struct ucx_mr_desc *g = &fz.genuine;

	return m->addr == g->addr && m->len == g->len &&
	       m->access == g->access && m->key_id == g->key_id &&
	       m->cookie == g->cookie && m->rkey_len == g->rkey_len &&
	       memcmp(m->rkey, g->rkey, g->rkey_len) == 0;
}

static void import(const uint8_t *blob, size_t len)
{
	struct ucx_mr_desc m;
	struct sk_rkey *rkey = NULL;
	sk_status_t dst, st;

	dst = ucx_mr_desc_decode(blob, len, &m);
	st = sk_rkey_unpack(fz.u.a, blob, len, &rkey);
	if (dst != SK_OK) {
		check(st == dst);
		return;
	}
	check(st == SK_OK);
	check(sk_rkey_addr(rkey) == m.addr && sk_rkey_len(rkey) == m.len &&
	      sk_rkey_access(rkey) == m.access);
	check(ucx_rkey_honoured(rkey) == is_genuine(&m));
	sk_rkey_destroy(rkey);
}

static uint64_t take(const uint8_t **p, size_t *left, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++)
		if (*left) {
			v |= (uint64_t)**p << (8 * i);
			(*p)++;
			(*left)--;
		}
	return v;
}

static void forge(const uint8_t *data, size_t size)
{
	struct ucx_mr_desc m = fz.genuine;
	uint8_t blob[SK_WIRE_HDR_LEN + 64 + UINT16_MAX];
	size_t len = sizeof(blob);
	unsigned mask;
	uint64_t v;

	if (size == 0)
		return;
	mask = data[0];
	data++;
	size--;
	v = take(&data, &size, 8);
	if (mask & 1)
		m.addr = v;
	v = take(&data, &size, 8);
	if (mask & 2)
		m.len = v;
	v = take(&data, &size, 4);
	if (mask & 4)
		m.access = (uint32_t)v;
	v = take(&data, &size, 4);
	if (mask & 8)
		m.key_id = (uint32_t)v;
	v = take(&data, &size, 8);
	if (mask & 16)
		m.cookie = v;
	if (mask & 32) {
		m.rkey = data;
		m.rkey_len = (uint16_t)(size > UINT16_MAX ? UINT16_MAX : size);
	}
	if (ucx_mr_desc_encode(&m, blob, &len) != SK_OK)
		return;
	import(blob, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy;

	if (size < 1 || fz.u.dev == NULL)
		return 0;
	switch (data[0] % 3) {
	case 2:
		forge(data + 1, size - 1);
		return 0;
	default:
		break;
	}
	/* Exactly sized on the heap: ASan sees a read past the blob. */
	size--;
	copy = fuzz_dup(data + 1, size);
	if (data[0] % 3 == 1)
		(void)sk_test_wire_seal(copy, size);
	import(copy, size);
	free(copy);
	return 0;
}

/* The genuine descriptor as it is and sealed, and a forgery of each
 * field alone (the rkey one with this run's genuine bytes flipped). */
static void write_seeds(const char *dir)
{
	static const char *const names[] = {"forge-addr", "forge-len",
					    "forge-rights", "forge-id",
					    "forge-cookie", "forge-rkey"};
	uint8_t f[1 + 32 + SK_BLOB_MAX];

	fuzz_write_seed(dir, "genuine", 0, fz.blob, fz.blob_len);
	fuzz_write_seed(dir, "genuine-sealed", 1, fz.blob, fz.blob_len);
	memset(f, 0, sizeof(f));
	fuzz_write_seed(dir, "forge-none", 2, f, 33);
	for (unsigned i = 0; i < 6; i++) {
		size_t len = 33;

		memset(f, 0, sizeof(f));
		f[0] = (uint8_t)(1u << i);
		memcpy(f + 1, &fz.genuine.addr, 8);
		f[9] = 0x40;      /* len 64 */
		f[17] = 0x06;     /* read, write */
		f[21] = 1;        /* key id 1 */
		f[25] = 0x5a;     /* a cookie */
		if (i == 5) {
			memcpy(f + 33, fz.genuine.rkey, fz.genuine.rkey_len);
			f[33] ^= 1;
			len += fz.genuine.rkey_len;
		}
		fuzz_write_seed(dir, names[i], 2, f, len);
	}
}

static int open_device(void)
{
	uint8_t addr_b[SK_BLOB_MAX];
	size_t len_b = sizeof(addr_b);

	if (fuzz_ucx_open(&fz.u, addr_b, &len_b))
		return -1;
	fz.blob_len = sizeof(fz.blob);
	if (sk_mr_pack(fz.u.mr, fz.blob, &fz.blob_len) != SK_OK ||
	    ucx_mr_desc_decode(fz.blob, fz.blob_len, &fz.genuine) != SK_OK)
		return -1;
	return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *seeds = getenv("SKIFF_FUZZ_WRITE_SEEDS");

	(void)argc;
	(void)argv;
	/* A key check that cannot be answered must not stall the run. */
	setenv("SKIFF_UCX_KEY_CHECK_MS", "1000", 0);
	if (open_device() != 0) {
		fprintf(stderr, "fuzz_ucx_rkey: cannot open a ucx device\n");
		exit(1);
	}
	/* The genuine key is honoured, or no oracle below means anything. */
	{
		struct sk_rkey *rkey;

		check(sk_rkey_unpack(fz.u.a, fz.blob, fz.blob_len, &rkey) ==
		      SK_OK);
		check(ucx_rkey_honoured(rkey));
		sk_rkey_destroy(rkey);
	}
	if (seeds) {
		write_seeds(seeds);
		exit(0);
	}
	fuzz_quiet_unless_verbose();
	return 0;
}
