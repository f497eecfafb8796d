/*
 * The verbs conformance suite: one set of tests that every provider must
 * pass, between this process and a real peer process (tests/lib). The
 * provider comes from SKIFF_PROVIDER: `make check` runs it with ucx on the
 * host and with rdma on Soft-RoCE inside a QEMU guest.
 */
#include <alloca.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <skiff/verbs.h>

#include "../lib/sk_test_peer.h"

#define TIMEOUT_MS 20000
#define BIG        (4u << 20)

struct fixture {
	struct sk_test_peer peer;
	struct sk_test_peer peer2; /* a second initiator, for atomics */
	struct sk_dev *dev;
	struct sk_dev_attr attr;
	struct sk_ep *ep;
	int peer_ep;
	void *buf;
	struct sk_mr *mr;
	/* Completions reaped while a post waited for queue space. */
	struct sk_wc stash[1024];
	unsigned nstash;
};

static void fx_idle(void *arg);

/* Variables set for this process's device only, after the peers started
 * (NULL-terminated name, value pairs); teardown unsets them. */
static const char *const *fx_local_env;

static int setup_common(void **state, int two)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	/* Peers first: fork before this process opens its device. */
	assert_int_equal(sk_test_peer_start(&f->peer), 0);
	if (two)
		assert_int_equal(sk_test_peer_start(&f->peer2), 0);
	for (const char *const *v = fx_local_env; v && v[0]; v += 2)
		setenv(v[0], v[1], 1);
	assert_int_equal(sk_dev_open(NULL, NULL, &f->dev), SK_OK);
	sk_dev_query(f->dev, &f->attr);
	f->peer.idle = f->peer2.idle = fx_idle;
	f->peer.idle_arg = f->peer2.idle_arg = f;
	assert_int_equal(sk_ep_create(f->dev, &f->ep), SK_OK);
	f->peer_ep = sk_test_peer_connect(&f->peer, f->ep);
	assert_true(f->peer_ep >= 0);
	assert_int_equal(posix_memalign(&f->buf, 4096, 2 * BIG + 4096), 0);
	assert_int_equal(sk_mr_reg(f->dev, f->buf, 2 * BIG + 4096,
				   SK_ACCESS_LOCAL, &f->mr), SK_OK);
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_common(state, 0);
}

static int setup_two(void **state)
{
	return setup_common(state, 1);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	for (const char *const *v = fx_local_env; v && v[0]; v += 2)
		unsetenv(v[0]);
	fx_local_env = NULL;
	sk_mr_dereg(f->mr);
	free(f->buf);
	if (f->ep)
		sk_ep_destroy(f->ep);
	sk_dev_close(f->dev);
	sk_test_peer_stop(&f->peer, 5000);
	if (f->peer2.pid)
		sk_test_peer_stop(&f->peer2, 5000);
	free(f);
	return 0;
}

/* Wait for up to @n completions, stashed ones first. */
static int fx_wait(struct fixture *f, struct sk_wc *wc, int n, int timeout_ms)
{
	int got = 0;

	while (got < n && f->nstash) {
		wc[got++] = f->stash[0];
		memmove(f->stash, f->stash + 1,
			--f->nstash * sizeof(f->stash[0]));
	}
	if (got < n)
		got += sk_test_wait(f->dev, wc + got, n - got, timeout_ms);
	return got;
}

/* The queue is full: reap one completion into the stash to make room. */
static void fx_make_room(struct fixture *f)
{
	assert_true(f->nstash < sizeof(f->stash) / sizeof(f->stash[0]));
	f->nstash += (unsigned)sk_dev_poll(f->dev, &f->stash[f->nstash], 1);
}

/* While a peer works on a command: keep our device progressing. */
static void fx_idle(void *arg)
{
	struct fixture *f = arg;

	if (f->nstash < sizeof(f->stash) / sizeof(f->stash[0]))
		f->nstash += (unsigned)sk_dev_poll(
			f->dev, &f->stash[f->nstash],
			(int)(sizeof(f->stash) / sizeof(f->stash[0]) -
			      f->nstash));
}

/* Wait for exactly one completion and check it. */
static void expect_wc(struct fixture *f, unsigned opcode, sk_status_t st,
		      void *ctx)
{
	struct sk_wc wc;

	assert_int_equal(fx_wait(f, &wc, 1, TIMEOUT_MS), 1);
	if (wc.status != st)
		fail_msg("%s completed with '%s', expected '%s'",
			 sk_opcode_str(wc.opcode), sk_status_str(wc.status),
			 sk_status_str(st));
	assert_int_equal(wc.opcode, opcode);
	assert_ptr_equal(wc.ctx, ctx);
	assert_ptr_equal(wc.ep, f->ep);
}

/*
 * Wait until @ep's connection is up: UCX 1.13 trips on an endpoint closed
 * while its wireup is in flight, when the same two workers connect again
 * (an assertion in the peer: ucp_ep_update_remote_id). A flush completes
 * once the wireup is done.
 */
static void fx_wireup(struct fixture *f, struct sk_ep *ep)
{
	struct sk_wc wc;

	assert_int_equal(sk_ep_flush(ep, &wc), SK_OK);
	assert_int_equal(fx_wait(f, &wc, 1, TIMEOUT_MS), 1);
	assert_int_equal(wc.status, SK_OK);
	assert_ptr_equal(wc.ep, ep);
}

/* Post, retrying while the queue is full. */
#define POST(f, call)                                                  \
	do {                                                           \
		sk_status_t st_;                                       \
		while ((st_ = (call)) == SK_ERR_AGAIN)                 \
			fx_make_room(f);                               \
		assert_int_equal(st_, SK_OK);                          \
	} while (0)

static void test_write_read_sizes(void **state)
{
	struct fixture *f = *state;
	struct sk_rkey *rkey;
	char *src = f->buf, *dst = (char *)f->buf + BIG + 4096;
	static const size_t odd[] = {3, 1000, 4095, 65537, 1048573};
	size_t sizes[40], n = 0;
	int id, ok;

	for (size_t s = 1; s <= BIG; s *= 2)
		sizes[n++] = s;
	for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++)
		sizes[n++] = odd[i];
	id = sk_test_peer_reg(&f->peer, f->ep, BIG + 64,
			      SK_ACCESS_REMOTE_READ | SK_ACCESS_REMOTE_WRITE,
			      1, &rkey, NULL);
	assert_true(id >= 0);
	for (size_t i = 0; i < n; i++) {
		size_t len = sizes[i];
		uint64_t off = (i % 7) * 8 + (i & 1); /* odd offsets too */
		uint64_t raddr = sk_rkey_addr(rkey) + off;

		sk_test_fill(src, len, 100 + i);
		POST(f, sk_post_write(f->ep, f->mr, src, len, rkey, raddr, 0,
				      &sizes[i]));
		expect_wc(f, SK_OP_WRITE, SK_OK, &sizes[i]);
		/* The completion promises visibility at the target. */
		assert_true(sk_test_peer_cksum(&f->peer, (uint32_t)id, off,
					       len, &ok) ==
			    sk_test_cksum(src, len));
		assert_true(ok);
		memset(dst, 0xee, len);
		POST(f, sk_post_read(f->ep, f->mr, dst, len, rkey, raddr, 0,
				     dst));
		expect_wc(f, SK_OP_READ, SK_OK, dst);
		if (memcmp(src, dst, len) != 0)
			fail_msg("read back of %zu bytes differs", len);
	}
	sk_rkey_destroy(rkey);
}

static void test_inline_write_buffer_reuse(void **state)
{
	struct fixture *f = *state;
	struct sk_rkey *rkey;
	char small[64];
	int id, ok;

	if (f->attr.max_inline < sizeof(small))
		skip();
	id = sk_test_peer_reg(&f->peer, f->ep, 4096, SK_ACCESS_REMOTE_WRITE,
			      2, &rkey, NULL);
	assert_true(id >= 0);
	sk_test_fill(small, sizeof(small), 7);
	/* No MR: inline data is copied at post time, the buffer is free. */
	POST(f, sk_post_write(f->ep, NULL, small, sizeof(small), rkey,
			      sk_rkey_addr(rkey), 0, small));
	memset(small, 0, sizeof(small));
	expect_wc(f, SK_OP_WRITE, SK_OK, small);
	sk_test_fill(small, sizeof(small), 7);
	assert_true(sk_test_peer_cksum(&f->peer, (uint32_t)id, 0,
				       sizeof(small), &ok) ==
		    sk_test_cksum(small, sizeof(small)));
	sk_rkey_destroy(rkey);
}

static void test_write_imm(void **state)
{
	struct fixture *f = *state;
	struct sk_test_recv r[32];
	struct sk_test_msg m = {.cmd = SK_TEST_POST_RECVS};
	struct sk_rkey *rkey;
	const unsigned n = 32;
	int id;

	id = sk_test_peer_reg(&f->peer, f->ep, 1 << 20,
			      SK_ACCESS_REMOTE_WRITE, 3, &rkey, NULL);
	assert_true(id >= 0);
	m.id = (uint32_t)f->peer_ep;
	m.aux = n;
	m.a = 64;
	m.b = (uint64_t)id; /* checksum this region when the imm lands */
	assert_int_equal(sk_test_peer_call(&f->peer, &m), SK_OK);
	for (unsigned i = 0; i < n; i++) {
		size_t len = (size_t)1 << (i % 21); /* 1 B .. 1 MiB */

		sk_test_fill(f->buf, len, 1000 + i);
		POST(f, sk_post_write_imm(f->ep, f->mr, f->buf, len, rkey,
					  sk_rkey_addr(rkey), 0xabc00000u + i,
					  0, NULL));
		expect_wc(f, SK_OP_WRITE_IMM, SK_OK, NULL);
		/* One at a time: the target checksums its region when the
		 * immediate arrives, which must already show the data. */
		assert_int_equal(sk_test_peer_wait_recvs(&f->peer, 1,
							 TIMEOUT_MS, &r[i], 1),
				 1);
		assert_int_equal(r[i].status, SK_OK);
		assert_int_equal(r[i].opcode, SK_OP_RECV_IMM);
		assert_int_equal(r[i].imm, 0xabc00000u + i);
		assert_int_equal(r[i].byte_len, len);
		assert_true(r[i].cksum == sk_test_cksum(f->buf, len));
	}
	sk_rkey_destroy(rkey);
}

static void test_send_recv(void **state)
{
	struct fixture *f = *state;
	static const size_t sizes[] = {1, 8, 64, 255, 4096, 65536, 1 << 20,
				       0};
	const unsigned n = sizeof(sizes) / sizeof(sizes[0]);
	struct sk_test_msg m = {.cmd = SK_TEST_POST_RECVS};
	struct sk_test_recv r[8];

	/* Sends posted before the receives: they wait, then land in order. */
	for (unsigned i = 0; i < n; i++) {
		sk_test_fill((char *)f->buf + i * (1 << 20), sizes[i], 50 + i);
		POST(f, sk_post_send(f->ep, f->mr,
				     (char *)f->buf + i * (1 << 20), sizes[i],
				     0, (void *)(uintptr_t)(i + 1)));
	}
	usleep(100 * 1000);
	m.id = (uint32_t)f->peer_ep;
	m.aux = n;
	m.a = 1 << 20;
	m.b = (uint64_t)-1;
	assert_int_equal(sk_test_peer_call(&f->peer, &m), SK_OK);
	for (unsigned i = 0; i < n; i++)
		expect_wc(f, SK_OP_SEND, SK_OK, (void *)(uintptr_t)(i + 1));
	assert_int_equal(sk_test_peer_wait_recvs(&f->peer, n, TIMEOUT_MS, r, n),
			 n);
	for (unsigned i = 0; i < n; i++) {
		assert_int_equal(r[i].status, SK_OK);
		assert_int_equal(r[i].opcode, SK_OP_RECV);
		assert_int_equal(r[i].byte_len, sizes[i]);
		assert_true(r[i].cksum ==
			    sk_test_cksum((char *)f->buf + i * (1 << 20),
					  sizes[i]));
	}
}

/* Unsignaled sends owe no completion: an endpoint that only sent those
 * and then idles for longer than SKIFF_STALL_MS (400 ms here, both sides)
 * is not taken for stalled, and works on. (The rdma provider's watchdog
 * failed such endpoints: rpc's inline messages are all unsignaled.) */
static int setup_stall(void **state)
{
	setenv("SKIFF_STALL_MS", "400", 1);
	return setup_common(state, 0);
}

static int teardown_stall(void **state)
{
	unsetenv("SKIFF_STALL_MS");
	return teardown(state);
}

/* An endpoint's own queue depths (sk_ep_create_attr): rounded up to a
 * power of two, capped at the device's, and enforced. */
static void test_ep_depths(void **state)
{
	struct fixture *f = *state;
	struct sk_ep_attr small = {.sq_depth = 5, .rq_depth = 3};
	struct sk_ep_attr huge = {.sq_depth = 1u << 30, .rq_depth = 1u << 30};
	struct sk_ep *ep;
	char *buf = f->buf;
	uint32_t i;

	assert_int_equal(sk_ep_create_attr(f->dev, &small, &ep), SK_OK);
	assert_true(sk_test_peer_connect(&f->peer, ep) >= 0);
	fx_wireup(f, ep);
	/* 3 rounds up to 4: four receives fit, the fifth waits. */
	for (i = 0; i < 4; i++)
		assert_int_equal(sk_post_recv(ep, f->mr, buf + 64 * i, 64,
					      NULL), SK_OK);
	assert_int_equal(sk_post_recv(ep, f->mr, buf, 64, NULL),
			 SK_ERR_AGAIN);
	sk_ep_destroy(ep);

	/* Past the device's depth: the device's. */
	assert_int_equal(sk_ep_create_attr(f->dev, &huge, &ep), SK_OK);
	assert_true(sk_test_peer_connect(&f->peer, ep) >= 0);
	fx_wireup(f, ep);
	for (i = 0; i < f->attr.rq_depth; i++)
		assert_int_equal(sk_post_recv(ep, f->mr, buf + 64 * (i % 64),
					      64, NULL), SK_OK);
	assert_int_equal(sk_post_recv(ep, f->mr, buf, 64, NULL),
			 SK_ERR_AGAIN);
	sk_ep_destroy(ep);
}

static void test_unsignaled_idle(void **state)
{
	struct fixture *f = *state;
	struct sk_test_msg m = {.cmd = SK_TEST_POST_RECVS};
	struct sk_test_recv r[5];
	struct sk_wc wc;

	m.id = (uint32_t)f->peer_ep;
	m.aux = 5;
	m.a = 64;
	m.b = (uint64_t)-1;
	assert_int_equal(sk_test_peer_call(&f->peer, &m), SK_OK);
	for (unsigned i = 0; i < 4; i++)
		POST(f, sk_post_send(f->ep, NULL, "idle", 4,
				     SK_POST_UNSIGNALED, NULL));
	/* Three times the watchdog's bound, with nothing owed. */
	assert_int_equal(fx_wait(f, &wc, 1, 1200), 0);
	POST(f, sk_post_send(f->ep, NULL, "done", 4, 0, (void *)1));
	expect_wc(f, SK_OP_SEND, SK_OK, (void *)1);
	assert_int_equal(sk_test_peer_wait_recvs(&f->peer, 5, TIMEOUT_MS, r, 5),
			 5);
	for (unsigned i = 0; i < 5; i++) {
		assert_int_equal(r[i].status, SK_OK);
		assert_int_equal(r[i].byte_len, 4);
	}
}

static void test_recv_from_peer(void **state)
{
	struct fixture *f = *state;
	struct sk_test_msg m = {.cmd = SK_TEST_SEND};
	struct sk_wc wc[4];
	char *expect = (char *)f->buf + BIG;

	for (unsigned i = 0; i < 4; i++)
		POST(f, sk_post_recv(f->ep, f->mr, (char *)f->buf + i * 8192,
				     8192, (void *)(uintptr_t)(i + 1)));
	m.id = (uint32_t)f->peer_ep;
	m.aux = 4;
	m.a = 5000;
	m.b = 77;
	assert_int_equal(sk_test_peer_call(&f->peer, &m), SK_OK);
	/* Sleeping on the completion channel must wake for them. */
	assert_int_equal(fx_wait(f, wc, 4, TIMEOUT_MS), 4);
	sk_test_fill(expect, 5000, 77);
	for (unsigned i = 0; i < 4; i++) {
		assert_int_equal(wc[i].status, SK_OK);
		assert_int_equal(wc[i].opcode, SK_OP_RECV);
		assert_int_equal(wc[i].byte_len, 5000);
		assert_ptr_equal(wc[i].ctx, (void *)(uintptr_t)(i + 1));
		assert_memory_equal((char *)f->buf + i * 8192, expect, 5000);
	}
}

/* sk_dev_rearm: armed, then a sleep that another descriptor ends (the
 * channel quiet), then the cheap arm; a message from the peer must still
 * make the channel readable, and arrive. */
static void test_rearm_after_other_wake(void **state)
{
	struct fixture *f = *state;
	struct sk_test_msg m = {.cmd = SK_TEST_SEND};
	struct sk_wc wc[1];
	char *expect = (char *)f->buf + BIG;
	int fd = sk_dev_fd(f->dev), p[2], tries;
	char c;

	if (fd < 0)
		skip();
	assert_int_equal(pipe(p), 0);
	POST(f, sk_post_recv(f->ep, f->mr, f->buf, 8192, (void *)1));
	for (tries = 0; tries < 10; tries++) {
		struct pollfd pfd[2] = {{.fd = fd, .events = POLLIN},
					{.fd = p[0], .events = POLLIN}};
		sk_status_t st;

		while ((st = sk_dev_arm(f->dev)) == SK_ERR_BUSY)
			fx_make_room(f);
		assert_int_equal(st, SK_OK);
		assert_int_equal(write(p[1], "x", 1), 1);
		assert_true(poll(pfd, 2, TIMEOUT_MS) >= 1);
		assert_int_equal(read(p[0], &c, 1), 1);
		if (pfd[0].revents == 0)
			break; /* the channel stayed quiet (else: again) */
	}
	assert_true(tries < 10);
	assert_int_equal(sk_dev_rearm(f->dev), SK_OK);
	m.id = (uint32_t)f->peer_ep;
	m.aux = 1;
	m.a = 3000;
	m.b = 41;
	assert_int_equal(sk_test_peer_call(&f->peer, &m), SK_OK);
	/* Only the channel can end this sleep. */
	{
		struct pollfd pfd = {.fd = fd, .events = POLLIN};

		assert_int_equal(poll(&pfd, 1, TIMEOUT_MS), 1);
	}
	assert_int_equal(fx_wait(f, wc, 1, TIMEOUT_MS), 1);
	assert_int_equal(wc[0].status, SK_OK);
	assert_int_equal(wc[0].byte_len, 3000);
	sk_test_fill(expect, 3000, 41);
	assert_memory_equal(f->buf, expect, 3000);
	close(p[0]);
	close(p[1]);
}

static void test_flush_and_unsignaled(void **state)
{
	struct fixture *f = *state;
	struct sk_rkey *rkey;
	unsigned n = 10 * f->attr.sq_depth;
	struct sk_wc wc;
	int id, ok;

	/* An empty flush completes too. */
	POST(f, sk_ep_flush(f->ep, f));
	expect_wc(f, SK_OP_FLUSH, SK_OK, f);

	id = sk_test_peer_reg(&f->peer, f->ep, 64 * 1024,
			      SK_ACCESS_REMOTE_WRITE, 4, &rkey, NULL);
	assert_true(id >= 0);
	sk_test_fill(f->buf, 64 * 1024, 9);
	/* Many more unsignaled writes than the queue holds: none reports,
	 * none deadlocks the queue. */
	for (unsigned i = 0; i < n; i++) {
		size_t off = (i * 512) % (64 * 1024);
		sk_status_t st;

		while ((st = sk_post_write(f->ep, f->mr, (char *)f->buf + off,
					   512, rkey, sk_rkey_addr(rkey) + off,
					   SK_POST_UNSIGNALED, NULL)) ==
		       SK_ERR_AGAIN)
			assert_int_equal(sk_dev_poll(f->dev, &wc, 1), 0);
		assert_int_equal(st, SK_OK);
	}
	POST(f, sk_ep_flush(f->ep, &n));
	expect_wc(f, SK_OP_FLUSH, SK_OK, &n);
	assert_int_equal(sk_dev_poll(f->dev, &wc, 1), 0);
	assert_true(sk_test_peer_cksum(&f->peer, (uint32_t)id, 0, 64 * 1024,
				       &ok) == sk_test_cksum(f->buf, 64 * 1024));
	sk_rkey_destroy(rkey);
}

/* Read the 8-byte word at the start of @rkey through @ep. */
static uint64_t read_word(struct fixture *f, struct sk_ep *ep,
			  struct sk_rkey *rkey, uint64_t *slot)
{
	struct sk_wc wc;

	POST(f, sk_post_read(ep, f->mr, slot, 8, rkey, sk_rkey_addr(rkey), 0,
			     NULL));
	assert_int_equal(fx_wait(f, &wc, 1, TIMEOUT_MS), 1);
	assert_int_equal(wc.status, SK_OK);
	return *slot;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * FADD, then CAS-increment, on one word from three endpoints of this
 * process and one endpoint of a second process, all at once. The word must
 * end on the exact count, and our fetched old values must be distinct.
 */
static void test_atomics_concurrent(void **state)
{
	struct fixture *f = *state;
	enum { EPS = 3, PER_EP = 300, PEER2_OPS = 400 };
	uint64_t *res = (uint64_t *)f->buf;
	int p2_ep, p1_ep;

	assert_int_equal(sk_test_peers_connect(&f->peer2, &f->peer, &p2_ep,
					       &p1_ep), 0);
	for (int op = SK_TEST_FADD; op <= SK_TEST_CAS_INC; op++) {
		struct sk_ep *eps[EPS];
		struct sk_rkey *rkeys[EPS];
		struct sk_test_msg desc, m2;
		uint64_t guess[EPS], seen[EPS * PER_EP], start;
		unsigned done[EPS] = {0}, nseen = 0, pending = 0;
		int id;

		id = sk_test_peer_reg(&f->peer, f->ep, 64,
				      SK_ACCESS_REMOTE_ATOMIC |
					      SK_ACCESS_REMOTE_READ,
				      (uint64_t)op, NULL, &desc);
		assert_true(id >= 0);
		for (int e = 0; e < EPS; e++) {
			assert_int_equal(sk_ep_create(f->dev, &eps[e]), SK_OK);
			assert_true(sk_test_peer_connect(&f->peer, eps[e]) >=
				    0);
			assert_int_equal(sk_rkey_unpack(eps[e], desc.blob,
							desc.blob_len,
							&rkeys[e]),
					 SK_OK);
		}
		start = read_word(f, eps[0], rkeys[0], &res[0]);

		/* The second process starts on the same word... */
		m2 = desc;
		m2.cmd = SK_TEST_ATOMICS;
		m2.id = (uint32_t)p2_ep;
		m2.aux = (uint32_t)op;
		m2.a = PEER2_OPS;
		assert_int_equal(sk_test_peer_send(&f->peer2, &m2), 0);

		/* ...while we keep one atomic in flight per endpoint. */
		for (int e = 0; e < EPS; e++)
			guess[e] = start;
		while (nseen < EPS * PER_EP) {
			struct sk_wc wc;
			int e;

			for (e = 0; e < EPS; e++) {
				void *ctx = (void *)(uintptr_t)e;
				uint64_t raddr = sk_rkey_addr(rkeys[e]);

				if (done[e] >= PER_EP || (pending >> e) & 1)
					continue;
				if (op == SK_TEST_FADD)
					POST(f, sk_post_fadd(eps[e], f->mr,
							     &res[1 + e],
							     rkeys[e], raddr,
							     1, 0, ctx));
				else
					POST(f, sk_post_cas(eps[e], f->mr,
							    &res[1 + e],
							    rkeys[e], raddr,
							    guess[e],
							    guess[e] + 1, 0,
							    ctx));
				pending |= 1u << e;
			}
			assert_int_equal(fx_wait(f, &wc, 1,
						      TIMEOUT_MS), 1);
			assert_int_equal(wc.status, SK_OK);
			e = (int)(uintptr_t)wc.ctx;
			pending &= ~(1u << e);
			if (op == SK_TEST_FADD || res[1 + e] == guess[e]) {
				seen[nseen++] = res[1 + e];
				done[e]++;
				guess[e] = res[1 + e] + 1;
			} else {
				guess[e] = res[1 + e]; /* lost a race */
			}
		}
		assert_int_equal(sk_test_peer_reply(&f->peer2, &m2), SK_OK);
		assert_int_equal(m2.c, PEER2_OPS);

		assert_true(read_word(f, eps[0], rkeys[0], &res[0]) ==
			    start + EPS * PER_EP + PEER2_OPS);
		qsort(seen, nseen, sizeof(seen[0]), cmp_u64);
		for (unsigned i = 1; i < nseen; i++)
			assert_true(seen[i] != seen[i - 1]);
		for (int e = 0; e < EPS; e++) {
			sk_rkey_destroy(rkeys[e]);
			sk_ep_destroy(eps[e]);
		}
	}
}

/*
 * Access violations fail at the initiator with SK_ERR_REMOTE_ACCESS, leave
 * the target's memory as it was, and put the endpoint in the error state.
 */
enum violation { WRITE_READONLY, STALE_KEY, OUT_OF_RANGE, READ_NOREAD };

static void check_violation(struct fixture *f, enum violation v)
{
	const uint64_t size = 4096;
	unsigned access = v == WRITE_READONLY ? SK_ACCESS_REMOTE_READ
			: v == READ_NOREAD    ? SK_ACCESS_REMOTE_WRITE
					      : SK_ACCESS_REMOTE_READ |
						SK_ACCESS_REMOTE_WRITE;
	struct sk_test_msg desc;
	struct sk_rkey *rkey;
	uint64_t before, raddr;
	size_t len = 64;
	int id, ok;

	id = sk_test_peer_reg(&f->peer, f->ep, size, access, 11, NULL, &desc);
	assert_true(id >= 0);
	before = sk_test_peer_cksum(&f->peer, (uint32_t)id, 0, size, &ok);
	assert_true(ok);
	if (v == STALE_KEY) {
		/* The target deregisters; its memory stays allocated. */
		struct sk_test_msg m = {.cmd = SK_TEST_DEREG, .id = (uint32_t)id};

		assert_int_equal(sk_test_peer_call(&f->peer, &m), SK_OK);
	}
	assert_int_equal(sk_rkey_unpack(f->ep, desc.blob, desc.blob_len,
					&rkey),
			 SK_OK);
	raddr = sk_rkey_addr(rkey);
	if (v == OUT_OF_RANGE)
		raddr += size - len / 2; /* straddles the end */
	sk_test_fill(f->buf, len, 99);
	if (v == READ_NOREAD)
		POST(f, sk_post_read(f->ep, f->mr, f->buf, len, rkey, raddr,
				     0, f));
	else
		POST(f, sk_post_write(f->ep, f->mr, f->buf, len, rkey, raddr,
				      0, f));
	expect_wc(f, v == READ_NOREAD ? SK_OP_READ : SK_OP_WRITE,
		  SK_ERR_REMOTE_ACCESS, f);
	/* The endpoint is in error now: the next operation is flushed. */
	POST(f, sk_post_write(f->ep, f->mr, f->buf, len, rkey,
			      sk_rkey_addr(rkey), 0, f->buf));
	expect_wc(f, SK_OP_WRITE, SK_ERR_FLUSHED, f->buf);
	assert_true(sk_test_peer_cksum(&f->peer, (uint32_t)id, 0, size, &ok) ==
		    before);
	assert_true(ok);
	sk_rkey_destroy(rkey);
}

/*
 * RC executes an endpoint's operations at the target in posting order.
 * A READ or WRITE posted right behind an atomic on the same word must see
 * it, whatever path each takes: on ucx a direct copy of the peer's shared
 * memory (SK_TEST_PEER_MEM=alloc) must wait for the atomic's UCX request.
 * Each round: FADD +1, WRITE the word, READ it; the READ must give the
 * WRITE's value (a WRITE that passed the FADD leaves value + 1), and
 * FADD, READ once more: the old value + 1.
 */
static void test_order_after_atomic(void **state)
{
	struct fixture *f = *state;
	uint64_t *res = (uint64_t *)f->buf;
	struct sk_rkey *rkey;
	struct sk_wc wc[4];
	uint64_t raddr;
	int id;

	id = sk_test_peer_reg(&f->peer, f->ep, 4096,
			      SK_ACCESS_REMOTE_ATOMIC | SK_ACCESS_REMOTE_READ |
				      SK_ACCESS_REMOTE_WRITE,
			      7, &rkey, NULL);
	assert_true(id >= 0);
	raddr = sk_rkey_addr(rkey);
	for (uint64_t round = 0; round < 300; round++) {
		uint64_t v = 1000 + round * 10;

		res[2] = v;
		POST(f, sk_post_fadd(f->ep, f->mr, &res[0], rkey, raddr, 1, 0,
				     NULL));
		POST(f, sk_post_write(f->ep, f->mr, &res[2], 8, rkey, raddr,
				      SK_POST_UNSIGNALED, NULL));
		POST(f, sk_post_read(f->ep, f->mr, &res[1], 8, rkey, raddr, 0,
				     NULL));
		POST(f, sk_post_fadd(f->ep, f->mr, &res[3], rkey, raddr, 1, 0,
				     NULL));
		POST(f, sk_post_read(f->ep, f->mr, &res[4], 8, rkey, raddr, 0,
				     NULL));
		assert_int_equal(fx_wait(f, wc, 4, TIMEOUT_MS), 4);
		for (int i = 0; i < 4; i++)
			assert_int_equal(wc[i].status, SK_OK);
		if (res[1] != v || res[3] != v || res[4] != v + 1)
			fail_msg("round %llu: wrote %llu, then read %llu; "
				 "FADD saw %llu, READ after it %llu",
				 (unsigned long long)round,
				 (unsigned long long)v,
				 (unsigned long long)res[1],
				 (unsigned long long)res[3],
				 (unsigned long long)res[4]);
	}
	sk_rkey_destroy(rkey);
}

/* sk_mr_alloc: page-rounded, zeroed, ours to use; bad arguments refused;
 * and a peer's READ and WRITE of it work (the peer writes random bytes
 * over part of it; we check what landed). */
static void test_mr_alloc(void **state)
{
	struct fixture *f = *state;
	struct sk_mr *mr;
	unsigned char *p;

	assert_int_equal(sk_mr_alloc(f->dev, 0, SK_ACCESS_REMOTE_READ, &mr),
			 SK_ERR_INVAL);
	assert_int_equal(sk_mr_alloc(f->dev, 100, 0, &mr), SK_ERR_INVAL);
	assert_int_equal(sk_mr_alloc(f->dev, SIZE_MAX - 10,
				     SK_ACCESS_REMOTE_READ, &mr),
			 SK_ERR_INVAL);
	assert_int_equal(sk_mr_alloc(f->dev, 5000, SK_ACCESS_REMOTE_READ |
							 SK_ACCESS_REMOTE_WRITE,
				     &mr),
			 SK_OK);
	assert_int_equal(sk_mr_len(mr), 8192);
	p = sk_mr_addr(mr);
	assert_non_null(p);
	assert_int_equal((uintptr_t)p % 4096, 0);
	for (size_t i = 0; i < 8192; i++)
		if (p[i] != 0)
			fail_msg("byte %zu of fresh memory is %u", i, p[i]);
	memset(p, 0xa5, 8192);
	sk_mr_dereg(mr);
}

/*
 * sk_rkey_ptr: loads through it read what a READ reads; NULL past the
 * key's range and for a key without the READ right. A ucx peer's
 * sk_mr_alloc memory on this host (SK_TEST_PEER_MEM=alloc) must be
 * mapped; registered memory, and rdma, are not.
 */
static void test_rkey_ptr(void **state)
{
	struct fixture *f = *state;
	const char *mode = getenv("SK_TEST_PEER_MEM");
	bool want = f->attr.direct_mem && mode && strcmp(mode, "alloc") == 0;
	unsigned char *buf = f->buf;
	struct sk_rkey *rkey, *wkey;
	const unsigned char *p;
	struct sk_wc wc;
	uint64_t a;

	assert_true(sk_test_peer_reg(&f->peer, f->ep, 8192,
				     SK_ACCESS_REMOTE_READ, 11, &rkey,
				     NULL) >= 0);
	assert_true(sk_test_peer_reg(&f->peer, f->ep, 4096,
				     SK_ACCESS_REMOTE_WRITE, 12, &wkey,
				     NULL) >= 0);
	a = sk_rkey_addr(rkey);
	p = sk_rkey_ptr(rkey, a + 100);
	if (!want) {
		assert_null(p);
	} else {
		assert_non_null(p);
		POST(f, sk_post_read(f->ep, f->mr, buf, 8000, rkey, a + 100, 0,
				     NULL));
		assert_int_equal(fx_wait(f, &wc, 1, TIMEOUT_MS), 1);
		assert_int_equal(wc.status, SK_OK);
		assert_memory_equal(p, buf, 8000);
		assert_ptr_equal(sk_rkey_ptr(rkey, a + 8191), p + 8091);
	}
	assert_null(sk_rkey_ptr(rkey, a + 8192));
	assert_null(sk_rkey_ptr(rkey, a - 1));
	assert_null(sk_rkey_ptr(wkey, sk_rkey_addr(wkey)));
	assert_null(sk_rkey_ptr(NULL, 0));
	/* For stores, READ and WRITE are both needed. */
	assert_null(sk_rkey_ptr_rw(rkey, a + 100));
	assert_null(sk_rkey_ptr_rw(wkey, sk_rkey_addr(wkey)));
	assert_null(sk_rkey_ptr_rw(NULL, 0));
	sk_rkey_destroy(rkey);
	sk_rkey_destroy(wkey);
}

/*
 * sk_rkey_ptr_rw: stores through it are what a READ then reads, and what
 * it reads is what a WRITE wrote; a system call takes it as its buffer.
 * NULL where sk_rkey_ptr is, and past the key's range.
 */
static void test_rkey_ptr_rw(void **state)
{
	struct fixture *f = *state;
	const char *mode = getenv("SK_TEST_PEER_MEM");
	bool want = f->attr.direct_mem && mode && strcmp(mode, "alloc") == 0;
	unsigned char *buf = f->buf;
	struct sk_rkey *key;
	unsigned char *p;
	struct sk_wc wc;
	int pfd[2];
	uint64_t a;

	assert_true(sk_test_peer_reg(&f->peer, f->ep, 8192,
				     SK_ACCESS_REMOTE_READ |
					     SK_ACCESS_REMOTE_WRITE,
				     13, &key, NULL) >= 0);
	a = sk_rkey_addr(key);
	p = sk_rkey_ptr_rw(key, a + 64);
	if (!want) {
		assert_null(p);
		sk_rkey_destroy(key);
		return;
	}
	assert_non_null(p);
	assert_ptr_equal(sk_rkey_ptr(key, a + 64), p);
	/* A pipe's read(2) stores into the peer's memory. */
	assert_int_equal(pipe(pfd), 0);
	assert_int_equal(write(pfd[1], "through a system call", 21), 21);
	assert_int_equal(read(pfd[0], p, 21), 21);
	close(pfd[0]);
	close(pfd[1]);
	POST(f, sk_post_read(f->ep, f->mr, buf, 21, key, a + 64, 0, NULL));
	assert_int_equal(fx_wait(f, &wc, 1, TIMEOUT_MS), 1);
	assert_int_equal(wc.status, SK_OK);
	assert_memory_equal(buf, "through a system call", 21);
	memcpy(buf, "a WRITE", 7);
	POST(f, sk_post_write(f->ep, f->mr, buf, 7, key, a + 1000, 0, NULL));
	assert_int_equal(fx_wait(f, &wc, 1, TIMEOUT_MS), 1);
	assert_int_equal(wc.status, SK_OK);
	assert_memory_equal(p + 936, "a WRITE", 7);
	assert_null(sk_rkey_ptr_rw(key, a + 8192));
	sk_rkey_destroy(key);
}

static void test_write_to_readonly(void **state)
{
	check_violation(*state, WRITE_READONLY);
}

static void test_read_without_right(void **state)
{
	check_violation(*state, READ_NOREAD);
}

static void test_stale_key(void **state)
{
	check_violation(*state, STALE_KEY);
}

static void test_out_of_range(void **state)
{
	check_violation(*state, OUT_OF_RANGE);
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * The peer is killed while writes stream to it: every posted operation
 * completes, the first failures with an error, and all within a bound.
 */
static void test_peer_killed(void **state)
{
	struct fixture *f = *state;
	const size_t len = 64 * 1024;
	struct sk_rkey *rkey;
	unsigned posted = 0, done = 0, errors = 0;
	int64_t kill_at, deadline;
	int id, status;

	id = sk_test_peer_reg(&f->peer, f->ep, 1 << 20,
			      SK_ACCESS_REMOTE_WRITE, 1, &rkey, NULL);
	assert_true(id >= 0);
	kill_at = mono_ms() + 200;
	deadline = kill_at + TIMEOUT_MS;
	while (mono_ms() < deadline) {
		struct sk_wc wc[16];
		int n;

		if (f->peer.pid && mono_ms() >= kill_at) {
			kill(f->peer.pid, SIGKILL);
			waitpid(f->peer.pid, &status, 0);
			f->peer.pid = 0;
		}
		/* Keep the queue busy until the kill, then post one write per
		 * wait until the first error shows: over shared memory a write
		 * to a dead peer completes locally, so only the failure
		 * detector (keepalive) can fail the endpoint. */
		while (errors == 0 && posted - done < (f->peer.pid ? 16u : 1u)) {
			sk_status_t st = sk_post_write(
				f->ep, f->mr, f->buf, len, rkey,
				sk_rkey_addr(rkey) + (posted % 16) * len, 0,
				NULL);

			if (st == SK_ERR_AGAIN)
				break;
			assert_int_equal(st, SK_OK);
			posted++;
		}
		n = sk_dev_wait(f->dev, wc, 16, 100);
		assert_true(n >= 0);
		for (int i = 0; i < n; i++) {
			done++;
			if (wc[i].status == SK_OK)
				continue;
			/* The first: the transport's or the watchdog's
			 * verdict, or the connection manager's news that
			 * the peer left (rdma, SKIFF_RDMA_CONNECT=cm). */
			if (errors++ == 0)
				assert_true(wc[i].status ==
						    SK_ERR_RETRY_EXCEEDED ||
					    wc[i].status == SK_ERR_UNREACHABLE ||
					    wc[i].status == SK_ERR_FLUSHED);
			else
				assert_int_equal(wc[i].status, SK_ERR_FLUSHED);
		}
		if (errors && done == posted)
			break;
	}
	if (!errors || done != posted)
		fail_msg("after %d ms: %u posted, %u completed, %u errors",
			 TIMEOUT_MS, posted, done, errors);
	print_message("peer killed: %u writes posted, %u failed, all done in "
		      "%lld ms after the kill\n", posted, errors,
		      (long long)(mono_ms() - kill_at));
	sk_rkey_destroy(rkey);
}

/*
 * The key check of a peer that does not answer. The ucx provider reads the
 * target's key table when it imports a descriptor; over tcp (software RMA)
 * the target's own progress answers that read, so a stopped peer never
 * does. The import must give up after SKIFF_UCX_KEY_CHECK_MS (300 ms
 * here) with SK_ERR_TIMEOUT, and the read it leaves behind must land in
 * memory the provider still owns when the peer wakes and answers (it
 * landed in a dead stack frame: ASan's use-after-return catches it).
 * Providers that check nothing over the network (rdma) just import.
 */
static int setup_silent(void **state)
{
	setenv("UCX_TLS", "tcp", 1);
	setenv("UCX_WARN_UNUSED_ENV_VARS", "n", 0); /* posix knobs */
	setenv("SKIFF_UCX_KEY_CHECK_MS", "300", 1);
	return setup_common(state, 0);
}

static int teardown_silent(void **state)
{
	unsetenv("UCX_TLS");
	unsetenv("SKIFF_UCX_KEY_CHECK_MS");
	return teardown(state);
}

static void test_key_check_timeout(void **state)
{
	struct fixture *f = *state;
	struct sk_test_msg desc;
	struct sk_rkey *rkey = NULL;
	struct sk_wc wc;
	sk_status_t st;
	char *big;
	int id, ok;

	id = sk_test_peer_reg(&f->peer, f->ep, 4096,
			      SK_ACCESS_REMOTE_READ | SK_ACCESS_REMOTE_WRITE,
			      21, NULL, &desc);
	assert_true(id >= 0);
	assert_int_equal(kill(f->peer.pid, SIGSTOP), 0);
	st = sk_rkey_unpack(f->ep, desc.blob, desc.blob_len, &rkey);
	if (st == SK_OK) {
		/* No round trip to wait for (rdma). */
		sk_rkey_destroy(rkey);
		rkey = NULL;
	} else {
		assert_int_equal(st, SK_ERR_TIMEOUT);
		/* A second one waits alone, and gives up alike. */
		assert_int_equal(sk_rkey_unpack(f->ep, desc.blob,
						desc.blob_len, &rkey),
				 SK_ERR_TIMEOUT);
	}
	/* Put a fresh frame where the import's was, then let the peer answer
	 * both reads while we poll. */
	big = alloca(4096);
	memset(big, 0x5a, 4096);
	assert_int_equal(kill(f->peer.pid, SIGCONT), 0);
	for (int i = 0; i < 20; i++)
		assert_int_equal(sk_dev_wait(f->dev, &wc, 1, 10), 0);
	for (int i = 0; i < 4096; i++)
		if (big[i] != 0x5a)
			fail_msg("a late key-table read landed in our stack, at "
				 "byte %d", i);
	/* The endpoint works on: the key imports and is used. */
	assert_int_equal(sk_rkey_unpack(f->ep, desc.blob, desc.blob_len,
					&rkey),
			 SK_OK);
	sk_test_fill(f->buf, 64, 22);
	POST(f, sk_post_write(f->ep, f->mr, f->buf, 64, rkey,
			      sk_rkey_addr(rkey), 0, f));
	expect_wc(f, SK_OP_WRITE, SK_OK, f);
	assert_true(sk_test_peer_cksum(&f->peer, (uint32_t)id, 0, 64, &ok) ==
		    sk_test_cksum(f->buf, 64));
	assert_true(ok);
	sk_rkey_destroy(rkey);
}

/* Have the peer post @count receives of 64 bytes on its endpoint @pep. */
static void peer_post_recvs(struct fixture *f, int pep, unsigned count)
{
	struct sk_test_msg m = {.cmd = SK_TEST_POST_RECVS};

	m.id = (uint32_t)pep;
	m.aux = count;
	m.a = 64;
	m.b = (uint64_t)-1;
	assert_int_equal(sk_test_peer_call(&f->peer, &m), SK_OK);
}

/*
 * Completions of a destroyed endpoint: sends (which some transports
 * complete inside the post) and writes in flight, none polled, when the
 * endpoint goes. No later poll may name it (wc.ep would point at freed
 * memory); the other endpoint's completions all arrive.
 */
static void test_destroy_with_completions(void **state)
{
	struct fixture *f = *state;
	const unsigned n = 32;
	struct sk_rkey *rkey;
	struct sk_ep *ep2, *gone;
	unsigned mine = 0;
	struct sk_wc wc;
	int id, pep2;

	id = sk_test_peer_reg(&f->peer, f->ep, 4096, SK_ACCESS_REMOTE_WRITE,
			      23, &rkey, NULL);
	assert_true(id >= 0);
	assert_int_equal(sk_ep_create(f->dev, &ep2), SK_OK);
	pep2 = sk_test_peer_connect(&f->peer, ep2);
	assert_true(pep2 >= 0);
	peer_post_recvs(f, pep2, n);
	fx_wireup(f, ep2);
	for (unsigned i = 0; i < n; i++) {
		POST(f, sk_post_send(ep2, NULL, "gone", 4, 0, NULL));
		POST(f, sk_post_write(f->ep, f->mr, f->buf, 64, rkey,
				      sk_rkey_addr(rkey), 0, f));
	}
	gone = ep2;
	sk_ep_destroy(ep2);
	while (mine < n) {
		assert_int_equal(fx_wait(f, &wc, 1, TIMEOUT_MS), 1);
		if (wc.ep == gone)
			fail_msg("a completion names the destroyed endpoint "
				 "(%s, %s)", sk_opcode_str(wc.opcode),
				 sk_status_str(wc.status));
		assert_ptr_equal(wc.ep, f->ep);
		assert_int_equal(wc.status, SK_OK);
		mine++;
	}
	assert_int_equal(sk_dev_wait(f->dev, &wc, 1, 200), 0);
	sk_rkey_destroy(rkey);
}

/*
 * A completion holds its place in its endpoint's send queue until it is
 * polled, as on an RDMA NIC: an endpoint of depth 4 takes at most 4
 * signaled operations that nobody polls, then says SK_ERR_AGAIN, so the
 * device's queue cannot overflow (nor grow on the datapath). Sends, which
 * some transports complete inside the post, fill it at once. Polling gives
 * every one of them, in order, and makes room again.
 */
static void test_unpolled_limit(void **state)
{
	struct fixture *f = *state;
	struct sk_ep_attr small = {.sq_depth = 4, .rq_depth = 4};
	struct sk_ep *ep;
	struct sk_wc wc[8];
	unsigned posted = 0;
	sk_status_t st;
	int pep;

	assert_int_equal(sk_ep_create_attr(f->dev, &small, &ep), SK_OK);
	pep = sk_test_peer_connect(&f->peer, ep);
	assert_true(pep >= 0);
	peer_post_recvs(f, pep, 8);
	for (int round = 0; round < 2; round++) {
		unsigned got = 0, first = posted;

		while ((st = sk_post_send(ep, NULL, "unpolled", 8, 0,
					  (void *)(uintptr_t)posted)) ==
		       SK_OK) {
			posted++;
			if (posted - first > 64)
				fail_msg("%u completions posted unpolled on "
					 "an endpoint of depth 4",
					 posted - first);
		}
		assert_int_equal(st, SK_ERR_AGAIN);
		assert_true(posted - first >= 1 && posted - first <= 4);
		while (got < posted - first) {
			int k = fx_wait(f, wc, (int)(posted - first - got),
					TIMEOUT_MS);

			assert_true(k > 0);
			for (int i = 0; i < k; i++, got++) {
				assert_ptr_equal(wc[i].ep, ep);
				assert_int_equal(wc[i].status, SK_OK);
				assert_ptr_equal(wc[i].ctx,
						 (void *)(uintptr_t)(first +
								     got));
			}
		}
	}
	sk_ep_destroy(ep);
}

/*
 * An endpoint that fails with no operation of ours at fault reports why,
 * and every receive posted on it completes (as on an RC QP in the error
 * state), whatever failed it. The ucx provider holds sends that arrive
 * before a receive is posted, up to SKIFF_UCX_UNEXP_DEPTH of them (4 here,
 * and no same-host ring, for this process only); past that the endpoint
 * fails, inside UCX's callback, as when it has no memory to hold one. The
 * next completion must say SK_ERR_REMOTE_OP, not hang or be lost. On
 * providers without that limit (rdma: the sends wait for receives) the
 * test does not apply.
 */
static const char *const early_env[] = {
	"SKIFF_UCX_UNEXP_DEPTH", "4", "SKIFF_UCX_SHM", "0", NULL,
};

static int setup_early(void **state)
{
	fx_local_env = early_env;
	return setup_common(state, 0);
}

static void test_early_overflow_reported(void **state)
{
	struct fixture *f = *state;
	struct sk_test_msg m = {.cmd = SK_TEST_SEND};
	struct sk_wc wc;

	if (strcmp(f->attr.provider, "ucx") != 0)
		skip();
	/* 8 sends of 64 bytes, no receive posted here: the 5th overflows.
	 * The call polls our device (fx_idle) while the peer sends. */
	m.id = (uint32_t)f->peer_ep;
	m.aux = 8;
	m.a = 64;
	m.b = 25;
	assert_int_equal(sk_test_peer_call(&f->peer, &m), SK_OK);
	assert_int_equal(sk_dev_wait(f->dev, &wc, 1, 200), 0);
	POST(f, sk_post_recv(f->ep, f->mr, f->buf, 4096, (void *)1));
	POST(f, sk_post_recv(f->ep, f->mr, f->buf, 4096, (void *)2));
	assert_int_equal(fx_wait(f, &wc, 1, TIMEOUT_MS), 1);
	assert_ptr_equal(wc.ctx, (void *)1);
	assert_int_equal(wc.opcode, SK_OP_RECV);
	if (wc.status != SK_ERR_REMOTE_OP)
		fail_msg("first completion: '%s', expected the failure's "
			 "reason", sk_status_str(wc.status));
	assert_int_equal(fx_wait(f, &wc, 1, TIMEOUT_MS), 1);
	assert_ptr_equal(wc.ctx, (void *)2);
	assert_int_equal(wc.status, SK_ERR_FLUSHED);
	POST(f, sk_post_send(f->ep, NULL, "late", 4, 0, (void *)3));
	expect_wc(f, SK_OP_SEND, SK_ERR_FLUSHED, (void *)3);
}

/*
 * The stall watchdog on a busy device (SKIFF_STALL_MS 400 ms, both
 * sides). One endpoint owes a completion that never comes: a 1 MiB send
 * whose peer posts no receive (it waits, as with RC's infinite RNR
 * retry). Meanwhile another endpoint keeps the device busy, so that (on
 * providers that complete flushes in the post) no poll comes back empty.
 * The stalled endpoint must still fail, with SK_ERR_RETRY_EXCEEDED, and
 * the busy one must see nothing but successes. (The ucx watchdog used to
 * look only on empty polls.)
 */
static void test_stall_busy_device(void **state)
{
	struct fixture *f = *state;
	struct sk_ep *ep2;
	unsigned out = 0, flushes = 0;
	int64_t deadline = mono_ms() + TIMEOUT_MS;
	int done = 0;

	assert_int_equal(sk_ep_create(f->dev, &ep2), SK_OK);
	assert_true(sk_test_peer_connect(&f->peer, ep2) >= 0);
	POST(f, sk_post_send(ep2, f->mr, f->buf, 1 << 20, 0, ep2));
	while (!done && mono_ms() < deadline) {
		struct sk_wc wc[16];
		int n;

		while (out < 8) {
			POST(f, sk_ep_flush(f->ep, f));
			out++;
		}
		n = sk_dev_poll(f->dev, wc, 16);
		for (int i = 0; i < n; i++) {
			if (wc[i].ep == f->ep) {
				assert_int_equal(wc[i].status, SK_OK);
				out--;
				flushes++;
				continue;
			}
			assert_ptr_equal(wc[i].ep, ep2);
			assert_ptr_equal(wc[i].ctx, ep2);
			if (wc[i].status != SK_ERR_RETRY_EXCEEDED)
				fail_msg("the stalled send completed with "
					 "'%s'", sk_status_str(wc[i].status));
			done = 1;
		}
	}
	if (!done)
		fail_msg("the stalled endpoint did not fail in %d ms, while "
			 "%u flushes completed on the other", TIMEOUT_MS,
			 flushes);
	print_message("stalled endpoint failed; %u flushes on the busy one\n",
		      flushes);
	sk_ep_destroy(ep2);
	while (out > 0) {
		struct sk_wc wc;

		assert_int_equal(fx_wait(f, &wc, 1, TIMEOUT_MS), 1);
		assert_int_equal(wc.status, SK_OK);
		out--;
	}
}

/*
 * sk_ep_cancel: a peer that takes nothing (no receive posted: on rdma the
 * sends wait in RNR retry forever) cannot hold a drain. After the cancel
 * every send completes (done already, or flushed), the flush behind them
 * completes flushed, and so does a post after it. The watchdog is off
 * here (SKIFF_STALL_MS=0): only the cancel can end the wait.
 */
static int setup_nostall(void **state)
{
	setenv("SKIFF_STALL_MS", "0", 1);
	return setup_common(state, 0);
}

static void test_cancel(void **state)
{
	struct fixture *f = *state;
	const unsigned n = 4;
	struct sk_wc wc;
	unsigned sends = 0;
	int flushed = 0;

	fx_wireup(f, f->ep);
	for (unsigned i = 0; i < n; i++)
		POST(f, sk_post_send(f->ep, f->mr, f->buf, 64, 0,
				     (void *)(uintptr_t)(i + 1)));
	assert_int_equal(sk_ep_cancel(f->ep), SK_OK);
	assert_int_equal(sk_ep_cancel(f->ep), SK_OK); /* idempotent */
	POST(f, sk_ep_flush(f->ep, f));
	while (!flushed) {
		assert_int_equal(fx_wait(f, &wc, 1, TIMEOUT_MS), 1);
		assert_ptr_equal(wc.ep, f->ep);
		if (wc.ctx == f) {
			assert_int_equal(wc.opcode, SK_OP_FLUSH);
			assert_int_equal(wc.status, SK_ERR_FLUSHED);
			flushed = 1;
			continue;
		}
		assert_int_equal(wc.opcode, SK_OP_SEND);
		assert_int_equal((uintptr_t)wc.ctx, ++sends);
		if (wc.status != SK_OK && wc.status != SK_ERR_FLUSHED)
			fail_msg("send %u completed with '%s'", sends,
				 sk_status_str(wc.status));
	}
	assert_int_equal(sends, n);
	POST(f, sk_post_send(f->ep, f->mr, f->buf, 64, 0, f->buf));
	expect_wc(f, SK_OP_SEND, SK_ERR_FLUSHED, f->buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_write_read_sizes, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_inline_write_buffer_reuse,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_imm, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_send_recv, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_rearm_after_other_wake, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_ep_depths, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_unsignaled_idle,
						setup_stall, teardown_stall),
		cmocka_unit_test_setup_teardown(test_recv_from_peer, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_flush_and_unsignaled,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_atomics_concurrent,
						setup_two, teardown),
		cmocka_unit_test_setup_teardown(test_order_after_atomic, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_mr_alloc, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_rkey_ptr, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_rkey_ptr_rw, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_write_to_readonly, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_read_without_right, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_stale_key, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_out_of_range, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_peer_killed, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_destroy_with_completions,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_unpolled_limit, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_early_overflow_reported,
						setup_early, teardown),
		cmocka_unit_test_setup_teardown(test_stall_busy_device,
						setup_stall, teardown_stall),
		cmocka_unit_test_setup_teardown(test_key_check_timeout,
						setup_silent, teardown_silent),
		cmocka_unit_test_setup_teardown(test_cancel, setup_nostall,
						teardown_stall),
	};
	const char *prov = getenv("SKIFF_PROVIDER");
	char name[64];

	snprintf(name, sizeof(name), "verbs conformance (%s)",
		 prov ? prov : "auto");
	/* SKIFF_TEST_FILTER=test_peer_* runs a subset (cmocka pattern). */
	if (getenv("SKIFF_TEST_FILTER"))
		cmocka_set_test_filter(getenv("SKIFF_TEST_FILTER"));
	return cmocka_run_group_tests_name(name, tests, NULL, NULL);
}
