/*
 * rpc_tput: calls per second of Skiff rpc (rpc/include/skiff/rpc.h) with
 * 1, 8 and 64 calls outstanding, 32-byte requests by default.
 *
 * Server `rpc_tput -p PORT`, client `rpc_tput -p PORT HOST`, set up as
 * rpc_lat (perf_common's TCP exchange, then a libos loop, an arena and an
 * rpc instance over the device); the calls go to handler 1, which answers
 * with as many bytes as the request holds, unwritten (rpc_lat's null RPC).
 * A caller may have at most SK_RPC_CREDITS (16) calls outstanding per peer,
 * so both sides connect RB_MAX_PEERS (4) peers, each over its own endpoint
 * (the first is perf_common's, the other three are made here and their
 * addresses swapped over the same socket): D calls outstanding use
 * ceil(D / 16) peers, the calls spread evenly (1: one peer, 8: one peer
 * with 8, 64: four peers with 16 each).
 *
 * The client keeps D calls in flight: each completion issues the next call
 * on its peer from the completion callback, with the same registered
 * request buffer; responses come in place. -n calls are timed (from the
 * first call to the last response) after -n / 10 (at least 10) untimed
 * ones at the same depth; each response's status and length are checked.
 * The figure is calls completed per second. At the end the server's count
 * of calls served must equal the client's.
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
 * tool uses (rpc_lat has 16). */
#define RPC_TPUT_TEST    ((enum perf_test)17)

static const struct perf_tool rpc_tput_tool = {
	.name = "rpc_tput",
	.title = "RPC Throughput Test (echo handler, calls per second)",
	.test = RPC_TPUT_TEST,
	.opts = PERF_OPT_TX_DEPTH, /* -t: calls outstanding */
	.def_size = 32,
	.def_iters = 200000,
	.min_iters = 1,
	.min_size = 0,     /* -s 0: the null RPC */
	.slots = 0,        /* perf_common's buffer is not used */
};

/* ---- rpc_tput ---- */

#define TPUT_MAX_DEPTH (RB_MAX_PEERS * SK_RPC_CREDITS)

struct tput;

struct tput_slot {
	struct tput        *t;
	struct sk_rpc_peer *peer;
	void               *req;
	int                 busy;
};

struct tput {
	struct rb       *b;
	size_t           size;
	uint64_t         issued, done, total;
	int              stalled; /* a slot got SK_ERR_AGAIN: retry it */
	int              failed;
	unsigned         nslots;
	struct tput_slot slot[TPUT_MAX_DEPTH];
};

static void tput_cont(void *arg, int status, const void *resp, size_t len);

static void tput_issue(struct tput_slot *s)
{
	struct tput *t = s->t;
	sk_status_t st;

	st = sk_rpc_call(s->peer, RB_HANDLER_SIZED, s->req, t->size, NULL, 0,
			 tput_cont, s);
	if (st == SK_OK) {
		s->busy = 1;
		t->issued++;
	} else if (st == SK_ERR_AGAIN) {
		t->stalled = 1;
	} else {
		fprintf(stderr, "rpc_tput: sk_rpc_call: %s\n",
			sk_status_str(st));
		t->failed = 1;
	}
}

static void tput_cont(void *arg, int status, const void *resp, size_t len)
{
	struct tput_slot *s = arg;
	struct tput *t = s->t;

	s->busy = 0;
	if (status != 0 || len != t->size) {
		if (!t->failed)
			fprintf(stderr, "rpc_tput: a %zu-byte call came back "
					"with status %d, %zu bytes\n", t->size,
				status, len);
		t->failed = 1;
		return;
	}
	t->done++;
	if (t->issued < t->total && !t->failed)
		tput_issue(s);
}

/* Run @total calls with every slot busy until the end. */
static int tput_phase(struct tput *t, uint64_t total)
{
	struct rb *b = t->b;

	t->issued = t->done = 0;
	t->total = total;
	for (unsigned i = 0; i < t->nslots && t->issued < total; i++)
		tput_issue(&t->slot[i]);
	while (t->done < total && !t->failed) {
		int n = sk_loop_run_once(b->loop, 0);

		if (n < 0) {
			fprintf(stderr, "rpc_tput: the loop failed: %s\n",
				sk_status_str((sk_status_t)n));
			t->failed = 1;
			return -1;
		}
		if (t->stalled) {
			t->stalled = 0;
			for (unsigned i = 0; i < t->nslots; i++)
				if (!t->slot[i].busy && t->issued < total)
					tput_issue(&t->slot[i]);
		}
		if (n == 0 && perf_ctx_peer_gone(&b->c)) {
			t->failed = 1; /* the calls left fail at teardown */
			return -1;
		}
	}
	return t->failed ? -1 : 0;
}

/* One depth: warm-up, then the timed calls; prints the row. */
static int tput_run(struct rb *b, struct tput *t, unsigned depth,
		    uint64_t *calls)
{
	unsigned npeers = (depth + SK_RPC_CREDITS - 1) / SK_RPC_CREDITS;
	unsigned long iters = b->c.opts.iters;
	unsigned long warm = rb_warmup(iters);
	uint64_t t0, t1;
	double sec;
	int ret = -1;

	t->nslots = depth;
	for (unsigned i = 0; i < depth; i++) {
		t->slot[i] = (struct tput_slot){.t = t,
						 .peer = b->peer[i % npeers]};
		t->slot[i].req = sk_rpc_buf_alloc(b->rpc, t->size);
		if (t->slot[i].req == NULL) {
			fprintf(stderr, "rpc_tput: no rpc buffer for call %u\n",
				i);
			goto out;
		}
		perf_fill(t->slot[i].req, t->size, i);
	}
	if (tput_phase(t, warm))
		goto out;
	t0 = perf_now_ns();
	if (tput_phase(t, iters))
		goto out;
	t1 = perf_now_ns();
	*calls += warm + iters;
	sec = (double)(t1 - t0) / 1e9;
	printf(" %-7zu %-13u %-7u %-10lu %-11.4f %-11.4f %.0f\n", t->size,
	       depth, npeers, iters, sec, (double)iters / sec / 1e6,
	       (double)iters / sec);
	ret = 0;
out:
	/* After a failure calls may still own their buffers: the arena goes
	 * with the rest at teardown. */
	for (unsigned i = 0; i < depth && ret == 0; i++) {
		sk_rpc_buf_free(b->rpc, t->slot[i].req);
		t->slot[i].req = NULL;
	}
	return ret;
}

int main(int argc, char **argv)
{
	static struct tput t;
	struct rb b = {0};
	struct perf_opts o;
	unsigned depths[3] = {1, 8, 64}, ndepths = 3;
	uint64_t calls = 0;
	int ret;

	ret = perf_opts_parse(&o, &rpc_tput_tool, argc, argv);
	if (ret == PERF_EXIT_OK)
		printf("\nrpc_tput: -t is the number of calls outstanding, 1.."
		       "%u (without -t: 1, 8 and 64 in turn; %u per peer, "
		       "so up to %u peers); -s is at most %u bytes.\n",
		       TPUT_MAX_DEPTH, SK_RPC_CREDITS, RB_MAX_PEERS,
		       SK_RPC_INLINE_MAX);
	if (ret >= 0)
		return ret;
	if (o.size > SK_RPC_INLINE_MAX) {
		fprintf(stderr, "rpc_tput: bad size '%zu': at most %u bytes "
				"(responses come in place)\n", o.size,
			SK_RPC_INLINE_MAX);
		return PERF_EXIT_USAGE;
	}
	if (rb_opt_given(argc, argv, 't', "tx-depth")) {
		if (o.tx_depth > TPUT_MAX_DEPTH) {
			fprintf(stderr, "rpc_tput: bad tx depth '%u': at most "
					"%u calls outstanding (%u peers x %u "
					"credits)\n", o.tx_depth,
				TPUT_MAX_DEPTH, RB_MAX_PEERS, SK_RPC_CREDITS);
			return PERF_EXIT_USAGE;
		}
		depths[0] = o.tx_depth;
		ndepths = 1;
	}
	ret = rb_start(&b, &o, SK_RPC_INLINE_MAX, "at most", RB_MAX_PEERS);
	if (ret >= 0)
		return ret;
	ret = PERF_EXIT_FAIL;
	printf(" Calls per second: -n calls from the first call to the last "
	       "response, after\n %lu untimed; at most %u calls outstanding "
	       "per peer (SK_RPC_CREDITS), so\n more than %u use several "
	       "peers, each over its own endpoint.\n",
	       rb_warmup(b.c.opts.iters),
	       SK_RPC_CREDITS, SK_RPC_CREDITS);
	printf(" #bytes  #outstanding  #peers  #calls     time[sec]   "
	       "Mcalls/s    calls/s\n");
	t.b = &b;
	t.size = b.c.opts.size;
	for (unsigned i = 0; i < ndepths; i++)
		if (tput_run(&b, &t, depths[i], &calls))
			goto out;
	perf_print_line();
	if (rb_done(&b, calls) == 0)
		ret = PERF_EXIT_OK;
out:
	rb_teardown(&b);
	return ret;
}
