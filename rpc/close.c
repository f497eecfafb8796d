/*
 * rpc closing: the end of a peer's connection, after it failed
 * (sk_rpc_peer_fail, core.c, cancelled its endpoint and posted the
 * drain's flush) or was removed. Owns the drain's end (the flush
 * completes, or its bound passes), the endpoint's destruction with what
 * its operations still held given back, and freeing the peer: at once,
 * when removed, or when the program never saw it.
 */
#include <string.h>
#include <stdlib.h>

#include "rpc_int.h"

/*
 * Before the endpoint goes: messages left in place live in its provider's
 * memory (the ucx ring), which goes with it, but a held response is still
 * handed to its call, and a request may still be read by a handler that
 * deferred. Copy each into its slot's own buffer and point its users
 * there. Only on this path: the datapath reads in place.
 */
/* @ptr moved with the @len bytes at @old to @new, if it pointed there. */
static void sk_rpc_relocate(const void **ptr, const char *old, size_t len,
			    char *new)
{
	const char *q = *ptr;

	if (q >= old && q <= old + len)
		*ptr = new + (q - old);
}

static void sk_rpc_peer_own_all(struct sk_rpc_peer *p)
{
	for (unsigned i = 0; i < SK_RPC_NSLOTS; i++) {
		struct sk_rpc_rslot *s = &p->slot[i];
		char *old = s->data;
		size_t len = s->len < SK_RPC_SLOT_SIZE ? s->len
						       : SK_RPC_SLOT_SIZE;

		if (old == s->buf)
			continue;
		memcpy(s->buf, old, len);
		s->data = s->buf;
		for (unsigned k = 0; k < SK_RPC_CREDITS; k++) {
			struct sk_rpc_call *c = &p->call[k];
			struct sk_rpc_req *r = &p->req[k];

			if (c->busy && c->held == s)
				sk_rpc_relocate(&c->data, old, len, s->buf);
			if (r->busy && r->slot == s)
				sk_rpc_relocate(&r->data, old, len, s->buf);
		}
		if (p->ep)
			sk_ep_release(p->ep, old);
	}
}

/*
 * The endpoint goes. What its operations still held comes back: the pool
 * buffers of responses and hellos (rpc->posted), large requests' reads
 * and calls' sends. After a drain (sk_rpc_flushed) nothing is left;
 * after the drain's bound or a removal, the provider dropped them with
 * the endpoint (verbs.h), so their buffers are free to reuse.
 */
static void sk_rpc_peer_close(struct sk_rpc_peer *p)
{
	struct sk_rpc *rpc = p->rpc;
	unsigned i;

	/* Outside any completion callback of this endpoint. */
	sk_rpc_peer_own_all(p);
	if (p->rkey) {
		sk_rkey_destroy(p->rkey);
		p->rkey = NULL;
	}
	if (p->ep) {
		sk_ep_destroy(p->ep);
		p->ep = NULL;
	}
	for (i = 0; i < SK_RPC_SMALL_N + SK_RPC_LARGE_N; i++) {
		char *obj;

		if (rpc->posted[i] != p)
			continue;
		rpc->posted[i] = NULL;
		obj = i < SK_RPC_SMALL_N ?
			      sk_pool_obj(&rpc->small, i) :
			      sk_pool_obj(&rpc->large, i - SK_RPC_SMALL_N);
		sk_rpc_buf_free(rpc, obj + SK_RPC_HEADROOM);
	}
	for (i = 0; i < SK_RPC_CREDITS; i++) {
		if (p->req[i].busy && p->req[i].reading) {
			p->req[i].reading = 0;
			sk_rpc_req_release(&p->req[i]);
		}
	}
	/* Calls (failed already) whose sends were dropped finish now. */
	for (i = 0; i < SK_RPC_CREDITS; i++)
		if (p->call[i].busy)
			sk_rpc_call_finish(&p->call[i]);
}

static void sk_rpc_peer_free(struct sk_rpc_peer *p)
{
	struct sk_rpc_peer **pp;

	for (pp = &p->rpc->peers; *pp; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	}
	/* Its endpoint is gone: nothing lands in its slots any more. */
	sk_rpc_slots_put(p->rpc, p->slots);
	free(p);
}

/* The drain ended (sk_rpc_flushed), or its bound passed. */
void sk_rpc_close_timer(struct sk_timer *t)
{
	struct sk_rpc_peer *p = (struct sk_rpc_peer *)((char *)t -
						       offsetof(struct sk_rpc_peer,
								close_t));

	sk_rpc_peer_close(p);
	if (p->removed) {
		sk_rpc_peer_free(p);
		return;
	}
	/* A connection another node made that the program never saw: no
	 * one can name it, so it goes now with its slots (unless a handler
	 * holds one of its requests). Else a node that connects and breaks
	 * the rules again and again would use up the arena, 272 KiB a time,
	 * and good nodes would be refused. */
	if (!p->shown) {
		for (unsigned i = 0; i < SK_RPC_CREDITS; i++)
			if (p->req[i].busy)
				return;
		if (p->rank >= 0 && p->rpc->byrank != NULL &&
		    p->rpc->byrank[p->rank] == p)
			p->rpc->byrank[p->rank] = NULL;
		sk_rpc_peer_free(p);
	}
}

/* The drain's flush completed: every operation posted before it has
 * completed and given back what it held. Close from the loop, outside
 * this endpoint's completion callback. */
void sk_rpc_flushed(struct sk_op *op, const struct sk_wc *wc)
{
	struct sk_rpc_peer *p = (struct sk_rpc_peer *)((char *)op -
						       offsetof(struct sk_rpc_peer,
								flush_op));

	(void)wc;
	p->draining = 0;
	if (p->ep == NULL)
		return;
	sk_timer_stop(p->rpc->loop, &p->close_t);
	sk_timer_start(p->rpc->loop, &p->close_t, 0);
}

void sk_rpc_peer_remove(struct sk_rpc_peer *p)
{
	if (p->rank >= 0 && p->rpc->byrank != NULL &&
	    p->rpc->byrank[p->rank] == p)
		p->rpc->byrank[p->rank] = NULL;
	sk_rpc_peer_fail(p, NULL);
	sk_timer_stop(p->rpc->loop, &p->probe_t);
	if (p->draining && !p->rpc->destroying) {
		/* Its operations are still the provider's: the drain ends
		 * (sk_rpc_close_timer) with the endpoint closed and the peer
		 * freed. Its calls have completed already. */
		p->removed = 1;
		p->rank = -1;
		return;
	}
	sk_timer_stop(p->rpc->loop, &p->close_t);
	sk_rpc_peer_close(p);
	sk_rpc_peer_free(p);
}
