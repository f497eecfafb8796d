/*
 * The perf tools' out-of-band TCP exchange, in the manner of perftest: the
 * server listens (port -p), the client connects, retrying while the server
 * starts; then both send and receive whole messages whose integers are
 * little-endian (skiff/le.h). The socket stays open for barriers and
 * "done" messages, and tells either side when its peer died.
 *
 * Waiting: with the rdma provider the NIC serves the peer's reads, writes
 * and atomics, so an idle side may sleep in poll() like perftest's server.
 * UCX may need the target to progress (RMA and atomics over TCP, or over
 * shared memory without native support, are emulated with active
 * messages), so a side that waits on the socket can be given a progress
 * function, and then polls it, as ucx_perftest's responder does.
 *
 * Nothing here touches Skiff verbs: the sk_* tools (perf_ctx.c), the rpc
 * tools (rpc_bench.c) and the plain-UCX perf/compare/ucp_get_lat all
 * meet their peer through these functions. Messages start with the
 * program's name; one process, one thread.
 */
#ifndef SKIFF_PERF_SOCK_H
#define SKIFF_PERF_SOCK_H

#include <stddef.h>
#include <stdint.h>

#include "perf_opts.h"

#define PERF_CONNECT_MS    20000       /* client retries connect() this long */
#define PERF_IDLE_POLLS    64          /* progress calls between clock looks */
#define PERF_IDLE_NS       100000      /* progressing between socket looks */

struct perf_sock {
	int fd;                 /* -1: not connected */
	const char *name;       /* the program, for messages */
	/*
	 * NULL: a wait sleeps in poll(). Else the peer needs this side to
	 * progress: a wait calls it PERF_IDLE_POLLS times between clock
	 * looks, for PERF_IDLE_NS between looks at the socket (a poll()
	 * between every few calls slowed a peer's emulated atomics down
	 * 2x). It returns 0, or -1 (after a message) to give up the wait.
	 */
	int (*progress)(void *arg);
	void *arg;
};

/* Server: listen on @port (dual-stack when the kernel has IPv6), say so on
 * stdout, accept one client. Returns 0 (s->fd set, TCP_NODELAY) or an
 * enum perf_exit after a message (PERF_EXIT_PORT_BUSY: port taken). */
int perf_sock_listen(struct perf_sock *s, unsigned port);

/* Client: connect to @host:@port, retrying for PERF_CONNECT_MS: the server
 * may start a little after us. Returns as perf_sock_listen(). */
int perf_sock_connect(struct perf_sock *s, const char *host, unsigned port);

void perf_sock_close(struct perf_sock *s);

/* Send all of @buf. Returns 0 or -1 after a message. */
int perf_sock_write(struct perf_sock *s, const void *buf, size_t len);

/*
 * Read exactly @len bytes; short reads are continued, EOF is an error.
 * @ms > 0 bounds each wait for more bytes (0: no limit). @what (NULL or
 * "the server's hello") names what we waited for in the messages.
 * Returns 0 or -1 after a message.
 */
int perf_sock_read(struct perf_sock *s, void *buf, size_t len, int ms,
		   const char *what);

/* One little-endian word, written or read as perf_sock_read(). */
int perf_sock_send_u32(struct perf_sock *s, uint32_t v);
int perf_sock_recv_u32(struct perf_sock *s, uint32_t *v, int ms,
		       const char *what);
int perf_sock_send_u64(struct perf_sock *s, uint64_t v);
int perf_sock_recv_u64(struct perf_sock *s, uint64_t *v, int ms,
		       const char *what);

/* A blob: u32 length, then the bytes. */
int perf_sock_blob_send(struct perf_sock *s, const void *blob, size_t len);

/*
 * A blob's length prefix @len: 0 if acceptable (1..@max), else -1 with a
 * message naming @what ("an endpoint address") in @err, truncated to
 * @errlen bytes (no program name, no newline).
 */
int perf_blob_len_check(uint32_t len, uint32_t max, const char *what,
			char *err, size_t errlen);

/* Receive a blob of 1..@max bytes into @buf (room for @max), each wait
 * as perf_sock_read() with @ms; @what names it. 0, or -1 after a message. */
int perf_sock_blob_recv(struct perf_sock *s, void *buf, uint32_t max,
			size_t *len_p, int ms, const char *what);

/*
 * During a test nothing is expected on the socket: readable means the
 * peer died or broke the protocol. Returns 1 (after a message) then, else
 * 0; never blocks. Callers look only every few thousand spins.
 */
int perf_sock_peer_gone(struct perf_sock *s);

#endif /* SKIFF_PERF_SOCK_H */
