/*
 * rpc: the rpc object and the node's rpc. Owns an rpc's life (its pools,
 * the handler table, its stats; sk_rpc_create and sk_rpc_destroy, which
 * removes every peer) and, in a skrun job, the node's one rpc
 * (sk_rpc_open): the table of peers by rank, connecting to a node
 * (sk_rpc_connect) and taking the connections other nodes make
 * (sk_rpc_accept). This file is the top of rpc/: it calls into the
 * others and none calls into it (rpc/README.md lists the files and how
 * a call goes through them).
 */
#include <stdio.h>
#include <stdlib.h>

#include <skiff/config.h>

#include "rpc_int.h"

/* The SKIFF_* tables this file reads from (skiff/config.h). */
SK_CONFIG_USES(sk_rpc_config);
SK_CONFIG_USES(sk_os_config);

/* The node's rpc (sk_rpc_open), at most one. */
static struct sk_rpc *sk_rpc_node;

/* ---- the rpc ---- */

/* What never changes in a buffer's metadata, set once. */
static void sk_rpc_bufops_init(struct sk_rpc *rpc, struct sk_pool *pool)
{
	for (unsigned i = 0; i < pool->count; i++) {
		char *buf = (char *)sk_pool_obj(pool, i) + SK_RPC_HEADROOM;
		struct sk_rpc_bufop *bo = sk_pool_meta(pool, buf);

		bo->rpc = rpc;
		bo->buf = buf;
	}
}

sk_status_t sk_rpc_create(struct sk_loop *loop, struct sk_arena *arena,
			  struct sk_rpc **rpc_p)
{
	struct sk_rpc *rpc = calloc(1, sizeof(*rpc));
	sk_status_t st;

	if (rpc == NULL)
		return SK_ERR_NOMEM;
	st = sk_config_ulong("SKIFF_RPC_PROBE_MS", 1, 3600000, &rpc->probe_ms);
	if (st != SK_OK) {
		free(rpc);
		return st;
	}
	rpc->loop = loop;
	rpc->arena = arena;
	rpc->mr = sk_arena_mr(arena);
	{
		struct sk_dev_attr attr;

		sk_dev_query(sk_loop_dev(loop), &attr);
		rpc->inline_max = attr.max_inline < SK_RPC_INLINE_STACK ?
					  attr.max_inline : SK_RPC_INLINE_STACK;
	}
	st = sk_pool_init_attr(&rpc->small, arena, SK_RPC_HEADROOM +
			       SK_RPC_SLOT_SIZE, SK_RPC_SMALL_N,
			       &(struct sk_pool_attr){
				       .meta_size = sizeof(struct sk_rpc_bufop)});
	if (st != SK_OK)
		goto err_free;
	st = sk_pool_init_attr(&rpc->large, arena, SK_RPC_HEADROOM +
			       SK_RPC_MSG_MAX, SK_RPC_LARGE_N,
			       &(struct sk_pool_attr){
				       .access = SK_ACCESS_REMOTE_READ |
						 SK_ACCESS_REMOTE_WRITE,
				       .meta_size = sizeof(struct sk_rpc_bufop)});
	if (st != SK_OK)
		goto err_small;
	rpc->take = sk_rpc_on_req;
	sk_rpc_bufops_init(rpc, &rpc->small);
	sk_rpc_bufops_init(rpc, &rpc->large);
	*rpc_p = rpc;
	return SK_OK;

err_small:
	sk_pool_fini(&rpc->small);
err_free:
	free(rpc);
	return st;
}

/* libos's finalize ends a node's rpc the program did not destroy. */
static void sk_rpc_fini(void *arg)
{
	sk_rpc_destroy(arg);
}

void sk_rpc_destroy(struct sk_rpc *rpc)
{
	if (rpc == sk_rpc_node) {
		sk_os_listen(SK_RPC_SERVICE, NULL, NULL);
		sk_os_at_finalize_cancel(sk_rpc_fini, rpc);
		sk_rpc_node = NULL;
	}
	rpc->destroying = 1;
	while (rpc->peers)
		sk_rpc_peer_remove(rpc->peers);
	free(rpc->free_slots);
	free(rpc->byrank);
	/* Every peer is gone, with its endpoint: no operation uses the
	 * buffers any more, and the large region's key stops working. */
	sk_pool_fini(&rpc->large);
	sk_pool_fini(&rpc->small);
	free(rpc);
}

sk_status_t sk_rpc_register(struct sk_rpc *rpc, uint16_t id,
			    sk_rpc_handler_func_t fn, void *arg)
{
	if (id >= SK_RPC_HANDLERS || fn == NULL)
		return SK_ERR_INVAL;
	rpc->handler[id].fn = fn;
	rpc->handler[id].arg = arg;
	return SK_OK;
}

void sk_rpc_stats(const struct sk_rpc *rpc, struct sk_rpc_stats *st)
{
	*st = rpc->stats;
}

/* ---- the node's rpc (skrun jobs) ---- */

/* Another node connects to ours: first asked whether we can hold it (its
 * slots are set aside then), then handed its endpoint, ours now. */
static sk_status_t sk_rpc_accept(void *arg, unsigned rank, struct sk_ep *ep)
{
	struct sk_rpc *rpc = arg;
	struct sk_rpc_peer *p;
	sk_status_t st;

	if (ep == NULL) {
		char *block;

		if (rpc->nfree > 0)
			return SK_OK;
		block = sk_rpc_slots_get(rpc);
		if (block != NULL) {
			sk_rpc_slots_put(rpc, block);
			if (rpc->nfree > 0)
				return SK_OK;
		}
		/* Refused before any endpoint is made: the node's
		 * sk_rpc_connect fails at once instead of waiting. */
		fprintf(stderr, "skiff: rpc: rank %u refused rank %u: no arena "
				"left for another peer (raise SKIFF_ARENA_MB)\n",
			sk_os_rank(), rank);
		return SK_ERR_NOMEM;
	}
	/* Its slots were set aside when it was asked, a moment ago. */
	st = sk_rpc_peer_start(rpc, ep, NULL, &p);
	if (st != SK_OK) {
		fprintf(stderr, "skiff: rpc: rank %u cannot serve rank %u: "
				"%s\n", sk_os_rank(), rank, sk_status_str(st));
		return SK_OK; /* taken, and destroyed */
	}
	p->rank = (int)rank;
	if (rpc->byrank[rank] == NULL || rpc->byrank[rank]->failed)
		rpc->byrank[rank] = p;
	return SK_OK;
}

sk_status_t sk_rpc_open(struct sk_rpc **rpc_p)
{
	struct sk_rpc *rpc;
	sk_status_t st;

	if (!sk_os_booted() || sk_os_loop() == NULL || sk_rpc_node != NULL)
		return SK_ERR_INVAL;
	st = sk_rpc_create(sk_os_loop(), sk_os_arena(), &rpc);
	if (st != SK_OK)
		return st;
	rpc->nranks = sk_os_size();
	rpc->byrank = calloc(rpc->nranks, sizeof(*rpc->byrank));
	if (rpc->byrank == NULL) {
		st = SK_ERR_NOMEM;
		goto err_free;
	}
	st = sk_os_at_finalize(sk_rpc_fini, rpc);
	if (st != SK_OK)
		goto err_free;
	sk_rpc_node = rpc;
	/* Nodes that connected before now are handed over here. */
	sk_os_listen(SK_RPC_SERVICE, sk_rpc_accept, rpc);
	*rpc_p = rpc;
	return SK_OK;

err_free:
	free(rpc->byrank);
	free(rpc);
	return st;
}

sk_status_t sk_rpc_connect(struct sk_rpc *rpc, unsigned rank, int timeout_ms,
			   struct sk_rpc_peer **peer_p)
{
	unsigned long ms = 60000;
	uint64_t end;
	struct sk_rpc_peer *p;
	struct sk_ep *ep;
	char *slots;
	sk_status_t st;

	if (rpc != sk_rpc_node || rank >= rpc->nranks ||
	    rank == sk_os_rank())
		return SK_ERR_INVAL;
	if (timeout_ms < 0 && sk_config_ulong("SKIFF_BOOT_TIMEOUT_MS", 1,
					      3600000, &ms) != SK_OK)
		return SK_ERR_CONFIG;
	if (timeout_ms >= 0)
		ms = (unsigned long)timeout_ms;
	end = sk_time_ns() + (uint64_t)ms * 1000000ull;
	p = rpc->byrank[rank];
	if (p != NULL && !p->failed) {
		p->shown = 1;
		st = sk_rpc_peer_wait(p, end);
		if (st == SK_OK)
			*peer_p = p;
		return st;
	}
	rpc->byrank[rank] = NULL; /* a failed one stays until removed */
	/* Room for its slots first: an endpoint made and dropped at once
	 * leaves UCX mid-handshake. */
	slots = sk_rpc_slots_get(rpc);
	if (slots == NULL)
		return SK_ERR_NOMEM;
	st = sk_os_connect(rank, SK_RPC_SERVICE, (int)ms, &ep);
	if (st != SK_OK) {
		sk_rpc_slots_put(rpc, slots);
		return st;
	}
	st = sk_rpc_peer_start(rpc, ep, slots, &p);
	if (st != SK_OK)
		return st;
	p->rank = (int)rank;
	p->shown = 1;
	st = sk_rpc_peer_wait(p, end);
	if (st != SK_OK) {
		sk_rpc_peer_abandon(p);
		return st;
	}
	/* Ours, unless the node's own connection was handed over (and is
	 * up) while we waited: either works; keep the first. */
	if (rpc->byrank[rank] == NULL || rpc->byrank[rank]->failed)
		rpc->byrank[rank] = p;
	*peer_p = p;
	return SK_OK;
}
