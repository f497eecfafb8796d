/*
 * The rpc library between two real processes, on whichever provider
 * SKIFF_PROVIDER names (ucx on the host; rdma inside the Soft-RoCE guest).
 *
 * Each test forks a server process. Test and server each open their own
 * device, loop, arena and rpc; endpoint addresses cross a socketpair (the
 * out-of-band channel), everything else crosses the fabric. The server's
 * handlers: echo, a deferred answer after a delay, an error, a response of
 * a requested size, and one that kills the server. Its main loop also obeys
 * commands on the socket: make another connection (and keep it, to remove
 * it on command), report its counters, count the large buffers it can
 * still take.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <skiff/rpc.h>

#include "../lib/rpc_side.h"

#include "../../rpc/wire.h"

enum { H_ECHO = 1, H_DEFER, H_FAIL, H_BIG, H_DIE, H_DEFER_READ,
       H_UNKNOWN = 9 };
enum { CMD_CONNECT = 1, CMD_STATS, CMD_EXIT, CMD_PAIR, CMD_REMOVE,
       CMD_POOL };

static void side_open_or_exit(struct side *s)
{
	const char *what;
	sk_status_t st = side_open(s, 32u << 20, SK_ACCESS_LOCAL, &what);

	if (st != SK_OK) {
		fprintf(stderr, "test_rpc: cannot open a %s: %s\n", what,
			sk_status_str(st));
		exit(2);
	}
}

/* Make an endpoint, pair it with the other side's over @sock. */
static struct sk_ep *ep_pair(struct side *s, int sock)
{
	struct sk_ep *ep;
	const char *what;

	return ep_pair_over(s, sock, &ep, &what) == 0 ? ep : NULL;
}

static struct sk_rpc_peer *rpc_pair(struct side *s, int sock)
{
	struct sk_ep *ep = ep_pair(s, sock);
	struct sk_rpc_peer *p;

	if (ep == NULL)
		return NULL;
	if (sk_rpc_peer_add(s->rpc, ep, 20000, &p) != SK_OK)
		return NULL; /* the rpc destroyed ep */
	return p;
}

/* ---- the server process ---- */

struct deferred {
	struct sk_timer    t;
	struct sk_rpc_req *req;
	uint32_t           tag;
};

static void defer_fire(struct sk_timer *t)
{
	struct deferred *d = (struct deferred *)t;
	void *out = sk_rpc_resp_buf(d->req, sizeof(d->tag));

	memcpy(out, &d->tag, sizeof(d->tag));
	sk_rpc_respond(d->req, (int)d->tag, sizeof(d->tag));
	free(d);
}

static struct sk_loop *srv_loop;

static void h_defer(struct sk_rpc_req *req, void *arg)
{
	uint32_t in[2];
	size_t len;
	const void *p = sk_rpc_req_data(req, &len);
	struct deferred *d = calloc(1, sizeof(*d));

	memcpy(in, p, sizeof(in));
	d->req = req;
	d->tag = in[1];
	d->t.cb = defer_fire;
	sk_timer_start(srv_loop, &d->t, in[0]); /* answered later */
}

/* Answers 300 ms later, reading the request only then: by that time the
 * bad-input test has had the connection closed (the request, read in place
 * from the ucx provider's ring, must have moved with it). The bytes must
 * be the ones sent (fill seed 99), or the server aborts. */
#define DEFER_READ_LEN 1000

static void defer_read_fire(struct sk_timer *t)
{
	struct deferred *d = (struct deferred *)t;
	unsigned char want[DEFER_READ_LEN];
	size_t len;
	const void *in = sk_rpc_req_data(d->req, &len);

	sk_test_rpc_fill(want, sizeof(want), 99);
	if (len != sizeof(want) || memcmp(in, want, len) != 0)
		abort();
	sk_rpc_respond(d->req, 0, 0);
	free(d);
}

static void h_defer_read(struct sk_rpc_req *req, void *arg)
{
	struct deferred *d = calloc(1, sizeof(*d));

	d->req = req;
	d->t.cb = defer_read_fire;
	sk_timer_start(srv_loop, &d->t, 300);
}

static void h_die(struct sk_rpc_req *req, void *arg)
{
	raise(SIGKILL);
}

struct srv_thread {
	int sock;
};

/* A second server thread: its own device, loop and rpc. */
static void *srv_thread_main(void *arg)
{
	struct srv_thread *t = arg;
	struct side s;
	struct sk_rpc_peer *p;

	side_open_or_exit(&s);
	sk_rpc_register(s.rpc, H_ECHO, sk_test_h_echo, NULL);
	p = rpc_pair(&s, t->sock);
	while (p && !sk_rpc_peer_failed(p))
		sk_loop_run_once(s.loop, 200);
	side_close(&s);
	return NULL;
}

struct srv_ctl {
	struct sk_watch     w;
	struct side        *s;
	int                 done;
	struct sk_rpc_peer *kept; /* CMD_PAIR's, for CMD_REMOVE */
};

static void srv_cmd(struct sk_watch *w, unsigned revents)
{
	struct srv_ctl *c = (struct srv_ctl *)w;
	struct sk_rpc_stats st;
	uint32_t cmd = 0;
	ssize_t n = recv(w->fd, &cmd, sizeof(cmd), MSG_DONTWAIT);

	/* A command that runs the loop (CMD_CONNECT, CMD_PAIR) can have
	 * this watch called again for the readiness it already consumed. */
	if (n < 0 && errno == EAGAIN)
		return;
	if (n != sizeof(cmd) || cmd == CMD_EXIT) {
		c->done = 1;
		return;
	}
	if (cmd == CMD_CONNECT) {
		/* May fail: the bad-input tests send garbage here. */
		rpc_pair(c->s, w->fd);
	} else if (cmd == CMD_STATS) {
		sk_rpc_stats(c->s->rpc, &st);
		send(w->fd, &st, sizeof(st), 0);
	} else if (cmd == CMD_PAIR) {
		c->kept = rpc_pair(c->s, w->fd);
	} else if (cmd == CMD_REMOVE) {
		uint32_t ok = c->kept != NULL;

		if (c->kept)
			sk_rpc_peer_remove(c->kept);
		c->kept = NULL;
		send(w->fd, &ok, sizeof(ok), 0);
	} else if (cmd == CMD_POOL) {
		/* How many of the large pool's buffers are free: take them
		 * all, count, give them back. */
		void *b[16];
		uint32_t nb = 0;

		while (nb < 16 &&
		       (b[nb] = sk_rpc_buf_alloc(c->s->rpc, SK_RPC_MSG_MAX)))
			nb++;
		for (uint32_t i = 0; i < nb; i++)
			sk_rpc_buf_free(c->s->rpc, b[i]);
		send(w->fd, &nb, sizeof(nb), 0);
	}
}

static void server_main(int ctl, int thr1, int thr2)
{
	struct srv_thread t1 = {thr1}, t2 = {thr2};
	struct srv_ctl c = {.w = {.cb = srv_cmd, .fd = ctl, .events = POLLIN}};
	pthread_t th[2];
	struct side s;

	side_open_or_exit(&s);
	srv_loop = s.loop;
	c.s = &s;
	sk_rpc_register(s.rpc, H_ECHO, sk_test_h_echo, NULL);
	sk_rpc_register(s.rpc, H_DEFER, h_defer, NULL);
	sk_rpc_register(s.rpc, H_FAIL, sk_test_h_fail, NULL);
	sk_rpc_register(s.rpc, H_BIG, sk_test_h_big, NULL);
	sk_rpc_register(s.rpc, H_DIE, h_die, NULL);
	sk_rpc_register(s.rpc, H_DEFER_READ, h_defer_read, NULL);
	pthread_create(&th[0], NULL, srv_thread_main, &t1);
	pthread_create(&th[1], NULL, srv_thread_main, &t2);
	/* The first connection, then commands. */
	rpc_pair(&s, ctl);
	sk_watch_start(s.loop, &c.w);
	while (!c.done)
		sk_loop_run_once(s.loop, 1000);
	_exit(0); /* threads may still wait for a connection */
}

/* ---- the test side ---- */

struct fixture {
	pid_t               pid;
	int                 ctl, thr[2];
	struct side         s;
	struct sk_rpc_peer *peer;
	struct sk_region    raw;  /* what the raw peers expose (raw_open) */
};

static struct fixture fx;

static int setup(void **state)
{
	int ctl[2], t1[2], t2[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, ctl) ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET, 0, t1) ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET, 0, t2))
		return -1;
	fx.pid = fork();
	if (fx.pid == 0) {
		close(ctl[0]);
		close(t1[0]);
		close(t2[0]);
		server_main(ctl[1], t1[1], t2[1]);
	}
	close(ctl[1]);
	close(t1[1]);
	close(t2[1]);
	fx.ctl = ctl[0];
	fx.thr[0] = t1[0];
	fx.thr[1] = t2[0];
	side_open_or_exit(&fx.s);
	fx.peer = rpc_pair(&fx.s, fx.ctl);
	return fx.peer ? 0 : -1;
}

static int teardown(void **state)
{
	uint32_t cmd = CMD_EXIT;
	int status;

	send(fx.ctl, &cmd, sizeof(cmd), MSG_NOSIGNAL);
	if (fx.raw.mr)
		sk_arena_region_release(fx.s.arena, &fx.raw);
	fx.raw.mr = NULL;
	side_close(&fx.s);
	close(fx.ctl);
	close(fx.thr[0]);
	close(fx.thr[1]);
	kill(fx.pid, SIGKILL);
	waitpid(fx.pid, &status, 0);
	return 0;
}

/* Echo calls of every size class, each checked byte for byte. */
static void echo_sizes(void)
{
	static const size_t sizes[] = {
		/* 63, 64, 65: about the server's own small response
		 * bytes (serve.c), no pool buffer up to 64 */
		0, 1, 31, 32, 63, 64, 65, 4095, 4096, SK_RPC_INLINE_MAX,
		SK_RPC_INLINE_MAX + 1, 65536, 300001, SK_RPC_MSG_MAX,
	};
	struct sk_rpc *rpc = fx.s.rpc;
	size_t i, got;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t n = sizes[i];
		char *req = sk_rpc_buf_alloc(rpc, n);
		char *want = malloc(n + 1), *resp = malloc(n + 1);
		int rc;

		assert_non_null(req);
		sk_test_rpc_fill(req, n, (uint32_t)n);
		memcpy(want, req, n);
		memset(resp, 0, n + 1);
		rc = sk_rpc_call_sync(fx.peer, H_ECHO, req, n, resp, n, &got);
		assert_int_equal(rc, 0);
		assert_int_equal(got, n);
		assert_memory_equal(resp, want, n);
		sk_rpc_buf_free(rpc, req);
		free(want);
		free(resp);
	}
}

static void test_sizes(void **state)
{
	size_t got;

	echo_sizes();
	/* An inline request from ordinary memory is copied, not refused. */
	{
		char small[100], back[100];

		sk_test_rpc_fill(small, sizeof(small), 5);
		assert_int_equal(sk_rpc_call_sync(fx.peer, H_ECHO, small,
						  sizeof(small), back,
						  sizeof(back), &got), 0);
		assert_memory_equal(small, back, sizeof(small));
	}
}

struct outst {
	int      done;
	int      status;
	uint32_t tag;
	int      order;
};

static int completion_order;

static void outst_cont(void *arg, int status, const void *resp, size_t len)
{
	struct outst *o = arg;

	o->done = 1;
	o->status = status;
	if (len == sizeof(o->tag))
		memcpy(&o->tag, resp, sizeof(o->tag));
	o->order = completion_order++;
}

/* Many calls in flight, answered later and out of order; more calls than
 * credits wait for credits (SK_ERR_AGAIN), none is lost. */
static void test_outstanding_deferred(void **state)
{
	enum { N = 200 };
	struct outst *o = calloc(N, sizeof(*o));
	unsigned i, posted = 0, done = 0, inversions = 0;

	completion_order = 0;
	while (done < N) {
		while (posted < N) {
			/* Later calls get shorter delays: out of order. */
			uint32_t in[2] = {(uint32_t)(40 - (posted % 16) * 2),
					  posted + 1000};
			sk_status_t st = sk_rpc_call(fx.peer, H_DEFER, in,
						     sizeof(in), NULL, 0,
						     outst_cont, &o[posted]);

			if (st == SK_ERR_AGAIN)
				break;
			assert_int_equal(st, SK_OK);
			posted++;
		}
		sk_loop_run_once(fx.s.loop, 100);
		for (done = 0, i = 0; i < N; i++)
			done += o[i].done;
	}
	for (i = 0; i < N; i++) {
		assert_int_equal(o[i].status, (int)(i + 1000));
		assert_int_equal(o[i].tag, i + 1000);
		if (i > 0 && o[i].order < o[i - 1].order)
			inversions++;
	}
	/* The delays make later calls overtake earlier ones. */
	assert_true(inversions > 0);
	free(o);
}

static void test_errors(void **state)
{
	char buf[64];
	uint32_t n;
	size_t got;
	void *rbuf;

	/* A handler's error reaches the caller. */
	assert_int_equal(sk_rpc_call_sync(fx.peer, H_FAIL, "x", 1, NULL, 0,
					  &got), -EIO);
	/* An unknown handler id gets an error response. */
	assert_int_equal(sk_rpc_call_sync(fx.peer, H_UNKNOWN, "x", 1, NULL, 0,
					  &got), -ENOENT);
	/* A response larger than the caller can take. */
	n = 1000;
	assert_int_equal(sk_rpc_call_sync(fx.peer, H_BIG, &n, sizeof(n), buf,
					  sizeof(buf), &got), -EMSGSIZE);
	/* A large response into a registered buffer, verified. */
	n = 500000;
	rbuf = malloc(n);
	assert_int_equal(sk_rpc_call_sync(fx.peer, H_BIG, &n, sizeof(n), rbuf,
					  n, &got), 0);
	assert_int_equal(got, n);
	{
		char *want = malloc(n);

		sk_test_rpc_fill(want, n, n);
		assert_memory_equal(rbuf, want, n);
		free(want);
	}
	free(rbuf);
	/* Bad arguments are refused locally. */
	assert_int_equal(sk_rpc_call(fx.peer, H_ECHO, buf, SK_RPC_MSG_MAX + 1,
				     NULL, 0, outst_cont, NULL), SK_ERR_INVAL);
	/* The connection still works. */
	assert_int_equal(sk_rpc_call_sync(fx.peer, H_ECHO, "ok", 2, buf,
					  sizeof(buf), &got), 0);
}

struct thr_arg {
	int      sock;
	unsigned ok;
};

static void *client_thread(void *arg)
{
	struct thr_arg *t = arg;
	struct side s;
	struct sk_rpc_peer *p;
	unsigned i;

	side_open_or_exit(&s);
	p = rpc_pair(&s, t->sock);
	for (i = 0; p && i < 2000; i++) {
		uint32_t v = i ^ (uint32_t)t->sock << 20, back = 0;
		size_t got;

		if (sk_rpc_call_sync(p, H_ECHO, &v, sizeof(v), &back,
				     sizeof(back), &got) == 0 &&
		    got == sizeof(v) && back == v)
			t->ok++;
	}
	if (p)
		sk_rpc_peer_remove(p);
	side_close(&s);
	return NULL;
}

/* Two threads, each with its own device, loop, rpc and endpoint, talking
 * to two server threads at once. */
static void test_two_threads(void **state)
{
	struct thr_arg a[2] = {{fx.thr[0], 0}, {fx.thr[1], 0}};
	pthread_t th[2];
	int i;

	for (i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&th[i], NULL, client_thread,
						&a[i]), 0);
	for (i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(a[0].ok, 2000);
	assert_int_equal(a[1].ok, 2000);
}

struct raw_op {
	struct sk_op op;
	int          done;
	sk_status_t  st;
};

static void raw_done(struct sk_op *op, const struct sk_wc *wc)
{
	((struct raw_op *)op)->done = 1;
	((struct raw_op *)op)->st = wc->status;
}

static void raw_wait(struct raw_op *o, int timeout_ms)
{
	uint64_t end = sk_time_ns() + (uint64_t)timeout_ms * 1000000ull;

	while (!o->done && sk_time_ns() < end)
		sk_loop_run_once(fx.s.loop, 50);
}

/* Send raw bytes on a new connection whose other end is a server rpc:
 * optionally a hello, optionally a first message @pre, then @msg. */
static void raw_connection2(const void *pre, size_t prelen, const void *msg,
			    size_t len, int with_hello)
{
	uint32_t cmd = CMD_CONNECT;
	struct sk_ep *ep;
	char *buf = sk_rpc_buf_alloc(fx.s.rpc, 0);
	char *rx = sk_rpc_buf_alloc(fx.s.rpc, 0);
	struct raw_op rop = {.op.done = raw_done}, hop = {.op.done = raw_done},
		      sop = {.op.done = raw_done};
	const struct sk_mr *mr = sk_arena_mr(fx.s.arena);

	assert_int_equal(send(fx.ctl, &cmd, sizeof(cmd), 0), sizeof(cmd));
	ep = ep_pair(&fx.s, fx.ctl);
	assert_non_null(ep);
	/* Take the server's hello, so its send is not left waiting. */
	assert_int_equal(sk_post_recv(ep, mr, rx, SK_RPC_SLOT_SIZE, &rop.op),
			 SK_OK);
	if (with_hello) {
		struct sk_rpc_hdr h = {.magic = SK_RPC_MAGIC,
				       .type = SK_RPC_HELLO};
		size_t blen = SK_BLOB_MAX;

		sk_mr_pack(mr, buf + SK_RPC_HDR, &blen);
		h.len = (uint32_t)blen;
		memcpy(buf, &h, sizeof(h));
		assert_int_equal(sk_post_send(ep, mr, buf, SK_RPC_HDR + blen, 0,
					      &hop.op), SK_OK);
		raw_wait(&hop, 10000);
		assert_true(hop.done);
	}
	/* The server checks our arena key (a round trip on ucx): serve it. */
	raw_wait(&rop, 500);
	if (pre) {
		struct raw_op pop = {.op.done = raw_done};

		memcpy(buf, pre, prelen);
		assert_int_equal(sk_post_send(ep, mr, buf, prelen, 0, &pop.op),
				 SK_OK);
		raw_wait(&pop, 3000);
		assert_true(pop.done);
	}
	memcpy(buf, msg, len);
	assert_int_equal(sk_post_send(ep, mr, buf, len, 0, &sop.op), SK_OK);
	raw_wait(&sop, 3000);
	/* Let the server judge it (its answer is to close), then drop our
	 * side; the receive still pending is dropped with the endpoint. */
	raw_wait(&rop, 300);
	{
		struct raw_op idle = {.op.done = raw_done};

		raw_wait(&idle, 300); /* serve the server while it judges */
	}
	sk_ep_destroy(ep);
	sk_rpc_buf_free(fx.s.rpc, buf);
	sk_rpc_buf_free(fx.s.rpc, rx);
}

static void raw_connection(const void *msg, size_t len, int with_hello)
{
	raw_connection2(NULL, 0, msg, len, with_hello);
}

static void server_stats(struct sk_rpc_stats *st)
{
	uint32_t cmd = CMD_STATS;

	assert_int_equal(send(fx.ctl, &cmd, sizeof(cmd), 0), sizeof(cmd));
	assert_int_equal(recv(fx.ctl, st, sizeof(*st), 0), sizeof(*st));
}

/* Malformed messages close that connection only; the server lives on and
 * keeps serving its other connection. */
static void test_bad_input(void **state)
{
	struct sk_rpc_stats before, after;
	struct sk_rpc_hdr h;
	char garbage[64], buf[16];
	size_t got;

	server_stats(&before);
	memset(garbage, 0xa5, sizeof(garbage));
	raw_connection(garbage, sizeof(garbage), 0); /* instead of a hello */
	memset(&h, 0, sizeof(h));
	h.magic = SK_RPC_MAGIC;
	h.type = SK_RPC_REQ;
	h.call = SK_RPC_CREDITS + 3; /* out of range */
	raw_connection(&h, sizeof(h), 1);
	h.call = 0;
	h.len = 5000; /* says more bytes than it has */
	raw_connection(&h, sizeof(h), 1);
	h.len = 0;
	h.type = SK_RPC_RESP; /* a response to no call */
	raw_connection(&h, sizeof(h), 1);
	raw_connection(&h, 7, 1); /* shorter than a header */
	{
		/* A request the server defers and reads only after the
		 * connection was closed for the bad message that followed. */
		char req[SK_RPC_HDR + DEFER_READ_LEN];
		struct sk_rpc_hdr rh = {.magic = SK_RPC_MAGIC,
					.type = SK_RPC_REQ,
					.handler = H_DEFER_READ,
					.len = DEFER_READ_LEN};

		memcpy(req, &rh, sizeof(rh));
		sk_test_rpc_fill(req + SK_RPC_HDR, DEFER_READ_LEN, 99);
		raw_connection2(req, sizeof(req), garbage, sizeof(garbage), 1);
		usleep(400 * 1000); /* the deferred answer fires meanwhile */
	}
	server_stats(&after);
	assert_true(after.bad_msgs >= before.bad_msgs + 5);
	assert_true(after.peer_failures >= before.peer_failures + 6);
	assert_int_equal(sk_rpc_call_sync(fx.peer, H_ECHO, "alive", 5, buf,
					  sizeof(buf), &got), 0);
	assert_memory_equal(buf, "alive", 5);
}

/*
 * A raw connection to the server's rpc, driven message by message: the
 * test speaks the wire format itself (rpc/wire.h), as a hostile peer
 * would. @nrecv receives are posted for what the server sends (its hello
 * first); with fewer than its answers, its sends wait for one (on rdma).
 */
struct raw {
	struct sk_ep  *ep;
	char          *rx[8];
	struct raw_op  rop[8];
	char          *tx[16];
	struct raw_op  sop[16];
	unsigned       ntx;
};

/* The raw peers' exposed region (as an rpc's large buffers): 4 MiB,
 * carved once per test. */
static struct sk_region *raw_region(void)
{
	if (fx.raw.mr == NULL)
		assert_int_equal(sk_arena_region(fx.s.arena, 4u << 20,
						 SK_ACCESS_ALL, &fx.raw),
				 SK_OK);
	return &fx.raw;
}

static void raw_open(struct raw *r, unsigned nrecv)
{
	uint32_t cmd = CMD_CONNECT;
	const struct sk_mr *mr = sk_arena_mr(fx.s.arena);
	struct sk_rpc_hdr h = {.magic = SK_RPC_MAGIC, .type = SK_RPC_HELLO};
	size_t blen = SK_BLOB_MAX;
	unsigned i;

	memset(r, 0, sizeof(*r));
	assert_true(nrecv >= 1 && nrecv <= 8);
	assert_int_equal(send(fx.ctl, &cmd, sizeof(cmd), 0), sizeof(cmd));
	r->ep = ep_pair(&fx.s, fx.ctl);
	assert_non_null(r->ep);
	for (i = 0; i < nrecv; i++) {
		r->rx[i] = sk_rpc_buf_alloc(fx.s.rpc, 0);
		r->rop[i].op.done = raw_done;
		assert_int_equal(sk_post_recv(r->ep, mr, r->rx[i],
					      SK_RPC_SLOT_SIZE, &r->rop[i].op),
				 SK_OK);
	}
	r->tx[0] = sk_rpc_buf_alloc(fx.s.rpc, 0);
	assert_int_equal(sk_mr_pack(raw_region()->mr, r->tx[0] + SK_RPC_HDR,
				    &blen), SK_OK);
	h.len = (uint32_t)blen;
	memcpy(r->tx[0], &h, sizeof(h));
	r->sop[0].op.done = raw_done;
	assert_int_equal(sk_post_send(r->ep, mr, r->tx[0], SK_RPC_HDR + blen,
				      0, &r->sop[0].op), SK_OK);
	r->ntx = 1;
	raw_wait(&r->sop[0], 10000);
	assert_true(r->sop[0].done);
	/* The server checks our arena key (a round trip on ucx): serve it
	 * until its hello is in. */
	raw_wait(&r->rop[0], 3000);
}

/* Send @len bytes of @msg (each from its own buffer: sends may wait). */
static void raw_send(struct raw *r, const void *msg, size_t len)
{
	unsigned i = r->ntx++;

	assert_true(i < 16);
	r->tx[i] = sk_rpc_buf_alloc(fx.s.rpc, 0);
	r->sop[i].op.done = raw_done;
	memcpy(r->tx[i], msg, len);
	assert_int_equal(sk_post_send(r->ep, sk_arena_mr(fx.s.arena),
				      r->tx[i], len, 0, &r->sop[i].op), SK_OK);
}

/* Serve the loop for @ms (the server judges meanwhile), then drop our
 * side: what is still pending goes with the endpoint. */
static void raw_close(struct raw *r, int ms)
{
	struct raw_op idle = {.op.done = raw_done}, fl = {.op.done = raw_done};
	unsigned i;

	/* What we sent has reached the server before our end goes (a forced
	 * close drops what UCX still holds). */
	if (sk_ep_flush(r->ep, &fl.op) == SK_OK)
		raw_wait(&fl, 5000);
	raw_wait(&idle, ms);
	sk_ep_destroy(r->ep);
	for (i = 0; i < 8; i++)
		sk_rpc_buf_free(fx.s.rpc, r->rx[i]);
	for (i = 0; i < r->ntx; i++)
		sk_rpc_buf_free(fx.s.rpc, r->tx[i]);
}

static uint32_t server_cmd(uint32_t cmd)
{
	uint32_t v = 0;

	assert_int_equal(send(fx.ctl, &cmd, sizeof(cmd), 0), sizeof(cmd));
	assert_int_equal(recv(fx.ctl, &v, sizeof(v), 0), sizeof(v));
	return v;
}

/* The server's free large buffers, once it has closed what it was
 * closing (a drain ends within its bound: 5 x SKIFF_RPC_PROBE_MS). */
static uint32_t server_large_free(void)
{
	uint32_t n = 0;

	for (int i = 0; i < 100; i++) {
		struct raw_op idle = {.op.done = raw_done};

		n = server_cmd(CMD_POOL);
		if (n == 4)
			break;
		raw_wait(&idle, 100);
	}
	return n;
}

static void echo_ok(struct sk_rpc_peer *p)
{
	char buf[16];
	size_t got;

	assert_int_equal(sk_rpc_call_sync(p, H_ECHO, "alive", 5, buf,
					  sizeof(buf), &got), 0);
	assert_int_equal(got, 5);
	assert_memory_equal(buf, "alive", 5);
}

/* A large request whose address lies outside the caller's buffer (the
 * region its hello exposed): the server's read is refused (SK_ERR_REMOTE_ACCESS), which
 * closes that connection only; its large buffer goes back, and the other
 * connection keeps working. */
static void test_large_req_out_of_range(void **state)
{
	uint64_t base = (uintptr_t)raw_region()->base;
	uint64_t end = base + raw_region()->size;
	const uint64_t bad[] = {
		end - 1000,          /* crosses the end */
		end + (64u << 20),   /* wholly past it */
		base - 200000,       /* before it */
		4096,                /* nowhere near */
	};
	struct sk_rpc_stats before, after;
	unsigned i;

	server_stats(&before);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct sk_rpc_hdr h = {.magic = SK_RPC_MAGIC,
				       .type = SK_RPC_REQ,
				       .flags = SK_RPC_F_LARGE_REQ,
				       .handler = H_ECHO,
				       .len = 100000, .req_addr = bad[i]};
		struct raw r;

		raw_open(&r, 2);
		raw_send(&r, &h, sizeof(h));
		raw_close(&r, 300);
		echo_ok(fx.peer);
	}
	server_stats(&after);
	assert_true(after.peer_failures >= before.peer_failures + 4);
	assert_int_equal(after.served, before.served + 4); /* echo_ok's */
	assert_int_equal(server_large_free(), 4);
	echo_ok(fx.peer);
}

/*
 * Large buffers come back after a peer failure. The raw peer asks for a
 * large response (the server RDMA-writes it with an immediate, holding
 * one of its 4 large buffers) but posts no receive for the immediate (on
 * rdma the write then waits, RNR), and breaks the protocol at once: the
 * server closes the connection with the write still in flight. Six times,
 * more than the pool has: each buffer must come back when the connection
 * goes.
 */
static void test_pool_after_failure(void **state)
{
	uint32_t n = 500000;
	char *resp = raw_region()->base + 4096; /* room for the trailer */
	char garbage[64];
	unsigned i;

	assert_non_null(resp);
	memset(garbage, 0xa5, sizeof(garbage));
	for (i = 0; i < 6; i++) {
		char msg[SK_RPC_HDR + sizeof(n)];
		struct sk_rpc_hdr h = {.magic = SK_RPC_MAGIC,
				       .type = SK_RPC_REQ,
				       .flags = SK_RPC_F_RESP_ADDR,
				       .handler = H_BIG, .len = sizeof(n),
				       .resp_cap = n,
				       .resp_addr = (uintptr_t)resp};
		struct raw r;

		memcpy(msg, &h, sizeof(h));
		memcpy(msg + SK_RPC_HDR, &n, sizeof(n));
		raw_open(&r, 1); /* the hello's, nothing for the answer */
		raw_send(&r, msg, sizeof(msg));
		raw_send(&r, garbage, sizeof(garbage));
		raw_close(&r, 100);
	}
	assert_int_equal(server_large_free(), 4);
	/* And they serve: a large response to the good peer. */
	{
		char *back = sk_rpc_buf_alloc(fx.s.rpc, n);
		size_t got;

		assert_non_null(back);
		assert_int_equal(sk_rpc_call_sync(fx.peer, H_BIG, &n,
						  sizeof(n), back, n, &got), 0);
		assert_int_equal(got, n);
		sk_rpc_buf_free(fx.s.rpc, back);
	}
	echo_ok(fx.peer);
}

/*
 * Large requests that wait for a buffer, and a peer that sends two of them
 * on one call slot (more requests than credits): when buffers free, the
 * first is taken and the second closes the connection, while the server
 * walks its list of waiting requests. The server lives on.
 */
static void test_deferred_over_credits(void **state)
{
	const size_t len = SK_RPC_INLINE_MAX + 100;
	char *payload = raw_region()->base;
	struct sk_rpc_stats before, after;
	struct raw r;
	unsigned i;

	assert_non_null(payload);
	{
		uint32_t in[2] = {300, 7}; /* held 300 ms by the handler */

		memset(payload, 0, len);
		memcpy(payload, in, sizeof(in));
	}
	server_stats(&before);
	raw_open(&r, 8);
	for (i = 0; i < 6; i++) {
		/* 0..3 take the server's 4 large buffers; two on slot 4
		 * wait for one. */
		struct sk_rpc_hdr h = {.magic = SK_RPC_MAGIC,
				       .type = SK_RPC_REQ,
				       .flags = SK_RPC_F_LARGE_REQ,
				       .handler = H_DEFER,
				       .call = (uint16_t)(i < 4 ? i : 4),
				       .len = (uint32_t)len, .resp_cap = 64,
				       .req_addr = (uintptr_t)payload};

		raw_send(&r, &h, sizeof(h));
	}
	raw_close(&r, 800);
	server_stats(&after);
	/* The four were read and answered (so the two waited), then the
	 * connection closed. */
	assert_true(after.served >= before.served + 4);
	assert_true(after.peer_failures >= before.peer_failures + 1);
	assert_int_equal(server_large_free(), 4);
	echo_ok(fx.peer);
}

/* More calls than credits: exactly SK_RPC_CREDITS go, the next is
 * SK_ERR_AGAIN, and every one that went completes. */
static void test_credits(void **state)
{
	struct outst o[SK_RPC_CREDITS + 1];
	unsigned i, done = 0;

	memset(o, 0, sizeof(o));
	for (i = 0; i < SK_RPC_CREDITS; i++) {
		uint32_t in[2] = {50, i + 1};

		assert_int_equal(sk_rpc_call(fx.peer, H_DEFER, in, sizeof(in),
					     NULL, 0, outst_cont, &o[i]),
				 SK_OK);
	}
	{
		uint32_t in[2] = {0, 999};

		assert_int_equal(sk_rpc_call(fx.peer, H_DEFER, in, sizeof(in),
					     NULL, 0, outst_cont,
					     &o[SK_RPC_CREDITS]),
				 SK_ERR_AGAIN);
	}
	while (done < SK_RPC_CREDITS) {
		sk_loop_run_once(fx.s.loop, 100);
		for (done = 0, i = 0; i < SK_RPC_CREDITS; i++)
			done += o[i].done;
	}
	for (i = 0; i < SK_RPC_CREDITS; i++) {
		assert_int_equal(o[i].status, (int)(i + 1));
		assert_int_equal(o[i].tag, i + 1);
	}
	assert_false(o[SK_RPC_CREDITS].done);
	/* The credits are back: the refused call goes now. */
	{
		uint32_t in[2] = {0, 999};

		assert_int_equal(sk_rpc_call(fx.peer, H_DEFER, in, sizeof(in),
					     NULL, 0, outst_cont,
					     &o[SK_RPC_CREDITS]),
				 SK_OK);
		while (!o[SK_RPC_CREDITS].done)
			sk_loop_run_once(fx.s.loop, 100);
		assert_int_equal(o[SK_RPC_CREDITS].status, 999);
	}
}

/*
 * A peer's receive slots (272 KiB of arena each) go back when it goes:
 * add and remove a peer on both sides three times as often as either
 * 32 MiB arena could hold peers without reuse.
 */
static void test_slot_reuse(void **state)
{
	size_t per = (size_t)(2 * SK_RPC_CREDITS + 2) * SK_RPC_SLOT_SIZE;
	unsigned cycles = 3 * (unsigned)(sk_arena_size(fx.s.arena) / per);
	size_t used = 0;
	unsigned i;

	for (i = 0; i < cycles; i++) {
		uint32_t cmd = CMD_PAIR;
		struct sk_rpc_peer *p;

		assert_int_equal(send(fx.ctl, &cmd, sizeof(cmd), 0),
				 sizeof(cmd));
		p = rpc_pair(&fx.s, fx.ctl);
		if (p == NULL)
			fail_msg("cycle %u of %u: no peer (arena used %zu of "
				 "%zu)", i, cycles, sk_arena_used(fx.s.arena),
				 sk_arena_size(fx.s.arena));
		echo_ok(p);
		assert_int_equal(server_cmd(CMD_REMOVE), 1);
		sk_rpc_peer_remove(p);
		if (i == 2 * cycles / 3)
			used = sk_arena_used(fx.s.arena);
	}
	/* Blocks were reused: without reuse the arena runs out a third of
	 * the way through. And carving stopped: a removed peer's block
	 * comes back when its drain ends, which on a loaded machine (a TCG
	 * guest) can be several peers later, so the first cycles may carve
	 * as many blocks as drains overlap; by the last third those are
	 * all in circulation, and a few more at most are carved. */
	if (sk_arena_used(fx.s.arena) > used + 4 * per)
		fail_msg("the last third of %u cycles carved %zu more blocks",
			 cycles, (sk_arena_used(fx.s.arena) - used) / per);
	echo_ok(fx.peer);
}

/* Post one raw operation on @ep and wait for it; its status. */
static sk_status_t raw_post_wait(sk_status_t st, struct raw_op *o)
{
	if (st != SK_OK)
		return st;
	raw_wait(o, 10000);
	return o->done ? o->st : SK_ERR_TIMEOUT;
}

/*
 * A hostile peer: it connects, takes the server's hello, and RDMA-writes
 * random bytes over every byte the key in it covers, then tries the byte
 * after. Only data may be there: the server keeps serving its other
 * connection, every size class, and the write past the end is refused.
 */
static void test_hostile_write(void **state)
{
	enum { CHUNK = 65536 };
	uint32_t cmd = CMD_CONNECT;
	const struct sk_mr *mr = sk_arena_mr(fx.s.arena);
	char *rx = sk_rpc_buf_alloc(fx.s.rpc, 0);
	char *hello = sk_rpc_buf_alloc(fx.s.rpc, 0);
	char *junk = sk_arena_alloc(fx.s.arena, CHUNK, 4096);
	struct raw_op rop = {.op.done = raw_done}, hop = {.op.done = raw_done};
	struct sk_rpc_hdr h;
	struct sk_rpc_stats st;
	struct sk_rkey *rkey;
	struct sk_ep *ep;
	uint64_t off, len, addr;
	size_t blen = SK_BLOB_MAX;

	assert_non_null(junk);
	assert_int_equal(send(fx.ctl, &cmd, sizeof(cmd), 0), sizeof(cmd));
	ep = ep_pair(&fx.s, fx.ctl);
	assert_non_null(ep);
	assert_int_equal(raw_post_wait(sk_post_recv(ep, mr, rx,
						    SK_RPC_SLOT_SIZE, &rop.op),
				       &rop),
			 SK_OK);
	memcpy(&h, rx, sizeof(h));
	assert_int_equal(h.type, SK_RPC_HELLO);
	assert_true(h.len <= SK_RPC_SLOT_SIZE - SK_RPC_HDR);
	assert_int_equal(sk_rkey_unpack(ep, rx + SK_RPC_HDR, h.len, &rkey),
			 SK_OK);
	/* Ours, so that the server's peer_add is done with this one. */
	h = (struct sk_rpc_hdr){.magic = SK_RPC_MAGIC, .type = SK_RPC_HELLO};
	assert_int_equal(sk_mr_pack(mr, hello + SK_RPC_HDR, &blen), SK_OK);
	h.len = (uint32_t)blen;
	memcpy(hello, &h, sizeof(h));
	assert_int_equal(raw_post_wait(sk_post_send(ep, mr, hello,
						    SK_RPC_HDR + blen, 0,
						    &hop.op),
				       &hop),
			 SK_OK);

	addr = sk_rkey_addr(rkey);
	len = sk_rkey_len(rkey);
	printf("hostile: the server's hello exposes %llu KiB\n",
	       (unsigned long long)(len >> 10));
	assert_true(len < 32u << 20); /* not its whole arena */
	for (off = 0; off < len; off += CHUNK) {
		struct raw_op w = {.op.done = raw_done};
		uint64_t n = len - off < CHUNK ? len - off : CHUNK;

		sk_test_rpc_fill(junk, n, (uint32_t)off);
		assert_int_equal(raw_post_wait(sk_post_write(ep, mr, junk, n,
							     rkey, addr + off,
							     0, &w.op),
					       &w),
				 SK_OK);
	}
	{
		struct raw_op w = {.op.done = raw_done};

		/* One byte past the end: refused here (ucx) or by the
		 * target's NIC (rdma), which then closes the connection. */
		assert_int_equal(raw_post_wait(sk_post_write(ep, mr, junk, 64,
							     rkey, addr + len,
							     0, &w.op),
					       &w),
				 SK_ERR_REMOTE_ACCESS);
	}
	sk_rkey_destroy(rkey);
	sk_ep_destroy(ep);
	sk_rpc_buf_free(fx.s.rpc, rx);
	sk_rpc_buf_free(fx.s.rpc, hello);

	/* The server serves on: every size class, twice (each of its large
	 * buffers in turn), then its counters. */
	echo_sizes();
	echo_sizes();
	server_stats(&st);
	assert_true(st.served > 0);
}

static void kill_cont(void *arg, int status, const void *resp, size_t len)
{
	struct outst *o = arg;

	o->done = 1;
	o->status = status;
}

/* The server dies with calls pending: each completes with an error, and
 * the wait is bounded. */
static void test_peer_kill(void **state)
{
	enum { N = 10 };
	struct outst o[N];
	uint64_t start;
	unsigned i, done = 0;

	memset(o, 0, sizeof(o));
	for (i = 0; i < N; i++) {
		uint32_t in[2] = {60000, i}; /* never answered in time */

		assert_int_equal(sk_rpc_call(fx.peer, H_DEFER, in, sizeof(in),
					     NULL, 0, kill_cont, &o[i]),
				 SK_OK);
	}
	sk_loop_run_once(fx.s.loop, 50);
	kill(fx.pid, SIGKILL);
	start = sk_time_ns();
	while (done < N && sk_time_ns() - start < 30000000000ull) {
		sk_loop_run_once(fx.s.loop, 100);
		for (done = 0, i = 0; i < N; i++)
			done += o[i].done;
	}
	printf("peer kill: %u of %u calls failed, %.0f ms after the kill\n",
	       done, N, (double)(sk_time_ns() - start) / 1e6);
	assert_int_equal(done, N);
	for (i = 0; i < N; i++)
		assert_int_equal(o[i].status, -ECONNRESET);
	assert_true(sk_rpc_peer_failed(fx.peer));
	assert_int_equal(sk_rpc_call(fx.peer, H_ECHO, "x", 1, NULL, 0,
				     kill_cont, &o[0]), SK_ERR_FLUSHED);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sizes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_outstanding_deferred,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_threads, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bad_input, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_large_req_out_of_range,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_pool_after_failure, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_deferred_over_credits,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_credits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slot_reuse, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_hostile_write, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_peer_kill, setup,
						teardown),
	};

	/* Bound the dead-peer detection of both providers for the kill
	 * test (Soft-RoCE never times out by itself). */
	setenv("SKIFF_STALL_MS", "2000", 0);
	setenv("SKIFF_RPC_PROBE_MS", "200", 0);
	signal(SIGPIPE, SIG_IGN);
	if (argc > 1)
		cmocka_set_test_filter(argv[1]); /* one test: its name */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
