/*
 * rpc connection setup: a peer from an endpoint. Owns the peer's start
 * (its receive slots posted, every completion and timer function it will
 * need set, our hello sent: the large pool's key), waiting until it can
 * take calls (the peer's hello in, ours acknowledged by a PONG), and
 * sk_rpc_peer_add. The hello is received in recv.c. Peers of the node's
 * rpc are started by sk_rpc_connect and sk_rpc_accept (rpc.c).
 */
#include <stdio.h>
#include <stdlib.h>

#include "rpc_int.h"

/*
 * The part of adding a peer that does not wait: slots posted, hello sent.
 * The peer is usable once it has the peer's hello and its PONG (->hello,
 * ->acked). @slots: its receive slots (sk_rpc_slots_get), or NULL to take
 * them here. On failure @ep is destroyed (it was given to us) and @slots
 * go back to the list.
 */
sk_status_t sk_rpc_peer_start(struct sk_rpc *rpc, struct sk_ep *ep,
			      char *slots, struct sk_rpc_peer **peer_p)
{
	struct sk_rpc_peer *p = calloc(1, sizeof(*p));
	struct sk_rpc_hdr h = {.magic = SK_RPC_MAGIC, .type = SK_RPC_HELLO};
	size_t blen = SK_BLOB_MAX;
	char *buf = slots;
	unsigned i;
	sk_status_t st;

	if (p == NULL) {
		sk_ep_destroy(ep);
		if (slots != NULL)
			sk_rpc_slots_put(rpc, slots);
		return SK_ERR_NOMEM;
	}
	p->rpc = rpc;
	p->ep = ep;
	p->rank = -1;
	p->probe_t.cb = sk_rpc_probe_timer;
	p->inl_op.done = sk_rpc_inline_done;
	/* The drain's, started by sk_rpc_peer_fail (core.c). */
	p->close_t.cb = sk_rpc_close_timer;
	p->flush_op.done = sk_rpc_flushed;
	sk_ep_set_user(ep, p);
	sk_ep_set_inplace(ep, 1); /* messages read where they landed */
	if (buf == NULL)
		buf = sk_rpc_slots_get(rpc);
	if (buf == NULL) {
		sk_ep_destroy(ep); /* ours, as the header promises */
		free(p);
		return SK_ERR_NOMEM;
	}
	p->slots = buf;
	for (i = 0; i < SK_RPC_CREDITS; i++) {
		p->call[i].peer = p;
		p->call[i].idx = i;
		p->req[i].peer = p;
	}
	for (i = 0; i < SK_RPC_NSLOTS; i++) {
		struct sk_rpc_rslot *s = &p->slot[i];

		s->op.done = sk_rpc_recv_done;
		s->peer = p;
		s->buf = buf + (size_t)i * SK_RPC_SLOT_SIZE;
		s->data = s->buf;
		st = sk_post_recv(ep, rpc->mr, s->buf, SK_RPC_SLOT_SIZE,
				  &s->op);
		if (st != SK_OK) {
			/* Receives already posted reference p: drop them
			 * with the endpoint before p goes. */
			sk_ep_destroy(ep);
			sk_rpc_slots_put(rpc, p->slots);
			free(p);
			return st;
		}
	}
	p->next = rpc->peers;
	rpc->peers = p;

	buf = sk_rpc_buf_get(rpc, 0);
	if (buf == NULL) {
		st = SK_ERR_NOMEM;
		goto err_remove;
	}
	/* The large pool's key: all of this node a peer may touch. */
	st = sk_mr_pack(rpc->large.mr, buf, &blen);
	if (st == SK_OK) {
		h.len = (uint32_t)blen;
		st = sk_rpc_post(p, buf, &h, blen, NULL);
	}
	if (st != SK_OK) {
		sk_rpc_buf_free(rpc, buf);
		goto err_remove;
	}
	*peer_p = p;
	return SK_OK;

err_remove:
	sk_rpc_peer_remove(p);
	return st;
}

/* Wait, serving the loop, until @p can take calls (its hello is in and
 * ours acknowledged), fails, or @end_ns passes (0: no bound). */
sk_status_t sk_rpc_peer_wait(struct sk_rpc_peer *p, uint64_t end_ns)
{
	while ((!p->hello || !p->acked) && !p->failed) {
		uint64_t now = sk_time_ns();

		if (end_ns != 0 && now >= end_ns)
			return SK_ERR_TIMEOUT;
		sk_loop_run_once(p->rpc->loop, end_ns == 0 ? -1 :
				 (int)((end_ns - now) / 1000000 + 1));
	}
	return p->failed ? SK_ERR_IO : SK_OK;
}

/* Take @p out after a failed add; a peer a handler still holds stays. */
void sk_rpc_peer_abandon(struct sk_rpc_peer *p)
{
	unsigned i;

	for (i = 0; i < SK_RPC_CREDITS; i++) {
		if (p->req[i].busy) {
			/* The peer's requests were served while we waited,
			 * and a handler still holds one (deferred): the peer
			 * stays, failed, until sk_rpc_destroy, so that the
			 * handler's request stays valid. */
			sk_rpc_peer_fail(p, NULL);
			return;
		}
	}
	sk_rpc_peer_remove(p);
}

sk_status_t sk_rpc_peer_add(struct sk_rpc *rpc, struct sk_ep *ep,
			    int timeout_ms, struct sk_rpc_peer **peer_p)
{
	uint64_t end = timeout_ms < 0 ? 0 :
		       sk_time_ns() + (uint64_t)timeout_ms * 1000000ull;
	struct sk_rpc_peer *p;
	sk_status_t st;

	if (sk_ep_user(ep) != NULL) {
		/* Someone owns it (libos's sk_os_peer endpoints do): taking
		 * it would destroy it twice. Not ours, so left alone. */
		fprintf(stderr, "skiff: rpc: sk_rpc_peer_add: that endpoint "
				"already has an owner (sk_os_peer's belong to "
				"libos: use sk_rpc_connect)\n");
		return SK_ERR_INVAL;
	}
	st = sk_rpc_peer_start(rpc, ep, NULL, &p);
	if (st != SK_OK)
		return st;
	p->shown = 1;
	st = sk_rpc_peer_wait(p, end);
	if (st != SK_OK) {
		sk_rpc_peer_abandon(p);
		return st;
	}
	*peer_p = p;
	return SK_OK;
}

int sk_rpc_peer_rank(const struct sk_rpc_peer *peer)
{
	return peer->rank;
}

int sk_rpc_peer_failed(const struct sk_rpc_peer *peer)
{
	return peer->failed;
}

struct sk_ep *sk_rpc_peer_ep(const struct sk_rpc_peer *peer)
{
	return peer->failed ? NULL : peer->ep;
}
