/*
 * sk_atomic_lat: latency of 8-byte remote atomics over Skiff verbs,
 * measured the way perftest's ib_atomic_lat does it.
 *
 * The client runs fetch-and-add (default) or compare-and-swap on one word
 * of the server's buffer, one at a time, waiting for each completion; a
 * sample is one whole round trip, as ib_atomic_lat reports. Only the
 * client touches the word, so every result is known in advance and is
 * checked: fetch-and-add by 1 returns the iteration number, and each
 * compare-and-swap expects the iteration number and writes the next one.
 * The server waits on the socket, polling the device if the provider needs
 * the target to progress (ucx emulates atomics with active messages).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "perf_common.h"

enum {
	ATOMIC_TARGET = 0, /* scratch word the client works on (server's) */
	ATOMIC_RESULT = 1, /* scratch word the old value lands in */
};

static const struct perf_tool atomic_lat_tool = {
	.name = "sk_atomic_lat",
	.title = "Atomic Latency Test",
	.test = PERF_TEST_ATOMIC_LAT,
	.opts = PERF_OPT_ALL | PERF_OPT_ATOMIC,
	.def_size = 8,
	.def_iters = 1000,
	.min_iters = 1,
	.min_size = 8,
	.slots = 1,
};

static sk_status_t atomic_lat_post(struct perf_ctx *c, uint64_t i)
{
	uint64_t *result = perf_ctx_word(c, ATOMIC_RESULT);
	uint64_t raddr = perf_ctx_rword(c, ATOMIC_TARGET);

	if (c->opts.atomic == PERF_ATOMIC_CAS)
		return sk_post_cas(c->ep, c->mr, result, c->rkey, raddr, i,
				   i + 1, 0, NULL);
	return sk_post_fadd(c->ep, c->mr, result, c->rkey, raddr, 1, 0, NULL);
}

/* @iters atomics, each waited for; samples are the times between
 * consecutive posts, as in ib_atomic_lat (@ns has iters + 1 entries). */
static int atomic_lat_run(struct perf_ctx *c, uint64_t *ns)
{
	volatile uint64_t *result = perf_ctx_word(c, ATOMIC_RESULT);
	struct sk_wc wc;

	for (unsigned long i = 0; i < c->opts.iters; i++) {
		sk_status_t st;

		*result = ~0ull;
		ns[i] = perf_now_ns();
		while ((st = atomic_lat_post(c, i)) == SK_ERR_AGAIN)
			if (perf_ctx_progress(c, "atomic") < 0)
				return -1;
		if (st != SK_OK) {
			fprintf(stderr, "sk_atomic_lat: cannot post an atomic: "
					"%s\n", sk_status_str(st));
			return -1;
		}
		if (perf_ctx_wait_one(c, &wc, "atomic"))
			return -1;
		if (*result != i) {
			fprintf(stderr, "sk_atomic_lat: iteration %lu: the "
					"atomic returned %" PRIu64 ", expected "
					"%lu\n", i, (uint64_t)*result, i);
			return -1;
		}
	}
	ns[c->opts.iters] = perf_now_ns();
	for (unsigned long i = 0; i < c->opts.iters; i++)
		ns[i] = ns[i + 1] - ns[i];
	return 0;
}

int main(int argc, char **argv)
{
	struct perf_ctx c;
	uint64_t *ns;
	int ret;

	ret = perf_ctx_start_lat(&c, &atomic_lat_tool, argc, argv, 1, &ns);
	if (ret >= 0)
		return ret;
	ret = PERF_EXIT_FAIL;
	if (c.is_server) {
		/* The target starts at 0; the client's checks rely on it. */
		*perf_ctx_word(&c, ATOMIC_TARGET) = 0;
	} else {
		perf_lat_print_head();
	}
	if (perf_ctx_sync(&c))
		goto out_free;
	if (!c.is_server) {
		if (atomic_lat_run(&c, ns))
			goto out_free;
		perf_lat_print_row(8, c.opts.iters, ns, c.opts.iters, 1);
	}
	perf_print_line();
	if (perf_ctx_sync(&c))
		goto out_free;
	if (c.is_server && *perf_ctx_word(&c, ATOMIC_TARGET) != c.opts.iters) {
		fprintf(stderr, "sk_atomic_lat: the target word is %" PRIu64
				" after the test, expected %lu\n",
			*perf_ctx_word(&c, ATOMIC_TARGET), c.opts.iters);
		goto out_free;
	}
	ret = PERF_EXIT_OK;
out_free:
	free(ns);
	perf_ctx_cleanup(&c);
	return ret;
}
