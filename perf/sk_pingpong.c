/*
 * sk_pingpong: the Skiff demo, in the spirit of ibv_rc_pingpong.
 *
 * A server and a client connect over Skiff verbs and
 *   1. exchange -n (1000) send/recv ping-pongs of -s (4096) bytes; every
 *      message carries a pattern derived from its iteration and direction
 *      and is checked on arrival;
 *   2. the client RDMA-writes a pattern into the server's buffer, reads it
 *      back and compares, then runs a fetch-and-add on a counter in the
 *      server's memory and reads the counter back;
 *   3. each side reports what it saw, the server checks its own memory,
 *      and the two swap verdicts over the socket.
 * It prints what it did in plain words and exits non-zero if anything did
 * not match, on either side. With -e it sleeps on the completion channel
 * (sk_dev_wait) instead of polling.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "perf_common.h"

enum {
	PP_SEND = 0,     /* slot: outgoing message */
	PP_RECV = 1,     /* slot: incoming message */
	PP_TARGET = 2,   /* slot: the peer's RDMA write lands here */
	PP_READBACK = 3, /* slot: the client's read lands here */
};

enum {
	PP_COUNTER = 0,  /* scratch word: the server's counter */
	PP_FETCHED = 1,  /* scratch word: the client's fetch-and-add result */
	PP_READ = 2,     /* scratch word: the client's read of the counter */
};

#define PP_COUNTER_INIT 1000
#define PP_RDMA_SEED    0x5eed5eedull

static const struct perf_tool pingpong_tool = {
	.name = "sk_pingpong",
	.title = "Send/Recv ping-pong and RDMA demo",
	.test = PERF_TEST_PINGPONG,
	.opts = PERF_OPT_EVENTS,
	.def_size = 4096,
	.def_iters = 1000,
	.min_iters = 1,
	.min_size = 1,
	.slots = 4,
};

static uint64_t pp_seed(unsigned long i, int pong)
{
	return (uint64_t)i << 1 | (unsigned)pong;
}

/* Post, polling while the send queue is full. */
#define PP_POST(c, call, what)                                          \
	({                                                              \
		sk_status_t st_;                                        \
		while ((st_ = (call)) == SK_ERR_AGAIN)                  \
			if (perf_ctx_progress((c), (what)) < 0)         \
				break;                                  \
		if (st_ != SK_OK)                                       \
			fprintf(stderr, "sk_pingpong: cannot post a "   \
				"%s: %s\n", (what), sk_status_str(st_));\
		st_ == SK_OK ? 0 : -1;                                  \
	})

/* Wait for one completion of @opcode (the only one outstanding). */
static int pp_wait(struct perf_ctx *c, uint32_t opcode, size_t len)
{
	struct sk_wc wc;

	if (perf_ctx_wait_one(c, &wc, sk_opcode_str(opcode)))
		return -1;
	if (wc.opcode != opcode ||
	    (opcode == SK_OP_RECV && wc.byte_len != len)) {
		fprintf(stderr, "sk_pingpong: expected a %s completion, got "
				"%s (%u bytes)\n", sk_opcode_str(opcode),
			sk_opcode_str(wc.opcode), wc.byte_len);
		return -1;
	}
	return 0;
}

static int pp_verify(const void *buf, size_t len, uint64_t seed,
		     const char *what, unsigned long i)
{
	long bad = perf_check(buf, len, seed);

	if (bad < 0)
		return 0;
	fprintf(stderr, "sk_pingpong: %s %lu: byte %ld of %zu differs from "
			"what the peer sent\n", what, i, bad, len);
	return -1;
}

/* Client: send ping i, wait for pong i (and our send's completion). */
static int pp_client_loop(struct perf_ctx *c, uint64_t *rtt)
{
	size_t size = c->opts.size;
	void *sbuf = perf_ctx_slot(c, PP_SEND);
	void *rbuf = perf_ctx_slot(c, PP_RECV);
	struct sk_wc wc;

	for (unsigned long i = 0; i < c->opts.iters; i++) {
		int got_send = 0, got_recv = 0;
		uint64_t t0;

		if (PP_POST(c, sk_post_recv(c->ep, c->mr, rbuf, size, NULL),
			    "receive"))
			return -1;
		perf_fill(sbuf, size, pp_seed(i, 0));
		t0 = perf_now_ns();
		if (PP_POST(c, sk_post_send(c->ep, c->mr, sbuf, size, 0, NULL),
			    "send"))
			return -1;
		/* The pong may complete before our send does. */
		while (!got_send || !got_recv) {
			if (perf_ctx_wait_one(c, &wc, "ping-pong"))
				return -1;
			if (wc.opcode == SK_OP_SEND && !got_send) {
				got_send = 1;
			} else if (wc.opcode == SK_OP_RECV && !got_recv &&
				   wc.byte_len == size) {
				got_recv = 1;
			} else {
				fprintf(stderr, "sk_pingpong: unexpected %s "
						"completion (%u bytes)\n",
					sk_opcode_str(wc.opcode), wc.byte_len);
				return -1;
			}
		}
		rtt[i] = perf_now_ns() - t0;
		if (pp_verify(rbuf, size, pp_seed(i, 1), "pong", i))
			return -1;
	}
	return 0;
}

/* Server: wait for ping i, check it, answer with pong i. */
static int pp_server_loop(struct perf_ctx *c)
{
	size_t size = c->opts.size;
	void *sbuf = perf_ctx_slot(c, PP_SEND);
	void *rbuf = perf_ctx_slot(c, PP_RECV);

	for (unsigned long i = 0; i < c->opts.iters; i++) {
		if (pp_wait(c, SK_OP_RECV, size) ||
		    pp_verify(rbuf, size, pp_seed(i, 0), "ping", i))
			return -1;
		if (i + 1 < c->opts.iters &&
		    PP_POST(c, sk_post_recv(c->ep, c->mr, rbuf, size, NULL),
			    "receive"))
			return -1;
		perf_fill(sbuf, size, pp_seed(i, 1));
		if (PP_POST(c, sk_post_send(c->ep, c->mr, sbuf, size, 0, NULL),
			    "send") ||
		    pp_wait(c, SK_OP_SEND, 0))
			return -1;
	}
	return 0;
}

/* Client: write, read back, fetch-and-add, read the counter. */
static int pp_client_rdma(struct perf_ctx *c)
{
	size_t size = c->opts.size;
	void *src = perf_ctx_slot(c, PP_SEND);
	void *back = perf_ctx_slot(c, PP_READBACK);
	uint64_t *fetched = perf_ctx_word(c, PP_FETCHED);
	uint64_t *counter = perf_ctx_word(c, PP_READ);

	perf_fill(src, size, PP_RDMA_SEED);
	memset(back, 0, size);
	if (PP_POST(c, sk_post_write(c->ep, c->mr, src, size, c->rkey,
				     perf_ctx_rslot(c, PP_TARGET), 0, NULL),
		    "write") ||
	    pp_wait(c, SK_OP_WRITE, 0))
		return -1;
	if (PP_POST(c, sk_post_read(c->ep, c->mr, back, size, c->rkey,
				    perf_ctx_rslot(c, PP_TARGET), 0, NULL),
		    "read") ||
	    pp_wait(c, SK_OP_READ, 0))
		return -1;
	if (pp_verify(back, size, PP_RDMA_SEED, "RDMA read-back", 0))
		return -1;
	printf("sk_pingpong: RDMA write of %zu bytes into the server, read "
	       "back and verified\n", size);

	if (PP_POST(c, sk_post_fadd(c->ep, c->mr, fetched, c->rkey,
				    perf_ctx_rword(c, PP_COUNTER), 1, 0, NULL),
		    "fetch-and-add") ||
	    pp_wait(c, SK_OP_FADD, 0))
		return -1;
	if (PP_POST(c, sk_post_read(c->ep, c->mr, counter, 8, c->rkey,
				    perf_ctx_rword(c, PP_COUNTER), 0, NULL),
		    "read") ||
	    pp_wait(c, SK_OP_READ, 0))
		return -1;
	if (*fetched != PP_COUNTER_INIT || *counter != PP_COUNTER_INIT + 1) {
		fprintf(stderr, "sk_pingpong: fetch-and-add returned %" PRIu64
				" and left %" PRIu64 "; expected %d and %d\n",
			*fetched, *counter, PP_COUNTER_INIT,
			PP_COUNTER_INIT + 1);
		return -1;
	}
	printf("sk_pingpong: fetch-and-add on the server's counter: %" PRIu64
	       " -> %" PRIu64 ", verified\n", *fetched, *counter);
	return 0;
}

/* Server: after the client is done, check what it did to our memory. */
static int pp_server_check(struct perf_ctx *c)
{
	uint64_t counter = *perf_ctx_word(c, PP_COUNTER);

	if (pp_verify(perf_ctx_slot(c, PP_TARGET), c->opts.size,
		      PP_RDMA_SEED, "RDMA write", 0))
		return -1;
	if (counter != PP_COUNTER_INIT + 1) {
		fprintf(stderr, "sk_pingpong: our counter is %" PRIu64
				" after the client's fetch-and-add; expected "
				"%d\n", counter, PP_COUNTER_INIT + 1);
		return -1;
	}
	printf("sk_pingpong: the client's RDMA write landed intact and its "
	       "fetch-and-add made our counter %" PRIu64 "\n", counter);
	return 0;
}

static int pp_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void pp_print_rtt(const struct perf_ctx *c, uint64_t *rtt,
			 double *avg_us)
{
	unsigned long n = c->opts.iters;
	double sum = 0;

	for (unsigned long i = 0; i < n; i++)
		sum += (double)rtt[i];
	qsort(rtt, n, sizeof(*rtt), pp_cmp_u64);
	*avg_us = sum / (double)n / 1000;
	printf("sk_pingpong: round trip: average %.2f us, median %.2f us, "
	       "min %.2f us, max %.2f us\n", *avg_us,
	       (double)rtt[n / 2] / 1000, (double)rtt[0] / 1000,
	       (double)rtt[n - 1] / 1000);
}

/*
 * Server side. Verdicts: each side sends one word (1 ok, 0 failed) and
 * reads the other's. On success the server reads the client's first (the
 * client's RDMA phase ends with it) and then checks its memory; a side
 * that fails sends at once, which also stops a peer that waits for a
 * message (perf_ctx_peer_gone() sees the socket become readable).
 */
static int pp_server(struct perf_ctx *c)
{
	uint32_t client_ok;
	int ok;

	*perf_ctx_word(c, PP_COUNTER) = PP_COUNTER_INIT;
	/* The first ping finds its receive already posted. */
	ok = PP_POST(c, sk_post_recv(c->ep, c->mr, perf_ctx_slot(c, PP_RECV),
				     c->opts.size, NULL), "receive") == 0 &&
	     perf_ctx_sync(c) == 0 && pp_server_loop(c) == 0;
	if (!ok) {
		if (perf_ctx_send_u32(c, 0) == 0)
			perf_ctx_recv_u32(c, &client_ok);
		return 0;
	}
	printf("sk_pingpong: send/recv: answered %lu pings of %zu bytes, "
	       "every message verified\n", c->opts.iters, c->opts.size);
	if (perf_ctx_recv_u32(c, &client_ok))
		return 0;
	if (client_ok != 1) {
		fprintf(stderr, "sk_pingpong: the client reported a failure "
				"(see its messages)\n");
		ok = 0;
	} else {
		ok = pp_server_check(c) == 0;
	}
	if (perf_ctx_send_u32(c, (uint32_t)ok))
		return 0;
	return ok;
}

static int pp_client(struct perf_ctx *c, double *avg_us)
{
	uint64_t *rtt = calloc(c->opts.iters, sizeof(*rtt));
	uint32_t server_ok;
	int ok;

	if (rtt == NULL)
		fprintf(stderr, "sk_pingpong: out of memory\n");
	ok = rtt != NULL && perf_ctx_sync(c) == 0 &&
	     pp_client_loop(c, rtt) == 0;
	if (ok) {
		printf("sk_pingpong: send/recv: %lu round trips of %zu bytes, "
		       "every message verified\n", c->opts.iters,
		       c->opts.size);
		pp_print_rtt(c, rtt, avg_us);
		ok = pp_client_rdma(c) == 0;
	}
	free(rtt);
	if (perf_ctx_send_u32(c, (uint32_t)ok) ||
	    perf_ctx_recv_u32(c, &server_ok))
		return 0;
	if (server_ok != 1) {
		fprintf(stderr, "sk_pingpong: the server reported a failure "
				"(see its messages)\n");
		return 0;
	}
	return ok;
}

int main(int argc, char **argv)
{
	struct perf_ctx c;
	double avg_us = 0;
	char rtt_text[64] = "";
	int ok, ret;

	ret = perf_ctx_start(&c, &pingpong_tool, argc, argv);
	if (ret >= 0)
		return ret;
	printf("sk_pingpong: %s: provider %s, device %s, transport %s\n",
	       c.is_server ? "server" : "client", c.attr.provider,
	       c.attr.name, c.attr.transport);
	printf("sk_pingpong: connected to the %s over TCP port %u; %lu "
	       "round trips of %zu bytes, %s\n",
	       c.is_server ? "client" : "server", c.opts.port, c.opts.iters,
	       c.opts.size,
	       c.opts.events ? "sleeping on the completion channel"
			     : "polling for completions");
	if (c.is_server) {
		ok = pp_server(&c);
	} else {
		ok = pp_client(&c, &avg_us);
		snprintf(rtt_text, sizeof(rtt_text),
			 ", average round trip %.2f us", avg_us);
	}
	if (ok)
		printf("sk_pingpong: OK, %lu round trips of %zu bytes (%" PRIu64
		       " bytes each way)%s; RDMA write, read and "
		       "fetch-and-add verified\n", c.opts.iters, c.opts.size,
		       (uint64_t)c.opts.iters * c.opts.size, rtt_text);
	else
		printf("sk_pingpong: FAILED (provider %s, device %s)\n",
		       c.attr.provider, c.attr.name);
	perf_ctx_cleanup(&c);
	return ok ? PERF_EXIT_OK : PERF_EXIT_FAIL;
}
