/*
 * The rdma provider: Skiff verbs on rdma-core (libibverbs), for InfiniBand,
 * RoCE and Soft-RoCE.
 *
 * One device = one protection domain, one completion queue shared by every
 * endpoint and bound to one completion channel. An endpoint is an RC queue
 * pair, connected from the peer's packed address (QPN, PSN, LID, GID, MTU)
 * as ibv_rc_pingpong and perftest do, or through the RDMA connection
 * manager (librdmacm: the path resolved from the peer's IP address, a
 * connection the peer's kernel ends when it exits; rdma_cm.c says how);
 * the exchange of packed addresses itself is the caller's.
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
 * error state, flushing the rest; the provider only maps the statuses.
 *
 * The files, each one concern, each calling only those before it (checked
 * by tests/tools/callcycles.py):
 *   rdma_wire.c  the wire codecs of rdma.h (address, memory descriptor,
 *                connection request)
 *   rdma_qp.c    the queue pair's states: INIT, RTR/RTS, error
 *   rdma_cm.c    the connection manager: listener, events, connecting
 *   rdma_cq.c    completions: poll, arm, the stash, the stall watchdog
 *   rdma_mr.c    registrations and remote keys
 *   rdma_ep.c    endpoints: the RC QP, connect, cancel, destroy
 *   rdma_ops.c   posting work requests and receives
 *   rdma_dev.c   the device, its settings, the operations table
 */
#ifndef SKIFF_VERBS_RDMA_INT_H
#define SKIFF_VERBS_RDMA_INT_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <infiniband/verbs.h>
#include <rdma/rdma_cma.h>

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

/* A peer endpoint as the connection manager's path names it: its tag (0:
 * not known yet), its QP number and its first PSN. A request and the
 * peer's packed address must agree on all three. */
struct rdma_cm_who {
	uint64_t tag;
	uint32_t qpn;
	uint32_t psn;
};

static inline bool rdma_cm_who_same(const struct rdma_cm_who *a,
				    const struct rdma_cm_who *b)
{
	return a->tag == b->tag && a->qpn == b->qpn && a->psn == b->psn;
}

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
	/* The connection manager's part (rdma_cm.c); zero on the blob
	 * path. */
	struct rdma_cm_id *cm_id;
	uint64_t tag;           /* ours, in our blob; 0: blob path */
	int cm_state;           /* enum rdma_cm_state */
	int cm_gone;            /* the peer left: the QP is in error */
	struct rdma_cm_who req; /* an accepted request's, checked
	                         * against the blob at connect */
	struct rdma_cm_who peer; /* the blob's, once connected */
	int cm_status;          /* resolution's error (negative errno) */
	uint64_t cm_sent_ns;    /* active: when rdma_connect went out */
};

enum rdma_cm_state {
	RDMA_CM_NONE,           /* blob path, or nothing heard yet */
	RDMA_CM_ADDR,           /* active: resolving the address */
	RDMA_CM_ROUTE,          /*   then the route */
	RDMA_CM_RESOLVED,       /*   route resolved */
	RDMA_CM_CONNECTING,     /*   request sent */
	RDMA_CM_ACCEPTED,       /* passive: request accepted */
	RDMA_CM_ESTABLISHED,
	RDMA_CM_FAILED,         /* resolution or request failed */
	RDMA_CM_GONE,           /* disconnected */
};

struct rdma_mr {
	struct sk_mr super;
	struct ibv_mr *mr;
	int owned;              /* sk_mr_alloc's memory */
	struct rdma_mr *retired; /* owned, deregistered: mapped until close */
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

	struct rdma_mr *retired; /* sk_mr_alloc memory, deregistered */
	struct sk_ep_table eps;

	/* The connection manager (rdma_cm.c); cm_ch is NULL on the blob
	 * path. One channel and one listener per device; the fd the caller
	 * sleeps on is an epoll fd over the CQ channel and the CM channel. */
	struct rdma_event_channel *cm_ch;
	struct rdma_cm_id *cm_listen;
	uint8_t cm_ip[4];
	uint16_t cm_port;
	uint32_t cm_timeout_ms;  /* address and route resolution */
	int epfd;                /* -1 on the blob path */
	uint64_t cm_next_ns;     /* busy polls look at the channel then */
	uint64_t cm_look_ns;     /* the channel's last look, and the one */
	uint64_t cm_prev_ns;     /*   before it (rdma_cm_progress) */
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

static inline uint64_t rdma_wr_id(const struct rdma_ep *e, uint32_t seq)
{
	return (uint64_t)e->gen << 48 | (uint64_t)e->idx << 32 | seq;
}


static inline struct rdma_ep *rdma_ep_lookup(struct rdma_dev *d, uint64_t wr_id)
{
	uint32_t idx = (uint32_t)(wr_id >> 32) & 0xffff;
	uint16_t gen = (uint16_t)(wr_id >> 48);

	struct sk_ep *ep = sk_ep_table_get(&d->eps, idx, gen);

	/* NULL: a completion of an endpoint already destroyed */
	return ep ? rdma_ep(ep) : NULL;
}


static inline uint64_t rdma_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline int rdma_gid_is_ipv4(const union ibv_gid *gid)
{
	static const uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
					   0xff, 0xff};

	return memcmp(gid->raw, prefix, sizeof(prefix)) == 0;
}

static inline const char *rdma_link_layer_str(uint8_t ll)
{
	return ll == IBV_LINK_LAYER_ETHERNET ? "RoCE" : "InfiniBand";
}

/*
 * Shared between the files of the provider, and not beyond it: hidden, so
 * that libskiff_verbs.so exports what it did.
 */
#pragma GCC visibility push(hidden)

/* rdma_qp.c */
struct ibv_qp *rdma_qp_create(struct rdma_dev *d, uint32_t sq,
			      uint32_t rq, uint32_t *inline_p);
int rdma_qp_init(struct rdma_dev *d, struct ibv_qp *qp);
void rdma_ah_from_blob(const struct rdma_dev *d,
		       const struct rdma_peer_addr *a, struct ibv_ah_attr *ah);
sk_status_t rdma_qp_connect(struct rdma_dev *d, struct rdma_ep *e,
			    const struct ibv_ah_attr *ah, uint32_t qpn,
			    uint32_t psn, enum ibv_mtu mtu);
sk_status_t rdma_qp_error(struct rdma_dev *d, struct rdma_ep *e);

/* rdma_cm.c */
sk_status_t rdma_cm_open(struct rdma_dev *d);
void rdma_cm_close(struct rdma_dev *d);
void rdma_cm_progress(struct rdma_dev *d);
sk_status_t rdma_cm_connect(struct rdma_dev *d, struct rdma_ep *e,
			    const struct rdma_peer_addr *a);
void rdma_cm_ep_destroy(struct rdma_dev *d, struct rdma_ep *e);

/* rdma_cq.c */
sk_status_t rdma_cq_reserve(struct rdma_dev *d, int more);
int rdma_dev_sleep_bound(const struct sk_dev *dev);
int rdma_dev_poll(struct sk_dev *dev, struct sk_wc *wc, int max);
int rdma_dev_fd(const struct sk_dev *dev);
sk_status_t rdma_dev_arm(struct sk_dev *dev, int quiet);

/* rdma_mr.c */
sk_status_t rdma_mr_reg(struct sk_dev *dev, void *addr, size_t len,
			unsigned access, struct sk_mr **mr_p);
sk_status_t rdma_mr_alloc(struct sk_dev *dev, size_t len, unsigned access,
			  struct sk_mr **mr_p);
void rdma_mr_dereg(struct sk_mr *mr);
void rdma_mr_retired_cleanup(struct rdma_dev *d);
sk_status_t rdma_mr_pack(const struct sk_mr *mr, void *buf,
			 size_t *len_p);
sk_status_t rdma_rkey_unpack(struct sk_ep *ep, const void *buf,
			     size_t len, struct sk_rkey **rkey_p);
void rdma_rkey_destroy(struct sk_rkey *rkey);

/* rdma_ep.c */
sk_status_t rdma_ep_create(struct sk_dev *dev, uint32_t sq, uint32_t rq,
			   struct sk_ep **ep_p);
sk_status_t rdma_ep_addr_pack(const struct sk_ep *ep, void *buf,
			      size_t *len_p);
sk_status_t rdma_ep_connect(struct sk_ep *ep, const void *buf,
			    size_t len);
void rdma_ep_destroy(struct sk_ep *ep);
sk_status_t rdma_ep_cancel(struct sk_ep *ep);

/* rdma_ops.c */
sk_status_t rdma_post(struct sk_ep *ep, const struct sk_wr *op);
sk_status_t rdma_post_recv(struct sk_ep *ep, const struct sk_mr *mr,
			   void *laddr, size_t len, void *ctx);

#pragma GCC visibility pop

#endif /* SKIFF_VERBS_RDMA_INT_H */
