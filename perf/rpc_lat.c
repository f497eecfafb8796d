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

#include "rpc_bench.h"

/* Not in perf_common's enum perf_test: the hello only needs an id no other
 * tool uses, so that an rpc_lat client refuses an sk_* server. */
#define RPC_LAT_TEST     ((enum perf_test)16)

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
	ret = rb_start(&b, &o, SK_RPC_MSG_MAX, "an rpc message is at most", 1);
	if (ret >= 0)
		return ret;
	ret = PERF_EXIT_FAIL;
	warm = rb_warmup(b.c.opts.iters);
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
