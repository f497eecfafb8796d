/*
 * rpc: calls, handlers and responses over send/recv, with RDMA for large
 * payloads (rpc/README.md has the design and why).
 *
 * Per peer: 2 * SK_RPC_CREDITS receive slots (requests from the peer and
 * responses to our calls share them), SK_RPC_CREDITS call slots for our
 * calls, and as many request slots for the peer's. Buffers come from two
 * pools carved from the arena: slot-sized and SK_RPC_MSG_MAX-sized, each
 * with SK_RPC_HEADROOM bytes in front for the header (or a large
 * response's trailer), so a registered buffer goes out as it is.
 *
 * What peers may touch: only the large pool, a region of its own with
 * remote read and write (peers read large requests out of it and write
 * large responses and their trailers into it); its key is the one the
 * hello carries. The small pool and the receive slots are in the arena's
 * local registration. The completion context of each buffer's operation
 * (struct sk_rpc_bufop, with the function the completion calls) is the
 * pools' metadata, on the heap: a peer that writes all of the large
 * region can corrupt payloads there, not what runs or what is allocated
 * (rpc/README.md, "Registered regions").
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <skiff/config.h>
#include <skiff/rpc.h>

#include "wire.h"

/* The SKIFF_* tables this file reads from (skiff/config.h). */
SK_CONFIG_USES(sk_rpc_config);
SK_CONFIG_USES(sk_os_config);

#define SK_RPC_NSLOTS   (2 * SK_RPC_CREDITS + 2) /* + ping, pong */
#define SK_RPC_DEAD_PROBES 4 /* unanswered checks that mean dead */
#define SK_RPC_SMALL_N  256
#define SK_RPC_LARGE_N  4
#define SK_RPC_INLINE_STACK 256 /* largest inline message built on the
                                 * stack */

/* A buffer's pool metadata (sk_pool_meta), outside peer-writable memory:
 * the context of the operation using the buffer. */
struct sk_rpc_bufop {
	struct sk_op   op;
	struct sk_rpc *rpc;
	char          *buf;   /* the buffer (after its headroom) */
	void          *owner; /* a call, a request, or NULL: free on done */
};

_Static_assert(SK_RPC_HDR <= SK_RPC_HEADROOM &&
	       SK_RPC_TRAILER <= SK_RPC_HEADROOM, "header fits the headroom");

struct sk_rpc_rslot {
	struct sk_op        op;
	struct sk_rpc_peer *peer;
	char               *buf;
	char               *data;  /* the message: buf, or left in place by
	                            * the provider (released on repost) */
	uint32_t            len;   /* its bytes */
};

struct sk_rpc_call {
	struct sk_rpc_peer *peer;
	unsigned            idx;
	uint32_t            gen;
	int                 busy;
	int                 sent;      /* its send completed */
	int                 answered;  /* its response arrived */
	int                 reported;  /* its continuation ran (a failed
	                                * peer's calls: before their sends
	                                * are done) */
	int                 status;
	sk_rpc_cont_func_t  cont;
	void               *arg;
	void               *resp;
	size_t              resp_cap;
	const void         *data;      /* the response, when held */
	size_t              len;
	struct sk_rpc_rslot *held;     /* slot kept until sent */
	void               *own_buf;   /* a copy we made of the request */
};

struct sk_rpc_req {
	struct sk_op        op;        /* large request's RDMA read */
	struct sk_rpc_peer *peer;
	int                 busy;
	struct sk_rpc_hdr   h;
	struct sk_rpc_rslot *slot;     /* holds an inline request */
	const void         *data;
	size_t              len;
	void               *large;     /* a large request's copy */
	int                 reading;   /* its RDMA read is in flight */
	void               *resp;      /* from sk_rpc_resp_buf */
	size_t              resp_len;
};

struct sk_rpc_peer {
	struct sk_rpc      *rpc;
	struct sk_timer     probe_t;   /* liveness while calls wait */
	int                 probing;   /* a PING is out */
	uint32_t            heard;     /* messages from the peer, counted */
	uint32_t            heard_seen; /* ... when the probe last looked */
	uint64_t            quiet_ns;  /* since when it saw no change */
	struct sk_op        inl_op;    /* context of unsignaled inline sends */
	struct sk_ep       *ep;
	struct sk_rkey     *rkey;      /* the peer's large-buffer region */
	struct sk_rpc_peer *next;
	int                 failed;
	int                 hello;     /* we have the peer's hello */
	int                 acked;     /* the peer has ours */
	unsigned            ncalls;
	struct sk_rpc_rslot slot[SK_RPC_NSLOTS];
	struct sk_rpc_call  call[SK_RPC_CREDITS];
	struct sk_rpc_req   req[SK_RPC_CREDITS];
	struct sk_timer     close_t;
	struct sk_op        flush_op;  /* the drain of a failed endpoint */
	int                 draining;  /* ... its flush not yet complete */
	int                 removed;   /* sk_rpc_peer_remove'd: freed once
	                                * drained */
	struct {
		struct sk_rpc_rslot *slot;
		struct sk_rpc_hdr    h;  /* checked, and read from here only:
		                          * the slot is the peer's to write */
	} deferred[SK_RPC_NSLOTS];   /* waiting for a large buffer */
	unsigned            ndeferred;
	int                 rank;      /* the node it leads to, or -1 */
	int                 shown;     /* the program may hold a pointer to
	                                * it (peer_add, connect, req_peer):
	                                * else it goes when it fails */
	char               *slots;     /* its receive slots' memory */
};

struct sk_rpc {
	struct sk_loop     *loop;
	struct sk_arena    *arena;
	const struct sk_mr *mr;        /* the arena's (local): slots */
	struct sk_pool      small, large; /* large: a region peers touch */
	struct {
		sk_rpc_handler_func_t fn;
		void                 *arg;
	} handler[SK_RPC_HANDLERS];
	struct sk_rpc_peer *peers;
	struct sk_rpc_stats stats;
	int                 retrying;
	int                 destroying; /* no drain waits: close at once */
	unsigned long       probe_ms;  /* SKIFF_RPC_PROBE_MS */
	size_t              inline_max; /* messages sent inline: the device's
	                                 * max_inline, at most a slot */
	struct sk_rpc_peer **byrank;   /* sk_rpc_open's: [job size] */
	unsigned            nranks;
	char              **free_slots; /* slots of peers that went */
	unsigned            nfree, free_cap;
	/* The peer each pool buffer is posted to (a response, a hello), NULL
	 * when none: what a closed endpoint's dropped operations held goes
	 * back from here. Outside the arena, which peers may write. */
	struct sk_rpc_peer *posted[SK_RPC_SMALL_N + SK_RPC_LARGE_N];
};

/* The node's rpc (sk_rpc_open), at most one. */
static struct sk_rpc *sk_rpc_node;

/* ---- buffers ---- */

static int sk_rpc_in_pool(const struct sk_pool *p, const void *buf)
{
	const char *b = buf;

	return b >= p->base + SK_RPC_HEADROOM &&
	       b < p->base + p->obj_size * p->count;
}

void *sk_rpc_buf_alloc(struct sk_rpc *rpc, size_t len)
{
	char *obj;

	if (len > SK_RPC_MSG_MAX)
		return NULL;
	obj = sk_pool_get(len <= SK_RPC_INLINE_MAX ? &rpc->small :
						     &rpc->large);
	return obj ? obj + SK_RPC_HEADROOM : NULL;
}

static void sk_rpc_retry_deferred(struct sk_rpc *rpc);

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

static size_t sk_rpc_buf_cap(const struct sk_rpc *rpc, const void *buf)
{
	if (sk_rpc_in_pool(&rpc->large, buf))
		return SK_RPC_MSG_MAX;
	if (sk_rpc_in_pool(&rpc->small, buf))
		return SK_RPC_INLINE_MAX;
	return 0;
}

/* Where the peer a pool buffer is posted to is noted (rpc->posted). */
static struct sk_rpc_peer **sk_rpc_posted(struct sk_rpc *rpc, const void *buf)
{
	const char *obj = (const char *)buf - SK_RPC_HEADROOM;

	if (sk_rpc_in_pool(&rpc->large, buf))
		return &rpc->posted[SK_RPC_SMALL_N +
				    (size_t)(obj - rpc->large.base) /
					    rpc->large.obj_size];
	return &rpc->posted[(size_t)(obj - rpc->small.base) /
			    rpc->small.obj_size];
}

static struct sk_rpc_bufop *sk_rpc_bufop(struct sk_rpc *rpc, void *buf)
{
	const struct sk_pool *pool = sk_rpc_in_pool(&rpc->large, buf) ?
					     &rpc->large : &rpc->small;

	return sk_pool_meta(pool, buf);
}

/* The registration a pool buffer is in. */
static const struct sk_mr *sk_rpc_buf_mr(const struct sk_rpc *rpc,
					 const void *buf)
{
	return sk_rpc_in_pool(&rpc->large, buf) ? rpc->large.mr
						: rpc->small.mr;
}

/* Done with the message in slot @s: give back an in-place one, and post
 * the slot's buffer again. */
static sk_status_t sk_rpc_slot_repost(struct sk_rpc_peer *p,
				      struct sk_rpc_rslot *s)
{
	if (s->data != s->buf) {
		sk_ep_release(p->ep, s->data);
		s->data = s->buf;
	}
	return sk_post_recv(p->ep, p->rpc->mr, s->buf, SK_RPC_SLOT_SIZE,
			    &s->op);
}

/* ---- setup ---- */

/* What never changes in a buffer's metadata, set once. */
static void sk_rpc_bufops_init(struct sk_rpc *rpc, struct sk_pool *pool)
{
	for (unsigned i = 0; i < pool->count; i++) {
		char *buf = pool->base + (size_t)i * pool->obj_size +
			    SK_RPC_HEADROOM;
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

static void sk_rpc_fini(void *arg);

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

int sk_rpc_peer_failed(const struct sk_rpc_peer *peer)
{
	return peer->failed;
}

/* ---- liveness ----
 *
 * A dead peer shows only through an operation that needs it alive, and
 * over shared memory even one-sided operations complete against a dead
 * process's memory. So while our calls wait and the peer has been quiet
 * for SKIFF_RPC_PROBE_MS, we send it a PING, which its rpc answers with a
 * PONG from its loop. A peer that answers none of SK_RPC_DEAD_PROBES
 * checks in a row is declared dead and its calls fail: quiet is measured
 * from the probe timer's first look that saw no new message, so the bound
 * is (SK_RPC_DEAD_PROBES + 2) * SKIFF_RPC_PROBE_MS. A PING to a peer
 * whose endpoint already failed fails at once.
 */
static void sk_rpc_peer_fail(struct sk_rpc_peer *p, const char *why);
static sk_status_t sk_rpc_post(struct sk_rpc_peer *p, void *buf,
			       const struct sk_rpc_hdr *h, size_t len,
			       void *owner);

/* A message built on the stack and sent inline (sk_rpc_post_inline). */
union sk_rpc_inl {
	struct sk_rpc_hdr h;
	char              b[SK_RPC_INLINE_STACK];
};

static sk_status_t sk_rpc_post_inline(struct sk_rpc_peer *p,
				      union sk_rpc_inl *m, const void *data,
				      size_t len);

static void sk_rpc_send_ctl(struct sk_rpc_peer *p, uint8_t type)
{
	union sk_rpc_inl m;

	m.h = (struct sk_rpc_hdr){.magic = SK_RPC_MAGIC, .type = type};
	if (sk_rpc_post_inline(p, &m, NULL, 0) != SK_OK)
		sk_rpc_peer_fail(p, NULL);
}

static void sk_rpc_probe_timer(struct sk_timer *t)
{
	struct sk_rpc_peer *p = (struct sk_rpc_peer *)((char *)t -
						       offsetof(struct sk_rpc_peer,
								probe_t));
	uint64_t now = sk_time_ns(), quiet;
	uint64_t probe_ns = p->rpc->probe_ms * 1000000ull;

	if (p->failed || p->ncalls == 0) {
		p->probing = 0;
		return; /* re-armed by the next call */
	}
	/* Messages are counted, not timed (no clock read per message):
	 * quiet is measured from the first look that saw no new one. */
	if (p->heard != p->heard_seen) {
		p->heard_seen = p->heard;
		p->quiet_ns = now;
	}
	quiet = now - p->quiet_ns;
	if (quiet >= (SK_RPC_DEAD_PROBES + 1) * probe_ns) {
		sk_rpc_peer_fail(p, "the peer answers no liveness check "
				    "(SKIFF_RPC_PROBE_MS)");
		return;
	}
	if (quiet >= probe_ns && !p->probing) {
		p->probing = 1; /* one PING in flight at a time */
		sk_rpc_send_ctl(p, SK_RPC_PING);
	}
	sk_timer_start(p->rpc->loop, &p->probe_t, p->rpc->probe_ms);
}

/* ---- failure ---- */

static void sk_rpc_call_finish(struct sk_rpc_call *c)
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

static void sk_rpc_req_release(struct sk_rpc_req *r);

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
			      rpc->small.base + (size_t)i * rpc->small.obj_size :
			      rpc->large.base + (size_t)(i - SK_RPC_SMALL_N) *
							rpc->large.obj_size;
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

static void sk_rpc_peer_free(struct sk_rpc_peer *p);

static void sk_rpc_close_timer(struct sk_timer *t)
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
static void sk_rpc_flushed(struct sk_op *op, const struct sk_wc *wc)
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

/* Close the connection: every pending call completes with -ECONNRESET. */
static void sk_rpc_peer_fail(struct sk_rpc_peer *p, const char *why)
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
	 * (sk_rpc_peer_close).
	 */
	p->close_t.cb = sk_rpc_close_timer;
	p->flush_op.done = sk_rpc_flushed;
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

/* ---- sending ---- */

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
static sk_status_t sk_rpc_post(struct sk_rpc_peer *p, void *buf,
			       const struct sk_rpc_hdr *h, size_t len,
			       void *owner)
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
static void sk_rpc_inline_done(struct sk_op *op, const struct sk_wc *wc)
{
	struct sk_rpc_peer *p = (struct sk_rpc_peer *)((char *)op -
						       offsetof(struct sk_rpc_peer,
								inl_op));

	if (wc->status != SK_OK)
		sk_rpc_peer_fail(p, NULL);
}

/*
 * Post the header in @m and @len bytes of @data as one inline, unsignaled
 * send: the provider copies the message before returning, so no buffer is
 * held and no completion follows (unless it fails). The caller checked
 * that SK_RPC_HDR + @len <= rpc->inline_max.
 */
static sk_status_t sk_rpc_post_inline(struct sk_rpc_peer *p,
				      union sk_rpc_inl *m, const void *data,
				      size_t len)
{
	if (len)
		memcpy(m->b + SK_RPC_HDR, data, len);
	return sk_post_send(p->ep, NULL, m, SK_RPC_HDR + len,
			    SK_POST_UNSIGNALED, &p->inl_op);
}

/* ---- client ---- */

sk_status_t sk_rpc_call(struct sk_rpc_peer *p, uint16_t id, const void *req,
			size_t len, void *resp, size_t resp_cap,
			sk_rpc_cont_func_t cont, void *arg)
{
	struct sk_rpc *rpc = p->rpc;
	struct sk_rpc_hdr h = {.magic = SK_RPC_MAGIC, .type = SK_RPC_REQ,
			       .handler = id, .len = (uint32_t)len};
	struct sk_rpc_call *c = NULL;
	void *buf = (void *)req;
	int small = SK_RPC_HDR + len <= rpc->inline_max;
	size_t inl = 0;
	unsigned i;
	sk_status_t st;

	if (p->failed)
		return SK_ERR_FLUSHED;
	if (cont == NULL || len > SK_RPC_MSG_MAX || id >= SK_RPC_HANDLERS ||
	    (resp && resp_cap > sk_rpc_buf_cap(rpc, resp)) ||
	    (resp == NULL && resp_cap != 0))
		return SK_ERR_INVAL;
	if (p->ncalls >= SK_RPC_CREDITS)
		return SK_ERR_AGAIN;
	for (i = 0; i < SK_RPC_CREDITS; i++) {
		if (!p->call[i].busy) {
			c = &p->call[i];
			break;
		}
	}
	if (c == NULL)
		return SK_ERR_AGAIN;

	if (small) {
		/* Copied into the send when posted: nothing to prepare. */
	} else if (len > SK_RPC_INLINE_MAX) {
		/* Large: the server reads it from our (registered) buffer. */
		if (sk_rpc_buf_cap(rpc, req) < len)
			return SK_ERR_INVAL;
		h.flags |= SK_RPC_F_LARGE_REQ;
		h.req_addr = (uintptr_t)req;
		buf = sk_rpc_buf_alloc(rpc, 0);
		if (buf == NULL)
			return SK_ERR_AGAIN;
		c->own_buf = buf;
	} else if (sk_rpc_buf_cap(rpc, req) == 0 || len == 0) {
		/* Not one of ours: copy it into a send buffer. */
		buf = sk_rpc_buf_alloc(rpc, len);
		if (buf == NULL)
			return SK_ERR_AGAIN;
		if (len)
			memcpy(buf, req, len);
		c->own_buf = buf;
		inl = len;
	} else {
		inl = len;
	}
	if (resp) {
		h.flags |= SK_RPC_F_RESP_ADDR;
		h.resp_addr = (uintptr_t)resp;
		h.resp_cap = (uint32_t)resp_cap;
	} else {
		h.resp_cap = SK_RPC_INLINE_MAX;
	}
	h.call = (uint16_t)c->idx;
	h.gen = c->gen;
	c->busy = 1;
	c->sent = c->answered = c->reported = 0;
	c->cont = cont;
	c->arg = arg;
	c->resp = resp;
	c->resp_cap = resp_cap;
	c->data = NULL;
	c->len = 0;
	if (small) {
		union sk_rpc_inl m;

		m.h = h;
		c->sent = 1;
		st = sk_rpc_post_inline(p, &m, req, len);
	} else {
		st = sk_rpc_post(p, buf, &h, inl, c);
	}
	if (st != SK_OK) {
		c->busy = 0;
		if (c->own_buf) {
			sk_rpc_buf_free(rpc, c->own_buf);
			c->own_buf = NULL;
		}
		return st;
	}
	if (p->ncalls++ == 0) {
		p->heard_seen = p->heard;
		p->quiet_ns = sk_time_ns();
		if (!p->probe_t.armed)
			sk_timer_start(rpc->loop, &p->probe_t, rpc->probe_ms);
	}
	rpc->stats.calls++;
	return SK_OK;
}

struct sk_rpc_sync {
	int    done, status;
	void  *resp;
	size_t cap, len;
};

static void sk_rpc_sync_cont(void *arg, int status, const void *resp,
			     size_t len)
{
	struct sk_rpc_sync *s = arg;

	s->done = 1;
	s->status = status;
	s->len = len;
	if (resp && s->resp && resp != s->resp)
		memcpy(s->resp, resp, len < s->cap ? len : s->cap);
}

int sk_rpc_call_sync(struct sk_rpc_peer *p, uint16_t id, const void *req,
		     size_t len, void *resp, size_t resp_cap, size_t *len_p)
{
	struct sk_rpc_sync s = {.resp = resp, .cap = resp_cap};
	void *rbuf = NULL;
	sk_status_t st;

	/* The response lands in a pool buffer, so the server learns the
	 * real capacity (and large ones can come by RDMA). */
	if (resp_cap > 0) {
		rbuf = sk_rpc_buf_alloc(p->rpc, resp_cap);
		if (rbuf == NULL)
			return -ENOMEM;
	}
	for (;;) {
		st = sk_rpc_call(p, id, req, len, rbuf,
				 rbuf ? resp_cap : 0, sk_rpc_sync_cont, &s);
		if (st != SK_ERR_AGAIN)
			break;
		sk_loop_run_once(p->rpc->loop, -1);
	}
	if (st != SK_OK) {
		sk_rpc_buf_free(p->rpc, rbuf);
		return st == SK_ERR_FLUSHED ? -ECONNRESET : -EINVAL;
	}
	while (!s.done)
		if (sk_loop_run_once(p->rpc->loop, -1) < 0)
			break;
	if (rbuf && s.status >= 0 && resp)
		memcpy(resp, rbuf, s.len < resp_cap ? s.len : resp_cap);
	sk_rpc_buf_free(p->rpc, rbuf);
	if (len_p)
		*len_p = s.len;
	return s.done ? s.status : -ECONNRESET;
}

/* A response message (inline payload) for one of our calls. */
static int sk_rpc_on_resp(struct sk_rpc_peer *p, struct sk_rpc_rslot *s,
			  const struct sk_rpc_hdr *h)
{
	struct sk_rpc_call *c = &p->call[h->call];

	if (!c->busy || c->gen != h->gen || c->answered) {
		sk_rpc_peer_fail(p, "a response to no call");
		return 1;
	}
	c->answered = 1;
	c->status = h->status;
	c->len = h->len;
	c->data = s->data + SK_RPC_HDR;
	if (c->resp) {
		if (h->len > c->resp_cap) {
			c->status = -EMSGSIZE;
			c->len = 0;
		} else {
			memcpy(c->resp, c->data, h->len);
		}
		c->data = c->resp;
	}
	if (!c->sent) {
		/* Keep the slot (and the data) until the send completes. */
		c->held = s;
		return 0;
	}
	c->held = s;
	sk_rpc_call_finish(c);
	return 0; /* finish reposted the slot */
}

/* A large response landed by RDMA write with immediate. */
static void sk_rpc_on_imm(struct sk_rpc_peer *p, struct sk_rpc_rslot *s,
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

/* ---- server ---- */

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

void *sk_rpc_resp_buf(struct sk_rpc_req *r, size_t len)
{
	struct sk_rpc *rpc = r->peer->rpc;

	if (len > r->h.resp_cap || len > SK_RPC_MSG_MAX)
		return NULL;
	if (len > SK_RPC_INLINE_MAX && !(r->h.flags & SK_RPC_F_RESP_ADDR))
		return NULL;
	if (r->resp && r->resp_len >= len)
		return r->resp;
	sk_rpc_buf_free(rpc, r->resp);
	r->resp = sk_rpc_buf_alloc(rpc, len);
	r->resp_len = r->resp ? len : 0;
	return r->resp;
}

static void sk_rpc_req_release(struct sk_rpc_req *r)
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
 * buffer; the immediate tells it which call. Out of line: the null RPC's
 * path stays short. */
static __attribute__((noinline)) sk_status_t
sk_rpc_respond_large(struct sk_rpc_req *r, int status, void *buf, size_t len)
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
		sk_rpc_buf_free(rpc, buf);
		sk_rpc_req_release(r);
		return SK_ERR_FLUSHED;
	}
	if (len > SK_RPC_INLINE_MAX) {
		st = sk_rpc_respond_large(r, status, buf, len);
	} else if (SK_RPC_HDR + len <= rpc->inline_max) {
		union sk_rpc_inl m;

		m.h = h;
		st = sk_rpc_post_inline(p, &m, buf, len);
		sk_rpc_buf_free(rpc, buf);
		buf = NULL;
	} else {
		if (buf == NULL) {
			buf = sk_rpc_buf_alloc(rpc, 0);
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
 * 0 when it must wait for a large buffer. */
static int sk_rpc_on_req(struct sk_rpc_peer *p, struct sk_rpc_rslot *s,
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

		r->large = sk_rpc_buf_alloc(rpc, h->len);
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

static int sk_rpc_on_req(struct sk_rpc_peer *p, struct sk_rpc_rslot *s,
			 const struct sk_rpc_hdr *h);

/* Large requests that waited for a buffer, oldest first per peer. */
static void sk_rpc_retry_deferred(struct sk_rpc *rpc)
{
	struct sk_rpc_peer *p;

	if (rpc->retrying)
		return;
	rpc->retrying = 1;
	for (p = rpc->peers; p; p = p->next) {
		while (p->ndeferred > 0 && !p->failed &&
		       rpc->large.nfree > 0) {
			/* The header checked on arrival, from our copy: the
			 * slot's bytes are the peer's to rewrite meanwhile. */
			if (!sk_rpc_on_req(p, p->deferred[0].slot,
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

/* ---- receiving ---- */

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

static void sk_rpc_recv_done(struct sk_op *op, const struct sk_wc *wc)
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

/*
 * A peer's receive slots: a block of the arena. The arena is a bump
 * allocator, so the blocks of peers that went are kept for the next ones,
 * on a list outside the arena (peers may write the arena; not this list).
 */
static void sk_rpc_slots_put(struct sk_rpc *rpc, char *block)
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
static char *sk_rpc_slots_get(struct sk_rpc *rpc)
{
	if (rpc->nfree > 0)
		return rpc->free_slots[--rpc->nfree];
	return sk_arena_alloc(rpc->arena,
			      (size_t)SK_RPC_NSLOTS * SK_RPC_SLOT_SIZE, 4096);
}

/*
 * The part of adding a peer that does not wait: slots posted, hello sent.
 * The peer is usable once it has the peer's hello and its PONG (->hello,
 * ->acked). @slots: its receive slots (sk_rpc_slots_get), or NULL to take
 * them here. On failure @ep is destroyed (it was given to us) and @slots
 * go back to the list.
 */
static sk_status_t sk_rpc_peer_start(struct sk_rpc *rpc, struct sk_ep *ep,
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

	buf = sk_rpc_buf_alloc(rpc, 0);
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
static sk_status_t sk_rpc_peer_wait(struct sk_rpc_peer *p, uint64_t end_ns)
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
static void sk_rpc_peer_abandon(struct sk_rpc_peer *p)
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

static void sk_rpc_fini(void *arg)
{
	sk_rpc_destroy(arg);
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

int sk_rpc_peer_rank(const struct sk_rpc_peer *peer)
{
	return peer->rank;
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
