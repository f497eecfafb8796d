/*
 * Posting: write, write_imm, read, atomics, send and flush become ibv work
 * requests on the send queue, numbered for in-order retirement;
 * receives go on the receive queue.
 */

#include "rdma_int.h"

sk_status_t rdma_post(struct sk_ep *ep, const struct sk_wr *op)
{
	struct rdma_ep *e = rdma_ep(ep);
	struct rdma_dev *d = rdma_dev(ep->dev);
	const struct rdma_rkey *k = op->rkey
		? sk_container_of(op->rkey, const struct rdma_rkey, super)
		: NULL;
	struct ibv_sge sge;
	struct ibv_send_wr wr, *bad;
	struct rdma_sq_slot *slot;
	int user_signaled = !(op->flags & SK_POST_UNSIGNALED);
	int err;

	if (e->sq_head - e->sq_tail > e->sq_mask)
		return SK_ERR_AGAIN;

	memset(&wr, 0, sizeof(wr));
	wr.wr_id = rdma_wr_id(e, e->sq_head & RDMA_SEQ_MASK);
	if (op->len) {
		sge.addr = (uintptr_t)op->laddr;
		sge.length = (uint32_t)op->len;
		sge.lkey = op->mr ? sk_container_of(op->mr,
						     const struct rdma_mr,
						     super)->mr->lkey
				  : 0;
		wr.sg_list = &sge;
		wr.num_sge = 1;
	}
	switch (op->opcode) {
	case SK_OP_WRITE:
		wr.opcode = IBV_WR_RDMA_WRITE;
		break;
	case SK_OP_WRITE_IMM:
		wr.opcode = IBV_WR_RDMA_WRITE_WITH_IMM;
		wr.imm_data = htonl(op->imm);
		break;
	case SK_OP_READ:
		wr.opcode = IBV_WR_RDMA_READ;
		break;
	case SK_OP_CAS:
		wr.opcode = IBV_WR_ATOMIC_CMP_AND_SWP;
		break;
	case SK_OP_FADD:
		wr.opcode = IBV_WR_ATOMIC_FETCH_AND_ADD;
		break;
	case SK_OP_SEND:
		wr.opcode = IBV_WR_SEND;
		break;
	case SK_OP_FLUSH:
		/* A zero-length write carries no key (IBTA C9-88); its ACK
		 * comes after every earlier request on the QP executed. */
		wr.opcode = IBV_WR_RDMA_WRITE;
		user_signaled = 1;
		break;
	default:
		return SK_ERR_INVAL;
	}
	if (op->opcode == SK_OP_CAS || op->opcode == SK_OP_FADD) {
		wr.wr.atomic.remote_addr = op->raddr;
		wr.wr.atomic.rkey = k->rkey;
		wr.wr.atomic.compare_add = op->compare_add;
		wr.wr.atomic.swap = op->swap;
	} else if (k) {
		wr.wr.rdma.remote_addr = op->raddr;
		wr.wr.rdma.rkey = k->rkey;
	}
	if ((op->opcode == SK_OP_WRITE || op->opcode == SK_OP_WRITE_IMM ||
	     op->opcode == SK_OP_SEND) && op->len && op->len <= d->max_inline)
		wr.send_flags |= IBV_SEND_INLINE;
	if (user_signaled || ++e->unsignaled_run >= (e->sq_mask + 1) / 2) {
		wr.send_flags |= IBV_SEND_SIGNALED;
		e->unsignaled_run = 0;
	}
	err = ibv_post_send(e->qp, &wr, &bad);
	if (err) {
		sk_log_error("rdma: %s: post %s failed: %s", d->name,
			     sk_opcode_str(op->opcode), strerror(err));
		return sk_status_from_errno(err);
	}
	slot = &e->sq[e->sq_head & e->sq_mask];
	slot->ctx = op->ctx;
	slot->opcode = op->opcode;
	slot->user_signaled = (uint32_t)user_signaled;
	e->sq_head++;
	if (wr.send_flags & IBV_SEND_SIGNALED)
		e->sig_end = e->sq_head;
	return SK_OK;
}


sk_status_t rdma_post_recv(struct sk_ep *ep, const struct sk_mr *mr,
			   void *laddr, size_t len, void *ctx)
{
	struct rdma_ep *e = rdma_ep(ep);
	struct rdma_dev *d = rdma_dev(ep->dev);
	struct ibv_sge sge = {
		.addr = (uintptr_t)laddr,
		.length = (uint32_t)len,
		.lkey = sk_container_of(mr, const struct rdma_mr, super)->mr->lkey,
	};
	struct ibv_recv_wr wr = {.sg_list = &sge, .num_sge = len ? 1 : 0};
	struct ibv_recv_wr *bad;
	int err;

	if (e->rq_head - e->rq_tail > e->rq_mask)
		return SK_ERR_AGAIN;
	wr.wr_id = rdma_wr_id(e, RDMA_SEQ_RECV | (e->rq_head & RDMA_SEQ_MASK));
	err = ibv_post_recv(e->qp, &wr, &bad);
	if (err) {
		sk_log_error("rdma: %s: post recv failed: %s", d->name,
			     strerror(err));
		return sk_status_from_errno(err);
	}
	e->rq_ctx[e->rq_head & e->rq_mask] = ctx;
	e->rq_head++;
	return SK_OK;
}
