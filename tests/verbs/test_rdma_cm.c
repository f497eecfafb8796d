/*
 * The rdma provider's connection-manager path (verbs/rdma/rdma_cm.c), on
 * a real device: run inside the Soft-RoCE guest by tests/softroce/
 * rdma-suite.sh, and skipped (exit 77, with a message) where the rdma
 * provider or its connection manager is not there.
 *
 *  - a peer that exits fails an idle endpoint at once, by the connection
 *    manager, with the watchdog set out of reach;
 *  - connection requests nobody here made (garbage private data, a tag no
 *    endpoint has, a request that contradicts the blob of an endpoint
 *    already connected) are refused, and the connection they aimed at
 *    keeps working;
 *  - a peer on the blob path and one on the cm path connect by blob;
 *  - bad settings: SKIFF_RDMA_CONNECT, SKIFF_RDMA_CM_ADDR.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <infiniband/verbs.h>
#include <rdma/rdma_cma.h>

#include <skiff/verbs.h>

#include "../../verbs/rdma/rdma.h"
#include "../lib/sk_test_peer.h"

#define TIMEOUT_MS 20000

struct fixture {
	struct sk_test_peer peer;
	struct sk_dev *dev;
	struct sk_ep *ep;
	int peer_ep;
	void *buf;
	struct sk_mr *mr;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(sk_test_peer_start(&f->peer), 0);
	assert_int_equal(sk_dev_open("rdma", NULL, &f->dev), SK_OK);
	assert_int_equal(sk_ep_create(f->dev, &f->ep), SK_OK);
	f->peer_ep = sk_test_peer_connect(&f->peer, f->ep);
	assert_true(f->peer_ep >= 0);
	assert_int_equal(posix_memalign(&f->buf, 4096, 1 << 16), 0);
	assert_int_equal(sk_mr_reg(f->dev, f->buf, 1 << 16, SK_ACCESS_LOCAL,
				   &f->mr), SK_OK);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	sk_mr_dereg(f->mr);
	free(f->buf);
	sk_ep_destroy(f->ep);
	sk_dev_close(f->dev);
	if (f->peer.pid)
		sk_test_peer_stop(&f->peer, 5000);
	free(f);
	return 0;
}

/* One write to the peer, completed: the endpoint works. */
static void write_round(struct fixture *f, struct sk_rkey *rkey)
{
	struct sk_wc wc;

	assert_int_equal(sk_post_write(f->ep, f->mr, f->buf, 64, rkey,
				       sk_rkey_addr(rkey), 0,
				       NULL), SK_OK);
	assert_int_equal(sk_test_wait(f->dev, &wc, 1, TIMEOUT_MS), 1);
	assert_int_equal(wc.status, SK_OK);
}

/* The peer's packed address of our endpoint says where our listener is. */
static void our_listener(struct fixture *f, struct rdma_peer_addr *a)
{
	uint8_t blob[SK_BLOB_MAX];
	size_t len = sizeof(blob);
	struct sk_dev_attr attr;

	sk_dev_query(f->dev, &attr);
	assert_int_equal(sk_ep_addr_pack(f->ep, blob, &len), SK_OK);
	assert_int_equal(rdma_ep_addr_decode(blob, len,
					     IBV_LINK_LAYER_ETHERNET, a),
			 SK_OK);
	assert_true(a->cm_port != 0);
}

/* Wait for one event of @id's channel, progressing our device meanwhile
 * (its listener answers from progress). */
static enum rdma_cm_event_type raw_event(struct fixture *f,
					 struct rdma_event_channel *ch)
{
	int64_t end = now_ms() + TIMEOUT_MS;
	struct rdma_cm_event *ev;
	enum rdma_cm_event_type type;
	struct sk_wc wc[8];

	while (rdma_get_cm_event(ch, &ev) != 0) {
		assert_true(now_ms() < end);
		sk_dev_poll(f->dev, wc, 8);
		sk_dev_arm(f->dev);
		usleep(1000);
	}
	type = ev->event;
	rdma_ack_cm_event(ev);
	return type;
}

/* A connection request from this process's own rdma_cm client, with
 * @pdata as private data: what the listener answers. */
static enum rdma_cm_event_type raw_request(struct fixture *f,
					   const struct rdma_peer_addr *a,
					   const void *pdata, uint8_t plen)
{
	struct rdma_event_channel *ch = rdma_create_event_channel();
	struct rdma_conn_param cp = {.private_data = pdata,
				     .private_data_len = plen,
				     .qp_num = 0x4242,
				     .responder_resources = 1,
				     .initiator_depth = 1,
				     .retry_count = 1,
				     .rnr_retry_count = 1};
	struct sockaddr_in dst = {.sin_family = AF_INET,
				  .sin_port = htons(a->cm_port)};
	struct rdma_cm_id *id;
	enum rdma_cm_event_type type;

	assert_non_null(ch);
	assert_int_equal(fcntl(ch->fd, F_SETFL, O_NONBLOCK), 0);
	memcpy(&dst.sin_addr, a->ipv4, 4);
	assert_int_equal(rdma_create_id(ch, &id, NULL, RDMA_PS_TCP), 0);
	assert_int_equal(rdma_resolve_addr(id, NULL, (struct sockaddr *)&dst,
					   2000), 0);
	assert_int_equal(raw_event(f, ch), RDMA_CM_EVENT_ADDR_RESOLVED);
	assert_int_equal(rdma_resolve_route(id, 2000), 0);
	assert_int_equal(raw_event(f, ch), RDMA_CM_EVENT_ROUTE_RESOLVED);
	assert_int_equal(rdma_connect(id, &cp), 0);
	type = raw_event(f, ch);
	rdma_destroy_id(id);
	rdma_destroy_event_channel(ch);
	return type;
}

static void test_forged_requests(void **state)
{
	struct fixture *f = *state;
	struct rdma_peer_addr a;
	struct rdma_cm_req q;
	struct sk_rkey *rkey;
	uint8_t pdata[56];
	size_t plen;
	int id;

	id = sk_test_peer_reg(&f->peer, f->ep, 4096, SK_ACCESS_REMOTE_WRITE, 1,
			      &rkey, NULL);
	assert_true(id >= 0);
	write_round(f, rkey);
	our_listener(f, &a);

	/* Garbage. */
	memset(pdata, 0xa5, sizeof(pdata));
	assert_int_equal(raw_request(f, &a, pdata, sizeof(pdata)),
			 RDMA_CM_EVENT_REJECTED);
	/* Well formed, for a tag no endpoint has. */
	q = (struct rdma_cm_req){.target = a.tag ^ 1, .source = 1,
				 .qpn = 0x4242, .psn = 7};
	plen = sizeof(pdata);
	assert_int_equal(rdma_cm_req_encode(&q, pdata, &plen), SK_OK);
	assert_int_equal(raw_request(f, &a, pdata, (uint8_t)plen),
			 RDMA_CM_EVENT_REJECTED);
	/* For our endpoint, which is connected already (to the peer: one
	 * of the two sides had the request, the other the blob). */
	q.target = a.tag;
	plen = sizeof(pdata);
	assert_int_equal(rdma_cm_req_encode(&q, pdata, &plen), SK_OK);
	assert_int_equal(raw_request(f, &a, pdata, (uint8_t)plen),
			 RDMA_CM_EVENT_REJECTED);
	/* The connection they aimed at still works. */
	write_round(f, rkey);
	sk_rkey_destroy(rkey);
}

/*
 * The peer exits while our endpoint is idle. With the watchdog out of
 * reach (SKIFF_STALL_MS=600000, set by main), only the connection
 * manager can fail it: the next write completes with SK_ERR_UNREACHABLE.
 */
static void test_idle_peer_exit(void **state)
{
	struct fixture *f = *state;
	struct sk_rkey *rkey;
	struct sk_wc wc;
	int64_t end, t0;
	int id, status;

	id = sk_test_peer_reg(&f->peer, f->ep, 4096, SK_ACCESS_REMOTE_WRITE, 1,
			      &rkey, NULL);
	assert_true(id >= 0);
	write_round(f, rkey);
	/* Both sides idle a moment, asleep on their devices as event loops
	 * are, which is when the listener takes the connection request
	 * (verbs/README.md): a requester killed before its request was
	 * taken leaves the endpoint to the watchdog. */
	for (int i = 0; i < 5; i++)
		assert_int_equal(sk_dev_wait(f->dev, &wc, 1, 50), 0);
	t0 = now_ms();
	kill(f->peer.pid, SIGKILL);
	waitpid(f->peer.pid, &status, 0);
	f->peer.pid = 0;
	/* Idle: sleep on the device as an event loop would. */
	end = now_ms() + TIMEOUT_MS;
	assert_int_equal(sk_dev_wait(f->dev, &wc, 1, 500), 0);
	assert_int_equal(sk_post_write(f->ep, f->mr, f->buf, 64, rkey,
				       sk_rkey_addr(rkey), 0,
				       NULL), SK_OK);
	assert_int_equal(sk_test_wait(f->dev, &wc, 1, (int)(end - now_ms())),
			 1);
	assert_int_equal(wc.status, SK_ERR_UNREACHABLE);
	print_message("idle endpoint failed %lld ms after kill -9 of its "
		      "peer (500 of them asleep before the write)\n",
		      (long long)(now_ms() - t0));
	sk_rkey_destroy(rkey);
}

static void test_bad_settings(void **state)
{
	struct sk_dev *dev = NULL;

	(void)state;
	setenv("SKIFF_RDMA_CONNECT", "telepathy", 1);
	assert_int_equal(sk_dev_open("rdma", NULL, &dev), SK_ERR_CONFIG);
	setenv("SKIFF_RDMA_CONNECT", "cm", 1);
	setenv("SKIFF_RDMA_CM_ADDR", "10.9.0.one", 1);
	assert_int_equal(sk_dev_open("rdma", NULL, &dev), SK_ERR_CONFIG);
	/* An address of no RDMA device here (TEST-NET-3). */
	setenv("SKIFF_RDMA_CM_ADDR", "203.0.113.7", 1);
	assert_int_not_equal(sk_dev_open("rdma", NULL, &dev), SK_OK);
	unsetenv("SKIFF_RDMA_CM_ADDR");
	setenv("SKIFF_RDMA_CM_TIMEOUT_MS", "0", 1);
	assert_int_equal(sk_dev_open("rdma", NULL, &dev), SK_ERR_CONFIG);
	unsetenv("SKIFF_RDMA_CM_TIMEOUT_MS");
	assert_int_equal(sk_dev_open("rdma", NULL, &dev), SK_OK);
	sk_dev_close(dev);
	unsetenv("SKIFF_RDMA_CONNECT");
}

/* The peer on the blob path, we on cm: both connect by blob. */
static void test_mixed_paths(void **state)
{
	struct sk_test_peer peer = {0};
	struct sk_dev *dev;
	struct sk_ep *ep;
	struct sk_rkey *rkey;
	struct sk_wc wc;
	char buf[64] = "mixed";
	struct sk_mr *mr;

	(void)state;
	setenv("SKIFF_RDMA_CONNECT", "blob", 1);
	assert_int_equal(sk_test_peer_start(&peer), 0);
	setenv("SKIFF_RDMA_CONNECT", "cm", 1);
	assert_int_equal(sk_dev_open("rdma", NULL, &dev), SK_OK);
	assert_int_equal(sk_ep_create(dev, &ep), SK_OK);
	assert_true(sk_test_peer_connect(&peer, ep) >= 0);
	assert_int_equal(sk_mr_reg(dev, buf, sizeof(buf), SK_ACCESS_LOCAL,
				   &mr), SK_OK);
	assert_true(sk_test_peer_reg(&peer, ep, 4096, SK_ACCESS_REMOTE_WRITE,
				     1, &rkey, NULL) >= 0);
	assert_int_equal(sk_post_write(ep, mr, buf, sizeof(buf), rkey,
				       sk_rkey_addr(rkey), 0,
				       NULL), SK_OK);
	assert_int_equal(sk_test_wait(dev, &wc, 1, TIMEOUT_MS), 1);
	assert_int_equal(wc.status, SK_OK);
	sk_rkey_destroy(rkey);
	sk_mr_dereg(mr);
	sk_ep_destroy(ep);
	sk_dev_close(dev);
	sk_test_peer_stop(&peer, 5000);
	unsetenv("SKIFF_RDMA_CONNECT");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_forged_requests, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_idle_peer_exit, setup,
						teardown),
		cmocka_unit_test(test_bad_settings),
		cmocka_unit_test(test_mixed_paths),
	};
	struct sk_dev *dev;
	struct sk_dev_attr attr;

	setenv("SKIFF_STALL_MS", "600000", 1);
	unsetenv("SKIFF_RDMA_CONNECT");
	if (sk_dev_open("rdma", NULL, &dev) != SK_OK) {
		fprintf(stderr, "test_rdma_cm: SKIP: no rdma device here\n");
		return 77;
	}
	sk_dev_query(dev, &attr);
	/* attr's strings are the device's: look before closing it. */
	if (strstr(attr.transport, "connection manager") == NULL) {
		fprintf(stderr, "test_rdma_cm: SKIP: %s connects by blob (no "
				"IPv4 address or no rdma_ucm)\n", attr.name);
		sk_dev_close(dev);
		return 77;
	}
	sk_dev_close(dev);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
