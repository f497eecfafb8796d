/*
 * hostile_job: a node that attacks another node's rpc, inside a real skrun
 * job of 3 or more nodes (tests/e2e/jobs.sh runs it, on ucx and, in the
 * Soft-RoCE guest, on rdma).
 *
 *   rank 0     the victim: opens its rpc, serves an echo handler, keeps a
 *              canary on its heap, and at the end checks that the canary
 *              is whole and that its connections to the good ranks are
 *              still up ("victim ok")
 *   rank 1     the hostile node: no rpc of its own. It uses the verbs API
 *              directly: sk_os_connect() to the victim's SK_RPC_SERVICE,
 *              the rpc hello of rpc/wire.h to get the key of the memory
 *              the victim exposes to its peers, then
 *                - random bytes over every byte of that region, then a
 *                  write just past its end and one just before its start
 *                  (the provider must refuse both);
 *                - malformed rpc traffic, one connection each (the victim
 *                  closes each): garbage instead of a hello, bad magic,
 *                  unknown type, call indexes out of range, lengths that
 *                  disagree or exceed the limits, responses and immediates
 *                  for no call, large requests whose address lies outside
 *                  this node's memory, a second hello, a message longer
 *                  than a receive slot ("hostile done")
 *              and then 48 more connections that send garbage: more than
 *              the victim's arena holds peers (about 28 by default), so
 *              the victim must give back what each closed one held
 *   rank 2     a good node: checked echo calls to the victim (32 B, 8000
 *              B, 64 KiB and 1 MiB, every byte compared) before the attack
 *              and after it, on the same connection ("good ok")
 *   rank 3..   good nodes that connect to the victim only after the
 *              attack, and make the same checked calls ("good ok")
 *
 * The victim must not crash, must run no code it did not mean to (a jump
 * through an overwritten pointer would crash it or show as a lost canary),
 * must keep its state outside the exposed region (its answers to the good
 * ranks, its canary, its console) and must close only the hostile node's
 * connections. Phases are separated by barriers, which the host serves:
 * the host must keep serving every node.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <skiff/arena.h>
#include <skiff/loop.h>
#include <skiff/os.h>
#include <skiff/rpc.h>
#include <skiff/verbs.h>

#include "../../rpc/wire.h"
#include "../lib/rpc_side.h"

enum { RPC_ECHO = 7 };

/* ---- the victim and the good ranks ---- */

static void fill(unsigned char *p, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (unsigned char)(i * 31 + seed * 7 + (i >> 11));
}

static int check(const unsigned char *p, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != (unsigned char)(i * 31 + seed * 7 + (i >> 11)))
			return -1;
	return 0;
}

/* Echo calls of every size class; 0 when every byte came back. */
static int echo_all(struct sk_rpc *rpc, struct sk_rpc_peer *peer,
		    const char *when)
{
	static const size_t sizes[] = {32, 8000, 64 << 10, 1 << 20};
	unsigned me = sk_os_rank();
	int bad = 0;

	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		size_t len = sizes[k], got = 0;
		unsigned char *req = sk_rpc_buf_alloc(rpc, len);
		unsigned char *resp = sk_rpc_buf_alloc(rpc, len);
		int rc = -1;

		if (req && resp) {
			fill(req, len, me * 10 + (unsigned)k);
			rc = sk_rpc_call_sync(peer, RPC_ECHO, req, len, resp,
					      len, &got);
		}
		if (rc != (int)(len & 0x7fff) || got != len ||
		    check(resp, len, me * 10 + (unsigned)k) != 0) {
			printf("rank %u: %s: echo of %zu bytes: status %d, "
			       "%zu bytes%s\n", me, when, len, rc, got,
			       rc >= 0 && got == len ? ", corrupted" : "");
			bad++;
		}
		sk_rpc_buf_free(rpc, req);
		sk_rpc_buf_free(rpc, resp);
	}
	return bad;
}

#define CANARY_LEN (1u << 20)

static int do_victim(void)
{
	struct sk_rpc *rpc;
	struct sk_rpc_stats st;
	unsigned char *canary = malloc(CANARY_LEN);
	int bad = 0;

	if (canary == NULL || sk_rpc_open(&rpc) != SK_OK) {
		printf("victim: cannot open its rpc\n");
		return 1;
	}
	fill(canary, CANARY_LEN, 1234);
	sk_rpc_register(rpc, RPC_ECHO, sk_test_h_echo_len, NULL);
	sk_os_barrier(); /* A: rpc open everywhere */
	sk_os_barrier(); /* B: the good ranks' first calls */
	sk_os_barrier(); /* C: the attack */
	sk_os_barrier(); /* D: the good ranks' calls after it */
	for (unsigned r = 2; r < sk_os_size(); r++) {
		struct sk_rpc_peer *p;
		sk_status_t s = sk_rpc_connect(rpc, r, 5000, &p);

		/* Its connection from the start: a new one would mean the
		 * old one was closed. */
		if (s != SK_OK || sk_rpc_peer_failed(p)) {
			printf("victim: the connection to good rank %u: %s\n",
			       r, sk_status_str(s));
			bad++;
		}
	}
	if (check(canary, CANARY_LEN, 1234) != 0) {
		printf("victim: its heap canary changed\n");
		bad++;
	}
	sk_rpc_stats(rpc, &st);
	printf("victim: served %" PRIu64 ", closed %" PRIu64
	       " connections, %" PRIu64 " malformed messages\n",
	       st.served, st.peer_failures, st.bad_msgs);
	sk_os_barrier(); /* E: checked */
	printf("victim %s\n", bad ? "FAILED" : "ok");
	free(canary);
	sk_rpc_destroy(rpc);
	return bad ? 1 : 0;
}

static int do_good(void)
{
	struct sk_rpc *rpc;
	struct sk_rpc_peer *peer = NULL, *again = NULL;
	int bad = 0, early = sk_os_rank() == 2;

	if (sk_rpc_open(&rpc) != SK_OK) {
		printf("rank %u: cannot open its rpc\n", sk_os_rank());
		return 1;
	}
	sk_rpc_register(rpc, RPC_ECHO, sk_test_h_echo_len, NULL);
	sk_os_barrier(); /* A */
	if (early && sk_rpc_connect(rpc, 0, -1, &peer) != SK_OK)
		bad++;
	else if (early)
		bad += echo_all(rpc, peer, "before the attack");
	sk_os_barrier(); /* B */
	sk_os_barrier(); /* C */
	if (!early) {
		/* A first connection after the attack: the victim has room
		 * for it still. */
		sk_status_t st = sk_rpc_connect(rpc, 0, 10000, &peer);

		if (st != SK_OK) {
			printf("rank %u: connect to the victim after the "
			       "attack: %s\n", sk_os_rank(),
			       sk_status_str(st));
			peer = NULL;
		}
	}
	if (peer == NULL || sk_rpc_peer_failed(peer) ||
	    sk_rpc_connect(rpc, 0, 5000, &again) != SK_OK || again != peer) {
		printf("rank %u: the victim closed our connection\n",
		       sk_os_rank());
		bad++;
	} else {
		bad += echo_all(rpc, peer, "after the attack");
	}
	sk_os_barrier(); /* D */
	sk_os_barrier(); /* E */
	printf("rank %u: good %s\n", sk_os_rank(), bad ? "FAILED" : "ok");
	sk_rpc_destroy(rpc);
	return bad ? 1 : 0;
}

/* ---- the hostile node ---- */

struct hop {
	struct sk_op op;
	int          done;
	sk_status_t  status;
	uint32_t     opcode, len;
};

static void hop_done(struct sk_op *op, const struct sk_wc *wc)
{
	struct hop *h = (struct hop *)op;

	h->done = 1;
	h->status = wc->status;
	h->opcode = wc->opcode;
	h->len = wc->byte_len;
}

/* Serve the loop until @h completes or @ms pass; 0 when it completed. */
static int hop_wait(struct hop *h, int ms)
{
	uint64_t end = sk_time_ns() + (uint64_t)ms * 1000000ull;

	while (!h->done && sk_time_ns() < end)
		sk_loop_run_once(sk_os_loop(), 20);
	return h->done ? 0 : -1;
}

static void idle(int ms)
{
	struct hop never = {.op.done = hop_done};

	hop_wait(&never, ms);
}

#define NRX 64 /* the victim's answers to a flood, hello and PONG: its sends
                * wait for a receive on rdma */

/* One connection to the victim's rpc, spoken raw. */
struct conn {
	struct sk_ep   *ep;
	struct sk_rkey *rkey;       /* the victim's exposed region */
	char           *rx[NRX];
	struct hop      rop[NRX];
	char           *tx;         /* SK_RPC_SLOT_SIZE * 2 bytes */
};

static struct sk_arena *arena;
static const struct sk_mr *mr;
static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static char *hbuf(size_t len)
{
	char *b = sk_arena_alloc(arena, len, 64);

	if (b == NULL) {
		printf("hostile: arena spent\n");
		exit(1);
	}
	return b;
}

/* Connect; with @hello, swap hellos: post receives, send ours (our arena
 * descriptor), take the victim's and import its key. 0 on success. */
static int conn_open(struct conn *c, int hello)
{
	struct sk_rpc_hdr h = {.magic = SK_RPC_MAGIC, .type = SK_RPC_HELLO};
	struct hop sop = {.op.done = hop_done};
	size_t blen = SK_BLOB_MAX;
	sk_status_t st;

	memset(c, 0, sizeof(*c));
	st = sk_os_connect(0, SK_RPC_SERVICE, 10000, &c->ep);
	if (st != SK_OK) {
		printf("hostile: connect to the victim: %s\n",
		       sk_status_str(st));
		return -1;
	}
	for (unsigned i = 0; i < NRX; i++) {
		static char *rx[NRX];

		if (rx[i] == NULL)
			rx[i] = hbuf(SK_RPC_SLOT_SIZE);
		c->rx[i] = rx[i];
		c->rop[i].op.done = hop_done;
		if (sk_post_recv(c->ep, mr, c->rx[i], SK_RPC_SLOT_SIZE,
				 &c->rop[i].op) != SK_OK)
			return -1;
	}
	{
		static char *tx;

		if (tx == NULL)
			tx = hbuf(2 * SK_RPC_SLOT_SIZE);
		c->tx = tx;
	}
	if (!hello)
		return 0;
	if (sk_mr_pack(mr, c->tx + SK_RPC_HDR, &blen) != SK_OK)
		return -1;
	h.len = (uint32_t)blen;
	memcpy(c->tx, &h, sizeof(h));
	if (sk_post_send(c->ep, mr, c->tx, SK_RPC_HDR + blen, 0, &sop.op) !=
		    SK_OK ||
	    hop_wait(&sop, 10000) != 0 || sop.status != SK_OK) {
		printf("hostile: our hello did not go\n");
		return -1;
	}
	if (hop_wait(&c->rop[0], 10000) != 0 || c->rop[0].status != SK_OK ||
	    c->rop[0].len < SK_RPC_HDR) {
		printf("hostile: no hello from the victim\n");
		return -1;
	}
	memcpy(&h, c->rx[0], sizeof(h));
	if (h.magic != SK_RPC_MAGIC || h.type != SK_RPC_HELLO ||
	    h.len != c->rop[0].len - SK_RPC_HDR) {
		printf("hostile: the victim's hello is not one\n");
		return -1;
	}
	st = sk_rkey_unpack(c->ep, c->rx[0] + SK_RPC_HDR, h.len, &c->rkey);
	if (st != SK_OK) {
		printf("hostile: the victim's key: %s\n", sk_status_str(st));
		return -1;
	}
	return 0;
}

static void conn_close(struct conn *c, int ms)
{
	struct hop fl = {.op.done = hop_done};

	/* Everything sent has reached the victim before our end goes: a
	 * send's completion only says its buffer is free (UCX may still hold
	 * the message, and a forced close drops it). */
	if (sk_ep_flush(c->ep, &fl.op) == SK_OK && hop_wait(&fl, 500) != 0) {
		/* The victim cancelled its end already (rpc's drain): on
		 * rdma nothing acknowledges our flush any more, and waiting
		 * for the stall watchdog would cost 5 s a connection. */
		sk_ep_cancel(c->ep);
		hop_wait(&fl, 5000);
	}
	idle(ms); /* the victim judges meanwhile */
	if (c->rkey)
		sk_rkey_destroy(c->rkey);
	sk_ep_destroy(c->ep);
}

/* Send @len bytes of @msg; the status of its completion (the victim may
 * have closed already: not waited for long). */
static sk_status_t conn_send(struct conn *c, const void *msg, size_t len)
{
	struct hop op = {.op.done = hop_done};
	sk_status_t st;

	memcpy(c->tx, msg, len);
	st = sk_post_send(c->ep, mr, c->tx, len, 0, &op.op);
	if (st != SK_OK)
		return st;
	return hop_wait(&op, 2000) == 0 ? op.status : SK_ERR_TIMEOUT;
}

/* One write of @len bytes from @src at @raddr: its status. */
static sk_status_t conn_write(struct conn *c, const void *src, size_t len,
			      uint64_t raddr)
{
	struct hop op = {.op.done = hop_done};
	sk_status_t st = sk_post_write(c->ep, mr, src, len, c->rkey, raddr, 0,
				       &op.op);

	if (st != SK_OK)
		return st;
	return hop_wait(&op, 10000) == 0 ? op.status : SK_ERR_TIMEOUT;
}

/* Random bytes over the whole region, then a write just past it and one
 * just before it (each on its own connection: a refused write puts the
 * endpoint in error). 0 when every write in it landed and both outside
 * were refused. */
static int attack_memory(void)
{
	const size_t chunk = 64 << 10;
	char *src = hbuf(chunk);
	struct conn c;
	uint64_t base, len, off;
	sk_status_t st;
	int bad = 0;

	if (conn_open(&c, 1) != 0)
		return 1;
	base = sk_rkey_addr(c.rkey);
	len = sk_rkey_len(c.rkey);
	printf("hostile: the victim exposes %" PRIu64 " bytes (rights 0x%x)\n",
	       len, sk_rkey_access(c.rkey));
	for (off = 0; off < len; off += chunk) {
		size_t n = len - off < chunk ? (size_t)(len - off) : chunk;

		for (size_t i = 0; i < n; i += 8) {
			uint64_t v = rnd();

			memcpy(src + i, &v, n - i < 8 ? n - i : 8);
		}
		st = conn_write(&c, src, n, base + off);
		if (st != SK_OK) {
			printf("hostile: write at +%" PRIu64 ": %s\n", off,
			       sk_status_str(st));
			bad++;
			break;
		}
	}
	if (!bad)
		printf("hostile: wrote random bytes over all of it\n");
	st = conn_write(&c, src, 8, base + len);
	printf("hostile: a write just past it: %s\n", sk_status_str(st));
	bad += st == SK_OK;
	conn_close(&c, 100);
	if (conn_open(&c, 1) != 0)
		return bad + 1;
	st = conn_write(&c, src, 8, sk_rkey_addr(c.rkey) - 8);
	printf("hostile: a write just before it: %s\n", sk_status_str(st));
	bad += st == SK_OK;
	conn_close(&c, 100);
	return bad;
}

/* A request header as a peer would send it. */
static struct sk_rpc_hdr req_hdr(uint16_t call, uint32_t len)
{
	return (struct sk_rpc_hdr){.magic = SK_RPC_MAGIC, .type = SK_RPC_REQ,
				   .handler = RPC_ECHO, .call = call,
				   .len = len};
}

/* Malformed traffic, one connection each. Returns how many connections
 * the victim must close (each one's message breaks the protocol). */
static unsigned attack_protocol(void)
{
	char *payload = hbuf(SK_RPC_MSG_MAX);
	uint64_t mine = (uintptr_t)payload;
	char msg[2 * SK_RPC_SLOT_SIZE];
	struct sk_rpc_hdr h;
	struct conn c;
	unsigned nconn = 0;

	memset(payload, 0x5a, SK_RPC_MSG_MAX);
#define ONE(hello, body, blen, what)                                        \
	do {                                                                \
		if (conn_open(&c, hello) == 0) {                            \
			sk_status_t s_ = conn_send(&c, body, blen);         \
			printf("hostile: %s: sent (%s)\n", what,            \
			       sk_status_str(s_));                          \
			conn_close(&c, 200);                                \
			nconn++;                                            \
		}                                                           \
	} while (0)

	for (size_t i = 0; i < 64; i += 8) {
		uint64_t v = rnd();

		memcpy(msg + i, &v, 8);
	}
	ONE(0, msg, 64, "random bytes instead of a hello");
	h = req_hdr(0, 0);
	h.magic = 0xdead;
	ONE(1, &h, sizeof(h), "bad magic");
	h = req_hdr(0, 0);
	h.type = 99;
	ONE(1, &h, sizeof(h), "unknown type");
	h = req_hdr(SK_RPC_CREDITS, 0);
	ONE(1, &h, sizeof(h), "call index = credits");
	h = req_hdr(0xffff, 0);
	ONE(1, &h, sizeof(h), "call index 0xffff");
	h = req_hdr(0, 5000);
	ONE(1, &h, sizeof(h), "length over the bytes sent");
	h = req_hdr(0, 0xffffffffu);
	ONE(1, &h, sizeof(h), "length 0xffffffff");
	h = req_hdr(0, 0);
	h.resp_cap = 0xffffffffu;
	ONE(1, &h, sizeof(h), "response capacity 0xffffffff");
	h = req_hdr(0, SK_RPC_MSG_MAX + 1);
	h.flags = SK_RPC_F_LARGE_REQ;
	h.req_addr = mine;
	ONE(1, &h, sizeof(h), "large request over SK_RPC_MSG_MAX");
	/* Large requests whose address lies outside our memory: the
	 * victim's read must be refused. */
	h = req_hdr(0, 100000);
	h.flags = SK_RPC_F_LARGE_REQ;
	h.req_addr = 4096;
	ONE(1, &h, sizeof(h), "large request at address 4096");
	h.req_addr = mine + SK_RPC_MSG_MAX + (64ull << 30);
	ONE(1, &h, sizeof(h), "large request 64 GiB past our memory");
	h.req_addr = ~0ull - 50000;
	ONE(1, &h, sizeof(h), "large request wrapping the address space");
	h = (struct sk_rpc_hdr){.magic = SK_RPC_MAGIC, .type = SK_RPC_RESP,
				.call = 3, .gen = 77};
	ONE(1, &h, sizeof(h), "a response to no call");
	h = (struct sk_rpc_hdr){.magic = SK_RPC_MAGIC, .type = SK_RPC_HELLO,
				.len = 8};
	memcpy(msg, &h, sizeof(h));
	memset(msg + sizeof(h), 0xee, 8);
	ONE(1, msg, sizeof(h) + 8, "a second hello (garbage key)");
	ONE(1, &h, 7, "shorter than a header");
	h = req_hdr(0, SK_RPC_SLOT_SIZE + 100);
	memcpy(msg, &h, sizeof(h));
	memset(msg + sizeof(h), 0x11, sizeof(msg) - sizeof(h));
	ONE(1, msg, sizeof(msg), "longer than a receive slot");
	/* An immediate for no call: a write with immediate. */
	if (conn_open(&c, 1) == 0) {
		struct hop op = {.op.done = hop_done};
		sk_status_t s = sk_post_write_imm(c.ep, mr, payload, 8, c.rkey,
						  sk_rkey_addr(c.rkey), 0xffff,
						  0, &op.op);

		if (s == SK_OK)
			s = hop_wait(&op, 2000) == 0 ? op.status
						     : SK_ERR_TIMEOUT;
		printf("hostile: an immediate for no call: sent (%s)\n",
		       sk_status_str(s));
		conn_close(&c, 200);
		nconn++;
	}
	/* A flood of requests on one call slot, three times the credits
	 * (each answered before the next, so within the rules). */
	if (conn_open(&c, 1) == 0) {
		h = req_hdr(5, 0);
		for (int i = 0; i < 3 * (int)SK_RPC_CREDITS; i++)
			if (conn_send(&c, &h, sizeof(h)) != SK_OK)
				break;
		printf("hostile: a flood of requests on one call slot: "
		       "sent\n");
		conn_close(&c, 200);
	}
	/* More connections than the victim's arena holds peers, each
	 * closed for its garbage. */
	for (int i = 0; i < 48; i++) {
		for (size_t k = 0; k < 64; k += 8) {
			uint64_t v = rnd();

			memcpy(msg + k, &v, 8);
		}
		if (conn_open(&c, 0) != 0)
			break;
		conn_send(&c, msg, 64);
		conn_close(&c, 30);
		nconn++;
	}
	printf("hostile: then 48 connections with garbage\n");
#undef ONE
	return nconn;
}

static int do_hostile(void)
{
	int bad;
	unsigned n;

	arena = sk_os_arena();
	mr = sk_arena_mr(arena);
	rng ^= (uint64_t)sk_time_ns();
	printf("hostile: seed %" PRIu64 "\n", rng);
	sk_os_barrier(); /* A */
	sk_os_barrier(); /* B */
	bad = attack_memory();
	n = attack_protocol();
	printf("hostile: %u connections the victim must close\n", n);
	sk_os_barrier(); /* C */
	sk_os_barrier(); /* D */
	sk_os_barrier(); /* E */
	printf("hostile done%s\n", bad ? " (a write was not refused)" : "");
	return bad ? 1 : 0;
}

int main(void)
{
	if (!sk_os_booted() || sk_os_size() < 3) {
		fprintf(stderr, "hostile_job: run under skrun with 3+ nodes\n");
		return 2;
	}
	switch (sk_os_rank()) {
	case 0:
		return do_victim();
	case 1:
		return do_hostile();
	default:
		return do_good();
	}
}
