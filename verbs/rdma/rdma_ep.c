/*
 * Endpoints: an RC queue pair per endpoint, created on the shared CQ,
 * connected from the peer's packed address (INIT, RTR, RTS, as
 * ibv_rc_pingpong does) or through the connection manager (rdma_cm.c),
 * cancelled into the error state, destroyed.
 */

#include "rdma_int.h"

sk_status_t rdma_ep_create(struct sk_dev *dev, uint32_t sq, uint32_t rq,
			   struct sk_ep **ep_p)
{
	struct rdma_dev *d = rdma_dev(dev);
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
	if (rdma_qp_init(d, e->qp)) {
		sk_log_error("rdma: %s: QP to INIT failed: %s", d->name,
			     strerror(errno));
		st = SK_ERR_IO;
		goto err_destroy_qp;
	}
	if (getrandom(&psn, sizeof(psn), 0) != sizeof(psn))
		psn = (uint32_t)rand();
	e->psn = psn & 0xffffff;
	/* The connection manager's name for the endpoint: random, never 0. */
	while (d->cm_ch != NULL && e->tag == 0)
		if (getrandom(&e->tag, sizeof(e->tag), 0) != sizeof(e->tag))
			e->tag = ((uint64_t)rand() << 32) ^ (uint64_t)rand();
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
	if (d->cm_ch != NULL) {
		memcpy(a.ipv4, d->cm_ip, sizeof(a.ipv4));
		a.cm_port = d->cm_port;
		a.tag = e->tag;
	}
	return rdma_ep_addr_encode(&a, buf, len_p);
}


sk_status_t rdma_ep_connect(struct sk_ep *ep, const void *buf,
			    size_t len)
{
	struct rdma_ep *e = rdma_ep(ep);
	struct rdma_dev *d = rdma_dev(ep->dev);
	struct rdma_peer_addr a;
	struct ibv_ah_attr ah;
	sk_status_t st;

	st = rdma_ep_addr_decode(buf, len, d->link_layer, &a);
	if (st != SK_OK)
		return st;
	/* The connection manager when both ends listen, else the blob: both
	 * sides see both addresses, so both choose alike. */
	if (d->cm_ch != NULL && a.cm_port != 0)
		return rdma_cm_connect(d, e, &a);
	rdma_ah_from_blob(d, &a, &ah);
	return rdma_qp_connect(d, e, &ah, a.qpn, a.psn, (enum ibv_mtu)a.mtu);
}


void rdma_ep_destroy(struct sk_ep *ep)
{
	struct rdma_ep *e = rdma_ep(ep);
	struct rdma_dev *d = rdma_dev(ep->dev);

	rdma_cm_ep_destroy(d, e);
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
	return rdma_qp_error(rdma_dev(ep->dev), rdma_ep(ep));
}
