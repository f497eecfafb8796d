/*
 * kv owner: this node's partitions. Each lives in a region of the node's
 * arena registered with SK_ACCESS_REMOTE_READ only (no peer can write
 * it), laid out and written by kv/store.c; the decisions are kv/sem.c's.
 * The same functions answer the node's own calls (in place) and the rpcs
 * of other nodes (the handlers here), so the two paths cannot disagree.
 *
 * Clocks: the store's now_ns is CLOCK_MONOTONIC (quarantine ages); expiry
 * is in Unix seconds of this node's CLOCK_REALTIME, which readers estimate
 * from the value sent in KV_RPC_DESC.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <skiff/os.h>

#include "kv_int.h"

uint64_t kv_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

uint64_t kv_unix_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

sk_status_t kv_own_init(struct sk_kv *kv)
{
	struct sk_kv_part_cfg cfg = {
		.epoch = kv->epoch,
		.owner_rank = kv->rank,
		.nbuckets = kv->buckets,
		.hkey = kv->hkey,
		.quarantine_ns = kv->quarantine_ns,
		/* kv/README.md, "When full"; NULL: memcached -M. */
		.evict = kv->evict ? sk_kv_part_evict_clock : NULL,
	};
	sk_status_t st;

	for (uint32_t p = 0; p < kv->nparts; p++) {
		struct kv_part *kp = &kv->parts[p];

		if (kp->owner != kv->rank)
			continue;
		st = sk_arena_region(kv->arena, kv->part_bytes,
				     SK_ACCESS_REMOTE_READ, &kp->region);
		if (st != SK_OK) {
			fprintf(stderr, "skiff: kv: rank %u: no arena room for "
				"partition %u (%zu bytes): %s\n", kv->rank, p,
				kv->part_bytes, sk_status_str(st));
			return st;
		}
		cfg.partition = p;
		st = sk_kv_part_init(kp->region.base, kp->region.size, &cfg,
				     &kp->part);
		if (st != SK_OK) {
			sk_arena_region_release(kv->arena, &kp->region);
			kp->region.mr = NULL;
			return st;
		}
	}
	return SK_OK;
}

void kv_own_cleanup(struct sk_kv *kv)
{
	for (uint32_t p = 0; p < kv->nparts; p++) {
		struct kv_part *kp = &kv->parts[p];

		if (kp->part) {
			sk_kv_part_cleanup(kp->part);
			kp->part = NULL;
		}
		if (kp->region.mr) {
			sk_arena_region_release(kv->arena, &kp->region);
			kp->region.mr = NULL;
		}
	}
}

enum sk_kv_res kv_own_get(struct sk_kv *kv, struct kv_part *kp,
			  const void *key, size_t klen,
			  struct sk_kv_item_view *item_p)
{
	uint64_t now = kv_unix_ns() / 1000000000ull;

	(void)kv;
	if (sk_kv_part_lookup(kp->part, key, klen, item_p) != 0)
		return SK_KV_NOT_FOUND;
	if (sk_kv_expired(item_p->exptime, now))
		return SK_KV_NOT_FOUND;
	return SK_KV_OK;
}

enum sk_kv_res kv_own_store(struct sk_kv *kv, struct kv_part *kp,
			    enum sk_kv_op op, const void *key, size_t klen,
			    const void *value, size_t vlen, uint32_t flags,
			    int32_t exptime, uint64_t cas, uint64_t *cas_p)
{
	uint64_t now = kv_unix_ns() / 1000000000ull;
	struct sk_kv_meta cur, req, out;
	struct sk_kv_item_view iv;
	const struct sk_kv_meta *curp = NULL;
	const void *a = value, *b = NULL;
	size_t alen = vlen, blen = 0;
	enum sk_kv_res r;
	int st;

	(void)kv;
	if (!sk_kv_value_ok(vlen))
		return SK_KV_ETOOLARGE;
	if (sk_kv_part_lookup(kp->part, key, klen, &iv) == 0 &&
	    !sk_kv_expired(iv.exptime, now)) {
		cur.flags = iv.flags;
		cur.exp = iv.exptime;
		cur.cas = iv.cas;
		curp = &cur;
	}
	req.flags = flags;
	req.exp = sk_kv_exptime_abs(exptime, now);
	req.cas = cas;
	r = sk_kv_store_decide(op, curp, curp ? iv.vlen : 0, &req, vlen, &out);
	if (r != SK_KV_STORED)
		return r;
	/* The joined value: the old bytes stay in the region (the old item
	 * is only retired by the set) while the new item is built. */
	if (op == SK_KV_APPEND) {
		a = iv.value, alen = iv.vlen;
		b = value, blen = vlen;
	} else if (op == SK_KV_PREPEND) {
		b = iv.value, blen = iv.vlen;
	}
	/* Absolute expiries fit 32 bits until 2106; the store's field. */
	if (out.exp > UINT32_MAX)
		out.exp = UINT32_MAX;
	st = sk_kv_part_set(kp->part, key, klen, a, alen, b, blen, out.flags,
			    (uint32_t)out.exp, kv_mono_ns(), cas_p);
	switch (st) {
	case 0:
		return SK_KV_STORED;
	case SK_ERR_INVAL:
		return SK_KV_ETOOLARGE;
	default:
		/* Full pair, no chunk, or too much in quarantine: no
		 * eviction yet, so memcached -M's answer. */
		return SK_KV_ENOMEM;
	}
}

enum sk_kv_res kv_own_delete(struct sk_kv *kv, struct kv_part *kp,
			     const void *key, size_t klen)
{
	uint64_t now = kv_unix_ns() / 1000000000ull;
	struct sk_kv_item_view iv;
	int live;

	(void)kv;
	if (sk_kv_part_lookup(kp->part, key, klen, &iv) != 0)
		return SK_KV_NOT_FOUND;
	live = !sk_kv_expired(iv.exptime, now);
	/* An expired item goes too, but memcached answers NOT_FOUND. */
	if (sk_kv_part_delete(kp->part, key, klen, kv_mono_ns()) != 0)
		return SK_KV_NOT_FOUND;
	return live ? SK_KV_DELETED : SK_KV_NOT_FOUND;
}

/* ---- the handlers: bytes from a peer, checked before use ---- */

/* The partition of a key in a request, if this node owns it; NULL for a
 * key that is not this node's (a peer with another map). */
static struct kv_part *kv_req_part(struct sk_kv *kv, const void *key,
				   size_t klen)
{
	struct kv_part *kp = kv_part_of(kv, key, klen);

	return kp->part ? kp : NULL;
}

void kv_h_desc(struct sk_rpc_req *req, void *arg)
{
	struct sk_kv *kv = arg;
	struct kv_desc_req q;
	struct kv_desc_hdr *h;
	const void *data;
	size_t len, cap, off;
	uint32_t count = 0;
	char *out;

	data = sk_rpc_req_data(req, &len);
	if (len != sizeof(q)) {
		sk_rpc_respond(req, -EPROTO, 0);
		return;
	}
	memcpy(&q, data, sizeof(q));
	if (!kv->ready || q.epoch != kv->epoch) {
		sk_rpc_respond(req, kv->ready ? -ESTALE : -EAGAIN, 0);
		return;
	}
	cap = sizeof(*h);
	for (uint32_t p = 0; p < kv->nparts; p++)
		if (kv->parts[p].part)
			cap += sizeof(struct kv_desc_ent) + SK_BLOB_MAX;
	out = sk_rpc_resp_buf(req, cap);
	if (out == NULL) {
		sk_rpc_respond(req, -EMSGSIZE, 0);
		return;
	}
	off = sizeof(*h);
	for (uint32_t p = 0; p < kv->nparts; p++) {
		struct kv_part *kp = &kv->parts[p];
		struct kv_desc_ent e;
		size_t dlen = SK_BLOB_MAX;

		if (kp->part == NULL)
			continue;
		if (sk_mr_pack(kp->region.mr, out + off + sizeof(e),
			       &dlen) != SK_OK) {
			sk_rpc_respond(req, -EIO, 0);
			return;
		}
		memset(&e, 0, sizeof(e));
		e.partition = p;
		e.desc_len = (uint32_t)dlen;
		e.base = (uintptr_t)kp->region.base;
		memcpy(&e.hdr, kp->region.base, sizeof(e.hdr));
		memcpy(out + off, &e, sizeof(e));
		off += sizeof(e) + ((dlen + 7) & ~(size_t)7);
		count++;
	}
	h = (struct kv_desc_hdr *)out;
	h->magic = KV_WIRE_MAGIC;
	h->epoch = kv->epoch;
	h->count = count;
	h->unix_ns = kv_unix_ns();
	sk_rpc_respond(req, 0, off);
}

/*
 * The key of a get or delete request (struct kv_key_req, then the key) and
 * its partition, which must be this node's. On a bad request (-EPROTO) or
 * a key this node does not own (-ESTALE) the request is answered here and
 * false returned.
 */
static bool kv_key_req_take(struct sk_kv *kv, struct sk_rpc_req *req,
			    const char **key_p, uint32_t *klen_p,
			    struct kv_part **kp_p)
{
	struct kv_key_req q;
	const char *data;
	size_t len;

	data = sk_rpc_req_data(req, &len);
	if (len < sizeof(q)) {
		sk_rpc_respond(req, -EPROTO, 0);
		return false;
	}
	memcpy(&q, data, sizeof(q));
	if (q.klen != len - sizeof(q) ||
	    !sk_kv_key_ok(data + sizeof(q), q.klen)) {
		sk_rpc_respond(req, -EPROTO, 0);
		return false;
	}
	if (!kv->ready ||
	    (*kp_p = kv_req_part(kv, data + sizeof(q), q.klen)) == NULL) {
		sk_rpc_respond(req, -ESTALE, 0);
		return false;
	}
	*key_p = data + sizeof(q);
	*klen_p = q.klen;
	return true;
}

void kv_h_get(struct sk_rpc_req *req, void *arg)
{
	struct sk_kv *kv = arg;
	struct sk_kv_item_view iv;
	struct kv_get_resp *a;
	struct kv_part *kp;
	const char *key;
	enum sk_kv_res r;
	uint32_t klen;

	if (!kv_key_req_take(kv, req, &key, &klen, &kp))
		return;
	r = kv_own_get(kv, kp, key, klen, &iv);
	if (r != SK_KV_OK) {
		sk_rpc_respond(req, r, 0);
		return;
	}
	a = sk_rpc_resp_buf(req, sizeof(*a) + iv.vlen);
	if (a == NULL) {
		/* The caller's buffer cannot take it. */
		sk_rpc_respond(req, -EMSGSIZE, 0);
		return;
	}
	a->flags = iv.flags;
	a->vlen = iv.vlen;
	a->cas = iv.cas;
	memcpy(a + 1, iv.value, iv.vlen);
	sk_rpc_respond(req, SK_KV_OK, sizeof(*a) + iv.vlen);
}

void kv_h_store(struct sk_rpc_req *req, void *arg)
{
	struct sk_kv *kv = arg;
	struct kv_store_req q;
	struct kv_cas_resp *a;
	struct kv_part *kp;
	const char *data, *key;
	enum sk_kv_res r;
	uint64_t cas = 0;
	size_t len;

	data = sk_rpc_req_data(req, &len);
	if (len < sizeof(q)) {
		sk_rpc_respond(req, -EPROTO, 0);
		return;
	}
	memcpy(&q, data, sizeof(q));
	key = data + sizeof(q);
	if (q.op > SK_KV_CAS || q.reserved || q.klen > SK_KV_KEY_MAX ||
	    (uint64_t)q.klen + q.vlen != len - sizeof(q) ||
	    !sk_kv_key_ok(key, q.klen)) {
		sk_rpc_respond(req, -EPROTO, 0);
		return;
	}
	if (!kv->ready || (kp = kv_req_part(kv, key, q.klen)) == NULL) {
		sk_rpc_respond(req, -ESTALE, 0);
		return;
	}
	r = kv_own_store(kv, kp, q.op, key, q.klen, key + q.klen, q.vlen,
			 q.flags, q.exptime, q.cas, &cas);
	if (r != SK_KV_STORED || (a = sk_rpc_resp_buf(req, sizeof(*a))) == NULL) {
		sk_rpc_respond(req, r, 0);
		return;
	}
	a->cas = cas;
	sk_rpc_respond(req, r, sizeof(*a));
}

void kv_h_delete(struct sk_rpc_req *req, void *arg)
{
	struct sk_kv *kv = arg;
	struct kv_part *kp;
	const char *key;
	uint32_t klen;

	if (!kv_key_req_take(kv, req, &key, &klen, &kp))
		return;
	sk_rpc_respond(req, kv_own_delete(kv, kp, key, klen), 0);
}
