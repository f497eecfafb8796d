/*
 * rpc_lat: round-trip latency of Skiff rpc calls (rpc/include/skiff/rpc.h),
 * one call at a time, in the manner of perftest's *_lat tools.
 *
 * Server `rpc_lat -p PORT`, client `rpc_lat -p PORT HOST`. They meet over
 * TCP with perf_common (hello, endpoint address, barrier); then each side
 * builds a libos loop over the device, an arena and an rpc instance, and
 * hands perf_common's connected endpoint to sk_rpc_peer_add() (the rpc
 * owns it from then on; perf_common's key for the peer's buffer is dropped
 * first, and its own registration stays unused).
 *
 * The server registers three handlers: 1 answers with as many bytes as
 * the request holds, taken from sk_rpc_resp_buf() and not written (the
 * null RPC when the request is empty; ucx_perftest's responder likewise
 * sends its own buffer); 2 echoes the request's bytes; 0 ends the run.
 * The client calls from a registered request buffer (sk_rpc_buf_alloc),
 * takes the response in place (up to SK_RPC_INLINE_MAX; larger ones into a
 * registered response buffer), and busy-polls its loop
 * (sk_loop_run_once(loop, 0)) until the completion runs; the server
 * busy-polls too, as ucx_perftest's and perftest's sides do. A sample is
 * the time between consecutive calls (one clock read per call, as
 * sk_read_lat): a FULL round trip, request out to response in. The table
 * is not halved; osu_latency and ucx_perftest *_lat print half round trips,
 * so a second small table gives t_typical / 2 and t_avg / 2.
 *
 * Before the timed calls of a size, iters / 10 (at least 10) untimed calls
 * of the echo handler warm up, and their responses are compared byte for
 * byte with the requests; timed calls (handler 1) are checked for status
 * and length. At the end the client makes the stop call, says "done" over
 * TCP, and the server answers with the number of calls it served, which
 * must equal the calls made.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <skiff/rpc.h>

#include "perf_common.h"

/* Not in perf_common's enum perf_test: the hello only needs an id no other
 * tool uses, so that an rpc_lat client refuses an sk_* server. */
#define RPC_LAT_TEST     ((enum perf_test)16)
#define RB_HANDLER_STOP  0       /* the client's last call */
#define RB_HANDLER_SIZED 1       /* answers as many bytes, unwritten */
#define RB_HANDLER_ECHO  2       /* answers the request's bytes */
#define RB_ADD_MS        20000   /* sk_rpc_peer_add timeout */
#define RB_SOCK_EVERY    4096    /* server loop turns between socket looks */
#define RB_SOCK_MS       30000   /* a TCP answer must come within this */
#define RB_CMD_DONE      0x444f4e45u /* "DONE" */

static const struct perf_tool rpc_lat_tool = {
	.name = "rpc_lat",
	.title = "RPC Latency Test (echo handler, full round trip)",
	.test = RPC_LAT_TEST,
	.opts = 0,
	.def_size = 32,    /* without -s: 32 and 4096 */
	.def_iters = 1000,
	.min_iters = 1,
	.min_size = 0,     /* -s 0: the null RPC */
	.slots = 0,        /* perf_common's buffer is not used */
};

/* ---- shared by rpc_lat and rpc_tput (each is one file) ---- */

#define RB_MAX_PEERS 4

struct rb {
	struct perf_ctx      c;
	struct sk_loop      *loop;
	struct sk_arena     *arena;
	struct sk_rpc       *rpc;
	struct sk_rpc_peer  *peer[RB_MAX_PEERS];
	unsigned             npeers;
	unsigned long        turns, idle_turns; /* server loop */
	unsigned long        resp_fail;         /* server: respond() failed */
	int                  stop;              /* server: the stop call came */
};

static const char *rb_name(const struct rb *b)
{
	return b->c.opts.tool->name;
}

/* Whether option -@s or --@l is on the command line (perf_opts_parse has
 * parsed it; this tells "given" from "defaulted"). */
static int rb_opt_given(int argc, char **argv, char s, const char *l)
{
	size_t ll = strlen(l);

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--") == 0)
			break;
		if (a[0] == '-' && a[1] == s)
			return 1;
		if (a[0] == '-' && a[1] == '-' && strncmp(a + 2, l, ll) == 0 &&
		    (a[2 + ll] == '\0' || a[2 + ll] == '='))
			return 1;
	}
	return 0;
}

static int rb_sock_write(struct rb *b, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = send(b->c.sock, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "%s: cannot send to the peer: %s\n",
				rb_name(b), strerror(errno));
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Read exactly @len bytes within RB_SOCK_MS; EOF is an error. Only used
 * where the fabric needs no progress from us (before peer_add, or after the
 * last call). */
static int rb_sock_read(struct rb *b, void *buf, size_t len)
{
	struct pollfd pfd = {.fd = b->c.sock, .events = POLLIN};
	char *p = buf;

	while (len) {
		int r = poll(&pfd, 1, RB_SOCK_MS);
		ssize_t n;

		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0) {
			fprintf(stderr, "%s: no answer from the peer for %d s\n",
				rb_name(b), RB_SOCK_MS / 1000);
			return -1;
		}
		n = r < 0 ? -1 : recv(b->c.sock, p, len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "%s: %s\n", rb_name(b),
				n == 0 ? "the peer closed the connection (see "
					 "its messages)" : strerror(errno));
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int rb_send_u64(struct rb *b, uint64_t v)
{
	uint8_t w[8];

	for (int i = 0; i < 8; i++)
		w[i] = (uint8_t)(v >> (56 - 8 * i));
	return rb_sock_write(b, w, sizeof(w));
}

static int rb_recv_u64(struct rb *b, uint64_t *v)
{
	uint8_t w[8];

	if (rb_sock_read(b, w, sizeof(w)))
		return -1;
	*v = 0;
	for (int i = 0; i < 8; i++)
		*v = *v << 8 | w[i];
	return 0;
}

/* Handler 1, the null RPC of the benchmarks: a response of as many bytes
 * as the request, from sk_rpc_resp_buf() and not written (as ucx_perftest's
 * responder sends its own buffer without looking at what came). */
static void rb_sized(struct sk_rpc_req *req, void *arg)
{
	struct rb *b = arg;
	size_t len;
	int status = 0;

	sk_rpc_req_data(req, &len);
	if (len && sk_rpc_resp_buf(req, len) == NULL) {
		status = -EMSGSIZE;
		len = 0;
	}
	if (sk_rpc_respond(req, status, len) != SK_OK)
		b->resp_fail++;
}

/* Handler 2: the request's bytes back (the warm-up calls check them). */
static void rb_echo(struct sk_rpc_req *req, void *arg)
{
	struct rb *b = arg;
	size_t len;
	const void *in = sk_rpc_req_data(req, &len);
	void *out = NULL;
	int status = 0;

	if (len) {
		out = sk_rpc_resp_buf(req, len);
		if (out == NULL) {
			status = -EMSGSIZE;
			len = 0;
		} else {
			memcpy(out, in, len);
		}
	}
	if (sk_rpc_respond(req, status, len) != SK_OK)
		b->resp_fail++;
}

/* Handler 0: the client's last call; the server's loop ends after it. */
static void rb_stop(struct sk_rpc_req *req, void *arg)
{
	struct rb *b = arg;

	b->stop = 1;
	if (sk_rpc_respond(req, 0, 0) != SK_OK)
		b->resp_fail++;
}

static int rb_send_blob(struct rb *b, const void *blob, size_t len)
{
	uint8_t w[4] = {(uint8_t)(len >> 24), (uint8_t)(len >> 16),
			(uint8_t)(len >> 8), (uint8_t)len};

	return rb_sock_write(b, w, sizeof(w)) || rb_sock_write(b, blob, len);
}

/* A length-prefixed blob into @buf (SK_BLOB_MAX bytes), length checked. */
static int rb_recv_blob(struct rb *b, void *buf, size_t *len_p,
			const char *what)
{
	char err[256];
	uint8_t w[4];
	uint32_t len;

	if (rb_sock_read(b, w, sizeof(w)))
		return -1;
	len = (uint32_t)w[0] << 24 | (uint32_t)w[1] << 16 |
	      (uint32_t)w[2] << 8 | w[3];
	if (perf_blob_len_check(len, what, err, sizeof(err))) {
		fprintf(stderr, "%s: %s\n", rb_name(b), err);
		return -1;
	}
	if (rb_sock_read(b, buf, len))
		return -1;
	*len_p = len;
	return 0;
}

/* Endpoints 1..n-1 beside perf_common's (0): create, swap addresses over
 * the socket (all ours out first, then all the peer's in), connect. */
static int rb_more_eps(struct rb *b, struct sk_ep **eps, unsigned n)
{
	uint8_t addr[SK_BLOB_MAX];
	size_t len;
	sk_status_t st;
	unsigned i;

	for (i = 1; i < n; i++) {
		len = sizeof(addr);
		st = sk_ep_create(b->c.dev, &eps[i]);
		if (st == SK_OK)
			st = sk_ep_addr_pack(eps[i], addr, &len);
		if (st != SK_OK)
			goto err_st;
		if (rb_send_blob(b, addr, len))
			goto err;
	}
	for (i = 1; i < n; i++) {
		if (rb_recv_blob(b, addr, &len, "an endpoint address"))
			goto err;
		st = sk_ep_connect(eps[i], addr, len);
		if (st != SK_OK)
			goto err_st;
	}
	return 0;
err_st:
	fprintf(stderr, "%s: endpoint %u: %s\n", rb_name(b), i,
		sk_status_str(st));
err:
	for (i = 1; i < n; i++) {
		sk_ep_destroy(eps[i]); /* NULL if never made */
		eps[i] = NULL;
	}
	return -1;
}

/*
 * Loop, arena and rpc over perf_common's device, with @npeers peers: the
 * first over perf_common's endpoint, the others over endpoints made here.
 * Both sides add them in the same order.
 */
static int rb_setup(struct rb *b, unsigned npeers)
{
	struct perf_ctx *c = &b->c;
	struct sk_ep *eps[RB_MAX_PEERS] = {0};
	sk_status_t st;
	unsigned i;

	sk_rkey_destroy(c->rkey); /* before its endpoint goes */
	c->rkey = NULL;
	eps[0] = c->ep;
	c->ep = NULL;
	if (rb_more_eps(b, eps, npeers)) {
		sk_ep_destroy(eps[0]);
		return -1;
	}
	if ((st = sk_loop_create(c->dev, &b->loop)) != SK_OK ||
	    (st = sk_arena_create(c->dev, 0, SK_ACCESS_ALL, &b->arena)) !=
		    SK_OK ||
	    (st = sk_rpc_create(b->loop, b->arena, &b->rpc)) != SK_OK ||
	    (c->is_server &&
	     ((st = sk_rpc_register(b->rpc, RB_HANDLER_STOP, rb_stop, b)) !=
		      SK_OK ||
	      (st = sk_rpc_register(b->rpc, RB_HANDLER_SIZED, rb_sized,
				    b)) != SK_OK ||
	      (st = sk_rpc_register(b->rpc, RB_HANDLER_ECHO, rb_echo, b)) !=
		      SK_OK))) {
		fprintf(stderr, "%s: cannot create the loop, arena or rpc: "
				"%s\n", rb_name(b), sk_status_str(st));
		for (i = 0; i < npeers; i++)
			sk_ep_destroy(eps[i]);
		return -1;
	}
	for (i = 0; i < npeers; i++) {
		st = sk_rpc_peer_add(b->rpc, eps[i], RB_ADD_MS, &b->peer[i]);
		eps[i] = NULL; /* the rpc's now, even on failure */
		if (st != SK_OK) {
			fprintf(stderr, "%s: sk_rpc_peer_add (peer %u): %s\n",
				rb_name(b), i, sk_status_str(st));
			while (++i < npeers)
				sk_ep_destroy(eps[i]);
			return -1;
		}
		b->npeers++;
	}
	return 0;
}

static void rb_teardown(struct rb *b)
{
	if (b->rpc)
		sk_rpc_destroy(b->rpc); /* removes the peers */
	sk_arena_destroy(b->arena);
	if (b->loop)
		sk_loop_destroy(b->loop);
	perf_ctx_cleanup(&b->c);
}

/*
 * Server: serve until the client's stop call (so that a run ends at the
 * same point however long it was: rpc-callgrind.sh subtracts two runs),
 * then answer the client's "done" with the number of calls served. The
 * socket is looked at every RB_SOCK_EVERY turns: before the stop call,
 * anything there means the client went away.
 */
static int rb_serve(struct rb *b)
{
	struct pollfd pfd = {.fd = b->c.sock, .events = POLLIN};
	struct sk_rpc_stats st;
	uint64_t cmd;

	while (!b->stop) {
		int n = sk_loop_run_once(b->loop, 0);

		if (n < 0) {
			fprintf(stderr, "%s: the loop failed: %s\n", rb_name(b),
				sk_status_str((sk_status_t)n));
			return -1;
		}
		b->turns++;
		b->idle_turns += n == 0;
		if (b->turns % RB_SOCK_EVERY == 0 && poll(&pfd, 1, 0) > 0) {
			fprintf(stderr, "%s: the client went away or failed "
					"(see its messages)\n", rb_name(b));
			return -1;
		}
	}
	if (rb_recv_u64(b, &cmd))
		return -1;
	if (cmd != RB_CMD_DONE) {
		fprintf(stderr, "%s: unexpected word 0x%llx from the client\n",
			rb_name(b), (unsigned long long)cmd);
		return -1;
	}
	sk_rpc_stats(b->rpc, &st);
	if (rb_send_u64(b, st.served))
		return -1;
	printf("%s: server: served %llu calls in %lu loop turns (%lu "
	       "empty)%s\n", rb_name(b), (unsigned long long)st.served,
	       b->turns, b->idle_turns,
	       b->resp_fail ? "; some responses failed" : "");
	for (unsigned i = 0; i < b->npeers; i++)
		if (sk_rpc_peer_failed(b->peer[i])) {
			fprintf(stderr, "%s: server: peer %u failed\n",
				rb_name(b), i);
			return -1;
		}
	return b->resp_fail ? -1 : 0;
}

/* Client: the stop call, then "done" over TCP; the server must have
 * served our @calls and the stop call. */
static int rb_done(struct rb *b, uint64_t calls)
{
	uint64_t served;
	int status;

	status = sk_rpc_call_sync(b->peer[0], RB_HANDLER_STOP, NULL, 0, NULL,
				  0, NULL);
	if (status != 0) {
		fprintf(stderr, "%s: the stop call failed: %d\n", rb_name(b),
			status);
		return -1;
	}
	if (rb_send_u64(b, RB_CMD_DONE) || rb_recv_u64(b, &served))
		return -1;
	if (served != calls + 1) {
		fprintf(stderr, "%s: the server served %llu calls, we made "
				"%llu\n", rb_name(b),
			(unsigned long long)served,
			(unsigned long long)calls + 1);
		return -1;
	}
	return 0;
}

/* ---- rpc_lat ---- */

struct lat_call {
	int         done;
	int         status;
	size_t      len;
	const void *check;    /* compare the response with this (warm-up) */
	int         mismatch;
};

static void lat_cont(void *arg, int status, const void *resp, size_t len)
{
	struct lat_call *k = arg;

	k->done = 1;
	k->status = status;
	k->len = len;
	if (k->check && status >= 0 && len > 0 &&
	    memcmp(resp, k->check, len) != 0)
		k->mismatch = 1;
}

/* One call, waited for by busy-polling the loop. Its record is static: a
 * call abandoned on an error completes later, when teardown removes the
 * peer (with -ECONNRESET), after this function has returned. */
static int lat_call(struct rb *b, void *req, size_t size, void *resp,
		    int check)
{
	static struct lat_call k;
	sk_status_t st;

	k = (struct lat_call){.check = check ? req : NULL};
	st = sk_rpc_call(b->peer[0],
			 check ? RB_HANDLER_ECHO : RB_HANDLER_SIZED, req, size,
			 resp, resp ? size : 0, lat_cont, &k);
	if (st != SK_OK) {
		fprintf(stderr, "rpc_lat: sk_rpc_call: %s\n",
			sk_status_str(st));
		return -1;
	}
	while (!k.done) {
		int n = sk_loop_run_once(b->loop, 0);

		if (n < 0) {
			fprintf(stderr, "rpc_lat: the loop failed: %s\n",
				sk_status_str((sk_status_t)n));
			return -1;
		}
		if (n == 0 && perf_ctx_peer_gone(&b->c))
			return -1;
	}
	if (k.status != 0 || k.len != size || k.mismatch) {
		fprintf(stderr, "rpc_lat: a %zu-byte call came back with "
				"status %d, %zu bytes%s\n", size, k.status,
			k.len, k.mismatch ? ", not the bytes sent" : "");
		return -1;
	}
	return 0;
}

/*
 * One size: warm-up, then iters timed calls; @ts gets iters + 1 times.
 * After a failed call the buffers are left alone (the call may still own
 * them until teardown removes the peer; the arena goes then).
 */
static int lat_run(struct rb *b, size_t size, unsigned long warm,
		   uint64_t *ts, uint64_t *calls)
{
	unsigned long iters = b->c.opts.iters;
	void *req = sk_rpc_buf_alloc(b->rpc, size);
	void *resp = NULL;

	/* The response comes in place up to SK_RPC_INLINE_MAX; a larger one
	 * is written by the server into a registered buffer of ours. */
	if (size > SK_RPC_INLINE_MAX)
		resp = sk_rpc_buf_alloc(b->rpc, size);
	if (req == NULL || (size > SK_RPC_INLINE_MAX && resp == NULL)) {
		fprintf(stderr, "rpc_lat: no rpc buffer of %zu bytes\n", size);
		sk_rpc_buf_free(b->rpc, req);
		sk_rpc_buf_free(b->rpc, resp);
		return -1;
	}
	perf_fill(req, size, size);
	for (unsigned long i = 0; i < warm; i++)
		if (lat_call(b, req, size, resp, 1))
			return -1;
	for (unsigned long i = 0; i < iters; i++) {
		ts[i] = perf_now_ns();
		if (lat_call(b, req, size, resp, 0))
			return -1;
	}
	ts[iters] = perf_now_ns();
	*calls += warm + iters;
	sk_rpc_buf_free(b->rpc, req);
	sk_rpc_buf_free(b->rpc, resp);
	return 0;
}

int main(int argc, char **argv)
{
	struct rb b = {0};
	struct perf_opts o;
	size_t sizes[2] = {32, 4096}, nsizes = 2;
	double half[2][2];
	unsigned long warm;
	uint64_t *ts = NULL, calls = 0;
	int ret;

	ret = perf_opts_parse(&o, &rpc_lat_tool, argc, argv);
	if (ret == PERF_EXIT_OK)
		printf("\nrpc_lat: without -s the client runs 32 and then 4096 "
		       "bytes; -s 0 is the null RPC; at most %u bytes.\n"
		       "Latencies are full round trips (half of them are "
		       "printed after the table).\n", SK_RPC_MSG_MAX);
	if (ret >= 0)
		return ret;
	if (o.size > SK_RPC_MSG_MAX) {
		fprintf(stderr, "rpc_lat: bad size '%zu': an rpc message is at "
				"most %u bytes\n", o.size, SK_RPC_MSG_MAX);
		return PERF_EXIT_USAGE;
	}
	if (rb_opt_given(argc, argv, 's', "size")) {
		sizes[0] = o.size;
		nsizes = 1;
	}
	ret = perf_ctx_init(&b.c, &o);
	if (ret)
		return ret;
	ret = PERF_EXIT_FAIL;
	if (b.c.opts.size > SK_RPC_MSG_MAX) { /* a client checked already */
		fprintf(stderr, "rpc_lat: the client asked for %zu bytes; an "
				"rpc message is at most %u\n", b.c.opts.size,
			SK_RPC_MSG_MAX);
		goto out;
	}
	if (rb_setup(&b, 1))
		goto out;
	perf_ctx_print_header(&b.c);
	if (b.c.is_server) {
		if (rb_serve(&b) == 0)
			ret = PERF_EXIT_OK;
		goto out;
	}
	warm = b.c.opts.iters / 10 < 10 ? 10 : b.c.opts.iters / 10;
	printf(" Full round trip per call: request sent to response received,"
	       " one call at a time\n (%lu untimed warm-up calls per size, "
	       "checked byte for byte).\n", warm);
	ts = calloc(b.c.opts.iters + 1, sizeof(*ts));
	if (ts == NULL) {
		fprintf(stderr, "rpc_lat: out of memory\n");
		goto out;
	}
	perf_lat_print_head();
	for (size_t i = 0; i < nsizes; i++) {
		unsigned long n = b.c.opts.iters;
		uint64_t sum = 0;

		if (lat_run(&b, sizes[i], warm, ts, &calls))
			goto out;
		for (unsigned long k = 0; k < n; k++) {
			ts[k] = ts[k + 1] - ts[k];
			sum += ts[k];
		}
		perf_lat_print_row(sizes[i], n, ts, n, 1);
		/* perf_lat_print_row sorted the samples. */
		half[i][0] = (double)ts[n / 2] / 2000.0;
		half[i][1] = (double)sum / (double)n / 2000.0;
	}
	perf_print_line();
	printf(" Half round trip (what osu_latency and ucx_perftest *_lat "
	       "print):\n #bytes  half_t_typical[usec]  half_t_avg[usec]\n");
	for (size_t i = 0; i < nsizes; i++)
		printf(" half %-7zu %-7.2f               %-7.2f\n", sizes[i],
		       half[i][0], half[i][1]);
	perf_print_line();
	if (rb_done(&b, calls) == 0)
		ret = PERF_EXIT_OK;
out:
	free(ts);
	rb_teardown(&b);
	return ret;
}
