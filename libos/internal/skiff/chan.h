/*
 * A message channel over one connected endpoint: fixed slots for sends and
 * posted receives, carved from the arena, and the header of hostproto.h.
 * The host-service link of a node and each of the host's per-node links are
 * channels.
 *
 * Receiving: each message is handed to ->on_msg while it still sits in its
 * receive slot. The callback returns true when it is done with it (the slot
 * is posted again at once), or false to say "not now": the channel then
 * keeps the slot and the message, in arrival order, and offers them again
 * when one of its sends completes. A receiver that answers every request
 * therefore needs no buffer beyond its slots when its send slots run out.
 *
 * Errors: the first failed completion (peer death, flush) marks the channel
 * failed and calls ->on_error once; later sends return SK_ERR_FLUSHED.
 */
#ifndef SKIFF_CHAN_H
#define SKIFF_CHAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <skiff/arena.h>
#include <skiff/hostproto.h>
#include <skiff/loop.h>
#include <skiff/verbs.h>

#ifdef __cplusplus
extern "C" {
#endif

struct sk_chan;

typedef bool (*sk_chan_msg_func_t)(struct sk_chan *chan, void *msg,
				   size_t len);
typedef void (*sk_chan_error_func_t)(struct sk_chan *chan, sk_status_t st);
typedef void (*sk_chan_writable_func_t)(struct sk_chan *chan);

#define SK_CHAN_SEND_SLOTS (2 * SK_HMSG_SLOTS)

/* The queue depths a channel's endpoint needs (sk_ep_create_attr): its
 * send slots plus the host's bulk RDMA operations (one per request in
 * flight), and its receive slots. Not the device's default: skrun has
 * such an endpoint per node on one completion queue. */
#define SK_CHAN_EP_ATTR \
	((struct sk_ep_attr){.sq_depth = SK_CHAN_SEND_SLOTS + \
					 SK_HMSG_BULK_DEPTH + 1, \
			     .rq_depth = SK_HMSG_SLOTS})

struct sk_chan_slot {
	struct sk_op    op;
	struct sk_chan *chan;
	char           *buf;
	unsigned        idx;
};

struct sk_chan {
	struct sk_loop        *loop;
	struct sk_ep          *ep;
	const struct sk_mr    *mr;
	sk_chan_msg_func_t      on_msg;
	sk_chan_error_func_t    on_error;
	sk_chan_writable_func_t on_writable; /* may be NULL */
	void                  *user;
	struct sk_chan_slot    rslot[SK_HMSG_SLOTS];
	struct sk_chan_slot    sslot[SK_CHAN_SEND_SLOTS];
	unsigned               sfree[SK_CHAN_SEND_SLOTS]; /* free send slots */
	unsigned               nsfree;
	unsigned               backlog[SK_HMSG_SLOTS]; /* deferred receives */
	unsigned               nbacklog;
	unsigned               pending;  /* posted sends not yet completed */
	bool                   failed;
	uint64_t               sent, received;
};

/*
 * Set up @chan on connected @ep, taking its buffers from @arena, and post
 * the receives. Fill ->on_msg, ->on_error, ->on_writable and ->user first.
 * The channel must stay at this address until sk_chan_cleanup().
 */
sk_status_t sk_chan_init(struct sk_chan *chan, struct sk_loop *loop,
			 struct sk_arena *arena, struct sk_ep *ep);

/*
 * Send one message: @hdr (its ->len is set here) then @len1 bytes at @p1
 * and @len2 at @p2 (either may be NULL/0), copied into a send slot.
 * Returns SK_OK, SK_ERR_AGAIN when every send slot is in flight (run the
 * loop and retry, or wait for ->on_writable), SK_ERR_INVAL if the message
 * exceeds a slot, or SK_ERR_FLUSHED once the channel has failed.
 */
sk_status_t sk_chan_send(struct sk_chan *chan, struct sk_hmsg_hdr *hdr,
			 const void *p1, size_t len1, const void *p2,
			 size_t len2);

/* Whether a send slot is free now. */
static inline bool sk_chan_can_send(const struct sk_chan *chan)
{
	return !chan->failed && chan->nsfree > 0;
}

/* Offer the messages on_msg deferred (returned false for) again, oldest
 * first, while it takes them: for a consumer that made room without a send
 * completing (a send's completion offers them by itself). */
void sk_chan_resume(struct sk_chan *chan);

/* Forget the channel. Its endpoint must be destroyed (or flushed and its
 * completions polled) before its arena memory is reused. */
void sk_chan_cleanup(struct sk_chan *chan);

#ifdef __cplusplus
}
#endif

#endif /* SKIFF_CHAN_H */
