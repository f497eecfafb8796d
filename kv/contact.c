/*
 * kv contact: first contact with an owner (kv_owner_get): connect, then
 * one KV_RPC_DESC brings the descriptors of all its partitions, each
 * checked (sk_rkey_unpack on the owner's endpoint, the region header by
 * sk_kv_view_from_hdr, the partition one the map gives it) and its clock.
 * It blocks, serving the loop (sk_rpc_call_sync), inside the post of the
 * first GET to that owner; an update's first post only connects. And
 * forgetting an owner whose peer failed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <skiff/os.h>

#include "req.h"

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
		kp->direct = kv->get_direct ? sk_rkey_ptr(rkey, e.base) : NULL;
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

