/*
 * kv's decoders of a peer's bytes: every kv rpc message (kv_int.h's
 * formats), requests as the handlers take them and responses as the
 * client takes them. Each is a pure function of (bytes, length): no node
 * state, no fabric, no clock, so that tests/kv/fuzz_owner.c runs them on
 * anything and tests/kv/test_wire.c holds them to every limit.
 *
 * Each returns 0 and fills its result, whose pointers point into the
 * bytes given, or -EPROTO (what a handler answers to a malformed request)
 * and leaves it unspecified. They check the message itself: lengths that
 * add up exactly, every limit, known values in every enumerated field,
 * zeros in reserved ones, keys of 1 to SK_KV_KEY_MAX bytes. What depends
 * on the node (its epoch, whether it owns the key's partition, its map,
 * the table's key rule: kv_key_ok) is the caller's.
 */
#ifndef SK_KV_WIRE_H
#define SK_KV_WIRE_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kv_int.h"

#pragma GCC visibility push(hidden) /* kv's own (kv_int.h) */

/* KV_RPC_GET: struct kv_key_req, reserved 0, then exactly klen bytes of
 * a valid key. */
struct kv_key_msg {
	const char *key;
	uint32_t klen;
};
int kv_dec_key(const void *data, size_t len, struct kv_key_msg *m);

/* KV_RPC_DELETE: struct kv_delete_req, reserved 0, mode 0 or
 * KV_DELETE_STALE with or without KV_DELETE_TTL, exptime 0 without the
 * latter, then exactly klen bytes of a valid key. */
struct kv_delete_msg {
	uint32_t mode;        /* KV_DELETE_* */
	int32_t exptime;
	uint64_t cas;
	const char *key;
	uint32_t klen;
};
int kv_dec_delete(const void *data, size_t len, struct kv_delete_msg *m);

/* KV_RPC_STORE (kv_int.h): op a known enum sk_kv_op (KV_STORE_STALE
 * only with SK_KV_CAS), kind 0, a valid
 * key, vlen at most SK_KV_VALUE_MAX (a client answers SK_KV_ETOOLARGE
 * itself, before sending), and exactly sk_kv_item_size(klen, vlen) bytes
 * in all. The seal and the padding are the client's word: the owner
 * stores them, and a wrong one fails only the GETs of this key. */
struct kv_store_msg {
	enum sk_kv_op op;
	bool stale;           /* KV_STORE_STALE */
	uint32_t flags;
	int32_t exptime;
	uint64_t cas;
	const char *key;
	uint32_t klen;
	const char *value;
	uint32_t vlen;
	const void *img;      /* the item, sealed: sk_kv_part_put's */
	uint32_t img_len;
};
/* Inline: every SET's first step. */
static inline int kv_dec_store(const void *data, size_t len,
			       struct kv_store_msg *m)
{
	const char *p = data;
	struct kv_store_req q;

	if (len < sizeof(q))
		return -EPROTO;
	memcpy(&q, p, sizeof(q));
	/* The lengths first, so that the key check stays inside the
	 * message. */
	if ((q.op & ~KV_STORE_STALE) > SK_KV_CAS ||
	    ((q.op & KV_STORE_STALE) && q.op != (SK_KV_CAS | KV_STORE_STALE)) ||
	    q.kind ||
	    !sk_kv_key_len_ok(q.klen) ||
	    q.vlen > SK_KV_VALUE_MAX ||
	    sk_kv_item_size(q.klen, q.vlen) != len)
		return -EPROTO;
	m->op = (enum sk_kv_op)(q.op & ~KV_STORE_STALE);
	m->stale = (q.op & KV_STORE_STALE) != 0;
	m->flags = q.flags;
	m->exptime = q.exptime;
	m->cas = q.cas;
	m->key = p + sizeof(q);
	m->klen = q.klen;
	m->value = p + sizeof(q) + q.klen;
	m->vlen = q.vlen;
	m->img = data;
	m->img_len = (uint32_t)len;
	return 0;
}

/* KV_RPC_DELTA: incr 0 or 1, then exactly klen bytes of a valid key. */
struct kv_delta_msg {
	bool incr;
	uint64_t delta;
	uint64_t cas;
	const char *key;
	uint32_t klen;
};
int kv_dec_delta(const void *data, size_t len, struct kv_delta_msg *m);

/* KV_RPC_TOUCH: mode KV_TOUCH_* bits with TTL or ANSWER among them
 * (RECACHE_OLD only with RECACHE), exptime 0 without TTL, vivify 0
 * without VIVIFY, recache 0 without RECACHE, reserved 0, then exactly
 * klen bytes of a valid key. */
struct kv_touch_msg {
	int32_t exptime;
	uint32_t mode;
	int32_t vivify;
	int32_t recache;
	const char *key;
	uint32_t klen;
};
int kv_dec_touch(const void *data, size_t len, struct kv_touch_msg *m);

/* KV_RPC_HINT: reserved 0, count up to KV_HINT_MAX (0 is allowed: a
 * hint of nothing), then exactly count 8-byte key hashes, read with
 * kv_hint_hash (they need not be aligned). */
struct kv_hint_msg {
	uint32_t count;
	const uint8_t *hashes;
};
int kv_dec_hint(const void *data, size_t len, struct kv_hint_msg *m);

static inline uint64_t kv_hint_hash(const struct kv_hint_msg *m, uint32_t i)
{
	uint64_t h;

	memcpy(&h, m->hashes + (size_t)i * sizeof(h), sizeof(h));
	return h;
}

/* KV_RPC_DESC's request: exactly struct kv_desc_req, reserved 0. */
/* KV_RPC_FLUSH: exactly struct kv_flush_req, reserved 0. KV_RPC_OSTATS:
 * empty; its answer exactly struct sk_kv_owner_stats, reserved 0. */
int kv_dec_flush_req(const void *data, size_t len, struct kv_flush_req *q);
int kv_dec_ostats_resp(const void *data, size_t len,
		       struct sk_kv_owner_stats *a);
int kv_dec_desc_req(const void *data, size_t len, struct kv_desc_req *q);
/* KV_RPC_CSTATS: empty; its answer 0 (an owner of no partition) to
 * SK_KV_CLASSES_MAX struct
 * sk_kv_class_stats, whole, each self-consistent (its chunks add up, its
 * evictions with an expiry within its evictions) and each chunk larger
 * than the one before. -> the count, or -EPROTO. @cls holds
 * SK_KV_CLASSES_MAX. */
int kv_dec_cstats_resp(const void *data, size_t len,
		       struct sk_kv_class_stats *cls);
/* KV_RPC_DUMP's request: exactly struct kv_dump_req, cls below
 * SK_KV_CLASSES_MAX, max from SK_KV_DUMP_MIN to KV_DUMP_MAX. */
int kv_dec_dump_req(const void *data, size_t len, struct kv_dump_req *q);
/* Its answer: struct kv_dump_resp, then exactly len bytes of count
 * entries, each a key of 1 to 250 bytes, a value of at most
 * SK_KV_VALUE_MAX, reserved and padding 0 (sk_kv_dump_next walks
 * them). *@ents_p: the entries. */
int kv_dec_dump_resp(const void *data, size_t len, struct kv_dump_resp *a,
		     const void **ents_p);

/* KV_RPC_SECRET's request: exactly struct kv_secret_req. */
int kv_dec_secret_req(const void *data, size_t len, struct kv_secret_req *q);

/* ---- responses, as the client takes them ---- */

/* KV_RPC_SECRET's answer: exactly struct kv_secret_resp. */
int kv_dec_secret_resp(const void *data, size_t len,
		       struct kv_secret_resp *a);

/* The SK_KV_OK answer of KV_RPC_GET and of a gat (KV_RPC_TOUCH): struct
 * kv_get_resp, state only SK_KV_STATE_* bits, then exactly vlen (<=
 * SK_KV_VALUE_MAX) bytes, at *value_p. */
int kv_dec_get_resp(const void *data, size_t len, struct kv_get_resp *a,
		    const char **value_p);

/* KV_RPC_STORE's SK_KV_STORED answer: exactly struct kv_cas_resp. */
int kv_dec_cas_resp(const void *data, size_t len, struct kv_cas_resp *a);

/* KV_RPC_DELTA's SK_KV_OK answer: exactly struct kv_delta_resp, grew 0
 * or 1. */
int kv_dec_delta_resp(const void *data, size_t len,
		      struct kv_delta_resp *a);

/*
 * KV_RPC_DESC's answer: kv_dec_desc_hdr checks the header (magic, and a
 * count of entries the length can hold at the least) and returns the
 * offset of the first entry in *off_p; kv_dec_desc_ent then takes the
 * entry at *off_p and moves *off_p past it (and its descriptor's padding
 * to 8). An entry is whole, its desc_len at most SK_BLOB_MAX, and its
 * region header passes sk_kv_view_from_hdr for the entry's own partition
 * (*view_p, whose epoch is the header's). The descriptor's bytes are at
 * *desc_p, for sk_rkey_unpack. Whether the epoch, count and partitions
 * are the ones the caller's map expects is the caller's to check.
 */
int kv_dec_desc_hdr(const void *data, size_t len, struct kv_desc_hdr *h,
		    size_t *off_p);
int kv_dec_desc_ent(const void *data, size_t len, size_t *off_p,
		    struct kv_desc_ent *e, struct sk_kv_view *view_p,
		    const void **desc_p);

#pragma GCC visibility pop

#endif
