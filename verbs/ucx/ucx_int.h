/*
 * The ucx provider: Skiff verbs on UCX UCP, for machines without an RDMA
 * device (shared memory and TCP).
 *
 * Mapping:
 *   device       a UCP context and one worker (wakeup-capable: its event fd
 *                is the completion channel).
 *   registration ucp_mem_map plus a packed rkey, and an entry in the key
 *                table (below).
 *   endpoint     a UCP endpoint with peer error handling; its address blob
 *                is the worker address plus the key table's location.
 *   write/read   ucp_put_nbx / ucp_get_nbx; atomics ucp_atomic_op_nbx.
 *   send/recv    to a peer on this host: a shared-memory ring (ring.h);
 *                otherwise active messages into the receiver's posted
 *                receives, held (or copied) while none is posted. Sends
 *                are numbered and delivered in number order from both.
 *   write_imm    put, fence, then an active message carrying the immediate:
 *                UCP's fence orders it after the put, so the target sees
 *                the data before the immediate.
 *
 * Emulating an RC queue pair:
 *   - Completions of an endpoint are reported in posting order: each post
 *     takes a slot of a ring and slots retire in order as UCX completes
 *     them, whatever order UCX uses.
 *   - A signaled write completes only after ucp_ep_flush_nbx, so it is
 *     visible at the target, as an RDMA ACK promises. A read, atomic or
 *     active message after an unflushed write is fenced behind it.
 *   - An error moves the endpoint into the error state; later slots
 *     complete with SK_ERR_FLUSHED, and so do its posted receives. A
 *     failure no operation caused (peer gone, a bad or unholdable message)
 *     is reported by the first error completion.
 *   - A completion keeps its place in its endpoint's queue until it is
 *     polled, as a NIC's send queue entry does: the device's software
 *     queue, sized at endpoint creation for every endpoint's depths, then
 *     always has room (nothing is allocated on the datapath), and a full
 *     endpoint says SK_ERR_AGAIN. A destroyed endpoint's completions leave
 *     the queue with it.
 *   - Protection: UCX does not check rights, ranges or stale keys across
 *     processes (a shared-memory put is a memcpy). Every device publishes
 *     a key table, registered memory of {cookie, addr, len, rights, rkey
 *     fingerprint} per registration. Importing a descriptor reads its
 *     entry with one ucp_get and keeps the key only if all fields match;
 *     every operation is then checked against the key's range and rights
 *     before it is issued. A failed check completes the operation with
 *     SK_ERR_REMOTE_ACCESS and leaves the target untouched. A key imported
 *     before the target deregistered is not revoked (UCX cannot).
 *
 * Callbacks find their endpoint by (index, generation) and their slot by
 * sequence, so a late callback for a destroyed endpoint is ignored.
 *
 * The files, each one concern, each calling only those before it (checked
 * by tests/tools/callcycles.py; the software CQ's push is inline here):
 *   ucx_progress.c  the worker's progress, and which device it runs for
 *   ucx_cq.c        the device's software completion queue
 *   ucx_sq.c        the send queue: slots retire in order; endpoint errors
 *   ucx_rq.c        the receive queue: delivery into posted receives
 *   ucx_ring.c      shared-memory rings to peers on this host (ring.h)
 *   ucx_am.c        active messages: what arrives through UCX
 *   ucx_key.c       registrations, packed keys and the key table
 *   ucx_ep.c        endpoints: create, address, connect, close
 *   ucx_ops.c       posting: write, read, atomics, sends, receives, cancel
 *   ucx_watchdog.c  stalled endpoints fail
 *   ucx_dev.c       the device, its poll and arm, the operations table
 */

#ifndef SKIFF_VERBS_UCX_INT_H
#define SKIFF_VERBS_UCX_INT_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <ucp/api/ucp.h>

#include <skiff/config.h>

#include "../provider.h"
#include "../wire.h"
#include "ring.h"
#include "ucx_wire.h"

#define UCX_AM_SEND       1
#define UCX_AM_IMM        2
#define UCX_AM_NOP        3 /* takes a number, delivers nothing */
#define UCX_PROGRESS_SPIN 16
#define UCX_CLOSE_MS      2000
#define UCX_STILL_NS      200000 /* requests in flight stood still: nap */
#define UCX_NAP_MS        1      /* ... this long at most */
#define UCX_MAX_INLINE    256
#define UCX_INPLACE_MIN   512  /* AM data above this is delivered in place */
#define UCX_IMM_PROBE     4096 /* sends between tries of a larger imm_max */

/* One entry of the key table; the wire layout of the remote read. */
struct ucx_keytab_entry {
	uint64_t cookie;     /* 0: free */
	uint64_t addr;
	uint64_t len;
	uint32_t access;
	uint32_t rkey_hash;  /* sk_wire_hash32 of the packed UCX rkey */
};

/* Active-message header, host byte order (same machine or same arch). */
struct ucx_am_hdr {
	uint32_t dst_idx;
	uint32_t dst_gen;
	uint32_t imm;
	uint32_t len;
	uint64_t seq;     /* the endpoint's message number (ring.h) */
};

struct ucx_sq_slot {
	void *ctx;
	uint32_t seq;
	uint32_t opcode;
	uint16_t user_signaled;
	uint16_t pending;     /* UCX requests still running */
	sk_status_t status;   /* first error */
	uint64_t operand;     /* atomic operand: must outlive the request */
	struct ucx_am_hdr hdr; /* UCX 1.13 reads the header until completion */
	uint8_t bounce[UCX_MAX_INLINE]; /* inline data, owned by the slot */
};

struct ucx_rq_slot {
	void *ctx;
	void *buf;
	size_t len;
	uint32_t seq;
	uint32_t opcode;
	uint32_t byte_len;
	uint32_t imm;
	int done;
	sk_status_t status;
	void *data;          /* left in place in the ring; NULL: in buf */
};

/* A ring message delivered in place, until the user releases it. */
struct ucx_held {
	uint64_t start;      /* ring position before it (and its wrap) */
	void *data;
	int released;
};

/* A message that arrived before a receive was posted. */
struct ucx_unexp {
	void *data;          /* UCX-owned: DATA or RNDV descriptor */
	size_t length;
	uint16_t kind;       /* UCX_AM_SEND, UCX_AM_IMM or UCX_AM_NOP */
	uint8_t rndv;
	uint8_t held;        /* we returned UCS_INPROGRESS: release it */
	uint8_t owned;       /* data is our malloc'd copy: free it */
	struct ucx_am_hdr hdr;
};

struct ucx_ep {
	struct sk_ep super;
	ucp_ep_h uep;
	uint32_t idx;
	uint16_t gen;
	uint32_t peer_idx;
	uint32_t peer_gen;
	ucp_rkey_h keytab_rkey;
	uint64_t keytab_addr;
	uint32_t keytab_size;
	int failed;          /* error state: new posts complete FLUSHED */
	sk_status_t fail_status; /* why it failed, first reason */
	int rq_flush_owed;   /* failed: its posted receives must complete */
	int err_reported;    /* one error completion went out already */
	int dirty;           /* puts issued since the last fence or flush */
	int destroying;      /* completions are dropped, not reported */
	int stalled;         /* the stall watchdog failed it */
	void *close_req;     /* its forced close, still running (watchdog) */
	/* The watchdog's view, taken only when it runs (no clock reads on
	 * the datapath): the oldest slot it saw waiting, and since when. */
	int wd_armed;
	uint32_t wd_tail;
	uint64_t wd_since_ns;

	struct ucx_sq_slot *sq;
	uint32_t sq_mask, sq_head, sq_tail;
	/* Completions of the send and receive queues that wait in the
	 * device's queue: they hold their place in their endpoint's queue
	 * until polled, as on an RDMA NIC, so the device's queue (sized for
	 * every endpoint's depths) never overflows and never grows. */
	uint32_t sq_cq, rq_cq;

	struct ucx_rq_slot *rq;
	uint32_t rq_mask;
	uint32_t rq_head;    /* next to post */
	uint32_t rq_match;   /* next to fill from an arriving message */
	uint32_t rq_tail;    /* next to report */

	struct ucx_unexp *uq;
	uint32_t uq_mask, uq_head, uq_tail;

	/* Sends and write_imm notifications are numbered per endpoint; the
	 * receiver takes them in that order from UCX and from the ring. */
	uint64_t tx_seq;     /* the next message's number */
	uint64_t rx_seq;     /* the number expected next */
	struct ucx_ring_rx rx; /* ours: the peer writes, we read */
	struct ucx_ring_tx tx; /* the peer's, mapped; tx.ctl NULL: none */
	int ring_polled;     /* rx is on the device's poll list */
	int ring_dirty;      /* a put or atomic since the last UCX message:
	                      * a ring send could overtake it */
	int inplace;         /* sk_ep_set_inplace */
	struct ucx_am_hdr nop_hdr; /* UCX reads it until the send is done */
	int nop_owed;        /* the no-op goes before the first ring send */
	struct ucx_held *held; /* in-place messages, oldest first */
	uint32_t held_mask, held_head, held_tail;
	/* UCX descriptors delivered in place (sk_ep_set_inplace), until the
	 * user releases them: ucp_am_data_release then. */
	void **amheld;
	uint32_t namheld;
};

struct ucx_mr {
	struct sk_mr super;
	ucp_mem_h memh;
	void *rkey_buf;
	size_t rkey_len;
	uint32_t key_id;
	uint64_t cookie;
	int owned;              /* sk_mr_alloc's: UCX allocated the memory */
	struct ucx_mr *retired; /* owned, deregistered: mapped until close */
};

/* A read of a peer's key-table entry (ucx_keytab_fetch), with the buffer
 * it lands in. */
struct ucx_fetch {
	struct ucx_keytab_entry ent;
	struct ucx_fetch *next, **pprev; /* the device's list */
	ucs_status_t status;
	int done;
	int orphan;          /* its waiter timed out: the callback frees it */
};

struct ucx_rkey {
	struct sk_rkey super;
	ucp_rkey_h urkey;    /* NULL: the target did not honour the key */
};

struct ucx_dev {
	struct sk_dev super;
	ucp_context_h ctx;
	ucp_worker_h worker;
	int efd;
	ucp_address_t *waddr;
	size_t waddr_len;

	struct sk_wc *cq;    /* completions ready for sk_dev_poll */
	uint32_t cq_size, cq_head, cq_tail, cq_need;

	struct sk_ep_table eps;

	struct ucx_keytab_entry *keytab;
	uint32_t keytab_size;
	ucp_mem_h keytab_memh;
	void *keytab_rkey_buf;
	size_t keytab_rkey_len;

	uint32_t sq_depth, rq_depth, uq_depth;
	unsigned long key_check_ms;
	uint64_t stall_ns;      /* watchdog bound; 0: off */
	uint64_t next_check_ns;
	unsigned long bad_am;   /* malformed active messages dropped */
	uint32_t flush_owed;    /* failed endpoints with receives to flush */
	size_t imm_max;         /* sends up to this try the immediate path */
	struct ucx_ring_host host; /* same-host rings (ring.h) */
	int ring_on;            /* SKIFF_UCX_SHM */
	uint32_t ring_size;     /* SKIFF_UCX_RING_KB, in bytes */
	int pfd;                /* epoll of efd and the wakeup socket; -1 */
	int ucp_armed;          /* the worker is armed and nothing was done
				 * through it since: sleeping needs no new
				 * ucp_worker_arm while efd stays quiet
				 * (ucx_dev_arm) */
	struct ucx_ep **rings;  /* endpoints whose ring we poll */
	uint32_t nrings, rings_cap;
	uint32_t polls;
	uint32_t imm_probe;     /* posts until imm_max is tried again */
	unsigned long inflight; /* UCX requests whose callback is owed */
	unsigned long moved;    /* progress calls that did something */
	uint64_t still_ns;      /* since when requests in flight have not
				 * moved (ucx_dev_arm's nap); 0: none out */
	unsigned long still_moved; /* moved, as still_ns was set */
	struct ucx_fetch *fetches; /* key-table reads UCX still owns */
	struct ucx_mr *retired;    /* sk_mr_alloc memory, deregistered */
	char transport[64];
};

static inline void ucx_fetch_unlink(struct ucx_fetch *f)
{
	*f->pprev = f->next;
	if (f->next)
		f->next->pprev = f->pprev;
}

static inline struct ucx_dev *ucx_dev(struct sk_dev *dev)
{
	return sk_container_of(dev, struct ucx_dev, super);
}

static inline struct ucx_ep *ucx_ep(struct sk_ep *ep)
{
	return sk_container_of(ep, struct ucx_ep, super);
}

static inline sk_status_t ucx_status(ucs_status_t st)
{
	switch (st) {
	case UCS_OK:
		return SK_OK;
	case UCS_ERR_NO_MEMORY:
		return SK_ERR_NOMEM;
	case UCS_ERR_CANCELED:
		return SK_ERR_FLUSHED;
	case UCS_ERR_ENDPOINT_TIMEOUT:
	case UCS_ERR_CONNECTION_RESET:
	case UCS_ERR_UNREACHABLE:
	case UCS_ERR_TIMED_OUT:
	case UCS_ERR_REJECTED:
		return SK_ERR_RETRY_EXCEEDED;
	case UCS_ERR_INVALID_PARAM:
		return SK_ERR_INVAL;
	case UCS_ERR_UNSUPPORTED:
		return SK_ERR_UNSUPPORTED;
	default:
		return SK_ERR_IO;
	}
}

static inline uint32_t ucx_pow2(unsigned long v)
{
	uint32_t p = 1;

	while (p < v)
		p <<= 1;
	return p;
}

static inline uint64_t ucx_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline int64_t ucx_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Shared between the files of the provider, and not beyond it: hidden, so
 * that libskiff_verbs.so exports what it did and calls among them need no
 * PLT.
 */
#pragma GCC visibility push(hidden)

/* The device whose worker this thread is progressing: UCX callbacks get
 * only our 64-bit cookie, and a device belongs to one thread. */
extern __thread struct ucx_dev *ucx_cb_dev;

/* ucx_cq.c */
void __attribute__((cold, noinline))
ucx_cq_overflow(struct ucx_ep *e);
void ucx_cq_purge(struct ucx_dev *d, const struct ucx_ep *e);
sk_status_t ucx_cq_reserve(struct ucx_dev *d, uint32_t more);

/* ucx_sq.c */
void ucx_ep_fail(struct ucx_ep *e, sk_status_t st);
sk_status_t ucx_first_error(struct ucx_ep *e, sk_status_t st);
void ucx_sq_retire(struct ucx_dev *d, struct ucx_ep *e);
void ucx_send_cb(void *request, ucs_status_t status, void *user_data);

/* ucx_rq.c */
void ucx_rq_retire(struct ucx_dev *d, struct ucx_ep *e);
void ucx_rq_report(struct ucx_dev *d, struct ucx_ep *e, uint32_t seq,
		   const struct sk_wc *wc);
void ucx_rq_flush(struct ucx_dev *d, struct ucx_ep *e);
void ucx_flush_failed(struct ucx_dev *d);
void ucx_recv_data_cb(void *request, ucs_status_t status,
		      size_t length, void *user_data);
ucs_status_t ucx_deliver(struct ucx_dev *d, struct ucx_ep *e,
			 const struct ucx_unexp *m);

/* ucx_am.c */
ucs_status_t ucx_am_send_cb(void *arg, const void *header, size_t hlen,
			    void *data, size_t length,
			    const ucp_am_recv_param_t *param);
ucs_status_t ucx_am_imm_cb(void *arg, const void *header, size_t hlen,
			   void *data, size_t length,
			   const ucp_am_recv_param_t *param);
ucs_status_t ucx_am_nop_cb(void *arg, const void *header, size_t hlen,
			   void *data, size_t length,
			   const ucp_am_recv_param_t *param);

/* ucx_ring.c */
void ucx_ep_release(struct sk_ep *ep, void *data);
void ucx_ep_set_inplace(struct sk_ep *ep, int on);
void ucx_rx_drain(struct ucx_dev *d, struct ucx_ep *e);
void ucx_rings_init(struct ucx_dev *d);
void ucx_rings_cleanup(struct ucx_dev *d);
sk_status_t ucx_rings_add(struct ucx_dev *d, struct ucx_ep *e);
void ucx_rings_del(struct ucx_dev *d, struct ucx_ep *e);
int ucx_rings_arm(struct ucx_dev *d, int woken);

/* ucx_progress.c */
void ucx_progress(struct ucx_dev *d);
void ucx_progress_drain(struct ucx_dev *d);

/* ucx_dev.c */
void ucx_dev_close(struct sk_dev *dev);

/* ucx_watchdog.c */
void ucx_sq_abandon(struct ucx_dev *d, struct ucx_ep *e);
void ucx_watchdog(struct ucx_dev *d);

/* ucx_key.c */
sk_status_t ucx_keytab_init(struct ucx_dev *d, unsigned long n);
sk_status_t ucx_mr_reg(struct sk_dev *dev, void *addr, size_t len,
		       unsigned access, struct sk_mr **mr_p);
sk_status_t ucx_mr_alloc(struct sk_dev *dev, size_t len, unsigned access,
			 struct sk_mr **mr_p);
void ucx_mr_dereg(struct sk_mr *mr);
void ucx_mr_retired_cleanup(struct ucx_dev *d);
sk_status_t ucx_mr_pack(const struct sk_mr *mr, void *buf,
			size_t *len_p);
sk_status_t ucx_rkey_unpack(struct sk_ep *ep, const void *buf,
			    size_t len, struct sk_rkey **rkey_p);
sk_status_t ucx_rkey_unpack_nowait(struct sk_ep *ep, const void *buf,
				   size_t len, struct sk_rkey **rkey_p);
void ucx_rkey_destroy(struct sk_rkey *rkey);

/* ucx_ep.c */
sk_status_t ucx_ep_create(struct sk_dev *dev, uint32_t sq, uint32_t rq,
			  struct sk_ep **ep_p);
sk_status_t ucx_ep_addr_pack(const struct sk_ep *ep, void *buf,
			     size_t *len_p);
sk_status_t ucx_ep_connect(struct sk_ep *ep, const void *buf,
			   size_t len);
void ucx_send_nop(struct ucx_dev *d, struct ucx_ep *e);
void *ucx_ep_close_start(struct ucx_dev *d, struct ucx_ep *e);
void ucx_ep_destroy(struct sk_ep *ep);

/* ucx_ops.c */
sk_status_t ucx_post(struct sk_ep *ep, const struct sk_wr *op);
sk_status_t ucx_post_recv(struct sk_ep *ep, const struct sk_mr *mr,
			  void *laddr, size_t len, void *ctx);
sk_status_t ucx_ep_cancel(struct sk_ep *ep);

#pragma GCC visibility pop

/* ---- hot helpers: inline, so that the datapath makes no more calls
 * than it did in one file ---- */

/*
 * Queue a completion of @e's send queue, or of its receive queue if @rq.
 * No allocation here: the queue is sized at endpoint creation for every
 * endpoint's depths, and a completion keeps its place in its endpoint's
 * queue until it is polled (sq_cq, rq_cq), so it always fits. Should that
 * ever not hold, the endpoint fails rather than the process.
 */
static inline void ucx_cq_push(struct ucx_dev *d, struct ucx_ep *e,
			       const struct sk_wc *wc, int rq)
{
	if (__builtin_expect(d->cq_head - d->cq_tail == d->cq_size, 0)) {
		ucx_cq_overflow(e);
		return;
	}
	if (rq)
		e->rq_cq++;
	else
		e->sq_cq++;
	d->cq[d->cq_head++ & (d->cq_size - 1)] = *wc;
}

/* ---- endpoint table and callback cookies ---- */

static inline void *ucx_cookie(const struct ucx_ep *e, uint32_t seq)
{
	return (void *)(uintptr_t)((uint64_t)e->gen << 48 |
				   (uint64_t)e->idx << 32 | seq);
}

static inline struct ucx_ep *ucx_ep_lookup(struct ucx_dev *d, uint32_t idx,
					   uint32_t gen)
{
	struct sk_ep *ep = sk_ep_table_get(&d->eps, idx, gen);

	return ep ? ucx_ep(ep) : NULL;
}

static inline struct ucx_ep *ucx_cookie_ep(struct ucx_dev *d, void *cookie,
					   uint32_t *seq_p)
{
	uint64_t v = (uintptr_t)cookie;

	*seq_p = (uint32_t)v;
	return ucx_ep_lookup(d, (uint32_t)(v >> 32) & 0xffff,
			     (uint32_t)(v >> 48));
}

/* ---- send queue (ucx_sq.c) ---- */

static inline void ucx_slot_note(struct ucx_sq_slot *s, ucs_status_t st)
{
	if (st != UCS_OK && s->status == SK_OK)
		s->status = ucx_status(st);
}

/* Account one UCX call's result against a slot: NULL is done, an error
 * pointer failed now, a request completes later in ucx_send_cb. */
static inline void ucx_slot_track(struct ucx_dev *d,
				  struct ucx_sq_slot *s,
				  ucs_status_ptr_t ret)
{
	d->ucp_armed = 0;
	if (ret == NULL)
		return;
	if (UCS_PTR_IS_ERR(ret)) {
		ucx_slot_note(s, UCS_PTR_STATUS(ret));
		return;
	}
	s->pending++;
	d->inflight++; /* the callback frees the request */
}

/* ---- same-host rings (ucx_ring.c) ---- */

/* Ring messages that wait, on every endpoint that has a ring. */
static inline void ucx_rings_poll(struct ucx_dev *d)
{
	for (uint32_t i = 0; i < d->nrings; i++) {
		struct ucx_ep *e = d->rings[i];

		if (ucx_ring_ready(&e->rx, e->rx_seq))
			ucx_rx_drain(d, e);
	}
}

#endif /* SKIFF_VERBS_UCX_INT_H */
