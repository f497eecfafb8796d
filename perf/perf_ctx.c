/*
 * The Skiff benchmarks' connection (perf_common.h): open the device, meet
 * the peer over the TCP exchange (perf_sock.c), agree on the hello
 * (perf_hello.c), swap endpoint addresses and memory descriptors, then
 * barriers, completion polling and the busy-wait helpers that notice a
 * dead peer, and the perftest-like header of the report.
 *
 * Waiting: with the rdma provider the NIC serves the peer's operations, so
 * an idle side sleeps on the socket like perftest's server; with ucx every
 * wait on the socket polls the device (perf_sock.h says why), keeping the
 * completions that arrive for the next perf_ctx_poll().
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "perf_common.h"

#define PERF_ERR_LEN      256         /* longest refusal: ~150 bytes */

static const char *perf_name(const struct perf_ctx *c)
{
	return c->opts.tool->name;
}

/* Poll the device from a socket wait, keeping what completes. */
static int perf_ctx_stash_poll(struct perf_ctx *c)
{
	unsigned room = PERF_STASH - (c->stash_head - c->stash_tail);
	struct sk_wc wc[PERF_STASH];
	int n;

	if (room == 0) {
		fprintf(stderr, "%s: %d completions arrived while waiting for "
				"the peer; giving up\n", perf_name(c),
			PERF_STASH);
		return -1;
	}
	n = sk_dev_poll(c->dev, wc, (int)room);
	if (n < 0) {
		fprintf(stderr, "%s: polling the device failed: %s\n",
			perf_name(c), sk_status_str((sk_status_t)n));
		return -1;
	}
	for (int i = 0; i < n; i++)
		c->stash[c->stash_head++ % PERF_STASH] = wc[i];
	return 0;
}

/* perf_sock's progress hook: the device, while we wait on the socket. */
static int perf_ctx_sock_progress(void *arg)
{
	return perf_ctx_stash_poll(arg);
}

int perf_ctx_send_u32(struct perf_ctx *c, uint32_t v)
{
	return perf_sock_send_u32(&c->sock, v);
}

int perf_ctx_recv_u32(struct perf_ctx *c, uint32_t *v)
{
	return perf_sock_recv_u32(&c->sock, v, 0, NULL);
}

/* Check the peer's hello and, on the server, adopt its parameters. */
static int perf_hello_check(struct perf_ctx *c, const uint8_t *b)
{
	char err[PERF_ERR_LEN];
	struct perf_opts agreed;

	if (perf_hello_parse(b, PERF_HELLO_LEN, &c->opts, &c->attr, &agreed,
			     err, sizeof(err))) {
		fprintf(stderr, "%s: %s\n", perf_name(c), err);
		return -1;
	}
	c->opts = agreed;
	return 0;
}

/* Client sends its hello, server checks and echoes. */
static int perf_hello(struct perf_ctx *c)
{
	uint8_t b[PERF_HELLO_LEN];

	if (!c->is_server) {
		perf_hello_pack(&c->opts, c->attr.provider, b);
		if (perf_sock_write(&c->sock, b, sizeof(b)) ||
		    perf_sock_read(&c->sock, b, sizeof(b), 0, NULL))
			return -1;
		return perf_hello_check(c, b);
	}
	if (perf_sock_read(&c->sock, b, sizeof(b), 0, NULL) ||
	    perf_hello_check(c, b))
		return -1;
	perf_hello_pack(&c->opts, c->attr.provider, b);
	return perf_sock_write(&c->sock, b, sizeof(b));
}

static int perf_ctx_alloc(struct perf_ctx *c)
{
	const struct perf_opts *o = &c->opts;
	size_t sizes[32], max = 0, len;
	unsigned n = perf_opts_sizes(o, sizes);
	sk_status_t st;

	for (unsigned i = 0; i < n; i++)
		if (sizes[i] > max)
			max = sizes[i];
	c->slot_len = (max + PERF_SLOT_ALIGN - 1) & ~(size_t)(PERF_SLOT_ALIGN - 1);
	c->buf_len = PERF_SLOT_ALIGN + o->tool->slots * c->slot_len;
	len = (c->buf_len + 4095) & ~(size_t)4095;
	if (o->alloc) {
		st = sk_mr_alloc(c->dev, c->buf_len, SK_ACCESS_ALL, &c->mr);
		if (st != SK_OK) {
			fprintf(stderr, "%s: cannot allocate %zu bytes: %s\n",
				perf_name(c), c->buf_len, sk_status_str(st));
			return -1;
		}
		c->buf = sk_mr_addr(c->mr);
		return 0;
	}
	c->buf = aligned_alloc(4096, len);
	if (c->buf == NULL) {
		fprintf(stderr, "%s: cannot allocate %zu bytes\n",
			perf_name(c), len);
		return -1;
	}
	memset(c->buf, 0, len);
	st = sk_mr_reg(c->dev, c->buf, c->buf_len, SK_ACCESS_ALL, &c->mr);
	if (st != SK_OK) {
		fprintf(stderr, "%s: cannot register %zu bytes: %s\n",
			perf_name(c), c->buf_len, sk_status_str(st));
		free(c->buf);
		c->buf = NULL;
		return -1;
	}
	return 0;
}

/* Swap endpoint addresses and memory descriptors; connect; import. */
static int perf_ctx_connect(struct perf_ctx *c)
{
	uint8_t addr[SK_BLOB_MAX], desc[SK_BLOB_MAX];
	size_t alen = sizeof(addr), dlen = sizeof(desc);
	sk_status_t st;

	st = sk_ep_create(c->dev, &c->ep);
	if (st != SK_OK) {
		fprintf(stderr, "%s: cannot create an endpoint: %s\n",
			perf_name(c), sk_status_str(st));
		return -1;
	}
	if ((st = sk_ep_addr_pack(c->ep, addr, &alen)) ||
	    (st = sk_mr_pack(c->mr, desc, &dlen))) {
		fprintf(stderr, "%s: cannot pack our address: %s\n",
			perf_name(c), sk_status_str(st));
		goto err_destroy_ep;
	}
	if (perf_sock_blob_send(&c->sock, addr, alen) ||
	    perf_sock_blob_send(&c->sock, desc, dlen))
		goto err_destroy_ep;
	if (perf_sock_blob_recv(&c->sock, addr, SK_BLOB_MAX, &alen, 0,
				"an endpoint address") ||
	    perf_sock_blob_recv(&c->sock, desc, SK_BLOB_MAX, &dlen, 0,
				"a memory descriptor"))
		goto err_destroy_ep;
	st = sk_ep_connect(c->ep, addr, alen);
	if (st != SK_OK) {
		fprintf(stderr, "%s: cannot connect to the peer's endpoint: "
				"%s\n", perf_name(c), sk_status_str(st));
		goto err_destroy_ep;
	}
	st = sk_rkey_unpack(c->ep, desc, dlen, &c->rkey);
	if (st != SK_OK) {
		fprintf(stderr, "%s: cannot import the peer's memory "
				"descriptor: %s\n", perf_name(c),
			sk_status_str(st));
		goto err_destroy_ep;
	}
	/* Both sides computed the same layout from the same parameters. */
	if (sk_rkey_len(c->rkey) < c->buf_len ||
	    (sk_rkey_access(c->rkey) & SK_ACCESS_ALL) != SK_ACCESS_ALL) {
		fprintf(stderr, "%s: the peer registered %llu bytes with "
				"rights 0x%x; we need %zu with all rights\n",
			perf_name(c),
			(unsigned long long)sk_rkey_len(c->rkey),
			sk_rkey_access(c->rkey), c->buf_len);
		goto err_destroy_rkey;
	}
	c->raddr = sk_rkey_addr(c->rkey);
	return 0;

err_destroy_rkey:
	sk_rkey_destroy(c->rkey);
	c->rkey = NULL;
err_destroy_ep:
	sk_ep_destroy(c->ep);
	c->ep = NULL;
	return -1;
}

int perf_ctx_init(struct perf_ctx *c, const struct perf_opts *o)
{
	sk_status_t st;
	int ret;

	*c = (struct perf_ctx){.opts = *o,
			       .sock = {.fd = -1, .name = o->tool->name},
			       .is_server = o->server == NULL};
	st = sk_dev_open(o->provider, o->device, &c->dev);
	if (st != SK_OK) {
		fprintf(stderr, "%s: cannot open the device (provider %s, "
				"device %s): %s\n", perf_name(c),
			o->provider ? o->provider : "$SKIFF_PROVIDER",
			o->device ? o->device : "default", sk_status_str(st));
		return PERF_EXIT_FAIL;
	}
	sk_dev_query(c->dev, &c->attr);
	c->progress_peer = strcmp(c->attr.provider, "rdma") != 0;
	if (c->progress_peer) {
		c->sock.progress = perf_ctx_sock_progress;
		c->sock.arg = c;
	}

	ret = c->is_server ? perf_sock_listen(&c->sock, o->port) :
			     perf_sock_connect(&c->sock, o->server, o->port);
	if (ret)
		goto err_close_dev;
	ret = PERF_EXIT_FAIL;
	if (perf_hello(c))
		goto err_close_sock;
	if (perf_ctx_alloc(c))
		goto err_close_sock;
	if (perf_ctx_connect(c))
		goto err_dereg;
	if (perf_ctx_sync(c))
		goto err_disconnect;
	return 0;

err_disconnect:
	sk_rkey_destroy(c->rkey);
	sk_ep_destroy(c->ep);
err_dereg:
	sk_mr_dereg(c->mr);
	if (!c->opts.alloc)
		free(c->buf);
err_close_sock:
	perf_sock_close(&c->sock);
err_close_dev:
	sk_dev_close(c->dev);
	c->dev = NULL;
	return ret;
}

void perf_ctx_cleanup(struct perf_ctx *c)
{
	if (c->dev == NULL)
		return;
	sk_rkey_destroy(c->rkey);
	sk_ep_destroy(c->ep);
	sk_mr_dereg(c->mr);
	sk_dev_close(c->dev);
	if (!c->opts.alloc) /* else the device's, gone with it */
		free(c->buf);
	perf_sock_close(&c->sock);
	c->dev = NULL;
}

int perf_ctx_sync(struct perf_ctx *c)
{
	uint32_t seq = ++c->sync_seq, got;

	/* The server speaks second, so a server that reaches the barrier
	 * early sends nothing while the client is still in its test (where
	 * perf_ctx_peer_gone() takes data on the socket for a failure). */
	if (c->is_server) {
		if (perf_ctx_recv_u32(c, &got) || perf_ctx_send_u32(c, seq))
			return -1;
	} else if (perf_ctx_send_u32(c, seq) || perf_ctx_recv_u32(c, &got)) {
		return -1;
	}
	if (got != seq) {
		fprintf(stderr, "%s: the peer is out of step (barrier %u, "
				"ours %u)\n", perf_name(c), got, seq);
		return -1;
	}
	return 0;
}

int perf_ctx_peer_gone(struct perf_ctx *c)
{
	if (++c->spins % PERF_GONE_EVERY)
		return 0;
	return perf_sock_peer_gone(&c->sock);
}

int perf_ctx_poll(struct perf_ctx *c, struct sk_wc *wc, int max,
		  const char *what)
{
	int n = 0;

	while (n < max && c->stash_tail != c->stash_head)
		wc[n++] = c->stash[c->stash_tail++ % PERF_STASH];
	if (n == 0) {
		n = sk_dev_poll(c->dev, wc, max);
		if (n < 0) {
			fprintf(stderr, "%s: polling the device failed during "
					"%s: %s\n", perf_name(c), what,
				sk_status_str((sk_status_t)n));
			return -1;
		}
	}
	for (int i = 0; i < n; i++) {
		if (wc[i].status == SK_OK)
			continue;
		fprintf(stderr, "%s: %s: a %s completed with error: %s\n",
			perf_name(c), what, sk_opcode_str(wc[i].opcode),
			sk_status_str(wc[i].status));
		return -1;
	}
	return n;
}

int perf_ctx_progress(struct perf_ctx *c, const char *what)
{
	struct sk_wc wc[16];

	return perf_ctx_poll(c, wc, 16, what);
}

int perf_ctx_wait_one(struct perf_ctx *c, struct sk_wc *wc, const char *what)
{
	for (;;) {
		int n;

		if (c->opts.events && c->stash_tail == c->stash_head) {
			n = sk_dev_wait(c->dev, wc, 1, 1000);
			if (n == 1 && wc->status != SK_OK) {
				fprintf(stderr, "%s: %s: a %s completed with "
						"error: %s\n", perf_name(c),
					what, sk_opcode_str(wc->opcode),
					sk_status_str(wc->status));
				return -1;
			}
			if (n < 0)
				fprintf(stderr, "%s: %s: waiting for a "
						"completion failed: %s\n",
					perf_name(c), what,
					sk_status_str((sk_status_t)n));
			c->spins = PERF_GONE_EVERY - 1; /* look every time */
		} else {
			n = perf_ctx_poll(c, wc, 1, what);
		}
		if (n < 0)
			return -1;
		if (n == 1)
			return 0;
		if (perf_ctx_peer_gone(c))
			return -1;
	}
}

/* ---- report ---- */

void perf_ctx_print_header(const struct perf_ctx *c)
{
	const struct perf_opts *o = &c->opts;
	const struct sk_dev_attr *a = &c->attr;
	char port[16];

	snprintf(port, sizeof(port), "%u", o->port);
	perf_print_line();
	printf("                    %s\n", o->tool->title);
	printf(" %-16s: %-14s %-15s: %s\n", "Provider", a->provider, "Device",
	       a->name);
	printf(" %-16s: %s\n", "Transport type", a->transport);
	printf(" %-16s: %-14s %-15s: %s\n", "Connection type", "RC", "Role",
	       c->is_server ? "server" : "client");
	if (o->tool->test == PERF_TEST_WRITE_BW)
		printf(" %-16s: %-14lu %-15s: %u\n", "Number of iters",
		       o->iters, "TX depth", o->tx_depth);
	else
		printf(" %-16s: %-14lu %-15s: %d\n", "Number of iters",
		       o->iters, "TX depth", 1);
	printf(" %-16s: %-14u %-15s: %s\n", "SQ depth", a->sq_depth,
	       "Native atomics", a->native_atomics ? "yes" : "no");
	printf(" %-16s: %zu[B]\n", "Max inline data", a->max_inline);
	if (o->tool->test == PERF_TEST_ATOMIC_LAT)
		printf(" %-16s: %s\n", "Atomic type",
		       o->atomic == PERF_ATOMIC_CAS ? "CMP_AND_SWAP"
						    : "FETCH_AND_ADD");
	printf(" %-16s: %-14s %-15s: %s\n", "Data ex. method", "Ethernet",
	       "TCP port", port);
	perf_print_line();
}

int perf_ctx_start(struct perf_ctx *c, const struct perf_tool *tool,
		   int argc, char **argv)
{
	struct perf_opts opts;
	int ret = perf_opts_parse(&opts, tool, argc, argv);

	if (ret >= 0)
		return ret;
	ret = perf_ctx_init(c, &opts);
	return ret ? ret : -1;
}

int perf_ctx_start_lat(struct perf_ctx *c, const struct perf_tool *tool,
		       int argc, char **argv, unsigned long extra,
		       uint64_t **ns_p)
{
	int ret = perf_ctx_start(c, tool, argc, argv);

	if (ret >= 0)
		return ret;
	*ns_p = calloc(c->opts.iters + extra, sizeof(**ns_p));
	if (*ns_p == NULL) {
		fprintf(stderr, "%s: out of memory\n", perf_name(c));
		perf_ctx_cleanup(c);
		return PERF_EXIT_FAIL;
	}
	perf_ctx_print_header(c);
	return -1;
}
