/*
 * Shared plumbing of the Skiff benchmarks (sk_write_lat, sk_read_lat,
 * sk_atomic_lat, sk_write_bw) and of the sk_pingpong demo.
 *
 * They work like perftest's ib_* tools: the server is started without a
 * host, the client with the server's host as its last argument; the two
 * meet over a TCP socket (port -p, default 18515), agree on the test's
 * parameters (the client's win), swap their packed endpoint addresses and
 * memory descriptors, and then talk only through Skiff verbs. The socket
 * stays open for barriers and for "done" messages, and tells either side
 * when its peer died.
 *
 * Everything read from the socket is checked (magic, version, test, ranges,
 * blob lengths up to SK_BLOB_MAX) and refused with a message; the blobs
 * themselves are checked again by sk_ep_connect() and sk_rkey_unpack().
 *
 * One process, one thread, one device: none of this is thread-safe.
 */
#ifndef SKIFF_PERF_COMMON_H
#define SKIFF_PERF_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <skiff/verbs.h>

#define PERF_DEFAULT_PORT  18515
#define PERF_MAX_SIZE      (1ul << 23) /* -a goes up to this, as perftest */
#define PERF_MAX_ITERS     10000000ul  /* timestamps are kept in memory */
#define PERF_CONNECT_MS    20000       /* client retries connect() this long */
#define PERF_SLOT_ALIGN    64
#define PERF_STASH         64          /* completions kept across waits */
#define PERF_HELLO_LEN     40          /* the parameter exchange, both ways */

/* Exit statuses of every tool; scripts rely on them. */
enum perf_exit {
	PERF_EXIT_OK        = 0,
	PERF_EXIT_FAIL      = 1, /* the test or a verification failed */
	PERF_EXIT_USAGE     = 2, /* bad command line */
	PERF_EXIT_PORT_BUSY = 3, /* server: the TCP port is taken */
};

/* Which tool is running; both sides must run the same one. */
enum perf_test {
	PERF_TEST_WRITE_LAT = 1,
	PERF_TEST_READ_LAT,
	PERF_TEST_ATOMIC_LAT,
	PERF_TEST_WRITE_BW,
	PERF_TEST_PINGPONG,
};

/* Options a tool accepts beyond the common ones (-s -n -p -d --provider). */
enum perf_opt_flags {
	PERF_OPT_ALL      = 1u << 0, /* -a */
	PERF_OPT_ATOMIC   = 1u << 1, /* -A CMP_AND_SWAP|FETCH_AND_ADD */
	PERF_OPT_TX_DEPTH = 1u << 2, /* -t */
	PERF_OPT_EVENTS   = 1u << 3, /* -e: sleep on the completion channel */
};

enum perf_atomic {
	PERF_ATOMIC_FADD = 0,
	PERF_ATOMIC_CAS  = 1,
};

/* A tool's identity and defaults; one const instance per program. */
struct perf_tool {
	const char *name;       /* "sk_write_lat", used in messages */
	const char *title;      /* "RDMA_Write Latency Test" */
	enum perf_test test;
	unsigned opts;          /* enum perf_opt_flags */
	size_t def_size;
	unsigned long def_iters;
	unsigned long min_iters;
	size_t min_size;
	unsigned slots;         /* buffers of the message size to register */
};

/* The command line, after perf_opts_parse(). */
struct perf_opts {
	const struct perf_tool *tool;
	const char *server;     /* client: the server's host; server: NULL */
	const char *provider;   /* NULL: $SKIFF_PROVIDER */
	const char *device;     /* NULL: $SKIFF_DEVICE */
	unsigned port;
	size_t size;
	unsigned long iters;
	uint32_t tx_depth;
	int all_sizes;
	int atomic;             /* enum perf_atomic */
	int events;
};

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
	int sock;
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

/* ---- command line ---- */

/*
 * Parse argv for @tool into @o. Returns -1 when the program should go on,
 * or an exit status (PERF_EXIT_OK after -h, PERF_EXIT_USAGE after a
 * message). Also makes stdout line-buffered, for scripts that prefix it.
 */
int perf_opts_parse(struct perf_opts *o, const struct perf_tool *tool,
		    int argc, char **argv);

/* The message sizes to run: either opts->size or 2..PERF_MAX_SIZE with -a.
 * Returns how many were written to @sizes (room for 32). */
unsigned perf_opts_sizes(const struct perf_opts *o, size_t *sizes);

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

/* Write the hello that @o's side sends (layout in perf_common.c) into
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

/* A blob's length prefix @len: 0 if acceptable (1..SK_BLOB_MAX), else -1
 * with a message naming @what ("an endpoint address") in @err. */
int perf_blob_len_check(uint32_t len, const char *what, char *err,
			size_t errlen);

/* ---- time and reports ---- */

static inline uint64_t perf_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void perf_lat_print_head(void);

/*
 * Sort @ns (@n samples, nanoseconds) and print one perftest latency row:
 * min, max, typical (median), average, stdev, 99% and 99.9% percentiles,
 * each divided by @divisor (2 for half round trips).
 */
void perf_lat_print_row(size_t size, unsigned long iters, uint64_t *ns,
			size_t n, unsigned divisor);

void perf_bw_print_head(void);
void perf_bw_print_row(size_t size, unsigned long iters, double peak_mbs,
		       double avg_mbs, double mpps);

void perf_print_line(void);

/* ---- data patterns for verification ---- */

void perf_fill(void *buf, size_t len, uint64_t seed);

/* Returns the offset of the first byte that differs from perf_fill()'s
 * pattern, or -1 if all match. */
long perf_check(const void *buf, size_t len, uint64_t seed);

#endif /* SKIFF_PERF_COMMON_H */
