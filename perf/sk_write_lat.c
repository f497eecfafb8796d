/*
 * sk_write_lat: RDMA write latency over Skiff verbs, measured the way
 * perftest's ib_write_lat does it.
 *
 * The two sides play ping-pong with RDMA writes: each writes the message
 * into the other's receive buffer with the iteration number in its last
 * byte, and the other spins on that byte before it writes back (the client
 * starts). The samples are the times between a side's consecutive posts,
 * one round trip each, and the report is half of them, as ib_write_lat's.
 * Both sides report.
 *
 * Polling memory for the last byte is not a visibility contract of Skiff
 * (write-with-immediate is); it is what perftest measures, so we do the
 * same. The spin loop polls the device, so the ucx provider progresses,
 * and the writes are unsignaled: only errors complete, and the providers
 * retire the send queue by themselves (SK_ERR_AGAIN: poll and retry).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "perf_common.h"

#define WRITE_LAT_MEM_SPINS 256

static const struct perf_tool write_lat_tool = {
	.name = "sk_write_lat",
	.title = "RDMA_Write Latency Test",
	.test = PERF_TEST_WRITE_LAT,
	.opts = PERF_OPT_ALL,
	.def_size = 2,
	.def_iters = 1000,
	.min_iters = 2,  /* samples are differences of post times */
	.min_size = 1,
	.slots = 2,      /* 0: what we write, 1: where the peer writes */
};

static int write_lat_post(struct perf_ctx *c, const void *src, size_t size,
			  uint64_t raddr)
{
	sk_status_t st;

	while ((st = sk_post_write(c->ep, c->mr, src, size, c->rkey, raddr,
				   SK_POST_UNSIGNALED, NULL)) == SK_ERR_AGAIN)
		if (perf_ctx_progress(c, "write") < 0)
			return -1;
	if (st != SK_OK) {
		fprintf(stderr, "sk_write_lat: cannot post a write: %s\n",
			sk_status_str(st));
		return -1;
	}
	return 0;
}

/*
 * Spin until the peer's write shows @want in the last byte. The ucx
 * provider may need our progress for the peer's write to land at all, so
 * with it every spin polls the device; with rdma the NIC writes, and the
 * device is polled (send queue retirement, errors) only every
 * WRITE_LAT_MEM_SPINS looks at memory, as perftest's loop reads memory
 * alone.
 */
static int write_lat_wait(struct perf_ctx *c, volatile uint8_t *poll,
			  uint8_t want)
{
	unsigned spins = 0;

	while (*poll != want)
		if ((c->progress_peer || ++spins % WRITE_LAT_MEM_SPINS == 0) &&
		    (perf_ctx_progress(c, "write") < 0 ||
		     perf_ctx_peer_gone(c)))
			return -1;
	return 0;
}

/* One size: @iters post times into @ts. */
static int write_lat_run(struct perf_ctx *c, size_t size, uint64_t *ts)
{
	uint8_t *src = perf_ctx_slot(c, 0);
	volatile uint8_t *post = src + size - 1;
	volatile uint8_t *poll = (uint8_t *)perf_ctx_slot(c, 1) + size - 1;
	uint64_t raddr = perf_ctx_rslot(c, 1);
	unsigned long iters = c->opts.iters, scnt = 0, rcnt = 0;
	struct sk_wc wc;

	/* The peer's writes of the previous size have all landed (we saw
	 * its last one), so clearing is safe before the barrier. */
	memset(src, 0, size);
	memset(perf_ctx_slot(c, 1), 0, size);
	if (perf_ctx_sync(c))
		return -1;
	while (scnt < iters || rcnt < iters) {
		/* As ib_write_lat: the client writes first. */
		if (rcnt < iters && !(scnt < 1 && !c->is_server)) {
			uint8_t want = (uint8_t)++rcnt;

			if (write_lat_wait(c, poll, want))
				return -1;
		}
		if (scnt < iters) {
			ts[scnt] = perf_now_ns();
			*post = (uint8_t)++scnt;
			/* One poll per post retires the send queue, as
			 * perftest polls its CQ once per iteration. */
			if (write_lat_post(c, src, size, raddr) ||
			    perf_ctx_progress(c, "write") < 0)
				return -1;
		}
	}
	/* Retire the unsignaled writes before the next size or teardown. */
	while (sk_ep_flush(c->ep, NULL) == SK_ERR_AGAIN)
		if (perf_ctx_progress(c, "flush") < 0)
			return -1;
	return perf_ctx_wait_one(c, &wc, "flush");
}

int main(int argc, char **argv)
{
	struct perf_ctx c;
	size_t sizes[32];
	unsigned nsizes;
	uint64_t *ts;
	int ret;

	ret = perf_ctx_start_lat(&c, &write_lat_tool, argc, argv, 0, &ts);
	if (ret >= 0)
		return ret;
	ret = PERF_EXIT_FAIL;
	perf_lat_print_head();
	nsizes = perf_opts_sizes(&c.opts, sizes);
	for (unsigned i = 0; i < nsizes; i++) {
		unsigned long n = c.opts.iters - 1;

		if (write_lat_run(&c, sizes[i], ts))
			goto out_free;
		for (unsigned long k = 0; k < n; k++)
			ts[k] = ts[k + 1] - ts[k];
		perf_lat_print_row(sizes[i], c.opts.iters, ts, n, 2);
	}
	perf_print_line();
	if (perf_ctx_sync(&c) == 0)
		ret = PERF_EXIT_OK;
out_free:
	free(ts);
	perf_ctx_cleanup(&c);
	return ret;
}
