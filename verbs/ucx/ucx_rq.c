/*
 * The receive queue: posted receives are filled in message-number order
 * and report their completions in posting order, flushed on error.
 */

#include "ucx_int.h"

/* ---- receive side ---- */

void ucx_rq_retire(struct ucx_dev *d, struct ucx_ep *e)
{
	while (e->rq_tail != e->rq_match) {
		struct ucx_rq_slot *r = &e->rq[e->rq_tail & e->rq_mask];
		struct sk_wc wc;

		if (!r->done)
			break;
		e->rq_tail++;
		if (e->destroying)
			continue;
		wc = (struct sk_wc){.ctx = r->ctx, .ep = &e->super,
				    .status = r->status, .opcode = r->opcode,
				    .byte_len = r->byte_len, .imm = r->imm,
				    .data = r->data};
		if (wc.status != SK_OK)
			wc.status = e->err_reported
					    ? SK_ERR_FLUSHED
					    : ucx_first_error(e, wc.status);
		ucx_cq_push(d, e, &wc, 1);
	}
}

/* Report receive @seq, whose completion is @wc: straight to the queue
 * when every earlier receive was reported, else through its slot, in
 * order. */
void ucx_rq_report(struct ucx_dev *d, struct ucx_ep *e, uint32_t seq,
		   const struct sk_wc *wc)
{
	struct ucx_rq_slot *r = &e->rq[seq & e->rq_mask];

	if (e->rq_tail == seq && !e->destroying && wc->status == SK_OK) {
		e->rq_tail++;
		ucx_cq_push(d, e, wc, 1);
		return;
	}
	r->seq = seq;
	r->imm = wc->imm;
	r->done = 1;
	r->opcode = wc->opcode;
	r->status = wc->status;
	r->byte_len = wc->byte_len;
	r->data = wc->data;
	ucx_rq_retire(d, e);
}

/* A failed endpoint's posted receives that no message will fill: they
 * complete, flushed (the first error may say why, ucx_first_error). */
void ucx_rq_flush(struct ucx_dev *d, struct ucx_ep *e)
{
	if (e->rq_flush_owed) {
		e->rq_flush_owed = 0;
		d->flush_owed--;
	}
	while (e->rq_match != e->rq_head) {
		uint32_t seq = e->rq_match++;
		struct ucx_rq_slot *r = &e->rq[seq & e->rq_mask];

		r->seq = seq;
		r->opcode = SK_OP_RECV;
		r->status = SK_ERR_FLUSHED;
		r->byte_len = 0;
		r->imm = 0;
		r->data = NULL;
		r->done = 1;
	}
	ucx_rq_retire(d, e);
}

void ucx_flush_failed(struct ucx_dev *d)
{
	for (uint32_t i = 0; i < d->eps.n && d->flush_owed; i++) {
		struct ucx_ep *e = d->eps.eps[i] ? ucx_ep(d->eps.eps[i])
						 : NULL;

		if (e && e->rq_flush_owed)
			ucx_rq_flush(d, e);
	}
}

void ucx_recv_data_cb(void *request, ucs_status_t status,
		      size_t length, void *user_data)
{
	struct ucx_dev *d = ucx_cb_dev;
	struct ucx_rq_slot *r;
	struct ucx_ep *e;
	uint32_t seq;

	ucp_request_free(request);
	if (d == NULL)
		return;
	d->inflight--;
	e = ucx_cookie_ep(d, user_data, &seq);
	if (e == NULL)
		return;
	r = &e->rq[seq & e->rq_mask];
	if (r->seq != seq || r->done)
		return;
	r->status = ucx_status(status);
	r->byte_len = (uint32_t)length;
	r->done = 1;
	if (r->status != SK_OK)
		ucx_ep_fail(e, r->status);
	ucx_rq_retire(d, e);
}

/* Fill the next posted receive with a message. Returns the value for UCX:
 * UCS_OK when the data may be dropped now. */

/* Fill the next posted receive from @m, a message that arrived in order
 * through UCX or the ring, and retire what is complete. UCS_INPROGRESS:
 * a rendezvous descriptor went to ucp_am_recv_data_nbx. */
ucs_status_t ucx_deliver(struct ucx_dev *d, struct ucx_ep *e,
			 const struct ucx_unexp *m)
{
	uint32_t seq = e->rq_match++;
	struct ucx_rq_slot *r = &e->rq[seq & e->rq_mask];
	ucs_status_t ret = UCS_OK;

	e->rx_seq++;
	r->seq = seq;
	r->imm = 0;
	r->status = SK_OK;
	r->done = 1;
	r->data = NULL;
	if (m->kind == UCX_AM_IMM) {
		r->opcode = SK_OP_RECV_IMM;
		r->byte_len = m->hdr.len;
		r->imm = m->hdr.imm;
	} else if (m->length > r->len) {
		r->opcode = SK_OP_RECV;
		r->status = SK_ERR_LOCAL_LENGTH;
		r->byte_len = 0;
		ucx_ep_fail(e, r->status);
	} else if (m->rndv) {
		ucp_request_param_t p = {
			.op_attr_mask = UCP_OP_ATTR_FIELD_CALLBACK |
					UCP_OP_ATTR_FIELD_USER_DATA,
			.cb.recv_am = ucx_recv_data_cb,
			.user_data = ucx_cookie(e, seq),
		};
		ucs_status_ptr_t req;

		r->opcode = SK_OP_RECV;
		r->byte_len = (uint32_t)m->length;
		r->done = 0;
		d->ucp_armed = 0; /* ucx_dev_arm */
		req = ucp_am_recv_data_nbx(d->worker, m->data, r->buf,
					   m->length, &p);
		if (req == NULL) {
			r->done = 1;
		} else if (UCS_PTR_IS_ERR(req)) {
			r->done = 1;
			r->status = ucx_status(UCS_PTR_STATUS(req));
			ucx_ep_fail(e, r->status);
		} else {
			d->inflight++; /* freed by ucx_recv_data_cb */
		}
		ret = UCS_INPROGRESS; /* UCX owns the descriptor now */
	} else {
		r->opcode = SK_OP_RECV;
		r->byte_len = (uint32_t)m->length;
		if (m->length)
			memcpy(r->buf, m->data, m->length);
	}
	ucx_rq_retire(d, e);
	return ret;
}
