/*
 * Endpoints: creation, address blobs, connection (the peer's worker
 * address and key table), close and destruction.
 */

#include "ucx_int.h"

/* ---- endpoints ---- */

sk_status_t ucx_ep_create(struct sk_dev *dev, uint32_t sq, uint32_t rq,
			  struct sk_ep **ep_p)
{
	struct ucx_dev *d = ucx_dev(dev);
	struct ucx_ep *e;
	uint32_t uq;
	sk_status_t st;

	/* Early messages wait in uq: at most what the peer may have in
	 * flight, which a small receive queue bounds (4x for slack). */
	uq = rq < d->rq_depth ? sk_ep_depth(4 * rq, d->uq_depth) : d->uq_depth;
	e = calloc(1, sizeof(*e));
	if (e == NULL)
		return SK_ERR_NOMEM;
	e->sq = calloc(sq, sizeof(*e->sq));
	e->rq = calloc(rq, sizeof(*e->rq));
	e->uq = calloc(uq, sizeof(*e->uq));
	e->held = calloc(rq, sizeof(*e->held));
	e->amheld = calloc(rq, sizeof(*e->amheld));
	if (e->sq == NULL || e->rq == NULL || e->uq == NULL ||
	    e->held == NULL || e->amheld == NULL) {
		st = SK_ERR_NOMEM;
		goto err_free;
	}
	st = ucx_cq_reserve(d, sq + rq);
	if (st != SK_OK)
		goto err_free;
	e->sq_mask = sq - 1;
	e->rq_mask = rq - 1;
	e->uq_mask = uq - 1;
	e->held_mask = rq - 1;
	e->super.dev = dev;
	e->tx_seq = 1;
	e->rx_seq = 1;
	e->rx.fd = -1;
	/* No ring (no memfd, say) only means this peer sends through UCX;
	 * a failed create leaves rx empty. */
	if (d->ring_on)
		(void)ucx_ring_rx_create(&e->rx, d->ring_size);
	st = sk_ep_table_add(&d->eps, &e->super, &e->idx, &e->gen);
	if (st != SK_OK)
		goto err_unreserve;
	*ep_p = &e->super;
	return SK_OK;

err_unreserve:
	d->cq_need -= sq + rq;
	ucx_ring_rx_destroy(&e->rx);
err_free:
	free(e->amheld);
	free(e->held);
	free(e->uq);
	free(e->rq);
	free(e->sq);
	free(e);
	return st;
}

/* Endpoint address body: u32 index, u32 generation, u64 key table address,
 * u32 key table entries, u16 worker address length, u16 key table rkey
 * length, worker address bytes, key table rkey bytes; then the ring: u64
 * host id (0: no ring), u32 pid, u32 memfd, u32 ring bytes, 16 bytes of
 * wakeup socket name. */
sk_status_t ucx_ep_addr_pack(const struct sk_ep *ep, void *buf,
			     size_t *len_p)
{
	const struct ucx_ep *e = sk_container_of(ep, const struct ucx_ep,
						 super);
	const struct ucx_dev *d = sk_container_of(ep->dev,
						  const struct ucx_dev, super);
	struct sk_wire_writer w;

	sk_wire_begin(&w, buf, *len_p);
	sk_wire_put_u32(&w, e->idx);
	sk_wire_put_u32(&w, e->gen);
	sk_wire_put_u64(&w, (uintptr_t)d->keytab);
	sk_wire_put_u32(&w, d->keytab_size);
	sk_wire_put_u16(&w, (uint16_t)d->waddr_len);
	sk_wire_put_u16(&w, (uint16_t)d->keytab_rkey_len);
	sk_wire_put_bytes(&w, d->waddr, d->waddr_len);
	sk_wire_put_bytes(&w, d->keytab_rkey_buf, d->keytab_rkey_len);
	/* The ring: host id (0: none), pid, memfd, size, wakeup socket. */
	sk_wire_put_u64(&w, e->rx.ctl ? d->host.host_id : 0);
	sk_wire_put_u32(&w, d->host.pid);
	sk_wire_put_u32(&w, (uint32_t)e->rx.fd);
	sk_wire_put_u32(&w, e->rx.size);
	sk_wire_put_bytes(&w, d->host.wake_name, UCX_RING_WAKE_LEN);
	return sk_wire_finish(&w, SK_WIRE_MAGIC_EP, SK_WIRE_PROV_UCX, len_p);
}

static void ucx_ep_err_cb(void *arg, ucp_ep_h uep, ucs_status_t status)
{
	struct ucx_ep *e = arg;

	(void)uep;
	if (!e->failed)
		ucx_ep_fail(e, ucx_status(status));
}

sk_status_t ucx_ep_connect(struct sk_ep *ep, const void *buf,
			   size_t len)
{
	static const char what[] = "ucx endpoint address";
	struct ucx_ep *e = ucx_ep(ep);
	struct ucx_dev *d = ucx_dev(ep->dev);
	struct sk_wire_reader r;
	uint32_t peer_idx, peer_gen, keytab_size;
	uint64_t keytab_addr;
	uint16_t alen, klen;
	const void *abuf, *kbuf, *wname;
	uint64_t host_id;
	uint32_t pid, mfd, rsize;
	ucp_ep_params_t ep_params;
	ucs_status_t us;
	sk_status_t st;

	st = sk_wire_open(buf, len, SK_WIRE_MAGIC_EP, SK_WIRE_PROV_UCX, what,
			  &r);
	if (st != SK_OK)
		return st;
	peer_idx = sk_wire_get_u32(&r);
	peer_gen = sk_wire_get_u32(&r);
	keytab_addr = sk_wire_get_u64(&r);
	keytab_size = sk_wire_get_u32(&r);
	alen = sk_wire_get_u16(&r);
	klen = sk_wire_get_u16(&r);
	abuf = sk_wire_get_bytes(&r, alen);
	kbuf = sk_wire_get_bytes(&r, klen);
	host_id = sk_wire_get_u64(&r);
	pid = sk_wire_get_u32(&r);
	mfd = sk_wire_get_u32(&r);
	rsize = sk_wire_get_u32(&r);
	wname = sk_wire_get_bytes(&r, UCX_RING_WAKE_LEN);
	st = sk_wire_end(&r, what);
	if (st != SK_OK)
		return st;
	if (alen == 0 || klen == 0 || peer_idx >= SK_EP_TABLE_MAX) {
		sk_log_error("%s: empty worker address or key", what);
		return SK_ERR_MALFORMED;
	}

	memset(&ep_params, 0, sizeof(ep_params));
	ep_params.field_mask = UCP_EP_PARAM_FIELD_REMOTE_ADDRESS |
			       UCP_EP_PARAM_FIELD_ERR_HANDLING_MODE |
			       UCP_EP_PARAM_FIELD_ERR_HANDLER;
	ep_params.address = abuf;
	ep_params.err_mode = UCP_ERR_HANDLING_MODE_PEER;
	ep_params.err_handler.cb = ucx_ep_err_cb;
	ep_params.err_handler.arg = e;
	d->ucp_armed = 0; /* ucx_dev_arm */
	us = ucp_ep_create(d->worker, &ep_params, &e->uep);
	if (us != UCS_OK) {
		sk_log_error("ucx: cannot create an endpoint: %s",
			     ucs_status_string(us));
		return ucx_status(us);
	}
	us = ucp_ep_rkey_unpack(e->uep, kbuf, &e->keytab_rkey);
	if (us != UCS_OK) {
		sk_log_error("%s: UCX refused the key table key: %s", what,
			     ucs_status_string(us));
		ucp_ep_destroy(e->uep);
		e->uep = NULL;
		return SK_ERR_MALFORMED;
	}
	e->peer_idx = peer_idx;
	e->peer_gen = peer_gen;
	e->keytab_addr = keytab_addr;
	e->keytab_size = keytab_size;
	/* Same host (same boot), both with rings: poll ours, which the peer
	 * may write to (it decides alike), and map the peer's. A ring we
	 * cannot map only means our sends go through UCX. */
	if (d->ring_on && host_id != 0 && host_id == d->host.host_id &&
	    e->rx.ctl != NULL) {
		if (ucx_rings_add(d, e) != SK_OK) {
			ucp_rkey_destroy(e->keytab_rkey);
			e->keytab_rkey = NULL;
			ucp_ep_destroy(e->uep);
			e->uep = NULL;
			return SK_ERR_NOMEM;
		}
		if (mfd > INT32_MAX ||
		    ucx_ring_tx_open(&e->tx, pid, (int)mfd, rsize,
				     d->host.wake_fd, wname) != SK_OK)
			ucx_ring_tx_close(&e->tx);
		else
			e->nop_owed = 1; /* sent with the first ring send */
	}
	return SK_OK;
}

static void ucx_nop_cb(void *request, ucs_status_t status, void *user_data)
{
	struct ucx_dev *d = user_data;

	(void)status;
	ucp_request_free(request);
	d->inflight--;
}

/*
 * The first message to a peer whose ring we write goes through UCX, and
 * the peer takes nothing from the ring before it (it has number 1): so
 * UCX's wireup of the pair is done before the ring is read, as when every
 * message went through UCX: closing an endpoint whose wireup was still in
 * flight tripped UCX 1.13's connection matching (an assertion) when the
 * same two workers connected again. It is sent with the first send, not
 * at connect: a connected pair may never talk (sealed nodes connect to
 * every node), and wiring up such pairs made a whole job's boot slower
 * (perf/README.md, "Figures behind design choices").
 */
void ucx_send_nop(struct ucx_dev *d, struct ucx_ep *e)
{
	ucp_request_param_t p = {
		.op_attr_mask = UCP_OP_ATTR_FIELD_CALLBACK |
				UCP_OP_ATTR_FIELD_USER_DATA,
		.cb.send = ucx_nop_cb,
		.user_data = d,
	};
	ucs_status_ptr_t ret;

	e->nop_hdr = (struct ucx_am_hdr){.dst_idx = e->peer_idx,
					 .dst_gen = e->peer_gen,
					 .seq = e->tx_seq++};
	d->ucp_armed = 0; /* ucx_dev_arm */
	ret = ucp_am_send_nbx(e->uep, UCX_AM_NOP, &e->nop_hdr,
			      sizeof(e->nop_hdr), NULL, 0, &p);
	if (UCS_PTR_IS_PTR(ret))
		d->inflight++;
	else if (UCS_PTR_IS_ERR(ret))
		ucx_ep_fail(e, ucx_status(UCS_PTR_STATUS(ret)));
}

/*
 * Start a forced close of @e's UCP endpoint: pending requests are
 * cancelled and their callbacks run now, while this endpoint can still be
 * found (as this device's: ucx_cb_dev), so they are accounted. Returns the
 * close request when it is still running, else NULL.
 */
void *ucx_ep_close_start(struct ucx_dev *d, struct ucx_ep *e)
{
	ucp_request_param_t p = {
		.op_attr_mask = UCP_OP_ATTR_FIELD_FLAGS,
		.flags = UCP_EP_CLOSE_FLAG_FORCE,
	};
	struct ucx_dev *saved = ucx_cb_dev;
	ucs_status_ptr_t req;

	ucx_cb_dev = d;
	d->ucp_armed = 0; /* ucx_dev_arm */
	req = ucp_ep_close_nbx(e->uep, &p);
	ucx_cb_dev = saved;
	return req == NULL || UCS_PTR_IS_ERR(req) ? NULL : req;
}

/* Wait, boundedly, for a close request to finish, and free it. Only from
 * sk_ep_destroy: never from poll. */
static void ucx_ep_close_wait(struct ucx_dev *d, void *req)
{
	int64_t deadline = ucx_now_ms() + UCX_CLOSE_MS;

	while (ucp_request_check_status(req) == UCS_INPROGRESS &&
	       ucx_now_ms() < deadline)
		ucx_progress(d);
	ucp_request_free(req);
}

void ucx_ep_destroy(struct sk_ep *ep)
{
	struct ucx_ep *e = ucx_ep(ep);
	struct ucx_dev *d = ucx_dev(ep->dev);

	e->destroying = 1;
	while (e->namheld > 0)
		ucp_am_data_release(d->worker, e->amheld[--e->namheld]);
	while (e->uq_tail != e->uq_head) {
		struct ucx_unexp *m = &e->uq[e->uq_tail++ & e->uq_mask];

		if (m->held)
			ucp_am_data_release(d->worker, m->data);
		if (m->owned)
			free(m->data);
	}
	if (e->uep) {
		if (e->keytab_rkey)
			ucp_rkey_destroy(e->keytab_rkey);
		e->close_req = ucx_ep_close_start(d, e);
	}
	if (e->close_req)
		ucx_ep_close_wait(d, e->close_req);
	if (e->ring_polled)
		ucx_rings_del(d, e);
	if (e->rq_flush_owed)
		d->flush_owed--;
	ucx_cq_purge(d, e);
	ucx_ring_tx_close(&e->tx);
	ucx_ring_rx_destroy(&e->rx);
	sk_ep_table_del(&d->eps, e->idx);
	d->cq_need -= e->sq_mask + 1 + e->rq_mask + 1;
	free(e->amheld);
	free(e->held);
	free(e->uq);
	free(e->rq);
	free(e->sq);
	free(e);
}
