/*
 * The shared half of rpc_lat and rpc_tput (rpc_bench.h): setup over
 * perf_common, extra endpoints swapped over its socket, the server's
 * handlers and loop, and the final served-calls check.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpc_bench.h"

#define RB_ADD_MS        20000   /* sk_rpc_peer_add timeout */
#define RB_SOCK_EVERY    4096    /* server loop turns between socket looks */
#define RB_SOCK_MS       30000   /* a TCP answer must come within this */
#define RB_CMD_DONE      0x444f4e45u /* "DONE" */
static const char *rb_name(const struct rb *b)
{
	return b->c.opts.tool->name;
}

/* Whether option -@s or --@l is on the command line (perf_opts_parse has
 * parsed it; this tells "given" from "defaulted"). */
int rb_opt_given(int argc, char **argv, char s, const char *l)
{
	size_t ll = strlen(l);

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--") == 0)
			break;
		if (a[0] == '-' && a[1] == s)
			return 1;
		if (a[0] == '-' && a[1] == '-' && strncmp(a + 2, l, ll) == 0 &&
		    (a[2 + ll] == '\0' || a[2 + ll] == '='))
			return 1;
	}
	return 0;
}

/*
 * The TCP exchange without the device: only used where the fabric needs no
 * progress from us (before peer_add, or after the last call), and where
 * the rpc library, not perf_ctx, owns the device's completions. Each read
 * must come within RB_SOCK_MS.
 */
static struct perf_sock rb_sock(const struct rb *b)
{
	return (struct perf_sock){.fd = b->c.sock.fd, .name = rb_name(b)};
}

/* Handler 1, the null RPC of the benchmarks: a response of as many bytes
 * as the request, from sk_rpc_resp_buf() and not written (as ucx_perftest's
 * responder sends its own buffer without looking at what came). */
static void rb_sized(struct sk_rpc_req *req, void *arg)
{
	struct rb *b = arg;
	size_t len;
	int status = 0;

	sk_rpc_req_data(req, &len);
	if (len && sk_rpc_resp_buf(req, len) == NULL) {
		status = -EMSGSIZE;
		len = 0;
	}
	if (sk_rpc_respond(req, status, len) != SK_OK)
		b->resp_fail++;
}

/* Handler 2: the request's bytes back (the warm-up calls check them). */
static void rb_echo(struct sk_rpc_req *req, void *arg)
{
	struct rb *b = arg;
	size_t len;
	const void *in = sk_rpc_req_data(req, &len);
	void *out = NULL;
	int status = 0;

	if (len) {
		out = sk_rpc_resp_buf(req, len);
		if (out == NULL) {
			status = -EMSGSIZE;
			len = 0;
		} else {
			memcpy(out, in, len);
		}
	}
	if (sk_rpc_respond(req, status, len) != SK_OK)
		b->resp_fail++;
}

/* Handler 0: the client's last call; the server's loop ends after it. */
static void rb_stop(struct sk_rpc_req *req, void *arg)
{
	struct rb *b = arg;

	b->stop = 1;
	if (sk_rpc_respond(req, 0, 0) != SK_OK)
		b->resp_fail++;
}

/* Endpoints 1..n-1 beside perf_common's (0): create, swap addresses over
 * the socket (all ours out first, then all the peer's in), connect. */
static int rb_more_eps(struct rb *b, struct sk_ep **eps, unsigned n)
{
	struct perf_sock s = rb_sock(b);
	uint8_t addr[SK_BLOB_MAX];
	size_t len;
	sk_status_t st;
	unsigned i;

	for (i = 1; i < n; i++) {
		len = sizeof(addr);
		st = sk_ep_create(b->c.dev, &eps[i]);
		if (st == SK_OK)
			st = sk_ep_addr_pack(eps[i], addr, &len);
		if (st != SK_OK)
			goto err_st;
		if (perf_sock_blob_send(&s, addr, len))
			goto err;
	}
	for (i = 1; i < n; i++) {
		if (perf_sock_blob_recv(&s, addr, SK_BLOB_MAX, &len,
					RB_SOCK_MS, "an endpoint address"))
			goto err;
		st = sk_ep_connect(eps[i], addr, len);
		if (st != SK_OK)
			goto err_st;
	}
	return 0;
err_st:
	fprintf(stderr, "%s: endpoint %u: %s\n", rb_name(b), i,
		sk_status_str(st));
err:
	for (i = 1; i < n; i++) {
		sk_ep_destroy(eps[i]); /* NULL if never made */
		eps[i] = NULL;
	}
	return -1;
}

/*
 * Loop, arena and rpc over perf_common's device, with @npeers peers: the
 * first over perf_common's endpoint, the others over endpoints made here.
 * Both sides add them in the same order.
 */
int rb_setup(struct rb *b, unsigned npeers)
{
	struct perf_ctx *c = &b->c;
	struct sk_ep *eps[RB_MAX_PEERS] = {0};
	sk_status_t st;
	unsigned i;

	sk_rkey_destroy(c->rkey); /* before its endpoint goes */
	c->rkey = NULL;
	eps[0] = c->ep;
	c->ep = NULL;
	if (rb_more_eps(b, eps, npeers)) {
		sk_ep_destroy(eps[0]);
		return -1;
	}
	if ((st = sk_loop_create(c->dev, &b->loop)) != SK_OK ||
	    (st = sk_arena_create(c->dev, 0, SK_ACCESS_LOCAL, &b->arena)) !=
		    SK_OK ||
	    (st = sk_rpc_create(b->loop, b->arena, &b->rpc)) != SK_OK ||
	    (c->is_server &&
	     ((st = sk_rpc_register(b->rpc, RB_HANDLER_STOP, rb_stop, b)) !=
		      SK_OK ||
	      (st = sk_rpc_register(b->rpc, RB_HANDLER_SIZED, rb_sized,
				    b)) != SK_OK ||
	      (st = sk_rpc_register(b->rpc, RB_HANDLER_ECHO, rb_echo, b)) !=
		      SK_OK))) {
		fprintf(stderr, "%s: cannot create the loop, arena or rpc: "
				"%s\n", rb_name(b), sk_status_str(st));
		for (i = 0; i < npeers; i++)
			sk_ep_destroy(eps[i]);
		return -1;
	}
	for (i = 0; i < npeers; i++) {
		st = sk_rpc_peer_add(b->rpc, eps[i], RB_ADD_MS, &b->peer[i]);
		eps[i] = NULL; /* the rpc's now, even on failure */
		if (st != SK_OK) {
			fprintf(stderr, "%s: sk_rpc_peer_add (peer %u): %s\n",
				rb_name(b), i, sk_status_str(st));
			while (++i < npeers)
				sk_ep_destroy(eps[i]);
			return -1;
		}
		b->npeers++;
	}
	return 0;
}

int rb_start(struct rb *b, const struct perf_opts *o, size_t max,
	     const char *limit, unsigned npeers)
{
	int ret = perf_ctx_init(&b->c, o);

	if (ret)
		return ret;
	if (b->c.opts.size > max) { /* a client checked already */
		fprintf(stderr, "%s: the client asked for %zu bytes; %s %zu\n",
			rb_name(b), b->c.opts.size, limit, max);
		goto err;
	}
	if (rb_setup(b, npeers))
		goto err;
	perf_ctx_print_header(&b->c);
	if (b->c.is_server) {
		ret = rb_serve(b) == 0 ? PERF_EXIT_OK : PERF_EXIT_FAIL;
		rb_teardown(b);
		return ret;
	}
	return -1;

err:
	rb_teardown(b);
	return PERF_EXIT_FAIL;
}

unsigned long rb_warmup(unsigned long iters)
{
	return iters / 10 < 10 ? 10 : iters / 10;
}

void rb_teardown(struct rb *b)
{
	if (b->rpc)
		sk_rpc_destroy(b->rpc); /* removes the peers */
	sk_arena_destroy(b->arena);
	if (b->loop)
		sk_loop_destroy(b->loop);
	perf_ctx_cleanup(&b->c);
}

/*
 * Server: serve until the client's stop call (so that a run ends at the
 * same point however long it was: rpc-callgrind.sh subtracts two runs),
 * then answer the client's "done" with the number of calls served. The
 * socket is looked at every RB_SOCK_EVERY turns: before the stop call,
 * anything there means the client went away.
 */
int rb_serve(struct rb *b)
{
	struct pollfd pfd = {.fd = b->c.sock.fd, .events = POLLIN};
	struct perf_sock s = rb_sock(b);
	struct sk_rpc_stats st;
	uint64_t cmd;

	while (!b->stop) {
		int n = sk_loop_run_once(b->loop, 0);

		if (n < 0) {
			fprintf(stderr, "%s: the loop failed: %s\n", rb_name(b),
				sk_status_str((sk_status_t)n));
			return -1;
		}
		b->turns++;
		b->idle_turns += n == 0;
		if (b->turns % RB_SOCK_EVERY == 0 && poll(&pfd, 1, 0) > 0) {
			fprintf(stderr, "%s: the client went away or failed "
					"(see its messages)\n", rb_name(b));
			return -1;
		}
	}
	if (perf_sock_recv_u64(&s, &cmd, RB_SOCK_MS, "the client's done"))
		return -1;
	if (cmd != RB_CMD_DONE) {
		fprintf(stderr, "%s: unexpected word 0x%llx from the client\n",
			rb_name(b), (unsigned long long)cmd);
		return -1;
	}
	sk_rpc_stats(b->rpc, &st);
	if (perf_sock_send_u64(&s, st.served))
		return -1;
	printf("%s: server: served %llu calls in %lu loop turns (%lu "
	       "empty)%s\n", rb_name(b), (unsigned long long)st.served,
	       b->turns, b->idle_turns,
	       b->resp_fail ? "; some responses failed" : "");
	for (unsigned i = 0; i < b->npeers; i++)
		if (sk_rpc_peer_failed(b->peer[i])) {
			fprintf(stderr, "%s: server: peer %u failed\n",
				rb_name(b), i);
			return -1;
		}
	return b->resp_fail ? -1 : 0;
}

/* Client: the stop call, then "done" over TCP; the server must have
 * served our @calls and the stop call. */
int rb_done(struct rb *b, uint64_t calls)
{
	struct perf_sock s = rb_sock(b);
	uint64_t served;
	int status;

	status = sk_rpc_call_sync(b->peer[0], RB_HANDLER_STOP, NULL, 0, NULL,
				  0, NULL);
	if (status != 0) {
		fprintf(stderr, "%s: the stop call failed: %d\n", rb_name(b),
			status);
		return -1;
	}
	if (perf_sock_send_u64(&s, RB_CMD_DONE) ||
	    perf_sock_recv_u64(&s, &served, RB_SOCK_MS, "the served count"))
		return -1;
	if (served != calls + 1) {
		fprintf(stderr, "%s: the server served %llu calls, we made "
				"%llu\n", rb_name(b),
			(unsigned long long)served,
			(unsigned long long)calls + 1);
		return -1;
	}
	return 0;
}
