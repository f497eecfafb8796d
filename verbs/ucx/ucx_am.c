/*
 * Active messages: sends and write_imm notifications that arrive through
 * UCX, matched to posted receives (ucx_rq.c), or held until one is
 * posted.
 */

#include "ucx_int.h"

static ucs_status_t ucx_am_cb(void *arg, const void *header, size_t hlen,
			      void *data, size_t length,
			      const ucp_am_recv_param_t *param, uint32_t kind)
{
	struct ucx_dev *d = arg;
	struct ucx_unexp m;
	struct ucx_ep *e;
	int inband = 0; /* our header was in the data */

	if (hlen == 0 && kind == UCX_AM_SEND && length >= sizeof(m.hdr) &&
	    !(param->recv_attr & UCP_AM_RECV_ATTR_FLAG_RNDV)) {
		/* A small send carries our header in front of its data. */
		memcpy(&m.hdr, data, sizeof(m.hdr));
		data = (char *)data + sizeof(m.hdr);
		length -= sizeof(m.hdr);
		hlen = sizeof(m.hdr);
		inband = 1;
	} else if (hlen == sizeof(m.hdr)) {
		memcpy(&m.hdr, header, sizeof(m.hdr));
	}
	if (hlen != sizeof(m.hdr) ||
	    ((kind == UCX_AM_IMM || kind == UCX_AM_NOP) && length != 0) ||
	    (kind == UCX_AM_SEND && m.hdr.len != length)) {
		if (d->bad_am++ == 0)
			sk_log_error("ucx: dropped a malformed active message "
				     "(header %zu bytes, data %zu)", hlen,
				     length);
		return UCS_OK;
	}
	e = ucx_ep_lookup(d, m.hdr.dst_idx, m.hdr.dst_gen);
	if (e == NULL || e->failed)
		return UCS_OK; /* endpoint gone or in error: drop */
	m.data = data;
	m.length = length;
	m.kind = (uint16_t)kind;
	m.rndv = (param->recv_attr & UCP_AM_RECV_ATTR_FLAG_RNDV) != 0;
	m.held = 0;
	m.owned = 0;
	if (m.hdr.seq < e->rx_seq) {
		sk_log_error("ucx: endpoint %u: message %llu again (expected "
			     "%llu); endpoint failed", e->idx,
			     (unsigned long long)m.hdr.seq,
			     (unsigned long long)e->rx_seq);
		ucx_ep_fail(e, SK_ERR_REMOTE_OP);
		return UCS_OK;
	}
	if (kind == UCX_AM_SEND && !m.rndv && m.hdr.seq == e->rx_seq &&
	    e->rq_match != e->rq_head &&
	    e->rq_tail == e->rq_match && e->uq_head == e->uq_tail &&
	    !e->destroying) {
		/* The common case: a receive waits and every earlier one was
		 * reported, so this one completes now, straight to the
		 * queue. */
		struct ucx_rq_slot *r = &e->rq[e->rq_match & e->rq_mask];

		if (length <= r->len) {
			struct sk_wc wc = {.ctx = r->ctx, .ep = &e->super,
					   .status = SK_OK,
					   .opcode = SK_OP_RECV,
					   .byte_len = (uint32_t)length};
			ucs_status_t ret = UCS_OK;

			if (e->inplace && !inband && length > UCX_INPLACE_MIN &&
			    (param->recv_attr & UCP_AM_RECV_ATTR_FLAG_DATA) &&
			    e->namheld <= e->held_mask) {
				/* Left in UCX's descriptor, as a ring message
				 * is left in the ring: copying it out of the
				 * shared FIFO pulls every line across cores
				 * (measured: perf/README.md, "Figures behind
				 * design choices"). Smaller ones are copied:
				 * cheaper than a descriptor swap.
				 * Released in ucx_ep_release. */
				e->amheld[e->namheld++] = data;
				wc.data = data;
				ret = UCS_INPROGRESS;
			} else {
				memcpy(r->buf, data, length);
			}
			e->rx_seq++;
			ucx_rq_report(d, e, e->rq_match++, &wc);
			return ret;
		}
	}
	if (kind != UCX_AM_NOP && m.hdr.seq == e->rx_seq &&
	    e->rq_match != e->rq_head && e->uq_head == e->uq_tail) {
		/* UCS_OK: eager data copied (UCX frees it); UCS_INPROGRESS:
		 * the descriptor went to ucp_am_recv_data_nbx. */
		return ucx_deliver(d, e, &m);
	}
	if (e->uq_head - e->uq_tail > e->uq_mask) {
		sk_log_error("ucx: endpoint %u: %u messages wait for a receive "
			     "(SKIFF_UCX_UNEXP_DEPTH); endpoint failed",
			     e->idx, e->uq_mask + 1);
		ucx_ep_fail(e, SK_ERR_REMOTE_OP);
		return UCS_OK;
	}
	/* UCX's descriptor is released by its own address: data moved past
	 * an in-band header is copied instead of held. */
	m.held = m.rndv || ((param->recv_attr & UCP_AM_RECV_ATTR_FLAG_DATA) &&
			    !inband);
	if (!m.held && length) {
		/* Short data lives in UCX's receive FIFO only during this
		 * callback: keep a copy. (UCP_AM_FLAG_PERSISTENT_DATA would
		 * make UCX copy every message, expected or not.) */
		m.data = malloc(length);
		if (m.data == NULL) {
			sk_log_error("ucx: no memory to hold an early message");
			ucx_ep_fail(e, SK_ERR_NOMEM);
			return UCS_OK;
		}
		memcpy(m.data, data, length);
		m.owned = 1;
	}
	e->uq[e->uq_head++ & e->uq_mask] = m;
	if (kind == UCX_AM_NOP)
		ucx_rx_drain(d, e); /* ring messages may wait behind it */
	/* The messages before it may be in the ring: poll finds them. */
	return m.held ? UCS_INPROGRESS : UCS_OK;
}

ucs_status_t ucx_am_send_cb(void *arg, const void *header, size_t hlen,
			    void *data, size_t length,
			    const ucp_am_recv_param_t *param)
{
	return ucx_am_cb(arg, header, hlen, data, length, param, UCX_AM_SEND);
}

ucs_status_t ucx_am_imm_cb(void *arg, const void *header, size_t hlen,
			   void *data, size_t length,
			   const ucp_am_recv_param_t *param)
{
	return ucx_am_cb(arg, header, hlen, data, length, param, UCX_AM_IMM);
}

ucs_status_t ucx_am_nop_cb(void *arg, const void *header, size_t hlen,
			   void *data, size_t length,
			   const ucp_am_recv_param_t *param)
{
	return ucx_am_cb(arg, header, hlen, data, length, param, UCX_AM_NOP);
}
