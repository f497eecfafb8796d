/*
 * The operations: checks as a NIC would make them, then put, get,
 * atomics, sends and receives posted to UCX or to a ring.
 */

#include "ucx_int.h"

/* ---- operations ---- */

/* Check an operation as a NIC would: local range, remote key, range and
 * rights. Returns the status the operation completes with. */
static sk_status_t ucx_op_check(const struct sk_wr *op)
{
	static const unsigned need[] = {
		[SK_OP_WRITE] = SK_ACCESS_REMOTE_WRITE,
		[SK_OP_WRITE_IMM] = SK_ACCESS_REMOTE_WRITE,
		[SK_OP_READ] = SK_ACCESS_REMOTE_READ,
		[SK_OP_CAS] = SK_ACCESS_REMOTE_ATOMIC,
		[SK_OP_FADD] = SK_ACCESS_REMOTE_ATOMIC,
	};
	const struct ucx_rkey *k;

	if (op->mr && op->len) {
		uintptr_t base = (uintptr_t)op->mr->addr;
		uintptr_t a = (uintptr_t)op->laddr;

		if (a < base || a - base > op->mr->len ||
		    op->len > op->mr->len - (a - base))
			return SK_ERR_LOCAL_ACCESS;
	}
	if (op->rkey == NULL)
		return SK_OK;
	k = sk_container_of(op->rkey, const struct ucx_rkey, super);
	if (k->urkey == NULL || !(k->super.access & need[op->opcode]))
		return SK_ERR_REMOTE_ACCESS;
	if (op->raddr < k->super.addr ||
	    op->raddr - k->super.addr > k->super.len ||
	    op->len > k->super.len - (op->raddr - k->super.addr))
		return SK_ERR_REMOTE_ACCESS;
	return SK_OK;
}

static void ucx_fence_if_dirty(struct ucx_dev *d, struct ucx_ep *e)
{
	if (e->dirty) {
		ucp_worker_fence(d->worker);
		e->dirty = 0;
	}
}

/*
 * A send UCX can finish inside the call (its eager-short protocol: the
 * data is in the peer's FIFO on return) needs no slot, no header kept
 * alive and no callback: ask for exactly that with FORCE_IMM_CMPL. UCX
 * answers NO_RESOURCE when the message is too big for eager-short (or the
 * FIFO is full), having sent nothing; the caller then takes the slot path.
 * A signaled send may skip the send queue only when it is empty, so
 * completions stay in posting order. Returns 1 when the send is done.
 */
/* Whether a send finished in the post may complete outside the send
 * queue: unsignaled, or signaled with nothing before it. */
static int ucx_may_skip_sq(const struct ucx_ep *e, const struct sk_wr *op)
{
	return (op->flags & SK_POST_UNSIGNALED) ||
	       (e->sq_head == e->sq_tail && e->sq_cq <= e->sq_mask);
}

/* A send finished in the post: its completion, if signaled. */
static inline void ucx_send_done_now(struct ucx_dev *d, struct ucx_ep *e,
				     const struct sk_wr *op)
{
	struct sk_wc wc = {.ctx = op->ctx, .ep = &e->super, .status = SK_OK,
			   .opcode = SK_OP_SEND};

	if (!(op->flags & SK_POST_UNSIGNALED))
		ucx_cq_push(d, e, &wc, 0);
}

static int ucx_send_imm(struct ucx_dev *d, struct ucx_ep *e,
			const struct sk_wr *op)
{
	/* Our header and the data, one piece: UCX gathers one element
	 * fewer than with a separate AM header. */
	union {
		struct ucx_am_hdr hdr;
		uint8_t bytes[UCX_MAX_INLINE];
	} msg;
	ucp_request_param_t p; /* UCX reads only the fields the mask names */
	ucs_status_ptr_t ret;

	if (--d->imm_probe == 0) {
		d->imm_probe = UCX_IMM_PROBE;
		d->imm_max = UCX_MAX_INLINE;
	}
	if (op->len + sizeof(msg.hdr) > d->imm_max || e->failed ||
	    e->uep == NULL || !ucx_may_skip_sq(e, op))
		return 0;
	msg.hdr = (struct ucx_am_hdr){.dst_idx = e->peer_idx,
				      .dst_gen = e->peer_gen,
				      .len = (uint32_t)op->len,
				      .seq = e->tx_seq};
	if (op->len)
		memcpy(msg.bytes + sizeof(msg.hdr), op->laddr, op->len);
	ucx_fence_if_dirty(d, e);
	p.op_attr_mask = UCP_OP_ATTR_FLAG_FORCE_IMM_CMPL;
	d->ucp_armed = 0; /* ucx_dev_arm */
	ret = ucp_am_send_nbx(e->uep, UCX_AM_SEND, NULL, 0, msg.bytes,
			      sizeof(msg.hdr) + op->len, &p);
	if (ret != NULL) {
		/* Too big for eager-short (or a full FIFO): stop trying
		 * this size for a while. An error is the slot path's too. */
		if (!UCS_PTR_IS_ERR(ret))
			ucp_request_free(ret); /* not expected; be safe */
		else if (UCS_PTR_STATUS(ret) == UCS_ERR_NO_RESOURCE)
			d->imm_max = op->len + sizeof(msg.hdr) - 1;
		return 0;
	}
	e->tx_seq++;
	e->ring_dirty = 0; /* fenced behind every put before it */
	ucx_send_done_now(d, e, op);
	return 1;
}

/*
 * Same host: straight into the peer's ring, unless a put before it is not
 * known to be visible yet (ring_dirty) or a signaled send would complete
 * before earlier operations. Returns 1 when the send is done.
 */
static int ucx_send_ring(struct ucx_dev *d, struct ucx_ep *e,
			 const struct sk_wr *op)
{
	if (e->nop_owed && e->tx.ctl && !e->failed) {
		e->nop_owed = 0;
		ucx_send_nop(d, e);
	}
	if (e->tx.ctl == NULL || e->ring_dirty || e->failed ||
	    !ucx_may_skip_sq(e, op) || op->len > UINT32_MAX ||
	    !ucx_ring_put(&e->tx, e->tx_seq, op->laddr, (uint32_t)op->len))
		return 0;
	e->tx_seq++;
	if (ucx_ring_must_wake(&e->tx))
		ucx_ring_tx_wake(&e->tx);
	ucx_send_done_now(d, e, op);
	return 1;
}

sk_status_t ucx_post(struct sk_ep *ep, const struct sk_wr *op)
{
	struct ucx_ep *e = ucx_ep(ep);
	struct ucx_dev *d = ucx_dev(ep->dev);
	uint32_t seq = e->sq_head;
	struct ucx_sq_slot *s;
	ucp_request_param_t p;
	ucp_rkey_h urkey = NULL;
	void *laddr = op->laddr;

	if (op->opcode == SK_OP_SEND) {
		if (ucx_send_ring(d, e, op) || ucx_send_imm(d, e, op))
			return SK_OK;
	}
	if (e->sq_head - e->sq_tail + e->sq_cq > e->sq_mask)
		return SK_ERR_AGAIN;
	p = (ucp_request_param_t){
		.op_attr_mask = UCP_OP_ATTR_FIELD_CALLBACK |
				UCP_OP_ATTR_FIELD_USER_DATA,
		.cb.send = ucx_send_cb,
		.user_data = ucx_cookie(e, seq),
	};
	s = &e->sq[seq & e->sq_mask];
	/* Field by field: a compound literal would also zero the 256-byte
	 * bounce buffer on every post, which callgrind shows on a null RPC
	 * (perf/README.md, "Figures behind design choices"). */
	s->ctx = op->ctx;
	s->seq = seq;
	s->opcode = op->opcode;
	s->user_signaled = !(op->flags & SK_POST_UNSIGNALED) ||
			   op->opcode == SK_OP_FLUSH;
	s->pending = 0;
	s->status = SK_OK;
	e->sq_head++;
	if (e->failed) {
		s->status = SK_ERR_FLUSHED;
		goto out;
	}
	s->status = ucx_op_check(op);
	if (s->status != SK_OK)
		goto out;
	if (op->rkey)
		urkey = sk_container_of(op->rkey, const struct ucx_rkey,
					super)->urkey;
	if (op->mr == NULL && op->len) {
		/* Inline: the caller may reuse its buffer on return. */
		memcpy(s->bounce, op->laddr, op->len);
		laddr = s->bounce;
	}

	/* Keep the slot alive across the calls below: a request that
	 * completes inside one of them must not retire it early. */
	s->pending++;
	switch (op->opcode) {
	case SK_OP_WRITE:
		ucx_slot_track(d, s, ucp_put_nbx(e->uep, laddr, op->len,
					      op->raddr, urkey, &p));
		e->dirty = 1;
		e->ring_dirty = 1;
		if (s->user_signaled) {
			ucx_slot_track(d, s, ucp_ep_flush_nbx(e->uep, &p));
			e->dirty = 0;
		}
		break;
	case SK_OP_WRITE_IMM:
		s->hdr = (struct ucx_am_hdr){.dst_idx = e->peer_idx,
					     .dst_gen = e->peer_gen,
					     .imm = op->imm,
					     .len = (uint32_t)op->len,
					     .seq = e->tx_seq++};
		e->ring_dirty = 0; /* its notification is fenced */
		if (op->len)
			ucx_slot_track(d, s, ucp_put_nbx(e->uep, laddr, op->len,
						      op->raddr, urkey, &p));
		ucp_worker_fence(d->worker);
		e->dirty = 0;
		p.op_attr_mask |= UCP_OP_ATTR_FIELD_FLAGS;
		p.flags = UCP_AM_SEND_FLAG_EAGER;
		ucx_slot_track(d, s, ucp_am_send_nbx(e->uep, UCX_AM_IMM, &s->hdr,
						  sizeof(s->hdr), NULL, 0, &p));
		break;
	case SK_OP_READ:
		ucx_fence_if_dirty(d, e);
		ucx_slot_track(d, s, ucp_get_nbx(e->uep, op->laddr, op->len,
					      op->raddr, urkey, &p));
		break;
	case SK_OP_CAS:
	case SK_OP_FADD:
		ucx_fence_if_dirty(d, e);
		p.op_attr_mask |= UCP_OP_ATTR_FIELD_DATATYPE |
				  UCP_OP_ATTR_FIELD_REPLY_BUFFER;
		p.datatype = ucp_dt_make_contig(8);
		p.reply_buffer = op->laddr;
		s->operand = op->compare_add;
		e->ring_dirty = 1;
		if (op->opcode == SK_OP_CAS)
			*(uint64_t *)op->laddr = op->swap;
		ucx_slot_track(d, s, ucp_atomic_op_nbx(
					  e->uep,
					  op->opcode == SK_OP_CAS
						  ? UCP_ATOMIC_OP_CSWAP
						  : UCP_ATOMIC_OP_ADD,
					  &s->operand, 1, op->raddr, urkey,
					  &p));
		break;
	case SK_OP_SEND:
		ucx_fence_if_dirty(d, e);
		s->hdr = (struct ucx_am_hdr){.dst_idx = e->peer_idx,
					     .dst_gen = e->peer_gen,
					     .len = (uint32_t)op->len,
					     .seq = e->tx_seq++};
		e->ring_dirty = 0;
		ucx_slot_track(d, s, ucp_am_send_nbx(e->uep, UCX_AM_SEND, &s->hdr,
						  sizeof(s->hdr), laddr,
						  op->len, &p));
		break;
	case SK_OP_FLUSH:
		ucx_slot_track(d, s, ucp_ep_flush_nbx(e->uep, &p));
		e->dirty = 0;
		break;
	default:
		s->status = SK_ERR_INVAL;
		break;
	}
	s->pending--;
out:
	ucx_sq_retire(d, e);
	return SK_OK;
}

sk_status_t ucx_post_recv(struct sk_ep *ep, const struct sk_mr *mr,
			  void *laddr, size_t len, void *ctx)
{
	struct ucx_ep *e = ucx_ep(ep);
	struct ucx_dev *d = ucx_dev(ep->dev);
	uintptr_t base = (uintptr_t)mr->addr, a = (uintptr_t)laddr;
	struct ucx_rq_slot *r;

	if (e->rq_head - e->rq_tail + e->rq_cq > e->rq_mask)
		return SK_ERR_AGAIN;
	if (len && (a < base || a - base > mr->len ||
		    len > mr->len - (a - base)))
		return SK_ERR_INVAL;
	r = &e->rq[e->rq_head & e->rq_mask];
	r->ctx = ctx;
	r->buf = laddr;
	r->len = len;
	r->done = 0;
	r->data = NULL;
	e->rq_head++;
	if (e->failed)
		ucx_rq_flush(d, e);
	else if (e->uq_tail != e->uq_head || e->ring_polled)
		ucx_rx_drain(d, e);
	return SK_OK;
}

/* verbs.h: what UCX started stays UCX's until it completes (the slot holds
 * its place: completions retire in order); the rest flushes now. */
sk_status_t ucx_ep_cancel(struct sk_ep *ep)
{
	struct ucx_ep *e = ucx_ep(ep);

	ucx_ep_fail(e, SK_ERR_FLUSHED);
	ucx_rq_flush(ucx_dev(ep->dev), e);
	return SK_OK;
}
