/*
 * The rdma provider: Skiff verbs on rdma-core (libibverbs), for InfiniBand,
 * RoCE and Soft-RoCE.
 *
 * One device = one protection domain, one completion queue shared by every
 * endpoint and bound to one completion channel. An endpoint is an RC queue
 * pair, connected from the peer's packed address (QPN, PSN, LID, GID, MTU)
 * as ibv_rc_pingpong and perftest do; the exchange itself is the caller's.
 *
 * Send queue bookkeeping: each endpoint numbers its work requests; the
 * wr_id carries (generation, endpoint index, sequence), so a completion
 * finds its endpoint even after the endpoint's slot was reused. Unsignaled
 * requests are retired by the next signaled completion (RC completes in
 * order), and every SQ-depth/2 unsignaled requests one is signaled
 * internally so the send queue never fills with unretired entries.
 *
 * Errors are the NIC's: a bad key or range is caught by the target's HCA,
 * reported as IBV_WC_REM_ACCESS_ERR at the initiator, and the QP enters the
 * error state, flushing the rest; this file only maps the statuses.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <infiniband/verbs.h>

#include <skiff/config.h>

#include "../provider.h"
#include "../wire.h"
#include "rdma.h"

#define RDMA_STASH      16  /* completions peeked by arm, kept for poll */
#define RDMA_POLL_BATCH 32
#define RDMA_SEQ_RECV   (1u << 31) /* wr_id bit: a receive */
#define RDMA_SEQ_MASK   (RDMA_SEQ_RECV - 1)

struct rdma_sq_slot {
	void *ctx;
	uint32_t opcode;
	uint32_t user_signaled;
};

struct rdma_ep {
	struct sk_ep super;
	struct ibv_qp *qp;
	uint32_t idx;
	uint16_t gen;
	uint32_t psn;
	struct rdma_sq_slot *sq;
	uint32_t sq_mask;
	uint32_t sq_head;       /* next sequence to post */
	uint32_t sq_tail;       /* oldest unretired sequence */
	uint32_t unsignaled_run;
	uint32_t sig_end;       /* sequence after the last signaled request */
	void **rq_ctx;
	uint32_t rq_mask;
	uint32_t rq_head;
	uint32_t rq_tail;
	/* The watchdog's view, taken only when it runs (no clock reads on
	 * the datapath): the oldest request it saw owed, and since when. */
	int wd_armed;
	uint32_t wd_tail;
	uint64_t wd_since_ns;
	int stalled;            /* the watchdog moved the QP to error */
	int err_reported;
};

struct rdma_mr {
	struct sk_mr super;
	struct ibv_mr *mr;
};

struct rdma_rkey {
	struct sk_rkey super;
	uint32_t rkey;
};

struct rdma_dev {
	struct sk_dev super;
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	struct ibv_comp_channel *chan;
	struct ibv_cq *cq;
	int cq_size;
	int cq_need;             /* entries the endpoints can produce */
	unsigned events_unacked;
	struct ibv_wc stash[RDMA_STASH];
	int nstash;
	int stash_pos;

	uint8_t port;
	int gid_index;
	union ibv_gid gid;
	uint16_t lid;
	uint8_t link_layer;
	enum ibv_mtu mtu;
	uint32_t max_inline;
	uint32_t sq_depth;
	uint32_t rq_depth;
	uint8_t timeout;
	uint8_t retry_cnt;
	uint8_t max_rd_atomic;
	uint8_t max_dest_rd_atomic;
	uint64_t stall_ns;       /* watchdog bound; 0: off */
	uint64_t next_check_ns;
	uint32_t polls;

	struct sk_ep_table eps;
	char name[64];
	char transport[64];
};

static inline struct rdma_dev *rdma_dev(struct sk_dev *dev)
{
	return sk_container_of(dev, struct rdma_dev, super);
}

static inline struct rdma_ep *rdma_ep(struct sk_ep *ep)
{
	return sk_container_of(ep, struct rdma_ep, super);
}

static sk_status_t rdma_status(enum ibv_wc_status st)
{
	switch (st) {
	case IBV_WC_SUCCESS:
		return SK_OK;
	case IBV_WC_REM_ACCESS_ERR:
	case IBV_WC_REM_INV_REQ_ERR: /* some HCAs: out-of-range request */
		return SK_ERR_REMOTE_ACCESS;
	case IBV_WC_RETRY_EXC_ERR:
	case IBV_WC_RNR_RETRY_EXC_ERR:
		return SK_ERR_RETRY_EXCEEDED;
	case IBV_WC_WR_FLUSH_ERR:
		return SK_ERR_FLUSHED;
	case IBV_WC_REM_OP_ERR:
		return SK_ERR_REMOTE_OP;
	case IBV_WC_LOC_LEN_ERR:
		return SK_ERR_LOCAL_LENGTH;
	case IBV_WC_LOC_PROT_ERR:
	case IBV_WC_MW_BIND_ERR:
		return SK_ERR_LOCAL_ACCESS;
	default:
		return SK_ERR_IO;
	}
}

static const char *rdma_link_layer_str(uint8_t ll)
{
	return ll == IBV_LINK_LAYER_ETHERNET ? "RoCE" : "InfiniBand";
}

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

static int rdma_gid_is_ipv4(const union ibv_gid *gid)
{
	static const uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
					   0xff, 0xff};

	return memcmp(gid->raw, prefix, sizeof(prefix)) == 0;
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
	unsigned long sq, rq, inl, to, retry, rd, stall, mtu = 0;
	const char *mtu_cfg = sk_config_str("SKIFF_RDMA_MTU");
	sk_status_t st;

	if ((st = sk_config_ulong("SKIFF_SQ_DEPTH", 2, 32768, &sq)) ||
	    (st = sk_config_ulong("SKIFF_RQ_DEPTH", 1, 32768, &rq)) ||
	    (st = sk_config_ulong("SKIFF_RDMA_MAX_INLINE", 0, 4096, &inl)) ||
	    (st = sk_config_ulong("SKIFF_RDMA_TIMEOUT", 1, 31, &to)) ||
	    (st = sk_config_ulong("SKIFF_RDMA_RETRY_CNT", 0, 7, &retry)) ||
	    (st = sk_config_ulong("SKIFF_RDMA_RD_ATOMIC", 1, 255, &rd)) ||
	    (st = sk_config_ulong("SKIFF_STALL_MS", 0, 86400000, &stall)))
		return st;
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

static struct ibv_qp *rdma_qp_create(struct rdma_dev *d, uint32_t sq,
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
	ibv_free_device_list(list);

	snprintf(d->transport, sizeof(d->transport), "%s",
		 rdma_link_layer_str(d->link_layer));
	if (d->link_layer == IBV_LINK_LAYER_ETHERNET)
		snprintf(d->transport, sizeof(d->transport), "RoCE, GID %d",
			 d->gid_index);
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
	if (d->events_unacked)
		ibv_ack_cq_events(d->cq, d->events_unacked);
	ibv_destroy_cq(d->cq);
	ibv_destroy_comp_channel(d->chan);
	if (ibv_dealloc_pd(d->pd))
		sk_log_error("rdma: %s: registrations still open at close",
			     d->name);
	ibv_close_device(d->ctx);
	sk_ep_table_cleanup(&d->eps);
	free(d);
}

static inline uint64_t rdma_wr_id(const struct rdma_ep *e, uint32_t seq)
{
	return (uint64_t)e->gen << 48 | (uint64_t)e->idx << 32 | seq;
}

static struct rdma_ep *rdma_ep_lookup(struct rdma_dev *d, uint64_t wr_id)
{
	uint32_t idx = (uint32_t)(wr_id >> 32) & 0xffff;
	uint16_t gen = (uint16_t)(wr_id >> 48);

	struct sk_ep *ep = sk_ep_table_get(&d->eps, idx, gen);

	/* NULL: a completion of an endpoint already destroyed */
	return ep ? rdma_ep(ep) : NULL;
}

static uint64_t rdma_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Whether a signaled request is outstanding, i.e. a completion is owed.
 * Unsignaled requests after the last signaled one stay in the SQ until a
 * later signaled one completes: nothing is owed for them, and an idle
 * endpoint that only sent unsignaled (rpc's inline messages) is not
 * stalled. */
static int rdma_signaled_out(const struct rdma_ep *e)
{
	return (int32_t)(e->sig_end - e->sq_tail) > 0;
}

/*
 * The stall watchdog (SKIFF_STALL_MS; what it is for: verbs.h). A NIC
 * fails requests to a dead peer with "retry exceeded" after timeout *
 * (retry_cnt + 1); Soft-RoCE in Linux 6.1 does not (perftest's
 * ib_write_bw hangs the same way), so an endpoint whose oldest owed
 * request has seen no completion for SKIFF_STALL_MS is moved to the error
 * state here: the QP flushes everything, and the first flushed request is
 * reported as SK_ERR_RETRY_EXCEEDED. Off on hardware NICs unless set
 * (rdma_read_config). Runs from every 64th poll, busy or not, and from
 * arm (before the caller sleeps), and scans at most every 100 ms; it samples the clock only then, as the ucx one does: an
 * endpoint counts as stalled once the watchdog saw the same oldest
 * request owed for the whole bound.
 */
static void rdma_watchdog(struct rdma_dev *d)
{
	uint64_t now = rdma_now_ns();

	if (now < d->next_check_ns)
		return;
	d->next_check_ns = now + 100000000ull;
	for (uint32_t i = 0; i < d->eps.n; i++) {
		struct rdma_ep *e = d->eps.eps[i] ? rdma_ep(d->eps.eps[i])
						  : NULL;
		struct ibv_qp_attr qa = {.qp_state = IBV_QPS_ERR};

		if (e == NULL || e->stalled)
			continue;
		if (!rdma_signaled_out(e)) {
			e->wd_armed = 0;
			continue;
		}
		if (!e->wd_armed || e->wd_tail != e->sq_tail) {
			e->wd_armed = 1;
			e->wd_tail = e->sq_tail;
			e->wd_since_ns = now;
			continue;
		}
		if (now - e->wd_since_ns < d->stall_ns)
			continue;
		e->stalled = 1;
		sk_log_error("rdma: %s: endpoint %u: no completion for %llu ms "
			     "(peer gone?); moving it to the error state",
			     d->name, e->idx,
			     (unsigned long long)(d->stall_ns / 1000000));
		if (ibv_modify_qp(e->qp, &qa, IBV_QP_STATE))
			sk_log_error("rdma: %s: QP to ERR failed: %s", d->name,
				     strerror(errno));
	}
}

/* While any endpoint has requests outstanding, the watchdog must run even
 * if no completion ever wakes the caller: bound its sleep. */
static int rdma_dev_sleep_bound(const struct sk_dev *dev)
{
	const struct rdma_dev *d = sk_container_of(dev, const struct rdma_dev,
						   super);

	if (d->stall_ns == 0)
		return -1;
	for (uint32_t i = 0; i < d->eps.n; i++) {
		const struct rdma_ep *e = d->eps.eps[i] ?
			rdma_ep(d->eps.eps[i]) : NULL;

		if (e && !e->stalled && rdma_signaled_out(e))
			return 100;
	}
	return -1;
}

/* Turn one ibv completion into at most one Skiff completion. */
static int rdma_wc_convert(struct rdma_dev *d, const struct ibv_wc *w,
			   struct sk_wc *out)
{
	struct rdma_ep *e = rdma_ep_lookup(d, w->wr_id);
	uint32_t seq = (uint32_t)w->wr_id;
	sk_status_t st = rdma_status(w->status);

	if (e == NULL)
		return 0;
	if (st != SK_OK) {
		if (st == SK_ERR_FLUSHED && e->stalled && !e->err_reported)
			st = SK_ERR_RETRY_EXCEEDED; /* the watchdog's verdict */
		e->err_reported = 1;
	}
	out->ep = &e->super;
	out->status = st;
	out->byte_len = 0;
	out->imm = 0;
	out->data = NULL;
	/* Bit 31 of the sequence tells a receive from a send: on error the
	 * opcode of a completion is not valid. Sequences carry 31 bits. */
	if (seq & RDMA_SEQ_RECV) {
		out->ctx = e->rq_ctx[e->rq_tail & e->rq_mask];
		e->rq_tail++;
		out->opcode = SK_OP_RECV;
		if (w->status == IBV_WC_SUCCESS) {
			out->byte_len = w->byte_len;
			if (w->opcode == IBV_WC_RECV_RDMA_WITH_IMM)
				out->opcode = SK_OP_RECV_IMM;
			if (w->wc_flags & IBV_WC_WITH_IMM)
				out->imm = ntohl(w->imm_data);
		}
		return 1;
	}

	/* Send side: retire everything up to this sequence (RC completes in
	 * order, so unsignaled requests before it are done too). */
	seq = e->sq_tail + ((seq - e->sq_tail) & RDMA_SEQ_MASK);
	struct rdma_sq_slot *slot = &e->sq[seq & e->sq_mask];
	int report = slot->user_signaled || w->status != IBV_WC_SUCCESS;

	e->sq_tail = seq + 1;
	out->ctx = slot->ctx;
	out->opcode = slot->opcode;
	return report;
}

static int rdma_dev_poll(struct sk_dev *dev, struct sk_wc *wc, int max)
{
	struct rdma_dev *d = rdma_dev(dev);
	struct ibv_wc batch[RDMA_POLL_BATCH];
	int out = 0;

	while (out < max && d->stash_pos < d->nstash)
		out += rdma_wc_convert(d, &d->stash[d->stash_pos++], &wc[out]);
	if (d->stash_pos == d->nstash)
		d->stash_pos = d->nstash = 0;

	while (out < max) {
		int want = max - out < RDMA_POLL_BATCH ? max - out
						       : RDMA_POLL_BATCH;
		int n = ibv_poll_cq(d->cq, want, batch);

		if (n <= 0)
			break;
		for (int i = 0; i < n; i++)
			out += rdma_wc_convert(d, &batch[i], &wc[out]);
		if (n < want)
			break;
	}
	/* Every 64th poll, busy or not (a device kept busy by one endpoint
	 * still notices another's stall), and before the caller sleeps
	 * (rdma_dev_arm): one coarse clock read then, none on other polls. */
	if (d->stall_ns && (++d->polls & 63) == 0)
		rdma_watchdog(d);
	return out;
}

static int rdma_dev_fd(const struct sk_dev *dev)
{
	return sk_container_of(dev, const struct rdma_dev, super)->chan->fd;
}

static sk_status_t rdma_dev_arm(struct sk_dev *dev)
{
	struct rdma_dev *d = rdma_dev(dev);
	struct ibv_cq *ev_cq;
	void *ev_ctx;

	if (d->stall_ns)
		rdma_watchdog(d);
	if (d->stash_pos < d->nstash)
		return SK_ERR_BUSY;
	/* Consume the channel's events (non-blocking fd), then re-arm and
	 * look once more: a completion that raced the arm is kept. */
	while (ibv_get_cq_event(d->chan, &ev_cq, &ev_ctx) == 0) {
		if (++d->events_unacked >= 64) {
			ibv_ack_cq_events(d->cq, d->events_unacked);
			d->events_unacked = 0;
		}
	}
	if (ibv_req_notify_cq(d->cq, 0))
		return SK_ERR_IO;
	d->nstash = ibv_poll_cq(d->cq, RDMA_STASH, d->stash);
	d->stash_pos = 0;
	if (d->nstash < 0) {
		d->nstash = 0;
		return SK_ERR_IO;
	}
	return d->nstash ? SK_ERR_BUSY : SK_OK;
}

static int rdma_ibv_access(unsigned access)
{
	int a = IBV_ACCESS_LOCAL_WRITE;

	if (access & SK_ACCESS_REMOTE_READ)
		a |= IBV_ACCESS_REMOTE_READ;
	if (access & SK_ACCESS_REMOTE_WRITE)
		a |= IBV_ACCESS_REMOTE_WRITE;
	if (access & SK_ACCESS_REMOTE_ATOMIC)
		a |= IBV_ACCESS_REMOTE_ATOMIC;
	return a;
}

static sk_status_t rdma_mr_reg(struct sk_dev *dev, void *addr, size_t len,
			       unsigned access, struct sk_mr **mr_p)
{
	struct rdma_dev *d = rdma_dev(dev);
	struct rdma_mr *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return SK_ERR_NOMEM;
	m->mr = ibv_reg_mr(d->pd, addr, len, rdma_ibv_access(access));
	if (m->mr == NULL) {
		int err = errno;

		sk_log_error("rdma: %s: cannot register %zu bytes: %s%s",
			     d->name, len, strerror(err),
			     err == ENOMEM ? " (raise 'ulimit -l')" : "");
		free(m);
		return err == ENOMEM ? SK_ERR_NOMEM : sk_status_from_errno(err);
	}
	m->super = (struct sk_mr){.dev = dev, .addr = addr, .len = len,
				  .access = access};
	*mr_p = &m->super;
	return SK_OK;
}

static void rdma_mr_dereg(struct sk_mr *mr)
{
	struct rdma_mr *m = sk_container_of(mr, struct rdma_mr, super);

	if (ibv_dereg_mr(m->mr))
		sk_log_error("rdma: deregistration failed: %s",
			     strerror(errno));
	free(m);
}

sk_status_t rdma_mr_desc_encode(const struct rdma_mr_desc *m, void *buf,
				size_t *len_p)
{
	struct sk_wire_writer w;

	sk_wire_begin(&w, buf, *len_p);
	sk_wire_put_u64(&w, m->addr);
	sk_wire_put_u64(&w, m->len);
	sk_wire_put_u32(&w, m->rkey);
	sk_wire_put_u32(&w, m->access);
	return sk_wire_finish(&w, SK_WIRE_MAGIC_MR, SK_WIRE_PROV_RDMA, len_p);
}

sk_status_t rdma_mr_desc_decode(const void *buf, size_t len,
				struct rdma_mr_desc *m)
{
	static const char what[] = "rdma memory descriptor";
	struct sk_wire_reader r;
	sk_status_t st;

	st = sk_wire_open(buf, len, SK_WIRE_MAGIC_MR, SK_WIRE_PROV_RDMA, what,
			  &r);
	if (st != SK_OK)
		return st;
	m->addr = sk_wire_get_u64(&r);
	m->len = sk_wire_get_u64(&r);
	m->rkey = sk_wire_get_u32(&r);
	m->access = sk_wire_get_u32(&r);
	if ((st = sk_wire_end(&r, what)) ||
	    (st = sk_wire_check_range(m->addr, m->len, m->access, what)))
		return st;
	return SK_OK;
}

static sk_status_t rdma_mr_pack(const struct sk_mr *mr, void *buf,
				size_t *len_p)
{
	const struct rdma_mr *m = sk_container_of(mr, const struct rdma_mr,
						  super);
	struct rdma_mr_desc desc = {.addr = (uintptr_t)mr->addr,
				    .len = mr->len, .rkey = m->mr->rkey,
				    .access = mr->access};

	return rdma_mr_desc_encode(&desc, buf, len_p);
}

static sk_status_t rdma_rkey_unpack(struct sk_ep *ep, const void *buf,
				    size_t len, struct sk_rkey **rkey_p)
{
	struct rdma_mr_desc desc;
	struct rdma_rkey *k;
	sk_status_t st;

	st = rdma_mr_desc_decode(buf, len, &desc);
	if (st != SK_OK)
		return st;
	k = calloc(1, sizeof(*k));
	if (k == NULL)
		return SK_ERR_NOMEM;
	k->super = (struct sk_rkey){.ep = ep, .addr = desc.addr,
				    .len = desc.len, .access = desc.access};
	k->rkey = desc.rkey;
	*rkey_p = &k->super;
	return SK_OK;
}

static void rdma_rkey_destroy(struct sk_rkey *rkey)
{
	free(sk_container_of(rkey, struct rdma_rkey, super));
}

/* The CQ is shared: grow it so every endpoint's queues fit. */
static sk_status_t rdma_cq_reserve(struct rdma_dev *d, int more)
{
	int need = d->cq_need + more;

	if (need > d->cq_size) {
		int size = d->cq_size;

		while (size < need)
			size *= 2;
		if (ibv_resize_cq(d->cq, size)) {
			sk_log_error("rdma: %s: cannot grow the CQ to %d "
				     "entries", d->name, size);
			return SK_ERR_NOMEM;
		}
		d->cq_size = d->cq->cqe;
	}
	d->cq_need = need;
	return SK_OK;
}

static sk_status_t rdma_ep_create(struct sk_dev *dev, uint32_t sq, uint32_t rq,
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

sk_status_t rdma_ep_addr_encode(const struct rdma_peer_addr *a, void *buf,
				size_t *len_p)
{
	struct sk_wire_writer w;

	sk_wire_begin(&w, buf, *len_p);
	sk_wire_put_u32(&w, a->qpn);
	sk_wire_put_u32(&w, a->psn);
	sk_wire_put_u16(&w, a->lid);
	sk_wire_put_u8(&w, a->link_layer);
	sk_wire_put_u8(&w, a->mtu);
	sk_wire_put_bytes(&w, a->gid, sizeof(a->gid));
	return sk_wire_finish(&w, SK_WIRE_MAGIC_EP, SK_WIRE_PROV_RDMA, len_p);
}

sk_status_t rdma_ep_addr_decode(const void *buf, size_t len,
				uint8_t link_layer, struct rdma_peer_addr *a)
{
	static const char what[] = "rdma endpoint address";
	struct sk_wire_reader r;
	const void *gid;
	sk_status_t st;

	st = sk_wire_open(buf, len, SK_WIRE_MAGIC_EP, SK_WIRE_PROV_RDMA, what,
			  &r);
	if (st != SK_OK)
		return st;
	a->qpn = sk_wire_get_u32(&r);
	a->psn = sk_wire_get_u32(&r);
	a->lid = sk_wire_get_u16(&r);
	a->link_layer = sk_wire_get_u8(&r);
	a->mtu = sk_wire_get_u8(&r);
	gid = sk_wire_get_bytes(&r, sizeof(a->gid));
	st = sk_wire_end(&r, what);
	if (st != SK_OK)
		return st;
	memcpy(a->gid, gid, sizeof(a->gid));
	if (a->qpn > 0xffffff || a->psn > 0xffffff || a->mtu < IBV_MTU_256 ||
	    a->mtu > IBV_MTU_4096) {
		sk_log_error("%s: field out of range (qpn %u psn %u mtu %u)",
			     what, a->qpn, a->psn, a->mtu);
		return SK_ERR_MALFORMED;
	}
	if (a->link_layer != link_layer) {
		sk_log_error("%s: peer is on %s, this device on %s", what,
			     rdma_link_layer_str(a->link_layer),
			     rdma_link_layer_str(link_layer));
		return SK_ERR_MALFORMED;
	}
	return SK_OK;
}

static sk_status_t rdma_ep_addr_pack(const struct sk_ep *ep, void *buf,
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

static sk_status_t rdma_ep_connect(struct sk_ep *ep, const void *buf,
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

static void rdma_ep_destroy(struct sk_ep *ep)
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

static sk_status_t rdma_ep_cancel(struct sk_ep *ep)
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

static sk_status_t rdma_post(struct sk_ep *ep, const struct sk_wr *op)
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

static sk_status_t rdma_post_recv(struct sk_ep *ep, const struct sk_mr *mr,
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
