/*
 * ucp_get_lat: UCP get latency with plain UCX, the reference that
 * perf/compare-ucx.sh runs next to sk_read_lat on the ucx provider.
 *
 * Why it exists: ucx_perftest before UCX 1.22 (PR #11418) does not
 * progress the target of ucp_get, so with error-handling endpoints (-e),
 * where small gets are emulated in software, every get waits for the
 * server's 1 ms socket poll; without -e it reports a pipelined rate, not
 * one get at a time.
 *
 * What it does, as sk_read_lat does over Skiff verbs: the server maps a
 * buffer with ucp_mem_map, fills it with perf_fill()'s pattern and busy
 * polls its worker (ucp_worker_progress) until the client says "done" over
 * TCP. The client does one ucp_get_nbx of -s bytes at a time from it and
 * waits for each by busy polling its worker (as ucx_perftest does); -w
 * untimed gets first, then -n timed ones. A sample is the time between two
 * consecutive posts (clock_gettime(CLOCK_MONOTONIC), one read per sample,
 * as sk_read_lat and ib_read_lat), a full round trip. The data is checked
 * once at the end; the table is printed by perf_common.c's functions, so
 * the columns and statistics are sk_read_lat's own (t_typical = median).
 *
 * UCX set up as Skiff's ucx provider sets it up (verbs/ucx/ucx_dev.c): features
 * RMA | AMO64 | AM | WAKEUP, a single-threaded worker, endpoints with
 * UCP_ERR_HANDLING_MODE_PEER, UCX_POSIX_ERROR_HANDLING=y and a keepalive
 * of 500 ms unless the environment says otherwise, page-aligned ordinary
 * memory mapped with ucp_mem_map on both sides, the data 64 bytes into it
 * (where sk_read_lat's slot 0 is).
 *
 * TCP exchange (perf/perf_sock.c, as Skiff's tools meet; integers
 * little-endian, skiff/le.h): the client sends a 32-byte hello
 * {u32 magic "UGLT", u32 version, u64 size, u64 iterations, u64 warm-up};
 * the server checks it, adopts it and echoes it. Then each sends u32
 * length + worker address; the server also sends u64 address of the data
 * and u32 length + packed rkey. A barrier (u32 "GO!!" each way), the test,
 * then the client sends {u32 "DONE", u32 0 ok / 1 failed} and the server
 * answers "DONE". Each step of the exchange must come within 30 s, a get
 * within 10 s; a peer that closes the socket is reported at once. The
 * hello is checked field by field; the worker address and rkey only for
 * their length (1..64 KiB): UCX 1.13 has no way to validate them, and it
 * aborts on a malformed one (an assertion), so the peer is trusted once it
 * has sent a valid hello.
 *
 * Exit status: 0 ok, 1 failure, 2 bad command line, 3 port in use.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <ucp/api/ucp.h>

#include <skiff/le.h>

/* The perf tools' parts that need no Skiff verbs: no Skiff library is
 * linked (perf/compare/module.mk). */
#include "../perf_opts.h"
#include "../perf_report.h"
#include "../perf_sock.h"

#define NAME            "ucp_get_lat"
/* The words read as their names in the bytes. Version 2: the integers
 * became little-endian (big-endian in version 1). */
#define UGL_MAGIC       0x544c4755u /* "UGLT" */
#define UGL_VERSION     2u
#define UGL_HELLO_LEN   32
#define UGL_GO          0x21214f47u /* "GO!!" */
#define UGL_DONE        0x454e4f44u /* "DONE" */
#define UGL_BLOB_MAX    65536u      /* worker address or rkey */
#define UGL_MAX_SIZE    (1ul << 30)
#define UGL_OFFSET      64          /* data offset and slot alignment, as
                                       sk_read_lat's (PERF_SLOT_ALIGN) */
#define UGL_EXCHANGE_MS 30000       /* each step of the TCP exchange */
#define UGL_OP_MS       10000       /* one get */
#define UGL_CLOSE_MS    2000        /* endpoint close, as Skiff's */
#define UGL_GONE_EVERY  4096        /* busy-wait spins between socket looks */
#define UGL_KEEPALIVE   "500ms"     /* Skiff's SKIFF_UCX_KEEPALIVE_MS */

struct ugl {
	/* command line; the server adopts the client's size and counts */
	const char *host;       /* NULL: server */
	unsigned port;
	size_t size;
	unsigned long iters, warmup;
	int verbose;

	struct perf_sock sock;  /* progresses the worker once the ep exists */
	unsigned long spins;
	ucp_context_h ctx;
	ucp_worker_h worker;
	ucp_address_t *waddr;
	size_t waddr_len;
	void *buf;
	size_t buf_len;
	ucp_mem_h memh;
	void *rkey_buf;         /* server: our packed rkey */
	size_t rkey_len;
	ucp_ep_h ep;
	ucp_rkey_h rkey;        /* client: the server's */
	uint64_t raddr;         /* client: the server's data */
	ucs_status_t ep_status; /* set by the endpoint's error handler */
	/* the get in flight */
	ucp_request_param_t get_param;
	int op_done;
	ucs_status_t op_status;
	void *op_req;           /* not freed yet: complete it before freeing */
};

/* ---- command line ---- */

static void usage(FILE *out)
{
	fprintf(out,
		"Usage:\n"
		"  " NAME " [options]          start a server and wait for a "
		"client\n"
		"  " NAME " [options] <host>   connect to the server on "
		"<host>\n"
		"\nUCP get latency with plain UCX: one ucp_get_nbx at a time, "
		"busy polling,\nthe reference for sk_read_lat in "
		"perf/compare-ucx.sh.\n\n"
		"Options:\n"
		"  -s, --size=<bytes>     get size (default 8; k/m/g "
		"suffixes)\n"
		"  -n, --iters=<count>    timed gets (default 1000)\n"
		"  -w, --warmup=<count>   untimed gets before them (default "
		"100)\n"
		"  -p, --port=<port>      TCP port of the exchange (default "
		"%d)\n"
		"  -v, --verbose          print the endpoint's UCX "
		"configuration\n"
		"  -h, --help             show this help\n"
		"\nThe server takes the client's -s, -n, -w.\n"
		"Exit status: 0 ok, 1 failure, 2 usage, 3 server port in "
		"use.\n",
		PERF_DEFAULT_PORT);
}

static int opt_bad(const char *opt, const char *val, const char *why)
{
	fprintf(stderr, NAME ": bad %s '%s': %s\n", opt, val, why);
	usage(stderr);
	return PERF_EXIT_USAGE;
}

/* Returns -1 to go on, or an exit status. */
static int parse_args(struct ugl *u, int argc, char **argv)
{
	static const struct option longopts[] = {
		{"size", required_argument, NULL, 's'},
		{"iters", required_argument, NULL, 'n'},
		{"warmup", required_argument, NULL, 'w'},
		{"port", required_argument, NULL, 'p'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	unsigned long v;
	int ch;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":s:n:w:p:vh", longopts,
				 NULL)) != -1) {
		switch (ch) {
		case 's':
			if (perf_parse_ulong(optarg, 1, UGL_MAX_SIZE, &v))
				return opt_bad("size", optarg,
					       "need 1..1g bytes");
			u->size = v;
			break;
		case 'n':
			if (perf_parse_ulong(optarg, 1, PERF_MAX_ITERS, &v))
				return opt_bad("iteration count", optarg,
					       "out of range");
			u->iters = v;
			break;
		case 'w':
			if (perf_parse_ulong(optarg, 0, PERF_MAX_ITERS, &v))
				return opt_bad("warm-up count", optarg,
					       "out of range");
			u->warmup = v;
			break;
		case 'p':
			if (perf_parse_ulong(optarg, 1, 65535, &v))
				return opt_bad("port", optarg, "need 1..65535");
			u->port = (unsigned)v;
			break;
		case 'v':
			u->verbose = 1;
			break;
		case 'h':
			usage(stdout);
			return PERF_EXIT_OK;
		case ':':
			fprintf(stderr, NAME ": option %s needs a value\n",
				argv[optind - 1]);
			usage(stderr);
			return PERF_EXIT_USAGE;
		default:
			fprintf(stderr, NAME ": unknown option %s\n",
				argv[optind - 1]);
			usage(stderr);
			return PERF_EXIT_USAGE;
		}
	}
	if (optind < argc)
		u->host = argv[optind++];
	if (optind < argc) {
		fprintf(stderr, NAME ": unexpected argument '%s'\n",
			argv[optind]);
		usage(stderr);
		return PERF_EXIT_USAGE;
	}
	return -1;
}

/* ---- the TCP exchange (perf_sock.c) ---- */

static void ugl_progress(struct ugl *u)
{
	ucp_worker_progress(u->worker);
}

static int ugl_sock_progress(void *arg)
{
	ugl_progress(arg);
	return 0;
}

/* A length-prefixed blob of 1..UGL_BLOB_MAX bytes, into malloc'd *@buf_p. */
static int blob_recv(struct ugl *u, void **buf_p, size_t *len_p,
		     const char *what)
{
	void *buf = malloc(UGL_BLOB_MAX);

	if (buf == NULL) {
		fprintf(stderr, NAME ": out of memory\n");
		return -1;
	}
	if (perf_sock_blob_recv(&u->sock, buf, UGL_BLOB_MAX, len_p,
				UGL_EXCHANGE_MS, what)) {
		free(buf);
		return -1;
	}
	*buf_p = buf;
	return 0;
}

/* The client sends its hello; the server checks it, adopts it, echoes. */
static int hello(struct ugl *u)
{
	uint8_t b[UGL_HELLO_LEN];
	uint64_t size, iters, warmup;

	if (u->host) {
		sk_le32_put(b, UGL_MAGIC);
		sk_le32_put(b + 4, UGL_VERSION);
		sk_le64_put(b + 8, u->size);
		sk_le64_put(b + 16, u->iters);
		sk_le64_put(b + 24, u->warmup);
		if (perf_sock_write(&u->sock, b, sizeof(b)) ||
		    perf_sock_read(&u->sock, b, sizeof(b), UGL_EXCHANGE_MS,
			      "the server's hello"))
			return -1;
	} else if (perf_sock_read(&u->sock, b, sizeof(b), UGL_EXCHANGE_MS,
			     "the client's hello")) {
		return -1;
	}
	if (sk_le32_get(b) != UGL_MAGIC) {
		fprintf(stderr, NAME ": the peer is not " NAME " (bad magic); "
				"wrong port?\n");
		return -1;
	}
	if (sk_le32_get(b + 4) != UGL_VERSION) {
		fprintf(stderr, NAME ": the peer speaks version %u, we speak "
				"%u\n", sk_le32_get(b + 4), UGL_VERSION);
		return -1;
	}
	size = sk_le64_get(b + 8);
	iters = sk_le64_get(b + 16);
	warmup = sk_le64_get(b + 24);
	if (size < 1 || size > UGL_MAX_SIZE || iters < 1 ||
	    iters > PERF_MAX_ITERS || warmup > PERF_MAX_ITERS) {
		fprintf(stderr, NAME ": the peer asked for parameters out of "
				"range (size %llu, iterations %llu, warm-up "
				"%llu); refused\n", (unsigned long long)size,
			(unsigned long long)iters, (unsigned long long)warmup);
		return -1;
	}
	if (u->host) {
		if (size != u->size || iters != u->iters ||
		    warmup != u->warmup) {
			fprintf(stderr, NAME ": the server did not agree to "
					"our parameters\n");
			return -1;
		}
		return 0;
	}
	u->size = (size_t)size;
	u->iters = (unsigned long)iters;
	u->warmup = (unsigned long)warmup;
	return perf_sock_write(&u->sock, b, sizeof(b));
}

/* ---- UCX ---- */

static void ugl_ep_err_cb(void *arg, ucp_ep_h ep, ucs_status_t status)
{
	struct ugl *u = arg;

	(void)ep;
	if (u->ep_status == UCS_OK)
		u->ep_status = status;
}

static void ugl_get_cb(void *request, ucs_status_t status, void *user_data)
{
	struct ugl *u = user_data;

	(void)request;
	u->op_status = status;
	u->op_done = 1;
}

static int ucx_fail(const char *what, ucs_status_t us)
{
	fprintf(stderr, NAME ": %s: %s\n", what, ucs_status_string(us));
	return -1;
}

/* Context and worker as Skiff's ucx_dev_open() makes them. */
static int ugl_ucx_open(struct ugl *u)
{
	ucp_params_t params = {
		.field_mask = UCP_PARAM_FIELD_FEATURES,
		.features = UCP_FEATURE_RMA | UCP_FEATURE_AMO64 |
			    UCP_FEATURE_AM | UCP_FEATURE_WAKEUP,
	};
	ucp_worker_params_t wp = {
		.field_mask = UCP_WORKER_PARAM_FIELD_THREAD_MODE,
		.thread_mode = UCS_THREAD_MODE_SINGLE,
	};
	ucp_config_t *config;
	ucs_status_t us;

	/* A transport-level variable, which ucp_config_modify() does not
	 * take in UCX 1.13: without it, peer error handling leaves shared
	 * memory out. */
	setenv("UCX_POSIX_ERROR_HANDLING", "y", 0);
	setenv("UCX_POSIX_RX_BUFS_GROW", "64", 0); /* as verbs/ucx/ucx_dev.c */
	setenv("UCX_SYSV_RX_BUFS_GROW", "64", 0);
	us = ucp_config_read(NULL, NULL, &config);
	if (us != UCS_OK)
		return ucx_fail("cannot read the UCX configuration", us);
	if (getenv("UCX_KEEPALIVE_INTERVAL") == NULL) {
		us = ucp_config_modify(config, "KEEPALIVE_INTERVAL",
				       UGL_KEEPALIVE);
		if (us != UCS_OK) {
			ucp_config_release(config);
			return ucx_fail("cannot set KEEPALIVE_INTERVAL", us);
		}
	}
	us = ucp_init(&params, config, &u->ctx);
	ucp_config_release(config);
	if (us != UCS_OK) {
		u->ctx = NULL;
		return ucx_fail("cannot open UCP", us);
	}
	us = ucp_worker_create(u->ctx, &wp, &u->worker);
	if (us != UCS_OK) {
		u->worker = NULL;
		return ucx_fail("cannot create a UCP worker", us);
	}
	us = ucp_worker_get_address(u->worker, &u->waddr, &u->waddr_len);
	if (us != UCS_OK) {
		u->waddr = NULL;
		return ucx_fail("cannot get the worker address", us);
	}
	return 0;
}

/* The buffer: page-aligned ordinary memory, the data at UGL_OFFSET, mapped
 * as Skiff's ucx_mr_reg() maps it (address and length). */
static int ugl_buf_map(struct ugl *u)
{
	ucp_mem_map_params_t mp = {
		.field_mask = UCP_MEM_MAP_PARAM_FIELD_ADDRESS |
			      UCP_MEM_MAP_PARAM_FIELD_LENGTH,
	};
	size_t slot = (u->size + UGL_OFFSET - 1) &
		      ~(size_t)(UGL_OFFSET - 1);
	size_t len;
	ucs_status_t us;

	u->buf_len = UGL_OFFSET + slot;
	len = (u->buf_len + 4095) & ~(size_t)4095;
	u->buf = aligned_alloc(4096, len);
	if (u->buf == NULL) {
		fprintf(stderr, NAME ": cannot allocate %zu bytes\n", len);
		return -1;
	}
	memset(u->buf, 0, len);
	if (!u->host)
		perf_fill((char *)u->buf + UGL_OFFSET, u->size, u->size);
	mp.address = u->buf;
	mp.length = u->buf_len;
	us = ucp_mem_map(u->ctx, &mp, &u->memh);
	if (us != UCS_OK) {
		u->memh = NULL;
		return ucx_fail("cannot map the buffer", us);
	}
	if (u->host)
		return 0;
	us = ucp_rkey_pack(u->ctx, u->memh, &u->rkey_buf, &u->rkey_len);
	if (us != UCS_OK) {
		u->rkey_buf = NULL;
		return ucx_fail("cannot pack the buffer's key", us);
	}
	return 0;
}

/* Swap worker addresses (and the server's data address and rkey), create
 * the endpoint, import the key. */
static int ugl_connect(struct ugl *u)
{
	ucp_ep_params_t ep_params;
	void *peer_addr = NULL, *rkey = NULL;
	size_t peer_len, rkey_len;
	ucs_status_t us;
	uint8_t b[8];
	int ret = -1;

	if (perf_sock_blob_send(&u->sock, u->waddr, u->waddr_len))
		return -1;
	if (!u->host) {
		sk_le64_put(b, (uintptr_t)u->buf + UGL_OFFSET);
		if (perf_sock_write(&u->sock, b, sizeof(b)) ||
		    perf_sock_blob_send(&u->sock, u->rkey_buf, u->rkey_len))
			return -1;
	}
	if (blob_recv(u, &peer_addr, &peer_len, "a worker address"))
		return -1;
	if (u->host) {
		if (perf_sock_read(&u->sock, b, sizeof(b), UGL_EXCHANGE_MS,
			      "the data address") ||
		    blob_recv(u, &rkey, &rkey_len, "a packed rkey"))
			goto out;
		u->raddr = sk_le64_get(b);
	}

	memset(&ep_params, 0, sizeof(ep_params));
	ep_params.field_mask = UCP_EP_PARAM_FIELD_REMOTE_ADDRESS |
			       UCP_EP_PARAM_FIELD_ERR_HANDLING_MODE |
			       UCP_EP_PARAM_FIELD_ERR_HANDLER;
	ep_params.address = peer_addr;
	ep_params.err_mode = UCP_ERR_HANDLING_MODE_PEER;
	ep_params.err_handler.cb = ugl_ep_err_cb;
	ep_params.err_handler.arg = u;
	us = ucp_ep_create(u->worker, &ep_params, &u->ep);
	if (us != UCS_OK) {
		u->ep = NULL;
		ucx_fail("cannot create an endpoint to the peer", us);
		goto out;
	}
	u->sock.progress = ugl_sock_progress;
	u->sock.arg = u;
	if (u->host) {
		us = ucp_ep_rkey_unpack(u->ep, rkey, &u->rkey);
		if (us != UCS_OK) {
			u->rkey = NULL;
			ucx_fail("UCX refused the server's rkey", us);
			goto out;
		}
	}
	ret = 0;
out:
	free(rkey);
	free(peer_addr);
	return ret;
}

/* Close the endpoint as Skiff does: forced, progressed for at most
 * UGL_CLOSE_MS. A get still in flight completes (cancelled) here. */
static void ugl_ep_close(struct ugl *u)
{
	ucp_request_param_t p = {
		.op_attr_mask = UCP_OP_ATTR_FIELD_FLAGS,
		.flags = UCP_EP_CLOSE_FLAG_FORCE,
	};
	uint64_t deadline = perf_now_ns() + UGL_CLOSE_MS * 1000000ull;
	ucs_status_ptr_t req;

	if (u->rkey)
		ucp_rkey_destroy(u->rkey);
	u->rkey = NULL;
	req = ucp_ep_close_nbx(u->ep, &p);
	u->ep = NULL;
	if (req != NULL && !UCS_PTR_IS_ERR(req)) {
		while (ucp_request_check_status(req) == UCS_INPROGRESS &&
		       perf_now_ns() < deadline)
			ugl_progress(u);
		ucp_request_free(req);
	}
	while (u->op_req && !u->op_done && perf_now_ns() < deadline)
		ugl_progress(u);
	if (u->op_req && u->op_done)
		ucp_request_free(u->op_req);
	u->op_req = NULL; /* else leaked: UCX never completed it */
}

static void ugl_cleanup(struct ugl *u)
{
	if (u->ep)
		ugl_ep_close(u);
	if (u->rkey_buf)
		ucp_rkey_buffer_release(u->rkey_buf);
	if (u->memh)
		ucp_mem_unmap(u->ctx, u->memh);
	free(u->buf);
	if (u->waddr)
		ucp_worker_release_address(u->worker, u->waddr);
	if (u->worker)
		ucp_worker_destroy(u->worker);
	if (u->ctx)
		ucp_cleanup(u->ctx);
	perf_sock_close(&u->sock);
}

/* ---- the test ---- */

/* During the test nothing is expected on the socket: readable means the
 * peer died or gave up. Returns 1 (after a message) then. */
static int peer_gone(struct ugl *u)
{
	if (u->ep_status != UCS_OK) {
		fprintf(stderr, NAME ": the endpoint to the peer failed: %s\n",
			ucs_status_string(u->ep_status));
		return 1;
	}
	return perf_sock_peer_gone(&u->sock);
}

/* One get of u->size bytes into @dst, waited for by busy polling the
 * worker. The clock is read only when the get is slow (every
 * UGL_GONE_EVERY spins), so it costs nothing in the timed path. */
static int ugl_get(struct ugl *u, void *dst)
{
	uint64_t deadline = 0;
	ucs_status_ptr_t req;

	u->op_done = 0;
	req = ucp_get_nbx(u->ep, dst, u->size, u->raddr, u->rkey,
			  &u->get_param);
	if (req == NULL)
		return 0; /* completed in place */
	if (UCS_PTR_IS_ERR(req))
		return ucx_fail("cannot post a get", UCS_PTR_STATUS(req));
	while (!u->op_done) {
		ugl_progress(u);
		if (++u->spins % UGL_GONE_EVERY || u->op_done)
			continue;
		if (peer_gone(u)) {
			u->op_req = req;
			return -1;
		}
		if (deadline == 0) {
			deadline = perf_now_ns() + UGL_OP_MS * 1000000ull;
		} else if (perf_now_ns() > deadline) {
			fprintf(stderr, NAME ": a get of %zu bytes did not "
					"complete in %d s\n", u->size,
				UGL_OP_MS / 1000);
			u->op_req = req;
			return -1;
		}
	}
	ucp_request_free(req);
	if (u->op_status != UCS_OK)
		return ucx_fail("a get completed with an error", u->op_status);
	return 0;
}

/* Client: -w untimed gets, then -n timed ones, one sample each (the time
 * between consecutive posts, as sk_read_lat); @ns has iters + 1 entries. */
static int ugl_run(struct ugl *u, uint64_t *ns)
{
	void *dst = (char *)u->buf + UGL_OFFSET;
	long bad;

	u->get_param = (ucp_request_param_t){
		.op_attr_mask = UCP_OP_ATTR_FIELD_CALLBACK |
				UCP_OP_ATTR_FIELD_USER_DATA,
		.cb.send = ugl_get_cb,
		.user_data = u,
	};
	for (unsigned long i = 0; i < u->warmup; i++)
		if (ugl_get(u, dst))
			return -1;
	for (unsigned long i = 0; i < u->iters; i++) {
		ns[i] = perf_now_ns();
		if (ugl_get(u, dst))
			return -1;
	}
	ns[u->iters] = perf_now_ns();
	for (unsigned long i = 0; i < u->iters; i++)
		ns[i] = ns[i + 1] - ns[i];
	bad = perf_check(dst, u->size, u->size);
	if (bad >= 0) {
		fprintf(stderr, NAME ": the data read differs from the "
				"server's at offset %ld\n", bad);
		return -1;
	}
	return 0;
}

static void print_header(const struct ugl *u)
{
	const char *ka = getenv("UCX_KEEPALIVE_INTERVAL");
	char port[16];

	snprintf(port, sizeof(port), "%u", u->port);
	perf_print_line();
	printf("                    UCP Get Latency Test (plain UCX)\n");
	printf(" %-16s: %-14s %-15s: %s\n", "Library", "UCP", "UCX version",
	       ucp_get_version_string());
	printf(" %-16s: %s\n", "Transport type", "from UCX_TLS");
	printf(" %-16s: %-14s %-15s: %s\n", "Error handling", "peer", "Role",
	       u->host ? "client" : "server");
	printf(" %-16s: %-14lu %-15s: %d\n", "Number of iters", u->iters,
	       "TX depth", 1);
	printf(" %-16s: %-14lu %-15s: %s\n", "Warm-up iters", u->warmup,
	       "Keepalive", ka ? ka : UGL_KEEPALIVE);
	printf(" %-16s: %-14s %-15s: %s\n", "Data ex. method", "Ethernet",
	       "TCP port", port);
	perf_print_line();
}

static int client(struct ugl *u)
{
	uint64_t *ns;
	uint32_t v;
	int failed;

	ns = calloc(u->iters + 1, sizeof(*ns));
	if (ns == NULL) {
		fprintf(stderr, NAME ": out of memory\n");
		return -1;
	}
	print_header(u);
	perf_lat_print_head();
	failed = ugl_run(u, ns);
	if (!failed)
		perf_lat_print_row(u->size, u->iters, ns, u->iters, 1);
	free(ns);
	perf_print_line();
	/* Tell the server, which then stops polling; a failed test is
	 * reported only as failed (the message above says why), and
	 * quietly: the server may be what failed. */
	if (failed) {
		uint8_t b[8];

		sk_le32_put(b, UGL_DONE);
		sk_le32_put(b + 4, 1);
		(void)!send(u->sock.fd, b, sizeof(b), MSG_NOSIGNAL | MSG_DONTWAIT);
		return -1;
	}
	if (perf_sock_send_u32(&u->sock, UGL_DONE) || perf_sock_send_u32(&u->sock, 0))
		return -1;
	if (perf_sock_recv_u32(&u->sock, &v, UGL_EXCHANGE_MS, "the server's last word"))
		return -1;
	if (v != UGL_DONE) {
		fprintf(stderr, NAME ": the server ended out of step (0x%08x)"
				"\n", v);
		return -1;
	}
	return 0;
}

static int server(struct ugl *u)
{
	uint32_t v, status;

	print_header(u);
	/* Busy poll the worker until the client's "done" (no time limit:
	 * the test takes as long as it takes; a dead client closes the
	 * socket). */
	if (perf_sock_recv_u32(&u->sock, &v, 0, "the client's end of test") ||
	    perf_sock_recv_u32(&u->sock, &status, UGL_EXCHANGE_MS, "the client's verdict"))
		return -1;
	if (v != UGL_DONE || status > 1) {
		fprintf(stderr, NAME ": the client ended out of step "
				"(0x%08x 0x%08x)\n", v, status);
		return -1;
	}
	if (status) {
		fprintf(stderr, NAME ": the client reported a failure (see "
				"its messages)\n");
		return -1;
	}
	return perf_sock_send_u32(&u->sock, UGL_DONE);
}

int main(int argc, char **argv)
{
	struct ugl u = {.port = PERF_DEFAULT_PORT, .size = 8, .iters = 1000,
			.warmup = 100, .sock = {.fd = -1, .name = NAME}};
	uint32_t v;
	int ret;

	setvbuf(stdout, NULL, _IOLBF, 0);
	ret = parse_args(&u, argc, argv);
	if (ret >= 0)
		return ret;
	ret = u.host ? perf_sock_connect(&u.sock, u.host, u.port) :
		       perf_sock_listen(&u.sock, u.port);
	if (ret)
		return ret;
	ret = PERF_EXIT_FAIL;
	if (hello(&u) || ugl_ucx_open(&u) || ugl_buf_map(&u) ||
	    ugl_connect(&u))
		goto out;
	/* Barrier: both endpoints exist before the first get. The client
	 * speaks first, the server answers. */
	if (u.host && perf_sock_send_u32(&u.sock, UGL_GO))
		goto out;
	if (perf_sock_recv_u32(&u.sock, &v, UGL_EXCHANGE_MS, "the barrier"))
		goto out;
	if (!u.host && v == UGL_GO && perf_sock_send_u32(&u.sock, UGL_GO))
		goto out;
	if (v != UGL_GO) {
		fprintf(stderr, NAME ": the peer is out of step at the barrier "
				"(0x%08x)\n", v);
		goto out;
	}
	if (u.verbose)
		ucp_ep_print_info(u.ep, stdout);
	if ((u.host ? client(&u) : server(&u)) == 0)
		ret = PERF_EXIT_OK;
out:
	ugl_cleanup(&u);
	return ret;
}
