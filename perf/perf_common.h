/*
 * The Skiff benchmarks' connection (sk_write_lat, sk_read_lat,
 * sk_atomic_lat, sk_write_bw, the sk_pingpong demo, and under rpc_bench
 * rpc_lat and rpc_tput).
 *
 * They work like perftest's ib_* tools: the server is started without a
 * host, the client with the server's host as its last argument; the two
 * meet over a TCP socket (perf_sock.h), agree on the test's parameters
 * (the hello below; the client's win), swap their packed endpoint
 * addresses and memory descriptors, and then talk only through Skiff
 * verbs. The socket stays open for barriers and for "done" messages, and
 * tells either side when its peer died.
 *
 * Everything read from the socket is checked (magic, version, test, ranges,
 * blob lengths up to SK_BLOB_MAX) and refused with a message; the blobs
 * themselves are checked again by sk_ep_connect() and sk_rkey_unpack().
 *
 * The parts that do not need Skiff verbs have headers of their own, which
 * this one includes: perf_opts.h (command line), perf_sock.h (TCP
 * exchange), perf_report.h (clock, tables, data patterns).
 *
 * One process, one thread, one device: none of this is thread-safe.
 */
#ifndef SKIFF_PERF_COMMON_H
#define SKIFF_PERF_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include <skiff/verbs.h>

#include "perf_opts.h"
#include "perf_report.h"
#include "perf_sock.h"

#define PERF_SLOT_ALIGN    64
#define PERF_STASH         64          /* completions kept across waits */
#define PERF_HELLO_LEN     40          /* the parameter exchange, both ways */
#define PERF_GONE_EVERY    4096        /* busy-wait calls between checks */

/*
 * One benchmark connection: the device, one endpoint to the peer, one
 * registered buffer and the key of the peer's. The buffer is a 64-byte
 * scratch area (atomic targets and results) followed by tool->slots slots
 * of slot_len bytes each; the peer's has the same layout.
 */
struct perf_ctx {
	struct perf_opts opts;  /* agreed with the peer */
	struct sk_dev *dev;
	struct sk_dev_attr attr;
	struct perf_sock sock;
	int is_server;
	int progress_peer;      /* 1: poll the device whenever we wait */
	uint32_t sync_seq;
	void *buf;
	size_t buf_len;
	size_t slot_len;
	struct sk_mr *mr;
	struct sk_ep *ep;
	struct sk_rkey *rkey;
	uint64_t raddr;         /* start of the peer's buffer */
	unsigned long spins;    /* for perf_ctx_peer_gone() pacing */
	/* Completions polled while waiting on the socket, kept for the
	 * next perf_ctx_poll(): a receive may complete during a barrier. */
	struct sk_wc stash[PERF_STASH];
	unsigned stash_head, stash_tail;
};

/* ---- connection ---- */

/*
 * Open the device, meet the peer over TCP, agree on parameters, register
 * the buffer, connect the endpoint, import the peer's key, and wait for
 * the peer to have done the same. On failure, everything done so far is
 * undone and an error was printed. Returns 0, or an enum perf_exit.
 */
int perf_ctx_init(struct perf_ctx *c, const struct perf_opts *o);

/* Every tool's start: parse the command line for @tool, then
 * perf_ctx_init(). Returns -1 to go on, or the exit status to return
 * (help, a usage error, or a failed start). */
int perf_ctx_start(struct perf_ctx *c, const struct perf_tool *tool,
		   int argc, char **argv);

/* The latency tools' start: perf_ctx_start(), then room for iters +
 * @extra timestamps (zeroed) in *@ns_p, then the header block. Returns -1
 * to go on, or the exit status to return (all undone, a message printed). */
int perf_ctx_start_lat(struct perf_ctx *c, const struct perf_tool *tool,
		       int argc, char **argv, unsigned long extra,
		       uint64_t **ns_p);

/* Wait for the peer's endpoint to drain, then free everything. */
void perf_ctx_cleanup(struct perf_ctx *c);

/* Print the perftest-like header block (provider, device, transport). */
void perf_ctx_print_header(const struct perf_ctx *c);

/*
 * Barrier over the socket: the client sends a token and waits for the
 * server's; the server waits first, then answers. Either side polls the
 * device while it waits if the provider needs it. Returns 0, or -1 (with
 * a message) if the peer is gone or out of step.
 */
int perf_ctx_sync(struct perf_ctx *c);

/* Send or receive one 32-bit word over the socket (the receive polls the
 * device like perf_ctx_sync()). Return 0 or -1 with a message. */
int perf_ctx_send_u32(struct perf_ctx *c, uint32_t v);
int perf_ctx_recv_u32(struct perf_ctx *c, uint32_t *v);

/*
 * Call this from busy-wait loops: every few thousand calls it looks at the
 * socket, where nothing is expected during a test, so readable means the
 * peer died or broke the protocol. Returns 1 (after a message) then.
 */
int perf_ctx_peer_gone(struct perf_ctx *c);

/*
 * Poll the device for completions (first those that arrived while we
 * waited on the socket), checking their status. Returns how many arrived (written to @wc if not NULL), or -1 after printing an error
 * completion. @what names the operation in the message.
 */
int perf_ctx_poll(struct perf_ctx *c, struct sk_wc *wc, int max,
		  const char *what);

/*
 * Poll the device once and drop what arrives, failing on error
 * completions: for loops that expect no successful completion they care
 * about (unsignaled posts, retries after SK_ERR_AGAIN, idle waits).
 * Returns the number dropped, or -1 after a message.
 */
int perf_ctx_progress(struct perf_ctx *c, const char *what);

/* Wait for one signaled completion (the caller posted exactly one that is
 * outstanding). Returns 0, or -1 with a message. */
int perf_ctx_wait_one(struct perf_ctx *c, struct sk_wc *wc, const char *what);

static inline void *perf_ctx_slot(const struct perf_ctx *c, unsigned i)
{
	return (char *)c->buf + PERF_SLOT_ALIGN + (size_t)i * c->slot_len;
}

static inline uint64_t perf_ctx_rslot(const struct perf_ctx *c, unsigned i)
{
	return c->raddr + PERF_SLOT_ALIGN + (uint64_t)i * c->slot_len;
}

/* The 8-byte words of the scratch area: local pointer, remote address. */
static inline uint64_t *perf_ctx_word(const struct perf_ctx *c, unsigned i)
{
	return (uint64_t *)c->buf + i;
}

static inline uint64_t perf_ctx_rword(const struct perf_ctx *c, unsigned i)
{
	return c->raddr + 8ull * i;
}

/* ---- the exchange's checks, without a socket (for the fuzz target) ---- */

/* Write the hello that @o's side sends (layout in perf_hello.c) into
 * @b, PERF_HELLO_LEN bytes; @provider is the device's, sk_dev_attr's. */
void perf_hello_pack(const struct perf_opts *o, const char *provider,
		     uint8_t *b);

/*
 * Check the peer's hello @b of @len bytes against our side: @mine (a
 * client when mine->server is set, else a server) and our device's @attr
 * (provider and max_msg are read). On success returns 0 and sets
 * @agreed: *mine, with the server taking the client's size, iterations,
 * tx depth, -a and -A. On refusal returns -1, leaves @agreed alone and
 * writes one line (no program name, no newline) to @err, truncated to
 * @errlen bytes.
 */
int perf_hello_parse(const uint8_t *b, size_t len,
		     const struct perf_opts *mine,
		     const struct sk_dev_attr *attr, struct perf_opts *agreed,
		     char *err, size_t errlen);

#endif /* SKIFF_PERF_COMMON_H */
