/*
 * What the rpc tests' processes share (tests/rpc/test_rpc.c,
 * tests/faults/fault_rpc.c, and the echo of tests/rpc/rpc_job.c and
 * hostile_job.c): an echo handler's copy, one side's device, loop, arena
 * and rpc, and the pairing of an endpoint with the other process's over a
 * socket. Header-only; the includer has <skiff/rpc.h> on its path.
 */
#ifndef SKIFF_TESTS_RPC_SIDE_H
#define SKIFF_TESTS_RPC_SIDE_H

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <skiff/rpc.h>

/* Copy @req's bytes into its response buffer. Returns their length, for
 * the caller's sk_rpc_respond(); or -1 once @req is answered @nomem with
 * no bytes, as there is no room for them. */
static inline ssize_t sk_test_echo_copy(struct sk_rpc_req *req, int nomem)
{
	size_t len;
	const void *in = sk_rpc_req_data(req, &len);
	void *out = len ? sk_rpc_resp_buf(req, len) : NULL;

	if (len && out == NULL) {
		sk_rpc_respond(req, nomem, 0);
		return -1;
	}
	if (len)
		memcpy(out, in, len);
	return (ssize_t)len;
}

/* The pattern the rpc tests send and the big handler answers: byte i of
 * seed @seed. */
static inline void sk_test_rpc_fill(void *buf, size_t len, uint32_t seed)
{
	unsigned char *p = buf;

	for (size_t i = 0; i < len; i++)
		p[i] = (unsigned char)((i * 131 + seed * 7 + (i >> 9)) & 0xff);
}

/* The handlers: the request's bytes back with status 0, -EMSGSIZE if
 * there is no room for them (test_rpc, fault_rpc)... */
static inline void sk_test_h_echo(struct sk_rpc_req *req, void *arg)
{
	ssize_t n = sk_test_echo_copy(req, -EMSGSIZE);

	(void)arg;
	if (n >= 0)
		sk_rpc_respond(req, 0, (size_t)n);
}

/* ...or with their length (mod 32 Ki) as the status, -ENOMEM if there is
 * no room (rpc_job, hostile_job: the caller checks both). */
static inline void sk_test_h_echo_len(struct sk_rpc_req *req, void *arg)
{
	ssize_t n = sk_test_echo_copy(req, -ENOMEM);

	(void)arg;
	if (n >= 0)
		sk_rpc_respond(req, (int)(n & 0x7fff), (size_t)n);
}

/* Always fails: -EIO, no bytes. */
static inline void sk_test_h_fail(struct sk_rpc_req *req, void *arg)
{
	(void)arg;
	sk_rpc_respond(req, -EIO, 0);
}

/* The request is a u32 n: answers n bytes of sk_test_rpc_fill(n), built
 * in the response buffer (-EMSGSIZE if there is none that large,
 * -EINVAL for a request of another size). */
static inline void sk_test_h_big(struct sk_rpc_req *req, void *arg)
{
	uint32_t n;
	size_t len;
	const void *p = sk_rpc_req_data(req, &len);
	void *out;

	(void)arg;
	if (len != sizeof(n)) {
		sk_rpc_respond(req, -EINVAL, 0);
		return;
	}
	memcpy(&n, p, sizeof(n));
	out = sk_rpc_resp_buf(req, n);
	if (out == NULL) {
		sk_rpc_respond(req, -EMSGSIZE, 0);
		return;
	}
	sk_test_rpc_fill(out, n, n);
	sk_rpc_respond(req, 0, n);
}

/* One process's rpc: its own device, loop, arena and rpc instance. */
struct side {
	struct sk_dev   *dev;
	struct sk_loop  *loop;
	struct sk_arena *arena;
	struct sk_rpc   *rpc;
};

/* Open @s on the default provider with an arena of @arena_bytes and
 * @access. On failure returns the status with the step's name in @what;
 * what was opened stays in @s for side_close(). */
static inline sk_status_t side_open(struct side *s, size_t arena_bytes,
				    unsigned access, const char **what)
{
	sk_status_t st;

	memset(s, 0, sizeof(*s));
	if ((st = sk_dev_open(NULL, NULL, &s->dev)) != SK_OK) {
		s->dev = NULL;
		*what = "device";
		return st;
	}
	if ((st = sk_loop_create(s->dev, &s->loop)) != SK_OK) {
		s->loop = NULL;
		*what = "loop";
		return st;
	}
	if ((st = sk_arena_create(s->dev, arena_bytes, access, &s->arena)) !=
	    SK_OK) {
		s->arena = NULL;
		*what = "arena";
		return st;
	}
	if ((st = sk_rpc_create(s->loop, s->arena, &s->rpc)) != SK_OK) {
		s->rpc = NULL;
		*what = "rpc";
		return st;
	}
	return SK_OK;
}

static inline void side_close(struct side *s)
{
	if (s->rpc)
		sk_rpc_destroy(s->rpc);
	if (s->arena)
		sk_arena_destroy(s->arena);
	if (s->loop)
		sk_loop_destroy(s->loop);
	if (s->dev)
		sk_dev_close(s->dev);
}

/*
 * Make an endpoint on @s's device, swap addresses with the other process
 * over the connected socket @sock, and connect it. Returns 0 with the
 * endpoint in @ep_p; or, with the step's name in @what, an sk_status_t of
 * the verbs call or -errno of the socket's (-ECONNRESET: it closed).
 */
static inline int ep_pair_over(struct side *s, int sock, struct sk_ep **ep_p,
			       const char **what)
{
	char mine[SK_BLOB_MAX], theirs[SK_BLOB_MAX];
	size_t len = sizeof(mine);
	struct sk_ep *ep;
	sk_status_t st;
	ssize_t n;
	int err;

	if ((st = sk_ep_create(s->dev, &ep)) != SK_OK) {
		*what = "endpoint";
		return st;
	}
	if ((st = sk_ep_addr_pack(ep, mine, &len)) != SK_OK) {
		*what = "endpoint address";
		err = st;
		goto fail;
	}
	/* The other side needs ours even when it is about to fail. */
	if (send(sock, mine, len, MSG_NOSIGNAL) != (ssize_t)len) {
		*what = "send the address";
		err = -errno;
		goto fail;
	}
	n = recv(sock, theirs, sizeof(theirs), 0);
	if (n <= 0) {
		*what = "the other side's address";
		err = n < 0 ? -errno : -ECONNRESET;
		goto fail;
	}
	if ((st = sk_ep_connect(ep, theirs, (size_t)n)) != SK_OK) {
		*what = "connect";
		err = st;
		goto fail;
	}
	*ep_p = ep;
	return 0;
fail:
	sk_ep_destroy(ep);
	return err;
}

#endif /* SKIFF_TESTS_RPC_SIDE_H */
