/*
 * The library OS of a Skiff node.
 *
 * An application becomes a node by linking libskiff_os with
 * `-Wl,--wrap=main` (see mk/skiff-app.mk): the program's entry then passes
 * through libos, which boots before main() and finalizes after it.
 *
 * Boot (under skrun, which sets SKIFF_BOOTSTRAP and the job secret): open
 * the fabric device, map and register the arena, swap fabric addresses with
 * the host over the bootstrap socket, connect the endpoint to the host,
 * then receive rank, size, argv and environment over the fabric. A node's
 * boot does the same work in a job of 4 nodes as of 256: endpoints to
 * other nodes are made on first use, through the host (below). stdout and stderr are replaced by streams that ship their
 * bytes to the host; stdin of rank 0 reads the host's stdin. With
 * SKIFF_SEAL=1 the node then seals itself (seccomp): no system call but the
 * fabric provider's.
 *
 * Run outside skrun (no SKIFF_BOOTSTRAP), the program runs as a plain
 * process of rank 0 in a job of size 1, with no fabric and plain stdio.
 *
 * Threads: boot and finalize happen on the main thread; the node's loop,
 * device and arena belong to it.
 */
#ifndef SKIFF_OS_H
#define SKIFF_OS_H

#include <stdbool.h>
#include <stdint.h>

#include <skiff/arena.h>
#include <skiff/loop.h>
#include <skiff/verbs.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Whether this process booted as a node of a job. */
bool sk_os_booted(void);
/* This node's rank, and the job's size (0 and 1 when not booted). */
unsigned sk_os_rank(void);
unsigned sk_os_size(void);
uint64_t sk_os_job_id(void);

/* The node's device, loop and arena (NULL when not booted). The arena's
 * own registration is for local use only: memory a peer may read or write
 * is a region of it (sk_arena_region), with its own key. */
struct sk_dev *sk_os_dev(void);
struct sk_loop *sk_os_loop(void);
struct sk_arena *sk_os_arena(void);

/*
 * Connections to other nodes.
 *
 * An endpoint to another node is made the first time it is asked for: the
 * two nodes swap addresses through the host (a CONNECT, answered by the
 * other node's loop), which takes a few host round trips. The other node
 * answers whenever it runs its loop: inside any Skiff call that waits
 * (sk_os_peer, sk_os_barrier, sk_os_sleep_ms, console and file I/O, rpc
 * calls) or sk_loop_run_once(). A node busy computing answers late, as an
 * MPI rank makes no progress outside MPI calls.
 *
 * Every connection belongs to a service, which says who owns its
 * endpoints: service 0 is libos's (sk_os_peer), the others belong to the
 * code that connects (sk_os_connect) and to the code that listens on the
 * other node (sk_os_listen). rpc uses SK_RPC_SERVICE (rpc.h).
 */
#define SK_OS_SERVICE_MAX 64 /* services 0 .. SK_OS_SERVICE_MAX - 1 */

/*
 * libos's endpoint to node @rank, connected on first use (the first call
 * waits, serving the loop, up to SKIFF_BOOT_TIMEOUT_MS). It stays libos's:
 * never destroy it or hand it to another owner (sk_rpc_peer_add); use
 * sk_os_connect for an endpoint of your own. Its completions go to the
 * node's loop. NULL for this node itself, a rank out of range, a rank that
 * is not a Skiff program or has finished, or when not booted.
 */
struct sk_ep *sk_os_peer(unsigned rank);

/*
 * A new endpoint to node @rank for @service (1 .. SK_OS_SERVICE_MAX - 1),
 * the caller's to own and destroy. Waits, serving the loop, until the node
 * has accepted, for at most @timeout_ms (-1: SKIFF_BOOT_TIMEOUT_MS).
 * On the other node the matching endpoint goes to @service's listener.
 * When both nodes connect to each other for the same service at once, each
 * gets its endpoint from this call and no listener is told.
 * Returns SK_OK, SK_ERR_INVAL (a bad rank or service, not booted),
 * SK_ERR_UNREACHABLE (that node is not a Skiff program, has finished or
 * refused), SK_ERR_TIMEOUT, or the provider's error.
 */
sk_status_t sk_os_connect(unsigned rank, unsigned service, int timeout_ms,
			  struct sk_ep **ep_p);

/* A listener. First asked, with @ep NULL, whether it takes a connection
 * from node @rank: SK_OK, or an error to refuse it (that node's
 * sk_os_connect then returns SK_ERR_UNREACHABLE, and no endpoint was
 * made). Then called with @ep, connected, which it takes over (the
 * callee's to destroy; return SK_OK). Called from the loop: it must not
 * block. Refusing before an endpoint exists matters: making one and
 * destroying it at once leaves the provider mid-handshake (UCX). */
typedef sk_status_t (*sk_os_accept_func_t)(void *arg, unsigned rank,
					   struct sk_ep *ep);

/*
 * Hand the endpoints other nodes connect to @service (1 ..
 * SK_OS_SERVICE_MAX - 1) to @fn. Those that arrived before this call are
 * handed at once, in arrival order (until then their messages wait, as
 * sends to a peer with no receive posted; their nodes' sk_os_connect has
 * returned, so one refused then is only destroyed). @fn NULL stops
 * listening: later connections to @service are refused, and parked ones
 * destroyed. Returns SK_ERR_INVAL for a bad service.
 */
sk_status_t sk_os_listen(unsigned service, sk_os_accept_func_t fn,
			 void *arg);

/*
 * Wait, serving the loop, until every node of the job that is still
 * running has called sk_os_barrier (as MPI_Barrier; nodes that finished
 * or died are not waited for). Returns 0, or -ENOTCONN when the host link
 * is down. Outside a job it returns 0 at once. File writes this node left
 * behind (skiff/file.h) are in their files before it enters: after the
 * barrier every node reads them.
 */
int sk_os_barrier(void);

/*
 * Run @fn(@arg) when the node finalizes (after main returns or exit()),
 * before libos closes the fabric, last registered first: for code that
 * owns endpoints, such as rpc (sk_rpc_open). At most 8; SK_ERR_NOMEM past
 * that. sk_os_at_finalize_cancel() forgets a registration.
 */
sk_status_t sk_os_at_finalize(void (*fn)(void *arg), void *arg);
void sk_os_at_finalize_cancel(void (*fn)(void *arg), void *arg);

/* Whether SKIFF_SEAL sealed this node after boot. */
bool sk_os_sealed(void);

/*
 * End the whole job, as MPI_Abort: flush this node's output, tell the host,
 * which kills every node and exits with @code, and exit. Never returns.
 */
void sk_os_abort(int code, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 2, 3)));

/*
 * Sleep for @ms milliseconds while serving the node's loop (a timer and a
 * sleep on the completion channel: no CPU while idle).
 */
void sk_os_sleep_ms(uint64_t ms);

#ifdef __cplusplus
}
#endif

#endif /* SKIFF_OS_H */
