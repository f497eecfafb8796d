/*
 * kv requests: updates (store, delete, incr/decr, touch/gat) and the rpc
 * GET, each one sk_rpc_call with a continuation, in the wire formats of
 * kv_int.h. The continuation takes the response (valid only then) and
 * queues the request for the pump; with no credit or no pool buffer the
 * request waits in its owner's rpc_wait.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "req.h"
#include "wire.h"

/* ---- rpc: updates, the rpc GET ---- */

/* A GET's or gat's answer: kv_get_resp and the value. */
static sk_status_t kv_take_value(struct sk_kv_req_priv *op, const char *resp,
				 size_t len)
{
	struct kv_get_resp a;
	const char *value;

	if (kv_dec_get_resp(resp, len, &a, &value) != 0)
		return SK_ERR_MALFORMED;
	kv_req_value(op->req, value, a.vlen, a.flags, a.cas, a.exptime,
		     a.state);
	if (op->req)
		op->req->expiry_before = a.exptime_before;
	return SK_OK;
}

/* The owner's answer, checked: each result has the body it should. */
static sk_status_t kv_take_resp(struct sk_kv_req_priv *op, int rc,
				const void *resp, size_t len)
{
	struct sk_kv_req *req = op->req;
	struct sk_kv_owner_stats os;

	if (rc < 0)
		return kv_rpc_status(rc);
	if (rc >= SK_KV_RES_COUNT)
		return SK_ERR_MALFORMED;
	switch (op->id) {
	case KV_RPC_GET:
		if (rc == SK_KV_OK)
			return kv_take_value(op, resp, len);
		return rc == SK_KV_NOT_FOUND && len == 0 ? SK_OK
							 : SK_ERR_MALFORMED;
	case KV_RPC_TOUCH:
		/* A GAT's, or a GET's that asked its owner (req.h) */
		if (rc == SK_KV_OK && req && req->cmd != SK_KV_CMD_TOUCH)
			return kv_take_value(op, resp, len);
		return len == 0 ? SK_OK : SK_ERR_MALFORMED;
	case KV_RPC_STORE:
		if (rc == SK_KV_STORED) {
			struct kv_cas_resp a;

			if (len != sizeof(a))
				return SK_ERR_MALFORMED;
			memcpy(&a, resp, sizeof(a));
			if (req)
				req->cas = a.cas;
			return SK_OK;
		}
		return len == 0 ? SK_OK : SK_ERR_MALFORMED;
	case KV_RPC_DELTA:
		if (rc == SK_KV_OK) {
			struct kv_delta_resp a;

			if (kv_dec_delta_resp(resp, len, &a) != 0)
				return SK_ERR_MALFORMED;
			if (req) {
				req->number = a.value;
				req->cas = a.cas;
				req->expiry = a.exptime;
				req->state = a.grew ? SK_KV_STATE_GREW : 0;
			}
			return SK_OK;
		}
		return len == 0 ? SK_OK : SK_ERR_MALFORMED;
	case KV_RPC_OSTATS:
		if (rc != SK_KV_OK)
			return SK_ERR_MALFORMED;
		if (kv_dec_ostats_resp(resp, len, &os) != 0)
			return SK_ERR_MALFORMED;
		if (req)
			memcpy(req->buf, &os, sizeof(os));
		return SK_OK;
	case KV_RPC_DUMP: {
		struct kv_dump_resp a;
		const void *ents;

		if (rc != SK_KV_OK ||
		    kv_dec_dump_resp(resp, len, &a, &ents) != 0 ||
		    (req && a.len > req->cap))
			return SK_ERR_MALFORMED;
		if (req) {
			memcpy(req->buf, ents, a.len);
			req->vlen = a.len;
			req->cursor = a.next;
		}
		return SK_OK;
	}
	case KV_RPC_CSTATS: {
		struct sk_kv_class_stats cls[SK_KV_CLASSES_MAX];
		int n;

		if (rc != SK_KV_OK)
			return SK_ERR_MALFORMED;
		n = kv_dec_cstats_resp(resp, len, cls);
		if (n < 0)
			return SK_ERR_MALFORMED;
		if (req) {
			memcpy(req->buf, cls, (size_t)n * sizeof(*cls));
			req->vlen = (size_t)n;
		}
		return SK_OK;
	}
	default:
		return len == 0 ? SK_OK : SK_ERR_MALFORMED;
	}
}

/* Runs when the owner answered: the response is valid only now, so it is
 * taken here; the request goes on in the pump. */
static void kv_rpc_cont(void *arg, int status, const void *resp, size_t len)
{
	struct sk_kv_req_priv *op = arg;

	op->rc = status;
	op->res = status >= 0 ? (enum sk_kv_res)status : SK_KV_END;
	if (status == -EMSGSIZE && !op->big)
		op->st = SK_ERR_AGAIN; /* again, with room for the value */
	else
		op->st = kv_take_resp(op, status, resp, len);
	kv_enq(&op->kv->ready_q, op);
}

static bool kv_rpc_done(struct sk_kv *kv, struct sk_kv_req_priv *op)
{
	if (op->st == SK_ERR_AGAIN &&
	    (op->id == KV_RPC_GET || op->id == KV_RPC_TOUCH)) {
		op->big = 1;
		return kv_rpc_send(kv, op);
	}
	if (op->st == SK_ERR_AGAIN)
		op->st = SK_ERR_MALFORMED;
	return kv_finish(kv, op, op->st, op->res);
}

/* The request's bytes for handler op->id, in @small or a pool buffer;
 * NULL when no pool buffer is free. */
static const void *kv_rpc_build(struct sk_kv *kv, struct sk_kv_req_priv *op,
				char *small, size_t *len_p)
{
	const struct sk_kv_req *req = op->req;
	char *p = small;
	size_t hlen;

	switch (op->id) {
	case KV_RPC_STORE: {
		/* The item whole and sealed (kv_int.h): the owner stores it
		 * as it comes. The seal is of the item's own bytes, whose
		 * state field is 0; the op goes there after. */
		struct kv_store_req q = {
			.cas = req->cas, .exptime = req->exptime,
			.flags = req->flags, .vlen = (uint32_t)req->vlen,
			.klen = (uint8_t)req->klen,
		};
		size_t len = sk_kv_item_size(req->klen, req->vlen);
		size_t end = sizeof(q) + req->klen + req->vlen;

		if (len > SK_RPC_INLINE_MAX) {
			/* A registered buffer: the owner READs it. */
			if (op->qbuf == NULL &&
			    (op->qbuf = sk_rpc_buf_alloc(kv->rpc, len)) == NULL)
				return NULL;
			p = op->qbuf;
		}
		memcpy(p, &q, sizeof(q));
		memcpy(p + sizeof(q), req->key, req->klen);
		if (req->vlen)
			memcpy(p + sizeof(q) + req->klen, req->value,
			       req->vlen);
		memset(p + end, 0, len - end);
		q.seal = sk_kv_item_seal(&kv->hkey, p, len);
		q.op = (uint16_t)req->op;
		if (req->op == SK_KV_CAS &&
		    (req->meta & SK_KV_META_INVALIDATE))
			q.op |= KV_STORE_STALE;
		memcpy(p, &q, sizeof(q));
		*len_p = len;
		return p;
	}
	case KV_RPC_DELTA: {
		struct kv_delta_req q = {
			.incr = req->cmd == SK_KV_CMD_INCR,
			.klen = (uint32_t)req->klen, .delta = req->delta,
			.cas = req->cas,
		};

		memcpy(p, &q, hlen = sizeof(q));
		break;
	}
	case KV_RPC_TOUCH: {
		uint32_t mode = kv_touch_mode(req);
		struct kv_touch_req q = {
			.exptime = mode & KV_TOUCH_TTL ? req->exptime : 0,
			.klen = (uint32_t)req->klen, .mode = mode,
			.vivify = mode & KV_TOUCH_VIVIFY ? req->vivify : 0,
			.recache = mode & KV_TOUCH_RECACHE ? req->recache : 0,
		};

		memcpy(p, &q, hlen = sizeof(q));
		break;
	}
	case KV_RPC_FLUSH: {
		struct kv_flush_req q = {.delay = req->exptime};

		memcpy(p, &q, sizeof(q));
		*len_p = sizeof(q);
		return p;
	}
	case KV_RPC_OSTATS:
	case KV_RPC_CSTATS:
		*len_p = 0;
		return p;
	case KV_RPC_DUMP: {
		struct kv_dump_req q = {
			.cursor = req->cursor, .cls = req->cls,
			.max = (uint32_t)(req->cap < KV_DUMP_MAX ? req->cap
								 : KV_DUMP_MAX),
		};

		memcpy(p, &q, sizeof(q));
		*len_p = sizeof(q);
		return p;
	}
	case KV_RPC_DELETE: {
		uint32_t mode = kv_delete_mode(req);
		struct kv_delete_req q = {
			.klen = (uint32_t)req->klen, .mode = mode,
			.cas = req->cas,
			.exptime = mode & KV_DELETE_TTL ? req->exptime : 0,
		};

		memcpy(p, &q, hlen = sizeof(q));
		break;
	}
	default: { /* GET */
		struct kv_key_req q = {.klen = (uint32_t)req->klen};

		memcpy(p, &q, hlen = sizeof(q));
		break;
	}
	}
	memcpy(p + hlen, req->key, req->klen);
	*len_p = hlen + req->klen;
	return p;
}

bool kv_rpc_send(struct sk_kv *kv, struct sk_kv_req_priv *op)
{
	struct kv_owner *o = &kv->owners[op->rank];
	size_t len = 0, cap = sizeof(struct kv_get_resp) + SK_KV_VALUE_MAX;
	char small[SK_RPC_INLINE_MAX];
	const void *q;
	sk_status_t st;

	if (o->peer == NULL || sk_rpc_peer_failed(o->peer))
		return kv_finish(kv, op, SK_ERR_UNREACHABLE, SK_KV_END);
	q = kv_rpc_build(kv, op, small, &len);
	if (q != NULL && op->big && op->resp == NULL)
		op->resp = sk_rpc_buf_alloc(kv->rpc, cap);
	if (q == NULL || (op->big && op->resp == NULL)) {
		/* No pool buffer: wait for ours to come back, unless none
		 * is out. */
		if (kv->inflight <= 1)
			return kv_finish(kv, op, SK_ERR_NOMEM, SK_KV_END);
		goto wait;
	}
	st = sk_rpc_call(o->peer, op->id, q, len, op->resp,
			 op->resp ? cap : 0, kv_rpc_cont, op);
	if (st == SK_ERR_AGAIN)
		goto wait;
	if (st == SK_ERR_FLUSHED)
		return kv_finish(kv, op, SK_ERR_UNREACHABLE, SK_KV_END);
	if (st != SK_OK)
		return kv_finish(kv, op, st, SK_KV_END);
	op->step = kv_rpc_done;
	return true;
wait:
	op->step = kv_rpc_send;
	kv_owner_busy(kv, op->rank);
	kv_enq(&o->rpc_wait, op);
	return false;
}

