/*
 * kv client: first contact with an owner, and the blocking calls of kv.h,
 * each one request (req.c) posted and waited for, so that both APIs take
 * one path and answer alike.
 *
 * First contact with an owner (kv_owner_get): connect, then one
 * KV_RPC_DESC brings the descriptors of all its partitions, each checked
 * (sk_rkey_unpack on the owner's endpoint, the region header by
 * sk_kv_view_from_hdr, the partition one the map gives it) and its clock.
 * It blocks, serving the loop (sk_rpc_call_sync), inside the post of the
 * first GET to that owner; an update's first post only connects.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <skiff/os.h>

#include "kv_int.h"

/* ---- first contact ---- */

static void kv_owner_forget(struct sk_kv *kv, unsigned rank)
{
	struct kv_owner *o = &kv->owners[rank];

	/* Its requests in flight end first (their READs are lost). */
	kv_owner_fail(kv, rank);
	/*
	 * The peer failed and rpc destroys its endpoint. Its keys stay
	 * until a new contact replaces them or the close: a READ lost on
	 * that endpoint may still name them until it is gone, and a key may
	 * outlive its endpoint (sk_rkey_unpack).
	 */
	for (uint32_t p = 0; p < kv->nparts; p++)
		if (kv->parts[p].owner == rank)
			kv->parts[p].ready = 0;
	o->ready = 0;
	o->peer = NULL;
}

sk_status_t kv_rpc_status(int rc)
{
	switch (rc) {
	case -ECONNRESET: /* the owner failed */
	case -ESHUTDOWN:  /* its kv is closed */
		return SK_ERR_UNREACHABLE;
	case -ENOMEM:
		return SK_ERR_NOMEM;
	case -EINVAL:
		return SK_ERR_INVAL;
	default:
		return SK_ERR_IO;
	}
}

/* Take the owner's KV_RPC_DESC answer of @len bytes at @buf. */
static sk_status_t kv_owner_take(struct sk_kv *kv, unsigned rank,
				 struct sk_ep *ep, const char *buf, size_t len)
{
	struct kv_owner *o = &kv->owners[rank];
	struct kv_desc_hdr h;
	size_t off = sizeof(h);
	sk_status_t st;

	if (len < sizeof(h))
		return SK_ERR_MALFORMED;
	memcpy(&h, buf, sizeof(h));
	if (h.magic != KV_WIRE_MAGIC || h.epoch != kv->epoch ||
	    h.count != o->nowned)
		return SK_ERR_MALFORMED;
	for (uint32_t i = 0; i < h.count; i++) {
		struct kv_desc_ent e;
		struct kv_part *kp;
		struct sk_kv_view view;
		struct sk_rkey *rkey;

		if (len - off < sizeof(e))
			return SK_ERR_MALFORMED;
		memcpy(&e, buf + off, sizeof(e));
		off += sizeof(e);
		if (e.partition >= kv->nparts ||
		    kv->parts[e.partition].owner != rank ||
		    e.desc_len > SK_BLOB_MAX ||
		    len - off < ((e.desc_len + 7) & ~(size_t)7))
			return SK_ERR_MALFORMED;
		kp = &kv->parts[e.partition];
		if (sk_kv_view_from_hdr(&e.hdr, sizeof(e.hdr), &view) != 0 ||
		    view.partition != e.partition ||
		    e.hdr.epoch != kv->epoch)
			return SK_ERR_MALFORMED;
		st = sk_rkey_unpack(ep, buf + off, e.desc_len, &rkey);
		if (st != SK_OK)
			return st;
		off += (e.desc_len + 7) & ~(size_t)7;
		/* The key must cover the whole region the header claims,
		 * with read rights, at the base the owner named. */
		if (!(sk_rkey_access(rkey) & SK_ACCESS_REMOTE_READ) ||
		    sk_rkey_addr(rkey) != e.base ||
		    sk_rkey_len(rkey) < view.store_off + view.store_size) {
			sk_rkey_destroy(rkey);
			return SK_ERR_MALFORMED;
		}
		if (kp->rkey)
			sk_rkey_destroy(kp->rkey);
		view.epoch = kv->epoch;
		kp->view = view;
		kp->rkey = rkey;
		kp->base = e.base;
		kp->ready = 1;
	}
	o->unix_ns = h.unix_ns;
	o->mono_ns = kv_mono_ns();
	o->ready = 1;
	return SK_OK;
}

/* The owner @rank, connected, or a status. */
sk_status_t kv_owner_connect(struct sk_kv *kv, unsigned rank,
			     struct kv_owner **o_p)
{
	struct kv_owner *o = &kv->owners[rank];

	if (o->peer && sk_rpc_peer_failed(o->peer))
		kv_owner_forget(kv, rank);
	if (o->peer == NULL) {
		sk_status_t st = sk_rpc_connect(kv->rpc, rank, -1, &o->peer);

		if (st != SK_OK) {
			o->peer = NULL;
			return SK_ERR_UNREACHABLE;
		}
	}
	*o_p = o;
	return SK_OK;
}

/* The owner @rank, connected and with its descriptors, or a status. */
sk_status_t kv_owner_get(struct sk_kv *kv, unsigned rank,
				struct kv_owner **o_p)
{
	struct kv_owner *o = &kv->owners[rank];
	struct kv_desc_req q = {.epoch = kv->epoch};
	size_t cap, got = 0;
	struct sk_ep *ep;
	sk_status_t st;
	char *buf;
	int rc;

	if (o->peer && sk_rpc_peer_failed(o->peer))
		kv_owner_forget(kv, rank);
	if (o->ready) {
		*o_p = o;
		return SK_OK;
	}
	if (o->peer == NULL) {
		st = sk_rpc_connect(kv->rpc, rank, -1, &o->peer);
		if (st != SK_OK) {
			o->peer = NULL;
			return st == SK_ERR_INVAL ? st : SK_ERR_UNREACHABLE;
		}
	}
	cap = sizeof(struct kv_desc_hdr) +
	      (size_t)o->nowned * (sizeof(struct kv_desc_ent) + SK_BLOB_MAX);
	if (cap > SK_RPC_MSG_MAX)
		return SK_ERR_NOMEM; /* ~900 partitions per owner: not yet */
	buf = malloc(cap);
	if (buf == NULL)
		return SK_ERR_NOMEM;
	rc = sk_rpc_call_sync(o->peer, KV_RPC_DESC, &q, sizeof(q), buf, cap,
			      &got);
	if (rc != 0) {
		free(buf);
		if (rc == -ECONNRESET)
			kv_owner_forget(kv, rank);
		return kv_rpc_status(rc);
	}
	ep = sk_rpc_peer_ep(o->peer);
	st = ep ? kv_owner_take(kv, rank, ep, buf, got) : SK_ERR_UNREACHABLE;
	free(buf);
	if (st != SK_OK) {
		fprintf(stderr, "skiff: kv: rank %u: rank %u's partition "
			"descriptors refused: %s\n", kv->rank, rank,
			sk_status_str(st));
		return st;
	}
	*o_p = o;
	return SK_OK;
}

/* ---- the blocking calls ---- */

/* Post @r, wait for it; its status. */
static sk_status_t kv_call(struct sk_kv *kv, struct sk_kv_req *r)
{
	sk_status_t st = sk_kv_post(kv, r);

	if (st == SK_OK)
		st = kv_wait(kv, r, 1);
	return st == SK_OK ? r->status : st;
}

static void kv_get_out(const struct sk_kv_req *r, size_t *vlen_p,
		       uint32_t *flags_p, uint64_t *cas_p)
{
	if (r->res != SK_KV_OK)
		return;
	if (vlen_p)
		*vlen_p = r->vlen;
	if (flags_p)
		*flags_p = r->flags;
	if (cas_p)
		*cas_p = r->cas;
}

sk_status_t sk_kv_get(struct sk_kv *kv, const void *key, size_t klen,
		      void *buf, size_t cap, size_t *vlen_p,
		      uint32_t *flags_p, uint64_t *cas_p,
		      enum sk_kv_res *res_p)
{
	struct sk_kv_req r = {
		.cmd = SK_KV_CMD_GET, .key = key, .klen = klen,
		.buf = buf, .cap = cap,
	};
	sk_status_t st;

	if (res_p == NULL)
		return SK_ERR_INVAL;
	st = kv_call(kv, &r);
	if (st != SK_OK)
		return st;
	*res_p = r.res;
	kv_get_out(&r, vlen_p, flags_p, cas_p);
	return SK_OK;
}

sk_status_t sk_kv_gat(struct sk_kv *kv, const void *key, size_t klen,
		      int32_t exptime, void *buf, size_t cap, size_t *vlen_p,
		      uint32_t *flags_p, uint64_t *cas_p,
		      enum sk_kv_res *res_p)
{
	struct sk_kv_req r = {
		.cmd = SK_KV_CMD_GAT, .key = key, .klen = klen,
		.buf = buf, .cap = cap, .exptime = exptime,
	};
	sk_status_t st;

	if (res_p == NULL)
		return SK_ERR_INVAL;
	st = kv_call(kv, &r);
	if (st != SK_OK)
		return st;
	*res_p = r.res;
	kv_get_out(&r, vlen_p, flags_p, cas_p);
	return SK_OK;
}

sk_status_t sk_kv_store(struct sk_kv *kv, enum sk_kv_op op, const void *key,
			size_t klen, const void *value, size_t vlen,
			uint32_t flags, int32_t exptime, uint64_t cas,
			uint64_t *cas_p, enum sk_kv_res *res_p)
{
	struct sk_kv_req r = {
		.cmd = SK_KV_CMD_STORE, .op = op, .key = key, .klen = klen,
		.value = value, .vlen = vlen, .flags = flags,
		.exptime = exptime, .cas = cas,
	};
	sk_status_t st;

	if (res_p == NULL)
		return SK_ERR_INVAL;
	st = kv_call(kv, &r);
	if (st != SK_OK)
		return st;
	*res_p = r.res;
	if (r.res == SK_KV_STORED && cas_p)
		*cas_p = r.cas;
	return SK_OK;
}

sk_status_t sk_kv_set(struct sk_kv *kv, const void *key, size_t klen,
		      const void *value, size_t vlen, uint32_t flags,
		      int32_t exptime, enum sk_kv_res *res_p)
{
	return sk_kv_store(kv, SK_KV_SET, key, klen, value, vlen, flags,
			   exptime, 0, NULL, res_p);
}

/* incr, decr: @cmd. */
static sk_status_t kv_delta(struct sk_kv *kv, enum sk_kv_cmd cmd,
			    const void *key, size_t klen, uint64_t delta,
			    uint64_t *value_p, enum sk_kv_res *res_p)
{
	struct sk_kv_req r = {
		.cmd = cmd, .key = key, .klen = klen, .delta = delta,
	};
	sk_status_t st;

	if (res_p == NULL)
		return SK_ERR_INVAL;
	st = kv_call(kv, &r);
	if (st != SK_OK)
		return st;
	*res_p = r.res;
	if (r.res == SK_KV_OK && value_p)
		*value_p = r.number;
	return SK_OK;
}

sk_status_t sk_kv_incr(struct sk_kv *kv, const void *key, size_t klen,
		       uint64_t delta, uint64_t *value_p,
		       enum sk_kv_res *res_p)
{
	return kv_delta(kv, SK_KV_CMD_INCR, key, klen, delta, value_p, res_p);
}

sk_status_t sk_kv_decr(struct sk_kv *kv, const void *key, size_t klen,
		       uint64_t delta, uint64_t *value_p,
		       enum sk_kv_res *res_p)
{
	return kv_delta(kv, SK_KV_CMD_DECR, key, klen, delta, value_p, res_p);
}

/* touch, delete: a key and an answer. */
static sk_status_t kv_keyed(struct sk_kv *kv, enum sk_kv_cmd cmd,
			    const void *key, size_t klen, int32_t exptime,
			    enum sk_kv_res *res_p)
{
	struct sk_kv_req r = {
		.cmd = cmd, .key = key, .klen = klen, .exptime = exptime,
	};
	sk_status_t st;

	if (res_p == NULL)
		return SK_ERR_INVAL;
	st = kv_call(kv, &r);
	if (st == SK_OK)
		*res_p = r.res;
	return st;
}

sk_status_t sk_kv_touch(struct sk_kv *kv, const void *key, size_t klen,
			int32_t exptime, enum sk_kv_res *res_p)
{
	return kv_keyed(kv, SK_KV_CMD_TOUCH, key, klen, exptime, res_p);
}

sk_status_t sk_kv_delete(struct sk_kv *kv, const void *key, size_t klen,
			 enum sk_kv_res *res_p)
{
	return kv_keyed(kv, SK_KV_CMD_DELETE, key, klen, 0, res_p);
}
