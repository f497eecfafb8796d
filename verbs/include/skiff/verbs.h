/*
 * Skiff verbs: the fabric driver API.
 *
 * Every layer above reaches the network through this header and nothing
 * else. Two providers implement it: "rdma" (rdma-core: InfiniBand, RoCE,
 * Soft-RoCE) and "ucx" (UCX UCP: shared memory and TCP). The model is the
 * one of libibverbs, narrowed to what Skiff needs:
 *
 *   sk_dev   an opened device: one completion queue, one completion channel.
 *   sk_mr    registered local memory with explicit rights.
 *   sk_rkey  a peer's registered memory, imported from its packed descriptor.
 *   sk_ep    a reliable connected endpoint to one peer.
 *
 * Operations are posted, never block, and complete on the device's queue,
 * read with sk_dev_poll(). Every completion carries the caller's context and
 * a status. Completions of one endpoint arrive in posting order.
 *
 * Threads: a device and everything made from it belong to one thread at a
 * time; use one device per thread (as one UCP worker per thread).
 *
 * Visibility (the flush/fence contract):
 *  - A write (or atomic) is visible in the target's memory once the initiator
 *    has seen its completion, or the completion of any later operation posted
 *    on the same endpoint, or of an sk_ep_flush() posted after it.
 *  - Unsignaled operations are covered by the next signaled completion on the
 *    same endpoint; sk_ep_flush() is the way to ask for that point explicitly.
 *  - The target learns of a write by a write-with-immediate: its immediate is
 *    delivered (consuming one posted receive) only after the data is visible.
 *    Polling target memory for the last byte of a write is not a contract.
 *  - A read sees every write posted before it on the same endpoint.
 *
 * Trust: packed addresses and descriptors must come over a trusted
 * out-of-band channel (the launcher's, guarded by the job secret). Their
 * check word catches corruption, not forgery; the ucx provider hands the
 * opaque UCX bytes inside to UCX, which does not defend against a forger.
 *
 * What a key protects: a registration's rights and range are enforced
 * against honest initiators, not hostile ones.
 *  - ucx: the rights, the range and the key table (sk_rkey_unpack's check
 *    that the target issued the key) are checked by the initiator alone,
 *    in this provider. They are advisory: a hostile peer that calls UCX
 *    itself, or simply shares memory with the target on one host, can
 *    ignore them and write whatever UCX lets it reach.
 *  - rdma: the NIC checks every operation against the registration, but
 *    an rkey is a capability within the protection domain, and keys are
 *    guessable (rxe hands them out in sequence); a peer with a queue pair
 *    into the domain can try them.
 * Nothing in Skiff relies on either for safety. The defence is what is
 * registered: only data is ever exposed to peers, never control (no
 * function pointer, allocator link or bookkeeping lives in memory a peer
 * may write), and each region gets only the rights its use needs
 * (libos/README.md, "Registered regions").
 *
 * Errors: an endpoint that completes an operation with an error enters the
 * error state, as an RC queue pair does. Everything posted on it afterwards,
 * and everything still pending, completes with SK_ERR_FLUSHED. Destroy it and
 * build a new one. Errors always produce a completion, signaled or not.
 */
#ifndef SKIFF_VERBS_H
#define SKIFF_VERBS_H

#include <stddef.h>
#include <stdint.h>

#include <skiff/status.h>

#ifdef __cplusplus
extern "C" {
#endif

struct sk_dev;
struct sk_mr;
struct sk_rkey;
struct sk_ep;

/* Largest packed endpoint address or memory descriptor, in bytes. */
#define SK_BLOB_MAX 1024

/* Rights of a registration. SK_ACCESS_LOCAL is implied by the others. */
enum sk_access {
	SK_ACCESS_LOCAL         = 1u << 0, /* local read and write */
	SK_ACCESS_REMOTE_READ   = 1u << 1,
	SK_ACCESS_REMOTE_WRITE  = 1u << 2,
	SK_ACCESS_REMOTE_ATOMIC = 1u << 3,
};
#define SK_ACCESS_ALL 0xfu

/* Flags for the sk_post_* calls. */
enum sk_post_flags {
	/* No completion on success (errors still complete). The operation is
	 * covered by the next signaled completion or flush on the endpoint. */
	SK_POST_UNSIGNALED = 1u << 0,
};

enum sk_opcode {
	SK_OP_WRITE = 1,
	SK_OP_WRITE_IMM,
	SK_OP_READ,
	SK_OP_CAS,
	SK_OP_FADD,
	SK_OP_SEND,
	SK_OP_FLUSH,
	SK_OP_RECV,     /* a send arrived in a posted receive */
	SK_OP_RECV_IMM, /* a write-with-immediate consumed a posted receive */
};

/* One completion. */
struct sk_wc {
	void        *ctx;      /* the caller's context from the post call */
	struct sk_ep *ep;      /* the endpoint it happened on */
	sk_status_t  status;   /* SK_OK or a completion error (status.h) */
	uint32_t     opcode;   /* enum sk_opcode */
	uint32_t     byte_len; /* RECV: bytes received; RECV_IMM: bytes written */
	uint32_t     imm;      /* RECV_IMM: the immediate */
	void        *data;     /* RECV: NULL, the bytes are in the posted
	                        * buffer; or where they were left in place
	                        * (sk_ep_set_inplace) */
};

/* What a device can do; filled by sk_dev_query(). */
struct sk_dev_attr {
	const char *provider;   /* "rdma" or "ucx" */
	const char *name;       /* device name, e.g. "rxe0", "mlx5_0", "ucp" */
	const char *transport;  /* e.g. "RoCE v2", "InfiniBand", "UCX/shm,tcp" */
	size_t      max_inline; /* writes and sends up to this need no MR */
	size_t      max_msg;    /* largest send, write or read */
	uint32_t    sq_depth;   /* operations outstanding per endpoint */
	uint32_t    rq_depth;   /* receives posted per endpoint */
	int         native_atomics; /* 1: the NIC or CPU does atomics itself */
	int         has_fd;     /* 1: sk_dev_fd() can be slept on */
	int         direct_mem; /* 1: peers on this host reach memory from
				 * sk_mr_alloc() without the target's
				 * progress (ucx: shared memory) */
};

/*
 * Open a device.
 * @provider  "rdma", "ucx", "auto", or NULL for $SKIFF_PROVIDER (default
 *            "auto": rdma when an active RDMA port exists, else ucx).
 * @device    a device name, or NULL for $SKIFF_DEVICE (default: the first
 *            usable one).
 * @dev_p     out: the device, on success only. Free with sk_dev_close().
 * Returns SK_OK, SK_ERR_NODEV (with a message on stderr naming what is
 * missing), SK_ERR_CONFIG, SK_ERR_NOMEM or SK_ERR_IO.
 */
sk_status_t sk_dev_open(const char *provider, const char *device,
			struct sk_dev **dev_p);

/* Close a device. All its endpoints and registrations must be gone. */
void sk_dev_close(struct sk_dev *dev);

void sk_dev_query(const struct sk_dev *dev, struct sk_dev_attr *attr);

/*
 * Poll up to @max completions into @wc; also drives the provider's progress.
 * Returns the number written (0 when none). Never blocks.
 */
int sk_dev_poll(struct sk_dev *dev, struct sk_wc *wc, int max);

/* A file descriptor that becomes readable when sk_dev_arm() said SK_OK and
 * a completion arrived. -1 if the device has none (then poll). */
int sk_dev_fd(const struct sk_dev *dev);

/*
 * Arm the completion channel before sleeping on sk_dev_fd(). Returns SK_OK
 * when it is safe to sleep, SK_ERR_BUSY when completions are pending (call
 * sk_dev_poll() instead of sleeping), or another error.
 */
sk_status_t sk_dev_arm(struct sk_dev *dev);

/*
 * sk_dev_arm for a caller that, since the last SK_OK from either, slept on
 * sk_dev_fd() and saw it stay unreadable (woken by another descriptor or
 * a timeout): the channel is still armed, and the provider may skip the
 * system calls that only a fired channel needs (ucx: one look at its
 * descriptors, and UCX's own arm). If the fd became readable after the
 * caller looked, the next sleep returns at once, and sk_dev_arm then does
 * the whole arm. sk_dev_arm is always correct in its place.
 */
sk_status_t sk_dev_rearm(struct sk_dev *dev);

/*
 * A peer that leaves. On the rdma provider with the connection manager
 * (SKIFF_RDMA_CONNECT=cm, the default where the device has an IPv4
 * address), the peer's kernel ends its connections when its process exits,
 * killed or not, and the endpoint fails as soon as the device is next
 * polled or armed: everything posted, and everything posted after, completes
 * in error, the first with SK_ERR_UNREACHABLE, the rest SK_ERR_FLUSHED.
 * Elsewhere, a dead peer is found by the transport's retries or, as the last
 * resort, by the stall watchdog below.
 *
 * The stall watchdog (SKIFF_STALL_MS).
 *
 * What it is for: a last resort against a dead peer on transports that
 * never report one. An RDMA NIC fails requests to a dead peer with
 * SK_ERR_RETRY_EXCEEDED after its transport retries; Soft-RoCE (Linux 6.1)
 * and some UCX protocols (large puts and sends to a killed peer) leave
 * them pending forever. The watchdog fails an endpoint whose oldest
 * operation owed a completion has seen none for SKIFF_STALL_MS: it enters
 * the error state, its first error completion says SK_ERR_RETRY_EXCEEDED,
 * the rest SK_ERR_FLUSHED. It is not a timeout for slow operations, and it
 * cannot tell a dead peer from a send waiting for the peer's receive (RC's
 * infinite RNR retry): such a send fails too once it has waited that long.
 * Unsignaled operations owe nothing: an endpoint that only has those out
 * is never stalled.
 *
 * Defaults: ucx 5000 ms; rdma 5000 ms on Soft-RoCE and off on hardware
 * NICs, whose own retries (SKIFF_RDMA_TIMEOUT, SKIFF_RDMA_RETRY_CNT) catch
 * a dead peer and where the watchdog could only misfire on RNR waits.
 * Set SKIFF_STALL_MS to apply a bound everywhere, 0 to turn it off.
 *
 * How it runs, alike in both providers: from every 64th sk_dev_poll(),
 * busy or idle (a device kept busy by one endpoint still notices
 * another's stall), and from sk_dev_arm() before the caller sleeps,
 * scanning at most every 100 ms, with one coarse clock read when it looks
 * and none on the other polls; it never blocks (the ucx provider's forced
 * close of the endpoint finishes in the background). Detection takes
 * between the bound and the bound plus the interval between looks.
 *
 * sk_dev_sleep_bound(): the longest the caller may sleep on the completion
 * channel before it polls again, in milliseconds, or -1 for no bound.
 * While an endpoint owes completions the watchdog needs polls even when no
 * completion arrives.
 */
int sk_dev_sleep_bound(const struct sk_dev *dev);

/*
 * Handle now whatever peers have already delivered to the transport under
 * this device, the transport's own traffic included; completions it makes
 * wait for the next sk_dev_poll(). Never blocks. For the end of a job:
 * once every peer has stopped talking to this device (a barrier says so),
 * a drain, then a second barrier, and no process handles a message from a
 * peer that has already exited. That matters for ucx, where a peer's
 * keepalive check of an endpoint this side has already closed makes UCX
 * answer it through a new endpoint to the peer's shared memory, which
 * fails, on stderr, if the peer is gone. Nothing to do on rdma.
 */
void sk_dev_drain(struct sk_dev *dev);
/*
 * Poll up to @max completions, sleeping on the completion channel while
 * there are none, for at most @timeout_ms (-1: forever). Returns the count,
 * 0 on timeout, or a negative status.
 */
int sk_dev_wait(struct sk_dev *dev, struct sk_wc *wc, int max,
		int timeout_ms);

/*
 * Register [addr, addr + len) with @access rights (enum sk_access).
 * The memory stays the caller's; it must outlive the registration.
 * @mr_p  out: the registration, on success only. Free with sk_mr_dereg().
 */
sk_status_t sk_mr_reg(struct sk_dev *dev, void *addr, size_t len,
		      unsigned access, struct sk_mr **mr_p);

/*
 * Allocate @len bytes (rounded up to whole pages, zeroed) and register them
 * with @access, in one step: the provider picks the memory. Where it can,
 * a peer on the same host then reads and writes it without the target
 * taking part (ucx: a shared-memory segment, on which UCX does the peer's
 * READs, WRITEs and atomics with the peer's CPU; sk_dev_attr.direct_mem
 * says so). Else it is ordinary memory, registered as by sk_mr_reg().
 * sk_mr_addr() gives the memory. sk_mr_dereg() ends the registration;
 * the memory stays mapped until the device closes (a peer's late write
 * lands in memory nobody reads, never in an unmapped page) and is not
 * the caller's to use after it. On ucx every page is written when it is
 * made (UCX's posix allocator checks the room so), so it costs RAM and
 * time for all of @len at once.
 */
sk_status_t sk_mr_alloc(struct sk_dev *dev, size_t len, unsigned access,
			struct sk_mr **mr_p);

/* Deregister. No posted operation may still use it. Peers' keys for it stop
 * working (on ucx: for keys imported after this call). */
void sk_mr_dereg(struct sk_mr *mr);

void *sk_mr_addr(const struct sk_mr *mr);
size_t sk_mr_len(const struct sk_mr *mr);

/*
 * Pack the descriptor of @mr (address, length, rights, key) for a peer.
 * @buf       where to write; at most SK_BLOB_MAX bytes are needed.
 * @len_p     in: the capacity of @buf; out: the bytes written.
 * Returns SK_OK or SK_ERR_INVAL if @buf is too small.
 */
sk_status_t sk_mr_pack(const struct sk_mr *mr, void *buf, size_t *len_p);

/*
 * Import a peer's packed descriptor, for use on @ep (connected).
 * Bytes from a peer are checked: a truncated, wrong-length, wrong-version or
 * other-provider blob is refused with SK_ERR_MALFORMED, SK_ERR_VERSION or
 * SK_ERR_WRONG_PROVIDER and a message. A well-formed descriptor whose key
 * the target does not honour is accepted here and its operations complete
 * with SK_ERR_REMOTE_ACCESS, as on an RDMA NIC.
 * The ucx provider may wait for one round trip to @ep's peer, to check the
 * key against the target's table.
 * @rkey_p  out: the key, on success only. Free with sk_rkey_destroy(),
 *          before the device is closed. Destroy it before @ep when you
 *          can; a key may outlive its endpoint (a failed peer's, which
 *          its user destroyed), and is then only destroyed.
 */
sk_status_t sk_rkey_unpack(struct sk_ep *ep, const void *buf, size_t len,
			   struct sk_rkey **rkey_p);
/*
 * sk_rkey_unpack() that never waits for the peer, for a descriptor that
 * @ep's peer itself sent about memory that stays registered while @ep
 * lives (skrun's import of a node's arena, whose one loop serves every
 * node: a round trip to a node that does not answer would stall them
 * all). The ucx provider does not ask the target's key table whether it
 * issued the key: asked about a key it sent itself, the target's answer
 * proves nothing against it, and a descriptor that is not the target's
 * own is not this call's. Its other checks are sk_rkey_unpack()'s. A key
 * of a registration the peer has since dropped is then not refused: that
 * is why the memory must outlive @ep. rdma never waits: the same call.
 */
sk_status_t sk_rkey_unpack_nowait(struct sk_ep *ep, const void *buf,
				  size_t len, struct sk_rkey **rkey_p);
void sk_rkey_destroy(struct sk_rkey *rkey);

/* The remote range a key covers, and its rights (enum sk_access). */
uint64_t sk_rkey_addr(const struct sk_rkey *rkey);
uint64_t sk_rkey_len(const struct sk_rkey *rkey);
unsigned sk_rkey_access(const struct sk_rkey *rkey);

/*
 * Where the provider maps the target's memory into this process (ucx: a
 * peer's sk_mr_alloc memory on this host, sk_dev_attr.direct_mem), a
 * pointer to remote address @raddr, through which loads stand for READs
 * of up to the key's end, as OpenSHMEM's shmem_ptr: the target takes no
 * part, and the loads have no order among themselves, like a READ's. NULL
 * when there is no such mapping (rdma; registered memory; another host),
 * when the key grants no READ, or @raddr is outside it. The mapping lives
 * as long as @rkey. Loads do not fail when the target dies (its memory
 * stays mapped): the caller's own liveness check must stand in for the
 * failed READ a NIC would report.
 */
const void *sk_rkey_ptr(const struct sk_rkey *rkey, uint64_t raddr);
/*
 * The same mapping for loads and stores, where the key grants READ and
 * WRITE: stores stand for WRITEs, with a WRITE's lack of order, and the
 * pointer may be a system call's buffer (skrun's pread() straight into a
 * node's bounce region, and its pwrite() out of it). NULL where
 * sk_rkey_ptr() is, or without WRITE.
 */
void *sk_rkey_ptr_rw(const struct sk_rkey *rkey, uint64_t raddr);

/*
 * Create an endpoint. It can post nothing until sk_ep_connect().
 * @ep_p  out: the endpoint, on success only. Free with sk_ep_destroy().
 */
sk_status_t sk_ep_create(struct sk_dev *dev, struct sk_ep **ep_p);

/* Queue depths of one endpoint: operations outstanding (sq) and receives
 * posted (rq). 0 takes the device's (sk_dev_attr: SKIFF_SQ_DEPTH,
 * SKIFF_RQ_DEPTH); others are rounded up to a power of two and capped at
 * the device's. An endpoint with small queues costs the device's one
 * completion queue (and memory) that much less: a host with an endpoint
 * per node asks for what its channel needs. */
struct sk_ep_attr {
	uint32_t sq_depth;
	uint32_t rq_depth;
};

/* sk_ep_create() with queue depths (@attr NULL: the device's). */
sk_status_t sk_ep_create_attr(struct sk_dev *dev,
			      const struct sk_ep_attr *attr,
			      struct sk_ep **ep_p);

/*
 * Pack this endpoint's address for its peer (the out-of-band exchange is the
 * caller's). @len_p: in the capacity (SK_BLOB_MAX suffices), out the length.
 */
sk_status_t sk_ep_addr_pack(const struct sk_ep *ep, void *buf, size_t *len_p);

/*
 * Connect to the peer whose packed address is @buf. Both sides call it with
 * each other's address; after it returns SK_OK, operations may be posted.
 * Bad bytes are refused as in sk_rkey_unpack().
 */
sk_status_t sk_ep_connect(struct sk_ep *ep, const void *buf, size_t len);

/*
 * Destroy an endpoint. Operations still pending are dropped without a
 * completion: poll them out first (sk_ep_flush) if their buffers matter.
 */
void sk_ep_destroy(struct sk_ep *ep);

/* The caller's pointer attached to an endpoint (NULL by default). */
void sk_ep_set_user(struct sk_ep *ep, void *user);
void *sk_ep_user(const struct sk_ep *ep);

/*
 * The operations. All are non-blocking and return SK_OK when posted (a
 * completion follows unless SK_POST_UNSIGNALED), SK_ERR_AGAIN when the
 * endpoint's queue is full (poll, then retry), or SK_ERR_INVAL.
 * Local buffers must lie inside @mr, which must be SK_ACCESS_LOCAL; for
 * write, write_imm and send, @mr may be NULL when @len <= max_inline, and
 * the buffer may be reused as soon as the call returns. Otherwise a local
 * buffer belongs to the operation until it completes.
 * Remote ranges must lie inside @rkey, with its rights; atomics need an
 * 8-byte aligned remote address and an 8-byte aligned local result.
 */
sk_status_t sk_post_write(struct sk_ep *ep, const struct sk_mr *mr,
			  const void *laddr, size_t len,
			  const struct sk_rkey *rkey, uint64_t raddr,
			  unsigned flags, void *ctx);

/* A write whose @imm reaches the target in a RECV_IMM completion, which
 * consumes one of the target's posted receives (its buffer is untouched). */
sk_status_t sk_post_write_imm(struct sk_ep *ep, const struct sk_mr *mr,
			      const void *laddr, size_t len,
			      const struct sk_rkey *rkey, uint64_t raddr,
			      uint32_t imm, unsigned flags, void *ctx);

sk_status_t sk_post_read(struct sk_ep *ep, const struct sk_mr *mr,
			 void *laddr, size_t len, const struct sk_rkey *rkey,
			 uint64_t raddr, unsigned flags, void *ctx);

/* 8-byte compare-and-swap: *(u64 *)raddr becomes @swap if it was @compare;
 * the old value lands in *@result (inside @mr). */
sk_status_t sk_post_cas(struct sk_ep *ep, const struct sk_mr *mr,
			uint64_t *result, const struct sk_rkey *rkey,
			uint64_t raddr, uint64_t compare, uint64_t swap,
			unsigned flags, void *ctx);

/* 8-byte fetch-and-add; the old value lands in *@result (inside @mr). */
sk_status_t sk_post_fadd(struct sk_ep *ep, const struct sk_mr *mr,
			 uint64_t *result, const struct sk_rkey *rkey,
			 uint64_t raddr, uint64_t add, unsigned flags,
			 void *ctx);

/* Send @len bytes into the peer's next posted receive. A send that finds
 * none waits for one, like an RC QP with infinite RNR retry. */
sk_status_t sk_post_send(struct sk_ep *ep, const struct sk_mr *mr,
			 const void *laddr, size_t len, unsigned flags,
			 void *ctx);

/* Post a receive buffer (inside @mr) for one send or write-with-immediate.
 * Its completion is SK_OP_RECV or SK_OP_RECV_IMM. */
sk_status_t sk_post_recv(struct sk_ep *ep, const struct sk_mr *mr,
			 void *laddr, size_t len, void *ctx);

/*
 * In-place receives. By default a send lands in the buffer of the posted
 * receive it consumes. After sk_ep_set_inplace(@ep, 1) the provider may
 * instead leave the bytes where they arrived (the ucx provider does for a
 * peer on the same host: in the ring it wrote them to) and say so in
 * wc.data: the posted receive is consumed all the same (repost it as
 * usual) but its buffer is untouched. Such bytes stay valid, and keep the
 * sender's ring space, until sk_ep_release(@ep, wc.data); release each
 * one, in any order, before the endpoint is destroyed or soon. The peer
 * can still write them (as it can write any memory registered for it).
 * Providers that cannot (rdma) ignore the setting; wc.data stays NULL.
 */
sk_status_t sk_ep_set_inplace(struct sk_ep *ep, int on);
void sk_ep_release(struct sk_ep *ep, void *data);

/* Complete (SK_OP_FLUSH) once every operation posted before it on @ep has
 * completed at the target: writes visible, reads and atomics landed. */
sk_status_t sk_ep_flush(struct sk_ep *ep, void *ctx);

/*
 * Move @ep into the error state now, as ibv_modify_qp(IBV_QPS_ERR) does,
 * to close a connection without the peer's help (a peer that is gone, or
 * that broke the protocol): nothing more goes to the peer, and every
 * operation outstanding or posted later completes with SK_ERR_FLUSHED.
 * A flush posted after it marks the end of the drain, as the kernel's
 * ib_drain_qp() does; on rdma it completes at once, on ucx once UCX has
 * let go of the operations it already started (their buffers are UCX's
 * until then). Idempotent.
 */
sk_status_t sk_ep_cancel(struct sk_ep *ep);

/* Name of an opcode, for messages. */
const char *sk_opcode_str(unsigned opcode);

#ifdef __cplusplus
}
#endif

#endif /* SKIFF_VERBS_H */
