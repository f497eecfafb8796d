/*
 * rpc core: the rpc's memory and what its peers hold of it. Owns the two
 * pools' buffers (and the large requests waiting for a large one), the
 * blocks of receive slots, how a call and a request give back what they
 * hold when done, and failing a peer: every call it holds completes and
 * its connection starts to drain (close.c ends it).
 *
 * Every other file calls in here; this file calls up only through the
 * pointers it was handed: a call's continuation, rpc->take (serve.c's
 * sk_rpc_on_req, set by sk_rpc_create) and the drain's timer and flush
 * completion (set by sk_rpc_peer_start).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpc_int.h"

/* ---- buffers ---- */

void *sk_rpc_buf_alloc(struct sk_rpc *rpc, size_t len)
{
	return sk_rpc_buf_get(rpc, len);
}

/* Large requests that waited for a buffer, oldest first per peer (they
 * wait in their receive slots: sk_rpc_recv_done, recv.c). */
static void sk_rpc_retry_deferred(struct sk_rpc *rpc)
{
	struct sk_rpc_peer *p;

	if (rpc->retrying)
		return;
	rpc->retrying = 1;
	for (p = rpc->peers; p; p = p->next) {
		while (p->ndeferred > 0 && !p->failed &&
		       sk_pool_nfree(&rpc->large) > 0) {
			/* The header checked on arrival, from our copy: the
			 * slot's bytes are the peer's to rewrite meanwhile. */
			if (!rpc->take(p, p->deferred[0].slot,
				       &p->deferred[0].h))
				break;
			if (p->failed)
				break; /* it broke the rules: the list went */
			p->ndeferred--;
			memmove(p->deferred, p->deferred + 1,
				p->ndeferred * sizeof(p->deferred[0]));
		}
	}
	rpc->retrying = 0;
}

void sk_rpc_buf_free(struct sk_rpc *rpc, void *buf)
{
	char *obj;

	if (buf == NULL)
		return;
	obj = (char *)buf - SK_RPC_HEADROOM;
	if (sk_rpc_in_pool(&rpc->large, buf)) {
		sk_pool_put(&rpc->large, obj);
		sk_rpc_retry_deferred(rpc);
	} else {
		sk_pool_put(&rpc->small, obj);
	}
}

/* ---- receive slots ----
 *
 * A peer's receive slots: a block of the arena. The arena is a bump
 * allocator, so the blocks of peers that went are kept for the next ones,
 * on a list outside the arena (peers may write the arena; not this list).
 */
void sk_rpc_slots_put(struct sk_rpc *rpc, char *block)
{
	if (rpc->nfree == rpc->free_cap) {
		unsigned cap = rpc->free_cap ? 2 * rpc->free_cap : 8;
		char **f = realloc(rpc->free_slots, cap * sizeof(*f));

		if (f == NULL)
			return; /* the block is lost to this rpc, no more */
		rpc->free_slots = f;
		rpc->free_cap = cap;
	}
	rpc->free_slots[rpc->nfree++] = block;
}

/* A block of slots; NULL when the arena is spent. */
char *sk_rpc_slots_get(struct sk_rpc *rpc)
{
	if (rpc->nfree > 0)
		return rpc->free_slots[--rpc->nfree];
	return sk_arena_alloc(rpc->arena,
			      (size_t)SK_RPC_NSLOTS * SK_RPC_SLOT_SIZE, 4096);
}

/* ---- a call completes ---- */

void sk_rpc_call_finish(struct sk_rpc_call *c)
{
	struct sk_rpc_peer *p = c->peer;
	struct sk_rpc_rslot *held = c->held;
	sk_rpc_cont_func_t cont = c->cont;
	void *arg = c->arg, *own = c->own_buf;
	const void *data = c->data;
	size_t len = c->len;
	int status = c->status, reported = c->reported;

	c->busy = 0;
	c->held = NULL;
	c->own_buf = NULL;
	c->gen++;
	p->ncalls--;
	p->rpc->stats.responses++;
	if (!reported)
		cont(arg, status, data, len);
	if (own)
		sk_rpc_buf_free(p->rpc, own);
	/* A slot that cannot be posted again fails the peer, and with it
	 * every call still pending: none waits for a response that has no
	 * receive left to land in. */
	if (held && !p->failed && sk_rpc_slot_repost(p, held) != SK_OK)
		sk_rpc_peer_fail(p, "cannot post a receive");
}

/* ---- a request is done ---- */

void sk_rpc_req_release(struct sk_rpc_req *r)
{
	struct sk_rpc_peer *p = r->peer;

	if (r->large)
		sk_rpc_buf_free(p->rpc, r->large);
	r->large = NULL;
	if (r->slot && !p->failed && sk_rpc_slot_repost(p, r->slot) != SK_OK)
		sk_rpc_peer_fail(p, "cannot post a receive");
	r->slot = NULL;
	r->busy = 0;
}

/* ---- a peer fails ---- */

/* Close the connection: every pending call completes with -ECONNRESET. */
void sk_rpc_peer_fail(struct sk_rpc_peer *p, const char *why)
{
	unsigned i;

	if (p->failed)
		return;
	p->failed = 1;
	p->rpc->stats.peer_failures++;
	if (why)
		fprintf(stderr, "skiff rpc: closing a peer's connection: %s\n",
			why);
	for (i = 0; i < SK_RPC_CREDITS; i++) {
		struct sk_rpc_call *c = &p->call[i];

		if (!c->busy)
			continue;
		/* A held response stays valid: deliver it if it was whole. */
		if (!c->answered) {
			c->answered = 1;
			c->status = -ECONNRESET;
			c->data = NULL;
			c->len = 0;
		}
		/* A call whose send the provider still owns is told now, but
		 * finishes (its buffers go back) when that send completes
		 * (the drain), or when the endpoint is destroyed: not before,
		 * or its buffer could be reused under the send. */
		if (c->sent) {
			sk_rpc_call_finish(c);
		} else if (!c->reported) {
			c->reported = 1;
			c->cont(c->arg, c->status, c->data, c->len);
		}
	}
	/* Requests being served: their responses will be dropped. */
	p->ndeferred = 0;
	/*
	 * Cancel, then drain, before the endpoint goes (as ib_drain_qp):
	 * in the error state every operation completes flushed without the
	 * peer's help (on rdma a flush behind a gone peer's unacknowledged
	 * writes waited for the stall watchdog, seconds per connection), and
	 * the flush posted last completes after them all, their completions
	 * having given back their buffers. ucx keeps an operation UCX started
	 * until UCX lets go: after the liveness bound the endpoint goes
	 * anyway, and its dropped operations' buffers with it
	 * (sk_rpc_peer_close). The timer's and the flush's functions are
	 * close.c's, set when the peer started (sk_rpc_peer_start).
	 */
	if (p->ep && !p->rpc->destroying)
		(void)sk_ep_cancel(p->ep);
	p->draining = p->ep && !p->rpc->destroying &&
		      sk_ep_flush(p->ep, &p->flush_op) == SK_OK;
	if (p->draining)
		sk_timer_start(p->rpc->loop, &p->close_t,
			       (SK_RPC_DEAD_PROBES + 1) * p->rpc->probe_ms);
	else
		sk_timer_start(p->rpc->loop, &p->close_t, 0);
}
