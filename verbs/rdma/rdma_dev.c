/*
 * The device: finding and opening the ibv device, its port, GID, MTU and
 * settings, the protection domain, CQ and channel, and the provider's
 * operations table.
 */

#include "rdma_int.h"

static sk_status_t rdma_cfg_port(uint8_t *port_p)
{
	unsigned long v;
	sk_status_t st = sk_config_ulong("SKIFF_RDMA_PORT", 1, 255, &v);

	if (st == SK_OK)
		*port_p = (uint8_t)v;
	return st;
}


static int rdma_list(struct sk_dev_info *info, int max)
{
	struct ibv_device **list;
	uint8_t port = 1;
	int n = 0;

	if (rdma_cfg_port(&port) != SK_OK)
		port = 1;
	list = ibv_get_device_list(&n);
	if (list == NULL)
		return 0;
	for (int i = 0; i < n && i < max; i++) {
		struct ibv_context *ctx = ibv_open_device(list[i]);
		struct ibv_port_attr pattr;

		snprintf(info[i].name, sizeof(info[i].name), "%s",
			 ibv_get_device_name(list[i]));
		snprintf(info[i].transport, sizeof(info[i].transport), "?");
		info[i].usable = 0;
		if (ctx == NULL)
			continue;
		if (ibv_query_port(ctx, port, &pattr) == 0) {
			snprintf(info[i].transport, sizeof(info[i].transport),
				 "%s, port %u %s",
				 rdma_link_layer_str(pattr.link_layer), port,
				 pattr.state == IBV_PORT_ACTIVE ? "ACTIVE"
								: "down");
			info[i].usable = pattr.state == IBV_PORT_ACTIVE;
		}
		ibv_close_device(ctx);
	}
	ibv_free_device_list(list);
	return n;
}


/* Pick the GID: SKIFF_RDMA_GID_INDEX, else a RoCE v2 IPv4 one, else any
 * RoCE v2, else index 0 (InfiniBand routes by LID and needs no GRH). */
static sk_status_t rdma_pick_gid(struct rdma_dev *d, int tbl_len)
{
	const char *cfg = sk_config_str("SKIFF_RDMA_GID_INDEX");
	int best = -1, best_score = -1;

	if (strcmp(cfg, "auto") != 0) {
		unsigned long v;
		sk_status_t st = sk_config_ulong("SKIFF_RDMA_GID_INDEX", 0,
						 (unsigned long)tbl_len - 1,
						 &v);
		if (st != SK_OK)
			return st;
		d->gid_index = (int)v;
	} else if (d->link_layer != IBV_LINK_LAYER_ETHERNET) {
		d->gid_index = 0;
	} else {
		for (int i = 0; i < tbl_len; i++) {
			struct ibv_gid_entry e;
			int score;

			if (ibv_query_gid_ex(d->ctx, d->port, i, &e, 0))
				continue;
			if (e.gid_type == IBV_GID_TYPE_ROCE_V2)
				score = rdma_gid_is_ipv4(&e.gid) ? 3 : 2;
			else
				score = 1;
			if (score > best_score) {
				best = i;
				best_score = score;
			}
		}
		if (best < 0) {
			sk_log_error("%s: port %u has no usable GID (is the "
				     "netdev up with an address?)", d->name,
				     d->port);
			return SK_ERR_NODEV;
		}
		d->gid_index = best;
	}
	if (ibv_query_gid(d->ctx, d->port, d->gid_index, &d->gid)) {
		sk_log_error("%s: cannot read GID %d of port %u", d->name,
			     d->gid_index, d->port);
		return SK_ERR_NODEV;
	}
	return SK_OK;
}


static sk_status_t rdma_read_config(struct rdma_dev *d,
				    const struct ibv_port_attr *pattr,
				    const struct ibv_device_attr *dattr)
{
	unsigned long sq, rq, inl, to, retry, rd, stall, cmto, mtu = 0;
	const char *mtu_cfg = sk_config_str("SKIFF_RDMA_MTU");
	sk_status_t st;

	if ((st = sk_config_ulong("SKIFF_SQ_DEPTH", 2, 32768, &sq)) ||
	    (st = sk_config_ulong("SKIFF_RQ_DEPTH", 1, 32768, &rq)) ||
	    (st = sk_config_ulong("SKIFF_RDMA_MAX_INLINE", 0, 4096, &inl)) ||
	    (st = sk_config_ulong("SKIFF_RDMA_TIMEOUT", 1, 31, &to)) ||
	    (st = sk_config_ulong("SKIFF_RDMA_RETRY_CNT", 0, 7, &retry)) ||
	    (st = sk_config_ulong("SKIFF_RDMA_RD_ATOMIC", 1, 255, &rd)) ||
	    (st = sk_config_ulong("SKIFF_STALL_MS", 0, 86400000, &stall)) ||
	    (st = sk_config_ulong("SKIFF_RDMA_CM_TIMEOUT_MS", 10, 600000,
				  &cmto)))
		return st;
	d->cm_timeout_ms = (uint32_t)cmto;
	/* The stall watchdog is for devices that never fail a dead peer
	 * (verbs.h). A hardware NIC does, after timeout * (retry_cnt + 1)
	 * (SKIFF_RDMA_TIMEOUT, _RETRY_CNT: about 0.5 s by default), and there
	 * the watchdog could only misfire: a send that waits for the peer's
	 * receive (RNR, retried forever as verbs.h promises) is not a dead
	 * peer. So unless SKIFF_STALL_MS is set, it guards Soft-RoCE only,
	 * whose requests to a dead peer never complete (Linux 6.1). rxe
	 * says so by its vendor id: 0xffffff in current kernels (IBTA's
	 * "no vendor"), 0 in older ones; no hardware NIC uses either. getenv, not the
	 * table's default: "set" is what decides here. */
	if (getenv("SKIFF_STALL_MS") == NULL && dattr->vendor_id != 0xffffff &&
	    dattr->vendor_id != 0)
		stall = 0;
	d->stall_ns = stall * 1000000ull;
	if (strcmp(mtu_cfg, "auto") != 0) {
		if ((st = sk_config_ulong("SKIFF_RDMA_MTU", 256, 4096, &mtu)))
			return st;
		switch (mtu) {
		case 256: d->mtu = IBV_MTU_256; break;
		case 512: d->mtu = IBV_MTU_512; break;
		case 1024: d->mtu = IBV_MTU_1024; break;
		case 2048: d->mtu = IBV_MTU_2048; break;
		case 4096: d->mtu = IBV_MTU_4096; break;
		default:
			sk_log_error("SKIFF_RDMA_MTU=%lu: use 256, 512, 1024, "
				     "2048 or 4096", mtu);
			return SK_ERR_CONFIG;
		}
		if (d->mtu > pattr->active_mtu)
			d->mtu = pattr->active_mtu;
	} else {
		d->mtu = pattr->active_mtu;
	}
	/* Rings are powers of two; the device caps them. */
	d->sq_depth = 1;
	while (d->sq_depth < sq)
		d->sq_depth <<= 1;
	d->rq_depth = 1;
	while (d->rq_depth < rq)
		d->rq_depth <<= 1;
	if (d->sq_depth > (uint32_t)dattr->max_qp_wr ||
	    d->rq_depth > (uint32_t)dattr->max_qp_wr) {
		sk_log_error("%s: SKIFF_SQ_DEPTH/SKIFF_RQ_DEPTH above the "
			     "device's max_qp_wr %d", d->name,
			     dattr->max_qp_wr);
		return SK_ERR_CONFIG;
	}
	d->max_inline = (uint32_t)inl;
	d->timeout = (uint8_t)to;
	d->retry_cnt = (uint8_t)retry;
	d->max_rd_atomic = (uint8_t)(rd < (unsigned long)dattr->max_qp_init_rd_atom
					     ? rd : (unsigned long)dattr->max_qp_init_rd_atom);
	d->max_dest_rd_atomic = (uint8_t)(rd < (unsigned long)dattr->max_qp_rd_atom
						  ? rd : (unsigned long)dattr->max_qp_rd_atom);
	return SK_OK;
}


/* The driver may refuse the inline size we ask for: find what it takes. */
static sk_status_t rdma_probe_inline(struct rdma_dev *d)
{
	uint32_t want = d->max_inline;

	for (;;) {
		uint32_t got = want;
		struct ibv_qp *qp = rdma_qp_create(d, d->sq_depth,
						   d->rq_depth, &got);

		if (qp) {
			ibv_destroy_qp(qp);
			d->max_inline = got < want ? got : want;
			return SK_OK;
		}
		if (want == 0) {
			sk_log_error("%s: cannot create an RC queue pair: %s",
				     d->name, strerror(errno));
			return sk_status_from_errno(errno);
		}
		want /= 2;
	}
}


static struct ibv_device *rdma_find_device(struct ibv_device **list, int n,
					   const char *name, uint8_t port)
{
	for (int i = 0; i < n; i++) {
		struct ibv_context *ctx;
		struct ibv_port_attr pattr;
		int active;

		if (name)
			if (strcmp(ibv_get_device_name(list[i]), name) == 0)
				return list[i];
		if (name)
			continue;
		ctx = ibv_open_device(list[i]);
		if (ctx == NULL)
			continue;
		active = ibv_query_port(ctx, port, &pattr) == 0 &&
			 pattr.state == IBV_PORT_ACTIVE;
		ibv_close_device(ctx);
		if (active)
			return list[i];
	}
	return NULL;
}


static sk_status_t rdma_dev_open(const char *device, struct sk_dev **dev_p)
{
	struct ibv_device_attr dattr;
	struct ibv_port_attr pattr;
	struct ibv_device **list;
	struct ibv_device *ibdev;
	struct rdma_dev *d;
	sk_status_t st;
	int n = 0, flags;

	d = calloc(1, sizeof(*d));
	if (d == NULL)
		return SK_ERR_NOMEM;
	st = rdma_cfg_port(&d->port);
	if (st != SK_OK)
		goto err_free;

	list = ibv_get_device_list(&n);
	if (list == NULL || n == 0) {
		sk_log_error("rdma: no RDMA device found (is a driver loaded, "
			     "e.g. 'rdma link add rxe0 type rxe netdev eth0'?)");
		st = SK_ERR_NODEV;
		goto err_free_list;
	}
	ibdev = rdma_find_device(list, n, device, d->port);
	if (ibdev == NULL) {
		if (device)
			sk_log_error("rdma: no device named '%s'", device);
		else
			sk_log_error("rdma: no device with an active port %u",
				     d->port);
		st = SK_ERR_NODEV;
		goto err_free_list;
	}
	snprintf(d->name, sizeof(d->name), "%s", ibv_get_device_name(ibdev));
	d->ctx = ibv_open_device(ibdev);
	if (d->ctx == NULL) {
		sk_log_error("rdma: cannot open %s: %s", d->name,
			     strerror(errno));
		st = SK_ERR_NODEV;
		goto err_free_list;
	}
	if (ibv_query_device(d->ctx, &dattr) ||
	    ibv_query_port(d->ctx, d->port, &pattr)) {
		sk_log_error("rdma: %s: cannot query port %u", d->name,
			     d->port);
		st = SK_ERR_NODEV;
		goto err_close;
	}
	if (pattr.state != IBV_PORT_ACTIVE) {
		sk_log_error("rdma: %s port %u is not active", d->name,
			     d->port);
		st = SK_ERR_NODEV;
		goto err_close;
	}
	d->lid = pattr.lid;
	d->link_layer = pattr.link_layer;
	st = rdma_read_config(d, &pattr, &dattr);
	if (st != SK_OK)
		goto err_close;
	st = rdma_pick_gid(d, pattr.gid_tbl_len);
	if (st != SK_OK)
		goto err_close;

	d->pd = ibv_alloc_pd(d->ctx);
	if (d->pd == NULL) {
		st = SK_ERR_NOMEM;
		goto err_close;
	}
	d->chan = ibv_create_comp_channel(d->ctx);
	if (d->chan == NULL) {
		st = SK_ERR_IO;
		goto err_dealloc_pd;
	}
	flags = fcntl(d->chan->fd, F_GETFL);
	if (flags < 0 || fcntl(d->chan->fd, F_SETFL, flags | O_NONBLOCK) < 0) {
		st = SK_ERR_IO;
		goto err_destroy_chan;
	}
	{
		unsigned long cqd;

		st = sk_config_ulong("SKIFF_RDMA_CQ_DEPTH", 16,
				     (unsigned long)dattr.max_cqe, &cqd);
		if (st != SK_OK)
			goto err_destroy_chan;
		d->cq_size = (int)cqd;
	}
	d->cq = ibv_create_cq(d->ctx, d->cq_size, NULL, d->chan, 0);
	if (d->cq == NULL) {
		sk_log_error("rdma: %s: cannot create a CQ of %d: %s", d->name,
			     d->cq_size, strerror(errno));
		st = SK_ERR_NOMEM;
		goto err_destroy_chan;
	}
	d->cq_size = d->cq->cqe;
	st = rdma_probe_inline(d);
	if (st != SK_OK)
		goto err_destroy_cq;
	st = rdma_cm_open(d);
	if (st != SK_OK)
		goto err_destroy_cq;
	ibv_free_device_list(list);

	snprintf(d->transport, sizeof(d->transport), "%s, %s",
		 rdma_link_layer_str(d->link_layer),
		 d->cm_ch ? "connection manager" : "blob connect");
	if (d->link_layer == IBV_LINK_LAYER_ETHERNET)
		snprintf(d->transport, sizeof(d->transport), "RoCE, GID %d, %s",
			 d->gid_index,
			 d->cm_ch ? "connection manager" : "blob connect");
	d->super.ops = &sk_rdma_provider_ops;
	d->super.attr = (struct sk_dev_attr){
		.provider = "rdma",
		.name = d->name,
		.transport = d->transport,
		.max_inline = d->max_inline,
		.max_msg = pattr.max_msg_sz,
		.sq_depth = d->sq_depth,
		.rq_depth = d->rq_depth,
		.native_atomics = dattr.atomic_cap != IBV_ATOMIC_NONE,
		.has_fd = 1,
	};
	*dev_p = &d->super;
	return SK_OK;

err_destroy_cq:
	ibv_destroy_cq(d->cq);
err_destroy_chan:
	ibv_destroy_comp_channel(d->chan);
err_dealloc_pd:
	ibv_dealloc_pd(d->pd);
err_close:
	ibv_close_device(d->ctx);
err_free_list:
	if (list)
		ibv_free_device_list(list);
err_free:
	free(d);
	return st;
}


static void rdma_dev_close(struct sk_dev *dev)
{
	struct rdma_dev *d = rdma_dev(dev);

	for (uint32_t i = 0; i < d->eps.n; i++)
		if (d->eps.eps[i])
			sk_log_error("rdma: closing %s with endpoint %u still "
				     "open", d->name, i);
	rdma_cm_close(d);
	if (d->events_unacked)
		ibv_ack_cq_events(d->cq, d->events_unacked);
	ibv_destroy_cq(d->cq);
	ibv_destroy_comp_channel(d->chan);
	if (ibv_dealloc_pd(d->pd))
		sk_log_error("rdma: %s: registrations still open at close",
			     d->name);
	ibv_close_device(d->ctx);
	rdma_mr_retired_cleanup(d);
	sk_ep_table_cleanup(&d->eps);
	free(d);
}

const struct sk_provider_ops sk_rdma_provider_ops = {
	.name = "rdma",
	.list = rdma_list,
	.dev_open = rdma_dev_open,
	.dev_close = rdma_dev_close,
	.dev_poll = rdma_dev_poll,
	.dev_fd = rdma_dev_fd,
	.dev_arm = rdma_dev_arm,
	.dev_sleep_bound = rdma_dev_sleep_bound,
	.mr_reg = rdma_mr_reg,
	.mr_alloc = rdma_mr_alloc,
	.mr_dereg = rdma_mr_dereg,
	.mr_pack = rdma_mr_pack,
	.rkey_unpack = rdma_rkey_unpack,
	.rkey_destroy = rdma_rkey_destroy,
	.ep_create = rdma_ep_create,
	.ep_addr_pack = rdma_ep_addr_pack,
	.ep_connect = rdma_ep_connect,
	.ep_destroy = rdma_ep_destroy,
	.ep_cancel = rdma_ep_cancel,
	.post = rdma_post,
	.post_recv = rdma_post_recv,
};
