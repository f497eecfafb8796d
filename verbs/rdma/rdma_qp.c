/*
 * The RC queue pair's life, whichever way it is connected: create, INIT,
 * RTR and RTS towards a peer (as ibv_rc_pingpong does; the address vector
 * comes from the peer's blob or from the connection manager's route), and
 * the error state that fails an endpoint.
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


int rdma_qp_init(struct rdma_dev *d, struct ibv_qp *qp)
{
	struct ibv_qp_attr qa = {
		.qp_state = IBV_QPS_INIT,
		.pkey_index = 0,
		.port_num = d->port,
		.qp_access_flags = IBV_ACCESS_REMOTE_WRITE |
				   IBV_ACCESS_REMOTE_READ |
				   IBV_ACCESS_REMOTE_ATOMIC,
	};

	return ibv_modify_qp(qp, &qa, IBV_QP_STATE | IBV_QP_PKEY_INDEX |
					      IBV_QP_PORT |
					      IBV_QP_ACCESS_FLAGS);
}


/* The address vector of a peer's blob: its LID, and on RoCE its GID. */
void rdma_ah_from_blob(const struct rdma_dev *d,
		       const struct rdma_peer_addr *a, struct ibv_ah_attr *ah)
{
	memset(ah, 0, sizeof(*ah));
	ah->dlid = a->lid;
	ah->port_num = d->port;
	if (d->link_layer == IBV_LINK_LAYER_ETHERNET) {
		ah->is_global = 1;
		memcpy(ah->grh.dgid.raw, a->gid, 16);
		ah->grh.sgid_index = (uint8_t)d->gid_index;
		ah->grh.hop_limit = 64;
	}
}


sk_status_t rdma_qp_connect(struct rdma_dev *d, struct rdma_ep *e,
			    const struct ibv_ah_attr *ah, uint32_t qpn,
			    uint32_t psn, enum ibv_mtu mtu)
{
	struct ibv_qp_attr qa;

	memset(&qa, 0, sizeof(qa));
	qa.qp_state = IBV_QPS_RTR;
	qa.path_mtu = mtu < d->mtu ? mtu : d->mtu;
	qa.dest_qp_num = qpn;
	qa.rq_psn = psn;
	qa.max_dest_rd_atomic = d->max_dest_rd_atomic;
	qa.min_rnr_timer = 12;
	qa.ah_attr = *ah;
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


sk_status_t rdma_qp_error(struct rdma_dev *d, struct rdma_ep *e)
{
	struct ibv_qp_attr qa = {.qp_state = IBV_QPS_ERR};

	if (ibv_modify_qp(e->qp, &qa, IBV_QP_STATE)) {
		sk_log_error("rdma: %s: QP to ERR failed: %s", d->name,
			     strerror(errno));
		return sk_status_from_errno(errno);
	}
	return SK_OK;
}
