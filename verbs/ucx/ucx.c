/*
 * The device, and what has not moved to a file of its own yet
 * (the overview is in ucx_int.h).
 */

#include "ucx_int.h"

/* The device whose worker this thread is progressing (ucx_int.h). */
__thread struct ucx_dev *ucx_cb_dev;

/* ---- device ---- */

static int ucx_list(struct sk_dev_info *info, int max)
{
	if (max > 0) {
		snprintf(info[0].name, sizeof(info[0].name), "ucp");
		snprintf(info[0].transport, sizeof(info[0].transport),
			 "UCX %s, transports from UCX_TLS",
			 ucp_get_version_string());
		info[0].usable = 1;
	}
	return 1;
}

/*
 * The transports the UCP context really uses. UCP 1.13 has no query for
 * them (ucp_ep_query's transports came later), so this reads the one
 * place it says: ucp_context_print_info's "resource N : md M dev D flags
 * XX tl/dev" lines, which list what survived UCX_TLS, UCX_NET_DEVICES
 * and the rest of UCX's filters.
 */
static int ucx_dev_transports(struct sk_dev *dev, struct sk_tl_info *tl,
			      int max)
{
	struct ucx_dev *d = ucx_dev(dev);
	char *text = NULL, *line, *save = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int n = 0;

	if (f == NULL)
		return -1;
	ucp_context_print_info(d->ctx, f);
	fclose(f);
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		const char *last, *slash;

		if (strstr(line, "resource") == NULL ||
		    strstr(line, " md ") == NULL)
			continue;
		last = strrchr(line, ' ');
		last = last ? last + 1 : line;
		slash = strchr(last, '/');
		if (slash == NULL || slash == last || slash[1] == '\0')
			continue;
		if (n < max) {
			snprintf(tl[n].tl, sizeof(tl[n].tl), "%.*s",
				 (int)(slash - last), last);
			snprintf(tl[n].dev, sizeof(tl[n].dev), "%s",
				 slash + 1);
		}
		n++;
	}
	free(text);
	return n;
}

void ucx_progress(struct ucx_dev *d)
{
	struct ucx_dev *saved = ucx_cb_dev;

	ucx_cb_dev = d;
	/* Stop at the first progress that made completions: one more call
	 * that finds nothing costs as much as the useful one. */
	for (int i = 0; i < UCX_PROGRESS_SPIN; i++)
		if (ucp_worker_progress(d->worker) == 0 ||
		    d->cq_tail != d->cq_head)
			break;
	ucx_cb_dev = saved;
}

static sk_status_t ucx_read_config(struct ucx_dev *d, unsigned long *ka_ms,
				   unsigned long *mrs)
{
	unsigned long sq, rq, uq, shm, ring_kb;
	sk_status_t st;

	unsigned long stall;

	if ((st = sk_config_ulong("SKIFF_STALL_MS", 0, 86400000, &stall)))
		return st;
	d->stall_ns = stall * 1000000ull;
	if ((st = sk_config_ulong("SKIFF_SQ_DEPTH", 2, 32768, &sq)) ||
	    (st = sk_config_ulong("SKIFF_RQ_DEPTH", 1, 32768, &rq)) ||
	    (st = sk_config_ulong("SKIFF_UCX_UNEXP_DEPTH", 1, 1 << 20, &uq)) ||
	    (st = sk_config_ulong("SKIFF_UCX_KEEPALIVE_MS", 10, 3600000,
				  ka_ms)) ||
	    (st = sk_config_ulong("SKIFF_UCX_MAX_MRS", 1, 1 << 20, mrs)) ||
	    (st = sk_config_ulong("SKIFF_UCX_KEY_CHECK_MS", 1, 3600000,
				  &d->key_check_ms)) ||
	    (st = sk_config_ulong("SKIFF_UCX_SHM", 0, 1, &shm)) ||
	    (st = sk_config_ulong("SKIFF_UCX_RING_KB", 16, 1 << 20, &ring_kb)))
		return st;
	if (ring_kb & (ring_kb - 1)) {
		sk_log_error("SKIFF_UCX_RING_KB=%lu: not a power of two",
			     ring_kb);
		return SK_ERR_CONFIG;
	}
	d->ring_on = (int)shm;
	d->ring_size = (uint32_t)(ring_kb * 1024);
	d->sq_depth = ucx_pow2(sq);
	d->rq_depth = ucx_pow2(rq);
	d->uq_depth = ucx_pow2(uq);
	return SK_OK;
}

static sk_status_t ucx_dev_open(const char *device, struct sk_dev **dev_p)
{
	ucp_params_t params = {
		.field_mask = UCP_PARAM_FIELD_FEATURES,
		.features = UCP_FEATURE_RMA | UCP_FEATURE_AMO64 |
			    UCP_FEATURE_AM | UCP_FEATURE_WAKEUP,
	};
	ucp_worker_params_t wp = {
		.field_mask = UCP_WORKER_PARAM_FIELD_THREAD_MODE,
		.thread_mode = UCS_THREAD_MODE_SINGLE,
	};
	ucp_am_handler_param_t ap = {
		.field_mask = UCP_AM_HANDLER_PARAM_FIELD_ID |
			      UCP_AM_HANDLER_PARAM_FIELD_FLAGS |
			      UCP_AM_HANDLER_PARAM_FIELD_CB |
			      UCP_AM_HANDLER_PARAM_FIELD_ARG,
		.flags = UCP_AM_FLAG_WHOLE_MSG,
	};
	unsigned long ka_ms, mrs;
	char ka[32];
	ucp_config_t *config;
	struct ucx_dev *d;
	ucs_status_t us;
	sk_status_t st;

	if (device && strcmp(device, "ucp") != 0) {
		sk_log_error("ucx: no device named '%s' (the ucx provider has "
			     "one: 'ucp'; pick transports with UCX_TLS)",
			     device);
		return SK_ERR_NODEV;
	}
	d = calloc(1, sizeof(*d));
	if (d == NULL)
		return SK_ERR_NOMEM;
	st = ucx_read_config(d, &ka_ms, &mrs);
	if (st != SK_OK)
		goto err_free;

	/* A transport-level variable, which ucp_config_modify() does not
	 * take in UCX 1.13: without it, peer error handling leaves shared
	 * memory out. Set only when the user did not. */
	setenv("UCX_POSIX_ERROR_HANDLING", "y", 0);
	/* Each shared-memory transport pre-faults 512 receive buffers of
	 * 8 KiB when the worker starts: 60% of a device open, and of a
	 * node's boot, where page faults are dear (VMs). Pools still grow
	 * on demand, 64 at a time. Set only when the user did not. */
	setenv("UCX_POSIX_RX_BUFS_GROW", "64", 0);
	if (getenv("UCX_TLS") != NULL) /* else sysv is left out (below) */
		setenv("UCX_SYSV_RX_BUFS_GROW", "64", 0);
	us = ucp_config_read(NULL, NULL, &config);
	if (us != UCS_OK)
		goto err_ucs;
	/* Peer failure detection: shared-memory transports take part only
	 * with their error handling on; keepalive bounds the detection. */
	snprintf(ka, sizeof(ka), "%lums", ka_ms);
	if (getenv("UCX_KEEPALIVE_INTERVAL") == NULL)
		ucp_config_modify(config, "KEEPALIVE_INTERVAL", ka);
	/* Every endpoint asks for peer error handling, which sysv lacks
	 * (UCX_SYSV_ERROR_HANDLING=n): its interface is never used, yet its
	 * receive buffers and FIFO cost 0.8 MiB per process (posix, the
	 * same transport over other segments, carries the traffic). */
	if (getenv("UCX_TLS") == NULL)
		ucp_config_modify(config, "TLS", "^sysv");
	us = ucp_init(&params, config, &d->ctx);
	ucp_config_release(config);
	if (us != UCS_OK)
		goto err_ucs;
	us = ucp_worker_create(d->ctx, &wp, &d->worker);
	if (us != UCS_OK)
		goto err_cleanup;
	us = ucp_worker_get_efd(d->worker, &d->efd);
	if (us != UCS_OK)
		goto err_worker;
	us = ucp_worker_get_address(d->worker, &d->waddr, &d->waddr_len);
	if (us != UCS_OK)
		goto err_worker;
	ap.id = UCX_AM_SEND;
	ap.cb = ucx_am_send_cb;
	ap.arg = d;
	us = ucp_worker_set_am_recv_handler(d->worker, &ap);
	if (us != UCS_OK)
		goto err_addr;
	ap.id = UCX_AM_IMM;
	ap.cb = ucx_am_imm_cb;
	us = ucp_worker_set_am_recv_handler(d->worker, &ap);
	if (us != UCS_OK)
		goto err_addr;
	ap.id = UCX_AM_NOP;
	ap.cb = ucx_am_nop_cb;
	us = ucp_worker_set_am_recv_handler(d->worker, &ap);
	if (us != UCS_OK)
		goto err_addr;
	st = ucx_keytab_init(d, mrs);
	if (st != SK_OK)
		goto err_addr_st;
	st = ucx_cq_reserve(d, 64);
	if (st != SK_OK)
		goto err_keytab;

	d->imm_max = UCX_MAX_INLINE;
	d->imm_probe = UCX_IMM_PROBE;
	ucx_rings_init(d);
	snprintf(d->transport, sizeof(d->transport), "UCX %s",
		 ucp_get_version_string());
	d->super.ops = &sk_ucx_provider_ops;
	d->super.attr = (struct sk_dev_attr){
		.provider = "ucx",
		.name = "ucp",
		.transport = d->transport,
		.max_inline = UCX_MAX_INLINE,
		.max_msg = 1ul << 31,
		.sq_depth = d->sq_depth,
		.rq_depth = d->rq_depth,
		.native_atomics = 1,
		.has_fd = 1,
	};
	*dev_p = &d->super;
	return SK_OK;

err_keytab:
	ucp_rkey_buffer_release(d->keytab_rkey_buf);
	ucp_mem_unmap(d->ctx, d->keytab_memh);
	free(d->keytab);
err_addr_st:
	ucp_worker_release_address(d->worker, d->waddr);
	ucp_worker_destroy(d->worker);
	ucp_cleanup(d->ctx);
	free(d);
	return st;
err_addr:
	ucp_worker_release_address(d->worker, d->waddr);
err_worker:
	ucp_worker_destroy(d->worker);
err_cleanup:
	ucp_cleanup(d->ctx);
err_ucs:
	sk_log_error("ucx: cannot open UCP: %s", ucs_status_string(us));
	st = ucx_status(us);
err_free:
	free(d);
	return st;
}

void ucx_dev_close(struct sk_dev *dev)
{
	struct ucx_dev *d = ucx_dev(dev);

	for (uint32_t i = 0; i < d->eps.n; i++)
		if (d->eps.eps[i])
			sk_log_error("ucx: closing the device with endpoint %u "
				     "still open", i);
	ucp_rkey_buffer_release(d->keytab_rkey_buf);
	ucp_mem_unmap(d->ctx, d->keytab_memh);
	free(d->keytab);
	ucp_worker_release_address(d->worker, d->waddr);
	ucp_worker_destroy(d->worker);
	/* The worker is gone: nothing can land in these any more. */
	while (d->fetches) {
		struct ucx_fetch *f = d->fetches;

		ucx_fetch_unlink(f);
		free(f);
	}
	ucp_cleanup(d->ctx);
	ucx_rings_cleanup(d);
	free(d->cq);
	sk_ep_table_cleanup(&d->eps);
	free(d);
}


static int ucx_dev_sleep_bound(const struct sk_dev *dev)
{
	const struct ucx_dev *d = sk_container_of(dev, const struct ucx_dev,
						  super);

	if (d->stall_ns == 0)
		return -1;
	for (uint32_t i = 0; i < d->eps.n; i++) {
		const struct ucx_ep *e = d->eps.eps[i] ?
			ucx_ep(d->eps.eps[i]) : NULL;

		if (e && !e->stalled && e->uep && e->sq_head != e->sq_tail)
			return 100;
	}
	return -1;
}

static int ucx_dev_poll(struct sk_dev *dev, struct sk_wc *wc, int max)
{
	struct ucx_dev *d = ucx_dev(dev);
	int n = 0;

	d->polls++;
	if (d->nrings)
		ucx_rings_poll(d);
	/* UCX progresses when it owes us a request, or when it is the only
	 * way in and nothing came; with rings carrying sends, every 4th poll
	 * (its own messages, completions and keepalive). */
	if ((d->polls & 3) == 0 || d->inflight ||
	    (d->nrings == 0 && d->cq_tail == d->cq_head))
		ucx_progress(d);
	if (d->flush_owed)
		ucx_flush_failed(d);
	if (d->cq_tail != d->cq_head) {
		/* In locals: the stores to the endpoints' counts would make
		 * the compiler reload the queue's fields every time. */
		uint32_t tail = d->cq_tail, head = d->cq_head;
		uint32_t mask = d->cq_size - 1;
		const struct sk_wc *cq = d->cq;

		while (n < max && tail != head) {
			const struct sk_wc *c = &cq[tail++ & mask];
			struct ucx_ep *e = ucx_ep(c->ep);

			if (c->opcode >= SK_OP_RECV)
				e->rq_cq--;
			else
				e->sq_cq--;
			wc[n++] = *c;
		}
		d->cq_tail = tail;
	}
	/* The watchdog looks on every 64th poll, busy or not (a device kept
	 * busy by one endpoint still notices another's stall), and before
	 * the caller sleeps (ucx_dev_arm): one coarse clock read then, none
	 * on the other polls. */
	if (d->stall_ns && (d->polls & 63) == 0)
		ucx_watchdog(d);
	return n;
}

static int ucx_dev_fd(const struct sk_dev *dev)
{
	const struct ucx_dev *d = sk_container_of(dev, const struct ucx_dev,
						  super);

	return d->pfd >= 0 ? d->pfd : d->efd;
}

static sk_status_t ucx_dev_arm(struct sk_dev *dev)
{
	struct ucx_dev *d = ucx_dev(dev);
	ucs_status_t us;

	if (d->stall_ns)
		ucx_watchdog(d);
	if (d->cq_tail != d->cq_head || d->flush_owed)
		return SK_ERR_BUSY;
	/* UCX completes some requests (endpoint flushes, shared-memory
	 * work) from progress alone, with no event on the fd: while any is
	 * in flight, keep polling. Idle, the worker sleeps. */
	if (d->inflight) {
		ucx_progress(d);
		return SK_ERR_BUSY;
	}
	if (d->nrings && ucx_rings_arm(d))
		return SK_ERR_BUSY;
	us = ucp_worker_arm(d->worker);

	if (us == UCS_ERR_BUSY)
		return SK_ERR_BUSY;
	return us == UCS_OK ? SK_OK : ucx_status(us);
}

/* ---- operations ---- */

/* Check an operation as a NIC would: local range, remote key, range and
 * rights. Returns the status the operation completes with. */
static sk_status_t ucx_op_check(const struct sk_op *op)
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
static int ucx_may_skip_sq(const struct ucx_ep *e, const struct sk_op *op)
{
	return (op->flags & SK_POST_UNSIGNALED) ||
	       (e->sq_head == e->sq_tail && e->sq_cq <= e->sq_mask);
}

/* A send finished in the post: its completion, if signaled. */
static void ucx_send_done_now(struct ucx_dev *d, struct ucx_ep *e,
			      const struct sk_op *op)
{
	struct sk_wc wc = {.ctx = op->ctx, .ep = &e->super, .status = SK_OK,
			   .opcode = SK_OP_SEND};

	if (!(op->flags & SK_POST_UNSIGNALED))
		ucx_cq_push(d, e, &wc, 0);
}

static int ucx_send_imm(struct ucx_dev *d, struct ucx_ep *e,
			const struct sk_op *op)
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
			 const struct sk_op *op)
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

static sk_status_t ucx_post(struct sk_ep *ep, const struct sk_op *op)
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
	 * bounce buffer on every post (190 instructions of a null RPC). */
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

static sk_status_t ucx_post_recv(struct sk_ep *ep, const struct sk_mr *mr,
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
static sk_status_t ucx_ep_cancel(struct sk_ep *ep)
{
	struct ucx_ep *e = ucx_ep(ep);

	ucx_ep_fail(e, SK_ERR_FLUSHED);
	ucx_rq_flush(ucx_dev(ep->dev), e);
	return SK_OK;
}

const struct sk_provider_ops sk_ucx_provider_ops = {
	.name = "ucx",
	.list = ucx_list,
	.dev_open = ucx_dev_open,
	.dev_close = ucx_dev_close,
	.dev_poll = ucx_dev_poll,
	.dev_fd = ucx_dev_fd,
	.dev_arm = ucx_dev_arm,
	.dev_sleep_bound = ucx_dev_sleep_bound,
	.mr_reg = ucx_mr_reg,
	.mr_dereg = ucx_mr_dereg,
	.mr_pack = ucx_mr_pack,
	.rkey_unpack = ucx_rkey_unpack,
	.rkey_unpack_nowait = ucx_rkey_unpack_nowait,
	.rkey_destroy = ucx_rkey_destroy,
	.ep_create = ucx_ep_create,
	.ep_addr_pack = ucx_ep_addr_pack,
	.ep_connect = ucx_ep_connect,
	.ep_destroy = ucx_ep_destroy,
	.ep_cancel = ucx_ep_cancel,
	.post = ucx_post,
	.post_recv = ucx_post_recv,
	.ep_set_inplace = ucx_ep_set_inplace,
	.ep_release = ucx_ep_release,
	.dev_transports = ucx_dev_transports,
};
