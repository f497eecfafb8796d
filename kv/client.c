/*
 * kv client: the calls of kv.h. A key owned here is served in place
 * (owner.c); elsewhere a GET READs the owner's region and an update is an
 * rpc to it.
 *
 * First contact with an owner (kv_owner_get): connect, then one
 * KV_RPC_DESC brings the descriptors of all its partitions, each checked
 * (sk_rkey_unpack on the owner's endpoint, the region header by
 * sk_kv_view_from_hdr, the partition one the map gives it) and its clock.
 *
 * The one-sided GET (kv_get_onesided) follows kv/README.md, "The reader":
 * READ the pair, pick, READ a candidate, check; a GET slower than the lease
 * or a check that fails is tried again, KV_READ_TRIES times in all, and
 * then asked of the owner by rpc. One READ is outstanding at a time, on
 * rpc's endpoint to the owner (rpc.h, sk_rpc_peer_ep: SK_ERR_AGAIN means
 * run the loop once and retry).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <skiff/os.h>

#include "kv_int.h"

/* ---- waiting for one READ ---- */

static void kv_read_done(struct sk_op *op, const struct sk_wc *wc)
{
	struct kv_read *rd = (struct kv_read *)op;

	rd->status = wc->status;
	rd->done = 1;
	rd->lost = 0;
}

/*
 * READ @len bytes at @off of @kp's region into the read buffer at @loff,
 * and wait for it, serving the loop. When the owner fails, rpc flushes its
 * endpoint, but on ucx an operation UCX holds past the liveness bound is
 * dropped with the endpoint, without a completion (rpc/core.c). So the
 * wait ends when the peer fails; the READ is then lost (rd.lost): the
 * buffer and rd stay its until it completes, if ever, and GETs go by rpc
 * meanwhile.
 */
static sk_status_t kv_read(struct sk_kv *kv, struct kv_owner *o,
			   struct sk_ep *ep, struct kv_part *kp, uint64_t off,
			   size_t len, size_t loff)
{
	sk_status_t st;

	kv->rd.op.done = kv_read_done;
	kv->rd.done = 0;
	for (;;) {
		st = sk_post_read(ep, kv->rbuf.mr, kv->rbuf.base + loff, len,
				  kp->rkey, kp->base + off, 0, &kv->rd.op);
		if (st != SK_ERR_AGAIN)
			break;
		if (sk_loop_run_once(kv->loop, 0) < 0)
			return SK_ERR_IO;
	}
	if (st != SK_OK)
		return st;
	while (!kv->rd.done) {
		if (sk_rpc_peer_failed(o->peer)) {
			kv->rd.lost = 1;
			return SK_ERR_UNREACHABLE;
		}
		if (sk_loop_run_once(kv->loop, -1) < 0 && !kv->rd.done) {
			kv->rd.lost = 1;
			return SK_ERR_IO;
		}
	}
	return kv->rd.status;
}

/* ---- first contact ---- */

static void kv_owner_forget(struct sk_kv *kv, unsigned rank)
{
	struct kv_owner *o = &kv->owners[rank];

	/*
	 * The peer failed: rpc destroys its endpoint, with which the keys
	 * unpacked on it must go first; rpc gives no hook for that yet, so
	 * they are left (a few hundred bytes per partition, once per owner
	 * failure) rather than destroyed after their endpoint.
	 */
	for (uint32_t p = 0; p < kv->nparts; p++) {
		if (kv->parts[p].owner == rank) {
			kv->parts[p].ready = 0;
			kv->parts[p].rkey = NULL;
		}
	}
	o->ready = 0;
	o->peer = NULL;
}

static sk_status_t kv_rpc_status(int rc)
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

/* The owner @rank, connected and with its descriptors, or a status. */
static sk_status_t kv_owner_get(struct sk_kv *kv, unsigned rank,
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

/* ---- get ---- */

struct kv_get_out {
	void *buf;
	size_t cap;
	size_t *vlen_p;
	uint32_t *flags_p;
	uint64_t *cas_p;
};

static void kv_get_copy(const struct kv_get_out *out, const void *value,
			uint32_t vlen, uint32_t flags, uint64_t cas)
{
	if (vlen)
		memcpy(out->buf, value, vlen < out->cap ? vlen : out->cap);
	if (out->vlen_p)
		*out->vlen_p = vlen;
	if (out->flags_p)
		*out->flags_p = flags;
	if (out->cas_p)
		*out->cas_p = cas;
}

/*
 * A READ that failed: the owner is gone, or it is rpc's to say (its
 * probe decides liveness): ask the owner by rpc, which either answers or
 * fails the peer.
 */
static sk_status_t kv_read_failed(const struct kv_owner *o)
{
	return sk_rpc_peer_failed(o->peer) ? SK_ERR_UNREACHABLE
					   : SK_ERR_AGAIN;
}

/*
 * The one-sided GET. Returns SK_OK with *res_p (SK_KV_OK or
 * SK_KV_NOT_FOUND), SK_ERR_AGAIN when the caller should ask the owner by
 * rpc, or a fabric status.
 */
static sk_status_t kv_get_onesided(struct sk_kv *kv, struct kv_owner *o,
				   struct kv_part *kp, const void *key,
				   size_t klen, const struct kv_get_out *out,
				   enum sk_kv_res *res_p)
{
	uint64_t lease = sk_kv_lease_ns(kv->quarantine_ns);
	struct sk_kv_cand cands[SK_KV_PAIR_SLOTS];
	struct sk_kv_item_view iv;
	struct sk_kv_plan plan;
	struct sk_ep *ep;
	sk_status_t st;

	sk_kv_read_plan(&kp->view, &kv->hkey, key, klen, &plan);
	for (unsigned t = 0; t < KV_READ_TRIES; t++) {
		uint64_t t0 = kv_mono_ns(), now;
		uint32_t owner_now;
		unsigned n, i;
		int rc = 0;

		if (t)
			kv->st.read_retries++;
		ep = sk_rpc_peer_ep(o->peer);
		if (ep == NULL)
			return SK_ERR_UNREACHABLE;
		st = kv_read(kv, o, ep, kp, plan.pair_off, SK_KV_PAIR_SIZE, 0);
		if (st != SK_OK)
			return kv_read_failed(o);
		rc = sk_kv_read_pick(&kp->view, &plan, kv->rbuf.base, cands,
				     &n);
		if (rc == SK_KV_ERR_STALE)
			return SK_ERR_AGAIN; /* the owner knows better */
		if (n == 0) {
			*res_p = SK_KV_NOT_FOUND;
			return SK_OK;
		}
		for (i = 0; i < n; i++) {
			if (cands[i].len > kv->rbuf.size - SK_KV_PAIR_SIZE)
				return SK_ERR_AGAIN; /* larger than we read */
			ep = sk_rpc_peer_ep(o->peer);
			if (ep == NULL)
				return SK_ERR_UNREACHABLE;
			st = kv_read(kv, o, ep, kp, cands[i].off, cands[i].len,
				     SK_KV_PAIR_SIZE);
			if (st != SK_OK)
				return kv_read_failed(o);
			now = kv_mono_ns();
			owner_now = (uint32_t)((o->unix_ns + (now - o->mono_ns))
					       / 1000000000ull);
			rc = sk_kv_read_check(&plan, &cands[i],
					      kv->rbuf.base + SK_KV_PAIR_SIZE,
					      key, klen, owner_now, &iv);
			if (rc == SK_KV_ERR_OTHER_KEY)
				continue;
			break;
		}
		if (i == n) {
			*res_p = SK_KV_NOT_FOUND; /* only other keys' items */
			return SK_OK;
		}
		if (kv_mono_ns() - t0 >= lease)
			continue; /* rule (4): too slow to trust */
		if (rc == SK_KV_ERR_EXPIRED) {
			*res_p = SK_KV_NOT_FOUND;
			return SK_OK;
		}
		if (rc == 0) {
			kv_get_copy(out, iv.value, iv.vlen, iv.flags, iv.cas);
			*res_p = SK_KV_OK;
			return SK_OK;
		}
		/* A bad check or malformed bytes: a write raced us. */
	}
	return SK_ERR_AGAIN;
}

static sk_status_t kv_get_rpc(struct sk_kv *kv, struct kv_owner *o,
			      const void *key, size_t klen,
			      const struct kv_get_out *out,
			      enum sk_kv_res *res_p)
{
	size_t cap = sizeof(struct kv_get_resp) + SK_KV_VALUE_MAX;
	size_t len = sizeof(struct kv_key_req) + klen, got = 0;
	struct kv_key_req q = {.klen = (uint32_t)klen};
	struct kv_get_resp a;
	char req[sizeof(q) + SK_KV_KEY_MAX];
	char *resp;
	int rc;

	memcpy(req, &q, sizeof(q));
	memcpy(req + sizeof(q), key, klen);
	resp = malloc(cap);
	if (resp == NULL)
		return SK_ERR_NOMEM;
	kv->st.gets_rpc++;
	rc = sk_rpc_call_sync(o->peer, KV_RPC_GET, req, len, resp, cap, &got);
	if (rc < 0) {
		free(resp);
		return kv_rpc_status(rc);
	}
	if (rc == SK_KV_OK) {
		if (got < sizeof(a)) {
			free(resp);
			return SK_ERR_MALFORMED;
		}
		memcpy(&a, resp, sizeof(a));
		if (a.vlen != got - sizeof(a)) {
			free(resp);
			return SK_ERR_MALFORMED;
		}
		kv_get_copy(out, resp + sizeof(a), a.vlen, a.flags, a.cas);
	} else if (rc != SK_KV_NOT_FOUND) {
		free(resp);
		return SK_ERR_MALFORMED;
	}
	free(resp);
	*res_p = rc;
	return SK_OK;
}

sk_status_t sk_kv_get(struct sk_kv *kv, const void *key, size_t klen,
		      void *buf, size_t cap, size_t *vlen_p,
		      uint32_t *flags_p, uint64_t *cas_p,
		      enum sk_kv_res *res_p)
{
	struct kv_get_out out = {buf, cap, vlen_p, flags_p, cas_p};
	struct sk_kv_item_view iv;
	struct kv_owner *o;
	struct kv_part *kp;
	sk_status_t st;

	if (kv == NULL || res_p == NULL || (key == NULL && klen) ||
	    (buf == NULL && cap))
		return SK_ERR_INVAL;
	if (!sk_kv_key_ok(key, klen)) {
		*res_p = SK_KV_EFORMAT;
		return SK_OK;
	}
	kp = kv_part_of(kv, key, klen);
	if (kp->owner == kv->rank) {
		kv->st.gets_local++;
		*res_p = kv_own_get(kv, kp, key, klen, &iv);
		if (*res_p == SK_KV_OK)
			kv_get_copy(&out, iv.value, iv.vlen, iv.flags, iv.cas);
		return SK_OK;
	}
	st = kv_owner_get(kv, kp->owner, &o);
	if (st != SK_OK)
		return st;
	/* A ready owner's partitions are all ready, unless its answer
	 * named one twice and missed another: then ask it by rpc. */
	st = kp->ready && !kv->rd.lost ?
	     kv_get_onesided(kv, o, kp, key, klen, &out, res_p) :
	     SK_ERR_AGAIN;
	if (st == SK_OK) {
		kv->st.gets_onesided++;
		return SK_OK;
	}
	if (st != SK_ERR_AGAIN)
		return st;
	return kv_get_rpc(kv, o, key, klen, &out, res_p);
}

/* ---- updates ---- */

/* An update's rpc; @req is @len bytes (a pool buffer when large), and
 * the response's body, if any, goes to @resp (up to @resp_cap). */
static sk_status_t kv_update(struct sk_kv *kv, unsigned rank, uint16_t id,
			     const void *req, size_t len, void *resp,
			     size_t resp_cap, enum sk_kv_res *res_p)
{
	struct kv_owner *o = &kv->owners[rank];
	size_t rlen = 0;
	int rc;

	if (o->peer && sk_rpc_peer_failed(o->peer))
		kv_owner_forget(kv, rank);
	if (o->peer == NULL) {
		sk_status_t st = sk_rpc_connect(kv->rpc, rank, -1, &o->peer);

		if (st != SK_OK) {
			o->peer = NULL;
			return SK_ERR_UNREACHABLE;
		}
	}
	kv->st.updates_rpc++;
	rc = sk_rpc_call_sync(o->peer, id, req, len, resp, resp_cap, &rlen);
	if (rc < 0)
		return kv_rpc_status(rc);
	if (rc >= SK_KV_RES_COUNT || (rlen && rlen != resp_cap))
		return SK_ERR_MALFORMED;
	*res_p = rc;
	return SK_OK;
}

sk_status_t sk_kv_store(struct sk_kv *kv, enum sk_kv_op op, const void *key,
			size_t klen, const void *value, size_t vlen,
			uint32_t flags, int32_t exptime, uint64_t cas,
			uint64_t *cas_p, enum sk_kv_res *res_p)
{
	struct kv_store_req q = {
		.op = op, .flags = flags, .exptime = exptime,
		.klen = (uint32_t)klen, .vlen = (uint32_t)vlen, .cas = cas,
	};
	struct kv_cas_resp a = {0};
	struct kv_part *kp;
	size_t len;
	char *req;
	sk_status_t st;

	if (kv == NULL || res_p == NULL || (key == NULL && klen) ||
	    (value == NULL && vlen))
		return SK_ERR_INVAL;
	if (!sk_kv_key_ok(key, klen) || (unsigned)op > SK_KV_CAS) {
		*res_p = SK_KV_EFORMAT;
		return SK_OK;
	}
	if (!sk_kv_value_ok(vlen)) {
		*res_p = SK_KV_ETOOLARGE;
		return SK_OK;
	}
	kp = kv_part_of(kv, key, klen);
	if (kp->owner == kv->rank) {
		*res_p = kv_own_store(kv, kp, op, key, klen, value, vlen, flags,
				      exptime, cas, cas_p);
		return SK_OK;
	}
	/* A registered buffer: a large request is READ out of it. */
	len = sizeof(q) + klen + vlen;
	req = sk_rpc_buf_alloc(kv->rpc, len);
	if (req == NULL)
		return SK_ERR_NOMEM;
	memcpy(req, &q, sizeof(q));
	memcpy(req + sizeof(q), key, klen);
	if (vlen)
		memcpy(req + sizeof(q) + klen, value, vlen);
	st = kv_update(kv, kp->owner, KV_RPC_STORE, req, len, &a, sizeof(a),
		       res_p);
	sk_rpc_buf_free(kv->rpc, req);
	if (st == SK_OK && *res_p == SK_KV_STORED && cas_p)
		*cas_p = a.cas;
	return st;
}

sk_status_t sk_kv_set(struct sk_kv *kv, const void *key, size_t klen,
		      const void *value, size_t vlen, uint32_t flags,
		      int32_t exptime, enum sk_kv_res *res_p)
{
	return sk_kv_store(kv, SK_KV_SET, key, klen, value, vlen, flags,
			   exptime, 0, NULL, res_p);
}

sk_status_t sk_kv_delete(struct sk_kv *kv, const void *key, size_t klen,
			 enum sk_kv_res *res_p)
{
	struct kv_key_req q = {.klen = (uint32_t)klen};
	char req[sizeof(q) + SK_KV_KEY_MAX];
	struct kv_part *kp;

	if (kv == NULL || res_p == NULL || (key == NULL && klen))
		return SK_ERR_INVAL;
	if (!sk_kv_key_ok(key, klen)) {
		*res_p = SK_KV_EFORMAT;
		return SK_OK;
	}
	kp = kv_part_of(kv, key, klen);
	if (kp->owner == kv->rank) {
		*res_p = kv_own_delete(kv, kp, key, klen);
		return SK_OK;
	}
	memcpy(req, &q, sizeof(q));
	memcpy(req + sizeof(q), key, klen);
	return kv_update(kv, kp->owner, KV_RPC_DELETE, req, sizeof(q) + klen,
			 NULL, 0, res_p);
}

void kv_client_cleanup(struct sk_kv *kv)
{
	for (uint32_t p = 0; p < kv->nparts; p++) {
		struct kv_part *kp = &kv->parts[p];
		struct kv_owner *o = &kv->owners[kp->owner];

		/* Keys on a failed peer's endpoint are left (see
		 * kv_owner_forget). */
		if (kp->rkey && o->peer && !sk_rpc_peer_failed(o->peer))
			sk_rkey_destroy(kp->rkey);
		kp->rkey = NULL;
		kp->ready = 0;
	}
}
