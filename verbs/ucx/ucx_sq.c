/*
 * The send queue: slots retire in posting order, whatever order UCX
 * completes their requests in, and an endpoint's error state.
 */

#include "ucx_int.h"

/* ---- send queue: in-order retirement ---- */

/*
 * Move @e into the error state, as an RC QP: new posts complete flushed,
 * and so do its posted receives (at the next poll or post: this runs
 * inside UCX callbacks and deliveries). A failure that no operation of
 * ours caused (peer gone, a bad message, no memory for an early one) is
 * reported by the first error completion in place of "flushed".
 */
void ucx_ep_fail(struct ucx_ep *e, sk_status_t st)
{
	if (e->fail_status == SK_OK)
		e->fail_status = st;
	e->failed = 1;
	if (!e->rq_flush_owed) {
		e->rq_flush_owed = 1;
		ucx_dev(e->super.dev)->flush_owed++;
	}
}

/* The status of @e's first error completion, whose own status is @st;
 * the ones after it are flushed. */
sk_status_t ucx_first_error(struct ucx_ep *e, sk_status_t st)
{
	e->err_reported = 1;
	if (e->stalled)
		st = SK_ERR_RETRY_EXCEEDED; /* the watchdog's verdict */
	else if (st == SK_ERR_FLUSHED && e->fail_status != SK_OK)
		st = e->fail_status;
	ucx_ep_fail(e, st);
	return st;
}

void ucx_sq_retire(struct ucx_dev *d, struct ucx_ep *e)
{
	while (e->sq_tail != e->sq_head) {
		struct ucx_sq_slot *s = &e->sq[e->sq_tail & e->sq_mask];
		struct sk_wc wc;

		if (s->pending)
			break;
		/* The first error is reported as it is; everything retired
		 * after it was flushed, as on an RC QP in the error state. */
		if (e->err_reported)
			s->status = SK_ERR_FLUSHED;
		else if (s->status != SK_OK)
			s->status = ucx_first_error(e, s->status);
		e->sq_tail++;
		if (e->destroying ||
		    (s->status == SK_OK && !s->user_signaled))
			continue;
		wc = (struct sk_wc){.ctx = s->ctx, .ep = &e->super,
				    .status = s->status, .opcode = s->opcode};
		ucx_cq_push(d, e, &wc, 0);
	}
}

void ucx_send_cb(void *request, ucs_status_t status, void *user_data)
{
	struct ucx_dev *d = ucx_cb_dev;
	struct ucx_sq_slot *s;
	struct ucx_ep *e;
	uint32_t seq;

	/* Freed here, not at post time: UCX 1.13 never completes a flush
	 * request released before it finished. */
	ucp_request_free(request);
	if (d == NULL)
		return;
	e = ucx_cookie_ep(d, user_data, &seq);
	if (e == NULL) {
		d->inflight--;
		return;
	}
	s = &e->sq[seq & e->sq_mask];
	if (s->seq != seq || s->pending == 0)
		return; /* completed by force already (ucx_sq_abandon) */
	d->inflight--;
	ucx_slot_note(s, status);
	s->pending--;
	ucx_sq_retire(d, e);
}
