/*
 * Completions: the shared CQ and its channel (poll, arm, the fd), the
 * mapping of ibv statuses, the stash that arm peeks into, and the stall
 * watchdog that runs from poll and arm.
 */

#include "rdma_int.h"

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
int rdma_dev_sleep_bound(const struct sk_dev *dev)
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
		if (st == SK_ERR_FLUSHED && e->cm_gone && !e->err_reported)
			st = SK_ERR_UNREACHABLE; /* the peer disconnected */
		else if (st == SK_ERR_FLUSHED && e->stalled &&
			 !e->err_reported)
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


int rdma_dev_poll(struct sk_dev *dev, struct sk_wc *wc, int max)
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
	 * still notices another's stall, or a peer's connection request), and
	 * before the caller sleeps (rdma_dev_arm): one coarse clock read
	 * then, none on other polls. */
	if ((d->stall_ns || d->cm_ch) && (++d->polls & 63) == 0) {
		if (d->stall_ns)
			rdma_watchdog(d);
		uint64_t now = d->cm_ch ? rdma_now_ns() : 0;

		if (d->cm_ch && now >= d->cm_next_ns) {
			d->cm_next_ns = now + 10000000ull;
			rdma_cm_progress(d);
		}
	}
	return out;
}


int rdma_dev_fd(const struct sk_dev *dev)
{
	const struct rdma_dev *d = sk_container_of(dev, const struct rdma_dev,
						   super);

	return d->epfd >= 0 ? d->epfd : d->chan->fd;
}


sk_status_t rdma_dev_arm(struct sk_dev *dev, int quiet)
{
	struct rdma_dev *d = rdma_dev(dev);
	struct ibv_cq *ev_cq;
	void *ev_ctx;

	(void)quiet; /* the whole arm every time: a read, a notify, a poll */
	if (d->stall_ns)
		rdma_watchdog(d);
	rdma_cm_progress(d);
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


/* The CQ is shared: grow it so every endpoint's queues fit. */
sk_status_t rdma_cq_reserve(struct rdma_dev *d, int more)
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
