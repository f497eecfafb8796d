/*
 * rpc serving: the server's side of a call. Owns a peer's request slots:
 * a request is taken (an inline one stays in its receive slot; a large
 * one is RDMA-read from the caller's large buffer into one of ours),
 * dispatched to the handler registered for its id, and responded to,
 * then or later (a deferred response): inline from the stack, from a
 * pool buffer (send.c), or written into the caller's buffer when large
 * (large.c). The request's slot goes back in sk_rpc_req_release (core.c).
 * Requests arrive through sk_rpc_recv_done (recv.c).
 */
#include <errno.h>

#include "rpc_int.h"

const void *sk_rpc_req_data(const struct sk_rpc_req *r, size_t *len_p)
{
	*len_p = r->len;
	return r->data;
}

struct sk_rpc_peer *sk_rpc_req_peer(const struct sk_rpc_req *r)
{
	r->peer->shown = 1;
	return r->peer;
}

/* Give back @buf, a response's, unless it is @r's own small bytes. */
static void sk_rpc_resp_free(struct sk_rpc *rpc, struct sk_rpc_req *r,
			     void *buf)
{
	if (buf != r->small.bytes)
		sk_rpc_buf_free(rpc, buf);
}

void *sk_rpc_resp_buf(struct sk_rpc_req *r, size_t len)
{
	struct sk_rpc *rpc = r->peer->rpc;

	/* The common answer first: a few bytes, inline, the first asked. */
	if (r->resp == NULL && len <= sizeof(r->small.bytes) &&
	    len <= r->h.resp_cap && SK_RPC_HDR + len <= rpc->inline_max) {
		r->resp = r->small.bytes;
		r->resp_len = sizeof(r->small.bytes);
		return r->resp;
	}
	if (len > r->h.resp_cap || len > SK_RPC_MSG_MAX)
		return NULL;
	if (len > SK_RPC_INLINE_MAX && !(r->h.flags & SK_RPC_F_RESP_ADDR))
		return NULL;
	if (r->resp && r->resp_len >= len)
		return r->resp;
	sk_rpc_resp_free(rpc, r, r->resp);
	if (len <= sizeof(r->small.bytes) &&
	    SK_RPC_HDR + len <= rpc->inline_max) {
		/* It will go inline (sk_rpc_respond), copied at the post. */
		r->resp = r->small.bytes;
		r->resp_len = sizeof(r->small.bytes);
		return r->resp;
	}
	r->resp = sk_rpc_buf_get(rpc, len);
	r->resp_len = r->resp ? len : 0;
	return r->resp;
}

sk_status_t sk_rpc_respond(struct sk_rpc_req *r, int status, size_t len)
{
	struct sk_rpc_peer *p = r->peer;
	struct sk_rpc *rpc = p->rpc;
	void *buf = r->resp;
	struct sk_rpc_hdr h = {.magic = SK_RPC_MAGIC, .type = SK_RPC_RESP,
			       .call = r->h.call, .gen = r->h.gen,
			       .len = (uint32_t)len, .status = status};
	sk_status_t st = SK_OK;

	if (!r->busy)
		return SK_ERR_INVAL;
	if (len && (buf == NULL || len > r->resp_len))
		return SK_ERR_INVAL;
	r->resp = NULL;
	rpc->stats.served++;
	if (p->failed) {
		sk_rpc_resp_free(rpc, r, buf);
		sk_rpc_req_release(r);
		return SK_ERR_FLUSHED;
	}
	if (len > SK_RPC_INLINE_MAX) {
		st = sk_rpc_respond_large(r, status, buf, len);
	} else if (SK_RPC_HDR + len <= rpc->inline_max) {
		union sk_rpc_inl m;

		m.h = h;
		st = sk_rpc_post_inline(p, &m, buf, len);
		sk_rpc_resp_free(rpc, r, buf);
		buf = NULL;
	} else {
		if (buf == NULL) {
			buf = sk_rpc_buf_get(rpc, 0);
			if (buf == NULL) {
				/* Bounded by credits: cannot happen unless
				 * peers x credits exceed the pool. */
				sk_rpc_peer_fail(p, "out of send buffers");
				sk_rpc_req_release(r);
				return SK_ERR_NOMEM;
			}
		}
		st = sk_rpc_post(p, buf, &h, len, NULL);
	}
	if (st != SK_OK) {
		sk_rpc_buf_free(rpc, buf);
		sk_rpc_peer_fail(p, "cannot post a response");
	}
	sk_rpc_req_release(r);
	return st;
}

static void sk_rpc_dispatch(struct sk_rpc_req *r)
{
	struct sk_rpc *rpc = r->peer->rpc;

	if (r->h.handler >= SK_RPC_HANDLERS ||
	    rpc->handler[r->h.handler].fn == NULL) {
		sk_rpc_respond(r, -ENOENT, 0);
		return;
	}
	rpc->handler[r->h.handler].fn(r, rpc->handler[r->h.handler].arg);
}

static void sk_rpc_large_read(struct sk_op *op, const struct sk_wc *wc)
{
	struct sk_rpc_req *r = (struct sk_rpc_req *)op;

	r->reading = 0;
	if (wc->status != SK_OK || r->peer->failed) {
		/* A refused address (outside the caller's key) closes the
		 * connection; a peer closed meanwhile is not served. */
		sk_rpc_req_release(r);
		if (wc->status != SK_OK)
			sk_rpc_peer_fail(r->peer, "a large request's read "
						  "failed");
		return;
	}
	sk_rpc_dispatch(r);
}

/* Returns 1 when the request was taken (its slot is now the request's),
 * 0 when it must wait for a large buffer. Also rpc->take, for the large
 * requests that waited (core.c). */
int sk_rpc_on_req(struct sk_rpc_peer *p, struct sk_rpc_rslot *s,
		  const struct sk_rpc_hdr *h)
{
	struct sk_rpc *rpc = p->rpc;
	struct sk_rpc_req *r = &p->req[h->call]; /* checked < credits */

	/* The caller's call slot names the request: a slot still being
	 * served means more requests than credits, against the rules. */
	if (r->busy) {
		sk_rpc_peer_fail(p, "more requests than credits");
		return 1;
	}
	/* Every field the request uses is set here (no memset: this is the
	 * datapath). */
	r->peer = p;
	r->h = *h;
	r->slot = NULL;
	r->data = NULL;
	r->len = 0;
	r->large = NULL; /* ->reading is 0 whenever the slot is free */
	r->resp = NULL;
	r->resp_len = 0;
	if (h->flags & SK_RPC_F_LARGE_REQ) {
		sk_status_t st;

		r->large = sk_rpc_buf_get(rpc, h->len);
		if (r->large == NULL)
			return 0; /* deferred until one frees */
		r->busy = 1;
		r->slot = s;
		r->data = r->large;
		r->len = h->len;
		r->op.done = sk_rpc_large_read;
		r->reading = 1;
		st = sk_post_read(p->ep, rpc->large.mr, r->large, h->len,
				  p->rkey, h->req_addr, 0, &r->op);
		if (st != SK_OK) {
			r->reading = 0;
			sk_rpc_req_release(r);
			sk_rpc_peer_fail(p, "a large request out of bounds");
		}
		return 1;
	}
	r->busy = 1;
	r->slot = s;
	r->data = s->data + SK_RPC_HDR;
	r->len = h->len;
	sk_rpc_dispatch(r);
	return 1;
}
