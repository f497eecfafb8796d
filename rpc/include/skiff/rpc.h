/*
 * Skiff rpc: request/response between nodes over the fabric.
 *
 * In a skrun job, a node opens its rpc with sk_rpc_open() and reaches node
 * r with sk_rpc_connect(rpc, r, ...): connections are made on first use,
 * and libos and rpc agree on who owns each endpoint (below). Elsewhere, one
 * struct sk_rpc per thread over that thread's libos loop and arena (and so
 * its device), with peers added from connected endpoints by
 * sk_rpc_peer_add(). Handlers are registered by a 16-bit id.
 *
 * Messages up to SK_RPC_INLINE_MAX bytes travel in one send. Larger ones
 * (up to SK_RPC_MSG_MAX) move by RDMA: the server reads a large request
 * out of the caller's buffer, and writes a large response, with an
 * immediate, into the caller's response buffer. Buffers that cross the
 * fabric come from sk_rpc_buf_alloc(): registered, with room before them
 * for the header, so nothing is copied on the way out.
 *
 * Flow control: a caller has at most SK_RPC_CREDITS calls outstanding per
 * peer (sk_rpc_call says SK_ERR_AGAIN beyond that), and each side keeps
 * 2 * SK_RPC_CREDITS receives posted per peer, so a slow server never makes
 * a send find no receive, and memory stays bounded.
 *
 * Failure: when a peer's endpoint fails (death: the provider's keepalive or
 * stall watchdog, bounded by SKIFF_STALL_MS / SKIFF_UCX_KEEPALIVE_MS) or it
 * sends a malformed message, the connection is closed and every pending
 * call to it completes with an error status. A handler's negative status
 * reaches the caller; an unknown handler id is answered with -ENOENT.
 *
 * Threads: everything here belongs to the thread that runs the loop.
 */
#ifndef SKIFF_RPC_H
#define SKIFF_RPC_H

#include <stddef.h>
#include <stdint.h>

#include <skiff/arena.h>
#include <skiff/loop.h>
#include <skiff/os.h>
#include <skiff/verbs.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SK_RPC_SLOT_SIZE  8192u         /* one receive slot */
#define SK_RPC_INLINE_MAX (SK_RPC_SLOT_SIZE - 48u) /* payload in a send */
/* The largest request or response: 1 MiB of payload, such as a kv value
 * of memcached's 1 MiB limit, and a page for the header and key around it. */
#define SK_RPC_MSG_MAX    ((1u << 20) + 4096u)
#define SK_RPC_CREDITS    16u           /* calls outstanding per peer */
#define SK_RPC_HANDLERS   256u          /* handler ids 0..255 */

struct sk_rpc;
struct sk_rpc_peer;
struct sk_rpc_req;

/*
 * A call's completion. @status is >= 0 (the handler's status) or < 0 (a
 * negated errno: the handler's error, -ENOENT for an unknown handler,
 * -ECONNRESET when the peer failed, -EMSGSIZE when the response did not fit
 * @resp_cap). @resp/@len: the response, valid during the callback only
 * (it is in the caller's response buffer if one was given).
 */
typedef void (*sk_rpc_cont_func_t)(void *arg, int status, const void *resp,
				   size_t len);
/* A handler: read the request with sk_rpc_req_data(), answer now or later
 * with sk_rpc_respond(). It must not block. */
typedef void (*sk_rpc_handler_func_t)(struct sk_rpc_req *req, void *arg);

/*
 * Create an rpc instance over @loop (which has a device) and @arena (on
 * the same device; local rights suffice). Takes its buffers from @arena:
 * the large ones in a region of their own with remote read and write, the
 * only memory whose key peers get (rpc/README.md). @rpc_p out, on success
 * only.
 */
sk_status_t sk_rpc_create(struct sk_loop *loop, struct sk_arena *arena,
			  struct sk_rpc **rpc_p);
/* Destroy, removing the peers still there. */
void sk_rpc_destroy(struct sk_rpc *rpc);

sk_status_t sk_rpc_register(struct sk_rpc *rpc, uint16_t id,
			    sk_rpc_handler_func_t fn, void *arg);

/*
 * ---- In a skrun job ----
 *
 * The node's rpc: sk_rpc_open() makes it over the node's loop and arena
 * (sk_os_loop, sk_os_arena) and listens for other nodes on libos service
 * SK_RPC_SERVICE. Endpoints are rpc's: those it connects (sk_rpc_connect)
 * and those other nodes connect to it, which libos hands over. libos's own
 * endpoints (sk_os_peer) stay libos's and are never given to rpc.
 * sk_rpc_destroy() ends it; if the program exits without, libos destroys
 * it at finalize, before the fabric closes. Register handlers before the
 * loop next runs: requests that arrive first are answered -ENOENT.
 * A typical program (examples/rpc_sum.c):
 *
 *     sk_rpc_open(&rpc);
 *     sk_rpc_register(rpc, ADD, add_handler, NULL);
 *     if (sk_os_rank() != 0) {
 *             sk_rpc_connect(rpc, 0, -1, &peer);
 *             sk_rpc_call_sync(peer, ADD, ...);
 *     }
 *     sk_os_barrier();          (rank 0 serves until everyone is done)
 *     sk_rpc_destroy(rpc);
 */
#define SK_RPC_SERVICE 1 /* libos service of rpc's connections */

/*
 * Open the node's rpc (one per node, on the main thread, after boot).
 * Returns SK_OK, SK_ERR_INVAL when this process is not a booted node (run
 * it with skrun) or already has one, or what sk_rpc_create returns.
 * Memory: ~6 MiB of pools, then 272 KiB of arena per peer: a node that
 * talks to P peers needs SKIFF_ARENA_MB >= 8 + P / 4.
 */
sk_status_t sk_rpc_open(struct sk_rpc **rpc_p);

/*
 * The peer for node @rank: the same one on every call once connected
 * (also when @rank connected to us first). The first call connects and
 * swaps hellos, waiting (serving the loop) until @rank has opened its rpc
 * and answered, for at most @timeout_ms (-1: SKIFF_BOOT_TIMEOUT_MS). A
 * peer that failed is replaced by a new connection. Returns SK_OK,
 * SK_ERR_INVAL (a bad rank, itself, or @rpc not from sk_rpc_open),
 * SK_ERR_UNREACHABLE (not a Skiff node, finished, or out of memory for
 * it), SK_ERR_TIMEOUT, or SK_ERR_IO.
 */
sk_status_t sk_rpc_connect(struct sk_rpc *rpc, unsigned rank, int timeout_ms,
			   struct sk_rpc_peer **peer_p);

/* The node a peer leads to (from sk_rpc_connect or one that connected to
 * us), or -1 for a peer added with sk_rpc_peer_add. */
int sk_rpc_peer_rank(const struct sk_rpc_peer *peer);

/*
 * Add a peer over connected endpoint @ep (the rpc takes it over and
 * destroys it with the peer; an endpoint that already has an owner's
 * pointer, sk_ep_user, such as libos's sk_os_peer, is refused with
 * SK_ERR_INVAL and left alone). Both sides call this; it exchanges the
 * descriptors of the large-buffer regions over @ep and returns once the peer's arrived (or after
 * @timeout_ms with SK_ERR_TIMEOUT). @peer_p out, on success only. The
 * peer's requests are served while it waits; if it then fails while a
 * handler still holds one (deferred), that peer stays, failed, until
 * sk_rpc_destroy, so the request stays valid.
 */
sk_status_t sk_rpc_peer_add(struct sk_rpc *rpc, struct sk_ep *ep,
			    int timeout_ms, struct sk_rpc_peer **peer_p);
/* Remove a peer: pending calls complete with -ECONNRESET first (their
 * callbacks run inside this call, and inside sk_rpc_destroy()). */
void sk_rpc_peer_remove(struct sk_rpc_peer *peer);
/* Whether the peer's connection has failed (closed). */
int sk_rpc_peer_failed(const struct sk_rpc_peer *peer);

/*
 * The peer's endpoint, for one-sided operations beside rpc's own (kv's
 * GETs READ the peer's memory): sk_rkey_unpack() and sk_post_read() on it.
 * NULL once the peer has failed: rpc then drains and destroys it, and
 * an operation still held past the liveness bound is dropped without a
 * completion (ucx), so do not wait for one on a failed peer; keys
 * unpacked on it must be dropped before the loop next runs, or left alone
 * (rpc has no close hook yet). Rules for such a user, because rpc treats
 * a post that fails on its own endpoint as the peer's failure, and sizes
 * nothing for others: keep at most SK_RPC_EP_SHARE operations outstanding on it, post
 * only signalled ones (rpc's completion dispatch hands any completion
 * whose context is a struct sk_op * to its ->done), and treat SK_ERR_AGAIN
 * as "run the loop once, then retry". rpc's own use of an endpoint is
 * bounded by its credits (calls and responses, SK_RPC_CREDITS each way,
 * the large reads and writes among them, a probe, the drain), a few
 * dozen against the 256 of SKIFF_SQ_DEPTH's default; SK_RPC_EP_SHARE is
 * the share a program may add, not a measured margin at smaller depths.
 */
#define SK_RPC_EP_SHARE 8u
struct sk_ep *sk_rpc_peer_ep(const struct sk_rpc_peer *peer);

/*
 * A registered buffer of @len bytes (<= SK_RPC_MSG_MAX) for a request or a
 * response; NULL when the pool is exhausted. Free with sk_rpc_buf_free()
 * once the call using it has completed.
 */
void *sk_rpc_buf_alloc(struct sk_rpc *rpc, size_t len);
void sk_rpc_buf_free(struct sk_rpc *rpc, void *buf);

/*
 * Call handler @id on @peer with the @len bytes at @req (from
 * sk_rpc_buf_alloc, or any memory when @len <= SK_RPC_INLINE_MAX). The
 * response goes to @resp (from sk_rpc_buf_alloc, up to @resp_cap bytes) or,
 * with @resp NULL, is handed to @cont in place (then at most
 * SK_RPC_INLINE_MAX bytes). @req and @resp belong to the call until @cont
 * runs. Returns SK_OK (@cont will run exactly once), SK_ERR_AGAIN (no
 * credit: run the loop and retry), SK_ERR_FLUSHED (the peer failed) or
 * SK_ERR_INVAL.
 */
sk_status_t sk_rpc_call(struct sk_rpc_peer *peer, uint16_t id,
			const void *req, size_t len, void *resp,
			size_t resp_cap, sk_rpc_cont_func_t cont, void *arg);

/*
 * Blocking wrapper: call and run the loop until the response. Returns the
 * status as sk_rpc_cont_func_t has it; the response is copied into @resp
 * (up to @resp_cap) and its length into *@len_p.
 *
 * It may be called from a handler (a server that passes calls on): the
 * loop runs nested, serving other calls meanwhile, and the handler answers
 * when it returns. Each such handler holds a credit on the link it called
 * until its own answer, and a nested handler returns before the ones
 * under it: calls that go round a cycle of nodes this way can have at
 * most SK_RPC_CREDITS of them on one link at once (e2e rpc-chain: 16
 * ranks each starting a 15-hop chain), and past that every handler can be
 * waiting for a credit another holds, for good, as blocking sends round a
 * ring do in MPI. Deeper forwarding answers later instead: sk_rpc_call
 * with a continuation that calls sk_rpc_respond.
 */
int sk_rpc_call_sync(struct sk_rpc_peer *peer, uint16_t id, const void *req,
		     size_t len, void *resp, size_t resp_cap, size_t *len_p);

/* Server side. The request's bytes stay valid until sk_rpc_respond(). */
const void *sk_rpc_req_data(const struct sk_rpc_req *req, size_t *len_p);
struct sk_rpc_peer *sk_rpc_req_peer(const struct sk_rpc_req *req);
/* A registered buffer for the response of up to @len bytes (NULL if @len
 * exceeds what the caller can take, or SK_RPC_MSG_MAX). */
void *sk_rpc_resp_buf(struct sk_rpc_req *req, size_t len);
/* Answer with @status and the first @len bytes of sk_rpc_resp_buf() (0 and
 * no buffer for an empty response). May be called from the handler or
 * later (a deferred response); the request is gone afterwards. */
sk_status_t sk_rpc_respond(struct sk_rpc_req *req, int status, size_t len);

/* Counters, for tests and benchmarks. */
struct sk_rpc_stats {
	uint64_t calls, responses, served, bad_msgs, peer_failures;
};
void sk_rpc_stats(const struct sk_rpc *rpc, struct sk_rpc_stats *st);

#ifdef __cplusplus
}
#endif

#endif /* SKIFF_RPC_H */
