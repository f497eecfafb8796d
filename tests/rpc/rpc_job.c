/*
 * rpc_job: rpc inside real skrun jobs, written from rpc.h and os.h alone,
 * as an application would (tests/e2e/jobs.sh runs it).
 *
 *   all          every rank calls every other rank at once (connections
 *                cross, so both directions of a pair meet), echoing 32 B
 *                and 8000 B (inline); then even ranks echo 64 KiB and
 *                1 MiB (by RDMA) with the next rank (a node that both
 *                calls and serves large messages can run out of its 4
 *                large buffers), all checked; then exits without
 *                sk_rpc_destroy (libos ends the rpc at exit)
 *   owner        sk_rpc_peer_add of an endpoint from sk_os_peer (libos's)
 *                is refused, and the job exits cleanly
 *   late         rank 0 opens its rpc 500 ms after the others connect
 *   finished     rank 0 ends at once; rank 1 connects to it later
 *   crowd        ranks > 0 all connect to rank 0 and call it; run with a
 *                small SKIFF_ARENA_MB, some are refused at once
 *   chain [H]    every rank calls the next at once, and each handler prints
 *                a line and passes the call on, by sk_rpc_call_sync from
 *                inside the handler, for H hops (default 5): handlers wait
 *                nested in each other's loops, as an application's
 *                forwarding server does; every answer checked
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <skiff/os.h>
#include <skiff/rpc.h>

#include "../lib/rpc_side.h"

enum { RPC_ECHO = 7, RPC_FWD = 8 };

static void fill(unsigned char *p, size_t len, unsigned from, unsigned to)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (unsigned char)(i * 31 + from * 7 + to * 13);
}

static int check(const unsigned char *p, size_t len, unsigned from,
		 unsigned to)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != (unsigned char)(i * 31 + from * 7 + to * 13))
			return -1;
	return 0;
}

static struct sk_rpc *open_rpc(void)
{
	struct sk_rpc *rpc;
	sk_status_t st = sk_rpc_open(&rpc);

	if (st != SK_OK) {
		printf("rank %u: sk_rpc_open: %s\n", sk_os_rank(),
		       sk_status_str(st));
		exit(1);
	}
	sk_rpc_register(rpc, RPC_ECHO, sk_test_h_echo_len, NULL);
	return rpc;
}

/* One echo of @len bytes to @peer (at @to); 0 when it came back whole. */
static int echo(struct sk_rpc *rpc, struct sk_rpc_peer *peer, unsigned to,
		size_t len)
{
	unsigned me = sk_os_rank();
	unsigned char *req = sk_rpc_buf_alloc(rpc, len);
	unsigned char *resp = sk_rpc_buf_alloc(rpc, len);
	size_t got = 0;
	int rc = -1;

	if (req == NULL || resp == NULL) {
		printf("rank %u: no buffer for %zu bytes\n", me, len);
		goto out;
	}
	fill(req, len, me, to);
	rc = sk_rpc_call_sync(peer, RPC_ECHO, req, len, resp, len, &got);
	if (rc != (int)(len & 0x7fff) || got != len ||
	    check(resp, len, me, to) != 0) {
		printf("rank %u: echo of %zu bytes to rank %u: status %d, "
		       "%zu bytes%s\n", me, len, to, rc, got,
		       got == len ? ", corrupted" : "");
		rc = -1;
	} else {
		rc = 0;
	}
out:
	if (req)
		sk_rpc_buf_free(rpc, req);
	if (resp)
		sk_rpc_buf_free(rpc, resp);
	return rc;
}

static int do_all(void)
{
	static const size_t sizes[] = {32, 8000};
	unsigned me = sk_os_rank(), n = sk_os_size(), bad = 0;
	struct sk_rpc *rpc = open_rpc();
	struct sk_rpc_peer *next;

	for (unsigned i = 1; i < n; i++) {
		unsigned to = (me + i) % n;
		struct sk_rpc_peer *peer;
		sk_status_t st = sk_rpc_connect(rpc, to, -1, &peer);

		if (st != SK_OK || sk_rpc_peer_rank(peer) != (int)to) {
			printf("rank %u: connect to %u: %s\n", me, to,
			       sk_status_str(st));
			bad++;
			continue;
		}
		for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++)
			bad += echo(rpc, peer, to, sizes[k]) != 0;
	}
	if (me % 2 == 0 && me + 1 < n) {
		if (sk_rpc_connect(rpc, me + 1, -1, &next) == SK_OK) {
			bad += echo(rpc, next, me + 1, 64 << 10) != 0;
			bad += echo(rpc, next, me + 1, 1 << 20) != 0;
		} else {
			bad++;
		}
	}
	/* Everyone's calls are answered before anyone leaves. */
	sk_os_barrier();
	printf("rank %u: %u peers %s\n", me, n - 1, bad ? "FAILED" : "ok");
	/* No sk_rpc_destroy: libos ends the rpc at exit. */
	return bad ? 1 : 0;
}

/* The bug this guards: libos's endpoint given to rpc was destroyed twice
 * at exit. */
static int do_owner(void)
{
	unsigned me = sk_os_rank(), other = me ^ 1;
	struct sk_rpc *rpc;
	struct sk_rpc_peer *peer;
	sk_status_t st;

	if (other >= sk_os_size())
		return 0;
	st = sk_rpc_create(sk_os_loop(), sk_os_arena(), &rpc);
	if (st != SK_OK)
		return 1;
	st = sk_rpc_peer_add(rpc, sk_os_peer(other), 5000, &peer);
	printf("rank %u: peer_add of sk_os_peer: %s\n", me, sk_status_str(st));
	sk_rpc_destroy(rpc);
	/* libos's endpoint is still libos's and still works. */
	sk_os_barrier();
	return st == SK_ERR_INVAL ? 0 : 1;
}

static int do_late(void)
{
	unsigned me = sk_os_rank();
	struct sk_rpc *rpc;
	struct sk_rpc_peer *peer;
	sk_status_t st;
	int rc = 0;

	if (me == 0)
		sk_os_sleep_ms(500);
	rpc = open_rpc();
	if (me != 0) {
		st = sk_rpc_connect(rpc, 0, -1, &peer);
		rc = st == SK_OK ? echo(rpc, peer, 0, 100) : -1;
		printf("rank %u: late server %s\n", me, rc ? "FAILED" : "ok");
	}
	sk_os_barrier();
	sk_rpc_destroy(rpc);
	return rc ? 1 : 0;
}

static int do_finished(void)
{
	unsigned me = sk_os_rank();
	struct sk_rpc *rpc;
	struct sk_rpc_peer *peer;
	sk_status_t st;

	if (me == 0)
		return 0; /* gone before anyone connects */
	rpc = open_rpc();
	sk_os_sleep_ms(1000);
	st = sk_rpc_connect(rpc, 0, 10000, &peer);
	printf("rank %u: connect to a finished rank: %s\n", me,
	       sk_status_str(st));
	sk_rpc_destroy(rpc);
	return st == SK_ERR_UNREACHABLE ? 0 : 1;
}

static int do_crowd(void)
{
	unsigned me = sk_os_rank();
	struct sk_rpc *rpc = open_rpc();
	struct sk_rpc_peer *peer;
	sk_status_t st = SK_OK;
	int rc = 0;

	if (me != 0) {
		st = sk_rpc_connect(rpc, 0, 20000, &peer);
		if (st == SK_OK)
			rc = echo(rpc, peer, 0, 64);
		printf("rank %u: crowd: %s\n", me,
		       st != SK_OK ? sk_status_str(st) :
		       rc == 0     ? "served" : "FAILED");
	}
	sk_os_barrier();
	sk_rpc_destroy(rpc);
	return st == SK_OK || st == SK_ERR_UNREACHABLE ? (rc ? 1 : 0) : 1;
}

/* ---- chain ---- */

struct fwd {
	uint32_t origin; /* the rank whose call this is */
	uint32_t hops;   /* handlers left to pass it on */
	uint8_t  data[56];
};

static struct sk_rpc_peer *chain_next;
static unsigned chain_served, chain_bad;

/* The last hop answers with the request and its own rank as the status;
 * the others print, pass it on and wait, inside this handler, for the
 * answer they then return. */
static void h_fwd(struct sk_rpc_req *req, void *arg)
{
	unsigned me = sk_os_rank();
	struct fwd f, back;
	size_t len, got = 0;
	const void *in = sk_rpc_req_data(req, &len);
	void *out;
	int rc;

	(void)arg;
	if (len != sizeof(f)) {
		chain_bad++;
		sk_rpc_respond(req, -EINVAL, 0);
		return;
	}
	memcpy(&f, in, sizeof(f));
	chain_served++;
	rc = (int)me;
	back = f;
	if (f.hops > 0) {
		printf("rank %u: passing rank %u's call on, %u hops left\n", me,
		       f.origin, f.hops);
		f.hops--;
		rc = sk_rpc_call_sync(chain_next, RPC_FWD, &f, sizeof(f),
				      &back, sizeof(back), &got);
		if (rc >= 0 && got != sizeof(back))
			rc = -EPROTO;
	}
	out = sk_rpc_resp_buf(req, sizeof(back));
	if (out == NULL || rc < 0) {
		sk_rpc_respond(req, rc < 0 ? rc : -ENOMEM, 0);
		return;
	}
	memcpy(out, &back, sizeof(back));
	sk_rpc_respond(req, rc, sizeof(back));
}

static int do_chain(unsigned hops)
{
	unsigned me = sk_os_rank(), n = sk_os_size();
	unsigned last = (me + hops + 1) % n;
	struct sk_rpc *rpc = open_rpc();
	struct fwd f = {.origin = me, .hops = hops}, back;
	size_t got = 0;
	sk_status_t st;
	int rc;

	sk_rpc_register(rpc, RPC_FWD, h_fwd, NULL);
	st = sk_rpc_connect(rpc, (me + 1) % n, -1, &chain_next);
	if (st != SK_OK) {
		printf("rank %u: connect to %u: %s\n", me, (me + 1) % n,
		       sk_status_str(st));
		return 1;
	}
	/* Everyone's handler can pass calls on before anyone calls. */
	sk_os_barrier();
	fill(f.data, sizeof(f.data), me, last);
	rc = sk_rpc_call_sync(chain_next, RPC_FWD, &f, sizeof(f), &back,
			      sizeof(back), &got);
	if (rc != (int)last || got != sizeof(back) || back.origin != me ||
	    check(back.data, sizeof(back.data), me, last) != 0) {
		printf("rank %u: chain of %u hops: status %d (want %u), %zu "
		       "bytes\n", me, hops, rc, last, got);
		chain_bad++;
	}
	/* Every chain is answered before anyone leaves. */
	sk_os_barrier();
	printf("rank %u: chain of %u hops %s, %u calls served\n", me, hops,
	       chain_bad ? "FAILED" : "ok", chain_served);
	return chain_bad ? 1 : 0;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";

	if (!sk_os_booted() || sk_os_size() < 2) {
		fprintf(stderr, "rpc_job: run under skrun with 2+ nodes\n");
		return 2;
	}
	if (strcmp(cmd, "all") == 0)
		return do_all();
	if (strcmp(cmd, "owner") == 0)
		return do_owner();
	if (strcmp(cmd, "late") == 0)
		return do_late();
	if (strcmp(cmd, "finished") == 0)
		return do_finished();
	if (strcmp(cmd, "crowd") == 0)
		return do_crowd();
	if (strcmp(cmd, "chain") == 0)
		return do_chain(argc > 2 ? (unsigned)atoi(argv[2]) : 5);
	fprintf(stderr, "rpc_job: unknown mode '%s'\n", cmd);
	return 2;
}
