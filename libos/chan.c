/*
 * Message channels: send and receive slots over one endpoint.
 *
 * Receive completions come back in arrival order (completions of one
 * endpoint are ordered), so the backlog of deferred messages is a FIFO of
 * slot indexes and the order a service sees is the order the peer sent.
 */
#include <stdio.h>
#include <string.h>

#include <skiff/chan.h>

static void sk_chan_fail(struct sk_chan *chan, sk_status_t st)
{
	if (chan->failed)
		return;
	chan->failed = true;
	chan->on_error(chan, st);
}

static void sk_chan_repost(struct sk_chan *chan, struct sk_chan_slot *s)
{
	sk_status_t st;

	if (chan->failed)
		return;
	st = sk_post_recv(chan->ep, chan->mr, s->buf, SK_HMSG_SLOT_SIZE,
			  &s->op);
	if (st != SK_OK)
		sk_chan_fail(chan, st);
}

/* Offer deferred messages again, oldest first, while they are taken
 * (chan.h). */
void sk_chan_resume(struct sk_chan *chan)
{
	while (chan->nbacklog > 0 && !chan->failed) {
		struct sk_chan_slot *s = &chan->rslot[chan->backlog[0]];
		const struct sk_hmsg_hdr *h = (const void *)s->buf;

		if (!chan->on_msg(chan, s->buf, sizeof(*h) + h->len))
			return;
		chan->nbacklog--;
		memmove(chan->backlog, chan->backlog + 1,
			chan->nbacklog * sizeof(chan->backlog[0]));
		sk_chan_repost(chan, s);
	}
}

static void sk_chan_recv_done(struct sk_op *op, const struct sk_wc *wc)
{
	struct sk_chan_slot *s = (struct sk_chan_slot *)op;
	struct sk_chan *chan = s->chan;

	if (wc->status != SK_OK) {
		sk_chan_fail(chan, wc->status);
		return;
	}
	chan->received++;
	if (chan->nbacklog > 0 ||
	    !chan->on_msg(chan, s->buf, wc->byte_len)) {
		/* The length is re-read from the header when offered again;
		 * on_msg has validated it against byte_len already only if
		 * it took the message, so store the true length. */
		struct sk_hmsg_hdr *h = (void *)s->buf;

		if (wc->byte_len < sizeof(*h) ||
		    h->len != wc->byte_len - sizeof(*h)) {
			/* Malformed: let on_msg judge it now, with the real
			 * length, rather than defer it. */
			if (chan->on_msg(chan, s->buf, wc->byte_len))
				sk_chan_repost(chan, s);
			return;
		}
		chan->backlog[chan->nbacklog++] = s->idx;
		return;
	}
	sk_chan_repost(chan, s);
}

static void sk_chan_send_done(struct sk_op *op, const struct sk_wc *wc)
{
	struct sk_chan_slot *s = (struct sk_chan_slot *)op;
	struct sk_chan *chan = s->chan;

	chan->pending--;
	chan->sfree[chan->nsfree++] = s->idx;
	if (wc->status != SK_OK) {
		sk_chan_fail(chan, wc->status);
		return;
	}
	sk_chan_resume(chan);
	if (chan->nbacklog == 0 && chan->on_writable && !chan->failed)
		chan->on_writable(chan);
}

sk_status_t sk_chan_init(struct sk_chan *chan, struct sk_loop *loop,
			 struct sk_arena *arena, struct sk_ep *ep)
{
	size_t n = SK_HMSG_SLOTS + SK_CHAN_SEND_SLOTS;
	char *buf;
	unsigned i;
	sk_status_t st;

	buf = sk_arena_alloc(arena, n * SK_HMSG_SLOT_SIZE, 4096);
	if (buf == NULL)
		return SK_ERR_NOMEM;
	chan->loop = loop;
	chan->ep = ep;
	chan->mr = sk_arena_mr(arena);
	chan->nbacklog = 0;
	chan->pending = 0;
	chan->failed = false;
	chan->sent = chan->received = 0;
	for (i = 0; i < SK_CHAN_SEND_SLOTS; i++) {
		struct sk_chan_slot *s = &chan->sslot[i];

		s->op.done = sk_chan_send_done;
		s->chan = chan;
		s->idx = i;
		s->buf = buf + (size_t)i * SK_HMSG_SLOT_SIZE;
		chan->sfree[i] = SK_CHAN_SEND_SLOTS - 1 - i;
	}
	chan->nsfree = SK_CHAN_SEND_SLOTS;
	buf += (size_t)SK_CHAN_SEND_SLOTS * SK_HMSG_SLOT_SIZE;
	for (i = 0; i < SK_HMSG_SLOTS; i++) {
		struct sk_chan_slot *s = &chan->rslot[i];

		s->op.done = sk_chan_recv_done;
		s->chan = chan;
		s->idx = i;
		s->buf = buf + (size_t)i * SK_HMSG_SLOT_SIZE;
		st = sk_post_recv(ep, chan->mr, s->buf, SK_HMSG_SLOT_SIZE,
				  &s->op);
		if (st != SK_OK)
			return st;
	}
	return SK_OK;
}

sk_status_t sk_chan_send(struct sk_chan *chan, struct sk_hmsg_hdr *hdr,
			 const void *p1, size_t len1, const void *p2,
			 size_t len2)
{
	struct sk_chan_slot *s;
	sk_status_t st;
	char *p;

	if (chan->failed)
		return SK_ERR_FLUSHED;
	if (len1 > SK_HMSG_PAYLOAD_MAX || len2 > SK_HMSG_PAYLOAD_MAX - len1)
		return SK_ERR_INVAL;
	if (chan->nsfree == 0)
		return SK_ERR_AGAIN;
	s = &chan->sslot[chan->sfree[--chan->nsfree]];
	hdr->len = (uint32_t)(len1 + len2);
	p = s->buf;
	memcpy(p, hdr, sizeof(*hdr));
	p += sizeof(*hdr);
	if (len1)
		memcpy(p, p1, len1);
	if (len2)
		memcpy(p + len1, p2, len2);
	st = sk_post_send(chan->ep, chan->mr, s->buf,
			  sizeof(*hdr) + len1 + len2, 0, &s->op);
	if (st != SK_OK) {
		chan->sfree[chan->nsfree++] = s->idx;
		/* Other than a full queue, the endpoint cannot carry this
		 * message, so not the ones after it either: the channel has
		 * failed, as when a completion says so. Going on would lose
		 * this message and keep the next (a console line dropped
		 * from the middle of the output, found by the fault walk). */
		if (st != SK_ERR_AGAIN)
			sk_chan_fail(chan, st);
		return st;
	}
	chan->pending++;
	chan->sent++;
	return SK_OK;
}

void sk_chan_cleanup(struct sk_chan *chan)
{
	chan->failed = true;
	chan->nbacklog = 0;
}
