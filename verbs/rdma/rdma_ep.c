/*
 * Endpoints: an RC queue pair per endpoint, created on the shared CQ,
 * connected from the peer's packed address (INIT, RTR, RTS, as
 * ibv_rc_pingpong does), cancelled into the error state, destroyed.
 */

#include "rdma_int.h"

struct ibv_qp *rdma_qp_create(struct rdma_dev *d, uint32_t sq,
			      uint32_t rq, uint32_t *inline_p)
{
	struct ibv_qp_init_attr ia = {
		.send_cq = d->cq,
		.recv_cq = d->cq,
		.cap = {.max_send_wr = sq,
			.max_recv_wr = rq,
			.max_send_sge = 1,
			.max_recv_sge = 1,
			.max_inline_data = *inline_p},
		.qp_type = IBV_QPT_RC,
		.sq_sig_all = 0,
	};
	struct ibv_qp *qp = ibv_create_qp(d->pd, &ia);

	if (qp)
		*inline_p = ia.cap.max_inline_data;
	return qp;
}


sk_status_t rdma_ep_create(struct sk_dev *dev, uint32_t sq, uint32_t rq,
			   struct sk_ep **ep_p)
{
	struct rdma_dev *d = rdma_dev(dev);
	struct ibv_qp_attr qa = {
		.qp_state = IBV_QPS_INIT,
		.pkey_index = 0,
		.port_num = d->port,
		.qp_access_flags = IBV_ACCESS_REMOTE_WRITE |
				   IBV_ACCESS_REMOTE_READ |
				   IBV_ACCESS_REMOTE_ATOMIC,
	};
	uint32_t inl = d->max_inline, psn;
	struct rdma_ep *e;
	sk_status_t st;

	e = calloc(1, sizeof(*e));
	if (e == NULL)
		return SK_ERR_NOMEM;
	e->sq = calloc(sq, sizeof(*e->sq));
	e->rq_ctx = calloc(rq, sizeof(*e->rq_ctx));
	if (e->sq == NULL || e->rq_ctx == NULL) {
		st = SK_ERR_NOMEM;
		goto err_free;
	}
	st = rdma_cq_reserve(d, (int)(sq + rq));
	if (st != SK_OK)
		goto err_free;
	e->qp = rdma_qp_create(d, sq, rq, &inl);
	if (e->qp == NULL) {
		sk_log_error("rdma: %s: cannot create a queue pair: %s",
			     d->name, strerror(errno));
		st = sk_status_from_errno(errno);
		goto err_unreserve;
	}
	if (ibv_modify_qp(e->qp, &qa, IBV_QP_STATE | IBV_QP_PKEY_INDEX |
					      IBV_QP_PORT |
					      IBV_QP_ACCESS_FLAGS)) {
		sk_log_error("rdma: %s: QP to INIT failed: %s", d->name,
			     strerror(errno));
		st = SK_ERR_IO;
		goto err_destroy_qp;
	}
	if (getrandom(&psn, sizeof(psn), 0) != sizeof(psn))
		psn = (uint32_t)rand();
	e->psn = psn & 0xffffff;
	e->sq_mask = sq - 1;
	e->rq_mask = rq - 1;
	e->super.dev = dev;
	st = sk_ep_table_add(&d->eps, &e->super, &e->idx, &e->gen);
	if (st != SK_OK)
		goto err_destroy_qp;
	*ep_p = &e->super;
	return SK_OK;

err_destroy_qp:
	ibv_destroy_qp(e->qp);
err_unreserve:
	d->cq_need -= (int)(sq + rq);
err_free:
	free(e->rq_ctx);
	free(e->sq);
	free(e);
	return st;
}


sk_status_t rdma_ep_addr_pack(const struct sk_ep *ep, void *buf,
			      size_t *len_p)
{
	const struct rdma_ep *e = sk_container_of(ep, const struct rdma_ep,
						  super);
	const struct rdma_dev *d = sk_container_of(ep->dev,
						   const struct rdma_dev, super);
	struct rdma_peer_addr a = {.qpn = e->qp->qp_num, .psn = e->psn,
				   .lid = d->lid, .link_layer = d->link_layer,
				   .mtu = (uint8_t)d->mtu};

	memcpy(a.gid, d->gid.raw, sizeof(a.gid));
	return rdma_ep_addr_encode(&a, buf, len_p);
}


sk_status_t rdma_ep_connect(struct sk_ep *ep, const void *buf,
			    size_t len)
{
	struct rdma_ep *e = rdma_ep(ep);
	struct rdma_dev *d = rdma_dev(ep->dev);
	struct rdma_peer_addr a;
	struct ibv_qp_attr qa;
	sk_status_t st;

	st = rdma_ep_addr_decode(buf, len, d->link_layer, &a);
	if (st != SK_OK)
		return st;

	memset(&qa, 0, sizeof(qa));
	qa.qp_state = IBV_QPS_RTR;
	qa.path_mtu = a.mtu < d->mtu ? (enum ibv_mtu)a.mtu : d->mtu;
	qa.dest_qp_num = a.qpn;
	qa.rq_psn = a.psn;
	qa.max_dest_rd_atomic = d->max_dest_rd_atomic;
	qa.min_rnr_timer = 12;
	qa.ah_attr.dlid = a.lid;
	qa.ah_attr.port_num = d->port;
	if (d->link_layer == IBV_LINK_LAYER_ETHERNET) {
		qa.ah_attr.is_global = 1;
		memcpy(qa.ah_attr.grh.dgid.raw, a.gid, 16);
		qa.ah_attr.grh.sgid_index = (uint8_t)d->gid_index;
		qa.ah_attr.grh.hop_limit = 64;
	}
	if (ibv_modify_qp(e->qp, &qa,
			  IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU |
				  IBV_QP_DEST_QPN | IBV_QP_RQ_PSN |
				  IBV_QP_MAX_DEST_RD_ATOMIC |
				  IBV_QP_MIN_RNR_TIMER)) {
		sk_log_error("rdma: %s: QP to RTR failed: %s", d->name,
			     strerror(errno));
		return SK_ERR_IO;
	}
	memset(&qa, 0, sizeof(qa));
	qa.qp_state = IBV_QPS_RTS;
	qa.timeout = d->timeout;
	qa.retry_cnt = d->retry_cnt;
	qa.rnr_retry = 7; /* infinite: a send waits for a receive */
	qa.sq_psn = e->psn;
	qa.max_rd_atomic = d->max_rd_atomic;
	if (ibv_modify_qp(e->qp, &qa,
			  IBV_QP_STATE | IBV_QP_TIMEOUT | IBV_QP_RETRY_CNT |
				  IBV_QP_RNR_RETRY | IBV_QP_SQ_PSN |
				  IBV_QP_MAX_QP_RD_ATOMIC)) {
		sk_log_error("rdma: %s: QP to RTS failed: %s", d->name,
			     strerror(errno));
		return SK_ERR_IO;
	}
	return SK_OK;
}


void rdma_ep_destroy(struct sk_ep *ep)
{
	struct rdma_ep *e = rdma_ep(ep);
	struct rdma_dev *d = rdma_dev(ep->dev);

	if (ibv_destroy_qp(e->qp))
		sk_log_error("rdma: %s: destroying a QP failed: %s", d->name,
			     strerror(errno));
	sk_ep_table_del(&d->eps, e->idx);
	d->cq_need -= (int)(e->sq_mask + 1 + e->rq_mask + 1);
	free(e->rq_ctx);
	free(e->sq);
	free(e);
}


sk_status_t rdma_ep_cancel(struct sk_ep *ep)
{
	struct rdma_ep *e = rdma_ep(ep);
	struct ibv_qp_attr qa = {.qp_state = IBV_QPS_ERR};

	if (ibv_modify_qp(e->qp, &qa, IBV_QP_STATE)) {
		sk_log_error("rdma: %s: QP to ERR failed: %s",
			     rdma_dev(ep->dev)->name, strerror(errno));
		return sk_status_from_errno(errno);
	}
	return SK_OK;
}
