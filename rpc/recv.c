/*
 * rpc receiving: every message a peer sends lands in one of its receive
 * slots and comes here first. Owns the checks (sk_rpc_hdr_check, wire.c,
 * on a copy of the header: a message read in place is in memory the peer
 * can still write) and the routing by type: the hello (the peer's
 * large-pool key) and the liveness messages are handled here; a request
 * goes to serve.c, waiting in its slot when it is large and no large
 * buffer is free (core.c takes it when one frees); a response to its
 * call (sk_rpc_on_resp, rpc_int.h); a large response's immediate to
 * large.c. A message the checks refuse closes that connection.
 */
#include <string.h>

#include "rpc_int.h"

static void sk_rpc_on_hello(struct sk_rpc_peer *p, struct sk_rpc_rslot *s,
			    const struct sk_rpc_hdr *h)
{
	char blob[SK_BLOB_MAX];
	sk_status_t st;

	if (p->hello) {
		sk_rpc_peer_fail(p, "a second hello");
		return;
	}
	/* From a copy: the message may still be in memory the peer writes
	 * (the ucx ring), and the provider's checks must see the bytes it
	 * uses (h->len <= SK_BLOB_MAX: checked). */
	memcpy(blob, s->data + SK_RPC_HDR, h->len);
	st = sk_rkey_unpack(p->ep, blob, h->len, &p->rkey);
	if (st != SK_OK) {
		sk_rpc_peer_fail(p, "a bad buffer-region descriptor");
		return;
	}
	p->hello = 1;
	/* Tell the peer we have its hello: its sk_rpc_peer_add returns only
	 * then, so it keeps progressing while we import its key (a round
	 * trip to it on ucx). */
	sk_rpc_send_ctl(p, SK_RPC_PONG);
}

void sk_rpc_recv_done(struct sk_op *op, const struct sk_wc *wc)
{
	struct sk_rpc_rslot *s = (struct sk_rpc_rslot *)op;
	struct sk_rpc_peer *p = s->peer;
	struct sk_rpc_hdr h;
	const char *why = NULL;

	if (wc->status != SK_OK) {
		sk_rpc_peer_fail(p, NULL);
		return;
	}
	if (p->failed)
		return;
	p->heard++;
	s->data = wc->data ? wc->data : s->buf;
	s->len = wc->byte_len;
	if (wc->opcode == SK_OP_RECV_IMM) {
		sk_rpc_on_imm(p, s, wc->imm);
		return;
	}
	if (sk_rpc_hdr_check(s->data, wc->byte_len, &h, &why) != SK_OK) {
		p->rpc->stats.bad_msgs++;
		sk_rpc_peer_fail(p, why);
		return;
	}
	switch (h.type) {
	case SK_RPC_HELLO:
		sk_rpc_on_hello(p, s, &h);
		break;
	case SK_RPC_PING:
		sk_rpc_send_ctl(p, SK_RPC_PONG);
		break;
	case SK_RPC_PONG:
		p->probing = 0;
		p->acked = 1;
		break;
	case SK_RPC_RESP:
		if (!p->hello) {
			sk_rpc_peer_fail(p, "a response before the hello");
			return;
		}
		sk_rpc_on_resp(p, s, &h);
		return; /* the call owns the slot now */
	case SK_RPC_REQ:
		if (!p->hello) {
			sk_rpc_peer_fail(p, "a request before the hello");
			return;
		}
		if (!sk_rpc_on_req(p, s, &h)) {
			p->deferred[p->ndeferred].slot = s;
			p->deferred[p->ndeferred++].h = h;
		}
		return; /* the request owns the slot now */
	}
	if (!p->failed && sk_rpc_slot_repost(p, s) != SK_OK)
		sk_rpc_peer_fail(p, "cannot post a receive");
}
