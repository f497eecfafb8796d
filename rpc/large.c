/*
 * rpc large responses: above SK_RPC_INLINE_MAX a response is not a
 * message. The server RDMA-writes a 16-byte trailer (call, generation,
 * length, status) and the payload into the caller's response buffer, in
 * the caller's large pool (the trailer goes into its headroom), with
 * write-with-immediate; the immediate (call index | generation << 16)
 * consumes one of the caller's receives and names the call. The
 * provider's contract makes the data visible before the immediate. Owns
 * both ends: the server's write and its completion, and the immediate's
 * arrival at the caller.
 *
 * The other direction, a large request, is taken in serve.c (the server
 * RDMA-reads it into a large buffer, then dispatches it), waiting in its
 * receive slot when no large buffer is free (core.c). Out of line from
 * the inline paths, so the null RPC's stays short.
 */
#include <string.h>

#include "rpc_int.h"

/* ---- the server writes ---- */

static void sk_rpc_large_sent(struct sk_op *op, const struct sk_wc *wc)
{
	struct sk_rpc_bufop *bo = (struct sk_rpc_bufop *)op;

	*sk_rpc_posted(bo->rpc, bo->buf) = NULL;
	sk_rpc_buf_free(bo->rpc, bo->buf);
	if (wc->status != SK_OK && wc->ep) {
		struct sk_rpc_peer *p = sk_ep_user(wc->ep);

		if (p)
			sk_rpc_peer_fail(p, NULL);
	}
}

/* A large response: trailer and payload straight into the caller's
 * buffer; the immediate tells it which call. */
sk_status_t sk_rpc_respond_large(struct sk_rpc_req *r, int status, void *buf,
				 size_t len)
{
	struct sk_rpc_peer *p = r->peer;
	struct sk_rpc *rpc = p->rpc;
	struct sk_rpc_trailer t = {.call = r->h.call, .gen = r->h.gen,
				   .len = (uint32_t)len, .status = status};
	struct sk_rpc_bufop *bo = sk_rpc_bufop(rpc, buf);
	sk_status_t st;

	memcpy((char *)buf - SK_RPC_TRAILER, &t, sizeof(t));
	bo->op.done = sk_rpc_large_sent;
	bo->owner = NULL;
	st = sk_post_write_imm(p->ep, rpc->large.mr,
			       (char *)buf - SK_RPC_TRAILER,
			       len + SK_RPC_TRAILER, p->rkey,
			       r->h.resp_addr - SK_RPC_TRAILER,
			       r->h.call | (r->h.gen & 0xffffu) << 16, 0,
			       &bo->op);
	if (st == SK_OK)
		*sk_rpc_posted(rpc, buf) = p;
	return st;
}

/* ---- the caller receives ---- */

/* A large response landed by RDMA write with immediate. */
void sk_rpc_on_imm(struct sk_rpc_peer *p, struct sk_rpc_rslot *s,
		   uint32_t imm)
{
	unsigned idx = imm & 0xffffu;
	struct sk_rpc_call *c;
	struct sk_rpc_trailer t;

	if (idx >= SK_RPC_CREDITS) {
		sk_rpc_peer_fail(p, "an immediate for no call");
		return;
	}
	c = &p->call[idx];
	if (!c->busy || (c->gen & 0xffffu) != imm >> 16 || c->answered ||
	    c->resp == NULL) {
		sk_rpc_peer_fail(p, "an immediate for no call");
		return;
	}
	memcpy(&t, (char *)c->resp - SK_RPC_TRAILER, sizeof(t));
	if (t.call != idx || t.gen != c->gen || t.len > c->resp_cap) {
		sk_rpc_peer_fail(p, "a malformed large response");
		return;
	}
	c->answered = 1;
	c->status = t.status;
	c->data = c->resp;
	c->len = t.len;
	c->held = s;
	if (c->sent)
		sk_rpc_call_finish(c);
}
