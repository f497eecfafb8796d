/*
 * A real second process for verbs tests: the test forks a peer, which opens
 * its own device (same SKIFF_PROVIDER) and obeys commands sent over a
 * SOCK_SEQPACKET socketpair: register memory, connect endpoints, post
 * receives and report what arrived, checksum its memory, run atomics.
 * The socket is the out-of-band channel; every data byte crosses the
 * fabric. Fork peers before the test opens its own device.
 */
#ifndef SK_TEST_PEER_H
#define SK_TEST_PEER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <skiff/verbs.h>

enum sk_test_cmd {
	SK_TEST_REG = 1,    /* a=size, aux=access, b=fill seed -> id, blob */
	SK_TEST_DEREG,      /* id (memory stays allocated, for checks) */
	SK_TEST_CKSUM,      /* id, a=offset, b=len -> c=checksum */
	SK_TEST_FILL,       /* id, b=seed: refill the region */
	SK_TEST_CONNECT,    /* blob=our address -> id, blob=its address */
	SK_TEST_POST_RECVS, /* id=ep, aux=count, a=size, b=watch region id */
	SK_TEST_WAIT_RECVS, /* aux=count, a=timeout ms -> results */
	SK_TEST_SEND,       /* id=ep, aux=count, a=size, b=seed */
	SK_TEST_ATOMICS,    /* id=ep, aux=op, a=count, blob=descriptor */
	SK_TEST_EP_CREATE,  /* -> id, blob=its address (not connected) */
	SK_TEST_EP_CONNECT, /* id, blob=the other side's address */
	SK_TEST_SCRIBBLE,   /* id=ep, blob=descriptor, a=offset from its start,
	                     * b=len (may run past its end), aux=seed: RDMA-
	                     * write random bytes there in 4 KiB writes ->
	                     * status of the first that failed, c=bytes
	                     * written before it */
	SK_TEST_EXIT,
};

enum sk_test_atomic_op { SK_TEST_FADD = 1, SK_TEST_CAS_INC };

struct sk_test_msg {
	uint32_t cmd;
	int32_t status;
	uint32_t id;
	uint32_t aux;
	uint64_t a, b, c;
	uint32_t blob_len;
	uint8_t blob[SK_BLOB_MAX];
};

/* One completion the peer saw, with a checksum of what it covered:
 * RECV: the receive buffer's first byte_len bytes; RECV_IMM: the first
 * byte_len bytes of the watched region, taken when the completion came. */
struct sk_test_recv {
	int32_t status;
	uint32_t opcode;
	uint32_t byte_len;
	uint32_t imm;
	uint64_t cksum;
};

#define SK_TEST_MAX_RECVS 256

struct sk_test_peer {
	pid_t pid;
	int sock;
	/* Called while waiting for a reply, so the test's own device keeps
	 * progressing (a peer's operation may need it). May be NULL. */
	void (*idle)(void *arg);
	void *idle_arg;
};

/* Fork a peer. Returns 0, or -1 with errno. */
int sk_test_peer_start(struct sk_test_peer *p);

/* Send a command and wait for the reply (into @msg). Returns the peer's
 * status, or SK_ERR_IO if the peer is gone. */
int sk_test_peer_call(struct sk_test_peer *p, struct sk_test_msg *msg);

/* Send a command without waiting; collect with sk_test_peer_reply(). */
int sk_test_peer_send(struct sk_test_peer *p, const struct sk_test_msg *msg);
int sk_test_peer_reply(struct sk_test_peer *p, struct sk_test_msg *msg);

/* SK_TEST_WAIT_RECVS: up to @max results. Returns how many, or < 0. */
int sk_test_peer_wait_recvs(struct sk_test_peer *p, unsigned count,
			    int timeout_ms, struct sk_test_recv *out,
			    unsigned max);

/* Connect @ep (ours, created) with a new endpoint in the peer. Returns the
 * peer's endpoint id, or < 0. */
int sk_test_peer_connect(struct sk_test_peer *p, struct sk_ep *ep);

/* Connect two peers to each other. Returns 0 and the endpoint ids. */
int sk_test_peers_connect(struct sk_test_peer *a, struct sk_test_peer *b,
			  int *a_ep, int *b_ep);

/* Register @size bytes in the peer with @access, filled from @seed;
 * import its descriptor on @ep into *@rkey_p. Returns the region id or < 0.
 * If @blob is not NULL, the packed descriptor is copied there too. */
int sk_test_peer_reg(struct sk_test_peer *p, struct sk_ep *ep, uint64_t size,
		     unsigned access, uint64_t seed, struct sk_rkey **rkey_p,
		     struct sk_test_msg *blob);

/* Checksum of [off, off+len) of a peer region; 0 on error (and *ok=0). */
uint64_t sk_test_peer_cksum(struct sk_test_peer *p, uint32_t id,
			    uint64_t off, uint64_t len, int *ok);

/* Ask the peer to exit and reap it; kill it after @timeout_ms. Returns its
 * wait status. */
int sk_test_peer_stop(struct sk_test_peer *p, int timeout_ms);

/* Deterministic fill and checksum, the same in both processes. */
void sk_test_fill(void *buf, size_t len, uint64_t seed);
uint64_t sk_test_cksum(const void *buf, size_t len);

/* Poll @dev until @n completions arrive or @timeout_ms passes. Returns the
 * number collected (< n on timeout). */
int sk_test_wait(struct sk_dev *dev, struct sk_wc *wc, int n, int timeout_ms);

#endif /* SK_TEST_PEER_H */
