/*
 * libFuzzer target for kv's decoders of a peer's bytes (kv/wire.c): every
 * request an owner's handlers take (get, delete, store, delta, touch,
 * hint, desc, secret) and every response the client takes (secret, get,
 * cas, delta, desc). The first byte of an input chooses what to do with
 * the rest, which is the message:
 *
 *   bits 0-3  the decoder (MODE_* below; 15 wraps onto 0)
 *   bit 4     seal the lengths: the message's length fields (klen, vlen,
 *             count, a desc answer's count and desc_len) rewritten to fit
 *             the bytes there, so that mutations reach what follows them
 *   bit 5     tame the other fields: reserved words 0, op, incr and
 *             modes in range, a desc answer's magic right
 *
 * Each decoder gets an exact-size heap copy, so ASan sees a read past the
 * end. Oracles, each an abort:
 *
 *  - a message is accepted exactly when a model of the rules, written
 *    from kv_int.h's formats and reading the bytes at their offsets
 *    (ref_* below), accepts it;
 *  - what an accepted request decodes to encodes back to the same bytes,
 *    its pointers inside the message, its key 1 to 250 bytes of any value;
 *  - a desc answer's walk moves forward, each descriptor inside the
 *    message, each region header one sk_kv_view_from_hdr takes;
 *  - decoding again gives the same verdict.
 *
 * Environment:
 *   SKIFF_FUZZ_WRITE_SEEDS=DIR  write seeds to DIR and exit (how
 *                               tests/fuzz/corpus_owner was made): a valid
 *                               message of each kind, and sealed ones of
 *                               those with lengths to seal
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"
#include "../fuzz/fuzz_check.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum {
	MODE_KEY,          /* KV_RPC_GET */
	MODE_STORE,
	MODE_DELTA,
	MODE_TOUCH,
	MODE_HINT,
	MODE_DESC_REQ,
	MODE_SECRET_REQ,
	MODE_SECRET_RESP,
	MODE_GET_RESP,
	MODE_CAS_RESP,
	MODE_DELTA_RESP,
	MODE_DESC_RESP,
	MODE_FLUSH_REQ,
	MODE_OSTATS_RESP,
	MODE_DELETE,       /* KV_RPC_DELETE (after the others: the corpus
	                    * keeps its modes) */
	MODE_CSTATS_RESP,  /* KV_RPC_CSTATS's answer */
	MODE_DUMP_REQ,     /* KV_RPC_DUMP (modes 16 and up: bit 0x40) */
	MODE_DUMP_RESP,
	MODE_COUNT
};
#define MODE_SEAL 0x10u
#define MODE_TAME 0x20u
#define MODE_HIGH 0x40u /* the mode's fifth bit */

/* ---- the bytes, at their offsets (one byte order per job: host's) ---- */

static uint32_t u32_at(const uint8_t *p, size_t off)
{
	uint32_t v;

	memcpy(&v, p + off, 4);
	return v;
}

static void u32_put(uint8_t *p, size_t off, uint32_t v)
{
	memcpy(p + off, &v, 4);
}

/* ---- the model: the rules, spelled out from kv_int.h ---- */

static uint64_t u64_at(const uint8_t *p, size_t off)
{
	uint64_t v;

	memcpy(&v, p + off, 8);
	return v;
}

/* KV_RPC_DUMP's answer: next (u64), len, count, then len bytes (at most
 * 8128, a multiple of 8) of count entries: vlen (<= 1 MiB), exptime,
 * klen (1..250), reserved 0, cas (u64, any), the key, zeros to the next
 * multiple of 8. */
static bool ref_dump_resp(const uint8_t *p, size_t len)
{
	size_t off = 16, n = 0;

	if (len < 16 || u32_at(p, 8) != len - 16 || len - 16 > 8128 ||
	    (len - 16) % 8)
		return false;
	while (off < len) {
		size_t klen, next;

		if (len - off < 24)
			return false;
		klen = u32_at(p, off + 8);
		next = off + (24 + klen + 7) / 8 * 8;
		if (u32_at(p, off) > 1048576 || klen < 1 || klen > 250 ||
		    u32_at(p, off + 12) != 0 || next > len)
			return false;
		for (size_t i = off + 24 + klen; i < next; i++)
			if (p[i])
				return false;
		off = next;
		n++;
	}
	return n == u32_at(p, 12);
}

/* KV_RPC_CSTATS's answer: 0 to 64 classes of 10 x u64 (chunk_size
 * chunks free quarantined items item_bytes sets evicted evicted_exp
 * expired), chunk sizes rising from 1, free + quarantined + items =
 * chunks, evicted_exp <= evicted. */
static bool ref_cstats(const uint8_t *p, size_t len)
{
	if (len % 80 || len / 80 > 64)
		return false;
	for (size_t off = 0; off < len; off += 80) {
		uint64_t chunks = u64_at(p, off + 8), fr = u64_at(p, off + 16);
		uint64_t q = u64_at(p, off + 24), items = u64_at(p, off + 32);

		if (u64_at(p, off) == 0 ||
		    (off && u64_at(p, off) <= u64_at(p, off - 80)) ||
		    fr > chunks || q > chunks - fr ||
		    items != chunks - fr - q ||
		    u64_at(p, off + 64) > u64_at(p, off + 56))
			return false;
	}
	return true;
}

/* A key on the wire (wire.h): 1..250 bytes, any of them (the table's
 * rule is the handler's). */
static bool ref_key(const uint8_t *k, uint64_t n)
{
	(void)k;
	return n >= 1 && n <= 250;
}

/* KV_RPC_STORE's op: a storage command, ms I's bit (0x100) only with a
 * cas (5). */
static bool ref_store_op(unsigned op)
{
	return op <= 5 || op == 0x105;
}

/* A header of h bytes whose klen is at klen_off, and the key after it
 * ending the message. */
static bool ref_keyed(const uint8_t *p, size_t len, size_t h,
		      size_t klen_off)
{
	return len >= h && u32_at(p, klen_off) == len - h &&
	       ref_key(p + h, len - h);
}

static bool ref_accepts(unsigned mode, const uint8_t *p, size_t len)
{
	switch (mode) {
	case MODE_KEY:      /* klen, reserved */
		return len >= 8 && u32_at(p, 4) == 0 && ref_keyed(p, len, 8, 0);
	case MODE_STORE: {  /* the item: seal cas exptime flags vlen klen
			     * (u8) kind (u8) op (u16), key, value, zeros
			     * to 16 */
		uint64_t klen, vlen;

		if (len < 32)
			return false;
		klen = p[28];
		vlen = u32_at(p, 24);
		return ref_store_op(p[30] | p[31] << 8) && p[29] == 0 &&
		       vlen <= 1048576 &&
		       (32 + klen + vlen + 15) / 16 * 16 == len &&
		       ref_key(p + 32, klen);
	}
	case MODE_DELETE:   /* klen, mode, cas, exptime, reserved: mode 0,
			     * STALE (1) or STALE | TTL (3), exptime 0
			     * without TTL */
		return len >= 24 &&
		       (u32_at(p, 4) == 0 || u32_at(p, 4) == 1 ||
			u32_at(p, 4) == 3) &&
		       (u32_at(p, 4) == 3 || u32_at(p, 16) == 0) &&
		       u32_at(p, 20) == 0 && ref_keyed(p, len, 24, 0);
	case MODE_DELTA:    /* incr klen delta cas */
		return len >= 24 && u32_at(p, 0) <= 1 &&
		       ref_keyed(p, len, 24, 4);
	case MODE_TOUCH:    /* exptime klen mode vivify recache reserved:
			     * mode's bits ANSWER 1, TTL 2 (one of them at
			     * least), WIN 4, VIVIFY 8, RECACHE 16,
			     * RECACHE_OLD 32 (only with 16); exptime 0
			     * without TTL, vivify without VIVIFY, recache
			     * without RECACHE */
		return len >= 24 && u32_at(p, 8) <= 63 &&
		       (u32_at(p, 8) & 3) != 0 &&
		       ((u32_at(p, 8) & 2) || u32_at(p, 0) == 0) &&
		       ((u32_at(p, 8) & 8) || u32_at(p, 12) == 0) &&
		       ((u32_at(p, 8) & 16) ||
			(u32_at(p, 16) == 0 && !(u32_at(p, 8) & 32))) &&
		       u32_at(p, 20) == 0 && ref_keyed(p, len, 24, 4);
	case MODE_HINT:     /* count reserved, count x 8 */
		return len >= 8 && u32_at(p, 4) == 0 && u32_at(p, 0) <= 512 &&
		       (uint64_t)u32_at(p, 0) * 8 == len - 8;
	case MODE_DESC_REQ: /* epoch reserved */
		return len == 8 && u32_at(p, 4) == 0;
	case MODE_SECRET_REQ:
		return len == 8;
	case MODE_SECRET_RESP:
		return len == 16;
	case MODE_DELTA_RESP: /* value cas exptime grew (0 or 1) */
		return len == 24 && u32_at(p, 20) <= 1;
	case MODE_CAS_RESP:
		return len == 8;
	case MODE_GET_RESP: /* flags vlen cas exptime state (bits 0-3)
			     * exptime_before reserved, value */
		return len >= 32 && u32_at(p, 4) <= 1048576 &&
		       u32_at(p, 4) == len - 32 && u32_at(p, 20) <= 15 &&
		       u32_at(p, 28) == 0;
	case MODE_FLUSH_REQ: /* delay reserved */
		return len == 8 && u32_at(p, 4) == 0;
	case MODE_OSTATS_RESP: /* 6 x u64, partitions, reserved */
		return len == 56 && u32_at(p, 52) == 0;
	case MODE_CSTATS_RESP:
		return ref_cstats(p, len);
	case MODE_DUMP_REQ: /* cursor, cls < 64, 512 <= max <= 8128 */
		return len == 16 && u32_at(p, 8) < 64 &&
		       u32_at(p, 12) >= 512 && u32_at(p, 12) <= 8128;
	case MODE_DUMP_RESP:
		return ref_dump_resp(p, len);
	}
	return false;
}

/* ---- the oracles of each decoder ---- */

static void in_msg(const void *ptr, size_t n, const uint8_t *p, size_t len)
{
	const uint8_t *q = ptr;

	check(q >= p && n <= len && (size_t)(q - p) <= len - n);
}

/* Decode; check the verdict against the model and the result against
 * the bytes. */
static void run_request(unsigned mode, const uint8_t *p, size_t len)
{
	bool want = ref_accepts(mode, p, len);
	int rc = -1, rc2 = -1;

	switch (mode) {
	case MODE_KEY: {
		struct kv_key_msg m;
		struct kv_key_req q;

		rc = kv_dec_key(p, len, &m);
		rc2 = kv_dec_key(p, len, &m);
		if (rc)
			break;
		in_msg(m.key, m.klen, p, len);
		check(sk_kv_key_len_ok(m.klen));
		q = (struct kv_key_req){.klen = m.klen};
		check(len == sizeof(q) + m.klen);
		check(memcmp(&q, p, sizeof(q)) == 0);
		check(m.key == (const char *)p + sizeof(q));
		break;
	}
	case MODE_DELETE: {
		struct kv_delete_msg m;
		struct kv_delete_req q;

		rc = kv_dec_delete(p, len, &m);
		rc2 = kv_dec_delete(p, len, &m);
		if (rc)
			break;
		in_msg(m.key, m.klen, p, len);
		check(sk_kv_key_len_ok(m.klen));
		q = (struct kv_delete_req){
			.klen = m.klen, .cas = m.cas, .exptime = m.exptime,
			.mode = m.mode,
		};
		check(len == sizeof(q) + m.klen);
		check(memcmp(&q, p, sizeof(q)) == 0);
		check(m.key == (const char *)p + sizeof(q));
		break;
	}
	case MODE_STORE: {
		struct kv_store_msg m;
		struct kv_store_req q;

		rc = kv_dec_store(p, len, &m);
		rc2 = kv_dec_store(p, len, &m);
		if (rc)
			break;
		in_msg(m.key, m.klen, p, len);
		in_msg(m.value, m.vlen, p, len);
		check(sk_kv_key_len_ok(m.klen));
		check(m.op <= SK_KV_CAS && m.vlen <= SK_KV_VALUE_MAX);
		memcpy(&q, p, sizeof(q));
		check(q.op == (m.op | (m.stale ? KV_STORE_STALE : 0)) &&
		      (!m.stale || m.op == SK_KV_CAS) && q.flags == m.flags &&
		      q.exptime == m.exptime && q.klen == m.klen &&
		      q.vlen == m.vlen && q.cas == m.cas && q.kind == 0);
		check(len == sk_kv_item_size(m.klen, m.vlen));
		check(m.img == (const void *)p && m.img_len == len);
		check(m.key == (const char *)p + sizeof(q));
		check(m.value == m.key + m.klen);
		break;
	}
	case MODE_DELTA: {
		struct kv_delta_msg m;
		struct kv_delta_req q;

		rc = kv_dec_delta(p, len, &m);
		rc2 = kv_dec_delta(p, len, &m);
		if (rc)
			break;
		in_msg(m.key, m.klen, p, len);
		check(sk_kv_key_len_ok(m.klen));
		q = (struct kv_delta_req){
			.incr = m.incr, .klen = m.klen, .delta = m.delta,
			.cas = m.cas,
		};
		check(len == sizeof(q) + m.klen);
		check(memcmp(&q, p, sizeof(q)) == 0);
		break;
	}
	case MODE_TOUCH: {
		struct kv_touch_msg m;
		struct kv_touch_req q;

		rc = kv_dec_touch(p, len, &m);
		rc2 = kv_dec_touch(p, len, &m);
		if (rc)
			break;
		in_msg(m.key, m.klen, p, len);
		check(sk_kv_key_len_ok(m.klen));
		q = (struct kv_touch_req){
			.exptime = m.exptime, .klen = m.klen, .mode = m.mode,
			.vivify = m.vivify, .recache = m.recache,
		};
		check(len == sizeof(q) + m.klen);
		check(memcmp(&q, p, sizeof(q)) == 0);
		break;
	}
	case MODE_HINT: {
		struct kv_hint_msg m;
		struct kv_hint_req q;
		uint64_t sum = 0;

		rc = kv_dec_hint(p, len, &m);
		rc2 = kv_dec_hint(p, len, &m);
		if (rc)
			break;
		check(m.count <= KV_HINT_MAX);
		in_msg(m.hashes, (size_t)m.count * 8, p, len);
		q = (struct kv_hint_req){.count = m.count};
		check(len == sizeof(q) + (size_t)m.count * 8);
		check(memcmp(&q, p, sizeof(q)) == 0);
		for (uint32_t i = 0; i < m.count; i++) {
			uint64_t h;

			memcpy(&h, p + sizeof(q) + (size_t)i * 8, 8);
			check(kv_hint_hash(&m, i) == h);
			sum += h;
		}
		(void)sum;
		break;
	}
	case MODE_DESC_REQ: {
		struct kv_desc_req q;

		rc = kv_dec_desc_req(p, len, &q);
		rc2 = kv_dec_desc_req(p, len, &q);
		if (rc == 0)
			check(memcmp(&q, p, sizeof(q)) == 0);
		break;
	}
	case MODE_SECRET_REQ: {
		struct kv_secret_req q;

		rc = kv_dec_secret_req(p, len, &q);
		rc2 = kv_dec_secret_req(p, len, &q);
		if (rc == 0)
			check(memcmp(&q, p, sizeof(q)) == 0);
		break;
	}
	case MODE_SECRET_RESP: {
		struct kv_secret_resp a;

		rc = kv_dec_secret_resp(p, len, &a);
		rc2 = kv_dec_secret_resp(p, len, &a);
		if (rc == 0)
			check(memcmp(&a, p, sizeof(a)) == 0);
		break;
	}
	case MODE_GET_RESP: {
		struct kv_get_resp a;
		const char *v;

		rc = kv_dec_get_resp(p, len, &a, &v);
		rc2 = kv_dec_get_resp(p, len, &a, &v);
		if (rc)
			break;
		check(memcmp(&a, p, sizeof(a)) == 0);
		in_msg(v, a.vlen, p, len);
		check(v == (const char *)p + sizeof(a) &&
		      len == sizeof(a) + a.vlen);
		break;
	}
	case MODE_FLUSH_REQ: {
		struct kv_flush_req q;

		rc = kv_dec_flush_req(p, len, &q);
		rc2 = kv_dec_flush_req(p, len, &q);
		if (rc == 0)
			check(memcmp(&q, p, sizeof(q)) == 0);
		break;
	}
	case MODE_OSTATS_RESP: {
		struct sk_kv_owner_stats a;

		rc = kv_dec_ostats_resp(p, len, &a);
		rc2 = kv_dec_ostats_resp(p, len, &a);
		if (rc == 0)
			check(memcmp(&a, p, sizeof(a)) == 0);
		break;
	}
	case MODE_DUMP_REQ: {
		struct kv_dump_req q;

		rc = kv_dec_dump_req(p, len, &q);
		rc2 = kv_dec_dump_req(p, len, &q);
		if (rc == 0)
			check(memcmp(&q, p, sizeof(q)) == 0);
		break;
	}
	case MODE_DUMP_RESP: {
		struct kv_dump_resp a;
		const void *ents = NULL;

		rc = kv_dec_dump_resp(p, len, &a, &ents);
		rc2 = kv_dec_dump_resp(p, len, &a, &ents);
		if (rc == 0) {
			const struct sk_kv_dump_ent *e;
			const uint8_t *key;
			size_t off = 0;
			uint32_t n = 0;

			check(memcmp(&a, p, sizeof(a)) == 0 &&
			      (const uint8_t *)ents == p + sizeof(a));
			while ((e = sk_kv_dump_next(ents, a.len, &off, &key)))
				n++;
			check(n == a.count && off == a.len);
		}
		break;
	}
	case MODE_CSTATS_RESP: {
		static struct sk_kv_class_stats a[SK_KV_CLASSES_MAX];
		int n = kv_dec_cstats_resp(p, len, a);

		rc = n < 0 ? n : 0;
		rc2 = kv_dec_cstats_resp(p, len, a);
		rc2 = rc2 < 0 ? rc2 : 0;
		if (n >= 0)
			check((size_t)n * sizeof(*a) == len &&
			      memcmp(a, p, len) == 0);
		break;
	}
	case MODE_CAS_RESP: {
		struct kv_cas_resp a;

		rc = kv_dec_cas_resp(p, len, &a);
		rc2 = kv_dec_cas_resp(p, len, &a);
		if (rc == 0)
			check(memcmp(&a, p, sizeof(a)) == 0);
		break;
	}
	case MODE_DELTA_RESP: {
		struct kv_delta_resp a;

		rc = kv_dec_delta_resp(p, len, &a);
		rc2 = kv_dec_delta_resp(p, len, &a);
		if (rc == 0)
			check(memcmp(&a, p, sizeof(a)) == 0);
		break;
	}
	}
	check(rc == 0 || rc == -EPROTO);
	check(rc == rc2);
	check((rc == 0) == want);
}

/* A desc answer, walked as the client walks it. */
static void run_desc_resp(const uint8_t *p, size_t len)
{
	struct kv_desc_hdr h;
	size_t off, prev;
	int rc;

	rc = kv_dec_desc_hdr(p, len, &h, &off);
	check(rc == 0 || rc == -EPROTO);
	check((rc == 0) == (len >= sizeof(h) && h.magic == KV_WIRE_MAGIC &&
			    (uint64_t)h.count * sizeof(struct kv_desc_ent) <=
			    len - sizeof(h)));
	if (rc)
		return;
	check(off == sizeof(h));
	for (uint32_t i = 0; i < h.count; i++) {
		struct kv_desc_ent e;
		struct sk_kv_view view, v2;
		const void *desc;

		prev = off;
		rc = kv_dec_desc_ent(p, len, &off, &e, &view, &desc);
		check(rc == 0 || rc == -EPROTO);
		if (rc) {
			check(off == prev);
			return;
		}
		check(off > prev && off <= len);
		check(memcmp(&e, p + prev, sizeof(e)) == 0);
		check(e.desc_len <= SK_BLOB_MAX);
		in_msg(desc, e.desc_len, p, len);
		check((const uint8_t *)desc == p + prev + sizeof(e));
		check(off == prev + sizeof(e) + ((e.desc_len + 7u) & ~7u));
		check(sk_kv_view_from_hdr(&e.hdr, sizeof(e.hdr), &v2) == SK_OK);
		check(v2.partition == e.partition &&
		      view.partition == e.partition &&
		      view.store_off == v2.store_off &&
		      view.store_size == v2.store_size);
	}
}

/* ---- sealing and taming, on the copy ---- */

static void seal(unsigned mode, uint8_t *p, size_t *len_p)
{
	size_t len = *len_p;

	switch (mode) {
	case MODE_KEY:
		if (len >= 8)
			u32_put(p, 0, (uint32_t)(len - 8));
		break;
	case MODE_STORE:
		/* A whole number of units; keep the key length the input
		 * gave, if it fits, and the value to the last 1..16 bytes
		 * (the rest is padding). */
		if (len >= 48) {
			uint32_t klen = p[28];

			len &= ~(size_t)15;
			if (klen > len - 33)
				klen = (uint32_t)(len - 33) & 0xff;
			p[28] = (uint8_t)klen;
			u32_put(p, 24, (uint32_t)(len - 32 - klen -
						  p[24] % 16 % (len - 32 - klen)));
			*len_p = len;
		}
		break;
	case MODE_DELETE:
		if (len >= 24)
			u32_put(p, 0, (uint32_t)(len - 24));
		break;
	case MODE_DELTA:
		if (len >= 24)
			u32_put(p, 4, (uint32_t)(len - 24));
		break;
	case MODE_TOUCH:
		if (len >= 24)
			u32_put(p, 4, (uint32_t)(len - 24));
		break;
	case MODE_HINT:
		if (len >= 8) {
			u32_put(p, 0, (uint32_t)((len - 8) / 8));
			*len_p = 8 + (len - 8) / 8 * 8;
		}
		break;
	case MODE_GET_RESP:
		if (len >= 32)
			u32_put(p, 4, (uint32_t)(len - 32));
		break;
	case MODE_DUMP_RESP:
		/* Whole entries (klen cut to what is left, 1 to 250),
		 * len and count to them. */
		if (len >= 16) {
			size_t off = 16;
			uint32_t n = 0;

			len = 16 + (len - 16 < 8128 ? len - 16 : 8128);
			while (len - off >= 24) {
				uint32_t k = u32_at(p, off + 8) % 250 + 1;
				size_t room = ((len - off) & ~(size_t)7) - 16;
				size_t next;

				if (k > room)
					k = (uint32_t)room;
				u32_put(p, off + 8, k);
				next = off + (16 + k + 7) / 8 * 8;
				memset(p + off + 16 + k, 0, next - off - 16 - k);
				off = next;
				n++;
			}
			*len_p = len = off;
			u32_put(p, 8, (uint32_t)(len - 16));
			u32_put(p, 12, n);
		}
		break;
	case MODE_CSTATS_RESP:
		/* Whole classes, 64 at most. */
		len -= len % 80;
		*len_p = len < 64 * 80 ? len : 64 * 80;
		break;
	case MODE_DESC_RESP:
		/* Each entry's desc_len to what is left, at most
		 * SK_BLOB_MAX, and the count to the entries there. */
		if (len >= sizeof(struct kv_desc_hdr)) {
			size_t off = sizeof(struct kv_desc_hdr);
			uint32_t n = 0;

			while (len - off >= sizeof(struct kv_desc_ent)) {
				size_t left = len - off -
					      sizeof(struct kv_desc_ent);
				uint32_t d = u32_at(p, off + 4);

				if (d > left)
					d = (uint32_t)left;
				if (d > SK_BLOB_MAX)
					d = SK_BLOB_MAX;
				if (((d + 7u) & ~7u) > left)
					d &= ~7u;
				u32_put(p, off + 4, d);
				off += sizeof(struct kv_desc_ent) +
				       ((d + 7u) & ~7u);
				n++;
			}
			u32_put(p, 12, n);
		}
		break;
	}
}

static void tame(unsigned mode, uint8_t *p, size_t len)
{
	switch (mode) {
	case MODE_KEY:
	case MODE_HINT:
	case MODE_DESC_REQ:
		if (len >= 8)
			u32_put(p, 4, 0);
		break;
	case MODE_DELETE:
		if (len >= 24) {
			uint32_t m = u32_at(p, 4) & 3;

			m = m ? m | 1 : 0;
			u32_put(p, 4, m);
			if (m != 3)
				u32_put(p, 16, 0);
			u32_put(p, 20, 0);
		}
		break;
	case MODE_GET_RESP:
		if (len >= 32) {
			u32_put(p, 20, u32_at(p, 20) & 15);
			u32_put(p, 28, 0);
		}
		break;
	case MODE_DELTA_RESP:
		if (len >= 24)
			u32_put(p, 20, u32_at(p, 20) & 1);
		break;
	case MODE_STORE:
		if (len >= 32) {
			p[29] = 0;
			p[30] = (uint8_t)(p[30] % 6);
			p[31] = p[30] == SK_KV_CAS ? p[31] & 1 : 0;
		}
		break;
	case MODE_DELTA:
		if (len >= 16)
			u32_put(p, 0, u32_at(p, 0) & 1);
		break;
	case MODE_TOUCH:
		if (len >= 24) {
			uint32_t m = u32_at(p, 8) & 63;

			if (!(m & 3))
				m |= 1;
			if (!(m & 16))
				m &= ~32u;
			u32_put(p, 8, m);
			if (!(m & 2))
				u32_put(p, 0, 0);
			if (!(m & 8))
				u32_put(p, 12, 0);
			if (!(m & 16))
				u32_put(p, 16, 0);
			u32_put(p, 20, 0);
		}
		break;
	case MODE_DUMP_REQ:
		if (len >= 16) {
			u32_put(p, 8, u32_at(p, 8) % 64);
			u32_put(p, 12, 512 + u32_at(p, 12) % (8128 - 511));
		}
		break;
	case MODE_DUMP_RESP:
		/* Each entry's reserved 0, its value within 1 MiB. */
		for (size_t off = 16; off + 16 <= len; off += 16) {
			u32_put(p, off, u32_at(p, off) % (1048576 + 1));
			u32_put(p, off + 12, 0);
		}
		break;
	case MODE_CSTATS_RESP:
		/* Each whole class adds up (items the rest of its chunks),
		 * its chunk size above the last one's. */
		for (size_t off = 0; off + 80 <= len; off += 80) {
			uint64_t v[10];

			memcpy(v, p + off, sizeof(v));
			v[0] = (off ? u64_at(p, off - 80) : 0) + 1 +
			       v[0] % 4096;
			v[1] %= 1ull << 40; /* so that + 1 cannot wrap */
			v[7] %= 1ull << 40;
			v[2] = v[1] ? v[2] % (v[1] + 1) : 0;
			v[3] = v[1] - v[2] ? v[3] % (v[1] - v[2] + 1) : 0;
			v[4] = v[1] - v[2] - v[3];
			v[8] = v[7] ? v[8] % (v[7] + 1) : 0;
			memcpy(p + off, v, sizeof(v));
		}
		break;
	case MODE_DESC_RESP:
		if (len >= sizeof(struct kv_desc_hdr)) {
			uint64_t magic = KV_WIRE_MAGIC;

			memcpy(p, &magic, sizeof(magic));
		}
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int byte = fuzz_take_mode(&data, &size);
	unsigned mode;
	uint8_t *p;
	size_t len = size;

	if (byte < 0)
		return 0;
	mode = (((unsigned)byte & 0xf) | ((unsigned)byte & MODE_HIGH) >> 2) %
	       MODE_COUNT;
	p = fuzz_dup(data, size);
	if (byte & MODE_TAME)
		tame(mode, p, len);
	if (byte & MODE_SEAL)
		seal(mode, p, &len);
	if (len != size) {
		/* A sealed hint drops its odd tail: an exact-size copy. */
		uint8_t *q = fuzz_dup(p, len);

		free(p);
		p = q;
	}
	if (mode == MODE_DESC_RESP)
		run_desc_resp(p, len);
	else
		run_request(mode, p, len);
	free(p);
	return 0;
}

/* ---- seeds ---- */

static void seed(const char *dir, const char *name, unsigned mode,
		 const void *h, size_t hlen, const void *body, size_t n)
{
	uint8_t *b = malloc(hlen + n + 1);

	check(b != NULL);
	memcpy(b, h, hlen);
	if (n)
		memcpy(b + hlen, body, n);
	fuzz_write_seed(dir, name, (int)mode, b, hlen + n);
	free(b);
}

static void write_seeds(const char *dir)
{
	struct kv_key_req k = {.klen = 5};
	struct kv_store_req s = {
		.op = SK_KV_APPEND, .flags = 7, .exptime = 100, .klen = 5,
		.vlen = 3, .cas = 9, .seal = 0x5ea1,
	};
	struct kv_delete_req dl = {.klen = 5, .cas = 77};
	struct kv_delete_req dli = {.klen = 5, .cas = 77, .exptime = 30,
				    .mode = KV_DELETE_STALE | KV_DELETE_TTL};
	struct kv_delta_req d = {.incr = 1, .klen = 5, .delta = 10, .cas = 3};
	struct kv_touch_req t = {.exptime = -1, .klen = 5,
				 .mode = KV_TOUCH_ANSWER | KV_TOUCH_TTL};
	struct kv_touch_req tn = {.vivify = 30, .klen = 5, .recache = 10,
				  .mode = KV_TOUCH_ANSWER | KV_TOUCH_WIN |
					  KV_TOUCH_VIVIFY | KV_TOUCH_RECACHE};
	struct kv_store_req si = {
		.op = SK_KV_CAS | KV_STORE_STALE, .flags = 7, .klen = 5,
		.vlen = 3, .cas = 9, .seal = 0x5ea1,
	};
	struct kv_hint_req hr = {.count = 2};
	uint64_t hashes[2] = {0x0123456789abcdefull, 0xfedcba9876543210ull};
	struct kv_desc_req dq = {.epoch = 1};
	struct kv_secret_req sq = {.partitions = 256, .epoch = 1};
	struct kv_secret_resp sa = {1, 2};
	struct kv_get_resp ga = {.flags = 3, .vlen = 5, .cas = 4,
				 .exptime = 60, .state = SK_KV_STATE_STALE |
						       SK_KV_STATE_WON,
				 .exptime_before = 30};
	struct kv_cas_resp ca = {.cas = 12};
	struct kv_dump_req dq2 = {.cursor = 3ull << 32 | 17, .cls = 2,
				  .max = 4096};
	/* next len count, then two entries (vlen exptime, klen reserved,
	 * cas, key): "key:1" and "k" */
	uint64_t dump[2 + 4 + 4] = {
		3ull << 32 | 99, 64ull | 2ull << 32,
		5ull | 0ull << 32, 5ull, 77ull, 0x313a79656bull,
		7ull | 100ull << 32, 1ull, 78ull, 'k',
	};
	struct sk_kv_class_stats cs[2] = {
		{.chunk_size = 48, .chunks = 10, .free = 2, .quarantined = 3,
		 .items = 5, .item_bytes = 240, .sets = 9, .evicted = 4,
		 .evicted_exp = 1, .expired = 2},
		{.chunk_size = 64, .chunks = 1, .items = 1, .item_bytes = 60,
		 .sets = 1},
	};
	struct kv_delta_resp da = {.value = 11, .cas = 13, .exptime = 99,
				   .grew = 1};
	struct kv_desc_hdr dh = {
		.magic = KV_WIRE_MAGIC, .epoch = 1, .count = 1, .unix_ns = 1,
	};
	struct kv_desc_ent de = {
		.partition = 3, .desc_len = 12, .base = 0x7f0000000000ull,
		.hdr = {
			.magic = SK_KV_MAGIC, .version = SK_KV_VERSION,
			.partition = 3, .epoch = 1, .owner_rank = 1,
			.nbuckets = 1024,
			.store_off = SK_KV_HDR_SIZE + 1024 * SK_KV_LINE,
			.store_size = (1u << 20) - SK_KV_HDR_SIZE -
				      1024 * SK_KV_LINE,
		},
	};
	uint8_t desc[sizeof(dh) + sizeof(de) + 16] = {0};
	char kv[] = "key:1abc";
	char zkv[16] = "key:1abc";

	seed(dir, "key", MODE_KEY, &k, sizeof(k), kv, 5);
	/* 32 + 5 + 3 padded to 48: the key, value and 8 zeros. */
	seed(dir, "store", MODE_STORE, &s, sizeof(s), zkv, 16);
	seed(dir, "store-sealed", MODE_STORE | MODE_SEAL, &s, sizeof(s), zkv,
	     16);
	seed(dir, "delete", MODE_DELETE, &dl, sizeof(dl), kv, 5);
	seed(dir, "delete-stale", MODE_DELETE, &dli, sizeof(dli), kv, 5);
	seed(dir, "store-stale", MODE_STORE, &si, sizeof(si), zkv, 16);
	seed(dir, "delta", MODE_DELTA, &d, sizeof(d), kv, 5);
	seed(dir, "touch", MODE_TOUCH, &t, sizeof(t), kv, 5);
	seed(dir, "touch-vivify", MODE_TOUCH, &tn, sizeof(tn), kv, 5);
	seed(dir, "hint", MODE_HINT, &hr, sizeof(hr), hashes,
	     sizeof(hashes));
	seed(dir, "hint-sealed", MODE_HINT | MODE_SEAL, &hr, sizeof(hr),
	     hashes, sizeof(hashes));
	seed(dir, "desc-req", MODE_DESC_REQ, &dq, sizeof(dq), NULL, 0);
	seed(dir, "secret-req", MODE_SECRET_REQ, &sq, sizeof(sq), NULL, 0);
	seed(dir, "secret-resp", MODE_SECRET_RESP, &sa, sizeof(sa), NULL, 0);
	seed(dir, "get-resp", MODE_GET_RESP, &ga, sizeof(ga), "hello", 5);
	seed(dir, "cas-resp", MODE_CAS_RESP, &ca, sizeof(ca), NULL, 0);
	seed(dir, "delta-resp", MODE_DELTA_RESP, &da, sizeof(da), NULL, 0);
	seed(dir, "cstats-resp", MODE_CSTATS_RESP, cs, sizeof(cs), NULL, 0);
	seed(dir, "dump-req", (MODE_DUMP_REQ & 0xf) | MODE_HIGH, &dq2,
	     sizeof(dq2), NULL, 0);
	seed(dir, "dump-resp", (MODE_DUMP_RESP & 0xf) | MODE_HIGH, dump,
	     sizeof(dump), NULL, 0);
	seed(dir, "cstats-resp-tame", MODE_CSTATS_RESP | MODE_TAME, cs,
	     sizeof(cs), NULL, 0);
	memcpy(desc, &dh, sizeof(dh));
	memcpy(desc + sizeof(dh), &de, sizeof(de));
	memset(desc + sizeof(dh) + sizeof(de), 0xab, 12);
	/* As it is, and sealed: sealing fixes every desc_len, so only the
	 * first lets a mutated one through. */
	seed(dir, "desc-resp", MODE_DESC_RESP, desc, sizeof(desc), NULL, 0);
	seed(dir, "desc-resp-sealed", MODE_DESC_RESP | MODE_SEAL, desc,
	     sizeof(desc), NULL, 0);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_seeds_if_asked(write_seeds);
	fuzz_quiet_unless_verbose();
	return 0;
}
