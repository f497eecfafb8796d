/*
 * sk_conn_rate: how fast two processes make working connections.
 *
 * Each iteration, as libos connects two nodes through the host: the client
 * creates an endpoint and sends its packed address over the TCP socket;
 * the server creates one, connects it to that address and sends its own;
 * the client connects, imports the server's buffer key on the new
 * endpoint, and proves the connection with one signaled 8-byte RDMA write.
 * Then the client says "next" over the socket and both destroy the
 * endpoint. The socket's round trips are part of the cost, as the host's
 * relay is part of a node's.
 *
 * Reported on the client, in perftest's latency table (the "size" column
 * is the write's 8 bytes): the time of each whole iteration, and
 * connections per second from the mean. On the rdma provider
 * SKIFF_RDMA_CONNECT=cm or blob picks the connection path;
 * perf/compare-connect.sh runs both in one guest boot.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "perf_common.h"

static const struct perf_tool conn_rate_tool = {
	.name = "sk_conn_rate",
	.title = "Connection Setup Rate Test",
	.test = PERF_TEST_CONN_RATE,
	.opts = 0,
	.def_size = 8,
	.def_iters = 200,
	.min_iters = 2,
	.min_size = 8,
	.slots = 1,
};

#define CONN_WAIT_MS 20000

/* One iteration's endpoint; everything undone on any failure. */
static int conn_once(struct perf_ctx *c, const void *desc, size_t desc_len)
{
	char mine[SK_BLOB_MAX], theirs[SK_BLOB_MAX];
	size_t mlen = sizeof(mine), tlen;
	struct sk_rkey *rkey = NULL;
	struct sk_ep *ep = NULL;
	struct sk_wc wc;
	uint32_t next;
	sk_status_t st;
	int ret = -1;

	st = sk_ep_create(c->dev, &ep);
	if (st != SK_OK) {
		fprintf(stderr, "sk_conn_rate: cannot create an endpoint: %s\n",
			sk_status_str(st));
		return -1;
	}
	if ((st = sk_ep_addr_pack(ep, mine, &mlen)) != SK_OK)
		goto out;
	if (!c->is_server) {
		if (perf_sock_blob_send(&c->sock, mine, mlen) ||
		    perf_sock_blob_recv(&c->sock, theirs, sizeof(theirs), &tlen,
					CONN_WAIT_MS, "the server's address"))
			goto out;
		if ((st = sk_ep_connect(ep, theirs, tlen)) != SK_OK ||
		    (st = sk_rkey_unpack(ep, desc, desc_len, &rkey)) != SK_OK)
			goto out;
		while ((st = sk_post_write(ep, c->mr, perf_ctx_slot(c, 0), 8,
					   rkey, sk_rkey_addr(rkey), 0,
					   NULL)) == SK_ERR_AGAIN)
			if (perf_ctx_progress(c, "write") < 0)
				goto out;
		if (st != SK_OK || perf_ctx_wait_one(c, &wc, "write"))
			goto out;
		ret = perf_sock_send_u32(&c->sock, 1);
	} else {
		if (perf_sock_blob_recv(&c->sock, theirs, sizeof(theirs), &tlen,
					CONN_WAIT_MS, "the client's address"))
			goto out;
		if ((st = sk_ep_connect(ep, theirs, tlen)) != SK_OK ||
		    perf_sock_blob_send(&c->sock, mine, mlen) ||
		    perf_sock_recv_u32(&c->sock, &next, CONN_WAIT_MS,
				       "the client's next"))
			goto out;
		ret = 0;
	}
out:
	if (st != SK_OK)
		fprintf(stderr, "sk_conn_rate: connection setup failed: %s\n",
			sk_status_str(st));
	if (rkey)
		sk_rkey_destroy(rkey);
	sk_ep_destroy(ep);
	return ret;
}

int main(int argc, char **argv)
{
	struct perf_ctx c;
	char desc[SK_BLOB_MAX];
	size_t desc_len = sizeof(desc);
	uint64_t *ts;
	unsigned long n;
	double mean = 0;
	int ret;

	ret = perf_ctx_start_lat(&c, &conn_rate_tool, argc, argv, 1, &ts);
	if (ret >= 0)
		return ret;
	ret = PERF_EXIT_FAIL;
	/* Our buffer's descriptor, which the client imports on each new
	 * endpoint (a key belongs to an endpoint). */
	if (sk_mr_pack(c.mr, desc, &desc_len) != SK_OK)
		goto out_free;
	if (c.is_server) {
		if (perf_sock_blob_send(&c.sock, desc, desc_len))
			goto out_free;
	} else if (perf_sock_blob_recv(&c.sock, desc, sizeof(desc), &desc_len,
				       CONN_WAIT_MS, "the server's buffer")) {
		goto out_free;
	}
	printf(" transport: %s\n", c.attr.transport);
	perf_lat_print_head();
	n = c.opts.iters;
	for (unsigned long i = 0; i < n; i++) {
		uint64_t t0 = perf_now_ns();

		if (conn_once(&c, desc, desc_len))
			goto out_free;
		ts[i] = perf_now_ns() - t0;
		mean += (double)ts[i] / (double)n;
	}
	perf_lat_print_row(8, n, ts, n, 1);
	perf_print_line();
	if (!c.is_server)
		printf(" connections/s: %.0f\n", mean > 0 ? 1e9 / mean : 0.0);
	if (perf_ctx_sync(&c) == 0)
		ret = PERF_EXIT_OK;
out_free:
	free(ts);
	perf_ctx_cleanup(&c);
	return ret;
}
