/*
 * Private to libos: the node's state and its calls to the host (node.c).
 *
 * The parts of libos stack up, each calling only those below it:
 *
 *   boot.c                       boot, finalize, abort: starts the rest
 *   console.c  file.c  seal.c    services a node uses (console.h,
 *   peer.c                         file.h, seal.h, peer.h)
 *   node.c                       the node's state, requests to the host
 *   chan.c  loop.c  arena.c  hostproto.c
 *
 * This header is node.c's alone. Where node.c must reach a part above it
 * (a PEER for peer.c), that part registers a callback here.
 */
#ifndef SKIFF_LIBOS_NODE_H
#define SKIFF_LIBOS_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <skiff/arena.h>
#include <skiff/chan.h>
#include <skiff/hostproto.h>
#include <skiff/loop.h>
#include <skiff/os.h>
#include <skiff/verbs.h>

/* One request to the host, waiting for its reply. */
struct sk_hcall {
	bool     busy;
	bool     done;
	bool     async;    /* nobody waits: the reply only frees the call */
	uint64_t req_id;
	int64_t  result;
	void    *reply;    /* where the reply's payload goes */
	size_t   reply_cap;
	size_t   reply_len;
	/* Called when the reply is in (or the link failed), instead of a
	 * waiter: it must clear ->busy and count the call out. */
	void   (*on_reply)(struct sk_hcall *c);
};

/* A PEER from the host: another node connects to this one (peer.c). */
typedef void (*sk_node_peer_func_t)(const struct sk_hmsg_hdr *h,
				    const void *payload);

struct sk_node {
	bool             booted;
	bool             sealed;
	bool             down;     /* finalized or the host link failed */
	unsigned         rank, size;
	uint64_t         job_id;
	struct sk_dev   *dev;
	struct sk_loop  *loop;
	struct sk_arena *arena;
	struct sk_ep    *host_ep;
	struct sk_chan   chan;
	struct sk_hcall  calls[SK_HMSG_CALL_SLOTS];
	unsigned         ncalls;   /* busy calls */
	uint64_t         next_req;
	char            *bounce;   /* SK_HMSG_BOUNCE_SIZE: bounce_region */
	struct sk_region bounce_region; /* the host reads and writes it */
	/* The host's bulk area for this node, mapped here (BOOT's
	 * descriptor; SK_HIO_HOSTBUF), or NULL: then the bounce region. */
	char            *hostbuf;
	/* Its slices' length words where the host takes SK_HIO_GROW (the
	 * area is that much longer), or NULL. */
	uint32_t        *hostctl;
	size_t           hostbuf_len; /* the whole mapping's */
	uint32_t         chunk;    /* the job's, from BOOT (file.c) */
	/* Bumped by every barrier: file.c's read-ahead, read before it,
	 * is dropped (another node may have written since). */
	unsigned         barriers;

	/* Who takes a PEER: set by peer.c when it posts its LISTEN, which
	 * is what makes the host send them (NULL: a PEER is malformed). */
	sk_node_peer_func_t on_peer;
};

extern struct sk_node sk_node;

/*
 * Send a request and wait for its reply: the reply's payload (at most
 * @reply_cap bytes) lands in @reply, its length in *@reply_len_p (may be
 * NULL). Returns the reply's result (>= 0, or a negated errno), or
 * -ENOTCONN when the host link is down, -EIO when the reply was malformed.
 */
int64_t sk_node_call(uint16_t type, uint16_t flags, const void *p1,
		     size_t len1, const void *p2, size_t len2, void *reply,
		     size_t reply_cap, size_t *reply_len_p);
/* The host channel's callbacks (node.c). */
bool sk_node_on_msg(struct sk_chan *chan, void *msg, size_t len);
void sk_node_on_error(struct sk_chan *chan, sk_status_t st);

/* Send a request and return its call (NULL when the link is down): wait
 * for ->done by running the loop, then clear ->busy and count it out of
 * sk_node.ncalls (sk_node_call does). An @async call frees itself. */
struct sk_hcall *sk_node_send(uint16_t type, uint16_t flags, const void *p1,
			      size_t len1, const void *p2, size_t len2,
			      bool async);
/* Send a request whose reply nobody waits for (console output). Returns
 * 0 or -ENOTCONN. */
int sk_node_post(uint16_t type, uint16_t flags, const void *p1, size_t len1);
/* Wait until every request sent so far has its reply. */
void sk_node_drain(void);
/* The job's barrier (sk_os_barrier, sk_fsync_all), after sk_node_drain.
 * 0, or -ENOTCONN. */
int sk_node_barrier(void);
/* The same, for at most @ms milliseconds (crash paths). */
void sk_node_drain_ms(unsigned ms);

/* Whether calls to the host can go: booted, and neither finalized nor
 * cut off from the host. */
static inline bool sk_node_linked(void)
{
	return sk_node.booted && !sk_node.down;
}

#endif /* SKIFF_LIBOS_NODE_H */
