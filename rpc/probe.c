/*
 * rpc liveness: finding that a peer is dead while our calls wait on it.
 * Owns the probe timer of each peer and the control messages (PING, and
 * PONG, which also acknowledges a hello).
 *
 * A dead peer shows only through an operation that needs it alive, and
 * over shared memory even one-sided operations complete against a dead
 * process's memory. So while our calls wait and the peer has been quiet
 * for SKIFF_RPC_PROBE_MS, we send it a PING, which its rpc answers with a
 * PONG from its loop (sk_rpc_recv_done, recv.c). A peer that answers none
 * of SK_RPC_DEAD_PROBES checks in a row is declared dead and its calls
 * fail: quiet is measured from the probe timer's first look that saw no
 * new message, so the bound is (SK_RPC_DEAD_PROBES + 2) *
 * SKIFF_RPC_PROBE_MS. A PING to a peer whose endpoint already failed
 * fails at once. The timer is armed by a peer's first outstanding call
 * (sk_rpc_call, call.c).
 */
#include "rpc_int.h"

void sk_rpc_send_ctl(struct sk_rpc_peer *p, uint8_t type)
{
	union sk_rpc_inl m;

	m.h = (struct sk_rpc_hdr){.magic = SK_RPC_MAGIC, .type = type};
	if (sk_rpc_post_inline(p, &m, NULL, 0) != SK_OK)
		sk_rpc_peer_fail(p, NULL);
}

void sk_rpc_probe_timer(struct sk_timer *t)
{
	struct sk_rpc_peer *p = (struct sk_rpc_peer *)((char *)t -
						       offsetof(struct sk_rpc_peer,
								probe_t));
	uint64_t now = sk_time_ns(), quiet;
	uint64_t probe_ns = p->rpc->probe_ms * 1000000ull;

	if (p->failed || p->ncalls == 0) {
		p->probing = 0;
		return; /* re-armed by the next call */
	}
	/* Messages are counted, not timed (no clock read per message):
	 * quiet is measured from the first look that saw no new one. */
	if (p->heard != p->heard_seen) {
		p->heard_seen = p->heard;
		p->quiet_ns = now;
	}
	quiet = now - p->quiet_ns;
	if (quiet >= (SK_RPC_DEAD_PROBES + 1) * probe_ns) {
		sk_rpc_peer_fail(p, "the peer answers no liveness check "
				    "(SKIFF_RPC_PROBE_MS)");
		return;
	}
	if (quiet >= probe_ns && !p->probing) {
		p->probing = 1; /* one PING in flight at a time */
		sk_rpc_send_ctl(p, SK_RPC_PING);
	}
	sk_timer_start(p->rpc->loop, &p->probe_t, p->rpc->probe_ms);
}
