/*
 * rpc's private header: the structs every file of rpc/ shares, the small
 * helpers the datapath uses from several files (static inline, so that a
 * call through them costs what it cost in one file), and the functions
 * the files give each other (hidden: libskiff_rpc.so exports only
 * include/skiff/rpc.h). rpc/README.md has the design and why; it lists
 * the files and the order they depend on each other.
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
#ifndef SKIFF_RPC_INT_H
#define SKIFF_RPC_INT_H

#include <errno.h>
#include <string.h>

#include <skiff/rpc.h>

#include "wire.h"

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

/* Responses up to this many bytes that go inline need no pool buffer. */
#define SK_RPC_SMALL_RESP 64u

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
	void               *resp;      /* from sk_rpc_resp_buf: a pool
	                                * buffer, or small's bytes */
	size_t              resp_len;
	/* A response that goes inline (a SET's CAS, a small GET) is built
	 * here: no pool buffer to take and give back (serve.c). */
	union {
		uint64_t    align;
		uint8_t     bytes[SK_RPC_SMALL_RESP];
	} small;
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

/* Take a request that arrived in @s (sk_rpc_on_req, serve.c): handed to
 * core.c by sk_rpc_create, for the large requests that waited for a
 * buffer. */
typedef int (*sk_rpc_take_func_t)(struct sk_rpc_peer *p,
				  struct sk_rpc_rslot *s,
				  const struct sk_rpc_hdr *h);

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
	sk_rpc_take_func_t  take;      /* serve.c's sk_rpc_on_req */
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

/* A message built on the stack and sent inline (sk_rpc_post_inline). */
union sk_rpc_inl {
	struct sk_rpc_hdr h;
	char              b[SK_RPC_INLINE_STACK];
};

/* ---- datapath helpers, inlined where they are used ---- */

static inline int sk_rpc_in_pool(const struct sk_pool *p, const void *buf)
{
	const char *b = buf;

	return b >= p->base + SK_RPC_HEADROOM &&
	       b < p->base + p->obj_size * p->count;
}

/* sk_rpc_buf_alloc, inlined into the files of rpc/ (it was, in one
 * file): a pool buffer of at least @len bytes, after its headroom. */
static inline void *sk_rpc_buf_get(struct sk_rpc *rpc, size_t len)
{
	char *obj;

	if (len > SK_RPC_MSG_MAX)
		return NULL;
	obj = sk_pool_get(len <= SK_RPC_INLINE_MAX ? &rpc->small :
						     &rpc->large);
	return obj ? obj + SK_RPC_HEADROOM : NULL;
}

static inline size_t sk_rpc_buf_cap(const struct sk_rpc *rpc,
				    const void *buf)
{
	if (sk_rpc_in_pool(&rpc->large, buf))
		return SK_RPC_MSG_MAX;
	if (sk_rpc_in_pool(&rpc->small, buf))
		return SK_RPC_INLINE_MAX;
	return 0;
}

/* Where the peer a pool buffer is posted to is noted (rpc->posted). */
static inline struct sk_rpc_peer **sk_rpc_posted(struct sk_rpc *rpc,
						 const void *buf)
{
	const char *obj = (const char *)buf - SK_RPC_HEADROOM;

	if (sk_rpc_in_pool(&rpc->large, buf))
		return &rpc->posted[SK_RPC_SMALL_N +
				    sk_pool_index(&rpc->large, obj)];
	return &rpc->posted[sk_pool_index(&rpc->small, obj)];
}

static inline struct sk_rpc_bufop *sk_rpc_bufop(struct sk_rpc *rpc,
						void *buf)
{
	const struct sk_pool *pool = sk_rpc_in_pool(&rpc->large, buf) ?
					     &rpc->large : &rpc->small;

	return sk_pool_meta(pool, buf);
}

/* The registration a pool buffer is in. */
static inline const struct sk_mr *sk_rpc_buf_mr(const struct sk_rpc *rpc,
						const void *buf)
{
	return sk_rpc_in_pool(&rpc->large, buf) ? rpc->large.mr
						: rpc->small.mr;
}

/* Done with the message in slot @s: give back an in-place one, and post
 * the slot's buffer again. */
static inline sk_status_t sk_rpc_slot_repost(struct sk_rpc_peer *p,
					     struct sk_rpc_rslot *s)
{
	if (s->data != s->buf) {
		sk_ep_release(p->ep, s->data);
		s->data = s->buf;
	}
	return sk_post_recv(p->ep, p->rpc->mr, s->buf, SK_RPC_SLOT_SIZE,
			    &s->op);
}

/*
 * Post the header in @m and @len bytes of @data as one inline, unsignaled
 * send: the provider copies the message before returning, so no buffer is
 * held and no completion follows (unless it fails: sk_rpc_inline_done,
 * send.c). The caller checked that SK_RPC_HDR + @len <= rpc->inline_max.
 */
static inline sk_status_t sk_rpc_post_inline(struct sk_rpc_peer *p,
					     union sk_rpc_inl *m,
					     const void *data, size_t len)
{
	if (len)
		memcpy(m->b + SK_RPC_HDR, data, len);
	return sk_post_send(p->ep, NULL, m, SK_RPC_HDR + len,
			    SK_POST_UNSIGNALED, &p->inl_op);
}

/*
 * Shared between the files of rpc/, and not beyond: hidden, so that
 * libskiff_rpc.so exports what include/skiff/rpc.h declares. Listed in
 * the order the files depend on each other, lowest first: each file
 * calls only files above it in this list (and core.c calls up only
 * through the pointers it was handed: completions, timers, handlers,
 * continuations and rpc->take).
 */
#pragma GCC visibility push(hidden)

/* core.c: the rpc's memory and what its peers hold */
char *sk_rpc_slots_get(struct sk_rpc *rpc);
void sk_rpc_slots_put(struct sk_rpc *rpc, char *block);
void sk_rpc_call_finish(struct sk_rpc_call *c);
void sk_rpc_req_release(struct sk_rpc_req *r);
void sk_rpc_peer_fail(struct sk_rpc_peer *p, const char *why);

/* send.c: the send path */
sk_status_t sk_rpc_post(struct sk_rpc_peer *p, void *buf,
			const struct sk_rpc_hdr *h, size_t len, void *owner);
void sk_rpc_inline_done(struct sk_op *op, const struct sk_wc *wc);

/* probe.c: liveness */
void sk_rpc_send_ctl(struct sk_rpc_peer *p, uint8_t type);
void sk_rpc_probe_timer(struct sk_timer *t);

/* large.c: large responses */
sk_status_t sk_rpc_respond_large(struct sk_rpc_req *r, int status,
				 void *buf, size_t len);
void sk_rpc_on_imm(struct sk_rpc_peer *p, struct sk_rpc_rslot *s,
		   uint32_t imm);

/* serve.c: requests and their responses */
int sk_rpc_on_req(struct sk_rpc_peer *p, struct sk_rpc_rslot *s,
		  const struct sk_rpc_hdr *h);

/* recv.c: what arrives */
void sk_rpc_recv_done(struct sk_op *op, const struct sk_wc *wc);

/* close.c: closing and draining */
void sk_rpc_close_timer(struct sk_timer *t);
void sk_rpc_flushed(struct sk_op *op, const struct sk_wc *wc);

/* peer.c: a connection's setup */
sk_status_t sk_rpc_peer_start(struct sk_rpc *rpc, struct sk_ep *ep,
			      char *slots, struct sk_rpc_peer **peer_p);
sk_status_t sk_rpc_peer_wait(struct sk_rpc_peer *p, uint64_t end_ns);
void sk_rpc_peer_abandon(struct sk_rpc_peer *p);

#pragma GCC visibility pop

/* ---- a response arrives (call.c's concern; inlined into
 * sk_rpc_recv_done, on every call's path) ---- */

/* A response message (inline payload) for one of our calls. */
static inline int sk_rpc_on_resp(struct sk_rpc_peer *p,
				 struct sk_rpc_rslot *s,
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

#endif /* SKIFF_RPC_INT_H */
