/*
 * The glue between the endpoints and the same-host shared-memory rings
 * (ring.h): delivery from a ring in message-number order with UCX's
 * stream, in-place delivery and its release, the device's poll list.
 */

#include "ucx_int.h"

/* Tell the sender how far it may write: up to the oldest message still
 * held in place, or everything read. */
static void ucx_ring_give_back(struct ucx_ep *e)
{
	ucx_ring_publish(&e->rx, e->held_head != e->held_tail
					 ? e->held[e->held_tail & e->held_mask]
						   .start
					 : e->rx.rpos);
}

/* A message from the ring into the next posted receive. */
static void ucx_ring_deliver(struct ucx_dev *d, struct ucx_ep *e,
			     uint64_t start, const void *data, uint32_t len)
{
	uint32_t seq = e->rq_match++;
	struct ucx_rq_slot *r = &e->rq[seq & e->rq_mask];
	struct sk_wc wc = {.ctx = r->ctx, .ep = &e->super, .status = SK_OK,
			   .opcode = SK_OP_RECV, .byte_len = len};

	e->rx_seq++;
	if (len > r->len) {
		wc.status = SK_ERR_LOCAL_LENGTH;
		wc.byte_len = 0;
		ucx_ep_fail(e, wc.status);
	} else if (e->inplace && e->held_head - e->held_tail <= e->held_mask) {
		/* Left in the ring: the user releases it. */
		struct ucx_held *h = &e->held[e->held_head++ & e->held_mask];

		h->start = start;
		h->data = (void *)data;
		h->released = 0;
		wc.data = h->data;
	} else {
		memcpy(r->buf, data, len);
	}
	ucx_ring_skip(&e->rx, len);
	if (wc.data == NULL)
		ucx_ring_give_back(e);
	ucx_rq_report(d, e, seq, &wc);
}

/* The user is done with an in-place message: give the sender back the
 * ring up to the oldest one still held. */
void ucx_ep_release(struct sk_ep *ep, void *data)
{
	struct ucx_ep *e = ucx_ep(ep);
	uint32_t i;

	for (i = e->namheld; i-- > 0;) {
		if (e->amheld[i] == data) {
			e->amheld[i] = e->amheld[--e->namheld];
			ucp_am_data_release(ucx_dev(ep->dev)->worker, data);
			return;
		}
	}
	for (i = e->held_tail; i != e->held_head; i++) {
		struct ucx_held *h = &e->held[i & e->held_mask];

		if (h->data == data && !h->released) {
			h->released = 1;
			break;
		}
	}
	if (i == e->held_head) {
		sk_log_error("ucx: endpoint %u: release of %p, which it did not "
			     "deliver in place", e->idx, data);
		return;
	}
	while (e->held_tail != e->held_head &&
	       e->held[e->held_tail & e->held_mask].released)
		e->held_tail++;
	ucx_ring_give_back(e);
}

void ucx_ep_set_inplace(struct sk_ep *ep, int on)
{
	ucx_ep(ep)->inplace = on;
}

/*
 * Deliver, in number order, what waits: held UCX messages and ring
 * messages, as long as receives are posted. The two streams are each in
 * order, so the next message is at the head of one of them.
 */
void ucx_rx_drain(struct ucx_dev *d, struct ucx_ep *e)
{
	while (!e->failed) {
		const char *why = NULL;
		const void *data;
		uint64_t start;
		uint32_t len;

		if (e->uq_tail != e->uq_head &&
		    e->uq[e->uq_tail & e->uq_mask].hdr.seq == e->rx_seq) {
			struct ucx_unexp *m = &e->uq[e->uq_tail & e->uq_mask];

			if (m->kind == UCX_AM_NOP) {
				e->uq_tail++;
				e->rx_seq++;
				continue;
			}
			if (e->rq_match == e->rq_head)
				break;
			e->uq_tail++;

			if (ucx_deliver(d, e, m) == UCS_OK && m->held)
				ucp_am_data_release(d->worker, m->data);
			if (m->owned)
				free(m->data);
			continue;
		}
		if (!e->ring_polled || e->rq_match == e->rq_head)
			break;
		start = e->rx.rpos;
		data = ucx_ring_peek(&e->rx, e->rx_seq, &len, &why);
		if (data == NULL) {
			if (why) {
				sk_log_error("ucx: endpoint %u: bad ring cell "
					     "(%s); endpoint failed", e->idx,
					     why);
				ucx_ep_fail(e, SK_ERR_REMOTE_OP);
			}
			break;
		}
		ucx_ring_deliver(d, e, start, data, len);
	}
}

/* Same-host rings: our identity, the wakeup socket, and a completion
 * channel that covers both UCX's event fd and that socket. Without them
 * the device works as before, through UCX alone. */
void ucx_rings_init(struct ucx_dev *d)
{
	/* Each event names its descriptor: ucx_dev_arm looks at which. */
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = d->efd};
	struct epoll_event wev = {.events = EPOLLIN};

	d->pfd = -1;
	d->host.wake_fd = -1;
	if (!d->ring_on)
		return;
	ucx_ring_host_init(&d->host);
	wev.data.fd = d->host.wake_fd;
	if (d->host.wake_fd >= 0)
		d->pfd = epoll_create1(EPOLL_CLOEXEC);
	if (d->pfd >= 0 &&
	    epoll_ctl(d->pfd, EPOLL_CTL_ADD, d->efd, &ev) == 0 &&
	    epoll_ctl(d->pfd, EPOLL_CTL_ADD, d->host.wake_fd, &wev) == 0)
		return;
	if (d->pfd >= 0)
		close(d->pfd);
	d->pfd = -1;
	ucx_ring_host_cleanup(&d->host);
	d->ring_on = 0;
}

void ucx_rings_cleanup(struct ucx_dev *d)
{
	if (d->pfd >= 0)
		close(d->pfd);
	ucx_ring_host_cleanup(&d->host);
	free(d->rings);
}

sk_status_t ucx_rings_add(struct ucx_dev *d, struct ucx_ep *e)
{
	if (d->nrings == d->rings_cap) {
		uint32_t cap = d->rings_cap ? 2 * d->rings_cap : 16;
		struct ucx_ep **r = realloc(d->rings, cap * sizeof(*r));

		if (r == NULL)
			return SK_ERR_NOMEM;
		d->rings = r;
		d->rings_cap = cap;
	}
	d->rings[d->nrings++] = e;
	e->ring_polled = 1;
	return SK_OK;
}

void ucx_rings_del(struct ucx_dev *d, struct ucx_ep *e)
{
	for (uint32_t i = 0; i < d->nrings; i++) {
		if (d->rings[i] == e) {
			d->rings[i] = d->rings[--d->nrings];
			break;
		}
	}
	e->ring_polled = 0;
}

/* Before sleeping: empty the wakeup socket if @woken (it is readable),
 * then tell the senders and look once more (ring.h). Returns 1 when a
 * message waits. */
int ucx_rings_arm(struct ucx_dev *d, int woken)
{
	if (woken)
		ucx_ring_host_drain(&d->host);
	for (uint32_t i = 0; i < d->nrings; i++)
		if (ucx_ring_rx_arm(&d->rings[i]->rx, d->rings[i]->rx_seq))
			return 1;
	return 0;
}
