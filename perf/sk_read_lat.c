/*
 * sk_read_lat: RDMA read latency over Skiff verbs, measured the way
 * perftest's ib_read_lat does it.
 *
 * The client reads the message from the server's buffer, one read at a
 * time, and waits for each completion; a sample is one whole round trip
 * (ib_read_lat does not halve it). The server is passive: it fills its
 * buffer with a pattern the client checks once per size, then waits on
 * the socket for the client to finish, polling the device meanwhile when
 * the provider needs the target to progress (ucx).
 */
#include <stdio.h>
#include <stdlib.h>

#include "perf_common.h"

static const struct perf_tool read_lat_tool = {
	.name = "sk_read_lat",
	.title = "RDMA_Read Latency Test",
	.test = PERF_TEST_READ_LAT,
	.opts = PERF_OPT_ALL | PERF_OPT_CHAIN,
	.def_size = 2,
	.def_iters = 1000,
	.min_iters = 1,
	.min_size = 1,
	.slots = 1,      /* client: the read lands here; server: the source */
};

/*
 * Client: @iters reads of @size, each waited for. As ib_read_lat, a sample
 * is the time between two consecutive posts (@ns has iters + 1 entries;
 * the last is the end): one clock read per sample, which matters where
 * clock_gettime is a system call (about 1 us in the TCG guest, where the
 * clocksource is the HPET). With --chain N a sample is N reads, each
 * posted once the one before it completed: the floor of a lookup whose
 * reads depend on each other (kv's GET: its bucket pair, then the item).
 */
static int read_one(struct perf_ctx *c, void *dst, size_t size,
		    uint64_t raddr)
{
	struct sk_wc wc;
	sk_status_t st;

	while ((st = sk_post_read(c->ep, c->mr, dst, size, c->rkey, raddr, 0,
				  NULL)) == SK_ERR_AGAIN)
		if (perf_ctx_progress(c, "read") < 0)
			return -1;
	if (st != SK_OK) {
		fprintf(stderr, "sk_read_lat: cannot post a read: %s\n",
			sk_status_str(st));
		return -1;
	}
	return perf_ctx_wait_one(c, &wc, "read") ? -1 : 0;
}

static int read_lat_run(struct perf_ctx *c, size_t size, uint64_t *ns)
{
	void *dst = perf_ctx_slot(c, 0);
	uint64_t raddr = perf_ctx_rslot(c, 0);
	long bad;

	for (unsigned long i = 0; i < c->opts.iters; i++) {
		ns[i] = perf_now_ns();
		for (unsigned j = 0; j < c->opts.chain; j++)
			if (read_one(c, dst, size, raddr))
				return -1;
	}
	ns[c->opts.iters] = perf_now_ns();
	for (unsigned long i = 0; i < c->opts.iters; i++)
		ns[i] = ns[i + 1] - ns[i];
	bad = perf_check(dst, size, size);
	if (bad >= 0) {
		fprintf(stderr, "sk_read_lat: the data read at %zu bytes "
				"differs from the server's at offset %ld\n",
			size, bad);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct perf_ctx c;
	size_t sizes[32];
	unsigned nsizes;
	uint64_t *ns;
	int ret;

	ret = perf_ctx_start_lat(&c, &read_lat_tool, argc, argv, 1, &ns);
	if (ret >= 0)
		return ret;
	ret = PERF_EXIT_FAIL;
	if (!c.is_server)
		perf_lat_print_head();
	nsizes = perf_opts_sizes(&c.opts, sizes);
	for (unsigned i = 0; i < nsizes; i++) {
		/* The server fills the size's pattern before the barrier;
		 * then it just waits for the next barrier. */
		if (c.is_server)
			perf_fill(perf_ctx_slot(&c, 0), sizes[i], sizes[i]);
		if (perf_ctx_sync(&c))
			goto out_free;
		if (c.is_server)
			continue;
		if (read_lat_run(&c, sizes[i], ns))
			goto out_free;
		perf_lat_print_row(sizes[i], c.opts.iters, ns, c.opts.iters,
				   1);
	}
	perf_print_line();
	if (perf_ctx_sync(&c) == 0)
		ret = PERF_EXIT_OK;
out_free:
	free(ns);
	perf_ctx_cleanup(&c);
	return ret;
}
