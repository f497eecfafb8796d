/*
 * The library OS of a Skiff node.
 *
 * An application becomes a node by linking libskiff_os with
 * `-Wl,--wrap=main` (see mk/skiff-app.mk): the program's entry then passes
 * through libos, which boots before main() and finalizes after it.
 *
 * Boot (under skrun, which sets SKIFF_BOOTSTRAP and the job secret): open
 * the fabric device, map and register the arena, swap fabric addresses with
 * the host over the bootstrap socket, connect the endpoint to the host and
 * one endpoint to every peer node (all at boot, so the first message to a
 * peer pays no setup), then receive rank, size, argv and environment over
 * the fabric. stdout and stderr are replaced by streams that ship their
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

/* The node's device, loop and arena (NULL when not booted). */
struct sk_dev *sk_os_dev(void);
struct sk_loop *sk_os_loop(void);
struct sk_arena *sk_os_arena(void);

/* The connected endpoint to node @rank (NULL for itself, out of range, or
 * not booted). Its completions go to the node's loop. */
struct sk_ep *sk_os_peer(unsigned rank);

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
