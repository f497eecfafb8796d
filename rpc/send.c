/*
 * rpc send path: a message goes out either as one inline, unsignaled send
 * built on the stack (sk_rpc_post_inline, rpc_int.h: no buffer is held
 * and no completion follows unless it fails), or from a pool buffer with
 * the header written into its headroom, signalled, because its completion
 * gives the buffer back (a response's or hello's) or lets a call finish
 * (a request's). Owns both completions. Who may send how much is the
 * credits' business: sk_rpc_call (call.c) and sk_rpc_on_req (serve.c).
 */
#include <string.h>

#include "rpc_int.h"

static void sk_rpc_send_done(struct sk_op *op, const struct sk_wc *wc)
{
	struct sk_rpc_bufop *bo = (struct sk_rpc_bufop *)op;
	void *buf = bo->buf;
	struct sk_rpc_call *c = bo->owner;

	if (c != NULL) {
		/* A request: the call finishes once answered too. */
		c->sent = 1; /* the provider is done with the buffer */
		if (wc->status != SK_OK) {
			sk_rpc_peer_fail(c->peer, NULL);
			if (c->busy)
				sk_rpc_call_finish(c);
			return;
		}
		if (c->answered)
			sk_rpc_call_finish(c);
		return;
	}
	/* A response (or hello) buffer of ours: done with it. */
	*sk_rpc_posted(bo->rpc, buf) = NULL;
	sk_rpc_buf_free(bo->rpc, buf);
	if (wc->status != SK_OK && wc->ep) {
		struct sk_rpc_peer *p = sk_ep_user(wc->ep);

		if (p)
			sk_rpc_peer_fail(p, NULL);
	}
}

/* Post @hdr followed by the @len bytes already at @buf (a pool buffer). */
sk_status_t sk_rpc_post(struct sk_rpc_peer *p, void *buf,
			const struct sk_rpc_hdr *h, size_t len, void *owner)
{
	struct sk_rpc_bufop *bo = sk_rpc_bufop(p->rpc, buf);
	char *msg = (char *)buf - SK_RPC_HDR;
	sk_status_t st;

	bo->op.done = sk_rpc_send_done;
	bo->owner = owner;
	memcpy(msg, h, SK_RPC_HDR);
	st = sk_post_send(p->ep, sk_rpc_buf_mr(p->rpc, buf), msg,
			  SK_RPC_HDR + len, 0, &bo->op);
	if (st == SK_OK && owner == NULL)
		*sk_rpc_posted(p->rpc, buf) = p; /* the call tracks its own */
	return st;
}

/* Only an error completes an unsignaled inline send. */
void sk_rpc_inline_done(struct sk_op *op, const struct sk_wc *wc)
{
	struct sk_rpc_peer *p = (struct sk_rpc_peer *)((char *)op -
						       offsetof(struct sk_rpc_peer,
								inl_op));

	if (wc->status != SK_OK)
		sk_rpc_peer_fail(p, NULL);
}
