/*
 * sk_write_bw: RDMA write bandwidth over Skiff verbs, measured the way
 * perftest's ib_write_bw does it.
 *
 * The client keeps up to -t writes outstanding (default 128) and asks for
 * a completion every cq_mod = min(100, -t) of them, as perftest does; a
 * signaled completion covers the unsignaled writes before it (in-order
 * completion on an endpoint), and the last write is always signaled, so
 * when it completes every byte is visible at the server. Average
 * bandwidth is bytes over the time from the first post to the last
 * completion; peak is perftest's: the best of (completion of j - post of
 * i) / (j - i + 1) over i and the signaled j after it. MB = 2^20 bytes.
 *
 * The server only waits on the socket for the client to be done (polling
 * the device meanwhile if the provider needs the target to progress).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "perf_common.h"

#define WRITE_BW_CQ_MOD     100
#define WRITE_BW_PEAK_WORK  50000000.0 /* bound on the peak search */

static const struct perf_tool write_bw_tool = {
	.name = "sk_write_bw",
	.title = "RDMA_Write BW Test",
	.test = PERF_TEST_WRITE_BW,
	.opts = PERF_OPT_ALL | PERF_OPT_TX_DEPTH,
	.def_size = 65536,
	.def_iters = 5000,
	.min_iters = 1,
	.min_size = 1,
	.slots = 1,      /* client: the source; server: the target */
};

struct write_bw_times {
	uint64_t *posted;
	uint64_t *completed;
};

static int write_bw_run(struct perf_ctx *c, size_t size,
			struct write_bw_times *t, unsigned cq_mod)
{
	unsigned long iters = c->opts.iters, posted = 0, done = 0;
	const void *src = perf_ctx_slot(c, 0);
	uint64_t raddr = perf_ctx_rslot(c, 0);
	struct sk_wc wc[16];
	int n;

	while (done < iters) {
		while (posted < iters && posted - done < c->opts.tx_depth) {
			int sig = (posted + 1) % cq_mod == 0 ||
				  posted + 1 == iters;
			sk_status_t st;

			t->posted[posted] = perf_now_ns();
			st = sk_post_write(c->ep, c->mr, src, size, c->rkey,
					   raddr, sig ? 0 : SK_POST_UNSIGNALED,
					   (void *)(uintptr_t)(posted + 1));
			if (st == SK_ERR_AGAIN)
				break; /* send queue full: poll first */
			if (st != SK_OK) {
				fprintf(stderr, "sk_write_bw: cannot post a "
						"write: %s\n",
					sk_status_str(st));
				return -1;
			}
			posted++;
		}
		n = perf_ctx_poll(c, wc, 16, "write");
		if (n < 0)
			return -1;
		if (n == 0 && perf_ctx_peer_gone(c))
			return -1;
		for (int i = 0; i < n; i++) {
			unsigned long upto = (uintptr_t)wc[i].ctx;
			uint64_t now = perf_now_ns();

			if (wc[i].opcode != SK_OP_WRITE || upto <= done ||
			    upto > posted) {
				fprintf(stderr, "sk_write_bw: unexpected %s "
						"completion (%lu, done %lu)\n",
					sk_opcode_str(wc[i].opcode), upto,
					done);
				return -1;
			}
			while (done < upto)
				t->completed[done++] = now;
		}
	}
	return 0;
}

/* perftest's peak: the shortest time per message between a post and a
 * later signaled completion. Subsampled when iters is huge. */
static double write_bw_peak_ns(const struct write_bw_times *t,
			       unsigned long iters, unsigned cq_mod)
{
	double work = (double)iters * ((double)iters / cq_mod) / 2;
	unsigned long step = work > WRITE_BW_PEAK_WORK
			     ? (unsigned long)(work / WRITE_BW_PEAK_WORK) + 1
			     : 1;
	double best = 0;

	for (unsigned long i = 0; i < iters; i += step) {
		unsigned long j = (i / cq_mod + 1) * cq_mod - 1;

		for (;; j += cq_mod) {
			double d;

			if (j >= iters)
				j = iters - 1; /* the last write is signaled */
			d = (double)(t->completed[j] - t->posted[i]) /
			    (double)(j - i + 1);
			if (best == 0 || d < best)
				best = d;
			if (j == iters - 1)
				break;
		}
	}
	return best;
}

static void write_bw_report(const struct write_bw_times *t, size_t size,
			    unsigned long iters, unsigned cq_mod)
{
	double total = (double)(t->completed[iters - 1] - t->posted[0]) / 1e9;
	double peak = write_bw_peak_ns(t, iters, cq_mod) / 1e9;
	double mb = (double)size / (1 << 20);

	perf_bw_print_row(size, iters, peak > 0 ? mb / peak : 0,
			  total > 0 ? mb * (double)iters / total : 0,
			  total > 0 ? (double)iters / total / 1e6 : 0);
}

int main(int argc, char **argv)
{
	struct write_bw_times t = {NULL, NULL};
	struct perf_ctx c;
	size_t sizes[32];
	unsigned nsizes, cq_mod;
	int ret;

	ret = perf_ctx_start(&c, &write_bw_tool, argc, argv);
	if (ret >= 0)
		return ret;
	ret = PERF_EXIT_FAIL;
	cq_mod = c.opts.tx_depth < WRITE_BW_CQ_MOD ? c.opts.tx_depth
						   : WRITE_BW_CQ_MOD;
	t.posted = calloc(c.opts.iters, sizeof(*t.posted));
	t.completed = calloc(c.opts.iters, sizeof(*t.completed));
	if (t.posted == NULL || t.completed == NULL) {
		fprintf(stderr, "sk_write_bw: out of memory\n");
		goto out_free;
	}
	perf_ctx_print_header(&c);
	if (!c.is_server)
		perf_bw_print_head();
	nsizes = perf_opts_sizes(&c.opts, sizes);
	for (unsigned i = 0; i < nsizes; i++) {
		if (perf_ctx_sync(&c))
			goto out_free;
		if (c.is_server)
			continue; /* wait at the next barrier */
		if (write_bw_run(&c, sizes[i], &t, cq_mod))
			goto out_free;
		write_bw_report(&t, sizes[i], c.opts.iters, cq_mod);
	}
	perf_print_line();
	if (perf_ctx_sync(&c) == 0)
		ret = PERF_EXIT_OK;
out_free:
	free(t.completed);
	free(t.posted);
	perf_ctx_cleanup(&c);
	return ret;
}
