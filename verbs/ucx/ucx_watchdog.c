/*
 * The stall watchdog: an endpoint whose oldest operation sees no
 * completion for SKIFF_STALL_MS is closed by force.
 */

#include "ucx_int.h"

/* Requests UCX never finished, even on a forced close: complete their
 * slots here as flushed; a late callback finds pending == 0. */
void ucx_sq_abandon(struct ucx_dev *d, struct ucx_ep *e)
{
	for (uint32_t i = e->sq_tail; i != e->sq_head; i++) {
		struct ucx_sq_slot *s = &e->sq[i & e->sq_mask];

		if (s->pending == 0)
			continue;
		d->inflight -= s->pending;
		s->pending = 0;
		if (s->status == SK_OK)
			s->status = SK_ERR_FLUSHED;
	}
	ucx_sq_retire(d, e);
}

/*
 * The stall watchdog (SKIFF_STALL_MS; what it is for: verbs.h). UCX's
 * keepalive fails a dead peer's endpoint on some paths only (it caught a
 * killed peer over shared memory, not a large put waiting on it), so an
 * endpoint whose oldest operation sees no completion for that long is
 * closed by force. Its requests complete as cancelled; the first is
 * reported as SK_ERR_RETRY_EXCEEDED, the rest as flushed.
 *
 * It runs from every 64th poll, busy or not, and from arm (before the
 * caller sleeps), and scans at most every 100 ms; it never waits: the forced close finishes in the background
 * (close_req, reaped by ucx_ep_destroy), and its slots complete now.
 */
void ucx_watchdog(struct ucx_dev *d)
{
	uint64_t now = ucx_now_ns();

	if (now < d->next_check_ns)
		return;
	d->next_check_ns = now + 100000000ull;
	for (uint32_t i = 0; i < d->eps.n; i++) {
		struct ucx_ep *e = d->eps.eps[i] ? ucx_ep(d->eps.eps[i])
						 : NULL;

		if (e == NULL || e->stalled || e->uep == NULL)
			continue;
		if (e->sq_head == e->sq_tail) {
			e->wd_armed = 0;
			continue;
		}
		if (!e->wd_armed || e->wd_tail != e->sq_tail) {
			/* Something waits, or the ring moved since the last
			 * look: start counting from now. */
			e->wd_armed = 1;
			e->wd_tail = e->sq_tail;
			e->wd_since_ns = now;
			continue;
		}
		if (now - e->wd_since_ns < d->stall_ns)
			continue;
		sk_log_error("ucx: endpoint %u: no completion for %llu ms "
			     "(peer gone?); closing it", e->idx,
			     (unsigned long long)(d->stall_ns / 1000000));
		e->stalled = 1;
		ucx_ep_fail(e, SK_ERR_RETRY_EXCEEDED);
		if (e->keytab_rkey)
			ucp_rkey_destroy(e->keytab_rkey);
		e->keytab_rkey = NULL;
		e->close_req = ucx_ep_close_start(d, e);
		e->uep = NULL;
		ucx_sq_abandon(d, e);
	}
}
