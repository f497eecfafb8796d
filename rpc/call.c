/*
 * rpc calls: the caller's side. Owns a peer's call slots and its credits
 * (at most SK_RPC_CREDITS calls outstanding per peer, SK_ERR_AGAIN
 * beyond), choosing how a request goes out (inline, from a pool buffer,
 * or as a large request the server reads), arming the liveness probe
 * while calls wait (probe.c), and the blocking wrapper. A response comes
 * back through sk_rpc_recv_done (recv.c): sk_rpc_on_resp (rpc_int.h,
 * inlined there) or, for a large one, sk_rpc_on_imm (large.c); the call
 * completes in sk_rpc_call_finish (core.c).
 */
#include <errno.h>
#include <string.h>

#include "rpc_int.h"

sk_status_t sk_rpc_call(struct sk_rpc_peer *p, uint16_t id, const void *req,
			size_t len, void *resp, size_t resp_cap,
			sk_rpc_cont_func_t cont, void *arg)
{
	struct sk_rpc *rpc = p->rpc;
	struct sk_rpc_hdr h = {.magic = SK_RPC_MAGIC, .type = SK_RPC_REQ,
			       .handler = id, .len = (uint32_t)len};
	struct sk_rpc_call *c = NULL;
	void *buf = (void *)req;
	int small = SK_RPC_HDR + len <= rpc->inline_max;
	size_t inl = 0;
	unsigned i;
	sk_status_t st;

	if (p->failed)
		return SK_ERR_FLUSHED;
	if (cont == NULL || len > SK_RPC_MSG_MAX || id >= SK_RPC_HANDLERS ||
	    (resp && resp_cap > sk_rpc_buf_cap(rpc, resp)) ||
	    (resp == NULL && resp_cap != 0))
		return SK_ERR_INVAL;
	if (p->ncalls >= SK_RPC_CREDITS)
		return SK_ERR_AGAIN;
	for (i = 0; i < SK_RPC_CREDITS; i++) {
		if (!p->call[i].busy) {
			c = &p->call[i];
			break;
		}
	}
	if (c == NULL)
		return SK_ERR_AGAIN;

	if (small) {
		/* Copied into the send when posted: nothing to prepare. */
	} else if (len > SK_RPC_INLINE_MAX) {
		/* Large: the server reads it from our (registered) buffer. */
		if (sk_rpc_buf_cap(rpc, req) < len)
			return SK_ERR_INVAL;
		h.flags |= SK_RPC_F_LARGE_REQ;
		h.req_addr = (uintptr_t)req;
		buf = sk_rpc_buf_get(rpc, 0);
		if (buf == NULL)
			return SK_ERR_AGAIN;
		c->own_buf = buf;
	} else if (sk_rpc_buf_cap(rpc, req) == 0 || len == 0) {
		/* Not one of ours: copy it into a send buffer. */
		buf = sk_rpc_buf_get(rpc, len);
		if (buf == NULL)
			return SK_ERR_AGAIN;
		if (len)
			memcpy(buf, req, len);
		c->own_buf = buf;
		inl = len;
	} else {
		inl = len;
	}
	if (resp) {
		h.flags |= SK_RPC_F_RESP_ADDR;
		h.resp_addr = (uintptr_t)resp;
		h.resp_cap = (uint32_t)resp_cap;
	} else {
		h.resp_cap = SK_RPC_INLINE_MAX;
	}
	h.call = (uint16_t)c->idx;
	h.gen = c->gen;
	c->busy = 1;
	c->sent = c->answered = c->reported = 0;
	c->cont = cont;
	c->arg = arg;
	c->resp = resp;
	c->resp_cap = resp_cap;
	c->data = NULL;
	c->len = 0;
	if (small) {
		union sk_rpc_inl m;

		m.h = h;
		c->sent = 1;
		st = sk_rpc_post_inline(p, &m, req, len);
	} else {
		st = sk_rpc_post(p, buf, &h, inl, c);
	}
	if (st != SK_OK) {
		c->busy = 0;
		if (c->own_buf) {
			sk_rpc_buf_free(rpc, c->own_buf);
			c->own_buf = NULL;
		}
		return st;
	}
	if (p->ncalls++ == 0) {
		p->heard_seen = p->heard;
		p->quiet_ns = sk_time_ns();
		if (!sk_timer_armed(&p->probe_t))
			sk_timer_start(rpc->loop, &p->probe_t, rpc->probe_ms);
	}
	rpc->stats.calls++;
	return SK_OK;
}

/* ---- the blocking wrapper ---- */

struct sk_rpc_sync {
	int    done, status;
	void  *resp;
	size_t cap, len;
};

static void sk_rpc_sync_cont(void *arg, int status, const void *resp,
			     size_t len)
{
	struct sk_rpc_sync *s = arg;

	s->done = 1;
	s->status = status;
	s->len = len;
	if (resp && s->resp && resp != s->resp)
		memcpy(s->resp, resp, len < s->cap ? len : s->cap);
}

int sk_rpc_call_sync(struct sk_rpc_peer *p, uint16_t id, const void *req,
		     size_t len, void *resp, size_t resp_cap, size_t *len_p)
{
	struct sk_rpc_sync s = {.resp = resp, .cap = resp_cap};
	void *rbuf = NULL;
	sk_status_t st;

	/* The response lands in a pool buffer, so the server learns the
	 * real capacity (and large ones can come by RDMA). */
	if (resp_cap > 0) {
		rbuf = sk_rpc_buf_get(p->rpc, resp_cap);
		if (rbuf == NULL)
			return -ENOMEM;
	}
	for (;;) {
		st = sk_rpc_call(p, id, req, len, rbuf,
				 rbuf ? resp_cap : 0, sk_rpc_sync_cont, &s);
		if (st != SK_ERR_AGAIN)
			break;
		sk_loop_run_once(p->rpc->loop, -1);
	}
	if (st != SK_OK) {
		sk_rpc_buf_free(p->rpc, rbuf);
		return st == SK_ERR_FLUSHED ? -ECONNRESET : -EINVAL;
	}
	while (!s.done)
		if (sk_loop_run_once(p->rpc->loop, -1) < 0)
			break;
	if (rbuf && s.status >= 0 && resp)
		memcpy(resp, rbuf, s.len < resp_cap ? s.len : resp_cap);
	sk_rpc_buf_free(p->rpc, rbuf);
	if (len_p)
		*len_p = s.len;
	return s.done ? s.status : -ECONNRESET;
}
